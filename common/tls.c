/* tls.c - the TLS engine over OpenSSL 3 memory BIOs; see tls.h for the contract.
 *
 * Owns every OpenSSL object of the project: a cl_tls_ctx_t wraps one SSL_CTX, a cl_tls_t
 * wraps one SSL with its two memory BIOs (rbio: ciphertext fed in; wbio: ciphertext to
 * drain). The session frees the SSL, which frees both BIOs. Runs on whatever thread or loop
 * owns the session; nothing here blocks. Each session keeps its last error as one sentence.
 * A fatal error is sticky: every later call on that session returns CL_TLS_ERR. */
#include "tls.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Mozilla "modern" (TLS 1.3) and "intermediate" (TLS 1.2) profiles. */
#define CL_TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define CL_TLS12_CIPHERS                                                                           \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CL_TLS_GROUPS  "X25519:prime256v1:secp384r1"
#define CL_TLS_SID_CTX "closeloop"

struct cl_tls_ctx {
    SSL_CTX *ssl_ctx; /* shared by all sessions; reference-counted by OpenSSL */
    int is_server;    /* sessions accept (1) or connect (0) */
};

struct cl_tls {
    SSL *ssl;      /* owns rbio and wbio */
    BIO *rbio;     /* ciphertext from the peer, filled by cl_tls_feed */
    BIO *wbio;     /* ciphertext for the peer, emptied by cl_tls_drain */
    int is_server; /* copied from the context */
    int done;      /* handshake complete */
    int failed;    /* a fatal error happened; err says which */
    int shut_sent; /* close_notify queued */
    char err[256]; /* last error sentence, "" if none */
};

/* Reason of the first queued OpenSSL error, as text. */
static void ossl_reason(char *buf, size_t len) {
    unsigned long e = ERR_peek_error();
    const char *r;

    if (e == 0) {
        snprintf(buf, len, "unknown error");
        return;
    }
    if (ERR_SYSTEM_ERROR(e)) {
        if (strerror_r(ERR_GET_REASON(e), buf, len) != 0) snprintf(buf, len, "system error");
        return;
    }
    r = ERR_reason_error_string(e);
    if (r != NULL)
        snprintf(buf, len, "%s", r);
    else
        ERR_error_string_n(e, buf, len);
}

/* Writes "<prefix>: <OpenSSL reason>" to buf and clears the queue. */
static void ossl_err(char *buf, size_t len, const char *fmt, ...) CL_PRINTF(3, 4);
static void ossl_err(char *buf, size_t len, const char *fmt, ...) {
    char what[512], why[160];
    va_list ap;

    if (buf == NULL || len == 0) {
        ERR_clear_error();
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    ossl_reason(why, sizeof(why));
    ERR_clear_error();
    snprintf(buf, len, "%s: %s", what, why);
}

static void put_err(char *buf, size_t len, const char *msg) {
    if (buf != NULL && len > 0) snprintf(buf, len, "%s", msg);
}

/* Settings shared by both sides: protocol floor, ciphers, groups, options. */
static int ctx_common(SSL_CTX *c, int allow_tls12, char *err, size_t errlen) {
    ERR_clear_error();
    if (!SSL_CTX_set_min_proto_version(c, allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(c, CL_TLS13_SUITES) ||
        !SSL_CTX_set_cipher_list(c, CL_TLS12_CIPHERS) ||
        !SSL_CTX_set1_groups_list(c, CL_TLS_GROUPS)) {
        ossl_err(err, errlen, "cannot configure the TLS profile");
        return CL_ETLS;
    }
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    return CL_OK;
}

/* Loads a certificate chain and its key and checks that they belong together. */
static int ctx_load_pair(SSL_CTX *c, const char *side, const char *cert, const char *key, char *err,
                         size_t errlen) {
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
        ossl_err(err, errlen, "cannot load %s certificate %s", side, cert);
        return CL_ECONFIG;
    }
    if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_last_error();

        /* OpenSSL compares the key with the certificate already, while loading it. */
        if (ERR_GET_LIB(e) != ERR_LIB_X509 || ERR_GET_REASON(e) != X509_R_KEY_VALUES_MISMATCH) {
            ossl_err(err, errlen, "cannot load %s private key %s", side, key);
            return CL_ECONFIG;
        }
    }
    if (ERR_peek_error() != 0 || SSL_CTX_check_private_key(c) != 1) {
        ERR_clear_error();
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s private key %s does not match certificate %s", side, key,
                     cert);
        return CL_ECONFIG;
    }
    return CL_OK;
}

static int ctx_load_ca(SSL_CTX *c, const char *ca_file, char *err, size_t errlen) {
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(c, ca_file, NULL) != 1) {
        ossl_err(err, errlen, "cannot load CA file %s", ca_file);
        return CL_ECONFIG;
    }
    return CL_OK;
}

static int ctx_wrap(SSL_CTX *c, int is_server, cl_tls_ctx_t **out, char *err, size_t errlen) {
    cl_tls_ctx_t *ctx = calloc(1, sizeof(*ctx));

    if (ctx == NULL) {
        SSL_CTX_free(c);
        put_err(err, errlen, "out of memory");
        return CL_ENOMEM;
    }
    ctx->ssl_ctx = c;
    ctx->is_server = is_server;
    *out = ctx;
    return CL_OK;
}

int cl_tls_ctx_new_server(const cl_tls_server_opts_t *o, cl_tls_ctx_t **out, char *err,
                          size_t errlen) {
    SSL_CTX *c;
    int rc;

    *out = NULL;
    if (o->cert_file == NULL || o->key_file == NULL) {
        put_err(err, errlen, "a TLS server needs a certificate file and a key file");
        return CL_ECONFIG;
    }
    if (o->require_client_cert && o->ca_file == NULL) {
        put_err(err, errlen, "requiring client certificates needs a CA file to verify them");
        return CL_ECONFIG;
    }
    ERR_clear_error();
    c = SSL_CTX_new(TLS_server_method());
    if (c == NULL) {
        ossl_err(err, errlen, "cannot create a TLS server context");
        return CL_ETLS;
    }
    rc = ctx_common(c, o->allow_tls12, err, errlen);
    if (rc == CL_OK) rc = ctx_load_pair(c, "server", o->cert_file, o->key_file, err, errlen);
    if (rc == CL_OK && o->ca_file != NULL) {
        STACK_OF(X509_NAME) * names;

        rc = ctx_load_ca(c, o->ca_file, err, errlen);
        if (rc == CL_OK) {
            /* Tell clients which CA we accept, so they pick the right certificate. */
            ERR_clear_error();
            names = SSL_load_client_CA_file(o->ca_file);
            if (names == NULL) {
                ossl_err(err, errlen, "cannot read CA names from %s", o->ca_file);
                rc = CL_ECONFIG;
            } else {
                SSL_CTX_set_client_CA_list(c, names);
            }
        }
        if (rc == CL_OK) {
            int mode = SSL_VERIFY_PEER;

            if (o->require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
            SSL_CTX_set_verify(c, mode, NULL);
            /* Without it, resuming a session that carried a client certificate fails. */
            SSL_CTX_set_session_id_context(c, (const unsigned char *)CL_TLS_SID_CTX,
                                           sizeof(CL_TLS_SID_CTX) - 1);
        }
    }
    if (rc != CL_OK) {
        SSL_CTX_free(c);
        return rc;
    }
    return ctx_wrap(c, 1, out, err, errlen);
}

int cl_tls_ctx_new_client(const cl_tls_client_opts_t *o, cl_tls_ctx_t **out, char *err,
                          size_t errlen) {
    SSL_CTX *c;
    int rc;

    *out = NULL;
    if (o->ca_file == NULL) {
        put_err(err, errlen, "a TLS client needs a CA file to verify the server");
        return CL_ECONFIG;
    }
    if ((o->cert_file == NULL) != (o->key_file == NULL)) {
        put_err(err, errlen, "a client certificate needs both a certificate file and a key file");
        return CL_ECONFIG;
    }
    ERR_clear_error();
    c = SSL_CTX_new(TLS_client_method());
    if (c == NULL) {
        ossl_err(err, errlen, "cannot create a TLS client context");
        return CL_ETLS;
    }
    rc = ctx_common(c, o->allow_tls12, err, errlen);
    if (rc == CL_OK) rc = ctx_load_ca(c, o->ca_file, err, errlen);
    if (rc == CL_OK && o->cert_file != NULL)
        rc = ctx_load_pair(c, "client", o->cert_file, o->key_file, err, errlen);
    if (rc != CL_OK) {
        SSL_CTX_free(c);
        return rc;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    return ctx_wrap(c, 0, out, err, errlen);
}

void cl_tls_ctx_free(cl_tls_ctx_t *ctx) {
    if (ctx == NULL) return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

static int is_ip_address(const char *s) {
    unsigned char a[16];

    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Makes the session fail with msg; returns CL_TLS_ERR. */
static int fail(cl_tls_t *t, const char *msg) {
    t->failed = 1;
    snprintf(t->err, sizeof(t->err), "%s", msg);
    ERR_clear_error();
    return CL_TLS_ERR;
}

/* Client side: pins the name or address the server certificate must carry. */
static int set_peer_name(cl_tls_t *t, const char *name) {
    if (name == NULL || name[0] == '\0') {
        fail(t, "a TLS client session needs the server's host name or address");
        return 0;
    }
    ERR_clear_error();
    if (is_ip_address(name)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) != 1) return -1;
        return 0;
    }
    SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(t->ssl, name) != 1) return -1;
    if (SSL_set_tlsext_host_name(t->ssl, name) != 1) return -1;
    return 0;
}

cl_tls_t *cl_tls_new(cl_tls_ctx_t *ctx, const char *server_name) {
    cl_tls_t *t = calloc(1, sizeof(*t));

    if (t == NULL) return NULL;
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        goto oom;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    t->is_server = ctx->is_server;
    if (t->is_server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (set_peer_name(t, server_name) != 0) goto oom;
    }
    return t;
oom:
    SSL_free(t->ssl);
    free(t);
    ERR_clear_error();
    return NULL;
}

void cl_tls_free(cl_tls_t *t) {
    if (t == NULL) return;
    SSL_free(t->ssl);
    free(t);
}

int cl_tls_feed(cl_tls_t *t, const uint8_t *data, size_t len) {
    while (len > 0) {
        int n = len > INT_MAX ? INT_MAX : (int)len;

        ERR_clear_error();
        if (BIO_write(t->rbio, data, n) != n) return fail(t, "out of memory buffering TLS data");
        data += n;
        len -= (size_t)n;
    }
    return CL_TLS_OK;
}

/* Turns a failed SSL call into a verdict. what names the step for the error sentence. */
static int verdict(cl_tls_t *t, int ret, const char *what) {
    char why[160];
    long vr;

    switch (SSL_get_error(t->ssl, ret)) {
    case SSL_ERROR_WANT_READ: ERR_clear_error(); return CL_TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return CL_TLS_EOF;
    default: break;
    }
    t->failed = 1;
    vr = SSL_get_verify_result(t->ssl);
    if (vr != X509_V_OK) {
        snprintf(t->err, sizeof(t->err), "%s certificate verification failed: %s",
                 t->is_server ? "client" : "server", X509_verify_cert_error_string(vr));
    } else {
        unsigned long e = ERR_peek_error();

        ossl_reason(why, sizeof(why));
        /* Say when it was the peer that gave up, e.g. on our certificate. */
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET)
            snprintf(t->err, sizeof(t->err), "%s failed: the peer sent %s", what, why);
        else
            snprintf(t->err, sizeof(t->err), "%s failed: %s", what, why);
    }
    ERR_clear_error();
    return CL_TLS_ERR;
}

int cl_tls_handshake(cl_tls_t *t) {
    int ret;

    if (t->failed) return CL_TLS_ERR;
    if (t->done) return CL_TLS_OK;
    ERR_clear_error();
    ret = SSL_do_handshake(t->ssl);
    if (ret == 1) {
        t->done = 1;
        return CL_TLS_OK;
    }
    ret = verdict(t, ret, "TLS handshake");
    if (ret == CL_TLS_EOF) return fail(t, "TLS handshake failed: the peer closed the session");
    return ret;
}

int cl_tls_handshake_done(const cl_tls_t *t) {
    return t->done && !t->failed;
}

int cl_tls_read(cl_tls_t *t, uint8_t *buf, size_t cap, size_t *nread) {
    size_t n = 0;
    int ret;

    *nread = 0;
    if (t->failed) return CL_TLS_ERR;
    if (!t->done) {
        ret = cl_tls_handshake(t);
        if (ret != CL_TLS_OK) return ret;
    }
    if (cap == 0) return fail(t, "TLS read called with an empty buffer");
    ERR_clear_error();
    ret = SSL_read_ex(t->ssl, buf, cap, &n);
    if (ret == 1) {
        *nread = n;
        return CL_TLS_OK;
    }
    return verdict(t, ret, "TLS read");
}

int cl_tls_write(cl_tls_t *t, const uint8_t *buf, size_t len) {
    size_t n = 0;
    int ret;

    if (t->failed) return CL_TLS_ERR;
    if (!t->done) return fail(t, "TLS write before the handshake completed");
    if (len == 0) return CL_TLS_OK;
    ERR_clear_error();
    ret = SSL_write_ex(t->ssl, buf, len, &n);
    if (ret == 1 && n == len) return CL_TLS_OK;
    /* Memory BIOs never block, so anything short of "all written" is fatal. */
    if (verdict(t, ret, "TLS write") == CL_TLS_ERR) return CL_TLS_ERR;
    return fail(t, "TLS write failed: the session is closed");
}

size_t cl_tls_pending(const cl_tls_t *t) {
    return BIO_ctrl_pending(t->wbio);
}

size_t cl_tls_drain(cl_tls_t *t, uint8_t *buf, size_t cap) {
    int n;

    if (cap == 0) return 0;
    n = BIO_read(t->wbio, buf, cap > INT_MAX ? INT_MAX : (int)cap);
    return n > 0 ? (size_t)n : 0;
}

int cl_tls_shutdown(cl_tls_t *t) {
    int ret;

    if (t->failed) return CL_TLS_ERR;
    /* Before the handshake there is no session to close; the caller just drops the socket. */
    if (!t->done || t->shut_sent) return CL_TLS_OK;
    ERR_clear_error();
    ret = SSL_shutdown(t->ssl);
    if (ret >= 0) {
        t->shut_sent = 1;
        return CL_TLS_OK;
    }
    ret = verdict(t, ret, "TLS shutdown");
    if (ret == CL_TLS_ERR) return ret;
    t->shut_sent = 1;
    return CL_TLS_OK;
}

const char *cl_tls_error(const cl_tls_t *t) {
    return t->err;
}

const char *cl_tls_version(const cl_tls_t *t) {
    if (!t->done) return "";
    return SSL_get_version(t->ssl);
}

int cl_tls_peer_subject(const cl_tls_t *t, char *buf, size_t len) {
    X509 *cert;
    BIO *mem;
    char *data;
    long n;
    int ok = 0;

    if (len == 0) return 0;
    buf[0] = '\0';
    if (!t->done || t->failed) return 0;
    cert = SSL_get0_peer_certificate(t->ssl);
    if (cert == NULL || SSL_get_verify_result(t->ssl) != X509_V_OK) return 0;
    ERR_clear_error();
    mem = BIO_new(BIO_s_mem());
    if (mem == NULL) goto out;
    /* RFC 2253 escapes control and non-ASCII bytes, so the text holds no NUL. */
    if (X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) goto out;
    n = BIO_get_mem_data(mem, &data);
    /* A truncated identity could name someone else, so refuse rather than cut. */
    if (n <= 0 || (size_t)n >= len || memchr(data, '\0', (size_t)n) != NULL) goto out;
    memcpy(buf, data, (size_t)n);
    buf[n] = '\0';
    ok = 1;
out:
    BIO_free(mem);
    ERR_clear_error();
    return ok;
}
