/* test_changelog.c - the change feed's reading rule (docs/SCHEMA.md), against a real
 * PostgreSQL cluster (pgtest) with the migrations applied:
 *  - a reader paging by (xid, seq) below pg_snapshot_xmin() reads every committed
 *    change_log row exactly once while 4 writers and a long transaction run;
 *  - a reader paging by seq alone, in the same run, misses the long transaction's row
 *    (ordered deterministically, so this test can fail);
 *  - rows of aborted transactions (rollback, error, killed session, server crash) never
 *    appear, and the safe reader moves on once they have ended.
 * Threads own their own libpq connection; cmocka assertions run on the main thread only. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pgtest.h"

#define N_WRITERS   4
#define N_TX        300 /* committed transactions per writer */
#define ABORT_EVERY 10  /* one extra rolled-back transaction per this many */
#define PAGE        500
#define WAIT_MS     60000

#define ACTOR_SQL                                                                                  \
    "SELECT set_config('closeloop.actor', '{\"user_id\":0,\"username\":\"test\"}', true)"

/* The reading rule under test, exactly as docs/SCHEMA.md gives it. */
#define SAFE_SQL                                                                                   \
    "SELECT xid, seq FROM change_log"                                                              \
    " WHERE xid < pg_snapshot_xmin(pg_current_snapshot())"                                         \
    "   AND (xid, seq) > ($1::xid8, $2::bigint)"                                                   \
    " ORDER BY xid, seq LIMIT 500"
/* The tempting and wrong one. */
#define NAIVE_SQL "SELECT xid, seq FROM change_log WHERE seq > $1::bigint ORDER BY seq LIMIT 500"

static pgtest_t pg; /* one cluster for the group; static so the atexit cleanup can reach it */

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us) {
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- small libpq helpers (any thread; errors go to err) ---- */

static PGconn *db_connect(char *err, size_t errlen) {
    PGconn *c = PQconnectdb(pg.conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Runs sql; with out, the first column of the first row of the last result as int64. */
static int db_run(PGconn *c, const char *sql, int64_t *out, char *err, size_t errlen) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    int rc = 0;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(c));
        rc = -1;
    } else if (out) {
        if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
            snprintf(err, errlen, "%s: expected one value", sql);
            rc = -1;
        } else {
            *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        }
    }
    PQclear(r);
    return rc;
}

/* Opens a transaction that inserts a company named name (tracked, so cl_track writes a
 * change_log row) and leaves it open; *seq is that change_log row's seq. */
static int begin_insert(PGconn *c, const char *name, int64_t *seq, char *err, size_t errlen) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN; " ACTOR_SQL "; INSERT INTO companies (kind, name) VALUES ('hq', '%s'); "
             "SELECT currval(pg_get_serial_sequence('change_log', 'seq'))",
             name);
    return db_run(c, sql, seq, err, errlen);
}

static int insert_committed(PGconn *c, const char *name, int64_t *seq, char *err, size_t errlen) {
    if (begin_insert(c, name, seq, err, errlen) != 0) return -1;
    return db_run(c, "COMMIT", NULL, err, errlen);
}

/* ---- a feed reader: a cursor, and every seq it has read in read order ---- */

typedef struct feed {
    int safe;      /* 1: (xid, seq) below the horizon; 0: naive seq cursor */
    PGconn *conn;  /* owned */
    uint64_t xid;  /* cursor */
    int64_t seq;   /* cursor */
    int64_t *seen; /* seqs read, in order */
    size_t n, cap;
    char err[512];
} feed_t;

static int feed_open(feed_t *f, int safe) {
    memset(f, 0, sizeof *f);
    f->safe = safe;
    f->conn = db_connect(f->err, sizeof f->err);
    return f->conn ? 0 : -1;
}

static void feed_close(feed_t *f) {
    PQfinish(f->conn);
    f->conn = NULL;
    free(f->seen);
    f->seen = NULL;
}

/* Reads one page and advances the cursor: rows read, or -1. */
static int feed_page(feed_t *f) {
    char xs[32], ss[32];
    snprintf(xs, sizeof xs, "%llu", (unsigned long long)f->xid);
    snprintf(ss, sizeof ss, "%lld", (long long)f->seq);
    const char *safe_params[2] = {xs, ss}, *naive_params[1] = {ss};
    PGresult *r = f->safe ? PQexecParams(f->conn, SAFE_SQL, 2, NULL, safe_params, NULL, NULL, 0)
                          : PQexecParams(f->conn, NAIVE_SQL, 1, NULL, naive_params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(f->err, sizeof f->err, "feed page: %s", PQerrorMessage(f->conn));
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        uint64_t x = strtoull(PQgetvalue(r, i, 0), NULL, 10);
        int64_t s = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 1024;
            int64_t *p = realloc(f->seen, cap * sizeof *p);
            if (!p) abort();
            f->seen = p;
            f->cap = cap;
        }
        f->seen[f->n++] = s;
        f->xid = x;
        f->seq = s;
    }
    PQclear(r);
    return n;
}

/* Pages until nothing is left. The safe reader first waits until the horizon has passed
 * every visible row (a passing autovacuum transaction may hold it back briefly). */
static int feed_drain(feed_t *f) {
    if (f->safe) {
        long until = now_ms() + WAIT_MS;
        for (;;) {
            int64_t past = 0;
            if (db_run(f->conn,
                       "SELECT (pg_snapshot_xmin(pg_current_snapshot()) > coalesce("
                       "(SELECT xid FROM change_log ORDER BY xid DESC LIMIT 1), '0'))::int",
                       &past, f->err, sizeof f->err) != 0)
                return -1;
            if (past) break;
            if (now_ms() > until) {
                snprintf(f->err, sizeof f->err, "the horizon never passed the last row");
                return -1;
            }
            sleep_us(5000);
        }
    }
    int n;
    while ((n = feed_page(f)) > 0) {
    }
    return n;
}

static int feed_has(const feed_t *f, int64_t seq) {
    for (size_t i = 0; i < f->n; i++)
        if (f->seen[i] == seq) return 1;
    return 0;
}

/* Pages until seq has been read; -1 on error or after timeout_ms. */
static int feed_until(feed_t *f, int64_t seq, long timeout_ms) {
    long until = now_ms() + timeout_ms;
    size_t from = 0;
    for (;;) {
        int n = feed_page(f);
        if (n < 0) return -1;
        for (; from < f->n; from++)
            if (f->seen[from] == seq) return 0;
        if (now_ms() > until) {
            snprintf(f->err, sizeof f->err, "seq %lld not read within %ld ms", (long long)seq,
                     timeout_ms);
            return -1;
        }
        if (n == 0) sleep_us(2000);
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Every seq now in change_log, ascending. */
static int64_t *all_seqs(size_t *n) {
    char err[512];
    PGconn *c = db_connect(err, sizeof err);
    if (!c) fail_msg("%s", err);
    PGresult *r = PQexec(c, "SELECT seq FROM change_log ORDER BY seq");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s", PQerrorMessage(c));
    *n = (size_t)PQntuples(r);
    int64_t *v = malloc((*n + 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++)
        v[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static int has_i64(const int64_t *sorted, size_t n, int64_t x) {
    return bsearch(&x, sorted, n, sizeof x, cmp_i64) != NULL;
}

/* Asserts that f read exactly the rows in truth, each once. */
static void assert_exactly_once(const feed_t *f, const int64_t *truth, size_t n_truth) {
    int64_t *got = malloc((f->n + 1) * sizeof *got);
    assert_non_null(got);
    memcpy(got, f->seen, f->n * sizeof *got);
    qsort(got, f->n, sizeof *got, cmp_i64);
    for (size_t i = 1; i < f->n; i++)
        if (got[i] == got[i - 1]) fail_msg("seq %lld read twice", (long long)got[i]);
    for (size_t i = 0; i < n_truth; i++)
        if (!has_i64(got, f->n, truth[i])) fail_msg("seq %lld never read", (long long)truth[i]);
    for (size_t i = 0; i < f->n; i++)
        if (!has_i64(truth, n_truth, got[i]))
            fail_msg("seq %lld read but not in change_log", (long long)got[i]);
    assert_int_equal(f->n, n_truth);
    free(got);
}

/* ---- the concurrent scenario ---- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived; /* writers done with their first half */
    int open;    /* main let them go on */
} gate_t;

typedef struct writer {
    pthread_t th;
    int id;
    gate_t *gate;
    int committed;
    int64_t aborted[N_TX / ABORT_EVERY + 1]; /* seqs of rows whose transaction rolled back */
    int n_aborted;
    char err[512];
} writer_t;

typedef struct reader {
    pthread_t th;
    feed_t f;
    atomic_int stop;
    atomic_llong cur_seq; /* published cursor */
    atomic_ullong cur_xid;
    atomic_llong pages;
    int failed;
} reader_t;

static void gate_pass(gate_t *g) {
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void *writer_main(void *arg) {
    writer_t *w = arg;
    PGconn *c = db_connect(w->err, sizeof w->err);
    uint32_t rnd = 2463534242u + (uint32_t)w->id * 7919u;
    int passed = 0;
    for (int i = 0; c && i < N_TX; i++) {
        if (i == N_TX / 2) {
            gate_pass(w->gate);
            passed = 1;
        }
        char name[64];
        int64_t seq;
        snprintf(name, sizeof name, "w%d-%d", w->id, i);
        if (begin_insert(c, name, &seq, w->err, sizeof w->err) != 0) break;
        rnd ^= rnd << 13, rnd ^= rnd >> 17, rnd ^= rnd << 5;
        if (rnd % 3 == 0) sleep_us(rnd % 400); /* commit out of seq order now and then */
        if (db_run(c, "COMMIT", NULL, w->err, sizeof w->err) != 0) break;
        w->committed++;
        if (i % ABORT_EVERY == 0) {
            snprintf(name, sizeof name, "abort-w%d-%d", w->id, i);
            if (begin_insert(c, name, &seq, w->err, sizeof w->err) != 0) break;
            w->aborted[w->n_aborted++] = seq;
            if (db_run(c, "ROLLBACK", NULL, w->err, sizeof w->err) != 0) break;
        }
    }
    if (!passed) gate_pass(w->gate); /* never leave main waiting */
    PQfinish(c);
    return NULL;
}

static void *reader_main(void *arg) {
    reader_t *r = arg;
    while (!atomic_load(&r->stop)) {
        int n = feed_page(&r->f);
        if (n < 0) {
            r->failed = 1;
            break;
        }
        atomic_store(&r->cur_seq, (long long)r->f.seq);
        atomic_store(&r->cur_xid, (unsigned long long)r->f.xid);
        atomic_fetch_add(&r->pages, 1);
        if (n == 0) sleep_us(500);
    }
    return NULL;
}

static void concurrent_writers_safe_reader_exactly_once(void **state) {
    (void)state;
    long t0 = now_ms();
    char err[512];
    gate_t gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    static writer_t w[N_WRITERS];
    static reader_t safe, naive;
    memset(w, 0, sizeof w);
    memset(&safe, 0, sizeof safe);
    memset(&naive, 0, sizeof naive);

    /* The long transaction takes its xid and a small seq before anything else runs. */
    PGconn *lc = db_connect(err, sizeof err);
    if (!lc) fail_msg("%s", err);
    int64_t long_seq = 0, long_xid = 0;
    if (begin_insert(lc, "long-1", &long_seq, err, sizeof err) != 0 ||
        db_run(lc, "SELECT pg_current_xact_id()::text::bigint", &long_xid, err, sizeof err))
        fail_msg("%s", err);

    if (feed_open(&safe.f, 1) != 0) fail_msg("%s", safe.f.err);
    if (feed_open(&naive.f, 0) != 0) fail_msg("%s", naive.f.err);
    assert_int_equal(pthread_create(&safe.th, NULL, reader_main, &safe), 0);
    assert_int_equal(pthread_create(&naive.th, NULL, reader_main, &naive), 0);
    for (int i = 0; i < N_WRITERS; i++) {
        w[i].id = i;
        w[i].gate = &gate;
        assert_int_equal(pthread_create(&w[i].th, NULL, writer_main, &w[i]), 0);
    }

    /* Phase 1: half the writes commit and the naive cursor moves past the long row. */
    long until = now_ms() + WAIT_MS;
    int ready = 0;
    while (!ready && now_ms() < until && !naive.failed) {
        pthread_mutex_lock(&gate.mu);
        ready = gate.arrived == N_WRITERS;
        pthread_mutex_unlock(&gate.mu);
        ready = ready && atomic_load(&naive.cur_seq) > long_seq;
        if (!ready) sleep_us(1000);
    }
    long long naive_before = atomic_load(&naive.cur_seq);
    unsigned long long safe_xid_before = atomic_load(&safe.cur_xid);

    /* Commit the long transaction; phase 2 runs concurrently with both readers. */
    int commit_rc = db_run(lc, "COMMIT", NULL, err, sizeof err);
    PQfinish(lc);
    pthread_mutex_lock(&gate.mu);
    gate.open = 1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    for (int i = 0; i < N_WRITERS; i++)
        pthread_join(w[i].th, NULL);
    long long safe_pages_writing = atomic_load(&safe.pages);
    atomic_store(&safe.stop, 1);
    atomic_store(&naive.stop, 1);
    pthread_join(safe.th, NULL);
    pthread_join(naive.th, NULL);

    if (commit_rc != 0) fail_msg("long transaction: %s", err);
    for (int i = 0; i < N_WRITERS; i++) {
        if (w[i].err[0]) fail_msg("writer %d: %s", i, w[i].err);
        assert_int_equal(w[i].committed, N_TX);
    }
    if (safe.failed) fail_msg("safe reader: %s", safe.f.err);
    if (naive.failed) fail_msg("naive reader: %s", naive.f.err);
    if (!ready) fail_msg("phase 1 did not finish in %d ms", WAIT_MS);
    assert_true(naive_before > long_seq);
    /* While the long transaction was open the horizon held the safe reader below it. */
    assert_true(safe_xid_before < (unsigned long long)long_xid);

    /* A final drain after every writer has finished. */
    if (feed_drain(&safe.f) < 0) fail_msg("safe drain: %s", safe.f.err);
    if (feed_drain(&naive.f) < 0) fail_msg("naive drain: %s", naive.f.err);

    size_t n_truth;
    int64_t *truth = all_seqs(&n_truth);
    assert_true(n_truth >= (size_t)(N_WRITERS * N_TX + 1));
    assert_true(has_i64(truth, n_truth, long_seq));

    /* (a) the safe reader read every committed row exactly once. */
    assert_exactly_once(&safe.f, truth, n_truth);

    /* (b) the naive reader missed the long transaction's row (and maybe others). */
    size_t missed = 0;
    for (size_t i = 0; i < n_truth; i++)
        missed += !feed_has(&naive.f, truth[i]);
    assert_false(feed_has(&naive.f, long_seq));
    assert_true(missed >= 1);

    /* (c) rows of rolled-back transactions never appear. */
    int n_aborted = 0;
    for (int i = 0; i < N_WRITERS; i++)
        for (int j = 0; j < w[i].n_aborted; j++, n_aborted++) {
            assert_false(has_i64(truth, n_truth, w[i].aborted[j]));
            assert_false(feed_has(&safe.f, w[i].aborted[j]));
            assert_false(feed_has(&naive.f, w[i].aborted[j]));
        }
    assert_true(n_aborted > 0);

    printf("# %zu rows by %d writers + 1 long txn (%d rolled back): safe read %zu exactly "
           "once (%lld pages while writing), naive missed %zu incl. the long row; %ld ms\n",
           n_truth, N_WRITERS, n_aborted, safe.f.n, safe_pages_writing, missed, now_ms() - t0);
    free(truth);
    feed_close(&safe.f);
    feed_close(&naive.f);
}

/* The feed query can be answered from the (xid, seq) index in order: the horizon and
 * the row comparison are both index conditions, and no sort is needed. (On a table this
 * small the planner would rather scan it, so the other plans are switched off.) */
static void safe_query_uses_feed_index(void **state) {
    (void)state;
    char err[512];
    PGconn *c = db_connect(err, sizeof err);
    if (!c) fail_msg("%s", err);
    if (db_run(c, "SET enable_seqscan = off; SET enable_bitmapscan = off", NULL, err, sizeof err) !=
        0)
        fail_msg("%s", err);
    const char *params[2] = {"0", "0"};
    PGresult *r = PQexecParams(c, "EXPLAIN " SAFE_SQL, 2, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int index = 0, rowcmp = 0, sort = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *line = PQgetvalue(r, i, 0);
        index |= strstr(line, "Scan using change_log_feed") != NULL;
        rowcmp |= strstr(line, "Index Cond:") && strstr(line, "ROW(xid, seq) >");
        sort |= strstr(line, "Sort") != NULL;
    }
    PQclear(r);
    PQfinish(c);
    assert_true(index);
    assert_true(rowcmp);
    assert_false(sort);
}

/* ---- aborted transactions ---- */

static void aborted_rows_never_appear_and_do_not_stall(void **state) {
    (void)state;
    char err[512];
    feed_t f;
    if (feed_open(&f, 1) != 0) fail_msg("%s", f.err);
    if (feed_drain(&f) < 0) fail_msg("%s", f.err);
    PGconn *c1 = db_connect(err, sizeof err), *c2 = db_connect(err, sizeof err);
    if (!c1 || !c2) fail_msg("%s", err);
    int64_t ab[5] = {0}, m0 = 0, m1 = 0, m2 = 0, killed_pid = 0, gone = 0;

    /* An explicit rollback. */
    if (begin_insert(c1, "c-rollback", &ab[0], err, sizeof err) ||
        db_run(c1, "ROLLBACK", NULL, err, sizeof err))
        fail_msg("%s", err);
    /* A transaction aborted by an error after its insert. */
    if (begin_insert(c1, "c-error", &ab[1], err, sizeof err)) fail_msg("%s", err);
    assert_int_not_equal(db_run(c1, "SELECT 1/0", NULL, err, sizeof err), 0);
    if (db_run(c1, "ROLLBACK", NULL, err, sizeof err)) fail_msg("%s", err);
    /* A session killed in the middle of its transaction. */
    killed_pid = PQbackendPID(c2);
    if (begin_insert(c2, "c-killed", &ab[2], err, sizeof err)) fail_msg("%s", err);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld, 10000)::int",
             (long long)killed_pid);
    if (db_run(c1, sql, &gone, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(gone, 1);
    PQfinish(c2);

    /* An open transaction holds the horizon: a row committed after it is not read... */
    c2 = db_connect(err, sizeof err);
    if (!c2) fail_msg("%s", err);
    if (begin_insert(c2, "c-slow-abort", &ab[3], err, sizeof err) ||
        insert_committed(c1, "c-marker-0", &m0, err, sizeof err))
        fail_msg("%s", err);
    for (int i = 0; i < 5; i++)
        if (feed_page(&f) < 0) fail_msg("%s", f.err);
    assert_false(feed_has(&f, m0));
    /* ...until it aborts, and then the reader moves on at once. */
    if (db_run(c2, "ROLLBACK", NULL, err, sizeof err) ||
        insert_committed(c1, "c-marker-1", &m1, err, sizeof err))
        fail_msg("%s", err);
    if (feed_until(&f, m1, 10000) != 0) fail_msg("%s", f.err);
    assert_true(feed_has(&f, m0));

    /* A transaction open when PostgreSQL is killed is aborted by crash recovery. */
    if (begin_insert(c2, "c-crash", &ab[4], err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(pgtest_stop(&pg, PGTEST_IMMEDIATE), 0);
    PQfinish(c1);
    PQfinish(c2);
    PQfinish(f.conn);
    assert_int_equal(pgtest_restart_after_kill(&pg), 0);
    f.conn = db_connect(f.err, sizeof f.err); /* the cursor survives, the session not */
    c1 = db_connect(err, sizeof err);
    if (!f.conn || !c1) fail_msg("%s / %s", f.err, err);
    if (insert_committed(c1, "c-marker-2", &m2, err, sizeof err)) fail_msg("%s", err);
    if (feed_until(&f, m2, 10000) != 0) fail_msg("%s", f.err);
    if (feed_drain(&f) < 0) fail_msg("%s", f.err);

    size_t n_truth;
    int64_t *truth = all_seqs(&n_truth);
    for (int i = 0; i < 5; i++) {
        assert_false(has_i64(truth, n_truth, ab[i]));
        assert_false(feed_has(&f, ab[i]));
    }
    assert_true(has_i64(truth, n_truth, m2));
    assert_exactly_once(&f, truth, n_truth); /* across the crash too */
    free(truth);
    PQfinish(c1);
    feed_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_writers_safe_reader_exactly_once),
        cmocka_unit_test(safe_query_uses_feed_index),
        cmocka_unit_test(aborted_rows_never_appear_and_do_not_stall),
    };
    const pgtest_group_t group = {.pg = &pg, .migrate = 1};
    return pgtest_run_group(&group, tests, sizeof tests / sizeof tests[0]);
}
