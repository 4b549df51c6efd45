/* cmd_outbox.c - `cloop outbox list|push|conflicts|resolve`: the entries kept while the
 * server could not be reached (libcloop's outbox, cloop_outbox.c), and the helpers the
 * entry commands (inspect import|record|handover, the ticket transitions) use to queue an
 * entry when the server cannot be reached or --offline says so.
 *
 * The mirror file is --mirror PATH, else $CLOSELOOP_MIRROR, else the default path of the
 * logged-in user on the server (cl_mirror_default_path), and offline, when the user is not
 * known, the one mirror of that server in the data directory. Single-threaded; every
 * mirror, list and table is freed before a verb returns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "cloop_mirror.h"
#include "session_store.h"

/* ---- the mirror ------------------------------------------------------------------------ */

int cli_mirror_open(const cli_settings_t *s, const char *opt, const char *username,
                    cl_mirror_t **m) {
    *m = NULL;
    char path[4096] = "", err[600], tag[65];
    const char *env = getenv("CLOSELOOP_MIRROR");
    const char *given = opt && *opt ? opt : env && *env ? env : NULL;
    int rc;
    if (username && *username) {
        /* Online: the user's file, created when it is missing. */
        if (given)
            snprintf(path, sizeof path, "%s", given);
        else if (cl_mirror_default_path(username, s->server, path, sizeof path) != CL_OK) {
            cli_errorf("no home directory to keep the mirror in: give --mirror PATH");
            return CLI_EXIT_USAGE;
        }
        rc = cl_mirror_open(path, username, s->server, m, err, sizeof err);
    } else {
        /* Offline: an existing mirror, of whichever user it belongs to. */
        if (given) {
            snprintf(path, sizeof path, "%s", given);
        } else if ((rc = cl_mirror_find_for(s->server,
                                            cli_session_tag(s->server, tag) == CL_OK ? tag : NULL,
                                            path, sizeof path)) != CL_OK) {
            if (rc == CL_ENOTFOUND)
                cli_errorf("没有本地镜像 no mirror of %s on this computer: run 'cloop sync' while "
                           "online first, or give --mirror PATH",
                           s->server);
            else
                cli_errorf("several mirrors of %s on this computer: give --mirror PATH", s->server);
            return rc == CL_ENOTFOUND ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        }
        rc = cl_mirror_open_existing(path, s->server, m, err, sizeof err);
    }
    if (rc != CL_OK) {
        cli_errorf("%s", err);
        return rc == CL_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_outbox_unreachable(int rc) {
    return rc == CL_EIO || rc == CL_ECLOSED || rc == CL_ETIMEDOUT || rc == CL_EUNAVAIL ||
           rc == CL_ESHUTDOWN || rc == CL_EBADFRAME;
}

void cli_outbox_said(int64_t id, const char *what) {
    fprintf(stderr,
            "cloop: 已存入离线待发队列 outbox #%" PRId64 "：%s；服务器恢复后由 'cloop outbox push' "
            "或 'cloop sync' 发送 (queued offline; sent when the server is back)\n",
            id, what);
}

/* ---- list and conflicts ---------------------------------------------------------------- */

static const char *state_label(const char *state, int people) {
    static const struct {
        const char *name, *label;
    } labels[] = {{"pending", "pending 待发送"}, {"sending", "sending 发送中"},
                  {"acked", "acked 已确认"},     {"conflict", "conflict 冲突"},
                  {"failed", "failed 被拒绝"},   {"dropped", "dropped 已放弃"}};
    for (size_t i = 0; people && i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].name, state) == 0) return labels[i].label;
    return state;
}

static int print_entries(const cli_settings_t *s, cl_outbox_entry_t *v, size_t n, int conflicts) {
    static const char *const cols[] = {"id",      "created",     "kind",  "state", "attempts",
                                       "summary", "server_side", "error", "note"};
    cli_table_t *t = cli_new_table(9, cols, 0x1 | 0x10);
    if (!t) return CLI_EXIT_FAIL;
    int people = s->format == CLI_FMT_TABLE || s->format == CLI_FMT_HTML;
    int rc = CL_OK;
    for (size_t i = 0; i < n && rc == CL_OK; i++) {
        cli_row_t r = {0};
        char when[80];
        cli_format_time_ms((uint64_t)v[i].created_ms, when, sizeof when);
        r.cell[0] = cli_row_num(&r, 0, v[i].id);
        r.cell[1] = when;
        r.cell[2] = v[i].kind;
        r.cell[3] = state_label(v[i].state, people);
        r.cell[4] = cli_row_num(&r, 4, v[i].attempts);
        r.cell[5] = v[i].summary;
        r.cell[6] = v[i].server_side;
        r.cell[7] = v[i].last_error;
        r.cell[8] = v[i].note;
        rc = cli_table_add(t, r.cell);
    }
    int ex = rc == CL_OK ? cli_print_table(s, t) : CLI_EXIT_FAIL;
    cli_table_free(t);
    if (ex == CLI_EXIT_OK && people) {
        if (conflicts)
            fprintf(stderr,
                    "%zu 条冲突或被拒绝 (%zu conflict or failed): 'cloop outbox resolve ID "
                    "--reapply' 重新提交 re-applies, '--drop --note TEXT' 放弃 drops\n",
                    n, n);
        else
            fprintf(stderr, "%zu 条 (%zu entries)\n", n, n);
    }
    return ex;
}

/* --mirror and one optional option more, no positionals. */
static int list_common(const cli_settings_t *s, int argc, char **argv, const char *what,
                       const char *fixed) {
    const char *mirror = NULL, *state = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--mirror", &mirror}, {"--state", &state}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(what, argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    if (fixed && state) {
        cli_errorf("%s: --state does not apply", what);
        return CLI_EXIT_USAGE;
    }
    cl_mirror_t *m = NULL;
    int rc = cli_mirror_open(s, mirror, NULL, &m);
    if (rc != CLI_EXIT_OK) return rc;
    cl_outbox_entry_t *v = NULL;
    size_t n = 0;
    if (cl_outbox_list(m, fixed ? fixed : state, &v, &n) != CL_OK) {
        cli_errorf("%s", cl_mirror_error(m));
        rc = CLI_EXIT_FAIL;
    } else {
        rc = print_entries(s, v, n, fixed != NULL);
    }
    free(v);
    cl_mirror_close(m);
    return rc;
}

static int outbox_list(const cli_settings_t *s, int argc, char **argv) {
    return list_common(s, argc, argv, "outbox list", NULL);
}

static int outbox_conflicts(const cli_settings_t *s, int argc, char **argv) {
    return list_common(s, argc, argv, "outbox conflicts", "conflict,failed");
}

/* ---- push ------------------------------------------------------------------------------ */

int cli_outbox_push(const cli_settings_t *s, cli_session_t *ss, cl_mirror_t *m) {
    cl_outbox_push_stats_t st;
    if (cl_outbox_push(m, ss->c, CL_OUTBOX_PUSH_NOW, &st) != CL_OK) {
        cli_errorf("%s", cl_mirror_error(m));
        return CLI_EXIT_FAIL;
    }
    FILE *out = s->format == CLI_FMT_CSV || s->format == CLI_FMT_JSON ? stderr : stdout;
    fprintf(out,
            "outbox: 发送 %u 条，确认 %u，冲突 %u，被拒绝 %u，待发 %u (sent %u: acked %u, "
            "conflicts %u, failed %u, pending %u)\n",
            st.sent, st.acked, st.conflicts, st.failed, st.left, st.sent, st.acked, st.conflicts,
            st.failed, st.left);
    fflush(out);
    if (st.stopped != CL_OK) {
        cli_errorf("服务器暂不可达，稍后重试 the push stopped, to be retried: %s", st.why);
        return CLI_EXIT_UNREACHABLE;
    }
    if (st.conflicts || st.failed) {
        cli_errorf("see 'cloop outbox conflicts'");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

static int outbox_push(const cli_settings_t *s, int argc, char **argv) {
    const char *mirror = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--mirror", &mirror}, {NULL, NULL}};
    int npos;
    if (cli_parse_args("outbox push", argc, argv, defs, pos, 0, &npos) < 0) return CLI_EXIT_USAGE;
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    cl_mirror_t *m = NULL;
    rc = cli_mirror_open(s, mirror, ss.me ? ss.me->username : NULL, &m);
    if (rc == CLI_EXIT_OK) rc = cli_outbox_push(s, &ss, m);
    cl_mirror_close(m);
    cli_session_close(&ss);
    return rc;
}

/* ---- resolve --------------------------------------------------------------------------- */

static int outbox_resolve(const cli_settings_t *s, int argc, char **argv) {
    const char *w = "outbox resolve";
    int reapply = cli_take_flag(&argc, argv, "--reapply");
    int drop = cli_take_flag(&argc, argv, "--drop");
    const char *mirror = NULL, *note = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--mirror", &mirror}, {"--note", &note}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(w, argc, argv, defs, pos, 1, &npos) < 0) return CLI_EXIT_USAGE;
    int64_t id = 0;
    if (npos != 1 || cli_parse_id("ID", pos[0], &id) != CL_OK) {
        if (npos != 1) cli_errorf("%s: give the entry's ID (see 'cloop outbox conflicts')", w);
        return CLI_EXIT_USAGE;
    }
    if (reapply == drop) {
        cli_errorf("%s: say --reapply or --drop --note TEXT", w);
        return CLI_EXIT_USAGE;
    }
    if (drop && !(note && *note)) {
        cli_errorf("%s: --drop needs --note TEXT (why it is dropped)", w);
        return CLI_EXIT_USAGE;
    }
    if (reapply && note) {
        cli_errorf("%s: --note goes with --drop", w);
        return CLI_EXIT_USAGE;
    }
    if (note && cli_utf8_arg_ok(w, note) < 0) return CLI_EXIT_USAGE;
    cl_mirror_t *m = NULL;
    int rc = cli_mirror_open(s, mirror, NULL, &m);
    if (rc != CLI_EXIT_OK) return rc;
    int lrc = reapply ? cl_outbox_reapply(m, id) : cl_outbox_drop(m, id, note);
    if (lrc != CL_OK) {
        cli_errorf("%s", cl_mirror_error(m));
        rc = lrc == CL_ENOTFOUND || lrc == CL_EPRECONDITION ? CLI_EXIT_FAIL : CLI_EXIT_FAIL;
    } else if (reapply) {
        printf("outbox #%" PRId64 ": 重新提交，待发送 re-applied, pending: 'cloop outbox push' "
               "sends it\n",
               id);
    } else {
        printf("outbox #%" PRId64 ": 已放弃，本地改动已撤销 dropped, its local change undone\n",
               id);
    }
    cl_mirror_close(m);
    return rc;
}

#define MIRROR_HELP                                                                                \
    "The mirror is --mirror PATH, else $CLOSELOOP_MIRROR, else the logged-in user's\n"             \
    "(~/.local/share/closeloop/mirror-USER@SERVER.sqlite, as 'cloop sync' keeps it).\n"

static const cli_verb_t outbox_verbs[] = {
    {"list", "cloop outbox list [--state STATE[,STATE]] [--mirror PATH]",
     "Lists the outbox: the entries (inspection items, handover forms, ticket transitions)\n"
     "kept while the server could not be reached, oldest first: id, created, kind, state,\n"
     "attempts, summary, server_side, error, note. STATE is pending (待发送), sending,\n"
     "acked (已确认), conflict (冲突), failed (被拒绝) or dropped (已放弃).\n" MIRROR_HELP "\n"
     "example: cloop outbox list --state pending,conflict\n",
     outbox_list},
    {"push", "cloop outbox push [--mirror PATH]",
     "Sends the pending entries to the server now, oldest first, each with its key (a\n"
     "retry never applies one twice). Stops at the first failure the network or a busy\n"
     "server may cure (exit 4; the entry waits, with backoff for 'cloop sync'); a ticket\n"
     "changed meanwhile is a conflict, another refusal is failed (exit 1: see 'cloop outbox\n"
     "conflicts'). Prints what was sent, acknowledged and left.\n" MIRROR_HELP "\n"
     "example: cloop outbox push\n",
     outbox_push},
    {"conflicts", "cloop outbox conflicts [--mirror PATH]",
     "Lists the entries that need a decision: conflicts (the ticket changed on the server\n"
     "meanwhile; server_side is how it is there now) and entries the server refused\n"
     "(error says why). Resolve each with 'cloop outbox resolve'.\n" MIRROR_HELP "\n"
     "example: cloop outbox conflicts --format json\n",
     outbox_conflicts},
    {"resolve", "cloop outbox resolve ID --reapply | --drop --note TEXT [--mirror PATH]",
     "Decides a conflict or a failed entry: --reapply sends it again (a transition over the\n"
     "server's current version, with a new key) at the next push; --drop undoes its change\n"
     "to the mirror and keeps it as dropped with the note; the server's rows held back\n"
     "for it are then applied. Nothing is overwritten silently either way.\n" MIRROR_HELP "\n"
     "example: cloop outbox resolve 7 --drop --note '已由他人改派，不再提交'\n",
     outbox_resolve},
};

const cli_group_t cmd_outbox_group = {
    "outbox",
    "The offline outbox: entries kept while the server could not be reached, pushed\n"
    "when it is back; conflicts listed with both sides and resolved by the user.",
    outbox_verbs, CLI_NVERBS(outbox_verbs)};
