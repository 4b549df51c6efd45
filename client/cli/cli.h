/* cli.h - what cloop's subcommands share: exit codes, error reporting, option helpers
 * and the subcommand entry points. Each subcommand lives in cmd_<name>.c, receives the
 * resolved settings and its own arguments (global options already removed), and
 * returns an exit code. main.c owns dispatch and --help. */
#ifndef CLI_H
#define CLI_H

#include <stdint.h>
#include <stdio.h>

#include "cl_err.h"
#include "cli_config.h"
#include "output.h"

enum {
    CLI_EXIT_OK = 0,    /* everything worked */
    CLI_EXIT_FAIL = 1,  /* the request failed (network, TLS, server error) */
    CLI_EXIT_USAGE = 2, /* bad command line or configuration */
};

/* Prints "cloop: <message>" on stderr. */
void cli_errorf(const char *fmt, ...) CL_PRINTF(1, 2);

/* Matches argv[*i] against an option taking a value, in the forms "-n 5", "-n5" (short
 * only), "--count 5" and "--count=5"; shortopt or longopt may be NULL. Returns 1 and
 * sets *val (advancing *i past a separate value), 0 when argv[*i] is something else,
 * -1 when the value is missing (after printing a usage error). */
int cli_opt_value(int argc, char **argv, int *i, const char *shortopt, const char *longopt,
                  const char **val);

/* Parses a decimal integer in [min, max]; CL_OK or CL_EINVAL. */
CL_MUSTCHECK int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

int cmd_ping(const cli_settings_t *s, int argc, char **argv);
void cmd_ping_help(FILE *out);
int cmd_info(const cli_settings_t *s, int argc, char **argv);
void cmd_info_help(FILE *out);

#endif
