/* session_notify.h - carries session changes between daemons: a dedicated libpq
 * connection on the loop LISTENs on closeloop_sessions (migration 009 notifies a revoked
 * session and a changed or disabled user) and marks the matching open sessions stale
 * (cl_server_sessions_stale), so the next request on any daemon reads them again.
 *
 * The connection is non-blocking and reconnects with backoff (0.1 s doubling to 5 s);
 * after a reconnect every open session is marked stale, since notifications sent while
 * it was away are lost. Loop thread only. */
#ifndef CL_SESSION_NOTIFY_H
#define CL_SESSION_NOTIFY_H

#include <uv.h>

#include "server.h"

typedef struct cl_session_notify cl_session_notify_t;

/* Starts listening in the background; NULL when out of memory. The server outlives it. */
cl_session_notify_t *cl_session_notify_start(uv_loop_t *loop, const char *conninfo,
                                             cl_server_t *srv);

/* Closes the connection and its handles; frees itself once they have closed. */
void cl_session_notify_stop(cl_session_notify_t *n);

#endif
