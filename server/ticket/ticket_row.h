/* ticket_row.h - a repair ticket as the statements of ticket.c and inspection.c select it:
 * the Ticket message's column list, and filling a Closeloop__Ticket from a row. Pure;
 * strings of the filled message point into the PGresult. */
#ifndef CL_TICKET_ROW_H
#define CL_TICKET_ROW_H

#include <libpq-fe.h>

#include "msg.h"

/* The Ticket message's columns (CL_TICKET_NCOLS of them). t is the tickets alias; kind
 * the round kind expression; cs the alias whose category and severity are read (t, or
 * i for the item's). Also needs p (projects), b (buildings), u (units), i
 * (inspection_items) and k (contractors, LEFT JOIN). */
// clang-format off
#define CL_TICKET_COLS(t, kind, cs)                                                       \
    t ".id::text, " t ".project_id, " t ".number, p.name, b.name, u.number, " kind ","    \
    " i.location, " cs ".category, i.description, " cs ".severity, " t ".state,"          \
    " coalesce(" t ".contractor_id, 0), coalesce(k.name, ''), " t ".rework_count,"        \
    " coalesce(to_char(" t ".deadline, 'YYYY-MM-DD'), ''),"                               \
    " cl_ticket_timeliness(" t ".state, " t ".deadline, " t ".closed_at),"                \
    " (extract(epoch FROM " t ".raised_at) * 1000)::bigint,"                              \
    " (extract(epoch FROM " t ".updated_at) * 1000)::bigint, " t ".version,"              \
    " " t ".last_note, greatest(current_date - " t ".raised_at::date, 0),"                \
    " coalesce(i.found_again_of::text, '')"
// clang-format on
#define CL_TICKET_NCOLS 23

/* Fills t from CL_TICKET_COLS starting at column col of row. */
void cl_ticket_row_fill(Closeloop__Ticket *t, const PGresult *res, int row, int col);

#endif
