/* cmd_import.c - `cloop unit import`: buildings, units and owners from a CSV file, sent
 * to the server in chunks that it applies whole or rejects whole.
 *
 * The file is streamed, chunked and reported by csv_import.c (shared with `inspect
 * import`): errors come out as FILE:LINE: message with the line each row starts on.
 * This file names the columns, checks what the client can already tell is wrong (field
 * count, empty building or unit, floor not a whole number, not UTF-8; such a chunk is
 * rejected, its good rows sent check-only so the server's errors come out in the same
 * run), and sends every chunk as one UnitImportChunk (check_only under --check), waiting
 * for its UnitImportResult before the next is sent. Importing a
 * file again is safe: the server counts rows that are already there as unchanged.
 * Single-threaded; everything is freed before returning. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_util.h"
#include "cloop.h"
#include "csv_import.h"
#include "session_store.h"

#define IMPORT_DEFAULT_CHUNK 500

/* The columns a file may have, in the order of UnitImportRow's fields. */
enum { C_BUILDING, C_UNIT, C_FLOOR, C_LAYOUT, C_OWNER_NAME, C_OWNER_PHONE, C_OWNER_ID, NCOLS };
static const char *const col_names[NCOLS] = {
    "building", "unit", "floor", "layout", "owner_name", "owner_phone", "owner_id_number"};
static const int col_required[NCOLS] = {1, 1, 1, 0, 0, 0, 0};
static const int col_nonempty[NCOLS] = {1, 1, 0, 0, 0, 0, 0};

typedef struct import {
    csv_import_t base;  /* first: the callbacks cast back */
    int64_t project_id; /* --project */

    /* the good rows of the chunk being filled */
    Closeloop__UnitImportRow *rows;  /* chunk_rows slots; nrows filled */
    Closeloop__UnitImportRow **rowp; /* pointers to them, for the message */
    size_t nrows;
} import_t;

/* The counts of the summary (base.counts), after rows_read. */
enum { K_INSERTED, K_UPDATED, K_UNCHANGED, K_BUILDINGS, NKEYS };
static const char *const summary_keys[NKEYS] = {"inserted", "updated", "unchanged",
                                                "buildings_created"};
_Static_assert(NCOLS <= CSV_IMPORT_MAX_COLS && NKEYS <= CSV_IMPORT_MAX_SUMMARY,
               "csv_import.h limits");

/* Limits as text, for the help. */
#define DEFAULT_CHUNK_TEXT CLI_STR(IMPORT_DEFAULT_CHUNK)
#define MAX_CHUNK_TEXT     CLI_STR(CL_LIM_IMPORT_ROWS)
#define SCREENFUL_TEXT     CLI_STR(CSV_IMPORT_SCREENFUL)

const char cmd_unit_import_help[] =
    "Imports the units of a project, with their buildings and owners, from a CSV\n"
    "file (RFC 4180, UTF-8 with or without a byte order mark, or GBK as Chinese Excel\n"
    "saves it, which is converted; '-' reads standard input). The first line names the\n"
    "columns, in any order:\n"
    "  building         building name, e.g. 3 or 3栋 (required; created if new)\n"
    "  unit             unit number, e.g. 3-2-1701 (required)\n"
    "  floor            floor, a whole number (required)\n"
    "  layout           layout type (户型), e.g. TA\n"
    "  owner_name       owner of record\n"
    "  owner_phone      owner's phone\n"
    "  owner_id_number  owner's ID number\n"
    "\n"
    "Rows go to the server in chunks of N rows (default " DEFAULT_CHUNK_TEXT
    ", at most " MAX_CHUNK_TEXT "). The server\n"
    "applies a chunk whole or rejects it whole; rows it already has are counted as\n"
    "unchanged, so importing the same file again is safe. A chunk with a row the\n"
    "client can tell is wrong (field count, empty building or unit, floor not a whole\n"
    "number, not UTF-8) is only checked by the server, so one run lists every bad line;\n"
    "nothing of it is written. --check checks the whole file that way and writes\n"
    "nothing. Errors are listed as FILE:LINE: message (at most " SCREENFUL_TEXT
    " of each kind, then\n"
    "how many more), the import goes on with the next chunk, and the exit status is 1\n"
    "if any chunk was rejected. A chunk larger than the server accepts in one request is\n"
    "sent in parts. A summary (rows read, inserted, updated, unchanged, buildings\n"
    "created, rejected chunks and rows) is printed in the chosen --format; a progress\n"
    "line (share of the file done, rows per second) is shown on a terminal.\n"
    "\n"
    "example: cloop unit import --project 1 units.csv\n";

/* ---- chunks ------------------------------------------------------------------------ */

static const size_t row_strings[] = {offsetof(Closeloop__UnitImportRow, building),
                                     offsetof(Closeloop__UnitImportRow, number),
                                     offsetof(Closeloop__UnitImportRow, layout),
                                     offsetof(Closeloop__UnitImportRow, owner_name),
                                     offsetof(Closeloop__UnitImportRow, owner_phone),
                                     offsetof(Closeloop__UnitImportRow, owner_id_number)};

static void unit_reset(csv_import_t *base) {
    import_t *im = (import_t *)base;
    csv_import_rows_free(im->rows, im->nrows, sizeof *im->rows, row_strings,
                         sizeof row_strings / sizeof row_strings[0]);
    im->nrows = 0;
}

static int unit_prepare(csv_import_t *base) {
    import_t *im = (import_t *)base;
    im->rows = calloc(base->chunk_rows, sizeof *im->rows);
    im->rowp = calloc(base->chunk_rows, sizeof *im->rowp);
    return im->rows && im->rowp ? 0 : -1;
}

static int unit_send(csv_import_t *base, size_t first, size_t n, int check_only,
                     ProtobufCMessage **m) {
    import_t *im = (import_t *)base;
    Closeloop__UnitImportChunk req = CLOSELOOP__UNIT_IMPORT_CHUNK__INIT;
    req.project_id = im->project_id;
    req.n_rows = n;
    req.rows = im->rowp + first;
    req.check_only = check_only;
    return csv_import_call(base, CL_MSG_UNIT_IMPORT_REQ, &req.base, CL_MSG_UNIT_IMPORT_RESULT, m);
}

/* ---- records ----------------------------------------------------------------------- */

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

static void unit_row(csv_import_t *base, uint32_t line) {
    import_t *im = (import_t *)base;
    size_t fi = (size_t)base->col[C_FLOOR];
    int32_t floor = 0;
    if (parse_floor(base->field[fi], base->field_len[fi], &floor) < 0)
        csv_import_row_error(base, line, "floor '%.40s' is not a whole number", base->field[fi]);
    if (!csv_import_row_ok(base)) return;
    Closeloop__UnitImportRow *r = &im->rows[im->nrows];
    closeloop__unit_import_row__init(r);
    r->building = r->number = r->layout = csv_import_empty;
    r->owner_name = r->owner_phone = r->owner_id_number = csv_import_empty;
    r->line = line;
    r->floor = floor;
    char **dst[] = {&r->building,    &r->number,         NULL, &r->layout, &r->owner_name,
                    &r->owner_phone, &r->owner_id_number};
    int oom = 0;
    for (int c = 0; c < NCOLS; c++)
        if (dst[c] && !(*dst[c] = csv_import_cell_dup(base, c))) {
            *dst[c] = csv_import_empty;
            oom = 1;
        }
    im->rowp[im->nrows++] = r;
    if (oom) csv_import_fatal(base, "out of memory");
}

/* ---- the command ------------------------------------------------------------------- */

static const csv_import_spec_t unit_spec = {
    .label = "import",
    .done_word = "imported",
    .max_cols_tag = "at most ",
    CSV_IMPORT_TABLES,
    CSV_IMPORT_OPS(unit),
};

static int parse_import_args(int argc, char **argv, int64_t *project, const char **file,
                             size_t *chunk, int *check) {
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
        if (!dashdash && strcmp(argv[i], "--check") == 0) {
            *check = 1;
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
    if (ch && cli_parse_u64(ch, 1, CL_LIM_IMPORT_ROWS, &n) != CL_OK) {
        cli_errorf("unit import: invalid --chunk '%s': give 1 to %d rows", ch, CL_LIM_IMPORT_ROWS);
        return CLI_EXIT_USAGE;
    }
    *chunk = (size_t)n;
    return CLI_EXIT_OK;
}

int cmd_unit_import(const cli_settings_t *s, int argc, char **argv) {
    import_t im;
    memset(&im, 0, sizeof im);
    int rc = parse_import_args(argc, argv, &im.project_id, &im.base.file, &im.base.chunk_rows,
                               &im.base.check);
    if (rc != CLI_EXIT_OK) return rc;
    im.base.spec = &unit_spec;
    im.base.s = s;
    rc = csv_import_run(&im.base);
    free(im.rows);
    free(im.rowp);
    return rc;
}
