/* ticket_row.c - a Ticket message from a row of CL_TICKET_COLS (ticket_row.h). */
#include "ticket_row.h"

#include <stdint.h>

#include "domain.h"
#include "sqlutil.h"
#include "ticket_fsm.h"

void cl_ticket_row_fill(Closeloop__Ticket *t, const PGresult *res, int row, int col) {
    closeloop__ticket__init(t);
    t->id = PQgetvalue(res, row, col + 0);
    t->project_id = cl_sql_i64(res, row, col + 1);
    t->number = (uint32_t)cl_sql_i64(res, row, col + 2);
    t->project_name = PQgetvalue(res, row, col + 3);
    t->building = PQgetvalue(res, row, col + 4);
    t->unit = PQgetvalue(res, row, col + 5);
    t->round = cl_round_kind_parse(cl_sql_text(res, row, col + 6));
    t->location = PQgetvalue(res, row, col + 7);
    t->category = PQgetvalue(res, row, col + 8);
    t->description = PQgetvalue(res, row, col + 9);
    t->severity = cl_severity_parse(cl_sql_text(res, row, col + 10));
    t->state = (Closeloop__TicketState)cl_ticket_state_parse(cl_sql_text(res, row, col + 11));
    t->contractor_id = cl_sql_i64(res, row, col + 12);
    t->contractor_name = PQgetvalue(res, row, col + 13);
    t->rework_count = (uint32_t)cl_sql_i64(res, row, col + 14);
    t->deadline = PQgetvalue(res, row, col + 15);
    t->timeliness = cl_timeliness_parse(cl_sql_text(res, row, col + 16));
    t->raised_at_ms = (uint64_t)cl_sql_i64(res, row, col + 17);
    t->updated_at_ms = (uint64_t)cl_sql_i64(res, row, col + 18);
    t->version = cl_sql_i64(res, row, col + 19);
    t->last_note = PQgetvalue(res, row, col + 20);
    t->age_days = (uint32_t)cl_sql_i64(res, row, col + 21);
    t->found_again_of = PQgetvalue(res, row, col + 22);
}
