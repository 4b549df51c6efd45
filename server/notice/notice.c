/* notice.c - the notices of notice.h: the reads of notified notices, the pushes to
 * watching connections, and the WatchRequest handler.
 *
 * Notified ids come from a pg_listen connection on closeloop_notices and go to `pending`
 * (a growing array, capped); one notice_read at a time takes them (at most READ_IDS) to
 * the pool, and its callback pushes each row to the watchers, then starts the next read.
 * The gap timer sends a Notice of id 0 with gap_before to connections whose pushes were
 * dropped, once they have room. The per-connection state is the server's (the watch
 * cl_push_state_t: pending = a push was dropped, the next one says gap_before). Stop stops
 * the listener (no callback after); the struct frees itself once the gap timer has closed
 * and no read is in flight. Loop thread only. */
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
#include "pg_listen.h"
#include "session.h"

#define READ_IDS     1000 /* ids of one notice_read (its LIMIT) */
#define GAP_RETRY_MS 200  /* how often a connection owed a gap_before is tried */

struct cl_notice_push {
    cl_server_t *srv;
    cl_db_t *db;
    cl_pg_listen_t *listen;
    uv_timer_t gap_timer; /* tells connections with dropped pushes, once they have room */
    bool stopped;
    bool gap_timer_open;
    int64_t *pending; /* notified ids not yet read */
    size_t npending, cap;
    int64_t newest;      /* the newest notice read, 0: none yet */
    int64_t reading_min; /* the smallest id of the read in flight */
    bool catch_up;       /* the connection came back: read the notices after newest too */
    bool reading;        /* a notice_read is in flight */
    uint64_t dropped;    /* notified ids past CL_NOTICE_PENDING_MAX, for the log */
};

/* One notice as notice_read gives it. */
typedef struct np_notice {
    int64_t id, company, project, user, contractor;
    uint64_t at_ms;
    int kind;
    const char *subject, *body;
    const char *project_contractors; /* "{3,7}" */
} np_notice_t;

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
    if (n->stopped && !n->gap_timer_open && !n->reading) {
        free(n->pending);
        free(n);
    }
}

static void on_read(void *arg, const cl_db_result_t *r) {
    cl_notice_push_t *n = arg;
    n->reading = false;
    if (n->stopped) {
        np_maybe_free(n);
        return;
    }
    if (r->status != CL_OK || !r->res[0]) {
        /* The ids went with the batch: the next read (at the next notification, or when the
         * LISTEN connection comes back) also reads everything after the newest seen. Not
         * at once, which would spin while the database is away. */
        cl_log_warn("notice_read_failed", "error=\"%s\"", r->message);
        /* Before any read succeeded, the catch-up starts below the batch that failed. */
        if (n->newest == 0 && n->reading_min > 0) n->newest = n->reading_min - 1;
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
    if (n->reading || n->stopped || (!n->npending && !n->catch_up)) return;
    size_t take = n->npending < READ_IDS ? n->npending : READ_IDS;
    /* "{1,2,3}": 20 digits and a comma per id. */
    char *ids = malloc(take * 21 + 3);
    if (!ids) return; /* tried again at the next notification */
    size_t len = 0;
    ids[len++] = '{';
    n->reading_min = 0;
    for (size_t i = 0; i < take; i++) {
        len += (size_t)sprintf(ids + len, "%s%" PRId64, i ? "," : "", n->pending[i]);
        if (!n->reading_min || n->pending[i] < n->reading_min) n->reading_min = n->pending[i];
    }
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

static void np_notified(void *ctx, const char *payload) {
    cl_notice_push_t *n = ctx;
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

/* ------------------------------------------------------------------ the listener */

/* Notices committed while nobody listened were announced to nobody: read them. */
static void np_listening(void *ctx, bool again) {
    cl_notice_push_t *n = ctx;
    if (again) n->catch_up = true;
    np_read_next(n);
}

static void np_drained(void *ctx) {
    np_read_next(ctx);
}

static const cl_pg_listen_ops_t notice_listen_ops = {
    .channel = "closeloop_notices",
    .application_name = "closeloopd-notices",
    .log_name = "notice",
    .on_listening = np_listening,
    .on_notify = np_notified,
    .on_drained = np_drained,
};

static void on_gap_timer_closed(uv_handle_t *h) {
    cl_notice_push_t *n = h->data;
    n->gap_timer_open = false;
    np_maybe_free(n);
}

cl_notice_push_t *cl_notice_push_start(uv_loop_t *loop, const char *conninfo, cl_server_t *srv,
                                       cl_db_t *db) {
    cl_notice_push_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->srv = srv;
    n->db = db;
    uv_timer_init(loop, &n->gap_timer);
    n->gap_timer.data = n;
    n->gap_timer_open = true;
    n->listen = cl_pg_listen_start(loop, conninfo, &notice_listen_ops, n);
    if (!n->listen) {
        n->stopped = true;
        uv_close((uv_handle_t *)&n->gap_timer, on_gap_timer_closed);
        return NULL;
    }
    return n;
}

void cl_notice_push_stop(cl_notice_push_t *n) {
    if (!n || n->stopped) return;
    n->stopped = true;
    cl_pg_listen_stop(n->listen);
    uv_close((uv_handle_t *)&n->gap_timer, on_gap_timer_closed);
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
