/* kpi.c - the KPIs of a month per city company (issue 12 point 8): the complaint KPIs
 * (MSG_KPI_REQ) and the repair-service scorecard (MSG_REPAIR_SCORECARD_REQ), both
 * KpiRequest -> KpiReport. The figures are migration 027's SQL functions (docs/STATS.md);
 * kpi.sql turns each company's row into one row per figure, ordered by company, so this
 * file only checks the request, runs one read on the analytics pool and groups the rows
 * into KpiRow messages. Authorization is the operation `stats`; the scope (which projects
 * count) is the session's, applied by the SQL.
 *
 * Runs on the loop thread. The reply's strings point into the PGresult; the arrays of
 * messages are malloc'd in the db callback and freed there with the call after replying. */
#include "dispatch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_sql.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"

#define KPI_FRAME_SLACK 256 /* frame bytes kept free for the report's own fields */

typedef Closeloop__KpiRequest pb_kpi_req_t;
typedef Closeloop__KpiFigure pb_fig_t;
typedef Closeloop__KpiRow pb_kpi_row_t;
typedef Closeloop__Figure pb_figure_t;

/* The columns of kpi_complaint; kpi_repair has the same at the same positions (asserted
 * here at compile time), so one reader serves both. */
#define KC(col)           CL_COL(kpi_complaint, col)
#define KPI_SAME_COL(col) _Static_assert((int)KC(col) == (int)CL_COL(kpi_repair, col), #col)
KPI_SAME_COL(company_id);
KPI_SAME_COL(company_name);
KPI_SAME_COL(section);
KPI_SAME_COL(name);
KPI_SAME_COL(value);
KPI_SAME_COL(target);
KPI_SAME_COL(strict);
KPI_SAME_COL(met);

/* The figure in column col, or NULL when the column is NULL. */
static pb_figure_t *figure_at(pb_figure_t *f, const PGresult *res, int row, int col) {
    if (cl_sql_isnull(res, row, col)) return NULL;
    closeloop__figure__init(f);
    f->value = strtod(PQgetvalue(res, row, col), NULL);
    return f;
}

/* Whether result row `row` starts a KpiRow: the first, or another company or section than
 * the row before (the statements order by them). */
static bool row_starts(const PGresult *res, int row) {
    return row == 0 ||
           cl_sql_i64(res, row, KC(company_id)) != cl_sql_i64(res, row - 1, KC(company_id)) ||
           strcmp(cl_sql_text(res, row, KC(section)), cl_sql_text(res, row - 1, KC(section))) != 0;
}

static void kpi_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const pb_kpi_req_t *m = (const pb_kpi_req_t *)c->req->msg;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (!res) {
        cl_call_free(c);
        return;
    }
    size_t n = (size_t)PQntuples(res), nrows = 0;
    for (size_t i = 0; i < n; i++)
        if (row_starts(res, (int)i)) nrows++;
    pb_fig_t *figs = calloc(n + 1, sizeof *figs);
    pb_fig_t **figp = calloc(n + 1, sizeof *figp);
    pb_figure_t *vals = calloc(2 * n + 1, sizeof *vals);
    pb_kpi_row_t *rows = calloc(nrows + 1, sizeof *rows);
    pb_kpi_row_t **rowp = calloc(nrows + 1, sizeof *rowp);
    if (!figs || !figp || !vals || !rows || !rowp) {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        if (row_starts(res, row)) {
            pb_kpi_row_t *kr = &rows[k];
            closeloop__kpi_row__init(kr);
            kr->company_id = cl_sql_i64(res, row, KC(company_id));
            kr->company_name = (char *)cl_sql_text(res, row, KC(company_name));
            kr->section = (char *)cl_sql_text(res, row, KC(section));
            kr->figures = &figp[i];
            rowp[k++] = kr;
        }
        pb_fig_t *f = &figs[i];
        closeloop__kpi_figure__init(f);
        f->name = (char *)cl_sql_text(res, row, KC(name));
        f->value = figure_at(&vals[2 * i], res, row, KC(value));
        f->target = figure_at(&vals[2 * i + 1], res, row, KC(target));
        f->strict = !cl_sql_isnull(res, row, KC(strict)) &&
                    strcmp(cl_sql_text(res, row, KC(strict)), "t") == 0;
        f->met =
            !cl_sql_isnull(res, row, KC(met)) && strcmp(cl_sql_text(res, row, KC(met)), "t") == 0;
        figp[i] = f;
        rows[k - 1].n_figures++;
    }
    Closeloop__KpiReport rep = CLOSELOOP__KPI_REPORT__INIT;
    rep.month = m->month;
    if (n > 0 && cl_sql_isnull(res, 0, KC(company_id))) { /* no company: the columns */
        rep.n_columns = n;
        rep.columns = figp;
    } else {
        rep.n_rows = nrows;
        rep.rows = nrows ? rowp : NULL;
    }
    if (protobuf_c_message_get_packed_size(&rep.base) + KPI_FRAME_SLACK >
        cl_req_config(c->req)->max_frame)
        cl_req_fail(c->req, CL_EINVAL,
                    "the report has %zu companies, more than one reply holds: name a company",
                    nrows);
    else
        cl_req_reply(c->req, CL_MSG_KPI_REPORT, &rep.base);
out:
    free(figs);
    free(figp);
    free(vals);
    free(rows);
    free(rowp);
    cl_call_free(c);
}

/* Checks the month (YYYY-MM, into first: its first day) and the company filter. */
static CL_MUSTCHECK bool kpi_check(cl_req_t *req, const pb_kpi_req_t *m, char first[16]) {
    if (!m->month || strlen(m->month) != 7 ||
        (snprintf(first, 16, "%s-01", m->month), !cl_date_valid(first))) {
        cl_req_fail(req, CL_EINVAL, "month must be written YYYY-MM");
        return false;
    }
    if (m->company_id < 0) {
        cl_req_fail(req, CL_EINVAL, "company_id must be 0 (every company) or a record id");
        return false;
    }
    return true;
}

/* Runs kpi.sql's complaint KPIs or (repair) its scorecard: the same parameters and
 * columns. */
static void kpi_run(cl_req_t *req, bool repair) {
    const pb_kpi_req_t *m = (const pb_kpi_req_t *)req->msg;
    char first[16];
    if (!kpi_check(req, m, first)) return;
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->analytics = true;
    char company[24];
    cl_sql_int_param(company, m->company_id);
    cl_call_stmt_t st[] = {
        repair ? CL_STMT(kpi_repair, CL_CALL_SCOPE(c), company, first)
               : CL_STMT(kpi_complaint, CL_CALL_SCOPE(c), company, first),
    };
    cl_call_run(c, false, st, 1, kpi_done);
}

void cl_stats_kpi(cl_req_t *req) {
    kpi_run(req, false);
}

void cl_stats_repair_scorecard(cl_req_t *req) {
    kpi_run(req, true);
}
