/* report.c - the reports: the daily handover report (交房日报表) of a project for a day,
 * and the key-handover readiness of a building (construction keys go to the property
 * company only when every internal inspection item is closed or decided not to fix).
 *
 * Each report is one batch of reads (report.sql) in one round trip, on the analytics pool
 * (db.analytics_conninfo, which may be a streaming replica; the main pool when none is
 * configured). Runs on the loop thread; the db callback frees the call after replying. */
#include "dispatch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_sql.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"
#include "ticket_row.h"

#define REPORT_FRAME_SLACK 64 /* frame bytes kept free for the reply's own encoding */

#define DS(col) CL_COL(report_daily_summary, col)
#define DC(col) CL_COL(report_daily_contractors, col)
#define RS(col) CL_COL(report_ready_summary, col)

/* A report's call, on the analytics pool, with project_id as text in project; NULL after
 * answering. */
static cl_call_t *report_call(cl_req_t *req, int64_t project_id, char project[24]) {
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return NULL;
    c->analytics = true;
    cl_sql_int_param(project, project_id);
    return c;
}

typedef Closeloop__Ticket pb_ticket_t;
typedef Closeloop__ReasonCount pb_reason_t;
typedef Closeloop__ContractorCount pb_ccount_t;
typedef Closeloop__TimelinessCounts pb_tcounts_t;

static void daily_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const cl_pb_daily_report_req_t *m = (const cl_pb_daily_report_req_t *)c->req->msg;
    const PGresult *sum = cl_call_rows(c, r, 0);
    const PGresult *reasons = sum ? cl_call_rows(c, r, 1) : NULL;
    const PGresult *cons = reasons ? cl_call_rows(c, r, 2) : NULL;
    const PGresult *oldest = cons ? cl_call_rows(c, r, 3) : NULL;
    if (!oldest) {
        cl_call_free(c);
        return;
    }
    if (PQntuples(sum) != 1 || cl_sql_isnull(sum, 0, DS(project_name))) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
        cl_call_free(c);
        return;
    }
    Closeloop__DailyReport d = CLOSELOOP__DAILY_REPORT__INIT;
    pb_tcounts_t tc = CLOSELOOP__TIMELINESS_COUNTS__INIT;
    d.project_id = m->project_id;
    d.project_name = PQgetvalue(sum, 0, DS(project_name));
    d.date = m->date;
    /* The counts, each from its column. */
    const struct {
        int col;
        uint32_t *to;
    } counts[] = {
        {DS(units_scheduled), &d.units_scheduled},
        {DS(units_inspected), &d.units_inspected},
        {DS(units_accepted), &d.units_accepted},
        {DS(units_accepted_with_items), &d.units_accepted_with_items},
        {DS(units_not_taken_over), &d.units_not_taken_over},
        {DS(items_raised), &d.items_raised},
        {DS(tickets_closed), &d.tickets_closed},
        {DS(reworks), &d.reworks},
        {DS(no_deadline), &tc.no_deadline},
        {DS(overdue_open), &tc.overdue_open},
        {DS(in_time_open), &tc.in_time_open},
        {DS(closed_late), &tc.closed_late},
        {DS(closed_in_time), &tc.closed_in_time},
        {DS(dispatch_waiting), &d.dispatch_waiting},
        {DS(dispatch_oldest_days), &d.dispatch_oldest_days},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        *counts[i].to = (uint32_t)cl_sql_i64(sum, 0, counts[i].col);
    int64_t units_day = cl_sql_i64(sum, 0, DS(units_with_items));
    d.items_per_unit = units_day > 0 ? (double)d.items_raised / (double)units_day : 0.0;
    d.timeliness = &tc;

    size_t nr = (size_t)PQntuples(reasons), nc = (size_t)PQntuples(cons),
           no = (size_t)PQntuples(oldest);
    pb_reason_t *rs = calloc(nr + 1, sizeof *rs);
    pb_reason_t **rp = calloc(nr + 1, sizeof *rp);
    pb_ccount_t *cs = calloc(nc + 1, sizeof *cs);
    pb_ccount_t **cp = calloc(nc + 1, sizeof *cp);
    pb_ticket_t *ts = calloc(no + 1, sizeof *ts);
    pb_ticket_t **tp = calloc(no + 1, sizeof *tp);
    if (!rs || !rp || !cs || !cp || !ts || !tp) {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        closeloop__reason_count__init(&rs[i]);
        rs[i].reason = PQgetvalue(reasons, (int)i, CL_COL(report_daily_reasons, reason));
        rs[i].count = (uint32_t)cl_sql_i64(reasons, (int)i, CL_COL(report_daily_reasons, units));
        rp[i] = &rs[i];
    }
    for (size_t i = 0; i < nc; i++) {
        closeloop__contractor_count__init(&cs[i]);
        cs[i].contractor_id = cl_sql_i64(cons, (int)i, DC(contractor_id));
        cs[i].contractor_name = PQgetvalue(cons, (int)i, DC(contractor_name));
        cs[i].open = (uint32_t)cl_sql_i64(cons, (int)i, DC(open));
        cs[i].overdue = (uint32_t)cl_sql_i64(cons, (int)i, DC(overdue));
        cs[i].reworks = (uint32_t)cl_sql_i64(cons, (int)i, DC(reworks));
        cp[i] = &cs[i];
    }
    for (size_t i = 0; i < no; i++) {
        cl_ticket_row_fill(&ts[i], oldest, (int)i, 0);
        tp[i] = &ts[i];
    }
    d.n_not_taken_reasons = nr;
    d.not_taken_reasons = rp;
    d.n_open_by_contractor = nc;
    d.open_by_contractor = cp;
    d.n_oldest_open = no;
    d.oldest_open = tp;
    cl_req_reply(c->req, CL_MSG_DAILY_REPORT, &d.base);
out:
    free(rs);
    free(rp);
    free(cs);
    free(cp);
    free(ts);
    free(tp);
    cl_call_free(c);
}

void cl_report_daily(cl_req_t *req) {
    const cl_pb_daily_report_req_t *m = (const cl_pb_daily_report_req_t *)req->msg;
    char project[24];
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_date(req, "date", m->date))
        return;
    cl_call_t *c = report_call(req, m->project_id, project);
    if (!c) return; /* answered */
    cl_call_stmt_t st[] = {
        CL_STMT(report_daily_summary, CL_CALL_SCOPE(c), project, m->date),
        CL_STMT(report_daily_reasons, CL_CALL_SCOPE(c), project, m->date),
        CL_STMT(report_daily_contractors, CL_CALL_SCOPE(c), project, m->date),
        CL_STMT(report_daily_oldest, CL_CALL_SCOPE(c), project, m->date),
    };
    cl_call_run(c, false, st, 4, daily_done);
}

static void readiness_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const cl_pb_readiness_req_t *m = (const cl_pb_readiness_req_t *)c->req->msg;
    const PGresult *sum = cl_call_rows(c, r, 0);
    const PGresult *bl = sum ? cl_call_rows(c, r, 1) : NULL;
    if (!bl) {
        cl_call_free(c);
        return;
    }
    if (PQntuples(sum) != 1 || cl_sql_text(sum, 0, RS(project_visible))[0] != 't') {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
        cl_call_free(c);
        return;
    }
    if (cl_sql_isnull(sum, 0, RS(building))) {
        /* The sentence lists the project's buildings, so the user can pick one. */
        char clip[128], names[600];
        const char *all = cl_sql_text(sum, 0, RS(building_names));
        cl_req_fail(c->req, CL_ENOTFOUND, "no such building \"%s\" in this project%s%s",
                    cl_utf8_clip(clip, sizeof clip, m->building),
                    *all ? ": its buildings are " : " (it has no buildings)",
                    cl_utf8_clip(names, sizeof names, all));
        cl_call_free(c);
        return;
    }
    Closeloop__Readiness rd = CLOSELOOP__READINESS__INIT;
    rd.project_id = m->project_id;
    rd.building = PQgetvalue(sum, 0, RS(building)); /* as stored: "1" found 1栋 */
    rd.items = (uint32_t)cl_sql_i64(sum, 0, RS(items));
    rd.closed = (uint32_t)cl_sql_i64(sum, 0, RS(closed));
    rd.nofix = (uint32_t)cl_sql_i64(sum, 0, RS(nofix));
    rd.ready = rd.items == rd.closed + rd.nofix;
    size_t n = (size_t)PQntuples(bl);
    pb_ticket_t *ts = calloc(n + 1, sizeof *ts);
    pb_ticket_t **tp = calloc(n + 1, sizeof *tp);
    if (!ts || !tp) {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
    } else {
        /* As many of the oldest blockers as fit in one frame; the counts tell the rest. */
        size_t budget = cl_req_config(c->req)->max_frame - REPORT_FRAME_SLACK;
        size_t bytes = protobuf_c_message_get_packed_size(&rd.base), used = 0;
        for (size_t i = 0; i < n; i++) {
            cl_ticket_row_fill(&ts[used], bl, (int)i, 0);
            size_t size = protobuf_c_message_get_packed_size(&ts[used].base) + 6;
            if (bytes + size > budget) break;
            bytes += size;
            tp[used] = &ts[used];
            used++;
        }
        rd.n_blockers = used;
        rd.blockers = tp;
        cl_req_reply(c->req, CL_MSG_READINESS, &rd.base);
    }
    free(ts);
    free(tp);
    cl_call_free(c);
}

void cl_report_readiness(cl_req_t *req) {
    const cl_pb_readiness_req_t *m = (const cl_pb_readiness_req_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "building", m->building, true, CL_LIM_BUILDING_CHARS))
        return;
    char project[24];
    cl_call_t *c = report_call(req, m->project_id, project);
    if (!c) return; /* answered */
    cl_call_stmt_t st[] = {
        CL_STMT(report_ready_summary, CL_CALL_SCOPE(c), project, m->building),
        CL_STMT(report_ready_blockers, CL_CALL_SCOPE(c), project, m->building),
    };
    cl_call_run(c, false, st, 2, readiness_done);
}
