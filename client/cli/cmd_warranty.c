/* cmd_warranty.c - `cloop warranty add|respond|list|show|letter|letters|deduct|approve|
 * reject|deductions|third-party`: owners' warranty reports and the warranty office
 * (docs/WARRANTY.md). The daemon runs the response ladder (物业客服 -> 地产客服 -> 400热线);
 * these verbs take reports in, answer them, and print them with their ticket's history,
 * letters and deductions. Times print in China Standard Time (UTC+8); amounts in yuan
 * with two decimals (the wire carries integer cents).
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

/* "1200.50" for 120050 cents. */
static void yuan(int64_t cents, char *buf, size_t len) {
    snprintf(buf, len, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
}

/* An amount in yuan: digits, optionally '.' and one or two more; more than 0 and at most
 * 10,000,000.00. 0 with *cents set, or -1 after a usage error. */
static int parse_amount(const char *w, const char *opt, const char *v, int64_t *cents) {
    const char *p = v;
    int64_t whole = 0, frac = 0;
    int digits = 0, fd = 0;
    for (; *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
        whole = whole * 10 + (*p - '0');
    if (*p == '.' && digits > 0) {
        for (p++; *p >= '0' && *p <= '9' && fd < 2; p++, fd++)
            frac = frac * 10 + (*p - '0');
        if (fd == 0) digits = 0;
        if (fd == 1) frac *= 10;
    }
    int64_t c = whole * 100 + frac;
    if (digits == 0 || *p || c <= 0 || c > CL_LIM_DEDUCTION_MAX_CENTS) {
        cli_errorf("%s: %s '%s' is not an amount: give yuan with at most 2 decimals, more "
                   "than 0 and at most 10000000.00 (e.g. 1200.50)",
                   w, opt, v);
        return -1;
    }
    *cents = c;
    return 0;
}

/* ---- list rows -------------------------------------------------------------------------- */

static const char *const list_cols[] = {
    "ticket",  "number", "project",    "unit",      "level", "reported", "due",        "responded",
    "overdue", "state",  "contractor", "complaint", "owner", "category", "description"};

static int report_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__WarrantyReport *w = (const Closeloop__WarrantyReport *)m;
    cli_row_t r = {0};
    char rep[40], due[40], resp[40];
    cli_cn_time(w->reported_at_ms, rep, sizeof rep);
    cli_cn_time(w->response_due_at_ms, due, sizeof due);
    cli_cn_time(w->responded_at_ms, resp, sizeof resp);
    r.cell[0] = cli_str(w->ticket_id);
    r.cell[1] = cli_row_num(&r, 1, w->ticket_number);
    r.cell[2] = cli_str(w->project);
    r.cell[3] = cli_str(w->unit);
    r.cell[4] = cli_enum_text(for_people, CL_DOM_WARRANTY_LEVEL, w->level);
    r.cell[5] = rep;
    r.cell[6] = due;
    r.cell[7] = resp;
    r.cell[8] = w->overdue ? (for_people ? "超时" : "yes") : (for_people ? "" : "no");
    r.cell[9] = cli_enum_text(for_people, CL_DOM_TICKET_STATE, w->ticket_state);
    r.cell[10] = cli_str(w->contractor);
    r.cell[11] = cli_row_ref(&r, 11, w->complaint_id);
    r.cell[12] = cli_str(w->owner_name);
    r.cell[13] = cli_str(w->category);
    r.cell[14] = cli_str(w->description);
    return cli_row_add(t, &r);
}

static const char *const letter_cols[] = {"id",      "contractor", "ticket", "sent",
                                          "subject", "by",         "body"};

static int letter_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__WarrantyLetter *l = (const Closeloop__WarrantyLetter *)m;
    cli_row_t r = {0};
    char sent[40];
    cli_cn_time(l->sent_at_ms, sent, sizeof sent);
    r.cell[0] = cli_row_num(&r, 0, l->id);
    r.cell[1] = cli_str(l->contractor);
    r.cell[2] = cli_str(l->ticket_id);
    r.cell[3] = sent;
    r.cell[4] = cli_str(l->subject);
    r.cell[5] = cli_str(l->created_by);
    r.cell[6] = cli_str(l->body);
    return cli_row_add(t, &r);
}

static const char *const deduction_cols[] = {
    "id",     "contractor", "amount",       "kind",    "state",      "reason",
    "ticket", "requested",  "requested_by", "decided", "decided_by", "note"};

static int deduction_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__WarrantyDeduction *d = (const Closeloop__WarrantyDeduction *)m;
    cli_row_t r = {0};
    char req[40], dec[40];
    cli_cn_time(d->requested_at_ms, req, sizeof req);
    cli_cn_time(d->decided_at_ms, dec, sizeof dec);
    r.cell[0] = cli_row_num(&r, 0, d->id);
    r.cell[1] = cli_str(d->contractor);
    yuan(d->amount_cents, r.num[2], sizeof r.num[2]);
    r.cell[2] = r.num[2];
    r.cell[3] = cli_enum_text(for_people, CL_DOM_DEDUCTION_KIND, d->kind);
    r.cell[4] = cli_enum_text(for_people, CL_DOM_DEDUCTION_STATE, d->state);
    r.cell[5] = cli_str(d->reason);
    r.cell[6] = cli_str(d->ticket_id);
    r.cell[7] = req;
    r.cell[8] = cli_str(d->requested_by);
    r.cell[9] = dec;
    r.cell[10] = cli_str(d->decided_by);
    r.cell[11] = cli_str(d->decision_note);
    return cli_row_add(t, &r);
}

/* ---- show ------------------------------------------------------------------------------- */

static void kv(cli_table_t *t, const char *k, const char *v) {
    const char *row[2] = {k, v ? v : ""};
    if (cli_table_add(t, row) != CL_OK) cli_errorf("out of memory");
}

static int report_show_print(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__WarrantyReport *w = (const Closeloop__WarrantyReport *)m;
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    static const char *const kvh[] = {"field", "value"};
    static const char *const eh[] = {"time", "actor", "source", "action", "detail"};
    cli_table_t *t = cli_new_table(2, kvh, 0), *ev = cli_new_table(5, eh, 0),
                *lt = cli_new_table(7, letter_cols, 0x1),
                *dt = cli_new_table(12, deduction_cols, 0x5);
    int rc = CLI_EXIT_FAIL;
    if (!t || !ev || !lt || !dt) goto out;
    cli_table_hide_header(t);
    char b[10][CL_LIM_NAME_CHARS * 4 + 32]; /* a name of up to 200 characters and its id */
    snprintf(b[0], sizeof b[0], "%s (%" PRId64 ")", cli_str(w->project), w->project_id);
    snprintf(b[1], sizeof b[1], "%" PRId64, w->ticket_number);
    cli_cn_time(w->reported_at_ms, b[2], sizeof b[2]);
    cli_cn_time(w->response_due_at_ms, b[3], sizeof b[3]);
    cli_cn_time(w->responded_at_ms, b[4], sizeof b[4]);
    snprintf(b[5], sizeof b[5], "%s (%" PRId64 ")", cli_str(w->contractor), w->contractor_id);
    snprintf(b[6], sizeof b[6], "%" PRId64, w->complaint_id);
    snprintf(b[7], sizeof b[7], "%" PRId64, w->version);
    snprintf(b[8], sizeof b[8], "%" PRId64, w->third_party_contractor_id);
    snprintf(b[9], sizeof b[9], "%" PRId64, w->charged_contractor_id);
    kv(t, "工单 ticket", w->ticket_id);
    kv(t, "工单号 number", b[1]);
    kv(t, "项目 project", b[0]);
    kv(t, "房号 unit", w->unit);
    kv(t, "业主 owner", w->owner_name);
    kv(t, "电话 phone", w->owner_phone);
    kv(t, "分项 category", w->category);
    kv(t, "部位 location", w->location);
    kv(t, "描述 description", w->description);
    kv(t, "响应层级 level", cli_enum_text(for_people, CL_DOM_WARRANTY_LEVEL, w->level));
    kv(t, "报修时间 reported", b[2]);
    kv(t, "响应期限 due", b[3]);
    kv(t, "响应时间 responded", b[4]);
    kv(t, "超时 overdue", w->overdue ? (for_people ? "是" : "yes") : (for_people ? "否" : "no"));
    kv(t, "工单状态 state", cli_enum_text(for_people, CL_DOM_TICKET_STATE, w->ticket_state));
    kv(t, "维修单位 contractor", w->contractor_id ? b[5] : "");
    kv(t, "400投诉 complaint", w->complaint_id ? b[6] : "");
    kv(t, "第三方 third_party", w->third_party_contractor_id ? b[8] : "");
    kv(t, "被扣款单位 charged", w->charged_contractor_id ? b[9] : "");
    kv(t, "版本 version", b[7]);
    for (size_t i = 0; i < w->n_events; i++) {
        const Closeloop__WarrantyEvent *e = w->events[i];
        char when[40];
        cli_cn_time(e->at_ms, when, sizeof when);
        const char *action = e->action, *source = e->source;
        if (for_people) {
            bool warranty = !strcmp(e->source, "warranty");
            action =
                warranty
                    ? cli_str(cl_warranty_action_label(cl_warranty_action_parse(e->action)))
                    : cli_str(cl_domain_label(CL_DOM_TICKET_ACTION,
                                              cl_domain_parse(CL_DOM_TICKET_ACTION, e->action)));
            if (!*action) action = e->action;
            source = warranty ? "保修" : "工单";
        }
        const char *row[5] = {when, e->actor, source, action, e->detail};
        if (cli_table_add(ev, row) != CL_OK) goto out;
    }
    for (size_t i = 0; i < w->n_letters; i++)
        if (letter_row(lt, &w->letters[i]->base) != CL_OK) goto out;
    for (size_t i = 0; i < w->n_deductions; i++)
        if (deduction_row(dt, &w->deductions[i]->base) != CL_OK) goto out;
    if (s->format == CLI_FMT_JSON) {
        fputs("{\"report\": ", stdout);
        int wr = cli_table_print(t, CLI_FMT_JSON, stdout);
        fputs(", \"history\": ", stdout);
        if (wr == CL_OK) wr = cli_table_print(ev, CLI_FMT_JSON, stdout);
        fputs(", \"letters\": ", stdout);
        if (wr == CL_OK) wr = cli_table_print(lt, CLI_FMT_JSON, stdout);
        fputs(", \"deductions\": ", stdout);
        if (wr == CL_OK) wr = cli_table_print(dt, CLI_FMT_JSON, stdout);
        rc =
            wr == CL_OK && puts("}") >= 0 && fflush(stdout) == 0 ? CLI_EXIT_OK : cli_write_failed();
        goto out;
    }
    rc = cli_print_table(s, t);
    if (rc == CLI_EXIT_OK) {
        printf("\n处理记录 history (%zu):\n", w->n_events);
        rc = cli_print_table(s, ev);
    }
    if (rc == CLI_EXIT_OK && w->n_letters) {
        printf("\n函件 letters (%zu):\n", w->n_letters);
        rc = cli_print_table(s, lt);
    }
    if (rc == CLI_EXIT_OK && w->n_deductions) {
        printf("\n扣款 deductions (%zu):\n", w->n_deductions);
        rc = cli_print_table(s, dt);
    }
out:
    cli_table_free(t);
    cli_table_free(ev);
    cli_table_free(lt);
    cli_table_free(dt);
    return rc;
}

static int letter_print(const cli_settings_t *s, const ProtobufCMessage *m) {
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_record_print(s, cli_new_table(7, letter_cols, 0x1), letter_row, m);
}

static int deduction_print(const cli_settings_t *s, const ProtobufCMessage *m) {
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_record_print(s, cli_new_table(12, deduction_cols, 0x5), deduction_row, m);
}

/* ---- verbs ------------------------------------------------------------------------------ */

/* The ticket uuid, the only positional argument of show, respond and third-party. */
static int one_ticket(const char *w, int npos, const char **pos) {
    if (npos != 1) {
        cli_errorf("%s: give the warranty ticket's uuid", w);
        return -1;
    }
    if (!cli_uuid_ok(pos[0])) {
        cli_errorf("%s: '%s' is not a ticket's uuid", w, pos[0]);
        return -1;
    }
    return 0;
}

static int opt_uuid(const char *w, const char *opt, const char *v) {
    if (v && !cli_uuid_ok(v)) {
        cli_errorf("%s: %s takes the ticket's uuid", w, opt);
        return -1;
    }
    return 0;
}

static int warranty_add(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty add";
    const char *project = NULL, *unit = NULL, *owner = NULL, *phone = NULL, *category = NULL,
               *location = NULL, *desc = NULL, *severity = NULL, *contractor = NULL, *key = NULL,
               *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project},
                                 {"--unit", &unit},
                                 {"--owner", &owner},
                                 {"--phone", &phone},
                                 {"--category", &category},
                                 {"--location", &location},
                                 {"--description", &desc},
                                 {"--severity", &severity},
                                 {"--contractor", &contractor},
                                 {"--request-key", &key},
                                 {NULL, NULL}};
    int npos, sev = 0;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__WarrantyAdd req = CLOSELOOP__WARRANTY_ADD__INIT;
    if (cli_need_id(w, "--project", project, &req.project_id) < 0 ||
        cli_need_id(w, "--unit", unit, &req.unit_id) < 0 || cli_need(w, "--owner", owner) < 0 ||
        cli_need(w, "--category", category) < 0 || cli_need(w, "--location", location) < 0 ||
        cli_need(w, "--description", desc) < 0 ||
        cli_opt_id("--contractor", contractor, &req.contractor_id) < 0 ||
        (severity && cli_opt_enum(w, "--severity", severity, CL_DOM_SEVERITY, &sev) < 0))
        return CLI_EXIT_USAGE;
    if (cli_utf8_arg_ok(w, owner) < 0 || cli_utf8_arg_ok(w, category) < 0 ||
        cli_utf8_arg_ok(w, location) < 0 || cli_utf8_arg_ok(w, desc) < 0 ||
        (phone && cli_utf8_arg_ok(w, phone) < 0) || (key && cli_utf8_arg_ok(w, key) < 0))
        return CLI_EXIT_USAGE;
    req.owner_name = (char *)owner;
    if (phone) req.owner_phone = (char *)phone;
    req.category = (char *)category;
    req.location = (char *)location;
    req.description = (char *)desc;
    req.severity = (Closeloop__Severity)sev;
    if (key) req.idempotency_key = (char *)key;
    return cli_call_show(s, CL_MSG_WARRANTY_ADD_REQ, &req.base, CL_MSG_WARRANTY, report_show_print);
}

static int warranty_list(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty list";
    int overdue = cli_take_flag(&argc, argv, "--overdue");
    const char *project = NULL, *level = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project}, {"--level", &level}, {NULL, NULL}};
    int npos, v;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__WarrantyListRequest req = CLOSELOOP__WARRANTY_LIST_REQUEST__INIT;
    if (cli_opt_id("--project", project, &req.project_id) < 0) return CLI_EXIT_USAGE;
    if (level) {
        if (cli_opt_enum(w, "--level", level, CL_DOM_WARRANTY_LEVEL, &v) < 0) return CLI_EXIT_USAGE;
        req.level = (Closeloop__WarrantyLevel)v;
    }
    req.overdue = overdue;
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_list_print(s, cli_new_table(15, list_cols, 0x802), CL_MSG_WARRANTY_LIST_REQ,
                          &req.base, CL_MSG_WARRANTY_PAGE, report_row);
}

static int warranty_show(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    if (cli_parse_args("warranty show", argc, argv, defs, pos, 1, &npos) < 0 ||
        one_ticket("warranty show", npos, pos) < 0)
        return CLI_EXIT_USAGE;
    Closeloop__WarrantyShowRequest req = CLOSELOOP__WARRANTY_SHOW_REQUEST__INIT;
    req.ticket_id = (char *)pos[0];
    return cli_call_show(s, CL_MSG_WARRANTY_SHOW_REQ, &req.base, CL_MSG_WARRANTY,
                         report_show_print);
}

static int warranty_respond(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty respond", *note = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--note", &note}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0 || one_ticket(w, npos, pos) < 0 ||
        (note && cli_utf8_arg_ok(w, note) < 0))
        return CLI_EXIT_USAGE;
    Closeloop__WarrantyAct req = CLOSELOOP__WARRANTY_ACT__INIT;
    req.ticket_id = (char *)pos[0];
    req.action = CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_RESPOND;
    if (note) req.note = (char *)note;
    return cli_call_show(s, CL_MSG_WARRANTY_ACT_REQ, &req.base, CL_MSG_WARRANTY, report_show_print);
}

static int warranty_third_party(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty third-party", *repairer = NULL, *cost = NULL, *reason = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--repairer", &repairer}, {"--cost", &cost}, {"--reason", &reason}, {NULL, NULL}};
    int npos;
    Closeloop__WarrantyAct req = CLOSELOOP__WARRANTY_ACT__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0 || one_ticket(w, npos, pos) < 0 ||
        cli_need_id(w, "--repairer", repairer, &req.repairer_id) < 0 ||
        cli_need(w, "--cost", cost) < 0 || parse_amount(w, "--cost", cost, &req.cost_cents) < 0 ||
        (reason && cli_utf8_arg_ok(w, reason) < 0))
        return CLI_EXIT_USAGE;
    req.ticket_id = (char *)pos[0];
    req.action = CLOSELOOP__WARRANTY_ACTION__WARRANTY_ACTION_THIRD_PARTY;
    req.note = (char *)(reason ? reason : "原施工单位未按期维修");
    return cli_call_show(s, CL_MSG_WARRANTY_ACT_REQ, &req.base, CL_MSG_WARRANTY, report_show_print);
}

/* The whole of file path into a malloc'd string (at most max bytes); NULL after an error. */
static char *read_body(const char *w, const char *path, size_t max) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_errorf("%s: cannot read --body-file %s", w, path);
        return NULL;
    }
    char *buf = malloc(max + 2);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad || n > max) {
        cli_errorf("%s: --body-file %s %s", w, path,
                   !buf  ? "does not fit in memory"
                   : bad ? "could not be read"
                         : "is too long");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int warranty_letter(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty letter", *contractor = NULL, *ticket = NULL, *subject = NULL,
               *body = NULL, *file = NULL, *company = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--contractor", &contractor},
                                 {"--ticket", &ticket},
                                 {"--subject", &subject},
                                 {"--body", &body},
                                 {"--body-file", &file},
                                 {"--company", &company},
                                 {NULL, NULL}};
    int npos;
    Closeloop__WarrantyLetterAdd req = CLOSELOOP__WARRANTY_LETTER_ADD__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(w, "--contractor", contractor, &req.contractor_id) < 0 ||
        cli_opt_id("--company", company, &req.company_id) < 0 ||
        opt_uuid(w, "--ticket", ticket) < 0 || cli_need(w, "--subject", subject) < 0 ||
        cli_utf8_arg_ok(w, subject) < 0)
        return CLI_EXIT_USAGE;
    if (!body == !file) {
        cli_errorf("%s: give the letter's text as --body TEXT or --body-file FILE", w);
        return CLI_EXIT_USAGE;
    }
    char *text = file ? read_body(w, file, 4 * CL_LIM_LETTER_BODY_CHARS) : NULL;
    if (file && !text) return CLI_EXIT_USAGE;
    if (cli_utf8_arg_ok(w, text ? text : body) < 0) {
        free(text);
        return CLI_EXIT_USAGE;
    }
    req.subject = (char *)subject;
    req.body = text ? text : (char *)body;
    if (ticket) req.ticket_id = (char *)ticket;
    int rc = cli_call_show(s, CL_MSG_WARRANTY_LETTER_REQ, &req.base, CL_MSG_WARRANTY_LETTER,
                           letter_print);
    free(text);
    return rc;
}

static int warranty_letters(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty letters", *contractor = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--contractor", &contractor}, {NULL, NULL}};
    int npos;
    Closeloop__WarrantyLetterListRequest req = CLOSELOOP__WARRANTY_LETTER_LIST_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_opt_id("--contractor", contractor, &req.contractor_id) < 0)
        return CLI_EXIT_USAGE;
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_list_print(s, cli_new_table(7, letter_cols, 0x1), CL_MSG_WARRANTY_LETTER_LIST_REQ,
                          &req.base, CL_MSG_WARRANTY_LETTER_PAGE, letter_row);
}

static int warranty_deduct(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty deduct", *contractor = NULL, *amount = NULL, *reason = NULL,
               *ticket = NULL, *company = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--contractor", &contractor}, {"--amount", &amount},
                                 {"--reason", &reason},         {"--ticket", &ticket},
                                 {"--company", &company},       {NULL, NULL}};
    int npos;
    Closeloop__WarrantyDeductionAct req = CLOSELOOP__WARRANTY_DEDUCTION_ACT__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(w, "--contractor", contractor, &req.contractor_id) < 0 ||
        cli_need(w, "--amount", amount) < 0 ||
        parse_amount(w, "--amount", amount, &req.amount_cents) < 0 ||
        cli_need(w, "--reason", reason) < 0 || cli_utf8_arg_ok(w, reason) < 0 ||
        opt_uuid(w, "--ticket", ticket) < 0 ||
        cli_opt_id("--company", company, &req.company_id) < 0)
        return CLI_EXIT_USAGE;
    req.to = CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_REQUESTED;
    req.reason = (char *)reason;
    if (ticket) req.ticket_id = (char *)ticket;
    return cli_call_show(s, CL_MSG_WARRANTY_DEDUCTION_REQ, &req.base, CL_MSG_WARRANTY_DEDUCTION,
                         deduction_print);
}

static int warranty_decide(const cli_settings_t *s, int argc, char **argv, const char *w,
                           Closeloop__DeductionState to) {
    const char *note = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--note", &note}, {NULL, NULL}};
    int npos;
    Closeloop__WarrantyDeductionAct req = CLOSELOOP__WARRANTY_DEDUCTION_ACT__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || cli_opt_id("DEDUCTION_ID", pos[0], &req.id) < 0 || req.id <= 0) {
        if (npos != 1) cli_errorf("%s: give the deduction's id", w);
        return CLI_EXIT_USAGE;
    }
    if (note && cli_utf8_arg_ok(w, note) < 0) return CLI_EXIT_USAGE;
    req.to = to;
    if (note) req.note = (char *)note;
    return cli_call_show(s, CL_MSG_WARRANTY_DEDUCTION_REQ, &req.base, CL_MSG_WARRANTY_DEDUCTION,
                         deduction_print);
}

static int warranty_approve(const cli_settings_t *s, int argc, char **argv) {
    return warranty_decide(s, argc, argv, "warranty approve",
                           CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_APPROVED);
}

static int warranty_reject(const cli_settings_t *s, int argc, char **argv) {
    return warranty_decide(s, argc, argv, "warranty reject",
                           CLOSELOOP__DEDUCTION_STATE__DEDUCTION_STATE_REJECTED);
}

static int warranty_deductions(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "warranty deductions", *contractor = NULL, *state = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--contractor", &contractor}, {"--state", &state}, {NULL, NULL}};
    int npos, v;
    Closeloop__WarrantyDeductionListRequest req = CLOSELOOP__WARRANTY_DEDUCTION_LIST_REQUEST__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_opt_id("--contractor", contractor, &req.contractor_id) < 0)
        return CLI_EXIT_USAGE;
    if (state) {
        if (cli_opt_enum(w, "--state", state, CL_DOM_DEDUCTION_STATE, &v) < 0)
            return CLI_EXIT_USAGE;
        req.state = (Closeloop__DeductionState)v;
    }
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_list_print(s, cli_new_table(12, deduction_cols, 0x5),
                          CL_MSG_WARRANTY_DEDUCTION_LIST_REQ, &req.base,
                          CL_MSG_WARRANTY_DEDUCTION_PAGE, deduction_row);
}

static const cli_verb_t warranty_verbs[] = {
    {"add",
     "cloop warranty add --project ID --unit UNIT_ID --owner NAME [--phone P] --category TRADE "
     "--location ROOM --description TEXT [--severity {severity|}] [--contractor ID] [--request-key "
     "KEY]",
     "Takes an owner's warranty report in: the project's warranty round (保修报修) gets the\n"
     "unit's item and its ticket, dispatched to the project's contractor of the trade (or\n"
     "--contractor), and the report starts at 物业客服 with the property's response budget\n"
     "over the company's business calendar (docs/WARRANTY.md). --request-key makes it\n"
     "idempotent: the same key again prints the same report and creates nothing.\n"
     "\n"
     "example: cloop warranty add --project 1 --unit 12 --owner 张三 --phone 13800000000 "
     "--category waterproofing --location 卫生间 --description 卫生间顶棚渗水\n",
     warranty_add},
    {"respond", "cloop warranty respond TICKET [--note TEXT]",
     "Records the first response to the owner: the report stops climbing the ladder. The\n"
     "ticket's first 'repaired' counts as the response too.\n"
     "\n"
     "example: cloop warranty respond 6f1c...e2 --note 已联系业主，明日上门\n",
     warranty_respond},
    {"list", "cloop warranty list [--project ID] [--level {warranty level|}] [--overdue]",
     "Lists the warranty reports you may see, newest first: property staff their projects,\n"
     "customer relations and the warranty office their company, the hotline and HQ all.\n"
     "--overdue: only those not responded past their due.\n"
     "\n"
     "example: cloop warranty list --level developer --overdue\n",
     warranty_list},
    {"show", "cloop warranty show TICKET",
     "Shows a report: its level, due and response, the ticket's state and history, the\n"
     "hotline complaint it became, its letters and deductions.\n"
     "\n"
     "example: cloop warranty show 6f1c...e2\n",
     warranty_show},
    {"letter",
     "cloop warranty letter --contractor ID [--ticket TICKET] [--company ID] --subject TEXT "
     "(--body TEXT | --body-file FILE)",
     "The warranty office records a letter to a contractor (about a ticket, or in general).\n"
     "\n"
     "example: cloop warranty letter --contractor 3 --subject 维修超期函 --body "
     "请于三日内完成维修\n",
     warranty_letter},
    {"letters", "cloop warranty letters [--contractor ID]",
     "Lists the warranty office's letters you may see, newest first.\n"
     "\n"
     "example: cloop warranty letters --contractor 3\n",
     warranty_letters},
    {"deduct",
     "cloop warranty deduct --contractor ID --amount YUAN --reason TEXT [--ticket TICKET] "
     "[--company ID]",
     "The warranty office requests a deduction (罚款) from a contractor, in yuan with at most\n"
     "two decimals (more than 0, at most 10000000.00). Another user approves or rejects it.\n"
     "\n"
     "example: cloop warranty deduct --contractor 3 --amount 1200.50 --reason 维修超期\n",
     warranty_deduct},
    {"approve", "cloop warranty approve DEDUCTION_ID [--note TEXT]",
     "Approves a requested deduction: the warranty office, the company's customer relations\n"
     "or HQ's admin, never the user who requested it.\n"
     "\n"
     "example: cloop warranty approve 7\n",
     warranty_approve},
    {"reject", "cloop warranty reject DEDUCTION_ID [--note TEXT]",
     "Rejects a requested deduction (the same people as approve).\n"
     "\n"
     "example: cloop warranty reject 7 --note 已按期整改\n",
     warranty_reject},
    {"deductions", "cloop warranty deductions [--contractor ID] [--state {deduction state|}]",
     "Lists the deductions you may see, newest first.\n"
     "\n"
     "example: cloop warranty deductions --state requested\n",
     warranty_deductions},
    {"third-party", "cloop warranty third-party TICKET --repairer ID --cost YUAN [--reason TEXT]",
     "The warranty office hands a ticket still to be repaired to another contractor (the\n"
     "same repair and verify loop) and charges its cost to the original contractor: a\n"
     "deduction of kind 第三方维修费, requested, for another user to approve.\n"
     "\n"
     "example: cloop warranty third-party 6f1c...e2 --repairer 5 --cost 800 --reason 超期未修\n",
     warranty_third_party},
};

const cli_group_t cmd_warranty_group = {
    "warranty",
    "Warranty repairs: reports, the response ladder, the warranty office's letters and "
    "deductions.",
    warranty_verbs, CLI_NVERBS(warranty_verbs)};
