/* cmd_ticket.c - the repair loop: `cloop ticket show|todo|toverify|todispatch|repaired|
 * verify|reassign|return|nofix|dispatch`.
 *
 * show prints one ticket and its events, oldest first. The morning lists (todo, toverify,
 * todispatch) arrive as streamed TicketPage frames: CSV, JSON and HTML rows are written
 * as each page arrives, so memory stays flat however long the list; only the aligned
 * table keeps the rows, for its column widths. The columns are ticket_view.h's, shared
 * with the reports. Transitions take REFs from the command line or from a file (the
 * evening update from the returned paper lists) and send one TicketTransition each
 * through libcloop's request runner (cloop_pipeline.h): up to 32 in flight on one
 * connection, a retryable failure retried once, the session reopened when the
 * connection drops; afterwards each ticket that hit a conflict is looked up to say what
 * it is now. Single-threaded; every message, table and buffer is freed before a verb
 * returns. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_mem.h"
#include "cli.h"
#include "cli_offline.h"
#include "cli_util.h"
#include "cloop.h"
#include "cloop_mirror.h"
#include "cloop_pipeline.h"
#include "pdf.h"
#include "session_store.h"
#include "ticket_fsm.h"
#include "ticket_view.h"

#define MAX_INFLIGHT 32     /* transitions in flight on one connection */
#define MAX_REFS     100000 /* most tickets one transition command takes */

/* ---- names ---------------------------------------------------------------------------- */

static const char *str(const char *s) {
    return s ? s : "";
}

/* A state in words, for messages. */
static const char *state_words(int s) {
    switch (s) {
    case CL_TICKET_DISPATCH: return "waiting for manual dispatch";
    case CL_TICKET_OPEN: return "open (to repair)";
    case CL_TICKET_REPAIRED: return "repaired (to verify)";
    case CL_TICKET_CLOSED: return "closed";
    case CL_TICKET_NOFIX: return "closed as not to fix";
    default: return "in an unknown state";
    }
}

/* ---- ticket references ---------------------------------------------------------------- */

/* One ticket as the user named it. */
typedef struct tref {
    char id[37];        /* the UUID, or "" */
    int64_t project_id; /* with number */
    uint32_t number;
    char shown[64]; /* "#12", "#12 (project 3)" or the UUID, for messages */
} tref_t;

/* Parses a REF: a ticket UUID, PROJECT:NUMBER, or NUMBER (or #NUMBER) with project from
 * --project (0 when not given). Returns 0, or -1 with why in err. */
static int ref_parse(const char *s, int64_t project, tref_t *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    char buf[64];
    if (n == 0 || n >= sizeof buf) {
        snprintf(err, errlen, "'%.*s' is not a ticket REF (a UUID, PROJECT:NUMBER or NUMBER)",
                 (int)(n > 60 ? 60 : n), s);
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (cli_uuid_ok(buf)) {
        for (size_t i = 0; i < 36; i++)
            r->id[i] = (char)(buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 'a' : buf[i]);
        r->id[36] = '\0';
        snprintf(r->shown, sizeof r->shown, "%s", r->id);
        return 0;
    }
    uint64_t p = 0, num = 0;
    char *colon = strchr(buf, ':');
    const char *numpart = buf;
    if (colon) {
        *colon = '\0';
        numpart = colon + 1;
        if (cli_parse_u64(buf, 1, INT64_MAX, &p) != CL_OK) {
            snprintf(err, errlen, "'%s:%s' is not a ticket REF: PROJECT must be a project id", buf,
                     numpart);
            return -1;
        }
    }
    if (*numpart == '#') numpart++;
    if (cli_parse_u64(numpart, 1, UINT32_MAX, &num) != CL_OK) {
        if (colon) *colon = ':';
        snprintf(err, errlen, "'%s' is not a ticket REF (a UUID, PROJECT:NUMBER or NUMBER)", buf);
        return -1;
    }
    if (!colon && project <= 0) {
        snprintf(err, errlen,
                 "REF %s is a bare ticket number: give --project ID, or write it PROJECT:%s", buf,
                 numpart);
        return -1;
    }
    r->project_id = colon ? (int64_t)p : project;
    r->number = (uint32_t)num;
    if (colon && project != r->project_id)
        snprintf(r->shown, sizeof r->shown, "#%" PRIu32 " (project %" PRId64 ")", r->number,
                 r->project_id);
    else
        snprintf(r->shown, sizeof r->shown, "#%" PRIu32, r->number);
    return 0;
}

/* The wire TicketRef for r (pointing into r). */
static void ref_wire(tref_t *r, Closeloop__TicketRef *w) {
    closeloop__ticket_ref__init(w);
    if (r->id[0]) {
        w->id = r->id;
    } else {
        w->project_id = r->project_id;
        w->number = r->number;
    }
}

/* ---- option parsing ------------------------------------------------------------------- */

/* ---- ticket show ---------------------------------------------------------------------- */

static void kv_add(cli_table_t *t, const char *k, const char *v) {
    const char *row[2] = {k, v};
    if (v && *v && cli_table_add(t, row) != CL_OK) cli_errorf("out of memory");
}

static int show_print(const cli_settings_t *s, const Closeloop__TicketHistory *h) {
    const Closeloop__Ticket *t = h->ticket;
    cli_format_t f = s->format;
    static const char *const kvh[] = {"field", "value"};
    static const char *const evh[] = {"time", "actor", "action",    "from",
                                      "to",   "note",  "contractor"};
    static const char *const evh_html[] = {"时间 Time",          "操作人 Actor", "动作 Action",
                                           "原状态 From",        "新状态 To",    "说明 Note",
                                           "施工单位 Contractor"};
    cli_table_t *kv = cli_table_new(2, kvh);
    cli_table_t *ev = cli_table_new(7, f == CLI_FMT_HTML ? evh_html : evh);
    tview_t one = {0};
    int rc = CLI_EXIT_OK;
    if (!kv || !ev || tview_init(&one, CLI_FMT_JSON, -1, 0) != CL_OK ||
        tview_add(&one, t) != CL_OK) {
        cli_errorf("out of memory");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    cli_table_hide_header(kv);
    char b[12][200];
    snprintf(b[0], sizeof b[0], "#%" PRIu32, t->number);
    snprintf(b[1], sizeof b[1], "%s (%" PRId64 ")", str(t->project_name), t->project_id);
    if (t->contractor_id)
        snprintf(b[2], sizeof b[2], "%s (%" PRId64 ")", str(t->contractor_name), t->contractor_id);
    else
        snprintf(b[2], sizeof b[2], "none: waiting for manual dispatch");
    snprintf(b[3], sizeof b[3], "%" PRIu32, t->rework_count);
    char when[80];
    cli_format_time_ms(t->raised_at_ms, when, sizeof when);
    /* Typed in later than found: say so, since age and deadline count from the find. */
    if (t->entry_lag_days)
        snprintf(b[4], sizeof b[4], "%s (entered %" PRIu32 " day%s after it was found)", when,
                 t->entry_lag_days, t->entry_lag_days == 1 ? "" : "s");
    else
        snprintf(b[4], sizeof b[4], "%s", when);
    snprintf(b[8], sizeof b[8], "%s (%" PRIu32 " day%s ago)", str(t->found_on), t->age_days,
             t->age_days == 1 ? "" : "s");
    /* People read the table and the page: the trade's and the registry's Chinese labels. */
    int people = f == CLI_FMT_TABLE || f == CLI_FMT_HTML;
    const char *(*shown)(cl_domain_t, int) = people ? cli_enum_label : cli_enum_name;
    if (people && t->category_name && *t->category_name &&
        strcmp(t->category_name, str(t->category)) != 0)
        snprintf(b[9], sizeof b[9], "%s (%s)", t->category_name, str(t->category));
    else
        snprintf(b[9], sizeof b[9], "%s", str(t->category));
    cli_format_time_ms(t->updated_at_ms, b[5], sizeof b[5]);
    snprintf(b[6], sizeof b[6], "%s%s%s", str(t->deadline),
             t->timeliness == CLOSELOOP__TIMELINESS__TIMELINESS_OVERDUE_OPEN ? " (OVERDUE)" : "",
             t->deadline && *t->deadline ? "" : "none");
    snprintf(b[7], sizeof b[7], "%zu", h->n_photo_sha256);
    kv_add(kv, "ticket", b[0]);
    kv_add(kv, "id", str(t->id));
    kv_add(kv, "project", b[1]);
    kv_add(kv, "building", str(t->building));
    kv_add(kv, "unit", str(t->unit));
    kv_add(kv, "location", str(t->location));
    kv_add(kv, "category", b[9]);
    kv_add(kv, "description", str(t->description));
    kv_add(kv, "severity", shown(CL_DOM_SEVERITY, t->severity));
    kv_add(kv, "state", shown(CL_DOM_TICKET_STATE, t->state));
    kv_add(kv, "contractor", b[2]);
    kv_add(kv, "rework", b[3]);
    kv_add(kv, "deadline", b[6]);
    kv_add(kv, "timeliness", shown(CL_DOM_TIMELINESS, t->timeliness));
    kv_add(kv, "round", shown(CL_DOM_ROUND_KIND, t->round));
    kv_add(kv, "inspector", str(h->inspector));
    kv_add(kv, "inspected_on", str(h->inspected_on));
    kv_add(kv, "found", b[8]);
    kv_add(kv, "raised", b[4]);
    kv_add(kv, "updated", b[5]);
    kv_add(kv, "found_again_of", str(t->found_again_of));
    if (h->n_photo_sha256) kv_add(kv, "photos", b[7]);
    kv_add(kv, "last_note", str(t->last_note));
    for (size_t i = 0; i < h->n_events; i++) {
        const Closeloop__TicketEvent *e = h->events[i];
        char at[80], con[160] = "";
        cli_format_time_ms(e->at_ms, at, sizeof at);
        if (e->contractor_id)
            snprintf(con, sizeof con, "%s (%" PRId64 ")", str(e->contractor_name),
                     e->contractor_id);
        const char *row[7] = {at,
                              str(e->actor),
                              shown(CL_DOM_TICKET_ACTION, e->action),
                              shown(CL_DOM_TICKET_STATE, e->from_state),
                              shown(CL_DOM_TICKET_STATE, e->to_state),
                              str(e->note),
                              con};
        if (cli_table_add(ev, row) != CL_OK) {
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    FILE *out = stdout;
    switch (f) {
    case CLI_FMT_TABLE:
        if (cli_table_print(kv, f, out) != CL_OK) goto fail;
        fprintf(out, "\nhistory (%zu events, oldest first):\n", h->n_events);
        if (cli_table_print(ev, f, out) != CL_OK) goto fail;
        break;
    case CLI_FMT_CSV:
        fputs("# ticket\n", out);
        if (cli_table_print(kv, f, out) != CL_OK) goto fail;
        fputs("\n# events\n", out);
        if (cli_table_print(ev, f, out) != CL_OK) goto fail;
        break;
    case CLI_FMT_JSON:
        fputs("{\"ticket\": ", out);
        cli_table_print_json_row(one.t, 0, out);
        fputs(",\n\"inspector\": ", out);
        cli_json_string(str(h->inspector), out);
        fputs(", \"inspected_on\": ", out);
        cli_json_string(str(h->inspected_on), out);
        fprintf(out, ", \"photos\": %zu,\n\"events\": ", h->n_photo_sha256);
        if (cli_table_print(ev, f, out) != CL_OK) goto fail;
        fputs("}\n", out);
        break;
    case CLI_FMT_HTML: {
        char title[128], sub[512];
        snprintf(title, sizeof title, "维修单履历 Ticket history #%" PRIu32, t->number);
        snprintf(sub, sizeof sub, "%s · %s %s · %s", str(t->project_name), str(t->unit),
                 str(t->location), shown(CL_DOM_TICKET_STATE, t->state));
        cli_html_page_t pg = {title, sub, NULL, 0};
        cli_html_begin(&pg, out);
        cli_html_table(kv, NULL, &pg, out);
        cli_html_table(ev, "处理记录 Events (oldest first)", &pg, out);
        if (cli_html_end(&pg, out) != CL_OK) goto fail;
        break;
    }
    }
    if (fflush(out) != 0 || ferror(out)) goto fail;
    goto out;
fail:
    rc = cli_write_failed();
out:
    cli_table_free(kv);
    cli_table_free(ev);
    cli_table_free(one.t);
    return rc;
}

static int ticket_show(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *pos[1];
    cli_offline_opts_t oo = {cli_take_flag(&argc, argv, "--offline") != 0, NULL};
    const cli_optdef_t defs[] = {{"--project", &project}, {"--mirror", &oo.mirror}, {NULL, NULL}};
    int npos;
    int64_t pid = 0;
    if (cli_parse_args("ticket show", argc, argv, defs, pos, 1, &npos) < 0 ||
        cli_opt_id("--project", project, &pid) < 0)
        return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("ticket show: give one REF (a UUID, PROJECT:NUMBER, or NUMBER with "
                   "--project); see 'cloop ticket show --help'");
        return CLI_EXIT_USAGE;
    }
    tref_t r;
    char err[256];
    if (ref_parse(pos[0], pid, &r, err, sizeof err) < 0) {
        cli_errorf("ticket show: %s", err);
        return CLI_EXIT_USAGE;
    }
    Closeloop__TicketShowRequest req = CLOSELOOP__TICKET_SHOW_REQUEST__INIT;
    Closeloop__TicketRef w;
    ref_wire(&r, &w);
    req.ticket = &w;
    cli_reader_t rd;
    int rc = cli_reader_open(s, &oo, &rd);
    if (rc != CLI_EXIT_OK) return rc;
    ProtobufCMessage *m = NULL;
    int crc = cli_reader_call(&rd, CL_MSG_TICKET_SHOW_REQ, &req.base, CL_MSG_TICKET_HISTORY, &m);
    if (crc != CL_OK) {
        rc = cli_reader_fail(&rd, crc);
    } else {
        const Closeloop__TicketHistory *h = (const Closeloop__TicketHistory *)m;
        if (!h->ticket) {
            cli_errorf("ticket show: the server sent a history without its ticket");
            rc = CLI_EXIT_FAIL;
        } else {
            rc = show_print(s, h);
        }
    }
    cl_msg_free(m);
    cli_reader_close(&rd);
    return rc;
}

/* ---- the morning lists ---------------------------------------------------------------- */

typedef struct list_ctx {
    tview_t v;
    cli_stream_t st;
    cli_html_page_t page;
    char title[128];
    char subtitle[512];
    int todo;                  /* LIST_TOVERIFY, LIST_TODO or LIST_TODISPATCH */
    int64_t contractor_id;     /* asked for, or 0 */
    int64_t project_id;        /* asked for, or 0 */
    const char *my_contractor; /* the caller's own contractor's name, or NULL */
    int rc;                    /* first output failure */
    int pdf, named;            /* --format pdf: rows collected in v.t; the subtitle is set */
} list_ctx_t;

enum { LIST_TOVERIFY = 0, LIST_TODO = 1, LIST_TODISPATCH = 2 };

/* The header line, from what was asked and the first ticket (names are only known then). */
static void list_subtitle(list_ctx_t *x, const Closeloop__Ticket *first) {
    char con[200] = "", proj[200] = "";
    if (x->todo == LIST_TODO) {
        const char *name = first && first->contractor_name && *first->contractor_name
                               ? first->contractor_name
                               : x->my_contractor;
        if (name && *name && (x->contractor_id || x->my_contractor))
            snprintf(con, sizeof con, "施工单位 Contractor: %s", name);
        else if (x->contractor_id)
            snprintf(con, sizeof con, "施工单位 Contractor: %" PRId64, x->contractor_id);
    }
    if (x->project_id && first && first->project_name && *first->project_name)
        snprintf(proj, sizeof proj, "项目 Project: %s (%" PRId64 ")", first->project_name,
                 x->project_id);
    else if (x->project_id)
        snprintf(proj, sizeof proj, "项目 Project: %" PRId64, x->project_id);
    else
        snprintf(proj, sizeof proj, "项目 Project: 全部 all in scope");
    snprintf(x->subtitle, sizeof x->subtitle, "%s%s%s", con, con[0] ? " · " : "", proj);
}

static int on_list_page(void *arg, const ProtobufCMessage *page) {
    list_ctx_t *x = arg;
    const Closeloop__TicketPage *p = (const Closeloop__TicketPage *)page;
    if (x->pdf) { /* PDF: the whole list is laid out at the end (pages "of M") */
        if (!x->named) list_subtitle(x, p->n_items ? p->items[0] : NULL);
        x->named = 1;
        for (size_t i = 0; i < p->n_items; i++)
            if ((x->rc = tview_add(&x->v, p->items[i])) != CL_OK) return x->rc;
        return 0;
    }
    if (!x->st.begun) {
        list_subtitle(x, p->n_items ? p->items[0] : NULL);
        cli_stream_begin(&x->st);
    }
    for (size_t i = 0; i < p->n_items; i++) {
        tcells_t c;
        const char *row[TC__N];
        tview_row(&x->v, p->items[i], &c, row);
        int rc = cli_stream_row(&x->st, row);
        if (rc != CL_OK) {
            x->rc = rc;
            return rc; /* stop: the rest of the stream is drained by libcloop */
        }
    }
    return 0;
}

static int run_list(const cli_settings_t *s, const cli_offline_opts_t *oo, int todo,
                    int64_t contractor, int64_t project, const char *pdf_path) {
    cli_reader_t rd;
    int rc = cli_reader_open(s, oo, &rd);
    if (rc != CLI_EXIT_OK) return rc;
    list_ctx_t x;
    memset(&x, 0, sizeof x);
    x.todo = todo;
    x.contractor_id = contractor;
    x.project_id = project;
    x.pdf = s->pdf;
    if (todo == LIST_TODO && !contractor && rd.me && rd.me->contractor_id)
        x.my_contractor = rd.me->contractor_name;
    if (todo == LIST_TODO && !contractor && rd.me && !rd.me->contractor_id) {
        /* Only a contractor's user has a list of its own. */
        cli_reader_close(&rd);
        cli_errorf("ticket todo: --contractor ID is required (the list is a contractor's, and "
                   "you are not a contractor's user); see 'cloop ticket todo --help'");
        return CLI_EXIT_USAGE;
    }
    /* One contractor's list names it in the header; the column is then left out. A list
     * that is not of one project (todo without --project) shows each ticket's project. */
    int one_contractor = todo == LIST_TODO && (contractor || x.my_contractor);
    if (tview_init(&x.v, s->format,
                   one_contractor && s->format != CLI_FMT_CSV && s->format != CLI_FMT_JSON
                       ? TC_CONTRACTOR
                       : -1,
                   project ? 0 : TV_PROJECT) != CL_OK) {
        cli_reader_close(&rd);
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    snprintf(x.title, sizeof x.title, "%s",
             todo == LIST_TODO         ? "待维修清单 To-repair list"
             : todo == LIST_TODISPATCH ? "待派单清单 To-dispatch list"
                                       : "待验收清单 To-verify list");
    x.page.title = x.title;
    x.page.subtitle = x.subtitle;
    x.page.footer =
        todo == LIST_TODISPATCH
            ? "派给 Dispatch to: 施工单位 contractor id. 当晚录入 Typed back the same evening: "
              "cloop ticket dispatch REF --contractor ID"
        : todo ? "结果 Result: 已修 done (写明做法 what was done) / 未修 not done (原因 why)."
                 " 交回项目部，当晚录入 Returned to the site office and typed back the same "
                 "evening: cloop ticket repaired --from-file"
               : "结果 Result: 通过 pass / 不通过 fail (原因 reason)."
                 " 当晚录入 Typed back the same evening: cloop ticket verify --pass|--fail "
                 "--from-file";
    x.page.landscape = 1;
    cli_stream_init(&x.st, x.v.t, s->format, stdout, &x.page);
    int crc;
    if (todo == LIST_TODISPATCH) {
        Closeloop__DispatchListRequest req = CLOSELOOP__DISPATCH_LIST_REQUEST__INIT;
        req.project_id = project;
        crc = cli_reader_stream(&rd, CL_MSG_DISPATCH_LIST_REQ, &req.base, CL_MSG_TICKET_PAGE,
                                on_list_page, &x);
    } else if (todo) {
        Closeloop__TodoListRequest req = CLOSELOOP__TODO_LIST_REQUEST__INIT;
        req.contractor_id = contractor;
        req.project_id = project;
        crc = cli_reader_stream(&rd, CL_MSG_TODO_LIST_REQ, &req.base, CL_MSG_TICKET_PAGE,
                                on_list_page, &x);
    } else {
        Closeloop__ToVerifyListRequest req = CLOSELOOP__TO_VERIFY_LIST_REQUEST__INIT;
        req.project_id = project;
        crc = cli_reader_stream(&rd, CL_MSG_TOVERIFY_LIST_REQ, &req.base, CL_MSG_TICKET_PAGE,
                                on_list_page, &x);
    }
    if (x.rc != CL_OK) {
        rc = x.rc == CL_ENOMEM ? (cli_errorf("out of memory"), CLI_EXIT_FAIL) : cli_write_failed();
    } else if (crc != CL_OK) {
        /* Rows already written stay; the list is incomplete and the status says so. */
        fflush(stdout);
        if (x.st.rows) cli_errorf("the list is incomplete: %zu rows were printed", x.st.rows);
        rc = cli_reader_fail(&rd, crc);
    } else if (x.pdf) {
        if (!x.named) list_subtitle(&x, NULL);
        pdf_doc_t *doc = pdf_new(x.title, x.subtitle, 1);
        if (!doc || pdf_table(doc, x.v.t, NULL) != CL_OK ||
            pdf_para(doc, x.page.footer, 1) != CL_OK) {
            pdf_free(doc);
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
        } else {
            rc = cli_pdf_finish(doc, todo == LIST_TODO ? "ticket todo" : "ticket toverify",
                                pdf_path);
        }
    } else {
        if (!x.st.begun) list_subtitle(&x, NULL);
        if (cli_stream_end(&x.st) != CL_OK) rc = cli_write_failed();
    }
    cli_table_free(x.v.t);
    cli_reader_close(&rd);
    return rc;
}

static int ticket_todo(const cli_settings_t *s, int argc, char **argv) {
    const char *contractor = NULL, *project = NULL, *pos[1], *pdf_path = NULL;
    cli_offline_opts_t oo = {cli_take_flag(&argc, argv, "--offline") != 0, NULL};
    if (s->pdf && cli_take_output(&argc, argv, &pdf_path) < 0) return CLI_EXIT_USAGE;
    const cli_optdef_t defs[] = {{"--contractor", &contractor},
                                 {"--project", &project},
                                 {"--mirror", &oo.mirror},
                                 {NULL, NULL}};
    int npos;
    int64_t cid = 0, pid = 0;
    if (cli_parse_args("ticket todo", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_opt_id("--contractor", contractor, &cid) < 0 ||
        cli_opt_id("--project", project, &pid) < 0)
        return CLI_EXIT_USAGE;
    return run_list(s, &oo, LIST_TODO, cid, pid, pdf_path);
}

/* A project's list: to-verify or to-dispatch. */
static int project_list(const cli_settings_t *s, const char *what, int kind, int argc,
                        char **argv) {
    int64_t pid = 0;
    if (cli_args_project(what, argc, argv, &pid) < 0) return CLI_EXIT_USAGE;
    cli_offline_opts_t online = {false, NULL};
    return run_list(s, &online, kind, 0, pid, NULL);
}

/* The to-verify list, also offline (cli_offline.h). */
static int ticket_toverify(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *pos[1], *pdf_path = NULL;
    cli_offline_opts_t oo = {cli_take_flag(&argc, argv, "--offline") != 0, NULL};
    if (s->pdf && cli_take_output(&argc, argv, &pdf_path) < 0) return CLI_EXIT_USAGE;
    const cli_optdef_t defs[] = {{"--project", &project}, {"--mirror", &oo.mirror}, {NULL, NULL}};
    int npos;
    int64_t pid = 0;
    if (cli_parse_args("ticket toverify", argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id("ticket toverify", "--project", project, &pid) < 0)
        return CLI_EXIT_USAGE;
    return run_list(s, &oo, LIST_TOVERIFY, 0, pid, pdf_path);
}

static int ticket_todispatch(const cli_settings_t *s, int argc, char **argv) {
    return project_list(s, "ticket todispatch", LIST_TODISPATCH, argc, argv);
}

/* ---- transitions ---------------------------------------------------------------------- */

enum job_state { JOB_PENDING, JOB_OK, JOB_CONFLICT, JOB_FAILED, JOB_QUEUED };

/* One ticket to move: request number i of the runner is jobs[i]. */
typedef struct job {
    tref_t ref;
    const char *note; /* this ticket's note: its file line's, else --note; may be NULL */
    char *own_note;   /* the file line's note, owned */
    unsigned line;    /* file line, 0 for the command line */
    enum job_state state;
    int err;             /* the failure */
    char errmsg[256];    /* the server's sentence */
    int now_state;       /* a conflict: the ticket's state now, from the reply (0: unknown) */
    int64_t now_version; /* and its version now (1: unchanged since it was raised; 0: unknown) */
    char key[37];        /* its idempotency key: one per ticket, the same on every resend */
} job_t;

typedef struct tverb_def {
    const char *name;          /* repaired, verify ... */
    cl_ticket_action_t action; /* verify: set by --pass / --fail */
    int note_required;
    int contractor; /* --contractor is required */
} tverb_def_t;

typedef struct tctx {
    const cli_settings_t *s;
    const tverb_def_t *verb;
    cl_ticket_action_t action;
    int64_t contractor_id;
    job_t *jobs;
    size_t njobs;
    cli_session_t *ss;                /* the connection the runner uses; reopened when it breaks */
    Closeloop__TicketTransition wreq; /* the request being sent (scratch) */
    Closeloop__TicketRef wref;        /* its ticket */
    cli_stream_t st;                  /* CSV and JSON: one row per ticket */
    cli_table_t *t;
    size_t ok, conflicts, failed, queued;
} tctx_t;

static void job_free_all(job_t *jobs, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(jobs[i].own_note);
    free(jobs);
}

/* What an action did, for the line printed per ticket. */
static void outcome_text(cl_ticket_action_t a, const Closeloop__Ticket *t, char *buf, size_t len) {
    const char *con = t->contractor_name && *t->contractor_name ? t->contractor_name : "?";
    switch (a) {
    case CL_TACT_REPAIRED: snprintf(buf, len, "repaired"); break;
    case CL_TACT_VERIFY_PASS: snprintf(buf, len, "verified, closed"); break;
    case CL_TACT_VERIFY_FAIL:
        snprintf(buf, len, "failed verification, back to %s (rework %" PRIu32 ")", con,
                 t->rework_count);
        break;
    case CL_TACT_REASSIGN: snprintf(buf, len, "reassigned to %s", con); break;
    case CL_TACT_DISPATCH: snprintf(buf, len, "dispatched to %s", con); break;
    case CL_TACT_RETURN: snprintf(buf, len, "returned, waiting for manual dispatch"); break;
    case CL_TACT_NOFIX:
        snprintf(buf, len, "decided not to fix (%s)",
                 cli_enum_name(CL_DOM_TICKET_STATE, CL_TICKET_NOFIX));
        break;
    default: snprintf(buf, len, "%s", cli_enum_name(CL_DOM_TICKET_STATE, t->state)); break;
    }
}

/* "#12 3-2-1701 卫生间" for a ticket, else how the user named it. */
static void job_label(const job_t *j, const Closeloop__Ticket *t, char *buf, size_t len) {
    if (t && t->number)
        snprintf(buf, len, "#%" PRIu32 "%s%s%s%s", t->number, t->unit && *t->unit ? " " : "",
                 str(t->unit), t->location && *t->location ? " " : "", str(t->location));
    else
        snprintf(buf, len, "%s", j->ref.shown);
}

/* Reports one finished ticket: a line for people, a row for CSV and JSON. */
static void job_report(tctx_t *x, const job_t *j, const Closeloop__Ticket *t, const char *result,
                       const char *msg) {
    char label[256];
    job_label(j, t, label, sizeof label);
    if (x->s->format == CLI_FMT_CSV || x->s->format == CLI_FMT_JSON) {
        char num[16] = "", rw[16] = "";
        if (t) {
            snprintf(num, sizeof num, "%" PRIu32, t->number);
            snprintf(rw, sizeof rw, "%" PRIu32, t->rework_count);
        }
        const char *row[10] = {j->ref.shown,
                               num,
                               t ? str(t->id) : "",
                               t ? str(t->unit) : "",
                               t ? str(t->location) : "",
                               result,
                               cli_enum_name(CL_DOM_TICKET_STATE, t ? (int)t->state : j->now_state),
                               rw,
                               t ? str(t->contractor_name) : "",
                               msg};
        if (cli_stream_row(&x->st, row) != CL_OK) cli_errorf("cannot write the output");
        return;
    }
    FILE *out = j->state == JOB_OK ? stdout : stderr;
    if (j->line)
        fprintf(out, "%s: %s (line %u)\n", label, msg, j->line);
    else
        fprintf(out, "%s: %s\n", label, msg);
    fflush(out);
}

static void job_done_ok(tctx_t *x, job_t *j, const Closeloop__Ticket *t) {
    char msg[300];
    j->state = JOB_OK;
    x->ok++;
    outcome_text(x->action, t, msg, sizeof msg);
    job_report(x, j, t, "ok", msg);
}

static void job_done_failed(tctx_t *x, job_t *j, int err, const char *why) {
    j->state = JOB_FAILED;
    j->err = err;
    x->failed++;
    why = why && *why ? why : cl_strerror(err);
    /* The server names the request's fields; the user wrote options (or a file line).
     * An option's value refused is a bad command line: exit 2, as cli_exit_for says of
     * CL_ECONFIG. */
    int option;
    if (!j->line && strncmp(why, "note ", 5) == 0) {
        snprintf(j->errmsg, sizeof j->errmsg, "--note %.240s", why + 5);
        option = 1;
    } else {
        option = cli_wire_to_options(why, j->errmsg, sizeof j->errmsg);
    }
    if (option && err == CL_EINVAL) j->err = CL_ECONFIG;
    job_report(x, j, NULL, "error", j->errmsg);
}

/* The state an action leads to (from any state it applies to), for "already <state>". */
static cl_ticket_state_t action_target(cl_ticket_action_t a) {
    for (int st = CL_TICKET_DISPATCH; st < CL_TICKET__STATES; st++) {
        cl_ticket_step_t step;
        if (cl_ticket_step((cl_ticket_state_t)st, a, &step) == CL_OK) return step.to;
    }
    return CL_TICKET_NONE;
}

/* After the pipeline: says what each conflicting ticket is now. The conflict reply tells
 * its state; only a server that does not (an older one) costs a ticket show. */
static void explain_conflicts(tctx_t *x, cli_session_t *ss) {
    for (size_t i = 0; i < x->njobs; i++) {
        job_t *j = &x->jobs[i];
        if (j->state != JOB_CONFLICT) continue;
        ProtobufCMessage *m = NULL;
        const Closeloop__Ticket *t = NULL;
        int now = j->now_state;
        int64_t version = j->now_version;
        if (!now) {
            Closeloop__TicketShowRequest req = CLOSELOOP__TICKET_SHOW_REQUEST__INIT;
            Closeloop__TicketRef w;
            ref_wire(&j->ref, &w);
            req.ticket = &w;
            if (ss->c && cli_session_call(ss, CL_MSG_TICKET_SHOW_REQ, &req.base,
                                          CL_MSG_TICKET_HISTORY, &m) == CL_OK)
                t = ((const Closeloop__TicketHistory *)m)->ticket;
            now = t ? (int)t->state : 0;
            version = t ? t->version : 0;
        }
        char msg[400];
        /* Version 1 is the ticket as it was raised: nobody has changed it, so the conflict
         * is that the action never applied to it, not a race. */
        char ref[64]; /* the ticket as a REF that needs no --project */
        if (j->ref.id[0])
            snprintf(ref, sizeof ref, "%s", j->ref.id);
        else
            snprintf(ref, sizeof ref, "%" PRId64 ":%" PRIu32, j->ref.project_id, j->ref.number);
        if (now == CL_TICKET_DISPATCH && version == 1)
            snprintf(msg, sizeof msg,
                     "conflict — it has waited for manual dispatch since it was raised (no "
                     "contractor has it yet; nobody changed it): dispatch it first with "
                     "'cloop ticket dispatch %s --contractor ID'",
                     ref);
        else if (now && version == 1)
            snprintf(msg, sizeof msg,
                     "conflict — it is %s, as it has been since it was raised (nobody changed "
                     "it)",
                     state_words(now));
        else if (now && now == (int)action_target(x->action) && x->action != CL_TACT_REASSIGN &&
                 x->action != CL_TACT_DISPATCH)
            snprintf(msg, sizeof msg,
                     "conflict — it is already %s (changed by someone else, or by an earlier run)",
                     state_words(now));
        else if (now)
            snprintf(msg, sizeof msg, "conflict — it is now %s (changed by someone else)",
                     state_words(now));
        else
            snprintf(msg, sizeof msg, "conflict — %s", j->errmsg);
        job_report(x, j, t, "conflict", msg);
        cl_msg_free(m);
    }
}

/* The runner sends ticket i: its transition, built in the context's scratch message. */
static int on_transition_request(cl_pipeline_t *p, size_t i, uint16_t *type,
                                 const ProtobufCMessage **msg) {
    tctx_t *x = cl_pipeline_data(p);
    job_t *j = &x->jobs[i];
    /* A resend after a broken connection may follow a transition the server made: the
     * same key makes it change nothing and answer the ticket as it is. */
    if (!j->key[0] && cli_uuid4(j->key) != CL_OK) return CL_EIO;
    closeloop__ticket_transition__init(&x->wreq);
    ref_wire(&j->ref, &x->wref);
    x->wreq.ticket = &x->wref;
    x->wreq.action = (Closeloop__TicketAction)x->action;
    if (j->note) x->wreq.note = (char *)j->note;
    x->wreq.contractor_id = x->contractor_id;
    x->wreq.idempotency_key = j->key;
    *type = CL_MSG_TICKET_TRANSITION_REQ;
    *msg = &x->wreq.base;
    return CL_OK;
}

/* Ticket i is finished: moved, a conflict (explained after the run), or failed. */
static void on_transition_reply(cl_pipeline_t *p, int status, size_t i, cl_reply_t *r) {
    tctx_t *x = cl_pipeline_data(p);
    job_t *j = &x->jobs[i];
    if (status == CL_OK && r->type == CL_MSG_TICKET && r->msg) {
        job_done_ok(x, j, (const Closeloop__Ticket *)r->msg);
    } else if (status == CL_OK) {
        job_done_failed(x, j, CL_EBADMSG, "the server sent an unexpected reply");
    } else if (status == CL_ECONFLICT && r) {
        j->state = JOB_CONFLICT;
        j->err = status;
        j->now_state = r->has_conflict ? (int)r->conflict_state : 0;
        j->now_version = r->has_conflict ? r->conflict_version : 0;
        snprintf(j->errmsg, sizeof j->errmsg, "%s", r->errmsg[0] ? r->errmsg : "conflict");
        x->conflicts++;
    } else {
        job_done_failed(x, j, status, r ? r->errmsg : cl_pipeline_error(p));
    }
}

/* The connection broke: the session is opened again (which says why when it cannot). */
static int on_transition_reconnect(cl_pipeline_t *p, int status, cl_client_t **c) {
    tctx_t *x = cl_pipeline_data(p);
    cli_session_close(x->ss);
    *c = NULL;
    if (cli_session_open(x->s, x->ss) != CLI_EXIT_OK) {
        x->ss->c = NULL;
        return status;
    }
    *c = x->ss->c;
    return CL_OK;
}

/* Every ticket through libcloop's request runner, MAX_INFLIGHT in flight. CL_OK once
 * each has been reported; otherwise nothing was sent. */
static int run_pipeline(tctx_t *x) {
    const cl_pipeline_opts_t o = {
        .data = x,
        .on_request = on_transition_request,
        .on_reply = on_transition_reply,
        .on_reconnect = on_transition_reconnect,
        .window = MAX_INFLIGHT,
    };
    cl_pipeline_t *p = NULL;
    char err[256];
    int rc = cl_pipeline_new(&o, &p, err, sizeof err);
    if (rc == CL_OK) rc = cl_pipeline_run(p, x->ss->c, x->njobs);
    if (rc != CL_OK) cli_errorf("%s", p ? cl_pipeline_error(p) : err);
    cl_pipeline_free(p);
    return rc;
}

/* The server could not be reached: the jobs not answered (all, or those whose request the
 * connection lost) go to the outbox with their optimistic change to the mirror, under the
 * same key they were sent with. A ticket the mirror does not have, or in a state the
 * action does not apply to there, fails. Returns 0, or the exit code when the mirror
 * cannot be opened. */
static int queue_jobs(tctx_t *x, const char *mirror, const char *username) {
    cl_mirror_t *m = NULL;
    int rc = cli_mirror_open(x->s, mirror, username, &m);
    if (rc != CLI_EXIT_OK) return rc;
    for (size_t i = 0; i < x->njobs; i++) {
        job_t *j = &x->jobs[i];
        if (j->state == JOB_FAILED && cli_outbox_unreachable(j->err)) {
            j->state = JOB_PENDING;
            x->failed--;
        }
        if (j->state != JOB_PENDING) continue;
        Closeloop__TicketTransition t = CLOSELOOP__TICKET_TRANSITION__INIT;
        Closeloop__TicketRef w;
        ref_wire(&j->ref, &w);
        t.ticket = &w;
        t.action = (Closeloop__TicketAction)x->action;
        if (j->note) t.note = (char *)j->note;
        t.contractor_id = x->contractor_id;
        t.idempotency_key = j->key;
        char what[200];
        snprintf(what, sizeof what, "ticket %s %s%s%s", x->verb->name, j->ref.shown,
                 j->note ? ": " : "", j->note ? j->note : "");
        int64_t id = 0;
        int lrc = cl_outbox_add_transition(m, &t, what, &id);
        if (lrc == CL_OK) {
            j->state = JOB_QUEUED;
            x->queued++;
            cli_outbox_said(id, what);
        } else {
            job_done_failed(x, j, lrc == CL_ENOTFOUND || lrc == CL_ECONFLICT ? lrc : CL_EIO,
                            cl_mirror_error(m));
        }
    }
    cl_mirror_close(m);
    return 0;
}

/* Where read_ref_file puts the tickets. */
typedef struct ref_file {
    int64_t project;
    job_t *jobs;
    size_t n, cap;
} ref_file_t;

/* A line of a ticket file: "REF" or "REF,NOTE". */
static int ref_line(void *ctx, const char *path, unsigned lineno, char *p) {
    ref_file_t *x = ctx;
    char *comma = strchr(p, ',');
    char *note = NULL;
    if (comma) {
        *comma = '\0';
        char *v = comma + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == '"') { /* a CSV-quoted note: "" is one quote */
            char *o = ++v, *q = v;
            int closed = 0;
            while (*q) {
                if (*q == '"' && q[1] == '"') {
                    *o++ = '"';
                    q += 2;
                } else if (*q == '"') {
                    closed = 1;
                    q++;
                    break;
                } else {
                    *o++ = *q++;
                }
            }
            while (*q == ' ' || *q == '\t')
                q++;
            *o = '\0';
            if (!closed || *q) {
                cli_errorf("%s:%u: badly quoted note (write \"...\" with \"\" for a quote)", path,
                           lineno);
                return CLI_LINE_BAD;
            }
        } else {
            size_t vl = strlen(v);
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                v[--vl] = '\0';
        }
        if (cl_utf8_chars(v) > CL_LIM_NOTE_CHARS) {
            cli_errorf("%s:%u: the note is longer than %d characters", path, lineno,
                       CL_LIM_NOTE_CHARS);
            return CLI_LINE_BAD;
        }
        if (*v) note = v;
    }
    if (x->n >= MAX_REFS) {
        cli_errorf("%s: more than %d tickets; split the file", path, MAX_REFS);
        return CLI_LINE_STOP;
    }
    job_t *nj = cl_grow(x->jobs, &x->cap, x->n + 1, sizeof *nj, 64);
    if (!nj) {
        cli_errorf("out of memory");
        return CLI_LINE_STOP;
    }
    x->jobs = nj;
    job_t *j = &x->jobs[x->n];
    memset(j, 0, sizeof *j);
    char err[256];
    if (ref_parse(p, x->project, &j->ref, err, sizeof err) < 0) {
        cli_errorf("%s:%u: %s", path, lineno, err);
        return CLI_LINE_BAD;
    }
    if (note && !(j->own_note = strdup(note))) {
        cli_errorf("out of memory");
        return CLI_LINE_STOP;
    }
    j->note = j->own_note;
    j->line = lineno;
    x->n++;
    return CLI_LINE_OK;
}

/* Reads REFs (and notes) from path ("-": stdin): one per line, "REF" or "REF,NOTE"; blank
 * lines and lines starting with # are skipped. Appends to *jobs. Prints every bad line
 * and returns -1 when there was one. */
static int read_ref_file(const char *path, int64_t project, job_t **jobs, size_t *n, size_t *cap) {
    ref_file_t x = {.project = project, .jobs = *jobs, .n = *n, .cap = *cap};
    int rc = cli_each_list_line(path, ref_line, &x);
    *jobs = x.jobs, *n = x.n, *cap = x.cap;
    return rc;
}

static const tverb_def_t V_REPAIRED = {"repaired", CL_TACT_REPAIRED, 1, 0};
static const tverb_def_t V_VERIFY = {"verify", CL_TACT_VERIFY_PASS, 0, 0};
static const tverb_def_t V_REASSIGN = {"reassign", CL_TACT_REASSIGN, 1, 1};
static const tverb_def_t V_RETURN = {"return", CL_TACT_RETURN, 1, 0};
static const tverb_def_t V_NOFIX = {"nofix", CL_TACT_NOFIX, 1, 0};
static const tverb_def_t V_DISPATCH = {"dispatch", CL_TACT_DISPATCH, 0, 1};

static int run_transition(const cli_settings_t *s, const tverb_def_t *v, int argc, char **argv) {
    char what[64];
    snprintf(what, sizeof what, "ticket %s", v->name);
    int pass = cli_take_flag(&argc, argv, "--pass");
    int offline = cli_take_flag(&argc, argv, "--offline");
    int failv = cli_take_flag(&argc, argv, "--fail");
    const char *note = NULL, *project = NULL, *contractor = NULL, *file = NULL, *mirror = NULL;
    const char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
    if (!pos) {
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    const cli_optdef_t defs[] = {
        {"--note", &note},      {"--project", &project}, {"--contractor", &contractor},
        {"--from-file", &file}, {"--mirror", &mirror},   {NULL, NULL}};
    int npos, rc = CLI_EXIT_USAGE;
    int64_t pid = 0, cid = 0;
    tctx_t x;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.verb = v;
    x.action = v->action;
    size_t cap = 0;
    if (cli_parse_args(what, argc, argv, defs, pos, argc, &npos) < 0 ||
        cli_opt_id("--project", project, &pid) < 0 ||
        cli_opt_id("--contractor", contractor, &cid) < 0)
        goto out;
    if (v->action == CL_TACT_VERIFY_PASS) {
        if (pass == failv) {
            cli_errorf("ticket verify: say --pass or --fail");
            goto out;
        }
        if (failv) x.action = CL_TACT_VERIFY_FAIL;
    } else if (pass || failv) {
        cli_errorf("%s: --pass and --fail belong to 'ticket verify'", what);
        goto out;
    }
    if (v->contractor && !cid) {
        cli_errorf("%s: --contractor ID is required; see 'cloop %s --help'", what, what);
        goto out;
    }
    if (!v->contractor && cid) {
        cli_errorf("%s: --contractor does not apply; see 'cloop %s --help'", what, what);
        goto out;
    }
    x.contractor_id = cid;
    if (note && (cli_utf8_arg_ok(what, note) < 0)) goto out;
    if (note && cl_utf8_chars(note) > CL_LIM_NOTE_CHARS) {
        cli_errorf("%s: --note is longer than %d characters", what, CL_LIM_NOTE_CHARS);
        goto out;
    }
    if (note && !*note) note = NULL;
    int bad = 0;
    for (int i = 0; i < npos; i++) {
        job_t *nj = cl_grow(x.jobs, &cap, x.njobs + 1, sizeof *nj, 16);
        if (!nj) {
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        x.jobs = nj;
        job_t *j = &x.jobs[x.njobs];
        memset(j, 0, sizeof *j);
        char err[256];
        if (ref_parse(pos[i], pid, &j->ref, err, sizeof err) < 0) {
            cli_errorf("%s: %s", what, err);
            bad = 1;
            continue;
        }
        x.njobs++;
    }
    if (file && read_ref_file(file, pid, &x.jobs, &x.njobs, &cap) < 0) bad = 1;
    if (bad) goto out;
    if (x.njobs == 0) {
        cli_errorf("%s: give the tickets: REF... or --from-file FILE; see 'cloop %s --help'", what,
                   what);
        goto out;
    }
    int note_needed = v->note_required || x.action == CL_TACT_VERIFY_FAIL;
    for (size_t i = 0; i < x.njobs; i++) {
        job_t *j = &x.jobs[i];
        if (!j->note) j->note = note;
        if (note_needed && !j->note) {
            if (j->line)
                cli_errorf("%s:%u: %s needs a note: write REF,NOTE or give --note", file, j->line,
                           x.action == CL_TACT_VERIFY_FAIL ? "a failed verification" : what);
            else
                cli_errorf("%s: --note is required (%s)", what,
                           x.action == CL_TACT_VERIFY_FAIL ? "the reason it failed"
                           : x.action == CL_TACT_REPAIRED  ? "what was done"
                           : x.action == CL_TACT_NOFIX     ? "the approved explanation"
                                                           : "the reason");
            bad = 1;
            if (!j->line) break;
        }
    }
    if (bad) goto out;
    for (size_t i = 0; i < x.njobs; i++)
        if (cli_new_key(x.jobs[i].key) < 0) {
            rc = CLI_EXIT_FAIL;
            goto out;
        }

    static const char *const rh[] = {"ref",    "number", "id",     "unit",       "location",
                                     "result", "state",  "rework", "contractor", "message"};
    if (!(x.t = cli_table_new(10, rh))) {
        cli_errorf("out of memory");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    cli_table_set_numeric(x.t, 1);
    cli_table_set_numeric(x.t, 7);
    cli_stream_init(&x.st, x.t, s->format, stdout, NULL);
    cli_session_t ss;
    memset(&ss, 0, sizeof ss);
    /* Offline (asked, or the server cannot be reached): every ticket to the outbox. */
    rc = offline ? CLI_EXIT_UNREACHABLE : cli_session_open(s, &ss);
    int off = rc == CLI_EXIT_UNREACHABLE;
    if (off) {
        int qrc = queue_jobs(&x, mirror, NULL);
        if (qrc != 0) {
            rc = offline ? qrc : CLI_EXIT_UNREACHABLE;
            goto out;
        }
    } else if (rc != CLI_EXIT_OK) {
        goto out;
    }
    x.ss = &ss;
    if (!off && run_pipeline(&x) != CL_OK) {
        rc = CLI_EXIT_FAIL;
    } else {
        int lost = 0; /* requests the connection lost before their reply */
        for (size_t i = 0; i < x.njobs; i++)
            lost |= x.jobs[i].state == JOB_FAILED && cli_outbox_unreachable(x.jobs[i].err);
        /* No mirror to queue them in: they stay failed (exit 4). */
        if (lost) (void)queue_jobs(&x, mirror, ss.me ? ss.me->username : NULL);
        if (ss.c) explain_conflicts(&x, &ss);
        int data = s->format == CLI_FMT_CSV || s->format == CLI_FMT_JSON;
        if (data && cli_stream_end(&x.st) != CL_OK) cli_write_failed();
        FILE *sum = data ? stderr : stdout;
        fprintf(sum, "%zu ticket%s: %zu done, %zu conflict%s, %zu failed", x.njobs,
                x.njobs == 1 ? "" : "s", x.ok, x.conflicts, x.conflicts == 1 ? "" : "s", x.failed);
        if (x.queued) fprintf(sum, ", %zu queued offline (离线待发 %zu)", x.queued, x.queued);
        fputc('\n', sum);
        fflush(sum);
        rc = CLI_EXIT_OK; /* else the weightiest failure: 4, then 3, then 1 (conflicts) */
        for (size_t i = 0; i < x.njobs; i++)
            if (x.jobs[i].state != JOB_OK && x.jobs[i].state != JOB_QUEUED)
                rc = cli_exit_worse(rc, cli_exit_for(x.jobs[i].err));
    }
    cli_session_close(&ss);
out:
    cli_table_free(x.t);
    job_free_all(x.jobs, x.njobs);
    free(pos);
    return rc;
}

/* Each transition verb runs run_transition with its definition. */
#define TRANSITION_VERB(fn, def)                                                                   \
    static int fn(const cli_settings_t *s, int argc, char **argv) {                                \
        return run_transition(s, &def, argc, argv);                                                \
    }
TRANSITION_VERB(ticket_repaired, V_REPAIRED)
TRANSITION_VERB(ticket_verify, V_VERIFY)
TRANSITION_VERB(ticket_reassign, V_REASSIGN)
TRANSITION_VERB(ticket_return, V_RETURN)
TRANSITION_VERB(ticket_nofix, V_NOFIX)
TRANSITION_VERB(ticket_dispatch, V_DISPATCH)

#define REF_HELP                                                                                   \
    "REF is a ticket's UUID, PROJECT:NUMBER (e.g. 3:12), or its short NUMBER (12 or #12)\n"        \
    "together with --project ID.\n"
#define BATCH_HELP                                                                                  \
    "Give one or many REFs, or --from-file FILE (\"-\" for stdin): one REF per line,\n"             \
    "optionally \"REF,NOTE\" (the note may be CSV-quoted); blank lines and lines starting\n"        \
    "with # are skipped; a line's note overrides --note. The requests are pipelined (32 in\n"       \
    "flight). One line per ticket (\"#12 3-2-1701 卫生间: repaired\"; failures and\n"            \
    "conflicts on stderr) and a summary; --format csv|json prints one row per ticket\n"             \
    "instead (summary on stderr). Exit status 0 when every ticket moved, 1 when any failed\n"       \
    "or hit a conflict (the ticket was not in a state the action applies to), 2 for a bad\n"        \
    "command line or file (nothing is sent then) or an option's value the server refused,\n"        \
    "3 when any was refused, 4 when the server could not answer.\n"                                 \
    "When the server cannot be reached (or with --offline) the transitions go to the\n"             \
    "offline outbox of the mirror (--mirror PATH, $CLOSELOOP_MIRROR, else the one 'cloop\n"         \
    "sync' keeps), each expecting the ticket's version in the mirror, the mirror's ticket\n"        \
    "moved at once; 已存入离线待发队列 outbox #N is said on standard error and the exit\n" \
    "status is 0. The ticket must be in the mirror. 'cloop outbox push' sends them later;\n"        \
    "a ticket changed meanwhile is a conflict ('cloop outbox conflicts').\n"

static const cli_verb_t ticket_verbs[] = {
    {"show", "cloop ticket show REF [--project ID] [--offline] [--mirror PATH]",
     "Prints one ticket and its whole history from raise to close: number, unit,\n"
     "location, category, description, severity, state, contractor, rework count,\n"
     "deadline and timeliness, inspector, the day it was found (age and deadline count\n"
     "from it) and when it was typed in (\"entered 5 days after it was found\" when\n"
     "late); then every event oldest first (time,\n"
     "actor, action, from -> to, note, contractor). " REF_HELP
     "--format csv prints a '# ticket' and an '# events' section; json one object;\n"
     "html a printable page.\n" CLI_OFFLINE_HELP "\n"
     "example: cloop ticket show 12 --project 3\n",
     ticket_show},
    {"todo",
     "cloop ticket todo [--contractor ID] [--project ID] [--offline] [--mirror PATH] [-o FILE]",
     "The to-repair list (待维修清单): every open ticket of a contractor, reworks included,\n"
     "oldest found first (the day the item was found, not typed in), with the rework\n"
     "count. A contractor's user gets its own list without --contractor; anyone else\n"
     "names the contractor. Without --project the list shows each ticket's project.\n"
     "Table and HTML print trades and severities in Chinese. --format html prints an A4 landscape "
     "page ready to print, with blank\n"
     "result (结果) and signature (签字) columns to fill in by hand. CSV, JSON and HTML rows\n"
     "are written as the pages arrive (a long list is never held whole); the table format\n"
     "collects them first to align the columns. --format pdf prints the HTML page as an\n"
     "A4 landscape PDF (header row on every page, 第 N 页 / 共 M 页) to -o FILE, or to\n"
     "stdout when it is not a terminal; it holds the list to count the pages.\n"
     "CSV and JSON add id, project, building,\n"
     "round, state, contractor_id, timeliness, raised_at, entry_lag_days and "
     "last_note.\n" CLI_OFFLINE_HELP "\n"
     "example: cloop ticket todo --contractor 3 --project 1 --format html > todo.html\n",
     ticket_todo},
    {"toverify", "cloop ticket toverify --project ID [--offline] [--mirror PATH] [-o FILE]",
     "The to-verify list (待验收清单) of a project: every ticket reported repaired, oldest\n"
     "found first, with the rework count. Formats as for 'ticket todo'.\n" CLI_OFFLINE_HELP "\n"
     "example: cloop ticket toverify --project 1 --format html > toverify.html\n",
     ticket_toverify},
    {"todispatch", "cloop ticket todispatch --project ID",
     "The tickets of a project waiting for manual dispatch (待派单): no contractor covers\n"
     "their trade, or their contractor returned them (退单). Oldest found first. CR or HQ then\n"
     "sends each to a contractor with 'cloop ticket dispatch REF --contractor ID'.\n"
     "\n"
     "example: cloop ticket todispatch --project 1 --format csv\n",
     ticket_todispatch},
    {"repaired", "cloop ticket repaired REF... | --from-file FILE  --note TEXT [--project ID]",
     "The contractor reports tickets repaired, with what was done (required).\n" REF_HELP BATCH_HELP
     "\n"
     "example: cloop ticket repaired --project 1 12 13 --note '已重做防水'\n"
     "         cloop ticket repaired --project 1 --from-file evening.csv\n",
     ticket_repaired},
    {"verify",
     "cloop ticket verify REF... | --from-file FILE  --pass|--fail [--note REASON] [--project ID]",
     "Records a verification: --pass closes the ticket; --fail sends it back to the same\n"
     "contractor with the reason (required) and adds one to its rework count.\n" REF_HELP BATCH_HELP
     "\n"
     "example: cloop ticket verify --project 1 12 --fail --note '仍渗水'\n",
     ticket_verify},
    {"reassign",
     "cloop ticket reassign REF... | --from-file FILE  --contractor ID --note REASON "
     "[--project ID]",
     "Gives open or repaired tickets to another contractor or a third-party repairer, with\n"
     "the reason (required).\n" REF_HELP BATCH_HELP "\n"
     "example: cloop ticket reassign 1:12 --contractor 7 --note '原单位无法维修'\n",
     ticket_reassign},
    {"return", "cloop ticket return REF... | --from-file FILE  --note REASON [--project ID]",
     "The contractor returns tickets that are not its trade (退单), with the reason\n"
     "(required); they go back to manual dispatch.\n" REF_HELP BATCH_HELP "\n"
     "example: cloop ticket return --project 1 12 --note '非本专业'\n",
     ticket_return},
    {"nofix", "cloop ticket nofix REF... | --from-file FILE  --note EXPLANATION [--project ID]",
     "Decides tickets are not to be fixed, with the approved uniform explanation (统一说辞,\n"
     "required). Final.\n" REF_HELP BATCH_HELP "\n"
     "example: cloop ticket nofix --project 1 12 --note '符合设计规范，不予维修'\n",
     ticket_nofix},
    {"dispatch",
     "cloop ticket dispatch REF... | --from-file FILE  --contractor ID [--note TEXT] "
     "[--project ID]",
     "Dispatches tickets waiting for manual dispatch (no contractor for their trade, or\n"
     "returned) to a contractor.\n" REF_HELP BATCH_HELP "\n"
     "example: cloop ticket dispatch --project 1 12 13 --contractor 3\n",
     ticket_dispatch},
};

const cli_group_t cmd_ticket_group = {
    "ticket",
    "Repair tickets: one item's history, the morning lists (also --format html\n"
    "for A4 print), and the transitions of the repair loop, on one ticket or a\n"
    "file of them.",
    ticket_verbs, CLI_NVERBS(ticket_verbs)};
