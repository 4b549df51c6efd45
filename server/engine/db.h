/* db.h - the asynchronous PostgreSQL pool of closeloopd, driven by the libuv loop.
 *
 * A pool holds pool_size libpq connections, each non-blocking, watched with uv_poll, in
 * pipeline mode, with every statement of the daemon prepared on it at connect time. Work
 * is submitted as a batch: one or more prepared statements that PostgreSQL runs as ONE
 * implicit transaction (they share a single Sync), in one round trip. If any statement
 * fails, none of the batch is committed. The callback runs exactly once, on the loop,
 * after the commit (or the failure) is known.
 *
 * Failure model: a lost connection fails its batch with CL_EUNAVAIL (retryable) and is
 * reconnected with exponential backoff; while no connection is up, new batches fail at
 * once with CL_EUNAVAIL. statement_timeout is set on every connection; a batch that
 * exceeds it fails with CL_ETIMEDOUT. SQL errors map to CL_ECONFLICT (unique violation,
 * serialization failure), CL_EINVAL (data and constraint errors), CL_ENOTFOUND (foreign
 * key violation), CL_EINTERNAL (anything else).
 *
 * Contract: every connection prepares every statement of the table and then describes
 * each; a parameter count or a column name that differs from the table (that is, from
 * the C side's generated view of the SQL) makes the connection refuse to serve, logged
 * with the statement and the column, and retried with backoff. cl_db_stmt_check is the
 * same comparison for the daemon's start-up check (migrate.h).
 *
 * Lifetime: results passed to the callback are freed when it returns; copy what you need.
 * Parameters are copied when added. Everything runs on the loop thread. */
#ifndef CL_DB_H
#define CL_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "cl_err.h"

#define CL_DB_MAX_PARAMS 32
#define CL_DB_MAX_BATCH  16

typedef struct cl_db cl_db_t;
typedef struct cl_db_batch cl_db_batch_t;

/* A prepared statement, as server/engine/sqlgen.py generates it from the areas' .sql
 * files (cl_sql.h: CL_SQL(name) is its index in the table). */
typedef struct cl_db_stmt {
    const char *name;        /* the prepared statement's name: "ticket_show" */
    const char *where;       /* "ticket.sql:12", for messages */
    const char *sql;         /* the text, with $1..$nparams */
    int nparams;             /* computed from the highest $n */
    int ncols;               /* result columns; 0 for a statement without rows */
    const char *const *cols; /* their names, as PostgreSQL must describe them */
    uint32_t binary_params;  /* bit n-1 set: $n is sent in binary */
    int binary_result;       /* 1: every result column comes back in binary */
} cl_db_stmt_t;

/* An SQL function an area defines for its statements (sqlgen.py, "Functions"): run as it
 * is (CREATE OR REPLACE) at every start, after the migrations. */
typedef struct cl_db_function {
    const char *name;  /* "cl_ticket_raise" */
    const char *where; /* "raise.sql:20" */
    const char *sql;   /* the whole CREATE OR REPLACE FUNCTION */
} cl_db_function_t;

typedef struct cl_db_opts {
    const char *conninfo;          /* libpq connection string */
    unsigned pool_size;            /* connections */
    unsigned statement_timeout_ms; /* server-side limit per statement */
    const cl_db_stmt_t *stmts;     /* every statement, prepared and checked on connect */
    size_t nstmts;
    const char *name; /* "main" or "analytics", for logs; a pool other than "main" also
                         connects as application_name "closeloopd-NAME" (main: "closeloopd")
                         and is named in its refusals ("the analytics database is
                         unavailable; ...") */
} cl_db_opts_t;

typedef struct cl_db_result {
    int status;                       /* CL_OK or a CL_E* code */
    const char *sqlstate;             /* five characters on a SQL error, else "" */
    const char *message;              /* one sentence on failure, else "" */
    const char *constraint;           /* violated constraint's name on a SQL error, else "" */
    int count;                        /* number of statements in the batch */
    const cl_db_stmt_t *const *stmts; /* stmts[i]: statement i */
    PGresult **res;                   /* res[i]: the result of statement i (NULL after a failure) */
} cl_db_result_t;

typedef void (*cl_db_cb)(void *arg, const cl_db_result_t *r);

/* Starts the pool and begins connecting in the background; never blocks. */
CL_MUSTCHECK int cl_db_start(uv_loop_t *loop, const cl_db_opts_t *o, cl_db_t **out, char *err,
                             size_t errlen);

/* Fails queued work with CL_ESHUTDOWN, waits for in-flight batches, closes every
 * connection and handle, then calls done_cb (may be NULL). Free with cl_db_free after. */
void cl_db_close(cl_db_t *db, void (*done_cb)(void *arg), void *arg);
void cl_db_free(cl_db_t *db);

/* Connections currently up, for ServerInfo and tests. */
unsigned cl_db_connected(const cl_db_t *db);

/* A new batch, or NULL when out of memory. */
cl_db_batch_t *cl_db_batch_new(cl_db_t *db);

/* Adds statement stmt (an index into the pool's table) with its nparams parameters:
 * text, NUL-terminated (NULL is SQL NULL), or for the statement's binary parameters
 * lengths[i] bytes (lengths may be NULL when it has none). Copied. Fails with CL_EINVAL
 * for an unknown statement or a full batch. */
CL_MUSTCHECK int cl_db_batch_add(cl_db_batch_t *b, int stmt, const char *const *params,
                                 const int *lengths);

/* The statement of index stmt, or NULL. */
const cl_db_stmt_t *cl_db_stmt(const cl_db_t *db, int stmt);

/* Compares PostgreSQL's description of prepared statement s (PQdescribePrepared) with s;
 * 0 when they agree, else -1 with one sentence naming the statement and the column. */
CL_MUSTCHECK int cl_db_stmt_check(const cl_db_stmt_t *s, const PGresult *desc, char *err,
                                  size_t errlen);

/* Submits the batch; cb is always called later, exactly once, and the batch is freed
 * after it. */
void cl_db_batch_run(cl_db_batch_t *b, cl_db_cb cb, void *arg);

/* Drops a batch that was never run. */
void cl_db_batch_free(cl_db_batch_t *b);

/* One statement as a batch: add + run. On an add failure cb is still called. The _bin
 * form takes the lengths of the statement's binary parameters (cl_db_batch_add). */
void cl_db_exec(cl_db_t *db, int stmt, const char *const *params, cl_db_cb cb, void *arg);
void cl_db_exec_bin(cl_db_t *db, int stmt, const char *const *params, const int *lengths,
                    cl_db_cb cb, void *arg);

/* Watches a libpq socket fd for events on the loop with cb (the handle's data is data):
 * makes the poll handle *poll when there is none (fd and events recorded in *poll_fd,
 * *poll_events) and restarts it when the events change. The caller closes a handle whose
 * fd moved before. 1 when it made a handle (the caller counts it open), 0 when it had
 * one, -1 when it cannot make one. Loop thread. */
int cl_pg_watch(uv_loop_t *loop, uv_poll_t **poll, int *poll_fd, int *poll_events, int fd,
                int events, uv_poll_cb cb, void *data);

#endif
