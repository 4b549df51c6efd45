/* change_notify.c - the pushes of change_notify.h, made from a pg_listen connection on
 * closeloop_changes, and the SyncFollowRequest handler that marks a connection as
 * following.
 *
 * A timer sends the pushes coalesced meanwhile. The per-connection coalescing state lives
 * in the server's connection (cl_push_state_t: topic = the company of the owed notice, 0
 * for several); the server forgets it when the connection closes. Stop stops the
 * listener (no callback after) and the struct frees itself once the push timer has
 * closed. Loop thread only. */
#include "change_notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "log.h"
#include "msg.h"
#include "pg_listen.h"
#include "session.h"

#define COMPANIES_MAX 64 /* companies read from one payload; more count as '*' */

struct cl_change_notify {
    uv_loop_t *loop;
    cl_server_t *srv;
    cl_pg_listen_t *listen;
    uv_timer_t push_timer; /* sends the coalesced pushes once due */
    bool stopped;
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

static void on_push_timer(uv_timer_t *t);

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
    if (p.next_due && !n->stopped)
        uv_timer_start(&n->push_timer, on_push_timer, p.next_due - p.now, 0);
}

/* "*" or "3" or "3,7,12". */
static void cn_notified(void *ctx, const char *payload) {
    cl_change_notify_t *n = ctx;
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

/* ------------------------------------------------------------------ the listener */

/* Whatever changed while nobody listened: every follower pulls again. */
static void cn_listening(void *ctx, bool again) {
    if (!again) return;
    cn_change_t all = {.all = true};
    cn_push(ctx, &all);
}

static const cl_pg_listen_ops_t change_listen_ops = {
    .channel = "closeloop_changes",
    .application_name = "closeloopd-changes",
    .log_name = "change_notify",
    .on_listening = cn_listening,
    .on_notify = cn_notified,
};

static void on_push_timer(uv_timer_t *t) {
    cn_push(t->data, NULL);
}

static void on_push_timer_closed(uv_handle_t *h) {
    free(h->data);
}

cl_change_notify_t *cl_change_notify_start(uv_loop_t *loop, const char *conninfo,
                                           cl_server_t *srv) {
    cl_change_notify_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->loop = loop;
    n->srv = srv;
    uv_timer_init(loop, &n->push_timer);
    n->push_timer.data = n;
    n->listen = cl_pg_listen_start(loop, conninfo, &change_listen_ops, n);
    if (!n->listen) {
        n->stopped = true;
        uv_close((uv_handle_t *)&n->push_timer, on_push_timer_closed);
        return NULL;
    }
    return n;
}

void cl_change_notify_stop(cl_change_notify_t *n) {
    if (!n || n->stopped) return;
    n->stopped = true;
    cl_pg_listen_stop(n->listen);
    uv_close((uv_handle_t *)&n->push_timer, on_push_timer_closed);
}

/* ------------------------------------------------------------------ SyncFollowRequest */

void cl_sync_follow(cl_req_t *req) {
    const Closeloop__SyncFollowRequest *m = (const Closeloop__SyncFollowRequest *)req->msg;
    cl_req_set_following(req, m->on);
    Closeloop__SyncFollowReply r = CLOSELOOP__SYNC_FOLLOW_REPLY__INIT;
    r.on = m->on;
    cl_req_reply(req, CL_MSG_SYNC_FOLLOW, &r.base);
}
