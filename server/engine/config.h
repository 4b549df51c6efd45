/* config.h - closeloopd settings: defaults, the INI file, and environment overrides.
 *
 * Every setting has a section and a key ([server] port) and can be overridden by the
 * environment variable CLOSELOOP_<SECTION>_<KEY> (CLOSELOOP_SERVER_PORT). Short aliases
 * CLOSELOOP_PORT and CLOSELOOP_LISTEN exist for the quickstart. Precedence: environment
 * over file over defaults. Default paths are under CLOSELOOP_HOME (default "var").
 * Loaded once at start-up on the main thread; read-only afterwards. */
#ifndef CL_CONFIG_H
#define CL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"
#include "log.h"

#define CL_PATH_MAX 1024

typedef struct cl_config {
    char listen[64];           /* [server] listen: address to bind */
    uint32_t port;             /* [server] port */
    uint32_t max_connections;  /* [server] max_connections: more are refused */
    uint32_t max_frame;        /* [server] max_frame: payload limit in bytes */
    uint32_t max_frame_unauth; /* [server] max_frame_unauth: the limit before a login
                                  (cl_config_frame_unauth: never above max_frame) */
    uint32_t max_inflight;     /* [server] max_inflight: requests per connection */
    uint32_t max_output;       /* [server] max_output: queued reply bytes before reads pause */
    uint32_t max_output_total; /* [server] max_output_total: queued reply bytes of all
                                  connections; past it the largest backlogs are closed */
    uint32_t max_connections_per_address; /* [server] max_connections_per_address */
    uint32_t reserved_connections; /* [server] reserved_connections: of max_connections (at most
                                      half), kept for connections that have logged in */
    uint32_t login_timeout_ms;     /* [server] login_timeout_ms: to log in or resume */
    uint32_t handshake_timeout_ms; /* [server] handshake_timeout_ms */
    uint32_t idle_timeout_ms;      /* [server] idle_timeout_ms: no bytes read for this long */
    uint32_t drain_timeout_ms;     /* [server] drain_timeout_ms: SIGTERM grace period */
    char tls_cert[CL_PATH_MAX];    /* [tls] cert */
    char tls_key[CL_PATH_MAX];     /* [tls] key */
    char tls_ca[CL_PATH_MAX];      /* [tls] ca: verifies client certificates; "" for none */
    bool tls_allow_tls12;          /* [tls] allow_tls12 */
    bool tls_require_client_cert;  /* [tls] require_client_cert */
    cl_log_level_t log_level;      /* [log] level */
    char db_conninfo[CL_PATH_MAX]; /* [db] conninfo: libpq connection string */
    uint32_t db_pool_size;         /* [db] pool_size */
    char db_analytics_conninfo[CL_PATH_MAX]; /* [db] analytics_conninfo: read-only replica */
    uint32_t db_statement_timeout_ms;        /* [db] statement_timeout_ms */
    uint32_t auth_session_recheck_ms;        /* [auth] session_recheck_ms: re-read open sessions */
    uint32_t auth_purge_interval_ms;         /* [auth] purge_interval_ms: the retention purge */
    uint32_t auth_failure_retention_hours;   /* [auth] failure_retention_hours */
    uint32_t auth_session_retention_days;    /* [auth] session_retention_days: after it ended */
    uint32_t notice_retention_days;          /* [notice] retention_days: notices kept */
    uint32_t stats_merge_interval_ms;        /* [stats] merge_interval_ms: 0 = no merge timer */
} cl_config_t;

/* Fills in the defaults (paths under $CLOSELOOP_HOME or "var"). */
void cl_config_defaults(cl_config_t *c);

/* Reads an INI file over the current values. Unknown sections or keys and bad values are
 * errors, reported with the line number. */
CL_MUSTCHECK int cl_config_load_file(cl_config_t *c, const char *path, char *err, size_t errlen);

/* Applies CLOSELOOP_* environment overrides. */
CL_MUSTCHECK int cl_config_apply_env(cl_config_t *c, char *err, size_t errlen);

/* Cross-field checks once everything is loaded. */
CL_MUSTCHECK int cl_config_validate(const cl_config_t *c, char *err, size_t errlen);

/* Logs every setting (event=config), for the start-up record. */
void cl_config_log(const cl_config_t *c);

/* The payload limit of a connection without a session: max_frame_unauth, at most
 * max_frame. */
static inline uint32_t cl_config_frame_unauth(const cl_config_t *c) {
    return c->max_frame_unauth < c->max_frame ? c->max_frame_unauth : c->max_frame;
}

#endif
