/* push_bench.c - latency of the server push: from a commit that writes the change feed to
 * the SyncNotice at a following libcloop connection, next to the baseline of the same
 * notification read by a plain libpq LISTEN connection, both for the same commits.
 *
 * Each round: the committer (libpq, straight to PostgreSQL) updates one building with an
 * actor set, which writes one change_log row and so one closeloop_changes notification;
 * the clock starts when its COMMIT is sent. With --mirror PATH, a second connection runs
 * libcloop's cl_mirror_follow into the mirror file PATH (a thread), and the round also
 * waits until the building's new version can be read from that file (another SQLite
 * connection polling every 0.2 ms): commit to arrival in a following desktop's mirror. A thread
 * LISTENs on a libpq connection of its own and stamps each notification's arrival; the main thread
 * waits for the SyncNotice on its following connection to closeloopd. Rounds are --gap-ms apart,
 * beyond the daemon's 20 ms coalescing, so every commit gets its own notice. Prints one line per
 * measure: count, p50, p99 and max in ms; the last is what the daemon adds (its LISTEN connection,
 * the loop, TLS, the client) to the baseline's arrival of the same commit. Bench-only code: it
 * trusts its arguments.
 *
 *   push_bench --server HOST:PORT --ca FILE --user NAME --conninfo STR --building ID
 *              [-n ROUNDS] [--gap-ms MS] [--mirror PATH]   (password: $CLOSELOOP_PASSWORD) */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "bench_util.h"
#include "cloop.h"
#include "cloop_mirror.h"

/* The raw listener: the arrival time of the latest notification, 0 until one came. */
static PGconn *listener;
static _Atomic uint64_t raw_arrived;
static _Atomic int stop_listening;

static void *listen_thread(void *arg) {
    (void)arg;
    int fd = PQsocket(listener);
    while (!atomic_load(&stop_listening)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        uint64_t t = now_ns();
        if (!PQconsumeInput(listener)) break;
        PGnotify *n;
        while ((n = PQnotifies(listener))) {
            atomic_store(&raw_arrived, t);
            PQfreemem(n);
        }
    }
    return NULL;
}

/* The mirror's follower thread: cl_mirror_follow until stop_following. */
typedef struct mirror_run {
    cl_mirror_t *m;
    cl_client_t *c;
    int rc;
} mirror_run_t;
static volatile int stop_following;

static void *follow_thread(void *arg) {
    mirror_run_t *f = arg;
    f->rc = cl_mirror_follow(f->m, f->c, NULL, 30000, &stop_following);
    return NULL;
}

/* The building's version in the mirror file, -1 when absent. */
static int64_t mirror_version(sqlite3_stmt *q) {
    int64_t v = -1;
    if (sqlite3_step(q) == SQLITE_ROW) v = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return v;
}

/* A logged-in connection, or NULL after saying why. */
static cl_client_t *connect_login(const cl_client_opts_t *o, const char *user, const char *pw) {
    char err[256];
    cl_client_t *c = NULL;
    if (cl_client_connect(o, &c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "push_bench: %s\n", err);
        return NULL;
    }
    ProtobufCMessage *m = NULL;
    if (cl_client_login(c, user, pw, &m) != CL_OK) {
        fprintf(stderr, "push_bench: login: %s\n", cl_client_error(c));
        cl_client_close(c);
        return NULL;
    }
    cl_msg_free(m);
    return c;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *v, size_t n) {
    if (!n) {
        printf("%-34s n=0\n", what);
        return;
    }
    qsort(v, n, sizeof *v, cmp_u64);
    size_t p99 = (n * 99 + 99) / 100;
    printf("%-34s n=%zu p50=%.3f ms p99=%.3f ms max=%.3f ms\n", what, n, v[n / 2] / 1e6,
           v[(p99 ? p99 : 1) - 1] / 1e6, v[n - 1] / 1e6);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The same for differences, which may be negative (two threads' clocks read apart). */
static void report_signed(const char *what, int64_t *v, size_t n) {
    if (!n) return;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t p99 = (n * 99 + 99) / 100;
    printf("%-34s n=%zu p50=%.3f ms p99=%.3f ms max=%.3f ms\n", what, n, v[n / 2] / 1e6,
           v[(p99 ? p99 : 1) - 1] / 1e6, v[n - 1] / 1e6);
}

int main(int argc, char **argv) {
    const char *server = opt(argc, argv, "--server", NULL), *ca = opt(argc, argv, "--ca", NULL);
    const char *user = opt(argc, argv, "--user", NULL);
    const char *conninfo = opt(argc, argv, "--conninfo", NULL);
    const char *building = opt(argc, argv, "--building", NULL);
    const char *password = getenv("CLOSELOOP_PASSWORD");
    size_t rounds = strtoul(opt(argc, argv, "-n", "500"), NULL, 10);
    unsigned gap_ms = (unsigned)strtoul(opt(argc, argv, "--gap-ms", "25"), NULL, 10);
    if (!server || !ca || !user || !conninfo || !building || !password || !rounds) {
        fprintf(stderr, "usage: push_bench --server HOST:PORT --ca FILE --user NAME --conninfo "
                        "STR --building ID [-n ROUNDS] [--gap-ms MS]\n");
        return 2;
    }
    const char *mirror_path = opt(argc, argv, "--mirror", NULL);
    char host[256], err[256];
    uint16_t port = CL_DEFAULT_PORT;
    if (cl_parse_server(server, host, sizeof host, &port) != CL_OK) return 2;
    cl_client_opts_t o = {.host = host, .port = port, .ca_file = ca, .timeout_ms = 10000};
    cl_client_t *c = connect_login(&o, user, password);
    if (!c) return 1;
    ProtobufCMessage *m = NULL;
    Closeloop__SyncFollowRequest follow = CLOSELOOP__SYNC_FOLLOW_REQUEST__INIT;
    follow.on = true;
    if (cl_client_call(c, CL_MSG_SYNC_FOLLOW_REQ, &follow.base, CL_MSG_SYNC_FOLLOW, &m) != CL_OK) {
        fprintf(stderr, "push_bench: follow: %s\n", cl_client_error(c));
        return 1;
    }
    cl_msg_free(m);

    listener = PQconnectdb(conninfo);
    PGconn *committer = PQconnectdb(conninfo);
    if (PQstatus(listener) != CONNECTION_OK || PQstatus(committer) != CONNECTION_OK) {
        fprintf(stderr, "push_bench: %s%s\n", PQerrorMessage(listener), PQerrorMessage(committer));
        return 1;
    }
    PQclear(PQexec(listener, "LISTEN closeloop_changes"));
    char sql[512];
    long long bid = strtoll(building, NULL, 10);
    snprintf(sql, sizeof sql,
             "BEGIN; SELECT set_config('closeloop.actor', "
             "'{\"user_id\": null, \"username\": \"push_bench\"}', true); "
             "UPDATE buildings SET floors = floors WHERE id = %lld RETURNING version;",
             bid);

    /* The desktop: its mirror filled by a first pull, then following. */
    mirror_run_t fr = {0};
    pthread_t mth;
    sqlite3 *reader = NULL;
    sqlite3_stmt *q = NULL;
    if (mirror_path) {
        fr.c = connect_login(&o, user, password);
        if (!fr.c || cl_mirror_open(mirror_path, user, server, &fr.m, err, sizeof err) != CL_OK) {
            fprintf(stderr, "push_bench: mirror: %s\n", fr.c ? err : "no connection");
            return 1;
        }
        pthread_create(&mth, NULL, follow_thread, &fr);
        if (sqlite3_open_v2(mirror_path, &reader, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(reader, "SELECT version FROM buildings WHERE id = ?", -1, &q,
                               NULL) != SQLITE_OK) {
            fprintf(stderr, "push_bench: reading the mirror: %s\n", sqlite3_errmsg(reader));
            return 1;
        }
        sqlite3_busy_timeout(reader, 1000);
        sqlite3_bind_int64(q, 1, bid);
        for (int k = 0; k < 600 && mirror_version(q) < 0; k++)
            usleep(100000); /* the first pull */
        if (mirror_version(q) < 0) {
            fprintf(stderr, "push_bench: the building never reached the mirror\n");
            return 1;
        }
    }
    pthread_t th;
    pthread_create(&th, NULL, listen_thread, NULL);

    uint64_t *commit = calloc(rounds, sizeof *commit), *raw = calloc(rounds, sizeof *raw);
    uint64_t *push = calloc(rounds, sizeof *push);
    int64_t *extra = calloc(rounds, sizeof *extra);
    uint64_t *mirror = calloc(rounds, sizeof *mirror);
    size_t nextra = 0, nmirror = 0, mirror_missing = 0;
    size_t ncommit = 0, nraw = 0, npush = 0, lost = 0;
    for (size_t i = 0; i < rounds; i++) {
        atomic_store(&raw_arrived, 0);
        PGresult *r = PQexec(committer, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            fprintf(stderr, "push_bench: update: %s\n", PQerrorMessage(committer));
            PQclear(r);
            return 1;
        }
        int64_t version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        uint64_t t0 = now_ns();
        r = PQexec(committer, "COMMIT");
        uint64_t t1 = now_ns();
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "push_bench: commit: %s\n", PQerrorMessage(committer));
            PQclear(r);
            return 1;
        }
        PQclear(r);
        commit[ncommit++] = t1 - t0;
        cl_reply_t rep;
        int rc = cl_client_wait_push(c, &rep, 2000);
        uint64_t t2 = now_ns();
        if (rc == CL_OK && rep.type == CL_MSG_SYNC_NOTICE)
            push[npush++] = t2 - t0;
        else
            lost++;
        if (rc == CL_OK) cl_reply_clear(&rep);
        if (rc != CL_OK && rc != CL_ETIMEDOUT) {
            fprintf(stderr, "push_bench: %s\n", cl_client_error(c));
            return 1;
        }
        for (int k = 0; k < 2000 && !atomic_load(&raw_arrived); k++)
            usleep(1000);
        uint64_t ra = atomic_load(&raw_arrived);
        if (ra) raw[nraw++] = ra - t0;
        if (ra && rc == CL_OK) extra[nextra++] = (int64_t)t2 - (int64_t)ra;
        if (q) {
            uint64_t tm = 0;
            for (int k = 0; k < 25000; k++) { /* 5 s at most */
                if (mirror_version(q) >= version) {
                    tm = now_ns();
                    break;
                }
                usleep(200);
            }
            if (tm)
                mirror[nmirror++] = tm - t0;
            else
                mirror_missing++;
        }
        usleep(gap_ms * 1000u);
        /* a notice folded into this one by the coalescing would be counted next round */
        while (cl_client_wait_push(c, &rep, 0) == CL_OK)
            cl_reply_clear(&rep);
    }
    atomic_store(&stop_listening, 1);
    pthread_join(th, NULL);
    printf("rounds=%zu gap=%u ms notices_missing=%zu mirror_missing=%zu\n", rounds, gap_ms, lost,
           mirror_missing);
    report("COMMIT returned", commit, ncommit);
    report("raw LISTEN: notification", raw, nraw);
    report("push: SyncNotice at the follower", push, npush);
    report_signed("push minus raw (same commit)", extra, nextra);
    if (q) report("mirror: new version readable", mirror, nmirror);
    if (mirror_path) {
        stop_following = 1;
        pthread_join(mth, NULL);
        if (fr.rc != CL_OK) fprintf(stderr, "push_bench: follow: %s\n", cl_mirror_error(fr.m));
        sqlite3_finalize(q);
        sqlite3_close(reader);
        cl_mirror_close(fr.m);
        cl_client_close(fr.c);
    }
    free(mirror);
    free(commit);
    free(raw);
    free(push);
    free(extra);
    PQfinish(listener);
    PQfinish(committer);
    cl_client_close(c);
    return 0;
}
