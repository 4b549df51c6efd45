/* csv_import.c - the CSV streaming, chunking, progress and error reporting shared by
 * cloop's importers (see csv_import.h). */
#include "csv_import.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
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
    if (im->shown && !im->progress_out) {
        fputs("\r\033[K", stderr);
        im->shown = 0;
    }
}

/* n with a comma between thousands: 3,470. */
static const char *thousands(char buf[32], uint64_t n) {
    char raw[24];
    int len = snprintf(raw, sizeof raw, "%" PRIu64, n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

/* The progress line: rows done (their chunk answered), the share of the file's bytes
 * they end at, and rows done per second. On a terminal it is redrawn in place at most
 * every PROGRESS_EVERY_NS; into progress_out it is one line per call. */
static void progress(csv_import_t *im, int force) {
    FILE *out = im->progress_out ? im->progress_out : im->tty ? stderr : NULL;
    if (!out) return;
    uint64_t t = now_ns();
    if (!force && !im->progress_out && t - im->last_ns < PROGRESS_EVERY_NS) return;
    im->last_ns = t;
    double secs = (double)(t - im->start_ns) / 1e9;
    char n[32];
    fprintf(out, "%s%s: %s rows", im->progress_out ? "" : "\r", im->spec->label,
            thousands(n, im->rows_done));
    if (im->size > 0) {
        off_t done = im->done_bytes < im->size ? im->done_bytes : im->size;
        fprintf(out, " (%d%%)", (int)((double)done * 100.0 / (double)im->size));
    }
    if (secs > 0)
        fprintf(out, ", %s rows/s", thousands(n, (uint64_t)((double)im->rows_done / secs)));
    fputs(im->progress_out ? "\n" : "\033[K", out);
    fflush(out);
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
    e->seq = im->seq++;
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

/* ---- reporting: a screenful per kind ---------------------------------------------- */

void csv_import_kind(const char *msg, char *out, size_t size) {
    size_t o = 0;
    const char *p = msg;
    while (*p && o + 2 < size) {
        if (*p == ' ') {
            out[o++] = *p++;
            continue;
        }
        const char *w = p;
        int value = 0;
        while (*p && *p != ' ') {
            unsigned char ch = (unsigned char)*p++;
            if ((ch >= '0' && ch <= '9') || ch == '\'' || ch == '"' || ch >= 0x80) value = 1;
        }
        if (value) {
            out[o++] = '#';
        } else {
            size_t len = (size_t)(p - w);
            if (len > size - o - 1) len = size - o - 1;
            memcpy(out + o, w, len);
            o += len;
        }
    }
    out[o] = '\0';
}

/* The kind of msg; the last slot takes every kind past CSV_IMPORT_MAX_KINDS. */
static csv_kind_t *kind_of(csv_import_t *im, const char *msg, int warning, uint32_t line) {
    char key[sizeof im->kinds[0].key];
    csv_import_kind(msg, key, sizeof key);
    for (size_t i = 0; i < im->nkinds; i++)
        if (im->kinds[i].warning == warning && strcmp(im->kinds[i].key, key) == 0)
            return &im->kinds[i];
    if (im->nkinds == CSV_IMPORT_MAX_KINDS) return &im->kinds[CSV_IMPORT_MAX_KINDS - 1];
    csv_kind_t *k = &im->kinds[im->nkinds++];
    memcpy(k->key, key, sizeof key);
    k->warning = warning;
    k->first_line = line;
    return k;
}

/* FILE:LINE: message (or FILE: lines A-B: message without a line), unless a screenful
 * of its kind is out already: then it is counted for the end. */
static void say(csv_import_t *im, uint32_t line, const char *msg, int warning) {
    csv_kind_t *k = kind_of(im, msg, warning, line);
    if (k->shown >= CSV_IMPORT_SCREENFUL) {
        k->more++;
        return;
    }
    k->shown++;
    if (line)
        fprintf(stderr, "%s:%" PRIu32 ": %s%s\n", im->file, line, warning ? "warning: " : "", msg);
    else
        fprintf(stderr, "%s: lines %" PRIu32 "-%" PRIu32 ": %s%s\n", im->file, im->first_line,
                im->last_line, warning ? "warning: " : "", msg);
}

/* The counts of what a screenful left out, one line per kind. */
static void say_more(csv_import_t *im) {
    char n[32];
    for (size_t i = 0; i < im->nkinds; i++) {
        const csv_kind_t *k = &im->kinds[i];
        if (!k->more) continue;
        if (strcmp(k->key, "\x01") == 0)
            fprintf(stderr, "cloop: %s: ... and %s more rejected chunks\n", im->file,
                    thousands(n, k->more));
        else
            fprintf(
                stderr, "cloop: %s: ... and %s more lines with the same %s as line %" PRIu32 "\n",
                im->file, thousands(n, k->more), k->warning ? "warning" : "error", k->first_line);
    }
}

/* ---- chunks ------------------------------------------------------------------------ */

static void chunk_reset(csv_import_t *im) {
    im->spec->reset(im);
    im->in_chunk = 0;
    im->nerrs = 0;
    im->nwarns = 0;
    im->ngood = 0;
    im->applied_rows = 0;
    im->why[0] = '\0';
}

/* Appends a message of the server to list (errs or warns). */
static void keep(csv_import_t *im, csv_row_err_t **list, size_t *n, size_t *cap, uint32_t line,
                 const char *msg) {
    csv_row_err_t *p = cl_grow(*list, cap, *n + 1, sizeof *p, 16);
    if (!p) {
        csv_import_fatal(im, "out of memory");
        return;
    }
    *list = p;
    csv_row_err_t *e = &p[(*n)++];
    e->line = line;
    e->seq = im->seq++;
    snprintf(e->msg, sizeof e->msg, "%s", msg && *msg ? msg : "rejected");
}

/* By line, then in the order found; lineless ones (a count of the rest) last. */
static int err_order(const void *a, const void *b) {
    const csv_row_err_t *x = a, *y = b;
    uint32_t lx = x->line ? x->line : UINT32_MAX, ly = y->line ? y->line : UINT32_MAX;
    if (lx != ly) return lx < ly ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Reports a rejected chunk: a heading, then its errors by line (a screenful per kind). */
static void report_rejected(csv_import_t *im) {
    progress_clear(im);
    uint64_t rejected = im->in_chunk - im->applied_rows;
    im->rejected_chunks++;
    im->rejected_rows += rejected;
    csv_kind_t *k = kind_of(im, "\x01", 0, im->first_line);
    if (k->shown >= CSV_IMPORT_SCREENFUL) {
        k->more++;
    } else {
        k->shown++;
        const char *why = im->why[0] ? im->why : NULL;
        if (im->applied_rows == 0)
            fprintf(stderr,
                    "cloop: %s: lines %" PRIu32 "-%" PRIu32 " (chunk %" PRIu64 ", %zu rows) "
                    "rejected, nothing in it was %s%s%s\n",
                    im->file, im->first_line, im->last_line, im->chunks, im->in_chunk,
                    im->spec->done_word, why ? ": " : "", why ? why : "");
        else /* sent in parts: some of them were applied */
            fprintf(stderr,
                    "cloop: %s: lines %" PRIu32 "-%" PRIu32 " (chunk %" PRIu64
                    ", %zu rows): %" PRIu64 " rows rejected, nothing of them was %s%s%s\n",
                    im->file, im->first_line, im->last_line, im->chunks, im->in_chunk, rejected,
                    im->spec->done_word, why ? ": " : "", why ? why : "");
    }
    qsort(im->errs, im->nerrs, sizeof *im->errs, err_order);
    for (size_t i = 0; i < im->nerrs; i++)
        say(im, im->errs[i].line, im->errs[i].msg, 0);
}

/* Whether a failed chunk request leaves later chunks a chance (the chunk's own content
 * was refused) or means stopping (session, permission, project, connection). */
static int chunk_error_is_local(int rc) {
    return rc == CL_EINVAL || rc == CL_EBADMSG || rc == CL_ETOOBIG || rc == CL_ECONFLICT;
}

/* The field called name in chunk reply m, of the type the send callback promises; NULL
 * when the reply has no such field and optional. */
static const void *reply_field(const ProtobufCMessage *m, const char *name, ProtobufCType type,
                               const size_t **count, int optional) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f && optional) return NULL;
    CL_ASSERT(f && f->type == type && (count != NULL) == (f->label == PROTOBUF_C_LABEL_REPEATED));
    if (count) *count = (const size_t *)(const void *)((const char *)m + f->quantifier_offset);
    return (const char *)m + f->offset;
}

/* The RowErrors of repeated field name of m (none when m has no such field). */
static Closeloop__RowError *const *reply_rows(const ProtobufCMessage *m, const char *name,
                                              size_t *n) {
    const size_t *count = NULL;
    const void *f = reply_field(m, name, PROTOBUF_C_TYPE_MESSAGE, &count, 1);
    *n = f ? *count : 0;
    return f ? *(Closeloop__RowError *const *const *)f : NULL;
}

/* Reads a chunk reply: keeps its errors and warnings; when it was applied, adds its
 * summary counts and returns 1. */
static int chunk_applied(csv_import_t *im, const ProtobufCMessage *m) {
    size_t n;
    Closeloop__RowError *const *rows = reply_rows(m, "errors", &n);
    for (size_t i = 0; i < n && !im->stop; i++)
        keep(im, &im->errs, &im->nerrs, &im->errs_cap, rows[i]->line, rows[i]->message);
    rows = reply_rows(m, "warnings", &n);
    for (size_t i = 0; i < n && !im->stop; i++)
        keep(im, &im->warns, &im->nwarns, &im->warns_cap, rows[i]->line, rows[i]->message);
    /* Items recorded but flagged as probable repeats of an earlier one (inspect import):
     * one warning line each, "可能重复: ... 与 #12 相似". */
    const size_t *nd = NULL;
    const void *df = reply_field(m, "duplicates", PROTOBUF_C_TYPE_MESSAGE, &nd, 1);
    for (size_t i = 0; df && i < *nd && !im->stop; i++) {
        const Closeloop__DuplicateFlag *d = (*(Closeloop__DuplicateFlag *const *const *)df)[i];
        char msg[200];
        cli_duplicate_text(d, msg, sizeof msg);
        keep(im, &im->warns, &im->nwarns, &im->warns_cap, d->line, msg);
    }
    if (!*(const protobuf_c_boolean *)reply_field(m, "applied", PROTOBUF_C_TYPE_BOOL, NULL, 0))
        return 0;
    for (size_t k = 0; k < im->spec->nsummary; k++)
        im->counts[k] += *(const uint32_t *)reply_field(m, im->spec->summary_keys[k],
                                                        PROTOBUF_C_TYPE_UINT32, NULL, 0);
    return 1;
}

int csv_import_call(csv_import_t *im, uint16_t type, const ProtobufCMessage *req,
                    uint16_t reply_type, ProtobufCMessage **reply) {
    *reply = NULL;
    if (im->max_frame && protobuf_c_message_get_packed_size(req) > im->max_frame) return CL_ETOOBIG;
    return cli_session_call(im->ss, type, req, reply_type, reply);
}

/* Sends the good rows [first, first + n) of the chunk, in halves while larger than the
 * server's frame limit; keeps what the server says. */
static void send_rows(csv_import_t *im, size_t first, size_t n, int check) {
    ProtobufCMessage *m = NULL;
    int rc = im->spec->send(im, first, n, check, &m);
    if (rc == CL_ETOOBIG && !m && im->max_frame && n > 1) {
        send_rows(im, first, n / 2, check);
        if (!im->stop) send_rows(im, first + n / 2, n - n / 2, check);
        return;
    }
    if (rc == CL_OK) {
        size_t before = im->nerrs;
        if (chunk_applied(im, m))
            im->applied_rows += n;
        else if (!check && im->nerrs == before)
            snprintf(im->why, sizeof im->why, "the server gave no reason");
    } else if (rc == CL_ETOOBIG && !m && im->max_frame) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "the row is larger than the server accepts in one request (%" PRIu32 " bytes)",
                 im->max_frame);
        keep(im, &im->errs, &im->nerrs, &im->errs_cap, im->good_lines[first], msg);
    } else if (chunk_error_is_local(rc)) {
        snprintf(im->why, sizeof im->why, "%s%s",
                 im->ss ? cl_client_error(im->ss->c) : cl_strerror(rc),
                 rc == CL_ETOOBIG ? " (try a smaller --chunk)" : "");
        im->exit_code = cli_exit_worse(im->exit_code, cli_exit_for(rc));
    } else {
        csv_import_fail_session(im, rc);
        im->stop_line = im->first_line;
    }
    cl_msg_free(m);
}

/* Sends the chunk (check-only when the client found errors in it or under --check),
 * reports it and resets it. */
static void chunk_flush(csv_import_t *im) {
    if (im->in_chunk == 0 || im->stop) return;
    im->chunks++;
    int check = im->check || im->nerrs > 0;
    if (im->ngood > 0) send_rows(im, 0, im->ngood, check);
    if (im->stop) {
        chunk_reset(im);
        return;
    }
    if (im->nerrs > 0 || im->why[0]) report_rejected(im);
    for (size_t i = 0; i < im->nwarns; i++)
        say(im, im->warns[i].line, im->warns[i].msg, 1);
    im->rows_done += im->in_chunk;
    im->done_bytes = im->chunk_end;
    chunk_reset(im);
    progress(im, im->progress_out != NULL);
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
                         im->file, im->rec_line, im->nfields,
                         sp->max_cols_tag ? sp->max_cols_tag : "", sp->ncols);
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
        if (csv_import_row_ok(im)) im->good_lines[im->ngood++] = line;
    }
    im->chunk_end = im->piece_end;
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

/* Parses text[0..len), converted from the file's bytes [src0, src0 + srclen), a line at
 * a time, so that piece_end is the file offset where the text parsed so far ends. */
static void parse_text(csv_import_t *im, struct csv_parser *p, const unsigned char *text,
                       size_t len, off_t src0, size_t srclen) {
    size_t pos = 0;
    while (pos < len && !im->stop) {
        const unsigned char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        im->piece_end = src0 + (off_t)((uint64_t)end * srclen / len);
        size_t used = csv_parse(p, text + pos, end - pos, on_field, on_record, im);
        if (used != end - pos && !im->stop)
            csv_import_fatal(im,
                             "%s:%" PRIu32 ": malformed CSV (%s): a quote inside an unquoted "
                             "field, or text after a closing quote",
                             im->file, im->line, csv_strerror(csv_error(p)));
        pos = end;
    }
}

/* Reads and parses the whole file, converting it from GB18030 when im->iconv is set;
 * returns once it ends or im->stop is set. */
static void import_stream(csv_import_t *im, FILE *fp) {
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_REPALL_NL | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        csv_import_fatal(im, "out of memory");
        return;
    }
    const size_t conv_cap = 2 * IMPORT_BLOCK + 16; /* GB18030 grows at most 1.5 times */
    unsigned char *buf = malloc(IMPORT_BLOCK), *conv = im->iconv ? malloc(conv_cap) : NULL;
    if (!buf || (im->iconv && !conv)) {
        free(buf);
        free(conv);
        csv_free(&p);
        csv_import_fatal(im, "out of memory");
        return;
    }
    int first = 1;
    size_t carry = 0; /* bytes of a character cut by the block's end, kept for the next */
    off_t src = 0;
    while (!im->stop) {
        size_t n = fread(buf + carry, 1, IMPORT_BLOCK - carry, fp);
        if (n == 0 && ferror(fp)) {
            csv_import_fatal(im, "cannot read %s: %s", im->file, strerror(errno));
            break;
        }
        if (n == 0 && carry == 0) break;
        size_t have = carry + n;
        if (!im->iconv) {
            size_t off = 0;
            if (first && have >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) off = 3;
            parse_text(im, &p, buf + off, have - off, src + (off_t)off, have - off);
            src += (off_t)have;
            carry = 0;
        } else {
            char *in = (char *)buf, *out = (char *)conv;
            size_t inleft = have, outleft = conv_cap;
            size_t r = iconv((iconv_t)im->iconv, &in, &inleft, &out, &outleft);
            if ((r == (size_t)-1 && errno == EILSEQ) || (n == 0 && inleft > 0) || inleft == have) {
                csv_import_fatal(im, "%s: cannot convert from GB18030 near line %" PRIu32, im->file,
                                 im->line);
                break;
            }
            size_t len = conv_cap - outleft, off = 0; /* GB18030's own mark converts to */
            if (first && len >= 3 && conv[0] == 0xEF && conv[1] == 0xBB && conv[2] == 0xBF)
                off = 3; /* the UTF-8 one */
            parse_text(im, &p, conv + off, len - off, src, have - inleft);
            src += (off_t)(have - inleft);
            memmove(buf, in, inleft);
            carry = inleft;
        }
        first = 0;
        im->consumed = src;
        progress(im, 0);
    }
    /* The open record starts at rec_line when a field of it has ended, else on the line
     * the parser is on (rec_line is still the previous record's). */
    im->piece_end = src;
    if (!im->stop && csv_fini(&p, on_field, on_record, im) != 0 && !im->stop)
        csv_import_fatal(im,
                         "%s:%" PRIu32 ": malformed CSV: a quoted field is not closed before "
                         "the end of the file",
                         im->file, im->nfields ? im->rec_line : im->line);
    fields_clear(im);
    csv_free(&p);
    free(buf);
    free(conv);
}

/* ---- the file's encoding ------------------------------------------------------------ */

/* A streaming UTF-8 check: valid multi-byte characters and invalid sequences counted. */
typedef struct utf8_scan {
    int need;             /* continuation bytes still expected */
    unsigned char lo, hi; /* the range of the next continuation byte */
    uint64_t good, bad;
    uint32_t line, bad_line; /* line being read; line of the first invalid sequence */
} utf8_scan_t;

static void utf8_byte(utf8_scan_t *u, unsigned char c) {
    if (u->need > 0) {
        if (c >= u->lo && c <= u->hi) {
            u->lo = 0x80, u->hi = 0xBF;
            if (--u->need == 0) u->good++;
            return;
        }
        u->need = 0; /* cut short: invalid, and c starts afresh */
        u->bad++;
        if (!u->bad_line) u->bad_line = u->line;
    }
    if (c == '\n') u->line++;
    if (c < 0x80) return;
    u->lo = 0x80, u->hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        u->need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        u->need = 2;
        if (c == 0xE0) u->lo = 0xA0;
        if (c == 0xED) u->hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        u->need = 3;
        if (c == 0xF0) u->lo = 0x90;
        if (c == 0xF4) u->hi = 0x8F;
    } else {
        u->bad++;
        if (!u->bad_line) u->bad_line = u->line;
    }
}

/* Whether the rest of fp decodes as GB18030 without an error. */
static int decodes_as_gb18030(FILE *fp, iconv_t cd) {
    unsigned char buf[16384];
    char out[3 * sizeof buf];
    size_t carry = 0, n;
    int ok = 1;
    while (ok && (n = fread(buf + carry, 1, sizeof buf - carry, fp)) > 0) {
        char *in = (char *)buf;
        size_t inleft = carry + n;
        while (ok && inleft > 0) {
            char *o = out;
            size_t outleft = sizeof out;
            size_t before = inleft;
            if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1 && errno == EILSEQ) ok = 0;
            if (inleft == before) break; /* an incomplete character: wait for more */
        }
        memmove(buf, in, inleft);
        carry = inleft;
    }
    iconv(cd, NULL, NULL, NULL, NULL);
    return ok && !ferror(fp) && carry == 0;
}

/* Finds the encoding of fp (at its start) before anything is parsed: UTF-8, GB18030
 * (then im->iconv converts it), or neither (refused, one line). Standard input that
 * cannot be read twice is copied to a temporary file, which *fp becomes. Returns 0 to go
 * on, -1 after a fatal error. */
static int find_encoding(csv_import_t *im, FILE **fp) {
    FILE *in = *fp, *copy = NULL;
    off_t start = ftello(in);
    if (start < 0 || fseeko(in, start, SEEK_SET) != 0) {
        if (!(copy = tmpfile())) {
            csv_import_fatal(im, "cannot make a temporary file for %s: %s", im->file,
                             strerror(errno));
            return -1;
        }
        start = 0;
    }
    utf8_scan_t u = {.line = 1};
    unsigned char buf[16384];
    size_t n;
    off_t total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        for (size_t i = 0; i < n; i++)
            utf8_byte(&u, buf[i]);
        total += (off_t)n;
        if (copy && fwrite(buf, 1, n, copy) != n) {
            fclose(copy);
            csv_import_fatal(im, "cannot copy %s to a temporary file: %s", im->file,
                             strerror(errno));
            return -1;
        }
    }
    if (ferror(in)) {
        if (copy) fclose(copy);
        csv_import_fatal(im, "cannot read %s: %s", im->file, strerror(errno));
        return -1;
    }
    if (u.need > 0) u.bad++, u.bad_line = u.bad_line ? u.bad_line : u.line;
    if (copy) {
        im->spooled = copy;
        *fp = in = copy;
    }
    if (copy || im->size == 0) im->size = total; /* for the progress line */
    if (fseeko(in, start, SEEK_SET) != 0) {
        csv_import_fatal(im, "cannot read %s twice: %s", im->file, strerror(errno));
        return -1;
    }
    /* UTF-8, or UTF-8 but for a few broken lines (reported as row errors): GB18030 text
     * holds valid UTF-8 pairs only by chance, a few per several invalid ones. */
    if (u.bad == 0 || u.good >= 4 * u.bad) return 0;
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1) {
        csv_import_fatal(im,
                         "%s:%" PRIu32 ": the file is not UTF-8 (and this system cannot "
                         "convert from GBK); save it as \"CSV UTF-8\" and import it again",
                         im->file, u.bad_line);
        return -1;
    }
    int gbk = decodes_as_gb18030(in, cd);
    if (fseeko(in, start, SEEK_SET) != 0) gbk = -1;
    if (gbk != 1) {
        iconv_close(cd);
        if (gbk < 0)
            csv_import_fatal(im, "cannot read %s twice: %s", im->file, strerror(errno));
        else
            csv_import_fatal(im,
                             "%s:%" PRIu32 ": the file is neither UTF-8 nor GBK (GB18030); "
                             "nothing was %s: save it as \"CSV UTF-8 (逗号分隔)\" and import it "
                             "again",
                             im->file, u.bad_line, im->spec->done_word);
        return -1;
    }
    im->iconv = (void *)cd;
    fprintf(stderr,
            "cloop: %s is GBK (GB18030), not UTF-8: converted to UTF-8 as it is read "
            "(Excel's \"CSV UTF-8 (逗号分隔)\" saves UTF-8)\n",
            im->file);
    return 0;
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
    im->good_lines = calloc(im->chunk_rows ? im->chunk_rows : 1, sizeof *im->good_lines);
    if (!im->good_lines || sp->prepare(im) != 0) {
        cli_errorf("out of memory");
        im->exit_code = CLI_EXIT_FAIL;
    } else if (find_encoding(im, &fp) < 0) {
        /* refused in one line: nothing was read */
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
        say_more(im);
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
            if (im->check)
                cli_errorf("%s: checked only, nothing was written: %" PRIu64 " of %" PRIu64
                           " chunks (%" PRIu64 " rows) have errors; fix the lines listed above",
                           im->file, im->rejected_chunks, im->chunks, im->rejected_rows);
            else
                cli_errorf("%s: %" PRIu64 " of %" PRIu64 " chunks (%" PRIu64 " rows) were "
                           "rejected; fix the lines listed above and import the file again",
                           im->file, im->rejected_chunks, im->chunks, im->rejected_rows);
            im->exit_code = cli_exit_worse(im->exit_code, CLI_EXIT_FAIL);
        } else if (im->check && !im->stop) {
            cli_errorf("%s: checked only, nothing was written: no errors in %" PRIu64 " rows",
                       im->file, im->rows_read);
        }
    }
    chunk_reset(im);
    free(im->errs);
    free(im->warns);
    free(im->good_lines);
    im->errs = im->warns = NULL;
    im->good_lines = NULL;
    if (im->iconv) iconv_close((iconv_t)im->iconv);
    if (im->spooled) fclose(im->spooled);
    im->iconv = NULL;
    im->spooled = NULL;
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
    /* The server's frame limit: a chunk larger than it is sent in halves. */
    int crc = cli_session_max_frame(&ss, &im->max_frame);
    if (crc == CL_OK) {
        rc = csv_import_stream(im, fp);
    } else {
        rc = cli_session_fail(&ss, crc);
    }
    cli_session_close(&ss);
    im->ss = NULL;
    if (!is_stdin) fclose(fp);
    return rc;
}
