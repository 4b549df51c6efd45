/* test_pipeline.c - libcloop's request runner (client/lib/cloop_pipeline.c) driving the
 * real TLS client (cloop.c) against a real TLS server written here.
 *
 * The server runs in its own thread on 127.0.0.1 with a free port and the development
 * certificates of deploy/gen-certs.sh, made in a scratch directory at start-up. It uses
 * the same engine as closeloopd (common/tls.c, frame.c, msg.c), one connection at a
 * time, and is scripted per test: after every read a script looks at the Pings received
 * and not yet answered and answers some (a Pong echoing the request's index, or an error
 * frame), or drops the connection: it sends what it has answered, shuts its side down
 * (the client reads the replies, then end of file) and reads on until the client hangs
 * up, counting what still arrives. Request i is a Ping whose client_time_ns is i, so the
 * server knows each request's index and the client can check that a reply went to its
 * own request. The server counts per index what it received and answered; the client
 * counts per index what on_reply delivered, with which status. Counts are read after the
 * server thread has been joined. test_pushes_kept has the server push frames (request id
 * 0) before its replies, as closeloopd does to a connection that follows the feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cloop.h"
#include "cloop_pipeline.h"
#include "frame.h"
#include "msg.h"
#include "tls.h"

#define MAXREQ 256 /* request indexes a test may use */

static struct {
    char dir[PATH_MAX]; /* scratch directory with the certificates */
    char ca[PATH_MAX + 16];
    char crt[PATH_MAX + 16];
    char key[PATH_MAX + 16];
} g;

/* ---- the scripted server ------------------------------------------------------------ */

/* A request received and not answered yet. */
typedef struct pending {
    uint32_t req_id;
    size_t idx;
    bool done; /* answered by the script: removed after it returns */
} pending_t;

typedef struct srv srv_t;

enum { KEEP = 0, DROP = 1 };

/* Answers some of s->pend (srv_pong, srv_error); returns KEEP or DROP. */
typedef int (*script_fn)(srv_t *s);

struct srv {
    int lfd;           /* listening socket */
    uint16_t port;     /* its port */
    cl_tls_ctx_t *ctx; /* server certificate */
    pthread_t tid;
    atomic_int stop; /* set by the test: the thread ends */
    script_fn script;
    size_t n;       /* requests of the run */
    int param;      /* the script's number (window, busy count ...) */
    int busy_given; /* busy replies sent so far */

    /* the connection being served */
    int fd;
    cl_tls_t *tls;
    cl_frame_decoder_t dec;
    bool draining; /* dropped: reading on, answering nothing */
    pending_t pend[MAXREQ];
    size_t npend;

    /* counts, read after the thread is joined */
    int conns;                    /* connections accepted */
    unsigned received[MAXREQ];    /* Pings received per index */
    unsigned answered[MAXREQ];    /* Pongs sent per index */
    unsigned errors[MAXREQ];      /* error frames sent per index */
    unsigned answered_c1[MAXREQ]; /* Pongs sent per index on the first connection */
    size_t answered_total;        /* Pongs and final errors sent */
    uint64_t frames;              /* Pings received, all connections */
    int bad;                      /* something the server did not expect */
};

static int on_ping(void *ctx, const cl_frame_hdr_t *h, const uint8_t *payload) {
    srv_t *s = ctx;
    ProtobufCMessage *m = NULL;
    if (h->type != CL_MSG_PING || cl_msg_unpack(CL_MSG_PING, payload, h->len, &m) != CL_OK) {
        s->bad++;
        return 0;
    }
    uint64_t idx = ((const cl_pb_ping_t *)m)->client_time_ns;
    cl_msg_free(m);
    if (idx >= MAXREQ || s->npend == MAXREQ) {
        s->bad++;
        return 0;
    }
    s->received[idx]++;
    s->frames++;
    if (!s->draining) s->pend[s->npend++] = (pending_t){h->req_id, (size_t)idx, false};
    return 0;
}

static void send_frame(srv_t *s, uint8_t flags, uint32_t req_id, uint16_t type,
                       const ProtobufCMessage *msg) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cl_msg_frame_pack(flags, req_id, type, msg, CL_FRAME_DEFAULT_MAX_PAYLOAD, &buf, &len) !=
            CL_OK ||
        cl_tls_write(s->tls, buf, len) != CL_TLS_OK)
        s->bad++;
    free(buf);
}

/* Answers pend[k] with a Pong carrying its index. */
static void srv_pong(srv_t *s, size_t k) {
    cl_pb_pong_t p = CLOSELOOP__PONG__INIT;
    p.client_time_ns = s->pend[k].idx;
    send_frame(s, CL_FRAME_FLAG_LAST, s->pend[k].req_id, CL_MSG_PONG, &p.base);
    s->answered[s->pend[k].idx]++;
    if (s->conns == 1) s->answered_c1[s->pend[k].idx]++;
    s->answered_total++;
    s->pend[k].done = true;
}

/* Answers pend[k] with an error frame, as closeloopd writes them. */
static void srv_error(srv_t *s, size_t k, int code, bool retryable) {
    cl_pb_error_t e = CLOSELOOP__ERROR__INIT;
    e.code = (Closeloop__ErrorCode)cl_err_to_wire(code);
    e.message = (char *)cl_strerror(code);
    e.retryable = retryable;
    send_frame(s, CL_FRAME_FLAG_ERROR | CL_FRAME_FLAG_LAST, s->pend[k].req_id, CL_MSG_ERROR,
               &e.base);
    s->errors[s->pend[k].idx]++;
    s->pend[k].done = true;
}

/* Sends all ciphertext the engine has, waiting for the socket when it must. */
static int srv_flush(srv_t *s) {
    uint8_t buf[16384];
    size_t n;
    while ((n = cl_tls_drain(s->tls, buf, sizeof buf)) > 0) {
        for (size_t off = 0; off < n;) {
            ssize_t w = send(s->fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w <= 0) return -1;
            off += (size_t)w;
        }
    }
    return 0;
}

/* Serves one connection until the client hangs up, an error, or stop. */
static void srv_serve(srv_t *s) {
    uint8_t buf[65536], plain[16384];
    s->tls = cl_tls_new(s->ctx, NULL);
    cl_frame_decoder_init(&s->dec, CL_FRAME_DEFAULT_MAX_PAYLOAD);
    s->draining = false;
    s->npend = 0;
    while (s->tls && !atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = recv(s->fd, buf, sizeof buf, 0);
        if (n <= 0 || cl_tls_feed(s->tls, buf, (size_t)n) != CL_TLS_OK) break;
        if (!cl_tls_handshake_done(s->tls)) {
            int rc = cl_tls_handshake(s->tls);
            if (srv_flush(s) < 0 || rc == CL_TLS_ERR) break;
            if (rc == CL_TLS_AGAIN) continue;
        }
        int rc;
        size_t got = 0;
        while ((rc = cl_tls_read(s->tls, plain, sizeof plain, &got)) == CL_TLS_OK)
            if (cl_frame_decoder_feed(&s->dec, plain, got, on_ping, s, NULL) != CL_OK) s->bad++;
        if (rc == CL_TLS_ERR) break;
        if (s->draining) { /* what the client says now goes unanswered */
            if (rc == CL_TLS_EOF) break;
            continue;
        }
        int act = s->script(s);
        size_t kept = 0;
        for (size_t k = 0; k < s->npend; k++)
            if (!s->pend[k].done) s->pend[kept++] = s->pend[k];
        s->npend = kept;
        if (srv_flush(s) < 0 || rc == CL_TLS_EOF) break;
        if (act == DROP) {
            shutdown(s->fd, SHUT_WR); /* the replies, then end of file */
            s->draining = true;
        }
    }
    cl_frame_decoder_free(&s->dec);
    cl_tls_free(s->tls);
    s->tls = NULL;
    close(s->fd);
    s->fd = -1;
}

static void *srv_main(void *arg) {
    srv_t *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 100) <= 0) continue;
        s->fd = accept(s->lfd, NULL, NULL);
        if (s->fd < 0) continue;
        int one = 1;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s->conns++;
        srv_serve(s);
    }
    return NULL;
}

static void srv_start(srv_t *s, script_fn script, size_t n, int param) {
    memset(s, 0, sizeof *s);
    s->script = script;
    s->n = n;
    s->param = param;
    s->fd = -1;
    char err[256];
    cl_tls_server_opts_t so = {.cert_file = g.crt, .key_file = g.key};
    assert_int_equal(cl_tls_ctx_new_server(&so, &s->ctx, err, sizeof err), CL_OK);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->tid, NULL, srv_main, s), 0);
}

static void srv_stop(srv_t *s) {
    atomic_store(&s->stop, 1);
    assert_int_equal(pthread_join(s->tid, NULL), 0);
    close(s->lfd);
    cl_tls_ctx_free(s->ctx);
    assert_int_equal(s->bad, 0);
}

/* ---- scripts ------------------------------------------------------------------------ */

/* Holds requests until param are waiting (or all that are left), then answers them
 * last-received first. */
static int script_reverse(srv_t *s) {
    if (s->npend < (size_t)s->param && s->answered_total + s->npend < s->n) return KEEP;
    for (size_t k = s->npend; k-- > 0;)
        srv_pong(s, k);
    return KEEP;
}

/* First connection: once param requests wait, answers the first 3 and drops the
 * connection. Later connections: answers everything at once. */
static int script_drop_once(srv_t *s) {
    if (s->conns > 1) {
        for (size_t k = 0; k < s->npend; k++)
            srv_pong(s, k);
        return KEEP;
    }
    if (s->npend < (size_t)s->param) return KEEP;
    for (size_t k = 0; k < 3; k++)
        srv_pong(s, k);
    return DROP;
}

/* Every connection: once param requests wait, drops it without an answer. */
static int script_drop_always(srv_t *s) {
    return s->npend >= (size_t)s->param ? DROP : KEEP;
}

/* "Too many in flight" (retryable, as closeloopd says it) to the first param requests
 * received, or to all when param < 0; Pongs to the rest. */
static int script_busy(srv_t *s) {
    for (size_t k = 0; k < s->npend; k++) {
        if (s->param < 0 || s->busy_given < s->param) {
            s->busy_given++;
            srv_error(s, k, CL_ETOOMANY, true);
        } else {
            srv_pong(s, k);
        }
    }
    return KEEP;
}

/* By index modulo 5: 0 a Pong; 1 unavailable (retryable) the first time, then a Pong;
 * 2 forbidden; 3 a conflict, marked retryable; 4 unavailable every time. */
static int script_errors(srv_t *s) {
    for (size_t k = 0; k < s->npend; k++) {
        size_t i = s->pend[k].idx;
        switch (i % 5) {
        case 0: srv_pong(s, k); break;
        case 1:
            if (s->errors[i] == 0)
                srv_error(s, k, CL_EUNAVAIL, true);
            else
                srv_pong(s, k);
            break;
        case 2: srv_error(s, k, CL_EFORBIDDEN, false); break;
        case 3: srv_error(s, k, CL_ECONFLICT, true); break;
        default: srv_error(s, k, CL_EUNAVAIL, true); break;
        }
    }
    return KEEP;
}

/* Before each Pong, param server pushes (request id 0, SyncNotice with company_id 1, 2,
 * ... counting on across the connection), as closeloopd sends them to a follower. */
static int script_pushes(srv_t *s) {
    for (size_t k = 0; k < s->npend; k++) {
        for (int i = 0; i < s->param; i++) {
            Closeloop__SyncNotice nt = CLOSELOOP__SYNC_NOTICE__INIT;
            nt.company_id = ++s->busy_given;
            send_frame(s, CL_FRAME_FLAG_LAST, 0, CL_MSG_SYNC_NOTICE, &nt.base);
        }
        srv_pong(s, k);
    }
    return KEEP;
}

/* ---- the client side ---------------------------------------------------------------- */

typedef struct run {
    srv_t *srv;
    cl_pb_ping_t ping;          /* the scratch request */
    unsigned delivered[MAXREQ]; /* on_reply calls per index */
    int status[MAXREQ];         /* the status delivered */
    bool had_reply[MAXREQ];     /* on_reply got a reply (not NULL) */
    bool matched[MAXREQ];       /* the reply was the Pong of this very request */
    char why[MAXREQ][64];       /* cl_pipeline_error when there was no reply */
    int reconnects;             /* on_reconnect calls */
    int refuse_reconnect;       /* set by the test: on_reconnect fails */
    bool client_left;           /* cl_pipeline_client was not NULL after the run */
} run_t;

static cl_client_t *connect_to(const srv_t *s) {
    cl_client_opts_t o = {.host = "127.0.0.1", .port = s->port, .ca_file = g.ca};
    o.timeout_ms = 5000;
    cl_client_t *c = NULL;
    char err[512];
    int rc = cl_client_connect(&o, &c, err, sizeof err);
    if (rc != CL_OK) fail_msg("connect: %s", err);
    return c;
}

static int on_request(cl_pipeline_t *p, size_t req, uint16_t *type, const ProtobufCMessage **msg) {
    run_t *r = cl_pipeline_data(p);
    closeloop__ping__init(&r->ping);
    r->ping.client_time_ns = req;
    *type = CL_MSG_PING;
    *msg = &r->ping.base;
    return CL_OK;
}

static void on_reply(cl_pipeline_t *p, int status, size_t req, cl_reply_t *reply) {
    run_t *r = cl_pipeline_data(p);
    assert_true(req < MAXREQ);
    r->delivered[req]++;
    r->status[req] = status;
    r->had_reply[req] = reply != NULL;
    if (reply) {
        assert_int_equal(reply->err, status);
        r->matched[req] = status == CL_OK && reply->type == CL_MSG_PONG && reply->msg &&
                          ((const cl_pb_pong_t *)reply->msg)->client_time_ns == req;
    } else {
        snprintf(r->why[req], sizeof r->why[req], "%s", cl_pipeline_error(p));
    }
}

static int on_reconnect(cl_pipeline_t *p, int status, cl_client_t **c) {
    run_t *r = cl_pipeline_data(p);
    assert_true(status < 0);
    r->reconnects++;
    cl_client_close(*c);
    *c = NULL;
    if (r->refuse_reconnect) return CL_ECLOSED;
    *c = connect_to(r->srv);
    return CL_OK;
}

/* Starts a server with script (and its param), runs n requests against it with the
 * given window, stops the server; checks that every request was delivered exactly once
 * and returns the runner's stats. r starts zeroed but for refuse_reconnect. */
static cl_pipeline_stats_t run_script(srv_t *s, run_t *r, script_fn script, int param, size_t n,
                                      size_t window) {
    srv_start(s, script, n, param);
    r->srv = s;
    cl_pipeline_opts_t o = {
        .data = r,
        .on_request = on_request,
        .on_reply = on_reply,
        .on_reconnect = on_reconnect,
        .window = window,
        .retry_pause_ms = 1,
    };
    cl_pipeline_t *p = NULL;
    char err[256];
    assert_int_equal(cl_pipeline_new(&o, &p, err, sizeof err), CL_OK);
    cl_client_t *c = connect_to(s);
    assert_int_equal(cl_pipeline_run(p, c, n), CL_OK);
    cl_pipeline_stats_t st;
    cl_pipeline_stats(p, &st);
    r->client_left = cl_pipeline_client(p) != NULL;
    cl_client_close(cl_pipeline_client(p));
    cl_pipeline_free(p);
    srv_stop(s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r->delivered[i], 1);
    return st;
}

/* Request i succeeded with its own reply, which the server sent once. */
static void expect_answered_once(const run_t *r, const srv_t *s, size_t i) {
    assert_int_equal(r->status[i], CL_OK);
    assert_true(r->matched[i]);
    assert_int_equal(s->answered[i], 1);
}

/* ---- tests -------------------------------------------------------------------------- */

/* Replies in reverse order, a window at a time: each reaches its own request, once. */
static void test_out_of_order(void **state) {
    (void)state;
    enum { N = 50, W = 8 };
    srv_t s;
    run_t r = {0};
    cl_pipeline_stats_t st = run_script(&s, &r, script_reverse, W, N, W);
    for (size_t i = 0; i < N; i++) {
        expect_answered_once(&r, &s, i);
        assert_int_equal(s.received[i], 1);
    }
    assert_int_equal(s.frames, N);
    assert_int_equal(s.conns, 1);
    assert_int_equal(st.sent, N);
    assert_int_equal(st.resent, 0);
    assert_int_equal(st.peak, W); /* the server held a whole window */
    assert_int_equal(st.window, W);
    assert_int_equal(r.reconnects, 0);
}

/* The server answers 3 of a window of 8 and drops the connection: the runner reconnects
 * and sends again exactly what was in flight unanswered. */
static void test_drop_mid_window(void **state) {
    (void)state;
    enum { N = 40, W = 8 };
    srv_t s;
    run_t r = {0};
    cl_pipeline_stats_t st = run_script(&s, &r, script_drop_once, W, N, W);
    size_t answered_first = 0, seen_twice = 0;
    for (size_t i = 0; i < N; i++) {
        expect_answered_once(&r, &s, i); /* never answered twice */
        if (s.answered_c1[i]) {
            answered_first++;
            assert_int_equal(s.received[i], 1); /* answered: never sent again */
        }
        assert_true(s.received[i] == 1 || s.received[i] == 2);
        if (s.received[i] == 2) seen_twice++;
    }
    assert_int_equal(answered_first, 3);
    assert_int_equal(s.conns, 2);
    assert_int_equal(r.reconnects, 1);
    assert_int_equal(st.reconnects, 1);
    /* the 5 unanswered of the first window, and what was sent after the 3 replies */
    assert_true(st.resent >= 5 && st.resent <= W);
    assert_true(seen_twice >= 5 && seen_twice <= st.resent);
    assert_int_equal(st.sent, N + st.resent);
    assert_int_equal(s.frames, N + seen_twice);
}

/* Two "too many in flight" replies: the window halves twice, the two are sent again,
 * and nobody hears of the refusals. */
static void test_busy_halves_window(void **state) {
    (void)state;
    enum { N = 30, W = 8, BUSY = 2 };
    srv_t s;
    run_t r = {0};
    cl_pipeline_stats_t st = run_script(&s, &r, script_busy, BUSY, N, W);
    size_t refused = 0;
    for (size_t i = 0; i < N; i++) {
        expect_answered_once(&r, &s, i);
        assert_int_equal(s.received[i], 1 + s.errors[i]);
        refused += s.errors[i];
    }
    assert_int_equal(refused, BUSY);
    assert_int_equal(st.busy, BUSY);
    assert_int_equal(st.window, W / 4);
    assert_int_equal(st.resent, BUSY);
    assert_int_equal(s.frames, N + BUSY);
    assert_int_equal(st.sent, N + BUSY);
}

/* A server that is always busy: each request is refused max_busy (8) times without
 * using an attempt, then sent twice more (the two attempts), then fails with
 * CL_ETOOMANY, delivered once with the server's reply. The window ends at 1. */
static void test_busy_forever(void **state) {
    (void)state;
    enum { N = 3, W = 8, SENDS = 8 + 2 };
    srv_t s;
    run_t r = {0};
    cl_pipeline_stats_t st = run_script(&s, &r, script_busy, -1, N, W);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(r.status[i], CL_ETOOMANY);
        assert_true(r.had_reply[i]);
        assert_int_equal(s.received[i], SENDS);
        assert_int_equal(s.answered[i], 0);
    }
    assert_int_equal(st.busy, N * 8);
    assert_int_equal(st.window, 1);
    assert_int_equal(st.sent, N * SENDS);
}

/* Error replies: a retryable one is sent again while attempts last, a final one is
 * delivered at once, and a conflict is never sent again although marked retryable. */
static void test_error_replies(void **state) {
    (void)state;
    enum { N = 25, W = 8 };
    srv_t s;
    run_t r = {0};
    cl_pipeline_stats_t st = run_script(&s, &r, script_errors, 0, N, W);
    static const int want_status[5] = {CL_OK, CL_OK, CL_EFORBIDDEN, CL_ECONFLICT, CL_EUNAVAIL};
    static const unsigned want_received[5] = {1, 2, 1, 1, 2};
    uint64_t total = 0;
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(r.status[i], want_status[i % 5]);
        assert_true(r.had_reply[i]);
        if (want_status[i % 5] == CL_OK) assert_true(r.matched[i]);
        assert_int_equal(s.received[i], want_received[i % 5]);
        total += want_received[i % 5];
    }
    assert_int_equal(st.sent, total);
    assert_int_equal(st.resent, total - N);
    assert_int_equal(st.busy, 0);
    assert_int_equal(st.window, W);
}

/* Every connection drops: two reconnects, then everything left fails with the
 * connection's status, each request delivered once, without a reply. */
static void test_reconnects_run_out(void **state) {
    (void)state;
    enum { N = 20, W = 8 };
    srv_t s;
    run_t r = {0};
    cl_pipeline_stats_t st = run_script(&s, &r, script_drop_always, W, N, W);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(r.status[i], CL_ECLOSED);
        assert_false(r.had_reply[i]);
        assert_string_equal(r.why[i], "server closed the connection");
        assert_int_equal(s.answered[i], 0);
        assert_true(s.received[i] >= 1 && s.received[i] <= 2);
    }
    assert_int_equal(s.conns, 3);
    assert_int_equal(r.reconnects, 2);
    assert_int_equal(st.reconnects, 2);
    assert_int_equal(s.frames, 3 * W);
}

/* on_reconnect fails: the rest fails at once, with "cannot reconnect". */
static void test_reconnect_refused(void **state) {
    (void)state;
    enum { N = 12, W = 4 };
    srv_t s;
    run_t r = {.refuse_reconnect = 1};
    run_script(&s, &r, script_drop_always, W, N, W);
    assert_false(r.client_left); /* on_reconnect closed it and gave none */
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(r.status[i], CL_ECLOSED);
        assert_string_equal(r.why[i], "cannot reconnect");
    }
    assert_int_equal(r.reconnects, 1);
    assert_int_equal(s.conns, 1);
    assert_int_equal(s.frames, W);
}

/* Bad options and a run without a connection are refused, with a sentence. */
static void test_refusals(void **state) {
    (void)state;
    cl_pipeline_t *p = NULL;
    char err[256] = "";
    cl_pipeline_opts_t o = {.on_request = on_request};
    assert_int_equal(cl_pipeline_new(&o, &p, err, sizeof err), CL_EINVAL);
    assert_null(p);
    assert_string_equal(err, "a request runner needs on_request and on_reply");
    o.on_reply = on_reply;
    o.window = CL_PIPELINE_MAX_WINDOW + 1;
    assert_int_equal(cl_pipeline_new(&o, &p, err, sizeof err), CL_EINVAL);
    assert_null(p);
    o.window = 0;
    assert_int_equal(cl_pipeline_new(&o, &p, err, sizeof err), CL_OK);
    assert_int_equal(cl_pipeline_run(p, NULL, 3), CL_EINVAL);
    assert_string_equal(cl_pipeline_error(p), "no connection to send the requests on");
    cl_pipeline_stats_t st;
    cl_pipeline_stats(p, &st);
    assert_int_equal(st.window, CL_PIPELINE_DEFAULT_WINDOW);
    assert_int_equal(st.sent, 0);
    cl_pipeline_free(p);
}

/* Pushes that arrive while cl_client_call waits for its reply are kept for
 * cl_client_wait_push, in order, the newest 64 of them; cl_client_wait_push leaves replies
 * queued for cl_client_recv. */
static void test_pushes_kept(void **state) {
    (void)state;
    srv_t s;
    srv_start(&s, script_pushes, 2, 100);
    cl_client_t *c = connect_to(&s);
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    ProtobufCMessage *pong = NULL;
    assert_int_equal(cl_client_call(c, CL_MSG_PING, &ping.base, CL_MSG_PONG, &pong), CL_OK);
    cl_msg_free(pong);
    cl_reply_t r;
    for (int64_t want = 100 - 64 + 1; want <= 100; want++) {
        assert_int_equal(cl_client_wait_push(c, &r, 1000), CL_OK);
        assert_int_equal(r.req_id, 0);
        assert_int_equal(r.type, CL_MSG_SYNC_NOTICE);
        assert_non_null(r.msg);
        assert_int_equal(((const Closeloop__SyncNotice *)r.msg)->company_id, want);
        cl_reply_clear(&r);
    }
    assert_int_equal(cl_client_wait_push(c, &r, 100), CL_ETIMEDOUT);
    /* A reply that comes after pushes stays queued while pushes are waited for. */
    ping.client_time_ns = 1;
    uint32_t id = cl_client_next_id(c);
    assert_int_equal(cl_client_send(c, id, CL_MSG_PING, &ping.base), CL_OK);
    for (int64_t want = 200 - 64 + 1; want <= 200; want++) { /* again the newest 64 */
        assert_int_equal(cl_client_wait_push(c, &r, 1000), CL_OK);
        assert_int_equal(((const Closeloop__SyncNotice *)r.msg)->company_id, want);
        cl_reply_clear(&r);
    }
    assert_int_equal(cl_client_recv(c, &r, 1000), CL_OK);
    assert_int_equal(r.req_id, id);
    assert_int_equal(r.type, CL_MSG_PONG);
    cl_reply_clear(&r);
    cl_client_close(c);
    srv_stop(&s);
}

/* ---- setup -------------------------------------------------------------------------- */

static int group_setup(void **state) {
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    const char *src = getenv("CL_SOURCE_DIR");
    const char *tmp = getenv("CL_TEST_TMP");
    char cmd[3 * PATH_MAX];
    if (!src) src = ".";
    snprintf(g.dir, sizeof g.dir, "%s/pipeline-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (tmp && *tmp) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", tmp);
        if (system(cmd) != 0) return -1;
    }
    if (!mkdtemp(g.dir)) return -1;
    snprintf(cmd, sizeof cmd, "'%s/deploy/gen-certs.sh' '%s' >/dev/null 2>&1", src, g.dir);
    if (system(cmd) != 0) return -1;
    snprintf(g.ca, sizeof g.ca, "%s/ca.crt", g.dir);
    snprintf(g.crt, sizeof g.crt, "%s/server.crt", g.dir);
    snprintf(g.key, sizeof g.key, "%s/server.key", g.dir);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.dir);
    return g.dir[0] && system(cmd) != 0 ? -1 : 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order),       cmocka_unit_test(test_drop_mid_window),
        cmocka_unit_test(test_busy_halves_window), cmocka_unit_test(test_busy_forever),
        cmocka_unit_test(test_error_replies),      cmocka_unit_test(test_reconnects_run_out),
        cmocka_unit_test(test_reconnect_refused),  cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_pushes_kept),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
