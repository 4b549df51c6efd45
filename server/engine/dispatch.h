/* dispatch.h - the table that maps each request message type to its handler.
 *
 * A handler receives a decoded request and must eventually finish it with cl_req_reply
 * or cl_req_fail, either before returning or later from a callback on the loop. It may
 * instead return a negative CL_E* code without replying, and the dispatcher answers
 * with that error. Handlers run on the loop thread and must never block it. */
#ifndef CL_DISPATCH_H
#define CL_DISPATCH_H

#include <stdint.h>

#include "authz.h"
#include "db.h"
#include "server.h"

typedef int (*cl_handler_fn)(cl_req_t *req);

typedef struct cl_handler {
    uint16_t type;    /* request MsgType */
    const char *name; /* for logs: "ping" */
    cl_op_t op;       /* what it does, for the authorization check before it runs */
    int needs_db;     /* refused with ERR_UNAVAILABLE when no database is configured */
    cl_handler_fn fn;
} cl_handler_t;

/* The handler for a request type, or NULL when the type is not a request we serve. */
const cl_handler_t *cl_dispatch_lookup(uint16_t type);

/* Handlers, one file per business area (identity handlers are in session.h). */
int cl_sys_ping(cl_req_t *req);
int cl_sys_server_info(cl_req_t *req);

/* inspection.c: rounds, items, handover forms, deadline presets. */
int cl_insp_round_create(cl_req_t *req);
int cl_insp_round_list(cl_req_t *req);
int cl_insp_item_record(cl_req_t *req);
int cl_insp_handover_record(cl_req_t *req);
int cl_insp_handover_schedule(cl_req_t *req);
int cl_insp_deadline_set(cl_req_t *req);
int cl_insp_deadline_list(cl_req_t *req);

/* ticket.c: the repair loop, the morning lists and the reports. */
int cl_ticket_transition(cl_req_t *req);
int cl_ticket_show(cl_req_t *req);
int cl_ticket_todo_list(cl_req_t *req);
int cl_ticket_toverify_list(cl_req_t *req);
int cl_ticket_dispatch_list(cl_req_t *req);
int cl_report_daily(cl_req_t *req);
int cl_report_readiness(cl_req_t *req);

/* Statement tables of the areas, NULL-name terminated, prepared on every connection. */
extern const cl_db_stmt_t cl_auth_stmts[];
extern const cl_db_stmt_t cl_inspection_stmts[];
extern const cl_db_stmt_t cl_ticket_stmts[];

#endif
