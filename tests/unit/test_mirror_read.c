/* test_mirror_read.c - offline reads (client/lib/cloop_mirror_read.c) on a mirror filled
 * here row by row: the messages built must be the server's, field by field, for the cases
 * the online/offline integration test (test_offline_reads.sh) cannot pin down in one
 * run: PostgreSQL's epoch-ms rounding, a ticket closed late by its local day but in time
 * by UTC's, age in days, keyset pages of 500 in (found_on, number, id) order across
 * projects, building names said the short way (cl_building_named), reasons ordered by
 * count with NULL last, a contractor's own list and its refusals, photo hashes, and
 * finding and opening an existing mirror without creating one.
 *
 * Runs in Asia/Shanghai (TZ set first), like a city company's desktop. Each test has its
 * own mirror file in a scratch directory (CL_TEST_TMP or /tmp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cloop_mirror.h"
#include "msg.h"

#define SERVER "127.0.0.1:7443"

static char scratch[512];

/* A new mirror of user "u" on SERVER, under the scratch directory. */
static cl_mirror_t *mirror_new(const char *name) {
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s.sqlite", scratch, name);
    unlink(path);
    cl_mirror_t *m = NULL;
    assert_int_equal(cl_mirror_open(path, "u", SERVER, &m, err, sizeof err), CL_OK);
    return m;
}

static void sql(cl_mirror_t *m, const char *fmt, ...) {
    char q[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    char *msg = NULL;
    int rc = sqlite3_exec(cl_mirror_db(m), q, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fail_msg("%s: %s", q, msg);
}

/* today +/- days as YYYY-MM-DD, local */
static void day(int delta, char out[16]) {
    time_t t = time(NULL) + (time_t)delta * 86400;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The organisation every test uses: project 1 万科城 (1栋, 2号楼, 2栋, 3 座, 5号楼) and
 * project 2 翡翠公园 (one building); contractors 7 东方雨虹 and 8 中建三局; rounds 11
 * (mock1, project 1), 12 (handover, project 1), 21 (mock1, project 2). */
static void org(cl_mirror_t *m) {
    sql(m, "INSERT INTO projects VALUES (1, 1, '万科城', '深圳', NULL, 'WK', 1),"
           " (2, 1, '翡翠公园', '深圳', NULL, 'FC', 1);"
           "INSERT INTO buildings VALUES (1, 1, '1栋', 30, 1), (2, 1, '2号楼', 30, 1),"
           " (3, 1, '2栋', 30, 1), (4, 1, '3 座', 30, 1), (5, 2, 'A座', 20, 1),"
           " (6, 1, '5号楼', 30, 1);"
           "INSERT INTO units VALUES (101, 1, 1, '1-101', 1, NULL, 1), (201, 2, 1, '2-101', 1,"
           " NULL, 1), (301, 3, 1, '2b-101', 1, NULL, 1), (401, 4, 1, '3-101', 1, NULL, 1),"
           " (501, 5, 2, 'A-101', 1, NULL, 1);"
           "INSERT INTO contractors VALUES (7, '东方雨虹', 1), (8, '中建三局', 1);"
           "INSERT INTO trades VALUES ('waterproofing', '防水', 'Waterproofing'),"
           " ('civil', '土建', 'Civil');"
           "INSERT INTO inspection_rounds VALUES (11, 1, 'mock1', NULL, NULL, '', 'open', 1),"
           " (12, 1, 'handover', NULL, NULL, '', 'open', 1),"
           " (21, 2, 'mock1', NULL, NULL, '', 'open', 1);");
}

/* An item and its ticket: id, project, round, unit, number, state, contractor (0: none),
 * category, deadline (NULL: none), found_on, raised_at, closed_at (or NULL). */
static void ticket(cl_mirror_t *m, const char *id, int project, int round, int unit, int number,
                   const char *state, int contractor, const char *deadline, const char *found,
                   const char *raised, const char *closed) {
    char con[16] = "NULL";
    if (contractor) snprintf(con, sizeof con, "%d", contractor);
    sql(m,
        "INSERT INTO inspection_items VALUES ('%s', NULL, %d, %d, %d, '卫生间', 'waterproofing',"
        " '渗水 %d', 'minor', NULL, '%s', '王工', NULL, NULL, '%s', 1);"
        "INSERT INTO tickets VALUES ('%s', %d, %d, '%s', %s, 'waterproofing', 'minor', %s%s%s, 0,"
        " '', '%s', %s%s%s, '%s', '%s', 3)",
        id, project, unit, round, number, found, raised, id, project, number, state, con,
        deadline ? "'" : "", deadline ? deadline : "NULL", deadline ? "'" : "", raised,
        closed ? "'" : "", closed ? closed : "NULL", closed ? "'" : "", found, raised);
}

static Closeloop__TicketHistory *show(cl_mirror_t *m, const char *id, int *rc) {
    Closeloop__TicketRef ref = CLOSELOOP__TICKET_REF__INIT;
    ref.id = (char *)id;
    Closeloop__TicketShowRequest q = CLOSELOOP__TICKET_SHOW_REQUEST__INIT;
    q.ticket = &ref;
    ProtobufCMessage *r = NULL;
    *rc = cl_mirror_call(m, CL_MSG_TICKET_SHOW_REQ, &q.base, CL_MSG_TICKET_HISTORY, &r);
    return (Closeloop__TicketHistory *)r;
}

/* PostgreSQL's (extract(epoch FROM ts) * 1000)::bigint rounds half away from zero; the
 * days of a ticket are local days. */
static void test_times_and_days(void **state) {
    (void)state;
    cl_mirror_t *m = mirror_new("times");
    org(m);
    char d3[16];
    day(-3, d3);
    /* 2026-12-05T01:30:00Z = 1796434200 s */
    ticket(m, "00000000-0000-4000-8000-000000000001", 1, 11, 101, 1, "closed", 7, "2026-11-30", d3,
           "2026-12-05T09:30:00.0015+08:00", "2026-11-30T23:30:00+00:00");
    ticket(m, "00000000-0000-4000-8000-000000000002", 1, 11, 101, 2, "nofix", 7, "2026-12-01", d3,
           "2026-12-05T01:30:00.001499Z", "2026-11-30T23:30:00+00:00");
    int rc;
    Closeloop__TicketHistory *h = show(m, "00000000-0000-4000-8000-000000000001", &rc);
    assert_int_equal(rc, CL_OK);
    assert_non_null(h->ticket);
    assert_int_equal(h->ticket->raised_at_ms, UINT64_C(1796434200002)); /* 1.5 ms -> 2 */
    /* closed 2026-12-01 07:30 in Shanghai, deadline 2026-11-30: late (UTC's day is not) */
    assert_int_equal(h->ticket->timeliness, CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_LATE);
    assert_int_equal(h->ticket->age_days, 3);
    assert_string_equal(h->ticket->found_on, d3);
    assert_string_equal(h->ticket->deadline, "2026-11-30");
    assert_string_equal(h->ticket->project_name, "万科城");
    assert_string_equal(h->ticket->building, "1栋");
    assert_string_equal(h->ticket->category_name, "防水");
    assert_string_equal(h->inspector, "王工");
    assert_string_equal(h->inspected_on, d3);
    cl_msg_free(&h->base);
    h = show(m, "00000000-0000-4000-8000-000000000002", &rc);
    assert_int_equal(rc, CL_OK);
    assert_int_equal(h->ticket->raised_at_ms, UINT64_C(1796434200001)); /* 1.499 ms -> 1 */
    assert_int_equal(h->ticket->timeliness, CLOSELOOP__TIMELINESS__TIMELINESS_CLOSED_IN_TIME);
    cl_msg_free(&h->base);
    /* upper case as PostgreSQL's uuid takes it; a missing ticket is "no such ticket" */
    h = show(m, "00000000-0000-4000-8000-00000000000A", &rc);
    assert_int_equal(rc, CL_ENOTFOUND);
    assert_null(h);
    assert_string_equal(cl_mirror_error(m), "no such ticket");
    cl_mirror_close(m);
}

/* The history: events oldest first with '' for no from-state, photos as their 32 bytes in
 * hash order. */
static void test_show_events_photos(void **state) {
    (void)state;
    cl_mirror_t *m = mirror_new("show");
    org(m);
    const char *id = "00000000-0000-4000-8000-0000000000aa";
    ticket(m, id, 1, 11, 101, 5, "open", 7, NULL, "2026-11-01", "2026-11-02T08:00:00+08:00", NULL);
    sql(m,
        "INSERT INTO ticket_events VALUES (9, '%s', 1, '2026-11-02T08:00:01+08:00', 1,"
        " 'clerk', 'verify_fail', 'repaired', 'open', '仍渗水', 7),"
        " (3, '%s', 1, '2026-11-02T08:00:00+08:00', 1, 'clerk', 'raise', NULL, 'open', '',"
        " NULL);"
        "INSERT INTO item_photos VALUES ('%s', 'ff%062d'), ('%s', '01%062d')",
        id, id, id, 0, id, 0);
    int rc;
    Closeloop__TicketHistory *h = show(m, id, &rc);
    assert_int_equal(rc, CL_OK);
    assert_int_equal(h->ticket->timeliness, CLOSELOOP__TIMELINESS__TIMELINESS_NO_DEADLINE);
    assert_string_equal(h->ticket->deadline, "");
    assert_int_equal(h->n_events, 2);
    assert_int_equal(h->events[0]->at_ms, UINT64_C(1793577600000)); /* 2026-11-02T00:00Z */
    assert_int_equal(h->events[0]->from_state, 0);
    assert_int_equal(h->events[0]->contractor_id, 0);
    assert_string_equal(h->events[0]->contractor_name, "");
    assert_int_equal(h->events[1]->action, CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_FAIL);
    assert_string_equal(h->events[1]->contractor_name, "东方雨虹");
    assert_string_equal(h->events[1]->note, "仍渗水");
    assert_int_equal(h->n_photo_sha256, 2);
    assert_int_equal(h->photo_sha256[0].len, 32);
    assert_int_equal(h->photo_sha256[0].data[0], 0x01);
    assert_int_equal(h->photo_sha256[1].data[0], 0xff);
    assert_int_equal(h->photo_sha256[1].data[31], 0);
    cl_msg_free(&h->base);
    cl_mirror_close(m);
}

typedef struct pages {
    size_t n, total, sizes[8];
    char last[3][128]; /* found_on|number|id of the last ticket seen */
    bool ordered;
    int projects[3];
} pages_t;

static int on_page(void *arg, const ProtobufCMessage *page) {
    pages_t *p = arg;
    const Closeloop__TicketPage *tp = (const Closeloop__TicketPage *)page;
    if (p->n < 8) p->sizes[p->n] = tp->n_items;
    p->n++;
    for (size_t i = 0; i < tp->n_items; i++) {
        const Closeloop__Ticket *t = tp->items[i];
        char key[128];
        snprintf(key, sizeof key, "%s|%010" PRIu32 "|%s", t->found_on, t->number, t->id);
        if (p->total && strcmp(p->last[0], key) >= 0) p->ordered = false;
        snprintf(p->last[0], sizeof p->last[0], "%s", key);
        if (t->project_id >= 1 && t->project_id <= 2) p->projects[t->project_id]++;
        p->total++;
    }
    return 0;
}

/* 1,203 open tickets of one contractor in two projects (numbers repeat across them): the
 * to-repair list is 3 pages (500, 500, 203) in (found_on, number, id) order, each ticket
 * once; --project keeps one project; an empty list is one empty page. */
static void test_todo_pages(void **state) {
    (void)state;
    cl_mirror_t *m = mirror_new("pages");
    org(m);
    sql(m, "BEGIN");
    for (int i = 1; i <= 1203; i++) {
        char id[40];
        snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
        int project = i % 2 ? 1 : 2;
        ticket(m, id, project, project == 1 ? 11 : 21, project == 1 ? 101 : 501, (i + 1) / 2,
               i % 7 ? "open" : "repaired", i % 5 ? 7 : 8, "2026-11-20",
               i % 3 ? "2026-11-01" : "2026-10-15", "2026-11-02T08:00:00+08:00", NULL);
    }
    sql(m, "COMMIT");
    /* open and of contractor 7: not i % 7 == 0, not i % 5 == 0 */
    size_t want = 0, want1 = 0;
    for (int i = 1; i <= 1203; i++)
        if (i % 7 && i % 5) want++, want1 += i % 2;
    Closeloop__TodoListRequest q = CLOSELOOP__TODO_LIST_REQUEST__INIT;
    q.contractor_id = 7;
    pages_t p = {.ordered = true};
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &p),
        CL_OK);
    assert_int_equal(p.total, want);
    assert_true(p.ordered);
    assert_int_equal(p.n, (want + 499) / 500 + (want % 500 == 0));
    assert_int_equal(p.sizes[0], 500);
    assert_int_equal(p.projects[1] + p.projects[2], want);
    q.project_id = 1;
    pages_t p1 = {.ordered = true};
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &p1),
        CL_OK);
    assert_int_equal(p1.total, want1);
    assert_int_equal(p1.projects[2], 0);
    assert_true(p1.ordered);
    /* a project not in the mirror, a contractor that does not exist */
    q.project_id = 3;
    pages_t none = {.ordered = true};
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &none),
        CL_ENOTFOUND);
    assert_string_equal(cl_mirror_error(m), "no such contractor or project");
    q.project_id = 0;
    q.contractor_id = 99;
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &none),
        CL_ENOTFOUND);
    assert_string_equal(cl_mirror_error(m), "no such contractor");
    assert_int_equal(none.n, 0);
    /* the to-verify list of project 2: repaired ones, whoever's */
    Closeloop__ToVerifyListRequest v = CLOSELOOP__TO_VERIFY_LIST_REQUEST__INIT;
    v.project_id = 2;
    pages_t pv = {.ordered = true};
    assert_int_equal(cl_mirror_call_stream(m, CL_MSG_TOVERIFY_LIST_REQ, &v.base, CL_MSG_TICKET_PAGE,
                                           on_page, &pv),
                     CL_OK);
    size_t wantv = 0;
    for (int i = 2; i <= 1203; i += 2)
        wantv += i % 7 == 0;
    assert_int_equal(pv.total, wantv);
    assert_int_equal(pv.n, 1);
    assert_true(pv.ordered);
    /* contractor 8's open tickets in project 2 only: an empty page when there are none */
    sql(m, "DELETE FROM tickets WHERE contractor_id = 8");
    q.contractor_id = 8;
    q.project_id = 2;
    pages_t pe = {.ordered = true};
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &pe),
        CL_OK);
    assert_int_equal(pe.n, 1);
    assert_int_equal(pe.total, 0);
    cl_mirror_close(m);
}

/* A contractor's mirror: its own list without naming it, another's refused as missing,
 * the reports refused as the server refuses them. */
static void test_contractor_role(void **state) {
    (void)state;
    cl_mirror_t *m = mirror_new("contractor");
    org(m);
    assert_int_equal(cl_mirror_meta_set(m, "role", "contractor"), CL_OK); /* the pull's */
    assert_int_equal(cl_mirror_identity_save(m, 7), CL_OK);
    ticket(m, "00000000-0000-4000-8000-000000000001", 1, 11, 101, 1, "open", 7, NULL, "2026-11-01",
           "2026-11-02T08:00:00+08:00", NULL);
    ProtobufCMessage *me = NULL;
    assert_int_equal(cl_mirror_whoami(m, &me), CL_OK);
    assert_int_equal(((Closeloop__WhoAmI *)me)->contractor_id, 7);
    assert_string_equal(((Closeloop__WhoAmI *)me)->contractor_name, "东方雨虹");
    assert_string_equal(((Closeloop__WhoAmI *)me)->username, "u");
    assert_int_equal(((Closeloop__WhoAmI *)me)->role, CLOSELOOP__ROLE__ROLE_CONTRACTOR);
    cl_msg_free(me);
    /* raised offline (an outbox entry): no number yet, listed as number 0, first of its day */
    ticket(m, "00000000-0000-4000-8000-000000000002", 1, 11, 101, 99, "open", 7, NULL, "2026-11-01",
           "2026-12-02T08:00:00.123+08:00", NULL);
    sql(m, "UPDATE tickets SET number = NULL WHERE number = 99");
    Closeloop__TodoListRequest q = CLOSELOOP__TODO_LIST_REQUEST__INIT;
    pages_t p = {.ordered = true};
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &p),
        CL_OK);
    assert_int_equal(p.total, 2);
    assert_true(p.ordered);
    assert_true(strstr(p.last[0], "|0000000001|") != NULL); /* the numbered one last */
    /* a day's file of 600 items imported offline: no numbers, and still every one of them
     * across the page boundary (the keyset goes on by id) */
    sql(m, "BEGIN");
    for (int i = 0; i < 600; i++) {
        char id[40];
        snprintf(id, sizeof id, "00000000-0000-4000-9000-%012d", i);
        ticket(m, id, 1, 11, 101, 1000 + i, "open", 7, NULL, "2026-11-03",
               "2026-12-02T08:00:00+08:00", NULL);
    }
    sql(m, "UPDATE tickets SET number = NULL WHERE number >= 1000; COMMIT");
    pages_t pn = {.ordered = true};
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &pn),
        CL_OK);
    assert_int_equal(pn.total, 602);
    assert_int_equal(pn.n, 2);
    assert_true(pn.ordered);
    q.contractor_id = 8;
    assert_int_equal(
        cl_mirror_call_stream(m, CL_MSG_TODO_LIST_REQ, &q.base, CL_MSG_TICKET_PAGE, on_page, &p),
        CL_ENOTFOUND);
    assert_string_equal(cl_mirror_error(m), "no such contractor");
    Closeloop__DailyReportRequest d = CLOSELOOP__DAILY_REPORT_REQUEST__INIT;
    d.project_id = 1;
    d.date = (char *)"2026-11-01";
    ProtobufCMessage *r = NULL;
    assert_int_equal(cl_mirror_call(m, CL_MSG_DAILY_REPORT_REQ, &d.base, CL_MSG_DAILY_REPORT, &r),
                     CL_EFORBIDDEN);
    assert_null(r);
    assert_string_equal(cl_mirror_error(m), "your role may not do this");
    cl_mirror_close(m);
}

static Closeloop__Readiness *ready(cl_mirror_t *m, int64_t project, const char *b, int *rc) {
    Closeloop__ReadinessRequest q = CLOSELOOP__READINESS_REQUEST__INIT;
    q.project_id = project;
    q.building = (char *)b;
    ProtobufCMessage *r = NULL;
    *rc = cl_mirror_call(m, CL_MSG_READINESS_REQ, &q.base, CL_MSG_READINESS, &r);
    return (Closeloop__Readiness *)r;
}

/* cl_building_named: the exact name; else the one building named so with its building
 * word (1 -> 1栋); two such (2 -> 2号楼, 2栋) is none, and the sentence lists them all. */
static void test_readiness_buildings(void **state) {
    (void)state;
    cl_mirror_t *m = mirror_new("ready");
    org(m);
    ticket(m, "00000000-0000-4000-8000-000000000001", 1, 11, 101, 1, "closed", 7, NULL,
           "2026-11-01", "2026-11-02T08:00:00+08:00", "2026-11-03T08:00:00+08:00");
    ticket(m, "00000000-0000-4000-8000-000000000002", 1, 11, 101, 2, "open", 7, NULL, "2026-10-01",
           "2026-11-02T08:00:00+08:00", NULL);
    ticket(m, "00000000-0000-4000-8000-000000000003", 1, 12, 101, 3, "open", 7, NULL, "2026-10-01",
           "2026-11-02T08:00:00+08:00", NULL); /* handover: not a blocker */
    ticket(m, "00000000-0000-4000-8000-000000000004", 1, 11, 401, 4, "nofix", 7, NULL, "2026-10-01",
           "2026-11-02T08:00:00+08:00", "2026-11-03T08:00:00+08:00");
    int rc;
    Closeloop__Readiness *r = ready(m, 1, " 1 ", &rc);
    assert_int_equal(rc, CL_OK);
    assert_string_equal(r->building, "1栋");
    assert_int_equal(r->items, 2);
    assert_int_equal(r->closed, 1);
    assert_false(r->ready);
    assert_int_equal(r->n_blockers, 1);
    assert_int_equal(r->blockers[0]->number, 2);
    cl_msg_free(&r->base);
    r = ready(m, 1, "3", &rc); /* "3 座": the space before the word goes with it */
    assert_int_equal(rc, CL_OK);
    assert_string_equal(r->building, "3 座");
    assert_true(r->ready);
    assert_int_equal(r->nofix, 1);
    cl_msg_free(&r->base);
    r = ready(m, 1, "5", &rc); /* 号楼 goes whole, not 楼 alone */
    assert_int_equal(rc, CL_OK);
    assert_string_equal(r->building, "5号楼");
    assert_int_equal(r->items, 0);
    assert_true(r->ready);
    cl_msg_free(&r->base);
    r = ready(m, 1, "2", &rc);
    assert_int_equal(rc, CL_ENOTFOUND);
    assert_null(r);
    assert_string_equal(cl_mirror_error(m), "no such building \"2\" in this project: its "
                                            "buildings are 1栋, 2号楼, 2栋, 3 座, 5号楼");
    r = ready(m, 9, "1", &rc);
    assert_int_equal(rc, CL_ENOTFOUND);
    assert_string_equal(cl_mirror_error(m), "no such project");
    cl_mirror_close(m);
}

/* The daily report: handover counts of the day, reasons by count then name with NULL last,
 * events of the local day, timeliness, the dispatch backlog's age, open by contractor. */
static void test_daily(void **state) {
    (void)state;
    cl_mirror_t *m = mirror_new("daily");
    org(m);
    char d10[16], d2[16];
    day(-10, d10);
    day(2, d2);
    sql(m, "INSERT INTO inspection_records (id, project_id, unit_id, round_id, inspected_on,"
           " scheduled_on, outcome, not_taken_reason, version) VALUES"
           " (1, 1, 101, 12, '2026-11-05', '2026-11-05', 'not_taken_over', '漏水', 1),"
           " (2, 1, 201, 12, '2026-11-05', '2026-11-05', 'not_taken_over', '业主未到', 1),"
           " (3, 1, 301, 12, '2026-11-05', NULL, 'not_taken_over', NULL, 1),"
           " (4, 1, 401, 12, '2026-11-05', '2026-11-05', 'not_taken_over', '漏水', 1),"
           " (5, 1, 101, 12, NULL, '2026-11-05', NULL, NULL, 1),"
           " (6, 1, 201, 12, '2026-11-05', NULL, 'accepted_with_items', NULL, 1),"
           " (7, 1, 201, 11, '2026-11-05', NULL, NULL, NULL, 1)");
    /* closed at 2026-11-05 00:30 Shanghai = 11-04 16:30 UTC: on the report's day */
    ticket(m, "00000000-0000-4000-8000-000000000001", 1, 11, 101, 1, "closed", 7, "2026-11-10",
           "2026-11-05", "2026-11-05T08:00:00+08:00", "2026-11-04T16:30:00Z");
    ticket(m, "00000000-0000-4000-8000-000000000002", 1, 11, 201, 2, "open", 7, "2026-10-01",
           "2026-09-25", "2026-11-02T08:00:00+08:00", NULL);
    ticket(m, "00000000-0000-4000-8000-000000000003", 1, 11, 201, 3, "open", 8, d2, d10,
           "2026-11-02T08:00:00+08:00", NULL);
    ticket(m, "00000000-0000-4000-8000-000000000004", 1, 11, 201, 4, "dispatch", 0, NULL, d10,
           "2026-11-02T08:00:00+08:00", NULL);
    ticket(m, "00000000-0000-4000-8000-000000000005", 2, 21, 501, 1, "open", 7, "2026-10-01",
           "2026-09-25", "2026-11-02T08:00:00+08:00", NULL); /* another project */
    sql(m, "INSERT INTO ticket_events VALUES"
           " (1, '00000000-0000-4000-8000-000000000001', 1, '2026-11-04T16:30:00Z', 1, 'v',"
           "  'verify_pass', 'repaired', 'closed', '', 7),"
           " (2, '00000000-0000-4000-8000-000000000002', 1, '2026-11-05T23:59:59+08:00', 1, 'v',"
           "  'verify_fail', 'repaired', 'open', 'x', 7),"
           " (3, '00000000-0000-4000-8000-000000000002', 1, '2026-11-05T16:00:00Z', 1, 'v',"
           "  'verify_fail', 'repaired', 'open', 'x', 7)");
    Closeloop__DailyReportRequest q = CLOSELOOP__DAILY_REPORT_REQUEST__INIT;
    q.project_id = 1;
    q.date = (char *)"2026-11-05";
    ProtobufCMessage *r = NULL;
    assert_int_equal(cl_mirror_call(m, CL_MSG_DAILY_REPORT_REQ, &q.base, CL_MSG_DAILY_REPORT, &r),
                     CL_OK);
    const Closeloop__DailyReport *d = (const Closeloop__DailyReport *)r;
    assert_string_equal(d->project_name, "万科城");
    assert_int_equal(d->units_scheduled, 4);
    assert_int_equal(d->units_inspected, 5);
    assert_int_equal(d->units_not_taken_over, 4);
    assert_int_equal(d->units_accepted, 1);
    assert_int_equal(d->units_accepted_with_items, 1);
    assert_int_equal(d->n_not_taken_reasons, 3);
    assert_string_equal(d->not_taken_reasons[0]->reason, "漏水");
    assert_int_equal(d->not_taken_reasons[0]->count, 2);
    assert_string_equal(d->not_taken_reasons[1]->reason, "业主未到");
    assert_string_equal(d->not_taken_reasons[2]->reason, ""); /* NULL, last */
    assert_int_equal(d->items_raised, 1);                     /* ticket 1's item */
    /* units with a record or an item that day: 101, 201, 301, 401 */
    assert_true(d->items_per_unit > 0.249 && d->items_per_unit < 0.251);
    assert_int_equal(d->tickets_closed, 1);
    assert_int_equal(d->reworks, 1); /* event 3 is 11-06 00:00 in Shanghai */
    assert_int_equal(d->timeliness->closed_in_time, 1);
    assert_int_equal(d->timeliness->overdue_open, 1);
    assert_int_equal(d->timeliness->in_time_open, 1);
    assert_int_equal(d->timeliness->no_deadline, 1);
    assert_int_equal(d->dispatch_waiting, 1);
    assert_int_equal(d->dispatch_oldest_days, 10);
    assert_int_equal(d->n_open_by_contractor, 2);
    /* 1 open each: by name, 东 (U+4E1C) before 中 (U+4E2D) as C.UTF-8 sorts them */
    assert_int_equal(d->open_by_contractor[0]->contractor_id, 7);
    assert_int_equal(d->open_by_contractor[0]->overdue, 1);
    assert_int_equal(d->open_by_contractor[1]->contractor_id, 8);
    assert_int_equal(d->open_by_contractor[1]->overdue, 0);
    assert_int_equal(d->n_oldest_open, 3);
    assert_int_equal(d->oldest_open[0]->number, 2);
    assert_int_equal(d->oldest_open[1]->number, 3);
    cl_msg_free(r);
    q.project_id = 5;
    assert_int_equal(cl_mirror_call(m, CL_MSG_DAILY_REPORT_REQ, &q.base, CL_MSG_DAILY_REPORT, &r),
                     CL_ENOTFOUND);
    assert_string_equal(cl_mirror_error(m), "no such project");
    cl_mirror_close(m);
}

/* The mirror of a server is found in the default directory when it is the only one, and
 * opened for its own user; a missing file is not created. */
static void test_find_and_open(void **state) {
    (void)state;
    char data[600], path[1024], found[1024], err[256];
    snprintf(data, sizeof data, "%s/data", scratch);
    setenv("XDG_DATA_HOME", data, 1);
    assert_int_equal(cl_mirror_find(SERVER, found, sizeof found), CL_ENOTFOUND);
    assert_int_equal(cl_mirror_default_path("alice", SERVER, path, sizeof path), CL_OK);
    cl_mirror_t *m = NULL;
    assert_int_equal(cl_mirror_open_existing(path, SERVER, &m, err, sizeof err), CL_ENOTFOUND);
    struct stat sb;
    assert_int_not_equal(stat(path, &sb), 0);
    assert_int_equal(cl_mirror_open(path, "alice", SERVER, &m, err, sizeof err), CL_OK);
    cl_mirror_close(m);
    assert_int_equal(cl_mirror_find(SERVER, found, sizeof found), CL_OK);
    assert_string_equal(found, path);
    assert_int_equal(cl_mirror_find("other:1", found, sizeof found), CL_ENOTFOUND);
    m = NULL;
    assert_int_equal(cl_mirror_open_existing(path, SERVER, &m, err, sizeof err), CL_OK);
    char user[64];
    assert_string_equal(cl_mirror_meta(m, "username", user, sizeof user), "alice");
    cl_mirror_close(m);
    assert_int_equal(cl_mirror_open_existing(path, "other:1", &m, err, sizeof err), CL_EINVAL);
    assert_int_equal(cl_mirror_default_path("bob", SERVER, path, sizeof path), CL_OK);
    assert_int_equal(cl_mirror_open(path, "bob", SERVER, &m, err, sizeof err), CL_OK);
    cl_mirror_close(m);
    assert_int_equal(cl_mirror_find(SERVER, found, sizeof found), CL_EINVAL); /* two */
}

int main(void) {
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    const char *tmp = getenv("CL_TEST_TMP");
    snprintf(scratch, sizeof scratch, "%s/mirror_read.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (tmp && *tmp) mkdir(tmp, 0700);
    if (!mkdtemp(scratch)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_and_days),      cmocka_unit_test(test_show_events_photos),
        cmocka_unit_test(test_todo_pages),          cmocka_unit_test(test_contractor_role),
        cmocka_unit_test(test_readiness_buildings), cmocka_unit_test(test_daily),
        cmocka_unit_test(test_find_and_open),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    return rc;
}
