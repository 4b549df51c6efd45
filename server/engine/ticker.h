/* ticker.h - a database job on a timer, the lifecycle the daemon's periodic jobs share
 * (the statistics merge, the retention purge, the calendar check, the complaint alerts,
 * the warranty ladder).
 *
 * A job embeds a cl_ticker_t as its FIRST member. Every interval the ticker calls the
 * job's tick, unless a round is still in flight: a tick that runs a batch through
 * cl_ticker_run starts a round, and each batch callback of the round first calls
 * cl_ticker_landed, which ends the round (a callback may run the next batch of the same
 * round with cl_ticker_run again). After cl_ticker_stop no tick runs; once the timer has
 * closed and no batch is in flight, the ticker calls release, or frees the job. Loop
 * thread only. */
#ifndef CL_TICKER_H
#define CL_TICKER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "db.h"

typedef struct cl_ticker cl_ticker_t;
struct cl_ticker {
    uv_timer_t timer;
    struct cl_db *db;
    void (*tick)(cl_ticker_t *t);    /* a round is due: cl_ticker_run a batch, or nothing */
    void (*release)(cl_ticker_t *t); /* stopped and idle: free the job (NULL: free(t)) */
    bool busy;                       /* a batch is in flight */
    bool stopping;                   /* cl_ticker_stop was called */
    bool closed;                     /* the timer has closed */
};

/* Sets the ticker up on loop and db; it ticks once cl_ticker_every arms it. */
void cl_ticker_init(cl_ticker_t *t, uv_loop_t *loop, struct cl_db *db, void (*tick)(cl_ticker_t *),
                    void (*release)(cl_ticker_t *));

/* (Re)arms the timer: the first tick after first_ms, then every every_ms (0: once). */
void cl_ticker_every(cl_ticker_t *t, uint64_t first_ms, uint64_t every_ms);

/* Milliseconds from environment variable env (a test knob), else dflt; 0 turns it off. */
uint64_t cl_ticker_env_ms(const char *env, uint64_t dflt);

/* Runs batch b (owned from here) for the round; cb(t, result) gets its result. */
void cl_ticker_run(cl_ticker_t *t, cl_db_batch_t *b, cl_db_cb cb);

/* First thing in every batch callback of a round: ends the round's batch. false when the
 * ticker is stopping: the callback returns at once and touches nothing of its job (it may
 * have been released). */
bool cl_ticker_landed(cl_ticker_t *t);

/* Stops ticking; the job is released once idle. */
void cl_ticker_stop(cl_ticker_t *t);

#endif
