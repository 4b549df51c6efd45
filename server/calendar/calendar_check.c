/* calendar_check.c - the daemon's December check of the business calendar
 * (calendar_check.h). A ticker (ticker.h); loop thread; the check is freed by the last of
 * its timer's close and its batch's callback after cl_calendar_check_stop. */
#include "calendar_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bizcal.h"
#include "calendar.h"
#include "cl_sql.h"
#include "db.h"
#include "handler.h"
#include "log.h"
#include "sqlutil.h"
#include "ticker.h"

struct cl_calendar_check {
    cl_ticker_t ticker; /* first: the check's timer and batch in flight */
    char today[11];     /* the day of the batch in flight */
    char logged[11];    /* the last day logged: once a day */
};

#define CHECK_ACTOR "{\"user_id\":null,\"username\":\"closeloopd\",\"purpose\":\"calendar\"}"

void cl_calendar_today(char out[11]) {
    const char *sim = getenv("CLOSELOOP_CALENDAR_TODAY");
    if (sim && cl_date_valid(sim)) {
        snprintf(out, 11, "%s", sim);
        return;
    }
    int64_t local = (int64_t)time(NULL) + CL_CALENDAR_UTC_OFFSET_S;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int y, m, d;
    cl_bizcal_date_of((int32_t)day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

void cl_calendar_warning(char *out, size_t n, int year) {
    char y[16];
    snprintf(y, sizeof y, "%d", year);
    /* The format has one %s, for the year. */
    snprintf(out, n, CL_CALENDAR_WARNING_FMT, y);
}

static void on_checked(void *arg, const cl_db_result_t *r) {
    cl_calendar_check_t *k = arg;
    if (!cl_ticker_landed(&k->ticker)) return;
    if (r->status != CL_OK) {
        cl_log_warn("calendar_check_failed", "error=\"%s\"", r->message);
        cl_ticker_every(&k->ticker, CL_CALENDAR_CHECK_RETRY_MS, CL_CALENDAR_CHECK_INTERVAL_MS);
        return;
    }
    const PGresult *res = r->res[1];
    if (PQntuples(res) != 1 || cl_sql_isnull(res, 0, CL_COL(calendar_check, missing_year)))
        return; /* next year is there, or it is not December */
    if (strcmp(k->logged, k->today) != 0 ||
        !cl_sql_isnull(res, 0, CL_COL(calendar_check, notice_id))) {
        snprintf(k->logged, sizeof k->logged, "%s", k->today);
        cl_log_warn("calendar_year_missing", "year=%s today=%s notice=%s",
                    cl_sql_text(res, 0, CL_COL(calendar_check, missing_year)), k->today,
                    cl_sql_isnull(res, 0, CL_COL(calendar_check, notice_id))
                        ? "already_sent"
                        : cl_sql_text(res, 0, CL_COL(calendar_check, notice_id)));
    }
}

static void check_tick(cl_ticker_t *t) {
    cl_calendar_check_t *k = (cl_calendar_check_t *)t;
    cl_calendar_today(k->today);
    cl_db_batch_t *b = cl_db_batch_new(t->db);
    if (!b ||
        cl_db_batch_add(b, CL_SQL(set_actor), CL_PARAMS(set_actor, CHECK_ACTOR), NULL) != CL_OK ||
        cl_db_batch_add(b, CL_SQL(calendar_check),
                        CL_PARAMS(calendar_check, k->today, CL_CALENDAR_WARNING_FMT),
                        NULL) != CL_OK) {
        cl_db_batch_free(b);
        cl_log_warn("calendar_check_failed", "error=\"out of memory\"");
        return;
    }
    cl_ticker_run(t, b, on_checked);
}

cl_calendar_check_t *cl_calendar_check_start(uv_loop_t *loop, struct cl_db *db) {
    cl_calendar_check_t *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    cl_ticker_init(&k->ticker, loop, db, check_tick, NULL);
    cl_ticker_every(&k->ticker, 0, CL_CALENDAR_CHECK_INTERVAL_MS);
    return k;
}

void cl_calendar_check_stop(cl_calendar_check_t *k) {
    if (k) cl_ticker_stop(&k->ticker);
}
