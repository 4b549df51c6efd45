/* org.c - the organisation model: companies, projects, buildings, units and their
 * owners, contractors and the trades they cover per project, what site staff call the
 * trades on a project (trade aliases), users, and the bulk import of buildings/units/
 * owners (which a chunk sent check_only only checks). The SQL is in org.sql; this file
 * validates requests, picks a statement by its generated handle (cl_sql.h) and reads its
 * columns by name.
 *
 * Every request is one database batch, so one transaction in one round trip: a mutation
 * is "set_actor" (attributes the audit and change-log rows the triggers write) followed
 * by one statement that does the whole change; a read is one statement. Scoped statements
 * take the session scope as their first four parameters, so a record outside the
 * caller's scope reads exactly like a missing one. A create returns one row: the record
 * (the same columns as its list, so one fill function reads both), then "missing" and
 * "invalid" (cl_call_one_row).
 *
 * Runs on the loop thread. A cl_call_t (handler.h) holds one request's state, including a
 * copy of the session (the connection may log out while the database works); the db
 * callback that answers the request frees it, exactly once, at its end. */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "cl_sql.h"
#include "db.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "password.h"
#include "session.h"
#include "sqlutil.h"

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

/* The Meta every record's columns begin with, read through the statement (or the list
 * whose columns it has) stmt. */
#define ORG_META(m, res, row, stmt)                                                                \
    org_meta((m), (res), (row), CL_COL(stmt, id), CL_COL(stmt, version), CL_COL(stmt, created_ms), \
             CL_COL(stmt, updated_ms))

static void org_meta(Closeloop__Meta *m, const PGresult *res, int row, int id, int version,
                     int created, int updated) {
    closeloop__meta__init(m);
    m->id = cl_sql_i64(res, row, id);
    m->version = cl_sql_i64(res, row, version);
    m->created_at_ms = (uint64_t)cl_sql_i64(res, row, created);
    m->updated_at_ms = (uint64_t)cl_sql_i64(res, row, updated);
}

/* Company: org_company_list's columns (org_company_create begins with them). */
typedef struct company_slot {
    pb_company_t rec;
    Closeloop__Meta meta;
} company_slot_t;

static ProtobufCMessage *company_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                      int row) {
    company_slot_t *s = slot;
    closeloop__company__init(&s->rec);
    ORG_META(&s->meta, res, row, org_company_list);
    s->rec.meta = &s->meta;
    s->rec.name = PQgetvalue(res, row, CL_COL(org_company_list, name));
    s->rec.kind = cl_company_kind_parse(cl_sql_text(res, row, CL_COL(org_company_list, kind)));
    s->rec.parent_id = cl_sql_i64(res, row, CL_COL(org_company_list, parent_id));
    return &s->rec.base;
}

/* Project: org_project_list's columns (org_project_create begins with them). */
typedef struct project_slot {
    pb_project_t rec;
    Closeloop__Meta meta;
} project_slot_t;

static ProtobufCMessage *project_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                      int row) {
    project_slot_t *s = slot;
    closeloop__project__init(&s->rec);
    ORG_META(&s->meta, res, row, org_project_list);
    s->rec.meta = &s->meta;
    s->rec.company_id = cl_sql_i64(res, row, CL_COL(org_project_list, company_id));
    s->rec.name = PQgetvalue(res, row, CL_COL(org_project_list, name));
    s->rec.city = PQgetvalue(res, row, CL_COL(org_project_list, city));
    s->rec.move_in_date = PQgetvalue(res, row, CL_COL(org_project_list, move_in_date));
    s->rec.company_name = PQgetvalue(res, row, CL_COL(org_project_list, company_name));
    s->rec.defect_prefix = PQgetvalue(res, row, CL_COL(org_project_list, defect_prefix));
    return &s->rec.base;
}

/* Building: org_building_list's columns (org_building_create begins with them). */
typedef struct building_slot {
    pb_building_t rec;
    Closeloop__Meta meta;
} building_slot_t;

static ProtobufCMessage *building_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                       int row) {
    building_slot_t *s = slot;
    closeloop__building__init(&s->rec);
    ORG_META(&s->meta, res, row, org_building_list);
    s->rec.meta = &s->meta;
    s->rec.project_id = cl_sql_i64(res, row, CL_COL(org_building_list, project_id));
    s->rec.name = PQgetvalue(res, row, CL_COL(org_building_list, name));
    s->rec.floors = (uint32_t)cl_sql_i64(res, row, CL_COL(org_building_list, floors));
    return &s->rec.base;
}

/* Unit: org_unit_list's columns (org_unit_create begins with them); the owner columns are
 * NULL unless the statement was told the caller may see owners. */
typedef struct unit_slot {
    pb_unit_t rec;
    Closeloop__Meta meta;
    pb_owner_t owner;
} unit_slot_t;

static ProtobufCMessage *unit_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    unit_slot_t *s = slot;
    closeloop__unit__init(&s->rec);
    ORG_META(&s->meta, res, row, org_unit_list);
    s->rec.meta = &s->meta;
    s->rec.building_id = cl_sql_i64(res, row, CL_COL(org_unit_list, building_id));
    s->rec.number = PQgetvalue(res, row, CL_COL(org_unit_list, number));
    s->rec.floor = (int32_t)cl_sql_i64(res, row, CL_COL(org_unit_list, floor));
    s->rec.layout = PQgetvalue(res, row, CL_COL(org_unit_list, layout));
    s->rec.building_name = PQgetvalue(res, row, CL_COL(org_unit_list, building_name));
    /* The SQL already withholds owners; checking the role again costs nothing. */
    if (!cl_sql_isnull(res, row, CL_COL(org_unit_list, owner_name)) &&
        cl_authz_sees_owner_data(c->session.role)) {
        closeloop__owner__init(&s->owner);
        s->owner.name = PQgetvalue(res, row, CL_COL(org_unit_list, owner_name));
        s->owner.phone = PQgetvalue(res, row, CL_COL(org_unit_list, owner_phone));
        s->owner.id_number = PQgetvalue(res, row, CL_COL(org_unit_list, owner_id_number));
        s->rec.owner = &s->owner;
    }
    return &s->rec.base;
}

/* Contractor: org_contractor_list's columns (org_contractor_create begins with them);
 * trades are comma-separated codes. */
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
    ORG_META(&s->meta, res, row, org_contractor_list);
    s->rec.meta = &s->meta;
    s->rec.name = PQgetvalue(res, row, CL_COL(org_contractor_list, name));
    const char *list = cl_sql_text(res, row, CL_COL(org_contractor_list, trades));
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

/* User: org_user_list's columns (org_user_create begins with them); project ids are
 * comma-separated. Never a password hash. */
typedef struct user_slot {
    pb_user_t rec;
    Closeloop__Meta meta;
    int64_t *projects;
} user_slot_t;

static ProtobufCMessage *user_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    user_slot_t *s = slot;
    closeloop__user__init(&s->rec);
    ORG_META(&s->meta, res, row, org_user_list);
    s->rec.meta = &s->meta;
    s->rec.username = PQgetvalue(res, row, CL_COL(org_user_list, username));
    s->rec.display_name = PQgetvalue(res, row, CL_COL(org_user_list, display_name));
    s->rec.role =
        (Closeloop__Role)cl_role_parse(cl_sql_text(res, row, CL_COL(org_user_list, role)));
    s->rec.company_id = cl_sql_i64(res, row, CL_COL(org_user_list, company_id));
    s->rec.contractor_id = cl_sql_i64(res, row, CL_COL(org_user_list, contractor_id));
    s->rec.disabled = cl_sql_text(res, row, CL_COL(org_user_list, disabled))[0] == 't';
    s->rec.department_id = cl_sql_i64(res, row, CL_COL(org_user_list, department_id));
    const char *list = cl_sql_text(res, row, CL_COL(org_user_list, project_ids));
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

/* TradeAssignment: org_trade_list's columns (org_trade_assign begins with them). */
static ProtobufCMessage *trade_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    pb_trade_assignment_t *s = slot;
    closeloop__trade_assignment__init(s);
    s->project_id = cl_sql_i64(res, row, CL_COL(org_trade_list, project_id));
    s->trade = PQgetvalue(res, row, CL_COL(org_trade_list, trade));
    s->contractor_id = cl_sql_i64(res, row, CL_COL(org_trade_list, contractor_id));
    s->contractor_name = PQgetvalue(res, row, CL_COL(org_trade_list, contractor_name));
    s->version = cl_sql_i64(res, row, CL_COL(org_trade_list, version));
    return &s->base;
}

static const cl_call_kind_t kind_company =
    CL_CALL_KIND(COMPANY, company_page, company_slot_t, company_fill, NULL);
static const cl_call_kind_t kind_project =
    CL_CALL_KIND(PROJECT, project_page, project_slot_t, project_fill, NULL);
static const cl_call_kind_t kind_building =
    CL_CALL_KIND(BUILDING, building_page, building_slot_t, building_fill, NULL);
static const cl_call_kind_t kind_unit = CL_CALL_KIND(UNIT, unit_page, unit_slot_t, unit_fill, NULL);
static const cl_call_kind_t kind_contractor =
    CL_CALL_KIND(CONTRACTOR, contractor_page, contractor_slot_t, contractor_fill, contractor_clear);
static const cl_call_kind_t kind_user =
    CL_CALL_KIND(USER, user_page, user_slot_t, user_fill, user_clear);
static const cl_call_kind_t kind_trade =
    CL_CALL_KIND(TRADE_ASSIGNMENT, trade_assignment_page, pb_trade_assignment_t, trade_fill, NULL);

/* TradeAlias: org_trade_alias_list's columns (org_trade_alias_add begins with them). */
static ProtobufCMessage *alias_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    Closeloop__TradeAlias *s = slot;
    closeloop__trade_alias__init(s);
    s->project_id = cl_sql_i64(res, row, CL_COL(org_trade_alias_list, project_id));
    s->alias = PQgetvalue(res, row, CL_COL(org_trade_alias_list, alias));
    s->trade = PQgetvalue(res, row, CL_COL(org_trade_alias_list, trade));
    s->trade_name = PQgetvalue(res, row, CL_COL(org_trade_alias_list, trade_name));
    s->version = cl_sql_i64(res, row, CL_COL(org_trade_alias_list, version));
    return &s->base;
}

static const cl_call_kind_t kind_alias =
    CL_CALL_KIND(TRADE_ALIAS, trade_alias_page, Closeloop__TradeAlias, alias_fill, NULL);

/* ------------------------------------------------------------------ validation */

CL_MUSTCHECK static bool need_key(cl_req_t *req, const char *key) {
    return cl_req_need_text(req, "idempotency_key", key, true, CL_LIM_KEY_CHARS);
}

static bool username_valid(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > CL_LIM_USERNAME_CHARS) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i])) return false;
    return true;
}

/* Whether s is a defect code prefix, [A-Z]{1,8} (projects.defect_prefix's CHECK); false
 * after failing the request. */
CL_MUSTCHECK static bool prefix_ok(cl_req_t *req, const char *s) {
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= CL_LIM_DEFECT_PREFIX_CHARS;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 'A' && s[i] <= 'Z';
    if (!ok)
        cl_req_fail(req, CL_EINVAL, "defect_prefix must be 1 to %d capital letters A-Z (SJ)",
                    CL_LIM_DEFECT_PREFIX_CHARS);
    return ok;
}

/* Answers the request with code and the code's own sentence. */
static void fail_code(cl_req_t *req, int code) {
    cl_req_fail(req, code, "%s", cl_strerror(code));
}

/* Owner fields of a unit; *given is whether any owner data is present. NULL, or why
 * they are unacceptable (the field first). */
static const char *owner_problem(const char *name, const char *phone, const char *id_number,
                                 bool *given) {
    *given = *name || *phone || *id_number;
    if (!*given) return NULL;
    if (!*name) return "owner name is required when a phone or id number is given";
    if (cl_utf8_chars(name) > CL_LIM_OWNER_NAME_CHARS)
        return "owner name is too long (at most 100 characters)";
    if (cl_utf8_chars(phone) > CL_LIM_PHONE_CHARS)
        return "owner phone is too long (at most 40 characters)";
    if (cl_utf8_chars(id_number) > CL_LIM_ID_NUMBER_CHARS)
        return "owner id number is too long (at most 40 characters)";
    return NULL;
}

/* Why a new user's role does not fit its company, contractor and projects, or NULL. */
static const char *user_shape_problem(const pb_user_create_t *m, cl_role_t role) {
    switch (role) {
    case CL_ROLE_HQ_ADMIN:
    case CL_ROLE_HQ_ANALYST:
        if (m->company_id) return "an HQ user belongs to no company (company_id must be 0)";
        break;
    case CL_ROLE_HOTLINE:
        if (m->company_id) return "a hotline user belongs to no company (company_id must be 0)";
        break;
    case CL_ROLE_CR:
        if (!m->company_id) return "a cr user needs a company_id";
        break;
    case CL_ROLE_WARRANTY:
        if (!m->company_id) return "a warranty user needs a company_id";
        break;
    case CL_ROLE_DEPT:
        if (!m->company_id || !m->department_id)
            return "a dept user needs a company_id and a department_id";
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
    if (m->department_id && role != CL_ROLE_DEPT) return "only a dept user has a department_id";
    if (m->department_id < 0) return "ids must be positive";
    if (m->n_project_ids && role != CL_ROLE_CLERK && role != CL_ROLE_VERIFIER &&
        role != CL_ROLE_PROPERTY)
        return "only clerk, verifier and property users have projects";
    if (m->company_id < 0 || m->contractor_id < 0) return "ids must be positive";
    if (m->n_project_ids > CL_LIM_USER_PROJECTS) return "a user works on at most 200 projects";
    for (size_t i = 0; i < m->n_project_ids; i++)
        if (m->project_ids[i] <= 0) return "project_ids must be project ids";
    return NULL;
}

/* Whether the caller is limited to its own contractor under op. */
static bool own_contractor_only(const cl_session_t *s, cl_op_t op) {
    return s->role == CL_ROLE_CONTRACTOR || cl_authz_scope(s->role, op) == CL_SCOPE_CONTRACTOR;
}

/* ------------------------------------------------------------------ handlers */

/* A create's call: a unique violation names what is taken ("company name \"X\""). */
static cl_call_t *create_call(cl_req_t *req, const cl_call_kind_t *kind, const char *key,
                              const char *taken, const char *name) {
    char what[256], nbuf[128];
    snprintf(what, sizeof what, "%s \"%s\"", taken, cl_utf8_clip(nbuf, sizeof nbuf, name));
    return cl_call_create_new(req, kind, key, what);
}

void cl_org_company_create(cl_req_t *req) {
    const pb_company_create_t *m = (const pb_company_create_t *)req->msg;
    const char *kind = cl_company_kind_name(m->kind);
    if (!need_key(req, m->idempotency_key) ||
        !cl_req_need_text(req, "name", m->name, true, CL_LIM_NAME_CHARS))
        return;
    if (!kind) {
        char accepted[64];
        (void)cl_domain_accepted(CL_DOM_COMPANY_KIND, false, accepted, sizeof accepted);
        cl_req_fail(req, CL_EINVAL, "kind must be one of %s", accepted);
        return;
    }
    if (m->parent_id < 0) {
        cl_req_fail(req, CL_EINVAL, "parent_id must be a company id or 0 for none");
        return;
    }
    cl_call_t *c = create_call(req, &kind_company, m->idempotency_key,
                               "there is already a company named", m->name);
    if (!c) return; /* answered */
    char parent[24];
    const cl_call_stmt_t st = CL_STMT(org_company_create, m->idempotency_key, m->name, kind,
                                      cl_sql_id_param(parent, m->parent_id));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_company_list(cl_req_t *req) {
    cl_call_t *c = cl_call_list_new(req, &kind_company, NULL);
    if (!c) return; /* answered */
    const cl_call_stmt_t st = CL_STMT(org_company_list, CL_CALL_SCOPE(c));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_org_project_create(cl_req_t *req) {
    const pb_project_create_t *m = (const pb_project_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) || !cl_req_need_id(req, "company_id", m->company_id) ||
        !cl_req_need_text(req, "name", m->name, true, CL_LIM_NAME_CHARS) ||
        !cl_req_need_text(req, "city", m->city, false, CL_LIM_CITY_CHARS))
        return;
    if (*m->move_in_date && !cl_req_need_date(req, "move_in_date", m->move_in_date)) return;
    if (*m->defect_prefix && !prefix_ok(req, m->defect_prefix)) return;
    cl_call_t *c =
        create_call(req, &kind_project, m->idempotency_key,
                    *m->defect_prefix ? "another project has that defect prefix, or the company "
                                        "already has a project named"
                                      : "the company already has a project named",
                    m->name);
    if (!c) return; /* answered */
    char company[24];
    const cl_call_stmt_t st = CL_STMT(org_project_create, CL_CALL_SCOPE(c), m->idempotency_key,
                                      cl_sql_id_param(company, m->company_id), m->name, m->city,
                                      *m->move_in_date ? m->move_in_date : NULL,
                                      *m->defect_prefix ? m->defect_prefix : NULL);
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_project_prefix(cl_req_t *req) {
    const Closeloop__ProjectPrefixSet *m = (const Closeloop__ProjectPrefixSet *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) || !prefix_ok(req, m->prefix)) return;
    cl_call_t *c = cl_call_list_new(req, &kind_project, NULL);
    if (!c) return; /* answered */
    snprintf(c->conflict, sizeof c->conflict, "another project already has the defect prefix %s",
             m->prefix);
    char project[24];
    const cl_call_stmt_t st = CL_STMT(org_project_prefix, CL_CALL_SCOPE(c),
                                      cl_sql_id_param(project, m->project_id), m->prefix);
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_project_list(cl_req_t *req) {
    const pb_project_list_t *m = (const pb_project_list_t *)req->msg;
    cl_call_t *c = cl_call_list_new(req, &kind_project, NULL);
    if (!c) return; /* answered */
    char company[24];
    const cl_call_stmt_t st =
        CL_STMT(org_project_list, CL_CALL_SCOPE(c),
                cl_sql_int_param(company, m->company_id < 0 ? 0 : m->company_id));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_org_building_create(cl_req_t *req) {
    const pb_building_create_t *m = (const pb_building_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) || !cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "name", m->name, true, CL_LIM_BUILDING_CHARS))
        return;
    if (m->floors > CL_LIM_FLOOR_MAX) {
        cl_req_fail(req, CL_EINVAL, "floors must be between 0 and %d", CL_LIM_FLOOR_MAX);
        return;
    }
    cl_call_t *c = create_call(req, &kind_building, m->idempotency_key,
                               "the project already has a building named", m->name);
    if (!c) return; /* answered */
    char project[24], floors[24];
    const cl_call_stmt_t st = CL_STMT(org_building_create, CL_CALL_SCOPE(c), m->idempotency_key,
                                      cl_sql_id_param(project, m->project_id), m->name,
                                      cl_sql_int_param(floors, m->floors));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_building_list(cl_req_t *req) {
    const pb_building_list_t *m = (const pb_building_list_t *)req->msg;
    CL_PROJECT_LIST(req, m->project_id, org_building_list, &kind_building);
}

void cl_org_unit_create(cl_req_t *req) {
    const pb_unit_create_t *m = (const pb_unit_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) || !cl_req_need_id(req, "building_id", m->building_id) ||
        !cl_req_need_text(req, "number", m->number, true, CL_LIM_UNIT_NUMBER_CHARS) ||
        !cl_req_need_text(req, "layout", m->layout, false, CL_LIM_LAYOUT_CHARS))
        return;
    if (m->floor < CL_LIM_FLOOR_MIN || m->floor > CL_LIM_FLOOR_MAX) {
        cl_req_fail(req, CL_EINVAL, "floor must be between %d and %d", CL_LIM_FLOOR_MIN,
                    CL_LIM_FLOOR_MAX);
        return;
    }
    const pb_owner_t *o = m->owner;
    bool owner = false;
    const char *why = o ? owner_problem(o->name, o->phone, o->id_number, &owner) : NULL;
    if (why) {
        cl_req_fail(req, CL_EINVAL, "%s", why);
        return;
    }
    cl_call_t *c = create_call(req, &kind_unit, m->idempotency_key,
                               "the building already has a unit numbered", m->number);
    if (!c) return; /* answered */
    char building[24], floor[24];
    const cl_call_stmt_t st = CL_STMT(
        org_unit_create, CL_CALL_SCOPE(c), m->idempotency_key,
        cl_sql_id_param(building, m->building_id), m->number, cl_sql_int_param(floor, m->floor),
        m->layout, owner ? o->name : NULL, owner ? o->phone : "", owner ? o->id_number : "",
        cl_sql_bool_param(cl_authz_sees_owner_data(c->session.role)));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_unit_list(cl_req_t *req) {
    const pb_unit_list_t *m = (const pb_unit_list_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    if (m->building_id < 0) {
        cl_req_fail(req, CL_EINVAL, "building_id must be a building id or 0 for all");
        return;
    }
    cl_call_t *c =
        cl_call_list_new(req, &kind_unit, m->building_id ? "no such building" : "no such project");
    if (!c) return; /* answered */
    char project[24], building[24];
    const cl_call_stmt_t st =
        CL_STMT(org_unit_list, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                cl_sql_int_param(building, m->building_id),
                cl_sql_bool_param(cl_authz_sees_owner_data(c->session.role)));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_org_contractor_create(cl_req_t *req) {
    const pb_contractor_create_t *m = (const pb_contractor_create_t *)req->msg;
    if (!need_key(req, m->idempotency_key) ||
        !cl_req_need_text(req, "name", m->name, true, CL_LIM_NAME_CHARS))
        return;
    if (m->n_trades > CL_LIM_CONTRACTOR_TRADES) {
        cl_req_fail(req, CL_EINVAL, "a contractor covers at most %d trades",
                    CL_LIM_CONTRACTOR_TRADES);
        return;
    }
    cl_sqlbuf_t trades = {0};
    cl_sqlbuf_array_open(&trades);
    for (size_t i = 0; i < m->n_trades; i++) {
        if (!cl_req_need_trade(req, m->trades[i])) {
            free(trades.p);
            return;
        }
        cl_sqlbuf_array_text(&trades, m->trades[i]);
    }
    char *list = cl_sqlbuf_array_close(&trades);
    if (!list) {
        fail_code(req, CL_ENOMEM);
        return;
    }
    cl_call_t *c = create_call(req, &kind_contractor, m->idempotency_key,
                               "there is already a contractor named", m->name);
    if (c) {
        const cl_call_stmt_t st = CL_STMT(org_contractor_create, m->idempotency_key, m->name, list);
        cl_call_run(c, true, &st, 1, cl_call_one_done);
    }
    free(list);
}

void cl_org_contractor_list(cl_req_t *req) {
    cl_call_t *c = cl_call_list_new(req, &kind_contractor, NULL);
    if (!c) return; /* answered */
    char contractor[24];
    const cl_call_stmt_t st =
        CL_STMT(org_contractor_list,
                cl_sql_bool_param(own_contractor_only(&c->session, CL_OP_CONTRACTOR_LIST)),
                cl_sql_int_param(contractor, c->session.contractor_id));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

/* The password is hashed off the loop; then the user is written. */
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
    char company[24], contractor[24], department[24];
    const cl_call_stmt_t st =
        CL_STMT(org_user_create, CL_CALL_SCOPE(c), m->idempotency_key, m->username, m->display_name,
                cl_role_name((cl_role_t)m->role), cl_sql_id_param(company, m->company_id),
                cl_sql_id_param(contractor, m->contractor_id), list, encoded,
                cl_sql_id_param(department, m->department_id));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
    free(list);
}

void cl_org_user_create(cl_req_t *req) {
    const pb_user_create_t *m = (const pb_user_create_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (!s) {
        fail_code(req, CL_EUNAUTH);
        return;
    }
    if (!need_key(req, m->idempotency_key)) return;
    if (!username_valid(m->username)) {
        cl_req_fail(req, CL_EINVAL, "username must be 1 to %d letters, digits, '_', '.' or '-'",
                    CL_LIM_USERNAME_CHARS);
        return;
    }
    if (strlen(m->display_name) > CL_LIM_DISPLAY_NAME_BYTES) {
        cl_req_fail(req, CL_EINVAL,
                    "display_name is too long (at most %d bytes, 40 Chinese "
                    "characters)",
                    CL_LIM_DISPLAY_NAME_BYTES);
        return;
    }
    int wire_role = (int)m->role;
    cl_role_t role = wire_role > CL_ROLE_NONE && wire_role < CL_ROLE__COUNT ? (cl_role_t)wire_role
                                                                            : CL_ROLE_NONE;
    const char *why = user_shape_problem(m, role);
    if (why) {
        cl_req_fail(req, CL_EINVAL, "%s", why);
        return;
    }
    size_t pw = strlen(m->password);
    if (pw < CL_PASSWORD_MIN_LEN || pw > CL_PASSWORD_MAX_LEN) {
        cl_req_fail(req, CL_EINVAL, "the password must be %d to %d characters long",
                    CL_PASSWORD_MIN_LEN, CL_PASSWORD_MAX_LEN);
        return;
    }
    /* Only HQ grants HQ-wide or contractor access; others create staff of their own
     * company's projects (their scope is checked again in SQL). */
    if (s->role != CL_ROLE_HQ_ADMIN &&
        (role == CL_ROLE_HQ_ADMIN || role == CL_ROLE_HQ_ANALYST || role == CL_ROLE_CONTRACTOR)) {
        cl_req_fail(req, CL_EFORBIDDEN, "only an HQ admin can create %s users", cl_role_name(role));
        return;
    }
    cl_call_t *c = create_call(req, &kind_user, m->idempotency_key, "there is already a user named",
                               m->username);
    if (!c) return; /* answered */
    int rc = cl_password_hash_async(cl_req_loop(req), m->password, user_hashed, c);
    if (rc != CL_OK) {
        fail_code(req, rc);
        cl_call_free(c);
    }
}

void cl_org_user_list(cl_req_t *req) {
    cl_call_t *c = cl_call_list_new(req, &kind_user, NULL);
    if (!c) return; /* answered */
    char self[24];
    const cl_call_stmt_t st =
        CL_STMT(org_user_list, CL_CALL_SCOPE(c), cl_sql_int_param(self, c->session.user_id));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_org_trade_assign(cl_req_t *req) {
    const pb_trade_assign_t *m = (const pb_trade_assign_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_id(req, "contractor_id", m->contractor_id) ||
        !cl_req_need_trade(req, m->trade))
        return;
    cl_call_t *c = cl_call_list_new(req, &kind_trade, NULL);
    if (!c) return; /* answered */
    snprintf(c->lost, sizeof c->lost, "the %s assignment changed while it was being made; retry",
             m->trade);
    char project[24], contractor[24];
    const cl_call_stmt_t st =
        CL_STMT(org_trade_assign, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                m->trade, cl_sql_int_param(contractor, m->contractor_id));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_trade_list(cl_req_t *req) {
    const pb_trade_list_t *m = (const pb_trade_list_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    cl_call_t *c = cl_call_list_new(req, &kind_trade, "no such project");
    if (!c) return; /* answered */
    char project[24];
    const cl_call_stmt_t st =
        CL_STMT(org_trade_list, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                cl_sql_bool_param(own_contractor_only(&c->session, CL_OP_TRADE_LIST)));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_org_trade_alias_add(cl_req_t *req) {
    const Closeloop__TradeAliasAdd *m = (const Closeloop__TradeAliasAdd *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "alias", m->alias, true, CL_LIM_TRADE_ALIAS_CHARS) ||
        !cl_req_need_text(req, "trade", m->trade, true, CL_LIM_TRADE_ALIAS_CHARS))
        return;
    cl_call_t *c = cl_call_list_new(req, &kind_alias, NULL);
    if (!c) return; /* answered */
    snprintf(c->lost, sizeof c->lost, "the alias changed while it was being added; retry");
    char project[24];
    const cl_call_stmt_t st = CL_STMT(org_trade_alias_add, CL_CALL_SCOPE(c),
                                      cl_sql_int_param(project, m->project_id), m->alias, m->trade);
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_org_trade_alias_list(cl_req_t *req) {
    const Closeloop__TradeAliasListRequest *m = (const Closeloop__TradeAliasListRequest *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    cl_call_t *c = cl_call_list_new(req, &kind_alias, "no such project");
    if (!c) return; /* answered */
    char project[24];
    const cl_call_stmt_t st =
        CL_STMT(org_trade_alias_list, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
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

/* Rows compare by (building, number): one unit each. */
static int row_unit_order(const void *a, const void *b) {
    const pb_import_row_t *x = a, *y = b;
    int d = strcmp(x->building, y->building);
    return d ? d : strcmp(x->number, y->number);
}

/* A chunk being checked, for row_repeated. */
typedef struct import_check {
    const pb_import_chunk_t *m;
    row_check_t *checks;
    long repeats; /* rows that became bad as repeats */
} import_check_t;

/* Row i repeats the unit of row first, which is kept. */
static void row_repeated(void *ctx, size_t i, size_t first) {
    import_check_t *x = ctx;
    row_check_t *ck = &x->checks[i];
    if (ck->problem != ROW_OK) return;
    ck->problem = ROW_DUPLICATE;
    ck->first_line = x->m->rows[first]->line;
    x->repeats++;
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
        else if (cl_utf8_chars(r->building) > CL_LIM_BUILDING_CHARS)
            p = ROW_LONG_BUILDING;
        else if (!*r->number)
            p = ROW_NO_NUMBER;
        else if (cl_utf8_chars(r->number) > CL_LIM_UNIT_NUMBER_CHARS)
            p = ROW_LONG_NUMBER;
        else if (r->floor < CL_LIM_FLOOR_MIN || r->floor > CL_LIM_FLOOR_MAX)
            p = ROW_FLOOR;
        else if (cl_utf8_chars(r->layout) > CL_LIM_LAYOUT_CHARS)
            p = ROW_LONG_LAYOUT;
        else if (owner_problem(r->owner_name, r->owner_phone, r->owner_id_number, &owner))
            p = ROW_OWNER;
        checks[i].problem = p;
        bad += p != ROW_OK;
    }
    import_check_t x = {m, checks, 0};
    if (cl_each_repeat((const void *const *)m->rows, m->n_rows, row_unit_order, row_repeated, &x) !=
        CL_OK)
        return -1;
    return bad + x.repeats;
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
        snprintf(out, n, "floor %d is outside %d..%d", r->floor, CL_LIM_FLOOR_MIN,
                 CL_LIM_FLOOR_MAX);
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

/* The import's single row: whether the project was found, and the counts. */
static void import_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (!res) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->req, CL_EINTERNAL, "unexpected result shape for unit import");
    } else if (cl_sql_i64(res, 0, CL_COL(org_unit_import, projects)) == 0) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
    } else if (((const pb_import_chunk_t *)c->req->msg)->check_only) {
        pb_import_result_t out = CLOSELOOP__UNIT_IMPORT_RESULT__INIT; /* checked: fine */
        cl_req_reply(c->req, CL_MSG_UNIT_IMPORT_RESULT, &out.base);
    } else {
        const pb_import_chunk_t *m = (const pb_import_chunk_t *)c->req->msg;
        pb_import_result_t out = CLOSELOOP__UNIT_IMPORT_RESULT__INIT;
        out.applied = true;
        out.inserted = (uint32_t)cl_sql_i64(res, 0, CL_COL(org_unit_import, inserted));
        out.updated = (uint32_t)cl_sql_i64(res, 0, CL_COL(org_unit_import, updated));
        out.unchanged = (uint32_t)m->n_rows - out.inserted - out.updated;
        out.buildings_created =
            (uint32_t)cl_sql_i64(res, 0, CL_COL(org_unit_import, buildings_created));
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

void cl_org_unit_import(cl_req_t *req) {
    const pb_import_chunk_t *m = (const pb_import_chunk_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    if (m->n_rows == 0 || m->n_rows > CL_LIM_IMPORT_ROWS) {
        cl_req_fail(req, CL_EINVAL, "a chunk holds 1 to %d rows, not %zu", CL_LIM_IMPORT_ROWS,
                    m->n_rows);
        return;
    }
    row_check_t *checks = calloc(m->n_rows, sizeof *checks);
    long bad = checks ? import_check(m, checks) : -1;
    if (bad > 0) import_reject(req, m, checks, bad);
    free(checks);
    if (bad < 0) fail_code(req, CL_ENOMEM);
    if (bad != 0) return;
    char *arrays[7] = {NULL};
    if (!import_arrays(m, arrays)) {
        fail_code(req, CL_ENOMEM);
    } else {
        cl_call_t *c = cl_call_list_new(req, NULL, NULL);
        char project[24];
        if (c) {
            const cl_call_stmt_t st =
                CL_STMT(org_unit_import, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                        arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5], arrays[6],
                        cl_sql_bool_param(m->check_only));
            cl_call_run(c, true, &st, 1, import_done);
        }
    }
    for (int k = 0; k < 7; k++)
        free(arrays[k]);
}
