/* item_bench.c - load generator for the repair loop's hot paths, over N connections.
 *
 *   record         ItemBatch requests of one item each through closeloopd (TLS, framing,
 *                  session, validation, one database batch), as fast as they are accepted
 *   record-direct  the same prepared statements (set_actor, insp_item_record)
 *                  with the same parameters, sent straight to PostgreSQL
 *                  with libpq as one pipeline and one Sync per item: what the daemon's
 *                  design can reach at most (a pgbench equivalent; pgbench itself cannot
 *                  produce a fresh UUID array per transaction without an extra round trip)
 *   todo           TodoListRequest for one contractor through closeloopd (streamed pages)
 *
 * Prints one line: mode, connections, requests, errors, rate, p50/p99/max in ms. Each
 * connection has one request in flight; the run stops after --seconds. Bench-only code:
 * it trusts its arguments. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#include "bench_util.h"
#include "cl_sql.h"
#include "cloop.h"
#include "sqlutil.h"

typedef struct bench_opts {
    const char *mode, *server, *ca, *user, *password, *conninfo, *units_file;
    int conns, seconds;
    int64_t project, contractor, user_id;
} bench_opts_t;

typedef struct worker {
    const bench_opts_t *o;
    const char *token;
    char **units;
    size_t nunits;
    int idx;
    uint64_t *lat; /* ns per request */
    size_t nlat, cap;
    uint64_t errors, items;
    char err[256];
} worker_t;

static void uuid4(char out[37]) {
    unsigned char b[16];
    RAND_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void record_latency(worker_t *w, uint64_t ns) {
    if (w->nlat == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4096;
        w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
    }
    w->lat[w->nlat++] = ns;
}

static const char *today(char buf[11]) {
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
    return buf;
}

static cl_client_t *connect_resume(worker_t *w) {
    char host[256], err[256];
    uint16_t port = CL_DEFAULT_PORT;
    if (cl_parse_server(w->o->server, host, sizeof host, &port) != CL_OK) return NULL;
    cl_client_opts_t co = {.host = host, .port = port, .ca_file = w->o->ca, .timeout_ms = 30000};
    cl_client_t *c = NULL;
    if (cl_client_connect(&co, &c, err, sizeof err) != CL_OK) {
        snprintf(w->err, sizeof w->err, "%s", err);
        return NULL;
    }
    ProtobufCMessage *me = NULL;
    if (cl_client_resume(c, w->token, &me) != CL_OK) {
        snprintf(w->err, sizeof w->err, "resume: %s", cl_client_error(c));
        cl_client_close(c);
        return NULL;
    }
    cl_msg_free(me);
    return c;
}

static void *record_worker(void *arg) {
    worker_t *w = arg;
    cl_client_t *c = connect_resume(w);
    if (!c) return NULL;
    char date[11], id[37], desc[64];
    today(date);
    uint64_t end = now_ns() + (uint64_t)w->o->seconds * 1000000000u;
    for (uint64_t n = 0; now_ns() < end; n++) {
        cl_pb_item_t it = CLOSELOOP__ITEM__INIT;
        uuid4(id);
        snprintf(desc, sizeof desc, "卫生间地面渗水 bench %d-%" PRIu64, w->idx, n);
        it.item_id = id;
        it.project_id = w->o->project;
        it.unit = w->units[(n * 7919 + (uint64_t)w->idx) % w->nunits];
        it.round = CLOSELOOP__ROUND_KIND__ROUND_HANDOVER;
        it.inspected_on = date;
        it.inspector = "bench";
        it.location = "卫生间";
        it.category = "waterproofing";
        it.description = desc;
        it.severity = CLOSELOOP__SEVERITY__SEVERITY_MINOR;
        cl_pb_item_t *items[] = {&it};
        cl_pb_item_batch_t batch = CLOSELOOP__ITEM_BATCH__INIT;
        batch.n_items = 1;
        batch.items = items;
        ProtobufCMessage *reply = NULL;
        uint64_t t0 = now_ns();
        int rc = cl_client_call(c, CL_MSG_ITEM_RECORD_REQ, &batch.base, CL_MSG_ITEM_BATCH_RESULT,
                                &reply);
        uint64_t t1 = now_ns();
        if (rc == CL_OK && ((cl_pb_item_batch_result_t *)reply)->inserted == 1) {
            record_latency(w, t1 - t0);
            w->items++;
        } else {
            if (!w->errors) snprintf(w->err, sizeof w->err, "%s", cl_client_error(c));
            w->errors++;
        }
        cl_msg_free(reply);
    }
    cl_client_close(c);
    return NULL;
}

static int count_page(void *arg, const ProtobufCMessage *page) {
    *(uint64_t *)arg += ((const cl_pb_ticket_page_t *)page)->n_items;
    return 0;
}

static void *todo_worker(void *arg) {
    worker_t *w = arg;
    cl_client_t *c = connect_resume(w);
    if (!c) return NULL;
    uint64_t end = now_ns() + (uint64_t)w->o->seconds * 1000000000u;
    while (now_ns() < end) {
        cl_pb_todo_list_req_t req = CLOSELOOP__TODO_LIST_REQUEST__INIT;
        req.contractor_id = w->o->contractor;
        uint64_t rows = 0, t0 = now_ns();
        int rc = cl_client_call_stream(c, CL_MSG_TODO_LIST_REQ, &req.base, CL_MSG_TICKET_PAGE,
                                       count_page, &rows);
        uint64_t t1 = now_ns();
        if (rc == CL_OK) {
            record_latency(w, t1 - t0);
            w->items = rows; /* the list's length */
        } else {
            if (!w->errors) snprintf(w->err, sizeof w->err, "%s", cl_client_error(c));
            w->errors++;
        }
    }
    cl_client_close(c);
    return NULL;
}

/* Prepares statement id as the daemon's pool does (server/engine/db.c). */
static void direct_prepare(PGconn *pg, int id) {
    const cl_db_stmt_t *st = &cl_sql_stmts[id];
    PQclear(PQprepare(pg, st->name, st->sql, 0, NULL));
}

/* Sends statement id with its parameters, the @binary ones with their lengths. */
static void direct_send(PGconn *pg, int id, const char *const *p, const int *lengths) {
    const cl_db_stmt_t *st = &cl_sql_stmts[id];
    int formats[64] = {0};
    for (int k = 0; k < st->nparams; k++)
        formats[k] = (st->binary_params >> k) & 1;
    PQsendQueryPrepared(pg, st->name, st->nparams, p, lengths, formats, st->binary_result);
}

/* Reads results up to the Sync; 0 when every statement succeeded. */
static int direct_drain(PGconn *pg, char *err, size_t errlen) {
    int failed = 0;
    for (;;) {
        PGresult *r = PQgetResult(pg);
        if (!r) continue;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            return failed;
        }
        if (st == PGRES_FATAL_ERROR && !failed) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
            failed = 1;
        }
        PQclear(r);
    }
}

static void *record_direct_worker(void *arg) {
    worker_t *w = arg;
    PGconn *pg = PQconnectdb(w->o->conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(w->err, sizeof w->err, "%s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    /* The daemon's connection settings. */
    PQclear(PQexec(pg, "SET plan_cache_mode = force_generic_plan"));
    direct_prepare(pg, CL_SQL(set_actor));
    direct_prepare(pg, CL_SQL(insp_item_record));
    int no_photos_len = 0; /* hashes and bytes: empty binary bytea[] */
    char *no_photos = cl_sqlbin_bytea_array(NULL, NULL, 0, &no_photos_len);
    PQenterPipelineMode(pg);
    char date[11], id[37], desc[64], projects[32], user_id[24], actor[256];
    today(date);
    snprintf(projects, sizeof projects, "{%" PRId64 "}", w->o->project);
    snprintf(user_id, sizeof user_id, "%" PRId64, w->o->user_id);
    snprintf(actor, sizeof actor,
             "{\"user_id\":%" PRId64 ",\"username\":\"%s\",\"peer\":\"127.0.0.1\",\"device\":\"\"}",
             w->o->user_id, w->o->user);
    uint64_t end = now_ns() + (uint64_t)w->o->seconds * 1000000000u;
    for (uint64_t n = 0; now_ns() < end; n++) {
        uuid4(id);
        snprintf(desc, sizeof desc, "卫生间地面渗水 direct %d-%" PRIu64, w->idx, n);
        const char *one[] = {id,
                             NULL, /* project: as an int element */
                             w->units[(n * 7919 + (uint64_t)w->idx) % w->nunits],
                             "handover",
                             date,
                             "bench",
                             "卫生间",
                             "waterproofing",
                             desc,
                             "minor"};
        enum { TEXT_ARRAYS = 13 }; /* $5..$16 and $18 of insp_item_record */
        cl_sqlbuf_t b[TEXT_ARRAYS];
        memset(b, 0, sizeof b);
        char *arr[TEXT_ARRAYS];
        for (int k = 0; k < TEXT_ARRAYS; k++) {
            cl_sqlbuf_array_open(&b[k]);
            if (k == 1)
                cl_sqlbuf_array_int(&b[k], w->o->project);
            else if (k < 10)
                cl_sqlbuf_array_text(&b[k], one[k]);
            else if (k == 10)
                cl_sqlbuf_array_text(&b[k], NULL); /* found_again_of */
            arr[k] = cl_sqlbuf_array_close(&b[k]); /* k > 10: no photos */
        }
        const char *p[CL_NPARAMS(insp_item_record)] = {"clerk", NULL, NULL, projects};
        for (int k = 0; k < 12; k++)
            p[4 + k] = arr[k];
        p[16] = no_photos;
        p[17] = arr[12];
        p[18] = no_photos;
        p[19] = "f"; /* $20: recorded, not only checked */
        p[20] = user_id;
        p[21] = w->o->user;
        int lengths[CL_NPARAMS(insp_item_record)] = {0};
        lengths[16] = lengths[18] = no_photos_len;
        const char *ap[] = {actor};
        uint64_t t0 = now_ns();
        direct_send(pg, CL_SQL(set_actor), ap, NULL);
        direct_send(pg, CL_SQL(insp_item_record), p, lengths);
        PQpipelineSync(pg);
        int failed = direct_drain(pg, w->err, sizeof w->err);
        uint64_t t1 = now_ns();
        for (int k = 0; k < TEXT_ARRAYS; k++)
            free(arr[k]);
        if (failed) {
            w->errors++;
        } else {
            record_latency(w, t1 - t0);
            w->items++;
        }
    }
    PQexitPipelineMode(pg);
    PQfinish(pg);
    free(no_photos);
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static char **read_units(const char *path, size_t *n) {
    FILE *f = fopen(path, "r");
    char line[256], **v = NULL;
    size_t cap = 0;
    *n = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) continue;
        if (*n == cap) v = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof *v);
        v[(*n)++] = strdup(line);
    }
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv) {
    bench_opts_t o = {
        .mode = "record", .server = "127.0.0.1:7443", .conns = 32, .seconds = 10, .user = "clerk"};
    static const struct option lo[] = {
        {"mode", 1, NULL, 'm'},    {"server", 1, NULL, 's'},     {"ca", 1, NULL, 'a'},
        {"user", 1, NULL, 'u'},    {"password", 1, NULL, 'p'},   {"conninfo", 1, NULL, 'd'},
        {"units", 1, NULL, 'U'},   {"conns", 1, NULL, 'c'},      {"seconds", 1, NULL, 't'},
        {"project", 1, NULL, 'P'}, {"contractor", 1, NULL, 'K'}, {"user-id", 1, NULL, 'I'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 'm': o.mode = optarg; break;
        case 's': o.server = optarg; break;
        case 'a': o.ca = optarg; break;
        case 'u': o.user = optarg; break;
        case 'p': o.password = optarg; break;
        case 'd': o.conninfo = optarg; break;
        case 'U': o.units_file = optarg; break;
        case 'c': o.conns = atoi(optarg); break;
        case 't': o.seconds = atoi(optarg); break;
        case 'P': o.project = atoll(optarg); break;
        case 'K': o.contractor = atoll(optarg); break;
        case 'I': o.user_id = atoll(optarg); break;
        default:
            fprintf(stderr, "item_bench: see the header of tests/bench/item_bench.c\n");
            return 2;
        }
    }
    bool direct = !strcmp(o.mode, "record-direct"), todo = !strcmp(o.mode, "todo");
    size_t nunits = 0;
    char **units = o.units_file ? read_units(o.units_file, &nunits) : NULL;
    if (!todo && !nunits) {
        fprintf(stderr, "item_bench: --units FILE (unit numbers, one a line) is required\n");
        return 2;
    }
    char token[64] = "";
    if (!direct) { /* one login; every connection resumes its session */
        char host[256], err[256];
        uint16_t port = CL_DEFAULT_PORT;
        cl_client_t *c = NULL;
        if (cl_parse_server(o.server, host, sizeof host, &port) != CL_OK) return 2;
        cl_client_opts_t co = {.host = host, .port = port, .ca_file = o.ca};
        ProtobufCMessage *reply = NULL;
        if (cl_client_connect(&co, &c, err, sizeof err) != CL_OK ||
            cl_client_login(c, o.user, o.password, &reply) != CL_OK) {
            fprintf(stderr, "item_bench: login: %s\n", c ? cl_client_error(c) : err);
            return 1;
        }
        snprintf(token, sizeof token, "%s", ((cl_pb_login_t *)reply)->token);
        cl_msg_free(reply);
        cl_client_close(c);
    }
    worker_t *ws = calloc((size_t)o.conns, sizeof *ws);
    pthread_t *th = calloc((size_t)o.conns, sizeof *th);
    void *(*fn)(void *) = direct ? record_direct_worker : todo ? todo_worker : record_worker;
    uint64_t t0 = now_ns();
    for (int i = 0; i < o.conns; i++) {
        ws[i] = (worker_t){.o = &o, .token = token, .units = units, .nunits = nunits, .idx = i};
        pthread_create(&th[i], NULL, fn, &ws[i]);
    }
    uint64_t total = 0, errors = 0, items = 0;
    for (int i = 0; i < o.conns; i++) {
        pthread_join(th[i], NULL);
        total += ws[i].nlat;
        errors += ws[i].errors;
        items += ws[i].items;
        if (ws[i].err[0] && i == 0) fprintf(stderr, "item_bench: %s\n", ws[i].err);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    uint64_t *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < o.conns; i++) {
        memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof *all);
        k += ws[i].nlat;
        free(ws[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_u64);
#define PCT(p) (total ? (double)all[(size_t)((double)(total - 1) * (p))] / 1e6 : 0.0)
    printf("mode=%s conns=%d requests=%" PRIu64 " errors=%" PRIu64 " rate=%.0f/s p50=%.2fms "
           "p99=%.2fms max=%.2fms%s%" PRIu64 "\n",
           o.mode, o.conns, total, errors, (double)total / secs, PCT(0.5), PCT(0.99), PCT(1.0),
           todo ? " list_items=" : " items=", items);
    free(all);
    free(ws);
    free(th);
    for (size_t i = 0; i < nunits; i++)
        free(units[i]);
    free(units);
    return errors && !total ? 1 : 0;
}
