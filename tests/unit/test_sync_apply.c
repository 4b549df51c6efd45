/* test_sync_apply.c - the rule that applies a downloaded row to the mirror
 * (client/lib/cloop_sync.c), on a real SQLite mirror file with hand-made rows: versions
 * (older ignored, equal replaces, newer replaces), deletes and revokes (sync_gone), rows
 * held for unacknowledged outbox entries and their release, immutable rows, two-column
 * keys, a page that fails half-way (nothing of it and not its cursor stays), the column
 * check against the server's lists, and the mirror's checksums against values computed
 * outside (Python's hashlib). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cloop_mirror.h"
#include "cloop_mirror_int.h"

typedef struct fx {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32];
    cl_mirror_t *m;
    cl_sync_ctx_t *x;
} fx_t;

static int setup(void **state) {
    fx_t *f = calloc(1, sizeof *f);
    const char *tmp = getenv("CL_TEST_TMP");
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", tmp && *tmp ? tmp : "/tmp");
    if (snprintf(f->dir, sizeof f->dir, "%s/sync_apply.XXXXXX", base) >= (int)sizeof f->dir)
        return -1;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", base);
    if (system(cmd) != 0 || !mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/mirror.sqlite", f->dir);
    char err[256];
    if (cl_mirror_open(f->path, "clerk1", "127.0.0.1:7443", &f->m, err, sizeof err) != CL_OK)
        return -1;
    if (cl_sync_ctx_new(f->m, &f->x) != CL_OK) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx_t *f = *state;
    cl_sync_ctx_free(f->x);
    cl_mirror_close(f->m);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

/* One page of rows: op, entity, key, version, values. */
typedef struct row {
    const char *entity;
    int op;
    const char *key;
    int64_t version;
    const char *values;
} row_t;

static int apply(fx_t *f, const row_t *rows, size_t n, cl_sync_stats_t *st) {
    Closeloop__SyncRow r[16], *rp[16];
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        closeloop__sync_row__init(&r[i]);
        r[i].entity = (char *)rows[i].entity;
        r[i].op = (Closeloop__SyncOp)rows[i].op;
        r[i].key = (char *)rows[i].key;
        r[i].version = rows[i].version;
        r[i].values = (char *)(rows[i].values ? rows[i].values : "");
        rp[i] = &r[i];
    }
    Closeloop__SyncRowPage pg = CLOSELOOP__SYNC_ROW_PAGE__INIT;
    pg.rows = rp;
    pg.n_rows = n;
    cl_sync_stats_t local = {0};
    int rc = cl_sync_apply_rows(f->x, &pg, st ? st : &local);
    if (rc != CL_OK) {
        cl_sync_rollback(f->x);
        return rc;
    }
    return cl_sync_commit(f->x);
}

/* The first column of the first row of sql as text ("" for NULL, "(none)" for no row). */
static const char *q(fx_t *f, const char *sql) {
    static char out[512];
    sqlite3_stmt *st = NULL;
    sqlite3 *db = cl_mirror_db(f->m);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(out, sizeof out, "(error %s)", sqlite3_errmsg(db));
        return out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, sizeof out, "%s", t ? (const char *)t : "");
    } else {
        snprintf(out, sizeof out, "(none)");
    }
    sqlite3_finalize(st);
    return out;
}

static void exec(fx_t *f, const char *sql) {
    assert_int_equal(sqlite3_exec(cl_mirror_db(f->m), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A ticket's values array in the contract's column order. */
static void ticket(char *buf, size_t cap, const char *id, const char *state, int64_t version) {
    snprintf(buf, cap,
             "[\"%s\", 7, 12, \"%s\", 3, \"waterproofing\", \"major\", \"2026-12-20\", 0,"
             " \"note \\\"quoted\\\"\", \"2026-12-05T09:30:00.123456+08:00\", null,"
             " \"2026-12-04\", \"2026-12-05T10:00:00+08:00\", %lld]",
             id, state, (long long)version);
}

enum {
    UP = CLOSELOOP__SYNC_OP__SYNC_UPSERT,
    DEL = CLOSELOOP__SYNC_OP__SYNC_DELETE,
    REV = CLOSELOOP__SYNC_OP__SYNC_REVOKE
};

static void test_versions(void **state) {
    fx_t *f = *state;
    char v2[512], v1[512], v2b[512], v3[512];
    ticket(v2, sizeof v2, "t-1", "dispatched", 2);
    ticket(v1, sizeof v1, "t-1", "new", 1);
    ticket(v2b, sizeof v2b, "t-1", "accepted", 2);
    ticket(v3, sizeof v3, "t-1", "repaired", 3);
    cl_sync_stats_t st = {0};
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-1", 2, v2}}, 1, &st), CL_OK);
    assert_int_equal(st.rows, 1);
    /* Every value arrives with its type: integers, text with quotes, NULL. */
    assert_string_equal(q(f, "SELECT typeof(project_id) || typeof(number) || typeof(closed_at)"
                             " || last_note FROM tickets"),
                        "integerintegernullnote \"quoted\"");
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-1", 1, v1}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state || version FROM tickets WHERE id = 't-1'"),
                        "dispatched2");
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-1", 2, v2b}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state || version FROM tickets WHERE id = 't-1'"), "accepted2");
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-1", 3, v3}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state || version FROM tickets WHERE id = 't-1'"), "repaired3");
    assert_string_equal(q(f, "SELECT count(*) FROM tickets"), "1");
}

static void test_delete_and_revoke(void **state) {
    fx_t *f = *state;
    char a3[512], a4[512], b5[512], b9[512];
    ticket(a3, sizeof a3, "t-a", "dispatched", 3);
    ticket(a4, sizeof a4, "t-a", "accepted", 4);
    ticket(b5, sizeof b5, "t-b", "dispatched", 5);
    ticket(b9, sizeof b9, "t-b", "closed", 9);
    const char *ev = "[41, \"t-a\", 7, \"2026-12-05T10:00:00+08:00\", 5, \"zhang\", \"dispatch\","
                     " \"new\", \"dispatched\", \"\", 3]";
    assert_int_equal(apply(f,
                           (row_t[]){{"tickets", UP, "t-a", 3, a3},
                                     {"ticket_events", UP, "41", 0, ev},
                                     {"tickets", UP, "t-b", 5, b5}},
                           3, NULL),
                     CL_OK);
    assert_string_equal(q(f, "SELECT count(*) FROM ticket_events"), "1");
    /* A revoke at 3: the ticket and its events leave; the same version never returns. */
    assert_int_equal(apply(f, (row_t[]){{"tickets", REV, "t-a", 3, NULL}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT count(*) FROM tickets WHERE id = 't-a'"), "0");
    assert_string_equal(q(f, "SELECT count(*) FROM ticket_events"), "0");
    assert_string_equal(
        q(f, "SELECT version FROM sync_gone WHERE entity = 'tickets' AND key = 't-a'"), "3");
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-a", 3, a3}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT count(*) FROM tickets WHERE id = 't-a'"), "0");
    /* A newer version comes back. */
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-a", 4, a4}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state FROM tickets WHERE id = 't-a'"), "accepted");
    /* A revoke older than the mirror's row (the row came back newer first) leaves it. */
    assert_int_equal(apply(f, (row_t[]){{"tickets", REV, "t-a", 3, NULL}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state FROM tickets WHERE id = 't-a'"), "accepted");
    /* A delete is for good: no version brings it back. */
    assert_int_equal(apply(f, (row_t[]){{"tickets", DEL, "t-b", 0, NULL}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT count(*) FROM tickets WHERE id = 't-b'"), "0");
    assert_string_equal(q(f, "SELECT version FROM sync_gone WHERE key = 't-b'"),
                        "9223372036854775807");
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-b", 9, b9}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT count(*) FROM tickets WHERE id = 't-b'"), "0");
}

static void test_held(void **state) {
    fx_t *f = *state;
    char v5[512], v6[512], v7[512], v8[512];
    ticket(v5, sizeof v5, "t-h", "dispatched", 5);
    ticket(v6, sizeof v6, "t-h", "accepted", 6);
    ticket(v7, sizeof v7, "t-h", "returned", 7);
    ticket(v8, sizeof v8, "t-h", "closed", 8);
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-h", 5, v5}}, 1, NULL), CL_OK);
    /* The clerk marked it repaired offline: an entry not yet acknowledged touches it. */
    exec(f, "INSERT INTO outbox (id, created_ms, username, kind, msg_type, payload, idem_key,"
            " summary) VALUES (1, 0, 'clerk1', 'transition', 60, x'', 'k1', 'repaired');"
            "INSERT INTO outbox_touch VALUES (1, 'tickets', 't-h');"
            "UPDATE tickets SET state = 'repaired' WHERE id = 't-h'");
    cl_sync_stats_t st = {0};
    assert_int_equal(
        apply(f, (row_t[]){{"tickets", UP, "t-h", 7, v7}, {"tickets", UP, "t-h", 6, v6}}, 2, &st),
        CL_OK);
    assert_int_equal(st.held, 2);
    assert_string_equal(q(f, "SELECT state FROM tickets WHERE id = 't-h'"), "repaired");
    assert_string_equal(q(f, "SELECT version || op FROM sync_held WHERE key = 't-h'"), "70");
    /* Still unacknowledged (conflict): release keeps it held. */
    exec(f, "UPDATE outbox SET state = 'conflict' WHERE id = 1");
    assert_int_equal(cl_mirror_release_held(f->m, "tickets", "t-h"), CL_OK);
    assert_string_equal(q(f, "SELECT state FROM tickets WHERE id = 't-h'"), "repaired");
    assert_string_equal(q(f, "SELECT count(*) FROM sync_held"), "1");
    /* Dropped: the newest held row is applied, and nothing stays held. */
    exec(f, "UPDATE outbox SET state = 'dropped' WHERE id = 1");
    assert_int_equal(cl_mirror_release_held(f->m, NULL, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state || version FROM tickets WHERE id = 't-h'"), "returned7");
    assert_string_equal(q(f, "SELECT count(*) FROM sync_held"), "0");
    /* And rows flow again. */
    assert_int_equal(apply(f, (row_t[]){{"tickets", UP, "t-h", 8, v8}}, 1, NULL), CL_OK);
    assert_string_equal(q(f, "SELECT state FROM tickets WHERE id = 't-h'"), "closed");
}

static void test_immutable_and_two_keys(void **state) {
    fx_t *f = *state;
    assert_int_equal(
        apply(
            f,
            (row_t[]){
                {"trades", UP, "waterproofing", 0,
                 "[\"waterproofing\", \"防水\", \"Waterproofing\"]"},
                {"trades", UP, "waterproofing", 0, "[\"waterproofing\", \"changed\", \"Changed\"]"},
                {"project_trades", UP, "1/waterproofing", 1, "[1, \"waterproofing\", 3, 1]"},
                {"trade_aliases", UP, "1/a/b", 1, "[1, \"a/b\", \"paint\", 1]"}},
            4, NULL),
        CL_OK);
    assert_string_equal(q(f, "SELECT name_zh FROM trades"), "防水");
    assert_string_equal(q(f, "SELECT contractor_id FROM project_trades"), "3");
    /* A key of two columns splits at its first '/': an alias may hold one. */
    assert_int_equal(apply(f,
                           (row_t[]){{"trade_aliases", DEL, "1/a/b", 0, NULL},
                                     {"project_trades", REV, "1/waterproofing", 1, NULL}},
                           2, NULL),
                     CL_OK);
    assert_string_equal(q(f, "SELECT count(*) FROM trade_aliases"), "0");
    assert_string_equal(q(f, "SELECT count(*) FROM project_trades"), "0");
}

static void test_page_is_atomic(void **state) {
    fx_t *f = *state;
    char good[512];
    ticket(good, sizeof good, "t-g", "new", 1);
    assert_int_equal(cl_mirror_meta_set(f->m, "feed_seq", "10"), CL_OK);
    assert_int_equal(cl_sync_begin(f->x), CL_OK);
    Closeloop__SyncRow r1 = CLOSELOOP__SYNC_ROW__INIT, r2 = CLOSELOOP__SYNC_ROW__INIT;
    r1.entity = "tickets";
    r1.key = "t-g";
    r1.version = 1;
    r1.values = good;
    r2.entity = "tickets";
    r2.key = "t-x";
    r2.version = 1;
    r2.values = "[\"t-x\", 7,"; /* cut off */
    Closeloop__SyncRow *rp[] = {&r1, &r2};
    Closeloop__SyncRowPage pg = CLOSELOOP__SYNC_ROW_PAGE__INIT;
    pg.rows = rp;
    pg.n_rows = 2;
    cl_sync_stats_t st = {0};
    assert_int_equal(cl_mirror_meta_set(f->m, "feed_seq", "20"), CL_OK);
    assert_int_not_equal(cl_sync_apply_rows(f->x, &pg, &st), CL_OK);
    cl_sync_rollback(f->x);
    assert_string_equal(q(f, "SELECT count(*) FROM tickets"), "0");
    assert_string_equal(q(f, "SELECT value FROM sync_meta WHERE key = 'feed_seq'"), "10");
    /* An entity the mirror does not know, or an unknown operation, refuses the page too. */
    assert_int_equal(apply(f, (row_t[]){{"widgets", UP, "1", 1, "[1]"}}, 1, NULL), CL_EBADMSG);
    assert_int_equal(apply(f, (row_t[]){{"tickets", 9, "t-g", 1, good}}, 1, NULL), CL_EBADMSG);
    assert_string_equal(q(f, "SELECT count(*) FROM tickets"), "0");
}

static void test_columns(void **state) {
    fx_t *f = *state;
    char *cols[] = {"id", "project_id", "code", "state", "version", "data"};
    Closeloop__SyncEntity e = CLOSELOOP__SYNC_ENTITY__INIT;
    e.name = "defects";
    e.columns = cols;
    e.n_columns = 6;
    e.key_columns = 1;
    Closeloop__SyncEntity *ep[] = {&e};
    Closeloop__SyncStart s = CLOSELOOP__SYNC_START__INIT;
    s.entities = ep;
    s.n_entities = 1;
    assert_int_equal(cl_sync_check_columns(f->x, &s), CL_OK);
    cols[2] = "state";
    cols[3] = "code";
    assert_int_equal(cl_sync_check_columns(f->x, &s), CL_EINVAL);
    assert_non_null(
        strstr(cl_mirror_error(f->m), "columns of defects (id, project_id, state, code"));
    cols[2] = "code";
    cols[3] = "state";
    e.key_columns = 2;
    assert_int_equal(cl_sync_check_columns(f->x, &s), CL_EINVAL);
    e.key_columns = 1;
    e.name = "widgets";
    assert_int_equal(cl_sync_check_columns(f->x, &s), CL_EINVAL);
    assert_non_null(strstr(cl_mirror_error(f->m), "widgets"));
}

static void test_checksums(void **state) {
    fx_t *f = *state;
    char a[512], b[512];
    ticket(a, sizeof a, "t-1", "new", 2);
    ticket(b, sizeof b, "t-2", "new", 3);
    assert_int_equal(apply(f,
                           (row_t[]){{"tickets", UP, "t-1", 2, a},
                                     {"tickets", UP, "t-2", 3, b},
                                     {"project_trades", UP, "1/waterproofing", 1,
                                      "[1, \"waterproofing\", 3, 1]"},
                                     {"contractors", UP, "5", 0, "[5, \"A\", 0]"}},
                           4, NULL),
                     CL_OK);
    cl_sync_sum_t *v = NULL;
    size_t n = 0;
    assert_int_equal(cl_sync_local_checksums(f->x, 0, &v, &n), CL_OK);
    assert_int_equal(n, 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(v[i].entity, "tickets")) {
            assert_int_equal(v[i].project_id, 7);
            assert_int_equal(v[i].rows, 2);
            assert_true(v[i].hash == 0xa306a103c7074c70ull);
            seen++;
        } else if (!strcmp(v[i].entity, "project_trades")) {
            assert_int_equal(v[i].project_id, 1);
            assert_true(v[i].hash == 0xc5c9a6b57618488aull);
            seen++;
        } else if (!strcmp(v[i].entity, "contractors")) {
            assert_int_equal(v[i].project_id, 0);
            assert_true(v[i].hash == 0xb3d8acb98c59e4a8ull);
            seen++;
        }
        assert_false(v[i].touched);
    }
    assert_int_equal(seen, 3);
    free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_immutable_and_two_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checksums, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
