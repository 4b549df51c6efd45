/* notice.h - notices as they happen (docs/WATCH.md): the daemon LISTENs on
 * closeloop_notices (cl_notice and migration 025's trigger NOTIFY each new notice's id at
 * commit), reads each notice from the pool and pushes it as a Notice (request id 0) to
 * every watching connection (WatchRequest{on}) whose session may see it: its user; its
 * contractor's users; everyone who sees its project; with only a company, HQ roles and
 * the company's staff; with neither, the HQ roles (notice.sql's cl_notice_visible, which
 * the catch-up uses, is the same rule).
 *
 * Never an unbounded queue: a connection whose output is past half its budget gets no
 * push (cl_conn_push); once it has room it gets a Notice of id 0 with gap_before, and the
 * client catches up with WatchRequest{since_id}. A stale session gets no push until its
 * next request has read it again. Notified ids wait for the read in flight (one at a time, so
 * pushes go out in the order of the notifications) in a list of at most
 * CL_NOTICE_PENDING_MAX ids; past it, the surplus is logged and lost to live watchers
 * (their catch-up still finds it).
 *
 * The LISTEN connection reconnects with backoff (0.1 s doubling to 5 s); when it comes
 * back, the notices after the newest one seen are read, since their notifications went
 * to nobody. Loop thread only. */
#ifndef CL_NOTICE_H
#define CL_NOTICE_H

#include <uv.h>

#include "db.h"
#include "server.h"

#define CL_NOTICE_PENDING_MAX 65536
#define CL_NOTICE_CATCH_UP    500 /* notices of one WatchReply */

typedef struct cl_notice_push cl_notice_push_t;

/* Starts listening in the background; NULL when out of memory. The server and the pool
 * outlive it. */
cl_notice_push_t *cl_notice_push_start(uv_loop_t *loop, const char *conninfo, cl_server_t *srv,
                                       cl_db_t *db);

/* Closes the connection and its handles; frees itself once they have closed and the read
 * in flight (if any) has answered. */
void cl_notice_push_stop(cl_notice_push_t *n);

#endif
