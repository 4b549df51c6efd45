-- 020_stats.sql - HQ statistics (docs/STATS.md): the measures of cl_stats and the
-- contractors' scorecards of cl_scorecard, each with one SQL definition read two ways:
--   raw      from the base tables (the views stat_*_raw), the reference;
--   summary  from coarse summary tables plus their pending deltas (stat_*_now), fast.
--
-- Summaries (keys coarse: a project's company is joined at query time, never stored):
--   stat_units     inspection records by project, round kind, unit layout, inspected_on,
--                  outcome and not-taken reason
--   stat_tickets   the ticket cohort by project, current contractor (0: none), category,
--                  layout, round kind, found_on, state, the deadline (live states only)
--                  and the final timeliness class (final states only)
--   stat_activity  ticket events by project, the event's contractor, category, layout,
--                  round kind, event day and the close-days bucket of a passed verification
--   stat_*_m, stat_*_w  their rollups by month and by week part (an ISO week cut at month
--                  boundaries); cl_stats reads a period as its whole months, the whole week
--                  parts left at its ends and the days left over (docs/STATS.md)
-- Writers never touch a summary row: statement triggers with transition tables append
-- signed deltas to insert-only stat_*_delta tables (no hot rows, one insert per table and
-- statement however many rows an import writes). cl_stats_merge() folds them in (the
-- daemon calls it every stats.merge_interval_ms); a reader adds the pending deltas, so a
-- figure on the primary is exact at the query's snapshot. Bulk loads with the triggers
-- off (session_replication_role = replica) call cl_stats_rebuild().
--
-- Days are the writing session's TimeZone days (event and close days from timestamps): run
-- every session of a database in one TimeZone (the daemon does), or rebuild after a change.
-- Not tracked (a rebuild repairs them; nothing in closeloop does them): changing a round's
-- kind, moving an item to another unit or round, deleting ticket events.

-- The close-days bucket of a passed verification d days after the item was found:
-- 0..30 exact, then the upper bound of 31-45, 46-60, 61-90, 91-180, 181-365, and 366 for
-- anything longer (docs/STATS.md).
CREATE FUNCTION cl_stat_close_bucket(p_days integer) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE WHEN p_days <= 0 THEN 0
                 WHEN p_days <= 30 THEN p_days
                 WHEN p_days <= 45 THEN 45
                 WHEN p_days <= 60 THEN 60
                 WHEN p_days <= 90 THEN 90
                 WHEN p_days <= 180 THEN 180
                 WHEN p_days <= 365 THEN 365
                 ELSE 366 END)::smallint
$$;

-- What the cohort summary stores of a ticket's deadline and timeliness: a live ticket's
-- class moves with today, so its deadline is kept and the class worked out when read; a
-- final ticket's class is fixed (cl_ticket_timeliness's rules), so only the class is kept.
CREATE FUNCTION cl_stat_live(p_state text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT p_state IN ('dispatch', 'open', 'repaired') $$;
CREATE FUNCTION cl_stat_kept_deadline(p_state text, p_deadline date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_state IN ('dispatch', 'open', 'repaired') THEN p_deadline END
$$;
CREATE FUNCTION cl_stat_final_class(p_state text, p_deadline date, p_closed timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_state IN ('dispatch', 'open', 'repaired') THEN ''
                WHEN p_deadline IS NULL THEN 'no_deadline'
                WHEN p_closed::date > p_deadline THEN 'closed_late'
                ELSE 'closed_in_time' END
$$;

-- ---------------------------------------------------------------- raw facts (reference)

-- One row per inspection record with a day: the unit's layout now, the round's kind.
CREATE VIEW stat_units_raw AS
SELECT ir.id AS record_id, ir.unit_id, ir.project_id, r.kind AS round, u.layout,
       ir.inspected_on AS day, coalesce(ir.outcome, '') AS outcome,
       CASE WHEN ir.outcome = 'not_taken_over' THEN ir.not_taken_reason ELSE '' END AS reason
  FROM inspection_records ir
  JOIN units u ON u.id = ir.unit_id
  JOIN inspection_rounds r ON r.id = ir.round_id
 WHERE ir.inspected_on IS NOT NULL;

-- One row per ticket: counted on the day its item was found.
CREATE VIEW stat_tickets_raw AS
SELECT t.id AS ticket_id, i.unit_id, t.project_id, coalesce(t.contractor_id, 0) AS contractor_id,
       t.category, u.layout, r.kind AS round, t.found_on AS day, t.state, t.deadline,
       t.closed_at
  FROM tickets t
  JOIN inspection_items i ON i.id = t.id
  JOIN units u ON u.id = i.unit_id
  JOIN inspection_rounds r ON r.id = i.round_id;

-- One row per ticket event that some measure counts, on the event's day, with the event's
-- contractor (the ticket's then; for a return the one it was taken from):
--   passes   verify_pass (the only way a ticket is closed)   fails   verify_fail
--   nofix    nofix (never closed, never repaired)            repaired  repaired reports
--   resp_ms  for a repaired report: milliseconds since the ticket's latest earlier event
--            with to_state 'open' (when it last became this contractor's to do)
--   late     a repaired report made on a day after the ticket's deadline
--   assigned an event that made the ticket the contractor's (create/dispatch/reassign to
--            'open'; a failed verification sends it back and is not a new assignment)
--   close_days  of a pass: cl_stat_close_bucket(event day - found_on); else -1
CREATE VIEW stat_activity_raw AS
SELECT e.id AS event_id, e.ticket_id, i.unit_id, e.action, t.project_id,
       coalesce(e.contractor_id, 0) AS contractor_id, t.category, u.layout, r.kind AS round,
       e.at::date AS day, t.found_on, t.deadline,
       (e.action = 'verify_pass')::int AS passes,
       (e.action = 'verify_fail')::int AS fails,
       (e.action = 'nofix')::int AS nofix,
       (e.action = 'repaired')::int AS repaired,
       coalesce(round(extract(epoch FROM e.at - po.at) * 1000)::bigint, 0) AS resp_ms,
       (po.at IS NOT NULL)::int AS resp_n,
       coalesce(e.action = 'repaired' AND e.at::date > t.deadline, false)::int AS late,
       (e.to_state = 'open' AND e.action IN ('create', 'dispatch', 'reassign'))::int AS assigned,
       CASE WHEN e.action = 'verify_pass' THEN cl_stat_close_bucket(e.at::date - t.found_on)
            ELSE -1 END::smallint AS close_days
  FROM ticket_events e
  JOIN tickets t ON t.id = e.ticket_id
  JOIN inspection_items i ON i.id = t.id
  JOIN units u ON u.id = i.unit_id
  JOIN inspection_rounds r ON r.id = i.round_id
  LEFT JOIN LATERAL (SELECT max(p.at) AS at FROM ticket_events p
                      WHERE e.action = 'repaired' AND p.ticket_id = e.ticket_id
                        AND p.id < e.id AND p.to_state = 'open') po ON true
 WHERE e.action IN ('verify_pass', 'verify_fail', 'nofix', 'repaired')
    OR (e.to_state = 'open' AND e.action IN ('create', 'dispatch', 'reassign'));

-- ---------------------------------------------------------------- summaries and deltas

CREATE TABLE stat_units (
    project_id  bigint NOT NULL,
    day         date NOT NULL,
    round       text NOT NULL,
    layout      text NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL,
    n           bigint NOT NULL,
    UNIQUE (project_id, day, round, layout, outcome, reason)
);
CREATE TABLE stat_units_delta (LIKE stat_units);
CREATE TABLE stat_units_m (LIKE stat_units,
    UNIQUE (project_id, day, round, layout, outcome, reason));

CREATE TABLE stat_tickets (
    project_id     bigint NOT NULL,
    day            date NOT NULL,          -- found_on
    contractor_id  bigint NOT NULL,        -- 0: none
    category       text NOT NULL,
    layout         text NOT NULL,
    round          text NOT NULL,
    state          text NOT NULL,
    deadline       date,                   -- live states only (cl_stat_kept_deadline)
    final_class    text NOT NULL,          -- final states only (cl_stat_final_class)
    n              bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (project_id, day, contractor_id, category, layout, round, state,
                               deadline, final_class)
);
CREATE TABLE stat_tickets_delta (LIKE stat_tickets);
CREATE TABLE stat_tickets_m (LIKE stat_tickets,
    UNIQUE NULLS NOT DISTINCT (project_id, day, contractor_id, category, layout, round, state,
                               deadline, final_class));
-- The scorecard's overdue-now count reads the live rows by contractor.
CREATE INDEX stat_tickets_open ON stat_tickets_m (contractor_id, deadline) WHERE state = 'open';

CREATE TABLE stat_activity (
    project_id     bigint NOT NULL,
    day            date NOT NULL,          -- the event's day
    contractor_id  bigint NOT NULL,        -- the event's contractor, 0: none
    category       text NOT NULL,
    layout         text NOT NULL,
    round          text NOT NULL,
    close_days     smallint NOT NULL,      -- bucket of the passes counted here; -1 others
    passes         bigint NOT NULL,
    fails          bigint NOT NULL,
    nofix          bigint NOT NULL,
    repaired       bigint NOT NULL,
    resp_ms        bigint NOT NULL,
    resp_n         bigint NOT NULL,
    late           bigint NOT NULL,
    assigned       bigint NOT NULL,
    UNIQUE (project_id, day, contractor_id, category, layout, round, close_days)
);
CREATE TABLE stat_activity_delta (LIKE stat_activity);
CREATE TABLE stat_activity_m (LIKE stat_activity,
    UNIQUE (project_id, day, contractor_id, category, layout, round, close_days));
-- The scorecard reads one month of every contractor.
CREATE INDEX stat_activity_m_day ON stat_activity_m (day, contractor_id);

-- The week-part rollups (stat_*_w): the same keys and counts with the day replaced by the
-- first day of its week part (cl_stat_week_part: an ISO week cut at month boundaries, so
-- a week straddling two months is two rows, each in its month): a row knows both its week
-- and its month, so grouping by month, week or both reads it.
CREATE TABLE stat_units_w (LIKE stat_units,
    UNIQUE (project_id, day, round, layout, outcome, reason));
CREATE TABLE stat_tickets_w (LIKE stat_tickets,
    UNIQUE NULLS NOT DISTINCT (project_id, day, contractor_id, category, layout, round, state,
                               deadline, final_class));
CREATE TABLE stat_activity_w (LIKE stat_activity,
    UNIQUE (project_id, day, contractor_id, category, layout, round, close_days));

-- The rollups are kept by the merge like the day tables. cl_stats reads a period as its
-- whole months from stat_*_m (none when grouped by week), the whole week parts left at
-- either end from stat_*_w, and the days left over (at most six a side) from the day
-- tables through these indexes; cl_scorecard reads stat_*_m (always a whole month).
CREATE INDEX stat_units_day ON stat_units (day);
CREATE INDEX stat_tickets_day ON stat_tickets (day);
CREATE INDEX stat_activity_day ON stat_activity (day);

-- The first day of the week part holding p_day: its ISO week's Monday, or the first of
-- its month when the week began in the month before.
CREATE FUNCTION cl_stat_week_part(p_day date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(p_day - (extract(isodow FROM p_day)::int - 1),
                    p_day - (extract(day FROM p_day)::int - 1))
$$;

-- The whole units (months when p_month, else week parts) inside p_lo..p_hi (either may
-- be infinite): their first and last day, NULLs when there is none.
CREATE FUNCTION cl_stat_whole(p_lo date, p_hi date, p_month boolean,
                              OUT c_lo date, OUT c_hi date)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    lo_start date; lo_end date; hi_start date; hi_end date;
BEGIN
    IF p_lo IS NULL OR p_hi IS NULL OR p_lo > p_hi THEN
        RETURN;
    END IF;
    c_lo := p_lo;
    c_hi := p_hi;
    IF isfinite(p_lo) THEN
        lo_start := CASE WHEN p_month THEN p_lo - (extract(day FROM p_lo)::int - 1)
                         ELSE cl_stat_week_part(p_lo) END;
        lo_end := (date_trunc('month', p_lo::timestamp) + interval '1 month')::date - 1;
        IF NOT p_month THEN
            lo_end := least(lo_end, p_lo - (extract(isodow FROM p_lo)::int - 1) + 6);
        END IF;
        IF p_lo <> lo_start THEN
            c_lo := lo_end + 1;
        END IF;
    END IF;
    IF isfinite(p_hi) THEN
        hi_start := CASE WHEN p_month THEN p_hi - (extract(day FROM p_hi)::int - 1)
                         ELSE cl_stat_week_part(p_hi) END;
        hi_end := (date_trunc('month', p_hi::timestamp) + interval '1 month')::date - 1;
        IF NOT p_month THEN
            hi_end := least(hi_end, p_hi - (extract(isodow FROM p_hi)::int - 1) + 6);
        END IF;
        IF p_hi <> hi_end THEN
            c_hi := hi_start - 1;
        END IF;
    END IF;
    IF c_lo > c_hi THEN
        c_lo := NULL;
        c_hi := NULL;
    END IF;
END $$;

-- The month rollups (stat_*_m): the same keys and counts with the day replaced by the
-- first day of its month, kept by the merge.

-- What a reader counts: the summary plus what is not merged yet.
CREATE VIEW stat_units_now AS
SELECT project_id, day, round, layout, outcome, reason, n FROM stat_units
UNION ALL
SELECT project_id, day, round, layout, outcome, reason, n FROM stat_units_delta;

CREATE VIEW stat_tickets_now AS
SELECT project_id, day, contractor_id, category, layout, round, state, deadline, final_class, n
  FROM stat_tickets
UNION ALL
SELECT project_id, day, contractor_id, category, layout, round, state, deadline, final_class, n
  FROM stat_tickets_delta;

CREATE VIEW stat_activity_now AS
SELECT project_id, day, contractor_id, category, layout, round, close_days, passes, fails,
       nofix, repaired, resp_ms, resp_n, late, assigned FROM stat_activity
UNION ALL
SELECT project_id, day, contractor_id, category, layout, round, close_days, passes, fails,
       nofix, repaired, resp_ms, resp_n, late, assigned FROM stat_activity_delta;

CREATE VIEW stat_units_now_m AS
SELECT project_id, day, round, layout, outcome, reason, n FROM stat_units_m
UNION ALL
SELECT project_id, date_trunc('month', day)::date, round, layout, outcome, reason, n
  FROM stat_units_delta;

CREATE VIEW stat_tickets_now_m AS
SELECT project_id, day, contractor_id, category, layout, round, state, deadline, final_class, n
  FROM stat_tickets_m
UNION ALL
SELECT project_id, date_trunc('month', day)::date, contractor_id, category, layout, round, state,
       deadline, final_class, n
  FROM stat_tickets_delta;

CREATE VIEW stat_activity_now_m AS
SELECT project_id, day, contractor_id, category, layout, round, close_days, passes, fails,
       nofix, repaired, resp_ms, resp_n, late, assigned FROM stat_activity_m
UNION ALL
SELECT project_id, date_trunc('month', day)::date, contractor_id, category, layout, round,
       close_days, passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned
  FROM stat_activity_delta;

CREATE VIEW stat_units_now_w AS
SELECT project_id, day, round, layout, outcome, reason, n FROM stat_units_w
UNION ALL
SELECT project_id, cl_stat_week_part(day), round, layout, outcome, reason, n
  FROM stat_units_delta;

CREATE VIEW stat_tickets_now_w AS
SELECT project_id, day, contractor_id, category, layout, round, state, deadline, final_class, n
  FROM stat_tickets_w
UNION ALL
SELECT project_id, cl_stat_week_part(day), contractor_id, category, layout, round, state,
       deadline, final_class, n
  FROM stat_tickets_delta;

CREATE VIEW stat_activity_now_w AS
SELECT project_id, day, contractor_id, category, layout, round, close_days, passes, fails,
       nofix, repaired, resp_ms, resp_n, late, assigned FROM stat_activity_w
UNION ALL
SELECT project_id, cl_stat_week_part(day), contractor_id, category, layout, round,
       close_days, passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned
  FROM stat_activity_delta;

-- ---------------------------------------------------------------- trigger deltas

-- Inspection records: -1 for each old row, +1 for each new one, netted per key.
CREATE FUNCTION cl_stat_records_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stat_units_delta (project_id, day, round, layout, outcome, reason, n)
        SELECT x.project_id, x.inspected_on, r.kind, u.layout, coalesce(x.outcome, ''),
               CASE WHEN x.outcome = 'not_taken_over' THEN x.not_taken_reason ELSE '' END,
               count(*)
          FROM stat_new x JOIN units u ON u.id = x.unit_id
          JOIN inspection_rounds r ON r.id = x.round_id
         WHERE x.inspected_on IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5, 6;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO stat_units_delta (project_id, day, round, layout, outcome, reason, n)
        SELECT x.project_id, x.inspected_on, r.kind, u.layout, coalesce(x.outcome, ''),
               CASE WHEN x.outcome = 'not_taken_over' THEN x.not_taken_reason ELSE '' END,
               -count(*)
          FROM stat_old x JOIN units u ON u.id = x.unit_id
          JOIN inspection_rounds r ON r.id = x.round_id
         WHERE x.inspected_on IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5, 6;
    ELSE
        INSERT INTO stat_units_delta (project_id, day, round, layout, outcome, reason, n)
        SELECT x.project_id, x.inspected_on, r.kind, u.layout, coalesce(x.outcome, ''),
               CASE WHEN x.outcome = 'not_taken_over' THEN x.not_taken_reason ELSE '' END,
               sum(x.sign)
          FROM (SELECT o.project_id, o.unit_id, o.round_id, o.inspected_on, o.outcome,
                       o.not_taken_reason, -1 AS sign FROM stat_old o
                UNION ALL
                SELECT w.project_id, w.unit_id, w.round_id, w.inspected_on, w.outcome,
                       w.not_taken_reason, 1 FROM stat_new w) x
          JOIN units u ON u.id = x.unit_id
          JOIN inspection_rounds r ON r.id = x.round_id
         WHERE x.inspected_on IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5, 6
        HAVING sum(x.sign) <> 0;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER inspection_records_stat_ins AFTER INSERT ON inspection_records
    REFERENCING NEW TABLE AS stat_new FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_records_delta();
CREATE TRIGGER inspection_records_stat_upd AFTER UPDATE ON inspection_records
    REFERENCING OLD TABLE AS stat_old NEW TABLE AS stat_new
    FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_records_delta();
CREATE TRIGGER inspection_records_stat_del AFTER DELETE ON inspection_records
    REFERENCING OLD TABLE AS stat_old FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_records_delta();

-- Activity deltas of some tickets' counted events, moved from old ticket attributes to the
-- current ones: p_old holds (ticket id, old category, old found_on, old deadline, old
-- layout) as the events were last counted with. Used when a ticket's found_on, deadline
-- or category changes (a late correction of the found day) and when a unit's layout does.
-- Repaired reports are netted per key and sign, never across signs: netting one ticket's
-- report moving in with another's moving out would leave a row with repaired 0 but the
-- difference of their response times, a row cl_stats skips as one without events (it
-- reads delta rows one by one), so the mean lost that difference until a merge.
CREATE FUNCTION cl_stat_activity_move(p_ids uuid[], p_old_category text[], p_old_found date[],
                                      p_old_deadline date[], p_old_layout text[])
RETURNS void LANGUAGE sql VOLATILE AS $$
    INSERT INTO stat_activity_delta (project_id, day, contractor_id, category, layout, round,
                                     close_days, passes, fails, nofix, repaired, resp_ms,
                                     resp_n, late, assigned)
    SELECT project_id, day, contractor_id, category, layout, round, close_days,
           sum(passes * s), sum(fails * s), sum(nofix * s), sum(repaired * s),
           sum(resp_ms * s), sum(resp_n * s), sum(late * s), sum(assigned * s)
      FROM (SELECT a.project_id, a.day, a.contractor_id, a.category, a.layout, a.round,
                   a.close_days, a.passes, a.fails, a.nofix, a.repaired, a.resp_ms, a.resp_n,
                   a.late, a.assigned, 1 AS s, sign(a.repaired) AS rs
              FROM stat_activity_raw a WHERE a.ticket_id = ANY (p_ids)
            UNION ALL
            SELECT a.project_id, a.day, a.contractor_id, o.category, o.layout, a.round,
                   CASE WHEN a.action = 'verify_pass'
                        THEN cl_stat_close_bucket(a.day - o.found_on) ELSE -1 END::smallint,
                   a.passes, a.fails, a.nofix, a.repaired, a.resp_ms, a.resp_n,
                   coalesce(a.action = 'repaired' AND a.day > o.deadline, false)::int,
                   a.assigned, -1, -sign(a.repaired)
              FROM stat_activity_raw a
              JOIN unnest(p_ids, p_old_category, p_old_found, p_old_deadline, p_old_layout)
                   AS o (id, category, found_on, deadline, layout) ON o.id = a.ticket_id
             WHERE a.ticket_id = ANY (p_ids)) x
     GROUP BY 1, 2, 3, 4, 5, 6, 7, x.rs
    HAVING sum(passes * s) <> 0 OR sum(fails * s) <> 0 OR sum(nofix * s) <> 0
        OR sum(repaired * s) <> 0 OR sum(resp_ms * s) <> 0 OR sum(resp_n * s) <> 0
        OR sum(late * s) <> 0 OR sum(assigned * s) <> 0
$$;

-- Tickets: the cohort row of each old ticket -1, of each new one +1, netted per key; when
-- found_on, deadline or category changed, their events move too.
CREATE FUNCTION cl_stat_tickets_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[]; cats text[]; founds date[]; deadlines date[]; layouts text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO stat_tickets_delta (project_id, day, contractor_id, category, layout, round,
                                        state, deadline, final_class, n)
        SELECT x.project_id, x.found_on, coalesce(x.contractor_id, 0), x.category, u.layout,
               r.kind, x.state, cl_stat_kept_deadline(x.state, x.deadline),
               cl_stat_final_class(x.state, x.deadline, x.closed_at), count(*)
          FROM stat_new x JOIN inspection_items i ON i.id = x.id
          JOIN units u ON u.id = i.unit_id JOIN inspection_rounds r ON r.id = i.round_id
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO stat_tickets_delta (project_id, day, contractor_id, category, layout, round,
                                        state, deadline, final_class, n)
        SELECT x.project_id, x.found_on, coalesce(x.contractor_id, 0), x.category, u.layout,
               r.kind, x.state, cl_stat_kept_deadline(x.state, x.deadline),
               cl_stat_final_class(x.state, x.deadline, x.closed_at), -count(*)
          FROM stat_old x JOIN inspection_items i ON i.id = x.id
          JOIN units u ON u.id = i.unit_id JOIN inspection_rounds r ON r.id = i.round_id
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
        RETURN NULL;
    END IF;
    INSERT INTO stat_tickets_delta (project_id, day, contractor_id, category, layout, round,
                                    state, deadline, final_class, n)
    SELECT x.project_id, x.found_on, coalesce(x.contractor_id, 0), x.category, u.layout,
           r.kind, x.state, cl_stat_kept_deadline(x.state, x.deadline),
           cl_stat_final_class(x.state, x.deadline, x.closed_at), sum(x.sign)
      FROM (SELECT o.id, o.project_id, o.found_on, o.contractor_id, o.category, o.state,
                   o.deadline, o.closed_at, -1 AS sign FROM stat_old o
            UNION ALL
            SELECT w.id, w.project_id, w.found_on, w.contractor_id, w.category, w.state,
                   w.deadline, w.closed_at, 1 FROM stat_new w) x
      JOIN inspection_items i ON i.id = x.id
      JOIN units u ON u.id = i.unit_id JOIN inspection_rounds r ON r.id = i.round_id
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(x.sign) <> 0;

    SELECT array_agg(o.id), array_agg(o.category), array_agg(o.found_on),
           array_agg(o.deadline), array_agg(u.layout)
      INTO ids, cats, founds, deadlines, layouts
      FROM stat_old o JOIN stat_new w ON w.id = o.id
      JOIN inspection_items i ON i.id = o.id JOIN units u ON u.id = i.unit_id
     WHERE o.found_on IS DISTINCT FROM w.found_on OR o.deadline IS DISTINCT FROM w.deadline
        OR o.category IS DISTINCT FROM w.category;
    IF ids IS NOT NULL THEN
        PERFORM cl_stat_activity_move(ids, cats, founds, deadlines, layouts);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tickets_stat_ins AFTER INSERT ON tickets
    REFERENCING NEW TABLE AS stat_new FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_tickets_delta();
CREATE TRIGGER tickets_stat_upd AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS stat_old NEW TABLE AS stat_new
    FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_tickets_delta();
CREATE TRIGGER tickets_stat_del AFTER DELETE ON tickets
    REFERENCING OLD TABLE AS stat_old FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_tickets_delta();

-- New ticket events: their activity, counted with the ticket as it is now.
CREATE FUNCTION cl_stat_events_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(x.id) INTO ids FROM stat_new x
     WHERE x.action IN ('verify_pass', 'verify_fail', 'nofix', 'repaired')
        OR (x.to_state = 'open' AND x.action IN ('create', 'dispatch', 'reassign'));
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO stat_activity_delta (project_id, day, contractor_id, category, layout, round,
                                     close_days, passes, fails, nofix, repaired, resp_ms,
                                     resp_n, late, assigned)
    SELECT a.project_id, a.day, a.contractor_id, a.category, a.layout, a.round, a.close_days,
           sum(a.passes), sum(a.fails), sum(a.nofix), sum(a.repaired), sum(a.resp_ms),
           sum(a.resp_n), sum(a.late), sum(a.assigned)
      FROM stat_activity_raw a WHERE a.event_id = ANY (ids)
     GROUP BY 1, 2, 3, 4, 5, 6, 7;
    RETURN NULL;
END $$;
CREATE TRIGGER ticket_events_stat_ins AFTER INSERT ON ticket_events
    REFERENCING NEW TABLE AS stat_new FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_events_delta();

-- A unit's layout changed: its records, tickets and events move to the new layout.
CREATE FUNCTION cl_stat_units_delta() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uids bigint[]; ids uuid[]; cats text[]; founds date[]; deadlines date[]; layouts text[];
BEGIN
    SELECT array_agg(w.id) INTO uids FROM stat_old o JOIN stat_new w ON w.id = o.id
     WHERE o.layout IS DISTINCT FROM w.layout;
    IF uids IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO stat_units_delta (project_id, day, round, layout, outcome, reason, n)
    SELECT s.project_id, s.day, s.round, x.layout, s.outcome, s.reason, sum(x.sign)
      FROM stat_units_raw s
      JOIN (SELECT o.id, o.layout, -1 AS sign FROM stat_old o WHERE o.id = ANY (uids)
            UNION ALL
            SELECT w.id, w.layout, 1 FROM stat_new w WHERE w.id = ANY (uids)) x
        ON x.id = s.unit_id
     WHERE s.unit_id = ANY (uids)
     GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(x.sign) <> 0;

    INSERT INTO stat_tickets_delta (project_id, day, contractor_id, category, layout, round,
                                    state, deadline, final_class, n)
    SELECT s.project_id, s.day, s.contractor_id, s.category, x.layout, s.round, s.state,
           cl_stat_kept_deadline(s.state, s.deadline),
           cl_stat_final_class(s.state, s.deadline, s.closed_at), sum(x.sign)
      FROM stat_tickets_raw s
      JOIN (SELECT o.id, o.layout, -1 AS sign FROM stat_old o WHERE o.id = ANY (uids)
            UNION ALL
            SELECT w.id, w.layout, 1 FROM stat_new w WHERE w.id = ANY (uids)) x
        ON x.id = s.unit_id
     WHERE s.unit_id = ANY (uids)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    HAVING sum(x.sign) <> 0;

    SELECT array_agg(s.ticket_id), array_agg(s.category), array_agg(s.day),
           array_agg(s.deadline), array_agg(o.layout)
      INTO ids, cats, founds, deadlines, layouts
      FROM stat_tickets_raw s JOIN stat_old o ON o.id = s.unit_id
     WHERE s.unit_id = ANY (uids);
    IF ids IS NOT NULL THEN
        PERFORM cl_stat_activity_move(ids, cats, founds, deadlines, layouts);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER units_stat_upd AFTER UPDATE ON units
    REFERENCING OLD TABLE AS stat_old NEW TABLE AS stat_new
    FOR EACH STATEMENT EXECUTE FUNCTION cl_stat_units_delta();

-- ---------------------------------------------------------------- merge, rebuild, age

-- The advisory lock that serialises merges and rebuilds ('clst').
CREATE FUNCTION cl_stat_lock_key() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT 1668051828::bigint $$;

-- Folds the pending deltas into the summaries and deletes summary rows left all zero.
-- Returns the number of delta rows merged; 0 without waiting when another session is
-- merging or rebuilding. Deltas committed after this statement's snapshot stay for the
-- next merge; readers see either the delta row or its merged sum, never both.
CREATE FUNCTION cl_stats_merge() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    total bigint := 0;
    k bigint;
    zero tid[];
    zero_m tid[];
    zero_w tid[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(cl_stat_lock_key()) THEN
        RETURN 0;
    END IF;

    WITH d AS (DELETE FROM stat_units_delta RETURNING *),
         a AS (SELECT project_id, day, round, layout, outcome, reason, sum(n) AS n,
                      count(*) AS c
                 FROM d GROUP BY 1, 2, 3, 4, 5, 6),
         am AS (SELECT project_id, date_trunc('month', day)::date AS day, round, layout, outcome,
                       reason, sum(n) AS n
                  FROM a GROUP BY 1, 2, 3, 4, 5, 6),
         aw AS (SELECT project_id, cl_stat_week_part(day) AS day, round, layout, outcome,
                       reason, sum(n) AS n
                  FROM a GROUP BY 1, 2, 3, 4, 5, 6),
         up AS (INSERT INTO stat_units AS s (project_id, day, round, layout, outcome, reason, n)
                SELECT project_id, day, round, layout, outcome, reason, n FROM a WHERE n <> 0
                ON CONFLICT (project_id, day, round, layout, outcome, reason)
                DO UPDATE SET n = s.n + excluded.n
                RETURNING s.ctid AS row_id, s.n = 0 AS is_zero),
         upm AS (INSERT INTO stat_units_m AS s (project_id, day, round, layout, outcome, reason, n)
                 SELECT project_id, day, round, layout, outcome, reason, n FROM am WHERE n <> 0
                 ON CONFLICT (project_id, day, round, layout, outcome, reason)
                 DO UPDATE SET n = s.n + excluded.n
                 RETURNING s.ctid AS row_id, s.n = 0 AS is_zero),
         upw AS (INSERT INTO stat_units_w AS s (project_id, day, round, layout, outcome, reason, n)
                 SELECT project_id, day, round, layout, outcome, reason, n FROM aw WHERE n <> 0
                 ON CONFLICT (project_id, day, round, layout, outcome, reason)
                 DO UPDATE SET n = s.n + excluded.n
                 RETURNING s.ctid AS row_id, s.n = 0 AS is_zero)
    SELECT (SELECT coalesce(sum(c), 0) FROM a),
           (SELECT array_agg(row_id) FROM up WHERE is_zero),
           (SELECT array_agg(row_id) FROM upm WHERE is_zero),
           (SELECT array_agg(row_id) FROM upw WHERE is_zero)
      INTO k, zero, zero_m, zero_w;
    total := total + k;
    IF zero IS NOT NULL THEN
        DELETE FROM stat_units WHERE ctid = ANY (zero);
    END IF;
    IF zero_m IS NOT NULL THEN
        DELETE FROM stat_units_m WHERE ctid = ANY (zero_m);
    END IF;
    IF zero_w IS NOT NULL THEN
        DELETE FROM stat_units_w WHERE ctid = ANY (zero_w);
    END IF;

    WITH d AS (DELETE FROM stat_tickets_delta RETURNING *),
         a AS (SELECT project_id, day, contractor_id, category, layout, round, state, deadline,
                      final_class, sum(n) AS n, count(*) AS c
                 FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
         am AS (SELECT project_id, date_trunc('month', day)::date AS day, contractor_id, category,
                       layout, round, state, deadline, final_class, sum(n) AS n
                  FROM a GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
         aw AS (SELECT project_id, cl_stat_week_part(day) AS day, contractor_id, category,
                       layout, round, state, deadline, final_class, sum(n) AS n
                  FROM a GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
         up AS (INSERT INTO stat_tickets AS s (project_id, day, contractor_id, category, layout,
                                               round, state, deadline, final_class, n)
                SELECT project_id, day, contractor_id, category, layout, round, state, deadline,
                       final_class, n FROM a WHERE n <> 0
                ON CONFLICT (project_id, day, contractor_id, category, layout, round, state,
                             deadline, final_class)
                DO UPDATE SET n = s.n + excluded.n
                RETURNING s.ctid AS row_id, s.n = 0 AS is_zero),
         upm AS (INSERT INTO stat_tickets_m AS s (project_id, day, contractor_id, category, layout,
                                                  round, state, deadline, final_class, n)
                 SELECT project_id, day, contractor_id, category, layout, round, state, deadline,
                        final_class, n FROM am WHERE n <> 0
                 ON CONFLICT (project_id, day, contractor_id, category, layout, round, state,
                              deadline, final_class)
                 DO UPDATE SET n = s.n + excluded.n
                 RETURNING s.ctid AS row_id, s.n = 0 AS is_zero),
         upw AS (INSERT INTO stat_tickets_w AS s (project_id, day, contractor_id, category, layout,
                                                  round, state, deadline, final_class, n)
                 SELECT project_id, day, contractor_id, category, layout, round, state, deadline,
                        final_class, n FROM aw WHERE n <> 0
                 ON CONFLICT (project_id, day, contractor_id, category, layout, round, state,
                              deadline, final_class)
                 DO UPDATE SET n = s.n + excluded.n
                 RETURNING s.ctid AS row_id, s.n = 0 AS is_zero)
    SELECT (SELECT coalesce(sum(c), 0) FROM a),
           (SELECT array_agg(row_id) FROM up WHERE is_zero),
           (SELECT array_agg(row_id) FROM upm WHERE is_zero),
           (SELECT array_agg(row_id) FROM upw WHERE is_zero)
      INTO k, zero, zero_m, zero_w;
    total := total + k;
    IF zero IS NOT NULL THEN
        DELETE FROM stat_tickets WHERE ctid = ANY (zero);
    END IF;
    IF zero_m IS NOT NULL THEN
        DELETE FROM stat_tickets_m WHERE ctid = ANY (zero_m);
    END IF;
    IF zero_w IS NOT NULL THEN
        DELETE FROM stat_tickets_w WHERE ctid = ANY (zero_w);
    END IF;

    WITH d AS (DELETE FROM stat_activity_delta RETURNING *),
         a AS (SELECT project_id, day, contractor_id, category, layout, round, close_days,
                      sum(passes) AS passes, sum(fails) AS fails, sum(nofix) AS nofix,
                      sum(repaired) AS repaired, sum(resp_ms) AS resp_ms,
                      sum(resp_n) AS resp_n, sum(late) AS late, sum(assigned) AS assigned,
                      count(*) AS c
                 FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7),
         am AS (SELECT project_id, date_trunc('month', day)::date AS day, contractor_id, category,
                       layout, round, close_days, sum(passes) AS passes, sum(fails) AS fails,
                       sum(nofix) AS nofix, sum(repaired) AS repaired, sum(resp_ms) AS resp_ms,
                       sum(resp_n) AS resp_n, sum(late) AS late, sum(assigned) AS assigned
                  FROM a GROUP BY 1, 2, 3, 4, 5, 6, 7),
         aw AS (SELECT project_id, cl_stat_week_part(day) AS day, contractor_id, category,
                       layout, round, close_days, sum(passes) AS passes, sum(fails) AS fails,
                       sum(nofix) AS nofix, sum(repaired) AS repaired, sum(resp_ms) AS resp_ms,
                       sum(resp_n) AS resp_n, sum(late) AS late, sum(assigned) AS assigned
                  FROM a GROUP BY 1, 2, 3, 4, 5, 6, 7),
         up AS (INSERT INTO stat_activity AS s (project_id, day, contractor_id, category, layout,
                                                round, close_days, passes, fails, nofix,
                                                repaired, resp_ms, resp_n, late, assigned)
                SELECT project_id, day, contractor_id, category, layout, round, close_days,
                       passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned
                  FROM a
                 WHERE (passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned)
                       <> (0, 0, 0, 0, 0, 0, 0, 0)
                ON CONFLICT (project_id, day, contractor_id, category, layout, round, close_days)
                DO UPDATE SET passes = s.passes + excluded.passes,
                              fails = s.fails + excluded.fails,
                              nofix = s.nofix + excluded.nofix,
                              repaired = s.repaired + excluded.repaired,
                              resp_ms = s.resp_ms + excluded.resp_ms,
                              resp_n = s.resp_n + excluded.resp_n,
                              late = s.late + excluded.late,
                              assigned = s.assigned + excluded.assigned
                RETURNING s.ctid AS row_id,
                          (s.passes, s.fails, s.nofix, s.repaired, s.resp_ms, s.resp_n, s.late,
                           s.assigned) = (0, 0, 0, 0, 0, 0, 0, 0) AS is_zero),
         upm AS (INSERT INTO stat_activity_m AS s (project_id, day, contractor_id, category,
                                                   layout, round, close_days, passes, fails,
                                                   nofix, repaired, resp_ms, resp_n, late,
                                                   assigned)
                 SELECT project_id, day, contractor_id, category, layout, round, close_days,
                        passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned
                   FROM am
                  WHERE (passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned)
                        <> (0, 0, 0, 0, 0, 0, 0, 0)
                 ON CONFLICT (project_id, day, contractor_id, category, layout, round, close_days)
                 DO UPDATE SET passes = s.passes + excluded.passes,
                               fails = s.fails + excluded.fails,
                               nofix = s.nofix + excluded.nofix,
                               repaired = s.repaired + excluded.repaired,
                               resp_ms = s.resp_ms + excluded.resp_ms,
                               resp_n = s.resp_n + excluded.resp_n,
                               late = s.late + excluded.late,
                               assigned = s.assigned + excluded.assigned
                 RETURNING s.ctid AS row_id,
                           (s.passes, s.fails, s.nofix, s.repaired, s.resp_ms, s.resp_n, s.late,
                            s.assigned) = (0, 0, 0, 0, 0, 0, 0, 0) AS is_zero),
         upw AS (INSERT INTO stat_activity_w AS s (project_id, day, contractor_id, category,
                                                   layout, round, close_days, passes, fails,
                                                   nofix, repaired, resp_ms, resp_n, late,
                                                   assigned)
                 SELECT project_id, day, contractor_id, category, layout, round, close_days,
                        passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned
                   FROM aw
                  WHERE (passes, fails, nofix, repaired, resp_ms, resp_n, late, assigned)
                        <> (0, 0, 0, 0, 0, 0, 0, 0)
                 ON CONFLICT (project_id, day, contractor_id, category, layout, round, close_days)
                 DO UPDATE SET passes = s.passes + excluded.passes,
                               fails = s.fails + excluded.fails,
                               nofix = s.nofix + excluded.nofix,
                               repaired = s.repaired + excluded.repaired,
                               resp_ms = s.resp_ms + excluded.resp_ms,
                               resp_n = s.resp_n + excluded.resp_n,
                               late = s.late + excluded.late,
                               assigned = s.assigned + excluded.assigned
                 RETURNING s.ctid AS row_id,
                           (s.passes, s.fails, s.nofix, s.repaired, s.resp_ms, s.resp_n, s.late,
                            s.assigned) = (0, 0, 0, 0, 0, 0, 0, 0) AS is_zero)
    SELECT (SELECT coalesce(sum(c), 0) FROM a),
           (SELECT array_agg(row_id) FROM up WHERE is_zero),
           (SELECT array_agg(row_id) FROM upm WHERE is_zero),
           (SELECT array_agg(row_id) FROM upw WHERE is_zero)
      INTO k, zero, zero_m, zero_w;
    total := total + k;
    IF zero IS NOT NULL THEN
        DELETE FROM stat_activity WHERE ctid = ANY (zero);
    END IF;
    IF zero_m IS NOT NULL THEN
        DELETE FROM stat_activity_m WHERE ctid = ANY (zero_m);
    END IF;
    IF zero_w IS NOT NULL THEN
        DELETE FROM stat_activity_w WHERE ctid = ANY (zero_w);
    END IF;
    RETURN total;
END $$;

-- Recomputes every summary from the base tables and drops the pending deltas: after a
-- bulk load with the triggers off, or to repair. Waits for a running merge; writers of
-- the tracked tables wait until it commits (their deltas then follow the rebuilt sums).
CREATE FUNCTION cl_stats_rebuild() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(cl_stat_lock_key());
    LOCK TABLE stat_units_delta, stat_tickets_delta, stat_activity_delta IN EXCLUSIVE MODE;
    TRUNCATE stat_units, stat_units_delta, stat_units_m, stat_units_w, stat_tickets,
             stat_tickets_delta, stat_tickets_m, stat_tickets_w, stat_activity,
             stat_activity_delta, stat_activity_m, stat_activity_w;
    INSERT INTO stat_units (project_id, day, round, layout, outcome, reason, n)
    SELECT project_id, day, round, layout, outcome, reason, count(*)
      FROM stat_units_raw GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO stat_tickets (project_id, day, contractor_id, category, layout, round, state,
                              deadline, final_class, n)
    SELECT project_id, day, contractor_id, category, layout, round, state,
           cl_stat_kept_deadline(state, deadline), cl_stat_final_class(state, deadline, closed_at),
           count(*)
      FROM stat_tickets_raw GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO stat_activity (project_id, day, contractor_id, category, layout, round,
                               close_days, passes, fails, nofix, repaired, resp_ms, resp_n,
                               late, assigned)
    SELECT project_id, day, contractor_id, category, layout, round, close_days, sum(passes),
           sum(fails), sum(nofix), sum(repaired), sum(resp_ms), sum(resp_n), sum(late),
           sum(assigned)
      FROM stat_activity_raw GROUP BY 1, 2, 3, 4, 5, 6, 7;
    INSERT INTO stat_units_m (project_id, day, round, layout, outcome, reason, n)
    SELECT project_id, date_trunc('month', day)::date, round, layout, outcome, reason, sum(n)
      FROM stat_units GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO stat_tickets_m (project_id, day, contractor_id, category, layout, round, state,
                                deadline, final_class, n)
    SELECT project_id, date_trunc('month', day)::date, contractor_id, category, layout, round,
           state, deadline, final_class, sum(n)
      FROM stat_tickets GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO stat_activity_m (project_id, day, contractor_id, category, layout, round,
                                 close_days, passes, fails, nofix, repaired, resp_ms, resp_n,
                                 late, assigned)
    SELECT project_id, date_trunc('month', day)::date, contractor_id, category, layout, round,
           close_days, sum(passes), sum(fails), sum(nofix), sum(repaired), sum(resp_ms),
           sum(resp_n), sum(late), sum(assigned)
      FROM stat_activity GROUP BY 1, 2, 3, 4, 5, 6, 7;
    INSERT INTO stat_units_w (project_id, day, round, layout, outcome, reason, n)
    SELECT project_id, cl_stat_week_part(day), round, layout, outcome, reason, sum(n)
      FROM stat_units GROUP BY 1, 2, 3, 4, 5, 6;
    INSERT INTO stat_tickets_w (project_id, day, contractor_id, category, layout, round, state,
                                deadline, final_class, n)
    SELECT project_id, cl_stat_week_part(day), contractor_id, category, layout, round,
           state, deadline, final_class, sum(n)
      FROM stat_tickets GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO stat_activity_w (project_id, day, contractor_id, category, layout, round,
                                 close_days, passes, fails, nofix, repaired, resp_ms, resp_n,
                                 late, assigned)
    SELECT project_id, cl_stat_week_part(day), contractor_id, category, layout, round,
           close_days, sum(passes), sum(fails), sum(nofix), sum(repaired), sum(resp_ms),
           sum(resp_n), sum(late), sum(assigned)
      FROM stat_activity GROUP BY 1, 2, 3, 4, 5, 6, 7;
    ANALYZE stat_units;
    ANALYZE stat_tickets;
    ANALYZE stat_activity;
    ANALYZE stat_units_m;
    ANALYZE stat_tickets_m;
    ANALYZE stat_activity_m;
    ANALYZE stat_units_w;
    ANALYZE stat_tickets_w;
    ANALYZE stat_activity_w;
END $$;

-- How old the answering database's data is, in milliseconds: 0 on a primary; on a replica
-- whose replay is behind what it has received, the time since the last replayed commit.
CREATE FUNCTION cl_stats_data_age_ms() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN pg_is_in_recovery()
                 AND pg_last_wal_receive_lsn() IS DISTINCT FROM pg_last_wal_replay_lsn()
                 AND pg_last_xact_replay_timestamp() IS NOT NULL
                THEN greatest(0, round(extract(epoch FROM now() - pg_last_xact_replay_timestamp())
                                       * 1000))::bigint
                ELSE 0 END
$$;

-- ---------------------------------------------------------------- reading

-- A group key of one dimension: id for company/project/contractor, code for the others.
CREATE FUNCTION cl_stat_key_id(p_dim text, p_company bigint, p_project bigint,
                               p_contractor bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_dim WHEN 'company' THEN p_company WHEN 'project' THEN p_project
                      WHEN 'contractor' THEN p_contractor ELSE 0 END
$$;
CREATE FUNCTION cl_stat_key_code(p_dim text, p_category text, p_layout text, p_round text,
                                 p_day date) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE p_dim WHEN 'category' THEN p_category WHEN 'layout' THEN p_layout
                      WHEN 'round' THEN p_round
                      WHEN 'month' THEN to_char(p_day, 'YYYY-MM')
                      WHEN 'week' THEN to_char(p_day, 'IYYY-"W"IW') ELSE '' END
$$;
CREATE FUNCTION cl_stat_key_name(p_dim text, p_id bigint, p_code text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE p_dim
        WHEN 'company' THEN (SELECT c.name FROM companies c WHERE c.id = p_id)
        WHEN 'project' THEN (SELECT p.name FROM projects p WHERE p.id = p_id)
        WHEN 'contractor' THEN CASE WHEN p_id = 0 THEN '未派单'
                                    ELSE (SELECT k.name FROM contractors k WHERE k.id = p_id) END
        WHEN 'category' THEN coalesce((SELECT t.name_zh FROM trades t WHERE t.code = p_code),
                                      p_code)
        WHEN 'layout' THEN CASE WHEN p_code = '' THEN '（未填）' ELSE p_code END
        WHEN 'week' THEN to_char(to_date(p_code, 'IYYY-"W"IW'), 'YYYY-MM-DD')
        ELSE p_code END
$$;

-- Statistics over the projects the session sees (p_role .. p_projects, as
-- cl_visible_project), filtered (0 / '' / NULL: no filter) and grouped by up to two
-- dimensions ('' none, company, project, contractor, category, layout, round, month,
-- week). p_raw: computed from the base tables only. Measures: docs/STATS.md.
-- Rows ordered by k1_code, k1_id, k2_code, k2_id; groups with nothing are left out.
CREATE FUNCTION cl_stats(p_role text, p_company bigint, p_contractor bigint, p_projects bigint[],
                         f_company bigint, f_project bigint, f_contractor bigint,
                         f_category text, f_layout text, f_round text, f_from date, f_to date,
                         p_g1 text, p_g2 text, p_raw boolean DEFAULT false)
RETURNS TABLE (k1_id bigint, k1_code text, k1_name text, k2_id bigint, k2_code text,
               k2_name text, units_inspected bigint, units_total bigint, items_found bigint,
               items_per_unit double precision, tickets_opened bigint, tickets_closed bigint,
               tickets_nofix bigint, open_now bigint, overdue_now bigint,
               closed_of_opened bigint, nofix_of_opened bigint,
               closure_rate double precision, verifications bigint, reworks bigint,
               rework_rate double precision, close_p50_days integer, close_p90_days integer,
               tl_no_deadline bigint, tl_overdue_open bigint, tl_in_time_open bigint,
               tl_closed_late bigint, tl_closed_in_time bigint, units_accepted bigint,
               units_accepted_with_items bigint, units_not_taken bigint,
               not_taken_reasons text[], not_taken_counts bigint[], defects_raised bigint,
               cases_raised bigint, checks_done bigint, checks_found bigint,
               repaired_reports bigint, response_hours_mean double precision)
LANGUAGE plpgsql STABLE
-- hash aggregation of the facts in memory; no JIT compile of this large query; planned
-- for this call's values (closeloopd's connections default to generic plans), so the
-- grains and families a call does not use are cut from the plan and the day ranges use
-- the indexes
SET work_mem = '128MB' SET jit = off SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
DECLARE
    g1 text := coalesce(p_g1, '');
    g2 text := coalesce(p_g2, '');
    fco bigint := coalesce(f_company, 0);
    fpr bigint := coalesce(f_project, 0);
    fc bigint := coalesce(f_contractor, 0);
    fcat text := coalesce(f_category, '');
    flay text := coalesce(f_layout, '');
    frd text := coalesce(f_round, '');
    d_from date := coalesce(f_from, '-infinity'::date);
    d_to date := coalesce(f_to, 'infinity'::date);
    raw boolean := coalesce(p_raw, false);
    dims text[] := ARRAY['', 'company', 'project', 'contractor', 'category', 'layout', 'round',
                         'month', 'week'];
    vp bigint[];
    units_ok boolean; defects_ok boolean; cases_ok boolean; checks_ok boolean;
    hq boolean := p_role IN ('hq_admin', 'hq_analyst');
    -- the period in grains (summary mode): whole months m_*, whole week parts wa_*/wb_*,
    -- days da_*/db_* (NULL: none)
    m_lo date; m_hi date; wa_lo date; wa_hi date; wb_lo date; wb_hi date;
    da_lo date; da_hi date; db_lo date; db_hi date;
    use_m boolean; use_w boolean; use_d boolean;
    pg1 text; pg2 text;
BEGIN
    IF NOT g1 = ANY (dims) OR NOT g2 = ANY (dims) OR (g2 <> '' AND g2 = g1) THEN
        RAISE EXCEPTION 'cl_stats: bad grouping % %', g1, g2 USING ERRCODE = '22023';
    END IF;
    IF g1 = '' THEN
        g1 := g2;
        g2 := '';
    END IF;
    -- Which families a filter or grouping applies to (docs/STATS.md): units are counted by
    -- place only (a contractor or category filter does not narrow them, grouping by one
    -- leaves them out); defects and cases have no contractor, layout or round, check points
    -- no contractor, category or layout.
    -- The period in grains, so that the rows read do not grow with it: its whole months
    -- from the month rollups (none when grouped by week: a month row has no week), the
    -- whole week parts left at each end from the week-part rollups, the days left over
    -- (fewer than a week a side) from the day tables.
    IF 'week' NOT IN (g1, g2) THEN
        SELECT w.c_lo, w.c_hi INTO m_lo, m_hi FROM cl_stat_whole(d_from, d_to, true) w;
    END IF;
    IF m_lo IS NULL THEN
        SELECT w.c_lo, w.c_hi INTO wa_lo, wa_hi FROM cl_stat_whole(d_from, d_to, false) w;
        IF wa_lo IS NULL THEN
            da_lo := d_from;
            da_hi := d_to;
        ELSE
            da_lo := d_from;
            da_hi := wa_lo - 1;
            db_lo := wa_hi + 1;
            db_hi := d_to;
        END IF;
    ELSE
        -- a month's edge is a week part's edge: each end's days precede (follow) its parts
        IF d_from < m_lo THEN
            SELECT w.c_lo, w.c_hi INTO wa_lo, wa_hi FROM cl_stat_whole(d_from, m_lo - 1, false) w;
            da_lo := d_from;
            da_hi := coalesce(wa_lo, m_lo) - 1;
        END IF;
        IF d_to > m_hi THEN
            SELECT w.c_lo, w.c_hi INTO wb_lo, wb_hi FROM cl_stat_whole(m_hi + 1, d_to, false) w;
            db_lo := coalesce(wb_hi, m_hi) + 1;
            db_hi := d_to;
        END IF;
    END IF;
    use_m := NOT raw AND m_lo IS NOT NULL;
    use_w := NOT raw AND (wa_lo IS NOT NULL OR wb_lo IS NOT NULL);
    use_d := NOT raw AND (da_lo <= da_hi OR db_lo <= db_hi) IS TRUE;
    -- units_total's place key of each grouping dimension ('' when not a place)
    pg1 := CASE WHEN g1 IN ('company', 'project', 'layout') THEN g1 ELSE '' END;
    pg2 := CASE WHEN g2 IN ('company', 'project', 'layout') THEN g2 ELSE '' END;
    units_ok := g1 NOT IN ('contractor', 'category') AND g2 NOT IN ('contractor', 'category');
    defects_ok := fc = 0 AND flay = '' AND frd = ''
                  AND g1 NOT IN ('contractor', 'layout', 'round')
                  AND g2 NOT IN ('contractor', 'layout', 'round');
    cases_ok := defects_ok;
    checks_ok := fc = 0 AND fcat = '' AND flay = ''
                 AND g1 NOT IN ('contractor', 'category', 'layout')
                 AND g2 NOT IN ('contractor', 'category', 'layout');

    SELECT coalesce(array_agg(p.id), '{}') INTO vp
      FROM projects p
     WHERE p.id IN (SELECT v.project_id
                      FROM cl_visible_projects(p_role, p_company, p_contractor, p_projects) v)
       AND (fco = 0 OR p.company_id = fco) AND (fpr = 0 OR p.id = fpr);

    RETURN QUERY
    WITH f AS (
        -- 1 inspection records
        SELECT 1 AS fam, s.project_id, 0::bigint AS contractor_id, ''::text AS category,
               s.layout, s.round, s.day, s.outcome AS st, s.reason, NULL::date AS deadline,
               ''::text AS tl, (-1)::smallint AS close_days, s.n, 0::bigint AS passes,
               0::bigint AS fails, 0::bigint AS nofix, 0::bigint AS repaired,
               0::bigint AS resp_ms, 0::bigint AS resp_n
          FROM stat_units_now s
         WHERE use_d AND units_ok AND s.project_id = ANY (vp)
           AND (s.day BETWEEN da_lo AND da_hi OR s.day BETWEEN db_lo AND db_hi)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        UNION ALL
        SELECT 1 AS fam, s.project_id, 0::bigint AS contractor_id, ''::text AS category,
               s.layout, s.round, s.day, s.outcome AS st, s.reason, NULL::date AS deadline,
               ''::text AS tl, (-1)::smallint AS close_days, s.n, 0::bigint AS passes,
               0::bigint AS fails, 0::bigint AS nofix, 0::bigint AS repaired,
               0::bigint AS resp_ms, 0::bigint AS resp_n
          FROM stat_units_now_m s
         WHERE use_m AND units_ok AND s.project_id = ANY (vp)
           AND s.day BETWEEN m_lo AND m_hi
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        UNION ALL
        SELECT 1 AS fam, s.project_id, 0::bigint AS contractor_id, ''::text AS category,
               s.layout, s.round, s.day, s.outcome AS st, s.reason, NULL::date AS deadline,
               ''::text AS tl, (-1)::smallint AS close_days, s.n, 0::bigint AS passes,
               0::bigint AS fails, 0::bigint AS nofix, 0::bigint AS repaired,
               0::bigint AS resp_ms, 0::bigint AS resp_n
          FROM stat_units_now_w s
         WHERE use_w AND units_ok AND s.project_id = ANY (vp)
           AND (s.day BETWEEN wa_lo AND wa_hi OR s.day BETWEEN wb_lo AND wb_hi)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        UNION ALL
        SELECT 1, s.project_id, 0, '', s.layout, s.round, s.day, s.outcome, s.reason, NULL, '',
               -1, 1, 0, 0, 0, 0, 0, 0
          FROM stat_units_raw s
         WHERE raw AND units_ok AND s.project_id = ANY (vp) AND s.day BETWEEN d_from AND d_to
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        -- 2 the ticket cohort (tl: the final class; '' for live, worked out from deadline)
        UNION ALL
        SELECT 2, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, s.state,
               '', s.deadline, s.final_class, -1, s.n, 0, 0, 0, 0, 0, 0
          FROM stat_tickets_now s
         WHERE use_d AND s.project_id = ANY (vp)
           AND (s.day BETWEEN da_lo AND da_hi OR s.day BETWEEN db_lo AND db_hi)
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        UNION ALL
        SELECT 2, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, s.state,
               '', s.deadline, s.final_class, -1, s.n, 0, 0, 0, 0, 0, 0
          FROM stat_tickets_now_m s
         WHERE use_m AND s.project_id = ANY (vp)
           AND s.day BETWEEN m_lo AND m_hi
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        UNION ALL
        SELECT 2, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, s.state,
               '', s.deadline, s.final_class, -1, s.n, 0, 0, 0, 0, 0, 0
          FROM stat_tickets_now_w s
         WHERE use_w AND s.project_id = ANY (vp)
           AND (s.day BETWEEN wa_lo AND wa_hi OR s.day BETWEEN wb_lo AND wb_hi)
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        UNION ALL
        SELECT 2, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, s.state,
               '', s.deadline, cl_ticket_timeliness(s.state, s.deadline, s.closed_at), -1, 1,
               0, 0, 0, 0, 0, 0
          FROM stat_tickets_raw s
         WHERE raw AND s.project_id = ANY (vp) AND s.day BETWEEN d_from AND d_to
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
        -- 3 ticket events
        UNION ALL
        SELECT 3, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, '', '',
               NULL, '', s.close_days, 0, s.passes, s.fails, s.nofix, s.repaired, s.resp_ms,
               s.resp_n
          FROM stat_activity_now s
         WHERE use_d AND s.project_id = ANY (vp)
           AND (s.day BETWEEN da_lo AND da_hi OR s.day BETWEEN db_lo AND db_hi)
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
           AND (s.passes, s.fails, s.nofix, s.repaired) <> (0, 0, 0, 0)
        UNION ALL
        SELECT 3, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, '', '',
               NULL, '', s.close_days, 0, s.passes, s.fails, s.nofix, s.repaired, s.resp_ms,
               s.resp_n
          FROM stat_activity_now_m s
         WHERE use_m AND s.project_id = ANY (vp)
           AND s.day BETWEEN m_lo AND m_hi
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
           AND (s.passes, s.fails, s.nofix, s.repaired) <> (0, 0, 0, 0)
        UNION ALL
        SELECT 3, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, '', '',
               NULL, '', s.close_days, 0, s.passes, s.fails, s.nofix, s.repaired, s.resp_ms,
               s.resp_n
          FROM stat_activity_now_w s
         WHERE use_w AND s.project_id = ANY (vp)
           AND (s.day BETWEEN wa_lo AND wa_hi OR s.day BETWEEN wb_lo AND wb_hi)
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
           AND (s.passes, s.fails, s.nofix, s.repaired) <> (0, 0, 0, 0)
        UNION ALL
        SELECT 3, s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, '', '',
               NULL, '', s.close_days, 0, s.passes, s.fails, s.nofix, s.repaired, s.resp_ms,
               s.resp_n
          FROM stat_activity_raw s
         WHERE raw AND s.project_id = ANY (vp) AND s.day BETWEEN d_from AND d_to
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
           AND s.action IN ('verify_pass', 'verify_fail', 'nofix', 'repaired')
        -- 4 defects, 5 cases, 6 check points: small tables, read raw in both modes
        UNION ALL
        SELECT 4, d.project_id, 0, coalesce(d.category, ''), '', '', d.created_at::date, '',
               '', NULL, '', -1, 1, 0, 0, 0, 0, 0, 0
          FROM defects d
         WHERE defects_ok AND d.project_id = ANY (vp)
           AND d.created_at::date BETWEEN d_from AND d_to
           AND (fcat = '' OR d.category = fcat)
           AND (d.category IS NOT NULL OR 'category' NOT IN (g1, g2))
        UNION ALL
        SELECT 5, d.project_id, 0, coalesce(c.category, ''), '', '', c.created_at::date, '',
               '', NULL, '', -1, 1, 0, 0, 0, 0, 0, 0
          FROM kb_cases c LEFT JOIN defects d ON d.id = c.defect_id
         WHERE cases_ok AND c.created_at::date BETWEEN d_from AND d_to
           AND (d.project_id = ANY (vp)
                OR (d.project_id IS NULL AND hq AND fco = 0 AND fpr = 0
                    AND 'company' NOT IN (g1, g2) AND 'project' NOT IN (g1, g2)))
           AND (fcat = '' OR c.category = fcat)
           AND (c.category IS NOT NULL OR 'category' NOT IN (g1, g2))
        UNION ALL
        SELECT 6, k.project_id, 0, '', '', r.kind, k.recorded_at::date, k.status, '', NULL, '',
               -1, 1, 0, 0, 0, 0, 0, 0
          FROM round_checkpoints k JOIN inspection_rounds r ON r.id = k.round_id
         WHERE checks_ok AND k.project_id = ANY (vp) AND k.status IN ('passed', 'found')
           AND k.recorded_at::date BETWEEN d_from AND d_to AND (frd = '' OR r.kind = frd)),
    k AS NOT MATERIALIZED (
        SELECT f.*, cl_stat_key_id(g1, p.company_id, f.project_id, f.contractor_id) AS k1i,
               cl_stat_key_code(g1, f.category, f.layout, f.round, f.day) AS k1c,
               cl_stat_key_id(g2, p.company_id, f.project_id, f.contractor_id) AS k2i,
               cl_stat_key_code(g2, f.category, f.layout, f.round, f.day) AS k2c
          FROM f LEFT JOIN projects p ON p.id = f.project_id),
    -- one pass over the facts: per group, close-days bucket and not-taken reason (counts
    -- summed as integers into bigint, not as bigint into numeric: a fact row's count fits
    -- an integer, and numeric sums cost more than the rest of the pass)
    g AS MATERIALIZED (
        SELECT k.k1i, k.k1c, k.k2i, k.k2c,
               CASE WHEN k.fam = 3 AND k.passes <> 0 THEN k.close_days ELSE -1 END AS cd,
               CASE WHEN k.fam = 1 AND k.round = 'handover' AND k.st = 'not_taken_over'
                    THEN k.reason END AS rsn,
               sum(k.n::int) AS n_all,
               sum(CASE WHEN k.fam = 1 THEN k.n::int ELSE 0 END) AS ui,
               sum(CASE WHEN k.fam = 2 THEN k.n::int ELSE 0 END) AS opened,
               sum(CASE WHEN k.fam = 2 AND cl_stat_live(k.st) THEN k.n::int ELSE 0 END) AS live,
               sum(CASE WHEN k.fam = 2 AND cl_stat_live(k.st) AND k.deadline < current_date
                        THEN k.n::int ELSE 0 END) AS overdue,
               sum(CASE WHEN k.fam = 2 AND k.st = 'closed' THEN k.n::int ELSE 0 END) AS closed,
               sum(CASE WHEN k.fam = 2 AND k.st = 'nofix' THEN k.n::int ELSE 0 END) AS nofixed,
               sum(CASE WHEN k.fam = 2 AND (k.tl = 'no_deadline'
                             OR (k.tl = '' AND k.deadline IS NULL)) THEN k.n::int ELSE 0 END) AS tl_nd,
               sum(CASE WHEN k.fam = 2 AND (k.tl = 'overdue_open'
                             OR (k.tl = '' AND current_date > k.deadline))
                        THEN k.n::int ELSE 0 END) AS tl_oo,
               sum(CASE WHEN k.fam = 2 AND (k.tl = 'in_time_open'
                             OR (k.tl = '' AND current_date <= k.deadline))
                        THEN k.n::int ELSE 0 END) AS tl_io,
               sum(CASE WHEN k.fam = 2 AND k.tl = 'closed_late' THEN k.n::int ELSE 0 END) AS tl_cl,
               sum(CASE WHEN k.fam = 2 AND k.tl = 'closed_in_time' THEN k.n::int ELSE 0 END) AS tl_ci,
               sum(k.passes::int) AS passes, sum(k.fails::int) AS fails, sum(k.nofix::int) AS nofix,
               sum(k.repaired::int) AS repaired, sum(k.resp_ms) AS resp_ms, sum(k.resp_n::int) AS resp_n,
               sum(CASE WHEN k.fam = 1 AND k.round = 'handover'
                         AND k.st IN ('accepted', 'accepted_with_items')
                        THEN k.n::int ELSE 0 END) AS acc,
               sum(CASE WHEN k.fam = 1 AND k.round = 'handover' AND k.st = 'accepted_with_items'
                        THEN k.n::int ELSE 0 END) AS acc_items,
               sum(CASE WHEN k.fam = 1 AND k.round = 'handover' AND k.st = 'not_taken_over'
                        THEN k.n::int ELSE 0 END) AS not_taken,
               sum(CASE WHEN k.fam = 4 THEN k.n::int ELSE 0 END) AS defects,
               sum(CASE WHEN k.fam = 5 THEN k.n::int ELSE 0 END) AS cases,
               sum(CASE WHEN k.fam = 6 THEN k.n::int ELSE 0 END) AS checks,
               sum(CASE WHEN k.fam = 6 AND k.st = 'found' THEN k.n::int ELSE 0 END) AS found
          FROM k
         GROUP BY 1, 2, 3, 4, 5, 6),
    agg AS (
        SELECT g.k1i, g.k1c, g.k2i, g.k2c,
               sum(g.ui)::bigint AS ui, sum(g.opened)::bigint AS opened,
               sum(g.live)::bigint AS live, sum(g.overdue)::bigint AS overdue,
               sum(g.closed)::bigint AS closed, sum(g.nofixed)::bigint AS nofixed,
               sum(g.tl_nd)::bigint AS tl_nd, sum(g.tl_oo)::bigint AS tl_oo,
               sum(g.tl_io)::bigint AS tl_io, sum(g.tl_cl)::bigint AS tl_cl,
               sum(g.tl_ci)::bigint AS tl_ci, sum(g.passes)::bigint AS passes,
               sum(g.fails)::bigint AS fails, sum(g.nofix)::bigint AS nofix,
               sum(g.repaired)::bigint AS repaired, sum(g.resp_ms)::bigint AS resp_ms,
               sum(g.resp_n)::bigint AS resp_n, sum(g.acc)::bigint AS acc,
               sum(g.acc_items)::bigint AS acc_items, sum(g.not_taken)::bigint AS not_taken,
               sum(g.defects)::bigint AS defects, sum(g.cases)::bigint AS cases,
               sum(g.checks)::bigint AS checks, sum(g.found)::bigint AS found
          FROM g
         GROUP BY 1, 2, 3, 4
        HAVING sum(g.n_all) <> 0 OR sum(g.passes) <> 0 OR sum(g.fails) <> 0
            OR sum(g.nofix) <> 0 OR sum(g.repaired) <> 0),
    -- the raw percentiles: percentile_disc over the passed verifications themselves
    rp AS (
        SELECT k.k1i, k.k1c, k.k2i, k.k2c,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY k.close_days) AS p50,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY k.close_days) AS p90
          FROM k WHERE raw AND k.fam = 3 AND k.passes > 0
         GROUP BY 1, 2, 3, 4),
    -- the summary's percentiles: the first bucket whose running count reaches
    -- ceil(p * passes), which is percentile_disc's row
    hist AS (
        SELECT h.k1i, h.k1c, h.k2i, h.k2c, h.cd,
               sum(h.np) OVER w AS run,
               sum(h.np) OVER (PARTITION BY h.k1i, h.k1c, h.k2i, h.k2c) AS tot
          FROM (SELECT g.k1i, g.k1c, g.k2i, g.k2c, g.cd, sum(g.passes) AS np
                  FROM g WHERE NOT raw AND g.cd >= 0
                 GROUP BY 1, 2, 3, 4, 5 HAVING sum(g.passes) > 0) h
        WINDOW w AS (PARTITION BY h.k1i, h.k1c, h.k2i, h.k2c ORDER BY h.cd)),
    pct AS (
        SELECT h.k1i, h.k1c, h.k2i, h.k2c,
               min(h.cd) FILTER (WHERE h.run >= greatest(1, ceil(0.5 * h.tot::float8))) AS p50,
               min(h.cd) FILTER (WHERE h.run >= greatest(1, ceil(0.9 * h.tot::float8))) AS p90
          FROM hist h GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT rp.k1i, rp.k1c, rp.k2i, rp.k2c, rp.p50, rp.p90 FROM rp),
    rs AS (
        SELECT r.k1i, r.k1c, r.k2i, r.k2c,
               array_agg(r.rsn ORDER BY r.c DESC, r.rsn) AS reasons,
               array_agg(r.c ORDER BY r.c DESC, r.rsn) AS counts
          FROM (SELECT g.k1i, g.k1c, g.k2i, g.k2c, g.rsn, sum(g.n_all)::bigint AS c
                  FROM g WHERE g.rsn IS NOT NULL
                 GROUP BY 1, 2, 3, 4, 5 HAVING sum(g.n_all) <> 0) r
         GROUP BY 1, 2, 3, 4),
    -- units of the place now, by the group's place keys (company, project, layout; ''
    -- and 0 for another dimension, which does not narrow it: the whole place's count on
    -- every row), joined to the groups by hash
    ut AS (
        SELECT cl_stat_key_id(pg1, p.company_id, u.project_id, 0) AS k1i,
               cl_stat_key_code(pg1, '', u.layout, '', NULL) AS k1c,
               cl_stat_key_id(pg2, p.company_id, u.project_id, 0) AS k2i,
               cl_stat_key_code(pg2, '', u.layout, '', NULL) AS k2c, count(*) AS n
          FROM units u JOIN projects p ON p.id = u.project_id
         WHERE u.project_id = ANY (vp) AND (flay = '' OR u.layout = flay)
         GROUP BY 1, 2, 3, 4)
    SELECT a.k1i, a.k1c, cl_stat_key_name(g1, a.k1i, a.k1c), a.k2i, a.k2c,
           cl_stat_key_name(g2, a.k2i, a.k2c), a.ui,
           coalesce(ut.n, 0)::bigint,
           a.opened, CASE WHEN a.ui > 0 THEN a.opened::float8 / a.ui END,
           a.opened, a.passes, a.nofix, a.live, a.overdue, a.closed, a.nofixed,
           CASE WHEN a.opened - a.nofixed > 0 THEN a.closed::float8 / (a.opened - a.nofixed) END,
           a.passes + a.fails, a.fails,
           CASE WHEN a.passes + a.fails > 0 THEN a.fails::float8 / (a.passes + a.fails) END,
           pc.p50::integer, pc.p90::integer,
           a.tl_nd, a.tl_oo, a.tl_io, a.tl_cl, a.tl_ci, a.acc, a.acc_items, a.not_taken,
           coalesce(rs.reasons, '{}'), coalesce(rs.counts, '{}'), a.defects, a.cases, a.checks,
           a.found, a.repaired,
           CASE WHEN a.resp_n > 0 THEN a.resp_ms::float8 / a.resp_n / 3600000.0 END
      FROM agg a
      LEFT JOIN pct pc ON (pc.k1i, pc.k1c, pc.k2i, pc.k2c) = (a.k1i, a.k1c, a.k2i, a.k2c)
      LEFT JOIN rs ON (rs.k1i, rs.k1c, rs.k2i, rs.k2c) = (a.k1i, a.k1c, a.k2i, a.k2c)
      LEFT JOIN ut ON ut.k1i = CASE WHEN pg1 = '' THEN 0 ELSE a.k1i END
                  AND ut.k1c = CASE WHEN pg1 = '' THEN '' ELSE a.k1c END
                  AND ut.k2i = CASE WHEN pg2 = '' THEN 0 ELSE a.k2i END
                  AND ut.k2c = CASE WHEN pg2 = '' THEN '' ELSE a.k2c END
     ORDER BY a.k1c COLLATE "C", a.k1i, a.k2c COLLATE "C", a.k2i;
END $$;

-- Contractors' scorecards of one month (f_month: any day of it) over the projects the
-- session sees (and of company f_company, 0: all), per contractor and trade it covers
-- (contractor_trades, f_trade '' all), counting the tickets of that category. A row for
-- every covered trade with activity in the month or overdue open tickets now; ranked in
-- its trade by rework_rate, then late_repairs / repaired_reports, then response, then
-- name (an absent figure last). docs/STATS.md.
CREATE FUNCTION cl_scorecard(p_role text, p_company bigint, p_contractor bigint,
                             p_projects bigint[], f_company bigint, f_trade text, f_month date,
                             p_raw boolean DEFAULT false)
RETURNS TABLE (contractor_id bigint, contractor_name text, trade text, trade_name text,
               tickets_assigned bigint, repaired_reports bigint,
               response_hours_mean double precision, verifications bigint, reworks bigint,
               rework_rate double precision, late_repairs bigint, overdue_open_now bigint,
               rank integer, peers integer)
LANGUAGE plpgsql STABLE SET work_mem = '64MB' SET jit = off
SET plan_cache_mode = force_custom_plan AS $$
#variable_conflict use_column
DECLARE
    fco bigint := coalesce(f_company, 0);
    ftr text := coalesce(f_trade, '');
    m_from date := date_trunc('month', coalesce(f_month, current_date))::date;
    m_to date := (date_trunc('month', coalesce(f_month, current_date))
                  + interval '1 month')::date - 1;
    raw boolean := coalesce(p_raw, false);
    vp bigint[];
BEGIN
    SELECT coalesce(array_agg(p.id), '{}') INTO vp
      FROM projects p
     WHERE p.id IN (SELECT v.project_id
                      FROM cl_visible_projects(p_role, p_company, p_contractor, p_projects) v)
       AND (fco = 0 OR p.company_id = fco);

    RETURN QUERY
    WITH act AS (
        SELECT s.contractor_id AS cid, s.category AS cat, sum(s.assigned) AS assigned,
               sum(s.repaired) AS repaired, sum(s.resp_ms) AS resp_ms, sum(s.resp_n) AS resp_n,
               sum(s.passes) AS passes, sum(s.fails) AS fails, sum(s.late) AS late
          FROM (SELECT a.contractor_id, a.category, a.assigned, a.repaired, a.resp_ms,
                       a.resp_n, a.passes, a.fails, a.late
                  FROM stat_activity_now_m a
                 WHERE NOT raw AND a.day BETWEEN m_from AND m_to AND a.project_id = ANY (vp)
                   AND a.contractor_id <> 0 AND (ftr = '' OR a.category = ftr)
                UNION ALL
                SELECT a.contractor_id, a.category, a.assigned, a.repaired, a.resp_ms,
                       a.resp_n, a.passes, a.fails, a.late
                  FROM stat_activity_raw a
                 WHERE raw AND a.day BETWEEN m_from AND m_to AND a.project_id = ANY (vp)
                   AND a.contractor_id <> 0 AND (ftr = '' OR a.category = ftr)) s
         GROUP BY 1, 2),
    ovd AS (
        SELECT s.contractor_id AS cid, s.category AS cat, sum(s.n) AS n
          FROM (SELECT t.contractor_id, t.category, t.n FROM stat_tickets_now_m t
                 WHERE NOT raw AND t.state = 'open' AND t.deadline < current_date
                   AND t.project_id = ANY (vp) AND (ftr = '' OR t.category = ftr)
                UNION ALL
                SELECT t.contractor_id, t.category, 1 FROM stat_tickets_raw t
                 WHERE raw AND t.state = 'open' AND t.deadline < current_date
                   AND t.project_id = ANY (vp) AND (ftr = '' OR t.category = ftr)) s
         GROUP BY 1, 2),
    r AS (
        SELECT ct.contractor_id AS cid, ct.trade AS cat,
               coalesce(a.assigned, 0)::bigint AS assigned,
               coalesce(a.repaired, 0)::bigint AS repaired,
               CASE WHEN a.resp_n > 0 THEN a.resp_ms::float8 / a.resp_n / 3600000.0 END AS resp,
               coalesce(a.passes + a.fails, 0)::bigint AS ver,
               coalesce(a.fails, 0)::bigint AS fails,
               CASE WHEN a.passes + a.fails > 0 THEN a.fails::float8 / (a.passes + a.fails) END
                   AS rework,
               coalesce(a.late, 0)::bigint AS late, coalesce(o.n, 0)::bigint AS overdue
          FROM contractor_trades ct
          LEFT JOIN act a ON a.cid = ct.contractor_id AND a.cat = ct.trade
          LEFT JOIN ovd o ON o.cid = ct.contractor_id AND o.cat = ct.trade
         WHERE (ftr = '' OR ct.trade = ftr)
           AND (coalesce(a.assigned, 0) + coalesce(a.repaired, 0) + coalesce(a.passes, 0)
                + coalesce(a.fails, 0) + coalesce(o.n, 0)) > 0)
    SELECT r.cid, k.name, r.cat, tr.name_zh, r.assigned, r.repaired, r.resp, r.ver, r.fails,
           r.rework, r.late, r.overdue,
           (row_number() OVER (PARTITION BY r.cat
                 ORDER BY r.rework ASC NULLS LAST,
                          CASE WHEN r.repaired > 0 THEN r.late::float8 / r.repaired END
                              ASC NULLS LAST,
                          r.resp ASC NULLS LAST, k.name, r.cid))::integer,
           (count(*) OVER (PARTITION BY r.cat))::integer
      FROM r JOIN contractors k ON k.id = r.cid JOIN trades tr ON tr.code = r.cat
     ORDER BY r.cat, 13, r.cid;
END $$;
