/* test_tls.c - the TLS engine paired with itself in memory, no sockets.
 *
 * A client engine and a server engine exchange ciphertext through pump(): drain one, feed
 * the other, until neither has anything to say. Certificates are made at start-up with
 * deploy/gen-certs.sh (the trusted set, and a second unrelated CA) plus the openssl CLI (a
 * self-signed and an expired server certificate), in a fresh directory removed at the end.
 * A raw OpenSSL client, capped at TLS 1.2, lives here only to test the protocol floor,
 * which the engine's own client cannot be told to break. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"

/* Certificate paths, filled by the group setup. */
static struct {
    char dir[PATH_MAX];     /* scratch directory, removed by the group teardown */
    char ca[PATH_MAX];      /* trusted CA */
    char srv_crt[PATH_MAX]; /* localhost / 127.0.0.1 / ::1, signed by ca */
    char srv_key[PATH_MAX];
    char cli_crt[PATH_MAX]; /* CN=desktop-1, signed by ca */
    char cli_key[PATH_MAX];
    char other_ca[PATH_MAX];      /* an unrelated CA */
    char other_srv_crt[PATH_MAX]; /* localhost, signed by other_ca */
    char other_srv_key[PATH_MAX];
    char other_cli_crt[PATH_MAX]; /* desktop-1, signed by other_ca */
    char other_cli_key[PATH_MAX];
    char self_crt[PATH_MAX]; /* self-signed localhost */
    char self_key[PATH_MAX];
    char old_crt[PATH_MAX]; /* localhost signed by ca, expired */
    char old_key[PATH_MAX];
} g;

#define MIB (1024u * 1024u)

static void join(char *out, const char *dir, const char *name) {
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

static int run(const char *fmt, ...) CL_PRINTF(1, 2);
static int run(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(cmd)) return -1;
    return system(cmd);
}

static int group_setup(void **state) {
    const char *src = getenv("CL_SOURCE_DIR");
    const char *tmp = getenv("CL_TEST_TMP");
    char base[PATH_MAX], a[PATH_MAX], b[PATH_MAX];

    if (src == NULL) src = ".";
    if (tmp != NULL && tmp[0] != '\0') {
        if (run("mkdir -p '%s'", tmp) != 0) return -1;
        snprintf(base, sizeof(base), "%s/tls-XXXXXX", tmp);
    } else {
        snprintf(base, sizeof(base), "/tmp/cl-test-tls-XXXXXX");
    }
    if (mkdtemp(base) == NULL) return -1;
    snprintf(g.dir, sizeof(g.dir), "%s", base);
    join(a, g.dir, "a");
    join(b, g.dir, "b");
    if (run("'%s/deploy/gen-certs.sh' '%s' >/dev/null 2>&1", src, a) != 0) return -1;
    if (run("'%s/deploy/gen-certs.sh' '%s' >/dev/null 2>&1", src, b) != 0) return -1;
    join(g.ca, a, "ca.crt");
    join(g.srv_crt, a, "server.crt");
    join(g.srv_key, a, "server.key");
    join(g.cli_crt, a, "client.crt");
    join(g.cli_key, a, "client.key");
    join(g.other_ca, b, "ca.crt");
    join(g.other_srv_crt, b, "server.crt");
    join(g.other_srv_key, b, "server.key");
    join(g.other_cli_crt, b, "client.crt");
    join(g.other_cli_key, b, "client.key");
    join(g.self_crt, g.dir, "self.crt");
    join(g.self_key, g.dir, "self.key");
    join(g.old_crt, g.dir, "old.crt");
    join(g.old_key, g.dir, "old.key");
    if (run("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
            "-nodes -keyout self.key -out self.crt -days 1 -subj /CN=localhost "
            "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
            g.dir) != 0)
        return -1;
    /* -days -1 puts notAfter a day before notBefore: expired from birth. */
    if (run("cd '%s' && openssl ecparam -name prime256v1 -genkey -noout -out old.key && "
            "openssl req -new -key old.key -subj /CN=localhost -out old.csr && "
            "printf 'subjectAltName=DNS:localhost\\n' > old.ext && "
            "openssl x509 -req -in old.csr -CA a/ca.crt -CAkey a/ca.key -CAcreateserial "
            "-days -1 -extfile old.ext -out old.crt >/dev/null 2>&1",
            g.dir) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state) {
    if (g.dir[0] != '\0' && run("rm -rf '%s'", g.dir) != 0) return -1;
    return 0;
}

/* ---- engine pairs ---- */

typedef struct pair {
    cl_tls_ctx_t *sctx; /* server context */
    cl_tls_ctx_t *cctx; /* client context */
    cl_tls_t *s;        /* server session */
    cl_tls_t *c;        /* client session */
} pair_t;

/* A server context from so, or else a client context from co; the test fails when it
 * cannot be made. */
static cl_tls_ctx_t *new_ctx(const cl_tls_server_opts_t *so, const cl_tls_client_opts_t *co) {
    cl_tls_ctx_t *ctx = NULL;
    char err[256] = "";
    int rc = so ? cl_tls_ctx_new_server(so, &ctx, err, sizeof(err))
                : cl_tls_ctx_new_client(co, &ctx, err, sizeof(err));

    if (rc != CL_OK) fail_msg("%s ctx: %s", so ? "server" : "client", err);
    return ctx;
}

static void pair_open(pair_t *p, const cl_tls_server_opts_t *so, const cl_tls_client_opts_t *co,
                      const char *name) {
    p->sctx = new_ctx(so, NULL);
    p->cctx = new_ctx(NULL, co);
    p->s = cl_tls_new(p->sctx, NULL);
    p->c = cl_tls_new(p->cctx, name);
    assert_non_null(p->s);
    assert_non_null(p->c);
}

static void pair_close(pair_t *p) {
    cl_tls_free(p->c);
    cl_tls_free(p->s);
    cl_tls_ctx_free(p->cctx);
    cl_tls_ctx_free(p->sctx);
}

/* Moves up to max bytes of ciphertext from one engine to the other. */
static size_t move(cl_tls_t *from, cl_tls_t *to, size_t max) {
    uint8_t buf[16384];
    size_t n, total = 0;

    while (total < max) {
        size_t want = max - total < sizeof(buf) ? max - total : sizeof(buf);

        n = cl_tls_drain(from, buf, want);
        if (n == 0) break;
        assert_true(n <= want);
        assert_int_equal(cl_tls_feed(to, buf, n), CL_TLS_OK);
        total += n;
    }
    if (max == SIZE_MAX) assert_int_equal(cl_tls_pending(from), 0);
    return total;
}

static size_t pump(pair_t *p) {
    return move(p->c, p->s, SIZE_MAX) + move(p->s, p->c, SIZE_MAX);
}

/* Runs both handshakes to the end, moving at most step bytes each way per round. ERR as soon as
 * either side fails (after delivering what it sent, such as an alert); OK once both are done and
 * nothing moves. */
static int handshake_step(pair_t *p, size_t step) {
    for (int i = 0; i < 10000; i++) {
        int rc = cl_tls_handshake(p->c);
        int rs = cl_tls_handshake(p->s);
        size_t moved = move(p->c, p->s, step) + move(p->s, p->c, step);

        if (rc == CL_TLS_ERR || rs == CL_TLS_ERR) return CL_TLS_ERR;
        if (rc == CL_TLS_OK && rs == CL_TLS_OK && moved == 0) return CL_TLS_OK;
        assert_true(rc == CL_TLS_OK || rc == CL_TLS_AGAIN);
        assert_true(rs == CL_TLS_OK || rs == CL_TLS_AGAIN);
    }
    fail_msg("handshake did not converge");
    return CL_TLS_ERR;
}

static int handshake(pair_t *p) {
    return handshake_step(p, SIZE_MAX);
}

/* Reads everything buffered, until AGAIN; returns the verdict that ended the loop. */
static int read_all(cl_tls_t *t, uint8_t *out, size_t cap, size_t *got) {
    uint8_t buf[4096];
    size_t n;
    int rc;

    *got = 0;
    while ((rc = cl_tls_read(t, buf, sizeof(buf), &n)) == CL_TLS_OK) {
        assert_true(n > 0 && n <= sizeof(buf));
        assert_true(*got + n <= cap);
        memcpy(out + *got, buf, n);
        *got += n;
    }
    return rc;
}

static void send_recv(pair_t *p, cl_tls_t *from, cl_tls_t *to, const uint8_t *msg, size_t len) {
    uint8_t *got = malloc(len + 1);
    size_t n;

    assert_non_null(got);
    assert_int_equal(cl_tls_write(from, msg, len), CL_TLS_OK);
    assert_true(cl_tls_pending(from) > len);
    pump(p);
    assert_int_equal(read_all(to, got, len + 1, &n), CL_TLS_AGAIN);
    assert_int_equal(n, len);
    assert_memory_equal(got, msg, len);
    free(got);
}

static const cl_tls_server_opts_t *srv_opts(void) {
    static cl_tls_server_opts_t o;

    memset(&o, 0, sizeof(o));
    o.cert_file = g.srv_crt;
    o.key_file = g.srv_key;
    return &o;
}

static const cl_tls_client_opts_t *cli_opts(void) {
    static cl_tls_client_opts_t o;

    memset(&o, 0, sizeof(o));
    o.ca_file = g.ca;
    return &o;
}

/* A handshake that must fail on the client with a verification error naming why. */
static void expect_client_verify_fail(const cl_tls_server_opts_t *so,
                                      const cl_tls_client_opts_t *co, const char *name,
                                      const char *why) {
    pair_t p;

    pair_open(&p, so, co, name);
    assert_int_equal(handshake(&p), CL_TLS_ERR);
    assert_false(cl_tls_handshake_done(p.c));
    assert_non_null(strstr(cl_tls_error(p.c), "server certificate verification failed"));
    if (why != NULL && strstr(cl_tls_error(p.c), why) == NULL)
        fail_msg("client error \"%s\" lacks \"%s\"", cl_tls_error(p.c), why);
    /* The client's alert reaches the server, which fails too. */
    assert_int_equal(cl_tls_handshake(p.s), CL_TLS_ERR);
    assert_string_not_equal(cl_tls_error(p.s), "");
    pair_close(&p);
}

/* ---- a raw OpenSSL client, for what the engine's client refuses to do ---- */

typedef struct raw {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    BIO *wbio; /* owned by ssl */
} raw_t;

static void raw_open(raw_t *r, int max_version, const char *ciphers) {
    r->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(r->ctx);
    assert_int_equal(SSL_CTX_set_max_proto_version(r->ctx, max_version), 1);
    if (ciphers != NULL) assert_int_equal(SSL_CTX_set_cipher_list(r->ctx, ciphers), 1);
    assert_int_equal(SSL_CTX_load_verify_locations(r->ctx, g.ca, NULL), 1);
    SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
    r->ssl = SSL_new(r->ctx);
    r->rbio = BIO_new(BIO_s_mem());
    r->wbio = BIO_new(BIO_s_mem());
    assert_true(r->ssl != NULL && r->rbio != NULL && r->wbio != NULL);
    SSL_set_bio(r->ssl, r->rbio, r->wbio);
    SSL_set_connect_state(r->ssl);
    assert_int_equal(SSL_set1_host(r->ssl, "localhost"), 1);
}

static void raw_close(raw_t *r) {
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
}

/* Handshake between a raw client and an engine server: 1 ok, 0 failed. */
static int raw_handshake(raw_t *r, cl_tls_t *s) {
    uint8_t buf[16384];

    for (int i = 0; i < 100; i++) {
        int rc, rs, n, moved = 0;
        size_t m;

        ERR_clear_error();
        rc = SSL_do_handshake(r->ssl);
        if (rc != 1 && SSL_get_error(r->ssl, rc) != SSL_ERROR_WANT_READ) rc = -2;
        while ((n = BIO_read(r->wbio, buf, sizeof(buf))) > 0) {
            assert_int_equal(cl_tls_feed(s, buf, (size_t)n), CL_TLS_OK);
            moved = 1;
        }
        rs = cl_tls_handshake(s);
        while ((m = cl_tls_drain(s, buf, sizeof(buf))) > 0) {
            assert_int_equal(BIO_write(r->rbio, buf, (int)m), (int)m);
            moved = 1;
        }
        if (rc == -2 || rs == CL_TLS_ERR) {
            ERR_clear_error();
            return 0;
        }
        if (rc == 1 && rs == CL_TLS_OK && !moved) return 1;
    }
    fail_msg("raw handshake did not converge");
    return 0;
}

/* ---- tests ---- */

static void test_handshake_tls13(void **state) {
    pair_t p;
    char subj[256];

    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_false(cl_tls_handshake_done(p.c));
    assert_string_equal(cl_tls_version(p.c), "");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_true(cl_tls_handshake_done(p.c));
    assert_true(cl_tls_handshake_done(p.s));
    assert_string_equal(cl_tls_version(p.c), "TLSv1.3");
    assert_string_equal(cl_tls_version(p.s), "TLSv1.3");
    assert_string_equal(cl_tls_error(p.c), "");
    assert_string_equal(cl_tls_error(p.s), "");
    /* The client sees the server's subject; the server saw no client certificate. */
    assert_int_equal(cl_tls_peer_subject(p.c, subj, sizeof(subj)), 1);
    assert_string_equal(subj, "CN=localhost,O=closeloop dev");
    assert_int_equal(cl_tls_peer_subject(p.c, subj, 10), 0); /* never truncated */
    assert_string_equal(subj, "");
    assert_int_equal(cl_tls_peer_subject(p.s, subj, sizeof(subj)), 0);
    /* A repeated handshake call is a no-op. */
    assert_int_equal(cl_tls_handshake(p.c), CL_TLS_OK);
    assert_int_equal(cl_tls_pending(p.c), 0);
    pair_close(&p);
}

static void test_handshake_byte_by_byte(void **state) {
    pair_t p;

    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake_step(&p, 1), CL_TLS_OK);
    assert_string_equal(cl_tls_version(p.s), "TLSv1.3");
    pair_close(&p);
}

static void test_ip_address_names(void **state) {
    static const char *good[] = {"127.0.0.1", "::1"};
    pair_t p;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        pair_open(&p, srv_opts(), cli_opts(), good[i]);
        if (handshake(&p) != CL_TLS_OK) fail_msg("%s: %s", good[i], cl_tls_error(p.c));
        pair_close(&p);
    }
    expect_client_verify_fail(srv_opts(), cli_opts(), "10.1.2.3", "mismatch");
    expect_client_verify_fail(srv_opts(), cli_opts(), "::2", "mismatch");
}

static void test_data_both_ways(void **state) {
    static const uint8_t hello[] = "hello, server";
    static const uint8_t reply[] = "hello, client";
    uint8_t buf[64], *big;
    size_t n;
    pair_t p;

    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    /* Nothing buffered: AGAIN, not an error (the client also eats session tickets here). */
    assert_int_equal(cl_tls_read(p.c, buf, sizeof(buf), &n), CL_TLS_AGAIN);
    assert_int_equal(n, 0);
    assert_int_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_AGAIN);
    assert_int_equal(cl_tls_write(p.c, hello, 0), CL_TLS_OK);
    send_recv(&p, p.c, p.s, hello, sizeof(hello));
    send_recv(&p, p.s, p.c, reply, sizeof(reply));

    big = malloc(MIB);
    assert_non_null(big);
    for (size_t i = 0; i < MIB; i++)
        big[i] = (uint8_t)(i * 2654435761u >> 13);
    send_recv(&p, p.c, p.s, big, MIB);
    big[0] ^= 0xff;
    send_recv(&p, p.s, p.c, big, MIB);
    free(big);
    pair_close(&p);
}

static void test_small_read_buffer(void **state) {
    static const uint8_t msg[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint8_t got[sizeof(msg)], b;
    size_t n, total = 0;
    int rc;
    pair_t p;

    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_write(p.c, msg, sizeof(msg)), CL_TLS_OK);
    pump(&p);
    /* One record, read a byte at a time: the rest stays inside OpenSSL until asked for. */
    while ((rc = cl_tls_read(p.s, &b, 1, &n)) == CL_TLS_OK) {
        assert_int_equal(n, 1);
        assert_true(total < sizeof(got));
        got[total++] = b;
    }
    assert_int_equal(rc, CL_TLS_AGAIN);
    assert_int_equal(total, sizeof(msg));
    assert_memory_equal(got, msg, sizeof(msg));
    pair_close(&p);
}

static void test_tls12_refused_by_default(void **state) {
    cl_tls_ctx_t *sctx = new_ctx(srv_opts(), NULL);
    cl_tls_t *s = cl_tls_new(sctx, NULL);
    raw_t r;

    raw_open(&r, TLS1_2_VERSION, NULL);
    assert_int_equal(raw_handshake(&r, s), 0);
    assert_false(cl_tls_handshake_done(s));
    if (strstr(cl_tls_error(s), "protocol") == NULL)
        fail_msg("unexpected error: %s", cl_tls_error(s));
    raw_close(&r);
    cl_tls_free(s);
    cl_tls_ctx_free(sctx);
}

static void test_tls12_when_allowed(void **state) {
    cl_tls_server_opts_t so = *srv_opts();
    cl_tls_ctx_t *sctx;
    cl_tls_t *s;
    raw_t r;

    so.allow_tls12 = 1;
    sctx = new_ctx(&so, NULL);
    s = cl_tls_new(sctx, NULL);
    raw_open(&r, TLS1_2_VERSION, NULL);
    assert_int_equal(raw_handshake(&r, s), 1);
    assert_string_equal(cl_tls_version(s), "TLSv1.2");
    /* The client's order wins among the intermediate suites, as Mozilla advises. */
    assert_non_null(strstr(SSL_get_cipher_name(r.ssl), "ECDHE-ECDSA-"));
    raw_close(&r);
    cl_tls_free(s);

    /* Outside the intermediate list (no forward secrecy): refused. */
    s = cl_tls_new(sctx, NULL);
    raw_open(&r, TLS1_2_VERSION, "AES128-GCM-SHA256:AES256-SHA");
    assert_int_equal(raw_handshake(&r, s), 0);
    assert_non_null(strstr(cl_tls_error(s), "cipher"));
    raw_close(&r);
    cl_tls_free(s);
    cl_tls_ctx_free(sctx);
}

static void test_allow_tls12_still_prefers_13(void **state) {
    cl_tls_server_opts_t so = *srv_opts();
    cl_tls_client_opts_t co = *cli_opts();
    pair_t p;

    so.allow_tls12 = 1;
    co.allow_tls12 = 1;
    pair_open(&p, &so, &co, "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_string_equal(cl_tls_version(p.c), "TLSv1.3");
    pair_close(&p);

    /* A 1.2-capable client against the default server still gets 1.3. */
    pair_open(&p, srv_opts(), &co, "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_string_equal(cl_tls_version(p.s), "TLSv1.3");
    pair_close(&p);
}

static void test_wrong_host_name(void **state) {
    pair_t p;

    expect_client_verify_fail(srv_opts(), cli_opts(), "example.com", "hostname mismatch");
    /* Partial wildcards and suffixes do not sneak through either. */
    expect_client_verify_fail(srv_opts(), cli_opts(), "localhost.example.com", "mismatch");
    expect_client_verify_fail(srv_opts(), cli_opts(), "LOCALHOSTX", "mismatch");
    /* Names compare case-insensitively. */
    pair_open(&p, srv_opts(), cli_opts(), "LocalHost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    pair_close(&p);
}

static void test_untrusted_server(void **state) {
    cl_tls_server_opts_t so = *srv_opts();
    cl_tls_client_opts_t co = *cli_opts();

    /* Server signed by an unrelated CA. */
    so.cert_file = g.other_srv_crt;
    so.key_file = g.other_srv_key;
    expect_client_verify_fail(&so, &co, "localhost", "unable to get local issuer certificate");
    /* Self-signed. */
    so.cert_file = g.self_crt;
    so.key_file = g.self_key;
    expect_client_verify_fail(&so, &co, "localhost", "self");
    /* The client trusts only the other CA. */
    co.ca_file = g.other_ca;
    expect_client_verify_fail(srv_opts(), &co, "localhost", "unable to get local issuer");
}

static void test_expired_server(void **state) {
    cl_tls_server_opts_t so = *srv_opts();

    so.cert_file = g.old_crt;
    so.key_file = g.old_key;
    expect_client_verify_fail(&so, cli_opts(), "localhost", "certificate has expired");
    assert_true(1);
}

static void test_client_certificate(void **state) {
    cl_tls_server_opts_t so = *srv_opts();
    cl_tls_client_opts_t co = *cli_opts();
    char subj[256];
    pair_t p;

    so.ca_file = g.ca;
    so.require_client_cert = 1;
    co.cert_file = g.cli_crt;
    co.key_file = g.cli_key;
    pair_open(&p, &so, &co, "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_peer_subject(p.s, subj, sizeof(subj)), 1);
    assert_non_null(strstr(subj, "CN=desktop-1"));
    assert_non_null(strstr(subj, "OU=city-company-1"));
    pair_close(&p);

    /* Optional: the certificate is still verified and reported when presented... */
    so.require_client_cert = 0;
    pair_open(&p, &so, &co, "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_peer_subject(p.s, subj, sizeof(subj)), 1);
    assert_non_null(strstr(subj, "desktop-1"));
    pair_close(&p);

    /* ...and its absence is fine. */
    pair_open(&p, &so, cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_peer_subject(p.s, subj, sizeof(subj)), 0);
    pair_close(&p);
}

static void test_client_certificate_required(void **state) {
    cl_tls_server_opts_t so = *srv_opts();
    uint8_t buf[64];
    size_t n;
    pair_t p;

    so.ca_file = g.ca;
    so.require_client_cert = 1;
    pair_open(&p, &so, cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_ERR);
    assert_false(cl_tls_handshake_done(p.s));
    assert_non_null(strstr(cl_tls_error(p.s), "certificate"));
    /* In TLS 1.3 the client learns of it from the alert, on its next read. */
    assert_int_equal(cl_tls_read(p.c, buf, sizeof(buf), &n), CL_TLS_ERR);
    assert_non_null(strstr(cl_tls_error(p.c), "the peer sent"));
    assert_non_null(strstr(cl_tls_error(p.c), "certificate required"));
    /* Sticky. */
    assert_int_equal(cl_tls_read(p.c, buf, sizeof(buf), &n), CL_TLS_ERR);
    assert_int_equal(cl_tls_write(p.c, buf, 1), CL_TLS_ERR);
    pair_close(&p);
}

static void test_client_certificate_untrusted(void **state) {
    cl_tls_server_opts_t so = *srv_opts();
    cl_tls_client_opts_t co = *cli_opts();
    uint8_t buf[64];
    size_t n;
    pair_t p;

    so.ca_file = g.ca;
    co.cert_file = g.other_cli_crt;
    co.key_file = g.other_cli_key;
    pair_open(&p, &so, &co, "localhost");
    assert_int_equal(handshake(&p), CL_TLS_ERR);
    if (strstr(cl_tls_error(p.s), "client certificate verification failed") == NULL)
        fail_msg("unexpected error: %s", cl_tls_error(p.s));
    assert_int_equal(cl_tls_read(p.c, buf, sizeof(buf), &n), CL_TLS_ERR);
    pair_close(&p);
}

static void test_shutdown_gives_eof(void **state) {
    static const uint8_t last[] = "last words";
    uint8_t buf[64];
    size_t n;
    pair_t p;

    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_write(p.c, last, sizeof(last)), CL_TLS_OK);
    assert_int_equal(cl_tls_shutdown(p.c), CL_TLS_OK);
    assert_int_equal(cl_tls_shutdown(p.c), CL_TLS_OK); /* idempotent */
    assert_true(cl_tls_pending(p.c) > 0);
    pump(&p);
    /* Data sent before the close arrives first, then EOF. */
    assert_int_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_OK);
    assert_int_equal(n, sizeof(last));
    assert_int_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_EOF);
    assert_int_equal(n, 0);
    assert_int_equal(cl_tls_shutdown(p.s), CL_TLS_OK);
    pump(&p);
    if (cl_tls_read(p.c, buf, sizeof(buf), &n) != CL_TLS_EOF) fail_msg("%s", cl_tls_error(p.c));
    pair_close(&p);

    /* Writing after our own close is an error. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_shutdown(p.s), CL_TLS_OK);
    assert_int_equal(cl_tls_write(p.s, last, sizeof(last)), CL_TLS_ERR);
    assert_non_null(strstr(cl_tls_error(p.s), "shutdown"));
    pair_close(&p);

    /* Shutting down before any handshake is a no-op. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(cl_tls_shutdown(p.c), CL_TLS_OK);
    assert_int_equal(cl_tls_pending(p.c), 0);
    pair_close(&p);
}

static void test_garbage(void **state) {
    static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    uint8_t noise[512], buf[64];
    size_t n;
    pair_t p;

    for (size_t i = 0; i < sizeof(noise); i++)
        noise[i] = (uint8_t)(i * 7 + 3);

    /* Plain HTTP at a server. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(cl_tls_feed(p.s, (const uint8_t *)http, strlen(http)), CL_TLS_OK);
    assert_int_equal(cl_tls_handshake(p.s), CL_TLS_ERR);
    assert_string_not_equal(cl_tls_error(p.s), "");
    assert_int_equal(cl_tls_handshake(p.s), CL_TLS_ERR);
    assert_int_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_ERR);
    pair_close(&p);

    /* Noise at a client awaiting the server hello. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(cl_tls_handshake(p.c), CL_TLS_AGAIN);
    assert_int_equal(cl_tls_feed(p.c, noise, sizeof(noise)), CL_TLS_OK);
    assert_int_equal(cl_tls_handshake(p.c), CL_TLS_ERR);
    assert_string_not_equal(cl_tls_error(p.c), "");
    pair_close(&p);

    /* Noise in the middle of an established session: a record-layer error, no crash. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_feed(p.s, noise, sizeof(noise)), CL_TLS_OK);
    assert_int_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_ERR);
    assert_non_null(strstr(cl_tls_error(p.s), "TLS read failed"));
    pair_close(&p);

    /* A valid record header followed by a flipped ciphertext byte. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(handshake(&p), CL_TLS_OK);
    assert_int_equal(cl_tls_write(p.c, (const uint8_t *)"x", 1), CL_TLS_OK);
    n = cl_tls_drain(p.c, noise, sizeof(noise));
    assert_true(n > 10);
    noise[n - 1] ^= 1;
    assert_int_equal(cl_tls_feed(p.s, noise, n), CL_TLS_OK);
    assert_int_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_ERR);
    assert_non_null(strstr(cl_tls_error(p.s), "bad record mac"));
    pair_close(&p);
}

static void test_misuse(void **state) {
    uint8_t buf[8];
    size_t n;
    pair_t p;

    /* Writing before the handshake is a caller bug, reported, not queued. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    assert_int_equal(cl_tls_write(p.c, (const uint8_t *)"x", 1), CL_TLS_ERR);
    assert_non_null(strstr(cl_tls_error(p.c), "before the handshake"));
    pair_close(&p);

    /* Reading before the handshake drives it. */
    pair_open(&p, srv_opts(), cli_opts(), "localhost");
    for (int i = 0; i < 10 && !cl_tls_handshake_done(p.s); i++) {
        assert_int_not_equal(cl_tls_read(p.c, buf, sizeof(buf), &n), CL_TLS_ERR);
        assert_int_not_equal(cl_tls_read(p.s, buf, sizeof(buf), &n), CL_TLS_ERR);
        pump(&p);
    }
    assert_true(cl_tls_handshake_done(p.c));
    assert_true(cl_tls_handshake_done(p.s));
    pair_close(&p);

    /* A client session without a server name cannot verify anything: it fails. */
    pair_open(&p, srv_opts(), cli_opts(), NULL);
    assert_int_equal(cl_tls_handshake(p.c), CL_TLS_ERR);
    assert_non_null(strstr(cl_tls_error(p.c), "host name"));
    assert_int_equal(cl_tls_pending(p.c), 0);
    pair_close(&p);
}

/* A context refused with CL_ECONFIG, NULL in *ctx, and an error naming every one of the
 * needles (NULL ones are not looked for). */
static void expect_ctx_error(int rc, cl_tls_ctx_t *ctx, const char *err,
                             const char *const needles[3]) {
    if (rc != CL_ECONFIG) fail_msg("rc %d, want %d (%s)", rc, CL_ECONFIG, err);
    assert_null(ctx);
    for (int i = 0; i < 3; i++)
        if (needles[i] && !strstr(err, needles[i]))
            fail_msg("error \"%s\" lacks \"%s\"", err, needles[i]);
}

static void test_ctx_errors(void **state) {
    char missing[PATH_MAX];
    join(missing, g.dir, "nope/server.crt");
    const struct {
        cl_tls_server_opts_t o;
        const char *needles[3];
    } bad_server[] = {
        {{.cert_file = missing, .key_file = g.srv_key},
         {"cannot load server certificate", missing, "No such file or directory"}},
        {{.cert_file = g.srv_crt, .key_file = missing},
         {"cannot load server private key", missing}},
        {{.cert_file = g.srv_crt, .key_file = g.cli_key}, {"does not match", g.cli_key}},
        {{.cert_file = g.srv_key, .key_file = g.srv_key}, /* not a certificate */
         {"cannot load server certificate", g.srv_key}},
        {{.cert_file = g.srv_crt, .key_file = g.srv_key, .require_client_cert = 1}, {"CA file"}},
        {{.cert_file = g.srv_crt, .key_file = g.srv_key, .ca_file = missing},
         {"cannot load CA file", missing}},
    };
    const struct {
        cl_tls_client_opts_t o;
        const char *needles[3];
    } bad_client[] = {
        {{.ca_file = NULL}, {"CA file"}},
        {{.ca_file = missing}, {"cannot load CA file", missing}},
        {{.ca_file = g.ca, .cert_file = g.cli_crt}, {"key file"}},
        {{.ca_file = g.ca, .cert_file = g.cli_crt, .key_file = g.srv_key},
         {"client private key", "does not match"}},
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad_server / sizeof bad_server[0]; i++) {
        cl_tls_ctx_t *ctx = (cl_tls_ctx_t *)1;
        int rc = cl_tls_ctx_new_server(&bad_server[i].o, &ctx, err, sizeof(err));
        expect_ctx_error(rc, ctx, err, bad_server[i].needles);
    }
    for (size_t i = 0; i < sizeof bad_client / sizeof bad_client[0]; i++) {
        cl_tls_ctx_t *ctx = (cl_tls_ctx_t *)1;
        int rc = cl_tls_ctx_new_client(&bad_client[i].o, &ctx, err, sizeof(err));
        expect_ctx_error(rc, ctx, err, bad_client[i].needles);
    }

    /* A NULL error buffer is allowed. */
    cl_tls_ctx_t *ctx = (cl_tls_ctx_t *)1;
    assert_int_equal(cl_tls_ctx_new_client(&bad_client[1].o, &ctx, NULL, 0), CL_ECONFIG);
    cl_tls_ctx_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_tls13),
        cmocka_unit_test(test_handshake_byte_by_byte),
        cmocka_unit_test(test_ip_address_names),
        cmocka_unit_test(test_data_both_ways),
        cmocka_unit_test(test_small_read_buffer),
        cmocka_unit_test(test_tls12_refused_by_default),
        cmocka_unit_test(test_tls12_when_allowed),
        cmocka_unit_test(test_allow_tls12_still_prefers_13),
        cmocka_unit_test(test_wrong_host_name),
        cmocka_unit_test(test_untrusted_server),
        cmocka_unit_test(test_expired_server),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_client_certificate_required),
        cmocka_unit_test(test_client_certificate_untrusted),
        cmocka_unit_test(test_shutdown_gives_eof),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_ctx_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
