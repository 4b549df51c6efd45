/* dispatch.h - the table that maps each request message type to its handler.
 *
 * A handler receives a decoded request and finishes it in exactly one way: with one
 * cl_req_reply or cl_req_fail, before returning or later from a callback on the loop
 * (finishing twice asserts). Handlers run on the loop thread and must never block it.
 * Each business area declares its handlers in its own header (org.h, inspection.h,
 * ticket.h, deadline.h, report.h); the identity handlers are in session.h. */
#ifndef CL_DISPATCH_H
#define CL_DISPATCH_H

#include <stdint.h>

#include "authz.h"
#include "db.h"
#include "server.h"

typedef void (*cl_handler_fn)(cl_req_t *req);

typedef struct cl_handler {
    uint16_t type;    /* request MsgType */
    const char *name; /* for logs: "ping" */
    cl_op_t op;       /* what it does, for the authorization check before it runs */
    int needs_db;     /* refused with ERR_UNAVAILABLE when no database is configured */
    cl_handler_fn fn;
} cl_handler_t;

/* The handler for a request type, or NULL when the type is not a request we serve. */
const cl_handler_t *cl_dispatch_lookup(uint16_t type);

/* The engine's own handlers (sys_handlers.c). */
void cl_sys_ping(cl_req_t *req);
void cl_sys_server_info(cl_req_t *req);

#endif
