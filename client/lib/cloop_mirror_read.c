/* cloop_mirror_read.c - offline reads: the answers the server would give to the morning
 * lists (TodoListRequest, ToVerifyListRequest), a ticket's history (TicketShowRequest),
 * the daily report and the key-handover readiness, built from the mirror alone
 * (cl_mirror_call, cl_mirror_call_stream in cloop_mirror.h).
 *
 * Each answer is the statement of the server ported to SQLite: the view ticket_rows of
 * migrations 005/010 with cl_ticket_timeliness (003) and age_days becomes a TEMP view of
 * this connection over the mirror's tables; server/ticket/ticket.sql's lists (same
 * filters, same order, the same keyset pages of 500) and show; server/report/report.sql's
 * four daily statements and the two of readiness, with cl_building_named (010). The
 * messages are filled field by field as server/ticket/ticket_row.c, ticket.c and
 * server/report/report.c fill them, so cloop prints them with its online code and the
 * output is the same byte for byte. Scope needs no predicate: the mirror holds exactly
 * what the user may see (docs/SYNC.md); only the role's own rules stay (a contractor's
 * list is its own; reports are not a contractor's).
 *
 * PostgreSQL's conversions are C functions registered on the connection: cl_epoch_ms
 * ((extract(epoch FROM ts) * 1000)::bigint: microseconds rounded half away from zero),
 * cl_local_day (ts::date), cl_today (current_date), cl_days (date - date) and
 * cl_building_key (010's regexp_replace of a building word). Days are local days of this
 * machine, as the server's are of its TimeZone on one machine.
 *
 * Runs on the caller's thread. Replies of cl_mirror_call are the caller's (cl_msg_free);
 * pages given to on_page live only during the call, as in cl_client_call_stream. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "cloop_mirror.h"
#include "cloop_mirror_int.h"
#include "domain.h"
#include "msg.h"
#include "ticket_fsm.h"

#define RD_PAGE_MAX  500 /* tickets per page: ticket.sql's LIMIT (TK_PAGE_MAX) */
#define RD_OLDEST    10  /* report_daily_oldest's LIMIT */
#define RD_REASONS   100 /* report_daily_reasons' LIMIT */
#define RD_BLOCKERS  500 /* report_ready_blockers' LIMIT */
#define RD_BNAMES    50  /* report_ready_summary's building names */
#define RD_FORBIDDEN "your role may not do this" /* the engine's refusal (server.c) */

/* ---- PostgreSQL's conversions -------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at *p into *v, advancing p. */
static bool digits(const char **p, int n, int64_t *v) {
    int64_t x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return false;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return true;
}

/* A timestamp as PostgreSQL's jsonb writes timestamptz ("2026-12-05T09:30:00.123456+08:00";
 * a space for the T and a missing offset, meaning local time, are taken too) as
 * microseconds since the epoch. */
static bool iso_us(const char *s, int64_t *out) {
    int64_t y, mo, d, h, mi, sec, us = 0;
    const char *p = s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return false;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 6) us = us * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0) return false;
        for (; n < 6; n++)
            us *= 10;
    }
    int64_t secs;
    if (*p == '\0') { /* no offset: local time */
        struct tm tm = {0};
        tm.tm_year = (int)(y - 1900);
        tm.tm_mon = (int)(mo - 1);
        tm.tm_mday = (int)d;
        tm.tm_hour = (int)h;
        tm.tm_min = (int)mi;
        tm.tm_sec = (int)sec;
        tm.tm_isdst = -1;
        time_t t = mktime(&tm);
        if (t == (time_t)-1) return false;
        secs = (int64_t)t;
    } else {
        int64_t off = 0;
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int64_t oh, om = 0, os = 0;
            if (!digits(&p, 2, &oh)) return false;
            if (*p == ':' && (p++, !digits(&p, 2, &om))) return false;
            if (*p == ':' && (p++, !digits(&p, 2, &os))) return false;
            off = sign * (oh * 3600 + om * 60 + os);
        } else {
            return false;
        }
        if (*p) return false;
        secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    }
    *out = secs * 1000000 + us;
    return true;
}

/* (extract(epoch FROM ts) * 1000)::bigint: numeric rounds half away from zero. */
static int64_t us_to_ms(int64_t us) {
    return us >= 0 ? (us + 500) / 1000 : -((-us + 500) / 1000);
}

/* The local day of a moment, YYYY-MM-DD (ts::date in the server's TimeZone). */
static bool local_day(int64_t us, char out[16]) {
    int64_t s = us / 1000000 - (us % 1000000 < 0);
    time_t t = (time_t)s;
    struct tm tm;
    return localtime_r(&t, &tm) && strftime(out, 16, "%Y-%m-%d", &tm) == 10;
}

/* A date YYYY-MM-DD as days since the epoch. */
static bool date_days(const char *s, int64_t *out) {
    int64_t y, m, d;
    const char *p = s;
    if (!s || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &m) || *p++ != '-' ||
        !digits(&p, 2, &d) || *p)
        return false;
    *out = days_from_civil(y, m, d);
    return true;
}

static void fn_epoch_ms(sqlite3_context *cx, int n, sqlite3_value **v) {
    (void)n;
    const char *s = (const char *)sqlite3_value_text(v[0]);
    int64_t us;
    if (s && iso_us(s, &us))
        sqlite3_result_int64(cx, us_to_ms(us));
    else
        sqlite3_result_null(cx);
}

static void fn_local_day(sqlite3_context *cx, int n, sqlite3_value **v) {
    (void)n;
    const char *s = (const char *)sqlite3_value_text(v[0]);
    int64_t us;
    char day[16];
    if (s && iso_us(s, &us) && local_day(us, day))
        sqlite3_result_text(cx, day, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

static void fn_today(sqlite3_context *cx, int n, sqlite3_value **v) {
    (void)n;
    (void)v;
    char day[16];
    if (local_day((int64_t)time(NULL) * 1000000, day))
        sqlite3_result_text(cx, day, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

/* cl_days(a, b): date a - date b in days, NULL when either is not a date. */
static void fn_days(sqlite3_context *cx, int n, sqlite3_value **v) {
    (void)n;
    int64_t a, b;
    if (date_days((const char *)sqlite3_value_text(v[0]), &a) &&
        date_days((const char *)sqlite3_value_text(v[1]), &b))
        sqlite3_result_int64(cx, a - b);
    else
        sqlite3_result_null(cx);
}

/* Migration 010's regexp_replace(name, '\s*(栋|号楼|号|幢|座|楼)$', ''): the leftmost match
 * is the longest building word at the end with the white space before it. */
static void building_key(const char *s, char *out, size_t cap) {
    static const char *const words[] = {"号楼", "栋", "号", "幢", "座", "楼"};
    size_t len = strlen(s);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t wl = strlen(words[i]);
        if (len >= wl && memcmp(s + len - wl, words[i], wl) == 0) {
            len -= wl;
            while (len > 0 && strchr(" \t\n\r\v\f", s[len - 1]))
                len--;
            break;
        }
    }
    if (len >= cap) len = cap - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

static void fn_building_key(sqlite3_context *cx, int n, sqlite3_value **v) {
    (void)n;
    const char *s = (const char *)sqlite3_value_text(v[0]);
    if (!s) {
        sqlite3_result_null(cx);
        return;
    }
    size_t cap = strlen(s) + 1;
    char *k = sqlite3_malloc64(cap);
    if (!k) {
        sqlite3_result_error_nomem(cx);
        return;
    }
    building_key(s, k, cap);
    sqlite3_result_text(cx, k, -1, sqlite3_free);
}

/* ---- the view ticket_rows ------------------------------------------------------------ */

/* Its columns, in the order of the Ticket message (ticket_row.c), then the keys. */
enum tr_col {
    TR_ID,
    TR_PROJECT_ID,
    TR_NUMBER,
    TR_PROJECT_NAME,
    TR_BUILDING,
    TR_UNIT,
    TR_ROUND,
    TR_LOCATION,
    TR_CATEGORY,
    TR_DESCRIPTION,
    TR_SEVERITY,
    TR_STATE,
    TR_CONTRACTOR_ID,
    TR_CONTRACTOR_NAME,
    TR_REWORK_COUNT,
    TR_DEADLINE,
    TR_TIMELINESS,
    TR_RAISED_AT_MS,
    TR_UPDATED_AT_MS,
    TR_VERSION,
    TR_LAST_NOTE,
    TR_AGE_DAYS,
    TR_FOUND_AGAIN_OF,
    TR_FOUND_ON,
    TR_ENTRY_LAG_DAYS,
    TR_CATEGORY_NAME,
    TR_KEY_CONTRACTOR_ID,
    TR__N
};

/* Migration 010's ticket_rows on the mirror (a TEMP view: nothing is written to the file).
 * A ticket raised offline (an outbox entry, cloop_outbox.c) has no number until the server
 * gives it one: 0 here, as its message would say, so that the keyset stays total. */
static const char ticket_rows_sql[] =
    "CREATE TEMP VIEW IF NOT EXISTS ticket_rows AS"
    " SELECT t.id AS id, t.project_id AS project_id, coalesce(t.number, 0) AS number,"
    "  p.name AS project_name, b.name AS building, u.number AS unit, r.kind AS round,"
    "  i.location AS location, t.category AS category, i.description AS description,"
    "  t.severity AS severity, t.state AS state,"
    "  coalesce(t.contractor_id, 0) AS contractor_id, coalesce(k.name, '') AS contractor_name,"
    "  t.rework_count AS rework_count, coalesce(t.deadline, '') AS deadline,"
    "  CASE WHEN t.deadline IS NULL THEN 'no_deadline'"
    "       WHEN t.state IN ('closed', 'nofix') AND cl_local_day(t.closed_at) > t.deadline"
    "            THEN 'closed_late'"
    "       WHEN t.state IN ('closed', 'nofix') THEN 'closed_in_time'"
    "       WHEN cl_today() > t.deadline THEN 'overdue_open'"
    "       ELSE 'in_time_open' END AS timeliness,"
    "  cl_epoch_ms(t.raised_at) AS raised_at_ms, cl_epoch_ms(t.updated_at) AS updated_at_ms,"
    "  t.version AS version, t.last_note AS last_note,"
    "  max(coalesce(cl_days(cl_today(), t.found_on), 0), 0) AS age_days,"
    "  coalesce(i.found_again_of, '') AS found_again_of, t.found_on AS found_on,"
    "  max(coalesce(cl_days(cl_local_day(t.raised_at), t.found_on), 0), 0) AS entry_lag_days,"
    "  coalesce(tt.name_zh, t.category) AS category_name,"
    "  t.contractor_id AS key_contractor_id"
    " FROM tickets t"
    " JOIN inspection_items i ON i.id = t.id"
    " JOIN units u ON u.id = i.unit_id"
    " JOIN buildings b ON b.id = u.building_id"
    " JOIN projects p ON p.id = t.project_id"
    " JOIN inspection_rounds r ON r.id = i.round_id"
    " LEFT JOIN contractors k ON k.id = t.contractor_id"
    " LEFT JOIN trades tt ON tt.code = t.category";

/* Registers the conversions and the view on m's connection (both idempotent). */
static int read_prepare(cl_mirror_t *m) {
    static const struct {
        const char *name;
        int nargs;
        bool deterministic;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        {"cl_epoch_ms", 1, true, fn_epoch_ms},
        {"cl_local_day", 1, true, fn_local_day},
        {"cl_today", 0, false, fn_today},
        {"cl_days", 2, true, fn_days},
        {"cl_building_key", 1, true, fn_building_key},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        int flags = SQLITE_UTF8 | (fns[i].deterministic ? SQLITE_DETERMINISTIC : 0);
        if (sqlite3_create_function(m->db, fns[i].name, fns[i].nargs, flags, NULL, fns[i].fn, NULL,
                                    NULL) != SQLITE_OK) {
            cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
            return CL_EIO;
        }
    }
    return cl_mirror_exec(m, ticket_rows_sql);
}

/* ---- statements ---------------------------------------------------------------------- */

/* Prepares sql; CL_EIO with the sentence on failure. */
static int stmt(cl_mirror_t *m, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v2(m->db, sql, -1, st, NULL) == SQLITE_OK) return CL_OK;
    cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
    *st = NULL;
    return CL_EIO;
}

/* sqlite3_step: 1 a row, 0 done, CL_EIO failed (sentence set). */
static int step(cl_mirror_t *m, sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    cl_mirror_fail(m, "mirror: %s", sqlite3_errmsg(m->db));
    return CL_EIO;
}

/* A text column as PQgetvalue gives it: "" for NULL. The string lives until the
 * statement steps again. */
static char *col_text(sqlite3_stmt *st, int col) {
    const unsigned char *s = sqlite3_column_text(st, col);
    return s ? (char *)s : (char *)"";
}

/* A copy of a text column into the arena a (freed with the answer). */
typedef struct arena {
    char **v;
    size_t n, cap;
    bool oom;
} arena_t;

static char *arena_keep(arena_t *a, const char *s) {
    if (a->oom) return (char *)"";
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->oom = true;
            return (char *)"";
        }
        a->v = v;
        a->cap = cap;
    }
    char *c = strdup(s);
    if (!c) {
        a->oom = true;
        return (char *)"";
    }
    a->v[a->n++] = c;
    return c;
}

static void arena_free(arena_t *a) {
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

static char *keep_col(arena_t *a, sqlite3_stmt *st, int col) {
    return arena_keep(a, col_text(st, col));
}

/* cl_ticket_row_fill (server/ticket/ticket_row.c) from a row of the view, strings kept in a. */
static void ticket_fill(Closeloop__Ticket *t, sqlite3_stmt *st, int first, arena_t *a) {
    closeloop__ticket__init(t);
#define TX(c) keep_col(a, st, first + (c))
#define TI(c) sqlite3_column_int64(st, first + (c))
    t->id = TX(TR_ID);
    t->project_id = TI(TR_PROJECT_ID);
    t->number = (uint32_t)TI(TR_NUMBER);
    t->project_name = TX(TR_PROJECT_NAME);
    t->building = TX(TR_BUILDING);
    t->unit = TX(TR_UNIT);
    t->round = cl_round_kind_parse(col_text(st, first + TR_ROUND));
    t->location = TX(TR_LOCATION);
    t->category = TX(TR_CATEGORY);
    t->description = TX(TR_DESCRIPTION);
    t->severity = cl_severity_parse(col_text(st, first + TR_SEVERITY));
    t->state = (Closeloop__TicketState)cl_ticket_state_parse(col_text(st, first + TR_STATE));
    t->contractor_id = TI(TR_CONTRACTOR_ID);
    t->contractor_name = TX(TR_CONTRACTOR_NAME);
    t->rework_count = (uint32_t)TI(TR_REWORK_COUNT);
    t->deadline = TX(TR_DEADLINE);
    t->timeliness = cl_timeliness_parse(col_text(st, first + TR_TIMELINESS));
    t->raised_at_ms = (uint64_t)TI(TR_RAISED_AT_MS);
    t->updated_at_ms = (uint64_t)TI(TR_UPDATED_AT_MS);
    t->version = TI(TR_VERSION);
    t->last_note = TX(TR_LAST_NOTE);
    t->age_days = (uint32_t)TI(TR_AGE_DAYS);
    t->found_again_of = TX(TR_FOUND_AGAIN_OF);
    t->found_on = TX(TR_FOUND_ON);
    t->entry_lag_days = (uint32_t)TI(TR_ENTRY_LAG_DAYS);
    t->category_name = TX(TR_CATEGORY_NAME);
#undef TX
#undef TI
}

/* A message built on the stack as an owned one (the caller's, cl_msg_free): packed and
 * unpacked, as it would have come over the wire. */
static int own_copy(cl_mirror_t *m, uint16_t type, const ProtobufCMessage *msg,
                    ProtobufCMessage **out) {
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        cl_mirror_fail(m, "out of memory");
        return CL_ENOMEM;
    }
    protobuf_c_message_pack(msg, buf);
    int rc = cl_msg_unpack(type, buf, len, out);
    free(buf);
    if (rc != CL_OK) cl_mirror_fail(m, "mirror: a %s could not be built", cl_msg_type_name(type));
    return rc;
}

/* ---- who the mirror's user is -------------------------------------------------------- */

typedef struct who {
    char role[32];         /* users.role's name, "" when the mirror does not say */
    int64_t contractor_id; /* for a contractor's user */
} who_t;

static void who_read(cl_mirror_t *m, who_t *w) {
    memset(w, 0, sizeof *w);
    if (!cl_mirror_meta(m, "role", w->role, sizeof w->role)) w->role[0] = '\0';
    w->contractor_id = cl_mirror_meta_int(m, "contractor_id", 0);
}

static bool is_contractor(const who_t *w) {
    return strcmp(w->role, "contractor") == 0;
}

int cl_mirror_identity_save(cl_mirror_t *m, int64_t contractor_id) {
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, contractor_id);
    return cl_mirror_meta_set(m, "contractor_id", cid);
}

/* Whether the mirror holds project p (the projects of the user's scope). */
static int project_known(cl_mirror_t *m, int64_t p, bool *known) {
    sqlite3_stmt *st;
    int rc = stmt(m, "SELECT EXISTS (SELECT 1 FROM projects WHERE id = ?1)", &st);
    if (rc != CL_OK) return rc;
    sqlite3_bind_int64(st, 1, p);
    rc = step(m, st);
    *known = rc == 1 && sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return rc < 0 ? rc : CL_OK;
}

static int fail(cl_mirror_t *m, int rc, const char *sentence) {
    cl_mirror_fail(m, "%s", sentence);
    return rc;
}

/* Room in arr (elements of elem bytes, *cap of them) for element n: arr itself while it
 * has room, else the array doubled (first elements at first), *cap updated. NULL when out
 * of memory, with the sentence set; arr is then still the caller's to free. */
static void *grow(cl_mirror_t *m, void *arr, size_t *cap, size_t n, size_t elem, size_t first) {
    if (n < *cap) return arr;
    size_t want = *cap ? *cap * 2 : first;
    void *p = realloc(arr, want * elem);
    if (!p) {
        cl_mirror_fail(m, "out of memory");
        return NULL;
    }
    *cap = want;
    return p;
}

/* ---- the morning lists (ticket.sql: ticket_todo, ticket_toverify) --------------------- */

static const char todo_sql[] = "SELECT tr.* FROM ticket_rows tr"
                               " WHERE tr.state = 'open' AND tr.key_contractor_id = ?1"
                               "   AND (?2 = 0 OR tr.project_id = ?2)"
                               "   AND (tr.found_on, tr.number, tr.id) > (?3, ?4, ?5)"
                               " ORDER BY tr.found_on, tr.number, tr.id LIMIT 500";

static const char toverify_sql[] = "SELECT tr.* FROM ticket_rows tr"
                                   " WHERE tr.state = 'repaired' AND tr.project_id = ?1"
                                   "   AND (?2 = 0 OR tr.key_contractor_id = ?2)"
                                   "   AND (tr.found_on, tr.number, tr.id) > (?3, ?4, ?5)"
                                   " ORDER BY tr.found_on, tr.number, tr.id LIMIT 500";

_Static_assert(RD_PAGE_MAX == 500, "the statements' LIMIT");

/* Streams a list: pages of RD_PAGE_MAX by keyset (found_on, number, id), each given to
 * on_page as the TicketPage frames of the server; at least one page, as the server sends
 * an empty last frame for an empty list. */
static int list_stream(cl_mirror_t *m, const char *sql, int64_t a1, int64_t a2,
                       int (*on_page)(void *arg, const ProtobufCMessage *page), void *arg) {
    sqlite3_stmt *st;
    int rc = stmt(m, sql, &st);
    if (rc != CL_OK) return rc;
    char cur_on[16] = "", cur_id[40] = "";
    int64_t cur_number = 0;
    Closeloop__Ticket *ts = calloc(RD_PAGE_MAX, sizeof *ts);
    Closeloop__Ticket **tp = calloc(RD_PAGE_MAX, sizeof *tp);
    arena_t a = {0};
    if (!ts || !tp) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, a1);
        sqlite3_bind_int64(st, 2, a2);
        sqlite3_bind_text(st, 3, cur_on, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, cur_number);
        sqlite3_bind_text(st, 5, cur_id, -1, SQLITE_STATIC);
        size_t n = 0;
        int s;
        while ((s = step(m, st)) == 1) {
            ticket_fill(&ts[n], st, 0, &a);
            tp[n] = &ts[n];
            n++;
        }
        if (s < 0) {
            rc = s;
            goto out;
        }
        if (a.oom) {
            rc = fail(m, CL_ENOMEM, "out of memory");
            goto out;
        }
        Closeloop__TicketPage page = CLOSELOOP__TICKET_PAGE__INIT;
        page.n_items = n;
        page.items = tp;
        int prc = on_page(arg, &page.base);
        if (prc != 0) { /* the caller stopped: its own error, as in cl_client_call_stream */
            rc = prc < 0 ? prc : CL_EINVAL;
            cl_mirror_fail(m, "stopped by the caller");
            goto out;
        }
        if (n < RD_PAGE_MAX) break;
        snprintf(cur_on, sizeof cur_on, "%s", ts[n - 1].found_on);
        snprintf(cur_id, sizeof cur_id, "%s", ts[n - 1].id);
        cur_number = ts[n - 1].number;
        arena_free(&a);
    }
    rc = CL_OK;
out:
    arena_free(&a);
    free(ts);
    free(tp);
    sqlite3_finalize(st);
    return rc;
}

/* cl_ticket_todo_list (server/ticket/ticket_lists.c) on the mirror. */
static int todo_list(cl_mirror_t *m, const Closeloop__TodoListRequest *q,
                     int (*on_page)(void *, const ProtobufCMessage *), void *arg) {
    if (q->contractor_id < 0 || q->project_id < 0)
        return fail(m, CL_EINVAL, "contractor_id and project_id must be ids, or 0");
    who_t w;
    who_read(m, &w);
    int64_t contractor = q->contractor_id;
    if (is_contractor(&w)) {
        if (contractor != 0 && contractor != w.contractor_id)
            return fail(m, CL_ENOTFOUND, "no such contractor");
        contractor = w.contractor_id;
    } else if (contractor <= 0) {
        return fail(m, CL_EINVAL, "contractor_id is required");
    }
    /* ticket_todo_check: the contractor exists, the project (if any) is in scope */
    sqlite3_stmt *st;
    int rc = stmt(m, "SELECT EXISTS (SELECT 1 FROM contractors WHERE id = ?1)", &st);
    if (rc != CL_OK) return rc;
    sqlite3_bind_int64(st, 1, contractor);
    rc = step(m, st);
    bool ok = rc == 1 && sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    if (rc < 0) return rc;
    if (ok && q->project_id != 0 && !is_contractor(&w)) {
        rc = project_known(m, q->project_id, &ok);
        if (rc != CL_OK) return rc;
    }
    if (!ok)
        return fail(m, CL_ENOTFOUND,
                    q->project_id ? "no such contractor or project" : "no such contractor");
    return list_stream(m, todo_sql, contractor, q->project_id, on_page, arg);
}

/* cl_ticket_toverify_list on the mirror. */
static int toverify_list(cl_mirror_t *m, const Closeloop__ToVerifyListRequest *q,
                         int (*on_page)(void *, const ProtobufCMessage *), void *arg) {
    if (q->project_id <= 0) return fail(m, CL_EINVAL, "project_id is required");
    who_t w;
    who_read(m, &w);
    bool ok = true;
    if (!is_contractor(&w)) { /* ticket_project_check */
        int rc = project_known(m, q->project_id, &ok);
        if (rc != CL_OK) return rc;
    }
    if (!ok) return fail(m, CL_ENOTFOUND, "no such project");
    return list_stream(m, toverify_sql, q->project_id, is_contractor(&w) ? w.contractor_id : 0,
                       on_page, arg);
}

/* ---- a ticket's history (ticket.sql: ticket_show, _events, _photos) ------------------- */

#define TICKET_REF_WHERE "(t.id = ?1 OR (t.project_id = ?2 AND t.number = ?3))"

static void bind_ref(sqlite3_stmt *st, const Closeloop__TicketRef *r) {
    if (r->id && *r->id) {
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_null(st, 2);
        sqlite3_bind_null(st, 3);
    } else {
        sqlite3_bind_null(st, 1);
        sqlite3_bind_int64(st, 2, r->project_id);
        sqlite3_bind_int64(st, 3, r->number);
    }
}

static bool uuid_text(const char *s) {
    if (strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
    }
    return true;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

static int ticket_show(cl_mirror_t *m, const Closeloop__TicketShowRequest *q,
                       ProtobufCMessage **reply) {
    const Closeloop__TicketRef *r = q->ticket;
    if (!r || (!*r->id && (r->project_id <= 0 || r->number == 0)))
        return fail(m, CL_EINVAL, "name the ticket by its id, or by project_id and number");
    if (*r->id && !uuid_text(r->id)) return fail(m, CL_EINVAL, "the ticket id must be a UUID");
    char id[37] = "";
    Closeloop__TicketRef ref = *r;
    if (*r->id) { /* PostgreSQL's uuid takes either case; the mirror holds lower case */
        for (int i = 0; i < 36; i++)
            id[i] = (char)tolower((unsigned char)r->id[i]);
        ref.id = id;
    }
    sqlite3_stmt *st = NULL, *ev = NULL, *ph = NULL;
    arena_t a = {0};
    Closeloop__TicketEvent *events = NULL, **eptr = NULL;
    ProtobufCBinaryData *photos = NULL;
    size_t nev = 0, nph = 0, cap_ev = 0, cap_ph = 0;
    int rc = stmt(m,
                  "SELECT tr.*, i.inspector, coalesce(i.inspected_on, '')"
                  "  FROM ticket_rows tr JOIN inspection_items i ON i.id = tr.id"
                  " WHERE (tr.id = ?1 OR (tr.project_id = ?2 AND tr.number = ?3))",
                  &st);
    if (rc == CL_OK)
        rc = stmt(m,
                  "SELECT cl_epoch_ms(e.at), e.actor, e.action, coalesce(e.from_state, ''),"
                  "       e.to_state, e.note, coalesce(e.contractor_id, 0),"
                  "       coalesce(k.name, '')"
                  "  FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id"
                  "  LEFT JOIN contractors k ON k.id = e.contractor_id"
                  " WHERE " TICKET_REF_WHERE " ORDER BY e.id",
                  &ev);
    if (rc == CL_OK)
        rc = stmt(m,
                  "SELECT ph.sha256 FROM tickets t JOIN item_photos ph ON ph.item_id = t.id"
                  " WHERE " TICKET_REF_WHERE " ORDER BY lower(ph.sha256)",
                  &ph);
    if (rc != CL_OK) goto out;
    bind_ref(st, &ref);
    bind_ref(ev, &ref);
    bind_ref(ph, &ref);
    Closeloop__TicketHistory h = CLOSELOOP__TICKET_HISTORY__INIT;
    Closeloop__Ticket t;
    int s = step(m, st), rows = 0;
    if (s == 1) {
        ticket_fill(&t, st, 0, &a);
        h.ticket = &t;
        h.inspector = keep_col(&a, st, TR__N);
        h.inspected_on = keep_col(&a, st, TR__N + 1);
        rows = 1 + (step(m, st) == 1); /* the server wants exactly one */
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    if (rows != 1) {
        rc = fail(m, CL_ENOTFOUND, "no such ticket");
        goto out;
    }
    while ((s = step(m, ev)) == 1) {
        Closeloop__TicketEvent *grown = grow(m, events, &cap_ev, nev, sizeof *events, 16);
        if (!grown) {
            rc = CL_ENOMEM;
            goto out;
        }
        events = grown;
        Closeloop__TicketEvent *e = &events[nev++];
        closeloop__ticket_event__init(e);
        e->at_ms = (uint64_t)sqlite3_column_int64(ev, 0);
        e->actor = keep_col(&a, ev, 1);
        e->action = (Closeloop__TicketAction)cl_ticket_action_parse(col_text(ev, 2));
        e->from_state = (Closeloop__TicketState)cl_ticket_state_parse(col_text(ev, 3));
        e->to_state = (Closeloop__TicketState)cl_ticket_state_parse(col_text(ev, 4));
        e->note = keep_col(&a, ev, 5);
        e->contractor_id = sqlite3_column_int64(ev, 6);
        e->contractor_name = keep_col(&a, ev, 7);
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    while ((s = step(m, ph)) == 1) {
        const char *hex = col_text(ph, 0);
        size_t hl = strlen(hex);
        ProtobufCBinaryData *grown = grow(m, photos, &cap_ph, nph, sizeof *photos, 8);
        if (!grown) {
            rc = CL_ENOMEM;
            goto out;
        }
        photos = grown;
        /* bytea as hex text in the mirror: the 32 bytes themselves on the wire */
        char *bytes = arena_keep(&a, hex); /* hl/2 <= hl bytes: decoded in place */
        size_t n = 0;
        for (size_t i = 0; i + 1 < hl && !a.oom; i += 2)
            bytes[n++] = (char)(hexval(hex[i]) << 4 | hexval(hex[i + 1]));
        photos[nph].data = (uint8_t *)bytes;
        photos[nph].len = a.oom ? 0 : n;
        nph++;
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    if (a.oom) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    eptr = calloc(nev + 1, sizeof *eptr);
    if (!eptr) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nev; i++)
        eptr[i] = &events[i];
    h.n_events = nev;
    h.events = eptr;
    h.n_photo_sha256 = nph;
    h.photo_sha256 = photos;
    rc = own_copy(m, CL_MSG_TICKET_HISTORY, &h.base, reply);
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ev);
    sqlite3_finalize(ph);
    free(events);
    free(eptr);
    free(photos);
    arena_free(&a);
    return rc;
}

/* ---- the daily report (report.sql: report_daily_*) ----------------------------------- */

/* report_daily_summary: its counts in DailyReport's order, then units_with_items. The
 * CTE prj is the project when the mirror holds it (the user's scope). The day's events are
 * first narrowed on their text (ISO, written in the server's zone: a day either side
 * covers any offset) so that ticket_events_day is used, then taken by their local day. */
static const char daily_summary_sql[] =
    "WITH prj AS (SELECT p.id, p.name FROM projects p WHERE p.id = ?1),"
    " ho AS (SELECT rec.scheduled_on, rec.inspected_on, rec.outcome"
    "          FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id"
    "          JOIN prj ON rec.project_id = prj.id"
    "         WHERE r.kind = 'handover' AND (rec.scheduled_on = ?2 OR rec.inspected_on = ?2)),"
    " day AS (SELECT rec.unit_id FROM inspection_records rec JOIN prj ON rec.project_id = prj.id"
    "          WHERE rec.inspected_on = ?2"
    "         UNION SELECT i.unit_id FROM inspection_items i JOIN prj ON i.project_id = prj.id"
    "          WHERE i.inspected_on = ?2),"
    " ev AS (SELECT e.action, e.to_state FROM ticket_events e JOIN prj ON e.project_id = prj.id"
    "         WHERE e.at >= date(?2, '-1 day') AND e.at < date(?2, '+2 day')"
    "           AND cl_local_day(e.at) = ?2),"
    " tk AS (SELECT CASE WHEN t.deadline IS NULL THEN 'no_deadline'"
    "                    WHEN t.state IN ('closed', 'nofix')"
    "                         AND cl_local_day(t.closed_at) > t.deadline THEN 'closed_late'"
    "                    WHEN t.state IN ('closed', 'nofix') THEN 'closed_in_time'"
    "                    WHEN cl_today() > t.deadline THEN 'overdue_open'"
    "                    ELSE 'in_time_open' END AS c"
    "          FROM tickets t JOIN prj ON t.project_id = prj.id),"
    " dsp AS (SELECT count(*) AS waiting, min(t.found_on) AS oldest"
    "          FROM tickets t JOIN prj ON t.project_id = prj.id WHERE t.state = 'dispatch')"
    " SELECT (SELECT name FROM prj),"
    "  (SELECT count(*) FROM ho WHERE scheduled_on = ?2),"
    "  (SELECT count(*) FROM ho WHERE inspected_on = ?2),"
    "  (SELECT count(*) FROM ho WHERE inspected_on = ?2"
    "                           AND outcome IN ('accepted', 'accepted_with_items')),"
    "  (SELECT count(*) FROM ho WHERE inspected_on = ?2 AND outcome = 'accepted_with_items'),"
    "  (SELECT count(*) FROM ho WHERE inspected_on = ?2 AND outcome = 'not_taken_over'),"
    "  (SELECT count(*) FROM inspection_items i JOIN prj ON i.project_id = prj.id"
    "    WHERE i.inspected_on = ?2),"
    "  (SELECT count(*) FROM ev WHERE to_state IN ('closed', 'nofix')),"
    "  (SELECT count(*) FROM ev WHERE action = 'verify_fail'),"
    "  (SELECT count(*) FROM tk WHERE c = 'no_deadline'),"
    "  (SELECT count(*) FROM tk WHERE c = 'overdue_open'),"
    "  (SELECT count(*) FROM tk WHERE c = 'in_time_open'),"
    "  (SELECT count(*) FROM tk WHERE c = 'closed_late'),"
    "  (SELECT count(*) FROM tk WHERE c = 'closed_in_time'),"
    "  (SELECT waiting FROM dsp),"
    "  (SELECT max(coalesce(cl_days(cl_today(), oldest), 0), 0) FROM dsp),"
    "  (SELECT count(DISTINCT unit_id) FROM day)";

/* NULL reasons last, as PostgreSQL orders them. */
static const char daily_reasons_sql[] =
    "SELECT rec.not_taken_reason, count(*)"
    "  FROM inspection_records rec JOIN inspection_rounds r ON r.id = rec.round_id"
    " WHERE rec.project_id = ?1 AND r.kind = 'handover'"
    "   AND rec.inspected_on = ?2 AND rec.outcome = 'not_taken_over'"
    " GROUP BY rec.not_taken_reason"
    " ORDER BY 2 DESC, rec.not_taken_reason IS NULL, rec.not_taken_reason LIMIT 100";

static const char daily_contractors_sql[] =
    "SELECT t.contractor_id, k.name, count(*),"
    "       sum(t.deadline IS NOT NULL AND t.deadline < cl_today()),"
    "       sum(t.rework_count > 0)"
    "  FROM tickets t JOIN contractors k ON k.id = t.contractor_id"
    " WHERE t.project_id = ?1 AND t.state = 'open'"
    " GROUP BY t.contractor_id, k.name ORDER BY 3 DESC, k.name IS NULL, k.name";

static const char daily_oldest_sql[] =
    "SELECT tr.* FROM ticket_rows tr"
    " WHERE tr.id IN (SELECT t0.id FROM tickets t0"
    "                  WHERE t0.project_id = ?1"
    "                    AND t0.state IN ('dispatch', 'open', 'repaired')"
    "                  ORDER BY t0.found_on, t0.number LIMIT 10)"
    " ORDER BY tr.found_on, tr.number";

_Static_assert(RD_OLDEST == 10 && RD_REASONS == 100, "the statements' LIMITs");

static bool date_text(const char *s) {
    int64_t d;
    return date_days(s, &d);
}

static int daily_report(cl_mirror_t *m, const Closeloop__DailyReportRequest *q,
                        ProtobufCMessage **reply) {
    who_t w;
    who_read(m, &w);
    if (is_contractor(&w)) return fail(m, CL_EFORBIDDEN, RD_FORBIDDEN);
    if (q->project_id <= 0) return fail(m, CL_EINVAL, "project_id is required");
    if (!q->date || !date_text(q->date))
        return fail(m, CL_EINVAL, "date must be a date written YYYY-MM-DD");
    sqlite3_stmt *sum = NULL, *rs = NULL, *cs = NULL, *os = NULL;
    arena_t a = {0};
    Closeloop__ReasonCount *reasons = calloc(RD_REASONS, sizeof *reasons);
    Closeloop__ReasonCount **rp = calloc(RD_REASONS, sizeof *rp);
    Closeloop__Ticket *oldest = calloc(RD_OLDEST, sizeof *oldest);
    Closeloop__Ticket **op = calloc(RD_OLDEST, sizeof *op);
    Closeloop__ContractorCount *cons = NULL, **cp = NULL;
    size_t nr = 0, nc = 0, no = 0, cap_c = 0;
    int rc = CL_OK, s;
    if (!reasons || !rp || !oldest || !op) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = stmt(m, daily_summary_sql, &sum)) != CL_OK ||
        (rc = stmt(m, daily_reasons_sql, &rs)) != CL_OK ||
        (rc = stmt(m, daily_contractors_sql, &cs)) != CL_OK ||
        (rc = stmt(m, daily_oldest_sql, &os)) != CL_OK)
        goto out;
    sqlite3_stmt *all[] = {sum, rs, cs, os};
    for (size_t i = 0; i < 4; i++) {
        sqlite3_bind_int64(all[i], 1, q->project_id);
        if (sqlite3_bind_parameter_count(all[i]) >= 2)
            sqlite3_bind_text(all[i], 2, q->date, -1, SQLITE_STATIC);
    }
    if ((s = step(m, sum)) != 1) {
        rc = s < 0 ? s : fail(m, CL_EIO, "mirror: the daily summary has no row");
        goto out;
    }
    if (sqlite3_column_type(sum, 0) == SQLITE_NULL) {
        rc = fail(m, CL_ENOTFOUND, "no such project");
        goto out;
    }
    Closeloop__DailyReport d = CLOSELOOP__DAILY_REPORT__INIT;
    Closeloop__TimelinessCounts tc = CLOSELOOP__TIMELINESS_COUNTS__INIT;
    d.project_id = q->project_id;
    d.project_name = keep_col(&a, sum, 0);
    d.date = q->date;
    uint32_t *counts[] = {
        &d.units_scheduled,      &d.units_inspected,
        &d.units_accepted,       &d.units_accepted_with_items,
        &d.units_not_taken_over, &d.items_raised,
        &d.tickets_closed,       &d.reworks,
        &tc.no_deadline,         &tc.overdue_open,
        &tc.in_time_open,        &tc.closed_late,
        &tc.closed_in_time,      &d.dispatch_waiting,
        &d.dispatch_oldest_days,
    };
    int ncounts = (int)(sizeof counts / sizeof counts[0]);
    for (int i = 0; i < ncounts; i++)
        *counts[i] = (uint32_t)sqlite3_column_int64(sum, 1 + i);
    int64_t units_day = sqlite3_column_int64(sum, 1 + ncounts);
    d.items_per_unit = units_day > 0 ? (double)d.items_raised / (double)units_day : 0.0;
    d.timeliness = &tc;
    while ((s = step(m, rs)) == 1 && nr < RD_REASONS) {
        closeloop__reason_count__init(&reasons[nr]);
        reasons[nr].reason = keep_col(&a, rs, 0);
        reasons[nr].count = (uint32_t)sqlite3_column_int64(rs, 1);
        rp[nr] = &reasons[nr];
        nr++;
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    while ((s = step(m, cs)) == 1) {
        Closeloop__ContractorCount *grown = grow(m, cons, &cap_c, nc, sizeof *cons, 16);
        if (!grown) {
            rc = CL_ENOMEM;
            goto out;
        }
        cons = grown;
        Closeloop__ContractorCount *c = &cons[nc++];
        closeloop__contractor_count__init(c);
        c->contractor_id = sqlite3_column_int64(cs, 0);
        c->contractor_name = keep_col(&a, cs, 1);
        c->open = (uint32_t)sqlite3_column_int64(cs, 2);
        c->overdue = (uint32_t)sqlite3_column_int64(cs, 3);
        c->reworks = (uint32_t)sqlite3_column_int64(cs, 4);
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    while ((s = step(m, os)) == 1 && no < RD_OLDEST) {
        ticket_fill(&oldest[no], os, 0, &a);
        op[no] = &oldest[no];
        no++;
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    if (a.oom || !(cp = calloc(nc + 1, sizeof *cp))) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nc; i++)
        cp[i] = &cons[i];
    d.n_not_taken_reasons = nr;
    d.not_taken_reasons = rp;
    d.n_open_by_contractor = nc;
    d.open_by_contractor = cp;
    d.n_oldest_open = no;
    d.oldest_open = op;
    rc = own_copy(m, CL_MSG_DAILY_REPORT, &d.base, reply);
out:
    sqlite3_finalize(sum);
    sqlite3_finalize(rs);
    sqlite3_finalize(cs);
    sqlite3_finalize(os);
    free(reasons);
    free(rp);
    free(oldest);
    free(op);
    free(cons);
    free(cp);
    arena_free(&a);
    return rc;
}

/* ---- readiness (report.sql: report_ready_summary, report_ready_blockers) -------------- */

/* cl_building_named (migration 010): the exact name, else the one building whose name
 * without its building word is the asked name's (btrim'd) without one. name "" when none. */
static int building_named(cl_mirror_t *m, int64_t project, const char *asked, char *name,
                          size_t cap) {
    name[0] = '\0';
    sqlite3_stmt *st;
    int rc = stmt(m, "SELECT name FROM buildings WHERE project_id = ?1 AND name = ?2", &st);
    if (rc != CL_OK) return rc;
    sqlite3_bind_int64(st, 1, project);
    sqlite3_bind_text(st, 2, asked, -1, SQLITE_STATIC);
    int s = step(m, st);
    if (s == 1) snprintf(name, cap, "%s", col_text(st, 0));
    sqlite3_finalize(st);
    if (s != 0) return s < 0 ? s : CL_OK;
    rc = stmt(m,
              "SELECT count(*), min(name) FROM buildings"
              " WHERE project_id = ?1 AND cl_building_key(name) = cl_building_key(trim(?2, ' '))",
              &st);
    if (rc != CL_OK) return rc;
    sqlite3_bind_int64(st, 1, project);
    sqlite3_bind_text(st, 2, asked, -1, SQLITE_STATIC);
    s = step(m, st);
    if (s == 1 && sqlite3_column_int64(st, 0) == 1) snprintf(name, cap, "%s", col_text(st, 1));
    sqlite3_finalize(st);
    return s < 0 ? s : CL_OK;
}

/* cl_utf8_clip (server/engine/sqlutil.c): s cut on a character boundary to fit n bytes. */
static const char *clip(char *buf, size_t n, const char *s) {
    size_t len = strlen(s);
    if (len < n) return s;
    size_t cut = n - 4;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(buf, s, cut);
    memcpy(buf + cut, "...", 4);
    return buf;
}

static int readiness(cl_mirror_t *m, const Closeloop__ReadinessRequest *q,
                     ProtobufCMessage **reply) {
    who_t w;
    who_read(m, &w);
    if (is_contractor(&w)) return fail(m, CL_EFORBIDDEN, RD_FORBIDDEN);
    if (q->project_id <= 0) return fail(m, CL_EINVAL, "project_id is required");
    if (!q->building || !*q->building) return fail(m, CL_EINVAL, "building is required");
    if (cl_utf8_chars(q->building) > CL_LIM_BUILDING_CHARS) {
        cl_mirror_fail(m, "building is too long (at most %d characters)", CL_LIM_BUILDING_CHARS);
        return CL_EINVAL;
    }
    bool known;
    int rc = project_known(m, q->project_id, &known);
    if (rc != CL_OK) return rc;
    if (!known) return fail(m, CL_ENOTFOUND, "no such project");
    char building[1024];
    rc = building_named(m, q->project_id, q->building, building, sizeof building);
    if (rc != CL_OK) return rc;
    sqlite3_stmt *st = NULL;
    arena_t a = {0};
    Closeloop__Ticket *ts = NULL, **tp = NULL;
    if (!*building) { /* the sentence lists the project's buildings to pick from */
        char all[4096] = "", clip1[128], clip2[600];
        size_t used = 0;
        if ((rc = stmt(m, "SELECT name FROM buildings WHERE project_id = ?1 ORDER BY name LIMIT 50",
                       &st)) != CL_OK)
            return rc;
        sqlite3_bind_int64(st, 1, q->project_id);
        int s;
        while ((s = step(m, st)) == 1) {
            int n =
                snprintf(all + used, sizeof all - used, "%s%s", used ? ", " : "", col_text(st, 0));
            if (n < 0 || (size_t)n >= sizeof all - used) break; /* clipped below anyway */
            used += (size_t)n;
        }
        sqlite3_finalize(st);
        if (s < 0) return s;
        cl_mirror_fail(m, "no such building \"%s\" in this project%s%s",
                       clip(clip1, sizeof clip1, q->building),
                       *all ? ": its buildings are " : " (it has no buildings)",
                       clip(clip2, sizeof clip2, all));
        return CL_ENOTFOUND;
    }
    Closeloop__Readiness rd = CLOSELOOP__READINESS__INIT;
    rd.project_id = q->project_id;
    rd.building = building;
    if ((rc = stmt(m,
                   "SELECT count(*), coalesce(sum(state = 'closed'), 0),"
                   "       coalesce(sum(state = 'nofix'), 0)"
                   "  FROM ticket_rows WHERE project_id = ?1 AND building = ?2"
                   "   AND round IN ('mock1', 'mock2', 'mock3')",
                   &st)) != CL_OK)
        goto out;
    sqlite3_bind_int64(st, 1, q->project_id);
    sqlite3_bind_text(st, 2, building, -1, SQLITE_STATIC);
    int s = step(m, st);
    if (s != 1) {
        rc = s < 0 ? s : fail(m, CL_EIO, "mirror: the readiness summary has no row");
        goto out;
    }
    rd.items = (uint32_t)sqlite3_column_int64(st, 0);
    rd.closed = (uint32_t)sqlite3_column_int64(st, 1);
    rd.nofix = (uint32_t)sqlite3_column_int64(st, 2);
    rd.ready = rd.items == rd.closed + rd.nofix;
    sqlite3_finalize(st);
    st = NULL;
    /* The server sends as many of the 500 as fit in its frame (12 MiB by default): far
     * more than 500 tickets' worth, so all of them. */
    if ((rc = stmt(m,
                   "SELECT tr.* FROM ticket_rows tr"
                   " WHERE tr.project_id = ?1 AND tr.building = ?2"
                   "   AND tr.round IN ('mock1', 'mock2', 'mock3')"
                   "   AND tr.state NOT IN ('closed', 'nofix')"
                   " ORDER BY tr.found_on, tr.number LIMIT 500",
                   &st)) != CL_OK)
        goto out;
    _Static_assert(RD_BLOCKERS == 500, "the statement's LIMIT");
    sqlite3_bind_int64(st, 1, q->project_id);
    sqlite3_bind_text(st, 2, building, -1, SQLITE_STATIC);
    ts = calloc(RD_BLOCKERS, sizeof *ts);
    tp = calloc(RD_BLOCKERS, sizeof *tp);
    if (!ts || !tp) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = 0;
    while ((s = step(m, st)) == 1 && n < RD_BLOCKERS) {
        ticket_fill(&ts[n], st, 0, &a);
        tp[n] = &ts[n];
        n++;
    }
    if (s < 0) {
        rc = s;
        goto out;
    }
    if (a.oom) {
        rc = fail(m, CL_ENOMEM, "out of memory");
        goto out;
    }
    rd.n_blockers = n;
    rd.blockers = tp;
    rc = own_copy(m, CL_MSG_READINESS, &rd.base, reply);
out:
    sqlite3_finalize(st);
    free(ts);
    free(tp);
    arena_free(&a);
    return rc;
}

/* ---- the calls ----------------------------------------------------------------------- */

int cl_mirror_call(cl_mirror_t *m, uint16_t type, const ProtobufCMessage *req, uint16_t expect_type,
                   ProtobufCMessage **reply) {
    *reply = NULL;
    int rc = read_prepare(m);
    if (rc != CL_OK) return rc;
    switch (type) {
    case CL_MSG_TICKET_SHOW_REQ:
        if (expect_type != CL_MSG_TICKET_HISTORY) break;
        return ticket_show(m, (const Closeloop__TicketShowRequest *)req, reply);
    case CL_MSG_DAILY_REPORT_REQ:
        if (expect_type != CL_MSG_DAILY_REPORT) break;
        return daily_report(m, (const Closeloop__DailyReportRequest *)req, reply);
    case CL_MSG_READINESS_REQ:
        if (expect_type != CL_MSG_READINESS) break;
        return readiness(m, (const Closeloop__ReadinessRequest *)req, reply);
    default: break;
    }
    cl_mirror_fail(m, "the mirror cannot answer a %s offline", cl_msg_type_name(type));
    return CL_EUNKNOWNTYPE;
}

int cl_mirror_call_stream(cl_mirror_t *m, uint16_t type, const ProtobufCMessage *req,
                          uint16_t page_type,
                          int (*on_page)(void *arg, const ProtobufCMessage *page), void *arg) {
    int rc = read_prepare(m);
    if (rc != CL_OK) return rc;
    if (page_type == CL_MSG_TICKET_PAGE) {
        if (type == CL_MSG_TODO_LIST_REQ)
            return todo_list(m, (const Closeloop__TodoListRequest *)req, on_page, arg);
        if (type == CL_MSG_TOVERIFY_LIST_REQ)
            return toverify_list(m, (const Closeloop__ToVerifyListRequest *)req, on_page, arg);
    }
    cl_mirror_fail(m, "the mirror cannot answer a %s offline", cl_msg_type_name(type));
    return CL_EUNKNOWNTYPE;
}

/* ---- finding and opening a mirror to read -------------------------------------------- */

int cl_mirror_find(const char *server, char *out, size_t cap) {
    char probe[4096];
    /* The default path of a user named "*": its directory and the name's two ends. */
    if (cl_mirror_default_path("\x01", server, probe, sizeof probe) != CL_OK) return CL_EINVAL;
    char *slash = strrchr(probe, '/');
    char *mark = strchr(probe, '\x01');
    if (!slash || !mark) return CL_EINVAL;
    *slash = '\0';
    const char *dir = probe;
    const char *prefix = slash + 1; /* "mirror-" */
    size_t plen = (size_t)(mark - prefix);
    const char *suffix = mark + 1; /* "@host_port.sqlite" */
    size_t slen = strlen(suffix);
    DIR *dp = opendir(dir);
    if (!dp) return CL_ENOTFOUND;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t n = strlen(e->d_name);
        if (n <= plen + slen || strncmp(e->d_name, prefix, plen) != 0 ||
            strcmp(e->d_name + n - slen, suffix) != 0)
            continue;
        if (++found == 1 && snprintf(out, cap, "%s/%s", dir, e->d_name) >= (int)cap) found = 99;
    }
    closedir(dp);
    return found == 0 ? CL_ENOTFOUND : found == 1 ? CL_OK : CL_EINVAL;
}

/* Whether the mirror at path records session tag tag (read-only, no schema check). */
static bool mirror_has_tag(const char *path, const char *tag) {
    sqlite3 *db = NULL;
    bool same = false;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM sync_meta WHERE key = 'session_tag'", -1, &st,
                               NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            same = strcmp((const char *)sqlite3_column_text(st, 0), tag) == 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return same;
}

int cl_mirror_find_for(const char *server, const char *tag, char *out, size_t cap) {
    int rc = cl_mirror_find(server, out, cap);
    if (rc != CL_EINVAL || !tag || !*tag) return rc;
    char probe[4096];
    if (cl_mirror_default_path("\x01", server, probe, sizeof probe) != CL_OK) return CL_EINVAL;
    char *slash = strrchr(probe, '/');
    char *mark = strchr(probe, '\x01');
    if (!slash || !mark) return CL_EINVAL;
    *slash = '\0';
    const char *prefix = slash + 1;
    size_t plen = (size_t)(mark - prefix);
    const char *suffix = mark + 1;
    size_t slen = strlen(suffix);
    DIR *dp = opendir(probe);
    if (!dp) return CL_ENOTFOUND;
    int found = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(dp))) {
        size_t n = strlen(e->d_name);
        if (n <= plen + slen || strncmp(e->d_name, prefix, plen) != 0 ||
            strcmp(e->d_name + n - slen, suffix) != 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", probe, e->d_name) >= (int)sizeof path) continue;
        if (!mirror_has_tag(path, tag)) continue;
        if (++found == 1 && snprintf(out, cap, "%s", path) >= (int)cap) found = 99;
    }
    closedir(dp);
    return found == 1 ? CL_OK : CL_EINVAL;
}

int cl_mirror_open_existing(const char *path, const char *server, cl_mirror_t **out, char *err,
                            size_t errlen) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "no mirror at %s", path);
        return CL_ENOTFOUND;
    }
    /* Its owner, as the file says, so that cl_mirror_open checks the rest (schema, server). */
    sqlite3 *db = NULL;
    char user[256] = "";
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM sync_meta WHERE key = 'username'", -1, &st,
                               NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(user, sizeof user, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    if (!*user) {
        snprintf(err, errlen, "%s is not a closeloop mirror", path);
        return CL_EINVAL;
    }
    return cl_mirror_open(path, user, server, out, err, errlen);
}

int cl_mirror_whoami(cl_mirror_t *m, ProtobufCMessage **out) {
    *out = NULL;
    char user[256] = "";
    who_t w;
    who_read(m, &w);
    if (!cl_mirror_meta(m, "username", user, sizeof user)) user[0] = '\0';
    Closeloop__WhoAmI me = CLOSELOOP__WHO_AM_I__INIT;
    me.user_id = cl_mirror_meta_int(m, "user_id", 0);
    me.username = user;
    me.role = (Closeloop__Role)cl_domain_parse(CL_DOM_ROLE, w.role);
    me.contractor_id = w.contractor_id;
    char name[512] = "";
    if (w.contractor_id) {
        sqlite3_stmt *st;
        int rc = stmt(m, "SELECT name FROM contractors WHERE id = ?1", &st);
        if (rc != CL_OK) return rc;
        sqlite3_bind_int64(st, 1, w.contractor_id);
        int s = step(m, st);
        if (s == 1) snprintf(name, sizeof name, "%s", col_text(st, 0));
        sqlite3_finalize(st);
        if (s < 0) return s;
    }
    me.contractor_name = name;
    return own_copy(m, CL_MSG_WHOAMI, &me.base, out);
}
