/* handler.c - the calls of the request handlers: state, batches, failures, results and
 * streamed pages (handler.h). Loop thread only. */
#include "handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "sqlutil.h"

#define CL_CALL_FRAME_SLACK 64 /* frame bytes kept free for the page's own encoding */

#define CL_CALL_MAGIC 0x63616c6cu /* "call" */

void *cl_call_new(cl_req_t *req, size_t size) {
    const cl_session_t *s = cl_req_session(req);
    cl_call_t *c = s ? calloc(1, size) : NULL;
    if (!c) {
        cl_req_fail(req, s ? CL_EINTERNAL : CL_EUNAUTH, s ? "out of memory" : "log in first");
        return NULL;
    }
    c->magic = CL_CALL_MAGIC;
    c->req = req;
    c->session = *s;
    cl_session_scope_params(&c->session, &c->scope);
    return c;
}

cl_call_t *cl_call_list_new(cl_req_t *req, const cl_call_kind_t *kind, const char *notfound) {
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return NULL;
    c->kind = kind;
    if (notfound) snprintf(c->notfound, sizeof c->notfound, "%s", notfound);
    return c;
}

cl_call_t *cl_call_create_new(cl_req_t *req, const cl_call_kind_t *kind, const char *key,
                              const char *taken) {
    cl_call_t *c = cl_call_list_new(req, kind, NULL);
    if (!c) return NULL;
    char kbuf[96];
    snprintf(c->conflict, sizeof c->conflict, "%s", taken);
    snprintf(c->lost, sizeof c->lost,
             "idempotency key \"%s\" was already used by another request; retry to get its "
             "result, or use a new key",
             cl_utf8_clip(kbuf, sizeof kbuf, key));
    return c;
}

void cl_call_project_list(cl_req_t *req, int64_t project_id, int stmt, const cl_call_kind_t *kind) {
    if (!cl_req_need_id(req, "project_id", project_id)) return;
    cl_call_t *c = cl_call_list_new(req, kind, "no such project");
    if (!c) return; /* answered */
    char project[24];
    const char *params[] = {CL_CALL_SCOPE(c), cl_sql_int_param(project, project_id)};
    const cl_call_stmt_t st = {stmt, params, NULL};
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

void cl_call_free(cl_call_t *c) {
    CL_ASSERT(c->magic == CL_CALL_MAGIC);
    c->magic = 0;
    free(c);
}

void cl_call_run(cl_call_t *c, bool writes, const cl_call_stmt_t *stmts, int n, cl_db_cb cb) {
    cl_db_t *db = c->analytics && cl_req_analytics_db(c->req) ? cl_req_analytics_db(c->req)
                                                              : cl_req_db(c->req);
    cl_db_batch_t *b = db ? cl_db_batch_new(db) : NULL;
    int rc = b ? CL_OK : db ? CL_ENOMEM : CL_EUNAVAIL;
    if (rc == CL_OK && writes)
        rc = cl_db_batch_add(b, CL_SQL(set_actor), CL_PARAMS(set_actor, c->session.actor_json),
                             NULL);
    for (int i = 0; i < n && rc == CL_OK; i++)
        rc = cl_db_batch_add(b, stmts[i].stmt, stmts[i].params, stmts[i].lengths);
    if (rc != CL_OK) {
        const cl_db_stmt_t *st = db ? cl_db_stmt(db, stmts[0].stmt) : NULL;
        if (b) cl_db_batch_free(b);
        cl_req_fail(c->req, rc == CL_EUNAVAIL ? rc : CL_EINTERNAL, "cannot run %s: %s",
                    st ? st->name : "the request", cl_strerror(rc));
        cl_call_free(c);
        return;
    }
    cl_db_batch_run(b, cb, c);
}

/* Answers a failed batch: a unique violation gets the call's conflict sentence when it
 * has one, anything else the database layer's. */
static void call_fail_db(cl_call_t *c, const cl_db_result_t *r) {
    /* A serialization failure or deadlock is a conflict that the same request, sent
     * again, can win; a duplicate is not. */
    bool again = !strcmp(r->sqlstate, "40001") || !strcmp(r->sqlstate, "40P01");
    if (r->status == CL_ECONFLICT && strcmp(r->sqlstate, "23505") == 0 && c->conflict[0])
        cl_req_fail(c->req, CL_ECONFLICT, "%s", c->conflict);
    else
        cl_req_fail_retry(c->req, r->status, again || cl_err_retryable(r->status), "%s",
                          r->message[0] ? r->message : cl_strerror(r->status));
}

/* The name of what the request does, for sentences. */
static const char *call_name(const cl_call_t *c) {
    return c->req->handler ? c->req->handler->name : "the request";
}

/* 1 when the batch begins with set_actor (cl_call_run adds it to writes), else 0: the
 * index of the handler's own first statement. */
static int own_first(const cl_db_result_t *r) {
    return r->count > 0 && r->stmts[0] == &cl_sql_stmts[CL_SQL(set_actor)];
}

const PGresult *cl_call_rows(cl_call_t *c, const cl_db_result_t *r, int i) {
    if (r->status != CL_OK) {
        call_fail_db(c, r);
        return NULL;
    }
    int k = own_first(r) + i;
    const PGresult *res = k < r->count ? r->res[k] : NULL;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != r->stmts[k]->ncols) {
        cl_req_fail(c->req, CL_EINTERNAL, "the database returned an unexpected result for %s",
                    call_name(c));
        return NULL;
    }
    return res;
}

bool cl_call_one_row(cl_call_t *c, const PGresult *res) {
    int missing = PQfnumber(res, "missing"), invalid = PQfnumber(res, "invalid");
    if (PQntuples(res) != 1 || missing < 1 || invalid < 1) {
        cl_req_fail(c->req, CL_EINTERNAL, "unexpected result shape for %s", call_name(c));
        return false;
    }
    if (!cl_sql_isnull(res, 0, 0)) return true;
    if (!cl_sql_isnull(res, 0, missing))
        cl_req_fail(c->req, CL_ENOTFOUND, "no such %s", cl_sql_text(res, 0, missing));
    else if (!cl_sql_isnull(res, 0, invalid))
        cl_req_fail(c->req, CL_EINVAL, "%s", cl_sql_text(res, 0, invalid));
    else
        cl_req_fail(c->req, CL_ECONFLICT, "%s", c->lost[0] ? c->lost : "changed meanwhile; retry");
    return false;
}

/* Sends items[0..n) as one page of the call's kind; the LAST frame when last. Every page
 * message is a single repeated message field, set through its descriptor. Returns false
 * after failing the request (out of memory): nothing more may be sent then. */
static bool page_send(cl_call_t *c, ProtobufCMessage **items, size_t n, bool last) {
    const ProtobufCMessageDescriptor *d = c->kind->page;
    const ProtobufCFieldDescriptor *f = &d->fields[0];
    void *page = calloc(1, d->sizeof_message);
    if (!page) {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending a page");
        return false;
    }
    protobuf_c_message_init(d, page);
    memcpy((char *)page + f->quantifier_offset, &n, sizeof n);
    memcpy((char *)page + f->offset, &items, sizeof items);
    if (last)
        cl_req_reply(c->req, c->kind->page_type, page);
    else
        cl_req_reply_part(c->req, c->kind->page_type, page);
    free(page);
    return true;
}

/* Clears slots [0, n). */
static void slots_clear(const cl_call_kind_t *k, char *slots, size_t n) {
    for (size_t i = 0; k->clear && i < n; i++)
        k->clear(slots + i * k->slot_size);
}

bool cl_call_stream(cl_call_t *c, const PGresult *res, bool last) {
    const cl_call_kind_t *k = c->kind;
    size_t budget = cl_req_config(c->req)->max_frame - CL_CALL_FRAME_SLACK;
    /* One spare slot: a record that no longer fits is filled before we know it. */
    char *slots = calloc(CL_CALL_PAGE_MAX + 1, k->slot_size);
    ProtobufCMessage **items = calloc(CL_CALL_PAGE_MAX + 1, sizeof *items);
    size_t used = 0, bytes = 0;
    bool ok = slots && items, answered = false;
    int rows = PQntuples(res);
    for (int row = 0; row < rows && ok; row++) {
        if (cl_sql_isnull(res, row, 0)) continue;
        ProtobufCMessage *it = k->fill(slots + used * k->slot_size, c, res, row);
        size_t size = it ? protobuf_c_message_get_packed_size(it) + 6 : 0; /* + tag, length */
        if (it && used > 0 && (used == CL_CALL_PAGE_MAX || bytes + size > budget)) {
            /* The page is full: send it, and start the next with this record. */
            slots_clear(k, slots + used * k->slot_size, 1);
            ok = page_send(c, items, used, false);
            answered = !ok;
            slots_clear(k, slots, used);
            used = bytes = 0;
            it = ok ? k->fill(slots, c, res, row) : NULL;
        }
        ok = ok && it;
        if (ok) {
            items[used++] = it;
            bytes += size;
        }
    }
    if (ok && (last || used > 0))
        ok = page_send(c, items, used, last);
    else if (!ok && !answered)
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending a list");
    if (slots) slots_clear(k, slots, used + 1);
    free(items);
    free(slots);
    return ok;
}

/* The index of the batch's last statement, for the ready-made callbacks. */
static int last_stmt(const cl_db_result_t *r) {
    return r->count - 1 - own_first(r);
}

void cl_call_list_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, r->status == CL_OK ? last_stmt(r) : 0);
    if (res) {
        if (PQntuples(res) == 0 && c->notfound[0])
            cl_req_fail(c->req, CL_ENOTFOUND, "%s", c->notfound);
        else if (!cl_call_stream(c, res, true))
            cl_log_debug("list_not_sent", "the request was answered");
    }
    cl_call_free(c);
}

void cl_call_one_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, r->status == CL_OK ? last_stmt(r) : 0);
    if (res && cl_call_one_row(c, res)) {
        void *slot = calloc(1, c->kind->slot_size);
        ProtobufCMessage *rec = slot ? c->kind->fill(slot, c, res, 0) : NULL;
        if (rec)
            cl_req_reply(c->req, c->kind->reply_type, rec);
        else
            cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
        if (slot && c->kind->clear) c->kind->clear(slot);
        free(slot);
    }
    cl_call_free(c);
}

/* ------------------------------------------------------------------ row errors */

#define ROW_ERRORS_FRAME_SLACK 192 /* frame bytes kept for the reply's other fields */

bool cl_row_errors_init(cl_row_errors_t *e, cl_req_t *req, size_t expected) {
    memset(e, 0, sizeof *e);
    e->cap = expected;
    e->rows = calloc(expected + 1, sizeof *e->rows);
    e->ptrs = calloc(expected + 1, sizeof *e->ptrs);
    e->texts = calloc(expected + 1, CL_ROW_ERROR_LEN);
    uint32_t max_frame = cl_req_config(req)->max_frame;
    e->budget = max_frame > ROW_ERRORS_FRAME_SLACK ? max_frame - ROW_ERRORS_FRAME_SLACK : 0;
    if (e->rows && e->ptrs && e->texts) return true;
    cl_row_errors_free(e);
    cl_req_fail(req, CL_EINTERNAL, "out of memory while reporting %zu bad rows", expected);
    return false;
}

void cl_row_errors_add(cl_row_errors_t *e, uint32_t line, const char *message) {
    if (e->n == e->cap || e->left_out) {
        e->left_out++;
        return;
    }
    Closeloop__RowError *row = &e->rows[e->n];
    closeloop__row_error__init(row);
    row->line = line;
    row->message = e->texts + e->n * CL_ROW_ERROR_LEN;
    snprintf(row->message, CL_ROW_ERROR_LEN, "%s", message);
    cl_utf8_trim(row->message);
    size_t size = protobuf_c_message_get_packed_size(&row->base) + 6;
    if (e->bytes + size > e->budget) {
        e->left_out++;
        return;
    }
    e->bytes += size;
    e->ptrs[e->n++] = row;
}

void cl_row_errors_finish(cl_row_errors_t *e, const char *noun) {
    if (!e->left_out) return;
    Closeloop__RowError *row = &e->rows[e->n];
    closeloop__row_error__init(row);
    snprintf(e->more, sizeof e->more, "%ld more bad %s not listed", e->left_out, noun);
    row->message = e->more;
    e->ptrs[e->n++] = row;
}

void cl_row_errors_free(cl_row_errors_t *e) {
    free(e->rows);
    free(e->ptrs);
    free(e->texts);
    e->rows = NULL;
    e->ptrs = NULL;
    e->texts = NULL;
}
