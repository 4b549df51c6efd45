/* inspection.c - handover inspections: the rounds of a project (mock inspections 1-3,
 * handover day, the checks after handover) with their deadline warnings, the items an
 * inspection finds (one by one or a day's import), each of which raises a repair
 * ticket, the handover acceptance form of a unit, and the handover schedule.
 *
 * Every request is one database batch, so one transaction in one round trip: a
 * mutation is "set_actor" followed by the statements of inspection.sql that make the
 * change; a read is one statement. Statements take the session scope as their first
 * four parameters and filter with cl_visible_project(), so a project outside the
 * caller's scope reads exactly like a missing one ("no such project").
 *
 * Items are validated in C first (every bad item reported with its line; the good ones
 * of such a batch still go through insp_item_record check-only, so the reply also has
 * the database's errors about them). Then one statement records them: insp_item_record
 * resolves units, trades (a category is a code, a Chinese name or an alias of the
 * project; the code is stored) and "found again" links and records rounds, records,
 * items and photos, changing nothing unless every item resolved (nor ever for a batch
 * sent check_only), and raises the tickets of the items it inserts through the ticket
 * area's function cl_ticket_raise (server/ticket/raise.sql), returning each item's ticket
 * with the columns of the ticket_rows view. Items and tickets share the client's UUID, so
 * a re-sent item is "unchanged", never doubled. Items dated outside their round's planned
 * dates come back as warnings. Photos and their SHA-256 travel as binary bytea[]
 * parameters. A handover form with an idempotency key claims it in its batch
 * (server/engine/request_key.h): sent again, it changes nothing and is answered with
 * the unit's record as it is now.
 *
 * Runs on the loop thread. A cl_call_t (handler.h) holds one request's state, including
 * a copy of the session; every db callback frees it exactly once, as its last act. */
#include "dispatch.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "request_key.h"
#include "sha256.h"
#include "sqlutil.h"
#include "ticket_fsm.h"
#include "ticket_row.h"

#define INSP_WARNINGS_MAX 4                /* deadline warnings of one round */
#define INSP_WARNING_LEN  200              /* bytes of one warning */
#define INSP_ERROR_LEN    CL_ROW_ERROR_LEN /* bytes of one row error */
#define INSP_FRAME_SLACK  64               /* frame bytes kept free for the reply's own encoding */

typedef Closeloop__Meta pb_meta_t;

/* cl_sql_meta reads a record's first four columns: id, version, created_ms, updated_ms. */
#define INSP_META_FIRST(stmt)                                                                      \
    (CL_COL(stmt, id) == 0 && CL_COL(stmt, version) == 1 && CL_COL(stmt, created_ms) == 2 &&       \
     CL_COL(stmt, updated_ms) == 3)
_Static_assert(INSP_META_FIRST(insp_round_list), "a round's columns begin with its Meta");
_Static_assert(INSP_META_FIRST(insp_handover_record), "a record's columns begin with its Meta");

/* ------------------------------------------------------------------ rounds */

/* The months after move-in of a check round (check3m: 3). */
static int check_months(Closeloop__RoundKind k) {
    switch (k) {
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK3M: return 3;
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK11M: return 11;
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK23M: return 23;
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK35M: return 35;
    default: return 0;
    }
}

typedef struct round_slot {
    Closeloop__Round rec;
    pb_meta_t meta;
    char *warnings[INSP_WARNINGS_MAX];
    char text[INSP_WARNINGS_MAX][INSP_WARNING_LEN];
} round_slot_t;

static void round_warn(round_slot_t *s, const char *fmt, ...) CL_PRINTF(2, 3);
static void round_warn(round_slot_t *s, const char *fmt, ...) {
    if (s->rec.n_warnings == INSP_WARNINGS_MAX) return;
    char *t = s->text[s->rec.n_warnings];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, INSP_WARNING_LEN, fmt, ap);
    va_end(ap);
    s->warnings[s->rec.n_warnings++] = t;
}

/* The seeds' deadlines, counted from move-in (DOMAIN.md section 1): mock round 1 starts
 * 3-6 months before, its summary at least 2 months before; round 2 done and round 3
 * held at least 30 days before; handover on or after move-in; the checks after it. No
 * warning when move-in or the date concerned is not set. */
static void round_warnings(round_slot_t *s, const char *start, const char *end,
                           const char *move_in) {
    if (!cl_date_valid(move_in)) return;
    int64_t mi = cl_date_days(move_in);
    bool has_start = cl_date_valid(start), has_end = cl_date_valid(end);
    const char *last = has_end ? end : has_start ? start : NULL; /* when the round is done */
    const char *first = has_start ? start : has_end ? end : NULL;
    switch (s->rec.kind) {
    case CLOSELOOP__ROUND_KIND__ROUND_MOCK1:
        if (has_start && cl_date_days(start) > cl_date_add_months(move_in, -3))
            round_warn(s,
                       "round 1 should start 3-6 months before move-in (%s): planned %s is "
                       "too late",
                       move_in, start);
        else if (has_start && cl_date_days(start) < cl_date_add_months(move_in, -6))
            round_warn(s,
                       "round 1 should start 3-6 months before move-in (%s): planned %s is "
                       "too early",
                       move_in, start);
        if (has_end && cl_date_days(end) > cl_date_add_months(move_in, -2))
            round_warn(s,
                       "round 1's summary should be at least 2 months before move-in (%s): "
                       "planned %s is too late",
                       move_in, end);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_MOCK2:
        if (last && cl_date_days(last) > mi - 30)
            round_warn(s,
                       "round 2 should be done at least 30 days before move-in (%s): planned "
                       "%s is too late",
                       move_in, last);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_MOCK3:
        if (last && cl_date_days(last) > mi - 30)
            round_warn(s,
                       "round 3 should be at least 30 days before move-in (%s): planned %s is "
                       "too late",
                       move_in, last);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_HANDOVER:
        if (first && cl_date_days(first) < mi)
            round_warn(s, "handover should be on or after move-in (%s): planned %s is too early",
                       move_in, first);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK3M:
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK11M:
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK23M:
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK35M:
        if (first && cl_date_days(first) <= mi)
            round_warn(s,
                       "the %d-month check should be planned after move-in (%s): planned %s "
                       "is too early",
                       check_months(s->rec.kind), move_in, first);
        break;
    default: break;
    }
}

/* Round from a row of insp_round_list (or of insp_round_create, whose columns begin with
 * the same: @columns-of). */
static ProtobufCMessage *round_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    round_slot_t *s = slot;
    closeloop__round__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.project_id = cl_sql_i64(res, row, CL_COL(insp_round_list, project_id));
    s->rec.kind = cl_round_kind_parse(cl_sql_text(res, row, CL_COL(insp_round_list, kind)));
    s->rec.planned_start = PQgetvalue(res, row, CL_COL(insp_round_list, planned_start));
    s->rec.planned_end = PQgetvalue(res, row, CL_COL(insp_round_list, planned_end));
    s->rec.department = PQgetvalue(res, row, CL_COL(insp_round_list, department));
    s->rec.status = cl_round_status_parse(cl_sql_text(res, row, CL_COL(insp_round_list, status)));
    s->rec.warnings = s->warnings;
    round_warnings(s, s->rec.planned_start, s->rec.planned_end,
                   cl_sql_text(res, row, CL_COL(insp_round_list, move_in_date)));
    return &s->rec.base;
}

/* A created round, with its deadline warnings logged (the list does not log them). */
static ProtobufCMessage *round_created_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                            int row) {
    round_slot_t *s = slot;
    ProtobufCMessage *rec = round_fill(slot, c, res, row);
    for (size_t i = 0; i < s->rec.n_warnings; i++) {
        char q[2 * INSP_WARNING_LEN];
        cl_log_warn("round_deadline_warning", "user=%lld project=%lld round=%s text=%s",
                    (long long)c->session.user_id, (long long)s->rec.project_id,
                    cl_round_kind_name(s->rec.kind), cl_log_quote(s->warnings[i], q, sizeof q));
    }
    return rec;
}

static const cl_call_kind_t round_kind =
    CL_CALL_KIND(ROUND, round_page, round_slot_t, round_fill, NULL);

static const cl_call_kind_t round_created_kind = {
    .reply_type = CL_MSG_ROUND,
    .slot_size = sizeof(round_slot_t),
    .fill = round_created_fill,
};

void cl_insp_round_create(cl_req_t *req) {
    const cl_pb_round_create_t *m = (const cl_pb_round_create_t *)req->msg;
    const char *kind = cl_round_kind_name(m->kind);
    if (!cl_req_need_text(req, "idempotency_key", m->idempotency_key, true, CL_LIM_KEY_CHARS) ||
        !cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "department", m->department, false, CL_LIM_DEPARTMENT_CHARS))
        return;
    if (!kind) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "kind", CL_DOM_ROUND_KIND));
        return;
    }
    if (m->kind == CLOSELOOP__ROUND_KIND__ROUND_WARRANTY) {
        /* one per project, made by the first warranty report (docs/WARRANTY.md) */
        cl_req_fail(req, CL_EINVAL, "the warranty round is created by the first warranty add");
        return;
    }
    if ((*m->planned_start && !cl_req_need_date(req, "planned_start", m->planned_start)) ||
        (*m->planned_end && !cl_req_need_date(req, "planned_end", m->planned_end)))
        return;
    if (*m->planned_start && *m->planned_end && strcmp(m->planned_end, m->planned_start) < 0) {
        cl_req_fail(req, CL_EINVAL, "planned_end %s is before planned_start %s", m->planned_end,
                    m->planned_start);
        return;
    }
    char taken[64];
    snprintf(taken, sizeof taken, "project already has a %s round", kind);
    cl_call_t *c = cl_call_create_new(req, &round_created_kind, m->idempotency_key, taken);
    if (!c) return; /* answered */
    char project[24];
    const cl_call_stmt_t st = CL_STMT(insp_round_create, CL_CALL_SCOPE(c), m->idempotency_key,
                                      cl_sql_int_param(project, m->project_id), kind,
                                      *m->planned_start ? m->planned_start : NULL,
                                      *m->planned_end ? m->planned_end : NULL, m->department);
    cl_call_run(c, true, &st, 1, cl_call_one_done);
}

void cl_insp_round_list(cl_req_t *req) {
    const cl_pb_round_list_req_t *m = (const cl_pb_round_list_req_t *)req->msg;
    CL_PROJECT_LIST(req, m->project_id, insp_round_list, &round_kind);
}

/* ------------------------------------------------------------------ items */

/* What is wrong with one item, into out ("" when nothing). */
static void item_check(const cl_pb_item_t *it, char *out, size_t n) {
    const char *why;
    out[0] = '\0';
    if (!cl_uuid_valid(it->item_id))
        snprintf(out, n, "item_id must be a UUID (8-4-4-4-12 hex digits)");
    else if (it->project_id <= 0)
        snprintf(out, n, "project_id is required");
    else if (cl_text_why(out, n, "unit", it->unit, true, CL_LIM_UNIT_NUMBER_CHARS))
        return;
    else if (!cl_round_kind_name(it->round))
        cl_domain_must_be(out, n, "round", CL_DOM_ROUND_KIND);
    else if (it->round == CLOSELOOP__ROUND_KIND__ROUND_WARRANTY)
        snprintf(out, n, "warranty reports are taken in by warranty add, with their owner");
    else if (!cl_date_valid(it->inspected_on))
        snprintf(out, n, "inspected_on must be a date written YYYY-MM-DD");
    else if (cl_text_why(out, n, "inspector", it->inspector, false, CL_LIM_INSPECTOR_CHARS) ||
             cl_text_why(out, n, "location", it->location, true, CL_LIM_LOCATION_CHARS))
        return;
    else if (cl_text_why(out, n, "category", it->category, true, CL_LIM_TRADE_ALIAS_CHARS))
        return;
    else if (cl_text_why(out, n, "description", it->description, true, CL_LIM_DESCRIPTION_CHARS))
        return;
    else if (!cl_severity_name(it->severity))
        cl_domain_must_be(out, n, "severity", CL_DOM_SEVERITY);
    else if (*it->found_again_of && !cl_uuid_valid(it->found_again_of))
        snprintf(out, n, "found_again_of must be empty or a UUID");
    else if (strcasecmp(it->found_again_of, it->item_id) == 0)
        snprintf(out, n, "an item cannot be found again of itself");
    else if (cl_text_why(out, n, "case_code", it->case_code, false, CL_LIM_CODE_CHARS))
        return;
    else if (it->n_photos > CL_LIM_ITEM_PHOTOS)
        snprintf(out, n, "at most %d photos per item, not %zu", CL_LIM_ITEM_PHOTOS, it->n_photos);
    for (size_t i = 0; !out[0] && i < it->n_photos; i++)
        if ((why = cl_photo_problem(it->photos[i]))) snprintf(out, n, "photo %zu %s", i + 1, why);
}

/* The line an item is reported on: its line in the client's file, else its position. */
static uint32_t item_line(const cl_pb_item_batch_t *m, size_t i) {
    return m->items[i]->line ? m->items[i]->line : (uint32_t)(i + 1);
}

/* Item ids compare without case (a UUID may come in either). */
static int item_id_order(const void *a, const void *b) {
    return strcasecmp(((const cl_pb_item_t *)a)->item_id, ((const cl_pb_item_t *)b)->item_id);
}

/* A batch being checked, for item_repeated. */
typedef struct items_check {
    const cl_pb_item_batch_t *m;
    char *errs;
    long repeats; /* items that became bad as repeats */
} items_check_t;

/* Item i repeats the id of item first, which is kept. */
static void item_repeated(void *ctx, size_t i, size_t first) {
    items_check_t *x = ctx;
    char *e = x->errs + i * INSP_ERROR_LEN;
    if (*e) return;
    snprintf(e, INSP_ERROR_LEN, "item_id %s is already on line %u", x->m->items[i]->item_id,
             item_line(x->m, first));
    x->repeats++;
}

/* Checks every item into errs (n_items messages of INSP_ERROR_LEN, "" = fine); returns
 * how many are bad, or -1 when out of memory. */
static long items_check(const cl_pb_item_batch_t *m, char *errs) {
    long bad = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        item_check(m->items[i], errs + i * INSP_ERROR_LEN, INSP_ERROR_LEN);
        bad += errs[i * INSP_ERROR_LEN] != '\0';
    }
    items_check_t x = {m, errs, 0};
    if (cl_each_repeat((const void *const *)m->items, m->n_items, item_id_order, item_repeated,
                       &x) != CL_OK)
        return -1;
    return bad + x.repeats;
}

/* Rejects the batch: applied=false and one RowError per bad item (cl_row_errors_t). */
static void items_reject(cl_req_t *req, const cl_pb_item_batch_t *m, char *errs, long bad) {
    cl_row_errors_t e;
    if (!cl_row_errors_init(&e, req, (size_t)bad)) return;
    for (size_t i = 0; i < m->n_items; i++)
        if (errs[i * INSP_ERROR_LEN])
            cl_row_errors_add(&e, item_line(m, i), errs + i * INSP_ERROR_LEN);
    cl_row_errors_finish(&e, "items");
    cl_pb_item_batch_result_t out = CLOSELOOP__ITEM_BATCH_RESULT__INIT;
    out.applied = false;
    out.n_errors = e.n;
    out.errors = e.ptrs;
    cl_req_reply(req, CL_MSG_ITEM_BATCH_RESULT, &out.base);
    cl_row_errors_free(&e);
}

/* A bad item's sentence, from the statement's reason code (accepted: what a category may
 * be on the item's project). */
static void item_sql_problem(const cl_pb_item_t *it, const char *bad, const char *accepted,
                             char *out, size_t n) {
    char ubuf[80];
    const char *unit = cl_utf8_clip(ubuf, sizeof ubuf, it->unit);
    if (strcmp(bad, "project") == 0)
        snprintf(out, n, "no such project %lld", (long long)it->project_id);
    else if (strcmp(bad, "unit") == 0)
        snprintf(out, n, "no such unit %s in project %lld", unit, (long long)it->project_id);
    else if (strcmp(bad, "ambiguous") == 0)
        snprintf(out, n, "unit number %s is used in more than one building of project %lld", unit,
                 (long long)it->project_id);
    else if (strcmp(bad, "category") == 0)
        snprintf(out, n, "category '%s' is not a trade of project %lld; use %s",
                 cl_utf8_clip(ubuf, sizeof ubuf, it->category), (long long)it->project_id,
                 accepted);
    else if (strcmp(bad, "taken") == 0)
        snprintf(out, n, "item_id %s is already used by an item of another unit", it->item_id);
    else if (strcmp(bad, "again") == 0)
        snprintf(out, n, "found_again_of %s is not an item of unit %s", it->found_again_of, unit);
    else if (strcmp(bad, "case") == 0)
        snprintf(out, n, "case_code '%s' is not an active case of the knowledge base",
                 cl_utf8_clip(ubuf, sizeof ubuf, it->case_code));
    else
        snprintf(out, n, "rejected (%s)", bad);
}

/* The warnings of a batch: items dated outside their round's planned dates (recorded
 * anyway). Each is a RowError with the item's line; as many as fit in budget bytes, the
 * rest counted in a last one. */
typedef struct item_warnings {
    Closeloop__RowError *rows;
    Closeloop__RowError **ptrs;
    char (*text)[INSP_WARNING_LEN];
    size_t n, bytes;
    long left_out;
    char more[80];
} item_warnings_t;

static void warnings_free(item_warnings_t *w) {
    free(w->rows);
    free(w->ptrs);
    free(w->text);
    memset(w, 0, sizeof *w);
}

/* Reads the warnings of res (insp_item_record's rows) into w, at most budget bytes; false
 * when out of memory. */
static bool warnings_read(const cl_pb_item_batch_t *m, const PGresult *res, size_t budget,
                          item_warnings_t *w) {
    memset(w, 0, sizeof *w);
    int rows = PQntuples(res);
    w->rows = calloc((size_t)rows + 1, sizeof *w->rows);
    w->ptrs = calloc((size_t)rows + 1, sizeof *w->ptrs);
    w->text = calloc((size_t)rows + 1, sizeof *w->text);
    if (!w->rows || !w->ptrs || !w->text) return false;
    for (int row = 0; row < rows; row++) {
        size_t i = (size_t)cl_sql_i64(res, row, CL_COL(insp_item_record, ord)) - 1;
        if (i >= m->n_items || cl_sql_isnull(res, row, CL_COL(insp_item_record, planned_start)))
            continue;
        const cl_pb_item_t *it = m->items[i];
        const char *start = cl_sql_text(res, row, CL_COL(insp_item_record, planned_start));
        const char *end = cl_sql_text(res, row, CL_COL(insp_item_record, planned_end));
        const char *kind = cl_round_kind_name(it->round), *label = cl_round_kind_label(it->round);
        char *t = w->text[w->n];
        if (*start && *end)
            snprintf(t, INSP_WARNING_LEN,
                     "inspected_on %s is outside the planned dates of round %s (%s), %s to %s",
                     it->inspected_on, kind, label, start, end);
        else if (*start)
            snprintf(t, INSP_WARNING_LEN,
                     "inspected_on %s is before round %s (%s) is planned to start, on %s",
                     it->inspected_on, kind, label, start);
        else
            snprintf(t, INSP_WARNING_LEN,
                     "inspected_on %s is after round %s (%s) is planned to end, on %s",
                     it->inspected_on, kind, label, end);
        Closeloop__RowError *e = &w->rows[w->n];
        closeloop__row_error__init(e);
        e->line = item_line(m, i);
        e->message = t;
        size_t size = protobuf_c_message_get_packed_size(&e->base) + 6;
        if (w->left_out || w->bytes + size > budget) {
            w->left_out++;
            continue;
        }
        w->bytes += size;
        w->ptrs[w->n++] = e;
    }
    if (w->left_out) {
        Closeloop__RowError *e = &w->rows[w->n];
        closeloop__row_error__init(e);
        snprintf(w->more, sizeof w->more, "%ld more items dated outside their round's plan",
                 w->left_out);
        e->message = w->more;
        w->ptrs[w->n++] = e;
        w->bytes += sizeof w->more + 8;
    }
    return true;
}

/* The duplicate flags of a recorded batch: new items that probably repeat an earlier
 * item of the same unit, round and trade (insp_item_record's dup_* columns). As many as
 * fit in budget bytes are listed; flagged counts them all. Strings point into res. */
typedef struct item_dups {
    Closeloop__DuplicateFlag *rows;
    Closeloop__DuplicateFlag **ptrs;
    size_t n, bytes;
    uint32_t flagged;
} item_dups_t;

static void dups_free(item_dups_t *d) {
    free(d->rows);
    free(d->ptrs);
    memset(d, 0, sizeof *d);
}

static bool dups_read(const cl_pb_item_batch_t *m, const PGresult *res, size_t budget,
                      item_dups_t *d) {
    memset(d, 0, sizeof *d);
    int rows = PQntuples(res);
    d->rows = calloc((size_t)rows + 1, sizeof *d->rows);
    d->ptrs = calloc((size_t)rows + 1, sizeof *d->ptrs);
    if (!d->rows || !d->ptrs) return false;
    for (int row = 0; row < rows; row++) {
        size_t i = (size_t)cl_sql_i64(res, row, CL_COL(insp_item_record, ord)) - 1;
        if (i >= m->n_items || cl_sql_isnull(res, row, CL_COL(insp_item_record, dup_of))) continue;
        d->flagged++;
        Closeloop__DuplicateFlag *f = &d->rows[d->n];
        closeloop__duplicate_flag__init(f);
        f->line = item_line(m, i);
        f->item_id = m->items[i]->item_id;
        if (!cl_sql_isnull(res, row, CL_COL(insp_item_record, number)))
            f->number = cl_sql_i64(res, row, CL_COL(insp_item_record, number));
        f->dup_of = (char *)cl_sql_text(res, row, CL_COL(insp_item_record, dup_of));
        if (!cl_sql_isnull(res, row, CL_COL(insp_item_record, dup_number)))
            f->dup_of_number = cl_sql_i64(res, row, CL_COL(insp_item_record, dup_number));
        f->similarity =
            (float)strtod(cl_sql_text(res, row, CL_COL(insp_item_record, dup_similarity)), NULL);
        size_t size = protobuf_c_message_get_packed_size(&f->base) + 6;
        if (d->bytes + size > budget) continue;
        d->bytes += size;
        d->ptrs[d->n++] = f;
    }
    return true;
}

/* The reply to a recorded batch: res the rows of insp_item_record, one per item: its
 * ticket (ticket_rows' columns, NULL when none), ord, bad, new, accepted, planned dates.
 * Bad rows mean nothing changed: the batch is rejected with their sentences. */
static void items_reply(cl_call_t *c, const PGresult *res) {
    const cl_pb_item_batch_t *m = (const cl_pb_item_batch_t *)c->req->msg;
    int rows = PQntuples(res);
    long bad = 0;
    for (int row = 0; row < rows; row++)
        bad += !cl_sql_isnull(res, row, CL_COL(insp_item_record, bad));
    if (bad > 0) {
        char *errs = calloc(m->n_items, INSP_ERROR_LEN);
        if (!errs) {
            cl_req_fail(c->req, CL_EINTERNAL, "out of memory while reporting bad items");
            return;
        }
        for (int row = 0; row < rows; row++) {
            size_t i = (size_t)cl_sql_i64(res, row, CL_COL(insp_item_record, ord)) - 1;
            if (cl_sql_isnull(res, row, CL_COL(insp_item_record, bad)) || i >= m->n_items) continue;
            item_sql_problem(m->items[i], cl_sql_text(res, row, CL_COL(insp_item_record, bad)),
                             cl_sql_text(res, row, CL_COL(insp_item_record, accepted)),
                             errs + i * INSP_ERROR_LEN, INSP_ERROR_LEN);
        }
        items_reject(c->req, m, errs, bad);
        free(errs);
        return;
    }
    /* Warnings first: the tickets get the rest of the frame. */
    size_t budget = cl_req_config(c->req)->max_frame - INSP_FRAME_SLACK - 128, bytes = 0;
    item_warnings_t w;
    if (!warnings_read(m, res, budget / 2, &w)) {
        warnings_free(&w);
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending warnings");
        return;
    }
    budget -= w.bytes;
    if (m->check_only) { /* only checked: nothing was written */
        cl_pb_item_batch_result_t out = CLOSELOOP__ITEM_BATCH_RESULT__INIT;
        out.n_warnings = w.n;
        out.warnings = w.ptrs;
        cl_req_reply(c->req, CL_MSG_ITEM_BATCH_RESULT, &out.base);
        warnings_free(&w);
        return;
    }
    cl_pb_ticket_t *tickets = calloc((size_t)rows + 1, sizeof *tickets);
    cl_pb_ticket_t **ptrs = calloc((size_t)rows + 1, sizeof *ptrs);
    if (!tickets || !ptrs) {
        free(tickets);
        free(ptrs);
        warnings_free(&w);
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending tickets");
        return;
    }
    cl_pb_item_batch_result_t out = CLOSELOOP__ITEM_BATCH_RESULT__INIT;
    item_dups_t dups;
    if (!dups_read(m, res, budget / 4, &dups)) {
        dups_free(&dups);
        free(tickets);
        free(ptrs);
        warnings_free(&w);
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending duplicates");
        return;
    }
    budget -= dups.bytes;
    out.n_duplicates = dups.n;
    out.duplicates = dups.ptrs;
    out.duplicates_flagged = dups.flagged;
    /* The tickets travel in the one reply frame: as many as fit (a chunk of short items
     * always fits; the counts are complete either way). An item without a ticket row
     * counts as unchanged. */
    bool cut = false;
    for (int row = 0; row < rows; row++) {
        if (cl_sql_isnull(res, row, CL_COL(insp_item_record, key_id))) continue;
        cl_pb_ticket_t *t = &tickets[out.n_tickets];
        cl_ticket_row_fill(t, res, row, 0);
        if (cl_sql_text(res, row, CL_COL(insp_item_record, new))[0] == 't') {
            out.inserted++;
            if (t->state == CLOSELOOP__TICKET_STATE__TICKET_OPEN)
                out.dispatched++;
            else
                out.manual_dispatch++;
        }
        size_t size = protobuf_c_message_get_packed_size(&t->base) + 6;
        if (cut || bytes + size > budget) {
            cut = true;
            continue;
        }
        bytes += size;
        ptrs[out.n_tickets++] = t;
    }
    out.unchanged = (uint32_t)m->n_items - out.inserted;
    if (cut)
        cl_log_warn("item_batch_tickets_cut", "user=%lld items=%zu tickets_sent=%zu",
                    (long long)c->session.user_id, m->n_items, out.n_tickets);
    out.applied = true;
    out.tickets = ptrs;
    out.n_warnings = w.n;
    out.warnings = w.ptrs;
    cl_req_reply(c->req, CL_MSG_ITEM_BATCH_RESULT, &out.base);
    warnings_free(&w);
    dups_free(&dups);
    free(ptrs);
    free(tickets);
}

static void items_recorded(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, 0);
    if (res) items_reply(c, res);
    cl_call_free(c);
}

/* The text parameters of insp_item_record that are parallel arrays, in its order. */
enum {
    A_ID,
    A_PROJECT,
    A_UNIT,
    A_ROUND,
    A_ON,
    A_INSPECTOR,
    A_LOCATION,
    A_CATEGORY,
    A_DESC,
    A_SEVERITY,
    A_AGAIN,
    A_PHOTO_ORD,
    A_PHOTO_MIME,
    A_CASE,
    A__COUNT
};

/* A batch as insp_item_record's parameters: text array literals, and the photos' hashes
 * and bytes as binary bytea[]. */
typedef struct item_params {
    char *text[A__COUNT];
    char *sha, *data; /* binary bytea[] */
    int sha_len, data_len;
} item_params_t;

static void item_params_free(item_params_t *p) {
    for (int k = 0; k < A__COUNT; k++)
        free(p->text[k]);
    free(p->sha);
    free(p->data);
}

_Static_assert(CL_SHA256_LEN == CL_LIM_PHOTO_SHA256_BYTES, "a photo is stored under its SHA-256");

/* The photos' hashes and bytes as binary arrays, in the order their positions are
 * listed (item by item); false when out of memory (or the hash failed). */
static bool photo_arrays(const cl_pb_item_batch_t *m, size_t n, item_params_t *p) {
    uint8_t *hashes = malloc(n ? n * CL_LIM_PHOTO_SHA256_BYTES : 1);
    const uint8_t **sha = calloc(n ? n : 1, sizeof *sha), **data = calloc(n ? n : 1, sizeof *data);
    size_t *sha_lens = calloc(n ? n : 1, sizeof *sha_lens);
    size_t *data_lens = calloc(n ? n : 1, sizeof *data_lens);
    bool ok = hashes && sha && data && sha_lens && data_lens;
    size_t k = 0;
    for (size_t i = 0; ok && i < m->n_items; i++) {
        for (size_t j = 0; ok && j < m->items[i]->n_photos; j++, k++) {
            const cl_pb_photo_t *ph = m->items[i]->photos[j];
            uint8_t *md = hashes + k * CL_LIM_PHOTO_SHA256_BYTES;
            ok = cl_sha256(ph->data.data, ph->data.len, md) == CL_OK;
            sha[k] = md;
            sha_lens[k] = CL_LIM_PHOTO_SHA256_BYTES;
            data[k] = ph->data.data;
            data_lens[k] = ph->data.len;
        }
    }
    ok = ok && (p->sha = cl_sqlbin_bytea_array(sha, sha_lens, n, &p->sha_len)) != NULL;
    ok = ok && (p->data = cl_sqlbin_bytea_array(data, data_lens, n, &p->data_len)) != NULL;
    free(hashes);
    free(sha);
    free(data);
    free(sha_lens);
    free(data_lens);
    return ok;
}

/* Fills p from the batch; false when out of memory. */
static bool item_params(const cl_pb_item_batch_t *m, item_params_t *p) {
    cl_sqlbuf_t b[A__COUNT];
    memset(b, 0, sizeof b);
    memset(p, 0, sizeof *p);
    for (int k = 0; k < A__COUNT; k++)
        cl_sqlbuf_array_open(&b[k]);
    size_t photos = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        const cl_pb_item_t *it = m->items[i];
        cl_sqlbuf_array_text(&b[A_ID], it->item_id);
        cl_sqlbuf_array_int(&b[A_PROJECT], it->project_id);
        cl_sqlbuf_array_text(&b[A_UNIT], it->unit);
        cl_sqlbuf_array_text(&b[A_ROUND], cl_round_kind_name(it->round));
        cl_sqlbuf_array_text(&b[A_ON], it->inspected_on);
        cl_sqlbuf_array_text(&b[A_INSPECTOR], it->inspector);
        cl_sqlbuf_array_text(&b[A_LOCATION], it->location);
        cl_sqlbuf_array_text(&b[A_CATEGORY], it->category);
        cl_sqlbuf_array_text(&b[A_DESC], it->description);
        cl_sqlbuf_array_text(&b[A_SEVERITY], cl_severity_name(it->severity));
        cl_sqlbuf_array_text(&b[A_AGAIN], *it->found_again_of ? it->found_again_of : NULL);
        cl_sqlbuf_array_text(&b[A_CASE], *it->case_code ? it->case_code : NULL);
        for (size_t k = 0; k < it->n_photos; k++, photos++) {
            cl_sqlbuf_array_int(&b[A_PHOTO_ORD], (int64_t)(i + 1));
            cl_sqlbuf_array_text(&b[A_PHOTO_MIME], it->photos[k]->mime);
        }
    }
    bool ok = true;
    for (int k = 0; k < A__COUNT; k++)
        ok &= (p->text[k] = cl_sqlbuf_array_close(&b[k])) != NULL;
    return photo_arrays(m, photos, p) && ok;
}

/* A batch in which the daemon's own checks found bad items: its good items are still
 * checked by insp_item_record (check only, nothing written), so that the reply lists the
 * database's errors about them too and one import run finds every bad line. */
typedef struct items_precheck {
    cl_call_t base;      /* first: the call */
    char *errs;          /* n_items messages of INSP_ERROR_LEN ("" = fine) */
    size_t *good;        /* the batch position of each good item, ngood of them */
    cl_pb_item_t **view; /* the good items, as the batch checked */
    size_t ngood;
    long bad;
} items_precheck_t;

static void precheck_free(items_precheck_t *x) {
    free(x->errs);
    free(x->good);
    free(x->view);
    cl_call_free(&x->base);
}

static void items_prechecked(void *arg, const cl_db_result_t *r) {
    items_precheck_t *x = arg;
    const cl_pb_item_batch_t *m = (const cl_pb_item_batch_t *)x->base.req->msg;
    const PGresult *res = cl_call_rows(&x->base, r, 0);
    if (res) {
        for (int row = 0; row < PQntuples(res); row++) {
            size_t k = (size_t)cl_sql_i64(res, row, CL_COL(insp_item_record, ord)) - 1;
            if (k >= x->ngood || cl_sql_isnull(res, row, CL_COL(insp_item_record, bad))) continue;
            size_t i = x->good[k];
            item_sql_problem(m->items[i], cl_sql_text(res, row, CL_COL(insp_item_record, bad)),
                             cl_sql_text(res, row, CL_COL(insp_item_record, accepted)),
                             x->errs + i * INSP_ERROR_LEN, INSP_ERROR_LEN);
            x->bad++;
        }
        items_reject(x->base.req, m, x->errs, x->bad);
    }
    precheck_free(x);
}

/* Runs the check of the good items of m; takes errs (bad of them set) and answers. */
static void items_precheck(cl_req_t *req, const cl_pb_item_batch_t *m, char *errs, long bad) {
    items_precheck_t *x = cl_call_new(req, sizeof *x);
    if (!x) { /* answered */
        free(errs);
        return;
    }
    x->errs = errs;
    x->bad = bad;
    x->good = calloc(m->n_items, sizeof *x->good);
    x->view = calloc(m->n_items, sizeof *x->view);
    item_params_t p;
    memset(&p, 0, sizeof p);
    bool ok = x->good && x->view;
    for (size_t i = 0; ok && i < m->n_items; i++) {
        if (errs[i * INSP_ERROR_LEN]) continue;
        x->good[x->ngood] = i;
        x->view[x->ngood++] = m->items[i];
    }
    cl_pb_item_batch_t v = *m;
    v.n_items = x->ngood;
    v.items = x->view;
    if (!ok || !item_params(&v, &p)) {
        item_params_free(&p);
        items_reject(req, m, errs, bad); /* what the daemon's checks found, at least */
        precheck_free(x);
        return;
    }
    char user[24];
    int lengths[CL_NPARAMS(insp_item_record)] = {0};
    lengths[16] = p.sha_len;  /* $17 */
    lengths[18] = p.data_len; /* $19 */
    const cl_call_stmt_t st = CL_STMT_BIN(
        insp_item_record, lengths, CL_CALL_SCOPE(&x->base), p.text[A_ID], p.text[A_PROJECT],
        p.text[A_UNIT], p.text[A_ROUND], p.text[A_ON], p.text[A_INSPECTOR], p.text[A_LOCATION],
        p.text[A_CATEGORY], p.text[A_DESC], p.text[A_SEVERITY], p.text[A_AGAIN],
        p.text[A_PHOTO_ORD], p.sha, p.text[A_PHOTO_MIME], p.data, cl_sql_bool_param(true),
        cl_sql_int_param(user, x->base.session.user_id), x->base.session.username, p.text[A_CASE]);
    cl_call_run(&x->base, true, &st, 1, items_prechecked);
    item_params_free(&p);
}

void cl_insp_item_record(cl_req_t *req) {
    const cl_pb_item_batch_t *m = (const cl_pb_item_batch_t *)req->msg;
    if (m->n_items == 0 || m->n_items > CL_LIM_ITEM_BATCH) {
        cl_req_fail(req, CL_EINVAL, "a batch holds 1 to %d items, not %zu", CL_LIM_ITEM_BATCH,
                    m->n_items);
        return;
    }
    char *errs = calloc(m->n_items, INSP_ERROR_LEN);
    long bad = errs ? items_check(m, errs) : -1;
    if (bad > 0 && (size_t)bad < m->n_items) {
        items_precheck(req, m, errs, bad); /* takes errs */
        return;
    }
    if (bad > 0) items_reject(req, m, errs, bad);
    free(errs);
    if (bad < 0) cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
    if (bad != 0) return;
    item_params_t p;
    if (!item_params(m, &p)) {
        item_params_free(&p);
        cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
        return;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (c) {
        char user[24];
        int lengths[CL_NPARAMS(insp_item_record)] = {0};
        lengths[16] = p.sha_len;  /* $17 */
        lengths[18] = p.data_len; /* $19 */
        const cl_call_stmt_t st[] = {
            CL_STMT_BIN(insp_item_record, lengths, CL_CALL_SCOPE(c), p.text[A_ID],
                        p.text[A_PROJECT], p.text[A_UNIT], p.text[A_ROUND], p.text[A_ON],
                        p.text[A_INSPECTOR], p.text[A_LOCATION], p.text[A_CATEGORY], p.text[A_DESC],
                        p.text[A_SEVERITY], p.text[A_AGAIN], p.text[A_PHOTO_ORD], p.sha,
                        p.text[A_PHOTO_MIME], p.data, cl_sql_bool_param(m->check_only),
                        cl_sql_int_param(user, c->session.user_id), c->session.username,
                        p.text[A_CASE]),
        };
        cl_call_run(c, true, st, 1, items_recorded);
    }
    item_params_free(&p);
}

/* ------------------------------------------------------------------ handover */

typedef struct record_slot {
    cl_pb_inspection_record_t rec;
    pb_meta_t meta;
} record_slot_t;

/* InspectionRecord from the row of insp_handover_record. */
static ProtobufCMessage *record_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    record_slot_t *s = slot;
    cl_pb_inspection_record_t *rec = &s->rec;
    closeloop__inspection_record__init(rec);
    cl_sql_meta(&s->meta, res, row);
    rec->meta = &s->meta;
#define COL(name) CL_COL(insp_handover_record, name)
    rec->project_id = cl_sql_i64(res, row, COL(project_id));
    rec->unit = PQgetvalue(res, row, COL(unit));
    rec->round = cl_round_kind_parse(cl_sql_text(res, row, COL(round)));
    rec->inspected_on = PQgetvalue(res, row, COL(inspected_on));
    rec->inspector = PQgetvalue(res, row, COL(inspector));
    rec->outcome = cl_outcome_parse(cl_sql_text(res, row, COL(outcome)));
    rec->not_taken_reason = PQgetvalue(res, row, COL(not_taken_reason));
    rec->keys_handed = (uint32_t)cl_sql_i64(res, row, COL(keys_handed));
    rec->water_reading = PQgetvalue(res, row, COL(water_reading));
    rec->power_reading = PQgetvalue(res, row, COL(power_reading));
    rec->gas_reading = PQgetvalue(res, row, COL(gas_reading));
    rec->signoff = cl_signoff_parse(cl_sql_text(res, row, COL(signoff)));
    rec->refusal_reason = PQgetvalue(res, row, COL(refusal_reason));
    rec->satisfaction = (uint32_t)cl_sql_i64(res, row, COL(satisfaction));
    rec->items = (uint32_t)cl_sql_i64(res, row, COL(items));
#undef COL
    return &rec->base;
}

static const cl_call_kind_t record_kind = {
    .reply_type = CL_MSG_INSPECTION_RECORD,
    .slot_size = sizeof(record_slot_t),
    .fill = record_fill,
};

/* Why a handover form is unacceptable, or NULL. */
static const char *form_problem(const cl_pb_handover_form_t *m) {
    if (*m->inspected_on && !cl_date_valid(m->inspected_on))
        return "inspected_on must be a date written YYYY-MM-DD";
    static char why[200]; /* loop thread only */
    if (!cl_outcome_name(m->outcome))
        return cl_domain_must_be(why, sizeof why, "outcome", CL_DOM_HANDOVER_OUTCOME);
    if (m->outcome == CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER && !*m->not_taken_reason)
        return "a unit not taken over needs not_taken_reason";
    if (m->signoff == CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED && !*m->refusal_reason)
        return "a refused signoff needs refusal_reason";
    if ((int)m->signoff != 0 && !cl_signoff_name(m->signoff))
        return cl_domain_must_be(why, sizeof why, "signoff", CL_DOM_SIGNOFF);
    if (m->keys_handed > CL_LIM_KEYS_HANDED) {
        snprintf(why, sizeof why, "keys_handed must be between 0 and %d", CL_LIM_KEYS_HANDED);
        return why;
    }
    if (m->satisfaction > CL_LIM_SATISFACTION) {
        snprintf(why, sizeof why, "satisfaction must be between 1 and %d (0: not given)",
                 CL_LIM_SATISFACTION);
        return why;
    }
    if (cl_utf8_chars(m->water_reading) > CL_LIM_READING_CHARS ||
        cl_utf8_chars(m->power_reading) > CL_LIM_READING_CHARS ||
        cl_utf8_chars(m->gas_reading) > CL_LIM_READING_CHARS)
        return "meter readings are at most 20 characters";
    return NULL;
}

/* A form with an idempotency key: a duplicate claim means the same user sent it before,
 * and the answer is the unit's handover record as it is now (insp_handover_replay). */
static void handover_recorded(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    if (!cl_request_key_replayed(r)) {
        cl_call_one_done(c, r);
        return;
    }
    const cl_pb_handover_form_t *m = (const cl_pb_handover_form_t *)c->req->msg;
    char project[24], user[24], type[24];
    const cl_call_stmt_t st =
        CL_STMT(insp_handover_replay, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                m->unit, cl_sql_int_param(user, c->session.user_id), m->idempotency_key,
                cl_sql_int_param(type, CL_MSG_HANDOVER_RECORD_REQ));
    cl_call_run(c, false, &st, 1, cl_call_one_done);
}

void cl_insp_handover_record(cl_req_t *req) {
    const cl_pb_handover_form_t *m = (const cl_pb_handover_form_t *)req->msg;
    if (!cl_req_need_request_key(req, m->idempotency_key) ||
        !cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "unit", m->unit, true, CL_LIM_UNIT_NUMBER_CHARS) ||
        !cl_req_need_text(req, "inspector", m->inspector, false, CL_LIM_INSPECTOR_CHARS) ||
        !cl_req_need_text(req, "not_taken_reason", m->not_taken_reason, false,
                          CL_LIM_REASON_CHARS) ||
        !cl_req_need_text(req, "refusal_reason", m->refusal_reason, false, CL_LIM_REASON_CHARS))
        return;
    const char *why = form_problem(m);
    if (why) {
        cl_req_fail(req, CL_EINVAL, "%s", why);
        return;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->kind = &record_kind;
    snprintf(c->lost, sizeof c->lost,
             "the unit's handover record changed while it was being written; retry");
    bool taken = m->outcome != CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER;
    bool refused = m->signoff == CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED;
    char project[24], keys[24], sat[24], user[24], kuser[24], ktype[24];
    char target[256]; /* the key's record: "<project>/<unit>" (migration 019) */
    snprintf(target, sizeof target, "%lld/%s", (long long)m->project_id, m->unit);
    bool keyed = *m->idempotency_key != '\0';
    const char *key = keyed ? m->idempotency_key : NULL;
    const cl_call_stmt_t st[] = {
        CL_REQUEST_KEY_CLAIM(c, key, CL_MSG_HANDOVER_RECORD_REQ, target, kuser, ktype),
        CL_STMT(insp_handover_record, CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id),
                m->unit, *m->inspected_on ? m->inspected_on : NULL, m->inspector,
                cl_outcome_name(m->outcome), taken ? "" : m->not_taken_reason,
                cl_sql_int_param(keys, m->keys_handed), m->water_reading, m->power_reading,
                m->gas_reading, cl_signoff_name(m->signoff), refused ? m->refusal_reason : "",
                m->satisfaction ? cl_sql_int_param(sat, m->satisfaction) : NULL,
                cl_sql_int_param(user, c->session.user_id), key),
    };
    cl_call_run(c, true, st + !keyed, 2 - !keyed, keyed ? handover_recorded : cl_call_one_done);
}

static void handover_scheduled(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_rows(c, r, 0);
#define COL(name) CL_COL(insp_handover_schedule, name)
    if (!res) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->req, CL_EINTERNAL, "unexpected result shape for handover schedule");
    } else if (cl_sql_i64(res, 0, COL(project_found)) == 0) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
    } else if (cl_sql_i64(res, 0, COL(unknown)) > 0) {
        long long unknown = cl_sql_i64(res, 0, COL(unknown));
        cl_req_fail(c->req, CL_EINVAL, "no such unit%s in the project: %s%s; nothing scheduled",
                    unknown > 1 ? "s" : "", cl_sql_text(res, 0, COL(unknown_units)),
                    unknown > 10 ? " and more" : "");
    } else {
        cl_pb_ok_t ok = CLOSELOOP__OK__INIT;
        cl_req_reply(c->req, CL_MSG_OK, &ok.base);
    }
#undef COL
    cl_call_free(c);
}

void cl_insp_handover_schedule(cl_req_t *req) {
    const cl_pb_handover_schedule_t *m = (const cl_pb_handover_schedule_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_date(req, "date", m->date))
        return;
    if (m->n_units == 0 || m->n_units > CL_LIM_SCHEDULE_UNITS) {
        cl_req_fail(req, CL_EINVAL, "a schedule lists 1 to %d units, not %zu",
                    CL_LIM_SCHEDULE_UNITS, m->n_units);
        return;
    }
    cl_sqlbuf_t b;
    memset(&b, 0, sizeof b);
    cl_sqlbuf_array_open(&b);
    for (size_t i = 0; i < m->n_units; i++) {
        if (!*m->units[i] || cl_utf8_chars(m->units[i]) > CL_LIM_UNIT_NUMBER_CHARS) {
            free(b.p);
            cl_req_fail(req, CL_EINVAL, "unit numbers are 1 to %d characters",
                        CL_LIM_UNIT_NUMBER_CHARS);
            return;
        }
        cl_sqlbuf_array_text(&b, m->units[i]);
    }
    char *units = cl_sqlbuf_array_close(&b);
    if (!units) {
        cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
        return;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (c) {
        char project[24];
        const cl_call_stmt_t st = CL_STMT(insp_handover_schedule, CL_CALL_SCOPE(c),
                                          cl_sql_int_param(project, m->project_id), m->date, units);
        cl_call_run(c, true, &st, 1, handover_scheduled);
    }
    free(units);
}
