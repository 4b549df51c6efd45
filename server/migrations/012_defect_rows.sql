-- 012_defect_rows.sql - a defect as every defect statement returns it (server/defect):
-- its fields with names for its project, department and approver, its layouts and
-- locations joined by the unit separator (U+001F), and its impact counted from its
-- linked items (distinct units), never typed; its photos' SHA-256 in hex, comma-separated. Read in C with CL_COL(defect_rows, ...).
CREATE VIEW defect_rows AS
SELECT d.id AS id,
       d.version AS version,
       (extract(epoch FROM d.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM d.updated_at) * 1000)::bigint AS updated_ms,
       d.project_id AS project_id,
       p.name AS project_name,
       p.company_id AS company_id,
       d.code AS code,
       d.title AS title,
       d.description AS description,
       d.source AS source,
       d.kind AS kind,
       d.specialty AS specialty,
       coalesce(d.category, '') AS category,
       coalesce(r.kind, '') AS round,
       array_to_string(d.layouts, chr(31)) AS layouts,
       array_to_string(d.locations, chr(31)) AS locations,
       to_char(d.found_on, 'YYYY-MM-DD') AS found_on,
       d.risk AS risk,
       coalesce(d.estimated_loss::text, '') AS estimated_loss,
       coalesce(d.responsible_dept_id, 0) AS responsible_dept_id,
       coalesce(rd.name, '') AS responsible_dept,
       coalesce(to_char(d.meeting_on, 'YYYY-MM-DD'), '') AS meeting_on,
       d.meeting_attendees AS meeting_attendees,
       d.meeting_minutes AS meeting_minutes,
       d.cause_analysis AS cause_analysis,
       d.corrective_measures AS corrective_measures,
       d.preventive_measures AS preventive_measures,
       coalesce(d.grade, '') AS grade,
       CASE WHEN d.repairable IS NULL THEN -1 WHEN d.repairable THEN 1 ELSE 0 END AS repairable,
       coalesce(au.username, '') AS approved_by,
       coalesce((extract(epoch FROM d.approved_at) * 1000)::bigint, 0) AS approved_ms,
       d.fix_plan AS fix_plan,
       coalesce(d.cost_estimate::text, '') AS cost_estimate,
       d.state AS state,
       (SELECT count(DISTINCT i.unit_id) FROM defect_items di
          JOIN inspection_items i ON i.id = di.item_id WHERE di.defect_id = d.id) AS impact_units,
       (SELECT count(*) FROM defect_items di WHERE di.defect_id = d.id) AS item_count,
       (SELECT count(*) FROM defect_items di JOIN tickets t ON t.id = di.item_id
         WHERE di.defect_id = d.id) AS ticket_count,
       (SELECT coalesce(string_agg(encode(dp.sha256, 'hex'), ',' ORDER BY dp.sha256), '')
          FROM defect_photos dp WHERE dp.defect_id = d.id) AS photos,
       d.idem_key AS idem_key
  FROM defects d
  JOIN projects p ON p.id = d.project_id
  LEFT JOIN inspection_rounds r ON r.id = d.round_id
  LEFT JOIN departments rd ON rd.id = d.responsible_dept_id
  LEFT JOIN users au ON au.id = d.approved_by;
