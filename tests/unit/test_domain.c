/* test_domain.c - unit tests of the registry of domain names and limits (common/domain.c).
 *
 * The registry against the wire: every enum of the .proto files in proto/ (read from the
 * source, so a new enum cannot be forgotten) is a registry domain unless it is one of
 * the two protocol enums owned elsewhere, and every non-zero value of each protobuf-c
 * enum descriptor has exactly one registry entry and vice versa, its proto name ending
 * in the stored name (ROUND_MOCK1 / mock1), which catches swapped pairs. Then lookups in
 * both directions, unknown input, the accepted-values list and its cutting, and the
 * columns and bounds tables that tests/integration/test_domain.c holds to the schema.
 * Expected names and labels below are written out independently of domain.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Proto enums that are not domains: the frame's message type (common/msg.h), the error
 * code (common/cl_err.h, which mirrors it with its own test) and a sync row's operation. */
static const char *const not_domains[] = {"MsgType", "ErrorCode", "SyncOp", "StatsDim"};

/* ---- the proto file's enums --------------------------------------------------------- */

#define MAX_ENUMS 64

/* Names of the top-level enums declared in the .proto files of proto/ (closeloop.proto and the
 * areas' files it imports), in file order. */
static size_t proto_enums(char names[][64]) {
    const char *src = getenv("CL_SOURCE_DIR");
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/proto/*.proto", src && *src ? src : ".");
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) fail_msg("no proto files match %s", pattern);
    size_t n = 0;
    for (size_t k = 0; k < g.gl_pathc; k++) {
        FILE *f = fopen(g.gl_pathv[k], "r");
        if (!f) fail_msg("cannot open %s", g.gl_pathv[k]);
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char name[64];
            if (sscanf(line, "enum %63[A-Za-z0-9_] {", name) == 1) {
                assert_true(n < MAX_ENUMS);
                strcpy(names[n++], name);
            }
        }
        fclose(f);
    }
    globfree(&g);
    return n;
}

static bool is_not_domain(const char *name) {
    for (size_t i = 0; i < ARRAY_LEN(not_domains); i++)
        if (strcmp(name, not_domains[i]) == 0) return true;
    return false;
}

static void test_every_proto_enum_is_a_domain(void **state) {
    (void)state;
    char names[MAX_ENUMS][64];
    size_t n = proto_enums(names);
    /* 12 today; fewer means the scan above broke, not that enums went away. */
    assert_true(n >= 12);
    size_t domains_found = 0;
    for (size_t i = 0; i < n; i++) {
        int owners = 0;
        for (int d = 0; d < CL_DOM__COUNT; d++) {
            const ProtobufCEnumDescriptor *desc = cl_domain_descriptor((cl_domain_t)d);
            if (desc && strcmp(desc->short_name, names[i]) == 0) owners++;
        }
        if (is_not_domain(names[i])) {
            if (owners != 0) fail_msg("protocol enum %s is listed as a domain", names[i]);
            continue;
        }
        if (owners != 1)
            fail_msg("proto enum %s has %d registry domains, expected exactly 1", names[i], owners);
        domains_found++;
    }
    /* ... and every domain with a descriptor names an enum of the files. */
    size_t with_desc = 0;
    for (int d = 0; d < CL_DOM__COUNT; d++) {
        const ProtobufCEnumDescriptor *desc = cl_domain_descriptor((cl_domain_t)d);
        if (!desc) continue;
        with_desc++;
        assert_string_equal(desc->package_name, "closeloop");
        bool in_file = false;
        for (size_t i = 0; i < n; i++)
            in_file |= strcmp(desc->short_name, names[i]) == 0;
        if (!in_file)
            fail_msg("domain %s names enum %s, in no proto file", cl_domain_what((cl_domain_t)d),
                     desc->short_name);
    }
    assert_int_equal(with_desc, domains_found);
    assert_int_equal(with_desc, 30);
    assert_null(cl_domain_descriptor(CL_DOM_PHOTO_MIME));
}

/* "ROUND_MOCK1" ends with "_" + upper("mock1"). */
static bool proto_name_ends_with(const char *proto_name, const char *stored) {
    char want[96] = "_";
    size_t n = strlen(stored);
    assert_true(n + 2 < sizeof want);
    for (size_t i = 0; i < n; i++)
        want[i + 1] = (char)toupper((unsigned char)stored[i]);
    want[n + 1] = '\0';
    size_t pl = strlen(proto_name), wl = n + 1;
    return pl >= wl && strcmp(proto_name + pl - wl, want) == 0;
}

static void test_values_match_descriptors(void **state) {
    (void)state;
    size_t total = 0;
    for (int d = 0; d < CL_DOM__COUNT; d++) {
        size_t n;
        const cl_domain_value_t *v = cl_domain_values((cl_domain_t)d, &n);
        assert_non_null(v);
        assert_true(n >= 2);
        /* In wire order, 1..n: the lookup by wire value is an index. */
        for (size_t i = 0; i < n; i++)
            assert_int_equal(v[i].wire, (int)i + 1);
        const ProtobufCEnumDescriptor *desc = cl_domain_descriptor((cl_domain_t)d);
        if (!desc) continue;
        /* Proto to registry: 0 is NONE and has no entry, every other value exactly one. */
        for (unsigned i = 0; i < desc->n_values; i++) {
            const ProtobufCEnumValue *pv = &desc->values[i];
            if (pv->value == 0) {
                if (!proto_name_ends_with(pv->name, "none"))
                    fail_msg("%s: value 0 is %s, not *_NONE", desc->short_name, pv->name);
                assert_null(cl_domain_name((cl_domain_t)d, 0));
                continue;
            }
            int entries = 0;
            for (size_t k = 0; k < n; k++)
                if (v[k].wire == pv->value) {
                    entries++;
                    if (!proto_name_ends_with(pv->name, v[k].name))
                        fail_msg("%s: %s = %d is stored as \"%s\"", desc->short_name, pv->name,
                                 pv->value, v[k].name);
                }
            if (entries != 1)
                fail_msg("%s: %s = %d has %d registry entries", desc->short_name, pv->name,
                         pv->value, entries);
            total++;
        }
        /* Registry to proto: every entry is a value of the enum, and none is 0. */
        for (size_t k = 0; k < n; k++) {
            const ProtobufCEnumValue *pv = protobuf_c_enum_descriptor_get_value(desc, v[k].wire);
            if (!pv || v[k].wire == 0)
                fail_msg("%s: registry entry %d \"%s\" is not a value of the proto enum",
                         desc->short_name, v[k].wire, v[k].name);
        }
        assert_int_equal(n + 1, desc->n_values); /* + NONE; no aliases in our proto */
    }
    /* 10 roles (issue 12: hotline, warranty), 3 company kinds, 9 round kinds (issue 12:
     * warranty), 3 statuses, 3
     * severities, 3 outcomes, 2 signoffs, 5 states, 8 actions, 5 timeliness classes; issue 9: 7
     * defect sources, 3 kinds, 6 specialties, 2 grades, 10 states, 13 actions, 11 department kinds,
     * 3 check point statuses, 2 case statuses; issue 12: 2 calendar day kinds, 6 notice kinds,
     * and the complaints' 5 channels, 4 classes, 3 states, 11 actions, 2 clocks; warranty's 3
     * levels, 8 actions, 2 deduction kinds, 3 deduction states. */
    assert_int_equal(total, 10 + 3 + 9 + 3 + 3 + 3 + 2 + 5 + 8 + 5 + 7 + 3 + 6 + 2 + 10 + 13 + 11 +
                                3 + 2 + 2 + 6 + 5 + 4 + 3 + 11 + 2 + 3 + 8 + 2 + 3);
}

static void test_names_and_labels_well_formed(void **state) {
    (void)state;
    for (int d = 0; d < CL_DOM__COUNT; d++) {
        size_t n;
        const cl_domain_value_t *v = cl_domain_values((cl_domain_t)d, &n);
        assert_non_null(cl_domain_what((cl_domain_t)d));
        for (size_t i = 0; i < n; i++) {
            /* Stored names are lower-case ASCII words (a MIME type for photos); a defect's
             * grade is the capital letter the seeds write, A or B. */
            if (d == CL_DOM_DEFECT_GRADE) {
                assert_true(strlen(v[i].name) == 1 && v[i].name[0] >= 'A' && v[i].name[0] <= 'Z');
            } else {
                assert_true(v[i].name[0] >= 'a' && v[i].name[0] <= 'z');
                for (const char *p = v[i].name; *p; p++)
                    assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                                (d == CL_DOM_PHOTO_MIME && *p == '/'));
            }
            /* Labels are Chinese and fit a table column: at most 10 characters. */
            size_t chars = 0;
            bool cjk = false;
            for (const unsigned char *p = (const unsigned char *)v[i].label; *p; p++) {
                chars += (*p & 0xC0) != 0x80;
                cjk |= *p >= 0xE4 && *p <= 0xE9; /* lead byte of U+4E00..U+9FFF */
            }
            if (!cjk || chars == 0 || chars > 10)
                fail_msg("%s %s: label \"%s\"", cl_domain_what((cl_domain_t)d), v[i].name,
                         v[i].label);
            for (size_t k = 0; k < i; k++) {
                assert_string_not_equal(v[i].name, v[k].name);
                assert_string_not_equal(v[i].label, v[k].label);
            }
        }
    }
}

/* ---- lookups -------------------------------------------------------------------------- */

static void test_expected_names_and_labels(void **state) {
    (void)state;
    static const struct {
        cl_domain_t d;
        int wire;
        const char *name, *label;
    } want[] = {
        {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_HQ_ADMIN, "hq_admin", "集团管理员"},
        {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_CR, "cr", "城市客服"},
        {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_CONTRACTOR, "contractor", "施工单位"},
        {CL_DOM_ROLE, CLOSELOOP__ROLE__ROLE_PROPERTY, "property", "物业"},
        {CL_DOM_COMPANY_KIND, CLOSELOOP__COMPANY_KIND__COMPANY_CITY, "city", "城市公司"},
        {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_MOCK1, "mock1", "第一轮模拟验收"},
        {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_HANDOVER, "handover", "房屋交付"},
        {CL_DOM_ROUND_KIND, CLOSELOOP__ROUND_KIND__ROUND_CHECK35M, "check35m",
         "交付35个月质量检查"},
        {CL_DOM_ROUND_STATUS, CLOSELOOP__ROUND_STATUS__ROUND_IN_PROGRESS, "in_progress", "进行中"},
        {CL_DOM_SEVERITY, CLOSELOOP__SEVERITY__SEVERITY_MINOR, "minor", "轻微"},
        {CL_DOM_SEVERITY, CLOSELOOP__SEVERITY__SEVERITY_MAJOR, "major", "一般"},
        {CL_DOM_SEVERITY, CLOSELOOP__SEVERITY__SEVERITY_CRITICAL, "critical", "严重"},
        {CL_DOM_HANDOVER_OUTCOME, CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER,
         "not_taken_over", "未接房"},
        {CL_DOM_SIGNOFF, CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED, "refused", "拒签"},
        {CL_DOM_TICKET_STATE, CLOSELOOP__TICKET_STATE__TICKET_OPEN, "open", "待维修"},
        {CL_DOM_TICKET_STATE, CLOSELOOP__TICKET_STATE__TICKET_NOFIX, "nofix", "不予维修"},
        {CL_DOM_TICKET_ACTION, CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_FAIL, "verify_fail",
         "验收不通过"},
        {CL_DOM_TIMELINESS, CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN, "overdue_open",
         "超期未关闭"},
        {CL_DOM_PHOTO_MIME, 2, "image/png", "PNG图片"},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        if (!cl_domain_name(want[i].d, want[i].wire) || !cl_domain_label(want[i].d, want[i].wire))
            fail_msg("%s %d (%s) has no entry", cl_domain_what(want[i].d), want[i].wire,
                     want[i].name);
        assert_string_equal(cl_domain_name(want[i].d, want[i].wire), want[i].name);
        assert_string_equal(cl_domain_label(want[i].d, want[i].wire), want[i].label);
        assert_int_equal(cl_domain_parse(want[i].d, want[i].name), want[i].wire);
    }
    /* The typed accessors read the same tables. */
    assert_string_equal(cl_round_kind_name(CLOSELOOP__ROUND_KIND__ROUND_CHECK3M), "check3m");
    assert_int_equal(cl_round_kind_parse("mock2"), CLOSELOOP__ROUND_KIND__ROUND_MOCK2);
    assert_string_equal(cl_severity_label(CLOSELOOP__SEVERITY__SEVERITY_CRITICAL), "严重");
    assert_int_equal(cl_severity_parse("critical"), CLOSELOOP__SEVERITY__SEVERITY_CRITICAL);
    assert_int_equal(cl_timeliness_parse("closed_late"),
                     CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE);
    assert_string_equal(cl_company_kind_name(CLOSELOOP__COMPANY_KIND__COMPANY_HQ), "hq");
    assert_int_equal(cl_outcome_parse("accepted_with_items"),
                     CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED_WITH_ITEMS);
    assert_string_equal(cl_signoff_name(CLOSELOOP__SIGNOFF__SIGNOFF_SIGNED), "signed");
    assert_int_equal(cl_round_status_parse("done"), CLOSELOOP__ROUND_STATUS__ROUND_DONE);
    assert_null(cl_severity_name(CLOSELOOP__SEVERITY__SEVERITY_NONE));
}

static void test_round_trip_every_value(void **state) {
    (void)state;
    for (int d = 0; d < CL_DOM__COUNT; d++) {
        size_t n;
        const cl_domain_value_t *v = cl_domain_values((cl_domain_t)d, &n);
        for (size_t i = 0; i < n; i++) {
            const char *name = cl_domain_name((cl_domain_t)d, v[i].wire);
            assert_ptr_equal(name, v[i].name);
            assert_ptr_equal(cl_domain_label((cl_domain_t)d, v[i].wire), v[i].label);
            assert_int_equal(cl_domain_parse((cl_domain_t)d, name), v[i].wire);
            /* A field inside a longer line: only its bytes count. */
            char line[128];
            snprintf(line, sizeof line, "%s,rest", name);
            assert_int_equal(cl_domain_parse_n((cl_domain_t)d, line, strlen(name)), v[i].wire);
            assert_int_equal(cl_domain_parse_n((cl_domain_t)d, line, strlen(name) - 1), 0);
            assert_int_equal(cl_domain_parse_n((cl_domain_t)d, line, strlen(name) + 1), 0);
            /* what a site's form says: the stored name or the Chinese label, one value
             * each (labels are unique in a domain, or this finds the wrong one) */
            assert_int_equal(cl_domain_parse_label_n((cl_domain_t)d, name, strlen(name)),
                             v[i].wire);
            if (v[i].label) {
                assert_int_equal(
                    cl_domain_parse_label_n((cl_domain_t)d, v[i].label, strlen(v[i].label)),
                    v[i].wire);
                assert_int_equal(cl_domain_parse((cl_domain_t)d, v[i].label), 0);
            }
        }
        assert_null(cl_domain_name((cl_domain_t)d, 0));
        assert_null(cl_domain_label((cl_domain_t)d, 0));
        assert_null(cl_domain_name((cl_domain_t)d, (int)n + 1));
        assert_null(cl_domain_name((cl_domain_t)d, -1));
        assert_null(cl_domain_label((cl_domain_t)d, (int)n + 1));
    }
}

static void test_unknown_input(void **state) {
    (void)state;
    static const char *const unknown[] = {"",       "none",    "MOCK1",  "mock1 ",
                                          " mock1", "mock",    "mock10", "模拟",
                                          "NONE",   "mock1\n", "check3", "check3m\x01"};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
        assert_int_equal(cl_domain_parse(CL_DOM_ROUND_KIND, unknown[i]), 0);
    assert_int_equal(cl_domain_parse(CL_DOM_ROUND_KIND, NULL), 0);
    assert_int_equal(cl_domain_parse_n(CL_DOM_ROUND_KIND, NULL, 0), 0);
    /* A name of another domain is not a name of this one. */
    assert_int_equal(cl_domain_parse(CL_DOM_SEVERITY, "mock1"), 0);
    assert_int_equal(cl_domain_parse(CL_DOM_TICKET_STATE, "verify_pass"), 0);
    /* Unknown domains. */
    static const int bad[] = {CL_DOM__COUNT, CL_DOM__COUNT + 1, -1, 1000};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        cl_domain_t d = (cl_domain_t)bad[i];
        size_t n = 99;
        assert_null(cl_domain_name(d, 1));
        assert_null(cl_domain_label(d, 1));
        assert_int_equal(cl_domain_parse(d, "mock1"), 0);
        assert_null(cl_domain_what(d));
        assert_null(cl_domain_values(d, &n));
        assert_int_equal(n, 0);
        assert_null(cl_domain_descriptor(d));
        char buf[8] = "x";
        assert_int_equal(cl_domain_accepted(d, false, buf, sizeof buf), 0);
        assert_string_equal(buf, "");
    }
}

/* ---- accepted values ------------------------------------------------------------------ */

static void test_accepted_list(void **state) {
    (void)state;
    char buf[256];
    const char *plain = "minor, major, critical";
    assert_int_equal(cl_domain_accepted(CL_DOM_SEVERITY, false, buf, sizeof buf), strlen(plain));
    assert_string_equal(buf, plain);
    const char *labelled = "minor (轻微), major (一般), critical (严重)";
    assert_int_equal(cl_domain_accepted(CL_DOM_SEVERITY, true, buf, sizeof buf), strlen(labelled));
    assert_string_equal(buf, labelled);

    size_t rounds_len = cl_domain_accepted(CL_DOM_ROUND_KIND, false, buf, sizeof buf);
    assert_int_equal(rounds_len, strlen(buf));
    assert_string_equal(buf, "mock1, mock2, mock3, handover, check3m, check11m, check23m, "
                             "check35m, warranty");

    /* Sizing first, as with snprintf: NULL and 0 write nothing. */
    size_t need = cl_domain_accepted(CL_DOM_TICKET_ACTION, true, NULL, 0);
    char *exact = malloc(need + 1);
    assert_non_null(exact);
    assert_int_equal(cl_domain_accepted(CL_DOM_TICKET_ACTION, true, exact, need + 1), need);
    assert_int_equal(strlen(exact), need);
    assert_non_null(strstr(exact, "return (退单)"));
    /* One byte short: cut, still terminated, and the count still says the whole. */
    assert_int_equal(cl_domain_accepted(CL_DOM_TICKET_ACTION, true, exact, need), need);
    assert_int_equal(strlen(exact), need - 1);
    free(exact);

    /* A cut lands inside 轻 ("minor (" is 7 bytes, 轻 3): no half character is left. */
    char small[9];
    memset(small, 'z', sizeof small);
    assert_int_equal(cl_domain_accepted(CL_DOM_SEVERITY, true, small, sizeof small),
                     strlen(labelled));
    assert_string_equal(small, "minor (");
    char tiny[1] = {'z'};
    assert_int_equal(cl_domain_accepted(CL_DOM_SEVERITY, false, tiny, 1), strlen(plain));
    assert_int_equal(tiny[0], '\0');
}

/* ---- columns and bounds --------------------------------------------------------------- */

static void test_columns_and_bounds(void **state) {
    (void)state;
    size_t nc, nb;
    const cl_domain_column_t *c = cl_domain_columns(&nc);
    const cl_domain_bound_t *b = cl_domain_bounds(&nb);
    assert_true(nc >= 10 && nb >= 20);
    bool has_column[CL_DOM__COUNT] = {false};
    for (size_t i = 0; i < nc; i++) {
        assert_true((unsigned)c[i].domain < CL_DOM__COUNT);
        assert_true(*c[i].table && *c[i].column);
        has_column[c[i].domain] = true;
        for (size_t k = 0; k < i; k++)
            assert_false(strcmp(c[i].table, c[k].table) == 0 &&
                         strcmp(c[i].column, c[k].column) == 0);
    }
    /* Every domain is stored somewhere except timeliness, which cl_ticket_timeliness()
     * computes (the integration test holds that function to the registry). */
    for (int d = 0; d < CL_DOM__COUNT; d++)
        assert_int_equal(has_column[d], d != CL_DOM_TIMELINESS);
    for (size_t i = 0; i < nb; i++) {
        assert_true(*b[i].table && *b[i].column);
        assert_true(b[i].lo <= b[i].hi);
        for (size_t k = 0; k < i; k++)
            assert_false(strcmp(b[i].table, b[k].table) == 0 &&
                         strcmp(b[i].column, b[k].column) == 0);
    }
    /* Limits the code relies on among themselves. */
    assert_true(CL_LIM_FLOOR_MIN < 0 && CL_LIM_FLOOR_MAX > 0);
    assert_true(CL_LIM_TRADE_CODE_MIN >= 2 && CL_LIM_TRADE_CODE_MIN <= CL_LIM_TRADE_CODE_CHARS);
    assert_true(CL_LIM_PASSWORD_MIN_BYTES <= CL_LIM_PASSWORD_MAX_BYTES);
    assert_int_equal(CL_LIM_PHOTO_BYTES, 2097152);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_proto_enum_is_a_domain),
        cmocka_unit_test(test_values_match_descriptors),
        cmocka_unit_test(test_names_and_labels_well_formed),
        cmocka_unit_test(test_expected_names_and_labels),
        cmocka_unit_test(test_round_trip_every_value),
        cmocka_unit_test(test_unknown_input),
        cmocka_unit_test(test_accepted_list),
        cmocka_unit_test(test_columns_and_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
