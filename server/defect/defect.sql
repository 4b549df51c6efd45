-- defect.sql - defect feedback's statements (server/defect/defect.c): create (from nothing,
-- from items, from a recurring-defect proposal), link items, one step of the decision
-- workflow as compare-and-set, a defect with its items and history, a project's defects,
-- and the recurring-defect proposals. A defect comes back as the view defect_rows
-- (migration 012). Scoped statements take the session scope first: $1 role, $2 company,
-- $3 contractor, $4 the user's projects (cl_visible_project, migration 011).

-- The defect a person names: its id ("12") or its code ("SJ01", any case); NULL when none.
CREATE OR REPLACE FUNCTION cl_defect_ref(p_ref text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT d.id FROM defects d
     WHERE d.code = upper(p_ref)
        OR (p_ref ~ '^[0-9]{1,18}$' AND d.id = p_ref::bigint)
     ORDER BY d.code = upper(p_ref) DESC, d.id LIMIT 1
$$;

-- Recurring-defect clusters of a project: items of one round, one category and one
-- layout whose descriptions are alike. Items with the same folded description
-- (cl_search_fold) form a group first, one pass of GROUP BY. Then the groups of one
-- round, category and layout are joined by single linkage: two groups whose descriptions
-- are similar (cl_vector_similarity of their search vectors >= 0.5, each vector made
-- once) are in one cluster, and clusters a group bridges become one. So the ways
-- inspectors write one defect (天窗渗水, 屋面天窗渗水, 天窗渗水，需处理, 天窗四周渗水) end in
-- one cluster even where two of the wordings are not alike themselves, as long as a third
-- links them. Inspectors mostly write free text, so a round can hold thousands of distinct
-- wordings: comparing every pair (3,000 wordings: 4.5 million comparisons, 15 s) is out.
-- Only pairs that can reach 0.5 are compared (prefix filtering): with the lexemes of each
-- (round, category, layout) ordered rarest first, two sets with Jaccard >= 0.5 share a
-- lexeme among the first n - ceil(n/2) + 1 of each (n: the set's size), so the pairs
-- sharing such a lexeme are the only candidates (3,000 wordings: 1.8 s, the same
-- clusters). The pairs come per lexeme from arrays, not from a self-join, whose row
-- estimate inside the function is 1 (a nested loop over 26,000 x 26,000 rows). A
-- cluster's root is its smallest group (largest group first), so its seed is the first
-- item (found first) of its largest group. p_round: a round kind, NULL for every round.
CREATE OR REPLACE FUNCTION cl_defect_clusters(p_project bigint, p_round text)
RETURNS TABLE (seed uuid, item_id uuid) LANGUAGE plpgsql STABLE AS $$
DECLARE
    e        record;
    ra       int;
    rb       int;
    parent   int[];
    vecs     tsvector[];
    m_round  bigint[];
    m_cat    text[];
    m_layout text[];
    m_fold   text[];
    m_rep    uuid[];
BEGIN
    SELECT coalesce(array_agg(g.round_id ORDER BY g.k), '{}'),
           coalesce(array_agg(g.category ORDER BY g.k), '{}'),
           coalesce(array_agg(g.layout ORDER BY g.k), '{}'),
           coalesce(array_agg(g.fold ORDER BY g.k), '{}'),
           coalesce(array_agg(g.rep ORDER BY g.k), '{}'),
           coalesce(array_agg(cl_search_vector(g.txt) ORDER BY g.k), '{}'),
           coalesce(array_agg(g.k::int ORDER BY g.k), '{}')
      INTO m_round, m_cat, m_layout, m_fold, m_rep, vecs, parent
      FROM (SELECT i.round_id, i.category, u.layout, cl_search_fold(i.description) AS fold,
                   (array_agg(i.id ORDER BY i.inspected_on, i.created_at, i.id))[1] AS rep,
                   (array_agg(i.description ORDER BY i.inspected_on, i.created_at, i.id))[1]
                       AS txt,
                   row_number() OVER (ORDER BY i.round_id, i.category, u.layout,
                                               count(DISTINCT i.unit_id) DESC,
                                               cl_search_fold(i.description)) AS k
              FROM inspection_items i
              JOIN units u ON u.id = i.unit_id
              JOIN inspection_rounds r ON r.id = i.round_id
             WHERE i.project_id = p_project AND u.layout <> ''
               AND (p_round IS NULL OR r.kind = p_round)
             GROUP BY i.round_id, i.category, u.layout, cl_search_fold(i.description)) g;
    FOR e IN
        WITH g AS (SELECT x.k::int AS k, x.r, x.c, x.l, x.v, length(x.v) AS n
                     FROM unnest(m_round, m_cat, m_layout, vecs) WITH ORDINALITY
                          AS x (r, c, l, v, k)),
             lx AS (SELECT g.k, g.r, g.c, g.l, g.n, g.v, t.x
                      FROM g CROSS JOIN LATERAL unnest(tsvector_to_array(g.v)) AS t (x)),
             df AS (SELECT lx.r, lx.c, lx.l, lx.x, count(*) AS f
                      FROM lx GROUP BY lx.r, lx.c, lx.l, lx.x),
             ranked AS (SELECT lx.k, lx.r, lx.c, lx.l, lx.x, lx.n, lx.v,
                               row_number() OVER (PARTITION BY lx.k ORDER BY df.f, lx.x) AS pos
                          FROM lx JOIN df USING (r, c, l, x)),
             pre AS (SELECT k, r, c, l, x, v FROM ranked WHERE pos <= n - (n + 1) / 2 + 1),
             -- pairs of groups sharing a prefix lexeme, per lexeme: no join to plan
             keys AS (SELECT array_agg(pre.k ORDER BY pre.k) AS ks,
                             array_agg(pre.v ORDER BY pre.k) AS vs
                        FROM pre GROUP BY pre.r, pre.c, pre.l, pre.x HAVING count(*) > 1)
        SELECT DISTINCT a.k AS ka, b.k AS kb
          FROM keys
         CROSS JOIN LATERAL unnest(keys.ks, keys.vs) WITH ORDINALITY AS a (k, v, i)
         CROSS JOIN LATERAL unnest(keys.ks, keys.vs) WITH ORDINALITY AS b (k, v, j)
         WHERE a.i < b.j AND cl_vector_similarity(a.v, b.v) >= 0.5
         ORDER BY 2, 1
    LOOP
        ra := cl_union_find_root(parent, e.ka);
        rb := cl_union_find_root(parent, e.kb);
        IF ra < rb THEN
            parent[rb] := ra;
        ELSIF rb < ra THEN
            parent[ra] := rb;
        END IF;
    END LOOP;
    RETURN QUERY
    WITH m AS (SELECT * FROM unnest(m_round, m_cat, m_layout, m_fold)
                        WITH ORDINALITY AS m (r, c, l, f, k))
    SELECT m_rep[cl_union_find_root(parent, m.k::int)], i.id
      FROM m
      JOIN inspection_items i ON i.round_id = m.r AND i.category = m.c
      JOIN units u ON u.id = i.unit_id AND u.layout = m.l
     WHERE i.project_id = p_project AND cl_search_fold(i.description) = m.f;
END $$;

-- The root of k in a union-find array (parent[k] = k at a root).
CREATE OR REPLACE FUNCTION cl_union_find_root(parent int[], k int) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    WHILE parent[k] <> k LOOP
        k := parent[k];
    END LOOP;
    RETURN k;
END $$;

-- Creates a defect, COLLECTED, with its code (the project's prefix and the next number of
-- defect_counters: SJ01; P<project id>-01 without a prefix) and its linked items: the
-- explicit ones and, with a proposal seed, the seed's cluster recomputed here. Layouts,
-- locations and the category not given are taken from the linked items. Parameters:
-- $1..$4 the session scope, $5 the idempotency key, $6 project, $7 title, $8 description,
-- $9 source, $10 kind, $11 specialty, $12 category (NULL), $13 round kind (NULL), $14
-- layouts (text[]), $15 locations (text[]), $16 risk, $17 estimated loss (NULL), $18
-- responsible department (NULL), $19 item ids (uuid[]), $20 proposal seed (NULL), $21
-- found on (NULL: the first linked item's day, or today), $22 the actor's user id, $23
-- the actor's username, $24 the complaint of the project it comes from (NULL: none; it
-- must have no defect yet, and gets this one as its linked defect). One row: the
-- defect's id (NULL when not created), `missing` (what does not exist) and `invalid`
-- (why it may not be created: the complaint already feeds another defect).
PREPARE defect_create AS
WITH proj AS (SELECT p.id, p.company_id, p.defect_prefix FROM projects p
               WHERE p.id = $6::bigint
                 AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[])),
     rnd AS (SELECT r.id FROM inspection_rounds r JOIN proj ON r.project_id = proj.id
              WHERE r.kind = $13::text),
     dept AS (SELECT d.id FROM departments d JOIN proj ON d.company_id = proj.company_id
               WHERE d.id = $18::bigint),
     clu AS (SELECT c.item_id
               FROM (SELECT id FROM proj WHERE $20::uuid IS NOT NULL) pp
              CROSS JOIN LATERAL cl_defect_clusters(pp.id, NULL) c
              WHERE c.seed = $20::uuid),
     want AS (SELECT x AS item_id FROM unnest($19::uuid[]) x UNION SELECT item_id FROM clu),
     items AS (SELECT i.id, i.project_id, i.location, i.category, i.round_id, u.layout,
                      i.inspected_on
                 FROM inspection_items i JOIN want w ON w.item_id = i.id
                 JOIN proj ON proj.id = i.project_id JOIN units u ON u.id = i.unit_id),
     old AS (SELECT d.id FROM defects d JOIN proj ON proj.id = d.project_id
              WHERE d.idem_key = $5::text),
     cmp AS (SELECT c.id, c.defect_id, d.code FROM complaints c JOIN proj ON proj.id = c.project_id
               LEFT JOIN defects d ON d.id = c.defect_id
              WHERE c.id = $24::bigint FOR UPDATE OF c),
     taken AS (SELECT format('complaint %s already feeds defect %s', cmp.id, cmp.code) AS why
                 FROM cmp WHERE cmp.defect_id IS NOT NULL
                  AND cmp.defect_id IS DISTINCT FROM (SELECT id FROM old)),
     problem AS (SELECT CASE
            WHEN NOT EXISTS (SELECT 1 FROM proj) THEN 'project'
            WHEN $24::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cmp)
                THEN format('complaint %s in the project', $24::bigint)
            WHEN $13::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rnd)
                THEN format('%s round in the project', $13::text)
            WHEN $18::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dept)
                THEN 'department of the project''s company'
            WHEN $20::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM clu)
                THEN 'proposal seeded by that item in the project'
            WHEN (SELECT count(*) FROM want) <> (SELECT count(*) FROM items)
                THEN (SELECT format('item %s in the project', w.item_id) FROM want w
                       WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.id = w.item_id)
                       ORDER BY 1 LIMIT 1)
            END AS what),
     num AS (INSERT INTO defect_counters AS dc (project_id, last)
             SELECT proj.id, 1 FROM proj, problem
              WHERE problem.what IS NULL AND NOT EXISTS (SELECT 1 FROM old)
                AND NOT EXISTS (SELECT 1 FROM taken)
             ON CONFLICT (project_id) DO UPDATE SET last = dc.last + 1
             RETURNING dc.project_id, dc.last),
     ins AS (INSERT INTO defects (project_id, code, title, description, source, kind, specialty,
                                  category, round_id, layouts, locations, found_on, risk,
                                  estimated_loss, responsible_dept_id, idem_key)
             SELECT proj.id,
                    coalesce(proj.defect_prefix, 'P' || proj.id || '-')
                        || lpad(num.last::text, greatest(2, length(num.last::text)), '0'),
                    $7::text, $8::text, $9::text, $10::text, $11::text,
                    coalesce($12::text, (SELECT min(category) FROM items
                                          HAVING count(DISTINCT category) = 1)),
                    coalesce((SELECT id FROM rnd), (SELECT min(round_id) FROM items
                                                     HAVING count(DISTINCT round_id) = 1)),
                    CASE WHEN cardinality($14::text[]) > 0 THEN $14::text[]
                         ELSE coalesce((SELECT array_agg(DISTINCT layout ORDER BY layout)
                                          FROM items WHERE layout <> ''), '{}') END,
                    CASE WHEN cardinality($15::text[]) > 0 THEN $15::text[]
                         ELSE coalesce((SELECT array_agg(DISTINCT location ORDER BY location)
                                          FROM items), '{}') END,
                    coalesce($21::date, (SELECT min(inspected_on) FROM items), current_date),
                    $16::text, $17::numeric, $18::bigint,
                    $5::text
               FROM proj JOIN num ON num.project_id = proj.id
             RETURNING id, project_id),
     link AS (INSERT INTO defect_items (defect_id, item_id, project_id)
              SELECT ins.id, items.id, items.project_id FROM ins, items),
     fed AS (UPDATE complaints c SET defect_id = ins.id, version = c.version + 1
               FROM ins WHERE c.id = $24::bigint AND c.defect_id IS NULL),
     ev AS (INSERT INTO defect_events (defect_id, project_id, actor_user_id, actor, action,
                                       from_state, to_state, note, detail)
            SELECT ins.id, ins.project_id, $22::bigint, $23::text, 'create', NULL, 'collected',
                   '', jsonb_build_object('items', (SELECT count(*) FROM items),
                                          'proposal', $20::uuid, 'complaint', $24::bigint)
              FROM ins)
SELECT coalesce((SELECT id FROM ins), (SELECT id FROM old)) AS id,
       (SELECT what FROM problem) AS missing,
       (SELECT why FROM taken) AS invalid;

-- The photos of the defect the same batch has just created under the idempotency key $1
-- (nothing when it created none): $2 their SHA-256 (bytea[], binary), $3 their mime
-- types, $4 their bytes (bytea[], binary). A photo is stored once per content hash
-- (photos, migration 003). One row: how many were newly linked.
-- @binary $2 $4
PREPARE defect_add_photos AS
WITH d AS (SELECT x.id FROM defects x WHERE x.idem_key = $1::text),
     ph AS (SELECT p.hash, p.mime, p.data
              FROM unnest($2::bytea[], $3::text[], $4::bytea[]) AS p (hash, mime, data)),
     new_photos AS (INSERT INTO photos (sha256, mime, size, data)
                    SELECT DISTINCT ON (ph.hash) ph.hash, ph.mime, length(ph.data), ph.data
                      FROM ph, d
                    ON CONFLICT (sha256) DO NOTHING RETURNING 1),
     linked AS (INSERT INTO defect_photos (defect_id, sha256)
                SELECT DISTINCT d.id, ph.hash FROM d, ph
                ON CONFLICT DO NOTHING RETURNING 1)
SELECT (SELECT count(*) FROM linked) AS linked;

-- What a step needs to know before it is tried: the defect's state, version and the facts
-- its guards read, and who the caller is to it. Parameters: $1..$4 the session scope, $5
-- the defect (id or code), $6 the caller's user id, $7 a department the step names (NULL:
-- none). visible: in the caller's scope; the caller's relations: customer relations of
-- the project's company or HQ (is_cr), a member of the responsible department, the leader
-- of its superior department, a member of a cost department of the project's company.
PREPARE defect_facts AS
SELECT d.id, d.code, d.state, d.version, coalesce(d.grade, '') AS grade,
       CASE WHEN d.repairable IS NULL THEN -1 WHEN d.repairable THEN 1 ELSE 0 END AS repairable,
       d.approved_by IS NOT NULL AS approved, d.cost_estimate IS NOT NULL AS estimated,
       cl_visible_project(d.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
           AS visible,
       ($1::text = 'hq_admin' OR ($1::text = 'cr' AND p.company_id = $2::bigint)) AS is_cr,
       coalesce($1::text = 'dept' AND u.department_id = d.responsible_dept_id, false)
           AS is_responsible,
       coalesce($1::text = 'dept' AND sup.leader_user_id = $6::bigint, false) AS is_leader,
       coalesce($1::text = 'dept' AND ud.kind = 'cost' AND ud.company_id = p.company_id, false)
           AS is_cost,
       $1::text = 'hq_admin' AS is_hq,
       coalesce(rd.name, '') AS responsible_dept,
       coalesce(sup.name, '') AS superior_dept,
       coalesce(lu.username, '') AS superior_leader,
       ($7::bigint IS NULL OR EXISTS (SELECT 1 FROM departments x
                                       WHERE x.id = $7::bigint AND x.company_id = p.company_id))
           AS dept_ok
  FROM defects d
  JOIN projects p ON p.id = d.project_id
  LEFT JOIN users u ON u.id = $6::bigint
  LEFT JOIN departments ud ON ud.id = u.department_id
  LEFT JOIN departments rd ON rd.id = d.responsible_dept_id
  LEFT JOIN departments sup ON sup.id = rd.parent_id
  LEFT JOIN users lu ON lu.id = sup.leader_user_id
 WHERE d.id = cl_defect_ref($5::text);

-- One step, compare-and-set on (id, state, version), and its event with who, when, the
-- note and what it set. Parameters: $1 the defect, $2 its state and $3 its version as
-- defect_facts read them, $4 the state the step leads to, $5 the action, $6 note, $7
-- attendees, $8 minutes, $9 cause, $10 corrective, $11 preventive ('' keeps each), $12
-- responsible department (NULL keeps), $13 grade, $14 repairable (decide), $15 cost
-- (estimate), $16 the actor's user id, $17 the actor's username. One row: changed.
PREPARE defect_step AS
WITH upd AS (UPDATE defects d SET
                state = $4::text,
                meeting_on = CASE WHEN $5::text = 'meet' THEN current_date ELSE d.meeting_on END,
                meeting_attendees = CASE WHEN $5::text = 'meet' THEN $7::text
                                         ELSE d.meeting_attendees END,
                meeting_minutes = CASE WHEN $5::text = 'meet' THEN $8::text
                                       ELSE d.meeting_minutes END,
                cause_analysis = CASE WHEN $9::text <> '' THEN $9::text ELSE d.cause_analysis END,
                corrective_measures = CASE WHEN $10::text <> '' THEN $10::text
                                           ELSE d.corrective_measures END,
                preventive_measures = CASE WHEN $11::text <> '' THEN $11::text
                                           ELSE d.preventive_measures END,
                responsible_dept_id = coalesce($12::bigint, d.responsible_dept_id),
                grade = CASE WHEN $5::text = 'decide' THEN $13::text ELSE d.grade END,
                repairable = CASE WHEN $5::text = 'decide' THEN $14::boolean
                                  ELSE d.repairable END,
                approved_by = CASE WHEN $5::text = 'approve' THEN $16::bigint
                                   ELSE d.approved_by END,
                approved_at = CASE WHEN $5::text = 'approve' THEN now() ELSE d.approved_at END,
                fix_plan = CASE WHEN $5::text = 'plan' THEN $6::text ELSE d.fix_plan END,
                cost_estimate = CASE WHEN $5::text = 'estimate' THEN $15::numeric
                                     ELSE d.cost_estimate END
              WHERE d.id = $1::bigint AND d.state = $2::text AND d.version = $3::bigint
              RETURNING d.id, d.project_id),
     ev AS (INSERT INTO defect_events (defect_id, project_id, actor_user_id, actor, action,
                                       from_state, to_state, note, detail)
            SELECT upd.id, upd.project_id, $16::bigint, $17::text, $5::text, $2::text,
                   $4::text, $6::text,
                   jsonb_strip_nulls(jsonb_build_object(
                       'attendees', nullif($7::text, ''), 'minutes', nullif($8::text, ''),
                       'cause', nullif($9::text, ''), 'corrective', nullif($10::text, ''),
                       'preventive', nullif($11::text, ''), 'department_id', $12::bigint,
                       'grade', $13::text, 'repairable', $14::boolean, 'cost', $15::numeric))
              FROM upd)
SELECT EXISTS (SELECT 1 FROM upd) AS changed;

-- Links items of the defect's project to it, compare-and-set like a step. Parameters: $1
-- the defect, $2 its state, $3 its version, $4 the item ids (uuid[]), $5 the actor's user
-- id, $6 username. One row: whether the defect was as expected (found), the first item
-- that is not one of its project (bad_item, NULL: none), and how many were newly linked.
PREPARE defect_link AS
WITH d AS (SELECT d.id, d.project_id, d.state FROM defects d
            WHERE d.id = $1::bigint AND d.state = $2::text AND d.version = $3::bigint
              FOR UPDATE),
     want AS (SELECT DISTINCT x FROM unnest($4::uuid[]) x),
     items AS (SELECT i.id, i.project_id FROM inspection_items i
                 JOIN want ON want.x = i.id JOIN d ON d.project_id = i.project_id),
     bad AS (SELECT w.x FROM want w WHERE NOT EXISTS (SELECT 1 FROM items WHERE items.id = w.x)
              ORDER BY 1 LIMIT 1),
     ins AS (INSERT INTO defect_items (defect_id, item_id, project_id)
             SELECT d.id, items.id, items.project_id FROM d, items
              WHERE NOT EXISTS (SELECT 1 FROM bad)
             ON CONFLICT DO NOTHING RETURNING item_id),
     touch AS (UPDATE defects x SET updated_at = now() FROM d
                WHERE x.id = d.id AND NOT EXISTS (SELECT 1 FROM bad) RETURNING x.id),
     ev AS (INSERT INTO defect_events (defect_id, project_id, actor_user_id, actor, action,
                                       from_state, to_state, note, detail)
            SELECT d.id, d.project_id, $5::bigint, $6::text, 'link', d.state, d.state, '',
                   jsonb_build_object('items', (SELECT count(*) FROM ins))
              FROM d WHERE NOT EXISTS (SELECT 1 FROM bad))
SELECT EXISTS (SELECT 1 FROM d) AS found, (SELECT x::text FROM bad) AS bad_item,
       (SELECT count(*) FROM ins) AS linked;

-- A defect as defect_rows shows it. Parameters: $1..$4 the session scope, $5 whether the
-- scope is already checked (the batch that just wrote it), $6 its id, $7 its id or code
-- as a person wrote it, $8 the idempotency key that created it (each NULL when unused),
-- $9 the caller's user id. Besides its scope, a member of its responsible department
-- and the leader of that department's superior (perhaps of the parent company) see it.
PREPARE defect_get AS
SELECT dr.* FROM defect_rows dr
 WHERE dr.id = coalesce($6::bigint, cl_defect_ref($7::text),
                        (SELECT x.id FROM defects x WHERE x.idem_key = $8::text))
   AND ($5::boolean
        OR cl_visible_project(dr.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
        OR ($1::text = 'dept'
            AND EXISTS (SELECT 1 FROM departments rd
                          LEFT JOIN departments sup ON sup.id = rd.parent_id
                         WHERE rd.id = dr.responsible_dept_id
                           AND (sup.leader_user_id = $9::bigint
                                OR rd.id = (SELECT u.department_id FROM users u
                                             WHERE u.id = $9::bigint)))));

-- A defect's linked items with their unit and ticket, by unit; parameters as defect_get's
-- $6..$8 (read only after defect_get found the defect in scope).
PREPARE defect_get_items AS
SELECT i.id::text AS item_id, u.number AS unit, u.layout AS layout, i.location AS location,
       i.category AS category, i.description AS description,
       coalesce(t.number, 0) AS ticket_number, coalesce(t.state, '') AS ticket_state
  FROM defect_items di
  JOIN inspection_items i ON i.id = di.item_id
  JOIN units u ON u.id = i.unit_id
  LEFT JOIN tickets t ON t.id = i.id
 WHERE di.defect_id = coalesce($1::bigint, cl_defect_ref($2::text),
                               (SELECT x.id FROM defects x WHERE x.idem_key = $3::text))
 ORDER BY u.number, i.created_at, i.id;

-- A defect's history, oldest first; parameters as defect_get_items'.
PREPARE defect_get_events AS
SELECT (extract(epoch FROM e.at) * 1000)::bigint AS at_ms, e.actor AS actor,
       e.action AS action, coalesce(e.from_state, '') AS from_state, e.to_state AS to_state,
       e.note AS note, e.detail::text AS detail
  FROM defect_events e
 WHERE e.defect_id = coalesce($1::bigint, cl_defect_ref($2::text),
                              (SELECT x.id FROM defects x WHERE x.idem_key = $3::text))
 ORDER BY e.id;

-- A project's defects by code. Parameters: $1..$4 the session scope, $5 the project, $6 a
-- state ('' every state). No row at all: no such project; one row of NULLs: none.
-- @star dr defect_rows
PREPARE defect_list AS
SELECT dr.* FROM (SELECT 1 WHERE cl_visible_project($5::bigint, $1::text, $2::bigint,
                                                    $3::bigint, $4::bigint[])) v
  LEFT JOIN defect_rows dr ON dr.project_id = $5::bigint AND ($6::text = '' OR dr.state = $6::text)
 ORDER BY length(dr.code), dr.code;

-- Recurring-defect proposals of a project (cl_defect_clusters) with at least $7 units,
-- each with the codes of the defects its items are already linked to.
-- Parameters: $1..$4 the session scope, $5 the project, $6 a round kind (NULL: every
-- round), $7 the fewest units. No row at all: no such project; one row of NULLs: none.
PREPARE defect_proposals AS
WITH c AS (SELECT * FROM cl_defect_clusters($5::bigint, $6::text)),
     agg AS (SELECT c.seed, count(DISTINCT i.unit_id) AS units, count(*) AS items,
                    (SELECT string_agg(DISTINCT d.code, ',')
                       FROM c c2 JOIN defect_items di ON di.item_id = c2.item_id
                       JOIN defects d ON d.id = di.defect_id
                      WHERE c2.seed = c.seed) AS defects
               FROM c JOIN inspection_items i ON i.id = c.item_id GROUP BY c.seed),
     props AS (SELECT s.id::text AS seed_item_id, s.category, u.layout, r.kind AS round,
                      agg.units, agg.items, s.description, coalesce(agg.defects, '') AS defects
                 FROM agg JOIN inspection_items s ON s.id = agg.seed
                 JOIN units u ON u.id = s.unit_id
                 JOIN inspection_rounds r ON r.id = s.round_id
                WHERE agg.units >= $7::int)
SELECT props.seed_item_id, props.category, props.layout, props.round, props.units,
       props.items, props.description, props.defects
  FROM (SELECT 1 WHERE cl_visible_project($5::bigint, $1::text, $2::bigint, $3::bigint,
                                          $4::bigint[])) v
  LEFT JOIN props ON true
 ORDER BY props.units DESC, props.category, props.layout, props.seed_item_id;
