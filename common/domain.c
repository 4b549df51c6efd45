/* domain.c - the registry's tables (see domain.h): every domain's values, the columns
 * that store them, and the schema's length and range CHECKs. This is the only C file
 * that spells the stored names; the Chinese labels follow the seeds' terms (DOMAIN.md).
 * Also the trade code rule, which both sides check against the same limits.
 * Each values table is in wire order, 1, 2, 3 ..., which test_domain checks, so a lookup
 * by wire value is an index. */
#include "domain.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const cl_domain_value_t roles[] = {
    {CLOSELOOP__ROLE__ROLE_HQ_ADMIN, "hq_admin", "集团管理员"},
    {CLOSELOOP__ROLE__ROLE_HQ_ANALYST, "hq_analyst", "集团分析员"},
    {CLOSELOOP__ROLE__ROLE_CR, "cr", "城市客服"},
    {CLOSELOOP__ROLE__ROLE_CLERK, "clerk", "现场录入员"},
    {CLOSELOOP__ROLE__ROLE_CONTRACTOR, "contractor", "施工单位"},
    {CLOSELOOP__ROLE__ROLE_VERIFIER, "verifier", "验收员"},
    {CLOSELOOP__ROLE__ROLE_PROPERTY, "property", "物业"},
    {CLOSELOOP__ROLE__ROLE_DEPT, "dept", "部门人员"},
    {CLOSELOOP__ROLE__ROLE_HOTLINE, "hotline", "400热线"},
    {CLOSELOOP__ROLE__ROLE_WARRANTY, "warranty", "保修办"},
};

static const cl_domain_value_t company_kinds[] = {
    {CLOSELOOP__COMPANY_KIND__COMPANY_HQ, "hq", "集团总部"},
    {CLOSELOOP__COMPANY_KIND__COMPANY_CITY, "city", "城市公司"},
    {CLOSELOOP__COMPANY_KIND__COMPANY_PROJECT, "project", "独立项目公司"},
};

/* Seed 002 calls the mock inspections 第一轮/第二轮/第三轮模拟验收; seed 001 the later
 * checks 交付3个月(后)质量检查, 交付11个月质量检查 ... */
static const cl_domain_value_t round_kinds[] = {
    {CLOSELOOP__ROUND_KIND__ROUND_MOCK1, "mock1", "第一轮模拟验收"},
    {CLOSELOOP__ROUND_KIND__ROUND_MOCK2, "mock2", "第二轮模拟验收"},
    {CLOSELOOP__ROUND_KIND__ROUND_MOCK3, "mock3", "第三轮模拟验收"},
    {CLOSELOOP__ROUND_KIND__ROUND_HANDOVER, "handover", "房屋交付"},
    {CLOSELOOP__ROUND_KIND__ROUND_CHECK3M, "check3m", "交付3个月质量检查"},
    {CLOSELOOP__ROUND_KIND__ROUND_CHECK11M, "check11m", "交付11个月质量检查"},
    {CLOSELOOP__ROUND_KIND__ROUND_CHECK23M, "check23m", "交付23个月质量检查"},
    {CLOSELOOP__ROUND_KIND__ROUND_CHECK35M, "check35m", "交付35个月质量检查"},
    {CLOSELOOP__ROUND_KIND__ROUND_WARRANTY, "warranty", "保修报修"},
};

static const cl_domain_value_t round_statuses[] = {
    {CLOSELOOP__ROUND_STATUS__ROUND_PLANNED, "planned", "计划中"},
    {CLOSELOOP__ROUND_STATUS__ROUND_IN_PROGRESS, "in_progress", "进行中"},
    {CLOSELOOP__ROUND_STATUS__ROUND_DONE, "done", "已完成"},
};

static const cl_domain_value_t severities[] = {
    {CLOSELOOP__SEVERITY__SEVERITY_MINOR, "minor", "轻微"},
    {CLOSELOOP__SEVERITY__SEVERITY_MAJOR, "major", "一般"},
    {CLOSELOOP__SEVERITY__SEVERITY_CRITICAL, "critical", "严重"},
};

static const cl_domain_value_t outcomes[] = {
    {CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED, "accepted", "已接房"},
    {CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED_WITH_ITEMS, "accepted_with_items", "带问题接房"},
    {CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER, "not_taken_over", "未接房"},
};

static const cl_domain_value_t signoffs[] = {
    {CLOSELOOP__SIGNOFF__SIGNOFF_SIGNED, "signed", "已签字"},
    {CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED, "refused", "拒签"},
};

static const cl_domain_value_t ticket_states[] = {
    {CLOSELOOP__TICKET_STATE__TICKET_DISPATCH, "dispatch", "待派单"},
    {CLOSELOOP__TICKET_STATE__TICKET_OPEN, "open", "待维修"},
    {CLOSELOOP__TICKET_STATE__TICKET_REPAIRED, "repaired", "已维修待验收"},
    {CLOSELOOP__TICKET_STATE__TICKET_CLOSED, "closed", "已关闭"},
    {CLOSELOOP__TICKET_STATE__TICKET_NOFIX, "nofix", "不予维修"},
};

static const cl_domain_value_t ticket_actions[] = {
    {CLOSELOOP__TICKET_ACTION__ACTION_CREATE, "create", "登记"},
    {CLOSELOOP__TICKET_ACTION__ACTION_DISPATCH, "dispatch", "派单"},
    {CLOSELOOP__TICKET_ACTION__ACTION_REPAIRED, "repaired", "维修完成"},
    {CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_PASS, "verify_pass", "验收通过"},
    {CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_FAIL, "verify_fail", "验收不通过"},
    {CLOSELOOP__TICKET_ACTION__ACTION_NOFIX, "nofix", "不予维修"},
    {CLOSELOOP__TICKET_ACTION__ACTION_REASSIGN, "reassign", "改派"},
    {CLOSELOOP__TICKET_ACTION__ACTION_RETURN, "return", "退单"},
};

static const cl_domain_value_t timeliness[] = {
    {CLOSELOOP__TIMELINESS__TIMELINESS_NO_DEADLINE, "no_deadline", "无期限"},
    {CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN, "overdue_open", "超期未关闭"},
    {CLOSELOOP__TIMELINESS__TIMELINESS_IN_TIME_OPEN, "in_time_open", "未超期处理中"},
    {CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE, "closed_late", "超期关闭"},
    {CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_IN_TIME, "closed_in_time", "按期关闭"},
};

static const cl_domain_value_t photo_mimes[] = {
    {CL_PHOTO_JPEG, "image/jpeg", "JPEG图片"},
    {CL_PHOTO_PNG, "image/png", "PNG图片"},
};

/* Seeds 000 and 001: the channels a-g, the kinds, the grades and the departments of the
 * defect feedback procedure (产品缺陷反馈管理作业指引). */
static const cl_domain_value_t defect_sources[] = {
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_PATROL, "patrol", "开盘交付巡检"},
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_MOCK_INSPECTION, "mock_inspection", "模拟验收"},
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_HANDOVER_REPAIR, "handover_repair", "交付维修整改"},
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_WARRANTY, "warranty", "房屋保修"},
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_COMPLAINT, "complaint", "业主投诉"},
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_PROPERTY, "property", "物业服务"},
    {CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_SURVEY, "survey", "满意度调查"},
};

static const cl_domain_value_t defect_kinds[] = {
    {CLOSELOOP__DEFECT_KIND__DEFECT_KIND_PRODUCT, "product", "产品缺陷"},
    {CLOSELOOP__DEFECT_KIND__DEFECT_KIND_SERVICE, "service", "服务缺陷"},
    {CLOSELOOP__DEFECT_KIND__DEFECT_KIND_POLICY, "policy", "制度缺陷"},
};

static const cl_domain_value_t specialties[] = {
    {CLOSELOOP__SPECIALTY__SPECIALTY_ENGINEERING, "engineering", "工程质量"},
    {CLOSELOOP__SPECIALTY__SPECIALTY_DESIGN, "design", "规划设计"},
    {CLOSELOOP__SPECIALTY__SPECIALTY_SALES, "sales", "销售"},
    {CLOSELOOP__SPECIALTY__SPECIALTY_PROPERTY, "property", "物业管理"},
    {CLOSELOOP__SPECIALTY__SPECIALTY_SERVICE, "service", "客户服务"},
    {CLOSELOOP__SPECIALTY__SPECIALTY_OTHER, "other", "其他"},
};

static const cl_domain_value_t calendar_day_kinds[] = {
    {CLOSELOOP__CALENDAR_DAY_KIND__CALENDAR_OFF, "off", "放假"},
    {CLOSELOOP__CALENDAR_DAY_KIND__CALENDAR_WORK, "work", "上班"},
};

static const cl_domain_value_t defect_grades[] = {
    {CLOSELOOP__DEFECT_GRADE__DEFECT_GRADE_A, "A", "A级"},
    {CLOSELOOP__DEFECT_GRADE__DEFECT_GRADE_B, "B", "B级"},
};

static const cl_domain_value_t defect_states[] = {
    {CLOSELOOP__DEFECT_STATE__DEFECT_COLLECTED, "collected", "已收集"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_ANALYSED, "analysed", "已开决策会"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_DECIDED, "decided", "已定级"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_PLANNED, "planned", "整改中"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_RECTIFIED, "rectified", "已整改待验证"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_VERIFIED, "verified", "已验证"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_REPORTED, "reported", "已报总经办"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_FILED, "filed", "已报总部备案"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_ACCEPTED, "accepted", "已入知识库"},
    {CLOSELOOP__DEFECT_STATE__DEFECT_RETURNED, "returned", "总部退回"},
};

static const cl_domain_value_t defect_actions[] = {
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_CREATE, "create", "登记"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_MEET, "meet", "决策会"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_DECIDE, "decide", "定级"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_APPROVE, "approve", "上级审批"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_PLAN, "plan", "拟定措施"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_ESTIMATE, "estimate", "成本测算"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_RECTIFY, "rectify", "整改完成"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_VERIFY_PASS, "verify_pass", "验证通过"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_VERIFY_FAIL, "verify_fail", "验证不通过"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_FILE, "file", "报总部备案"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_ACCEPT, "accept", "纳入知识库"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_RETURN, "return", "总部退回"},
    {CLOSELOOP__DEFECT_ACTION__DEFECT_ACTION_LINK, "link", "关联明细"},
};

static const cl_domain_value_t dept_kinds[] = {
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_CR, "cr", "客户关系部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_ENGINEERING, "engineering", "工程管理部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_DESIGN, "design", "设计管理部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_MARKETING, "marketing", "营销管理部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_PROPERTY, "property", "物业"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_COST, "cost", "成本部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_GM_OFFICE, "gm_office", "总经理办公室"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_PROJECT, "project", "项目部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_MATERIALS, "materials", "物资部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_PLANNING, "planning", "企划部"},
    {CLOSELOOP__DEPARTMENT_KIND__DEPT_OTHER, "other", "其他部门"},
};

static const cl_domain_value_t checkpoint_statuses[] = {
    {CLOSELOOP__CHECKPOINT_STATUS__CHECKPOINT_PENDING, "pending", "未检查"},
    {CLOSELOOP__CHECKPOINT_STATUS__CHECKPOINT_PASSED, "passed", "已查未发现"},
    {CLOSELOOP__CHECKPOINT_STATUS__CHECKPOINT_FOUND, "found", "再次发现"},
};

static const cl_domain_value_t case_statuses[] = {
    {CLOSELOOP__CASE_STATUS__CASE_ACTIVE, "active", "有效"},
    {CLOSELOOP__CASE_STATUS__CASE_RETIRED, "retired", "已停用"},
};

static const cl_domain_value_t notice_kinds[] = {
    {CLOSELOOP__NOTICE_KIND__NOTICE_ASSIGNED, "assigned", "新派单"},
    {CLOSELOOP__NOTICE_KIND__NOTICE_WARNING, "warning", "临期预警"},
    {CLOSELOOP__NOTICE_KIND__NOTICE_BREACH, "breach", "已超时"},
    {CLOSELOOP__NOTICE_KIND__NOTICE_ESCALATED, "escalated", "已升级"},
    {CLOSELOOP__NOTICE_KIND__NOTICE_SEVERITY, "severity", "级别变更"},
    {CLOSELOOP__NOTICE_KIND__NOTICE_CALENDAR, "calendar", "日历"},
};

static const cl_domain_value_t complaint_channels[] = {
    {CLOSELOOP__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_PHONE, "phone", "电话"},
    {CLOSELOOP__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_HOTLINE400, "hotline400", "400热线"},
    {CLOSELOOP__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_ONLINE, "online", "网络"},
    {CLOSELOOP__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_WALK_IN, "walk_in", "来访"},
    {CLOSELOOP__COMPLAINT_CHANNEL__COMPLAINT_CHANNEL_FRONT_DESK, "front_desk", "物业前台"},
};

static const cl_domain_value_t complaint_classes[] = {
    {CLOSELOOP__COMPLAINT_CLASS__COMPLAINT_CLASS_ORDINARY, "ordinary", "一般"},
    {CLOSELOOP__COMPLAINT_CLASS__COMPLAINT_CLASS_IMPORTANT, "important", "重要"},
    {CLOSELOOP__COMPLAINT_CLASS__COMPLAINT_CLASS_HOT, "hot", "热点"},
    {CLOSELOOP__COMPLAINT_CLASS__COMPLAINT_CLASS_MAJOR, "major", "重大"},
};

static const cl_domain_value_t complaint_states[] = {
    {CLOSELOOP__COMPLAINT_STATE__COMPLAINT_STATE_OPEN, "open", "处理中"},
    {CLOSELOOP__COMPLAINT_STATE__COMPLAINT_STATE_WAITING, "waiting", "等待业主"},
    {CLOSELOOP__COMPLAINT_STATE__COMPLAINT_STATE_CLOSED, "closed", "已关闭"},
};

static const cl_domain_value_t complaint_actions[] = {
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REPLY, "reply", "答复"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_PAUSE, "pause", "暂停"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_RESUME, "resume", "恢复"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ESCALATE, "escalate", "升级"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_CLOSE, "close", "关闭"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REVISIT, "revisit", "回访"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REOPEN, "reopen", "重新打开"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ADD, "add", "受理"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_CLASS, "class", "定级"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_WARNING, "warning", "预警"},
    {CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_BREACH, "breach", "超时"},
};

static const cl_domain_value_t complaint_clocks[] = {
    {CLOSELOOP__COMPLAINT_CLOCK_KIND__COMPLAINT_CLOCK_FIRST_REPLY, "first_reply", "首次答复"},
    {CLOSELOOP__COMPLAINT_CLOCK_KIND__COMPLAINT_CLOCK_CLOSURE, "closure", "关闭"},
};

/* Warranty repairs (issue 12, 026_warranty.sql; seed 004): the response ladder's levels,
 * the report's events, and the warranty office's deductions. */
static const cl_domain_value_t warranty_levels[] = {
    {CLOSELOOP__WARRANTY_LEVEL__WARRANTY_LEVEL_PROPERTY, "property", "物业客服"},
    {CLOSELOOP__WARRANTY_LEVEL__WARRANTY_LEVEL_DEVELOPER, "developer", "地产客服"},
    {CLOSELOOP__WARRANTY_LEVEL__WARRANTY_LEVEL_HOTLINE, "hotline", "400热线"},
};

static const cl_domain_value_t warranty_actions[] = {
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_REPORT, "report", "报修"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_RESPOND, "respond", "响应"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_CLIMB, "climb", "超时升级"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_LETTER, "letter", "发函"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_DEDUCT, "deduct", "申请扣款"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_APPROVE, "approve", "扣款批准"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_REJECT, "reject", "扣款驳回"},
    {CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_THIRD_PARTY, "third_party", "第三方维修"},
};

static const cl_domain_value_t deduction_kinds[] = {
    {CLOSELOOP__DEDUCTION_KIND__DEDUCTION_KIND_PENALTY, "penalty", "罚款"},
    {CLOSELOOP__DEDUCTION_KIND__DEDUCTION_KIND_THIRD_PARTY, "third_party", "第三方维修费"},
};

static const cl_domain_value_t deduction_states[] = {
    {CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_REQUESTED, "requested", "待审批"},
    {CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_APPROVED, "approved", "已批准"},
    {CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_REJECTED, "rejected", "已驳回"},
};

#define DOMAIN(what, desc, values)                                                                 \
    { what, desc, values, ARRAY_LEN(values) }

static const struct {
    const char *what;
    const ProtobufCEnumDescriptor *desc;
    const cl_domain_value_t *values;
    size_t n;
} domains[] = {
    [CL_DOM_ROLE] = DOMAIN("role", &closeloop__role__descriptor, roles),
    [CL_DOM_COMPANY_KIND] =
        DOMAIN("company kind", &closeloop__company_kind__descriptor, company_kinds),
    [CL_DOM_ROUND_KIND] = DOMAIN("round kind", &closeloop__round_kind__descriptor, round_kinds),
    [CL_DOM_ROUND_STATUS] =
        DOMAIN("round status", &closeloop__round_status__descriptor, round_statuses),
    [CL_DOM_SEVERITY] = DOMAIN("severity", &closeloop__severity__descriptor, severities),
    [CL_DOM_HANDOVER_OUTCOME] =
        DOMAIN("handover outcome", &closeloop__handover_outcome__descriptor, outcomes),
    [CL_DOM_SIGNOFF] = DOMAIN("signoff", &closeloop__signoff__descriptor, signoffs),
    [CL_DOM_TICKET_STATE] =
        DOMAIN("ticket state", &closeloop__ticket_state__descriptor, ticket_states),
    [CL_DOM_TICKET_ACTION] =
        DOMAIN("ticket action", &closeloop__ticket_action__descriptor, ticket_actions),
    [CL_DOM_TIMELINESS] = DOMAIN("timeliness", &closeloop__timeliness__descriptor, timeliness),
    [CL_DOM_PHOTO_MIME] = DOMAIN("photo type", NULL, photo_mimes),
    [CL_DOM_DEFECT_SOURCE] =
        DOMAIN("defect source", &closeloop__defect_source__descriptor, defect_sources),
    [CL_DOM_DEFECT_KIND] = DOMAIN("defect kind", &closeloop__defect_kind__descriptor, defect_kinds),
    [CL_DOM_SPECIALTY] = DOMAIN("specialty", &closeloop__specialty__descriptor, specialties),
    [CL_DOM_DEFECT_GRADE] =
        DOMAIN("defect grade", &closeloop__defect_grade__descriptor, defect_grades),
    [CL_DOM_DEFECT_STATE] =
        DOMAIN("defect state", &closeloop__defect_state__descriptor, defect_states),
    [CL_DOM_DEFECT_ACTION] =
        DOMAIN("defect action", &closeloop__defect_action__descriptor, defect_actions),
    [CL_DOM_DEPT_KIND] =
        DOMAIN("department kind", &closeloop__department_kind__descriptor, dept_kinds),
    [CL_DOM_CHECKPOINT_STATUS] = DOMAIN(
        "check point status", &closeloop__checkpoint_status__descriptor, checkpoint_statuses),
    [CL_DOM_CASE_STATUS] =
        DOMAIN("case status", &closeloop__case_status__descriptor, case_statuses),
    [CL_DOM_CALENDAR_DAY_KIND] =
        DOMAIN("calendar day kind", &closeloop__calendar_day_kind__descriptor, calendar_day_kinds),
    [CL_DOM_NOTICE_KIND] = DOMAIN("notice kind", &closeloop__notice_kind__descriptor, notice_kinds),
    [CL_DOM_COMPLAINT_CHANNEL] =
        DOMAIN("complaint channel", &closeloop__complaint_channel__descriptor, complaint_channels),
    [CL_DOM_COMPLAINT_CLASS] =
        DOMAIN("complaint class", &closeloop__complaint_class__descriptor, complaint_classes),
    [CL_DOM_COMPLAINT_STATE] =
        DOMAIN("complaint state", &closeloop__complaint_state__descriptor, complaint_states),
    [CL_DOM_COMPLAINT_ACTION] =
        DOMAIN("complaint action", &closeloop__complaint_action__descriptor, complaint_actions),
    [CL_DOM_COMPLAINT_CLOCK] =
        DOMAIN("complaint clock", &closeloop__complaint_clock_kind__descriptor, complaint_clocks),
    [CL_DOM_WARRANTY_LEVEL] =
        DOMAIN("warranty level", &closeloop__warranty_level__descriptor, warranty_levels),
    [CL_DOM_WARRANTY_ACTION] =
        DOMAIN("warranty action", &closeloop__warranty_action__descriptor, warranty_actions),
    [CL_DOM_DEDUCTION_KIND] =
        DOMAIN("deduction kind", &closeloop__deduction_kind__descriptor, deduction_kinds),
    [CL_DOM_DEDUCTION_STATE] =
        DOMAIN("deduction state", &closeloop__deduction_state__descriptor, deduction_states),
};
_Static_assert(ARRAY_LEN(domains) == CL_DOM__COUNT, "a new domain needs its values");

/* Where the stored names live. Unchecked columns are filled only from this registry;
 * the test fails if a CHECK appears on one without the flag changing here. */
static const cl_domain_column_t columns[] = {
    {CL_DOM_ROLE, "users", "role", true},
    {CL_DOM_COMPANY_KIND, "companies", "kind", true},
    {CL_DOM_ROUND_KIND, "inspection_rounds", "kind", true},
    {CL_DOM_ROUND_STATUS, "inspection_rounds", "status", true},
    {CL_DOM_SEVERITY, "inspection_items", "severity", true},
    {CL_DOM_SEVERITY, "deadline_presets", "severity", true},
    {CL_DOM_SEVERITY, "tickets", "severity", false},
    {CL_DOM_HANDOVER_OUTCOME, "inspection_records", "outcome", true},
    {CL_DOM_SIGNOFF, "inspection_records", "signoff", true},
    {CL_DOM_TICKET_STATE, "tickets", "state", true},
    {CL_DOM_TICKET_STATE, "ticket_events", "from_state", false},
    {CL_DOM_TICKET_STATE, "ticket_events", "to_state", false},
    {CL_DOM_TICKET_ACTION, "ticket_events", "action", false},
    {CL_DOM_PHOTO_MIME, "photos", "mime", true},
    {CL_DOM_DEPT_KIND, "departments", "kind", true},
    {CL_DOM_DEFECT_SOURCE, "defects", "source", true},
    {CL_DOM_DEFECT_KIND, "defects", "kind", true},
    {CL_DOM_SPECIALTY, "defects", "specialty", true},
    {CL_DOM_DEFECT_GRADE, "defects", "grade", true},
    {CL_DOM_DEFECT_STATE, "defects", "state", true},
    {CL_DOM_DEFECT_STATE, "defect_events", "from_state", false},
    {CL_DOM_DEFECT_STATE, "defect_events", "to_state", false},
    {CL_DOM_DEFECT_ACTION, "defect_events", "action", false},
    {CL_DOM_DEFECT_KIND, "kb_cases", "kind", true},
    {CL_DOM_SPECIALTY, "kb_cases", "specialty", true},
    {CL_DOM_DEFECT_GRADE, "kb_cases", "grade", true},
    {CL_DOM_CASE_STATUS, "kb_cases", "status", true},
    {CL_DOM_CHECKPOINT_STATUS, "round_checkpoints", "status", true},
    {CL_DOM_CALENDAR_DAY_KIND, "calendar_days", "kind", true},
    {CL_DOM_NOTICE_KIND, "notices", "kind", true},
    {CL_DOM_COMPLAINT_CHANNEL, "complaints", "channel", true},
    {CL_DOM_SPECIALTY, "complaints", "specialty", true},
    {CL_DOM_COMPLAINT_CLASS, "complaints", "class", true},
    {CL_DOM_COMPLAINT_STATE, "complaints", "state", true},
    {CL_DOM_COMPLAINT_CLASS, "complaint_targets", "class", true},
    {CL_DOM_COMPLAINT_ACTION, "complaint_events", "action", true},
    {CL_DOM_COMPLAINT_CLASS, "complaint_events", "from_class", false},
    {CL_DOM_COMPLAINT_CLASS, "complaint_events", "to_class", false},
    {CL_DOM_COMPLAINT_CLOCK, "complaint_clocks", "kind", true},
    {CL_DOM_WARRANTY_LEVEL, "warranty_reports", "level", true},
    {CL_DOM_WARRANTY_ACTION, "warranty_events", "action", true},
    {CL_DOM_WARRANTY_LEVEL, "warranty_events", "from_level", false},
    {CL_DOM_WARRANTY_LEVEL, "warranty_events", "to_level", false},
    {CL_DOM_DEDUCTION_KIND, "warranty_deductions", "kind", true},
    {CL_DOM_DEDUCTION_STATE, "warranty_deductions", "state", true},
    {CL_DOM_WARRANTY_LEVEL, "warranty_targets", "level", true},
};

/* Every length and range CHECK of the schema. */
static const cl_domain_bound_t bounds[] = {
    {"companies", "name", CL_MEASURE_LENGTH, 1, CL_LIM_NAME_CHARS},
    {"departments", "name", CL_MEASURE_LENGTH, 1, CL_LIM_NAME_CHARS},
    {"projects", "name", CL_MEASURE_LENGTH, 1, CL_LIM_NAME_CHARS},
    {"contractors", "name", CL_MEASURE_LENGTH, 1, CL_LIM_NAME_CHARS},
    {"buildings", "name", CL_MEASURE_LENGTH, 1, CL_LIM_BUILDING_CHARS},
    {"buildings", "floors", CL_MEASURE_VALUE, 0, CL_LIM_FLOOR_MAX},
    {"units", "number", CL_MEASURE_LENGTH, 1, CL_LIM_UNIT_NUMBER_CHARS},
    {"units", "floor", CL_MEASURE_VALUE, CL_LIM_FLOOR_MIN, CL_LIM_FLOOR_MAX},
    {"units", "layout", CL_MEASURE_LENGTH, 0, CL_LIM_LAYOUT_CHARS},
    {"owners", "name", CL_MEASURE_LENGTH, 1, CL_LIM_OWNER_NAME_CHARS},
    {"owners", "phone", CL_MEASURE_LENGTH, 0, CL_LIM_PHONE_CHARS},
    {"owners", "id_number", CL_MEASURE_LENGTH, 0, CL_LIM_ID_NUMBER_CHARS},
    /* ^[a-z][a-z0-9_]{1,39}$: the repetition follows the leading letter */
    {"trades", "code", CL_MEASURE_PATTERN, CL_LIM_TRADE_CODE_MIN - 1, CL_LIM_TRADE_CODE_CHARS - 1},
    {"users", "username", CL_MEASURE_PATTERN, 1, CL_LIM_USERNAME_CHARS},
    {"trade_aliases", "alias", CL_MEASURE_LENGTH, 1, CL_LIM_TRADE_ALIAS_CHARS},
    {"inspection_records", "keys_handed", CL_MEASURE_VALUE, 0, CL_LIM_KEYS_HANDED},
    {"inspection_records", "satisfaction", CL_MEASURE_VALUE, 1, CL_LIM_SATISFACTION},
    {"inspection_items", "location", CL_MEASURE_LENGTH, 1, CL_LIM_LOCATION_CHARS},
    {"inspection_items", "description", CL_MEASURE_LENGTH, 1, CL_LIM_DESCRIPTION_CHARS},
    {"photos", "sha256", CL_MEASURE_LENGTH, CL_LIM_PHOTO_SHA256_BYTES, CL_LIM_PHOTO_SHA256_BYTES},
    {"photos", "size", CL_MEASURE_VALUE, 1, CL_LIM_PHOTO_BYTES},
    {"deadline_presets", "days", CL_MEASURE_VALUE, 1, CL_LIM_DEADLINE_DAYS},
    {"projects", "defect_prefix", CL_MEASURE_PATTERN, 1, CL_LIM_DEFECT_PREFIX_CHARS},
    {"defects", "code", CL_MEASURE_LENGTH, 1, CL_LIM_CODE_CHARS},
    {"defects", "title", CL_MEASURE_LENGTH, 1, CL_LIM_TITLE_CHARS},
    {"defects", "description", CL_MEASURE_LENGTH, 0, CL_LIM_DEFECT_TEXT_CHARS},
    {"defects", "risk", CL_MEASURE_LENGTH, 0, CL_LIM_RISK_CHARS},
    {"defects", "meeting_attendees", CL_MEASURE_LENGTH, 0, CL_LIM_ATTENDEES_CHARS},
    {"defects", "meeting_minutes", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"defects", "cause_analysis", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"defects", "corrective_measures", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"defects", "preventive_measures", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"defects", "fix_plan", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"kb_cases", "code", CL_MEASURE_LENGTH, 1, CL_LIM_CODE_CHARS},
    {"kb_cases", "title", CL_MEASURE_LENGTH, 1, CL_LIM_TITLE_CHARS},
    {"kb_cases", "description", CL_MEASURE_LENGTH, 0, CL_LIM_DEFECT_TEXT_CHARS},
    {"kb_cases", "cause_analysis", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"kb_cases", "corrective_measures", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"kb_cases", "preventive_measures", CL_MEASURE_LENGTH, 0, CL_LIM_ANALYSIS_CHARS},
    {"kb_cases", "responsible", CL_MEASURE_LENGTH, 0, CL_LIM_RESPONSIBLE_CHARS},
    {"round_checkpoints", "note", CL_MEASURE_LENGTH, 0, CL_LIM_NOTE_CHARS},
    {"request_keys", "key", CL_MEASURE_LENGTH, 1, CL_LIM_REQUEST_KEY_CHARS},
    {"request_keys", "target", CL_MEASURE_LENGTH, 0, CL_LIM_REQUEST_TARGET_CHARS},
    {"calendar_days", "name", CL_MEASURE_LENGTH, 0, CL_LIM_CALENDAR_NAME_CHARS},
    {"notices", "subject", CL_MEASURE_LENGTH, 0, CL_LIM_NOTICE_SUBJECT_CHARS},
    {"notices", "body", CL_MEASURE_LENGTH, 0, CL_LIM_NOTICE_BODY_CHARS},
    {"complaints", "owner_name", CL_MEASURE_LENGTH, 1, CL_LIM_OWNER_NAME_CHARS},
    {"complaints", "owner_phone", CL_MEASURE_LENGTH, 0, CL_LIM_PHONE_CHARS},
    {"complaints", "description", CL_MEASURE_LENGTH, 1, CL_LIM_DESCRIPTION_CHARS},
    {"complaints", "complainants", CL_MEASURE_VALUE, 1, CL_LIM_COMPLAINANTS},
    {"complaints", "class_reason", CL_MEASURE_LENGTH, 0, CL_LIM_COMPLAINT_TEXT_CHARS},
    {"complaints", "level", CL_MEASURE_VALUE, 1, CL_LIM_COMPLAINT_LEVEL},
    {"complaints", "satisfaction", CL_MEASURE_VALUE, 1, CL_LIM_COMPLAINT_SATISFIED},
    {"complaint_events", "note", CL_MEASURE_LENGTH, 0, CL_LIM_DESCRIPTION_CHARS},
    {"complaint_events", "detail", CL_MEASURE_LENGTH, 0, CL_LIM_COMPLAINT_TEXT_CHARS},
    {"complaint_targets", "closure_hours", CL_MEASURE_VALUE, 1, CL_LIM_CLOSURE_HOURS},
    {"warranty_reports", "owner_name", CL_MEASURE_LENGTH, 1, CL_LIM_OWNER_NAME_CHARS},
    {"warranty_reports", "owner_phone", CL_MEASURE_LENGTH, 0, CL_LIM_PHONE_CHARS},
    {"warranty_events", "detail", CL_MEASURE_LENGTH, 0, CL_LIM_WARRANTY_TEXT_CHARS},
    {"warranty_letters", "subject", CL_MEASURE_LENGTH, 1, CL_LIM_TITLE_CHARS},
    {"warranty_letters", "body", CL_MEASURE_LENGTH, 1, CL_LIM_LETTER_BODY_CHARS},
    {"warranty_deductions", "reason", CL_MEASURE_LENGTH, 1, CL_LIM_WARRANTY_TEXT_CHARS},
    {"warranty_deductions", "decision_note", CL_MEASURE_LENGTH, 0, CL_LIM_WARRANTY_TEXT_CHARS},
    {"warranty_targets", "response_hours", CL_MEASURE_VALUE, 1, CL_LIM_RESPONSE_HOURS},
};

static bool domain_valid(cl_domain_t d) {
    return (unsigned)d < (unsigned)CL_DOM__COUNT;
}

static const cl_domain_value_t *value_of(cl_domain_t d, int w) {
    if (!domain_valid(d) || w <= 0 || (size_t)w > domains[d].n) return NULL;
    return &domains[d].values[w - 1];
}

const char *cl_domain_name(cl_domain_t d, int w) {
    const cl_domain_value_t *v = value_of(d, w);
    return v ? v->name : NULL;
}

const char *cl_domain_label(cl_domain_t d, int w) {
    const cl_domain_value_t *v = value_of(d, w);
    return v ? v->label : NULL;
}

int cl_domain_parse_n(cl_domain_t d, const char *s, size_t len) {
    if (!domain_valid(d) || !s) return 0;
    for (size_t i = 0; i < domains[d].n; i++) {
        const char *name = domains[d].values[i].name;
        if (strlen(name) == len && memcmp(name, s, len) == 0) return domains[d].values[i].wire;
    }
    return 0;
}

int cl_domain_parse_label_n(cl_domain_t d, const char *s, size_t len) {
    int w = cl_domain_parse_n(d, s, len);
    if (w || !domain_valid(d) || !s) return w;
    for (size_t i = 0; i < domains[d].n; i++) {
        const char *label = domains[d].values[i].label;
        if (label && strlen(label) == len && memcmp(label, s, len) == 0)
            return domains[d].values[i].wire;
    }
    return 0;
}

int cl_domain_parse(cl_domain_t d, const char *name) {
    return name ? cl_domain_parse_n(d, name, strlen(name)) : 0;
}

/* Appends s to buf[0..len) at *at, and counts the bytes it needs whether or not they
 * fit. A cut never splits a UTF-8 sequence; once one happens *at is past the room, so
 * nothing more is written. */
static void put(char *buf, size_t len, size_t *at, const char *s) {
    size_t n = strlen(s);
    if (*at + 1 < len) {
        size_t room = len - 1 - *at;
        size_t take = n < room ? n : room;
        if (take < n)
            while (take > 0 && ((unsigned char)s[take] & 0xC0) == 0x80)
                take--;
        memcpy(buf + *at, s, take);
        buf[*at + take] = '\0';
    }
    *at += n;
}

size_t cl_domain_accepted(cl_domain_t d, bool labels, char *buf, size_t len) {
    size_t at = 0;
    if (len > 0) buf[0] = '\0';
    if (!domain_valid(d)) return 0;
    for (size_t i = 0; i < domains[d].n; i++) {
        if (i > 0) put(buf, len, &at, ", ");
        put(buf, len, &at, domains[d].values[i].name);
        if (labels) {
            put(buf, len, &at, " (");
            put(buf, len, &at, domains[d].values[i].label);
            put(buf, len, &at, ")");
        }
    }
    return at;
}

const char *cl_domain_what(cl_domain_t d) {
    return domain_valid(d) ? domains[d].what : NULL;
}

const cl_domain_value_t *cl_domain_values(cl_domain_t d, size_t *n) {
    *n = domain_valid(d) ? domains[d].n : 0;
    return domain_valid(d) ? domains[d].values : NULL;
}

const ProtobufCEnumDescriptor *cl_domain_descriptor(cl_domain_t d) {
    return domain_valid(d) ? domains[d].desc : NULL;
}

const cl_domain_column_t *cl_domain_columns(size_t *n) {
    *n = ARRAY_LEN(columns);
    return columns;
}

const cl_domain_bound_t *cl_domain_bounds(size_t *n) {
    *n = ARRAY_LEN(bounds);
    return bounds;
}

bool cl_trade_code_valid(const char *s) {
    size_t n = strlen(s);
    if (n < CL_LIM_TRADE_CODE_MIN || n > CL_LIM_TRADE_CODE_CHARS || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}
