/* complaint.c - owner complaints (docs/COMPLAINTS.md): take in, list, show, and the actions
 * reply, pause, resume, escalate, close, revisit, reopen, each re-evaluating the class
 * (common/complaint_rules.c) and recomputing both clocks over the company's business
 * calendar (server/calendar, common/bizcal.c).
 *
 * A write is two batches. The first reads the complaint's context: its facts and clocks,
 * "now" (cl_complaint_now(), which tests may simulate), and the company calendar. The
 * callback computes the class and the clocks in C and runs the second, which writes them
 * with a compare-and-set on the version read (complaint.sql: cl_complaint_add,
 * cl_complaint_apply) and records the event with the new dues, never silently. Then a
 * third, read-only batch shows the complaint as the reply.
 *
 * Loop thread only. A complaint_call_t (a cl_call_t first) lives from the request to its
 * answer; each db callback frees it or hands it to the next batch. */
#include "dispatch.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "bizcal.h"
#include "calendar.h"
#include "complaint.h"
#include "complaint_rules.h"
#include "domain.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "sqlutil.h"
#include "ticker.h"

#define HOUR_S 3600

typedef struct complaint_call {
    cl_call_t call; /* first: cl_call_free frees the whole struct */
    int64_t id;     /* the complaint, once known */
} complaint_call_t;

/* ------------------------------------------------------------------ records */

typedef struct complaint_slot {
    Closeloop__Complaint rec;
} complaint_slot_t;

#define CR(col) CL_COL(complaint_rows, col)

/* The time at col in ms, 0 for NULL. */
static int64_t col_ms(const PGresult *res, int row, int col) {
    return cl_sql_isnull(res, row, col) ? 0 : cl_sql_i64(res, row, col);
}

/* Complaint from a row of complaint_rows. */
static ProtobufCMessage *complaint_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                        int row) {
    (void)c;
    Closeloop__Complaint *x = &((complaint_slot_t *)slot)->rec;
    closeloop__complaint__init(x);
    x->id = cl_sql_i64(res, row, CR(id));
    x->project_id = cl_sql_i64(res, row, CR(project_id));
    x->project = PQgetvalue(res, row, CR(project));
    x->unit_id = col_ms(res, row, CR(unit_id));
    x->unit = PQgetvalue(res, row, CR(unit));
    x->owner_name = PQgetvalue(res, row, CR(owner_name));
    x->owner_phone = PQgetvalue(res, row, CR(owner_phone));
    x->channel = cl_complaint_channel_parse(cl_sql_text(res, row, CR(channel)));
    x->specialty = cl_specialty_parse(cl_sql_text(res, row, CR(specialty)));
    x->category = PQgetvalue(res, row, CR(category));
    x->description = PQgetvalue(res, row, CR(description));
    x->complainants = (uint32_t)cl_sql_i64(res, row, CR(complainants));
    x->legal = !strcmp(cl_sql_text(res, row, CR(legal)), "t");
    x->media = !strcmp(cl_sql_text(res, row, CR(media)), "t");
    x->legal_risk = !strcmp(cl_sql_text(res, row, CR(legal_risk)), "t");
    x->media_risk = !strcmp(cl_sql_text(res, row, CR(media_risk)), "t");
    x->outside_support = !strcmp(cl_sql_text(res, row, CR(outside_support)), "t");
    x->ticket_id = PQgetvalue(res, row, CR(ticket_id));
    x->defect_id = col_ms(res, row, CR(defect_id));
    x->case_id = col_ms(res, row, CR(case_id));
    x->class_ = cl_complaint_class_parse(cl_sql_text(res, row, CR(class)));
    x->class_reason = PQgetvalue(res, row, CR(class_reason));
    x->state = cl_complaint_state_parse(cl_sql_text(res, row, CR(state)));
    x->level = (uint32_t)cl_sql_i64(res, row, CR(level));
    x->owner_user_id = col_ms(res, row, CR(owner_user_id));
    x->owner_user = PQgetvalue(res, row, CR(owner_user));
    x->satisfaction = (uint32_t)col_ms(res, row, CR(satisfaction));
    x->reopened = (uint32_t)cl_sql_i64(res, row, CR(reopened));
    x->created_at_ms = col_ms(res, row, CR(created_ms));
    x->closed_at_ms = col_ms(res, row, CR(closed_ms));
    x->version = cl_sql_i64(res, row, CR(version));
    x->now_ms = cl_sql_i64(res, row, CR(now_s)) * 1000;
    return &x->base;
}

static const cl_call_kind_t complaint_kind =
    CL_CALL_KIND(COMPLAINT, complaint_page, complaint_slot_t, complaint_fill, NULL);

/* ------------------------------------------------------------------ calendar */

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

/* ------------------------------------------------------------------ show */

static void show_done(void *arg, const cl_db_result_t *r) {
    complaint_call_t *x = arg;
    cl_call_t *c = &x->call;
    const PGresult *row = cl_call_rows(c, r, 0), *clocks = row ? cl_call_rows(c, r, 1) : NULL,
                   *evs = clocks ? cl_call_rows(c, r, 2) : NULL,
                   *hours = evs ? cl_call_rows(c, r, 3) : NULL,
                   *days = hours ? cl_call_rows(c, r, 4) : NULL;
    if (!days) goto out;
    if (PQntuples(row) != 1) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such complaint");
        goto out;
    }
    cl_calendar_t cal;
    if (!calendar_of(c, &cal, hours, days)) goto out;
    complaint_slot_t s;
    complaint_fill(&s, c, row, 0);
    int64_t now = s.rec.now_ms / 1000;
    size_t nk = (size_t)PQntuples(clocks), ne = (size_t)PQntuples(evs);
    Closeloop__ComplaintClock *ks = calloc(nk + 1, sizeof *ks);
    Closeloop__ComplaintClock **kp = calloc(nk + 1, sizeof *kp);
    Closeloop__ComplaintEvent *es = calloc(ne + 1, sizeof *es);
    Closeloop__ComplaintEvent **ep = calloc(ne + 1, sizeof *ep);
    if (!ks || !kp || !es || !ep) {
        cl_req_fail(c->req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
        goto free_all;
    }
#define CK(col) CL_COL(complaint_clock_rows, col)
    for (size_t i = 0; i < nk; i++) {
        int k = (int)i;
        Closeloop__ComplaintClock *o = &ks[i];
        closeloop__complaint_clock__init(o);
        o->kind = PQgetvalue(clocks, k, CK(kind));
        o->budget_s = cl_sql_i64(clocks, k, CK(budget_s));
        o->used_s = cl_sql_i64(clocks, k, CK(used_s));
        o->running = !cl_sql_isnull(clocks, k, CK(running_s));
        if (o->running)
            o->used_s += cl_bizcal_between(&cal.cal, cl_sql_i64(clocks, k, CK(running_s)), now);
        o->due_at_ms = col_ms(clocks, k, CK(due_s)) * 1000;
        o->warn_at_ms = col_ms(clocks, k, CK(warn_s)) * 1000;
        o->warned_at_ms = col_ms(clocks, k, CK(warned_s)) * 1000;
        o->breached_at_ms = col_ms(clocks, k, CK(breached_s)) * 1000;
        o->stopped_at_ms = col_ms(clocks, k, CK(stopped_s)) * 1000;
        kp[i] = o;
    }
#undef CK
#define CE(col) CL_COL(complaint_event_rows, col)
    for (size_t i = 0; i < ne; i++) {
        int k = (int)i;
        Closeloop__ComplaintEvent *e = &es[i];
        closeloop__complaint_event__init(e);
        e->at_ms = cl_sql_i64(evs, k, CE(at_ms));
        e->actor = PQgetvalue(evs, k, CE(actor));
        e->action = PQgetvalue(evs, k, CE(action));
        e->detail = PQgetvalue(evs, k, CE(detail));
        e->note = PQgetvalue(evs, k, CE(note));
        ep[i] = e;
    }
#undef CE
    s.rec.n_clocks = nk;
    s.rec.clocks = kp;
    s.rec.n_events = ne;
    s.rec.events = ep;
    cl_req_reply(c->req, CL_MSG_COMPLAINT, &s.rec.base);
free_all:
    free(ks);
    free(kp);
    free(es);
    free(ep);
    cl_calendar_free(&cal);
out:
    cl_call_free(c);
}

/* Runs the show batch of complaint x->id; its callback answers and frees. */
static void show_run(complaint_call_t *x) {
    cl_call_t *c = &x->call;
    char id[24];
    const char *sees = cl_sql_bool_param(cl_authz_sees_owner_data((cl_role_t)c->session.role));
    cl_sql_int_param(id, x->id);
    const cl_call_stmt_t st[] = {
        CL_STMT(complaint_rows, CL_CALL_SCOPE(c), id, NULL, NULL, NULL, sees),
        CL_STMT(complaint_clock_rows, id),
        CL_STMT(complaint_event_rows, id),
        CL_STMT(complaint_cal_hours, NULL, id),
        CL_STMT(complaint_cal_days, NULL, id),
    };
    cl_call_run(c, false, st, 5, show_done);
}

void cl_complaint_show(cl_req_t *req) {
    const Closeloop__ComplaintShowRequest *m = (const Closeloop__ComplaintShowRequest *)req->msg;
    if (!cl_req_need_id(req, "id", m->id)) return;
    complaint_call_t *x = cl_call_new(req, sizeof *x);
    if (!x) return; /* answered */
    x->id = m->id;
    show_run(x);
}

void cl_complaint_list(cl_req_t *req) {
    const Closeloop__ComplaintListRequest *m = (const Closeloop__ComplaintListRequest *)req->msg;
    if (m->state && !cl_complaint_state_name(m->state)) {
        cl_req_fail(req, CL_EINVAL, "unknown complaint state %d", (int)m->state);
        return;
    }
    if (m->class_ && !cl_complaint_class_name(m->class_)) {
        cl_req_fail(req, CL_EINVAL, "unknown complaint class %d", (int)m->class_);
        return;
    }
    cl_call_t *c = cl_call_list_new(req, &complaint_kind, NULL);
    if (!c) return; /* answered */
    char project[24];
    const char *sees = cl_sql_bool_param(cl_authz_sees_owner_data((cl_role_t)c->session.role));
    const cl_call_stmt_t st =
        CL_STMT(complaint_rows, CL_CALL_SCOPE(c), NULL, cl_sql_id_param(project, m->project_id),
                m->state ? cl_complaint_state_name(m->state) : NULL,
                m->class_ ? cl_complaint_class_name(m->class_) : NULL, sees);
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

/* ------------------------------------------------------------------ add */

/* Closure budget in seconds of class cls from the targets of a context row. */
static int64_t closure_budget(const PGresult *res, int tcol0, cl_complaint_class_t cls) {
    /* t_ordinary, t_important, t_hot, t_major are consecutive columns */
    return cl_sql_i64(res, 0, tcol0 + (int)cls - CL_CCLASS_ORDINARY) * HOUR_S;
}

static void add_done(void *arg, const cl_db_result_t *r) {
    complaint_call_t *x = arg;
    const PGresult *res = cl_call_rows(&x->call, r, 0);
    if (!res) {
        cl_call_free(&x->call);
        return;
    }
    x->id = cl_sql_i64(res, 0, CL_COL(complaint_add, id));
    show_run(x);
}

/* A clock instant or count as a statement parameter: NULL for 0. */
#define TP(buf, v) cl_sql_id_param((buf), (v))

static void add_ctx_done(void *arg, const cl_db_result_t *r) {
    complaint_call_t *x = arg;
    cl_call_t *c = &x->call;
    const Closeloop__ComplaintAdd *m = (const Closeloop__ComplaintAdd *)c->req->msg;
    const PGresult *ctx = cl_call_rows(c, r, 0), *hours = ctx ? cl_call_rows(c, r, 1) : NULL,
                   *days = hours ? cl_call_rows(c, r, 2) : NULL;
    if (!days) goto fail;
#define CN(col) CL_COL(complaint_ctx_new, col)
    if (PQntuples(ctx) != 1 || cl_sql_isnull(ctx, 0, CN(project_id))) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
        goto fail;
    }
    cl_calendar_t cal;
    if (!calendar_of(c, &cal, hours, days)) goto fail;
    int64_t now = cl_sql_i64(ctx, 0, CN(now_s));
    cl_complaint_facts_t f = {
        .legal = m->legal,
        .media = m->media,
        .legal_risk = m->legal_risk,
        .media_risk = m->media_risk,
        .outside_support = m->outside_support,
        .complainants = m->complainants ? m->complainants : 1,
        .same_issue = cl_sql_i64(ctx, 0, CN(same_issue)),
    };
    char reason[400], detail[400] = "";
    cl_complaint_class_t cls = cl_complaint_classify(&f, reason, sizeof reason);
    bool online = m->channel == CLOSELOOP__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_ONLINE;
    cl_cclock_t fr = {.budget = online ? CL_CCLOCK_FIRST_REPLY_ONLINE_S : CL_CCLOCK_FIRST_REPLY_S,
                      .running = now},
                cl = {.budget = closure_budget(ctx, CN(t_ordinary), cls), .running = now};
#undef CN
    cl_cclock_plan(&fr, &cal.cal, now);
    cl_cclock_plan(&cl, &cal.cal, now);
    cl_cclock_describe(detail, sizeof detail, "首次答复", &fr, &cal.cal);
    cl_cclock_describe(detail, sizeof detail, "关闭", &cl, &cal.cal);
    cl_calendar_free(&cal);
    char b[13][24];
    const cl_call_stmt_t st =
        CL_STMT(complaint_add, cl_sql_int_param(b[0], m->project_id),
                cl_sql_id_param(b[1], m->unit_id), m->owner_name, m->owner_phone,
                cl_complaint_channel_name(m->channel), cl_specialty_name(m->specialty), m->category,
                m->description, cl_sql_int_param(b[2], f.complainants), cl_sql_bool_param(m->legal),
                cl_sql_bool_param(m->media), cl_sql_bool_param(m->legal_risk),
                cl_sql_bool_param(m->media_risk), cl_sql_bool_param(m->outside_support),
                *m->ticket_id ? m->ticket_id : NULL, cl_sql_id_param(b[3], m->defect_id),
                cl_sql_id_param(b[4], m->owner_user_id), cl_sql_int_param(b[5], c->session.user_id),
                cl_complaint_class_name((int)cls), reason, cl_sql_int_param(b[6], now),
                cl_sql_int_param(b[7], fr.budget), TP(b[8], fr.due), TP(b[9], fr.warn),
                cl_sql_int_param(b[10], cl.budget), TP(b[11], cl.due), TP(b[12], cl.warn), detail);
    cl_call_run(c, true, &st, 1, add_done);
    return;
fail:
    cl_call_free(c);
}

void cl_complaint_add(cl_req_t *req) {
    const Closeloop__ComplaintAdd *m = (const Closeloop__ComplaintAdd *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    if (!cl_complaint_channel_name(m->channel)) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "channel", CL_DOM_COMPLAINT_CHANNEL));
        return;
    }
    if (!cl_specialty_name(m->specialty)) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "specialty", CL_DOM_SPECIALTY));
        return;
    }
    if (!cl_req_need_text(req, "owner_name", m->owner_name, true, CL_LIM_OWNER_NAME_CHARS) ||
        !cl_req_need_text(req, "owner_phone", m->owner_phone, false, CL_LIM_PHONE_CHARS) ||
        !cl_req_need_text(req, "description", m->description, true, CL_LIM_DESCRIPTION_CHARS))
        return;
    if (*m->category && !cl_req_need_trade(req, m->category)) return;
    if (*m->ticket_id && !cl_uuid_valid(m->ticket_id)) {
        cl_req_fail(req, CL_EINVAL, "ticket_id must be a ticket's uuid");
        return;
    }
    if (m->complainants > CL_LIM_COMPLAINANTS) {
        cl_req_fail(req, CL_EINVAL, "complainants must be between 1 and %d", CL_LIM_COMPLAINANTS);
        return;
    }
    if (m->unit_id < 0 || m->defect_id < 0 || m->owner_user_id < 0) {
        cl_req_fail(req, CL_EINVAL, "ids are positive");
        return;
    }
    complaint_call_t *x = cl_call_new(req, sizeof *x);
    if (!x) return; /* answered */
    cl_call_t *c = &x->call;
    char project[24], defect[24];
    const char *key = *m->owner_phone ? m->owner_phone : m->owner_name;
    cl_sql_int_param(project, m->project_id);
    const cl_call_stmt_t st[] = {
        CL_STMT(complaint_ctx_new, CL_CALL_SCOPE(c), project, cl_specialty_name(m->specialty),
                cl_sql_id_param(defect, m->defect_id), m->category, key),
        CL_STMT(complaint_cal_hours, project, NULL),
        CL_STMT(complaint_cal_days, project, NULL),
    };
    cl_call_run(c, false, st, 3, add_ctx_done);
}

/* ------------------------------------------------------------------ actions */

/* The complaint as the action leaves it. */
typedef struct act_state {
    const char *state;
    cl_complaint_class_t cls;
    int64_t level, owner, satisfaction, case_id, reopened, paused_s, paused_since, closed;
    bool reset_closure; /* the closure clock restarts: its warning and breach are cleared */
} act_state_t;

#define CX(col) CL_COL(complaint_ctx, col)

/* The clock of prefix fr_ or cl_ from the context row. */
static cl_cclock_t clock_of(const PGresult *res, int budget, int used, int running, int due,
                            int warn, int stopped) {
    return (cl_cclock_t){.budget = cl_sql_i64(res, 0, budget),
                         .used = cl_sql_i64(res, 0, used),
                         .running = col_ms(res, 0, running),
                         .due = col_ms(res, 0, due),
                         .warn = col_ms(res, 0, warn),
                         .stopped = col_ms(res, 0, stopped)};
}

static cl_complaint_class_t class_parse(const char *s) {
    int v = cl_complaint_class_parse(s);
    return v ? (cl_complaint_class_t)v : CL_CCLASS_ORDINARY;
}

/* Applies action m to the complaint of ctx at now: the new state in *a, the clocks moved.
 * False after failing the request (the action does not fit the complaint). */
CL_MUSTCHECK static bool act_apply(cl_call_t *c, const Closeloop__ComplaintAct *m,
                                   const PGresult *ctx, int64_t now, act_state_t *a,
                                   cl_cclock_t *fr, cl_cclock_t *cl) {
    const char *state = cl_sql_text(ctx, 0, CX(state));
    bool closed = !strcmp(state, "closed"), waiting = !strcmp(state, "waiting");
    *a = (act_state_t){
        .state = closed    ? "closed"
                 : waiting ? "waiting"
                           : "open",
        .cls = class_parse(cl_sql_text(ctx, 0, CX(class))),
        .level = cl_sql_i64(ctx, 0, CX(level)),
        .owner = col_ms(ctx, 0, CX(owner_user_id)),
        .satisfaction = col_ms(ctx, 0, CX(satisfaction)),
        .case_id = col_ms(ctx, 0, CX(case_id)),
        .reopened = cl_sql_i64(ctx, 0, CX(reopened)),
        .paused_s = cl_sql_i64(ctx, 0, CX(paused_s)),
        .paused_since = col_ms(ctx, 0, CX(paused_since_s)),
        .closed = col_ms(ctx, 0, CX(closed_s)),
    };
    const char *refuse = NULL;
    switch (m->action) {
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REPLY:
        if (closed)
            refuse = "a closed complaint takes no reply; reopen it first";
        else
            cl_cclock_stop(fr, now);
        break;
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_PAUSE:
        if (closed || waiting) {
            refuse = "only an open complaint can wait on the owner";
            break;
        }
        cl_cclock_pause(fr);
        cl_cclock_pause(cl);
        a->state = "waiting";
        a->paused_since = now;
        break;
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_RESUME:
        if (!waiting) {
            refuse = "the complaint is not waiting on the owner";
            break;
        }
        cl_cclock_resume(fr, now);
        cl_cclock_resume(cl, now);
        a->state = "open";
        a->paused_s += now - a->paused_since;
        a->paused_since = 0;
        break;
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ESCALATE:
        if (closed)
            refuse = "a closed complaint is not escalated; reopen it first";
        else if (a->level >= 3)
            refuse = "the complaint is at the top level (3) already";
        else if (m->owner_user_id <= 0)
            refuse = "escalate names the next level's owner (a user)";
        a->level++;
        a->owner = m->owner_user_id;
        break;
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_CLOSE:
        if (closed) {
            refuse = "the complaint is closed already";
            break;
        }
        if (m->case_id > 0) a->case_id = m->case_id;
        if (a->cls == CL_CCLASS_MAJOR && !a->case_id) {
            refuse = "a major complaint closes only with its case written up in the knowledge "
                     "base: give the case (--case ID)";
            break;
        }
        if (waiting) a->paused_s += now - a->paused_since;
        a->paused_since = 0;
        cl_cclock_stop(fr, now);
        cl_cclock_stop(cl, now);
        a->state = "closed";
        a->closed = now;
        break;
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REVISIT:
        if (!closed)
            refuse = "only a closed complaint is revisited";
        else if (m->satisfaction < 1 || m->satisfaction > 5)
            refuse = "satisfaction is scored 1 to 5";
        a->satisfaction = m->satisfaction;
        break;
    case CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REOPEN:
        if (!closed) {
            refuse = "only a closed complaint is reopened";
            break;
        }
        a->state = "open";
        a->reopened++;
        a->closed = 0;
        *cl = (cl_cclock_t){.budget = cl->budget, .running = now};
        a->reset_closure = true;
        break;
    default: refuse = "unknown complaint action";
    }
    if (refuse) cl_req_fail(c->req, CL_EINVAL, "%s", refuse);
    return refuse == NULL;
}

static void act_done(void *arg, const cl_db_result_t *r) {
    complaint_call_t *x = arg;
    const PGresult *res = cl_call_rows(&x->call, r, 0);
    if (!res) {
        cl_call_free(&x->call);
        return;
    }
    if (strcmp(cl_sql_text(res, 0, CL_COL(complaint_apply, applied)), "t") != 0) {
        cl_req_fail(x->call.req, CL_ECONFLICT, "complaint %" PRId64 " changed meanwhile; retry",
                    x->id);
        cl_call_free(&x->call);
        return;
    }
    show_run(x);
}

static void act_ctx_done(void *arg, const cl_db_result_t *r) {
    complaint_call_t *x = arg;
    cl_call_t *c = &x->call;
    const Closeloop__ComplaintAct *m = (const Closeloop__ComplaintAct *)c->req->msg;
    const PGresult *ctx = cl_call_rows(c, r, 0), *hours = ctx ? cl_call_rows(c, r, 1) : NULL,
                   *days = hours ? cl_call_rows(c, r, 2) : NULL;
    if (!days) goto fail;
    if (PQntuples(ctx) != 1) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such complaint");
        goto fail;
    }
    int64_t version = cl_sql_i64(ctx, 0, CX(version));
    if (m->version && m->version != version) {
        cl_req_fail(c->req, CL_ECONFLICT,
                    "complaint %" PRId64 " is at version %" PRId64 ", not %" PRId64
                    "; show it again",
                    x->id, version, m->version);
        goto fail;
    }
    cl_calendar_t cal;
    if (!calendar_of(c, &cal, hours, days)) goto fail;
    int64_t now = cl_sql_i64(ctx, 0, CX(now_s));
    cl_cclock_t fr = clock_of(ctx, CX(fr_budget), CX(fr_used), CX(fr_running), CX(fr_due),
                              CX(fr_warn), CX(fr_stopped)),
                cl = clock_of(ctx, CX(cl_budget), CX(cl_used), CX(cl_running), CX(cl_due),
                              CX(cl_warn), CX(cl_stopped));
    cl_cclock_tick(&fr, &cal.cal, now);
    cl_cclock_tick(&cl, &cal.cal, now);
    act_state_t a;
    if (!act_apply(c, m, ctx, now, &a, &fr, &cl)) {
        cl_calendar_free(&cal);
        goto fail;
    }
    /* The class by rule now; it never falls back. */
    int64_t end = a.closed ? a.closed : now;
    int64_t waiting = a.paused_since ? now - a.paused_since : 0;
    cl_complaint_facts_t f = {
        .legal = !strcmp(cl_sql_text(ctx, 0, CX(legal)), "t"),
        .media = !strcmp(cl_sql_text(ctx, 0, CX(media)), "t"),
        .legal_risk = !strcmp(cl_sql_text(ctx, 0, CX(legal_risk)), "t"),
        .media_risk = !strcmp(cl_sql_text(ctx, 0, CX(media_risk)), "t"),
        .outside_support = !strcmp(cl_sql_text(ctx, 0, CX(outside_support)), "t"),
        .reopened = a.reopened > 0,
        .complainants = cl_sql_i64(ctx, 0, CX(complainants)),
        .same_issue = cl_sql_i64(ctx, 0, CX(same_issue)),
        .fault_open_s = end - cl_sql_i64(ctx, 0, CX(created_s)) - a.paused_s - waiting,
    };
    char reason[400];
    cl_complaint_class_t cls = cl_complaint_classify(&f, reason, sizeof reason);
    if (cls > a.cls)
        a.cls = cls;
    else
        snprintf(reason, sizeof reason, "%s", cl_sql_text(ctx, 0, CX(class_reason)));
    /* The closure budget is the class's target, also after the timer raised the class. */
    if (!cl.stopped) cl.budget = closure_budget(ctx, CX(t_ordinary), a.cls);
    cl_cclock_plan(&fr, &cal.cal, now);
    cl_cclock_plan(&cl, &cal.cal, now);
    char detail[400] = "";
    cl_cclock_describe(detail, sizeof detail, "首次答复", &fr, &cal.cal);
    cl_cclock_describe(detail, sizeof detail, "关闭", &cl, &cal.cal);
    cl_calendar_free(&cal);
    char b[24][24];
    const cl_call_stmt_t st = CL_STMT(
        complaint_apply, cl_sql_int_param(b[0], x->id), cl_sql_int_param(b[1], version),
        cl_sql_int_param(b[2], c->session.user_id), cl_complaint_action_name(m->action),
        cl_sql_int_param(b[3], now), a.state, cl_complaint_class_name((int)a.cls), reason,
        cl_sql_int_param(b[4], a.level), TP(b[5], a.owner), TP(b[6], a.satisfaction),
        TP(b[7], a.case_id), cl_sql_int_param(b[8], a.reopened), cl_sql_int_param(b[9], a.paused_s),
        TP(b[10], a.paused_since), TP(b[11], a.closed), m->note, detail,
        cl_sql_int_param(b[12], fr.used), TP(b[13], fr.running), TP(b[14], fr.due),
        TP(b[15], fr.warn), TP(b[16], fr.stopped), cl_sql_int_param(b[17], cl.budget),
        cl_sql_int_param(b[18], cl.used), TP(b[19], cl.running), TP(b[20], cl.due),
        TP(b[21], cl.warn), TP(b[22], cl.stopped), cl_sql_bool_param(a.reset_closure));
    cl_call_run(c, true, &st, 1, act_done);
    return;
fail:
    cl_call_free(c);
}
#undef CX

void cl_complaint_act(cl_req_t *req) {
    const Closeloop__ComplaintAct *m = (const Closeloop__ComplaintAct *)req->msg;
    if (!cl_req_need_id(req, "id", m->id)) return;
    if (m->action < CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REPLY ||
        m->action > CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REOPEN) {
        cl_req_fail(req, CL_EINVAL, "unknown complaint action %d", (int)m->action);
        return;
    }
    if (!cl_req_need_text(req, "note", m->note, false, CL_LIM_DESCRIPTION_CHARS)) return;
    complaint_call_t *x = cl_call_new(req, sizeof *x);
    if (!x) return; /* answered */
    x->id = m->id;
    cl_call_t *c = &x->call;
    char id[24];
    cl_sql_int_param(id, m->id);
    const cl_call_stmt_t st[] = {
        CL_STMT(complaint_ctx, CL_CALL_SCOPE(c), id),
        CL_STMT(complaint_cal_hours, NULL, id),
        CL_STMT(complaint_cal_days, NULL, id),
    };
    cl_call_run(c, false, st, 3, act_ctx_done);
}

/* ------------------------------------------------------------------ the alert timer */

/* A ticker (ticker.h): the tick in flight (at most one: a tick while one runs is skipped;
 * a tick is the alerts batch, then maybe a reclass batch); frees itself after
 * cl_complaint_alerts_stop, once the timer has closed and no batch is in flight. A failed
 * tick is logged and retried at the next one. */
struct cl_complaint_alerts {
    cl_ticker_t ticker; /* first */
};

static void on_reclassed(void *arg, const cl_db_result_t *r) {
    if (!cl_ticker_landed(arg)) return;
    if (r->status != CL_OK) {
        cl_log_warn("complaint_reclass_failed", "error=\"%s\"", r->message);
        return;
    }
    int raised = 0;
    for (int i = 0; i < r->count; i++)
        raised += PQntuples(r->res[i]) == 1 &&
                  !strcmp(PQgetvalue(r->res[i], 0, CL_COL(complaint_reclass, raised)), "t");
    if (raised) cl_log_info("complaint_reclassed", "complaints=%d", raised);
}

#define TF(col) CL_COL(complaint_time_facts, col)

/* The time-driven class changes of facts (complaint_time_facts) as one batch of
 * complaint_reclass statements on a's pool, run as the tick's second batch; nothing when
 * there is none to make (or no memory: the next tick tries again). */
static void reclass_run(cl_complaint_alerts_t *a, const PGresult *facts) {
    int n = PQntuples(facts);
    cl_db_batch_t *b = NULL;
    for (int i = 0; i < n; i++) {
        cl_complaint_facts_t f = {
            .legal = !strcmp(cl_sql_text(facts, i, TF(legal)), "t"),
            .media = !strcmp(cl_sql_text(facts, i, TF(media)), "t"),
            .legal_risk = !strcmp(cl_sql_text(facts, i, TF(legal_risk)), "t"),
            .media_risk = !strcmp(cl_sql_text(facts, i, TF(media_risk)), "t"),
            .outside_support = !strcmp(cl_sql_text(facts, i, TF(outside_support)), "t"),
            .reopened = cl_sql_i64(facts, i, TF(reopened)) > 0,
            .complainants = cl_sql_i64(facts, i, TF(complainants)),
            .same_issue = cl_sql_i64(facts, i, TF(same_issue)),
            .fault_open_s = cl_sql_i64(facts, i, TF(fault_open_s)),
        };
        char reason[400];
        cl_complaint_class_t cls = cl_complaint_classify(&f, reason, sizeof reason);
        if (cls <= class_parse(cl_sql_text(facts, i, TF(class)))) continue;
        if (!b && !(b = cl_db_batch_new(a->ticker.db))) return;
        const char *params[] = {cl_sql_text(facts, i, TF(id)), cl_sql_text(facts, i, TF(version)),
                                cl_complaint_class_name((int)cls), reason};
        /* The batch copies its parameters. */
        if (cl_db_batch_add(
                b, CL_SQL(complaint_reclass),
                CL_PARAMS(complaint_reclass, params[0], params[1], params[2], params[3]),
                NULL) != CL_OK) {
            cl_db_batch_free(b);
            return;
        }
    }
    if (b) cl_ticker_run(&a->ticker, b, on_reclassed);
}
#undef TF

static void on_alerts(void *arg, const cl_db_result_t *r) {
    cl_complaint_alerts_t *a = arg;
    if (!cl_ticker_landed(&a->ticker)) return;
    if (r->status != CL_OK || r->count != 3 || PQntuples(r->res[0]) != 1 ||
        PQntuples(r->res[1]) != 1) {
        cl_log_warn("complaint_alerts_failed", "error=\"%s\"", r->message);
        return; /* the next tick tries again */
    }
    const char *w = PQgetvalue(r->res[0], 0, CL_COL(complaint_warnings, warnings)),
               *b = PQgetvalue(r->res[1], 0, CL_COL(complaint_breaches, breaches));
    if (strcmp(w, "0") || strcmp(b, "0"))
        cl_log_info("complaint_alerts", "warnings=%s breaches=%s", w, b);
    if (PQntuples(r->res[2]) > 0) reclass_run(a, r->res[2]);
}

static void alerts_tick(cl_ticker_t *t) {
    cl_db_batch_t *b = cl_db_batch_new(t->db);
    if (!b || cl_db_batch_add(b, CL_SQL(complaint_warnings), NULL, NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(complaint_breaches), NULL, NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(complaint_time_facts), NULL, NULL) != CL_OK) {
        if (b) cl_db_batch_free(b);
        cl_log_warn("complaint_alerts_failed", "error=\"out of memory\"");
        return;
    }
    cl_ticker_run(t, b, on_alerts);
}

cl_complaint_alerts_t *cl_complaint_alerts_start(uv_loop_t *loop, struct cl_db *db) {
    cl_complaint_alerts_t *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    cl_ticker_init(&a->ticker, loop, db, alerts_tick, NULL);
    uint64_t tick = cl_ticker_env_ms("CLOSELOOP_COMPLAINT_TICK_MS", 60000);
    if (tick) cl_ticker_every(&a->ticker, tick, tick);
    return a;
}

void cl_complaint_alerts_stop(cl_complaint_alerts_t *a) {
    if (a) cl_ticker_stop(&a->ticker);
}
