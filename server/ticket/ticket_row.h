/* ticket_row.h - a repair ticket as every statement selects it: the columns of the view
 * ticket_rows (server/migrations/005_ticket_rows.sql), read by name through the generated
 * CL_COL(ticket_rows, ...), and the record kind that streams tickets as TicketPage frames.
 * Pure; strings of the filled message point into the PGresult. Loop thread only. */
#ifndef CL_TICKET_ROW_H
#define CL_TICKET_ROW_H

#include <libpq-fe.h>

#include "handler.h"
#include "msg.h"

/* Fills t from the ticket_rows columns that start at column first_col of row (0 when the
 * statement selects tr.* first, as every ticket statement does). */
void cl_ticket_row_fill(Closeloop__Ticket *t, const PGresult *res, int row, int first_col);

/* Tickets as records of a call: one Ticket (MSG_TICKET) or pages (MSG_TICKET_PAGE). */
extern const cl_call_kind_t cl_ticket_kind;

#endif
