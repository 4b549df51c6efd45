/* ticket.c - the repair loop: ticket transitions, a ticket's whole history, the two
 * morning lists (a contractor's to-repair list, a project's to-verify list), the daily
 * handover report (交房日报表) and the key-handover readiness check of a building.
 *
 * The state machine is common/ticket_fsm.c; this file never decides a transition
 * itself. A transition is one batch: set_actor, then ONE statement that locks the
 * ticket (SELECT ... FOR UPDATE, which under READ COMMITTED returns the newest committed
 * version after waiting), updates it only when its state is one the action applies to
 * (and its version is the expected one), writes the ticket_events row, and returns the
 * new ticket, or the current state when nothing changed. Of two racing verifications
 * the second waits for the first's lock, then sees the ticket closed: one success, one
 * conflict. Reads are one batch of one or a few statements (one round trip); the two
 * lists are read a page at a time (keyset on raised_at, number, id), each page sent as
 * soon as it arrives, so a list of 50,000 tickets never sits whole in the daemon.
 *
 * Scope: a contractor sees only the tickets currently assigned to it; every other role
 * sees the tickets of the projects in its scope (cl_visible_project). A ticket outside
 * the scope reads exactly like a missing one. Tickets carry no owner data at all.
 *
 * Runs on the loop thread. A tk_call_t (a cl_call_t, handler.h, and what a ticket
 * request adds) holds one request's state; it is freed right after the final reply. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dispatch.h"
#include "handler.h"
#include "msg.h"
#include "session.h"
#include "sqlutil.h"
#include "ticket_fsm.h"
#include "ticket_row.h"

#define TK_PAGE_MAX     500  /* tickets per streamed page */
#define TK_NOTE_MAX     2000 /* characters of a note, reason or explanation */
#define TK_BUILDING_MAX 100
#define TK_BLOCKERS_MAX 500 /* readiness blockers returned, at most (and within a frame) */
#define TK_STR_(x)      #x
#define TK_STR(x)       TK_STR_(x)
#define TK_FRAME_SLACK  64 /* frame bytes kept free for the page's own encoding */

typedef Closeloop__Ticket pb_ticket_t;
typedef Closeloop__TicketEvent pb_event_t;
typedef Closeloop__ReasonCount pb_reason_t;
typedef Closeloop__ContractorCount pb_ccount_t;
typedef Closeloop__TimelinessCounts pb_tcounts_t;

/* ------------------------------------------------------------------ SQL */

// clang-format off

/* The session scope, as every statement takes it ($1..$4). */
#define SCOPE            "$1::text, $2::bigint, $3::bigint, $4::bigint[]"
#define VISIBLE(project) "cl_visible_project(" project ", " SCOPE ")"
#define MS(ts)           "(extract(epoch FROM " ts ") * 1000)::bigint"

/* A ticket the caller may see: a contractor its own tickets, anyone else the tickets
 * of the projects in its scope. */
#define TICKET_VISIBLE(t)                                                                 \
    "(CASE WHEN $1::text = 'contractor' THEN " t ".contractor_id = $3::bigint"            \
    " ELSE " VISIBLE(t ".project_id") " END)"

/* The ticket's reference: its UUID ($5), or project ($6) and number ($7). */
#define TICKET_REF(t) \
    "(" t ".id = $5::uuid OR (" t ".project_id = $6::bigint AND " t ".number = $7::int))"

/* The Ticket message's columns (CL_TICKET_NCOLS of them) and the joins they need.
 * Aliases i, u, b, p, r and k are taken by the joins. */
#define TICKET_COLS(t) CL_TICKET_COLS(t, "r.kind", t)
#define TICKET_JOINS(t)                                                                   \
    " JOIN inspection_items i ON i.id = " t ".id"                                         \
    " JOIN units u ON u.id = i.unit_id"                                                   \
    " JOIN buildings b ON b.id = u.building_id"                                           \
    " JOIN projects p ON p.id = " t ".project_id"                                         \
    " JOIN inspection_rounds r ON r.id = i.round_id"                                      \
    " LEFT JOIN contractors k ON k.id = " t ".contractor_id"

/* scope, $5 uuid (NULL: by number), $6 project, $7 number, $8 action, $9 to state,
 * $10 from states text[], $11 expected version (0: any), $12 contractor keep|set|clear,
 * $13 new contractor (NULL unless set), $14 rework, $15 note, $16 actor user id,
 * $17 actor username. One row: the updated ticket (NULL when nothing changed), then
 * found, current state, current version, number, whether the new contractor exists.
 * "old" locks the row and, after waiting for a concurrent writer, sees its newest
 * version, so the state test below is against what is committed now. */
static const char sql_transition[] =
    "WITH old AS (SELECT t.id, t.number, t.state, t.version, t.contractor_id FROM tickets t"
    "              WHERE " TICKET_REF("t") " AND " TICKET_VISIBLE("t") " FOR UPDATE OF t),"
    " kon AS (SELECT k.id FROM contractors k WHERE k.id = $13::bigint),"
    " upd AS (UPDATE tickets t"
    "            SET state = $9::text,"
    "                contractor_id = CASE $12::text WHEN 'set' THEN $13::bigint"
    "                                               WHEN 'clear' THEN NULL"
    "                                               ELSE t.contractor_id END,"
    "                rework_count = t.rework_count + CASE WHEN $14::boolean THEN 1 ELSE 0 END,"
    "                last_note = CASE WHEN $15::text <> '' THEN $15::text ELSE t.last_note END,"
    "                closed_at = CASE WHEN $9::text IN ('closed', 'nofix') THEN now() END"
    "           FROM old"
    "          WHERE t.id = old.id AND old.state = ANY ($10::text[])"
    "            AND ($11::bigint = 0 OR old.version = $11::bigint)"
    "            AND ($12::text <> 'set' OR EXISTS (SELECT 1 FROM kon))"
    "          RETURNING t.*, old.state AS from_state, old.contractor_id AS old_contractor_id),"
    " ev AS (INSERT INTO ticket_events (ticket_id, project_id, actor_user_id, actor, action,"
    "                                   from_state, to_state, note, contractor_id)"
    "        SELECT id, project_id, $16::bigint, $17::text, $8::text, from_state, state,"
    "               $15::text, coalesce(contractor_id, old_contractor_id) FROM upd)"
    "SELECT rec.*, (SELECT count(*) FROM old), (SELECT state FROM old),"
    "       (SELECT version FROM old), (SELECT number FROM old), EXISTS (SELECT 1 FROM kon)"
    "  FROM (VALUES (1)) AS one (x)"
    "  LEFT JOIN (SELECT " TICKET_COLS("t") " FROM upd t" TICKET_JOINS("t") ") AS rec ON true";

/* scope, $5 uuid, $6 project, $7 number. One row per event, oldest first (a ticket
 * always has its create event; LEFT JOIN all the same). After the ticket: inspector,
 * inspected_on, photo hashes (hex, comma-separated), then the event. */
static const char sql_show[] =
    "SELECT " TICKET_COLS("t") ", i.inspector,"
    "       coalesce(to_char(i.inspected_on, 'YYYY-MM-DD'), ''),"
    "       (SELECT coalesce(string_agg(encode(ph.sha256, 'hex'), ',' ORDER BY ph.sha256), '')"
    "          FROM item_photos ph WHERE ph.item_id = t.id),"
    "       e.id, " MS("e.at") ", e.actor, e.action, coalesce(e.from_state, ''), e.to_state,"
    "       e.note, coalesce(e.contractor_id, 0), coalesce(ek.name, '')"
    "  FROM tickets t" TICKET_JOINS("t")
    "  LEFT JOIN ticket_events e ON e.ticket_id = t.id"
    "  LEFT JOIN contractors ek ON ek.id = e.contractor_id"
    " WHERE " TICKET_REF("t") " AND " TICKET_VISIBLE("t")
    " ORDER BY e.id";

/* scope, $5 contractor, $6 project (0: all). Whether the contractor exists, and whether
 * the project filter names a project in scope. */
static const char sql_todo_check[] =
    "SELECT EXISTS (SELECT 1 FROM contractors c WHERE c.id = $5::bigint),"
    "       $6::bigint = 0 OR $1::text = 'contractor' OR " VISIBLE("$6::bigint");

/* A morning list is read in pages of TK_PAGE_MAX tickets by keyset: the first page, then
 * each next page after the last ticket sent, (raised_at, number, id) being unique. Each
 * page is one short index range scan, so the daemon never holds more than one page and
 * sends every page as soon as it has it. After the ticket columns: raised_at as text,
 * the exact cursor for the next page. */
#define LIST_ORDER " ORDER BY t.raised_at, t.number, t.id LIMIT " TK_STR(TK_PAGE_MAX)

/* scope, $5 contractor, $6 project (0: all); the next pages add the cursor $7 raised_at,
 * $8 number, $9 id. The contractor's open tickets, oldest first, straight from the
 * partial index tickets_todo (contractor_id, raised_at, number) WHERE state = 'open'. */
#define TODO_SQL(cursor)                                                                  \
    "SELECT " TICKET_COLS("t") ", t.raised_at::text FROM tickets t" TICKET_JOINS("t")     \
    " WHERE t.state = 'open' AND t.contractor_id = $5::bigint"                            \
    "   AND ($6::bigint = 0 OR t.project_id = $6::bigint)"                                \
    "   AND ($1::text <> 'contractor' OR t.contractor_id = $3::bigint)"                   \
    "   AND ($1::text = 'contractor'"                                                     \
    "        OR t.project_id IN (SELECT v.project_id FROM cl_visible_projects(" SCOPE ") v))" \
    cursor LIST_ORDER
static const char sql_todo[] = TODO_SQL("");
static const char sql_todo_next[] =
    TODO_SQL(" AND (t.raised_at, t.number, t.id) > ($7::timestamptz, $8::int, $9::uuid)");

/* scope, $5 project. A contractor (perhaps a third-party repairer with no trade on the
 * project) is never told a project is missing: its list holds only its own tickets. */
static const char sql_project_check[] =
    "SELECT $1::text = 'contractor' OR " VISIBLE("$5::bigint");

/* scope, $5 project; the next pages add the cursor $6 raised_at, $7 number, $8 id. The
 * project's repaired tickets, oldest first (tickets_toverify); a contractor sees only
 * its own. */
#define TOVERIFY_SQL(cursor)                                                              \
    "SELECT " TICKET_COLS("t") ", t.raised_at::text FROM tickets t" TICKET_JOINS("t")     \
    " WHERE t.state = 'repaired' AND t.project_id = $5::bigint"                           \
    "   AND ($1::text <> 'contractor' OR t.contractor_id = $3::bigint)"                   \
    "   AND ($1::text = 'contractor' OR " VISIBLE("$5::bigint") ")"                       \
    cursor LIST_ORDER
static const char sql_toverify[] = TOVERIFY_SQL("");

/* scope, $5 project; the next pages add the cursor $6 raised_at, $7 number, $8 id. The
 * project's tickets waiting for manual dispatch, oldest first (tickets_dispatch). */
#define TODISPATCH_SQL(cursor)                                                            \
    "SELECT " TICKET_COLS("t") ", t.raised_at::text FROM tickets t" TICKET_JOINS("t")     \
    " WHERE t.state = 'dispatch' AND t.project_id = $5::bigint"                           \
    "   AND " VISIBLE("$5::bigint") cursor LIST_ORDER
static const char sql_todispatch[] = TODISPATCH_SQL("");
static const char sql_todispatch_next[] =
    TODISPATCH_SQL(" AND (t.raised_at, t.number, t.id) > ($6::timestamptz, $7::int, $8::uuid)");
static const char sql_toverify_next[] =
    TOVERIFY_SQL(" AND (t.raised_at, t.number, t.id) > ($6::timestamptz, $7::int, $8::uuid)");

/* The daily report: scope, $5 project, $6 date. Four statements, one batch. Days are
 * days of the database session's TimeZone. Timeliness is classified per distinct
 * (state, deadline, closing day), not per ticket: a project's tickets share few of them,
 * so a project with a million tickets costs one aggregate pass, not a million calls. */
static const char sql_daily_summary[] =
    "WITH prj AS (SELECT p.id, p.name FROM projects p WHERE p.id = $5::bigint AND " VISIBLE("p.id") "),"
    " ho AS (SELECT rec.scheduled_on, rec.inspected_on, rec.outcome"
    "          FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id"
    "          JOIN prj ON rec.project_id = prj.id"
    "         WHERE r.kind = 'handover'"
    "           AND (rec.scheduled_on = $6::date OR rec.inspected_on = $6::date)),"
    /* units inspected that day: with a record dated that day, or an item found that day */
    " day AS (SELECT rec.unit_id FROM inspection_records rec"
    "           JOIN prj ON rec.project_id = prj.id WHERE rec.inspected_on = $6::date"
    "         UNION SELECT i.unit_id FROM inspection_items i"
    "           JOIN prj ON i.project_id = prj.id WHERE i.inspected_on = $6::date),"
    " ev AS (SELECT e.action, e.to_state FROM ticket_events e JOIN prj ON e.project_id = prj.id"
    "         WHERE e.at >= $6::date AND e.at < $6::date + 1),"
    " tl AS (SELECT coalesce(sum(n) FILTER (WHERE c = 'no_deadline'), 0) AS no_deadline,"
    "               coalesce(sum(n) FILTER (WHERE c = 'overdue_open'), 0) AS overdue_open,"
    "               coalesce(sum(n) FILTER (WHERE c = 'in_time_open'), 0) AS in_time_open,"
    "               coalesce(sum(n) FILTER (WHERE c = 'closed_late'), 0) AS closed_late,"
    "               coalesce(sum(n) FILTER (WHERE c = 'closed_in_time'), 0) AS closed_in_time"
    "          FROM (SELECT cl_ticket_timeliness(g.state, g.deadline, g.closed_day) AS c, g.n"
    "                  FROM (SELECT t.state, t.deadline, t.closed_at::date AS closed_day,"
    "                               count(*) AS n"
    "                          FROM tickets t JOIN prj ON t.project_id = prj.id"
    "                         GROUP BY 1, 2, 3) AS g) AS x)"
"SELECT prj.name,"
    "       (SELECT count(*) FROM ho WHERE scheduled_on = $6::date),"
    "       (SELECT count(*) FROM ho WHERE inspected_on = $6::date),"
    "       (SELECT count(*) FROM ho WHERE inspected_on = $6::date"
    "                                  AND outcome IN ('accepted', 'accepted_with_items')),"
    "       (SELECT count(*) FROM ho WHERE inspected_on = $6::date"
    "                                  AND outcome = 'accepted_with_items'),"
    "       (SELECT count(*) FROM ho WHERE inspected_on = $6::date"
    "                                  AND outcome = 'not_taken_over'),"
    "       (SELECT count(*) FROM inspection_items i"
    "         WHERE i.project_id = prj.id AND i.inspected_on = $6::date),"
    "       (SELECT count(DISTINCT unit_id) FROM day),"
    "       (SELECT count(*) FROM ev WHERE to_state IN ('closed', 'nofix')),"
    "       (SELECT count(*) FROM ev WHERE action = 'verify_fail'),"
    "       tl.no_deadline, tl.overdue_open, tl.in_time_open, tl.closed_late, tl.closed_in_time"
    "  FROM (VALUES (1)) AS one (x) LEFT JOIN prj ON true CROSS JOIN tl";

static const char sql_daily_reasons[] =
    "SELECT rec.not_taken_reason, count(*)"
    "  FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id"
    " WHERE rec.project_id = $5::bigint AND r.kind = 'handover' AND " VISIBLE("$5::bigint")
    "   AND rec.inspected_on = $6::date AND rec.outcome = 'not_taken_over'"
    " GROUP BY rec.not_taken_reason ORDER BY 2 DESC, 1 LIMIT 100";

/* Open tickets by contractor now; overdue is what cl_ticket_timeliness calls
 * overdue_open. $6 is unused here but keeps the batch's parameters uniform. */
static const char sql_daily_contractors[] =
    "SELECT t.contractor_id, k.name, count(*),"
    "       count(*) FILTER (WHERE t.deadline < current_date),"
    "       count(*) FILTER (WHERE t.rework_count > 0)"
    "  FROM tickets t JOIN contractors k ON k.id = t.contractor_id"
    " WHERE t.project_id = $5::bigint AND t.state = 'open' AND " VISIBLE("$5::bigint")
    "   AND $6::date IS NOT NULL"
    " GROUP BY t.contractor_id, k.name ORDER BY 3 DESC, k.name";

/* The ten oldest first, then their joins: a project's live tickets can be many. */
static const char sql_daily_oldest[] =
    "SELECT " TICKET_COLS("t")
    " FROM (SELECT * FROM tickets t0"
    "        WHERE t0.project_id = $5::bigint AND t0.state IN ('dispatch', 'open', 'repaired')"
    "          AND " VISIBLE("$5::bigint") " AND $6::date IS NOT NULL"
    "        ORDER BY t0.raised_at, t0.number LIMIT 10) AS t" TICKET_JOINS("t")
    " ORDER BY t.raised_at, t.number";

/* Readiness: scope, $5 project, $6 building name. */
#define READY_FILTER                                                                      \
    " WHERE t.project_id = $5::bigint AND " VISIBLE("$5::bigint")                         \
    "   AND b.name = $6::text AND r.kind IN ('mock1', 'mock2', 'mock3')"

static const char sql_ready_summary[] =
    "SELECT " VISIBLE("$5::bigint") ","
    "       EXISTS (SELECT 1 FROM buildings b WHERE b.project_id = $5::bigint"
    "                  AND b.name = $6::text),"
    "       x.items, x.closed, x.nofix"
    "  FROM (SELECT count(*) AS items, count(*) FILTER (WHERE t.state = 'closed') AS closed,"
    "               count(*) FILTER (WHERE t.state = 'nofix') AS nofix"
    "          FROM tickets t" TICKET_JOINS("t") READY_FILTER ") AS x";

static const char sql_ready_blockers[] =
    "SELECT " TICKET_COLS("t") " FROM tickets t" TICKET_JOINS("t") READY_FILTER
    "   AND t.state NOT IN ('closed', 'nofix')"
    " ORDER BY t.raised_at, t.number LIMIT " TK_STR(TK_BLOCKERS_MAX);

// clang-format on

const cl_db_stmt_t cl_ticket_stmts[] = {
    {"ticket_transition", sql_transition},
    {"ticket_show", sql_show},
    {"ticket_todo_check", sql_todo_check},
    {"ticket_todo", sql_todo},
    {"ticket_todo_next", sql_todo_next},
    {"ticket_project_check", sql_project_check},
    {"ticket_toverify", sql_toverify},
    {"ticket_toverify_next", sql_toverify_next},
    {"ticket_todispatch", sql_todispatch},
    {"ticket_todispatch_next", sql_todispatch_next},
    {"ticket_daily_summary", sql_daily_summary},
    {"ticket_daily_reasons", sql_daily_reasons},
    {"ticket_daily_contractors", sql_daily_contractors},
    {"ticket_daily_oldest", sql_daily_oldest},
    {"ticket_ready_summary", sql_ready_summary},
    {"ticket_ready_blockers", sql_ready_blockers},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ calls */

typedef struct tk_call {
    cl_call_t call; /* first: the call is the db callbacks' argument */
    char label[48]; /* "ticket #12" or "the ticket": for sentences */
    cl_ticket_action_t action;
    const char *from_names; /* a transition's applicable states, for the conflict text */
    int64_t expected_version;
    const char *list_next; /* a list's statement for its next page */
    int nlist;             /* its parameters before the cursor */
    char lp[2][24];        /* those parameters */
    char cur_at[64];       /* the cursor: the last ticket sent (raised_at, number, id) */
    char cur_number[24];
    char cur_id[40];
} tk_call_t;
_Static_assert(offsetof(tk_call_t, call) == 0, "a tk_call_t is its cl_call_t");
_Static_assert(TK_PAGE_MAX == CL_CALL_PAGE_MAX, "a list page is one frame's worth at most");

/* ------------------------------------------------------------------ tickets */

static ProtobufCMessage *ticket_slot_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                          int row) {
    pb_ticket_t *t = slot;
    cl_ticket_row_fill(t, res, row, 0);
    return &t->base;
}

/* The morning lists' tickets, sent as TicketPage frames. */
static const cl_call_kind_t ticket_kind = {
    .reply_type = CL_MSG_TICKET,
    .page_type = CL_MSG_TICKET_PAGE,
    .page = &closeloop__ticket_page__descriptor,
    .slot_size = sizeof(pb_ticket_t),
    .fill = ticket_slot_fill,
};

/* ------------------------------------------------------------------ validation */

/* The reference as parameters $5..$7 (uuid or NULL, project, number) and a label for
 * sentences; false after failing the request. */
typedef struct tk_ref {
    const char *v[3];
    char project[24];
    char number[24];
} tk_ref_t;

static bool need_ref(cl_req_t *req, const Closeloop__TicketRef *m, tk_ref_t *out, char *label,
                     size_t labellen) {
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
        snprintf(label, labellen, "the ticket");
    } else {
        out->v[0] = NULL;
        out->v[1] = cl_sql_int_param(out->project, m->project_id);
        out->v[2] = cl_sql_int_param(out->number, m->number);
        snprintf(label, labellen, "ticket #%u", m->number);
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

static void transition_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const PGresult *res = cl_call_result_at(&c->call, r, 1, CL_TICKET_NCOLS + 5);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for a ticket transition");
    } else if (!cl_sql_isnull(res, 0, 0)) {
        pb_ticket_t t;
        cl_ticket_row_fill(&t, res, 0, 0);
        cl_req_reply(c->call.req, CL_MSG_TICKET, &t.base);
    } else if (cl_sql_i64(res, 0, CL_TICKET_NCOLS) == 0) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such ticket");
    } else {
        const char *state = cl_sql_text(res, 0, CL_TICKET_NCOLS + 1);
        int64_t version = cl_sql_i64(res, 0, CL_TICKET_NCOLS + 2);
        unsigned number = (unsigned)cl_sql_i64(res, 0, CL_TICKET_NCOLS + 3);
        bool contractor = cl_sql_text(res, 0, CL_TICKET_NCOLS + 4)[0] == 't';
        cl_ticket_step_t step;
        bool applies = cl_ticket_step(cl_ticket_state_parse(state), c->action, &step) == CL_OK;
        const char *action = cl_ticket_action_name(c->action);
        if (applies && !contractor &&
            (c->action == CL_TACT_DISPATCH || c->action == CL_TACT_REASSIGN))
            cl_req_fail(c->call.req, CL_ENOTFOUND, "no such contractor");
        else if (applies && c->expected_version && version != c->expected_version)
            cl_req_fail(c->call.req, CL_ECONFLICT,
                        "ticket #%u was changed by someone else: it is now %s, version %lld "
                        "(you had version %lld)",
                        number, state, (long long)version, (long long)c->expected_version);
        else
            cl_req_fail(c->call.req, CL_ECONFLICT,
                        "ticket #%u was changed by someone else: it is now %s (%s applies to "
                        "%s tickets only)",
                        number, state, action, c->from_names);
    }
    cl_call_free(&c->call);
}

int cl_ticket_transition(cl_req_t *req) {
    const cl_pb_ticket_transition_t *m = (const cl_pb_ticket_transition_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (!s) return CL_EUNAUTH;
    int wire = (int)m->action;
    cl_ticket_action_t action =
        wire > CL_TACT_CREATE && wire < CL_TACT__ACTIONS ? (cl_ticket_action_t)wire : CL_TACT_NONE;
    if (action == CL_TACT_NONE) {
        cl_req_fail(req, CL_EINVAL,
                    wire == CL_TACT_CREATE
                        ? "tickets are created by recording inspection items, not by a transition"
                        : "action must be dispatch, repaired, verify_pass, verify_fail, nofix, "
                          "reassign or return");
        return CL_OK;
    }
    const char *aname = cl_ticket_action_name(action);
    if (cl_authz_check(true, s->role, action_op(action)) != CL_OK) {
        cl_req_fail(req, CL_EFORBIDDEN, "a %s user may not %s", cl_role_name(s->role),
                    action_verb(action));
        return CL_OK;
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
    if (!from_list) return CL_ENOMEM;
    if (!have || !consistent) {
        free(from_list);
        cl_req_fail(req, CL_EINTERNAL, "the ticket state machine has no single step for %s", aname);
        return CL_OK;
    }
    if (step.note_required && !*m->note) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "a note is required for %s", aname);
        return CL_OK;
    }
    if (!cl_req_need_text(req, "note", m->note, false, TK_NOTE_MAX)) {
        free(from_list);
        return CL_OK;
    }
    if (step.contractor == CL_TCON_SET && m->contractor_id <= 0) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "contractor_id is required for %s", aname);
        return CL_OK;
    }
    if (step.contractor != CL_TCON_SET && m->contractor_id != 0) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "contractor_id is only for dispatch and reassign");
        return CL_OK;
    }
    if (m->expected_version < 0) {
        free(from_list);
        cl_req_fail(req, CL_EINVAL, "expected_version must be a version, or 0 for any");
        return CL_OK;
    }
    tk_ref_t ref;
    char label[48];
    if (!need_ref(req, m->ticket, &ref, label, sizeof label)) {
        free(from_list);
        return CL_OK;
    }
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) {
        free(from_list);
        return CL_OK; /* answered */
    }
    snprintf(c->label, sizeof c->label, "%s", label);
    c->action = action;
    c->from_names = fn;
    c->expected_version = m->expected_version;
    static const char *const modes[] = {"keep", "set", "clear"};
    char version[24], contractor[24], user[24];
    const char *p[] = {ref.v[0],
                       ref.v[1],
                       ref.v[2],
                       aname,
                       cl_ticket_state_name(step.to),
                       from_list,
                       cl_sql_int_param(version, m->expected_version),
                       modes[step.contractor],
                       cl_sql_id_param(contractor, m->contractor_id),
                       cl_sql_bool_param(step.rework),
                       m->note,
                       cl_sql_int_param(user, c->call.session.user_id),
                       c->call.session.username};
    cl_call_stmt_t st = {"ticket_transition", 13, p};
    cl_call_run_scoped(&c->call, true, &st, 1, transition_done);
    free(from_list);
    return CL_OK;
}

/* ------------------------------------------------------------------ show */

#define SHOW_EXTRA 3 /* inspector, inspected_on, photos */
#define SHOW_EVENT 9 /* event columns */

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

static void show_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const PGresult *res =
        cl_call_result_at(&c->call, r, 0, CL_TICKET_NCOLS + SHOW_EXTRA + SHOW_EVENT);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    int rows = PQntuples(res);
    if (rows == 0) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such ticket");
        cl_call_free(&c->call);
        return;
    }
    Closeloop__TicketHistory h = CLOSELOOP__TICKET_HISTORY__INIT;
    pb_ticket_t t;
    cl_ticket_row_fill(&t, res, 0, 0);
    h.ticket = &t;
    h.inspector = PQgetvalue(res, 0, CL_TICKET_NCOLS);
    h.inspected_on = PQgetvalue(res, 0, CL_TICKET_NCOLS + 1);
    const char *hex = cl_sql_text(res, 0, CL_TICKET_NCOLS + 2);
    size_t nphotos = *hex ? (strlen(hex) + 1) / 65 : 0;
    pb_event_t *events = calloc((size_t)rows, sizeof *events);
    pb_event_t **eptr = calloc((size_t)rows, sizeof *eptr);
    ProtobufCBinaryData *photos = calloc(nphotos + 1, sizeof *photos);
    uint8_t *bytes = calloc(nphotos + 1, 32);
    if (!events || !eptr || !photos || !bytes) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nphotos; i++) {
        const char *h64 = hex + i * 65;
        for (size_t j = 0; j < 32; j++) {
            int hi = hexval(h64[2 * j]), lo = hexval(h64[2 * j + 1]);
            bytes[i * 32 + j] = (uint8_t)((hi < 0 ? 0 : hi) << 4 | (lo < 0 ? 0 : lo));
        }
        photos[i].data = bytes + i * 32;
        photos[i].len = 32;
    }
    h.n_photo_sha256 = nphotos;
    h.photo_sha256 = photos;
    int col = CL_TICKET_NCOLS + SHOW_EXTRA;
    for (int row = 0; row < rows; row++) {
        if (cl_sql_isnull(res, row, col)) continue; /* no events (LEFT JOIN) */
        pb_event_t *e = &events[h.n_events];
        closeloop__ticket_event__init(e);
        e->at_ms = (uint64_t)cl_sql_i64(res, row, col + 1);
        e->actor = PQgetvalue(res, row, col + 2);
        e->action = (Closeloop__TicketAction)cl_ticket_action_parse(cl_sql_text(res, row, col + 3));
        e->from_state =
            (Closeloop__TicketState)cl_ticket_state_parse(cl_sql_text(res, row, col + 4));
        e->to_state = (Closeloop__TicketState)cl_ticket_state_parse(cl_sql_text(res, row, col + 5));
        e->note = PQgetvalue(res, row, col + 6);
        e->contractor_id = cl_sql_i64(res, row, col + 7);
        e->contractor_name = PQgetvalue(res, row, col + 8);
        eptr[h.n_events++] = e;
    }
    h.events = eptr;
    cl_req_reply(c->call.req, CL_MSG_TICKET_HISTORY, &h.base);
out:
    free(events);
    free(eptr);
    free(photos);
    free(bytes);
    cl_call_free(&c->call);
}

int cl_ticket_show(cl_req_t *req) {
    const cl_pb_ticket_show_req_t *m = (const cl_pb_ticket_show_req_t *)req->msg;
    tk_ref_t ref;
    char label[48];
    if (!need_ref(req, m->ticket, &ref, label, sizeof label)) return CL_OK;
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    cl_call_stmt_t st = {"ticket_show", 3, ref.v};
    cl_call_run_scoped(&c->call, false, &st, 1, show_done);
    return CL_OK;
}

/* ------------------------------------------------------------------ morning lists */

static void list_next_done(void *arg, const cl_db_result_t *r);
static void list_fetch_next(void *arg, bool client_gone);

/* Sends one page of a list; asks for the next one when this one was full, else ends
 * the reply. Frees the call when the list is done. The next page is read only once the
 * client has taken most of what was sent (cl_req_wait_room), and not at all when it
 * has gone. */
static void list_page(tk_call_t *c, const PGresult *res) {
    int rows = PQntuples(res);
    bool more = rows == TK_PAGE_MAX;
    if (!cl_call_stream(&c->call, res, !more) || !more) {
        cl_call_free(&c->call);
        return;
    }
    snprintf(c->cur_at, sizeof c->cur_at, "%s", cl_sql_text(res, rows - 1, CL_TICKET_NCOLS));
    snprintf(c->cur_number, sizeof c->cur_number, "%s", cl_sql_text(res, rows - 1, 2));
    snprintf(c->cur_id, sizeof c->cur_id, "%s", cl_sql_text(res, rows - 1, 0));
    cl_req_wait_room(c->call.req, list_fetch_next, c);
}

static void list_fetch_next(void *arg, bool client_gone) {
    tk_call_t *c = arg;
    if (client_gone) { /* the reply is dropped; finish the request */
        cl_req_fail(c->call.req, CL_ECLOSED, "the client has gone");
        cl_call_free(&c->call);
        return;
    }
    const char *p[5];
    int n = 0;
    for (; n < c->nlist; n++)
        p[n] = c->lp[n];
    p[n++] = c->cur_at;
    p[n++] = c->cur_number;
    p[n++] = c->cur_id;
    cl_call_stmt_t st = {c->list_next, n, p};
    cl_call_run_scoped(&c->call, false, &st, 1, list_next_done);
}

static void list_next_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const PGresult *res = cl_call_result_at(&c->call, r, 0, CL_TICKET_NCOLS + 1);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    list_page(c, res);
}

/* A checked list: result 0 is one row of booleans that must all be true (else
 * c->label is the not-found sentence), result 1 the first page. */
static void checked_list_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const PGresult *check = cl_call_result_at(&c->call, r, 0, 1);
    const PGresult *res = check ? cl_call_result_at(&c->call, r, 1, CL_TICKET_NCOLS + 1) : NULL;
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    bool ok = PQntuples(check) == 1;
    for (int i = 0; ok && i < PQnfields(check); i++)
        ok = cl_sql_text(check, 0, i)[0] == 't';
    if (!ok) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "%s", c->label);
        cl_call_free(&c->call);
        return;
    }
    list_page(c, res);
}

int cl_ticket_todo_list(cl_req_t *req) {
    const cl_pb_todo_list_req_t *m = (const cl_pb_todo_list_req_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (!s) return CL_EUNAUTH;
    if (m->contractor_id < 0 || m->project_id < 0) {
        cl_req_fail(req, CL_EINVAL, "contractor_id and project_id must be ids, or 0");
        return CL_OK;
    }
    int64_t contractor = m->contractor_id;
    if (s->role == CL_ROLE_CONTRACTOR ||
        cl_authz_scope(s->role, CL_OP_TICKET_READ) == CL_SCOPE_CONTRACTOR) {
        if (contractor != 0 && contractor != s->contractor_id) {
            cl_req_fail(req, CL_ENOTFOUND, "no such contractor");
            return CL_OK;
        }
        contractor = s->contractor_id;
    } else if (!cl_req_need_id(req, "contractor_id", contractor)) {
        return CL_OK;
    }
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    c->call.kind = &ticket_kind;
    snprintf(c->label, sizeof c->label, "%s",
             m->project_id ? "no such contractor or project" : "no such contractor");
    c->list_next = "ticket_todo_next";
    c->nlist = 2;
    const char *p[] = {cl_sql_int_param(c->lp[0], contractor),
                       cl_sql_int_param(c->lp[1], m->project_id)};
    cl_call_stmt_t st[] = {{"ticket_todo_check", 2, p}, {"ticket_todo", 2, p}};
    cl_call_run_scoped(&c->call, false, st, 2, checked_list_done);
    return CL_OK;
}

int cl_ticket_toverify_list(cl_req_t *req) {
    const cl_pb_toverify_list_req_t *m = (const cl_pb_toverify_list_req_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    c->call.kind = &ticket_kind;
    snprintf(c->label, sizeof c->label, "no such project");
    c->list_next = "ticket_toverify_next";
    c->nlist = 1;
    const char *p[] = {cl_sql_int_param(c->lp[0], m->project_id)};
    cl_call_stmt_t st[] = {{"ticket_project_check", 1, p}, {"ticket_toverify", 1, p}};
    cl_call_run_scoped(&c->call, false, st, 2, checked_list_done);
    return CL_OK;
}

/* Manual dispatch is a decision of CR and HQ (CL_OP_TICKET_DECIDE), but clerks,
 * verifiers and analysts may see what waits for it; contractors have no such list. */
int cl_ticket_dispatch_list(cl_req_t *req) {
    const cl_pb_dispatch_list_req_t *m = (const cl_pb_dispatch_list_req_t *)req->msg;
    const cl_session_t *s = cl_req_session(req);
    if (s && cl_authz_scope(s->role, CL_OP_TICKET_READ) == CL_SCOPE_CONTRACTOR)
        return CL_EFORBIDDEN;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    c->call.kind = &ticket_kind;
    snprintf(c->label, sizeof c->label, "no such project");
    c->list_next = "ticket_todispatch_next";
    c->nlist = 1;
    const char *p[] = {cl_sql_int_param(c->lp[0], m->project_id)};
    cl_call_stmt_t st[] = {{"ticket_project_check", 1, p}, {"ticket_todispatch", 1, p}};
    cl_call_run_scoped(&c->call, false, st, 2, checked_list_done);
    return CL_OK;
}

/* ------------------------------------------------------------------ reports */

static void daily_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const cl_pb_daily_report_req_t *m = (const cl_pb_daily_report_req_t *)c->call.req->msg;
    const PGresult *sum = cl_call_result_at(&c->call, r, 0, 15);
    const PGresult *reasons = sum ? cl_call_result_at(&c->call, r, 1, 2) : NULL;
    const PGresult *cons = reasons ? cl_call_result_at(&c->call, r, 2, 5) : NULL;
    const PGresult *oldest = cons ? cl_call_result_at(&c->call, r, 3, CL_TICKET_NCOLS) : NULL;
    if (!oldest) {
        cl_call_free(&c->call);
        return;
    }
    if (PQntuples(sum) != 1 || cl_sql_isnull(sum, 0, 0)) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such project");
        cl_call_free(&c->call);
        return;
    }
    Closeloop__DailyReport d = CLOSELOOP__DAILY_REPORT__INIT;
    pb_tcounts_t tc = CLOSELOOP__TIMELINESS_COUNTS__INIT;
    d.project_id = m->project_id;
    d.project_name = PQgetvalue(sum, 0, 0);
    d.date = m->date;
    d.units_scheduled = (uint32_t)cl_sql_i64(sum, 0, 1);
    d.units_inspected = (uint32_t)cl_sql_i64(sum, 0, 2);
    d.units_accepted = (uint32_t)cl_sql_i64(sum, 0, 3);
    d.units_accepted_with_items = (uint32_t)cl_sql_i64(sum, 0, 4);
    d.units_not_taken_over = (uint32_t)cl_sql_i64(sum, 0, 5);
    d.items_raised = (uint32_t)cl_sql_i64(sum, 0, 6);
    int64_t units_day = cl_sql_i64(sum, 0, 7);
    d.items_per_unit = units_day > 0 ? (double)d.items_raised / (double)units_day : 0.0;
    d.tickets_closed = (uint32_t)cl_sql_i64(sum, 0, 8);
    d.reworks = (uint32_t)cl_sql_i64(sum, 0, 9);
    tc.no_deadline = (uint32_t)cl_sql_i64(sum, 0, 10);
    tc.overdue_open = (uint32_t)cl_sql_i64(sum, 0, 11);
    tc.in_time_open = (uint32_t)cl_sql_i64(sum, 0, 12);
    tc.closed_late = (uint32_t)cl_sql_i64(sum, 0, 13);
    tc.closed_in_time = (uint32_t)cl_sql_i64(sum, 0, 14);
    d.timeliness = &tc;

    size_t nr = (size_t)PQntuples(reasons), nc = (size_t)PQntuples(cons),
           no = (size_t)PQntuples(oldest);
    pb_reason_t *rs = calloc(nr + 1, sizeof *rs);
    pb_reason_t **rp = calloc(nr + 1, sizeof *rp);
    pb_ccount_t *cs = calloc(nc + 1, sizeof *cs);
    pb_ccount_t **cp = calloc(nc + 1, sizeof *cp);
    pb_ticket_t *ts = calloc(no + 1, sizeof *ts);
    pb_ticket_t **tp = calloc(no + 1, sizeof *tp);
    if (!rs || !rp || !cs || !cp || !ts || !tp) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nr; i++) {
        closeloop__reason_count__init(&rs[i]);
        rs[i].reason = PQgetvalue(reasons, (int)i, 0);
        rs[i].count = (uint32_t)cl_sql_i64(reasons, (int)i, 1);
        rp[i] = &rs[i];
    }
    for (size_t i = 0; i < nc; i++) {
        closeloop__contractor_count__init(&cs[i]);
        cs[i].contractor_id = cl_sql_i64(cons, (int)i, 0);
        cs[i].contractor_name = PQgetvalue(cons, (int)i, 1);
        cs[i].open = (uint32_t)cl_sql_i64(cons, (int)i, 2);
        cs[i].overdue = (uint32_t)cl_sql_i64(cons, (int)i, 3);
        cs[i].reworks = (uint32_t)cl_sql_i64(cons, (int)i, 4);
        cp[i] = &cs[i];
    }
    for (size_t i = 0; i < no; i++) {
        cl_ticket_row_fill(&ts[i], oldest, (int)i, 0);
        tp[i] = &ts[i];
    }
    d.n_not_taken_reasons = nr;
    d.not_taken_reasons = rp;
    d.n_open_by_contractor = nc;
    d.open_by_contractor = cp;
    d.n_oldest_open = no;
    d.oldest_open = tp;
    cl_req_reply(c->call.req, CL_MSG_DAILY_REPORT, &d.base);
out:
    free(rs);
    free(rp);
    free(cs);
    free(cp);
    free(ts);
    free(tp);
    cl_call_free(&c->call);
}

int cl_report_daily(cl_req_t *req) {
    const cl_pb_daily_report_req_t *m = (const cl_pb_daily_report_req_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    if (!cl_date_valid(m->date)) {
        cl_req_fail(req, CL_EINVAL, "date must be a date written YYYY-MM-DD");
        return CL_OK;
    }
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    char pbuf[24];
    const char *p[] = {cl_sql_int_param(pbuf, m->project_id), m->date};
    cl_call_stmt_t st[] = {{"ticket_daily_summary", 2, p},
                           {"ticket_daily_reasons", 2, p},
                           {"ticket_daily_contractors", 2, p},
                           {"ticket_daily_oldest", 2, p}};
    cl_call_run_scoped(&c->call, false, st, 4, daily_done);
    return CL_OK;
}

static void readiness_done(void *arg, const cl_db_result_t *r) {
    tk_call_t *c = arg;
    const cl_pb_readiness_req_t *m = (const cl_pb_readiness_req_t *)c->call.req->msg;
    const PGresult *sum = cl_call_result_at(&c->call, r, 0, 5);
    const PGresult *bl = sum ? cl_call_result_at(&c->call, r, 1, CL_TICKET_NCOLS) : NULL;
    if (!bl) {
        cl_call_free(&c->call);
        return;
    }
    if (PQntuples(sum) != 1 || cl_sql_text(sum, 0, 0)[0] != 't') {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such project");
        cl_call_free(&c->call);
        return;
    }
    if (cl_sql_text(sum, 0, 1)[0] != 't') {
        char clip[128];
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such building \"%s\" in this project",
                    cl_utf8_clip(clip, sizeof clip, m->building));
        cl_call_free(&c->call);
        return;
    }
    Closeloop__Readiness rd = CLOSELOOP__READINESS__INIT;
    rd.project_id = m->project_id;
    rd.building = m->building;
    rd.items = (uint32_t)cl_sql_i64(sum, 0, 2);
    rd.closed = (uint32_t)cl_sql_i64(sum, 0, 3);
    rd.nofix = (uint32_t)cl_sql_i64(sum, 0, 4);
    rd.ready = rd.items == rd.closed + rd.nofix;
    size_t n = (size_t)PQntuples(bl);
    pb_ticket_t *ts = calloc(n + 1, sizeof *ts);
    pb_ticket_t **tp = calloc(n + 1, sizeof *tp);
    if (!ts || !tp) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "out of memory");
    } else {
        /* As many of the oldest blockers as fit in one frame; the counts tell the rest. */
        size_t budget = cl_req_config(c->call.req)->max_frame - TK_FRAME_SLACK;
        size_t bytes = protobuf_c_message_get_packed_size(&rd.base), used = 0;
        for (size_t i = 0; i < n; i++) {
            cl_ticket_row_fill(&ts[used], bl, (int)i, 0);
            size_t size = protobuf_c_message_get_packed_size(&ts[used].base) + 6;
            if (bytes + size > budget) break;
            bytes += size;
            tp[used] = &ts[used];
            used++;
        }
        rd.n_blockers = used;
        rd.blockers = tp;
        cl_req_reply(c->call.req, CL_MSG_READINESS, &rd.base);
    }
    free(ts);
    free(tp);
    cl_call_free(&c->call);
}

int cl_report_readiness(cl_req_t *req) {
    const cl_pb_readiness_req_t *m = (const cl_pb_readiness_req_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "building", m->building, true, TK_BUILDING_MAX))
        return CL_OK;
    tk_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    char pbuf[24];
    const char *p[] = {cl_sql_int_param(pbuf, m->project_id), m->building};
    cl_call_stmt_t st[] = {{"ticket_ready_summary", 2, p}, {"ticket_ready_blockers", 2, p}};
    cl_call_run_scoped(&c->call, false, st, 2, readiness_done);
    return CL_OK;
}
