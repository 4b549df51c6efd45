/* output.h - how cloop prints results: rows of string cells under a header, rendered as
 * an aligned table for people, CSV (RFC 4180 quoting, LF line ends; a cell a spreadsheet
 * would run as a formula, starting with = + - @ tab or CR, gets a leading single quote,
 * as OWASP advises against CSV injection) or JSON (an array of objects)
 * for scripts, or an A4 print-ready HTML page (UTF-8, Chinese fonts, the header row repeated
 * on every printed page) for lists that go out on paper. Cells are UTF-8; the table aligns by
 * display width, counting East Asian wide characters as two columns. A table owns copies of
 * everything added to it. A cli_stream_t writes CSV, JSON and HTML row by row as rows arrive,
 * so a long streamed list never sits in memory whole; only the aligned table collects. */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "cl_err.h"

typedef enum cli_format {
    CLI_FMT_TABLE = 0, /* aligned columns for a terminal */
    CLI_FMT_CSV,       /* header line, then one line per row */
    CLI_FMT_JSON,      /* [{"col": "cell", ...}, ...] */
    CLI_FMT_HTML,      /* an A4 page with one table, for printing */
} cli_format_t;

/* Parses "table", "csv", "json" or "html". Returns CL_OK or CL_EINVAL. */
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

/* Marks column col as a blank column for handwriting on paper (result, signature): HTML
 * gives it room to write in. Its cells are normally "". */
void cli_table_set_blank(cli_table_t *t, size_t col);

/* What a table holds, for renderers outside output.c (pdf.c): its columns, rows, header
 * cells, cells ("" out of range) and column marks. */
size_t cli_table_ncols(const cli_table_t *t);
size_t cli_table_nrows(const cli_table_t *t);
const char *cli_table_header(const cli_table_t *t, size_t col);
const char *cli_table_cell(const cli_table_t *t, size_t row, size_t col);
int cli_table_is_numeric(const cli_table_t *t, size_t col);
int cli_table_is_blank(const cli_table_t *t, size_t col);
int cli_table_header_hidden(const cli_table_t *t);

/* Writes the table in format f (HTML: a page titled "closeloop"). CL_OK, or CL_EIO when
 * writing failed. */
CL_MUSTCHECK int cli_table_print(const cli_table_t *t, cli_format_t f, FILE *out);

/* Row row of the table as one JSON object {"col": cell, ...} (no newline). */
void cli_table_print_json_row(const cli_table_t *t, size_t row, FILE *out);

/* s as a JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD. */
void cli_json_string(const char *s, FILE *out);

/* s with &, <, >, " and ' escaped for HTML text and attribute values; control characters
 * other than tab and newline and invalid UTF-8 become U+FFFD. */
void cli_html_escape(const char *s, FILE *out);

/* The printed page around HTML output. All strings are UTF-8 text (escaped here). */
typedef struct cli_html_page {
    const char *title; /* e.g. "待维修清单 To-repair list"; also the <title> */
    const char *subtitle; /* e.g. "项目 Project: 万科城 · 施工单位 Contractor: 东方雨虹"; or NULL */
    const char *footer; /* printed once, at the end of the page; or NULL */
    int landscape;      /* A4 landscape, for wide tables */
} cli_html_page_t;

/* The document head, CSS and header block (title, subtitle, generated date and time). */
void cli_html_begin(const cli_html_page_t *p, FILE *out);
/* One table, with an optional caption (an <h2> above it). */
void cli_html_table(const cli_table_t *t, const char *caption, const cli_html_page_t *p, FILE *out);
/* A paragraph of text (escaped), e.g. a verdict line between tables. */
void cli_html_para(const char *text, const char *cls, FILE *out);
/* The closing footer and tags. CL_OK, or CL_EIO when writing failed. */
CL_MUSTCHECK int cli_html_end(const cli_html_page_t *p, FILE *out);
/* begin + table + end. */
CL_MUSTCHECK int cli_table_print_html(const cli_table_t *t, const cli_html_page_t *p, FILE *out);

/* Row-by-row output of one list. The table t gives the columns (header, numeric, blank)
 * and, for CLI_FMT_TABLE only, collects the rows to align them at cli_stream_end. CSV,
 * JSON and HTML rows are written at once. page is used by HTML (NULL: a plain page). */
typedef struct cli_stream {
    cli_table_t *t;              /* columns; rows for the table format (not owned) */
    cli_format_t f;              /* output format */
    FILE *out;                   /* where it goes */
    const cli_html_page_t *page; /* HTML page settings (not owned) */
    size_t rows;                 /* rows written or collected */
    int begun;                   /* the header (CSV line, '[', HTML head) is out */
} cli_stream_t;

void cli_stream_init(cli_stream_t *st, cli_table_t *t, cli_format_t f, FILE *out,
                     const cli_html_page_t *page);
/* Writes the start now (it is written by the first row otherwise); for HTML, set
 * st->page before. */
void cli_stream_begin(cli_stream_t *st);
/* One row of the table's ncols cells. CL_OK, CL_ENOMEM (table format) or CL_EIO. */
CL_MUSTCHECK int cli_stream_row(cli_stream_t *st, const char *const *cells);
/* Closes the list (the table format prints everything now). CL_OK or CL_EIO. */
CL_MUSTCHECK int cli_stream_end(cli_stream_t *st);

/* Columns that s occupies on a terminal (wide CJK characters count 2, combining marks 0,
 * bytes that are not UTF-8 count 1). */
size_t cli_display_width(const char *s);

#endif
