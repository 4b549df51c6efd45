/* test_complaint_rules.c - a complaint's class from its facts (common/complaint_rules.c),
 * at each threshold of the group's rules (DOMAIN.md section 4) and one below it, with the
 * reasons written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "complaint_rules.h"

#define DAY 86400

/* One complaint of one owner, nothing else known. */
static cl_complaint_facts_t plain(void) {
    return (cl_complaint_facts_t){.complainants = 1, .same_issue = 1};
}

static cl_complaint_class_t classify(const cl_complaint_facts_t *f, char *why) {
    return cl_complaint_classify(f, why, 400);
}

static void test_plain_is_none(void **state) {
    (void)state;
    char why[400] = "x";
    cl_complaint_facts_t f = plain();
    assert_int_equal(classify(&f, why), CL_CCLASS_ORDINARY);
    assert_string_equal(why, "");
}

static void test_major(void **state) {
    (void)state;
    char why[400];
    cl_complaint_facts_t f = plain();
    f.legal = true;
    assert_int_equal(classify(&f, why), CL_CCLASS_MAJOR);
    assert_string_equal(why, "已进入诉讼");
    f = plain();
    f.media = true;
    f.legal_risk = true; /* a hot rule too: the major one is the reason */
    assert_int_equal(classify(&f, why), CL_CCLASS_MAJOR);
    assert_string_equal(why, "已被媒体曝光");
    f = plain();
    f.complainants = 10;
    assert_int_equal(classify(&f, why), CL_CCLASS_MAJOR);
    assert_string_equal(why, "集体投诉10人（10人及以上）");
    f.complainants = 9;
    assert_int_equal(classify(&f, why), CL_CCLASS_HOT);
    assert_string_equal(why, "集体投诉9人（3人及以上）");
    f = plain();
    f.fault_open_s = 30 * DAY + 1;
    assert_int_equal(classify(&f, why), CL_CCLASS_MAJOR);
    assert_string_equal(why, "因我方原因超过30天未解决");
    f.fault_open_s = 30 * DAY; /* "more than 30 days": exactly 30 is hot */
    assert_int_equal(classify(&f, why), CL_CCLASS_HOT);
    assert_string_equal(why, "因我方原因超过7天未解决");
}

static void test_hot(void **state) {
    (void)state;
    char why[400];
    cl_complaint_facts_t f = plain();
    f.same_issue = 3;
    assert_int_equal(classify(&f, why), CL_CCLASS_HOT);
    assert_string_equal(why, "30天内同一问题3位不同投诉人");
    f.same_issue = 2;
    assert_int_equal(classify(&f, why), CL_CCLASS_ORDINARY);
    f = plain();
    f.complainants = 3;
    assert_int_equal(classify(&f, why), CL_CCLASS_HOT);
    f.complainants = 2;
    assert_int_equal(classify(&f, why), CL_CCLASS_ORDINARY);
    f = plain();
    f.fault_open_s = 7 * DAY + 1;
    assert_int_equal(classify(&f, why), CL_CCLASS_HOT);
    f.fault_open_s = 7 * DAY;
    assert_int_equal(classify(&f, why), CL_CCLASS_ORDINARY);
    f = plain();
    f.legal_risk = true;
    f.media_risk = true;
    f.reopened = true; /* important too: hot wins, and names both its rules */
    assert_int_equal(classify(&f, why), CL_CCLASS_HOT);
    assert_string_equal(why, "可能引发诉讼；可能引发媒体曝光");
}

static void test_important(void **state) {
    (void)state;
    char why[400];
    cl_complaint_facts_t f = plain();
    f.reopened = true;
    assert_int_equal(classify(&f, why), CL_CCLASS_IMPORTANT);
    assert_string_equal(why, "关闭后再次投诉");
    f.outside_support = true;
    assert_int_equal(classify(&f, why), CL_CCLASS_IMPORTANT);
    assert_string_equal(why, "关闭后再次投诉；需要外部支持");
}

static void test_short_buffer(void **state) {
    (void)state;
    char why[8];
    cl_complaint_facts_t f = plain();
    f.legal = true;
    f.media = true;
    assert_int_equal(cl_complaint_classify(&f, why, sizeof why), CL_CCLASS_MAJOR);
    assert_true(strlen(why) < sizeof why);
    assert_int_equal(cl_complaint_classify(&f, NULL, 0), CL_CCLASS_MAJOR);
}

/* ---- clocks: the 2025 National Day calendar (1-8 October off, 28 September and 11
 * October working days), 09:00-12:00 and 13:00-18:00 China time; instants by hand. */

#define H  3600
#define CN (8 * H)

static cl_bizcal_day_t national_day[10];

static cl_bizcal_t calendar(void) {
    size_t n = 0;
    national_day[n++] = (cl_bizcal_day_t){cl_bizcal_day_of(2025, 9, 28), CL_BIZDAY_WORK};
    for (int d = 1; d <= 8; d++)
        national_day[n++] = (cl_bizcal_day_t){cl_bizcal_day_of(2025, 10, d), CL_BIZDAY_OFF};
    national_day[n++] = (cl_bizcal_day_t){cl_bizcal_day_of(2025, 10, 11), CL_BIZDAY_WORK};
    return (cl_bizcal_t){.utc_offset_s = CN,
                         .n_spans = 2,
                         .spans = {{9 * H, 12 * H}, {13 * H, 18 * H}},
                         .n_days = n,
                         .days = national_day};
}

/* The UTC instant of local (China) time y-m-d hh:mm. */
static int64_t at(int y, int m, int d, int hh, int mm) {
    return (int64_t)cl_bizcal_day_of(y, m, d) * 86400 + hh * H + mm * 60 - CN;
}

static void test_clock_pause_resume(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar();
    assert_int_equal(cl_bizcal_check(&cal), CL_OK);
    int64_t start = at(2025, 9, 30, 17, 30);
    cl_cclock_t k = {.budget = CL_CCLOCK_FIRST_REPLY_S, .running = start};
    cl_cclock_plan(&k, &cal, start);
    /* 30 minutes on 30 September, then 3.5 h on 9 October after the holiday. */
    assert_int_equal(k.due, at(2025, 10, 9, 13, 30));
    assert_int_equal(k.warn, at(2025, 10, 9, 11, 30)); /* 75 %: 3 h */

    /* Paused at 10:00 on 9 October: 30 min + 1 h used, no due while it waits. */
    int64_t pause = at(2025, 10, 9, 10, 0);
    cl_cclock_tick(&k, &cal, pause);
    cl_cclock_pause(&k);
    cl_cclock_plan(&k, &cal, pause);
    assert_int_equal(k.used, 90 * 60);
    assert_int_equal(k.running, 0);
    assert_int_equal(k.due, 0);
    char text[200] = "";
    cl_cclock_describe(text, sizeof text, "首次答复", &k, &cal);
    assert_string_equal(text, "首次答复：暂停，已用1小时30分，剩余2小时30分");

    /* A day later the paused clock has used nothing more. */
    int64_t resume = at(2025, 10, 10, 9, 0);
    cl_cclock_tick(&k, &cal, resume);
    assert_int_equal(k.used, 90 * 60);
    cl_cclock_resume(&k, resume);
    cl_cclock_plan(&k, &cal, resume);
    assert_int_equal(k.running, resume);
    assert_int_equal(k.due, at(2025, 10, 10, 11, 30)); /* the 2.5 h left */
    assert_int_equal(k.warn, at(2025, 10, 10, 10, 30));
    text[0] = '\0';
    cl_cclock_describe(text, sizeof text, "首次答复", &k, &cal);
    assert_string_equal(text, "首次答复：已用1小时30分，到期2025-10-10 11:30");

    /* Running on: by 10:15 it has used 75 more minutes; then it stops for good. */
    cl_cclock_tick(&k, &cal, at(2025, 10, 10, 10, 15));
    assert_int_equal(k.used, 165 * 60);
    cl_cclock_stop(&k, at(2025, 10, 10, 10, 15));
    cl_cclock_resume(&k, at(2025, 10, 10, 10, 20)); /* a stopped clock does not resume */
    cl_cclock_plan(&k, &cal, at(2025, 10, 10, 10, 20));
    assert_int_equal(k.running, 0);
    assert_int_equal(k.due, 0);
    assert_int_equal(k.stopped, at(2025, 10, 10, 10, 15));
}

static void test_clock_overrun_keeps_due(void **state) {
    (void)state;
    cl_bizcal_t cal = calendar();
    int64_t start = at(2025, 10, 10, 9, 0);
    cl_cclock_t k = {.budget = 2 * H, .running = start};
    cl_cclock_plan(&k, &cal, start);
    assert_int_equal(k.due, at(2025, 10, 10, 11, 0));
    /* Past the budget: the due it had stays, it does not move to now. */
    int64_t late = at(2025, 10, 10, 15, 0);
    cl_cclock_tick(&k, &cal, late);
    cl_cclock_plan(&k, &cal, late);
    assert_int_equal(k.used, 5 * H);
    assert_int_equal(k.due, at(2025, 10, 10, 11, 0));
    assert_int_equal(k.warn, at(2025, 10, 10, 10, 30));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_is_none),
        cmocka_unit_test(test_major),
        cmocka_unit_test(test_hot),
        cmocka_unit_test(test_important),
        cmocka_unit_test(test_short_buffer),
        cmocka_unit_test(test_clock_pause_resume),
        cmocka_unit_test(test_clock_overrun_keeps_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
