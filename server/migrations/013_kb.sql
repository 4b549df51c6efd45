-- 013_kb.sql - a case of the knowledge base as every statement of server/kb/kb.sql reads
-- it: the view kb_case_rows, so a search result, a case shown, retired or imported come
-- out of one list of columns (read in C with CL_COL(kb_case_rows, ...)). Layouts and
-- locations are joined by U+001F (unit separator): stored text never holds a C0 control
-- character (the daemon refuses them), so the client splits on it safely. The search
-- vector itself stays out: it is matched in kb_cases, never sent.
CREATE VIEW kb_case_rows AS
SELECT c.id AS id,
       c.version AS version,
       (extract(epoch FROM c.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM c.updated_at) * 1000)::bigint AS updated_ms,
       c.code AS code,
       c.revision AS revision,
       c.title AS title,
       c.description AS description,
       c.kind AS kind,
       c.specialty AS specialty,
       coalesce(c.category, '') AS category,
       coalesce(t.name_zh, '') AS category_name,
       array_to_string(c.layouts, chr(31)) AS layouts,
       array_to_string(c.locations, chr(31)) AS locations,
       coalesce(c.grade, '') AS grade,
       CASE c.repairable WHEN true THEN 1 WHEN false THEN 2 ELSE 0 END AS repairable,
       c.project_name AS project_name,
       coalesce(to_char(c.found_on, 'YYYY-MM-DD'), '') AS found_on,
       c.impact_units AS impact_units,
       c.cause_analysis AS cause_analysis,
       c.corrective_measures AS corrective_measures,
       c.preventive_measures AS preventive_measures,
       c.responsible AS responsible,
       c.status AS status,
       c.retired_reason AS retired_reason,
       coalesce((extract(epoch FROM c.retired_at) * 1000)::bigint, 0) AS retired_ms,
       coalesce(c.defect_id, 0) AS defect_id,
       coalesce(d.code, '') AS defect_code
  FROM kb_cases c
  LEFT JOIN trades t ON t.code = c.category
  LEFT JOIN defects d ON d.id = c.defect_id;
