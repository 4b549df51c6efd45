/* cmd_defect.c - defect feedback (缺陷反馈) and departments: `cloop defect add|from-items|
 * link|list|show|proposals|meet|decide|approve|plan|estimate|rectify|verify|file` and
 * `cloop dept add|list|leader`.
 *
 * Every write prints the defect as one row (id, code, state, version, impact ...), so a
 * script reads it like any other create; show prints the defect's fields, its linked
 * items with their tickets and its whole history (who, when, the note). The workflow's
 * rules are the server's: a refusal comes back with its own exit status (3 for a rule or
 * the wrong person, 1 for a defect in another state). Single-threaded; every message and
 * table is freed before a verb returns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "defect_fsm.h"
#include "domain.h"

#define MAX_TAGS  50
#define MAX_ITEMS 5000

/* ---- small helpers -------------------------------------------------------------------- */

/* Removes the value-less flag name from argv (before "--"); returns whether it was there. */
static int strip_flag(int *argc, char **argv, const char *name) {
    int seen = 0, out = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(argv[i], name))
            seen = 1;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    return seen;
}

/* A comma-separated list split in place into at most max strings (blanks around each
 * trimmed, empty ones dropped). *n = 0 for NULL. -1 after a usage error. */
static int split_list(const char *opt, char *v, char **out, size_t max, size_t *n) {
    *n = 0;
    if (!v) return 0;
    char *save = NULL;
    for (char *t = strtok_r(v, ",，", &save); t; t = strtok_r(NULL, ",，", &save)) {
        while (*t == ' ')
            t++;
        size_t len = strlen(t);
        while (len && t[len - 1] == ' ')
            t[--len] = '\0';
        if (!*t) continue;
        if (*n == max) {
            cli_errorf("%s: at most %zu values", opt, max);
            return -1;
        }
        out[(*n)++] = t;
    }
    return 0;
}

/* Item ids from a file, one a line (or comma-separated), appended to ids. */
typedef struct idfile {
    char **ids;
    size_t n, max;
    int bad;
} idfile_t;

static int idfile_line(void *ctx, const char *path, unsigned lineno, char *line) {
    idfile_t *f = ctx;
    char *save = NULL;
    for (char *t = strtok_r(line, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        if (!cli_uuid_ok(t)) {
            cli_errorf("%s:%u: '%s' is not an item id (a UUID)", path, lineno, t);
            f->bad = 1;
            return CLI_LINE_BAD;
        }
        if (f->n == f->max) {
            cli_errorf("%s: more than %zu items", path, f->max);
            return CLI_LINE_STOP;
        }
        if (!(f->ids[f->n] = strdup(t))) return CLI_LINE_STOP;
        f->n++;
    }
    return CLI_LINE_OK;
}

/* The options of defs[0..n) that a verb takes here (a NULL name: not for this verb),
 * moved to the front in place before the terminating {NULL, NULL}; returns defs. */
static cli_optdef_t *only_named(cli_optdef_t *defs, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (defs[i].name) defs[k++] = defs[i];
    defs[k] = (cli_optdef_t){NULL, NULL};
    return defs;
}

static const char *repairable_words(int32_t r) {
    return r < 0 ? "" : r ? "yes 可修复" : "no 不可修复";
}

/* ---- printing a defect ---------------------------------------------------------------- */

/* Whether the output is for people (table, HTML: the registry's Chinese labels) or for
 * scripts (CSV, JSON: the stored names); set by each verb before it prints. */
static int for_people;

static void set_audience(const cli_settings_t *s) {
    for_people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
}

static int defect_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Defect *d = (const Closeloop__Defect *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, d->id);
    r.cell[1] = cli_str(d->code);
    r.cell[2] = cli_str(d->title);
    r.cell[3] = cli_str(for_people ? cl_defect_state_label((cl_defect_state_t)d->state)
                                   : cl_defect_state_name((cl_defect_state_t)d->state));
    r.cell[4] = cli_row_num(&r, 4, d->version);
    r.cell[5] = cli_str(cl_domain_name(CL_DOM_DEFECT_GRADE, d->grade));
    r.cell[6] = d->repairable < 0 ? "" : d->repairable ? "yes" : "no";
    r.cell[7] = cli_row_num(&r, 7, d->impact_units);
    r.cell[8] = cli_row_num(&r, 8, d->item_count);
    r.cell[9] = cli_row_num(&r, 9, d->ticket_count);
    r.cell[10] = cli_str(d->responsible_dept);
    r.cell[11] = cli_str(d->category);
    return cli_row_add(t, &r);
}

static cli_table_t *defect_table(void) {
    static const char *const cols[] = {"id",      "code",    "title",      "state",
                                       "version", "grade",   "repairable", "impact_units",
                                       "items",   "tickets", "department", "category"};
    return cli_new_table(12, cols, (1u << 0) | (1u << 4) | (1u << 7) | (1u << 8) | (1u << 9));
}

static int defect_print_row(const cli_settings_t *s, const ProtobufCMessage *m) {
    set_audience(s);
    return cli_record_print(s, defect_table(), defect_row, m);
}

static void kv(cli_table_t *t, const char *k, const char *v) {
    const char *row[2] = {k, v ? v : ""};
    if (cli_table_add(t, row) != CL_OK) cli_errorf("out of memory");
}

static void join(char *buf, size_t n, char **v, size_t k) {
    buf[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i ? ", " : "", v[i]);
    }
}

static int defect_show_print(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__Defect *d = (const Closeloop__Defect *)m;
    set_audience(s);
    static const char *const kvh[] = {"field", "value"};
    static const char *const ih[] = {"unit",        "layout", "location",     "category",
                                     "description", "ticket", "ticket_state", "item_id"};
    static const char *const eh[] = {"time", "actor", "action", "from", "to", "note", "detail"};
    static const char *const ih_html[] = {"房号 Unit",      "户型 Layout",      "部位 Location",
                                          "分项 Category",  "描述 Description", "工单 Ticket",
                                          "工单状态 State", "检查项 Item"};
    static const char *const eh_html[] = {"时间 Time", "操作人 Actor", "步骤 Step",  "原状态 From",
                                          "新状态 To", "说明 Note",    "内容 Detail"};
    int html = s->format == CLI_FMT_HTML;
    cli_table_t *t = cli_new_table(2, kvh, 0), *it = cli_new_table(8, html ? ih_html : ih, 1u << 5),
                *ev = cli_new_table(7, html ? eh_html : eh, 0);
    int rc = CLI_EXIT_FAIL;
    if (!t || !it || !ev) goto out;
    cli_table_hide_header(t);
    char b[16][512];
    snprintf(b[0], sizeof b[0], "%s (%" PRId64 ")", cli_str(d->code), d->id);
    snprintf(b[1], sizeof b[1], "%s (%" PRId64 ")", cli_str(d->project_name), d->project_id);
    snprintf(b[2], sizeof b[2], "%s %s", cli_str(cl_defect_state_name((cl_defect_state_t)d->state)),
             cli_str(cl_defect_state_label((cl_defect_state_t)d->state)));
    snprintf(b[3], sizeof b[3], "%" PRIu32 " units (%" PRIu32 " items, %" PRIu32 " tickets)",
             d->impact_units, d->item_count, d->ticket_count);
    join(b[4], sizeof b[4], d->layouts, d->n_layouts);
    join(b[5], sizeof b[5], d->locations, d->n_locations);
    snprintf(b[6], sizeof b[6], "%" PRId64, d->version);
    kv(t, "缺陷编号 code", b[0]);
    kv(t, "项目 project", b[1]);
    kv(t, "标题 title", d->title);
    kv(t, "描述 description", d->description);
    kv(t, "状态 state", b[2]);
    kv(t, "版本 version", b[6]);
    kv(t, "来源 source", cli_enum_label(CL_DOM_DEFECT_SOURCE, d->source));
    kv(t, "类别 kind", cli_enum_label(CL_DOM_DEFECT_KIND, d->kind));
    kv(t, "专业 specialty", cli_enum_label(CL_DOM_SPECIALTY, d->specialty));
    kv(t, "分项 category", d->category);
    kv(t, "批次 round", d->round ? cli_enum_label(CL_DOM_ROUND_KIND, d->round) : "");
    kv(t, "户型 layouts", b[4]);
    kv(t, "部位 locations", b[5]);
    kv(t, "发现日期 found on", d->found_on);
    kv(t, "影响 impact", b[3]);
    kv(t, "风险 risk", d->risk);
    kv(t, "预计损失 estimated loss", d->estimated_loss);
    kv(t, "责任部门 department", d->responsible_dept);
    kv(t, "决策会日期 meeting on", d->meeting_on);
    kv(t, "参会人 attendees", d->meeting_attendees);
    kv(t, "会议纪要 minutes", d->meeting_minutes);
    kv(t, "原因分析 cause", d->cause_analysis);
    kv(t, "纠正措施 corrective", d->corrective_measures);
    kv(t, "预防措施 preventive", d->preventive_measures);
    kv(t, "等级 grade", cli_str(cl_domain_name(CL_DOM_DEFECT_GRADE, d->grade)));
    kv(t, "可修复 repairable", repairable_words(d->repairable));
    if (d->approved_at_ms) {
        char when[80];
        cli_format_time_ms(d->approved_at_ms, when, sizeof when);
        snprintf(b[7], sizeof b[7], "%s, %s", cli_str(d->approved_by), when);
        kv(t, "审批 approved", b[7]);
    }
    kv(t, "整改方案 plan", d->fix_plan);
    kv(t, "成本测算 cost estimate", d->cost_estimate);
    join(b[8], sizeof b[8], d->photo_sha256, d->n_photo_sha256);
    kv(t, "照片 photos (SHA-256)", b[8]);
    for (size_t i = 0; i < d->n_items; i++) {
        const Closeloop__DefectItem *x = d->items[i];
        char num[24];
        snprintf(num, sizeof num, "%" PRIu32, x->ticket_number);
        const char *row[8] = {x->unit,
                              x->layout,
                              x->location,
                              x->category,
                              x->description,
                              x->ticket_number ? num : "",
                              cli_str(for_people
                                          ? cl_domain_label(CL_DOM_TICKET_STATE, x->ticket_state)
                                          : cl_domain_name(CL_DOM_TICKET_STATE, x->ticket_state)),
                              x->item_id};
        if (cli_table_add(it, row) != CL_OK) goto out;
    }
    for (size_t i = 0; i < d->n_events; i++) {
        const Closeloop__DefectEvent *e = d->events[i];
        char when[80];
        cli_format_time_ms(e->at_ms, when, sizeof when);
        /* People read the steps' and states' Chinese labels; scripts their stored names. */
        const char *row[7] = {
            when,
            e->actor,
            cli_str(for_people ? cl_defect_action_label((cl_defect_action_t)e->action)
                               : cl_defect_action_name((cl_defect_action_t)e->action)),
            cli_str(for_people ? cl_defect_state_label((cl_defect_state_t)e->from_state)
                               : cl_defect_state_name((cl_defect_state_t)e->from_state)),
            cli_str(for_people ? cl_defect_state_label((cl_defect_state_t)e->to_state)
                               : cl_defect_state_name((cl_defect_state_t)e->to_state)),
            e->note,
            e->detail};
        if (cli_table_add(ev, row) != CL_OK) goto out;
    }
    if (s->format == CLI_FMT_HTML) {
        /* One A4 page: the defect, its items, its history. */
        char title[300];
        snprintf(title, sizeof title, "缺陷 Defect %s: %s", cli_str(d->code), cli_str(d->title));
        cli_html_page_t pg = {title, b[1], NULL, 1};
        cli_html_begin(&pg, stdout);
        cli_html_table(t, "缺陷信息 Defect", &pg, stdout);
        snprintf(b[9], sizeof b[9], "关联检查项 Linked items (%zu)", d->n_items);
        cli_html_table(it, b[9], &pg, stdout);
        snprintf(b[10], sizeof b[10], "处理记录 History (%zu)", d->n_events);
        cli_html_table(ev, b[10], &pg, stdout);
        rc = cli_html_end(&pg, stdout) == CL_OK ? CLI_EXIT_OK : cli_write_failed();
        goto out;
    }
    if (s->format == CLI_FMT_JSON) {
        /* One object for scripts: {"defect": [...], "items": [...], "history": [...]}. */
        fputs("{\"defect\": ", stdout);
        int w = cli_table_print(t, CLI_FMT_JSON, stdout);
        fputs(", \"items\": ", stdout);
        if (w == CL_OK) w = cli_table_print(it, CLI_FMT_JSON, stdout);
        fputs(", \"history\": ", stdout);
        if (w == CL_OK) w = cli_table_print(ev, CLI_FMT_JSON, stdout);
        if (w == CL_OK && puts("}") >= 0 && fflush(stdout) == 0)
            rc = CLI_EXIT_OK;
        else
            rc = cli_write_failed();
        goto out;
    }
    rc = cli_print_table(s, t);
    if (rc == CLI_EXIT_OK) {
        printf("\n关联检查项 linked items (%zu):\n", d->n_items);
        rc = cli_print_table(s, it);
    }
    if (rc == CLI_EXIT_OK) {
        printf("\n处理记录 history (%zu):\n", d->n_events);
        rc = cli_print_table(s, ev);
    }
out:
    cli_table_free(t);
    cli_table_free(it);
    cli_table_free(ev);
    return rc;
}

/* ---- defect add / from-items ---------------------------------------------------------- */

#define MAX_PHOTOS CL_LIM_ITEM_PHOTOS

/* Takes every --photo FILE out of argv (before "--") into paths; -1 after a usage error. */
static int take_photos(const char *what, int *argc, char **argv, const char **paths, size_t *n) {
    int out = 0;
    *n = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        const char *v = NULL;
        int m = cli_opt_value(*argc, argv, &i, NULL, "--photo", &v);
        if (m < 0) return -1;
        if (m == 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (*n == MAX_PHOTOS) {
            cli_errorf("%s: at most %d --photo", what, MAX_PHOTOS);
            return -1;
        }
        paths[(*n)++] = v;
    }
    *argc = out;
    return 0;
}

static int defect_create(const cli_settings_t *s, int argc, char **argv, int from_items) {
    const char *what = from_items ? "defect from-items" : "defect add";
    const char *photo_path[MAX_PHOTOS];
    size_t nphotos = 0;
    if (take_photos(what, &argc, argv, photo_path, &nphotos) < 0) return CLI_EXIT_USAGE;
    const char *project = NULL, *title = NULL, *desc = NULL, *source = NULL, *kind = NULL,
               *specialty = NULL, *category = NULL, *round = NULL, *layout = NULL, *location = NULL,
               *risk = NULL, *loss = NULL, *dept = NULL, *items = NULL, *from_file = NULL,
               *proposal = NULL, *found = NULL, *complaint = NULL;
    cli_optdef_t defs[] = {{"--project", &project},
                           {"--title", &title},
                           {"--description", &desc},
                           {"--source", &source},
                           {"--kind", &kind},
                           {"--specialty", &specialty},
                           {"--category", &category},
                           {"--round", &round},
                           {"--layout", &layout},
                           {"--location", &location},
                           {"--risk", &risk},
                           {"--loss", &loss},
                           {"--department", &dept},
                           {"--found-on", &found},
                           {"--complaint", &complaint},
                           {from_items ? "--items" : NULL, &items},
                           {from_items ? "--from-file" : NULL, &from_file},
                           {from_items ? "--proposal" : NULL, &proposal},
                           {NULL, NULL}};
    const char *pos[1];
    int npos;
    if (cli_parse_args(what, argc, argv, only_named(defs, sizeof defs / sizeof defs[0]), pos, 0,
                       &npos) < 0)
        return CLI_EXIT_USAGE;
    Closeloop__DefectCreate req = CLOSELOOP__DEFECT_CREATE__INIT;
    int v;
    if (complaint && !source) source = "complaint"; /* source e: a complaint feeds it */
    if (cli_need_id(what, "--project", project, &req.project_id) < 0 ||
        cli_need(what, "--title", title) < 0 || cli_need(what, "--source", source) < 0 ||
        cli_need(what, "--kind", kind) < 0 || cli_need(what, "--specialty", specialty) < 0)
        return CLI_EXIT_USAGE;
    if (cli_opt_enum(what, "--source", source, CL_DOM_DEFECT_SOURCE, &v) < 0) return CLI_EXIT_USAGE;
    req.source = (Closeloop__DefectSource)v;
    if (cli_opt_id("--complaint", complaint, &req.complaint_id) < 0) return CLI_EXIT_USAGE;
    if (complaint && req.source != CLOSELOOP__DEFECT_SOURCE__DEFECT_SOURCE_COMPLAINT) {
        cli_errorf("%s: a defect fed by --complaint has --source complaint (业主投诉)", what);
        return CLI_EXIT_USAGE;
    }
    if (cli_opt_enum(what, "--kind", kind, CL_DOM_DEFECT_KIND, &v) < 0) return CLI_EXIT_USAGE;
    req.kind = (Closeloop__DefectKind)v;
    if (cli_opt_enum(what, "--specialty", specialty, CL_DOM_SPECIALTY, &v) < 0)
        return CLI_EXIT_USAGE;
    req.specialty = (Closeloop__Specialty)v;
    if (round) {
        if (cli_opt_enum(what, "--round", round, CL_DOM_ROUND_KIND, &v) < 0) return CLI_EXIT_USAGE;
        req.round = (Closeloop__RoundKind)v;
    }
    if (cli_opt_id("--department", dept, &req.department_id) < 0) return CLI_EXIT_USAGE;
    if (found && !cli_date_ok(found)) {
        cli_errorf("%s: --found-on must be a date YYYY-MM-DD", what);
        return CLI_EXIT_USAGE;
    }
    if (from_items && !!items + !!from_file + !!proposal != 1) {
        cli_errorf("%s: give exactly one of --items ID,ID, --from-file FILE or --proposal SEED",
                   what);
        return CLI_EXIT_USAGE;
    }
    if (proposal && !cli_uuid_ok(proposal)) {
        cli_errorf("%s: --proposal takes the seed item id of a proposal (cloop defect proposals)",
                   what);
        return CLI_EXIT_USAGE;
    }
    char *lay_copy = layout ? strdup(layout) : NULL, *loc_copy = location ? strdup(location) : NULL;
    char *lays[MAX_TAGS], *locs[MAX_TAGS];
    char **ids = calloc(MAX_ITEMS, sizeof *ids);
    idfile_t f = {ids, 0, MAX_ITEMS, 0};
    char *items_copy = items ? strdup(items) : NULL;
    Closeloop__Photo photos[MAX_PHOTOS], *photop[MAX_PHOTOS];
    size_t loaded = 0;
    int rc = CLI_EXIT_USAGE;
    if (!ids || (layout && !lay_copy) || (location && !loc_copy) || (items && !items_copy)) {
        cli_errorf("out of memory");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (split_list("--layout", lay_copy, lays, MAX_TAGS, &req.n_layouts) < 0 ||
        split_list("--location", loc_copy, locs, MAX_TAGS, &req.n_locations) < 0)
        goto out;
    if (items_copy) {
        char *save = NULL;
        for (char *t = strtok_r(items_copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            if (!cli_uuid_ok(t)) {
                cli_errorf("%s: --items: '%s' is not an item id (a UUID)", what, t);
                goto out;
            }
            if (f.n == MAX_ITEMS || !(ids[f.n] = strdup(t))) {
                cli_errorf("%s: --items: too many, or out of memory", what);
                goto out;
            }
            f.n++;
        }
    }
    if (from_file && (cli_each_list_line(from_file, idfile_line, &f) < 0 || f.bad)) goto out;
    if (from_items && !proposal && f.n == 0) {
        cli_errorf("%s: no item ids given", what);
        goto out;
    }
    for (; loaded < nphotos; loaded++) {
        closeloop__photo__init(&photos[loaded]);
        photop[loaded] = &photos[loaded];
        if (cli_read_photo(photo_path[loaded], &photos[loaded]) < 0) goto out;
    }
    req.photos = photop;
    req.n_photos = nphotos;
    char key[37];
    if (cli_new_key(key) < 0) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    req.idempotency_key = key;
    req.title = (char *)title;
    if (desc) req.description = (char *)desc;
    if (category) req.category = (char *)category;
    if (risk) req.risk = (char *)risk;
    if (loss) req.estimated_loss = (char *)loss;
    if (found) req.found_on = (char *)found;
    if (proposal) req.proposal_seed = (char *)proposal;
    req.layouts = lays;
    req.locations = locs;
    req.item_ids = ids;
    req.n_item_ids = f.n;
    rc = cli_call_show(s, CL_MSG_DEFECT_CREATE_REQ, &req.base, CL_MSG_DEFECT, defect_print_row);
out:
    for (size_t i = 0; i < loaded; i++)
        free(photos[i].data.data);
    for (size_t i = 0; ids && i < f.n; i++)
        free(ids[i]);
    free(ids);
    free(lay_copy);
    free(loc_copy);
    free(items_copy);
    return rc;
}

static int defect_add(const cli_settings_t *s, int argc, char **argv) {
    return defect_create(s, argc, argv, 0);
}

static int defect_from_items(const cli_settings_t *s, int argc, char **argv) {
    return defect_create(s, argc, argv, 1);
}

/* ---- link, show, list, proposals ------------------------------------------------------ */

static int defect_link(const cli_settings_t *s, int argc, char **argv) {
    const char *items = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--items", &items}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("defect link", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || cli_need("defect link", "--items", items) < 0) {
        if (npos != 1) cli_errorf("defect link: give the DEFECT (its code, SJ01, or id)");
        return CLI_EXIT_USAGE;
    }
    char *copy = strdup(items);
    char **ids = calloc(MAX_ITEMS, sizeof *ids);
    size_t n = 0;
    int rc = CLI_EXIT_USAGE;
    if (!copy || !ids) {
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (split_list("--items", copy, ids, MAX_ITEMS, &n) < 0) goto out;
    for (size_t i = 0; i < n; i++)
        if (!cli_uuid_ok(ids[i])) {
            cli_errorf("defect link: --items: '%s' is not an item id (a UUID)", ids[i]);
            goto out;
        }
    Closeloop__DefectLink req = CLOSELOOP__DEFECT_LINK__INIT;
    req.defect = (char *)pos[0];
    req.item_ids = ids;
    req.n_item_ids = n;
    rc = cli_call_show(s, CL_MSG_DEFECT_LINK_REQ, &req.base, CL_MSG_DEFECT, defect_print_row);
out:
    free(copy);
    free(ids);
    return rc;
}

static int defect_show(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    if (cli_parse_args("defect show", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("defect show: give the DEFECT (its code, SJ01, or id)");
        return CLI_EXIT_USAGE;
    }
    Closeloop__DefectShowRequest req = CLOSELOOP__DEFECT_SHOW_REQUEST__INIT;
    req.defect = (char *)pos[0];
    return cli_call_show(s, CL_MSG_DEFECT_SHOW_REQ, &req.base, CL_MSG_DEFECT, defect_show_print);
}

static int defect_list(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *state = NULL, *pos[1];
    cli_optdef_t defs[] = {{"--project", &project}, {"--state", &state}, {NULL, NULL}};
    int npos, v;
    if (cli_parse_args("defect list", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__DefectListRequest req = CLOSELOOP__DEFECT_LIST_REQUEST__INIT;
    if (cli_need_id("defect list", "--project", project, &req.project_id) < 0)
        return CLI_EXIT_USAGE;
    if (state) {
        if (cli_opt_enum("defect list", "--state", state, CL_DOM_DEFECT_STATE, &v) < 0)
            return CLI_EXIT_USAGE;
        req.state = (Closeloop__DefectState)v;
    }
    set_audience(s);
    return cli_list_print(s, defect_table(), CL_MSG_DEFECT_LIST_REQ, &req.base, CL_MSG_DEFECT_PAGE,
                          defect_row);
}

static int proposal_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__DefectProposal *p = (const Closeloop__DefectProposal *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_str(p->seed_item_id);
    r.cell[1] = cli_str(p->category);
    r.cell[2] = cli_str(p->layout);
    r.cell[3] = cli_str(cl_domain_name(CL_DOM_ROUND_KIND, p->round));
    r.cell[4] = cli_row_num(&r, 4, p->units);
    r.cell[5] = cli_row_num(&r, 5, p->items);
    r.cell[6] = cli_str(p->description);
    r.cell[7] = cli_str(p->defects);
    return cli_row_add(t, &r);
}

static int defect_proposals(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *round = NULL, *min = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--round", &round}, {"--min-units", &min}, {NULL, NULL}};
    int npos, v;
    if (cli_parse_args("defect proposals", argc, argv, defs, pos, 0, &npos) < 0)
        return CLI_EXIT_USAGE;
    Closeloop__DefectProposalsRequest req = CLOSELOOP__DEFECT_PROPOSALS_REQUEST__INIT;
    if (cli_need_id("defect proposals", "--project", project, &req.project_id) < 0 ||
        cli_opt_uint("defect proposals", "--min-units", min, 100000, &req.min_units) < 0)
        return CLI_EXIT_USAGE;
    if (round) {
        if (cli_opt_enum("defect proposals", "--round", round, CL_DOM_ROUND_KIND, &v) < 0)
            return CLI_EXIT_USAGE;
        req.round = (Closeloop__RoundKind)v;
    }
    static const char *const cols[] = {"seed",  "category", "layout",      "round",
                                       "units", "items",    "description", "defects"};
    return cli_list_print(s, cli_new_table(8, cols, (1u << 4) | (1u << 5)),
                          CL_MSG_DEFECT_PROPOSALS_REQ, &req.base, CL_MSG_DEFECT_PROPOSAL_PAGE,
                          proposal_row);
}

/* ---- the workflow's steps ------------------------------------------------------------- */

static int defect_step(const cli_settings_t *s, int argc, char **argv, cl_defect_action_t a) {
    char what[48];
    snprintf(what, sizeof what, "defect %s",
             a == CL_DACT_VERIFY_PASS || a == CL_DACT_VERIFY_FAIL ? "verify"
                                                                  : cl_defect_action_name(a));
    int pass = 0, fail = 0;
    if (a == CL_DACT_VERIFY_PASS) {
        pass = strip_flag(&argc, argv, "--pass");
        fail = strip_flag(&argc, argv, "--fail");
        if (pass + fail != 1) {
            cli_errorf("defect verify: give --pass or --fail");
            return CLI_EXIT_USAGE;
        }
        if (fail) a = CL_DACT_VERIFY_FAIL;
    }
    const char *note = NULL, *attendees = NULL, *minutes = NULL, *cause = NULL, *corrective = NULL,
               *preventive = NULL, *dept = NULL, *grade = NULL, *repairable = NULL, *cost = NULL,
               *version = NULL, *plan = NULL, *pos[1];
    bool meet = a == CL_DACT_MEET, decide = a == CL_DACT_DECIDE;
    cli_optdef_t defs[] = {{"--note", &note},
                           {"--expect-version", &version},
                           {meet ? "--attendees" : NULL, &attendees},
                           {meet ? "--minutes" : NULL, &minutes},
                           {meet || decide ? "--cause" : NULL, &cause},
                           {meet || decide ? "--corrective" : NULL, &corrective},
                           {meet || decide ? "--preventive" : NULL, &preventive},
                           {meet || decide ? "--department" : NULL, &dept},
                           {decide ? "--grade" : NULL, &grade},
                           {decide ? "--repairable" : NULL, &repairable},
                           {a == CL_DACT_ESTIMATE ? "--cost" : NULL, &cost},
                           {a == CL_DACT_PLAN ? "--plan" : NULL, &plan},
                           {NULL, NULL}};
    int npos;
    if (cli_parse_args(what, argc, argv, only_named(defs, sizeof defs / sizeof defs[0]), pos, 1,
                       &npos) < 0)
        return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: give the DEFECT (its code, SJ01, or id)", what);
        return CLI_EXIT_USAGE;
    }
    Closeloop__DefectStep req = CLOSELOOP__DEFECT_STEP__INIT;
    req.defect = (char *)pos[0];
    req.action = (Closeloop__DefectAction)a;
    if (plan && note) {
        cli_errorf("%s: give --plan or --note, not both", what);
        return CLI_EXIT_USAGE;
    }
    if (plan) note = plan;
    if (note) req.note = (char *)note;
    if (meet &&
        (cli_need(what, "--attendees", attendees) < 0 || cli_need(what, "--minutes", minutes) < 0))
        return CLI_EXIT_USAGE;
    if (attendees) req.attendees = (char *)attendees;
    if (minutes) req.minutes = (char *)minutes;
    if (cause) req.cause = (char *)cause;
    if (corrective) req.corrective = (char *)corrective;
    if (preventive) req.preventive = (char *)preventive;
    if (cli_opt_id("--department", dept, &req.department_id) < 0) return CLI_EXIT_USAGE;
    if (version) {
        uint64_t ver;
        if (cli_parse_u64(version, 1, INT64_MAX, &ver) != CL_OK) {
            cli_errorf("%s: --expect-version must be a version number", what);
            return CLI_EXIT_USAGE;
        }
        req.expected_version = (int64_t)ver;
    }
    if (decide) {
        if (cli_need(what, "--grade", grade) < 0 || cli_need(what, "--repairable", repairable) < 0)
            return CLI_EXIT_USAGE;
        int g;
        if (cli_opt_enum(what, "--grade", grade, CL_DOM_DEFECT_GRADE, &g) < 0)
            return CLI_EXIT_USAGE;
        req.grade = (Closeloop__DefectGrade)g;
        if (!strcmp(repairable, "yes") || !strcmp(repairable, "是"))
            req.repairable = 1;
        else if (!strcmp(repairable, "no") || !strcmp(repairable, "否"))
            req.repairable = 2;
        else {
            cli_errorf("%s: --repairable must be yes or no", what);
            return CLI_EXIT_USAGE;
        }
    }
    if (a == CL_DACT_ESTIMATE) {
        if (cli_need(what, "--cost", cost) < 0) return CLI_EXIT_USAGE;
        req.cost = (char *)cost;
    }
    if ((a == CL_DACT_PLAN || a == CL_DACT_RECTIFY || a == CL_DACT_VERIFY_FAIL) && !note) {
        cli_errorf("%s: --note is required%s", what, a == CL_DACT_PLAN ? " (or --plan)" : "");
        return CLI_EXIT_USAGE;
    }
    return cli_call_show(s, CL_MSG_DEFECT_STEP_REQ, &req.base, CL_MSG_DEFECT, defect_print_row);
}

#define STEP_VERB(fn, action)                                                                      \
    static int fn(const cli_settings_t *s, int argc, char **argv) {                                \
        return defect_step(s, argc, argv, action);                                                 \
    }
STEP_VERB(defect_meet, CL_DACT_MEET)
STEP_VERB(defect_decide, CL_DACT_DECIDE)
STEP_VERB(defect_approve, CL_DACT_APPROVE)
STEP_VERB(defect_plan, CL_DACT_PLAN)
STEP_VERB(defect_estimate, CL_DACT_ESTIMATE)
STEP_VERB(defect_rectify, CL_DACT_RECTIFY)
STEP_VERB(defect_verify, CL_DACT_VERIFY_PASS)
STEP_VERB(defect_file, CL_DACT_FILE)

static const cli_verb_t defect_verbs[] = {
    {"add",
     "cloop defect add --project ID --title T --source S --kind K --specialty S [--description D] "
     "[--category TRADE] [--round KIND] [--layout TA,TB] [--location 屋面,...] [--risk TEXT] "
     "[--loss YUAN] [--department DEPT] [--found-on DATE] [--complaint ID] [--photo FILE ...]",
     "Feeds back a defect (缺陷反馈); it is COLLECTED and gets the project's next code (SJ01).\n"
     "--photo FILE (up to 5, JPEG or PNG of at most 2 MiB each) attaches photos.\n"
     "--complaint ID: an owner complaint of the project feeds it (source complaint, the\n"
     "default then); the complaint, which must have no defect yet, links this one.\n"
     "Sources: the channels a-g (patrol, mock_inspection, handover_repair, warranty, complaint, "
     "property, survey).\nExample: cloop defect add --project 1 --title 天窗渗水 --source "
     "mock_inspection --kind product --specialty engineering --layout TA",
     defect_add},
    {"from-items",
     "cloop defect from-items --project ID --title T --source S --kind K --specialty S "
     "(--items ID,ID | --from-file FILE | --proposal SEED) [options of add]",
     "A defect from a selection of inspection items (\"these 56 items are one defect\"): its "
     "impact is the number of distinct units of the items. --proposal links the cluster of a "
     "recurring-defect proposal, recomputed by the server (cloop defect proposals).",
     defect_from_items},
    {"link", "cloop defect link DEFECT --items ID,ID",
     "Links more items (of the defect's project) to a defect; its impact follows them.",
     defect_link},
    {"list", "cloop defect list --project ID [--state STATE]", "A project's defects by code.",
     defect_list},
    {"show", "cloop defect show DEFECT",
     "A defect's fields, its linked items with their units and tickets, and its whole history "
     "(who, when, the note).",
     defect_show},
    {"proposals", "cloop defect proposals --project ID [--round KIND] [--min-units N]",
     "Recurring-defect proposals: the same category and a similar description across at least "
     "N (3) units of one layout, in one project and round. Create one with from-items "
     "--proposal SEED.",
     defect_proposals},
    {"meet",
     "cloop defect meet DEFECT --attendees TEXT --minutes TEXT [--cause T] [--corrective T] "
     "[--preventive T] [--department DEPT]",
     "The decision meeting (缺陷决策会), by customer relations: COLLECTED -> ANALYSED.",
     defect_meet},
    {"decide",
     "cloop defect decide DEFECT --grade A|B --repairable yes|no [--department DEPT] [--cause "
     "...]",
     "The decision, by customer relations: ANALYSED -> DECIDED.", defect_decide},
    {"approve", "cloop defect approve DEFECT [--note TEXT]",
     "A non-repairable defect's approval by the leader of the responsible department's "
     "superior department; without it, plan and file are refused (exit 3).",
     defect_approve},
    {"plan", "cloop defect plan DEFECT --plan TEXT",
     "By the responsible department: grade A, the fix plan (-> PLANNED); grade B, the measures "
     "reported to the GM office (-> REPORTED).",
     defect_plan},
    {"estimate", "cloop defect estimate DEFECT --cost YUAN [--note TEXT]",
     "The cost department's estimate of a grade A defect.", defect_estimate},
    {"rectify", "cloop defect rectify DEFECT --note TEXT",
     "By the responsible department, once estimated: PLANNED -> RECTIFIED.", defect_rectify},
    {"verify", "cloop defect verify DEFECT --pass|--fail [--note TEXT]",
     "By customer relations: RECTIFIED -> VERIFIED, or back to PLANNED (--fail needs a note).",
     defect_verify},
    {"file", "cloop defect file DEFECT [--note TEXT]",
     "By customer relations: filed with HQ (from VERIFIED, REPORTED, RETURNED, or a "
     "non-repairable grade A once approved and estimated).",
     defect_file},
};

const cli_group_t cmd_defect_group = {
    "defect",
    "Defect feedback (缺陷反馈): defects, their decision workflow, recurring-defect proposals.\n"
    "DEFECT is a defect's code (SJ01) or id. Refusals: exit 3 for a workflow rule or the wrong "
    "person, exit 1 for a defect in another state (a conflict).",
    defect_verbs, CLI_NVERBS(defect_verbs)};

/* ---- departments ---------------------------------------------------------------------- */

static int dept_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Department *d = (const Closeloop__Department *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(d->meta));
    r.cell[1] = cli_str(d->name);
    r.cell[2] = cli_str(cl_domain_name(CL_DOM_DEPT_KIND, d->kind));
    r.cell[3] = cli_row_ref(&r, 3, d->company_id);
    r.cell[4] = cli_row_ref(&r, 4, d->parent_id);
    r.cell[5] = cli_str(d->parent_name);
    r.cell[6] = cli_str(d->leader);
    return cli_row_add(t, &r);
}

static cli_table_t *dept_table(void) {
    static const char *const cols[] = {"id",     "name",        "kind",  "company",
                                       "parent", "parent_name", "leader"};
    return cli_new_table(7, cols, 1u | (1u << 3) | (1u << 4));
}

static int dept_print(const cli_settings_t *s, const ProtobufCMessage *m) {
    return cli_record_print(s, dept_table(), dept_row, m);
}

static int dept_add(const cli_settings_t *s, int argc, char **argv) {
    const char *company = NULL, *kind = NULL, *parent = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--company", &company}, {"--kind", &kind}, {"--parent", &parent}, {NULL, NULL}};
    int npos, v;
    if (cli_parse_args("dept add", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("dept add: give the department's NAME");
        return CLI_EXIT_USAGE;
    }
    Closeloop__DepartmentCreate req = CLOSELOOP__DEPARTMENT_CREATE__INIT;
    if (cli_need_id("dept add", "--company", company, &req.company_id) < 0 ||
        cli_need("dept add", "--kind", kind) < 0 ||
        cli_opt_enum("dept add", "--kind", kind, CL_DOM_DEPT_KIND, &v) < 0 ||
        cli_opt_id("--parent", parent, &req.parent_id) < 0 ||
        cli_utf8_arg_ok("dept add", pos[0]) < 0)
        return CLI_EXIT_USAGE;
    req.kind = (Closeloop__DepartmentKind)v;
    char key[37];
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    req.idempotency_key = key;
    req.name = (char *)pos[0];
    return cli_call_show(s, CL_MSG_DEPT_CREATE_REQ, &req.base, CL_MSG_DEPARTMENT, dept_print);
}

static int dept_list(const cli_settings_t *s, int argc, char **argv) {
    const char *company = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("dept list", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__DepartmentListRequest req = CLOSELOOP__DEPARTMENT_LIST_REQUEST__INIT;
    if (cli_opt_id("--company", company, &req.company_id) < 0) return CLI_EXIT_USAGE;
    return cli_list_print(s, dept_table(), CL_MSG_DEPT_LIST_REQ, &req.base, CL_MSG_DEPARTMENT_PAGE,
                          dept_row);
}

static int dept_leader(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[2];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    if (cli_parse_args("dept leader", argc, argv, defs, pos, 2, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__DepartmentLeaderSet req = CLOSELOOP__DEPARTMENT_LEADER_SET__INIT;
    if (npos != 2 || cli_parse_id("DEPT", pos[0], &req.department_id) != CL_OK) {
        cli_errorf("dept leader: give the DEPT id and the leader's USERNAME");
        return CLI_EXIT_USAGE;
    }
    req.username = (char *)pos[1];
    return cli_call_show(s, CL_MSG_DEPT_LEADER_REQ, &req.base, CL_MSG_DEPARTMENT, dept_print);
}

static const cli_verb_t dept_verbs[] = {
    {"add", "cloop dept add --company ID NAME --kind KIND [--parent DEPT]",
     "Adds a department (部门) of a company. Its kind is its function: cost departments "
     "estimate a defect's cost; the leader of a responsible department's superior (--parent) "
     "approves a non-repairable defect.\nExample: cloop dept add --company 2 工程管理部 --kind "
     "engineering --parent 1",
     dept_add},
    {"list", "cloop dept list [--company ID]", "The departments in scope.", dept_list},
    {"leader", "cloop dept leader DEPT USERNAME",
     "Sets the department's leader (主管领导), a user of its company.", dept_leader},
};

const cli_group_t cmd_dept_group = {"dept", "Departments (部门) and their leaders.", dept_verbs,
                                    CLI_NVERBS(dept_verbs)};
