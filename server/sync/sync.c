/* sync.c - desktop sync, the server side (docs/SYNC.md): SyncStart names the entities a
 * caller's mirror holds and the feed cursor to continue from; a snapshot streams one
 * entity's rows in scope by keyset; the feed sends the change rows after a cursor, below
 * the snapshot horizon, with revokes when a ticket leaves a contractor; checksums per
 * project and entity find drift. The SQL is sync.sql; every row is its key text, version
 * and a JSON array of the entity's columns in the order SyncStart lists them (which is
 * client/lib/mirror_schema.sql's).
 *
 * A snapshot is read a page (at most SYNC_PAGE rows) at a time, each page sent at once as
 * SyncRowPage frames under the frame limit, and the next page read only once the client
 * has taken most of what was sent (cl_req_wait_room), like the morning lists. The feed is
 * one statement (at most SYNC_FEED_MAX change rows) sent as frames, each carrying the
 * cursor after the last change row whose rows it completes.
 *
 * Runs on the loop thread. A snap_call_t holds a snapshot's state across pages; the last
 * page's callback (or the client's leaving) frees it. Reply strings point into the
 * PGresult and are packed before the callback returns. */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "authz.h"
#include "cl_sql.h"
#include "dispatch.h"
#include "handler.h"
#include "msg.h"
#include "session.h"
#include "sqlutil.h"

#define SYNC_PAGE        500  /* rows per snapshot statement and per frame, at most */
#define SYNC_FEED_MAX    5000 /* change rows one feed request reads, at most (and its default) */
#define SYNC_FRAME_SLACK 1024 /* frame bytes kept for a page's own fields (next_key ...) */
#define SYNC_KEY_MAX     256  /* bytes of a key's text */
_Static_assert(SYNC_PAGE == CL_CALL_PAGE_MAX, "a sync page is one frame's worth at most");

/* How an entity's key is written and read back into the keyset statement's $6 and $7. */
typedef enum key_kind {
    KEY_INT,      /* "123" */
    KEY_UUID,     /* "0f1e..." */
    KEY_TEXT,     /* "waterproofing" */
    KEY_INT_TEXT, /* "12/涂料": project id, then text */
    KEY_UUID_HEX, /* "<item uuid>/<sha256 hex>" */
} key_kind_t;

/* Who has an entity in their mirror, besides the scope its SQL applies. */
typedef enum holders {
    FOR_ALL,        /* every logged-in role */
    FOR_STAFF,      /* not contractors */
    FOR_OWNER_DATA, /* roles that see owners' personal data (cl_authz_sees_owner_data) */
} holders_t;

typedef struct sync_entity {
    const char *name;
    const char *const *columns; /* the mirror table's columns, key columns first */
    size_t ncolumns;
    unsigned key_columns;
    key_kind_t key;
    holders_t holders;
    int stmt; /* its snapshot statement */
} sync_entity_t;

static const char *const companies_cols[] = {"id", "kind", "name", "parent_id", "version"};
static const char *const projects_cols[] = {"id",           "company_id",    "name",   "city",
                                            "move_in_date", "defect_prefix", "version"};
static const char *const buildings_cols[] = {"id", "project_id", "name", "floors", "version"};
static const char *const units_cols[] = {"id",    "building_id", "project_id", "number",
                                         "floor", "layout",      "version"};
static const char *const owners_cols[] = {"id",    "unit_id",   "project_id", "name",
                                          "phone", "id_number", "version"};
static const char *const contractors_cols[] = {"id", "name", "version"};
static const char *const trades_cols[] = {"code", "name_zh", "name_en"};
static const char *const project_trades_cols[] = {"project_id", "trade", "contractor_id",
                                                  "version"};
static const char *const trade_aliases_cols[] = {"project_id", "alias", "trade", "version"};
static const char *const inspection_rounds_cols[] = {
    "id", "project_id", "kind", "planned_start", "planned_end", "department", "status", "version"};
static const char *const inspection_records_cols[] = {
    "id",           "project_id",    "unit_id",
    "round_id",     "inspected_on",  "inspector",
    "scheduled_on", "outcome",       "not_taken_reason",
    "keys_handed",  "water_reading", "power_reading",
    "gas_reading",  "signoff",       "refusal_reason",
    "satisfaction", "version"};
static const char *const inspection_items_cols[] = {
    "id",       "record_id",   "project_id", "unit_id",        "round_id",     "location",
    "category", "description", "severity",   "found_again_of", "inspected_on", "inspector",
    "case_id",  "dup_of",      "created_at", "version"};
static const char *const item_photos_cols[] = {"item_id", "sha256"};
static const char *const tickets_cols[] = {
    "id",        "project_id", "number",   "state",        "contractor_id",
    "category",  "severity",   "deadline", "rework_count", "last_note",
    "raised_at", "closed_at",  "found_on", "updated_at",   "version"};
static const char *const ticket_events_cols[] = {
    "id",     "ticket_id",  "project_id", "at",   "actor_user_id", "actor",
    "action", "from_state", "to_state",   "note", "contractor_id"};
static const char *const defects_cols[] = {"id", "project_id", "code", "state", "version", "data"};
static const char *const kb_cases_cols[] = {"id", "code", "status", "version", "data"};

#define COLS(a) a, sizeof(a) / sizeof((a)[0])

/* Every mirrored entity, in snapshot order: parents first. */
static const sync_entity_t entities[] = {
    {"companies", COLS(companies_cols), 1, KEY_INT, FOR_ALL, CL_SQL(sync_snap_companies)},
    {"projects", COLS(projects_cols), 1, KEY_INT, FOR_ALL, CL_SQL(sync_snap_projects)},
    {"buildings", COLS(buildings_cols), 1, KEY_INT, FOR_ALL, CL_SQL(sync_snap_buildings)},
    {"units", COLS(units_cols), 1, KEY_INT, FOR_ALL, CL_SQL(sync_snap_units)},
    {"owners", COLS(owners_cols), 1, KEY_INT, FOR_OWNER_DATA, CL_SQL(sync_snap_owners)},
    {"contractors", COLS(contractors_cols), 1, KEY_INT, FOR_ALL, CL_SQL(sync_snap_contractors)},
    {"trades", COLS(trades_cols), 1, KEY_TEXT, FOR_ALL, CL_SQL(sync_snap_trades)},
    {"project_trades", COLS(project_trades_cols), 2, KEY_INT_TEXT, FOR_ALL,
     CL_SQL(sync_snap_project_trades)},
    {"trade_aliases", COLS(trade_aliases_cols), 2, KEY_INT_TEXT, FOR_ALL,
     CL_SQL(sync_snap_trade_aliases)},
    {"inspection_rounds", COLS(inspection_rounds_cols), 1, KEY_INT, FOR_ALL,
     CL_SQL(sync_snap_inspection_rounds)},
    {"inspection_records", COLS(inspection_records_cols), 1, KEY_INT, FOR_STAFF,
     CL_SQL(sync_snap_inspection_records)},
    {"inspection_items", COLS(inspection_items_cols), 1, KEY_UUID, FOR_ALL,
     CL_SQL(sync_snap_inspection_items)},
    {"item_photos", COLS(item_photos_cols), 2, KEY_UUID_HEX, FOR_ALL,
     CL_SQL(sync_snap_item_photos)},
    {"tickets", COLS(tickets_cols), 1, KEY_UUID, FOR_ALL, CL_SQL(sync_snap_tickets)},
    {"ticket_events", COLS(ticket_events_cols), 1, KEY_INT, FOR_ALL,
     CL_SQL(sync_snap_ticket_events)},
    {"defects", COLS(defects_cols), 1, KEY_INT, FOR_STAFF, CL_SQL(sync_snap_defects)},
    {"kb_cases", COLS(kb_cases_cols), 1, KEY_INT, FOR_STAFF, CL_SQL(sync_snap_kb_cases)},
};
#define N_ENTITIES (sizeof entities / sizeof entities[0])

/* Every snapshot statement takes the same parameters and returns the same columns. */
#define SNAP_SAME(name)                                                                            \
    _Static_assert(CL_NPARAMS(name) == 9 && CL_COL(name, key) == 0 &&                              \
                       CL_COL(name, version) == 1 && CL_COL(name, vals) == 2,                      \
                   #name " takes scope, project, cursor, limit, keys; gives key, version, vals")
SNAP_SAME(sync_snap_companies);
SNAP_SAME(sync_snap_projects);
SNAP_SAME(sync_snap_buildings);
SNAP_SAME(sync_snap_units);
SNAP_SAME(sync_snap_owners);
SNAP_SAME(sync_snap_contractors);
SNAP_SAME(sync_snap_trades);
SNAP_SAME(sync_snap_project_trades);
SNAP_SAME(sync_snap_trade_aliases);
SNAP_SAME(sync_snap_inspection_rounds);
SNAP_SAME(sync_snap_inspection_records);
SNAP_SAME(sync_snap_inspection_items);
SNAP_SAME(sync_snap_item_photos);
SNAP_SAME(sync_snap_tickets);
SNAP_SAME(sync_snap_ticket_events);
SNAP_SAME(sync_snap_defects);
SNAP_SAME(sync_snap_kb_cases);
#define SNAP_KEY     0
#define SNAP_VERSION 1
#define SNAP_VALS    2

/* Whether role has entity e in its mirror. */
static bool entity_held(const sync_entity_t *e, cl_role_t role) {
    switch (e->holders) {
    case FOR_ALL: return true;
    case FOR_STAFF: return role != CL_ROLE_CONTRACTOR;
    case FOR_OWNER_DATA: return cl_authz_sees_owner_data(role);
    }
    return false;
}

static const sync_entity_t *entity_find(const char *name, cl_role_t role) {
    for (size_t i = 0; i < N_ENTITIES; i++)
        if (strcmp(entities[i].name, name) == 0)
            return entity_held(&entities[i], role) ? &entities[i] : NULL;
    return NULL;
}

static uint64_t wall_ms(void) {
    uv_timeval64_t tv;
    if (uv_gettimeofday(&tv) != 0) return 0;
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* ------------------------------------------------------------------ SyncStart */

static void start_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (!res) {
        cl_call_free(c);
        return;
    }
    Closeloop__SyncEntity ents[N_ENTITIES];
    Closeloop__SyncEntity *ptrs[N_ENTITIES];
    size_t n = 0;
    for (size_t i = 0; i < N_ENTITIES; i++) {
        if (!entity_held(&entities[i], c->session.role)) continue;
        closeloop__sync_entity__init(&ents[n]);
        ents[n].name = (char *)entities[i].name;
        ents[n].n_columns = entities[i].ncolumns;
        ents[n].columns = (char **)entities[i].columns;
        ents[n].key_columns = entities[i].key_columns;
        ptrs[n] = &ents[n];
        n++;
    }
    Closeloop__SyncStart m = CLOSELOOP__SYNC_START__INIT;
    m.feed_xid = strtoull(cl_sql_text(res, 0, CL_COL(sync_start, feed_xid)), NULL, 10);
    m.n_entities = n;
    m.entities = ptrs;
    m.user_id = c->session.user_id;
    m.role = (char *)cl_role_name(c->session.role);
    int64_t now = cl_sql_i64(res, 0, CL_COL(sync_start, now_ms));
    m.server_time_ms = now > 0 ? (uint64_t)now : wall_ms();
    cl_req_reply(c->req, CL_MSG_SYNC_START, &m.base);
    cl_call_free(c);
}

void cl_sync_start(cl_req_t *req) {
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    _Static_assert(CL_NPARAMS(sync_start) == 0, "sync_start takes no parameter");
    const cl_call_stmt_t st = {CL_SQL(sync_start), NULL, NULL};
    cl_call_run(c, false, &st, 1, start_done);
}

/* ------------------------------------------------------------------ the snapshot */

typedef struct snap_call {
    cl_call_t call; /* first: the call is the db callbacks' argument */
    const sync_entity_t *e;
    char project[24];
    char k1[SYNC_KEY_MAX]; /* the keyset cursor: $6 */
    char k2[SYNC_KEY_MAX]; /* $7 */
    char limit[24];        /* $8: this page's rows at most */
    char last_key[SYNC_KEY_MAX];
    uint64_t left; /* rows still wanted; UINT64_MAX for the whole entity */
    bool by_keys;  /* a refetch: keys holds them */
    char keys[];   /* $9: the keys as a text[] literal (when by_keys) */
} snap_call_t;
_Static_assert(offsetof(snap_call_t, call) == 0, "a snap_call_t is its cl_call_t");

static bool all_digits(const char *s, size_t n) {
    if (n == 0 || n > 18) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static bool all_hex(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n % 2) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* The keyset parameters for resuming after key ("" from the start); false when key is
 * not a key of kind. */
static bool key_params(key_kind_t kind, const char *key, char k1[SYNC_KEY_MAX],
                       char k2[SYNC_KEY_MAX]) {
    size_t n = strlen(key);
    if (n >= SYNC_KEY_MAX) return false;
    const char *slash = strchr(key, '/');
    bool first = n == 0;
    switch (kind) {
    case KEY_INT:
        if (!first && !all_digits(key, n)) return false;
        snprintf(k1, SYNC_KEY_MAX, "%s", first ? "0" : key);
        snprintf(k2, SYNC_KEY_MAX, "%s", first ? "0" : "1");
        return true;
    case KEY_UUID:
        if (!first && !cl_uuid_valid(key)) return false;
        snprintf(k1, SYNC_KEY_MAX, "%s", first ? "00000000-0000-0000-0000-000000000000" : key);
        snprintf(k2, SYNC_KEY_MAX, "%s", first ? "0" : "1");
        return true;
    case KEY_TEXT:
        snprintf(k1, SYNC_KEY_MAX, "%s", key);
        snprintf(k2, SYNC_KEY_MAX, "%s", first ? "0" : "1");
        return true;
    case KEY_INT_TEXT:
        if (first) {
            snprintf(k1, SYNC_KEY_MAX, "0");
            k2[0] = '\0';
            return true;
        }
        if (!slash || !all_digits(key, (size_t)(slash - key))) return false;
        snprintf(k1, SYNC_KEY_MAX, "%.*s", (int)(slash - key), key);
        snprintf(k2, SYNC_KEY_MAX, "%s", slash + 1);
        return true;
    case KEY_UUID_HEX:
        if (first) {
            snprintf(k1, SYNC_KEY_MAX, "00000000-0000-0000-0000-000000000000");
            k2[0] = '\0';
            return true;
        }
        if (!slash || slash - key != 36 || !all_hex(slash + 1)) return false;
        snprintf(k1, SYNC_KEY_MAX, "%.36s", key);
        if (!cl_uuid_valid(k1)) return false;
        snprintf(k2, SYNC_KEY_MAX, "%s", slash + 1);
        return true;
    }
    return false;
}

static void snap_fetch(snap_call_t *c);
static void snap_page_done(void *arg, const cl_db_result_t *r);

static void snap_next(void *arg, bool client_gone) {
    snap_call_t *c = arg;
    if (client_gone) { /* the reply is dropped; finish the request */
        cl_req_fail(c->call.req, CL_ECLOSED, "the client has gone");
        cl_call_free(&c->call);
        return;
    }
    snap_fetch(c);
}

static void snap_fetch(snap_call_t *c) {
    cl_call_t *k = &c->call;
    uint64_t n = c->left < SYNC_PAGE ? c->left : SYNC_PAGE;
    snprintf(c->limit, sizeof c->limit, "%" PRIu64, n);
    const cl_call_stmt_t st = {c->e->stmt,
                               CL_PARAMS(sync_snap_tickets, CL_CALL_SCOPE(k), c->project, c->k1,
                                         c->k2, c->limit, c->by_keys ? c->keys : NULL),
                               NULL};
    cl_call_run(k, false, &st, 1, snap_page_done);
}

/* Sends rows [from, to) of res as one SyncRowPage; the final one (LAST) when last. */
static void snap_send(snap_call_t *c, const PGresult *res, int from, int to,
                      Closeloop__SyncRow *rows, Closeloop__SyncRow **ptrs, bool last, bool done) {
    for (int i = from; i < to; i++) {
        Closeloop__SyncRow *row = &rows[i - from];
        closeloop__sync_row__init(row);
        row->entity = (char *)c->e->name;
        row->op = CLOSELOOP__SYNC_OP__SYNC_UPSERT;
        row->key = (char *)cl_sql_text(res, i, SNAP_KEY);
        row->version = cl_sql_i64(res, i, SNAP_VERSION);
        row->values = (char *)cl_sql_text(res, i, SNAP_VALS);
        ptrs[i - from] = row;
    }
    if (to > from)
        snprintf(c->last_key, sizeof c->last_key, "%s", cl_sql_text(res, to - 1, SNAP_KEY));
    Closeloop__SyncRowPage page = CLOSELOOP__SYNC_ROW_PAGE__INIT;
    page.n_rows = (size_t)(to - from);
    page.rows = ptrs;
    page.next_key = c->last_key;
    page.done = done;
    if (last)
        cl_req_reply(c->call.req, CL_MSG_SYNC_ROW_PAGE, &page.base);
    else
        cl_req_reply_part(c->call.req, CL_MSG_SYNC_ROW_PAGE, &page.base);
}

/* Sends one statement's page as frames of at most SYNC_PAGE rows under the frame limit;
 * reads the next page when this one was full and more is wanted, else ends the reply.
 * Frees the call when the snapshot is done. */
static void snap_page(snap_call_t *c, const PGresult *res) {
    int n = PQntuples(res);
    uint64_t asked = strtoull(c->limit, NULL, 10);
    c->left -= c->left == UINT64_MAX ? 0 : (uint64_t)n;
    bool full = (uint64_t)n == asked;
    bool more = full && c->left > 0;
    size_t budget = cl_req_config(c->call.req)->max_frame - SYNC_FRAME_SLACK;
    Closeloop__SyncRow rows[SYNC_PAGE];
    Closeloop__SyncRow *ptrs[SYNC_PAGE];
    int from = 0;
    size_t bytes = 0;
    for (int i = 0; i < n; i++) {
        size_t size = strlen(cl_sql_text(res, i, SNAP_KEY)) +
                      strlen(cl_sql_text(res, i, SNAP_VALS)) + strlen(c->e->name) + 32;
        if (i > from && (i - from == SYNC_PAGE || bytes + size > budget)) {
            snap_send(c, res, from, i, rows, ptrs, false, false);
            from = i;
            bytes = 0;
        }
        bytes += size;
    }
    if (more) {
        if (n > from) snap_send(c, res, from, n, rows, ptrs, false, false);
        if (c->call.req->reply_ended || !key_params(c->e->key, c->last_key, c->k1, c->k2)) {
            if (!c->call.req->reply_ended)
                cl_req_fail(c->call.req, CL_EINTERNAL, "a %s key the cursor cannot read",
                            c->e->name);
            else
                cl_req_fail(c->call.req, CL_EINTERNAL, "the reply ended");
            cl_call_free(&c->call);
            return;
        }
        cl_req_wait_room(c->call.req, snap_next, c);
        return;
    }
    snap_send(c, res, from, n, rows, ptrs, true, !full || c->by_keys);
    cl_call_free(&c->call);
}

static void snap_page_done(void *arg, const cl_db_result_t *r) {
    snap_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    snap_page(c, res); /* frees the call when the snapshot is done */
}

/* Key written as the server writes it ("7", lower-case hex), into out; false when it is
 * not a key of kind. */
static bool key_canonical(key_kind_t kind, const char *key, char out[SYNC_KEY_MAX]) {
    char k1[SYNC_KEY_MAX], k2[SYNC_KEY_MAX];
    if (!key[0] || !key_params(kind, key, k1, k2)) return false;
    switch (kind) {
    case KEY_INT: snprintf(out, SYNC_KEY_MAX, "%lld", strtoll(key, NULL, 10)); return true;
    case KEY_INT_TEXT:
        return snprintf(out, SYNC_KEY_MAX, "%lld/%s", strtoll(k1, NULL, 10), k2) < SYNC_KEY_MAX;
    case KEY_UUID:
    case KEY_UUID_HEX:
        snprintf(out, SYNC_KEY_MAX, "%s", key);
        for (char *p = out; *p; p++)
            if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
        return true;
    case KEY_TEXT: snprintf(out, SYNC_KEY_MAX, "%s", key); return true;
    }
    return false;
}

/* The keys of a refetch as a text[] literal in *out (malloc'd, the caller frees it), each
 * written as the server writes it; false after answering the request. */
static bool keys_literal(cl_req_t *req, const sync_entity_t *e,
                         const Closeloop__SyncSnapshotRequest *m, cl_sqlbuf_t *out) {
    memset(out, 0, sizeof *out);
    cl_sqlbuf_array_open(out);
    for (size_t i = 0; i < m->n_keys; i++) {
        char key[SYNC_KEY_MAX];
        if (!key_canonical(e->key, m->keys[i], key)) {
            free(out->p);
            cl_req_fail(req, CL_EINVAL, "keys[%zu] is not a key of %s", i, e->name);
            return false;
        }
        cl_sqlbuf_array_text(out, key);
    }
    if (!cl_sqlbuf_array_close(out)) {
        cl_req_fail(req, CL_EINTERNAL, "out of memory");
        return false;
    }
    return true;
}

/* Where a refetch's scan starts: at the least first key column among the keys (all
 * valid), inclusive, so the key index is read from there rather than from its start.
 * Keys of text (trades) start at the beginning. */
static void keys_start(const sync_entity_t *e, const Closeloop__SyncSnapshotRequest *m,
                       char k1[SYNC_KEY_MAX], char k2[SYNC_KEY_MAX]) {
    if (e->key == KEY_TEXT) return;
    long long least = -1;
    char uuid[SYNC_KEY_MAX] = "";
    for (size_t i = 0; i < m->n_keys; i++) {
        char key[SYNC_KEY_MAX];
        if (!key_canonical(e->key, m->keys[i], key)) return; /* checked before */
        if (e->key == KEY_INT || e->key == KEY_INT_TEXT) {
            long long v = strtoll(key, NULL, 10);
            if (least < 0 || v < least) least = v;
        } else {
            key[36] = '\0'; /* the uuid */
            if (!uuid[0] || strcmp(key, uuid) < 0) snprintf(uuid, sizeof uuid, "%s", key);
        }
    }
    if (e->key == KEY_INT || e->key == KEY_INT_TEXT)
        snprintf(k1, SYNC_KEY_MAX, "%lld", least);
    else
        snprintf(k1, SYNC_KEY_MAX, "%s", uuid);
    /* one key column: (key, 1) > (least, 0) holds the least itself; two: (a, b) > (least,
     * "") holds every row of a = least, as b is never empty */
    snprintf(k2, SYNC_KEY_MAX, "%s", e->key_columns == 1 ? "0" : "");
}

void cl_sync_snapshot(cl_req_t *req) {
    const Closeloop__SyncSnapshotRequest *m = (const Closeloop__SyncSnapshotRequest *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    CL_ASSERT(s); /* the engine runs this handler only with a session (authz) */
    const sync_entity_t *e = entity_find(m->entity, s->role);
    if (!e) {
        cl_req_fail(req, CL_ENOTFOUND, "no such entity in your mirror: %.60s", m->entity);
        return;
    }
    if (m->project_id < 0) {
        cl_req_fail(req, CL_EINVAL, "project_id must be an id, or 0");
        return;
    }
    if (m->n_keys > SYNC_PAGE) {
        cl_req_fail(req, CL_EINVAL, "at most %d keys at a time", SYNC_PAGE);
        return;
    }
    /* a refetch by keys: after_key and project_id are ignored */
    cl_sqlbuf_t keys = {0};
    if (m->n_keys > 0 && !keys_literal(req, e, m, &keys)) return; /* answered */
    snap_call_t *c = cl_call_new(req, sizeof *c + keys.len + 1);
    if (!c) { /* answered */
        free(keys.p);
        return;
    }
    c->e = e;
    if (keys.p) {
        memcpy(c->keys, keys.p, keys.len);
        c->keys[keys.len] = '\0';
        free(keys.p);
        c->by_keys = true;
        c->left = m->n_keys;
        snprintf(c->project, sizeof c->project, "0");
        bool start = key_params(e->key, "", c->k1, c->k2);
        CL_ASSERT(start); /* "" is the start of every kind of key */
        keys_start(e, m, c->k1, c->k2);
        snap_fetch(c);
        return;
    }
    if (!key_params(e->key, m->after_key, c->k1, c->k2)) {
        cl_req_fail(req, CL_EINVAL, "after_key is not a key of %s", e->name);
        cl_call_free(&c->call);
        return;
    }
    snprintf(c->last_key, sizeof c->last_key, "%s", m->after_key);
    cl_sql_int_param(c->project, m->project_id);
    c->left = m->limit ? m->limit : UINT64_MAX;
    snap_fetch(c);
}

/* ------------------------------------------------------------------ the feed */

typedef struct feed_call {
    cl_call_t call;
    char after_xid[24];
    char after_seq[24];
    char limit[24];
    uint32_t max; /* change rows asked for */
} feed_call_t;
_Static_assert(offsetof(feed_call_t, call) == 0, "a feed_call_t is its cl_call_t");

#define FD(col) CL_COL(sync_feed, col)

/* Whether row i of res and row j are of the same change row (both mark 0). */
static bool same_change(const PGresult *res, int i, int j) {
    return strcmp(cl_sql_text(res, i, FD(xid)), cl_sql_text(res, j, FD(xid))) == 0 &&
           strcmp(cl_sql_text(res, i, FD(seq)), cl_sql_text(res, j, FD(seq))) == 0;
}

static void feed_send(cl_req_t *req, const PGresult *res, int from, int to,
                      Closeloop__SyncRow *rows, Closeloop__SyncRow **ptrs, uint64_t xid,
                      int64_t seq, bool more, bool held_back, bool last) {
    for (int i = from; i < to; i++) {
        Closeloop__SyncRow *row = &rows[i - from];
        closeloop__sync_row__init(row);
        row->entity = (char *)cl_sql_text(res, i, FD(entity));
        row->op = (Closeloop__SyncOp)cl_sql_i64(res, i, FD(op));
        row->key = (char *)cl_sql_text(res, i, FD(key));
        row->version = cl_sql_i64(res, i, FD(version));
        row->values = (char *)cl_sql_text(res, i, FD(vals));
        ptrs[i - from] = row;
    }
    Closeloop__SyncRowPage page = CLOSELOOP__SYNC_ROW_PAGE__INIT;
    page.n_rows = (size_t)(to - from);
    page.rows = ptrs;
    page.cursor_xid = xid;
    page.cursor_seq = seq;
    page.more = more;
    page.held_back = held_back;
    if (last)
        cl_req_reply(req, CL_MSG_SYNC_ROW_PAGE, &page.base);
    else
        cl_req_reply_part(req, CL_MSG_SYNC_ROW_PAGE, &page.base);
}

static void feed_done(void *arg, const cl_db_result_t *r) {
    feed_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    int n = PQntuples(res);
    if (n < 1 || cl_sql_i64(res, n - 1, FD(mark)) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "the feed statement gave no scan position");
        cl_call_free(&c->call);
        return;
    }
    int end = n - 1; /* rows [0, end) are change rows' rows, end the scan position */
    uint64_t scan_xid = strtoull(cl_sql_text(res, end, FD(xid)), NULL, 10);
    int64_t scan_seq = cl_sql_i64(res, end, FD(seq));
    bool more = (uint64_t)cl_sql_i64(res, end, FD(scanned)) >= c->max;
    bool held_back = cl_sql_text(res, end, FD(held_back))[0] == 't';
    /* the cursor after the rows sent so far: the last change row whose rows are all sent */
    uint64_t cur_xid = strtoull(c->after_xid, NULL, 10);
    int64_t cur_seq = strtoll(c->after_seq, NULL, 10);
    size_t budget = cl_req_config(c->call.req)->max_frame - SYNC_FRAME_SLACK;
    Closeloop__SyncRow rows[SYNC_PAGE];
    Closeloop__SyncRow *ptrs[SYNC_PAGE];
    int from = 0;
    size_t bytes = 0;
    uint64_t done_xid = cur_xid;
    int64_t done_seq = cur_seq;
    for (int i = 0; i < end; i++) {
        size_t size = strlen(cl_sql_text(res, i, FD(key))) + strlen(cl_sql_text(res, i, FD(vals))) +
                      strlen(cl_sql_text(res, i, FD(entity))) + 32;
        if (i > from && (i - from == SYNC_PAGE || bytes + size > budget)) {
            feed_send(c->call.req, res, from, i, rows, ptrs, done_xid, done_seq, more, held_back,
                      false);
            from = i;
            bytes = 0;
        }
        bytes += size;
        if (i + 1 == end || !same_change(res, i, i + 1)) { /* row i completes its change */
            done_xid = strtoull(cl_sql_text(res, i, FD(xid)), NULL, 10);
            done_seq = cl_sql_i64(res, i, FD(seq));
        }
    }
    feed_send(c->call.req, res, from, end, rows, ptrs, scan_xid, scan_seq, more, held_back, true);
    cl_call_free(&c->call);
}

void cl_sync_feed(cl_req_t *req) {
    const Closeloop__SyncFeedRequest *m = (const Closeloop__SyncFeedRequest *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    CL_ASSERT(s);
    if (m->after_seq < 0 || m->after_xid > (uint64_t)INT64_MAX) {
        cl_req_fail(req, CL_EINVAL, "the cursor must be a transaction id and a sequence number");
        return;
    }
    feed_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    snprintf(c->after_xid, sizeof c->after_xid, "%" PRIu64, m->after_xid);
    cl_sql_int_param(c->after_seq, m->after_seq);
    c->max = m->limit == 0 || m->limit > SYNC_FEED_MAX ? SYNC_FEED_MAX : m->limit;
    snprintf(c->limit, sizeof c->limit, "%" PRIu32, c->max);
    cl_call_t *k = &c->call;
    const cl_call_stmt_t st =
        CL_STMT(sync_feed, CL_CALL_SCOPE(k), c->after_xid, c->after_seq, c->limit,
                cl_sql_bool_param(cl_authz_sees_owner_data(s->role)));
    cl_call_run(k, false, &st, 1, feed_done);
}

/* ------------------------------------------------------------------ checksums */

#define CK(col) CL_COL(sync_checksum, col)

static ProtobufCMessage *checksum_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                       int row) {
    (void)c;
    Closeloop__SyncChecksum *m = slot;
    closeloop__sync_checksum__init(m);
    m->project_id = cl_sql_i64(res, row, CK(project_id));
    m->entity = (char *)cl_sql_text(res, row, CK(entity));
    m->rows = cl_sql_i64(res, row, CK(n_rows));
    m->hash = (uint64_t)cl_sql_i64(res, row, CK(hash));
    return &m->base;
}

static const cl_call_kind_t kind_checksum = {
    .reply_type = CL_MSG_SYNC_CHECKSUM_PAGE,
    .page_type = CL_MSG_SYNC_CHECKSUM_PAGE,
    .page = &closeloop__sync_checksum_page__descriptor,
    .slot_size = sizeof(Closeloop__SyncChecksum),
    .fill = checksum_fill,
    .clear = NULL,
};

void cl_sync_checksum(cl_req_t *req) {
    const Closeloop__SyncChecksumRequest *m = (const Closeloop__SyncChecksumRequest *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    CL_ASSERT(s);
    if (m->project_id < 0) {
        cl_req_fail(req, CL_EINVAL, "project_id must be an id, or 0");
        return;
    }
    cl_call_t *c = cl_call_list_new(req, &kind_checksum, NULL);
    if (!c) return;      /* answered */
    c->analytics = true; /* it reads every row in scope */
    char project[24];
    const cl_call_stmt_t st[] = {
        CL_STMT(sync_long_read, "120000"),
        CL_STMT(sync_checksum, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                cl_sql_bool_param(cl_authz_sees_owner_data(s->role))),
    };
    cl_call_run(c, false, st, 2, cl_call_list_done);
}
