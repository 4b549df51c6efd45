/* handler.h - the one way a business area's handler talks to the database and answers.
 *
 * A call is one request's state, with a copy of the session taken when the request
 * arrived (the connection may log out while the database works). A handler validates
 * (every validator is CL_MUSTCHECK and answers the request itself when it says no),
 * then either answers at once or runs ONE batch, cl_call_run: its statements, each a
 * CL_STMT(name, params...) whose parameter count is checked at compile time against the
 * generated SQL contract (cl_sql.h), run as one transaction in one round trip, with
 * "set_actor" first when it writes. Its db callback reads results with the accessors
 * below, which answer a failure but never free anything, answers, and frees the call
 * (cl_call_free) exactly once, as its last act. cl_call_one_done and cl_call_list_done
 * are ready-made callbacks for "one row -> one record" and "rows -> streamed pages".
 *
 * A handler that needs more state declares a struct whose first member is a cl_call_t.
 * Reply strings point into the PGresult and are packed before the db callback returns.
 * Loop thread only. */
#ifndef CL_HANDLER_H
#define CL_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "cl_sql.h"
#include "db.h"
#include "msg.h"
#include "server.h"
#include "session.h"

#define CL_CALL_PAGE_MAX 500 /* records per streamed page, at most */

typedef struct cl_call cl_call_t;

/* How one kind of record comes out of a result row and goes on the wire. A slot is the
 * storage for one record and its sub-messages; fill returns the record inside it. */
typedef struct cl_call_kind {
    uint16_t reply_type;                    /* a single record's reply: MSG_COMPANY */
    uint16_t page_type;                     /* a list's frames: MSG_COMPANY_PAGE */
    const ProtobufCMessageDescriptor *page; /* CompanyPage: one repeated message */
    size_t slot_size;                       /* bytes of one slot */
    /* The record in slot, or NULL when out of memory. */
    ProtobufCMessage *(*fill)(void *slot, const cl_call_t *c, const PGresult *res, int row);
    void (*clear)(void *slot); /* frees what fill allocated; may be NULL */
} cl_call_kind_t;

/* A kind whose records are sent as message TYPE (CL_MSG_<TYPE>) one at a time, and as
 * <TYPE>_PAGE frames (message closeloop__<page_msg>__descriptor) in a list; slot is the type
 * of one record's storage, fill and clear its functions (clear may be NULL). */
#define CL_CALL_KIND(TYPE, page_msg, slot, fill_fn, clear_fn)                                      \
    {                                                                                              \
        .reply_type = CL_MSG_##TYPE, .page_type = CL_MSG_##TYPE##_PAGE,                            \
        .page = &closeloop__##page_msg##__descriptor, .slot_size = sizeof(slot), .fill = fill_fn,  \
        .clear = clear_fn                                                                          \
    }

struct cl_call {
    uint32_t magic; /* CL_CALL_MAGIC while alive: a second free asserts */
    cl_req_t *req;
    cl_session_t session;       /* copy, taken when the request arrived */
    cl_scope_params_t scope;    /* points into session */
    const cl_call_kind_t *kind; /* what the statement returns (lists, records) */
    bool analytics;             /* run on the analytics pool (reports) */
    char notfound[64];          /* a list's reply when it has no row at all */
    char conflict[256];         /* the reply to a unique violation ("": the database's) */
    char lost[256];             /* the reply when a write found neither a new nor an old row */
};

/* One statement of a batch: its handle (CL_SQL(name)), its parameters and, for a
 * statement with @binary parameters, their byte lengths. Write it with CL_STMT. */
typedef struct cl_call_stmt {
    int stmt;
    const char *const *params;
    const int *lengths;
} cl_call_stmt_t;

/* The parameter count of a statement, checked when the handler compiles. */
#define CL_NARGS(...)                                                                              \
    CL_NARGS_(__VA_ARGS__, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, \
              22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CL_NARGS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, \
                  a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, a33, a34,  \
                  a35, a36, a37, a38, a39, a40, n, ...)                                            \
    n
#define CL_STATIC_CHECK(e, msg)                                                                    \
    ((void)sizeof(struct {                                                                         \
        _Static_assert(e, msg);                                                                    \
        int cl_check_;                                                                             \
    }))
#define CL_PARAMS(name, ...)                                                                       \
    (CL_STATIC_CHECK(CL_NARGS(__VA_ARGS__) == CL_NPARAMS(name),                                    \
                     "wrong number of parameters for statement " #name),                           \
     (const char *const[]){__VA_ARGS__})

/* A statement with text parameters, and one whose @binary parameters have lengths. */
#define CL_STMT(name, ...) ((cl_call_stmt_t){CL_SQL(name), CL_PARAMS(name, __VA_ARGS__), NULL})
#define CL_STMT_BIN(name, lengths, ...)                                                            \
    ((cl_call_stmt_t){CL_SQL(name), CL_PARAMS(name, __VA_ARGS__), (lengths)})

/* The session scope as a statement's first four parameters. */
#define CL_CALL_SCOPE(c) (c)->scope.v[0], (c)->scope.v[1], (c)->scope.v[2], (c)->scope.v[3]

/* A new zeroed call of size bytes (a cl_call_t, or a struct that begins with one) holding
 * a copy of the request's session; NULL after answering the request (no session, out of
 * memory). */
CL_MUSTCHECK void *cl_call_new(cl_req_t *req, size_t size);

/* A plain call (a cl_call_t) whose statement returns records of kind; for a list,
 * notfound (NULL: none) answers a result without any row at all. NULL after answering. */
CL_MUSTCHECK cl_call_t *cl_call_list_new(cl_req_t *req, const cl_call_kind_t *kind,
                                         const char *notfound);

/* The same for a create with an idempotency key: a unique violation answers
 * "<taken>" (e.g. "project already has a mock1 round"), and a key used by another
 * request answers the lost sentence that says so. NULL after answering. */
CL_MUSTCHECK cl_call_t *cl_call_create_new(cl_req_t *req, const cl_call_kind_t *kind,
                                           const char *key, const char *taken);

/* A whole request for one project's records: project_id checked, then statement stmt
 * (parameters: the session scope and the project) streamed as records of kind; "no such
 * project" when the project is missing or out of scope. Use CL_PROJECT_LIST, which
 * checks the statement's parameters at compile time. */
void cl_call_project_list(cl_req_t *req, int64_t project_id, int stmt, const cl_call_kind_t *kind);
#define CL_PROJECT_LIST(req, project_id, name, kind)                                               \
    (CL_STATIC_CHECK(CL_NPARAMS(name) == 5, #name " takes the session scope and a project"),       \
     cl_call_project_list((req), (project_id), CL_SQL(name), (kind)))

/* Frees the call; a second free of the same call asserts. */
void cl_call_free(cl_call_t *c);

/* Runs stmts[0..n) as one batch, preceded by set_actor when it writes. Always ends in cb,
 * or answers the request and frees the call itself (then cb never runs). */
void cl_call_run(cl_call_t *c, bool writes, const cl_call_stmt_t *stmts, int n, cl_db_cb cb);

/* The rows of statement i of the call's batch (set_actor not counted), with the column
 * count its SQL declares; NULL after answering the request (a failed batch, or a result
 * of another shape). Never frees the call. */
CL_MUSTCHECK const PGresult *cl_call_rows(cl_call_t *c, const cl_db_result_t *r, int i);

/* A write's single row: true when it holds a record (column 0 not NULL). Otherwise
 * answers from its columns named `missing` ("no such ...") and `invalid` (a sentence),
 * or with the call's lost sentence, and returns false. Never frees. */
CL_MUSTCHECK bool cl_call_one_row(cl_call_t *c, const PGresult *res);

/* Sends every row of res whose column 0 is not NULL (NULL: the empty side of a LEFT JOIN)
 * as records of the call's kind, in pages of at most CL_CALL_PAGE_MAX records that fit in
 * a frame. When last, the final page is flagged LAST (an empty list is one empty page)
 * and the request is finished; otherwise only full pages are sent, as parts. Returns
 * false after failing the request. Never frees. */
CL_MUSTCHECK bool cl_call_stream(cl_call_t *c, const PGresult *res, bool last);

/* Ready-made db callbacks; both free the call.
 * one_done: the last statement's single row (cl_call_one_row) becomes one record of the
 *   call's kind, sent as kind->reply_type.
 * list_done: no row at all answers the call's notfound sentence when it has one;
 *   otherwise the last statement's rows are streamed. */
void cl_call_one_done(void *arg, const cl_db_result_t *r);
void cl_call_list_done(void *arg, const cl_db_result_t *r);

/* The RowErrors of a rejected batch (an import chunk, a batch of items): as many as fit
 * in one frame, then one more saying how many were left out. Messages are copied. */
typedef struct cl_row_errors {
    Closeloop__RowError *rows;  /* storage, one more than expected for "N more" */
    Closeloop__RowError **ptrs; /* the reply's repeated field */
    char *texts;                /* message storage, CL_ROW_ERROR_LEN each */
    size_t n, cap;              /* listed, and room */
    size_t bytes, budget;       /* encoded size so far, and the frame's allowance */
    long left_out;              /* errors that did not fit */
    char more[80];              /* "N more bad rows not listed" */
} cl_row_errors_t;
#define CL_ROW_ERROR_LEN 400

/* Room for up to expected errors; false (the request answered) when out of memory. */
CL_MUSTCHECK bool cl_row_errors_init(cl_row_errors_t *e, cl_req_t *req, size_t expected);
void cl_row_errors_add(cl_row_errors_t *e, uint32_t line, const char *message);
/* Adds "N more bad <noun> not listed" when some did not fit. */
void cl_row_errors_finish(cl_row_errors_t *e, const char *noun);
void cl_row_errors_free(cl_row_errors_t *e);

#endif
