/* cli_config.c - cloop settings resolution: flags > environment > config file > defaults.
 *
 * The config file is parsed with libinih through a line-counting reader, so an error
 * in it can be reported as FILE:LINE. A missing file is normal (most users have none);
 * an unreadable or malformed one is an error, never silently ignored. Runs once at
 * start-up on the main thread. */
#include "cli_config.h"

#include <errno.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The values read from the config file, and where an error in it was. */
typedef struct file_values {
    char *v[5];    /* indexed by key_index(): server, ca, cert, key, format */
    int line;      /* line the reader is on */
    int completed; /* lines fully read */
    FILE *fp;      /* the file */
    int err_line;  /* first line the handler rejected, 0 if none */
    char err[256]; /* why */
} file_values_t;

enum { K_SERVER, K_CA, K_CERT, K_KEY, K_FORMAT, K_COUNT };
static const char *const key_names[K_COUNT] = {"server", "ca", "cert", "key", "format"};
static const char *const env_names[K_COUNT] = {"CLOSELOOP_SERVER", "CLOSELOOP_CA", "CLOSELOOP_CERT",
                                               "CLOSELOOP_KEY", "CLOSELOOP_FORMAT"};

static char *line_reader(char *str, int num, void *stream) {
    file_values_t *fv = stream;
    fv->line = fv->completed + 1;
    char *r = fgets(str, num, fv->fp);
    if (r) {
        size_t n = strlen(r);
        if (n > 0 && r[n - 1] == '\n') fv->completed++;
    }
    return r;
}

static int on_ini(void *user, const char *section, const char *name, const char *value) {
    file_values_t *fv = user;
    if (section[0] != '\0' && strcasecmp(section, "client") != 0) return 1;
    for (int k = 0; k < K_COUNT; k++) {
        if (strcasecmp(name, key_names[k]) != 0) continue;
        free(fv->v[k]);
        fv->v[k] = value[0] ? strdup(value) : NULL;
        if (value[0] && !fv->v[k]) {
            if (!fv->err_line) {
                fv->err_line = fv->line;
                snprintf(fv->err, sizeof fv->err, "out of memory");
            }
            return 0;
        }
        return 1;
    }
    if (!fv->err_line) {
        fv->err_line = fv->line;
        snprintf(fv->err, sizeof fv->err,
                 "unknown setting '%.64s' (known: server, ca, cert, key, format)", name);
    }
    return 0;
}

static const char *home_dir(void) {
    const char *h = getenv("HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

/* The config file path: CLOSELOOP_CONFIG, else the XDG location. "" if none. */
static void config_path(char *buf, size_t len) {
    const char *p = getenv("CLOSELOOP_CONFIG");
    buf[0] = '\0';
    if (p && *p) {
        snprintf(buf, len, "%s", p);
        return;
    }
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/') {
        snprintf(buf, len, "%s/closeloop/config", xdg);
        return;
    }
    const char *home = home_dir();
    if (home) snprintf(buf, len, "%s/.config/closeloop/config", home);
}

static int read_config(const char *path, file_values_t *fv, char *err, size_t errlen) {
    if (!path[0]) return CL_OK;
    fv->fp = fopen(path, "r");
    if (!fv->fp) {
        if (errno == ENOENT) return CL_OK; /* no config file: defaults it is */
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return CL_ECONFIG;
    }
    int rc = ini_parse_stream(line_reader, fv, on_ini, fv);
    fclose(fv->fp);
    fv->fp = NULL;
    if (rc == 0) return CL_OK;
    if (rc > 0)
        snprintf(err, errlen, "%s:%d: %s", path, rc,
                 rc == fv->err_line ? fv->err : "syntax error (expected [section] or key = value)");
    else
        snprintf(err, errlen, "cannot read config file %s", path);
    return CL_ECONFIG;
}

/* A path value: "~/x" is under $HOME; a relative path from the config file is taken
 * relative to the file's directory. Returns a malloc'd string or NULL. */
static char *resolve_path(const char *v, const char *from_file) {
    size_t need;
    char *out;
    if (v[0] == '~' && v[1] == '/') {
        const char *home = home_dir();
        if (home) {
            need = strlen(home) + strlen(v);
            if ((out = malloc(need))) snprintf(out, need, "%s%s", home, v + 1);
            return out;
        }
    }
    if (from_file && v[0] != '/') {
        const char *slash = strrchr(from_file, '/');
        if (slash) {
            int dlen = (int)(slash - from_file);
            need = (size_t)dlen + strlen(v) + 2;
            if ((out = malloc(need))) snprintf(out, need, "%.*s/%s", dlen, from_file, v);
            return out;
        }
    }
    return strdup(v);
}

/* Picks key k: flag, then environment, then file. *src names where it came from. */
static const char *pick(int k, const char *flag, const file_values_t *fv, const char **src,
                        int *from_file) {
    *from_file = 0;
    if (flag) {
        *src = NULL;
        return flag;
    }
    const char *e = getenv(env_names[k]);
    if (e && *e) {
        *src = env_names[k];
        return e;
    }
    if (fv->v[k]) {
        *src = "the config file";
        *from_file = 1;
        return fv->v[k];
    }
    return NULL;
}

int cli_settings_resolve(const cli_flags_t *f, cli_settings_t *s, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    file_values_t fv;
    memset(&fv, 0, sizeof fv);
    int rc = CL_OK;
    config_path(s->config_path, sizeof s->config_path);
    if ((rc = read_config(s->config_path, &fv, err, errlen)) < 0) goto out;

    const char *src, *v;
    int ff;
    static const char *const flag_names[K_COUNT] = {"--server", "--ca", "--cert", "--key",
                                                    "--format"};
    const char *flags[K_COUNT] = {f->server, f->ca, f->cert, f->key, f->format};

    v = pick(K_SERVER, flags[K_SERVER], &fv, &src, &ff);
    if (!v) v = CLI_DEFAULT_SERVER, src = "the default";
    s->port = CL_DEFAULT_PORT;
    if (cl_parse_server(v, s->host, sizeof s->host, &s->port) != CL_OK) {
        snprintf(err, errlen, "invalid server address '%.200s' (from %s): use HOST or HOST:PORT", v,
                 src ? src : flag_names[K_SERVER]);
        rc = CL_EINVAL;
        goto out;
    }
    snprintf(s->server, sizeof s->server, strchr(s->host, ':') ? "[%s]:%u" : "%s:%u", s->host,
             (unsigned)s->port);

    char **dst[] = {NULL, &s->ca, &s->cert, &s->key};
    for (int k = K_CA; k <= K_KEY; k++) {
        v = pick(k, flags[k], &fv, &src, &ff);
        if (!v || !*v) continue;
        if (!(*dst[k] = resolve_path(v, ff ? s->config_path : NULL))) {
            snprintf(err, errlen, "out of memory");
            rc = CL_ENOMEM;
            goto out;
        }
    }

    s->format = CLI_FMT_TABLE;
    v = pick(K_FORMAT, flags[K_FORMAT], &fv, &src, &ff);
    if (v && cli_format_parse(v, &s->format) != CL_OK) {
        snprintf(err, errlen, "unknown format '%.64s' (from %s): use table, csv, json or html", v,
                 src ? src : flag_names[K_FORMAT]);
        rc = CL_EINVAL;
        goto out;
    }
    s->allow_tls12 = f->tls12;
    s->timeout_ms = f->timeout_ms;
out:
    for (int k = 0; k < K_COUNT; k++)
        free(fv.v[k]);
    if (rc < 0) cli_settings_free(s);
    return rc;
}

void cli_settings_free(cli_settings_t *s) {
    free(s->ca);
    free(s->cert);
    free(s->key);
    s->ca = s->cert = s->key = NULL;
}

int cli_client_opts(const cli_settings_t *s, cl_client_opts_t *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (!s->ca) {
        snprintf(err, errlen,
                 "no CA certificate is configured to verify the server with: pass --ca FILE "
                 "(or set CLOSELOOP_CA, or ca = FILE in %s), or run deploy/quickstart.sh to "
                 "set up a development server and certificates",
                 s->config_path[0] ? s->config_path : "the config file");
        return CL_ECONFIG;
    }
    if (!s->cert != !s->key) {
        snprintf(err, errlen, "a client certificate needs both --cert and --key");
        return CL_ECONFIG;
    }
    o->host = s->host;
    o->port = s->port;
    o->ca_file = s->ca;
    o->cert_file = s->cert;
    o->key_file = s->key;
    o->allow_tls12 = s->allow_tls12;
    o->timeout_ms = s->timeout_ms;
    return CL_OK;
}
