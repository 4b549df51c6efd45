/* test_sql_array.c - the array literals of server/engine/sqlutil.c (cl_sqlbuf_array_*)
 * read by a real PostgreSQL 15 (pgtest): every element comes back from
 * unnest($1::text[]) byte for byte, in order, with NULL elements as SQL NULL and the word
 * "NULL" as text; bigint arrays likewise. The strings are the awkward ones (quotes,
 * backslashes, commas, braces, blanks, the words NULL and null, the empty string,
 * Chinese, emoji, control characters) and a few hundred random mixes of them.
 * Single-threaded; one cluster for the group, removed at the end (or by pgtest's atexit
 * handler when a test fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgtest.h"
#include "sql_array_lit.h"
#include "sqlutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static pgtest_t pg;
static PGconn *conn;

/* The group's shared connection, made once the cluster runs. */
static int connect_db(pgtest_t *p) {
    conn = PQconnectdb(p->conninfo);
    if (PQstatus(conn) == CONNECTION_OK) return 0;
    fprintf(stderr, "connect: %s", PQerrorMessage(conn));
    return -1;
}

static int disconnect_db(pgtest_t *p) {
    (void)p;
    PQfinish(conn);
    return 0;
}

/* Sends lit as the one text parameter of sql and returns the result, asserted to be
 * rows (caller clears). */
static PGresult *query1(const char *sql, const char *lit) {
    const char *params[1] = {lit};
    PGresult *r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s with %s: %s", sql, lit, PQerrorMessage(conn));
    return r;
}

/* Builds the text array of v[0..n) and asserts PostgreSQL reads back exactly v. */
static void text_round_trip(const char *const *v, size_t n) {
    char *lit = text_array(v, n);
    PGresult *r = query1("SELECT u.v IS NULL, coalesce(u.v, ''), cardinality($1::text[])"
                         "  FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY u.n",
                         lit);
    assert_int_equal(PQntuples(r), n);
    for (int i = 0; i < (int)n; i++) {
        assert_int_equal(strtol(PQgetvalue(r, i, 2), NULL, 10), (long)n);
        if (!v[i]) {
            if (strcmp(PQgetvalue(r, i, 0), "t") != 0)
                fail_msg("element %d: want NULL, got '%s' from %s", i, PQgetvalue(r, i, 1), lit);
            continue;
        }
        if (strcmp(PQgetvalue(r, i, 0), "f") != 0 || strcmp(PQgetvalue(r, i, 1), v[i]) != 0)
            fail_msg("element %d: want '%s', got %s'%s' from %s", i, v[i],
                     strcmp(PQgetvalue(r, i, 0), "t") == 0 ? "NULL " : "", PQgetvalue(r, i, 1),
                     lit);
    }
    PQclear(r);
    free(lit);
}

static void awkward_text_elements_round_trip(void **state) {
    (void)state;
    static const char *const v[] = {
        "plain",
        "",
        "NULL",
        "null",
        " NULL",
        "NULL ",
        NULL,
        "he said \"hi\"",
        "C:\\dir\\",
        "\\",
        "\"",
        "\\\"",
        "\"\\",
        "a,b",
        ",",
        "{",
        "}",
        "{}",
        "{\"a\",NULL}",
        "  padded  ",
        "\t",
        "line\nbreak\r\n",
        "卫生间地漏周边渗水",
        "窗扇密封条脱落, 有\"异响\"",
        "墙面空鼓\\地面起砂",
        "🏠 交房",
        "\x01\x1f\x7f",
        "ARRAY[1]",
        "'quoted'",
        "$1",
    };
    text_round_trip(v, ARRAY_LEN(v));
    /* Each one alone too: a lone element has no comma to hide behind. */
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        text_round_trip(&v[i], 1);
    text_round_trip(NULL, 0);
}

static void random_text_elements_round_trip(void **state) {
    (void)state;
    /* Pieces the array grammar cares about, and multi-byte UTF-8 kept whole. */
    static const char *const pieces[] = {"\"", "\\", ",",  "{",  "}",  " ",  "NULL", "null", "a",
                                         "Z",  "0",  "\t", "\n", "卫", "间", "🏠",    "'",    ";"};
    enum { N = 300 };
    char *own[N];
    const char *v[N];
    srand(4242);
    for (int i = 0; i < N; i++) {
        size_t k = (size_t)(rand() % 12), cap = 1 + k * 4;
        own[i] = calloc(1, cap);
        assert_non_null(own[i]);
        for (size_t j = 0; j < k; j++)
            strcat(own[i], pieces[(size_t)rand() % ARRAY_LEN(pieces)]);
        v[i] = i % 37 == 5 ? NULL : own[i];
    }
    text_round_trip(v, N);
    for (int i = 0; i < N; i++)
        free(own[i]);
}

static void bigint_elements_round_trip(void **state) {
    (void)state;
    static const int64_t v[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000007};
    char *lit = int_array(v, ARRAY_LEN(v));
    PGresult *r = query1("SELECT u.v FROM unnest($1::bigint[]) WITH ORDINALITY AS u(v, n)"
                         " ORDER BY u.n",
                         lit);
    assert_int_equal(PQntuples(r), ARRAY_LEN(v));
    for (int i = 0; i < (int)ARRAY_LEN(v); i++) {
        char want[24];
        snprintf(want, sizeof want, "%" PRId64, v[i]);
        assert_string_equal(PQgetvalue(r, i, 0), want);
    }
    PQclear(r);
    free(lit);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(awkward_text_elements_round_trip),
        cmocka_unit_test(random_text_elements_round_trip),
        cmocka_unit_test(bigint_elements_round_trip),
    };
    const pgtest_group_t g = {
        .name = "sql_array", .pg = &pg, .ready = connect_db, .done = disconnect_db};
    return pgtest_run_group(&g, tests, ARRAY_LEN(tests));
}
