/* csv_import.c - the CSV streaming, chunking, progress and error reporting shared by
 * cloop's importers (see csv_import.h). */
#include "csv_import.h"

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

#include "cl_mem.h"
#include "cli_util.h"

#define IMPORT_BLOCK      65536u /* bytes read and parsed at a time */
#define PROGRESS_EVERY_NS 200000000ull

char csv_import_empty[1];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- progress and messages --------------------------------------------------------- */

static void progress_clear(csv_import_t *im) {
    if (im->shown) {
        fputs("\r\033[K", stderr);
        im->shown = 0;
    }
}

static void progress(csv_import_t *im, int force) {
    if (!im->tty) return;
    uint64_t t = now_ns();
    if (!force && t - im->last_ns < PROGRESS_EVERY_NS) return;
    im->last_ns = t;
    double secs = (double)(t - im->start_ns) / 1e9;
    fprintf(stderr, "\r%s: %" PRIu64 " rows", im->spec->label, im->rows_read);
    if (im->size > 0)
        fprintf(stderr, " (%d%%)", (int)((double)im->consumed * 100.0 / (double)im->size));
    if (secs > 0.05) fprintf(stderr, ", %.0f rows/s", (double)im->rows_read / secs);
    fputs("\033[K", stderr);
    fflush(stderr);
    im->shown = 1;
}

void csv_import_fatal(csv_import_t *im, const char *fmt, ...) {
    va_list ap;
    progress_clear(im);
    fputs("cloop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    im->stop = 1;
    im->exit_code = cli_exit_worse(im->exit_code, CLI_EXIT_FAIL);
}

void csv_import_row_error(csv_import_t *im, uint32_t line, const char *fmt, ...) {
    csv_row_err_t *p = cl_grow(im->errs, &im->errs_cap, im->nerrs + 1, sizeof *p, 16);
    if (!p) {
        csv_import_fatal(im, "out of memory");
        return;
    }
    im->errs = p;
    csv_row_err_t *e = &im->errs[im->nerrs++];
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

void csv_import_fail_session(csv_import_t *im, int rc) {
    progress_clear(im);
    if (im->ss) {
        im->exit_code = cli_exit_worse(im->exit_code, cli_session_fail(im->ss, rc));
    } else { /* csv_import_stream without a session */
        cli_errorf("%s", cl_strerror(rc));
        im->exit_code = cli_exit_worse(im->exit_code, cli_exit_for(rc));
    }
    im->stop = 1;
}

int csv_import_row_ok(const csv_import_t *im) {
    return im->nerrs == im->row_nerrs;
}

/* ---- cells ------------------------------------------------------------------------- */

const char *csv_import_cell(const csv_import_t *im, int c, size_t *len) {
    *len = 0;
    if (im->col[c] < 0) return "";
    size_t i = (size_t)im->col[c];
    const char *p = im->field[i];
    size_t n = im->field_len[i];
    if (im->spec->trim) {
        while (n > 0 && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
    }
    *len = n;
    return p;
}

char *csv_import_cell_dup(const csv_import_t *im, int c) {
    size_t len;
    const char *p = csv_import_cell(im, c, &len);
    if (len == 0) return csv_import_empty;
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

void csv_import_cell_free(char **s) {
    if (*s != csv_import_empty) free(*s);
    *s = csv_import_empty;
}

void csv_import_rows_free(void *rows, size_t n, size_t size, const size_t *offs, size_t noffs) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < noffs; k++)
            csv_import_cell_free((char **)((char *)rows + i * size + offs[k]));
}

/* ---- chunks ------------------------------------------------------------------------ */

static void chunk_reset(csv_import_t *im) {
    im->spec->reset(im);
    im->in_chunk = 0;
    im->nerrs = 0;
}

/* Reports a rejected chunk: a heading, then FILE:LINE: message per error. */
static void report_rejected(csv_import_t *im, Closeloop__RowError *const *errs, size_t n,
                            const char *why) {
    progress_clear(im);
    im->rejected_chunks++;
    im->rejected_rows += im->in_chunk;
    fprintf(stderr,
            "cloop: %s: lines %" PRIu32 "-%" PRIu32 " (chunk %" PRIu64 ", %zu rows) "
            "rejected, nothing in it was %s%s%s\n",
            im->file, im->first_line, im->last_line, im->chunks, im->in_chunk, im->spec->done_word,
            why ? ": " : "", why ? why : "");
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

/* The field called name in chunk reply m, of the type the send callback promises. */
static const void *reply_field(const ProtobufCMessage *m, const char *name, ProtobufCType type,
                               const size_t **count) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    CL_ASSERT(f && f->type == type && (count != NULL) == (f->label == PROTOBUF_C_LABEL_REPEATED));
    if (count) *count = (const size_t *)(const void *)((const char *)m + f->quantifier_offset);
    return (const char *)m + f->offset;
}

/* Reads a chunk reply: whether it was applied, and then adds its summary counts. */
static int chunk_applied(csv_import_t *im, const ProtobufCMessage *m,
                         Closeloop__RowError *const **errors, size_t *n_errors) {
    const size_t *n;
    *errors =
        *(Closeloop__RowError *const *const *)reply_field(m, "errors", PROTOBUF_C_TYPE_MESSAGE, &n);
    *n_errors = *n;
    if (!*(const protobuf_c_boolean *)reply_field(m, "applied", PROTOBUF_C_TYPE_BOOL, NULL))
        return 0;
    for (size_t k = 0; k < im->spec->nsummary; k++)
        im->counts[k] += *(const uint32_t *)reply_field(m, im->spec->summary_keys[k],
                                                        PROTOBUF_C_TYPE_UINT32, NULL);
    return 1;
}

/* Sends the chunk (or rejects it here when the client found errors) and resets it. */
static void chunk_flush(csv_import_t *im) {
    if (im->in_chunk == 0 || im->stop) return;
    im->chunks++;
    if (im->nerrs > 0) {
        report_rejected(im, NULL, 0, NULL);
        chunk_reset(im);
        return;
    }
    ProtobufCMessage *m = NULL;
    int rc = im->spec->send(im, &m);
    Closeloop__RowError *const *errors;
    size_t n_errors;
    if (rc == CL_OK) {
        if (!chunk_applied(im, m, &errors, &n_errors))
            report_rejected(im, errors, n_errors, n_errors ? NULL : "the server gave no reason");
    } else if (chunk_error_is_local(rc)) {
        char why[600];
        snprintf(why, sizeof why, "%s%s", im->ss ? cl_client_error(im->ss->c) : cl_strerror(rc),
                 rc == CL_ETOOBIG ? " (try a smaller --chunk)" : "");
        report_rejected(im, NULL, 0, why);
        im->exit_code = cli_exit_worse(im->exit_code, cli_exit_for(rc));
    } else {
        csv_import_fail_session(im, rc);
        im->stop_line = im->first_line;
    }
    cl_msg_free(m);
    chunk_reset(im);
    progress(im, 0);
}

/* ---- records ----------------------------------------------------------------------- */

static void fields_clear(csv_import_t *im) {
    size_t n = im->nfields < CSV_IMPORT_MAX_FIELDS ? im->nfields : CSV_IMPORT_MAX_FIELDS;
    for (size_t i = 0; i < n; i++) {
        free(im->field[i]);
        im->field[i] = NULL;
    }
    im->nfields = 0;
}

/* names[i] for which pick[i] (all when pick is NULL), joined by ", ", at most max. */
static void join_names(char *out, size_t size, const char *const *names, const int *pick, int n,
                       int max) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0, k = 0; i < n && k < max; i++) {
        if (pick && !pick[i]) continue;
        int w = snprintf(out + o, size - o, "%s%s", k ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= size - o) return;
        o += (size_t)w;
        k++;
    }
}

static void take_header(csv_import_t *im) {
    const csv_import_spec_t *sp = im->spec;
    char list[512];
    im->have_header = 1;
    for (int c = 0; c < sp->ncols; c++)
        im->col[c] = -1;
    if (im->nfields > CSV_IMPORT_MAX_FIELDS) {
        csv_import_fatal(im, "%s:%" PRIu32 ": the header has %zu columns; the known ones are %s%d",
                         im->file, im->rec_line, im->nfields, sp->max_cols_tag, sp->ncols);
        return;
    }
    im->ncols = im->nfields;
    for (size_t i = 0; i < im->nfields; i++) {
        const char *cell = im->field[i];
        size_t len = im->field_len[i];
        if (!cl_utf8_valid(cell, len)) {
            csv_import_fatal(im, "%s:%" PRIu32 ": header column %zu is not valid UTF-8", im->file,
                             im->rec_line, i + 1);
            return;
        }
        int found = -1;
        for (int c = 0; c < sp->ncols && found < 0; c++)
            if (cli_header_is(cell, len, sp->col_names[c])) found = c;
        if (found < 0) {
            join_names(list, sizeof list, sp->col_names, NULL, sp->ncols, sp->ncols);
            csv_import_fatal(im, "%s:%" PRIu32 ": unknown column '%s' (known: %s)", im->file,
                             im->rec_line, cell, list);
            return;
        }
        if (im->col[found] >= 0) {
            csv_import_fatal(im, "%s:%" PRIu32 ": column '%s' appears twice", im->file,
                             im->rec_line, sp->col_names[found]);
            return;
        }
        im->col[found] = (int)i;
    }
    for (int c = 0; c < sp->ncols; c++) {
        if (sp->col_required[c] && im->col[c] < 0) {
            join_names(list, sizeof list, sp->col_names, sp->col_required, sp->ncols, sp->ncols);
            csv_import_fatal(im, "%s:%" PRIu32 ": missing column '%s' (required: %s)", im->file,
                             im->rec_line, sp->col_names[c], list);
            return;
        }
    }
}

static void take_row(csv_import_t *im) {
    const csv_import_spec_t *sp = im->spec;
    uint32_t line = im->rec_line;
    im->rows_read++;
    if (im->in_chunk == 0) im->first_line = line;
    im->last_line = line;
    im->in_chunk++;
    im->row_nerrs = im->nerrs;
    if (im->nfields != im->ncols) {
        csv_import_row_error(im, line, "expected %zu fields as in the header, found %zu", im->ncols,
                             im->nfields);
    } else {
        for (int c = 0; c < sp->ncols; c++) {
            if (im->col[c] < 0) continue;
            size_t len, i = (size_t)im->col[c];
            if (!cl_utf8_valid(im->field[i], im->field_len[i])) {
                csv_import_row_error(im, line, "%s is not valid UTF-8 text", sp->col_names[c]);
                continue;
            }
            if (sp->col_nonempty && sp->col_nonempty[c] && (csv_import_cell(im, c, &len), len == 0))
                csv_import_row_error(im, line, "empty %s", sp->col_names[c]);
        }
        sp->row(im, line);
        if (im->stop) return;
    }
    if (im->in_chunk >= im->chunk_rows) chunk_flush(im);
}

/* libcsv: one field ended. */
static void on_field(void *data, size_t len, void *arg) {
    csv_import_t *im = arg;
    if (im->stop) return;
    if (im->nfields == 0) im->rec_line = im->line;
    const char *s = data ? data : "";
    for (size_t i = 0; i < len; i++) /* line ends inside a quoted field */
        if (s[i] == '\n') im->line++;
    if (im->nfields < CSV_IMPORT_MAX_FIELDS) {
        char *copy = malloc(len + 1);
        if (!copy) {
            csv_import_fatal(im, "out of memory");
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
    csv_import_t *im = arg;
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

/* Reads and parses the whole file; returns once it ends or im->stop is set. */
static void import_stream(csv_import_t *im, FILE *fp) {
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        csv_import_fatal(im, "out of memory");
        return;
    }
    unsigned char *buf = malloc(IMPORT_BLOCK);
    if (!buf) {
        csv_free(&p);
        csv_import_fatal(im, "out of memory");
        return;
    }
    int first = 1;
    while (!im->stop) {
        size_t n = fread(buf, 1, IMPORT_BLOCK, fp);
        if (n == 0) {
            if (ferror(fp)) csv_import_fatal(im, "cannot read %s: %s", im->file, strerror(errno));
            break;
        }
        size_t off = 0;
        if (first && n >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) off = 3;
        first = 0;
        size_t used = csv_parse(&p, buf + off, n - off, on_field, on_record, im);
        im->consumed += (off_t)n;
        if (used != n - off && !im->stop)
            csv_import_fatal(im,
                             "%s:%" PRIu32 ": malformed CSV (%s): a quote inside an unquoted "
                             "field, or text after a closing quote",
                             im->file, im->line, csv_strerror(csv_error(&p)));
        progress(im, 0);
    }
    /* The open record starts at rec_line when a field of it has ended, else on the line
     * the parser is on (rec_line is still the previous record's). */
    if (!im->stop && csv_fini(&p, on_field, on_record, im) != 0 && !im->stop)
        csv_import_fatal(im,
                         "%s:%" PRIu32 ": malformed CSV: a quoted field is not closed before "
                         "the end of the file",
                         im->file, im->nfields ? im->rec_line : im->line);
    fields_clear(im);
    csv_free(&p);
    free(buf);
}

/* ---- the run ----------------------------------------------------------------------- */

/* file, rows_read, the importer's counts, rejected_chunks, rejected_rows, chunks. */
static int print_summary(const csv_import_t *im) {
    enum { NMAX = CSV_IMPORT_MAX_SUMMARY + 4 };
    const csv_import_spec_t *sp = im->spec;
    size_t nk = sp->nsummary + 4;
    uint64_t n[NMAX] = {0};
    const char *keys[NMAX];
    char v[NMAX][24];
    n[0] = im->rows_read;
    keys[0] = "rows_read";
    for (size_t i = 0; i < sp->nsummary; i++)
        n[i + 1] = im->counts[i], keys[i + 1] = sp->summary_keys[i];
    n[nk - 3] = im->rejected_chunks;
    n[nk - 2] = im->rejected_rows;
    n[nk - 1] = im->chunks;
    keys[nk - 3] = "rejected_chunks";
    keys[nk - 2] = "rejected_rows";
    keys[nk - 1] = "chunks";
    for (size_t i = 0; i < nk; i++)
        snprintf(v[i], sizeof v[i], "%" PRIu64, n[i]);
    cli_table_t *t;
    int rc = CL_OK;
    if (im->s->format == CLI_FMT_TABLE) {
        static const char *const header[] = {"key", "value"};
        if (!(t = cli_table_new(2, header))) return CL_ENOMEM;
        cli_table_hide_header(t);
        const char *row[2] = {"file", im->file};
        rc = cli_table_add(t, row);
        for (size_t i = 0; i < nk && rc == CL_OK; i++) {
            row[0] = keys[i];
            row[1] = v[i];
            rc = cli_table_add(t, row);
        }
    } else {
        const char *header[NMAX + 1] = {"file"}, *row[NMAX + 1] = {im->file};
        for (size_t i = 0; i < nk; i++)
            header[i + 1] = keys[i], row[i + 1] = v[i];
        if (!(t = cli_table_new(nk + 1, header))) return CL_ENOMEM;
        for (size_t i = 1; i <= nk; i++)
            cli_table_set_numeric(t, i);
        rc = cli_table_add(t, row);
    }
    if (rc == CL_OK) rc = cli_table_print(t, im->s->format, stdout);
    cli_table_free(t);
    return rc;
}

int csv_import_stream(csv_import_t *im, FILE *fp) {
    const csv_import_spec_t *sp = im->spec;
    im->line = 1;
    im->exit_code = CLI_EXIT_OK;
    if (sp->prepare(im) != 0) {
        cli_errorf("out of memory");
        im->exit_code = CLI_EXIT_FAIL;
    } else {
        im->tty = isatty(STDERR_FILENO);
        im->start_ns = now_ns();
        im->last_ns = sp->progress_at_once ? 0 : im->start_ns;
        import_stream(im, fp);
        if (!im->stop && !im->have_header) {
            char first[128];
            join_names(first, sizeof first, sp->col_names, NULL, sp->ncols, 3);
            csv_import_fatal(im,
                             "%s: the file is empty: it needs a header line naming the columns "
                             "(%s, ...)",
                             im->file, first);
        }
        chunk_flush(im); /* the rest, unless a fatal error stopped the import */
        if (im->stop && !im->stop_line && im->in_chunk > 0) im->stop_line = im->first_line;
        progress_clear(im);
        if (im->stop_line)
            cli_errorf("%s: the import stopped; nothing from line %" PRIu32 " on was %s%s",
                       im->file, im->stop_line, sp->done_word,
                       im->chunks > 1 ? " (the chunks before it were)" : "");
        /* No summary when the header already failed: nothing could be read. */
        if ((im->rows_read > 0 || !im->stop) && print_summary(im) != CL_OK) {
            cli_errorf("cannot write the output");
            im->exit_code = cli_exit_worse(im->exit_code, CLI_EXIT_FAIL);
        }
        if (im->rejected_chunks > 0) {
            cli_errorf("%s: %" PRIu64 " of %" PRIu64 " chunks (%" PRIu64 " rows) were rejected; "
                       "fix the lines listed above and import the file again",
                       im->file, im->rejected_chunks, im->chunks, im->rejected_rows);
            im->exit_code = cli_exit_worse(im->exit_code, CLI_EXIT_FAIL);
        }
    }
    chunk_reset(im);
    free(im->errs);
    im->errs = NULL;
    return im->exit_code;
}

int csv_import_run(csv_import_t *im) {
    int is_stdin = strcmp(im->file, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(im->file, "rb");
    if (!fp) {
        cli_errorf("cannot open %s: %s", im->file, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    if (is_stdin) im->file = "<stdin>";
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) im->size = st.st_size;

    cli_session_t ss;
    int rc = cli_session_open(im->s, &ss);
    if (rc != CLI_EXIT_OK) {
        if (!is_stdin) fclose(fp);
        return rc;
    }
    im->ss = &ss;
    rc = csv_import_stream(im, fp);
    cli_session_close(&ss);
    im->ss = NULL;
    if (!is_stdin) fclose(fp);
    return rc;
}
