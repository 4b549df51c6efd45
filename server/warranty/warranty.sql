-- warranty.sql - warranty repairs (server/warranty/warranty.c, warranty_office.c,
-- docs/WARRANTY.md): take a report in, respond, the ladder's climbs, and the warranty
-- office's letters, deductions and third-party hand-overs.
--
-- Times cross as Unix seconds; "now" is cl_complaint_now() (complaint.sql: the simulated
-- clock of tests, now() in production). Statements that take the session scope take it
-- as $1 role, $2 company, $3 contractor, $4 projects; a report outside it reads exactly
-- like a missing one. The response due instants are business instants the daemon
-- computes in C (common/bizcal.c) over the project's company calendar, which it reads
-- with complaint.sql's complaint_cal_hours / complaint_cal_days.

-- Whether a letter or deduction of company p_company (about a ticket of project
-- p_project, NULL: none) is visible to the session scope: HQ and the hotline see all,
-- cr and the warranty office their company, property staff those about their projects.
CREATE OR REPLACE FUNCTION cl_warranty_visible(p_company bigint, p_project bigint, p_role text,
                                               s_company bigint, s_contractor bigint,
                                               s_projects bigint[])
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_role IN ('hq_admin', 'hq_analyst', 'hotline') THEN true
                WHEN p_role IN ('cr', 'warranty') THEN p_company = s_company
                ELSE p_project IS NOT NULL
                     AND cl_visible_project(p_project, p_role, s_company, s_contractor,
                                            s_projects) END
$$;

-- An 'escalated' notice to every cr and warranty office user of the company of project
-- p_project about report p_ticket. Returns how many.
CREATE OR REPLACE FUNCTION cl_warranty_notify_office(p_project bigint, p_ticket uuid,
                                                     p_body text)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer := 0;
    u record;
BEGIN
    FOR u IN SELECT x.id FROM users x JOIN projects p ON p.company_id = x.company_id
              WHERE p.id = p_project AND x.role IN ('cr', 'warranty') AND NOT x.disabled
              ORDER BY x.id LOOP
        PERFORM cl_notice('escalated', p_project, u.id, 'warranty:' || p_ticket, left(p_body, 400));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Takes a warranty report in (the C side validated it and computed the due): the
-- project's warranty round (created in_progress when missing), the unit's record of it,
-- the item and its ticket (cl_ticket_raise_to: dispatched to p_contractor when given, else
-- to the project's contractor of the trade, one 'create' event), the report at level property and
-- its 'report' event. p_item is the ticket's id; when a report with it exists already
-- (the same idempotency key again) nothing changes. Returns whether it was created.
CREATE OR REPLACE FUNCTION cl_warranty_add(
    p_item uuid, p_project bigint, p_unit bigint, p_owner_name text, p_owner_phone text,
    p_location text, p_trade text, p_description text, p_severity text, p_contractor bigint,
    p_now bigint, p_due bigint, p_actor bigint, p_actor_name text, p_detail text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    at timestamptz := to_timestamp(p_now);
    day date := (to_timestamp(p_now) AT TIME ZONE 'Asia/Shanghai')::date;
    rid bigint;
    recid bigint;
BEGIN
    -- the same key twice at once: the second waits for the first, then finds its report
    PERFORM pg_advisory_xact_lock(hashtextextended('warranty:' || p_item::text, 0));
    IF EXISTS (SELECT 1 FROM warranty_reports w WHERE w.ticket_id = p_item) THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM inspection_items i WHERE i.id = p_item) THEN
        RAISE EXCEPTION 'the idempotency key names another item' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM units u WHERE u.id = p_unit AND u.project_id = p_project) THEN
        RAISE EXCEPTION 'no unit % in this project', p_unit USING ERRCODE = '22023';
    END IF;
    IF p_contractor IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM contractors k WHERE k.id = p_contractor) THEN
        RAISE EXCEPTION 'no contractor %', p_contractor USING ERRCODE = '22023';
    END IF;
    INSERT INTO inspection_rounds (project_id, kind, status)
    VALUES (p_project, 'warranty', 'in_progress')
    ON CONFLICT (project_id, kind) DO NOTHING;
    SELECT r.id INTO rid FROM inspection_rounds r
     WHERE r.project_id = p_project AND r.kind = 'warranty';
    INSERT INTO inspection_records (project_id, unit_id, round_id, inspected_on, inspector)
    VALUES (p_project, p_unit, rid, day, p_actor_name)
    ON CONFLICT (unit_id, round_id) DO NOTHING;
    SELECT r.id INTO recid FROM inspection_records r WHERE r.unit_id = p_unit AND r.round_id = rid;
    INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id, location,
                                  category, description, severity, inspected_on, inspector)
    VALUES (p_item, recid, p_project, p_unit, rid, p_location, p_trade, p_description,
            p_severity, day, p_actor_name);
    PERFORM cl_ticket_raise_to(ARRAY[p_item], p_contractor, p_actor, p_actor_name);
    INSERT INTO warranty_reports (ticket_id, project_id, unit_id, owner_name, owner_phone,
                                  reported_at, level, response_due_at)
    VALUES (p_item, p_project, p_unit, p_owner_name, p_owner_phone, at, 'property',
            to_timestamp(p_due));
    INSERT INTO warranty_events (ticket_id, at, actor_user_id, action, to_level, detail)
    VALUES (p_item, at, p_actor, 'report', 'property', left(p_detail, 400));
    RETURN true;
END $$;

-- A new report's context. Parameters: $1..$4 the session scope, $5 the project, $6 the
-- category as typed, $7 the idempotency key ("" for none). One row: the project (NULL
-- when missing or out of scope), its trade for the category (NULL: none), the ticket id
-- the report gets (the key's, else a fresh one), now and the property budget in hours.
PREPARE warranty_ctx_new AS
SELECT p.id AS project_id, cl_trade_resolve(p.id, $6::text) AS trade,
       CASE WHEN $7::text = '' THEN gen_random_uuid()::text
            ELSE md5('warranty:' || $5::bigint || ':' || $7::text)::uuid::text END AS item_id,
       floor(extract(epoch FROM cl_complaint_now()))::bigint AS now_s,
       (SELECT t.response_hours FROM warranty_targets t WHERE t.level = 'property')
           AS property_hours
  FROM (SELECT 1) AS one (x)
  LEFT JOIN projects p
    ON p.id = $5::bigint AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[]);

-- Takes the report in. Parameters: $1..$15 as cl_warranty_add's. One row: created.
PREPARE warranty_add AS
SELECT cl_warranty_add($1::uuid, $2::bigint, $3::bigint, $4::text, $5::text, $6::text, $7::text,
                       $8::text, $9::text, $10::bigint, $11::bigint, $12::bigint, $13::bigint,
                       $14::text, $15::text) AS created;

-- Reports in scope as records. Parameters: $1..$4 the session scope, $5 the ticket (NULL:
-- any), $6 the project (NULL: any), $7 the level (NULL: any), $8 only overdue ones, $9
-- whether the session sees owner data. Newest first.
PREPARE warranty_rows AS
SELECT w.ticket_id::text AS ticket_id, t.number, w.project_id, p.name AS project, w.unit_id,
       b.name || '-' || u.number AS unit,
       CASE WHEN $9::boolean THEN w.owner_name ELSE '' END AS owner_name,
       CASE WHEN $9::boolean THEN w.owner_phone ELSE '' END AS owner_phone,
       t.category, i.location, i.description, w.level,
       (extract(epoch FROM w.reported_at) * 1000)::bigint AS reported_ms,
       (extract(epoch FROM w.response_due_at) * 1000)::bigint AS due_ms,
       (extract(epoch FROM w.responded_at) * 1000)::bigint AS responded_ms,
       coalesce(w.responded_at IS NULL AND w.response_due_at <= n.t, false) AS overdue,
       w.complaint_id, t.state AS ticket_state, t.contractor_id,
       coalesce(k.name, '') AS contractor, w.third_party_contractor_id,
       w.charged_contractor_id, w.version,
       floor(extract(epoch FROM n.t))::bigint AS now_s
  FROM warranty_reports w
  JOIN tickets t ON t.id = w.ticket_id
  JOIN inspection_items i ON i.id = w.ticket_id
  JOIN projects p ON p.id = w.project_id
  JOIN units u ON u.id = w.unit_id
  JOIN buildings b ON b.id = u.building_id
  LEFT JOIN contractors k ON k.id = t.contractor_id
  CROSS JOIN (SELECT cl_complaint_now() AS t) n
 WHERE ($5::uuid IS NULL OR w.ticket_id = $5::uuid)
   AND ($6::bigint IS NULL OR w.project_id = $6::bigint)
   AND ($7::text IS NULL OR w.level = $7::text)
   AND (NOT $8::boolean OR coalesce(w.responded_at IS NULL AND w.response_due_at <= n.t, false))
   AND cl_visible_project(w.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY w.reported_at DESC, w.ticket_id
 LIMIT 5000;

-- A report's history: its own events and its ticket's, oldest first (at the same instant,
-- the ticket's first: its 'repaired' before the response it makes). Parameter: $1 the
-- ticket (warranty_rows decides scope).
PREPARE warranty_event_rows AS
SELECT x.at_ms, x.actor, x.source, x.action, x.detail
  FROM (SELECT (extract(epoch FROM e.at) * 1000)::bigint AS at_ms,
               coalesce(u.username, '') AS actor, 'warranty' AS source, e.action,
               e.detail, e.at, 1 AS o, e.id
          FROM warranty_events e LEFT JOIN users u ON u.id = e.actor_user_id
         WHERE e.ticket_id = $1::uuid
        UNION ALL
        SELECT (extract(epoch FROM e.at) * 1000)::bigint, e.actor, 'ticket', e.action,
               concat_ws(' ', e.from_state || '→' || e.to_state, k.name, nullif(e.note, '')),
               e.at, 0, e.id
          FROM ticket_events e LEFT JOIN contractors k ON k.id = e.contractor_id
         WHERE e.ticket_id = $1::uuid) x
 ORDER BY x.at, x.o, x.id;

-- The first response (cl_warranty_respond, 026). Parameters: $1..$4 the session scope,
-- $5 the ticket, $6 the actor, $7 the note. One row: found (a visible report), first
-- (this was its first response).
PREPARE warranty_respond AS
SELECT w.ticket_id IS NOT NULL AS found,
       w.ticket_id IS NOT NULL
           AND cl_warranty_respond(w.ticket_id, cl_complaint_now(), $6::bigint,
                                   coalesce(nullif($7::text, ''), '已响应')) AS first
  FROM (SELECT 1) AS one (x)
  LEFT JOIN warranty_reports w
    ON w.ticket_id = $5::uuid
   AND cl_visible_project(w.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[]);

-- ---- the ladder (the daemon's timer) ------------------------------------------------------

-- The reports whose response is overdue now, at level property or developer, inside their
-- company's working hours: what the climb needs (the complaint's facts for the hotline),
-- at most 50 a tick, the longest overdue first.
PREPARE warranty_overdue AS
SELECT w.ticket_id::text AS ticket_id, w.version, w.level, w.project_id, t.category,
       floor(extract(epoch FROM n.t))::bigint AS now_s,
       (SELECT x.response_hours FROM warranty_targets x WHERE x.level = 'developer')
           AS developer_hours,
       cl_complaint_same_issue(w.project_id, 'engineering', NULL, t.category, n.t,
                               CASE WHEN w.owner_phone <> '' THEN w.owner_phone
                                    ELSE w.owner_name END, NULL) AS same_issue,
       (SELECT x.closure_hours FROM complaint_targets x WHERE x.class = 'ordinary') AS t_ordinary,
       (SELECT x.closure_hours FROM complaint_targets x WHERE x.class = 'important') AS t_important,
       (SELECT x.closure_hours FROM complaint_targets x WHERE x.class = 'hot') AS t_hot,
       (SELECT x.closure_hours FROM complaint_targets x WHERE x.class = 'major') AS t_major
  FROM warranty_reports w
  JOIN tickets t ON t.id = w.ticket_id
  JOIN projects p ON p.id = w.project_id
  CROSS JOIN (SELECT cl_complaint_now() AS t) n
 WHERE w.responded_at IS NULL AND w.level IN ('property', 'developer')
   AND w.response_due_at <= n.t
   AND cl_complaint_open_at(p.company_id, n.t)
 ORDER BY w.response_due_at, w.ticket_id
 LIMIT 50;

-- Climbs report $1 (read at version $2) from property to developer, claimed once by one
-- UPDATE (still unanswered, still property, still overdue, the calendar open): the new
-- due $3 (Unix seconds), a 'climb' event with detail $4, an 'escalated' notice to the
-- company's cr and warranty office. One row: climbed (0 or 1), notices.
PREPARE warranty_climb_developer AS
WITH n AS (SELECT cl_complaint_now() AS t),
     up AS (UPDATE warranty_reports w
               SET level = 'developer', response_due_at = to_timestamp($3::bigint),
                   version = w.version + 1
              FROM n, projects p
             WHERE w.ticket_id = $1::uuid AND w.version = $2::bigint AND w.level = 'property'
               AND w.responded_at IS NULL AND w.response_due_at <= n.t
               AND p.id = w.project_id AND cl_complaint_open_at(p.company_id, n.t)
            RETURNING w.ticket_id, w.project_id, n.t AS at),
     ev AS (INSERT INTO warranty_events (ticket_id, at, action, from_level, to_level, detail)
            SELECT up.ticket_id, up.at, 'climb', 'property', 'developer', left($4::text, 400)
              FROM up RETURNING 1),
     nt AS (SELECT cl_warranty_notify_office(up.project_id, up.ticket_id, $4::text) AS n
              FROM up)
SELECT (SELECT count(*) FROM up) AS climbed, (SELECT count(*) FROM ev) AS events,
       coalesce((SELECT sum(nt.n) FROM nt), 0)::bigint AS notices;

-- Climbs report p_ticket (read at p_version) from developer to the hotline, claimed once
-- like the first climb: a complaint through cl_complaint_add (complaint.sql, the path of
-- `complaint add`: channel hotline400, specialty engineering, the ticket's category, the
-- unit, the owner and the item's description, the ticket linked; class and clocks as the
-- daemon computed them), the report's complaint_id, a 'climb' event and 'escalated'
-- notices. Returns the complaint's id, or NULL when another daemon or a response came
-- first.
CREATE OR REPLACE FUNCTION cl_warranty_climb_hotline(
    p_ticket uuid, p_version bigint, p_now bigint, p_class text, p_reason text,
    p_fr_budget bigint, p_fr_due bigint, p_fr_warn bigint, p_cl_budget bigint, p_cl_due bigint,
    p_cl_warn bigint, p_cdetail text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    w warranty_reports%ROWTYPE;
    cat text;
    descr text;
    cid bigint;
    body text;
BEGIN
    SELECT r.* INTO w FROM warranty_reports r JOIN projects p ON p.id = r.project_id
     WHERE r.ticket_id = p_ticket AND r.version = p_version AND r.level = 'developer'
       AND r.responded_at IS NULL AND r.response_due_at <= cl_complaint_now()
       AND cl_complaint_open_at(p.company_id, cl_complaint_now())
       FOR UPDATE OF r;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT t.category, i.description INTO cat, descr
      FROM tickets t JOIN inspection_items i ON i.id = t.id WHERE t.id = p_ticket;
    cid := cl_complaint_add(w.project_id, w.unit_id, w.owner_name, w.owner_phone, 'hotline400',
                            'engineering', cat, descr, 1, false, false, false, false, false,
                            p_ticket, NULL, NULL, NULL, p_class, p_reason, p_now, p_fr_budget,
                            p_fr_due, p_fr_warn, p_cl_budget, p_cl_due, p_cl_warn, p_cdetail);
    UPDATE warranty_reports SET level = 'hotline', response_due_at = NULL, complaint_id = cid,
                                version = version + 1
     WHERE ticket_id = p_ticket;
    body := format('保修报修超时未响应，已转400热线投诉%s', cid);
    INSERT INTO warranty_events (ticket_id, at, action, from_level, to_level, detail)
    VALUES (p_ticket, to_timestamp(p_now), 'climb', 'developer', 'hotline', body);
    PERFORM cl_warranty_notify_office(w.project_id, p_ticket, body);
    RETURN cid;
END $$;

-- The second climb. Parameters: $1..$12 as cl_warranty_climb_hotline's. One row: the
-- complaint (NULL: not climbed).
PREPARE warranty_climb_hotline AS
SELECT cl_warranty_climb_hotline($1::uuid, $2::bigint, $3::bigint, $4::text, $5::text,
                                 $6::bigint, $7::bigint, $8::bigint, $9::bigint, $10::bigint,
                                 $11::bigint, $12::text) AS complaint_id;
