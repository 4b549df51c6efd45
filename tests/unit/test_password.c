/* test_password.c - unit tests of password hashing and session tokens (server/engine/password.c).
 *
 * Real Argon2id with the production parameters, no mocks: the PHC string format, verify
 * against right, wrong and malformed input, salting, the length limits, bounds on a
 * stored hash's parameters, tokens (length, alphabet, our base64url against OpenSSL's
 * encoder, uniqueness), the token hash against a known SHA-256, the dummy hash of unknown
 * users (the same parameters as real hashes), the wiping of passwords and tokens in
 * decoded requests (and that every request field so named is wiped), and the _async forms on a real
 * libuv loop, which must close cleanly afterwards. The time of one hash is printed, not asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <argon2.h>
#include <openssl/evp.h>

#include "msg.h"
#include "password.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define PHC_PREFIX "$argon2id$v=19$m=19456,t=2,p=1$"
#define GOOD_PW    "correct horse battery staple"

/* A fresh hash of pw, asserted to succeed. */
static void hash_ok(const char *pw, char out[CL_PASSWORD_HASH_MAX]) {
    assert_int_equal(cl_password_hash(pw, out, CL_PASSWORD_HASH_MAX), CL_OK);
}

/* A string of n copies of c. */
static char *repeat(char c, size_t n) {
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- hashing ---------------------------------------------------------------------- */

static void test_hash_format(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    hash_ok(GOOD_PW, h);
    assert_memory_equal(h, PHC_PREFIX, strlen(PHC_PREFIX));
    /* "$salt$tag": 16 bytes and 32 bytes in unpadded base64 */
    const char *salt = h + strlen(PHC_PREFIX);
    const char *dollar = strchr(salt, '$');
    assert_non_null(dollar);
    assert_int_equal(dollar - salt, 22);
    assert_int_equal(strlen(dollar + 1), 43);
    assert_true(strlen(h) < CL_PASSWORD_HASH_MAX);
}

static void test_verify(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    hash_ok(GOOD_PW, h);
    assert_int_equal(cl_password_verify(h, GOOD_PW), CL_OK);
    assert_int_equal(cl_password_verify(h, "correct horse battery stapl"), CL_EFORBIDDEN);
    assert_int_equal(cl_password_verify(h, "Correct horse battery staple"), CL_EFORBIDDEN);
    assert_int_equal(cl_password_verify(h, GOOD_PW " "), CL_EFORBIDDEN);
    /* Out-of-range passwords match nothing. */
    assert_int_equal(cl_password_verify(h, "short"), CL_EFORBIDDEN);
    assert_int_equal(cl_password_verify(h, ""), CL_EFORBIDDEN);

    /* Multi-byte UTF-8: the limits count bytes, and the bytes are what is hashed. */
    const char *cn = "\xe5\xaf\x86\xe7\xa0\x81\xe5\xbe\x88\xe9\x95\xbf"; /* 12 bytes */
    hash_ok(cn, h);
    assert_int_equal(cl_password_verify(h, cn), CL_OK);
    assert_int_equal(cl_password_verify(h, "\xe5\xaf\x86\xe7\xa0\x81\xe5\xbe\x88"), CL_EFORBIDDEN);
}

static void test_salted(void **state) {
    (void)state;
    char a[CL_PASSWORD_HASH_MAX], b[CL_PASSWORD_HASH_MAX];
    hash_ok(GOOD_PW, a);
    hash_ok(GOOD_PW, b);
    assert_string_not_equal(a, b);
    assert_int_equal(cl_password_verify(a, GOOD_PW), CL_OK);
    assert_int_equal(cl_password_verify(b, GOOD_PW), CL_OK);
}

static void test_length_limits(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    char *min = repeat('a', CL_PASSWORD_MIN_LEN);
    char *below = repeat('a', CL_PASSWORD_MIN_LEN - 1);
    char *max = repeat('b', CL_PASSWORD_MAX_LEN);
    char *above = repeat('b', CL_PASSWORD_MAX_LEN + 1);
    char *huge = repeat('c', 1 << 20);

    hash_ok(min, h);
    assert_int_equal(cl_password_verify(h, min), CL_OK);
    hash_ok(max, h);
    assert_int_equal(cl_password_verify(h, max), CL_OK);
    assert_int_equal(cl_password_verify(h, above), CL_EFORBIDDEN);

    assert_int_equal(cl_password_hash(below, h, sizeof(h)), CL_EINVAL);
    assert_string_equal(h, "");
    assert_int_equal(cl_password_hash(above, h, sizeof(h)), CL_EINVAL);
    assert_int_equal(cl_password_hash(huge, h, sizeof(h)), CL_EINVAL);
    assert_int_equal(cl_password_hash("", h, sizeof(h)), CL_EINVAL);
    assert_int_equal(cl_password_hash(NULL, h, sizeof(h)), CL_EINVAL);
    /* An embedded NUL ends a C string: "abc\0defgh" is a 3-byte password. */
    assert_int_equal(cl_password_hash("abc\0defghijk", h, sizeof(h)), CL_EINVAL);
    /* out must hold CL_PASSWORD_HASH_MAX bytes. */
    assert_int_equal(cl_password_hash(GOOD_PW, h, CL_PASSWORD_HASH_MAX - 1), CL_EINVAL);
    assert_int_equal(cl_password_hash(GOOD_PW, NULL, 0), CL_EINVAL);

    free(min);
    free(below);
    free(max);
    free(above);
    free(huge);
}

static void test_verify_bad_encoded(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    hash_ok(GOOD_PW, h);

    char cut[CL_PASSWORD_HASH_MAX];
    strcpy(cut, h);
    *strrchr(cut, '$') = '\0'; /* no tag */

    char argon2i[CL_PASSWORD_HASH_MAX];
    snprintf(argon2i, sizeof(argon2i), "$argon2i$%s", h + strlen("$argon2id$"));

    const char *bad[] = {
        "",
        "$argon2id$",
        "$argon2id$garbage",
        "$argon2id$v=19$m=19456,t=2,p=1$",
        "$2b$12$abcdefghijklmnopqrstuv",
        "argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        cut,
        argon2i,
        /* parameters beyond the bounds: refused before libargon2 allocates anything */
        "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
        "3Mbvk7Uf3bE1jZQ9vXg/7mZzB2Q8Dk2mRk8xHqC6u3c",
        "$argon2id$v=19$m=19456,t=100000,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
        "3Mbvk7Uf3bE1jZQ9vXg/7mZzB2Q8Dk2mRk8xHqC6u3c",
        "$argon2id$v=19$m=19456,t=2,p=255$c2FsdHNhbHRzYWx0c2FsdA$"
        "3Mbvk7Uf3bE1jZQ9vXg/7mZzB2Q8Dk2mRk8xHqC6u3c",
        "$argon2id$v=19$m=99999999999999999999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$v=19$m=,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = cl_password_verify(bad[i], GOOD_PW);
        if (rc != CL_EINVAL) fail_msg("encoded \"%s\": %d, expected CL_EINVAL", bad[i], rc);
    }
    assert_int_equal(cl_password_verify(NULL, GOOD_PW), CL_EINVAL);
    assert_int_equal(cl_password_verify(h, NULL), CL_EINVAL);
}

/* Verify reads the parameters from the string, so hashes made with other (bounded)
 * parameters keep working after the defaults change. */
static void test_verify_other_params(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    static const uint8_t salt[16] = "0123456789abcdef";
    assert_int_equal(argon2id_hash_encoded(1, 8192, 2, GOOD_PW, strlen(GOOD_PW), salt, sizeof(salt),
                                           32, h, sizeof(h)),
                     ARGON2_OK);
    assert_int_equal(cl_password_verify(h, GOOD_PW), CL_OK);
    assert_int_equal(cl_password_verify(h, "wrong password"), CL_EFORBIDDEN);
}

/* The parameters and sizes of an encoded hash "$argon2id$v=V$m=M,t=T,p=P$salt$tag". */
typedef struct phc {
    unsigned v, m, t, p;
    size_t salt_len, tag_len; /* base64 characters */
} phc_t;

static phc_t phc_parse(const char *h) {
    phc_t x = {0};
    int n = 0;
    assert_int_equal(sscanf(h, "$argon2id$v=%u$m=%u,t=%u,p=%u$%n", &x.v, &x.m, &x.t, &x.p, &n), 4);
    assert_true(n > 0);
    const char *salt = h + n, *dollar = strchr(salt, '$');
    assert_non_null(dollar);
    x.salt_len = (size_t)(dollar - salt);
    x.tag_len = strlen(dollar + 1);
    return x;
}

/* Unknown users are verified against the dummy hash: it must cost what a real one costs,
 * so it has the parameters and sizes of a hash cl_password_hash makes now. */
static void test_dummy_hash(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    hash_ok(GOOD_PW, h);
    const char *dummy = cl_password_dummy_hash();
    assert_non_null(dummy);
    phc_t real = phc_parse(h), dm = phc_parse(dummy);
    assert_int_equal(dm.v, real.v);
    assert_int_equal(dm.m, real.m);
    assert_int_equal(dm.t, real.t);
    assert_int_equal(dm.p, real.p);
    assert_int_equal(dm.salt_len, real.salt_len);
    assert_int_equal(dm.tag_len, real.tag_len);
    /* A hash libargon2 decodes (CL_EINVAL otherwise), which no password here matches. */
    assert_int_equal(cl_password_verify(dummy, GOOD_PW), CL_EFORBIDDEN);
    /* Made once. */
    assert_ptr_equal(cl_password_dummy_hash(), dummy);
    assert_string_equal(cl_password_dummy_hash(), dummy);
}

static void test_hash_time(void **state) {
    (void)state;
    char h[CL_PASSWORD_HASH_MAX];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hash_ok(GOOD_PW, h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("one argon2id hash (m=19456 KiB, t=2, p=1): %.1f ms\n", ms);
}

/* ---- tokens ----------------------------------------------------------------------- */

/* Our unpadded base64url of a token's 32 bytes must equal OpenSSL's base64 of the same
 * bytes with +/ turned into -_ and the padding dropped. */
static void check_token_encoding(const char *tok) {
    char b64[CL_TOKEN_LEN + 2];
    for (size_t i = 0; i < CL_TOKEN_LEN; i++)
        b64[i] = tok[i] == '-' ? '+' : tok[i] == '_' ? '/' : tok[i];
    b64[CL_TOKEN_LEN] = '=';
    b64[CL_TOKEN_LEN + 1] = '\0';
    unsigned char raw[33];
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)b64, CL_TOKEN_LEN + 1), 33);

    unsigned char again[CL_TOKEN_LEN + 2];
    assert_int_equal(EVP_EncodeBlock(again, raw, 32), CL_TOKEN_LEN + 1);
    assert_memory_equal(again, b64, CL_TOKEN_LEN + 1);
}

static void test_token(void **state) {
    (void)state;
    enum { N = 256 };
    static char toks[N][CL_TOKEN_LEN + 1];
    for (size_t i = 0; i < N; i++) {
        char *t = toks[i];
        assert_int_equal(cl_token_new(t, sizeof(toks[i])), CL_OK);
        assert_int_equal(strlen(t), CL_TOKEN_LEN);
        assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_"),
                         CL_TOKEN_LEN);
        /* 256 bits in 43 digits: the last digit carries 4 bits and two zero bits. */
        assert_non_null(strchr("AEIMQUYcgkosw048", t[CL_TOKEN_LEN - 1]));
        check_token_encoding(t);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(t, toks[j]);
    }

    char small[CL_TOKEN_LEN];
    assert_int_equal(cl_token_new(small, sizeof(small)), CL_EINVAL);
    assert_int_equal(cl_token_new(NULL, 64), CL_EINVAL);
}

static void test_token_hash(void **state) {
    (void)state;
    /* printf %s 'abc' | sha256sum */
    static const uint8_t abc[CL_TOKEN_HASH_LEN] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                                   0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                                   0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                                   0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    /* printf %s '' | sha256sum */
    static const uint8_t empty[CL_TOKEN_HASH_LEN] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    uint8_t out[CL_TOKEN_HASH_LEN];
    assert_int_equal(cl_token_hash("abc", out), CL_OK);
    assert_memory_equal(out, abc, sizeof abc);
    assert_int_equal(cl_token_hash("", out), CL_OK);
    assert_memory_equal(out, empty, sizeof empty);

    /* Two real tokens hash apart; no token is refused and leaves zeros. */
    char t1[CL_TOKEN_LEN + 1], t2[CL_TOKEN_LEN + 1];
    uint8_t h1[CL_TOKEN_HASH_LEN], h2[CL_TOKEN_HASH_LEN];
    assert_int_equal(cl_token_new(t1, sizeof t1), CL_OK);
    assert_int_equal(cl_token_new(t2, sizeof t2), CL_OK);
    assert_int_equal(cl_token_hash(t1, h1), CL_OK);
    assert_int_equal(cl_token_hash(t2, h2), CL_OK);
    assert_memory_not_equal(h1, h2, sizeof h1);
    memset(out, 0x7a, sizeof out);
    assert_int_equal(cl_token_hash(NULL, out), CL_EINVAL);
    static const uint8_t zeros[CL_TOKEN_HASH_LEN];
    assert_memory_equal(out, zeros, sizeof zeros);
}

/* ---- secrets in decoded requests ------------------------------------------------- */

/* Whether the n bytes at p are all zero. */
static int all_zero(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

/* A LoginRequest as the server decodes it: the password is wiped in place, the username
 * is not; a message of another type is left alone. */
static void test_cleanse_login(void **state) {
    (void)state;
    cl_pb_login_req_t in = CLOSELOOP__LOGIN_REQUEST__INIT;
    in.username = "admin";
    in.password = GOOD_PW;
    uint8_t buf[256];
    size_t len = protobuf_c_message_pack(&in.base, buf);
    ProtobufCMessage *msg = NULL;
    assert_int_equal(cl_msg_unpack(CL_MSG_LOGIN_REQ, buf, len, &msg), CL_OK);
    cl_pb_login_req_t *login = (cl_pb_login_req_t *)msg;
    assert_string_equal(login->password, GOOD_PW);
    char *pw = login->password;
    cl_password_cleanse_request(msg);
    assert_true(all_zero(pw, strlen(GOOD_PW)));
    assert_string_equal(login->username, "admin");
    cl_msg_free(msg);

    /* An absent password points at protobuf-c's shared "" and must not be written. */
    cl_pb_login_req_t empty = CLOSELOOP__LOGIN_REQUEST__INIT;
    empty.username = "admin";
    len = protobuf_c_message_pack(&empty.base, buf);
    assert_int_equal(cl_msg_unpack(CL_MSG_LOGIN_REQ, buf, len, &msg), CL_OK);
    cl_password_cleanse_request(msg);
    assert_string_equal(((cl_pb_login_req_t *)msg)->username, "admin");
    cl_msg_free(msg);

    /* Not a request with secrets: a Ping's payload stays. */
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    uint8_t data[] = "not a secret";
    ping.payload.data = data;
    ping.payload.len = sizeof data;
    len = protobuf_c_message_pack(&ping.base, buf);
    assert_int_equal(cl_msg_unpack(CL_MSG_PING, buf, len, &msg), CL_OK);
    cl_password_cleanse_request(msg);
    assert_memory_equal(((cl_pb_ping_t *)msg)->payload.data, data, sizeof data);
    cl_msg_free(msg);
    cl_password_cleanse_request(NULL); /* must not crash */
}

/* Whether a field's name says it carries a password or a session token. */
static int secret_name(const char *name) {
    return strstr(name, "password") != NULL || strstr(name, "token") != NULL;
}

/* Fails when a message nested in a request carries a secret: the wiping covers the
 * request message's own fields only. */
static void no_nested_secrets(const ProtobufCMessageDescriptor *d, const char *req, int depth) {
    assert_true(depth < 16);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_STRING && secret_name(f->name))
            fail_msg("%s: %s.%s carries a secret inside a nested message, which "
                     "cl_password_cleanse_request does not reach",
                     req, d->name, f->name);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) no_nested_secrets(f->descriptor, req, depth + 1);
    }
}

/* Every request type of closeloop.proto (MsgType values named *_REQ): each string field
 * named like a password or a token is wiped by cl_password_cleanse_request. Adding such a
 * field to the protocol without listing it in password.c fails here. */
static void test_cleanse_every_request_secret(void **state) {
    (void)state;
    const ProtobufCEnumDescriptor *types = &closeloop__msg_type__descriptor;
    int requests = 0, secrets = 0;
    for (unsigned t = 0; t < types->n_values; t++) {
        const char *tname = types->values[t].name;
        size_t tlen = strlen(tname);
        if (tlen < 4 || strcmp(tname + tlen - 4, "_REQ") != 0) continue;
        const ProtobufCMessageDescriptor *d = cl_msg_descriptor((uint16_t)types->values[t].value);
        if (d == NULL) fail_msg("%s has no message in msg.c", tname);
        requests++;
        for (unsigned i = 0; i < d->n_fields; i++) {
            const ProtobufCFieldDescriptor *f = &d->fields[i];
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) no_nested_secrets(f->descriptor, tname, 1);
            if (f->type != PROTOBUF_C_TYPE_STRING || !secret_name(f->name)) continue;
            assert_int_not_equal(f->label, PROTOBUF_C_LABEL_REPEATED);
            secrets++;
            ProtobufCMessage *m = calloc(1, d->sizeof_message);
            assert_non_null(m);
            protobuf_c_message_init(d, m);
            char *value = strdup("a secret value");
            assert_non_null(value);
            memcpy((char *)m + f->offset, &value, sizeof value);
            cl_password_cleanse_request(m);
            if (!all_zero(value, strlen("a secret value")))
                fail_msg("%s.%s is not wiped: list it in password.c's secret_fields", d->name,
                         f->name);
            free(value);
            free(m);
        }
    }
    assert_true(requests >= 30);
    /* LoginRequest.password, UserCreate.password, SessionResumeRequest.token */
    assert_int_equal(secrets, 3);
}

/* ---- async forms on a real loop --------------------------------------------------- */

struct async_ctx {
    uv_loop_t *loop;
    int calls;                          /* callbacks seen */
    int hash_status;                    /* status of the chained hash */
    char encoded[CL_PASSWORD_HASH_MAX]; /* its result */
    int verify_ok_status;               /* verify of the right password */
    int verify_bad_status;              /* verify of a wrong password */
    int verify_encoded_null;            /* verify callbacks that got encoded == NULL */
};

struct call {
    struct async_ctx *ctx;
    int status;       /* status received; 1 until called */
    int encoded_null; /* whether encoded was NULL */
    int calls;        /* must end at 1 */
};

static void record_cb(void *arg, int status, const char *encoded) {
    struct call *c = arg;
    c->status = status;
    c->encoded_null = encoded == NULL;
    c->calls++;
    c->ctx->calls++;
}

static void verify_ok_cb(void *arg, int status, const char *encoded) {
    struct async_ctx *ctx = arg;
    ctx->verify_ok_status = status;
    ctx->verify_encoded_null += encoded == NULL;
    ctx->calls++;
}

static void verify_bad_cb(void *arg, int status, const char *encoded) {
    struct async_ctx *ctx = arg;
    ctx->verify_bad_status = status;
    ctx->verify_encoded_null += encoded == NULL;
    ctx->calls++;
}

/* The hash arrives on the loop; verify it at once, from inside the callback, with a
 * buffer that is overwritten before the verifies run (so they must use copies). */
static void hash_cb(void *arg, int status, const char *encoded) {
    struct async_ctx *ctx = arg;
    ctx->hash_status = status;
    ctx->calls++;
    assert_int_equal(status, CL_OK);
    assert_non_null(encoded);
    strcpy(ctx->encoded, encoded);

    char tmp_enc[CL_PASSWORD_HASH_MAX];
    char tmp_pw[64];
    strcpy(tmp_enc, encoded);
    strcpy(tmp_pw, GOOD_PW);
    assert_int_equal(cl_password_verify_async(ctx->loop, tmp_enc, tmp_pw, verify_ok_cb, ctx),
                     CL_OK);
    strcpy(tmp_pw, "a wrong password");
    assert_int_equal(cl_password_verify_async(ctx->loop, tmp_enc, tmp_pw, verify_bad_cb, ctx),
                     CL_OK);
    memset(tmp_enc, 0, sizeof(tmp_enc));
    memset(tmp_pw, 0, sizeof(tmp_pw));
}

static void test_async(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct async_ctx ctx = {
        .loop = &loop, .hash_status = 1, .verify_ok_status = 1, .verify_bad_status = 1};

    char pw[64];
    strcpy(pw, GOOD_PW);
    assert_int_equal(cl_password_hash_async(&loop, pw, hash_cb, &ctx), CL_OK);
    memset(pw, 'x', sizeof(pw) - 1); /* the job has its own copy */

    /* Failures the blocking forms report arrive through the callback too. */
    char stored[CL_PASSWORD_HASH_MAX];
    hash_ok(GOOD_PW, stored);
    struct call c_short = {&ctx, 1, 0, 0}, c_badenc = {&ctx, 1, 0, 0}, c_again = {&ctx, 1, 0, 0},
                c_unknown = {&ctx, 1, 0, 0};
    assert_int_equal(cl_password_hash_async(&loop, "short", record_cb, &c_short), CL_OK);
    assert_int_equal(cl_password_verify_async(&loop, "$argon2i$x", GOOD_PW, record_cb, &c_badenc),
                     CL_OK);
    assert_int_equal(cl_password_verify_async(&loop, stored, GOOD_PW, record_cb, &c_again), CL_OK);
    assert_int_equal(cl_password_verify_unknown_async(&loop, GOOD_PW, record_cb, &c_unknown),
                     CL_OK);

    /* Refused synchronously: the callback is never called. */
    struct call c_never = {&ctx, 1, 0, 0};
    assert_int_equal(cl_password_hash_async(NULL, GOOD_PW, record_cb, &c_never), CL_EINVAL);
    assert_int_equal(cl_password_hash_async(&loop, NULL, record_cb, &c_never), CL_EINVAL);
    assert_int_equal(cl_password_hash_async(&loop, GOOD_PW, NULL, &c_never), CL_EINVAL);
    assert_int_equal(cl_password_verify_async(&loop, NULL, GOOD_PW, record_cb, &c_never),
                     CL_EINVAL);
    assert_int_equal(cl_password_verify_unknown_async(NULL, GOOD_PW, record_cb, &c_never),
                     CL_EINVAL);
    assert_int_equal(cl_password_verify_unknown_async(&loop, NULL, record_cb, &c_never), CL_EINVAL);
    assert_int_equal(cl_password_verify_unknown_async(&loop, GOOD_PW, NULL, &c_never), CL_EINVAL);

    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);

    assert_int_equal(ctx.calls, 7);
    assert_int_equal(ctx.hash_status, CL_OK);
    assert_memory_equal(ctx.encoded, PHC_PREFIX, strlen(PHC_PREFIX));
    assert_int_equal(cl_password_verify(ctx.encoded, GOOD_PW), CL_OK);
    assert_int_equal(ctx.verify_ok_status, CL_OK);
    assert_int_equal(ctx.verify_bad_status, CL_EFORBIDDEN);
    assert_int_equal(ctx.verify_encoded_null, 2);

    assert_int_equal(c_short.calls, 1);
    assert_int_equal(c_short.status, CL_EINVAL);
    assert_true(c_short.encoded_null);
    assert_int_equal(c_badenc.calls, 1);
    assert_int_equal(c_badenc.status, CL_EINVAL);
    assert_int_equal(c_again.calls, 1);
    assert_int_equal(c_again.status, CL_OK);
    assert_true(c_again.encoded_null);
    assert_int_equal(c_unknown.calls, 1);
    assert_int_equal(c_unknown.status, CL_EFORBIDDEN);
    assert_true(c_unknown.encoded_null);
    assert_int_equal(c_never.calls, 0);

    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Many jobs at once on the pool: every callback once, each hash distinct and valid. */
struct many {
    int calls;
    char encoded[8][CL_PASSWORD_HASH_MAX];
    int status[8];
};

struct many_slot {
    struct many *m;
    int i;
};

static void many_cb(void *arg, int status, const char *encoded) {
    struct many_slot *s = arg;
    s->m->calls++;
    s->m->status[s->i] = status;
    if (encoded != NULL) strcpy(s->m->encoded[s->i], encoded);
}

static void test_async_many(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct many m;
    memset(&m, 0, sizeof(m));
    struct many_slot slots[8];
    for (int i = 0; i < 8; i++) {
        slots[i] = (struct many_slot){&m, i};
        m.status[i] = 1;
        assert_int_equal(cl_password_hash_async(&loop, GOOD_PW, many_cb, &slots[i]), CL_OK);
    }
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(m.calls, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(m.status[i], CL_OK);
        assert_int_equal(cl_password_verify(m.encoded[i], GOOD_PW), CL_OK);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(m.encoded[i], m.encoded[j]);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_format),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_salted),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_verify_bad_encoded),
        cmocka_unit_test(test_verify_other_params),
        cmocka_unit_test(test_dummy_hash),
        cmocka_unit_test(test_hash_time),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_token_hash),
        cmocka_unit_test(test_cleanse_login),
        cmocka_unit_test(test_cleanse_every_request_secret),
        cmocka_unit_test(test_async),
        cmocka_unit_test(test_async_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
