/* calendar.c - a company's business calendar from its database rows (calendar.h). Any
 * thread; c owns the days array it allocates. */
#include "calendar.h"

#include <stdlib.h>
#include <string.h>

#include "sqlutil.h"

int cl_calendar_from_rows(cl_calendar_t *c, const PGresult *hours, int start_col, int end_col,
                          const PGresult *days, int day_col, int kind_col) {
    memset(c, 0, sizeof *c);
    int nh = PQntuples(hours), nd = PQntuples(days);
    if (nh < 1 || nh > CL_BIZCAL_SPANS) return CL_EINVAL;
    c->cal.utc_offset_s = CL_CALENDAR_UTC_OFFSET_S;
    c->cal.n_spans = (size_t)nh;
    for (int i = 0; i < nh; i++) {
        if (cl_sql_isnull(hours, i, start_col) || cl_sql_isnull(hours, i, end_col))
            return CL_EINVAL;
        c->cal.spans[i].start_s = (int32_t)(cl_sql_i64(hours, i, start_col) * 60);
        c->cal.spans[i].end_s = (int32_t)(cl_sql_i64(hours, i, end_col) * 60);
    }
    if (nd > 0) {
        c->days = calloc((size_t)nd, sizeof *c->days);
        if (!c->days) return CL_ENOMEM;
    }
    for (int i = 0; i < nd; i++) {
        const char *day = cl_sql_text(days, i, day_col), *kind = cl_sql_text(days, i, kind_col);
        if (!cl_date_valid(day)) goto bad;
        c->days[i].day = (int32_t)cl_date_days(day);
        if (!strcmp(kind, "off"))
            c->days[i].kind = CL_BIZDAY_OFF;
        else if (!strcmp(kind, "work"))
            c->days[i].kind = CL_BIZDAY_WORK;
        else
            goto bad;
    }
    c->cal.days = c->days;
    c->cal.n_days = (size_t)nd;
    if (cl_bizcal_check(&c->cal) != CL_OK) goto bad;
    return CL_OK;
bad:
    cl_calendar_free(c);
    return CL_EINVAL;
}

void cl_calendar_free(cl_calendar_t *c) {
    free(c->days);
    memset(c, 0, sizeof *c);
}
