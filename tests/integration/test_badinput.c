/* test_badinput.c - hostile and broken peers against the running daemon. After each one
 * the daemon must still be alive and answer a ping on another connection: random bytes,
 * plaintext HTTP on the TLS port, a stalled handshake, a frame claiming 2 GiB, bad magic,
 * garbage after the handshake, an undecodable payload, a client that never reads its
 * replies (memory stays bounded), and a burst of abandoned connections. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "msg.h"

static th_daemon_t d;

static int group_setup(void **state) {
    (void)state;
    /* Short timeouts so the slow-peer tests finish quickly; debug log to see pauses. */
    const char *env[] = {
        "CLOSELOOP_SERVER_HANDSHAKE_TIMEOUT_MS=1000", "CLOSELOOP_SERVER_IDLE_TIMEOUT_MS=3000",
        "CLOSELOOP_SERVER_MAX_OUTPUT=262144", "CLOSELOOP_SERVER_MAX_FRAME=65536",
        /* ASan's quarantine would hide real RSS behaviour */
        "ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=0", "CLOSELOOP_LOG_LEVEL=debug", NULL};
    return th_daemon_start(&d, env);
}

static int group_teardown(void **state) {
    (void)state;
    return th_daemon_stop(&d) == 0 ? 0 : -1;
}

static void still_serving(void) {
    assert_true(th_daemon_alive(&d));
    assert_int_equal(th_ping_fresh(&d), CL_OK);
}

static void random_bytes_instead_of_tls(void **state) {
    (void)state;
    int fd = th_tcp_connect(d.port);
    assert_true(fd >= 0);
    uint8_t junk[8192];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rand();
    (void)send(fd, junk, sizeof junk, MSG_NOSIGNAL);
    assert_true(th_wait_closed(fd, 5000));
    close(fd);
    still_serving();
}

static void plaintext_http_on_tls_port(void **state) {
    (void)state;
    int fd = th_tcp_connect(d.port);
    assert_true(fd >= 0);
    const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    (void)send(fd, req, strlen(req), MSG_NOSIGNAL);
    assert_true(th_wait_closed(fd, 5000));
    close(fd);
    still_serving();
    assert_true(th_log_contains(&d, "event=tls_handshake_failed"));
}

static void stalled_handshake_times_out(void **state) {
    (void)state;
    int fd = th_tcp_connect(d.port);
    assert_true(fd >= 0);
    /* The first bytes of a TLS record header, then silence. */
    const uint8_t partial[] = {0x16, 0x03, 0x01};
    (void)send(fd, partial, sizeof partial, MSG_NOSIGNAL);
    still_serving();                       /* others are served while this one stalls */
    assert_true(th_wait_closed(fd, 5000)); /* handshake_timeout_ms=1000 */
    close(fd);
    assert_true(th_log_contains(&d, "event=tls_handshake_timeout"));
}

/* Sends raw plaintext after a good handshake; expects an Error frame, then close. */
static void expect_bad_frame(const void *bytes, size_t len) {
    th_raw_t r;
    assert_int_equal(th_raw_open(&d, &r), 0);
    assert_int_equal(th_raw_write(&r, bytes, len), 0);
    int retryable = -1;
    assert_int_equal(th_raw_read_error(&r, 5000, &retryable), CLOSELOOP__ERROR_CODE__ERR_BAD_FRAME);
    assert_int_equal(retryable, 0);
    assert_int_equal(th_raw_read_frame(&r, 5000), CL_ECLOSED);
    th_raw_close(&r);
    still_serving();
}

static void frame_claiming_2gib(void **state) {
    (void)state;
    cl_frame_hdr_t h = {.req_id = 1, .type = CL_MSG_PING, .len = 0x80000000u};
    uint8_t hdr[CL_FRAME_HDR_LEN];
    cl_frame_hdr_encode(&h, hdr);
    long before = th_daemon_rss_kb(&d);
    expect_bad_frame(hdr, sizeof hdr);
    long after = th_daemon_rss_kb(&d);
    assert_true(after - before < 64 * 1024); /* nothing near 2 GiB was allocated */
}

static void bad_magic_and_version(void **state) {
    (void)state;
    size_t len;
    uint8_t *f = th_frame(1, CL_MSG_PING, NULL, 0, &len);
    f[0] = 'X';
    expect_bad_frame(f, len);
    f[0] = 'C';
    f[2] = 9; /* version */
    expect_bad_frame(f, len);
    f[2] = 1;
    f[10] = 1; /* reserved */
    expect_bad_frame(f, len);
    free(f);
}

static void garbage_after_handshake(void **state) {
    (void)state;
    th_raw_t r;
    assert_int_equal(th_raw_open(&d, &r), 0);
    uint8_t junk[4096];
    srand(11);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)rand();
    assert_int_equal(th_raw_write(&r, junk, sizeof junk), 0);
    int rc;
    while ((rc = th_raw_read_frame(&r, 5000)) == 0)
        continue; /* an error frame at most */
    assert_int_equal(rc, CL_ECLOSED);
    th_raw_close(&r);
    still_serving();
}

/* A valid frame whose payload is not a Ping: an error reply, and the connection lives. */
static void undecodable_payload_keeps_connection(void **state) {
    (void)state;
    th_raw_t r;
    assert_int_equal(th_raw_open(&d, &r), 0);
    const uint8_t bad[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* bytes field, absurd length */
    assert_int_equal(th_raw_send(&r, 5, CL_MSG_PING, bad, sizeof bad), 0);
    assert_int_equal(th_raw_read_error(&r, 5000, NULL), CLOSELOOP__ERROR_CODE__ERR_BAD_MESSAGE);
    assert_int_equal(r.hdr.req_id, 5);
    /* same connection, a good ping */
    assert_int_equal(th_raw_send(&r, 6, CL_MSG_PING, NULL, 0), 0);
    assert_int_equal(th_raw_read_frame(&r, 5000), 0);
    assert_int_equal(r.hdr.req_id, 6);
    assert_int_equal(r.hdr.type, CL_MSG_PONG);
    th_raw_close(&r);
}

/* Pipelines pings for a while without reading any reply. The server must stop reading
 * (backpressure) instead of buffering without bound, keep serving others, and finally
 * drop the stuck connection at the idle timeout. */
static void client_that_never_reads(void **state) {
    (void)state;
    th_raw_t r;
    assert_int_equal(th_raw_open(&d, &r), 0);
    int small = 4096;
    setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) | O_NONBLOCK);
    size_t flen;
    uint8_t *frame = th_ping_frame(1, 1000, &flen);
    assert_non_null(frame);
    long rss_start = th_daemon_rss_kb(&d);
    size_t sent = 0;
    int blocked_ms = 0;
    time_t start = time(NULL);
    /* Send until the socket has refused more for a full second (server stopped reading). */
    while (blocked_ms < 1000 && time(NULL) - start < 20) {
        if (cl_tls_pending(r.tls) == 0) assert_int_equal(cl_tls_write(r.tls, frame, flen), 0);
        uint8_t buf[16384];
        size_t n = cl_tls_drain(r.tls, buf, sizeof buf);
        size_t off = 0;
        while (off < n) {
            ssize_t w = send(r.fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
                sent += (size_t)w;
                blocked_ms = 0;
            } else if (errno == EAGAIN) {
                usleep(10000);
                blocked_ms += 10;
                if (blocked_ms >= 1000) break;
            } else {
                fail_msg("send failed: %s", strerror(errno));
            }
        }
    }
    free(frame);
    assert_true(blocked_ms >= 1000); /* the server stopped reading */
    assert_true(sent > 256 * 1024);  /* well past max_output */
    still_serving();
    long rss_end = th_daemon_rss_kb(&d);
    print_message("sent %zu bytes unread; daemon RSS %ld -> %ld KiB\n", sent, rss_start, rss_end);
    assert_true(rss_end - rss_start < 32 * 1024);
    assert_true(th_log_contains(&d, "event=conn_paused"));
    /* idle_timeout_ms=3000, close guard 5 s: the daemon gives up on this peer */
    assert_true(th_wait_closed(r.fd, 15000));
    th_raw_close(&r);
    still_serving();
}

static void abandoned_connections_are_released(void **state) {
    (void)state;
    for (int i = 0; i < 50; i++) {
        int fd = th_tcp_connect(d.port);
        assert_true(fd >= 0);
        close(fd);
    }
    for (int i = 0; i < 20; i++) {
        th_raw_t r;
        assert_int_equal(th_raw_open(&d, &r), 0);
        th_raw_close(&r); /* no close_notify, just gone */
    }
    usleep(300000);
    cl_client_t *c = th_connect(&d, 0);
    assert_non_null(c);
    cl_pb_info_t *info = NULL;
    assert_int_equal(th_server_info(c, &info), CL_OK);
    assert_int_equal(info->connections, 1);
    cl_msg_free(&info->base);
    cl_client_close(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_bytes_instead_of_tls),
        cmocka_unit_test(plaintext_http_on_tls_port),
        cmocka_unit_test(stalled_handshake_times_out),
        cmocka_unit_test(frame_claiming_2gib),
        cmocka_unit_test(bad_magic_and_version),
        cmocka_unit_test(garbage_after_handshake),
        cmocka_unit_test(undecodable_payload_keeps_connection),
        cmocka_unit_test(client_that_never_reads),
        cmocka_unit_test(abandoned_connections_are_released),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
