/* cli_util.h - helpers shared by cloop's subcommand files: splitting a verb's arguments
 * into options and positionals, common value checks (ids, dates, trade codes, UTF-8),
 * verb tables with their --help, printing a result table and fresh idempotency keys.
 * Moved here from cmd_org.c so cmd_inspect.c (and others) use the same behaviour and the
 * same messages. Single-threaded; nothing here keeps state between calls. */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* One option of a verb: "--name" and where its value goes. */
typedef struct cli_optdef {
    const char *name;
    const char **val;
} cli_optdef_t;

/* Splits argv into the verb's options and at most maxpos positional arguments ("--" ends
 * the options). Prints a usage error naming `what` and returns -1 on anything
 * unexpected, else 0. */
int cli_parse_args(const char *what, int argc, char **argv, const cli_optdef_t *defs,
                   const char **pos, int maxpos, int *npos);

/* 0 when v is a non-empty value; else prints "<what>: <opt> is required" and returns -1. */
int cli_need(const char *what, const char *opt, const char *v);

/* An optional id option: *out = 0 when v is NULL. 0, or -1 after a usage error. */
int cli_opt_id(const char *opt, const char *v, int64_t *out);

/* Whether s is a trade code: [a-z][a-z0-9_]{1,39}. */
int cli_trade_code_ok(const char *s);

/* Whether s is YYYY-MM-DD naming a real day (years 1900-2999). */
int cli_date_ok(const char *s);

/* 0 when v is valid UTF-8 without NUL; else prints a usage error and returns -1. */
int cli_utf8_arg_ok(const char *what, const char *v);

/* Whether s is a UUID in the 8-4-4-4-12 hex form (any version, either case). */
int cli_uuid_ok(const char *s);

/* A fresh UUIDv4 idempotency key into key: 0, or -1 after printing why not. */
int cli_new_key(char key[37]);

/* Prints t in the chosen format on stdout: CLI_EXIT_OK, or CLI_EXIT_FAIL after saying
 * the output could not be written. */
int cli_print_table(const cli_settings_t *s, const cli_table_t *t);

/* Trimmed, case-folded comparison of a CSV header cell (len bytes) with a column name. */
int cli_header_is(const char *cell, size_t len, const char *name);

/* One verb of a command. */
typedef struct cli_verb {
    const char *name;     /* add, list, assign, import */
    const char *synopsis; /* "cloop company add NAME [--kind ...]" */
    const char *help;     /* what it does, and an example */
    int (*run)(const cli_settings_t *s, int argc, char **argv);
} cli_verb_t;

#define CLI_NVERBS(v) (sizeof v / sizeof v[0])

/* The help of verb `sub` of cmd, or the command's synopses and `about` when sub names
 * no verb. */
void cli_group_help(FILE *out, const char *cmd, const char *about, const cli_verb_t *verbs,
                    size_t n, const char *sub);

/* Runs the verb named by argv[0] with the arguments after it; exit 2 when there is none
 * or it is unknown. */
int cli_run_verb(const char *cmd, const cli_verb_t *verbs, size_t n, const cli_settings_t *s,
                 int argc, char **argv);

#endif
