/* defect_fsm.c - the defect workflow table and its guards; see defect_fsm.h. */
#include "defect_fsm.h"

#include <stddef.h>

#include "domain.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Which grades a row applies to. */
enum { ANY = 0, ONLY_A = 1, ONLY_B = 2 };

static const struct {
    cl_defect_state_t from;
    cl_defect_action_t action;
    int grade;
    cl_defect_step_t step;
} transitions[] = {
    /* from                 action                grade   to              note  by */
    {CL_DEFECT_NONE, CL_DACT_CREATE, ANY, {CL_DEFECT_COLLECTED, false, CL_DBY_CR}},
    {CL_DEFECT_COLLECTED, CL_DACT_MEET, ANY, {CL_DEFECT_ANALYSED, true, CL_DBY_CR}},
    {CL_DEFECT_ANALYSED, CL_DACT_DECIDE, ANY, {CL_DEFECT_DECIDED, false, CL_DBY_CR}},
    {CL_DEFECT_DECIDED, CL_DACT_APPROVE, ANY, {CL_DEFECT_DECIDED, false, CL_DBY_SUPERIOR_LEADER}},
    {CL_DEFECT_DECIDED, CL_DACT_PLAN, ONLY_A, {CL_DEFECT_PLANNED, true, CL_DBY_RESPONSIBLE}},
    {CL_DEFECT_DECIDED, CL_DACT_PLAN, ONLY_B, {CL_DEFECT_REPORTED, true, CL_DBY_RESPONSIBLE}},
    {CL_DEFECT_PLANNED, CL_DACT_ESTIMATE, ANY, {CL_DEFECT_PLANNED, false, CL_DBY_COST}},
    {CL_DEFECT_PLANNED, CL_DACT_RECTIFY, ANY, {CL_DEFECT_RECTIFIED, true, CL_DBY_RESPONSIBLE}},
    {CL_DEFECT_RECTIFIED, CL_DACT_VERIFY_PASS, ANY, {CL_DEFECT_VERIFIED, false, CL_DBY_CR}},
    {CL_DEFECT_RECTIFIED, CL_DACT_VERIFY_FAIL, ANY, {CL_DEFECT_PLANNED, true, CL_DBY_CR}},
    {CL_DEFECT_VERIFIED, CL_DACT_FILE, ANY, {CL_DEFECT_FILED, false, CL_DBY_CR}},
    {CL_DEFECT_REPORTED, CL_DACT_FILE, ANY, {CL_DEFECT_FILED, false, CL_DBY_CR}},
    {CL_DEFECT_PLANNED, CL_DACT_FILE, ANY, {CL_DEFECT_FILED, false, CL_DBY_CR}},
    {CL_DEFECT_RETURNED, CL_DACT_FILE, ANY, {CL_DEFECT_FILED, false, CL_DBY_CR}},
    {CL_DEFECT_FILED, CL_DACT_ACCEPT, ANY, {CL_DEFECT_ACCEPTED, false, CL_DBY_HQ}},
    {CL_DEFECT_FILED, CL_DACT_RETURN, ANY, {CL_DEFECT_RETURNED, true, CL_DBY_HQ}},
};

/* The C enums mirror the wire enums, whose names live in the registry (domain.c). */
_Static_assert((int)CL_DEFECT_COLLECTED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_COLLECTED &&
                   (int)CL_DEFECT_ANALYSED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_ANALYSED &&
                   (int)CL_DEFECT_DECIDED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_DECIDED &&
                   (int)CL_DEFECT_PLANNED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_PLANNED &&
                   (int)CL_DEFECT_RECTIFIED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_RECTIFIED &&
                   (int)CL_DEFECT_VERIFIED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_VERIFIED &&
                   (int)CL_DEFECT_REPORTED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_REPORTED &&
                   (int)CL_DEFECT_FILED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_FILED &&
                   (int)CL_DEFECT_ACCEPTED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_ACCEPTED &&
                   (int)CL_DEFECT_RETURNED == (int)CLOSELOOP__DEFECT_STATE__DEFECT_RETURNED,
               "cl_defect_state_t equals DefectState");
_Static_assert((int)CL_DACT_CREATE == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_CREATE &&
                   (int)CL_DACT_MEET == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_MEET &&
                   (int)CL_DACT_DECIDE == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_DECIDE &&
                   (int)CL_DACT_APPROVE == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_APPROVE &&
                   (int)CL_DACT_PLAN == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_PLAN &&
                   (int)CL_DACT_ESTIMATE == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_ESTIMATE &&
                   (int)CL_DACT_RECTIFY == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_RECTIFY &&
                   (int)CL_DACT_VERIFY_PASS ==
                       (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_VERIFY_PASS &&
                   (int)CL_DACT_VERIFY_FAIL ==
                       (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_VERIFY_FAIL &&
                   (int)CL_DACT_FILE == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_FILE &&
                   (int)CL_DACT_ACCEPT == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_ACCEPT &&
                   (int)CL_DACT_RETURN == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_RETURN &&
                   (int)CL_DACT_LINK == (int)CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_LINK,
               "cl_defect_action_t equals DefectAction");

/* The rules a step the table allows must still pass. */
static cl_defect_refusal_t guard(cl_defect_state_t from, cl_defect_action_t action,
                                 const cl_defect_facts_t *f) {
    bool nonrepairable = f->repairable == 0;
    switch (action) {
    case CL_DACT_APPROVE:
        if (!nonrepairable) return CL_DREF_NOT_NONREPAIRABLE;
        if (f->approved) return CL_DREF_ALREADY_APPROVED;
        return CL_DREF_NONE;
    case CL_DACT_PLAN: return nonrepairable && !f->approved ? CL_DREF_NEEDS_APPROVAL : CL_DREF_NONE;
    case CL_DACT_ESTIMATE: return f->grade == ONLY_A ? CL_DREF_NONE : CL_DREF_NOT_GRADE_A;
    case CL_DACT_RECTIFY:
        if (nonrepairable) return CL_DREF_NOTHING_TO_FIX;
        return f->estimated ? CL_DREF_NONE : CL_DREF_NEEDS_ESTIMATE;
    case CL_DACT_FILE:
        if (nonrepairable && !f->approved) return CL_DREF_NEEDS_APPROVAL;
        /* Only a non-repairable A files from PLANNED (cl_defect_step), once estimated. */
        if (from == CL_DEFECT_PLANNED && !f->estimated) return CL_DREF_NEEDS_ESTIMATE;
        return CL_DREF_NONE;
    default: return CL_DREF_NONE;
    }
}

int cl_defect_step(cl_defect_state_t from, cl_defect_action_t action, const cl_defect_facts_t *f,
                   cl_defect_step_t *out, cl_defect_refusal_t *why) {
    if (why) *why = CL_DREF_NONE;
    if (!f || !out || (unsigned)from >= CL_DEFECT__STATES || (unsigned)action >= CL_DACT__ACTIONS ||
        action == CL_DACT_NONE)
        return CL_EINVAL;
    if (action == CL_DACT_LINK) {
        if (from == CL_DEFECT_NONE || from == CL_DEFECT_ACCEPTED) return CL_ECONFLICT;
        *out = (cl_defect_step_t){from, false, CL_DBY_CR};
        return CL_OK;
    }
    for (size_t i = 0; i < ARRAY_LEN(transitions); i++) {
        if (transitions[i].from != from || transitions[i].action != action) continue;
        if (transitions[i].grade != ANY && transitions[i].grade != f->grade) continue;
        /* A repairable defect leaves PLANNED by rectify, never straight to file. */
        if (from == CL_DEFECT_PLANNED && action == CL_DACT_FILE && f->repairable != 0)
            return CL_ECONFLICT;
        cl_defect_refusal_t r = guard(from, action, f);
        if (r != CL_DREF_NONE) {
            if (why) *why = r;
            return CL_EPRECONDITION;
        }
        *out = transitions[i].step;
        return CL_OK;
    }
    return CL_ECONFLICT;
}

const char *cl_defect_refusal_text(cl_defect_refusal_t why) {
    switch (why) {
    case CL_DREF_NONE: return "";
    case CL_DREF_NEEDS_APPROVAL:
        return "不可修复缺陷须经上级部门主管领导审批 (a non-repairable defect needs the approval "
               "of the superior department's leader first: cloop defect approve)";
    case CL_DREF_NEEDS_ESTIMATE:
        return "A级缺陷须先由成本部测算成本 (a grade A defect needs the cost department's "
               "estimate first: cloop defect estimate)";
    case CL_DREF_NOT_NONREPAIRABLE:
        return "只有不可修复缺陷需要审批 (only a non-repairable defect is approved)";
    case CL_DREF_ALREADY_APPROVED: return "已审批 (already approved)";
    case CL_DREF_NOTHING_TO_FIX:
        return "不可修复缺陷无需整改，报备即可 (a non-repairable defect is not rectified, only "
               "filed: cloop defect file)";
    case CL_DREF_NOT_GRADE_A:
        return "成本测算只针对A级缺陷 (only a grade A defect gets a cost estimate)";
    }
    return "refused by the defect workflow";
}

bool cl_defect_final(cl_defect_state_t s) {
    return s == CL_DEFECT_ACCEPTED;
}

const char *cl_defect_state_name(cl_defect_state_t s) {
    return cl_domain_name(CL_DOM_DEFECT_STATE, (int)s);
}

const char *cl_defect_action_name(cl_defect_action_t a) {
    return cl_domain_name(CL_DOM_DEFECT_ACTION, (int)a);
}

const char *cl_defect_state_label(cl_defect_state_t s) {
    return cl_domain_label(CL_DOM_DEFECT_STATE, (int)s);
}

const char *cl_defect_action_label(cl_defect_action_t a) {
    return cl_domain_label(CL_DOM_DEFECT_ACTION, (int)a);
}

cl_defect_state_t cl_defect_state_parse(const char *name) {
    return (cl_defect_state_t)cl_domain_parse(CL_DOM_DEFECT_STATE, name);
}

cl_defect_action_t cl_defect_action_parse(const char *name) {
    return (cl_defect_action_t)cl_domain_parse(CL_DOM_DEFECT_ACTION, name);
}
