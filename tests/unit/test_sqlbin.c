/* test_sqlbin.c - cl_sqlbin_bytea_array (server/engine/sqlutil.c), the encoder of bytea[]
 * parameters sent in binary (photos and their SHA-256 when items are recorded).
 *
 * First against bytes written out by hand from PostgreSQL's binary array format (the
 * layout array_recv reads: ndim, flags, element type, per dimension length and lower
 * bound, then length-prefixed elements, all big-endian); then through a real
 * PostgreSQL 15 (pgtest): the server must accept the parameter as bytea[], see every
 * element with its length, NULLness and content (compared by SHA-256 computed here),
 * and send the same array back, in binary, byte for byte. Main thread only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "pgtest.h"
#include "sqlutil.h"

#define BIG_LEN (2u * 1024 * 1024) /* a photo at its limit */

static pgtest_t pg; /* static so pgtest's atexit cleanup can reach it */

/* Encodes and checks the result against want[0..wlen). */
static void expect_bytes(const uint8_t *const *elems, const size_t *lens, size_t n,
                         const uint8_t *want, size_t wlen) {
    int len = -1;
    char *got = cl_sqlbin_bytea_array(elems, lens, n, &len);
    assert_non_null(got);
    assert_int_equal(len, (int)wlen);
    assert_memory_equal(got, want, wlen);
    free(got);
}

/* Two elements, one of them empty (not NULL). */
static void format_two_elements(void **state) {
    (void)state;
    static const uint8_t a[] = {0x00, 0x01, 0xFF};
    const uint8_t *elems[] = {a, (const uint8_t *)""};
    const size_t lens[] = {sizeof a, 0};
    // clang-format off
    static const uint8_t want[] = {
        0, 0, 0, 1,       /* one dimension */
        0, 0, 0, 0,       /* no NULL element */
        0, 0, 0, 17,      /* bytea */
        0, 0, 0, 2,       /* two elements */
        0, 0, 0, 1,       /* lower bound 1 */
        0, 0, 0, 3,       /* 3 bytes, */
        0x00, 0x01, 0xFF, /* these */
        0, 0, 0, 0,       /* 0 bytes */
    };
    // clang-format on
    expect_bytes(elems, lens, 2, want, sizeof want);
}

/* A NULL element: flags 1 and length -1, no bytes. */
static void format_null_element(void **state) {
    (void)state;
    const uint8_t *elems[] = {NULL, (const uint8_t *)"a"};
    const size_t lens[] = {99 /* ignored for NULL */, 1};
    // clang-format off
    static const uint8_t want[] = {
        0, 0, 0, 1,             /* one dimension */
        0, 0, 0, 1,             /* has a NULL element */
        0, 0, 0, 17,            /* bytea */
        0, 0, 0, 2,             /* two elements */
        0, 0, 0, 1,             /* lower bound 1 */
        0xFF, 0xFF, 0xFF, 0xFF, /* -1: NULL, no bytes */
        0, 0, 0, 1, 'a',        /* 1 byte */
    };
    // clang-format on
    expect_bytes(elems, lens, 2, want, sizeof want);
}

/* An empty array has no dimension at all. */
static void format_empty(void **state) {
    (void)state;
    static const uint8_t want[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17};
    expect_bytes(NULL, NULL, 0, want, sizeof want);
}

/* Lengths are written big-endian whatever the host's order. */
static void format_length_order(void **state) {
    (void)state;
    size_t n = 0x010203;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    const uint8_t *elems[] = {big};
    int len = 0;
    char *got = cl_sqlbin_bytea_array(elems, &n, 1, &len);
    assert_non_null(got);
    assert_int_equal(len, 20 + 4 + (int)n);
    static const uint8_t head[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 17,
                                   0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 2, 3};
    assert_memory_equal(got, head, sizeof head);
    free(got);
    free(big);
}

/* ---- through PostgreSQL ---- */

static void sha256_hex(const uint8_t *p, size_t n, char out[65]) {
    uint8_t md[32];
    unsigned mdlen = 0;
    assert_int_equal(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL), 1);
    assert_int_equal(mdlen, 32);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Every byte value, an empty element, a NULL and a photo-sized element, in binary. */
static void roundtrip_postgres(void **state) {
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    uint8_t *big = malloc(BIG_LEN);
    assert_non_null(big);
    uint32_t x = 2463534242u; /* xorshift: reproducible, incompressible enough */
    for (size_t i = 0; i < BIG_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big[i] = (uint8_t)x;
    }
    const uint8_t *elems[] = {all, (const uint8_t *)"", NULL, big};
    const size_t lens[] = {sizeof all, 0, 0, BIG_LEN};
    enum { N = 4 };
    int len = 0;
    char *arr = cl_sqlbin_bytea_array(elems, lens, N, &len);
    assert_non_null(arr);

    PGconn *c = PQconnectdb(pg.conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    const char *params[] = {arr};
    const int plens[] = {len}, pformats[] = {1};
    PGresult *r = PQexecParams(c,
                               "SELECT ord, x IS NULL, coalesce(length(x), -1),"
                               "       coalesce(encode(sha256(x), 'hex'), '')"
                               "  FROM unnest($1::bytea[]) WITH ORDINALITY AS t (x, ord)"
                               " ORDER BY ord",
                               1, NULL, params, plens, pformats, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s", PQerrorMessage(c));
    assert_int_equal(PQntuples(r), N);
    for (int i = 0; i < N; i++) {
        char want[65] = "";
        if (elems[i]) sha256_hex(elems[i], lens[i], want);
        assert_int_equal(atoi(PQgetvalue(r, i, 0)), i + 1);
        assert_string_equal(PQgetvalue(r, i, 1), elems[i] ? "f" : "t");
        assert_int_equal(atol(PQgetvalue(r, i, 2)), elems[i] ? (long)lens[i] : -1L);
        assert_string_equal(PQgetvalue(r, i, 3), want);
    }
    PQclear(r);

    /* The array back in binary: array_send writes exactly what was sent. */
    r = PQexecParams(c, "SELECT $1::bytea[]", 1, NULL, params, plens, pformats, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s", PQerrorMessage(c));
    assert_int_equal(PQgetlength(r, 0, 0), len);
    assert_memory_equal(PQgetvalue(r, 0, 0), arr, (size_t)len);
    PQclear(r);

    /* An empty array is an empty bytea[], not NULL. */
    free(arr);
    arr = cl_sqlbin_bytea_array(NULL, NULL, 0, &len);
    assert_non_null(arr);
    params[0] = arr;
    const int elen[] = {len};
    r = PQexecParams(c, "SELECT cardinality($1::bytea[]), $1::bytea[] IS NULL", 1, NULL, params,
                     elen, pformats, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s", PQerrorMessage(c));
    assert_string_equal(PQgetvalue(r, 0, 0), "0");
    assert_string_equal(PQgetvalue(r, 0, 1), "f");
    PQclear(r);
    PQfinish(c);
    free(arr);
    free(big);
}

int main(void) {
    const struct CMUnitTest format[] = {
        cmocka_unit_test(format_two_elements),
        cmocka_unit_test(format_null_element),
        cmocka_unit_test(format_empty),
        cmocka_unit_test(format_length_order),
    };
    const struct CMUnitTest postgres[] = {
        cmocka_unit_test(roundtrip_postgres),
    };
    int failed = cmocka_run_group_tests_name("format", format, NULL, NULL);
    const pgtest_group_t group = {.name = "postgres", .pg = &pg};
    failed += pgtest_run_group(&group, postgres, sizeof postgres / sizeof postgres[0]);
    return failed;
}
