/* request_key.c - see request_key.h. */
#include "request_key.h"

#include <string.h>

#include "sqlutil.h"

bool cl_req_need_request_key(cl_req_t *req, const char *key) {
    size_t n = strlen(key);
    bool ok = n <= CL_REQUEST_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = key[i] >= 0x20 && key[i] <= 0x7e;
    if (!ok)
        cl_req_fail(req, CL_EINVAL,
                    "idempotency_key must be 1 to %d printable ASCII characters (or empty)",
                    CL_REQUEST_KEY_MAX);
    return ok;
}

bool cl_request_key_replayed(const cl_db_result_t *r) {
    return r->status != CL_OK && !strcmp(r->sqlstate, "23505") &&
           !strcmp(r->constraint, "request_keys_pkey");
}
