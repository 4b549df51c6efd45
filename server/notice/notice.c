/* notice.c - the notices of notice.h: the LISTEN connection, the reads of notified
 * notices, the pushes to watching connections, and the WatchRequest handler.
 *
 * The listener owns one libpq connection (non-blocking, watched by a uv_poll handle that
 * is re-made when the socket changes and freed in its close callback), one timer (the
 * connect timeout and the reconnect backoff) and the gap timer (a Notice of id 0 with
 * gap_before to connections whose pushes were dropped, once they have room). States: connecting,
 * listening, backoff, stopped. Notified ids go to `pending` (a growing array, capped); one
 * notice_read at a time takes them (at most READ_IDS) to the pool, and its callback pushes each row
 * to the watchers, then starts the next read. The per-connection state is the server's (the watch
 * cl_push_state_t: pending = a push was dropped, the next one says gap_before). The struct frees
 * itself after stop once its handles have closed and no read is in flight. Loop thread only. */
#include "notice.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "session.h"

#define NOTICE_CHANNEL     "closeloop_notices"
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define CONNECT_TIMEOUT_MS 10000
#define READ_IDS           1000 /* ids of one notice_read (its LIMIT) */
#define GAP_RETRY_MS       200  /* how often a connection owed a gap_before is tried */

typedef enum { NP_CONNECTING, NP_LISTENING, NP_BACKOFF, NP_STOPPED } np_state_t;

struct cl_notice_push {
    uv_loop_t *loop;
    cl_server_t *srv;
    cl_db_t *db;
    char *conninfo;
    PGconn *pg;
    uv_poll_t *poll; /* NULL when not watching the socket */
    int poll_fd;
    int poll_events;
    uv_timer_t timer;     /* connect timeout, reconnect backoff */
    uv_timer_t gap_timer; /* tells connections with dropped pushes, once they have room */
    unsigned backoff_ms;
    np_state_t state;
    bool ever_up;
    unsigned handles_open; /* timers + poll, for the last close to free the struct */
    int64_t *pending;      /* notified ids not yet read */
    size_t npending, cap;
    int64_t newest;   /* the newest notice read, 0: none yet */
    bool catch_up;    /* the connection came back: read the notices after newest too */
    bool reading;     /* a notice_read is in flight */
    uint64_t dropped; /* notified ids past CL_NOTICE_PENDING_MAX, for the log */
};

/* One notice as notice_read gives it. */
typedef struct np_notice {
    int64_t id, company, project, user, contractor;
    uint64_t at_ms;
    int kind;
    const char *subject, *body;
    const char *project_contractors; /* "{3,7}" */
} np_notice_t;

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static void np_read_next(cl_notice_push_t *n);

/* ------------------------------------------------------------------ who sees what */

/* Whether the SQL array literal "{1,2,3}" lists id. */
static bool id_listed(const char *lit, int64_t id) {
    if (!lit || id <= 0) return false;
    const char *p = lit;
    while (*p) {
        if (*p < '0' || *p > '9') {
            p++;
            continue;
        }
        char *end;
        long long v = strtoll(p, &end, 10);
        if (v == id) return true;
        p = end;
    }
    return false;
}

static bool role_hq(cl_role_t r) {
    return r == CL_ROLE_HQ_ADMIN || r == CL_ROLE_HQ_ANALYST || r == CL_ROLE_HOTLINE;
}

/* notice.sql's cl_notice_visible, in C, with cl_visible_project's rule for a project. */
static bool notice_visible(const cl_session_t *s, const np_notice_t *n) {
    if (n->user) return s->user_id == n->user;
    if (n->contractor) return s->role == CL_ROLE_CONTRACTOR && s->contractor_id == n->contractor;
    bool company_staff =
        s->role == CL_ROLE_CR || s->role == CL_ROLE_DEPT || s->role == CL_ROLE_WARRANTY;
    if (n->project) {
        if (role_hq(s->role)) return true;
        if (company_staff) return s->company_id > 0 && s->company_id == n->company;
        if (s->role == CL_ROLE_CONTRACTOR)
            return id_listed(n->project_contractors, s->contractor_id);
        if (s->role == CL_ROLE_CLERK || s->role == CL_ROLE_VERIFIER || s->role == CL_ROLE_PROPERTY)
            return id_listed(s->project_ids, n->project);
        return false;
    }
    if (n->company) return role_hq(s->role) || (company_staff && s->company_id == n->company);
    return role_hq(s->role);
}

static void notice_fill(Closeloop__Notice *m, const np_notice_t *n) {
    m->id = n->id;
    m->at_ms = n->at_ms;
    m->kind = (Closeloop__NoticeKind)n->kind;
    m->project_id = n->project;
    m->subject = (char *)n->subject;
    m->body = (char *)n->body;
}

/* One pass of the gap timer: a Notice with no notice (id 0) but gap_before to each
 * connection that had pushes dropped, once its output has room again. */
static void gap_visit(cl_conn_t *c, const cl_session_t *s, cl_push_state_t *ps, void *arg) {
    bool *still = arg;
    if (!ps->pending || s->stale) {
        *still |= ps->pending;
        return;
    }
    Closeloop__Notice m = CLOSELOOP__NOTICE__INIT;
    m.gap_before = true;
    if (cl_conn_push(c, CL_MSG_NOTICE, &m.base) == CL_OK)
        ps->pending = false;
    else
        *still = true;
}

static void on_gap_timer(uv_timer_t *t) {
    cl_notice_push_t *n = t->data;
    bool still = false;
    cl_server_each_watcher(n->srv, gap_visit, &still);
    if (!still) uv_timer_stop(t);
}

static void watcher_visit(cl_conn_t *c, const cl_session_t *s, cl_push_state_t *ps, void *arg) {
    const np_notice_t *n = arg;
    if (cl_session_expired(s)) return;
    /* A logout elsewhere or a changed user: its scope is not known until the session is
     * read again, at the connection's next request (cloop watch's keep-alive). Nothing is
     * pushed meanwhile; the next push says gap_before, and the catch-up applies the scope
     * as it is then. */
    if (s->stale) {
        ps->pending = true;
        return;
    }
    if (!notice_visible(s, n)) return;
    Closeloop__Notice m = CLOSELOOP__NOTICE__INIT;
    notice_fill(&m, n);
    m.gap_before = ps->pending;
    int rc = cl_conn_push(c, CL_MSG_NOTICE, &m.base);
    if (rc == CL_OK) {
        ps->pending = false;
    } else if (rc != CL_ECLOSED) {
        /* The next one tells the client to catch up. Logged once per gap. */
        if (!ps->pending)
            cl_log_info("notice_gap", "conn=%llu notice=%" PRId64 " reason=\"%s\"",
                        (unsigned long long)cl_conn_id(c), n->id, cl_strerror(rc));
        ps->pending = true;
    }
}

/* ------------------------------------------------------------------ reading notices */

static int64_t col_i64(const PGresult *res, int row, int col) {
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void np_maybe_free(cl_notice_push_t *n) {
    if (n->state == NP_STOPPED && n->handles_open == 0 && !n->reading) {
        free(n->pending);
        free(n->conninfo);
        free(n);
    }
}

static void on_read(void *arg, const cl_db_result_t *r) {
    cl_notice_push_t *n = arg;
    n->reading = false;
    if (n->state == NP_STOPPED) {
        np_maybe_free(n);
        return;
    }
    if (r->status != CL_OK || !r->res[0]) {
        /* The ids went with the batch: the next read (at the next notification, or when the
         * LISTEN connection comes back) also reads everything after the newest seen. Not
         * at once, which would spin while the database is away. */
        cl_log_warn("notice_read_failed", "error=\"%s\"", r->message);
        if (n->newest > 0) n->catch_up = true;
        return;
    }
    const PGresult *res = r->res[0];
    for (int i = 0; i < PQntuples(res); i++) {
        np_notice_t nt = {
            .id = col_i64(res, i, CL_COL(notice_read, id)),
            .at_ms = (uint64_t)col_i64(res, i, CL_COL(notice_read, at_ms)),
            .kind =
                cl_domain_parse(CL_DOM_NOTICE_KIND, PQgetvalue(res, i, CL_COL(notice_read, kind))),
            .company = col_i64(res, i, CL_COL(notice_read, company_id)),
            .project = col_i64(res, i, CL_COL(notice_read, project_id)),
            .user = col_i64(res, i, CL_COL(notice_read, user_id)),
            .contractor = col_i64(res, i, CL_COL(notice_read, contractor_id)),
            .subject = PQgetvalue(res, i, CL_COL(notice_read, subject)),
            .body = PQgetvalue(res, i, CL_COL(notice_read, body)),
            .project_contractors = PQgetvalue(res, i, CL_COL(notice_read, project_contractors)),
        };
        if (nt.id > n->newest) n->newest = nt.id;
        cl_server_each_watcher(n->srv, watcher_visit, &nt);
    }
    /* A connection that had pushes dropped hears of it once it has room (it may never
     * get another notice to carry gap_before); the timer stops when none is owed. */
    if (PQntuples(res) && !uv_is_active((uv_handle_t *)&n->gap_timer))
        uv_timer_start(&n->gap_timer, on_gap_timer, GAP_RETRY_MS, GAP_RETRY_MS);
    np_read_next(n);
}

/* Sends the next notice_read when none is in flight and something is owed. */
static void np_read_next(cl_notice_push_t *n) {
    if (n->reading || n->state == NP_STOPPED || (!n->npending && !n->catch_up)) return;
    size_t take = n->npending < READ_IDS ? n->npending : READ_IDS;
    /* "{1,2,3}": 20 digits and a comma per id. */
    char *ids = malloc(take * 21 + 3);
    if (!ids) return; /* tried again at the next notification */
    size_t len = 0;
    ids[len++] = '{';
    for (size_t i = 0; i < take; i++)
        len += (size_t)sprintf(ids + len, "%s%" PRId64, i ? "," : "", n->pending[i]);
    ids[len++] = '}';
    ids[len] = '\0';
    memmove(n->pending, n->pending + take, (n->npending - take) * sizeof *n->pending);
    n->npending -= take;
    char after[24];
    snprintf(after, sizeof after, "%" PRId64, n->newest);
    bool catch_up = n->catch_up && n->newest > 0;
    n->catch_up = false;
    n->reading = true;
    cl_db_exec(n->db, CL_SQL(notice_read), CL_PARAMS(notice_read, ids, catch_up ? after : NULL),
               on_read, n);
    free(ids);
}

static void np_notified(cl_notice_push_t *n, const char *payload) {
    char *end;
    long long id = strtoll(payload, &end, 10);
    if (end == payload || *end || id <= 0) {
        cl_log_warn("notice_payload_bad", "payload=\"%.40s\"", payload);
        return;
    }
    if (n->npending == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 64;
        int64_t *p = cap <= CL_NOTICE_PENDING_MAX ? realloc(n->pending, cap * sizeof *p) : NULL;
        if (!p) {
            if (n->dropped++ % 1000 == 0)
                cl_log_warn("notice_dropped", "notice=%lld dropped=%" PRIu64, id, n->dropped);
            return;
        }
        n->pending = p;
        n->cap = cap;
    }
    n->pending[n->npending++] = (int64_t)id;
}

/* ------------------------------------------------------------------ the connection */

static void on_handle_closed(uv_handle_t *h) {
    cl_notice_push_t *n = h->data;
    if (h != (uv_handle_t *)&n->timer && h != (uv_handle_t *)&n->gap_timer) free(h);
    n->handles_open--;
    np_maybe_free(n);
}

static void np_unwatch(cl_notice_push_t *n) {
    if (!n->poll) return;
    n->poll->data = n;
    uv_close((uv_handle_t *)n->poll, on_handle_closed);
    n->poll = NULL;
    n->poll_fd = -1;
    n->poll_events = 0;
}

static void np_lost(cl_notice_push_t *n, const char *why) {
    if (n->state == NP_LISTENING) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", n->pg ? PQerrorMessage(n->pg) : "");
        for (char *p = detail; *p; p++)
            if (*p == '\n' || *p == '"') *p = ' ';
        cl_log_warn("notice_listen_lost", "reason=\"%s\" detail=\"%s\"", why, detail);
    }
    np_unwatch(n); /* before PQfinish closes the fd */
    if (n->pg) PQfinish(n->pg);
    n->pg = NULL;
    n->state = NP_BACKOFF;
    n->backoff_ms = n->backoff_ms ? n->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (n->backoff_ms > BACKOFF_MAX_MS) n->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&n->timer, on_timer, n->backoff_ms, 0);
}

static void np_watch(cl_notice_push_t *n, int events) {
    int fd = PQsocket(n->pg);
    if (fd < 0) {
        np_lost(n, "no socket");
        return;
    }
    if (n->poll && n->poll_fd != fd) np_unwatch(n);
    int made = cl_pg_watch(n->loop, &n->poll, &n->poll_fd, &n->poll_events, fd, events, on_poll, n);
    if (made < 0) np_lost(n, "cannot watch the socket");
    if (made > 0) n->handles_open++;
}

static void np_input(cl_notice_push_t *n) {
    if (PQconsumeInput(n->pg) != 1) {
        np_lost(n, "the connection was lost");
        return;
    }
    while (!PQisBusy(n->pg)) {
        PGresult *r = PQgetResult(n->pg);
        if (!r) break;
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            np_lost(n, "LISTEN failed");
            return;
        }
    }
    PGnotify *nf;
    while ((nf = PQnotifies(n->pg))) {
        np_notified(n, nf->extra);
        PQfreemem(nf);
    }
    np_read_next(n);
}

static void np_listen(cl_notice_push_t *n) {
    uv_timer_stop(&n->timer);
    if (PQsetnonblocking(n->pg, 1) != 0 || PQsendQuery(n->pg, "LISTEN " NOTICE_CHANNEL) != 1) {
        np_lost(n, "cannot send LISTEN");
        return;
    }
    int f = PQflush(n->pg);
    if (f < 0) {
        np_lost(n, "cannot send LISTEN");
        return;
    }
    n->state = NP_LISTENING;
    n->backoff_ms = 0;
    cl_log_info("notice_listening", "channel=%s", NOTICE_CHANNEL);
    /* Notices committed while nobody listened were announced to nobody: read them. */
    if (n->ever_up) n->catch_up = true;
    n->ever_up = true;
    np_watch(n, f ? UV_READABLE | UV_WRITABLE : UV_READABLE);
    np_read_next(n);
}

static void np_connect_poll(cl_notice_push_t *n) {
    switch (PQconnectPoll(n->pg)) {
    case PGRES_POLLING_READING: np_watch(n, UV_READABLE); break;
    case PGRES_POLLING_WRITING: np_watch(n, UV_WRITABLE); break;
    case PGRES_POLLING_OK: np_listen(n); break;
    default: np_lost(n, "cannot connect"); break;
    }
}

static void on_poll(uv_poll_t *h, int status, int events) {
    cl_notice_push_t *n = h->data;
    if (n->state == NP_CONNECTING) {
        np_connect_poll(n);
        return;
    }
    if (n->state != NP_LISTENING) return;
    if (status < 0) {
        np_lost(n, "socket error");
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(n->pg);
        if (f < 0) {
            np_lost(n, "cannot send");
            return;
        }
        if (f == 0) np_watch(n, UV_READABLE);
        if (n->state != NP_LISTENING) return;
    }
    if (events & UV_READABLE) np_input(n);
}

static void np_connect(cl_notice_push_t *n) {
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {n->conninfo, "closeloopd-notices", NULL};
    n->pg = PQconnectStartParams(keys, vals, 1);
    n->state = NP_CONNECTING;
    uv_timer_start(&n->timer, on_timer, CONNECT_TIMEOUT_MS, 0);
    if (!n->pg || PQstatus(n->pg) == CONNECTION_BAD) {
        np_lost(n, "cannot start a connection");
        return;
    }
    np_connect_poll(n);
}

static void on_timer(uv_timer_t *t) {
    cl_notice_push_t *n = t->data;
    if (n->state == NP_BACKOFF)
        np_connect(n);
    else if (n->state == NP_CONNECTING)
        np_lost(n, "connecting took too long");
}

cl_notice_push_t *cl_notice_push_start(uv_loop_t *loop, const char *conninfo, cl_server_t *srv,
                                       cl_db_t *db) {
    cl_notice_push_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->conninfo = strdup(conninfo);
    if (!n->conninfo) {
        free(n);
        return NULL;
    }
    n->loop = loop;
    n->srv = srv;
    n->db = db;
    n->poll_fd = -1;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    uv_timer_init(loop, &n->gap_timer);
    n->gap_timer.data = n;
    n->handles_open = 2;
    np_connect(n);
    return n;
}

void cl_notice_push_stop(cl_notice_push_t *n) {
    if (!n || n->state == NP_STOPPED) return;
    np_unwatch(n);
    if (n->pg) PQfinish(n->pg);
    n->pg = NULL;
    n->state = NP_STOPPED;
    uv_close((uv_handle_t *)&n->timer, on_handle_closed);
    uv_close((uv_handle_t *)&n->gap_timer, on_handle_closed);
}

/* ------------------------------------------------------------------ WatchRequest */

typedef struct watch_call {
    cl_call_t base;
    bool on;
} watch_call_t;

static void watch_done(void *arg, const cl_db_result_t *r) {
    watch_call_t *w = arg;
    const PGresult *res = cl_call_rows(&w->base, r, 0);
    if (!res) {
        cl_call_free(&w->base);
        return;
    }
    int rows = PQntuples(res);
    Closeloop__WatchReply reply = CLOSELOOP__WATCH_REPLY__INIT;
    reply.on = w->on;
    Closeloop__Notice *slots = calloc((size_t)rows + 1, sizeof *slots);
    Closeloop__Notice **ptrs = calloc((size_t)rows + 1, sizeof *ptrs);
    if (!slots || !ptrs) {
        free(slots);
        free(ptrs);
        cl_req_fail(w->base.req, CL_ENOMEM, "out of memory");
        cl_call_free(&w->base);
        return;
    }
    for (int i = 0; i < rows; i++) {
        if (i == 0) reply.last_id = col_i64(res, i, CL_COL(notice_since, last_id));
        if (PQgetisnull(res, i, CL_COL(notice_since, id))) continue; /* none missed */
        if (reply.n_notices == CL_NOTICE_CATCH_UP) {
            reply.more = true;
            break;
        }
        np_notice_t nt = {
            .id = col_i64(res, i, CL_COL(notice_since, id)),
            .at_ms = (uint64_t)col_i64(res, i, CL_COL(notice_since, at_ms)),
            .kind =
                cl_domain_parse(CL_DOM_NOTICE_KIND, PQgetvalue(res, i, CL_COL(notice_since, kind))),
            .project = col_i64(res, i, CL_COL(notice_since, project_id)),
            .subject = PQgetvalue(res, i, CL_COL(notice_since, subject)),
            .body = PQgetvalue(res, i, CL_COL(notice_since, body)),
        };
        Closeloop__Notice *m = &slots[reply.n_notices];
        closeloop__notice__init(m);
        notice_fill(m, &nt);
        ptrs[reply.n_notices++] = m;
    }
    reply.notices = ptrs;
    cl_req_reply(w->base.req, CL_MSG_WATCH, &reply.base);
    free(slots);
    free(ptrs);
    cl_call_free(&w->base);
}

void cl_watch(cl_req_t *req) {
    const Closeloop__WatchRequest *m = (const Closeloop__WatchRequest *)req->msg;
    if (m->since_id < 0) {
        cl_req_fail(req, CL_EINVAL, "since_id must be 0 or more");
        return;
    }
    /* Watching starts before the catch-up is read: a notice committed meanwhile is pushed
     * (and may also be in the catch-up; the client drops an id it has printed). */
    cl_req_set_watching(req, m->on);
    watch_call_t *w = cl_call_new(req, sizeof *w);
    if (!w) return;
    w->on = m->on;
    char user[24], since[24], limit[16];
    snprintf(user, sizeof user, "%" PRId64, w->base.session.user_id);
    snprintf(since, sizeof since, "%" PRId64, m->since_id);
    /* One more than a reply carries, to know whether more are left. */
    snprintf(limit, sizeof limit, "%d", m->on && m->catch_up ? CL_NOTICE_CATCH_UP + 1 : 0);
    cl_call_stmt_t st = CL_STMT(notice_since, CL_CALL_SCOPE(&w->base), user, since, limit);
    cl_call_run(&w->base, false, &st, 1, watch_done);
}
