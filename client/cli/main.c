/* main.c - the cloop command: global options, subcommand dispatch, --help and --version.
 *
 * Global options may come before or after the subcommand; main takes them out and
 * hands the subcommand only its own arguments. Settings (flags > environment > config
 * file > defaults) are resolved only once a subcommand is about to run, so --help works
 * even with a broken config file. Exit codes (cli.h): 0 ok, 1 the server answered with an
 * error, 2 usage, 3 refused, 4 the server could not be reached or could not answer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "frame.h"
#include "pdf.h"

#ifndef CL_VERSION
#define CL_VERSION "unknown"
#endif

typedef struct cli_cmd {
    const char *name;                                           /* as typed */
    const char *summary;                                        /* one line for the command list */
    int (*run)(const cli_settings_t *s, int argc, char **argv); /* a command without verbs */
    void (*help)(FILE *out);                                    /* its help */
    const cli_group_t *group;                                   /* or a command with verbs */
} cli_cmd_t;

static const cli_cmd_t commands[] = {
    {"ping", "check that the server answers, or measure latency and throughput", cmd_ping,
     cmd_ping_help, NULL},
    {"info", "show the server's version, uptime, load and this connection's TLS", cmd_info,
     cmd_info_help, NULL},
    {"login", "log in and keep the session for later commands", cmd_login, cmd_login_help, NULL},
    {"logout", "end the session and delete its stored token", cmd_logout, cmd_logout_help, NULL},
    {"whoami", "show the logged-in user, role and scope", cmd_whoami, cmd_whoami_help, NULL},
    {"company", "add or list companies (HQ, city, project companies)", NULL, NULL,
     &cmd_company_group},
    {"project", "add or list projects", NULL, NULL, &cmd_project_group},
    {"building", "add or list a project's buildings", NULL, NULL, &cmd_building_group},
    {"unit", "add, list or import (CSV) units and owners", NULL, NULL, &cmd_unit_group},
    {"contractor", "add or list contractors and their trades", NULL, NULL, &cmd_contractor_group},
    {"user", "add or list users", NULL, NULL, &cmd_user_group},
    {"trade", "assign a project's trades to contractors, or list them", NULL, NULL,
     &cmd_trade_group},
    {"round", "plan or list a project's inspection rounds", NULL, NULL, &cmd_round_group},
    {"inspect", "record inspection items, a day's CSV, handover forms, the schedule", NULL, NULL,
     &cmd_inspect_group},
    {"deadline", "set or list a project's repair deadline presets", NULL, NULL,
     &cmd_deadline_group},
    {"ticket", "the repair loop: show, morning lists, repaired, verify, reassign ...", NULL, NULL,
     &cmd_ticket_group},
    {"report", "daily handover, readiness, defect feedback and periodic reports", NULL, NULL,
     &cmd_report_group},
    {"stats", "HQ statistics by company, project, contractor, month ...; scorecards", cmd_stats,
     cmd_stats_help, NULL},
    {"kb", "the case knowledge base: search, HQ's curation, check points, lessons", NULL, NULL,
     &cmd_kb_group},

    {"dept", "add or list departments, set a department's leader", NULL, NULL, &cmd_dept_group},
    {"defect", "defect feedback: add, from-items, show, proposals, the decision workflow", NULL,
     NULL, &cmd_defect_group},
    {"sync", "keep the local mirror up to date (offline reads), follow, verify, status", cmd_sync,
     cmd_sync_help, NULL},
    {"outbox", "entries kept offline: list, push, conflicts, resolve", NULL, NULL,
     &cmd_outbox_group},
    {"calendar", "the business calendar: import days off, list, working hours, a deadline", NULL,
     NULL, &cmd_calendar_group},
    {"complaint", "owner complaints: add, list, show, reply, pause, escalate, close, revisit", NULL,
     NULL, &cmd_complaint_group},
    {"watch", "print the notices meant for you as they arrive (assignments, warnings ...)",
     cmd_watch, cmd_watch_help, NULL},
    {"warranty", "warranty repairs: add, respond, list, show; the office's letters, deductions",
     NULL, NULL, &cmd_warranty_group},
};

static void command_help(const cli_cmd_t *c, FILE *out, const char *sub) {
    if (c->group)
        cli_group_help(out, c->group, sub);
    else
        c->help(out);
}

static void main_help(FILE *out) {
    fprintf(out, "usage: cloop [global options] <command> [command options]\n"
                 "\n"
                 "Client for closeloopd, the closeloop defect-loop service.\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "global options (before or after the command):\n"
            "  --server HOST[:PORT]  server to talk to (default " CLI_DEFAULT_SERVER ")\n"
            "  --ca FILE             CA certificate that signed the server's certificate\n"
            "  --cert FILE           client certificate to present (with --key)\n"
            "  --key FILE            private key of the client certificate\n"
            "  --tls12               allow TLS 1.2 (default: TLS 1.3 only)\n"
            "  --timeout MS          connect and reply timeout (default 10000)\n"
            "  --format FORMAT       output as table (default), csv, json or html;\n"
            "                        pdf for printed reports and lists (" CLI_PDF_VERBS ")\n"
            "  -h, --help            show help (also after a command)\n"
            "  --version             show the version\n"
            "\n"
            "Settings come from flags, then the environment (CLOSELOOP_SERVER, CLOSELOOP_CA,\n"
            "CLOSELOOP_CERT, CLOSELOOP_KEY, CLOSELOOP_FORMAT), then the config file\n"
            "(CLOSELOOP_CONFIG, default ~/.config/closeloop/config; INI with the keys server,\n"
            "ca, cert, key and format, optionally under [client]).\n"
            "\n"
            "Every command from whoami on needs a session: 'cloop login USER' keeps one\n"
            "token per server in $XDG_CONFIG_HOME/closeloop/session (default\n"
            "~/.config/closeloop/session, mode 0600); 'cloop logout' deletes it.\n"
            "\n"
            "exit status:\n"
            "  0  success\n"
            "  1  the server answered with an error (not found, invalid, conflict, a\n"
            "     rejected import chunk), or a local failure (cannot write the output)\n"
            "  2  usage or configuration error\n"
            "  3  refused: not logged in, the session expired, or your role may not do this\n"
            "  4  the server could not be reached or could not answer: network, TLS,\n"
            "     timeout, server unavailable, shutting down or failing inside; try again\n"
            "  (report readiness also exits 5 when the building is NOT ready)\n"
            "Run 'cloop <command> --help' for a command's options.\n");
}

static const cli_cmd_t *find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static int is_help(const char *a) {
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("cloop: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'cloop --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
    cli_flags_t flags;
    memset(&flags, 0, sizeof flags);
    const char *cmd_name = NULL;
    int help = 0, version = 0, sub_help = 0, dashdash = 0;
    char **sub = calloc((size_t)argc + 1, sizeof *sub);
    int nsub = 0, rc = CLI_EXIT_USAGE;
    if (!sub) {
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }

    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        const char *v = NULL;
        int m = 0;
        if (dashdash) {
            if (!cmd_name)
                cmd_name = a;
            else
                sub[nsub++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = 1;
            if (cmd_name) sub[nsub++] = a;
            continue;
        }
        if ((m = cli_opt_value(argc, argv, &i, NULL, "--server", &v)) != 0) {
            flags.server = v;
        } else if ((m = cli_opt_value(argc, argv, &i, NULL, "--ca", &v)) != 0) {
            flags.ca = v;
        } else if ((m = cli_opt_value(argc, argv, &i, NULL, "--cert", &v)) != 0) {
            flags.cert = v;
        } else if ((m = cli_opt_value(argc, argv, &i, NULL, "--key", &v)) != 0) {
            flags.key = v;
        } else if ((m = cli_opt_value(argc, argv, &i, NULL, "--format", &v)) != 0) {
            flags.format = v;
        } else if ((m = cli_opt_value(argc, argv, &i, NULL, "--timeout", &v)) != 0) {
            uint64_t ms;
            if (m > 0 && cli_parse_u64(v, 1, 3600000, &ms) != CL_OK) {
                rc = usage_error("invalid --timeout '%s': give milliseconds, 1 to 3600000", v);
                goto out;
            }
            if (m > 0) flags.timeout_ms = (int)ms;
        } else if (strcmp(a, "--tls12") == 0) {
            flags.tls12 = 1;
        } else if (strcmp(a, "--version") == 0) {
            version = 1;
        } else if (is_help(a)) {
            if (cmd_name)
                sub_help = 1;
            else
                help = 1;
        } else if (!cmd_name && a[0] == '-' && a[1] != '\0') {
            rc = usage_error("unknown option '%s'", a);
            goto out;
        } else if (!cmd_name) {
            cmd_name = a;
        } else {
            sub[nsub++] = a;
        }
        if (m < 0) goto out;
    }
    if (version) {
        printf("cloop %s (closeloop protocol %d)\n", CL_VERSION, CL_FRAME_VERSION);
        rc = CLI_EXIT_OK;
        goto out;
    }
    if (cmd_name && strcmp(cmd_name, "help") == 0) {
        /* "cloop help [command]" */
        const cli_cmd_t *c = nsub > 0 ? find_command(sub[0]) : NULL;
        if (nsub > 0 && !c) {
            rc = usage_error("unknown command '%s'", sub[0]);
            goto out;
        }
        if (c)
            command_help(c, stdout, nsub > 1 ? sub[1] : NULL);
        else
            main_help(stdout);
        rc = CLI_EXIT_OK;
        goto out;
    }
    if (!cmd_name) {
        if (help) {
            main_help(stdout);
            rc = CLI_EXIT_OK;
        } else {
            main_help(stderr);
            rc = CLI_EXIT_USAGE;
        }
        goto out;
    }
    const cli_cmd_t *cmd = find_command(cmd_name);
    if (!cmd) {
        rc = usage_error("unknown command '%s'", cmd_name);
        goto out;
    }
    if (help || sub_help) {
        command_help(cmd, stdout, nsub > 0 ? sub[0] : NULL);
        rc = CLI_EXIT_OK;
        goto out;
    }

    /* PDF is a format of a few printed verbs only (pdf_reports.c); they lay out the same
     * people-facing columns as HTML. */
    int pdf = 0;
    if (flags.format && strcmp(flags.format, "pdf") == 0) {
        if (!cli_pdf_supported(cmd_name, nsub > 0 ? sub[0] : NULL)) {
            rc = usage_error("--format pdf is for: %s", CLI_PDF_VERBS);
            goto out;
        }
        pdf = 1;
        flags.format = "html";
    }
    if (flags.format) {
        cli_format_t f;
        if (cli_format_parse(flags.format, &f) != CL_OK) {
            rc = usage_error("unknown --format '%s': use table, csv, json or html", flags.format);
            goto out;
        }
    }
    cli_settings_t settings;
    char err[512];
    if (cli_settings_resolve(&flags, &settings, err, sizeof err) != CL_OK) {
        cli_errorf("%s", err);
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    settings.pdf = pdf;
    sub[nsub] = NULL;
    rc = cmd->group ? cli_group_run(cmd->group, &settings, nsub, sub)
                    : cmd->run(&settings, nsub, sub);
    cli_settings_free(&settings);
out:
    free(sub);
    return rc;
}
