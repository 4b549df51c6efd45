/* cmd_kb.c - the group's case knowledge base: `cloop kb search|show|accept|return|retire|
 * import`.
 *
 * search sends one KbSearch (cases, or with --items the inspection items of every
 * project) and prints the streamed pages best first; show prints one case whole with its
 * revisions; accept, return and retire are HQ's curation, one request each; import reads
 * HQ's existing cases from CSV through csv_import.c (UTF-8 or GBK, FILE:LINE: message per
 * bad row) as ONE chunk, so the server applies the file whole or writes nothing: a file
 * of more than KB_IMPORT_MAX cases is refused before anything is sent. What people read
 * (the table and HTML formats) shows the registry's Chinese labels; CSV and JSON the
 * stored names. Single-threaded; every message, table and buffer is freed before a verb
 * returns. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_mem.h"
#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "csv_import.h"
#include "session_store.h"

#define KB_IMPORT_MAX 2000 /* cases of one import: the server's chunk limit */

/* Set by a verb before it prints: whether people read the output (labels) or a program
 * does (stored names). */
static int people;

static const char *shown(cl_domain_t d, int w) {
    return people ? cli_enum_label(d, w) : cli_enum_name(d, w);
}

static const char *repairable_text(uint32_t r) {
    if (r == 1) return people ? "可修复" : "yes";
    if (r == 2) return people ? "不可修复" : "no";
    return "";
}

/* The strings joined by sep into a malloc'd string ("" when none); NULL when out of memory. */
static char *join(char *const *v, size_t n, const char *sep) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + strlen(sep);
    char *s = malloc(len);
    if (!s) return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(s, sep);
        strcat(s, v[i]);
    }
    return s;
}

/* ---- kb search -------------------------------------------------------------------------- */

static const char *const case_cols[] = {"code",         "title",   "kind",      "specialty",
                                        "category",     "layouts", "locations", "impact_units",
                                        "exact_phrase", "rank"};
enum { CASE_NCOLS = sizeof case_cols / sizeof case_cols[0] };

static int case_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__KbCase *k = (const Closeloop__KbCase *)m;
    char impact[24], rank[32];
    snprintf(impact, sizeof impact, "%" PRIu32, k->impact_units);
    snprintf(rank, sizeof rank, "%.4f", (double)k->rank);
    char *lay = join(k->layouts, k->n_layouts, " "), *loc = join(k->locations, k->n_locations, " ");
    const char *cat =
        people && k->category_name && *k->category_name ? k->category_name : cli_str(k->category);
    const char *row[CASE_NCOLS] = {cli_str(k->code),
                                   cli_str(k->title),
                                   shown(CL_DOM_DEFECT_KIND, k->kind),
                                   shown(CL_DOM_SPECIALTY, k->specialty),
                                   cat,
                                   lay,
                                   loc,
                                   impact,
                                   k->exact ? (people ? "是" : "true") : (people ? "" : "false"),
                                   rank};
    int rc = lay && loc ? cli_table_add(t, row) : CL_ENOMEM;
    free(lay);
    free(loc);
    return rc;
}

static const char *const hit_cols[] = {"project",      "unit",        "layout",   "location",
                                       "category",     "description", "severity", "found_on",
                                       "exact_phrase", "rank",        "id"};
enum { HIT_NCOLS = sizeof hit_cols / sizeof hit_cols[0] };

static int hit_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__KbItemHit *h = (const Closeloop__KbItemHit *)m;
    char rank[32], unit[200];
    snprintf(rank, sizeof rank, "%.4f", (double)h->rank);
    snprintf(unit, sizeof unit, "%s %s", cli_str(h->building), cli_str(h->unit));
    const char *row[HIT_NCOLS] = {cli_str(h->project_name),
                                  unit,
                                  cli_str(h->layout),
                                  cli_str(h->location),
                                  cli_str(h->category),
                                  cli_str(h->description),
                                  shown(CL_DOM_SEVERITY, h->severity),
                                  cli_str(h->found_on),
                                  h->exact ? (people ? "是" : "true") : (people ? "" : "false"),
                                  rank,
                                  cli_str(h->id)};
    return cli_table_add(t, row);
}

static int kb_search(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb search";
    int items = cli_take_flag(&argc, argv, "--items");
    const char *category = NULL, *layout = NULL, *specialty = NULL, *kind = NULL, *project = NULL,
               *limit = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--category", &category},
                                 {"--layout", &layout},
                                 {"--specialty", &specialty},
                                 {"--kind", &kind},
                                 {"--project", &project},
                                 {"--limit", &limit},
                                 {NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: give one QUERY (渗水, 天窗渗水, TA); see 'cloop kb search --help'", w);
        return CLI_EXIT_USAGE;
    }
    Closeloop__KbSearch req = CLOSELOOP__KB_SEARCH__INIT;
    int sp = 0, kd = 0;
    uint32_t lim = 0;
    if (cli_utf8_arg_ok(w, pos[0]) < 0 || cli_opt_id("--project", project, &req.project_id) < 0 ||
        cli_opt_uint(w, "--limit", limit, 500, &lim) < 0 ||
        (specialty && cli_opt_enum(w, "--specialty", specialty, CL_DOM_SPECIALTY, &sp) < 0) ||
        (kind && cli_opt_enum(w, "--kind", kind, CL_DOM_DEFECT_KIND, &kd) < 0))
        return CLI_EXIT_USAGE;
    if (items && (specialty || kind)) {
        cli_errorf("%s: --specialty and --kind filter cases; inspection items (--items) have "
                   "neither",
                   w);
        return CLI_EXIT_USAGE;
    }
    if (category && !cl_trade_code_valid(category)) {
        cli_errorf("%s: '%s' is not a trade code (e.g. waterproofing)", w, category);
        return CLI_EXIT_USAGE;
    }
    req.query = (char *)pos[0];
    if (category) req.category = (char *)category;
    if (layout) req.layout = (char *)layout;
    req.specialty = (Closeloop__Specialty)sp;
    req.kind = (Closeloop__DefectKind)kd;
    req.limit = lim;
    people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    if (items)
        return cli_list_print(s, cli_new_table(HIT_NCOLS, hit_cols, 1u << 9),
                              CL_MSG_KB_ITEM_SEARCH_REQ, &req.base, CL_MSG_KB_ITEM_HIT_PAGE,
                              hit_row);
    return cli_list_print(s, cli_new_table(CASE_NCOLS, case_cols, (1u << 7) | (1u << 9)),
                          CL_MSG_KB_SEARCH_REQ, &req.base, CL_MSG_KB_CASE_PAGE, case_row);
}

/* ---- kb show ----------------------------------------------------------------------------- */

static void kv_add(cli_table_t *t, const char *k, const char *v, int *rc) {
    const char *row[2] = {k, v};
    if (v && *v && *rc == CL_OK) *rc = cli_table_add(t, row);
}

static int show_print(const cli_settings_t *s, const ProtobufCMessage *reply) {
    const Closeloop__KbCaseDetail *d = (const Closeloop__KbCaseDetail *)reply;
    const Closeloop__KbCase *k = d->kase;
    if (!k) {
        cli_errorf("kb show: the server sent no case");
        return CLI_EXIT_FAIL;
    }
    people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    static const char *const kvh[] = {"field", "value"};
    static const char *const vh[] = {"revision", "time", "actor", "note", "title", "defect_id"};
    cli_table_t *kv = cli_table_new(2, kvh), *vt = cli_table_new(6, vh);
    char rev[24], impact[24], defect[80] = "", retired[80] = "";
    char *lay = join(k->layouts, k->n_layouts, "、"),
         *loc = join(k->locations, k->n_locations, "、");
    int rc = kv && vt && lay && loc ? CL_OK : CL_ENOMEM;
    if (rc == CL_OK) {
        cli_table_hide_header(kv);
        snprintf(rev, sizeof rev, "%" PRIu32, k->revision);
        snprintf(impact, sizeof impact, "%" PRIu32, k->impact_units);
        if (k->defect_id)
            snprintf(defect, sizeof defect, "%s (%" PRId64 ")", cli_str(k->defect_code),
                     k->defect_id);
        if (d->retired_at_ms) cli_format_time_ms(d->retired_at_ms, retired, sizeof retired);
        char cat[200];
        if (people && k->category_name && *k->category_name)
            snprintf(cat, sizeof cat, "%s (%s)", k->category_name, cli_str(k->category));
        else
            snprintf(cat, sizeof cat, "%s", cli_str(k->category));
        kv_add(kv, "code", cli_str(k->code), &rc);
        kv_add(kv, "title", cli_str(k->title), &rc);
        kv_add(kv, "status", shown(CL_DOM_CASE_STATUS, k->status), &rc);
        kv_add(kv, "revision", rev, &rc);
        kv_add(kv, "kind", shown(CL_DOM_DEFECT_KIND, k->kind), &rc);
        kv_add(kv, "specialty", shown(CL_DOM_SPECIALTY, k->specialty), &rc);
        kv_add(kv, "category", cat, &rc);
        kv_add(kv, "layouts", lay, &rc);
        kv_add(kv, "locations", loc, &rc);
        kv_add(kv, "grade", shown(CL_DOM_DEFECT_GRADE, k->grade), &rc);
        kv_add(kv, "repairable", repairable_text(k->repairable), &rc);
        kv_add(kv, "project", cli_str(k->project_name), &rc);
        kv_add(kv, "found_on", cli_str(k->found_on), &rc);
        kv_add(kv, "impact_units", impact, &rc);
        kv_add(kv, "responsible", cli_str(k->responsible), &rc);
        kv_add(kv, "description", cli_str(k->description), &rc);
        kv_add(kv, "cause_analysis", cli_str(k->cause_analysis), &rc);
        kv_add(kv, "corrective_measures", cli_str(k->corrective_measures), &rc);
        kv_add(kv, "preventive_measures", cli_str(k->preventive_measures), &rc);
        kv_add(kv, "defect", defect, &rc);
        kv_add(kv, "retired_at", retired, &rc);
        kv_add(kv, "retired_reason", cli_str(k->retired_reason), &rc);
    }
    for (size_t i = 0; i < d->n_versions && rc == CL_OK; i++) {
        const Closeloop__KbCaseVersion *v = d->versions[i];
        char r[24], at[80], did[24] = "";
        snprintf(r, sizeof r, "%" PRIu32, v->revision);
        cli_format_time_ms(v->at_ms, at, sizeof at);
        if (v->defect_id) snprintf(did, sizeof did, "%" PRId64, v->defect_id);
        const char *row[6] = {r, at, cli_str(v->actor), cli_str(v->note), cli_str(v->title), did};
        rc = cli_table_add(vt, row);
    }
    int exit = CLI_EXIT_OK;
    if (rc != CL_OK) {
        cli_errorf("out of memory");
        exit = CLI_EXIT_FAIL;
        goto out;
    }
    FILE *out = stdout;
    int wrc = CL_OK;
    switch (s->format) {
    case CLI_FMT_TABLE:
        wrc = cli_table_print(kv, s->format, out);
        fprintf(out, "\nrevisions (%zu, newest first):\n", d->n_versions);
        if (wrc == CL_OK) wrc = cli_table_print(vt, s->format, out);
        break;
    case CLI_FMT_CSV:
        fputs("# case\n", out);
        wrc = cli_table_print(kv, s->format, out);
        fputs("\n# revisions\n", out);
        if (wrc == CL_OK) wrc = cli_table_print(vt, s->format, out);
        break;
    case CLI_FMT_JSON:
        fputs("{\"case\": ", out);
        wrc = cli_table_print(kv, s->format, out);
        fputs(", \"revisions\": ", out);
        if (wrc == CL_OK) wrc = cli_table_print(vt, s->format, out);
        fputs("}\n", out);
        break;
    case CLI_FMT_HTML: {
        char title[300];
        snprintf(title, sizeof title, "缺陷案例 Case %s", cli_str(k->code));
        cli_html_page_t pg = {title, cli_str(k->title), NULL, 0};
        cli_html_begin(&pg, out);
        cli_html_table(kv, NULL, &pg, out);
        cli_html_table(vt, "版本 Revisions (newest first)", &pg, out);
        wrc = cli_html_end(&pg, out);
        break;
    }
    }
    if (wrc != CL_OK || fflush(out) != 0 || ferror(out)) exit = cli_write_failed();
out:
    free(lay);
    free(loc);
    cli_table_free(kv);
    cli_table_free(vt);
    return exit;
}

static int kb_show(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    if (cli_parse_args("kb show", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("kb show: give one case CODE (SJ01)");
        return CLI_EXIT_USAGE;
    }
    if (cli_utf8_arg_ok("kb show", pos[0]) < 0) return CLI_EXIT_USAGE;
    Closeloop__KbShow req = CLOSELOOP__KB_SHOW__INIT;
    req.code = (char *)pos[0];
    return cli_call_show(s, CL_MSG_KB_SHOW_REQ, &req.base, CL_MSG_KB_CASE_DETAIL, show_print);
}

/* ---- kb accept / return / retire -------------------------------------------------------- */

static const char *const step_cols[] = {"defect_id", "defect", "state",
                                        "version",   "case",   "revision"};

static int step_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__KbDefectStep *x = (const Closeloop__KbDefectStep *)m;
    char id[24], ver[24], rev[24] = "";
    snprintf(id, sizeof id, "%" PRId64, x->defect_id);
    snprintf(ver, sizeof ver, "%" PRId64, x->version);
    if (x->case_revision) snprintf(rev, sizeof rev, "%" PRIu32, x->case_revision);
    const char *row[6] = {id,  cli_str(x->defect_code), shown(CL_DOM_DEFECT_STATE, x->state),
                          ver, cli_str(x->case_code),   rev};
    return cli_table_add(t, row);
}

static int step_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_record_print(s, cli_new_table(6, step_cols, 0x29), step_row, m);
}

/* DEFECT as typed: a record id, or a defect's code (SJ01) that the server resolves as
 * `cloop defect show` does (in the caller's scope). 0 and *id, or the exit code to use
 * after saying why not. */
static int defect_ref(const cli_settings_t *s, const char *w, const char *ref, int64_t *id) {
    if (ref[0] >= '0' && ref[0] <= '9')
        return cli_parse_id("DEFECT", ref, id) == CL_OK ? 0 : CLI_EXIT_USAGE;
    if (cli_utf8_arg_ok(w, ref) < 0) return CLI_EXIT_USAGE;
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    Closeloop__DefectShowRequest req = CLOSELOOP__DEFECT_SHOW_REQUEST__INIT;
    req.defect = (char *)ref;
    ProtobufCMessage *m = NULL;
    int crc = cli_session_call(&ss, CL_MSG_DEFECT_SHOW_REQ, &req.base, CL_MSG_DEFECT, &m);
    if (crc != CL_OK) {
        rc = cli_session_fail(&ss, crc);
    } else {
        *id = ((const Closeloop__Defect *)m)->id;
        rc = 0;
    }
    cl_msg_free(m);
    cli_session_close(&ss);
    return rc;
}

static int kb_accept(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb accept";
    const char *code = NULL, *revises = NULL, *note = NULL, *version = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--code", &code},
                                 {"--revises", &revises},
                                 {"--note", &note},
                                 {"--expected-version", &version},
                                 {NULL, NULL}};
    int npos;
    Closeloop__KbAccept req = CLOSELOOP__KB_ACCEPT__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: give one DEFECT (its code, SJ01, or id); see 'cloop kb accept --help'", w);
        return CLI_EXIT_USAGE;
    }
    if (cli_opt_id("--expected-version", version, &req.expected_version) < 0 ||
        (code && cli_utf8_arg_ok(w, code) < 0) || (revises && cli_utf8_arg_ok(w, revises) < 0) ||
        (note && cli_utf8_arg_ok(w, note) < 0))
        return CLI_EXIT_USAGE;
    if (code && revises) {
        cli_errorf("%s: --code names a new case, --revises an existing one: give one of them", w);
        return CLI_EXIT_USAGE;
    }
    if (code) req.code = (char *)code;
    if (revises) req.revises = (char *)revises;
    if (note) req.note = (char *)note;
    int rc = defect_ref(s, w, pos[0], &req.defect_id);
    if (rc != 0) return rc;
    return cli_call_show(s, CL_MSG_KB_ACCEPT_REQ, &req.base, CL_MSG_KB_DEFECT_STEP, step_show);
}

static int kb_return(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb return";
    const char *reason = NULL, *version = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--reason", &reason}, {"--expected-version", &version}, {NULL, NULL}};
    int npos;
    Closeloop__KbReturn req = CLOSELOOP__KB_RETURN__INIT;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: give one DEFECT (its code, SJ01, or id); see 'cloop kb return --help'", w);
        return CLI_EXIT_USAGE;
    }
    if (cli_need(w, "--reason", reason) < 0 || cli_utf8_arg_ok(w, reason) < 0 ||
        cli_opt_id("--expected-version", version, &req.expected_version) < 0)
        return CLI_EXIT_USAGE;
    req.reason = (char *)reason;
    int rc = defect_ref(s, w, pos[0], &req.defect_id);
    if (rc != 0) return rc;
    return cli_call_show(s, CL_MSG_KB_RETURN_REQ, &req.base, CL_MSG_KB_DEFECT_STEP, step_show);
}

static const char *const retired_cols[] = {"code", "title", "status", "revision", "retired_reason"};

static int retired_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__KbCase *k = (const Closeloop__KbCase *)m;
    char rev[24];
    snprintf(rev, sizeof rev, "%" PRIu32, k->revision);
    const char *row[5] = {cli_str(k->code), cli_str(k->title), shown(CL_DOM_CASE_STATUS, k->status),
                          rev, cli_str(k->retired_reason)};
    return cli_table_add(t, row);
}

static int retired_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    return cli_record_print(s, cli_new_table(5, retired_cols, 0x8), retired_row, m);
}

static int kb_retire(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb retire";
    const char *reason = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--reason", &reason}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: give one case CODE; see 'cloop kb retire --help'", w);
        return CLI_EXIT_USAGE;
    }
    if (cli_utf8_arg_ok(w, pos[0]) < 0 || cli_need(w, "--reason", reason) < 0 ||
        cli_utf8_arg_ok(w, reason) < 0)
        return CLI_EXIT_USAGE;
    Closeloop__KbRetire req = CLOSELOOP__KB_RETIRE__INIT;
    req.code = (char *)pos[0];
    req.reason = (char *)reason;
    return cli_call_show(s, CL_MSG_KB_RETIRE_REQ, &req.base, CL_MSG_KB_CASE, retired_show);
}

/* ---- kb import -------------------------------------------------------------------------- */

enum {
    C_CODE,
    C_TITLE,
    C_DESC,
    C_KIND,
    C_SPECIALTY,
    C_CATEGORY,
    C_LAYOUTS,
    C_LOCATIONS,
    C_GRADE,
    C_REPAIRABLE,
    C_PROJECT,
    C_FOUND_ON,
    C_IMPACT,
    C_CAUSE,
    C_CORRECTIVE,
    C_PREVENTIVE,
    C_RESPONSIBLE,
    NCOLS
};
static const char *const col_names[NCOLS] = {
    "code",         "title",     "description", "kind",       "specialty",  "category",
    "layouts",      "locations", "grade",       "repairable", "project",    "found_on",
    "impact_units", "cause",     "corrective",  "preventive", "responsible"};
static const int col_required[NCOLS] = {1, 1, 0, 1, 1};
static const int col_nonempty[NCOLS] = {1, 1, 0, 1, 1};

enum { K_INSERTED, K_REVISED, K_UNCHANGED, NKEYS };
static const char *const summary_keys[NKEYS] = {"inserted", "revised", "unchanged"};
_Static_assert(NCOLS <= CSV_IMPORT_MAX_COLS && NKEYS <= CSV_IMPORT_MAX_SUMMARY,
               "csv_import.h limits");

typedef struct kb_import {
    csv_import_t base; /* first: the callbacks cast back */
    Closeloop__KbImportRow *rows;
    Closeloop__KbImportRow **rowp;
    size_t nrows;
} kb_import_t;

static const size_t row_strings[] = {offsetof(Closeloop__KbImportRow, code),
                                     offsetof(Closeloop__KbImportRow, title),
                                     offsetof(Closeloop__KbImportRow, description),
                                     offsetof(Closeloop__KbImportRow, category),
                                     offsetof(Closeloop__KbImportRow, project_name),
                                     offsetof(Closeloop__KbImportRow, found_on),
                                     offsetof(Closeloop__KbImportRow, cause_analysis),
                                     offsetof(Closeloop__KbImportRow, corrective_measures),
                                     offsetof(Closeloop__KbImportRow, preventive_measures),
                                     offsetof(Closeloop__KbImportRow, responsible)};
enum { NSTRINGS = sizeof row_strings / sizeof row_strings[0] };

static void tags_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void kb_reset(csv_import_t *base) {
    kb_import_t *im = (kb_import_t *)base;
    for (size_t i = 0; i < im->nrows; i++) {
        tags_free(im->rows[i].layouts, im->rows[i].n_layouts);
        tags_free(im->rows[i].locations, im->rows[i].n_locations);
    }
    csv_import_rows_free(im->rows, im->nrows, sizeof *im->rows, row_strings, NSTRINGS);
    im->nrows = 0;
}

static int kb_prepare(csv_import_t *base) {
    kb_import_t *im = (kb_import_t *)base;
    im->rows = calloc(base->chunk_rows, sizeof *im->rows);
    im->rowp = calloc(base->chunk_rows, sizeof *im->rowp);
    return im->rows && im->rowp ? 0 : -1;
}

static int kb_send(csv_import_t *base, size_t first, size_t n, int check_only,
                   ProtobufCMessage **m) {
    kb_import_t *im = (kb_import_t *)base;
    Closeloop__KbImportChunk req = CLOSELOOP__KB_IMPORT_CHUNK__INIT;
    req.n_rows = n;
    req.rows = im->rowp + first;
    req.check_only = check_only;
    /* One request or nothing: a file larger than a frame is not sent in parts. */
    if (base->max_frame && protobuf_c_message_get_packed_size(&req.base) > base->max_frame) {
        csv_import_fatal(base,
                         "%s: the cases are larger than the server takes in one request (%" PRIu32
                         " bytes); nothing was imported: split the file",
                         base->file, base->max_frame);
        *m = NULL;
        return CL_EINVAL;
    }
    return csv_import_call(base, CL_MSG_KB_IMPORT_REQ, &req.base, CL_MSG_KB_IMPORT_RESULT, m);
}

/* The separators of a list cell: ; ； 、 | , ，. Returns the length of the one at p, or 0. */
static size_t sep_at(const char *p) {
    static const char *const seps[] = {";", "；", "、", "|", ",", "，"};
    for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++)
        if (strncmp(p, seps[i], strlen(seps[i])) == 0) return strlen(seps[i]);
    return 0;
}

/* Splits a list cell (TA、TB) into malloc'd trimmed parts; -1 when out of memory. */
static int split_tags(const char *s, size_t len, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    size_t cap = 0, i = 0;
    while (i <= len) {
        size_t start = i, sl = 0;
        while (i < len && !(sl = sep_at(s + i)))
            i++;
        size_t a = start, b = i;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a) {
            char **p = cl_grow(*out, &cap, *n + 1, sizeof *p, 4);
            char *t = malloc(b - a + 1);
            if (!p || !t) {
                free(t);
                if (p) *out = p;
                return -1;
            }
            *out = p;
            memcpy(t, s + a, b - a);
            t[b - a] = '\0';
            (*out)[(*n)++] = t;
        }
        i += sl ? sl : 1;
    }
    return 0;
}

/* yes/no as people write it: yes 是 可修复 y true 1 / no 否 不可修复 n false 0. */
static int parse_repairable(const char *s, size_t len, uint32_t *out) {
    static const char *const yes[] = {"yes", "y", "true", "1", "是", "可修复"};
    static const char *const no[] = {"no", "n", "false", "0", "否", "不可修复"};
    *out = 0;
    if (len == 0) return 0;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (cli_header_is(s, len, yes[i])) return *out = 1, 0;
        if (cli_header_is(s, len, no[i])) return *out = 2, 0;
    }
    return -1;
}

static void kb_row(csv_import_t *base, uint32_t line) {
    kb_import_t *im = (kb_import_t *)base;
    size_t len;
    const char *v;
    int kind = 0, spec = 0, grade = 0;
    uint32_t rep = 0;
    uint64_t impact = 0;
    if (base->rows_read > KB_IMPORT_MAX) {
        csv_import_fatal(base,
                         "%s:%" PRIu32 ": a case file holds at most %d cases; nothing was "
                         "imported: split the file",
                         base->file, line, KB_IMPORT_MAX);
        return;
    }
    char acc[200];
    v = csv_import_cell(base, C_KIND, &len);
    if (!(kind = cl_domain_parse_label_n(CL_DOM_DEFECT_KIND, v, len))) {
        cl_domain_accepted(CL_DOM_DEFECT_KIND, true, acc, sizeof acc);
        csv_import_row_error(base, line, "kind '%.*s' is not one of %s", (int)(len > 40 ? 40 : len),
                             v, acc);
    }
    v = csv_import_cell(base, C_SPECIALTY, &len);
    if (!(spec = cl_domain_parse_label_n(CL_DOM_SPECIALTY, v, len))) {
        cl_domain_accepted(CL_DOM_SPECIALTY, true, acc, sizeof acc);
        csv_import_row_error(base, line, "specialty '%.*s' is not one of %s",
                             (int)(len > 40 ? 40 : len), v, acc);
    }
    v = csv_import_cell(base, C_GRADE, &len);
    if (len && !(grade = cl_domain_parse_label_n(CL_DOM_DEFECT_GRADE, v, len)))
        csv_import_row_error(base, line, "grade '%.*s' is not A, B or empty",
                             (int)(len > 40 ? 40 : len), v);
    v = csv_import_cell(base, C_REPAIRABLE, &len);
    if (parse_repairable(v, len, &rep) < 0)
        csv_import_row_error(base, line, "repairable '%.*s' is not yes (是), no (否) or empty",
                             (int)(len > 40 ? 40 : len), v);
    v = csv_import_cell(base, C_FOUND_ON, &len);
    if (len) {
        char d[16];
        if (len >= sizeof d || (memcpy(d, v, len), d[len] = '\0', !cli_date_ok(d)))
            csv_import_row_error(base, line, "found_on '%.*s' is not a date YYYY-MM-DD",
                                 (int)(len > 40 ? 40 : len), v);
    }
    v = csv_import_cell(base, C_IMPACT, &len);
    if (len) {
        char d[16];
        if (len >= sizeof d ||
            (memcpy(d, v, len), d[len] = '\0', cli_parse_u64(d, 0, 1000000, &impact) != CL_OK))
            csv_import_row_error(base, line, "impact_units '%.*s' is not a whole number of units",
                                 (int)(len > 40 ? 40 : len), v);
    }
    if (!csv_import_row_ok(base)) return;
    Closeloop__KbImportRow *r = &im->rows[im->nrows];
    closeloop__kb_import_row__init(r);
    for (size_t k = 0; k < NSTRINGS; k++)
        *(char **)(void *)((char *)r + row_strings[k]) = csv_import_empty;
    r->line = line;
    r->kind = (Closeloop__DefectKind)kind;
    r->specialty = (Closeloop__Specialty)spec;
    r->grade = (Closeloop__DefectGrade)grade;
    r->repairable = rep;
    r->impact_units = (uint32_t)impact;
    im->rowp[im->nrows++] = r;
    static const int cols[NSTRINGS] = {C_CODE,       C_TITLE,      C_DESC,  C_CATEGORY,
                                       C_PROJECT,    C_FOUND_ON,   C_CAUSE, C_CORRECTIVE,
                                       C_PREVENTIVE, C_RESPONSIBLE};
    int oom = 0;
    for (size_t k = 0; k < NSTRINGS; k++) {
        char **dst = (char **)(void *)((char *)r + row_strings[k]);
        if (!(*dst = csv_import_cell_dup(base, cols[k]))) {
            *dst = csv_import_empty;
            oom = 1;
        }
    }
    v = csv_import_cell(base, C_LAYOUTS, &len);
    if (split_tags(v, len, &r->layouts, &r->n_layouts) < 0) oom = 1;
    v = csv_import_cell(base, C_LOCATIONS, &len);
    if (split_tags(v, len, &r->locations, &r->n_locations) < 0) oom = 1;
    if (oom) csv_import_fatal(base, "out of memory");
}

static const csv_import_spec_t kb_spec = {
    .label = "kb import",
    .done_word = "imported",
    .max_cols_tag = "at most ",
    .trim = 1,
    CSV_IMPORT_TABLES,
    CSV_IMPORT_OPS(kb),
};

static int kb_import(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "kb import";
    int check = cli_take_flag(&argc, argv, "--check");
    const char *pos[1];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: which FILE.csv? see 'cloop kb import --help'", w);
        return CLI_EXIT_USAGE;
    }
    kb_import_t im;
    memset(&im, 0, sizeof im);
    im.base.spec = &kb_spec;
    im.base.s = s;
    im.base.file = pos[0];
    im.base.check = check;
    /* One chunk for the whole file (one more slot than allowed, so the row past the limit
     * is refused before a chunk could be sent). */
    im.base.chunk_rows = KB_IMPORT_MAX + 1;
    int rc = csv_import_run(&im.base);
    free(im.rows);
    free(im.rowp);
    return rc;
}

/* ---- the group ---------------------------------------------------------------------------- */

static const cli_verb_t kb_verbs[] = {
    {"search",
     "cloop kb search QUERY [--items] [--category TRADE] [--layout TA] [--specialty "
     "{specialty|}] [--kind {defect_kind|}] [--project ID] [--limit N]",
     "Searches the group's cases (or, with --items, the inspection items of every\n"
     "project) for QUERY, Chinese or Latin: 天窗渗水, 渗水, 窗, TA. A case matches when\n"
     "it holds every character pair of the query (a 1-character query: that\n"
     "character); the ones holding the exact phrase come first, then the best ranked\n"
     "(ts_rank_cd), then the newest. Retired cases are not searched. Filters: --category\n"
     "(trade code), --layout, --specialty and --kind (cases only), --project (items of\n"
     "that project; cases from its defects). --limit: at most N results (default 20,\n"
     "at most 500). An empty query, or one with nothing searchable (\"!!\"), is refused.\n"
     "Every staff role may search; contractors may not.\n"
     "\n"
     "example: cloop kb search 天窗渗水\n"
     "         cloop kb search 渗水 --items --layout TA --limit 50\n",
     kb_search},
    {"show", "cloop kb show CODE",
     "Prints a case whole (content, status, the defect it came from) and its revisions,\n"
     "newest first.\n"
     "\n"
     "example: cloop kb show SJ01\n",
     kb_show},
    {"accept", "cloop kb accept DEFECT [--code CODE | --revises CASE] [--note TEXT]",
     "HQ accepts a defect filed with it (DEFECT: its code, SJ01, or its id) into the\n"
     "knowledge base: the defect becomes accepted and a case is made from its fields (code: the "
     "defect's, e.g. SJ01, or\n"
     "--code), with its impact counted from its linked items (distinct units). With\n"
     "--revises CASE the defect becomes the next revision of that case instead. The\n"
     "defect's history records who, when and the note. A defect not filed is refused\n"
     "as a conflict (exit 1).\n"
     "\n"
     "example: cloop kb accept SJ01 --note 集团推广\n",
     kb_accept},
    {"return", "cloop kb return DEFECT --reason TEXT",
     "HQ sends a filed defect (its code or id) back to the city company with a reason:\n"
     "the defect becomes returned, and customer relations files it again (cloop defect\n"
     "file) once the reason is answered.\n"
     "\n"
     "example: cloop kb return SJ01 --reason 原因分析不完整\n",
     kb_return},
    {"retire", "cloop kb retire CODE --reason TEXT",
     "Retires a case: it is kept (and shown), but no longer searched or pushed to new\n"
     "projects' check points.\n"
     "\n"
     "example: cloop kb retire SJ01 --reason 设计标准已更新\n",
     kb_retire},
    {"import", "cloop kb import FILE.csv [--check]",
     "Imports HQ's existing cases from a CSV file (UTF-8 with or without a byte order\n"
     "mark, or GBK as Chinese Excel saves it; '-' reads standard input). The first line\n"
     "names the columns, in any order:\n"
     "  code          case code, unique in the group (required)\n"
     "  title         (required)\n"
     "  kind          {defect_kind} (required; the Chinese label works too)\n"
     "  specialty     {specialty} (required)\n"
     "  category      trade code or its Chinese name (防水)\n"
     "  layouts       layout types, separated by 、 ; | or ,\n"
     "  locations     rooms and places, likewise\n"
     "  grade         A or B\n"
     "  repairable    yes (是) or no (否)\n"
     "  project       where it happened\n"
     "  found_on      YYYY-MM-DD\n"
     "  impact_units  units affected\n"
     "  description, cause, corrective, preventive, responsible\n"
     "The file is one request: the server writes all of it or, when any row is bad,\n"
     "nothing; every bad row is listed as FILE:LINE: message. A code that is already a\n"
     "case becomes its next revision when the row differs (unchanged otherwise), so\n"
     "importing the same file again is safe. At most " CLI_STR(
         KB_IMPORT_MAX) " cases "
                        "per file. --check checks\n"
                        "and writes nothing. HQ only.\n"
                        "\n"
                        "example: cloop kb import deploy/demo-cases.csv\n",
     kb_import},
    {"checklist", cmd_kb_checklist_synopsis, cmd_kb_checklist_help, cmd_kb_checklist},
    {"lessons", cmd_kb_lessons_synopsis, cmd_kb_lessons_help, cmd_kb_lessons},
    {"match", cmd_kb_match_synopsis, cmd_kb_match_help, cmd_kb_match},
};

const cli_group_t cmd_kb_group = {
    "kb",
    "The group's case knowledge base (缺陷案例知识库): search cases and items, show a case,\n"
    "HQ's accept, return, retire and import; the lessons pushed to the site (check points\n"
    "of a project's first mock inspection), HQ's view of them, each new item's most\n"
    "similar case.",
    kb_verbs, CLI_NVERBS(kb_verbs)};
