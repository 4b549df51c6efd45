/* defect.c - defect feedback (缺陷反馈): create a defect (from nothing, from items, from a
 * recurring-defect proposal), link items, one step of the decision workflow, show one
 * defect with its items and history, list a project's defects, and the recurring-defect
 * proposals. The statements are defect.sql; a defect is a row of the view defect_rows
 * (migration 012).
 *
 * The workflow is common/defect_fsm.c; this file never decides a step itself. A step (and
 * a link) is two batches: defect_facts reads the defect's state, version, the facts the
 * guards read and who the caller is to it; cl_defect_step says whether the state allows
 * the action (else CL_ECONFLICT, with the state and version now), whether a rule refuses
 * it (CL_EPRECONDITION, with the rule's sentence) and who performs it; the caller must be
 * that person (else CL_EFORBIDDEN). Then defect_step (or defect_link) writes as
 * compare-and-set on (id, state, version) with the event row, and the same batch reads the
 * defect back; a write that lost a race answers a conflict.
 *
 * Runs on the loop thread. A df_call_t (a cl_call_t and what a step adds) holds one
 * request's state; the last db callback frees it. Reply strings point into the PGresults
 * and the arrays built for a reply are freed after it is packed. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "cl_sql.h"
#include "defect_fsm.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "session.h"
#include "sha256.h"
#include "sqlutil.h"

typedef Closeloop__Defect pb_defect_t;

typedef struct df_call {
    cl_call_t call; /* first: the call is the db callbacks' argument */
    cl_defect_action_t action;
    int64_t expected_version; /* 0: the version now */
    int64_t dept;             /* the department the step names, 0: none */
    char code[48];            /* the defect's code, for messages */
} df_call_t;
_Static_assert(offsetof(df_call_t, call) == 0, "a df_call_t is its cl_call_t");

/* ------------------------------------------------------------------ a defect as a message */

#define DR(col) CL_COL(defect_rows, col)

/* Tags joined by sep (U+001F: defect_rows' layouts, locations; ',': its photos) as an
 * array; *buf and *arr are the caller's to free. false when out of memory. */
static bool split_tags(const char *s, char sep, char **buf, char ***arr, size_t *n) {
    *buf = NULL;
    *arr = NULL;
    *n = 0;
    if (!*s) return true;
    size_t k = 1;
    for (const char *p = s; *p; p++)
        k += *p == sep;
    *buf = strdup(s);
    *arr = calloc(k, sizeof **arr);
    if (!*buf || !*arr) return false;
    char *p = *buf;
    (*arr)[(*n)++] = p;
    for (; *p; p++)
        if (*p == sep) {
            *p = '\0';
            (*arr)[(*n)++] = p + 1;
        }
    return true;
}

/* One Defect and what it owns beyond the result. */
typedef struct df_slot {
    pb_defect_t rec;
    char *lay_buf, *loc_buf, *pho_buf;
    char **lay, **loc, **pho;
} df_slot_t;

static void df_slot_clear(void *slot) {
    df_slot_t *s = slot;
    free(s->lay_buf);
    free(s->loc_buf);
    free(s->lay);
    free(s->loc);
    free(s->pho_buf);
    free(s->pho);
    s->lay_buf = s->loc_buf = s->pho_buf = NULL;
    s->lay = s->loc = s->pho = NULL;
}

static ProtobufCMessage *df_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    (void)c;
    df_slot_t *s = slot;
    pb_defect_t *d = &s->rec;
    closeloop__defect__init(d);
    s->lay_buf = s->loc_buf = s->pho_buf = NULL;
    s->lay = s->loc = s->pho = NULL;
    d->id = cl_sql_i64(res, row, DR(id));
    d->version = cl_sql_i64(res, row, DR(version));
    d->project_id = cl_sql_i64(res, row, DR(project_id));
    d->project_name = PQgetvalue(res, row, DR(project_name));
    d->code = PQgetvalue(res, row, DR(code));
    d->title = PQgetvalue(res, row, DR(title));
    d->description = PQgetvalue(res, row, DR(description));
    d->source = cl_defect_source_parse(cl_sql_text(res, row, DR(source)));
    d->kind = cl_defect_kind_parse(cl_sql_text(res, row, DR(kind)));
    d->specialty = cl_specialty_parse(cl_sql_text(res, row, DR(specialty)));
    d->category = PQgetvalue(res, row, DR(category));
    d->round = cl_round_kind_parse(cl_sql_text(res, row, DR(round)));
    if (!split_tags(cl_sql_text(res, row, DR(layouts)), '\x1f', &s->lay_buf, &s->lay,
                    &d->n_layouts) ||
        !split_tags(cl_sql_text(res, row, DR(locations)), '\x1f', &s->loc_buf, &s->loc,
                    &d->n_locations) ||
        !split_tags(cl_sql_text(res, row, DR(photos)), ',', &s->pho_buf, &s->pho,
                    &d->n_photo_sha256)) {
        df_slot_clear(s);
        return NULL;
    }
    d->layouts = s->lay;
    d->locations = s->loc;
    d->photo_sha256 = s->pho;
    d->found_on = PQgetvalue(res, row, DR(found_on));
    d->risk = PQgetvalue(res, row, DR(risk));
    d->estimated_loss = PQgetvalue(res, row, DR(estimated_loss));
    d->responsible_dept_id = cl_sql_i64(res, row, DR(responsible_dept_id));
    d->responsible_dept = PQgetvalue(res, row, DR(responsible_dept));
    d->meeting_on = PQgetvalue(res, row, DR(meeting_on));
    d->meeting_attendees = PQgetvalue(res, row, DR(meeting_attendees));
    d->meeting_minutes = PQgetvalue(res, row, DR(meeting_minutes));
    d->cause_analysis = PQgetvalue(res, row, DR(cause_analysis));
    d->corrective_measures = PQgetvalue(res, row, DR(corrective_measures));
    d->preventive_measures = PQgetvalue(res, row, DR(preventive_measures));
    d->grade = cl_defect_grade_parse(cl_sql_text(res, row, DR(grade)));
    d->repairable = (int32_t)cl_sql_i64(res, row, DR(repairable));
    d->approved_by = PQgetvalue(res, row, DR(approved_by));
    d->approved_at_ms = (uint64_t)cl_sql_i64(res, row, DR(approved_ms));
    d->fix_plan = PQgetvalue(res, row, DR(fix_plan));
    d->cost_estimate = PQgetvalue(res, row, DR(cost_estimate));
    d->state = (Closeloop__DefectState)cl_defect_state_parse(cl_sql_text(res, row, DR(state)));
    d->impact_units = (uint32_t)cl_sql_i64(res, row, DR(impact_units));
    d->item_count = (uint32_t)cl_sql_i64(res, row, DR(item_count));
    d->ticket_count = (uint32_t)cl_sql_i64(res, row, DR(ticket_count));
    d->created_at_ms = (uint64_t)cl_sql_i64(res, row, DR(created_ms));
    d->updated_at_ms = (uint64_t)cl_sql_i64(res, row, DR(updated_ms));
    return &d->base;
}

static const cl_call_kind_t kind_defect =
    CL_CALL_KIND(DEFECT, defect_page, df_slot_t, df_fill, df_slot_clear);

#define GI(col) CL_COL(defect_get_items, col)
#define GE(col) CL_COL(defect_get_events, col)

/* Answers with the defect of results first..first+2 of r (defect_get, its items, its
 * events): not found when defect_get has no row. Never frees the call. */
static void reply_defect(cl_call_t *c, const cl_db_result_t *r, int first) {
    const PGresult *row = cl_call_rows(c, r, first);
    const PGresult *its = row ? cl_call_rows(c, r, first + 1) : NULL;
    const PGresult *evs = its ? cl_call_rows(c, r, first + 2) : NULL;
    if (!evs) return; /* answered */
    if (PQntuples(row) != 1) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such defect");
        return;
    }
    df_slot_t s;
    if (!df_fill(&s, c, row, 0)) {
        cl_req_fail(c->req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
        return;
    }
    size_t ni = (size_t)PQntuples(its), ne = (size_t)PQntuples(evs);
    Closeloop__DefectItem *items = calloc(ni + 1, sizeof *items);
    Closeloop__DefectItem **iptr = calloc(ni + 1, sizeof *iptr);
    Closeloop__DefectEvent *events = calloc(ne + 1, sizeof *events);
    Closeloop__DefectEvent **eptr = calloc(ne + 1, sizeof *eptr);
    if (!items || !iptr || !events || !eptr) {
        cl_req_fail(c->req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
        goto out;
    }
    for (size_t i = 0; i < ni; i++) {
        int k = (int)i;
        Closeloop__DefectItem *x = &items[i];
        closeloop__defect_item__init(x);
        x->item_id = PQgetvalue(its, k, GI(item_id));
        x->unit = PQgetvalue(its, k, GI(unit));
        x->layout = PQgetvalue(its, k, GI(layout));
        x->location = PQgetvalue(its, k, GI(location));
        x->category = PQgetvalue(its, k, GI(category));
        x->description = PQgetvalue(its, k, GI(description));
        x->ticket_number = (uint32_t)cl_sql_i64(its, k, GI(ticket_number));
        x->ticket_state = (Closeloop__TicketState)cl_domain_parse(
            CL_DOM_TICKET_STATE, cl_sql_text(its, k, GI(ticket_state)));
        iptr[i] = x;
    }
    for (size_t i = 0; i < ne; i++) {
        int k = (int)i;
        Closeloop__DefectEvent *e = &events[i];
        closeloop__defect_event__init(e);
        e->at_ms = (uint64_t)cl_sql_i64(evs, k, GE(at_ms));
        e->actor = PQgetvalue(evs, k, GE(actor));
        e->action =
            (Closeloop__DefectAction)cl_defect_action_parse(cl_sql_text(evs, k, GE(action)));
        e->from_state =
            (Closeloop__DefectState)cl_defect_state_parse(cl_sql_text(evs, k, GE(from_state)));
        e->to_state =
            (Closeloop__DefectState)cl_defect_state_parse(cl_sql_text(evs, k, GE(to_state)));
        e->note = PQgetvalue(evs, k, GE(note));
        e->detail = PQgetvalue(evs, k, GE(detail));
        eptr[i] = e;
    }
    s.rec.n_items = ni;
    s.rec.items = iptr;
    s.rec.n_events = ne;
    s.rec.events = eptr;
    cl_req_reply(c->req, CL_MSG_DEFECT, &s.rec.base);
out:
    free(items);
    free(iptr);
    free(events);
    free(eptr);
    df_slot_clear(&s);
}

/* ------------------------------------------------------------------ validation */

/* A sum of money in yuan: up to 12 digits, then up to 2 decimals ("12000", "0.5"). */
static bool money_valid(const char *s) {
    size_t digits = 0;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (digits == 0 || digits > 12) return false;
    if (*s == '.') {
        s++;
        size_t d = 0;
        while (*s >= '0' && *s <= '9')
            s++, d++;
        if (d == 0 || d > 2) return false;
    }
    return *s == '\0';
}

CL_MUSTCHECK static bool need_money(cl_req_t *req, const char *field, const char *v) {
    if (!*v || money_valid(v)) return true;
    cl_req_fail(req, CL_EINVAL, "%s must be a sum in yuan, like 12000 or 12000.50", field);
    return false;
}

/* The text[] literal of tags (layouts, locations), each checked; NULL after failing. */
static char *need_tags(cl_req_t *req, const char *field, char **v, size_t n, size_t max) {
    if (n > CL_LIM_DEFECT_TAGS) {
        cl_req_fail(req, CL_EINVAL, "%s: at most %d", field, CL_LIM_DEFECT_TAGS);
        return NULL;
    }
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    for (size_t i = 0; i < n; i++) {
        if (!cl_req_need_text(req, field, v[i], true, max)) {
            free(cl_sqlbuf_array_close(&b));
            return NULL;
        }
        cl_sqlbuf_array_text(&b, v[i]);
    }
    char *lit = cl_sqlbuf_array_close(&b);
    if (!lit) cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
    return lit;
}

/* The uuid[] literal of item ids, each a UUID; NULL after failing. */
static char *need_items(cl_req_t *req, char **v, size_t n) {
    if (n > CL_LIM_DEFECT_ITEMS) {
        cl_req_fail(req, CL_EINVAL, "item_ids: at most %d in one request", CL_LIM_DEFECT_ITEMS);
        return NULL;
    }
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    for (size_t i = 0; i < n; i++) {
        if (!cl_uuid_valid(v[i])) {
            free(cl_sqlbuf_array_close(&b));
            cl_req_fail(req, CL_EINVAL, "item_ids: '%.40s' is not an item id (a UUID)", v[i]);
            return NULL;
        }
        cl_sqlbuf_array_text(&b, v[i]);
    }
    char *lit = cl_sqlbuf_array_close(&b);
    if (!lit) cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
    return lit;
}

CL_MUSTCHECK static bool need_ref(cl_req_t *req, const char *ref) {
    return cl_req_need_text(req, "defect", ref, true, CL_LIM_CODE_CHARS);
}

/* A required domain value: its stored name, or NULL after failing. */
static const char *need_enum(cl_req_t *req, const char *field, cl_domain_t d, int v) {
    const char *name = cl_domain_name(d, v);
    if (!name) {
        char why[300];
        cl_req_fail(req, CL_EINVAL, "%s", cl_domain_must_be(why, sizeof why, field, d));
    }
    return name;
}

/* ------------------------------------------------------------------ create */

static void create_done(void *arg, const cl_db_result_t *r) {
    df_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (res && PQntuples(res) == 1 && cl_sql_isnull(res, 0, CL_COL(defect_create, id))) {
        const char *what = cl_sql_text(res, 0, CL_COL(defect_create, missing));
        const char *why = cl_sql_text(res, 0, CL_COL(defect_create, invalid));
        if (!*what && *why)
            cl_req_fail(c->call.req, CL_EPRECONDITION, "%s", why);
        else
            cl_req_fail(c->call.req, CL_ENOTFOUND, "no such %s", *what ? what : "project");
    } else if (res && cl_call_rows(&c->call, r, 1)) {
        reply_defect(&c->call, r, 2);
    }
    cl_call_free(&c->call);
}

/* A create's photos as defect_add_photos' parameters: hashes and bytes as binary bytea[]
 * (lengths in *sha_len, *data_len), mimes as a text[] literal; each malloc'd. false
 * after failing the request. */
static bool photo_params(cl_req_t *req, const Closeloop__DefectCreate *m, char **sha, int *sha_len,
                         char **mimes, char **data, int *data_len) {
    size_t n = m->n_photos;
    *sha = *mimes = *data = NULL;
    if (n > CL_LIM_ITEM_PHOTOS) {
        cl_req_fail(req, CL_EINVAL, "photos: at most %d", CL_LIM_ITEM_PHOTOS);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = cl_photo_problem(m->photos[i]);
        if (why) {
            cl_req_fail(req, CL_EINVAL, "photo %zu %s", i + 1, why);
            return false;
        }
    }
    uint8_t hashes[CL_LIM_ITEM_PHOTOS][CL_SHA256_LEN];
    const uint8_t *sp[CL_LIM_ITEM_PHOTOS + 1], *dp[CL_LIM_ITEM_PHOTOS + 1];
    size_t sl[CL_LIM_ITEM_PHOTOS + 1], dl[CL_LIM_ITEM_PHOTOS + 1];
    cl_sqlbuf_t b = {0};
    cl_sqlbuf_array_open(&b);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        ok = cl_sha256(m->photos[i]->data.data, m->photos[i]->data.len, hashes[i]) == CL_OK;
        sp[i] = hashes[i];
        sl[i] = CL_SHA256_LEN;
        dp[i] = m->photos[i]->data.data;
        dl[i] = m->photos[i]->data.len;
        cl_sqlbuf_array_text(&b, m->photos[i]->mime);
    }
    *mimes = cl_sqlbuf_array_close(&b);
    ok = ok && *mimes && (*sha = cl_sqlbin_bytea_array(sp, sl, n, sha_len)) &&
         (*data = cl_sqlbin_bytea_array(dp, dl, n, data_len));
    if (!ok) {
        free(*sha);
        free(*mimes);
        free(*data);
        *sha = *mimes = *data = NULL;
        cl_req_fail(req, CL_ENOMEM, "%s", cl_strerror(CL_ENOMEM));
    }
    return ok;
}

void cl_defect_create(cl_req_t *req) {
    const Closeloop__DefectCreate *m = (const Closeloop__DefectCreate *)req->msg;
    if (!cl_req_need_text(req, "idempotency_key", m->idempotency_key, true, CL_LIM_KEY_CHARS) ||
        !cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "title", m->title, true, CL_LIM_TITLE_CHARS) ||
        !cl_req_need_text(req, "description", m->description, false, CL_LIM_DEFECT_TEXT_CHARS) ||
        !cl_req_need_text(req, "risk", m->risk, false, CL_LIM_RISK_CHARS) ||
        !need_money(req, "estimated_loss", m->estimated_loss))
        return;
    const char *source = need_enum(req, "source", CL_DOM_DEFECT_SOURCE, m->source);
    const char *kind = source ? need_enum(req, "kind", CL_DOM_DEFECT_KIND, m->kind) : NULL;
    const char *specialty =
        kind ? need_enum(req, "specialty", CL_DOM_SPECIALTY, m->specialty) : NULL;
    if (!specialty) return;
    const char *round = NULL;
    if (m->round != 0 && !(round = need_enum(req, "round", CL_DOM_ROUND_KIND, m->round))) return;
    if (*m->category && !cl_req_need_trade(req, m->category)) return;
    if (*m->found_on && !cl_req_need_date(req, "found_on", m->found_on)) return;
    if (*m->proposal_seed && !cl_uuid_valid(m->proposal_seed)) {
        cl_req_fail(req, CL_EINVAL, "proposal_seed must be an item id (a UUID)");
        return;
    }
    if (m->department_id < 0) {
        cl_req_fail(req, CL_EINVAL, "department_id must be a department id, or 0 for none");
        return;
    }
    if (m->complaint_id < 0 ||
        (m->complaint_id > 0 && m->source != CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_COMPLAINT)) {
        cl_req_fail(req, CL_EINVAL,
                    "complaint_id must be a complaint id with source complaint, or 0 for none");
        return;
    }
    char *lay = need_tags(req, "layouts", m->layouts, m->n_layouts, CL_LIM_LAYOUT_CHARS);
    char *loc =
        lay ? need_tags(req, "locations", m->locations, m->n_locations, CL_LIM_LOCATION_CHARS)
            : NULL;
    char *items = loc ? need_items(req, m->item_ids, m->n_item_ids) : NULL;
    char *sha = NULL, *mimes = NULL, *data = NULL;
    int lengths[CL_NPARAMS(defect_add_photos)] = {0};
    bool photos_ok = items && photo_params(req, m, &sha, &lengths[1], &mimes, &data, &lengths[3]);
    df_call_t *c = photos_ok ? cl_call_new(req, sizeof *c) : NULL;
    if (c) {
        char *key = m->idempotency_key;
        char project[24], dept[24], user[24], complaint[24];
        cl_sql_int_param(user, c->call.session.user_id);
        const cl_call_stmt_t st[] = {
            CL_STMT(defect_create, CL_CALL_SCOPE(&c->call), key,
                    cl_sql_id_param(project, m->project_id), m->title, m->description, source, kind,
                    specialty, *m->category ? m->category : NULL, round, lay, loc, m->risk,
                    *m->estimated_loss ? m->estimated_loss : NULL,
                    cl_sql_id_param(dept, m->department_id), items,
                    *m->proposal_seed ? m->proposal_seed : NULL, *m->found_on ? m->found_on : NULL,
                    user, c->call.session.username, cl_sql_id_param(complaint, m->complaint_id)),
            CL_STMT_BIN(defect_add_photos, lengths, key, sha, mimes, data),
            CL_STMT(defect_get, CL_CALL_SCOPE(&c->call), "true", NULL, NULL, key, user),
            CL_STMT(defect_get_items, NULL, NULL, key),
            CL_STMT(defect_get_events, NULL, NULL, key),
        };
        snprintf(c->call.lost, sizeof c->call.lost,
                 "idempotency key \"%.80s\" was already used by another request", key);
        cl_call_run(&c->call, true, st, 5, create_done);
    }
    free(lay);
    free(loc);
    free(items);
    free(sha);
    free(mimes);
    free(data);
}

/* ------------------------------------------------------------------ steps and links */

#define FX(col) CL_COL(defect_facts, col)

static bool fx_bool(const PGresult *res, int col) {
    return cl_sql_text(res, 0, col)[0] == 't';
}

/* "a member of 工程管理部, the responsible department" ... for a refusal. */
static void who_words(char *buf, size_t n, cl_defect_actor_t by, const PGresult *res) {
    const char *rd = cl_sql_text(res, 0, FX(responsible_dept));
    switch (by) {
    case CL_DBY_CR:
        snprintf(buf, n, "customer relations of the project's company (role cr) or an HQ admin");
        break;
    case CL_DBY_RESPONSIBLE:
        if (*rd)
            snprintf(buf, n, "a member of %s, the responsible department", rd);
        else
            snprintf(buf, n,
                     "a member of the responsible department, and the defect has none "
                     "yet (set it at the meeting or the decision: --department)");
        break;
    case CL_DBY_SUPERIOR_LEADER: {
        const char *sup = cl_sql_text(res, 0, FX(superior_dept));
        const char *lead = cl_sql_text(res, 0, FX(superior_leader));
        if (*sup)
            snprintf(buf, n, "the leader of %s, the superior department of %s (%s)", sup, rd,
                     *lead ? lead : "no leader set");
        else
            snprintf(buf, n,
                     "the leader of the responsible department's superior department, "
                     "and %s has none",
                     *rd ? rd : "the defect has no responsible department, so it");
        break;
    }
    case CL_DBY_COST:
        snprintf(buf, n, "a member of a cost department of the project's company");
        break;
    case CL_DBY_HQ: snprintf(buf, n, "an HQ admin"); break;
    }
}

static void written_done(void *arg, const cl_db_result_t *r) {
    df_call_t *c = arg;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        /* answered */
    } else if (c->action == CL_DACT_LINK && PQntuples(res) == 1 &&
               !cl_sql_isnull(res, 0, CL_COL(defect_link, bad_item))) {
        cl_req_fail(c->call.req, CL_EINVAL, "item_ids: %s is not an item of defect %s's project",
                    cl_sql_text(res, 0, CL_COL(defect_link, bad_item)), c->code);
    } else if (PQntuples(res) != 1 || cl_sql_text(res, 0, 0)[0] != 't') {
        cl_req_fail_conflict(c->call.req, true, 0, 0,
                             "defect %s was changed by someone else meanwhile; look again "
                             "(cloop defect show %s)",
                             c->code, c->code);
    } else {
        reply_defect(&c->call, r, 1);
    }
    cl_call_free(&c->call);
}

static void facts_done(void *arg, const cl_db_result_t *r) {
    df_call_t *c = arg;
    cl_req_t *req = c->call.req;
    const PGresult *res = cl_call_rows(&c->call, r, 0);
    if (!res) {
        cl_call_free(&c->call);
        return;
    }
    bool related =
        PQntuples(res) == 1 && (fx_bool(res, FX(is_responsible)) || fx_bool(res, FX(is_leader)) ||
                                fx_bool(res, FX(is_cost)));
    if (PQntuples(res) != 1 || !(fx_bool(res, FX(visible)) || related)) {
        cl_req_fail(req, CL_ENOTFOUND, "no such defect");
        cl_call_free(&c->call);
        return;
    }
    snprintf(c->code, sizeof c->code, "%s", cl_sql_text(res, 0, FX(code)));
    const char *state_name = cl_sql_text(res, 0, FX(state));
    cl_defect_state_t state = cl_defect_state_parse(state_name);
    int64_t version = cl_sql_i64(res, 0, FX(version));
    const char *grade = cl_sql_text(res, 0, FX(grade));
    cl_defect_facts_t f = {
        .grade = cl_domain_parse(CL_DOM_DEFECT_GRADE, grade),
        .repairable = (int)cl_sql_i64(res, 0, FX(repairable)),
        .approved = fx_bool(res, FX(approved)),
        .estimated = fx_bool(res, FX(estimated)),
    };
    cl_defect_step_t step;
    cl_defect_refusal_t why;
    int rc = cl_defect_step(state, c->action, &f, &step, &why);
    const char *aname = cl_defect_action_name(c->action);
    if (rc == CL_ECONFLICT) {
        cl_req_fail_conflict(req, false, (int32_t)state, version,
                             "defect %s is %s (%s), version %lld: %s does not apply to it", c->code,
                             state_name, cl_defect_state_label(state), (long long)version, aname);
    } else if (rc == CL_EPRECONDITION) {
        cl_req_fail(req, CL_EPRECONDITION, "defect %s: %s", c->code, cl_defect_refusal_text(why));
    } else if (rc != CL_OK) {
        cl_req_fail(req, CL_EINTERNAL, "defect %s is in an unknown state", c->code);
    } else if (c->expected_version && c->expected_version != version) {
        cl_req_fail_conflict(req, false, (int32_t)state, version,
                             "defect %s was changed by someone else: it is now %s, version %lld "
                             "(you had version %lld)",
                             c->code, state_name, (long long)version,
                             (long long)c->expected_version);
    } else {
        cl_op_t op = step.by == CL_DBY_CR   ? CL_OP_DEFECT_MANAGE
                     : step.by == CL_DBY_HQ ? CL_OP_KB_CURATE
                                            : CL_OP_DEFECT_STEP;
        bool is = step.by == CL_DBY_CR                ? fx_bool(res, FX(is_cr))
                  : step.by == CL_DBY_RESPONSIBLE     ? fx_bool(res, FX(is_responsible))
                  : step.by == CL_DBY_SUPERIOR_LEADER ? fx_bool(res, FX(is_leader))
                  : step.by == CL_DBY_COST            ? fx_bool(res, FX(is_cost))
                                                      : fx_bool(res, FX(is_hq));
        if (cl_authz_check(true, c->call.session.role, op) != CL_OK || !is) {
            char who[400];
            who_words(who, sizeof who, step.by, res);
            cl_req_fail(req, CL_EFORBIDDEN, "only %s may %s defect %s", who, aname, c->code);
        } else if (!fx_bool(res, FX(dept_ok))) {
            cl_req_fail(req, CL_EINVAL,
                        "department_id %lld is not a department of defect %s's company",
                        (long long)c->dept, c->code);
        } else {
            char id[24], ver[24], dept[24], user[24];
            cl_sql_int_param(id, cl_sql_i64(res, 0, FX(id)));
            cl_sql_int_param(ver, version);
            cl_sql_int_param(user, c->call.session.user_id);
            const char *to = cl_defect_state_name(step.to);
            cl_call_stmt_t st[4];
            char *items = NULL;
            if (c->action == CL_DACT_LINK) {
                const Closeloop__DefectLink *l = (const Closeloop__DefectLink *)req->msg;
                items = need_items(req, l->item_ids, l->n_item_ids);
                if (!items) {
                    cl_call_free(&c->call);
                    return;
                }
                st[0] = CL_STMT(defect_link, id, state_name, ver, items, user,
                                c->call.session.username);
            } else {
                const Closeloop__DefectStep *m = (const Closeloop__DefectStep *)req->msg;
                const char *g = m->grade ? cl_defect_grade_name(m->grade) : NULL;
                const char *rep = m->repairable == 1 ? "true" : m->repairable == 2 ? "false" : NULL;
                st[0] = CL_STMT(defect_step, id, state_name, ver, to, aname,
                                c->action == CL_DACT_MEET ? m->minutes : m->note, m->attendees,
                                m->minutes, m->cause, m->corrective, m->preventive,
                                cl_sql_id_param(dept, m->department_id), g, rep,
                                *m->cost ? m->cost : NULL, user, c->call.session.username);
            }
            st[1] = CL_STMT(defect_get, CL_CALL_SCOPE(&c->call), "true", id, NULL, NULL, user);
            st[2] = CL_STMT(defect_get_items, id, NULL, NULL);
            st[3] = CL_STMT(defect_get_events, id, NULL, NULL);
            cl_call_run(&c->call, true, st, 4, written_done);
            free(items);
            return;
        }
    }
    cl_call_free(&c->call);
}

/* Starts a step or a link of the defect named ref: defect_facts first. */
static void start_step(cl_req_t *req, const char *ref, cl_defect_action_t action, int64_t dept,
                       int64_t expected_version) {
    df_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    c->action = action;
    c->dept = dept;
    c->expected_version = expected_version;
    snprintf(c->code, sizeof c->code, "%s", ref);
    char user[24], d[24];
    const cl_call_stmt_t st =
        CL_STMT(defect_facts, CL_CALL_SCOPE(&c->call), ref,
                cl_sql_int_param(user, c->call.session.user_id), cl_sql_id_param(d, dept));
    cl_call_run(&c->call, false, &st, 1, facts_done);
}

/* Which fields an action takes. */
enum { F_NOTE = 1, F_MEET = 2, F_ANALYSIS = 4, F_DECIDE = 8, F_COST = 16 };

static unsigned action_fields(cl_defect_action_t a) {
    switch (a) {
    case CL_DACT_MEET: return F_MEET | F_ANALYSIS | F_NOTE;
    case CL_DACT_DECIDE: return F_DECIDE | F_ANALYSIS | F_NOTE;
    case CL_DACT_ESTIMATE: return F_COST | F_NOTE;
    default: return F_NOTE;
    }
}

void cl_defect_step_req(cl_req_t *req) {
    const Closeloop__DefectStep *m = (const Closeloop__DefectStep *)req->msg;
    int wire = (int)m->action;
    cl_defect_action_t a = (cl_defect_action_t)wire;
    if (!need_ref(req, m->defect)) return;
    if (a == CL_DACT_ACCEPT || a == CL_DACT_RETURN) {
        cl_req_fail(req, CL_EINVAL,
                    "HQ accepts or returns a filed defect with cloop kb accept|return");
        return;
    }
    if (wire <= CL_DACT_CREATE || wire >= CL_DACT__ACTIONS || a == CL_DACT_LINK) {
        cl_req_fail(req, CL_EINVAL,
                    "action must be meet, decide, approve, plan, estimate, rectify, verify_pass, "
                    "verify_fail or file");
        return;
    }
    unsigned fields = action_fields(a);
    const char *aname = cl_defect_action_name(a);
    if ((!(fields & F_MEET) && (*m->attendees || *m->minutes)) ||
        (!(fields & F_ANALYSIS) &&
         (*m->cause || *m->corrective || *m->preventive || m->department_id)) ||
        (!(fields & F_DECIDE) && (m->grade || m->repairable)) || (!(fields & F_COST) && *m->cost)) {
        cl_req_fail(req, CL_EINVAL, "%s takes only its own fields (see DefectStep)", aname);
        return;
    }
    if (!cl_req_need_text(req, "note", m->note, false, CL_LIM_ANALYSIS_CHARS) ||
        !cl_req_need_text(req, "attendees", m->attendees, a == CL_DACT_MEET,
                          CL_LIM_ATTENDEES_CHARS) ||
        !cl_req_need_text(req, "minutes", m->minutes, a == CL_DACT_MEET, CL_LIM_ANALYSIS_CHARS) ||
        !cl_req_need_text(req, "cause", m->cause, false, CL_LIM_ANALYSIS_CHARS) ||
        !cl_req_need_text(req, "corrective", m->corrective, false, CL_LIM_ANALYSIS_CHARS) ||
        !cl_req_need_text(req, "preventive", m->preventive, false, CL_LIM_ANALYSIS_CHARS))
        return;
    /* The note a step requires (cl_defect_step_t.note_required); meet's are its minutes. */
    if ((a == CL_DACT_PLAN || a == CL_DACT_RECTIFY || a == CL_DACT_VERIFY_FAIL) && !*m->note) {
        cl_req_fail(req, CL_EINVAL, "note is required for %s", aname);
        return;
    }
    if (a == CL_DACT_DECIDE &&
        (!cl_defect_grade_name(m->grade) || m->repairable < 1 || m->repairable > 2)) {
        cl_req_fail(req, CL_EINVAL, "decide needs grade (A or B) and repairable (yes or no)");
        return;
    }
    if (a == CL_DACT_ESTIMATE && !*m->cost) {
        cl_req_fail(req, CL_EINVAL, "cost is required for estimate");
        return;
    }
    if (!need_money(req, "cost", m->cost)) return;
    if (m->department_id < 0 || m->expected_version < 0) {
        cl_req_fail(req, CL_EINVAL, "department_id and expected_version must not be negative");
        return;
    }
    start_step(req, m->defect, a, m->department_id, m->expected_version);
}

void cl_defect_link(cl_req_t *req) {
    const Closeloop__DefectLink *m = (const Closeloop__DefectLink *)req->msg;
    if (!need_ref(req, m->defect)) return;
    if (m->n_item_ids == 0) {
        cl_req_fail(req, CL_EINVAL, "item_ids: give at least one item");
        return;
    }
    char *items = need_items(req, m->item_ids, m->n_item_ids);
    if (!items) return;
    free(items); /* checked here; built again for the write */
    start_step(req, m->defect, CL_DACT_LINK, 0, 0);
}

/* ------------------------------------------------------------------ show, list, proposals */

static void show_done(void *arg, const cl_db_result_t *r) {
    df_call_t *c = arg;
    reply_defect(&c->call, r, 0);
    cl_call_free(&c->call);
}

void cl_defect_show(cl_req_t *req) {
    const Closeloop__DefectShowRequest *m = (const Closeloop__DefectShowRequest *)req->msg;
    if (!need_ref(req, m->defect)) return;
    df_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return; /* answered */
    char user[24];
    cl_sql_int_param(user, c->call.session.user_id);
    const cl_call_stmt_t st[] = {
        CL_STMT(defect_get, CL_CALL_SCOPE(&c->call), "false", NULL, m->defect, NULL, user),
        CL_STMT(defect_get_items, NULL, m->defect, NULL),
        CL_STMT(defect_get_events, NULL, m->defect, NULL),
    };
    cl_call_run(&c->call, false, st, 3, show_done);
}

void cl_defect_list(cl_req_t *req) {
    const Closeloop__DefectListRequest *m = (const Closeloop__DefectListRequest *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    const char *state = "";
    if (m->state && !(state = need_enum(req, "state", CL_DOM_DEFECT_STATE, m->state))) return;
    cl_call_t *c = cl_call_list_new(req, &kind_defect, "no such project");
    if (!c) return; /* answered */
    char project[24];
    const cl_call_stmt_t st =
        CL_STMT(defect_list, CL_CALL_SCOPE(c), cl_sql_id_param(project, m->project_id), state);
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}

#define PR(col) CL_COL(defect_proposals, col)

static ProtobufCMessage *proposal_fill(void *slot, const cl_call_t *c, const PGresult *res,
                                       int row) {
    (void)c;
    Closeloop__DefectProposal *p = slot;
    closeloop__defect_proposal__init(p);
    p->seed_item_id = PQgetvalue(res, row, PR(seed_item_id));
    p->category = PQgetvalue(res, row, PR(category));
    p->layout = PQgetvalue(res, row, PR(layout));
    p->round = cl_round_kind_parse(cl_sql_text(res, row, PR(round)));
    p->units = (uint32_t)cl_sql_i64(res, row, PR(units));
    p->items = (uint32_t)cl_sql_i64(res, row, PR(items));
    p->description = PQgetvalue(res, row, PR(description));
    p->defects = PQgetvalue(res, row, PR(defects));
    return &p->base;
}

static const cl_call_kind_t kind_proposal = CL_CALL_KIND(
    DEFECT_PROPOSAL, defect_proposal_page, Closeloop__DefectProposal, proposal_fill, NULL);

void cl_defect_proposals(cl_req_t *req) {
    const Closeloop__DefectProposalsRequest *m =
        (const Closeloop__DefectProposalsRequest *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return;
    const char *round = NULL;
    if (m->round && !(round = need_enum(req, "round", CL_DOM_ROUND_KIND, m->round))) return;
    if (m->min_units > 100000) {
        cl_req_fail(req, CL_EINVAL, "min_units must be at most 100000");
        return;
    }
    cl_call_t *c = cl_call_list_new(req, &kind_proposal, "no such project");
    if (!c) return; /* answered */
    char project[24], min[24];
    const cl_call_stmt_t st =
        CL_STMT(defect_proposals, CL_CALL_SCOPE(c), cl_sql_id_param(project, m->project_id), round,
                cl_sql_int_param(min, m->min_units ? m->min_units : 3));
    cl_call_run(c, false, &st, 1, cl_call_list_done);
}
