/* session.c - login, session resume, logout and whoami, and the session's scope.
 *
 * Login: one transaction takes the advisory locks of the attempt's throttle counts,
 * admits or refuses the attempt (auth_login_attempt: a registered device counts its own
 * failures, otherwise the (username, address) pair, and a pair that never logged in also
 * its address and username) and reads the user; the password is verified with Argon2id on
 * the thread pool; success creates a random token whose SHA-256 alone is stored, in the
 * same transaction as the device record of a client certificate. Unknown users get the
 * same Argon2id work and the same answer as a wrong password, so neither timing nor
 * wording reveals which usernames exist. Every request's state is a heap struct freed
 * when the request finishes.
 * The retention purge (cl_session_purge_start) deletes old login failures and ended
 * sessions on a timer, in bounded batches. Loop thread only. */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl_sql.h"
#include "db.h"
#include "dispatch.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "password.h"
#include "ticker.h"

/* auth_login_attempt's limits, failures within THROTTLE_WINDOW (docs/OPERATIONS.md). */
#define THROTTLE_WINDOW        "15 minutes" /* $4 */
#define THROTTLE_PAIR_FAILURES "5"          /* $5: per (username, device) or (username, address) */
#define THROTTLE_PEER_FAILURES "20"         /* $6: per address, for pairs that never logged in */
#define THROTTLE_USER_FAILURES "50"         /* $7: per username, for pairs that never logged in */

/* The statements are in session.sql; CL_COL(user_rows, x) reads the user columns that
 * auth_login_lookup and auth_session_resume both begin with. */
#define UCOL(col) CL_COL(user_rows, col)

/* auth_session_resume's $1, the token's SHA-256, is sent binary (session.sql). */
static const int resume_lengths[] = {CL_TOKEN_HASH_LEN, 0};

const cl_session_t *cl_req_session(const cl_req_t *req) {
    return (const cl_session_t *)cl_conn_session(req->conn);
}

void cl_session_scope_params(const cl_session_t *s, cl_scope_params_t *out) {
    snprintf(out->company, sizeof out->company, "%" PRId64, s->company_id);
    snprintf(out->contractor, sizeof out->contractor, "%" PRId64, s->contractor_id);
    out->v[0] = cl_role_name(s->role);
    out->v[1] = s->company_id ? out->company : NULL;
    out->v[2] = s->contractor_id ? out->contractor : NULL;
    out->v[3] = s->project_ids;
}

/* Appends s to out as a JSON string body (no quotes), escaping as needed. */
static void json_escape(char *out, size_t len, const char *s) {
    size_t o = strlen(out);
    for (; *s && o + 7 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, len - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = 0;
}

static void session_set_actor(cl_session_t *s, const char *peer) {
    char *j = s->actor_json;
    size_t len = sizeof s->actor_json;
    snprintf(j, len, "{\"user_id\":%" PRId64 ",\"username\":\"", s->user_id);
    json_escape(j, len, s->username);
    strncat(j, "\",\"peer\":\"", len - strlen(j) - 1);
    json_escape(j, len, peer);
    strncat(j, "\",\"device\":\"", len - strlen(j) - 1);
    json_escape(j, len, s->device);
    strncat(j, "\"}", len - strlen(j) - 1);
}

/* Fills a session from the user_rows columns of row 0. */
static void session_from_row(cl_session_t *s, const PGresult *r) {
    memset(s, 0, sizeof *s);
    s->user_id = strtoll(PQgetvalue(r, 0, UCOL(id)), NULL, 10);
    snprintf(s->username, sizeof s->username, "%s", PQgetvalue(r, 0, UCOL(username)));
    snprintf(s->display_name, sizeof s->display_name, "%s", PQgetvalue(r, 0, UCOL(display_name)));
    s->role = cl_role_parse(PQgetvalue(r, 0, UCOL(role)));
    s->company_id = strtoll(PQgetvalue(r, 0, UCOL(company_id)), NULL, 10);
    s->contractor_id = strtoll(PQgetvalue(r, 0, UCOL(contractor_id)), NULL, 10);
    snprintf(s->company_name, sizeof s->company_name, "%s", PQgetvalue(r, 0, UCOL(company_name)));
    snprintf(s->contractor_name, sizeof s->contractor_name, "%s",
             PQgetvalue(r, 0, UCOL(contractor_name)));
    snprintf(s->project_ids, sizeof s->project_ids, "%s", PQgetvalue(r, 0, UCOL(project_ids)));
}

/* The address part of "addr:port", for per-address throttling. */
static void peer_address(const char *peer, char *out, size_t len) {
    snprintf(out, len, "%s", peer);
    char *colon = strrchr(out, ':');
    if (colon) *colon = 0;
}

/* WhoAmI from a session; project ids parsed from the array literal into ids[]. */
static void whoami_fill(const cl_session_t *s, cl_pb_whoami_t *w, int64_t *ids, size_t cap) {
    closeloop__who_am_i__init(w);
    w->user_id = s->user_id;
    w->username = (char *)s->username;
    w->display_name = (char *)s->display_name;
    w->role = (Closeloop__Role)s->role;
    w->company_id = s->company_id;
    w->company_name = (char *)s->company_name;
    w->contractor_id = s->contractor_id;
    w->contractor_name = (char *)s->contractor_name;
    w->expires_at_ms = s->expires_at_ms;
    w->device = (char *)s->device;
    w->device_company = (char *)s->device_company;
    size_t n = 0;
    for (const char *p = s->project_ids; *p && n < cap;) {
        if (*p >= '0' && *p <= '9') {
            char *end;
            ids[n++] = strtoll(p, &end, 10);
            p = end;
        } else {
            p++;
        }
    }
    w->n_project_ids = n;
    w->project_ids = ids;
}

static void reply_whoami(cl_req_t *req, const cl_session_t *s) {
    cl_pb_whoami_t w;
    int64_t ids[256];
    whoami_fill(s, &w, ids, sizeof ids / sizeof ids[0]);
    cl_req_reply(req, CL_MSG_WHOAMI, &w.base);
}

/* --- login --- */

typedef struct login_job {
    cl_req_t *req;
    cl_session_t *s; /* the session being built */
    char addr[64];   /* source address without port */
    char hash[CL_PASSWORD_HASH_MAX];
    bool known; /* the username exists and is enabled */
    char token[CL_TOKEN_LEN + 1];
    char attempt_id[24]; /* login_failures row of this attempt, deleted on success */
} login_job_t;

static void login_job_free(login_job_t *j) {
    free(j->s);
    free(j);
}

static void on_attempt_cleared(void *arg, const cl_db_result_t *r) {
    (void)arg;
    if (r->status != CL_OK) cl_log_warn("login_attempt_not_cleared", "error=\"%s\"", r->message);
}

/* The attempt's row stays in login_failures: it counts towards the throttle. */
static void login_fail(login_job_t *j) {
    const cl_pb_login_req_t *in = (const cl_pb_login_req_t *)j->req->msg;
    cl_log_info("login_failed", "username=%s peer=%s", in->username, j->addr);
    cl_req_fail(j->req, CL_EUNAUTH, "wrong username or password");
    login_job_free(j);
}

static void on_session_created(void *arg, const cl_db_result_t *r) {
    login_job_t *j = arg;
    if (r->status != CL_OK) {
        cl_req_fail(j->req, r->status, "cannot create the session: %s", r->message);
        login_job_free(j);
        return;
    }
    cl_session_t *s = j->s;
    const PGresult *created = r->res[1];
    s->expires_at_ms =
        strtoull(PQgetvalue(created, 0, CL_COL(auth_session_create, expires_ms)), NULL, 10);
    if (r->count > 2)
        snprintf(s->device_company, sizeof s->device_company, "%s",
                 PQgetvalue(r->res[2], 0, CL_COL(auth_device_seen, company_name)));
    cl_db_exec(cl_req_db(j->req), CL_SQL(auth_login_succeeded),
               CL_PARAMS(auth_login_succeeded, j->attempt_id), on_attempt_cleared, NULL);
    s->checked_at_ms = uv_now(cl_req_loop(j->req));
    j->s = NULL;
    cl_req_set_session(j->req, s); /* the connection owns it now */
    cl_log_info("login", "user=%s role=%s peer=%s device=\"%s\"", s->username,
                cl_role_name(s->role), j->addr, s->device);
    cl_pb_login_t out = CLOSELOOP__LOGIN_REPLY__INIT;
    cl_pb_whoami_t w;
    int64_t ids[256];
    whoami_fill(s, &w, ids, sizeof ids / sizeof ids[0]);
    out.token = j->token;
    out.expires_at_ms = s->expires_at_ms;
    out.user = &w;
    cl_req_reply(j->req, CL_MSG_LOGIN, &out.base);
    login_job_free(j);
}

static void on_password_checked(void *arg, int status, const char *encoded) {
    login_job_t *j = arg;
    (void)encoded;
    if (status != CL_OK || !j->known) {
        login_fail(j);
        return;
    }
    cl_session_t *s = j->s;
    char user_id[24], company[24];
    snprintf(user_id, sizeof user_id, "%" PRId64, s->user_id);
    snprintf(company, sizeof company, "%" PRId64, s->company_id);
    if (cl_token_new(j->token, sizeof j->token) != CL_OK) {
        cl_req_fail(j->req, CL_EINTERNAL, "cannot create a session token");
        login_job_free(j);
        return;
    }
    if (cl_token_hash(j->token, s->token_hash) != CL_OK) {
        cl_req_fail(j->req, CL_EINTERNAL, "cannot create a session token");
        login_job_free(j);
        return;
    }
    static const int hash_len[] = {CL_TOKEN_HASH_LEN, 0, 0, 0}; /* $1 is binary */
    cl_db_batch_t *b = cl_db_batch_new(cl_req_db(j->req));
    if (!b ||
        cl_db_batch_add(b, CL_SQL(set_actor), CL_PARAMS(set_actor, s->actor_json), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_session_create),
                        CL_PARAMS(auth_session_create, (const char *)s->token_hash, user_id,
                                  j->addr, s->device),
                        hash_len) != CL_OK ||
        (s->device[0] &&
         cl_db_batch_add(b, CL_SQL(auth_device_seen),
                         CL_PARAMS(auth_device_seen, s->device, s->company_id ? company : NULL),
                         NULL) != CL_OK)) {
        cl_db_batch_free(b);
        cl_req_fail(j->req, CL_ENOMEM, "out of memory");
        login_job_free(j);
        return;
    }
    cl_db_batch_run(b, on_session_created, j);
}

static void on_login_lookup(void *arg, const cl_db_result_t *r) {
    login_job_t *j = arg;
    const cl_pb_login_req_t *in = (const cl_pb_login_req_t *)j->req->msg;
    if (r->status != CL_OK) {
        cl_req_fail(j->req, r->status, "cannot check the login: %s", r->message);
        login_job_free(j);
        return;
    }
    const PGresult *attempt = r->res[2]; /* after the two locks */
    const PGresult *res = r->res[3];
    if (strcmp(PQgetvalue(attempt, 0, CL_COL(auth_login_attempt, admitted)), "t")) {
        cl_log_warn("login_throttled", "username=%s peer=%s device=%s", in->username, j->addr,
                    strcmp(PQgetvalue(attempt, 0, CL_COL(auth_login_attempt, device_known)), "t")
                        ? "none"
                        : "registered");
        cl_req_fail(j->req, CL_ETOOMANY,
                    "too many failed logins for this user from here; wait %s, or log in from "
                    "a registered device",
                    THROTTLE_WINDOW);
        login_job_free(j);
        return;
    }
    snprintf(j->attempt_id, sizeof j->attempt_id, "%s",
             PQgetvalue(attempt, 0, CL_COL(auth_login_attempt, id)));
    j->known =
        !PQgetisnull(res, 0, UCOL(id)) && strcmp(PQgetvalue(res, 0, UCOL(key_disabled)), "t");
    if (j->known) {
        session_from_row(j->s, res);
        snprintf(j->hash, sizeof j->hash, "%s", PQgetvalue(res, 0, UCOL(key_password_hash)));
        snprintf(j->s->device, sizeof j->s->device, "%s", cl_req_client_subject(j->req));
        session_set_actor(j->s, cl_req_peer(j->req));
    }
    /* An unknown user costs the same Argon2id work, against password.c's dummy hash. */
    uv_loop_t *loop = cl_req_loop(j->req);
    int rc = j->known
                 ? cl_password_verify_async(loop, j->hash, in->password, on_password_checked, j)
                 : cl_password_verify_unknown_async(loop, in->password, on_password_checked, j);
    if (rc != CL_OK) {
        cl_req_fail(j->req, CL_EINTERNAL, "cannot check the password");
        login_job_free(j);
    }
}

void cl_auth_login(cl_req_t *req) {
    const cl_pb_login_req_t *in = (const cl_pb_login_req_t *)req->msg;
    size_t ulen = strlen(in->username), plen = strlen(in->password);
    if (ulen == 0 || ulen > 64 || plen == 0 || plen > CL_PASSWORD_MAX_LEN) {
        cl_req_fail(req, CL_EINVAL, "a username (1-64 characters) and a password are required");
        return;
    }
    login_job_t *j = calloc(1, sizeof *j);
    if (j) j->s = calloc(1, sizeof *j->s);
    if (!j || !j->s) {
        free(j);
        cl_req_fail(req, CL_ENOMEM, "out of memory");
        return;
    }
    j->req = req;
    peer_address(cl_req_peer(req), j->addr, sizeof j->addr);
    const char *device = cl_req_client_subject(req);
    cl_db_batch_t *b = cl_db_batch_new(cl_req_db(req));
    /* The address lock first, then the user lock (session.sql, auth_login_lock). */
    if (!b ||
        cl_db_batch_add(b, CL_SQL(auth_login_lock), CL_PARAMS(auth_login_lock, "address", j->addr),
                        NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_login_lock),
                        CL_PARAMS(auth_login_lock, "user", in->username), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_login_attempt),
                        CL_PARAMS(auth_login_attempt, in->username, j->addr, device,
                                  THROTTLE_WINDOW, THROTTLE_PAIR_FAILURES, THROTTLE_PEER_FAILURES,
                                  THROTTLE_USER_FAILURES),
                        NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_login_lookup), CL_PARAMS(auth_login_lookup, in->username),
                        NULL) != CL_OK) {
        cl_db_batch_free(b);
        login_job_free(j);
        cl_req_fail(req, CL_ENOMEM, "out of memory");
        return;
    }
    cl_db_batch_run(b, on_login_lookup, j);
}

/* --- resume, logout, whoami --- */

/* A session from an auth_session_resume row (NULL when out of memory). */
static cl_session_t *session_from_resume(cl_req_t *req, const PGresult *res,
                                         const uint8_t token_hash[CL_TOKEN_HASH_LEN]) {
    cl_session_t *s = malloc(sizeof *s);
    if (!s) return NULL;
    session_from_row(s, res);
    s->expires_at_ms =
        strtoull(PQgetvalue(res, 0, CL_COL(auth_session_resume, expires_ms)), NULL, 10);
    snprintf(s->device_company, sizeof s->device_company, "%s",
             PQgetvalue(res, 0, CL_COL(auth_session_resume, device_company)));
    snprintf(s->device, sizeof s->device, "%s", cl_req_client_subject(req));
    memcpy(s->token_hash, token_hash, sizeof s->token_hash);
    session_set_actor(s, cl_req_peer(req));
    s->checked_at_ms = uv_now(cl_req_loop(req));
    return s;
}

static void on_resume_lookup(void *arg, const cl_db_result_t *r) {
    cl_req_t *req = arg;
    if (r->status != CL_OK) {
        cl_req_fail(req, r->status, "cannot check the session: %s", r->message);
        return;
    }
    const PGresult *res = r->res[0];
    if (PQntuples(res) != 1) {
        cl_req_fail(req, CL_EUNAUTH, "the session has expired or was ended; log in again");
        return;
    }
    const cl_pb_resume_req_t *in = (const cl_pb_resume_req_t *)req->msg;
    uint8_t hash[CL_TOKEN_HASH_LEN];
    cl_session_t *s =
        cl_token_hash(in->token, hash) == CL_OK ? session_from_resume(req, res, hash) : NULL;
    if (!s) {
        cl_req_fail(req, CL_ENOMEM, "out of memory");
        return;
    }
    cl_req_set_session(req, s);
    reply_whoami(req, s);
}

bool cl_session_expired(const cl_session_t *s) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return s->expires_at_ms != 0 && now >= s->expires_at_ms;
}

bool cl_session_stale(const cl_session_t *s, uint64_t now_ms, uint32_t recheck_ms) {
    return s->stale || now_ms - s->checked_at_ms >= recheck_ms;
}

static void on_revalidated(void *arg, const cl_db_result_t *r) {
    cl_req_t *req = arg;
    if (r->status != CL_OK) {
        cl_req_fail(req, r->status, "cannot check the session: %s", r->message);
        return;
    }
    const cl_session_t *old = cl_req_session(req);
    if (!old) { /* logged out on this connection meanwhile */
        cl_req_run(req);
        return;
    }
    if (PQntuples(r->res[0]) != 1) {
        cl_log_info("session_ended", "user=%s reason=\"revoked, expired or user disabled\"",
                    old->username);
        cl_req_set_session(req, NULL);
    } else {
        cl_session_t *s = session_from_resume(req, r->res[0], old->token_hash);
        if (!s) {
            cl_req_fail(req, CL_ENOMEM, "out of memory");
            return;
        }
        /* A notification that came while this read was under way may be newer than it. */
        s->stale = old->stale;
        cl_req_set_session(req, s);
    }
    cl_req_run(req);
}

void cl_session_revalidate(cl_req_t *req) {
    cl_session_t *s = (cl_session_t *)cl_req_session(req);
    s->stale = false; /* this read answers the notifications so far */
    cl_db_exec_bin(cl_req_db(req), CL_SQL(auth_session_resume),
                   CL_PARAMS(auth_session_resume, (const char *)s->token_hash, s->device),
                   resume_lengths, on_revalidated, req);
}

void cl_auth_resume(cl_req_t *req) {
    const cl_pb_resume_req_t *in = (const cl_pb_resume_req_t *)req->msg;
    if (strlen(in->token) != CL_TOKEN_LEN) {
        cl_req_fail(req, CL_EUNAUTH, "the session has expired or was ended; log in again");
        return;
    }
    uint8_t hash[CL_TOKEN_HASH_LEN];
    if (cl_token_hash(in->token, hash) != CL_OK) {
        cl_req_fail(req, CL_EINTERNAL, "cannot check the session");
        return;
    }
    cl_db_exec_bin(cl_req_db(req), CL_SQL(auth_session_resume),
                   CL_PARAMS(auth_session_resume, (const char *)hash, cl_req_client_subject(req)),
                   resume_lengths, on_resume_lookup, req);
}

static void on_logout(void *arg, const cl_db_result_t *r) {
    cl_req_t *req = arg;
    const uint8_t *ended = req->data; /* the token hash this logout revoked */
    if (r->status != CL_OK) {
        free(req->data);
        cl_req_fail(req, r->status, "cannot end the session: %s", r->message);
        return;
    }
    /* A login on this connection may have replaced the session meanwhile: keep that one. */
    const cl_session_t *now = cl_req_session(req);
    if (now && !memcmp(now->token_hash, ended, CL_TOKEN_HASH_LEN)) cl_req_set_session(req, NULL);
    free(req->data);
    cl_pb_ok_t ok = CLOSELOOP__OK__INIT;
    cl_req_reply(req, CL_MSG_OK, &ok.base);
}

void cl_auth_logout(cl_req_t *req) {
    const cl_session_t *s = cl_req_session(req);
    static const int hash_len[] = {CL_TOKEN_HASH_LEN}; /* $1 is binary */
    uint8_t *ended = malloc(CL_TOKEN_HASH_LEN);        /* on_logout frees it */
    cl_db_batch_t *b = ended ? cl_db_batch_new(cl_req_db(req)) : NULL;
    if (!b ||
        cl_db_batch_add(b, CL_SQL(set_actor), CL_PARAMS(set_actor, s->actor_json), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_logout), CL_PARAMS(auth_logout, (const char *)s->token_hash),
                        hash_len) != CL_OK) {
        cl_db_batch_free(b);
        free(ended);
        cl_req_fail(req, CL_ENOMEM, "out of memory");
        return;
    }
    memcpy(ended, s->token_hash, CL_TOKEN_HASH_LEN);
    req->data = ended;
    cl_db_batch_run(b, on_logout, req);
}

void cl_auth_whoami(cl_req_t *req) {
    reply_whoami(req, cl_req_session(req));
}

/* --- the retention purge --- */

struct cl_session_purge {
    cl_ticker_t ticker; /* first: the purge's timer and batch in flight */
    const cl_config_t *cfg;
    int batches; /* batches run in this round */
};

#define PURGE_ACTOR "{\"user_id\":null,\"username\":\"closeloopd\",\"purpose\":\"retention\"}"

static void purge_run(cl_session_purge_t *p);

static void on_purged(void *arg, const cl_db_result_t *r) {
    cl_session_purge_t *p = arg;
    if (!cl_ticker_landed(&p->ticker)) return;
    if (r->status != CL_OK) {
        cl_log_warn("purge_failed", "error=\"%s\"", r->message);
        return; /* the timer tries again */
    }
    long failures = strtol(PQcmdTuples(r->res[1]), NULL, 10);
    long sessions = strtol(PQcmdTuples(r->res[2]), NULL, 10);
    long notices = strtol(PQcmdTuples(r->res[3]), NULL, 10);
    if (failures || sessions || notices)
        cl_log_info("purged", "login_failures=%ld sessions=%ld notices=%ld", failures, sessions,
                    notices);
    /* A full batch means more is waiting: go on, up to CL_PURGE_BATCHES per round. */
    if ((failures == CL_PURGE_BATCH || sessions == CL_PURGE_BATCH || notices == CL_PURGE_BATCH) &&
        p->batches < CL_PURGE_BATCHES)
        purge_run(p);
}

static void purge_run(cl_session_purge_t *p) {
    char failure_age[32], session_age[32], notice_age[32], limit[16];
    snprintf(failure_age, sizeof failure_age, "%u hours", p->cfg->auth_failure_retention_hours);
    snprintf(session_age, sizeof session_age, "%u days", p->cfg->auth_session_retention_days);
    snprintf(notice_age, sizeof notice_age, "%u days", p->cfg->notice_retention_days);
    snprintf(limit, sizeof limit, "%d", CL_PURGE_BATCH);
    cl_db_batch_t *b = cl_db_batch_new(p->ticker.db);
    if (!b ||
        cl_db_batch_add(b, CL_SQL(set_actor), CL_PARAMS(set_actor, PURGE_ACTOR), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_purge_failures),
                        CL_PARAMS(auth_purge_failures, failure_age, limit), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(auth_purge_sessions),
                        CL_PARAMS(auth_purge_sessions, session_age, limit), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(purge_notices), CL_PARAMS(purge_notices, notice_age, limit),
                        NULL) != CL_OK) {
        cl_db_batch_free(b);
        cl_log_warn("purge_failed", "error=\"out of memory\"");
        return;
    }
    p->batches++;
    cl_ticker_run(&p->ticker, b, on_purged);
}

static void purge_tick(cl_ticker_t *t) {
    cl_session_purge_t *p = (cl_session_purge_t *)t;
    p->batches = 0;
    purge_run(p);
}

cl_session_purge_t *cl_session_purge_start(uv_loop_t *loop, struct cl_db *db,
                                           const cl_config_t *cfg) {
    cl_session_purge_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->cfg = cfg;
    cl_ticker_init(&p->ticker, loop, db, purge_tick, NULL);
    cl_ticker_every(&p->ticker, cfg->auth_purge_interval_ms, cfg->auth_purge_interval_ms);
    return p;
}

void cl_session_purge_stop(cl_session_purge_t *p) {
    if (p) cl_ticker_stop(&p->ticker);
}
