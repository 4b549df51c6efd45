/* ticker.c - the periodic database job of ticker.h: one uv timer and the batch in flight
 * (at most one). The job embedding the ticker is released (freed by its release) by
 * whichever comes last after stop: the timer's close or the last batch's callback. Loop
 * thread only. */
#include "ticker.h"

#include <stdlib.h>

static void maybe_release(cl_ticker_t *t) {
    if (!t->closed || t->busy) return;
    if (t->release)
        t->release(t);
    else
        free(t); /* the job itself: the ticker is its first member */
}

static void on_tick(uv_timer_t *h) {
    cl_ticker_t *t = h->data;
    if (t->busy || t->stopping) return; /* the last round is still going */
    t->tick(t);
}

void cl_ticker_init(cl_ticker_t *t, uv_loop_t *loop, struct cl_db *db, void (*tick)(cl_ticker_t *),
                    void (*release)(cl_ticker_t *)) {
    uv_timer_init(loop, &t->timer);
    t->timer.data = t;
    t->db = db;
    t->tick = tick;
    t->release = release;
    t->busy = t->stopping = t->closed = false;
}

void cl_ticker_every(cl_ticker_t *t, uint64_t first_ms, uint64_t every_ms) {
    if (!t->stopping) uv_timer_start(&t->timer, on_tick, first_ms, every_ms);
}

uint64_t cl_ticker_env_ms(const char *env, uint64_t dflt) {
    const char *v = getenv(env);
    if (!v || !*v) return dflt;
    long long ms = strtoll(v, NULL, 10);
    return ms > 0 ? (uint64_t)ms : 0;
}

void cl_ticker_run(cl_ticker_t *t, cl_db_batch_t *b, cl_db_cb cb) {
    t->busy = true;
    cl_db_batch_run(b, cb, t);
}

bool cl_ticker_landed(cl_ticker_t *t) {
    t->busy = false;
    if (!t->stopping) return true;
    maybe_release(t);
    return false;
}

static void on_closed(uv_handle_t *h) {
    cl_ticker_t *t = h->data;
    t->closed = true;
    maybe_release(t);
}

void cl_ticker_stop(cl_ticker_t *t) {
    if (!t || t->stopping) return;
    t->stopping = true;
    uv_close((uv_handle_t *)&t->timer, on_closed);
}
