/* cmd_import.c - `cloop unit import`: buildings, units and owners from a CSV file, sent
 * to the server in chunks that it applies whole or rejects whole.
 *
 * The file is read in 64 KiB blocks and parsed by libcsv (strict mode) through two
 * callbacks: one per field, one per record end, so memory stays at one chunk of rows
 * whatever the file's size. Line numbers are counted from the line ends libcsv reports
 * (CSV_REPALL_NL) plus the line ends inside quoted fields, so every row knows the line
 * it starts on; errors are reported as FILE:LINE: message. The first record is the
 * header and names the columns, in any order. Rows the client can already tell are
 * wrong (field count, empty building or unit, floor not a whole number, not UTF-8) make
 * their whole chunk rejected without sending it, as the server would; every other chunk
 * goes to the server as one UnitImportChunk and waits for its UnitImportResult before
 * the next is sent. Importing a file again is safe: the server counts rows that are
 * already there as unchanged. Single-threaded; everything is freed before returning. */
#include <csv.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "session_store.h"

#define IMPORT_BLOCK         65536u /* bytes read and parsed at a time */
#define IMPORT_DEFAULT_CHUNK 500u
#define IMPORT_MAX_CHUNK     5000u
#define IMPORT_MAX_FIELDS    64u /* fields kept per record; more is an error anyway */
#define PROGRESS_EVERY_NS    200000000ull

/* The columns a file may have, in the order of UnitImportRow's fields. */
enum { C_BUILDING, C_UNIT, C_FLOOR, C_LAYOUT, C_OWNER_NAME, C_OWNER_PHONE, C_OWNER_ID, NCOLS };
static const char *const col_names[NCOLS] = {
    "building", "unit", "floor", "layout", "owner_name", "owner_phone", "owner_id_number"};
static const int col_required[NCOLS] = {1, 1, 1, 0, 0, 0, 0};

/* One error found by the client, kept until its chunk is reported. */
typedef struct row_err {
    uint32_t line;
    char msg[200];
} row_err_t;

typedef struct import {
    const cli_settings_t *s;
    cli_session_t *ss;
    const char *file;   /* as named on the command line, for messages */
    int64_t project_id; /* --project */
    size_t chunk_rows;  /* --chunk */

    /* the record being parsed */
    uint32_t line;                       /* line the parser is on (1-based) */
    uint32_t rec_line;                   /* line the current record started on */
    size_t nfields;                      /* fields seen in the current record */
    char *field[IMPORT_MAX_FIELDS];      /* the first IMPORT_MAX_FIELDS of them */
    size_t field_len[IMPORT_MAX_FIELDS]; /* their lengths */

    /* the header */
    int have_header; /* the first record has been read */
    size_t ncols;    /* fields per record */
    int col[NCOLS];  /* field index of each column, -1 when absent */

    /* the chunk being filled */
    Closeloop__UnitImportRow *rows;  /* chunk_rows slots; nrows filled (good rows) */
    Closeloop__UnitImportRow **rowp; /* pointers to them, for the message */
    size_t nrows;
    size_t in_chunk;                /* rows of the file in this chunk, bad ones included */
    uint32_t first_line, last_line; /* lines of its first and last row */
    row_err_t *errs;                /* errors the client found in this chunk */
    size_t nerrs, errs_cap;

    /* totals */
    uint64_t rows_read, inserted, updated, unchanged, buildings;
    uint64_t chunks, rejected_chunks, rejected_rows;
    int stop;           /* a fatal error was reported: stop reading */
    uint32_t stop_line; /* the first line not imported because of it (0: none) */
    int exit_code;

    /* progress */
    int tty;           /* stderr is a terminal */
    int shown;         /* a progress line is on the screen */
    off_t size;        /* file size, 0 when unknown */
    off_t consumed;    /* bytes parsed */
    uint64_t start_ns; /* when reading began */
    uint64_t last_ns;  /* when progress was last drawn */
} import_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cmd_unit_import_help(FILE *out) {
    fprintf(out,
            "usage: cloop unit import --project ID FILE.csv [--chunk N] [global options]\n"
            "\n"
            "Imports the units of a project, with their buildings and owners, from a CSV\n"
            "file (RFC 4180, UTF-8, an optional byte order mark; '-' reads standard input).\n"
            "The first line names the columns, in any order:\n"
            "  building         building name, e.g. 3 or 3栋 (required; created if new)\n"
            "  unit             unit number, e.g. 3-2-1701 (required)\n"
            "  floor            floor, a whole number (required)\n"
            "  layout           layout type (户型), e.g. TA\n"
            "  owner_name       owner of record\n"
            "  owner_phone      owner's phone\n"
            "  owner_id_number  owner's ID number\n"
            "\n"
            "Rows go to the server in chunks of N rows (default %u, at most %u). The server\n"
            "applies a chunk whole or rejects it whole; rows it already has are counted as\n"
            "unchanged, so importing the same file again is safe. A chunk with a row the\n"
            "client can tell is wrong (field count, empty building or unit, floor not a\n"
            "whole number, not UTF-8) is not sent. Errors are listed as FILE:LINE: message,\n"
            "the import goes on with the next chunk, and the exit status is 1 if any chunk\n"
            "was rejected. A summary (rows read, inserted, updated, unchanged, buildings\n"
            "created, rejected chunks and rows) is printed in the chosen --format; a\n"
            "progress line is shown on a terminal.\n"
            "\n"
            "example: cloop unit import --project 1 units.csv\n",
            IMPORT_DEFAULT_CHUNK, IMPORT_MAX_CHUNK);
}

/* ---- progress and messages --------------------------------------------------------- */

static void progress_clear(import_t *im) {
    if (im->shown) {
        fputs("\r\033[K", stderr);
        im->shown = 0;
    }
}

static void progress(import_t *im, int force) {
    if (!im->tty) return;
    uint64_t t = now_ns();
    if (!force && t - im->last_ns < PROGRESS_EVERY_NS) return;
    im->last_ns = t;
    double secs = (double)(t - im->start_ns) / 1e9;
    fprintf(stderr, "\rimport: %" PRIu64 " rows", im->rows_read);
    if (im->size > 0)
        fprintf(stderr, " (%d%%)", (int)((double)im->consumed * 100.0 / (double)im->size));
    if (secs > 0.05) fprintf(stderr, ", %.0f rows/s", (double)im->rows_read / secs);
    fputs("\033[K", stderr);
    fflush(stderr);
    im->shown = 1;
}

/* A fatal error: reported at once, and the import stops. */
CL_PRINTF(2, 3)
static void fatal(import_t *im, const char *fmt, ...) {
    va_list ap;
    progress_clear(im);
    fputs("cloop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    im->stop = 1;
    im->exit_code = CLI_EXIT_FAIL;
}

CL_PRINTF(3, 4)
static void row_error(import_t *im, uint32_t line, const char *fmt, ...) {
    if (im->nerrs == im->errs_cap) {
        size_t cap = im->errs_cap ? im->errs_cap * 2 : 16;
        row_err_t *p = realloc(im->errs, cap * sizeof *p);
        if (!p) {
            fatal(im, "out of memory");
            return;
        }
        im->errs = p;
        im->errs_cap = cap;
    }
    row_err_t *e = &im->errs[im->nerrs++];
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* ---- chunks ------------------------------------------------------------------------ */

/* The "" of a row's absent or empty cells; every other cell string is malloc'd. */
static char empty_cell[1];

static void free_row(Closeloop__UnitImportRow *r) {
    char **s[] = {&r->building,   &r->number,      &r->layout,
                  &r->owner_name, &r->owner_phone, &r->owner_id_number};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        if (*s[i] != empty_cell) free(*s[i]);
        *s[i] = empty_cell;
    }
}

static void chunk_reset(import_t *im) {
    for (size_t i = 0; i < im->nrows; i++)
        free_row(&im->rows[i]);
    im->nrows = 0;
    im->in_chunk = 0;
    im->nerrs = 0;
}

/* Reports a rejected chunk: a heading, then FILE:LINE: message per error. */
static void report_rejected(import_t *im, const Closeloop__RowError *const *errs, size_t n,
                            const char *why) {
    progress_clear(im);
    im->rejected_chunks++;
    im->rejected_rows += im->in_chunk;
    fprintf(stderr,
            "cloop: %s: lines %" PRIu32 "-%" PRIu32 " (chunk %" PRIu64 ", %zu rows) "
            "rejected, nothing in it was imported%s%s\n",
            im->file, im->first_line, im->last_line, im->chunks, im->in_chunk, why ? ": " : "",
            why ? why : "");
    for (size_t i = 0; i < im->nerrs; i++)
        fprintf(stderr, "%s:%" PRIu32 ": %s\n", im->file, im->errs[i].line, im->errs[i].msg);
    for (size_t i = 0; i < n; i++) {
        const char *msg = errs[i]->message && *errs[i]->message ? errs[i]->message : "rejected";
        if (errs[i]->line)
            fprintf(stderr, "%s:%" PRIu32 ": %s\n", im->file, errs[i]->line, msg);
        else
            fprintf(stderr, "%s: lines %" PRIu32 "-%" PRIu32 ": %s\n", im->file, im->first_line,
                    im->last_line, msg);
    }
}

/* Whether a failed chunk request leaves later chunks a chance (the chunk's own content
 * was refused) or means stopping (session, permission, project, connection). */
static int chunk_error_is_local(int rc) {
    return rc == CL_EINVAL || rc == CL_EBADMSG || rc == CL_ETOOBIG || rc == CL_ECONFLICT;
}

/* Sends the chunk (or rejects it here when the client found errors) and resets it. */
static void chunk_flush(import_t *im) {
    if (im->in_chunk == 0 || im->stop) return;
    im->chunks++;
    if (im->nerrs > 0) {
        report_rejected(im, NULL, 0, NULL);
        chunk_reset(im);
        return;
    }
    Closeloop__UnitImportChunk req = CLOSELOOP__UNIT_IMPORT_CHUNK__INIT;
    req.project_id = im->project_id;
    req.n_rows = im->nrows;
    req.rows = im->rowp;
    ProtobufCMessage *m = NULL;
    int rc =
        cli_session_call(im->ss, CL_MSG_UNIT_IMPORT_REQ, &req.base, CL_MSG_UNIT_IMPORT_RESULT, &m);
    if (rc == CL_OK) {
        const Closeloop__UnitImportResult *r = (const Closeloop__UnitImportResult *)m;
        if (r->applied) {
            im->inserted += r->inserted;
            im->updated += r->updated;
            im->unchanged += r->unchanged;
            im->buildings += r->buildings_created;
        } else {
            report_rejected(im, (const Closeloop__RowError *const *)r->errors, r->n_errors,
                            r->n_errors ? NULL : "the server gave no reason");
        }
    } else if (chunk_error_is_local(rc)) {
        char why[600];
        snprintf(why, sizeof why, "%s%s", cl_client_error(im->ss->c),
                 rc == CL_ETOOBIG ? " (try a smaller --chunk)" : "");
        report_rejected(im, NULL, 0, why);
    } else {
        progress_clear(im);
        im->exit_code = cli_session_fail(im->ss, rc);
        im->stop = 1;
        im->stop_line = im->first_line;
    }
    cl_msg_free(m);
    chunk_reset(im);
    progress(im, 0);
}

/* ---- records ----------------------------------------------------------------------- */

static void fields_clear(import_t *im) {
    size_t n = im->nfields < IMPORT_MAX_FIELDS ? im->nfields : IMPORT_MAX_FIELDS;
    for (size_t i = 0; i < n; i++) {
        free(im->field[i]);
        im->field[i] = NULL;
    }
    im->nfields = 0;
}

static void take_header(import_t *im) {
    im->have_header = 1;
    for (int c = 0; c < NCOLS; c++)
        im->col[c] = -1;
    if (im->nfields > IMPORT_MAX_FIELDS) {
        fatal(im, "%s:%" PRIu32 ": the header has %zu columns; the known ones are at most %d",
              im->file, im->rec_line, im->nfields, NCOLS);
        return;
    }
    im->ncols = im->nfields;
    for (size_t i = 0; i < im->nfields; i++) {
        const char *cell = im->field[i];
        size_t len = im->field_len[i];
        if (!cl_utf8_valid(cell, len)) {
            fatal(im, "%s:%" PRIu32 ": header column %zu is not valid UTF-8", im->file,
                  im->rec_line, i + 1);
            return;
        }
        int found = -1;
        for (int c = 0; c < NCOLS && found < 0; c++)
            if (cli_header_is(cell, len, col_names[c])) found = c;
        if (found < 0) {
            fatal(im,
                  "%s:%" PRIu32 ": unknown column '%s' (known: building, unit, floor, layout, "
                  "owner_name, owner_phone, owner_id_number)",
                  im->file, im->rec_line, cell);
            return;
        }
        if (im->col[found] >= 0) {
            fatal(im, "%s:%" PRIu32 ": column '%s' appears twice", im->file, im->rec_line,
                  col_names[found]);
            return;
        }
        im->col[found] = (int)i;
    }
    for (int c = 0; c < NCOLS; c++) {
        if (col_required[c] && im->col[c] < 0) {
            fatal(im, "%s:%" PRIu32 ": missing column '%s' (required: building, unit, floor)",
                  im->file, im->rec_line, col_names[c]);
            return;
        }
    }
}

/* A copy of column c of the current record, or "" when the file has no such column. */
static char *cell_dup(import_t *im, int c) {
    if (im->col[c] < 0) return empty_cell;
    size_t i = (size_t)im->col[c];
    if (im->field_len[i] == 0) return empty_cell;
    char *s = malloc(im->field_len[i] + 1);
    if (!s) return NULL;
    memcpy(s, im->field[i], im->field_len[i]);
    s[im->field_len[i]] = '\0';
    return s;
}

static int parse_floor(const char *s, size_t len, int32_t *out) {
    if (len == 0 || len > 11) return -1;
    char buf[12];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno || *end || end == buf || v < INT32_MIN || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

static void take_row(import_t *im) {
    uint32_t line = im->rec_line;
    im->rows_read++;
    if (im->in_chunk == 0) im->first_line = line;
    im->last_line = line;
    im->in_chunk++;
    size_t errs_before = im->nerrs;
    if (im->nfields != im->ncols) {
        row_error(im, line, "expected %zu fields as in the header, found %zu", im->ncols,
                  im->nfields);
    } else {
        for (int c = 0; c < NCOLS; c++) {
            if (im->col[c] < 0) continue;
            size_t i = (size_t)im->col[c];
            if (!cl_utf8_valid(im->field[i], im->field_len[i])) {
                row_error(im, line, "%s is not valid UTF-8 text", col_names[c]);
                continue;
            }
            if ((c == C_BUILDING || c == C_UNIT) && im->field_len[i] == 0)
                row_error(im, line, "empty %s", col_names[c]);
        }
        size_t fi = (size_t)im->col[C_FLOOR];
        int32_t floor = 0;
        if (parse_floor(im->field[fi], im->field_len[fi], &floor) < 0)
            row_error(im, line, "floor '%.40s' is not a whole number", im->field[fi]);
        if (im->nerrs == errs_before) {
            Closeloop__UnitImportRow *r = &im->rows[im->nrows];
            closeloop__unit_import_row__init(r);
            r->building = r->number = r->layout = empty_cell;
            r->owner_name = r->owner_phone = r->owner_id_number = empty_cell;
            r->line = line;
            r->floor = floor;
            char **dst[] = {&r->building,    &r->number,         NULL, &r->layout, &r->owner_name,
                            &r->owner_phone, &r->owner_id_number};
            int oom = 0;
            for (int c = 0; c < NCOLS; c++)
                if (dst[c] && !(*dst[c] = cell_dup(im, c))) {
                    *dst[c] = empty_cell;
                    oom = 1;
                }
            im->rowp[im->nrows++] = r;
            if (oom) {
                fatal(im, "out of memory");
                return;
            }
        }
    }
    if (im->in_chunk >= im->chunk_rows) chunk_flush(im);
}

/* libcsv: one field ended. */
static void on_field(void *data, size_t len, void *arg) {
    import_t *im = arg;
    if (im->stop) return;
    if (im->nfields == 0) im->rec_line = im->line;
    const char *s = data ? data : "";
    for (size_t i = 0; i < len; i++) /* line ends inside a quoted field */
        if (s[i] == '\n') im->line++;
    if (im->nfields < IMPORT_MAX_FIELDS) {
        char *copy = malloc(len + 1);
        if (!copy) {
            fatal(im, "out of memory");
            return;
        }
        memcpy(copy, s, len);
        copy[len] = '\0';
        im->field[im->nfields] = copy;
        im->field_len[im->nfields] = len;
    }
    im->nfields++;
}

/* libcsv: a record ended at c ('\r', '\n', or -1 at the end of the file). With
 * CSV_REPALL_NL every line end comes here, blank lines included, with no fields. */
static void on_record(int c, void *arg) {
    import_t *im = arg;
    if (!im->stop && im->nfields > 0) {
        /* A line of nothing but blanks is one empty field: skip it like a blank line. */
        int blank = im->nfields == 1 && im->field_len[0] == 0;
        if (!blank) {
            if (!im->have_header)
                take_header(im);
            else
                take_row(im);
        }
    }
    fields_clear(im);
    if (c == '\n') im->line++;
}

/* ---- the command ------------------------------------------------------------------- */

static int print_summary(const import_t *im) {
    char v[8][24];
    const uint64_t n[8] = {im->rows_read, im->inserted,        im->updated,       im->unchanged,
                           im->buildings, im->rejected_chunks, im->rejected_rows, im->chunks};
    for (int i = 0; i < 8; i++)
        snprintf(v[i], sizeof v[i], "%" PRIu64, n[i]);
    static const char *const keys[] = {
        "rows_read",         "inserted",        "updated",       "unchanged",
        "buildings_created", "rejected_chunks", "rejected_rows", "chunks"};
    cli_table_t *t;
    int rc = CL_OK;
    if (im->s->format == CLI_FMT_TABLE) {
        static const char *const header[] = {"key", "value"};
        if (!(t = cli_table_new(2, header))) return CL_ENOMEM;
        cli_table_hide_header(t);
        const char *row[2] = {"file", im->file};
        rc = cli_table_add(t, row);
        for (int i = 0; i < 8 && rc == CL_OK; i++) {
            row[0] = keys[i];
            row[1] = v[i];
            rc = cli_table_add(t, row);
        }
    } else {
        const char *header[9] = {"file"}, *row[9] = {im->file};
        for (int i = 0; i < 8; i++)
            header[i + 1] = keys[i], row[i + 1] = v[i];
        if (!(t = cli_table_new(9, header))) return CL_ENOMEM;
        for (size_t i = 1; i < 9; i++)
            cli_table_set_numeric(t, i);
        rc = cli_table_add(t, row);
    }
    if (rc == CL_OK) rc = cli_table_print(t, im->s->format, stdout);
    cli_table_free(t);
    return rc;
}

static int parse_import_args(int argc, char **argv, int64_t *project, const char **file,
                             size_t *chunk) {
    const char *proj = NULL, *ch = NULL;
    int dashdash = 0;
    *file = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int m = 0;
        if (!dashdash && strcmp(argv[i], "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (!dashdash && (m = cli_opt_value(argc, argv, &i, NULL, "--project", &v)) != 0) {
            if (m < 0) return CLI_EXIT_USAGE;
            proj = v;
        } else if (!dashdash && (m = cli_opt_value(argc, argv, &i, NULL, "--chunk", &v)) != 0) {
            if (m < 0) return CLI_EXIT_USAGE;
            ch = v;
        } else if (!dashdash && argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_errorf("unit import: unknown option '%s'; see 'cloop unit import --help'", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (!*file) {
            *file = argv[i];
        } else {
            cli_errorf("unit import: give one file (got '%s' and '%s')", *file, argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (!proj) {
        cli_errorf("unit import: --project is required; see 'cloop unit import --help'");
        return CLI_EXIT_USAGE;
    }
    if (cli_parse_id("--project", proj, project) != CL_OK) return CLI_EXIT_USAGE;
    if (!*file) {
        cli_errorf("unit import: which FILE.csv? see 'cloop unit import --help'");
        return CLI_EXIT_USAGE;
    }
    uint64_t n = IMPORT_DEFAULT_CHUNK;
    if (ch && cli_parse_u64(ch, 1, IMPORT_MAX_CHUNK, &n) != CL_OK) {
        cli_errorf("unit import: invalid --chunk '%s': give 1 to %u rows", ch, IMPORT_MAX_CHUNK);
        return CLI_EXIT_USAGE;
    }
    *chunk = (size_t)n;
    return CLI_EXIT_OK;
}

/* Reads and parses the whole file; returns once it ends or im->stop is set. */
static void import_stream(import_t *im, FILE *fp) {
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        fatal(im, "out of memory");
        return;
    }
    unsigned char *buf = malloc(IMPORT_BLOCK);
    if (!buf) {
        csv_free(&p);
        fatal(im, "out of memory");
        return;
    }
    int first = 1;
    while (!im->stop) {
        size_t n = fread(buf, 1, IMPORT_BLOCK, fp);
        if (n == 0) {
            if (ferror(fp)) fatal(im, "cannot read %s: %s", im->file, strerror(errno));
            break;
        }
        size_t off = 0;
        if (first && n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) off = 3;
        first = 0;
        size_t used = csv_parse(&p, buf + off, n - off, on_field, on_record, im);
        im->consumed += (off_t)n;
        if (used != n - off && !im->stop)
            fatal(im,
                  "%s:%" PRIu32 ": malformed CSV (%s): a quote inside an unquoted field, or "
                  "text after a closing quote",
                  im->file, im->line, csv_strerror(csv_error(&p)));
        progress(im, 0);
    }
    if (!im->stop && csv_fini(&p, on_field, on_record, im) != 0 && !im->stop)
        fatal(im,
              "%s:%" PRIu32 ": malformed CSV: a quoted field is not closed before the end "
              "of the file",
              im->file, im->rec_line ? im->rec_line : im->line);
    fields_clear(im);
    csv_free(&p);
    free(buf);
}

int cmd_unit_import(const cli_settings_t *s, int argc, char **argv) {
    import_t im;
    memset(&im, 0, sizeof im);
    int rc = parse_import_args(argc, argv, &im.project_id, &im.file, &im.chunk_rows);
    if (rc != CLI_EXIT_OK) return rc;
    im.s = s;
    im.line = 1;
    im.exit_code = CLI_EXIT_OK;

    int is_stdin = strcmp(im.file, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(im.file, "rb");
    if (!fp) {
        cli_errorf("cannot open %s: %s", im.file, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (is_stdin) im.file = "<stdin>";
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) im.size = st.st_size;

    cli_session_t ss;
    rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) {
        if (!is_stdin) fclose(fp);
        return rc;
    }
    im.ss = &ss;
    im.rows = calloc(im.chunk_rows, sizeof *im.rows);
    im.rowp = calloc(im.chunk_rows, sizeof *im.rowp);
    if (!im.rows || !im.rowp) {
        cli_errorf("out of memory");
        im.exit_code = CLI_EXIT_FAIL;
    } else {
        im.tty = isatty(STDERR_FILENO);
        im.start_ns = im.last_ns = now_ns();
        import_stream(&im, fp);
        if (!im.stop && !im.have_header)
            fatal(&im,
                  "%s: the file is empty: it needs a header line naming the columns "
                  "(building, unit, floor, ...)",
                  im.file);
        chunk_flush(&im); /* the rest, unless a fatal error stopped the import */
        if (im.stop && !im.stop_line && im.in_chunk > 0) im.stop_line = im.first_line;
        progress_clear(&im);
        if (im.stop_line)
            cli_errorf("%s: the import stopped; nothing from line %" PRIu32 " on was imported%s",
                       im.file, im.stop_line, im.chunks > 1 ? " (the chunks before it were)" : "");
        /* No summary when the header already failed: nothing could be read. */
        if ((im.rows_read > 0 || !im.stop) && print_summary(&im) != CL_OK) {
            cli_errorf("cannot write the output");
            im.exit_code = CLI_EXIT_FAIL;
        }
        if (im.rejected_chunks > 0) {
            cli_errorf("%s: %" PRIu64 " of %" PRIu64 " chunks (%" PRIu64 " rows) were rejected; "
                       "fix the lines listed above and import the file again",
                       im.file, im.rejected_chunks, im.chunks, im.rejected_rows);
            im.exit_code = CLI_EXIT_FAIL;
        }
    }
    chunk_reset(&im);
    free(im.rows);
    free(im.rowp);
    free(im.errs);
    cli_session_close(&ss);
    if (!is_stdin) fclose(fp);
    return im.exit_code;
}
