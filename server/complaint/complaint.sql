-- complaint.sql - owner complaints (server/complaint/complaint.c, docs/COMPLAINTS.md).
--
-- A write is two batches: the daemon first reads the complaint's facts, clocks and company
-- calendar (complaint_ctx / complaint_ctx_new, complaint_cal_hours, complaint_cal_days),
-- computes the class (common/complaint_rules.c) and the clocks (common/bizcal.c) in C, then
-- writes them with a compare-and-set on the version it read (cl_complaint_add,
-- cl_complaint_apply). Times cross as Unix seconds. Statements that take the session scope
-- take it as $1 role, $2 company, $3 contractor, $4 projects; a complaint outside it reads
-- exactly like a missing one.

-- "Now" for complaints and their clocks: now(), unless the setting closeloop.now holds a
-- timestamp. That setting is for tests only (a simulated clock: ALTER SYSTEM SET
-- closeloop.now = '2026-10-09 10:00+08'; SELECT pg_reload_conf();), documented in
-- docs/COMPLAINTS.md; production never sets it.
CREATE OR REPLACE FUNCTION cl_complaint_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('closeloop.now', true), '')::timestamptz, now())
$$;

-- Distinct complainants (by phone, else name) of the issue of project p_project, specialty
-- p_specialty and linked defect p_defect or, without one, category p_category (neither:
-- no issue to share), among complaints taken in within 30 days of p_at, other than
-- p_except; p_owner (this complaint's complainant) counts once in any case.
CREATE OR REPLACE FUNCTION cl_complaint_same_issue(p_project bigint, p_specialty text,
                                                   p_defect bigint, p_category text,
                                                   p_at timestamptz, p_owner text,
                                                   p_except bigint)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT count(DISTINCT k) FROM (
        SELECT CASE WHEN c.owner_phone <> '' THEN c.owner_phone ELSE c.owner_name END AS k
          FROM complaints c
         WHERE (p_defect IS NOT NULL OR p_category <> '')
           AND c.project_id = p_project AND c.specialty = p_specialty
           AND (CASE WHEN p_defect IS NOT NULL THEN c.defect_id = p_defect
                     ELSE c.defect_id IS NULL AND c.category = p_category END)
           AND c.created_at BETWEEN p_at - interval '30 days' AND p_at + interval '30 days'
           AND c.id IS DISTINCT FROM p_except
        UNION ALL SELECT p_owner) AS o
$$;

-- Whether user p_user may own a complaint of project p_project at level p_level (NULL:
-- at some level): 1 property staff of the project, 2 customer relations or the warranty
-- office of its company, 3 the hotline or HQ. An active account only.
CREATE OR REPLACE FUNCTION cl_complaint_owner_fits(p_user bigint, p_project bigint,
                                                   p_level integer)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM users u JOIN projects p ON p.id = p_project
         WHERE u.id = p_user AND NOT u.disabled
           AND ((coalesce(p_level, 1) = 1 AND u.role = 'property'
                 AND EXISTS (SELECT 1 FROM user_projects up
                              WHERE up.user_id = u.id AND up.project_id = p_project))
             OR (coalesce(p_level, 2) = 2 AND u.role IN ('cr', 'warranty')
                 AND u.company_id = p.company_id)
             OR (coalesce(p_level, 3) = 3 AND u.role IN ('hotline', 'hq_admin'))))
$$;

-- Records a new complaint with its class and clocks as the daemon computed them (times in
-- Unix seconds), its 'add' event (detail: the dues), a 'class' event and a severity
-- notice when its class is above ordinary. Returns the id, or raises with a sentence.
CREATE OR REPLACE FUNCTION cl_complaint_add(
    p_project bigint, p_unit bigint, p_owner_name text, p_owner_phone text, p_channel text,
    p_specialty text, p_category text, p_description text, p_complainants integer,
    p_legal boolean, p_media boolean, p_legal_risk boolean, p_media_risk boolean,
    p_outside boolean, p_ticket uuid, p_defect bigint, p_owner_user bigint, p_actor bigint,
    p_class text, p_reason text, p_now bigint, p_fr_budget bigint, p_fr_due bigint,
    p_fr_warn bigint, p_cl_budget bigint, p_cl_due bigint, p_cl_warn bigint, p_detail text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    cid bigint;
    at timestamptz := to_timestamp(p_now);
BEGIN
    IF p_unit IS NOT NULL AND NOT EXISTS (SELECT 1 FROM units u
                                          WHERE u.id = p_unit AND u.project_id = p_project) THEN
        RAISE EXCEPTION 'no unit % in this project', p_unit USING ERRCODE = '22023';
    END IF;
    IF p_ticket IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tickets t
                                            WHERE t.id = p_ticket AND t.project_id = p_project) THEN
        RAISE EXCEPTION 'no ticket % in this project', p_ticket USING ERRCODE = '22023';
    END IF;
    IF p_defect IS NOT NULL AND NOT EXISTS (SELECT 1 FROM defects d
                                            WHERE d.id = p_defect AND d.project_id = p_project) THEN
        RAISE EXCEPTION 'no defect % in this project', p_defect USING ERRCODE = '22023';
    END IF;
    IF p_category <> '' AND NOT EXISTS (SELECT 1 FROM trades tr WHERE tr.code = p_category) THEN
        RAISE EXCEPTION 'unknown trade %', p_category USING ERRCODE = '22023';
    END IF;
    IF p_owner_user IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_owner_user) THEN
        RAISE EXCEPTION 'no user %', p_owner_user USING ERRCODE = '22023';
    END IF;
    IF p_owner_user IS NOT NULL AND NOT cl_complaint_owner_fits(p_owner_user, p_project, NULL) THEN
        RAISE EXCEPTION 'user % may not own a complaint of this project', p_owner_user
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO complaints (project_id, unit_id, owner_name, owner_phone, channel, specialty,
                            category, description, complainants, legal, media, legal_risk,
                            media_risk, outside_support, ticket_id, defect_id, class,
                            class_reason, owner_user_id, created_at)
    VALUES (p_project, p_unit, p_owner_name, p_owner_phone, p_channel, p_specialty, p_category,
            p_description, p_complainants, p_legal, p_media, p_legal_risk, p_media_risk,
            p_outside, p_ticket, p_defect, p_class, p_reason, coalesce(p_owner_user, p_actor), at)
    RETURNING id INTO cid;
    INSERT INTO complaint_clocks (complaint_id, kind, budget_s, running_since, due_at, warn_at)
    VALUES (cid, 'first_reply', p_fr_budget, at, to_timestamp(p_fr_due), to_timestamp(p_fr_warn)),
           (cid, 'closure', p_cl_budget, at, to_timestamp(p_cl_due), to_timestamp(p_cl_warn));
    INSERT INTO complaint_events (complaint_id, at, actor_user_id, action, to_class, to_level,
                                  to_owner, detail)
    VALUES (cid, at, p_actor, 'add', p_class, 1, coalesce(p_owner_user, p_actor), p_detail);
    IF p_class <> 'ordinary' THEN
        INSERT INTO complaint_events (complaint_id, at, actor_user_id, action, from_class,
                                      to_class, detail)
        VALUES (cid, at, p_actor, 'class', 'ordinary', p_class, p_reason);
        PERFORM cl_notice('severity', p_project, NULL, 'complaint:' || cid,
                          format('投诉%s定级为%s：%s', cid,
                                 CASE p_class WHEN 'important' THEN '重要' WHEN 'hot' THEN '热点'
                                              ELSE '重大' END, p_reason));
    END IF;
    RETURN cid;
END $$;

-- Writes one action's outcome as the daemon computed it, if the complaint is still at
-- version p_version: the complaint's state, class, level, owner; both clocks (p_clocks:
-- kind, budget_s, used_s, running_since, due_at, warn_at, stopped_at in Unix seconds,
-- NULL where none; reset_alerts clears warned_at / breached_at, for a restarted clock);
-- the action's event with p_detail, a 'class' event and severity notice when the class
-- changed, an 'escalated' notice to the new owner. Returns false when the version moved.
CREATE OR REPLACE FUNCTION cl_complaint_apply(
    p_id bigint, p_version bigint, p_actor bigint, p_action text, p_now bigint, p_state text,
    p_class text, p_reason text, p_level integer, p_owner bigint, p_satisfaction integer,
    p_case bigint, p_reopened integer, p_paused_s bigint, p_paused_since bigint,
    p_closed bigint, p_note text, p_detail text,
    p_fr_used bigint, p_fr_running bigint, p_fr_due bigint, p_fr_warn bigint,
    p_fr_stopped bigint, p_cl_budget bigint, p_cl_used bigint, p_cl_running bigint,
    p_cl_due bigint, p_cl_warn bigint, p_cl_stopped bigint, p_cl_reset boolean)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    old complaints%ROWTYPE;
    at timestamptz := to_timestamp(p_now);
BEGIN
    SELECT * INTO old FROM complaints WHERE id = p_id AND version = p_version FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF p_case IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kb_cases k WHERE k.id = p_case) THEN
        RAISE EXCEPTION 'no knowledge base case %', p_case USING ERRCODE = '22023';
    END IF;
    IF p_owner IS DISTINCT FROM old.owner_user_id
       AND NOT cl_complaint_owner_fits(p_owner, old.project_id, p_level) THEN
        RAISE EXCEPTION 'user % may not own a complaint at level %', p_owner, p_level
            USING ERRCODE = '22023';
    END IF;
    UPDATE complaints
       SET state = p_state, class = p_class, class_reason = p_reason, level = p_level,
           owner_user_id = p_owner, satisfaction = p_satisfaction, case_id = p_case,
           reopened = p_reopened, paused_s = p_paused_s,
           paused_since = to_timestamp(p_paused_since), closed_at = to_timestamp(p_closed),
           version = version + 1
     WHERE id = p_id;
    UPDATE complaint_clocks
       SET used_s = p_fr_used, running_since = to_timestamp(p_fr_running),
           due_at = to_timestamp(p_fr_due), warn_at = to_timestamp(p_fr_warn),
           stopped_at = to_timestamp(p_fr_stopped)
     WHERE complaint_id = p_id AND kind = 'first_reply';
    UPDATE complaint_clocks
       SET budget_s = p_cl_budget, used_s = p_cl_used, running_since = to_timestamp(p_cl_running),
           due_at = to_timestamp(p_cl_due), warn_at = to_timestamp(p_cl_warn),
           stopped_at = to_timestamp(p_cl_stopped),
           warned_at = CASE WHEN p_cl_reset THEN NULL ELSE warned_at END,
           breached_at = CASE WHEN p_cl_reset THEN NULL ELSE breached_at END
     WHERE complaint_id = p_id AND kind = 'closure';
    INSERT INTO complaint_events (complaint_id, at, actor_user_id, action, from_level, to_level,
                                  from_owner, to_owner, satisfaction, note, detail)
    VALUES (p_id, at, p_actor, p_action, old.level, p_level, old.owner_user_id, p_owner,
            CASE WHEN p_action = 'revisit' THEN p_satisfaction END, p_note, p_detail);
    IF p_class <> old.class THEN
        INSERT INTO complaint_events (complaint_id, at, actor_user_id, action, from_class,
                                      to_class, detail)
        VALUES (p_id, at, p_actor, 'class', old.class, p_class, p_reason);
        PERFORM cl_notice('severity', old.project_id, NULL, 'complaint:' || p_id,
                          format('投诉%s定级为%s：%s', p_id,
                                 CASE p_class WHEN 'important' THEN '重要' WHEN 'hot' THEN '热点'
                                              WHEN 'major' THEN '重大' ELSE '一般' END,
                                 p_reason));
    END IF;
    IF p_action = 'escalate' THEN
        PERFORM cl_notice('escalated', old.project_id, p_owner, 'complaint:' || p_id,
                          format('投诉%s已升级到第%s级，由您负责', p_id, p_level));
    END IF;
    RETURN true;
END $$;

-- A new complaint's context. Parameters: $1..$4 the session scope, $5 the project, $6 the
-- specialty, $7 the linked defect (NULL: none), $8 the category, $9 the complainant's key
-- (phone, else name). One row: the project's id (NULL when missing or out of scope), now,
-- the same-issue count and the closure targets.
PREPARE complaint_ctx_new AS
SELECT p.id AS project_id, floor(extract(epoch FROM cl_complaint_now()))::bigint AS now_s,
       cl_complaint_same_issue(p.id, $6::text, $7::bigint, $8::text, cl_complaint_now(),
                               $9::text, NULL) AS same_issue,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'ordinary') AS t_ordinary,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'important') AS t_important,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'hot') AS t_hot,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'major') AS t_major
  FROM (SELECT 1) AS one (x)
  LEFT JOIN projects p
    ON p.id = $5::bigint AND cl_visible_project(p.id, $1::text, $2::bigint, $3::bigint, $4::bigint[]);

-- A complaint's context for an action. Parameters: $1..$4 the session scope, $5 the
-- complaint. One row (none when missing or out of scope): what the rules and the clocks
-- need, times in Unix seconds (NULL: none).
PREPARE complaint_ctx AS
SELECT c.id, c.project_id, c.version, c.state, c.class, c.class_reason, c.channel,
       c.complainants, c.legal,
       c.media, c.legal_risk, c.media_risk, c.outside_support, c.reopened, c.level,
       c.owner_user_id, c.satisfaction, c.case_id, c.paused_s,
       floor(extract(epoch FROM c.paused_since))::bigint AS paused_since_s,
       floor(extract(epoch FROM c.created_at))::bigint AS created_s,
       floor(extract(epoch FROM c.closed_at))::bigint AS closed_s,
       floor(extract(epoch FROM cl_complaint_now()))::bigint AS now_s,
       cl_complaint_same_issue(c.project_id, c.specialty, c.defect_id, c.category,
                               c.created_at,
                               CASE WHEN c.owner_phone <> '' THEN c.owner_phone
                                    ELSE c.owner_name END, c.id) AS same_issue,
       f.budget_s AS fr_budget, f.used_s AS fr_used,
       floor(extract(epoch FROM f.running_since))::bigint AS fr_running,
       floor(extract(epoch FROM f.due_at))::bigint AS fr_due,
       floor(extract(epoch FROM f.warn_at))::bigint AS fr_warn,
       floor(extract(epoch FROM f.stopped_at))::bigint AS fr_stopped,
       k.budget_s AS cl_budget, k.used_s AS cl_used,
       floor(extract(epoch FROM k.running_since))::bigint AS cl_running,
       floor(extract(epoch FROM k.due_at))::bigint AS cl_due,
       floor(extract(epoch FROM k.warn_at))::bigint AS cl_warn,
       floor(extract(epoch FROM k.stopped_at))::bigint AS cl_stopped,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'ordinary') AS t_ordinary,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'important') AS t_important,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'hot') AS t_hot,
       (SELECT t.closure_hours FROM complaint_targets t WHERE t.class = 'major') AS t_major
  FROM complaints c
  JOIN complaint_clocks f ON f.complaint_id = c.id AND f.kind = 'first_reply'
  JOIN complaint_clocks k ON k.complaint_id = c.id AND k.kind = 'closure'
 WHERE c.id = $5::bigint
   AND cl_visible_project(c.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[]);

-- The working hours of the company of project $1, or else of complaint $2's project.
PREPARE complaint_cal_hours AS
SELECT h.start_min, h.end_min
  FROM cl_calendar_hours((SELECT p.company_id FROM projects p
                           WHERE p.id = coalesce($1::bigint, (SELECT c.project_id FROM complaints c
                                                               WHERE c.id = $2::bigint)))) h;

-- That company's special days, two years either side of now (any clock's reach).
PREPARE complaint_cal_days AS
SELECT to_char(d.day, 'YYYY-MM-DD') AS day, d.kind
  FROM cl_calendar_days((SELECT p.company_id FROM projects p
                          WHERE p.id = coalesce($1::bigint, (SELECT c.project_id FROM complaints c
                                                              WHERE c.id = $2::bigint))),
                        (cl_complaint_now() - interval '2 years')::date,
                        (cl_complaint_now() + interval '2 years')::date) d
 ORDER BY d.day;

-- Takes a complaint in (the C side validated and computed everything). Parameters: $1..$28
-- as cl_complaint_add's.
PREPARE complaint_add AS
SELECT cl_complaint_add($1::bigint, $2::bigint, $3::text, $4::text, $5::text, $6::text, $7::text,
                        $8::text, $9::integer, $10::boolean, $11::boolean, $12::boolean,
                        $13::boolean, $14::boolean, $15::uuid, $16::bigint, $17::bigint,
                        $18::bigint, $19::text, $20::text, $21::bigint, $22::bigint,
                        $23::bigint, $24::bigint, $25::bigint, $26::bigint, $27::bigint,
                        $28::text) AS id;

-- One action's outcome. Parameters: $1..$30 as cl_complaint_apply's. One row: applied
-- (false: the complaint changed meanwhile).
PREPARE complaint_apply AS
SELECT cl_complaint_apply($1::bigint, $2::bigint, $3::bigint, $4::text, $5::bigint, $6::text,
                          $7::text, $8::text, $9::integer, $10::bigint, $11::integer,
                          $12::bigint, $13::integer, $14::bigint, $15::bigint, $16::bigint,
                          $17::text, $18::text, $19::bigint, $20::bigint, $21::bigint,
                          $22::bigint, $23::bigint, $24::bigint, $25::bigint, $26::bigint,
                          $27::bigint, $28::bigint, $29::bigint, $30::boolean) AS applied;

-- Complaints in scope as records. Parameters: $1..$4 the session scope, $5 the complaint
-- (NULL: any), $6 the project (NULL: any), $7 the state (NULL: any), $8 the class (NULL:
-- any), $9 whether the session sees owner data. Newest first.
PREPARE complaint_rows AS
SELECT c.id, c.project_id, p.name AS project, c.unit_id,
       coalesce(b.name || '-' || u.number, '') AS unit,
       CASE WHEN $9::boolean THEN c.owner_name ELSE '' END AS owner_name,
       CASE WHEN $9::boolean THEN c.owner_phone ELSE '' END AS owner_phone,
       c.channel, c.specialty, c.category, c.description, c.complainants, c.legal, c.media,
       c.legal_risk, c.media_risk, c.outside_support, coalesce(c.ticket_id::text, '') AS ticket_id,
       c.defect_id, c.case_id, c.class, c.class_reason, c.state, c.level, c.owner_user_id,
       coalesce(ou.username, '') AS owner_user, c.satisfaction, c.reopened,
       (extract(epoch FROM c.created_at) * 1000)::bigint AS created_ms,
       (extract(epoch FROM c.closed_at) * 1000)::bigint AS closed_ms, c.version,
       floor(extract(epoch FROM cl_complaint_now()))::bigint AS now_s
  FROM complaints c
  JOIN projects p ON p.id = c.project_id
  LEFT JOIN units u ON u.id = c.unit_id
  LEFT JOIN buildings b ON b.id = u.building_id
  LEFT JOIN users ou ON ou.id = c.owner_user_id
 WHERE ($5::bigint IS NULL OR c.id = $5::bigint)
   AND ($6::bigint IS NULL OR c.project_id = $6::bigint)
   AND ($7::text IS NULL OR c.state = $7::text)
   AND ($8::text IS NULL OR c.class = $8::text)
   AND cl_visible_project(c.project_id, $1::text, $2::bigint, $3::bigint, $4::bigint[])
 ORDER BY c.id DESC
 LIMIT 5000;

-- A complaint's clocks. Parameter: $1 the complaint (complaint_rows decides scope).
PREPARE complaint_clock_rows AS
SELECT k.kind, k.budget_s, k.used_s,
       floor(extract(epoch FROM k.running_since))::bigint AS running_s,
       floor(extract(epoch FROM k.due_at))::bigint AS due_s,
       floor(extract(epoch FROM k.warn_at))::bigint AS warn_s,
       floor(extract(epoch FROM k.warned_at))::bigint AS warned_s,
       floor(extract(epoch FROM k.breached_at))::bigint AS breached_s,
       floor(extract(epoch FROM k.stopped_at))::bigint AS stopped_s
  FROM complaint_clocks k
 WHERE k.complaint_id = $1::bigint
 ORDER BY k.kind DESC;

-- A complaint's events, oldest first. Parameter: $1 the complaint.
PREPARE complaint_event_rows AS
SELECT (extract(epoch FROM e.at) * 1000)::bigint AS at_ms, coalesce(u.username, '') AS actor,
       e.action, e.detail, e.note
  FROM complaint_events e
  LEFT JOIN users u ON u.id = e.actor_user_id
 WHERE e.complaint_id = $1::bigint
 ORDER BY e.id;

-- Whether the company's calendar is open (working hours of a working day) at p_at: the
-- same rule as common/bizcal.c's cl_bizcal_is_open, here because a warning is claimed in
-- one statement, only inside working hours.
CREATE OR REPLACE FUNCTION cl_complaint_open_at(p_company bigint, p_at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    WITH l AS (SELECT (p_at AT TIME ZONE 'Asia/Shanghai') AS t),
         d AS (SELECT l.t, extract(hour FROM l.t)::int * 60 + extract(minute FROM l.t)::int AS m,
                      (SELECT x.kind FROM cl_calendar_days(p_company, l.t::date, l.t::date) x)
                          AS kind
                 FROM l)
    SELECT coalesce(d.kind = 'work', extract(isodow FROM d.t) < 6)
           AND EXISTS (SELECT 1 FROM cl_calendar_hours(p_company) h
                        WHERE d.m >= h.start_min AND d.m < h.end_min)
      FROM d
$$;

-- Claims every clock whose warning (75 % of its budget) is due now, inside the working hours
-- of its complaint's company: warned_at is set once, whichever daemon gets there first (a
-- second one's UPDATE waits for the row and then finds it claimed). Each claimed warning is
-- a 'warning' event and a notice to the complaint's named owner. One row: how many.
PREPARE complaint_warnings AS
WITH n AS (SELECT cl_complaint_now() AS t),
     al AS (UPDATE complaint_clocks k SET warned_at = n.t
              FROM n, complaints c, projects p
             WHERE c.id = k.complaint_id AND p.id = c.project_id
               AND k.warned_at IS NULL AND k.running_since IS NOT NULL AND k.warn_at <= n.t
               AND cl_complaint_open_at(p.company_id, n.t)
            RETURNING k.complaint_id, c.project_id, c.owner_user_id, n.t AS at,
                      format('投诉%s的%s时限已用去%s%%，将于%s到期', c.id,
                             CASE k.kind WHEN 'first_reply' THEN '首次答复' ELSE '关闭' END, 75,
                             to_char(k.due_at AT TIME ZONE 'Asia/Shanghai',
                                     'YYYY-MM-DD HH24:MI')) AS body),
     ev AS (INSERT INTO complaint_events (complaint_id, at, action, detail)
            SELECT al.complaint_id, al.at, 'warning', al.body FROM al RETURNING 1),
     nt AS (SELECT cl_notice('warning', al.project_id, al.owner_user_id,
                             'complaint:' || al.complaint_id, al.body) AS id FROM al)
SELECT (SELECT count(*) FROM nt) AS warnings, (SELECT count(*) FROM ev) AS events;

-- The same for breaches: the clocks whose budget ran out (due_at passed), claimed once
-- (breached_at), inside working hours; a 'breach' event and notice each.
PREPARE complaint_breaches AS
WITH n AS (SELECT cl_complaint_now() AS t),
     al AS (UPDATE complaint_clocks k SET breached_at = n.t
              FROM n, complaints c, projects p
             WHERE c.id = k.complaint_id AND p.id = c.project_id
               AND k.breached_at IS NULL AND k.running_since IS NOT NULL AND k.due_at <= n.t
               AND cl_complaint_open_at(p.company_id, n.t)
            RETURNING k.complaint_id, c.project_id, c.owner_user_id, n.t AS at,
                      format('投诉%s的%s时限已于%s超时', c.id,
                             CASE k.kind WHEN 'first_reply' THEN '首次答复' ELSE '关闭' END,
                             to_char(k.due_at AT TIME ZONE 'Asia/Shanghai',
                                     'YYYY-MM-DD HH24:MI')) AS body),
     ev AS (INSERT INTO complaint_events (complaint_id, at, action, detail)
            SELECT al.complaint_id, al.at, 'breach', al.body FROM al RETURNING 1),
     nt AS (SELECT cl_notice('breach', al.project_id, al.owner_user_id,
                             'complaint:' || al.complaint_id, al.body) AS id FROM al)
SELECT (SELECT count(*) FROM nt) AS breaches, (SELECT count(*) FROM ev) AS events;

-- Raises complaint p_id at version p_version to class p_class as time passed (the alert
-- timer; actor NULL): the class, its reason, a 'class' event and a severity notice.
-- False when the complaint moved on meanwhile (another daemon did it, or an action).
CREATE OR REPLACE FUNCTION cl_complaint_reclass(p_id bigint, p_version bigint, p_class text,
                                                p_reason text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    old complaints%ROWTYPE;
BEGIN
    SELECT * INTO old FROM complaints WHERE id = p_id AND version = p_version FOR UPDATE;
    IF NOT FOUND OR old.class = p_class THEN
        RETURN false;
    END IF;
    UPDATE complaints SET class = p_class, class_reason = p_reason, version = version + 1
     WHERE id = p_id;
    INSERT INTO complaint_events (complaint_id, at, action, from_class, to_class, detail)
    VALUES (p_id, cl_complaint_now(), 'class', old.class, p_class, p_reason);
    PERFORM cl_notice('severity', old.project_id, NULL, 'complaint:' || p_id,
                      format('投诉%s定级为%s：%s', p_id,
                             CASE p_class WHEN 'important' THEN '重要' WHEN 'hot' THEN '热点'
                                          WHEN 'major' THEN '重大' ELSE '一般' END, p_reason));
    RETURN true;
END $$;

-- The facts of the open complaints that time or later complaints have moved past a
-- threshold of the rules: below hot and open more than 7 days through our fault or with 3
-- distinct complainants of its issue (counting complaints taken in after it), or below
-- major and open more than 30 days (every one of them rises, so none is read twice); only inside its company's working
-- hours, like the warnings, so no severity notice goes out at night. At most 200 a tick.
PREPARE complaint_time_facts AS
SELECT f.id, f.version, f.class, f.complainants, f.legal, f.media, f.legal_risk, f.media_risk,
       f.outside_support, f.reopened, f.same_issue, f.fault_open_s
  FROM (SELECT c.id, c.version, c.class, c.complainants, c.legal, c.media, c.legal_risk,
               c.media_risk, c.outside_support, c.reopened,
               cl_complaint_same_issue(c.project_id, c.specialty, c.defect_id, c.category,
                                       c.created_at,
                                       CASE WHEN c.owner_phone <> '' THEN c.owner_phone
                                            ELSE c.owner_name END, c.id) AS same_issue,
               floor(extract(epoch FROM n.t - c.created_at))::bigint - c.paused_s
                   - coalesce(floor(extract(epoch FROM n.t - c.paused_since))::bigint, 0)
                   AS fault_open_s
          FROM complaints c JOIN projects p ON p.id = c.project_id,
               (SELECT cl_complaint_now() AS t) n
         WHERE c.state <> 'closed' AND c.class <> 'major'
           AND cl_complaint_open_at(p.company_id, n.t)) f
 WHERE (f.class IN ('ordinary', 'important') AND (f.fault_open_s > 7 * 86400 OR f.same_issue >= 3))
    OR f.fault_open_s > 30 * 86400
 ORDER BY f.id
 LIMIT 200;

-- Raises one complaint's class (cl_complaint_reclass). Parameters: $1 the complaint, $2
-- the version read, $3 the class, $4 the reason. One row: whether it did.
PREPARE complaint_reclass AS
SELECT cl_complaint_reclass($1::bigint, $2::bigint, $3::text, $4::text) AS raised;
