-- 011_defects.sql - defect feedback (缺陷反馈) and the group's case knowledge base
-- (缺陷案例知识库): departments with their function, superior and leader; defects with
-- their decision workflow and history; cases with revisions; check points that push a
-- case into a project's first mock inspection; Chinese text search over cases and items.
-- Conventions as in 001 (id/version/timestamps, cl_touch, cl_track, actor required).
-- The workflow's states and steps are common/defect_fsm.c; the stored names are the
-- registry's (common/domain.c), held to these CHECKs by integration_domain.

-- ---- departments and the people in them -------------------------------------------------
-- A department's function decides which steps of a defect it acts on: the responsible
-- department plans and rectifies, a cost department estimates, the leader of the
-- responsible department's superior department approves a non-repairable defect.
ALTER TABLE departments
    ADD COLUMN kind text NOT NULL DEFAULT 'other'
        CHECK (kind IN ('cr', 'engineering', 'design', 'marketing', 'property', 'cost',
                        'gm_office', 'project', 'materials', 'planning', 'other')),
    ADD COLUMN parent_id bigint REFERENCES departments (id),
    ADD COLUMN leader_user_id bigint REFERENCES users (id),
    ADD COLUMN idem_key text UNIQUE,
    ADD CHECK (parent_id IS DISTINCT FROM id);

-- Department staff (部门人员): the new role 'dept' belongs to one department.
ALTER TABLE users ADD COLUMN department_id bigint REFERENCES departments (id);
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('hq_admin', 'hq_analyst', 'cr', 'clerk', 'contractor', 'verifier',
                    'property', 'dept'));
ALTER TABLE users ADD CHECK (role <> 'dept' OR (department_id IS NOT NULL
                                                AND company_id IS NOT NULL));

-- Department staff see what their city company's customer relations sees (002's scope
-- functions, with 'dept' beside 'cr'); they manage nothing (cl_manages_company).
CREATE OR REPLACE FUNCTION cl_visible_project(p_project bigint, p_role text, p_company bigint,
                                   p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_project IS NULL THEN
        RETURN false;
    END IF;
    CASE p_role
        WHEN 'hq_admin', 'hq_analyst' THEN
            RETURN true;
        WHEN 'cr', 'dept' THEN
            RETURN EXISTS (SELECT 1 FROM projects p
                           WHERE p.id = p_project AND p.company_id = p_company);
        WHEN 'contractor' THEN
            RETURN EXISTS (SELECT 1 FROM project_trades pt
                           WHERE pt.project_id = p_project AND pt.contractor_id = p_contractor);
        WHEN 'clerk', 'verifier', 'property' THEN
            RETURN coalesce(p_project = ANY (p_projects), false);
        ELSE
            RETURN false;
    END CASE;
END $$;

CREATE OR REPLACE FUNCTION cl_visible_projects(p_role text, p_company bigint, p_contractor bigint,
                                    p_projects bigint[])
RETURNS TABLE (project_id bigint) LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.id FROM projects p
     WHERE p_role IN ('hq_admin', 'hq_analyst')
    UNION ALL
    SELECT p.id FROM projects p
     WHERE p_role IN ('cr', 'dept') AND p.company_id = p_company
    UNION ALL
    SELECT DISTINCT pt.project_id FROM project_trades pt
     WHERE p_role = 'contractor' AND pt.contractor_id = p_contractor
    UNION ALL
    SELECT p.id FROM projects p
     WHERE p_role IN ('clerk', 'verifier', 'property') AND p.id = ANY (p_projects)
$$;

CREATE OR REPLACE FUNCTION cl_visible_company(p_company_id bigint, p_role text, p_company bigint,
                                   p_contractor bigint, p_projects bigint[])
RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF p_company_id IS NULL THEN
        RETURN false;
    END IF;
    CASE p_role
        WHEN 'hq_admin', 'hq_analyst' THEN
            RETURN true;
        WHEN 'cr', 'dept' THEN
            RETURN p_company_id = p_company;
        WHEN 'contractor' THEN
            RETURN EXISTS (SELECT 1 FROM project_trades pt JOIN projects p ON p.id = pt.project_id
                           WHERE pt.contractor_id = p_contractor
                             AND p.company_id = p_company_id);
        WHEN 'clerk', 'verifier', 'property' THEN
            RETURN EXISTS (SELECT 1 FROM projects p
                           WHERE p.id = ANY (p_projects) AND p.company_id = p_company_id);
        ELSE
            RETURN false;
    END CASE;
END $$;

-- A defect's code is the project's prefix and a per-project sequence: SJ01, SJ02 ...
-- Without a prefix the code is P<project id>-01.
ALTER TABLE projects ADD COLUMN defect_prefix text UNIQUE
    CHECK (defect_prefix ~ '^[A-Z]{1,8}$');
CREATE TABLE defect_counters (
    project_id  bigint PRIMARY KEY REFERENCES projects (id),
    last        integer NOT NULL DEFAULT 0
);

-- ---- Chinese text search ----------------------------------------------------------------
-- Chinese has no spaces, and pg_trgm cannot use its index for a 2-character word. So text
-- is indexed as a tsvector of its CJK characters (unigrams, for 1-character queries) and
-- character bigrams, each at its position, plus its Latin words and numbers ("ta",
-- "1701"); punctuation breaks a run so no bigram spans it. A query keeps 1-character
-- terms as unigrams and cuts longer CJK runs into non-overlapping bigrams (天窗渗水 ->
-- 天窗 & 渗水, 卫生间 -> 卫生 & 生间), AND-ed: any text holding all of them matches, and
-- the caller ranks the texts holding the exact phrase first. Full-width forms fold to
-- ASCII (NFKC), Latin to lower case.
CREATE FUNCTION cl_search_tokens(t text) RETURNS TABLE (tok text, pos bigint)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT x.tok, x.pos
    FROM regexp_split_to_table(
             btrim(regexp_replace(
                 regexp_replace(lower(normalize(coalesce(t, ''), NFKC)),
                                '[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', ' | ', 'g'),
                 '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])', ' \1 ', 'g')),
             '\s+') WITH ORDINALITY AS x(tok, pos)
    WHERE x.tok <> ''
$$;

CREATE FUNCTION cl_search_vector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH k AS (SELECT tok, pos, lead(tok) OVER (ORDER BY pos) AS nx FROM cl_search_tokens(t)),
         lex AS (SELECT tok AS l, pos FROM k WHERE tok <> '|'
                 UNION ALL
                 SELECT tok || nx, pos FROM k
                 WHERE tok ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$'
                   AND nx ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$')
    SELECT coalesce(string_agg(format('%s:%s', quote_literal(l), least(pos, 16383)), ' ')
                        ::tsvector,
                    ''::tsvector)
    FROM lex
$$;

-- The query for what a person typed; NULL when it holds nothing searchable ("!!").
CREATE FUNCTION cl_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH k AS (SELECT tok, pos, tok ~ '^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$' AS cjk
               FROM cl_search_tokens(q) WHERE tok <> '|'),
         r AS (SELECT tok, pos, cjk,
                      pos - row_number() OVER (PARTITION BY cjk ORDER BY pos) AS run FROM k),
         s AS (SELECT tok, cjk,
                      row_number() OVER w - 1 AS i, count(*) OVER (PARTITION BY cjk, run) AS n,
                      lead(tok) OVER w AS nx, lag(tok) OVER w AS pv
               FROM r WINDOW w AS (PARTITION BY cjk, run ORDER BY pos)),
         t AS (SELECT CASE WHEN NOT cjk OR n = 1 THEN tok
                           WHEN i % 2 = 0 AND nx IS NOT NULL THEN tok || nx
                           WHEN i = n - 1 AND n % 2 = 1 THEN pv || tok END AS term
               FROM s)
    SELECT string_agg(DISTINCT quote_literal(term), ' & ')::tsquery
    FROM t WHERE term IS NOT NULL
$$;

-- The text as compared for "holds the exact phrase": folded like the index, punctuation
-- and blanks dropped, so 天窗 渗水 and 天窗，渗水 both hold 天窗渗水.
CREATE FUNCTION cl_search_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(lower(normalize(coalesce(t, ''), NFKC)),
                          '[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+', '', 'g')
$$;

-- A text array as one text for a search vector (array_to_string is only STABLE, as it
-- serves every element type; over text[] it is immutable).
CREATE FUNCTION cl_search_words(a text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(a, ' ') $$;

-- How alike two short texts are: the Jaccard index of their sets of characters and
-- bigrams, 0..1. Recurring-defect proposals and the duplicate flag at entry use it.
CREATE FUNCTION cl_text_similarity(a text, b text) RETURNS real
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH x AS (SELECT unnest(tsvector_to_array(cl_search_vector(a))) AS l),
         y AS (SELECT unnest(tsvector_to_array(cl_search_vector(b))) AS l),
         i AS (SELECT count(*) AS n FROM x JOIN y USING (l)),
         u AS (SELECT count(*) AS n FROM (SELECT l FROM x UNION SELECT l FROM y) z)
    SELECT CASE WHEN u.n = 0 THEN 0 ELSE i.n::real / u.n END FROM i, u
$$;

-- The search vectors below are derived columns: the audit and the change feed leave them
-- out (a desktop rebuilds them), as they leave out password and token hashes. cl_track
-- and cl_track_inserts are 001's, with 'search' dropped from the row.
CREATE OR REPLACE FUNCTION cl_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r           jsonb;
    actor       jsonb;
    v_id        bigint;
    v_company   bigint;
    v_project   bigint;
    v_contract  bigint;
BEGIN
    actor := nullif(current_setting('closeloop.actor', true), '')::jsonb;
    IF actor IS NULL THEN
        RAISE EXCEPTION 'closeloop: % of % without an actor', lower(TG_OP), TG_TABLE_NAME
            USING ERRCODE = 'P0001';
    END IF;
    r := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END
         - 'password_hash' - 'token_hash' - 'search';
    -- Items and tickets are keyed by UUID: entity_id stays NULL, the id is in the data.
    v_id := CASE WHEN jsonb_typeof(r -> 'id') = 'number' THEN (r ->> 'id')::bigint END;
    v_project := CASE WHEN TG_TABLE_NAME = 'projects' THEN v_id
                      ELSE (r ->> 'project_id')::bigint END;
    v_company := CASE WHEN TG_TABLE_NAME = 'companies' THEN v_id
                      ELSE (r ->> 'company_id')::bigint END;
    IF v_company IS NULL AND v_project IS NOT NULL THEN
        SELECT company_id INTO v_company FROM projects WHERE id = v_project;
    END IF;
    v_contract := CASE WHEN TG_TABLE_NAME = 'contractors' THEN v_id
                       ELSE (r ->> 'contractor_id')::bigint END;
    INSERT INTO audit_log (actor_user_id, actor, action, entity, entity_id, detail)
    VALUES ((actor ->> 'user_id')::bigint, actor, lower(TG_OP), TG_TABLE_NAME, v_id,
            CASE WHEN TG_OP = 'UPDATE'
                 THEN jsonb_build_object('old', to_jsonb(OLD) - 'password_hash' - 'token_hash' - 'search',
                                         'new', r)
                 ELSE r END);
    IF TG_NARGS = 0 OR TG_ARGV[0] <> 'nofeed' THEN
        INSERT INTO change_log (entity, entity_id, op, company_id, project_id, contractor_id, data)
        -- Owners' personal data stays out of the feed, which reaches desktops of every
        -- role in scope; the event (this unit's owner changed) still goes out.
        VALUES (TG_TABLE_NAME, v_id, lower(TG_OP), v_company, v_project, v_contract,
                CASE WHEN TG_TABLE_NAME = 'owners' THEN r - 'name' - 'phone' - 'id_number'
                     ELSE r END);
    END IF;
    RETURN NULL;
END $$;

-- Inserts come in bulk (imports, a day's inspection items), so they are tracked once per
-- statement from its transition table: one set-based insert into each log instead of
-- two per row. Updates and deletes are few and keep the row trigger above.
CREATE OR REPLACE FUNCTION cl_track_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor  jsonb;
    feed   boolean := TG_NARGS = 0 OR TG_ARGV[0] <> 'nofeed';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows) THEN
        RETURN NULL;
    END IF;
    actor := nullif(current_setting('closeloop.actor', true), '')::jsonb;
    IF actor IS NULL THEN
        RAISE EXCEPTION 'closeloop: insert of % without an actor', TG_TABLE_NAME
            USING ERRCODE = 'P0001';
    END IF;
    WITH r AS (SELECT to_jsonb(n) - 'password_hash' - 'token_hash' - 'search' AS j FROM new_rows n),
         k AS (SELECT j, CASE WHEN jsonb_typeof(j -> 'id') = 'number'
                              THEN (j ->> 'id')::bigint END AS id FROM r),
         audit AS (INSERT INTO audit_log (actor_user_id, actor, action, entity, entity_id,
                                          detail)
                   SELECT (actor ->> 'user_id')::bigint, actor, 'insert', TG_TABLE_NAME,
                          k.id, k.j FROM k)
    INSERT INTO change_log (entity, entity_id, op, company_id, project_id, contractor_id, data)
    SELECT TG_TABLE_NAME, k.id, 'insert',
           CASE WHEN TG_TABLE_NAME = 'companies' THEN k.id
                ELSE coalesce((k.j ->> 'company_id')::bigint, p.company_id) END,
           x.project_id,
           CASE WHEN TG_TABLE_NAME = 'contractors' THEN k.id
                ELSE (k.j ->> 'contractor_id')::bigint END,
           CASE WHEN TG_TABLE_NAME = 'owners' THEN k.j - 'name' - 'phone' - 'id_number'
                ELSE k.j END
      FROM k
     CROSS JOIN LATERAL (SELECT CASE WHEN TG_TABLE_NAME = 'projects' THEN k.id
                                     ELSE (k.j ->> 'project_id')::bigint END
                                AS project_id) x
      LEFT JOIN projects p ON p.id = x.project_id
     WHERE feed;
    RETURN NULL;
END $$;


-- Inspection items are searched across projects (the knowledge base's second corpus).
ALTER TABLE inspection_items
    ADD COLUMN search tsvector GENERATED ALWAYS AS
        (cl_search_vector(location || ' ' || description)) STORED;
CREATE INDEX inspection_items_search ON inspection_items USING gin (search);

-- ---- defects ----------------------------------------------------------------------------
CREATE TABLE defects (
    id                    bigserial PRIMARY KEY,
    project_id            bigint NOT NULL REFERENCES projects (id),
    code                  text NOT NULL CHECK (length(code) BETWEEN 1 AND 40),
    title                 text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description           text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    -- source channel a-g of DOMAIN.md section 5
    source                text NOT NULL
                          CHECK (source IN ('patrol', 'mock_inspection', 'handover_repair',
                                            'warranty', 'complaint', 'property', 'survey')),
    kind                  text NOT NULL CHECK (kind IN ('product', 'service', 'policy')),
    specialty             text NOT NULL
                          CHECK (specialty IN ('engineering', 'design', 'sales', 'property',
                                               'service', 'other')),
    category              text REFERENCES trades (code),   -- the trade, for product defects
    round_id              bigint REFERENCES inspection_rounds (id), -- where it was found
    layouts               text[] NOT NULL DEFAULT '{}',    -- affected layouts (TA)
    locations             text[] NOT NULL DEFAULT '{}',    -- affected rooms and places
    found_on              date NOT NULL DEFAULT current_date,
    risk                  text NOT NULL DEFAULT '' CHECK (length(risk) <= 2000),
    estimated_loss        numeric(14, 2) CHECK (estimated_loss >= 0), -- yuan
    responsible_dept_id   bigint REFERENCES departments (id),
    -- the decision meeting (缺陷决策会)
    meeting_on            date,
    meeting_attendees     text NOT NULL DEFAULT '' CHECK (length(meeting_attendees) <= 2000),
    meeting_minutes       text NOT NULL DEFAULT '' CHECK (length(meeting_minutes) <= 8000),
    cause_analysis        text NOT NULL DEFAULT '' CHECK (length(cause_analysis) <= 8000),
    corrective_measures   text NOT NULL DEFAULT '' CHECK (length(corrective_measures) <= 8000),
    preventive_measures   text NOT NULL DEFAULT '' CHECK (length(preventive_measures) <= 8000),
    -- the decision
    grade                 text CHECK (grade IN ('A', 'B')),
    repairable            boolean,
    approved_by           bigint REFERENCES users (id),
    approved_at           timestamptz,
    -- grade A: the fix and its cost; grade B: the measures reported to the GM office
    fix_plan              text NOT NULL DEFAULT '' CHECK (length(fix_plan) <= 8000),
    cost_estimate         numeric(14, 2) CHECK (cost_estimate >= 0), -- yuan
    state                 text NOT NULL DEFAULT 'collected'
                          CHECK (state IN ('collected', 'analysed', 'decided', 'planned',
                                           'rectified', 'verified', 'reported', 'filed',
                                           'accepted', 'returned')),
    idem_key              text UNIQUE,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    version               bigint NOT NULL DEFAULT 1,
    UNIQUE (project_id, code),
    CHECK (state IN ('collected', 'analysed') OR (grade IS NOT NULL AND repairable IS NOT NULL)),
    CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);
CREATE INDEX defects_project ON defects (project_id, state);

-- The items (and so the tickets: a ticket has its item's id) that show a defect. The
-- impact in units is counted from them, never typed.
CREATE TABLE defect_items (
    defect_id   bigint NOT NULL REFERENCES defects (id),
    item_id     uuid NOT NULL REFERENCES inspection_items (id),
    project_id  bigint NOT NULL REFERENCES projects (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (defect_id, item_id)
);
CREATE INDEX defect_items_item ON defect_items (item_id);

CREATE TABLE defect_photos (
    defect_id  bigint NOT NULL REFERENCES defects (id),
    sha256     bytea NOT NULL REFERENCES photos (sha256),
    PRIMARY KEY (defect_id, sha256)
);

-- Every step: who, when, a note, and what it set (attendees, grade, estimate ...).
CREATE TABLE defect_events (
    id             bigserial PRIMARY KEY,
    defect_id      bigint NOT NULL REFERENCES defects (id),
    project_id     bigint NOT NULL REFERENCES projects (id),
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint,
    actor          text NOT NULL,
    action         text NOT NULL,
    from_state     text,
    to_state       text NOT NULL,
    note           text NOT NULL DEFAULT '',
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX defect_events_defect ON defect_events (defect_id, id);

-- ---- the knowledge base -----------------------------------------------------------------
-- A case is an accepted defect as HQ files it for every later project, or a case HQ
-- imports from its existing records. Its content has revisions (kb_case_versions keeps
-- each one whole); a retired case is kept but no longer searched or pushed.
CREATE TABLE kb_cases (
    id                   bigserial PRIMARY KEY,
    code                 text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 40),
    defect_id            bigint UNIQUE REFERENCES defects (id),
    revision             integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    title                text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description          text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    kind                 text NOT NULL CHECK (kind IN ('product', 'service', 'policy')),
    specialty            text NOT NULL
                         CHECK (specialty IN ('engineering', 'design', 'sales', 'property',
                                              'service', 'other')),
    category             text REFERENCES trades (code),
    layouts              text[] NOT NULL DEFAULT '{}',
    locations            text[] NOT NULL DEFAULT '{}',
    grade                text CHECK (grade IN ('A', 'B')),
    repairable           boolean,
    project_name         text NOT NULL DEFAULT '',  -- where it happened (万科城)
    found_on             date,
    impact_units         integer NOT NULL DEFAULT 0 CHECK (impact_units >= 0),
    cause_analysis       text NOT NULL DEFAULT '' CHECK (length(cause_analysis) <= 8000),
    corrective_measures  text NOT NULL DEFAULT '' CHECK (length(corrective_measures) <= 8000),
    preventive_measures  text NOT NULL DEFAULT '' CHECK (length(preventive_measures) <= 8000),
    responsible          text NOT NULL DEFAULT '' CHECK (length(responsible) <= 200),
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    retired_at           timestamptz,
    retired_reason       text NOT NULL DEFAULT '',
    search               tsvector GENERATED ALWAYS AS
                         (cl_search_vector(code || ' ' || title || ' ' || description || ' '
                                           || cl_search_words(layouts) || ' '
                                           || cl_search_words(locations) || ' '
                                           || cause_analysis || ' ' || preventive_measures))
                         STORED,
    idem_key             text UNIQUE,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    version              bigint NOT NULL DEFAULT 1,
    CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);
CREATE INDEX kb_cases_search ON kb_cases USING gin (search);

CREATE TABLE kb_case_versions (
    case_id        bigint NOT NULL REFERENCES kb_cases (id),
    revision       integer NOT NULL,
    content        jsonb NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint,
    actor          text NOT NULL,
    note           text NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, revision)
);

-- An item found at a check point (or later tied to a case) names its case.
ALTER TABLE inspection_items ADD COLUMN case_id bigint REFERENCES kb_cases (id);
-- An item that probably repeats another of the same unit and round is flagged at entry,
-- not refused: the earlier item it resembles.
ALTER TABLE inspection_items ADD COLUMN dup_of uuid REFERENCES inspection_items (id);

-- ---- check points: lessons pushed to the next project's first mock inspection ----------
CREATE TABLE round_checkpoints (
    round_id       bigint NOT NULL REFERENCES inspection_rounds (id),
    case_id        bigint NOT NULL REFERENCES kb_cases (id),
    project_id     bigint NOT NULL REFERENCES projects (id),
    case_revision  integer NOT NULL,
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'passed', 'found')),
    note           text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    recorded_by    bigint REFERENCES users (id),
    recorded_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (round_id, case_id),
    CHECK ((status = 'pending') = (recorded_at IS NULL))
);
CREATE INDEX round_checkpoints_project ON round_checkpoints (project_id, status);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['defects', 'kb_cases', 'round_checkpoints'] LOOP
        EXECUTE format('CREATE TRIGGER %I_touch BEFORE UPDATE ON %I FOR EACH ROW
                        EXECUTE FUNCTION cl_touch()', t, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['defects', 'defect_items', 'defect_photos', 'kb_cases',
                             'round_checkpoints', 'defect_counters'] LOOP
        PERFORM cl_track_table(t, true);
    END LOOP;
    -- defect_events and kb_case_versions are themselves the history.
END $$;
