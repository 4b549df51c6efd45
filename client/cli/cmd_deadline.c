/* cmd_deadline.c - `cloop deadline set|list`: a project's repair deadline presets, the
 * days a contractor has to repair a ticket of a severity (and trade). They belong to the
 * ticket area: the server gives every new ticket its deadline from them.
 *
 * Each verb sends one request on the stored session and prints the preset or the
 * streamed list as a table (cli_util.h). Single-threaded; every message and table is
 * freed before a verb returns. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "cli_util.h"

static const char *const deadline_cols[] = {"project_id", "category", "severity", "days"};

static int deadline_add_row(cli_table_t *t, const ProtobufCMessage *m) {
    const Closeloop__DeadlinePreset *x = (const Closeloop__DeadlinePreset *)m;
    char project[24], days[24];
    snprintf(project, sizeof project, "%" PRId64, x->project_id);
    snprintf(days, sizeof days, "%" PRIu32, x->days);
    const char *row[4] = {project, x->category ? x->category : "",
                          cli_enum_name(CL_DOM_SEVERITY, x->severity), days};
    return cli_table_add(t, row);
}

static int deadline_show(const cli_settings_t *s, const ProtobufCMessage *m) {
    return cli_record_print(s, cli_new_table(4, deadline_cols, 0x9), deadline_add_row, m);
}

static int deadline_set(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "deadline set";
    const char *project = NULL, *severity = NULL, *category = NULL, *days = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project},
                                 {"--severity", &severity},
                                 {"--category", &category},
                                 {"--days", &days},
                                 {NULL, NULL}};
    int npos, sv;
    if (cli_parse_args(w, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    Closeloop__DeadlineSet req = CLOSELOOP__DEADLINE_SET__INIT;
    if (cli_need_id(w, "--project", project, &req.project_id) < 0 ||
        cli_opt_enum(w, "--severity", severity, CL_DOM_SEVERITY, &sv) < 0 ||
        cli_need(w, "--days", days) < 0 ||
        cli_opt_uint(w, "--days", days, CL_LIM_DEADLINE_DAYS, &req.days) < 0)
        return CLI_EXIT_USAGE;
    if (category && !cl_trade_code_valid(category)) {
        cli_errorf("%s: '%s' is not a trade code (e.g. waterproofing)", w, category);
        return CLI_EXIT_USAGE;
    }
    if (req.days == 0) {
        cli_errorf("%s: --days must be at least 1", w);
        return CLI_EXIT_USAGE;
    }
    req.severity = (Closeloop__Severity)sv;
    if (category) req.category = (char *)category;
    return cli_call_show(s, CL_MSG_DEADLINE_SET_REQ, &req.base, CL_MSG_DEADLINE_PRESET,
                         deadline_show);
}

static int deadline_list(const cli_settings_t *s, int argc, char **argv) {
    Closeloop__DeadlineListRequest req = CLOSELOOP__DEADLINE_LIST_REQUEST__INIT;
    if (cli_args_project("deadline list", argc, argv, &req.project_id) < 0) return CLI_EXIT_USAGE;
    return cli_list_print(s, cli_new_table(4, deadline_cols, 0x9), CL_MSG_DEADLINE_LIST_REQ,
                          &req.base, CL_MSG_DEADLINE_PRESET_PAGE, deadline_add_row);
}

static const cli_verb_t deadline_verbs[] = {
    {"set", "cloop deadline set --project ID --severity {severity|} [--category TRADE] --days N",
     "Sets how many days a contractor has to repair an item of that severity (and\n"
     "trade; without --category, of any trade without its own preset). New tickets get\n"
     "their deadline from these presets. Prints the preset: project_id, category,\n"
     "severity, days.\n"
     "\n"
     "example: cloop deadline set --project 1 --severity critical --category waterproofing "
     "--days 3\n",
     deadline_set},
    {"list", "cloop deadline list --project ID",
     "Lists a project's repair deadline presets.\n"
     "\n"
     "example: cloop deadline list --project 1\n",
     deadline_list},
};

const cli_group_t cmd_deadline_group = {
    "deadline", "Repair deadline presets of a project, by trade and severity.", deadline_verbs,
    CLI_NVERBS(deadline_verbs)};
