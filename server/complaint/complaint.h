/* complaint.h - the complaint clocks' alert timer (complaint.c): every tick the daemon
 * claims the warnings (75 % of a clock's budget) and breaches that are due now, inside
 * working hours, and sends each once (complaint_warnings, complaint_breaches in
 * complaint.sql), however many daemons run and however long none ran; and raises the
 * class of open complaints that time alone moved past 7 or 30 days through our fault
 * (complaint_time_facts, the rules of complaint_rules.h, complaint_reclass with a
 * compare-and-set on the version, so once however many daemons). The tick is
 * CLOSELOOP_COMPLAINT_TICK_MS milliseconds (default 60000; 0 turns the timer off). */
#ifndef CL_COMPLAINT_H
#define CL_COMPLAINT_H

#include <uv.h>

struct cl_db;
typedef struct cl_complaint_alerts cl_complaint_alerts_t;

/* Starts the timer on loop over the main pool; NULL when out of memory. */
cl_complaint_alerts_t *cl_complaint_alerts_start(uv_loop_t *loop, struct cl_db *db);

/* Stops the timer before the pool closes; frees itself once a tick in flight answered.
 * NULL is ignored. */
void cl_complaint_alerts_stop(cl_complaint_alerts_t *a);

#endif
