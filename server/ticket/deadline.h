/* deadline.h - the handlers of a project's repair deadline presets (deadline.c, its SQL
 * in deadline.sql): setting one, and listing a project's. A new ticket's deadline is
 * read from them when it is raised (raise.sql). Each finishes its request exactly once
 * (dispatch.h); loop thread only. */
#ifndef CL_DEADLINE_H
#define CL_DEADLINE_H

#include "server.h"

void cl_ticket_deadline_set(cl_req_t *req);
void cl_ticket_deadline_list(cl_req_t *req);

#endif
