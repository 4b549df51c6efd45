/* test_domain.c - the registry of domain names and limits (common/domain.h) against the
 * schema, as PostgreSQL holds it after the migrations (pgtest, no daemon).
 *
 * Every CHECK constraint of the public schema is read back (pg_constraint,
 * pg_get_constraintdef) and sorted into:
 *  - a value set, "column IN (...)": must be a registry column flagged checked, with
 *    exactly the stored names of its domain;
 *  - a length, range or pattern bound on one column: must be a registry bound with the
 *    same limits;
 *  - anything else (rules across columns, LIKE): every text literal in it must be a
 *    stored name of a domain stored in that table, so 'cr' in "role <> 'cr' OR ..." is
 *    held to the registry too.
 * Then every checked column and every bound of the registry must have been found once,
 * every registry column must exist as text, and an unchecked column must have no value
 * set. The timeliness classes, which no column stores, are held to the registry through
 * cl_ticket_timeliness(), and the role names through the scope functions of
 * 002_scope.sql. A change on either side - a migration or domain.c - fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "cl_err.h"
#include "domain.h"
#include "pgtest.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static pgtest_t pg; /* static so the atexit cleanup can reach it */
static PGconn *conn;

#define ACTOR_SQL                                                                                  \
    "SELECT set_config('closeloop.actor', '{\"user_id\":0,\"username\":\"test\"}', true)"

/* ---- problems, collected so one run shows every mismatch ---------------------------- */

static char problems[16384];
static size_t n_problems;

CL_PRINTF(1, 2) static void problem(const char *fmt, ...) {
    size_t at = strlen(problems);
    if (at + 2 >= sizeof problems) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problems + at, sizeof problems - at - 1, fmt, ap);
    va_end(ap);
    at = strlen(problems);
    problems[at] = '\n';
    problems[at + 1] = '\0';
    n_problems++;
}

static PGresult *query(const char *sql, int nparams, const char *const *params) {
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    return r;
}

/* ---- reading a constraint's definition ------------------------------------------------ */

/* The text literals of def ('x'::text), at most max of them, into out (each malloc'd);
 * literals right after a LIKE (~~) or regex (~) operator are patterns, and '' is "not
 * given", not a name: both are skipped. */
static size_t literals(const char *def, char **out, size_t max) {
    size_t n = 0;
    for (const char *p = def; (p = strchr(p, '\'')) != NULL;) {
        const char *start = p + 1;
        /* The literal runs to the next single quote that is not doubled. */
        const char *q = start;
        while (*q && !(q[0] == '\'' && q[1] != '\''))
            q += q[0] == '\'' ? 2 : 1;
        if (!*q) break;
        bool pattern = (p - def >= 3 && strncmp(p - 3, "~~ ", 3) == 0) ||
                       (p - def >= 2 && strncmp(p - 2, "~ ", 2) == 0);
        bool text = strncmp(q + 1, "::text", 6) == 0;
        if (!pattern && text && q > start) {
            assert_true(n < max);
            size_t len = (size_t)(q - start);
            out[n] = malloc(len + 1);
            assert_non_null(out[n]);
            /* Undouble '' (none of ours has one, but a name must compare as stored). */
            size_t k = 0;
            for (const char *s = start; s < q; s++) {
                out[n][k++] = *s;
                if (s[0] == '\'' && s[1] == '\'') s++;
            }
            out[n][k] = '\0';
            n++;
        }
        p = q + 1;
    }
    return n;
}

/* The integer after "<lhs> <op> " in def, as PostgreSQL prints it: 300, '-10'::integer. */
static bool bound_after(const char *def, const char *lhs, const char *op, long *out) {
    char key[160];
    int w = snprintf(key, sizeof key, "%s %s ", lhs, op);
    if (w < 0 || (size_t)w >= sizeof key) return false;
    const char *p = strstr(def, key);
    if (!p) return false;
    p += strlen(key);
    if (*p == '\'') p++;
    char *end;
    *out = strtol(p, &end, 10);
    return end != p;
}

typedef enum kind { K_SET, K_LENGTH, K_VALUE, K_PATTERN, K_OTHER } kind_t;

/* Sorts a one-column CHECK on col; fills lo and hi for the bound kinds. */
static kind_t classify(const char *def, const char *col, long *lo, long *hi) {
    char lhs[160], head[200];
    snprintf(head, sizeof head, "CHECK ((%s = ANY (ARRAY[", col);
    if (strncmp(def, head, strlen(head)) == 0 && strstr(def, "])))") == def + strlen(def) - 4)
        return K_SET;
    snprintf(lhs, sizeof lhs, "length(%s)", col);
    if (strstr(def, lhs)) {
        bool got_lo = bound_after(def, lhs, ">=", lo), got_hi = bound_after(def, lhs, "<=", hi);
        if (!got_lo && !got_hi && bound_after(def, lhs, "=", lo)) {
            *hi = *lo;
            return K_LENGTH;
        }
        if (!got_lo) *lo = 0; /* only a maximum */
        return got_hi ? K_LENGTH : K_OTHER;
    }
    snprintf(lhs, sizeof lhs, "(%s", col);
    if (bound_after(def, lhs, ">=", lo) && bound_after(def, lhs, "<=", hi)) return K_VALUE;
    snprintf(lhs, sizeof lhs, "(%s ~ '", col);
    const char *p = strstr(def, lhs);
    if (p && (p = strchr(p, '{')) && sscanf(p, "{%ld,%ld}", lo, hi) == 2) return K_PATTERN;
    return K_OTHER;
}

static const char *kind_name(kind_t k) {
    static const char *const names[] = {"value set", "length", "range", "pattern", "other"};
    return names[k];
}

static const cl_domain_measure_t measure_of[] = {
    [K_LENGTH] = CL_MEASURE_LENGTH, [K_VALUE] = CL_MEASURE_VALUE, [K_PATTERN] = CL_MEASURE_PATTERN};

/* ---- the test: every CHECK against the registry ---------------------------------------- */

static const char *const CHECKS_SQL =
    "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid),"
    "       cardinality(c.conkey), coalesce(a.attname::text, '')"
    "  FROM pg_constraint c"
    "  JOIN pg_namespace n ON n.oid = c.connamespace"
    "  LEFT JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
    "                          AND cardinality(c.conkey) = 1"
    " WHERE c.contype = 'c' AND n.nspname = 'public'"
    " ORDER BY 1, 2";

/* Whether name is a stored name of a domain stored in table. */
static bool stored_in_table(const char *table, const char *name) {
    size_t nc;
    const cl_domain_column_t *cols = cl_domain_columns(&nc);
    for (size_t i = 0; i < nc; i++)
        if (strcmp(cols[i].table, table) == 0 && cl_domain_parse(cols[i].domain, name) != 0)
            return true;
    return false;
}

static void compare_set(const cl_domain_column_t *col, const char *conname, const char *def) {
    char *lit[64];
    size_t n = literals(def, lit, ARRAY_LEN(lit));
    size_t nv;
    const cl_domain_value_t *v = cl_domain_values(col->domain, &nv);
    for (size_t i = 0; i < n; i++) {
        if (cl_domain_parse(col->domain, lit[i]) == 0)
            problem("%s.%s (%s): the schema allows '%s', the registry's %s has no such name",
                    col->table, col->column, conname, lit[i], cl_domain_what(col->domain));
        for (size_t k = 0; k < i; k++)
            if (strcmp(lit[i], lit[k]) == 0)
                problem("%s.%s (%s): '%s' twice", col->table, col->column, conname, lit[i]);
    }
    for (size_t k = 0; k < nv; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(lit[i], v[k].name) == 0;
        if (!found)
            problem("%s.%s (%s): the registry's %s '%s' is not allowed by the schema", col->table,
                    col->column, conname, cl_domain_what(col->domain), v[k].name);
    }
    for (size_t i = 0; i < n; i++)
        free(lit[i]);
}

static void test_checks_match_registry(void **state) {
    (void)state;
    size_t nc, nb;
    const cl_domain_column_t *cols = cl_domain_columns(&nc);
    const cl_domain_bound_t *bounds = cl_domain_bounds(&nb);
    int *col_seen = calloc(nc, sizeof *col_seen), *bound_seen = calloc(nb, sizeof *bound_seen);
    assert_non_null(col_seen);
    assert_non_null(bound_seen);
    problems[0] = '\0';
    n_problems = 0;
    size_t counts[K_OTHER + 1] = {0}, other_literals = 0;

    PGresult *r = query(CHECKS_SQL, 0, NULL);
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        const char *table = PQgetvalue(r, i, 0), *conname = PQgetvalue(r, i, 1);
        const char *def = PQgetvalue(r, i, 2), *col = PQgetvalue(r, i, 4);
        long lo = 0, hi = 0;
        kind_t k = atoi(PQgetvalue(r, i, 3)) == 1 ? classify(def, col, &lo, &hi) : K_OTHER;
        counts[k]++;
        if (k == K_SET) {
            size_t c = 0;
            while (c < nc &&
                   !(strcmp(cols[c].table, table) == 0 && strcmp(cols[c].column, col) == 0))
                c++;
            if (c == nc)
                problem("%s.%s (%s): a value set the registry does not know: %s", table, col,
                        conname, def);
            else if (!cols[c].checked)
                problem("%s.%s (%s): has a value set, the registry says unchecked: %s", table, col,
                        conname, def);
            else {
                col_seen[c]++;
                compare_set(&cols[c], conname, def);
            }
        } else if (k != K_OTHER) {
            size_t b = 0;
            while (b < nb &&
                   !(strcmp(bounds[b].table, table) == 0 && strcmp(bounds[b].column, col) == 0))
                b++;
            if (b == nb)
                problem("%s.%s (%s): a %s bound %ld..%ld the registry does not know: %s", table,
                        col, conname, kind_name(k), lo, hi, def);
            else {
                bound_seen[b]++;
                if (bounds[b].measure != measure_of[k] || bounds[b].lo != lo || bounds[b].hi != hi)
                    problem("%s.%s (%s): the schema says %s %ld..%ld, the registry %s %ld..%ld",
                            table, col, conname, kind_name(k), lo, hi,
                            bounds[b].measure == CL_MEASURE_LENGTH  ? "length"
                            : bounds[b].measure == CL_MEASURE_VALUE ? "range"
                                                                    : "pattern",
                            bounds[b].lo, bounds[b].hi);
            }
        } else {
            char *lit[64];
            size_t n = literals(def, lit, ARRAY_LEN(lit));
            for (size_t j = 0; j < n; j++) {
                if (!stored_in_table(table, lit[j]))
                    problem("%s (%s): '%s' is no stored name of a domain stored in %s: %s", table,
                            conname, lit[j], table, def);
                free(lit[j]);
            }
            other_literals += n;
        }
    }
    PQclear(r);

    for (size_t c = 0; c < nc; c++)
        if (cols[c].checked && col_seen[c] != 1)
            problem("%s.%s: the registry says checked, the schema has %d value sets on it",
                    cols[c].table, cols[c].column, col_seen[c]);
    for (size_t b = 0; b < nb; b++)
        if (bound_seen[b] != 1)
            problem("%s.%s: the registry has a bound %ld..%ld, the schema %d CHECKs on it",
                    bounds[b].table, bounds[b].column, bounds[b].lo, bounds[b].hi, bound_seen[b]);
    free(col_seen);
    free(bound_seen);
    if (n_problems)
        fail_msg("%zu mismatches between schema and registry:\n%s", n_problems, problems);

    /* Not vacuous: the schema as of 008 has 10 value sets, 22 bounds (008: the length of
     * trade_aliases.alias), and 8 names in rules across columns (cr, contractor,
     * not_taken_over, refused, open, repaired, closed, nofix); 011 adds 11 value sets, 19
     * bounds and 5 names in rules (dept, collected, analysed, retired, pending); 018 and
     * 019 add 2 bounds (request_keys.key and .target); 022 adds 2 value sets (calendar day
     * kinds, notice kinds), 3 bounds and 1 name in a rule (warranty); 024 (complaints) 7
     * value sets, 10 bounds and 1 name in a rule; 026 (warranty) 5 value sets, 8 bounds and
     * 1 name in a rule (requested). New CHECKs raise these; then raise them here. */
    size_t checked = 0;
    for (size_t c = 0; c < nc; c++)
        checked += cols[c].checked;
    assert_int_equal(counts[K_SET], checked);
    assert_int_equal(counts[K_SET], 35);
    assert_int_equal(counts[K_LENGTH] + counts[K_VALUE] + counts[K_PATTERN], nb);
    assert_int_equal(nb, 64);
    assert_int_equal(other_literals, 16);
}

/* The data type of column in table of the public schema; the test fails when there is no
 * such column (what names the registry entry). Into type (64 bytes). */
static void column_type(const char *table, const char *column, const char *what, char *type) {
    const char *params[] = {table, column};
    PGresult *r = query("SELECT data_type FROM information_schema.columns"
                        " WHERE table_schema = 'public' AND table_name = $1"
                        "   AND column_name = $2",
                        2, params);
    if (PQntuples(r) != 1) fail_msg("registry %s %s.%s is not in the schema", what, table, column);
    snprintf(type, 64, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* Every registry column exists and is text, and so does the column of every bound. */
static void test_registry_columns_exist(void **state) {
    (void)state;
    char type[64];
    size_t nc;
    const cl_domain_column_t *cols = cl_domain_columns(&nc);
    for (size_t i = 0; i < nc; i++) {
        column_type(cols[i].table, cols[i].column, "column", type);
        assert_string_equal(type, "text");
    }
    size_t nb;
    const cl_domain_bound_t *b = cl_domain_bounds(&nb);
    for (size_t i = 0; i < nb; i++)
        column_type(b[i].table, b[i].column, "bound", type);
}

/* The five classes cl_ticket_timeliness() returns are the registry's, no more, no less;
 * it is given states by their registry names. */
static void test_timeliness_function(void **state) {
    (void)state;
    const char *open = cl_domain_name(CL_DOM_TICKET_STATE, CLOSELOOP__TICKET_STATE__TICKET_OPEN);
    const char *closed =
        cl_domain_name(CL_DOM_TICKET_STATE, CLOSELOOP__TICKET_STATE__TICKET_CLOSED);
    const char *nofix = cl_domain_name(CL_DOM_TICKET_STATE, CLOSELOOP__TICKET_STATE__TICKET_NOFIX);
    const char *params[] = {open, closed, nofix};
    PGresult *r = query("SELECT DISTINCT cl_ticket_timeliness(s, d, c) FROM (VALUES"
                        " ($1, NULL::date, NULL::timestamptz),"
                        " ($1, current_date - 1, NULL), ($1, current_date + 1, NULL),"
                        " ($2, current_date - 10, now()), ($2, current_date + 10, now()),"
                        " ($3, current_date - 10, now()), ($3, current_date + 10, now())"
                        ") AS v (s, d, c) ORDER BY 1",
                        3, params);
    size_t nv;
    assert_non_null(cl_domain_values(CL_DOM_TIMELINESS, &nv));
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++)
        if (cl_domain_parse(CL_DOM_TIMELINESS, PQgetvalue(r, i, 0)) == 0)
            fail_msg("cl_ticket_timeliness() returns '%s', not a registry class",
                     PQgetvalue(r, i, 0));
    assert_int_equal(rows, nv); /* distinct, all known, as many: the same set */
    PQclear(r);
}

/* A deduction's amount CHECK (more than 0, at most the maximum; numeric, 026) is no bound
 * the registry's lists can hold: CL_LIM_DEDUCTION_MAX_CENTS, which the daemon and cloop
 * check, is held to it here. */
static void test_deduction_amount_limit(void **state) {
    (void)state;
    char want[200];
    snprintf(want, sizeof want, "CHECK (((amount > (0)::numeric) AND (amount <= (%lld)::numeric)))",
             (long long)(CL_LIM_DEDUCTION_MAX_CENTS / 100));
    PGresult *r = query("SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
                        " WHERE c.conrelid = 'warranty_deductions'::regclass"
                        "   AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%amount%'",
                        0, NULL);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), want);
    PQclear(r);
}

/* Every registry role is known to the scope functions of 002_scope.sql: each sees a
 * project it should, and a name outside the registry sees nothing. */
static void test_scope_knows_every_role(void **state) {
    (void)state;
    PGresult *r = PQexec(conn, "BEGIN; " ACTOR_SQL ";"
                               " INSERT INTO companies (kind, name) VALUES ('city', 'domain-co');"
                               " INSERT INTO projects (company_id, name)"
                               "  SELECT id, 'domain-p' FROM companies WHERE name = 'domain-co';"
                               " INSERT INTO contractors (name) VALUES ('domain-ct');"
                               " INSERT INTO project_trades (project_id, trade, contractor_id)"
                               "  SELECT p.id, 'civil', c.id FROM projects p, contractors c"
                               "   WHERE p.name = 'domain-p' AND c.name = 'domain-ct';"
                               " COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("setup: %s", PQerrorMessage(conn));
    PQclear(r);
    r = query("SELECT p.id, p.company_id, pt.contractor_id FROM projects p"
              " JOIN project_trades pt ON pt.project_id = p.id WHERE p.name = 'domain-p'",
              0, NULL);
    assert_int_equal(PQntuples(r), 1);
    char project[24], company[24], contractor[24], projects[32];
    snprintf(project, sizeof project, "%s", PQgetvalue(r, 0, 0));
    snprintf(company, sizeof company, "%s", PQgetvalue(r, 0, 1));
    snprintf(contractor, sizeof contractor, "%s", PQgetvalue(r, 0, 2));
    snprintf(projects, sizeof projects, "{%s}", project);
    PQclear(r);

    size_t nv;
    const cl_domain_value_t *v = cl_domain_values(CL_DOM_ROLE, &nv);
    for (size_t i = 0; i <= nv; i++) {
        const char *role = i < nv ? v[i].name : "nobody";
        const char *params[] = {project, role, company, contractor, projects};
        r = query(
            "SELECT cl_visible_project($1, $2, $3, $4, $5),"
            "       $1::bigint IN (SELECT project_id FROM cl_visible_projects($2, $3, $4, $5))",
            5, params);
        bool want = i < nv;
        if ((strcmp(PQgetvalue(r, 0, 0), "t") == 0) != want ||
            (strcmp(PQgetvalue(r, 0, 1), "t") == 0) != want)
            fail_msg("role %s: cl_visible_project %s, cl_visible_projects %s, expected %s", role,
                     PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), want ? "t" : "f");
        PQclear(r);
    }
}

/* The connection the tests share. */
static int open_conn(pgtest_t *cluster) {
    conn = PQconnectdb(cluster->conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s", PQerrorMessage(conn));
        return -1;
    }
    return 0;
}

static int close_conn(pgtest_t *cluster) {
    (void)cluster;
    PQfinish(conn);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checks_match_registry),
        cmocka_unit_test(test_registry_columns_exist),
        cmocka_unit_test(test_timeliness_function),
        cmocka_unit_test(test_scope_knows_every_role),
        cmocka_unit_test(test_deduction_amount_limit),
    };
    const pgtest_group_t group = {.pg = &pg, .migrate = 1, .ready = open_conn, .done = close_conn};
    return pgtest_run_group(&group, tests, ARRAY_LEN(tests));
}
