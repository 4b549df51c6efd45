/* cmd_lesson.c - lessons pushed to the site, and the defect reports:
 *   cloop kb checklist   a mock-1 round's check points: list, --refresh, --pass, --found
 *                        (found records an inspection item naming the case, through the
 *                        normal item request, so it raises its ticket)
 *   cloop kb lessons     HQ: per project, check points passed, found again, never looked at
 *   cloop kb match       each new item's most similar case of the knowledge base
 *   cloop report defects    the defect feedback report (缺陷信息反馈报告) of a project
 *   cloop report periodic   the periodic report of a city company to HQ
 * The kb verbs are cmd_kb_checklist, cmd_kb_lessons and cmd_kb_match (rows of cmd_kb.c's table),
 * the report verbs cmd_report_defects and cmd_report_periodic (rows of cmd_report.c's table).
 *
 * Every request answers a LessonReport: named sections of text cells under column names
 * (stored names). Tables and the A4 HTML page show Chinese headers and the registry's
 * Chinese labels; CSV (a plain table, or '# section' blocks when there are several) and
 * JSON (one object of sections) keep the
 * column and stored names for scripts. Single-threaded; each verb frees what it made. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "session_store.h"

/* ---- printing a LessonReport ---------------------------------------------------------- */

/* A column as people read it: its Chinese header and, for stored names, the domain whose
 * labels are shown instead. */
typedef struct col_label {
    const char *name;
    const char *zh;
    int domain; /* a cl_domain_t, or -1 */
} col_label_t;

static const col_label_t col_labels[] = {
    {"case_code", "案例编号", -1},
    {"code", "缺陷编号", -1},
    {"title", "标题", -1},
    {"case_title", "最相似案例", -1},
    {"specialty", "专业", CL_DOM_SPECIALTY},
    {"category", "类别", -1},
    {"layouts", "户型", -1},
    {"revision", "版本", -1},
    {"status", "状态", CL_DOM_CHECKPOINT_STATUS},
    {"note", "备注", -1},
    {"recorded_by", "记录人", -1},
    {"recorded_at", "记录时间", -1},
    {"items", "问题数", -1},
    {"project_id", "项目编号", -1},
    {"project", "项目", -1},
    {"round", "轮次", CL_DOM_ROUND_KIND},
    {"checkpoints", "检查点", -1},
    {"passed", "已检查未发现", -1},
    {"found", "再次发现", -1},
    {"pending", "从未检查", -1},
    {"number", "维修单号", -1},
    {"unit", "房号", -1},
    {"location", "部位", -1},
    {"description", "问题描述", -1},
    {"inspected_on", "检查日期", -1},
    {"score", "相似度", -1},
    {"source", "来源", CL_DOM_DEFECT_SOURCE},
    {"kind", "性质", CL_DOM_DEFECT_KIND},
    {"grade", "等级", -1},
    {"repairable", "可修复", -1},
    {"impact_units", "影响户数", -1},
    {"department", "责任部门", -1},
    {"cause_analysis", "原因分析", -1},
    {"measures", "整改及预防措施", -1},
    {"state", "状态", CL_DOM_DEFECT_STATE},
    {"found_on", "发现日期", -1},
    {"defects", "缺陷数", -1},
    {"cases_accepted", "入库案例", -1},
    {"checkpoints_passed", "检查点已检查", -1},
    {"checkpoints_found", "检查点再次发现", -1},
    {"checkpoints_never_looked", "检查点从未检查", -1},
};

static const col_label_t *col_label(const char *name) {
    for (size_t i = 0; i < sizeof col_labels / sizeof col_labels[0]; i++)
        if (strcmp(col_labels[i].name, name) == 0) return &col_labels[i];
    return NULL;
}

/* What a cell shows people: a stored name as its label; yes/no as 是/否. */
static const char *cell_shown(const col_label_t *c, const char *v) {
    if (c && c->domain >= 0 && *v) {
        int w = cl_domain_parse((cl_domain_t)c->domain, v);
        const char *l = w > 0 ? cl_domain_label((cl_domain_t)c->domain, w) : NULL;
        if (l) return l;
    }
    if (c && strcmp(c->name, "repairable") == 0 && *v) return strcmp(v, "yes") == 0 ? "是" : "否";
    return v;
}

/* Whether a column holds counts (right-aligned, JSON numbers). */
static int col_numeric(const char *name) {
    static const char *const nums[] = {"revision",
                                       "items",
                                       "project_id",
                                       "checkpoints",
                                       "passed",
                                       "found",
                                       "pending",
                                       "number",
                                       "score",
                                       "impact_units",
                                       "defects",
                                       "cases_accepted",
                                       "checkpoints_passed",
                                       "checkpoints_found",
                                       "checkpoints_never_looked"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (strcmp(nums[i], name) == 0) return 1;
    return 0;
}

/* The section as a table: for people (table, HTML) Chinese headers and labels, else the
 * column and stored names. NULL when out of memory (said). */
static cli_table_t *section_table(const Closeloop__LessonSection *sec, cli_format_t f) {
    int people = f == CLI_FMT_TABLE || f == CLI_FMT_HTML;
    size_t nc = sec->n_columns;
    const char **hdr = calloc(nc + 1, sizeof *hdr);
    const char **row = calloc(nc + 1, sizeof *row);
    cli_table_t *t = NULL;
    if (!hdr || !row) goto out;
    for (size_t k = 0; k < nc; k++) {
        const col_label_t *c = col_label(sec->columns[k]);
        hdr[k] = people && c ? c->zh : sec->columns[k];
    }
    if (!(t = cli_table_new(nc, hdr))) goto out;
    for (size_t k = 0; k < nc; k++)
        if (col_numeric(sec->columns[k])) cli_table_set_numeric(t, k);
    for (size_t r = 0; r < sec->n_rows; r++) {
        const Closeloop__LessonRow *lr = sec->rows[r];
        for (size_t k = 0; k < nc; k++) {
            const char *v = k < lr->n_cells ? cli_str(lr->cells[k]) : "";
            row[k] = people ? cell_shown(col_label(sec->columns[k]), v) : v;
        }
        if (cli_table_add(t, row) != CL_OK) {
            cli_table_free(t);
            t = NULL;
            goto out;
        }
    }
out:
    if (!t) cli_errorf("out of memory");
    free(hdr);
    free(row);
    return t;
}

/* What a section is called on paper and above a table. */
typedef struct section_caption {
    const char *name;
    const char *zh;
} section_caption_t;

static const char *caption_of(const section_caption_t *caps, const char *name) {
    for (; caps && caps->name; caps++)
        if (strcmp(caps->name, name) == 0) return caps->zh;
    return name;
}

/* The first section named name; NULL when none. */
static const Closeloop__LessonSection *section_named(const Closeloop__LessonReport *r,
                                                     const char *name) {
    for (size_t i = 0; i < r->n_sections; i++)
        if (strcmp(cli_str(r->sections[i]->name), name) == 0) return r->sections[i];
    return NULL;
}

/* Says when a section was cut to fit in a frame. */
static void cut_note(const Closeloop__LessonSection *sec) {
    if (sec->total_rows > sec->n_rows)
        fprintf(stderr, "cloop: %s: %" PRIu32 " rows, %zu shown (one reply's worth)\n",
                cli_str(sec->name), sec->total_rows, sec->n_rows);
}

/* A whole report: every section, in the chosen format. expand, when set, prints a section
 * its own way for people (the periodic report's counts); it returns a CL_* code. */
typedef int (*section_fn)(const Closeloop__LessonSection *sec, cli_format_t f,
                          const cli_html_page_t *pg, FILE *out);

static int report_print(const cli_settings_t *s, const Closeloop__LessonReport *r,
                        const section_caption_t *caps, cli_html_page_t *pg, section_fn expand,
                        const char *expand_name) {
    cli_format_t f = s->format;
    FILE *out = stdout;
    int w = CL_OK;
    if (f == CLI_FMT_HTML) cli_html_begin(pg, out);
    if (f == CLI_FMT_JSON) {
        fputs("{\"title\": ", out);
        cli_json_string(cli_str(r->title), out);
    }
    if (f == CLI_FMT_TABLE && pg->title)
        fprintf(out, "%s\n%s\n\n", pg->title, cli_str(pg->subtitle));
    for (size_t i = 0; i < r->n_sections && w == CL_OK; i++) {
        const Closeloop__LessonSection *sec = r->sections[i];
        cut_note(sec);
        const char *cap = caption_of(caps, cli_str(sec->name));
        if (expand && (f == CLI_FMT_TABLE || f == CLI_FMT_HTML) &&
            strcmp(cli_str(sec->name), expand_name) == 0) {
            w = expand(sec, f, pg, out);
            continue;
        }
        cli_table_t *t = section_table(sec, f);
        if (!t) return CLI_EXIT_FAIL;
        switch (f) {
        case CLI_FMT_HTML: cli_html_table(t, cap, pg, out); break;
        case CLI_FMT_JSON:
            fputs(",\n", out);
            cli_json_string(cli_str(sec->name), out);
            fputs(": ", out);
            w = cli_table_print(t, f, out);
            break;
        case CLI_FMT_CSV: /* one section: a plain CSV table; more: '# name' blocks */
            if (r->n_sections > 1) fprintf(out, "# %s\n", cli_str(sec->name));
            w = cli_table_print(t, f, out);
            if (r->n_sections > 1) fputc('\n', out);
            break;
        case CLI_FMT_TABLE:
            fprintf(out, "%s\n", cap);
            w = cli_table_print(t, f, out);
            fputc('\n', out);
            break;
        }
        cli_table_free(t);
    }
    if (f == CLI_FMT_JSON) fputs("}\n", out);
    if (f == CLI_FMT_HTML && w == CL_OK) w = cli_html_end(pg, out);
    if (w != CL_OK || fflush(out) != 0 || ferror(out)) return cli_write_failed();
    return CLI_EXIT_OK;
}

/* One request answered by a LessonReport, printed by show. */
static int lesson_call(const cli_settings_t *s, uint16_t type, const ProtobufCMessage *req,
                       int (*show)(const cli_settings_t *s, const ProtobufCMessage *reply)) {
    return cli_call_show(s, type, req, CL_MSG_LESSON_REPORT, show);
}

/* ---- kb checklist ------------------------------------------------------------------- */

static const section_caption_t checklist_caps[] = {{"checkpoints", "检查点 Check points"},
                                                   {NULL, NULL}};

static int checklist_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__LessonReport *r = (const Closeloop__LessonReport *)m;
    char sub[300];
    snprintf(sub, sizeof sub, "项目 Project: %s", cli_str(r->title));
    cli_html_page_t pg = {"首次模拟验收检查点 Mock-1 check points", sub, NULL, 1};
    return report_print(s, r, checklist_caps, &pg, NULL, NULL);
}

/* The check point of case code in r (its row), or NULL; *col_cat the category column. */
static const Closeloop__LessonRow *checkpoint_row(const Closeloop__LessonReport *r,
                                                  const char *code, size_t *col_cat,
                                                  size_t *col_title, size_t *col_status) {
    const Closeloop__LessonSection *sec = section_named(r, "checkpoints");
    if (!sec) return NULL;
    size_t cc = sec->n_columns, ct = sec->n_columns, cat = sec->n_columns, st = sec->n_columns;
    for (size_t k = 0; k < sec->n_columns; k++) {
        if (strcmp(sec->columns[k], "case_code") == 0) cc = k;
        if (strcmp(sec->columns[k], "title") == 0) ct = k;
        if (strcmp(sec->columns[k], "category") == 0) cat = k;
        if (strcmp(sec->columns[k], "status") == 0) st = k;
    }
    if (cc == sec->n_columns || ct == sec->n_columns || cat == sec->n_columns ||
        st == sec->n_columns)
        return NULL;
    *col_cat = cat;
    *col_title = ct;
    *col_status = st;
    for (size_t i = 0; i < sec->n_rows; i++)
        if (sec->rows[i]->n_cells == sec->n_columns && strcmp(sec->rows[i]->cells[cc], code) == 0)
            return sec->rows[i];
    return NULL;
}

typedef struct found_args {
    const char *code, *unit, *location, *description, *severity, *category, *date, *inspector;
} found_args_t;

/* `--found CODE`: the check point must exist (read first), then one item naming the case
 * goes through the item request, which raises its ticket and marks the check point found. */
static int checklist_found(const cli_settings_t *s, int64_t project, int round,
                           const found_args_t *a) {
    const char *w = "kb checklist --found";
    int sv = CLOSELOOP__SEVERITY__SEVERITY_MAJOR;
    if (cli_need(w, "--unit", a->unit) < 0 || cli_need(w, "--location", a->location) < 0 ||
        (a->severity && cli_opt_enum(w, "--severity", a->severity, CL_DOM_SEVERITY, &sv) < 0) ||
        cli_utf8_arg_ok(w, a->unit) < 0 || cli_utf8_arg_ok(w, a->location) < 0 ||
        (a->description && cli_utf8_arg_ok(w, a->description) < 0) ||
        (a->inspector && cli_utf8_arg_ok(w, a->inspector) < 0) ||
        (a->category && cli_utf8_arg_ok(w, a->category) < 0))
        return CLI_EXIT_USAGE;
    char today[16];
    const char *date = a->date;
    if (!date) {
        time_t now = time(NULL);
        struct tm tm;
        if (!localtime_r(&now, &tm) || !strftime(today, sizeof today, "%Y-%m-%d", &tm)) {
            cli_errorf("%s: give --date YYYY-MM-DD", w);
            return CLI_EXIT_USAGE;
        }
        date = today;
    }
    if (!cli_date_ok(date)) {
        cli_errorf("%s: invalid --date '%s': use YYYY-MM-DD", w, date);
        return CLI_EXIT_USAGE;
    }
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    ProtobufCMessage *lm = NULL, *im = NULL;
    Closeloop__CheckpointListRequest lr = CLOSELOOP__CHECKPOINT_LIST_REQUEST__INIT;
    lr.project_id = project;
    lr.round = (Closeloop__RoundKind)round;
    int crc =
        cli_session_call(&ss, CL_MSG_CHECKPOINT_LIST_REQ, &lr.base, CL_MSG_LESSON_REPORT, &lm);
    if (crc != CL_OK) {
        rc = cli_session_fail(&ss, crc);
        goto out;
    }
    size_t col_cat = 0, col_title = 0, col_status = 0;
    const Closeloop__LessonRow *cp = checkpoint_row((const Closeloop__LessonReport *)lm, a->code,
                                                    &col_cat, &col_title, &col_status);
    if (!cp) {
        cli_errorf("case %s is not a check point of this round of project %" PRId64
                   " (cloop kb checklist --project %" PRId64 " lists them)",
                   a->code, project, project);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    const char *category = a->category ? a->category : cp->cells[col_cat];
    if (!*category) {
        cli_errorf("%s: case %s has no category: give --category", w, a->code);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    char desc[600];
    if (a->description)
        snprintf(desc, sizeof desc, "%s", a->description);
    else
        snprintf(desc, sizeof desc, "检查点 %s: %s", a->code, cp->cells[col_title]);
    char id[37];
    if (cli_new_key(id) < 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    Closeloop__Item it = CLOSELOOP__ITEM__INIT;
    it.item_id = id;
    it.project_id = project;
    it.unit = (char *)a->unit;
    it.round = (Closeloop__RoundKind)round;
    it.inspected_on = (char *)date;
    if (a->inspector) it.inspector = (char *)a->inspector;
    it.location = (char *)a->location;
    it.category = (char *)category;
    it.description = desc;
    it.severity = (Closeloop__Severity)sv;
    it.case_code = (char *)a->code;
    Closeloop__Item *items[1] = {&it};
    Closeloop__ItemBatch req = CLOSELOOP__ITEM_BATCH__INIT;
    req.n_items = 1;
    req.items = items;
    crc = cli_session_call(&ss, CL_MSG_ITEM_RECORD_REQ, &req.base, CL_MSG_ITEM_BATCH_RESULT, &im);
    if (crc != CL_OK) {
        rc = cli_session_fail(&ss, crc);
        goto out;
    }
    const Closeloop__ItemBatchResult *r = (const Closeloop__ItemBatchResult *)im;
    if (!r->applied) {
        for (size_t i = 0; i < r->n_errors; i++)
            cli_errorf("%s", cli_str(r->errors[i]->message));
        if (r->n_errors == 0) cli_errorf("the server rejected the item");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < r->n_warnings; i++)
        fprintf(stderr, "warning: %s\n", cli_str(r->warnings[i]->message));
    for (size_t i = 0; i < r->n_duplicates; i++) {
        char msg[200];
        cli_duplicate_text(r->duplicates[i], msg, sizeof msg);
        fprintf(stderr, "warning: %s\n", msg);
    }
    /* The check point as the server has it now (the item's statement marked it). */
    ProtobufCMessage *after = NULL;
    crc = cli_session_call(&ss, CL_MSG_CHECKPOINT_LIST_REQ, &lr.base, CL_MSG_LESSON_REPORT, &after);
    if (crc != CL_OK) {
        rc = cli_session_fail(&ss, crc);
        goto out;
    }
    cl_msg_free(lm);
    lm = after;
    cp = checkpoint_row((const Closeloop__LessonReport *)lm, a->code, &col_cat, &col_title,
                        &col_status);
    static const char *const cols[] = {"case_code", "item_id",    "ticket",
                                       "state",     "contractor", "status"};
    cli_table_t *t = cli_new_table(6, cols, 0x4);
    if (!t) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    const Closeloop__Ticket *tk = r->n_tickets ? r->tickets[0] : NULL;
    cli_row_t row = {0};
    row.cell[0] = a->code;
    row.cell[1] = id;
    row.cell[2] = tk ? cli_row_ref(&row, 2, tk->number) : "";
    row.cell[3] = tk ? cli_enum_name(CL_DOM_TICKET_STATE, tk->state) : "";
    row.cell[4] = tk ? cli_str(tk->contractor_name) : "";
    row.cell[5] = cp ? cp->cells[col_status] : "";
    rc = cli_row_add(t, &row) == CL_OK ? cli_print_table(s, t) : CLI_EXIT_FAIL;
    cli_table_free(t);
out:
    cl_msg_free(lm);
    cl_msg_free(im);
    cli_session_close(&ss);
    return rc;
}

int cmd_kb_checklist(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb checklist";
    int refresh = cli_take_flag(&argc, argv, "--refresh");
    const char *project = NULL, *round = NULL, *pass = NULL, *note = NULL, *pos[1];
    found_args_t fa = {0};
    const cli_optdef_t defs[] = {{"--project", &project},
                                 {"--round", &round},
                                 {"--pass", &pass},
                                 {"--note", &note},
                                 {"--found", &fa.code},
                                 {"--unit", &fa.unit},
                                 {"--location", &fa.location},
                                 {"--description", &fa.description},
                                 {"--severity", &fa.severity},
                                 {"--category", &fa.category},
                                 {"--date", &fa.date},
                                 {"--inspector", &fa.inspector},
                                 {NULL, NULL}};
    int npos, rk = CLOSELOOP__ROUND_KIND__ROUND_MOCK1;
    int64_t pid;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(w, "--project", project, &pid) < 0 ||
        (round && cli_opt_enum(w, "--round", round, CL_DOM_ROUND_KIND, &rk) < 0))
        return CLI_EXIT_USAGE;
    if ((pass != NULL) + (fa.code != NULL) + refresh > 1) {
        cli_errorf("%s: give one of --pass, --found and --refresh", w);
        return CLI_EXIT_USAGE;
    }
    if (!fa.code && (fa.unit || fa.location || fa.description || fa.severity || fa.category ||
                     fa.date || fa.inspector)) {
        cli_errorf("%s: --unit, --location, --description ... go with --found CODE", w);
        return CLI_EXIT_USAGE;
    }
    if (note && !pass) {
        cli_errorf("%s: --note goes with --pass CODE", w);
        return CLI_EXIT_USAGE;
    }
    if (fa.code) {
        if (cli_utf8_arg_ok(w, fa.code) < 0) return CLI_EXIT_USAGE;
        return checklist_found(s, pid, rk, &fa);
    }
    if (pass) {
        if (cli_utf8_arg_ok(w, pass) < 0 || (note && cli_utf8_arg_ok(w, note) < 0))
            return CLI_EXIT_USAGE;
        Closeloop__CheckpointPass req = CLOSELOOP__CHECKPOINT_PASS__INIT;
        req.project_id = pid;
        req.round = (Closeloop__RoundKind)rk;
        req.case_code = (char *)pass;
        if (note) req.note = (char *)note;
        return lesson_call(s, CL_MSG_CHECKPOINT_PASS_REQ, &req.base, checklist_show);
    }
    Closeloop__CheckpointListRequest req = CLOSELOOP__CHECKPOINT_LIST_REQUEST__INIT;
    req.project_id = pid;
    req.round = (Closeloop__RoundKind)rk;
    return lesson_call(s, refresh ? CL_MSG_CHECKPOINT_REFRESH_REQ : CL_MSG_CHECKPOINT_LIST_REQ,
                       &req.base, checklist_show);
}

/* ---- kb lessons ----------------------------------------------------------------------- */

static const section_caption_t lessons_caps[] = {
    {"projects", "各项目检查点 Check points per project"},
    {"cases", "各案例检查情况 Check points per case"},
    {NULL, NULL}};

static int lessons_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__LessonReport *r = (const Closeloop__LessonReport *)m;
    char sub[300];
    snprintf(sub, sizeof sub, "项目 Project: %s", *cli_str(r->title) ? r->title : "全部 all");
    cli_html_page_t pg = {"经验教训落地情况 Lessons on site", sub, NULL, 1};
    return report_print(s, r, lessons_caps, &pg, NULL, NULL);
}

int cmd_kb_lessons(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project}, {NULL, NULL}};
    int npos;
    Closeloop__LessonsRequest req = CLOSELOOP__LESSONS_REQUEST__INIT;
    if (cli_parse_args("kb lessons", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_opt_id("--project", project, &req.project_id) < 0)
        return CLI_EXIT_USAGE;
    return lesson_call(s, CL_MSG_LESSONS_REQ, &req.base, lessons_show);
}

/* ---- kb match ------------------------------------------------------------------------- */

static const section_caption_t match_caps[] = {{"matches", "新问题与案例库比对 Items and cases"},
                                               {NULL, NULL}};

static int match_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__LessonReport *r = (const Closeloop__LessonReport *)m;
    char sub[300];
    snprintf(sub, sizeof sub, "项目 Project: %s", cli_str(r->title));
    cli_html_page_t pg = {"新问题最相似案例 Most similar cases", sub, NULL, 1};
    return report_print(s, r, match_caps, &pg, NULL, NULL);
}

int cmd_kb_match(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb match";
    const char *project = NULL, *since = NULL, *score = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--since", &since}, {"--min-score", &score}, {NULL, NULL}};
    int npos;
    Closeloop__CaseMatchRequest req = CLOSELOOP__CASE_MATCH_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(w, "--project", project, &req.project_id) < 0)
        return CLI_EXIT_USAGE;
    if (since && !cli_date_ok(since)) {
        cli_errorf("%s: invalid --since '%s': use YYYY-MM-DD", w, since);
        return CLI_EXIT_USAGE;
    }
    if (since) req.since = (char *)since;
    if (score) {
        char *end;
        double v = strtod(score, &end);
        if (*end || !(v > 0.0 && v <= 1.0)) {
            cli_errorf("%s: --min-score is a number above 0, at most 1", w);
            return CLI_EXIT_USAGE;
        }
        req.min_score = (float)v;
    }
    return lesson_call(s, CL_MSG_CASE_MATCH_REQ, &req.base, match_show);
}

/* ---- report defects / periodic -------------------------------------------------------- */

static char period_text[96];

static const section_caption_t defects_caps[] = {{"defects", "缺陷 Defects"}, {NULL, NULL}};

static int defects_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__LessonReport *r = (const Closeloop__LessonReport *)m;
    char sub[400];
    snprintf(sub, sizeof sub, "项目 Project: %s · 期间 Period: %s", cli_str(r->title), period_text);
    cli_html_page_t pg = {"缺陷信息反馈报告 Defect feedback report", sub, NULL, 1};
    return report_print(s, r, defects_caps, &pg, NULL, NULL);
}

/* The periodic report's counts for people: one table per dimension, every value of the
 * registry in its order with its label (0 when none). */
static int counts_expand(const Closeloop__LessonSection *sec, cli_format_t f,
                         const cli_html_page_t *pg, FILE *out) {
    static const struct {
        const char *dimension;
        cl_domain_t d;
        const char *caption;
    } dims[] = {
        {"state", CL_DOM_DEFECT_STATE, "按状态 By state"},
        {"grade", CL_DOM_DEFECT_GRADE, "按等级 By grade"},
        {"source", CL_DOM_DEFECT_SOURCE, "按来源 By source"},
        {"specialty", CL_DOM_SPECIALTY, "按专业 By specialty"},
    };
    static const char *const hdr[] = {"项目 Item", "缺陷数 Defects"};
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        cli_table_t *t = cli_table_new(2, hdr);
        if (!t) return CL_ENOMEM;
        cli_table_set_numeric(t, 1);
        size_t nv;
        const cl_domain_value_t *v = cl_domain_values(dims[k].d, &nv);
        int rc = CL_OK;
        for (size_t i = 0; i <= nv && rc == CL_OK; i++) {
            /* i == nv: defects not graded yet (grade empty) */
            const char *key = i < nv ? v[i].name : "";
            if (i == nv && strcmp(dims[k].dimension, "grade") != 0) break;
            const char *n = "0";
            for (size_t r = 0; r < sec->n_rows; r++) {
                const Closeloop__LessonRow *row = sec->rows[r];
                if (row->n_cells == 3 && strcmp(row->cells[0], dims[k].dimension) == 0 &&
                    strcmp(row->cells[1], key) == 0)
                    n = row->cells[2];
            }
            const char *label =
                i < nv ? (v[i].label ? v[i].label : v[i].name) : "未定级 not graded";
            const char *cells[2] = {label, n};
            rc = cli_table_add(t, cells);
        }
        if (rc == CL_OK) {
            if (f == CLI_FMT_HTML) {
                cli_html_table(t, dims[k].caption, pg, out);
            } else {
                fprintf(out, "%s\n", dims[k].caption);
                rc = cli_table_print(t, f, out);
                fputc('\n', out);
            }
        }
        cli_table_free(t);
        if (rc != CL_OK) return rc;
    }
    return CL_OK;
}

static const section_caption_t periodic_caps[] = {
    {"summary", "概况 Summary"}, {"counts", "缺陷统计 Defect counts"}, {NULL, NULL}};

static int periodic_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__LessonReport *r = (const Closeloop__LessonReport *)m;
    char sub[400];
    snprintf(sub, sizeof sub, "城市公司 City company: %s · 期间 Period: %s", cli_str(r->title),
             period_text);
    cli_html_page_t pg = {"缺陷管理定期报告 Periodic defect report", sub, NULL, 0};
    return report_print(s, r, periodic_caps, &pg, counts_expand, "counts");
}

/* --from and --to: both required dates, in order. 0, or -1 after a usage error. */
static int period_args(const char *w, const char *from, const char *to,
                       Closeloop__DefectReportRequest *req) {
    if (cli_need(w, "--from", from) < 0 || cli_need(w, "--to", to) < 0) return -1;
    if (!cli_date_ok(from) || !cli_date_ok(to) || strcmp(from, to) > 0) {
        cli_errorf("%s: --from and --to are dates YYYY-MM-DD, --from not after --to", w);
        return -1;
    }
    req->from = (char *)from;
    req->to = (char *)to;
    snprintf(period_text, sizeof period_text, "%s ~ %s", from, to);
    return 0;
}

int cmd_report_defects(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "report defects";
    const char *project = NULL, *from = NULL, *to = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--from", &from}, {"--to", &to}, {NULL, NULL}};
    int npos;
    Closeloop__DefectReportRequest req = CLOSELOOP__DEFECT_REPORT_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(w, "--project", project, &req.project_id) < 0 ||
        period_args(w, from, to, &req) < 0)
        return CLI_EXIT_USAGE;
    return lesson_call(s, CL_MSG_DEFECT_FEEDBACK_REQ, &req.base, defects_show);
}

int cmd_report_periodic(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "report periodic";
    const char *company = NULL, *from = NULL, *to = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--company", &company}, {"--from", &from}, {"--to", &to}, {NULL, NULL}};
    int npos;
    Closeloop__DefectReportRequest req = CLOSELOOP__DEFECT_REPORT_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(w, "--company", company, &req.company_id) < 0 ||
        period_args(w, from, to, &req) < 0)
        return CLI_EXIT_USAGE;
    return lesson_call(s, CL_MSG_PERIODIC_REPORT_REQ, &req.base, periodic_show);
}

/* ---- the verbs, joined into `cloop kb` by cmd_kb.c's table -------------------------- */

const char cmd_kb_checklist_synopsis[] =
    "cloop kb checklist --project ID [--round {round_kind|}] [--refresh | --pass CODE [--note "
    "TEXT] | --found CODE --unit UNIT --location ROOM [--description TEXT] [--severity "
    "{severity|}] [--category TRADE] [--date YYYY-MM-DD] [--inspector NAME]]";
const char cmd_kb_checklist_help[] =
    "The check points of a project's round (mock1 unless --round): the cases of the\n"
    "knowledge base that match the project, pushed into its first mock inspection when\n"
    "the round was created (docs/LESSONS.md has the rule): case code, title, specialty,\n"
    "category, layouts, revision, status (pending, passed, found), note, who recorded it\n"
    "and when, and the items of the round that name the case.\n"
    "--refresh derives them again: cases that match now are added, none is removed.\n"
    "--pass CODE records the check point looked at on site and not found (a found one\n"
    "stays found). --found CODE records an inspection item in UNIT naming the case (its\n"
    "category unless --category; its title as the description unless --description;\n"
    "severity major unless given; today unless --date): the item raises its repair\n"
    "ticket as any item does, and the check point becomes found.\n"
    "\n"
    "example: cloop kb checklist --project 2 --found SJ01 --unit 1-1-101 --location 屋面\n";

const char cmd_kb_lessons_synopsis[] = "cloop kb lessons [--project ID]";
const char cmd_kb_lessons_help[] =
    "HQ's view of the lessons pushed to the site: per project, its check points in all,\n"
    "passed (looked at, not found), found again and never looked at; then every check\n"
    "point with its case, status, who and when. Without --project: every project in\n"
    "scope.\n"
    "\n"
    "example: cloop kb lessons --format html > lessons.html\n";

const char cmd_kb_match_synopsis[] =
    "cloop kb match --project ID [--since YYYY-MM-DD] [--min-score 0.2]";
const char cmd_kb_match_help[] =
    "Each item of the project recorded since the date (default: the last 30 days; the\n"
    "latest 500) with the active case it most resembles: candidates from the cases'\n"
    "search index by the item's words, scored by how alike the item's description is to\n"
    "the case's title or description (0..1); items with no case scoring at least\n"
    "--min-score are left out.\n"
    "\n"
    "example: cloop kb match --project 2 --since 2026-11-01\n";
