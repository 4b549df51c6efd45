/* cloop_mirror_int.h - what libcloop's mirror modules (cloop_mirror.c, cloop_sync.c,
 * cloop_outbox.c, cloop_mirror_read.c) share and callers never see. */
#ifndef CLOOP_MIRROR_INT_H
#define CLOOP_MIRROR_INT_H

#include <sqlite3.h>

#include "cloop_mirror.h"

struct cl_mirror {
    sqlite3 *db;
    char path[4096];
    char err[512];
};

/* Sets the error sentence. */
void cl_mirror_fail(cl_mirror_t *m, const char *fmt, ...) CL_PRINTF(2, 3);

/* Runs sql (no parameters); CL_EIO with the error sentence on failure. */
CL_MUSTCHECK int cl_mirror_exec(cl_mirror_t *m, const char *sql);

#endif
