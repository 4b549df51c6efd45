/* change_notify.c - the LISTEN connection of change_notify.h, the pushes it makes, and the
 * SyncFollowRequest handler that marks a connection as following.
 *
 * One libpq connection, non-blocking, watched with a uv_poll handle (re-made whenever the
 * socket changes, freed in its close callback), a timer for the connect timeout and the
 * reconnect backoff, and a second timer that sends the pushes coalesced meanwhile. States:
 * connecting (PQconnectPoll), listening (LISTEN sent; notifications read as they come),
 * backoff. The per-connection coalescing state lives in the server's connection
 * (cl_push_state_t: topic = the company of the owed notice, 0 for several); the server
 * forgets it when the connection closes. The struct frees itself after stop, once its
 * three handles have closed. Loop thread only. */
#include "change_notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db.h"
#include "dispatch.h"
#include "log.h"
#include "msg.h"
#include "session.h"

#define NOTIFY_CHANNEL     "closeloop_changes"
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define CONNECT_TIMEOUT_MS 10000
#define COMPANIES_MAX      64 /* companies read from one payload; more count as '*' */

typedef enum { CN_CONNECTING, CN_LISTENING, CN_BACKOFF, CN_STOPPED } cn_state_t;

struct cl_change_notify {
    uv_loop_t *loop;
    cl_server_t *srv;
    char *conninfo;
    PGconn *pg;
    uv_poll_t *poll; /* NULL when not watching */
    int poll_fd;
    int poll_events;
    uv_timer_t timer;      /* connect timeout, reconnect backoff */
    uv_timer_t push_timer; /* sends the coalesced pushes once due */
    unsigned backoff_ms;
    cn_state_t state;
    bool ever_up;
    unsigned handles_open; /* timers + poll, for the last close to free the struct */
};

/* One notification: the companies it names (all: '*', or too many to list). */
typedef struct cn_change {
    bool all;
    size_t n;
    int64_t companies[COMPANIES_MAX];
} cn_change_t;

/* What a pass over the followers does. */
typedef struct cn_pass {
    cl_change_notify_t *n;
    const cn_change_t *change; /* NULL: the owed pushes only (the push timer) */
    uint64_t now;
    uint64_t next_due; /* the earliest time an owed push may go, 0: none owed */
} cn_pass_t;

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ pushing */

/* Whether a session may see something of one of the companies the change names. HQ roles
 * see every company; a contractor works for every company, so it is told of every change
 * (the feed filters what it may see); a user without a company likewise. */
static bool session_sees(const cl_session_t *s, const cn_change_t *ch) {
    if (ch->all || s->role == CL_ROLE_HQ_ADMIN || s->role == CL_ROLE_HQ_ANALYST ||
        s->role == CL_ROLE_CONTRACTOR || s->company_id <= 0)
        return true;
    for (size_t i = 0; i < ch->n; i++)
        if (ch->companies[i] == s->company_id) return true;
    return false;
}

/* The company a change means to this session: its own company when it names it, else
 * (HQ only: they see every company) the only company it names, else 0. A contractor or a
 * user of no company is told of every change, so naming another company would tell it
 * which companies are at work, and when. */
static int64_t change_company(const cl_session_t *s, const cn_change_t *ch) {
    if (ch->all) return 0;
    bool hq = s->role == CL_ROLE_HQ_ADMIN || s->role == CL_ROLE_HQ_ANALYST;
    if (hq && ch->n == 1) return ch->companies[0];
    for (size_t i = 0; i < ch->n; i++)
        if (s->company_id > 0 && ch->companies[i] == s->company_id) return s->company_id;
    return 0;
}

static void push_now(cl_conn_t *c, cl_push_state_t *ps, int64_t company, uint64_t now) {
    Closeloop__SyncNotice m = CLOSELOOP__SYNC_NOTICE__INIT;
    m.at_ms = wall_ms();
    m.company_id = company;
    int rc = cl_conn_push(c, CL_MSG_SYNC_NOTICE, &m.base);
    if (rc != CL_OK && rc != CL_ECLOSED)
        cl_log_debug("sync_notice_skipped", "conn=%llu reason=\"%s\"",
                     (unsigned long long)cl_conn_id(c), cl_strerror(rc));
    ps->last_ms = now;
    ps->pending = false;
}

static void follower_visit(cl_conn_t *c, const cl_session_t *s, cl_push_state_t *ps, void *arg) {
    cn_pass_t *p = arg;
    if (cl_session_expired(s)) return; /* logged out at its next request */
    if (p->change) {
        if (!session_sees(s, p->change)) return;
        int64_t company = change_company(s, p->change);
        if (ps->pending) {
            if (ps->topic != company) ps->topic = 0; /* folded: several companies */
        } else {
            ps->pending = true;
            ps->topic = company;
        }
    }
    if (!ps->pending) return;
    uint64_t due = ps->last_ms ? ps->last_ms + CL_CHANGE_PUSH_GAP_MS : 0;
    if (due <= p->now)
        push_now(c, ps, ps->topic, p->now);
    else if (!p->next_due || due < p->next_due)
        p->next_due = due;
}

/* Pushes change (NULL: only what is owed) to the followers, and arms the push timer for
 * the pushes that must wait for their gap. */
static void cn_push(cl_change_notify_t *n, const cn_change_t *change) {
    cn_pass_t p = {.n = n, .change = change, .now = uv_now(n->loop)};
    cl_server_each_follower(n->srv, follower_visit, &p);
    if (p.next_due && n->state != CN_STOPPED)
        uv_timer_start(&n->push_timer, on_timer, p.next_due - p.now, 0);
}

/* "*" or "3" or "3,7,12". */
static void cn_apply(cl_change_notify_t *n, const char *payload) {
    cn_change_t ch = {0};
    if (!strcmp(payload, "*")) {
        ch.all = true;
    } else {
        const char *p = payload;
        while (*p && !ch.all) {
            char *end;
            long long id = strtoll(p, &end, 10);
            if (end == p || id <= 0 || (*end && *end != ',')) {
                ch.all = true; /* not ours to judge: tell everybody */
                break;
            }
            if (ch.n == COMPANIES_MAX)
                ch.all = true;
            else
                ch.companies[ch.n++] = (int64_t)id;
            p = *end ? end + 1 : end;
        }
        if (ch.n == 0) ch.all = true;
    }
    cn_push(n, &ch);
}

/* ------------------------------------------------------------------ the connection */

static void cn_maybe_free(cl_change_notify_t *n) {
    if (n->state == CN_STOPPED && n->handles_open == 0) {
        free(n->conninfo);
        free(n);
    }
}

static void on_handle_closed(uv_handle_t *h) {
    cl_change_notify_t *n = h->data;
    if (h != (uv_handle_t *)&n->timer && h != (uv_handle_t *)&n->push_timer) free(h);
    n->handles_open--;
    cn_maybe_free(n);
}

static void cn_unwatch(cl_change_notify_t *n) {
    if (!n->poll) return;
    n->poll->data = n;
    uv_close((uv_handle_t *)n->poll, on_handle_closed);
    n->poll = NULL;
    n->poll_fd = -1;
    n->poll_events = 0;
}

static void cn_lost(cl_change_notify_t *n, const char *why) {
    if (n->ever_up && n->state == CN_LISTENING) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", n->pg ? PQerrorMessage(n->pg) : "");
        for (char *p = detail; *p; p++)
            if (*p == '\n' || *p == '"') *p = ' ';
        cl_log_warn("change_notify_lost", "reason=\"%s\" detail=\"%s\"", why, detail);
    }
    cn_unwatch(n); /* before PQfinish closes the fd */
    if (n->pg) PQfinish(n->pg);
    n->pg = NULL;
    n->state = CN_BACKOFF;
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (n->backoff_ms > BACKOFF_MAX_MS) n->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&n->timer, on_timer, n->backoff_ms, 0);
}

static void cn_watch(cl_change_notify_t *n, int events) {
    int fd = PQsocket(n->pg);
    if (fd < 0) {
        cn_lost(n, "no socket");
        return;
    }
    if (n->poll && n->poll_fd != fd) cn_unwatch(n);
    int made = cl_pg_watch(n->loop, &n->poll, &n->poll_fd, &n->poll_events, fd, events, on_poll, n);
    if (made < 0) cn_lost(n, "cannot watch the socket");
    if (made > 0) n->handles_open++;
}

/* Reads whatever arrived: the LISTEN's result, then notifications. */
static void cn_read(cl_change_notify_t *n) {
    if (PQconsumeInput(n->pg) != 1) {
        cn_lost(n, "the connection was lost");
        return;
    }
    while (!PQisBusy(n->pg)) {
        PGresult *r = PQgetResult(n->pg);
        if (!r) break;
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            PQclear(r);
            cn_lost(n, "LISTEN failed");
            return;
        }
        PQclear(r);
    }
    PGnotify *nf;
    while ((nf = PQnotifies(n->pg))) {
        cn_apply(n, nf->extra);
        PQfreemem(nf);
    }
}

static void cn_listen(cl_change_notify_t *n) {
    uv_timer_stop(&n->timer);
    if (PQsetnonblocking(n->pg, 1) != 0 || PQsendQuery(n->pg, "LISTEN " NOTIFY_CHANNEL) != 1) {
        cn_lost(n, "cannot send LISTEN");
        return;
    }
    int f = PQflush(n->pg);
    if (f < 0) {
        cn_lost(n, "cannot send LISTEN");
        return;
    }
    n->state = CN_LISTENING;
    n->backoff_ms = 0;
    cl_log_info("change_notify_listening", "channel=%s", NOTIFY_CHANNEL);
    /* Whatever changed while nobody listened: every follower pulls again. */
    if (n->ever_up) {
        cn_change_t all = {.all = true};
        cn_push(n, &all);
    }
    n->ever_up = true;
    cn_watch(n, f ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void cn_connect_poll(cl_change_notify_t *n) {
    switch (PQconnectPoll(n->pg)) {
    case PGRES_POLLING_READING: cn_watch(n, UV_READABLE); break;
    case PGRES_POLLING_WRITING: cn_watch(n, UV_WRITABLE); break;
    case PGRES_POLLING_OK: cn_listen(n); break;
    default: cn_lost(n, "cannot connect"); break;
    }
}

static void on_poll(uv_poll_t *h, int status, int events) {
    cl_change_notify_t *n = h->data;
    if (n->state == CN_CONNECTING) {
        cn_connect_poll(n);
        return;
    }
    if (n->state != CN_LISTENING) return;
    if (status < 0) {
        cn_lost(n, "socket error");
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(n->pg);
        if (f < 0) {
            cn_lost(n, "cannot send");
            return;
        }
        if (f == 0) cn_watch(n, UV_READABLE);
        if (n->state != CN_LISTENING) return;
    }
    if (events & UV_READABLE) cn_read(n);
}

static void cn_connect(cl_change_notify_t *n) {
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {n->conninfo, "closeloopd-changes", NULL};
    n->pg = PQconnectStartParams(keys, vals, 1);
    n->state = CN_CONNECTING;
    uv_timer_start(&n->timer, on_timer, CONNECT_TIMEOUT_MS, 0);
    if (!n->pg || PQstatus(n->pg) == CONNECTION_BAD) {
        cn_lost(n, "cannot start a connection");
        return;
    }
    cn_connect_poll(n);
}

static void on_timer(uv_timer_t *t) {
    cl_change_notify_t *n = t->data;
    if (t == &n->push_timer)
        cn_push(n, NULL);
    else if (n->state == CN_BACKOFF)
        cn_connect(n);
    else if (n->state == CN_CONNECTING)
        cn_lost(n, "connecting took too long");
}

cl_change_notify_t *cl_change_notify_start(uv_loop_t *loop, const char *conninfo,
                                           cl_server_t *srv) {
    cl_change_notify_t *n = calloc(1, sizeof *n);
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
    uv_timer_init(loop, &n->push_timer);
    n->push_timer.data = n;
    n->handles_open = 2;
    cn_connect(n);
    return n;
}

void cl_change_notify_stop(cl_change_notify_t *n) {
    if (!n || n->state == CN_STOPPED) return;
    cn_unwatch(n);
    if (n->pg) PQfinish(n->pg);
    n->pg = NULL;
    n->state = CN_STOPPED;
    uv_close((uv_handle_t *)&n->timer, on_handle_closed);
    uv_close((uv_handle_t *)&n->push_timer, on_handle_closed);
}

/* ------------------------------------------------------------------ SyncFollowRequest */

void cl_sync_follow(cl_req_t *req) {
    const Closeloop__SyncFollowRequest *m = (const Closeloop__SyncFollowRequest *)req->msg;
    cl_req_set_following(req, m->on);
    Closeloop__SyncFollowReply r = CLOSELOOP__SYNC_FOLLOW_REPLY__INIT;
    r.on = m->on;
    cl_req_reply(req, CL_MSG_SYNC_FOLLOW, &r.base);
}
