/* cmd_sync.c - `cloop sync`: brings the desktop's mirror (libcloop, cloop_sync.c) up to
 * date over the stored session, follows the server's notices with --follow, compares
 * checksums with --verify, and shows the mirror with --status (docs/SYNC.md).
 *
 * Single-threaded; SIGINT/SIGTERM during --follow set a flag the library polls, so the
 * mirror is closed after the last committed page. The mirror, the session and the tables
 * are freed before cmd_sync returns. Progress goes to standard error on a terminal only;
 * the summary line to standard output, in Chinese (people read it). */
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "cloop_mirror.h"
#include "session_store.h"

#define SYNC_FOLLOW_INTERVAL_S 30     /* --follow pulls at least this often without a notice */
#define SYNC_TIMEOUT_MS        300000 /* per reply, unless --timeout is given */

void cmd_sync_help(FILE *out) {
    fprintf(out,
            "usage: cloop sync [--mirror PATH] [--follow [--interval SECONDS]] [--verify]\n"
            "       cloop sync --status [--mirror PATH]\n"
            "\n"
            "Brings the local mirror of what you may see (projects, units, rounds, items,\n"
            "tickets and their events, contractors, trades, defects, cases; owners only for\n"
            "roles that may see them) up to date with the server: the first sync streams a\n"
            "snapshot, later ones pull the change feed. An interrupted sync resumes where it\n"
            "stopped. Prints one summary line.\n"
            "\n"
            "options:\n"
            "  --mirror PATH       the mirror file (default $CLOSELOOP_MIRROR, else\n"
            "                      ~/.local/share/closeloop/mirror-USER@SERVER.sqlite)\n"
            "  --follow            stay connected and apply changes as the server announces\n"
            "                      them, until Ctrl-C\n"
            "  --interval SECONDS  with --follow: pull at least this often (default %d)\n"
            "  --verify            compare per-project checksums with the server and re-sync\n"
            "                      only what differs\n"
            "  --status            show the mirror: path, last caught up, cursor, row counts\n"
            "\n"
            "example: cloop sync --verify\n",
            SYNC_FOLLOW_INTERVAL_S);
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

/* ---- progress ---------------------------------------------------------------------------- */

typedef struct progress {
    int tty;
    int shown; /* a progress line is on the terminal */
} progress_t;

static const char *phase_zh(const char *phase) {
    if (!strcmp(phase, "snapshot")) return "快照";
    if (!strcmp(phase, "feed")) return "变更";
    if (!strcmp(phase, "verify")) return "校验";
    if (!strcmp(phase, "resync")) return "重新同步";
    return phase;
}

static void on_progress(void *arg, const cl_sync_progress_t *p) {
    progress_t *pr = arg;
    if (!pr->tty) return;
    fprintf(stderr, "\r\033[K%s %s：%" PRIu64 " 行，%.1f MB", phase_zh(p->phase),
            p->entity ? p->entity : "", p->rows, (double)p->bytes / 1e6);
    fflush(stderr);
    pr->shown = 1;
}

static void progress_end(progress_t *pr) {
    if (pr->shown) fprintf(stderr, "\r\033[K");
    pr->shown = 0;
}

/* ---- the outbox --------------------------------------------------------------------------- */

/* `cloop sync` pushes the outbox before it pulls (cl_outbox_push, cloop_outbox.c), so
 * the answers to entries made offline come back in the same pull and held rows are
 * released after it. The push honours each entry's backoff; a push stopped by the
 * network leaves its entries pending and the pull still runs (and says what fails).
 * Returns a CL_* code: only a failure of the mirror itself stops the sync. */
static int sync_push_outbox_first(cl_mirror_t *m, cli_session_t *ss) {
    cl_outbox_push_stats_t st;
    int rc = cl_outbox_push(m, ss->c, 0, &st);
    if (rc != CL_OK) return rc;
    if (st.sent || st.left)
        fprintf(stderr,
                "outbox: 发送 %u 条，确认 %u，冲突 %u，被拒绝 %u，待发 %u (sent %u: acked %u, "
                "conflicts %u, failed %u, pending %u)%s\n",
                st.sent, st.acked, st.conflicts, st.failed, st.left, st.sent, st.acked,
                st.conflicts, st.failed, st.left,
                st.conflicts || st.failed ? "; see 'cloop outbox conflicts'" : "");
    return CL_OK;
}

/* ---- status ------------------------------------------------------------------------------- */

/* Who owns the mirror at path (sync_meta), read without changing it. */
static int mirror_owner(const char *path, char *user, size_t ucap, char *server, size_t scap) {
    sqlite3 *db = NULL;
    int rc = CL_ENOTFOUND;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db,
                               "SELECT (SELECT value FROM sync_meta WHERE key = 'username'),"
                               " (SELECT value FROM sync_meta WHERE key = 'server')",
                               -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
            sqlite3_column_text(st, 1)) {
            snprintf(user, ucap, "%s", (const char *)sqlite3_column_text(st, 0));
            snprintf(server, scap, "%s", (const char *)sqlite3_column_text(st, 1));
            rc = CL_OK;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

/* The one mirror of s->server in the default directory (status needs no connection). */
static int find_default_mirror(const cli_settings_t *s, char *path, size_t cap) {
    char probe[4096];
    if (cl_mirror_default_path("*", s->server, probe, sizeof probe) != CL_OK) return CL_ECONFIG;
    glob_t g;
    int found = glob(probe, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
    if (found == 1) snprintf(path, cap, "%s", g.gl_pathv[0]);
    if (found) globfree(&g);
    if (found == 0) {
        cli_errorf("no mirror of %s here yet: run cloop sync (没有镜像，请先运行 cloop sync)",
                   s->server);
        return CL_ENOTFOUND;
    }
    if (found > 1) {
        cli_errorf("several mirrors of %s (one per user): name one with --mirror", s->server);
        return CL_EINVAL;
    }
    return CL_OK;
}

static int64_t scalar(cl_mirror_t *m, const char *sql) {
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(cl_mirror_db(m), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *const status_entities[] = {"companies",
                                              "projects",
                                              "buildings",
                                              "units",
                                              "owners",
                                              "contractors",
                                              "trades",
                                              "project_trades",
                                              "trade_aliases",
                                              "inspection_rounds",
                                              "inspection_records",
                                              "inspection_items",
                                              "item_photos",
                                              "tickets",
                                              "ticket_events",
                                              "defects",
                                              "kb_cases"};

static int sync_status(const cli_settings_t *s, const char *mirror_path) {
    char path[4096], user[128], server[300];
    if (mirror_path)
        snprintf(path, sizeof path, "%s", mirror_path);
    else if (find_default_mirror(s, path, sizeof path) != CL_OK)
        return CLI_EXIT_FAIL;
    if (access(path, F_OK) != 0 || mirror_owner(path, user, sizeof user, server, sizeof server)) {
        cli_errorf("no mirror at %s: run cloop sync (没有镜像，请先运行 cloop sync)", path);
        return CLI_EXIT_FAIL;
    }
    cl_mirror_t *m = NULL;
    char err[512];
    if (cl_mirror_open(path, user, server, &m, err, sizeof err) != CL_OK) {
        cli_errorf("%s", err);
        return CLI_EXIT_FAIL;
    }
    char phase[16] = "", buf[1024], synced[96] = "", cursor[1200] = "";
    int64_t ms = cl_mirror_synced_ms(m);
    if (ms > 0) {
        char when[64];
        cli_format_time_ms((uint64_t)ms, when, sizeof when);
        int64_t ago = ((int64_t)time(NULL) * 1000 - ms) / 60000;
        snprintf(synced, sizeof synced, "%s (%" PRId64 " 分钟前)", when, ago < 0 ? 0 : ago);
    } else {
        snprintf(synced, sizeof synced, "从未 (never)");
    }
    if (!cl_mirror_meta(m, "phase", phase, sizeof phase)) phase[0] = '\0';
    if (!strcmp(phase, "snapshot")) {
        char ent[64] = "";
        if (!cl_mirror_meta(m, "snapshot_entity", ent, sizeof ent)) ent[0] = '\0';
        if (!cl_mirror_meta(m, "snapshot_after", buf, sizeof buf)) buf[0] = '\0';
        snprintf(cursor, sizeof cursor, "snapshot %s after '%s'", ent, buf);
    } else if (!strcmp(phase, "feed")) {
        char xid[32] = "";
        if (!cl_mirror_meta(m, "feed_xid", xid, sizeof xid)) xid[0] = '\0';
        snprintf(cursor, sizeof cursor, "feed %s/%" PRId64, xid,
                 cl_mirror_meta_int(m, "feed_seq", 0));
    }
    static const char *const header[] = {"key", "value"};
    cli_table_t *t = cli_table_new(2, header);
    int rc = t ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    if (t) {
        cli_table_hide_header(t);
        char role[64] = "";
        if (!cl_mirror_meta(m, "role", role, sizeof role)) role[0] = '\0';
        const char *rows[][2] = {{"mirror", path}, {"user", user},     {"server", server},
                                 {"role", role},   {"synced", synced}, {"cursor", cursor}};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0] && rc == CLI_EXIT_OK; i++)
            if (cli_table_add(t, rows[i]) != CL_OK) rc = CLI_EXIT_FAIL;
        for (size_t i = 0; i < sizeof status_entities / sizeof status_entities[0] && rc == 0; i++) {
            char sql[128], n[32], key[80];
            snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", status_entities[i]);
            snprintf(n, sizeof n, "%" PRId64, scalar(m, sql));
            snprintf(key, sizeof key, "rows.%s", status_entities[i]);
            const char *row[2] = {key, n};
            if (cli_table_add(t, row) != CL_OK) rc = CLI_EXIT_FAIL;
        }
        char held[32], pending[32];
        snprintf(held, sizeof held, "%" PRId64, scalar(m, "SELECT count(*) FROM sync_held"));
        snprintf(pending, sizeof pending, "%" PRId64,
                 scalar(m, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending',"
                           " 'conflict', 'failed')"));
        const char *more[][2] = {{"held", held}, {"outbox_unacked", pending}};
        for (size_t i = 0; i < 2 && rc == CLI_EXIT_OK; i++)
            if (cli_table_add(t, more[i]) != CL_OK) rc = CLI_EXIT_FAIL;
        if (rc == CLI_EXIT_OK && cli_table_print(t, s->format, stdout) != CL_OK) {
            cli_errorf("cannot write the output");
            rc = CLI_EXIT_FAIL;
        }
    }
    if (rc != CLI_EXIT_OK && !t) cli_errorf("out of memory");
    cli_table_free(t);
    cl_mirror_close(m);
    return rc;
}

/* ---- pull and follow ---------------------------------------------------------------------- */

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether rc means the connection is gone (a new one may do better). */
static int connection_lost(int rc) {
    return rc == CL_ECLOSED || rc == CL_EIO || rc == CL_ETLS || rc == CL_ETIMEDOUT ||
           rc == CL_ESHUTDOWN || rc == CL_EBADFRAME || rc == CL_EUNAVAIL;
}

int cmd_sync(const cli_settings_t *s, int argc, char **argv) {
    int follow = cli_take_flag(&argc, argv, "--follow");
    int verify = cli_take_flag(&argc, argv, "--verify");
    int status = cli_take_flag(&argc, argv, "--status");
    const char *mirror = NULL, *interval = NULL;
    const cli_optdef_t defs[] = {{"--mirror", &mirror}, {"--interval", &interval}, {NULL, NULL}};
    int npos = 0;
    if (cli_parse_args("sync", argc, argv, defs, NULL, 0, &npos) != 0) return CLI_EXIT_USAGE;
    uint64_t every = SYNC_FOLLOW_INTERVAL_S;
    if (interval && (!follow || cli_parse_u64(interval, 1, 86400, &every) != CL_OK)) {
        cli_errorf("sync: --interval takes 1 to 86400 seconds, with --follow");
        return CLI_EXIT_USAGE;
    }
    if (status && (follow || verify)) {
        cli_errorf("sync: --status only shows the mirror; it goes with --mirror alone");
        return CLI_EXIT_USAGE;
    }
    if (mirror && !*mirror) {
        cli_errorf("sync: --mirror needs a path");
        return CLI_EXIT_USAGE;
    }
    /* The same file the entry and offline commands use without --mirror (cmd_outbox.c). */
    const char *env = getenv("CLOSELOOP_MIRROR");
    if (!mirror && env && *env) mirror = env;
    if (status) return sync_status(s, mirror);

    /* The server computes a whole company's checksums in one statement (3,000,000 rows:
     * over 10 s on a busy machine), and a snapshot page may wait behind the database: the
     * library's 10 s per reply is too short here unless --timeout says otherwise. */
    cli_settings_t sync_settings = *s;
    if (sync_settings.timeout_ms == 0) sync_settings.timeout_ms = SYNC_TIMEOUT_MS;
    s = &sync_settings;
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    char path[4096];
    const char *username = ss.me && ss.me->username ? ss.me->username : "";
    if (mirror)
        snprintf(path, sizeof path, "%s", mirror);
    else if (cl_mirror_default_path(username, s->server, path, sizeof path) != CL_OK) {
        cli_errorf("no home directory for the mirror: give --mirror PATH");
        cli_session_close(&ss);
        return CLI_EXIT_USAGE;
    }
    cl_mirror_t *m = NULL;
    char err[512];
    int lrc = cl_mirror_open(path, username, s->server, &m, err, sizeof err);
    if (lrc != CL_OK) {
        cli_errorf("%s", err);
        cli_session_close(&ss);
        return CLI_EXIT_FAIL;
    }
    /* Offline reads need the user's contractor (a contractor's own to-repair list), and
     * the session's tag, so that offline each user of a shared computer finds this file. */
    char tag[65];
    if ((ss.me && cl_mirror_identity_save(m, ss.me->contractor_id) != CL_OK) ||
        (cli_session_tag(s->server, tag) == CL_OK &&
         cl_mirror_meta_set(m, "session_tag", tag) != CL_OK)) {
        cli_errorf("%s", cl_mirror_error(m));
        cl_mirror_close(m);
        cli_session_close(&ss);
        return CLI_EXIT_FAIL;
    }
    progress_t pr = {.tty = isatty(STDERR_FILENO)};
    cl_sync_opts_t o = {.progress = on_progress, .arg = &pr, .verify = verify != 0};
    double t0 = mono_s();
    lrc = sync_push_outbox_first(m, &ss);
    cl_sync_stats_t st = {0};
    if (lrc == CL_OK && !follow) {
        /* A dropped connection loses nothing (pages are committed with their cursor):
         * reconnect and resume, twice at most. */
        for (int attempt = 0;; attempt++) {
            cl_sync_stats_t one;
            lrc = cl_mirror_pull(m, ss.c, &o, &one);
            st.rows += one.rows;
            st.held += one.held;
            st.bytes += one.bytes;
            st.snapshot = st.snapshot || one.snapshot;
            st.resynced += one.resynced;
            st.unverified += one.unverified;
            if (lrc == CL_OK || attempt == 2 || !connection_lost(lrc)) break;
            progress_end(&pr);
            fprintf(stderr, "cloop: %s; reconnecting to resume\n", cl_mirror_error(m));
            sleep(1);
            cli_session_close(&ss);
            int orc = cli_session_open(s, &ss);
            if (orc != CLI_EXIT_OK) {
                cli_session_close(&ss);
                cl_mirror_close(m);
                return orc; /* cli_session_open said why */
            }
        }
        if (lrc == CL_OK) lrc = cl_mirror_release_held(m, NULL, NULL);
    } else if (lrc == CL_OK) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        fprintf(stderr, "跟随服务器的变更（Ctrl-C 结束）: following %s\n", s->server);
        unsigned backoff = 1;
        int open_rc = CLI_EXIT_OK;
        while (!stop_flag) {
            lrc = cl_mirror_follow(m, ss.c, &o, (int)(every * 1000),
                                   (volatile const int *)&stop_flag);
            if (lrc == CL_OK || stop_flag || !connection_lost(lrc)) break;
            progress_end(&pr);
            fprintf(stderr, "cloop: %s; reconnecting\n", cl_mirror_error(m));
            cli_session_close(&ss);
            /* Poor connectivity is the rule on site: keep trying, 1 s doubling to 60 s. */
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
        }
        if (stop_flag) lrc = CL_OK;
        if (open_rc != CLI_EXIT_OK && !stop_flag) {
            cl_mirror_close(m);
            return open_rc; /* cli_session_open said why */
        }
        if (lrc == CL_OK) lrc = cl_mirror_release_held(m, NULL, NULL);
    }
    progress_end(&pr);
    if (lrc != CL_OK) {
        cli_errorf("%s", cl_mirror_error(m));
        rc = cli_exit_for(lrc);
    } else if (!follow) {
        printf("已同步%s：%" PRIu64 " 行，收到 %.1f MB，用时 %.1f 秒",
               st.snapshot ? "（快照）" : "", st.rows, (double)st.bytes / 1e6, mono_s() - t0);
        if (st.held) printf("，%" PRIu64 " 行等待离线条目确认", st.held);
        if (verify)
            printf("；校验：%u 组不一致已重新同步%s", st.resynced,
                   st.unverified ? "（有离线条目的组未校验）" : "");
        printf("；镜像 %s\n", path);
        if (fflush(stdout) != 0) rc = CLI_EXIT_FAIL;
    }
    cl_mirror_close(m);
    cli_session_close(&ss);
    return rc;
}
