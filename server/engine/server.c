/* server.c - accept, TLS, frames, dispatch, backpressure and draining for closeloopd.
 *
 * Ownership and lifetime:
 * - A connection (cl_conn_t) owns a uv_tcp_t and a uv_timer_t. Its memory is
 *   reference-counted: one reference per open handle and one per unfinished request.
 *   It is freed only when the last reference goes, i.e. after both close callbacks ran
 *   and every request finished, so a late database answer never touches freed memory.
 * - Replies are appended as plaintext frames to conn->out. Once per loop iteration a
 *   check handle encrypts each dirty connection's output as one TLS write and hands
 *   the ciphertext to uv_write; the buffer is freed in the write callback.
 * - A request (cl_req_t) owns its decoded message; when the request finishes, the
 *   passwords and session tokens in it are wiped (cl_password_cleanse_request) and the
 *   message is freed.
 * - Backpressure: when queued output (plaintext + unwritten ciphertext) reaches
 *   max_output, the connection takes no further request: the rest of the read waits in
 *   conn->held (at most one read) and reading pauses; both resume below half of it. A
 *   connection's queued output is therefore at most max_output plus one reply, even for
 *   a client that never reads its replies.
 * - The daemon-wide budget: srv->output_total is the queued output of every connection;
 *   past max_output_total, the connections with the largest backlogs are closed first.
 * - Admission: at most max_connections_per_address connections per address (srv->addrs
 *   counts them), and connections that have not logged in never take the last
 *   reserved_connections slots. A connection that has not logged in within
 *   login_timeout_ms of its accept is closed, whatever it sends meanwhile.
 * - The single timer per connection is the handshake timeout, then the idle and login
 *   timeouts, then, while closing, the guard that ends a close the peer does not
 *   acknowledge.
 * - Pushes (request id 0): a connection that follows (cl_req_set_following, forgotten at
 *   logout and close) may be sent frames no request asked for (change_notify.c), never
 *   while its queued output is past half of max_output: a push is a hint, and a client
 *   that does not read gets none rather than an unbounded queue. A connection that
 *   watches (cl_req_set_watching) is sent Notices the same way (server/notice/notice.c).
 * - Draining keeps reading: a request that arrives then gets ERR_SHUTTING_DOWN, and a
 *   connection closes, after its queued replies, once nothing of it is in flight.
 * The read and plaintext buffers are shared by all connections: libuv calls alloc and
 * read back to back, and a read callback consumes its bytes before returning (what a
 * paused connection has not taken is copied to its own conn->held). */
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "cl_mem.h"
#include "dispatch.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "password.h"
#include "session.h"
#include "tls.h"

#define CLOSE_GUARD_MS 5000
#define FLUSH_SLICE    (64 * 1024) /* plaintext encrypted and sent per step */
#define READ_BUF_SIZE  65536
#define OUT_KEEP       (16 * 1024) /* an empty output buffer larger than this is freed */
#define LOGIN_WAIT_MS  100         /* re-check of a login deadline that a login under way holds */
#define ADDR_BUCKETS   1024
#define FEED_PAUSED    CL_ETOOMANY /* on_frame: the backlog is full, stop taking requests */

typedef enum cl_conn_state {
    CONN_HANDSHAKE, /* TLS handshake in progress */
    CONN_OPEN,      /* serving requests */
    CONN_CLOSING,   /* final output flushing, then shutdown and close */
    CONN_CLOSED,    /* handles closed or closing; waiting for references to go */
} cl_conn_state_t;

struct cl_conn {
    uv_tcp_t tcp;     /* the client socket; tcp.data = this */
    uv_timer_t timer; /* handshake / idle / close-guard timer */
    uv_shutdown_t shutdown_req;
    cl_server_t *srv;
    cl_conn_t *prev, *next; /* srv->conns, while not closed */
    cl_conn_t *dirty_next;  /* srv->dirty list, when dirty */
    bool dirty;             /* has plaintext or ciphertext waiting for the check */
    bool reading;           /* uv_read_start is active */
    bool paused;            /* reading stopped by backpressure */
    bool peer_eof;          /* the peer half-closed; close once its requests finish */
    bool linger;            /* after our shutdown, read until the peer's EOF (see below) */
    cl_conn_state_t state;
    unsigned refs;         /* handles + unfinished requests */
    uint64_t id;           /* for logs */
    uint64_t last_read_ms; /* loop time of the last bytes read, for the idle timeout */
    uint32_t inflight;     /* unfinished requests */
    uint32_t logging_in;   /* of them, logins and session resumes (the login deadline waits) */
    cl_tls_t *tls;
    cl_frame_decoder_t dec;
    uint8_t *out; /* plaintext frames not yet encrypted */
    size_t out_len, out_cap;
    size_t out_off;      /* during conn_flush: plaintext already encrypted (in queued now) */
    size_t queued;       /* ciphertext handed to uv_write, not yet written */
    size_t accounted;    /* out_cap + queued + held_len as counted in srv->output_total */
    size_t backlog_peak; /* the largest out_len + queued, logged at close */
    uint8_t *held;       /* plaintext read but not yet decoded (a paused connection) */
    size_t held_len;
    bool in_input;                /* conn_read_input is running (no re-entry from callbacks) */
    bool counted_unauth;          /* counted in srv->nunauth */
    struct addr_count *addr_slot; /* srv->addrs entry of this connection's address */
    uint64_t accepted_ms;         /* loop time of the accept, for the login timeout */
    char peer[64];                /* "addr:port" */
    char addr[INET6_ADDRSTRLEN];  /* the address alone */
    char subject[256];            /* verified client certificate subject, or "" */
    cl_session_t *session;        /* logged-in identity, or NULL */
    bool following;               /* takes pushes (cl_req_set_following); needs a session */
    cl_push_state_t push;         /* the pushing module's coalescing state */
    bool watching;                /* takes Notice pushes (cl_req_set_watching) */
    cl_push_state_t watch;        /* notice.c's state: pending = notices were dropped */
};

/* Open connections of one address (a bucket chain of srv->addrs). */
struct addr_count {
    struct addr_count *next;
    uint32_t n;
    char addr[INET6_ADDRSTRLEN];
};

struct cl_server {
    uv_loop_t *loop;
    const cl_config_t *cfg;
    cl_tls_ctx_t *tls_ctx;
    struct cl_db *db;        /* main pool */
    struct cl_db *analytics; /* read-only pool (may equal db) */
    uv_tcp_t listener;
    uv_check_t flush_check; /* flushes dirty connections after each poll */
    uv_idle_t flush_idle;   /* keeps poll from blocking while output waits */
    uv_timer_t drain_timer;
    cl_conn_t *conns; /* open connections */
    cl_conn_t *dirty; /* connections with output waiting */
    uint32_t nconns;
    uint32_t nunauth;    /* open connections without a session */
    size_t output_total; /* queued output of every connection (conn->accounted) */
    struct addr_count *addrs[ADDR_BUCKETS];
    bool drain_timed_out;
    uint64_t next_conn_id;
    uint64_t requests_served;
    uint64_t started_ms;
    bool draining;
    unsigned handles_open; /* server's own handles still open during drain */
    void (*drained_cb)(cl_server_t *srv);
    uint8_t readbuf[READ_BUF_SIZE];
    uint8_t plainbuf[READ_BUF_SIZE];
};

struct cl_write {
    uv_write_t req;
    cl_conn_t *conn;
    size_t len;
    uint8_t data[];
};

static void conn_close(cl_conn_t *c, const char *reason);
static void conn_abort(cl_conn_t *c, const char *reason);
static void conn_unref(cl_conn_t *c);
static void server_check_drained(cl_server_t *srv);
static void addr_release(cl_server_t *srv, cl_conn_t *c);

/* --- output --- */

static void on_flush_idle(uv_idle_t *h) {
    (void)h; /* only keeps the loop from blocking in poll; the check does the work */
}

static void conn_mark_dirty(cl_conn_t *c) {
    if (c->dirty) return;
    c->dirty = true;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
    c->refs++; /* the dirty list holds a reference */
    if (!uv_is_active((uv_handle_t *)&c->srv->flush_idle))
        uv_idle_start(&c->srv->flush_idle, on_flush_idle);
}

static void conn_update_backpressure(cl_conn_t *c, bool may_resume);
static void server_shed_output(cl_server_t *srv);
static void conn_start_reading(cl_conn_t *c);
static void conn_read_input(cl_conn_t *c);

/* Brings srv->output_total up to date with the connection's queued output. */
static void conn_account(cl_conn_t *c) {
    size_t backlog = c->out_len - c->out_off + c->queued;
    if (backlog > c->backlog_peak) c->backlog_peak = backlog;
    /* What the connection's output holds in memory: the plaintext buffer as allocated,
     * the ciphertext being written, the input held back. A closed connection's writes are
     * cancelled in this loop iteration: it no longer counts, or one shed would look like
     * too little and close the next ones too. */
    size_t now = c->state == CONN_CLOSED ? 0 : c->out_cap + c->queued + c->held_len;
    c->srv->output_total = c->srv->output_total - c->accounted + now;
    c->accounted = now;
}

static void on_write(uv_write_t *wr, int status) {
    struct cl_write *w = (struct cl_write *)wr;
    cl_conn_t *c = w->conn;
    c->queued -= w->len;
    free(w);
    conn_account(c);
    if (status < 0 && status != UV_ECANCELED) {
        cl_log_info("conn_write_failed", "conn=%llu error=%s", (unsigned long long)c->id,
                    uv_err_name(status));
        conn_abort(c, "write failed");
        return;
    }
    conn_update_backpressure(c, true);
}

/* Sends whatever ciphertext the TLS engine holds. Called after every engine call. */
static void conn_flush_cipher(cl_conn_t *c) {
    size_t n = cl_tls_pending(c->tls);
    if (n == 0 || c->state == CONN_CLOSED) return;
    struct cl_write *w = malloc(sizeof *w + n);
    if (!w) {
        conn_abort(c, "out of memory");
        return;
    }
    w->conn = c;
    w->len = cl_tls_drain(c->tls, w->data, n);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc < 0) {
        free(w);
        conn_abort(c, "write failed");
        return;
    }
    c->queued += w->len;
    conn_account(c);
}

/* Encrypts pending plaintext frames as one TLS write and sends the result. */
static void conn_flush(cl_conn_t *c) {
    /* In slices, each drained at once: one multi-megabyte SSL_write would first grow the
     * memory BIO to the whole ciphertext, then copy all of it again. */
    for (size_t off = 0; off < c->out_len && c->state != CONN_CLOSED; off += FLUSH_SLICE) {
        size_t n = c->out_len - off < FLUSH_SLICE ? c->out_len - off : FLUSH_SLICE;
        if (cl_tls_write(c->tls, c->out + off, n) != CL_TLS_OK) {
            cl_log_warn("tls_write_failed", "conn=%llu error=\"%s\"", (unsigned long long)c->id,
                        cl_tls_error(c->tls));
            c->out_len = 0;
            conn_abort(c, "TLS write failed");
            return;
        }
        c->out_off = off + n; /* now counted as ciphertext */
        conn_flush_cipher(c);
    }
    if (c->state == CONN_CLOSED) return;
    c->out_len = c->out_off = 0;
    if (c->out_cap > OUT_KEEP) { /* give back a large buffer after a burst */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    conn_account(c);
    conn_flush_cipher(c); /* ciphertext from other engine calls (alerts, close_notify) */
}

/* Past the daemon-wide budget, closes the connections with the largest backlogs until
 * what remains fits (a closed connection stops counting at once: conn_account). */
static void server_shed_output(cl_server_t *srv) {
    size_t budget = srv->cfg->max_output_total;
    while (srv->output_total > budget) {
        cl_conn_t *worst = NULL;
        for (cl_conn_t *c = srv->conns; c; c = c->next)
            if (!worst || c->accounted > worst->accounted) worst = c;
        if (!worst || worst->accounted == 0) break;
        cl_log_warn("conn_over_budget", "conn=%llu peer=%s backlog=%zu total=%zu budget=%zu",
                    (unsigned long long)worst->id, worst->peer, worst->accounted, srv->output_total,
                    budget);
        conn_abort(worst, "output budget exceeded");
    }
}

static void on_flush_check(uv_check_t *h) {
    cl_server_t *srv = h->data;
    while (srv->dirty) {
        cl_conn_t *c = srv->dirty;
        srv->dirty = c->dirty_next;
        c->dirty = false;
        if (c->state == CONN_OPEN || c->state == CONN_CLOSING) conn_flush(c);
        conn_unref(c);
    }
    uv_idle_stop(&srv->flush_idle);
    if (srv->output_total > srv->cfg->max_output_total) server_shed_output(srv);
}

/* Pauses a connection whose backlog reached max_output; with may_resume (only from a
 * write callback, never from inside a handler's reply), resumes one below half of it. */
static void conn_update_backpressure(cl_conn_t *c, bool may_resume) {
    const cl_config_t *cfg = c->srv->cfg;
    size_t backlog = c->out_len + c->queued;
    if (c->state != CONN_OPEN) return;
    if (backlog >= cfg->max_output && !c->paused) {
        if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        c->paused = true;
        cl_log_debug("conn_paused", "conn=%llu backlog=%zu total=%zu", (unsigned long long)c->id,
                     backlog, c->srv->output_total);
    } else if (may_resume && c->paused && backlog <= cfg->max_output / 2 && !c->in_input) {
        c->paused = false;
        if (!c->peer_eof) conn_start_reading(c);
        conn_read_input(c); /* what it held back, and what TLS has decrypted already */
    }
}

/* Appends one frame to the connection's plaintext output. */
static int conn_queue_frame(cl_conn_t *c, uint8_t flags, uint32_t req_id, uint16_t type,
                            const ProtobufCMessage *msg) {
    if (c->state != CONN_OPEN) return CL_ECLOSED;
    size_t body = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    if (body > c->srv->cfg->max_frame) return CL_ETOOBIG;
    size_t need = c->out_len + CL_FRAME_HDR_LEN + body;
    uint8_t *out = cl_grow(c->out, &c->out_cap, need, 1, 4096);
    if (!out) return CL_ENOMEM;
    c->out = out;
    cl_frame_hdr_t h = {.flags = flags, .req_id = req_id, .type = type, .len = (uint32_t)body};
    cl_frame_hdr_encode(&h, c->out + c->out_len);
    if (msg) protobuf_c_message_pack(msg, c->out + c->out_len + CL_FRAME_HDR_LEN);
    c->out_len = need;
    conn_account(c);
    conn_mark_dirty(c);
    conn_update_backpressure(c, false);
    return CL_OK;
}

/* Queues an error reply; conflict (may be NULL) tells the record's current state and
 * version. When there is no memory even for that, the connection is closed: the client
 * then knows its requests are lost, rather than wait for a reply forever. */
static void conn_send_error_ex(cl_conn_t *c, uint32_t req_id, int code, const char *text,
                               bool retryable, Closeloop__Conflict *conflict) {
    cl_pb_error_t e = CLOSELOOP__ERROR__INIT;
    e.code = (Closeloop__ErrorCode)cl_err_to_wire(code);
    e.message = (char *)text;
    e.retryable = retryable;
    e.conflict = conflict;
    int rc = conn_queue_frame(c, CL_FRAME_FLAG_ERROR | CL_FRAME_FLAG_LAST, req_id, CL_MSG_ERROR,
                              &e.base);
    if (rc != CL_OK && rc != CL_ECLOSED) {
        cl_log_error("reply_lost", "conn=%llu req=%u error=\"%s\"", (unsigned long long)c->id,
                     req_id, cl_strerror(rc));
        conn_close(c, "an error reply could not be queued");
    }
}

static void conn_send_error(cl_conn_t *c, uint32_t req_id, int code, const char *text) {
    conn_send_error_ex(c, req_id, code, text, cl_err_retryable(code), NULL);
}

/* --- requests --- */

#define CL_REQ_MAGIC 0x72657175u /* "requ" */

/* Whether h logs a connection in: the login deadline waits for it to answer. */
static bool logs_in(const cl_handler_t *h) {
    return h->fn == cl_auth_login || h->fn == cl_auth_resume;
}

static void req_finish(cl_req_t *req) {
    CL_ASSERT(req->magic == CL_REQ_MAGIC); /* finished twice, or never started */
    req->magic = 0;
    cl_conn_t *c = req->conn;
    if (logs_in(req->handler)) c->logging_in--;
    cl_password_cleanse_request(req->msg);
    cl_msg_free(req->msg);
    free(req);
    c->inflight--;
    if ((c->srv->draining || c->peer_eof) && c->inflight == 0 && c->state == CONN_OPEN) {
        c->linger = !c->peer_eof; /* the peer may still be sending: see on_shutdown */
        conn_close(c, c->peer_eof ? "peer closed" : "server draining");
    }
    conn_unref(c);
}

/* Queues one frame of the request's reply. A frame that cannot be queued (too large, out
 * of memory) ends the reply: one error reply instead, and no frame of it after that. */
static void req_send(cl_req_t *req, uint8_t flags, uint16_t type, const ProtobufCMessage *msg) {
    if (req->reply_ended) return;
    int rc = conn_queue_frame(req->conn, flags, req->id, type, msg);
    if (rc == CL_OK || rc == CL_ECLOSED) return; /* ECLOSED: nobody is listening */
    req->reply_ended = true;
    cl_log_error(rc == CL_ETOOBIG ? "reply_too_large" : "reply_not_queued",
                 "conn=%llu req=%u handler=%s part=%d error=\"%s\"",
                 (unsigned long long)req->conn->id, req->id, req->handler->name,
                 !(flags & CL_FRAME_FLAG_LAST), cl_strerror(rc));
    conn_send_error(req->conn, req->id, CL_EINTERNAL,
                    rc == CL_ETOOBIG ? "the reply is larger than max_frame"
                                     : "out of memory while sending the reply");
}

void cl_req_reply(cl_req_t *req, uint16_t type, const ProtobufCMessage *msg) {
    req_send(req, CL_FRAME_FLAG_LAST, type, msg);
    req_finish(req);
}

void cl_req_reply_part(cl_req_t *req, uint16_t type, const ProtobufCMessage *msg) {
    CL_ASSERT(req->magic == CL_REQ_MAGIC);
    req_send(req, 0, type, msg);
}

/* Formats, logs what deserves it, sends the error frame and finishes the request. */
static void req_fail_v(cl_req_t *req, int code, bool retryable, Closeloop__Conflict *conflict,
                       const char *fmt, va_list ap) CL_PRINTF(5, 0);
static void req_fail_v(cl_req_t *req, int code, bool retryable, Closeloop__Conflict *conflict,
                       const char *fmt, va_list ap) {
    char text[512];
    int n = vsnprintf(text, sizeof text, fmt, ap);
    if (n >= (int)sizeof text) cl_utf8_trim(text); /* never cut a character in two */
    if (code == CL_EINTERNAL || (code < CL__WIRE_LAST && code != CL_ECLOSED))
        cl_log_error("request_failed", "conn=%llu req=%u handler=%s code=%d",
                     (unsigned long long)req->conn->id, req->id, req->handler->name, code);
    if (!req->reply_ended) conn_send_error_ex(req->conn, req->id, code, text, retryable, conflict);
    req_finish(req);
}

void cl_req_fail(cl_req_t *req, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    req_fail_v(req, code, cl_err_retryable(code), NULL, fmt, ap);
    va_end(ap);
}

void cl_req_fail_retry(cl_req_t *req, int code, bool retryable, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    req_fail_v(req, code, retryable, NULL, fmt, ap);
    va_end(ap);
}

void cl_req_fail_conflict(cl_req_t *req, bool retryable, int32_t state, int64_t version,
                          const char *fmt, ...) {
    Closeloop__Conflict cf = CLOSELOOP__CONFLICT__INIT;
    cf.state = state;
    cf.version = version;
    va_list ap;
    va_start(ap, fmt);
    req_fail_v(req, CL_ECONFLICT, retryable, &cf, fmt, ap);
    va_end(ap);
}

/* A wait for room in a connection's output; polls, since output drains in write
 * callbacks that know nothing of the requests waiting on them. */
typedef struct room_wait {
    uv_timer_t timer;
    cl_req_t *req;
    cl_req_room_cb cb;
    void *arg;
} room_wait_t;

#define ROOM_POLL_MS 20

static bool room_ready(const cl_conn_t *c, bool *gone) {
    *gone = c->state != CONN_OPEN;
    return *gone || c->out_len + c->queued <= c->srv->cfg->max_output;
}

static void room_wait_closed(uv_handle_t *h) {
    free(h->data);
}

static void on_room_timer(uv_timer_t *t) {
    room_wait_t *w = t->data;
    bool gone;
    if (!room_ready(w->req->conn, &gone)) return; /* the repeating timer fires again */
    uv_timer_stop(t);
    uv_close((uv_handle_t *)t, room_wait_closed);
    w->cb(w->arg, gone);
}

void cl_req_wait_room(cl_req_t *req, cl_req_room_cb cb, void *arg) {
    bool gone;
    if (room_ready(req->conn, &gone)) {
        cb(arg, gone);
        return;
    }
    room_wait_t *w = malloc(sizeof *w);
    if (!w) { /* cannot wait: go on and let the queue grow */
        cb(arg, false);
        return;
    }
    w->req = req;
    w->cb = cb;
    w->arg = arg;
    uv_timer_init(req->conn->srv->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, on_room_timer, ROOM_POLL_MS, ROOM_POLL_MS);
}

uv_loop_t *cl_req_loop(const cl_req_t *req) {
    return req->conn->srv->loop;
}

const cl_server_t *cl_req_server(const cl_req_t *req) {
    return req->conn->srv;
}

uint32_t cl_req_frame_limit(const cl_req_t *req) {
    return req->conn->dec.max_payload;
}

const cl_config_t *cl_req_config(const cl_req_t *req) {
    return req->conn->srv->cfg;
}

const char *cl_req_tls_version(const cl_req_t *req) {
    return cl_tls_version(req->conn->tls);
}

const char *cl_req_client_subject(const cl_req_t *req) {
    return req->conn->subject;
}

const char *cl_req_peer(const cl_req_t *req) {
    return req->conn->peer;
}

struct cl_db *cl_req_db(const cl_req_t *req) {
    return req->conn->srv->db;
}

struct cl_db *cl_req_analytics_db(const cl_req_t *req) {
    return req->conn->srv->analytics;
}

void cl_server_set_db(cl_server_t *srv, struct cl_db *main_db, struct cl_db *analytics_db) {
    srv->db = main_db;
    srv->analytics = analytics_db ? analytics_db : main_db;
}

const struct cl_session *cl_conn_session(const cl_conn_t *conn) {
    return conn->session;
}

static void on_conn_timer(uv_timer_t *t);

/* Replaces the connection's session (NULL: none), keeping srv->nunauth right. */
static void conn_set_session(cl_conn_t *c, cl_session_t *s) {
    free(c->session);
    c->session = s;
    if (!s) c->following = c->watching = false; /* a logout ends the pushes */
    /* Only a logged-in connection may send frames up to max_frame: a stranger cannot make
     * the daemon hold max_frame bytes of a half-sent frame per connection. */
    c->dec.max_payload = s ? c->srv->cfg->max_frame : cl_config_frame_unauth(c->srv->cfg);
    bool unauth = s == NULL && c->state != CONN_CLOSED;
    if (unauth != c->counted_unauth) {
        if (unauth)
            c->srv->nunauth++;
        else
            c->srv->nunauth--;
        c->counted_unauth = unauth;
        /* Logged out: the login deadline applies again (after this reply is queued). */
        if (unauth && c->state == CONN_OPEN) uv_timer_start(&c->timer, on_conn_timer, 0, 0);
    }
}

void cl_req_set_session(cl_req_t *req, struct cl_session *s) {
    conn_set_session(req->conn, s);
}

void cl_server_sessions_stale(cl_server_t *srv, const uint8_t *token_hash, int64_t user_id) {
    unsigned n = 0;
    for (cl_conn_t *c = srv->conns; c; c = c->next) {
        cl_session_t *s = c->session;
        if (!s) continue;
        if ((token_hash && !memcmp(s->token_hash, token_hash, sizeof s->token_hash)) ||
            (user_id > 0 && s->user_id == user_id) || (!token_hash && user_id <= 0)) {
            s->stale = true;
            n++;
        }
    }
    if (n) cl_log_debug("sessions_stale", "sessions=%u", n);
}

void cl_req_set_following(cl_req_t *req, bool on) {
    cl_conn_t *c = req->conn;
    c->following = on && c->session != NULL;
    memset(&c->push, 0, sizeof c->push);
}

void cl_server_each_follower(cl_server_t *srv, cl_follower_fn fn, void *arg) {
    for (cl_conn_t *c = srv->conns; c; c = c->next)
        if (c->following && c->session && c->state == CONN_OPEN) fn(c, c->session, &c->push, arg);
}

void cl_req_set_watching(cl_req_t *req, bool on) {
    cl_conn_t *c = req->conn;
    c->watching = on && c->session != NULL;
    memset(&c->watch, 0, sizeof c->watch);
}

void cl_server_each_watcher(cl_server_t *srv, cl_follower_fn fn, void *arg) {
    for (cl_conn_t *c = srv->conns; c; c = c->next)
        if (c->watching && c->session && c->state == CONN_OPEN) fn(c, c->session, &c->watch, arg);
}

int cl_conn_push(cl_conn_t *c, uint16_t type, const ProtobufCMessage *msg) {
    if (c->state != CONN_OPEN) return CL_ECLOSED;
    if (c->out_len + c->queued > c->srv->cfg->max_output / 2) return CL_ETOOMANY;
    return conn_queue_frame(c, CL_FRAME_FLAG_LAST, 0, type, msg);
}

uint64_t cl_conn_id(const cl_conn_t *c) {
    return c->id;
}

static const char *authz_sentence(int code) {
    return code == CL_EUNAUTH ? "not logged in, or the session has ended: log in again"
                              : "your role may not do this";
}

/* The role check for handler h on c; with a request id, answers the refusal itself. */
static int authz_reply_check(cl_conn_t *c, uint32_t req_id, const cl_handler_t *h) {
    const cl_session_t *sess = c->session;
    int auth = cl_authz_check(sess != NULL, sess ? sess->role : CL_ROLE_NONE, h->op);
    if (auth != CL_OK && req_id) conn_send_error(c, req_id, auth, authz_sentence(auth));
    return auth;
}

/* One complete frame from the client. Returning negative stops the decoder. */
static int on_frame(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    cl_conn_t *c = ctx;
    cl_server_t *srv = c->srv;
    if (c->state != CONN_OPEN) return CL_ECLOSED;
    /* The daemon-wide budget before each frame, not only after a request: the refusals
     * answered below (to clients that never read, say) add output too, and a request must
     * never run, or read the server's figures, while the total is past the budget. */
    if (srv->output_total > srv->cfg->max_output_total) {
        server_shed_output(srv);
        if (c->state != CONN_OPEN) return CL_ECLOSED;
    }

    if (hdr->req_id == 0) {
        conn_send_error(c, 0, CL_EINVAL, "request id 0 is reserved for server pushes");
        return CL_OK;
    }
    const cl_handler_t *h = cl_dispatch_lookup(hdr->type);
    if (!h) {
        char text[96];
        snprintf(text, sizeof text, "unknown request type %u", hdr->type);
        conn_send_error(c, hdr->req_id, CL_EUNKNOWNTYPE, text);
        return CL_OK;
    }
    if (srv->draining) {
        conn_send_error(c, hdr->req_id, CL_ESHUTDOWN, "the server is shutting down; retry");
        return CL_OK;
    }
    if (h->needs_db && !srv->db) {
        conn_send_error(c, hdr->req_id, CL_EUNAVAIL, "this server has no database configured");
        return CL_OK;
    }
    if (c->session && cl_session_expired(c->session)) {
        cl_log_info("session_expired", "conn=%llu user=%s", (unsigned long long)c->id,
                    c->session->username);
        conn_set_session(c, NULL);
    }
    /* Checked here before anything is allocated, and again in cl_req_run. */
    int auth = authz_reply_check(c, hdr->req_id, h);
    if (auth != CL_OK) return CL_OK;
    if (c->inflight >= srv->cfg->max_inflight) {
        conn_send_error(c, hdr->req_id, CL_ETOOMANY,
                        "too many requests in flight on this connection; retry");
        return CL_OK;
    }
    ProtobufCMessage *msg = NULL;
    int rc = cl_msg_unpack(hdr->type, payload, hdr->len, &msg);
    if (rc != CL_OK) {
        char text[128];
        snprintf(text, sizeof text, "the %s request could not be decoded", h->name);
        conn_send_error(c, hdr->req_id, rc, text);
        return CL_OK;
    }
    cl_req_t *req = calloc(1, sizeof *req);
    if (req) req->magic = CL_REQ_MAGIC;
    if (!req) {
        cl_password_cleanse_request(msg);
        cl_msg_free(msg);
        conn_send_error(c, hdr->req_id, CL_ENOMEM, "out of memory");
        return CL_OK;
    }
    req->conn = c;
    req->handler = h;
    req->id = hdr->req_id;
    req->msg = msg;
    c->inflight++;
    if (logs_in(h)) c->logging_in++;
    c->refs++;
    /* A session is re-read from the database now and then, so that a logout elsewhere,
     * a disabled user or changed projects take effect on open connections too. */
    if (c->session &&
        cl_session_stale(c->session, uv_now(srv->loop), srv->cfg->auth_session_recheck_ms))
        cl_session_revalidate(req); /* calls cl_req_run when done */
    else
        cl_req_run(req);
    /* One loop iteration can read many connections before the flush check runs: the
     * daemon-wide budget is kept here too (this connection may be the one closed). */
    if (srv->output_total > srv->cfg->max_output_total) server_shed_output(srv);
    /* Past max_output, no further request is taken until the backlog drains. */
    return c->state == CONN_OPEN && c->out_len + c->queued >= srv->cfg->max_output ? FEED_PAUSED
                                                                                   : CL_OK;
}

void cl_req_run(cl_req_t *req) {
    if (authz_reply_check(req->conn, 0, req->handler) != CL_OK) {
        int code = req->conn->session ? CL_EFORBIDDEN : CL_EUNAUTH;
        cl_req_fail(req, code, "%s", authz_sentence(code));
        return;
    }
    req->conn->srv->requests_served++; /* see cl_server_stats_t */
    req->handler->fn(req);             /* it answers, now or from a callback */
}

/* --- connection lifecycle --- */

static void conn_free(cl_conn_t *c) {
    free(c->held);
    free(c->session);
    cl_tls_free(c->tls);
    cl_frame_decoder_free(&c->dec);
    free(c->out);
    free(c);
}

static void conn_unref(cl_conn_t *c) {
    CL_ASSERT(c->refs > 0);
    if (--c->refs == 0) conn_free(c);
}

static void on_conn_handle_closed(uv_handle_t *h) {
    conn_unref(h->data);
}

/* Closes both handles; the connection leaves the server's list now. */
static void conn_close_handles(cl_conn_t *c) {
    if (c->state == CONN_CLOSED) return;
    c->state = CONN_CLOSED;
    cl_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->nconns--;
    if (c->counted_unauth) srv->nunauth--;
    c->counted_unauth = false;
    addr_release(srv, c);
    /* Nothing will send the output now: release it from the budget at once (the
     * cancelled writes release theirs in on_write). */
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_cap = c->out_off = 0;
    free(c->held);
    c->held = NULL;
    c->held_len = 0;
    conn_account(c);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    cl_log_debug("conn_closed", "conn=%llu backlog_peak=%zu", (unsigned long long)c->id,
                 c->backlog_peak);
    server_check_drained(srv);
}

static void conn_abort(cl_conn_t *c, const char *reason) {
    if (c->state == CONN_CLOSED) return;
    cl_log_debug("conn_abort", "conn=%llu reason=\"%s\"", (unsigned long long)c->id, reason);
    conn_close_handles(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

static void on_read_discard(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    if (nread < 0) conn_close_handles(s->data);
}

/* After a protocol error the peer is often still sending. Closing a socket with unread
 * input makes the kernel send RST, which can destroy our error frame before the peer
 * reads it; so such connections read and discard until the peer's EOF (bounded by the
 * close guard timer) before closing. */
static void on_shutdown(uv_shutdown_t *req, int status) {
    cl_conn_t *c = req->data;
    if (status == 0 && c->linger && c->state == CONN_CLOSING &&
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read_discard) == 0)
        return;
    conn_close_handles(c);
}

/* Graceful close: flush replies, send close_notify, wait for the writes, then close.
 * The timer bounds the wait for a peer that does not read. */
static void conn_close(cl_conn_t *c, const char *reason) {
    if (c->state == CONN_CLOSING || c->state == CONN_CLOSED) return;
    bool was_open = c->state == CONN_OPEN;
    c->state = CONN_CLOSING;
    cl_log_debug("conn_closing", "conn=%llu reason=\"%s\"", (unsigned long long)c->id, reason);
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    if (was_open) {
        conn_flush(c);
        if (c->state == CONN_CLOSED) return;
        (void)cl_tls_shutdown(c->tls);
    }
    conn_flush_cipher(c);
    if (c->state == CONN_CLOSED) return;
    uv_timer_start(&c->timer, on_conn_timer, CLOSE_GUARD_MS, 0);
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        conn_close_handles(c);
}

static void on_conn_timer(uv_timer_t *t) {
    cl_conn_t *c = t->data;
    const cl_config_t *cfg = c->srv->cfg;
    switch (c->state) {
    case CONN_HANDSHAKE:
        cl_log_info("tls_handshake_timeout", "conn=%llu peer=%s", (unsigned long long)c->id,
                    c->peer);
        conn_abort(c, "handshake timeout");
        break;
    case CONN_OPEN: {
        uint64_t now = uv_now(c->srv->loop);
        uint64_t idle = now - c->last_read_ms;
        uint64_t age = now - c->accepted_ms;
        if (!c->session && age >= cfg->login_timeout_ms && !c->logging_in) {
            /* Whatever it sent meanwhile (pings): a stranger does not keep a slot. */
            cl_log_info("conn_login_timeout", "conn=%llu peer=%s", (unsigned long long)c->id,
                        c->peer);
            conn_close(c, "login timeout");
        } else if (idle >= cfg->idle_timeout_ms && c->inflight == 0) {
            cl_log_info("conn_idle_timeout", "conn=%llu peer=%s idle_ms=%llu",
                        (unsigned long long)c->id, c->peer, (unsigned long long)idle);
            conn_close(c, "idle timeout");
        } else {
            uint64_t left =
                idle >= cfg->idle_timeout_ms ? cfg->idle_timeout_ms : cfg->idle_timeout_ms - idle;
            if (!c->session && c->logging_in) /* a login under way: look again soon */
                left = left < LOGIN_WAIT_MS ? left : LOGIN_WAIT_MS;
            else if (!c->session && cfg->login_timeout_ms - age < left)
                left = cfg->login_timeout_ms - age;
            uv_timer_start(t, on_conn_timer, left, 0);
        }
        break;
    }
    case CONN_CLOSING: conn_abort(c, "close not acknowledged"); break;
    case CONN_CLOSED: break;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    cl_conn_t *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->srv->readbuf, sizeof c->srv->readbuf);
}

static void conn_handshake_done(cl_conn_t *c) {
    c->state = CONN_OPEN;
    if (!cl_tls_peer_subject(c->tls, c->subject, sizeof c->subject)) c->subject[0] = 0;
    char q[300];
    cl_log_info("conn_open", "conn=%llu peer=%s tls=%s client_cert=%s", (unsigned long long)c->id,
                c->peer, cl_tls_version(c->tls), cl_log_quote(c->subject, q, sizeof q));
    on_conn_timer(&c->timer); /* the idle or the login timeout, whichever comes first */
}

/* Feeds n plaintext bytes to the frame decoder. When the connection's backlog fills,
 * keeps the rest in c->held for conn_read_input. CL_OK to go on, else stop reading. */
static int conn_feed(cl_conn_t *c, const uint8_t *data, size_t n) {
    size_t used = 0;
    int rc = cl_frame_decoder_feed(&c->dec, data, n, on_frame, c, &used);
    if (rc == FEED_PAUSED) {
        if (!c->paused) { /* the backlog is full: reading waits with the decoding */
            if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
            c->reading = false;
            c->paused = true;
        }
        if (used < n) {
            uint8_t *h = malloc(n - used);
            if (!h) {
                conn_abort(c, "out of memory");
                return CL_ECLOSED;
            }
            memcpy(h, data + used, n - used);
            c->held = h;
            c->held_len = n - used;
            conn_account(c);
        }
        return FEED_PAUSED;
    }
    if (rc == CL_ECLOSED) return rc;
    if (rc < 0) {
        const char *why = rc == CL_ETOOBIG ? "the frame is larger than the server's maximum"
                                           : "the data is not a valid closeloop frame";
        cl_log_info("protocol_error", "conn=%llu peer=%s error=\"%s\"", (unsigned long long)c->id,
                    c->peer, why);
        conn_send_error(c, 0, CL_EBADFRAME, why);
        c->linger = true;
        conn_close(c, "protocol error");
        return rc;
    }
    return c->state == CONN_OPEN ? CL_OK : CL_ECLOSED;
}

/* Decodes what the connection held back, then everything OpenSSL holds, until the
 * backlog fills again. */
static void conn_read_input(cl_conn_t *c) {
    cl_server_t *srv = c->srv;
    if (c->in_input || c->state != CONN_OPEN) return;
    c->in_input = true;
    if (c->held) {
        uint8_t *h = c->held;
        size_t n = c->held_len;
        c->held = NULL;
        c->held_len = 0;
        conn_account(c);
        int rc = conn_feed(c, h, n);
        free(h);
        if (rc != CL_OK) {
            c->in_input = false;
            return;
        }
    }
    for (;;) {
        size_t n = 0;
        int rc = cl_tls_read(c->tls, srv->plainbuf, sizeof srv->plainbuf, &n);
        if (rc == CL_TLS_AGAIN) break;
        if (rc == CL_TLS_EOF) {
            conn_close(c, "peer sent close_notify");
            return;
        }
        if (rc != CL_TLS_OK) {
            cl_log_info("tls_read_failed", "conn=%llu peer=%s error=\"%s\"",
                        (unsigned long long)c->id, c->peer, cl_tls_error(c->tls));
            conn_flush_cipher(c); /* the alert */
            c->in_input = false;
            conn_close(c, "TLS error");
            return;
        }
        if (conn_feed(c, srv->plainbuf, n) != CL_OK) {
            c->in_input = false;
            return;
        }
    }
    c->in_input = false;
    conn_flush_cipher(c); /* reads can produce ciphertext too (key updates) */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    cl_conn_t *c = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        if (nread != UV_EOF)
            cl_log_info("conn_read_failed", "conn=%llu error=%s", (unsigned long long)c->id,
                        uv_err_name((int)nread));
        if (nread != UV_EOF || c->state != CONN_OPEN) {
            conn_abort(c, "read error");
        } else if (c->inflight) {
            /* Half-closed peer: answer what it asked, then close (req_finish). */
            uv_read_stop(s);
            c->reading = false;
            c->peer_eof = true;
        } else {
            conn_close(c, "peer closed");
        }
        return;
    }
    c->last_read_ms = uv_now(c->srv->loop);
    if (c->state == CONN_CLOSING) return; /* lingering: discard */
    if (cl_tls_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread) != CL_TLS_OK) {
        conn_abort(c, "TLS feed failed");
        return;
    }
    if (c->state == CONN_HANDSHAKE) {
        int rc = cl_tls_handshake(c->tls);
        conn_flush_cipher(c);
        if (c->state == CONN_CLOSED) return;
        if (rc == CL_TLS_AGAIN) return;
        if (rc != CL_TLS_OK) {
            cl_log_info("tls_handshake_failed", "conn=%llu peer=%s error=\"%s\"",
                        (unsigned long long)c->id, c->peer, cl_tls_error(c->tls));
            conn_close(c, "handshake failed");
            return;
        }
        conn_handshake_done(c);
    }
    if (c->state == CONN_OPEN && !c->paused) conn_read_input(c);
}

static void conn_start_reading(cl_conn_t *c) {
    c->reading = true;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void format_peer(uv_tcp_t *tcp, char *out, size_t len, char *addr, size_t addrlen) {
    struct sockaddr_storage ss;
    int sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            uv_ip4_name(a, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            uv_ip6_name(a, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, len, "%s:%d", host, port);
    snprintf(addr, addrlen, "%s", host);
}

static struct addr_count **addr_bucket(cl_server_t *srv, const char *addr) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = addr; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &srv->addrs[h % ADDR_BUCKETS];
}

/* The open connections of addr (0 when none). */
static uint32_t addr_open(cl_server_t *srv, const char *addr) {
    for (struct addr_count *a = *addr_bucket(srv, addr); a; a = a->next)
        if (!strcmp(a->addr, addr)) return a->n;
    return 0;
}

/* Counts c in its address's entry; CL_ENOMEM when none can be made. */
static int addr_take(cl_server_t *srv, cl_conn_t *c) {
    struct addr_count **b = addr_bucket(srv, c->addr), *a;
    for (a = *b; a && strcmp(a->addr, c->addr); a = a->next)
        ;
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a) return CL_ENOMEM;
        snprintf(a->addr, sizeof a->addr, "%s", c->addr);
        a->next = *b;
        *b = a;
    }
    a->n++;
    c->addr_slot = a;
    return CL_OK;
}

static void addr_release(cl_server_t *srv, cl_conn_t *c) {
    struct addr_count *a = c->addr_slot;
    if (!a) return;
    c->addr_slot = NULL;
    if (--a->n > 0) return;
    struct addr_count **p = addr_bucket(srv, a->addr);
    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    free(a);
}

static void on_refused_closed(uv_handle_t *h) {
    free(h);
}

/* Accepts the pending connection only to close it at once. */
static void refuse_connection(cl_server_t *srv, uv_stream_t *listener, const char *reason) {
    uv_tcp_t *t = malloc(sizeof *t);
    if (!t) return;
    uv_tcp_init(srv->loop, t);
    if (uv_accept(listener, (uv_stream_t *)t) == 0) {
        char peer[64], addr[INET6_ADDRSTRLEN];
        format_peer(t, peer, sizeof peer, addr, sizeof addr);
        cl_log_warn("conn_refused", "peer=%s reason=%s", peer, reason);
    }
    uv_close((uv_handle_t *)t, on_refused_closed);
}

/* Why a new connection (from addr, when known) is refused, or NULL to take it. */
static const char *admission_refusal(cl_server_t *srv, const char *addr) {
    const cl_config_t *cfg = srv->cfg;
    if (srv->draining) return "draining";
    if (srv->nconns >= cfg->max_connections) return "max_connections";
    /* At most half the slots are reserved, so a small max_connections still works. */
    uint32_t reserved = cfg->reserved_connections < cfg->max_connections / 2
                            ? cfg->reserved_connections
                            : cfg->max_connections / 2;
    if (srv->nunauth >= cfg->max_connections - reserved) return "reserved_connections";
    if (addr && addr_open(srv, addr) >= cfg->max_connections_per_address)
        return "max_connections_per_address";
    return NULL;
}

static void on_connection(uv_stream_t *listener, int status) {
    cl_server_t *srv = listener->data;
    if (status < 0) {
        cl_log_warn("accept_failed", "error=%s", uv_err_name(status));
        return;
    }
    const char *why = admission_refusal(srv, NULL);
    if (why) {
        refuse_connection(srv, listener, why);
        return;
    }
    cl_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->refs = 2;
    c->state = CONN_HANDSHAKE;
    /* a stranger's frames stay small until it logs in (conn_set_session raises it) */
    cl_frame_decoder_init(&c->dec, cl_config_frame_unauth(srv->cfg));
    bool accepted = uv_accept(listener, (uv_stream_t *)&c->tcp) == 0;
    if (accepted) format_peer(&c->tcp, c->peer, sizeof c->peer, c->addr, sizeof c->addr);
    why = accepted ? admission_refusal(srv, c->addr) : NULL; /* before it counts itself */
    c->prev = NULL;
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (why) cl_log_warn("conn_refused", "peer=%s reason=%s", c->peer, why);
    if (!accepted || why || addr_take(srv, c) != CL_OK ||
        !(c->tls = cl_tls_new(srv->tls_ctx, NULL))) {
        conn_close_handles(c);
        return;
    }
    c->counted_unauth = true;
    srv->nunauth++;
    uv_tcp_nodelay(&c->tcp, 1);
    c->last_read_ms = c->accepted_ms = uv_now(srv->loop);
    uv_timer_start(&c->timer, on_conn_timer, srv->cfg->handshake_timeout_ms, 0);
    cl_log_debug("conn_accepted", "conn=%llu peer=%s", (unsigned long long)c->id, c->peer);
    conn_start_reading(c);
}

/* --- server --- */

int cl_server_start(uv_loop_t *loop, const cl_config_t *cfg, cl_server_t **out, char *err,
                    size_t errlen) {
    cl_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return CL_ENOMEM;
    }
    srv->loop = loop;
    srv->cfg = cfg;
    srv->started_ms = uv_now(loop);
    cl_tls_server_opts_t to = {
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .ca_file = cfg->tls_ca[0] ? cfg->tls_ca : NULL,
        .allow_tls12 = cfg->tls_allow_tls12,
        .require_client_cert = cfg->tls_require_client_cert,
    };
    int rc = cl_tls_ctx_new_server(&to, &srv->tls_ctx, err, errlen);
    if (rc != CL_OK) {
        free(srv);
        return rc;
    }

    struct sockaddr_storage addr;
    if (uv_ip4_addr(cfg->listen, (int)cfg->port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(cfg->listen, (int)cfg->port, (struct sockaddr_in6 *)&addr) != 0) {
        snprintf(err, errlen, "server.listen \"%s\" is not an IPv4 or IPv6 address", cfg->listen);
        cl_tls_ctx_free(srv->tls_ctx);
        free(srv);
        return CL_ECONFIG;
    }
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "cannot listen on %s:%u: %s", cfg->listen, cfg->port,
                 uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT); /* let the close complete before freeing */
        cl_tls_ctx_free(srv->tls_ctx);
        free(srv);
        return CL_EIO;
    }
    uv_check_init(loop, &srv->flush_check);
    srv->flush_check.data = srv;
    uv_check_start(&srv->flush_check, on_flush_check);
    uv_unref((uv_handle_t *)&srv->flush_check);
    uv_idle_init(loop, &srv->flush_idle);
    uv_timer_init(loop, &srv->drain_timer);
    srv->drain_timer.data = srv;
    *out = srv;
    return CL_OK;
}

void cl_server_get_stats(const cl_server_t *srv, cl_server_stats_t *st) {
    st->uptime_ms = uv_now(srv->loop) - srv->started_ms;
    st->connections = srv->nconns;
    st->requests_served = srv->requests_served;
    st->queued_output = srv->output_total;
}

static void on_server_handle_closed(uv_handle_t *h) {
    cl_server_t *srv = h->data;
    if (--srv->handles_open == 0 && srv->drained_cb) srv->drained_cb(srv);
}

static void server_check_drained(cl_server_t *srv) {
    if (!srv->draining || srv->nconns > 0 || srv->handles_open) return;
    cl_log_info("drained", "requests_served=%llu", (unsigned long long)srv->requests_served);
    on_flush_check(&srv->flush_check); /* releases closed connections still on the list */
    uv_handle_t *hs[] = {(uv_handle_t *)&srv->flush_check, (uv_handle_t *)&srv->flush_idle,
                         (uv_handle_t *)&srv->drain_timer};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        hs[i]->data = srv;
        srv->handles_open++;
        uv_close(hs[i], on_server_handle_closed);
    }
}

static void on_drain_timeout(uv_timer_t *t) {
    cl_server_t *srv = t->data;
    srv->drain_timed_out = true;
    cl_log_warn("drain_timeout", "connections=%u", srv->nconns);
    while (srv->conns)
        conn_abort(srv->conns, "drain timeout");
}

static void on_listener_closed(uv_handle_t *h) {
    cl_server_t *srv = h->data;
    srv->handles_open--;
    server_check_drained(srv);
}

void cl_server_drain(cl_server_t *srv, void (*done_cb)(cl_server_t *srv)) {
    if (srv->draining) return;
    srv->draining = true;
    srv->drained_cb = done_cb;
    cl_log_info("draining", "connections=%u", srv->nconns);
    srv->handles_open = 1;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    uv_timer_start(&srv->drain_timer, on_drain_timeout, srv->cfg->drain_timeout_ms, 0);
    for (cl_conn_t *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_HANDSHAKE) {
            conn_abort(c, "server draining");
        } else if (c->state == CONN_OPEN && c->inflight == 0) {
            /* Busy connections go on reading: what they send now gets ERR_SHUTTING_DOWN. */
            c->linger = true;
            conn_close(c, "server draining");
        }
    }
}

bool cl_server_drain_timed_out(const cl_server_t *srv) {
    return srv->drain_timed_out;
}

void cl_server_free(cl_server_t *srv) {
    if (!srv) return;
    for (size_t i = 0; i < ADDR_BUCKETS; i++) /* empty unless connections were cut short */
        while (srv->addrs[i]) {
            struct addr_count *a = srv->addrs[i];
            srv->addrs[i] = a->next;
            free(a);
        }
    cl_tls_ctx_free(srv->tls_ctx);
    free(srv);
}
