/* cl_err.c - text and retry semantics of the error codes in cl_err.h, and the always-on
 * assertion's failure path. Pure, no state. */
#include "cl_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cl_assert_fail(const char *expr, const char *file, int line, const char *func) {
    fprintf(stderr, "level=error event=assertion_failed expr=\"%s\" at=%s:%d func=%s\n", expr, file,
            line, func);
    fflush(stderr);
    abort();
}

const char *cl_strerror(int code) {
    switch (code) {
    case CL_OK: return "success";
    case CL_EBADFRAME: return "the data is not a valid closeloop frame";
    case CL_EBADMSG: return "the message could not be decoded";
    case CL_EUNKNOWNTYPE: return "the server does not know this request type";
    case CL_EINVAL: return "invalid argument";
    case CL_ETOOMANY: return "too many requests in flight on this connection";
    case CL_EUNAVAIL: return "the service is temporarily unavailable";
    case CL_ETIMEDOUT: return "the operation timed out";
    case CL_ESHUTDOWN: return "the server is shutting down";
    case CL_EUNAUTH: return "not logged in, or the session has expired";
    case CL_EFORBIDDEN: return "not permitted";
    case CL_ENOTFOUND: return "not found";
    case CL_ECONFLICT: return "the record was changed by someone else";
    case CL_EINTERNAL: return "internal server error";
    case CL_EPRECONDITION: return "a step the workflow requires first is missing";
    case CL_ENOMEM: return "out of memory";
    case CL_EIO: return "input/output error";
    case CL_ETLS: return "TLS error";
    case CL_ECLOSED: return "the connection was closed";
    case CL_ECONFIG: return "configuration error";
    case CL_ETOOBIG: return "the frame is larger than the allowed maximum";
    default: return "unknown error";
    }
}

bool cl_err_retryable(int code) {
    switch (code) {
    case CL_ETOOMANY:
    case CL_EUNAVAIL:
    case CL_ETIMEDOUT:
    case CL_ESHUTDOWN:
    case CL_ECLOSED:
    case CL_EIO: return true;
    default: return false;
    }
}

int cl_errf(char *buf, size_t len, int rc, const char *fmt, ...) {
    if (!buf || len == 0) return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return rc;
}

int cl_err_to_wire(int code) {
    if (code == CL_ETOOBIG) return -CL_EBADFRAME;
    if (code <= 0 && code >= CL__WIRE_LAST) return -code;
    return -CL_EINTERNAL;
}

int cl_err_from_wire(int wire_code) {
    if (wire_code >= 0 && wire_code <= -CL__WIRE_LAST) return -wire_code;
    return CL_EINTERNAL;
}
