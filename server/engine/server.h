/* server.h - closeloopd's network core and the request API that handlers use.
 *
 * The server owns the listening socket, every client connection (TCP + TLS engine +
 * frame decoder + output buffer) and the per-connection limits, all on one libuv loop.
 * A decoded request becomes a cl_req_t handed to its handler (dispatch.h). A handler
 * answers now or later with exactly one final cl_req_reply / cl_req_fail, optionally
 * preceded by cl_req_reply_part frames for a streamed reply. The request keeps its
 * connection's memory alive, so a late answer after the client left is simply dropped.
 * A reply frame that cannot be sent (larger than max_frame, out of memory) is replaced by
 * an error reply that ends the request's reply; whatever the handler sends after that is
 * dropped. When not even the error reply can be queued, the connection is closed, so the
 * client never waits for a reply that will not come.
 * Everything here runs on the loop thread. */
#ifndef CL_SERVER_H
#define CL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "cl_err.h"
#include "config.h"

typedef struct cl_server cl_server_t;
typedef struct cl_conn cl_conn_t;
typedef struct cl_req cl_req_t;
struct cl_handler;

struct cl_req {
    uint32_t magic;                   /* CL_REQ_MAGIC until finished: a second finish asserts */
    void *data;                       /* the handler's own state */
    cl_conn_t *conn;                  /* holds a reference until the request finishes */
    const struct cl_handler *handler; /* what is being done */
    uint32_t id;                      /* the client's request id */
    ProtobufCMessage *msg;            /* decoded request; secrets wiped, then freed, when the
                                         request finishes */
    bool reply_ended; /* a frame of the reply could not be sent and an error reply ended
                         it: later parts, the final reply and cl_req_fail send nothing */
};

/* requests_served counts requests handed to their handler since start: the frame passed
 * every check (request id, known type, not draining, database configured, logged in and
 * allowed, in-flight limit), decoded, and the handler ran, whatever it answered (a reply
 * or an error such as a bad argument). Refused frames are not counted. A ServerInfo
 * request counts itself. */
typedef struct cl_server_stats {
    uint64_t uptime_ms;
    uint32_t connections;     /* open connections, the asking one included */
    uint64_t requests_served; /* see above */
    uint64_t queued_output;   /* reply bytes queued for every connection (the budget's count) */
} cl_server_stats_t;

/* Binds, listens and starts accepting. On failure writes one sentence to err. */
CL_MUSTCHECK int cl_server_start(uv_loop_t *loop, const cl_config_t *cfg, cl_server_t **out,
                                 char *err, size_t errlen);

/* Stops accepting, lets in-flight requests finish and closes every connection (forcibly
 * after cfg->drain_timeout_ms); then closes the server's own handles and calls done_cb.
 * After done_cb, uv_run returns once the last handle has closed; then cl_server_free. */
void cl_server_drain(cl_server_t *srv, void (*done_cb)(cl_server_t *srv));
void cl_server_free(cl_server_t *srv);

/* Whether the drain ended at drain_timeout_ms by cutting connections (the daemon then
 * exits non-zero). */
bool cl_server_drain_timed_out(const cl_server_t *srv);

/* Marks open sessions stale, so that the next request on their connection reads them
 * again from the database first: the session of token_hash (CL_TOKEN_HASH_LEN bytes),
 * every session of user_id (> 0), or, with neither, every session (notifications may
 * have been missed). The database's notifications call it (session_notify.h). */
void cl_server_sessions_stale(cl_server_t *srv, const uint8_t *token_hash, int64_t user_id);

void cl_server_get_stats(const cl_server_t *srv, cl_server_stats_t *st);

/* --- server pushes (request id 0; docs/PROTOCOL.md, "Server push") --- */

/* What a pushing module (change_notify.c) keeps per connection to coalesce its pushes;
 * the server zeroes it when the connection starts or stops following. */
typedef struct cl_push_state {
    uint64_t last_ms; /* loop time of the last push, 0: none yet */
    bool pending;     /* a push is owed, sent once it is due */
    int64_t topic;    /* what the owed push is about, in the pushing module's terms */
} cl_push_state_t;

/* Whether the request's connection takes pushes from now on; only a logged-in
 * connection can, and a logout or the close forgets it. */
void cl_req_set_following(cl_req_t *req, bool on);

/* Calls fn for every open, logged-in connection that follows. fn may push (cl_conn_push)
 * but must not close connections. */
struct cl_session;
typedef void (*cl_follower_fn)(cl_conn_t *c, const struct cl_session *s, cl_push_state_t *ps,
                               void *arg);
void cl_server_each_follower(cl_server_t *srv, cl_follower_fn fn, void *arg);

/* The same for notices (server/notice/notice.c): whether the connection is watching,
 * and each watching connection with its own push state (forgotten like following). */
void cl_req_set_watching(cl_req_t *req, bool on);
void cl_server_each_watcher(cl_server_t *srv, cl_follower_fn fn, void *arg);

/* Queues msg as a push frame (request id 0, LAST) on c. CL_ETOOMANY, queuing nothing,
 * while c's queued output is past half of max_output (a push is a hint: the client polls
 * anyway); CL_ECLOSED when c is closing; else as a reply frame. */
int cl_conn_push(cl_conn_t *c, uint16_t type, const ProtobufCMessage *msg);

/* The connection's number, for logs. */
uint64_t cl_conn_id(const cl_conn_t *c);

/* --- for handlers --- */

/* Checks the role again and runs the request's handler (the dispatcher calls it; the
 * session module calls it after re-validating a stale session). */
void cl_req_run(cl_req_t *req);

/* For a long streamed reply: calls cb(arg, false) once the connection's queued output
 * is below server.max_output (at once when it already is), or cb(arg, true) when the
 * client has gone, so a reply is produced no faster than the client reads it and stops
 * when nobody is listening. */
typedef void (*cl_req_room_cb)(void *arg, bool client_gone);
void cl_req_wait_room(cl_req_t *req, cl_req_room_cb cb, void *arg);

/* Sends the final reply (LAST flag) and finishes the request. */
void cl_req_reply(cl_req_t *req, uint16_t type, const ProtobufCMessage *msg);

/* Sends one frame of a streamed reply; the request stays open. */
void cl_req_reply_part(cl_req_t *req, uint16_t type, const ProtobufCMessage *msg);

/* Sends an error reply (code is a CL_E* value) and finishes the request. */
void cl_req_fail(cl_req_t *req, int code, const char *fmt, ...) CL_PRINTF(3, 4);

/* A CL_ECONFLICT reply that tells the client the record's current state (the wire value
 * of its state enum) and version, so it can explain the conflict without another round
 * trip; retryable only when sending the same request again can succeed. */
void cl_req_fail_conflict(cl_req_t *req, bool retryable, int32_t state, int64_t version,
                          const char *fmt, ...) CL_PRINTF(5, 6);

/* A failure whose retryable flag the caller decides (a database serialization failure is
 * a conflict that a retry can fix). */
void cl_req_fail_retry(cl_req_t *req, int code, bool retryable, const char *fmt, ...)
    CL_PRINTF(4, 5);

uv_loop_t *cl_req_loop(const cl_req_t *req);
const cl_server_t *cl_req_server(const cl_req_t *req);
const cl_config_t *cl_req_config(const cl_req_t *req);
/* The payload limit of the request's connection now: max_frame once it has a session,
 * max_frame_unauth before. */
uint32_t cl_req_frame_limit(const cl_req_t *req);
const char *cl_req_tls_version(const cl_req_t *req);
/* The verified client certificate's subject, or "" when none was presented. */
const char *cl_req_client_subject(const cl_req_t *req);
/* The peer's "address:port". */
const char *cl_req_peer(const cl_req_t *req);

/* The database pools (main, and analytics which may be the same pool). */
struct cl_db;
struct cl_db *cl_req_db(const cl_req_t *req);
struct cl_db *cl_req_analytics_db(const cl_req_t *req);
void cl_server_set_db(cl_server_t *srv, struct cl_db *main_db, struct cl_db *analytics_db);

/* Sessions: the connection owns the session it is given (freed with the connection or
 * when replaced); NULL logs the connection out. */
struct cl_session;
const struct cl_session *cl_conn_session(const cl_conn_t *conn);
void cl_req_set_session(cl_req_t *req, struct cl_session *s);

#endif
