/* test_pdf.c - the PDF page layer of cloop (client/cli/pdf.c): documents built here are
 * written to scratch files and read back with pdftotext (poppler-utils, installed by
 * deploy/install-deps.sh): pages counted, a long table's header repeated on every page,
 * "第 N 页 / 共 M 页" on each, page breaks, every chart kind with absent values, refusals
 * of charts without data, a write that fails, and which verbs take --format pdf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "pdf.h"

static char dir[PATH_MAX];

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("CL_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/unit_pdf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (tmp && *tmp) {
        char mk[PATH_MAX + 16];
        snprintf(mk, sizeof mk, "mkdir -p '%s'", tmp);
        if (system(mk) != 0) return -1;
    }
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char rm[PATH_MAX + 16];
    snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
    return system(rm) == 0 ? 0 : -1;
}

/* Writes d (freed) to dir/name; returns its page count from pdf_write. */
static int write_doc(pdf_doc_t *d, const char *name) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    int pages = 0;
    assert_int_equal(pdf_write(d, f, &pages), CL_OK);
    assert_int_equal(fclose(f), 0);
    pdf_free(d);
    return pages;
}

/* The text of dir/name by pdftotext (malloc'd). */
static char *pdf_text(const char *name) {
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "pdftotext -layout '%s/%s' - 2>/dev/null", dir, name);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return buf;
}

static int occurrences(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* A table of rows rows: number, a description, a date, and a blank column. */
static cli_table_t *sample_table(int rows) {
    static const char *const h[] = {"编号 No.", "问题描述 Description", "期限 Deadline",
                                    "签字 Signature"};
    cli_table_t *t = cli_table_new(4, h);
    assert_non_null(t);
    cli_table_set_numeric(t, 0);
    cli_table_set_blank(t, 3);
    for (int i = 0; i < rows; i++) {
        char no[16], desc[64];
        snprintf(no, sizeof no, "%d", i + 1);
        snprintf(desc, sizeof desc, "卫生间地漏渗水第%d处", i + 1);
        const char *row[] = {no, desc, "2026-12-09", ""};
        assert_int_equal(cli_table_add(t, row), CL_OK);
    }
    return t;
}

static void test_long_table_continues(void **state) {
    (void)state;
    pdf_doc_t *d = pdf_new("待维修清单", "项目：翡翠公园", 0);
    assert_non_null(d);
    cli_table_t *t = sample_table(120);
    assert_int_equal(pdf_table(d, t, "清单"), CL_OK);
    cli_table_free(t); /* the document holds its own copy */
    int pages = write_doc(d, "long.pdf");
    assert_true(pages >= 3);
    char *txt = pdf_text("long.pdf");
    /* every row once, the header on every page, each page numbered of the total */
    assert_int_equal(occurrences(txt, "卫生间地漏渗水第"), 120);
    assert_int_equal(occurrences(txt, "问题描述"), pages);
    for (int p = 1; p <= pages; p++) {
        char f[64], g[64];
        snprintf(f, sizeof f, "第 %d 页 / 共 %d 页", p, pages);
        snprintf(g, sizeof g, "第 %d 页 /共 %d 页", p, pages); /* pdftotext's spacing */
        assert_int_equal(occurrences(txt, f) + occurrences(txt, g), 1);
    }
    assert_int_equal(occurrences(txt, "（续 continued）"), pages - 1);
    free(txt);

    d = pdf_new("短清单", NULL, 0);
    t = sample_table(5);
    assert_int_equal(pdf_table(d, t, NULL), CL_OK);
    cli_table_free(t);
    assert_int_equal(write_doc(d, "short.pdf"), 1);
}

static void test_page_breaks(void **state) {
    (void)state;
    pdf_doc_t *d = pdf_new("分页", NULL, 1);
    assert_int_equal(pdf_heading(d, 1, "第一节"), CL_OK);
    assert_int_equal(pdf_para(d, "第一页的文字。", 0), CL_OK);
    assert_int_equal(pdf_page_break(d), CL_OK);
    assert_int_equal(pdf_page_break(d), CL_OK); /* at the top of a page: no empty page */
    assert_int_equal(pdf_para(d, "第二页的文字。", 1), CL_OK);
    assert_int_equal(write_doc(d, "breaks.pdf"), 2);
    char *txt = pdf_text("breaks.pdf");
    char *second = strstr(txt, "第二页的文字");
    assert_non_null(second);
    assert_non_null(strstr(txt, "第一页的文字"));
    assert_true(strstr(txt, "第一页的文字") < strstr(txt, "\f")); /* page 1 ends first */
    assert_true(second > strstr(txt, "\f"));
    free(txt);
}

static void test_charts(void **state) {
    (void)state;
    const char *cat[] = {"2026-01", "2026-02", "2026-03", "2026-04"};
    double a[] = {12, 30, 0, 7}, b[] = {10, NAN, 4, 7}, r1[] = {0.5, 0.75, NAN, 1},
           r2[] = {0.1, 0, 0.2, NAN};
    pdf_doc_t *d = pdf_new("图表", NULL, 0);
    const char *labels[] = {"新开", "关闭率"}, *values[] = {"49", "81.5%"},
               *notes[] = {"上月 52", ""};
    assert_int_equal(pdf_figures(d, 2, labels, values, notes), CL_OK);
    pdf_chart_t bars = {
        PDF_CHART_BAR, "新开与关闭", "月份", "单数", 4, cat, 2, {{"新开", a}, {"关闭", b}}, 0, 0};
    assert_int_equal(pdf_chart(d, &bars), CL_OK);
    pdf_chart_t lines = {PDF_CHART_LINE,
                         "比率",
                         "月份",
                         "比率",
                         4,
                         cat,
                         2,
                         {{"关闭率", r1}, {"返修率", r2}},
                         1,
                         120};
    assert_int_equal(pdf_chart(d, &lines), CL_OK);
    pdf_chart_t hbar = {PDF_CHART_HBAR, "交付进度", NULL, NULL, 4, cat, 1, {{"进度", r1}}, 1, 0};
    assert_int_equal(pdf_chart(d, &hbar), CL_OK);
    pdf_chart_t none = bars;
    none.nseries = 0;
    assert_int_equal(pdf_chart(d, &none), CL_EINVAL);
    none = bars;
    none.nseries = PDF_MAX_SERIES + 1;
    assert_int_equal(pdf_chart(d, &none), CL_EINVAL);
    none = bars;
    none.ncat = 0;
    assert_int_equal(pdf_chart(d, &none), CL_EINVAL);
    assert_int_equal(write_doc(d, "charts.pdf"), 1);
    char *txt = pdf_text("charts.pdf");
    /* titles, legends, axis labels and the bar values; an absent progress shows — */
    assert_int_equal(occurrences(txt, "新开与关闭"), 1);
    assert_int_equal(occurrences(txt, "返修率"), 1);
    assert_true(occurrences(txt, "2026-03") >= 3);
    assert_non_null(strstr(txt, "81.5%"));
    assert_non_null(strstr(txt, "上月 52"));
    assert_non_null(strstr(txt, "75.0%"));
    assert_non_null(strstr(txt, "—"));
    assert_non_null(strstr(txt, "30"));
    free(txt);
}

static void test_write_fails(void **state) {
    (void)state;
    FILE *full = fopen("/dev/full", "wb");
    if (!full) skip();
    pdf_doc_t *d = pdf_new("写不进去", NULL, 0);
    assert_int_equal(pdf_para(d, "文字", 0), CL_OK);
    assert_int_equal(pdf_write(d, full, NULL), CL_EIO);
    pdf_free(d);
    fclose(full);
}

static void test_pdf_verbs(void **state) {
    (void)state;
    assert_true(cli_pdf_supported("report", "daily"));
    assert_true(cli_pdf_supported("report", "monthly"));
    assert_true(cli_pdf_supported("ticket", "todo"));
    assert_true(cli_pdf_supported("ticket", "toverify"));
    assert_false(cli_pdf_supported("ticket", "show"));
    assert_false(cli_pdf_supported("stats", NULL));
    assert_false(cli_pdf_supported(NULL, "daily"));
    char a0[] = "--project", a1[] = "1", a2[] = "-o", a3[] = "x.pdf", a4[] = "--output=y.pdf";
    char *argv[] = {a0, a1, a2, a3, a4, NULL};
    int argc = 5;
    const char *path = NULL;
    assert_int_equal(cli_take_output(&argc, argv, &path), 0);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "--project");
    assert_string_equal(argv[1], "1");
    assert_string_equal(path, "y.pdf"); /* the last one given */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_table_continues),
        cmocka_unit_test(test_page_breaks),
        cmocka_unit_test(test_charts),
        cmocka_unit_test(test_write_fails),
        cmocka_unit_test(test_pdf_verbs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
