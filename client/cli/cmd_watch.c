/* cmd_watch.c - `cloop watch`: prints the notices the server pushes (docs/WATCH.md) as
 * they come, one line each (time, the kind's Chinese label, the sentence), or one JSON
 * object a line with --format json.
 *
 * It sends WatchRequest{on} (with --since: and the notices missed after that id, printed
 * first, oldest first, page after page of at most 500), then waits for Notice pushes.
 * When the connection drops it reconnects (1 s doubling to 60 s) and asks for what came
 * after the newest notice it knows of; a Notice saying gap_before (the server dropped
 * some for a full output) makes it ask again from the last one printed. An id printed
 * once is never printed again (a notice may come both in a catch-up and as a push).
 * Every WATCH_PING_S (CLOSELOOP_WATCH_PING_S for tests) it asks again for what came after
 * the newest it knows: that keeps an idle connection from being closed, has a session
 * the server marked stale read again (a logout elsewhere ends the watch, exit 3), and
 * prints whatever was held back meanwhile. Single-threaded;
 * SIGINT/SIGTERM set a flag the wait loop polls every second. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "domain.h"
#include "msg.h"
#include "output.h"
#include "session_store.h"

#define WATCH_PING_S 60   /* a keep-alive this often keeps the server's idle timeout away */
#define WATCH_SEEN   1024 /* ids remembered against printing one twice */

void cmd_watch_help(FILE *out) {
    /* The kinds' labels, from the registry: 新派单、临期预警 ... */
    char kinds[256] = "";
    size_t n, len = 0;
    const cl_domain_value_t *v = cl_domain_values(CL_DOM_NOTICE_KIND, &n);
    for (size_t i = 0; i < n && len < sizeof kinds; i++)
        len += (size_t)snprintf(kinds + len, sizeof kinds - len, "%s%s", i ? "、" : "", v[i].label);
    fprintf(out,
            "usage: cloop watch [--since ID] [--format table|json]\n"
            "\n"
            "Stays connected and prints each notice meant for you as it arrives: new\n"
            "assignments, warnings before a deadline, breaches, escalations, a complaint's\n"
            "new class, a missing business calendar. One line per notice: the time, the\n"
            "kind and the sentence. Kinds:\n"
            "  %s\n"
            "With --format json, one JSON object a line (id, at, kind, kind_label,\n"
            "project_id, subject, body). When the connection drops it reconnects and\n"
            "prints what was missed meanwhile. Ctrl-C ends it.\n"
            "\n"
            "options:\n"
            "  --since ID   first print the notices after notice ID you may see (0: all\n"
            "               kept), oldest first\n"
            "\n"
            "example: cloop watch --since 120\n",
            kinds);
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

typedef struct watch_state {
    cli_format_t f;
    int64_t newest;    /* the newest notice id known: printed, or the server's last_id */
    int64_t caught_up; /* a catch-up printed every notice up to this id */
    bool out_failed;   /* stdout could not be written: stop, do not reconnect */
    int64_t seen[WATCH_SEEN];
    size_t nseen, next;
} watch_state_t;

static bool seen_before(watch_state_t *w, int64_t id) {
    for (size_t i = 0; i < w->nseen; i++)
        if (w->seen[i] == id) return true;
    w->seen[w->next] = id;
    w->next = (w->next + 1) % WATCH_SEEN;
    if (w->nseen < WATCH_SEEN) w->nseen++;
    return false;
}

/* Prints one notice unless it was printed already. CL_OK or CL_EIO. */
static int print_notice(watch_state_t *w, const Closeloop__Notice *n, bool pushed) {
    if (n->id == 0) return CL_OK; /* only a gap_before: nothing to print */
    /* A push still queued from before a catch-up that printed it already. */
    if (pushed && n->id <= w->caught_up) return CL_OK;
    if (seen_before(w, n->id)) return CL_OK;
    if (n->id > w->newest) w->newest = n->id;
    char at[64];
    cli_format_time_ms(n->at_ms, at, sizeof at);
    const char *name = cl_domain_name(CL_DOM_NOTICE_KIND, n->kind);
    const char *label = cl_domain_label(CL_DOM_NOTICE_KIND, n->kind);
    if (w->f == CLI_FMT_JSON) {
        printf("{\"id\": %" PRId64 ", \"at\": ", n->id);
        cli_json_string(at, stdout);
        printf(", \"kind\": ");
        cli_json_string(name ? name : "", stdout);
        printf(", \"kind_label\": ");
        cli_json_string(label ? label : "", stdout);
        printf(", \"project_id\": %" PRId64 ", \"subject\": ", n->project_id);
        cli_json_string(n->subject, stdout);
        printf(", \"body\": ");
        cli_json_string(n->body, stdout);
        printf("}\n");
    } else {
        printf("%s  %s  %s\n", at, label ? label : "通知", n->body);
    }
    if (fflush(stdout) == 0) return CL_OK;
    w->out_failed = true;
    return CL_EIO;
}

/* WatchRequest{on}; with catch_up, prints the notices after since, page by page. */
static int watch_start(cli_session_t *ss, watch_state_t *w, bool catch_up, int64_t since) {
    for (;;) {
        Closeloop__WatchRequest req = CLOSELOOP__WATCH_REQUEST__INIT;
        req.on = true;
        req.catch_up = catch_up;
        req.since_id = since;
        ProtobufCMessage *msg = NULL;
        int rc = cl_client_call(ss->c, CL_MSG_WATCH_REQ, &req.base, CL_MSG_WATCH, &msg);
        if (rc != CL_OK) return rc;
        const Closeloop__WatchReply *r = (const Closeloop__WatchReply *)msg;
        int prc = CL_OK;
        for (size_t i = 0; i < r->n_notices && prc == CL_OK; i++) {
            prc = print_notice(w, r->notices[i], false);
            since = r->notices[i]->id;
        }
        bool more = r->more;
        if (!more && r->last_id > w->newest) w->newest = r->last_id;
        if (catch_up && !more && r->last_id > w->caught_up) w->caught_up = r->last_id;
        cl_msg_free(msg);
        if (prc != CL_OK || !more) return prc;
    }
}

/* Seconds between keep-alives: WATCH_PING_S, or CLOSELOOP_WATCH_PING_S (1 to 3600; for tests). */
static long ping_every_s(void) {
    const char *e = getenv("CLOSELOOP_WATCH_PING_S");
    uint64_t v;
    if (e && cli_parse_u64(e, 1, 3600, &v) == CL_OK) return (long)v;
    return WATCH_PING_S;
}

/* Waits for pushes until Ctrl-C or the connection fails. */
static int watch_loop(cli_session_t *ss, watch_state_t *w) {
    time_t last_ping = time(NULL);
    long every = ping_every_s();
    while (!stop_flag) {
        cl_reply_t r;
        int rc = cl_client_wait_push(ss->c, &r, 1000);
        if (rc == CL_ETIMEDOUT && cl_client_is_open(ss->c)) {
            if (time(NULL) - last_ping >= every) {
                /* The keep-alive is a catch-up: it also has a stale session read again,
                 * and prints what a full output or a stale session held back. */
                rc = watch_start(ss, w, true, w->newest);
                if (rc != CL_OK) return rc;
                last_ping = time(NULL);
            }
            continue;
        }
        if (rc != CL_OK) return rc;
        if (r.err != CL_OK) { /* a connection-level error: the server ends it */
            rc = r.err;
            cli_errorf("%s", r.errmsg);
            cl_reply_clear(&r);
            return rc == CL_OK ? CL_ECLOSED : rc;
        }
        if (r.type == CL_MSG_NOTICE) {
            const Closeloop__Notice *n = (const Closeloop__Notice *)r.msg;
            int64_t before = w->newest;
            /* More pushes came in one read than the library keeps: the oldest of them,
             * after the last one printed, are gone. Ask for them first. */
            if (cl_client_pushes_dropped(ss->c)) rc = watch_start(ss, w, true, before);
            if (rc == CL_OK) rc = print_notice(w, n, true);
            /* Some were dropped before this one: ask for what came after the last one. */
            if (rc == CL_OK && n->gap_before) rc = watch_start(ss, w, true, before);
        }
        cl_reply_clear(&r);
        if (rc != CL_OK) return rc;
    }
    return CL_OK;
}

/* Whether rc means the connection is gone (a new one may do better). */
static bool connection_lost(int rc) {
    return rc == CL_ECLOSED || rc == CL_EIO || rc == CL_ETLS || rc == CL_ETIMEDOUT ||
           rc == CL_ESHUTDOWN || rc == CL_EBADFRAME || rc == CL_EUNAVAIL;
}

int cmd_watch(const cli_settings_t *s, int argc, char **argv) {
    const char *since_opt = NULL;
    const cli_optdef_t defs[] = {{"--since", &since_opt}, {NULL, NULL}};
    int npos = 0;
    if (cli_parse_args("watch", argc, argv, defs, NULL, 0, &npos) != 0) return CLI_EXIT_USAGE;
    uint64_t since = 0;
    if (since_opt && cli_parse_u64(since_opt, 0, INT64_MAX, &since) != CL_OK) {
        cli_errorf("watch: --since takes a notice id, 0 or more");
        return CLI_EXIT_USAGE;
    }
    if (s->format != CLI_FMT_TABLE && s->format != CLI_FMT_JSON) {
        cli_errorf("watch: --format is table or json");
        return CLI_EXIT_USAGE;
    }
    watch_state_t w = {.f = s->format};
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int lrc = watch_start(&ss, &w, since_opt != NULL, (int64_t)since);
    /* Said once the server watches for us: from now on nothing is missed. */
    if (lrc == CL_OK) fprintf(stderr, "等待通知（Ctrl-C 结束）: watching %s\n", s->server);
    unsigned backoff = 1;
    int open_rc = CLI_EXIT_OK;
    while (!stop_flag) {
        if (lrc == CL_OK) lrc = watch_loop(&ss, &w);
        if (lrc == CL_OK || stop_flag || w.out_failed || !connection_lost(lrc)) break;
        fprintf(stderr, "cloop: %s; reconnecting\n", cl_client_error(ss.c));
        cli_session_close(&ss);
        for (;;) {
            for (unsigned i = 0; i < backoff * 10 && !stop_flag; i++)
                usleep(100000);
            if (stop_flag) break;
            open_rc = cli_session_open(s, &ss);
            if (open_rc == CLI_EXIT_OK) {
                backoff = 1;
                break;
            }
            cli_session_close(&ss);
            if (open_rc != CLI_EXIT_UNREACHABLE) break;
            backoff = backoff < 30 ? backoff * 2 : 60;
        }
        if (stop_flag || open_rc != CLI_EXIT_OK) break;
        /* What came while we were away: everything after the newest one we know. */
        lrc = watch_start(&ss, &w, true, w.newest);
    }
    if (open_rc != CLI_EXIT_OK && !stop_flag) return open_rc; /* cli_session_open said why */
    if (stop_flag) lrc = CL_OK;
    if (w.out_failed) {
        cli_errorf("watch: cannot write the notices to the standard output");
        rc = CLI_EXIT_FAIL;
    } else if (lrc != CL_OK) {
        cli_errorf("%s", ss.c ? cl_client_error(ss.c) : "the connection was lost");
        rc = cli_exit_for(lrc);
    }
    cli_session_close(&ss);
    return rc;
}
