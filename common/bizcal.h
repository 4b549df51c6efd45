/* bizcal.h - business time over one company's calendar: the working hours of a working day
 * (up to CL_BIZCAL_SPANS spans, e.g. 09:00-12:00 and 13:00-18:00), the public holidays
 * (days off that would be working days) and the make-up working days (调休: a Saturday or
 * Sunday that is a working day). Any other Monday to Friday is a working day.
 *
 * Instants are UTC seconds since the Unix epoch; the calendar's days and hours are local
 * time, utc_offset_s east of UTC (China: 8 h, no daylight saving). A clock is a budget of
 * business seconds: cl_bizcal_add gives the instant a budget runs out, cl_bizcal_between
 * how much of it an interval used. Both treat a span as half-open [start, end): a clock
 * started at 17:30 with 30 minutes left runs out at 18:00 that day.
 *
 * Pure: no I/O, no allocation, no globals; any thread. The caller owns the cl_bizcal_t and
 * fills it (the daemon from the calendar tables); days[] is sorted by day, no day twice
 * (cl_bizcal_check). */
#ifndef CL_BIZCAL_H
#define CL_BIZCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"

#define CL_BIZCAL_SPANS           4
#define CL_BIZCAL_MAX_SEARCH_DAYS 3700 /* cl_bizcal_add looks this far ahead (ten years) */

typedef enum cl_bizcal_day_kind {
    CL_BIZDAY_OFF = 1,  /* a holiday: no working hours */
    CL_BIZDAY_WORK = 2, /* a make-up working day: the usual working hours */
} cl_bizcal_day_kind_t;

typedef struct cl_bizcal_day {
    int32_t day; /* local days since 1970-01-01 (cl_bizcal_day_of) */
    uint8_t kind;
} cl_bizcal_day_t;

typedef struct cl_bizcal_span {
    int32_t start_s, end_s; /* seconds after local midnight, start < end <= 86400 */
} cl_bizcal_span_t;

typedef struct cl_bizcal {
    int32_t utc_offset_s;
    size_t n_spans; /* sorted, not overlapping */
    cl_bizcal_span_t spans[CL_BIZCAL_SPANS];
    size_t n_days;
    const cl_bizcal_day_t *days; /* sorted by day; not owned */
} cl_bizcal_t;

/* CL_OK, or CL_EINVAL when the spans are not sorted, empty, overlapping or outside the day,
 * the days not sorted or a day listed twice, or a kind unknown. */
CL_MUSTCHECK int cl_bizcal_check(const cl_bizcal_t *cal);

/* The local day number of civil date y-m-d (proleptic Gregorian), and back. */
int32_t cl_bizcal_day_of(int y, int m, int d);
void cl_bizcal_date_of(int32_t day, int *y, int *m, int *d);
/* 1 (Monday) .. 7 (Sunday). */
int cl_bizcal_isodow(int32_t day);

/* Whether day is a working day: its listed kind, else Monday to Friday. */
bool cl_bizcal_is_workday(const cl_bizcal_t *cal, int32_t day);

/* Whether the instant t falls in working hours. */
bool cl_bizcal_is_open(const cl_bizcal_t *cal, int64_t t);

/* t when it falls in working hours, else the start of the next working span; -1 when there
 * is none within CL_BIZCAL_MAX_SEARCH_DAYS (no spans, or every day off). */
int64_t cl_bizcal_next_open(const cl_bizcal_t *cal, int64_t t);

/* The instant the budget of business seconds started at t runs out (t itself for a budget
 * of 0 or less); -1 when it does not within CL_BIZCAL_MAX_SEARCH_DAYS. */
int64_t cl_bizcal_add(const cl_bizcal_t *cal, int64_t t, int64_t budget_s);

/* Business seconds between a and b (0 when b <= a). */
int64_t cl_bizcal_between(const cl_bizcal_t *cal, int64_t a, int64_t b);

#endif
