/* dispatch.c - the request table: type, name, operation (for authorization), handler.
 * Adding a request type means one line here and one row in authz.c (and its message
 * types in common/msg_types.h). */
#include "dispatch.h"

#include <stddef.h>

#include "deadline.h"
#include "inspection.h"
#include "msg.h"
#include "org.h"
#include "report.h"
#include "session.h"
#include "ticket.h"

static const cl_handler_t handlers[] = {
    {CL_MSG_PING, "ping", CL_OP_PUBLIC, 0, cl_sys_ping},
    {CL_MSG_SERVER_INFO_REQ, "server_info", CL_OP_PUBLIC, 0, cl_sys_server_info},
    {CL_MSG_LOGIN_REQ, "login", CL_OP_PUBLIC, 1, cl_auth_login},
    {CL_MSG_SESSION_RESUME_REQ, "session_resume", CL_OP_PUBLIC, 1, cl_auth_resume},
    {CL_MSG_LOGOUT_REQ, "logout", CL_OP_SESSION, 1, cl_auth_logout},
    {CL_MSG_WHOAMI_REQ, "whoami", CL_OP_SESSION, 1, cl_auth_whoami},
    {CL_MSG_COMPANY_CREATE_REQ, "company_create", CL_OP_COMPANY_CREATE, 1, cl_org_company_create},
    {CL_MSG_COMPANY_LIST_REQ, "company_list", CL_OP_COMPANY_LIST, 1, cl_org_company_list},
    {CL_MSG_PROJECT_CREATE_REQ, "project_create", CL_OP_PROJECT_CREATE, 1, cl_org_project_create},
    {CL_MSG_PROJECT_LIST_REQ, "project_list", CL_OP_PROJECT_LIST, 1, cl_org_project_list},
    {CL_MSG_BUILDING_CREATE_REQ, "building_create", CL_OP_BUILDING_CREATE, 1,
     cl_org_building_create},
    {CL_MSG_BUILDING_LIST_REQ, "building_list", CL_OP_BUILDING_LIST, 1, cl_org_building_list},
    {CL_MSG_UNIT_CREATE_REQ, "unit_create", CL_OP_UNIT_CREATE, 1, cl_org_unit_create},
    {CL_MSG_UNIT_LIST_REQ, "unit_list", CL_OP_UNIT_LIST, 1, cl_org_unit_list},
    {CL_MSG_UNIT_IMPORT_REQ, "unit_import", CL_OP_UNIT_IMPORT, 1, cl_org_unit_import},
    {CL_MSG_CONTRACTOR_CREATE_REQ, "contractor_create", CL_OP_CONTRACTOR_CREATE, 1,
     cl_org_contractor_create},
    {CL_MSG_CONTRACTOR_LIST_REQ, "contractor_list", CL_OP_CONTRACTOR_LIST, 1,
     cl_org_contractor_list},
    {CL_MSG_USER_CREATE_REQ, "user_create", CL_OP_USER_CREATE, 1, cl_org_user_create},
    {CL_MSG_USER_LIST_REQ, "user_list", CL_OP_USER_LIST, 1, cl_org_user_list},
    {CL_MSG_TRADE_ASSIGN_REQ, "trade_assign", CL_OP_TRADE_ASSIGN, 1, cl_org_trade_assign},
    {CL_MSG_TRADE_LIST_REQ, "trade_list", CL_OP_TRADE_LIST, 1, cl_org_trade_list},
    {CL_MSG_ROUND_CREATE_REQ, "round_create", CL_OP_ROUND_CREATE, 1, cl_insp_round_create},
    {CL_MSG_ROUND_LIST_REQ, "round_list", CL_OP_ROUND_LIST, 1, cl_insp_round_list},
    {CL_MSG_ITEM_RECORD_REQ, "item_record", CL_OP_ITEM_RECORD, 1, cl_insp_item_record},
    {CL_MSG_HANDOVER_RECORD_REQ, "handover_record", CL_OP_HANDOVER_RECORD, 1,
     cl_insp_handover_record},
    {CL_MSG_HANDOVER_SCHEDULE_REQ, "handover_schedule", CL_OP_HANDOVER_RECORD, 1,
     cl_insp_handover_schedule},
    {CL_MSG_DEADLINE_SET_REQ, "deadline_set", CL_OP_DEADLINE_SET, 1, cl_ticket_deadline_set},
    {CL_MSG_DEADLINE_LIST_REQ, "deadline_list", CL_OP_DEADLINE_LIST, 1, cl_ticket_deadline_list},
    {CL_MSG_TICKET_TRANSITION_REQ, "ticket_transition", CL_OP_TICKET_TRANSITION, 1,
     cl_ticket_transition},
    {CL_MSG_TICKET_SHOW_REQ, "ticket_show", CL_OP_TICKET_READ, 1, cl_ticket_show},
    {CL_MSG_TODO_LIST_REQ, "todo_list", CL_OP_TICKET_READ, 1, cl_ticket_todo_list},
    {CL_MSG_TOVERIFY_LIST_REQ, "toverify_list", CL_OP_TICKET_READ, 1, cl_ticket_toverify_list},
    {CL_MSG_DISPATCH_LIST_REQ, "dispatch_list", CL_OP_TICKET_READ, 1, cl_ticket_dispatch_list},
    {CL_MSG_DAILY_REPORT_REQ, "daily_report", CL_OP_REPORT, 1, cl_report_daily},
    {CL_MSG_READINESS_REQ, "readiness", CL_OP_REPORT, 1, cl_report_readiness},
};

const cl_handler_t *cl_dispatch_lookup(uint16_t type) {
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].type == type) return &handlers[i];
    return NULL;
}
