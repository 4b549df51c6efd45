/* password.c - Argon2id password hashes (libargon2) and session tokens (OpenSSL).
 *
 * The blocking functions are pure and thread-safe; the daemon calls them through the
 * _async forms, whose job runs on the libuv thread pool. An async job is one heap block
 * holding copies of the password (and of the stored hash for a verify), so the caller's
 * buffers may go away at once; the worker wipes the password copy as soon as it is used,
 * and the after-work callback, on the loop thread, calls back, wipes the whole block and
 * frees it. When an _async form returns an error the callback is never called. The salt
 * is drawn on the calling thread: OpenSSL keeps per-thread DRBGs that are never freed on
 * libuv's pool threads, so pool work must not call OpenSSL (verify never does).
 *
 * Passwords outside CL_PASSWORD_MIN_LEN..MAX_LEN bytes are refused by cl_password_hash
 * with CL_EINVAL. cl_password_verify answers CL_EFORBIDDEN for them instead: no stored
 * hash can match one, and a login handler then treats them like any wrong password
 * (throttled, audited) rather than as the corrupt-hash case CL_EINVAL reports.
 *
 * The dummy hash, which a login for a user that does not exist is verified against so
 * that it costs the time of a real one, is made once by the same function as real hashes
 * (hash_salted, with the PW_* parameters), so changing the cost changes both. It is
 * static storage, made on first use under uv_once, never freed.
 *
 * Decoded requests carry passwords and session tokens in protobuf-c's heap strings; the
 * server wipes them with cl_password_cleanse_request before it frees the message. The
 * fields are listed in one table here (secret_fields). */
#include "password.h"

#include "msg.h"
#include "sha256.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <protobuf-c/protobuf-c.h>

/* OWASP parameters; changing them changes only new hashes (verify reads the string). */
#define PW_T_COST   2
#define PW_M_COST   19456 /* KiB */
#define PW_PARALLEL 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

/* Bounds on the parameters of a stored hash, so a corrupt or planted users row cannot
 * make a verify allocate gigabytes or run for minutes on a pool thread. */
#define PW_M_COST_MAX   (256u * 1024u) /* KiB */
#define PW_T_COST_MAX   16u
#define PW_PARALLEL_MAX 16u

#define PW_PREFIX     "$argon2id$"
#define PW_PREFIX_LEN (sizeof(PW_PREFIX) - 1)

#define TOKEN_BYTES 32

_Static_assert((TOKEN_BYTES * 4 + 2) / 3 == CL_TOKEN_LEN, "CL_TOKEN_LEN is base64url of 32 bytes");

/* The password's length when it is acceptable; -1 otherwise. Never reads past MAX + 1. */
static long password_len(const char *password) {
    size_t n = strnlen(password, CL_PASSWORD_MAX_LEN + 1);
    if (n < CL_PASSWORD_MIN_LEN || n > CL_PASSWORD_MAX_LEN) return -1;
    return (long)n;
}

/* Hashes with a given salt; the async form draws the salt on the loop thread, so pool
 * threads never create OpenSSL's per-thread DRBGs, which would outlive the loop. */
static int hash_salted(const char *password, const unsigned char salt[PW_SALT_LEN], char *out,
                       size_t outlen) {
    if (out == NULL || outlen < CL_PASSWORD_HASH_MAX) return CL_EINVAL;
    out[0] = '\0';
    if (password == NULL) return CL_EINVAL;
    long n = password_len(password);
    if (n < 0) return CL_EINVAL;
    if (argon2_encodedlen(PW_T_COST, PW_M_COST, PW_PARALLEL, PW_SALT_LEN, PW_HASH_LEN, Argon2_id) >
        outlen)
        return CL_EINTERNAL; /* CL_PASSWORD_HASH_MAX too small for the parameters */
    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLEL, password, (size_t)n, salt,
                                   PW_SALT_LEN, PW_HASH_LEN, out, outlen);
    if (rc != ARGON2_OK) {
        out[0] = '\0';
        return CL_EINTERNAL;
    }
    return CL_OK;
}

/* Made once; "" when it could not be (then a verify against it fails at once). */
static char dummy_hash[CL_PASSWORD_HASH_MAX];
static uv_once_t dummy_once = UV_ONCE_INIT;

static void dummy_make(void) {
    /* Fixed, so no pool thread draws random bytes; no login can use it (see below). */
    unsigned char salt[PW_SALT_LEN];
    memcpy(salt, "closeloop.dummy.", PW_SALT_LEN);
    if (hash_salted("the password of no user", salt, dummy_hash, sizeof(dummy_hash)) != CL_OK)
        dummy_hash[0] = '\0';
}

const char *cl_password_dummy_hash(void) {
    uv_once(&dummy_once, dummy_make);
    return dummy_hash;
}

int cl_password_hash(const char *password, char *out, size_t outlen) {
    unsigned char salt[PW_SALT_LEN];
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        if (out != NULL && outlen > 0) out[0] = '\0';
        return CL_EINTERNAL;
    }
    return hash_salted(password, salt, out, outlen);
}

/* Reads "<key>=<decimal>" at *p, at most max; advances *p past the digits. */
static bool param(const char **p, char key, unsigned long max, unsigned long *val) {
    const char *s = *p;
    if (s[0] != key || s[1] != '=') return false;
    s += 2;
    unsigned long v = 0;
    const char *digits = s;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max) return false;
        s++;
    }
    if (s == digits) return false;
    *val = v;
    *p = s;
    return true;
}

/* Whether encoded is "$argon2id$[v=N$]m=M,t=T,p=P$..." with M, T, P within bounds; the
 * rest of the string is libargon2's to judge. */
static bool params_ok(const char *encoded) {
    const char *s = encoded + PW_PREFIX_LEN;
    unsigned long v, m, t, par;
    if (s[0] == 'v') {
        if (!param(&s, 'v', 0xff, &v) || *s++ != '$') return false;
    }
    if (!param(&s, 'm', PW_M_COST_MAX, &m) || *s++ != ',') return false;
    if (!param(&s, 't', PW_T_COST_MAX, &t) || *s++ != ',') return false;
    if (!param(&s, 'p', PW_PARALLEL_MAX, &par) || *s != '$') return false;
    return true;
}

int cl_password_verify(const char *encoded, const char *password) {
    if (encoded == NULL || password == NULL) return CL_EINVAL;
    if (strncmp(encoded, PW_PREFIX, PW_PREFIX_LEN) != 0 || !params_ok(encoded)) return CL_EINVAL;
    long n = password_len(password);
    if (n < 0) return CL_EFORBIDDEN;
    switch (argon2id_verify(encoded, password, (size_t)n)) {
    case ARGON2_OK: return CL_OK;
    case ARGON2_VERIFY_MISMATCH: return CL_EFORBIDDEN;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL: return CL_EINTERNAL;
    default: return CL_EINVAL; /* the string does not decode as an Argon2id hash */
    }
}

/* ---- thread-pool forms ------------------------------------------------------------ */

typedef struct pw_job {
    uv_work_t req;                     /* req.data points back here */
    cl_password_cb cb;                 /* called once, on the loop thread */
    void *arg;                         /* cb's first argument */
    bool verify;                       /* verify (encoded set, or unknown) or hash */
    bool unknown;                      /* verify against the dummy hash; never CL_OK */
    int status;                        /* the blocking function's result */
    char *password;                    /* the copy in buf; wiped after use */
    size_t password_size;              /* bytes of the copy, NUL included */
    char *encoded;                     /* verify: the copy in buf; hash: NULL */
    unsigned char salt[PW_SALT_LEN];   /* hash: drawn on the loop thread */
    char result[CL_PASSWORD_HASH_MAX]; /* hash: the new encoded hash */
    char buf[];                        /* password NUL [encoded NUL] */
} pw_job_t;

static void pw_work(uv_work_t *req) {
    pw_job_t *job = req->data;
    if (job->verify && job->unknown) {
        job->status = cl_password_verify(cl_password_dummy_hash(), job->password);
        if (job->status == CL_OK) job->status = CL_EFORBIDDEN; /* no such user */
    } else if (job->verify) {
        job->status = cl_password_verify(job->encoded, job->password);
    } else
        job->status = hash_salted(job->password, job->salt, job->result, sizeof(job->result));
    OPENSSL_cleanse(job->password, job->password_size);
}

static void pw_after_work(uv_work_t *req, int status) {
    pw_job_t *job = req->data;
    size_t size = sizeof(*job) + job->password_size;
    if (job->encoded != NULL) size += strlen(job->encoded) + 1;

    int rc = job->status;
    if (status != 0) rc = status == UV_ECANCELED ? CL_ESHUTDOWN : CL_EINTERNAL;
    const char *encoded = (!job->verify && rc == CL_OK) ? job->result : NULL;
    OPENSSL_cleanse(job->password, job->password_size); /* a cancelled job never ran */
    job->cb(job->arg, rc, encoded);

    OPENSSL_cleanse(job, size);
    free(job);
}

/* Queues a job; encoded is NULL for a hash, and for a verify of an unknown user. */
static int pw_queue(uv_loop_t *loop, const char *encoded, bool unknown, const char *password,
                    cl_password_cb cb, void *arg) {
    if (loop == NULL || password == NULL || cb == NULL) return CL_EINVAL;
    /* Longer passwords are copied one byte too long, so the worker still refuses them. */
    size_t plen = strnlen(password, CL_PASSWORD_MAX_LEN + 1);
    size_t elen = encoded != NULL ? strlen(encoded) + 1 : 0;
    pw_job_t *job = malloc(sizeof(*job) + plen + 1 + elen);
    if (job == NULL) return CL_ENOMEM;

    job->req.data = job;
    job->cb = cb;
    job->arg = arg;
    job->verify = encoded != NULL || unknown;
    job->unknown = unknown;
    job->status = CL_EINTERNAL;
    job->password = job->buf;
    job->password_size = plen + 1;
    memcpy(job->password, password, plen);
    job->password[plen] = '\0';
    job->encoded = NULL;
    if (encoded != NULL) {
        job->encoded = job->buf + plen + 1;
        memcpy(job->encoded, encoded, elen);
    }
    job->result[0] = '\0';
    if (!job->verify && RAND_bytes(job->salt, sizeof(job->salt)) != 1) {
        OPENSSL_cleanse(job->password, job->password_size);
        free(job);
        return CL_EINTERNAL;
    }

    if (uv_queue_work(loop, &job->req, pw_work, pw_after_work) != 0) {
        OPENSSL_cleanse(job->password, job->password_size);
        free(job);
        return CL_EINTERNAL;
    }
    return CL_OK;
}

int cl_password_hash_async(uv_loop_t *loop, const char *password, cl_password_cb cb, void *arg) {
    return pw_queue(loop, NULL, false, password, cb, arg);
}

int cl_password_verify_async(uv_loop_t *loop, const char *encoded, const char *password,
                             cl_password_cb cb, void *arg) {
    if (encoded == NULL) return CL_EINVAL;
    return pw_queue(loop, encoded, false, password, cb, arg);
}

int cl_password_verify_unknown_async(uv_loop_t *loop, const char *password, cl_password_cb cb,
                                     void *arg) {
    return pw_queue(loop, NULL, true, password, cb, arg);
}

/* ---- session tokens --------------------------------------------------------------- */

/* base64url (RFC 4648 section 5) without padding; out holds 4 * ceil(n / 3) + 1. */
static void base64url(const unsigned char *in, size_t n, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
        *out++ = abc[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = abc[v >> 18];
        *out++ = abc[(v >> 12) & 63];
        *out++ = abc[(v >> 6) & 63];
    }
    *out = '\0';
}

int cl_token_new(char *out, size_t outlen) {
    if (out == NULL || outlen < CL_TOKEN_LEN + 1) return CL_EINVAL;
    unsigned char raw[TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        out[0] = '\0';
        return CL_EINTERNAL;
    }
    base64url(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return CL_OK;
}

int cl_token_hash(const char *token, uint8_t out[CL_TOKEN_HASH_LEN]) {
    memset(out, 0, CL_TOKEN_HASH_LEN);
    if (token == NULL) return CL_EINVAL;
    return cl_sha256(token, strlen(token), out) == CL_OK ? CL_OK : CL_EINTERNAL;
}

/* ---- secrets in decoded requests -------------------------------------------------- */

/* Every field of a request message that carries a password or a session token: proto3
 * strings at the top level of the message. A field added to closeloop.proto that carries
 * one belongs here (test_password looks for fields so named in every request type). */
static const struct secret_field {
    const ProtobufCMessageDescriptor *msg;
    const char *field;
} secret_fields[] = {
    {&closeloop__login_request__descriptor, "password"},
    {&closeloop__user_create__descriptor, "password"},
    {&closeloop__session_resume_request__descriptor, "token"},
};

void cl_password_cleanse_request(ProtobufCMessage *msg) {
    if (msg == NULL) return;
    for (size_t i = 0; i < sizeof(secret_fields) / sizeof(secret_fields[0]); i++) {
        if (msg->descriptor != secret_fields[i].msg) continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
            msg->descriptor, secret_fields[i].field);
        if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
            continue; /* the table is wrong; test_password catches that */
        char *s;
        memcpy(&s, (char *)msg + f->offset, sizeof(s));
        /* An absent field points to protobuf-c's shared read-only "". */
        if (s != NULL && s != protobuf_c_empty_string) OPENSSL_cleanse(s, strlen(s));
    }
}
