/* csv_import.h - the CSV import machinery shared by `cloop unit import` (cmd_import.c)
 * and `cloop inspect import` (cmd_inspect.c).
 *
 * The file's encoding is found first, before anything is sent: the whole file is read
 * once (standard input is copied to a temporary file on the way). UTF-8 (an optional
 * byte order mark skipped) is read as it is; a file that is not UTF-8 but decodes cleanly
 * as GB18030 (GBK, what Chinese Excel saves as "CSV") is converted to UTF-8 with glibc's
 * iconv as it is read, said in one line; a file that is neither is refused in one line,
 * and nothing of it is sent. A file that is UTF-8 but for a few broken lines stays UTF-8:
 * those lines are row errors.
 *
 * The file is then read in 64 KiB blocks and parsed by libcsv (strict mode) line by
 * line, so memory stays at one chunk of rows whatever the file's size and the progress
 * line knows the file offset of every row. Line numbers are counted from the line ends
 * libcsv reports (CSV_REPALL_NL) plus the line ends inside quoted fields, so every row
 * knows the line it starts on. The first record is the header and names the columns (in
 * any order) from the importer's spec. Each further row is checked here for field count,
 * UTF-8 and empty required cells, then handed to the importer's row callback, which
 * validates the rest and appends it to its chunk. A chunk goes to the importer's send
 * callback, which sends it and returns the server's per-row errors; a chunk with a row
 * error found here is sent check-only (the server checks its good rows and writes
 * nothing), so one run reports every bad line, the server's included. With --check every
 * chunk is sent check-only. A chunk larger than the server's frame limit (ServerInfo
 * max_frame) is sent in halves. Errors are reported as FILE:LINE: message, at most a
 * screenful (CSV_IMPORT_SCREENFUL lines) of each kind, then the count of the rest; the
 * server's warnings likewise as FILE:LINE: warning: message. A progress line (share of
 * the file's bytes done, rows done per second) is drawn on a terminal and a summary
 * printed at the end.
 *
 * An importer embeds csv_import_t as the first member of its own state, so callbacks can
 * cast back to it. Single-threaded. */
#ifndef CSV_IMPORT_H
#define CSV_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"
#include "cloop.h"
#include "session_store.h"

#define CSV_IMPORT_MAX_FIELDS  64u /* fields kept per record; more is an error anyway */
#define CSV_IMPORT_MAX_COLS    24  /* columns an importer may know */
#define CSV_IMPORT_MAX_SUMMARY 8   /* importer-specific summary counts */
#define CSV_IMPORT_SCREENFUL   20  /* lines printed of one kind of error or warning */
#define CSV_IMPORT_MAX_KINDS   64  /* kinds told apart; more share the last */

typedef struct csv_import csv_import_t;

/* The spec fields every importer fills from tables named by one convention: col_names,
 * col_required and col_nonempty (NCOLS entries each) and summary_keys (the reply's count
 * fields; sizeof gives their number). */
#define CSV_IMPORT_TABLES                                                                          \
    .ncols = NCOLS, .col_names = col_names, .col_required = col_required,                          \
    .col_nonempty = col_nonempty, .nsummary = sizeof summary_keys / sizeof summary_keys[0],        \
    .summary_keys = summary_keys

/* The callbacks of an importer whose functions are named PREFIX_prepare, _row, _send and
 * _reset. */
#define CSV_IMPORT_OPS(prefix)                                                                     \
    .prepare = prefix##_prepare, .row = prefix##_row, .send = prefix##_send, .reset = prefix##_reset

typedef struct csv_import_spec {
    const char *label;        /* progress line prefix: "import", "inspect import" */
    const char *done_word;    /* "imported", "recorded": what rejected rows were not */
    const char *max_cols_tag; /* "at most " or NULL in the too-many-columns message */
    int progress_at_once;     /* the first progress line is drawn at once */
    int trim;                 /* csv_import_cell() strips blanks around a cell */
    int ncols;                /* columns known, at most CSV_IMPORT_MAX_COLS */
    const char *const *col_names;
    const int *col_required; /* the header must name it */
    const int *col_nonempty; /* a row's cell may not be empty (NULL: none) */
    size_t nsummary;         /* im->counts in the summary, between rows_read and rejected_chunks */
    const char *const *summary_keys;

    /* Allocates the chunk's buffers for im->chunk_rows rows: 0, or -1 when out of memory. */
    int (*prepare)(csv_import_t *im);
    /* Validates the current record (line: where it starts; field count, UTF-8 and
     * empty cells already checked) and appends it to the chunk exactly when
     * csv_import_row_ok and not im->stop afterwards. */
    void (*row)(csv_import_t *im, uint32_t line);
    /* Sends rows [first, first + n) of the chunk, check-only when check_only, through
     * csv_import_call: the CL_* code of the call (CL_ETOOBIG, unsent, when larger than
     * the server's frame limit), and on CL_OK the reply, which the caller reads by field
     * name and frees. Every chunk reply has `bool applied` (the rows were applied whole),
     * `repeated RowError errors` (why not, per row), a uint32 count named like each of
     * summary_keys, added to im->counts when applied, and may have `repeated RowError
     * warnings`. */
    int (*send)(csv_import_t *im, size_t first, size_t n, int check_only, ProtobufCMessage **reply);
    /* Frees the rows of the chunk and empties it. */
    void (*reset)(csv_import_t *im);
} csv_import_spec_t;

/* One error found by the client, kept until its chunk is reported. */
typedef struct csv_row_err {
    uint32_t line;
    uint32_t seq; /* order found, for a stable sort by line */
    char msg[480];
} csv_row_err_t;

/* One kind of message (its words with the values taken out), for the screenful limit. */
typedef struct csv_kind {
    char key[96];
    uint64_t shown, more;
    uint32_t first_line; /* the first line reported of this kind */
    int warning;
} csv_kind_t;

struct csv_import {
    const csv_import_spec_t *spec;
    const cli_settings_t *s;
    cli_session_t *ss;
    const char *file;   /* as named on the command line, for messages */
    size_t chunk_rows;  /* --chunk */
    int check;          /* --check: every chunk is only checked; nothing is written */
    uint32_t max_frame; /* the server's frame limit (0: unknown, chunks are never split) */
    FILE *progress_out; /* where to draw progress (NULL: standard error on a terminal);
                         * when set, one line per chunk, for tests */

    /* the record being parsed */
    uint32_t line;                           /* line the parser is on (1-based) */
    uint32_t rec_line;                       /* line the current record started on */
    size_t nfields;                          /* fields seen in the current record */
    char *field[CSV_IMPORT_MAX_FIELDS];      /* the first CSV_IMPORT_MAX_FIELDS of them */
    size_t field_len[CSV_IMPORT_MAX_FIELDS]; /* their lengths */

    /* the header */
    int have_header;              /* the first record has been read */
    size_t ncols;                 /* fields per record */
    int col[CSV_IMPORT_MAX_COLS]; /* field index of each column, -1 when absent */

    /* the chunk being filled */
    size_t in_chunk;                /* rows of the file in this chunk, bad ones included */
    uint32_t first_line, last_line; /* lines of its first and last row */
    csv_row_err_t *errs;            /* errors of this chunk, the client's and the server's */
    size_t nerrs, errs_cap;
    size_t row_nerrs;     /* nerrs when the current row began */
    csv_row_err_t *warns; /* the server's warnings about this chunk */
    size_t nwarns, warns_cap;
    uint32_t *good_lines;  /* line of each good row of the chunk (chunk_rows slots) */
    size_t ngood;          /* good rows: the importer's rows in the chunk */
    uint64_t applied_rows; /* rows of this chunk applied (a split chunk in part) */
    char why[600];         /* why a part of the chunk was refused as a whole */
    uint32_t seq;          /* errors found so far, for csv_row_err_t.seq */
    csv_kind_t kinds[CSV_IMPORT_MAX_KINDS]; /* what was printed, per kind */
    size_t nkinds;

    /* totals */
    uint64_t rows_read, chunks, rejected_chunks, rejected_rows;
    uint64_t counts[CSV_IMPORT_MAX_SUMMARY]; /* the importer's, named by summary_keys */
    int stop;                                /* a fatal error was reported: stop reading */
    uint32_t stop_line; /* the first line not imported because of it (0: none) */
    int exit_code;

    /* the file's encoding */
    void *iconv;   /* an iconv_t from GB18030 when converting, else NULL */
    FILE *spooled; /* standard input copied to a temporary file, else NULL */

    /* progress */
    int tty;            /* stderr is a terminal */
    int shown;          /* a progress line is on the screen */
    off_t size;         /* file size, 0 when unknown */
    off_t consumed;     /* bytes parsed */
    off_t piece_end;    /* file offset of the end of the text being parsed */
    off_t chunk_end;    /* file offset of the end of the chunk's last row */
    off_t done_bytes;   /* file offset up to which every row is done (answered) */
    uint64_t rows_done; /* rows whose chunk the server has answered */
    uint64_t start_ns;  /* when reading began */
    uint64_t last_ns;   /* when progress was last drawn */
};

/* The engine alone, on an open stream, with im->ss already set (NULL when the spec's
 * send needs no session) and im->spec, im->s, im->file and im->chunk_rows as for
 * csv_import_run; im->size may be set for the progress line. Reads fp to its end or to a
 * fatal error, reports and frees what it allocated; leaves fp open. Returns the exit
 * code. */
int csv_import_stream(csv_import_t *im, FILE *fp);

/* The "" of absent or empty cells; every other cell string is malloc'd. */
extern char csv_import_empty[1];

/* Runs the import of im->file with im->spec, im->s and im->chunk_rows set (everything
 * else zero): opens the file and the session, streams, reports and frees what it
 * allocated (the importer frees what its prepare allocated). Returns the exit code. */
int csv_import_run(csv_import_t *im);

/* cli_session_call on im->ss, but a request larger than im->max_frame is not sent:
 * CL_ETOOBIG (the engine then sends the rows in halves). */
int csv_import_call(csv_import_t *im, uint16_t type, const ProtobufCMessage *req,
                    uint16_t reply_type, ProtobufCMessage **reply);

/* The kind of a message, for the screenful limit: its words, with every word that holds
 * a digit, a quote or a non-ASCII character (the values) as '#'. */
void csv_import_kind(const char *msg, char *out, size_t size);

/* A fatal error: reported at once ("cloop: ..."), and the import stops. */
CL_PRINTF(2, 3) void csv_import_fatal(csv_import_t *im, const char *fmt, ...);

/* A row error, reported with its chunk as FILE:LINE: message. */
CL_PRINTF(3, 4) void csv_import_row_error(csv_import_t *im, uint32_t line, const char *fmt, ...);

/* A failed session call that ends the import: says why and stops. */
void csv_import_fail_session(csv_import_t *im, int rc);

/* Whether no error was found in the current row so far. */
int csv_import_row_ok(const csv_import_t *im);

/* Column c of the current record (blanks stripped when the spec says trim), "" when
 * the file has no such column. */
const char *csv_import_cell(const csv_import_t *im, int c, size_t *len);

/* A malloc'd copy of csv_import_cell, csv_import_empty when empty, NULL when out of
 * memory. */
char *csv_import_cell_dup(const csv_import_t *im, int c);

/* Frees *s unless it is csv_import_empty, and sets it to csv_import_empty. */
void csv_import_cell_free(char **s);

/* csv_import_cell_free on the char * fields at offsets offs[0..noffs) of each of the n
 * records of size bytes at rows: what a spec's reset does with its chunk's rows. */
void csv_import_rows_free(void *rows, size_t n, size_t size, const size_t *offs, size_t noffs);

#endif
