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

/* A prepared statement: a stable name and its SQL with $1..$n parameters. */
typedef struct cl_db_stmt {
    const char *name;
    const char *sql;
} cl_db_stmt_t;

/* A NULL-terminated table of statements; each business area has one. */
typedef const cl_db_stmt_t *cl_db_stmt_table_t;

typedef struct cl_db_opts {
    const char *conninfo;             /* libpq connection string */
    unsigned pool_size;               /* connections */
    unsigned statement_timeout_ms;    /* server-side limit per statement */
    const cl_db_stmt_table_t *tables; /* NULL-terminated array of statement tables */
    const char *name;                 /* "main" or "analytics", for logs */
} cl_db_opts_t;

typedef struct cl_db_result {
    int status;             /* CL_OK or a CL_E* code */
    const char *sqlstate;   /* five characters on a SQL error, else "" */
    const char *message;    /* one sentence on failure, else "" */
    const char *constraint; /* violated constraint's name on a SQL error, else "" */
    int count;              /* number of statements in the batch */
    PGresult **res;         /* res[i]: the result of statement i (NULL after a failure) */
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

/* Adds one statement. params are text values (NULL is SQL NULL), copied. Fails with
 * CL_EINVAL for an unknown statement name or too many parameters/statements. */
CL_MUSTCHECK int cl_db_batch_add(cl_db_batch_t *b, const char *stmt, int nparams,
                                 const char *const *params);

/* Submits the batch; cb is always called later, exactly once, and the batch is freed
 * after it. */
void cl_db_batch_run(cl_db_batch_t *b, cl_db_cb cb, void *arg);

/* Drops a batch that was never run. */
void cl_db_batch_free(cl_db_batch_t *b);

/* One statement as a batch: add + run. On an add failure cb is still called. */
void cl_db_exec(cl_db_t *db, const char *stmt, int nparams, const char *const *params, cl_db_cb cb,
                void *arg);

#endif
