/* cl_err.h - the one error enum of closeloop, shared by server, client and wire.
 *
 * Every fallible function returns int: 0 (CL_OK) on success, a negative CL_E* code on
 * failure. The absolute value of a code equals the wire ErrorCode in
 * proto/closeloop.proto, so a code crosses the network unchanged. Codes below
 * CL__WIRE_LAST are on the wire; the ones after it are local to a process (I/O, TLS,
 * config) and are sent as ERR_INTERNAL if they ever must cross. */
#ifndef CL_ERR_H
#define CL_ERR_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define CL_MUSTCHECK    __attribute__((warn_unused_result))
#define CL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CL_MUSTCHECK
#define CL_PRINTF(f, a)
#endif

/* Assertions that stay on in release builds, at the points where a broken invariant would
 * otherwise corrupt memory quietly: a request finished twice, a reference count below
 * zero, a call freed twice. A failure writes one line naming the expression, file and
 * line to stderr and aborts. */
#define CL_ASSERT(e) ((e) ? (void)0 : cl_assert_fail(#e, __FILE__, __LINE__, __func__))
_Noreturn void cl_assert_fail(const char *expr, const char *file, int line, const char *func);

typedef enum cl_err {
    CL_OK = 0,
    CL_EBADFRAME = -1,      /* framing violated: magic, version, flags, size */
    CL_EBADMSG = -2,        /* payload is not a valid message of its type */
    CL_EUNKNOWNTYPE = -3,   /* no handler for the message type */
    CL_EINVAL = -4,         /* invalid argument */
    CL_ETOOMANY = -5,       /* in-flight limit reached */
    CL_EUNAVAIL = -6,       /* dependency down, retryable */
    CL_ETIMEDOUT = -7,      /* timed out, retryable */
    CL_ESHUTDOWN = -8,      /* server draining, retryable elsewhere */
    CL_EUNAUTH = -9,        /* not logged in */
    CL_EFORBIDDEN = -10,    /* outside role or scope */
    CL_ENOTFOUND = -11,     /* no such record */
    CL_ECONFLICT = -12,     /* lost a compare-and-set race */
    CL_EINTERNAL = -13,     /* a bug or an unexpected failure */
    CL_EPRECONDITION = -14, /* a workflow rule refuses it until another step is done */
    CL__WIRE_LAST = -14,
    /* local-only codes */
    CL_ENOMEM = -100,  /* out of memory */
    CL_EIO = -101,     /* socket or file I/O failed */
    CL_ETLS = -102,    /* TLS handshake or record failure */
    CL_ECLOSED = -103, /* peer closed the connection */
    CL_ECONFIG = -104, /* bad configuration */
    CL_ETOOBIG = -105, /* frame larger than the configured maximum */
} cl_err_t;

/* A short English sentence for code; never NULL. */
const char *cl_strerror(int code);

/* Whether a request that failed with code may succeed if sent again unchanged. */
bool cl_err_retryable(int code);

/* Writes one sentence into buf (len bytes, always terminated when len > 0) and returns
 * rc: `return cl_errf(c->err, sizeof c->err, CL_EINVAL, "no such %s", what);`. */
int cl_errf(char *buf, size_t len, int rc, const char *fmt, ...) CL_PRINTF(4, 5);

/* Wire ErrorCode value for a local code (local-only codes map to ERR_INTERNAL). */
int cl_err_to_wire(int code);

/* Local code for a wire ErrorCode value; unknown values map to CL_EINTERNAL. */
int cl_err_from_wire(int wire_code);

#endif
