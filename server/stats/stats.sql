-- stats.sql - HQ statistics and contractor scorecards: thin calls of the stats area's SQL
-- functions (cl_stats, cl_scorecard, cl_stats_data_age_ms in migration 020, defined in
-- docs/STATS.md), read on the analytics pool (which may be a streaming replica). Every
-- statement takes the session scope first ($1 role, $2 company, $3 contractor,
-- $4 projects); the functions count only what that scope sees.

-- What an answer needs besides its rows: the trade a category filter names (its code, or
-- its Chinese name: 土建 -> civil; NULL when $1 names no trade; '' for ''), and how far the
-- answering database is behind the primary in milliseconds (0 on the primary). The rows'
-- statements resolve their filter the same way, so a name and its code give the same
-- figures.
PREPARE stats_context AS
SELECT CASE WHEN $1::text = '' THEN ''
            ELSE (SELECT t.code FROM trades t WHERE t.code = $1::text OR t.name_zh = $1::text
                   ORDER BY t.code = $1::text DESC, t.code LIMIT 1) END AS code,
       cl_stats_data_age_ms() AS data_age_ms;

-- The statistics: $5 company, $6 project, $7 contractor (0: no filter), $8 category (code
-- or Chinese name, '': none), $9 layout, $10 round kind ('': none), $11 from, $12 to (NULL:
-- open), $13 and $14 the grouping dimensions ('': none), $15 the most rows returned (the
-- server asks one more than it sends, to know it truncated). The handover not-taken
-- reasons come as one text, "count:bytes:reason" repeated, most first: an array of free
-- text read without a parser of PostgreSQL's array syntax.
PREPARE stats_rows AS
SELECT s.k1_id, s.k1_code, s.k1_name, s.k2_id, s.k2_code, s.k2_name,
       s.units_inspected, s.units_total, s.items_found, s.items_per_unit,
       s.tickets_opened, s.tickets_closed, s.tickets_nofix, s.open_now, s.overdue_now,
       s.closed_of_opened, s.nofix_of_opened, s.closure_rate,
       s.verifications, s.reworks, s.rework_rate, s.close_p50_days, s.close_p90_days,
       s.tl_no_deadline, s.tl_overdue_open, s.tl_in_time_open, s.tl_closed_late,
       s.tl_closed_in_time,
       s.units_accepted, s.units_accepted_with_items, s.units_not_taken,
       (SELECT coalesce(string_agg(u.c::text || ':' || octet_length(coalesce(u.r, ''))::text
                                   || ':' || coalesce(u.r, ''), '' ORDER BY u.o), '')
          FROM unnest(s.not_taken_reasons, s.not_taken_counts) WITH ORDINALITY AS u(r, c, o))
           AS not_taken,
       s.defects_raised, s.cases_raised, s.checks_done, s.checks_found,
       s.repaired_reports, s.response_hours_mean
  FROM cl_stats($1::text, $2::bigint, $3::bigint, $4::bigint[],
                $5::bigint, $6::bigint, $7::bigint,
                coalesce((SELECT t.code FROM trades t
                           WHERE t.code = $8::text OR t.name_zh = $8::text
                           ORDER BY t.code = $8::text DESC, t.code LIMIT 1), $8::text),
                $9::text, $10::text, $11::date, $12::date, $13::text, $14::text) AS s
 LIMIT $15::bigint;

-- The contractors' scorecards of a month: $5 company (0: every one the caller sees), $6
-- trade (code or Chinese name, '': every trade), $7 the month's first day.
PREPARE stats_scorecard AS
SELECT s.contractor_id, s.contractor_name, s.trade, s.trade_name, s.tickets_assigned,
       s.repaired_reports, s.response_hours_mean, s.verifications, s.reworks, s.rework_rate,
       s.late_repairs, s.overdue_open_now, s.rank, s.peers
  FROM cl_scorecard($1::text, $2::bigint, $3::bigint, $4::bigint[], $5::bigint,
                    coalesce((SELECT t.code FROM trades t
                               WHERE t.code = $6::text OR t.name_zh = $6::text
                               ORDER BY t.code = $6::text DESC, t.code LIMIT 1), $6::text),
                    $7::date) AS s;
