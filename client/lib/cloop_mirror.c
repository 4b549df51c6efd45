/* cloop_mirror.c - the mirror file: opening it (schema, owner check, WAL), its meta
 * values and its errors. Pulling is cloop_sync.c, the outbox cloop_outbox.c, offline
 * reads cloop_mirror_read.c; they share struct cl_mirror (cloop_mirror_int.h).
 *
 * Runs on the caller's thread. The cl_mirror_t owns its sqlite3 handle; cl_mirror_close
 * closes it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "cloop_mirror.h"
#include "cloop_mirror_int.h"

extern const char cl_mirror_schema_sql[]; /* mirror_schema.sql, embedded at build time */

#define MIRROR_SCHEMA_VERSION 1

void cl_mirror_fail(cl_mirror_t *m, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
}

const char *cl_mirror_error(const cl_mirror_t *m) {
    return m ? m->err : "no mirror";
}

void *cl_mirror_db(cl_mirror_t *m) {
    return m->db;
}

/* Makes every missing directory of path's parent, mode 0700. */
static int make_parents(const char *path, char *err, size_t errlen) {
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        snprintf(err, errlen, "mirror path too long");
        return CL_EINVAL;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return CL_OK;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            return CL_EIO;
        }
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return CL_EIO;
    }
    return CL_OK;
}

int cl_mirror_default_path(const char *username, const char *server, char *out, size_t cap) {
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char base[2048];
    if (xdg && xdg[0] == '/')
        snprintf(base, sizeof base, "%s/closeloop", xdg);
    else if (home && home[0])
        snprintf(base, sizeof base, "%s/.local/share/closeloop", home);
    else
        return CL_EINVAL;
    char srv[256];
    snprintf(srv, sizeof srv, "%s", server);
    for (char *p = srv; *p; p++)
        if (*p == ':' || *p == '/' || *p == '[' || *p == ']') *p = '_';
    int n = snprintf(out, cap, "%s/mirror-%s@%s.sqlite", base, username, srv);
    return n < 0 || (size_t)n >= cap ? CL_EINVAL : CL_OK;
}

int cl_mirror_exec(cl_mirror_t *m, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(m->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cl_mirror_fail(m, "mirror: %s", msg ? msg : sqlite3_errmsg(m->db));
        sqlite3_free(msg);
        return CL_EIO;
    }
    return CL_OK;
}

const char *cl_mirror_meta(cl_mirror_t *m, const char *key, char *buf, size_t cap) {
    sqlite3_stmt *st = NULL;
    const char *out = NULL;
    if (sqlite3_prepare_v2(m->db, "SELECT value FROM sync_meta WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        out = buf;
    }
    sqlite3_finalize(st);
    return out;
}

int64_t cl_mirror_meta_int(cl_mirror_t *m, const char *key, int64_t def) {
    char buf[32];
    if (!cl_mirror_meta(m, key, buf, sizeof buf)) return def;
    return strtoll(buf, NULL, 10);
}

int cl_mirror_meta_set(cl_mirror_t *m, const char *key, const char *value) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db,
                           "INSERT INTO sync_meta (key, value) VALUES (?1, ?2)"
                           " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           -1, &st, NULL) != SQLITE_OK) {
        cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
        return CL_EIO;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? CL_OK : CL_EIO;
    if (rc != CL_OK) cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
    sqlite3_finalize(st);
    return rc;
}

int64_t cl_mirror_synced_ms(cl_mirror_t *m) {
    return cl_mirror_meta_int(m, "synced_ms", 0);
}

/* Creates the schema in a new file, or checks the owner of an existing one. */
static int mirror_prepare(cl_mirror_t *m, const char *username, const char *server) {
    int version = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version == 0) {
        if (cl_mirror_exec(m, "BEGIN IMMEDIATE") != CL_OK) return CL_EIO;
        /* Another process may have created it meanwhile: look again under the lock. */
        if (sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (version == 0) {
            char pragma[64];
            snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", MIRROR_SCHEMA_VERSION);
            if (cl_mirror_exec(m, cl_mirror_schema_sql) != CL_OK ||
                cl_mirror_meta_set(m, "username", username) != CL_OK ||
                cl_mirror_meta_set(m, "server", server) != CL_OK ||
                cl_mirror_exec(m, pragma) != CL_OK) {
                char keep[sizeof m->err];
                memcpy(keep, m->err, sizeof keep);
                (void)sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
                memcpy(m->err, keep, sizeof keep);
                return CL_EIO;
            }
        }
        if (cl_mirror_exec(m, "COMMIT") != CL_OK) return CL_EIO;
        version = MIRROR_SCHEMA_VERSION;
    }
    if (version != MIRROR_SCHEMA_VERSION) {
        cl_mirror_fail(m, "mirror %s has schema version %d; this cloop knows %d", m->path, version,
                       MIRROR_SCHEMA_VERSION);
        return CL_EINVAL;
    }
    char owner[128], srv[256];
    if (!cl_mirror_meta(m, "username", owner, sizeof owner) ||
        !cl_mirror_meta(m, "server", srv, sizeof srv)) {
        cl_mirror_fail(m, "mirror %s has no owner; remove it and sync again", m->path);
        return CL_EINVAL;
    }
    if (strcmp(owner, username) != 0 || strcmp(srv, server) != 0) {
        cl_mirror_fail(m, "mirror %s belongs to %s on %s, not %s on %s", m->path, owner, srv,
                       username, server);
        return CL_EINVAL;
    }
    return CL_OK;
}

int cl_mirror_open(const char *path, const char *username, const char *server, cl_mirror_t **out,
                   char *err, size_t errlen) {
    *out = NULL;
    int rc = make_parents(path, err, errlen);
    if (rc != CL_OK) return rc;
    cl_mirror_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return CL_ENOMEM;
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    mode_t old = umask(077);
    int src = sqlite3_open_v2(path, &m->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    umask(old);
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "cannot open mirror %s: %s", path,
                 m->db ? sqlite3_errmsg(m->db) : "out of memory");
        sqlite3_close(m->db);
        free(m);
        return CL_EIO;
    }
    sqlite3_busy_timeout(m->db, 10000);
    sqlite3_extended_result_codes(m->db, 1);
    rc = cl_mirror_exec(m, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                           " PRAGMA foreign_keys = OFF");
    if (rc == CL_OK) rc = mirror_prepare(m, username, server);
    if (rc != CL_OK) {
        snprintf(err, errlen, "%s", m->err);
        cl_mirror_close(m);
        return rc;
    }
    *out = m;
    return CL_OK;
}

void cl_mirror_close(cl_mirror_t *m) {
    if (!m) return;
    sqlite3_close(m->db);
    free(m);
}
