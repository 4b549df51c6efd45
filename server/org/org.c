/* org.c - the organisation model: companies, projects, buildings, units and their
 * owners, contractors and the trades they cover per project, users, and the bulk import
 * of buildings/units/owners.
 *
 * Every request is one database batch, so one transaction in one round trip: a mutation
 * is "set_actor" (attributes the audit and change-log rows the triggers write) followed
 * by one statement that does the whole change; a read is one statement. Statements take
 * the session scope as their first four parameters (role, company, contractor, project
 * array) and filter with cl_visible_project() & co. (migrations/002_scope.sql), so a
 * record outside the caller's scope reads exactly like a missing one.
 *
 * Creates are idempotent on the client's key: INSERT ... ON CONFLICT (idem_key) DO
 * NOTHING, and the existing row is returned when nothing was inserted. Create statements
 * return exactly one row: the record's columns (NULL when nothing was created or found),
 * then "missing" (what does not exist, for "no such ...") and "invalid" (a sentence).
 *
 * Runs on the loop thread. A cl_call_t (handler.h) holds one request's state, including a
 * copy of the session (the connection may log out while the database works); it is freed
 * right after the final reply. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dispatch.h"
#include "handler.h"
#include "msg.h"
#include "password.h"
#include "session.h"
#include "sqlutil.h"

#define ORG_IMPORT_MAX      5000 /* rows per import chunk */
#define ORG_KEY_MAX         200  /* idempotency key, characters */
#define ORG_COMPANY_MAX     200  /* company, project and contractor names */
#define ORG_CITY_MAX        100
#define ORG_BUILDING_MAX    100 /* building name */
#define ORG_UNIT_NUMBER_MAX 50
#define ORG_LAYOUT_MAX      50
#define ORG_OWNER_MAX       100 /* owner name */
#define ORG_PHONE_MAX       40  /* owner phone and id number */
#define ORG_FLOOR_MIN       (-10)
#define ORG_FLOOR_MAX       300
#define ORG_TRADES_MAX      64
#define ORG_USERNAME_MAX    64
#define ORG_DISPLAY_MAX     240 /* bytes: the session keeps it in 256 */
#define ORG_USER_PROJECTS   200 /* the session keeps a user's projects in 4096 bytes */

/* Short names over the generated ones. */
typedef Closeloop__Meta Closeloop__Meta;
typedef Closeloop__Company pb_company_t;
typedef Closeloop__CompanyCreate pb_company_create_t;
typedef Closeloop__Project pb_project_t;
typedef Closeloop__ProjectCreate pb_project_create_t;
typedef Closeloop__ProjectListRequest pb_project_list_t;
typedef Closeloop__Building pb_building_t;
typedef Closeloop__BuildingCreate pb_building_create_t;
typedef Closeloop__BuildingListRequest pb_building_list_t;
typedef Closeloop__Owner pb_owner_t;
typedef Closeloop__Unit pb_unit_t;
typedef Closeloop__UnitCreate pb_unit_create_t;
typedef Closeloop__UnitListRequest pb_unit_list_t;
typedef Closeloop__Contractor pb_contractor_t;
typedef Closeloop__ContractorCreate pb_contractor_create_t;
typedef Closeloop__User pb_user_t;
typedef Closeloop__UserCreate pb_user_create_t;
typedef Closeloop__TradeAssignment pb_trade_assignment_t;
typedef Closeloop__TradeAssign pb_trade_assign_t;
typedef Closeloop__TradeListRequest pb_trade_list_t;
typedef Closeloop__UnitImportRow pb_import_row_t;
typedef Closeloop__UnitImportChunk pb_import_chunk_t;
typedef Closeloop__UnitImportResult pb_import_result_t;

/* ------------------------------------------------------------------ records */

/* A new call whose statement returns records of kind; NULL after answering the request. */
static cl_call_t *org_call_new(cl_req_t *req, const cl_call_kind_t *kind) {
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (c) c->kind = kind;
    return c;
}

/* Company kinds as stored in companies.kind. */
static const struct {
    Closeloop__CompanyKind kind;
    const char *name;
} company_kinds[] = {
    {CLOSELOOP__COMPANY_KIND__COMPANY_HQ, "hq"},
    {CLOSELOOP__COMPANY_KIND__COMPANY_CITY, "city"},
    {CLOSELOOP__COMPANY_KIND__COMPANY_PROJECT, "project"},
};

static const char *company_kind_name(Closeloop__CompanyKind kind) {
    for (size_t i = 0; i < sizeof company_kinds / sizeof company_kinds[0]; i++)
        if (company_kinds[i].kind == kind) return company_kinds[i].name;
    return NULL;
}

static Closeloop__CompanyKind company_kind_parse(const char *name) {
    for (size_t i = 0; i < sizeof company_kinds / sizeof company_kinds[0]; i++)
        if (strcmp(company_kinds[i].name, name) == 0) return company_kinds[i].kind;
    return CLOSELOOP__COMPANY_KIND__COMPANY_NONE;
}

/* Company: META, name, kind, parent_id. */
typedef struct company_slot {
    pb_company_t rec;
    Closeloop__Meta meta;
} company_slot_t;

static ProtobufCMessage *company_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                      int row) {
    company_slot_t *s = slot;
    closeloop__company__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.name = PQgetvalue(res, row, 4);
    s->rec.kind = company_kind_parse(cl_sql_text(res, row, 5));
    s->rec.parent_id = cl_sql_i64(res, row, 6);
    return &s->rec.base;
}

/* Project: META, company_id, name, city, move_in_date, company_name. */
typedef struct project_slot {
    pb_project_t rec;
    Closeloop__Meta meta;
} project_slot_t;

static ProtobufCMessage *project_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                      int row) {
    project_slot_t *s = slot;
    closeloop__project__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.company_id = cl_sql_i64(res, row, 4);
    s->rec.name = PQgetvalue(res, row, 5);
    s->rec.city = PQgetvalue(res, row, 6);
    s->rec.move_in_date = PQgetvalue(res, row, 7);
    s->rec.company_name = PQgetvalue(res, row, 8);
    return &s->rec.base;
}

/* Building: META, project_id, name, floors. */
typedef struct building_slot {
    pb_building_t rec;
    Closeloop__Meta meta;
} building_slot_t;

static ProtobufCMessage *building_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                       int row) {
    building_slot_t *s = slot;
    closeloop__building__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.project_id = cl_sql_i64(res, row, 4);
    s->rec.name = PQgetvalue(res, row, 5);
    s->rec.floors = (uint32_t)cl_sql_i64(res, row, 6);
    return &s->rec.base;
}

/* Unit: META, building_id, number, floor, layout, building_name, then owner name, phone,
 * id number (NULL unless the statement was told the caller may see owners). */
typedef struct unit_slot {
    pb_unit_t rec;
    Closeloop__Meta meta;
    pb_owner_t owner;
} unit_slot_t;

static ProtobufCMessage *unit_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    unit_slot_t *s = slot;
    closeloop__unit__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.building_id = cl_sql_i64(res, row, 4);
    s->rec.number = PQgetvalue(res, row, 5);
    s->rec.floor = (int32_t)cl_sql_i64(res, row, 6);
    s->rec.layout = PQgetvalue(res, row, 7);
    s->rec.building_name = PQgetvalue(res, row, 8);
    /* The SQL already withholds owners; checking the role again costs nothing. */
    if (!cl_sql_isnull(res, row, 9) && cl_authz_sees_owner_data(c->session.role)) {
        closeloop__owner__init(&s->owner);
        s->owner.name = PQgetvalue(res, row, 9);
        s->owner.phone = PQgetvalue(res, row, 10);
        s->owner.id_number = PQgetvalue(res, row, 11);
        s->rec.owner = &s->owner;
    }
    return &s->rec.base;
}

/* Contractor: META, name, trades (comma-separated codes). */
typedef struct contractor_slot {
    pb_contractor_t rec;
    Closeloop__Meta meta;
    char *codes;   /* a copy of the trades column, split in place */
    char **trades; /* pointers into codes */
} contractor_slot_t;

static ProtobufCMessage *contractor_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                         int row) {
    contractor_slot_t *s = slot;
    closeloop__contractor__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.name = PQgetvalue(res, row, 4);
    const char *list = cl_sql_text(res, row, 5);
    if (!*list) return &s->rec.base;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    s->codes = strdup(list);
    s->trades = malloc(n * sizeof *s->trades);
    if (!s->codes || !s->trades) return NULL;
    for (char *save = NULL, *t = strtok_r(s->codes, ",", &save); t; t = strtok_r(NULL, ",", &save))
        s->trades[s->rec.n_trades++] = t;
    s->rec.trades = s->trades;
    return &s->rec.base;
}

static void contractor_clear(void *slot) {
    contractor_slot_t *s = slot;
    free(s->codes);
    free(s->trades);
    s->codes = NULL;
    s->trades = NULL;
}

/* User: META, username, display_name, role, company_id, contractor_id, project ids
 * (comma-separated), disabled. Never a password hash. */
typedef struct user_slot {
    pb_user_t rec;
    Closeloop__Meta meta;
    int64_t *projects;
} user_slot_t;

static ProtobufCMessage *user_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    user_slot_t *s = slot;
    closeloop__user__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.username = PQgetvalue(res, row, 4);
    s->rec.display_name = PQgetvalue(res, row, 5);
    s->rec.role = (Closeloop__Role)cl_role_parse(cl_sql_text(res, row, 6));
    s->rec.company_id = cl_sql_i64(res, row, 7);
    s->rec.contractor_id = cl_sql_i64(res, row, 8);
    s->rec.disabled = cl_sql_text(res, row, 10)[0] == 't';
    const char *list = cl_sql_text(res, row, 9);
    if (!*list) return &s->rec.base;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    s->projects = malloc(n * sizeof *s->projects);
    if (!s->projects) return NULL;
    for (const char *p = list; *p;) {
        char *end;
        s->projects[s->rec.n_project_ids++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end + strlen(end);
    }
    s->rec.project_ids = s->projects;
    return &s->rec.base;
}

static void user_clear(void *slot) {
    user_slot_t *s = slot;
    free(s->projects);
    s->projects = NULL;
}

/* TradeAssignment: project_id, trade, contractor_id, contractor_name, version. */
static ProtobufCMessage *trade_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    pb_trade_assignment_t *s = slot;
    closeloop__trade_assignment__init(s);
    s->project_id = cl_sql_i64(res, row, 0);
    s->trade = PQgetvalue(res, row, 1);
    s->contractor_id = cl_sql_i64(res, row, 2);
    s->contractor_name = PQgetvalue(res, row, 3);
    s->version = cl_sql_i64(res, row, 4);
    return &s->base;
}

#define ORG_KIND(reply, page_msg, desc, slot, fill_fn, clear_fn)                                   \
    {                                                                                              \
        .reply_type = (reply), .page_type = (page_msg), .page = (desc), .slot_size = sizeof(slot), \
        .fill = (fill_fn), .clear = (clear_fn)                                                     \
    }
static const cl_call_kind_t kind_company =
    ORG_KIND(CL_MSG_COMPANY, CL_MSG_COMPANY_PAGE, &closeloop__company_page__descriptor,
             company_slot_t, company_fill, NULL);
static const cl_call_kind_t kind_project =
    ORG_KIND(CL_MSG_PROJECT, CL_MSG_PROJECT_PAGE, &closeloop__project_page__descriptor,
             project_slot_t, project_fill, NULL);
static const cl_call_kind_t kind_building =
    ORG_KIND(CL_MSG_BUILDING, CL_MSG_BUILDING_PAGE, &closeloop__building_page__descriptor,
             building_slot_t, building_fill, NULL);
static const cl_call_kind_t kind_unit = ORG_KIND(
    CL_MSG_UNIT, CL_MSG_UNIT_PAGE, &closeloop__unit_page__descriptor, unit_slot_t, unit_fill, NULL);
static const cl_call_kind_t kind_contractor =
    ORG_KIND(CL_MSG_CONTRACTOR, CL_MSG_CONTRACTOR_PAGE, &closeloop__contractor_page__descriptor,
             contractor_slot_t, contractor_fill, contractor_clear);
static const cl_call_kind_t kind_user =
    ORG_KIND(CL_MSG_USER, CL_MSG_USER_PAGE, &closeloop__user_page__descriptor, user_slot_t,
             user_fill, user_clear);
static const cl_call_kind_t kind_trade = ORG_KIND(
    CL_MSG_TRADE_ASSIGNMENT, CL_MSG_TRADE_ASSIGNMENT_PAGE,
    &closeloop__trade_assignment_page__descriptor, pb_trade_assignment_t, trade_fill, NULL);

/* ------------------------------------------------------------------ replies */

/* A create's (or trade assignment's) single row: the record, or why there is none. */
static void org_record_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    if (cl_call_one_row(c, res, "a create")) {
        void *slot = calloc(1, c->kind->slot_size);
        ProtobufCMessage *rec = slot ? c->kind->fill(slot, c, res, 0) : NULL;
        if (rec)
            cl_req_reply(c->req, c->kind->reply_type, rec);
        else
            cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending a record");
        if (slot && c->kind->clear) c->kind->clear(slot);
        free(slot);
    }
    cl_call_free(c);
}

/* ------------------------------------------------------------------ parameters */

/* ------------------------------------------------------------------ validation */

static bool need_key(cl_req_t *req, const char *key) {
    return cl_req_need_text(req, "idempotency_key", key, true, ORG_KEY_MAX);
}

static bool username_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > ORG_USERNAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return false;
    return true;
}

/* ------------------------------------------------------------------ SQL */

/* The SQL is laid out by hand; clang-format would scatter it. */
// clang-format off

/* The scope parameters, as every scoped statement takes them ($1..$4). */
#define SCOPE            "$1::text, $2::bigint, $3::bigint, $4::bigint[]"
#define VISIBLE(project) "cl_visible_project(" project ", " SCOPE ")"
#define MS(ts)           "(extract(epoch FROM " ts ") * 1000)::bigint"
#define META(t)          t ".id, " t ".version, " MS(t ".created_at") ", " MS(t ".updated_at")
/* A create's single result row, whatever happened. */
#define ONE_ROW          " FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true"

#define COMPANY_COLS(t)  META(t) ", " t ".name, " t ".kind, coalesce(" t ".parent_id, 0)"
/* needs co (the company) */
#define PROJECT_COLS(t)  META(t) ", " t ".company_id, " t ".name, " t ".city,"              \
                         " coalesce(to_char(" t ".move_in_date, 'YYYY-MM-DD'), ''), co.name"
#define BUILDING_COLS(t) META(t) ", " t ".project_id, " t ".name, " t ".floors"
/* needs b (the building) and o (the owner, joined only when the caller may see owners) */
#define UNIT_COLS(t)     META(t) ", " t ".building_id, " t ".number, " t ".floor, " t ".layout," \
                         " b.name, o.name, o.phone, o.id_number"
/* then the project ids and disabled */
#define USER_COLS(t)     META(t) ", " t ".username, " t ".display_name, " t ".role,"           \
                         " coalesce(" t ".company_id, 0), coalesce(" t ".contractor_id, 0)"

/* $1 key, $2 name, $3 kind, $4 parent id (NULL: none). HQ admin only, by role. */
static const char sql_company_create[] =
    "WITH parent AS (SELECT $4::bigint IS NULL"
    "                    OR EXISTS (SELECT 1 FROM companies WHERE id = $4::bigint) AS found),"
    " ins AS (INSERT INTO companies (kind, name, parent_id, idem_key)"
    "         SELECT $3::text, $2::text, $4::bigint, $1::text FROM parent WHERE found"
    "         ON CONFLICT (idem_key) DO NOTHING RETURNING *),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT * FROM companies c"
    "          WHERE c.idem_key = $1::text AND NOT EXISTS (SELECT 1 FROM ins))"
    "SELECT " COMPANY_COLS("rec") ","
    "       CASE WHEN NOT (SELECT found FROM parent) THEN 'parent company' END, NULL::text"
    ONE_ROW;

/* scope */
static const char sql_company_list[] =
    "SELECT " COMPANY_COLS("c") " FROM companies c"
    " WHERE cl_visible_company(c.id, " SCOPE ")"
    " ORDER BY c.name, c.id";

/* scope, $5 key, $6 company, $7 name, $8 city, $9 move-in date (NULL: none) */
static const char sql_project_create[] =
    "WITH target AS (SELECT c.id FROM companies c"
    "                 WHERE c.id = $6::bigint AND cl_manages_company(c.id, $1::text, $2::bigint)),"
    " ins AS (INSERT INTO projects (company_id, name, city, move_in_date, idem_key)"
    "         SELECT t.id, $7::text, $8::text, $9::date, $5::text FROM target t"
    "         ON CONFLICT (idem_key) DO NOTHING RETURNING *),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT * FROM projects p WHERE p.idem_key = $5::text"
    "            AND NOT EXISTS (SELECT 1 FROM ins) AND " VISIBLE("p.id") ")"
    "SELECT " PROJECT_COLS("rec") ","
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'company' END, NULL::text"
    ONE_ROW " LEFT JOIN companies co ON co.id = rec.company_id";

/* scope, $5 company (0: every company in scope) */
static const char sql_project_list[] =
    "SELECT " PROJECT_COLS("p") " FROM cl_visible_projects(" SCOPE ") v"
    " JOIN projects p ON p.id = v.project_id JOIN companies co ON co.id = p.company_id"
    " WHERE $5::bigint = 0 OR p.company_id = $5::bigint"
    " ORDER BY p.name, p.id";

/* scope, $5 key, $6 project, $7 name, $8 floors */
static const char sql_building_create[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $6::bigint AND " VISIBLE("p.id") "),"
    " ins AS (INSERT INTO buildings (project_id, name, floors, idem_key)"
    "         SELECT t.id, $7::text, $8::int, $5::text FROM target t"
    "         ON CONFLICT (idem_key) DO NOTHING RETURNING *),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT * FROM buildings b WHERE b.idem_key = $5::text"
    "            AND NOT EXISTS (SELECT 1 FROM ins) AND " VISIBLE("b.project_id") ")"
    "SELECT " BUILDING_COLS("rec") ","
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END, NULL::text"
    ONE_ROW;

/* scope, $5 project. No row at all: no such project; one NULL row: no buildings. */
static const char sql_building_list[] =
    "SELECT " BUILDING_COLS("b") " FROM projects p"
    " LEFT JOIN buildings b ON b.project_id = p.id"
    " WHERE p.id = $5::bigint AND " VISIBLE("p.id")
    " ORDER BY b.name, b.id";

/* scope, $5 key, $6 building, $7 number, $8 floor, $9 layout, $10 owner name (NULL: no
 * owner), $11 owner phone, $12 owner id number, $13 whether the caller sees owners */
static const char sql_unit_create[] =
    "WITH target AS (SELECT b.id, b.project_id FROM buildings b"
    "                 WHERE b.id = $6::bigint AND " VISIBLE("b.project_id") "),"
    " ins AS (INSERT INTO units (building_id, project_id, number, floor, layout, idem_key)"
    "         SELECT t.id, t.project_id, $7::text, $8::int, $9::text, $5::text FROM target t"
    "         ON CONFLICT (idem_key) DO NOTHING RETURNING *),"
    " ins_owner AS (INSERT INTO owners (unit_id, project_id, name, phone, id_number)"
    "               SELECT i.id, i.project_id, $10::text, $11::text, $12::text FROM ins i"
    "                WHERE $10::text IS NOT NULL"
    "               RETURNING unit_id, name, phone, id_number),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT * FROM units u WHERE u.idem_key = $5::text"
    "            AND NOT EXISTS (SELECT 1 FROM ins) AND " VISIBLE("u.project_id") "),"
    " o AS (SELECT * FROM ins_owner WHERE $13::boolean UNION ALL"
    "       SELECT ow.unit_id, ow.name, ow.phone, ow.id_number"
    "         FROM owners ow JOIN rec ON ow.unit_id = rec.id WHERE $13::boolean)"
    "SELECT " UNIT_COLS("rec") ","
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'building' END, NULL::text"
    ONE_ROW
    " LEFT JOIN buildings b ON b.id = rec.building_id LEFT JOIN o ON o.unit_id = rec.id";

/* scope, $5 project, $6 building (0: all), $7 whether the caller sees owners. No row at
 * all: no such project, or the building is not one of its buildings. */
static const char sql_unit_list[] =
    "SELECT " UNIT_COLS("u") " FROM projects p"
    " LEFT JOIN (units u JOIN buildings b ON b.id = u.building_id)"
    "        ON u.project_id = p.id AND ($6::bigint = 0 OR u.building_id = $6::bigint)"
    " LEFT JOIN owners o ON o.unit_id = u.id AND $7::boolean"
    " WHERE p.id = $5::bigint AND " VISIBLE("p.id")
    "   AND ($6::bigint = 0 OR EXISTS (SELECT 1 FROM buildings x"
    "                                   WHERE x.id = $6::bigint AND x.project_id = p.id))"
    " ORDER BY b.name, u.number, u.id";

/* scope, $5 project, then the rows as parallel arrays: $6 building names, $7 unit
 * numbers, $8 floors, $9 layouts, $10 owner names ('' = no owner data), $11 owner phones,
 * $12 owner id numbers. The rows are distinct on (building, number). Creates missing
 * buildings and units, updates units and owners that differ, and touches nothing that is
 * equal, so no trigger fires for an unchanged row. A row counts as updated when its unit
 * or its owner changed (xmax = 0 tells a fresh insert from an ON CONFLICT update). If a
 * building created concurrently after this statement's snapshot hides from it, the
 * statement fails as retryable (40001) rather than skip rows. */
static const char sql_unit_import[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $5::bigint AND " VISIBLE("p.id") "),"
    " r AS (SELECT x.* FROM target,"
    "              unnest($6::text[], $7::text[], $8::int[], $9::text[],"
    "                     $10::text[], $11::text[], $12::text[])"
    "                AS x (building, number, floor, layout, owner_name, owner_phone, owner_id_number)),"
    " new_buildings AS (INSERT INTO buildings (project_id, name)"
    "                   SELECT DISTINCT t.id, r.building FROM target t, r"
    "                   ON CONFLICT (project_id, name) DO NOTHING RETURNING id, name),"
    " bld AS (SELECT id, name FROM new_buildings UNION ALL"
    "         SELECT b.id, b.name FROM buildings b, target t"
    "          WHERE b.project_id = t.id AND b.name IN (SELECT building FROM r)),"
    " rb AS (SELECT r.*, bld.id AS building_id FROM r JOIN bld ON bld.name = r.building),"
    " up AS (INSERT INTO units AS u (building_id, project_id, number, floor, layout)"
    "        SELECT rb.building_id, t.id, rb.number, rb.floor, rb.layout FROM rb, target t"
    "        ON CONFLICT (building_id, number) DO UPDATE"
    "           SET floor = EXCLUDED.floor, layout = EXCLUDED.layout"
    "         WHERE (u.floor, u.layout) IS DISTINCT FROM (EXCLUDED.floor, EXCLUDED.layout)"
    "        RETURNING u.id, u.building_id, u.number, u.xmax = 0 AS inserted),"
    " unit_ids AS (SELECT id, building_id, number FROM up UNION ALL"
    "              SELECT u.id, u.building_id, u.number FROM rb"
    "                JOIN units u ON u.building_id = rb.building_id AND u.number = rb.number"
    "               WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.id = u.id)),"
    " own AS (INSERT INTO owners AS o (unit_id, project_id, name, phone, id_number)"
    "         SELECT k.id, t.id, rb.owner_name, rb.owner_phone, rb.owner_id_number"
    "           FROM rb JOIN unit_ids k ON k.building_id = rb.building_id"
    "                                  AND k.number = rb.number, target t"
    "          WHERE rb.owner_name <> ''"
    "         ON CONFLICT (unit_id) DO UPDATE"
    "            SET name = EXCLUDED.name, phone = EXCLUDED.phone, id_number = EXCLUDED.id_number"
    "          WHERE (o.name, o.phone, o.id_number)"
    "                IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone, EXCLUDED.id_number)"
    "         RETURNING o.unit_id)"
    "SELECT (SELECT count(*) FROM target),"
    "       (SELECT count(*) FROM up WHERE inserted),"
    "       (SELECT count(*) FROM (SELECT id FROM up WHERE NOT inserted UNION"
    "                              SELECT unit_id FROM own"
    "                               WHERE unit_id NOT IN (SELECT id FROM up WHERE inserted)) AS c),"
    "       (SELECT count(*) FROM new_buildings),"
    "       CASE WHEN (SELECT count(*) FROM rb) = (SELECT count(*) FROM r) THEN 0"
    "            ELSE cl_retry('a building of this import was created concurrently; retry') END";

/* $1 key, $2 name, $3 trade codes text[] */
static const char sql_contractor_create[] =
    "WITH wanted AS (SELECT DISTINCT t AS trade FROM unnest($3::text[]) AS t),"
    " unknown AS (SELECT w.trade FROM wanted w"
    "              WHERE NOT EXISTS (SELECT 1 FROM trades tr WHERE tr.code = w.trade)"
    "              ORDER BY w.trade LIMIT 1),"
    " ins AS (INSERT INTO contractors (name, idem_key)"
    "         SELECT $2::text, $1::text WHERE NOT EXISTS (SELECT 1 FROM unknown)"
    "         ON CONFLICT (idem_key) DO NOTHING RETURNING *),"
    " ins_trades AS (INSERT INTO contractor_trades (contractor_id, trade)"
    "                SELECT i.id, w.trade FROM ins i, wanted w RETURNING trade),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT * FROM contractors c"
    "          WHERE c.idem_key = $1::text AND NOT EXISTS (SELECT 1 FROM ins)),"
    " rec_trades AS (SELECT trade FROM ins_trades UNION ALL"
    "                SELECT ct.trade FROM contractor_trades ct"
    "                  JOIN rec ON ct.contractor_id = rec.id)"
    "SELECT " META("rec") ", rec.name,"
    "       (SELECT coalesce(string_agg(trade, ',' ORDER BY trade), '') FROM rec_trades),"
    "       NULL::text, (SELECT format('unknown trade %s', trade) FROM unknown)"
    ONE_ROW;

/* $1 only the caller's own contractor, $2 the caller's contractor */
static const char sql_contractor_list[] =
    "SELECT " META("c") ", c.name,"
    "       coalesce((SELECT string_agg(ct.trade, ',' ORDER BY ct.trade)"
    "                   FROM contractor_trades ct WHERE ct.contractor_id = c.id), '')"
    " FROM contractors c WHERE NOT $1::boolean OR c.id = $2::bigint"
    " ORDER BY c.name, c.id";

/* scope, $5 key, $6 username, $7 display name, $8 role, $9 company (NULL: none),
 * $10 contractor (NULL: none), $11 project ids bigint[], $12 Argon2id hash. The hash goes
 * into the INSERT and nowhere else. */
static const char sql_user_create[] =
    "WITH missing AS (SELECT CASE"
    "   WHEN $9::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM companies c"
    "        WHERE c.id = $9::bigint AND cl_manages_company(c.id, $1::text, $2::bigint))"
    "        THEN 'company'"
    "   WHEN $10::bigint IS NOT NULL"
    "        AND NOT EXISTS (SELECT 1 FROM contractors k WHERE k.id = $10::bigint)"
    "        THEN 'contractor'"
    "   ELSE (SELECT format('project %s', x) FROM unnest($11::bigint[]) AS x"
    "          WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = x AND " VISIBLE("p.id") ")"
    "          ORDER BY x LIMIT 1)"
    "   END AS what),"
    " ins AS (INSERT INTO users (username, display_name, role, company_id, contractor_id,"
    "                            password_hash, idem_key)"
    "         SELECT $6::text, $7::text, $8::text, $9::bigint, $10::bigint, $12::text, $5::text"
    "           FROM missing WHERE what IS NULL"
    "         ON CONFLICT (idem_key) DO NOTHING"
    "         RETURNING id, version, created_at, updated_at, username, display_name, role,"
    "                   company_id, contractor_id, disabled),"
    " ins_projects AS (INSERT INTO user_projects (user_id, project_id)"
    "                  SELECT i.id, x.id FROM ins i,"
    "                         (SELECT DISTINCT unnest($11::bigint[]) AS id) AS x"
    "                  RETURNING project_id),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT u.id, u.version, u.created_at, u.updated_at, u.username, u.display_name,"
    "                u.role, u.company_id, u.contractor_id, u.disabled"
    "           FROM users u WHERE u.idem_key = $5::text AND NOT EXISTS (SELECT 1 FROM ins)"
    "            AND cl_visible_user(u.id, $1::text, $2::bigint, $3::bigint, NULL)),"
    " rec_projects AS (SELECT project_id FROM ins_projects UNION ALL"
    "                  SELECT up.project_id FROM user_projects up JOIN rec ON up.user_id = rec.id)"
    "SELECT " USER_COLS("rec") ","
    "       (SELECT coalesce(string_agg(project_id::text, ',' ORDER BY project_id), '')"
    "          FROM rec_projects), rec.disabled,"
    "       (SELECT what FROM missing), NULL::text"
    ONE_ROW;

/* scope, $5 the caller's user id. Project ids outside the caller's scope are left out. */
static const char sql_user_list[] =
    "SELECT " USER_COLS("u") ","
    "       coalesce((SELECT string_agg(up.project_id::text, ',' ORDER BY up.project_id)"
    "                   FROM user_projects up"
    "                  WHERE up.user_id = u.id AND " VISIBLE("up.project_id") "), ''),"
    "       u.disabled"
    " FROM users u WHERE cl_visible_user(u.id, $1::text, $2::bigint, $3::bigint, $5::bigint)"
    " ORDER BY u.username";

/* scope, $5 project, $6 trade, $7 contractor. An unchanged assignment is not written. */
static const char sql_trade_assign[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $5::bigint AND " VISIBLE("p.id") "),"
    " who AS (SELECT k.id, k.name,"
    "                EXISTS (SELECT 1 FROM contractor_trades ct"
    "                         WHERE ct.contractor_id = k.id AND ct.trade = $6::text) AS covers"
    "           FROM contractors k WHERE k.id = $7::bigint),"
    " up AS (INSERT INTO project_trades (project_id, trade, contractor_id)"
    "        SELECT t.id, $6::text, w.id FROM target t, who w WHERE w.covers"
    "        ON CONFLICT (project_id, trade) DO UPDATE SET contractor_id = EXCLUDED.contractor_id"
    "         WHERE project_trades.contractor_id <> EXCLUDED.contractor_id"
    "        RETURNING project_id, trade, contractor_id, version),"
    " rec AS (SELECT * FROM up UNION ALL"
    "         SELECT pt.project_id, pt.trade, pt.contractor_id, pt.version"
    "           FROM project_trades pt, target t, who w"
    "          WHERE pt.project_id = t.id AND pt.trade = $6::text AND pt.contractor_id = w.id"
    "            AND w.covers AND NOT EXISTS (SELECT 1 FROM up))"
    "SELECT rec.project_id, rec.trade, rec.contractor_id, k.name, rec.version,"
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project'"
    "            WHEN NOT EXISTS (SELECT 1 FROM who) THEN 'contractor' END,"
    "       (SELECT format('contractor %s does not cover trade %s', left(w.name, 60), $6::text)"
    "          FROM who w WHERE NOT w.covers)"
    ONE_ROW " LEFT JOIN contractors k ON k.id = rec.contractor_id";

/* scope, $5 project, $6 only the caller's own contractor's assignments */
static const char sql_trade_list[] =
    "SELECT pt.project_id, pt.trade, pt.contractor_id, k.name, pt.version FROM projects p"
    " LEFT JOIN (project_trades pt JOIN contractors k ON k.id = pt.contractor_id)"
    "        ON pt.project_id = p.id AND (NOT $6::boolean OR pt.contractor_id = $3::bigint)"
    " WHERE p.id = $5::bigint AND " VISIBLE("p.id")
    " ORDER BY pt.trade";

// clang-format on

const cl_db_stmt_t cl_org_stmts[] = {
    {"org_company_create", sql_company_create},
    {"org_company_list", sql_company_list},
    {"org_project_create", sql_project_create},
    {"org_project_list", sql_project_list},
    {"org_building_create", sql_building_create},
    {"org_building_list", sql_building_list},
    {"org_unit_create", sql_unit_create},
    {"org_unit_list", sql_unit_list},
    {"org_unit_import", sql_unit_import},
    {"org_contractor_create", sql_contractor_create},
    {"org_contractor_list", sql_contractor_list},
    {"org_user_create", sql_user_create},
    {"org_user_list", sql_user_list},
    {"org_trade_assign", sql_trade_assign},
    {"org_trade_list", sql_trade_list},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ handlers */

/* A new call for a create. A unique violation is answered "<taken> \"<name>\"", and an
 * idempotency key that belongs to a record the caller cannot get with its own sentence. */
static cl_call_t *create_call(cl_req_t *req, const cl_call_kind_t *kind, const char *key,
                              const char *taken, const char *name) {
    cl_call_t *c = org_call_new(req, kind);
    if (!c) return NULL;
    char nbuf[128], kbuf[96];
    snprintf(c->conflict, sizeof c->conflict, "%s \"%s\"", taken,
             cl_utf8_clip(nbuf, sizeof nbuf, name));
    snprintf(c->lost, sizeof c->lost,
             "idempotency key \"%s\" was already used by another request; retry to get its "
             "result, or use a new key",
             cl_utf8_clip(kbuf, sizeof kbuf, key));
    return c;
}

int cl_org_company_create(cl_req_t *req) {
    const pb_company_create_t *m = (const pb_company_create_t *)req->msg;
    const char *kind = company_kind_name(m->kind);
    if (!need_key(req, m->idempotency_key) ||
        !cl_req_need_text(req, "name", m->name, true, ORG_COMPANY_MAX))
        return CL_OK;
    if (!kind) {
        cl_req_fail(req, CL_EINVAL, "kind must be hq, city or project");
        return CL_OK;
    }
    if (m->parent_id < 0) {
        cl_req_fail(req, CL_EINVAL, "parent_id must be a company id or 0 for none");
        return CL_OK;
    }
    cl_call_t *c = create_call(req, &kind_company, m->idempotency_key,
                               "there is already a company named", m->name);
    if (!c) return CL_OK; /* answered */
    char parent[24];
    const char *p[] = {m->idempotency_key, m->name, kind, cl_sql_id_param(parent, m->parent_id)};
    cl_call_run(c, true, "org_company_create", 4, p, org_record_done);
    return CL_OK;
}

/* Starts a scoped list: the scope, then extra parameters. */
static int scoped_list(cl_req_t *req, const cl_call_kind_t *kind, const char *notfound,
                       const char *stmt, int nextra, const char *const *extra) {
    cl_call_t *c = org_call_new(req, kind);
    if (!c) return CL_OK; /* answered */
    if (notfound) snprintf(c->notfound, sizeof c->notfound, "%s", notfound);
    cl_call_stmt_t st = {stmt, nextra, extra};
    cl_call_run_scoped(c, false, &st, 1, cl_call_list_done);
    return CL_OK;
}

int cl_org_company_list(cl_req_t *req) {
    return scoped_list(req, &kind_company, NULL, "org_company_list", 0, NULL);
}

int cl_org_project_create(cl_req_t *req) {
    const pb_project_create_t *m = (const pb_project_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) || !cl_req_need_id(req, "company_id", m->company_id) ||
        !cl_req_need_text(req, "name", m->name, true, ORG_COMPANY_MAX) ||
        !cl_req_need_text(req, "city", m->city, false, ORG_CITY_MAX))
        return CL_OK;
    if (*m->move_in_date && !cl_date_valid(m->move_in_date)) {
        cl_req_fail(req, CL_EINVAL, "move_in_date must be a date written YYYY-MM-DD");
        return CL_OK;
    }
    cl_call_t *c = create_call(req, &kind_project, m->idempotency_key,
                               "the company already has a project named", m->name);
    if (!c) return CL_OK; /* answered */
    char company[24];
    const char *p[] = {CL_CALL_SCOPE(c),
                       m->idempotency_key,
                       cl_sql_id_param(company, m->company_id),
                       m->name,
                       m->city,
                       *m->move_in_date ? m->move_in_date : NULL};
    cl_call_run(c, true, "org_project_create", 9, p, org_record_done);
    return CL_OK;
}

int cl_org_project_list(cl_req_t *req) {
    const pb_project_list_t *m = (const pb_project_list_t *)req->msg;
    char company[24];
    const char *p[] = {cl_sql_int_param(company, m->company_id < 0 ? 0 : m->company_id)};
    return scoped_list(req, &kind_project, NULL, "org_project_list", 1, p);
}

int cl_org_building_create(cl_req_t *req) {
    const pb_building_create_t *m = (const pb_building_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) || !cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "name", m->name, true, ORG_BUILDING_MAX))
        return CL_OK;
    if (m->floors > ORG_FLOOR_MAX) {
        cl_req_fail(req, CL_EINVAL, "floors must be between 0 and %d", ORG_FLOOR_MAX);
        return CL_OK;
    }
    cl_call_t *c = create_call(req, &kind_building, m->idempotency_key,
                               "the project already has a building named", m->name);
    if (!c) return CL_OK; /* answered */
    char project[24], floors[24];
    const char *p[] = {CL_CALL_SCOPE(c), m->idempotency_key,
                       cl_sql_id_param(project, m->project_id), m->name,
                       cl_sql_int_param(floors, m->floors)};
    cl_call_run(c, true, "org_building_create", 8, p, org_record_done);
    return CL_OK;
}

int cl_org_building_list(cl_req_t *req) {
    const pb_building_list_t *m = (const pb_building_list_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    char project[24];
    const char *p[] = {cl_sql_int_param(project, m->project_id)};
    return scoped_list(req, &kind_building, "no such project", "org_building_list", 1, p);
}

/* Owner fields of a unit; *given is whether any owner data is present. NULL, or why
 * they are unacceptable (the field first). */
static const char *owner_problem(const char *name, const char *phone, const char *id_number,
                                 bool *given) {
    *given = *name || *phone || *id_number;
    if (!*given) return NULL;
    if (!*name) return "owner name is required when a phone or id number is given";
    if (cl_utf8_chars(name) > ORG_OWNER_MAX)
        return "owner name is too long (at most 100 characters)";
    if (cl_utf8_chars(phone) > ORG_PHONE_MAX)
        return "owner phone is too long (at most 40 characters)";
    if (cl_utf8_chars(id_number) > ORG_PHONE_MAX)
        return "owner id number is too long (at most 40 characters)";
    return NULL;
}

int cl_org_unit_create(cl_req_t *req) {
    const pb_unit_create_t *m = (const pb_unit_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) || !cl_req_need_id(req, "building_id", m->building_id) ||
        !cl_req_need_text(req, "number", m->number, true, ORG_UNIT_NUMBER_MAX) ||
        !cl_req_need_text(req, "layout", m->layout, false, ORG_LAYOUT_MAX))
        return CL_OK;
    if (m->floor < ORG_FLOOR_MIN || m->floor > ORG_FLOOR_MAX) {
        cl_req_fail(req, CL_EINVAL, "floor must be between %d and %d", ORG_FLOOR_MIN,
                    ORG_FLOOR_MAX);
        return CL_OK;
    }
    const pb_owner_t *o = m->owner;
    bool owner = false;
    const char *why = o ? owner_problem(o->name, o->phone, o->id_number, &owner) : NULL;
    if (why) {
        cl_req_fail(req, CL_EINVAL, "%s", why);
        return CL_OK;
    }
    cl_call_t *c = create_call(req, &kind_unit, m->idempotency_key,
                               "the building already has a unit numbered", m->number);
    if (!c) return CL_OK; /* answered */
    char building[24], floor[24];
    const char *p[] = {CL_CALL_SCOPE(c),
                       m->idempotency_key,
                       cl_sql_id_param(building, m->building_id),
                       m->number,
                       cl_sql_int_param(floor, m->floor),
                       m->layout,
                       owner ? o->name : NULL,
                       owner ? o->phone : "",
                       owner ? o->id_number : "",
                       cl_sql_bool_param(cl_authz_sees_owner_data(c->session.role))};
    cl_call_run(c, true, "org_unit_create", 13, p, org_record_done);
    return CL_OK;
}

int cl_org_unit_list(cl_req_t *req) {
    const pb_unit_list_t *m = (const pb_unit_list_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    if (m->building_id < 0) {
        cl_req_fail(req, CL_EINVAL, "building_id must be a building id or 0 for all");
        return CL_OK;
    }
    const cl_session_t *s = cl_req_session(req);
    if (!s) return CL_EUNAUTH;
    char project[24], building[24];
    const char *p[] = {cl_sql_int_param(project, m->project_id),
                       cl_sql_int_param(building, m->building_id),
                       cl_sql_bool_param(cl_authz_sees_owner_data(s->role))};
    return scoped_list(req, &kind_unit, m->building_id ? "no such building" : "no such project",
                       "org_unit_list", 3, p);
}

int cl_org_contractor_create(cl_req_t *req) {
    const pb_contractor_create_t *m = (const pb_contractor_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) ||
        !cl_req_need_text(req, "name", m->name, true, ORG_COMPANY_MAX))
        return CL_OK;
    if (m->n_trades > ORG_TRADES_MAX) {
        cl_req_fail(req, CL_EINVAL, "a contractor covers at most %d trades", ORG_TRADES_MAX);
        return CL_OK;
    }
    cl_sqlbuf_t trades = {0};
    cl_sqlbuf_array_open(&trades);
    for (size_t i = 0; i < m->n_trades; i++) {
        if (!cl_req_need_trade(req, m->trades[i])) {
            free(trades.p);
            return CL_OK;
        }
        cl_sqlbuf_array_text(&trades, m->trades[i]);
    }
    char *list = cl_sqlbuf_array_close(&trades);
    if (!list) return CL_ENOMEM;
    cl_call_t *c = create_call(req, &kind_contractor, m->idempotency_key,
                               "there is already a contractor named", m->name);
    if (!c) {
        free(list);
        return CL_OK; /* answered */
    }
    const char *p[] = {m->idempotency_key, m->name, list};
    cl_call_run(c, true, "org_contractor_create", 3, p, org_record_done);
    free(list);
    return CL_OK;
}

/* Whether the caller is limited to its own contractor under op. */
static bool own_contractor_only(const cl_session_t *s, cl_op_t op) {
    return s->role == CL_ROLE_CONTRACTOR || cl_authz_scope(s->role, op) == CL_SCOPE_CONTRACTOR;
}

int cl_org_contractor_list(cl_req_t *req) {
    cl_call_t *c = org_call_new(req, &kind_contractor);
    if (!c) return CL_OK; /* answered */
    char contractor[24];
    const char *p[] = {cl_sql_bool_param(own_contractor_only(&c->session, CL_OP_CONTRACTOR_LIST)),
                       cl_sql_int_param(contractor, c->session.contractor_id)};
    cl_call_run(c, false, "org_contractor_list", 2, p, cl_call_list_done);
    return CL_OK;
}

/* Why a new user's role does not fit its company, contractor and projects, or NULL. */
static const char *user_shape_problem(const pb_user_create_t *m, cl_role_t role) {
    switch (role) {
    case CL_ROLE_HQ_ADMIN:
    case CL_ROLE_HQ_ANALYST:
        if (m->company_id) return "an HQ user belongs to no company (company_id must be 0)";
        break;
    case CL_ROLE_CR:
        if (!m->company_id) return "a cr user needs a company_id";
        break;
    case CL_ROLE_CONTRACTOR:
        if (!m->contractor_id) return "a contractor user needs a contractor_id";
        break;
    case CL_ROLE_CLERK:
    case CL_ROLE_VERIFIER:
    case CL_ROLE_PROPERTY:
        if (m->n_project_ids == 0) return "clerk, verifier and property users need a project";
        break;
    default: return "role must be a known role";
    }
    if (m->contractor_id && role != CL_ROLE_CONTRACTOR)
        return "only a contractor user has a contractor_id";
    if (m->n_project_ids && role != CL_ROLE_CLERK && role != CL_ROLE_VERIFIER &&
        role != CL_ROLE_PROPERTY)
        return "only clerk, verifier and property users have projects";
    if (m->company_id < 0 || m->contractor_id < 0) return "ids must be positive";
    if (m->n_project_ids > ORG_USER_PROJECTS) return "a user works on at most 200 projects";
    for (size_t i = 0; i < m->n_project_ids; i++)
        if (m->project_ids[i] <= 0) return "project_ids must be project ids";
    return NULL;
}

static void user_hashed(void *arg, int status, const char *encoded) {
    cl_call_t *c = arg;
    const pb_user_create_t *m = (const pb_user_create_t *)c->req->msg;
    if (status != CL_OK) {
        cl_req_fail(c->req, CL_EINTERNAL, "could not hash the password");
        cl_call_free(c);
        return;
    }
    cl_sqlbuf_t projects = {0};
    cl_sqlbuf_array_open(&projects);
    for (size_t i = 0; i < m->n_project_ids; i++)
        cl_sqlbuf_array_int(&projects, m->project_ids[i]);
    char *list = cl_sqlbuf_array_close(&projects);
    if (!list) {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
        cl_call_free(c);
        return;
    }
    char company[24], contractor[24];
    const char *p[] = {CL_CALL_SCOPE(c),
                       m->idempotency_key,
                       m->username,
                       m->display_name,
                       cl_role_name((cl_role_t)m->role),
                       cl_sql_id_param(company, m->company_id),
                       cl_sql_id_param(contractor, m->contractor_id),
                       list,
                       encoded};
    cl_call_run(c, true, "org_user_create", 12, p, org_record_done);
    free(list);
}

int cl_org_user_create(cl_req_t *req) {
    const pb_user_create_t *m = (const pb_user_create_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (!s) return CL_EUNAUTH;
    if (!need_key(req, m->idempotency_key)) return CL_OK;
    if (!username_valid(m->username)) {
        cl_req_fail(req, CL_EINVAL, "username must be 1 to %d letters, digits, '_', '.' or '-'",
                    ORG_USERNAME_MAX);
        return CL_OK;
    }
    if (strlen(m->display_name) > ORG_DISPLAY_MAX) {
        cl_req_fail(req, CL_EINVAL,
                    "display_name is too long (at most %d bytes, 40 Chinese "
                    "characters)",
                    ORG_DISPLAY_MAX);
        return CL_OK;
    }
    int wire_role = (int)m->role;
    cl_role_t role = wire_role > CL_ROLE_NONE && wire_role < CL_ROLE__COUNT ? (cl_role_t)wire_role
                                                                            : CL_ROLE_NONE;
    const char *why = user_shape_problem(m, role);
    if (why) {
        cl_req_fail(req, CL_EINVAL, "%s", why);
        return CL_OK;
    }
    size_t pw = strlen(m->password);
    if (pw < CL_PASSWORD_MIN_LEN || pw > CL_PASSWORD_MAX_LEN) {
        cl_req_fail(req, CL_EINVAL, "the password must be %d to %d characters long",
                    CL_PASSWORD_MIN_LEN, CL_PASSWORD_MAX_LEN);
        return CL_OK;
    }
    /* Only HQ grants HQ-wide or contractor access; others create staff of their own
     * company's projects (their scope is checked again in SQL). */
    if (s->role != CL_ROLE_HQ_ADMIN &&
        (role == CL_ROLE_HQ_ADMIN || role == CL_ROLE_HQ_ANALYST || role == CL_ROLE_CONTRACTOR)) {
        cl_req_fail(req, CL_EFORBIDDEN, "only an HQ admin can create %s users", cl_role_name(role));
        return CL_OK;
    }
    cl_call_t *c = create_call(req, &kind_user, m->idempotency_key, "there is already a user named",
                               m->username);
    if (!c) return CL_OK; /* answered */
    int rc = cl_password_hash_async(cl_req_loop(req), m->password, user_hashed, c);
    if (rc != CL_OK) cl_call_free(c);
    return rc;
}

int cl_org_user_list(cl_req_t *req) {
    const cl_session_t *s = cl_req_session(req);
    if (!s) return CL_EUNAUTH;
    char self[24];
    const char *p[] = {cl_sql_int_param(self, s->user_id)};
    return scoped_list(req, &kind_user, NULL, "org_user_list", 1, p);
}

int cl_org_trade_assign(cl_req_t *req) {
    const pb_trade_assign_t *m = (const pb_trade_assign_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_id(req, "contractor_id", m->contractor_id) ||
        !cl_req_need_trade(req, m->trade))
        return CL_OK;
    cl_call_t *c = org_call_new(req, &kind_trade);
    if (!c) return CL_OK; /* answered */
    snprintf(c->lost, sizeof c->lost, "the %s assignment changed while it was being made; retry",
             m->trade);
    char project[24], contractor[24];
    const char *p[] = {CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id), m->trade,
                       cl_sql_int_param(contractor, m->contractor_id)};
    cl_call_run(c, true, "org_trade_assign", 7, p, org_record_done);
    return CL_OK;
}

int cl_org_trade_list(cl_req_t *req) {
    const pb_trade_list_t *m = (const pb_trade_list_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (!s) return CL_EUNAUTH;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    char project[24];
    const char *p[] = {cl_sql_int_param(project, m->project_id),
                       cl_sql_bool_param(own_contractor_only(s, CL_OP_TRADE_LIST))};
    return scoped_list(req, &kind_trade, "no such project", "org_trade_list", 2, p);
}

/* ------------------------------------------------------------------ unit import */

/* What is wrong with one import row. */
typedef enum row_problem {
    ROW_OK = 0,
    ROW_NO_BUILDING,
    ROW_LONG_BUILDING,
    ROW_NO_NUMBER,
    ROW_LONG_NUMBER,
    ROW_FLOOR,
    ROW_LONG_LAYOUT,
    ROW_OWNER,     /* owner_problem() says what */
    ROW_DUPLICATE, /* same building and number as an earlier row */
} row_problem_t;

typedef struct row_check {
    row_problem_t problem;
    uint32_t first_line; /* ROW_DUPLICATE: the earlier row's line */
} row_check_t;

/* For finding duplicates: rows sorted by (building, number, position). */
typedef struct row_ref {
    const pb_import_row_t *row;
    size_t pos;
} row_ref_t;

static int row_ref_cmp(const void *a, const void *b) {
    const row_ref_t *x = a, *y = b;
    int d = strcmp(x->row->building, y->row->building);
    if (!d) d = strcmp(x->row->number, y->row->number);
    if (!d) d = x->pos < y->pos ? -1 : x->pos > y->pos;
    return d;
}

/* Checks every row; returns how many are bad (checks[i] says why), or -1 when out of
 * memory. */
static long import_check(const pb_import_chunk_t *m, row_check_t *checks) {
    long bad = 0;
    for (size_t i = 0; i < m->n_rows; i++) {
        const pb_import_row_t *r = m->rows[i];
        bool owner;
        row_problem_t p = ROW_OK;
        if (!*r->building)
            p = ROW_NO_BUILDING;
        else if (cl_utf8_chars(r->building) > ORG_BUILDING_MAX)
            p = ROW_LONG_BUILDING;
        else if (!*r->number)
            p = ROW_NO_NUMBER;
        else if (cl_utf8_chars(r->number) > ORG_UNIT_NUMBER_MAX)
            p = ROW_LONG_NUMBER;
        else if (r->floor < ORG_FLOOR_MIN || r->floor > ORG_FLOOR_MAX)
            p = ROW_FLOOR;
        else if (cl_utf8_chars(r->layout) > ORG_LAYOUT_MAX)
            p = ROW_LONG_LAYOUT;
        else if (owner_problem(r->owner_name, r->owner_phone, r->owner_id_number, &owner))
            p = ROW_OWNER;
        checks[i].problem = p;
        bad += p != ROW_OK;
    }
    row_ref_t *refs = malloc(m->n_rows * sizeof *refs);
    if (!refs) return -1;
    for (size_t i = 0; i < m->n_rows; i++)
        refs[i] = (row_ref_t){m->rows[i], i};
    qsort(refs, m->n_rows, sizeof *refs, row_ref_cmp);
    /* Within a run of equal (building, number), the first row (by position) is kept and
     * every later one is a duplicate of it. */
    for (size_t i = 1, first = 0; i < m->n_rows; i++) {
        if (strcmp(refs[first].row->building, refs[i].row->building) ||
            strcmp(refs[first].row->number, refs[i].row->number)) {
            first = i;
            continue;
        }
        row_check_t *ck = &checks[refs[i].pos];
        if (ck->problem != ROW_OK) continue;
        ck->problem = ROW_DUPLICATE;
        ck->first_line = refs[first].row->line;
        bad++;
    }
    free(refs);
    return bad;
}

static void row_message(const pb_import_row_t *r, const row_check_t *ck, char *out, size_t n) {
    bool owner;
    switch (ck->problem) {
    case ROW_NO_BUILDING: snprintf(out, n, "building is required"); break;
    case ROW_LONG_BUILDING:
        snprintf(out, n, "building is too long (at most 100 characters)");
        break;
    case ROW_NO_NUMBER: snprintf(out, n, "unit number is required"); break;
    case ROW_LONG_NUMBER:
        snprintf(out, n, "unit number is too long (at most 50 characters)");
        break;
    case ROW_FLOOR:
        snprintf(out, n, "floor %d is outside %d..%d", r->floor, ORG_FLOOR_MIN, ORG_FLOOR_MAX);
        break;
    case ROW_LONG_LAYOUT: snprintf(out, n, "layout is too long (at most 50 characters)"); break;
    case ROW_OWNER:
        snprintf(out, n, "%s",
                 owner_problem(r->owner_name, r->owner_phone, r->owner_id_number, &owner));
        break;
    case ROW_DUPLICATE: {
        char nbuf[100], bbuf[100];
        snprintf(out, n, "unit %s of building %s is already on line %u",
                 cl_utf8_clip(nbuf, sizeof nbuf, r->number),
                 cl_utf8_clip(bbuf, sizeof bbuf, r->building), ck->first_line);
        break;
    }
    case ROW_OK: snprintf(out, n, "ok"); break;
    }
}

/* Rejects the chunk: applied=false and one RowError per bad row (cl_row_errors_t). */
static void import_reject(cl_req_t *req, const pb_import_chunk_t *m, const row_check_t *checks,
                          long bad) {
    cl_row_errors_t e;
    if (!cl_row_errors_init(&e, req, (size_t)bad)) return;
    char text[CL_ROW_ERROR_LEN];
    for (size_t i = 0; i < m->n_rows; i++) {
        if (checks[i].problem == ROW_OK) continue;
        row_message(m->rows[i], &checks[i], text, sizeof text);
        cl_row_errors_add(&e, m->rows[i]->line, text);
    }
    cl_row_errors_finish(&e, "rows");
    pb_import_result_t res = CLOSELOOP__UNIT_IMPORT_RESULT__INIT;
    res.applied = false;
    res.n_errors = e.n;
    res.errors = e.ptrs;
    cl_req_reply(req, CL_MSG_UNIT_IMPORT_RESULT, &res.base);
    cl_row_errors_free(&e);
}

static void import_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    if (PQntuples(res) != 1 || PQnfields(res) < 4) {
        cl_req_fail(c->req, CL_EINTERNAL, "unexpected result shape for unit import");
    } else if (cl_sql_i64(res, 0, 0) == 0) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
    } else {
        const pb_import_chunk_t *m = (const pb_import_chunk_t *)c->req->msg;
        pb_import_result_t out = CLOSELOOP__UNIT_IMPORT_RESULT__INIT;
        out.applied = true;
        out.inserted = (uint32_t)cl_sql_i64(res, 0, 1);
        out.updated = (uint32_t)cl_sql_i64(res, 0, 2);
        out.unchanged = (uint32_t)m->n_rows - out.inserted - out.updated;
        out.buildings_created = (uint32_t)cl_sql_i64(res, 0, 3);
        cl_req_reply(c->req, CL_MSG_UNIT_IMPORT_RESULT, &out.base);
    }
    cl_call_free(c);
}

/* The rows as the statement's seven parallel arrays; false when out of memory. */
static bool import_arrays(const pb_import_chunk_t *m, char *arrays[7]) {
    cl_sqlbuf_t b[7] = {{0}};
    for (int k = 0; k < 7; k++)
        cl_sqlbuf_array_open(&b[k]);
    for (size_t i = 0; i < m->n_rows; i++) {
        const pb_import_row_t *r = m->rows[i];
        cl_sqlbuf_array_text(&b[0], r->building);
        cl_sqlbuf_array_text(&b[1], r->number);
        cl_sqlbuf_array_int(&b[2], r->floor);
        cl_sqlbuf_array_text(&b[3], r->layout);
        cl_sqlbuf_array_text(&b[4], r->owner_name);
        cl_sqlbuf_array_text(&b[5], r->owner_phone);
        cl_sqlbuf_array_text(&b[6], r->owner_id_number);
    }
    bool ok = true;
    for (int k = 0; k < 7; k++)
        ok &= (arrays[k] = cl_sqlbuf_array_close(&b[k])) != NULL;
    return ok;
}

int cl_org_unit_import(cl_req_t *req) {
    const pb_import_chunk_t *m = (const pb_import_chunk_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    if (m->n_rows == 0 || m->n_rows > ORG_IMPORT_MAX) {
        cl_req_fail(req, CL_EINVAL, "a chunk holds 1 to %d rows, not %zu", ORG_IMPORT_MAX,
                    m->n_rows);
        return CL_OK;
    }
    row_check_t *checks = calloc(m->n_rows, sizeof *checks);
    long bad = checks ? import_check(m, checks) : -1;
    if (bad != 0) {
        if (bad > 0) import_reject(req, m, checks, bad);
        free(checks);
        return bad > 0 ? CL_OK : CL_ENOMEM;
    }
    free(checks);
    char *arrays[7] = {NULL};
    int rc = import_arrays(m, arrays) ? CL_OK : CL_ENOMEM;
    cl_call_t *c = rc == CL_OK ? org_call_new(req, NULL) : NULL;
    if (c) {
        char project[24];
        const char *p[] = {CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                           arrays[0],        arrays[1],
                           arrays[2],        arrays[3],
                           arrays[4],        arrays[5],
                           arrays[6]};
        cl_call_run(c, true, "org_unit_import", 12, p, import_done);
    }
    for (int k = 0; k < 7; k++)
        free(arrays[k]);
    return rc;
}
