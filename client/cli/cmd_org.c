/* cmd_org.c - the organisation commands: company, project, building, unit, contractor,
 * user and trade, each with the verbs add (assign for trade) and list.
 *
 * Every verb opens the stored session (session_store.h), sends one request and prints
 * records through output.h: lists are streamed pages collected into one table, a create
 * prints the record the server made, id first, in the same columns as its list. Each
 * create carries a fresh UUIDv4 idempotency key, kept across the automatic retries, so a
 * retried create never makes a second record. `unit import` lives in cmd_import.c.
 * Single-threaded; every message and table is freed before the verb returns. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "session_store.h"

#define MAX_COLS 10
#define MAX_LIST 1000 /* most ids accepted in --projects */

/* ---- idempotency keys --------------------------------------------------------------- */

int cli_uuid4(char out[37]) {
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return CL_EIO;
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = read(fd, b + got, sizeof b - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got < sizeof b) return CL_EIO;
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0F];
    }
    out[o] = '\0';
    return CL_OK;
}

/* ---- argument parsing --------------------------------------------------------------- */

static int parse_i32(const char *opt, const char *v, int32_t min, int32_t max, int32_t *out) {
    char *end = NULL;
    errno = 0;
    long long x = v && *v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || errno || *end || x < min || x > max) {
        cli_errorf("invalid %s '%s': give a whole number from %" PRId32 " to %" PRId32, opt,
                   v ? v : "", min, max);
        return -1;
    }
    *out = (int32_t)x;
    return 0;
}

/* "1,2,3" into a malloc'd id array. */
static int parse_id_list(const char *opt, const char *v, int64_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    if (!v) return 0;
    size_t cap = 1;
    for (const char *p = v; *p; p++)
        cap += *p == ',';
    if (cap > MAX_LIST || !(*ids = calloc(cap, sizeof **ids))) {
        cli_errorf("%s: too many ids", opt);
        return -1;
    }
    char *copy = strdup(v);
    if (!copy) {
        free(*ids);
        *ids = NULL;
        cli_errorf("out of memory");
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (cli_parse_id(opt, tok, &(*ids)[*n]) != CL_OK) {
            free(copy);
            free(*ids);
            *ids = NULL;
            *n = 0;
            return -1;
        }
        (*n)++;
    }
    free(copy);
    return 0;
}

static int username_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > CL_LIM_USERNAME_CHARS) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- records as table rows ---------------------------------------------------------- */

static char *join_strings(char **v, size_t n) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(cli_str(v[i])) + 1;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    *p = '\0';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", cli_str(v[i]));
    return out;
}

static char *join_ids(const int64_t *v, size_t n) {
    char *out = malloc(n * 21 + 1), *p = out;
    if (!out) return NULL;
    *p = '\0';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%" PRId64, i ? "," : "", v[i]);
    return out;
}

/* What one kind of record looks like in a table. */
typedef struct entity {
    const char *plural; /* "companies", for messages */
    size_t ncols;       /* columns */
    const char *cols[MAX_COLS];
    unsigned numeric; /* bit i: column i is numeric */
    cli_row_fn add;
} entity_t;

static int company_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Company *x = (const Closeloop__Company *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_str(x->name);
    r.cell[2] = cli_enum_name(CL_DOM_COMPANY_KIND, x->kind);
    r.cell[3] = cli_row_ref(&r, 3, x->parent_id);
    return cli_row_add(t, &r);
}

static int project_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Project *x = (const Closeloop__Project *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_str(x->name);
    r.cell[2] = cli_row_ref(&r, 2, x->company_id);
    r.cell[3] = cli_str(x->company_name);
    r.cell[4] = cli_str(x->city);
    r.cell[5] = cli_str(x->move_in_date);
    r.cell[6] = cli_str(x->defect_prefix);
    return cli_row_add(t, &r);
}

static int building_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Building *x = (const Closeloop__Building *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_row_ref(&r, 1, x->project_id);
    r.cell[2] = cli_str(x->name);
    r.cell[3] = cli_row_num(&r, 3, x->floors);
    return cli_row_add(t, &r);
}

static int unit_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Unit *x = (const Closeloop__Unit *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_row_ref(&r, 1, x->building_id);
    r.cell[2] = cli_str(x->building_name);
    r.cell[3] = cli_str(x->number);
    r.cell[4] = cli_row_num(&r, 4, x->floor);
    r.cell[5] = cli_str(x->layout);
    r.cell[6] = x->owner ? cli_str(x->owner->name) : "";
    r.cell[7] = x->owner ? cli_str(x->owner->phone) : "";
    r.cell[8] = x->owner ? cli_str(x->owner->id_number) : "";
    return cli_row_add(t, &r);
}

static int contractor_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__Contractor *x = (const Closeloop__Contractor *)m;
    cli_row_t r = {0};
    if (!(r.owned = join_strings(x->trades, x->n_trades))) return CL_ENOMEM;
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_str(x->name);
    r.cell[2] = r.owned;
    return cli_row_add(t, &r);
}

static int user_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__User *x = (const Closeloop__User *)m;
    cli_row_t r = {0};
    if (!(r.owned = join_ids(x->project_ids, x->n_project_ids))) return CL_ENOMEM;
    r.cell[0] = cli_row_num(&r, 0, cli_meta_id(x->meta));
    r.cell[1] = cli_str(x->username);
    r.cell[2] = cli_str(x->display_name);
    r.cell[3] = cli_role_shown(x->role);
    r.cell[4] = cli_row_ref(&r, 4, x->company_id);
    r.cell[5] = cli_row_ref(&r, 5, x->contractor_id);
    r.cell[6] = r.owned;
    r.cell[7] = x->disabled ? "yes" : "no";
    r.cell[8] = cli_row_ref(&r, 8, x->department_id);
    return cli_row_add(t, &r);
}

static int trade_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__TradeAssignment *x = (const Closeloop__TradeAssignment *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, x->project_id);
    r.cell[1] = cli_str(x->trade);
    r.cell[2] = cli_row_num(&r, 2, x->contractor_id);
    r.cell[3] = cli_str(x->contractor_name);
    return cli_row_add(t, &r);
}

static int alias_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__TradeAlias *x = (const Closeloop__TradeAlias *)m;
    cli_row_t r = {0};
    r.cell[0] = cli_row_num(&r, 0, x->project_id);
    r.cell[1] = cli_str(x->alias);
    r.cell[2] = cli_str(x->trade);
    r.cell[3] = cli_str(x->trade_name);
    return cli_row_add(t, &r);
}

static const entity_t E_COMPANY = {
    "companies", 4, {"id", "name", "kind", "parent_id"}, 0x9, company_add_row};
static const entity_t E_PROJECT = {
    "projects",
    7,
    {"id", "name", "company_id", "company", "city", "move_in", "defect_prefix"},
    0x5,
    project_add_row};
static const entity_t E_BUILDING = {
    "buildings", 4, {"id", "project_id", "name", "floors"}, 0xB, building_add_row};
static const entity_t E_UNIT = {"units",
                                9,
                                {"id", "building_id", "building", "number", "floor", "layout",
                                 "owner_name", "owner_phone", "owner_id_number"},
                                0x13,
                                unit_add_row};
static const entity_t E_CONTRACTOR = {
    "contractors", 3, {"id", "name", "trades"}, 0x1, contractor_add_row};
static const entity_t E_USER = {"users",
                                9,
                                {"id", "username", "display_name", "role", "company_id",
                                 "contractor_id", "projects", "disabled", "department_id"},
                                0x131,
                                user_add_row};
static const entity_t E_TRADE = {"trade assignments",
                                 4,
                                 {"project_id", "trade", "contractor_id", "contractor"},
                                 0x5,
                                 trade_add_row};
static const entity_t E_ALIAS = {
    "trade aliases", 4, {"project_id", "alias", "trade", "trade_name"}, 0x1, alias_add_row};

static cli_table_t *entity_table(const entity_t *e) {
    return cli_new_table(e->ncols, e->cols, e->numeric);
}

/* ---- the two shapes of request ------------------------------------------------------ */

/* Streams a list request into one table and prints it. */
static int do_list(const cli_settings_t *s, const entity_t *e, uint16_t type,
                   const ProtobufCMessage *req, uint16_t page_type) {
    return cli_list_print(s, entity_table(e), type, req, page_type, e->add);
}

/* Sends a create (or assign) on an open session and prints the record it returns. */
static int do_create_on(cli_session_t *ss, const entity_t *e, uint16_t type,
                        const ProtobufCMessage *req, uint16_t reply_type) {
    ProtobufCMessage *m = NULL;
    int crc = cli_session_call(ss, type, req, reply_type, &m);
    if (crc != CL_OK) return cli_session_fail(ss, crc);
    int rc = cli_record_print(ss->s, entity_table(e), e->add, m);
    cl_msg_free(m);
    return rc;
}

static int do_create(const cli_settings_t *s, const entity_t *e, uint16_t type,
                     const ProtobufCMessage *req, uint16_t reply_type) {
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    rc = do_create_on(&ss, e, type, req, reply_type);
    cli_session_close(&ss);
    return rc;
}

/* ---- verbs and their help ----------------------------------------------------------- */

/* ---- company ------------------------------------------------------------------------ */

static int company_add(const cli_settings_t *s, int argc, char **argv) {
    const char *kind = NULL, *parent = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--kind", &kind}, {"--parent", &parent}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("company add", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("company add: give the company's NAME; see 'cloop company add --help'");
        return CLI_EXIT_USAGE;
    }
    Closeloop__CompanyCreate req = CLOSELOOP__COMPANY_CREATE__INIT;
    char key[37];
    if (cli_utf8_arg_ok("company add", pos[0]) < 0 ||
        cli_opt_id("--parent", parent, &req.parent_id) < 0)
        return CLI_EXIT_USAGE;
    int k = CLOSELOOP__COMPANY_KIND__COMPANY_CITY;
    if (kind && cli_opt_enum("company add", "--kind", kind, CL_DOM_COMPANY_KIND, &k) < 0)
        return CLI_EXIT_USAGE;
    req.kind = (Closeloop__CompanyKind)k;
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    req.idempotency_key = key;
    req.name = (char *)pos[0];
    return do_create(s, &E_COMPANY, CL_MSG_COMPANY_CREATE_REQ, &req.base, CL_MSG_COMPANY);
}

static int company_list(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    int npos;
    if (cli_parse_args("company list", argc, argv, NULL, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__CompanyListRequest req = CLOSELOOP__COMPANY_LIST_REQUEST__INIT;
    return do_list(s, &E_COMPANY, CL_MSG_COMPANY_LIST_REQ, &req.base, CL_MSG_COMPANY_PAGE);
}

static const cli_verb_t company_verbs[] = {
    {"add", "cloop company add NAME [--kind {company_kind|}] [--parent ID]",
     "Creates a company of a KIND, optionally under a parent company. KIND is one of\n"
     "{company_kind:10}"
     "Prints the new company: id, name, kind, parent_id.\n"
     "\n"
     "example: cloop company add 深圳公司 --kind city --parent 1\n",
     company_add},
    {"list", "cloop company list",
     "Lists the companies you can see: id, name, kind, parent_id.\n"
     "\n"
     "example: cloop company list --format csv\n",
     company_list},
};

const cli_group_t cmd_company_group = {
    "company", "Companies of the group: HQ, city companies, project companies.", company_verbs,
    CLI_NVERBS(company_verbs)};

/* ---- project ------------------------------------------------------------------------ */

static int project_add(const cli_settings_t *s, int argc, char **argv) {
    const char *company = NULL, *city = NULL, *move_in = NULL, *prefix = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company},
                                 {"--city", &city},
                                 {"--move-in", &move_in},
                                 {"--prefix", &prefix},
                                 {NULL, NULL}};
    int npos;
    if (cli_parse_args("project add", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("project add: give the project's NAME; see 'cloop project add --help'");
        return CLI_EXIT_USAGE;
    }
    Closeloop__ProjectCreate req = CLOSELOOP__PROJECT_CREATE__INIT;
    if (cli_need_id("project add", "--company", company, &req.company_id) < 0 ||
        cli_utf8_arg_ok("project add", pos[0]) < 0 ||
        (city && cli_utf8_arg_ok("project add", city) < 0))
        return CLI_EXIT_USAGE;
    if (move_in && !cli_date_ok(move_in)) {
        cli_errorf("project add: invalid --move-in '%s': give a date as YYYY-MM-DD", move_in);
        return CLI_EXIT_USAGE;
    }
    char key[37];
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    req.idempotency_key = key;
    req.name = (char *)pos[0];
    if (city) req.city = (char *)city;
    if (move_in) req.move_in_date = (char *)move_in;
    if (prefix) req.defect_prefix = (char *)prefix;
    return do_create(s, &E_PROJECT, CL_MSG_PROJECT_CREATE_REQ, &req.base, CL_MSG_PROJECT);
}

static int project_prefix(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[2];
    const cli_optdef_t defs[] = {{NULL, NULL}};
    int npos;
    if (cli_parse_args("project prefix", argc, argv, defs, pos, 2, &npos) < 0)
        return CLI_EXIT_USAGE;
    Closeloop__ProjectPrefixSet req = CLOSELOOP__PROJECT_PREFIX_SET__INIT;
    if (npos != 2 || cli_parse_id("PROJECT", pos[0], &req.project_id) != CL_OK) {
        cli_errorf("project prefix: give the PROJECT id and the PREFIX (SJ)");
        return CLI_EXIT_USAGE;
    }
    req.prefix = (char *)pos[1];
    return do_create(s, &E_PROJECT, CL_MSG_PROJECT_PREFIX_REQ, &req.base, CL_MSG_PROJECT);
}

static int project_list(const cli_settings_t *s, int argc, char **argv) {
    const char *company = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--company", &company}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("project list", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__ProjectListRequest req = CLOSELOOP__PROJECT_LIST_REQUEST__INIT;
    if (cli_opt_id("--company", company, &req.company_id) < 0) return CLI_EXIT_USAGE;
    return do_list(s, &E_PROJECT, CL_MSG_PROJECT_LIST_REQ, &req.base, CL_MSG_PROJECT_PAGE);
}

static const cli_verb_t project_verbs[] = {
    {"add", "cloop project add --company ID NAME [--city CITY] [--move-in YYYY-MM-DD]",
     "Creates a project (楼盘) of a company, with its city and the planned move-in date\n"
     "(交付日期). Prints the new project: id, name, company_id, company, city, move_in.\n"
     "\n"
     "example: cloop project add --company 2 万科城 --city 深圳 --move-in 2025-06-30\n",
     project_add},
    {"prefix", "cloop project prefix PROJECT PREFIX",
     "Sets the project's defect code prefix, 1 to 8 capital letters: SJ gives SJ01, SJ02 ...\n"
     "(also project add --prefix). Without one, codes are P<project id>-01.\n",
     project_prefix},
    {"list", "cloop project list [--company ID]",
     "Lists the projects you can see, or only one company's.\n"
     "\n"
     "example: cloop project list --company 2\n",
     project_list},
};

const cli_group_t cmd_project_group = {"project", "Projects (楼盘) of the companies.",
                                       project_verbs, CLI_NVERBS(project_verbs)};

/* ---- building ----------------------------------------------------------------------- */

static int building_add(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *floors = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project}, {"--floors", &floors}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("building add", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("building add: give the building's NAME; see 'cloop building add --help'");
        return CLI_EXIT_USAGE;
    }
    Closeloop__BuildingCreate req = CLOSELOOP__BUILDING_CREATE__INIT;
    int32_t nfloors = 0;
    if (cli_need_id("building add", "--project", project, &req.project_id) < 0 ||
        cli_utf8_arg_ok("building add", pos[0]) < 0 ||
        (floors && parse_i32("--floors", floors, 0, 300, &nfloors) < 0))
        return CLI_EXIT_USAGE;
    char key[37];
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    req.idempotency_key = key;
    req.name = (char *)pos[0];
    req.floors = (uint32_t)nfloors;
    return do_create(s, &E_BUILDING, CL_MSG_BUILDING_CREATE_REQ, &req.base, CL_MSG_BUILDING);
}

static int building_list(const cli_settings_t *s, int argc, char **argv) {
    Closeloop__BuildingListRequest req = CLOSELOOP__BUILDING_LIST_REQUEST__INIT;
    if (cli_args_project("building list", argc, argv, &req.project_id) < 0) return CLI_EXIT_USAGE;
    return do_list(s, &E_BUILDING, CL_MSG_BUILDING_LIST_REQ, &req.base, CL_MSG_BUILDING_PAGE);
}

static const cli_verb_t building_verbs[] = {
    {"add", "cloop building add --project ID NAME [--floors N]",
     "Creates a building (楼栋) of a project. Prints it: id, project_id, name, floors.\n"
     "\n"
     "example: cloop building add --project 1 3栋 --floors 33\n",
     building_add},
    {"list", "cloop building list --project ID",
     "Lists the buildings of a project.\n"
     "\n"
     "example: cloop building list --project 1\n",
     building_list},
};

const cli_group_t cmd_building_group = {"building", "Buildings (楼栋) of a project.",
                                        building_verbs, CLI_NVERBS(building_verbs)};

/* ---- unit --------------------------------------------------------------------------- */

static int unit_add(const cli_settings_t *s, int argc, char **argv) {
    const char *building = NULL, *floor = NULL, *layout = NULL, *owner = NULL, *phone = NULL,
               *idno = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--building", &building},
                                 {"--floor", &floor},
                                 {"--layout", &layout},
                                 {"--owner", &owner},
                                 {"--phone", &phone},
                                 {"--id-number", &idno},
                                 {NULL, NULL}};
    int npos;
    if (cli_parse_args("unit add", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("unit add: give the unit NUMBER (e.g. 3-2-1701); see 'cloop unit add --help'");
        return CLI_EXIT_USAGE;
    }
    Closeloop__UnitCreate req = CLOSELOOP__UNIT_CREATE__INIT;
    Closeloop__Owner o = CLOSELOOP__OWNER__INIT;
    if (cli_need_id("unit add", "--building", building, &req.building_id) < 0 ||
        (floor && parse_i32("--floor", floor, -10, 300, &req.floor) < 0))
        return CLI_EXIT_USAGE;
    const char *texts[] = {pos[0], layout, owner, phone, idno};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] && cli_utf8_arg_ok("unit add", texts[i]) < 0) return CLI_EXIT_USAGE;
    if ((phone || idno) && !owner) {
        cli_errorf("unit add: --phone and --id-number need --owner NAME");
        return CLI_EXIT_USAGE;
    }
    char key[37];
    if (cli_new_key(key) < 0) return CLI_EXIT_FAIL;
    req.idempotency_key = key;
    req.number = (char *)pos[0];
    if (layout) req.layout = (char *)layout;
    if (owner) {
        o.name = (char *)owner;
        if (phone) o.phone = (char *)phone;
        if (idno) o.id_number = (char *)idno;
        req.owner = &o;
    }
    return do_create(s, &E_UNIT, CL_MSG_UNIT_CREATE_REQ, &req.base, CL_MSG_UNIT);
}

static int unit_list(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *building = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project}, {"--building", &building}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("unit list", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__UnitListRequest req = CLOSELOOP__UNIT_LIST_REQUEST__INIT;
    if (cli_need_id("unit list", "--project", project, &req.project_id) < 0 ||
        cli_opt_id("--building", building, &req.building_id) < 0)
        return CLI_EXIT_USAGE;
    return do_list(s, &E_UNIT, CL_MSG_UNIT_LIST_REQ, &req.base, CL_MSG_UNIT_PAGE);
}

static const cli_verb_t unit_verbs[] = {
    {"add",
     "cloop unit add --building ID NUMBER [--floor N] [--layout L] [--owner NAME "
     "[--phone P] [--id-number X]]",
     "Creates a unit (房号) in a building, with its floor, layout (户型) and owner of\n"
     "record. Prints it: id, building_id, building, number, floor, layout and the owner's\n"
     "name, phone and id number (shown only to roles that may see owners' data).\n"
     "\n"
     "example: cloop unit add --building 4 3-2-1701 --floor 17 --layout TA --owner 张三 "
     "--phone 13800000000\n",
     unit_add},
    {"list", "cloop unit list --project ID [--building ID]",
     "Lists the units of a project, or of one of its buildings.\n"
     "\n"
     "example: cloop unit list --project 1 --format csv > units.csv\n",
     unit_list},
    {"import", "cloop unit import --project ID FILE.csv [--chunk N]", cmd_unit_import_help,
     cmd_unit_import},
};

const cli_group_t cmd_unit_group = {"unit",
                                    "Units (房号) of a project's buildings, and their owners.",
                                    unit_verbs, CLI_NVERBS(unit_verbs)};

/* ---- contractor --------------------------------------------------------------------- */

static int contractor_add(const cli_settings_t *s, int argc, char **argv) {
    const char *trades = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--trades", &trades}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("contractor add", argc, argv, defs, pos, 1, &npos) < 0)
        return CLI_EXIT_USAGE;
    if (npos != 1 || !*pos[0]) {
        cli_errorf("contractor add: give the contractor's NAME; see 'cloop contractor add --help'");
        return CLI_EXIT_USAGE;
    }
    if (cli_need("contractor add", "--trades", trades) < 0 ||
        cli_utf8_arg_ok("contractor add", pos[0]) < 0)
        return CLI_EXIT_USAGE;
    char *copy = strdup(trades);
    size_t cap = 1;
    for (const char *p = trades; *p; p++)
        cap += *p == ',';
    char **list = calloc(cap, sizeof *list);
    if (!copy || !list) {
        free(copy);
        free(list);
        cli_errorf("out of memory");
        return CLI_EXIT_FAIL;
    }
    Closeloop__ContractorCreate req = CLOSELOOP__CONTRACTOR_CREATE__INIT;
    int rc = CLI_EXIT_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (!cl_trade_code_valid(tok)) {
            cli_errorf("contractor add: '%s' is not a trade code (lower-case letters, digits and "
                       "_, e.g. waterproofing)",
                       tok);
            rc = CLI_EXIT_USAGE;
            break;
        }
        list[req.n_trades++] = tok;
    }
    if (rc == CLI_EXIT_OK && req.n_trades == 0) {
        cli_errorf("contractor add: --trades names no trade");
        rc = CLI_EXIT_USAGE;
    }
    char key[37];
    if (rc == CLI_EXIT_OK && cli_new_key(key) < 0) rc = CLI_EXIT_FAIL;
    if (rc == CLI_EXIT_OK) {
        req.idempotency_key = key;
        req.name = (char *)pos[0];
        req.trades = list;
        rc =
            do_create(s, &E_CONTRACTOR, CL_MSG_CONTRACTOR_CREATE_REQ, &req.base, CL_MSG_CONTRACTOR);
    }
    free(list);
    free(copy);
    return rc;
}

static int contractor_list(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    int npos;
    if (cli_parse_args("contractor list", argc, argv, NULL, pos, 0, &npos) < 0)
        return CLI_EXIT_USAGE;
    Closeloop__ContractorListRequest req = CLOSELOOP__CONTRACTOR_LIST_REQUEST__INIT;
    return do_list(s, &E_CONTRACTOR, CL_MSG_CONTRACTOR_LIST_REQ, &req.base, CL_MSG_CONTRACTOR_PAGE);
}

static const cli_verb_t contractor_verbs[] = {
    {"add", "cloop contractor add NAME --trades TRADE[,TRADE...]",
     "Creates a contractor company (施工单位) and the trades (专业) it covers. Trade\n"
     "codes: civil, waterproofing, doors_windows, electrical, plumbing, decoration, hvac,\n"
     "landscaping, fire, low_voltage. Prints it: id, name, trades.\n"
     "\n"
     "example: cloop contractor add 东方雨虹 --trades waterproofing,civil\n",
     contractor_add},
    {"list", "cloop contractor list",
     "Lists the contractors you can see.\n"
     "\n"
     "example: cloop contractor list\n",
     contractor_list},
};

const cli_group_t cmd_contractor_group = {"contractor",
                                          "Contractor companies and the trades they cover.",
                                          contractor_verbs, CLI_NVERBS(contractor_verbs)};

/* ---- user --------------------------------------------------------------------------- */

static int user_add(const cli_settings_t *s, int argc, char **argv) {
    const char *role = NULL, *name = NULL, *company = NULL, *contractor = NULL, *projects = NULL,
               *department = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--role", &role},
                                 {"--name", &name},
                                 {"--company", &company},
                                 {"--contractor", &contractor},
                                 {"--projects", &projects},
                                 {"--department", &department},
                                 {NULL, NULL}};
    int npos;
    if (cli_parse_args("user add", argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    if (npos != 1 || !username_ok(pos[0])) {
        cli_errorf(npos != 1 ? "user add: give the USERNAME; see 'cloop user add --help'"
                             : "user add: invalid username '%s': use 1 to %d letters, digits, "
                               "'_', '.' or '-'",
                   npos ? pos[0] : "", CL_LIM_USERNAME_CHARS);
        return CLI_EXIT_USAGE;
    }
    Closeloop__UserCreate req = CLOSELOOP__USER_CREATE__INIT;
    if (cli_need("user add", "--role", role) < 0) return CLI_EXIT_USAGE;
    int r;
    if (cli_opt_enum("user add", "--role", role, CL_DOM_ROLE, &r) < 0) return CLI_EXIT_USAGE;
    req.role = (Closeloop__Role)r;
    if (cli_opt_id("--company", company, &req.company_id) < 0 ||
        cli_opt_id("--contractor", contractor, &req.contractor_id) < 0 ||
        cli_opt_id("--department", department, &req.department_id) < 0 ||
        (name && cli_utf8_arg_ok("user add", name) < 0))
        return CLI_EXIT_USAGE;
    if (parse_id_list("--projects", projects, &req.project_ids, &req.n_project_ids) < 0)
        return CLI_EXIT_USAGE;
    char key[37];
    if (cli_new_key(key) < 0) {
        free(req.project_ids);
        return CLI_EXIT_FAIL;
    }
    req.idempotency_key = key;
    req.username = (char *)pos[0];
    if (name) req.display_name = (char *)name;

    /* Log in state first, so nobody types a password for nothing. */
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc == CLI_EXIT_OK) {
        char prompt[128], password[1024];
        snprintf(prompt, sizeof prompt, "Password for the new user %s: ", pos[0]);
        if (cli_get_password("CLOSELOOP_NEW_PASSWORD", prompt, 1, password, sizeof password) !=
            CL_OK) {
            rc = CLI_EXIT_USAGE;
        } else {
            req.password = password;
            rc = do_create_on(&ss, &E_USER, CL_MSG_USER_CREATE_REQ, &req.base, CL_MSG_USER);
            explicit_bzero(password, sizeof password);
        }
        cli_session_close(&ss);
    }
    free(req.project_ids);
    return rc;
}

static int user_list(const cli_settings_t *s, int argc, char **argv) {
    const char *pos[1];
    int npos;
    if (cli_parse_args("user list", argc, argv, NULL, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__UserListRequest req = CLOSELOOP__USER_LIST_REQUEST__INIT;
    return do_list(s, &E_USER, CL_MSG_USER_LIST_REQ, &req.base, CL_MSG_USER_PAGE);
}

static const cli_verb_t user_verbs[] = {
    {"add",
     "cloop user add USERNAME --role ROLE [--name DISPLAY] [--company ID] [--contractor ID] "
     "[--projects ID,ID...] [--department DEPT]",
     "Creates a user. ROLE is one of\n"
     "{role:12}"
     "The password comes from CLOSELOOP_NEW_PASSWORD when it is set, else it is asked\n"
     "for twice on the terminal without echo. Prints the new user: id, username,\n"
     "display_name, role, company_id, contractor_id, projects, disabled, department_id.\n"
     "\n"
     "example: cloop user add li.na --role clerk --name 李娜 --projects 1,2\n",
     user_add},
    {"list", "cloop user list",
     "Lists the users you can see.\n"
     "\n"
     "example: cloop user list --format json\n",
     user_list},
};

const cli_group_t cmd_user_group = {"user", "People who use closeloop, with their role and scope.",
                                    user_verbs, CLI_NVERBS(user_verbs)};

/* ---- trade -------------------------------------------------------------------------- */

static int trade_assign(const cli_settings_t *s, int argc, char **argv) {
    const char *project = NULL, *trade = NULL, *contractor = NULL, *pos[1];
    const cli_optdef_t defs[] = {
        {"--project", &project}, {"--trade", &trade}, {"--contractor", &contractor}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("trade assign", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__TradeAssign req = CLOSELOOP__TRADE_ASSIGN__INIT;
    if (cli_need_id("trade assign", "--project", project, &req.project_id) < 0 ||
        cli_need("trade assign", "--trade", trade) < 0 ||
        cli_need_id("trade assign", "--contractor", contractor, &req.contractor_id) < 0)
        return CLI_EXIT_USAGE;
    if (!cl_trade_code_valid(trade)) {
        cli_errorf("trade assign: '%s' is not a trade code (e.g. waterproofing)", trade);
        return CLI_EXIT_USAGE;
    }
    req.trade = (char *)trade;
    return do_create(s, &E_TRADE, CL_MSG_TRADE_ASSIGN_REQ, &req.base, CL_MSG_TRADE_ASSIGNMENT);
}

static int trade_list(const cli_settings_t *s, int argc, char **argv) {
    Closeloop__TradeListRequest req = CLOSELOOP__TRADE_LIST_REQUEST__INIT;
    if (cli_args_project("trade list", argc, argv, &req.project_id) < 0) return CLI_EXIT_USAGE;
    return do_list(s, &E_TRADE, CL_MSG_TRADE_LIST_REQ, &req.base, CL_MSG_TRADE_ASSIGNMENT_PAGE);
}

static int trade_alias(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "trade alias", *project = NULL, *pos[2];
    const cli_optdef_t defs[] = {{"--project", &project}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 2, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__TradeAliasAdd req = CLOSELOOP__TRADE_ALIAS_ADD__INIT;
    if (cli_need_id(w, "--project", project, &req.project_id) < 0) return CLI_EXIT_USAGE;
    if (npos != 2 || !*pos[0] || !*pos[1]) {
        cli_errorf("%s: give the ALIAS and the TRADE it means; see 'cloop %s --help'", w, w);
        return CLI_EXIT_USAGE;
    }
    if (cli_utf8_arg_ok(w, pos[0]) < 0 || cli_utf8_arg_ok(w, pos[1]) < 0) return CLI_EXIT_USAGE;
    req.alias = (char *)pos[0];
    req.trade = (char *)pos[1];
    return do_create(s, &E_ALIAS, CL_MSG_TRADE_ALIAS_ADD_REQ, &req.base, CL_MSG_TRADE_ALIAS);
}

static int trade_aliases(const cli_settings_t *s, int argc, char **argv) {
    Closeloop__TradeAliasListRequest req = CLOSELOOP__TRADE_ALIAS_LIST_REQUEST__INIT;
    if (cli_args_project("trade aliases", argc, argv, &req.project_id) < 0) return CLI_EXIT_USAGE;
    return do_list(s, &E_ALIAS, CL_MSG_TRADE_ALIAS_LIST_REQ, &req.base, CL_MSG_TRADE_ALIAS_PAGE);
}

static const cli_verb_t trade_verbs[] = {
    {"assign", "cloop trade assign --project ID --trade CODE --contractor ID",
     "Makes a contractor responsible for one trade (专业) on a project: repair items of\n"
     "that trade go to it. Replaces an earlier assignment of the trade. Prints the\n"
     "assignment: project_id, trade, contractor_id, contractor.\n"
     "\n"
     "example: cloop trade assign --project 1 --trade waterproofing --contractor 3\n",
     trade_assign},
    {"list", "cloop trade list --project ID",
     "Lists which contractor has which trade on a project.\n"
     "\n"
     "example: cloop trade list --project 1\n",
     trade_list},
    {"alias", "cloop trade alias --project ID ALIAS TRADE",
     "Adds what site staff call a trade on a project: an inspection item whose category\n"
     "is ALIAS is recorded under TRADE (a trade code or its Chinese name, e.g. 装修 or\n"
     "decoration). A category may always be a trade's code or Chinese name (防水, 门窗,\n"
     "电气, 土建, 给排水 ...); an alias adds another word, e.g. 涂料. An alias that is a\n"
     "code or a Chinese name itself is refused; adding an alias again points it at the\n"
     "new TRADE. HQ admins and the project's city company. Prints the alias: project_id,\n"
     "alias, trade, trade_name.\n"
     "\n"
     "example: cloop trade alias --project 1 涂料 decoration\n",
     trade_alias},
    {"aliases", "cloop trade aliases --project ID",
     "Lists a project's trade aliases: project_id, alias, trade, trade_name.\n"
     "\n"
     "example: cloop trade aliases --project 1\n",
     trade_aliases},
};

const cli_group_t cmd_trade_group = {"trade",
                                     "Which contractor repairs which trade on a project, and "
                                     "what site staff call the trades.",
                                     trade_verbs, CLI_NVERBS(trade_verbs)};
