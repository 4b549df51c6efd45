/* calendar.h - a company's business calendar, as the database holds it (migration 022:
 * calendar_hours, calendar_days, cl_calendar_hours(), cl_calendar_days()), turned into the
 * cl_bizcal_t that common/bizcal.h computes business time over. China Standard Time
 * (UTC+8, no daylight saving) is the calendar's local time.
 *
 * A caller's SQL selects the two row sets in the shapes below, for the company and a day
 * range wide enough for its clocks (a year ahead covers any complaint budget), and calls
 * cl_calendar_from_rows. The cl_calendar_t owns its days; cl_calendar_free releases them.
 * Any thread (no I/O). */
#ifndef CL_CALENDAR_H
#define CL_CALENDAR_H

#include <libpq-fe.h>

#include "bizcal.h"

#define CL_CALENDAR_UTC_OFFSET_S (8 * 3600)

typedef struct cl_calendar {
    cl_bizcal_t cal;       /* cal.days points into days */
    cl_bizcal_day_t *days; /* owned */
} cl_calendar_t;

/* Fills c from hours (columns start_min, end_min: integers, ordered) and days (columns
 * day 'YYYY-MM-DD', kind 'off' | 'work', ordered by day), at those column indexes.
 * CL_OK; CL_EINVAL when a row does not parse or the calendar does not hold together (no
 * working hours: cl_bizcal_check); CL_ENOMEM. On failure c holds nothing to free. */
CL_MUSTCHECK int cl_calendar_from_rows(cl_calendar_t *c, const PGresult *hours, int start_col,
                                       int end_col, const PGresult *days, int day_col,
                                       int kind_col);

void cl_calendar_free(cl_calendar_t *c);

#endif
