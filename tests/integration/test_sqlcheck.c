/* test_sqlcheck.c - the typed contract between C and SQL, against a real PostgreSQL:
 * every generated statement prepares and PostgreSQL describes it exactly as the C side
 * reads it (parameter count, column names); and a disagreement, made on purpose on
 * either side, is refused with a sentence naming the statement and the column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cl_sql.h"
#include "migrate.h"
#include "pgtest.h"

static pgtest_t pg; /* one cluster for the group; static so the atexit cleanup can reach it */

static void every_statement_agrees_with_the_database(void **state) {
    (void)state;
    char err[512] = "";
    int rc = cl_migrate_check_statements(pg.conninfo, cl_sql_stmts, CL_SQL__COUNT, err, sizeof err);
    if (rc != 0) fprintf(stderr, "# %s\n", err);
    assert_int_equal(rc, 0);
    assert_true(CL_SQL__COUNT > 30); /* every area's statements are in the table */
}

/* The C side expects another column name than the SQL gives. */
static void a_column_name_that_differs_names_statement_and_column(void **state) {
    (void)state;
    cl_db_stmt_t s = cl_sql_stmts[CL_SQL(ticket_project_check)];
    const char *cols[] = {"visible"};
    assert_int_equal(s.ncols, 1);
    s.cols = cols;
    char err[512] = "";
    assert_int_not_equal(cl_migrate_check_statements(pg.conninfo, &s, 1, err, sizeof err), 0);
    assert_non_null(strstr(err, "ticket_project_check"));
    assert_non_null(strstr(err, "\"project_visible\" in the database"));
    assert_non_null(strstr(err, "\"visible\" in C"));
}

static void a_parameter_count_that_differs_is_refused(void **state) {
    (void)state;
    cl_db_stmt_t s = cl_sql_stmts[CL_SQL(ticket_todo)];
    s.nparams++;
    char err[512] = "";
    assert_int_not_equal(cl_migrate_check_statements(pg.conninfo, &s, 1, err, sizeof err), 0);
    char want[96];
    snprintf(want, sizeof want, "takes %d parameters in the database, %d in C",
             CL_NPARAMS(ticket_todo), CL_NPARAMS(ticket_todo) + 1);
    assert_non_null(strstr(err, "ticket_todo"));
    assert_non_null(strstr(err, want));
}

/* The schema changes under the C side: a view column renamed. Statements that select
 * tr.* still prepare, but PostgreSQL now describes another name; one that names the
 * column fails to prepare. Both are refused, naming statement and column. */
static void a_schema_that_moved_is_refused(void **state) {
    (void)state;
    assert_int_equal(pgtest_exec(&pg, "ALTER VIEW ticket_rows RENAME COLUMN last_note TO note"), 0);
    char err[512] = "";
    int rc = cl_migrate_check_statements(pg.conninfo, cl_sql_stmts, CL_SQL__COUNT, err, sizeof err);
    assert_int_not_equal(rc, 0);
    fprintf(stderr, "# refused: %s\n", err);
    assert_non_null(strstr(err, "statement "));
    assert_non_null(strstr(err, "\"note\" in the database, \"last_note\" in C"));
    assert_int_equal(pgtest_exec(&pg, "ALTER VIEW ticket_rows RENAME COLUMN note TO last_note"), 0);
    assert_int_equal(pgtest_exec(&pg, "ALTER VIEW ticket_rows RENAME COLUMN number TO num"), 0);
    /* ticket_changed filters on tr.number (the whole table stops at the first statement
     * that selects tr.*, as above) */
    rc = cl_migrate_check_statements(pg.conninfo, &cl_sql_stmts[CL_SQL(ticket_changed)], 1, err,
                                     sizeof err);
    assert_int_not_equal(rc, 0);
    fprintf(stderr, "# refused: %s\n", err);
    assert_non_null(strstr(err, "does not prepare"));
    assert_non_null(strstr(err, "number"));
    assert_int_equal(pgtest_exec(&pg, "ALTER VIEW ticket_rows RENAME COLUMN num TO number"), 0);
    rc = cl_migrate_check_statements(pg.conninfo, cl_sql_stmts, CL_SQL__COUNT, err, sizeof err);
    assert_int_equal(rc, 0);
}

/* The areas' functions are defined at every start, not once: one dropped (or left behind
 * by an older build) is back after the next cl_migrate, with no migration pending, and the
 * statement that calls it prepares again. */
static void area_functions_are_defined_at_every_start(void **state) {
    (void)state;
    assert_int_equal(pgtest_exec(&pg, "DROP FUNCTION cl_ticket_raise(uuid[], bigint, text)"), 0);
    char err[512] = "";
    int rc = cl_migrate_check_statements(pg.conninfo, &cl_sql_stmts[CL_SQL(insp_item_record)], 1,
                                         err, sizeof err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "cl_ticket_raise"));
    int applied = -1;
    assert_int_equal(cl_migrate(pg.conninfo, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(pgtest_exec(&pg, "DO $$ BEGIN IF to_regprocedure("
                                      "'cl_ticket_raise(uuid[], bigint, text)') IS NULL THEN "
                                      "RAISE 'missing'; END IF; END $$"),
                     0);
    assert_int_equal(
        cl_migrate_check_statements(pg.conninfo, cl_sql_stmts, CL_SQL__COUNT, err, sizeof err), 0);
}

/* The schema as the daemon makes it: its own migrator, with its bookkeeping. */
static int migrate_as_the_daemon(pgtest_t *cluster) {
    int applied = 0;
    char err[512];
    if (cl_migrate(cluster->conninfo, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "migrate: %s\n", err);
        return -1;
    }
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_statement_agrees_with_the_database),
        cmocka_unit_test(a_column_name_that_differs_names_statement_and_column),
        cmocka_unit_test(a_parameter_count_that_differs_is_refused),
        cmocka_unit_test(a_schema_that_moved_is_refused),
        cmocka_unit_test(area_functions_are_defined_at_every_start),
    };
    const pgtest_group_t group = {.pg = &pg, .ready = migrate_as_the_daemon};
    return pgtest_run_group(&group, tests, sizeof tests / sizeof tests[0]);
}
