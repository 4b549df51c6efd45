/* domain.h - the one registry of the domain's names and limits.
 *
 * Names. Every enum of the domain (a "domain": role, company kind, round kind, round
 * status, severity, handover outcome, signoff, ticket state, ticket action, timeliness,
 * photo type) lists its values once, in domain.c, each with
 *   - its wire value: the value of the enum in proto/closeloop.proto (the C mirrors
 *     cl_role_t and cl_ticket_state_t / cl_ticket_action_t use the same numbers);
 *   - its stored name: the text the database keeps, which the migrations' CHECKs allow
 *     ("mock1", "critical", "open" ...); also the name users type on the command line;
 *   - its Chinese label, short enough for a table column ("第一轮模拟验收", "严重").
 * The value 0 of every proto enum (*_NONE, "not set") has no entry: it has no stored name
 * and no label, and looking it up gives NULL. A domain without a proto enum (photo type)
 * numbers its values 1.. itself.
 *
 * Where the names are stored. cl_domain_columns() lists every column that holds a
 * domain's stored names and whether a CHECK restricts it to them; cl_domain_bounds()
 * lists every length and range CHECK with the limits below. tests/integration/
 * test_domain.c reads the schema's CHECKs back from PostgreSQL and holds both lists to
 * them; tests/unit/test_domain.c holds the wire values to the protobuf-c descriptors.
 *
 * Limits. The CL_LIM_* macros are the field limits the server enforces and the client
 * checks before sending: characters (UTF-8 code points) for text, bytes where named so,
 * counts otherwise.
 *
 * Rules. cl_trade_code_valid() is the trade code rule of trades.code's CHECK, for the
 * server's requests and the client's command lines alike.
 *
 * Pure data, no state, no allocation: every function is safe from any thread, and every
 * string returned is static. */
#ifndef CL_DOMAIN_H
#define CL_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "closeloop.pb-c.h"

/* ---- limits --------------------------------------------------------------------------- */

/* Organisation (org.c), companies .. owners in 001_org.sql. */
#define CL_LIM_KEY_CHARS          200   /* idempotency key of any create */
#define CL_LIM_NAME_CHARS         200   /* company, department, project, contractor name */
#define CL_LIM_CITY_CHARS         100   /* project's city */
#define CL_LIM_BUILDING_CHARS     100   /* building name ("3", "3栋") */
#define CL_LIM_FLOOR_MIN          (-10) /* a unit's floor; a building has 0..FLOOR_MAX floors */
#define CL_LIM_FLOOR_MAX          300
#define CL_LIM_UNIT_NUMBER_CHARS  50 /* unit number, 3-2-1701 */
#define CL_LIM_LAYOUT_CHARS       50 /* layout type (户型), TA */
#define CL_LIM_OWNER_NAME_CHARS   100
#define CL_LIM_PHONE_CHARS        40 /* owner's phone */
#define CL_LIM_ID_NUMBER_CHARS    40 /* owner's id number */
#define CL_LIM_TRADE_CODE_MIN     2  /* a lowercase letter, then [a-z0-9_] */
#define CL_LIM_TRADE_CODE_CHARS   40
#define CL_LIM_CONTRACTOR_TRADES  64  /* trades one contractor covers */
#define CL_LIM_TRADE_ALIAS_CHARS  40  /* what site staff call a trade on a project (涂料) */
#define CL_LIM_USERNAME_CHARS     64  /* [A-Za-z0-9_.-] */
#define CL_LIM_DISPLAY_NAME_BYTES 240 /* the session keeps it in 256 bytes */
#define CL_LIM_USER_PROJECTS      200 /* projects of one user; the session keeps them in 4 KiB */
#define CL_LIM_PASSWORD_MIN_BYTES 8
#define CL_LIM_PASSWORD_MAX_BYTES 256
#define CL_LIM_IMPORT_ROWS        5000 /* rows of one buildings/units/owners import chunk */

/* Inspections (inspection.c), 003_inspections.sql. */
#define CL_LIM_ITEM_BATCH         2000 /* items of one ItemBatch */
#define CL_LIM_SCHEDULE_UNITS     5000 /* units of one HandoverSchedule */
#define CL_LIM_DEPARTMENT_CHARS   100  /* a round's organising department */
#define CL_LIM_INSPECTOR_CHARS    100
#define CL_LIM_LOCATION_CHARS     100  /* room: 厨房, 卫生间 */
#define CL_LIM_DESCRIPTION_CHARS  2000 /* an item's description */
#define CL_LIM_REASON_CHARS       500  /* not-taken-over and refusal reasons */
#define CL_LIM_READING_CHARS      20   /* a meter reading as printed, "00012.3" */
#define CL_LIM_KEYS_HANDED        50   /* keys handed over with one unit */
#define CL_LIM_SATISFACTION       100  /* 1..100; 0 on the wire: not given */
#define CL_LIM_DEADLINE_DAYS      3650 /* a repair deadline preset, 1..3650 days */
#define CL_LIM_ITEM_PHOTOS        5    /* photos of one item */
#define CL_LIM_PHOTO_BYTES        (2 * 1024 * 1024)
#define CL_LIM_PHOTO_SHA256_BYTES 32 /* a photo's content hash, as stored */

/* Tickets (ticket.c). */
#define CL_LIM_NOTE_CHARS 2000 /* a transition's note, reason or explanation */

/* Defects and the knowledge base (server/defect, server/kb), 011_defects.sql. */
#define CL_LIM_DEFECT_PREFIX_CHARS 8    /* a project's defect code prefix, [A-Z]{1,8}: SJ */
#define CL_LIM_CODE_CHARS          40   /* a defect's or a case's code: SJ01 */
#define CL_LIM_TITLE_CHARS         200  /* a defect's or a case's title */
#define CL_LIM_DEFECT_TEXT_CHARS   4000 /* a defect's or a case's description */
#define CL_LIM_RISK_CHARS          2000 /* the risk a defect carries */
#define CL_LIM_ATTENDEES_CHARS     2000 /* the decision meeting's attendees */
#define CL_LIM_ANALYSIS_CHARS      8000 /* minutes, cause analysis, measures, the fix plan */
#define CL_LIM_RESPONSIBLE_CHARS   200  /* a case's responsible departments, as text */
#define CL_LIM_DEFECT_ITEMS        5000 /* items linked to a defect in one request */
#define CL_LIM_DEFECT_TAGS         50   /* layouts or locations of one defect or case */
#define CL_LIM_SEARCH_CHARS        200  /* a search query */

/* The business calendar (issue 12). */
#define CL_LIM_CALENDAR_NAME_CHARS 40 /* a special day's name: 国庆节调休上班 */
/* Owner complaints (issue 12), 024_complaints.sql; names and phones as CL_LIM_OWNER_*,
 * descriptions and notes as CL_LIM_DESCRIPTION_CHARS. */
#define CL_LIM_COMPLAINANTS         10000 /* people behind one (collective) complaint */
#define CL_LIM_COMPLAINT_LEVEL      3     /* 1 property, 2 company CR, 3 hotline/HQ */
#define CL_LIM_COMPLAINT_SATISFIED  5     /* a revisit's satisfaction, 1..5 */
#define CL_LIM_COMPLAINT_TEXT_CHARS 400   /* a class reason, an event's detail */
#define CL_LIM_CLOSURE_HOURS        10000 /* a class's closure target in business hours */

/* Warranty repairs (issue 12), 026_warranty.sql; owner names and phones as CL_LIM_OWNER_*,
 * letter subjects as CL_LIM_TITLE_CHARS. amount CHECK (> 0 AND <= max) is not a bound the
 * registry can hold (exclusive, numeric): CL_LIM_DEDUCTION_MAX_CENTS mirrors it. */
#define CL_LIM_WARRANTY_TEXT_CHARS 400   /* an event's detail, a deduction's reason or note */
#define CL_LIM_LETTER_BODY_CHARS   4000  /* a warranty letter's body */
#define CL_LIM_RESPONSE_HOURS      10000 /* a level's response budget in business hours */
#define CL_LIM_DEDUCTION_MAX_CENTS 1000000000LL /* 10,000,000.00 yuan */

/* Desktop sync (issue 10). */
#define CL_LIM_REQUEST_KEY_CHARS    100 /* an idempotency key of a transition or a form */
#define CL_LIM_REQUEST_TARGET_CHARS 200 /* what a key was claimed for: "<project>/<unit>" */

/* issue 12 */
#define CL_LIM_NOTICE_SUBJECT_CHARS 80  /* what a notice is about: "complaint:12" */
#define CL_LIM_NOTICE_BODY_CHARS    400 /* a notice's sentence */

/* Whether s is a trade code: a lowercase letter, then [a-z0-9_], CL_LIM_TRADE_CODE_MIN to
 * CL_LIM_TRADE_CODE_CHARS in all (trades.code's CHECK). */
bool cl_trade_code_valid(const char *s);

/* ---- names ---------------------------------------------------------------------------- */

typedef enum cl_domain {
    CL_DOM_ROLE = 0,          /* Role: users.role */
    CL_DOM_COMPANY_KIND,      /* CompanyKind: companies.kind */
    CL_DOM_ROUND_KIND,        /* RoundKind: inspection_rounds.kind */
    CL_DOM_ROUND_STATUS,      /* RoundStatus: inspection_rounds.status */
    CL_DOM_SEVERITY,          /* Severity: inspection_items, deadline_presets, tickets */
    CL_DOM_HANDOVER_OUTCOME,  /* HandoverOutcome: inspection_records.outcome */
    CL_DOM_SIGNOFF,           /* Signoff: inspection_records.signoff */
    CL_DOM_TICKET_STATE,      /* TicketState: tickets.state, ticket_events.*_state */
    CL_DOM_TICKET_ACTION,     /* TicketAction: ticket_events.action */
    CL_DOM_TIMELINESS,        /* Timeliness: computed by cl_ticket_timeliness() */
    CL_DOM_PHOTO_MIME,        /* no proto enum (Photo.mime is text): photos.mime */
    CL_DOM_DEFECT_SOURCE,     /* DefectSource: defects.source */
    CL_DOM_DEFECT_KIND,       /* DefectKind: defects.kind, kb_cases.kind */
    CL_DOM_SPECIALTY,         /* Specialty: defects.specialty, kb_cases.specialty */
    CL_DOM_DEFECT_GRADE,      /* DefectGrade: defects.grade, kb_cases.grade */
    CL_DOM_DEFECT_STATE,      /* DefectState: defects.state, defect_events.*_state */
    CL_DOM_DEFECT_ACTION,     /* DefectAction: defect_events.action */
    CL_DOM_DEPT_KIND,         /* DepartmentKind: departments.kind */
    CL_DOM_CHECKPOINT_STATUS, /* CheckpointStatus: round_checkpoints.status */
    CL_DOM_CASE_STATUS,       /* CaseStatus: kb_cases.status */
    CL_DOM_CALENDAR_DAY_KIND, /* CalendarDayKind: calendar_days.kind */
    CL_DOM_NOTICE_KIND,       /* NoticeKind: notices.kind */
    CL_DOM_COMPLAINT_CHANNEL, /* ComplaintChannel: complaints.channel */
    CL_DOM_COMPLAINT_CLASS,   /* ComplaintClass: complaints.class, complaint_targets.class */
    CL_DOM_COMPLAINT_STATE,   /* ComplaintState: complaints.state */
    CL_DOM_COMPLAINT_ACTION,  /* ComplaintAction: complaint_events.action */
    CL_DOM_COMPLAINT_CLOCK,   /* ComplaintClockKind: complaint_clocks.kind */
    CL_DOM_WARRANTY_LEVEL,    /* WarrantyLevel: warranty_reports.level, warranty_targets */
    CL_DOM_WARRANTY_ACTION,   /* WarrantyAction: warranty_events.action */
    CL_DOM_DEDUCTION_KIND,    /* DeductionKind: warranty_deductions.kind */
    CL_DOM_DEDUCTION_STATE,   /* DeductionState: warranty_deductions.state */
    CL_DOM__COUNT
} cl_domain_t;

/* The photo types' own numbering (CL_DOM_PHOTO_MIME has no proto enum). */
typedef enum cl_photo_type {
    CL_PHOTO_JPEG = 1,
    CL_PHOTO_PNG = 2,
} cl_photo_type_t;

typedef struct cl_domain_value {
    int wire;          /* the proto enum value, > 0 */
    const char *name;  /* stored name */
    const char *label; /* Chinese label for printed output */
} cl_domain_value_t;

/* A column that holds a domain's stored names. */
typedef struct cl_domain_column {
    cl_domain_t domain;
    const char *table;
    const char *column;
    bool checked; /* a CHECK (column IN (...)) restricts it to exactly the stored names */
} cl_domain_column_t;

/* What a bound limits. */
typedef enum cl_domain_measure {
    CL_MEASURE_LENGTH,  /* length(column) BETWEEN lo AND hi (lo 0: only length <= hi) */
    CL_MEASURE_VALUE,   /* column BETWEEN lo AND hi */
    CL_MEASURE_PATTERN, /* the {lo,hi} repetition in column ~ '^...{lo,hi}$' */
} cl_domain_measure_t;

/* A length or range CHECK of the schema, in terms of the CL_LIM_* limits. */
typedef struct cl_domain_bound {
    const char *table;
    const char *column;
    cl_domain_measure_t measure;
    long lo, hi;
} cl_domain_bound_t;

/* The stored name of wire value w; NULL for 0, an unknown value or an unknown domain. */
const char *cl_domain_name(cl_domain_t d, int w);

/* The Chinese label of wire value w; NULL when cl_domain_name() is. */
const char *cl_domain_label(cl_domain_t d, int w);

/* The wire value whose stored name is exactly name (case and blanks count); 0 when none
 * is, or name is NULL. */
int cl_domain_parse(cl_domain_t d, const char *name);

/* The same for the len bytes at s, which need not be NUL-terminated (a CSV field). */
int cl_domain_parse_n(cl_domain_t d, const char *s, size_t len);

/* As cl_domain_parse_n, and also the Chinese label ("严重" for critical): what people write
 * on a site's forms. */
int cl_domain_parse_label_n(cl_domain_t d, const char *s, size_t len);

/* Writes the accepted stored names in wire order, ", " between them, into buf (always
 * NUL-terminated when len > 0): "mock1, mock2, mock3, ...". With labels, each name is
 * followed by its label: "minor (轻微), major (一般), critical (严重)". For help texts and
 * error messages ("accepted: %s"). Returns the length the whole list needs, like
 * snprintf: a result >= len means buf holds a cut list (cut on a character boundary). */
size_t cl_domain_accepted(cl_domain_t d, bool labels, char *buf, size_t len);

/* The domain in words for messages ("round kind"); NULL for an unknown domain. */
const char *cl_domain_what(cl_domain_t d);

/* The domain's values in wire order, *n of them; NULL and 0 for an unknown domain. */
const cl_domain_value_t *cl_domain_values(cl_domain_t d, size_t *n);

/* The protobuf-c descriptor of the domain's proto enum; NULL when it has none. */
const ProtobufCEnumDescriptor *cl_domain_descriptor(cl_domain_t d);

/* Every column that stores a domain's names, and every length and range CHECK. */
const cl_domain_column_t *cl_domain_columns(size_t *n);
const cl_domain_bound_t *cl_domain_bounds(size_t *n);

/* Typed accessors over the generic ones, for enums without a C mirror of their own:
 * CL_DOMAIN_TYPED(round_kind, ...) defines cl_round_kind_name(), cl_round_kind_label()
 * and cl_round_kind_parse(). Roles, ticket states and ticket actions have theirs next to
 * their C enums: cl_role_name() (server/engine/authz.h), cl_ticket_state_name() and
 * cl_ticket_action_name() (ticket_fsm.h), which read this registry too. */
#define CL_DOMAIN_TYPED(fn, type, dom)                                                             \
    static inline const char *cl_##fn##_name(type v) {                                             \
        return cl_domain_name(dom, (int)v);                                                        \
    }                                                                                              \
    static inline const char *cl_##fn##_label(type v) {                                            \
        return cl_domain_label(dom, (int)v);                                                       \
    }                                                                                              \
    static inline type cl_##fn##_parse(const char *name) {                                         \
        return (type)cl_domain_parse(dom, name);                                                   \
    }

CL_DOMAIN_TYPED(company_kind, Closeloop__CompanyKind, CL_DOM_COMPANY_KIND)
CL_DOMAIN_TYPED(round_kind, Closeloop__RoundKind, CL_DOM_ROUND_KIND)
CL_DOMAIN_TYPED(round_status, Closeloop__RoundStatus, CL_DOM_ROUND_STATUS)
CL_DOMAIN_TYPED(severity, Closeloop__Severity, CL_DOM_SEVERITY)
CL_DOMAIN_TYPED(outcome, Closeloop__HandoverOutcome, CL_DOM_HANDOVER_OUTCOME)
CL_DOMAIN_TYPED(signoff, Closeloop__Signoff, CL_DOM_SIGNOFF)
CL_DOMAIN_TYPED(timeliness, Closeloop__Timeliness, CL_DOM_TIMELINESS)
CL_DOMAIN_TYPED(photo_type, cl_photo_type_t, CL_DOM_PHOTO_MIME)
CL_DOMAIN_TYPED(defect_source, Closeloop__DefectSource, CL_DOM_DEFECT_SOURCE)
CL_DOMAIN_TYPED(defect_kind, Closeloop__DefectKind, CL_DOM_DEFECT_KIND)
CL_DOMAIN_TYPED(specialty, Closeloop__Specialty, CL_DOM_SPECIALTY)
CL_DOMAIN_TYPED(defect_grade, Closeloop__DefectGrade, CL_DOM_DEFECT_GRADE)
CL_DOMAIN_TYPED(dept_kind, Closeloop__DepartmentKind, CL_DOM_DEPT_KIND)
CL_DOMAIN_TYPED(checkpoint_status, Closeloop__CheckpointStatus, CL_DOM_CHECKPOINT_STATUS)
CL_DOMAIN_TYPED(case_status, Closeloop__CaseStatus, CL_DOM_CASE_STATUS)
CL_DOMAIN_TYPED(calendar_day_kind, Closeloop__CalendarDayKind, CL_DOM_CALENDAR_DAY_KIND)
CL_DOMAIN_TYPED(complaint_channel, Closeloop__ComplaintChannel, CL_DOM_COMPLAINT_CHANNEL)
CL_DOMAIN_TYPED(complaint_class, Closeloop__ComplaintClass, CL_DOM_COMPLAINT_CLASS)
CL_DOMAIN_TYPED(complaint_state, Closeloop__ComplaintState, CL_DOM_COMPLAINT_STATE)
CL_DOMAIN_TYPED(complaint_action, Closeloop__ComplaintAction, CL_DOM_COMPLAINT_ACTION)
CL_DOMAIN_TYPED(complaint_clock, Closeloop__ComplaintClockKind, CL_DOM_COMPLAINT_CLOCK)
CL_DOMAIN_TYPED(warranty_level, Closeloop__WarrantyLevel, CL_DOM_WARRANTY_LEVEL)
CL_DOMAIN_TYPED(warranty_action, Closeloop__WarrantyAction, CL_DOM_WARRANTY_ACTION)
CL_DOMAIN_TYPED(deduction_kind, Closeloop__DeductionKind, CL_DOM_DEDUCTION_KIND)
CL_DOMAIN_TYPED(deduction_state, Closeloop__DeductionState, CL_DOM_DEDUCTION_STATE)

#endif
