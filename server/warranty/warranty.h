/* warranty.h - warranty repairs (docs/WARRANTY.md): the ladder's timer (warranty.c) and
 * the records the office's file (warranty_office.c) shares with a report's show.
 *
 * The ladder: every tick (CLOSELOOP_WARRANTY_TICK_MS milliseconds, default 60000; 0 turns
 * the timer off) the daemon reads the reports whose response is overdue inside their
 * company's working hours (warranty_overdue), computes in C what each climb needs (the
 * developer level's new due over the company calendar; for the hotline the complaint's
 * class and clocks, as `complaint add` does) and climbs each with a compare-and-set
 * UPDATE on the version it read, so however many daemons run a report climbs once; all
 * of it is read from the database at each tick, nothing kept in memory. */
#ifndef CL_WARRANTY_H
#define CL_WARRANTY_H

#include <libpq-fe.h>
#include <uv.h>

#include "closeloop.pb-c.h"

struct cl_db;
typedef struct cl_warranty_ladder cl_warranty_ladder_t;

/* Starts the timer on loop over the main pool; NULL when out of memory. */
cl_warranty_ladder_t *cl_warranty_ladder_start(uv_loop_t *loop, struct cl_db *db);

/* Stops the timer before the pool closes; frees itself once a tick in flight answered.
 * NULL is ignored. */
void cl_warranty_ladder_stop(cl_warranty_ladder_t *l);

/* A WarrantyLetter / WarrantyDeduction from row `row` of warranty_letter_rows /
 * warranty_deduction_rows; strings point into res. */
void cl_warranty_letter_from(Closeloop__WarrantyLetter *l, const PGresult *res, int row);
void cl_warranty_deduction_from(Closeloop__WarrantyDeduction *d, const PGresult *res, int row);

#endif
