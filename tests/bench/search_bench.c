/* search_bench.c - latency of one search query, one request at a time on one connection:
 *
 *   daemon  KbSearch for inspection items (`cloop kb search QUERY --items`, 20 best)
 *           through closeloopd: TLS, framing, session, the batch kb_query_check +
 *           kb_search_items, the streamed page
 *   direct  the same two prepared statements with the same parameters, sent straight to
 *           PostgreSQL with libpq (what the daemon adds is the difference)
 *   match   every match through the GIN index, unranked:
 *           SELECT count(*) ... WHERE search @@ cl_search_query($1)
 *   like    every match by a plain scan: SELECT count(*) ... WHERE description LIKE
 *           '%' || $1 || '%'
 *   like-top  the LIKE equivalent of a page: the 20 newest items whose location or
 *           description holds the word (a plain scan, then a top-20 sort)
 *
 * usage: search_bench --mode M --query Q [--runs N] (--server H:P --ca F --user U
 *        --password P | --conninfo C)
 * Warms up with 3 requests, then prints one line: mode, query, runs, rows of the last
 * answer, p50/p99/max/mean in ms. Bench-only code: it trusts its arguments. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bench_util.h"
#include "cl_sql.h"
#include "cloop.h"
#include "msg.h"

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int count_page(void *arg, const ProtobufCMessage *page) {
    *(size_t *)arg += ((const Closeloop__KbItemHitPage *)page)->n_items;
    return 0;
}

#define LIKE_TOP_SQL                                                                               \
    "SELECT id FROM inspection_items WHERE location LIKE '%' || $1::text || '%' "                  \
    "OR description LIKE '%' || $1::text || '%' ORDER BY inspected_on DESC, id LIMIT 20"
static const char *const plain_sql[] = {
    "SELECT count(*) FROM inspection_items WHERE search @@ cl_search_query($1::text)",
    "SELECT count(*) FROM inspection_items WHERE description LIKE '%' || $1::text || '%'",
    LIKE_TOP_SQL,
};

int main(int argc, char **argv) {
    const char *mode = "daemon", *query = NULL, *server = NULL, *ca = NULL, *user = NULL,
               *password = NULL, *conninfo = NULL;
    int runs = 50;
    static const struct option opts[] = {
        {"mode", 1, 0, 'm'},     {"query", 1, 0, 'q'},    {"runs", 1, 0, 'n'},
        {"server", 1, 0, 's'},   {"ca", 1, 0, 'a'},       {"user", 1, 0, 'u'},
        {"password", 1, 0, 'p'}, {"conninfo", 1, 0, 'c'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'm': mode = optarg; break;
        case 'q': query = optarg; break;
        case 'n': runs = atoi(optarg); break;
        case 's': server = optarg; break;
        case 'a': ca = optarg; break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'c': conninfo = optarg; break;
        default: fprintf(stderr, "search_bench: see tests/bench/search_bench.c\n"); return 2;
        }
    }
    bool daemon = !strcmp(mode, "daemon"), direct = !strcmp(mode, "direct");
    int plain = !strcmp(mode, "match")      ? 0
                : !strcmp(mode, "like")     ? 1
                : !strcmp(mode, "like-top") ? 2
                                            : -1;
    if (!query || runs < 1 || (!daemon && !direct && plain < 0) ||
        (daemon && (!server || !ca || !user || !password)) || (!daemon && !conninfo)) {
        fprintf(stderr, "search_bench: see tests/bench/search_bench.c\n");
        return 2;
    }
    cl_client_t *c = NULL;
    PGconn *pg = NULL;
    if (daemon) {
        char host[256], err[256];
        uint16_t port = CL_DEFAULT_PORT;
        if (cl_parse_server(server, host, sizeof host, &port) != CL_OK) return 2;
        cl_client_opts_t co = {.host = host, .port = port, .ca_file = ca, .timeout_ms = 600000};
        ProtobufCMessage *reply = NULL;
        if (cl_client_connect(&co, &c, err, sizeof err) != CL_OK ||
            cl_client_login(c, user, password, &reply) != CL_OK) {
            fprintf(stderr, "search_bench: login: %s\n", c ? cl_client_error(c) : err);
            return 1;
        }
        cl_msg_free(reply);
    } else {
        pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK) {
            fprintf(stderr, "search_bench: %s", PQerrorMessage(pg));
            return 1;
        }
        if (direct) {
            int ids[2] = {CL_SQL(kb_query_check), CL_SQL(kb_search_items)};
            for (int k = 0; k < 2; k++)
                PQclear(
                    PQprepare(pg, cl_sql_stmts[ids[k]].name, cl_sql_stmts[ids[k]].sql, 0, NULL));
        } else {
            PQclear(PQprepare(pg, "plain", plain_sql[plain], 0, NULL));
        }
    }
    uint64_t *lat = calloc((size_t)runs, sizeof *lat);
    size_t rows = 0;
    int errors = 0;
    for (int i = -3; i < runs; i++) {
        uint64_t t0 = now_ns();
        rows = 0;
        if (daemon) {
            Closeloop__KbSearch req = CLOSELOOP__KB_SEARCH__INIT;
            req.query = (char *)query;
            req.limit = 20;
            if (cl_client_call_stream(c, CL_MSG_KB_ITEM_SEARCH_REQ, &req.base,
                                      CL_MSG_KB_ITEM_HIT_PAGE, count_page, &rows) != CL_OK) {
                if (!errors++) fprintf(stderr, "search_bench: %s\n", cl_client_error(c));
            }
        } else if (direct) {
            const char *p1[1] = {query};
            /* the scope of an HQ administrator, as the daemon passes it (every project) */
            const char *p2[9] = {query, "", "", "0", "20", "hq_admin", NULL, NULL, NULL};
            PGresult *a = PQexecPrepared(pg, "kb_query_check", 1, p1, NULL, NULL, 0);
            PGresult *b = PQexecPrepared(pg, "kb_search_items", 9, p2, NULL, NULL, 0);
            if (PQresultStatus(a) != PGRES_TUPLES_OK || PQresultStatus(b) != PGRES_TUPLES_OK) {
                if (!errors++) fprintf(stderr, "search_bench: %s", PQerrorMessage(pg));
            } else {
                rows = (size_t)PQntuples(b);
            }
            PQclear(a);
            PQclear(b);
        } else {
            const char *p[1] = {query};
            PGresult *r = PQexecPrepared(pg, "plain", 1, p, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                if (!errors++) fprintf(stderr, "search_bench: %s", PQerrorMessage(pg));
            } else {
                rows = plain == 2 ? (size_t)PQntuples(r) : (size_t)atoll(PQgetvalue(r, 0, 0));
            }
            PQclear(r);
        }
        if (i >= 0) lat[i] = now_ns() - t0;
    }
    uint64_t sum = 0;
    for (int i = 0; i < runs; i++)
        sum += lat[i];
    qsort(lat, (size_t)runs, sizeof *lat, cmp_u64);
#define PCT(p) ((double)lat[(size_t)((double)(runs - 1) * (p))] / 1e6)
    printf("mode=%-8s query=%s runs=%d rows=%zu p50=%.2fms p99=%.2fms max=%.2fms "
           "mean=%.2fms errors=%d\n",
           mode, query, runs, rows, PCT(0.5), PCT(0.99), PCT(1.0), (double)sum / runs / 1e6,
           errors);
    free(lat);
    if (c) cl_client_close(c);
    if (pg) PQfinish(pg);
    return errors ? 1 : 0;
}
