/* test_authz.c - unit tests of the role x operation table (server/engine/authz.c).
 *
 * The expected matrix below is written out independently of the implementation, one
 * entry per (role, op) pair including CL_ROLE_NONE, straight from the access rules; it
 * must cover every pair exactly once, so adding a role or an op without deciding its
 * row here fails the test. Each entry is checked against cl_authz_scope and against
 * cl_authz_check logged in and not. Then: policy invariants that must survive any edit
 * of the table, owner-data visibility per role, role and op names, out-of-range input. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "authz.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the expected matrix ---------------------------------------------------------- */

struct expect {
    cl_role_t role;
    cl_op_t op;
    cl_scope_t scope;
};

#define NONE       CL_SCOPE_NONE
#define GROUP      CL_SCOPE_GROUP
#define COMPANY    CL_SCOPE_COMPANY
#define PROJECTS   CL_SCOPE_PROJECTS
#define CONTRACTOR CL_SCOPE_CONTRACTOR

static const struct expect matrix[] = {
    /* No role (a session without a valid role): public operations only. */
    {CL_ROLE_NONE, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_NONE, CL_OP_SESSION, NONE},
    {CL_ROLE_NONE, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_COMPANY_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_PROJECT_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_BUILDING_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_UNIT_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_NONE, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_CONTRACTOR_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_USER_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_NONE, CL_OP_TRADE_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_NONE, CL_OP_ROUND_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_NONE, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_NONE, CL_OP_TICKET_READ, NONE},
    {CL_ROLE_NONE, CL_OP_TICKET_TRANSITION, NONE},
    {CL_ROLE_NONE, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_NONE, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_NONE, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_NONE, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_NONE, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_NONE, CL_OP_DEADLINE_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_REPORT, NONE},
    {CL_ROLE_NONE, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_NONE, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_NONE, CL_OP_DEFECT_READ, NONE},
    {CL_ROLE_NONE, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_NONE, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_NONE, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_NONE, CL_OP_KB_SEARCH, NONE},
    {CL_ROLE_NONE, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_NONE, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_NONE, CL_OP_SYNC, NONE},
    {CL_ROLE_NONE, CL_OP_STATS, NONE},
    {CL_ROLE_NONE, CL_OP_CALENDAR_READ, NONE},
    {CL_ROLE_NONE, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_NONE, CL_OP_COMPLAINT_READ, NONE},
    {CL_ROLE_NONE, CL_OP_COMPLAINT_WRITE, NONE},

    /* HQ admin: everything, group-wide. */
    {CL_ROLE_HQ_ADMIN, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_SESSION, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_COMPANY_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_COMPANY_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_PROJECT_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_PROJECT_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_BUILDING_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_BUILDING_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_UNIT_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_UNIT_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_UNIT_IMPORT, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_CONTRACTOR_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_CONTRACTOR_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_USER_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_USER_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TRADE_ASSIGN, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TRADE_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_ROUND_CREATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_ROUND_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_ITEM_RECORD, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_HANDOVER_RECORD, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TICKET_READ, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TICKET_TRANSITION, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TICKET_REPAIR, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TICKET_VERIFY, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TICKET_RETURN, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_TICKET_DECIDE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEADLINE_SET, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEADLINE_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_REPORT, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEPT_MANAGE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEPT_LIST, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEFECT_READ, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEFECT_MANAGE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_HQ_ADMIN, CL_OP_DEFECT_REPORT, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_KB_CURATE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_CHECKPOINT_RECORD, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_SYNC, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_STATS, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_CALENDAR_READ, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_CALENDAR_MANAGE, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_COMPLAINT_READ, GROUP},
    {CL_ROLE_HQ_ADMIN, CL_OP_COMPLAINT_WRITE, GROUP},

    /* HQ analyst: reads everything group-wide, writes nothing. */
    {CL_ROLE_HQ_ANALYST, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_SESSION, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_COMPANY_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_PROJECT_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_BUILDING_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_UNIT_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_CONTRACTOR_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_USER_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_TRADE_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_ROUND_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_TICKET_READ, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_TICKET_TRANSITION, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEADLINE_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_REPORT, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEPT_LIST, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEFECT_READ, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_DEFECT_REPORT, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_SYNC, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_STATS, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_CALENDAR_READ, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_HQ_ANALYST, CL_OP_COMPLAINT_READ, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_COMPLAINT_WRITE, NONE},

    /* City-company CR staff: their company; no companies, contractors or users created. */
    {CL_ROLE_CR, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_CR, CL_OP_SESSION, COMPANY},
    {CL_ROLE_CR, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_CR, CL_OP_COMPANY_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_PROJECT_CREATE, COMPANY},
    {CL_ROLE_CR, CL_OP_PROJECT_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_BUILDING_CREATE, COMPANY},
    {CL_ROLE_CR, CL_OP_BUILDING_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_UNIT_CREATE, COMPANY},
    {CL_ROLE_CR, CL_OP_UNIT_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_UNIT_IMPORT, COMPANY},
    {CL_ROLE_CR, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_CR, CL_OP_CONTRACTOR_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_CR, CL_OP_USER_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_TRADE_ASSIGN, COMPANY},
    {CL_ROLE_CR, CL_OP_TRADE_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_ROUND_CREATE, COMPANY},
    {CL_ROLE_CR, CL_OP_ROUND_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_ITEM_RECORD, COMPANY},
    {CL_ROLE_CR, CL_OP_HANDOVER_RECORD, COMPANY},
    {CL_ROLE_CR, CL_OP_TICKET_READ, COMPANY},
    {CL_ROLE_CR, CL_OP_TICKET_TRANSITION, COMPANY},
    {CL_ROLE_CR, CL_OP_TICKET_REPAIR, COMPANY},
    {CL_ROLE_CR, CL_OP_TICKET_VERIFY, COMPANY},
    {CL_ROLE_CR, CL_OP_TICKET_RETURN, COMPANY},
    {CL_ROLE_CR, CL_OP_TICKET_DECIDE, COMPANY},
    {CL_ROLE_CR, CL_OP_DEADLINE_SET, COMPANY},
    {CL_ROLE_CR, CL_OP_DEADLINE_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_REPORT, COMPANY},
    {CL_ROLE_CR, CL_OP_DEPT_MANAGE, COMPANY},
    {CL_ROLE_CR, CL_OP_DEPT_LIST, COMPANY},
    {CL_ROLE_CR, CL_OP_DEFECT_READ, COMPANY},
    {CL_ROLE_CR, CL_OP_DEFECT_MANAGE, COMPANY},
    {CL_ROLE_CR, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_CR, CL_OP_DEFECT_REPORT, COMPANY},
    {CL_ROLE_CR, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_CR, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_CR, CL_OP_CHECKPOINT_RECORD, COMPANY},
    {CL_ROLE_CR, CL_OP_SYNC, COMPANY},
    {CL_ROLE_CR, CL_OP_STATS, COMPANY},
    {CL_ROLE_CR, CL_OP_CALENDAR_READ, COMPANY},
    {CL_ROLE_CR, CL_OP_CALENDAR_MANAGE, COMPANY},
    {CL_ROLE_CR, CL_OP_COMPLAINT_READ, COMPANY},
    {CL_ROLE_CR, CL_OP_COMPLAINT_WRITE, COMPANY},

    /* Site clerk: their projects; enters units, creates nothing above a unit. */
    {CL_ROLE_CLERK, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_CLERK, CL_OP_SESSION, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_CLERK, CL_OP_COMPANY_LIST, NONE},
    {CL_ROLE_CLERK, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_CLERK, CL_OP_PROJECT_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_CLERK, CL_OP_BUILDING_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_UNIT_CREATE, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_UNIT_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_UNIT_IMPORT, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_CLERK, CL_OP_CONTRACTOR_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_CLERK, CL_OP_USER_LIST, NONE},
    {CL_ROLE_CLERK, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_CLERK, CL_OP_TRADE_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_CLERK, CL_OP_ROUND_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_ITEM_RECORD, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_HANDOVER_RECORD, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_TICKET_READ, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_TICKET_TRANSITION, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_TICKET_REPAIR, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_TICKET_VERIFY, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_TICKET_RETURN, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_CLERK, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_CLERK, CL_OP_DEADLINE_LIST, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_REPORT, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_CLERK, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_CLERK, CL_OP_DEFECT_READ, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_CLERK, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_CLERK, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_CLERK, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_CLERK, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_CLERK, CL_OP_CHECKPOINT_RECORD, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_SYNC, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_STATS, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_CALENDAR_READ, PROJECTS},
    {CL_ROLE_CLERK, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_CLERK, CL_OP_COMPLAINT_READ, NONE},
    {CL_ROLE_CLERK, CL_OP_COMPLAINT_WRITE, NONE},

    /* Contractor: what is assigned to them; never buildings or units (owners' data). */
    {CL_ROLE_CONTRACTOR, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_CONTRACTOR, CL_OP_SESSION, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_COMPANY_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_PROJECT_LIST, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_BUILDING_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_UNIT_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_CONTRACTOR_LIST, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_USER_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_TRADE_LIST, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_ROUND_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_TICKET_READ, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_TICKET_TRANSITION, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_TICKET_REPAIR, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_TICKET_RETURN, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEADLINE_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_REPORT, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEFECT_READ, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_KB_SEARCH, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_SYNC, CONTRACTOR},
    {CL_ROLE_CONTRACTOR, CL_OP_STATS, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_CALENDAR_READ, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_COMPLAINT_READ, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_COMPLAINT_WRITE, NONE},

    /* Verifier: their projects, read only. */
    {CL_ROLE_VERIFIER, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_VERIFIER, CL_OP_SESSION, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_COMPANY_LIST, NONE},
    {CL_ROLE_VERIFIER, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_PROJECT_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_BUILDING_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_UNIT_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_VERIFIER, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_CONTRACTOR_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_USER_LIST, NONE},
    {CL_ROLE_VERIFIER, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_VERIFIER, CL_OP_TRADE_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_ROUND_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_VERIFIER, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_VERIFIER, CL_OP_TICKET_READ, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_TICKET_TRANSITION, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_VERIFIER, CL_OP_TICKET_VERIFY, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_VERIFIER, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_VERIFIER, CL_OP_DEADLINE_LIST, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_REPORT, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_VERIFIER, CL_OP_DEFECT_READ, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_VERIFIER, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_VERIFIER, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_VERIFIER, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_CHECKPOINT_RECORD, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_SYNC, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_STATS, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_CALENDAR_READ, PROJECTS},
    {CL_ROLE_VERIFIER, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_COMPLAINT_READ, NONE},
    {CL_ROLE_VERIFIER, CL_OP_COMPLAINT_WRITE, NONE},

    /* Property service: their projects, read only. */
    {CL_ROLE_PROPERTY, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_PROPERTY, CL_OP_SESSION, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_COMPANY_LIST, NONE},
    {CL_ROLE_PROPERTY, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_PROJECT_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_BUILDING_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_UNIT_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_PROPERTY, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_CONTRACTOR_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_USER_LIST, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TRADE_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_ROUND_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_PROPERTY, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TICKET_READ, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_TICKET_TRANSITION, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_PROPERTY, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_PROPERTY, CL_OP_DEADLINE_LIST, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_REPORT, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_PROPERTY, CL_OP_DEFECT_READ, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_PROPERTY, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_PROPERTY, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_PROPERTY, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_PROPERTY, CL_OP_SYNC, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_STATS, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_CALENDAR_READ, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_COMPLAINT_READ, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_COMPLAINT_WRITE, PROJECTS},
    /* Department staff: read their company like its customer relations; act only on
     * their department's steps of a defect (the SQL checks membership, group-wide since
     * a superior department may be at HQ); search the knowledge base. */
    {CL_ROLE_DEPT, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_DEPT, CL_OP_SESSION, COMPANY},
    {CL_ROLE_DEPT, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_COMPANY_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_PROJECT_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_BUILDING_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_UNIT_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_DEPT, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_CONTRACTOR_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_USER_LIST, NONE},
    {CL_ROLE_DEPT, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_DEPT, CL_OP_TRADE_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_DEPT, CL_OP_ROUND_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_DEPT, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_DEPT, CL_OP_TICKET_READ, COMPANY},
    {CL_ROLE_DEPT, CL_OP_TICKET_TRANSITION, NONE},
    {CL_ROLE_DEPT, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_DEPT, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_DEPT, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_DEPT, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_DEPT, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_DEPT, CL_OP_DEADLINE_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_REPORT, COMPANY},
    {CL_ROLE_DEPT, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_DEPT, CL_OP_DEPT_LIST, COMPANY},
    {CL_ROLE_DEPT, CL_OP_DEFECT_READ, COMPANY},
    {CL_ROLE_DEPT, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_DEPT, CL_OP_DEFECT_STEP, GROUP},
    {CL_ROLE_DEPT, CL_OP_DEFECT_REPORT, COMPANY},
    {CL_ROLE_DEPT, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_DEPT, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_DEPT, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_DEPT, CL_OP_SYNC, COMPANY},
    {CL_ROLE_DEPT, CL_OP_STATS, NONE},
    {CL_ROLE_DEPT, CL_OP_CALENDAR_READ, COMPANY},
    {CL_ROLE_DEPT, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_DEPT, CL_OP_COMPLAINT_READ, NONE},
    {CL_ROLE_DEPT, CL_OP_COMPLAINT_WRITE, NONE},
    /* The 400 hotline: complaints of every project (issue 12); reads what a complaint
     * needs to link (projects, units, tickets, defects, cases) across the group. */
    {CL_ROLE_HOTLINE, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_SESSION, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_COMPANY_LIST, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_PROJECT_LIST, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_BUILDING_LIST, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_UNIT_LIST, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_HOTLINE, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_CONTRACTOR_LIST, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_USER_LIST, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TRADE_LIST, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_ROUND_LIST, NONE},
    {CL_ROLE_HOTLINE, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_HOTLINE, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TICKET_READ, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_TICKET_TRANSITION, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_HOTLINE, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEADLINE_LIST, NONE},
    {CL_ROLE_HOTLINE, CL_OP_REPORT, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEFECT_READ, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_HOTLINE, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_HOTLINE, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_HOTLINE, CL_OP_SYNC, NONE},
    {CL_ROLE_HOTLINE, CL_OP_STATS, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_CALENDAR_READ, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_COMPLAINT_READ, GROUP},
    {CL_ROLE_HOTLINE, CL_OP_COMPLAINT_WRITE, GROUP},
    /* A city company's warranty office: its company's units, tickets and defects. */
    {CL_ROLE_WARRANTY, CL_OP_PUBLIC, GROUP},
    {CL_ROLE_WARRANTY, CL_OP_SESSION, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_COMPANY_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_COMPANY_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_PROJECT_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_PROJECT_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_BUILDING_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_BUILDING_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_UNIT_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_UNIT_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_UNIT_IMPORT, NONE},
    {CL_ROLE_WARRANTY, CL_OP_CONTRACTOR_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_CONTRACTOR_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_USER_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_USER_LIST, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TRADE_ASSIGN, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TRADE_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_ROUND_CREATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_ROUND_LIST, NONE},
    {CL_ROLE_WARRANTY, CL_OP_ITEM_RECORD, NONE},
    {CL_ROLE_WARRANTY, CL_OP_HANDOVER_RECORD, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TICKET_READ, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_TICKET_TRANSITION, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TICKET_REPAIR, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TICKET_VERIFY, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TICKET_RETURN, NONE},
    {CL_ROLE_WARRANTY, CL_OP_TICKET_DECIDE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEADLINE_SET, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEADLINE_LIST, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_REPORT, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEPT_MANAGE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEPT_LIST, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEFECT_READ, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_DEFECT_MANAGE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEFECT_STEP, NONE},
    {CL_ROLE_WARRANTY, CL_OP_DEFECT_REPORT, NONE},
    {CL_ROLE_WARRANTY, CL_OP_KB_SEARCH, GROUP},
    {CL_ROLE_WARRANTY, CL_OP_KB_CURATE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_CHECKPOINT_RECORD, NONE},
    {CL_ROLE_WARRANTY, CL_OP_SYNC, NONE},
    {CL_ROLE_WARRANTY, CL_OP_STATS, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_CALENDAR_READ, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_CALENDAR_MANAGE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_COMPLAINT_READ, COMPANY},
    {CL_ROLE_WARRANTY, CL_OP_COMPLAINT_WRITE, COMPANY},

    /* watch (issue 12): every logged-in role hears the notices it may see; the daemon
     * decides per notice (server/notice/notice.c). */
    {CL_ROLE_NONE, CL_OP_WATCH, NONE},
    {CL_ROLE_HQ_ADMIN, CL_OP_WATCH, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_WATCH, GROUP},
    {CL_ROLE_CR, CL_OP_WATCH, COMPANY},
    {CL_ROLE_CLERK, CL_OP_WATCH, PROJECTS},
    {CL_ROLE_CONTRACTOR, CL_OP_WATCH, CONTRACTOR},
    {CL_ROLE_VERIFIER, CL_OP_WATCH, PROJECTS},
    {CL_ROLE_PROPERTY, CL_OP_WATCH, PROJECTS},
    {CL_ROLE_DEPT, CL_OP_WATCH, COMPANY},
    {CL_ROLE_HOTLINE, CL_OP_WATCH, GROUP},
    {CL_ROLE_WARRANTY, CL_OP_WATCH, COMPANY},

    /* warranty repairs (issue 12, docs/WARRANTY.md): property staff their projects, the
     * company's cr and warranty office their company, the hotline and HQ all; the
     * office's powers only to the warranty office (and HQ's admin); a deduction approved
     * by the office or the company's cr; contractors, clerks, verifiers, departments
     * nothing (they see warranty tickets through ticket_read). */
    {CL_ROLE_NONE, CL_OP_WARRANTY_READ, NONE},
    {CL_ROLE_HQ_ADMIN, CL_OP_WARRANTY_READ, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_WARRANTY_READ, GROUP},
    {CL_ROLE_CR, CL_OP_WARRANTY_READ, COMPANY},
    {CL_ROLE_CLERK, CL_OP_WARRANTY_READ, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_WARRANTY_READ, NONE},
    {CL_ROLE_VERIFIER, CL_OP_WARRANTY_READ, NONE},
    {CL_ROLE_PROPERTY, CL_OP_WARRANTY_READ, PROJECTS},
    {CL_ROLE_DEPT, CL_OP_WARRANTY_READ, NONE},
    {CL_ROLE_HOTLINE, CL_OP_WARRANTY_READ, GROUP},
    {CL_ROLE_WARRANTY, CL_OP_WARRANTY_READ, COMPANY},
    {CL_ROLE_NONE, CL_OP_WARRANTY_WRITE, NONE},
    {CL_ROLE_HQ_ADMIN, CL_OP_WARRANTY_WRITE, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_WARRANTY_WRITE, NONE},
    {CL_ROLE_CR, CL_OP_WARRANTY_WRITE, COMPANY},
    {CL_ROLE_CLERK, CL_OP_WARRANTY_WRITE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_WARRANTY_WRITE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_WARRANTY_WRITE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_WARRANTY_WRITE, PROJECTS},
    {CL_ROLE_DEPT, CL_OP_WARRANTY_WRITE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_WARRANTY_WRITE, GROUP},
    {CL_ROLE_WARRANTY, CL_OP_WARRANTY_WRITE, COMPANY},
    {CL_ROLE_NONE, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_HQ_ADMIN, CL_OP_WARRANTY_OFFICE, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_CR, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_CLERK, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_DEPT, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_WARRANTY_OFFICE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_WARRANTY_OFFICE, COMPANY},
    {CL_ROLE_NONE, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_HQ_ADMIN, CL_OP_WARRANTY_APPROVE, GROUP},
    {CL_ROLE_HQ_ANALYST, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_CR, CL_OP_WARRANTY_APPROVE, COMPANY},
    {CL_ROLE_CLERK, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_CONTRACTOR, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_VERIFIER, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_PROPERTY, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_DEPT, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_HOTLINE, CL_OP_WARRANTY_APPROVE, NONE},
    {CL_ROLE_WARRANTY, CL_OP_WARRANTY_APPROVE, COMPANY},
};

/* Operations that change data: read-only roles must have none of them. */
static const cl_op_t write_ops[] = {
    CL_OP_COMPANY_CREATE,  CL_OP_PROJECT_CREATE,    CL_OP_BUILDING_CREATE, CL_OP_UNIT_CREATE,
    CL_OP_UNIT_IMPORT,     CL_OP_CONTRACTOR_CREATE, CL_OP_USER_CREATE,     CL_OP_TRADE_ASSIGN,
    CL_OP_DEPT_MANAGE,     CL_OP_DEFECT_MANAGE,     CL_OP_DEFECT_STEP,     CL_OP_KB_CURATE,
    CL_OP_WARRANTY_OFFICE, CL_OP_WARRANTY_APPROVE, /* (property takes warranty reports in) */
};

/* Roles outside the table's range, as a corrupt value or a bad cast could give. */
static const int bad_roles[] = {CL_ROLE__COUNT, CL_ROLE__COUNT + 1, -1, 1000};
static const int bad_ops[] = {CL_OP__COUNT, CL_OP__COUNT + 1, -1, 1000};

/* ---- tests ------------------------------------------------------------------------ */

/* Every (role, op) pair appears exactly once, so the matrix is the whole policy. */
static void test_matrix_complete(void **state) {
    (void)state;
    assert_int_equal(ARRAY_LEN(matrix), (size_t)CL_ROLE__COUNT * CL_OP__COUNT);
    bool seen[CL_ROLE__COUNT][CL_OP__COUNT];
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < ARRAY_LEN(matrix); i++) {
        const struct expect *e = &matrix[i];
        assert_in_range(e->role, 0, CL_ROLE__COUNT - 1);
        assert_in_range(e->op, 0, CL_OP__COUNT - 1);
        assert_false(seen[e->role][e->op]);
        seen[e->role][e->op] = true;
    }
}

static void test_matrix_scope(void **state) {
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(matrix); i++) {
        const struct expect *e = &matrix[i];
        cl_scope_t got = cl_authz_scope(e->role, e->op);
        if (got != e->scope)
            fail_msg("role %s op %s: scope %d, expected %d",
                     cl_role_name(e->role) ? cl_role_name(e->role) : "none", cl_op_name(e->op),
                     (int)got, (int)e->scope);
    }
}

/* The check follows the matrix: public always passes; otherwise no session is
 * UNAUTH, and a session is allowed exactly where the scope is not NONE. */
static void test_matrix_check(void **state) {
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(matrix); i++) {
        const struct expect *e = &matrix[i];
        int in = cl_authz_check(true, e->role, e->op);
        int out = cl_authz_check(false, e->role, e->op);
        int want_in = e->scope != NONE ? CL_OK : CL_EFORBIDDEN;
        int want_out = e->op == CL_OP_PUBLIC ? CL_OK : CL_EUNAUTH;
        if (in != want_in || out != want_out)
            fail_msg("role %s op %s: check %d/%d, expected %d/%d",
                     cl_role_name(e->role) ? cl_role_name(e->role) : "none", cl_op_name(e->op), in,
                     out, want_in, want_out);
    }
}

/* Properties of the policy stated in the rules, checked on the implementation. */
static void test_policy_invariants(void **state) {
    (void)state;
    static const cl_role_t read_only[] = {CL_ROLE_NONE, CL_ROLE_HQ_ANALYST, CL_ROLE_CONTRACTOR,
                                          CL_ROLE_VERIFIER, CL_ROLE_PROPERTY};
    for (size_t r = 0; r < ARRAY_LEN(read_only); r++)
        for (size_t o = 0; o < ARRAY_LEN(write_ops); o++)
            assert_int_equal(cl_authz_scope(read_only[r], write_ops[o]), NONE);

    /* Group master data and accounts: only HQ admin creates them. */
    for (int r = 0; r < CL_ROLE__COUNT; r++) {
        bool admin = r == CL_ROLE_HQ_ADMIN;
        assert_int_equal(cl_authz_scope(r, CL_OP_COMPANY_CREATE) != NONE, admin);
        assert_int_equal(cl_authz_scope(r, CL_OP_CONTRACTOR_CREATE) != NONE, admin);
        assert_int_equal(cl_authz_scope(r, CL_OP_USER_CREATE) != NONE, admin);
    }

    /* Owners' data never reaches a contractor: no buildings or units. */
    assert_int_equal(cl_authz_scope(CL_ROLE_CONTRACTOR, CL_OP_BUILDING_LIST), NONE);
    assert_int_equal(cl_authz_scope(CL_ROLE_CONTRACTOR, CL_OP_UNIT_LIST), NONE);

    /* Group scope is for HQ and the group's 400 hotline only; every other role is limited
     * to its own data. Two exceptions: the knowledge base is the whole group's to search
     * (never a contractor's), and a department's step of a defect is narrowed by membership
     * in SQL, not by scope. */
    for (int r = 0; r < CL_ROLE__COUNT; r++) {
        if (r == CL_ROLE_HQ_ADMIN || r == CL_ROLE_HQ_ANALYST || r == CL_ROLE_HOTLINE) continue;
        for (int o = 0; o < CL_OP__COUNT; o++) {
            if (o == CL_OP_PUBLIC || o == CL_OP_KB_SEARCH) continue;
            if (o == CL_OP_DEFECT_STEP && r == CL_ROLE_DEPT) continue;
            assert_int_not_equal(cl_authz_scope(r, o), GROUP);
        }
    }
    assert_int_equal(cl_authz_scope(CL_ROLE_CONTRACTOR, CL_OP_KB_SEARCH), NONE);
    for (int r = 0; r < CL_ROLE__COUNT; r++)
        assert_int_equal(cl_authz_scope(r, CL_OP_DEFECT_STEP) != NONE, r == CL_ROLE_DEPT);
}

static void test_out_of_range(void **state) {
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad_roles); i++) {
        cl_role_t role = (cl_role_t)bad_roles[i];
        for (int o = 0; o < CL_OP__COUNT; o++) {
            assert_int_equal(cl_authz_scope(role, o), NONE);
            int want = o == CL_OP_PUBLIC ? CL_OK : CL_EFORBIDDEN;
            assert_int_equal(cl_authz_check(true, role, o), want);
            want = o == CL_OP_PUBLIC ? CL_OK : CL_EUNAUTH;
            assert_int_equal(cl_authz_check(false, role, o), want);
        }
        assert_false(cl_authz_sees_owner_data(role));
        assert_null(cl_role_name(role));
    }
    for (size_t i = 0; i < ARRAY_LEN(bad_ops); i++) {
        cl_op_t op = (cl_op_t)bad_ops[i];
        for (int r = 0; r < CL_ROLE__COUNT; r++) {
            assert_int_equal(cl_authz_scope(r, op), NONE);
            assert_int_equal(cl_authz_check(true, r, op), CL_EFORBIDDEN);
            assert_int_equal(cl_authz_check(false, r, op), CL_EUNAUTH);
        }
        assert_null(cl_op_name(op));
    }
}

static void test_owner_data(void **state) {
    (void)state;
    static const struct {
        cl_role_t role;
        bool sees;
    } want[] = {
        {CL_ROLE_NONE, false},     {CL_ROLE_HQ_ADMIN, true}, {CL_ROLE_HQ_ANALYST, false},
        {CL_ROLE_CR, true},        {CL_ROLE_CLERK, true},    {CL_ROLE_CONTRACTOR, false},
        {CL_ROLE_VERIFIER, false}, {CL_ROLE_PROPERTY, true}, {CL_ROLE_DEPT, false},
        {CL_ROLE_HOTLINE, true},   {CL_ROLE_WARRANTY, true},
    };
    assert_int_equal(ARRAY_LEN(want), CL_ROLE__COUNT);
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        assert_int_equal(cl_authz_sees_owner_data(want[i].role), want[i].sees);
}

static void test_role_names(void **state) {
    (void)state;
    /* The names the users.role CHECK constraint allows. */
    static const struct {
        cl_role_t role;
        const char *name;
    } want[] = {
        {CL_ROLE_HQ_ADMIN, "hq_admin"},
        {CL_ROLE_HQ_ANALYST, "hq_analyst"},
        {CL_ROLE_CR, "cr"},
        {CL_ROLE_CLERK, "clerk"},
        {CL_ROLE_CONTRACTOR, "contractor"},
        {CL_ROLE_VERIFIER, "verifier"},
        {CL_ROLE_PROPERTY, "property"},
        {CL_ROLE_DEPT, "dept"},
        {CL_ROLE_HOTLINE, "hotline"},
        {CL_ROLE_WARRANTY, "warranty"},
    };
    assert_int_equal(ARRAY_LEN(want), CL_ROLE__COUNT - 1);
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        assert_non_null(cl_role_name(want[i].role));
        assert_string_equal(cl_role_name(want[i].role), want[i].name);
        assert_int_equal(cl_role_parse(want[i].name), want[i].role);
    }
    assert_null(cl_role_name(CL_ROLE_NONE));

    static const char *const unknown[] = {"",   "none",  "HQ_ADMIN",    "hq_admin ",  " cr",
                                          "hq", "admin", "contractors", "property\n", "clerk\x01"};
    for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
        assert_int_equal(cl_role_parse(unknown[i]), CL_ROLE_NONE);
    assert_int_equal(cl_role_parse(NULL), CL_ROLE_NONE);
}

/* Each name is its enum's suffix in lower case, so a pairing slip in CL_OPS fails here; a
 * few names are pinned because logs and audit records are searched by them. */
static void test_op_names(void **state) {
    (void)state;
    static const char *const upper[] = {
#define OP_UPPER(u, l) [CL_OP_##u] = #u,
        CL_OPS(OP_UPPER)
#undef OP_UPPER
    };
    assert_int_equal(ARRAY_LEN(upper), CL_OP__COUNT);
    for (int o = 0; o < CL_OP__COUNT; o++) {
        const char *name = cl_op_name(o);
        assert_non_null(name);
        char want[64];
        size_t k = 0;
        for (; upper[o][k] && k + 1 < sizeof want; k++)
            want[k] = (char)tolower((unsigned char)upper[o][k]);
        want[k] = '\0';
        assert_string_equal(name, want);
        assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz_"), strlen(name));
        for (int p = 0; p < o; p++)
            assert_string_not_equal(name, cl_op_name(p));
    }
    assert_string_equal(cl_op_name(CL_OP_PUBLIC), "public");
    assert_string_equal(cl_op_name(CL_OP_ITEM_RECORD), "item_record");
    assert_string_equal(cl_op_name(CL_OP_TICKET_VERIFY), "ticket_verify");
    assert_string_equal(cl_op_name(CL_OP_REPORT), "report");
    assert_null(cl_op_name(CL_OP__COUNT));
    assert_null(cl_op_name((cl_op_t)-1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_complete), cmocka_unit_test(test_matrix_scope),
        cmocka_unit_test(test_matrix_check),    cmocka_unit_test(test_policy_invariants),
        cmocka_unit_test(test_out_of_range),    cmocka_unit_test(test_owner_data),
        cmocka_unit_test(test_role_names),      cmocka_unit_test(test_op_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
