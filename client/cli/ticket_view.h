/* ticket_view.h - how cloop shows tickets, shared by the ticket commands (cmd_ticket.c)
 * and the reports (cmd_report.c): the ticket columns of each output format (which
 * columns, their headers in English or, for the printed HTML lists, Chinese and
 * English, and one ticket's cells). CSV and JSON cells hold the registry's stored names
 * and trade codes, for scripts; the table and HTML, which people read, the Chinese labels
 * of the registry (severity, state) and the trade's Chinese name from the server.
 *
 * A tview_t is the columns of one format as a cli_table_t, which the caller fills (or
 * streams through) and frees with cli_table_free(v->t). Cells point into the ticket
 * message or into a tcells_t the caller provides, so they live as long as both.
 * Single-threaded; no state between calls. */
#ifndef CLI_TICKET_VIEW_H
#define CLI_TICKET_VIEW_H

#include <stddef.h>

#include "msg.h"
#include "output.h"

/* Every column a ticket can show; which formats show which is ticket_view.c's table. */
enum tcol {
    TC_NUMBER,
    TC_ID,
    TC_PROJECT_ID,
    TC_PROJECT,
    TC_BUILDING,
    TC_UNIT,
    TC_ROUND,
    TC_LOCATION,
    TC_CATEGORY,
    TC_DESCRIPTION,
    TC_SEVERITY,
    TC_STATE,
    TC_CONTRACTOR_ID,
    TC_CONTRACTOR,
    TC_REWORK,
    TC_DEADLINE,
    TC_TIMELINESS,
    TC_OVERDUE,
    TC_FOUND,
    TC_AGE,
    TC_RAISED,
    TC_RAISED_AT,
    TC_ENTRY_LAG,
    TC_LAST_NOTE,
    TC_RESULT,
    TC_SIGNATURE,
    TC__N
};

/* The cells of one ticket, all columns; strings point into t or into the buffers. */
typedef struct tcells {
    const char *cell[TC__N];
    char number[16], project_id[24], contractor_id[24], rework[16], age[16], raised[16],
        raised_at[80], entry_lag[16];
} tcells_t;

/* The ticket columns of format f, as a table and the TC_ index of each of its columns. */
typedef struct tview {
    cli_table_t *t;
    cli_format_t f;
    size_t n;
    int map[TC__N];
} tview_t;

enum {
    TV_STATE = 1,   /* show the state in the table and HTML too (lists of mixed states) */
    TV_NOBLANK = 2, /* no blank result and signature columns in HTML (not a work list) */
    TV_PROJECT = 4, /* show the project in the table and HTML too (a list of several) */
};

/* The columns of format f in v (its table allocated); skip: a column to leave out (e.g.
 * TC_CONTRACTOR on one contractor's list), or -1. CL_OK or CL_ENOMEM. */
CL_MUSTCHECK int tview_init(tview_t *v, cli_format_t f, int skip, unsigned flags);

/* The cells of t in v's columns: row[0..v->n), pointing into t and c. */
void tview_row(const tview_t *v, const Closeloop__Ticket *t, tcells_t *c, const char **row);

/* Appends t as a row of v's table. CL_OK or CL_ENOMEM. */
CL_MUSTCHECK int tview_add(tview_t *v, const Closeloop__Ticket *t);

#endif
