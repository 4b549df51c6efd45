/* cmd_report.c - the reports: `cloop report daily` (the daily handover report,
 * 交房日报表) and `cloop report readiness` (the key-handover readiness check).
 *
 * Each verb sends one request on the stored session (session_store.h) and prints the
 * one reply message it gets, in the chosen format: a report is several small sections
 * (blocks of named numbers and ticket lists), each an aligned table, a '# name' CSV
 * section, a member of one JSON object, or a table on an A4 HTML page. Ticket lists use
 * the ticket columns of ticket_view.h. Single-threaded; every message and table is freed
 * before a verb returns. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "cli_offline.h"
#include "cli_util.h"
#include "cloop.h"
#include "pdf.h"
#include "session_store.h"
#include "ticket_view.h"

static const char *str(const char *s) {
    return s ? s : "";
}

/* One request and its one reply, printed by show: from the server, or offline from the
 * mirror (cli_offline.h). */
static int call_show(const cli_settings_t *s, const cli_offline_opts_t *oo, uint16_t type,
                     const ProtobufCMessage *req, uint16_t reply_type,
                     int (*show)(const cli_settings_t *s, const ProtobufCMessage *reply,
                                 const char *pdf_path),
                     const char *pdf_path) {
    cli_reader_t rd;
    int rc = cli_reader_open(s, oo, &rd);
    if (rc != CLI_EXIT_OK) return rc;
    ProtobufCMessage *m = NULL;
    int crc = cli_reader_call(&rd, type, req, reply_type, &m);
    rc = crc != CL_OK ? cli_reader_fail(&rd, crc) : show(s, m, pdf_path);
    cl_msg_free(m);
    cli_reader_close(&rd);
    return rc;
}

/* ---- report daily --------------------------------------------------------------------- */

/* A block of named numbers: CSV gets one header line and one row; the table and HTML
 * formats show it as name/value lines. */
typedef struct block {
    const char *name;    /* "units": the CSV section and JSON key */
    const char *caption; /* "房屋 Units" */
    size_t n;
    const char *keys[8];
    const char *zh[8]; /* the key in Chinese, for the printed page; or NULL */
    char vals[8][32];
} block_t;

static int block_print(const block_t *b, cli_format_t f, const cli_html_page_t *pg, pdf_doc_t *doc,
                       FILE *out) {
    const char *vals[8];
    for (size_t i = 0; i < b->n; i++)
        vals[i] = b->vals[i];
    cli_table_t *t;
    if (f == CLI_FMT_CSV) {
        if (!(t = cli_table_new(b->n, b->keys)) || cli_table_add(t, vals) != CL_OK) goto oom;
        fprintf(out, "# %s\n", b->name);
    } else {
        static const char *const kvh[] = {"field", "value"};
        if (!(t = cli_table_new(2, kvh))) goto oom;
        cli_table_hide_header(t);
        cli_table_set_numeric(t, 1);
        for (size_t i = 0; i < b->n; i++) {
            /* Paper is read by people: "预约交付 scheduled" there, the key alone elsewhere. */
            char key[96];
            if (f == CLI_FMT_HTML && b->zh[i])
                snprintf(key, sizeof key, "%s %s", b->zh[i], b->keys[i]);
            else
                snprintf(key, sizeof key, "%s", b->keys[i]);
            const char *row[2] = {key, vals[i]};
            if (cli_table_add(t, row) != CL_OK) goto oom;
        }
    }
    int rc = CL_OK;
    if (doc) {
        rc = pdf_table(doc, t, b->caption);
    } else if (f == CLI_FMT_HTML) {
        cli_html_table(t, b->caption, pg, out);
    } else {
        if (f == CLI_FMT_TABLE) fprintf(out, "%s\n", b->caption);
        rc = cli_table_print(t, f, out);
        fputc('\n', out);
    }
    cli_table_free(t);
    return rc;
oom:
    cli_table_free(t);
    return CL_ENOMEM;
}

/* A list section: its caption, then the table (CSV: "# name" and the table; PDF: into
 * doc). */
static int section_print(const char *name, const char *caption, const cli_table_t *t,
                         cli_format_t f, const cli_html_page_t *pg, pdf_doc_t *doc, FILE *out) {
    if (doc) return pdf_table(doc, t, caption);
    if (f == CLI_FMT_HTML) {
        cli_html_table(t, caption, pg, out);
        return CL_OK;
    }
    if (f == CLI_FMT_CSV)
        fprintf(out, "# %s\n", name);
    else
        fprintf(out, "%s\n", caption);
    int rc = cli_table_print(t, f, out);
    fputc('\n', out);
    return rc;
}

/* A CSV section of one record: "# name", the header line, the row, a blank line. */
static int csv_record(FILE *out, const char *name, size_t n, const char *const *keys,
                      const char *const *vals) {
    cli_table_t *t = cli_table_new(n, keys);
    int rc = t ? cli_table_add(t, vals) : CL_ENOMEM;
    if (rc == CL_OK) {
        fprintf(out, "# %s\n", name);
        rc = cli_table_print(t, CLI_FMT_CSV, out);
        fputc('\n', out);
    }
    cli_table_free(t);
    return rc;
}

static void blk_u(block_t *b, const char *k, const char *zh, uint64_t v) {
    b->keys[b->n] = k;
    b->zh[b->n] = zh;
    snprintf(b->vals[b->n++], sizeof b->vals[0], "%" PRIu64, v);
}

static int daily_print(const cli_settings_t *s, const ProtobufCMessage *m, const char *pdf_path) {
    const Closeloop__DailyReport *d = (const Closeloop__DailyReport *)m;
    cli_format_t f = s->format;
    FILE *out = stdout;
    block_t units = {"units", "房屋 Units", 0, {0}, {0}, {{0}}};
    block_t items = {"items", "问题 Items", 0, {0}, {0}, {{0}}};
    block_t tickets = {"tickets", "维修单 Tickets", 0, {0}, {0}, {{0}}};
    block_t timely = {"timeliness", "时效 Timeliness (all tickets of the project)", 0, {0}, {0},
                      {{0}}};
    block_t dispatch = {"dispatch", "待派单 Waiting for manual dispatch (now)", 0, {0}, {0}, {{0}}};
    blk_u(&units, "scheduled", "预约交付", d->units_scheduled);
    blk_u(&units, "inspected", "验房", d->units_inspected);
    /* Counts per handover outcome and per timeliness class go under their stored names. */
    blk_u(&units, cl_outcome_name(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED),
          cl_outcome_label(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED), d->units_accepted);
    blk_u(&units, cl_outcome_name(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED_WITH_ITEMS),
          cl_outcome_label(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED_WITH_ITEMS),
          d->units_accepted_with_items);
    blk_u(&units, cl_outcome_name(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER),
          cl_outcome_label(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER),
          d->units_not_taken_over);
    blk_u(&items, "raised", "新增问题", d->items_raised);
    items.zh[items.n] = "户均问题";
    items.keys[items.n] = "per_unit";
    snprintf(items.vals[items.n++], sizeof items.vals[0], "%.2f", d->items_per_unit);
    blk_u(&tickets, "closed", "关闭", d->tickets_closed);
    blk_u(&tickets, "reworks", "返修", d->reworks);
    blk_u(&dispatch, "waiting", "待派单", d->dispatch_waiting);
    blk_u(&dispatch, "oldest_days", "最久等待天数", d->dispatch_oldest_days);
    /* the five timeliness classes, in the registry's order, with its names and labels */
    const Closeloop__TimelinessCounts *tc = d->timeliness;
    const struct {
        Closeloop__Timeliness t;
        uint32_t n;
    } timeliness[] = {
        {CLOSELOOP__TIMELINESS__TIMELINESS_NO_DEADLINE, tc ? tc->no_deadline : 0},
        {CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN, tc ? tc->overdue_open : 0},
        {CLOSELOOP__TIMELINESS__TIMELINESS_IN_TIME_OPEN, tc ? tc->in_time_open : 0},
        {CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE, tc ? tc->closed_late : 0},
        {CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_IN_TIME, tc ? tc->closed_in_time : 0},
    };
    for (size_t k = 0; k < sizeof timeliness / sizeof timeliness[0]; k++)
        blk_u(&timely, cl_timeliness_name(timeliness[k].t), cl_timeliness_label(timeliness[k].t),
              timeliness[k].n);

    static const char *const rh[] = {"reason", "count"};
    static const char *const ch[] = {"contractor_id", "contractor", "open", "overdue", "reworks"};
    /* The printed page's headers, in Chinese and English. */
    static const char *const rh_html[] = {"原因 Reason", "户数 Units"};
    static const char *const ch_html[] = {"编号 Id", "施工单位 Contractor", "未关闭 Open",
                                          "逾期 Overdue", "返修 Reworks"};
    int html = f == CLI_FMT_HTML;
    cli_table_t *reasons = cli_table_new(2, html ? rh_html : rh),
                *bycon = cli_table_new(5, html ? ch_html : ch);
    tview_t oldest = {0};
    pdf_doc_t *doc = NULL;
    int rc = CLI_EXIT_OK;
    if (!reasons || !bycon ||
        tview_init(&oldest, f == CLI_FMT_CSV ? CLI_FMT_JSON : f, -1, TV_STATE | TV_NOBLANK) !=
            CL_OK)
        goto oom;
    cli_table_set_numeric(reasons, 1);
    for (int i = 0; i < 5; i++)
        if (i != 1) cli_table_set_numeric(bycon, (size_t)i);
    for (size_t i = 0; i < d->n_not_taken_reasons; i++) {
        char n[16];
        snprintf(n, sizeof n, "%" PRIu32, d->not_taken_reasons[i]->count);
        const char *row[2] = {str(d->not_taken_reasons[i]->reason), n};
        if (cli_table_add(reasons, row) != CL_OK) goto oom;
    }
    for (size_t i = 0; i < d->n_open_by_contractor; i++) {
        const Closeloop__ContractorCount *c = d->open_by_contractor[i];
        char b[4][24] = {"", "", "", ""};
        if (c->contractor_id) snprintf(b[0], sizeof b[0], "%" PRId64, c->contractor_id);
        snprintf(b[1], sizeof b[1], "%" PRIu32, c->open);
        snprintf(b[2], sizeof b[2], "%" PRIu32, c->overdue);
        snprintf(b[3], sizeof b[3], "%" PRIu32, c->reworks);
        const char *row[5] = {
            b[0], c->contractor_id ? str(c->contractor_name) : "(manual dispatch 待派单)", b[1],
            b[2], b[3]};
        if (cli_table_add(bycon, row) != CL_OK) goto oom;
    }
    for (size_t i = 0; i < d->n_oldest_open; i++)
        if (tview_add(&oldest, d->oldest_open[i]) != CL_OK) goto oom;

    char title[256], sub[512];
    snprintf(title, sizeof title, "交房日报表 Daily handover report");
    snprintf(sub, sizeof sub, "项目 Project: %s (%" PRId64 ") · 日期 Date: %s",
             str(d->project_name), d->project_id, str(d->date));
    cli_html_page_t pg = {title, sub, NULL, 0};
    /* PDF: the HTML page's tables, laid out by pdf.h and written at the end; landscape,
     * since the oldest tickets' 14 columns broke dates and words in two on a portrait page */
    if (s->pdf && !(doc = pdf_new(title, sub, 1))) goto oom;
    char sub_pid[24];
    snprintf(sub_pid, sizeof sub_pid, "%" PRId64, d->project_id);
    int w = CL_OK;
    switch (f) {
    case CLI_FMT_JSON:
        fprintf(out, "{\"project_id\": %" PRId64 ", \"project_name\": ", d->project_id);
        cli_json_string(str(d->project_name), out);
        fputs(", \"date\": ", out);
        cli_json_string(str(d->date), out);
        fprintf(out,
                ",\n\"units_scheduled\": %" PRIu32 ", \"units_inspected\": %" PRIu32
                ", \"units_accepted\": %" PRIu32 ", \"units_accepted_with_items\": %" PRIu32
                ", \"units_not_taken_over\": %" PRIu32 ",\n\"not_taken_reasons\": ",
                d->units_scheduled, d->units_inspected, d->units_accepted,
                d->units_accepted_with_items, d->units_not_taken_over);
        w = cli_table_print(reasons, f, out);
        fprintf(out,
                ", \"items_raised\": %" PRIu32
                ", \"items_per_unit\": %.4f, \"tickets_closed\": %" PRIu32 ", \"reworks\": %" PRIu32
                ",\n\"dispatch_waiting\": %" PRIu32 ", \"dispatch_oldest_days\": %" PRIu32
                ",\n\"open_by_contractor\": ",
                d->items_raised, d->items_per_unit, d->tickets_closed, d->reworks,
                d->dispatch_waiting, d->dispatch_oldest_days);
        if (w == CL_OK) w = cli_table_print(bycon, f, out);
        fputs(", \"oldest_open\": ", out);
        if (w == CL_OK) w = cli_table_print(oldest.t, f, out);
        fputs(", \"timeliness\": {", out);
        for (size_t i = 0; i < timely.n; i++)
            fprintf(out, "%s\"%s\": %s", i ? ", " : "", timely.keys[i], timely.vals[i]);
        fputs("}}\n", out);
        break;
    case CLI_FMT_TABLE:
    case CLI_FMT_CSV:
    case CLI_FMT_HTML:
        if (f == CLI_FMT_HTML) {
            if (!doc) cli_html_begin(&pg, out); /* PDF: pdf_new made the head */
        } else if (f == CLI_FMT_TABLE)
            fprintf(out, "%s\n%s\n\n", title, sub);
        else
            w = csv_record(out, "report", 3, (const char *const[]){"project_id", "project", "date"},
                           (const char *const[]){sub_pid, str(d->project_name), str(d->date)});
        if (w != CL_OK) break;
        if ((w = block_print(&units, f, &pg, doc, out)) != CL_OK) break;
        if (d->n_not_taken_reasons || f != CLI_FMT_TABLE)
            if ((w = section_print("not_taken_reasons", "未接房原因 Not taken over: reasons",
                                   reasons, f, &pg, doc, out)) != CL_OK)
                break;
        if ((w = block_print(&items, f, &pg, doc, out)) != CL_OK) break;
        if ((w = block_print(&tickets, f, &pg, doc, out)) != CL_OK) break;
        if ((w = block_print(&dispatch, f, &pg, doc, out)) != CL_OK) break;
        if ((w = section_print("open_by_contractor", "未关闭维修单 Open tickets by contractor",
                               bycon, f, &pg, doc, out)) != CL_OK)
            break;
        if ((w = section_print("oldest_open", "最久未关闭 Oldest open tickets", oldest.t, f, &pg,
                               doc, out)) != CL_OK)
            break;
        if ((w = block_print(&timely, f, &pg, doc, out)) != CL_OK) break;
        if (f == CLI_FMT_HTML && !doc) w = cli_html_end(&pg, out);
        break;
    }
    if (w == CL_ENOMEM) goto oom;
    if (doc) {
        rc = cli_pdf_finish(doc, "report daily", pdf_path);
        doc = NULL;
        goto out;
    }
    if (w != CL_OK || fflush(out) != 0 || ferror(out)) rc = cli_write_failed();
    goto out;
oom:
    cli_errorf("out of memory");
    rc = CLI_EXIT_FAIL;
out:
    pdf_free(doc);
    cli_table_free(reasons);
    cli_table_free(bycon);
    cli_table_free(oldest.t);
    return rc;
}

static int report_daily(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *date = NULL, *pos[1], *pdf_path = NULL;
    cli_offline_opts_t oo = {cli_take_flag(&argc, argv, "--offline") != 0, NULL};
    if (s->pdf && cli_take_output(&argc, argv, &pdf_path) < 0) return CLI_EXIT_USAGE;
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--date", &date}, {"--mirror", &oo.mirror}, {NULL, NULL}};
    int npos;
    Closeloop__DailyReportRequest req = CLOSELOOP__DAILY_REPORT_REQUEST__INIT;
    if (cli_parse_args("report daily", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id("report daily", "--project", project, &req.project_id) < 0)
        return CLI_EXIT_USAGE;
    char today[16];
    if (!date) {
        time_t now = time(NULL);
        struct tm tm;
        if (!localtime_r(&now, &tm) || !strftime(today, sizeof today, "%Y-%m-%d", &tm)) {
            cli_errorf("report daily: give --date YYYY-MM-DD");
            return CLI_EXIT_USAGE;
        }
        date = today;
    }
    if (!cli_date_ok(date)) {
        cli_errorf("report daily: invalid --date '%s': use YYYY-MM-DD", date);
        return CLI_EXIT_USAGE;
    }
    req.date = (char *)date;
    return call_show(s, &oo, CL_MSG_DAILY_REPORT_REQ, &req.base, CL_MSG_DAILY_REPORT, daily_print,
                     pdf_path);
}

/* ---- report readiness ----------------------------------------------------------------- */

#define EXIT_NOT_READY CLI_EXIT_NOT_READY /* readiness: not ready for key handover */

static int readiness_print(const cli_settings_t *s, const ProtobufCMessage *m,
                           const char *pdf_path) {
    (void)pdf_path; /* no PDF form */
    const Closeloop__Readiness *r = (const Closeloop__Readiness *)m;
    cli_format_t f = s->format;
    FILE *out = stdout;
    tview_t bl = {0};
    if (tview_init(&bl, f, -1, TV_STATE | TV_NOBLANK) != CL_OK) goto oom;
    for (size_t i = 0; i < r->n_blockers; i++)
        if (tview_add(&bl, r->blockers[i]) != CL_OK) goto oom;
    char verdict[512];
    if (r->ready)
        snprintf(verdict, sizeof verdict,
                 "ready for key handover: building %s of project %" PRId64 ", %" PRIu32
                 " internal-inspection items, %" PRIu32 " closed, %" PRIu32 " not to fix",
                 str(r->building), r->project_id, r->items, r->closed, r->nofix);
    else
        snprintf(verdict, sizeof verdict,
                 "NOT ready: %zu blocker%s (building %s of project %" PRId64 ": %" PRIu32
                 " internal-inspection items, %" PRIu32 " closed, %" PRIu32 " not to fix)",
                 r->n_blockers, r->n_blockers == 1 ? "" : "s", str(r->building), r->project_id,
                 r->items, r->closed, r->nofix);
    int w = CL_OK;
    switch (f) {
    case CLI_FMT_TABLE:
        fprintf(out, "%s\n", verdict);
        if (r->n_blockers) {
            fputc('\n', out);
            w = cli_table_print(bl.t, f, out);
        }
        break;
    case CLI_FMT_CSV: {
        char b[5][24];
        snprintf(b[0], sizeof b[0], "%" PRId64, r->project_id);
        snprintf(b[1], sizeof b[1], "%" PRIu32, r->items);
        snprintf(b[2], sizeof b[2], "%" PRIu32, r->closed);
        snprintf(b[3], sizeof b[3], "%" PRIu32, r->nofix);
        snprintf(b[4], sizeof b[4], "%zu", r->n_blockers);
        w = csv_record(out, "readiness", 7,
                       (const char *const[]){"project_id", "building", "ready", "items", "closed",
                                             "nofix", "blockers"},
                       (const char *const[]){b[0], str(r->building), r->ready ? "yes" : "no", b[1],
                                             b[2], b[3], b[4]});
        if (w == CL_OK) {
            fputs("# blockers\n", out);
            w = cli_table_print(bl.t, f, out);
        }
        break;
    }
    case CLI_FMT_JSON:
        fprintf(out, "{\"project_id\": %" PRId64 ", \"building\": ", r->project_id);
        cli_json_string(str(r->building), out);
        fprintf(out,
                ", \"ready\": %s, \"items\": %" PRIu32 ", \"closed\": %" PRIu32
                ", \"nofix\": %" PRIu32 ",\n\"blockers\": ",
                r->ready ? "true" : "false", r->items, r->closed, r->nofix);
        w = cli_table_print(bl.t, f, out);
        fputs("}\n", out);
        break;
    case CLI_FMT_HTML: {
        char sub[300];
        snprintf(sub, sizeof sub, "项目 Project: %" PRId64 " · 楼栋 Building: %s", r->project_id,
                 str(r->building));
        cli_html_page_t pg = {"交钥匙条件检查 Key-handover readiness", sub, NULL, 1};
        cli_html_begin(&pg, out);
        cli_html_para(r->ready ? "具备交钥匙条件 — ready for key handover"
                               : "不具备交钥匙条件 — NOT ready",
                      "verdict", out);
        cli_html_para(verdict, NULL, out);
        if (r->n_blockers) cli_html_table(bl.t, "未关闭问题 Blockers", &pg, out);
        w = cli_html_end(&pg, out);
        break;
    }
    }
    cli_table_free(bl.t);
    if (w != CL_OK || fflush(out) != 0 || ferror(out)) return cli_write_failed();
    return r->ready ? CLI_EXIT_OK : EXIT_NOT_READY;
oom:
    cli_table_free(bl.t);
    cli_errorf("out of memory");
    return CLI_EXIT_FAIL;
}

static int report_readiness(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *building = NULL, *pos[1];
    cli_offline_opts_t oo = {cli_take_flag(&argc, argv, "--offline") != 0, NULL};
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--building", &building}, {"--mirror", &oo.mirror}, {NULL, NULL}};
    int npos;
    Closeloop__ReadinessRequest req = CLOSELOOP__READINESS_REQUEST__INIT;
    if (cli_parse_args("report readiness", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id("report readiness", "--project", project, &req.project_id) < 0 ||
        cli_need("report readiness", "--building", building) < 0 ||
        cli_utf8_arg_ok("report readiness", building) < 0)
        return CLI_EXIT_USAGE;
    req.building = (char *)building;
    return call_show(s, &oo, CL_MSG_READINESS_REQ, &req.base, CL_MSG_READINESS, readiness_print,
                     NULL);
}

static const cli_verb_t report_verbs[] = {
    {"daily",
     "cloop report daily --project ID [--date YYYY-MM-DD] [--offline] [--mirror PATH] [-o FILE]",
     "The daily handover report (交房日报表) of a project for a day (default today):\n"
     "units scheduled, inspected, accepted (with items), not taken over and why; items\n"
     "raised and per unit; tickets closed and reworks that day; the manual-dispatch\n"
     "backlog (tickets waiting for dispatch now, and the days the oldest has waited since\n"
     "it was found); open tickets by contractor with overdue and reworks; the oldest open\n"
     "tickets (oldest found first); and the five timeliness classes over all the project's\n"
     "tickets. Table output is several small tables; --format csv\n"
     "prints one section per block, each a '# NAME' line then a header line and rows;\n"
     "json one object mirroring the DailyReport message; html an A4 page; pdf the same\n"
     "page as A4 PDF (to -o FILE, or to stdout when it is not a terminal).\n" CLI_OFFLINE_HELP "\n"
     "example: cloop report daily --project 1 --date 2026-11-21 --format html > daily.html\n",
     report_daily},
    {"readiness", "cloop report readiness --project ID --building NAME [--offline] [--mirror PATH]",
     "Key-handover readiness of a building: ready when every internal-inspection item is\n"
     "closed or decided not to fix; otherwise lists the blockers, oldest found first.\n"
     "--building is the building's name as people say it: 1 finds 1栋 (or 1号楼, 1幢)\n"
     "when that is the only such building; an unknown name is refused with the\n"
     "project's building names. Exit status 0 when\n"
     "ready, 5 when NOT ready, else the exit status of a failed request (cloop "
     "--help).\n" CLI_OFFLINE_HELP "\n"
     "example: cloop report readiness --project 1 --building 3栋\n",
     report_readiness},
    {"monthly", "cloop report monthly [--company NAME|ID] --month YYYY-MM --format pdf [-o FILE]",
     "The monthly quality report (月度质量报告) of one city company, or of the whole group\n"
     "without --company, printed: A4 PDF in Chinese to -o FILE (or to stdout when it is\n"
     "not a terminal). A cover with the month's headline figures (units inspected, items\n"
     "and per unit, tickets opened and closed, closure and rework rate, overdue, days to\n"
     "close p50/p90, handover); twelve months of trend (opened and closed as bars,\n"
     "closure and rework rate as lines, and the table); the worst contractors of the\n"
     "month from the scorecards; the categories with the most items; handover progress\n"
     "per project (units accepted / units now, to the month's end). The figures are\n"
     "those of 'cloop stats' (docs/STATS.md), read on the analytics pool.\n"
     "\n"
     "example: cloop report monthly --company 深圳城市公司 --month 2026-11 --format pdf -o m.pdf\n",
     cmd_report_monthly},
    /* the defect reports (cmd_lesson.c) */
    {"defects", "cloop report defects --project ID --from YYYY-MM-DD --to YYYY-MM-DD",
     "The defect feedback report (缺陷信息反馈报告) of a project: the defects found in the\n"
     "period, by code, with title, source, kind, specialty, grade, repairable, impact in\n"
     "units (counted from their items), responsible department, cause, measures and\n"
     "state. --format csv|json for scripts, html for an A4 page in Chinese.\n"
     "\n"
     "example: cloop report defects --project 1 --from 2026-01-01 --to 2026-12-31\n",
     cmd_report_defects},
    {"periodic", "cloop report periodic --company ID --from YYYY-MM-DD --to YYYY-MM-DD",
     "The periodic report of a city company to HQ: the defects found in the period in\n"
     "its projects, counted by state, grade, source and specialty; the cases HQ accepted\n"
     "from them; check points recorded passed or found in the period and never looked at\n"
     "now. --format csv prints a '# summary' and a '# counts' section (dimension, key,\n"
     "defects); json one object; html an A4 page in Chinese.\n"
     "\n"
     "example: cloop report periodic --company 1 --from 2026-10-01 --to 2026-12-31\n",
     cmd_report_periodic},
};

const cli_group_t cmd_report_group = {
    "report",
    "Reports: the daily handover report, the key-handover readiness check, the defect\n"
    "feedback report and the periodic report of a city company to HQ\n"
    "(table, csv, json, or an A4 html page).",
    report_verbs, CLI_NVERBS(report_verbs)};
