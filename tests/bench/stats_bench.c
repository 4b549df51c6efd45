/* stats_bench.c - latency of HQ statistics (issue 11): each documented query run through
 * closeloopd (one TLS connection, logged in as an hq_analyst; a StatsRequest answered by
 * streamed StatsPage frames, or a ScorecardRequest), then the same query straight to
 * PostgreSQL through libpq twice: cl_stats / cl_scorecard from the summaries (what the
 * daemon runs) and with p_raw => true (computed from the base tables), all in one run.
 *
 * Per query and way: one warm-up call not counted (raw: none, its calls being long), then
 * -n calls (--raw-runs for raw, each cut at --raw-timeout-s seconds and then shown as
 * "> N s"),
 * each timed from sending to the last row received, stopping early once a way has used
 * --budget-s seconds on a query (at least 3 calls); p50 and p99 (nearest rank; with few
 * runs the p99 is the maximum) and the calls made. The groups each way returned are printed, and
 * whether the summaries' rows equal the raw rows cell by cell (the first raw answer against the
 * first summary answer). Output: a Markdown table, one line per query. The queries, their periods
 * and the ids they filter by come from stats_bench.sh. Single thread; bench-only code: it trusts
 * its arguments, and every error ends the run.
 *
 *   stats_bench --server HOST:PORT --ca FILE --user NAME --conninfo STR
 *               --year-from D --year-to D --month-from D --month-to D --month YYYY-MM
 *               --company ID --project ID --contractor ID [-n RUNS] [--raw-runs RUNS]
 *               [--budget-s SECONDS] [--raw-timeout-s SECONDS]
 *               (password: $CLOSELOOP_PASSWORD) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bench_util.h"
#include "cloop.h"
#include "stats_client.h"

static void die(const char *what, const char *why) {
    fprintf(stderr, "stats_bench: %s: %s\n", what, why);
    exit(1);
}

/* One documented query: a filter and up to two dimensions, or a scorecard. Periods and
 * ids are symbolic, filled in from the options. */
enum period { ALL_TIME, YEAR, MONTH };
typedef struct query {
    const char *what;
    enum period period;
    int company, project, contractor; /* 1: filter by the --company/--project/--contractor */
    const char *category, *layout, *round;
    Closeloop__StatsDim g1, g2;
    int scorecard;     /* 1: cl_scorecard for --month */
    const char *trade; /* scorecard: "" every trade */
} query_t;

#define D(x) CLOSELOOP__STATS_DIM__STATS_DIM_##x
static const query_t queries[] = {
    {"whole group, all time, no grouping", ALL_TIME, 0, 0, 0, "", "", "", D(NONE), D(NONE), 0, ""},
    {"by company x month, 12 months", YEAR, 0, 0, 0, "", "", "", D(COMPANY), D(MONTH), 0, ""},
    {"by project, 12 months", YEAR, 0, 0, 0, "", "", "", D(PROJECT), D(NONE), 0, ""},
    {"by contractor, one month", MONTH, 0, 0, 0, "", "", "", D(CONTRACTOR), D(NONE), 0, ""},
    {"by category x layout, 12 months", YEAR, 0, 0, 0, "", "", "", D(CATEGORY), D(LAYOUT), 0, ""},
    {"by round, all time", ALL_TIME, 0, 0, 0, "", "", "", D(ROUND), D(NONE), 0, ""},
    {"by week, 12 months", YEAR, 0, 0, 0, "", "", "", D(WEEK), D(NONE), 0, ""},
    {"by contractor x month, 12 months", YEAR, 0, 0, 0, "", "", "", D(CONTRACTOR), D(MONTH), 0, ""},
    {"company filter, by project x month, 12 months", YEAR, 1, 0, 0, "", "", "", D(PROJECT),
     D(MONTH), 0, ""},
    {"project filter, by category, 12 months", YEAR, 0, 1, 0, "", "", "", D(CATEGORY), D(NONE), 0,
     ""},
    {"contractor filter, by month, 12 months", YEAR, 0, 0, 1, "", "", "", D(MONTH), D(NONE), 0, ""},
    {"waterproofing + layout TA + round handover, by project", ALL_TIME, 0, 0, 0, "waterproofing",
     "TA", "handover", D(PROJECT), D(NONE), 0, ""},
    {"scorecard, one month, every trade", MONTH, 0, 0, 0, "", "", "", D(NONE), D(NONE), 1, ""},
    {"scorecard, one month, company + waterproofing", MONTH, 1, 0, 0, "", "", "", D(NONE), D(NONE),
     1, "waterproofing"},
};

static const char *dim_name(Closeloop__StatsDim d) {
    switch (d) {
    case D(COMPANY): return "company";
    case D(PROJECT): return "project";
    case D(CONTRACTOR): return "contractor";
    case D(CATEGORY): return "category";
    case D(LAYOUT): return "layout";
    case D(ROUND): return "round";
    case D(MONTH): return "month";
    case D(WEEK): return "week";
    default: return "";
    }
}

typedef struct args {
    const char *year_from, *year_to, *month_from, *month_to, *month;
    int64_t company, project, contractor;
} args_t;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* "p50 | p99" in ms of v[0..n) (sorted here). */
static void quantiles(uint64_t *v, size_t n, char *out, size_t len) {
    qsort(v, n, sizeof *v, cmp_u64);
    size_t p99 = (n * 99 + 99) / 100;
    snprintf(out, len, "%.0f | %.0f", v[n / 2] / 1e6, v[(p99 ? p99 : 1) - 1] / 1e6);
}

/* Whether another call fits: fewer than max made, and under the budget or fewer than 3. */
static uint64_t budget_ns;
static int more(size_t made, size_t max, uint64_t started) {
    return made < max && (made < 3 || now_ns() - started < budget_ns);
}

/* Through the daemon: the groups answered. */
static size_t via_daemon(cl_client_t *c, const query_t *q, const args_t *a) {
    if (q->scorecard) {
        Closeloop__ScorecardRequest r = CLOSELOOP__SCORECARD_REQUEST__INIT;
        r.month = (char *)a->month;
        r.company_id = q->company ? a->company : 0;
        r.trade = (char *)q->trade;
        Closeloop__Scorecard *s = NULL;
        if (cli_scorecard_fetch(c, &r, &s) != CL_OK) die(q->what, cl_client_error(c));
        size_t n = s->n_rows;
        cl_msg_free(&s->base);
        return n;
    }
    Closeloop__StatsFilter f = CLOSELOOP__STATS_FILTER__INIT;
    f.company_id = q->company ? a->company : 0;
    f.project_id = q->project ? a->project : 0;
    f.contractor_id = q->contractor ? a->contractor : 0;
    f.category = (char *)q->category;
    f.layout = (char *)q->layout;
    f.round = (char *)q->round;
    f.from = (char *)(q->period == YEAR ? a->year_from : q->period == MONTH ? a->month_from : "");
    f.to = (char *)(q->period == YEAR ? a->year_to : q->period == MONTH ? a->month_to : "");
    Closeloop__StatsDim dims[2];
    size_t nd = 0;
    if (q->g1 != D(NONE)) dims[nd++] = q->g1;
    if (q->g2 != D(NONE)) dims[nd++] = q->g2;
    Closeloop__StatsRequest r = CLOSELOOP__STATS_REQUEST__INIT;
    r.filter = &f;
    r.group_by = dims;
    r.n_group_by = nd;
    cli_stats_t s;
    if (cli_stats_fetch(c, &r, &s) != CL_OK) die(q->what, cl_client_error(c));
    if (s.truncated) die(q->what, "the answer was truncated");
    size_t n = s.n;
    cli_stats_free(&s);
    return n;
}

/* Straight to PostgreSQL, from the summaries or raw: the result (caller clears); NULL when
 * the statement timeout cut it. */
static PGresult *via_sql(PGconn *pg, const query_t *q, const args_t *a, int raw) {
    char company[24], project[24], contractor[24];
    snprintf(company, sizeof company, "%" PRId64, q->company ? a->company : 0);
    snprintf(project, sizeof project, "%" PRId64, q->project ? a->project : 0);
    snprintf(contractor, sizeof contractor, "%" PRId64, q->contractor ? a->contractor : 0);
    const char *from = q->period == YEAR ? a->year_from : q->period == MONTH ? a->month_from : NULL;
    const char *to = q->period == YEAR ? a->year_to : q->period == MONTH ? a->month_to : NULL;
    PGresult *r;
    if (q->scorecard) {
        const char *p[4] = {company, q->trade, a->month_from, raw ? "true" : "false"};
        r = PQexecParams(pg,
                         "SELECT * FROM cl_scorecard('hq_analyst', 0, 0, NULL, $1::bigint, $2, "
                         "$3::date, $4::boolean)",
                         4, NULL, p, NULL, NULL, 0);
    } else {
        const char *p[11] = {company,
                             project,
                             contractor,
                             q->category,
                             q->layout,
                             q->round,
                             from,
                             to,
                             dim_name(q->g1),
                             dim_name(q->g2),
                             raw ? "true" : "false"};
        r = PQexecParams(pg,
                         "SELECT * FROM cl_stats('hq_analyst', 0, 0, NULL, $1::bigint, $2::bigint, "
                         "$3::bigint, $4, $5, $6, $7::date, $8::date, $9, $10, $11::boolean)",
                         11, NULL, p, NULL, NULL, 0);
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && !strcmp(state, "57014")) {
            PQclear(r);
            return NULL;
        }
        die(q->what, PQerrorMessage(pg));
    }
    return r;
}

/* Whether two results are equal cell by cell. */
static int same_rows(const PGresult *x, const PGresult *y) {
    if (PQntuples(x) != PQntuples(y) || PQnfields(x) != PQnfields(y)) return 0;
    for (int i = 0; i < PQntuples(x); i++)
        for (int j = 0; j < PQnfields(x); j++)
            if (PQgetisnull(x, i, j) != PQgetisnull(y, i, j) ||
                strcmp(PQgetvalue(x, i, j), PQgetvalue(y, i, j)))
                return 0;
    return 1;
}

int main(int argc, char **argv) {
    const char *server = opt(argc, argv, "--server", NULL), *ca = opt(argc, argv, "--ca", NULL);
    const char *user = opt(argc, argv, "--user", NULL);
    const char *conninfo = opt(argc, argv, "--conninfo", NULL);
    const char *password = getenv("CLOSELOOP_PASSWORD");
    size_t runs = strtoul(opt(argc, argv, "-n", "30"), NULL, 10);
    size_t raw_runs = strtoul(opt(argc, argv, "--raw-runs", "5"), NULL, 10);
    budget_ns = strtoull(opt(argc, argv, "--budget-s", "60"), NULL, 10) * 1000000000u;
    unsigned long raw_timeout_s = strtoul(opt(argc, argv, "--raw-timeout-s", "600"), NULL, 10);
    args_t a = {
        .year_from = opt(argc, argv, "--year-from", NULL),
        .year_to = opt(argc, argv, "--year-to", NULL),
        .month_from = opt(argc, argv, "--month-from", NULL),
        .month_to = opt(argc, argv, "--month-to", NULL),
        .month = opt(argc, argv, "--month", NULL),
        .company = strtoll(opt(argc, argv, "--company", "0"), NULL, 10),
        .project = strtoll(opt(argc, argv, "--project", "0"), NULL, 10),
        .contractor = strtoll(opt(argc, argv, "--contractor", "0"), NULL, 10),
    };
    if (!server || !ca || !user || !conninfo || !password || !runs || !raw_runs || !a.year_from ||
        !a.year_to || !a.month_from || !a.month_to || !a.month || !a.company || !a.project ||
        !a.contractor) {
        fprintf(stderr, "usage: stats_bench --server HOST:PORT --ca FILE --user NAME --conninfo "
                        "STR --year-from D --year-to D --month-from D --month-to D --month "
                        "YYYY-MM --company ID --project ID --contractor ID [-n RUNS] "
                        "[--raw-runs RUNS] [--budget-s SECONDS] [--raw-timeout-s SECONDS]\n");
        return 2;
    }
    char host[256], err[256];
    uint16_t port = CL_DEFAULT_PORT;
    if (cl_parse_server(server, host, sizeof host, &port) != CL_OK) return 2;
    cl_client_opts_t o = {.host = host, .port = port, .ca_file = ca, .timeout_ms = 600000};
    cl_client_t *c = NULL;
    if (cl_client_connect(&o, &c, err, sizeof err) != CL_OK) die("connect", err);
    ProtobufCMessage *m = NULL;
    if (cl_client_login(c, user, password, &m) != CL_OK) die("login", cl_client_error(c));
    cl_msg_free(m);
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) die("libpq", PQerrorMessage(pg));
    /* raw: a connection of its own, with the statement timeout */
    char rawinfo[1024];
    snprintf(rawinfo, sizeof rawinfo, "%s options='-c statement_timeout=%lu'", conninfo,
             raw_timeout_s * 1000);
    PGconn *pgraw = PQconnectdb(rawinfo);
    if (PQstatus(pgraw) != CONNECTION_OK) die("libpq", PQerrorMessage(pgraw));

    uint64_t *t = calloc(runs > raw_runs ? runs : raw_runs, sizeof *t);
    if (!t) die("memory", "calloc");
    printf("| query | groups | daemon p50 | daemon p99 | SQL summaries p50 | p99 | raw p50 | "
           "raw p99 | calls | raw = summaries |\n"
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    fflush(stdout);
    for (size_t qi = 0; qi < sizeof queries / sizeof *queries; qi++) {
        const query_t *q = &queries[qi];
        char daemon[64], summary[64], raw[64];
        size_t groups = via_daemon(c, q, &a); /* warm-up */
        size_t nd = 0, ns = 0, nr = 0;
        uint64_t start = now_ns();
        while (more(nd, runs, start)) {
            uint64_t t0 = now_ns();
            if (via_daemon(c, q, &a) != groups) die(q->what, "the daemon's group count changed");
            t[nd++] = now_ns() - t0;
        }
        quantiles(t, nd, daemon, sizeof daemon);
        PGresult *first = via_sql(pg, q, &a, 0); /* warm-up, kept for the comparison */
        start = now_ns();
        while (more(ns, runs, start)) {
            uint64_t t0 = now_ns();
            PQclear(via_sql(pg, q, &a, 0));
            t[ns++] = now_ns() - t0;
        }
        quantiles(t, ns, summary, sizeof summary);
        PGresult *rawfirst = NULL;
        int cut = 0;
        start = now_ns();
        while (!cut && more(nr, raw_runs, start)) {
            uint64_t t0 = now_ns();
            PGresult *r = via_sql(pgraw, q, &a, 1);
            if (!r) {
                cut = 1;
                break;
            }
            t[nr++] = now_ns() - t0;
            if (!rawfirst)
                rawfirst = r;
            else
                PQclear(r);
        }
        if (nr)
            quantiles(t, nr, raw, sizeof raw);
        else
            snprintf(raw, sizeof raw, "> %lu s | > %lu s", raw_timeout_s, raw_timeout_s);
        int same = rawfirst && same_rows(first, rawfirst);
        printf("| %s | %zu | %s | %s | %s | %zu/%zu/%zu | %s |\n", q->what, groups, daemon, summary,
               raw, nd, ns, nr,
               !rawfirst                            ? "not compared (raw cut)"
               : same                               ? "yes"
               : (size_t)PQntuples(first) == groups ? "NO (values differ)"
                                                    : "NO (groups differ)");
        fflush(stdout);
        PQclear(first);
        if (rawfirst) PQclear(rawfirst);
    }
    free(t);
    PQfinish(pg);
    PQfinish(pgraw);
    cl_client_close(c);
    return 0;
}
