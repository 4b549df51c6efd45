/* warranty.c - owners' warranty reports (docs/WARRANTY.md): take in (add), list, show,
 * respond, the hand-over to a third-party repairer, and the ladder's timer that climbs an
 * unanswered report from the property's desk to the company's customer relations and on
 * to the 400 hotline as a complaint.
 *
 * add is two batches, like complaint add: the first reads the context (the project in
 * scope, the trade, the ticket id from the idempotency key, now, the property budget and
 * the company calendar); the callback computes the response due in C (common/bizcal.c) and
 * runs the second, cl_warranty_add (warranty.sql), which creates the round, record, item,
 * ticket and report in one transaction. Then a read-only batch shows the report.
 *
 * Loop thread only. A warranty_call_t (a cl_call_t first) lives from the request to its
 * answer; each db callback frees it or hands it to the next batch. The ladder owns its
 * timer and the tick in flight (see warranty.h). */
#include "warranty.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "bizcal.h"
#include "calendar.h"
#include "complaint_rules.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "sqlutil.h"
#include "ticker.h"

#define HOUR_S      3600
#define UUID_CHARS  36
#define OVERDUE_MAX 50 /* warranty_overdue's LIMIT */

typedef struct warranty_call {
    cl_call_t call;              /* first: cl_call_free frees the whole struct */
    char ticket[UUID_CHARS + 1]; /* the report, once known */
    bool created;                /* add made the report (false: its key had already) */
} warranty_call_t;

/* The time at col in ms, 0 for NULL. */
static int64_t col_i64(const PGresult *res, int row, int col) {
    return cl_sql_isnull(res, row, col) ? 0 : cl_sql_i64(res, row, col);
}

/* "2026-10-09 13:30" in China time for Unix seconds t. */
static void cn_time(int64_t t, char *buf, size_t len) {
    time_t x = (time_t)(t + CL_CALENDAR_UTC_OFFSET_S);
    struct tm tm;
    buf[0] = '\0';
    if (gmtime_r(&x, &tm)) strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* ------------------------------------------------------------------ records */

#define WR(col) CL_COL(warranty_rows, col)

static void report_from(Closeloop__WarrantyReport *x, const PGresult *res, int row) {
    closeloop__warranty_report__init(x);
    x->ticket_id = PQgetvalue(res, row, WR(ticket_id));
    x->ticket_number = cl_sql_i64(res, row, WR(number));
    x->project_id = cl_sql_i64(res, row, WR(project_id));
    x->project = PQgetvalue(res, row, WR(project));
    x->unit_id = cl_sql_i64(res, row, WR(unit_id));
    x->unit = PQgetvalue(res, row, WR(unit));
    x->owner_name = PQgetvalue(res, row, WR(owner_name));
    x->owner_phone = PQgetvalue(res, row, WR(owner_phone));
    x->category = PQgetvalue(res, row, WR(category));
    x->location = PQgetvalue(res, row, WR(location));
    x->description = PQgetvalue(res, row, WR(description));
    x->level = cl_warranty_level_parse(cl_sql_text(res, row, WR(level)));
    x->reported_at_ms = col_i64(res, row, WR(reported_ms));
    x->response_due_at_ms = col_i64(res, row, WR(due_ms));
    x->responded_at_ms = col_i64(res, row, WR(responded_ms));
    x->overdue = !strcmp(cl_sql_text(res, row, WR(overdue)), "t");
    x->complaint_id = col_i64(res, row, WR(complaint_id));
    x->ticket_state = (Closeloop__TicketState)cl_domain_parse(
        CL_DOM_TICKET_STATE, cl_sql_text(res, row, WR(ticket_state)));
    x->contractor_id = col_i64(res, row, WR(contractor_id));
    x->contractor = PQgetvalue(res, row, WR(contractor));
    x->third_party_contractor_id = col_i64(res, row, WR(third_party_contractor_id));
    x->charged_contractor_id = col_i64(res, row, WR(charged_contractor_id));
    x->version = cl_sql_i64(res, row, WR(version));
    x->now_ms = cl_sql_i64(res, row, WR(now_s)) * 1000;
}

typedef struct report_slot {
    Closeloop__WarrantyReport rec;
} report_slot_t;

static ProtobufCMessage *report_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    report_from(&((report_slot_t *)slot)->rec, res, row);
    return &((report_slot_t *)slot)->rec.base;
}

static const cl_call_kind_t report_kind =
    CL_CALL_KIND(WARRANTY, warranty_page, report_slot_t, report_fill, NULL);

/* ------------------------------------------------------------------ show */

static void show_done(void *arg, const cl_db_result_t *r) {
    warranty_call_t *x = arg;
    cl_call_t *c = &x->call;
    const PGresult *row = cl_call_rows(c, r, 0), *evs = row ? cl_call_rows(c, r, 1) : NULL,
                   *lets = evs ? cl_call_rows(c, r, 2) : NULL,
                   *deds = lets ? cl_call_rows(c, r, 3) : NULL;
    if (!deds) goto out;
    if (PQntuples(row) != 1) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such warranty report");
        goto out;
    }
    Closeloop__WarrantyReport rep;
    report_from(&rep, row, 0);
    size_t ne = (size_t)PQntuples(evs), nl = (size_t)PQntuples(lets), nd = (size_t)PQntuples(deds);
    Closeloop__WarrantyEvent *es = calloc(ne + 1, sizeof *es);
    Closeloop__WarrantyEvent **ep = calloc(ne + 1, sizeof *ep);
    Closeloop__WarrantyLetter *ls = calloc(nl + 1, sizeof *ls);
    Closeloop__WarrantyLetter **lp = calloc(nl + 1, sizeof *lp);
    Closeloop__WarrantyDeduction *ds = calloc(nd + 1, sizeof *ds);
    Closeloop__WarrantyDeduction **dp = calloc(nd + 1, sizeof *dp);
    if (!es || !ep || !ls || !lp || !ds || !dp) {
        cl_req_fail(c->req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
        goto free_all;
    }
#define WE(col) CL_COL(warranty_event_rows, col)
    for (size_t i = 0; i < ne; i++) {
        int k = (int)i;
        closeloop__warranty_event__init(&es[i]);
        es[i].at_ms = cl_sql_i64(evs, k, WE(at_ms));
        es[i].actor = PQgetvalue(evs, k, WE(actor));
        es[i].source = PQgetvalue(evs, k, WE(source));
        es[i].action = PQgetvalue(evs, k, WE(action));
        es[i].detail = PQgetvalue(evs, k, WE(detail));
        ep[i] = &es[i];
    }
#undef WE
    for (size_t i = 0; i < nl; i++) {
        cl_warranty_letter_from(&ls[i], lets, (int)i);
        lp[i] = &ls[i];
    }
    for (size_t i = 0; i < nd; i++) {
        cl_warranty_deduction_from(&ds[i], deds, (int)i);
        dp[i] = &ds[i];
    }
    rep.n_events = ne;
    rep.events = ep;
    rep.n_letters = nl;
    rep.letters = lp;
    rep.n_deductions = nd;
    rep.deductions = dp;
    rep.created = x->created;
    cl_req_reply(c->req, CL_MSG_WARRANTY, &rep.base);
free_all:
    free(es);
    free(ep);
    free(ls);
    free(lp);
    free(ds);
    free(dp);
out:
    cl_call_free(c);
}

/* Runs the show batch of report x->ticket; its callback answers and frees. */
static void show_run(warranty_call_t *x) {
    cl_call_t *c = &x->call;
    const char *sees = cl_sql_bool_param(cl_authz_sees_owner_data((cl_role_t)c->session.role));
    const cl_call_stmt_t st[] = {
        CL_STMT(warranty_rows, CL_CALL_SCOPE(c), x->ticket, NULL, NULL, "false", sees),
        CL_STMT(warranty_event_rows, x->ticket),
        CL_STMT(warranty_letter_rows, CL_CALL_SCOPE(c), NULL, NULL, x->ticket),
        CL_STMT(warranty_deduction_rows, CL_CALL_SCOPE(c), NULL, NULL, NULL, x->ticket),
    };
    cl_call_run(c, false, st, 4, show_done);
}

/* The ticket id of a request into x->ticket; false after failing the request. */
CL_MUSTCHECK static bool need_ticket(cl_req_t *req, const char *id) {
    if (!cl_uuid_valid(id)) {
        cl_req_fail(req, CL_EINVAL, "ticket_id must be a ticket's uuid");
        return false;
    }
    return true;
}

void cl_warranty_show(cl_req_t *req) {
    const Closeloop__WarrantyShowRequest *m = (const Closeloop__WarrantyShowRequest *)req->msg;
    if (!need_ticket(req, m->ticket_id)) return;
    warranty_call_t *x = cl_call_new(req, sizeof *x);
    if (!x) return; /* answered */
    snprintf(x->ticket, sizeof x->ticket, "%s", m->ticket_id);
    show_run(x);
}

void cl_warranty_list(cl_req_t *req) {
    const Closeloop__WarrantyListRequest *m = (const Closeloop__WarrantyListRequest *)req->msg;
    if (m->level && !cl_warranty_level_name(m->level)) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "level", CL_DOM_WARRANTY_LEVEL));
        return;
    }
    cl_call_t *c = cl_call_list_new(req, &report_kind, NULL);
    if (!c) return; /* answered */
    char project[24];
    const char *sees = cl_sql_bool_param(cl_authz_sees_owner_data((cl_role_t)c->session.role));
    const cl_call_stmt_t st = CL_STMT(
        warranty_rows, CL_CALL_SCOPE(c), NULL, cl_sql_id_param(project, m->project_id),
        m->level ? cl_warranty_level_name(m->level) : NULL, cl_sql_bool_param(m->overdue), sees);
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

/* ------------------------------------------------------------------ add */

/* The company calendar from the hours and days results; false after failing the request. */
CL_MUSTCHECK static bool calendar_of(cl_call_t *c, cl_calendar_t *cal, const PGresult *hours,
                                     const PGresult *days) {
    if (cl_calendar_from_rows(cal, hours, CL_COL(complaint_cal_hours, start_min),
                              CL_COL(complaint_cal_hours, end_min), days,
                              CL_COL(complaint_cal_days, day),
                              CL_COL(complaint_cal_days, kind)) == CL_OK)
        return true;
    cl_req_fail(c->req, CL_EINTERNAL, "the company's business calendar does not hold together");
    return false;
}

static void add_done(void *arg, const cl_db_result_t *r) {
    warranty_call_t *x = arg;
    const PGresult *res = cl_call_rows(&x->call, r, 0);
    if (!res) {
        cl_call_free(&x->call);
        return;
    }
    x->created = !strcmp(cl_sql_text(res, 0, CL_COL(warranty_add, created)), "t");
    show_run(x);
}

static void add_ctx_done(void *arg, const cl_db_result_t *r) {
    warranty_call_t *x = arg;
    cl_call_t *c = &x->call;
    const Closeloop__WarrantyAdd *m = (const Closeloop__WarrantyAdd *)c->req->msg;
    const PGresult *ctx = cl_call_rows(c, r, 0), *hours = ctx ? cl_call_rows(c, r, 1) : NULL,
                   *days = hours ? cl_call_rows(c, r, 2) : NULL;
    if (!days) goto fail;
#define CN(col) CL_COL(warranty_ctx_new, col)
    if (PQntuples(ctx) != 1 || cl_sql_isnull(ctx, 0, CN(project_id))) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
        goto fail;
    }
    if (cl_sql_isnull(ctx, 0, CN(trade))) {
        cl_req_fail(c->req, CL_EINVAL,
                    "unknown category '%s': give a trade's code, its Chinese name or the "
                    "project's name for it",
                    m->category);
        goto fail;
    }
    cl_calendar_t cal;
    if (!calendar_of(c, &cal, hours, days)) goto fail;
    int64_t now = cl_sql_i64(ctx, 0, CN(now_s));
    int64_t budget = cl_sql_i64(ctx, 0, CN(property_hours)) * HOUR_S;
    int64_t due = cl_bizcal_add(&cal.cal, now, budget);
    cl_calendar_free(&cal);
    if (due < 0) {
        cl_req_fail(c->req, CL_EINTERNAL, "the company's calendar has no working time ahead");
        goto fail;
    }
    char when[40], detail[200];
    cn_time(due, when, sizeof when);
    snprintf(detail, sizeof detail, "物业客服响应时限%" PRId64 "工作小时，至%s", budget / HOUR_S,
             when);
    snprintf(x->ticket, sizeof x->ticket, "%s", cl_sql_text(ctx, 0, CN(item_id)));
    const char *trade = cl_sql_text(ctx, 0, CN(trade));
#undef CN
    const char *severity =
        cl_severity_name(m->severity ? m->severity : CLOSELOOP__SEVERITY__SEVERITY_MAJOR);
    char b[6][24];
    const cl_call_stmt_t st =
        CL_STMT(warranty_add, x->ticket, cl_sql_int_param(b[0], m->project_id),
                cl_sql_int_param(b[1], m->unit_id), m->owner_name, m->owner_phone, m->location,
                trade, m->description, severity, cl_sql_id_param(b[2], m->contractor_id),
                cl_sql_int_param(b[3], now), cl_sql_int_param(b[4], due),
                cl_sql_int_param(b[5], c->session.user_id), c->session.username, detail);
    cl_call_run(c, true, &st, 1, add_done);
    return;
fail:
    cl_call_free(c);
}

void cl_warranty_add(cl_req_t *req) {
    const Closeloop__WarrantyAdd *m = (const Closeloop__WarrantyAdd *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_id(req, "unit_id", m->unit_id) ||
        !cl_req_need_text(req, "owner_name", m->owner_name, true, CL_LIM_OWNER_NAME_CHARS) ||
        !cl_req_need_text(req, "owner_phone", m->owner_phone, false, CL_LIM_PHONE_CHARS) ||
        !cl_req_need_text(req, "category", m->category, true, CL_LIM_TRADE_ALIAS_CHARS) ||
        !cl_req_need_text(req, "location", m->location, true, CL_LIM_LOCATION_CHARS) ||
        !cl_req_need_text(req, "description", m->description, true, CL_LIM_DESCRIPTION_CHARS) ||
        !cl_req_need_text(req, "idempotency_key", m->idempotency_key, false,
                          CL_LIM_REQUEST_KEY_CHARS))
        return;
    if (m->severity && !cl_severity_name(m->severity)) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "severity", CL_DOM_SEVERITY));
        return;
    }
    if (m->contractor_id < 0) {
        cl_req_fail(req, CL_EINVAL, "contractor_id must be a contractor's id");
        return;
    }
    warranty_call_t *x = cl_call_new(req, sizeof *x);
    if (!x) return; /* answered */
    cl_call_t *c = &x->call;
    char project[24];
    cl_sql_int_param(project, m->project_id);
    const cl_call_stmt_t st[] = {
        CL_STMT(warranty_ctx_new, CL_CALL_SCOPE(c), project, m->category, m->idempotency_key),
        CL_STMT(complaint_cal_hours, project, NULL),
        CL_STMT(complaint_cal_days, project, NULL),
    };
    cl_call_run(c, false, st, 3, add_ctx_done);
}

/* ------------------------------------------------------------------ respond, third party */

static void respond_done(void *arg, const cl_db_result_t *r) {
    warranty_call_t *x = arg;
    const PGresult *res = cl_call_rows(&x->call, r, 0);
    if (!res) {
        cl_call_free(&x->call);
        return;
    }
    if (PQntuples(res) != 1 || strcmp(cl_sql_text(res, 0, CL_COL(warranty_respond, found)), "t")) {
        cl_req_fail(x->call.req, CL_ENOTFOUND, "no such warranty report");
        cl_call_free(&x->call);
        return;
    }
    show_run(x);
}

static void third_party_done(void *arg, const cl_db_result_t *r) {
    warranty_call_t *x = arg;
    const PGresult *res = cl_call_rows(&x->call, r, 0);
    if (!res) {
        cl_call_free(&x->call);
        return;
    }
    show_run(x);
}

void cl_warranty_act(cl_req_t *req) {
    const Closeloop__WarrantyAct *m = (const Closeloop__WarrantyAct *)req->msg;
    if (!need_ticket(req, m->ticket_id)) return;
    bool third = m->action == CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_THIRD_PARTY;
    if (!third && m->action != CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_RESPOND) {
        cl_req_fail(req, CL_EINVAL, "a warranty report takes respond or third_party");
        return;
    }
    if (!cl_req_need_text(req, "note", m->note, false, CL_LIM_WARRANTY_TEXT_CHARS)) return;
    warranty_call_t *x = cl_call_new(req, sizeof *x);
    if (!x) return; /* answered */
    cl_call_t *c = &x->call;
    cl_role_t role = (cl_role_t)c->session.role;
    snprintf(x->ticket, sizeof x->ticket, "%s", m->ticket_id);
    char b[3][24];
    if (!third) {
        /* The property's desk, the company's customer relations and warranty office (and
         * HQ's admin) answer owners; the hotline takes reports in but does not respond. */
        if (role == CL_ROLE_HOTLINE) {
            cl_req_fail(req, CL_EFORBIDDEN,
                        "the hotline does not respond to warranty reports: the property, "
                        "customer relations or the warranty office does");
            cl_call_free(c);
            return;
        }
        const cl_call_stmt_t st = CL_STMT(warranty_respond, CL_CALL_SCOPE(c), x->ticket,
                                          cl_sql_int_param(b[0], c->session.user_id), m->note);
        cl_call_run(c, true, &st, 1, respond_done);
        return;
    }
    if (cl_authz_check(true, role, CL_OP_WARRANTY_OFFICE) != CL_OK) {
        cl_req_fail(req, CL_EFORBIDDEN, "only the warranty office hands a ticket to a third party");
        cl_call_free(c);
        return;
    }
    if (m->repairer_id <= 0) {
        cl_req_fail(req, CL_EINVAL, "third_party names the repairer (a contractor)");
        cl_call_free(c);
        return;
    }
    if (m->cost_cents <= 0 || m->cost_cents > CL_LIM_DEDUCTION_MAX_CENTS) {
        cl_req_fail(req, CL_EINVAL, "the cost must be more than 0 and at most 10000000.00");
        cl_call_free(c);
        return;
    }
    const cl_call_stmt_t st =
        CL_STMT(warranty_third_party, CL_CALL_SCOPE(c), x->ticket,
                cl_sql_int_param(b[0], m->repairer_id), cl_sql_int_param(b[1], m->cost_cents),
                m->note, cl_sql_int_param(b[2], c->session.user_id), c->session.username);
    cl_call_run(c, true, &st, 1, third_party_done);
}

/* ------------------------------------------------------------------ the ladder */

/* One overdue report, copied from warranty_overdue: what its climb needs. */
typedef struct overdue {
    char ticket[UUID_CHARS + 1];
    char version[24];
    bool developer; /* at level developer: the next climb is to the hotline */
    int64_t project, now, developer_hours, same_issue, targets[4];
} overdue_t;

/* A ticker (ticker.h): a tick reads the overdue reports, then climbs them one at a time,
 * each in its own two batches (its company's calendar, then its climb: one transaction
 * per climb, so a report whose climb fails never holds back the others); at most one
 * batch in flight. */
struct cl_warranty_ladder {
    cl_ticker_t ticker; /* first */
    overdue_t rows[OVERDUE_MAX];
    int n;         /* rows of this tick */
    int next;      /* the row being climbed */
    int developer; /* climbs made this tick, for the log */
    int hotline;
};

static void climb_next(cl_warranty_ladder_t *l);

/* The climb of row l->next has answered: count it, then the next row. */
static void on_climbed(void *arg, const cl_db_result_t *r) {
    cl_warranty_ladder_t *l = arg;
    if (!cl_ticker_landed(&l->ticker)) return;
    const overdue_t *o = &l->rows[l->next];
    if (r->status != CL_OK || r->count != 1 || PQntuples(r->res[0]) != 1) {
        cl_log_warn("warranty_climb_failed", "ticket=%s error=\"%s\"", o->ticket, r->message);
    } else if (!o->developer) {
        l->developer += atoi(PQgetvalue(r->res[0], 0, CL_COL(warranty_climb_developer, climbed)));
    } else {
        l->hotline += !PQgetisnull(r->res[0], 0, CL_COL(warranty_climb_hotline, complaint_id));
    }
    l->next++;
    climb_next(l);
}

/* Adds report o's climb, computed over calendar cal, to batch b. */
static int climb_add(cl_db_batch_t *b, const overdue_t *o, const cl_bizcal_t *cal) {
    char p[8][24], detail[400] = "", when[40];
    if (!o->developer) {
        int64_t due = cl_bizcal_add(cal, o->now, o->developer_hours * HOUR_S);
        if (due < 0) return CL_EINVAL;
        cn_time(due, when, sizeof when);
        snprintf(detail, sizeof detail,
                 "物业客服未在时限内响应，升级到地产客服：响应时限%" PRId64 "工作小时，至%s",
                 o->developer_hours, when);
        return cl_db_batch_add(b, CL_SQL(warranty_climb_developer),
                               CL_PARAMS(warranty_climb_developer, o->ticket, o->version,
                                         cl_sql_int_param(p[0], due), detail),
                               NULL);
    }
    /* The complaint `complaint add` would make of it: hotline400, one owner, no flags. */
    cl_complaint_facts_t f = {.complainants = 1, .same_issue = o->same_issue};
    char reason[400];
    cl_complaint_class_t cls = cl_complaint_classify(&f, reason, sizeof reason);
    cl_cclock_t fr = {.budget = CL_CCLOCK_FIRST_REPLY_S, .running = o->now},
                cl = {.budget = o->targets[cls - CL_CCLASS_ORDINARY] * HOUR_S, .running = o->now};
    cl_cclock_plan(&fr, cal, o->now);
    cl_cclock_plan(&cl, cal, o->now);
    cl_cclock_describe(detail, sizeof detail, "首次答复", &fr, cal);
    cl_cclock_describe(detail, sizeof detail, "关闭", &cl, cal);
    return cl_db_batch_add(
        b, CL_SQL(warranty_climb_hotline),
        CL_PARAMS(warranty_climb_hotline, o->ticket, o->version, cl_sql_int_param(p[0], o->now),
                  cl_complaint_class_name((int)cls), reason, cl_sql_int_param(p[1], fr.budget),
                  cl_sql_id_param(p[2], fr.due), cl_sql_id_param(p[3], fr.warn),
                  cl_sql_int_param(p[4], cl.budget), cl_sql_id_param(p[5], cl.due),
                  cl_sql_id_param(p[6], cl.warn), detail),
        NULL);
}

/* Row l->next's calendar is in (hours, days): its climb, in a batch of its own. */
static void on_calendar(void *arg, const cl_db_result_t *r) {
    cl_warranty_ladder_t *l = arg;
    if (!cl_ticker_landed(&l->ticker)) return;
    const overdue_t *o = &l->rows[l->next];
    cl_calendar_t cal;
    cl_db_batch_t *b = NULL;
    int rc = CL_EINVAL;
    if (r->status == CL_OK && r->count == 2 &&
        cl_calendar_from_rows(&cal, r->res[0], CL_COL(complaint_cal_hours, start_min),
                              CL_COL(complaint_cal_hours, end_min), r->res[1],
                              CL_COL(complaint_cal_days, day),
                              CL_COL(complaint_cal_days, kind)) == CL_OK) {
        rc = (b = cl_db_batch_new(l->ticker.db)) ? climb_add(b, o, &cal.cal) : CL_ENOMEM;
        cl_calendar_free(&cal);
    }
    if (rc == CL_OK) {
        cl_ticker_run(&l->ticker, b, on_climbed);
        return;
    }
    cl_db_batch_free(b);
    cl_log_warn("warranty_ladder_climb", "ticket=%s rc=%d error=\"%s\"", o->ticket, rc,
                r->status == CL_OK ? "" : r->message);
    l->next++;
    climb_next(l);
}

/* Reads the calendar of row l->next, or ends the tick after the last row. */
static void climb_next(cl_warranty_ladder_t *l) {
    if (l->next >= l->n) {
        if (l->developer || l->hotline)
            cl_log_info("warranty_climbed", "developer=%d hotline=%d", l->developer, l->hotline);
        return;
    }
    char project[24];
    snprintf(project, sizeof project, "%" PRId64, l->rows[l->next].project);
    cl_db_batch_t *b = cl_db_batch_new(l->ticker.db);
    if (!b ||
        cl_db_batch_add(b, CL_SQL(complaint_cal_hours),
                        CL_PARAMS(complaint_cal_hours, project, NULL), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(complaint_cal_days), CL_PARAMS(complaint_cal_days, project, NULL),
                        NULL) != CL_OK) {
        cl_db_batch_free(b);
        cl_log_warn("warranty_ladder_failed", "error=\"out of memory\"");
        return; /* the next tick tries again */
    }
    cl_ticker_run(&l->ticker, b, on_calendar);
}

#define OV(col) CL_COL(warranty_overdue, col)

static void on_overdue(void *arg, const cl_db_result_t *r) {
    cl_warranty_ladder_t *l = arg;
    if (!cl_ticker_landed(&l->ticker)) return;
    if (r->status != CL_OK || r->count != 1) {
        cl_log_warn("warranty_ladder_failed", "error=\"%s\"", r->message);
        return; /* the next tick tries again */
    }
    const PGresult *res = r->res[0];
    int n = PQntuples(res);
    if (n > OVERDUE_MAX) n = OVERDUE_MAX;
    for (int i = 0; i < n; i++) {
        overdue_t *o = &l->rows[i];
        snprintf(o->ticket, sizeof o->ticket, "%s", cl_sql_text(res, i, OV(ticket_id)));
        snprintf(o->version, sizeof o->version, "%s", cl_sql_text(res, i, OV(version)));
        o->developer = !strcmp(cl_sql_text(res, i, OV(level)), "developer");
        o->project = cl_sql_i64(res, i, OV(project_id));
        o->now = cl_sql_i64(res, i, OV(now_s));
        o->developer_hours = cl_sql_i64(res, i, OV(developer_hours));
        o->same_issue = cl_sql_i64(res, i, OV(same_issue));
        o->targets[0] = cl_sql_i64(res, i, OV(t_ordinary));
        o->targets[1] = cl_sql_i64(res, i, OV(t_important));
        o->targets[2] = cl_sql_i64(res, i, OV(t_hot));
        o->targets[3] = cl_sql_i64(res, i, OV(t_major));
    }
    l->n = n;
    l->next = l->developer = l->hotline = 0;
    climb_next(l);
}
#undef OV

static void ladder_tick(cl_ticker_t *t) {
    cl_db_batch_t *b = cl_db_batch_new(t->db);
    if (!b || cl_db_batch_add(b, CL_SQL(warranty_overdue), NULL, NULL) != CL_OK) {
        if (b) cl_db_batch_free(b);
        cl_log_warn("warranty_ladder_failed", "error=\"out of memory\"");
        return;
    }
    cl_ticker_run(t, b, on_overdue);
}

cl_warranty_ladder_t *cl_warranty_ladder_start(uv_loop_t *loop, struct cl_db *db) {
    cl_warranty_ladder_t *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    cl_ticker_init(&l->ticker, loop, db, ladder_tick, NULL);
    uint64_t tick = cl_ticker_env_ms("CLOSELOOP_WARRANTY_TICK_MS", 60000);
    if (tick) cl_ticker_every(&l->ticker, tick, tick);
    return l;
}

void cl_warranty_ladder_stop(cl_warranty_ladder_t *l) {
    if (l) cl_ticker_stop(&l->ticker);
}
