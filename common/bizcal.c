/* bizcal.c - business time over a company's calendar (bizcal.h). Walks local days from
 * an instant, span by span; a day's kind comes from the sorted days[] by binary search.
 * Pure; any thread. */
#include "bizcal.h"

#define DAY_S 86400

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int32_t cl_bizcal_day_of(int y, int m, int d) {
    /* days from the civil date: years counted from March, in 400-year eras */
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void cl_bizcal_date_of(int32_t day, int *y, int *m, int *d) {
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

int cl_bizcal_isodow(int32_t day) {
    /* 1970-01-01 was a Thursday */
    return (int)(((int64_t)day % 7 + 7 + 3) % 7) + 1;
}

int cl_bizcal_check(const cl_bizcal_t *cal) {
    if (!cal || cal->n_spans == 0 || cal->n_spans > CL_BIZCAL_SPANS) return CL_EINVAL;
    for (size_t i = 0; i < cal->n_spans; i++) {
        const cl_bizcal_span_t *s = &cal->spans[i];
        if (s->start_s < 0 || s->start_s >= s->end_s || s->end_s > DAY_S) return CL_EINVAL;
        if (i > 0 && s->start_s < cal->spans[i - 1].end_s) return CL_EINVAL;
    }
    if (cal->n_days > 0 && !cal->days) return CL_EINVAL;
    for (size_t i = 0; i < cal->n_days; i++) {
        if (cal->days[i].kind != CL_BIZDAY_OFF && cal->days[i].kind != CL_BIZDAY_WORK)
            return CL_EINVAL;
        if (i > 0 && cal->days[i].day <= cal->days[i - 1].day) return CL_EINVAL;
    }
    return CL_OK;
}

bool cl_bizcal_is_workday(const cl_bizcal_t *cal, int32_t day) {
    size_t lo = 0, hi = cal->n_days;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < cal->n_days && cal->days[lo].day == day) return cal->days[lo].kind == CL_BIZDAY_WORK;
    return cl_bizcal_isodow(day) <= 5;
}

/* The local day of instant t and its second within that day. */
static int32_t local_day(const cl_bizcal_t *cal, int64_t t, int64_t *sod) {
    int64_t local = t + cal->utc_offset_s;
    int64_t day = floor_div(local, DAY_S);
    *sod = local - day * DAY_S;
    return (int32_t)day;
}

/* The UTC instant of second sod of local day. */
static int64_t instant(const cl_bizcal_t *cal, int32_t day, int64_t sod) {
    return (int64_t)day * DAY_S + sod - cal->utc_offset_s;
}

bool cl_bizcal_is_open(const cl_bizcal_t *cal, int64_t t) {
    int64_t sod;
    int32_t day = local_day(cal, t, &sod);
    if (!cl_bizcal_is_workday(cal, day)) return false;
    for (size_t i = 0; i < cal->n_spans; i++)
        if (sod >= cal->spans[i].start_s && sod < cal->spans[i].end_s) return true;
    return false;
}

/* The instant budget_s business seconds after t have been used (budget 0: the first
 * working instant at or after t); -1 when none within CL_BIZCAL_MAX_SEARCH_DAYS. */
static int64_t walk(const cl_bizcal_t *cal, int64_t t, int64_t budget_s) {
    int64_t sod;
    int32_t day = local_day(cal, t, &sod);
    for (int n = 0; n < CL_BIZCAL_MAX_SEARCH_DAYS; n++, day++, sod = 0) {
        if (!cl_bizcal_is_workday(cal, day)) continue;
        for (size_t i = 0; i < cal->n_spans; i++) {
            const cl_bizcal_span_t *s = &cal->spans[i];
            int64_t from = sod > s->start_s ? sod : s->start_s;
            if (from >= s->end_s) continue;
            if (budget_s <= s->end_s - from) return instant(cal, day, from + budget_s);
            budget_s -= s->end_s - from;
        }
    }
    return -1;
}

int64_t cl_bizcal_next_open(const cl_bizcal_t *cal, int64_t t) {
    return walk(cal, t, 0);
}

int64_t cl_bizcal_add(const cl_bizcal_t *cal, int64_t t, int64_t budget_s) {
    return budget_s <= 0 ? t : walk(cal, t, budget_s);
}

int64_t cl_bizcal_between(const cl_bizcal_t *cal, int64_t a, int64_t b) {
    if (b <= a) return 0;
    int64_t a_sod, b_sod;
    int32_t first = local_day(cal, a, &a_sod);
    int32_t last = local_day(cal, b, &b_sod);
    int64_t used = 0;
    for (int32_t day = first; day <= last; day++) {
        if (!cl_bizcal_is_workday(cal, day)) continue;
        int64_t lo = day == first ? a_sod : 0;
        int64_t hi = day == last ? b_sod : DAY_S;
        for (size_t i = 0; i < cal->n_spans; i++) {
            int64_t from = lo > cal->spans[i].start_s ? lo : cal->spans[i].start_s;
            int64_t to = hi < cal->spans[i].end_s ? hi : cal->spans[i].end_s;
            if (to > from) used += to - from;
        }
    }
    return used;
}
