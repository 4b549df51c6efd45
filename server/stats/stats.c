/* stats.c - HQ statistics (StatsRequest -> StatsPage frames) and contractor scorecards
 * (ScorecardRequest -> Scorecard). The measures themselves are the SQL functions of
 * migration 020 (docs/STATS.md); this file checks the request, runs one batch of reads
 * (stats.sql) on the analytics pool and turns the rows into messages.
 *
 * A statistics answer is streamed: pages of at most CL_CALL_PAGE_MAX rows that fit in a
 * frame, the last one flagged LAST and carrying truncated (more than STATS_MAX_GROUPS
 * groups) and data_age_ms (how far the answering database is behind the primary). Reply
 * strings point into the PGresult; each page's messages are built in row slots and
 * cleared after it is packed. Runs on the loop thread; the db callbacks free the call. */
#include "dispatch.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_sql.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"

#define STATS_MAX_GROUPS  10000 /* groups one answer sends at most (docs/STATS.md) */
#define STATS_FRAME_SLACK 256   /* frame bytes kept free for the page's own fields */

typedef Closeloop__StatsRequest pb_stats_req_t;
typedef Closeloop__StatsRow pb_row_t;
typedef Closeloop__StatsKey pb_key_t;
typedef Closeloop__Figure pb_figure_t;
typedef Closeloop__ReasonCount pb_reason_t;
typedef Closeloop__ScorecardRequest pb_score_req_t;
typedef Closeloop__ScorecardRow pb_score_row_t;

#define SR(col) CL_COL(stats_rows, col)
#define SC(col) CL_COL(stats_scorecard, col)

/* ---- request checks ------------------------------------------------------------------ */

/* The SQL name of a grouping dimension: the proto value's name after "STATS_DIM_",
 * lowercased ("company" ... "week"), so the wire enum and cl_stats' p_g1/p_g2 words are
 * one list. Returns false for NONE and values the descriptor does not know. */
static bool dim_word(int dim, char out[24]) {
    const ProtobufCEnumValue *v =
        dim > 0 ? protobuf_c_enum_descriptor_get_value(&closeloop__stats_dim__descriptor, dim)
                : NULL;
    static const char prefix[] = "STATS_DIM_";
    if (!v || strncmp(v->name, prefix, sizeof prefix - 1) != 0) return false;
    const char *s = v->name + sizeof prefix - 1;
    size_t n = strlen(s);
    if (n == 0 || n >= 24) return false;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return true;
}

/* An optional record id filter: 0 (none) or a positive id. */
static CL_MUSTCHECK bool need_filter_id(cl_req_t *req, const char *field, int64_t id) {
    if (id >= 0) return true;
    cl_req_fail(req, CL_EINVAL, "%s must be 0 (no filter) or a record id", field);
    return false;
}

/* An optional day: "" (open) or YYYY-MM-DD. */
static CL_MUSTCHECK bool need_opt_date(cl_req_t *req, const char *field, const char *v) {
    return !v || !*v || cl_req_need_date(req, field, v);
}

/* The statistics filter and grouping, checked; the grouping words into g1, g2 ("": none).
 * Answers the request and returns false when something is wrong. */
static CL_MUSTCHECK bool stats_check(cl_req_t *req, const pb_stats_req_t *m, char g1[24],
                                     char g2[24]) {
    const Closeloop__StatsFilter *f = m->filter;
    g1[0] = g2[0] = '\0';
    if (m->n_group_by > 2) {
        cl_req_fail(req, CL_EINVAL, "group_by takes at most two dimensions");
        return false;
    }
    for (size_t i = 0; i < m->n_group_by; i++) {
        if (!dim_word(m->group_by[i], i == 0 ? g1 : g2)) {
            cl_req_fail(req, CL_EINVAL, "group_by holds an unknown dimension (%d)",
                        (int)m->group_by[i]);
            return false;
        }
    }
    if (m->n_group_by == 2 && m->group_by[0] == m->group_by[1]) {
        cl_req_fail(req, CL_EINVAL, "group_by names the same dimension twice");
        return false;
    }
    if (!f) return true;
    if (!need_filter_id(req, "company_id", f->company_id) ||
        !need_filter_id(req, "project_id", f->project_id) ||
        !need_filter_id(req, "contractor_id", f->contractor_id) ||
        !cl_req_need_text(req, "category", f->category, false, CL_LIM_TRADE_CODE_CHARS) ||
        !cl_req_need_text(req, "layout", f->layout, false, CL_LIM_LAYOUT_CHARS) ||
        !need_opt_date(req, "from", f->from) || !need_opt_date(req, "to", f->to))
        return false;
    if (f->round && *f->round && cl_domain_parse(CL_DOM_ROUND_KIND, f->round) <= 0) {
        char why[256];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "round", CL_DOM_ROUND_KIND));
        return false;
    }
    if (f->from && *f->from && f->to && *f->to && strcmp(f->from, f->to) > 0) {
        cl_req_fail(req, CL_EINVAL, "from must not be after to");
        return false;
    }
    return true;
}

/* ---- rows into messages -------------------------------------------------------------- */

/* The storage of one row's message and everything it points to (strings point into the
 * PGresult). */
typedef struct row_slot {
    pb_row_t row;
    pb_key_t keys[2];
    pb_key_t *keyp[2];
    pb_figure_t fig[6];
    Closeloop__TimelinessCounts tl;
    pb_reason_t *reasons;  /* malloc'd, n_not_taken_reasons of them */
    pb_reason_t **reasonp; /* malloc'd */
    char *reason_text;     /* malloc'd: the reasons' texts, NUL-terminated one after another */
} row_slot_t;

static void slot_clear(row_slot_t *s) {
    free(s->reasons);
    free(s->reasonp);
    free(s->reason_text);
    s->reasons = NULL;
    s->reasonp = NULL;
    s->reason_text = NULL;
}

static uint64_t u64_at(const PGresult *res, int row, int col) {
    int64_t v = cl_sql_i64(res, row, col);
    return v > 0 ? (uint64_t)v : 0;
}

/* The figure in column col, or NULL when the column is NULL (an absent rate). */
static pb_figure_t *figure_at(pb_figure_t *f, const PGresult *res, int row, int col) {
    if (cl_sql_isnull(res, row, col)) return NULL;
    closeloop__figure__init(f);
    f->value = strtod(PQgetvalue(res, row, col), NULL);
    return f;
}

/* Decodes the "count:bytes:reason" run of stats_rows' not_taken column into the slot.
 * False when out of memory or the text is not of that shape. */
static bool reasons_fill(row_slot_t *s, const char *enc) {
    size_t len = strlen(enc), n = 0;
    if (len == 0) return true;
    /* Each entry holds at least "0:0:", so len / 4 bounds the count. */
    size_t cap = len / 4 + 1;
    s->reasons = calloc(cap, sizeof *s->reasons);
    s->reasonp = calloc(cap, sizeof *s->reasonp);
    s->reason_text = malloc(len + 1);
    if (!s->reasons || !s->reasonp || !s->reason_text) return false;
    char *text = s->reason_text;
    const char *p = enc, *end = enc + len;
    while (p < end && n < cap) {
        char *q;
        unsigned long long count = strtoull(p, &q, 10);
        if (q == p || *q != ':') return false;
        p = q + 1;
        unsigned long long bytes = strtoull(p, &q, 10);
        if (q == p || *q != ':' || bytes > (unsigned long long)(end - q - 1)) return false;
        p = q + 1;
        memcpy(text, p, (size_t)bytes);
        text[bytes] = '\0';
        closeloop__reason_count__init(&s->reasons[n]);
        s->reasons[n].reason = text;
        s->reasons[n].count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
        s->reasonp[n] = &s->reasons[n];
        n++;
        text += bytes + 1;
        p += bytes;
    }
    if (p != end) return false;
    s->row.n_not_taken_reasons = n;
    s->row.not_taken_reasons = s->reasonp;
    return true;
}

/* Fills the key of dimension dim from columns id/code/name. */
static void key_fill(pb_key_t *k, int dim, const PGresult *res, int row, int id, int code,
                     int name) {
    closeloop__stats_key__init(k);
    k->dim = (Closeloop__StatsDim)dim;
    k->id = cl_sql_i64(res, row, id);
    k->code = (char *)cl_sql_text(res, row, code);
    k->name = (char *)cl_sql_text(res, row, name);
}

/* Row `row` of stats_rows as a StatsRow in slot s; NULL when out of memory or the reasons
 * column is malformed. */
static pb_row_t *row_fill(row_slot_t *s, const pb_stats_req_t *m, const PGresult *res, int row) {
    memset(s, 0, sizeof *s);
    pb_row_t *r = &s->row;
    closeloop__stats_row__init(r);
    size_t nk = m->n_group_by;
    if (nk >= 1)
        key_fill(&s->keys[0], m->group_by[0], res, row, SR(k1_id), SR(k1_code), SR(k1_name));
    if (nk >= 2)
        key_fill(&s->keys[1], m->group_by[1], res, row, SR(k2_id), SR(k2_code), SR(k2_name));
    for (size_t i = 0; i < nk; i++)
        s->keyp[i] = &s->keys[i];
    r->n_keys = nk;
    r->keys = nk ? s->keyp : NULL;

    const struct {
        int col;
        uint64_t *to;
    } counts[] = {
        {SR(units_inspected), &r->units_inspected},
        {SR(units_total), &r->units_total},
        {SR(items_found), &r->items_found},
        {SR(tickets_opened), &r->tickets_opened},
        {SR(tickets_closed), &r->tickets_closed},
        {SR(tickets_nofix), &r->tickets_nofix},
        {SR(open_now), &r->open_now},
        {SR(overdue_now), &r->overdue_now},
        {SR(closed_of_opened), &r->closed_of_opened},
        {SR(nofix_of_opened), &r->nofix_of_opened},
        {SR(verifications), &r->verifications},
        {SR(reworks), &r->reworks},
        {SR(units_accepted), &r->units_accepted},
        {SR(units_accepted_with_items), &r->units_accepted_with_items},
        {SR(units_not_taken), &r->units_not_taken},
        {SR(defects_raised), &r->defects_raised},
        {SR(cases_raised), &r->cases_raised},
        {SR(checks_done), &r->checks_done},
        {SR(checks_found), &r->checks_found},
        {SR(repaired_reports), &r->repaired_reports},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        *counts[i].to = u64_at(res, row, counts[i].col);

    r->items_per_unit = figure_at(&s->fig[0], res, row, SR(items_per_unit));
    r->closure_rate = figure_at(&s->fig[1], res, row, SR(closure_rate));
    r->rework_rate = figure_at(&s->fig[2], res, row, SR(rework_rate));
    r->close_p50_days = figure_at(&s->fig[3], res, row, SR(close_p50_days));
    r->close_p90_days = figure_at(&s->fig[4], res, row, SR(close_p90_days));
    r->response_hours_mean = figure_at(&s->fig[5], res, row, SR(response_hours_mean));

    Closeloop__TimelinessCounts *tl = &s->tl;
    closeloop__timeliness_counts__init(tl);
    tl->no_deadline = (uint32_t)u64_at(res, row, SR(tl_no_deadline));
    tl->overdue_open = (uint32_t)u64_at(res, row, SR(tl_overdue_open));
    tl->in_time_open = (uint32_t)u64_at(res, row, SR(tl_in_time_open));
    tl->closed_late = (uint32_t)u64_at(res, row, SR(tl_closed_late));
    tl->closed_in_time = (uint32_t)u64_at(res, row, SR(tl_closed_in_time));
    r->timeliness = tl;

    if (!reasons_fill(s, cl_sql_text(res, row, SR(not_taken)))) {
        slot_clear(s);
        return NULL;
    }
    return r;
}

/* Sends rows[0..n) as one StatsPage; the LAST frame, with the answer's trailer, when
 * last. */
static void page_send(cl_req_t *req, pb_row_t **rows, size_t n, bool last, bool truncated,
                      uint64_t age) {
    Closeloop__StatsPage pg = CLOSELOOP__STATS_PAGE__INIT;
    pg.n_rows = n;
    pg.rows = n ? rows : NULL;
    if (last) {
        pg.truncated = truncated;
        pg.data_age_ms = age;
        cl_req_reply(req, CL_MSG_STATS_PAGE, &pg.base);
    } else {
        cl_req_reply_part(req, CL_MSG_STATS_PAGE, &pg.base);
    }
}

/* The opening both result handlers share: the context row (result 0) and the figures
 * (result 1). False when the call failed or the category / trade named in the request
 * (what, name) does not exist; the request is answered and c freed then. */
static bool stats_results(cl_call_t *c, const cl_db_result_t *r, const char *what, const char *name,
                          const PGresult **ctx, const PGresult **res) {
    *ctx = cl_call_rows(c, r, 0);
    *res = *ctx ? cl_call_rows(c, r, 1) : NULL;
    if (!*res) {
        cl_call_free(c);
        return false;
    }
    if (PQntuples(*ctx) != 1 || cl_sql_isnull(*ctx, 0, CL_COL(stats_context, code))) {
        char clip[64];
        cl_req_fail(c->req, CL_ENOTFOUND, "no such %s \"%s\"", what,
                    cl_utf8_clip(clip, sizeof clip, name));
        cl_call_free(c);
        return false;
    }
    return true;
}

static void stats_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const pb_stats_req_t *m = (const pb_stats_req_t *)c->req->msg;
    const PGresult *ctx, *res;
    if (!stats_results(c, r, "category", m->filter ? m->filter->category : "", &ctx, &res)) return;
    uint64_t data_age = u64_at(ctx, 0, CL_COL(stats_context, data_age_ms));
    size_t rows = (size_t)PQntuples(res);
    bool truncated = rows > STATS_MAX_GROUPS;
    if (truncated) rows = STATS_MAX_GROUPS;

    size_t budget = cl_req_config(c->req)->max_frame - STATS_FRAME_SLACK;
    row_slot_t *slots = calloc(CL_CALL_PAGE_MAX + 1, sizeof *slots);
    pb_row_t **ptrs = calloc(CL_CALL_PAGE_MAX + 1, sizeof *ptrs);
    size_t used = 0, bytes = 0;
    bool ok = slots && ptrs;
    for (size_t i = 0; i < rows && ok; i++) {
        pb_row_t *row = row_fill(&slots[used], m, res, (int)i);
        if (!row) {
            ok = false;
            break;
        }
        size_t size = protobuf_c_message_get_packed_size(&row->base) + 6; /* tag, length */
        if (used > 0 && (used == CL_CALL_PAGE_MAX || bytes + size > budget)) {
            /* The page is full: send it, and start the next with this row, filled again
             * into the first slot (a slot's message points into the slot itself). */
            slot_clear(&slots[used]);
            page_send(c->req, ptrs, used, false, false, 0);
            for (size_t k = 0; k < used; k++)
                slot_clear(&slots[k]);
            used = bytes = 0;
            if (!(row = row_fill(&slots[0], m, res, (int)i))) {
                ok = false;
                break;
            }
        }
        ptrs[used++] = row;
        bytes += size;
    }
    if (ok)
        page_send(c->req, ptrs, used, true, truncated, data_age);
    else
        cl_req_fail(c->req, CL_EINTERNAL,
                    "out of memory or a malformed row while sending statistics");
    for (size_t k = 0; slots && k <= CL_CALL_PAGE_MAX; k++)
        slot_clear(&slots[k]);
    free(ptrs);
    free(slots);
    cl_call_free(c);
}

void cl_stats_query(cl_req_t *req) {
    const pb_stats_req_t *m = (const pb_stats_req_t *)req->msg;
    char g1[24], g2[24];
    if (!stats_check(req, m, g1, g2)) return;
    const Closeloop__StatsFilter *f = m->filter;
    Closeloop__StatsFilter none = CLOSELOOP__STATS_FILTER__INIT;
    if (!f) f = &none;
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->analytics = true;
    char company[24], project[24], contractor[24], limit[24];
    cl_sql_int_param(company, f->company_id);
    cl_sql_int_param(project, f->project_id);
    cl_sql_int_param(contractor, f->contractor_id);
    cl_sql_int_param(limit, STATS_MAX_GROUPS + 1);
    const char *category = f->category ? f->category : "";
    const char *from = f->from && *f->from ? f->from : NULL; /* NULL: open */
    const char *to = f->to && *f->to ? f->to : NULL;
    cl_call_stmt_t st[] = {
        CL_STMT(stats_context, category),
        CL_STMT(stats_rows, CL_CALL_SCOPE(c), company, project, contractor, category,
                f->layout ? f->layout : "", f->round ? f->round : "", from, to, g1, g2, limit),
    };
    cl_call_run(c, false, st, 2, stats_done);
}

/* ---- scorecards ---------------------------------------------------------------------- */

static void scorecard_done(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const pb_score_req_t *m = (const pb_score_req_t *)c->req->msg;
    const PGresult *ctx, *res;
    if (!stats_results(c, r, "trade", m->trade, &ctx, &res)) return;
    size_t n = (size_t)PQntuples(res);
    pb_score_row_t *rows = calloc(n + 1, sizeof *rows);
    pb_score_row_t **ptrs = calloc(n + 1, sizeof *ptrs);
    pb_figure_t *figs = calloc(2 * n + 1, sizeof *figs);
    if (!rows || !ptrs || !figs) {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
        goto out;
    }
    Closeloop__Scorecard sc = CLOSELOOP__SCORECARD__INIT;
    sc.month = m->month;
    for (size_t i = 0; i < n; i++) {
        int k = (int)i;
        pb_score_row_t *s = &rows[i];
        closeloop__scorecard_row__init(s);
        s->contractor_id = cl_sql_i64(res, k, SC(contractor_id));
        s->contractor_name = (char *)cl_sql_text(res, k, SC(contractor_name));
        s->trade = (char *)cl_sql_text(res, k, SC(trade));
        s->trade_name = (char *)cl_sql_text(res, k, SC(trade_name));
        s->tickets_assigned = u64_at(res, k, SC(tickets_assigned));
        s->repaired_reports = u64_at(res, k, SC(repaired_reports));
        s->response_hours_mean = figure_at(&figs[2 * i], res, k, SC(response_hours_mean));
        s->verifications = u64_at(res, k, SC(verifications));
        s->reworks = u64_at(res, k, SC(reworks));
        s->rework_rate = figure_at(&figs[2 * i + 1], res, k, SC(rework_rate));
        s->late_repairs = u64_at(res, k, SC(late_repairs));
        s->overdue_open_now = u64_at(res, k, SC(overdue_open_now));
        s->rank = (uint32_t)u64_at(res, k, SC(rank));
        s->peers = (uint32_t)u64_at(res, k, SC(peers));
        ptrs[i] = s;
    }
    sc.n_rows = n;
    sc.rows = ptrs;
    if (protobuf_c_message_get_packed_size(&sc.base) + STATS_FRAME_SLACK >
        cl_req_config(c->req)->max_frame)
        cl_req_fail(c->req, CL_EINVAL,
                    "the scorecard has %zu rows, more than one reply holds: name a company or "
                    "a trade",
                    n);
    else
        cl_req_reply(c->req, CL_MSG_SCORECARD, &sc.base);
out:
    free(rows);
    free(ptrs);
    free(figs);
    cl_call_free(c);
}

void cl_stats_scorecard(cl_req_t *req) {
    const pb_score_req_t *m = (const pb_score_req_t *)req->msg;
    char month[16];
    if (!m->month || strlen(m->month) != 7 ||
        (snprintf(month, sizeof month, "%s-01", m->month), !cl_date_valid(month))) {
        cl_req_fail(req, CL_EINVAL, "month must be written YYYY-MM");
        return;
    }
    if (!need_filter_id(req, "company_id", m->company_id) ||
        !cl_req_need_text(req, "trade", m->trade, false, CL_LIM_TRADE_CODE_CHARS))
        return;
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->analytics = true;
    char company[24];
    cl_sql_int_param(company, m->company_id);
    const char *trade = m->trade ? m->trade : "";
    cl_call_stmt_t st[] = {
        CL_STMT(stats_context, trade),
        CL_STMT(stats_scorecard, CL_CALL_SCOPE(c), company, trade, month),
    };
    cl_call_run(c, false, st, 2, scorecard_done);
}
