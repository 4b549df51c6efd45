/* ticket.c - the repair loop's decisions: a ticket's transitions and its whole history.
 * Raising a ticket (from an inspection item) is raise.sql, the deadline presets are
 * deadline.c, and the morning lists are ticket_lists.c; the reports are server/report.
 *
 * The state machine is common/ticket_fsm.c; this file never decides a transition
 * itself. A transition is one batch: set_actor, ticket_transition (ticket.sql: lock the
 * ticket, update it only when its state is one the action applies to and its version is
 * the expected one, write the event) and ticket_changed (read back what changed). A
 * ticket that did not change answers a conflict carrying its state and version now, so
 * no client needs another round trip to explain it. History is one batch of three reads.
 * A transition with an idempotency key claims it first in the same batch
 * (request_key.h); a duplicate claim means it was applied before, and the answer is the
 * ticket as it is now (ticket_replay), nothing changed.
 *
 * Scope: see ticket.sql. Runs on the loop thread. A tk_call_t (a cl_call_t, handler.h,
 * and what a ticket request adds) holds one request's state; the db callback frees it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "cl_sql.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "request_key.h"
#include "session.h"
#include "sqlutil.h"
#include "ticket_fsm.h"
#include "ticket_row.h"

typedef Closeloop__Ticket pb_ticket_t;
typedef Closeloop__TicketEvent pb_event_t;

typedef struct tk_call {
    cl_call_t call; /* first: the call is the db callbacks' argument */
    cl_ticket_action_t action;
    const char *from_names; /* a transition's applicable states, for the conflict text */
    int64_t expected_version;
    bool keyed; /* the batch begins with request_key_claim */
} tk_call_t;
_Static_assert(offsetof(tk_call_t, call) == 0, "a tk_call_t is its cl_call_t");

/* ------------------------------------------------------------------ validation */

/* The reference as parameters $5..$7 (uuid or NULL, project, number); false after
 * failing the request. */
typedef struct tk_ref {
    const char *v[3];
    char project[24];
    char number[24];
} tk_ref_t;

CL_MUSTCHECK static bool need_ref(cl_req_t *req, const Closeloop__TicketRef *m, tk_ref_t *out) {
    if (!m || (!*m->id && (m->project_id <= 0 || m->number == 0))) {
        cl_req_fail(req, CL_EINVAL, "name the ticket by its id, or by project_id and number");
        return false;
    }
    if (*m->id) {
        if (!cl_uuid_valid(m->id)) {
            cl_req_fail(req, CL_EINVAL, "the ticket id must be a UUID");
            return false;
        }
        out->v[0] = m->id;
        out->v[1] = NULL;
        out->v[2] = NULL;
    } else {
        out->v[0] = NULL;
        out->v[1] = cl_sql_int_param(out->project, m->project_id);
        out->v[2] = cl_sql_int_param(out->number, m->number);
    }
    return true;
}

/* The operation an action needs beyond CL_OP_TICKET_TRANSITION. */
static cl_op_t action_op(cl_ticket_action_t a) {
    switch (a) {
    case CL_TACT_REPAIRED: return CL_OP_TICKET_REPAIR;
    case CL_TACT_VERIFY_PASS:
    case CL_TACT_VERIFY_FAIL: return CL_OP_TICKET_VERIFY;
    case CL_TACT_RETURN: return CL_OP_TICKET_RETURN;
    case CL_TACT_DISPATCH:
    case CL_TACT_REASSIGN:
    case CL_TACT_NOFIX: return CL_OP_TICKET_DECIDE;
    default: return CL_OP__COUNT;
    }
}

/* What the action does, for "a verifier user may not report repairs". */
static const char *action_verb(cl_ticket_action_t a) {
    switch (a) {
    case CL_TACT_DISPATCH: return "dispatch tickets";
    case CL_TACT_REPAIRED: return "report repairs";
    case CL_TACT_VERIFY_PASS:
    case CL_TACT_VERIFY_FAIL: return "verify repairs";
    case CL_TACT_NOFIX: return "decide not to fix tickets";
    case CL_TACT_REASSIGN: return "reassign tickets";
    case CL_TACT_RETURN: return "return tickets";
    default: return "change tickets";
    }
}

/* ------------------------------------------------------------------ transitions */

#define TX(col) CL_COL(ticket_transition, col)

/* A retried transition, already applied: the ticket as it is now. */
static void replay_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for a ticket replay");
    } else if (cl_sql_text(res, 0, CL_COL(ticket_replay, other_request))[0] == 't') {
        cl_req_fail(c->call.req, CL_EINVAL,
                    "this idempotency_key was already used for another kind of request");
    } else if (cl_sql_isnull(res, 0, CL_COL(ticket_replay, key_id))) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such ticket");
    } else if (cl_sql_text(res, 0, CL_COL(ticket_replay, other_target))[0] == 't') {
        cl_req_fail(c->call.req, CL_EINVAL,
                    "this idempotency_key was already used for another ticket or action");
    } else {
        pb_ticket_t t;
        cl_ticket_row_fill(&t, res, 0, 0);
        cl_req_reply(c->call.req, CL_MSG_TICKET, &t.base);
    }
    cl_call_free(&c->call);
}

static void transition_replay(tk_call_t *c) {
    const cl_pb_ticket_transition_t *m = (const cl_pb_ticket_transition_t *)c->call.req->msg;
    tk_ref_t ref;
    if (!need_ref(c->call.req, m->ticket, &ref)) { /* checked before: cannot fail */
        cl_call_free(&c->call);
        return;
    }
    char user[24], type[24];
    cl_call_stmt_t st = CL_STMT(
        ticket_replay, CL_CALL_SCOPE(&c->call), ref.v[0], ref.v[1], ref.v[2],
        cl_sql_int_param(user, c->call.session.user_id), m->idempotency_key,
        cl_sql_int_param(type, CL_MSG_TICKET_TRANSITION_REQ), cl_ticket_action_name(c->action));
    cl_call_run(&c->call, false, &st, 1, replay_done);
}

static void transition_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    if (c->keyed && cl_request_key_replayed(r)) {
        transition_replay(c);
        return;
    }
    int first = c->keyed ? 1 : 0;
    const PGresult *res = cl_call_rows(&c->call, r, first);
    const PGresult *now = res ? cl_call_rows(&c->call, r, first + 1) : NULL;
    if (!now) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for a ticket transition");
    } else if (cl_sql_text(res, 0, TX(changed))[0] == 't' && PQntuples(now) == 1) {
        pb_ticket_t t;
        cl_ticket_row_fill(&t, now, 0, 0);
        cl_req_reply(c->call.req, CL_MSG_TICKET, &t.base);
    } else if (cl_sql_i64(res, 0, TX(found)) == 0) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such ticket");
    } else {
        const char *state = cl_sql_text(res, 0, TX(state));
        int64_t version = cl_sql_i64(res, 0, TX(version));
        unsigned number = (unsigned)cl_sql_i64(res, 0, TX(number));
        bool contractor = cl_sql_text(res, 0, TX(contractor_exists))[0] == 't';
        cl_ticket_state_t st = cl_ticket_state_parse(state);
        cl_ticket_step_t step;
        bool applies = cl_ticket_step(st, c->action, &step) == CL_OK;
        const char *action = cl_ticket_action_name(c->action);
        /* No retry of the same request can succeed: the ticket is what it is now. */
        if (applies && !contractor &&
            (c->action == CL_TACT_DISPATCH || c->action == CL_TACT_REASSIGN))
            cl_req_fail(c->call.req, CL_ENOTFOUND, "no such contractor");
        else if (applies && c->expected_version && version != c->expected_version)
            cl_req_fail_conflict(c->call.req, false, (int32_t)st, version,
                                 "ticket #%u was changed by someone else: it is now %s, version "
                                 "%lld (you had version %lld)",
                                 number, state, (long long)version, (long long)c->expected_version);
        else
            cl_req_fail_conflict(c->call.req, false, (int32_t)st, version,
                                 "ticket #%u was changed by someone else: it is now %s (%s "
                                 "applies to %s tickets only)",
                                 number, state, action, c->from_names);
    }
    cl_call_free(&c->call);
}

void cl_ticket_transition(cl_req_t *req) {
    const cl_pb_ticket_transition_t *m = (const cl_pb_ticket_transition_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    CL_ASSERT(s); /* the engine runs this handler only with a session (authz) */
    int wire = (int)m->action;
    cl_ticket_action_t action =
        wire > CL_TACT_CREATE && wire < CL_TACT__ACTIONS ? (cl_ticket_action_t)wire : CL_TACT_NONE;
    if (action == CL_TACT_NONE) {
        cl_req_fail(req, CL_EINVAL,
                    wire == CL_TACT_CREATE
                        ? "tickets are created by recording inspection items, not by a transition"
                        : "action must be dispatch, repaired, verify_pass, verify_fail, nofix, "
                          "reassign or return");
        return;
    }
    const char *aname = cl_ticket_action_name(action);
    if (cl_authz_check(true, s->role, action_op(action)) != CL_OK) {
        cl_req_fail(req, CL_EFORBIDDEN, "a %s user may not %s", cl_role_name(s->role),
                    action_verb(action));
        return;
    }
    /* Every from-state the action applies to; they must all lead to the same step. */
    cl_sqlbuf_t from = {0};
    cl_sqlbuf_array_open(&from);
    static char from_names[CL_TACT__ACTIONS][64]; /* loop thread only */
    char *fn = from_names[action];
    fn[0] = '\0';
    cl_ticket_step_t step = {0};
    bool have = false, consistent = true;
    for (int st = CL_TICKET_NONE + 1; st < CL_TICKET__STATES; st++) {
        cl_ticket_step_t one;
        if (cl_ticket_step((cl_ticket_state_t)st, action, &one) != CL_OK) continue;
        if (have && (one.to != step.to || one.note_required != step.note_required ||
                     one.contractor != step.contractor || one.rework != step.rework))
            consistent = false;
        step = one;
        have = true;
        const char *name = cl_ticket_state_name((cl_ticket_state_t)st);
        cl_sqlbuf_array_text(&from, name);
        size_t len = strlen(fn);
        snprintf(fn + len, 64 - len, "%s%s", len ? " or " : "", name);
    }
    char *from_list = cl_sqlbuf_array_close(&from);
    if (!from_list) {
        cl_req_fail(req, CL_ENOMEM, "out of memory");
        return;
    }
    if (!have || !consistent) {
        free(from_list);
        cl_req_fail(req, CL_EINTERNAL, "the ticket state machine has no single step for %s", aname);
        return;
    }
    if (step.note_required && !*m->note) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "a note is required for %s", aname);
        return;
    }
    if (!cl_req_need_text(req, "note", m->note, false, CL_LIM_NOTE_CHARS)) {
        free(from_list);
        return;
    }
    if (step.contractor == CL_TCON_SET && m->contractor_id <= 0) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "contractor_id is required for %s", aname);
        return;
    }
    if (step.contractor != CL_TCON_SET && m->contractor_id != 0) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "contractor_id is only for dispatch and reassign");
        return;
    }
    if (m->expected_version < 0) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "expected_version must be a version, or 0 for any");
        return;
    }
    if (!cl_req_need_request_key(req, m->idempotency_key)) {
        free(from_list);
        return;
    }
    tk_ref_t ref;
    if (!need_ref(req, m->ticket, &ref)) {
        free(from_list);
        return;
    }
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) {
        free(from_list);
        return; /* answered */
    }
    c->action = action;
    c->from_names = fn;
    c->expected_version = m->expected_version;
    c->keyed = *m->idempotency_key != '\0';
    const char *key = c->keyed ? m->idempotency_key : NULL;
    static const char *const modes[] = {"keep", "set", "clear"};
    char version[24], contractor[24], user[24], kuser[24], ktype[24];
    cl_sql_int_param(user, c->call.session.user_id);
    cl_call_stmt_t st[] = {
        CL_REQUEST_KEY_CLAIM(&c->call, key, CL_MSG_TICKET_TRANSITION_REQ, "", kuser, ktype),
        CL_STMT(ticket_transition, CL_CALL_SCOPE(&c->call), ref.v[0], ref.v[1], ref.v[2], aname,
                cl_ticket_state_name(step.to), from_list,
                cl_sql_int_param(version, m->expected_version), modes[step.contractor],
                cl_sql_id_param(contractor, m->contractor_id), cl_sql_bool_param(step.rework),
                m->note, user, c->call.session.username, key),
        CL_STMT(ticket_changed, ref.v[0], ref.v[1], ref.v[2], user),
    };
    cl_call_run(&c->call, true, st + !c->keyed, 3 - !c->keyed, transition_done);
    free(from_list);
}

/* ------------------------------------------------------------------ show */

#define EV(col) CL_COL(ticket_show_events, col)

static void show_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    const PGresult *evs = res ? cl_call_rows(&c->call, r, 1) : NULL;
    const PGresult *phs = evs ? cl_call_rows(&c->call, r, 2) : NULL;
    if (!phs) {
        cl_call_free(&c->call);
        return;
    }
    if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such ticket");
        cl_call_free(&c->call);
        return;
    }
    Closeloop__TicketHistory h = CLOSELOOP__TICKET_HISTORY__INIT;
    pb_ticket_t t;
    cl_ticket_row_fill(&t, res, 0, 0);
    h.ticket = &t;
    h.inspector = PQgetvalue(res, 0, CL_COL(ticket_show, inspector));
    h.inspected_on = PQgetvalue(res, 0, CL_COL(ticket_show, inspected_on));
    size_t nev = (size_t)PQntuples(evs), nph = (size_t)PQntuples(phs);
    pb_event_t *events = calloc(nev + 1, sizeof *events);
    pb_event_t **eptr = calloc(nev + 1, sizeof *eptr);
    ProtobufCBinaryData *photos = calloc(nph + 1, sizeof *photos);
    if (!events || !eptr || !photos) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nph; i++) { /* binary: the 32 bytes themselves */
        photos[i].data = (uint8_t *)PQgetvalue(phs, (int)i, CL_COL(ticket_show_photos, sha256));
        photos[i].len = (size_t)PQgetlength(phs, (int)i, CL_COL(ticket_show_photos, sha256));
    }
    h.n_photo_sha256 = nph;
    h.photo_sha256 = photos;
    for (size_t i = 0; i < nev; i++) {
        int row = (int)i;
        pb_event_t *e = &events[i];
        closeloop__ticket_event__init(e);
        e->at_ms = (uint64_t)cl_sql_i64(evs, row, EV(at_ms));
        e->actor = PQgetvalue(evs, row, EV(actor));
        e->action =
            (Closeloop__TicketAction)cl_ticket_action_parse(cl_sql_text(evs, row, EV(action)));
        e->from_state =
            (Closeloop__TicketState)cl_ticket_state_parse(cl_sql_text(evs, row, EV(from_state)));
        e->to_state =
            (Closeloop__TicketState)cl_ticket_state_parse(cl_sql_text(evs, row, EV(to_state)));
        e->note = PQgetvalue(evs, row, EV(note));
        e->contractor_id = cl_sql_i64(evs, row, EV(contractor_id));
        e->contractor_name = PQgetvalue(evs, row, EV(contractor_name));
        eptr[i] = e;
    }
    h.n_events = nev;
    h.events = eptr;
    cl_req_reply(c->call.req, CL_MSG_TICKET_HISTORY, &h.base);
out:
    free(events);
    free(eptr);
    free(photos);
    cl_call_free(&c->call);
}

void cl_ticket_show(cl_req_t *req) {
    const cl_pb_ticket_show_req_t *m = (const cl_pb_ticket_show_req_t *)req->msg;
    tk_ref_t ref;
    if (!need_ref(req, m->ticket, &ref)) return;
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    cl_call_stmt_t st[] = {
        CL_STMT(ticket_show, CL_CALL_SCOPE(&c->call), ref.v[0], ref.v[1], ref.v[2]),
        CL_STMT(ticket_show_events, CL_CALL_SCOPE(&c->call), ref.v[0], ref.v[1], ref.v[2]),
        CL_STMT(ticket_show_photos, CL_CALL_SCOPE(&c->call), ref.v[0], ref.v[1], ref.v[2]),
    };
    cl_call_run(&c->call, false, st, 3, show_done);
}
