/* test_csv_import.c - the CSV import engine of cloop (client/cli/csv_import.c), linked
 * from the CLI's library and run on real files through csv_import_stream.
 *
 * The importer here is a small one of our own: columns name (required, not empty), qty
 * (required, digits) and note (optional). Its row callback copies good rows into the
 * chunk; its send callback stands where the network would be and records every chunk
 * it is given (and can answer like a server that rejects a chunk with a row error). So
 * everything under test is the engine's own: reading in blocks, the byte order mark, line
 * ends, quoting, line numbers, the header, per-row checks, chunking and reporting. What
 * the engine prints goes to files (standard output and error redirected for the call)
 * and is compared line by line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <iconv.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv_import.h"

static char dir[PATH_MAX]; /* scratch directory */

/* ---- the test importer -------------------------------------------------------------- */

enum { C_NAME, C_QTY, C_NOTE, NCOLS };
static const char *const col_names[NCOLS] = {"name", "qty", "note"};
static const int col_required[NCOLS] = {1, 1, 0};
static const int col_nonempty[NCOLS] = {1, 0, 0};
/* A field of the reply (UnitImportResult), as every importer's summary keys are. */
static const char *const summary_keys[] = {"inserted"};

#define MAX_SENT 64

typedef struct trow {
    char *name, *qty, *note;
    uint32_t line;
} trow_t;

typedef struct timport {
    csv_import_t base; /* first: the callbacks cast back */
    trow_t *rows;      /* the chunk: chunk_rows slots, nrows filled */
    size_t nrows;
    trow_t sent[MAX_SENT]; /* every row sent, in order (strings owned) */
    size_t nsent;
    size_t chunk_rows_sent[MAX_SENT]; /* rows of each chunk sent */
    size_t nchunks_sent;
    uint32_t reject_line; /* the "server" rejects the chunk holding this line (0: none) */
    size_t nchecks;       /* check-only sends */
    uint32_t warn_line;   /* the "server" warns about this line (0: none) */
    size_t ntoobig;       /* sends refused as larger than base.max_frame */
} timport_t;

/* What run_import sets on the engine besides the file (zero: as cloop's defaults). */
static struct {
    int check;
    uint32_t max_frame;
    FILE *progress;
    uint32_t warn_line;
} opts;

static int t_prepare(csv_import_t *base) {
    timport_t *t = (timport_t *)base;
    t->rows = calloc(base->chunk_rows, sizeof *t->rows);
    return t->rows ? 0 : -1;
}

static void t_reset(csv_import_t *base) {
    timport_t *t = (timport_t *)base;
    for (size_t i = 0; i < t->nrows; i++) {
        csv_import_cell_free(&t->rows[i].name);
        csv_import_cell_free(&t->rows[i].qty);
        csv_import_cell_free(&t->rows[i].note);
    }
    t->nrows = 0;
}

static void t_row(csv_import_t *base, uint32_t line) {
    timport_t *t = (timport_t *)base;
    size_t len;
    const char *q = csv_import_cell(base, C_QTY, &len);
    if (len == 0 || strspn(q, "0123456789") < len)
        csv_import_row_error(base, line, "bad qty '%.*s'", (int)len, q);
    if (!csv_import_row_ok(base)) return;
    trow_t *r = &t->rows[t->nrows++];
    r->name = csv_import_cell_dup(base, C_NAME);
    r->qty = csv_import_cell_dup(base, C_QTY);
    r->note = csv_import_cell_dup(base, C_NOTE);
    r->line = line;
    assert_true(r->name && r->qty && r->note);
}

/* A chunk reply as the network would hand it over: packed, then unpacked, so the
 * importer reads and frees it exactly as it does a server's. */
static ProtobufCMessage *t_reply(int applied, uint32_t inserted, Closeloop__RowError *rej) {
    Closeloop__UnitImportResult r = CLOSELOOP__UNIT_IMPORT_RESULT__INIT;
    r.applied = applied;
    r.inserted = inserted;
    r.updated = 1000; /* not a summary key: must not be counted */
    r.n_errors = rej ? 1 : 0;
    r.errors = rej ? &rej : NULL;
    uint8_t buf[512];
    size_t len = closeloop__unit_import_result__pack(&r, buf);
    assert_true(len <= sizeof buf);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&closeloop__unit_import_result__descriptor, NULL, len, buf);
    assert_non_null(m);
    return m;
}

/* Rows [first, first + n) of the chunk: checked like a server would (a row on
 * reject_line is unknown to it), and applied unless check_only, when nothing is kept. */
/* An applied reply of ItemBatchResult's shape, with a warning about line. */
static ProtobufCMessage *t_warn_reply(uint32_t inserted, uint32_t line) {
    Closeloop__RowError w = CLOSELOOP__ROW_ERROR__INIT, *wp = &w;
    w.line = line;
    w.message = "inspected_on 2027-07-15 is after round handover (交付) is planned to end";
    Closeloop__ItemBatchResult r = CLOSELOOP__ITEM_BATCH_RESULT__INIT;
    r.applied = 1;
    r.inserted = inserted;
    r.n_warnings = 1;
    r.warnings = &wp;
    uint8_t buf[512];
    size_t len = closeloop__item_batch_result__pack(&r, buf);
    assert_true(len <= sizeof buf);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&closeloop__item_batch_result__descriptor, NULL, len, buf);
    assert_non_null(m);
    return m;
}

static int t_send(csv_import_t *base, size_t first, size_t n, int check_only,
                  ProtobufCMessage **reply) {
    timport_t *t = (timport_t *)base;
    assert_true(first + n <= t->nrows);
    size_t bytes = 0; /* as if packed: the rows' text and a little per row */
    for (size_t i = first; i < first + n; i++)
        bytes += strlen(t->rows[i].name) + strlen(t->rows[i].qty) + strlen(t->rows[i].note) + 8;
    if (base->max_frame && bytes > base->max_frame) {
        t->ntoobig++;
        *reply = NULL;
        return CL_ETOOBIG;
    }
    if (check_only) t->nchecks++;
    for (size_t i = first; i < first + n; i++) {
        if (t->rows[i].line != t->reject_line) continue;
        Closeloop__RowError rej = CLOSELOOP__ROW_ERROR__INIT;
        rej.line = t->reject_line;
        rej.message = "no such thing on the server";
        *reply = t_reply(0, 0, &rej);
        return CL_OK;
    }
    if (check_only) {
        *reply = t_reply(0, 0, NULL);
        return CL_OK;
    }
    assert_true(t->nchunks_sent < MAX_SENT && t->nsent + n <= MAX_SENT);
    t->chunk_rows_sent[t->nchunks_sent++] = n;
    for (size_t i = first; i < first + n; i++) {
        trow_t *r = &t->sent[t->nsent++];
        r->name = strdup(t->rows[i].name);
        r->qty = strdup(t->rows[i].qty);
        r->note = strdup(t->rows[i].note);
        r->line = t->rows[i].line;
    }
    int warn = 0;
    for (size_t i = first; i < first + n; i++)
        warn |= t->warn_line && t->rows[i].line == t->warn_line;
    *reply = warn ? t_warn_reply((uint32_t)n, t->warn_line) : t_reply(1, (uint32_t)n, NULL);
    return CL_OK;
}

static const csv_import_spec_t spec = {
    .label = "test import",
    .done_word = "loaded",
    .trim = 1,
    CSV_IMPORT_TABLES,
    CSV_IMPORT_OPS(t),
};

/* ---- running it --------------------------------------------------------------------- */

typedef struct result {
    int exit_code;
    char out[8192]; /* standard output */
    char err[8192]; /* standard error */
} result_t;

static void slurp(const char *path, char *buf, size_t cap) {
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

/* Imports content (len bytes) as file "t.csv" in chunks of chunk rows, into t and r. */
static void run_import(timport_t *t, const char *content, size_t len, size_t chunk,
                       uint32_t reject_line, result_t *r) {
    static cli_settings_t settings; /* zero: table format */
    char path[PATH_MAX + 16], out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(content, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);

    memset(t, 0, sizeof *t);
    memset(r, 0, sizeof *r);
    t->warn_line = opts.warn_line;
    settings.format = CLI_FMT_CSV;
    t->base.spec = &spec;
    t->base.s = &settings;
    t->base.file = "t.csv";
    t->base.chunk_rows = chunk;
    t->base.check = opts.check;
    t->base.max_frame = opts.max_frame;
    t->base.progress_out = opts.progress;
    t->reject_line = reject_line;

    fp = fopen(path, "rb");
    assert_non_null(fp);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved_out >= 0 && saved_err >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    r->exit_code = csv_import_stream(&t->base, fp);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(fo);
    close(fe);
    fclose(fp);
    free(t->rows);
    slurp(out_path, r->out, sizeof r->out);
    slurp(err_path, r->err, sizeof r->err);
}

static void sent_free(timport_t *t) {
    for (size_t i = 0; i < t->nsent; i++) {
        free(t->sent[i].name);
        free(t->sent[i].qty);
        free(t->sent[i].note);
    }
}

/* How many lines of s start with prefix. */
static int lines_starting(const char *s, const char *prefix) {
    int n = 0;
    for (const char *p = s; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        if (strncmp(p, prefix, strlen(prefix)) == 0) n++;
    return n;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

#define RUN(t, text, chunk, reject, r) run_import(t, text, sizeof(text) - 1, chunk, reject, r)

static void expect_row(const timport_t *t, size_t i, const char *name, const char *qty,
                       const char *note, uint32_t line) {
    assert_true(i < t->nsent);
    assert_string_equal(t->sent[i].name, name);
    assert_string_equal(t->sent[i].qty, qty);
    assert_string_equal(t->sent[i].note, note);
    assert_int_equal(t->sent[i].line, line);
}

/* The run's exit code and the number of rows sent; its standard error and standard
 * output too where given (NULL: the test looks at them itself). */
static void expect_run(const timport_t *t, const result_t *r, int exit_code, size_t nsent,
                       const char *err, const char *out) {
    assert_int_equal(r->exit_code, exit_code);
    assert_int_equal(t->nsent, nsent);
    if (err) assert_string_equal(r->err, err);
    if (out) assert_string_equal(r->out, out);
}

/* ---- tests -------------------------------------------------------------------------- */

/* A byte order mark before the header, CRLF line ends: neither reaches a cell. */
static void test_bom_crlf(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "\xEF\xBB\xBFname,qty,note\r\nbolt,12,grey\r\nnut,7,\r\n", 500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_OK, 2, "",
               "file,rows_read,inserted,rejected_chunks,rejected_rows,chunks\n"
               "t.csv,2,2,0,0,1\n");
    expect_row(&t, 0, "bolt", "12", "grey", 2);
    expect_row(&t, 1, "nut", "7", "", 3);
    sent_free(&t);
}

/* Quoted fields with commas, quotes and line ends; the rows after a multi-line field
 * keep their own line numbers; blank lines are skipped; cells are trimmed. */
static void test_quoted_fields(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t,
        "name,qty,note\n"
        "\"Smith, J\",1,\"line one\nline two\"\n"
        "\n"
        "  washer ,2,\"say \"\"hi\"\"\"\n"
        "\"a\r\nb\",3,x\n"
        "last,4,\n",
        500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_OK, 4, "", NULL);
    expect_row(&t, 0, "Smith, J", "1", "line one\nline two", 2);
    expect_row(&t, 1, "washer", "2", "say \"hi\"", 5);
    expect_row(&t, 2, "a\r\nb", "3", "x", 6);
    expect_row(&t, 3, "last", "4", "", 8);
    sent_free(&t);
}

/* Columns in any order, case and blanks ignored; an optional column may be missing. */
static void test_header_order(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, " QTY , Name\n5,pipe\n", 500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_OK, 1, "", NULL);
    expect_row(&t, 0, "pipe", "5", "", 2);
    sent_free(&t);
}

/* An unknown column, a missing required one, a repeated one: one fatal line each,
 * nothing sent, no summary. */
static void test_header_errors(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"name,qty,colour\nx,1,red\n",
         "cloop: t.csv:1: unknown column 'colour' (known: name, qty, note)\n"},
        {"name,note\nx,y\n", "cloop: t.csv:1: missing column 'qty' (required: name, qty)\n"},
        {"name,qty,Name\nx,1,y\n", "cloop: t.csv:1: column 'name' appears twice\n"},
        {"\n\n", "cloop: t.csv: the file is empty: it needs a header line naming the columns "
                 "(name, qty, note, ...)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        timport_t t;
        result_t r;
        run_import(&t, cases[i].text, strlen(cases[i].text), 500, 0, &r);
        expect_run(&t, &r, CLI_EXIT_FAIL, 0, cases[i].err, "");
        assert_int_equal(t.base.rows_read, 0);
    }
}

/* A bad row: exactly one error line, with its line number, and its chunk is not sent. */
static void test_bad_row(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty,note\nbolt,1,\"two\nlines\"\nnut,x1,\nwasher,3,\n", 500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 0,
               "cloop: t.csv: lines 2-5 (chunk 1, 3 rows) rejected, nothing in it was loaded\n"
               "t.csv:4: bad qty 'x1'\n"
               "cloop: t.csv: 1 of 1 chunks (3 rows) were rejected; fix the lines listed above "
               "and import the file again\n",
               "file,rows_read,inserted,rejected_chunks,rejected_rows,chunks\n"
               "t.csv,3,0,1,3,1\n");
    assert_int_equal(t.nchunks_sent, 0);
    assert_int_equal(lines_starting(r.err, "t.csv:"), 1);
}

/* The engine's own row checks: field count, an empty required cell, UTF-8 (in a file
 * that is UTF-8 but for the one broken line). */
static void test_row_checks(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty,note\na,1,x,extra\n,2,\nb\xff,3,\nc,4,螺丝钉螺母\n", 500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 0, NULL, NULL);
    assert_int_equal(lines_starting(r.err, "t.csv:"), 3);
    assert_non_null(strstr(r.err, "t.csv:2: expected 3 fields as in the header, found 4\n"));
    assert_non_null(strstr(r.err, "t.csv:3: empty name\n"));
    assert_non_null(strstr(r.err, "t.csv:4: name is not valid UTF-8 text\n"));
}

/* Chunks of 3: the one holding a bad row is rejected, the others are sent; the summary
 * counts rows, chunks and rejections. */
static void test_chunking(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty\na,1\nb,2\nc,3\nd,4\ne,bad\nf,6\ng,7\n", 3, 0, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 4,
               "cloop: t.csv: lines 5-7 (chunk 2, 3 rows) rejected, nothing in it was loaded\n"
               "t.csv:6: bad qty 'bad'\n"
               "cloop: t.csv: 1 of 3 chunks (3 rows) were rejected; fix the lines listed above "
               "and import the file again\n",
               "file,rows_read,inserted,rejected_chunks,rejected_rows,chunks\n"
               "t.csv,7,4,1,3,3\n");
    assert_int_equal(t.nchunks_sent, 2);
    assert_int_equal(t.chunk_rows_sent[0], 3);
    assert_int_equal(t.chunk_rows_sent[1], 1);
    expect_row(&t, 0, "a", "1", "", 2);
    expect_row(&t, 2, "c", "3", "", 4);
    expect_row(&t, 3, "g", "7", "", 8);
    sent_free(&t);
}

/* Many rows across the engine's 64 KiB read blocks, in chunks of 7: every row arrives
 * once, in order, with its line. */
static void test_chunking_blocks(void **state) {
    (void)state;
    enum { ROWS = 60, CHUNK = 7 };
    char *text = malloc(200000);
    assert_non_null(text);
    size_t o = (size_t)sprintf(text, "name,qty,note\n");
    char pad[3001];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < ROWS; i++)
        o += (size_t)sprintf(text + o, "row%d,%d,\"%s\"\n", i, i, pad); /* ~3 KiB a row */
    assert_true(o > 2 * 65536);
    timport_t t;
    result_t r;
    run_import(&t, text, o, CHUNK, 0, &r);
    free(text);
    expect_run(&t, &r, CLI_EXIT_OK, ROWS, "", NULL);
    assert_int_equal(t.nchunks_sent, (ROWS + CHUNK - 1) / CHUNK);
    for (size_t c = 0; c + 1 < t.nchunks_sent; c++)
        assert_int_equal(t.chunk_rows_sent[c], CHUNK);
    assert_int_equal(t.chunk_rows_sent[t.nchunks_sent - 1], ROWS % CHUNK);
    for (int i = 0; i < ROWS; i++) {
        char name[16], qty[16];
        snprintf(name, sizeof name, "row%d", i);
        snprintf(qty, sizeof qty, "%d", i);
        expect_row(&t, (size_t)i, name, qty, pad, (uint32_t)i + 2);
    }
    sent_free(&t);
}

/* The "server" rejects a chunk with a row error: reported with the line it names, the
 * import goes on. */
static void test_server_rejects_chunk(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty\na,1\nb,2\nc,3\nd,4\n", 2, 5, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 2,
               "cloop: t.csv: lines 4-5 (chunk 2, 2 rows) rejected, nothing in it was loaded\n"
               "t.csv:5: no such thing on the server\n"
               "cloop: t.csv: 1 of 2 chunks (2 rows) were rejected; fix the lines listed above "
               "and import the file again\n",
               NULL);
    sent_free(&t);
}

/* Malformed CSV stops the import with one line naming where; the chunks before stay.
 * A quote left open names the line its record starts on, not the previous record's. */
static void test_malformed(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty\na,1\nb,2\nc\"x,3\n", 2, 0, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 2, NULL, NULL);
    assert_int_equal(count_lines(r.err), 1);
    assert_int_equal(lines_starting(r.err, "cloop: t.csv:4: malformed CSV ("), 1);
    sent_free(&t);

    RUN(&t, "name,qty\na,1\n\"open,2\n", 500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 0,
               "cloop: t.csv:3: malformed CSV: a quoted field is not closed before the end of "
               "the file\n"
               "cloop: t.csv: the import stopped; nothing from line 2 on was loaded\n",
               NULL);
}

/* ---- issue 8: what a site clerk runs into ------------------------------------------- */

/* text converted from UTF-8 to GB18030 (as Chinese Excel saves "CSV"), malloc'd. */
static char *to_gbk(const char *text, size_t *len) {
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t inleft = strlen(text), cap = inleft * 2 + 16, outleft = cap;
    char *out = malloc(cap), *o = out, *in = (char *)text;
    assert_non_null(out);
    assert_int_equal(iconv(cd, &in, &inleft, &o, &outleft), 0);
    iconv_close(cd);
    *len = cap - outleft;
    return out;
}

/* A GBK file is converted, said in one line, and its rows arrive as UTF-8. */
static void test_gbk_converted(void **state) {
    (void)state;
    size_t len;
    char *gbk = to_gbk("\xEF\xBB\xBFname,qty,note\r\n防水层,1,卫生间地漏周边渗水\r\n门窗,2,"
                       "推拉窗关闭不严\r\n",
                       &len); /* with the byte order mark, as iconv converts it to GB18030's own */
    timport_t t;
    result_t r;
    run_import(&t, gbk, len, 500, 0, &r);
    free(gbk);
    expect_run(&t, &r, CLI_EXIT_OK, 2, NULL, NULL);
    assert_int_equal(count_lines(r.err), 1);
    assert_int_equal(lines_starting(r.err, "cloop: t.csv is GBK (GB18030), not UTF-8: converted"),
                     1);
    expect_row(&t, 0, "防水层", "1", "卫生间地漏周边渗水", 2);
    expect_row(&t, 1, "门窗", "2", "推拉窗关闭不严", 3);
    sent_free(&t);
}

/* Neither UTF-8 nor GB18030: refused in one line, nothing sent. */
static void test_undecodable_refused(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty\na,1\nb\xff\xfe\x80,2\nc\x80,3\n", 500, 0, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 0, NULL, "");
    assert_int_equal(count_lines(r.err), 1);
    assert_int_equal(lines_starting(r.err, "cloop: t.csv:3: the file is neither UTF-8 nor GBK"), 1);
    assert_int_equal(t.nchecks, 0);
}

/* A chunk with an error found here is still checked by the server: its server-side
 * errors come out in the same run, sorted by line, and nothing of it is applied. */
static void test_one_pass_all_errors(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    RUN(&t, "name,qty\na,1\nb,x\nc,3\nd,4\n", 500, 5, &r);
    expect_run(&t, &r, CLI_EXIT_FAIL, 0,
               "cloop: t.csv: lines 2-5 (chunk 1, 4 rows) rejected, nothing in it was loaded\n"
               "t.csv:3: bad qty 'x'\n"
               "t.csv:5: no such thing on the server\n"
               "cloop: t.csv: 1 of 1 chunks (4 rows) were rejected; fix the lines listed above "
               "and import the file again\n",
               NULL);
    assert_int_equal(t.nchecks, 1);
    assert_int_equal(t.nchunks_sent, 0);
}

/* --check: every chunk is only checked, nothing is applied, and it says so. */
static void test_check_only(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    opts.check = 1;
    RUN(&t, "name,qty\na,1\nb,2\nc,3\n", 2, 0, &r);
    opts.check = 0;
    expect_run(&t, &r, CLI_EXIT_OK, 0,
               "cloop: t.csv: checked only, nothing was written: no errors in 3 rows\n",
               "file,rows_read,inserted,rejected_chunks,rejected_rows,chunks\n"
               "t.csv,3,0,0,0,2\n");
    assert_int_equal(t.nchecks, 2);
    opts.check = 1;
    RUN(&t, "name,qty\na,1\nb,2\nc,3\n", 2, 3, &r);
    opts.check = 0;
    expect_run(&t, &r, CLI_EXIT_FAIL, 0, NULL, NULL);
    assert_non_null(strstr(r.err, "t.csv:3: no such thing on the server\n"));
    assert_non_null(strstr(r.err, "checked only, nothing was written: 1 of 2 chunks"));
}

/* 100 lines with the same error: a screenful of them, then the count of the rest. */
static void test_screenful(void **state) {
    (void)state;
    char *text = malloc(8192);
    assert_non_null(text);
    size_t o = (size_t)sprintf(text, "name,qty\n");
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(text + o, "n%d,x%d\n", i, i);
    timport_t t;
    result_t r;
    run_import(&t, text, o, 30, 0, &r);
    free(text);
    expect_run(&t, &r, CLI_EXIT_FAIL, 0, NULL, NULL);
    assert_int_equal(lines_starting(r.err, "t.csv:"), CSV_IMPORT_SCREENFUL);
    assert_int_equal(lines_starting(r.err, "cloop: t.csv: ... and 80 more lines with the same "
                                           "error as line 2"),
                     1);
    assert_int_equal(lines_starting(r.err, "cloop: t.csv: lines "), 4); /* 4 chunk headings */
    assert_true(count_lines(r.err) <= CSV_IMPORT_SCREENFUL + 8);
}

/* A chunk larger than the server's frame limit goes in parts: every row once, in order. */
static void test_split_to_frame(void **state) {
    (void)state;
    char *text = malloc(8192);
    assert_non_null(text);
    size_t o = (size_t)sprintf(text, "name,qty,note\n");
    for (int i = 0; i < 20; i++)
        o += (size_t)sprintf(text + o, "row%02d,%d,%s\n", i, i,
                             "a note of about a hundred bytes as a long description would be "
                             "............................");
    timport_t t;
    result_t r;
    opts.max_frame = 400; /* three rows of ~110 bytes fit, four do not */
    run_import(&t, text, o, 20, 0, &r);
    opts.max_frame = 0;
    free(text);
    expect_run(&t, &r, CLI_EXIT_OK, 20, "",
               "file,rows_read,inserted,rejected_chunks,rejected_rows,"
               "chunks\nt.csv,20,20,0,0,1\n");
    assert_true(t.ntoobig > 0);
    for (size_t c = 0; c < t.nchunks_sent; c++)
        assert_true(t.chunk_rows_sent[c] <= 3);
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "row%02d", i);
        assert_string_equal(t.sent[i].name, name);
        assert_int_equal(t.sent[i].line, (uint32_t)i + 2);
    }
    sent_free(&t);
}

/* The server's warnings reach the screen as FILE:LINE: warning: ..., the rows recorded. */
static void test_warnings_shown(void **state) {
    (void)state;
    timport_t t;
    result_t r;
    opts.warn_line = 3;
    RUN(&t, "name,qty\na,1\nb,2\n", 500, 0, &r);
    opts.warn_line = 0;
    expect_run(&t, &r, CLI_EXIT_OK, 2,
               "t.csv:3: warning: inspected_on 2027-07-15 is after round handover (交付) is "
               "planned to end\n",
               NULL);
    sent_free(&t);
}

/* Progress counts rows done and the share of the file's bytes they end at: after the
 * first of four equal chunks it is 25%, not what was read ahead (the whole small file). */
static void test_progress_true(void **state) {
    (void)state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/progress", dir);
    FILE *pf = fopen(path, "w+");
    assert_non_null(pf);
    opts.progress = pf;
    timport_t t;
    result_t r;
    /* header and rows of 10 bytes each: 8 rows in chunks of 2 */
    RUN(&t,
        "name,qty\n"
        "aaaaaa,11\n"
        "bbbbbb,22\n"
        "cccccc,33\n"
        "dddddd,44\n"
        "eeeeee,55\n"
        "ffffff,66\n"
        "gggggg,77\n"
        "hhhhhh,88\n",
        2, 0, &r);
    opts.progress = NULL;
    expect_run(&t, &r, CLI_EXIT_OK, 8, NULL, NULL);
    sent_free(&t);
    rewind(pf);
    char lines[4][128];
    int n = 0;
    while (n < 4 && fgets(lines[n], sizeof lines[n], pf))
        n++;
    fclose(pf);
    assert_int_equal(n, 4);
    /* (9 + 2*10) / 89 bytes = 32%; 49/89 = 55%; 69/89 = 77%; 100% */
    assert_true(strncmp(lines[0], "test import: 2 rows (32%), ", 27) == 0);
    assert_true(strncmp(lines[1], "test import: 4 rows (55%), ", 27) == 0);
    assert_true(strncmp(lines[2], "test import: 6 rows (77%), ", 27) == 0);
    assert_true(strncmp(lines[3], "test import: 8 rows (100%), ", 28) == 0);
    assert_non_null(strstr(lines[3], " rows/s\n"));
}

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("CL_TEST_TMP");
    char cmd[PATH_MAX + 32];
    if (tmp && *tmp) {
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", tmp);
        if (system(cmd) != 0) return -1;
    }
    snprintf(dir, sizeof dir, "%s/csv-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bom_crlf),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_header_order),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_bad_row),
        cmocka_unit_test(test_row_checks),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_chunking_blocks),
        cmocka_unit_test(test_server_rejects_chunk),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_gbk_converted),
        cmocka_unit_test(test_undecodable_refused),
        cmocka_unit_test(test_one_pass_all_errors),
        cmocka_unit_test(test_check_only),
        cmocka_unit_test(test_screenful),
        cmocka_unit_test(test_split_to_frame),
        cmocka_unit_test(test_warnings_shown),
        cmocka_unit_test(test_progress_true),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
