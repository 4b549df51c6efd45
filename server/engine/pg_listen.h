/* pg_listen.h - one libpq connection that LISTENs on a channel and hands each notification
 * to its owner: the connection state machine shared by change_notify (sync pushes),
 * session_notify (stale sessions) and notice (cloop watch).
 *
 * The connection is non-blocking on the loop and reconnects with backoff (0.1 s doubling
 * to 5 s, 10 s to connect). Notifications sent while it was away are lost, so the owner
 * is told when it listens again (on_listening with again = true) and catches up its own
 * way. Logs "<name>_listening" and "<name>_lost". Loop thread only. */
#ifndef CL_PG_LISTEN_H
#define CL_PG_LISTEN_H

#include <stdbool.h>

#include <uv.h>

typedef struct cl_pg_listen cl_pg_listen_t;

typedef struct cl_pg_listen_ops {
    const char *channel;          /* a constant identifier: sent as LISTEN <channel> */
    const char *application_name; /* the connection's name in pg_stat_activity */
    const char *log_name;         /* prefix of the log events, e.g. "session_notify" */
    /* LISTEN acknowledged: notified from here on; again: after a lost connection
     * (notifications sent meanwhile were missed). */
    void (*on_listening)(void *ctx, bool again);
    /* One notification's payload (valid during the call). */
    void (*on_notify)(void *ctx, const char *payload);
    /* Optional: after the notifications that arrived together. */
    void (*on_drained)(void *ctx);
} cl_pg_listen_ops_t;

/* Starts connecting in the background; NULL when out of memory. ops (static) and ctx
 * outlive the listener: no callback runs after cl_pg_listen_stop. */
cl_pg_listen_t *cl_pg_listen_start(uv_loop_t *loop, const char *conninfo,
                                   const cl_pg_listen_ops_t *ops, void *ctx);

/* Closes the connection and its handles; frees itself once they have closed. */
void cl_pg_listen_stop(cl_pg_listen_t *l);

#endif
