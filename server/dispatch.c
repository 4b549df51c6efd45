/* dispatch.c - the request table. Adding a request type means one line here. */
#include "dispatch.h"

#include <stddef.h>

#include "msg.h"

static const cl_handler_t handlers[] = {
    {CL_MSG_PING, "ping", cl_sys_ping},
    {CL_MSG_SERVER_INFO_REQ, "server_info", cl_sys_server_info},
};

const cl_handler_t *cl_dispatch_lookup(uint16_t type) {
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].type == type) return &handlers[i];
    return NULL;
}
