/* stats_client.c - the statistics and scorecard calls of stats_client.h.
 *
 * A StatsPage is owned by the client library only while on_page runs, so each of its rows
 * is copied out (packed and unpacked: a deep copy with the default allocator, freed by
 * cl_msg_free) into an array that grows by doubling. Single thread. */
#include "stats_client.h"

#include <stdlib.h>
#include <string.h>

typedef struct collect {
    cli_stats_t *s;
    size_t cap; /* slots allocated in s->rows */
} collect_t;

static Closeloop__StatsRow *row_copy(const Closeloop__StatsRow *r) {
    size_t len = closeloop__stats_row__get_packed_size(r);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return NULL;
    closeloop__stats_row__pack(r, buf);
    Closeloop__StatsRow *copy = closeloop__stats_row__unpack(NULL, len, buf);
    free(buf);
    return copy;
}

static int on_page(void *arg, const ProtobufCMessage *m) {
    collect_t *x = arg;
    const Closeloop__StatsPage *pg = (const Closeloop__StatsPage *)m;
    cli_stats_t *s = x->s;
    if (pg->n_rows > x->cap - s->n) {
        size_t cap = x->cap ? x->cap : 64;
        while (cap - s->n < pg->n_rows)
            cap *= 2;
        Closeloop__StatsRow **rows = realloc(s->rows, cap * sizeof *rows);
        if (!rows) return CL_ENOMEM;
        s->rows = rows;
        x->cap = cap;
    }
    for (size_t i = 0; i < pg->n_rows; i++) {
        Closeloop__StatsRow *r = row_copy(pg->rows[i]);
        if (!r) return CL_ENOMEM;
        s->rows[s->n++] = r;
    }
    /* The last frame carries the final word; earlier frames say false. */
    s->truncated = s->truncated || pg->truncated;
    s->data_age_ms = pg->data_age_ms;
    return CL_OK;
}

int cli_stats_fetch(cl_client_t *c, const Closeloop__StatsRequest *req, cli_stats_t *out) {
    memset(out, 0, sizeof *out);
    collect_t x = {.s = out, .cap = 0};
    int rc = cl_client_call_stream(c, CL_MSG_STATS_REQ, &req->base, CL_MSG_STATS_PAGE, on_page, &x);
    if (rc != CL_OK) cli_stats_free(out);
    return rc;
}

void cli_stats_free(cli_stats_t *s) {
    for (size_t i = 0; i < s->n; i++)
        cl_msg_free(&s->rows[i]->base);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

int cli_scorecard_fetch(cl_client_t *c, const Closeloop__ScorecardRequest *req,
                        Closeloop__Scorecard **out) {
    ProtobufCMessage *m = NULL;
    int rc = cl_client_call(c, CL_MSG_SCORECARD_REQ, &req->base, CL_MSG_SCORECARD, &m);
    *out = rc == CL_OK ? (Closeloop__Scorecard *)m : NULL;
    if (rc != CL_OK) cl_msg_free(m);
    return rc;
}

int cli_kpi_fetch(cl_client_t *c, uint16_t type, const Closeloop__KpiRequest *req,
                  Closeloop__KpiReport **out) {
    ProtobufCMessage *m = NULL;
    int rc = cl_client_call(c, type, &req->base, CL_MSG_KPI_REPORT, &m);
    *out = rc == CL_OK ? (Closeloop__KpiReport *)m : NULL;
    if (rc != CL_OK) cl_msg_free(m);
    return rc;
}
