/* output.h - how cloop prints results: rows of string cells under a header, rendered as
 * an aligned table for people, CSV (RFC 4180 quoting, LF line ends) or JSON (an array of objects)
 * for scripts. Cells are UTF-8; the table aligns by display width, counting East Asian wide
 * characters as two columns. A table owns copies of everything added to it. */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "cl_err.h"

typedef enum cli_format {
    CLI_FMT_TABLE = 0, /* aligned columns for a terminal */
    CLI_FMT_CSV,       /* header line, then one line per row */
    CLI_FMT_JSON,      /* [{"col": "cell", ...}, ...] */
} cli_format_t;

/* Parses "table", "csv" or "json". Returns CL_OK or CL_EINVAL. */
CL_MUSTCHECK int cli_format_parse(const char *s, cli_format_t *out);

typedef struct cli_table cli_table_t;

/* A table with ncols columns named by header. NULL on out of memory. */
cli_table_t *cli_table_new(size_t ncols, const char *const *header);
void cli_table_free(cli_table_t *t);

/* Marks column col numeric: right-aligned in a table, a bare number in JSON (null when
 * the cell is empty; a cell that is not a JSON number stays a string). */
void cli_table_set_numeric(cli_table_t *t, size_t col);

/* Leaves the header out of table output (for key/value listings). CSV and JSON keep it. */
void cli_table_hide_header(cli_table_t *t);

/* Appends a row of ncols cells (NULL reads as ""). CL_OK or CL_ENOMEM. */
CL_MUSTCHECK int cli_table_add(cli_table_t *t, const char *const *cells);

/* Writes the table in format f. CL_OK, or CL_EIO when writing failed. */
CL_MUSTCHECK int cli_table_print(const cli_table_t *t, cli_format_t f, FILE *out);

/* Columns that s occupies on a terminal (wide CJK characters count 2, combining marks 0,
 * bytes that are not UTF-8 count 1). */
size_t cli_display_width(const char *s);

#endif
