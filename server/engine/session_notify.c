/* session_notify.c - the LISTEN connection of session_notify.h.
 *
 * One libpq connection, non-blocking, watched with a uv_poll handle (re-made whenever
 * the socket changes, freed in its close callback) and a timer for the connect timeout
 * and the reconnect backoff. States: connecting (PQconnectPoll), listening (LISTEN sent;
 * notifications read as they come), backoff. The struct frees itself after stop, once
 * both handles have closed. Loop thread only. */
#include "session_notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "password.h"

#define NOTIFY_CHANNEL     "closeloop_sessions"
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define CONNECT_TIMEOUT_MS 10000

typedef enum { LN_CONNECTING, LN_LISTENING, LN_BACKOFF, LN_STOPPED } ln_state_t;

struct cl_session_notify {
    uv_loop_t *loop;
    cl_server_t *srv;
    char *conninfo;
    PGconn *pg;
    uv_poll_t *poll; /* NULL when not watching */
    int poll_fd;
    int poll_events;
    uv_timer_t timer;
    unsigned backoff_ms;
    ln_state_t state;
    bool ever_up;
    unsigned handles_open; /* timer + poll, for the last close to free the struct */
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static void ln_connect(cl_session_notify_t *n);

static void ln_maybe_free(cl_session_notify_t *n) {
    if (n->state == LN_STOPPED && n->handles_open == 0) {
        free(n->conninfo);
        free(n);
    }
}

static void on_handle_closed(uv_handle_t *h) {
    cl_session_notify_t *n = h->data;
    if (h != (uv_handle_t *)&n->timer) free(h);
    n->handles_open--;
    ln_maybe_free(n);
}

static void ln_unwatch(cl_session_notify_t *n) {
    if (!n->poll) return;
    n->poll->data = n;
    uv_close((uv_handle_t *)n->poll, on_handle_closed);
    n->poll = NULL;
    n->poll_fd = -1;
    n->poll_events = 0;
}

static void ln_lost(cl_session_notify_t *n, const char *why) {
    if (n->ever_up && n->state == LN_LISTENING) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", n->pg ? PQerrorMessage(n->pg) : "");
        for (char *p = detail; *p; p++)
            if (*p == '\n' || *p == '"') *p = ' ';
        cl_log_warn("session_notify_lost", "reason=\"%s\" detail=\"%s\"", why, detail);
    }
    ln_unwatch(n); /* before PQfinish closes the fd */
    if (n->pg) PQfinish(n->pg);
    n->pg = NULL;
    n->state = LN_BACKOFF;
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (n->backoff_ms > BACKOFF_MAX_MS) n->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&n->timer, on_timer, n->backoff_ms, 0);
}

static void ln_watch(cl_session_notify_t *n, int events) {
    int fd = PQsocket(n->pg);
    if (fd < 0) {
        ln_lost(n, "no socket");
        return;
    }
    if (n->poll && n->poll_fd != fd) ln_unwatch(n);
    int made = cl_pg_watch(n->loop, &n->poll, &n->poll_fd, &n->poll_events, fd, events, on_poll, n);
    if (made < 0) ln_lost(n, "cannot watch the socket");
    if (made > 0) n->handles_open++;
}

/* "session <hex>" or "user <id>". */
static void ln_apply(cl_session_notify_t *n, const char *payload) {
    if (!strncmp(payload, "session ", 8) && strlen(payload + 8) == 2 * CL_TOKEN_HASH_LEN) {
        uint8_t hash[CL_TOKEN_HASH_LEN];
        for (size_t i = 0; i < CL_TOKEN_HASH_LEN; i++) {
            unsigned v;
            if (sscanf(payload + 8 + 2 * i, "%2x", &v) != 1) return;
            hash[i] = (uint8_t)v;
        }
        cl_server_sessions_stale(n->srv, hash, 0);
    } else if (!strncmp(payload, "user ", 5)) {
        long long id = strtoll(payload + 5, NULL, 10);
        if (id > 0) cl_server_sessions_stale(n->srv, NULL, (int64_t)id);
    }
}

/* Reads whatever arrived: the LISTEN's result, then notifications. */
static void ln_read(cl_session_notify_t *n) {
    if (PQconsumeInput(n->pg) != 1) {
        ln_lost(n, "the connection was lost");
        return;
    }
    while (!PQisBusy(n->pg)) {
        PGresult *r = PQgetResult(n->pg);
        if (!r) break;
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            PQclear(r);
            ln_lost(n, "LISTEN failed");
            return;
        }
        PQclear(r);
    }
    PGnotify *nf;
    while ((nf = PQnotifies(n->pg))) {
        ln_apply(n, nf->extra);
        PQfreemem(nf);
    }
}

static void ln_listen(cl_session_notify_t *n) {
    uv_timer_stop(&n->timer);
    if (PQsetnonblocking(n->pg, 1) != 0 || PQsendQuery(n->pg, "LISTEN " NOTIFY_CHANNEL) != 1) {
        ln_lost(n, "cannot send LISTEN");
        return;
    }
    int f = PQflush(n->pg);
    if (f < 0) {
        ln_lost(n, "cannot send LISTEN");
        return;
    }
    n->state = LN_LISTENING;
    n->backoff_ms = 0;
    cl_log_info("session_notify_listening", "channel=%s", NOTIFY_CHANNEL);
    /* Whatever changed while nobody listened: every open session is read again. */
    if (n->ever_up) cl_server_sessions_stale(n->srv, NULL, 0);
    n->ever_up = true;
    ln_watch(n, f ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void ln_connect_poll(cl_session_notify_t *n) {
    switch (PQconnectPoll(n->pg)) {
    case PGRES_POLLING_READING: ln_watch(n, UV_READABLE); break;
    case PGRES_POLLING_WRITING: ln_watch(n, UV_WRITABLE); break;
    case PGRES_POLLING_OK: ln_listen(n); break;
    default: ln_lost(n, "cannot connect"); break;
    }
}

static void on_poll(uv_poll_t *h, int status, int events) {
    cl_session_notify_t *n = h->data;
    if (n->state == LN_CONNECTING) {
        ln_connect_poll(n);
        return;
    }
    if (n->state != LN_LISTENING) return;
    if (status < 0) {
        ln_lost(n, "socket error");
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(n->pg);
        if (f < 0) {
            ln_lost(n, "cannot send");
            return;
        }
        if (f == 0) ln_watch(n, UV_READABLE);
        if (n->state != LN_LISTENING) return;
    }
    if (events & UV_READABLE) ln_read(n);
}

static void ln_connect(cl_session_notify_t *n) {
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {n->conninfo, "closeloopd-notify", NULL};
    n->pg = PQconnectStartParams(keys, vals, 1);
    n->state = LN_CONNECTING;
    uv_timer_start(&n->timer, on_timer, CONNECT_TIMEOUT_MS, 0);
    if (!n->pg || PQstatus(n->pg) == CONNECTION_BAD) {
        ln_lost(n, "cannot start a connection");
        return;
    }
    ln_connect_poll(n);
}

static void on_timer(uv_timer_t *t) {
    cl_session_notify_t *n = t->data;
    if (n->state == LN_BACKOFF)
        ln_connect(n);
    else if (n->state == LN_CONNECTING)
        ln_lost(n, "connecting took too long");
}

cl_session_notify_t *cl_session_notify_start(uv_loop_t *loop, const char *conninfo,
                                             cl_server_t *srv) {
    cl_session_notify_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->conninfo = strdup(conninfo);
    if (!n->conninfo) {
        free(n);
        return NULL;
    }
    n->loop = loop;
    n->srv = srv;
    n->poll_fd = -1;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    n->handles_open = 1;
    ln_connect(n);
    return n;
}

void cl_session_notify_stop(cl_session_notify_t *n) {
    if (!n || n->state == LN_STOPPED) return;
    ln_unwatch(n);
    if (n->pg) PQfinish(n->pg);
    n->pg = NULL;
    n->state = LN_STOPPED;
    uv_close((uv_handle_t *)&n->timer, on_handle_closed);
}
