/* dispatch.h - the table that maps each request message type to its handler.
 *
 * A handler receives a decoded request and must eventually finish it with cl_req_reply
 * or cl_req_fail, either before returning or later from a callback on the loop. It may
 * instead return a negative CL_E* code without replying, and the dispatcher answers
 * with that error. Handlers run on the loop thread and must never block it. */
#ifndef CL_DISPATCH_H
#define CL_DISPATCH_H

#include <stdint.h>

#include "server.h"

typedef int (*cl_handler_fn)(cl_req_t *req);

typedef struct cl_handler {
    uint16_t type;    /* request MsgType */
    const char *name; /* for logs: "ping" */
    cl_handler_fn fn;
} cl_handler_t;

/* The handler for a request type, or NULL when the type is not a request we serve. */
const cl_handler_t *cl_dispatch_lookup(uint16_t type);

/* Handlers, one file per business area. */
int cl_sys_ping(cl_req_t *req);
int cl_sys_server_info(cl_req_t *req);

#endif
