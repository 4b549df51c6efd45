/* warranty_office.c - the warranty office's file (docs/WARRANTY.md): letters to
 * contractors and deductions from them. A deduction is requested by the office (a
 * penalty; a third-party repair's cost is requested by warranty.c's hand-over) and
 * approved or rejected by another user: the office, the company's customer relations or
 * HQ's admin; the requester's own decision is refused (CL403 in cl_warranty_decide,
 * warranty_office.sql), which the client shows as a refusal.
 *
 * Each write is one batch, then a read-only batch returns the record as the reply. Loop
 * thread only; an office_call_t lives from the request to its answer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"
#include "warranty.h"

typedef struct office_call {
    cl_call_t call; /* first: cl_call_free frees the whole struct */
    char id[24];    /* the letter or deduction written ("" until known) */
} office_call_t;

static int64_t col_i64(const PGresult *res, int row, int col) {
    return cl_sql_isnull(res, row, col) ? 0 : cl_sql_i64(res, row, col);
}

/* ------------------------------------------------------------------ records */

#define LR(col) CL_COL(warranty_letter_rows, col)

void cl_warranty_letter_from(Closeloop__WarrantyLetter *l, const PGresult *res, int row) {
    closeloop__warranty_letter__init(l);
    l->id = cl_sql_i64(res, row, LR(id));
    l->company_id = cl_sql_i64(res, row, LR(company_id));
    l->contractor_id = cl_sql_i64(res, row, LR(contractor_id));
    l->contractor = PQgetvalue(res, row, LR(contractor));
    l->ticket_id = PQgetvalue(res, row, LR(ticket_id));
    l->sent_at_ms = col_i64(res, row, LR(sent_ms));
    l->subject = PQgetvalue(res, row, LR(subject));
    l->body = PQgetvalue(res, row, LR(body));
    l->created_by = PQgetvalue(res, row, LR(created_by));
}
#undef LR

#define DR(col) CL_COL(warranty_deduction_rows, col)

void cl_warranty_deduction_from(Closeloop__WarrantyDeduction *d, const PGresult *res, int row) {
    closeloop__warranty_deduction__init(d);
    d->id = cl_sql_i64(res, row, DR(id));
    d->company_id = cl_sql_i64(res, row, DR(company_id));
    d->contractor_id = cl_sql_i64(res, row, DR(contractor_id));
    d->contractor = PQgetvalue(res, row, DR(contractor));
    d->ticket_id = PQgetvalue(res, row, DR(ticket_id));
    d->amount_cents = cl_sql_i64(res, row, DR(amount_cents));
    d->reason = PQgetvalue(res, row, DR(reason));
    d->kind = cl_deduction_kind_parse(cl_sql_text(res, row, DR(kind)));
    d->state = cl_deduction_state_parse(cl_sql_text(res, row, DR(state)));
    d->requested_by = PQgetvalue(res, row, DR(requested_by));
    d->requested_at_ms = col_i64(res, row, DR(requested_ms));
    d->decided_by = PQgetvalue(res, row, DR(decided_by));
    d->decided_at_ms = col_i64(res, row, DR(decided_ms));
    d->decision_note = PQgetvalue(res, row, DR(decision_note));
}
#undef DR

typedef struct letter_slot {
    Closeloop__WarrantyLetter rec;
} letter_slot_t;

typedef struct deduction_slot {
    Closeloop__WarrantyDeduction rec;
} deduction_slot_t;

static ProtobufCMessage *letter_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    cl_warranty_letter_from(&((letter_slot_t *)slot)->rec, res, row);
    return &((letter_slot_t *)slot)->rec.base;
}

static ProtobufCMessage *deduction_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                        int row) {
    (void)c;
    cl_warranty_deduction_from(&((deduction_slot_t *)slot)->rec, res, row);
    return &((deduction_slot_t *)slot)->rec.base;
}

static const cl_call_kind_t letter_kind =
    CL_CALL_KIND(WARRANTY_LETTER, warranty_letter_page, letter_slot_t, letter_fill, NULL);
static const cl_call_kind_t deduction_kind = CL_CALL_KIND(
    WARRANTY_DEDUCTION, warranty_deduction_page, deduction_slot_t, deduction_fill, NULL);

/* ------------------------------------------------------------------ the written record */

/* The read-back of the record just written: one row of the call's kind as its reply. */
static void record_done(void *arg, const cl_db_result_t *r) {
    office_call_t *x = arg;
    cl_call_t *c = &x->call;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (res) {
        if (PQntuples(res) != 1) {
            cl_req_fail(c->req, CL_EINTERNAL, "the record just written is not visible");
        } else if (c->kind == &letter_kind) {
            letter_slot_t s;
            cl_req_reply(c->req, CL_MSG_WARRANTY_LETTER, letter_fill(&s, c, res, 0));
        } else {
            deduction_slot_t s;
            cl_req_reply(c->req, CL_MSG_WARRANTY_DEDUCTION, deduction_fill(&s, c, res, 0));
        }
    }
    cl_call_free(c);
}

/* The write's single row has the record's id in its column `id`: read it back. */
static void written_done(void *arg, const cl_db_result_t *r) {
    office_call_t *x = arg;
    cl_call_t *c = &x->call;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (!res) {
        cl_call_free(c);
        return;
    }
    if (PQntuples(res) == 1 && PQgetisnull(res, 0, 0) && x->id[0]) {
        /* cl_warranty_decide: the deduction was decided already */
        cl_req_fail(c->req, CL_ECONFLICT, "deduction %s was decided already", x->id);
        cl_call_free(c);
        return;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        cl_req_fail(c->req, CL_EINTERNAL, "the write returned no record");
        cl_call_free(c);
        return;
    }
    snprintf(x->id, sizeof x->id, "%s", PQgetvalue(res, 0, 0));
    cl_call_stmt_t st =
        c->kind == &letter_kind
            ? CL_STMT(warranty_letter_rows, CL_CALL_SCOPE(c), x->id, NULL, NULL)
            : CL_STMT(warranty_deduction_rows, CL_CALL_SCOPE(c), x->id, NULL, NULL, NULL);
    cl_call_run(c, false, &st, 1, record_done);
}

static office_call_t *office_call_new(cl_req_t *req, const cl_call_kind_t *kind) {
    office_call_t *x = cl_call_new(req, sizeof *x);
    if (x) x->call.kind = kind;
    return x;
}

/* An optional ticket uuid: NULL for "", false after failing the request. */
CL_MUSTCHECK static bool opt_ticket(cl_req_t *req, const char *id, const char **out) {
    *out = NULL;
    if (!*id) return true;
    if (!cl_uuid_valid(id)) {
        cl_req_fail(req, CL_EINVAL, "ticket_id must be a ticket's uuid");
        return false;
    }
    *out = id;
    return true;
}

/* ------------------------------------------------------------------ letters */

void cl_warranty_letter(cl_req_t *req) {
    const Closeloop__WarrantyLetterAdd *m = (const Closeloop__WarrantyLetterAdd *)req->msg;
    const char *ticket;
    if (!cl_req_need_id(req, "contractor_id", m->contractor_id) ||
        !opt_ticket(req, m->ticket_id, &ticket) ||
        !cl_req_need_text(req, "subject", m->subject, true, CL_LIM_TITLE_CHARS) ||
        !cl_req_need_text(req, "body", m->body, true, CL_LIM_LETTER_BODY_CHARS))
        return;
    if (m->company_id < 0) {
        cl_req_fail(req, CL_EINVAL, "company_id must be a company's id");
        return;
    }
    office_call_t *x = office_call_new(req, &letter_kind);
    if (!x) return; /* answered */
    cl_call_t *c = &x->call;
    char b[3][24];
    const cl_call_stmt_t st =
        CL_STMT(warranty_letter_add, CL_CALL_SCOPE(c), cl_sql_int_param(b[0], m->contractor_id),
                ticket, cl_sql_id_param(b[1], m->company_id), m->subject, m->body,
                cl_sql_int_param(b[2], c->session.user_id));
    cl_call_run(c, true, &st, 1, written_done);
}

void cl_warranty_letters(cl_req_t *req) {
    const Closeloop__WarrantyLetterListRequest *m =
        (const Closeloop__WarrantyLetterListRequest *)req->msg;
    cl_call_t *c = cl_call_list_new(req, &letter_kind, NULL);
    if (!c) return; /* answered */
    char k[24];
    const cl_call_stmt_t st = CL_STMT(warranty_letter_rows, CL_CALL_SCOPE(c), NULL,
                                      cl_sql_id_param(k, m->contractor_id), NULL);
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

/* ------------------------------------------------------------------ deductions */

void cl_warranty_deduction(cl_req_t *req) {
    const Closeloop__WarrantyDeductionAct *m = (const Closeloop__WarrantyDeductionAct *)req->msg;
    char b[4][24];
    if (m->to == CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_REQUESTED) {
        const char *ticket;
        if (!cl_req_need_id(req, "contractor_id", m->contractor_id) ||
            !opt_ticket(req, m->ticket_id, &ticket) ||
            !cl_req_need_text(req, "reason", m->reason, true, CL_LIM_WARRANTY_TEXT_CHARS))
            return;
        if (m->amount_cents <= 0 || m->amount_cents > CL_LIM_DEDUCTION_MAX_CENTS) {
            cl_req_fail(req, CL_EINVAL,
                        "the amount must be more than 0 and at most 10000000.00 yuan");
            return;
        }
        if (m->company_id < 0) {
            cl_req_fail(req, CL_EINVAL, "company_id must be a company's id");
            return;
        }
        office_call_t *x = office_call_new(req, &deduction_kind);
        if (!x) return; /* answered */
        cl_call_t *c = &x->call;
        /* Requesting is the office's power; deciding (this type's op) is wider. */
        if (cl_authz_check(true, (cl_role_t)c->session.role, CL_OP_WARRANTY_OFFICE) != CL_OK) {
            cl_req_fail(req, CL_EFORBIDDEN, "only the warranty office requests a deduction");
            cl_call_free(c);
            return;
        }
        const cl_call_stmt_t st = CL_STMT(
            warranty_deduct, CL_CALL_SCOPE(c), cl_sql_int_param(b[0], m->contractor_id), ticket,
            cl_sql_id_param(b[1], m->company_id), cl_sql_int_param(b[2], m->amount_cents),
            m->reason, cl_sql_int_param(b[3], c->session.user_id),
            cl_deduction_kind_name(CLOSELOOP__DEDUCTION_KIND__DEDUCTION_KIND_PENALTY));
        cl_call_run(c, true, &st, 1, written_done);
        return;
    }
    if (m->to != CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_APPROVED &&
        m->to != CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_REJECTED) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "to", CL_DOM_DEDUCTION_STATE));
        return;
    }
    if (!cl_req_need_id(req, "id", m->id) ||
        !cl_req_need_text(req, "note", m->note, false, CL_LIM_WARRANTY_TEXT_CHARS))
        return;
    office_call_t *x = office_call_new(req, &deduction_kind);
    if (!x) return; /* answered */
    cl_call_t *c = &x->call;
    cl_sql_int_param(x->id, m->id); /* known: a NULL answer means decided already */
    const cl_call_stmt_t st = CL_STMT(
        warranty_decide, CL_CALL_SCOPE(c), cl_sql_int_param(b[0], m->id),
        cl_sql_int_param(b[1], c->session.user_id), cl_deduction_state_name(m->to), m->note);
    cl_call_run(c, true, &st, 1, written_done);
}

void cl_warranty_deductions(cl_req_t *req) {
    const Closeloop__WarrantyDeductionListRequest *m =
        (const Closeloop__WarrantyDeductionListRequest *)req->msg;
    if (m->state && !cl_deduction_state_name(m->state)) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "state", CL_DOM_DEDUCTION_STATE));
        return;
    }
    cl_call_t *c = cl_call_list_new(req, &deduction_kind, NULL);
    if (!c) return; /* answered */
    char k[24];
    const cl_call_stmt_t st = CL_STMT(warranty_deduction_rows, CL_CALL_SCOPE(c), NULL,
                                      cl_sql_id_param(k, m->contractor_id),
                                      m->state ? cl_deduction_state_name(m->state) : NULL, NULL);
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}
