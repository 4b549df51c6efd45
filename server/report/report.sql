-- report.sql - the reports: the daily handover report (交房日报表) of a project, and the
-- key-handover readiness of a building. Both read on the analytics pool (which may be a
-- streaming replica). Every statement takes the session scope first ($1 role, $2
-- company, $3 contractor, $4 projects); a project out of scope reads like a missing one.
-- Days are days of the database session's TimeZone.

-- The daily report, four statements in one batch: $5 project, $6 date.
-- The manual-dispatch backlog is the project's tickets waiting in state 'dispatch' now
-- (tickets_dispatch), and how many days the oldest of them has waited since it was found.
-- Timeliness is classified per distinct (state, deadline, closing day), not per ticket:
-- a project's tickets share few of them, so a project with a million tickets costs one
-- aggregate pass, not a million calls. Units inspected that day are those with a record
-- dated that day or an item found that day.
PREPARE report_daily_summary AS
WITH prj AS (SELECT p.id, p.name FROM projects p
              WHERE p.id = $5::bigint
                AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     ho AS (SELECT rec.scheduled_on, rec.inspected_on, rec.outcome
              FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id
              JOIN prj ON rec.project_id = prj.id
             WHERE r.kind = 'handover'
               AND (rec.scheduled_on = $6::date OR rec.inspected_on = $6::date)),
     day AS (SELECT rec.unit_id FROM inspection_records rec
               JOIN prj ON rec.project_id = prj.id WHERE rec.inspected_on = $6::date
             UNION SELECT i.unit_id FROM inspection_items i
               JOIN prj ON i.project_id = prj.id WHERE i.inspected_on = $6::date),
     ev AS (SELECT e.action, e.to_state FROM ticket_events e JOIN prj ON e.project_id = prj.id
             WHERE e.at >= $6::date AND e.at < $6::date + 1),
     tl AS (SELECT coalesce(sum(n) FILTER (WHERE c = 'no_deadline'), 0) AS no_deadline,
                   coalesce(sum(n) FILTER (WHERE c = 'overdue_open'), 0) AS overdue_open,
                   coalesce(sum(n) FILTER (WHERE c = 'in_time_open'), 0) AS in_time_open,
                   coalesce(sum(n) FILTER (WHERE c = 'closed_late'), 0) AS closed_late,
                   coalesce(sum(n) FILTER (WHERE c = 'closed_in_time'), 0) AS closed_in_time
              FROM (SELECT cl_ticket_timeliness(g.state, g.deadline, g.closed_day) AS c, g.n
                      FROM (SELECT t.state, t.deadline, t.closed_at::date AS closed_day,
                                   count(*) AS n
                              FROM tickets t JOIN prj ON t.project_id = prj.id
                             GROUP BY 1, 2, 3) AS g) AS x),
     dsp AS (SELECT count(*) AS waiting, min(t.found_on) AS oldest
               FROM tickets t JOIN prj ON t.project_id = prj.id
              WHERE t.state = 'dispatch')
SELECT prj.name AS project_name,
       (SELECT count(*) FROM ho WHERE scheduled_on = $6::date) AS units_scheduled,
       (SELECT count(*) FROM ho WHERE inspected_on = $6::date) AS units_inspected,
       (SELECT count(*) FROM ho WHERE inspected_on = $6::date
                                  AND outcome IN ('accepted', 'accepted_with_items'))
           AS units_accepted,
       (SELECT count(*) FROM ho WHERE inspected_on = $6::date
                                  AND outcome = 'accepted_with_items')
           AS units_accepted_with_items,
       (SELECT count(*) FROM ho WHERE inspected_on = $6::date
                                  AND outcome = 'not_taken_over') AS units_not_taken_over,
       (SELECT count(*) FROM inspection_items i
         WHERE i.project_id = prj.id AND i.inspected_on = $6::date) AS items_raised,
       (SELECT count(DISTINCT unit_id) FROM day) AS units_with_items,
       (SELECT count(*) FROM ev WHERE to_state IN ('closed', 'nofix')) AS tickets_closed,
       (SELECT count(*) FROM ev WHERE action = 'verify_fail') AS reworks,
       tl.no_deadline, tl.overdue_open, tl.in_time_open, tl.closed_late, tl.closed_in_time,
       dsp.waiting AS dispatch_waiting,
       coalesce(greatest(current_date - dsp.oldest, 0), 0) AS dispatch_oldest_days
  FROM (VALUES (1)) AS one (x) LEFT JOIN prj ON true CROSS JOIN tl CROSS JOIN dsp;

PREPARE report_daily_reasons AS
SELECT rec.not_taken_reason AS reason, count(*) AS units
  FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id
 WHERE rec.project_id = $5::bigint AND r.kind = 'handover'
   AND cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
   AND rec.inspected_on = $6::date AND rec.outcome = 'not_taken_over'
 GROUP BY rec.not_taken_reason ORDER BY 2 DESC, 1 LIMIT 100;

-- Open tickets by contractor now; overdue is what cl_ticket_timeliness calls
-- overdue_open. $6 is unused here but keeps the batch's parameters uniform.
PREPARE report_daily_contractors AS
SELECT t.contractor_id AS contractor_id, k.name AS contractor_name, count(*) AS open,
       count(*) FILTER (WHERE t.deadline < current_date) AS overdue,
       count(*) FILTER (WHERE t.rework_count > 0) AS reworks
  FROM tickets t JOIN contractors k ON k.id = t.contractor_id
 WHERE t.project_id = $5::bigint AND t.state = 'open'
   AND cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
   AND $6::date IS NOT NULL
 GROUP BY t.contractor_id, k.name ORDER BY 3 DESC, k.name;

-- The ten oldest live tickets, oldest found first (the index tickets_live): chosen
-- first, then joined, since a project's live tickets can be many.
PREPARE report_daily_oldest AS
SELECT tr.* FROM ticket_rows tr
 WHERE tr.key_id IN (SELECT t0.id FROM tickets t0
                      WHERE t0.project_id = $5::bigint
                        AND t0.state IN ('dispatch', 'open', 'repaired')
                        AND cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint,
                                               $4::bigint[])
                        AND $6::date IS NOT NULL
                      ORDER BY t0.found_on, t0.number LIMIT 10)
 ORDER BY tr.key_found_on, tr.number;

-- Readiness of a building for the construction keys: $5 project, $6 building name as
-- the user wrote it ("1" finds 1栋: cl_building_named, migration 010). The items of the
-- mock inspection rounds, and how many are closed or will not be fixed; the building's
-- name as stored, or NULL and the project's building names (at most 50) to list.
PREPARE report_ready_summary AS
SELECT cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
           AS project_visible,
       cl_building_named($5::bigint, $6::text) AS building,
       (SELECT string_agg(n.name, ', ' ORDER BY n.name)
          FROM (SELECT b.name FROM buildings b WHERE b.project_id = $5::bigint
                 ORDER BY b.name LIMIT 50) AS n) AS building_names,
       x.items, x.closed, x.nofix
  FROM (SELECT count(*) AS items, count(*) FILTER (WHERE tr.state = 'closed') AS closed,
               count(*) FILTER (WHERE tr.state = 'nofix') AS nofix
          FROM ticket_rows tr
         WHERE tr.project_id = $5::bigint
           AND cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
           AND tr.building = cl_building_named($5::bigint, $6::text)
           AND tr.round IN ('mock1', 'mock2', 'mock3')) AS x;

-- Its blockers, oldest found first; as many as fit in one frame are sent (report.c).
PREPARE report_ready_blockers AS
SELECT tr.* FROM ticket_rows tr
 WHERE tr.project_id = $5::bigint
   AND cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint, $4::bigint[])
   AND tr.building = cl_building_named($5::bigint, $6::text)
   AND tr.round IN ('mock1', 'mock2', 'mock3')
   AND tr.state NOT IN ('closed', 'nofix')
 ORDER BY tr.key_found_on, tr.number LIMIT 500;
