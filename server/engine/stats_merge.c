/* stats_merge.c - the statistics merge timer of stats_merge.h.
 *
 * A ticker (ticker.h): at most one merge in flight, a tick while one runs is skipped.
 * Runs on the loop thread; the merge is one statement on the main pool, its failure
 * logged (stats_merge_failed) and retried at the next tick, never fatal. The struct frees
 * itself after cl_stats_merge_stop, once the timer has closed and no merge is in flight. */
#include "stats_merge.h"

#include <stdbool.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "cl_sql.h"
#include "db.h"
#include "log.h"
#include "ticker.h"

struct cl_stats_merge {
    cl_ticker_t ticker; /* first: the merge's timer and batch in flight */
};

static void on_merged(void *arg, const cl_db_result_t *r) {
    if (!cl_ticker_landed(arg)) return;
    if (r->status != CL_OK) {
        cl_log_warn("stats_merge_failed", "error=\"%s\"", r->message);
        return; /* the next tick tries again */
    }
    if (PQntuples(r->res[0]) == 1) {
        const char *n = PQgetvalue(r->res[0], 0, CL_COL(stats_merge, merged));
        if (n[0] != '0') cl_log_debug("stats_merged", "deltas=%s", n);
    }
}

static void merge_tick(cl_ticker_t *t) {
    cl_db_batch_t *b = cl_db_batch_new(t->db);
    if (!b || cl_db_batch_add(b, CL_SQL(stats_merge), NULL, NULL) != CL_OK) {
        cl_db_batch_free(b);
        cl_log_warn("stats_merge_failed", "error=\"out of memory\"");
        return;
    }
    cl_ticker_run(t, b, on_merged);
}

cl_stats_merge_t *cl_stats_merge_start(uv_loop_t *loop, struct cl_db *db, const cl_config_t *cfg) {
    cl_stats_merge_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    cl_ticker_init(&m->ticker, loop, db, merge_tick, NULL);
    if (cfg->stats_merge_interval_ms)
        cl_ticker_every(&m->ticker, cfg->stats_merge_interval_ms, cfg->stats_merge_interval_ms);
    return m;
}

void cl_stats_merge_stop(cl_stats_merge_t *m) {
    if (m) cl_ticker_stop(&m->ticker);
}
