/* sqlutil.h - small helpers shared by the handler modules (org, inspection, ticket):
 * reading PGresult columns, the Meta of a record, building PostgreSQL array literals
 * and text parameters safely from C strings, and validating request fields with one
 * clear sentence to the client. Pure functions except the cl_req_need_* ones, which fail
 * the request (cl_req_fail) and return false when the field is unacceptable. */
#ifndef CL_SQLUTIL_H
#define CL_SQLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "domain.h"
#include "msg.h"
#include "server.h"

/* A growing string, for array literals; a failed allocation sticks. */
typedef struct cl_sqlbuf {
    char *p;
    size_t len, cap;
    size_t items; /* elements written, for commas */
    bool failed;
} cl_sqlbuf_t;

const char *cl_sql_text(const PGresult *res, int row, int col);

bool cl_sql_isnull(const PGresult *res, int row, int col);

int64_t cl_sql_i64(const PGresult *res, int row, int col);

void cl_sql_meta(Closeloop__Meta *m, const PGresult *res, int row);

void cl_sqlbuf_put(cl_sqlbuf_t *b, const char *s, size_t n);

void cl_sqlbuf_array_open(cl_sqlbuf_t *b);

void cl_sqlbuf_array_text(cl_sqlbuf_t *b, const char *s);

void cl_sqlbuf_array_int(cl_sqlbuf_t *b, int64_t v);

char *cl_sqlbuf_array_close(cl_sqlbuf_t *b);

const char *cl_sql_id_param(char buf[24], int64_t id);

const char *cl_sql_int_param(char buf[24], int64_t v);

const char *cl_sql_bool_param(bool v);

const char *cl_utf8_clip(char *buf, size_t n, const char *s);

const char *cl_text_problem(const char *v, bool required, size_t max);

/* Whether text field `field` may hold newlines (description, note); other fields are one
 * line. */
bool cl_text_multiline(const char *field);

/* Writes why text field v is unacceptable ("name is too long (at most 200 characters)",
 * "name holds a control character (U+0009, a tab) at character 3: ...": C0 control
 * characters are refused, but for a newline in a cl_text_multiline field) into out and
 * returns true; false when it is fine. */
bool cl_text_why(char *out, size_t n, const char *field, const char *v, bool required, size_t max);

/* A date field written YYYY-MM-DD; fails the request and returns false otherwise. */
CL_MUSTCHECK bool cl_req_need_date(cl_req_t *req, const char *field, const char *v);

CL_MUSTCHECK bool cl_req_need_text(cl_req_t *req, const char *field, const char *v, bool required,
                                   size_t max);

CL_MUSTCHECK bool cl_req_need_id(cl_req_t *req, const char *field, int64_t id);

bool cl_date_valid(const char *s);

CL_MUSTCHECK bool cl_req_need_trade(cl_req_t *req, const char *code);

/* Days since 1970-01-01 of a valid YYYY-MM-DD (check cl_date_valid first). */
int64_t cl_date_days(const char *s);

/* The valid date s moved by months (negative: back), the day clamped to the month's
 * last day; as days since 1970-01-01. */
int64_t cl_date_add_months(const char *s, int months);

/* A UUID written 8-4-4-4-12 hex digits (either case). */
bool cl_uuid_valid(const char *s);

/* "severity must be one of minor, major, critical" for field and the registry's domain
 * d, into buf; returns buf. For error replies that list the accepted values. */
const char *cl_domain_must_be(char *buf, size_t n, const char *field, cl_domain_t d);

/* Finds repeated keys in a batch: elems[0..n) are its records in order and order(a, b)
 * sorts them by key. Calls repeat(ctx, i, first) for every record i whose key an earlier
 * record first already has (first: the earliest one). CL_OK, or CL_ENOMEM before any
 * call. O(n log n). */
typedef int (*cl_key_order_fn)(const void *a, const void *b);
typedef void (*cl_repeat_fn)(void *ctx, size_t i, size_t first);
CL_MUSTCHECK int cl_each_repeat(const void *const *elems, size_t n, cl_key_order_fn order,
                                cl_repeat_fn repeat, void *ctx);

/* Why a photo (JPEG or PNG, at most CL_LIM_PHOTO_BYTES) is refused, its first bytes
 * matching its declared mime; NULL when fine. For an item's or a defect's photos. */
const char *cl_photo_problem(const Closeloop__Photo *ph);

/* --- binary parameters --- */

/* A one-dimensional bytea[] in PostgreSQL's binary array format (what array_recv reads
 * for a parameter sent in binary, e.g. one marked `-- @binary` in a .sql file). All
 * integers big-endian: int32 number of dimensions (0 for an empty array, else 1), int32
 * flags (1 when an element is NULL, else 0), uint32 element type (bytea, OID 17); for
 * the dimension int32 length n and int32 lower bound 1; then per element int32 byte
 * count (-1 for NULL) and the bytes. elems[i] NULL is a NULL element, else lens[i] bytes.
 * Returns a malloc'd buffer of *len bytes (the caller frees it), or NULL when out of
 * memory or when the array would not fit a parameter (INT32_MAX bytes). */
CL_MUSTCHECK char *cl_sqlbin_bytea_array(const uint8_t *const *elems, const size_t *lens, size_t n,
                                         int *len);

#endif
