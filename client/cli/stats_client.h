/* stats_client.h - HQ statistics and contractor scorecards fetched over one client
 * connection, for `cloop stats` and the printed reports (pdf_reports.c).
 *
 * cli_stats_fetch sends a StatsRequest and collects the rows of every StatsPage frame of
 * the streamed answer into one array the caller owns (each row is its own copy, freed by
 * cli_stats_free), with the last frame's truncated flag and data age. cli_scorecard_fetch
 * is one call and one reply. Single thread, blocking, like the client (cloop.h); the
 * server's sentence of a failure is in cl_client_error(c). */
#ifndef CLI_STATS_CLIENT_H
#define CLI_STATS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"
#include "cloop.h" /* msg.h: every wire message */

/* The answer to one StatsRequest. */
typedef struct cli_stats {
    Closeloop__StatsRow **rows; /* n rows in the server's order; each owned (cli_stats_free) */
    size_t n;
    bool truncated;       /* the server had more groups than it sends (docs/STATS.md) */
    uint64_t data_age_ms; /* how far the answering database is behind the primary */
} cli_stats_t;

/* Sends req on c and collects every row of the streamed answer into *out (zeroed first).
 * Returns CL_OK, or the failure's code with *out empty (nothing to free). */
CL_MUSTCHECK int cli_stats_fetch(cl_client_t *c, const Closeloop__StatsRequest *req,
                                 cli_stats_t *out);

/* Frees the rows of s and zeroes it; a zeroed or already freed s is fine. */
void cli_stats_free(cli_stats_t *s);

/* Sends req on c; on CL_OK *out is the Scorecard (free with cl_msg_free), else NULL. */
CL_MUSTCHECK int cli_scorecard_fetch(cl_client_t *c, const Closeloop__ScorecardRequest *req,
                                     Closeloop__Scorecard **out);

/* Sends req as type (CL_MSG_KPI_REQ: the complaint KPIs, CL_MSG_REPAIR_SCORECARD_REQ: the
 * repair-service scorecard); on CL_OK *out is the KpiReport (free with cl_msg_free), else
 * NULL. */
CL_MUSTCHECK int cli_kpi_fetch(cl_client_t *c, uint16_t type, const Closeloop__KpiRequest *req,
                               Closeloop__KpiReport **out);

#endif
