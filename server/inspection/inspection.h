/* inspection.h - the handlers of the inspection area (inspection.c, its SQL in
 * inspection.sql): the rounds of a project, recording inspection items (which raise
 * their repair tickets through the ticket area's raise.sql), the handover acceptance
 * form and the handover schedule. Each finishes its request exactly once (dispatch.h);
 * loop thread only. */
#ifndef CL_INSPECTION_H
#define CL_INSPECTION_H

#include "server.h"

void cl_insp_round_create(cl_req_t *req);
void cl_insp_round_list(cl_req_t *req);
void cl_insp_item_record(cl_req_t *req);
void cl_insp_handover_record(cl_req_t *req);
void cl_insp_handover_schedule(cl_req_t *req);

#endif
