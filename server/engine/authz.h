/* authz.h - who may do what: every request type maps to one operation, and every
 * operation to the roles allowed to perform it and the scope their data is limited to.
 *
 * The dispatcher checks the role before a handler runs (cl_authz_check); the scope is
 * enforced by the handler's SQL, which receives the session's scope as parameters and
 * filters with cl_visible_project() (see server/migrations), so an out-of-scope record
 * looks exactly like a missing one. Pure table, no I/O; safe from any thread. */
#ifndef CL_AUTHZ_H
#define CL_AUTHZ_H

#include <stdbool.h>

#include "cl_err.h"

typedef enum cl_role {
    CL_ROLE_NONE = 0,
    CL_ROLE_HQ_ADMIN = 1,
    CL_ROLE_HQ_ANALYST = 2,
    CL_ROLE_CR = 3,
    CL_ROLE_CLERK = 4,
    CL_ROLE_CONTRACTOR = 5,
    CL_ROLE_VERIFIER = 6,
    CL_ROLE_PROPERTY = 7,
    CL_ROLE_DEPT = 8,      /* department staff: their department's steps of a defect */
    CL_ROLE_HOTLINE = 9,   /* the 400 hotline: complaints of the whole group */
    CL_ROLE_WARRANTY = 10, /* a city company's warranty office */
    CL_ROLE__COUNT
} cl_role_t;

/* Every operation, once: X(ENUM_SUFFIX, stable_name). The names appear in logs and audit
 * records, so they never change; the enum and the name table are generated from here. */
#define CL_OPS(X)                                                                                  \
    X(PUBLIC, public)   /* ping, server info, login, session resume: no session needed */          \
    X(SESSION, session) /* whoami, logout: any logged-in user */                                   \
    X(COMPANY_CREATE, company_create)                                                              \
    X(COMPANY_LIST, company_list)                                                                  \
    X(PROJECT_CREATE, project_create)                                                              \
    X(PROJECT_LIST, project_list)                                                                  \
    X(BUILDING_CREATE, building_create)                                                            \
    X(BUILDING_LIST, building_list)                                                                \
    X(UNIT_CREATE, unit_create)                                                                    \
    X(UNIT_LIST, unit_list)                                                                        \
    X(UNIT_IMPORT, unit_import)                                                                    \
    X(CONTRACTOR_CREATE, contractor_create)                                                        \
    X(CONTRACTOR_LIST, contractor_list)                                                            \
    X(USER_CREATE, user_create)                                                                    \
    X(USER_LIST, user_list)                                                                        \
    X(TRADE_ASSIGN, trade_assign)                                                                  \
    X(TRADE_LIST, trade_list)                                                                      \
    X(ROUND_CREATE, round_create) /* inspection rounds of a project */                             \
    X(ROUND_LIST, round_list)                                                                      \
    X(ITEM_RECORD, item_record)         /* enter inspection items (one or a day's import) */       \
    X(HANDOVER_RECORD, handover_record) /* enter a unit's handover acceptance form, schedule */    \
    X(TICKET_READ, ticket_read)         /* ticket history, the morning lists */                    \
    X(TICKET_TRANSITION, ticket_transition) /* any ticket action; each action checks its op */     \
    X(TICKET_REPAIR, ticket_repair)         /* report a repair */                                  \
    X(TICKET_VERIFY, ticket_verify)         /* pass or fail a verification */                      \
    X(TICKET_RETURN, ticket_return) /* return a ticket that is not the contractor's trade */       \
    X(TICKET_DECIDE, ticket_decide) /* manual dispatch, reassign, decide not to fix */             \
    X(DEADLINE_SET, deadline_set)   /* repair deadline presets */                                  \
    X(DEADLINE_LIST, deadline_list)                                                                \
    X(REPORT, report)           /* daily handover report, key-handover readiness */                \
    X(DEPT_MANAGE, dept_manage) /* departments: create, leader */                                  \
    X(DEPT_LIST, dept_list)                                                                        \
    X(DEFECT_READ, defect_read)     /* defects, their history, recurring-defect proposals */       \
    X(DEFECT_MANAGE, defect_manage) /* CR: create, link items, meeting, decision, verify, file */  \
    X(DEFECT_STEP, defect_step)     /* a department's step: approve, plan, estimate, rectify */    \
    X(DEFECT_REPORT, defect_report) /* defect feedback report, periodic report to HQ */            \
    X(KB_SEARCH, kb_search)         /* search and read cases and items, check point lists */       \
    X(KB_CURATE, kb_curate)         /* HQ: accept or return a filed defect, retire, import */      \
    X(CHECKPOINT_RECORD, checkpoint_record) /* record a check point passed or found */             \
    X(SYNC, sync)   /* desktop sync: snapshot, feed, checksums, follow (docs/SYNC.md) */           \
    X(STATS, stats) /* HQ statistics and contractor scorecards (docs/STATS.md) */                  \
    X(CALENDAR_READ, calendar_read)     /* business calendar: days, hours, a deadline */           \
    X(CALENDAR_MANAGE, calendar_manage) /* import days (national: HQ), set working hours */        \
    X(COMPLAINT_READ, complaint_read)   /* owner complaints: list, show (docs/COMPLAINTS.md) */    \
    X(COMPLAINT_WRITE, complaint_write) /* take in, reply, pause, escalate, close, revisit */      \
    X(WATCH, watch)                     /* notices as they happen: cloop watch (docs/WATCH.md) */  \
    X(WARRANTY_READ, warranty_read)     /* warranty reports, letters, deductions (WARRANTY.md) */  \
    X(WARRANTY_WRITE, warranty_write)   /* take a warranty report in, respond to it */             \
    X(WARRANTY_OFFICE, warranty_office) /* letters, deductions, third-party hand-overs */          \
    X(WARRANTY_APPROVE, warranty_approve) /* approve or reject another user's deduction */

typedef enum cl_op {
#define CL_OP_ENUM(upper, lower) CL_OP_##upper,
    CL_OPS(CL_OP_ENUM)
#undef CL_OP_ENUM
        CL_OP__COUNT
} cl_op_t;

/* The data a role sees under an operation. */
typedef enum cl_scope {
    CL_SCOPE_NONE = 0,   /* not allowed */
    CL_SCOPE_GROUP,      /* the whole group (HQ roles) */
    CL_SCOPE_COMPANY,    /* the user's city company */
    CL_SCOPE_PROJECTS,   /* the user's assigned projects */
    CL_SCOPE_CONTRACTOR, /* what is assigned to the user's contractor */
} cl_scope_t;

/* The scope role has under op; CL_SCOPE_NONE when it may not perform it. */
cl_scope_t cl_authz_scope(cl_role_t role, cl_op_t op);

/* CL_OK, CL_EUNAUTH (no session and op is not public) or CL_EFORBIDDEN. */
CL_MUSTCHECK int cl_authz_check(bool logged_in, cl_role_t role, cl_op_t op);

/* Whether the role may see owners' personal data (names, phones, id numbers). */
bool cl_authz_sees_owner_data(cl_role_t role);

/* "hq_admin" ... as stored in users.role, from the registry (common/domain.h); NULL for
 * CL_ROLE_NONE or out of range. The label ("集团管理员" ...) likewise. */
const char *cl_role_name(cl_role_t role);
const char *cl_role_label(cl_role_t role);
/* Parses a stored role name; CL_ROLE_NONE when unknown. */
cl_role_t cl_role_parse(const char *name);
const char *cl_op_name(cl_op_t op);

#endif
