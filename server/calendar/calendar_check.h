/* calendar_check.h - the daemon's check that the business calendar reaches into next year
 * (docs/CALENDAR.md "The December warning"). From 1 December, when next year has no
 * national day off, the daemon logs event=calendar_year_missing at start and once a day,
 * and one `calendar` notice goes out per day whatever the number of daemons (the
 * calendar_warnings row of migration 023 is the claim).
 *
 * "Today" is China Standard Time's date, or CLOSELOOP_CALENDAR_TODAY (YYYY-MM-DD) when it
 * is set: a simulated date for tests, read only here. Loop thread only; the check owns
 * its timer and frees itself after cl_calendar_check_stop once nothing is in flight. */
#ifndef CL_CALENDAR_CHECK_H
#define CL_CALENDAR_CHECK_H

#include <stddef.h>

#include <uv.h>

struct cl_db;

#define CL_CALENDAR_CHECK_INTERVAL_MS (3600 * 1000) /* looks hourly, logs once a day */
#define CL_CALENDAR_CHECK_RETRY_MS    5000          /* after a failed check */

typedef struct cl_calendar_check cl_calendar_check_t;

/* Starts the check now and hourly; NULL when out of memory. */
cl_calendar_check_t *cl_calendar_check_start(uv_loop_t *loop, struct cl_db *db);
/* Stops the timer; frees the check once its batch (if any) has finished. NULL is fine. */
void cl_calendar_check_stop(cl_calendar_check_t *k);

/* Today as the calendar check sees it, 'YYYY-MM-DD' (see above). */
void cl_calendar_today(char out[11]);

/* The warning, in Chinese, for a year without national days off (the hours reply's
 * warning and the notice's body; fmt_year: "%s" instead of the year, for SQL format()). */
void cl_calendar_warning(char *out, size_t n, int year);
#define CL_CALENDAR_WARNING_FMT                                                                                                 \
    "%s年的全国节假日安排尚未导入：请用 cloop calendar import 导入国务院公布的放假和调休安排，" \
    "否则时限会把节假日当作工作日计算。"

#endif
