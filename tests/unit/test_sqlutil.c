/* test_sqlutil.c - unit tests of the pure helpers in server/engine/sqlutil.c, linked
 * against the real cl_server library:
 *  - PostgreSQL array literals (cl_sqlbuf_array_*): each element against the literal
 *    written by hand from PostgreSQL's documented array input rules ("Array Value Input":
 *    an element in double quotes may hold anything, with " and \ preceded by a
 *    backslash; unquoted NULL is the null element, a quoted "NULL" the word), then a
 *    decoder written from those same rules reads adversarial strings back unchanged;
 *    test_sql_array.c repeats the round trip through a real server;
 *  - the date arithmetic (cl_date_valid, cl_date_days, cl_date_add_months): hand-picked
 *    cases (leap years, month ends, negative months, impossible days such as
 *    2026-02-30), then every day of 1900-2999 and a range of month moves against glibc's
 *    timegm as an independent oracle.
 * Single-threaded; every buffer a test makes is freed by that test. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sql_array_lit.h"
#include "sqlutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- array literals ----------------------------------------------------------------- */

/* Asserts that the one-element array of s is exactly want. */
static void one_element_is(const char *s, const char *want) {
    const char *v[] = {s};
    char *lit = text_array(v, 1);
    assert_string_equal(lit, want);
    free(lit);
}

static void array_text_elements_match_hand_written_literals(void **state) {
    (void)state;
    one_element_is("plain", "{\"plain\"}");
    one_element_is("", "{\"\"}");         /* empty must be quoted */
    one_element_is("NULL", "{\"NULL\"}"); /* the word, not the null */
    one_element_is("null", "{\"null\"}");
    one_element_is("he said \"hi\"", "{\"he said \\\"hi\\\"\"}");
    one_element_is("C:\\dir\\", "{\"C:\\\\dir\\\\\"}"); /* trailing backslash too */
    one_element_is("\\\"", "{\"\\\\\\\"\"}");           /* backslash then quote */
    one_element_is("a,b", "{\"a,b\"}");
    one_element_is("{x}", "{\"{x}\"}");
    one_element_is("}", "{\"}\"}");
    one_element_is("  padded  ", "{\"  padded  \"}"); /* blanks kept inside quotes */
    one_element_is("tab\there\nline", "{\"tab\there\nline\"}");
    one_element_is("卫生间地漏周边渗水", "{\"卫生间地漏周边渗水\"}");
    one_element_is("窗扇密封条脱落, 有\"异响\"", "{\"窗扇密封条脱落, 有\\\"异响\\\"\"}");
    one_element_is(NULL, "{NULL}");
}

static void array_separates_elements_with_commas(void **state) {
    (void)state;
    const char *v[] = {"a", NULL, "", "NULL", "b,c"};
    char *lit = text_array(v, ARRAY_LEN(v));
    assert_string_equal(lit, "{\"a\",NULL,\"\",\"NULL\",\"b,c\"}");
    free(lit);

    char *empty = text_array(NULL, 0);
    assert_string_equal(empty, "{}");
    free(empty);
}

static void array_int_elements(void **state) {
    (void)state;
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    cl_sqlbuf_array_int(&b, 1);
    cl_sqlbuf_array_int(&b, -2);
    cl_sqlbuf_array_int(&b, 0);
    cl_sqlbuf_array_int(&b, INT64_MAX);
    cl_sqlbuf_array_int(&b, INT64_MIN);
    char *lit = cl_sqlbuf_array_close(&b);
    assert_string_equal(lit, "{1,-2,0,9223372036854775807,-9223372036854775808}");
    free(lit);
}

/* Decodes a one-dimensional text array literal by PostgreSQL's documented rules:
 * elements separated by commas, blanks around them ignored; a quoted element keeps
 * everything, a backslash taking the next byte as is; an unquoted NULL (any case) is the
 * null element. Fills out[] (malloc'd strings, NULL for null) and returns the count, or
 * -1 when lit is not a literal. */
static int decode_array(const char *lit, char **out, int max) {
    const char *p = lit;
    int n = 0;
    if (*p++ != '{') return -1;
    while (*p == ' ')
        p++;
    if (*p == '}') return p[1] ? -1 : 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (n == max) return -1;
        if (*p == '"') {
            size_t cap = strlen(p) + 1, len = 0;
            char *s = malloc(cap);
            assert_non_null(s);
            for (p++; *p != '"'; p++) {
                if (!*p) return -1;
                if (*p == '\\' && !*++p) return -1;
                s[len++] = *p;
            }
            s[len] = '\0';
            p++;
            out[n++] = s;
        } else {
            const char *start = p;
            while (*p && *p != ',' && *p != '}' && *p != ' ')
                p++;
            if ((size_t)(p - start) != 4 || strncasecmp(start, "NULL", 4) != 0)
                return -1; /* our encoder quotes everything but the null */
            out[n++] = NULL;
        }
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}' && !p[1]) return n;
        return -1;
    }
}

static void array_round_trips_through_the_documented_grammar(void **state) {
    (void)state;
    static const char *const fixed[] = {
        "",
        "NULL",
        "null",
        " NULL ",
        "\"",
        "\\",
        "\\\\\"\"",
        ",",
        "{",
        "}",
        "{}",
        "{\"a\",NULL}",
        "a\\,b",
        "  ",
        "\t",
        "卫生间",
        "墙面空鼓\\地面起砂",
        "x\"y\\z",
        "\xf0\x9f\x8f\xa0",
        NULL,
    };
    enum { N = ARRAY_LEN(fixed) + 200 };
    const char *v[N];
    char *own[N] = {0};
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_LEN(fixed); i++)
        v[n++] = fixed[i];
    /* Random strings from the bytes that matter to the grammar, plus any other byte. */
    static const char alphabet[] = "\"\\,{} NULnul\tab\xe5\x8d\xab";
    srand(20261121);
    while (n < N) {
        size_t len = (size_t)(rand() % 40);
        char *s = malloc(len + 1);
        assert_non_null(s);
        for (size_t k = 0; k < len; k++) {
            int r = rand();
            s[k] = r % 4 ? alphabet[(size_t)(r / 4) % (sizeof alphabet - 1)] : (char)(1 + r % 255);
        }
        s[len] = '\0';
        own[n] = s;
        v[n++] = s;
    }
    char *lit = text_array(v, N);
    char *back[N];
    assert_int_equal(decode_array(lit, back, N), N);
    for (size_t i = 0; i < N; i++) {
        if (!v[i]) {
            assert_null(back[i]);
            continue;
        }
        assert_non_null(back[i]);
        assert_string_equal(back[i], v[i]);
        free(back[i]);
    }
    free(lit);
    for (size_t i = 0; i < N; i++)
        free(own[i]);
}

static void array_grows_past_its_first_allocation(void **state) {
    (void)state;
    /* 3,000 elements of 10 bytes: far past the first 256-byte buffer. */
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    char elem[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(elem, sizeof elem, "e%04d\"%04d", i, i);
        cl_sqlbuf_array_text(&b, elem);
    }
    char *lit = cl_sqlbuf_array_close(&b);
    assert_non_null(lit);
    /* "{" + 3000 * ("\"" + 10 bytes + 1 backslash + "\"") + 2999 commas + "}" */
    assert_int_equal(strlen(lit), 2 + 3000 * 13 + 2999);
    char *back[3000];
    assert_int_equal(decode_array(lit, back, 3000), 3000);
    for (int i = 0; i < 3000; i++) {
        snprintf(elem, sizeof elem, "e%04d\"%04d", i, i);
        assert_string_equal(back[i], elem);
        free(back[i]);
    }
    free(lit);
}

/* ---- dates -------------------------------------------------------------------------- */

/* Days since 1970-01-01 by glibc (the oracle); -1e9 when the date does not exist, i.e.
 * timegm normalised it to another day. */
static int64_t oracle_days(int y, int m, int d) {
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    if (tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d) return -1000000000;
    return (int64_t)(t - 12 * 3600) / 86400;
}

static void date_valid_cases(void **state) {
    (void)state;
    static const struct {
        const char *s;
        bool valid;
    } cases[] = {
        {"2026-02-28", true},   {"2026-02-29", false},     {"2026-02-30", false},
        {"2024-02-29", true},   {"2000-02-29", true},      {"1900-02-29", false},
        {"2100-02-29", false},  {"2400-02-29", true}, /* divisible by 400: a leap year */
        {"2026-04-30", true},   {"2026-04-31", false},     {"2026-06-31", false},
        {"2026-09-31", false},  {"2026-11-31", false},     {"2026-12-31", true},
        {"2026-01-31", true},   {"2026-13-01", false},     {"2026-00-10", false},
        {"2026-01-00", false},  {"2026-01-32", false},     {"1900-01-01", true},
        {"1899-12-31", false},  {"2999-12-31", true},      {"3000-01-01", false},
        {"2026-1-01", false},   {"2026-01-1", false},      {"2026/01/01", false},
        {"2026-01-01 ", false}, {" 2026-01-01", false},    {"", false},
        {"20260101xx", false},  {"+026-01-01", false},     {"2026-01-0a", false},
        {"2026-0x-01", false},  {"２０２６-01-01", false}, {"2026-01-01T00", false},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        bool got = cl_date_valid(cases[i].s);
        if (got != cases[i].valid)
            fail_msg("cl_date_valid(\"%s\") = %d, want %d", cases[i].s, got, cases[i].valid);
    }
}

static void date_days_cases(void **state) {
    (void)state;
    assert_int_equal(cl_date_days("1970-01-01"), 0);
    assert_int_equal(cl_date_days("1970-01-02"), 1);
    assert_int_equal(cl_date_days("1969-12-31"), -1);
    assert_int_equal(cl_date_days("2000-03-01"), 11017);
    assert_int_equal(cl_date_days("2024-02-29"), 19782);
    assert_int_equal(cl_date_days("2026-02-28"), 20512);
    assert_int_equal(cl_date_days("1900-01-01"), -25567);
    assert_int_equal(cl_date_days("2999-12-31"), 376199);
    /* Across a leap day and a non-leap February end. */
    assert_int_equal(cl_date_days("2024-03-01") - cl_date_days("2024-02-28"), 2);
    assert_int_equal(cl_date_days("2026-03-01") - cl_date_days("2026-02-28"), 1);
    assert_int_equal(cl_date_days("2100-03-01") - cl_date_days("2100-02-28"), 1);
    assert_int_equal(cl_date_days("2001-01-01") - cl_date_days("2000-01-01"), 366);
}

/* Every (y, m, d) with d in 1..31 of 1900-2999: valid exactly when the oracle says the
 * day exists, and then the same day number; valid days are consecutive numbers. */
static void date_every_day_of_1900_to_2999(void **state) {
    (void)state;
    int64_t prev = 0;
    long valid = 0;
    char s[16];
    for (int y = 1900; y <= 2999; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 31; d++) {
                snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d);
                int64_t want = oracle_days(y, m, d);
                bool exists = want != -1000000000;
                if (cl_date_valid(s) != exists)
                    fail_msg("cl_date_valid(\"%s\") = %d, want %d", s, !exists, exists);
                if (!exists) continue;
                int64_t got = cl_date_days(s);
                if (got != want)
                    fail_msg("cl_date_days(\"%s\") = %lld, want %lld", s, (long long)got,
                             (long long)want);
                if (valid++ && got != prev + 1)
                    fail_msg("%s is day %lld, the day before was %lld", s, (long long)got,
                             (long long)prev);
                prev = got;
            }
    /* 1,100 years, 267 of them leap (1900, 2100, 2200, 2300, 2500 ... are not). */
    assert_int_equal(valid, 1100L * 365 + 267);
}

static void date_add_months_cases(void **state) {
    (void)state;
    static const struct {
        const char *from;
        int months;
        const char *want;
    } cases[] = {
        {"2026-01-15", 0, "2026-01-15"},   {"2026-01-31", 1, "2026-02-28"},
        {"2024-01-31", 1, "2024-02-29"},   {"2000-01-31", 1, "2000-02-29"},
        {"2100-01-31", 1, "2100-02-28"},   {"2026-03-31", -1, "2026-02-28"},
        {"2024-03-31", -1, "2024-02-29"},  {"2026-05-31", 1, "2026-06-30"},
        {"2026-08-31", 6, "2027-02-28"},   {"2026-12-31", 1, "2027-01-31"},
        {"2026-12-15", 13, "2028-01-15"},  {"2026-01-15", -1, "2025-12-15"},
        {"2026-01-15", -13, "2024-12-15"}, {"2026-01-31", -2, "2025-11-30"},
        {"2028-02-29", 12, "2029-02-28"},  {"2028-02-29", 48, "2032-02-29"},
        {"2024-02-29", -24, "2022-02-28"}, {"2024-02-29", -48, "2020-02-29"},
        {"2026-02-28", -12, "2025-02-28"}, {"2026-11-30", 3, "2027-02-28"},
        {"2026-06-30", 1, "2026-07-30"},   {"1900-03-31", -1, "1900-02-28"},
        {"2026-07-31", 120, "2036-07-31"}, {"2026-07-31", -120, "2016-07-31"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = cl_date_add_months(cases[i].from, cases[i].months);
        int64_t want = cl_date_days(cases[i].want);
        if (got != want)
            fail_msg("%s %+d months = day %lld, want %s (day %lld)", cases[i].from, cases[i].months,
                     (long long)got, cases[i].want, (long long)want);
    }
}

/* Every day of 1996-2032 moved by -30..+30 months, against the oracle: the same day of
 * the target month, or its last day when the month is shorter. */
static void date_add_months_against_the_oracle(void **state) {
    (void)state;
    char s[16];
    long checked = 0;
    for (int y = 1996; y <= 2032; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 31; d++) {
                if (oracle_days(y, m, d) == -1000000000) continue;
                snprintf(s, sizeof s, "%04d-%02d-%02d", y, m, d);
                for (int k = -30; k <= 30; k++) {
                    int t = (y * 12 + m - 1) + k; /* positive here, so / and % are floor */
                    int ty = t / 12, tm = t % 12 + 1;
                    int last = 31;
                    while (oracle_days(ty, tm, last) == -1000000000)
                        last--;
                    int64_t want = oracle_days(ty, tm, d < last ? d : last);
                    int64_t got = cl_date_add_months(s, k);
                    if (got != want)
                        fail_msg("%s %+d months = day %lld, want %lld", s, k, (long long)got,
                                 (long long)want);
                    checked++;
                }
            }
    assert_true(checked > 13000L * 61);
}

/* ---- repeated keys ------------------------------------------------------------------ */

static int str_order(const void *a, const void *b) {
    return strcmp(a, b);
}

typedef struct repeats {
    size_t n;
    size_t at[8], first[8];
} repeats_t;

static void note_repeat(void *ctx, size_t i, size_t first) {
    repeats_t *r = ctx;
    assert_true(r->n < 8);
    r->at[r->n] = i;
    r->first[r->n++] = first;
}

/* Every later record with an earlier record's key is reported once, with the earliest. */
static void test_each_repeat(void **state) {
    (void)state;
    const char *const keys[] = {"b", "a", "b", "c", "a", "b", "d"};
    repeats_t r = {0};
    assert_int_equal(
        cl_each_repeat((const void *const *)keys, ARRAY_LEN(keys), str_order, note_repeat, &r),
        CL_OK);
    assert_int_equal(r.n, 3);
    bool seen[ARRAY_LEN(keys)] = {false};
    for (size_t k = 0; k < r.n; k++) {
        seen[r.at[k]] = true;
        if (r.at[k] == 4)
            assert_int_equal(r.first[k], 1); /* a */
        else
            assert_int_equal(r.first[k], 0); /* b at 2 and 5 */
    }
    assert_true(seen[2] && seen[4] && seen[5]);
    r.n = 0;
    assert_int_equal(cl_each_repeat(NULL, 0, str_order, note_repeat, &r), CL_OK);
    assert_int_equal(r.n, 0);
}

/* Stored text holds no C0 control character; only a description or a note a newline. */
static void text_control_characters(void **state) {
    (void)state;
    char why[256];
    assert_false(cl_text_why(why, sizeof why, "description", "两行\n描述", true, 2000));
    assert_false(cl_text_why(why, sizeof why, "note", "已修\n闭水48h", false, 2000));
    assert_true(cl_text_why(why, sizeof why, "location", "卫生\n间", true, 100));
    assert_string_equal(why, "location holds a control character (U+000A, a newline) at "
                             "character 3: it must be one line of text");
    assert_true(cl_text_why(why, sizeof why, "description", "a\r\nb", true, 2000));
    assert_string_equal(why, "description holds a control character (U+000D, a carriage "
                             "return) at character 2: only a newline may be written there");
    assert_true(cl_text_why(why, sizeof why, "name", "\t东方", true, 200));
    assert_non_null(strstr(why, "(U+0009, a tab) at character 1"));
    assert_true(cl_text_why(why, sizeof why, "note", "x\x1b[31m", false, 2000));
    assert_non_null(strstr(why, "(U+001B) at character 2"));
    assert_false(cl_text_why(why, sizeof why, "name", "东方雨虹 (DEL \x7f is not C0)", true, 200));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_repeat),
        cmocka_unit_test(text_control_characters),
        cmocka_unit_test(array_text_elements_match_hand_written_literals),
        cmocka_unit_test(array_separates_elements_with_commas),
        cmocka_unit_test(array_int_elements),
        cmocka_unit_test(array_round_trips_through_the_documented_grammar),
        cmocka_unit_test(array_grows_past_its_first_allocation),
        cmocka_unit_test(date_valid_cases),
        cmocka_unit_test(date_days_cases),
        cmocka_unit_test(date_every_day_of_1900_to_2999),
        cmocka_unit_test(date_add_months_cases),
        cmocka_unit_test(date_add_months_against_the_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
