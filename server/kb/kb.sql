-- kb.sql - the case knowledge base's statements: search over cases and over inspection
-- items, a case with its revisions, HQ accepting or returning a filed defect, retiring a
-- case, importing cases. The search functions (cl_search_vector, cl_search_query,
-- cl_search_fold) and the tables are migration 011's; a case comes back as the columns
-- of the view kb_case_rows (migration 013), read in C with CL_COL(kb_case_rows, ...).
--
-- The knowledge base is the whole group's (CL_OP_KB_SEARCH is group-wide for every staff
-- role; contractors may not search it), so the case reads take no scope parameters; the
-- item search is narrowed to the caller's projects.
--
-- Ranking (docs/KB.md): a text matches when its search vector holds every term of the
-- query (bigrams AND-ed, through the GIN index); among matches, the ones holding the
-- exact phrase come first (cl_search_phrase below; for a case, a phrase in its code or
-- title before one in its other text), then by ts_rank_cd (how many terms, how close
-- together), then the newest. The query's tsquery and phrase are computed once, in a
-- MATERIALIZED CTE: in the generic plan of a prepared statement cl_search_query($1)
-- is not folded to a constant, and written inline it would run once per matching row
-- (measured: 40 us a row); from the CTE the index scan takes it as a parameter.

-- The query as one phrase: its terms in the order and at the distances they have in the
-- query (天窗渗水 -> '天窗' <-> '窗渗' <-> '渗水'; TA户型 -> 'ta' <-> '户型'), so a text holds
-- the exact phrase when its search vector matches this. The vectors keep positions, and
-- blanks and punctuation are a token of their own there (cl_search_tokens), so a phrase
-- never spans two fields or a comma. Cheaper than comparing the folded texts: it reads
-- only the vector the match has fetched anyway. NULL when nothing is searchable.
CREATE OR REPLACE FUNCTION cl_search_phrase(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH k AS (SELECT tok, pos,
                      tok ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$' AS cjk,
                      lead(tok) OVER (ORDER BY pos) AS nx, lag(tok) OVER (ORDER BY pos) AS pv
                 FROM cl_search_tokens(q)),
         c AS (SELECT *, coalesce(nx ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$', false) AS ncjk,
                      coalesce(pv ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$', false) AS pcjk
                 FROM k),
         t AS (SELECT pos, CASE WHEN NOT cjk THEN tok
                                WHEN ncjk THEN tok || nx
                                WHEN NOT pcjk THEN tok END AS term
                 FROM c WHERE tok <> '|'),
         u AS (SELECT pos, term, pos - lag(pos) OVER (ORDER BY pos) AS d
                 FROM t WHERE term IS NOT NULL)
    SELECT string_agg(CASE WHEN d IS NULL THEN quote_literal(term)
                           ELSE format('<%s> %s', d, quote_literal(term)) END, ' '
                      ORDER BY pos)::tsquery
      FROM u
$$;

-- Whether the query holds anything searchable (a CJK character, a letter or a digit).
PREPARE kb_query_check AS
SELECT cl_search_query($1::text) IS NOT NULL AS searchable;

-- Cases: $1 query, $2 category ('' any), $3 layout ('' any), $4 specialty ('' any),
-- $5 kind ('' any), $6 project of the defect the case came from (0 any), $7 limit.
-- Active cases only: a retired case is kept but no longer searched.
-- @columns-of kb_case_rows
PREPARE kb_search_cases AS
WITH q AS MATERIALIZED (SELECT cl_search_query($1::text) AS tq, cl_search_phrase($1::text) AS ph)
SELECT cr.*, x.exact AS exact, x.rank AS rank
  FROM (SELECT c.id, c.updated_at,
               CASE WHEN cl_search_vector(c.code || ' ' || c.title) @@ q.ph THEN 2
                    WHEN c.search @@ q.ph THEN 1
                    ELSE 0 END AS exact,
               ts_rank_cd(c.search, q.tq) AS rank
          FROM q JOIN kb_cases c ON c.search @@ q.tq
         WHERE c.status = 'active'
           AND ($2::text = '' OR c.category = $2::text)
           AND ($3::text = '' OR $3::text = ANY (c.layouts))
           AND ($4::text = '' OR c.specialty = $4::text)
           AND ($5::text = '' OR c.kind = $5::text)
           AND ($6::bigint = 0 OR c.defect_id IN (SELECT d.id FROM defects d
                                                   WHERE d.project_id = $6::bigint))
         ORDER BY 3 DESC, 4 DESC, c.updated_at DESC, c.id DESC
         LIMIT $7::int) x
  JOIN kb_case_rows cr ON cr.id = x.id
 ORDER BY x.exact DESC, x.rank DESC, x.updated_at DESC, x.id DESC;

-- Inspection items across the projects the caller sees: $1 query, $2 category ('' any),
-- $3 the unit's layout ('' any), $4 project (0 any), $5 limit, $6..$9 the session's scope
-- (role, company, contractor, projects). Cases are the group's, but an item belongs to a
-- project: HQ searches every project's items, customer relations its company's, a clerk
-- their projects' (cl_visible_projects, inlined: only the role's branch runs). The ranking runs on the items alone
-- (index scan, then exact phrase and rank of each match); only the page of best ones
-- is joined to its unit, building and project. A query of one term (渗水, 窗, TA) is its
-- own phrase: every match holds it, and the phrase test (a third of the ranking's cost
-- over 125,000 matches) is skipped.
PREPARE kb_search_items AS
WITH q AS MATERIALIZED (SELECT cl_search_query($1::text) AS tq, cl_search_phrase($1::text) AS ph,
                               cl_search_query($1::text)::text = cl_search_phrase($1::text)::text
                                   AS one_term)
SELECT i.id::text AS id, i.project_id AS project_id, p.name AS project_name,
       b.name AS building, u.number AS unit, u.layout AS layout, i.location AS location,
       i.category AS category, i.description AS description, i.severity AS severity,
       to_char(i.inspected_on, 'YYYY-MM-DD') AS found_on, x.exact AS exact, x.rank AS rank
  FROM (SELECT i.id, i.inspected_on, q.one_term OR i.search @@ q.ph AS exact,
               ts_rank_cd(i.search, q.tq) AS rank
          FROM q JOIN inspection_items i ON i.search @@ q.tq
         WHERE ($2::text = '' OR i.category = $2::text)
           AND ($3::text = '' OR EXISTS (SELECT 1 FROM units lu
                                          WHERE lu.id = i.unit_id AND lu.layout = $3::text))
           AND ($4::bigint = 0 OR i.project_id = $4::bigint)
           AND i.project_id IN (SELECT v.project_id
                                  FROM cl_visible_projects($6::text, $7::bigint, $8::bigint,
                                                           $9::bigint[]) v)
         ORDER BY 3 DESC, 4 DESC, i.inspected_on DESC, i.id
         LIMIT $5::int) x
  JOIN inspection_items i ON i.id = x.id
  JOIN units u ON u.id = i.unit_id
  JOIN buildings b ON b.id = u.building_id
  JOIN projects p ON p.id = i.project_id
 ORDER BY x.exact DESC, x.rank DESC, x.inspected_on DESC, x.id;

-- A case by its code ($1), and its revisions, newest first.
-- @columns-of kb_case_rows
PREPARE kb_show AS
SELECT cr.* FROM kb_case_rows cr WHERE cr.code = $1::text;

PREPARE kb_show_versions AS
SELECT v.revision AS revision, (extract(epoch FROM v.at) * 1000)::bigint AS at_ms,
       v.actor AS actor, v.note AS note, coalesce(v.content ->> 'title', '') AS title,
       coalesce((v.content ->> 'defect_id')::bigint, 0) AS defect_id
  FROM kb_case_versions v JOIN kb_cases c ON c.id = v.case_id
 WHERE c.code = $1::text
 ORDER BY v.revision DESC;

-- A case's content as a revision keeps it whole (kb_case_versions.content): every field
-- but the bookkeeping ones and the derived search vector.
CREATE OR REPLACE FUNCTION cl_kb_content(c kb_cases) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(c) - 'id' - 'version' - 'created_at' - 'updated_at' - 'search'
           - 'status' - 'retired_at' - 'retired_reason' - 'idem_key'
$$;

-- HQ accepts a filed defect into the knowledge base (common/defect_fsm.c decides the
-- step: p_from the states accept applies to, p_to where it leads). Locks the defect,
-- compares and sets (state, and version unless p_expected is 0), then makes the case
-- from the defect's fields, with its impact counted from its linked items (distinct
-- units), or, with p_revises, a new revision of that case (its code and first defect
-- stay; the revision's content names the defect). Writes the case's revision row, the
-- defect's new state and its event. One row: changed; else found, the defect's state
-- and version now; missing / invalid for the sentence to refuse with.
CREATE OR REPLACE FUNCTION cl_kb_accept(p_defect bigint, p_from text[], p_to text,
                                        p_expected bigint, p_code text, p_revises text,
                                        p_note text, p_user bigint, p_actor text)
RETURNS TABLE (changed boolean, found boolean, state text, version bigint,
               defect_code text, case_code text, case_revision integer, missing text,
               invalid text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    d        defects;
    c        kb_cases;
    v_impact integer;
    v_code   text;
    v_resp   text;
    v_proj   text;
BEGIN
    SELECT * INTO d FROM defects x WHERE x.id = p_defect FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, false, NULL::text, 0::bigint, NULL::text, NULL::text,
                            0, 'defect'::text, NULL::text;
        RETURN;
    END IF;
    IF NOT (d.state = ANY (p_from)) OR (p_expected <> 0 AND d.version <> p_expected) THEN
        RETURN QUERY SELECT false, true, d.state, d.version, d.code, NULL::text, 0,
                            NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT count(DISTINCT i.unit_id)::integer INTO v_impact
      FROM defect_items di JOIN inspection_items i ON i.id = di.item_id
     WHERE di.defect_id = d.id;
    SELECT coalesce((SELECT name FROM departments WHERE id = d.responsible_dept_id), '')
      INTO v_resp;
    SELECT name INTO v_proj FROM projects WHERE id = d.project_id;
    IF p_revises <> '' THEN
        SELECT * INTO c FROM kb_cases x WHERE x.code = p_revises FOR UPDATE;
        IF NOT FOUND THEN
            RETURN QUERY SELECT false, true, d.state, d.version, d.code, NULL::text, 0,
                                format('case %s', p_revises), NULL::text;
            RETURN;
        END IF;
        IF c.status <> 'active' THEN
            RETURN QUERY SELECT false, true, d.state, d.version, d.code, NULL::text, 0,
                                NULL::text,
                                format('case %s is retired: accept the defect as a new case',
                                       p_revises);
            RETURN;
        END IF;
        UPDATE kb_cases x
           SET revision = x.revision + 1, title = d.title, description = d.description,
               kind = d.kind, specialty = d.specialty, category = d.category,
               layouts = d.layouts, locations = d.locations, grade = d.grade,
               repairable = d.repairable, project_name = v_proj, found_on = d.found_on,
               impact_units = v_impact, cause_analysis = d.cause_analysis,
               corrective_measures = d.corrective_measures,
               preventive_measures = d.preventive_measures,
               responsible = left(v_resp, 200)
         WHERE x.id = c.id RETURNING * INTO c;
    ELSE
        v_code := coalesce(nullif(p_code, ''), d.code);
        IF EXISTS (SELECT 1 FROM kb_cases x WHERE x.code = v_code) THEN
            RETURN QUERY SELECT false, true, d.state, d.version, d.code, NULL::text, 0,
                                NULL::text,
                                format('case code %s is taken: give another --code, or '
                                       '--revises %s to make the defect its next revision',
                                       v_code, v_code);
            RETURN;
        END IF;
        INSERT INTO kb_cases (code, defect_id, title, description, kind, specialty, category,
                              layouts, locations, grade, repairable, project_name, found_on,
                              impact_units, cause_analysis, corrective_measures,
                              preventive_measures, responsible)
        VALUES (v_code, d.id, d.title, d.description, d.kind, d.specialty, d.category,
                d.layouts, d.locations, d.grade, d.repairable, v_proj, d.found_on, v_impact,
                d.cause_analysis, d.corrective_measures, d.preventive_measures,
                left(v_resp, 200))
        RETURNING * INTO c;
    END IF;
    INSERT INTO kb_case_versions (case_id, revision, content, actor_user_id, actor, note)
    VALUES (c.id, c.revision, cl_kb_content(c) || jsonb_build_object('defect_id', d.id),
            p_user, p_actor, p_note);
    UPDATE defects x SET state = p_to WHERE x.id = d.id;
    INSERT INTO defect_events (defect_id, project_id, actor_user_id, actor, action,
                               from_state, to_state, note, detail)
    VALUES (d.id, d.project_id, p_user, p_actor, 'accept', d.state, p_to, p_note,
            jsonb_build_object('case', c.code, 'revision', c.revision));
    RETURN QUERY SELECT true, true, p_to, d.version + 1, d.code, c.code, c.revision,
                        NULL::text, NULL::text;
END $$;

-- Accept: $1 defect, $2 the states accept applies to (text[]), $3 where it leads, $4
-- expected version (0 any), $5 the case code ('' the defect's), $6 the case it revises
-- ('' none), $7 note, $8 the actor's user id, $9 username.
PREPARE kb_accept AS
SELECT a.changed AS changed, a.found AS found, a.state AS state, a.version AS version,
       a.defect_code AS defect_code, a.case_code AS case_code,
       a.case_revision AS case_revision, a.missing AS missing, a.invalid AS invalid
  FROM cl_kb_accept($1::bigint, $2::text[], $3::text, $4::bigint, $5::text, $6::text,
                    $7::text, $8::bigint, $9::text) a;

-- HQ sends a filed defect back: $1 defect, $2 the states return applies to (text[]),
-- $3 where it leads, $4 expected version (0 any), $5 the reason, $6 user id, $7
-- username. Compare-and-set like a ticket's transition; the reason is the event's note.
PREPARE kb_return AS
WITH old AS (SELECT d.id, d.code, d.state, d.version FROM defects d
              WHERE d.id = $1::bigint FOR UPDATE),
     upd AS (UPDATE defects d SET state = $3::text
               FROM old
              WHERE d.id = old.id AND old.state = ANY ($2::text[])
                AND ($4::bigint = 0 OR old.version = $4::bigint)
              RETURNING d.id, d.project_id, d.state, d.version, old.state AS from_state),
     ev AS (INSERT INTO defect_events (defect_id, project_id, actor_user_id, actor, action,
                                       from_state, to_state, note)
            SELECT id, project_id, $6::bigint, $7::text, 'return', from_state, state, $5::text
              FROM upd)
SELECT EXISTS (SELECT 1 FROM upd) AS changed,
       (SELECT count(*) FROM old) AS found,
       coalesce((SELECT state FROM upd), (SELECT state FROM old)) AS state,
       coalesce((SELECT version FROM upd), (SELECT version FROM old)) AS version,
       (SELECT code FROM old) AS defect_code;

-- Retires a case ($1 code, $2 reason): kept, no longer searched or pushed to projects.
-- One row: found, and whether it changed (an already retired case does not).
PREPARE kb_retire AS
WITH old AS (SELECT c.id, c.status FROM kb_cases c WHERE c.code = $1::text FOR UPDATE),
     upd AS (UPDATE kb_cases c
                SET status = 'retired', retired_at = now(), retired_reason = $2::text
               FROM old
              WHERE c.id = old.id AND old.status = 'active'
              RETURNING c.id)
SELECT (SELECT count(*) FROM old) AS found, EXISTS (SELECT 1 FROM upd) AS changed;

-- Imports cases. Rows come as parallel arrays (layouts and locations each joined by
-- U+001F). A category is a trade code or the trade's Chinese name (防水). Every row is
-- checked first (a known category, a code not repeated in the chunk): when one is bad, its rows (line, message) are returned and nothing is
-- written. Otherwise, unless p_check, each row becomes a new case (revision 1) or, when
-- its code is a case already, a new revision of it when its content differs
-- (kb_case_versions keeps each revision whole). Returns the bad rows, or one row with
-- line 0 and the counts.
CREATE OR REPLACE FUNCTION cl_kb_import(p_line integer[], p_code text[], p_title text[],
                                        p_desc text[], p_kind text[], p_specialty text[],
                                        p_category text[], p_layouts text[],
                                        p_locations text[], p_grade text[],
                                        p_repairable integer[], p_project text[],
                                        p_found text[], p_impact integer[], p_cause text[],
                                        p_corrective text[], p_preventive text[],
                                        p_responsible text[], p_check boolean,
                                        p_user bigint, p_actor text)
RETURNS TABLE (line integer, message text, inserted integer, revised integer,
               unchanged integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    r      record;
    c      kb_cases;
    v_ins  integer := 0;
    v_rev  integer := 0;
    v_same integer := 0;
BEGIN
    RETURN QUERY
    SELECT z.line, z.message, 0, 0, 0
      FROM (SELECT x.line,
                   format('unknown category %s: give a trade code (waterproofing) or its '
                          'Chinese name (防水)', x.category) AS message
              FROM unnest(p_line, p_category) AS x (line, category)
             WHERE x.category <> ''
               AND NOT EXISTS (SELECT 1 FROM trades t
                                WHERE t.code = x.category OR t.name_zh = x.category)
            UNION ALL
            SELECT y.line, format('case %s is already on line %s', y.code, y.first)
              FROM (SELECT x.line, x.code,
                           min(x.line) OVER (PARTITION BY x.code) AS first
                      FROM unnest(p_line, p_code) AS x (line, code)) y
             WHERE y.line <> y.first) z
     ORDER BY z.line;
    IF FOUND OR p_check THEN
        IF NOT FOUND THEN
            RETURN QUERY SELECT 0, NULL::text, 0, 0, 0;
        END IF;
        RETURN;
    END IF;
    FOR r IN
        SELECT x.line, x.code, x.title, x.description, x.kind, x.specialty,
               (SELECT t.code FROM trades t
                 WHERE t.code = x.category OR t.name_zh = x.category
                 ORDER BY t.code = x.category DESC, t.code LIMIT 1) AS trade,
               string_to_array(x.layouts, chr(31)) AS layouts,
               string_to_array(x.locations, chr(31)) AS locations,
               nullif(x.grade, '') AS grade,
               CASE x.repairable WHEN 1 THEN true WHEN 2 THEN false END AS repairable,
               x.project_name, nullif(x.found_on, '')::date AS found_on, x.impact_units,
               x.cause AS cause_analysis, x.corrective AS corrective_measures,
               x.preventive AS preventive_measures, x.responsible
          FROM unnest(p_line, p_code, p_title, p_desc, p_kind, p_specialty, p_category,
                      p_layouts, p_locations, p_grade, p_repairable, p_project, p_found,
                      p_impact, p_cause, p_corrective, p_preventive, p_responsible)
               AS x (line, code, title, description, kind, specialty, category, layouts,
                     locations, grade, repairable, project_name, found_on, impact_units,
                     cause, corrective, preventive, responsible)
         ORDER BY x.line
    LOOP
        SELECT * INTO c FROM kb_cases x WHERE x.code = r.code FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO kb_cases (code, title, description, kind, specialty, category, layouts,
                                  locations, grade, repairable, project_name, found_on,
                                  impact_units, cause_analysis, corrective_measures,
                                  preventive_measures, responsible)
            VALUES (r.code, r.title, r.description, r.kind, r.specialty, r.trade, r.layouts,
                    r.locations, r.grade, r.repairable, r.project_name, r.found_on,
                    r.impact_units, r.cause_analysis, r.corrective_measures,
                    r.preventive_measures, r.responsible)
            RETURNING * INTO c;
            v_ins := v_ins + 1;
        ELSIF (c.title, c.description, c.kind, c.specialty, c.category, c.layouts,
               c.locations, c.grade, c.repairable, c.project_name, c.found_on,
               c.impact_units, c.cause_analysis, c.corrective_measures,
               c.preventive_measures, c.responsible)
              IS NOT DISTINCT FROM
              (r.title, r.description, r.kind, r.specialty, r.trade, r.layouts, r.locations,
               r.grade, r.repairable, r.project_name, r.found_on, r.impact_units,
               r.cause_analysis, r.corrective_measures, r.preventive_measures,
               r.responsible) THEN
            v_same := v_same + 1;
            CONTINUE;
        ELSE
            UPDATE kb_cases x
               SET revision = x.revision + 1, title = r.title, description = r.description,
                   kind = r.kind, specialty = r.specialty, category = r.trade,
                   layouts = r.layouts, locations = r.locations, grade = r.grade,
                   repairable = r.repairable, project_name = r.project_name,
                   found_on = r.found_on, impact_units = r.impact_units,
                   cause_analysis = r.cause_analysis,
                   corrective_measures = r.corrective_measures,
                   preventive_measures = r.preventive_measures, responsible = r.responsible
             WHERE x.id = c.id RETURNING * INTO c;
            v_rev := v_rev + 1;
        END IF;
        INSERT INTO kb_case_versions (case_id, revision, content, actor_user_id, actor, note)
        VALUES (c.id, c.revision, cl_kb_content(c), p_user, p_actor, 'import');
    END LOOP;
    RETURN QUERY SELECT 0, NULL::text, v_ins, v_rev, v_same;
END $$;

-- Import: the row arrays $1..$18 as cl_kb_import takes them, $19 check only, $20 user
-- id, $21 username.
PREPARE kb_import AS
SELECT k.line AS line, k.message AS message, k.inserted AS inserted, k.revised AS revised,
       k.unchanged AS unchanged
  FROM cl_kb_import($1::integer[], $2::text[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                    $11::integer[], $12::text[], $13::text[], $14::integer[], $15::text[],
                    $16::text[], $17::text[], $18::text[], $19::boolean, $20::bigint,
                    $21::text) k;
