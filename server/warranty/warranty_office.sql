-- warranty_office.sql - the warranty office's powers (server/warranty/warranty_office.c,
-- docs/WARRANTY.md): letters to contractors, deductions (requested by one user, decided by
-- another), and handing a warranty ticket to a third-party repairer at the original
-- contractor's charge. Parameters $1..$4 are the session scope where a statement takes
-- it; amounts cross as integer cents.

-- The company a letter or deduction belongs to: the ticket's project's company when a
-- ticket is named (it must be visible: else no such ticket), else p_company, else the
-- session's company. cr and the warranty office act only for their own company. Raises
-- with a sentence when none or another company is meant.
CREATE OR REPLACE FUNCTION cl_warranty_office_company(p_ticket uuid, p_company bigint,
                                                      p_role text, s_company bigint,
                                                      s_contractor bigint, s_projects bigint[])
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    co bigint;
BEGIN
    IF p_ticket IS NOT NULL THEN
        SELECT p.company_id INTO co FROM tickets t JOIN projects p ON p.id = t.project_id
         WHERE t.id = p_ticket
           AND cl_visible_project(t.project_id, p_role, s_company, s_contractor, s_projects);
        IF co IS NULL THEN
            RAISE EXCEPTION 'no such ticket' USING ERRCODE = '23503';
        END IF;
        IF p_company IS NOT NULL AND p_company <> co THEN
            RAISE EXCEPTION 'ticket % belongs to company %, not %', p_ticket, co, p_company
                USING ERRCODE = '22023';
        END IF;
    ELSE
        co := coalesce(p_company, s_company);
    END IF;
    IF co IS NULL THEN
        RAISE EXCEPTION 'give the company (--company) or a ticket' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = co) THEN
        RAISE EXCEPTION 'no company %', co USING ERRCODE = '22023';
    END IF;
    IF p_role IN ('cr', 'warranty') AND co IS DISTINCT FROM s_company THEN
        RAISE EXCEPTION 'you act for your own company only' USING ERRCODE = 'CL403';
    END IF;
    RETURN co;
END $$;

-- p_contractor when it is one, else raises with a sentence (its result goes into the row
-- written, so the check cannot be planned away).
CREATE OR REPLACE FUNCTION cl_warranty_contractor(p_contractor bigint)
RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM contractors k WHERE k.id = p_contractor) THEN
        RAISE EXCEPTION 'no contractor %', p_contractor USING ERRCODE = '22023';
    END IF;
    RETURN p_contractor;
END $$;

-- Sends a letter (recorded; delivery is the office's). Parameters: $1..$4 the session
-- scope, $5 the contractor, $6 the ticket (NULL: none), $7 the company (NULL: the ticket's
-- or the user's), $8 the subject, $9 the body, $10 the actor. One row: the letter's id.
-- A letter about a warranty ticket is a 'letter' event of its report too.
PREPARE warranty_letter_add AS
WITH co AS (SELECT cl_warranty_office_company($6::uuid, $7::bigint, $1::text, $2::bigint,
                                              $3::bigint, $4::bigint[]) AS id,
                   cl_warranty_contractor($5::bigint) AS contractor),
     l AS (INSERT INTO warranty_letters (company_id, contractor_id, ticket_id, sent_at, subject,
                                         body, created_by)
           SELECT co.id, co.contractor, $6::uuid, cl_complaint_now(), $8::text, $9::text,
                  $10::bigint
             FROM co
           RETURNING id, ticket_id, sent_at),
     ev AS (INSERT INTO warranty_events (ticket_id, at, actor_user_id, action, detail)
            SELECT l.ticket_id, l.sent_at, $10::bigint, 'letter', left('发函：' || $8::text, 400)
              FROM l JOIN warranty_reports w ON w.ticket_id = l.ticket_id
            RETURNING 1)
SELECT l.id, (SELECT count(*) FROM ev) AS events FROM l;

-- Letters in scope. Parameters: $1..$4 the session scope, $5 the letter (NULL: any), $6 the
-- contractor (NULL: any), $7 the ticket (NULL: any). Newest first.
PREPARE warranty_letter_rows AS
SELECT l.id, l.company_id, l.contractor_id, k.name AS contractor,
       coalesce(l.ticket_id::text, '') AS ticket_id,
       (extract(epoch FROM l.sent_at) * 1000)::bigint AS sent_ms, l.subject, l.body,
       u.username AS created_by
  FROM warranty_letters l
  JOIN contractors k ON k.id = l.contractor_id
  JOIN users u ON u.id = l.created_by
  LEFT JOIN tickets t ON t.id = l.ticket_id
 WHERE ($5::bigint IS NULL OR l.id = $5::bigint)
   AND ($6::bigint IS NULL OR l.contractor_id = $6::bigint)
   AND ($7::uuid IS NULL OR l.ticket_id = $7::uuid)
   AND cl_warranty_visible(l.company_id, t.project_id, $1::text, $2::bigint, $3::bigint,
                           $4::bigint[])
 ORDER BY l.id DESC
 LIMIT 5000;

-- Requests a deduction (state requested). Parameters: $1..$4 the session scope, $5 the
-- contractor, $6 the ticket (NULL: none), $7 the company (NULL: the ticket's or the
-- user's), $8 the amount in cents, $9 the reason, $10 the actor, $11 the kind. One row: id.
PREPARE warranty_deduct AS
WITH co AS (SELECT cl_warranty_office_company($6::uuid, $7::bigint, $1::text, $2::bigint,
                                              $3::bigint, $4::bigint[]) AS id,
                   cl_warranty_contractor($5::bigint) AS contractor),
     d AS (INSERT INTO warranty_deductions (company_id, contractor_id, ticket_id, amount, reason,
                                            kind, requested_by, requested_at)
           SELECT co.id, co.contractor, $6::uuid, ($8::bigint / 100.0)::numeric(12, 2), $9::text,
                  $11::text, $10::bigint, cl_complaint_now()
             FROM co
           RETURNING id, ticket_id, requested_at, amount),
     ev AS (INSERT INTO warranty_events (ticket_id, at, actor_user_id, action, detail)
            SELECT d.ticket_id, d.requested_at, $10::bigint, 'deduct',
                   left(format('申请扣款%s元（%s）：%s', d.amount, d.id, $9::text), 400)
              FROM d JOIN warranty_reports w ON w.ticket_id = d.ticket_id
            RETURNING 1)
SELECT d.id, (SELECT count(*) FROM ev) AS events FROM d;

-- Approves or rejects deduction p_id as p_actor: only a requested one, only one in scope
-- (else no such deduction), never by its requester (CL403, the four-eyes rule). Returns
-- the id; NULL when it was decided already (the daemon answers a conflict).
CREATE OR REPLACE FUNCTION cl_warranty_decide(p_role text, s_company bigint,
                                              s_contractor bigint, s_projects bigint[],
                                              p_id bigint, p_actor bigint, p_state text,
                                              p_note text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    d warranty_deductions%ROWTYPE;
    at timestamptz := cl_complaint_now();
BEGIN
    SELECT x.* INTO d FROM warranty_deductions x LEFT JOIN tickets t ON t.id = x.ticket_id
     WHERE x.id = p_id
       AND cl_warranty_visible(x.company_id, t.project_id, p_role, s_company, s_contractor,
                               s_projects)
       FOR UPDATE OF x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such deduction' USING ERRCODE = '23503';
    END IF;
    IF d.requested_by = p_actor THEN
        RAISE EXCEPTION 'deduction % was requested by you: another user must approve or reject it',
            p_id USING ERRCODE = 'CL403';
    END IF;
    IF d.state <> 'requested' THEN
        RETURN NULL;
    END IF;
    UPDATE warranty_deductions SET state = p_state, decided_by = p_actor, decided_at = at,
                                   decision_note = p_note
     WHERE id = p_id;
    IF d.ticket_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM warranty_reports w WHERE w.ticket_id = d.ticket_id) THEN
        INSERT INTO warranty_events (ticket_id, at, actor_user_id, action, detail)
        VALUES (d.ticket_id, at, p_actor, CASE p_state WHEN 'approved' THEN 'approve'
                                                       ELSE 'reject' END,
                left(format('扣款%s（%s元）%s%s', p_id, d.amount,
                            CASE p_state WHEN 'approved' THEN '批准' ELSE '驳回' END,
                            CASE WHEN p_note <> '' THEN '：' || p_note ELSE '' END), 400));
    END IF;
    RETURN p_id;
END $$;

-- Decides a deduction. Parameters: $1..$4 the session scope, $5 the deduction, $6 the
-- actor, $7 approved | rejected, $8 the note. One row: id.
PREPARE warranty_decide AS
SELECT cl_warranty_decide($1::text, $2::bigint, $3::bigint, $4::bigint[], $5::bigint, $6::bigint,
                          $7::text, $8::text) AS id;

-- Deductions in scope. Parameters: $1..$4 the session scope, $5 the deduction (NULL: any),
-- $6 the contractor (NULL: any), $7 the state (NULL: any), $8 the ticket (NULL: any).
-- Newest first.
PREPARE warranty_deduction_rows AS
SELECT d.id, d.company_id, d.contractor_id, k.name AS contractor,
       coalesce(d.ticket_id::text, '') AS ticket_id, (d.amount * 100)::bigint AS amount_cents,
       d.reason, d.kind, d.state, ru.username AS requested_by,
       (extract(epoch FROM d.requested_at) * 1000)::bigint AS requested_ms,
       coalesce(du.username, '') AS decided_by,
       (extract(epoch FROM d.decided_at) * 1000)::bigint AS decided_ms, d.decision_note
  FROM warranty_deductions d
  JOIN contractors k ON k.id = d.contractor_id
  JOIN users ru ON ru.id = d.requested_by
  LEFT JOIN users du ON du.id = d.decided_by
  LEFT JOIN tickets t ON t.id = d.ticket_id
 WHERE ($5::bigint IS NULL OR d.id = $5::bigint)
   AND ($6::bigint IS NULL OR d.contractor_id = $6::bigint)
   AND ($7::text IS NULL OR d.state = $7::text)
   AND ($8::uuid IS NULL OR d.ticket_id = $8::uuid)
   AND cl_warranty_visible(d.company_id, t.project_id, $1::text, $2::bigint, $3::bigint,
                           $4::bigint[])
 ORDER BY d.id DESC
 LIMIT 5000;

-- Hands warranty ticket p_ticket to repairer p_repairer: the ticket goes to it, open (a
-- 'reassign' event: the same repair and verify loop), the report records the repairer and
-- the original contractor charged, and a third_party deduction of p_cents is requested
-- against the original contractor; a 'third_party' event. Only a ticket still to be
-- repaired (dispatch, open) with an original contractor other than the repairer.
CREATE OR REPLACE FUNCTION cl_warranty_third_party(p_role text, s_company bigint,
                                                   s_contractor bigint, s_projects bigint[],
                                                   p_ticket uuid, p_repairer bigint,
                                                   p_cents bigint, p_reason text,
                                                   p_actor bigint, p_actor_name text)
RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t tickets%ROWTYPE;
    co bigint;
    at timestamptz := cl_complaint_now();
    did bigint;
    rname text;
    charged bigint;
BEGIN
    SELECT x.* INTO t FROM tickets x JOIN warranty_reports w ON w.ticket_id = x.id
     WHERE x.id = p_ticket
       AND cl_visible_project(x.project_id, p_role, s_company, s_contractor, s_projects)
       FOR UPDATE OF x;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such warranty report' USING ERRCODE = '23503';
    END IF;
    SELECT k.name INTO rname FROM contractors k WHERE k.id = p_repairer;
    IF rname IS NULL THEN
        RAISE EXCEPTION 'no contractor %', p_repairer USING ERRCODE = '22023';
    END IF;
    IF t.state NOT IN ('dispatch', 'open') THEN
        RAISE EXCEPTION 'the ticket is %: only a ticket still to be repaired is handed over',
            t.state USING ERRCODE = 'CL412';
    END IF;
    IF t.contractor_id IS NULL THEN
        RAISE EXCEPTION 'the ticket has no contractor to charge: dispatch it instead'
            USING ERRCODE = 'CL412';
    END IF;
    IF t.contractor_id = p_repairer THEN
        RAISE EXCEPTION 'contractor % has the ticket already', p_repairer USING ERRCODE = '22023';
    END IF;
    -- the contractor charged: the original one, also when a repairer hands it on again
    SELECT coalesce(w.charged_contractor_id, t.contractor_id) INTO charged
      FROM warranty_reports w WHERE w.ticket_id = p_ticket FOR UPDATE;
    IF charged = p_repairer THEN
        RAISE EXCEPTION 'contractor % is the one charged: it cannot be its own third party',
            p_repairer USING ERRCODE = '22023';
    END IF;
    SELECT p.company_id INTO co FROM projects p WHERE p.id = t.project_id;
    UPDATE tickets SET state = 'open', contractor_id = p_repairer, updated_at = now(),
                       version = version + 1
     WHERE id = p_ticket;
    INSERT INTO ticket_events (ticket_id, project_id, actor_user_id, actor, action, from_state,
                               to_state, note, contractor_id)
    VALUES (p_ticket, t.project_id, p_actor, p_actor_name, 'reassign', t.state, 'open',
            left('第三方维修：' || p_reason, 2000), p_repairer);
    UPDATE warranty_reports
       SET third_party_contractor_id = p_repairer,
           charged_contractor_id = charged,
           version = version + 1
     WHERE ticket_id = p_ticket;
    INSERT INTO warranty_deductions (company_id, contractor_id, ticket_id, amount, reason, kind,
                                     requested_by, requested_at)
    VALUES (co, charged, p_ticket, (p_cents / 100.0)::numeric(12, 2),
            left(format('第三方维修（%s）：%s', rname, p_reason), 400), 'third_party', p_actor, at)
    RETURNING id INTO did;
    INSERT INTO warranty_events (ticket_id, at, actor_user_id, action, detail)
    VALUES (p_ticket, at, p_actor, 'third_party',
            left(format('转第三方%s维修，费用%s元由原施工单位承担（扣款%s）：%s', rname,
                        (p_cents / 100.0)::numeric(12, 2), did, p_reason), 400));
    RETURN p_ticket;
END $$;

-- The hand-over. Parameters: $1..$4 the session scope, $5 the ticket, $6 the repairer, $7
-- the cost in cents, $8 the reason, $9 the actor's id, $10 name. One row: ticket_id.
PREPARE warranty_third_party AS
SELECT cl_warranty_third_party($1::text, $2::bigint, $3::bigint, $4::bigint[], $5::uuid,
                               $6::bigint, $7::bigint, $8::text, $9::bigint,
                               $10::text)::text AS ticket_id;
