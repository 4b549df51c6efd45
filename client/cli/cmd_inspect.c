/* cmd_inspect.c - the inspection commands: `round` (plan and list a project's inspection
 * rounds) and `inspect` (record one item, import a day's paper forms from CSV, record a
 * unit's handover acceptance form, set the handover schedule).
 *
 * Every verb opens the stored session (session_store.h), sends its request and prints
 * the result through output.h. Items carry client-generated UUIDs: `inspect record`
 * uses --item-id or a fresh UUIDv4; `inspect import` uses the file's item_id column or
 * derives a name-based UUIDv8 from the row's content (the rule in common/item_id.h), so
 * importing the same file twice creates nothing the second time. The import streams the
 * file through csv_import.c, shared with `unit import` (cmd_import.c): chunks of rows go
 * to the server as ItemBatch messages that it applies whole or rejects whole, one at a
 * time. Single threaded; every message, table and buffer is freed before the verb
 * returns. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "cl_mem.h"
#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "cloop_mirror.h"
#include "csv_import.h"
#include "item_id.h"
#include "session_store.h"

#define IMPORT_DEF_CHUNK 500u

/* Limits of the registry as text, for the help. */
#define ITEM_PHOTOS_TEXT  CLI_STR(CL_LIM_ITEM_PHOTOS)
#define ITEM_BATCH_TEXT   CLI_STR(CL_LIM_ITEM_BATCH)
#define SATISFACTION_TEXT CLI_STR(CL_LIM_SATISFACTION)

/* ---- rows --------------------------------------------------------------------------- */

static int opt_date(const char *what, const char *opt, const char *v) {
    if (!v || cli_date_ok(v)) return 0;
    cli_errorf("%s: invalid %s '%s': give a date as YYYY-MM-DD", what, opt, v);
    return -1;
}

/* Checks that every non-NULL text is UTF-8. */
static int texts_ok(const char *what, const char *const *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i] && cli_utf8_arg_ok(what, v[i]) < 0) return -1;
    return 0;
}

/* ---- offline ------------------------------------------------------------------------ */

/* Says why an entry could not be queued and returns the exit code: the unreachable
 * server's (4) unless --offline asked for the outbox (then 1). */
static int queue_failed(cl_mirror_t *m, int forced) {
    cli_errorf("cannot queue it offline: %s", cl_mirror_error(m));
    return forced ? CLI_EXIT_FAIL : CLI_EXIT_UNREACHABLE;
}

/* Queues items (a batch) or a handover form (f) in the outbox of the mirror; says so on
 * stderr. username: the session's when known, else NULL (offline). Returns the exit code. */
static int queue_entry(const cli_settings_t *s, const char *mirror, const char *username,
                       int forced, const Closeloop__ItemBatch *b, const Closeloop__HandoverForm *f,
                       const char *what) {
    cl_mirror_t *m = NULL;
    int rc = cli_mirror_open(s, mirror, username, &m);
    if (rc != CLI_EXIT_OK) return forced ? rc : CLI_EXIT_UNREACHABLE;
    int64_t id = 0;
    int lrc = b ? cl_outbox_add_items(m, b, what, &id) : cl_outbox_add_handover(m, f, what, &id);
    rc = lrc == CL_OK ? CLI_EXIT_OK : queue_failed(m, forced);
    if (lrc == CL_OK) cli_outbox_said(id, what);
    cl_mirror_close(m);
    return rc;
}

/* ---- round -------------------------------------------------------------------------- */

static const char *const round_cols[] = {"id",          "project_id", "kind",   "planned_start",
                                         "planned_end", "department", "status", "warnings"};

static int round_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Round *x = (const Closeloop__Round *)m;
    cli_row_t r = {0};
    size_t len = 1;
    for (size_t i = 0; i < x->n_warnings; i++)
        len += strlen(cli_str(x->warnings[i])) + 2;
    char *w = malloc(len);
    if (!w) return CL_ENOMEM;
    w[0] = '\0';
    for (size_t i = 0; i < x->n_warnings; i++)
        snprintf(w + strlen(w), len - strlen(w), "%s%s", i ? "; " : "", cli_str(x->warnings[i]));
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_row_num(&r, 1, x->project_id);
    r.cell[2] = cli_enum_name(CL_DOM_ROUND_KIND, x->kind);
    r.cell[3] = cli_str(x->planned_start);
    r.cell[4] = cli_str(x->planned_end);
    r.cell[5] = cli_str(x->department);
    r.cell[6] = cli_enum_name(CL_DOM_ROUND_STATUS, x->status);
    r.cell[7] = r.owned = w;
    return cli_row_add(t, &r);
}

static int round_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    const Closeloop__Round *x = (const Closeloop__Round *)m;
    for (size_t i = 0; i < x->n_warnings; i++)
        fprintf(stderr, "warning: %s\n", cli_str(x->warnings[i]));
    return cli_record_print(s, cli_new_table(8, round_cols, 0x3), round_add_row, m);
}

static int round_add(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *kind = NULL, *start = NULL, *end = NULL, *dept = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project}, {"--kind", &kind},
                                 {"--start", &start},     {"--end", &end},
                                 {"--department", &dept}, {NULL, NULL}};
    int npos, k;
    const char *w = "round add";
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__RoundCreate req = CLOSELOOP__ROUND_CREATE__INIT;
    if (cli_need_id(w, "--project", project, &req.project_id) < 0 ||
        cli_opt_enum(w, "--kind", kind, CL_DOM_ROUND_KIND, &k) < 0 ||
        opt_date(w, "--start", start) < 0 || opt_date(w, "--end", end) < 0 ||
        (dept && cli_utf8_arg_ok(w, dept) < 0))
        return CLI_EXIT_USAGE;
    if (start && end && strcmp(start, end) > 0) {
        cli_errorf("round add: --end %s is before --start %s", end, start);
        return CLI_EXIT_USAGE;
    }
    char key[37];
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    req.idempotency_key = key;
    req.kind = (Closeloop__RoundKind)k;
    if (start) req.planned_start = (char *)start;
    if (end) req.planned_end = (char *)end;
    if (dept) req.department = (char *)dept;
    return cli_call_show(s, CL_MSG_ROUND_CREATE_REQ, &req.base, CL_MSG_ROUND, round_show);
}

static int round_list(const cli_settings_t *s, int argc, char **argv) {
    Closeloop__RoundListRequest req = CLOSELOOP__ROUND_LIST_REQUEST__INIT;
    if (cli_args_project("round list", argc, argv, &req.project_id) < 0) return CLI_EXIT_USAGE;
    return cli_list_print(s, cli_new_table(8, round_cols, 0x3), CL_MSG_ROUND_LIST_REQ, &req.base,
                          CL_MSG_ROUND_PAGE, round_add_row);
}

static const cli_verb_t round_verbs[] = {
    {"add",
     "cloop round add --project ID --kind KIND [--start YYYY-MM-DD] [--end YYYY-MM-DD] "
     "[--department NAME]",
     "Plans an inspection round of a project. KIND is one of\n"
     "{round_kind:22}"
     "--start and --end are the planned dates, --department the organising department.\n"
     "Prints the round: id, project_id, kind, planned_start, planned_end, department,\n"
     "status, warnings. The server warns (on standard error, 'warning: ...') when the\n"
     "plan is later than the deadlines counted back from the move-in date allow.\n"
     "\n"
     "example: cloop round add --project 1 --kind mock1 --start 2027-01-05 --end 2027-01-20 "
     "--department 工程部\n",
     round_add},
    {"list", "cloop round list --project ID",
     "Lists a project's inspection rounds.\n"
     "\n"
     "example: cloop round list --project 1 --format csv\n",
     round_list},
};

const cli_group_t cmd_round_group = {
    "round",
    "Inspection rounds of a project: mock inspections, handover day "
    "and the later checks.",
    round_verbs, CLI_NVERBS(round_verbs)};

/* ---- inspect record ----------------------------------------------------------------- */

static const char *const ticket_cols[] = {"id",         "number",   "state",   "contractor_id",
                                          "contractor", "deadline", "recorded"};
#define MANUAL_DISPATCH_NOTE "dispatch: no contractor for this trade — manual dispatch"

static int record_show(const cli_settings_t *s, const Closeloop__ItemBatchResult *r,
                       const char *item_id) {
    cli_table_t *t = cli_new_table(7, ticket_cols, 0x2);
    if (!t) return CLI_EXIT_FAIL;
    const char *recorded = r->inserted ? "inserted" : "unchanged";
    int rc = CL_OK;
    for (size_t i = 0; i < r->n_tickets && rc == CL_OK; i++) {
        const Closeloop__Ticket *x = r->tickets[i];
        cli_row_t w = {0};
        w.cell[0] = cli_str(x->id);
        w.cell[1] = cli_row_ref(&w, 1, x->number);
        w.cell[2] = cli_enum_name(CL_DOM_TICKET_STATE, x->state);
        w.cell[3] = cli_row_ref(&w, 3, x->contractor_id);
        w.cell[4] = cli_str(x->contractor_name);
        w.cell[5] = cli_str(x->deadline);
        w.cell[6] = recorded;
        if (x->state == CLOSELOOP__TICKET_STATE__TICKET_DISPATCH)
            fprintf(stderr, "%s\n", MANUAL_DISPATCH_NOTE);
        rc = cli_table_add(t, w.cell);
    }
    if (r->n_tickets == 0) {
        const char *cells[7] = {item_id, "", "", "", "", "", recorded};
        rc = cli_table_add(t, cells);
    }
    int ex = rc == CL_OK ? cli_print_table(s, t) : CLI_EXIT_FAIL;
    cli_table_free(t);
    return ex;
}

static int inspect_record(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "inspect record";
    const char *project = NULL, *unit = NULL, *round = NULL, *date = NULL, *inspector = NULL,
               *location = NULL, *category = NULL, *severity = NULL, *again = NULL, *item_id = NULL,
               *mirror = NULL, *pos[1];
    int offline = cli_take_flag(&argc, argv, "--offline");
    const char *photo_path[CL_LIM_ITEM_PHOTOS];
    size_t nphotos = 0;
    /* --photo repeats: take those out first, the rest goes through cli_parse_args. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    if (!rest) {
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int m = strcmp(argv[i], "--") == 0 ? 0 : cli_opt_value(argc, argv, &i, NULL, "--photo", &v);
        if (m < 0) {
            free(rest);
            return CLI_EXIT_USAGE;
        }
        if (m == 0) {
            if (strcmp(argv[i], "--") == 0)
                while (i < argc)
                    rest[nrest++] = argv[i++];
            else
                rest[nrest++] = argv[i];
            continue;
        }
        if (nphotos == CL_LIM_ITEM_PHOTOS) {
            free(rest);
            cli_errorf("%s: at most %d --photo", w, CL_LIM_ITEM_PHOTOS);
            return CLI_EXIT_USAGE;
        }
        photo_path[nphotos++] = v;
    }
    const cli_optdef_t defs[] = {
        {"--project", &project},   {"--unit", &unit},           {"--round", &round},
        {"--date", &date},         {"--inspector", &inspector}, {"--location", &location},
        {"--category", &category}, {"--severity", &severity},   {"--found-again", &again},
        {"--item-id", &item_id},   {"--mirror", &mirror},       {NULL, NULL}};
    int npos, rk, sv;
    int prc = cli_parse_args(w, nrest, rest, defs, pos, 1, &npos);
    free(rest);
    if (prc < 0) return CLI_EXIT_USAGE;
    Closeloop__Item it = CLOSELOOP__ITEM__INIT;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("%s: give the DESCRIPTION of the problem; see 'cloop %s --help'", w, w);
        return CLI_EXIT_USAGE;
    }
    const char *texts[] = {unit, inspector, location, pos[0]};
    if (cli_need_id(w, "--project", project, &it.project_id) < 0 ||
        cli_need(w, "--unit", unit) < 0 || cli_need(w, "--date", date) < 0 ||
        opt_date(w, "--date", date) < 0 || cli_need(w, "--location", location) < 0 ||
        cli_need(w, "--category", category) < 0 ||
        cli_opt_enum(w, "--round", round, CL_DOM_ROUND_KIND, &rk) < 0 ||
        cli_opt_enum(w, "--severity", severity, CL_DOM_SEVERITY, &sv) < 0 ||
        texts_ok(w, texts, 4) < 0)
        return CLI_EXIT_USAGE;
    if (cli_utf8_arg_ok(w, category) < 0) return CLI_EXIT_USAGE;
    if ((again && !cli_uuid_ok(again)) || (item_id && !cli_uuid_ok(item_id))) {
        cli_errorf("%s: '%s' is not a UUID", w, again && !cli_uuid_ok(again) ? again : item_id);
        return CLI_EXIT_USAGE;
    }
    char id[37];
    if (item_id)
        snprintf(id, sizeof id, "%s", item_id);
    else if (cli_new_key(id) < 0)
        return CLI_EXIT_FAIL;
    it.item_id = id;
    it.unit = (char *)unit;
    it.round = (Closeloop__RoundKind)rk;
    it.inspected_on = (char *)date;
    if (inspector) it.inspector = (char *)inspector;
    it.location = (char *)location;
    it.category = (char *)category;
    it.description = (char *)pos[0];
    it.severity = (Closeloop__Severity)sv;
    if (again) it.found_again_of = (char *)again;

    Closeloop__Photo photos[CL_LIM_ITEM_PHOTOS];
    Closeloop__Photo *photop[CL_LIM_ITEM_PHOTOS];
    int rc = CLI_EXIT_OK;
    size_t loaded = 0;
    for (; loaded < nphotos; loaded++) {
        closeloop__photo__init(&photos[loaded]);
        photop[loaded] = &photos[loaded];
        if (cli_read_photo(photo_path[loaded], &photos[loaded]) < 0) {
            rc = CLI_EXIT_USAGE;
            break;
        }
    }
    if (rc == CLI_EXIT_OK) {
        it.n_photos = nphotos;
        it.photos = photop;
        Closeloop__Item *items[1] = {&it};
        Closeloop__ItemBatch req = CLOSELOOP__ITEM_BATCH__INIT;
        req.n_items = 1;
        req.items = items;
        char what[300];
        snprintf(what, sizeof what, "inspect record %s %s: %.200s", unit, location, pos[0]);
        cli_session_t ss;
        memset(&ss, 0, sizeof ss);
        rc = offline ? CLI_EXIT_UNREACHABLE : cli_session_open(s, &ss);
        if (rc == CLI_EXIT_UNREACHABLE) {
            rc = queue_entry(s, mirror, NULL, offline, &req, NULL, what);
            goto photos;
        }
        uint32_t max_frame = 0;
        size_t size = protobuf_c_message_get_packed_size(&req.base);
        int crc = rc == CLI_EXIT_OK ? cli_session_max_frame(&ss, &max_frame) : CL_OK;
        if (rc == CLI_EXIT_OK && crc == CL_OK && size > max_frame) {
            /* never a frame the server would refuse by closing the connection */
            cli_errorf("%s: the item with its photos is %zu bytes, more than the server "
                       "accepts in one request (%" PRIu32 " bytes); attach fewer photos",
                       w, size, max_frame);
            rc = CLI_EXIT_FAIL;
            cli_session_close(&ss);
        } else if (rc == CLI_EXIT_OK && crc != CL_OK) {
            rc = cli_session_fail(&ss, crc);
            cli_session_close(&ss);
        } else if (rc == CLI_EXIT_OK) {
            ProtobufCMessage *m = NULL;
            crc = cli_session_call(&ss, CL_MSG_ITEM_RECORD_REQ, &req.base, CL_MSG_ITEM_BATCH_RESULT,
                                   &m);
            if (crc != CL_OK && cli_outbox_unreachable(crc)) {
                /* The connection was lost before the reply: the item's id is its key. */
                cli_errorf("%s", cl_client_error(ss.c));
                rc = queue_entry(s, mirror, ss.me ? ss.me->username : NULL, 0, &req, NULL, what);
            } else if (crc != CL_OK) {
                rc = cli_session_fail(&ss, crc);
            } else {
                const Closeloop__ItemBatchResult *r = (const Closeloop__ItemBatchResult *)m;
                if (!r->applied) {
                    for (size_t i = 0; i < r->n_errors; i++)
                        cli_errorf("%s", cli_str(r->errors[i]->message));
                    if (r->n_errors == 0) cli_errorf("the server rejected the item");
                    rc = CLI_EXIT_FAIL;
                } else {
                    for (size_t i = 0; i < r->n_warnings; i++)
                        fprintf(stderr, "warning: %s\n", cli_str(r->warnings[i]->message));
                    for (size_t i = 0; i < r->n_duplicates; i++) {
                        char msg[200];
                        cli_duplicate_text(r->duplicates[i], msg, sizeof msg);
                        fprintf(stderr, "warning: %s\n", msg);
                    }
                    if (r->duplicates_flagged)
                        fprintf(stderr,
                                "可能重复 %" PRIu32 " 条 (duplicates flagged: %" PRIu32 ")\n",
                                r->duplicates_flagged, r->duplicates_flagged);
                    rc = record_show(s, r, id);
                }
            }
            cl_msg_free(m);
            cli_session_close(&ss);
        }
    }
photos:
    for (size_t i = 0; i < loaded && i < nphotos; i++)
        free(photos[i].data.data);
    return rc;
}

/* ---- inspect import ----------------------------------------------------------------- */

enum {
    C_PROJECT,
    C_UNIT,
    C_ROUND,
    C_DATE,
    C_INSPECTOR,
    C_LOCATION,
    C_CATEGORY,
    C_DESCRIPTION,
    C_SEVERITY,
    C_ITEM_ID,
    C_FOUND_AGAIN,
    C_CASE_CODE,
    NCOLS
};
static const char *const col_names[NCOLS] = {
    "project",  "unit",        "round",    "inspected_on", "inspector",      "location",
    "category", "description", "severity", "item_id",      "found_again_of", "case_code"};
static const int col_required[NCOLS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
/* Columns whose value may not be empty. */
static const int col_nonempty[NCOLS] = {1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0};

/* A project the session can see, for resolving names in the project column. */
typedef struct proj {
    char *name;
    int64_t id;
} proj_t;

/* Occurrences of one row content (its cl_item_content_key) seen so far in the file. */
typedef struct seen {
    uint8_t key[CL_SHA256_LEN];
    uint32_t count; /* 0: empty slot */
} seen_t;

typedef struct import {
    csv_import_t base; /* first: the callbacks cast back */

    Closeloop__Item *items; /* chunk_rows slots, nitems filled (good rows) */
    Closeloop__Item **itemp;
    char (*ids)[48]; /* per slot: item id, then inspected_on */
    size_t nitems;

    proj_t *projects; /* loaded on the first project name */
    size_t nprojects;
    int projects_loaded;

    seen_t *seen; /* open addressing, seen_cap a power of two */
    size_t seen_cap, seen_n;

    /* offline: chunks go to the outbox of the mirror */
    int offline;         /* the server could not be reached (or --offline) */
    int forced;          /* --offline */
    const char *mirror;  /* --mirror */
    char username[128];  /* the session's user, "" when never connected */
    cl_mirror_t *m;      /* opened on the first queued chunk */
    int64_t first_entry; /* outbox ids of the queued chunks */
    int64_t last_entry;
    uint64_t queued; /* items queued */
} import_t;

/* The counts of the summary (base.counts), after rows_read. */
enum { K_INSERTED, K_UNCHANGED, K_DISPATCHED, K_MANUAL, K_DUPLICATES, NKEYS };
static const char *const summary_keys[NKEYS] = {"inserted", "unchanged", "dispatched",
                                                "manual_dispatch", "duplicates_flagged"};
_Static_assert(NCOLS <= CSV_IMPORT_MAX_COLS && NKEYS <= CSV_IMPORT_MAX_SUMMARY,
               "csv_import.h limits");

static const size_t item_strings[] = {
    offsetof(Closeloop__Item, unit),        offsetof(Closeloop__Item, inspector),
    offsetof(Closeloop__Item, location),    offsetof(Closeloop__Item, category),
    offsetof(Closeloop__Item, description), offsetof(Closeloop__Item, found_again_of),
    offsetof(Closeloop__Item, case_code)};

static void item_reset(csv_import_t *base) {
    import_t *im = (import_t *)base;
    csv_import_rows_free(im->items, im->nitems, sizeof *im->items, item_strings,
                         sizeof item_strings / sizeof item_strings[0]);
    im->nitems = 0;
}

static int item_prepare(csv_import_t *base) {
    import_t *im = (import_t *)base;
    im->items = calloc(base->chunk_rows, sizeof *im->items);
    im->itemp = calloc(base->chunk_rows, sizeof *im->itemp);
    im->ids = calloc(base->chunk_rows, sizeof *im->ids);
    return im->items && im->itemp && im->ids ? 0 : -1;
}

/* Queues rows [first, first + n) of the chunk in the outbox; *m a reply as the server's
 * would be for an applied chunk (its counts are the server's to give: 0). */
static int item_queue(import_t *im, Closeloop__ItemBatch *req, ProtobufCMessage **m) {
    if (req->check_only) {
        /* Nothing checks a chunk offline: one with a bad row is kept back whole. */
        snprintf(im->base.why, sizeof im->base.why,
                 "offline, a chunk with a bad row is not queued: fix the line and import again");
        Closeloop__ItemBatchResult *r = calloc(1, sizeof *r);
        if (!r) return CL_ENOMEM;
        closeloop__item_batch_result__init(r);
        *m = &r->base;
        return CL_OK;
    }
    if (!im->m) {
        int rc =
            cli_mirror_open(im->base.s, im->mirror, im->username[0] ? im->username : NULL, &im->m);
        if (rc != CLI_EXIT_OK) return im->forced ? CL_EINVAL : CL_EUNAVAIL;
    }
    char what[300];
    snprintf(what, sizeof what, "inspect import %s lines %" PRIu32 "-%" PRIu32 " (%zu items)",
             im->base.file, req->items[0]->line, req->items[req->n_items - 1]->line, req->n_items);
    int64_t id = 0;
    if (cl_outbox_add_items(im->m, req, what, &id) != CL_OK) {
        csv_import_fatal(&im->base, "cannot queue offline: %s", cl_mirror_error(im->m));
        return CL_EIO;
    }
    if (!im->first_entry) im->first_entry = id;
    im->last_entry = id;
    im->queued += req->n_items;
    Closeloop__ItemBatchResult *r = calloc(1, sizeof *r);
    if (!r) return CL_ENOMEM;
    closeloop__item_batch_result__init(r);
    r->applied = 1;
    *m = &r->base;
    return CL_OK;
}

static int item_send(csv_import_t *base, size_t first, size_t n, int check_only,
                     ProtobufCMessage **m) {
    import_t *im = (import_t *)base;
    Closeloop__ItemBatch req = CLOSELOOP__ITEM_BATCH__INIT;
    req.n_items = n;
    req.items = im->itemp + first;
    req.check_only = check_only;
    if (im->offline) return item_queue(im, &req, m);
    int rc = csv_import_call(base, CL_MSG_ITEM_RECORD_REQ, &req.base, CL_MSG_ITEM_BATCH_RESULT, m);
    if (rc == CL_OK || !cli_outbox_unreachable(rc)) return rc;
    /* The connection is lost: this chunk and the rest go to the outbox (the item ids make
     * a chunk the server applied before the drop safe to send again). */
    cl_msg_free(*m);
    *m = NULL;
    cli_errorf("%s; the rest of the file goes to the outbox", cl_client_error(base->ss->c));
    if (base->ss->me) snprintf(im->username, sizeof im->username, "%s", base->ss->me->username);
    im->offline = 1;
    return item_queue(im, &req, m);
}

static int on_project_page(void *arg, const ProtobufCMessage *page) {
    import_t *im = arg;
    const Closeloop__ProjectPage *p = (const Closeloop__ProjectPage *)page;
    proj_t *np = realloc(im->projects, (im->nprojects + p->n_items + 1) * sizeof *np);
    if (!np) return CL_ENOMEM;
    im->projects = np;
    for (size_t i = 0; i < p->n_items; i++) {
        char *name = strdup(cli_str(p->items[i]->name));
        if (!name) return CL_ENOMEM;
        im->projects[im->nprojects].name = name;
        im->projects[im->nprojects++].id = cli_meta_id(p->items[i]->meta);
    }
    return CL_OK;
}

/* The project of a project cell: an id, or a name looked up once per import. Returns
 * the id, 0 after a row error, -1 after a fatal one. */
static int64_t resolve_project(import_t *im, uint32_t line, const char *p, size_t len) {
    char buf[400];
    if (len >= sizeof buf) {
        csv_import_row_error(&im->base, line, "project name too long");
        return 0;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    uint64_t id;
    if (cli_parse_u64(buf, 1, INT64_MAX, &id) == CL_OK) return (int64_t)id;
    if (im->offline && !im->projects_loaded) {
        /* Offline: the projects of the mirror. */
        im->projects_loaded = 1;
        if (!im->m && cli_mirror_open(im->base.s, im->mirror, im->username[0] ? im->username : NULL,
                                      &im->m) != CLI_EXIT_OK) {
            csv_import_fatal(&im->base, "cannot resolve project names offline without a mirror");
            return -1;
        }
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(cl_mirror_db(im->m), "SELECT id, name FROM projects", -1, &st,
                               NULL) != SQLITE_OK) {
            csv_import_fatal(&im->base, "mirror: %s", sqlite3_errmsg(cl_mirror_db(im->m)));
            return -1;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            proj_t *np = realloc(im->projects, (im->nprojects + 1) * sizeof *np);
            char *name =
                strdup(sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
            if (np) im->projects = np;
            if (!np || !name) {
                free(name);
                sqlite3_finalize(st);
                csv_import_fatal(&im->base, "out of memory");
                return -1;
            }
            im->projects = np;
            im->projects[im->nprojects].name = name;
            im->projects[im->nprojects++].id = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
    if (!im->projects_loaded) {
        im->projects_loaded = 1;
        Closeloop__ProjectListRequest req = CLOSELOOP__PROJECT_LIST_REQUEST__INIT;
        int rc = cli_session_stream(im->base.ss, CL_MSG_PROJECT_LIST_REQ, &req.base,
                                    CL_MSG_PROJECT_PAGE, on_project_page, im);
        if (rc != CL_OK) {
            csv_import_fail_session(&im->base, rc);
            return -1;
        }
    }
    int64_t found = 0;
    int matches = 0;
    for (size_t i = 0; i < im->nprojects; i++)
        if (strcmp(im->projects[i].name, buf) == 0) found = im->projects[i].id, matches++;
    if (matches == 1) return found;
    if (matches == 0)
        csv_import_row_error(&im->base, line,
                             "unknown project '%s' (not a project id or a name you can see)", buf);
    else
        csv_import_row_error(&im->base, line, "project name '%s' matches %d projects; give its id",
                             buf, matches);
    return 0;
}

/* The occurrence index (0, 1, ...) of a row content among the rows seen so far. */
static int seen_count(import_t *im, const uint8_t key[CL_SHA256_LEN], uint32_t *idx) {
    if (im->seen_n * 2 >= im->seen_cap) {
        size_t cap = im->seen_cap ? im->seen_cap * 2 : 1024;
        seen_t *t = calloc(cap, sizeof *t);
        if (!t) return -1;
        for (size_t i = 0; i < im->seen_cap; i++) {
            if (!im->seen[i].count) continue;
            uint64_t h;
            memcpy(&h, im->seen[i].key, sizeof h);
            size_t j = (size_t)h & (cap - 1);
            while (t[j].count)
                j = (j + 1) & (cap - 1);
            t[j] = im->seen[i];
        }
        free(im->seen);
        im->seen = t;
        im->seen_cap = cap;
    }
    uint64_t h;
    memcpy(&h, key, sizeof h);
    size_t j = (size_t)h & (im->seen_cap - 1);
    while (im->seen[j].count && memcmp(im->seen[j].key, key, CL_SHA256_LEN) != 0)
        j = (j + 1) & (im->seen_cap - 1);
    if (!im->seen[j].count) {
        memcpy(im->seen[j].key, key, CL_SHA256_LEN);
        im->seen_n++;
    }
    *idx = im->seen[j].count++;
    return 0;
}

/* The derived item id of a row without item_id (the rule is in common/item_id.h); the
 * occurrence index counts the earlier rows of the same content in this file. */
static int item_uuid(import_t *im, const cl_item_content_t *c, char out[CL_ITEM_ID_LEN + 1]) {
    uint8_t key[CL_SHA256_LEN];
    uint32_t idx = 0;
    if (cl_item_content_key(c, key) != CL_OK || seen_count(im, key, &idx) < 0) return -1;
    return cl_item_id_derive(c, idx, out) == CL_OK ? 0 : -1;
}

/* At most 40 bytes of v[0..len) for a message, not cutting a UTF-8 sequence. */
static int clip(const char *v, size_t len) {
    if (len <= 40) return (int)len;
    size_t n = 40;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static void item_row(csv_import_t *base, uint32_t line) {
    import_t *im = (import_t *)base;
    if (!csv_import_row_ok(base)) return;
    size_t len;
    const char *v = csv_import_cell(base, C_ROUND, &len);
    char accepted[512];
    int rk = cl_domain_parse_label_n(CL_DOM_ROUND_KIND, v, len);
    if (!rk) {
        cl_domain_accepted(CL_DOM_ROUND_KIND, true, accepted, sizeof accepted);
        csv_import_row_error(base, line, "unknown round '%.*s' (use %s)", clip(v, len), v,
                             accepted);
    }
    v = csv_import_cell(base, C_SEVERITY, &len);
    int sv = cl_domain_parse_label_n(CL_DOM_SEVERITY, v, len);
    if (!sv) {
        cl_domain_accepted(CL_DOM_SEVERITY, true, accepted, sizeof accepted);
        csv_import_row_error(base, line, "unknown severity '%.*s' (use %s)", clip(v, len), v,
                             accepted);
    }
    char date[11] = "";
    v = csv_import_cell(base, C_DATE, &len);
    if (len == 10) memcpy(date, v, 10);
    if (!cli_date_ok(date))
        csv_import_row_error(base, line, "invalid inspected_on '%.*s': give a date as YYYY-MM-DD",
                             clip(v, len), v);
    /* The category (a trade's code, Chinese name or an alias of the project) is resolved
     * by the server, which lists what the project accepts when it names no trade. */
    char given_id[37] = "", again[37] = "";
    v = csv_import_cell(base, C_ITEM_ID, &len);
    if (len == 36) memcpy(given_id, v, 36);
    if (len && !cli_uuid_ok(given_id))
        csv_import_row_error(base, line, "item_id '%.*s' is not a UUID", clip(v, len), v);
    v = csv_import_cell(base, C_FOUND_AGAIN, &len);
    if (len == 36) memcpy(again, v, 36);
    if (len && !cli_uuid_ok(again))
        csv_import_row_error(base, line, "found_again_of '%.*s' is not a UUID", clip(v, len), v);
    v = csv_import_cell(base, C_PROJECT, &len);
    int64_t project = resolve_project(im, line, v, len);
    if (project < 0 || base->stop || !csv_import_row_ok(base)) return;

    Closeloop__Item *it = &im->items[im->nitems];
    closeloop__item__init(it);
    it->unit = it->inspector = it->location = it->category = it->description = csv_import_empty;
    it->found_again_of = it->case_code = csv_import_empty;
    it->project_id = project;
    it->round = (Closeloop__RoundKind)rk;
    it->severity = (Closeloop__Severity)sv;
    it->line = line;
    char **dst[NCOLS] = {NULL};
    dst[C_UNIT] = &it->unit;
    dst[C_INSPECTOR] = &it->inspector;
    dst[C_LOCATION] = &it->location;
    dst[C_CATEGORY] = &it->category;
    dst[C_DESCRIPTION] = &it->description;
    dst[C_FOUND_AGAIN] = &it->found_again_of;
    dst[C_CASE_CODE] = &it->case_code;
    int oom = 0;
    for (int c = 0; c < NCOLS; c++)
        if (dst[c] && !(*dst[c] = csv_import_cell_dup(base, c))) {
            *dst[c] = csv_import_empty;
            oom = 1;
        }
    /* The slot's id buffer holds the item id (37 bytes), then inspected_on (11). */
    char *id = im->ids[im->nitems];
    it->inspected_on = id + 37;
    memcpy(it->inspected_on, date, 11);
    it->item_id = id;
    id[0] = '\0';
    im->itemp[im->nitems++] = it;
    if (oom) {
        csv_import_fatal(base, "out of memory");
        return;
    }
    if (given_id[0]) {
        memcpy(id, given_id, 37);
    } else {
        const cl_item_content_t content = {project,
                                           it->unit,
                                           cl_round_kind_name((Closeloop__RoundKind)rk),
                                           date,
                                           it->location,
                                           it->category,
                                           it->description,
                                           cl_severity_name((Closeloop__Severity)sv)};
        if (item_uuid(im, &content, id) < 0) {
            csv_import_fatal(base, "cannot compute an item id (SHA-256 failed)");
            return;
        }
    }
}

static const csv_import_spec_t item_spec = {
    .label = "inspect import",
    .done_word = "recorded",
    .progress_at_once = 1,
    .trim = 1,
    CSV_IMPORT_TABLES,
    CSV_IMPORT_OPS(item),
};

/* The import of im->base.file: online through csv_import_run's steps, or offline (asked,
 * the server cannot be reached, or it is lost midway) into the outbox. */
static int import_run(import_t *im) {
    csv_import_t *b = &im->base;
    int is_stdin = strcmp(b->file, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(b->file, "rb");
    if (!fp) {
        cli_errorf("cannot open %s: %s", b->file, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (is_stdin) b->file = "<stdin>";
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) b->size = st.st_size;
    cli_session_t ss;
    memset(&ss, 0, sizeof ss);
    int rc = im->offline ? CLI_EXIT_UNREACHABLE : cli_session_open(b->s, &ss);
    if (rc == CLI_EXIT_UNREACHABLE && b->check) {
        cli_errorf("%s: --check needs the server", b->file);
    } else if (rc == CLI_EXIT_UNREACHABLE) {
        im->offline = 1;
        rc = csv_import_stream(b, fp);
    } else if (rc == CLI_EXIT_OK) {
        b->ss = &ss;
        int crc = cli_session_max_frame(&ss, &b->max_frame);
        rc = crc == CL_OK ? csv_import_stream(b, fp) : cli_session_fail(&ss, crc);
    }
    cli_session_close(&ss);
    b->ss = NULL;
    if (!is_stdin) fclose(fp);
    if (im->queued)
        fprintf(stderr,
                "cloop: 已存入离线待发队列 outbox #%" PRId64 "-#%" PRId64 "：%" PRIu64
                " 条检查记录 (%" PRIu64 " items queued offline; sent by 'cloop outbox push' or "
                "'cloop sync')\n",
                im->first_entry, im->last_entry, im->queued, im->queued);
    cl_mirror_close(im->m);
    im->m = NULL;
    return rc;
}

static int inspect_import(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "inspect import", *chunk = NULL, *mirror = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--chunk", &chunk}, {"--mirror", &mirror}, {NULL, NULL}};
    int npos, check = 0;
    int offline = cli_take_flag(&argc, argv, "--offline");
    /* --check takes no value: taken out before the options that do. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    if (!rest) return CLI_EXIT_FAIL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                rest[nrest++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--check") == 0)
            check = 1;
        else
            rest[nrest++] = argv[i];
    }
    int prc = cli_parse_args(w, nrest, rest, defs, pos, 1, &npos);
    free(rest);
    if (prc < 0) return CLI_EXIT_USAGE;
    if (npos != 1) {
        cli_errorf("%s: which FILE.csv? see 'cloop %s --help'", w, w);
        return CLI_EXIT_USAGE;
    }
    uint64_t n = IMPORT_DEF_CHUNK;
    if (chunk && cli_parse_u64(chunk, 1, CL_LIM_ITEM_BATCH, &n) != CL_OK) {
        cli_errorf("%s: invalid --chunk '%s': give 1 to %d items", w, chunk, CL_LIM_ITEM_BATCH);
        return CLI_EXIT_USAGE;
    }
    import_t im;
    memset(&im, 0, sizeof im);
    im.base.spec = &item_spec;
    im.base.s = s;
    im.base.file = pos[0];
    im.base.chunk_rows = (size_t)n;
    im.base.check = check;
    im.offline = im.forced = offline;
    im.mirror = mirror;
    int rc = import_run(&im);
    free(im.items);
    free(im.itemp);
    free(im.ids);
    free(im.seen);
    for (size_t i = 0; i < im.nprojects; i++)
        free(im.projects[i].name);
    free(im.projects);
    return rc;
}

/* ---- inspect handover --------------------------------------------------------------- */

static const char *const record_cols[] = {
    "id",      "project_id",       "unit",         "round", "inspected_on", "inspector",
    "outcome", "not_taken_reason", "keys",         "water", "power",        "gas",
    "signoff", "refusal_reason",   "satisfaction", "items"};

static int record_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__InspectionRecord *x = (const Closeloop__InspectionRecord *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_ref(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_row_num(&r, 1, x->project_id);
    r.cell[2] = cli_str(x->unit);
    r.cell[3] = cli_enum_name(CL_DOM_ROUND_KIND, x->round);
    r.cell[4] = cli_str(x->inspected_on);
    r.cell[5] = cli_str(x->inspector);
    r.cell[6] = cli_enum_name(CL_DOM_HANDOVER_OUTCOME, x->outcome);
    r.cell[7] = cli_str(x->not_taken_reason);
    r.cell[8] = cli_row_num(&r, 8, x->keys_handed);
    r.cell[9] = cli_str(x->water_reading);
    r.cell[10] = cli_str(x->power_reading);
    r.cell[11] = cli_str(x->gas_reading);
    r.cell[12] = cli_enum_name(CL_DOM_SIGNOFF, x->signoff);
    r.cell[13] = cli_str(x->refusal_reason);
    r.cell[14] = cli_row_ref(&r, 14, x->satisfaction);
    r.cell[15] = cli_row_num(&r, 15, x->items);
    return cli_row_add(t, &r);
}

static int record_row_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    return cli_record_print(
        s, cli_new_table(16, record_cols, 0x3 | (1u << 8) | (1u << 14) | (1u << 15)),
        record_add_row, m);
}

static int inspect_handover(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "inspect handover";
    const char *project = NULL, *unit = NULL, *date = NULL, *inspector = NULL, *outcome = NULL,
               *reason = NULL, *keys = NULL, *water = NULL, *power = NULL, *gas = NULL,
               *signoff = NULL, *refusal = NULL, *satisfaction = NULL, *mirror = NULL, *pos[1];
    int offline = cli_take_flag(&argc, argv, "--offline");
    const cli_optdef_t defs[] = {{"--project", &project},
                                 {"--unit", &unit},
                                 {"--date", &date},
                                 {"--inspector", &inspector},
                                 {"--outcome", &outcome},
                                 {"--reason", &reason},
                                 {"--keys", &keys},
                                 {"--water", &water},
                                 {"--power", &power},
                                 {"--gas", &gas},
                                 {"--signoff", &signoff},
                                 {"--refusal", &refusal},
                                 {"--satisfaction", &satisfaction},
                                 {"--mirror", &mirror},
                                 {NULL, NULL}};
    int npos, oc, so = 0;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__HandoverForm f = CLOSELOOP__HANDOVER_FORM__INIT;
    const char *texts[] = {unit, inspector, reason, water, power, gas, refusal};
    if (cli_need_id(w, "--project", project, &f.project_id) < 0 ||
        cli_need(w, "--unit", unit) < 0 || cli_need(w, "--date", date) < 0 ||
        opt_date(w, "--date", date) < 0 ||
        cli_opt_enum(w, "--outcome", outcome, CL_DOM_HANDOVER_OUTCOME, &oc) < 0 ||
        (signoff && cli_opt_enum(w, "--signoff", signoff, CL_DOM_SIGNOFF, &so) < 0) ||
        cli_opt_uint(w, "--keys", keys, CL_LIM_KEYS_HANDED, &f.keys_handed) < 0 ||
        cli_opt_uint(w, "--satisfaction", satisfaction, CL_LIM_SATISFACTION, &f.satisfaction) < 0 ||
        texts_ok(w, texts, 7) < 0)
        return CLI_EXIT_USAGE;
    if (oc == CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER && !(reason && *reason)) {
        cli_errorf("%s: --outcome %s needs --reason (why the owner did not take the unit over)", w,
                   cl_outcome_name(CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER));
        return CLI_EXIT_USAGE;
    }
    if (so == CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED && !(refusal && *refusal)) {
        cli_errorf("%s: --signoff %s needs --refusal REASON", w,
                   cl_signoff_name(CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED));
        return CLI_EXIT_USAGE;
    }
    char key[37]; /* a resend of this form after a broken connection changes nothing twice */
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    f.idempotency_key = key;
    f.unit = (char *)unit;
    f.inspected_on = (char *)date;
    if (inspector) f.inspector = (char *)inspector;
    f.outcome = (Closeloop__HandoverOutcome)oc;
    if (reason) f.not_taken_reason = (char *)reason;
    if (water) f.water_reading = (char *)water;
    if (power) f.power_reading = (char *)power;
    if (gas) f.gas_reading = (char *)gas;
    f.signoff = (Closeloop__Signoff)so;
    if (refusal) f.refusal_reason = (char *)refusal;
    /* The key above serves the outbox too: a form the server applied before the
     * connection dropped is not applied twice when the entry is pushed. */
    char what[300];
    snprintf(what, sizeof what, "inspect handover %s %s: %s", unit, date,
             cl_outcome_name(f.outcome) ? cl_outcome_name(f.outcome) : "");
    cli_session_t ss;
    memset(&ss, 0, sizeof ss);
    int rc = offline ? CLI_EXIT_UNREACHABLE : cli_session_open(s, &ss);
    if (rc == CLI_EXIT_UNREACHABLE) return queue_entry(s, mirror, NULL, offline, NULL, &f, what);
    if (rc != CLI_EXIT_OK) return rc;
    ProtobufCMessage *m = NULL;
    int crc =
        cli_session_call(&ss, CL_MSG_HANDOVER_RECORD_REQ, &f.base, CL_MSG_INSPECTION_RECORD, &m);
    if (crc == CL_OK) {
        rc = record_row_show(s, m);
    } else if (cli_outbox_unreachable(crc)) {
        cli_errorf("%s", cl_client_error(ss.c));
        rc = queue_entry(s, mirror, ss.me ? ss.me->username : NULL, 0, NULL, &f, what);
    } else {
        rc = cli_session_fail(&ss, crc);
    }
    cl_msg_free(m);
    cli_session_close(&ss);
    return rc;
}

/* ---- inspect schedule --------------------------------------------------------------- */

typedef struct units {
    char **v;
    size_t n, cap;
} units_t;

static int units_push(units_t *u, const char *s, size_t len) {
    if (u->n == CL_LIM_SCHEDULE_UNITS) {
        cli_errorf("inspect schedule: more than %d units", CL_LIM_SCHEDULE_UNITS);
        return -1;
    }
    char **p = cl_grow(u->v, &u->cap, u->n + 1, sizeof *p, 64);
    if (!p) return -1;
    u->v = p;
    if (!(u->v[u->n] = strndup(s, len))) return -1;
    if (!cl_utf8_valid(u->v[u->n], len)) {
        cli_errorf("inspect schedule: unit '%s' is not valid UTF-8", u->v[u->n]);
        free(u->v[u->n]);
        return -1;
    }
    u->n++;
    return 0;
}

/* A line of a unit file: one unit number; trailing blanks and commas (a one-column
 * spreadsheet export) are dropped. */
static int unit_line(void *ctx, const char *path, unsigned lineno, char *p) {
    (void)path, (void)lineno;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == ','))
        len--;
    if (len == 0) return CLI_LINE_OK;
    return units_push(ctx, p, len) < 0 ? CLI_LINE_STOP : CLI_LINE_OK;
}

/* Prints what was scheduled: the server answers a schedule with Ok. */
static int schedule_show(const cli_settings_t *s, const char *date, size_t n) {
    static const char *const cols[] = {"date", "units_scheduled"};
    cli_table_t *t = cli_new_table(2, cols, 0x2);
    if (!t) return CLI_EXIT_FAIL;
    cli_row_t r = {0};
    r.cell[0] = date;
    r.cell[1] = cli_row_num(&r, 1, (int64_t)n);
    int rc = cli_table_add(t, r.cell) == CL_OK ? cli_print_table(s, t) : CLI_EXIT_FAIL;
    cli_table_free(t);
    return rc;
}

static int inspect_schedule(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "inspect schedule";
    const char *project = NULL, *date = NULL, *file = NULL;
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--date", &date}, {"--file", &file}, {NULL, NULL}};
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int npos;
    if (!pos) return CLI_EXIT_FAIL;
    Closeloop__HandoverSchedule req = CLOSELOOP__HANDOVER_SCHEDULE__INIT;
    units_t u = {0};
    int rc = CLI_EXIT_USAGE;
    if (cli_parse_args(w, argc, argv, defs, pos, argc, &npos) < 0 ||
        cli_need_id(w, "--project", project, &req.project_id) < 0 ||
        cli_need(w, "--date", date) < 0 || opt_date(w, "--date", date) < 0)
        goto out;
    if ((npos > 0) == (file != NULL)) {
        cli_errorf("%s: give the UNIT numbers, or --file FILE with one per line (not both)", w);
        goto out;
    }
    for (int i = 0; i < npos; i++)
        if (units_push(&u, pos[i], strlen(pos[i])) < 0) goto out;
    if (file && cli_each_list_line(file, unit_line, &u) < 0) goto out;
    if (u.n == 0) {
        cli_errorf("%s: no units to schedule", w);
        goto out;
    }
    req.date = (char *)date;
    req.n_units = u.n;
    req.units = u.v;
    cli_session_t ss;
    if ((rc = cli_session_open(s, &ss)) == CLI_EXIT_OK) {
        ProtobufCMessage *m = NULL;
        int crc = cli_session_call(&ss, CL_MSG_HANDOVER_SCHEDULE_REQ, &req.base, CL_MSG_OK, &m);
        rc = crc != CL_OK ? cli_session_fail(&ss, crc) : schedule_show(s, date, u.n);
        cl_msg_free(m);
        cli_session_close(&ss);
    }
out:
    for (size_t i = 0; i < u.n; i++)
        free(u.v[i]);
    free(u.v);
    free(pos);
    return rc;
}

#define OFFLINE_HELP                                                                                    \
    "When the server cannot be reached (or with --offline) the entry goes to the offline\n"             \
    "outbox of the mirror (--mirror PATH, $CLOSELOOP_MIRROR, else the one 'cloop sync'\n"               \
    "keeps) with its change to the mirror, 已存入离线待发队列 outbox #N is said on standard\n" \
    "error and cloop exits 0; 'cloop outbox push' or 'cloop sync' sends it later. A refusal\n"          \
    "by the server is never queued.\n"

_Static_assert(CL_LIM_PHOTO_BYTES == 2 * 1024 * 1024, "inspect record's help says 2 MiB");

static const cli_verb_t inspect_verbs[] = {
    {"record",
     "cloop inspect record --project ID --unit UNIT --round ROUND --date YYYY-MM-DD "
     "[--inspector NAME] --location ROOM --category TRADE --severity {severity|} "
     "[--photo FILE]... [--found-again ITEM_UUID] [--item-id UUID] [--offline] [--mirror PATH] "
     "DESCRIPTION",
     "Records one inspection item: a problem found in a unit in a round. ROUND is\n"
     "{round_kind};\n"
     "TRADE a trade code (waterproofing, civil, plumbing, doors_windows, electrical,\n"
     "fire ...), its Chinese name (防水, 土建, 给排水, 门窗, 电气 ...) or an alias of the\n"
     "project ('cloop trade aliases'); the server lists what it accepts when TRADE is\n"
     "none of them. A date outside the round's planned dates is said on standard error\n"
     "(warning: ...); the item is recorded. --photo attaches a JPEG or PNG of at most\n"
     "2 MiB (up to " ITEM_PHOTOS_TEXT "; a request larger than the server's frame limit is\n"
     "refused before it is sent)."
     "\n"
     "--found-again links the item to the same problem found in an earlier round. The\n"
     "item's id is --item-id or a fresh UUID; recording the same id again changes\n"
     "nothing. The server makes a repair ticket and dispatches it to the contractor of\n"
     "the trade; prints it: id, number, state, contractor_id, contractor, deadline,\n"
     "recorded (inserted or unchanged). A trade with no contractor is said on standard\n"
     "error:\n"
     "  " MANUAL_DISPATCH_NOTE "\n" OFFLINE_HELP "\n"
     "example: cloop inspect record --project 1 --unit 3-2-1701 --round handover --date "
     "2027-06-30 --location 卫生间 --category waterproofing --severity major --photo "
     "wc.jpg 卫生间地漏周边渗水\n",
     inspect_record},
    {"import", "cloop inspect import FILE.csv [--chunk N] [--check] [--offline] [--mirror PATH]",
     "Records a day's paper forms from a CSV file (UTF-8 with or without a byte order\n"
     "mark, or GBK as Chinese Excel saves it, which is converted; a header naming the\n"
     "columns in any order): project (id or name), unit, round, inspected_on\n"
     "(YYYY-MM-DD), inspector, location, category (a trade code, its Chinese name such as\n"
     "防水 or 门窗, or an alias of the project: see 'cloop trade alias'), description,\n"
     "severity ({severity}), and optionally item_id, found_again_of and case_code (a\n"
     "check point found: docs/LESSONS.md).\n"
     "Rows without item_id get an id derived from their content, so importing the same\n"
     "file again records nothing twice (see docs/IMPORT_FORMAT.md). Items go to the\n"
     "server in chunks of N (default 500, at most " ITEM_BATCH_TEXT
     "), each applied whole or rejected\n"
     "whole; a chunk with a bad row is only checked by the server, so one run reports\n"
     "every bad line (FILE:LINE: message, at most 20 of each kind, then how many more);\n"
     "the import goes on with the next chunk. --check checks the whole file on the\n"
     "server and writes nothing. Items dated outside their round's planned dates are\n"
     "recorded with a warning (FILE:LINE: warning: ...). Prints a summary: rows_read,\n"
     "inserted, unchanged, dispatched, manual_dispatch, rejected_chunks, rejected_rows,\n"
     "chunks. Exit 1 if any chunk was rejected. A progress line (share of the file done,\n"
     "rows per second) is shown on a terminal.\n" OFFLINE_HELP
     "Offline, chunks go to the outbox whole (summary counts 0; a chunk with a bad line is\n"
     "kept back) and project names are looked up in the mirror; --check needs the server.\n"
     "\n"
     "example: cloop inspect import 2027-06-30-forms.csv --check\n",
     inspect_import},
    {"handover",
     "cloop inspect handover --project ID --unit UNIT --date YYYY-MM-DD [--inspector NAME] "
     "--outcome {handover_outcome|} [--reason R] [--keys N] "
     "[--water X] [--power X] [--gas X] [--signoff {signoff|}] [--refusal R] "
     "[--satisfaction 0-" SATISFACTION_TEXT "] [--offline] [--mirror PATH]",
     "Records a unit's handover acceptance form (房屋交付验收单): the outcome (not\n"
     "taken over, 未接房, needs --reason), keys handed over, meter readings as printed,\n"
     "the owner's sign-off (a refusal needs --refusal) and satisfaction score. Prints the\n"
     "inspection record: id, project_id, unit, round, inspected_on, inspector, outcome,\n"
     "not_taken_reason, keys, water, power, gas, signoff, refusal_reason, satisfaction,\n"
     "items.\n" OFFLINE_HELP "\n"
     "example: cloop inspect handover --project 1 --unit 3-2-1701 --date 2027-06-30 "
     "--outcome not_taken_over --reason 卫生间渗水未修复\n",
     inspect_handover},
    {"schedule", "cloop inspect schedule --project ID --date YYYY-MM-DD UNIT... | --file FILE",
     "Sets the units expected on a handover day (the daily report's 'scheduled'), given\n"
     "on the command line or in FILE, one unit number per line ('-' reads standard\n"
     "input; blank lines and lines starting with # are skipped). Prints date and\n"
     "units_scheduled.\n"
     "\n"
     "example: cloop inspect schedule --project 1 --date 2027-06-30 --file day1-units.txt\n",
     inspect_schedule},
};

const cli_group_t cmd_inspect_group = {
    "inspect",
    "Inspection items (one, or a day's CSV), handover forms and the handover "
    "schedule.",
    inspect_verbs, CLI_NVERBS(inspect_verbs)};
