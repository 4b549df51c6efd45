/* stats_merge.c - the statistics merge timer of stats_merge.h.
 *
 * Owns one uv timer and the merge in flight (at most one: a tick while a merge runs is
 * skipped). Runs on the loop thread; the merge is one statement on the main pool, its
 * failure logged (stats_merge_failed) and retried at the next tick, never fatal. The
 * struct frees itself after cl_stats_merge_stop, once the timer has closed and no merge
 * is in flight. */
#include "stats_merge.h"

#include <stdbool.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "cl_sql.h"
#include "db.h"
#include "log.h"

struct cl_stats_merge {
    uv_timer_t timer;
    struct cl_db *db;
    bool busy;     /* a merge is in flight */
    bool stopping; /* cl_stats_merge_stop was called */
    bool closed;   /* the timer has closed */
};

static void merge_maybe_free(cl_stats_merge_t *m) {
    if (m->closed && !m->busy) free(m);
}

static void on_merged(void *arg, const cl_db_result_t *r) {
    cl_stats_merge_t *m = arg;
    m->busy = false;
    if (m->stopping) {
        merge_maybe_free(m);
        return;
    }
    if (r->status != CL_OK) {
        cl_log_warn("stats_merge_failed", "error=\"%s\"", r->message);
        return; /* the next tick tries again */
    }
    if (PQntuples(r->res[0]) == 1) {
        const char *n = PQgetvalue(r->res[0], 0, CL_COL(stats_merge, merged));
        if (n[0] != '0') cl_log_debug("stats_merged", "deltas=%s", n);
    }
}

static void on_merge_timer(uv_timer_t *t) {
    cl_stats_merge_t *m = t->data;
    if (m->busy) return; /* the last merge is still running */
    cl_db_batch_t *b = cl_db_batch_new(m->db);
    if (!b || cl_db_batch_add(b, CL_SQL(stats_merge), NULL, NULL) != CL_OK) {
        cl_db_batch_free(b);
        cl_log_warn("stats_merge_failed", "error=\"out of memory\"");
        return;
    }
    m->busy = true;
    cl_db_batch_run(b, on_merged, m);
}

cl_stats_merge_t *cl_stats_merge_start(uv_loop_t *loop, struct cl_db *db, const cl_config_t *cfg) {
    cl_stats_merge_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->db = db;
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    if (cfg->stats_merge_interval_ms)
        uv_timer_start(&m->timer, on_merge_timer, cfg->stats_merge_interval_ms,
                       cfg->stats_merge_interval_ms);
    return m;
}

static void on_merge_timer_closed(uv_handle_t *h) {
    cl_stats_merge_t *m = h->data;
    m->closed = true;
    merge_maybe_free(m);
}

void cl_stats_merge_stop(cl_stats_merge_t *m) {
    if (!m || m->stopping) return;
    m->stopping = true;
    uv_close((uv_handle_t *)&m->timer, on_merge_timer_closed);
}
