/* session_notify.c - the session changes of session_notify.h, read from a pg_listen
 * connection on closeloop_sessions. The struct is the listener's context; stop stops the
 * listener (no callback after) and frees it at once. Loop thread only. */
#include "session_notify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "password.h"
#include "pg_listen.h"

struct cl_session_notify {
    cl_server_t *srv;
    cl_pg_listen_t *listen;
};

/* "session <hex>" or "user <id>". */
static void session_notified(void *ctx, const char *payload) {
    cl_session_notify_t *n = ctx;
    if (!strncmp(payload, "session ", 8) && strlen(payload + 8) == 2 * CL_TOKEN_HASH_LEN) {
        uint8_t hash[CL_TOKEN_HASH_LEN];
        for (size_t i = 0; i < CL_TOKEN_HASH_LEN; i++) {
            unsigned v;
            if (sscanf(payload + 8 + 2 * i, "%2x", &v) != 1) return;
            hash[i] = (uint8_t)v;
        }
        cl_server_sessions_stale(n->srv, hash, 0);
    } else if (!strncmp(payload, "user ", 5)) {
        long long id = strtoll(payload + 5, NULL, 10);
        if (id > 0) cl_server_sessions_stale(n->srv, NULL, (int64_t)id);
    }
}

/* Sessions changed while nobody listened: every open one is read again. */
static void session_listening(void *ctx, bool again) {
    cl_session_notify_t *n = ctx;
    if (again) cl_server_sessions_stale(n->srv, NULL, 0);
}

static const cl_pg_listen_ops_t session_listen_ops = {
    .channel = "closeloop_sessions",
    .application_name = "closeloopd-notify",
    .log_name = "session_notify",
    .on_listening = session_listening,
    .on_notify = session_notified,
};

cl_session_notify_t *cl_session_notify_start(uv_loop_t *loop, const char *conninfo,
                                             cl_server_t *srv) {
    cl_session_notify_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->srv = srv;
    n->listen = cl_pg_listen_start(loop, conninfo, &session_listen_ops, n);
    if (!n->listen) {
        free(n);
        return NULL;
    }
    return n;
}

void cl_session_notify_stop(cl_session_notify_t *n) {
    if (!n) return;
    cl_pg_listen_stop(n->listen);
    free(n);
}
