-- 014_checkpoints.sql - lessons pushed to the site: when a project gets its first mock
-- inspection round (mock1), every active case of the knowledge base that matches the
-- project becomes a check point of that round (round_checkpoints, 011). Whatever path
-- creates the round (cloop round add, or the first item of a mock1 round recorded
-- before any plan) runs the trigger below. `cloop kb checklist --refresh` runs
-- cl_checkpoints_derive again: new matches are added, none is ever removed.
--
-- The matching rule (docs/LESSONS.md):
--   - the case is active;
--   - its specialty is engineering or design (what a mock inspection can check on site);
--   - its layouts are empty, or overlap the layouts of the project's units;
--   - its category is empty, or is one of the project's trades (project_trades), or the
--     project has no trades assigned yet (nothing to narrow by).

-- Adds the check points of round p_round that are missing; returns how many it added.
CREATE FUNCTION cl_checkpoints_derive(p_round bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    WITH ro AS (SELECT id, project_id FROM inspection_rounds WHERE id = p_round),
         lay AS (SELECT coalesce(array_agg(DISTINCT u.layout), '{}') AS layouts
                   FROM units u JOIN ro ON u.project_id = ro.project_id
                  WHERE u.layout <> ''),
         ins AS (INSERT INTO round_checkpoints (round_id, case_id, project_id, case_revision)
                 SELECT ro.id, k.id, ro.project_id, k.revision
                   FROM ro CROSS JOIN lay
                   JOIN kb_cases k ON k.status = 'active'
                                  AND k.specialty IN ('engineering', 'design')
                  WHERE (k.layouts = '{}' OR k.layouts && lay.layouts)
                    AND (k.category IS NULL
                         OR NOT EXISTS (SELECT 1 FROM project_trades pt
                                         WHERE pt.project_id = ro.project_id)
                         OR EXISTS (SELECT 1 FROM project_trades pt
                                     WHERE pt.project_id = ro.project_id
                                       AND pt.trade = k.category))
                 ON CONFLICT (round_id, case_id) DO NOTHING
                 RETURNING 1)
    SELECT count(*) INTO n FROM ins;
    RETURN n;
END $$;

CREATE FUNCTION cl_checkpoints_on_round() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cl_checkpoints_derive(NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER inspection_rounds_checkpoints AFTER INSERT ON inspection_rounds
    FOR EACH ROW WHEN (NEW.kind = 'mock1') EXECUTE FUNCTION cl_checkpoints_on_round();
