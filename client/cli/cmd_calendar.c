/* cmd_calendar.c - `cloop calendar import|list|hours|deadline`: the business calendar the
 * clocks of complaints and warranty repairs run on (docs/CALENDAR.md). National or a city
 * company's: its days off and make-up working days, its working hours, and a deadline
 * computed by the daemon, so anyone can check a clock by hand.
 *
 * import reads the whole CSV first (date,kind,name; UTF-8 with or without BOM; header
 * optional) and says every bad line as FILE:N: ... before anything is sent; the daemon
 * writes all the rows or none. list and hours print the daemon's calendar warning (next
 * year missing, from December) on stderr. Single-threaded; every message, table and file
 * buffer is freed before a verb returns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "domain.h"

#define CAL_MAX_ROWS 2000 /* as the daemon takes in one import */

static const char *const weekdays[] = {"",       "星期一", "星期二", "星期三",
                                       "星期四", "星期五", "星期六", "星期日"};

/* The warning of an hours reply, on stderr; "" says nothing. */
static void say_warning(const Closeloop__CalendarHours *h) {
    if (h->warning && *h->warning) fprintf(stderr, "警告: %s\n", h->warning);
}

/* --- import --- */

typedef struct import_ctx {
    Closeloop__CalendarDay *days;
    size_t n, cap;
    int seen_data; /* a line was read: a header may only be first */
} import_ctx_t;

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* off | 休 | 放假 -> OFF, work | 班 | 上班 -> WORK, else NONE. */
static Closeloop__CalendarDayKind parse_kind(const char *k) {
    if (!strcmp(k, "休") || !strcmp(k, "放假") || !strcmp(k, "OFF") || !strcmp(k, "Off"))
        return CLOSELOOP__CALENDAR_DAY_KIND__CALENDAR_OFF;
    if (!strcmp(k, "班") || !strcmp(k, "上班") || !strcmp(k, "WORK") || !strcmp(k, "Work"))
        return CLOSELOOP__CALENDAR_DAY_KIND__CALENDAR_WORK;
    return cl_calendar_day_kind_parse(k);
}

static int import_line(void *arg, const char *path, unsigned lineno, char *line) {
    import_ctx_t *x = arg;
    char *c1 = strchr(line, ',');
    char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (c1) *c1 = '\0';
    if (c2) *c2 = '\0';
    char *date = trim(line), *kind = c1 ? trim(c1 + 1) : NULL, *name = c2 ? trim(c2 + 1) : "";
    if (!x->seen_data) {
        x->seen_data = 1;
        if (cli_header_is(date, strlen(date), "date") || !strcmp(date, "日期")) return CLI_LINE_OK;
    }
    size_t nl = strlen(name);
    if (nl >= 2 && name[0] == '"' && name[nl - 1] == '"') {
        name[nl - 1] = '\0';
        name++;
    }
    if (!cli_date_ok(date)) {
        cli_errorf("%s:%u: '%s' is not a date (YYYY-MM-DD)", path, lineno, date);
        return CLI_LINE_BAD;
    }
    if (!kind || !*kind) {
        cli_errorf("%s:%u: %s has no kind (off/休/放假 or work/班/上班)", path, lineno, date);
        return CLI_LINE_BAD;
    }
    Closeloop__CalendarDayKind k = parse_kind(kind);
    if (k == CLOSELOOP__CALENDAR_DAY_KIND__CALENDAR_DAY_KIND_NONE) {
        cli_errorf("%s:%u: '%s' is not a kind (off/休/放假 or work/班/上班)", path, lineno, kind);
        return CLI_LINE_BAD;
    }
    for (size_t i = 0; i < x->n; i++)
        if (!strcmp(x->days[i].day, date)) {
            cli_errorf("%s:%u: %s is listed twice (also on line %" PRIu32 ")", path, lineno, date,
                       x->days[i].line);
            return CLI_LINE_BAD;
        }
    if (x->n == CAL_MAX_ROWS) {
        cli_errorf("%s:%u: more than %d days in one file", path, lineno, CAL_MAX_ROWS);
        return CLI_LINE_STOP;
    }
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        Closeloop__CalendarDay *d = realloc(x->days, cap * sizeof *d);
        if (!d) {
            cli_errorf("out of memory");
            return CLI_LINE_STOP;
        }
        x->days = d;
        x->cap = cap;
    }
    Closeloop__CalendarDay *d = &x->days[x->n];
    closeloop__calendar_day__init(d);
    d->day = strdup(date);
    d->name = strdup(name);
    if (!d->day || !d->name) {
        free(d->day);
        free(d->name);
        cli_errorf("out of memory");
        return CLI_LINE_STOP;
    }
    d->kind = k;
    d->line = lineno;
    x->n++;
    return CLI_LINE_OK;
}

static const char *import_path; /* for the daemon's row errors */

static int import_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__CalendarImportResult *r = (const Closeloop__CalendarImportResult *)m;
    if (!r->applied) {
        for (size_t i = 0; i < r->n_errors; i++)
            cli_errorf("%s:%" PRIu32 ": %s", import_path, r->errors[i]->line,
                       r->errors[i]->message);
        cli_errorf("calendar import: nothing was changed");
        return CLI_EXIT_FAIL;
    }
    static const char *const cols[] = {"company_id", "inserted", "changed", "unchanged"};
    cli_table_t *t = cli_new_table(4, cols, 0xf);
    if (!t) return CLI_EXIT_FAIL;
    cli_row_t row;
    row.cell[0] = cli_row_num(&row, 0, r->company_id);
    row.cell[1] = cli_row_num(&row, 1, r->inserted);
    row.cell[2] = cli_row_num(&row, 2, r->changed);
    row.cell[3] = cli_row_num(&row, 3, r->unchanged);
    row.owned = NULL;
    int rc = cli_row_add(t, &row) == CL_OK ? cli_print_table(s, t) : CLI_EXIT_FAIL;
    cli_table_free(t);
    return rc;
}

static int calendar_import(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "calendar import", *company = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: give the CSV file (date,kind,name)", w);
        return CLI_EXIT_USAGE;
    }
    if (company && cli_utf8_arg_ok(w, company) < 0) return CLI_EXIT_USAGE;
    import_ctx_t x = {0};
    int rc;
    if (cli_each_list_line(pos[0], import_line, &x) < 0) {
        cli_errorf("calendar import: nothing was sent; mend the lines above");
        rc = CLI_EXIT_FAIL;
    } else if (x.n == 0) {
        cli_errorf("calendar import: %s holds no days", pos[0]);
        rc = CLI_EXIT_FAIL;
    } else {
        Closeloop__CalendarDay **ptrs = malloc(x.n * sizeof *ptrs);
        if (!ptrs) {
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
        } else {
            for (size_t i = 0; i < x.n; i++)
                ptrs[i] = &x.days[i];
            Closeloop__CalendarImport req = CLOSELOOP__CALENDAR_IMPORT__INIT;
            req.company = (char *)(company ? company : "");
            req.n_days = x.n;
            req.days = ptrs;
            import_path = pos[0];
            rc = cli_call_show(s, CL_MSG_CALENDAR_IMPORT_REQ, &req.base,
                               CL_MSG_CALENDAR_IMPORT_RESULT, import_show);
            free(ptrs);
        }
    }
    for (size_t i = 0; i < x.n; i++) {
        free(x.days[i].day);
        free(x.days[i].name);
    }
    free(x.days);
    return rc;
}

/* --- list --- */

static const char *const list_cols[] = {"日期", "星期", "类型", "名称", "来源"};

static int list_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__CalendarDay *d = (const Closeloop__CalendarDay *)m;
    const char *kind = cl_calendar_day_kind_label(d->kind);
    const char *row[5] = {cli_str(d->day),
                          d->weekday >= 1 && d->weekday <= 7 ? weekdays[d->weekday] : "",
                          kind ? kind : "", cli_str(d->name), d->own ? "本公司" : "全国"};
    return cli_table_add(t, row);
}

static int warning_only(const cli_settings_t *s, const ProtobufCMessage *m) {
    (void)s;
    say_warning((const Closeloop__CalendarHours *)m);
    return CLI_EXIT_OK;
}

static int calendar_list(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "calendar list", *company = NULL, *year = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company}, {"--year", &year}, {NULL, NULL}};
    int npos;
    Closeloop__CalendarListRequest req = CLOSELOOP__CALENDAR_LIST_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_opt_uint(w, "--year", year, 2099, &req.year) < 0)
        return CLI_EXIT_USAGE;
    if (year && req.year < 2000) {
        cli_errorf("%s: --year must be from 2000 to 2099", w);
        return CLI_EXIT_USAGE;
    }
    if (company && cli_utf8_arg_ok(w, company) < 0) return CLI_EXIT_USAGE;
    req.company = (char *)(company ? company : "");
    int rc = cli_list_print(s, cli_new_table(5, list_cols, 0), CL_MSG_CALENDAR_LIST_REQ, &req.base,
                            CL_MSG_CALENDAR_DAY_PAGE, list_row);
    if (rc == CLI_EXIT_OK) {
        /* The daemon's calendar warning rides on the hours reply. */
        Closeloop__CalendarHoursRequest h = CLOSELOOP__CALENDAR_HOURS_REQUEST__INIT;
        h.company = req.company;
        rc = cli_call_show(s, CL_MSG_CALENDAR_HOURS_REQ, &h.base, CL_MSG_CALENDAR_HOURS,
                           warning_only);
    }
    return rc;
}

/* --- hours --- */

/* "09:00-12:00,13:00-18:00" -> spans (at most 4; 24:00 may end one). 0, or -1 after a
 * usage error. */
static int parse_spans(const char *w, const char *v, Closeloop__CalendarSpan *spans, size_t *n) {
    *n = 0;
    const char *p = v;
    for (;;) {
        unsigned h1, m1, h2, m2;
        int used = 0;
        if (*n == 4 || sscanf(p, "%2u:%2u-%2u:%2u%n", &h1, &m1, &h2, &m2, &used) != 4 ||
            used != 11 || h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 == 24 && m2) ||
            h1 * 60 + m1 >= h2 * 60 + m2 || (p[used] != ',' && p[used] != '\0')) {
            cli_errorf("%s: --set takes up to 4 spans HH:MM-HH:MM, comma-separated "
                       "(e.g. 09:00-12:00,13:00-18:00)",
                       w);
            return -1;
        }
        closeloop__calendar_span__init(&spans[*n]);
        spans[*n].start_min = h1 * 60 + m1;
        spans[*n].end_min = h2 * 60 + m2;
        (*n)++;
        if (p[used] == '\0') return 0;
        p += used + 1;
    }
}

static int hours_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__CalendarHours *h = (const Closeloop__CalendarHours *)m;
    static const char *const cols[] = {"开始", "结束", "来源"};
    cli_table_t *t = cli_new_table(3, cols, 0);
    if (!t) return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    for (size_t i = 0; i < h->n_spans && rc == CLI_EXIT_OK; i++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "%02u:%02u", h->spans[i]->start_min / 60 % 100,
                 h->spans[i]->start_min % 60);
        snprintf(b, sizeof b, "%02u:%02u", h->spans[i]->end_min / 60 % 100,
                 h->spans[i]->end_min % 60);
        const char *row[3] = {a, b, h->own ? "本公司" : "全国"};
        if (cli_table_add(t, row) != CL_OK) rc = CLI_EXIT_FAIL;
    }
    if (rc == CLI_EXIT_OK) rc = cli_print_table(s, t);
    cli_table_free(t);
    say_warning(h);
    return rc;
}

static int calendar_hours(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "calendar hours", *company = NULL, *set = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company}, {"--set", &set}, {NULL, NULL}};
    int npos;
    int national = cli_take_flag(&argc, argv, "--national");
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    if (national && (set || !company)) {
        cli_errorf("%s: --national takes a --company back to the national hours, without --set", w);
        return CLI_EXIT_USAGE;
    }
    if (company && cli_utf8_arg_ok(w, company) < 0) return CLI_EXIT_USAGE;
    Closeloop__CalendarSpan spans[4], *ptrs[4];
    Closeloop__CalendarHoursRequest req = CLOSELOOP__CALENDAR_HOURS_REQUEST__INIT;
    req.company = (char *)(company ? company : "");
    if (set) {
        if (parse_spans(w, set, spans, &req.n_spans) < 0) return CLI_EXIT_USAGE;
        for (size_t i = 0; i < req.n_spans; i++)
            ptrs[i] = &spans[i];
        req.spans = ptrs;
        req.set = 1;
    }
    if (national) req.set = 1; /* no spans: the company's own hours go */
    return cli_call_show(s, CL_MSG_CALENDAR_HOURS_REQ, &req.base, CL_MSG_CALENDAR_HOURS,
                         hours_show);
}

/* --- deadline --- */

static int deadline_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__CalendarDeadline *d = (const Closeloop__CalendarDeadline *)m;
    static const char *const cols[] = {"开始", "工作小时", "到期"};
    cli_table_t *t = cli_new_table(3, cols, 0x2);
    if (!t) return CLI_EXIT_FAIL;
    char hours[24];
    snprintf(hours, sizeof hours, "%" PRIu32, d->hours);
    const char *row[3] = {cli_str(d->start), hours, cli_str(d->due)};
    int rc = cli_table_add(t, row) == CL_OK ? cli_print_table(s, t) : CLI_EXIT_FAIL;
    cli_table_free(t);
    return rc;
}

static int calendar_deadline(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "calendar deadline", *company = NULL, *start = NULL, *hours = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--company", &company}, {"--start", &start}, {"--hours", &hours}, {NULL, NULL}};
    int npos;
    Closeloop__CalendarDeadlineRequest req = CLOSELOOP__CALENDAR_DEADLINE_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need(w, "--start", start) < 0 || cli_need(w, "--hours", hours) < 0 ||
        cli_opt_uint(w, "--hours", hours, 10000, &req.hours) < 0)
        return CLI_EXIT_USAGE;
    if (req.hours == 0) {
        cli_errorf("%s: --hours must be at least 1", w);
        return CLI_EXIT_USAGE;
    }
    if (strlen(start) != 16 || start[10] != ' ' || start[13] != ':') {
        cli_errorf("%s: --start takes 'YYYY-MM-DD HH:MM' (China Standard Time)", w);
        return CLI_EXIT_USAGE;
    }
    if (company && cli_utf8_arg_ok(w, company) < 0) return CLI_EXIT_USAGE;
    req.company = (char *)(company ? company : "");
    req.start = (char *)start;
    return cli_call_show(s, CL_MSG_CALENDAR_DEADLINE_REQ, &req.base, CL_MSG_CALENDAR_DEADLINE,
                         deadline_show);
}

static const cli_verb_t calendar_verbs[] = {
    {"import", "cloop calendar import FILE [--company NAME|ID]",
     "Loads days off and make-up working days (调休上班) from a CSV of date,kind,name\n"
     "(UTF-8, with or without BOM; a header line is optional; kind off/休/放假 or\n"
     "work/班/上班). All or nothing: a bad line is named (FILE:N: what is wrong) and\n"
     "nothing changes; a day already there with the same kind and name is left alone,\n"
     "so importing a file twice changes nothing. Without --company the national\n"
     "calendar (hq_admin only); with it, that company's own days (its cr, or hq_admin),\n"
     "which override the national ones. Prints company_id, inserted, changed, unchanged.\n"
     "\n"
     "example: cloop calendar import 2027.csv\n",
     calendar_import},
    {"list", "cloop calendar list [--company NAME|ID] [--year YYYY]",
     "Lists the special days as the company's clocks see them (its own and the national\n"
     "ones it does not override): 日期, 星期, 类型 (放假/上班), 名称, 来源 (本公司/全国).\n"
     "From 1 December, warns on stderr when next year's national days are missing.\n"
     "\n"
     "example: cloop calendar list --year 2026\n",
     calendar_list},
    {"hours", "cloop calendar hours [--company NAME|ID] [--set HH:MM-HH:MM,... | --national]",
     "Shows the working hours (开始, 结束, 来源), or replaces them with --set (up to 4\n"
     "spans; the national hours hq_admin only, a company's its cr or hq_admin).\n"
     "--national drops a company's own hours: it works the national hours again.\n"
     "\n"
     "example: cloop calendar hours --company 深圳城市公司 --set 08:30-12:00,13:30-17:30\n",
     calendar_hours},
    {"deadline", "cloop calendar deadline [--company NAME|ID] --start 'YYYY-MM-DD HH:MM' --hours H",
     "When a clock of H business hours started at --start (China Standard Time) runs\n"
     "out over the calendar, computed by the daemon as a complaint's clock is: 开始,\n"
     "工作小时, 到期.\n"
     "\n"
     "example: cloop calendar deadline --start '2025-09-30 17:30' --hours 4\n",
     calendar_deadline},
};

const cli_group_t cmd_calendar_group = {
    "calendar",
    "The business calendar clocks run on: days off, make-up working days, working hours.",
    calendar_verbs, CLI_NVERBS(calendar_verbs)};
