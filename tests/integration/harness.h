/* harness.h - integration-test support: run the real closeloopd on a free port with
 * certificates made at test time, and talk to it through libcloop or a raw TLS/TCP
 * socket for bad-input tests.
 *
 * Paths come from the environment ctest sets: CL_BIN_DIR (the daemon), CL_SOURCE_DIR
 * (deploy/gen-certs.sh) and CL_TEST_TMP (scratch). CL_DAEMON_WRAPPER, when set, is
 * prefixed to the daemon's command line (e.g. "valgrind --error-exitcode=99 -q"). */
#ifndef CL_TEST_HARNESS_H
#define CL_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cloop.h"
#include "frame.h"
#include "tls.h"

typedef struct th_daemon {
    pid_t pid;
    int port;
    char dir[512];   /* scratch dir of this daemon: log, certs */
    char log[600];   /* the daemon's stderr */
    char certs[600]; /* ca.crt server.* client.* */
} th_daemon_t;

/* Makes (once per process) a certificate directory; returns its path. */
const char *th_certs(void);

/* Makes a second, unrelated certificate directory (a CA the daemon does not trust). */
const char *th_other_certs(void);

/* Starts closeloopd with the test certificates and extra "KEY=VALUE" environment
 * entries (NULL-terminated, may be NULL), waits for event=listening. 0 or -1. */
int th_daemon_start(th_daemon_t *d, const char *const *extra_env);

/* SIGTERM, then waits (up to 60 s) for exit. Returns the exit status, or -1. */
int th_daemon_stop(th_daemon_t *d);

/* Waits (up to timeout_ms) for the daemon to exit by itself; exit status or -1. */
int th_daemon_wait(th_daemon_t *d, int timeout_ms);

/* Whether the daemon process is still running. */
int th_daemon_alive(th_daemon_t *d);

/* Whether the daemon's log contains needle. */
int th_log_contains(const th_daemon_t *d, const char *needle);

/* Resident memory of the daemon in KiB, from /proc. */
long th_daemon_rss_kb(const th_daemon_t *d);

/* A libcloop client to the daemon; with_cert adds the test client certificate.
 * Returns NULL and prints the reason on failure. */
cl_client_t *th_connect(const th_daemon_t *d, int with_cert);

/* One ping on c carrying t, answered after delay_ms: CL_OK when the pong echoes t,
 * CL_EBADMSG when it does not, else the call's code (cl_client_error(c) says why). */
int th_ping(cl_client_t *c, uint64_t t, uint32_t delay_ms);

/* Sends req on c and waits for its reply of reply_type, which it drops: the reply's code. */
int th_call_code(cl_client_t *c, uint16_t type, const ProtobufCMessage *req, uint16_t reply_type);

/* SessionResumeRequest{token} and LogoutRequest on c: the reply's code. */
int th_resume(cl_client_t *c, const char *token);
int th_logout(cl_client_t *c);

/* A frame holding a Ping with a payload of len bytes 'p', as request req_id (malloc'd;
 * its length in *flen); NULL when out of memory. */
uint8_t *th_ping_frame(uint32_t req_id, size_t len, size_t *flen);

/* Runs closeloopd --bootstrap-admin USER (password PASSWORD) against the database at
 * conninfo, migrating it first: 0 or -1. */
int th_bootstrap_admin(const char *conninfo, const char *user, const char *password);

/* One ping on a fresh connection: 0 when the pong came back. */
int th_ping_fresh(const th_daemon_t *d);

/* ServerInfo on c: the call's code, and the reply in *info (NULL on failure; the caller
 * frees it with cl_msg_free). */
int th_server_info(cl_client_t *c, cl_pb_info_t **info);

/* A plain TCP connection to the daemon's port; returns fd or -1. */
int th_tcp_connect(int port);
/* The same from the local address src (another loopback address such as "127.0.0.2"
 * stands for another client address); NULL: any. */
int th_tcp_connect_from(int port, const char *src);

/* Reads and discards until the peer closes (1) or timeout_ms passes (0). */
int th_wait_closed(int fd, int timeout_ms);

/* A raw TLS connection that sends arbitrary plaintext bytes. */
typedef struct th_raw {
    int fd;
    cl_tls_ctx_t *ctx;
    cl_tls_t *tls;
    cl_frame_decoder_t dec;
    /* the last frame read */
    cl_frame_hdr_t hdr;
    uint8_t *payload;
    int have_frame;
    uint8_t pend[65536]; /* decrypted bytes not yet given to the decoder */
    size_t pend_len;
} th_raw_t;

int th_raw_open(const th_daemon_t *d, th_raw_t *r);
/* The same from the local address src (th_tcp_connect_from). */
int th_raw_open_from(const th_daemon_t *d, th_raw_t *r, const char *src);
/* Sends msg as request req_id and reads its one-frame reply: CL_OK when it is of
 * reply_type (r->payload holds it), the error reply's code (CL_E*), CL_EBADMSG for any
 * other frame, or CL_ECLOSED / CL_ETIMEDOUT. */
int th_raw_call(th_raw_t *r, uint32_t req_id, uint16_t type, const ProtobufCMessage *msg,
                uint16_t reply_type, int timeout_ms);
/* Encrypts and sends all of buf (blocking). 0 or -1. */
int th_raw_write(th_raw_t *r, const void *buf, size_t len);

/* Frames payload (raw bytes, not necessarily a valid message) as request req_id of type
 * and writes it: 0 or -1. */
int th_raw_send(th_raw_t *r, uint32_t req_id, uint16_t type, const void *payload, uint32_t len);
/* Waits for the next frame: 0 with r->hdr/r->payload set, CL_ECLOSED or CL_ETIMEDOUT. */
int th_raw_read_frame(th_raw_t *r, int timeout_ms);

/* Reads the next frame, which must be an Error: its wire ErrorCode (r->hdr has the
 * frame's header, *retryable its flag when not NULL); -1 when the read fails or the frame
 * is not a decodable Error. */
int th_raw_read_error(th_raw_t *r, int timeout_ms, int *retryable);
void th_raw_close(th_raw_t *r);

/* Builds a request frame with arbitrary fields (payload may be NULL). Caller frees. */
uint8_t *th_frame(uint32_t req_id, uint16_t type, const void *payload, uint32_t len,
                  size_t *out_len);

#endif
