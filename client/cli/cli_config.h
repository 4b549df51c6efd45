/* cli_config.h - where cloop's settings come from: command-line flags, then the
 * environment (CLOSELOOP_SERVER, _CA, _CERT, _KEY, _FORMAT), then the config file
 * (CLOSELOOP_CONFIG, else $XDG_CONFIG_HOME/closeloop/config, else
 * ~/.config/closeloop/config), then defaults. The config file is INI: keys server, ca,
 * cert, key and format, at the top level or in a [client] section; other sections are
 * ignored. Relative paths in the file are taken relative to the file's directory. The
 * resolved settings own their strings; cli_settings_free releases them. */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"
#include "cloop.h"
#include "output.h"

#define CLI_DEFAULT_SERVER "127.0.0.1:7443"

/* What the command line said; NULL / 0 when a flag was not given. */
typedef struct cli_flags {
    const char *server; /* --server HOST[:PORT] */
    const char *ca;     /* --ca FILE */
    const char *cert;   /* --cert FILE */
    const char *key;    /* --key FILE */
    const char *format; /* --format table|csv|json|html */
    int tls12;          /* --tls12 */
    int timeout_ms;     /* --timeout MS; 0: library default */
} cli_flags_t;

/* The settings a command runs with. */
typedef struct cli_settings {
    char host[256];         /* server host name or address */
    uint16_t port;          /* server port */
    char server[300];       /* "host:port" for messages */
    char *ca;               /* CA file, NULL when none is configured anywhere */
    char *cert;             /* client certificate file or NULL */
    char *key;              /* its key or NULL */
    int allow_tls12;        /* offer TLS 1.2 as well */
    int timeout_ms;         /* 0: library default */
    cli_format_t format;    /* output format */
    int pdf;                /* --format pdf (report and list verbs only; format is then HTML's
                               people-facing columns, rendered by pdf.h) */
    char config_path[1024]; /* the config file consulted ("" when none could be named) */
} cli_settings_t;

/* Resolves s from flags, environment, config file and defaults. On failure returns
 * CL_EINVAL (a bad value) or CL_ECONFIG (unreadable or malformed config file) with one
 * sentence in err. */
CL_MUSTCHECK int cli_settings_resolve(const cli_flags_t *f, cli_settings_t *s, char *err,
                                      size_t errlen);
void cli_settings_free(cli_settings_t *s);

/* Fills libcloop connection options from s (pointing into s). Fails with CL_ECONFIG and
 * a sentence telling the user what to do when no CA is configured. */
CL_MUSTCHECK int cli_client_opts(const cli_settings_t *s, cl_client_opts_t *o, char *err,
                                 size_t errlen);

#endif
