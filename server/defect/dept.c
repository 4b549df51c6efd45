/* dept.c - departments (部门) of a company: create, list, set the leader (dept.sql).
 * A department's kind (its function) and its superior department's leader decide who
 * acts on a defect's steps (defect.c). Runs on the loop thread; each request's call is
 * freed by the ready-made db callbacks (handler.h); reply strings point into the result. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cl_sql.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "sqlutil.h"

#define DL(col) CL_COL(dept_list, col)

typedef struct dept_slot {
    Closeloop__Department rec;
    Closeloop__Meta meta;
} dept_slot_t;

static ProtobufCMessage *dept_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    dept_slot_t *s = slot;
    closeloop__department__init(&s->rec);
    closeloop__meta__init(&s->meta);
    s->meta.id = cl_sql_i64(res, row, DL(id));
    s->meta.version = cl_sql_i64(res, row, DL(version));
    s->meta.created_at_ms = (uint64_t)cl_sql_i64(res, row, DL(created_ms));
    s->meta.updated_at_ms = (uint64_t)cl_sql_i64(res, row, DL(updated_ms));
    s->rec.meta = &s->meta;
    s->rec.company_id = cl_sql_i64(res, row, DL(company_id));
    s->rec.name = PQgetvalue(res, row, DL(name));
    s->rec.kind = cl_dept_kind_parse(cl_sql_text(res, row, DL(kind)));
    s->rec.parent_id = cl_sql_i64(res, row, DL(parent_id));
    s->rec.parent_name = PQgetvalue(res, row, DL(parent_name));
    s->rec.leader_user_id = cl_sql_i64(res, row, DL(leader_user_id));
    s->rec.leader = PQgetvalue(res, row, DL(leader));
    return &s->rec.base;
}

static const cl_call_kind_t kind_department =
    CL_CALL_KIND(DEPARTMENT, department_page, dept_slot_t, dept_fill, NULL);

void cl_dept_create(cl_req_t *req) {
    const Closeloop__DepartmentCreate *m = (const Closeloop__DepartmentCreate *)req->msg;
    const char *kind = cl_dept_kind_name(m->kind);
    if (!cl_req_need_text(req, "idempotency_key", m->idempotency_key, true, CL_LIM_KEY_CHARS) ||
        !cl_req_need_id(req, "company_id", m->company_id) ||
        !cl_req_need_text(req, "name", m->name, true, CL_LIM_NAME_CHARS))
        return;
    if (!kind) {
        char why[300];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "kind", CL_DOM_DEPT_KIND));
        return;
    }
    if (m->parent_id < 0) {
        cl_req_fail(req, CL_EINVAL, "parent_id must be a department id, or 0 for none");
        return;
    }
    char taken[300], nbuf[128];
    snprintf(taken, sizeof taken, "the company already has a department named \"%s\"",
             cl_utf8_clip(nbuf, sizeof nbuf, m->name));
    cl_call_t *c = cl_call_create_new(req, &kind_department, m->idempotency_key, taken);
    if (!c) return; /* answered */
    char company[24], parent[24];
    const cl_call_stmt_t st = CL_STMT(dept_create, CL_CALL_SCOPE(c), m->idempotency_key,
                                      cl_sql_id_param(company, m->company_id), m->name, kind,
                                      cl_sql_id_param(parent, m->parent_id));
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_dept_list(cl_req_t *req) {
    const Closeloop__DepartmentListRequest *m = (const Closeloop__DepartmentListRequest *)req->msg;
    cl_call_t *c = cl_call_list_new(req, &kind_department, NULL);
    if (!c) return; /* answered */
    char company[24];
    const cl_call_stmt_t st =
        CL_STMT(dept_list, CL_CALL_SCOPE(c),
                cl_sql_int_param(company, m->company_id < 0 ? 0 : m->company_id));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_dept_leader(cl_req_t *req) {
    const Closeloop__DepartmentLeaderSet *m = (const Closeloop__DepartmentLeaderSet *)req->msg;
    if (!cl_req_need_id(req, "department_id", m->department_id) ||
        !cl_req_need_text(req, "username", m->username, true, CL_LIM_USERNAME_CHARS))
        return;
    cl_call_t *c = cl_call_list_new(req, &kind_department, NULL);
    if (!c) return; /* answered */
    char dept[24];
    const cl_call_stmt_t st = CL_STMT(dept_leader, CL_CALL_SCOPE(c),
                                      cl_sql_id_param(dept, m->department_id), m->username);
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}
