/* lesson.c - lessons pushed to the site and the defect reports: a mock-1 round's check
 * points (listed, derived again, one recorded passed; one found is an inspection item
 * naming its case, recorded by insp_item_record), HQ's view of which lessons were looked
 * at on site, each new item's most similar case, the defect feedback report of a project
 * and the periodic report of a city company to HQ.
 *
 * Every request is one batch (lesson.sql): first a target statement (the project, its
 * round or the company: its name, or why it is missing), then the statements whose rows
 * are the reply's sections. The reply, LessonReport, carries each section as column names
 * and rows of text cells as PostgreSQL gave them (stored names; cloop shows the
 * registry's labels), as many rows as fit in one frame with the count of all.
 *
 * Runs on the loop thread. A lesson_call_t holds one request's state; the db callback
 * frees it exactly once, as its last act. Reply strings point into the PGresults. */
#include "dispatch.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl_sql.h"
#include "domain.h"
#include "handler.h"
#include "msg.h"
#include "sqlutil.h"

#define LESSON_FRAME_SLACK 256 /* frame bytes kept free for the reply's own encoding */
#define LESSON_SECTIONS    4   /* sections of one reply, at most */
#define LESSON_MATCH_SINCE 30  /* days back that kb match looks without --since */
#define LESSON_MATCH_SCORE 0.2 /* the least score of a match without one given */

/* The target statements (lesson_target_round, _project, _company) share their columns. */
#define TARGET_TITLE   ((int)CL_COL(lesson_target_round, title))
#define TARGET_MISSING ((int)CL_COL(lesson_target_round, missing))
_Static_assert((int)CL_COL(lesson_target_project, title) == TARGET_TITLE &&
                   (int)CL_COL(lesson_target_company, title) == TARGET_TITLE &&
                   (int)CL_COL(lesson_target_project, missing) == TARGET_MISSING &&
                   (int)CL_COL(lesson_target_company, missing) == TARGET_MISSING,
               "the target statements answer title and missing in the same columns");

typedef struct lesson_call {
    cl_call_t base;                     /* first: the call */
    const char *names[LESSON_SECTIONS]; /* the sections, in statement order */
    int first;                          /* the statement of the first section */
    bool pass;                          /* statement 1 is lesson_checkpoint_pass */
    const char *code;                   /* the case code passed (pass only) */
} lesson_call_t;

/* One section from res; its rows as many as fit in *budget bytes (decreased). Cells
 * point into res; the arrays are the caller's (freed by sections_free). */
typedef struct section_mem {
    Closeloop__LessonRow *rows;
    Closeloop__LessonRow **rowp;
    char **cells;
    char **cols;
} section_mem_t;

static bool section_fill(Closeloop__LessonSection *s, section_mem_t *mem, const char *name,
                         const PGresult *res, size_t *budget) {
    int nrows = PQntuples(res), ncols = PQnfields(res);
    mem->rows = calloc((size_t)nrows + 1, sizeof *mem->rows);
    mem->rowp = calloc((size_t)nrows + 1, sizeof *mem->rowp);
    mem->cells = calloc((size_t)nrows * (size_t)ncols + 1, sizeof *mem->cells);
    mem->cols = calloc((size_t)ncols + 1, sizeof *mem->cols);
    if (!mem->rows || !mem->rowp || !mem->cells || !mem->cols) return false;
    closeloop__lesson_section__init(s);
    s->name = (char *)name;
    for (int k = 0; k < ncols; k++)
        mem->cols[k] = PQfname(res, k);
    s->n_columns = (size_t)ncols;
    s->columns = mem->cols;
    s->total_rows = (uint32_t)nrows;
    size_t used = protobuf_c_message_get_packed_size(&s->base) + 8;
    if (used > *budget) return true; /* not even the header: an empty section */
    *budget -= used;
    for (int r = 0; r < nrows; r++) {
        Closeloop__LessonRow *row = &mem->rows[r];
        closeloop__lesson_row__init(row);
        row->n_cells = (size_t)ncols;
        row->cells = mem->cells + (size_t)r * (size_t)ncols;
        for (int k = 0; k < ncols; k++)
            row->cells[k] = PQgetvalue(res, r, k);
        size_t size = protobuf_c_message_get_packed_size(&row->base) + 6;
        if (size > *budget) break;
        *budget -= size;
        mem->rowp[s->n_rows++] = row;
    }
    s->rows = mem->rowp;
    return true;
}

static void lesson_done(void *arg, const cl_db_result_t *r) {
    lesson_call_t *x = arg;
    cl_call_t *c = &x->base;
    const PGresult *target = cl_call_rows(c, r, 0);
    const PGresult *res[LESSON_SECTIONS] = {0};
    const PGresult *pass = NULL;
    size_t n = 0;
    bool ok = target != NULL;
    if (ok && x->pass) ok = (pass = cl_call_rows(c, r, 1)) != NULL;
    for (; ok && n < LESSON_SECTIONS && x->names[n]; n++)
        ok = (res[n] = cl_call_rows(c, r, x->first + (int)n)) != NULL;
    if (!ok) goto out; /* answered */
    if (PQntuples(target) != 1 || !cl_sql_isnull(target, 0, TARGET_MISSING)) {
        cl_req_fail(c->req, CL_ENOTFOUND, "%s",
                    PQntuples(target) == 1 ? cl_sql_text(target, 0, TARGET_MISSING) : "not found");
        goto out;
    }
    if (pass) {
        char clip[64];
        if (cl_sql_isnull(pass, 0, CL_COL(lesson_checkpoint_pass, was))) {
            cl_req_fail(c->req, CL_ENOTFOUND, "case %s is not a check point of this round",
                        cl_utf8_clip(clip, sizeof clip, x->code));
            goto out;
        }
        if (strcmp(cl_sql_text(pass, 0, CL_COL(lesson_checkpoint_pass, was)), "found") == 0) {
            cl_req_fail(c->req, CL_ECONFLICT,
                        "check point %s was found on site: it stays found, not passed",
                        cl_utf8_clip(clip, sizeof clip, x->code));
            goto out;
        }
    }
    Closeloop__LessonReport rep = CLOSELOOP__LESSON_REPORT__INIT;
    Closeloop__LessonSection secs[LESSON_SECTIONS];
    Closeloop__LessonSection *secp[LESSON_SECTIONS];
    section_mem_t mem[LESSON_SECTIONS];
    memset(mem, 0, sizeof mem);
    rep.title = PQgetvalue(target, 0, TARGET_TITLE);
    size_t budget = cl_req_config(c->req)->max_frame - LESSON_FRAME_SLACK;
    bool filled = true;
    for (size_t i = 0; filled && i < n; i++) {
        filled = section_fill(&secs[i], &mem[i], x->names[i], res[i], &budget);
        secp[i] = &secs[i];
    }
    if (filled) {
        rep.n_sections = n;
        rep.sections = secp;
        cl_req_reply(c->req, CL_MSG_LESSON_REPORT, &rep.base);
    } else {
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        free(mem[i].rows);
        free(mem[i].rowp);
        free(mem[i].cells);
        free(mem[i].cols);
    }
out:
    cl_call_free(c);
}

/* A new call (NULL after answering). */
static lesson_call_t *lesson_call(cl_req_t *req, bool analytics) {
    lesson_call_t *x = cl_call_new(req, sizeof *x);
    if (x) x->base.analytics = analytics;
    return x;
}

/* The round a check point request names: mock1 when not given. NULL after answering. */
static const char *round_of(cl_req_t *req, Closeloop__RoundKind k) {
    if (k == CLOSELOOP__ROUND_KIND__ROUND_NONE) k = CLOSELOOP__ROUND_KIND__ROUND_MOCK1;
    const char *name = cl_round_kind_name(k);
    if (!name) cl_req_fail(req, CL_EINVAL, "round is not a round kind");
    return name;
}

static void checkpoints(cl_req_t *req, bool refresh) {
    const Closeloop__CheckpointListRequest *m = (const Closeloop__CheckpointListRequest *)req->msg;
    const char *round;
    if (!cl_req_need_id(req, "project_id", m->project_id) || !(round = round_of(req, m->round)))
        return;
    lesson_call_t *x = lesson_call(req, false);
    if (!x) return;
    char project[24];
    cl_sql_int_param(project, m->project_id);
    x->names[0] = "checkpoints";
    if (refresh) {
        x->first = 2;
        const cl_call_stmt_t st[] = {
            CL_STMT(lesson_target_round, CL_CALL_SCOPE(&x->base), project, round),
            CL_STMT(lesson_checkpoint_refresh, CL_CALL_SCOPE(&x->base), project, round),
            CL_STMT(lesson_checkpoints, CL_CALL_SCOPE(&x->base), project, round),
        };
        cl_call_run(&x->base, true, st, 3, lesson_done);
    } else {
        x->first = 1;
        const cl_call_stmt_t st[] = {
            CL_STMT(lesson_target_round, CL_CALL_SCOPE(&x->base), project, round),
            CL_STMT(lesson_checkpoints, CL_CALL_SCOPE(&x->base), project, round),
        };
        cl_call_run(&x->base, false, st, 2, lesson_done);
    }
}

void cl_lesson_checkpoint_list(cl_req_t *req) {
    checkpoints(req, false);
}

void cl_lesson_checkpoint_refresh(cl_req_t *req) {
    checkpoints(req, true);
}

void cl_lesson_checkpoint_pass(cl_req_t *req) {
    const Closeloop__CheckpointPass *m = (const Closeloop__CheckpointPass *)req->msg;
    const char *round;
    if (!cl_req_need_id(req, "project_id", m->project_id) || !(round = round_of(req, m->round)) ||
        !cl_req_need_text(req, "case_code", m->case_code, true, CL_LIM_CODE_CHARS) ||
        !cl_req_need_text(req, "note", m->note, false, CL_LIM_NOTE_CHARS))
        return;
    lesson_call_t *x = lesson_call(req, false);
    if (!x) return;
    char project[24], user[24];
    cl_sql_int_param(project, m->project_id);
    cl_sql_int_param(user, x->base.session.user_id);
    x->names[0] = "checkpoints";
    x->first = 2;
    x->pass = true;
    x->code = m->case_code;
    const cl_call_stmt_t st[] = {
        CL_STMT(lesson_target_round, CL_CALL_SCOPE(&x->base), project, round),
        CL_STMT(lesson_checkpoint_pass, CL_CALL_SCOPE(&x->base), project, round, m->case_code,
                m->note, user),
        CL_STMT(lesson_checkpoints, CL_CALL_SCOPE(&x->base), project, round),
    };
    cl_call_run(&x->base, true, st, 3, lesson_done);
}

void cl_lesson_lessons(cl_req_t *req) {
    const Closeloop__LessonsRequest *m = (const Closeloop__LessonsRequest *)req->msg;
    if (m->project_id < 0) {
        cl_req_fail(req, CL_EINVAL, "project_id must be 0 (all) or a project's id");
        return;
    }
    lesson_call_t *x = lesson_call(req, true);
    if (!x) return;
    char project[24];
    cl_sql_int_param(project, m->project_id);
    x->names[0] = "projects";
    x->names[1] = "cases";
    x->first = 1;
    const cl_call_stmt_t st[] = {
        CL_STMT(lesson_target_project, CL_CALL_SCOPE(&x->base), project),
        CL_STMT(lesson_lessons_projects, CL_CALL_SCOPE(&x->base), project),
        CL_STMT(lesson_lessons_cases, CL_CALL_SCOPE(&x->base), project),
    };
    cl_call_run(&x->base, false, st, 3, lesson_done);
}

void cl_lesson_case_match(cl_req_t *req) {
    const Closeloop__CaseMatchRequest *m = (const Closeloop__CaseMatchRequest *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        (*m->since && !cl_req_need_date(req, "since", m->since)))
        return;
    if (!(m->min_score >= 0.0f && m->min_score <= 1.0f)) {
        cl_req_fail(req, CL_EINVAL, "min_score must be from 0 to 1");
        return;
    }
    lesson_call_t *x = lesson_call(req, true);
    if (!x) return;
    char project[24], since[16], score[32];
    cl_sql_int_param(project, m->project_id);
    if (*m->since) {
        snprintf(since, sizeof since, "%s", m->since);
    } else {
        time_t t = time(NULL) - (time_t)LESSON_MATCH_SINCE * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(since, sizeof since, "%Y-%m-%d", &tm);
    }
    snprintf(score, sizeof score, "%g", m->min_score > 0.0f ? m->min_score : LESSON_MATCH_SCORE);
    x->names[0] = "matches";
    x->first = 1;
    const cl_call_stmt_t st[] = {
        CL_STMT(lesson_target_project, CL_CALL_SCOPE(&x->base), project),
        CL_STMT(lesson_case_match, CL_CALL_SCOPE(&x->base), project, since, score),
    };
    cl_call_run(&x->base, false, st, 2, lesson_done);
}

/* The period of a report: both dates valid and in order; false after answering. */
static bool period_ok(cl_req_t *req, const Closeloop__DefectReportRequest *m) {
    if (!cl_req_need_date(req, "from", m->from) || !cl_req_need_date(req, "to", m->to))
        return false;
    if (strcmp(m->from, m->to) > 0) {
        cl_req_fail(req, CL_EINVAL, "from must not be after to");
        return false;
    }
    return true;
}

void cl_lesson_defect_feedback(cl_req_t *req) {
    const Closeloop__DefectReportRequest *m = (const Closeloop__DefectReportRequest *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) || !period_ok(req, m)) return;
    lesson_call_t *x = lesson_call(req, true);
    if (!x) return;
    char project[24];
    cl_sql_int_param(project, m->project_id);
    x->names[0] = "defects";
    x->first = 1;
    const cl_call_stmt_t st[] = {
        CL_STMT(lesson_target_project, CL_CALL_SCOPE(&x->base), project),
        CL_STMT(lesson_defect_feedback, CL_CALL_SCOPE(&x->base), project, m->from, m->to),
    };
    cl_call_run(&x->base, false, st, 2, lesson_done);
}

void cl_lesson_periodic_report(cl_req_t *req) {
    const Closeloop__DefectReportRequest *m = (const Closeloop__DefectReportRequest *)req->msg;
    if (!cl_req_need_id(req, "company_id", m->company_id) || !period_ok(req, m)) return;
    lesson_call_t *x = lesson_call(req, true);
    if (!x) return;
    char company[24];
    cl_sql_int_param(company, m->company_id);
    x->names[0] = "summary";
    x->names[1] = "counts";
    x->first = 1;
    const cl_call_stmt_t st[] = {
        CL_STMT(lesson_target_company, CL_CALL_SCOPE(&x->base), company),
        CL_STMT(lesson_periodic_summary, CL_CALL_SCOPE(&x->base), company, m->from, m->to),
        CL_STMT(lesson_periodic_counts, CL_CALL_SCOPE(&x->base), company, m->from, m->to),
    };
    cl_call_run(&x->base, false, st, 3, lesson_done);
}
