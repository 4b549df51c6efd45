/* cli.c - the helpers cli.h declares for every subcommand: error reporting and the
 * option and number parsers. Apart from main.c, so the CLI's parts can be linked into
 * unit tests. Single-threaded; no state. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_errorf(const char *fmt, ...) {
    va_list ap;
    fputs("cloop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_opt_value(int argc, char **argv, int *i, const char *shortopt, const char *longopt,
                  const char **val) {
    const char *a = argv[*i];
    const char *name = NULL;
    if (shortopt && strcmp(a, shortopt) == 0) {
        name = shortopt;
    } else if (longopt && strcmp(a, longopt) == 0) {
        name = longopt;
    } else if (longopt && strncmp(a, longopt, strlen(longopt)) == 0 && a[strlen(longopt)] == '=') {
        *val = a + strlen(longopt) + 1;
        return 1;
    } else if (shortopt && strncmp(a, shortopt, strlen(shortopt)) == 0 && a[strlen(shortopt)]) {
        *val = a + strlen(shortopt);
        return 1;
    } else {
        return 0;
    }
    if (*i + 1 >= argc) {
        cli_errorf("option '%s' needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
    uint64_t v = 0;
    if (!s || !*s) return CL_EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return CL_EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return CL_EINVAL;
        v = v * 10 + d;
    }
    if (v < min || v > max) return CL_EINVAL;
    *out = v;
    return CL_OK;
}

int cli_parse_id(const char *opt, const char *s, int64_t *out) {
    uint64_t v;
    if (cli_parse_u64(s, 1, INT64_MAX, &v) != CL_OK) {
        cli_errorf("invalid %s '%s': give a record id (a positive whole number)", opt, s);
        return CL_EINVAL;
    }
    *out = (int64_t)v;
    return CL_OK;
}
