-- kpi.sql - the KPIs of a month per city company (issue 12 point 8, docs/STATS.md
-- "Complaint KPIs" and "Repair-service scorecard"): thin calls of migration 027's
-- functions, read on the analytics pool. Each statement turns a function's wide row per
-- company into one row per figure, in the order shown (ord), with the figure's target
-- from cl_kpi_targets where it has one, so the daemon builds every answer the same way.
-- $1..$4 the session scope (role, company, contractor, projects), $5 the company filter
-- (0: every company seen), $6 the month's first day. With no company seen, one row per
-- figure with company_id NULL: the columns of an empty answer.

-- The complaint KPIs.
PREPARE kpi_complaint AS
SELECT k.company_id, k.company_name, ''::text AS section, f.name, f.value, t.target,
       t.strict, f.met
  FROM (SELECT 1) AS one
  LEFT JOIN cl_complaint_kpi($1::text, $2::bigint, $3::bigint, $4::bigint[], $5::bigint,
                             $6::date) AS k ON true
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

-- The repair-service scorecard: a row per company and section (warranty, then handover),
-- the figures a section does not have left out.
PREPARE kpi_repair AS
SELECT k.company_id, k.company_name, coalesce(k.section, '') AS section, f.name, f.value,
       NULL::numeric AS target, NULL::boolean AS strict, NULL::boolean AS met
  FROM (SELECT 1) AS one
  LEFT JOIN cl_repair_scorecard($1::text, $2::bigint, $3::bigint, $4::bigint[], $5::bigint,
                                $6::date) AS k ON true
 CROSS JOIN LATERAL (VALUES
        (1, 'reports', k.reports::float8, true),
        (2, 'responded', k.responded::float8, true),
        (3, 'response_hours_mean', k.response_hours_mean, true),
        (4, 'in_budget', k.in_budget::float8, k.section IS DISTINCT FROM 'handover'),
        (5, 'budget_decided', k.budget_decided::float8, k.section IS DISTINCT FROM 'handover'),
        (6, 'in_budget_rate', k.in_budget_rate, k.section IS DISTINCT FROM 'handover'),
        (7, 'climbs_developer', k.climbs_developer::float8, k.section IS DISTINCT FROM 'handover'),
        (8, 'climbs_hotline', k.climbs_hotline::float8, k.section IS DISTINCT FROM 'handover'),
        (9, 'late_repairs', k.late_repairs::float8, true),
        (10, 'verifications', k.verifications::float8, true),
        (11, 'verify_fails', k.verify_fails::float8, true),
        (12, 'repeat_rework', k.repeat_rework::float8, true),
        (13, 'first_verifications', k.first_verifications::float8, true),
        (14, 'first_passes', k.first_passes::float8, true),
        (15, 'first_pass_rate', k.first_pass_rate, true),
        (16, 'deductions_approved', k.deductions_approved::float8, k.section IS DISTINCT FROM 'handover'),
        (17, 'deducted_amount', k.deducted_amount::float8, k.section IS DISTINCT FROM 'handover'),
        (18, 'third_party_jobs', k.third_party_jobs::float8, k.section IS DISTINCT FROM 'handover'))
        AS f (ord, name, value, shown)
 WHERE f.shown
 ORDER BY k.company_id, k.section = 'handover', f.ord;
