/* session.h - the logged-in identity attached to a connection, and the identity
 * requests: login, session resume, logout, whoami.
 *
 * A connection has at most one session. Login verifies the password with Argon2id on
 * the libuv thread pool, creates an opaque random token (stored only as its SHA-256),
 * and attaches the session; a new connection resumes it with the token. The session
 * carries the scope (company, contractor, projects) that handlers pass to their SQL,
 * and the actor JSON that attributes every mutation in the audit log. Loop thread only. */
#ifndef CL_SESSION_H
#define CL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "server.h"

typedef struct cl_session {
    int64_t user_id;
    char username[72];
    char display_name[256];
    cl_role_t role;
    int64_t company_id;     /* 0 when none */
    int64_t contractor_id;  /* 0 when none */
    char project_ids[4096]; /* the user's projects as a SQL array literal: "{1,2,3}" */
    uint64_t expires_at_ms;
    char company_name[208];
    char contractor_name[208];
    char device[256];         /* client certificate subject of the connection, or "" */
    char device_company[208]; /* company the device is registered to, or "" */
    uint8_t token_hash[32];   /* SHA-256 of the token (CL_TOKEN_HASH_LEN), to end the session */
    char actor_json[1024];    /* {"user_id":..,"username":..,"peer":..,"device":..} */
    uint64_t checked_at_ms;   /* loop time the session was last read from the database */
    bool stale; /* the database said it changed (logout, disabled user): read it again */
} cl_session_t;

/* Whether the session's expiry time has passed (server clock). */
bool cl_session_expired(const cl_session_t *s);

/* Whether the session should be read from the database again before the next request:
 * when a notification marked it stale (a logout elsewhere, a disabled user, changed roles
 * or projects, on any daemon), and in any case every [auth] session_recheck_ms. */
bool cl_session_stale(const cl_session_t *s, uint64_t now_ms, uint32_t recheck_ms);

/* Reads the request's session again (auth_session_resume), replaces or drops it, then
 * runs the request with cl_req_run; a database failure fails the request (retryable). */
void cl_session_revalidate(cl_req_t *req);

/* The request's session, or NULL before login. */
const cl_session_t *cl_req_session(const cl_req_t *req);

/* Scope parameters for SQL, in this order: role name, company id, contractor id, project
 * id array. Values point into static storage of buf (valid until the next call with the
 * same buf). company/contractor ids of 0 become SQL NULL. */
typedef struct cl_scope_params {
    const char *v[4];
    char company[24];
    char contractor[24];
} cl_scope_params_t;
void cl_session_scope_params(const cl_session_t *s, cl_scope_params_t *out);

/* The retention purge: every [auth] purge_interval_ms, deletes login failures older than
 * failure_retention_hours, sessions that ended (expired or revoked) more than
 * session_retention_days ago and notices older than [notice] retention_days, in batches of at most
 * CL_PURGE_BATCH rows per table and at most CL_PURGE_BATCHES batches per round. Stop it before
 * closing the pool; it frees itself once its timer has closed and its last batch has answered. */
#define CL_PURGE_BATCH   1000
#define CL_PURGE_BATCHES 10
typedef struct cl_session_purge cl_session_purge_t;
struct cl_db;
cl_session_purge_t *cl_session_purge_start(uv_loop_t *loop, struct cl_db *db,
                                           const cl_config_t *cfg);
void cl_session_purge_stop(cl_session_purge_t *p);

#endif
