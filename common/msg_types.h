/* msg_types.h - every message type of the wire protocol, once. Each row is
 *   X(CONST, snake, Name): the type CL_MSG_<CONST> (= MsgType MSG_<CONST> in
 *   proto/types.proto), its message closeloop__<snake>__descriptor, and its name for logs.
 * msg.h makes the CL_MSG_* constants from it and msg.c the type -> descriptor table, so a
 * new message type is one row here (its handler is one row in server/engine/dispatch.c). */
#ifndef CL_MSG_TYPES_H
#define CL_MSG_TYPES_H

// clang-format off
#define CL_MSG_TYPES(X) \
    X(ERROR, error, Error) \
    X(PING, ping, Ping) \
    X(PONG, pong, Pong) \
    X(SERVER_INFO_REQ, server_info_request, ServerInfoRequest) \
    X(SERVER_INFO, server_info, ServerInfo) \
    X(LOGIN_REQ, login_request, LoginRequest) \
    X(LOGIN, login_reply, LoginReply) \
    X(SESSION_RESUME_REQ, session_resume_request, SessionResumeRequest) \
    X(LOGOUT_REQ, logout_request, LogoutRequest) \
    X(OK, ok, Ok) \
    X(WHOAMI_REQ, who_am_irequest, WhoAmIRequest) \
    X(WHOAMI, who_am_i, WhoAmI) \
    X(COMPANY_CREATE_REQ, company_create, CompanyCreate) \
    X(COMPANY, company, Company) \
    X(COMPANY_LIST_REQ, company_list_request, CompanyListRequest) \
    X(COMPANY_PAGE, company_page, CompanyPage) \
    X(PROJECT_CREATE_REQ, project_create, ProjectCreate) \
    X(PROJECT, project, Project) \
    X(PROJECT_LIST_REQ, project_list_request, ProjectListRequest) \
    X(PROJECT_PAGE, project_page, ProjectPage) \
    X(BUILDING_CREATE_REQ, building_create, BuildingCreate) \
    X(BUILDING, building, Building) \
    X(BUILDING_LIST_REQ, building_list_request, BuildingListRequest) \
    X(BUILDING_PAGE, building_page, BuildingPage) \
    X(UNIT_CREATE_REQ, unit_create, UnitCreate) \
    X(UNIT, unit, Unit) \
    X(UNIT_LIST_REQ, unit_list_request, UnitListRequest) \
    X(UNIT_PAGE, unit_page, UnitPage) \
    X(CONTRACTOR_CREATE_REQ, contractor_create, ContractorCreate) \
    X(CONTRACTOR, contractor, Contractor) \
    X(CONTRACTOR_LIST_REQ, contractor_list_request, ContractorListRequest) \
    X(CONTRACTOR_PAGE, contractor_page, ContractorPage) \
    X(USER_CREATE_REQ, user_create, UserCreate) \
    X(USER, user, User) \
    X(USER_LIST_REQ, user_list_request, UserListRequest) \
    X(USER_PAGE, user_page, UserPage) \
    X(TRADE_ASSIGN_REQ, trade_assign, TradeAssign) \
    X(TRADE_ASSIGNMENT, trade_assignment, TradeAssignment) \
    X(TRADE_LIST_REQ, trade_list_request, TradeListRequest) \
    X(TRADE_ASSIGNMENT_PAGE, trade_assignment_page, TradeAssignmentPage) \
    X(UNIT_IMPORT_REQ, unit_import_chunk, UnitImportChunk) \
    X(UNIT_IMPORT_RESULT, unit_import_result, UnitImportResult) \
    X(TRADE_ALIAS_ADD_REQ, trade_alias_add, TradeAliasAdd) \
    X(TRADE_ALIAS, trade_alias, TradeAlias) \
    X(TRADE_ALIAS_LIST_REQ, trade_alias_list_request, TradeAliasListRequest) \
    X(TRADE_ALIAS_PAGE, trade_alias_page, TradeAliasPage) \
    X(ROUND_CREATE_REQ, round_create, RoundCreate) \
    X(ROUND, round, Round) \
    X(ROUND_LIST_REQ, round_list_request, RoundListRequest) \
    X(ROUND_PAGE, round_page, RoundPage) \
    X(ITEM_RECORD_REQ, item_batch, ItemBatch) \
    X(ITEM_BATCH_RESULT, item_batch_result, ItemBatchResult) \
    X(HANDOVER_RECORD_REQ, handover_form, HandoverForm) \
    X(INSPECTION_RECORD, inspection_record, InspectionRecord) \
    X(HANDOVER_SCHEDULE_REQ, handover_schedule, HandoverSchedule) \
    X(TICKET_TRANSITION_REQ, ticket_transition, TicketTransition) \
    X(TICKET, ticket, Ticket) \
    X(TICKET_SHOW_REQ, ticket_show_request, TicketShowRequest) \
    X(TICKET_HISTORY, ticket_history, TicketHistory) \
    X(TODO_LIST_REQ, todo_list_request, TodoListRequest) \
    X(TICKET_PAGE, ticket_page, TicketPage) \
    X(TOVERIFY_LIST_REQ, to_verify_list_request, ToVerifyListRequest) \
    X(DEADLINE_SET_REQ, deadline_set, DeadlineSet) \
    X(DEADLINE_PRESET, deadline_preset, DeadlinePreset) \
    X(DEADLINE_LIST_REQ, deadline_list_request, DeadlineListRequest) \
    X(DEADLINE_PRESET_PAGE, deadline_preset_page, DeadlinePresetPage) \
    X(DAILY_REPORT_REQ, daily_report_request, DailyReportRequest) \
    X(DAILY_REPORT, daily_report, DailyReport) \
    X(READINESS_REQ, readiness_request, ReadinessRequest) \
    X(READINESS, readiness, Readiness) \
    X(DISPATCH_LIST_REQ, dispatch_list_request, DispatchListRequest) \
    X(CHECKPOINT_LIST_REQ, checkpoint_list_request, CheckpointListRequest) \
    X(LESSON_REPORT, lesson_report, LessonReport) \
    X(CHECKPOINT_REFRESH_REQ, checkpoint_list_request, CheckpointListRequest) \
    X(CHECKPOINT_PASS_REQ, checkpoint_pass, CheckpointPass) \
    X(LESSONS_REQ, lessons_request, LessonsRequest) \
    X(CASE_MATCH_REQ, case_match_request, CaseMatchRequest) \
    X(DEFECT_FEEDBACK_REQ, defect_report_request, DefectReportRequest) \
    X(PERIODIC_REPORT_REQ, defect_report_request, DefectReportRequest) \
    X(KB_SEARCH_REQ, kb_search, KbSearch) \
    X(KB_CASE_PAGE, kb_case_page, KbCasePage) \
    X(KB_ITEM_SEARCH_REQ, kb_search, KbSearch) \
    X(KB_ITEM_HIT_PAGE, kb_item_hit_page, KbItemHitPage) \
    X(KB_SHOW_REQ, kb_show, KbShow) \
    X(KB_CASE_DETAIL, kb_case_detail, KbCaseDetail) \
    X(KB_ACCEPT_REQ, kb_accept, KbAccept) \
    X(KB_DEFECT_STEP, kb_defect_step, KbDefectStep) \
    X(KB_RETURN_REQ, kb_return, KbReturn) \
    X(KB_RETIRE_REQ, kb_retire, KbRetire) \
    X(KB_CASE, kb_case, KbCase) \
    X(KB_IMPORT_REQ, kb_import_chunk, KbImportChunk) \
    X(KB_IMPORT_RESULT, kb_import_result, KbImportResult) \
    X(KB_ITEM_HIT, kb_item_hit, KbItemHit) \
    X(DEPT_CREATE_REQ, department_create, DepartmentCreate) \
    X(DEPARTMENT, department, Department) \
    X(DEPT_LIST_REQ, department_list_request, DepartmentListRequest) \
    X(DEPARTMENT_PAGE, department_page, DepartmentPage) \
    X(DEPT_LEADER_REQ, department_leader_set, DepartmentLeaderSet) \
    X(PROJECT_PREFIX_REQ, project_prefix_set, ProjectPrefixSet) \
    X(DEFECT_CREATE_REQ, defect_create, DefectCreate) \
    X(DEFECT, defect, Defect) \
    X(DEFECT_STEP_REQ, defect_step, DefectStep) \
    X(DEFECT_LINK_REQ, defect_link, DefectLink) \
    X(DEFECT_SHOW_REQ, defect_show_request, DefectShowRequest) \
    X(DEFECT_LIST_REQ, defect_list_request, DefectListRequest) \
    X(DEFECT_PAGE, defect_page, DefectPage) \
    X(DEFECT_PROPOSALS_REQ, defect_proposals_request, DefectProposalsRequest) \
    X(DEFECT_PROPOSAL, defect_proposal, DefectProposal) \
    X(DEFECT_PROPOSAL_PAGE, defect_proposal_page, DefectProposalPage) \
    X(SYNC_START_REQ, sync_start_request, SyncStartRequest) \
    X(SYNC_START, sync_start, SyncStart) \
    X(SYNC_SNAPSHOT_REQ, sync_snapshot_request, SyncSnapshotRequest) \
    X(SYNC_ROW_PAGE, sync_row_page, SyncRowPage) \
    X(SYNC_FEED_REQ, sync_feed_request, SyncFeedRequest) \
    X(SYNC_CHECKSUM_REQ, sync_checksum_request, SyncChecksumRequest) \
    X(SYNC_CHECKSUM_PAGE, sync_checksum_page, SyncChecksumPage) \
    X(SYNC_FOLLOW_REQ, sync_follow_request, SyncFollowRequest) \
    X(SYNC_FOLLOW, sync_follow_reply, SyncFollowReply) \
    X(SYNC_NOTICE, sync_notice, SyncNotice) \
    X(STATS_REQ, stats_request, StatsRequest) \
    X(STATS_PAGE, stats_page, StatsPage) \
    X(SCORECARD_REQ, scorecard_request, ScorecardRequest) \
    X(SCORECARD, scorecard, Scorecard) \
    X(WATCH_REQ, watch_request, WatchRequest) \
    X(WATCH, watch_reply, WatchReply) \
    X(NOTICE, notice, Notice)
// clang-format on

#endif
