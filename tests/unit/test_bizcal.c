/* test_bizcal.c - business time (common/bizcal.c) on the 2025 National Day holiday as the
 * State Council set it: 1-8 October off, Sunday 28 September and Saturday 11 October
 * working days (调休); working hours 09:00-12:00 and 13:00-18:00 in China (UTC+8). The
 * expected instants were worked out by hand from that calendar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bizcal.h"

#define H  3600
#define CN (8 * H)

static cl_bizcal_day_t with_makeup[10], without_makeup[10];

/* The calendar above, with or without the make-up days (each in its own array). */
static cl_bizcal_t calendar(bool makeup) {
    cl_bizcal_day_t *national_day = makeup ? with_makeup : without_makeup;
    size_t n = 0;
    if (makeup)
        national_day[n++] = (cl_bizcal_day_t){cl_bizcal_day_of(2025, 9, 28), CL_BIZDAY_WORK};
    for (int d = 1; d <= 8; d++)
        national_day[n++] = (cl_bizcal_day_t){cl_bizcal_day_of(2025, 10, d), CL_BIZDAY_OFF};
    if (makeup)
        national_day[n++] = (cl_bizcal_day_t){cl_bizcal_day_of(2025, 10, 11), CL_BIZDAY_WORK};
    cl_bizcal_t cal = {.utc_offset_s = CN,
                       .n_spans = 2,
                       .spans = {{9 * H, 12 * H}, {13 * H, 18 * H}},
                       .n_days = n,
                       .days = national_day};
    return cal;
}

/* The UTC instant of a local time in China. */
static int64_t at(int y, int m, int d, int hh, int mm) {
    return (int64_t)cl_bizcal_day_of(y, m, d) * 86400 + hh * H + mm * 60 - CN;
}

static void test_civil_days(void **state) {
    (void)state;
    assert_int_equal(cl_bizcal_day_of(1970, 1, 1), 0);
    assert_int_equal(cl_bizcal_day_of(2000, 3, 1), 11017);
    assert_int_equal(cl_bizcal_day_of(1969, 12, 31), -1);
    int y, m, d;
    for (int32_t day = -800; day < 30000; day += 37) {
        cl_bizcal_date_of(day, &y, &m, &d);
        assert_int_equal(cl_bizcal_day_of(y, m, d), day);
    }
    cl_bizcal_date_of(cl_bizcal_day_of(2024, 2, 29), &y, &m, &d);
    assert_true(y == 2024 && m == 2 && d == 29);
    assert_int_equal(cl_bizcal_isodow(cl_bizcal_day_of(2025, 10, 1)), 3);  /* Wednesday */
    assert_int_equal(cl_bizcal_isodow(cl_bizcal_day_of(2025, 10, 11)), 6); /* Saturday */
    assert_int_equal(cl_bizcal_isodow(cl_bizcal_day_of(2025, 9, 28)), 7);  /* Sunday */
}

static void test_workdays(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar(true);
    assert_int_equal(cl_bizcal_check(&cal), CL_OK);
    assert_true(cl_bizcal_is_workday(&cal, cl_bizcal_day_of(2025, 9, 30)));
    assert_false(cl_bizcal_is_workday(&cal, cl_bizcal_day_of(2025, 10, 6)));  /* a Monday off */
    assert_true(cl_bizcal_is_workday(&cal, cl_bizcal_day_of(2025, 10, 11)));  /* make-up Sat */
    assert_true(cl_bizcal_is_workday(&cal, cl_bizcal_day_of(2025, 9, 28)));   /* make-up Sun */
    assert_false(cl_bizcal_is_workday(&cal, cl_bizcal_day_of(2025, 10, 12))); /* a Sunday */
    assert_true(cl_bizcal_is_open(&cal, at(2025, 10, 11, 10, 0)));
    assert_false(cl_bizcal_is_open(&cal, at(2025, 10, 9, 12, 30))); /* lunch */
    assert_false(cl_bizcal_is_open(&cal, at(2025, 10, 9, 18, 0)));  /* spans are half-open */
    assert_true(cl_bizcal_is_open(&cal, at(2025, 10, 9, 17, 59)));
}

/* The case: a 4 h clock started at 17:30 on the last working day before the
 * holiday has 30 minutes that day and 3 h 30 on the first day back: 13:30 on 9 October. */
static void test_four_hours_over_national_day(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar(true);
    int64_t start = at(2025, 9, 30, 17, 30);
    int64_t due = cl_bizcal_add(&cal, start, 4 * H);
    assert_int_equal(due, at(2025, 10, 9, 13, 30));
    assert_int_equal(cl_bizcal_between(&cal, start, due), 4 * H);
    /* at 12:59 on 9 October 3 h 30 of it are used (lunch does not count), at 13:29 3 h 59 */
    assert_int_equal(cl_bizcal_between(&cal, start, at(2025, 10, 9, 12, 59)), 3 * H + 30 * 60);
    assert_int_equal(cl_bizcal_between(&cal, start, at(2025, 10, 9, 13, 29)), 3 * H + 59 * 60);
}

/* Two working days from Friday 10 October 09:00: Friday, then the make-up Saturday. Without
 * the make-up day the Saturday is off and the clock runs to Monday. */
static void test_makeup_saturday_counts(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar(true);
    assert_int_equal(cl_bizcal_add(&cal, at(2025, 10, 10, 9, 0), 16 * H), at(2025, 10, 11, 18, 0));
    cl_bizcal_t plain = calendar(false);
    assert_int_equal(cl_bizcal_add(&plain, at(2025, 10, 10, 9, 0), 16 * H),
                     at(2025, 10, 13, 18, 0));
    /* a clock started on Saturday 27 September waits for the make-up Sunday */
    assert_int_equal(cl_bizcal_add(&cal, at(2025, 9, 27, 10, 0), 1 * H), at(2025, 9, 28, 10, 0));
    assert_int_equal(cl_bizcal_next_open(&cal, at(2025, 9, 27, 10, 0)), at(2025, 9, 28, 9, 0));
}

static void test_next_open_and_edges(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar(true);
    /* 2 a.m. on National Day: the next working minute is 09:00 on 9 October */
    assert_int_equal(cl_bizcal_next_open(&cal, at(2025, 10, 1, 2, 0)), at(2025, 10, 9, 9, 0));
    /* in lunch: 13:00; inside a span: itself */
    assert_int_equal(cl_bizcal_next_open(&cal, at(2025, 10, 9, 12, 10)), at(2025, 10, 9, 13, 0));
    assert_int_equal(cl_bizcal_next_open(&cal, at(2025, 10, 9, 9, 5)), at(2025, 10, 9, 9, 5));
    /* a budget that ends exactly at a span's end ends there, not at the next start */
    assert_int_equal(cl_bizcal_add(&cal, at(2025, 10, 9, 9, 0), 3 * H), at(2025, 10, 9, 12, 0));
    assert_int_equal(cl_bizcal_add(&cal, at(2025, 10, 9, 9, 0), 0), at(2025, 10, 9, 9, 0));
    assert_int_equal(cl_bizcal_between(&cal, at(2025, 10, 9, 10, 0), at(2025, 10, 9, 9, 0)), 0);
    /* a whole working week is 5 x 8 h */
    assert_int_equal(cl_bizcal_between(&cal, at(2025, 11, 3, 0, 0), at(2025, 11, 10, 0, 0)),
                     40 * H);
}

/* For any start and budget, the time used from start to the deadline is the budget. */
static void test_add_between_agree(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar(true);
    uint32_t x = 2463534242u;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        int64_t start = at(2025, 9, 1, 0, 0) + (int64_t)(x % (60u * 86400u));
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        int64_t budget = (int64_t)(x % (30u * 8u * H));
        int64_t due = cl_bizcal_add(&cal, start, budget);
        assert_true(due >= start);
        assert_int_equal(cl_bizcal_between(&cal, start, due), budget);
    }
}

static void test_bad_calendars(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar(true);
    cal.spans[1].start_s = 11 * H; /* overlaps 09:00-12:00 */
    assert_int_equal(cl_bizcal_check(&cal), CL_EINVAL);
    cal = calendar(true);
    cal.n_spans = 0;
    assert_int_equal(cl_bizcal_check(&cal), CL_EINVAL);
    cal = calendar(true);
    cal.spans[1].end_s = 86401;
    assert_int_equal(cl_bizcal_check(&cal), CL_EINVAL);
    static const cl_bizcal_day_t twice[] = {{20000, CL_BIZDAY_OFF}, {20000, CL_BIZDAY_WORK}};
    cal = calendar(true);
    cal.days = twice;
    cal.n_days = 2;
    assert_int_equal(cl_bizcal_check(&cal), CL_EINVAL);
    static const cl_bizcal_day_t odd[] = {{20000, 7}};
    cal.days = odd;
    cal.n_days = 1;
    assert_int_equal(cl_bizcal_check(&cal), CL_EINVAL);
    /* every day off: no deadline, no next open minute */
    cl_bizcal_t closed = calendar(true);
    closed.n_spans = 1;
    closed.spans[0] = (cl_bizcal_span_t){0, 1};
    assert_int_equal(cl_bizcal_check(&closed), CL_OK);
    assert_int_equal(cl_bizcal_add(&closed, 0, (int64_t)CL_BIZCAL_MAX_SEARCH_DAYS * 86400), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_days),
        cmocka_unit_test(test_workdays),
        cmocka_unit_test(test_four_hours_over_national_day),
        cmocka_unit_test(test_makeup_saturday_counts),
        cmocka_unit_test(test_next_open_and_edges),
        cmocka_unit_test(test_add_between_agree),
        cmocka_unit_test(test_bad_calendars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
