/* tls_echo_bench.c - the raw baseline for `cloop ping`: a single-threaded poll() server
 * that runs the same TLS engine and settings as closeloopd and answers each frame by
 * sending it straight back, re-typed as a Pong. No libuv, no protobuf decoding, no
 * dispatch, no limits: what is left is TLS and the socket round trip, so
 * `cloop ping` against this and against closeloopd, in the same run, shows what the
 * daemon itself costs. A Ping payload is a valid Pong payload (same field numbers).
 *
 * usage: tls_echo_bench --port N --cert FILE --key FILE [--seconds S]
 * Runs until SIGTERM/SIGINT or for S seconds. Bench-only: not hardened for hostile input
 * beyond dropping a connection on any error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "cl_mem.h"
#include "frame.h"
#include "msg.h"
#include "tls.h"

#define MAX_CONNS 1024

struct echo_conn {
    int fd;
    cl_tls_t *tls;
    cl_frame_decoder_t dec;
    uint8_t *out; /* plaintext replies of this read */
    size_t out_len, out_cap;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int echo_frame(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    struct echo_conn *c = ctx;
    size_t need = c->out_len + CL_FRAME_HDR_LEN + hdr->len;
    uint8_t *out = cl_grow(c->out, &c->out_cap, need, 1, 65536);
    if (!out) return CL_ENOMEM;
    c->out = out;
    cl_frame_hdr_t h = {
        .flags = CL_FRAME_FLAG_LAST, .req_id = hdr->req_id, .type = CL_MSG_PONG, .len = hdr->len};
    cl_frame_hdr_encode(&h, c->out + c->out_len);
    if (hdr->len) memcpy(c->out + c->out_len + CL_FRAME_HDR_LEN, payload, hdr->len);
    c->out_len = need;
    return 0;
}

/* Sends all pending ciphertext, blocking (replies are small; the peer reads them). */
static int flush_cipher(struct echo_conn *c) {
    uint8_t buf[65536];
    size_t n;
    while ((n = cl_tls_drain(c->tls, buf, sizeof buf)) > 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = send(c->fd, buf + off, n - off, MSG_NOSIGNAL);
            if (w < 0 && errno == EAGAIN) {
                struct pollfd p = {.fd = c->fd, .events = POLLOUT};
                poll(&p, 1, 1000);
                continue;
            }
            if (w <= 0) return -1;
            off += (size_t)w;
        }
    }
    return 0;
}

/* Handles readable data on one connection; -1 drops it. */
static int on_readable(struct echo_conn *c) {
    uint8_t buf[65536], plain[65536];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n <= 0) return n < 0 && errno == EAGAIN ? 0 : -1;
    if (cl_tls_feed(c->tls, buf, (size_t)n) != CL_TLS_OK) return -1;
    if (!cl_tls_handshake_done(c->tls)) {
        int rc = cl_tls_handshake(c->tls);
        if (flush_cipher(c) != 0 || rc == CL_TLS_ERR) return -1;
        if (rc == CL_TLS_AGAIN) return 0;
    }
    for (;;) {
        size_t got = 0;
        int rc = cl_tls_read(c->tls, plain, sizeof plain, &got);
        if (rc == CL_TLS_AGAIN) break;
        if (rc != CL_TLS_OK) return -1;
        if (cl_frame_decoder_feed(&c->dec, plain, got, echo_frame, c, NULL) != CL_OK) return -1;
    }
    if (c->out_len) {
        if (cl_tls_write(c->tls, c->out, c->out_len) != CL_TLS_OK) return -1;
        c->out_len = 0;
    }
    return flush_cipher(c);
}

static void drop(struct echo_conn *c) {
    close(c->fd);
    cl_tls_free(c->tls);
    cl_frame_decoder_free(&c->dec);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int main(int argc, char **argv) {
    static const struct option lo[] = {
        {"port", required_argument, NULL, 'p'}, {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},  {"seconds", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int port = 0, seconds = 0, opt;
    const char *cert = NULL, *key = NULL;
    while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 's': seconds = atoi(optarg); break;
        default:
            printf("usage: tls_echo_bench --port N --cert FILE --key FILE [--seconds S]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (port <= 0 || !cert || !key) {
        fprintf(stderr, "tls_echo_bench: --port, --cert and --key are required\n");
        return 2;
    }
    char err[512];
    cl_tls_ctx_t *ctx;
    cl_tls_server_opts_t so = {.cert_file = cert, .key_file = key};
    if (cl_tls_ctx_new_server(&so, &ctx, err, sizeof err) != CL_OK) {
        fprintf(stderr, "tls_echo_bench: %s\n", err);
        return 1;
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 511) != 0) {
        fprintf(stderr, "tls_echo_bench: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    fprintf(stderr, "tls_echo_bench: listening on 127.0.0.1:%d\n", port);

    static struct echo_conn conns[MAX_CONNS];
    static struct pollfd pfds[MAX_CONNS + 1];
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    time_t end = seconds > 0 ? time(NULL) + seconds : 0;
    while (!stop && (!end || time(NULL) < end)) {
        static int slot_of[MAX_CONNS + 1]; /* pfds index -> conns index */
        int n = 0;
        pfds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd < 0) continue;
            slot_of[n] = i;
            pfds[n++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        }
        if (poll(pfds, (nfds_t)n, 200) <= 0) continue;
        for (int k = 1; k < n; k++) {
            struct echo_conn *c = &conns[slot_of[k]];
            if (pfds[k].revents & (POLLIN | POLLHUP | POLLERR))
                if (on_readable(c) != 0) drop(c);
        }
        if (pfds[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < MAX_CONNS && slot < 0; i++)
                if (conns[i].fd < 0) slot = i;
            if (fd >= 0 && slot >= 0) {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                conns[slot].fd = fd;
                conns[slot].tls = cl_tls_new(ctx, NULL);
                cl_frame_decoder_init(&conns[slot].dec, CL_FRAME_DEFAULT_MAX_PAYLOAD);
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0) drop(&conns[i]);
    close(lfd);
    cl_tls_ctx_free(ctx);
    return 0;
}
