/* harness.c - starts and stops the real closeloopd for integration tests and provides
 * raw TCP and TLS peers; see harness.h. Test processes are single-threaded. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "msg.h"
#include "testenv.h"

static const char *make_certs(const char *name, char *buf, size_t len) {
    if (buf[0]) return buf;
    const char *tmp = testenv_get("CL_TEST_TMP", "/tmp");
    mkdir(tmp, 0755);
    snprintf(buf, len, "%s/%s-%d", tmp, name, (int)getpid());
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s/deploy/gen-certs.sh' '%s' >/dev/null 2>&1", buf,
             testenv_get("CL_SOURCE_DIR", "."), buf);
    if (system(cmd) != 0) {
        fprintf(stderr, "harness: cannot generate certificates with %s\n", cmd);
        abort();
    }
    return buf;
}

const char *th_certs(void) {
    static char dir[512];
    return make_certs("certs", dir, sizeof dir);
}

const char *th_other_certs(void) {
    static char dir[512];
    return make_certs("other-certs", dir, sizeof dir);
}

int th_log_contains(const th_daemon_t *d, const char *needle) {
    FILE *f = fopen(d->log, "r");
    if (!f) return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

int th_daemon_start(th_daemon_t *d, const char *const *extra_env) {
    static int seq;
    memset(d, 0, sizeof *d);
    const char *certs = th_certs();
    snprintf(d->certs, sizeof d->certs, "%s", certs);
    snprintf(d->dir, sizeof d->dir, "%s/daemon-%d-%d", testenv_get("CL_TEST_TMP", "/tmp"),
             (int)getpid(), ++seq);
    mkdir(testenv_get("CL_TEST_TMP", "/tmp"), 0755);
    mkdir(d->dir, 0755);
    snprintf(d->log, sizeof d->log, "%s/closeloopd.log", d->dir);

    for (int attempt = 0; attempt < 5; attempt++) {
        d->port = testenv_free_port();
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            char v[700];
            snprintf(v, sizeof v, "%d", d->port);
            setenv("CLOSELOOP_PORT", v, 1);
            setenv("CLOSELOOP_LISTEN", "127.0.0.1", 1);
            snprintf(v, sizeof v, "%s/server.crt", certs);
            setenv("CLOSELOOP_TLS_CERT", v, 1);
            snprintf(v, sizeof v, "%s/server.key", certs);
            setenv("CLOSELOOP_TLS_KEY", v, 1);
            snprintf(v, sizeof v, "%s/ca.crt", certs);
            setenv("CLOSELOOP_TLS_CA", v, 1);
            for (const char *const *e = extra_env; e && *e; e++)
                putenv((char *)*e);
            int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0) _exit(126);
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
            char daemon[600];
            snprintf(daemon, sizeof daemon, "%s/closeloopd",
                     testenv_get("CL_BIN_DIR", "build/bin"));
            char *argv[32];
            int argc = 0;
            char wrapper[1024];
            snprintf(wrapper, sizeof wrapper, "%s", testenv_get("CL_DAEMON_WRAPPER", ""));
            for (char *tok = strtok(wrapper, " "); tok && argc < 28; tok = strtok(NULL, " "))
                argv[argc++] = tok;
            argv[argc++] = daemon;
            argv[argc] = NULL;
            execvp(argv[0], argv);
            _exit(127);
        }
        d->pid = pid;
        uint64_t deadline = testenv_now_ms() + 60000;
        while (testenv_now_ms() < deadline) {
            if (th_log_contains(d, "event=listening")) return 0;
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                d->pid = 0;
                break;
            }
            usleep(20000);
        }
        if (d->pid) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, NULL, 0);
            d->pid = 0;
        }
        if (!th_log_contains(d, "cannot listen")) break; /* only a port race is retried */
    }
    fprintf(stderr, "harness: closeloopd did not start; see %s\n", d->log);
    return -1;
}

int th_daemon_alive(th_daemon_t *d) {
    if (!d->pid) return 0;
    int status;
    pid_t r = waitpid(d->pid, &status, WNOHANG);
    if (r == d->pid) {
        fprintf(stderr, "harness: closeloopd exited unexpectedly (status %d); see %s\n", status,
                d->log);
        d->pid = 0;
        return 0;
    }
    return 1;
}

int th_daemon_stop(th_daemon_t *d) {
    if (!d->pid) return -1;
    kill(d->pid, SIGTERM);
    return th_daemon_wait(d, 60000);
}

int th_daemon_wait(th_daemon_t *d, int timeout_ms) {
    if (!d->pid) return -1;
    uint64_t deadline = testenv_now_ms() + (uint64_t)timeout_ms;
    int status = 0;
    while (testenv_now_ms() < deadline) {
        pid_t r = waitpid(d->pid, &status, WNOHANG);
        if (r == d->pid) {
            d->pid = 0;
            if (WIFEXITED(status)) {
                if (WEXITSTATUS(status) != 0)
                    fprintf(stderr, "harness: closeloopd exited %d; see %s\n", WEXITSTATUS(status),
                            d->log);
                return WEXITSTATUS(status);
            }
            fprintf(stderr, "harness: closeloopd died by signal %d; see %s\n", WTERMSIG(status),
                    d->log);
            return -1;
        }
        usleep(20000);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    fprintf(stderr, "harness: closeloopd did not exit in time; see %s\n", d->log);
    return -1;
}

long th_daemon_rss_kb(const th_daemon_t *d) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)d->pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    fclose(f);
    return kb;
}

cl_client_t *th_connect(const th_daemon_t *d, int with_cert) {
    char ca[700], cert[700], key[700], err[512];
    snprintf(ca, sizeof ca, "%s/ca.crt", d->certs);
    snprintf(cert, sizeof cert, "%s/client.crt", d->certs);
    snprintf(key, sizeof key, "%s/client.key", d->certs);
    cl_client_opts_t o = {
        .host = "127.0.0.1", .port = (uint16_t)d->port, .ca_file = ca, .timeout_ms = 10000};
    if (with_cert) {
        o.cert_file = cert;
        o.key_file = key;
    }
    cl_client_t *c = NULL;
    if (cl_client_connect(&o, &c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "harness: connect failed: %s\n", err);
        return NULL;
    }
    return c;
}

int th_call_code(cl_client_t *c, uint16_t type, const ProtobufCMessage *req, uint16_t reply_type) {
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, type, req, reply_type, &reply);
    cl_msg_free(reply);
    return rc;
}

int th_resume(cl_client_t *c, const char *token) {
    cl_pb_resume_req_t req = CLOSELOOP__SESSION_RESUME_REQUEST__INIT;
    req.token = (char *)token;
    return th_call_code(c, CL_MSG_SESSION_RESUME_REQ, &req.base, CL_MSG_WHOAMI);
}

int th_logout(cl_client_t *c) {
    cl_pb_logout_req_t req = CLOSELOOP__LOGOUT_REQUEST__INIT;
    return th_call_code(c, CL_MSG_LOGOUT_REQ, &req.base, CL_MSG_OK);
}

uint8_t *th_ping_frame(uint32_t req_id, size_t len, size_t *flen) {
    uint8_t *payload = malloc(len ? len : 1);
    if (!payload) return NULL;
    memset(payload, 'p', len);
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    ping.payload.data = payload;
    ping.payload.len = len;
    uint8_t *frame = NULL;
    if (cl_msg_frame_pack(0, req_id, CL_MSG_PING, &ping.base, 64u << 20, &frame, flen) != CL_OK)
        frame = NULL;
    free(payload);
    return frame;
}

int th_bootstrap_admin(const char *conninfo, const char *user, const char *password) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "CLOSELOOP_DB_CONNINFO='%s' CLOSELOOP_PASSWORD='%s' '%s/closeloopd' "
             "--bootstrap-admin '%s' >/dev/null 2>&1",
             conninfo, password, testenv_get("CL_BIN_DIR", "build/bin"), user);
    return system(cmd) == 0 ? 0 : -1;
}

int th_ping(cl_client_t *c, uint64_t t, uint32_t delay_ms) {
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    ping.client_time_ns = t;
    ping.delay_ms = delay_ms;
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, CL_MSG_PING, &ping.base, CL_MSG_PONG, &reply);
    if (rc == CL_OK && ((cl_pb_pong_t *)reply)->client_time_ns != t) rc = CL_EBADMSG;
    cl_msg_free(reply);
    return rc;
}

int th_ping_fresh(const th_daemon_t *d) {
    cl_client_t *c = th_connect(d, 0);
    if (!c) return -1;
    int rc = th_ping(c, 42, 0);
    if (rc != CL_OK) fprintf(stderr, "harness: ping failed: %s\n", cl_client_error(c));
    cl_client_close(c);
    return rc;
}

int th_server_info(cl_client_t *c, cl_pb_info_t **info) {
    cl_pb_info_req_t req = CLOSELOOP__SERVER_INFO_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, CL_MSG_SERVER_INFO_REQ, &req.base, CL_MSG_SERVER_INFO, &reply);
    *info = (cl_pb_info_t *)reply;
    return rc;
}

int th_tcp_connect(int port) {
    return th_tcp_connect_from(port, NULL);
}

int th_tcp_connect_from(int port, const char *src) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0) return -1;
    struct sockaddr_in from = {.sin_family = AF_INET};
    if (src && (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
                bind(fd, (struct sockaddr *)&from, sizeof from) != 0)) {
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int th_wait_closed(int fd, int timeout_ms) {
    uint64_t deadline = testenv_now_ms() + (uint64_t)timeout_ms;
    char buf[4096];
    while (testenv_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - testenv_now_ms());
        if (poll(&p, 1, left > 0 ? left : 0) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return 1;
    }
    return 0;
}

static int send_all(int fd, const uint8_t *p, size_t len) {
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int raw_flush(th_raw_t *r) {
    uint8_t buf[16384];
    size_t n;
    while ((n = cl_tls_drain(r->tls, buf, sizeof buf)) > 0)
        if (send_all(r->fd, buf, n) != 0) return -1;
    return 0;
}

/* Reads ciphertext into the engine; 0, CL_ECLOSED or CL_ETIMEDOUT. */
static int raw_fill(th_raw_t *r, int timeout_ms) {
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0) return CL_ETIMEDOUT;
    uint8_t buf[16384];
    ssize_t n = recv(r->fd, buf, sizeof buf, 0);
    if (n <= 0) return CL_ECLOSED;
    return cl_tls_feed(r->tls, buf, (size_t)n) == CL_TLS_OK ? 0 : CL_ECLOSED;
}

int th_raw_open(const th_daemon_t *d, th_raw_t *r) {
    return th_raw_open_from(d, r, NULL);
}

int th_raw_open_from(const th_daemon_t *d, th_raw_t *r, const char *src) {
    memset(r, 0, sizeof *r);
    char ca[700], err[256];
    snprintf(ca, sizeof ca, "%s/ca.crt", d->certs);
    cl_tls_client_opts_t o = {.ca_file = ca};
    if (cl_tls_ctx_new_client(&o, &r->ctx, err, sizeof err) != CL_OK) return -1;
    r->tls = cl_tls_new(r->ctx, "127.0.0.1");
    r->fd = th_tcp_connect_from(d->port, src);
    cl_frame_decoder_init(&r->dec, CL_FRAME_MAX_PAYLOAD_CEILING);
    if (!r->tls || r->fd < 0) return -1;
    for (;;) {
        int rc = cl_tls_handshake(r->tls);
        if (raw_flush(r) != 0) return -1;
        if (rc == CL_TLS_OK) return 0;
        if (rc != CL_TLS_AGAIN || raw_fill(r, 10000) != 0) return -1;
    }
}

int th_raw_write(th_raw_t *r, const void *buf, size_t len) {
    if (cl_tls_write(r->tls, buf, len) != CL_TLS_OK) return -1;
    return raw_flush(r);
}

static int raw_on_frame(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    th_raw_t *r = ctx;
    r->hdr = *hdr;
    free(r->payload);
    r->payload = malloc(hdr->len ? hdr->len : 1);
    if (hdr->len) memcpy(r->payload, payload, hdr->len);
    r->have_frame = 1;
    return -1000; /* stop after one frame; the rest stays in the engine */
}

int th_raw_read_frame(th_raw_t *r, int timeout_ms) {
    uint64_t deadline = testenv_now_ms() + (uint64_t)timeout_ms;
    r->have_frame = 0;
    for (;;) {
        /* bytes left over from a previous read come first */
        if (r->pend_len) {
            size_t used = 0;
            int frc = cl_frame_decoder_feed(&r->dec, r->pend, r->pend_len, raw_on_frame, r, &used);
            if (frc < 0 && frc != -1000) return CL_EBADFRAME; /* the server sent no frame */
            memmove(r->pend, r->pend + used, r->pend_len - used);
            r->pend_len -= used;
            if (r->have_frame) return 0;
        }
        size_t n = 0;
        int rc = cl_tls_read(r->tls, r->pend, sizeof r->pend, &n);
        if (rc == CL_TLS_OK) {
            r->pend_len = n;
            continue;
        }
        if (rc == CL_TLS_EOF || rc == CL_TLS_ERR) return CL_ECLOSED;
        int left = (int)(deadline - testenv_now_ms());
        if (left <= 0) return CL_ETIMEDOUT;
        if ((rc = raw_fill(r, left)) != 0) return rc;
    }
}

void th_raw_close(th_raw_t *r) {
    if (r->fd >= 0) close(r->fd);
    cl_tls_free(r->tls);
    cl_tls_ctx_free(r->ctx);
    cl_frame_decoder_free(&r->dec);
    free(r->payload);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

uint8_t *th_frame(uint32_t req_id, uint16_t type, const void *payload, uint32_t len,
                  size_t *out_len) {
    uint8_t *buf = malloc(CL_FRAME_HDR_LEN + len);
    cl_frame_hdr_t h = {.req_id = req_id, .type = type, .len = len};
    cl_frame_hdr_encode(&h, buf);
    if (len) memcpy(buf + CL_FRAME_HDR_LEN, payload, len);
    *out_len = CL_FRAME_HDR_LEN + len;
    return buf;
}

int th_raw_send(th_raw_t *r, uint32_t req_id, uint16_t type, const void *payload, uint32_t len) {
    size_t flen;
    uint8_t *f = th_frame(req_id, type, payload, len, &flen);
    int rc = f ? th_raw_write(r, f, flen) : -1;
    free(f);
    return rc;
}

int th_raw_read_error(th_raw_t *r, int timeout_ms, int *retryable) {
    if (th_raw_read_frame(r, timeout_ms) != 0) return -1;
    if (!(r->hdr.flags & CL_FRAME_FLAG_ERROR) || r->hdr.type != CL_MSG_ERROR) return -1;
    ProtobufCMessage *m = NULL;
    if (cl_msg_unpack(CL_MSG_ERROR, r->payload, r->hdr.len, &m) != CL_OK) return -1;
    int code = (int)((cl_pb_error_t *)m)->code;
    if (retryable) *retryable = ((cl_pb_error_t *)m)->retryable;
    cl_msg_free(m);
    return code;
}

int th_raw_call(th_raw_t *r, uint32_t req_id, uint16_t type, const ProtobufCMessage *msg,
                uint16_t reply_type, int timeout_ms) {
    uint8_t *frame = NULL;
    size_t len = 0;
    if (cl_msg_frame_pack(0, req_id, type, msg, 64u << 20, &frame, &len) != CL_OK) return CL_ENOMEM;
    int rc = th_raw_write(r, frame, len);
    free(frame);
    if (rc != 0) return CL_ECLOSED;
    if ((rc = th_raw_read_frame(r, timeout_ms)) != 0) return rc;
    if (r->hdr.req_id != req_id) return CL_EBADMSG;
    if (r->hdr.flags & CL_FRAME_FLAG_ERROR) {
        ProtobufCMessage *e = NULL;
        if (cl_msg_unpack(CL_MSG_ERROR, r->payload, r->hdr.len, &e) != CL_OK) return CL_EBADMSG;
        rc = -(int)((cl_pb_error_t *)e)->code;
        cl_msg_free(e);
        return rc;
    }
    return r->hdr.type == reply_type ? CL_OK : CL_EBADMSG;
}
