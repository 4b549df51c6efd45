/* cli_util.c - argument splitting, value checks, verb tables and table printing shared
 * by cloop's subcommands (see cli_util.h). Formerly static in cmd_org.c. */
#include "cli_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "msg.h"
#include "session_store.h"

int cli_parse_args(const char *what, int argc, char **argv, const cli_optdef_t *defs,
                   const char **pos, int maxpos, int *npos) {
    int dashdash = 0;
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (!dashdash && a[0] == '-' && a[1] != '\0') {
            int m = 0;
            for (const cli_optdef_t *d = defs; d && d->name && m == 0; d++) {
                const char *v = NULL;
                m = cli_opt_value(argc, argv, &i, NULL, d->name, &v);
                if (m > 0) *d->val = v;
            }
            if (m < 0) return -1;
            if (m == 0) {
                cli_errorf("%s: unknown option '%s'; see 'cloop %s --help'", what, a, what);
                return -1;
            }
            continue;
        }
        if (*npos >= maxpos) {
            cli_errorf("%s: unexpected argument '%s'; see 'cloop %s --help'", what, a, what);
            return -1;
        }
        pos[(*npos)++] = a;
    }
    return 0;
}

int cli_need(const char *what, const char *opt, const char *v) {
    if (v && *v) return 0;
    cli_errorf("%s: %s is required; see 'cloop %s --help'", what, opt, what);
    return -1;
}

int cli_need_id(const char *what, const char *opt, const char *v, int64_t *out) {
    return cli_need(what, opt, v) < 0 || cli_parse_id(opt, v, out) != CL_OK ? -1 : 0;
}

int cli_take_flag(int *argc, char **argv, const char *name) {
    int found = 0, j = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[j++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], name) == 0)
            found = 1;
        else
            argv[j++] = argv[i];
    }
    *argc = j;
    return found;
}

int cli_opt_id(const char *opt, const char *v, int64_t *out) {
    *out = 0;
    return v ? (cli_parse_id(opt, v, out) == CL_OK ? 0 : -1) : 0;
}

int cli_date_ok(const char *s) {
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

int cli_utf8_arg_ok(const char *what, const char *v) {
    if (cl_utf8_valid(v, strlen(v))) return 0;
    cli_errorf("%s: '%s' is not valid UTF-8", what, v);
    return -1;
}

int cli_uuid_ok(const char *s) {
    if (strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

int cli_new_key(char key[37]) {
    if (cli_uuid4(key) == CL_OK) return 0;
    cli_errorf("cannot read /dev/urandom for an idempotency key");
    return -1;
}

int cli_exit_for(int rc) {
    switch (rc) {
    case CL_OK: return CLI_EXIT_OK;
    case CL_EUNAUTH:
    case CL_EFORBIDDEN:
    case CL_EPRECONDITION: return CLI_EXIT_REFUSED;
    /* Nothing wrong with the request: the same one may work later, or elsewhere. */
    case CL_EIO:
    case CL_ETLS:
    case CL_ECLOSED:
    case CL_ETIMEDOUT:
    case CL_EUNAVAIL:
    case CL_ESHUTDOWN:
    case CL_ETOOMANY:
    case CL_EINTERNAL: return CLI_EXIT_UNREACHABLE;
    case CL_ECONFIG: return CLI_EXIT_USAGE;
    /* Not found, invalid, conflict, a frame or message either side refused, out of
     * memory: sending the same request again would fail the same way. */
    default: return CLI_EXIT_FAIL;
    }
}

/* How much an exit status outweighs another in cli_exit_worse. */
static int exit_weight(int code) {
    switch (code) {
    case CLI_EXIT_OK: return 0;
    case CLI_EXIT_USAGE: return 2;
    case CLI_EXIT_REFUSED: return 3;
    case CLI_EXIT_UNREACHABLE: return 4;
    default: return 1;
    }
}

int cli_exit_worse(int a, int b) {
    return exit_weight(b) > exit_weight(a) ? b : a;
}

/* The request fields whose values come from one command-line option, whatever the
 * command: the server names the field, the user knows the option. */
static const struct {
    const char *field, *option;
} wire_options[] = {
    {"contractor_id", "--contractor"}, {"project_id", "--project"},
    {"building_id", "--building"},     {"company_id", "--company"},
    {"parent_id", "--parent"},         {"not_taken_reason", "--reason"},
    {"refusal_reason", "--refusal"},   {"keys_handed", "--keys"},
};

static int word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The wire_options row of the field that starts at p (a whole word), or -1. */
static int field_at(const char *msg, const char *p) {
    if (p > msg && word_char(p[-1])) return -1;
    for (size_t k = 0; k < sizeof wire_options / sizeof wire_options[0]; k++) {
        size_t fl = strlen(wire_options[k].field);
        if (strncmp(p, wire_options[k].field, fl) == 0 && !word_char(p[fl])) return (int)k;
    }
    return -1;
}

int cli_wire_to_options(const char *msg, char *buf, size_t len) {
    size_t o = 0;
    int starts = field_at(msg, msg) >= 0;
    for (const char *p = msg; *p && o + 1 < len;) {
        int k = field_at(msg, p);
        if (k < 0) {
            buf[o++] = *p++;
            continue;
        }
        int w = snprintf(buf + o, len - o, "%s", wire_options[k].option);
        o = w < 0 || (size_t)w >= len - o ? len - 1 : o + (size_t)w;
        p += strlen(wire_options[k].field);
    }
    buf[o] = '\0';
    return starts;
}

int cli_request_failed(int rc, const char *why) {
    why = why && *why ? why : cl_strerror(rc);
    char said[1024];
    int names_option = cli_wire_to_options(why, said, sizeof said);
    cli_errorf("%s", said);
    /* "--contractor is required": the server refused what the command line said. */
    if (rc == CL_EINVAL && names_option) return CLI_EXIT_USAGE;
    return cli_exit_for(rc);
}

int cli_print_table(const cli_settings_t *s, const cli_table_t *t) {
    if (cli_table_print(t, s->format, stdout) != CL_OK) {
        cli_errorf("cannot write the output");
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_write_failed(void) {
    cli_errorf("cannot write the output");
    return CLI_EXIT_FAIL;
}

cli_table_t *cli_new_table(size_t ncols, const char *const *cols, unsigned numeric) {
    cli_table_t *t = cli_table_new(ncols, cols);
    if (t)
        for (size_t i = 0; i < ncols; i++)
            if (numeric & (1u << i)) cli_table_set_numeric(t, i);
    if (!t) cli_errorf("out of memory");
    return t;
}

int cli_opt_uint(const char *what, const char *opt, const char *v, uint64_t max, uint32_t *out) {
    uint64_t x = 0;
    if (v && cli_parse_u64(v, 0, max, &x) != CL_OK) {
        cli_errorf("%s: invalid %s '%s': give a whole number from 0 to %" PRIu64, what, opt, v,
                   max);
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}

int cli_call_show(const cli_settings_t *s, uint16_t type, const ProtobufCMessage *req,
                  uint16_t reply_type,
                  int (*show)(const cli_settings_t *s, const ProtobufCMessage *reply)) {
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    ProtobufCMessage *m = NULL;
    int crc = cli_session_call(&ss, type, req, reply_type, &m);
    rc = crc != CL_OK ? cli_session_fail(&ss, crc) : show(s, m);
    cl_msg_free(m);
    cli_session_close(&ss);
    return rc;
}

const char *cli_str(const char *s) {
    return s ? s : "";
}

const char *cli_row_num(cli_row_t *r, int col, int64_t v) {
    snprintf(r->num[col], sizeof r->num[col], "%" PRId64, v);
    return r->num[col];
}

const char *cli_row_ref(cli_row_t *r, int col, int64_t v) {
    return v ? cli_row_num(r, col, v) : "";
}

int cli_row_add(cli_table_t *t, cli_row_t *r) {
    int rc = cli_table_add(t, r->cell);
    free(r->owned);
    r->owned = NULL;
    return rc;
}

int64_t cli_meta_id(const Closeloop__Meta *m) {
    return m ? m->id : 0;
}

int cli_page_rows(cli_table_t *t, const ProtobufCMessage *page, cli_row_fn row) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(page->descriptor, "items");
    if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return CL_EBADMSG;
    const char *base = (const char *)page;
    size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
    ProtobufCMessage *const *items =
        *(ProtobufCMessage *const *const *)(const void *)(base + f->offset);
    for (size_t i = 0; i < n; i++)
        if (row(t, items[i]) != CL_OK) return CL_ENOMEM;
    return CL_OK;
}

int cli_record_print(const cli_settings_t *s, cli_table_t *t, cli_row_fn row,
                     const ProtobufCMessage *record) {
    if (!t) return CLI_EXIT_FAIL;
    int rc;
    if (row(t, record) != CL_OK) {
        cli_errorf("out of memory");
        rc = CLI_EXIT_FAIL;
    } else {
        rc = cli_print_table(s, t);
    }
    cli_table_free(t);
    return rc;
}

typedef struct list_ctx {
    cli_row_fn row;
    cli_table_t *t;
} list_ctx_t;

static int on_list_page(void *arg, const ProtobufCMessage *page) {
    list_ctx_t *x = arg;
    return cli_page_rows(x->t, page, x->row);
}

int cli_list_print(const cli_settings_t *s, cli_table_t *t, uint16_t type,
                   const ProtobufCMessage *req, uint16_t page_type, cli_row_fn row) {
    if (!t) return CLI_EXIT_FAIL;
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc == CLI_EXIT_OK) {
        list_ctx_t x = {row, t};
        int crc = cli_session_stream(&ss, type, req, page_type, on_list_page, &x);
        rc = crc != CL_OK ? cli_session_fail(&ss, crc) : cli_print_table(s, t);
        cli_session_close(&ss);
    }
    cli_table_free(t);
    return rc;
}

int cli_args_project(const char *what, int argc, char **argv, int64_t *project_id) {
    const char *project = NULL, *pos[1];
    const cli_optdef_t defs[] = {{"--project", &project}, {NULL, NULL}};
    int npos;
    if (cli_parse_args(what, argc, argv, defs, pos, 0, &npos) < 0 ||
        cli_need_id(what, "--project", project, project_id) < 0)
        return -1;
    return 0;
}

int cli_header_is(const char *cell, size_t len, const char *name) {
    while (len > 0 && (*cell == ' ' || *cell == '\t'))
        cell++, len--;
    while (len > 0 && (cell[len - 1] == ' ' || cell[len - 1] == '\t'))
        len--;
    return len == strlen(name) && strncasecmp(cell, name, len) == 0;
}

static void verb_help(FILE *out, const cli_verb_t *v) {
    fputs("usage: ", out);
    cli_help_print(out, v->synopsis);
    fputs(" [global options]\n\n", out);
    cli_help_print(out, v->help);
}

void cli_group_help(FILE *out, const cli_group_t *g, const char *sub) {
    for (size_t i = 0; sub && i < g->nverbs; i++) {
        if (strcmp(g->verbs[i].name, sub) == 0) {
            verb_help(out, &g->verbs[i]);
            return;
        }
    }
    fprintf(out, "usage:\n");
    for (size_t i = 0; i < g->nverbs; i++) {
        fputs("  ", out);
        cli_help_print(out, g->verbs[i].synopsis);
        fputc('\n', out);
    }
    fprintf(out,
            "\n%s\n"
            "Lists print a table, or --format csv|json|html. Run 'cloop %s VERB --help' for\n"
            "a verb's details and an example.\n",
            g->about, g->name);
}

int cli_group_run(const cli_group_t *g, const cli_settings_t *s, int argc, char **argv) {
    if (argc == 0) {
        cli_errorf("%s: which verb? see 'cloop %s --help'", g->name, g->name);
        return CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < g->nverbs; i++)
        if (strcmp(g->verbs[i].name, argv[0]) == 0) return g->verbs[i].run(s, argc - 1, argv + 1);
    cli_errorf("%s: unknown verb '%s'; see 'cloop %s --help'", g->name, argv[0], g->name);
    return CLI_EXIT_USAGE;
}

int cli_each_list_line(const char *path, cli_line_fn fn, void *ctx) {
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!fp) {
        cli_errorf("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int bad = 0, verdict = CLI_LINE_OK;
    while (verdict != CLI_LINE_STOP && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        char *p = line;
        if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (strlen(p) != (size_t)(len - (p - line))) {
            cli_errorf("%s:%u: the line contains a NUL byte", path, lineno);
            bad = 1;
            continue;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#') continue;
        if (!cl_utf8_valid(p, strlen(p))) {
            cli_errorf("%s:%u: not valid UTF-8", path, lineno);
            bad = 1;
            continue;
        }
        verdict = fn(ctx, path, lineno, p);
        if (verdict != CLI_LINE_OK) bad = 1;
    }
    if (ferror(fp)) {
        cli_errorf("cannot read %s: %s", path, strerror(errno));
        bad = 1;
    }
    free(line);
    if (fp != stdin) fclose(fp);
    return bad ? -1 : 0;
}

void cli_duplicate_text(const Closeloop__DuplicateFlag *d, char *out, size_t n) {
    if (d->dup_of_number)
        snprintf(out, n, "可能重复: 维修单 #%" PRId64 " 与 #%" PRId64 " 相似 (相似度 %.2f)",
                 d->number, d->dup_of_number, (double)d->similarity);
    else
        snprintf(out, n, "可能重复: 维修单 #%" PRId64 " 与问题 %s 相似 (相似度 %.2f)", d->number,
                 cli_str(d->dup_of), (double)d->similarity);
}

/* Reads a photo: at most CL_LIM_PHOTO_BYTES, JPEG or PNG by its first bytes. */
int cli_read_photo(const char *path, Closeloop__Photo *ph) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        cli_errorf("cannot open photo %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > CL_LIM_PHOTO_BYTES || st.st_size < 8) {
        fclose(fp);
        cli_errorf("photo %s: not a JPEG or PNG file of at most %d MiB", path,
                   CL_LIM_PHOTO_BYTES / (1024 * 1024));
        return -1;
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, fp) : 0;
    fclose(fp);
    if (!buf || n != (size_t)st.st_size) {
        free(buf);
        cli_errorf("cannot read photo %s", path);
        return -1;
    }
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        ph->mime = (char *)cl_photo_type_name(CL_PHOTO_JPEG);
    else if (memcmp(buf, png, 8) == 0)
        ph->mime = (char *)cl_photo_type_name(CL_PHOTO_PNG);
    else {
        free(buf);
        cli_errorf("photo %s is neither JPEG nor PNG", path);
        return -1;
    }
    ph->data.data = buf;
    ph->data.len = n;
    return 0;
}

void cli_cn_time(int64_t ms, char *buf, size_t len) {
    buf[0] = '\0';
    if (!ms) return;
    time_t t = (time_t)(ms / 1000 + 8 * 3600);
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}
