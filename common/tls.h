/* tls.h - the TLS engine: OpenSSL 3 over memory BIOs, neither owning nor seeing a socket.
 *
 * The caller moves bytes: ciphertext from the network goes in with cl_tls_feed, and
 * ciphertext to send comes out with cl_tls_drain. Plaintext goes through cl_tls_write
 * and cl_tls_read. After EVERY engine call (handshake, read, write, shutdown) the caller
 * must drain, since any of them may produce ciphertext. No OpenSSL type appears here;
 * only tls.c includes OpenSSL. A context is shared by many sessions and must outlive
 * them. Not thread-safe per session; contexts may be shared across threads.
 *
 * Profiles: the default is Mozilla "modern" (TLS 1.3 only). allow_tls12 lowers the
 * minimum to TLS 1.2 with the "intermediate" ECDHE+AEAD cipher list. */
#ifndef CL_TLS_H
#define CL_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"

typedef struct cl_tls_ctx cl_tls_ctx_t;
typedef struct cl_tls cl_tls_t;

/* Engine verdicts. */
enum {
    CL_TLS_OK = 0,    /* done / data returned */
    CL_TLS_AGAIN = 1, /* needs more ciphertext from the peer */
    CL_TLS_EOF = 2,   /* the peer closed the TLS session cleanly */
    CL_TLS_ERR = -1,  /* fatal; cl_tls_error() says why */
};

typedef struct cl_tls_server_opts {
    const char *cert_file;   /* PEM certificate chain */
    const char *key_file;    /* PEM private key */
    const char *ca_file;     /* PEM CA for client certificates; NULL: none accepted */
    int allow_tls12;         /* nonzero: accept TLS 1.2 as well as 1.3 */
    int require_client_cert; /* nonzero: handshake fails without a valid client cert */
} cl_tls_server_opts_t;

typedef struct cl_tls_client_opts {
    const char *ca_file;   /* PEM CA that must have signed the server certificate */
    const char *cert_file; /* optional client certificate (with key_file) */
    const char *key_file;
    int allow_tls12; /* nonzero: offer TLS 1.2 as well */
} cl_tls_client_opts_t;

/* Build a context. On failure returns CL_ETLS/CL_ECONFIG and writes one sentence to err. */
CL_MUSTCHECK int cl_tls_ctx_new_server(const cl_tls_server_opts_t *o, cl_tls_ctx_t **out, char *err,
                                       size_t errlen);
CL_MUSTCHECK int cl_tls_ctx_new_client(const cl_tls_client_opts_t *o, cl_tls_ctx_t **out, char *err,
                                       size_t errlen);
void cl_tls_ctx_free(cl_tls_ctx_t *ctx);

/* A session. server_name: for a client, the host name or IP address the server
 * certificate must match (also sent as SNI when it is a name); NULL for a server. A
 * client session without a name fails its handshake with a clear error. Returns NULL
 * on out of memory.
 * Errors are sticky: after CL_TLS_ERR every later call returns ERR. Writing before the
 * handshake completes or after cl_tls_shutdown is an error; reading before it completes
 * drives the handshake. */
cl_tls_t *cl_tls_new(cl_tls_ctx_t *ctx, const char *server_name);
void cl_tls_free(cl_tls_t *t);

/* Hands ciphertext received from the network to the engine. Returns CL_TLS_OK or ERR. */
int cl_tls_feed(cl_tls_t *t, const uint8_t *data, size_t len);

/* Advances the handshake: CL_TLS_OK once complete, AGAIN while it needs peer data, ERR. */
int cl_tls_handshake(cl_tls_t *t);
int cl_tls_handshake_done(const cl_tls_t *t);

/* Reads decrypted bytes: OK with *nread > 0; AGAIN when nothing is buffered (call until
 * AGAIN, since OpenSSL may hold decrypted records that never make the socket fire);
 * EOF on close_notify; ERR. */
int cl_tls_read(cl_tls_t *t, uint8_t *buf, size_t cap, size_t *nread);

/* Encrypts all len bytes (memory BIOs never block). CL_TLS_OK or ERR. */
int cl_tls_write(cl_tls_t *t, const uint8_t *buf, size_t len);

/* Ciphertext waiting to be sent, and taking it: copies up to cap bytes, returns count. */
size_t cl_tls_pending(const cl_tls_t *t);
size_t cl_tls_drain(cl_tls_t *t, uint8_t *buf, size_t cap);

/* Queues close_notify (drain afterwards). CL_TLS_OK or ERR. */
int cl_tls_shutdown(cl_tls_t *t);

/* The last error as one sentence; "" if none. Valid until the next call on t. */
const char *cl_tls_error(const cl_tls_t *t);

/* Negotiated protocol, e.g. "TLSv1.3", or "" before the handshake. */
const char *cl_tls_version(const cl_tls_t *t);

/* Subject of a verified peer certificate as a one-line string (e.g. "CN=desk-sz,O=...").
 * Returns 1 and fills buf when there is one; 0 when the peer sent none or buf is too
 * small (a cut-off subject could name someone else). */
int cl_tls_peer_subject(const cl_tls_t *t, char *buf, size_t len);

#endif
