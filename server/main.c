/* main.c - closeloopd's entry point: command line, configuration, signals, and the one
 * libuv loop that runs everything. SIGTERM or SIGINT drains the server and exits 0, or 1
 * when the drain had to cut connections at drain_timeout_ms. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "calendar_check.h"
#include "change_notify.h"
#include "cl_sql.h"
#include "complaint.h"
#include "config.h"
#include "db.h"
#include "dispatch.h"
#include "frame.h"
#include "log.h"
#include "migrate.h"
#include "notice.h"
#include "password.h"
#include "server.h"
#include "session.h"
#include "session_notify.h"
#include "stats_merge.h"
#include "warranty.h"

struct daemon {
    uv_loop_t loop;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    cl_server_t *srv;
    cl_db_t *db;                 /* main pool, NULL without db.conninfo */
    cl_db_t *analytics;          /* NULL when it is the main pool */
    cl_session_purge_t *purge;   /* the retention purge, with a database */
    cl_session_notify_t *notify; /* session changes from every daemon, with a database */
    cl_change_notify_t *changes; /* the sync push: change_log commits of every daemon */
    cl_notice_push_t *notices;   /* notices pushed to watchers (cloop watch) */
    cl_stats_merge_t *stats;     /* the statistics merge timer, with a database */
    /* The December calendar check, with a database. */
    cl_calendar_check_t *calendar;
    cl_complaint_alerts_t *complaint_alerts; /* complaint warnings and breaches */
    cl_warranty_ladder_t *warranty_ladder;   /* warranty reports' response ladder */
};

/* Every statement table prepared on the pools' connections. */

static void usage(FILE *out) {
    fprintf(out,
            "usage: closeloopd [--config FILE] [--check-config | --migrate |\n"
            "                   --bootstrap-admin USER] [--help] [--version]\n"
            "\n"
            "The closeloop daemon: serves the defect-loop workflow over TLS.\n"
            "\n"
            "  -c, --config FILE   read settings from an INI file (see docs/OPERATIONS.md)\n"
            "      --check-config  load and check the configuration, then exit\n"
            "      --migrate       apply pending database migrations, then exit\n"
            "      --bootstrap-admin USER\n"
            "                      apply migrations, create or reset the HQ administrator\n"
            "                      USER with the password in CLOSELOOP_PASSWORD, then exit\n"
            "  -h, --help          show this help\n"
            "  -V, --version       show the version\n"
            "\n"
            "Every setting can be overridden by CLOSELOOP_<SECTION>_<KEY>, e.g.\n"
            "CLOSELOOP_SERVER_PORT=7443; CLOSELOOP_PORT and CLOSELOOP_LISTEN are short forms.\n"
            "Default certificate paths are under $CLOSELOOP_HOME (default: var).\n"
            "SIGTERM or SIGINT stops accepting, finishes in-flight requests and exits 0\n"
            "(1 when connections had to be cut at server.drain_timeout_ms).\n");
}

static struct daemon *the_daemon;

static void on_db_closed(void *arg) {
    (void)arg;
}

static void on_drained(cl_server_t *srv) {
    /* In-flight requests have answered; now the pools can go. */
    cl_session_purge_stop(the_daemon->purge);
    cl_session_notify_stop(the_daemon->notify);
    cl_change_notify_stop(the_daemon->changes);
    cl_notice_push_stop(the_daemon->notices);
    cl_stats_merge_stop(the_daemon->stats);
    cl_calendar_check_stop(the_daemon->calendar);
    cl_complaint_alerts_stop(the_daemon->complaint_alerts);
    cl_warranty_ladder_stop(the_daemon->warranty_ladder);
    if (the_daemon->db) cl_db_close(the_daemon->db, on_db_closed, NULL);
    if (the_daemon->analytics) cl_db_close(the_daemon->analytics, on_db_closed, NULL);
    /* Signals stay handled until now, so a second SIGTERM cannot cut the drain short. */
    uv_close((uv_handle_t *)&the_daemon->sigterm, NULL);
    uv_close((uv_handle_t *)&the_daemon->sigint, NULL);
    signal(SIGTERM, SIG_IGN); /* we are exiting anyway; let teardown finish */
    signal(SIGINT, SIG_IGN);
    cl_log_info("stopped", "exit=%d", cl_server_drain_timed_out(srv) ? 1 : 0);
}

/* Every connection needs a descriptor: the soft limit is raised towards the hard one so
 * that max_connections can be reached (libuv refuses accepts beyond it). */
static void raise_fd_limit(const cl_config_t *cfg) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)cfg->max_connections + 2 * (rlim_t)cfg->db_pool_size + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        cl_log_warn("fd_limit_low", "limit=%llu max_connections=%u",
                    (unsigned long long)rl.rlim_cur, cfg->max_connections);
}

static void on_signal(uv_signal_t *h, int signum) {
    struct daemon *d = h->data;
    cl_log_info("signal", "signal=%s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    cl_server_drain(d->srv, on_drained); /* a repeated signal is a no-op */
}

int main(int argc, char **argv) {
    static const struct option long_opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"migrate", no_argument, NULL, 'm'},
        {"bootstrap-admin", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *admin = NULL;
    int migrate_only = 0;
    int check_only = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'k': check_only = 1; break;
        case 'm': migrate_only = 1; break;
        case 'b': admin = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("closeloopd %s (protocol %d)\n", CL_VERSION, CL_FRAME_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "closeloopd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    static cl_config_t cfg;
    char err[1024];
    cl_config_defaults(&cfg);
    if ((config_path && cl_config_load_file(&cfg, config_path, err, sizeof err) != CL_OK) ||
        cl_config_apply_env(&cfg, err, sizeof err) != CL_OK ||
        cl_config_validate(&cfg, err, sizeof err) != CL_OK) {
        fprintf(stderr, "closeloopd: %s\n", err);
        return 2;
    }
    cl_log_set_level(cfg.log_level);
    cl_config_log(&cfg);
    if (check_only) {
        printf("closeloopd: configuration is valid\n");
        return 0;
    }

    if (cfg.db_conninfo[0]) {
        int applied = 0;
        if (cl_migrate(cfg.db_conninfo, &applied, err, sizeof err) != CL_OK) {
            cl_log_error("migrate_failed", "error=\"%s\"", err);
            fprintf(stderr, "closeloopd: %s\n", err);
            return 1;
        }
        cl_log_info("migrated", "applied=%d", applied);
        if (!migrate_only && !admin &&
            cl_migrate_check_statements(cfg.db_conninfo, cl_sql_stmts, CL_SQL__COUNT, err,
                                        sizeof err) != CL_OK) {
            cl_log_error("statements_disagree", "error=\"%s\"", err);
            fprintf(stderr, "closeloopd: %s\n", err);
            return 1;
        }
    } else if (migrate_only || admin) {
        fprintf(stderr, "closeloopd: db.conninfo is not set (CLOSELOOP_DB_CONNINFO)\n");
        return 2;
    } else {
        cl_log_warn("no_database",
                    "reason=\"db.conninfo is not set; only ping and info are served\"");
    }
    if (migrate_only) return 0;
    if (admin) {
        const char *pw = getenv("CLOSELOOP_PASSWORD");
        char hash[CL_PASSWORD_HASH_MAX];
        if (!pw || cl_password_hash(pw, hash, sizeof hash) != CL_OK) {
            fprintf(stderr,
                    "closeloopd: set CLOSELOOP_PASSWORD to the administrator's password "
                    "(%d to %d characters)\n",
                    CL_PASSWORD_MIN_LEN, CL_PASSWORD_MAX_LEN);
            return 2;
        }
        if (cl_bootstrap_admin(cfg.db_conninfo, admin, hash, err, sizeof err) != CL_OK) {
            fprintf(stderr, "closeloopd: %s\n", err);
            return 1;
        }
        printf("closeloopd: administrator %s is ready\n", admin);
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(&cfg);
    struct daemon d;
    memset(&d, 0, sizeof d);
    the_daemon = &d;
    uv_loop_init(&d.loop);
    if (cl_server_start(&d.loop, &cfg, &d.srv, err, sizeof err) != CL_OK) {
        cl_log_error("start_failed", "error=\"%s\"", err);
        fprintf(stderr, "closeloopd: %s\n", err);
        uv_loop_close(&d.loop);
        return 1;
    }
    if (cfg.db_conninfo[0]) {
        cl_db_opts_t o = {.conninfo = cfg.db_conninfo,
                          .pool_size = cfg.db_pool_size,
                          .statement_timeout_ms = cfg.db_statement_timeout_ms,
                          .stmts = cl_sql_stmts,
                          .nstmts = CL_SQL__COUNT,
                          .name = "main"};
        int rc = cl_db_start(&d.loop, &o, &d.db, err, sizeof err);
        if (rc == CL_OK && cfg.db_analytics_conninfo[0]) {
            o.conninfo = cfg.db_analytics_conninfo;
            o.name = "analytics";
            rc = cl_db_start(&d.loop, &o, &d.analytics, err, sizeof err);
        }
        if (rc != CL_OK) {
            fprintf(stderr, "closeloopd: %s\n", err);
            return 1;
        }
        cl_server_set_db(d.srv, d.db, d.analytics);
        d.purge = cl_session_purge_start(&d.loop, d.db, &cfg);
        d.notify = cl_session_notify_start(&d.loop, cfg.db_conninfo, d.srv);
        d.changes = cl_change_notify_start(&d.loop, cfg.db_conninfo, d.srv);
        d.notices = cl_notice_push_start(&d.loop, cfg.db_conninfo, d.srv, d.db);
        d.stats = cl_stats_merge_start(&d.loop, d.db, &cfg);
        d.calendar = cl_calendar_check_start(&d.loop, d.db);
        d.complaint_alerts = cl_complaint_alerts_start(&d.loop, d.db);
        d.warranty_ladder = cl_warranty_ladder_start(&d.loop, d.db);
        if (!d.purge || !d.notify || !d.changes || !d.stats || !d.calendar || !d.complaint_alerts ||
            !d.notices || !d.warranty_ladder) {
            fprintf(stderr, "closeloopd: out of memory\n");
            return 1;
        }
    }
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    cl_log_info("listening", "addr=%s port=%u version=%s tls12=%s client_cert=%s", cfg.listen,
                cfg.port, CL_VERSION, cfg.tls_allow_tls12 ? "allowed" : "refused",
                cfg.tls_require_client_cert ? "required" : (cfg.tls_ca[0] ? "optional" : "off"));

    uv_run(&d.loop, UV_RUN_DEFAULT);
    int status = cl_server_drain_timed_out(d.srv) ? 1 : 0;
    cl_server_free(d.srv);
    cl_db_free(d.db);
    cl_db_free(d.analytics);
    int rc = uv_loop_close(&d.loop);
    if (rc != 0) {
        cl_log_error("loop_close_failed", "error=%s", uv_err_name(rc));
        return 1;
    }
    return status;
}
