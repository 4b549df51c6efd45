/* cloop.c - libcloop: one TLS connection to closeloopd, driven by the caller's thread.
 *
 * The socket is non-blocking after connect; every wait goes through poll() with a
 * deadline, so each public call blocks at most about timeout_ms. Bytes flow through the
 * TLS engine (tls.h): ciphertext from the socket is fed in, plaintext comes out and goes
 * to the frame decoder, whose callback turns every frame into a cl_reply_t appended to a
 * FIFO queue. cl_client_call takes its own reply out of that queue; cl_client_recv takes
 * the oldest. Ciphertext the engine produces (after EVERY engine call) is collected into
 * an output buffer and written out; while waiting to write we also read, so a peer that
 * is itself blocked writing to us cannot deadlock the pair.
 *
 * Ownership: the client owns its TLS context, session, decoder, queue and buffers, all
 * released by cl_client_close. Replies handed out are owned by the caller (cl_reply_clear,
 * cl_msg_free). One thread at a time per client; clients share nothing. */
#include "cloop.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cl_mem.h"
#include "frame.h"
#include "tls.h"

#define CL__DEFAULT_TIMEOUT_MS 10000
#define CL__DEFAULT_MAX_FRAME  (16u * 1024u * 1024u)
#define CL__RBUF_SIZE          (64u * 1024u) /* ciphertext read from the socket per recv */
#define CL__PBUF_SIZE          (16u * 1024u) /* plaintext per cl_tls_read: one TLS record */
#define CL__PUSH_KEEP          64 /* pushes kept unread at most; older ones are dropped */

typedef struct reply_node {
    struct reply_node *next; /* toward the tail (newer) */
    cl_reply_t r;            /* the decoded frame */
} reply_node_t;

/* Connection state: OPEN until the peer closes (EOF) or something fails for good (BROKEN). */
typedef enum conn_state {
    CONN_OPEN = 0,
    CONN_EOF,    /* peer sent close_notify or closed TCP; queue still readable */
    CONN_BROKEN, /* fatal error; broken_rc and err say which */
} conn_state_t;

struct cl_client {
    int fd;                 /* the TCP socket, non-blocking, -1 when closed */
    conn_state_t state;     /* see conn_state_t */
    int broken_rc;          /* the sticky error code once BROKEN */
    int hs_done;            /* handshake complete: plaintext may flow */
    char host[256];         /* as given; the certificate must match it */
    char where[300];        /* "host:port" or "[v6]:port", for messages */
    int timeout_ms;         /* connect, handshake, send and per-reply timeout */
    uint32_t max_frame;     /* largest reply payload accepted */
    uint32_t next_id;       /* last request id handed out */
    cl_tls_ctx_t *ctx;      /* this client's TLS context (CA, client cert) */
    cl_tls_t *tls;          /* the session */
    cl_frame_decoder_t dec; /* reassembles reply frames from plaintext */
    reply_node_t *q_head;   /* received replies not yet taken, oldest first */
    reply_node_t *q_tail;
    unsigned q_pushes;       /* of them, pushes (request id 0, not an error) */
    uint64_t pushes_dropped; /* pushes dropped past CL__PUSH_KEEP, since last asked */
    uint8_t *out;            /* ciphertext waiting for the socket: out[out_off..out_len) */
    size_t out_off;
    size_t out_len;
    size_t out_cap;
    uint8_t rbuf[CL__RBUF_SIZE]; /* one recv's worth of ciphertext */
    uint8_t pbuf[CL__PBUF_SIZE]; /* one cl_tls_read's worth of plaintext */
    char err[512];               /* the last failure as one sentence */
};

/* Result of read_some besides errors: data moved, or nothing there yet. */
enum { READ_PROGRESS = 0, READ_WOULDBLOCK = 1 };

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline) {
    int64_t left = deadline - now_ms();
    if (left < 0) return 0;
    if (left > 0x7fffffff) return 0x7fffffff;
    return (int)left;
}

/* strerror is not thread-safe; this is, and never returns NULL. */
static const char *errno_text(int e, char *buf, size_t len) {
    if (strerror_r(e, buf, len) != 0) snprintf(buf, len, "error %d", e);
    return buf;
}

/* Copies src into dst (cap bytes), cutting only at a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The failure's sentence, kept for cl_client_error(); returns rc. */
#define set_err(obj, rc, ...) cl_errf((obj)->err, sizeof(obj)->err, (rc), __VA_ARGS__)

/* Marks the connection broken by rc (set_err has said why) and returns rc:
 * return broken(c, set_err(c, rc, ...)). */
static int broken(cl_client_t *c, int rc) {
    c->state = CONN_BROKEN;
    c->broken_rc = rc;
    return rc;
}

/* The error to return when the connection can no longer carry requests. */
static int dead_rc(cl_client_t *c) {
    if (c->state == CONN_BROKEN) return c->broken_rc;
    return set_err(c, CL_ECLOSED, "server closed the connection");
}

/* ---- reply queue ---------------------------------------------------------------- */

static void q_push(cl_client_t *c, reply_node_t *n) {
    n->next = NULL;
    if (c->q_tail)
        c->q_tail->next = n;
    else
        c->q_head = n;
    c->q_tail = n;
}

static bool is_push(const cl_reply_t *r) {
    return r->req_id == 0 && !(r->flags & CL_FRAME_FLAG_ERROR);
}

/* What q_take looks for. */
enum { Q_ID = 0, Q_ANY = 1, Q_PUSH = 2, Q_ERROR0 = 3 };

/* Removes and returns the oldest reply that matches: any (Q_ANY), request id id (Q_ID),
 * a push (Q_PUSH) or a connection-level error, request id 0 (Q_ERROR0). */
static reply_node_t *q_take(cl_client_t *c, int any, uint32_t id) {
    reply_node_t *prev = NULL;
    for (reply_node_t *n = c->q_head; n; prev = n, n = n->next) {
        if (any == Q_ID && n->r.req_id != id) continue;
        if (any == Q_PUSH && !is_push(&n->r)) continue;
        if (any == Q_ERROR0 && (n->r.req_id != 0 || is_push(&n->r))) continue;
        if (is_push(&n->r)) c->q_pushes--;
        if (prev)
            prev->next = n->next;
        else
            c->q_head = n->next;
        if (c->q_tail == n) c->q_tail = prev;
        n->next = NULL;
        return n;
    }
    return NULL;
}

/* Frame decoder callback: every complete frame becomes one queued reply. A payload that
 * does not decode, or of a type we do not know, is queued as msg NULL, err CL_EBADMSG:
 * the connection itself is still fine. */
static int on_frame(void *ctx, const cl_frame_hdr_t *h, const uint8_t *payload) {
    cl_client_t *c = ctx;
    reply_node_t *n = calloc(1, sizeof *n);
    if (!n) return CL_ENOMEM;
    cl_reply_t *r = &n->r;
    r->req_id = h->req_id;
    r->type = h->type;
    r->flags = h->flags;
    if ((h->flags & CL_FRAME_FLAG_ERROR) || h->type == CL_MSG_ERROR) {
        ProtobufCMessage *m = NULL;
        if (cl_msg_unpack(CL_MSG_ERROR, payload, h->len, &m) == CL_OK) {
            const cl_pb_error_t *e = (const cl_pb_error_t *)m;
            r->err = cl_err_from_wire((int)e->code);
            if (r->err == CL_OK) r->err = CL_EINTERNAL; /* an error reply must fail */
            r->retryable = e->retryable;
            if (e->conflict) {
                r->has_conflict = true;
                r->conflict_state = e->conflict->state;
                r->conflict_version = e->conflict->version;
            }
            copy_utf8(r->errmsg, sizeof r->errmsg,
                      e->message && *e->message ? e->message : cl_strerror(r->err));
            cl_msg_free(m);
        } else {
            r->err = CL_EBADMSG;
            copy_utf8(r->errmsg, sizeof r->errmsg,
                      "the server sent an error reply that could not be decoded");
        }
        r->flags |= CL_FRAME_FLAG_ERROR;
    } else if (h->req_id == 0 && c->q_pushes >= CL__PUSH_KEEP) {
        /* Nobody reads the pushes: the oldest goes (a push is a hint, a newer one says
         * as much), so a caller that only makes calls never holds more than a few. */
        reply_node_t *old = q_take(c, Q_PUSH, 0);
        if (old) {
            cl_reply_clear(&old->r);
            free(old);
            c->pushes_dropped++;
        }
    }
    if (!(r->flags & CL_FRAME_FLAG_ERROR)) {
        int rc = cl_msg_unpack(h->type, payload, h->len, &r->msg);
        if (rc != CL_OK) {
            r->msg = NULL;
            r->err = CL_EBADMSG;
            if (rc == CL_EUNKNOWNTYPE)
                snprintf(r->errmsg, sizeof r->errmsg,
                         "the server sent a message of unknown type %u", (unsigned)h->type);
            else
                snprintf(r->errmsg, sizeof r->errmsg,
                         "the server sent a %s message that could not be decoded",
                         cl_msg_type_name(h->type));
        }
    }
    if (is_push(r)) c->q_pushes++;
    q_push(c, n);
    return 0;
}

/* ---- byte movement --------------------------------------------------------------- */

/* Moves all ciphertext the engine has produced into the output buffer. */
static int collect(cl_client_t *c) {
    size_t n;
    while ((n = cl_tls_pending(c->tls)) > 0) {
        if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
        if (c->out_cap - c->out_len < n) {
            if (c->out_off > 0) {
                memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
                c->out_len -= c->out_off;
                c->out_off = 0;
            }
            uint8_t *p = cl_grow(c->out, &c->out_cap, c->out_len + n, 1, 16384);
            if (!p) return broken(c, set_err(c, CL_ENOMEM, "out of memory"));
            c->out = p;
        }
        size_t got = cl_tls_drain(c->tls, c->out + c->out_len, n);
        if (got == 0) break;
        c->out_len += got;
    }
    return CL_OK;
}

static int out_pending(const cl_client_t *c) {
    return c->out_off < c->out_len;
}

static int read_some(cl_client_t *c);

/* Writes as much buffered ciphertext as the socket takes without waiting. */
static int try_send(cl_client_t *c) {
    while (out_pending(c)) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return CL_OK;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            /* The server may have said why before closing (a final error frame). */
            while (c->hs_done && c->state == CONN_OPEN && read_some(c) == READ_PROGRESS) {
            }
            if (c->state == CONN_BROKEN) return c->broken_rc;
            return broken(c, set_err(c, CL_ECLOSED, "server closed the connection"));
        }
        char eb[128];
        return broken(c, set_err(c, CL_EIO, "cannot send to %s: %s", c->where,
                                 errno_text(errno, eb, sizeof eb)));
    }
    c->out_off = c->out_len = 0;
    return CL_OK;
}

/* Reads decrypted data until the engine has none left (OpenSSL may hold whole records
 * that will never make the socket readable again) and decodes it into frames. */
static int tls_read_all(cl_client_t *c) {
    for (;;) {
        size_t got = 0;
        int rc = cl_tls_read(c->tls, c->pbuf, sizeof c->pbuf, &got);
        int crc = collect(c);
        if (crc < 0) return crc;
        if (rc == CL_TLS_AGAIN) return CL_OK;
        if (rc == CL_TLS_EOF) {
            c->state = CONN_EOF;
            return CL_OK;
        }
        if (rc != CL_TLS_OK)
            return broken(c, set_err(c, CL_ETLS, "TLS error on the connection to %s: %s", c->where,
                                     cl_tls_error(c->tls)));
        if (got == 0) continue;
        int frc = cl_frame_decoder_feed(&c->dec, c->pbuf, got, on_frame, c, NULL);
        if (frc == CL_ETOOBIG)
            return broken(c, set_err(c, frc, "the server sent a reply larger than %u bytes",
                                     (unsigned)c->max_frame));
        if (frc == CL_ENOMEM) return broken(c, set_err(c, frc, "out of memory"));
        if (frc < 0)
            return broken(c, set_err(c, CL_EBADFRAME, "the server sent an invalid frame: %s",
                                     cl_strerror(frc)));
    }
}

/* One non-blocking recv: feeds the engine and, after the handshake, decodes what it
 * yields. Returns READ_PROGRESS, READ_WOULDBLOCK, or a negative code (state updated). */
static int read_some(cl_client_t *c) {
    if (c->state != CONN_OPEN) return dead_rc(c);
    ssize_t n;
    do {
        n = recv(c->fd, c->rbuf, sizeof c->rbuf, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return READ_WOULDBLOCK;
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        c->state = CONN_EOF;
        return dead_rc(c);
    }
    if (n < 0) {
        char eb[128];
        return broken(c, set_err(c, CL_EIO, "cannot read from %s: %s", c->where,
                                 errno_text(errno, eb, sizeof eb)));
    }
    if (cl_tls_feed(c->tls, c->rbuf, (size_t)n) != CL_TLS_OK)
        return broken(c, set_err(c, CL_ETLS, "TLS error on the connection to %s: %s", c->where,
                                 cl_tls_error(c->tls)));
    if (!c->hs_done) return READ_PROGRESS; /* the handshake loop drives the engine */
    int rc = tls_read_all(c);
    return rc < 0 ? rc : READ_PROGRESS;
}

/* Waits until the socket is readable (when want_read and still open) or writable (when
 * ciphertext is waiting), writing what it can. Returns CL_OK (go and read),
 * CL_ETIMEDOUT, or an error. */
static int wait_io(cl_client_t *c, int64_t deadline, int want_read) {
    struct pollfd p = {.fd = c->fd, .events = 0, .revents = 0};
    if (want_read && c->state == CONN_OPEN) p.events |= POLLIN;
    if (out_pending(c)) p.events |= POLLOUT;
    if (!p.events) return CL_OK;
    int n = poll(&p, 1, remaining_ms(deadline));
    if (n < 0) {
        if (errno == EINTR) return CL_OK;
        char eb[128];
        return broken(c, set_err(c, CL_EIO, "poll failed: %s", errno_text(errno, eb, sizeof eb)));
    }
    if (n == 0) return CL_ETIMEDOUT;
    if (out_pending(c) && (p.revents & (POLLOUT | POLLERR | POLLHUP))) return try_send(c);
    return CL_OK;
}

/* Writes all buffered ciphertext before the deadline, reading meanwhile (after the
 * handshake) so that neither side can block the other. */
static int flush(cl_client_t *c, int64_t deadline) {
    for (;;) {
        int rc = try_send(c);
        if (rc < 0) return rc;
        if (!out_pending(c)) return CL_OK;
        rc = wait_io(c, deadline, c->hs_done);
        if (rc == CL_ETIMEDOUT)
            return set_err(c, CL_ETIMEDOUT, "timed out sending to %s", c->where);
        if (rc < 0) return rc;
        if (c->hs_done && c->state == CONN_OPEN) {
            rc = read_some(c);
            if (rc < 0 && c->state == CONN_BROKEN) return rc;
        }
    }
}

/* Waits for a reply (what: Q_ANY, Q_ID with request id id, ...) until timeout_ms passes. */
static int wait_reply(cl_client_t *c, int any, uint32_t id, int timeout_ms, reply_node_t **out) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        reply_node_t *n = q_take(c, any, id);
        if (n) {
            *out = n;
            return CL_OK;
        }
        if (c->state != CONN_OPEN) return dead_rc(c);
        /* poll first: right after a request the reply is almost never there yet, and
         * anything already received was decoded into the queue by the last read. */
        int rc = wait_io(c, deadline, 1);
        if (rc == CL_ETIMEDOUT)
            return set_err(c, CL_ETIMEDOUT, "timed out waiting for a reply from %s", c->where);
        if (rc < 0) return rc;
        (void)read_some(c); /* errors update the state, seen above */
    }
}

/* ---- connecting ------------------------------------------------------------------ */

static int tcp_connect(cl_client_t *c, uint16_t port, int64_t deadline) {
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    int grc = getaddrinfo(c->host, portstr, &hints, &res);
    if (grc != 0) {
        char eb[128];
        return set_err(c, CL_EIO, "cannot resolve %s: %s", c->host,
                       grc == EAI_SYSTEM ? errno_text(errno, eb, sizeof eb) : gai_strerror(grc));
    }
    int last = ECONNREFUSED;
    int timed_out = 0;
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            last = errno;
            close(fd);
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
            int n;
            do {
                n = poll(&p, 1, remaining_ms(deadline));
            } while (n < 0 && errno == EINTR);
            if (n == 0) {
                close(fd);
                timed_out = 1;
                break; /* no time left for the other addresses either */
            }
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (n < 0)
                soerr = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                soerr = errno;
            rc = soerr ? -1 : 0;
            errno = soerr;
        }
        if (rc < 0) {
            last = errno;
            close(fd);
            continue;
        }
        c->fd = fd;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        char eb[128];
        if (timed_out)
            return set_err(c, CL_ETIMEDOUT, "cannot connect to %s: timed out after %d ms", c->where,
                           c->timeout_ms);
        return set_err(c, CL_EIO, "cannot connect to %s: %s", c->where,
                       errno_text(last, eb, sizeof eb));
    }
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return CL_OK;
}

static int handshake(cl_client_t *c, int64_t deadline) {
    for (;;) {
        int rc = cl_tls_handshake(c->tls);
        int crc = collect(c);
        if (crc < 0) return crc;
        if (rc == CL_TLS_ERR) {
            /* Tell the server why (the alert), without waiting for it. */
            (void)try_send(c);
            return broken(c, set_err(c, CL_ETLS, "TLS handshake with %s failed: %s", c->where,
                                     cl_tls_error(c->tls)));
        }
        crc = flush(c, deadline);
        if (crc == CL_ETIMEDOUT)
            return set_err(c, crc, "TLS handshake with %s timed out", c->where);
        if (crc == CL_ECLOSED)
            return set_err(c, crc, "TLS handshake with %s failed: the server closed the connection",
                           c->where);
        if (crc < 0) return crc;
        if (rc == CL_TLS_OK) break;
        for (;;) { /* AGAIN: the engine needs the server's next flight */
            int r = read_some(c);
            if (r == READ_PROGRESS) break;
            if (r < 0) {
                if (c->state == CONN_EOF)
                    return set_err(c, CL_ECLOSED,
                                   "TLS handshake with %s failed: the server closed the connection",
                                   c->where);
                return r;
            }
            r = wait_io(c, deadline, 1);
            if (r == CL_ETIMEDOUT)
                return set_err(c, r, "TLS handshake with %s timed out", c->where);
            if (r < 0) return r;
        }
    }
    c->hs_done = 1;
    /* The last flight may have carried more records (e.g. session tickets). */
    return tls_read_all(c);
}

static void client_free(cl_client_t *c) {
    reply_node_t *n;
    while ((n = q_take(c, 1, 0))) {
        cl_reply_clear(&n->r);
        free(n);
    }
    cl_frame_decoder_free(&c->dec);
    if (c->fd >= 0) close(c->fd);
    cl_tls_free(c->tls);
    cl_tls_ctx_free(c->ctx);
    free(c->out);
    free(c);
}

int cl_client_connect(const cl_client_opts_t *o, cl_client_t **out, char *err, size_t errlen) {
    if (out) *out = NULL;
    if (err && errlen) err[0] = '\0';
    if (!o || !out || !o->host || !*o->host) {
        if (err && errlen) snprintf(err, errlen, "no server host given");
        return CL_EINVAL;
    }
    if (!o->ca_file || !*o->ca_file) {
        if (err && errlen)
            snprintf(err, errlen, "no CA certificate given to verify the server with");
        return CL_EINVAL;
    }
    if (strlen(o->host) >= sizeof((cl_client_t *)0)->host) {
        if (err && errlen) snprintf(err, errlen, "the server host name is too long");
        return CL_EINVAL;
    }
    cl_client_t *c = calloc(1, sizeof *c);
    if (!c) {
        if (err && errlen) snprintf(err, errlen, "out of memory");
        return CL_ENOMEM;
    }
    c->fd = -1;
    uint16_t port = o->port ? o->port : CL_DEFAULT_PORT;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : CL__DEFAULT_TIMEOUT_MS;
    c->max_frame = o->max_frame ? o->max_frame : CL__DEFAULT_MAX_FRAME;
    if (c->max_frame > CL_FRAME_MAX_PAYLOAD_CEILING) c->max_frame = CL_FRAME_MAX_PAYLOAD_CEILING;
    snprintf(c->host, sizeof c->host, "%s", o->host);
    snprintf(c->where, sizeof c->where, strchr(c->host, ':') ? "[%s]:%u" : "%s:%u", c->host,
             (unsigned)port);
    cl_frame_decoder_init(&c->dec, c->max_frame);

    int64_t deadline = now_ms() + c->timeout_ms;
    cl_tls_client_opts_t to = {
        .ca_file = o->ca_file,
        .cert_file = o->cert_file,
        .key_file = o->key_file,
        .allow_tls12 = o->allow_tls12,
    };
    int rc = cl_tls_ctx_new_client(&to, &c->ctx, c->err, sizeof c->err);
    if (rc < 0) goto fail;
    rc = tcp_connect(c, port, deadline);
    if (rc < 0) goto fail;
    c->tls = cl_tls_new(c->ctx, c->host);
    if (!c->tls) {
        rc = set_err(c, CL_ENOMEM, "out of memory");
        goto fail;
    }
    rc = handshake(c, deadline);
    if (rc < 0) goto fail;
    *out = c;
    return CL_OK;
fail:
    if (rc >= 0) rc = CL_EIO;
    if (err && errlen) copy_utf8(err, errlen, c->err[0] ? c->err : cl_strerror(rc));
    client_free(c);
    return rc;
}

void cl_client_close(cl_client_t *c) {
    if (!c) return;
    /* close_notify, best effort: one attempt, never a wait. */
    if (c->tls && c->hs_done && c->state != CONN_BROKEN && c->fd >= 0) {
        if (cl_tls_shutdown(c->tls) == CL_TLS_OK && collect(c) == CL_OK) (void)try_send(c);
    }
    client_free(c);
}

uint64_t cl_client_pushes_dropped(cl_client_t *c) {
    uint64_t n = c->pushes_dropped;
    c->pushes_dropped = 0;
    return n;
}

bool cl_client_is_open(const cl_client_t *c) {
    return c && c->state == CONN_OPEN;
}

const char *cl_client_error(const cl_client_t *c) {
    return c ? c->err : "no client";
}

uint32_t cl_client_next_id(cl_client_t *c) {
    if (++c->next_id == 0) c->next_id = 1;
    return c->next_id;
}

int cl_client_send(cl_client_t *c, uint32_t req_id, uint16_t type, const ProtobufCMessage *msg) {
    if (c->state == CONN_BROKEN) return c->broken_rc;
    if (c->state == CONN_EOF) return dead_rc(c);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = cl_msg_frame_pack(0, req_id, type, msg, c->max_frame, &buf, &len);
    if (rc == CL_ETOOBIG)
        return set_err(c, rc, "the request is larger than %u bytes", (unsigned)c->max_frame);
    if (rc < 0) return set_err(c, rc, "cannot encode the request: %s", cl_strerror(rc));
    rc = cl_tls_write(c->tls, buf, len);
    free(buf);
    int crc = collect(c);
    if (crc < 0) return crc;
    if (rc != CL_TLS_OK)
        return broken(c, set_err(c, CL_ETLS, "TLS error on the connection to %s: %s", c->where,
                                 cl_tls_error(c->tls)));
    return flush(c, now_ms() + c->timeout_ms);
}

int cl_client_recv(cl_client_t *c, cl_reply_t *out, int timeout_ms) {
    memset(out, 0, sizeof *out);
    reply_node_t *n = NULL;
    int rc = wait_reply(c, Q_ANY, 0, timeout_ms < 0 ? c->timeout_ms : timeout_ms, &n);
    if (rc < 0) return rc;
    *out = n->r;
    free(n);
    return CL_OK;
}

int cl_client_wait_push(cl_client_t *c, cl_reply_t *out, int timeout_ms) {
    memset(out, 0, sizeof *out);
    reply_node_t *n = NULL;
    int rc = wait_reply(c, Q_ID, 0, timeout_ms < 0 ? c->timeout_ms : timeout_ms, &n);
    if (rc < 0) return rc;
    *out = n->r;
    free(n);
    return CL_OK;
}

/* Takes the next frame of request id, waiting up to the client's timeout; pushes that
 * arrive meanwhile stay queued for cl_client_recv / cl_client_wait_push. When the
 * connection died meanwhile, the server's connection-level error frame (request id 0)
 * explains that best and is returned instead. */
static int next_frame(cl_client_t *c, uint32_t id, reply_node_t **out) {
    reply_node_t *n = NULL;
    int rc = wait_reply(c, Q_ID, id, c->timeout_ms, &n);
    if (rc < 0 && c->state != CONN_OPEN) n = q_take(c, Q_ERROR0, 0);
    *out = n;
    return n ? CL_OK : rc;
}

/* CL_OK when r is a decoded message of expect_type; otherwise its error, with the
 * sentence in c->err (for an error reply: the server's own sentence, unchanged). */
static int reply_status(cl_client_t *c, const cl_reply_t *r, uint16_t expect_type) {
    if (r->err != CL_OK) return set_err(c, r->err, "%s", r->errmsg);
    if (r->type != expect_type)
        return set_err(c, CL_EBADMSG, "the server replied with %s instead of %s",
                       cl_msg_type_name(r->type), cl_msg_type_name(expect_type));
    return CL_OK;
}

static void node_free(reply_node_t *n) {
    cl_reply_clear(&n->r);
    free(n);
}

int cl_client_call(cl_client_t *c, uint16_t type, const ProtobufCMessage *req, uint16_t expect_type,
                   ProtobufCMessage **reply) {
    *reply = NULL;
    uint32_t id = cl_client_next_id(c);
    int rc = cl_client_send(c, id, type, req);
    reply_node_t *n = NULL;
    if (rc == CL_OK) rc = next_frame(c, id, &n);
    if (!n) return rc;
    rc = reply_status(c, &n->r, expect_type);
    if (rc == CL_OK) {
        *reply = n->r.msg;
        n->r.msg = NULL;
    }
    node_free(n);
    return rc;
}

int cl_client_call_stream(cl_client_t *c, uint16_t type, const ProtobufCMessage *req,
                          uint16_t page_type,
                          int (*on_page)(void *arg, const ProtobufCMessage *page), void *arg) {
    uint32_t id = cl_client_next_id(c);
    int rc = cl_client_send(c, id, type, req);
    if (rc < 0) return rc;
    int result = CL_OK; /* what the call returns once the stream has ended */
    int delivering = 1; /* 0 once a page failed or on_page stopped: drain silently */
    for (;;) {
        reply_node_t *n = NULL;
        rc = next_frame(c, id, &n);
        if (!n) return result != CL_OK ? result : rc;
        const cl_reply_t *r = &n->r;
        /* An error reply ends the stream whether or not it says LAST. */
        int last = (r->flags & (CL_FRAME_FLAG_LAST | CL_FRAME_FLAG_ERROR)) != 0;
        if (delivering) {
            int st = reply_status(c, r, page_type);
            if (st == CL_OK) st = on_page(arg, r->msg);
            if (st != CL_OK) {
                result = st;
                delivering = 0;
            }
        }
        node_free(n);
        if (last) return result;
    }
}

int cl_client_login(cl_client_t *c, const char *username, const char *password,
                    ProtobufCMessage **reply) {
    Closeloop__LoginRequest req = CLOSELOOP__LOGIN_REQUEST__INIT;
    req.username = (char *)username;
    req.password = (char *)password;
    return cl_client_call(c, CL_MSG_LOGIN_REQ, &req.base, CL_MSG_LOGIN, reply);
}

int cl_client_resume(cl_client_t *c, const char *token, ProtobufCMessage **whoami) {
    Closeloop__SessionResumeRequest req = CLOSELOOP__SESSION_RESUME_REQUEST__INIT;
    req.token = (char *)token;
    return cl_client_call(c, CL_MSG_SESSION_RESUME_REQ, &req.base, CL_MSG_WHOAMI, whoami);
}

const char *cl_client_tls_version(const cl_client_t *c) {
    return c && c->tls ? cl_tls_version(c->tls) : "";
}

void cl_reply_clear(cl_reply_t *r) {
    if (!r) return;
    cl_msg_free(r->msg);
    r->msg = NULL;
}

int cl_parse_server(const char *s, char *host, size_t cap, uint16_t *port) {
    if (!s || !*s || !host || cap == 0 || !port) return CL_EINVAL;
    const char *h = s, *p = NULL;
    size_t hlen;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end) return CL_EINVAL;
        h = s + 1;
        hlen = (size_t)(end - h);
        if (end[1] == ':')
            p = end + 2;
        else if (end[1] != '\0')
            return CL_EINVAL;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':') == NULL) {
            hlen = (size_t)(colon - s);
            p = colon + 1;
        } else {
            hlen = strlen(s); /* no port, or a bare IPv6 address */
        }
    }
    if (hlen == 0 || hlen >= cap) return CL_EINVAL;
    for (size_t i = 0; i < hlen; i++)
        if ((unsigned char)h[i] <= ' ' || h[i] == '/') return CL_EINVAL;
    uint16_t pv = *port;
    if (p) {
        unsigned long v = 0;
        if (!*p) return CL_EINVAL;
        for (const char *q = p; *q; q++) {
            if (*q < '0' || *q > '9') return CL_EINVAL;
            v = v * 10 + (unsigned long)(*q - '0');
            if (v > 65535) return CL_EINVAL;
        }
        if (v == 0) return CL_EINVAL;
        pv = (uint16_t)v;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = pv;
    return CL_OK;
}
