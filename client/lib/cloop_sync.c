/* cloop_sync.c - pulling: the mirror's snapshot and change feed, the one rule that applies
 * a downloaded row (versions, sync_gone, sync_held), the checksums that find drift and the
 * per-(project, entity) re-sync that repairs it, and following the server's notices
 * (docs/SYNC.md, "Applying a row", "Resuming", "Checksums", "Following").
 *
 * A sync context (cl_sync_ctx_t) knows the mirror's entities from the mirror's own schema
 * (PRAGMA table_info) and holds one set of prepared statements per entity for the whole
 * pull; the server's column lists (SyncStart) are checked against it before a row is
 * applied. Rows are applied through SQLite's JSON functions on the row's values array.
 * Pages are applied inside a local transaction that also writes their cursor to
 * sync_meta; a transaction holds whole pages only, so a kill at any byte loses at most
 * the pages not yet committed, and they are asked for again from the committed cursor.
 *
 * Runs on the caller's thread; one pull at a time per cl_mirror_t. The context owns its
 * statements and is freed by cl_sync_ctx_free; pages delivered by libcloop belong to it. */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cloop.h"
#include "cloop_mirror.h"
#include "cloop_mirror_int.h"
#include "frame.h"
#include "msg.h"
#include "sha256.h"

#define SYNC_TX_ROWS      4000            /* rows after which the open transaction is committed */
#define SYNC_MAX_COLS     32              /* columns of the widest mirrored table, with room */
#define SYNC_PING_MS      (4 * 60 * 1000) /* under the server's 5-minute idle timeout */
#define SYNC_HELD_BACK_MS 200 /* a follower asks again this soon while a transaction is open */

/* The mirrored entities in snapshot order (parents first): the contract's list. */
static const char *const sync_entities[] = {"companies",
                                            "projects",
                                            "buildings",
                                            "units",
                                            "owners",
                                            "contractors",
                                            "trades",
                                            "project_trades",
                                            "trade_aliases",
                                            "inspection_rounds",
                                            "inspection_records",
                                            "inspection_items",
                                            "item_photos",
                                            "tickets",
                                            "ticket_events",
                                            "defects",
                                            "kb_cases"};
#define SYNC_NENTITIES (sizeof sync_entities / sizeof sync_entities[0])

/* One mirrored table and its statements. */
typedef struct sync_entity {
    const char *name;
    int ncols, nkey;
    char cols[SYNC_MAX_COLS][64];
    bool versioned;           /* has a "version" column */
    char key_expr[200];       /* the key as text, e.g. CAST(id AS TEXT) or a||'/'||b */
    char version_expr[16];    /* "version" or "0" */
    char project_expr[200];   /* the project a row belongs to, for checksums */
    sqlite3_stmt *upsert;     /* newer or equal version replaces; version 0: insert if absent */
    sqlite3_stmt *replace;    /* unconditional (a re-sync: the server's row as it is now) */
    sqlite3_stmt *del;        /* by key columns */
    sqlite3_stmt *del_upto;   /* by key columns, only when version <= ?3 (a revoke) */
    sqlite3_stmt *version_of; /* the mirror's version of a key */
} sync_entity_t;

struct cl_sync_ctx {
    cl_mirror_t *m;
    sync_entity_t ent[SYNC_NENTITIES];
    sqlite3_stmt *gone_get, *gone_put, *gone_del, *touched, *held_put, *seen_put;
    bool in_tx;        /* a local transaction is open */
    bool any_touch;    /* (in the open transaction) some outbox entry is unacknowledged */
    bool any_gone;     /* (in the open transaction) sync_gone has rows */
    bool collect_seen; /* re-sync: record received keys in temp.sync_seen */
    bool force;        /* re-sync: replace regardless of version and sync_gone */
    uint64_t tx_rows;  /* rows applied in the open transaction */
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_fail(cl_mirror_t *m, const char *what) {
    cl_mirror_fail(m, "mirror: %s: %s", what, sqlite3_errmsg(m->db));
    return CL_EIO;
}

static int prep(cl_mirror_t *m, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return db_fail(m, sql);
    return CL_OK;
}

/* Appends printf output to buf (cap bytes); CL_EINVAL when it does not fit. */
static int cat(char *buf, size_t cap, const char *fmt, ...) CL_PRINTF(3, 4);
static int cat(char *buf, size_t cap, const char *fmt, ...) {
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap - len ? CL_EINVAL : CL_OK;
}

static sync_entity_t *entity_of(cl_sync_ctx_t *x, const char *name) {
    for (size_t i = 0; i < SYNC_NENTITIES; i++)
        if (strcmp(x->ent[i].name, name) == 0) return &x->ent[i];
    return NULL;
}

/* Reads e's columns and key from the mirror's schema. */
static int entity_columns(cl_mirror_t *m, sync_entity_t *e) {
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", e->name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(m, sql);
    int pk[SYNC_MAX_COLS] = {0};
    e->ncols = 0;
    int rc = CL_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (e->ncols == SYNC_MAX_COLS) {
            rc = CL_EINVAL;
            break;
        }
        snprintf(e->cols[e->ncols], sizeof e->cols[0], "%s",
                 (const char *)sqlite3_column_text(st, 1));
        pk[e->ncols] = sqlite3_column_int(st, 5);
        e->ncols++;
    }
    sqlite3_finalize(st);
    if (rc != CL_OK || e->ncols == 0) {
        cl_mirror_fail(m, "mirror: table %s is missing or too wide", e->name);
        return CL_EINVAL;
    }
    /* The contract puts the key columns first: check the schema says the same. */
    e->nkey = 0;
    for (int i = 0; i < e->ncols; i++)
        if (pk[i] > 0) e->nkey++;
    for (int i = 0; i < e->nkey; i++)
        if (pk[i] != i + 1) {
            cl_mirror_fail(m, "mirror: the key of %s is not its first columns", e->name);
            return CL_EINVAL;
        }
    if (e->nkey < 1 || e->nkey > 2) {
        cl_mirror_fail(m, "mirror: %s has %d key columns", e->name, e->nkey);
        return CL_EINVAL;
    }
    e->versioned = false;
    for (int i = 0; i < e->ncols; i++)
        if (strcmp(e->cols[i], "version") == 0) e->versioned = true;
    snprintf(e->version_expr, sizeof e->version_expr, "%s", e->versioned ? "version" : "0");
    if (e->nkey == 1)
        snprintf(e->key_expr, sizeof e->key_expr, "CAST(\"%s\" AS TEXT)", e->cols[0]);
    else
        snprintf(e->key_expr, sizeof e->key_expr, "CAST(\"%s\" AS TEXT) || '/' || \"%s\"",
                 e->cols[0], e->cols[1]);
    if (!strcmp(e->name, "companies") || !strcmp(e->name, "contractors") ||
        !strcmp(e->name, "trades") || !strcmp(e->name, "kb_cases"))
        snprintf(e->project_expr, sizeof e->project_expr, "0");
    else if (!strcmp(e->name, "projects"))
        snprintf(e->project_expr, sizeof e->project_expr, "id");
    else if (!strcmp(e->name, "item_photos"))
        snprintf(e->project_expr, sizeof e->project_expr,
                 "coalesce((SELECT i.project_id FROM inspection_items i"
                 " WHERE i.id = item_photos.item_id), 0)");
    else
        snprintf(e->project_expr, sizeof e->project_expr, "project_id");
    return CL_OK;
}

/* The WHERE clause matching e's key columns to ?1 (and ?2). */
static void key_where(const sync_entity_t *e, char *buf, size_t cap) {
    if (e->nkey == 1)
        snprintf(buf, cap, "\"%s\" = ?1", e->cols[0]);
    else
        snprintf(buf, cap, "\"%s\" = ?1 AND \"%s\" = ?2", e->cols[0], e->cols[1]);
}

static int entity_prepare(cl_mirror_t *m, sync_entity_t *e) {
    char cols[2048] = "", vals[4096] = "", set[4096] = "", conflict[200] = "", where[256];
    int rc = CL_OK;
    for (int i = 0; i < e->ncols && rc == CL_OK; i++) {
        rc = cat(cols, sizeof cols, "%s\"%s\"", i ? ", " : "", e->cols[i]);
        if (rc == CL_OK)
            rc = cat(vals, sizeof vals, "%sjson_extract(?1, '$[%d]')", i ? ", " : "", i);
        if (rc == CL_OK && i >= e->nkey)
            rc = cat(set, sizeof set, "%s\"%s\" = excluded.\"%s\"", set[0] ? ", " : "", e->cols[i],
                     e->cols[i]);
        if (rc == CL_OK && i < e->nkey)
            rc = cat(conflict, sizeof conflict, "%s\"%s\"", i ? ", " : "", e->cols[i]);
    }
    if (rc != CL_OK) {
        cl_mirror_fail(m, "mirror: table %s is too wide", e->name);
        return rc;
    }
    char sql[12288];
    if (e->versioned && set[0])
        snprintf(sql, sizeof sql,
                 "INSERT INTO \"%s\" (%s) SELECT %s WHERE 1 ON CONFLICT (%s) DO UPDATE SET %s"
                 " WHERE excluded.version >= \"%s\".version OR \"%s\".version IS NULL",
                 e->name, cols, vals, conflict, set, e->name, e->name);
    else
        snprintf(sql, sizeof sql,
                 "INSERT INTO \"%s\" (%s) SELECT %s WHERE 1 ON CONFLICT DO NOTHING", e->name, cols,
                 vals);
    if ((rc = prep(m, sql, &e->upsert)) != CL_OK) return rc;
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO \"%s\" (%s) SELECT %s", e->name, cols, vals);
    if ((rc = prep(m, sql, &e->replace)) != CL_OK) return rc;
    key_where(e, where, sizeof where);
    snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE %s", e->name, where);
    if ((rc = prep(m, sql, &e->del)) != CL_OK) return rc;
    snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE %s AND coalesce(%s, 0) <= ?3", e->name,
             where, e->version_expr);
    if ((rc = prep(m, sql, &e->del_upto)) != CL_OK) return rc;
    snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE %s", e->version_expr, e->name, where);
    return prep(m, sql, &e->version_of);
}

void cl_sync_ctx_free(cl_sync_ctx_t *x) {
    if (!x) return;
    if (x->in_tx) (void)sqlite3_exec(x->m->db, "ROLLBACK", NULL, NULL, NULL);
    for (size_t i = 0; i < SYNC_NENTITIES; i++) {
        sync_entity_t *e = &x->ent[i];
        sqlite3_finalize(e->upsert);
        sqlite3_finalize(e->replace);
        sqlite3_finalize(e->del);
        sqlite3_finalize(e->del_upto);
        sqlite3_finalize(e->version_of);
    }
    sqlite3_finalize(x->gone_get);
    sqlite3_finalize(x->gone_put);
    sqlite3_finalize(x->gone_del);
    sqlite3_finalize(x->touched);
    sqlite3_finalize(x->held_put);
    sqlite3_finalize(x->seen_put);
    free(x);
}

int cl_sync_ctx_new(cl_mirror_t *m, cl_sync_ctx_t **out) {
    *out = NULL;
    cl_sync_ctx_t *x = calloc(1, sizeof *x);
    if (!x) {
        cl_mirror_fail(m, "out of memory");
        return CL_ENOMEM;
    }
    x->m = m;
    int rc = cl_mirror_exec(m, "CREATE TEMP TABLE IF NOT EXISTS sync_seen"
                               " (key TEXT PRIMARY KEY) WITHOUT ROWID");
    for (size_t i = 0; i < SYNC_NENTITIES && rc == CL_OK; i++) {
        x->ent[i].name = sync_entities[i];
        rc = entity_columns(m, &x->ent[i]);
        if (rc == CL_OK) rc = entity_prepare(m, &x->ent[i]);
    }
    if (rc == CL_OK)
        rc = prep(m, "SELECT version FROM sync_gone WHERE entity = ?1 AND key = ?2", &x->gone_get);
    if (rc == CL_OK)
        rc = prep(
            m,
            "INSERT INTO sync_gone (entity, key, version) VALUES (?1, ?2, ?3)"
            " ON CONFLICT (entity, key) DO UPDATE SET version = max(version, excluded.version)",
            &x->gone_put);
    if (rc == CL_OK)
        rc = prep(m, "DELETE FROM sync_gone WHERE entity = ?1 AND key = ?2", &x->gone_del);
    if (rc == CL_OK)
        rc = prep(m,
                  "SELECT 1 FROM outbox_touch t JOIN outbox o ON o.id = t.entry_id"
                  " WHERE t.entity = ?1 AND t.key = ?2"
                  " AND o.state IN ('pending', 'sending', 'conflict', 'failed') LIMIT 1",
                  &x->touched);
    if (rc == CL_OK)
        rc = prep(m,
                  "INSERT INTO sync_held (entity, key, op, version, vals)"
                  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (entity, key) DO UPDATE SET"
                  " op = excluded.op, version = excluded.version, vals = excluded.vals"
                  " WHERE excluded.version >= sync_held.version",
                  &x->held_put);
    if (rc == CL_OK)
        rc = prep(m, "INSERT OR IGNORE INTO temp.sync_seen (key) VALUES (?1)", &x->seen_put);
    if (rc != CL_OK) {
        cl_sync_ctx_free(x);
        return rc;
    }
    *out = x;
    return CL_OK;
}

/* Checks the server's entities and columns against the mirror's; refuses any difference
 * with one sentence naming it. */
int cl_sync_check_columns(cl_sync_ctx_t *x, const Closeloop__SyncStart *start) {
    for (size_t i = 0; i < start->n_entities; i++) {
        const Closeloop__SyncEntity *se = start->entities[i];
        sync_entity_t *e = entity_of(x, se->name ? se->name : "");
        if (!e) {
            cl_mirror_fail(x->m,
                           "the server mirrors an entity this cloop does not know (%s): update "
                           "cloop",
                           se->name);
            return CL_EINVAL;
        }
        bool same = se->n_columns == (size_t)e->ncols && se->key_columns == (uint32_t)e->nkey;
        for (size_t c = 0; same && c < se->n_columns; c++)
            same = strcmp(se->columns[c], e->cols[c]) == 0;
        if (!same) {
            char srv[1024] = "", mine[1024] = "";
            for (size_t c = 0; c < se->n_columns; c++)
                (void)cat(srv, sizeof srv, "%s%s", c ? ", " : "", se->columns[c]);
            for (int c = 0; c < e->ncols; c++)
                (void)cat(mine, sizeof mine, "%s%s", c ? ", " : "", e->cols[c]);
            cl_mirror_fail(x->m,
                           "the server's columns of %s (%s; key %" PRIu32
                           ") differ from this mirror's (%s; key %d): cloop and the server are "
                           "of different versions, so nothing was applied",
                           e->name, srv, se->key_columns, mine, e->nkey);
            return CL_EINVAL;
        }
    }
    return CL_OK;
}

/* ---- transactions ---------------------------------------------------------------------- */

static bool exists(cl_mirror_t *m, const char *sql) {
    sqlite3_stmt *st = NULL;
    bool yes = true; /* when in doubt, look row by row */
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        yes = sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return yes;
}

int cl_sync_begin(cl_sync_ctx_t *x) {
    if (x->in_tx) return CL_OK;
    if (cl_mirror_exec(x->m, "BEGIN IMMEDIATE") != CL_OK) return CL_EIO;
    x->in_tx = true;
    x->tx_rows = 0;
    /* Under the write lock nobody adds an outbox entry or a gone row but us. */
    x->any_touch = exists(x->m, "SELECT EXISTS (SELECT 1 FROM outbox WHERE state IN"
                                " ('pending', 'sending', 'conflict', 'failed'))");
    x->any_gone = exists(x->m, "SELECT EXISTS (SELECT 1 FROM sync_gone)");
    return CL_OK;
}

int cl_sync_commit(cl_sync_ctx_t *x) {
    if (!x->in_tx) return CL_OK;
    x->in_tx = false;
    if (cl_mirror_exec(x->m, "COMMIT") != CL_OK) {
        char keep[sizeof x->m->err];
        memcpy(keep, x->m->err, sizeof keep);
        (void)sqlite3_exec(x->m->db, "ROLLBACK", NULL, NULL, NULL);
        memcpy(x->m->err, keep, sizeof keep);
        return CL_EIO;
    }
    return CL_OK;
}

void cl_sync_rollback(cl_sync_ctx_t *x) {
    if (!x->in_tx) return;
    x->in_tx = false;
    (void)sqlite3_exec(x->m->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- the apply rule ---------------------------------------------------------------------- */

static int step_done(cl_mirror_t *m, sqlite3_stmt *st, const char *what) {
    int r = sqlite3_step(st);
    int rc = r == SQLITE_DONE || r == SQLITE_ROW ? CL_OK : CL_EIO;
    if (rc != CL_OK) cl_mirror_fail(m, "mirror: %s: %s", what, sqlite3_errmsg(m->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Binds key (text) to e's key columns: "a" or "a/b" (split at the first '/': the first
 * of two key columns never holds one). */
static int bind_key(const sync_entity_t *e, sqlite3_stmt *st, const char *key) {
    if (e->nkey == 1) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        return CL_OK;
    }
    const char *slash = strchr(key, '/');
    if (!slash) return CL_EINVAL;
    sqlite3_bind_text(st, 1, key, (int)(slash - key), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, slash + 1, -1, SQLITE_STATIC);
    return CL_OK;
}

static bool is_touched(cl_sync_ctx_t *x, const char *entity, const char *key) {
    if (!x->any_touch) return false;
    sqlite3_bind_text(x->touched, 1, entity, -1, SQLITE_STATIC);
    sqlite3_bind_text(x->touched, 2, key, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(x->touched) == SQLITE_ROW;
    sqlite3_reset(x->touched);
    sqlite3_clear_bindings(x->touched);
    return yes;
}

/* The version sync_gone keeps for key, or -1. */
static int64_t gone_version(cl_sync_ctx_t *x, const char *entity, const char *key) {
    if (!x->any_gone) return -1;
    int64_t v = -1;
    sqlite3_bind_text(x->gone_get, 1, entity, -1, SQLITE_STATIC);
    sqlite3_bind_text(x->gone_get, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(x->gone_get) == SQLITE_ROW) v = sqlite3_column_int64(x->gone_get, 0);
    sqlite3_reset(x->gone_get);
    sqlite3_clear_bindings(x->gone_get);
    return v;
}

static int gone_put(cl_sync_ctx_t *x, const char *entity, const char *key, int64_t version) {
    sqlite3_bind_text(x->gone_put, 1, entity, -1, SQLITE_STATIC);
    sqlite3_bind_text(x->gone_put, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(x->gone_put, 3, version);
    x->any_gone = true;
    return step_done(x->m, x->gone_put, "sync_gone");
}

/* Deletes what hangs off a row that left the caller's scope: a ticket's events, an
 * item's photos (the server's scope drops them with it). */
static int revoke_children(cl_sync_ctx_t *x, const char *entity, const char *key) {
    const char *sql = NULL;
    if (!strcmp(entity, "tickets"))
        sql = "DELETE FROM ticket_events WHERE ticket_id = ?1";
    else if (!strcmp(entity, "inspection_items"))
        sql = "DELETE FROM item_photos WHERE item_id = ?1";
    if (!sql) return CL_OK;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->m->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(x->m, sql);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = step_done(x->m, st, sql);
    sqlite3_finalize(st);
    return rc;
}

/* Applies one row (the rule of docs/SYNC.md, "Applying a row"), inside the open
 * transaction. hold: whether an unacknowledged outbox entry may hold it back (not when
 * releasing held rows). *applied / *held count what happened. */
static int apply_row(cl_sync_ctx_t *x, const char *entity, int op, const char *key, int64_t version,
                     const char *vals, bool hold, uint64_t *applied, uint64_t *held) {
    cl_mirror_t *m = x->m;
    sync_entity_t *e = entity_of(x, entity);
    if (!e) {
        cl_mirror_fail(m, "the server sent a row of an entity this mirror does not know (%s)",
                       entity);
        return CL_EBADMSG;
    }
    if (!key || !*key) {
        cl_mirror_fail(m, "the server sent a row of %s without a key", entity);
        return CL_EBADMSG;
    }
    if (op == CLOSELOOP__SYNC_OP__SYNC_DELETE) version = INT64_MAX;
    if (x->collect_seen && op == CLOSELOOP__SYNC_OP__SYNC_UPSERT) {
        sqlite3_bind_text(x->seen_put, 1, key, -1, SQLITE_STATIC);
        if (step_done(m, x->seen_put, "sync_seen") != CL_OK) return CL_EIO;
    }
    if (hold && is_touched(x, entity, key)) {
        sqlite3_bind_text(x->held_put, 1, entity, -1, SQLITE_STATIC);
        sqlite3_bind_text(x->held_put, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int(x->held_put, 3, op);
        sqlite3_bind_int64(x->held_put, 4, version);
        sqlite3_bind_text(x->held_put, 5, vals ? vals : "", -1, SQLITE_STATIC);
        if (step_done(m, x->held_put, "sync_held") != CL_OK) return CL_EIO;
        (*held)++;
        return CL_OK;
    }
    if (op == CLOSELOOP__SYNC_OP__SYNC_UPSERT) {
        if (!vals || vals[0] != '[') {
            cl_mirror_fail(m, "the server sent a row of %s (%s) without its values", entity, key);
            return CL_EBADMSG;
        }
        if (x->force) {
            if (x->any_gone) {
                sqlite3_bind_text(x->gone_del, 1, entity, -1, SQLITE_STATIC);
                sqlite3_bind_text(x->gone_del, 2, key, -1, SQLITE_STATIC);
                if (step_done(m, x->gone_del, "sync_gone") != CL_OK) return CL_EIO;
            }
            sqlite3_bind_text(e->replace, 1, vals, -1, SQLITE_STATIC);
            if (step_done(m, e->replace, entity) != CL_OK) return CL_EIO;
            (*applied)++;
            return CL_OK;
        }
        if (gone_version(x, entity, key) >= version)
            return CL_OK; /* deleted, or revoked at this version or later */
        sqlite3_bind_text(e->upsert, 1, vals, -1, SQLITE_STATIC);
        if (step_done(m, e->upsert, entity) != CL_OK) return CL_EIO;
        if (sqlite3_changes(m->db) > 0) (*applied)++;
        return CL_OK;
    }
    if (op != CLOSELOOP__SYNC_OP__SYNC_DELETE && op != CLOSELOOP__SYNC_OP__SYNC_REVOKE) {
        cl_mirror_fail(m, "the server sent a row of %s with an unknown operation %d", entity, op);
        return CL_EBADMSG;
    }
    sqlite3_stmt *st = op == CLOSELOOP__SYNC_OP__SYNC_DELETE ? e->del : e->del_upto;
    if (bind_key(e, st, key) != CL_OK) {
        cl_mirror_fail(m, "the server sent a key of %s that is not two columns (%s)", entity, key);
        return CL_EBADMSG;
    }
    if (op == CLOSELOOP__SYNC_OP__SYNC_REVOKE) sqlite3_bind_int64(st, 3, version);
    if (step_done(m, st, entity) != CL_OK) return CL_EIO;
    bool removed = sqlite3_changes(m->db) > 0;
    if (removed && op == CLOSELOOP__SYNC_OP__SYNC_REVOKE &&
        revoke_children(x, entity, key) != CL_OK)
        return CL_EIO;
    if (gone_put(x, entity, key, version) != CL_OK) return CL_EIO;
    if (removed) (*applied)++;
    return CL_OK;
}

int cl_sync_apply_rows(cl_sync_ctx_t *x, const Closeloop__SyncRowPage *pg, cl_sync_stats_t *st) {
    if (!x->in_tx && cl_sync_begin(x) != CL_OK) return CL_EIO;
    for (size_t i = 0; i < pg->n_rows; i++) {
        const Closeloop__SyncRow *r = pg->rows[i];
        int rc = apply_row(x, r->entity ? r->entity : "", (int)r->op, r->key, r->version, r->values,
                           true, &st->rows, &st->held);
        if (rc != CL_OK) return rc;
    }
    x->tx_rows += pg->n_rows;
    return CL_OK;
}

/* ---- held rows -------------------------------------------------------------------------- */

static int release_held(cl_sync_ctx_t *x, const char *entity, const char *key, uint64_t *applied) {
    cl_mirror_t *m = x->m;
    sqlite3_stmt *st = NULL;
    const char *sql =
        "SELECT h.entity, h.key, h.op, h.version, h.vals FROM sync_held h"
        " WHERE (?1 IS NULL OR h.entity = ?1) AND (?2 IS NULL OR h.key = ?2)"
        " AND NOT EXISTS (SELECT 1 FROM outbox_touch t JOIN outbox o ON o.id = t.entry_id"
        "  WHERE t.entity = h.entity AND t.key = h.key"
        "  AND o.state IN ('pending', 'sending', 'conflict', 'failed'))";
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(m, "sync_held");
    sqlite3_stmt *del = NULL;
    if (sqlite3_prepare_v2(m->db, "DELETE FROM sync_held WHERE entity = ?1 AND key = ?2", -1, &del,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return db_fail(m, "sync_held");
    }
    if (entity) sqlite3_bind_text(st, 1, entity, -1, SQLITE_STATIC);
    if (key) sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = CL_OK, r;
    uint64_t held = 0;
    while (rc == CL_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ent = (const char *)sqlite3_column_text(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        rc = apply_row(x, ent, sqlite3_column_int(st, 2), k, sqlite3_column_int64(st, 3),
                       (const char *)sqlite3_column_text(st, 4), false, applied, &held);
        if (rc == CL_OK) {
            sqlite3_bind_text(del, 1, ent, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(del, 2, k, -1, SQLITE_TRANSIENT);
            rc = step_done(m, del, "sync_held");
        }
    }
    if (rc == CL_OK && r != SQLITE_DONE) rc = db_fail(m, "sync_held");
    sqlite3_finalize(st);
    sqlite3_finalize(del);
    return rc;
}

int cl_mirror_release_held(cl_mirror_t *m, const char *entity, const char *key) {
    cl_sync_ctx_t *x = NULL;
    int rc = cl_sync_ctx_new(m, &x);
    if (rc != CL_OK) return rc;
    uint64_t applied = 0;
    rc = cl_sync_begin(x);
    if (rc == CL_OK) rc = release_held(x, entity, key, &applied);
    if (rc == CL_OK)
        rc = cl_sync_commit(x);
    else
        cl_sync_rollback(x);
    cl_sync_ctx_free(x);
    return rc;
}

/* ---- checksums ---------------------------------------------------------------------------- */

/* h(s): the first 8 bytes of SHA-256(s), big-endian. */
static int row_hash(const char *s, size_t len, uint64_t *out) {
    uint8_t d[CL_SHA256_LEN];
    if (cl_sha256(s, len, d) != CL_OK) return CL_EINTERNAL;
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | d[i];
    *out = h;
    return CL_OK;
}

int cl_sync_local_checksums(cl_sync_ctx_t *x, int64_t project_id, cl_sync_sum_t **out, size_t *n) {
    cl_mirror_t *m = x->m;
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    cl_sync_sum_t *v = NULL;
    int rc = CL_OK;
    for (size_t i = 0; i < SYNC_NENTITIES && rc == CL_OK; i++) {
        sync_entity_t *e = &x->ent[i];
        char sql[1024];
        /* Rows an unacknowledged entry touched are the outbox's, not the server's: such a
         * pair is not compared (touched = 1). */
        snprintf(sql, sizeof sql,
                 "SELECT %s AS p, %s AS k, %s AS v, EXISTS (SELECT 1 FROM outbox_touch t JOIN"
                 " outbox o ON o.id = t.entry_id WHERE t.entity = '%s' AND t.key = %s AND"
                 " o.state IN ('pending', 'sending', 'conflict', 'failed'))"
                 " FROM \"%s\" WHERE ?1 = 0 OR %s = ?1 ORDER BY 1",
                 e->project_expr, e->key_expr, e->version_expr, e->name, e->key_expr, e->name,
                 e->project_expr);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = db_fail(m, "checksum");
            break;
        }
        sqlite3_bind_int64(st, 1, project_id);
        cl_sync_sum_t *cur = NULL;
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t p = sqlite3_column_int64(st, 0);
            if (!cur || cur->project_id != p) {
                if (*n == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    cl_sync_sum_t *nv = realloc(v, nc * sizeof *nv);
                    if (!nv) {
                        rc = CL_ENOMEM;
                        cl_mirror_fail(m, "out of memory");
                        break;
                    }
                    v = nv;
                    cap = nc;
                }
                cur = &v[(*n)++];
                memset(cur, 0, sizeof *cur);
                cur->project_id = p;
                cur->entity = e->name;
            }
            char s[512];
            int len = snprintf(s, sizeof s, "%s:%" PRId64, (const char *)sqlite3_column_text(st, 1),
                               (int64_t)sqlite3_column_int64(st, 2));
            uint64_t h = 0;
            if (len < 0 || (size_t)len >= sizeof s || row_hash(s, (size_t)len, &h) != CL_OK) {
                rc = CL_EINTERNAL;
                cl_mirror_fail(m, "checksum of a row of %s failed", e->name);
                break;
            }
            cur->rows++;
            cur->hash ^= h;
            if (sqlite3_column_int(st, 3)) cur->touched = true;
        }
        if (rc == CL_OK && r != SQLITE_DONE) rc = db_fail(m, "checksum");
        sqlite3_finalize(st);
    }
    if (rc != CL_OK) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return CL_OK;
}

/* ---- pulling ------------------------------------------------------------------------------ */

/* What a streamed pull shares with its page callback. */
typedef struct pull {
    cl_sync_ctx_t *x;
    const cl_sync_opts_t *o;
    cl_sync_stats_t *st;
    const char *phase;
    const char *entity;      /* snapshot / resync: the entity streamed */
    const char *next_entity; /* snapshot: the one after it, NULL after the last */
    int64_t last_progress_ms;
    int err; /* a local failure inside the callback */
    bool done, more, held_back;
    bool got_page;
    cl_sync_sum_t *sums; /* verify: the server's checksums */
    size_t nsums, capsums;
} pull_t;

static void report(pull_t *p, bool force) {
    if (!p->o || !p->o->progress) return;
    int64_t t = mono_ms();
    if (!force && t - p->last_progress_ms < 100) return;
    p->last_progress_ms = t;
    cl_sync_progress_t pr = {p->phase, p->entity, p->st->rows, p->st->bytes};
    p->o->progress(p->o->arg, &pr);
}

static int meta_set_int(cl_mirror_t *m, const char *key, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cl_mirror_meta_set(m, key, buf);
}

static int meta_set_u64(cl_mirror_t *m, const char *key, uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cl_mirror_meta_set(m, key, buf);
}

static void count_bytes(pull_t *p, const ProtobufCMessage *msg) {
    p->st->bytes += protobuf_c_message_get_packed_size(msg) + CL_FRAME_HDR_LEN;
}

/* Commits when the open transaction holds enough rows (always between whole pages). */
static int maybe_commit(pull_t *p) {
    if (p->x->tx_rows >= SYNC_TX_ROWS) return cl_sync_commit(p->x);
    return CL_OK;
}

static int on_snapshot_page(void *arg, const ProtobufCMessage *msg) {
    pull_t *p = arg;
    const Closeloop__SyncRowPage *pg = (const Closeloop__SyncRowPage *)msg;
    cl_mirror_t *m = p->x->m;
    count_bytes(p, msg);
    p->got_page = true;
    int rc = cl_sync_apply_rows(p->x, pg, p->st);
    if (rc == CL_OK) {
        if (pg->done) {
            rc = cl_mirror_meta_set(m, "snapshot_after", "");
            if (rc == CL_OK && p->next_entity)
                rc = cl_mirror_meta_set(m, "snapshot_entity", p->next_entity);
            else if (rc == CL_OK)
                rc = cl_mirror_meta_set(m, "phase", "feed");
            p->done = true;
        } else if (pg->next_key && pg->next_key[0]) {
            rc = cl_mirror_meta_set(m, "snapshot_after", pg->next_key);
        }
    }
    if (rc == CL_OK) rc = pg->done ? cl_sync_commit(p->x) : maybe_commit(p);
    if (rc != CL_OK) {
        cl_sync_rollback(p->x);
        p->err = rc;
        return rc;
    }
    report(p, false);
    return CL_OK;
}

static int on_feed_page(void *arg, const ProtobufCMessage *msg) {
    pull_t *p = arg;
    const Closeloop__SyncRowPage *pg = (const Closeloop__SyncRowPage *)msg;
    cl_mirror_t *m = p->x->m;
    count_bytes(p, msg);
    p->got_page = true;
    int rc = cl_sync_apply_rows(p->x, pg, p->st);
    if (rc == CL_OK) rc = meta_set_u64(m, "feed_xid", pg->cursor_xid);
    if (rc == CL_OK) rc = meta_set_int(m, "feed_seq", pg->cursor_seq);
    if (rc == CL_OK) rc = maybe_commit(p);
    if (rc != CL_OK) {
        cl_sync_rollback(p->x);
        p->err = rc;
        return rc;
    }
    p->more = pg->more;
    p->held_back = pg->held_back;
    report(p, false);
    return CL_OK;
}

/* Ends a streamed call: commits the whole pages applied (a broken stream still keeps
 * them, with their cursor), and turns the call's result into one code and sentence. */
static int stream_end(pull_t *p, cl_client_t *c, int rc) {
    cl_mirror_t *m = p->x->m;
    if (p->err != CL_OK) {
        cl_sync_rollback(p->x);
        return p->err;
    }
    int crc = cl_sync_commit(p->x);
    if (rc != CL_OK) {
        cl_mirror_fail(m, "%s", cl_client_error(c));
        return rc;
    }
    return crc;
}

/* Removes every mirrored row and sync_gone: the role or the user changed, so the
 * scope did, and the mirror starts over (the outbox is kept). */
static int mirror_clear(cl_mirror_t *m) {
    char sql[2048] = "BEGIN IMMEDIATE;";
    for (size_t i = 0; i < SYNC_NENTITIES; i++)
        (void)cat(sql, sizeof sql, " DELETE FROM \"%s\";", sync_entities[i]);
    (void)cat(sql, sizeof sql,
              " DELETE FROM sync_gone; DELETE FROM sync_held; DELETE FROM sync_meta WHERE key"
              " IN ('phase', 'snapshot_entity', 'snapshot_after', 'feed_xid', 'feed_seq',"
              " 'synced_ms'); COMMIT;");
    int rc = cl_mirror_exec(m, sql);
    if (rc != CL_OK) (void)sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Asks for SyncStart, checks its columns, and starts a snapshot when none was begun. */
static int pull_start(cl_sync_ctx_t *x, cl_client_t *c, cl_sync_stats_t *st,
                      Closeloop__SyncStart **startp) {
    cl_mirror_t *m = x->m;
    Closeloop__SyncStartRequest req = CLOSELOOP__SYNC_START_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, CL_MSG_SYNC_START_REQ, &req.base, CL_MSG_SYNC_START, &reply);
    if (rc != CL_OK) {
        cl_mirror_fail(m, "%s", cl_client_error(c));
        return rc;
    }
    Closeloop__SyncStart *s = (Closeloop__SyncStart *)reply;
    *startp = s;
    if ((rc = cl_sync_check_columns(x, s)) != CL_OK) return rc;
    char phase[16], role[64], uid[32], want_uid[32];
    snprintf(want_uid, sizeof want_uid, "%" PRId64, s->user_id);
    bool have = cl_mirror_meta(m, "phase", phase, sizeof phase) != NULL;
    if (have && (!cl_mirror_meta(m, "role", role, sizeof role) ||
                 strcmp(role, s->role ? s->role : "") != 0 ||
                 !cl_mirror_meta(m, "user_id", uid, sizeof uid) || strcmp(uid, want_uid) != 0)) {
        if ((rc = mirror_clear(m)) != CL_OK) return rc;
        have = false;
    }
    if (have) return CL_OK;
    /* A new snapshot: its first entity, from the start, and the feed cursor taken before
     * any snapshot page is read (SyncStart.feed_xid), all in one transaction. */
    if (s->n_entities == 0) {
        cl_mirror_fail(m, "the server names no entity to mirror");
        return CL_EBADMSG;
    }
    if ((rc = cl_sync_begin(x)) != CL_OK) return rc;
    rc = cl_mirror_meta_set(m, "phase", "snapshot");
    if (rc == CL_OK) rc = cl_mirror_meta_set(m, "snapshot_entity", s->entities[0]->name);
    if (rc == CL_OK) rc = cl_mirror_meta_set(m, "snapshot_after", "");
    if (rc == CL_OK) rc = meta_set_u64(m, "feed_xid", s->feed_xid);
    if (rc == CL_OK) rc = meta_set_int(m, "feed_seq", 0);
    if (rc == CL_OK) rc = cl_mirror_meta_set(m, "role", s->role ? s->role : "");
    if (rc == CL_OK) rc = cl_mirror_meta_set(m, "user_id", want_uid);
    if (rc == CL_OK)
        rc = cl_sync_commit(x);
    else
        cl_sync_rollback(x);
    st->snapshot = true;
    return rc;
}

/* Streams the snapshot from the stored entity and key to the end. */
static int pull_snapshot(pull_t *p, cl_client_t *c, const Closeloop__SyncStart *s) {
    cl_mirror_t *m = p->x->m;
    char ent[64], after[1024];
    for (;;) {
        char phase[16];
        if (!cl_mirror_meta(m, "phase", phase, sizeof phase) || strcmp(phase, "snapshot") != 0)
            return CL_OK;
        p->st->snapshot = true;
        if (!cl_mirror_meta(m, "snapshot_entity", ent, sizeof ent)) ent[0] = '\0';
        if (!cl_mirror_meta(m, "snapshot_after", after, sizeof after)) after[0] = '\0';
        size_t i = 0;
        while (i < s->n_entities && strcmp(s->entities[i]->name, ent) != 0)
            i++;
        if (i == s->n_entities) {
            /* The server no longer names it (scope changed): start that snapshot over. */
            cl_mirror_fail(m, "the server no longer mirrors %s", ent);
            int rc = mirror_clear(m);
            return rc != CL_OK ? rc : CL_ECONFLICT;
        }
        Closeloop__SyncSnapshotRequest req = CLOSELOOP__SYNC_SNAPSHOT_REQUEST__INIT;
        req.entity = ent;
        req.after_key = after;
        p->phase = "snapshot";
        p->entity = s->entities[i]->name;
        p->next_entity = i + 1 < s->n_entities ? s->entities[i + 1]->name : NULL;
        p->done = false;
        p->err = CL_OK;
        report(p, true);
        int rc = cl_client_call_stream(c, CL_MSG_SYNC_SNAPSHOT_REQ, &req.base, CL_MSG_SYNC_ROW_PAGE,
                                       on_snapshot_page, p);
        rc = stream_end(p, c, rc);
        if (rc != CL_OK) return rc;
        if (!p->done) {
            cl_mirror_fail(m, "the server ended the snapshot of %s without its last page", ent);
            return CL_EBADMSG;
        }
    }
}

/* Pulls the feed until the server says it is caught up. */
static int pull_feed(pull_t *p, cl_client_t *c) {
    cl_mirror_t *m = p->x->m;
    p->phase = "feed";
    p->entity = NULL;
    for (;;) {
        char buf[32];
        Closeloop__SyncFeedRequest req = CLOSELOOP__SYNC_FEED_REQUEST__INIT;
        req.after_xid =
            cl_mirror_meta(m, "feed_xid", buf, sizeof buf) ? strtoull(buf, NULL, 10) : 0;
        req.after_seq = cl_mirror_meta_int(m, "feed_seq", 0);
        p->more = false;
        p->err = CL_OK;
        p->got_page = false;
        int rc = cl_client_call_stream(c, CL_MSG_SYNC_FEED_REQ, &req.base, CL_MSG_SYNC_ROW_PAGE,
                                       on_feed_page, p);
        rc = stream_end(p, c, rc);
        if (rc != CL_OK) return rc;
        if (!p->more) break;
    }
    p->st->held_back = p->held_back;
    report(p, true);
    return meta_set_int(m, "synced_ms", now_ms());
}

static int on_resync_page(void *arg, const ProtobufCMessage *msg) {
    pull_t *p = arg;
    const Closeloop__SyncRowPage *pg = (const Closeloop__SyncRowPage *)msg;
    count_bytes(p, msg);
    int rc = cl_sync_apply_rows(p->x, pg, p->st);
    if (rc != CL_OK) {
        p->err = rc;
        return rc;
    }
    if (pg->done) p->done = true;
    report(p, false);
    return CL_OK;
}

/* Re-syncs one (project, entity): the server's rows as they are now replace the mirror's,
 * and the mirror's rows it did not send are removed (kept in sync_gone at their version,
 * so an older change of the feed does not bring them back), except rows an
 * unacknowledged entry touched. One local transaction. */
static int resync_one(pull_t *p, cl_client_t *c, int64_t project_id, const char *entity) {
    cl_sync_ctx_t *x = p->x;
    cl_mirror_t *m = x->m;
    sync_entity_t *e = entity_of(x, entity);
    if (!e) return CL_OK;
    int rc = cl_sync_commit(x);
    if (rc == CL_OK) rc = cl_mirror_exec(m, "DELETE FROM temp.sync_seen");
    if (rc == CL_OK) rc = cl_sync_begin(x);
    if (rc != CL_OK) return rc;
    x->collect_seen = true;
    x->force = true;
    Closeloop__SyncSnapshotRequest req = CLOSELOOP__SYNC_SNAPSHOT_REQUEST__INIT;
    req.entity = (char *)entity;
    req.after_key = "";
    req.project_id = project_id;
    p->phase = "resync";
    p->entity = e->name;
    p->err = CL_OK;
    p->done = false;
    report(p, true);
    rc = cl_client_call_stream(c, CL_MSG_SYNC_SNAPSHOT_REQ, &req.base, CL_MSG_SYNC_ROW_PAGE,
                               on_resync_page, p);
    x->collect_seen = false;
    x->force = false;
    if (p->err != CL_OK) {
        cl_sync_rollback(x);
        return p->err;
    }
    if (rc != CL_OK || !p->done) {
        cl_sync_rollback(x);
        cl_mirror_fail(m, "re-sync of %s: %s", entity,
                       rc != CL_OK ? cl_client_error(c) : "the server did not finish it");
        return rc != CL_OK ? rc : CL_EBADMSG;
    }
    char scope[512], sql[4096];
    snprintf(scope, sizeof scope,
             "(?1 = 0 OR %s = ?1) AND %s NOT IN (SELECT key FROM temp.sync_seen)"
             " AND NOT EXISTS (SELECT 1 FROM outbox_touch t JOIN outbox o ON o.id = t.entry_id"
             " WHERE t.entity = '%s' AND t.key = %s"
             " AND o.state IN ('pending', 'sending', 'conflict', 'failed'))",
             e->project_expr, e->key_expr, e->name, e->key_expr);
    for (int pass = 0; pass < 2 && rc == CL_OK; pass++) {
        if (pass == 0)
            snprintf(sql, sizeof sql,
                     "INSERT INTO sync_gone (entity, key, version) SELECT '%s', %s, %s FROM"
                     " \"%s\" WHERE %s ON CONFLICT (entity, key) DO UPDATE SET"
                     " version = max(version, excluded.version)",
                     e->name, e->key_expr, e->version_expr, e->name, scope);
        else
            snprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE %s", e->name, scope);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = db_fail(m, "re-sync");
            break;
        }
        sqlite3_bind_int64(st, 1, project_id);
        rc = step_done(m, st, "re-sync");
        sqlite3_finalize(st);
    }
    if (rc == CL_OK)
        rc = cl_sync_commit(x);
    else
        cl_sync_rollback(x);
    if (rc == CL_OK) p->st->resynced++;
    return rc;
}

static int on_checksum_page(void *arg, const ProtobufCMessage *msg) {
    pull_t *p = arg;
    const Closeloop__SyncChecksumPage *pg = (const Closeloop__SyncChecksumPage *)msg;
    count_bytes(p, msg);
    for (size_t i = 0; i < pg->n_items; i++) {
        const Closeloop__SyncChecksum *s = pg->items[i];
        if (p->nsums == p->capsums) {
            size_t nc = p->capsums ? p->capsums * 2 : 64;
            cl_sync_sum_t *nv = realloc(p->sums, nc * sizeof *nv);
            if (!nv) {
                p->err = CL_ENOMEM;
                cl_mirror_fail(p->x->m, "out of memory");
                return CL_ENOMEM;
            }
            p->sums = nv;
            p->capsums = nc;
        }
        sync_entity_t *e = entity_of(p->x, s->entity ? s->entity : "");
        if (!e) continue; /* the column check already refused entities we do not know */
        cl_sync_sum_t *d = &p->sums[p->nsums++];
        memset(d, 0, sizeof *d);
        d->project_id = s->project_id;
        d->entity = e->name;
        d->rows = s->rows;
        d->hash = s->hash;
    }
    return CL_OK;
}

static cl_sync_sum_t *find_sum(cl_sync_sum_t *v, size_t n, int64_t project_id, const char *entity) {
    for (size_t i = 0; i < n; i++)
        if (v[i].project_id == project_id && strcmp(v[i].entity, entity) == 0) return &v[i];
    return NULL;
}

/* Compares the server's checksums with the mirror's and re-syncs every (project, entity)
 * that differs. */
static int pull_verify(pull_t *p, cl_client_t *c) {
    cl_mirror_t *m = p->x->m;
    int rc = cl_sync_commit(p->x);
    if (rc != CL_OK) return rc;
    p->phase = "verify";
    p->entity = NULL;
    p->err = CL_OK;
    report(p, true);
    Closeloop__SyncChecksumRequest req = CLOSELOOP__SYNC_CHECKSUM_REQUEST__INIT;
    rc = cl_client_call_stream(c, CL_MSG_SYNC_CHECKSUM_REQ, &req.base, CL_MSG_SYNC_CHECKSUM_PAGE,
                               on_checksum_page, p);
    if (p->err != CL_OK) return p->err;
    if (rc != CL_OK) {
        cl_mirror_fail(m, "%s", cl_client_error(c));
        return rc;
    }
    cl_sync_sum_t *mine = NULL;
    size_t nmine = 0;
    rc = cl_sync_local_checksums(p->x, 0, &mine, &nmine);
    if (rc != CL_OK) return rc;
    /* Every pair the server has and the mirror has not, or has otherwise. */
    for (size_t i = 0; i < p->nsums && rc == CL_OK; i++) {
        cl_sync_sum_t *srv = &p->sums[i];
        cl_sync_sum_t *loc = find_sum(mine, nmine, srv->project_id, srv->entity);
        if (loc && loc->touched) {
            p->st->unverified++;
            continue;
        }
        if (!loc || loc->rows != srv->rows || loc->hash != srv->hash)
            rc = resync_one(p, c, srv->project_id, srv->entity);
    }
    /* Every pair the mirror has and the server has not. */
    for (size_t i = 0; i < nmine && rc == CL_OK; i++) {
        cl_sync_sum_t *loc = &mine[i];
        if (find_sum(p->sums, p->nsums, loc->project_id, loc->entity)) continue;
        if (loc->touched) {
            p->st->unverified++;
            continue;
        }
        rc = resync_one(p, c, loc->project_id, loc->entity);
    }
    free(mine);
    return rc;
}

int cl_mirror_pull(cl_mirror_t *m, cl_client_t *c, const cl_sync_opts_t *o, cl_sync_stats_t *st) {
    cl_sync_stats_t local;
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    /* A first sync inserts millions of rows into tables whose secondary indexes take them
     * in another order than they arrive: a page cache of 64 MiB keeps those pages in
     * memory instead of reading them back from the file one by one. */
    int rc = cl_mirror_exec(m, "PRAGMA cache_size = -65536");
    if (rc != CL_OK) return rc;
    cl_sync_ctx_t *x = NULL;
    rc = cl_sync_ctx_new(m, &x);
    if (rc != CL_OK) return rc;
    Closeloop__SyncStart *s = NULL;
    pull_t p = {.x = x, .o = o, .st = st};
    rc = pull_start(x, c, st, &s);
    if (rc == CL_OK) rc = pull_snapshot(&p, c, s);
    if (rc == CL_ECONFLICT) { /* the snapshot's entity left the scope: start over, once */
        cl_msg_free(&s->base);
        s = NULL;
        rc = pull_start(x, c, st, &s);
        if (rc == CL_OK) rc = pull_snapshot(&p, c, s);
    }
    if (rc == CL_OK) rc = pull_feed(&p, c);
    if (rc == CL_OK) rc = cl_sync_commit(x);
    if (rc == CL_OK && o && o->verify) rc = pull_verify(&p, c);
    free(p.sums);
    if (s) cl_msg_free(&s->base);
    cl_sync_ctx_free(x);
    return rc;
}

/* Sends a Ping: any request keeps the server from closing an idle connection. */
static int ping(cl_mirror_t *m, cl_client_t *c) {
    Closeloop__Ping req = CLOSELOOP__PING__INIT;
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, CL_MSG_PING, &req.base, CL_MSG_PONG, &reply);
    cl_msg_free(reply);
    if (rc != CL_OK) cl_mirror_fail(m, "%s", cl_client_error(c));
    return rc;
}

static int follow_switch(cl_mirror_t *m, cl_client_t *c, bool on) {
    Closeloop__SyncFollowRequest req = CLOSELOOP__SYNC_FOLLOW_REQUEST__INIT;
    req.on = on;
    ProtobufCMessage *reply = NULL;
    int rc = cl_client_call(c, CL_MSG_SYNC_FOLLOW_REQ, &req.base, CL_MSG_SYNC_FOLLOW, &reply);
    cl_msg_free(reply);
    if (rc != CL_OK) cl_mirror_fail(m, "%s", cl_client_error(c));
    return rc;
}

int cl_mirror_follow(cl_mirror_t *m, cl_client_t *c, const cl_sync_opts_t *o, int interval_ms,
                     volatile const int *stop) {
    if (interval_ms <= 0) interval_ms = 30000;
    /* Without notices (a server that does not push) the interval alone paces the pulls. */
    int rc = follow_switch(m, c, true);
    if (rc != CL_OK && !cl_client_is_open(c)) return rc;
    cl_sync_opts_t first = o ? *o : (cl_sync_opts_t){0};
    cl_sync_opts_t later = first;
    later.verify = false;
    bool verified = false;
    while (!*stop) {
        cl_sync_stats_t st;
        rc = cl_mirror_pull(m, c, verified ? &later : &first, &st);
        if (rc != CL_OK) return rc;
        verified = true;
        int64_t last_request = mono_ms();
        int64_t due = last_request + (st.held_back ? SYNC_HELD_BACK_MS : interval_ms);
        for (;;) {
            if (*stop) return CL_OK;
            int64_t t = mono_ms();
            if (t >= due) break;
            if (t - last_request >= SYNC_PING_MS) {
                if ((rc = ping(m, c)) != CL_OK) return rc;
                last_request = mono_ms();
                continue;
            }
            int64_t wait = due - t;
            if (wait > 500) wait = 500; /* look at *stop twice a second */
            cl_reply_t r;
            rc = cl_client_recv(c, &r, (int)wait);
            if (rc == CL_ETIMEDOUT) continue;
            if (rc != CL_OK) {
                cl_mirror_fail(m, "%s", cl_client_error(c));
                return rc;
            }
            bool notice = r.req_id == 0 && r.type == CL_MSG_SYNC_NOTICE && r.err == CL_OK;
            int err = r.req_id == 0 ? r.err : CL_OK;
            char why[sizeof r.errmsg];
            snprintf(why, sizeof why, "%s", r.errmsg);
            cl_reply_clear(&r);
            if (err != CL_OK) { /* the server closes the connection, and says why */
                cl_mirror_fail(m, "%s", why);
                return err;
            }
            if (notice) {
                /* Pull now, once for every notice already queued. */
                while (cl_client_recv(c, &r, 0) == CL_OK) {
                    bool again = r.req_id == 0 && r.type == CL_MSG_SYNC_NOTICE && r.err == CL_OK;
                    cl_reply_clear(&r);
                    if (!again) break;
                }
                break;
            }
        }
    }
    if (cl_client_is_open(c)) (void)follow_switch(m, c, false);
    return CL_OK;
}
