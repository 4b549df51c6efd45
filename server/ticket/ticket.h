/* ticket.h - the repair loop's requests: transitions and history (ticket.c), the
 * morning lists (ticket_lists.c). Raising tickets is raise.sql (run by an inspection's
 * item batch), deadline presets are deadline.h. Loop thread only. */
#ifndef CL_TICKET_H
#define CL_TICKET_H

#include "server.h"

void cl_ticket_transition(cl_req_t *req);
void cl_ticket_show(cl_req_t *req);
void cl_ticket_todo_list(cl_req_t *req);
void cl_ticket_toverify_list(cl_req_t *req);
void cl_ticket_dispatch_list(cl_req_t *req);

#endif
