/* stats_merge.h - the statistics merge timer: every [stats] merge_interval_ms the daemon
 * runs cl_stats_merge() (migration 020) on the main pool, so the summaries that cl_stats
 * reads never lag more than that behind their pending deltas (docs/STATS.md). */
#ifndef CL_STATS_MERGE_H
#define CL_STATS_MERGE_H

#include <uv.h>

#include "config.h"

struct cl_db;
typedef struct cl_stats_merge cl_stats_merge_t;

/* Starts the timer on loop; NULL when out of memory. With merge_interval_ms 0 it never
 * fires (the summaries then follow only through readers' deltas and cl_stats_rebuild). */
cl_stats_merge_t *cl_stats_merge_start(uv_loop_t *loop, struct cl_db *db, const cl_config_t *cfg);

/* Stops the timer before the pool closes; frees itself once a merge in flight answered.
 * NULL is ignored. */
void cl_stats_merge_stop(cl_stats_merge_t *m);

#endif
