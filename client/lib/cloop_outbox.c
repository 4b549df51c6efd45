/* cloop_outbox.c - the offline outbox and its pusher: entries made while the server could
 * not be reached, each written in ONE SQLite transaction with its optimistic change to the
 * mirror (the rows it touched listed in outbox_touch, so downloads of them are held), and
 * sent later in id order with backoff; conflicts kept with the server's side until the
 * user re-applies or drops them (docs/SYNC.md, "The outbox").
 *
 * The undo of an optimistic change is recorded with SQLite's session extension: a session
 * attached to the mirrored tables the entry writes captures the change as a changeset, and
 * its inverse (sqlite3changeset_invert) is stored in outbox.undo and applied on drop.
 *
 * Runs on the caller's thread, on the cl_mirror_t's handle (one thread at a time).
 * Entries returned by cl_outbox_list are malloc'd for the caller; messages decoded here
 * are freed here. */
#define SQLITE_ENABLE_SESSION 1 /* declares sqlite3session_*; Debian's libsqlite3 has it */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cloop_mirror.h"
#include "cloop_mirror_int.h"
#include "domain.h"
#include "ticket_fsm.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS   (5 * 60 * 1000)

/* ---- small helpers ------------------------------------------------------------------- */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Now as PostgreSQL's jsonb writes a timestamptz: "2026-12-05T09:30:00.123+08:00". */
static void now_iso(char *buf, size_t cap) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char base[32], zone[8];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(zone, sizeof zone, "%z", &tm); /* +0800 */
    if (snprintf(buf, cap, "%s.%03d%.3s:%.2s", base, (int)(ts.tv_nsec / 1000000), zone, zone + 3) >=
        (int)cap)
        buf[0] = '\0'; /* never: callers pass room for it */
}

/* A random UUIDv4 from /dev/urandom. */
static int new_key(char out[37]) {
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) return CL_EIO;
    size_t got = fread(b, 1, sizeof b, f);
    fclose(f);
    if (got != sizeof b) return CL_EIO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return CL_OK;
}

static int prep(cl_mirror_t *m, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v2(m->db, sql, -1, st, NULL) == SQLITE_OK) return CL_OK;
    cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
    return CL_EIO;
}

/* Steps a statement to its end; CL_EIO with the error sentence. Finalizes it. */
static int run(cl_mirror_t *m, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CL_OK : CL_EIO;
}

/* One integer of a one-row query with up to two text/int parameters; 0 rows: *found 0. */
static int query_int(cl_mirror_t *m, const char *sql, const char *t1, int64_t i2, int64_t *out,
                     int *found) {
    sqlite3_stmt *st = NULL;
    if (prep(m, sql, &st) != CL_OK) return CL_EIO;
    if (sqlite3_bind_parameter_count(st) >= 1) {
        if (t1)
            sqlite3_bind_text(st, 1, t1, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, 1, i2);
    }
    if (sqlite3_bind_parameter_count(st) >= 2) sqlite3_bind_int64(st, 2, i2);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    if (*found) *out = sqlite3_column_int64(st, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
        sqlite3_finalize(st);
        return CL_EIO;
    }
    sqlite3_finalize(st);
    return CL_OK;
}

static void bind_opt_int(sqlite3_stmt *st, int i, int found, int64_t v) {
    if (found)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Appends s as a JSON string to buf. */
static void json_str(char *buf, size_t cap, const char *s) {
    size_t n = strlen(buf);
    if (n + 2 >= cap) return;
    buf[n++] = '"';
    for (; s && *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
}

/* ---- the entry and its optimistic change ---------------------------------------------- */

/* What one add writes, kept between its steps. */
typedef struct add_ctx {
    cl_mirror_t *m;
    sqlite3_session *sess;
    int64_t id;
} add_ctx_t;

static const char *const optimistic_tables[] = {"inspection_items", "tickets",
                                                "inspection_records"};

/* BEGIN IMMEDIATE, the outbox row, and a session recording the optimistic change. */
static int add_begin(add_ctx_t *a, const char *kind, uint16_t type, const ProtobufCMessage *msg,
                     const char *key, const char *summary) {
    cl_mirror_t *m = a->m;
    if (cl_mirror_exec(m, "BEGIN IMMEDIATE") != CL_OK) return CL_EIO;
    char user[128] = "";
    (void)cl_mirror_meta(m, "username", user, sizeof user);
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        cl_mirror_fail(m, "out of memory");
        return CL_ENOMEM;
    }
    protobuf_c_message_pack(msg, buf);
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "INSERT INTO outbox (created_ms, username, kind, msg_type, payload, idem_key, summary)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
             &st) != CL_OK) {
        free(buf);
        return CL_EIO;
    }
    sqlite3_bind_int64(st, 1, now_ms());
    sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, type);
    sqlite3_bind_blob(st, 5, buf, (int)len, free);
    sqlite3_bind_text(st, 6, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, summary ? summary : "", -1, SQLITE_TRANSIENT);
    if (run(m, st) != CL_OK) return CL_EIO;
    a->id = sqlite3_last_insert_rowid(m->db);
    if (sqlite3session_create(m->db, "main", &a->sess) != SQLITE_OK) {
        cl_mirror_fail(m, "mirror: cannot start a session: %s", sqlite3_errmsg(m->db));
        return CL_EIO;
    }
    for (size_t i = 0; i < sizeof optimistic_tables / sizeof optimistic_tables[0]; i++)
        if (sqlite3session_attach(a->sess, optimistic_tables[i]) != SQLITE_OK) {
            cl_mirror_fail(m, "mirror: cannot record %s", optimistic_tables[i]);
            return CL_EIO;
        }
    return CL_OK;
}

/* Lists a mirror row the entry changed. */
static int touch(add_ctx_t *a, const char *entity, const char *key) {
    sqlite3_stmt *st = NULL;
    if (prep(a->m, "INSERT OR IGNORE INTO outbox_touch (entry_id, entity, key) VALUES (?1, ?2, ?3)",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, entity, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
    return run(a->m, st);
}

/* Stores the inverse of the recorded change as the entry's undo, and commits. */
static int add_commit(add_ctx_t *a, int64_t *id) {
    cl_mirror_t *m = a->m;
    int sz = 0, isz = 0;
    void *cs = NULL, *inv = NULL;
    int rc = CL_EIO;
    if (sqlite3session_changeset(a->sess, &sz, &cs) != SQLITE_OK) {
        cl_mirror_fail(m, "mirror: cannot read the recorded change");
        goto out;
    }
    if (sz > 0 && sqlite3changeset_invert(sz, cs, &isz, &inv) != SQLITE_OK) {
        cl_mirror_fail(m, "mirror: cannot invert the recorded change");
        goto out;
    }
    sqlite3_stmt *st = NULL;
    if (prep(m, "UPDATE outbox SET undo = ?2 WHERE id = ?1", &st) != CL_OK) goto out;
    sqlite3_bind_int64(st, 1, a->id);
    if (isz > 0)
        sqlite3_bind_blob(st, 2, inv, isz, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 2);
    if (run(m, st) != CL_OK) goto out;
    sqlite3session_delete(a->sess);
    a->sess = NULL;
    if (cl_mirror_exec(m, "COMMIT") != CL_OK) goto out;
    *id = a->id;
    rc = CL_OK;
out:
    sqlite3_free(cs);
    sqlite3_free(inv);
    return rc;
}

/* Rolls back a failed add, keeping its error sentence. */
static int add_abort(add_ctx_t *a, int rc) {
    char keep[sizeof a->m->err];
    memcpy(keep, a->m->err, sizeof keep);
    if (a->sess) sqlite3session_delete(a->sess);
    a->sess = NULL;
    (void)cl_mirror_exec(a->m, "ROLLBACK");
    memcpy(a->m->err, keep, sizeof keep);
    return rc;
}

/* ---- items ----------------------------------------------------------------------------- */

/* The trade code a category names in project: a code, a Chinese name or an alias; the
 * category itself when the mirror knows none. */
static int trade_of(cl_mirror_t *m, int64_t project, const char *cat, char *out, size_t cap) {
    sqlite3_stmt *st = NULL;
    snprintf(out, cap, "%s", cat);
    if (prep(m,
             "SELECT code FROM trades WHERE code = ?1 OR name_zh = ?1 UNION ALL"
             " SELECT trade FROM trade_aliases WHERE project_id = ?2 AND alias = ?1 LIMIT 1",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_text(st, 1, cat, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, project);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return CL_OK;
}

static int item_optimistic(add_ctx_t *a, const Closeloop__Item *it) {
    cl_mirror_t *m = a->m;
    int64_t unit = 0, round = 0, record = 0, contractor = 0;
    int has_unit, has_round, has_record = 0, has_contractor = 0;
    const char *kind = cl_round_kind_name(it->round);
    const char *sev = cl_severity_name(it->severity);
    char trade[128];
    if (query_int(m, "SELECT id FROM units WHERE number = ?1 AND project_id = ?2", it->unit,
                  it->project_id, &unit, &has_unit) != CL_OK ||
        query_int(m, "SELECT id FROM inspection_rounds WHERE kind = ?1 AND project_id = ?2",
                  kind ? kind : "", it->project_id, &round, &has_round) != CL_OK ||
        trade_of(m, it->project_id, it->category ? it->category : "", trade, sizeof trade) !=
            CL_OK ||
        query_int(m,
                  "SELECT contractor_id FROM project_trades WHERE trade = ?1 AND project_id = ?2",
                  trade, it->project_id, &contractor, &has_contractor) != CL_OK)
        return CL_EIO;
    if (has_unit && has_round) {
        sqlite3_stmt *st = NULL;
        if (prep(m, "SELECT id FROM inspection_records WHERE unit_id = ?1 AND round_id = ?2",
                 &st) != CL_OK)
            return CL_EIO;
        sqlite3_bind_int64(st, 1, unit);
        sqlite3_bind_int64(st, 2, round);
        if (sqlite3_step(st) == SQLITE_ROW) {
            has_record = 1;
            record = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
    char now[40];
    now_iso(now, sizeof now);
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "INSERT OR IGNORE INTO inspection_items (id, record_id, project_id, unit_id, "
             "round_id, location, category, description, severity, found_again_of, "
             "inspected_on, inspector, case_id, dup_of, created_at, version) VALUES "
             "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL, ?13, 0)",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_text(st, 1, it->item_id, -1, SQLITE_STATIC);
    bind_opt_int(st, 2, has_record, record);
    sqlite3_bind_int64(st, 3, it->project_id);
    bind_opt_int(st, 4, has_unit, unit);
    bind_opt_int(st, 5, has_round, round);
    sqlite3_bind_text(st, 6, it->location ? it->location : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, trade, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, it->description ? it->description : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 9, sev);
    bind_text_or_null(st, 10, it->found_again_of);
    bind_text_or_null(st, 11, it->inspected_on);
    sqlite3_bind_text(st, 12, it->inspector ? it->inspector : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, now, -1, SQLITE_STATIC);
    if (run(m, st) != CL_OK) return CL_EIO;
    if (sqlite3_changes(m->db) == 0) return CL_OK; /* the mirror has it: the server has it */
    if (touch(a, "inspection_items", it->item_id) != CL_OK) return CL_EIO;
    /* Its ticket: the same id; its number and deadline are the server's to give. */
    int dispatched = has_contractor && contractor > 0;
    if (prep(m,
             "INSERT OR IGNORE INTO tickets (id, project_id, number, state, contractor_id, "
             "category, severity, deadline, rework_count, last_note, raised_at, closed_at, "
             "found_on, updated_at, version) VALUES "
             "(?1, ?2, NULL, ?3, ?4, ?5, ?6, NULL, 0, '', ?7, NULL, ?8, ?7, 0)",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_text(st, 1, it->item_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, it->project_id);
    sqlite3_bind_text(st, 3, cl_ticket_state_name(dispatched ? CL_TICKET_OPEN : CL_TICKET_DISPATCH),
                      -1, SQLITE_STATIC);
    bind_opt_int(st, 4, dispatched, contractor);
    sqlite3_bind_text(st, 5, trade, -1, SQLITE_STATIC);
    bind_text_or_null(st, 6, sev);
    sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
    bind_text_or_null(st, 8, it->inspected_on);
    if (run(m, st) != CL_OK) return CL_EIO;
    if (sqlite3_changes(m->db) && touch(a, "tickets", it->item_id) != CL_OK) return CL_EIO;
    return CL_OK;
}

int cl_outbox_add_items(cl_mirror_t *m, const Closeloop__ItemBatch *b, const char *summary,
                        int64_t *id) {
    if (b->n_items == 0 || b->check_only) {
        cl_mirror_fail(m, "outbox: an empty or check-only batch is not queued");
        return CL_EINVAL;
    }
    /* The item ids are the batch's keys (the server records an item once); the entry
     * still has one of its own, fresh, so the same file queued twice is two entries. */
    char key[37];
    if (new_key(key) != CL_OK) {
        cl_mirror_fail(m, "outbox: cannot read /dev/urandom for a key");
        return CL_EIO;
    }
    add_ctx_t a = {.m = m};
    int rc = add_begin(&a, "items", CL_MSG_ITEM_RECORD_REQ, &b->base, key, summary);
    for (size_t i = 0; rc == CL_OK && i < b->n_items; i++)
        rc = item_optimistic(&a, b->items[i]);
    if (rc == CL_OK) rc = add_commit(&a, id);
    return rc == CL_OK ? CL_OK : add_abort(&a, rc);
}

/* ---- handover forms -------------------------------------------------------------------- */

static int handover_optimistic(add_ctx_t *a, const Closeloop__HandoverForm *f) {
    cl_mirror_t *m = a->m;
    int64_t unit = 0, round = 0, record = 0;
    int has_unit, has_round, has_record = 0;
    if (query_int(m, "SELECT id FROM units WHERE number = ?1 AND project_id = ?2", f->unit,
                  f->project_id, &unit, &has_unit) != CL_OK ||
        query_int(m, "SELECT id FROM inspection_rounds WHERE kind = ?1 AND project_id = ?2",
                  "handover", f->project_id, &round, &has_round) != CL_OK)
        return CL_EIO;
    if (has_unit && has_round) {
        sqlite3_stmt *st = NULL;
        if (prep(m, "SELECT id FROM inspection_records WHERE unit_id = ?1 AND round_id = ?2",
                 &st) != CL_OK)
            return CL_EIO;
        sqlite3_bind_int64(st, 1, unit);
        sqlite3_bind_int64(st, 2, round);
        if (sqlite3_step(st) == SQLITE_ROW) {
            has_record = 1;
            record = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
    sqlite3_stmt *st = NULL;
    /* The server's row when the mirror has it (its version goes up as the server's will);
     * else a local row with the negative id -entry until the server names it. */
    const char *sql =
        has_record
            ? "UPDATE inspection_records SET inspected_on = ?2, inspector = ?3, outcome = ?4,"
              " not_taken_reason = ?5, keys_handed = ?6, water_reading = ?7,"
              " power_reading = ?8, gas_reading = ?9, signoff = ?10, refusal_reason = ?11,"
              " satisfaction = ?12, version = version + 1 WHERE id = ?1"
            : "INSERT INTO inspection_records (id, inspected_on, inspector, outcome,"
              " not_taken_reason, keys_handed, water_reading, power_reading, gas_reading,"
              " signoff, refusal_reason, satisfaction, project_id, unit_id, round_id, version)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0)";
    if (prep(m, sql, &st) != CL_OK) return CL_EIO;
    int64_t rid = has_record ? record : -a->id;
    sqlite3_bind_int64(st, 1, rid);
    bind_text_or_null(st, 2, f->inspected_on);
    sqlite3_bind_text(st, 3, f->inspector ? f->inspector : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 4, cl_outcome_name(f->outcome));
    sqlite3_bind_text(st, 5, f->not_taken_reason ? f->not_taken_reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, f->keys_handed);
    sqlite3_bind_text(st, 7, f->water_reading ? f->water_reading : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, f->power_reading ? f->power_reading : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, f->gas_reading ? f->gas_reading : "", -1, SQLITE_STATIC);
    bind_text_or_null(st, 10, f->signoff ? cl_signoff_name(f->signoff) : NULL);
    sqlite3_bind_text(st, 11, f->refusal_reason ? f->refusal_reason : "", -1, SQLITE_STATIC);
    bind_opt_int(st, 12, f->satisfaction != 0, f->satisfaction);
    if (!has_record) {
        sqlite3_bind_int64(st, 13, f->project_id);
        bind_opt_int(st, 14, has_unit, unit);
        bind_opt_int(st, 15, has_round, round);
    }
    if (run(m, st) != CL_OK) return CL_EIO;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, rid);
    return touch(a, "inspection_records", key);
}

int cl_outbox_add_handover(cl_mirror_t *m, const Closeloop__HandoverForm *f, const char *summary,
                           int64_t *id) {
    char key[101];
    if (f->idempotency_key && *f->idempotency_key)
        snprintf(key, sizeof key, "%s", f->idempotency_key);
    else if (new_key(key) != CL_OK) {
        cl_mirror_fail(m, "outbox: cannot read /dev/urandom for a key");
        return CL_EIO;
    }
    Closeloop__HandoverForm copy = *f;
    copy.idempotency_key = key;
    add_ctx_t a = {.m = m};
    int rc = add_begin(&a, "handover", CL_MSG_HANDOVER_RECORD_REQ, &copy.base, key, summary);
    if (rc == CL_OK) rc = handover_optimistic(&a, &copy);
    if (rc == CL_OK) rc = add_commit(&a, id);
    return rc == CL_OK ? CL_OK : add_abort(&a, rc);
}

/* ---- transitions ----------------------------------------------------------------------- */

int cl_outbox_add_transition(cl_mirror_t *m, const Closeloop__TicketTransition *t,
                             const char *summary, int64_t *id) {
    const Closeloop__TicketRef *r = t->ticket;
    if (!r || (!(r->id && *r->id) && !(r->project_id && r->number))) {
        cl_mirror_fail(m, "outbox: the transition names no ticket");
        return CL_EINVAL;
    }
    char key[101];
    if (t->idempotency_key && *t->idempotency_key)
        snprintf(key, sizeof key, "%s", t->idempotency_key);
    else if (new_key(key) != CL_OK) {
        cl_mirror_fail(m, "outbox: cannot read /dev/urandom for a key");
        return CL_EIO;
    }
    add_ctx_t a = {.m = m};
    /* The ticket is read under the write lock, so its version is the one the entry expects. */
    if (cl_mirror_exec(m, "BEGIN IMMEDIATE") != CL_OK) return CL_EIO;
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "SELECT id, state, version FROM tickets WHERE id = ?1 OR"
             " (?1 IS NULL AND project_id = ?2 AND number = ?3)",
             &st) != CL_OK)
        return add_abort(&a, CL_EIO);
    bind_text_or_null(st, 1, r->id);
    sqlite3_bind_int64(st, 2, r->project_id);
    sqlite3_bind_int64(st, 3, r->number);
    char tid[64] = "", state[24] = "";
    int64_t version = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(tid, sizeof tid, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(state, sizeof state, "%s",
                 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        version = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    (void)cl_mirror_exec(m, "ROLLBACK");
    if (!tid[0]) {
        if (r->id && *r->id)
            cl_mirror_fail(m, "ticket %s is not in the mirror; run 'cloop sync' while online first",
                           r->id);
        else
            cl_mirror_fail(m,
                           "ticket #%" PRIu32 " of project %" PRId64
                           " is not in the mirror; run 'cloop sync' while online first",
                           r->number, r->project_id);
        return CL_ENOTFOUND;
    }
    cl_ticket_state_t from = cl_ticket_state_parse(state);
    cl_ticket_step_t step;
    if (cl_ticket_step(from, (cl_ticket_action_t)t->action, &step) != CL_OK) {
        cl_mirror_fail(m, "ticket %s is %s in the mirror: %s does not apply to it", tid,
                       cl_ticket_state_label(from) ? cl_ticket_state_label(from) : state,
                       cl_ticket_action_name((cl_ticket_action_t)t->action)
                           ? cl_ticket_action_name((cl_ticket_action_t)t->action)
                           : "the action");
        return CL_ECONFLICT;
    }
    Closeloop__TicketTransition copy = *t;
    Closeloop__TicketRef ref = CLOSELOOP__TICKET_REF__INIT;
    ref.id = tid;
    copy.ticket = &ref;
    copy.expected_version = version;
    copy.idempotency_key = key;
    int rc = add_begin(&a, "transition", CL_MSG_TICKET_TRANSITION_REQ, &copy.base, key, summary);
    /* The version must still be the one read (a pull may have run in between). */
    int64_t again = 0;
    int found = 0;
    if (rc == CL_OK &&
        (rc = query_int(m, "SELECT version FROM tickets WHERE id = ?1", tid, 0, &again, &found)) ==
            CL_OK &&
        (!found || again != version)) {
        cl_mirror_fail(m, "ticket %s changed in the mirror meanwhile; try again", tid);
        rc = CL_ECONFLICT;
    }
    char now[40];
    now_iso(now, sizeof now);
    if (rc == CL_OK && (rc = prep(m,
                                  "UPDATE tickets SET state = ?2,"
                                  " contractor_id = CASE ?3 WHEN 1 THEN ?4 WHEN 2 THEN NULL"
                                  " ELSE contractor_id END,"
                                  " rework_count = rework_count + ?5,"
                                  " last_note = CASE WHEN ?6 <> '' THEN ?6 ELSE last_note END,"
                                  " closed_at = CASE WHEN ?7 THEN ?8 END,"
                                  " updated_at = ?8, version = version + 1 WHERE id = ?1",
                                  &st)) == CL_OK) {
        sqlite3_bind_text(st, 1, tid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cl_ticket_state_name(step.to), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3,
                         step.contractor == CL_TCON_SET     ? 1
                         : step.contractor == CL_TCON_CLEAR ? 2
                                                            : 0);
        sqlite3_bind_int64(st, 4, t->contractor_id);
        sqlite3_bind_int(st, 5, step.rework ? 1 : 0);
        sqlite3_bind_text(st, 6, t->note ? t->note : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, cl_ticket_final(step.to));
        sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
        rc = run(m, st);
    }
    if (rc == CL_OK) rc = touch(&a, "tickets", tid);
    if (rc == CL_OK) rc = add_commit(&a, id);
    return rc == CL_OK ? CL_OK : add_abort(&a, rc);
}

/* ---- reading entries ------------------------------------------------------------------- */

#define ENTRY_COLS                                                                                 \
    "id, created_ms, kind, state, idem_key, summary, attempts, next_attempt_ms, error_code,"       \
    " last_error, server_side, note, coalesce(done_ms, 0)"

static const char *col(sqlite3_stmt *st, int i) {
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? (const char *)s : "";
}

static void entry_read(sqlite3_stmt *st, cl_outbox_entry_t *e) {
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->created_ms = sqlite3_column_int64(st, 1);
    snprintf(e->kind, sizeof e->kind, "%s", col(st, 2));
    snprintf(e->state, sizeof e->state, "%s", col(st, 3));
    snprintf(e->idem_key, sizeof e->idem_key, "%s", col(st, 4));
    snprintf(e->summary, sizeof e->summary, "%s", col(st, 5));
    e->attempts = sqlite3_column_int(st, 6);
    e->next_attempt_ms = sqlite3_column_int64(st, 7);
    e->error_code = sqlite3_column_int(st, 8);
    snprintf(e->last_error, sizeof e->last_error, "%s", col(st, 9));
    snprintf(e->server_side, sizeof e->server_side, "%s", col(st, 10));
    snprintf(e->note, sizeof e->note, "%s", col(st, 11));
    e->done_ms = sqlite3_column_int64(st, 12);
}

int cl_outbox_list(cl_mirror_t *m, const char *state, cl_outbox_entry_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "SELECT " ENTRY_COLS " FROM outbox WHERE ?1 IS NULL OR"
             " instr(',' || ?1 || ',', ',' || state || ',') > 0 ORDER BY id",
             &st) != CL_OK)
        return CL_EIO;
    bind_text_or_null(st, 1, state);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            cl_outbox_entry_t *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                sqlite3_finalize(st);
                free(*out);
                *out = NULL;
                *n = 0;
                cl_mirror_fail(m, "out of memory");
                return CL_ENOMEM;
            }
            *out = p;
        }
        entry_read(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
        return CL_EIO;
    }
    return CL_OK;
}

int cl_outbox_get(cl_mirror_t *m, int64_t id, cl_outbox_entry_t *out) {
    sqlite3_stmt *st = NULL;
    if (prep(m, "SELECT " ENTRY_COLS " FROM outbox WHERE id = ?1", &st) != CL_OK) return CL_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) entry_read(st, out);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return CL_OK;
    cl_mirror_fail(m, "outbox entry #%" PRId64 " does not exist", id);
    return CL_ENOTFOUND;
}

int64_t cl_outbox_unacked(cl_mirror_t *m) {
    int64_t n = 0;
    int found = 0;
    if (query_int(m,
                  "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending', 'conflict',"
                  " 'failed')",
                  NULL, 0, &n, &found) != CL_OK)
        return -1;
    return n;
}

/* ---- after an entry is settled -------------------------------------------------------- */

/* Applies the rows held for every row the entry touched. Called after the transaction
 * that settled the entry committed, so the rows are no longer held for it. */
static int release_touched(cl_mirror_t *m, int64_t id) {
    sqlite3_stmt *st = NULL;
    if (prep(m, "SELECT entity, key FROM outbox_touch WHERE entry_id = ?1", &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, id);
    char(*rows)[2][128] = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            void *p = realloc(rows, cap * sizeof *rows);
            if (!p) {
                free(rows);
                sqlite3_finalize(st);
                cl_mirror_fail(m, "out of memory");
                return CL_ENOMEM;
            }
            rows = p;
        }
        snprintf(rows[n][0], sizeof rows[n][0], "%s", col(st, 0));
        snprintf(rows[n][1], sizeof rows[n][1], "%s", col(st, 1));
        n++;
    }
    sqlite3_finalize(st);
    int rc = CL_OK;
    for (size_t i = 0; i < n && rc == CL_OK; i++)
        rc = cl_mirror_release_held(m, rows[i][0], rows[i][1]);
    free(rows);
    return rc;
}

/* ---- pushing --------------------------------------------------------------------------- */

/* Whether a failure may pass by itself: the network, or a server that says try again. */
static int retryable(int rc) {
    return rc == CL_EUNAVAIL || rc == CL_ETIMEDOUT || rc == CL_ESHUTDOWN || rc == CL_ETOOMANY ||
           rc == CL_EIO || rc == CL_ECLOSED || rc == CL_ETLS || rc == CL_EBADFRAME;
}

/* Sends msg and waits for its reply into *r (frames of other requests, e.g. pushes with
 * request id 0, are dropped: the pusher has one request in flight). */
static int call_reply(cl_client_t *c, uint16_t type, const ProtobufCMessage *msg, cl_reply_t *r) {
    memset(r, 0, sizeof *r);
    uint32_t rid = cl_client_next_id(c);
    int rc = cl_client_send(c, rid, type, msg);
    if (rc != CL_OK) return rc;
    for (;;) {
        rc = cl_client_recv(c, r, -1);
        if (rc != CL_OK) return rc;
        if (r->req_id == rid) return CL_OK;
        cl_reply_clear(r);
    }
}

/* The ticket as the server has it now, as JSON into buf (state, version, and what it
 * says), reading it when the connection allows; else what the conflict reply told. */
static void server_ticket(cl_client_t *c, const char *tid, const cl_reply_t *r, char *buf,
                          size_t cap) {
    buf[0] = '\0';
    Closeloop__TicketShowRequest req = CLOSELOOP__TICKET_SHOW_REQUEST__INIT;
    Closeloop__TicketRef ref = CLOSELOOP__TICKET_REF__INIT;
    ref.id = (char *)tid;
    req.ticket = &ref;
    ProtobufCMessage *m = NULL;
    const Closeloop__Ticket *t = NULL;
    if (cl_client_is_open(c) &&
        cl_client_call(c, CL_MSG_TICKET_SHOW_REQ, &req.base, CL_MSG_TICKET_HISTORY, &m) == CL_OK)
        t = ((const Closeloop__TicketHistory *)m)->ticket;
    if (t) {
        const char *sn = cl_ticket_state_name((cl_ticket_state_t)t->state);
        snprintf(buf, cap, "{\"state\": ");
        json_str(buf, cap, sn ? sn : "");
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n,
                 ", \"version\": %" PRId64 ", \"contractor_id\": %" PRId64
                 ", \"rework_count\": %" PRIu32 ", \"number\": %" PRIu32 ", \"contractor\": ",
                 t->version, t->contractor_id, t->rework_count, t->number);
        json_str(buf, cap, t->contractor_name ? t->contractor_name : "");
        n = strlen(buf);
        snprintf(buf + n, cap - n, ", \"last_note\": ");
        json_str(buf, cap, t->last_note ? t->last_note : "");
        n = strlen(buf);
        snprintf(buf + n, cap - n, "}");
    } else if (r->has_conflict) {
        const char *sn = cl_ticket_state_name((cl_ticket_state_t)r->conflict_state);
        snprintf(buf, cap, "{\"state\": ");
        json_str(buf, cap, sn ? sn : "");
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, ", \"version\": %" PRId64 "}", r->conflict_version);
    }
    cl_msg_free(m);
}

/* Settles entry id: state, and what the server said. */
static int settle(cl_mirror_t *m, int64_t id, const char *state, int err, const char *why,
                  const char *server_side, const uint8_t *reply, size_t reply_len) {
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "UPDATE outbox SET state = ?2, error_code = ?3, last_error = ?4,"
             " server_side = coalesce(?5, server_side), reply = coalesce(?6, reply),"
             " done_ms = CASE WHEN ?2 IN ('acked', 'dropped') THEN ?7 ELSE done_ms END"
             " WHERE id = ?1",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, err);
    sqlite3_bind_text(st, 4, why ? why : "", -1, SQLITE_TRANSIENT);
    bind_text_or_null(st, 5, server_side);
    if (reply)
        sqlite3_bind_blob(st, 6, reply, (int)reply_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int64(st, 7, now_ms());
    return run(m, st);
}

/* An acknowledged handover form: the local row of negative id becomes the server's. */
static int handover_acked(cl_mirror_t *m, int64_t id, const Closeloop__InspectionRecord *rec) {
    if (!rec || !rec->meta || rec->meta->id <= 0) return CL_OK;
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "INSERT OR IGNORE INTO inspection_records SELECT ?2, project_id, unit_id, round_id,"
             " inspected_on, inspector, scheduled_on, outcome, not_taken_reason, keys_handed,"
             " water_reading, power_reading, gas_reading, signoff, refusal_reason, satisfaction,"
             " ?3 FROM inspection_records WHERE id = ?1",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, -id);
    sqlite3_bind_int64(st, 2, rec->meta->id);
    sqlite3_bind_int64(st, 3, rec->meta->version);
    if (run(m, st) != CL_OK) return CL_EIO;
    if (prep(m, "DELETE FROM inspection_records WHERE id = ?1", &st) != CL_OK) return CL_EIO;
    sqlite3_bind_int64(st, 1, -id);
    return run(m, st);
}

/* A transition acknowledged: the mirror's row takes the server's state and version. */
static int transition_acked(cl_mirror_t *m, const Closeloop__Ticket *t) {
    if (!t || !t->id) return CL_OK;
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "UPDATE tickets SET state = ?2, contractor_id = nullif(?3, 0), rework_count = ?4,"
             " last_note = ?5, version = ?6 WHERE id = ?1 AND version <= ?6",
             &st) != CL_OK)
        return CL_EIO;
    const char *sn = cl_ticket_state_name((cl_ticket_state_t)t->state);
    sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sn ? sn : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t->contractor_id);
    sqlite3_bind_int64(st, 4, t->rework_count);
    sqlite3_bind_text(st, 5, t->last_note ? t->last_note : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, t->version);
    return run(m, st);
}

/* The ItemBatchResult's errors as one sentence. */
static void batch_errors(const Closeloop__ItemBatchResult *r, char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_errors && strlen(buf) + 8 < cap; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, "%sline %" PRIu32 ": %s", i ? "; " : "", r->errors[i]->line,
                 r->errors[i]->message ? r->errors[i]->message : "");
    }
    if (!buf[0]) snprintf(buf, cap, "the server did not apply the batch");
}

typedef struct pending {
    int64_t id;
    char kind[16];
    uint16_t type;
    int attempts;
    int64_t next_ms;
    uint8_t *payload;
    size_t len;
} pending_t;

/* The first entry to push: pending or sending (a push killed while sending), in id order. */
static int next_pending(cl_mirror_t *m, int64_t after, pending_t *p, int *found) {
    *found = 0;
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "SELECT id, kind, msg_type, attempts, next_attempt_ms, payload FROM outbox"
             " WHERE state IN ('pending', 'sending') AND id > ?1 ORDER BY id LIMIT 1",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, after);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *found = 1;
        p->id = sqlite3_column_int64(st, 0);
        snprintf(p->kind, sizeof p->kind, "%s", col(st, 1));
        p->type = (uint16_t)sqlite3_column_int(st, 2);
        p->attempts = sqlite3_column_int(st, 3);
        p->next_ms = sqlite3_column_int64(st, 4);
        p->len = (size_t)sqlite3_column_bytes(st, 5);
        p->payload = malloc(p->len ? p->len : 1);
        if (!p->payload) {
            sqlite3_finalize(st);
            cl_mirror_fail(m, "out of memory");
            return CL_ENOMEM;
        }
        if (p->len) memcpy(p->payload, sqlite3_column_blob(st, 5), p->len);
    }
    sqlite3_finalize(st);
    return CL_OK;
}

/* Marks the entry being sent: state sending, one more attempt. */
static int mark_sending(cl_mirror_t *m, int64_t id) {
    sqlite3_stmt *st = NULL;
    if (prep(m, "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, id);
    return run(m, st);
}

/* Back to pending after a failure that may pass, not before the backoff is over. */
static int backoff(cl_mirror_t *m, int64_t id, int attempts, int err, const char *why) {
    int64_t wait = BACKOFF_FIRST_MS;
    for (int i = 1; i < attempts && wait < BACKOFF_MAX_MS; i++)
        wait *= 2;
    if (wait > BACKOFF_MAX_MS) wait = BACKOFF_MAX_MS;
    sqlite3_stmt *st = NULL;
    if (prep(m,
             "UPDATE outbox SET state = 'pending', next_attempt_ms = ?2, error_code = ?3,"
             " last_error = ?4 WHERE id = ?1",
             &st) != CL_OK)
        return CL_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms() + wait);
    sqlite3_bind_int(st, 3, err);
    sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
    return run(m, st);
}

/* Sends one entry and settles it. *stop set when the push must stop (a retryable
 * failure). */
static int push_one(cl_mirror_t *m, cl_client_t *c, pending_t *p, cl_outbox_push_stats_t *s,
                    int *stop) {
    ProtobufCMessage *msg = NULL;
    if (cl_msg_unpack(p->type, p->payload, p->len, &msg) != CL_OK) {
        s->failed++;
        return settle(m, p->id, "failed", CL_EBADMSG, "the stored entry does not decode", NULL,
                      NULL, 0);
    }
    int rc = mark_sending(m, p->id);
    if (rc != CL_OK) {
        cl_msg_free(msg);
        return rc;
    }
    s->sent++;
    cl_reply_t r;
    int crc = call_reply(c, p->type, msg, &r);
    int err = crc != CL_OK ? crc : r.err;
    char why[512];
    snprintf(why, sizeof why, "%s", crc != CL_OK ? cl_client_error(c) : r.err ? r.errmsg : "");
    if (err != CL_OK && retryable(err)) {
        *stop = 1;
        s->stopped = err;
        snprintf(s->why, sizeof s->why, "%s", why[0] ? why : cl_strerror(err));
        rc = backoff(m, p->id, p->attempts + 1, err, s->why);
        goto out;
    }
    if (cl_mirror_exec(m, "BEGIN IMMEDIATE") != CL_OK) {
        rc = CL_EIO;
        goto out;
    }
    const char *state = "acked";
    char side[512] = "";
    if (err == CL_ECONFLICT && strcmp(p->kind, "transition") == 0) {
        const Closeloop__TicketTransition *t = (const Closeloop__TicketTransition *)msg;
        server_ticket(c, t->ticket && t->ticket->id ? t->ticket->id : "", &r, side, sizeof side);
        state = "conflict";
        s->conflicts++;
    } else if (err == CL_ENOTFOUND && strcmp(p->kind, "transition") == 0) {
        /* The ticket was in the user's mirror when the entry was made: not found now means
         * it left the user's scope meanwhile (a contractor's ticket reassigned or
         * returned). The ticket changed: a conflict, not a refusal. */
        snprintf(side, sizeof side,
                 "{\"visible\": false, \"reason\": \"no longer visible to you: reassigned, "
                 "returned or out of your projects\"}");
        state = "conflict";
        s->conflicts++;
    } else if (err != CL_OK) {
        state = "failed";
        s->failed++;
    } else if (strcmp(p->kind, "items") == 0 && r.type == CL_MSG_ITEM_BATCH_RESULT && r.msg &&
               !((const Closeloop__ItemBatchResult *)r.msg)->applied) {
        /* A rule refused the batch (an unknown unit, a bad trade): final. */
        batch_errors((const Closeloop__ItemBatchResult *)r.msg, why, sizeof why);
        state = "failed";
        err = CL_EINVAL;
        s->failed++;
    } else {
        s->acked++;
        if (strcmp(p->kind, "handover") == 0 && r.type == CL_MSG_INSPECTION_RECORD)
            rc = handover_acked(m, p->id, (const Closeloop__InspectionRecord *)r.msg);
        else if (strcmp(p->kind, "transition") == 0 && r.type == CL_MSG_TICKET)
            rc = transition_acked(m, (const Closeloop__Ticket *)r.msg);
    }
    uint8_t *rbuf = NULL;
    size_t rlen = 0;
    if (rc == CL_OK && err == CL_OK && r.msg) {
        rlen = protobuf_c_message_get_packed_size(r.msg);
        rbuf = malloc(rlen ? rlen : 1);
        if (rbuf) protobuf_c_message_pack(r.msg, rbuf);
    }
    if (rc == CL_OK)
        rc = settle(m, p->id, state, err, why, side[0] ? side : NULL, rbuf, rbuf ? rlen : 0);
    free(rbuf);
    if (rc == CL_OK)
        rc = cl_mirror_exec(m, "COMMIT");
    else
        (void)cl_mirror_exec(m, "ROLLBACK");
    /* Settled: its rows are no longer held for it (outside the transaction: release
     * runs its own). */
    if (rc == CL_OK && strcmp(state, "acked") == 0) rc = release_touched(m, p->id);
out:
    cl_reply_clear(&r);
    cl_msg_free(msg);
    return rc;
}

int cl_outbox_push(cl_mirror_t *m, cl_client_t *c, int flags, cl_outbox_push_stats_t *st) {
    memset(st, 0, sizeof *st);
    int64_t after = 0;
    int rc = CL_OK;
    for (;;) {
        pending_t p;
        memset(&p, 0, sizeof p);
        int found = 0, stop = 0;
        rc = next_pending(m, after, &p, &found);
        if (rc != CL_OK || !found) break;
        after = p.id;
        if (!(flags & CL_OUTBOX_PUSH_NOW) && p.next_ms > now_ms()) {
            free(p.payload);
            break; /* in order: nothing after it goes first */
        }
        rc = push_one(m, c, &p, st, &stop);
        free(p.payload);
        if (rc != CL_OK || stop) break;
    }
    int64_t left = 0;
    int found = 0;
    if (query_int(m, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')", NULL, 0,
                  &left, &found) == CL_OK)
        st->left = (unsigned)left;
    return rc;
}

/* ---- resolving ------------------------------------------------------------------------- */

/* The entry's state, kind, payload; CL_EPRECONDITION unless conflict or failed. */
static int resolvable(cl_mirror_t *m, int64_t id, cl_outbox_entry_t *e) {
    int rc = cl_outbox_get(m, id, e);
    if (rc != CL_OK) return rc;
    if (strcmp(e->state, "conflict") != 0 && strcmp(e->state, "failed") != 0) {
        cl_mirror_fail(
            m, "outbox entry #%" PRId64 " is %s: only a conflict or a failed entry is resolved", id,
            e->state);
        return CL_EPRECONDITION;
    }
    return CL_OK;
}

/* The version in a server_side JSON ("version": N), 0 when absent. */
static int64_t side_version(const char *side) {
    const char *v = strstr(side, "\"version\": ");
    return v ? strtoll(v + 11, NULL, 10) : 0;
}

int cl_outbox_reapply(cl_mirror_t *m, int64_t id) {
    cl_outbox_entry_t e;
    if (cl_mirror_exec(m, "BEGIN IMMEDIATE") != CL_OK) return CL_EIO;
    int rc = resolvable(m, id, &e);
    ProtobufCMessage *msg = NULL;
    uint8_t *buf = NULL;
    char key[37];
    if (rc == CL_OK && strcmp(e.kind, "transition") == 0) {
        /* Re-applied over the change it met: the server's version now, and a new key
         * (the old one stays unused on the server: the conflict rolled it back). */
        sqlite3_stmt *st = NULL;
        if ((rc = prep(m, "SELECT msg_type, payload FROM outbox WHERE id = ?1", &st)) != CL_OK)
            goto out;
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            rc = cl_msg_unpack((uint16_t)sqlite3_column_int(st, 0), sqlite3_column_blob(st, 1),
                               (size_t)sqlite3_column_bytes(st, 1), &msg);
        else
            rc = CL_ENOTFOUND;
        sqlite3_finalize(st);
        if (rc != CL_OK) {
            cl_mirror_fail(m, "outbox entry #%" PRId64 " does not decode", id);
            goto out;
        }
        if ((rc = new_key(key)) != CL_OK) {
            cl_mirror_fail(m, "outbox: cannot read /dev/urandom for a key");
            goto out;
        }
        Closeloop__TicketTransition *t = (Closeloop__TicketTransition *)msg;
        int64_t v = side_version(e.server_side);
        t->expected_version = v;
        char *old_key = t->idempotency_key;
        t->idempotency_key = key;
        size_t len = protobuf_c_message_get_packed_size(msg);
        buf = malloc(len ? len : 1);
        if (!buf) {
            t->idempotency_key = old_key;
            rc = CL_ENOMEM;
            cl_mirror_fail(m, "out of memory");
            goto out;
        }
        protobuf_c_message_pack(msg, buf);
        t->idempotency_key = old_key; /* freed with the message */
        if ((rc = prep(m, "UPDATE outbox SET payload = ?2, idem_key = ?3 WHERE id = ?1", &st)) !=
            CL_OK)
            goto out;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_blob(st, 2, buf, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
        if ((rc = run(m, st)) != CL_OK) goto out;
        /* The optimistic row chains on the server's version, as the server will. */
        if (v > 0 && t->ticket && t->ticket->id) {
            if ((rc = prep(m, "UPDATE tickets SET version = ?2 WHERE id = ?1", &st)) != CL_OK)
                goto out;
            sqlite3_bind_text(st, 1, t->ticket->id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, v + 1);
            if ((rc = run(m, st)) != CL_OK) goto out;
        }
    }
    if (rc == CL_OK) {
        sqlite3_stmt *st = NULL;
        if ((rc = prep(m,
                       "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = 0,"
                       " error_code = 0, last_error = '' WHERE id = ?1",
                       &st)) == CL_OK) {
            sqlite3_bind_int64(st, 1, id);
            rc = run(m, st);
        }
    }
out:
    free(buf);
    cl_msg_free(msg);
    if (rc == CL_OK) return cl_mirror_exec(m, "COMMIT");
    char keep[sizeof m->err];
    memcpy(keep, m->err, sizeof keep);
    (void)cl_mirror_exec(m, "ROLLBACK");
    memcpy(m->err, keep, sizeof keep);
    return rc;
}

/* A change the undo meets changed again since (a later entry on the same row): left as
 * it is, counted. */
static int undo_conflict(void *arg, int kind, sqlite3_changeset_iter *it) {
    (void)kind, (void)it;
    (*(int *)arg)++;
    return SQLITE_CHANGESET_OMIT;
}

int cl_outbox_drop(cl_mirror_t *m, int64_t id, const char *note) {
    if (!note || !*note) {
        cl_mirror_fail(m, "dropping an entry needs a note (why)");
        return CL_EINVAL;
    }
    cl_outbox_entry_t e;
    if (cl_mirror_exec(m, "BEGIN IMMEDIATE") != CL_OK) return CL_EIO;
    int rc = resolvable(m, id, &e);
    sqlite3_stmt *st = NULL;
    /* A later entry not yet acknowledged changed a row after this one (a verification
     * queued after the repair): undoing this one first would leave the row neither as it
     * was nor as the later entry made it. Later entries are resolved first. */
    if (rc == CL_OK &&
        (rc = prep(m,
                   "SELECT l.entry_id FROM outbox_touch t JOIN outbox_touch l ON l.entity ="
                   " t.entity AND l.key = t.key AND l.entry_id > t.entry_id JOIN outbox o ON"
                   " o.id = l.entry_id WHERE t.entry_id = ?1 AND o.state IN ('pending',"
                   " 'sending', 'conflict', 'failed') ORDER BY l.entry_id DESC LIMIT 1",
                   &st)) == CL_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            int64_t later = sqlite3_column_int64(st, 0);
            cl_mirror_fail(m,
                           "outbox entry #%" PRId64 " changed the same record after #%" PRId64
                           ": resolve #%" PRId64 " first",
                           later, id, later);
            rc = CL_EPRECONDITION;
        }
        sqlite3_finalize(st);
    }
    if (rc == CL_OK && (rc = prep(m, "SELECT undo FROM outbox WHERE id = ?1", &st)) == CL_OK) {
        sqlite3_bind_int64(st, 1, id);
        int skipped = 0;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) > 0) {
            int src = sqlite3changeset_apply(m->db, sqlite3_column_bytes(st, 0),
                                             (void *)sqlite3_column_blob(st, 0), NULL,
                                             undo_conflict, &skipped);
            if (src != SQLITE_OK) {
                cl_mirror_fail(m, "mirror: cannot undo entry #%" PRId64 ": %s", id,
                               sqlite3_errstr(src));
                rc = CL_EIO;
            }
        }
        sqlite3_finalize(st);
    }
    if (rc == CL_OK && (rc = prep(m,
                                  "UPDATE outbox SET state = 'dropped', note = ?2, done_ms = ?3"
                                  " WHERE id = ?1",
                                  &st)) == CL_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms());
        rc = run(m, st);
    }
    if (rc == CL_OK && (rc = cl_mirror_exec(m, "COMMIT")) == CL_OK) return release_touched(m, id);
    char keep[sizeof m->err];
    memcpy(keep, m->err, sizeof keep);
    (void)cl_mirror_exec(m, "ROLLBACK");
    memcpy(m->err, keep, sizeof keep);
    return rc;
}
