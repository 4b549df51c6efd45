-- 004_inspection_sql.sql - what the inspection statements of server/inspection.c need
-- beyond 003: items and handover forms name their unit by (project, number), as
-- printed on the paper forms, so that lookup must be an index scan, not a walk over the
-- project's units per building.
CREATE INDEX units_project_number ON units (project_id, number);
