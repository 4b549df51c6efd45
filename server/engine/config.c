/* config.c - one table of settings drives the defaults, the INI file (libinih) and the
 * CLOSELOOP_<SECTION>_<KEY> environment overrides, so the three cannot drift apart. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

enum opt_kind { OPT_STR, OPT_U32, OPT_BOOL, OPT_LEVEL };

struct opt {
    const char *section;
    const char *key;
    enum opt_kind kind;
    size_t offset;
    size_t size;  /* OPT_STR: buffer size */
    uint32_t min; /* OPT_U32 bounds */
    uint32_t max;
    uint32_t dflt; /* OPT_U32 default */
};

#define STR(sec, k, field)                                                                         \
    { sec, k, OPT_STR, offsetof(cl_config_t, field), sizeof(((cl_config_t *)0)->field), 0, 0, 0 }
#define U32(sec, k, field, lo, hi, dflt)                                                           \
    { sec, k, OPT_U32, offsetof(cl_config_t, field), 0, lo, hi, dflt }
#define BOOL(sec, k, field)                                                                        \
    { sec, k, OPT_BOOL, offsetof(cl_config_t, field), 0, 0, 0, 0 }

static const struct opt opts[] = {
    STR("server", "listen", listen),
    U32("server", "port", port, 1, 65535, 7443),
    U32("server", "max_connections", max_connections, 1, 1000000, 10000),
    /* an item with 5 photos of 2 MiB fits; before a login: a login, a resume, a ping */
    U32("server", "max_frame", max_frame, 1024, 64u * 1024 * 1024, 12 * 1024 * 1024),
    U32("server", "max_frame_unauth", max_frame_unauth, 1024, 64u * 1024 * 1024, 64 * 1024),
    U32("server", "max_inflight", max_inflight, 1, 100000, 64),
    /* more than max_frame */
    U32("server", "max_output", max_output, 64 * 1024, 1024u * 1024 * 1024, 16 * 1024 * 1024),
    U32("server", "max_output_total", max_output_total, 1024 * 1024, 4095u * 1024 * 1024,
        256u * 1024 * 1024),
    U32("server", "max_connections_per_address", max_connections_per_address, 1, 1000000, 256),
    U32("server", "reserved_connections", reserved_connections, 0, 999999, 100),
    U32("server", "login_timeout_ms", login_timeout_ms, 100, 3600000, 30000),
    U32("server", "handshake_timeout_ms", handshake_timeout_ms, 100, 600000, 10000),
    U32("server", "idle_timeout_ms", idle_timeout_ms, 100, 86400000, 300000),
    U32("server", "drain_timeout_ms", drain_timeout_ms, 0, 600000, 10000),
    STR("tls", "cert", tls_cert),
    STR("tls", "key", tls_key),
    STR("tls", "ca", tls_ca),
    BOOL("tls", "allow_tls12", tls_allow_tls12),
    BOOL("tls", "require_client_cert", tls_require_client_cert),
    {"log", "level", OPT_LEVEL, offsetof(cl_config_t, log_level), 0, 0, 0, 0},
    STR("db", "conninfo", db_conninfo),
    U32("db", "pool_size", db_pool_size, 1, 256, 8),
    STR("db", "analytics_conninfo", db_analytics_conninfo),
    U32("db", "statement_timeout_ms", db_statement_timeout_ms, 100, 3600000, 5000),
    U32("auth", "session_recheck_ms", auth_session_recheck_ms, 100, 3600000, 30000),
    U32("auth", "purge_interval_ms", auth_purge_interval_ms, 100, 86400000, 60000),
    U32("auth", "failure_retention_hours", auth_failure_retention_hours, 1, 87600, 24),
    U32("auth", "session_retention_days", auth_session_retention_days, 1, 3650, 30),
    U32("stats", "merge_interval_ms", stats_merge_interval_ms, 0, 3600000, 2000),
    U32("notice", "retention_days", notice_retention_days, 1, 3650, 90),
};
#define NOPTS (sizeof opts / sizeof opts[0])

void cl_config_defaults(cl_config_t *c) {
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].kind == OPT_U32) *(uint32_t *)((char *)c + opts[i].offset) = opts[i].dflt;
    const char *home = getenv("CLOSELOOP_HOME");
    if (!home || !*home) home = "var";
    snprintf(c->listen, sizeof c->listen, "127.0.0.1");
    snprintf(c->tls_cert, sizeof c->tls_cert, "%s/tls/server.crt", home);
    snprintf(c->tls_key, sizeof c->tls_key, "%s/tls/server.key", home);
    snprintf(c->tls_ca, sizeof c->tls_ca, "%s/tls/ca.crt", home);
    c->log_level = CL_LOG_INFO;
}

/* Sets one option from text; returns 0 or writes a sentence to err. */
static int opt_set(cl_config_t *c, const struct opt *o, const char *value, char *err,
                   size_t errlen) {
    char *field = (char *)c + o->offset;
    switch (o->kind) {
    case OPT_STR:
        if (strlen(value) >= o->size) {
            snprintf(err, errlen, "%s.%s is too long (at most %zu bytes)", o->section, o->key,
                     o->size - 1);
            return CL_ECONFIG;
        }
        memcpy(field, value, strlen(value) + 1);
        return CL_OK;
    case OPT_U32: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-' || v < o->min || v > o->max) {
            snprintf(err, errlen, "%s.%s must be a whole number from %u to %u, not \"%s\"",
                     o->section, o->key, o->min, o->max, value);
            return CL_ECONFIG;
        }
        *(uint32_t *)(void *)field = (uint32_t)v;
        return CL_OK;
    }
    case OPT_BOOL:
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1") ||
            !strcasecmp(value, "on")) {
            *(bool *)(void *)field = true;
        } else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0") ||
                   !strcasecmp(value, "off")) {
            *(bool *)(void *)field = false;
        } else {
            snprintf(err, errlen, "%s.%s must be true or false, not \"%s\"", o->section, o->key,
                     value);
            return CL_ECONFIG;
        }
        return CL_OK;
    case OPT_LEVEL:
        if (cl_log_level_parse(value, (cl_log_level_t *)(void *)field) != CL_OK) {
            snprintf(err, errlen, "%s.%s must be debug, info, warn or error, not \"%s\"",
                     o->section, o->key, value);
            return CL_ECONFIG;
        }
        return CL_OK;
    }
    return CL_ECONFIG;
}

struct ini_ctx {
    cl_config_t *c;
    char err[512];
};

static int config_ini_line(void *user, const char *section, const char *key, const char *value) {
    struct ini_ctx *ctx = user;
    for (size_t i = 0; i < NOPTS; i++) {
        if (!strcmp(opts[i].section, section) && !strcmp(opts[i].key, key))
            return opt_set(ctx->c, &opts[i], value, ctx->err, sizeof ctx->err) == CL_OK;
    }
    snprintf(ctx->err, sizeof ctx->err, "unknown setting [%s] %s", section, key);
    return 0;
}

int cl_config_load_file(cl_config_t *c, const char *path, char *err, size_t errlen) {
    struct ini_ctx ctx = {.c = c};
    int rc = ini_parse(path, config_ini_line, &ctx);
    if (rc == -1) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return CL_ECONFIG;
    }
    if (rc == -2) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return CL_ENOMEM;
    }
    if (rc > 0) {
        snprintf(err, errlen, "%s:%d: %s", path, rc, ctx.err[0] ? ctx.err : "syntax error");
        return CL_ECONFIG;
    }
    return CL_OK;
}

int cl_config_apply_env(cl_config_t *c, char *err, size_t errlen) {
    static const struct {
        const char *name, *section, *key;
    } aliases[] = {{"CLOSELOOP_PORT", "server", "port"}, {"CLOSELOOP_LISTEN", "server", "listen"}};
    char name[128];
    for (size_t i = 0; i < NOPTS; i++) {
        int n = snprintf(name, sizeof name, "CLOSELOOP_%s_%s", opts[i].section, opts[i].key);
        for (int k = 0; k < n; k++)
            name[k] = (char)toupper((unsigned char)name[k]);
        const char *v = getenv(name);
        if (v && opt_set(c, &opts[i], v, err, errlen) != CL_OK) return CL_ECONFIG;
    }
    for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++) {
        const char *v = getenv(aliases[a].name);
        if (!v) continue;
        for (size_t i = 0; i < NOPTS; i++) {
            if (strcmp(opts[i].section, aliases[a].section) || strcmp(opts[i].key, aliases[a].key))
                continue;
            if (opt_set(c, &opts[i], v, err, errlen) != CL_OK) {
                size_t used = strlen(err);
                snprintf(err + used, errlen - used, " (from %s)", aliases[a].name);
                return CL_ECONFIG;
            }
        }
    }
    return CL_OK;
}

int cl_config_validate(const cl_config_t *c, char *err, size_t errlen) {
    if (!c->tls_cert[0] || !c->tls_key[0]) {
        snprintf(err, errlen, "tls.cert and tls.key must be set");
        return CL_ECONFIG;
    }
    if (c->tls_require_client_cert && !c->tls_ca[0]) {
        snprintf(err, errlen, "tls.require_client_cert needs tls.ca to verify certificates");
        return CL_ECONFIG;
    }
    if (c->max_output < c->max_frame + 64) {
        snprintf(err, errlen, "server.max_output must be larger than server.max_frame");
        return CL_ECONFIG;
    }
    if (c->max_output_total < c->max_output) {
        snprintf(err, errlen, "server.max_output_total must be at least server.max_output");
        return CL_ECONFIG;
    }
    return CL_OK;
}

void cl_config_log(const cl_config_t *c) {
    char q[3 * CL_PATH_MAX];
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &opts[i];
        const char *field = (const char *)c + o->offset;
        if (strstr(o->key, "conninfo")) continue; /* may hold a password */
        switch (o->kind) {
        case OPT_STR:
            cl_log_debug("config", "key=%s.%s value=%s", o->section, o->key,
                         cl_log_quote(field, q, sizeof q));
            break;
        case OPT_U32:
            cl_log_debug("config", "key=%s.%s value=%u", o->section, o->key,
                         *(const uint32_t *)(const void *)field);
            break;
        case OPT_BOOL:
            cl_log_debug("config", "key=%s.%s value=%s", o->section, o->key,
                         *(const bool *)(const void *)field ? "true" : "false");
            break;
        case OPT_LEVEL: break;
        }
    }
}
