/* change_notify.h - the server push of desktop sync: a dedicated libpq connection on the
 * loop LISTENs on closeloop_changes (migration 018: one notification per INSERT statement
 * on change_log, at commit, naming the companies touched or '*') and pushes a SyncNotice
 * (request id 0) to every connection that follows (SyncFollowRequest) and whose session
 * may see one of those companies: HQ roles and contractors every notice, the other roles
 * their company's. Any daemon on the database delivers a change made through any other.
 *
 * Pushes are coalesced: at most one per connection per CL_CHANGE_PUSH_GAP_MS, the later
 * ones folded into one sent when the gap has passed (company_id 0 when they named
 * different companies). None is queued for a connection whose output is past half of
 * max_output: a notice is a hint, and the client polls the feed anyway.
 *
 * The connection reconnects with backoff (0.1 s doubling to 5 s); after a reconnect every
 * follower gets a notice, since notifications sent while it was away are lost.
 * Loop thread only. */
#ifndef CL_CHANGE_NOTIFY_H
#define CL_CHANGE_NOTIFY_H

#include <uv.h>

#include "server.h"

#define CL_CHANGE_PUSH_GAP_MS 20

typedef struct cl_change_notify cl_change_notify_t;

/* Starts listening in the background; NULL when out of memory. The server outlives it. */
cl_change_notify_t *cl_change_notify_start(uv_loop_t *loop, const char *conninfo, cl_server_t *srv);

/* Closes the connection and its handles; frees itself once they have closed. */
void cl_change_notify_stop(cl_change_notify_t *n);

#endif
