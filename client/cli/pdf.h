/* pdf.h - cloop's printed pages as PDF (A4, Chinese): the page layer under the PDF reports
 * and lists (pdf_reports.c). A pdf_doc_t collects blocks in order - headings, paragraphs,
 * headline figures, tables, charts, page breaks - and pdf_write lays them out on A4 pages
 * with cairo and pango in the Noto Sans CJK font (fonts-noto-cjk): the first page carries
 * the title, subtitle and generation time, later pages a running title; every page a
 * footer "第 N 页 / 共 M 页". A table that does not fit continues on the next page with
 * its header row repeated; a row is never split. Charts are drawn for black-and-white
 * printing: bars filled with grey levels and hatching, lines with dash patterns and
 * distinct markers, labelled axes and a legend.
 *
 * The document owns copies of everything added to it (tables are copied, chart values
 * too), so the caller may free its own at once. Layout happens twice in pdf_write (once to
 * count the pages, once to draw), so the whole document is held in memory: a printed list
 * is bounded by what people print. Single-threaded; no global state besides fontconfig's. */
#ifndef CLI_PDF_H
#define CLI_PDF_H

#include <stddef.h>
#include <stdio.h>

#include "cl_err.h"
#include "cli_config.h"
#include "output.h"

typedef struct pdf_doc pdf_doc_t;

/* A new document; title (also the PDF title) and subtitle (or NULL) head the first page.
 * landscape: A4 landscape, for wide lists. NULL on out of memory. */
pdf_doc_t *pdf_new(const char *title, const char *subtitle, int landscape);
void pdf_free(pdf_doc_t *d);

/* A section heading (level 1) or a smaller one (level 2). CL_OK or CL_ENOMEM. */
CL_MUSTCHECK int pdf_heading(pdf_doc_t *d, int level, const char *text);
/* A paragraph, wrapped to the page width; small: a smaller grey note. */
CL_MUSTCHECK int pdf_para(pdf_doc_t *d, const char *text, int small);
/* Headline figures: n boxes, each a big value over its label and a small note (e.g. last
 * month's value; notes may be NULL, a note ""), three to a row. */
CL_MUSTCHECK int pdf_figures(pdf_doc_t *d, size_t n, const char *const *labels,
                             const char *const *values, const char *const *notes);
/* A copy of table t under caption (or NULL). Columns marked numeric are right-aligned;
 * blank columns get room for handwriting. Cells wrap inside their column. */
CL_MUSTCHECK int pdf_table(pdf_doc_t *d, const cli_table_t *t, const char *caption);
/* Starts a new page. */
CL_MUSTCHECK int pdf_page_break(pdf_doc_t *d);

enum pdf_chart_kind {
    PDF_CHART_BAR,  /* grouped vertical bars, one group per category */
    PDF_CHART_LINE, /* one line per series over the categories; NAN values leave gaps */
    PDF_CHART_HBAR, /* horizontal bars of one series, a label per bar (progress, 0..1) */
};

#define PDF_MAX_SERIES 4

typedef struct pdf_series {
    const char *name; /* the legend's text */
    const double *v;  /* ncat values; NAN = absent */
} pdf_series_t;

typedef struct pdf_chart {
    enum pdf_chart_kind kind;
    const char *title;   /* above the chart */
    const char *x_title; /* under the x axis (or NULL) */
    const char *y_title; /* beside the y axis (or NULL) */
    size_t ncat;
    const char *const *cat; /* category labels: months, projects */
    size_t nseries;         /* 1..PDF_MAX_SERIES */
    pdf_series_t series[PDF_MAX_SERIES];
    int percent;   /* values are fractions, shown as percent */
    double height; /* of the plot area in points; 0: a default */
} pdf_chart_t;

/* A copy of chart c. CL_OK, CL_EINVAL (no categories or series, too many series) or
 * CL_ENOMEM. */
CL_MUSTCHECK int pdf_chart(pdf_doc_t *d, const pdf_chart_t *c);

/* Lays the document out and writes the PDF to out. CL_OK, CL_EIO when writing failed or
 * cairo reported an error, CL_ENOMEM. *pages (may be NULL) gets the page count. */
CL_MUSTCHECK int pdf_write(pdf_doc_t *d, FILE *out, int *pages);

/* Where a PDF goes: the file path (the -o option), or stdout when path is NULL and stdout
 * is not a terminal. Returns the stream (fclose it when it is not stdout), or NULL after
 * printing why (a terminal would show binary; the file cannot be created). */
FILE *pdf_open_output(const char *what, const char *path);

/* ---- cloop's PDF verbs (pdf_reports.c) ---- */

/* The verbs that take --format pdf, for messages. */
#define CLI_PDF_VERBS "report daily, report monthly, ticket todo, ticket toverify"

/* 1 when `cloop cmd verb` can print PDF. */
int cli_pdf_supported(const char *cmd, const char *verb);

/* Takes "-o FILE" / "--output FILE" out of argv (PDF verbs take it before their own
 * parsing); *path stays NULL when absent. 0, or -1 after a usage error (no value). */
int cli_take_output(int *argc, char **argv, const char **path);

/* `cloop report monthly [--company NAME|ID] --month YYYY-MM --format pdf [-o FILE]`. */
int cmd_report_monthly(const cli_settings_t *s, int argc, char **argv);

/* Writes d to path (pdf_open_output) and frees it; what names the verb in messages.
 * Returns an exit status (CLI_EXIT_OK, CLI_EXIT_USAGE for a terminal, CLI_EXIT_FAIL). */
int cli_pdf_finish(pdf_doc_t *d, const char *what, const char *path);

#endif
