-- 021_stats_hist.sql - the close-days histogram as columns of the activity rollups.
--
-- 020 kept the close-days bucket of passed verifications (cl_stat_close_bucket) in the key
-- of every activity summary, so one month of a project, contractor, category, layout and
-- round was up to 37 rows, one per bucket. At 10,000,000 tickets stat_activity_m held
-- 478,293 rows for 43,514 keys, and reading them was most of a whole-group query (over 1 s).
-- The rollups stat_activity_m and stat_activity_w now hold one row per key, with the passes
-- of each bucket in the columns h0 .. h30, h45, h60, h90, h180, h365, h366 (integers: one
-- key's count). The day table and the deltas keep close_days in their key (the triggers
-- write them unchanged; a reader reads at most a few days of them); the views
-- stat_activity_now_m/_w, the merge and the rebuild pivot them.
--
-- The 37 columns are listed once, by cl_stat_hist_cols(), into the dynamic SQL of this
-- migration (tables, views, cl_stats) and of the merge and the rebuild. The merge and the
-- rebuild are now written once for all three fact families (cl_stat_families()).

-- The buckets of cl_stat_close_bucket, in order.
CREATE FUNCTION cl_stat_hist_buckets() RETURNS smallint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                 22, 23, 24, 25, 26, 27, 28, 29, 30, 45, 60, 90, 180, 365, 366]::smallint[]
$$;

-- p_fmt formatted for each bucket (%1$s: the bucket), joined by ', '.
CREATE FUNCTION cl_stat_hist_cols(p_fmt text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(format(p_fmt, b), ', ' ORDER BY o)
      FROM unnest(cl_stat_hist_buckets()) WITH ORDINALITY AS x (b, o)
$$;

DO $$
DECLARE
    g text;
    t text;
BEGIN
    -- every bucket cl_stat_close_bucket gives has its column
    IF EXISTS (SELECT 1 FROM generate_series(-1, 400) d
                WHERE NOT cl_stat_close_bucket(d) = ANY (cl_stat_hist_buckets())) THEN
        RAISE EXCEPTION '021: cl_stat_hist_buckets misses a bucket of cl_stat_close_bucket';
    END IF;
    DROP VIEW stat_activity_now_m;
    DROP VIEW stat_activity_now_w;
    FOREACH g IN ARRAY ARRAY['m', 'w'] LOOP
        t := 'stat_activity_' || g;
        EXECUTE format($q$
            CREATE TABLE %1$I (
                project_id     bigint NOT NULL,
                day            date NOT NULL,
                contractor_id  bigint NOT NULL,
                category       text NOT NULL,
                layout         text NOT NULL,
                round          text NOT NULL,
                passes         bigint NOT NULL,
                fails          bigint NOT NULL,
                nofix          bigint NOT NULL,
                repaired       bigint NOT NULL,
                resp_ms        bigint NOT NULL,
                resp_n         bigint NOT NULL,
                late           bigint NOT NULL,
                assigned       bigint NOT NULL,
                %2$s,
                CONSTRAINT %3$I UNIQUE (project_id, day, contractor_id, category, layout, round))$q$,
            t || '_new', cl_stat_hist_cols('h%1$s integer NOT NULL DEFAULT 0'), t || '_grain');
        EXECUTE format($q$
            INSERT INTO %1$I
            SELECT project_id, day, contractor_id, category, layout, round, sum(passes),
                   sum(fails), sum(nofix), sum(repaired), sum(resp_ms), sum(resp_n), sum(late),
                   sum(assigned), %3$s
              FROM %2$I GROUP BY 1, 2, 3, 4, 5, 6$q$,
            t || '_new', t,
            cl_stat_hist_cols('coalesce(sum(passes::int) FILTER (WHERE close_days = %1$s), 0)'));
        EXECUTE format('DROP TABLE %I', t);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', t || '_new', t);
        EXECUTE format('ANALYZE %I', t);
    END LOOP;
    -- the scorecard reads one month of every contractor
    CREATE INDEX stat_activity_m_day ON stat_activity_m (day, contractor_id);

    -- what a reader counts of a rollup: the rollup plus the pending deltas, pivoted
    FOREACH g IN ARRAY ARRAY['m', 'w'] LOOP
        EXECUTE format($q$
            CREATE VIEW %1$I AS
            SELECT project_id, day, contractor_id, category, layout, round, passes, fails,
                   nofix, repaired, resp_ms, resp_n, late, assigned, %3$s
              FROM %2$I
            UNION ALL
            SELECT project_id, %4$s, contractor_id, category, layout, round, passes, fails,
                   nofix, repaired, resp_ms, resp_n, late, assigned, %5$s
              FROM stat_activity_delta$q$,
            'stat_activity_now_' || g, 'stat_activity_' || g, cl_stat_hist_cols('h%1$s'),
            CASE g WHEN 'm' THEN $e$date_trunc('month', day)::date$e$
                   ELSE 'cl_stat_week_part(day)' END,
            cl_stat_hist_cols('CASE WHEN close_days = %1$s THEN passes::int ELSE 0 END'));
    END LOOP;
END $$;

-- ---------------------------------------------------------------- merge and rebuild

-- The three fact families as the merge and the rebuild see them: the key of the day table
-- and the deltas without its day (keys), the counts, and the rollups' key without its day
-- (roll_keys), extra columns (roll_cols) and their sums over day rows (roll_sums, in the
-- order of roll_cols): activity's rollups drop close_days and pivot the passes into h*.
CREATE FUNCTION cl_stat_families(OUT fam text, OUT keys text, OUT counts text[],
                                 OUT roll_keys text, OUT roll_cols text[], OUT roll_sums text)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
    VALUES ('units', 'project_id, round, layout, outcome, reason', ARRAY['n'],
            'project_id, round, layout, outcome, reason', '{}'::text[], ''),
           ('tickets', 'project_id, contractor_id, category, layout, round, state, deadline, '
                       'final_class', ARRAY['n'],
            'project_id, contractor_id, category, layout, round, state, deadline, final_class',
            '{}', ''),
           ('activity', 'project_id, contractor_id, category, layout, round, close_days',
            ARRAY['passes', 'fails', 'nofix', 'repaired', 'resp_ms', 'resp_n', 'late',
                  'assigned'],
            'project_id, contractor_id, category, layout, round',
            string_to_array(cl_stat_hist_cols('h%1$s'), ', '),
            cl_stat_hist_cols('sum(CASE WHEN close_days = %1$s THEN passes ELSE 0 END)::int '
                              'AS h%1$s'))
$$;

-- The data-modifying CTE that adds the rows of CTE p_src (columns: day, p_keys, p_counts)
-- into summary p_table: rows with every count zero are skipped; each summary row touched is
-- returned as row_id with is_zero when its counts are all zero now (the caller deletes it).
CREATE FUNCTION cl_stat_upsert_sql(p_table text, p_src text, p_keys text, p_counts text[])
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT format('INSERT INTO %1$I AS s (day, %3$s, %4$s) SELECT day, %3$s, %4$s FROM %2$I '
                  'WHERE (%4$s) <> (%5$s) ON CONFLICT (day, %3$s) DO UPDATE SET %6$s '
                  'RETURNING s.ctid AS row_id, (%7$s) = (%5$s) AS is_zero',
                  p_table, p_src, p_keys, array_to_string(p_counts, ', '),
                  array_to_string(array_fill('0'::text, ARRAY[cardinality(p_counts)]), ', '),
                  (SELECT string_agg(format('%1$I = s.%1$I + excluded.%1$I', c), ', ')
                     FROM unnest(p_counts) c),
                  (SELECT string_agg(format('s.%I', c), ', ') FROM unnest(p_counts) c))
$$;

-- Folds the pending deltas into the summaries and deletes summary rows left all zero.
-- Returns the number of delta rows merged; 0 without waiting when another session is
-- merging or rebuilding. Deltas committed after a family's statement began stay for the
-- next merge; readers see either the delta row or its merged sum, never both (one
-- statement per family moves its deltas into all three grains).
CREATE OR REPLACE FUNCTION cl_stats_merge() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    f record;
    t text;
    total bigint := 0;
    k bigint;
    zero tid[];
    zero_m tid[];
    zero_w tid[];
    sums text;
BEGIN
    IF NOT pg_try_advisory_xact_lock(cl_stat_lock_key()) THEN
        RETURN 0;
    END IF;
    FOR f IN SELECT * FROM cl_stat_families() LOOP
        t := 'stat_' || f.fam;
        SELECT string_agg(format('sum(%1$I) AS %1$I', c), ', ') INTO sums FROM unnest(f.counts) c;
        EXECUTE format(
            'WITH d AS (DELETE FROM %1$I RETURNING *), '
            '     a AS (SELECT day, %2$s, %3$s, count(*) AS c FROM d GROUP BY day, %2$s), '
            '     am AS (SELECT date_trunc(''month'', day)::date AS day, %4$s, %3$s%5$s '
            '              FROM a GROUP BY 1, %4$s), '
            '     aw AS (SELECT cl_stat_week_part(day) AS day, %4$s, %3$s%5$s '
            '              FROM a GROUP BY 1, %4$s), '
            '     up AS (%6$s), upm AS (%7$s), upw AS (%8$s) '
            'SELECT (SELECT coalesce(sum(c), 0) FROM a), '
            '       (SELECT array_agg(row_id) FROM up WHERE is_zero), '
            '       (SELECT array_agg(row_id) FROM upm WHERE is_zero), '
            '       (SELECT array_agg(row_id) FROM upw WHERE is_zero)',
            t || '_delta', f.keys, sums, f.roll_keys,
            CASE WHEN f.roll_sums = '' THEN '' ELSE ', ' || f.roll_sums END,
            cl_stat_upsert_sql(t, 'a', f.keys, f.counts),
            cl_stat_upsert_sql(t || '_m', 'am', f.roll_keys, f.counts || f.roll_cols),
            cl_stat_upsert_sql(t || '_w', 'aw', f.roll_keys, f.counts || f.roll_cols))
          INTO k, zero, zero_m, zero_w;
        total := total + k;
        IF zero IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I WHERE ctid = ANY ($1)', t) USING zero;
        END IF;
        IF zero_m IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I WHERE ctid = ANY ($1)', t || '_m') USING zero_m;
        END IF;
        IF zero_w IS NOT NULL THEN
            EXECUTE format('DELETE FROM %I WHERE ctid = ANY ($1)', t || '_w') USING zero_w;
        END IF;
    END LOOP;
    RETURN total;
END $$;

-- Recomputes every summary from the base tables and drops the pending deltas: after a
-- bulk load with the triggers off, or to repair. Waits for a running merge; writers of
-- the tracked tables wait until it commits (their deltas then follow the rebuilt sums).
CREATE OR REPLACE FUNCTION cl_stats_rebuild() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    f record;
    t text;
    g text;
    sums text;
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
    FOR f IN SELECT * FROM cl_stat_families() LOOP
        t := 'stat_' || f.fam;
        SELECT string_agg(format('sum(%1$I)', c), ', ') INTO sums FROM unnest(f.counts) c;
        FOREACH g IN ARRAY ARRAY['m', 'w'] LOOP
            EXECUTE format('INSERT INTO %1$I (day, %3$s, %4$s) '
                           'SELECT %5$s, %3$s, %6$s%7$s FROM %2$I GROUP BY 1, %3$s',
                           t || '_' || g, t, f.roll_keys,
                           array_to_string(f.counts || f.roll_cols, ', '),
                           CASE g WHEN 'm' THEN 'date_trunc(''month'', day)::date'
                                  ELSE 'cl_stat_week_part(day)' END,
                           sums, CASE WHEN f.roll_sums = '' THEN '' ELSE ', ' || f.roll_sums END);
        END LOOP;
    END LOOP;
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

-- ---------------------------------------------------------------- reading

-- The 50th and 90th percentiles of a close-days histogram (p_counts: the passes of each
-- bucket of cl_stat_hist_buckets, in order): the first bucket whose running count reaches
-- ceil(p * passes), in float8 as percentile_disc counts its row. NULLs without passes.
CREATE FUNCTION cl_stat_hist_pct(p_counts bigint[], OUT p50 smallint, OUT p90 smallint)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    buckets smallint[] := cl_stat_hist_buckets();
    total bigint := 0;
    run bigint := 0;
    n bigint;
    at50 bigint;
    at90 bigint;
BEGIN
    FOREACH n IN ARRAY p_counts LOOP
        total := total + n;
    END LOOP;
    IF total <= 0 THEN
        RETURN;
    END IF;
    at50 := greatest(1, ceil(0.5::float8 * total::float8));
    at90 := greatest(1, ceil(0.9::float8 * total::float8));
    FOR i IN 1 .. cardinality(p_counts) LOOP
        run := run + p_counts[i];
        IF p50 IS NULL AND run >= at50 THEN
            p50 := buckets[i];
        END IF;
        IF run >= at90 THEN
            p90 := buckets[i];
            RETURN;
        END IF;
    END LOOP;
END $$;

-- Statistics over the projects the session sees (p_role .. p_projects, as
-- cl_visible_project), filtered (0 / '' / NULL: no filter) and grouped by up to two
-- dimensions ('' none, company, project, contractor, category, layout, round, month,
-- week). p_raw: computed from the base tables only. Measures: docs/STATS.md.
-- Rows ordered by k1_code, k1_id, k2_code, k2_id; groups with nothing are left out.
-- (The text below is a template: each @H...@ stands for a list over the 37 bucket columns.)
DO $do$
DECLARE
    fn text := $tmpl$CREATE OR REPLACE FUNCTION cl_stats(p_role text, p_company bigint, p_contractor bigint, p_projects bigint[],
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
    -- the activity rollups, one row per key with the passes of each close-days bucket in
    -- its own column (021): aggregated apart from the other facts, with only their sums
    fa AS (
        SELECT s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, s.passes,
               s.fails, s.nofix, s.repaired, s.resp_ms, s.resp_n, @HS@
          FROM stat_activity_now_m s
         WHERE use_m AND s.project_id = ANY (vp)
           AND s.day BETWEEN m_lo AND m_hi
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
           AND (s.passes, s.fails, s.nofix, s.repaired) <> (0, 0, 0, 0)
        UNION ALL
        SELECT s.project_id, s.contractor_id, s.category, s.layout, s.round, s.day, s.passes,
               s.fails, s.nofix, s.repaired, s.resp_ms, s.resp_n, @HS@
          FROM stat_activity_now_w s
         WHERE use_w AND s.project_id = ANY (vp)
           AND (s.day BETWEEN wa_lo AND wa_hi OR s.day BETWEEN wb_lo AND wb_hi)
           AND (fc = 0 OR s.contractor_id = fc) AND (fcat = '' OR s.category = fcat)
           AND (flay = '' OR s.layout = flay) AND (frd = '' OR s.round = frd)
           AND (s.passes, s.fails, s.nofix, s.repaired) <> (0, 0, 0, 0)),
    ga AS MATERIALIZED (
        SELECT cl_stat_key_id(g1, p.company_id, s.project_id, s.contractor_id) AS k1i,
               cl_stat_key_code(g1, s.category, s.layout, s.round, s.day) AS k1c,
               cl_stat_key_id(g2, p.company_id, s.project_id, s.contractor_id) AS k2i,
               cl_stat_key_code(g2, s.category, s.layout, s.round, s.day) AS k2c,
               sum(s.passes::int) AS passes, sum(s.fails::int) AS fails,
               sum(s.nofix::int) AS nofix, sum(s.repaired::int) AS repaired,
               sum(s.resp_ms) AS resp_ms, sum(s.resp_n::int) AS resp_n, @HSUM@
          FROM fa s LEFT JOIN projects p ON p.id = s.project_id
         GROUP BY 1, 2, 3, 4),
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
          FROM (SELECT g.k1i, g.k1c, g.k2i, g.k2c, g.n_all, g.ui, g.opened, g.live, g.overdue,
                       g.closed, g.nofixed, g.tl_nd, g.tl_oo, g.tl_io, g.tl_cl, g.tl_ci, g.passes,
                       g.fails, g.nofix, g.repaired, g.resp_ms, g.resp_n, g.acc, g.acc_items,
                       g.not_taken, g.defects, g.cases, g.checks, g.found
                  FROM g
                UNION ALL
                SELECT ga.k1i, ga.k1c, ga.k2i, ga.k2c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       ga.passes, ga.fails, ga.nofix, ga.repaired, ga.resp_ms, ga.resp_n, 0, 0,
                       0, 0, 0, 0, 0
                  FROM ga) g
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
    -- the summary's percentiles: each group's passes per close-days bucket (the rollups'
    -- columns plus the day rows' buckets) walked by cl_stat_hist_pct
    hs AS (
        SELECT h.k1i, h.k1c, h.k2i, h.k2c, @HSUMH@
          FROM (SELECT ga.k1i, ga.k1c, ga.k2i, ga.k2c, @HGA@
                  FROM ga
                UNION ALL
                SELECT g.k1i, g.k1c, g.k2i, g.k2c, @HCASE@
                  FROM g WHERE NOT raw AND g.cd >= 0) h
         GROUP BY 1, 2, 3, 4),
    pct AS (
        SELECT hs.k1i, hs.k1c, hs.k2i, hs.k2c, x.p50, x.p90
          FROM hs CROSS JOIN LATERAL cl_stat_hist_pct(ARRAY[@HHS@]) x
         WHERE x.p50 IS NOT NULL
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
$tmpl$;
BEGIN
    fn := replace(fn, '@HSUM@', cl_stat_hist_cols('sum(s.h%1$s) AS h%1$s'));
    fn := replace(fn, '@HS@', cl_stat_hist_cols('s.h%1$s'));
    fn := replace(fn, '@HGA@', cl_stat_hist_cols('ga.h%1$s'));
    fn := replace(fn, '@HSUMH@', cl_stat_hist_cols('sum(h.h%1$s)::bigint AS h%1$s'));
    fn := replace(fn, '@HCASE@', cl_stat_hist_cols('CASE WHEN g.cd = %1$s THEN g.passes ELSE 0 END'));
    fn := replace(fn, '@HHS@', cl_stat_hist_cols('hs.h%1$s'));
    EXECUTE fn;
END $do$;
