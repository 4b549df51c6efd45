/* db.c - the libpq connection pool on the libuv loop; see db.h for the contract.
 *
 * Each pool connection is a small state machine (enum pgc_state). Its socket is watched
 * by a heap-allocated uv_poll_t, replaced whenever PQsocket changes (during connect)
 * and closed before PQfinish. Connections run in pipeline mode: a batch is sent as its
 * prepared statements followed by one Sync, so it is one implicit transaction and one
 * round trip; a connection carries one batch at a time and the pool spreads batches
 * over its connections. Results are read with consume -> isBusy -> getResult; a NULL
 * ends each statement's results, PGRES_PIPELINE_SYNC ends the batch (the commit).
 * The drain is bounded (DRAIN_BOUND results per turn, so one connection cannot starve
 * the loop); when the bound stops it, the connection's drain idle handle resumes it on
 * the next loop iteration, since results already inside libpq never make the socket
 * fire again. A lost connection fails its batch with CL_EUNAVAIL and reconnects with
 * exponential backoff; a watchdog timer treats a batch that outlives statement_timeout
 * for each of its statements, plus a slack, as a lost connection. A connection's timer
 * and drain handles are embedded in it and closed with the pool; the connections' array
 * is freed by cl_db_free, after every close callback has run. Callbacks for batches that
 * fail before reaching a connection are deferred to an idle handle so that cb never runs
 * inside cl_db_batch_run. */
#include "db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
#define WATCHDOG_SLACK_MS  5000
#define CONNECT_TIMEOUT_MS 10000 /* connecting and preparing must finish within this */
/* Results read per turn at most; a test build may set it small (tests/integration/test_db.c)
 * to run the resumed drain with few results; production and tests share the code path. */
#ifndef CL_DB_DRAIN_BOUND
#define CL_DB_DRAIN_BOUND 10000
#endif
#define DRAIN_BOUND CL_DB_DRAIN_BOUND

typedef enum pgc_state {
    PGC_CONNECTING, /* PQconnectPoll in progress */
    PGC_PREPARING,  /* statements being prepared */
    PGC_IDLE,       /* ready for a batch */
    PGC_BUSY,       /* one batch in flight */
    PGC_BACKOFF,    /* lost; waiting to reconnect */
    PGC_CLOSED,     /* pool closing; handles closed */
} pgc_state_t;

struct cl_db_batch {
    cl_db_t *db;
    cl_db_batch_t *next; /* queue or deferred list */
    int n;               /* statements */
    int read;            /* statements whose results have ended */
    struct {
        int nparams;
        char *params[CL_DB_MAX_PARAMS];
        int lengths[CL_DB_MAX_PARAMS]; /* binary parameters' byte lengths */
        int formats[CL_DB_MAX_PARAMS]; /* 1: binary */
    } ops[CL_DB_MAX_BATCH];
    const cl_db_stmt_t *stmts[CL_DB_MAX_BATCH]; /* statement of each op, in the table */
    PGresult *res[CL_DB_MAX_BATCH];
    cl_db_cb cb;
    void *arg;
    int status;
    char sqlstate[6];
    char constraint[64];
    char message[512];
};

typedef struct pgconn {
    cl_db_t *db;
    unsigned idx;
    PGconn *pg;
    uv_poll_t *poll; /* NULL when not watching */
    int poll_fd;
    int poll_events;
    uv_timer_t timer; /* backoff or watchdog */
    uv_idle_t drain;  /* active while buffered results wait for the next drain turn */
    pgc_state_t state;
    cl_db_batch_t *cur; /* batch in flight (PGC_BUSY) */
    size_t setup_step;  /* PGC_PREPARING: statements' results ended so far (prepares,
                           then describes) */
    unsigned backoff_ms;
    bool ever_up;
    bool timer_closed;   /* the pool is closing and the timer and drain were closed */
    bool prepare_failed; /* a statement did not prepare or disagrees with its table entry:
                            reconnect, don't serve */
} pgconn_t;

struct cl_db {
    uv_loop_t *loop;
    char name[16];
    char what[48];         /* "the database" (main), "the analytics database": for sentences */
    char appname[48];      /* application_name: "closeloopd" (main), "closeloopd-analytics" */
    char unavailable[160]; /* the refusal while no connection can serve */
    char *conninfo;
    char options[128]; /* -c statement_timeout=N */
    unsigned timeout_ms;
    const cl_db_stmt_t *stmts; /* the statement table (cl_sql_stmts) */
    size_t nstmts;
    pgconn_t *conns;
    unsigned nconns;
    unsigned up;                  /* connections IDLE or BUSY */
    cl_db_batch_t *qhead, *qtail; /* waiting for a connection */
    cl_db_batch_t *deferred;      /* failed before reaching a connection */
    uv_idle_t deferred_idle;
    bool closing;
    unsigned handles_open;
    void (*done_cb)(void *arg);
    void *done_arg;
};

static void conn_connect(pgconn_t *c);

/* Whether a connection serves or may soon: up, or still on its first connect. */
static bool pool_can_serve(const cl_db_t *db) {
    for (unsigned i = 0; i < db->nconns; i++) {
        pgc_state_t s = db->conns[i].state;
        if (s == PGC_IDLE || s == PGC_BUSY ||
            ((s == PGC_CONNECTING || s == PGC_PREPARING) && !db->conns[i].ever_up))
            return true;
    }
    return false;
}
static void conn_lost(pgconn_t *c, int status, const char *why);
static void conn_kick(cl_db_t *db);
static void db_check_closed(cl_db_t *db);

/* --- results --- */

static void batch_free(cl_db_batch_t *b) {
    for (int i = 0; i < b->n; i++) {
        for (int k = 0; k < b->ops[i].nparams; k++)
            free(b->ops[i].params[k]);
        PQclear(b->res[i]);
    }
    free(b);
}

static void batch_set_error(cl_db_batch_t *b, int status, const char *fmt, ...) CL_PRINTF(3, 4);
static void batch_set_error(cl_db_batch_t *b, int status, const char *fmt, ...) {
    if (b->status != CL_OK) return; /* the first error is the cause */
    b->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->message, sizeof b->message, fmt, ap);
    va_end(ap);
}

static void batch_deliver(cl_db_batch_t *b) {
    cl_db_result_t r = {
        .status = b->status,
        .sqlstate = b->sqlstate,
        .message = b->message,
        .constraint = b->constraint,
        .count = b->n,
        .stmts = b->stmts,
        .res = b->res,
    };
    if (b->status != CL_OK)
        for (int i = 0; i < b->n; i++) {
            PQclear(b->res[i]);
            b->res[i] = NULL;
        }
    b->cb(b->arg, &r);
    batch_free(b);
}

static void on_deferred(uv_idle_t *h) {
    cl_db_t *db = h->data;
    uv_idle_stop(h);
    while (db->deferred) {
        cl_db_batch_t *b = db->deferred;
        db->deferred = b->next;
        batch_deliver(b);
    }
    db_check_closed(db);
}

/* Fails a batch that never reached a connection; the callback runs on the next tick. */
static void batch_defer_fail(cl_db_batch_t *b, int status, const char *msg) {
    cl_db_t *db = b->db;
    batch_set_error(b, status, "%s", msg);
    if (uv_is_closing((uv_handle_t *)&db->deferred_idle)) { /* pool gone: no later tick */
        batch_deliver(b);
        return;
    }
    b->next = db->deferred;
    db->deferred = b;
    uv_idle_start(&db->deferred_idle, on_deferred);
}

/* Maps a SQLSTATE to our error codes. Area functions raise our own two for the refusals
 * only they can judge (RAISE ... USING ERRCODE = 'CL412'), with a message for a person:
 * CL412 a step the workflow requires first is missing, CL403 the user is not the one
 * whose step it is (not a member of the responsible department). */
static int sqlstate_to_err(const char *s) {
    if (!s || strlen(s) != 5) return CL_EINTERNAL;
    if (!strcmp(s, "CL412")) return CL_EPRECONDITION;
    if (!strcmp(s, "CL403")) return CL_EFORBIDDEN;
    if (!strcmp(s, "23505") || !strcmp(s, "40001") || !strcmp(s, "40P01")) return CL_ECONFLICT;
    if (!strcmp(s, "23503")) return CL_ENOTFOUND;
    if (!strcmp(s, "57014")) return CL_ETIMEDOUT;
    if (!strncmp(s, "23", 2) || !strncmp(s, "22", 2)) return CL_EINVAL;
    if (!strncmp(s, "08", 2) || !strncmp(s, "53", 2) || !strncmp(s, "57P", 3)) return CL_EUNAVAIL;
    return CL_EINTERNAL;
}

static void batch_sql_error(cl_db_batch_t *b, const PGresult *res) {
    if (b->status != CL_OK) return;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    snprintf(b->sqlstate, sizeof b->sqlstate, "%s", state ? state : "");
    snprintf(b->constraint, sizeof b->constraint, "%s", cons ? cons : "");
    int code = sqlstate_to_err(state);
    batch_set_error(b, code, "%s", msg ? msg : "database error");
    if (code == CL_EINTERNAL)
        cl_log_error("db_error", "pool=%s sqlstate=%s error=\"%s\"", b->db->name, b->sqlstate,
                     b->message);
}

/* --- polling --- */

static void on_poll_closed(uv_handle_t *h) {
    cl_db_t *db = h->data;
    free(h);
    db->handles_open--;
    db_check_closed(db);
}

static void conn_unwatch(pgconn_t *c) {
    if (!c->poll) return;
    c->poll->data = c->db;
    uv_close((uv_handle_t *)c->poll, on_poll_closed);
    c->poll = NULL;
    c->poll_fd = -1;
    c->poll_events = 0;
}

static void on_poll(uv_poll_t *h, int status, int events);

int cl_pg_watch(uv_loop_t *loop, uv_poll_t **poll, int *poll_fd, int *poll_events, int fd,
                int events, uv_poll_cb cb, void *data) {
    int made = 0;
    if (!*poll) {
        *poll = malloc(sizeof **poll);
        if (!*poll || uv_poll_init(loop, *poll, fd) != 0) {
            free(*poll);
            *poll = NULL;
            return -1;
        }
        (*poll)->data = data;
        *poll_fd = fd;
        *poll_events = 0;
        made = 1;
    }
    if (events != *poll_events) {
        uv_poll_start(*poll, events, cb);
        *poll_events = events;
    }
    return made;
}

/* Watches the connection's socket for events, re-creating the handle if the fd moved. */
static void conn_watch(pgconn_t *c, int events) {
    int fd = PQsocket(c->pg);
    if (fd < 0) {
        conn_lost(c, CL_EUNAVAIL, "the database connection has no socket");
        return;
    }
    if (c->poll && c->poll_fd != fd) conn_unwatch(c);
    int made =
        cl_pg_watch(c->db->loop, &c->poll, &c->poll_fd, &c->poll_events, fd, events, on_poll, c);
    if (made < 0) conn_lost(c, CL_EUNAVAIL, "cannot watch the database socket");
    if (made > 0) c->db->handles_open++;
}

/* --- connection lifecycle --- */

static void on_conn_timer(uv_timer_t *t);

static void conn_finish(pgconn_t *c) {
    uv_idle_stop(&c->drain); /* nothing left to read */
    conn_unwatch(c);         /* before PQfinish closes the fd */
    if (c->pg) PQfinish(c->pg);
    c->pg = NULL;
}

static void conn_lost(pgconn_t *c, int status, const char *why) {
    cl_db_t *db = c->db;
    bool was_up = c->state == PGC_IDLE || c->state == PGC_BUSY;
    const char *pqerr = c->pg ? PQerrorMessage(c->pg) : "";
    char detail[256];
    snprintf(detail, sizeof detail, "%s", pqerr);
    for (char *p = detail; *p; p++)
        if (*p == '\n' || *p == '"') *p = ' ';
    if (was_up || c->ever_up || c->backoff_ms == 0)
        cl_log_warn("db_connection_lost", "pool=%s conn=%u reason=\"%s\" detail=\"%s\"", db->name,
                    c->idx, why, detail);
    if (was_up) db->up--;
    cl_db_batch_t *b = c->cur;
    c->cur = NULL;
    conn_finish(c);
    uv_timer_stop(&c->timer);
    if (db->closing) {
        c->state = PGC_CLOSED;
    } else {
        c->state = PGC_BACKOFF;
        c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (c->backoff_ms > BACKOFF_MAX_MS) c->backoff_ms = BACKOFF_MAX_MS;
        uv_timer_start(&c->timer, on_conn_timer, c->backoff_ms, 0);
    }
    if (b) {
        batch_set_error(b, status,
                        status == CL_ETIMEDOUT ? "%s did not answer in time; retry"
                                               : "%s connection was lost; retry",
                        db->what);
        batch_deliver(b);
    }
    /* With no connection able to serve, waiting batches fail now rather than hang. */
    bool any_hope = pool_can_serve(db);
    if (!any_hope)
        while (db->qhead) {
            cl_db_batch_t *q = db->qhead;
            db->qhead = q->next;
            if (!db->qhead) db->qtail = NULL;
            batch_defer_fail(q, CL_EUNAVAIL, db->unavailable);
        }
    db_check_closed(db);
}

static void conn_ready(pgconn_t *c) {
    cl_db_t *db = c->db;
    uv_timer_stop(&c->timer);
    c->state = PGC_IDLE;
    c->backoff_ms = 0;
    db->up++;
    if (!c->ever_up || c->idx == 0)
        cl_log_info("db_connected", "pool=%s conn=%u server_version=%d", db->name, c->idx,
                    PQserverVersion(c->pg));
    c->ever_up = true;
    conn_watch(c, UV_READABLE); /* notice a server-side close while idle */
    conn_kick(db);
}

/* Ends the pipeline's statements with a Sync and sends what libpq holds; while output
 * remains (PQflush returned 1) the socket is watched for writable as well as readable. */
static void conn_sync_and_send(pgconn_t *c) {
    if (PQpipelineSync(c->pg) != 1) {
        conn_lost(c, CL_EUNAVAIL, "cannot send Sync");
        return;
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_lost(c, CL_EUNAVAIL, "cannot send to the database");
        return;
    }
    conn_watch(c, f ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

/* Sends every PREPARE, then a Describe of each, and a Sync, in one pipeline: the
 * descriptions are checked against the table before the connection serves. */
static void conn_prepare_all(pgconn_t *c) {
    cl_db_t *db = c->db;
    if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1) {
        conn_lost(c, CL_EUNAVAIL, "cannot enter pipeline mode");
        return;
    }
    c->state = PGC_PREPARING;
    c->setup_step = 0;
    for (size_t i = 0; i < db->nstmts; i++) {
        if (PQsendPrepare(c->pg, db->stmts[i].name, db->stmts[i].sql, 0, NULL) != 1) {
            conn_lost(c, CL_EUNAVAIL, "cannot send PREPARE");
            return;
        }
    }
    for (size_t i = 0; i < db->nstmts; i++) {
        if (PQsendDescribePrepared(c->pg, db->stmts[i].name) != 1) {
            conn_lost(c, CL_EUNAVAIL, "cannot send Describe");
            return;
        }
    }
    conn_sync_and_send(c);
}

static void conn_connect_poll(pgconn_t *c) {
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING: conn_watch(c, UV_READABLE); break;
    case PGRES_POLLING_WRITING: conn_watch(c, UV_WRITABLE); break;
    case PGRES_POLLING_OK: conn_prepare_all(c); break;
    default: conn_lost(c, CL_EUNAVAIL, "cannot connect to the database"); break;
    }
}

static void conn_connect(pgconn_t *c) {
    cl_db_t *db = c->db;
    const char *keys[] = {"dbname", "options", "application_name", NULL};
    const char *vals[] = {db->conninfo, db->options, db->appname, NULL};
    c->pg = PQconnectStartParams(keys, vals, 1);
    c->state = PGC_CONNECTING;
    c->prepare_failed = false;
    uv_timer_start(&c->timer, on_conn_timer, CONNECT_TIMEOUT_MS, 0);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_lost(c, CL_EUNAVAIL, "cannot start a database connection");
        return;
    }
    conn_connect_poll(c);
}

static void on_conn_timer(uv_timer_t *t) {
    pgconn_t *c = t->data;
    switch (c->state) {
    case PGC_BACKOFF: conn_connect(c); break;
    case PGC_BUSY: conn_lost(c, CL_ETIMEDOUT, "watchdog: no answer in time"); break;
    case PGC_CONNECTING:
    case PGC_PREPARING: conn_lost(c, CL_EUNAVAIL, "connecting took too long"); break;
    default: break;
    }
}

/* --- batches on a connection --- */

/* How long a batch may take before its connection counts as lost: statement_timeout
 * bounds each statement of the pipeline separately, so every statement may take that. */
static uint64_t batch_watchdog_ms(const cl_db_t *db, const cl_db_batch_t *b) {
    return (uint64_t)b->n * db->timeout_ms + WATCHDOG_SLACK_MS;
}

static void conn_send_batch(pgconn_t *c, cl_db_batch_t *b) {
    c->state = PGC_BUSY;
    c->cur = b;
    for (int i = 0; i < b->n; i++) {
        if (PQsendQueryPrepared(c->pg, b->stmts[i]->name, b->ops[i].nparams,
                                (const char *const *)b->ops[i].params, b->ops[i].lengths,
                                b->ops[i].formats, b->stmts[i]->binary_result) != 1) {
            conn_lost(c, CL_EUNAVAIL, "cannot send a query");
            return;
        }
    }
    uv_timer_start(&c->timer, on_conn_timer, batch_watchdog_ms(c->db, b), 0);
    conn_sync_and_send(c);
}

/* Hands waiting batches to idle connections. */
static void conn_kick(cl_db_t *db) {
    for (unsigned i = 0; i < db->nconns && db->qhead; i++) {
        pgconn_t *c = &db->conns[i];
        if (c->state != PGC_IDLE) continue;
        cl_db_batch_t *b = db->qhead;
        db->qhead = b->next;
        if (!db->qhead) db->qtail = NULL;
        b->next = NULL;
        conn_send_batch(c, b);
    }
}

/* One result of the connection; returns 1 when the batch (or the prepares) finished. */
static int conn_take_result(pgconn_t *c, PGresult *res) {
    ExecStatusType st = PQresultStatus(res);
    if (c->state == PGC_PREPARING) {
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return 1;
        }
        /* Results come as n prepares, then n describes (a Sync ends them, above); k counts
         * the ones that ended. A stray result past them names the last statement. */
        size_t n = c->db->nstmts, k = c->setup_step;
        if (n == 0) {
            PQclear(res);
            return 0;
        }
        const cl_db_stmt_t *s = &c->db->stmts[k < n ? k : k - n < n ? k - n : n - 1];
        if (st == PGRES_FATAL_ERROR) { /* the later statements then come back ABORTED */
            c->prepare_failed = true;
            cl_log_error("db_prepare_failed", "pool=%s statement=%s at=%s error=\"%s\"",
                         c->db->name, s->name, s->where,
                         PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        } else if (st == PGRES_PIPELINE_ABORTED) {
            c->prepare_failed = true;
        } else if (k >= n && !c->prepare_failed) {
            char why[512];
            if (cl_db_stmt_check(s, res, why, sizeof why) != 0) {
                c->prepare_failed = true;
                cl_log_error("db_statement_mismatch", "pool=%s at=%s error=\"%s\"", c->db->name,
                             s->where, why);
            }
        }
        PQclear(res);
        return 0;
    }
    cl_db_batch_t *b = c->cur;
    if (st == PGRES_PIPELINE_SYNC) {
        PQclear(res);
        return 1;
    }
    if (st == PGRES_FATAL_ERROR) batch_sql_error(b, res);
    if ((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) && b->read < b->n && !b->res[b->read]) {
        b->res[b->read] = res;
        return 0;
    }
    PQclear(res);
    return 0;
}

static void on_drain(uv_idle_t *h);

/* Takes the results libpq holds: isBusy -> getResult, at most DRAIN_BOUND of them; when
 * the bound stops it with results possibly left, the drain idle handle goes on with them
 * on the next loop iteration (the socket will not fire for bytes already read). */
static void conn_drain(pgconn_t *c) {
    for (int guard = 0;; guard++) {
        if (guard == DRAIN_BOUND) {
            uv_idle_start(&c->drain, on_drain);
            return;
        }
        if (c->state != PGC_PREPARING && c->state != PGC_BUSY) return;
        if (PQisBusy(c->pg)) return;
        PGresult *res = PQgetResult(c->pg);
        if (!res) { /* end of one statement's results */
            if (c->state == PGC_PREPARING) {
                c->setup_step++;
            } else if (c->cur->read < c->cur->n) {
                c->cur->read++;
            }
            continue;
        }
        if (!conn_take_result(c, res)) continue;
        if (c->state == PGC_PREPARING) {
            /* A connection missing a statement would fail every request that uses it:
             * treat it as lost, so it is retried with backoff (e.g. after a migration). */
            if (c->prepare_failed)
                conn_lost(c, CL_EUNAVAIL, "cannot prepare statements");
            else
                conn_ready(c);
            return;
        }
        cl_db_batch_t *b = c->cur;
        c->cur = NULL;
        c->state = PGC_IDLE;
        uv_timer_stop(&c->timer);
        conn_watch(c, UV_READABLE);
        batch_deliver(b);
        if (c->db->closing) {
            db_check_closed(c->db);
            return;
        }
        conn_kick(c->db);
        return;
    }
}

static void on_drain(uv_idle_t *h) {
    pgconn_t *c = h->data;
    uv_idle_stop(h);
    if (c->state == PGC_PREPARING || c->state == PGC_BUSY) conn_drain(c);
}

/* Reads what the socket has, then drains: consume -> isBusy -> getResult. */
static void conn_read(pgconn_t *c) {
    if (PQconsumeInput(c->pg) != 1) {
        conn_lost(c, CL_EUNAVAIL, "the database connection was lost");
        return;
    }
    conn_drain(c);
}

static void on_poll(uv_poll_t *h, int status, int events) {
    pgconn_t *c = h->data;
    if (status < 0) {
        conn_lost(c, CL_EUNAVAIL, "database socket error");
        return;
    }
    switch (c->state) {
    case PGC_CONNECTING: conn_connect_poll(c); return;
    case PGC_PREPARING:
    case PGC_BUSY:
        if (events & UV_WRITABLE) {
            int f = PQflush(c->pg);
            if (f < 0) {
                conn_lost(c, CL_EUNAVAIL, "cannot send to the database");
                return;
            }
            if (f == 0) conn_watch(c, UV_READABLE);
        }
        if (events & UV_READABLE) conn_read(c);
        return;
    case PGC_IDLE:
        /* Nothing is expected: either a notice or the server closing on us. */
        if (PQconsumeInput(c->pg) != 1 || PQstatus(c->pg) == CONNECTION_BAD)
            conn_lost(c, CL_EUNAVAIL, "the database closed the connection");
        return;
    default: return;
    }
}

/* --- public API --- */

int cl_db_start(uv_loop_t *loop, const cl_db_opts_t *o, cl_db_t **out, char *err, size_t errlen) {
    if (!o->conninfo || !o->conninfo[0]) {
        snprintf(err, errlen, "db.conninfo is not set");
        return CL_ECONFIG;
    }
    cl_db_t *db = calloc(1, sizeof *db);
    if (!db) goto nomem;
    db->loop = loop;
    snprintf(db->name, sizeof db->name, "%s", o->name ? o->name : "main");
    /* Another pool than the main one names itself: in pg_stat_activity (the connections
     * an operator sees on a replica) and in the sentence a refused request gets, so a
     * user knows that statistics and reports are down, not the whole service. */
    bool main_pool = strcmp(db->name, "main") == 0;
    snprintf(db->what, sizeof db->what, "the %s%sdatabase", main_pool ? "" : db->name,
             main_pool ? "" : " ");
    snprintf(db->appname, sizeof db->appname, "closeloopd%s%s", main_pool ? "" : "-",
             main_pool ? "" : db->name);
    snprintf(db->unavailable, sizeof db->unavailable, "%s is unavailable; retry%s", db->what,
             main_pool ? "" : " later (requests on the main database are not affected)");
    db->conninfo = strdup(o->conninfo);
    db->timeout_ms = o->statement_timeout_ms ? o->statement_timeout_ms : 5000;
    /* Generic plans: every statement is prepared once and run with many parameter sets;
     * re-planning the large data-modifying CTEs on each call cost ~2 ms each. */
    snprintf(db->options, sizeof db->options,
             "-c statement_timeout=%u -c plan_cache_mode=force_generic_plan", db->timeout_ms);
    db->stmts = o->stmts;
    db->nstmts = o->nstmts;
    db->nconns = o->pool_size ? o->pool_size : 1;
    db->conns = calloc(db->nconns, sizeof *db->conns);
    if (!db->conninfo || !db->conns) goto nomem;
    uv_idle_init(loop, &db->deferred_idle);
    db->deferred_idle.data = db;
    db->handles_open++;
    for (unsigned i = 0; i < db->nconns; i++) {
        pgconn_t *c = &db->conns[i];
        c->db = db;
        c->idx = i;
        c->poll_fd = -1;
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        uv_idle_init(loop, &c->drain);
        c->drain.data = c;
        db->handles_open += 2;
        conn_connect(c);
    }
    *out = db;
    return CL_OK;
nomem:
    if (db) {
        free(db->conninfo);
        free(db->conns);
        free(db);
    }
    snprintf(err, errlen, "out of memory");
    return CL_ENOMEM;
}

unsigned cl_db_connected(const cl_db_t *db) {
    return db->up;
}

const cl_db_stmt_t *cl_db_stmt(const cl_db_t *db, int stmt) {
    return stmt >= 0 && (size_t)stmt < db->nstmts ? &db->stmts[stmt] : NULL;
}

int cl_db_stmt_check(const cl_db_stmt_t *s, const PGresult *desc, char *err, size_t errlen) {
    if (PQresultStatus(desc) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "statement %s (%s) could not be described", s->name, s->where);
        return -1;
    }
    if (PQnparams(desc) != s->nparams) {
        snprintf(err, errlen, "statement %s (%s) takes %d parameters in the database, %d in C",
                 s->name, s->where, PQnparams(desc), s->nparams);
        return -1;
    }
    int n = PQnfields(desc);
    for (int i = 0; i < n || i < s->ncols; i++) {
        const char *db_name = i < n ? PQfname(desc, i) : NULL;
        const char *c_name = i < s->ncols ? s->cols[i] : NULL;
        if (db_name && c_name && !strcmp(db_name, c_name)) continue;
        if (!c_name)
            snprintf(err, errlen, "statement %s (%s): column %d \"%s\" is not known to C", s->name,
                     s->where, i + 1, db_name);
        else if (!db_name)
            snprintf(err, errlen, "statement %s (%s): column %d \"%s\" is missing in the database",
                     s->name, s->where, i + 1, c_name);
        else
            snprintf(err, errlen,
                     "statement %s (%s): column %d is \"%s\" in the database, \"%s\" in C", s->name,
                     s->where, i + 1, db_name, c_name);
        return -1;
    }
    return 0;
}

cl_db_batch_t *cl_db_batch_new(cl_db_t *db) {
    cl_db_batch_t *b = calloc(1, sizeof *b);
    if (b) b->db = db;
    return b;
}

int cl_db_batch_add(cl_db_batch_t *b, int stmt, const char *const *params, const int *lengths) {
    const cl_db_stmt_t *s = cl_db_stmt(b->db, stmt);
    if (!s || s->nparams > CL_DB_MAX_PARAMS || b->n >= CL_DB_MAX_BATCH ||
        (s->binary_params && !lengths)) {
        cl_log_error("db_batch_invalid", "statement=%d batch=%d", stmt, b->n);
        return CL_EINVAL;
    }
    int i = b->n;
    for (int k = 0; k < s->nparams; k++) {
        bool bin = s->binary_params & (1u << k);
        b->ops[i].formats[k] = bin;
        b->ops[i].lengths[k] = bin ? lengths[k] : 0;
        if (!params[k]) continue;
        size_t len = bin ? (size_t)lengths[k] : strlen(params[k]) + 1;
        char *copy = malloc(len ? len : 1);
        if (!copy) {
            for (int j = 0; j < k; j++)
                free(b->ops[i].params[j]);
            memset(&b->ops[i], 0, sizeof b->ops[i]);
            return CL_ENOMEM;
        }
        memcpy(copy, params[k], len);
        b->ops[i].params[k] = copy;
    }
    b->ops[i].nparams = s->nparams;
    b->stmts[i] = s;
    b->n++;
    return CL_OK;
}

void cl_db_batch_free(cl_db_batch_t *b) {
    if (b) batch_free(b);
}

void cl_db_batch_run(cl_db_batch_t *b, cl_db_cb cb, void *arg) {
    cl_db_t *db = b->db;
    b->cb = cb;
    b->arg = arg;
    if (db->closing) {
        batch_defer_fail(b, CL_ESHUTDOWN, "the server is shutting down; retry");
        return;
    }
    if (b->n == 0) {
        batch_defer_fail(b, CL_EINTERNAL, "empty batch");
        return;
    }
    bool any_hope = pool_can_serve(db);
    if (!any_hope) {
        batch_defer_fail(b, CL_EUNAVAIL, db->unavailable);
        return;
    }
    b->next = NULL;
    if (db->qtail)
        db->qtail->next = b;
    else
        db->qhead = b;
    db->qtail = b;
    conn_kick(db);
}

void cl_db_exec_bin(cl_db_t *db, int stmt, const char *const *params, const int *lengths,
                    cl_db_cb cb, void *arg) {
    cl_db_batch_t *b = cl_db_batch_new(db);
    if (!b) {
        cl_db_result_t r = {
            .status = CL_ENOMEM, .sqlstate = "", .message = "out of memory", .constraint = ""};
        cb(arg, &r);
        return;
    }
    if (cl_db_batch_add(b, stmt, params, lengths) != CL_OK) b->n = 0;
    cl_db_batch_run(b, cb, arg);
}

void cl_db_exec(cl_db_t *db, int stmt, const char *const *params, cl_db_cb cb, void *arg) {
    cl_db_exec_bin(db, stmt, params, NULL, cb, arg);
}

static void on_handle_closed(uv_handle_t *h) {
    cl_db_t *db = h->data;
    db->handles_open--;
    db_check_closed(db);
}

static void db_check_closed(cl_db_t *db) {
    if (!db->closing) return;
    for (unsigned i = 0; i < db->nconns; i++)
        if (db->conns[i].state == PGC_BUSY) return; /* let in-flight batches finish */
    for (unsigned i = 0; i < db->nconns; i++) {
        pgconn_t *c = &db->conns[i];
        if (c->state == PGC_IDLE) db->up--;
        c->state = PGC_CLOSED;
        conn_finish(c);
        if (!c->timer_closed) {
            c->timer_closed = true;
            c->timer.data = db;
            uv_close((uv_handle_t *)&c->timer, on_handle_closed);
            c->drain.data = db;
            uv_close((uv_handle_t *)&c->drain, on_handle_closed);
        }
    }
    if (db->deferred) return;
    if (!uv_is_closing((uv_handle_t *)&db->deferred_idle)) {
        uv_close((uv_handle_t *)&db->deferred_idle, on_handle_closed);
        return;
    }
    if (db->handles_open == 0 && db->done_cb) {
        void (*cb)(void *) = db->done_cb;
        db->done_cb = NULL;
        cb(db->done_arg);
    }
}

void cl_db_close(cl_db_t *db, void (*done_cb)(void *arg), void *arg) {
    if (db->closing) return;
    db->closing = true;
    db->done_cb = done_cb;
    db->done_arg = arg;
    while (db->qhead) {
        cl_db_batch_t *q = db->qhead;
        db->qhead = q->next;
        batch_defer_fail(q, CL_ESHUTDOWN, "the server is shutting down; retry");
    }
    db->qtail = NULL;
    db_check_closed(db);
}

void cl_db_free(cl_db_t *db) {
    if (!db) return;
    free(db->conninfo);
    free(db->conns);
    free(db);
}
