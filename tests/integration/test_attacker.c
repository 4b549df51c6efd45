/* test_attacker.c - what a stranger can no longer do to closeloopd (issue 8, part B and
 * A10), against a real PostgreSQL (pgtest) and real daemons:
 * - 1,000 wrong passwords for one user, then the owner logs in at once from a registered
 *   device and from another address; concurrent guesses get exactly the limit of checks;
 * - the retention purge removes old login failures, ended sessions and old notices, keeps
 *   recent ones;
 * - 10,000 idle unauthenticated connections from one address, and a logged-in user still
 *   works; a stranger that only pings is closed at the login timeout; strangers never take
 *   the reserved slots;
 * - 300 clients that never read, and the daemon stays under its output budget;
 * - a request after SIGTERM gets ERR_SHUTTING_DOWN and the queued reply arrives whole; a
 *   drain cut short by its timeout exits non-zero;
 * - a logout or a disabled user takes effect at once on every daemon of the database;
 * - the Ping payload limit and the error code of invalid UTF-8, as PROTOCOL.md says.
 * Another client address is another loopback address (127.0.0.2), bound by the client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <netinet/in.h>

#include "harness.h"
#include "msg.h"
#include "pgtest.h"
#include "testenv.h"

static pgtest_t pg;
static th_daemon_t d; /* the group's daemon: pool of 8, for the login tests */
static char db_env[600];

#define FLOOD_CONNECTIONS 10000

static int bootstrap_admin(const char *user, const char *password) {
    return th_bootstrap_admin(pg.conninfo, user, password);
}

static long long sql_int(const char *sql) {
    return pgtest_int(&pg, sql);
}

/* Runs statements as the test actor; the test fails when they do. */
static void sql_exec(const char *sql) {
    char all[8192];
    snprintf(all, sizeof all,
             "BEGIN; SELECT set_config('closeloop.actor', '{\"user_id\":0}', true); %s; COMMIT",
             sql);
    PGconn *c = PQconnectdb(pg.conninfo);
    PGresult *r = PQexec(c, all);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("sql_exec: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static int start_daemon(pgtest_t *cluster) {
    if (bootstrap_admin("admin", "admin password 1") != 0) return -1;
    snprintf(db_env, sizeof db_env, "CLOSELOOP_DB_CONNINFO=%s", cluster->conninfo);
    const char *env[] = {db_env, "CLOSELOOP_DB_POOL_SIZE=8", NULL};
    return th_daemon_start(&d, env);
}

static int stop_daemon(pgtest_t *cluster) {
    (void)cluster;
    return th_daemon_stop(&d) == 0 ? 0 : -1;
}

/* A login on c: the reply's code; with token (64 bytes), the session token. */
static int login_on(cl_client_t *c, const char *user, const char *password, char *token) {
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_login(c, user, password, &reply);
    if (rc == CL_OK && token) snprintf(token, 64, "%s", ((cl_pb_login_t *)reply)->token);
    cl_msg_free(reply);
    return rc;
}

static int whoami(cl_client_t *c) {
    cl_pb_whoami_req_t req = CLOSELOOP__WHO_AM_IREQUEST__INIT;
    return th_call_code(c, CL_MSG_WHOAMI_REQ, &req.base, CL_MSG_WHOAMI);
}

/* A login over a raw TLS connection from address src: the reply's code. */
static int login_from(const th_daemon_t *dm, const char *src, const char *user,
                      const char *password) {
    th_raw_t r;
    assert_int_equal(th_raw_open_from(dm, &r, src), 0);
    cl_pb_login_req_t req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = (char *)user;
    req.password = (char *)password;
    int rc = th_raw_call(&r, 1, CL_MSG_LOGIN_REQ, &req.base, CL_MSG_LOGIN, 30000);
    th_raw_close(&r);
    return rc;
}

/* Sends n logins for user on c, at most window in flight; counts the wrong-password
 * answers and the throttled ones (every answer must be one of the two). */
static void guess(cl_client_t *c, const char *user, int n, int window, int *wrong, int *throttled) {
    cl_pb_login_req_t req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = (char *)user;
    req.password = "not the password";
    int sent = 0, got = 0;
    *wrong = *throttled = 0;
    while (got < n) {
        while (sent < n && sent - got < window) {
            assert_int_equal(cl_client_send(c, cl_client_next_id(c), CL_MSG_LOGIN_REQ, &req.base),
                             CL_OK);
            sent++;
        }
        cl_reply_t r;
        assert_int_equal(cl_client_recv(c, &r, 60000), CL_OK);
        if (r.err == CL_EUNAUTH) ++*wrong;
        if (r.err == CL_ETOOMANY) ++*throttled;
        cl_reply_clear(&r);
        got++;
    }
    assert_int_equal(*wrong + *throttled, n);
}

/* --- B1: a flood slows the attacker, not the owner --- */

static void flood_of_wrong_passwords_leaves_the_owner_in(void **state) {
    (void)state;
    assert_int_equal(bootstrap_admin("owner", "owner password 1"), 0);
    /* The owner's desktop (the test client certificate) is registered by a first login. */
    cl_client_t *dev = th_connect(&d, 1);
    assert_non_null(dev);
    assert_int_equal(login_on(dev, "owner", "owner password 1", NULL), CL_OK);
    cl_client_close(dev);
    assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE subject LIKE '%desktop-1%'"), 1);

    /* 1,000 wrong passwords from 127.0.0.1, without a certificate */
    cl_client_t *att = th_connect(&d, 0);
    assert_non_null(att);
    int wrong, throttled;
    guess(att, "owner", 1000, 50, &wrong, &throttled);
    print_message("1000 guesses: %d checked, %d throttled\n", wrong, throttled);
    assert_int_equal(wrong, 5);
    assert_int_equal(throttled, 995);
    /* the attacker's address stays slowed, even with the right password */
    assert_int_equal(login_on(att, "owner", "owner password 1", NULL), CL_ETOOMANY);
    cl_client_close(att);
    /* refused tries are not recorded: the flood left only the five it checked */
    assert_int_equal(sql_int("SELECT count(*) FROM login_failures WHERE username = 'owner'"), 5);

    /* the owner logs in at once: from the registered device ... */
    dev = th_connect(&d, 1);
    assert_non_null(dev);
    assert_int_equal(login_on(dev, "owner", "owner password 1", NULL), CL_OK);
    assert_int_equal(whoami(dev), CL_OK);
    cl_client_close(dev);
    /* ... and from another address */
    assert_int_equal(login_from(&d, "127.0.0.2", "owner", "owner password 1"), CL_OK);
}

/* 64 simultaneous guesses on 8 connections, against a pool of 8: exactly the limit of 5
 * is checked, the rest throttled. */
static void concurrent_guesses_get_exactly_the_limit(void **state) {
    (void)state;
    assert_int_equal(bootstrap_admin("racer", "racer password 1"), 0);
    enum { CONNS = 8, EACH = 8 };
    cl_client_t *cs[CONNS];
    cl_pb_login_req_t req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = "racer";
    req.password = "guess";
    for (int i = 0; i < CONNS; i++)
        assert_non_null(cs[i] = th_connect(&d, 0));
    for (int k = 0; k < EACH; k++)
        for (int i = 0; i < CONNS; i++)
            assert_int_equal(
                cl_client_send(cs[i], cl_client_next_id(cs[i]), CL_MSG_LOGIN_REQ, &req.base),
                CL_OK);
    int wrong = 0, throttled = 0;
    for (int i = 0; i < CONNS; i++) {
        for (int k = 0; k < EACH; k++) {
            cl_reply_t r;
            assert_int_equal(cl_client_recv(cs[i], &r, 60000), CL_OK);
            if (r.err == CL_EUNAUTH) wrong++;
            if (r.err == CL_ETOOMANY) throttled++;
            cl_reply_clear(&r);
        }
        cl_client_close(cs[i]);
    }
    print_message("%d checked, %d throttled\n", wrong, throttled);
    assert_int_equal(wrong + throttled, CONNS * EACH);
    assert_int_equal(wrong, 5);
}

/* --- B2: the retention purge --- */

static void purge_removes_old_rows_and_keeps_recent_ones(void **state) {
    (void)state;
    assert_int_equal(bootstrap_admin("purgee", "purgee password 1"), 0);
    sql_exec("INSERT INTO login_failures (username, peer, at) "
             "SELECT 'purge-old', '10.9.9.9', now() - interval '2 days' "
             "  FROM generate_series(1, 2500); "
             "INSERT INTO login_failures (username, peer, at) "
             "SELECT 'purge-new', '10.9.9.9', now() - interval '1 hour' "
             "  FROM generate_series(1, 3); "
             "INSERT INTO sessions (token_hash, user_id, peer, created_at, expires_at, "
             "                      revoked_at) "
             "SELECT sha256(convert_to(v.tag, 'UTF8')), u.id, '10.9.9.9', v.created, v.expires, "
             "       v.revoked "
             "  FROM users u, (VALUES "
             "   ('purge-expired-long-ago', now() - interval '41 days', "
             "    now() - interval '40 days', NULL::timestamptz), "
             "   ('purge-revoked-long-ago', now() - interval '32 days', "
             "    now() + interval '1 hour', now() - interval '31 days'), "
             "   ('purge-expired-lately', now() - interval '3 days', "
             "    now() - interval '2 days', NULL), "
             "   ('purge-live', now(), now() + interval '12 hours', NULL)) "
             "   AS v (tag, created, expires, revoked) "
             " WHERE u.username = 'purgee'; "
             "INSERT INTO notices (at, kind, subject, body) "
             "SELECT now() - interval '91 days', 'calendar', 'purge-old', 'x' "
             "  FROM generate_series(1, 1200); "
             "INSERT INTO notices (at, kind, subject, body) "
             "SELECT now() - interval '89 days', 'calendar', 'purge-new', 'x' "
             "  FROM generate_series(1, 2)");
    assert_int_equal(sql_int("SELECT count(*) FROM login_failures WHERE username LIKE 'purge-%'"),
                     2503);
    assert_int_equal(sql_int("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                             "WHERE u.username = 'purgee'"),
                     4);

    th_daemon_t p;
    const char *env[] = {db_env, "CLOSELOOP_AUTH_PURGE_INTERVAL_MS=200", NULL};
    assert_int_equal(th_daemon_start(&p, env), 0);
    assert_int_equal(sql_int("SELECT count(*) FROM notices WHERE subject LIKE 'purge-%'"), 1202);
    long long old_failures = -1, old_sessions = -1, old_notices = -1;
    uint64_t deadline = testenv_now_ms() + 20000;
    while (testenv_now_ms() < deadline) {
        old_failures = sql_int("SELECT count(*) FROM login_failures WHERE username = 'purge-old'");
        old_sessions = sql_int("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                               "WHERE u.username = 'purgee' AND s.created_at < now() - "
                               "interval '30 days'");
        old_notices = sql_int("SELECT count(*) FROM notices WHERE subject = 'purge-old'");
        if (old_failures == 0 && old_sessions == 0 && old_notices == 0) break;
        testenv_sleep_ms(100);
    }
    assert_int_equal(th_daemon_stop(&p), 0);
    assert_int_equal(old_failures, 0);
    assert_int_equal(old_sessions, 0);
    assert_int_equal(old_notices, 0);
    /* the recent ones stay */
    assert_int_equal(sql_int("SELECT count(*) FROM notices WHERE subject = 'purge-new'"), 2);
    assert_int_equal(sql_int("SELECT count(*) FROM login_failures WHERE username = 'purge-new'"),
                     3);
    assert_int_equal(sql_int("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                             "WHERE u.username = 'purgee'"),
                     2);
    /* in bounded batches (2,500 rows take three), each deletion audited */
    assert_true(th_log_contains(&p, "event=purged login_failures=1000"));
    assert_int_equal(sql_int("SELECT count(*) FROM audit_log WHERE entity = 'sessions' AND "
                             "action = 'delete' AND actor->>'username' = 'closeloopd'"),
                     2);
}

/* --- B3: connection slots --- */

/* Opens n plain TCP connections to port without waiting for them (non-blocking connect);
 * fds[] receives them (-1 where the socket could not be made). */
static void open_idle(int port, int *fds, int n) {
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fds[i] < 0) continue;
        if (connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
            close(fds[i]);
            fds[i] = -1;
        }
        if (i % 50 == 49) testenv_sleep_ms(20); /* let the daemon accept: no queue overflow */
    }
}

/* Waits (up to 60 s) until every connect of fds[] has finished, accepted or refused:
 * how many did. */
static int wait_connected(const int *fds, int n) {
    int finished = 0;
    static struct pollfd p[FLOOD_CONNECTIONS];
    static char seen[FLOOD_CONNECTIONS];
    memset(seen, 0, sizeof seen);
    uint64_t deadline = testenv_now_ms() + 60000;
    while (finished < n && testenv_now_ms() < deadline) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (!seen[i] && fds[i] >= 0) p[k++] = (struct pollfd){.fd = fds[i], .events = POLLOUT};
        if (poll(p, (nfds_t)k, 200) < 0) break;
        for (int j = 0, i = 0; j < k; j++) {
            if (!p[j].revents) continue;
            while (fds[i] != p[j].fd)
                i++;
            seen[i] = 1;
            finished++;
        }
    }
    return finished;
}

static void close_all(int *fds, int n) {
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
}

/* ServerInfo.connections as c sees it. */
static uint32_t open_connections(cl_client_t *c) {
    cl_pb_info_t *info = NULL;
    assert_int_equal(th_server_info(c, &info), CL_OK);
    uint32_t n = info->connections;
    cl_msg_free(&info->base);
    return n;
}

static void idle_strangers_leave_room_for_users(void **state) {
    (void)state;
    assert_int_equal(bootstrap_admin("regular", "regular password 1"), 0);
    th_daemon_t f;
    /* The default limits; a handshake that never starts is given all the time the test
     * needs, so the strangers stay until they are counted. */
    const char *env[] = {db_env, "CLOSELOOP_SERVER_HANDSHAKE_TIMEOUT_MS=600000", NULL};
    assert_int_equal(th_daemon_start(&f, env), 0);
    char token[64];
    cl_client_t *user = th_connect(&f, 0);
    assert_non_null(user);
    assert_int_equal(login_on(user, "regular", "regular password 1", token), CL_OK);

    static int fds[FLOOD_CONNECTIONS];
    open_idle(f.port, fds, FLOOD_CONNECTIONS);
    int opened = 0;
    for (int i = 0; i < FLOOD_CONNECTIONS; i++)
        opened += fds[i] >= 0;
    assert_int_equal(opened, FLOOD_CONNECTIONS);
    assert_int_equal(wait_connected(fds, FLOOD_CONNECTIONS), FLOOD_CONNECTIONS);
    /* One byte of a TLS record each (never a whole ClientHello): a connection whose last
     * ACK the kernel dropped on a full accept queue is then made after all. */
    for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
        (void)send(fds[i], "\x16", 1, MSG_NOSIGNAL);
        if (i % 100 == 99) testenv_sleep_ms(10);
    }
    /* A connect can finish before the daemon accepts it (a full accept queue): wait until
     * the daemon's count has stood still for two seconds. */
    uint32_t open = 0, last = UINT32_MAX;
    for (int still = 0, i = 0; still < 2 && i < 60; i++) {
        testenv_sleep_ms(1000);
        open = open_connections(user);
        still = open == last ? still + 1 : 0;
        last = open;
    }

    /* the logged-in user goes on working ... */
    assert_int_equal(whoami(user), CL_OK);
    print_message("%d idle connections from one address: %u open\n", FLOOD_CONNECTIONS, open);
    /* ... and so does a new connection of the user's from another address */
    th_raw_t r;
    assert_int_equal(th_raw_open_from(&f, &r, "127.0.0.2"), 0);
    cl_pb_resume_req_t rs = CLOSELOOP__SESSION_RESUME_REQUEST__INIT;
    rs.token = token;
    assert_int_equal(th_raw_call(&r, 1, CL_MSG_SESSION_RESUME_REQ, &rs.base, CL_MSG_WHOAMI, 10000),
                     CL_OK);
    cl_pb_whoami_req_t w = CLOSELOOP__WHO_AM_IREQUEST__INIT;
    assert_int_equal(th_raw_call(&r, 2, CL_MSG_WHOAMI_REQ, &w.base, CL_MSG_WHOAMI, 10000), CL_OK);
    th_raw_close(&r);
    assert_true(open <= 256 + 1); /* max_connections_per_address, and the user */

    close_all(fds, FLOOD_CONNECTIONS);
    cl_client_close(user);
    assert_int_equal(th_daemon_stop(&f), 0);
    assert_true(th_log_contains(&f, "reason=max_connections_per_address"));
}

/* A stranger that pings but never logs in is closed at the login timeout; a user who
 * logged in and pings alike stays. */
static void pings_do_not_extend_the_login_deadline(void **state) {
    (void)state;
    th_daemon_t f;
    const char *env[] = {db_env, "CLOSELOOP_SERVER_LOGIN_TIMEOUT_MS=3000", NULL};
    assert_int_equal(th_daemon_start(&f, env), 0);
    cl_client_t *user = th_connect(&f, 0);
    assert_non_null(user);
    assert_int_equal(login_on(user, "admin", "admin password 1", NULL), CL_OK);
    cl_client_t *stranger = th_connect(&f, 0);
    assert_non_null(stranger);
    int stranger_rc = CL_OK;
    for (int i = 0; i < 40 && stranger_rc == CL_OK; i++) { /* 8 s of pings */
        stranger_rc = th_ping(stranger, (uint64_t)i, 0);
        assert_int_equal(th_ping(user, (uint64_t)i, 0), CL_OK);
        testenv_sleep_ms(200);
    }
    assert_int_not_equal(stranger_rc, CL_OK); /* closed under it */
    assert_int_equal(whoami(user), CL_OK);
    /* logged out, past the deadline: the connection is a stranger's now */
    assert_int_equal(th_logout(user), CL_OK);
    testenv_sleep_ms(300);
    assert_int_not_equal(th_ping(user, 99, 0), CL_OK);
    cl_client_close(stranger);
    cl_client_close(user);
    assert_int_equal(th_daemon_stop(&f), 0);
    assert_true(th_log_contains(&f, "event=conn_login_timeout"));
}

/* Connections that have not logged in never take the reserved slots. */
static void strangers_never_take_the_reserved_slots(void **state) {
    (void)state;
    th_daemon_t f;
    const char *env[] = {db_env, "CLOSELOOP_SERVER_MAX_CONNECTIONS=30",
                         "CLOSELOOP_SERVER_RESERVED_CONNECTIONS=10", NULL};
    assert_int_equal(th_daemon_start(&f, env), 0);
    cl_client_t *user = th_connect(&f, 0);
    assert_non_null(user);
    assert_int_equal(login_on(user, "admin", "admin password 1", NULL), CL_OK);
    int fds[40];
    open_idle(f.port, fds, 40);
    testenv_sleep_ms(500);
    assert_int_equal(whoami(user), CL_OK);
    /* 20 strangers (30 - 10 reserved) and the user */
    assert_int_equal(open_connections(user), 21);
    close_all(fds, 40);
    cl_client_close(user);
    assert_int_equal(th_daemon_stop(&f), 0);
    assert_true(th_log_contains(&f, "reason=reserved_connections"));
}

/* --- B4: the daemon-wide output budget --- */

/* How many connections the daemon's log records as closed, and the largest backlog
 * (queued reply bytes) any of them had. */
static int log_backlog_peaks(const th_daemon_t *dm, size_t *peak) {
    FILE *fp = fopen(dm->log, "r");
    assert_non_null(fp);
    char line[1024];
    int n = 0;
    *peak = 0;
    while (fgets(line, sizeof line, fp)) {
        const char *p = strstr(line, "event=conn_closed ");
        if (!p || !(p = strstr(p, "backlog_peak="))) continue;
        size_t v = strtoull(p + strlen("backlog_peak="), NULL, 10);
        if (v > *peak) *peak = v;
        n++;
    }
    fclose(fp);
    return n;
}

#define READERS_NEVER 300
#define BUDGET_MIB    32

static void clients_that_never_read_stay_within_the_budget(void **state) {
    (void)state;
    th_daemon_t f;
    char budget[64];
    snprintf(budget, sizeof budget, "CLOSELOOP_SERVER_MAX_OUTPUT_TOTAL=%d", BUDGET_MIB << 20);
    const char *env[] = {db_env, budget, "CLOSELOOP_SERVER_MAX_OUTPUT=262144",
                         "CLOSELOOP_SERVER_MAX_FRAME=65536",
                         "CLOSELOOP_SERVER_MAX_CONNECTIONS_PER_ADDRESS=1000",
                         "CLOSELOOP_SERVER_LOGIN_TIMEOUT_MS=600000",
                         /* a busy daemon (valgrind) may take long to answer a handshake */
                         "CLOSELOOP_SERVER_HANDSHAKE_TIMEOUT_MS=60000", "CLOSELOOP_LOG_LEVEL=debug",
                         /* ASan's quarantine would hide real RSS behaviour */
                         "ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=0", NULL};
    assert_int_equal(th_daemon_start(&f, env), 0);
    static th_raw_t rs[READERS_NEVER];
    for (int i = 0; i < READERS_NEVER; i++) {
        assert_int_equal(th_raw_open(&f, &rs[i]), 0);
        int small = 4096;
        setsockopt(rs[i].fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        fcntl(rs[i].fd, F_SETFL, fcntl(rs[i].fd, F_GETFL) | O_NONBLOCK);
    }
    long rss_start = th_daemon_rss_kb(&f);

    size_t flen;
    uint8_t *frame = th_ping_frame(1, 16384, &flen);
    assert_non_null(frame);
    /* Round robin: every client sends until its socket refuses more for a full second
     * (the daemon stopped reading it) or the daemon closed it. */
    static int blocked_ms[READERS_NEVER], done[READERS_NEVER];
    static uint8_t pending[READERS_NEVER][20000];
    static size_t pend_len[READERS_NEVER], pend_off[READERS_NEVER];
    int closed = 0, ndone = 0;
    uint64_t deadline = testenv_now_ms() + 120000;
    while (ndone < READERS_NEVER && testenv_now_ms() < deadline) {
        int progress = 0;
        for (int i = 0; i < READERS_NEVER; i++) {
            if (done[i]) continue;
            if (pend_off[i] == pend_len[i]) {
                assert_int_equal(cl_tls_write(rs[i].tls, frame, flen), 0);
                pend_len[i] = cl_tls_drain(rs[i].tls, pending[i], sizeof pending[i]);
                pend_off[i] = 0;
                assert_int_equal(cl_tls_pending(rs[i].tls), 0);
            }
            ssize_t w =
                send(rs[i].fd, pending[i] + pend_off[i], pend_len[i] - pend_off[i], MSG_NOSIGNAL);
            if (w > 0) {
                pend_off[i] += (size_t)w;
                blocked_ms[i] = 0;
                progress = 1;
            } else if (errno == EAGAIN) {
                blocked_ms[i] += 10; /* roughly: one pass of the loop */
                if (blocked_ms[i] >= 1000) done[i] = 1, ndone++;
            } else {
                done[i] = 1, ndone++, closed++; /* the daemon closed it */
            }
        }
        if (!progress) testenv_sleep_ms(10);
    }
    free(frame);
    assert_int_equal(ndone, READERS_NEVER);
    long rss_end = th_daemon_rss_kb(&f);
    print_message("%d clients that never read: %d closed; daemon RSS %ld -> %ld KiB (budget "
                  "%d MiB)\n",
                  READERS_NEVER, closed, rss_start, rss_end, BUDGET_MIB);
    assert_true(th_daemon_alive(&f));
    /* The daemon's own count of queued replies: there are some (nobody reads them), and
     * they stay within the budget, the worst offenders closed to keep them there. (RSS is
     * printed only: ASan's allocator keeps what was freed.) */
    cl_client_t *c = NULL; /* the daemon may still be working through what it was sent */
    for (int i = 0; i < 6 && !c; i++)
        c = th_connect(&f, 0);
    assert_non_null(c);
    cl_pb_info_t *info = NULL;
    assert_int_equal(th_server_info(c, &info), CL_OK);
    print_message("queued output %llu bytes of %llu\n", (unsigned long long)info->queued_output,
                  (unsigned long long)info->max_output_total);
    assert_int_equal(info->max_output_total, (uint64_t)BUDGET_MIB << 20);
    assert_true(info->queued_output > 262144);
    assert_true(info->queued_output <= (uint64_t)BUDGET_MIB << 20);
    cl_msg_free(&info->base);
    cl_client_close(c);
    /* (how many a client saw closed depends on timing; the daemon's log does not) */
    assert_true(th_log_contains(&f, "event=conn_over_budget"));
    for (int i = 0; i < READERS_NEVER; i++)
        th_raw_close(&rs[i]);
    assert_int_equal(th_daemon_stop(&f), 0);
    /* and no connection ever queued more than max_output plus the one reply (a pong of
     * 16 KiB) that crossed it, plus TLS's framing of it */
    size_t peak = 0;
    int closes = log_backlog_peaks(&f, &peak);
    print_message("%d connections closed, largest backlog %zu bytes\n", closes, peak);
    assert_true(closes >= READERS_NEVER);
    assert_true(peak <= 262144 + 16384 + 4096);
}

/* --- B6: shutdown --- */

/* SIGTERM while a large reply is being prepared: requests sent after it get
 * ERR_SHUTTING_DOWN, the large reply arrives whole, then the connection closes. */
static void requests_after_sigterm_are_refused_and_replies_flushed(void **state) {
    (void)state;
    th_daemon_t f;
    /* a stranger's 512 KiB ping (over max_frame_unauth's 64 KiB default) */
    const char *env[] = {db_env, "CLOSELOOP_SERVER_MAX_FRAME_UNAUTH=1048576", NULL};
    assert_int_equal(th_daemon_start(&f, env), 0);
    cl_client_t *c = th_connect(&f, 0);
    assert_non_null(c);
    static uint8_t big[512 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    cl_pb_ping_t p = CLOSELOOP__PING__INIT;
    p.client_time_ns = 42;
    p.delay_ms = 3000;
    p.payload.data = big;
    p.payload.len = sizeof big;
    uint32_t first = cl_client_next_id(c);
    assert_int_equal(cl_client_send(c, first, CL_MSG_PING, &p.base), CL_OK);
    /* requests are taken in order: once a later ping is answered, the first is in flight */
    assert_int_equal(th_ping(c, 7, 0), CL_OK);
    kill(f.pid, SIGTERM);
    uint64_t deadline = testenv_now_ms() + 10000;
    while (!th_log_contains(&f, "event=draining") && testenv_now_ms() < deadline)
        testenv_sleep_ms(20);
    assert_true(th_log_contains(&f, "event=draining"));
    enum { AFTER = 10 };
    cl_pb_ping_t q = CLOSELOOP__PING__INIT;
    for (int i = 0; i < AFTER; i++)
        assert_int_equal(cl_client_send(c, cl_client_next_id(c), CL_MSG_PING, &q.base), CL_OK);
    int refused = 0, pong = 0;
    for (int i = 0; i < AFTER + 1; i++) {
        cl_reply_t r;
        int rc = cl_client_recv(c, &r, 10000);
        if (rc != CL_OK) fail_msg("reply %d of %d: %s", i + 1, AFTER + 1, cl_strerror(rc));
        if (r.req_id == first) {
            assert_int_equal(r.err, CL_OK);
            cl_pb_pong_t *pg_reply = (cl_pb_pong_t *)r.msg;
            assert_int_equal(pg_reply->payload.len, sizeof big);
            assert_memory_equal(pg_reply->payload.data, big, sizeof big);
            pong++;
        } else {
            assert_int_equal(r.err, CL_ESHUTDOWN);
            assert_true(r.retryable);
            refused++;
        }
        cl_reply_clear(&r);
    }
    assert_int_equal(pong, 1);
    assert_int_equal(refused, AFTER);
    cl_reply_t r;
    assert_int_equal(cl_client_recv(c, &r, 10000), CL_ECLOSED);
    cl_client_close(c);
    assert_int_equal(th_daemon_wait(&f, 30000), 0);
}

static void drain_cut_short_exits_nonzero(void **state) {
    (void)state;
    th_daemon_t f;
    const char *env[] = {"CLOSELOOP_SERVER_DRAIN_TIMEOUT_MS=300", NULL};
    assert_int_equal(th_daemon_start(&f, env), 0);
    cl_client_t *c = th_connect(&f, 0);
    assert_non_null(c);
    cl_pb_ping_t p = CLOSELOOP__PING__INIT;
    p.delay_ms = 3000;
    assert_int_equal(cl_client_send(c, cl_client_next_id(c), CL_MSG_PING, &p.base), CL_OK);
    testenv_sleep_ms(200);
    kill(f.pid, SIGTERM);
    assert_int_equal(th_daemon_wait(&f, 30000), 1);
    cl_client_close(c);
    assert_true(th_log_contains(&f, "event=drain_timeout"));
    assert_true(th_log_contains(&f, "event=stopped exit=1"));
}

/* --- A10: logout and disabling reach every daemon at once --- */

/* Whether whoami on c answers ERR_UNAUTHENTICATED within 3 s (the sessions are re-read
 * only every 30 s otherwise). */
static int ended_soon(cl_client_t *c) {
    uint64_t deadline = testenv_now_ms() + 3000;
    while (testenv_now_ms() < deadline) {
        int rc = whoami(c);
        if (rc == CL_EUNAUTH) return 1;
        assert_int_equal(rc, CL_OK);
        testenv_sleep_ms(50);
    }
    return 0;
}

static void logout_and_disabling_reach_every_daemon_at_once(void **state) {
    (void)state;
    th_daemon_t d1, d2;
    const char *env[] = {db_env, "CLOSELOOP_AUTH_SESSION_RECHECK_MS=30000", NULL};
    assert_int_equal(th_daemon_start(&d1, env), 0);
    assert_int_equal(th_daemon_start(&d2, env), 0);

    char token[64];
    cl_client_t *a = th_connect(&d1, 0), *a2 = th_connect(&d1, 0), *b = th_connect(&d2, 0);
    assert_int_equal(login_on(a, "admin", "admin password 1", token), CL_OK);
    assert_int_equal(th_resume(a2, token), CL_OK);
    assert_int_equal(th_resume(b, token), CL_OK);
    assert_int_equal(whoami(a2), CL_OK);
    assert_int_equal(whoami(b), CL_OK);
    assert_int_equal(th_logout(a), CL_OK);
    assert_true(ended_soon(a2)); /* another connection of the same daemon */
    assert_true(ended_soon(b));  /* and of the other daemon */
    cl_client_close(a);
    cl_client_close(a2);
    cl_client_close(b);

    assert_int_equal(bootstrap_admin("leaver", "leaver password 1"), 0);
    a = th_connect(&d1, 0);
    b = th_connect(&d2, 0);
    assert_int_equal(login_on(a, "leaver", "leaver password 1", token), CL_OK);
    assert_int_equal(th_resume(b, token), CL_OK);
    assert_int_equal(whoami(b), CL_OK);
    sql_exec("UPDATE users SET disabled = true WHERE username = 'leaver'");
    assert_true(ended_soon(a));
    assert_true(ended_soon(b));
    cl_client_close(a);
    cl_client_close(b);
    assert_int_equal(th_daemon_stop(&d1), 0);
    assert_int_equal(th_daemon_stop(&d2), 0);
}

/* --- C: what docs/PROTOCOL.md promises a second client --- */

/* The Ping payload limit (the connection's frame limit - 64: max_frame_unauth before a
 * login), a frame over that limit from a stranger, and the code of invalid UTF-8 in a
 * string (ERR_BAD_MESSAGE, as PROTOCOL.md says). */
static void protocol_document_holds(void **state) {
    (void)state;
    th_raw_t r;
    assert_int_equal(th_raw_open(&d, &r), 0);
    enum { UNAUTH_FRAME = 64 * 1024 }; /* [server] max_frame_unauth's default */
    static uint8_t payload[UNAUTH_FRAME + 1024];
    cl_pb_ping_t p = CLOSELOOP__PING__INIT;
    p.payload.data = payload;
    p.payload.len = UNAUTH_FRAME - 64;
    assert_int_equal(th_raw_call(&r, 1, CL_MSG_PING, &p.base, CL_MSG_PONG, 30000), CL_OK);
    p.payload.len = UNAUTH_FRAME - 63;
    assert_int_equal(th_raw_call(&r, 2, CL_MSG_PING, &p.base, CL_MSG_PONG, 30000), CL_EINVAL);
    /* LoginRequest{username: FF FE, password: "x"}, raw */
    static const uint8_t bad_login[] = {0x0A, 0x02, 0xFF, 0xFE, 0x12, 0x01, 'x'};
    assert_int_equal(th_raw_send(&r, 3, CL_MSG_LOGIN_REQ, bad_login, sizeof bad_login), 0);
    assert_int_equal(th_raw_read_error(&r, 10000, NULL), CLOSELOOP__ERROR_CODE__ERR_BAD_MESSAGE);
    assert_int_equal(r.hdr.req_id, 3);
    p.payload.len = 0;
    assert_int_equal(th_raw_call(&r, 4, CL_MSG_PING, &p.base, CL_MSG_PONG, 10000), CL_OK);
    /* a frame over 64 KiB before a login: a framing violation, the connection ends */
    p.payload.len = UNAUTH_FRAME + 1024;
    uint8_t *big_frame = NULL;
    size_t big_len = 0;
    assert_int_equal(cl_msg_frame_pack(0, 5, CL_MSG_PING, &p.base, 1u << 20, &big_frame, &big_len),
                     CL_OK);
    (void)th_raw_write(&r, big_frame, big_len); /* the server may close before it is all read */
    free(big_frame);
    assert_int_equal(th_raw_read_error(&r, 10000, NULL), CLOSELOOP__ERROR_CODE__ERR_BAD_FRAME);
    th_raw_close(&r);
    /* once logged in, the limit is max_frame: a 1 MiB ping is answered */
    assert_int_equal(bootstrap_admin("pinger", "pinger password 1"), 0);
    cl_client_t *c = th_connect(&d, 0);
    assert_non_null(c);
    assert_int_equal(login_on(c, "pinger", "pinger password 1", NULL), CL_OK);
    static uint8_t mib[1 << 20];
    cl_pb_ping_t big = CLOSELOOP__PING__INIT;
    big.payload.data = mib;
    big.payload.len = sizeof mib;
    ProtobufCMessage *pong = NULL;
    assert_int_equal(cl_client_call(c, CL_MSG_PING, &big.base, CL_MSG_PONG, &pong), CL_OK);
    assert_int_equal(((cl_pb_pong_t *)pong)->payload.len, sizeof mib);
    cl_msg_free(pong);
    cl_client_close(c);
}

int main(void) {
    /* 10,000 connections need as many descriptors, here and in the daemons started here */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < FLOOD_CONNECTIONS + 1024) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FLOOD_CONNECTIONS + 1024
                          ? FLOOD_CONNECTIONS + 1024
                          : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < FLOOD_CONNECTIONS + 1024) {
            fprintf(stderr, "test_attacker: cannot raise the descriptor limit to %d\n",
                    FLOOD_CONNECTIONS + 1024);
            return 1;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flood_of_wrong_passwords_leaves_the_owner_in),
        cmocka_unit_test(concurrent_guesses_get_exactly_the_limit),
        cmocka_unit_test(purge_removes_old_rows_and_keeps_recent_ones),
        cmocka_unit_test(idle_strangers_leave_room_for_users),
        cmocka_unit_test(pings_do_not_extend_the_login_deadline),
        cmocka_unit_test(strangers_never_take_the_reserved_slots),
        cmocka_unit_test(clients_that_never_read_stay_within_the_budget),
        cmocka_unit_test(requests_after_sigterm_are_refused_and_replies_flushed),
        cmocka_unit_test(drain_cut_short_exits_nonzero),
        cmocka_unit_test(logout_and_disabling_reach_every_daemon_at_once),
        cmocka_unit_test(protocol_document_holds),
    };
    if (getenv("CL_TEST_FILTER")) cmocka_set_test_filter(getenv("CL_TEST_FILTER"));
    const pgtest_group_t group = {.pg = &pg, .ready = start_daemon, .done = stop_daemon};
    return pgtest_run_group(&group, tests, sizeof tests / sizeof tests[0]);
}
