/* kb.c - the group's case knowledge base (缺陷案例知识库): Chinese text search over cases
 * and over inspection items of every project, a case with its revisions, HQ accepting a
 * filed defect as a case (or a new revision of one) or returning it, retiring a case,
 * and importing HQ's existing cases in chunks.
 *
 * The statements are kb.sql; how search matches and ranks is said there and in
 * docs/KB.md. A search is one batch: kb_query_check (does the query hold anything
 * searchable? if not, the request is refused with a sentence saying so, never answered
 * with an empty list) and the search itself, streamed as pages. Accept and return ask the
 * defect workflow (common/defect_fsm.c) which states the step applies to and where it
 * leads, then compare-and-set in SQL like a ticket's transition; a defect in another
 * state answers a conflict carrying its state and version. Authorization: KB_SEARCH
 * (every staff role, group-wide) for search and show, KB_CURATE (HQ) for the rest
 * (dispatch.h); the knowledge base is the group's, so no statement here takes a scope.
 *
 * Runs on the loop thread. A kb_call_t (a cl_call_t, handler.h) holds one request's
 * state; the db callback frees it. Reply strings point into the PGresult, except the
 * layouts and locations of a case, split into the slot's own buffer, freed by case_clear. */
#include "dispatch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "defect_fsm.h"
#include "domain.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "sqlutil.h"

typedef Closeloop__KbSearch pb_search_t;
typedef Closeloop__KbCase pb_case_t;
typedef Closeloop__KbItemHit pb_hit_t;
typedef Closeloop__KbImportRow pb_import_row_t;
typedef Closeloop__KbImportChunk pb_import_chunk_t;
typedef Closeloop__KbImportResult pb_import_result_t;

#define KB_LIMIT_DEFAULT 20
#define KB_LIMIT_MAX     500
#define KB_IMPORT_ROWS   2000   /* cases of one import chunk */
#define KB_SEP           '\x1f' /* joins a case's layouts and locations (kb_case_rows) */

typedef struct kb_call {
    cl_call_t call; /* first: the call is the db callbacks' argument */
    char code[CL_LIM_CODE_CHARS * 4 + 1];
    const char *from_names; /* accept/return: the states the step applies to */
    int64_t expected_version;
} kb_call_t;
_Static_assert(offsetof(kb_call_t, call) == 0, "a kb_call_t is its cl_call_t");

/* ------------------------------------------------------------------ a case */

/* A case with its meta and its layouts and locations split out of their joined column. */
typedef struct case_slot {
    pb_case_t k;
    Closeloop__Meta meta;
    char *buf;   /* the two joined columns, copied and cut at each separator */
    char **ptrs; /* layouts, then locations */
} case_slot_t;

/* Cuts the copy of s at every KB_SEP into dst; returns how many parts ("" has none). */
static size_t split_into(char *copy, char **dst) {
    if (!*copy) return 0;
    size_t n = 0;
    dst[n++] = copy;
    for (char *p = copy; *p; p++)
        if (*p == KB_SEP) {
            *p = '\0';
            dst[n++] = p + 1;
        }
    return n;
}

static size_t count_parts(const char *s) {
    if (!*s) return 0;
    size_t n = 1;
    for (; *s; s++)
        n += *s == KB_SEP;
    return n;
}

#define CR(col) CL_COL(kb_case_rows, col)

static ProtobufCMessage *case_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    case_slot_t *s = slot;
    pb_case_t *k = &s->k;
    closeloop__kb_case__init(k);
    closeloop__meta__init(&s->meta);
    s->meta.id = cl_sql_i64(res, row, CR(id));
    s->meta.version = cl_sql_i64(res, row, CR(version));
    s->meta.created_at_ms = (uint64_t)cl_sql_i64(res, row, CR(created_ms));
    s->meta.updated_at_ms = (uint64_t)cl_sql_i64(res, row, CR(updated_ms));
    k->meta = &s->meta;
    k->code = PQgetvalue(res, row, CR(code));
    k->revision = (uint32_t)cl_sql_i64(res, row, CR(revision));
    k->title = PQgetvalue(res, row, CR(title));
    k->description = PQgetvalue(res, row, CR(description));
    k->kind = cl_defect_kind_parse(cl_sql_text(res, row, CR(kind)));
    k->specialty = cl_specialty_parse(cl_sql_text(res, row, CR(specialty)));
    k->category = PQgetvalue(res, row, CR(category));
    k->category_name = PQgetvalue(res, row, CR(category_name));
    k->grade = cl_defect_grade_parse(cl_sql_text(res, row, CR(grade)));
    k->repairable = (uint32_t)cl_sql_i64(res, row, CR(repairable));
    k->project_name = PQgetvalue(res, row, CR(project_name));
    k->found_on = PQgetvalue(res, row, CR(found_on));
    k->impact_units = (uint32_t)cl_sql_i64(res, row, CR(impact_units));
    k->cause_analysis = PQgetvalue(res, row, CR(cause_analysis));
    k->corrective_measures = PQgetvalue(res, row, CR(corrective_measures));
    k->preventive_measures = PQgetvalue(res, row, CR(preventive_measures));
    k->responsible = PQgetvalue(res, row, CR(responsible));
    k->status = cl_case_status_parse(cl_sql_text(res, row, CR(status)));
    k->retired_reason = PQgetvalue(res, row, CR(retired_reason));
    k->defect_id = cl_sql_i64(res, row, CR(defect_id));
    k->defect_code = PQgetvalue(res, row, CR(defect_code));
    int exact = PQfnumber(res, "exact"), rank = PQfnumber(res, "rank");
    if (exact >= 0) k->exact = cl_sql_i64(res, row, exact) > 0;
    if (rank >= 0) k->rank = strtof(cl_sql_text(res, row, rank), NULL);

    const char *lay = cl_sql_text(res, row, CR(layouts));
    const char *loc = cl_sql_text(res, row, CR(locations));
    size_t nlay = count_parts(lay), nloc = count_parts(loc);
    size_t llen = strlen(lay), olen = strlen(loc);
    s->buf = malloc(llen + olen + 2);
    s->ptrs = calloc(nlay + nloc + 1, sizeof *s->ptrs);
    if (!s->buf || !s->ptrs) {
        free(s->buf);
        free(s->ptrs);
        s->buf = NULL;
        s->ptrs = NULL;
        return NULL;
    }
    memcpy(s->buf, lay, llen + 1);
    memcpy(s->buf + llen + 1, loc, olen + 1);
    k->n_layouts = split_into(s->buf, s->ptrs);
    k->layouts = s->ptrs;
    k->n_locations = split_into(s->buf + llen + 1, s->ptrs + k->n_layouts);
    k->locations = s->ptrs + k->n_layouts;
    return &k->base;
}

static void case_clear(void *slot) {
    case_slot_t *s = slot;
    free(s->buf);
    free(s->ptrs);
    s->buf = NULL;
    s->ptrs = NULL;
}

static const cl_call_kind_t case_kind =
    CL_CALL_KIND(KB_CASE, kb_case_page, case_slot_t, case_fill, case_clear);

/* ------------------------------------------------------------------ an item */

#define HIT(col) CL_COL(kb_search_items, col)

static ProtobufCMessage *hit_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    pb_hit_t *h = slot;
    closeloop__kb_item_hit__init(h);
    h->id = PQgetvalue(res, row, HIT(id));
    h->project_id = cl_sql_i64(res, row, HIT(project_id));
    h->project_name = PQgetvalue(res, row, HIT(project_name));
    h->building = PQgetvalue(res, row, HIT(building));
    h->unit = PQgetvalue(res, row, HIT(unit));
    h->layout = PQgetvalue(res, row, HIT(layout));
    h->location = PQgetvalue(res, row, HIT(location));
    h->category = PQgetvalue(res, row, HIT(category));
    h->description = PQgetvalue(res, row, HIT(description));
    h->severity = cl_severity_parse(cl_sql_text(res, row, HIT(severity)));
    h->found_on = PQgetvalue(res, row, HIT(found_on));
    h->exact = cl_sql_text(res, row, HIT(exact))[0] == 't';
    h->rank = strtof(cl_sql_text(res, row, HIT(rank)), NULL);
    return &h->base;
}

static const cl_call_kind_t hit_kind =
    CL_CALL_KIND(KB_ITEM_HIT, kb_item_hit_page, pb_hit_t, hit_fill, NULL);

/* ------------------------------------------------------------------ search */

/* Checks what cases and items share: the query, category, layout, project, limit. */
CL_MUSTCHECK static bool need_search(cl_req_t *req, const pb_search_t *m, char limit[24]) {
    if (!cl_req_need_text(req, "query", m->query, false, CL_LIM_SEARCH_CHARS)) return false;
    const char *q = m->query;
    while (*q == ' ' || *q == '\t')
        q++;
    if (!*q) {
        cl_req_fail(req, CL_EINVAL,
                    "query is empty: give a word to search for (渗水, 天窗渗水, TA)");
        return false;
    }
    if (*m->category && !cl_req_need_trade(req, m->category)) return false;
    if (!cl_req_need_text(req, "layout", m->layout, false, CL_LIM_LAYOUT_CHARS)) return false;
    if (m->project_id < 0) {
        cl_req_fail(req, CL_EINVAL, "project_id must be a project id, or 0 for every project");
        return false;
    }
    if (m->limit > KB_LIMIT_MAX) {
        cl_req_fail(req, CL_EINVAL, "limit must be 1 to %d (0: %d)", KB_LIMIT_MAX,
                    KB_LIMIT_DEFAULT);
        return false;
    }
    cl_sql_int_param(limit, m->limit ? m->limit : KB_LIMIT_DEFAULT);
    return true;
}

/* Statement 0 says whether the query is searchable, statement 1 is the search. */
static void search_done(void *arg, const cl_db_result_t *r) {
    kb_call_t *c = arg;
    const PGresult *chk = cl_call_rows(&c->call, r, 0);
    const PGresult *res = chk ? cl_call_rows(&c->call, r, 1) : NULL;
    if (res) {
        const pb_search_t *m = (const pb_search_t *)c->call.req->msg;
        char shown[120];
        if (PQntuples(chk) != 1 || cl_sql_text(chk, 0, 0)[0] != 't')
            cl_req_fail(c->call.req, CL_EINVAL,
                        "query '%s' holds nothing to search for: give Chinese characters, "
                        "letters or digits (渗水, 天窗渗水, TA)",
                        cl_utf8_clip(shown, sizeof shown, m->query));
        else if (!cl_call_stream(&c->call, res, true))
            cl_log_debug("kb_search_not_sent", "the request was answered");
    }
    cl_call_free(&c->call);
}

void cl_kb_search(cl_req_t *req) {
    const pb_search_t *m = (const pb_search_t *)req->msg;
    char limit[24], project[24];
    if (!need_search(req, m, limit)) return;
    const char *specialty = "", *kind = "";
    if (m->specialty && !(specialty = cl_specialty_name(m->specialty))) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "specialty", CL_DOM_SPECIALTY));
        return;
    }
    if (m->kind && !(kind = cl_defect_kind_name(m->kind))) {
        char why[200];
        cl_req_fail(req, CL_EINVAL, "%s",
                    cl_domain_must_be(why, sizeof why, "kind", CL_DOM_DEFECT_KIND));
        return;
    }
    kb_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->call.kind = &case_kind;
    cl_call_stmt_t st[] = {
        CL_STMT(kb_query_check, m->query),
        CL_STMT(kb_search_cases, m->query, m->category, m->layout, specialty, kind,
                cl_sql_int_param(project, m->project_id), limit),
    };
    cl_call_run(&c->call, false, st, 2, search_done);
}

void cl_kb_item_search(cl_req_t *req) {
    const pb_search_t *m = (const pb_search_t *)req->msg;
    char limit[24], project[24];
    if (!need_search(req, m, limit)) return;
    if (m->specialty || m->kind) {
        cl_req_fail(req, CL_EINVAL,
                    "specialty and kind filter cases: inspection items have neither");
        return;
    }
    kb_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->call.kind = &hit_kind;
    cl_call_stmt_t st[] = {
        CL_STMT(kb_query_check, m->query),
        CL_STMT(kb_search_items, m->query, m->category, m->layout,
                cl_sql_int_param(project, m->project_id), limit, CL_CALL_SCOPE(&c->call)),
    };
    cl_call_run(&c->call, false, st, 2, search_done);
}

/* ------------------------------------------------------------------ show */

CL_MUSTCHECK static bool need_code(cl_req_t *req, const char *code) {
    if (!*code) {
        cl_req_fail(req, CL_EINVAL, "code is required: the case's code (SJ01)");
        return false;
    }
    return cl_req_need_text(req, "code", code, true, CL_LIM_CODE_CHARS);
}

#define VER(col) CL_COL(kb_show_versions, col)

static void show_done(void *arg, const cl_db_result_t *r) {
    kb_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    const PGresult *vers = res ? cl_call_rows(&c->call, r, 1) : NULL;
    if (!vers) {
        cl_call_free(&c->call);
        return;
    }
    if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such case %s", c->code);
        cl_call_free(&c->call);
        return;
    }
    case_slot_t slot;
    memset(&slot, 0, sizeof slot);
    size_t n = (size_t)PQntuples(vers);
    Closeloop__KbCaseVersion *v = calloc(n + 1, sizeof *v);
    Closeloop__KbCaseVersion **vp = calloc(n + 1, sizeof *vp);
    if (!v || !vp || !case_fill(&slot, &c->call, res, 0)) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            int row = (int)i;
            closeloop__kb_case_version__init(&v[i]);
            v[i].revision = (uint32_t)cl_sql_i64(vers, row, VER(revision));
            v[i].at_ms = (uint64_t)cl_sql_i64(vers, row, VER(at_ms));
            v[i].actor = PQgetvalue(vers, row, VER(actor));
            v[i].note = PQgetvalue(vers, row, VER(note));
            v[i].title = PQgetvalue(vers, row, VER(title));
            v[i].defect_id = cl_sql_i64(vers, row, VER(defect_id));
            vp[i] = &v[i];
        }
        Closeloop__KbCaseDetail d = CLOSELOOP__KB_CASE_DETAIL__INIT;
        d.kase = &slot.k;
        d.n_versions = n;
        d.versions = vp;
        d.retired_at_ms = (uint64_t)cl_sql_i64(res, 0, CR(retired_ms));
        cl_req_reply(c->call.req, CL_MSG_KB_CASE_DETAIL, &d.base);
    }
    case_clear(&slot);
    free(v);
    free(vp);
    cl_call_free(&c->call);
}

void cl_kb_show(cl_req_t *req) {
    const Closeloop__KbShow *m = (const Closeloop__KbShow *)req->msg;
    if (!need_code(req, m->code)) return;
    kb_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    snprintf(c->code, sizeof c->code, "%s", m->code);
    cl_call_stmt_t st[] = {CL_STMT(kb_show, m->code), CL_STMT(kb_show_versions, m->code)};
    cl_call_run(&c->call, false, st, 2, show_done);
}

/* ------------------------------------------------------------------ accept, return */

/* The states action applies to (a text[] literal into *from, names into names) and the
 * step, from the workflow table. False when the table has no single step for it. The
 * guards of accept and return read no facts: every from-state is asked with the same. */
static bool defect_step_of(cl_defect_action_t action, char **from, char *names, size_t nlen,
                           cl_defect_step_t *step) {
    static const cl_defect_facts_t facts = {
        .grade = 1, .repairable = 1, .approved = false, .estimated = true};
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    names[0] = '\0';
    bool have = false, consistent = true;
    for (int st = CL_DEFECT_NONE + 1; st < CL_DEFECT__STATES; st++) {
        cl_defect_step_t one;
        if (cl_defect_step((cl_defect_state_t)st, action, &facts, &one, NULL) != CL_OK) continue;
        if (have && (one.to != step->to || one.by != step->by)) consistent = false;
        *step = one;
        have = true;
        const char *name = cl_defect_state_name((cl_defect_state_t)st);
        cl_sqlbuf_array_text(&b, name);
        size_t len = strlen(names);
        snprintf(names + len, nlen - len, "%s%s", len ? " or " : "", name);
    }
    *from = cl_sqlbuf_array_close(&b);
    return *from && have && consistent && step->by == CL_DBY_HQ;
}

/* The defect's state and version now, when the step did not apply. */
static void step_conflict(kb_call_t *c, const char *verb, const char *code, const char *state,
                          int64_t version) {
    cl_defect_state_t st = cl_defect_state_parse(state);
    if (c->expected_version && version != c->expected_version &&
        strstr(c->from_names, state) != NULL)
        cl_req_fail_conflict(c->call.req, false, (int32_t)st, version,
                             "defect %s was changed by someone else: it is now %s, version "
                             "%lld (you had version %lld)",
                             code, state, (long long)version, (long long)c->expected_version);
    else
        cl_req_fail_conflict(c->call.req, false, (int32_t)st, version,
                             "defect %s is %s (%s): HQ can %s only a defect filed with it", code,
                             state, cl_defect_state_label(st) ? cl_defect_state_label(st) : "?",
                             verb);
}

/* The start HQ's steps on a defect share: the step the workflow table gives for action
 * (cl_defect_step), the note it may require (note, named what in the message), the
 * expected version, and the call. NULL when the request is answered already; else the
 * call, and *from the states the step applies from as an SQL array (malloc'd: the caller
 * frees it). */
static kb_call_t *hq_step_start(cl_req_t *req, cl_defect_action_t action, const char *note,
                                const char *what, int64_t expected_version, char **from,
                                cl_defect_step_t *step) {
    static char names[256]; /* loop thread only; the same text for every request */
    *from = NULL;
    if (!defect_step_of(action, from, names, sizeof names, step)) {
        free(*from);
        cl_req_fail(req, CL_EINTERNAL, "the defect workflow has no single step for %s",
                    cl_defect_action_name(action));
        return NULL;
    }
    kb_call_t *c = NULL;
    if (step->note_required && !*note)
        cl_req_fail(req, CL_EINVAL, "%s is required", what);
    else if (!cl_req_need_text(req, what, note, step->note_required, CL_LIM_NOTE_CHARS))
        ; /* answered */
    else if (expected_version < 0)
        cl_req_fail(req, CL_EINVAL, "expected_version must be a version, or 0 for any");
    else if ((c = cl_call_new(req, sizeof *c)) != NULL) {
        c->from_names = names;
        c->expected_version = expected_version;
        return c;
    }
    free(*from);
    *from = NULL;
    return NULL;
}

#define ACC(col) CL_COL(kb_accept, col)

static void accept_done(void *arg, const cl_db_result_t *r) {
    kb_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for kb accept");
    } else if (!cl_sql_isnull(res, 0, ACC(missing))) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such %s", cl_sql_text(res, 0, ACC(missing)));
    } else if (!cl_sql_isnull(res, 0, ACC(invalid))) {
        cl_req_fail(c->call.req, CL_EINVAL, "%s", cl_sql_text(res, 0, ACC(invalid)));
    } else if (cl_sql_text(res, 0, ACC(changed))[0] != 't') {
        step_conflict(c, "accept", cl_sql_text(res, 0, ACC(defect_code)),
                      cl_sql_text(res, 0, ACC(state)), cl_sql_i64(res, 0, ACC(version)));
    } else {
        Closeloop__KbDefectStep s = CLOSELOOP__KB_DEFECT_STEP__INIT;
        s.defect_id = ((const Closeloop__KbAccept *)c->call.req->msg)->defect_id;
        s.defect_code = PQgetvalue(res, 0, ACC(defect_code));
        s.state = (Closeloop__DefectState)cl_defect_state_parse(cl_sql_text(res, 0, ACC(state)));
        s.version = cl_sql_i64(res, 0, ACC(version));
        s.case_code = PQgetvalue(res, 0, ACC(case_code));
        s.case_revision = (uint32_t)cl_sql_i64(res, 0, ACC(case_revision));
        cl_req_reply(c->call.req, CL_MSG_KB_DEFECT_STEP, &s.base);
    }
    cl_call_free(&c->call);
}

void cl_kb_accept(cl_req_t *req) {
    const Closeloop__KbAccept *m = (const Closeloop__KbAccept *)req->msg;
    if (!cl_req_need_id(req, "defect_id", m->defect_id)) return;
    if (!cl_req_need_text(req, "code", m->code, false, CL_LIM_CODE_CHARS) ||
        !cl_req_need_text(req, "revises", m->revises, false, CL_LIM_CODE_CHARS))
        return;
    if (*m->code && *m->revises) {
        cl_req_fail(req, CL_EINVAL,
                    "code names a new case, revises an existing one: give one of them");
        return;
    }
    char *from;
    cl_defect_step_t step = {0};
    kb_call_t *c =
        hq_step_start(req, CL_DACT_ACCEPT, m->note, "note", m->expected_version, &from, &step);
    if (!c) return; /* answered */
    char defect[24], version[24], user[24];
    cl_call_stmt_t st[] = {
        CL_STMT(kb_accept, cl_sql_int_param(defect, m->defect_id), from,
                cl_defect_state_name(step.to), cl_sql_int_param(version, m->expected_version),
                m->code, m->revises, m->note, cl_sql_int_param(user, c->call.session.user_id),
                c->call.session.username),
    };
    cl_call_run(&c->call, true, st, 1, accept_done);
    free(from);
}

#define RET(col) CL_COL(kb_return, col)

static void return_done(void *arg, const cl_db_result_t *r) {
    kb_call_t *c = arg;
    /* A failed batch answers (and frees) the request: read its message only after. */
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for kb return");
    } else if (cl_sql_i64(res, 0, RET(found)) == 0) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such defect");
    } else if (cl_sql_text(res, 0, RET(changed))[0] != 't') {
        step_conflict(c, "return", cl_sql_text(res, 0, RET(defect_code)),
                      cl_sql_text(res, 0, RET(state)), cl_sql_i64(res, 0, RET(version)));
    } else {
        const Closeloop__KbReturn *m = (const Closeloop__KbReturn *)c->call.req->msg;
        Closeloop__KbDefectStep s = CLOSELOOP__KB_DEFECT_STEP__INIT;
        s.defect_id = m->defect_id;
        s.defect_code = PQgetvalue(res, 0, RET(defect_code));
        s.state = (Closeloop__DefectState)cl_defect_state_parse(cl_sql_text(res, 0, RET(state)));
        s.version = cl_sql_i64(res, 0, RET(version));
        cl_req_reply(c->call.req, CL_MSG_KB_DEFECT_STEP, &s.base);
    }
    cl_call_free(&c->call);
}

void cl_kb_return(cl_req_t *req) {
    const Closeloop__KbReturn *m = (const Closeloop__KbReturn *)req->msg;
    if (!cl_req_need_id(req, "defect_id", m->defect_id)) return;
    char *from;
    cl_defect_step_t step = {0};
    kb_call_t *c =
        hq_step_start(req, CL_DACT_RETURN, m->reason, "reason (why HQ sends the defect back)",
                      m->expected_version, &from, &step);
    if (!c) return; /* answered */
    char defect[24], version[24], user[24];
    cl_call_stmt_t st[] = {
        CL_STMT(kb_return, cl_sql_int_param(defect, m->defect_id), from,
                cl_defect_state_name(step.to), cl_sql_int_param(version, m->expected_version),
                m->reason, cl_sql_int_param(user, c->call.session.user_id),
                c->call.session.username),
    };
    cl_call_run(&c->call, true, st, 1, return_done);
    free(from);
}

/* ------------------------------------------------------------------ retire */

static void retire_done(void *arg, const cl_db_result_t *r) {
    kb_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    const PGresult *now = res ? cl_call_rows(&c->call, r, 1) : NULL;
    if (!now) {
        /* answered */
    } else if (PQntuples(res) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for kb retire");
    } else if (cl_sql_i64(res, 0, CL_COL(kb_retire, found)) == 0) {
        cl_req_fail(c->call.req, CL_ENOTFOUND, "no such case %s", c->code);
    } else if (cl_sql_text(res, 0, CL_COL(kb_retire, changed))[0] != 't') {
        cl_req_fail_conflict(c->call.req, false, CLOSELOOP__CASE_STATUS__CASE_RETIRED, 0,
                             "case %s is already retired", c->code);
    } else if (PQntuples(now) != 1) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "the retired case could not be read back");
    } else {
        case_slot_t slot;
        memset(&slot, 0, sizeof slot);
        if (case_fill(&slot, &c->call, now, 0))
            cl_req_reply(c->call.req, CL_MSG_KB_CASE, &slot.k.base);
        else
            cl_req_fail(c->call.req, CL_EINTERNAL, "out of memory");
        case_clear(&slot);
    }
    cl_call_free(&c->call);
}

void cl_kb_retire(cl_req_t *req) {
    const Closeloop__KbRetire *m = (const Closeloop__KbRetire *)req->msg;
    if (!need_code(req, m->code)) return;
    if (!*m->reason) {
        cl_req_fail(req, CL_EINVAL, "reason is required: why the case no longer applies");
        return;
    }
    if (!cl_req_need_text(req, "reason", m->reason, true, CL_LIM_NOTE_CHARS)) return;
    kb_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    snprintf(c->code, sizeof c->code, "%s", m->code);
    cl_call_stmt_t st[] = {CL_STMT(kb_retire, m->code, m->reason), CL_STMT(kb_show, m->code)};
    cl_call_run(&c->call, true, st, 2, retire_done);
}

/* ------------------------------------------------------------------ import */

/* Why row r is unacceptable, into out; false when it is fine. */
static bool row_problem(const pb_import_row_t *r, char *out, size_t n) {
    static const struct {
        const char *field;
        size_t off, max;
        bool required;
    } texts[] = {
        {"code", offsetof(pb_import_row_t, code), CL_LIM_CODE_CHARS, true},
        {"title", offsetof(pb_import_row_t, title), CL_LIM_TITLE_CHARS, true},
        {"description", offsetof(pb_import_row_t, description), CL_LIM_DEFECT_TEXT_CHARS, false},
        {"project", offsetof(pb_import_row_t, project_name), CL_LIM_NAME_CHARS, false},
        {"cause", offsetof(pb_import_row_t, cause_analysis), CL_LIM_ANALYSIS_CHARS, false},
        {"corrective", offsetof(pb_import_row_t, corrective_measures), CL_LIM_ANALYSIS_CHARS,
         false},
        {"preventive", offsetof(pb_import_row_t, preventive_measures), CL_LIM_ANALYSIS_CHARS,
         false},
        {"responsible", offsetof(pb_import_row_t, responsible), CL_LIM_RESPONSIBLE_CHARS, false},
        {"category", offsetof(pb_import_row_t, category), CL_LIM_TRADE_CODE_CHARS, false},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *v = *(char *const *)(const void *)((const char *)r + texts[i].off);
        if (cl_text_why(out, n, texts[i].field, v, texts[i].required, texts[i].max)) return true;
    }
    if (!cl_defect_kind_name(r->kind)) {
        cl_domain_must_be(out, n, "kind", CL_DOM_DEFECT_KIND);
        return true;
    }
    if (!cl_specialty_name(r->specialty)) {
        cl_domain_must_be(out, n, "specialty", CL_DOM_SPECIALTY);
        return true;
    }
    if (r->grade && !cl_defect_grade_name(r->grade)) {
        cl_domain_must_be(out, n, "grade", CL_DOM_DEFECT_GRADE);
        return true;
    }
    if (r->repairable > 2) {
        snprintf(out, n, "repairable must be yes, no or empty");
        return true;
    }
    if (*r->found_on && !cl_date_valid(r->found_on)) {
        snprintf(out, n, "found_on must be a date written YYYY-MM-DD");
        return true;
    }
    if (r->n_layouts > CL_LIM_DEFECT_TAGS || r->n_locations > CL_LIM_DEFECT_TAGS) {
        snprintf(out, n, "at most %d layouts and %d locations", CL_LIM_DEFECT_TAGS,
                 CL_LIM_DEFECT_TAGS);
        return true;
    }
    for (size_t i = 0; i < r->n_layouts; i++)
        if (cl_text_why(out, n, "layout", r->layouts[i], true, CL_LIM_LAYOUT_CHARS)) return true;
    for (size_t i = 0; i < r->n_locations; i++)
        if (cl_text_why(out, n, "location", r->locations[i], true, CL_LIM_LOCATION_CHARS))
            return true;
    return false;
}

/* Checks every row; when some are bad, answers with their RowErrors and returns false. */
/* Checks every row on its own (the statement checks categories and repeated codes);
 * when some are bad, answers with their RowErrors and returns false. */
CL_MUSTCHECK static bool import_check(cl_req_t *req, const pb_import_chunk_t *m) {
    char text[CL_ROW_ERROR_LEN];
    long bad = 0;
    for (size_t i = 0; i < m->n_rows; i++)
        bad += row_problem(m->rows[i], text, sizeof text);
    if (bad == 0) return true;
    cl_row_errors_t e;
    if (!cl_row_errors_init(&e, req, (size_t)bad)) return false;
    for (size_t i = 0; i < m->n_rows; i++)
        if (row_problem(m->rows[i], text, sizeof text))
            cl_row_errors_add(&e, m->rows[i]->line, text);
    cl_row_errors_finish(&e, "rows");
    pb_import_result_t res = CLOSELOOP__KB_IMPORT_RESULT__INIT;
    res.n_errors = e.n;
    res.errors = e.ptrs;
    cl_req_reply(req, CL_MSG_KB_IMPORT_RESULT, &res.base);
    cl_row_errors_free(&e);
    return false;
}

#define IMP(col) CL_COL(kb_import, col)

static void import_done(void *arg, const cl_db_result_t *r) {
    kb_call_t *c = arg;
    /* A failed batch answers (and frees) the request: read its message only after. */
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    int n = res ? PQntuples(res) : 0;
    if (!res) {
        /* answered */
    } else if (n == 0) {
        cl_req_fail(c->call.req, CL_EINTERNAL, "unexpected result shape for kb import");
    } else if (cl_sql_i64(res, 0, IMP(line)) != 0) { /* bad rows: nothing was written */
        cl_row_errors_t e;
        if (cl_row_errors_init(&e, c->call.req, (size_t)n)) {
            for (int i = 0; i < n; i++)
                cl_row_errors_add(&e, (uint32_t)cl_sql_i64(res, i, IMP(line)),
                                  cl_sql_text(res, i, IMP(message)));
            cl_row_errors_finish(&e, "rows");
            pb_import_result_t out = CLOSELOOP__KB_IMPORT_RESULT__INIT;
            out.n_errors = e.n;
            out.errors = e.ptrs;
            cl_req_reply(c->call.req, CL_MSG_KB_IMPORT_RESULT, &out.base);
            cl_row_errors_free(&e);
        }
    } else {
        const pb_import_chunk_t *m = (const pb_import_chunk_t *)c->call.req->msg;
        pb_import_result_t out = CLOSELOOP__KB_IMPORT_RESULT__INIT;
        out.applied = !m->check_only;
        out.inserted = (uint32_t)cl_sql_i64(res, 0, IMP(inserted));
        out.revised = (uint32_t)cl_sql_i64(res, 0, IMP(revised));
        out.unchanged = (uint32_t)cl_sql_i64(res, 0, IMP(unchanged));
        cl_req_reply(c->call.req, CL_MSG_KB_IMPORT_RESULT, &out.base);
    }
    cl_call_free(&c->call);
}

enum {
    A_LINE,
    A_CODE,
    A_TITLE,
    A_DESC,
    A_KIND,
    A_SPEC,
    A_CAT,
    A_LAY,
    A_LOC,
    A_GRADE,
    A_REP,
    A_PROJ,
    A_FOUND,
    A_IMPACT,
    A_CAUSE,
    A_CORR,
    A_PREV,
    A_RESP,
    A__N
};

/* A list of texts joined by KB_SEP, as one array element. */
static void array_joined(cl_sqlbuf_t *b, char *const *v, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *s = malloc(len + 1);
    if (!s) {
        b->failed = true;
        return;
    }
    s[0] = '\0';
    for (size_t i = 0, o = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (i) s[o++] = KB_SEP;
        memcpy(s + o, v[i], l);
        o += l;
        s[o] = '\0';
    }
    cl_sqlbuf_array_text(b, s);
    free(s);
}

void cl_kb_import(cl_req_t *req) {
    const pb_import_chunk_t *m = (const pb_import_chunk_t *)req->msg;
    if (m->n_rows == 0 || m->n_rows > KB_IMPORT_ROWS) {
        cl_req_fail(req, CL_EINVAL, "a chunk holds 1 to %d cases, not %zu", KB_IMPORT_ROWS,
                    m->n_rows);
        return;
    }
    if (!import_check(req, m)) return;
    cl_sqlbuf_t b[A__N] = {{0}};
    for (int k = 0; k < A__N; k++)
        cl_sqlbuf_array_open(&b[k]);
    for (size_t i = 0; i < m->n_rows; i++) {
        const pb_import_row_t *r = m->rows[i];
        cl_sqlbuf_array_int(&b[A_LINE], r->line);
        cl_sqlbuf_array_text(&b[A_CODE], r->code);
        cl_sqlbuf_array_text(&b[A_TITLE], r->title);
        cl_sqlbuf_array_text(&b[A_DESC], r->description);
        cl_sqlbuf_array_text(&b[A_KIND], cl_defect_kind_name(r->kind));
        cl_sqlbuf_array_text(&b[A_SPEC], cl_specialty_name(r->specialty));
        cl_sqlbuf_array_text(&b[A_CAT], r->category);
        array_joined(&b[A_LAY], r->layouts, r->n_layouts);
        array_joined(&b[A_LOC], r->locations, r->n_locations);
        cl_sqlbuf_array_text(&b[A_GRADE], r->grade ? cl_defect_grade_name(r->grade) : "");
        cl_sqlbuf_array_int(&b[A_REP], r->repairable);
        cl_sqlbuf_array_text(&b[A_PROJ], r->project_name);
        cl_sqlbuf_array_text(&b[A_FOUND], r->found_on);
        cl_sqlbuf_array_int(&b[A_IMPACT], r->impact_units);
        cl_sqlbuf_array_text(&b[A_CAUSE], r->cause_analysis);
        cl_sqlbuf_array_text(&b[A_CORR], r->corrective_measures);
        cl_sqlbuf_array_text(&b[A_PREV], r->preventive_measures);
        cl_sqlbuf_array_text(&b[A_RESP], r->responsible);
    }
    char *a[A__N];
    bool ok = true;
    for (int k = 0; k < A__N; k++)
        ok &= (a[k] = cl_sqlbuf_array_close(&b[k])) != NULL;
    kb_call_t *c = ok ? cl_call_new(req, sizeof *c) : NULL;
    if (!ok) cl_req_fail(req, CL_EINTERNAL, "out of memory");
    if (c) {
        char user[24];
        cl_call_stmt_t st[] = {
            CL_STMT(kb_import, a[A_LINE], a[A_CODE], a[A_TITLE], a[A_DESC], a[A_KIND], a[A_SPEC],
                    a[A_CAT], a[A_LAY], a[A_LOC], a[A_GRADE], a[A_REP], a[A_PROJ], a[A_FOUND],
                    a[A_IMPACT], a[A_CAUSE], a[A_CORR], a[A_PREV], a[A_RESP],
                    cl_sql_bool_param(m->check_only),
                    cl_sql_int_param(user, c->call.session.user_id), c->call.session.username),
        };
        cl_call_run(&c->call, true, st, 1, import_done);
    }
    for (int k = 0; k < A__N; k++)
        free(a[k]);
}
