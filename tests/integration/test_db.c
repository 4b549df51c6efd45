/* test_db.c - the database pool (server/engine/db.c) on a real libuv loop against a real
 * PostgreSQL (pgtest), without the daemon:
 *  - the bounded result drain goes on by itself after the bound: this test's build of
 *    db.c sets CL_DB_DRAIN_BOUND to 3 (production: 10000, the same code), so preparing
 *    the statements and every batch of 16 statements stops at the bound many times, with
 *    the rest of the results already inside libpq where the socket never signals them;
 *  - the watchdog scales with the batch: statement_timeout bounds each statement, so a
 *    batch of 10 statements of 0.7 s each under a 1 s statement_timeout succeeds (a
 *    watchdog of one timeout plus slack would cut it at 6 s), while one statement over the
 *    timeout fails with the server's own timeout (SQLSTATE 57014);
 *  - the pool closes every handle it opened: uv_loop_close succeeds afterwards;
 *  - a pool other than the main one names itself: its connections' application_name is
 *    closeloopd-NAME (the main pool's closeloopd), and a request it cannot serve is
 *    refused with a sentence naming it (the main pool's sentence is unchanged).
 * Everything runs on the test's main thread; the guard timer ends a wait that hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <uv.h>

#include "db.h"
#include "pgtest.h"

#if CL_DB_DRAIN_BOUND > 8
#error "test_db needs db.c built with a small CL_DB_DRAIN_BOUND (see tests/CMakeLists.txt)"
#endif

static pgtest_t pg; /* static so the atexit cleanup can reach it */

/* The test's statements: one parameter, one column each. */
#define TEST_STMT(stmt_name, text, col_names)                                                      \
    {                                                                                              \
        .name = (stmt_name), .where = "test_db.c", .sql = (text), .nparams = 1, .ncols = 1,        \
        .cols = (col_names)                                                                        \
    }
static const char *const ten_cols[] = {"ten"};
static const char *const nap_cols[] = {"nap"};
static const char *const app_cols[] = {"app"};
enum { TEST_TIMES_TEN, TEST_NAP, TEST_APP, TEST_NSTMTS };
static const cl_db_stmt_t test_stmts[TEST_NSTMTS] = {
    [TEST_TIMES_TEN] = TEST_STMT("test_times_ten", "SELECT $1::int * 10 AS ten", ten_cols),
    [TEST_NAP] = TEST_STMT("test_nap", "SELECT pg_sleep($1::float8) AS nap", nap_cols),
    [TEST_APP] = TEST_STMT("test_app", "SELECT current_setting($1::text) AS app", app_cols),
};

/* A loop with a pool and a guard timer that ends a wait that hangs. */
typedef struct pool {
    uv_loop_t loop;
    uv_timer_t guard;
    cl_db_t *db;
    int want;      /* callbacks to wait for */
    int seen;      /* callbacks seen */
    int timed_out; /* the guard fired */
    int closed;    /* the pool's done callback ran */
} pool_t;

/* One batch's outcome, checked on the main thread after the loop stops. */
typedef struct outcome {
    pool_t *p;
    int calls;
    int status;
    char sqlstate[6];
    int count;
    int values[CL_DB_MAX_BATCH]; /* column 0 of row 0 of each result, or -1 */
    char text[64];               /* column 0 of row 0 of the first result, as text */
    char message[256];           /* the failure's sentence */
    uint64_t done_ms;            /* loop time of the callback */
} outcome_t;

static void on_guard(uv_timer_t *t) {
    pool_t *p = t->data;
    p->timed_out = 1;
    uv_stop(&p->loop);
}

static void pool_open_as(pool_t *p, unsigned size, unsigned timeout_ms, const char *conninfo,
                         const char *name) {
    memset(p, 0, sizeof *p);
    assert_int_equal(uv_loop_init(&p->loop), 0);
    uv_timer_init(&p->loop, &p->guard);
    p->guard.data = p;
    cl_db_opts_t o = {.conninfo = conninfo,
                      .pool_size = size,
                      .statement_timeout_ms = timeout_ms,
                      .stmts = test_stmts,
                      .nstmts = TEST_NSTMTS,
                      .name = name};
    char err[256];
    assert_int_equal(cl_db_start(&p->loop, &o, &p->db, err, sizeof err), CL_OK);
}

static void pool_open(pool_t *p, unsigned size, unsigned timeout_ms) {
    pool_open_as(p, size, timeout_ms, pg.conninfo, "test");
}

/* Runs the loop until want callbacks have been seen or timeout_ms passed; 0 or -1. */
static int pool_wait(pool_t *p, int want, uint64_t timeout_ms) {
    p->want = want;
    p->timed_out = 0;
    uv_timer_start(&p->guard, on_guard, timeout_ms, 0);
    while (p->seen < p->want && !p->timed_out)
        uv_run(&p->loop, UV_RUN_ONCE);
    uv_timer_stop(&p->guard);
    return p->seen >= p->want ? 0 : -1;
}

static void on_pool_closed(void *arg) {
    ((pool_t *)arg)->closed = 1;
}

/* Closes the pool and the loop; every handle must be closed by then. */
static void pool_close(pool_t *p) {
    cl_db_close(p->db, on_pool_closed, p);
    uv_close((uv_handle_t *)&p->guard, NULL);
    assert_int_equal(uv_run(&p->loop, UV_RUN_DEFAULT), 0);
    assert_true(p->closed);
    assert_int_equal(uv_loop_close(&p->loop), 0);
    cl_db_free(p->db);
}

static void on_batch(void *arg, const cl_db_result_t *r) {
    outcome_t *o = arg;
    o->calls++;
    o->status = r->status;
    snprintf(o->sqlstate, sizeof o->sqlstate, "%s", r->sqlstate);
    snprintf(o->message, sizeof o->message, "%s", r->message);
    o->count = r->count;
    if (r->count > 0 && r->res && r->res[0] && PQntuples(r->res[0]) == 1)
        snprintf(o->text, sizeof o->text, "%s", PQgetvalue(r->res[0], 0, 0));
    for (int i = 0; i < r->count && i < CL_DB_MAX_BATCH; i++) {
        const PGresult *res = r->res ? r->res[i] : NULL;
        o->values[i] = res && PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
    }
    o->done_ms = uv_now(&o->p->loop);
    if (++o->p->seen >= o->p->want) uv_stop(&o->p->loop);
}

/* Submits a batch of n test_times_ten statements, for base*100 + i. */
static void run_times_ten(pool_t *p, outcome_t *o, int base, int n) {
    memset(o, 0, sizeof *o);
    o->p = p;
    cl_db_batch_t *b = cl_db_batch_new(p->db);
    assert_non_null(b);
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", base * 100 + i);
        const char *params[] = {v};
        assert_int_equal(cl_db_batch_add(b, TEST_TIMES_TEN, params, NULL), CL_OK);
    }
    cl_db_batch_run(b, on_batch, o);
}

static void check_times_ten(const outcome_t *o, int base, int n) {
    assert_int_equal(o->calls, 1);
    if (o->status != CL_OK) fail_msg("batch %d failed: %d (%s)", base, o->status, o->sqlstate);
    assert_int_equal(o->count, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(o->values[i], (base * 100 + i) * 10);
}

/* Preparing and describing two statements (9 results) and a batch of 16 (33 results) each pass the
 * bound of 3 many times; the drain must go on without the socket firing again. */
static void drain_goes_on_after_the_bound(void **state) {
    (void)state;
    pool_t p;
    pool_open(&p, 1, 2000);
    outcome_t one;
    run_times_ten(&p, &one, 1, CL_DB_MAX_BATCH);
    if (pool_wait(&p, 1, 5000) != 0)
        fail_msg("no answer in 5 s: the results left after the drain bound were never read");
    check_times_ten(&one, 1, CL_DB_MAX_BATCH);
    pool_close(&p);
}

/* Many batches queued at once over two connections: each answered once, with its own
 * results, while the drains of both connections take turns. */
static void many_batches_drain_in_turns(void **state) {
    (void)state;
    enum { N = 40 };
    pool_t p;
    pool_open(&p, 2, 2000);
    static outcome_t out[N];
    for (int k = 0; k < N; k++)
        run_times_ten(&p, &out[k], k, 1 + k % CL_DB_MAX_BATCH);
    if (pool_wait(&p, N, 20000) != 0) fail_msg("only %d of %d batches answered in 20 s", p.seen, N);
    for (int k = 0; k < N; k++)
        check_times_ten(&out[k], k, 1 + k % CL_DB_MAX_BATCH);
    assert_int_equal(p.seen, N);
    pool_close(&p);
}

/* Submits one batch of n naps of secs seconds each. */
static void run_naps(pool_t *p, outcome_t *o, int n, const char *secs) {
    memset(o, 0, sizeof *o);
    o->p = p;
    cl_db_batch_t *b = cl_db_batch_new(p->db);
    assert_non_null(b);
    const char *params[] = {secs};
    for (int i = 0; i < n; i++)
        assert_int_equal(cl_db_batch_add(b, TEST_NAP, params, NULL), CL_OK);
    cl_db_batch_run(b, on_batch, o);
}

static void watchdog_scales_with_the_statements(void **state) {
    (void)state;
    pool_t p;
    pool_open(&p, 1, 1000); /* statement_timeout 1 s; a watchdog of 1 s + 5 s slack is too
                             * short for 10 statements that each stay within it */
    /* Connect first, so the batch's time is its own. */
    outcome_t warm;
    run_times_ten(&p, &warm, 0, 1);
    assert_int_equal(pool_wait(&p, 1, 10000), 0);
    check_times_ten(&warm, 0, 1);

    outcome_t naps;
    uint64_t t0 = uv_now(&p.loop);
    run_naps(&p, &naps, 10, "0.7");
    assert_int_equal(pool_wait(&p, 2, 30000), 0);
    assert_int_equal(naps.calls, 1);
    if (naps.status != CL_OK)
        fail_msg("10 statements of 0.7 s under a 1 s statement_timeout failed after %llu ms: "
                 "%d, sqlstate \"%s\"",
                 (unsigned long long)(naps.done_ms - t0), naps.status, naps.sqlstate);
    assert_int_equal(naps.count, 10);
    assert_true(naps.done_ms - t0 >= 7000);

    /* One statement over statement_timeout: the server's timeout, not the watchdog's. */
    outcome_t over;
    t0 = uv_now(&p.loop);
    run_naps(&p, &over, 1, "1.5");
    assert_int_equal(pool_wait(&p, 3, 10000), 0);
    assert_int_equal(over.status, CL_ETIMEDOUT);
    assert_string_equal(over.sqlstate, "57014");
    assert_true(over.done_ms - t0 < 1500);
    pool_close(&p);
}

/* One test_app batch on pool p: the connection's application_name, or the failure. */
static void run_app(pool_t *p, outcome_t *o) {
    memset(o, 0, sizeof *o);
    o->p = p;
    const char *params[] = {"application_name"};
    cl_db_exec(p->db, TEST_APP, params, on_batch, o);
}

/* How a pool names itself: in pg_stat_activity (application_name) and in its refusals. */
static void a_second_pool_names_itself(void **state) {
    (void)state;
    static const struct {
        const char *name, *app, *refusal;
    } cases[] = {
        {"main", "closeloopd", "the database is unavailable; retry"},
        {"analytics", "closeloopd-analytics",
         "the analytics database is unavailable; retry later (requests on the main database "
         "are not affected)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pool_t p;
        outcome_t o;
        pool_open_as(&p, 1, 2000, pg.conninfo, cases[i].name);
        run_app(&p, &o);
        assert_int_equal(pool_wait(&p, 1, 10000), 0);
        if (o.status != CL_OK) fail_msg("pool %s: %d %s", cases[i].name, o.status, o.message);
        assert_string_equal(o.text, cases[i].app);
        pool_close(&p);

        /* A server that is not there: refused at once, in the pool's words. */
        pool_open_as(&p, 1, 2000, "host=/nonexistent-closeloop-test dbname=x connect_timeout=2",
                     cases[i].name);
        run_app(&p, &o);
        assert_int_equal(pool_wait(&p, 1, 10000), 0);
        assert_int_equal(o.status, CL_EUNAVAIL);
        assert_string_equal(o.message, cases[i].refusal);
        pool_close(&p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drain_goes_on_after_the_bound),
        cmocka_unit_test(many_batches_drain_in_turns),
        cmocka_unit_test(watchdog_scales_with_the_statements),
        cmocka_unit_test(a_second_pool_names_itself),
    };
    const pgtest_group_t group = {.pg = &pg}; /* no schema: the test's own statements */
    return pgtest_run_group(&group, tests, sizeof tests / sizeof tests[0]);
}
