/* pdf_reports.c - cloop's PDF verbs: which verbs print PDF, where the PDF goes (-o FILE
 * or a non-terminal stdout), and the monthly quality report (`cloop report monthly`):
 * four StatsRequests (the month; twelve months by month; the month by category; handover
 * to the month's end by project) and the month's scorecards on one session, then the
 * pages: cover with headline figures, trend charts, worst contractors, top categories,
 * handover progress.
 * The daily report (cmd_report.c) and the morning lists (cmd_ticket.c) build their tables
 * as for HTML and hand them to a pdf_doc_t (pdf.h), finished here. Single-threaded; each
 * verb frees its document and messages before it returns. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "pdf.h"
#include "session_store.h"
#include "stats_client.h"

int cli_pdf_supported(const char *cmd, const char *verb) {
    static const char *const ok[][2] = {
        {"report", "daily"}, {"report", "monthly"}, {"ticket", "todo"}, {"ticket", "toverify"}};
    if (!cmd || !verb) return 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(cmd, ok[i][0]) == 0 && strcmp(verb, ok[i][1]) == 0) return 1;
    return 0;
}

int cli_take_output(int *argc, char **argv, const char **path) {
    int j = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[j++] = argv[i++];
            break;
        }
        const char *v = NULL;
        int m = cli_opt_value(*argc, argv, &i, "-o", "--output", &v);
        if (m < 0) return -1;
        if (m > 0)
            *path = v;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return 0;
}

int cli_pdf_finish(pdf_doc_t *d, const char *what, const char *path) {
    FILE *out = pdf_open_output(what, path);
    if (!out) {
        pdf_free(d);
        return path ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    int rc = pdf_write(d, out, NULL);
    pdf_free(d);
    if (out != stdout && fclose(out) != 0 && rc == CL_OK) rc = CL_EIO;
    if (rc == CL_ENOMEM) {
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    if (rc != CL_OK) {
        cli_errorf("%s: writing the PDF failed%s%s", what, path ? " to " : "", path ? path : "");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/* ---- report monthly ------------------------------------------------------------------- */

/* A figure that may be absent (Figure unset) as a number, NAN when absent. */
static double fig(const Closeloop__Figure *f) {
    return f ? f->value : NAN;
}

/* Percent with one decimal, "—" when absent. */
static const char *pct(double v, char *buf, size_t n) {
    if (isnan(v))
        snprintf(buf, n, "—");
    else
        snprintf(buf, n, "%.1f%%", v * 100);
    return buf;
}

static const char *num(uint64_t v, char *buf, size_t n) {
    snprintf(buf, n, "%" PRIu64, v);
    return buf;
}

static const char *dec(double v, const char *fmt, char *buf, size_t n) {
    if (isnan(v))
        snprintf(buf, n, "—");
    else
        snprintf(buf, n, fmt, v);
    return buf;
}

/* The month YYYY-MM shifted by delta months, into out ("YYYY-MM"). */
static void month_add(int y, int m, int delta, char out[8]) {
    int k = y * 12 + (m - 1) + delta;
    /* the ranges spelled out, so the compiler sees "YYYY-MM" fits */
    unsigned yy = (unsigned)(k / 12) % 10000u, mm = (unsigned)(k % 12) % 12u + 1u;
    snprintf(out, 8, "%04u-%02u", yy, mm);
}

static int month_last_day(int y, int m) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* The company of --company NAME|ID among those the caller sees: *id and its name. */
typedef struct company_find {
    const char *arg;
    int64_t want_id; /* the argument as an id, or 0 */
    int64_t id;
    char name[200];
    int matches;
} company_find_t;

static int company_page(void *arg, const ProtobufCMessage *page) {
    company_find_t *f = arg;
    const Closeloop__CompanyPage *p = (const Closeloop__CompanyPage *)page;
    for (size_t i = 0; i < p->n_items; i++) {
        const Closeloop__Company *c = p->items[i];
        int64_t id = c->meta ? c->meta->id : 0;
        if ((f->want_id && id == f->want_id) ||
            (!f->want_id && c->name && strcmp(c->name, f->arg) == 0)) {
            f->id = id;
            snprintf(f->name, sizeof f->name, "%s", cli_str(c->name));
            f->matches++;
        }
    }
    return CL_OK;
}

/* The data of one monthly report, fetched before anything is laid out. */
typedef struct monthly {
    char month[8], first[16], last[16], trend_first[16];
    char months[12][8];
    cli_stats_t head, trend, cats, progress;
    Closeloop__Scorecard *sc;
} monthly_t;

static void monthly_free(monthly_t *m) {
    cli_stats_free(&m->head);
    cli_stats_free(&m->trend);
    cli_stats_free(&m->cats);
    cli_stats_free(&m->progress);
    cl_msg_free(m->sc ? &m->sc->base : NULL);
}

/* One StatsRequest: the company filter, from..to, grouped by dim (or none). */
static int fetch(cli_session_t *ss, int64_t company, const char *from, const char *to,
                 Closeloop__StatsDim dim, cli_stats_t *out) {
    Closeloop__StatsFilter f = CLOSELOOP__STATS_FILTER__INIT;
    Closeloop__StatsRequest req = CLOSELOOP__STATS_REQUEST__INIT;
    f.company_id = company;
    f.from = (char *)(from ? from : "");
    f.to = (char *)(to ? to : "");
    req.filter = &f;
    Closeloop__StatsDim by[1] = {dim};
    if (dim != CLOSELOOP__STATS_DIM__STATS_DIM_NONE) {
        req.n_group_by = 1;
        req.group_by = by;
    }
    return cli_stats_fetch(ss->c, &req, out);
}

static const char *key_name(const Closeloop__StatsRow *r) {
    if (r->n_keys == 0 || !r->keys[0]) return "";
    const Closeloop__StatsKey *k = r->keys[0];
    return k->name && *k->name ? k->name : cli_str(k->code);
}

/* Rows sorted for the report: categories by items found, most first. */
static int by_items_desc(const void *a, const void *b) {
    const Closeloop__StatsRow *x = *(Closeloop__StatsRow *const *)a,
                              *y = *(Closeloop__StatsRow *const *)b;
    if (x->items_found != y->items_found) return x->items_found < y->items_found ? 1 : -1;
    return strcmp(key_name(x), key_name(y));
}

/* Scorecard rows, worst first: rework rate (absent last), then late repairs, then
 * tickets overdue now, then mean response time, the longest first. */
static int worst_first(const void *a, const void *b) {
    const Closeloop__ScorecardRow *x = *(Closeloop__ScorecardRow *const *)a,
                                  *y = *(Closeloop__ScorecardRow *const *)b;
    double rx = fig(x->rework_rate), ry = fig(y->rework_rate);
    if (isnan(rx) != isnan(ry)) return isnan(rx) ? 1 : -1;
    if (!isnan(rx) && rx != ry) return rx < ry ? 1 : -1;
    if (x->late_repairs != y->late_repairs) return x->late_repairs < y->late_repairs ? 1 : -1;
    if (x->overdue_open_now != y->overdue_open_now)
        return x->overdue_open_now < y->overdue_open_now ? 1 : -1;
    double hx = fig(x->response_hours_mean), hy = fig(y->response_hours_mean);
    if (isnan(hx) != isnan(hy)) return isnan(hx) ? 1 : -1;
    if (!isnan(hx) && hx != hy) return hx < hy ? 1 : -1;
    return strcmp(cli_str(x->contractor_name), cli_str(y->contractor_name));
}

#define WORST_N      10
#define CATEGORIES_N 10

/* The cover: headline figures of the month and its handover. */
static int monthly_cover(pdf_doc_t *d, const monthly_t *m) {
    const Closeloop__StatsRow *h = m->head.n ? m->head.rows[0] : NULL;
    static const Closeloop__StatsRow zero = CLOSELOOP__STATS_ROW__INIT;
    if (!h) h = &zero;
    char v[10][48];
    num(h->units_inspected, v[0], sizeof v[0]);
    num(h->items_found, v[1], sizeof v[1]);
    dec(fig(h->items_per_unit), "%.2f", v[2], sizeof v[2]);
    num(h->tickets_opened, v[3], sizeof v[3]);
    num(h->tickets_closed, v[4], sizeof v[4]);
    pct(fig(h->closure_rate), v[5], sizeof v[5]);
    pct(fig(h->rework_rate), v[6], sizeof v[6]);
    num(h->overdue_now, v[7], sizeof v[7]);
    double p50 = fig(h->close_p50_days), p90 = fig(h->close_p90_days);
    if (isnan(p50))
        snprintf(v[8], sizeof v[8], "—");
    else
        snprintf(v[8], sizeof v[8], "%.0f / %.0f 天", p50, isnan(p90) ? p50 : p90);
    const char *labels[] = {"验房户数",
                            "发现问题（条）",
                            "户均问题",
                            "新开维修单",
                            "本月关闭（验收通过）",
                            "关闭率（本月新开中已关闭）",
                            "返修率（复验不通过）",
                            "本月新开中当前超期",
                            "关闭用时 中位 / P90"};
    const char *values[] = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
    /* last month's value under each, from the trend (its month 11 of 12) */
    const Closeloop__StatsRow *p = NULL;
    for (size_t i = 0; i < m->trend.n; i++) {
        const Closeloop__StatsRow *r = m->trend.rows[i];
        if (r->n_keys && r->keys[0] && strcmp(cli_str(r->keys[0]->code), m->months[10]) == 0) p = r;
    }
    if (!p) p = &zero;
    char nb[9][96], tb[48];
    snprintf(nb[0], sizeof nb[0], "上月 %s", num(p->units_inspected, tb, sizeof tb));
    snprintf(nb[1], sizeof nb[1], "上月 %s", num(p->items_found, tb, sizeof tb));
    snprintf(nb[2], sizeof nb[2], "上月 %s", dec(fig(p->items_per_unit), "%.2f", tb, sizeof tb));
    snprintf(nb[3], sizeof nb[3], "上月 %s", num(p->tickets_opened, tb, sizeof tb));
    snprintf(nb[4], sizeof nb[4], "上月 %s", num(p->tickets_closed, tb, sizeof tb));
    snprintf(nb[5], sizeof nb[5], "上月 %s（按当前状态）",
             pct(fig(p->closure_rate), tb, sizeof tb));
    snprintf(nb[6], sizeof nb[6], "上月 %s", pct(fig(p->rework_rate), tb, sizeof tb));
    snprintf(nb[7], sizeof nb[7], "上月新开中当前超期 %s", num(p->overdue_now, tb, sizeof tb));
    if (isnan(fig(p->close_p50_days)))
        snprintf(nb[8], sizeof nb[8], "上月 —");
    else
        snprintf(nb[8], sizeof nb[8], "上月 %.0f / %.0f 天", fig(p->close_p50_days),
                 isnan(fig(p->close_p90_days)) ? fig(p->close_p50_days) : fig(p->close_p90_days));
    const char *notes[] = {nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7], nb[8]};
    int rc = pdf_heading(d, 1, "本月概况");
    if (rc == CL_OK) rc = pdf_figures(d, 9, labels, values, notes);
    char para[1024];
    size_t o = (size_t)snprintf(
        para, sizeof para,
        "交付：本月接房 %" PRIu64 " 户（其中带问题接房 %" PRIu64 " 户），未接房 %" PRIu64 " 户",
        h->units_accepted, h->units_accepted_with_items, h->units_not_taken);
    for (size_t i = 0; i < h->n_not_taken_reasons && o < sizeof para - 64; i++)
        o += (size_t)snprintf(para + o, sizeof para - o, "%s%s %" PRIu32, i ? "，" : "（原因：",
                              cli_str(h->not_taken_reasons[i]->reason),
                              h->not_taken_reasons[i]->count);
    if (h->n_not_taken_reasons && o < sizeof para - 8)
        o += (size_t)snprintf(para + o, sizeof para - o, "）");
    if (o < sizeof para - 8) snprintf(para + o, sizeof para - o, "。");
    if (rc == CL_OK) rc = pdf_para(d, para, 0);
    snprintf(para, sizeof para,
             "维修：本月新开 %" PRIu64 " 单，其中已关闭 %" PRIu64 "、不予维修 %" PRIu64
             "、仍未关闭 %" PRIu64 "（超期 %" PRIu64 "）；本月复验 %" PRIu64 " 次，不通过 %" PRIu64
             " 次；施工单位上报已修 %" PRIu64 " 次。",
             h->tickets_opened, h->closed_of_opened, h->nofix_of_opened, h->open_now,
             h->overdue_now, h->verifications, h->reworks, h->repaired_reports);
    if (rc == CL_OK) rc = pdf_para(d, para, 0);
    const Closeloop__TimelinessCounts *t = h->timeliness;
    if (t) {
        snprintf(
            para, sizeof para,
            "时效（本月新开，按当前状态）：%s %" PRIu32 "，%s %" PRIu32 "，%s %" PRIu32
            "，%s %" PRIu32 "，%s %" PRIu32 "。",
            cl_timeliness_label(CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_IN_TIME),
            t->closed_in_time, cl_timeliness_label(CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE),
            t->closed_late, cl_timeliness_label(CLOSELOOP__TIMELINESS__TIMELINESS_IN_TIME_OPEN),
            t->in_time_open, cl_timeliness_label(CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN),
            t->overdue_open, cl_timeliness_label(CLOSELOOP__TIMELINESS__TIMELINESS_NO_DEADLINE),
            t->no_deadline);
        if (rc == CL_OK) rc = pdf_para(d, para, 0);
    }
    snprintf(
        para, sizeof para,
        "口径：统计期 %s 至 %s；各指标按其自身日期计入（验房按验房日，问题与维修单按发现日，"
        "关闭与返修按复验日），定义见 docs/STATS.md。关闭只计验收通过，不予维修不计为关闭或已修。",
        m->first, m->last);
    if (rc == CL_OK) rc = pdf_para(d, para, 1);
    if (m->head.data_age_ms > 0) {
        snprintf(para, sizeof para, "数据来自分析副本，约滞后 %.1f 秒。",
                 (double)m->head.data_age_ms / 1000.0);
        if (rc == CL_OK) rc = pdf_para(d, para, 1);
    }
    return rc;
}

/* Twelve months: opened and closed as bars, closure and rework rate as lines, a table. */
static int monthly_trend(pdf_doc_t *d, const monthly_t *m) {
    double opened[12], closed[12], closure[12], rework[12];
    const Closeloop__StatsRow *row[12] = {0};
    for (size_t i = 0; i < m->trend.n; i++) {
        const Closeloop__StatsRow *r = m->trend.rows[i];
        const char *code = r->n_keys && r->keys[0] ? cli_str(r->keys[0]->code) : "";
        for (int k = 0; k < 12; k++)
            if (strcmp(code, m->months[k]) == 0) row[k] = r;
    }
    const char *cat[12];
    for (int k = 0; k < 12; k++) {
        cat[k] = m->months[k];
        opened[k] = row[k] ? (double)row[k]->tickets_opened : 0;
        closed[k] = row[k] ? (double)row[k]->tickets_closed : 0;
        closure[k] = row[k] ? fig(row[k]->closure_rate) : NAN;
        rework[k] = row[k] ? fig(row[k]->rework_rate) : NAN;
    }
    int rc = pdf_page_break(d);
    if (rc == CL_OK) rc = pdf_heading(d, 1, "近十二个月趋势");
    pdf_chart_t bars = {PDF_CHART_BAR,
                        "维修单：新开与关闭（单）",
                        "月份（新开按发现日，关闭按验收通过日）",
                        "单数",
                        12,
                        cat,
                        2,
                        {{"新开", opened}, {"关闭", closed}},
                        0,
                        150};
    if (rc == CL_OK) rc = pdf_chart(d, &bars);
    pdf_chart_t lines = {PDF_CHART_LINE,
                         "关闭率与返修率",
                         "月份（关闭率：当月新开中已关闭；返修率：当月复验中不通过）",
                         "比率",
                         12,
                         cat,
                         2,
                         {{"关闭率", closure}, {"返修率", rework}},
                         1,
                         150};
    if (rc == CL_OK) rc = pdf_chart(d, &lines);
    static const char *const th[] = {"月份", "验房户数", "发现问题", "新开",
                                     "关闭", "关闭率",   "返修率",   "当前超期"};
    cli_table_t *t = cli_table_new(8, th);
    if (!t) return CL_ENOMEM;
    for (size_t c = 1; c < 8; c++)
        cli_table_set_numeric(t, c);
    for (int k = 0; k < 12 && rc == CL_OK; k++) {
        const Closeloop__StatsRow *r = row[k];
        char b[7][32];
        const char *cells[8] = {m->months[k],
                                num(r ? r->units_inspected : 0, b[0], 32),
                                num(r ? r->items_found : 0, b[1], 32),
                                num(r ? r->tickets_opened : 0, b[2], 32),
                                num(r ? r->tickets_closed : 0, b[3], 32),
                                pct(closure[k], b[4], 32),
                                pct(rework[k], b[5], 32),
                                num(r ? r->overdue_now : 0, b[6], 32)};
        rc = cli_table_add(t, cells);
    }
    if (rc == CL_OK) rc = pdf_table(d, t, "逐月数据");
    cli_table_free(t);
    return rc;
}

/* The contractors with the worst month, from the scorecards. */
static int monthly_worst(pdf_doc_t *d, const monthly_t *m) {
    int rc = pdf_page_break(d);
    if (rc == CL_OK) rc = pdf_heading(d, 1, "施工单位：本月表现最差");
    size_t n = m->sc ? m->sc->n_rows : 0;
    Closeloop__ScorecardRow **rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) return CL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        rows[i] = m->sc->rows[i];
    qsort(rows, n, sizeof *rows, worst_first);
    static const char *const th[] = {"施工单位",         "专业",     "派单",      "上报已修",
                                     "平均响应（小时）", "复验",     "返修",      "返修率",
                                     "逾期维修",         "当前超期", "同专业排名"};
    cli_table_t *t = cli_table_new(11, th);
    if (!t) {
        free(rows);
        return CL_ENOMEM;
    }
    for (size_t c = 2; c < 11; c++)
        cli_table_set_numeric(t, c);
    for (size_t i = 0; i < n && i < WORST_N && rc == CL_OK; i++) {
        const Closeloop__ScorecardRow *r = rows[i];
        char b[9][40];
        snprintf(b[8], 40, "%" PRIu32 " / %" PRIu32, r->rank, r->peers);
        const char *cells[11] = {cli_str(r->contractor_name),
                                 r->trade_name && *r->trade_name ? r->trade_name
                                                                 : cli_str(r->trade),
                                 num(r->tickets_assigned, b[0], 40),
                                 num(r->repaired_reports, b[1], 40),
                                 dec(fig(r->response_hours_mean), "%.1f", b[2], 40),
                                 num(r->verifications, b[3], 40),
                                 num(r->reworks, b[4], 40),
                                 pct(fig(r->rework_rate), b[5], 40),
                                 num(r->late_repairs, b[6], 40),
                                 num(r->overdue_open_now, b[7], 40),
                                 b[8]};
        rc = cli_table_add(t, cells);
    }
    free(rows);
    if (rc == CL_OK) rc = pdf_table(d, t, NULL);
    cli_table_free(t);
    char note[512];
    snprintf(
        note, sizeof note,
        "按返修率从高到低（无复验的排最后），再按逾期维修、当前超期、平均响应时间排列，列出前 %d "
        "家。排名为同专业施工单位本月的名次（1 为最好）。",
        WORST_N);
    if (rc == CL_OK) rc = pdf_para(d, note, 1);
    return rc;
}

/* The categories with the most items found in the month. */
static int monthly_categories(pdf_doc_t *d, const monthly_t *m) {
    int rc = pdf_heading(d, 1, "问题最多的专业");
    size_t n = m->cats.n;
    Closeloop__StatsRow **rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) return CL_ENOMEM;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        rows[i] = m->cats.rows[i];
        total += rows[i]->items_found;
    }
    qsort(rows, n, sizeof *rows, by_items_desc);
    size_t k = n < CATEGORIES_N ? n : CATEGORIES_N;
    while (k > 0 && rows[k - 1]->items_found == 0)
        k--;
    const char *cat[CATEGORIES_N];
    double items[CATEGORIES_N];
    for (size_t i = 0; i < k; i++) {
        cat[i] = key_name(rows[i]);
        items[i] = (double)rows[i]->items_found;
    }
    if (k > 0 && rc == CL_OK) {
        pdf_chart_t c = {PDF_CHART_BAR,
                         "本月发现问题数（条），按专业",
                         NULL,
                         "条数",
                         k,
                         cat,
                         1,
                         {{"发现问题", items}},
                         0,
                         110};
        rc = pdf_chart(d, &c);
    }
    static const char *const th[] = {"专业",     "发现问题", "占比",  "新开维修单",
                                     "当前超期", "关闭率",   "返修率"};
    cli_table_t *t = cli_table_new(7, th);
    if (!t) {
        free(rows);
        return CL_ENOMEM;
    }
    for (size_t c = 1; c < 7; c++)
        cli_table_set_numeric(t, c);
    for (size_t i = 0; i < k && rc == CL_OK; i++) {
        const Closeloop__StatsRow *r = rows[i];
        char b[6][32];
        const char *cells[7] = {key_name(r),
                                num(r->items_found, b[0], 32),
                                pct(total ? (double)r->items_found / (double)total : NAN, b[1], 32),
                                num(r->tickets_opened, b[2], 32),
                                num(r->overdue_now, b[3], 32),
                                pct(fig(r->closure_rate), b[4], 32),
                                pct(fig(r->rework_rate), b[5], 32)};
        rc = cli_table_add(t, cells);
    }
    free(rows);
    if (rc == CL_OK) rc = pdf_table(d, t, NULL);
    cli_table_free(t);
    return rc;
}

/* Handover progress per project up to the month's end: units accepted / units now. */
static int monthly_progress(pdf_doc_t *d, const monthly_t *m) {
    char h[128];
    snprintf(h, sizeof h, "各项目交付进度（截至 %s）", m->last);
    int rc = pdf_heading(d, 1, h);
    size_t n = m->progress.n;
    const char **cat = calloc(n ? n : 1, sizeof *cat);
    double *share = calloc(n ? n : 1, sizeof *share);
    static const char *const th[] = {"项目",       "房屋总数", "已接房",
                                     "其中带问题", "未接房",   "交付进度"};
    cli_table_t *t = cli_table_new(6, th);
    if (!cat || !share || !t) {
        free(cat);
        free(share);
        cli_table_free(t);
        return CL_ENOMEM;
    }
    for (size_t c = 1; c < 6; c++)
        cli_table_set_numeric(t, c);
    for (size_t i = 0; i < n && rc == CL_OK; i++) {
        const Closeloop__StatsRow *r = m->progress.rows[i];
        cat[i] = key_name(r);
        share[i] = r->units_total ? (double)r->units_accepted / (double)r->units_total : NAN;
        char b[5][32];
        const char *cells[6] = {key_name(r),
                                num(r->units_total, b[0], 32),
                                num(r->units_accepted, b[1], 32),
                                num(r->units_accepted_with_items, b[2], 32),
                                num(r->units_not_taken, b[3], 32),
                                pct(share[i], b[4], 32)};
        rc = cli_table_add(t, cells);
    }
    if (n > 0 && rc == CL_OK) {
        pdf_chart_t c = {PDF_CHART_HBAR,
                         "已接房户数 / 房屋总数",
                         NULL,
                         NULL,
                         n,
                         cat,
                         1,
                         {{"交付进度", share}},
                         1,
                         0};
        rc = pdf_chart(d, &c);
    }
    if (rc == CL_OK) rc = pdf_table(d, t, NULL);
    if (rc == CL_OK)
        rc = pdf_para(
            d,
            "已接房含带问题接房；未接房为交付轮次记录为未接房的户数（同一户可能之后再次预约）。"
            "房屋总数为项目当前的房屋数。",
            1);
    free(cat);
    free(share);
    cli_table_free(t);
    return rc;
}

int cmd_report_monthly(const cli_settings_t *s, int argc, char **argv) {
    const char *company = NULL, *month = NULL, *pos[1], *pdf_path = NULL;
    if (s->pdf && cli_take_output(&argc, argv, &pdf_path) < 0) return CLI_EXIT_USAGE;
    const cli_optdef_t defs[] = {{"--company", &company}, {"--month", &month}, {NULL, NULL}};
    int npos, y = 0, mo = 0;
    if (cli_parse_args("report monthly", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need("report monthly", "--month", month) < 0)
        return CLI_EXIT_USAGE;
    monthly_t m;
    memset(&m, 0, sizeof m);
    if (strlen(month) != 7 || sscanf(month, "%4d-%2d", &y, &mo) != 2 || y < 1900 || mo < 1 ||
        mo > 12) {
        cli_errorf("report monthly: invalid --month '%s': use YYYY-MM", month);
        return CLI_EXIT_USAGE;
    }
    if (!s->pdf) {
        cli_errorf("report monthly: the monthly report is printed: give --format pdf [-o FILE] "
                   "(for the figures as a table, csv or json see 'cloop stats --month')");
        return CLI_EXIT_USAGE;
    }
    if (company && cli_utf8_arg_ok("report monthly", company) < 0) return CLI_EXIT_USAGE;
    snprintf(m.month, sizeof m.month, "%04d-%02d", y, mo);
    snprintf(m.first, sizeof m.first, "%s-01", m.month);
    snprintf(m.last, sizeof m.last, "%s-%02d", m.month, month_last_day(y, mo));
    for (int k = 0; k < 12; k++)
        month_add(y, mo, k - 11, m.months[k]);
    snprintf(m.trend_first, sizeof m.trend_first, "%s-01", m.months[0]);

    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    company_find_t cf;
    memset(&cf, 0, sizeof cf);
    int crc = CL_OK;
    if (company) {
        uint64_t id;
        cf.arg = company;
        if (cli_parse_u64(company, 1, INT64_MAX, &id) == CL_OK) cf.want_id = (int64_t)id;
        Closeloop__CompanyListRequest creq = CLOSELOOP__COMPANY_LIST_REQUEST__INIT;
        crc = cli_session_stream(&ss, CL_MSG_COMPANY_LIST_REQ, &creq.base, CL_MSG_COMPANY_PAGE,
                                 company_page, &cf);
        if (crc == CL_EFORBIDDEN && cf.want_id) {
            /* a site role sees statistics of its projects but not the company list: the id
             * is the filter, the server keeps the scope */
            crc = CL_OK;
            cf.id = cf.want_id;
            cf.matches = 1;
            snprintf(cf.name, sizeof cf.name, "编号 %" PRId64, cf.id);
        } else if (crc == CL_EFORBIDDEN) {
            cli_errorf("report monthly: you may not list companies: give --company as its id");
            cli_session_close(&ss);
            return CLI_EXIT_USAGE;
        }
        if (crc == CL_OK && cf.matches != 1) {
            if (cf.matches == 0)
                cli_errorf("report monthly: unknown --company '%s' (not an id or a name you can "
                           "see)",
                           company);
            else
                cli_errorf("report monthly: --company '%s' matches %d companies; give its id",
                           company, cf.matches);
            cli_session_close(&ss);
            return CLI_EXIT_FAIL;
        }
    }
    const Closeloop__StatsDim none = CLOSELOOP__STATS_DIM__STATS_DIM_NONE;
    if (crc == CL_OK) crc = fetch(&ss, cf.id, m.first, m.last, none, &m.head);
    if (crc == CL_OK)
        crc = fetch(&ss, cf.id, m.trend_first, m.last, CLOSELOOP__STATS_DIM__STATS_DIM_MONTH,
                    &m.trend);
    if (crc == CL_OK)
        crc = fetch(&ss, cf.id, m.first, m.last, CLOSELOOP__STATS_DIM__STATS_DIM_CATEGORY, &m.cats);
    if (crc == CL_OK)
        crc = fetch(&ss, cf.id, NULL, m.last, CLOSELOOP__STATS_DIM__STATS_DIM_PROJECT, &m.progress);
    if (crc == CL_OK) {
        Closeloop__ScorecardRequest sreq = CLOSELOOP__SCORECARD_REQUEST__INIT;
        sreq.month = m.month;
        sreq.company_id = cf.id;
        sreq.trade = (char *)"";
        crc = cli_scorecard_fetch(ss.c, &sreq, &m.sc);
    }
    if (crc != CL_OK) {
        rc = cli_session_fail(&ss, crc);
        monthly_free(&m);
        cli_session_close(&ss);
        return rc;
    }
    /* Without --company the report is of what the caller sees: the group for HQ, its
     * company for CR, its projects for the site roles (the server applies the scope). */
    char scope[256] = "";
    const Closeloop__WhoAmI *me = ss.me;
    if (me && me->role == CLOSELOOP__ROLE__ROLE_CR)
        snprintf(scope, sizeof scope, "城市公司：%s", cli_str(me->company_name));
    else if (me && me->role != CLOSELOOP__ROLE__ROLE_HQ_ADMIN &&
             me->role != CLOSELOOP__ROLE__ROLE_HQ_ANALYST)
        snprintf(scope, sizeof scope, "本人可见的 %zu 个项目", me->n_project_ids);
    cli_session_close(&ss);

    char title[128], sub[600];
    snprintf(title, sizeof title, "月度质量报告 %d年%d月", y, mo);
    if (company)
        snprintf(sub, sizeof sub, "城市公司：%s · 统计期 %s 至 %s", cf.name, m.first, m.last);
    else if (scope[0])
        snprintf(sub, sizeof sub, "%s · 统计期 %s 至 %s", scope, m.first, m.last);
    else
        snprintf(sub, sizeof sub, "集团：全部城市公司 · 统计期 %s 至 %s", m.first, m.last);
    pdf_doc_t *d = pdf_new(title, sub, 0);
    int w = d ? CL_OK : CL_ENOMEM;
    if (w == CL_OK) w = monthly_cover(d, &m);
    if (w == CL_OK) w = monthly_trend(d, &m);
    if (w == CL_OK) w = monthly_worst(d, &m);
    if (w == CL_OK) w = monthly_categories(d, &m);
    if (w == CL_OK) w = monthly_progress(d, &m);
    if (w == CL_OK &&
        (m.head.truncated || m.trend.truncated || m.cats.truncated || m.progress.truncated))
        w = pdf_para(d, "注意：服务器截断了部分分组，表中只列出前若干组。", 1);
    monthly_free(&m);
    if (w != CL_OK) {
        pdf_free(d);
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    return cli_pdf_finish(d, "report monthly", pdf_path);
}
