/* request_key.h - idempotency keys of retried writes (migration 018, request_key.sql).
 *
 * A TicketTransition or a HandoverForm may carry an idempotency_key: its handler checks it
 * here (1-100 printable ASCII characters, or empty for none), puts request_key_claim first
 * in the batch of the change (CL_REQUEST_KEY_CLAIM), and passes the key to the change
 * statement, which deletes the claim when it changed nothing. When the batch fails because
 * the claim is a duplicate (cl_request_key_replayed), the change was made before by the
 * same user with the same key: the handler answers with the record as it is now.
 * Pure functions; loop thread (they answer requests). */
#ifndef CL_REQUEST_KEY_H
#define CL_REQUEST_KEY_H

#include <stdbool.h>

#include "db.h"
#include "domain.h"
#include "handler.h"

#define CL_REQUEST_KEY_MAX CL_LIM_REQUEST_KEY_CHARS /* characters (printable ASCII only) */

/* True when key is empty or 1-100 printable ASCII characters; otherwise fails the request
 * with CL_EINVAL and returns false. */
CL_MUSTCHECK bool cl_req_need_request_key(cl_req_t *req, const char *key);

/* Whether the failed batch r failed on a duplicate claim of an idempotency key. */
bool cl_request_key_replayed(const cl_db_result_t *r);

/* The claim statement for call c's user, key (not empty), message type and target (what
 * the request is about, "" when its replay checks otherwise; migration 019); bufs are two
 * char[24] that must outlive the batch's submission. */
#define CL_REQUEST_KEY_CLAIM(c, key, type, target, user_buf, type_buf)                             \
    CL_STMT(request_key_claim, cl_sql_int_param((user_buf), (c)->session.user_id), (key),          \
            cl_sql_int_param((type_buf), (type)), (target))

#endif
