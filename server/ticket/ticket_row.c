/* ticket_row.c - a Ticket message from a row of the view ticket_rows (ticket_row.h). */
#include "ticket_row.h"

#include <stdint.h>

#include "cl_sql.h"
#include "domain.h"
#include "sqlutil.h"
#include "ticket_fsm.h"

#define TR(col) (first_col + CL_COL(ticket_rows, col))

void cl_ticket_row_fill(Closeloop__Ticket *t, const PGresult *res, int row, int first_col) {
    closeloop__ticket__init(t);
    t->id = PQgetvalue(res, row, TR(id));
    t->project_id = cl_sql_i64(res, row, TR(project_id));
    t->number = (uint32_t)cl_sql_i64(res, row, TR(number));
    t->project_name = PQgetvalue(res, row, TR(project_name));
    t->building = PQgetvalue(res, row, TR(building));
    t->unit = PQgetvalue(res, row, TR(unit));
    t->round = cl_round_kind_parse(cl_sql_text(res, row, TR(round)));
    t->location = PQgetvalue(res, row, TR(location));
    t->category = PQgetvalue(res, row, TR(category));
    t->description = PQgetvalue(res, row, TR(description));
    t->severity = cl_severity_parse(cl_sql_text(res, row, TR(severity)));
    t->state = (Closeloop__TicketState)cl_ticket_state_parse(cl_sql_text(res, row, TR(state)));
    t->contractor_id = cl_sql_i64(res, row, TR(contractor_id));
    t->contractor_name = PQgetvalue(res, row, TR(contractor_name));
    t->rework_count = (uint32_t)cl_sql_i64(res, row, TR(rework_count));
    t->deadline = PQgetvalue(res, row, TR(deadline));
    t->timeliness = cl_timeliness_parse(cl_sql_text(res, row, TR(timeliness)));
    t->raised_at_ms = (uint64_t)cl_sql_i64(res, row, TR(raised_at_ms));
    t->updated_at_ms = (uint64_t)cl_sql_i64(res, row, TR(updated_at_ms));
    t->version = cl_sql_i64(res, row, TR(version));
    t->last_note = PQgetvalue(res, row, TR(last_note));
    t->age_days = (uint32_t)cl_sql_i64(res, row, TR(age_days));
    t->found_again_of = PQgetvalue(res, row, TR(found_again_of));
    t->found_on = PQgetvalue(res, row, TR(found_on));
    t->entry_lag_days = (uint32_t)cl_sql_i64(res, row, TR(entry_lag_days));
    t->category_name = PQgetvalue(res, row, TR(category_name));
}

static ProtobufCMessage *ticket_slot_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                          int row) {
    (void)c;
    Closeloop__Ticket *t = slot;
    cl_ticket_row_fill(t, res, row, 0);
    return &t->base;
}

const cl_call_kind_t cl_ticket_kind =
    CL_CALL_KIND(TICKET, ticket_page, Closeloop__Ticket, ticket_slot_fill, NULL);
