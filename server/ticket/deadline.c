/* deadline.c - a project's repair deadline presets: how many days a ticket of a
 * category ('' = any) and severity gets to be repaired. Setting one changes only tickets
 * raised from then on (raise.sql reads them through cl_ticket_deadline()); existing
 * tickets keep their deadline.
 *
 * Each request is one database batch (deadline.sql): a set is "set_actor" and
 * ticket_deadline_set, a list is ticket_deadline_list; both take the session scope, so
 * a project outside it reads like a missing one.
 *
 * Runs on the loop thread. A cl_call_t (handler.h) holds one request's state; the
 * ready-made callbacks cl_call_one_done / cl_call_list_done answer and free it. */
#include "dispatch.h"

#include <stdint.h>
#include <stdio.h>

#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"

/* DeadlinePreset from a row of ticket_deadline_list (or of ticket_deadline_set, whose
 * columns begin with the same: @columns-of). */
static ProtobufCMessage *preset_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    cl_pb_deadline_preset_t *d = slot;
    closeloop__deadline_preset__init(d);
    d->project_id = cl_sql_i64(res, row, CL_COL(ticket_deadline_list, project_id));
    d->category = PQgetvalue(res, row, CL_COL(ticket_deadline_list, category));
    d->severity = cl_severity_parse(cl_sql_text(res, row, CL_COL(ticket_deadline_list, severity)));
    d->days = (uint32_t)cl_sql_i64(res, row, CL_COL(ticket_deadline_list, days));
    return &d->base;
}

static const cl_call_kind_t preset_kind =
    CL_CALL_KIND(DEADLINE_PRESET, deadline_preset_page, cl_pb_deadline_preset_t, preset_fill, NULL);

void cl_ticket_deadline_set(cl_req_t *req) {
    const cl_pb_deadline_set_t *m = (const cl_pb_deadline_set_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    if (*m->category && !cl_req_need_trade(req, m->category)) return;
    if (!cl_severity_name(m->severity)) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "severity", CL_DOM_SEVERITY));
        return;
    }
    if (m->days < 1 || m->days > CL_LIM_DEADLINE_DAYS) {
        cl_req_fail(req, CL_EINVAL, "days must be between 1 and %d", CL_LIM_DEADLINE_DAYS);
        return;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->kind = &preset_kind;
    snprintf(c->lost, sizeof c->lost, "the preset changed while it was being set; retry");
    char project[24], days[24];
    const cl_call_stmt_t st =
        CL_STMT(ticket_deadline_set, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                m->category, cl_severity_name(m->severity), cl_sql_int_param(days, m->days));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_ticket_deadline_list(cl_req_t *req) {
    const cl_pb_deadline_list_req_t *m = (const cl_pb_deadline_list_req_t *)req->msg;
    CL_PROJECT_LIST(req, m->project_id, ticket_deadline_list, &preset_kind);
}
