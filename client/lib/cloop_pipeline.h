/* cloop_pipeline.h - libcloop's request runner: many independent requests in flight on
 * one connection, each finished exactly once.
 *
 * The caller numbers its requests 0..n-1 and hands the runner a connected cl_client_t.
 * The runner keeps a queue of requests waiting to be sent and a window of requests sent
 * and not yet answered (libpq's pipeline model); replies are matched by request id, in
 * whatever order they come. It asks on_request for a request's message each time it
 * sends it, and tells on_reply the request's final outcome, once:
 *   - a reply (status CL_OK, or the error the server sent) that a retry would not change;
 *   - "too many in flight" (CL_ETOOMANY): the request goes back in the queue and the
 *     window is halved, so the runner settles under the server's limit (at most max_busy
 *     times per request, and these sends are not attempts);
 *   - another error the server marks retryable, or that cl_err_retryable says may pass:
 *     sent again while it has attempts left, after a short pause. Not CL_ECONFLICT: a
 *     request that lost a compare-and-set race would act on a state its caller has not
 *     seen, so a conflict is always final;
 *   - the connection breaks: what was in flight and unanswered goes back in the queue
 *     (when it has attempts left; what was answered is never sent again), on_reconnect
 *     replaces the connection and the runner goes on, up to max_reconnects times; then,
 *     or without on_reconnect, everything unfinished fails with the connection's status.
 *
 * Blocking, on the caller's thread, like cl_client_t: cl_pipeline_run returns once every
 * request has been finished. The runner borrows the connection and never closes it; the
 * caller owns it, and the one on_reconnect put in its place. A runner may run several
 * batches one after the other; it is freed with cl_pipeline_free. Every call returns 0
 * or a negative CL_E* code, with one sentence fit for a person in cl_pipeline_error(). */
#ifndef CLOOP_PIPELINE_H
#define CLOOP_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "cloop.h"

#define CL_PIPELINE_DEFAULT_WINDOW 32   /* requests in flight at first */
#define CL_PIPELINE_MAX_WINDOW     1024 /* the largest window accepted */

typedef struct cl_pipeline cl_pipeline_t;

/* Request req is about to be sent: set *type and *msg (NULL for an empty payload). *msg
 * is encoded before the runner does anything else, so the caller may build it in one
 * scratch message reused for every request. Return 0, or a negative code to finish req
 * at once, unsent (on_reply gets that status and no reply). */
typedef int (*cl_pipeline_request_cb)(cl_pipeline_t *p, size_t req, uint16_t *type,
                                      const ProtobufCMessage **msg);

/* Request req is finished, exactly once. status is CL_OK or the failure. reply is the
 * server's final reply (reply->err == status; for an error reply reply->errmsg is the
 * server's sentence), or NULL when there was none (the connection failed, a send or
 * on_request failed): the sentence is then cl_pipeline_error(p). A status of CL_OK says
 * only that the server did not fail the request: check reply->type. reply is valid
 * during the call; the callback may keep reply->msg by setting it to NULL. */
typedef void (*cl_pipeline_reply_cb)(cl_pipeline_t *p, int status, size_t req, cl_reply_t *reply);

/* The connection *c failed with status (cl_client_error(*c) says how). Put a fresh
 * connection, ready for the requests (logged in, session resumed), in *c and return 0;
 * the old one is still the caller's to close (here is a good place). Or return a negative
 * code: the runner gives up and fails what is unfinished with status. Either way the
 * runner takes *c as the connection in use (cl_pipeline_client): set it to NULL when
 * the old one was closed and there is no new one. */
typedef int (*cl_pipeline_reconnect_cb)(cl_pipeline_t *p, int status, cl_client_t **c);

typedef struct cl_pipeline_opts {
    void *data;                            /* the caller's; cl_pipeline_data returns it */
    cl_pipeline_request_cb on_request;     /* required */
    cl_pipeline_reply_cb on_reply;         /* required */
    cl_pipeline_reconnect_cb on_reconnect; /* NULL: a broken connection ends the run */
    size_t window;      /* requests in flight at first; 0: CL_PIPELINE_DEFAULT_WINDOW */
    int max_attempts;   /* sends of one request, retries included; 0: 2 */
    int max_busy;       /* "too many in flight" replies one request may get; 0: 8 */
    int max_reconnects; /* connections replaced per run; 0: 2 */
    int retry_pause_ms; /* wait before sending after a retry or busy reply; 0: 250, <0: none */
} cl_pipeline_opts_t;

/* What a run did, for progress lines, logs and tests. */
typedef struct cl_pipeline_stats {
    uint64_t sent;       /* request frames sent, resends included */
    uint64_t resent;     /* of those, sends of a request that had been sent before */
    uint64_t busy;       /* "too many in flight" replies */
    unsigned reconnects; /* connections replaced */
    size_t window;       /* the window now (halved by busy replies) */
    size_t peak;         /* the most requests in flight at once */
} cl_pipeline_stats_t;

/* A runner with options o (copied). On failure returns CL_EINVAL or CL_ENOMEM and, when
 * err is not NULL, one sentence. */
CL_MUSTCHECK int cl_pipeline_new(const cl_pipeline_opts_t *o, cl_pipeline_t **out, char *err,
                                 size_t errlen);

/* Runs requests 0..n-1 over c until every one is finished (each delivered to on_reply
 * once), then returns CL_OK, whatever their statuses. A negative code (CL_EINVAL, no
 * connection; CL_ENOMEM) means the run did not start and no callback was called. Stats
 * start from zero and the window from o->window at each run. */
CL_MUSTCHECK int cl_pipeline_run(cl_pipeline_t *p, cl_client_t *c, size_t n);

/* The connection in use: c, or the last one on_reconnect gave. */
cl_client_t *cl_pipeline_client(const cl_pipeline_t *p);

void *cl_pipeline_data(const cl_pipeline_t *p);

/* The last failure as one sentence ("" when none). */
const char *cl_pipeline_error(const cl_pipeline_t *p);

void cl_pipeline_stats(const cl_pipeline_t *p, cl_pipeline_stats_t *out);

void cl_pipeline_free(cl_pipeline_t *p);

#endif
