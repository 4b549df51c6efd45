/* test_identity.c - login, sessions and the database pool, end to end: a real
 * PostgreSQL (pgtest), the real daemon, libcloop over TLS. Covers Argon2id-only password
 * storage, hashed session tokens, resume on a new connection, logout, throttling of
 * failed logins, the audit trail of sessions, PostgreSQL being killed while clients
 * are busy: retryable errors, no crash, recovery without restarting closeloopd; and a
 * streamed list whose page cannot be sent: one error ends it, and nothing follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "harness.h"
#include "pgtest.h"
#include "testenv.h"

static pgtest_t pg;
static th_daemon_t d;
static char db_env[600];

#define ADMIN_PASSWORD "correct horse battery"

static int bootstrap_admin(const char *user, const char *password) {
    return th_bootstrap_admin(pg.conninfo, user, password);
}

static long long sql_int(const char *sql) {
    return pgtest_int(&pg, sql);
}

/* The admin (which migrates the database), then the daemon on it. */
static int start_daemon(pgtest_t *cluster) {
    if (bootstrap_admin("admin", ADMIN_PASSWORD) != 0) return -1;
    snprintf(db_env, sizeof db_env, "CLOSELOOP_DB_CONNINFO=%s", cluster->conninfo);
    /* Sessions are re-read often here, so the revocation test need not wait 30 s. */
    const char *env[] = {db_env, "CLOSELOOP_DB_POOL_SIZE=4",
                         "CLOSELOOP_AUTH_SESSION_RECHECK_MS=300", NULL};
    return th_daemon_start(&d, env);
}

static int stop_daemon(pgtest_t *cluster) {
    (void)cluster;
    return th_daemon_stop(&d) == 0 ? 0 : -1;
}

/* Logs in on a fresh connection, which must answer want; with token (64 bytes), the
 * session token of a login that succeeded. Returns the client. */
static cl_client_t *login(const char *user, const char *password, int want, char *token) {
    cl_client_t *c = th_connect(&d, 0);
    assert_non_null(c);
    cl_pb_login_req_t req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = (char *)user;
    req.password = (char *)password;
    ProtobufCMessage *reply = NULL;
    int code = cl_client_call(c, CL_MSG_LOGIN_REQ, &req.base, CL_MSG_LOGIN, &reply);
    if (code == CL_OK && token) snprintf(token, 64, "%s", ((cl_pb_login_t *)reply)->token);
    cl_msg_free(reply);
    assert_int_equal(code, want);
    return c;
}

static int whoami(cl_client_t *c, char *username, size_t len) {
    cl_pb_whoami_req_t req = CLOSELOOP__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, CL_MSG_WHOAMI_REQ, &req.base, CL_MSG_WHOAMI, &reply);
    if (rc == CL_OK && username) snprintf(username, len, "%s", ((cl_pb_whoami_t *)reply)->username);
    cl_msg_free(reply);
    return rc;
}

static void requests_need_a_session(void **state) {
    (void)state;
    cl_client_t *c = th_connect(&d, 0);
    assert_non_null(c);
    assert_int_equal(whoami(c, NULL, 0), CL_EUNAUTH);
    cl_pb_project_list_req_t req = CLOSELOOP__PROJECT_LIST_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    assert_int_equal(
        cl_client_call(c, CL_MSG_PROJECT_LIST_REQ, &req.base, CL_MSG_PROJECT_PAGE, &reply),
        CL_EUNAUTH);
    cl_client_close(c);
}

static void login_whoami_resume_logout(void **state) {
    (void)state;
    char token[64] = "", name[80];
    cl_client_t *c = login("admin", ADMIN_PASSWORD, CL_OK, token);
    assert_int_equal(strlen(token), 43);
    assert_int_equal(whoami(c, name, sizeof name), CL_OK);
    assert_string_equal(name, "admin");

    /* the token resumes the session on another connection */
    cl_client_t *c2 = th_connect(&d, 0);
    assert_non_null(c2);
    assert_int_equal(th_resume(c2, token), CL_OK);
    assert_int_equal(whoami(c2, name, sizeof name), CL_OK);
    assert_string_equal(name, "admin");

    /* logout ends it everywhere: this connection, and any later resume */
    assert_int_equal(th_logout(c), CL_OK);
    assert_int_equal(whoami(c, NULL, 0), CL_EUNAUTH);
    cl_client_t *c3 = th_connect(&d, 0);
    assert_int_equal(th_resume(c3, token), CL_EUNAUTH);
    assert_int_equal(th_resume(c3, "not-a-token"), CL_EUNAUTH);
    cl_client_close(c3);
    cl_client_close(c2);
    cl_client_close(c);

    /* only hashes are stored, and the session is in the audit trail */
    assert_int_equal(sql_int("SELECT count(*) FROM users WHERE password_hash NOT LIKE "
                             "'$argon2id$v=19$m=19456,t=2,p=1$%'"),
                     0);
    assert_int_equal(sql_int("SELECT count(*) FROM sessions WHERE length(token_hash) <> 32"), 0);
    assert_true(sql_int("SELECT count(*) FROM audit_log WHERE entity = 'sessions' AND "
                        "actor->>'username' = 'admin' AND action = 'insert'") >= 1);
    assert_true(sql_int("SELECT count(*) FROM audit_log WHERE entity = 'sessions' AND "
                        "action = 'update'") >= 1);
}

/* Logout elsewhere and a disabled user end the session on connections already open. */
static void revocation_reaches_open_connections(void **state) {
    (void)state;
    char token[64];
    cl_client_t *c1 = login("admin", ADMIN_PASSWORD, CL_OK, token);
    cl_client_t *c2 = th_connect(&d, 0);
    assert_int_equal(th_resume(c2, token), CL_OK);
    assert_int_equal(whoami(c2, NULL, 0), CL_OK);
    assert_int_equal(th_logout(c1), CL_OK);
    usleep(400000); /* > session_recheck_ms */
    assert_int_equal(whoami(c2, NULL, 0), CL_EUNAUTH);
    cl_client_close(c2);
    cl_client_close(c1);

    assert_int_equal(bootstrap_admin("leaver", "leaver password 1"), 0);
    cl_client_t *c3 = login("leaver", "leaver password 1", CL_OK, NULL);
    assert_int_equal(whoami(c3, NULL, 0), CL_OK);
    PGconn *pgc = PQconnectdb(pg.conninfo);
    PQclear(PQexec(pgc, "BEGIN; SELECT set_config('closeloop.actor', '{\"user_id\":0}', true); "
                        "UPDATE users SET disabled = true WHERE username = 'leaver'; COMMIT"));
    PQfinish(pgc);
    usleep(400000);
    assert_int_equal(whoami(c3, NULL, 0), CL_EUNAUTH);
    cl_client_close(c3);
}

/* Many concurrent wrong logins cannot all slip under the limit. */
static void concurrent_guesses_are_throttled(void **state) {
    (void)state;
    assert_int_equal(bootstrap_admin("target", "target password 1"), 0);
    cl_client_t *c = th_connect(&d, 0);
    assert_non_null(c);
    cl_pb_login_req_t req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = "target";
    req.password = "guess";
    enum { N = 40 };
    for (int i = 0; i < N; i++)
        assert_int_equal(cl_client_send(c, cl_client_next_id(c), CL_MSG_LOGIN_REQ, &req.base),
                         CL_OK);
    int wrong = 0, throttled = 0;
    for (int i = 0; i < N; i++) {
        cl_reply_t r;
        assert_int_equal(cl_client_recv(c, &r, 30000), CL_OK);
        if (r.err == CL_EUNAUTH) wrong++;
        if (r.err == CL_ETOOMANY) throttled++;
        cl_reply_clear(&r);
    }
    cl_client_close(c);
    print_message("%d checked, %d throttled\n", wrong, throttled);
    assert_int_equal(wrong + throttled, N);
    assert_int_equal(wrong, 5); /* the limit exactly: counting and admitting are atomic */
}

static void wrong_password_and_unknown_user_look_the_same(void **state) {
    (void)state;
    cl_client_t *c = login("admin", "wrong password", CL_EUNAUTH, NULL);
    char wrong[256];
    snprintf(wrong, sizeof wrong, "%s", cl_client_error(c));
    cl_client_close(c);
    c = login("nobody-here", "wrong password", CL_EUNAUTH, NULL);
    assert_string_equal(cl_client_error(c), wrong);
    cl_client_close(c);
}

static void failed_logins_are_throttled(void **state) {
    (void)state;
    assert_int_equal(bootstrap_admin("victim", "victim password 1"), 0);
    for (int i = 0; i < 5; i++) {
        cl_client_t *c = login("victim", "guess", CL_EUNAUTH, NULL);
        cl_client_close(c);
    }
    /* even the right password, for a while */
    cl_client_t *c = login("victim", "victim password 1", CL_ETOOMANY, NULL);
    assert_non_null(strstr(cl_client_error(c), "too many failed logins"));
    cl_client_close(c);
    /* other users are not affected */
    c = login("admin", ADMIN_PASSWORD, CL_OK, NULL);
    cl_client_close(c);
}

static void client_certificate_registers_the_device(void **state) {
    (void)state;
    cl_client_t *c = th_connect(&d, 1);
    assert_non_null(c);
    cl_pb_login_req_t req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = "admin";
    req.password = ADMIN_PASSWORD;
    ProtobufCMessage *reply = NULL;
    assert_int_equal(cl_client_call(c, CL_MSG_LOGIN_REQ, &req.base, CL_MSG_LOGIN, &reply), CL_OK);
    assert_non_null(strstr(((cl_pb_login_t *)reply)->user->device, "desktop-1"));
    cl_msg_free(reply);
    cl_client_close(c);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE subject LIKE '%desktop-1%'"), 1);
}

/* Creates a company (kind "project") as admin on c; returns its id. */
static int64_t company_add(cl_client_t *c, const char *key, const char *name) {
    cl_pb_company_create_t req = CLOSELOOP__COMPANY_CREATE__INIT;
    req.idempotency_key = (char *)key;
    req.name = (char *)name;
    req.kind = CLOSELOOP__COMPANY_KIND__COMPANY_PROJECT;
    ProtobufCMessage *reply = NULL;
    assert_int_equal(
        cl_client_call(c, CL_MSG_COMPANY_CREATE_REQ, &req.base, CL_MSG_COMPANY, &reply), CL_OK);
    int64_t id = ((cl_pb_company_t *)reply)->meta->id;
    cl_msg_free(reply);
    return id;
}

static void project_add(cl_client_t *c, const char *key, int64_t company, const char *name) {
    cl_pb_project_create_t req = CLOSELOOP__PROJECT_CREATE__INIT;
    req.idempotency_key = (char *)key;
    req.company_id = company;
    req.name = (char *)name;
    ProtobufCMessage *reply = NULL;
    assert_int_equal(
        cl_client_call(c, CL_MSG_PROJECT_CREATE_REQ, &req.base, CL_MSG_PROJECT, &reply), CL_OK);
    cl_msg_free(reply);
}

/* A streamed list on a daemon with the smallest max_frame (1024 bytes): the second page
 * holds one project larger than a frame (its company's name is 800 bytes). The client
 * gets the first page, then one error that ends the request, and no further page of it:
 * the next frame is the answer to its next request. */
static void stream_ends_at_a_page_too_large(void **state) {
    (void)state;
    cl_client_t *c = login("admin", ADMIN_PASSWORD, CL_OK, NULL);
    char big_company[1024] = "", big_project[256] = "b";
    for (int i = 0; i < 200; i++) /* 200 characters (the limit), 4 bytes each */
        strcat(big_company, "\xf0\x9f\x8f\xa0");
    for (int i = 0; i < 50; i++)
        strcat(big_project, "\xf0\x9f\x8f\xa0");
    int64_t small = company_add(c, "stream-co-small", "stream small company");
    int64_t big = company_add(c, "stream-co-big", big_company);
    project_add(c, "stream-p-a", small, "a small project");
    project_add(c, "stream-p-b", big, big_project);
    project_add(c, "stream-p-c", small, "c small project");
    cl_client_close(c);

    th_daemon_t d2;
    const char *env[] = {db_env, "CLOSELOOP_SERVER_MAX_FRAME=1024", NULL};
    assert_int_equal(th_daemon_start(&d2, env), 0);
    c = th_connect(&d2, 0);
    assert_non_null(c);
    ProtobufCMessage *login_reply = NULL;
    assert_int_equal(cl_client_login(c, "admin", ADMIN_PASSWORD, &login_reply), CL_OK);
    cl_msg_free(login_reply);

    cl_pb_project_list_req_t list = CLOSELOOP__PROJECT_LIST_REQUEST__INIT;
    uint32_t list_id = cl_client_next_id(c);
    assert_int_equal(cl_client_send(c, list_id, CL_MSG_PROJECT_LIST_REQ, &list.base), CL_OK);
    cl_reply_t r;
    assert_int_equal(cl_client_recv(c, &r, 10000), CL_OK);
    assert_int_equal(r.req_id, list_id);
    assert_int_equal(r.err, CL_OK);
    assert_int_equal(r.type, CL_MSG_PROJECT_PAGE);
    assert_false(r.flags & CL_FRAME_FLAG_LAST);
    cl_pb_project_page_t *page = (cl_pb_project_page_t *)r.msg;
    assert_int_equal(page->n_items, 1);
    assert_string_equal(page->items[0]->name, "a small project");
    cl_reply_clear(&r);

    assert_int_equal(cl_client_recv(c, &r, 10000), CL_OK);
    assert_int_equal(r.req_id, list_id);
    assert_int_equal(r.err, CL_EINTERNAL);
    assert_int_equal(r.flags & (CL_FRAME_FLAG_ERROR | CL_FRAME_FLAG_LAST),
                     CL_FRAME_FLAG_ERROR | CL_FRAME_FLAG_LAST);
    assert_non_null(strstr(r.errmsg, "larger than max_frame"));
    cl_reply_clear(&r);

    /* Nothing more of the list: the next frame is the ping's pong. */
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    uint32_t ping_id = cl_client_next_id(c);
    assert_int_equal(cl_client_send(c, ping_id, CL_MSG_PING, &ping.base), CL_OK);
    assert_int_equal(cl_client_recv(c, &r, 10000), CL_OK);
    if (r.req_id != ping_id)
        fail_msg("a frame of request %u (type %u, flags %u) came after its error reply", r.req_id,
                 r.type, r.flags);
    assert_int_equal(r.type, CL_MSG_PONG);
    cl_reply_clear(&r);
    cl_client_close(c);
    assert_int_equal(th_daemon_stop(&d2), 0);
    assert_true(th_log_contains(&d2, "event=reply_too_large"));
}

/* Resumes the session once; returns the code. */
static int resume_fresh(const char *token) {
    cl_client_t *c = th_connect(&d, 0);
    if (!c) return CL_ECLOSED;
    int rc = th_resume(c, token);
    cl_client_close(c);
    return rc;
}

static void postgres_killed_and_restarted(void **state) {
    (void)state;
    char token[64];
    cl_client_t *c = login("admin", ADMIN_PASSWORD, CL_OK, token);

    /* Keep several requests in flight on one connection while PostgreSQL dies. */
    cl_pb_resume_req_t req = CLOSELOOP__SESSION_RESUME_REQUEST__INIT;
    req.token = token;
    for (int i = 0; i < 8; i++)
        assert_int_equal(
            cl_client_send(c, cl_client_next_id(c), CL_MSG_SESSION_RESUME_REQ, &req.base), CL_OK);
    assert_int_equal(pgtest_stop(&pg, PGTEST_IMMEDIATE), 0);
    int ok = 0, retryable = 0;
    for (int i = 0; i < 8; i++) {
        cl_reply_t r;
        assert_int_equal(cl_client_recv(c, &r, 20000), CL_OK);
        if (r.err == CL_OK)
            ok++;
        else if (r.retryable)
            retryable++;
        else
            fail_msg("non-retryable error while the database was down: %s", r.errmsg);
        cl_reply_clear(&r);
    }
    assert_int_equal(ok + retryable, 8);

    /* While it is down: a clear retryable error, and the daemon keeps serving pings. */
    int rc = resume_fresh(token);
    assert_int_equal(rc, CL_EUNAVAIL);
    assert_true(cl_err_retryable(rc));
    assert_int_equal(th_ping_fresh(&d), CL_OK);
    assert_true(th_daemon_alive(&d));

    /* PostgreSQL comes back; the pool reconnects by itself. */
    assert_int_equal(pgtest_restart_after_kill(&pg), 0);
    time_t deadline = time(NULL) + 30;
    while ((rc = resume_fresh(token)) != CL_OK && time(NULL) < deadline)
        usleep(200000);
    assert_int_equal(rc, CL_OK);
    cl_client_close(c);
    assert_true(th_log_contains(&d, "event=db_connection_lost"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_need_a_session),
        cmocka_unit_test(login_whoami_resume_logout),
        cmocka_unit_test(revocation_reaches_open_connections),
        cmocka_unit_test(wrong_password_and_unknown_user_look_the_same),
        cmocka_unit_test(failed_logins_are_throttled),
        cmocka_unit_test(client_certificate_registers_the_device),
        cmocka_unit_test(stream_ends_at_a_page_too_large),
        cmocka_unit_test(postgres_killed_and_restarted),
        /* last: its attempts from 127.0.0.1 count towards that address's limit */
        cmocka_unit_test(concurrent_guesses_are_throttled),
    };
    const pgtest_group_t group = {.pg = &pg, .ready = start_daemon, .done = stop_daemon};
    return pgtest_run_group(&group, tests, sizeof tests / sizeof tests[0]);
}
