/* org.h - the request handlers of the organisation model (org.c): companies, projects,
 * buildings, units and owners, contractors and their trades, users, and the unit import.
 * Their statements are in org.sql.
 *
 * Each handler ends its request exactly once: it answers it itself (a refused field), or
 * starts one database batch whose callback answers it and frees the call. Loop thread
 * only; dispatch.c maps the request types to them. */
#ifndef CL_ORG_H
#define CL_ORG_H

#include "server.h"

void cl_org_company_create(cl_req_t *req);
void cl_org_company_list(cl_req_t *req);
void cl_org_project_create(cl_req_t *req);
void cl_org_project_list(cl_req_t *req);
void cl_org_building_create(cl_req_t *req);
void cl_org_building_list(cl_req_t *req);
void cl_org_unit_create(cl_req_t *req);
void cl_org_unit_list(cl_req_t *req);
void cl_org_unit_import(cl_req_t *req);
void cl_org_contractor_create(cl_req_t *req);
void cl_org_contractor_list(cl_req_t *req);
void cl_org_user_create(cl_req_t *req);
void cl_org_user_list(cl_req_t *req);
void cl_org_trade_assign(cl_req_t *req);
void cl_org_trade_list(cl_req_t *req);

#endif
