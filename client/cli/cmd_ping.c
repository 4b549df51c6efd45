/* cmd_ping.c - `cloop ping`: one ping, or a latency/throughput run over several
 * connections.
 *
 * Each connection has its own thread and its own cl_client_t (libcloop clients are
 * thread-compatible, not thread-safe). Threads connect first, then all start together
 * when the main thread says go, so connection set-up is not part of the measurement.
 * A thread keeps up to --depth requests in flight and records each round trip in
 * nanoseconds (CLOCK_MONOTONIC) into its own array; the main thread owns those arrays,
 * merges them once all threads have been joined, and prints the summary. Shared state
 * during the run is only the start gate (mutex + condvar) and two atomic counters for
 * the progress line. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cloop.h"
#include "frame.h"

#define PING_MAX_COUNT         100000000u
#define PING_MAX_CONNS         1024u
#define PING_MAX_DEPTH         1024u
#define PING_MAX_SIZE          (16u * 1024u * 1024u - 64u)
#define PING_PROGRESS_AFTER_NS 1000000000ull /* show progress once a run is this long */

/* What every worker shares. */
typedef struct ping_job {
    cl_client_opts_t opts;  /* how to connect */
    uint32_t depth;         /* requests in flight per connection */
    const uint8_t *payload; /* --size bytes echoed by the server */
    size_t size;
    pthread_mutex_t mu; /* guards ready and go */
    pthread_cond_t cv;
    unsigned ready;            /* workers that have connected (or failed to) */
    int go;                    /* set once: start sending */
    atomic_uint_fast64_t done; /* requests finished, ok or not (progress line) */
    atomic_uint finished;      /* workers that are done */
} ping_job_t;

/* One connection's thread and its results. */
typedef struct ping_worker {
    pthread_t tid; /* valid when started */
    int started;   /* pthread_create succeeded */
    ping_job_t *job;
    uint64_t share;   /* requests this worker sends */
    uint64_t *rtt_ns; /* share slots; the first nrtt hold successful round trips */
    uint64_t nrtt;
    uint64_t errors;  /* failed requests, unsent ones included */
    uint64_t replied; /* requests that got any reply */
    uint64_t end_ns;  /* when its last request finished */
    char tls[16];     /* negotiated TLS version */
    char err[512];    /* its first error */
    int err_rc;       /* the CL_E* code of that error, for the exit status */
} ping_worker_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cmd_ping_help(FILE *out) {
    fprintf(out,
            "usage: cloop ping [-n COUNT] [-c CONNS] [--depth D] [--size BYTES] [global options]\n"
            "\n"
            "Sends pings to the server over TLS and measures the round trips.\n"
            "With one ping (the default) prints one line:\n"
            "  pong from HOST:PORT: time=0.123 ms tls=TLSv1.3\n"
            "With more, or with --format csv|json, prints a summary: requests, errors,\n"
            "min/p50/p99/max round trip in ms, and replies per second over the wall time.\n"
            "\n"
            "options:\n"
            "  -n, --count COUNT   pings in total, spread over the connections (default 1)\n"
            "  -c, --conns CONNS   connections, each on its own thread (default 1)\n"
            "  --depth D           requests in flight per connection (default 1)\n"
            "  --size BYTES        payload bytes the server echoes back (default 0)\n"
            "\n"
            "Exit status 0 when every ping got its pong; else 4 when the server could not\n"
            "be reached or could not answer, 1 when it answered with an error.\n");
}

CL_PRINTF(3, 4)
static void worker_error(ping_worker_t *w, int rc, const char *fmt, ...) {
    if (w->err[0]) return;
    w->err_rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

/* Checks a pong against what was sent: 0 when it matches. */
static int pong_ok(ping_worker_t *w, const ProtobufCMessage *m, uint64_t sent_ns) {
    const cl_pb_pong_t *p = (const cl_pb_pong_t *)m;
    if (p->client_time_ns != sent_ns || p->payload.len != w->job->size ||
        (w->job->size && memcmp(p->payload.data, w->job->payload, w->job->size) != 0)) {
        worker_error(w, CL_EBADMSG, "the server echoed a different ping than was sent");
        return -1;
    }
    return 0;
}

/* A failure after which the connection cannot go on (as opposed to one error reply). */
static int fatal(int rc) {
    return rc <= CL_ENOMEM || rc == CL_ETIMEDOUT;
}

static void build_ping(const ping_job_t *job, cl_pb_ping_t *p, uint64_t t0) {
    cl_pb_ping_t init = CLOSELOOP__PING__INIT;
    *p = init;
    p->client_time_ns = t0;
    p->payload.data = (uint8_t *)job->payload;
    p->payload.len = job->size;
}

static void finish_one(ping_worker_t *w) {
    atomic_fetch_add_explicit(&w->job->done, 1, memory_order_relaxed);
}

/* One request at a time: cl_client_call. */
static void run_serial(ping_worker_t *w, cl_client_t *c) {
    for (uint64_t i = 0; i < w->share; i++) {
        cl_pb_ping_t p;
        uint64_t t0 = now_ns();
        build_ping(w->job, &p, t0);
        ProtobufCMessage *m = NULL;
        int rc = cl_client_call(c, CL_MSG_PING, &p.base, CL_MSG_PONG, &m);
        uint64_t t1 = now_ns();
        if (rc == CL_OK) {
            w->replied++;
            if (pong_ok(w, m, t0) == 0)
                w->rtt_ns[w->nrtt++] = t1 - t0;
            else
                w->errors++;
            cl_msg_free(m);
        } else {
            worker_error(w, rc, "%s", cl_client_error(c));
            w->errors++;
            if (fatal(rc)) return;
            w->replied++;
        }
        finish_one(w);
    }
}

/* After the connection failed: a connection-level error frame (request id 0) that the
 * server sent before closing says why better than "closed" does. */
static void explain_close(ping_worker_t *w, cl_client_t *c) {
    cl_reply_t r;
    while (cl_client_recv(c, &r, 0) == CL_OK) {
        if (r.req_id == 0 && (r.flags & CL_FRAME_FLAG_ERROR)) {
            snprintf(w->err, sizeof w->err, "server error: %s", r.errmsg);
            w->err_rc = r.err;
        }
        cl_reply_clear(&r);
    }
}

/* Up to depth requests in flight: cl_client_send / cl_client_recv, matched by id. */
static void run_pipelined(ping_worker_t *w, cl_client_t *c) {
    uint32_t depth = w->job->depth;
    uint32_t *ids = calloc(depth, sizeof *ids);
    uint64_t *t0s = calloc(depth, sizeof *t0s);
    uint32_t inflight = 0;
    uint64_t sent = 0, finished = 0;
    if (!ids || !t0s) {
        worker_error(w, CL_ENOMEM, "out of memory");
        goto out;
    }
    while (finished < w->share) {
        while (sent < w->share && inflight < depth) {
            cl_pb_ping_t p;
            uint32_t id = cl_client_next_id(c);
            uint64_t t0 = now_ns();
            build_ping(w->job, &p, t0);
            int rc = cl_client_send(c, id, CL_MSG_PING, &p.base);
            if (rc != CL_OK) {
                worker_error(w, rc, "%s", cl_client_error(c));
                explain_close(w, c);
                goto out;
            }
            ids[inflight] = id;
            t0s[inflight] = t0;
            inflight++;
            sent++;
        }
        cl_reply_t r;
        int rc = cl_client_recv(c, &r, -1);
        if (rc != CL_OK) {
            worker_error(w, rc, "%s", cl_client_error(c));
            explain_close(w, c);
            goto out;
        }
        uint64_t t1 = now_ns();
        uint32_t j = 0;
        while (j < inflight && ids[j] != r.req_id)
            j++;
        if (j == inflight) { /* not one of ours (a push, or a stray): skip it */
            if (r.req_id == 0 && (r.flags & CL_FRAME_FLAG_ERROR)) {
                snprintf(w->err, sizeof w->err, "server error: %s", r.errmsg);
                w->err_rc = r.err;
            }
            cl_reply_clear(&r);
            continue;
        }
        uint64_t t0 = t0s[j];
        inflight--;
        ids[j] = ids[inflight];
        t0s[j] = t0s[inflight];
        w->replied++;
        if (r.err != CL_OK) {
            worker_error(w, r.err, "%s%s", (r.flags & CL_FRAME_FLAG_ERROR) ? "server error: " : "",
                         r.errmsg);
            w->errors++;
        } else if (r.type != CL_MSG_PONG) {
            worker_error(w, CL_EBADMSG, "the server replied with %s instead of Pong",
                         cl_msg_type_name(r.type));
            w->errors++;
        } else if (pong_ok(w, r.msg, t0) == 0) {
            w->rtt_ns[w->nrtt++] = t1 - t0;
        } else {
            w->errors++;
        }
        cl_reply_clear(&r);
        finished++;
        finish_one(w);
    }
out:
    free(ids);
    free(t0s);
}

static void *worker_main(void *arg) {
    ping_worker_t *w = arg;
    ping_job_t *job = w->job;
    cl_client_t *c = NULL;
    char err[512];
    int rc = cl_client_connect(&job->opts, &c, err, sizeof err);
    if (rc != CL_OK)
        worker_error(w, rc, "%s", err);
    else
        snprintf(w->tls, sizeof w->tls, "%s", cl_client_tls_version(c));

    pthread_mutex_lock(&job->mu);
    job->ready++;
    pthread_cond_broadcast(&job->cv);
    while (!job->go)
        pthread_cond_wait(&job->cv, &job->mu);
    pthread_mutex_unlock(&job->mu);

    if (c) {
        if (job->depth > 1)
            run_pipelined(w, c);
        else
            run_serial(w, c);
    }
    /* Whatever was never answered counts as failed. */
    uint64_t accounted = w->nrtt + w->errors;
    if (accounted < w->share) {
        atomic_fetch_add_explicit(&job->done, w->share - accounted, memory_order_relaxed);
        w->errors += w->share - accounted;
    }
    w->end_ns = now_ns();
    cl_client_close(c);
    atomic_fetch_add_explicit(&job->finished, 1, memory_order_release);
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n), n > 0. */
static uint64_t percentile(const uint64_t *v, uint64_t n, unsigned p) {
    uint64_t rank = (p * n + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

static void progress(ping_job_t *job, uint64_t count, uint64_t start_ns, int *shown) {
    uint64_t elapsed = now_ns() - start_ns;
    if (elapsed < PING_PROGRESS_AFTER_NS) return;
    uint64_t done = atomic_load_explicit(&job->done, memory_order_relaxed);
    fprintf(stderr, "\rping: %" PRIu64 "/%" PRIu64 " (%" PRIu64 "%%), %.0f req/s\033[K", done,
            count, done * 100 / count, (double)done * 1e9 / (double)elapsed);
    fflush(stderr);
    *shown = 1;
}

typedef struct ping_opts {
    uint64_t count, conns, depth, size;
} ping_opts_t;

static int parse_opts(int argc, char **argv, ping_opts_t *po) {
    po->count = 1, po->conns = 1, po->depth = 1, po->size = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int m;
        uint64_t *dst = NULL, min = 1, max = 0;
        const char *what = NULL;
        if ((m = cli_opt_value(argc, argv, &i, "-n", "--count", &v)) != 0)
            dst = &po->count, max = PING_MAX_COUNT, what = "-n";
        else if ((m = cli_opt_value(argc, argv, &i, "-c", "--conns", &v)) != 0)
            dst = &po->conns, max = PING_MAX_CONNS, what = "-c";
        else if ((m = cli_opt_value(argc, argv, &i, NULL, "--depth", &v)) != 0)
            dst = &po->depth, max = PING_MAX_DEPTH, what = "--depth";
        else if ((m = cli_opt_value(argc, argv, &i, NULL, "--size", &v)) != 0)
            dst = &po->size, min = 0, max = PING_MAX_SIZE, what = "--size";
        if (m < 0) return CLI_EXIT_USAGE;
        if (!dst) {
            cli_errorf("ping: unexpected argument '%s'; see 'cloop ping --help'", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (cli_parse_u64(v, min, max, dst) != CL_OK) {
            cli_errorf("ping: invalid %s '%s': give a number from %" PRIu64 " to %" PRIu64, what, v,
                       min, max);
            return CLI_EXIT_USAGE;
        }
    }
    if (po->conns > po->count) po->conns = po->count;
    return CLI_EXIT_OK;
}

static int print_summary(const cli_settings_t *s, const ping_opts_t *po, const char *tls,
                         uint64_t errors, uint64_t replied, const uint64_t *v, uint64_t n,
                         uint64_t wall_ns) {
    char conns[24], depth[24], size[24], count[24], errs[24],
        mn[32] = "", p50[32] = "", p99[32] = "", mx[32] = "", wall[32], rps[32] = "";
    snprintf(conns, sizeof conns, "%" PRIu64, po->conns);
    snprintf(depth, sizeof depth, "%" PRIu64, po->depth);
    snprintf(size, sizeof size, "%" PRIu64, po->size);
    snprintf(count, sizeof count, "%" PRIu64, po->count);
    snprintf(errs, sizeof errs, "%" PRIu64, errors);
    if (n > 0) {
        snprintf(mn, sizeof mn, "%.3f", (double)v[0] / 1e6);
        snprintf(p50, sizeof p50, "%.3f", (double)percentile(v, n, 50) / 1e6);
        snprintf(p99, sizeof p99, "%.3f", (double)percentile(v, n, 99) / 1e6);
        snprintf(mx, sizeof mx, "%.3f", (double)v[n - 1] / 1e6);
    }
    snprintf(wall, sizeof wall, "%.3f", (double)wall_ns / 1e9);
    if (wall_ns > 0) snprintf(rps, sizeof rps, "%.0f", (double)replied * 1e9 / (double)wall_ns);

    cli_table_t *t;
    int rc = CL_OK;
    if (s->format == CLI_FMT_TABLE) {
        static const char *const header[] = {"key", "value"};
        char b[6][48];
        snprintf(b[0], sizeof b[0], "%s B", size);
        snprintf(b[1], sizeof b[1], n ? "%s ms" : "-", mn);
        snprintf(b[2], sizeof b[2], n ? "%s ms" : "-", p50);
        snprintf(b[3], sizeof b[3], n ? "%s ms" : "-", p99);
        snprintf(b[4], sizeof b[4], n ? "%s ms" : "-", mx);
        snprintf(b[5], sizeof b[5], "%s req/s", rps[0] ? rps : "-");
        char wall_s[48];
        snprintf(wall_s, sizeof wall_s, "%s s", wall);
        const char *rows[][2] = {
            {"server", s->server},  {"tls", tls[0] ? tls : "-"},
            {"connections", conns}, {"depth", depth},
            {"size", b[0]},         {"requests", count},
            {"errors", errs},       {"min", b[1]},
            {"p50", b[2]},          {"p99", b[3]},
            {"max", b[4]},          {"wall time", wall_s},
            {"rate", b[5]},
        };
        if (!(t = cli_table_new(2, header))) return CL_ENOMEM;
        cli_table_hide_header(t);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0] && rc == CL_OK; i++)
            rc = cli_table_add(t, rows[i]);
    } else {
        static const char *const header[] = {"server", "tls",    "conns",  "depth",  "size",
                                             "count",  "errors", "min_ms", "p50_ms", "p99_ms",
                                             "max_ms", "wall_s", "rps"};
        const char *row[] = {s->server, tls, conns, depth, size, count, errs,
                             mn,        p50, p99,   mx,    wall, rps};
        if (!(t = cli_table_new(13, header))) return CL_ENOMEM;
        for (size_t i = 2; i < 13; i++)
            cli_table_set_numeric(t, i);
        rc = cli_table_add(t, row);
    }
    if (rc == CL_OK) rc = cli_table_print(t, s->format, stdout);
    cli_table_free(t);
    return rc;
}

int cmd_ping(const cli_settings_t *s, int argc, char **argv) {
    ping_opts_t po;
    int rc = parse_opts(argc, argv, &po);
    if (rc != CLI_EXIT_OK) return rc;

    ping_job_t job;
    memset(&job, 0, sizeof job);
    char err[512];
    if (cli_client_opts(s, &job.opts, err, sizeof err) != CL_OK) {
        cli_errorf("%s", err);
        return CLI_EXIT_USAGE;
    }
    job.depth = (uint32_t)po.depth;
    job.size = (size_t)po.size;
    atomic_init(&job.done, 0);
    atomic_init(&job.finished, 0);

    uint8_t *payload = NULL;
    ping_worker_t *w = calloc((size_t)po.conns, sizeof *w);
    uint64_t *all = calloc((size_t)po.count, sizeof *all);
    if (job.size && (payload = malloc(job.size)))
        for (size_t i = 0; i < job.size; i++)
            payload[i] = (uint8_t)(i * 131u + 7u);
    if (!w || !all || (job.size && !payload)) {
        cli_errorf("out of memory");
        free(w);
        free(all);
        free(payload);
        return CLI_EXIT_FAIL;
    }
    job.payload = payload;
    pthread_mutex_init(&job.mu, NULL);
    pthread_cond_init(&job.cv, NULL);

    /* The workers' round-trip arrays are consecutive slices of one array. */
    uint64_t off = 0;
    unsigned started = 0;
    for (uint64_t i = 0; i < po.conns; i++) {
        w[i].job = &job;
        w[i].share = po.count / po.conns + (i < po.count % po.conns);
        w[i].rtt_ns = all + off;
        off += w[i].share;
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) == 0) {
            w[i].started = 1;
            started++;
        } else {
            worker_error(&w[i], CL_ENOMEM, "cannot start a thread for connection %" PRIu64, i + 1);
            w[i].errors = w[i].share;
        }
    }

    pthread_mutex_lock(&job.mu);
    while (job.ready < started)
        pthread_cond_wait(&job.cv, &job.mu);
    uint64_t start = now_ns();
    job.go = 1;
    pthread_cond_broadcast(&job.cv);
    pthread_mutex_unlock(&job.mu);

    int shown = 0;
    if (po.count > 1 && isatty(STDERR_FILENO)) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        while (atomic_load_explicit(&job.finished, memory_order_acquire) < started) {
            nanosleep(&tick, NULL);
            progress(&job, po.count, start, &shown);
        }
        if (shown) fputs("\r\033[K", stderr);
    }

    uint64_t end = start, errors = 0, replied = 0, n = 0;
    const char *first_err = NULL, *tls = "";
    rc = CLI_EXIT_OK;
    for (uint64_t i = 0; i < po.conns; i++) {
        if (w[i].started) pthread_join(w[i].tid, NULL);
        if (w[i].end_ns > end) end = w[i].end_ns;
        if (w[i].errors)
            rc = cli_exit_worse(rc, w[i].err_rc ? cli_exit_for(w[i].err_rc) : CLI_EXIT_FAIL);
        errors += w[i].errors;
        replied += w[i].replied;
        if (!first_err && w[i].err[0]) first_err = w[i].err;
        if (!tls[0] && w[i].tls[0]) tls = w[i].tls;
        /* Compact the successful round trips to the front of all. */
        memmove(all + n, w[i].rtt_ns, w[i].nrtt * sizeof *all);
        n += w[i].nrtt;
    }
    qsort(all, (size_t)n, sizeof *all, cmp_u64);

    if (first_err) cli_errorf("%s", first_err);
    if (errors > 1 || (errors == 1 && po.count > 1))
        cli_errorf("%" PRIu64 " of %" PRIu64 " pings failed", errors, po.count);

    if (po.count == 1 && s->format == CLI_FMT_TABLE) {
        if (n == 1)
            printf("pong from %s: time=%.3f ms tls=%s\n", s->server, (double)all[0] / 1e6, tls);
    } else if (print_summary(s, &po, tls, errors, replied, all, n, end - start) != CL_OK) {
        cli_errorf("cannot write the output");
        rc = cli_exit_worse(rc, CLI_EXIT_FAIL);
    }

    pthread_cond_destroy(&job.cv);
    pthread_mutex_destroy(&job.mu);
    free(w);
    free(all);
    free(payload);
    return rc;
}
