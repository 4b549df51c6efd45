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
    CL_ROLE__COUNT
} cl_role_t;

typedef enum cl_op {
    CL_OP_PUBLIC = 0, /* ping, server info, login, session resume: no session needed */
    CL_OP_SESSION,    /* whoami, logout: any logged-in user */
    CL_OP_COMPANY_CREATE,
    CL_OP_COMPANY_LIST,
    CL_OP_PROJECT_CREATE,
    CL_OP_PROJECT_LIST,
    CL_OP_BUILDING_CREATE,
    CL_OP_BUILDING_LIST,
    CL_OP_UNIT_CREATE,
    CL_OP_UNIT_LIST,
    CL_OP_UNIT_IMPORT,
    CL_OP_CONTRACTOR_CREATE,
    CL_OP_CONTRACTOR_LIST,
    CL_OP_USER_CREATE,
    CL_OP_USER_LIST,
    CL_OP_TRADE_ASSIGN,
    CL_OP_TRADE_LIST,
    CL_OP_ROUND_CREATE, /* inspection rounds of a project */
    CL_OP_ROUND_LIST,
    CL_OP_ITEM_RECORD,       /* enter inspection items (one or a day's import) */
    CL_OP_HANDOVER_RECORD,   /* enter a unit's handover acceptance form, schedule */
    CL_OP_TICKET_READ,       /* ticket history, the morning lists */
    CL_OP_TICKET_TRANSITION, /* any ticket action; the handler checks the action's op */
    CL_OP_TICKET_REPAIR,     /* report a repair */
    CL_OP_TICKET_VERIFY,     /* pass or fail a verification */
    CL_OP_TICKET_RETURN,     /* return a ticket that is not the contractor's trade */
    CL_OP_TICKET_DECIDE,     /* manual dispatch, reassign, decide not to fix */
    CL_OP_DEADLINE_SET,      /* repair deadline presets */
    CL_OP_DEADLINE_LIST,
    CL_OP_REPORT, /* daily handover report, key-handover readiness */
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
