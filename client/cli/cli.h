/* cli.h - what cloop's subcommands share: exit codes, error reporting, option helpers,
 * passwords, idempotency keys and the subcommand entry points. Each subcommand lives in
 * cmd_<name>.c, receives the resolved settings and its own arguments (global options
 * already removed), and returns an exit code. main.c owns dispatch and --help. */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#include "cl_err.h"
#include "cli_config.h"
#include "output.h"

/* cloop's exit status, the same for every command, so a script can tell "fix the
 * request" (1) from "fix the command line" (2), "log in or ask for the right" (3) and
 * "try again later" (4). A failed request's CL_E* code becomes one of these only through
 * cli_exit_for. */
enum {
    CLI_EXIT_OK = 0,          /* everything worked */
    CLI_EXIT_FAIL = 1,        /* the server answered with an error (not found, invalid,
                                 conflict ...), or a local failure (memory, output, files) */
    CLI_EXIT_USAGE = 2,       /* bad command line or configuration */
    CLI_EXIT_REFUSED = 3,     /* not logged in, session expired, or the role may not */
    CLI_EXIT_UNREACHABLE = 4, /* network, TLS, timeout, or the server unavailable, shutting
                                 down, busy or failing inside */
    CLI_EXIT_NOT_READY = 5,   /* report readiness only: the building has blockers */
};

/* Prints "cloop: <message>" on stderr. */
void cli_errorf(const char *fmt, ...) CL_PRINTF(1, 2);

/* The exit status for a request that failed with rc (a CL_E* code, from a reply or from
 * the connection): CLI_EXIT_REFUSED for CL_EUNAUTH and CL_EFORBIDDEN, CLI_EXIT_UNREACHABLE
 * when the server could not be reached or could not answer, CLI_EXIT_USAGE for
 * CL_ECONFIG, CLI_EXIT_FAIL for any other error; CLI_EXIT_OK for CL_OK. */
int cli_exit_for(int rc);

/* Of two exit statuses, the one to report when a command met both (a batch of requests):
 * unreachable before refused before usage before failed before success. */
int cli_exit_worse(int a, int b);

/* Copies the server's sentence msg into buf with the request fields that a command-line
 * option sets named by the option ("contractor_id is required" -> "--contractor is
 * required"). Returns 1 when the sentence starts with such a field (it is about what the
 * command line said), else 0. */
int cli_wire_to_options(const char *msg, char *buf, size_t len);

/* Reports a failed request, "cloop: <why>" (cl_strerror(rc) when why is NULL or empty),
 * with the fields named by their options (cli_wire_to_options), and returns
 * cli_exit_for(rc); CLI_EXIT_USAGE when an invalid argument is an option's. */
int cli_request_failed(int rc, const char *why);

/* Matches argv[*i] against an option taking a value, in the forms "-n 5", "-n5" (short
 * only), "--count 5" and "--count=5"; shortopt or longopt may be NULL. Returns 1 and
 * sets *val (advancing *i past a separate value), 0 when argv[*i] is something else,
 * -1 when the value is missing (after printing a usage error). */
int cli_opt_value(int argc, char **argv, int *i, const char *shortopt, const char *longopt,
                  const char **val);

/* Parses a decimal integer in [min, max]; CL_OK or CL_EINVAL. */
CL_MUSTCHECK int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a record id (1 to 2^63-1) given to option opt; prints a usage error and
 * returns CL_EINVAL when s is not one. */
CL_MUSTCHECK int cli_parse_id(const char *opt, const char *s, int64_t *out);

/* A password: the environment variable env when it is set, else typed at a no-echo
 * prompt on /dev/tty (twice, and compared, when confirm is set; the terminal is restored
 * on exit and on SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGTSTP). Returns CL_OK, or prints why
 * not and returns CL_EINVAL (no terminal, empty, too long, mismatch) or CL_EIO. */
CL_MUSTCHECK int cli_get_password(const char *env, const char *prompt, int confirm, char *buf,
                                  size_t cap);

/* Unix milliseconds as local time "YYYY-MM-DD HH:MM:SS ZONE" ("" for 0). */
void cli_format_time_ms(uint64_t ms, char *buf, size_t len);

/* A random UUIDv4 ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx") from /dev/urandom, the
 * idempotency key of one invocation's create. CL_OK or CL_EIO. */
CL_MUSTCHECK int cli_uuid4(char out[37]);

int cmd_ping(const cli_settings_t *s, int argc, char **argv);
void cmd_ping_help(FILE *out);
int cmd_info(const cli_settings_t *s, int argc, char **argv);
void cmd_info_help(FILE *out);

/* cmd_auth.c */
int cmd_login(const cli_settings_t *s, int argc, char **argv);
void cmd_login_help(FILE *out);
int cmd_logout(const cli_settings_t *s, int argc, char **argv);
void cmd_logout_help(FILE *out);
int cmd_whoami(const cli_settings_t *s, int argc, char **argv);
void cmd_whoami_help(FILE *out);

/* One verb of a command. */
typedef struct cli_verb {
    const char *name;     /* add, list, assign, import */
    const char *synopsis; /* "cloop company add NAME [--kind ...]" */
    const char *help;     /* what it does, and an example */
    int (*run)(const cli_settings_t *s, int argc, char **argv);
} cli_verb_t;

#define CLI_NVERBS(v) (sizeof v / sizeof v[0])

/* A command made of verbs: `cloop <name> <verb> [arguments]`. */
typedef struct cli_group {
    const char *name;        /* company, round, ... */
    const char *about;       /* what the command is for, under its synopses */
    const cli_verb_t *verbs; /* nverbs of them */
    size_t nverbs;
} cli_group_t;

/* Runs the verb named by argv[0] with the arguments after it; exit 2 when there is none
 * or it is unknown. */
int cli_group_run(const cli_group_t *g, const cli_settings_t *s, int argc, char **argv);

/* The help of verb `sub` of g ("usage: " synopsis, then its help), or the synopses of all
 * verbs and g's about when sub names no verb. Synopses and help may hold
 * cli_help_print()'s placeholders. */
void cli_group_help(FILE *out, const cli_group_t *g, const char *sub);

/* cmd_org.c: the organisation commands. */
extern const cli_group_t cmd_company_group, cmd_project_group, cmd_building_group, cmd_unit_group,
    cmd_contractor_group, cmd_user_group, cmd_trade_group;

/* cmd_import.c: `cloop unit import`, argv after the verb, and its help. */
int cmd_unit_import(const cli_settings_t *s, int argc, char **argv);
extern const char cmd_unit_import_help[];

/* cmd_inspect.c: inspection rounds, items (one, or a day's CSV), handover forms and the
 * handover schedule. */
extern const cli_group_t cmd_round_group, cmd_inspect_group;
/* cmd_calendar.c: the business calendar (days off, make-up days, working hours). */
extern const cli_group_t cmd_calendar_group;

/* cmd_complaint.c: owner complaints. */
extern const cli_group_t cmd_complaint_group;
extern const cli_group_t cmd_warranty_group;
/* cmd_deadline.c: repair deadline presets. */
extern const cli_group_t cmd_deadline_group;
/* cmd_ticket.c: the repair loop (show, morning lists, transitions). */
extern const cli_group_t cmd_ticket_group;
/* cmd_report.c: the daily handover report and the readiness check. */
extern const cli_group_t cmd_report_group;
/* cmd_kb.c: the case knowledge base (search, show, accept, return, retire, import). */
extern const cli_group_t cmd_kb_group;
/* cmd_lesson.c: the check points, lessons and case matching verbs of `cloop kb` (rows of
 * cmd_kb.c's table), and the defect reports of `cloop report`. */
int cmd_kb_checklist(const cli_settings_t *s, int argc, char **argv);
int cmd_kb_lessons(const cli_settings_t *s, int argc, char **argv);
int cmd_kb_match(const cli_settings_t *s, int argc, char **argv);
extern const char cmd_kb_checklist_synopsis[], cmd_kb_checklist_help[];
extern const char cmd_kb_lessons_synopsis[], cmd_kb_lessons_help[];
extern const char cmd_kb_match_synopsis[], cmd_kb_match_help[];
int cmd_report_defects(const cli_settings_t *s, int argc, char **argv);
int cmd_report_periodic(const cli_settings_t *s, int argc, char **argv);
/* cmd_sync.c: the desktop's mirror (sync, --follow, --verify, --status). */
int cmd_sync(const cli_settings_t *s, int argc, char **argv);
void cmd_sync_help(FILE *out);
/* cmd_stats.c: HQ statistics and the contractors' scorecards (`cloop stats [scorecard]`). */
int cmd_stats(const cli_settings_t *s, int argc, char **argv);
void cmd_stats_help(FILE *out);
/* cmd_watch.c: the notices the server pushes, as they come (`cloop watch`). */
int cmd_watch(const cli_settings_t *s, int argc, char **argv);
void cmd_watch_help(FILE *out);
/* cmd_defect.c: defect feedback and departments. */
extern const cli_group_t cmd_defect_group, cmd_dept_group;

/* cmd_outbox.c: the offline outbox (list, push, conflicts, resolve), and what the entry
 * commands use to queue an entry when the server cannot be reached. */
extern const cli_group_t cmd_outbox_group;
struct cl_mirror;
struct cli_session;
/* Opens the mirror: opt (--mirror), else $CLOSELOOP_MIRROR, else username's default path
 * on s->server, else (username NULL: offline) the one mirror of s->server on this
 * computer. CLI_EXIT_OK, or the exit code after saying why not. */
int cli_mirror_open(const cli_settings_t *s, const char *opt, const char *username,
                    struct cl_mirror **m);
/* Whether a request that failed with rc could not reach the server (the connection failed
 * or dropped, or the server is unavailable): such a request is queued, a refusal never. */
int cli_outbox_unreachable(int rc);
/* Says on stderr that entry id was queued: "已存入离线待发队列 outbox #N：what ...". */
void cli_outbox_said(int64_t id, const char *what);
/* Pushes m's pending entries over the session and prints the counts; the exit code. */
int cli_outbox_push(const cli_settings_t *s, struct cli_session *ss, struct cl_mirror *m);

#endif
