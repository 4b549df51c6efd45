/* test_daemon.c - the real closeloopd over TLS, driven through libcloop: ping, server
 * info, many requests in flight with out-of-order replies, the in-flight limit, client
 * certificates, the TLS 1.2 switch, draining on SIGTERM with exit status 0, and what
 * ServerInfo.requests_served counts. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static th_daemon_t shared; /* default configuration, shared by the simple tests */

static int group_setup(void **state) {
    (void)state;
    return th_daemon_start(&shared, NULL);
}

static int group_teardown(void **state) {
    (void)state;
    return th_daemon_stop(&shared) == 0 ? 0 : -1;
}

/* A client of d, with or without the test client certificate; the test fails without. */
static cl_client_t *client_of(const th_daemon_t *d, int with_cert) {
    cl_client_t *c = th_connect(d, with_cert);
    assert_non_null(c);
    return c;
}

/* Starts a daemon of the test's own with one setting ("KEY=VALUE") besides the defaults. */
static void start_with(th_daemon_t *d, const char *setting) {
    const char *env[] = {setting, NULL};
    assert_int_equal(th_daemon_start(d, env), 0);
}

static cl_pb_ping_t make_ping(uint64_t t, uint32_t delay_ms) {
    cl_pb_ping_t p = CLOSELOOP__PING__INIT;
    p.client_time_ns = t;
    p.delay_ms = delay_ms;
    return p;
}

/* Sends n pings of 300 ms each at once on c and reads the n replies: how many were pongs,
 * and how many were refused as too many in flight (each marked retryable). */
static void slow_burst(cl_client_t *c, int n, int *pongs, int *limited) {
    for (int i = 0; i < n; i++) {
        cl_pb_ping_t p = make_ping((uint64_t)i, 300);
        assert_int_equal(cl_client_send(c, cl_client_next_id(c), CL_MSG_PING, &p.base), CL_OK);
    }
    *pongs = *limited = 0;
    for (int i = 0; i < n; i++) {
        cl_reply_t r;
        assert_int_equal(cl_client_recv(c, &r, 5000), CL_OK);
        if (r.err == CL_OK) ++*pongs;
        if (r.err == CL_ETOOMANY) {
            assert_true(r.retryable);
            ++*limited;
        }
        cl_reply_clear(&r);
    }
}

static void ping_echoes_payload(void **state) {
    (void)state;
    cl_client_t *c = client_of(&shared, 0);
    cl_pb_ping_t ping = make_ping(123456789, 0);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    ping.payload.data = data;
    ping.payload.len = sizeof data;
    ProtobufCMessage *reply = NULL;
    assert_int_equal(cl_client_call(c, CL_MSG_PING, &ping.base, CL_MSG_PONG, &reply), CL_OK);
    cl_pb_pong_t *pong = (cl_pb_pong_t *)reply;
    assert_int_equal(pong->client_time_ns, 123456789);
    assert_int_equal(pong->payload.len, sizeof data);
    assert_memory_equal(pong->payload.data, data, sizeof data);
    assert_true(pong->server_time_ns > 0);
    assert_string_equal(cl_client_tls_version(c), "TLSv1.3");
    cl_msg_free(reply);
    cl_client_close(c);
}

static void server_info_reports_state(void **state) {
    (void)state;
    cl_client_t *c = client_of(&shared, 0);
    cl_client_t *c2 = client_of(&shared, 0);
    cl_pb_info_t *info = NULL;
    assert_int_equal(th_server_info(c, &info), CL_OK);
    assert_string_equal(info->version, CL_VERSION);
    assert_int_equal(info->protocol_version, CL_FRAME_VERSION);
    assert_string_equal(info->tls_version, "TLSv1.3");
    assert_true(info->connections >= 2);
    assert_int_equal(info->max_frame, 12 * 1024 * 1024); /* five 2 MiB photos fit */
    assert_int_equal(info->max_inflight, 64);
    assert_string_equal(info->client_cert_subject, "");
    cl_msg_free(&info->base);
    cl_client_close(c2);
    cl_client_close(c);
}

static void client_certificate_is_reported(void **state) {
    (void)state;
    cl_client_t *c = client_of(&shared, 1);
    cl_pb_info_t *info = NULL;
    assert_int_equal(th_server_info(c, &info), CL_OK);
    assert_non_null(strstr(info->client_cert_subject, "desktop-1"));
    cl_msg_free(&info->base);
    cl_client_close(c);
}

/* 200 pipelined pings on one connection; every id answered exactly once. */
static void many_requests_in_flight(void **state) {
    (void)state;
    cl_client_t *c = client_of(&shared, 0);
    enum { N = 60 };
    uint32_t ids[N];
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        cl_pb_ping_t ping = make_ping((uint64_t)i, 0);
        ids[i] = cl_client_next_id(c);
        assert_int_equal(cl_client_send(c, ids[i], CL_MSG_PING, &ping.base), CL_OK);
    }
    for (int k = 0; k < N; k++) {
        cl_reply_t r;
        assert_int_equal(cl_client_recv(c, &r, 10000), CL_OK);
        assert_int_equal(r.err, CL_OK);
        assert_int_equal(r.type, CL_MSG_PONG);
        uint64_t i = ((cl_pb_pong_t *)r.msg)->client_time_ns;
        assert_true(i < N);
        assert_int_equal(r.req_id, ids[i]);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        cl_reply_clear(&r);
    }
    cl_client_close(c);
}

/* A slow request does not hold up a fast one behind it: replies come out of order. */
static void replies_come_out_of_order(void **state) {
    (void)state;
    cl_client_t *c = client_of(&shared, 0);
    cl_pb_ping_t slow = make_ping(1, 400), fast = make_ping(2, 0);
    uint32_t slow_id = cl_client_next_id(c), fast_id = cl_client_next_id(c);
    assert_int_equal(cl_client_send(c, slow_id, CL_MSG_PING, &slow.base), CL_OK);
    assert_int_equal(cl_client_send(c, fast_id, CL_MSG_PING, &fast.base), CL_OK);
    cl_reply_t r;
    assert_int_equal(cl_client_recv(c, &r, 5000), CL_OK);
    assert_int_equal(r.req_id, fast_id);
    cl_reply_clear(&r);
    assert_int_equal(cl_client_recv(c, &r, 5000), CL_OK);
    assert_int_equal(r.req_id, slow_id);
    cl_reply_clear(&r);
    cl_client_close(c);
}

static void unknown_type_and_bad_argument_keep_connection(void **state) {
    (void)state;
    cl_client_t *c = client_of(&shared, 0);
    cl_reply_t r;
    uint32_t id = cl_client_next_id(c);
    assert_int_equal(cl_client_send(c, id, 999, NULL), CL_OK);
    assert_int_equal(cl_client_recv(c, &r, 5000), CL_OK);
    assert_int_equal(r.req_id, id);
    assert_int_equal(r.err, CL_EUNKNOWNTYPE);
    assert_false(r.retryable);
    assert_true(r.flags & CL_FRAME_FLAG_ERROR);
    cl_reply_clear(&r);

    cl_pb_ping_t too_slow = make_ping(1, 60000); /* above the 10 s ceiling */
    ProtobufCMessage *reply = NULL;
    assert_int_equal(cl_client_call(c, CL_MSG_PING, &too_slow.base, CL_MSG_PONG, &reply),
                     CL_EINVAL);
    assert_null(reply);
    assert_int_equal(th_ping(c, 7, 0), CL_OK);
    cl_client_close(c);
}

static void inflight_limit_rejects_with_retryable_error(void **state) {
    (void)state;
    th_daemon_t d;
    start_with(&d, "CLOSELOOP_SERVER_MAX_INFLIGHT=4");
    cl_client_t *c = client_of(&d, 0);
    int pongs, limited;
    slow_burst(c, 6, &pongs, &limited);
    assert_int_equal(pongs, 4);
    assert_int_equal(limited, 2);
    cl_client_close(c);
    assert_int_equal(th_daemon_stop(&d), 0);
}

/* ServerInfo.requests_served counts requests a handler ran for (cl_server_stats_t):
 * frames refused before that are not counted; a handler's own error is. */
static void requests_served_counts_only_handled_requests(void **state) {
    (void)state;
    th_daemon_t d;
    start_with(&d, "CLOSELOOP_SERVER_MAX_INFLIGHT=2");
    cl_client_t *c = client_of(&d, 0);
    cl_reply_t r;
    ProtobufCMessage *reply = NULL;

    /* Refused: an unknown type, and a request that needs the database (none here). */
    assert_int_equal(cl_client_send(c, cl_client_next_id(c), 999, NULL), CL_OK);
    assert_int_equal(cl_client_recv(c, &r, 5000), CL_OK);
    assert_int_equal(r.err, CL_EUNKNOWNTYPE);
    cl_reply_clear(&r);
    cl_pb_whoami_req_t who = CLOSELOOP__WHO_AM_IREQUEST__INIT;
    assert_int_equal(cl_client_call(c, CL_MSG_WHOAMI_REQ, &who.base, CL_MSG_WHOAMI, &reply),
                     CL_EUNAVAIL);

    /* Three slow pings at once over a limit of two: two served, one refused. */
    int pongs, limited;
    slow_burst(c, 3, &pongs, &limited);
    assert_int_equal(pongs, 2);
    assert_int_equal(limited, 1);

    /* Served, with the handler's own refusal: a delay above the ceiling. */
    cl_pb_ping_t too_slow = make_ping(9, 60000);
    assert_int_equal(cl_client_call(c, CL_MSG_PING, &too_slow.base, CL_MSG_PONG, &reply),
                     CL_EINVAL);

    /* 2 pongs + 1 bad ping + this ServerInfo; then the next one counts itself too. */
    for (uint64_t want = 4; want <= 5; want++) {
        cl_pb_info_t *info = NULL;
        assert_int_equal(th_server_info(c, &info), CL_OK);
        assert_int_equal(info->requests_served, want);
        cl_msg_free(&info->base);
    }
    cl_client_close(c);
    assert_int_equal(th_daemon_stop(&d), 0);
    assert_true(th_log_contains(&d, "event=drained requests_served=5"));
}

static void required_client_certificate(void **state) {
    (void)state;
    th_daemon_t d;
    start_with(&d, "CLOSELOOP_TLS_REQUIRE_CLIENT_CERT=true");
    cl_client_t *anon = th_connect(&d, 0);
    if (anon) { /* TLS 1.3: the server may reject after the client finished */
        assert_int_not_equal(th_ping(anon, 1, 0), CL_OK);
        cl_client_close(anon);
    }
    cl_client_t *c = client_of(&d, 1);
    assert_int_equal(th_ping(c, 1, 0), CL_OK);
    cl_client_close(c);
    assert_int_equal(th_daemon_stop(&d), 0);
}

static void untrusted_server_is_refused(void **state) {
    (void)state;
    char ca[700], err[512];
    snprintf(ca, sizeof ca, "%s/ca.crt", th_other_certs());
    cl_client_opts_t o = {.host = "127.0.0.1", .port = (uint16_t)shared.port, .ca_file = ca};
    cl_client_t *c = NULL;
    assert_int_not_equal(cl_client_connect(&o, &c, err, sizeof err), CL_OK);
    assert_null(c);
    assert_non_null(strstr(err, "verif"));
}

/* Runs openssl s_client with a forced protocol; returns its exit status. */
static int s_client(const th_daemon_t *d, const char *proto) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "echo | timeout 10 openssl s_client %s -connect 127.0.0.1:%d -CAfile '%s/ca.crt' "
             "-verify_return_error >/dev/null 2>&1",
             proto, d->port, d->certs);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void tls12_refused_by_default_allowed_by_switch(void **state) {
    (void)state;
    assert_int_equal(s_client(&shared, "-tls1_3"), 0);
    assert_int_not_equal(s_client(&shared, "-tls1_2"), 0);
    th_daemon_t d;
    start_with(&d, "CLOSELOOP_TLS_ALLOW_TLS12=true");
    assert_int_equal(s_client(&d, "-tls1_2"), 0);
    assert_int_equal(s_client(&d, "-tls1_3"), 0);
    assert_int_equal(th_daemon_stop(&d), 0);
}

/* SIGTERM while a request is in flight: its reply still arrives, the daemon exits 0. */
static void sigterm_drains_inflight_work(void **state) {
    (void)state;
    th_daemon_t d;
    assert_int_equal(th_daemon_start(&d, NULL), 0);
    cl_client_t *busy = client_of(&d, 0);
    cl_client_t *idle = client_of(&d, 0);
    cl_pb_ping_t p = make_ping(99, 800);
    uint32_t id = cl_client_next_id(busy);
    assert_int_equal(cl_client_send(busy, id, CL_MSG_PING, &p.base), CL_OK);
    usleep(100000); /* the request is now in flight */
    kill(d.pid, SIGTERM);
    cl_reply_t r;
    assert_int_equal(cl_client_recv(busy, &r, 5000), CL_OK);
    assert_int_equal(r.req_id, id);
    assert_int_equal(r.err, CL_OK);
    assert_int_equal(((cl_pb_pong_t *)r.msg)->client_time_ns, 99);
    cl_reply_clear(&r);
    /* the server then closes both connections */
    assert_int_equal(cl_client_recv(busy, &r, 5000), CL_ECLOSED);
    assert_int_equal(cl_client_recv(idle, &r, 5000), CL_ECLOSED);
    cl_client_close(busy);
    cl_client_close(idle);
    assert_int_equal(th_daemon_wait(&d, 30000), 0);
    assert_true(th_log_contains(&d, "event=drained"));
    assert_int_equal(th_tcp_connect(d.port), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_echoes_payload),
        cmocka_unit_test(server_info_reports_state),
        cmocka_unit_test(client_certificate_is_reported),
        cmocka_unit_test(many_requests_in_flight),
        cmocka_unit_test(replies_come_out_of_order),
        cmocka_unit_test(unknown_type_and_bad_argument_keep_connection),
        cmocka_unit_test(untrusted_server_is_refused),
        cmocka_unit_test(tls12_refused_by_default_allowed_by_switch),
        cmocka_unit_test(inflight_limit_rejects_with_retryable_error),
        cmocka_unit_test(requests_served_counts_only_handled_requests),
        cmocka_unit_test(required_client_certificate),
        cmocka_unit_test(sigterm_drains_inflight_work),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
