/* dispatch.h - the table that maps each request message type to its handler.
 *
 * A handler receives a decoded request and finishes it in exactly one way: with one
 * cl_req_reply or cl_req_fail, before returning or later from a callback on the loop
 * (finishing twice asserts). Handlers run on the loop thread and must never block it.
 * CL_REQUESTS below is the one list of requests: a new request is one row there (and its
 * message types in common/msg_types.h, its operation in authz.h). */
#ifndef CL_DISPATCH_H
#define CL_DISPATCH_H

#include <stdint.h>

#include "authz.h"
#include "db.h"
#include "server.h"

typedef void (*cl_handler_fn)(cl_req_t *req);

typedef struct cl_handler {
    uint16_t type;    /* request MsgType */
    const char *name; /* for logs: "ping" */
    cl_op_t op;       /* what it does, for the authorization check before it runs */
    int needs_db;     /* refused with ERR_UNAVAILABLE when no database is configured */
    cl_handler_fn fn;
} cl_handler_t;

/* The handler for a request type, or NULL when the type is not a request we serve. */
const cl_handler_t *cl_dispatch_lookup(uint16_t type);

/* Every request the daemon serves, once: X(TYPE, name, operation, needs_db, handler).
 * TYPE is the request's message type (CL_MSG_<TYPE>, common/msg_types.h), name is for
 * logs, the operation is what authorization checks before the handler runs (authz.h),
 * needs_db refuses it with ERR_UNAVAILABLE when no database is configured. This list
 * declares every handler and makes the dispatch table (dispatch.c). */
// clang-format off
#define CL_REQUESTS(X) \
    X(PING, ping, CL_OP_PUBLIC, 0, cl_sys_ping) \
    X(SERVER_INFO_REQ, server_info, CL_OP_PUBLIC, 0, cl_sys_server_info) \
    X(LOGIN_REQ, login, CL_OP_PUBLIC, 1, cl_auth_login) \
    X(SESSION_RESUME_REQ, session_resume, CL_OP_PUBLIC, 1, cl_auth_resume) \
    X(LOGOUT_REQ, logout, CL_OP_SESSION, 1, cl_auth_logout) \
    X(WHOAMI_REQ, whoami, CL_OP_SESSION, 1, cl_auth_whoami) \
    X(COMPANY_CREATE_REQ, company_create, CL_OP_COMPANY_CREATE, 1, cl_org_company_create) \
    X(COMPANY_LIST_REQ, company_list, CL_OP_COMPANY_LIST, 1, cl_org_company_list) \
    X(PROJECT_CREATE_REQ, project_create, CL_OP_PROJECT_CREATE, 1, cl_org_project_create) \
    X(PROJECT_LIST_REQ, project_list, CL_OP_PROJECT_LIST, 1, cl_org_project_list) \
    X(BUILDING_CREATE_REQ, building_create, CL_OP_BUILDING_CREATE, 1, cl_org_building_create) \
    X(BUILDING_LIST_REQ, building_list, CL_OP_BUILDING_LIST, 1, cl_org_building_list) \
    X(UNIT_CREATE_REQ, unit_create, CL_OP_UNIT_CREATE, 1, cl_org_unit_create) \
    X(UNIT_LIST_REQ, unit_list, CL_OP_UNIT_LIST, 1, cl_org_unit_list) \
    X(UNIT_IMPORT_REQ, unit_import, CL_OP_UNIT_IMPORT, 1, cl_org_unit_import) \
    X(CONTRACTOR_CREATE_REQ, contractor_create, CL_OP_CONTRACTOR_CREATE, 1, cl_org_contractor_create) \
    X(CONTRACTOR_LIST_REQ, contractor_list, CL_OP_CONTRACTOR_LIST, 1, cl_org_contractor_list) \
    X(USER_CREATE_REQ, user_create, CL_OP_USER_CREATE, 1, cl_org_user_create) \
    X(USER_LIST_REQ, user_list, CL_OP_USER_LIST, 1, cl_org_user_list) \
    X(TRADE_ASSIGN_REQ, trade_assign, CL_OP_TRADE_ASSIGN, 1, cl_org_trade_assign) \
    X(TRADE_LIST_REQ, trade_list, CL_OP_TRADE_LIST, 1, cl_org_trade_list) \
    X(TRADE_ALIAS_ADD_REQ, trade_alias_add, CL_OP_TRADE_ASSIGN, 1, cl_org_trade_alias_add) \
    X(TRADE_ALIAS_LIST_REQ, trade_alias_list, CL_OP_TRADE_LIST, 1, cl_org_trade_alias_list) \
    X(ROUND_CREATE_REQ, round_create, CL_OP_ROUND_CREATE, 1, cl_insp_round_create) \
    X(ROUND_LIST_REQ, round_list, CL_OP_ROUND_LIST, 1, cl_insp_round_list) \
    X(ITEM_RECORD_REQ, item_record, CL_OP_ITEM_RECORD, 1, cl_insp_item_record) \
    X(HANDOVER_RECORD_REQ, handover_record, CL_OP_HANDOVER_RECORD, 1, cl_insp_handover_record) \
    X(HANDOVER_SCHEDULE_REQ, handover_schedule, CL_OP_HANDOVER_RECORD, 1, cl_insp_handover_schedule) \
    X(DEADLINE_SET_REQ, deadline_set, CL_OP_DEADLINE_SET, 1, cl_ticket_deadline_set) \
    X(DEADLINE_LIST_REQ, deadline_list, CL_OP_DEADLINE_LIST, 1, cl_ticket_deadline_list) \
    X(TICKET_TRANSITION_REQ, ticket_transition, CL_OP_TICKET_TRANSITION, 1, cl_ticket_transition) \
    X(TICKET_SHOW_REQ, ticket_show, CL_OP_TICKET_READ, 1, cl_ticket_show) \
    X(TODO_LIST_REQ, todo_list, CL_OP_TICKET_READ, 1, cl_ticket_todo_list) \
    X(TOVERIFY_LIST_REQ, toverify_list, CL_OP_TICKET_READ, 1, cl_ticket_toverify_list) \
    X(DISPATCH_LIST_REQ, dispatch_list, CL_OP_TICKET_READ, 1, cl_ticket_dispatch_list) \
    X(DAILY_REPORT_REQ, daily_report, CL_OP_REPORT, 1, cl_report_daily) \
    X(READINESS_REQ, readiness, CL_OP_REPORT, 1, cl_report_readiness) \
    X(CHECKPOINT_LIST_REQ, checkpoint_list, CL_OP_KB_SEARCH, 1, cl_lesson_checkpoint_list) \
    X(CHECKPOINT_REFRESH_REQ, checkpoint_refresh, CL_OP_CHECKPOINT_RECORD, 1, cl_lesson_checkpoint_refresh) \
    X(CHECKPOINT_PASS_REQ, checkpoint_pass, CL_OP_CHECKPOINT_RECORD, 1, cl_lesson_checkpoint_pass) \
    X(LESSONS_REQ, lessons, CL_OP_DEFECT_REPORT, 1, cl_lesson_lessons) \
    X(CASE_MATCH_REQ, case_match, CL_OP_DEFECT_REPORT, 1, cl_lesson_case_match) \
    X(DEFECT_FEEDBACK_REQ, defect_feedback, CL_OP_DEFECT_REPORT, 1, cl_lesson_defect_feedback) \
    X(PERIODIC_REPORT_REQ, periodic_report, CL_OP_DEFECT_REPORT, 1, cl_lesson_periodic_report) \
    X(KB_SEARCH_REQ, kb_search, CL_OP_KB_SEARCH, 1, cl_kb_search) \
    X(KB_ITEM_SEARCH_REQ, kb_item_search, CL_OP_KB_SEARCH, 1, cl_kb_item_search) \
    X(KB_SHOW_REQ, kb_show, CL_OP_KB_SEARCH, 1, cl_kb_show) \
    X(KB_ACCEPT_REQ, kb_accept, CL_OP_KB_CURATE, 1, cl_kb_accept) \
    X(KB_RETURN_REQ, kb_return, CL_OP_KB_CURATE, 1, cl_kb_return) \
    X(KB_RETIRE_REQ, kb_retire, CL_OP_KB_CURATE, 1, cl_kb_retire) \
    X(KB_IMPORT_REQ, kb_import, CL_OP_KB_CURATE, 1, cl_kb_import) \
    X(PROJECT_PREFIX_REQ, project_prefix, CL_OP_PROJECT_CREATE, 1, cl_org_project_prefix) \
    X(DEPT_CREATE_REQ, dept_create, CL_OP_DEPT_MANAGE, 1, cl_dept_create) \
    X(DEPT_LIST_REQ, dept_list, CL_OP_DEPT_LIST, 1, cl_dept_list) \
    X(DEPT_LEADER_REQ, dept_leader, CL_OP_DEPT_MANAGE, 1, cl_dept_leader) \
    X(DEFECT_CREATE_REQ, defect_create, CL_OP_DEFECT_MANAGE, 1, cl_defect_create) \
    X(DEFECT_LINK_REQ, defect_link, CL_OP_DEFECT_MANAGE, 1, cl_defect_link) \
    X(DEFECT_STEP_REQ, defect_step, CL_OP_DEFECT_READ, 1, cl_defect_step_req) \
    X(DEFECT_SHOW_REQ, defect_show, CL_OP_DEFECT_READ, 1, cl_defect_show) \
    X(DEFECT_LIST_REQ, defect_list, CL_OP_DEFECT_READ, 1, cl_defect_list) \
    X(DEFECT_PROPOSALS_REQ, defect_proposals, CL_OP_DEFECT_READ, 1, cl_defect_proposals) \
    X(SYNC_START_REQ, sync_start, CL_OP_SYNC, 1, cl_sync_start) \
    X(SYNC_SNAPSHOT_REQ, sync_snapshot, CL_OP_SYNC, 1, cl_sync_snapshot) \
    X(SYNC_FEED_REQ, sync_feed, CL_OP_SYNC, 1, cl_sync_feed) \
    X(SYNC_CHECKSUM_REQ, sync_checksum, CL_OP_SYNC, 1, cl_sync_checksum) \
    X(SYNC_FOLLOW_REQ, sync_follow, CL_OP_SYNC, 1, cl_sync_follow) \
    X(STATS_REQ, stats, CL_OP_STATS, 1, cl_stats_query) \
    X(SCORECARD_REQ, scorecard, CL_OP_STATS, 1, cl_stats_scorecard) \
    X(CALENDAR_IMPORT_REQ, calendar_import, CL_OP_CALENDAR_MANAGE, 1, cl_calendar_import) \
    X(CALENDAR_LIST_REQ, calendar_list, CL_OP_CALENDAR_READ, 1, cl_calendar_list) \
    X(CALENDAR_HOURS_REQ, calendar_hours, CL_OP_CALENDAR_READ, 1, cl_calendar_hours) \
    X(CALENDAR_DEADLINE_REQ, calendar_deadline, CL_OP_CALENDAR_READ, 1, cl_calendar_deadline) \
    X(COMPLAINT_ADD_REQ, complaint_add, CL_OP_COMPLAINT_WRITE, 1, cl_complaint_add) \
    X(COMPLAINT_SHOW_REQ, complaint_show, CL_OP_COMPLAINT_READ, 1, cl_complaint_show) \
    X(COMPLAINT_LIST_REQ, complaint_list, CL_OP_COMPLAINT_READ, 1, cl_complaint_list) \
    X(COMPLAINT_ACT_REQ, complaint_act, CL_OP_COMPLAINT_WRITE, 1, cl_complaint_act) \
    X(WATCH_REQ, watch, CL_OP_WATCH, 1, cl_watch) \
    X(WARRANTY_ADD_REQ, warranty_add, CL_OP_WARRANTY_WRITE, 1, cl_warranty_add) \
    X(WARRANTY_SHOW_REQ, warranty_show, CL_OP_WARRANTY_READ, 1, cl_warranty_show) \
    X(WARRANTY_LIST_REQ, warranty_list, CL_OP_WARRANTY_READ, 1, cl_warranty_list) \
    X(WARRANTY_ACT_REQ, warranty_act, CL_OP_WARRANTY_WRITE, 1, cl_warranty_act) \
    X(WARRANTY_LETTER_REQ, warranty_letter, CL_OP_WARRANTY_OFFICE, 1, cl_warranty_letter) \
    X(WARRANTY_LETTER_LIST_REQ, warranty_letters, CL_OP_WARRANTY_READ, 1, cl_warranty_letters) \
    X(WARRANTY_DEDUCTION_REQ, warranty_deduction, CL_OP_WARRANTY_APPROVE, 1, cl_warranty_deduction) \
    X(WARRANTY_DEDUCTION_LIST_REQ, warranty_deductions, CL_OP_WARRANTY_READ, 1, cl_warranty_deductions) \
    X(KPI_REQ, kpi, CL_OP_STATS, 1, cl_stats_kpi) \
    X(REPAIR_SCORECARD_REQ, repair_scorecard, CL_OP_STATS, 1, cl_stats_repair_scorecard)
// clang-format on

/* The handlers, declared from the list. */
#define CL_REQUEST_HANDLER(type, name, op, needs_db, fn) void fn(cl_req_t *req);
CL_REQUESTS(CL_REQUEST_HANDLER)
#undef CL_REQUEST_HANDLER

#endif
