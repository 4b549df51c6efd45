/* report.h - the report requests (report.c): the daily handover report and the
 * key-handover readiness of a building. Loop thread only. */
#ifndef CL_REPORT_H
#define CL_REPORT_H

#include "server.h"

void cl_report_daily(cl_req_t *req);
void cl_report_readiness(cl_req_t *req);

#endif
