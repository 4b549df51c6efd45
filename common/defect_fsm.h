/* defect_fsm.h - the defect decision workflow (缺陷决策与整改) as one pure table.
 *
 *   (fed back) --create--> COLLECTED
 *   COLLECTED --meet(attendees, minutes)--> ANALYSED          the decision meeting, by CR
 *   ANALYSED --decide(grade, repairable)--> DECIDED           by CR, for the meeting
 *   DECIDED --approve--> DECIDED, approved                   non-repairable only: the leader
 *                                                            of the responsible department's
 *                                                            superior department
 *   DECIDED --plan--> PLANNED (grade A) or REPORTED (grade B) by the responsible department;
 *                                                            a non-repairable defect needs
 *                                                            its approval first
 *   PLANNED --estimate--> PLANNED, estimated                 by a cost department (A)
 *   PLANNED --rectify--> RECTIFIED                           repairable A, once estimated
 *   RECTIFIED --verify_pass--> VERIFIED                      by CR
 *   RECTIFIED --verify_fail(reason)--> PLANNED               by CR: fixed again
 *   VERIFIED | REPORTED --file--> FILED                      by CR, with HQ
 *   PLANNED --file--> FILED                                  non-repairable A, once estimated:
 *                                                            nothing to fix, only to avoid
 *   FILED --accept--> ACCEPTED                               by HQ: a case of the knowledge base
 *   FILED --return(reason)--> RETURNED                       by HQ
 *   RETURNED --file--> FILED                                 by CR, amended
 *   any state but ACCEPTED --link--> the same state          items linked to it (CR)
 *
 * A step the state does not allow is CL_ECONFLICT (the server reports the defect's current
 * state and version, like a ticket's); a step the state allows but a rule refuses until
 * something else is done is CL_EPRECONDITION, with a reason from cl_defect_refusal():
 * plan or file of a non-repairable defect not yet approved, rectify or file of grade A
 * before the cost estimate, approve of a repairable defect. The server applies a step
 * as compare-and-set on (id, state, version) and checks that the user is who the step
 * names (cl_defect_step_t.by). The enum values equal DefectState / DefectAction in
 * proto/domain.proto. No I/O, no state: safe from any thread. */
#ifndef CL_DEFECT_FSM_H
#define CL_DEFECT_FSM_H

#include <stdbool.h>

#include "cl_err.h"

typedef enum cl_defect_state {
    CL_DEFECT_NONE = 0,
    CL_DEFECT_COLLECTED = 1,
    CL_DEFECT_ANALYSED = 2,
    CL_DEFECT_DECIDED = 3,
    CL_DEFECT_PLANNED = 4,
    CL_DEFECT_RECTIFIED = 5,
    CL_DEFECT_VERIFIED = 6,
    CL_DEFECT_REPORTED = 7,
    CL_DEFECT_FILED = 8,
    CL_DEFECT_ACCEPTED = 9,
    CL_DEFECT_RETURNED = 10,
    CL_DEFECT__STATES
} cl_defect_state_t;

typedef enum cl_defect_action {
    CL_DACT_NONE = 0,
    CL_DACT_CREATE = 1,
    CL_DACT_MEET = 2,
    CL_DACT_DECIDE = 3,
    CL_DACT_APPROVE = 4,
    CL_DACT_PLAN = 5,
    CL_DACT_ESTIMATE = 6,
    CL_DACT_RECTIFY = 7,
    CL_DACT_VERIFY_PASS = 8,
    CL_DACT_VERIFY_FAIL = 9,
    CL_DACT_FILE = 10,
    CL_DACT_ACCEPT = 11,
    CL_DACT_RETURN = 12,
    CL_DACT_LINK = 13,
    CL_DACT__ACTIONS
} cl_defect_action_t;

/* Who performs a step; the server checks the user against it. */
typedef enum cl_defect_actor {
    CL_DBY_CR = 1,          /* the project's customer relations (role cr of its company) */
    CL_DBY_RESPONSIBLE,     /* a member of the responsible department */
    CL_DBY_SUPERIOR_LEADER, /* the leader of the responsible department's superior department */
    CL_DBY_COST,            /* a member of a cost department of the project's company */
    CL_DBY_HQ,              /* HQ, curating the knowledge base (hq_admin) */
} cl_defect_actor_t;

/* What the guards read besides the state. */
typedef struct cl_defect_facts {
    int grade;      /* DefectGrade: 0 not decided, 1 A, 2 B */
    int repairable; /* -1 not decided, 0 no, 1 yes */
    bool approved;  /* the superior department's leader approved (non-repairable) */
    bool estimated; /* the cost department recorded its estimate */
} cl_defect_facts_t;

typedef struct cl_defect_step {
    cl_defect_state_t to;
    bool note_required; /* a note or reason must be given */
    cl_defect_actor_t by;
} cl_defect_step_t;

/* Why a step the state allows is refused until something else is done. */
typedef enum cl_defect_refusal {
    CL_DREF_NONE = 0,
    CL_DREF_NEEDS_APPROVAL,    /* non-repairable: approve first */
    CL_DREF_NEEDS_ESTIMATE,    /* grade A: the cost department's estimate first */
    CL_DREF_NOT_NONREPAIRABLE, /* approve applies to non-repairable defects only */
    CL_DREF_ALREADY_APPROVED,
    CL_DREF_NOTHING_TO_FIX, /* rectify of a non-repairable defect */
    CL_DREF_NOT_GRADE_A,    /* estimate of a grade B defect */
} cl_defect_refusal_t;

/* The step for action from state with facts f. CL_OK and *out; CL_ECONFLICT when the
 * state does not allow the action; CL_EPRECONDITION when a rule refuses it, with the rule
 * in *why (may be NULL); CL_EINVAL for an unknown state or action, or NULL f or out. CREATE
 * applies to CL_DEFECT_NONE. */
CL_MUSTCHECK int cl_defect_step(cl_defect_state_t from, cl_defect_action_t action,
                                const cl_defect_facts_t *f, cl_defect_step_t *out,
                                cl_defect_refusal_t *why);

/* One sentence for a refusal, in Chinese and English for the message a person reads
 * ("不可修复缺陷须经上级部门主管领导审批 (a non-repairable defect needs ...)"); never NULL. */
const char *cl_defect_refusal_text(cl_defect_refusal_t why);

/* Whether the state is final (ACCEPTED). */
bool cl_defect_final(cl_defect_state_t s);

/* Stored names and labels from the registry (domain.h); NULL for NONE and out of range. */
const char *cl_defect_state_name(cl_defect_state_t s);
const char *cl_defect_action_name(cl_defect_action_t a);
const char *cl_defect_state_label(cl_defect_state_t s);
const char *cl_defect_action_label(cl_defect_action_t a);
cl_defect_state_t cl_defect_state_parse(const char *name);   /* CL_DEFECT_NONE if unknown */
cl_defect_action_t cl_defect_action_parse(const char *name); /* CL_DACT_NONE if unknown */

#endif
