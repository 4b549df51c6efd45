/* cloop_mirror_int.h - what libcloop's mirror modules (cloop_mirror.c, cloop_sync.c,
 * cloop_outbox.c, cloop_mirror_read.c) share and callers never see. */
#ifndef CLOOP_MIRROR_INT_H
#define CLOOP_MIRROR_INT_H

#include <sqlite3.h>

#include "cloop_mirror.h"
#include "msg.h"

struct cl_mirror {
    sqlite3 *db;
    char path[4096];
    char err[512];
};

/* Sets the error sentence. */
void cl_mirror_fail(cl_mirror_t *m, const char *fmt, ...) CL_PRINTF(2, 3);

/* Runs sql (no parameters); CL_EIO with the error sentence on failure. Not CL_MUSTCHECK:
 * a ROLLBACK on a failure path may ignore its own result (closing rolls back too). */
int cl_mirror_exec(cl_mirror_t *m, const char *sql);

/* ---- cloop_sync.c's internals, for its unit test ---- */

/* A pull's context: the mirror's entities (from its schema) and their statements. */
typedef struct cl_sync_ctx cl_sync_ctx_t;
CL_MUSTCHECK int cl_sync_ctx_new(cl_mirror_t *m, cl_sync_ctx_t **out);
void cl_sync_ctx_free(cl_sync_ctx_t *x);
/* Refuses (CL_EINVAL, one sentence) a server whose entities or columns differ. */
CL_MUSTCHECK int cl_sync_check_columns(cl_sync_ctx_t *x, const Closeloop__SyncStart *start);
/* The local transaction pages are applied in (BEGIN IMMEDIATE ... COMMIT). */
CL_MUSTCHECK int cl_sync_begin(cl_sync_ctx_t *x);
CL_MUSTCHECK int cl_sync_commit(cl_sync_ctx_t *x);
void cl_sync_rollback(cl_sync_ctx_t *x);
/* Applies a page's rows by the rule (opening the transaction when none is). */
CL_MUSTCHECK int cl_sync_apply_rows(cl_sync_ctx_t *x, const Closeloop__SyncRowPage *pg,
                                    cl_sync_stats_t *st);

/* One (project, entity)'s checksum. */
typedef struct cl_sync_sum {
    int64_t project_id;
    const char *entity; /* static */
    int64_t rows;
    uint64_t hash;
    bool touched; /* the mirror's rows include some an unacknowledged entry touched */
} cl_sync_sum_t;
/* The mirror's checksums (of one project, or all with 0), malloc'd into *out. */
CL_MUSTCHECK int cl_sync_local_checksums(cl_sync_ctx_t *x, int64_t project_id, cl_sync_sum_t **out,
                                         size_t *n);

#endif
