/* ticket_lists.c - the morning lists: a contractor's to-repair list (待维修清单), a
 * project's to-verify list (待验收清单) and its to-dispatch list, oldest found first.
 *
 * A list is read a page at a time by keyset (ticket.sql), each page sent as soon as it
 * arrives, and the next page read only once the client has taken most of what was sent
 * (cl_req_wait_room), so a list of 50,000 tickets never sits whole in the daemon and a
 * client that has gone stops the reading. The first batch checks that the contractor or
 * project exists in scope and reads the first page, in one round trip.
 *
 * Runs on the loop thread. A list_call_t holds the list's state across pages; the last
 * page's callback (or the client's leaving) frees it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "cl_sql.h"
#include "dispatch.h"
#include "handler.h"
#include "msg.h"
#include "session.h"
#include "sqlutil.h"
#include "ticket_row.h"

#define TK_PAGE_MAX 500 /* tickets per page: the LIMIT of ticket.sql's list statements */
_Static_assert(TK_PAGE_MAX == CL_CALL_PAGE_MAX, "a list page is one frame's worth at most");

typedef enum list_kind { LIST_TODO, LIST_TOVERIFY, LIST_TODISPATCH } list_kind_t;

typedef struct list_call {
    cl_call_t call;      /* first: the call is the db callbacks' argument */
    list_kind_t list;    /* which list */
    char notfound[48];   /* the sentence when the check fails */
    char contractor[24]; /* the to-repair list's contractor */
    char project[24];    /* the project (0: all, for the to-repair list) */
    char cur_at[64];     /* the cursor: the last ticket sent (found_on, number, id) */
    char cur_number[24];
    char cur_id[40];
} list_call_t;
_Static_assert(offsetof(list_call_t, call) == 0, "a list_call_t is its cl_call_t");

#define TR(col) CL_COL(ticket_rows, col)

static void list_next_done(void *arg, const cl_db_result_t *r);
static void list_fetch_next(void *arg, bool client_gone);

/* Sends one page; asks for the next one when this one was full, else ends the reply.
 * Frees the call when the list is done. */
static void list_page(list_call_t *c, const PGresult *res) {
    int rows = PQntuples(res);
    bool more = rows == TK_PAGE_MAX;
    if (!cl_call_stream(&c->call, res, !more) || !more) {
        cl_call_free(&c->call);
        return;
    }
    snprintf(c->cur_at, sizeof c->cur_at, "%s", cl_sql_text(res, rows - 1, TR(key_found_on)));
    snprintf(c->cur_number, sizeof c->cur_number, "%s", cl_sql_text(res, rows - 1, TR(number)));
    snprintf(c->cur_id, sizeof c->cur_id, "%s", cl_sql_text(res, rows - 1, TR(key_id)));
    cl_req_wait_room(c->call.req, list_fetch_next, c);
}

/* Runs one batch of the call's list: its page after the cursor, preceded by check on
 * the first page (the statement check must live until this returns). */
static void list_run(list_call_t *c, const cl_call_stmt_t *check, cl_db_cb cb) {
    cl_call_t *k = &c->call;
    int first = check != NULL;
    switch (c->list) {
    case LIST_TODO: {
        cl_call_stmt_t st[] = {
            first ? *check : (cl_call_stmt_t){0},
            CL_STMT(ticket_todo, CL_CALL_SCOPE(k), c->contractor, c->project, c->cur_at,
                    c->cur_number, c->cur_id),
        };
        cl_call_run(k, false, st + !first, 1 + first, cb);
        return;
    }
    case LIST_TOVERIFY:
    case LIST_TODISPATCH: {
        /* The same parameters; the two statements differ in their state and scope. */
        _Static_assert(CL_NPARAMS(ticket_toverify) == CL_NPARAMS(ticket_todispatch),
                       "project lists take the same parameters");
        cl_call_stmt_t st[] = {
            first ? *check : (cl_call_stmt_t){0},
            {c->list == LIST_TOVERIFY ? CL_SQL(ticket_toverify) : CL_SQL(ticket_todispatch),
             CL_PARAMS(ticket_toverify, CL_CALL_SCOPE(k), c->project, c->cur_at, c->cur_number,
                       c->cur_id),
             NULL},
        };
        cl_call_run(k, false, st + !first, 1 + first, cb);
        return;
    }
    }
}

static void list_fetch_next(void *arg, bool client_gone) {
    list_call_t *c = arg;
    if (client_gone) { /* the reply is dropped; finish the request */
        cl_req_fail(c->call.req, CL_ECLOSED, "the client has gone");
        cl_call_free(&c->call);
        return;
    }
    list_run(c, NULL, list_next_done);
}

static void list_next_done(void *arg, const cl_db_result_t *r) {
    list_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    list_page(c, res); /* frees the call when the list is done */
}

/* The first batch: result 0 is one row of booleans that must all be true (else the
 * list's notfound sentence), result 1 the first page. */
static void list_first_done(void *arg, const cl_db_result_t *r) {
    list_call_t *c = arg;
    const PGresult *check = cl_call_rows(&c->call, r, 0);
    const PGresult *res = check ? cl_call_rows(&c->call, r, 1) : NULL;
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    bool ok = PQntuples(check) == 1;
    for (int i = 0; ok && i < PQnfields(check); i++)
        ok = cl_sql_text(check, 0, i)[0] == 't';
    if (!ok) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "%s", c->notfound);
        cl_call_free(&c->call);
        return;
    }
    list_page(c, res);
}

/* A new list call of kind list for project, or NULL after answering. */
static list_call_t *list_call_new(cl_req_t *req, list_kind_t list, int64_t project) {
    list_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return NULL;
    c->call.kind = &cl_ticket_kind;
    c->list = list;
    cl_sql_int_param(c->project, project);
    snprintf(c->notfound, sizeof c->notfound, "no such project");
    /* before every ticket: the first page */
    snprintf(c->cur_at, sizeof c->cur_at, "-infinity");
    snprintf(c->cur_number, sizeof c->cur_number, "0");
    snprintf(c->cur_id, sizeof c->cur_id, "00000000-0000-0000-0000-000000000000");
    return c;
}

void cl_ticket_todo_list(cl_req_t *req) {
    const cl_pb_todo_list_req_t *m = (const cl_pb_todo_list_req_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    CL_ASSERT(s); /* the engine runs this handler only with a session (authz) */
    if (m->contractor_id < 0 || m->project_id < 0) {
        cl_req_fail(req, CL_EINVAL, "contractor_id and project_id must be ids, or 0");
        return;
    }
    int64_t contractor = m->contractor_id;
    if (s->role == CL_ROLE_CONTRACTOR ||
        cl_authz_scope(s->role, CL_OP_TICKET_READ) == CL_SCOPE_CONTRACTOR) {
        if (contractor != 0 && contractor != s->contractor_id) {
            cl_req_fail(req, CL_ENOTFOUND, "no such contractor");
            return;
        }
        contractor = s->contractor_id;
    } else if (!cl_req_need_id(req, "contractor_id", contractor)) {
        return;
    }
    list_call_t *c = list_call_new(req, LIST_TODO, m->project_id);
    if (!c) return; /* answered */
    snprintf(c->notfound, sizeof c->notfound, "%s",
             m->project_id ? "no such contractor or project" : "no such contractor");
    cl_sql_int_param(c->contractor, contractor);
    cl_call_stmt_t check =
        CL_STMT(ticket_todo_check, CL_CALL_SCOPE(&c->call), c->contractor, c->project);
    list_run(c, &check, list_first_done);
}

void cl_ticket_toverify_list(cl_req_t *req) {
    const cl_pb_toverify_list_req_t *m = (const cl_pb_toverify_list_req_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    list_call_t *c = list_call_new(req, LIST_TOVERIFY, m->project_id);
    if (!c) return; /* answered */
    cl_call_stmt_t check = CL_STMT(ticket_project_check, CL_CALL_SCOPE(&c->call), c->project);
    list_run(c, &check, list_first_done);
}

/* Manual dispatch is a decision of CR and HQ (CL_OP_TICKET_DECIDE), but clerks,
 * verifiers and analysts may see what waits for it; contractors have no such list. */
void cl_ticket_dispatch_list(cl_req_t *req) {
    const cl_pb_dispatch_list_req_t *m = (const cl_pb_dispatch_list_req_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (s && cl_authz_scope(s->role, CL_OP_TICKET_READ) == CL_SCOPE_CONTRACTOR) {
        cl_req_fail(req, CL_EFORBIDDEN, "%s", cl_strerror(CL_EFORBIDDEN));
        return;
    }
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    list_call_t *c = list_call_new(req, LIST_TODISPATCH, m->project_id);
    if (!c) return; /* answered */
    cl_call_stmt_t check = CL_STMT(ticket_project_check, CL_CALL_SCOPE(&c->call), c->project);
    list_run(c, &check, list_first_done);
}
