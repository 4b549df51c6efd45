/* cmd_complaint.c - `cloop complaint add|list|show|reply|pause|resume|escalate|close|revisit|
 * reopen`: owner complaints (docs/COMPLAINTS.md). The daemon classes each complaint by rule
 * and runs its clocks over the business calendar; these verbs take complaints in, act on
 * them and print them, with the clocks as 已用 / 剩余 / 到期 (暂停 only while paused).
 * Clock times print in China Standard Time (UTC+8), the calendar's own time.
 *
 * Each verb sends one request on the stored session and prints the reply. Single-threaded;
 * every message and table is freed before a verb returns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_domain.h"
#include "cli_util.h"

/* Whether the output is for people (table, HTML: Chinese labels) or scripts (CSV, JSON:
 * stored names); set by each verb before it prints. */
static int for_people;

/* "3:45" (hours:minutes) for s seconds. */
static void hm(int64_t s, char *buf, size_t len) {
    snprintf(buf, len, "%s%" PRId64 ":%02" PRId64, s < 0 ? "-" : "", (s < 0 ? -s : s) / 3600,
             (s < 0 ? -s : s) % 3600 / 60);
}

/* ---- list rows -------------------------------------------------------------------------- */

static const char *const list_cols[] = {"id",      "project",   "class", "state",   "level",
                                        "channel", "specialty", "owner", "created", "description"};

static int complaint_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Complaint *c = (const Closeloop__Complaint *)m;
    cli_row_t r = {0};
    char created[40];
    cli_cn_time(c->created_at_ms, created, sizeof created);
    r.cell[0] = cli_row_num(&r, 0, c->id);
    r.cell[1] = cli_str(c->project);
    r.cell[2] = cli_enum_text(for_people, CL_DOM_COMPLAINT_CLASS, c->class_);
    r.cell[3] = cli_enum_text(for_people, CL_DOM_COMPLAINT_STATE, c->state);
    r.cell[4] = cli_row_num(&r, 4, c->level);
    r.cell[5] = cli_enum_text(for_people, CL_DOM_COMPLAINT_CHANNEL, c->channel);
    r.cell[6] = cli_enum_text(for_people, CL_DOM_SPECIALTY, c->specialty);
    r.cell[7] = cli_str(c->owner_name);
    r.cell[8] = created;
    r.cell[9] = cli_str(c->description);
    return cli_row_add(t, &r);
}

/* ---- show ------------------------------------------------------------------------------- */

static void kv(cli_table_t *t, const char *k, const char *v) {
    const char *row[2] = {k, v ? v : ""};
    if (cli_table_add(t, row) != CL_OK) cli_errorf("out of memory");
}

static const char *clock_label(const char *kind) {
    return !strcmp(kind, "first_reply") ? "首次答复" : !strcmp(kind, "closure") ? "关闭" : kind;
}

/* The clock's state in words: 计时中 (running), 暂停 (paused: neither running nor met),
 * 已完成 (met); 已超时 when its budget is used up. */
static const char *clock_state(const Closeloop__ComplaintClock *k) {
    if (k->stopped_at_ms) return for_people ? "已完成" : "stopped";
    if (!k->running) return for_people ? "暂停" : "paused";
    if (k->used_s >= k->budget_s) return for_people ? "已超时" : "breached";
    return for_people ? "计时中" : "running";
}

static int complaint_show_print(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__Complaint *c = (const Closeloop__Complaint *)m;
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    static const char *const kvh[] = {"field", "value"};
    static const char *const kh[] = {"clock", "state", "budget", "used",
                                     "left",  "due",   "warned", "breached"};
    static const char *const eh[] = {"time", "actor", "action", "detail", "note"};
    cli_table_t *t = cli_new_table(2, kvh, 0), *kt = cli_new_table(8, kh, 0),
                *ev = cli_new_table(5, eh, 0);
    int rc = CLI_EXIT_FAIL;
    if (!t || !kt || !ev) goto out;
    cli_table_hide_header(t);
    char b[12][CL_LIM_NAME_CHARS * 4 + 32]; /* a name of up to 200 characters and its id */
    snprintf(b[0], sizeof b[0], "%" PRId64, c->id);
    snprintf(b[1], sizeof b[1], "%s (%" PRId64 ")", cli_str(c->project), c->project_id);
    snprintf(b[2], sizeof b[2], "%" PRIu32, c->complainants);
    snprintf(b[3], sizeof b[3], "%s%s%s%s%s", c->legal ? "已诉讼 " : "", c->media ? "已曝光 " : "",
             c->legal_risk ? "诉讼风险 " : "", c->media_risk ? "媒体风险 " : "",
             c->outside_support ? "需外部支持 " : "");
    snprintf(b[4], sizeof b[4], "%" PRIu32 " %s (%s)", c->level,
             c->level == 1   ? "物业"
             : c->level == 2 ? "城市公司客服"
                             : "400热线/集团",
             cli_str(c->owner_user));
    cli_cn_time(c->created_at_ms, b[5], sizeof b[5]);
    cli_cn_time(c->closed_at_ms, b[6], sizeof b[6]);
    snprintf(b[7], sizeof b[7], "%" PRId64, c->version);
    snprintf(b[8], sizeof b[8], "%" PRIu32, c->satisfaction);
    cli_cn_time(c->now_ms, b[9], sizeof b[9]);
    snprintf(b[10], sizeof b[10], "%" PRId64, c->defect_id);
    snprintf(b[11], sizeof b[11], "%" PRId64, c->case_id);
    kv(t, "投诉编号 id", b[0]);
    kv(t, "项目 project", b[1]);
    kv(t, "房号 unit", c->unit);
    kv(t, "业主 owner", c->owner_name);
    kv(t, "电话 phone", c->owner_phone);
    kv(t, "渠道 channel", cli_enum_text(for_people, CL_DOM_COMPLAINT_CHANNEL, c->channel));
    kv(t, "专业 specialty", cli_enum_text(for_people, CL_DOM_SPECIALTY, c->specialty));
    kv(t, "分项 category", c->category);
    kv(t, "描述 description", c->description);
    kv(t, "投诉人数 complainants", b[2]);
    kv(t, "风险 flags", b[3]);
    kv(t, "等级 class", cli_enum_text(for_people, CL_DOM_COMPLAINT_CLASS, c->class_));
    kv(t, "定级理由 reason", c->class_reason);
    kv(t, "状态 state", cli_enum_text(for_people, CL_DOM_COMPLAINT_STATE, c->state));
    kv(t, "处理层级 level", b[4]);
    kv(t, "受理时间 created", b[5]);
    kv(t, "关闭时间 closed", b[6]);
    kv(t, "满意度 satisfaction", c->satisfaction ? b[8] : "");
    kv(t, "工单 ticket", c->ticket_id);
    kv(t, "缺陷 defect", c->defect_id ? b[10] : "");
    kv(t, "案例 case", c->case_id ? b[11] : "");
    kv(t, "版本 version", b[7]);
    kv(t, "当前时间 now", b[9]);
    for (size_t i = 0; i < c->n_clocks; i++) {
        const Closeloop__ComplaintClock *k = c->clocks[i];
        char budget[24], used[24], left[24], due[40], warned[40], breached[40];
        hm(k->budget_s, budget, sizeof budget);
        hm(k->used_s, used, sizeof used);
        hm(k->budget_s - k->used_s, left, sizeof left);
        cli_cn_time(k->due_at_ms, due, sizeof due);
        cli_cn_time(k->warned_at_ms, warned, sizeof warned);
        cli_cn_time(k->breached_at_ms, breached, sizeof breached);
        const char *row[8] = {for_people ? clock_label(k->kind) : k->kind,
                              clock_state(k),
                              budget,
                              used,
                              k->stopped_at_ms ? "" : left,
                              k->running ? due : "",
                              warned,
                              breached};
        if (cli_table_add(kt, row) != CL_OK) goto out;
    }
    for (size_t i = 0; i < c->n_events; i++) {
        const Closeloop__ComplaintEvent *e = c->events[i];
        char when[40];
        cli_cn_time(e->at_ms, when, sizeof when);
        const char *action = e->action;
        if (for_people)
            action = cli_str(cl_complaint_action_label(cl_complaint_action_parse(e->action)));
        const char *row[5] = {when, e->actor, action, e->detail, e->note};
        if (cli_table_add(ev, row) != CL_OK) goto out;
    }
    if (s->format == CLI_FMT_JSON) {
        fputs("{\"complaint\": ", stdout);
        int w = cli_table_print(t, CLI_FMT_JSON, stdout);
        fputs(", \"clocks\": ", stdout);
        if (w == CL_OK) w = cli_table_print(kt, CLI_FMT_JSON, stdout);
        fputs(", \"history\": ", stdout);
        if (w == CL_OK) w = cli_table_print(ev, CLI_FMT_JSON, stdout);
        rc = w == CL_OK && puts("}") >= 0 && fflush(stdout) == 0 ? CLI_EXIT_OK : cli_write_failed();
        goto out;
    }
    rc = cli_print_table(s, t);
    if (rc == CLI_EXIT_OK) {
        printf("\n时钟 clocks (已用/剩余/到期, 时:分):\n");
        rc = cli_print_table(s, kt);
    }
    if (rc == CLI_EXIT_OK) {
        printf("\n处理记录 history (%zu):\n", c->n_events);
        rc = cli_print_table(s, ev);
    }
out:
    cli_table_free(t);
    cli_table_free(kt);
    cli_table_free(ev);
    return rc;
}

/* ---- verbs ------------------------------------------------------------------------------ */

static int complaint_add(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "complaint add";
    int legal = cli_take_flag(&argc, argv, "--legal"),
        media = cli_take_flag(&argc, argv, "--media"),
        legal_risk = cli_take_flag(&argc, argv, "--legal-risk"),
        media_risk = cli_take_flag(&argc, argv, "--media-risk"),
        outside = cli_take_flag(&argc, argv, "--outside-support");
    const char *project = NULL, *unit = NULL, *owner = NULL, *phone = NULL, *channel = NULL,
               *specialty = NULL, *category = NULL, *desc = NULL, *people = NULL, *ticket = NULL,
               *defect = NULL, *assign = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project},
                                 {"--unit", &unit},
                                 {"--owner", &owner},
                                 {"--phone", &phone},
                                 {"--channel", &channel},
                                 {"--specialty", &specialty},
                                 {"--category", &category},
                                 {"--description", &desc},
                                 {"--complainants", &people},
                                 {"--ticket", &ticket},
                                 {"--defect", &defect},
                                 {"--assign", &assign},
                                 {NULL, NULL}};
    int npos, ch, sp;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__ComplaintAdd req = CLOSELOOP__COMPLAINT_ADD__INIT;
    if (cli_need_id(w, "--project", project, &req.project_id) < 0 ||
        cli_opt_id("--unit", unit, &req.unit_id) < 0 || cli_need(w, "--owner", owner) < 0 ||
        cli_opt_enum(w, "--channel", channel, CL_DOM_COMPLAINT_CHANNEL, &ch) < 0 ||
        cli_opt_enum(w, "--specialty", specialty, CL_DOM_SPECIALTY, &sp) < 0 ||
        cli_need(w, "--description", desc) < 0 ||
        cli_opt_uint(w, "--complainants", people, CL_LIM_COMPLAINANTS, &req.complainants) < 0 ||
        cli_opt_id("--defect", defect, &req.defect_id) < 0 ||
        cli_opt_id("--assign", assign, &req.owner_user_id) < 0)
        return CLI_EXIT_USAGE;
    if (category && !cl_trade_code_valid(category)) {
        cli_errorf("%s: '%s' is not a trade code (e.g. waterproofing)", w, category);
        return CLI_EXIT_USAGE;
    }
    if (ticket && !cli_uuid_ok(ticket)) {
        cli_errorf("%s: --ticket takes the ticket's uuid", w);
        return CLI_EXIT_USAGE;
    }
    if (cli_utf8_arg_ok(w, owner) < 0 || cli_utf8_arg_ok(w, desc) < 0 ||
        (phone && cli_utf8_arg_ok(w, phone) < 0))
        return CLI_EXIT_USAGE;
    req.owner_name = (char *)owner;
    if (phone) req.owner_phone = (char *)phone;
    req.channel = (Closeloop__ComplaintChannel)ch;
    req.specialty = (Closeloop__Specialty)sp;
    if (category) req.category = (char *)category;
    req.description = (char *)desc;
    if (ticket) req.ticket_id = (char *)ticket;
    req.legal = legal;
    req.media = media;
    req.legal_risk = legal_risk;
    req.media_risk = media_risk;
    req.outside_support = outside;
    return cli_call_show(s, CL_MSG_COMPLAINT_ADD_REQ, &req.base, CL_MSG_COMPLAINT,
                         complaint_show_print);
}

static int complaint_list(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "complaint list", *project = NULL, *state = NULL, *cls = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--state", &state}, {"--class", &cls}, {NULL, NULL}};
    int npos, v;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__ComplaintListRequest req = CLOSELOOP__COMPLAINT_LIST_REQUEST__INIT;
    if (cli_opt_id("--project", project, &req.project_id) < 0) return CLI_EXIT_USAGE;
    if (state) {
        if (cli_opt_enum(w, "--state", state, CL_DOM_COMPLAINT_STATE, &v) < 0)
            return CLI_EXIT_USAGE;
        req.state = (Closeloop__ComplaintState)v;
    }
    if (cls) {
        if (cli_opt_enum(w, "--class", cls, CL_DOM_COMPLAINT_CLASS, &v) < 0) return CLI_EXIT_USAGE;
        req.class_ = (Closeloop__ComplaintClass)v;
    }
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_list_print(s, cli_new_table(10, list_cols, 0x11), CL_MSG_COMPLAINT_LIST_REQ,
                          &req.base, CL_MSG_COMPLAINT_PAGE, complaint_row);
}

/* The complaint id, the only positional argument of show and the actions. */
static int one_id(const char *w, int npos, const char **pos, int64_t *id) {
    if (npos != 1 || cli_opt_id("ID", pos[0], id) < 0 || *id <= 0) {
        if (npos != 1) cli_errorf("%s: give the complaint's ID", w);
        return -1;
    }
    return 0;
}

static int complaint_show(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    Closeloop__ComplaintShowRequest req = CLOSELOOP__COMPLAINT_SHOW_REQUEST__INIT;
    if (cli_parse_args("complaint show", argc, argv, defs, pos, 1, &npos) < 0 ||
        one_id("complaint show", npos, pos, &req.id) < 0)
        return CLI_EXIT_USAGE;
    return cli_call_show(s, CL_MSG_COMPLAINT_SHOW_REQ, &req.base, CL_MSG_COMPLAINT,
                         complaint_show_print);
}

/* An action verb: ID [--note TEXT] [--expect-version V] and the action's own options. */
static int complaint_act(const cli_settings_t *s, int argc, char **argv, const char *w,
                         Closeloop__ComplaintAction action) {
    const char *note = NULL, *version = NULL, *to = NULL, *kcase = NULL, *score = NULL, *pos[1];
    cli_optdef_t defs[5] = {{"--note", &note}, {"--expect-version", &version}};
    int n = 2;
    if (action == CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ESCALATE)
        defs[n++] = (cli_optdef_t){"--to", &to};
    if (action == CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_CLOSE)
        defs[n++] = (cli_optdef_t){"--case", &kcase};
    if (action == CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REVISIT)
        defs[n++] = (cli_optdef_t){"--satisfaction", &score};
    defs[n] = (cli_optdef_t){NULL, NULL};
    int npos;
    Closeloop__ComplaintAct req = CLOSELOOP__COMPLAINT_ACT__INIT;
    req.action = action;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0 ||
        one_id(w, npos, pos, &req.id) < 0 ||
        cli_opt_id("--expect-version", version, &req.version) < 0 ||
        cli_opt_id("--case", kcase, &req.case_id) < 0)
        return CLI_EXIT_USAGE;
    if (action == CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ESCALATE &&
        cli_need_id(w, "--to", to, &req.owner_user_id) < 0)
        return CLI_EXIT_USAGE;
    if (action == CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REVISIT &&
        (cli_need(w, "--satisfaction", score) < 0 ||
         cli_opt_uint(w, "--satisfaction", score, CL_LIM_COMPLAINT_SATISFIED, &req.satisfaction) <
             0))
        return CLI_EXIT_USAGE;
    if (action == CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REVISIT && req.satisfaction < 1) {
        cli_errorf("%s: --satisfaction is 1 to 5", w);
        return CLI_EXIT_USAGE;
    }
    if (note) {
        if (cli_utf8_arg_ok(w, note) < 0) return CLI_EXIT_USAGE;
        req.note = (char *)note;
    }
    return cli_call_show(s, CL_MSG_COMPLAINT_ACT_REQ, &req.base, CL_MSG_COMPLAINT,
                         complaint_show_print);
}

#define ACT_VERB(fn, verb, ACTION)                                                                 \
    static int fn(const cli_settings_t *s, int argc, char **argv) {                                \
        return complaint_act(s, argc, argv, "complaint " verb,                                     \
                             CLOSELOOP__COMPLAINT_ACTION__COMPLAINT_ACTION_##ACTION);              \
    }
ACT_VERB(complaint_reply, "reply", REPLY)
ACT_VERB(complaint_pause, "pause", PAUSE)
ACT_VERB(complaint_resume, "resume", RESUME)
ACT_VERB(complaint_escalate, "escalate", ESCALATE)
ACT_VERB(complaint_close, "close", CLOSE)
ACT_VERB(complaint_revisit, "revisit", REVISIT)
ACT_VERB(complaint_reopen, "reopen", REOPEN)

static const cli_verb_t complaint_verbs[] = {
    {"add",
     "cloop complaint add --project ID --owner NAME [--phone P] [--unit ID] --channel "
     "{complaint channel|} --specialty {specialty|} --description TEXT [--category TRADE] "
     "[--complainants N] [--legal] [--media] [--legal-risk] [--media-risk] "
     "[--outside-support] [--ticket UUID] [--defect ID] [--assign USER_ID]",
     "Takes an owner's complaint in. The daemon classes it by rule (一般, 重要, 热点, 重大;\n"
     "docs/COMPLAINTS.md) and starts its clocks over the company's business calendar: the\n"
     "first reply within 4 business hours (24 online), closure by class. --assign names\n"
     "its owner (default: you). Prints the complaint with its clocks.\n"
     "\n"
     "example: cloop complaint add --project 1 --owner 张三 --phone 13800000000 --channel "
     "hotline400 --specialty engineering --category waterproofing --description 卫生间漏水\n",
     complaint_add},
    {"list",
     "cloop complaint list [--project ID] [--state {complaint state|}] [--class "
     "{complaint class|}]",
     "Lists the complaints you may see, newest first: property staff their projects, city\n"
     "customer relations and the warranty office their company, the hotline and HQ all.\n"
     "\n"
     "example: cloop complaint list --class hot\n",
     complaint_list},
    {"show", "cloop complaint show ID",
     "Shows a complaint, its clocks (已用/剩余/到期; 暂停 only while it waits on the owner)\n"
     "and its history, every class change with its reason.\n"
     "\n"
     "example: cloop complaint show 12\n",
     complaint_show},
    {"reply", "cloop complaint reply ID [--note TEXT] [--expect-version V]",
     "Records the first reply to the owner: the first-reply clock stops.\n"
     "\n"
     "example: cloop complaint reply 12 --note 已电话联系业主\n",
     complaint_reply},
    {"pause", "cloop complaint pause ID [--note TEXT] [--expect-version V]",
     "The complaint waits on the owner: its clocks stop, keeping what they used.\n"
     "\n"
     "example: cloop complaint pause 12 --note 业主出差，约下周入户\n",
     complaint_pause},
    {"resume", "cloop complaint resume ID [--note TEXT] [--expect-version V]",
     "The owner is back: the clocks run again from what they had used; the new due is\n"
     "recorded.\n"
     "\n"
     "example: cloop complaint resume 12\n",
     complaint_resume},
    {"escalate", "cloop complaint escalate ID --to USER_ID [--note TEXT] [--expect-version V]",
     "Hands the complaint up one level (1 property, 2 the city company's customer\n"
     "relations or warranty office, 3 the 400 hotline or HQ) to a named owner of that\n"
     "level, who gets a notice.\n"
     "\n"
     "example: cloop complaint escalate 12 --to 7 --note 超出物业处理权限\n",
     complaint_escalate},
    {"close", "cloop complaint close ID [--case KB_CASE_ID] [--note TEXT] [--expect-version V]",
     "Closes the complaint; its clocks stop. A major (重大) complaint closes only with its\n"
     "case written up in the knowledge base (--case).\n"
     "\n"
     "example: cloop complaint close 12 --note 已维修完毕\n",
     complaint_close},
    {"revisit", "cloop complaint revisit ID --satisfaction 1-5 [--note TEXT] [--expect-version V]",
     "Records the revisit of a closed complaint and the owner's satisfaction (1-5).\n"
     "\n"
     "example: cloop complaint revisit 12 --satisfaction 4\n",
     complaint_revisit},
    {"reopen", "cloop complaint reopen ID [--note TEXT] [--expect-version V]",
     "Reopens a closed complaint: it becomes important (重要) at least, and its closure\n"
     "clock starts again.\n"
     "\n"
     "example: cloop complaint reopen 12 --note 业主再次投诉\n",
     complaint_reopen},
};

const cli_group_t cmd_complaint_group = {
    "complaint", "Owner complaints: take in, classes, clocks, escalation, closure, revisit.",
    complaint_verbs, CLI_NVERBS(complaint_verbs)};
