/* pg_listen.c - the LISTEN connection of pg_listen.h.
 *
 * One libpq connection, non-blocking, watched with a uv_poll handle (re-made whenever the
 * socket changes, freed in its close callback) and a timer for the connect timeout and
 * the reconnect backoff. States: connecting (PQconnectPoll), listening (LISTEN sent;
 * notifications read as they come), backoff, stopped. The struct frees itself after
 * stop, once both handles have closed. Loop thread only. */
#include "pg_listen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"

#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define CONNECT_TIMEOUT_MS 10000

typedef enum { PL_CONNECTING, PL_LISTENING, PL_BACKOFF, PL_STOPPED } pl_state_t;

struct cl_pg_listen {
    uv_loop_t *loop;
    const cl_pg_listen_ops_t *ops;
    void *ctx;
    char *conninfo;
    PGconn *pg;
    uv_poll_t *poll; /* NULL when not watching */
    int poll_fd;
    int poll_events;
    uv_timer_t timer; /* connect timeout, reconnect backoff */
    unsigned backoff_ms;
    pl_state_t state;
    bool ever_up;
    bool acked;            /* the LISTEN of this connection has answered */
    bool again;            /* ... and it follows a lost connection */
    unsigned handles_open; /* timer + poll, for the last close to free the struct */
    char ev_listening[64], ev_lost[64];
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);

static void pl_maybe_free(cl_pg_listen_t *l) {
    if (l->state == PL_STOPPED && l->handles_open == 0) {
        free(l->conninfo);
        free(l);
    }
}

static void on_handle_closed(uv_handle_t *h) {
    cl_pg_listen_t *l = h->data;
    if (h != (uv_handle_t *)&l->timer) free(h);
    l->handles_open--;
    pl_maybe_free(l);
}

static void pl_unwatch(cl_pg_listen_t *l) {
    if (!l->poll) return;
    l->poll->data = l;
    uv_close((uv_handle_t *)l->poll, on_handle_closed);
    l->poll = NULL;
    l->poll_fd = -1;
    l->poll_events = 0;
}

static void pl_lost(cl_pg_listen_t *l, const char *why) {
    if (l->state == PL_LISTENING) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", l->pg ? PQerrorMessage(l->pg) : "");
        for (char *p = detail; *p; p++)
            if (*p == '\n' || *p == '"') *p = ' ';
        cl_log_warn(l->ev_lost, "reason=\"%s\" detail=\"%s\"", why, detail);
    }
    pl_unwatch(l); /* before PQfinish closes the fd */
    if (l->pg) PQfinish(l->pg);
    l->pg = NULL;
    l->state = PL_BACKOFF;
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS) l->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&l->timer, on_timer, l->backoff_ms, 0);
}

static void pl_watch(cl_pg_listen_t *l, int events) {
    int fd = PQsocket(l->pg);
    if (fd < 0) {
        pl_lost(l, "no socket");
        return;
    }
    if (l->poll && l->poll_fd != fd) pl_unwatch(l);
    int made = cl_pg_watch(l->loop, &l->poll, &l->poll_fd, &l->poll_events, fd, events, on_poll, l);
    if (made < 0) pl_lost(l, "cannot watch the socket");
    if (made > 0) l->handles_open++;
}

/* Reads whatever arrived: the LISTEN's result, then notifications. */
static void pl_read(cl_pg_listen_t *l) {
    if (PQconsumeInput(l->pg) != 1) {
        pl_lost(l, "the connection was lost");
        return;
    }
    while (!PQisBusy(l->pg)) {
        PGresult *r = PQgetResult(l->pg);
        if (!r) break;
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            pl_lost(l, "LISTEN failed");
            return;
        }
        if (!l->acked) {
            /* Listening from now on: what the owner reads to catch up cannot miss anything
             * committed after this point. */
            l->acked = true;
            cl_log_info(l->ev_listening, "channel=%s", l->ops->channel);
            l->ops->on_listening(l->ctx, l->again);
            if (l->state != PL_LISTENING) return;
        }
    }
    PGnotify *nf;
    while ((nf = PQnotifies(l->pg))) {
        l->ops->on_notify(l->ctx, nf->extra);
        PQfreemem(nf);
    }
    if (l->ops->on_drained) l->ops->on_drained(l->ctx);
}

static void pl_listen(cl_pg_listen_t *l) {
    uv_timer_stop(&l->timer);
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN %s", l->ops->channel);
    if (PQsetnonblocking(l->pg, 1) != 0 || PQsendQuery(l->pg, sql) != 1) {
        pl_lost(l, "cannot send LISTEN");
        return;
    }
    int f = PQflush(l->pg);
    if (f < 0) {
        pl_lost(l, "cannot send LISTEN");
        return;
    }
    l->state = PL_LISTENING;
    l->backoff_ms = 0;
    l->acked = false;
    l->again = l->ever_up;
    l->ever_up = true;
    pl_watch(l, f ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void pl_connect_poll(cl_pg_listen_t *l) {
    switch (PQconnectPoll(l->pg)) {
    case PGRES_POLLING_READING: pl_watch(l, UV_READABLE); break;
    case PGRES_POLLING_WRITING: pl_watch(l, UV_WRITABLE); break;
    case PGRES_POLLING_OK: pl_listen(l); break;
    default: pl_lost(l, "cannot connect"); break;
    }
}

static void on_poll(uv_poll_t *h, int status, int events) {
    cl_pg_listen_t *l = h->data;
    if (l->state == PL_CONNECTING) {
        pl_connect_poll(l);
        return;
    }
    if (l->state != PL_LISTENING) return;
    if (status < 0) {
        pl_lost(l, "socket error");
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(l->pg);
        if (f < 0) {
            pl_lost(l, "cannot send");
            return;
        }
        if (f == 0) pl_watch(l, UV_READABLE);
        if (l->state != PL_LISTENING) return;
    }
    if (events & UV_READABLE) pl_read(l);
}

static void pl_connect(cl_pg_listen_t *l) {
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {l->conninfo, l->ops->application_name, NULL};
    l->pg = PQconnectStartParams(keys, vals, 1);
    l->state = PL_CONNECTING;
    uv_timer_start(&l->timer, on_timer, CONNECT_TIMEOUT_MS, 0);
    if (!l->pg || PQstatus(l->pg) == CONNECTION_BAD) {
        pl_lost(l, "cannot start a connection");
        return;
    }
    pl_connect_poll(l);
}

static void on_timer(uv_timer_t *t) {
    cl_pg_listen_t *l = t->data;
    if (l->state == PL_BACKOFF)
        pl_connect(l);
    else if (l->state == PL_CONNECTING)
        pl_lost(l, "connecting took too long");
}

cl_pg_listen_t *cl_pg_listen_start(uv_loop_t *loop, const char *conninfo,
                                   const cl_pg_listen_ops_t *ops, void *ctx) {
    cl_pg_listen_t *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->conninfo = strdup(conninfo);
    if (!l->conninfo) {
        free(l);
        return NULL;
    }
    l->loop = loop;
    l->ops = ops;
    l->ctx = ctx;
    l->poll_fd = -1;
    snprintf(l->ev_listening, sizeof l->ev_listening, "%s_listening", ops->log_name);
    snprintf(l->ev_lost, sizeof l->ev_lost, "%s_lost", ops->log_name);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->handles_open = 1;
    pl_connect(l);
    return l;
}

void cl_pg_listen_stop(cl_pg_listen_t *l) {
    if (!l || l->state == PL_STOPPED) return;
    pl_unwatch(l);
    if (l->pg) PQfinish(l->pg);
    l->pg = NULL;
    l->state = PL_STOPPED;
    uv_close((uv_handle_t *)&l->timer, on_handle_closed);
}
