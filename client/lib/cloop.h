/* cloop.h - libcloop, the closeloop client library.
 *
 * One cl_client_t is one TLS connection to closeloopd over a blocking socket with
 * timeouts (poll). It verifies the server certificate against the given CA and the
 * host name, and may present a client certificate. Requests carry a request id; many
 * may be in flight, and replies are matched by id: cl_client_call waits for its own
 * reply and keeps any other replies that arrive meanwhile for cl_client_recv;
 * cl_client_call_stream does the same for a reply streamed as several frames.
 *
 * Server pushes: the server may send frames no request asked for, with request id 0
 * (docs/PROTOCOL.md, "Server push"): a SyncNotice to a connection that follows the
 * change feed (SyncFollowRequest), or a connection-level error. A push that arrives
 * while cl_client_call waits for its reply is kept (at most 64 pushes; the oldest go
 * first) for cl_client_recv, which returns any frame, or cl_client_wait_push, which
 * returns only request id 0 frames and leaves replies queued.
 *
 * Thread-compatible: a client may be used by one thread at a time; separate clients
 * are independent. Every failing call returns a negative CL_E* code and leaves one
 * sentence fit for a person in cl_client_error(). Messages returned to the caller are
 * owned by the caller and freed with cl_msg_free.
 *
 * Many independent requests at once: cloop_pipeline.h. A cl_pipeline_t runs requests
 * 0..n-1 over one client with a window of them in flight, matches replies in any order,
 * halves the window when the server says it has too many in flight, sends a retryable
 * failure again, and on a dropped connection asks the caller for a new one and resends
 * only what was not answered; on_reply(p, status, req, reply) hears of every request
 * exactly once. `cloop ticket repaired|verify|...` runs its transitions through it. */
#ifndef CLOOP_H
#define CLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"
#include "msg.h"

#define CL_DEFAULT_PORT 7443

typedef struct cl_client cl_client_t;

typedef struct cl_client_opts {
    const char *host;      /* name or address; checked against the certificate */
    uint16_t port;         /* 0: CL_DEFAULT_PORT */
    const char *ca_file;   /* required: CA that signed the server certificate */
    const char *cert_file; /* optional client certificate */
    const char *key_file;  /* its key */
    int allow_tls12;       /* offer TLS 1.2 too (default: TLS 1.3 only) */
    int timeout_ms;        /* connect, handshake and per-reply timeout; 0: 10000 */
    uint32_t max_frame;    /* largest reply payload accepted; 0: 16 MiB */
} cl_client_opts_t;

/* One reply frame. msg is the decoded payload (NULL for an error reply). */
typedef struct cl_reply {
    uint32_t req_id;
    uint16_t type;            /* MsgType */
    uint8_t flags;            /* CL_FRAME_FLAG_* */
    ProtobufCMessage *msg;    /* owned by the reply; freed by cl_reply_clear */
    int err;                  /* CL_OK, or the error the server sent */
    bool retryable;           /* for an error reply: may a retry succeed */
    bool has_conflict;        /* a conflict reply told the record's state and version now */
    int32_t conflict_state;   /* then: the wire value of its state enum (TicketState) */
    int64_t conflict_version; /* then: its version */
    char errmsg[256];         /* for an error reply: the server's sentence */
} cl_reply_t;

/* Parses "host", "host:port" or "[v6addr]:port" into host (cap bytes) and *port
 * (left unchanged when absent). Returns CL_OK or CL_EINVAL. */
CL_MUSTCHECK int cl_parse_server(const char *s, char *host, size_t cap, uint16_t *port);

/* Connects, runs the TLS handshake and verifies the server. On failure returns a
 * negative code and, when err is not NULL, one sentence (e.g. "cannot connect to
 * 127.0.0.1:7443: Connection refused" or "server certificate verification failed:
 * ..."). */
CL_MUSTCHECK int cl_client_connect(const cl_client_opts_t *o, cl_client_t **out, char *err,
                                   size_t errlen);

/* Sends close_notify when possible, closes the socket and frees everything. */
void cl_client_close(cl_client_t *c);

/* Whether c can still carry requests: the server has not closed it and no fatal error
 * broke it. A failed call on an open client failed for that request alone. */
bool cl_client_is_open(const cl_client_t *c);

/* The last failure on c as one sentence. */
const char *cl_client_error(const cl_client_t *c);

/* A fresh request id (never 0) for cl_client_send. */
uint32_t cl_client_next_id(cl_client_t *c);

/* Sends one request frame; msg may be NULL for an empty payload. */
CL_MUSTCHECK int cl_client_send(cl_client_t *c, uint32_t req_id, uint16_t type,
                                const ProtobufCMessage *msg);

/* Receives the next reply, kept ones first, waiting up to timeout_ms (<0: the client's
 * timeout). Returns CL_OK (an error reply is still CL_OK, with out->err set),
 * CL_ETIMEDOUT, CL_ECLOSED or another negative code for a broken connection. */
CL_MUSTCHECK int cl_client_recv(cl_client_t *c, cl_reply_t *out, int timeout_ms);

/* Waits up to timeout_ms (<0: the client's timeout) for the next frame with request id 0,
 * kept ones first: a push (out->type, out->msg: e.g. CL_MSG_SYNC_NOTICE) or a
 * connection-level error (out->err set). Replies to requests stay queued. Returns as
 * cl_client_recv. */
CL_MUSTCHECK int cl_client_wait_push(cl_client_t *c, cl_reply_t *out, int timeout_ms);

/* How many pushes were dropped (the oldest, past the 64 kept unread) since the last call,
 * and starts counting again. A push that carries data (Notice) needs this: a client that
 * lost some asks the server for them (cloop watch: WatchRequest{since_id}). */
uint64_t cl_client_pushes_dropped(cl_client_t *c);

/* Sends req and waits for its reply. On success *reply holds the decoded message of
 * expect_type (caller frees with cl_msg_free). An error reply returns its code, with the
 * server's sentence in cl_client_error(); a reply of another type gives CL_EBADMSG. */
CL_MUSTCHECK int cl_client_call(cl_client_t *c, uint16_t type, const ProtobufCMessage *req,
                                uint16_t expect_type, ProtobufCMessage **reply);

/* Sends req and delivers every frame of its streamed reply, in order, to on_page until
 * the frame flagged LAST. Each page is a decoded message of page_type, owned by the
 * library and valid only during the callback. The per-reply timeout applies to each
 * frame. An error reply ends the stream with its code (the server's sentence in
 * cl_client_error()); pages delivered before it should be treated as incomplete. When
 * on_page returns nonzero, or a frame is not a page_type message, no more pages are
 * delivered and the remaining frames of the request are read and dropped, so the
 * connection stays usable. Returns CL_OK once every page was delivered, the nonzero
 * value on_page returned, or a negative code. */
CL_MUSTCHECK int cl_client_call_stream(cl_client_t *c, uint16_t type, const ProtobufCMessage *req,
                                       uint16_t page_type,
                                       int (*on_page)(void *arg, const ProtobufCMessage *page),
                                       void *arg);

/* Logs in (LoginRequest). On success *reply is the LoginReply (Closeloop__LoginReply:
 * token, expiry, identity); the connection now carries that session. */
CL_MUSTCHECK int cl_client_login(cl_client_t *c, const char *username, const char *password,
                                 ProtobufCMessage **reply);

/* Attaches the session of a token from an earlier login (SessionResumeRequest). On
 * success *whoami is the identity (Closeloop__WhoAmI); an expired, revoked or unknown
 * token gives CL_EUNAUTH. */
CL_MUSTCHECK int cl_client_resume(cl_client_t *c, const char *token, ProtobufCMessage **whoami);

/* Negotiated TLS version, e.g. "TLSv1.3". */
const char *cl_client_tls_version(const cl_client_t *c);

void cl_reply_clear(cl_reply_t *r);

#endif
