-- kpi.sql - the KPIs of a month per city company (issue 12 point 8, docs/STATS.md
-- "Complaint KPIs" and "Repair-service scorecard"): thin calls of migration 027's
-- functions, read on the analytics pool. Each statement turns a function's wide row per
-- company into one row per figure, in the order shown (ord), with the figure's target
-- from cl_kpi_targets where it has one, so the daemon builds every answer the same way.
-- $1..$4 the session scope (role, company, contractor, projects), $5 the company filter
-- (0: every company seen), $6 the month's first day.

-- The complaint KPIs.
PREPARE kpi_complaint AS
SELECT k.company_id, k.company_name, f.name, f.value, t.target, t.strict, f.met
  FROM cl_complaint_kpi($1::text, $2::bigint, $3::bigint, $4::bigint[], $5::bigint,
                        $6::date) AS k
 CROSS JOIN LATERAL (VALUES
        (1, 'taken_in', k.taken_in::float8, '', NULL::boolean),
        (2, 'closed', k.closed::float8, '', NULL),
        (3, 'open_now', k.open_now::float8, '', NULL),
        (4, 'major', k.major::float8, '', NULL),
        (5, 'hot', k.hot::float8, '', NULL),
        (6, 'important', k.important::float8, '', NULL),
        (7, 'revisits', k.revisits::float8, '', NULL),
        (8, 'revisits_satisfied', k.revisits_satisfied::float8, '', NULL),
        (9, 'satisfaction_rate', k.satisfaction_rate, 'satisfaction', k.satisfaction_met),
        (10, 'reply_clocks', k.reply_clocks::float8, '', NULL),
        (11, 'replies_in_time', k.replies_in_time::float8, '', NULL),
        (12, 'timeliness_rate', k.timeliness_rate, 'timeliness', k.timeliness_met),
        (13, 'closed_of_taken', k.closed_of_taken::float8, '', NULL),
        (14, 'closure_rate', k.closure_rate, 'closure', k.closure_met),
        (15, 'closed_revisited', k.closed_revisited::float8, '', NULL),
        (16, 'revisit_rate', k.revisit_rate, 'revisit', k.revisit_met))
        AS f (ord, name, value, kpi, met)
  LEFT JOIN cl_kpi_targets() AS t ON t.kpi = f.kpi
 ORDER BY k.company_id, f.ord;
