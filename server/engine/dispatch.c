/* dispatch.c - the request table: type, name, operation (for authorization), handler.
 * The rows come from CL_REQUESTS (dispatch.h). */
#include "dispatch.h"

#include <stddef.h>

#include "msg.h"
#include "session.h"

#define CL_REQUEST_ROW(type, name, op, needs_db, fn) {CL_MSG_##type, #name, op, needs_db, fn},
static const cl_handler_t handlers[] = {CL_REQUESTS(CL_REQUEST_ROW)};
#undef CL_REQUEST_ROW

const cl_handler_t *cl_dispatch_lookup(uint16_t type) {
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].type == type) return &handlers[i];
    return NULL;
}
