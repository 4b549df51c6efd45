/* inspection.c - handover inspections: the rounds of a project (mock inspections 1-3,
 * handover day, the checks after handover) with their deadline warnings, the items an
 * inspection finds (one by one or a day's import) which each raise a repair ticket, the
 * handover acceptance form of a unit, the handover schedule, and the repair deadline
 * presets.
 *
 * As in org.c, every request is one database batch, so one transaction in one round
 * trip: a mutation is "set_actor" followed by one statement that does the whole change;
 * a read is one statement. Statements take the session scope as their first four
 * parameters and filter with cl_visible_project(), so a project outside the caller's
 * scope reads exactly like a missing one ("no such project").
 *
 * Items are validated in C first (every bad item reported with its line); then one
 * statement resolves units, trades and "found again" links, and changes nothing unless
 * every item resolved. Items and tickets share the client's UUID, so a re-sent item is
 * "unchanged", never doubled.
 *
 * Runs on the loop thread. A cl_call_t (handler.h) holds one request's state, including a
 * copy of the session; it is freed right after the final reply. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "db.h"
#include "dispatch.h"
#include "domain.h"
#include "handler.h"
#include "log.h"
#include "msg.h"
#include "session.h"
#include "sqlutil.h"
#include "ticket_fsm.h"
#include "ticket_row.h"

#define INSP_BATCH_MAX     2000 /* items per ItemBatch */
#define INSP_SCHEDULE_MAX  5000 /* units per HandoverSchedule */
#define INSP_KEY_MAX       200  /* idempotency key, characters */
#define INSP_DEPT_MAX      100
#define INSP_UNIT_MAX      50
#define INSP_INSPECTOR_MAX 100
#define INSP_LOCATION_MAX  100
#define INSP_DESC_MAX      2000
#define INSP_REASON_MAX    500 /* not-taken-over and refusal reasons */
#define INSP_READING_MAX   20
#define INSP_KEYS_MAX      50
#define INSP_DAYS_MAX      3650
#define INSP_PHOTOS_MAX    5
#define INSP_PHOTO_MAX     (2u * 1024 * 1024)
#define INSP_WARNINGS_MAX  4   /* deadline warnings of one round */
#define INSP_WARNING_LEN   200 /* bytes of one warning */
#define INSP_ERROR_LEN     300 /* bytes of one row error */
#define INSP_FRAME_SLACK   64  /* frame bytes kept free for the reply's own encoding */

typedef Closeloop__Meta pb_meta_t;

/* ------------------------------------------------------------------ calls */

/* Starts a scoped read of one project: scope, then the project id. A project that is
 * missing or out of scope returns no row at all: "no such project". */
static int insp_project_list(cl_req_t *req, int64_t project_id, const char *stmt,
                             const cl_call_kind_t *kind) {
    if (!cl_req_need_id(req, "project_id", project_id)) return CL_OK;
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    c->kind = kind;
    snprintf(c->notfound, sizeof c->notfound, "no such project");
    char project[24];
    const char *p[] = {CL_CALL_SCOPE(c), cl_sql_int_param(project, project_id)};
    cl_call_run(c, false, stmt, 5, p, cl_call_list_done);
    return CL_OK;
}

/* ------------------------------------------------------------------ SQL */

/* The SQL is laid out by hand; clang-format would scatter it. */
// clang-format off

#define SCOPE            "$1::text, $2::bigint, $3::bigint, $4::bigint[]"
#define VISIBLE(project) "cl_visible_project(" project ", " SCOPE ")"
#define MS(ts)           "(extract(epoch FROM " ts ") * 1000)::bigint"
#define META(t)          t ".id, " t ".version, " MS(t ".created_at") ", " MS(t ".updated_at")
#define DAY(d)           "coalesce(to_char(" d ", 'YYYY-MM-DD'), '')"
/* A write's single result row, whatever happened. */
#define ONE_ROW          " FROM (VALUES (1)) AS one (x) LEFT JOIN rec ON true"
#define KIND_ORDER(k)    "array_position(ARRAY['mock1', 'mock2', 'mock3', 'handover', 'check3m'," \
                         " 'check11m', 'check23m', 'check35m'], " k ")"
#define SEVERITY_ORDER(s) "array_position(ARRAY['minor', 'major', 'critical'], " s ")"

/* Round: META, project_id, kind, planned start, planned end, department, status, the
 * project's move-in date. needs p (the project) */
#define ROUND_COLS(t) META(t) ", " t ".project_id, " t ".kind, " DAY(t ".planned_start") ","  \
                      " " DAY(t ".planned_end") ", " t ".department, " t ".status,"          \
                      " " DAY("p.move_in_date")

/* scope, $5 key, $6 project, $7 kind, $8 planned start, $9 planned end (NULL: none),
 * $10 department. A second round of the same kind violates UNIQUE (project_id, kind). */
static const char sql_round_create[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $6::bigint AND " VISIBLE("p.id") "),"
    " ins AS (INSERT INTO inspection_rounds (project_id, kind, planned_start, planned_end,"
    "                                        department, idem_key)"
    "         SELECT t.id, $7::text, $8::date, $9::date, $10::text, $5::text FROM target t"
    "         ON CONFLICT (idem_key) DO NOTHING RETURNING *),"
    " rec AS (SELECT * FROM ins UNION ALL"
    "         SELECT * FROM inspection_rounds r WHERE r.idem_key = $5::text"
    "            AND NOT EXISTS (SELECT 1 FROM ins) AND " VISIBLE("r.project_id") ")"
    "SELECT " ROUND_COLS("rec") ","
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END, NULL::text"
    ONE_ROW " LEFT JOIN projects p ON p.id = rec.project_id";

/* scope, $5 project. No row at all: no such project; one NULL row: no rounds. */
static const char sql_round_list[] =
    "SELECT " ROUND_COLS("r") " FROM projects p"
    " LEFT JOIN inspection_rounds r ON r.project_id = p.id"
    " WHERE p.id = $5::bigint AND " VISIBLE("p.id")
    " ORDER BY " KIND_ORDER("r.kind");

/* scope, $5 actor user id, $6 actor username, then the items as parallel arrays:
 * $7 item ids, $8 project ids, $9 unit numbers, $10 round kinds, $11 inspected_on,
 * $12 inspectors, $13 locations, $14 categories, $15 descriptions, $16 severities,
 * $17 found_again_of (NULL: none); and the photos: $18 their item's position (1-based),
 * $19 sha256 (hex), $20 mime, $21 data (hex).
 *
 * c checks every item: its project visible, its unit found once by (project, number),
 * its trade known, its id not used by an item of another unit, its found_again_of an
 * item of the same unit. Every data-modifying CTE reads from ok, which is empty when any
 * item is bad, so then nothing changes and only the bad items come back. Otherwise the
 * new items (fresh: not in the database yet) get their round (created in_progress when
 * missing), their unit's record of that round, the item, its ticket (dispatched to the
 * project's contractor of the trade, else 'dispatch' for manual dispatch), the ticket's
 * 'create' event and the photos; and every item comes back with its ticket.
 *
 * Rounds and records that already say what the items say (in this statement's snapshot)
 * are not written nor locked, so batches on the same units do not queue behind each
 * other. What reaches ON CONFLICT DO UPDATE is then either a real change or a row a
 * concurrent transaction created after the snapshot; the update is unconditional so
 * that such a row comes back through RETURNING instead of being lost. The guard is a
 * last defence: a round or record still missing aborts the statement as retryable
 * (40001) rather than lose items. */
#pragma GCC diagnostic push /* one statement, longer than C99's 4095-byte minimum */
#pragma GCC diagnostic ignored "-Woverlength-strings"
static const char sql_item_record[] =
    "WITH r AS (SELECT x.* FROM unnest($7::uuid[], $8::bigint[], $9::text[], $10::text[],"
    "                                  $11::date[], $12::text[], $13::text[], $14::text[],"
    "                                  $15::text[], $16::text[], $17::uuid[])"
    "           WITH ORDINALITY AS x (item_id, project_id, unit, round, inspected_on, inspector,"
    "                                 location, category, description, severity, again, ord)),"
    " vp AS (SELECT p.id FROM (SELECT DISTINCT project_id FROM r) d"
    "          JOIN projects p ON p.id = d.project_id WHERE " VISIBLE("p.id") "),"
    " uk AS (SELECT r.ord, count(u.id) AS n, min(u.id) AS unit_id FROM r"
    "          JOIN vp ON vp.id = r.project_id"
    "          LEFT JOIN units u ON u.project_id = r.project_id AND u.number = r.unit"
    "         GROUP BY r.ord),"
    " c AS (SELECT r.*, uk.unit_id, ii.id IS NOT NULL AS existing,"
    "              CASE WHEN uk.ord IS NULL THEN 'project'"
    "                   WHEN uk.n = 0 THEN 'unit'"
    "                   WHEN uk.n > 1 THEN 'ambiguous'"
    "                   WHEN NOT EXISTS (SELECT 1 FROM trades tr WHERE tr.code = r.category)"
    "                        THEN 'category'"
    "                   WHEN ii.id IS NOT NULL AND ii.unit_id <> uk.unit_id THEN 'taken'"
    "                   WHEN r.again IS NOT NULL AND NOT EXISTS"
    "                        (SELECT 1 FROM inspection_items a"
    "                          WHERE a.id = r.again AND a.unit_id = uk.unit_id) THEN 'again'"
    "              END AS bad"
    "         FROM r LEFT JOIN uk ON uk.ord = r.ord"
    "         LEFT JOIN inspection_items ii ON ii.id = r.item_id),"
    " ok AS (SELECT * FROM c WHERE NOT EXISTS (SELECT 1 FROM c x WHERE x.bad IS NOT NULL)),"
    " fresh AS (SELECT * FROM ok WHERE NOT existing),"
    " new_rounds AS (INSERT INTO inspection_rounds AS ro (project_id, kind, status)"
    "                SELECT DISTINCT f.project_id, f.round, 'in_progress' FROM fresh f"
    "                 WHERE NOT EXISTS (SELECT 1 FROM inspection_rounds x"
    "                                    WHERE x.project_id = f.project_id AND x.kind = f.round"
    "                                      AND x.status <> 'planned')"
    "                ON CONFLICT (project_id, kind) DO UPDATE SET status = 'in_progress'"
    "                RETURNING ro.id, ro.project_id, ro.kind),"
    " rounds AS (SELECT * FROM new_rounds UNION"
    "            SELECT ro.id, ro.project_id, ro.kind FROM inspection_rounds ro"
    "             WHERE (ro.project_id, ro.kind) IN (SELECT project_id, round FROM fresh)),"
    " fr AS (SELECT f.*, ro.id AS round_id FROM fresh f"
    "          JOIN rounds ro ON ro.project_id = f.project_id AND ro.kind = f.round),"
    " up_recs AS (INSERT INTO inspection_records AS ir (project_id, unit_id, round_id,"
    "                                                   inspected_on, inspector)"
    "             SELECT w.* FROM (SELECT DISTINCT ON (unit_id, round_id)"
    "                                     project_id, unit_id, round_id, inspected_on, inspector"
    "                                FROM fr ORDER BY unit_id, round_id, ord DESC) AS w"
    /* A record keeps the date and inspector it was first given: for the handover round it
     * is the acceptance form, and an item found on a later visit (it has its own date)
     * must not move the form to another day. Only blanks are filled in. */
    "              WHERE NOT EXISTS (SELECT 1 FROM inspection_records x"
    "                                 WHERE x.unit_id = w.unit_id AND x.round_id = w.round_id"
    "                                   AND x.inspected_on IS NOT NULL"
    "                                   AND (x.inspector <> '' OR w.inspector = ''))"
    "             ON CONFLICT (unit_id, round_id) DO UPDATE"
    "                SET inspected_on = coalesce(ir.inspected_on, EXCLUDED.inspected_on),"
    "                    inspector = CASE WHEN ir.inspector <> '' THEN ir.inspector"
    "                                     ELSE EXCLUDED.inspector END"
    "             RETURNING ir.id, ir.unit_id, ir.round_id),"
    " recs AS (SELECT * FROM up_recs UNION"
    "          SELECT ir.id, ir.unit_id, ir.round_id FROM inspection_records ir"
    "           WHERE (ir.unit_id, ir.round_id) IN (SELECT unit_id, round_id FROM fr)),"
    " items AS (INSERT INTO inspection_items (id, record_id, project_id, unit_id, round_id,"
    "                                         location, category, description, severity,"
    "                                         found_again_of, inspected_on, inspector)"
    "           SELECT fr.item_id, recs.id, fr.project_id, fr.unit_id, fr.round_id, fr.location,"
    "                  fr.category, fr.description, fr.severity, fr.again, fr.inspected_on,"
    "                  fr.inspector"
    "             FROM fr JOIN recs ON recs.unit_id = fr.unit_id AND recs.round_id = fr.round_id"
    "           ON CONFLICT (id) DO NOTHING"
    "           RETURNING id, unit_id, round_id, location, category, description, severity,"
    "                     found_again_of, project_id),"
    " tix AS (INSERT INTO tickets (id, project_id, number, state, contractor_id, category,"
    "                              severity, deadline, raised_at)"
    "         SELECT n.id, n.project_id, cl_next_ticket_number(n.project_id),"
    "                CASE WHEN n.contractor_id IS NULL THEN 'dispatch' ELSE 'open' END,"
    "                n.contractor_id, n.category, n.severity,"
    "                cl_ticket_deadline(n.project_id, n.category, n.severity, now()), now()"
    "           FROM (SELECT i.id, i.project_id, i.category, i.severity, pt.contractor_id"
    "                   FROM items i JOIN fr ON fr.item_id = i.id"
    "                   LEFT JOIN project_trades pt"
    "                          ON pt.project_id = i.project_id AND pt.trade = i.category"
    "                  ORDER BY fr.ord) AS n"
    "         RETURNING *),"
    " ev AS (INSERT INTO ticket_events (ticket_id, project_id, actor_user_id, actor, action,"
    "                                   from_state, to_state, contractor_id)"
    "        SELECT t.id, t.project_id, $5::bigint, $6::text, 'create', NULL, t.state,"
    "               t.contractor_id FROM tix t RETURNING 1),"
    " ph AS (SELECT i.id AS item_id, decode(x.sha, 'hex') AS hash, x.mime,"
    "               decode(x.data, 'hex') AS data"
    "          FROM unnest($18::int[], $19::text[], $20::text[], $21::text[])"
    "               AS x (ord, sha, mime, data)"
    "          JOIN fr ON fr.ord = x.ord JOIN items i ON i.id = fr.item_id),"
    " new_photos AS (INSERT INTO photos (sha256, mime, size, data)"
    "                SELECT DISTINCT ON (hash) hash, mime, length(data), data FROM ph"
    "                ON CONFLICT (sha256) DO NOTHING RETURNING 1),"
    " new_item_photos AS (INSERT INTO item_photos (item_id, sha256)"
    "                     SELECT DISTINCT item_id, hash FROM ph"
    "                     ON CONFLICT DO NOTHING RETURNING 1),"
    " guard AS (SELECT CASE WHEN (SELECT count(*) FROM fresh) = (SELECT count(*) FROM fr)"
    "                        AND (SELECT count(*) FROM fr) ="
    "                            (SELECT count(*) FROM fr JOIN recs"
    "                                ON recs.unit_id = fr.unit_id AND recs.round_id = fr.round_id)"
    "                       THEN 0"
    "                       ELSE cl_retry('a round or record of these items was created"
    " concurrently; retry') END AS g),"
    " tk AS (SELECT t.*, true AS new FROM tix t UNION ALL"
    "        SELECT t.*, false FROM tickets t JOIN ok ON ok.item_id = t.id WHERE ok.existing),"
    " it AS (SELECT id, unit_id, round_id, location, category, description, severity,"
    "               found_again_of FROM items UNION ALL"
    "        SELECT ii.id, ii.unit_id, ii.round_id, ii.location, ii.category, ii.description,"
    "               ii.severity, ii.found_again_of"
    "          FROM inspection_items ii JOIN ok ON ok.item_id = ii.id WHERE ok.existing)"
    "SELECT c.ord, c.bad, t.new, " CL_TICKET_COLS("t", "coalesce(ro.kind, c.round)", "i")
    "  FROM c LEFT JOIN tk t ON t.id = c.item_id"
    "  LEFT JOIN it i ON i.id = c.item_id"
    "  LEFT JOIN projects p ON p.id = t.project_id"
    "  LEFT JOIN units u ON u.id = i.unit_id"
    "  LEFT JOIN buildings b ON b.id = u.building_id"
    "  LEFT JOIN inspection_rounds ro ON ro.id = i.round_id"
    "  LEFT JOIN contractors k ON k.id = t.contractor_id"
    " WHERE (c.bad IS NOT NULL OR NOT EXISTS (SELECT 1 FROM c x WHERE x.bad IS NOT NULL))"
    "   AND (SELECT g FROM guard) = 0"
    " ORDER BY c.ord";
#pragma GCC diagnostic pop

/* The unit of a form: the project's unit with that number (needs target). */
#define FORM_UNIT                                                                          \
    " unit AS (SELECT u.id, u.number FROM units u JOIN target t ON u.project_id = t.id"     \
    "           WHERE u.number = $6::text),"                                                \
    " one AS (SELECT id, number FROM unit WHERE (SELECT count(*) FROM unit) = 1),"
/* The project's handover round (needs target, and a CTE "go" that is non-empty when the
 * round is needed), created with status st when missing. An existing round is written
 * only when "stale" holds for it (x), or when a concurrent transaction created it after
 * this statement's snapshot: then the update (set_status) returns it instead of losing
 * it. */
#define HANDOVER_ROUND(st, stale, set_status)                                              \
    " new_round AS (INSERT INTO inspection_rounds AS ro (project_id, kind, status)"         \
    "               SELECT t.id, 'handover', " st                                           \
    "                 FROM target t WHERE EXISTS (SELECT 1 FROM go)"                        \
    "                  AND NOT EXISTS (SELECT 1 FROM inspection_rounds x"                   \
    "                                   WHERE x.project_id = t.id AND x.kind = 'handover'"  \
    "                                     AND NOT (" stale "))"                             \
    "               ON CONFLICT (project_id, kind) DO UPDATE SET status = " set_status      \
    "               RETURNING id),"                                                         \
    " rnd AS (SELECT id FROM new_round UNION"                                              \
    "         SELECT ro.id FROM inspection_rounds ro JOIN target t ON ro.project_id = t.id" \
    "          WHERE ro.kind = 'handover'),"
/* Recording a form: a planned round is now in progress. */
#define HANDOVER_ROUND_RECORDING                                                           \
    HANDOVER_ROUND("'in_progress'", "x.status = 'planned'", "'in_progress'")
/* Scheduling: the round is planned, an existing one is left as it is. */
#define HANDOVER_ROUND_SCHEDULING HANDOVER_ROUND("'planned'", "false", "ro.status")

/* The acceptance form's columns, $7..$17 in order after inspected_on */
#define FORM_NEW                                                                            \
    "$8::text, $9::text, $10::text, $11::int, $12::text, $13::text, $14::text, $15::text,"  \
    " $16::text, $17::int"
#define FORM_COLS                                                                           \
    "inspector, outcome, not_taken_reason, keys_handed, water_reading, power_reading,"       \
    " gas_reading, signoff, refusal_reason, satisfaction"
#define FORM_OLD(t)                                                                         \
    t ".inspector, " t ".outcome, " t ".not_taken_reason, " t ".keys_handed, "              \
    t ".water_reading, " t ".power_reading, " t ".gas_reading, " t ".signoff, "             \
    t ".refusal_reason, " t ".satisfaction"

/* scope, $5 project, $6 unit number, $7 inspected_on (NULL: as recorded, else today),
 * $8 inspector, $9 outcome, $10 not-taken-over reason, $11 keys handed, $12 water,
 * $13 power, $14 gas reading, $15 signoff (NULL: none), $16 refusal reason,
 * $17 satisfaction (NULL: not given). An identical form changes nothing. */
static const char sql_handover_record[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $5::bigint AND " VISIBLE("p.id") "),"
    FORM_UNIT
    " go AS (SELECT 1 FROM one),"
    HANDOVER_ROUND_RECORDING
    " up AS (INSERT INTO inspection_records AS ir (project_id, unit_id, round_id, inspected_on,"
    "          " FORM_COLS ")"
    "        SELECT t.id, o.id, r.id, coalesce($7::date, current_date), " FORM_NEW
    "          FROM target t, one o, rnd r"
    "        ON CONFLICT (unit_id, round_id) DO UPDATE"
    "           SET (inspected_on, " FORM_COLS ") ="
    "               (coalesce($7::date, ir.inspected_on, current_date), " FORM_NEW ")"
    "         WHERE (ir.inspected_on, " FORM_OLD("ir") ") IS DISTINCT FROM"
    "               (coalesce($7::date, ir.inspected_on, current_date), " FORM_NEW ")"
    "        RETURNING *),"
    " rec AS (SELECT * FROM up UNION ALL"
    "         SELECT ir.* FROM inspection_records ir, one o, rnd r"
    "          WHERE ir.unit_id = o.id AND ir.round_id = r.id AND NOT EXISTS (SELECT 1 FROM up))"
    "SELECT " META("rec") ", rec.project_id, o.number, 'handover', " DAY("rec.inspected_on") ","
    "       rec.inspector, coalesce(rec.outcome, ''), rec.not_taken_reason, rec.keys_handed,"
    "       rec.water_reading, rec.power_reading, rec.gas_reading, coalesce(rec.signoff, ''),"
    "       rec.refusal_reason, coalesce(rec.satisfaction, 0),"
    "       (SELECT count(*) FROM inspection_items i WHERE i.record_id = rec.id),"
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project'"
    "            WHEN NOT EXISTS (SELECT 1 FROM unit) THEN format('unit %s', $6::text) END,"
    "       CASE WHEN (SELECT count(*) FROM unit) > 1"
    "            THEN format('unit number %s is used in more than one building of the project;"
    " rename one', $6::text) END"
    ONE_ROW " LEFT JOIN one o ON true";

/* scope, $5 project, $6 date, $7 unit numbers text[]. All or nothing: an unknown number
 * schedules none. Returns the project found, the unknown count and up to 10 of them. */
static const char sql_handover_schedule[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $5::bigint AND " VISIBLE("p.id") "),"
    " want AS (SELECT DISTINCT n AS number FROM unnest($7::text[]) AS n),"
    " found AS (SELECT u.id, u.number FROM want w"
    "             JOIN units u ON u.number = w.number JOIN target t ON u.project_id = t.id),"
    " unknown AS (SELECT w.number FROM want w"
    "              WHERE NOT EXISTS (SELECT 1 FROM found f WHERE f.number = w.number)),"
    " go AS (SELECT 1 FROM target WHERE NOT EXISTS (SELECT 1 FROM unknown)),"
    HANDOVER_ROUND_SCHEDULING
    " up AS (INSERT INTO inspection_records AS ir (project_id, unit_id, round_id, scheduled_on)"
    "        SELECT t.id, f.id, r.id, $6::date FROM found f, target t, rnd r, go"
    "        ON CONFLICT (unit_id, round_id) DO UPDATE SET scheduled_on = EXCLUDED.scheduled_on"
    "         WHERE ir.scheduled_on IS DISTINCT FROM EXCLUDED.scheduled_on RETURNING 1)"
    "SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM unknown),"
    "       (SELECT string_agg(number, ', ' ORDER BY number)"
    "          FROM (SELECT number FROM unknown ORDER BY number LIMIT 10) AS x),"
    "       (SELECT count(*) FROM up),"
    "       CASE WHEN EXISTS (SELECT 1 FROM go) AND NOT EXISTS (SELECT 1 FROM rnd)"
    "            THEN cl_retry('the handover round was created concurrently; retry')"
    "            ELSE 0 END";

#define PRESET_COLS(t) t ".project_id, " t ".category, " t ".severity, " t ".days"

/* scope, $5 project, $6 category ('' = any), $7 severity, $8 days. Existing tickets keep
 * their deadline; the preset applies to tickets raised from now on. */
static const char sql_deadline_set[] =
    "WITH target AS (SELECT p.id FROM projects p WHERE p.id = $5::bigint AND " VISIBLE("p.id") "),"
    " cat AS (SELECT $6::text = '' OR EXISTS (SELECT 1 FROM trades tr WHERE tr.code = $6::text)"
    "         AS known),"
    " up AS (INSERT INTO deadline_presets AS d (project_id, category, severity, days)"
    "        SELECT t.id, $6::text, $7::text, $8::int FROM target t, cat WHERE cat.known"
    "        ON CONFLICT (project_id, category, severity) DO UPDATE SET days = EXCLUDED.days"
    "         WHERE d.days <> EXCLUDED.days"
    "        RETURNING " PRESET_COLS("d") "),"
    " rec AS (SELECT * FROM up UNION ALL"
    "         SELECT " PRESET_COLS("d") " FROM deadline_presets d JOIN target t"
    "             ON d.project_id = t.id"
    "          WHERE d.category = $6::text AND d.severity = $7::text"
    "            AND NOT EXISTS (SELECT 1 FROM up))"
    "SELECT " PRESET_COLS("rec") ","
    "       CASE WHEN NOT EXISTS (SELECT 1 FROM target) THEN 'project' END,"
    "       CASE WHEN NOT (SELECT known FROM cat) THEN format('unknown trade %s', $6::text) END"
    ONE_ROW;

/* scope, $5 project. No row at all: no such project; one NULL row: no presets. */
static const char sql_deadline_list[] =
    "SELECT " PRESET_COLS("d") " FROM projects p"
    " LEFT JOIN deadline_presets d ON d.project_id = p.id"
    " WHERE p.id = $5::bigint AND " VISIBLE("p.id")
    " ORDER BY d.category, " SEVERITY_ORDER("d.severity");

// clang-format on

const cl_db_stmt_t cl_inspection_stmts[] = {
    {"insp_round_create", sql_round_create},
    {"insp_round_list", sql_round_list},
    {"insp_item_record", sql_item_record},
    {"insp_handover_record", sql_handover_record},
    {"insp_handover_schedule", sql_handover_schedule},
    {"insp_deadline_set", sql_deadline_set},
    {"insp_deadline_list", sql_deadline_list},
    {NULL, NULL},
};

/* ------------------------------------------------------------------ rounds */

static Closeloop__RoundStatus round_status_parse(const char *s) {
    if (strcmp(s, "planned") == 0) return CLOSELOOP__ROUND_STATUS__ROUND_PLANNED;
    if (strcmp(s, "in_progress") == 0) return CLOSELOOP__ROUND_STATUS__ROUND_IN_PROGRESS;
    if (strcmp(s, "done") == 0) return CLOSELOOP__ROUND_STATUS__ROUND_DONE;
    return CLOSELOOP__ROUND_STATUS__ROUND_STATUS_NONE;
}

typedef struct round_slot {
    Closeloop__Round rec;
    pb_meta_t meta;
    char *warnings[INSP_WARNINGS_MAX];
    char text[INSP_WARNINGS_MAX][INSP_WARNING_LEN];
} round_slot_t;

static void round_warn(round_slot_t *s, const char *fmt, ...) CL_PRINTF(2, 3);
static void round_warn(round_slot_t *s, const char *fmt, ...) {
    if (s->rec.n_warnings == INSP_WARNINGS_MAX) return;
    char *t = s->text[s->rec.n_warnings];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, INSP_WARNING_LEN, fmt, ap);
    va_end(ap);
    s->warnings[s->rec.n_warnings++] = t;
}

/* The seeds' deadlines, counted from move-in (DOMAIN.md section 1): mock round 1 starts
 * 3-6 months before, its summary at least 2 months before; round 2 done and round 3
 * held at least 30 days before; handover on or after move-in; the checks after it. No
 * warning when move-in or the date concerned is not set. */
static void round_warnings(round_slot_t *s, const char *start, const char *end,
                           const char *move_in) {
    if (!cl_date_valid(move_in)) return;
    int64_t mi = cl_date_days(move_in);
    bool has_start = cl_date_valid(start), has_end = cl_date_valid(end);
    const char *last = has_end ? end : has_start ? start : NULL; /* when the round is done */
    const char *first = has_start ? start : has_end ? end : NULL;
    switch (s->rec.kind) {
    case CLOSELOOP__ROUND_KIND__ROUND_MOCK1:
        if (has_start && cl_date_days(start) > cl_date_add_months(move_in, -3))
            round_warn(s,
                       "round 1 should start 3-6 months before move-in (%s): planned %s is "
                       "too late",
                       move_in, start);
        else if (has_start && cl_date_days(start) < cl_date_add_months(move_in, -6))
            round_warn(s,
                       "round 1 should start 3-6 months before move-in (%s): planned %s is "
                       "too early",
                       move_in, start);
        if (has_end && cl_date_days(end) > cl_date_add_months(move_in, -2))
            round_warn(s,
                       "round 1's summary should be at least 2 months before move-in (%s): "
                       "planned %s is too late",
                       move_in, end);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_MOCK2:
        if (last && cl_date_days(last) > mi - 30)
            round_warn(s,
                       "round 2 should be done at least 30 days before move-in (%s): planned "
                       "%s is too late",
                       move_in, last);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_MOCK3:
        if (last && cl_date_days(last) > mi - 30)
            round_warn(s,
                       "round 3 should be at least 30 days before move-in (%s): planned %s is "
                       "too late",
                       move_in, last);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_HANDOVER:
        if (first && cl_date_days(first) < mi)
            round_warn(s, "handover should be on or after move-in (%s): planned %s is too early",
                       move_in, first);
        break;
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK3M:
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK11M:
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK23M:
    case CLOSELOOP__ROUND_KIND__ROUND_CHECK35M:
        if (first && cl_date_days(first) <= mi)
            round_warn(s,
                       "the %d-month check should be planned after move-in (%s): planned %s "
                       "is too early",
                       atoi(cl_round_kind_name(s->rec.kind) + 5), move_in, first);
        break;
    default: break;
    }
}

/* Round: META, project_id, kind, start, end, department, status, move-in. */
static ProtobufCMessage *round_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    round_slot_t *s = slot;
    closeloop__round__init(&s->rec);
    cl_sql_meta(&s->meta, res, row);
    s->rec.meta = &s->meta;
    s->rec.project_id = cl_sql_i64(res, row, 4);
    s->rec.kind = cl_round_kind_parse(cl_sql_text(res, row, 5));
    s->rec.planned_start = PQgetvalue(res, row, 6);
    s->rec.planned_end = PQgetvalue(res, row, 7);
    s->rec.department = PQgetvalue(res, row, 8);
    s->rec.status = round_status_parse(cl_sql_text(res, row, 9));
    s->rec.warnings = s->warnings;
    round_warnings(s, s->rec.planned_start, s->rec.planned_end, cl_sql_text(res, row, 10));
    return &s->rec.base;
}

static void round_created(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    if (cl_call_one_row(c, res, "a write")) {
        round_slot_t *s = calloc(1, sizeof *s);
        if (s) {
            round_fill(s, c, res, 0);
            for (size_t i = 0; i < s->rec.n_warnings; i++) {
                char q[2 * INSP_WARNING_LEN];
                cl_log_warn("round_deadline_warning", "user=%lld project=%lld round=%s text=%s",
                            (long long)c->session.user_id, (long long)s->rec.project_id,
                            cl_round_kind_name(s->rec.kind),
                            cl_log_quote(s->warnings[i], q, sizeof q));
            }
            cl_req_reply(c->req, CL_MSG_ROUND, &s->rec.base);
            free(s);
        } else {
            cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending a round");
        }
    }
    cl_call_free(c);
}

int cl_insp_round_create(cl_req_t *req) {
    const cl_pb_round_create_t *m = (const cl_pb_round_create_t *)req->msg;
    const char *kind = cl_round_kind_name(m->kind);
    if (!cl_req_need_text(req, "idempotency_key", m->idempotency_key, true, INSP_KEY_MAX) ||
        !cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "department", m->department, false, INSP_DEPT_MAX))
        return CL_OK;
    if (!kind) {
        cl_req_fail(req, CL_EINVAL,
                    "kind must be mock1, mock2, mock3, handover, check3m, check11m, check23m "
                    "or check35m");
        return CL_OK;
    }
    if ((*m->planned_start && !cl_date_valid(m->planned_start)) ||
        (*m->planned_end && !cl_date_valid(m->planned_end))) {
        cl_req_fail(req, CL_EINVAL, "planned dates must be written YYYY-MM-DD");
        return CL_OK;
    }
    if (*m->planned_start && *m->planned_end && strcmp(m->planned_end, m->planned_start) < 0) {
        cl_req_fail(req, CL_EINVAL, "planned_end %s is before planned_start %s", m->planned_end,
                    m->planned_start);
        return CL_OK;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    char kbuf[96];
    snprintf(c->conflict, sizeof c->conflict, "project already has a %s round", kind);
    snprintf(c->lost, sizeof c->lost,
             "idempotency key \"%s\" was already used by another request; retry to get its "
             "result, or use a new key",
             cl_utf8_clip(kbuf, sizeof kbuf, m->idempotency_key));
    char project[24];
    const char *p[] = {CL_CALL_SCOPE(c),
                       m->idempotency_key,
                       cl_sql_int_param(project, m->project_id),
                       kind,
                       *m->planned_start ? m->planned_start : NULL,
                       *m->planned_end ? m->planned_end : NULL,
                       m->department};
    cl_call_run(c, true, "insp_round_create", 10, p, round_created);
    return CL_OK;
}

static const cl_call_kind_t round_kind = {
    .reply_type = CL_MSG_ROUND,
    .page_type = CL_MSG_ROUND_PAGE,
    .page = &closeloop__round_page__descriptor,
    .slot_size = sizeof(round_slot_t),
    .fill = round_fill,
};

int cl_insp_round_list(cl_req_t *req) {
    const cl_pb_round_list_req_t *m = (const cl_pb_round_list_req_t *)req->msg;
    return insp_project_list(req, m->project_id, "insp_round_list", &round_kind);
}

/* ------------------------------------------------------------------ items */

/* The photo's format from its first bytes, matching the declared mime; NULL when fine. */
static const char *photo_problem(const cl_pb_photo_t *ph) {
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF}, png[] = {0x89, 0x50, 0x4E, 0x47};
    if (ph->data.len == 0) return "is empty";
    if (ph->data.len > INSP_PHOTO_MAX) return "is larger than 2 MiB";
    if (strcmp(ph->mime, "image/jpeg") == 0)
        return ph->data.len >= sizeof jpeg && memcmp(ph->data.data, jpeg, sizeof jpeg) == 0
                   ? NULL
                   : "is not a JPEG image";
    if (strcmp(ph->mime, "image/png") == 0)
        return ph->data.len >= sizeof png && memcmp(ph->data.data, png, sizeof png) == 0
                   ? NULL
                   : "is not a PNG image";
    return "must be image/jpeg or image/png";
}

/* Writes why a text field is unacceptable into out and returns true, or returns false. */
static bool text_bad(char *out, size_t n, const char *field, const char *v, bool required,
                     size_t max) {
    const char *why = cl_text_problem(v, required, max);
    if (!why) return false;
    if (*v)
        snprintf(out, n, "%s %s (at most %zu characters)", field, why, max);
    else
        snprintf(out, n, "%s %s", field, why);
    return true;
}

/* What is wrong with one item, into out ("" when nothing). */
static void item_check(const cl_pb_item_t *it, char *out, size_t n) {
    const char *why;
    char buf[100];
    out[0] = '\0';
    if (!cl_uuid_valid(it->item_id))
        snprintf(out, n, "item_id must be a UUID (8-4-4-4-12 hex digits)");
    else if (it->project_id <= 0)
        snprintf(out, n, "project_id is required");
    else if (text_bad(out, n, "unit", it->unit, true, INSP_UNIT_MAX))
        return;
    else if (!cl_round_kind_name(it->round))
        snprintf(out, n,
                 "round must be mock1, mock2, mock3, handover, check3m, check11m, check23m or "
                 "check35m");
    else if (!cl_date_valid(it->inspected_on))
        snprintf(out, n, "inspected_on must be a date written YYYY-MM-DD");
    else if (text_bad(out, n, "inspector", it->inspector, false, INSP_INSPECTOR_MAX) ||
             text_bad(out, n, "location", it->location, true, INSP_LOCATION_MAX))
        return;
    else if (!cl_trade_code_valid(it->category))
        snprintf(out, n, "category \"%s\" is not a trade code (e.g. plumbing)",
                 cl_utf8_clip(buf, sizeof buf, it->category));
    else if (text_bad(out, n, "description", it->description, true, INSP_DESC_MAX))
        return;
    else if (!cl_severity_name(it->severity))
        snprintf(out, n, "severity must be minor, major or critical");
    else if (*it->found_again_of && !cl_uuid_valid(it->found_again_of))
        snprintf(out, n, "found_again_of must be empty or a UUID");
    else if (strcasecmp(it->found_again_of, it->item_id) == 0)
        snprintf(out, n, "an item cannot be found again of itself");
    else if (it->n_photos > INSP_PHOTOS_MAX)
        snprintf(out, n, "at most %d photos per item, not %zu", INSP_PHOTOS_MAX, it->n_photos);
    for (size_t i = 0; !out[0] && i < it->n_photos; i++)
        if ((why = photo_problem(it->photos[i]))) snprintf(out, n, "photo %zu %s", i + 1, why);
}

/* The line an item is reported on: its line in the client's file, else its position. */
static uint32_t item_line(const cl_pb_item_batch_t *m, size_t i) {
    return m->items[i]->line ? m->items[i]->line : (uint32_t)(i + 1);
}

/* For finding duplicate ids: items sorted by (id, position). */
typedef struct item_ref {
    const char *id;
    size_t pos;
} item_ref_t;

static int item_ref_cmp(const void *a, const void *b) {
    const item_ref_t *x = a, *y = b;
    int d = strcasecmp(x->id, y->id);
    return d ? d : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Checks every item into errs (n_items messages of INSP_ERROR_LEN, "" = fine); returns
 * how many are bad, or -1 when out of memory. */
static long items_check(const cl_pb_item_batch_t *m, char *errs) {
    long bad = 0;
    for (size_t i = 0; i < m->n_items; i++) {
        item_check(m->items[i], errs + i * INSP_ERROR_LEN, INSP_ERROR_LEN);
        bad += errs[i * INSP_ERROR_LEN] != '\0';
    }
    item_ref_t *refs = malloc(m->n_items * sizeof *refs);
    if (!refs) return -1;
    for (size_t i = 0; i < m->n_items; i++)
        refs[i] = (item_ref_t){m->items[i]->item_id, i};
    qsort(refs, m->n_items, sizeof *refs, item_ref_cmp);
    /* Within a run of equal ids the first item (by position) is kept; every later one is
     * a duplicate of it. */
    for (size_t i = 1, first = 0; i < m->n_items; i++) {
        if (strcasecmp(refs[first].id, refs[i].id)) {
            first = i;
            continue;
        }
        char *e = errs + refs[i].pos * INSP_ERROR_LEN;
        if (*e) continue;
        snprintf(e, INSP_ERROR_LEN, "item_id %s is already on line %u", refs[i].id,
                 item_line(m, refs[first].pos));
        bad++;
    }
    free(refs);
    return bad;
}

/* Rejects the batch: applied=false and one RowError per bad item (cl_row_errors_t). */
static void items_reject(cl_req_t *req, const cl_pb_item_batch_t *m, char *errs, long bad) {
    cl_row_errors_t e;
    if (!cl_row_errors_init(&e, req, (size_t)bad)) return;
    for (size_t i = 0; i < m->n_items; i++)
        if (errs[i * INSP_ERROR_LEN])
            cl_row_errors_add(&e, item_line(m, i), errs + i * INSP_ERROR_LEN);
    cl_row_errors_finish(&e, "items");
    cl_pb_item_batch_result_t out = CLOSELOOP__ITEM_BATCH_RESULT__INIT;
    out.applied = false;
    out.n_errors = e.n;
    out.errors = e.ptrs;
    cl_req_reply(req, CL_MSG_ITEM_BATCH_RESULT, &out.base);
    cl_row_errors_free(&e);
}

/* Ticket columns of the item statement start here (after ord, bad, new). */
#define TICKET_COL 3

/* A bad item's sentence, from the statement's reason code. */
static void item_sql_problem(const cl_pb_item_t *it, const char *bad, char *out, size_t n) {
    char ubuf[80];
    const char *unit = cl_utf8_clip(ubuf, sizeof ubuf, it->unit);
    if (strcmp(bad, "project") == 0)
        snprintf(out, n, "no such project %lld", (long long)it->project_id);
    else if (strcmp(bad, "unit") == 0)
        snprintf(out, n, "no such unit %s in project %lld", unit, (long long)it->project_id);
    else if (strcmp(bad, "ambiguous") == 0)
        snprintf(out, n, "unit number %s is used in more than one building of project %lld", unit,
                 (long long)it->project_id);
    else if (strcmp(bad, "category") == 0)
        snprintf(out, n, "no such trade %s", it->category);
    else if (strcmp(bad, "taken") == 0)
        snprintf(out, n, "item_id %s is already used by an item of another unit", it->item_id);
    else if (strcmp(bad, "again") == 0)
        snprintf(out, n, "found_again_of %s is not an item of unit %s", it->found_again_of, unit);
    else
        snprintf(out, n, "rejected (%s)", bad);
}

/* The statement's rows: ord, bad, new, ticket. Rows with bad set mean nothing changed. */
static void items_recorded(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    const cl_pb_item_batch_t *m = (const cl_pb_item_batch_t *)c->req->msg;
    int rows = PQntuples(res);
    long bad = 0;
    for (int row = 0; row < rows; row++)
        bad += !cl_sql_isnull(res, row, 1);
    if (bad > 0) {
        char *errs = calloc(m->n_items, INSP_ERROR_LEN);
        if (!errs) {
            cl_req_fail(c->req, CL_EINTERNAL, "out of memory while reporting bad items");
        } else {
            for (int row = 0; row < rows; row++) {
                size_t i = (size_t)cl_sql_i64(res, row, 0) - 1;
                if (cl_sql_isnull(res, row, 1) || i >= m->n_items) continue;
                item_sql_problem(m->items[i], cl_sql_text(res, row, 1), errs + i * INSP_ERROR_LEN,
                                 INSP_ERROR_LEN);
            }
            items_reject(c->req, m, errs, bad);
            free(errs);
        }
        cl_call_free(c);
        return;
    }
    cl_pb_item_batch_result_t out = CLOSELOOP__ITEM_BATCH_RESULT__INIT;
    cl_pb_ticket_t *tickets = calloc((size_t)rows + 1, sizeof *tickets);
    cl_pb_ticket_t **ptrs = calloc((size_t)rows + 1, sizeof *ptrs);
    if (!tickets || !ptrs) {
        free(tickets);
        free(ptrs);
        cl_req_fail(c->req, CL_EINTERNAL, "out of memory while sending tickets");
        cl_call_free(c);
        return;
    }
    /* The tickets travel in the one reply frame: as many as fit (a chunk of short items
     * always fits; the counts are complete either way). */
    size_t budget = cl_req_config(c->req)->max_frame - INSP_FRAME_SLACK - 128, bytes = 0;
    bool cut = false;
    for (int row = 0; row < rows; row++) {
        bool fresh = cl_sql_text(res, row, 2)[0] == 't';
        if (cl_sql_isnull(res, row, TICKET_COL)) { /* re-sent while it was being recorded */
            out.unchanged++;
            continue;
        }
        cl_pb_ticket_t *t = &tickets[out.n_tickets];
        cl_ticket_row_fill(t, res, row, TICKET_COL);
        if (fresh) {
            out.inserted++;
            if (t->state == CLOSELOOP__TICKET_STATE__TICKET_OPEN)
                out.dispatched++;
            else
                out.manual_dispatch++;
        } else {
            out.unchanged++;
        }
        size_t size = protobuf_c_message_get_packed_size(&t->base) + 6;
        if (cut || bytes + size > budget) {
            cut = true;
            continue;
        }
        bytes += size;
        ptrs[out.n_tickets++] = t;
    }
    if (cut)
        cl_log_warn("item_batch_tickets_cut", "user=%lld items=%zu tickets_sent=%zu",
                    (long long)c->session.user_id, m->n_items, out.n_tickets);
    out.applied = true;
    out.tickets = ptrs;
    cl_req_reply(c->req, CL_MSG_ITEM_BATCH_RESULT, &out.base);
    free(ptrs);
    free(tickets);
    cl_call_free(c);
}

enum {
    A_ID,
    A_PROJECT,
    A_UNIT,
    A_ROUND,
    A_ON,
    A_INSPECTOR,
    A_LOCATION,
    A_CATEGORY,
    A_DESC,
    A_SEVERITY,
    A_AGAIN,
    A_PHOTO_ORD,
    A_PHOTO_SHA,
    A_PHOTO_MIME,
    A_PHOTO_DATA,
    A__COUNT
};

/* Appends one photo (its item's 1-based position, sha256 and data as hex). */
static bool photo_arrays(cl_sqlbuf_t *b, size_t pos, const cl_pb_photo_t *ph) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char sha[2 * 32 + 1];
    if (EVP_Digest(ph->data.data, ph->data.len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    char *hex = malloc(2 * ph->data.len + 1);
    if (!hex) return false;
    cl_sqlbuf_array_int(&b[A_PHOTO_ORD], (int64_t)pos);
    cl_sqlbuf_array_text(&b[A_PHOTO_SHA], cl_hex_encode(sha, md, 32));
    cl_sqlbuf_array_text(&b[A_PHOTO_MIME], ph->mime);
    cl_sqlbuf_array_text(&b[A_PHOTO_DATA], cl_hex_encode(hex, ph->data.data, ph->data.len));
    free(hex);
    return true;
}

/* The items as the statement's parallel arrays; false when out of memory. */
static bool item_arrays(const cl_pb_item_batch_t *m, char *arrays[A__COUNT]) {
    cl_sqlbuf_t b[A__COUNT];
    memset(b, 0, sizeof b);
    for (int k = 0; k < A__COUNT; k++)
        cl_sqlbuf_array_open(&b[k]);
    bool ok = true;
    for (size_t i = 0; i < m->n_items && ok; i++) {
        const cl_pb_item_t *it = m->items[i];
        cl_sqlbuf_array_text(&b[A_ID], it->item_id);
        cl_sqlbuf_array_int(&b[A_PROJECT], it->project_id);
        cl_sqlbuf_array_text(&b[A_UNIT], it->unit);
        cl_sqlbuf_array_text(&b[A_ROUND], cl_round_kind_name(it->round));
        cl_sqlbuf_array_text(&b[A_ON], it->inspected_on);
        cl_sqlbuf_array_text(&b[A_INSPECTOR], it->inspector);
        cl_sqlbuf_array_text(&b[A_LOCATION], it->location);
        cl_sqlbuf_array_text(&b[A_CATEGORY], it->category);
        cl_sqlbuf_array_text(&b[A_DESC], it->description);
        cl_sqlbuf_array_text(&b[A_SEVERITY], cl_severity_name(it->severity));
        cl_sqlbuf_array_text(&b[A_AGAIN], *it->found_again_of ? it->found_again_of : NULL);
        for (size_t k = 0; k < it->n_photos && ok; k++)
            ok = photo_arrays(b, i + 1, it->photos[k]);
    }
    for (int k = 0; k < A__COUNT; k++) {
        if (!ok) b[k].failed = true;
        ok &= (arrays[k] = cl_sqlbuf_array_close(&b[k])) != NULL;
    }
    return ok;
}

int cl_insp_item_record(cl_req_t *req) {
    const cl_pb_item_batch_t *m = (const cl_pb_item_batch_t *)req->msg;
    if (m->n_items == 0 || m->n_items > INSP_BATCH_MAX) {
        cl_req_fail(req, CL_EINVAL, "a batch holds 1 to %d items, not %zu", INSP_BATCH_MAX,
                    m->n_items);
        return CL_OK;
    }
    char *errs = calloc(m->n_items, INSP_ERROR_LEN);
    long bad = errs ? items_check(m, errs) : -1;
    if (bad != 0) {
        if (bad > 0) items_reject(req, m, errs, bad);
        free(errs);
        return bad > 0 ? CL_OK : CL_ENOMEM;
    }
    free(errs);
    char *arrays[A__COUNT] = {NULL};
    int rc = item_arrays(m, arrays) ? CL_OK : CL_ENOMEM;
    cl_call_t *c = rc == CL_OK ? cl_call_new(req, sizeof *c) : NULL;
    if (c) {
        char user[24];
        const char *p[6 + A__COUNT] = {CL_CALL_SCOPE(c), cl_sql_int_param(user, c->session.user_id),
                                       c->session.username};
        for (int k = 0; k < A__COUNT; k++)
            p[6 + k] = arrays[k];
        cl_call_run(c, true, "insp_item_record", 6 + A__COUNT, p, items_recorded);
    }
    for (int k = 0; k < A__COUNT; k++)
        free(arrays[k]);
    return rc;
}

/* ------------------------------------------------------------------ handover */

static const char *outcome_name(Closeloop__HandoverOutcome o) {
    switch (o) {
    case CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED: return "accepted";
    case CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED_WITH_ITEMS: return "accepted_with_items";
    case CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER: return "not_taken_over";
    default: return NULL;
    }
}

static Closeloop__HandoverOutcome outcome_parse(const char *s) {
    for (int o = 1; o <= 3; o++)
        if (strcmp(s, outcome_name((Closeloop__HandoverOutcome)o)) == 0)
            return (Closeloop__HandoverOutcome)o;
    return CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NONE;
}

static const char *signoff_name(Closeloop__Signoff s) {
    return s == CLOSELOOP__SIGNOFF__SIGNOFF_SIGNED    ? "signed"
           : s == CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED ? "refused"
                                                      : NULL;
}

static Closeloop__Signoff signoff_parse(const char *s) {
    return strcmp(s, "signed") == 0    ? CLOSELOOP__SIGNOFF__SIGNOFF_SIGNED
           : strcmp(s, "refused") == 0 ? CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED
                                       : CLOSELOOP__SIGNOFF__SIGNOFF_NONE;
}

/* InspectionRecord: META, project, unit, round, inspected_on, inspector, outcome, reason,
 * keys, water, power, gas, signoff, refusal reason, satisfaction, items. */
static void record_fill(cl_pb_inspection_record_t *rec, pb_meta_t *meta, const PGresult *res) {
    closeloop__inspection_record__init(rec);
    cl_sql_meta(meta, res, 0);
    rec->meta = meta;
    rec->project_id = cl_sql_i64(res, 0, 4);
    rec->unit = PQgetvalue(res, 0, 5);
    rec->round = cl_round_kind_parse(cl_sql_text(res, 0, 6));
    rec->inspected_on = PQgetvalue(res, 0, 7);
    rec->inspector = PQgetvalue(res, 0, 8);
    rec->outcome = outcome_parse(cl_sql_text(res, 0, 9));
    rec->not_taken_reason = PQgetvalue(res, 0, 10);
    rec->keys_handed = (uint32_t)cl_sql_i64(res, 0, 11);
    rec->water_reading = PQgetvalue(res, 0, 12);
    rec->power_reading = PQgetvalue(res, 0, 13);
    rec->gas_reading = PQgetvalue(res, 0, 14);
    rec->signoff = signoff_parse(cl_sql_text(res, 0, 15));
    rec->refusal_reason = PQgetvalue(res, 0, 16);
    rec->satisfaction = (uint32_t)cl_sql_i64(res, 0, 17);
    rec->items = (uint32_t)cl_sql_i64(res, 0, 18);
}

static void handover_recorded(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    if (cl_call_one_row(c, res, "a write")) {
        cl_pb_inspection_record_t rec;
        pb_meta_t meta;
        record_fill(&rec, &meta, res);
        cl_req_reply(c->req, CL_MSG_INSPECTION_RECORD, &rec.base);
    }
    cl_call_free(c);
}

/* Why a handover form is unacceptable, or NULL. */
static const char *form_problem(const cl_pb_handover_form_t *m) {
    if (*m->inspected_on && !cl_date_valid(m->inspected_on))
        return "inspected_on must be a date written YYYY-MM-DD";
    if (!outcome_name(m->outcome))
        return "outcome is required: accepted, accepted with items, or not taken over";
    if (m->outcome == CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER && !*m->not_taken_reason)
        return "a unit not taken over needs not_taken_reason";
    if (m->signoff == CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED && !*m->refusal_reason)
        return "a refused signoff needs refusal_reason";
    if ((int)m->signoff != 0 && !signoff_name(m->signoff))
        return "signoff must be signed or refused";
    if (m->keys_handed > INSP_KEYS_MAX) return "keys_handed must be between 0 and 50";
    if (m->satisfaction > 100) return "satisfaction must be between 1 and 100 (0: not given)";
    if (cl_utf8_chars(m->water_reading) > INSP_READING_MAX ||
        cl_utf8_chars(m->power_reading) > INSP_READING_MAX ||
        cl_utf8_chars(m->gas_reading) > INSP_READING_MAX)
        return "meter readings are at most 20 characters";
    return NULL;
}

int cl_insp_handover_record(cl_req_t *req) {
    const cl_pb_handover_form_t *m = (const cl_pb_handover_form_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id) ||
        !cl_req_need_text(req, "unit", m->unit, true, INSP_UNIT_MAX) ||
        !cl_req_need_text(req, "inspector", m->inspector, false, INSP_INSPECTOR_MAX) ||
        !cl_req_need_text(req, "not_taken_reason", m->not_taken_reason, false, INSP_REASON_MAX) ||
        !cl_req_need_text(req, "refusal_reason", m->refusal_reason, false, INSP_REASON_MAX))
        return CL_OK;
    const char *why = form_problem(m);
    if (why) {
        cl_req_fail(req, CL_EINVAL, "%s", why);
        return CL_OK;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    snprintf(c->lost, sizeof c->lost,
             "the unit's handover record changed while it was being written; retry");
    bool taken = m->outcome != CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER;
    bool refused = m->signoff == CLOSELOOP__SIGNOFF__SIGNOFF_REFUSED;
    char project[24], keys[24], sat[24];
    const char *p[] = {CL_CALL_SCOPE(c),
                       cl_sql_int_param(project, m->project_id),
                       m->unit,
                       *m->inspected_on ? m->inspected_on : NULL,
                       m->inspector,
                       outcome_name(m->outcome),
                       taken ? "" : m->not_taken_reason,
                       cl_sql_int_param(keys, m->keys_handed),
                       m->water_reading,
                       m->power_reading,
                       m->gas_reading,
                       signoff_name(m->signoff),
                       refused ? m->refusal_reason : "",
                       m->satisfaction ? cl_sql_int_param(sat, m->satisfaction) : NULL};
    cl_call_run(c, true, "insp_handover_record", 17, p, handover_recorded);
    return CL_OK;
}

static void handover_scheduled(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    if (PQntuples(res) != 1 || PQnfields(res) < 4) {
        cl_req_fail(c->req, CL_EINTERNAL, "unexpected result shape for handover schedule");
    } else if (cl_sql_i64(res, 0, 0) == 0) {
        cl_req_fail(c->req, CL_ENOTFOUND, "no such project");
    } else if (cl_sql_i64(res, 0, 1) > 0) {
        long long unknown = cl_sql_i64(res, 0, 1);
        cl_req_fail(c->req, CL_EINVAL, "no such unit%s in the project: %s%s; nothing scheduled",
                    unknown > 1 ? "s" : "", cl_sql_text(res, 0, 2),
                    unknown > 10 ? " and more" : "");
    } else {
        cl_pb_ok_t ok = CLOSELOOP__OK__INIT;
        cl_req_reply(c->req, CL_MSG_OK, &ok.base);
    }
    cl_call_free(c);
}

int cl_insp_handover_schedule(cl_req_t *req) {
    const cl_pb_handover_schedule_t *m = (const cl_pb_handover_schedule_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    if (!cl_date_valid(m->date)) {
        cl_req_fail(req, CL_EINVAL, "date must be written YYYY-MM-DD");
        return CL_OK;
    }
    if (m->n_units == 0 || m->n_units > INSP_SCHEDULE_MAX) {
        cl_req_fail(req, CL_EINVAL, "a schedule lists 1 to %d units, not %zu", INSP_SCHEDULE_MAX,
                    m->n_units);
        return CL_OK;
    }
    cl_sqlbuf_t b;
    memset(&b, 0, sizeof b);
    cl_sqlbuf_array_open(&b);
    for (size_t i = 0; i < m->n_units; i++) {
        if (!*m->units[i] || cl_utf8_chars(m->units[i]) > INSP_UNIT_MAX) {
            free(b.p);
            cl_req_fail(req, CL_EINVAL, "unit numbers are 1 to %d characters", INSP_UNIT_MAX);
            return CL_OK;
        }
        cl_sqlbuf_array_text(&b, m->units[i]);
    }
    char *units = cl_sqlbuf_array_close(&b);
    if (!units) return CL_ENOMEM;
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (c) {
        char project[24];
        const char *p[] = {CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id), m->date,
                           units};
        cl_call_run(c, true, "insp_handover_schedule", 7, p, handover_scheduled);
    }
    free(units);
    return CL_OK;
}

/* ------------------------------------------------------------------ deadline presets */

/* DeadlinePreset: project_id, category, severity, days. */
static ProtobufCMessage *preset_fill(void *slot, const cl_call_t *c, const PGresult *res, int row) {
    cl_pb_deadline_preset_t *d = slot;
    closeloop__deadline_preset__init(d);
    d->project_id = cl_sql_i64(res, row, 0);
    d->category = PQgetvalue(res, row, 1);
    d->severity = cl_severity_parse(cl_sql_text(res, row, 2));
    d->days = (uint32_t)cl_sql_i64(res, row, 3);
    return &d->base;
}

static void preset_set(void *arg, const cl_db_result_t *r) {
    cl_call_t *c = arg;
    const PGresult *res = cl_call_result(c, r);
    if (!res) return;
    if (cl_call_one_row(c, res, "a write")) {
        cl_pb_deadline_preset_t d;
        preset_fill(&d, c, res, 0);
        cl_req_reply(c->req, CL_MSG_DEADLINE_PRESET, &d.base);
    }
    cl_call_free(c);
}

int cl_insp_deadline_set(cl_req_t *req) {
    const cl_pb_deadline_set_t *m = (const cl_pb_deadline_set_t *)req->msg;
    if (!cl_req_need_id(req, "project_id", m->project_id)) return CL_OK;
    if (*m->category && !cl_req_need_trade(req, m->category)) return CL_OK;
    if (!cl_severity_name(m->severity)) {
        cl_req_fail(req, CL_EINVAL, "severity must be minor, major or critical");
        return CL_OK;
    }
    if (m->days < 1 || m->days > INSP_DAYS_MAX) {
        cl_req_fail(req, CL_EINVAL, "days must be between 1 and %d", INSP_DAYS_MAX);
        return CL_OK;
    }
    cl_call_t *c = cl_call_new(req, sizeof *c);
    if (!c) return CL_OK; /* answered */
    snprintf(c->lost, sizeof c->lost, "the preset changed while it was being set; retry");
    char project[24], days[24];
    const char *p[] = {CL_CALL_SCOPE(c), cl_sql_int_param(project, m->project_id), m->category,
                       cl_severity_name(m->severity), cl_sql_int_param(days, m->days)};
    cl_call_run(c, true, "insp_deadline_set", 8, p, preset_set);
    return CL_OK;
}

static const cl_call_kind_t preset_kind = {
    .reply_type = CL_MSG_DEADLINE_PRESET,
    .page_type = CL_MSG_DEADLINE_PRESET_PAGE,
    .page = &closeloop__deadline_preset_page__descriptor,
    .slot_size = sizeof(cl_pb_deadline_preset_t),
    .fill = preset_fill,
};

int cl_insp_deadline_list(cl_req_t *req) {
    const cl_pb_deadline_list_req_t *m = (const cl_pb_deadline_list_req_t *)req->msg;
    return insp_project_list(req, m->project_id, "insp_deadline_list", &preset_kind);
}
