/* ticket_view.c - the ticket's columns for cloop's output (see ticket_view.h). */
#include "ticket_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_domain.h"

static const char *str(const char *s) {
    return s ? s : "";
}

/* "2026-11-22" of a time in ms ("" for 0). */
static void date_of_ms(uint64_t ms, char *buf, size_t len) {
    char full[80];
    cli_format_time_ms(ms, full, sizeof full);
    snprintf(buf, len, "%.10s", full);
}

enum { F_TABLE = 1, F_DATA = 2, F_HTML = 4 }; /* F_DATA: CSV and JSON */

typedef struct tcol_def {
    const char *name; /* table, CSV and JSON header */
    const char *html; /* HTML header, Chinese and English */
    unsigned fmts;    /* F_* where the column appears */
    unsigned numeric : 1;
    unsigned blank : 1;
} tcol_def_t;

static const tcol_def_t tcols[TC__N] = {
    [TC_NUMBER] = {"number", "编号 No.", F_TABLE | F_DATA | F_HTML, 1, 0},
    [TC_ID] = {"id", "id", F_DATA, 0, 0},
    [TC_PROJECT_ID] = {"project_id", "项目 Project", F_DATA, 1, 0},
    [TC_PROJECT] = {"project", "项目 Project", F_DATA, 0, 0},
    [TC_BUILDING] = {"building", "楼栋 Building", F_DATA, 0, 0},
    [TC_UNIT] = {"unit", "房号 Unit", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_ROUND] = {"round", "轮次 Round", F_DATA, 0, 0},
    [TC_LOCATION] = {"location", "部位 Location", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_CATEGORY] = {"category", "专业 Trade", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_DESCRIPTION] = {"description", "问题描述 Description", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_SEVERITY] = {"severity", "等级 Severity", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_STATE] = {"state", "状态 State", F_DATA, 0, 0},
    [TC_CONTRACTOR_ID] = {"contractor_id", "施工单位 Contractor", F_DATA, 1, 0},
    [TC_CONTRACTOR] = {"contractor", "施工单位 Contractor", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_REWORK] = {"rework", "返修 Rework", F_TABLE | F_DATA | F_HTML, 1, 0},
    [TC_DEADLINE] = {"deadline", "期限 Deadline", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_TIMELINESS] = {"timeliness", "时效 Timeliness", F_DATA, 0, 0},
    [TC_OVERDUE] = {"overdue", "逾期 Overdue", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_FOUND] = {"found_on", "发现 Found", F_TABLE | F_DATA | F_HTML, 0, 0},
    [TC_AGE] = {"age_days", "天数 Days", F_TABLE | F_DATA | F_HTML, 1, 0},
    [TC_RAISED] = {"raised", "登记 Entered", F_TABLE | F_HTML, 0, 0},
    [TC_RAISED_AT] = {"raised_at", "登记 Entered", F_DATA, 0, 0},
    [TC_ENTRY_LAG] = {"entry_lag_days", "迟录天数 Entered late", F_DATA, 1, 0},
    [TC_LAST_NOTE] = {"last_note", "备注 Note", F_DATA, 0, 0},
    [TC_RESULT] = {"result", "结果 Result", F_HTML, 0, 1},
    [TC_SIGNATURE] = {"signature", "签字 Signature", F_HTML, 0, 1},
};

static void ticket_cells(const Closeloop__Ticket *t, cli_format_t f, tcells_t *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->number, sizeof c->number, "%" PRIu32, t->number);
    snprintf(c->project_id, sizeof c->project_id, "%" PRId64, t->project_id);
    if (t->contractor_id)
        snprintf(c->contractor_id, sizeof c->contractor_id, "%" PRId64, t->contractor_id);
    snprintf(c->rework, sizeof c->rework, "%" PRIu32, t->rework_count);
    snprintf(c->age, sizeof c->age, "%" PRIu32, t->age_days);
    date_of_ms(t->raised_at_ms, c->raised, sizeof c->raised);
    cli_format_time_ms(t->raised_at_ms, c->raised_at, sizeof c->raised_at);
    snprintf(c->entry_lag, sizeof c->entry_lag, "%" PRIu32, t->entry_lag_days);
    int overdue = t->timeliness == CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN;
    /* People read the table and the paper: Chinese labels there; scripts the codes. */
    int people = f == CLI_FMT_TABLE || f == CLI_FMT_HTML;
    c->cell[TC_NUMBER] = c->number;
    c->cell[TC_ID] = str(t->id);
    c->cell[TC_PROJECT_ID] = c->project_id;
    c->cell[TC_PROJECT] = str(t->project_name);
    c->cell[TC_BUILDING] = str(t->building);
    c->cell[TC_UNIT] = str(t->unit);
    c->cell[TC_ROUND] = cli_enum_name(CL_DOM_ROUND_KIND, t->round);
    c->cell[TC_LOCATION] = str(t->location);
    c->cell[TC_CATEGORY] =
        people && t->category_name && *t->category_name ? t->category_name : str(t->category);
    c->cell[TC_DESCRIPTION] = str(t->description);
    c->cell[TC_SEVERITY] = people ? cli_enum_label(CL_DOM_SEVERITY, t->severity)
                                  : cli_enum_name(CL_DOM_SEVERITY, t->severity);
    c->cell[TC_STATE] = people ? cli_enum_label(CL_DOM_TICKET_STATE, t->state)
                               : cli_enum_name(CL_DOM_TICKET_STATE, t->state);
    c->cell[TC_CONTRACTOR_ID] = c->contractor_id;
    c->cell[TC_CONTRACTOR] = str(t->contractor_name);
    c->cell[TC_REWORK] = c->rework;
    c->cell[TC_DEADLINE] = str(t->deadline);
    c->cell[TC_TIMELINESS] = cli_enum_name(CL_DOM_TIMELINESS, t->timeliness);
    c->cell[TC_OVERDUE] = f == CLI_FMT_HTML    ? (overdue ? "逾期" : "")
                          : f == CLI_FMT_TABLE ? (overdue ? "OVERDUE" : "")
                                               : (overdue ? "yes" : "no");
    c->cell[TC_FOUND] = str(t->found_on);
    c->cell[TC_AGE] = c->age;
    c->cell[TC_ENTRY_LAG] = c->entry_lag;
    c->cell[TC_RAISED] = c->raised;
    c->cell[TC_RAISED_AT] = c->raised_at;
    c->cell[TC_LAST_NOTE] = str(t->last_note);
    c->cell[TC_RESULT] = "";
    c->cell[TC_SIGNATURE] = "";
}

static unsigned fmt_bit(cli_format_t f) {
    return f == CLI_FMT_TABLE ? F_TABLE : f == CLI_FMT_HTML ? F_HTML : F_DATA;
}

int tview_init(tview_t *v, cli_format_t f, int skip, unsigned flags) {
    const char *names[TC__N];
    memset(v, 0, sizeof *v);
    v->f = f;
    for (int i = 0; i < TC__N; i++) {
        int on = (tcols[i].fmts & fmt_bit(f)) || ((flags & TV_STATE) && i == TC_STATE) ||
                 ((flags & TV_PROJECT) && i == TC_PROJECT);
        if (!on || i == skip || ((flags & TV_NOBLANK) && tcols[i].blank)) continue;
        names[v->n] = f == CLI_FMT_HTML ? tcols[i].html : tcols[i].name;
        v->map[v->n++] = i;
    }
    if (!(v->t = cli_table_new(v->n, names))) return CL_ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        if (tcols[v->map[i]].numeric) cli_table_set_numeric(v->t, i);
        if (tcols[v->map[i]].blank) cli_table_set_blank(v->t, i);
    }
    return CL_OK;
}

void tview_row(const tview_t *v, const Closeloop__Ticket *t, tcells_t *c, const char **row) {
    ticket_cells(t, v->f, c);
    for (size_t i = 0; i < v->n; i++)
        row[i] = c->cell[v->map[i]];
}

int tview_add(tview_t *v, const Closeloop__Ticket *t) {
    tcells_t c;
    const char *row[TC__N];
    tview_row(v, t, &c, row);
    return cli_table_add(v->t, row);
}
