/* handler.h - the plumbing the request handlers of org.c, inspection.c and ticket.c share:
 * a call (one request's state, with a copy of the session taken when the request arrived,
 * since the connection may log out while the database works), running a batch ("set_actor"
 * first when it writes), answering a failed batch, checking results, and streaming a
 * result's rows as pages of records.
 *
 * A handler that needs more state declares a struct whose first member is a cl_call_t.
 * The call is the db callback's argument. Every function that answers a failure says
 * whether it freed the call; otherwise the handler frees it (cl_call_free) right after
 * its final reply. Reply strings point into the PGresult and are packed before the db
 * callback returns. Loop thread only. */
#ifndef CL_HANDLER_H
#define CL_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

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

struct cl_call {
    cl_req_t *req;
    cl_session_t session;       /* copy, taken when the request arrived */
    cl_scope_params_t scope;    /* points into session */
    const cl_call_kind_t *kind; /* what the statement returns (lists, records) */
    char notfound[64];          /* a list's reply when it has no row at all */
    char conflict[256];         /* the reply to a unique violation ("": the database's) */
    char lost[256];             /* the reply when a write found neither a new nor an old row */
};

/* One statement of a batch: its name and parameters (after the scope ones when the batch
 * is scoped). */
typedef struct cl_call_stmt {
    const char *name;
    int nparams;
    const char *const *params;
} cl_call_stmt_t;

/* The session scope as a statement's first four parameters. */
#define CL_CALL_SCOPE(c) (c)->scope.v[0], (c)->scope.v[1], (c)->scope.v[2], (c)->scope.v[3]

/* A new zeroed call of size bytes (a cl_call_t, or a struct that begins with one) holding
 * a copy of the request's session; NULL after answering the request (no session, out of
 * memory). */
void *cl_call_new(cl_req_t *req, size_t size);

void cl_call_free(cl_call_t *c);

/* Runs stmt with params as one batch, preceded by set_actor when it writes. Always ends
 * in cb, or answers the request and frees the call itself. */
void cl_call_run(cl_call_t *c, bool writes, const char *stmt, int nparams,
                 const char *const *params, cl_db_cb cb);

/* The same for n statements, each given the scope as its first four parameters. */
void cl_call_run_scoped(cl_call_t *c, bool writes, const cl_call_stmt_t *stmts, int n, cl_db_cb cb);

/* Answers a failed batch: a unique violation gets the call's conflict sentence when it
 * has one, anything else the database layer's. The call is not freed. */
void cl_call_fail_db(cl_call_t *c, const cl_db_result_t *r);

/* The rows of the batch's last statement, or NULL after answering the failure (the call
 * is freed then). */
const PGresult *cl_call_result(cl_call_t *c, const cl_db_result_t *r);

/* The rows of statement i with at least min_cols columns, or NULL after answering (a
 * failed batch, or a result of the wrong shape); the call is not freed. */
const PGresult *cl_call_result_at(cl_call_t *c, const cl_db_result_t *r, int i, int min_cols);

/* A write's single row: true when it holds a record (column 0 not NULL). Otherwise
 * answers from the last two columns ("missing": no such ..., "invalid": a sentence) or
 * with the call's lost sentence, and returns false; what names the write when the
 * request has no handler. The call is not freed. */
bool cl_call_one_row(cl_call_t *c, const PGresult *res, const char *what);

/* Sends every row of res whose column 0 is not NULL (NULL: the empty side of a LEFT JOIN)
 * as records of the call's kind, in pages of at most CL_CALL_PAGE_MAX records that fit in
 * a frame. When last, the final page is flagged LAST (an empty list is one empty page)
 * and the request is finished; otherwise only full pages are sent, as parts. Returns
 * false after failing the request. The call is not freed. */
bool cl_call_stream(cl_call_t *c, const PGresult *res, bool last);

/* A db callback for a list: no row at all answers the call's notfound sentence when it
 * has one; otherwise the rows are streamed. Frees the call. */
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
