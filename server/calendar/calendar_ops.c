/* calendar_ops.c - the business calendar people manage (docs/CALENDAR.md): import a
 * calendar's special days (all or nothing, idempotent), list them, read or set its working
 * hours, and compute a deadline over it with bizcal so people can check a clock by hand.
 *
 * A request names its calendar by text ('' national, else a company id or name); the SQL
 * (calendar.sql) resolves it within the session's scope, so a company out of scope reads
 * like a missing one. calendar_manage lets hq_admin and cr write; the national calendar is
 * hq_admin's alone, which these handlers check (the scope of calendar_manage is GROUP).
 *
 * Runs on the loop thread. Each request is one batch; a cl_call_t holds its state and the
 * db callback answers and frees it. */
#include "dispatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizcal.h"
#include "calendar.h"
#include "calendar_check.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"

#define CAL_IMPORT_MAX_ROWS        2000  /* special days in one import: years of them */
#define CL_LIM_CALENDAR_NAME_CHARS 40    /* calendar_days.name */
#define CAL_COMPANY_CHARS          200   /* a company's name */
#define CAL_DEADLINE_MAX_H         10000 /* hours of a deadline: years of working time */
#define CAL_FIRST_YEAR             2000
#define CAL_LAST_YEAR              2099

/* The calendar the request names; false after failing it. */
CL_MUSTCHECK static bool need_company(cl_req_t *req, const char *company) {
    return cl_req_need_text(req, "company", company, false, CAL_COMPANY_CHARS);
}

/* Writing the national calendar is hq_admin's (calendar_manage with GROUP scope); false
 * after refusing. */
CL_MUSTCHECK static bool may_write(cl_req_t *req, const char *company) {
    const cl_session_t *s = cl_req_session(req);
    if (!s) {
        cl_req_fail(req, CL_EUNAUTH, "%s", cl_strerror(CL_EUNAUTH));
        return false;
    }
    cl_scope_t scope = cl_authz_scope(s->role, CL_OP_CALENDAR_MANAGE);
    if (scope == CL_SCOPE_NONE || (!*company && scope != CL_SCOPE_GROUP)) {
        cl_req_fail(req, CL_EFORBIDDEN,
                    !*company ? "the national calendar is changed by hq_admin only; give "
                                "--company for your company's calendar"
                              : "your role may not change a calendar");
        return false;
    }
    return true;
}

static void fail_no_company(cl_req_t *req, const char *company) {
    cl_req_fail(req, CL_ENOTFOUND, "no such company: %s", company);
}

/* --- import --- */

/* What is wrong with row i, into why; false when nothing. */
static bool day_problem(const Closeloop__CalendarImport *m, size_t i, char *why, size_t n) {
    const Closeloop__CalendarDay *d = m->days[i];
    if (!cl_date_valid(d->day)) {
        snprintf(why, n, "'%.20s' is not a date (YYYY-MM-DD)", d->day);
        return true;
    }
    int y = atoi(d->day);
    if (y < CAL_FIRST_YEAR || y > CAL_LAST_YEAR) {
        snprintf(why, n, "%s: the year must be from %d to %d", d->day, CAL_FIRST_YEAR,
                 CAL_LAST_YEAR);
        return true;
    }
    if (!cl_calendar_day_kind_name(d->kind)) {
        snprintf(why, n, "%s: the kind must be off (休, 放假) or work (班, 上班)", d->day);
        return true;
    }
    if (cl_text_why(why, n, "name", d->name, false, CL_LIM_CALENDAR_NAME_CHARS)) return true;
    for (size_t j = 0; j < i; j++)
        if (strcmp(m->days[j]->day, d->day) == 0) {
            snprintf(why, n, "%s is listed twice (also on line %" PRIu32 ")", d->day,
                     m->days[j]->line);
            return true;
        }
    return false;
}

/* Answers the bad rows and returns false; true when every row is good. */
CL_MUSTCHECK static bool need_days(cl_req_t *req, const Closeloop__CalendarImport *m) {
    if (m->n_days == 0 || m->n_days > CAL_IMPORT_MAX_ROWS) {
        cl_req_fail(req, CL_EINVAL, "an import holds 1 to %d days", CAL_IMPORT_MAX_ROWS);
        return false;
    }
    char why[CL_ROW_ERROR_LEN];
    size_t bad = 0;
    for (size_t i = 0; i < m->n_days; i++)
        bad += day_problem(m, i, why, sizeof why);
    if (bad == 0) return true;
    cl_row_errors_t e;
    if (!cl_row_errors_init(&e, req, bad)) return false;
    for (size_t i = 0; i < m->n_days; i++)
        if (day_problem(m, i, why, sizeof why)) cl_row_errors_add(&e, m->days[i]->line, why);
    cl_row_errors_finish(&e, "rows");
    Closeloop__CalendarImportResult out = CLOSELOOP__CALENDAR_IMPORT_RESULT__INIT;
    out.n_errors = e.n;
    out.errors = e.ptrs;
    cl_req_reply(req, CL_MSG_CALENDAR_IMPORT_RESULT, &out.base);
    cl_row_errors_free(&e);
    return false;
}

static void import_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (res) {
        const Closeloop__CalendarImport *m = (const Closeloop__CalendarImport *)c->req->msg;
        if (PQntuples(res) != 1 || cl_sql_isnull(res, 0, CL_COL(calendar_import, company_id))) {
            fail_no_company(c->req, m->company);
        } else {
            Closeloop__CalendarImportResult out = CLOSELOOP__CALENDAR_IMPORT_RESULT__INIT;
            int64_t total = cl_sql_i64(res, 0, CL_COL(calendar_import, total));
            out.applied = true;
            out.company_id = cl_sql_i64(res, 0, CL_COL(calendar_import, company_id));
            out.inserted = (uint32_t)cl_sql_i64(res, 0, CL_COL(calendar_import, inserted));
            out.changed = (uint32_t)cl_sql_i64(res, 0, CL_COL(calendar_import, changed));
            out.unchanged = (uint32_t)(total - out.inserted - out.changed);
            cl_req_reply(c->req, CL_MSG_CALENDAR_IMPORT_RESULT, &out.base);
        }
    }
    cl_call_free(c);
}

void cl_calendar_import(cl_req_t *req) {
    const Closeloop__CalendarImport *m = (const Closeloop__CalendarImport *)req->msg;
    if (!need_company(req, m->company) || !may_write(req, m->company) || !need_days(req, m)) return;
    cl_sqlbuf_t days = {0}, kinds = {0}, names = {0};
    cl_sqlbuf_array_open(&days);
    cl_sqlbuf_array_open(&kinds);
    cl_sqlbuf_array_open(&names);
    for (size_t i = 0; i < m->n_days; i++) {
        cl_sqlbuf_array_text(&days, m->days[i]->day);
        cl_sqlbuf_array_text(&kinds, cl_calendar_day_kind_name(m->days[i]->kind));
        cl_sqlbuf_array_text(&names, m->days[i]->name);
    }
    char *d = cl_sqlbuf_array_close(&days), *k = cl_sqlbuf_array_close(&kinds),
         *n = cl_sqlbuf_array_close(&names);
    cl_call_t *c = NULL;
    if (!d || !k || !n)
        cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
    else
        c = cl_call_new(req, sizeof *c);
    if (c) {
        const cl_call_stmt_t st = CL_STMT(calendar_import, CL_CALL_SCOPE(c), m->company, d, k, n);
        cl_call_run(c, true, &st, 1, import_done);
    }
    free(d);
    free(k);
    free(n);
}

/* --- list --- */

static ProtobufCMessage *day_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    Closeloop__CalendarDay *d = slot;
    closeloop__calendar_day__init(d);
    d->day = PQgetvalue(res, row, CL_COL(calendar_list, day));
    d->kind = cl_calendar_day_kind_parse(cl_sql_text(res, row, CL_COL(calendar_list, kind)));
    d->name = PQgetvalue(res, row, CL_COL(calendar_list, name));
    d->own = strcmp(cl_sql_text(res, row, CL_COL(calendar_list, own)), "t") == 0;
    d->weekday = (uint32_t)cl_sql_i64(res, row, CL_COL(calendar_list, weekday));
    return &d->base;
}

static const cl_call_kind_t day_kind = {.reply_type = CL_MSG_CALENDAR_DAY_PAGE,
                                        .page_type = CL_MSG_CALENDAR_DAY_PAGE,
                                        .page = &closeloop__calendar_day_page__descriptor,
                                        .slot_size = sizeof(Closeloop__CalendarDay),
                                        .fill = day_fill,
                                        .clear = NULL};

void cl_calendar_list(cl_req_t *req) {
    const Closeloop__CalendarListRequest *m = (const Closeloop__CalendarListRequest *)req->msg;
    if (!need_company(req, m->company)) return;
    if (m->year && (m->year < CAL_FIRST_YEAR || m->year > CAL_LAST_YEAR)) {
        cl_req_fail(req, CL_EINVAL, "year must be from %d to %d", CAL_FIRST_YEAR, CAL_LAST_YEAR);
        return;
    }
    char from[24], to[24]; /* room for any unsigned year, as gcc counts it */
    snprintf(from, sizeof from, "%04u-01-01", m->year ? m->year : CAL_FIRST_YEAR);
    snprintf(to, sizeof to, "%04u-12-31", m->year ? m->year : CAL_LAST_YEAR);
    char notfound[64 + CAL_COMPANY_CHARS * 4];
    snprintf(notfound, sizeof notfound, "no such company: %s", m->company);
    cl_call_t *c = cl_call_list_new(req, &day_kind, notfound);
    if (!c) return;
    const cl_call_stmt_t st = CL_STMT(calendar_list, CL_CALL_SCOPE(c), m->company, from, to);
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

/* --- hours --- */

#define HOURS(col) CL_COL(calendar_hours_get, col)

static void hours_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const Closeloop__CalendarHoursRequest *m = (const Closeloop__CalendarHoursRequest *)c->req->msg;
    int last = !m->set ? 0 : m->n_spans ? 2 : 1;
    const PGresult *res = cl_call_rows(c, r, last);
    if (res) {
        int n = PQntuples(res);
        if (n == 0) {
            fail_no_company(c->req, m->company);
        } else {
            Closeloop__CalendarHours out = CLOSELOOP__CALENDAR_HOURS__INIT;
            Closeloop__CalendarSpan spans[CL_BIZCAL_SPANS], *ptrs[CL_BIZCAL_SPANS];
            char warning[600] = "";
            out.company_id = cl_sql_i64(res, 0, HOURS(company_id));
            out.own = strcmp(cl_sql_text(res, 0, HOURS(own)), "t") == 0;
            for (int i = 0; i < n && out.n_spans < CL_BIZCAL_SPANS; i++) {
                if (cl_sql_isnull(res, i, HOURS(start_min))) continue;
                closeloop__calendar_span__init(&spans[out.n_spans]);
                spans[out.n_spans].start_min = (uint32_t)cl_sql_i64(res, i, HOURS(start_min));
                spans[out.n_spans].end_min = (uint32_t)cl_sql_i64(res, i, HOURS(end_min));
                ptrs[out.n_spans] = &spans[out.n_spans];
                out.n_spans++;
            }
            out.spans = ptrs;
            if (!cl_sql_isnull(res, 0, HOURS(missing_year)))
                cl_calendar_warning(warning, sizeof warning,
                                    (int)cl_sql_i64(res, 0, HOURS(missing_year)));
            out.warning = warning;
            cl_req_reply(c->req, CL_MSG_CALENDAR_HOURS, &out.base);
        }
    }
    cl_call_free(c);
}

/* The spans of a set, checked: 1 to CL_BIZCAL_SPANS, each inside the day, in order and
 * apart. Their int[] literals into starts and ends (malloc'd); false after failing. */
CL_MUSTCHECK static bool need_spans(cl_req_t *req, const Closeloop__CalendarHoursRequest *m,
                                    char **starts, char **ends) {
    *starts = *ends = NULL;
    if (m->n_spans == 0 && *m->company) return true; /* back to the national hours */
    if (m->n_spans < 1 || m->n_spans > CL_BIZCAL_SPANS) {
        cl_req_fail(req, CL_EINVAL, "working hours are 1 to %d spans", CL_BIZCAL_SPANS);
        return false;
    }
    for (size_t i = 0; i < m->n_spans; i++) {
        const Closeloop__CalendarSpan *s = m->spans[i];
        if (s->start_min >= s->end_min || s->end_min > 1440 ||
            (i > 0 && s->start_min < m->spans[i - 1]->end_min)) {
            cl_req_fail(req, CL_EINVAL,
                        "working hours: span %zu must start before it ends, within the day, "
                        "after the span before it",
                        i + 1);
            return false;
        }
    }
    cl_sqlbuf_t a = {0}, b = {0};
    cl_sqlbuf_array_open(&a);
    cl_sqlbuf_array_open(&b);
    for (size_t i = 0; i < m->n_spans; i++) {
        cl_sqlbuf_array_int(&a, m->spans[i]->start_min);
        cl_sqlbuf_array_int(&b, m->spans[i]->end_min);
    }
    *starts = cl_sqlbuf_array_close(&a);
    *ends = cl_sqlbuf_array_close(&b);
    if (*starts && *ends) return true;
    free(*starts);
    free(*ends);
    *starts = *ends = NULL;
    cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
    return false;
}

void cl_calendar_hours(cl_req_t *req) {
    const Closeloop__CalendarHoursRequest *m = (const Closeloop__CalendarHoursRequest *)req->msg;
    if (!need_company(req, m->company)) return;
    char *starts = NULL, *ends = NULL;
    if (m->set && (!may_write(req, m->company) || !need_spans(req, m, &starts, &ends))) return;
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (c) {
        char today[11];
        cl_calendar_today(today);
        if (m->set && m->n_spans == 0) {
            const cl_call_stmt_t st[] = {
                CL_STMT(calendar_hours_clear, CL_CALL_SCOPE(c), m->company),
                CL_STMT(calendar_hours_get, CL_CALL_SCOPE(c), m->company, today)};
            cl_call_run(c, true, st, 2, hours_done);
        } else if (m->set) {
            const cl_call_stmt_t st[] = {
                CL_STMT(calendar_hours_clear, CL_CALL_SCOPE(c), m->company),
                CL_STMT(calendar_hours_add, CL_CALL_SCOPE(c), m->company, starts, ends),
                CL_STMT(calendar_hours_get, CL_CALL_SCOPE(c), m->company, today)};
            cl_call_run(c, true, st, 3, hours_done);
        } else {
            const cl_call_stmt_t st =
                CL_STMT(calendar_hours_get, CL_CALL_SCOPE(c), m->company, today);
            cl_call_run(c, false, &st, 1, hours_done);
        }
    }
    free(starts);
    free(ends);
}

/* --- deadline --- */

/* 'YYYY-MM-DD HH:MM' -> its local day and minute of the day; false when it is not one. */
static bool parse_local(const char *s, int32_t *day, int *minute) {
    char date[11];
    if (strlen(s) != 16 || s[10] != ' ' || s[13] != ':') return false;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!cl_date_valid(date)) return false;
    for (int i = 11; i < 16; i++)
        if (i != 13 && (s[i] < '0' || s[i] > '9')) return false;
    int h = atoi(s + 11), mi = atoi(s + 14);
    if (h > 23 || mi > 59) return false;
    *day = cl_bizcal_day_of(atoi(date), atoi(date + 5), atoi(date + 8));
    *minute = h * 60 + mi;
    return true;
}

static void format_local(char out[20], int64_t t) {
    int64_t local = t + CL_CALENDAR_UTC_OFFSET_S;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sec = local - day * 86400;
    int y, m, d;
    cl_bizcal_date_of((int32_t)day, &y, &m, &d);
    snprintf(out, 20, "%04d-%02d-%02d %02d:%02d", y, m, d, (int)(sec / 3600),
             (int)(sec % 3600 / 60));
}

static void format_day(char out[16], int32_t day) {
    int y, m, d;
    cl_bizcal_date_of(day, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

static void deadline_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const Closeloop__CalendarDeadlineRequest *m =
        (const Closeloop__CalendarDeadlineRequest *)c->req->msg;
    const PGresult *co = cl_call_rows(c, r, 0);
    const PGresult *spans = co ? cl_call_rows(c, r, 1) : NULL;
    const PGresult *days = spans ? cl_call_rows(c, r, 2) : NULL;
    if (days) {
        cl_calendar_t cal;
        int32_t day;
        int minute;
        if (PQntuples(co) == 0) {
            fail_no_company(c->req, m->company);
        } else if (!parse_local(m->start, &day, &minute)) {
            cl_req_fail(c->req, CL_EINTERNAL, "start changed under the request");
        } else if (cl_calendar_from_rows(&cal, spans, CL_COL(calendar_spans, start_min),
                                         CL_COL(calendar_spans, end_min), days,
                                         CL_COL(calendar_days_range, day),
                                         CL_COL(calendar_days_range, kind)) != CL_OK) {
            cl_req_fail(c->req, CL_EINVAL,
                        "the calendar does not hold together (no working hours?)");
        } else {
            int64_t start = (int64_t)day * 86400 + minute * 60 - CL_CALENDAR_UTC_OFFSET_S;
            int64_t due = cl_bizcal_add(&cal.cal, start, (int64_t)m->hours * 3600);
            cl_calendar_free(&cal);
            if (due < 0) {
                cl_req_fail(c->req, CL_EINVAL, "the calendar has no working time to end it");
            } else {
                char start_s[20], due_s[20];
                format_local(start_s, start);
                format_local(due_s, due);
                Closeloop__CalendarDeadline out = CLOSELOOP__CALENDAR_DEADLINE__INIT;
                out.start = start_s;
                out.due = due_s;
                out.hours = m->hours;
                out.start_ms = start * 1000;
                out.due_ms = due * 1000;
                out.company_id = cl_sql_i64(co, 0, CL_COL(calendar_hours_get, company_id));
                cl_req_reply(c->req, CL_MSG_CALENDAR_DEADLINE, &out.base);
            }
        }
    }
    cl_call_free(c);
}

void cl_calendar_deadline(cl_req_t *req) {
    const Closeloop__CalendarDeadlineRequest *m =
        (const Closeloop__CalendarDeadlineRequest *)req->msg;
    if (!need_company(req, m->company)) return;
    int32_t day;
    int minute;
    if (!parse_local(m->start, &day, &minute)) {
        cl_req_fail(req, CL_EINVAL, "start: '%.40s' is not 'YYYY-MM-DD HH:MM'", m->start);
        return;
    }
    if (m->hours < 1 || m->hours > CAL_DEADLINE_MAX_H) {
        cl_req_fail(req, CL_EINVAL, "hours must be from 1 to %d", CAL_DEADLINE_MAX_H);
        return;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return;
    char today[11], from[16], to[16];
    cl_calendar_today(today);
    format_day(from, day - 1);
    format_day(to, day + CL_BIZCAL_MAX_SEARCH_DAYS + 2);
    const cl_call_stmt_t st[] = {
        CL_STMT(calendar_hours_get, CL_CALL_SCOPE(c), m->company, today),
        CL_STMT(calendar_spans, CL_CALL_SCOPE(c), m->company),
        CL_STMT(calendar_days_range, CL_CALL_SCOPE(c), m->company, from, to)};
    cl_call_run(c, false, st, 3, deadline_done);
}
