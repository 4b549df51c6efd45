/* test_outbox.c - libcloop's outbox (client/lib/cloop_outbox.c) on a real SQLite mirror
 * file: an entry and its optimistic change are written together (or not at all), the
 * payload carries the mirror's version and the entry's key, a drop undoes the change
 * exactly (the session extension's inverse changeset), a re-apply takes the server's
 * version and a new key. The push is tested against the real daemon
 * (tests/integration/test_outbox.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cloop_mirror.h"

static char path[512];

static int setup(void **state) {
    const char *tmp = getenv("CL_TEST_TMP");
    snprintf(path, sizeof path, "%s/outbox-%d.sqlite", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    unlink(path);
    cl_mirror_t *m = NULL;
    char err[256];
    assert_int_equal(cl_mirror_open(path, "clerk1", "127.0.0.1:7443", &m, err, sizeof err), CL_OK);
    sqlite3 *db = cl_mirror_db(m);
    const char *rows =
        "INSERT INTO projects VALUES (1, 1, 'P', 'C', '2027-07-01', 'P', 1);"
        "INSERT INTO units VALUES (10, 5, 1, '3-2-1701', 17, 'A', 1);"
        "INSERT INTO units VALUES (11, 5, 1, '3-2-1702', 17, 'A', 1);"
        "INSERT INTO inspection_rounds VALUES (20, 1, 'handover', NULL, NULL, '', 'in_progress', "
        "1);"
        "INSERT INTO trades VALUES ('waterproofing', '防水', 'Waterproofing');"
        "INSERT INTO trades VALUES ('civil', '土建', 'Civil');"
        "INSERT INTO trade_aliases VALUES (1, '渗水', 'waterproofing', 1);"
        "INSERT INTO project_trades VALUES (1, 'waterproofing', 7, 1);"
        "INSERT INTO inspection_records (id, project_id, unit_id, round_id, inspected_on, "
        "  inspector, outcome, version) VALUES (30, 1, 11, 20, '2027-06-30', '王', NULL, 4);"
        "INSERT INTO tickets VALUES ('11111111-1111-4111-8111-111111111111', 1, 12, 'open', 7,"
        "  'waterproofing', 'major', '2027-07-10', 0, '', '2027-06-30T09:00:00+08:00', NULL,"
        "  '2027-06-30', '2027-06-30T09:00:00+08:00', 3);";
    assert_int_equal(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
    *state = m;
    return 0;
}

static int teardown(void **state) {
    cl_mirror_close(*state);
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return 0;
}

static int64_t q_int(cl_mirror_t *m, const char *sql) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(cl_mirror_db(m), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void q_text(cl_mirror_t *m, const char *sql, char *out, size_t cap) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(cl_mirror_db(m), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *s = sqlite3_column_text(st, 0);
    snprintf(out, cap, "%s", s ? (const char *)s : "(null)");
    sqlite3_finalize(st);
}

/* Every mirrored row the outbox may change, as one text, to compare before and after. */
static void dump(cl_mirror_t *m, char *out, size_t cap) {
    q_text(m,
           "SELECT coalesce((SELECT group_concat(x, '|') FROM (SELECT quote(id) || quote(state) ||"
           " quote(contractor_id) || quote(rework_count) || quote(last_note) || quote(closed_at)"
           " || quote(updated_at) || quote(version) AS x FROM tickets ORDER BY id)), '') || '#' ||"
           " coalesce((SELECT group_concat(x, '|') FROM (SELECT quote(id) || quote(outcome) ||"
           " quote(inspected_on) || quote(not_taken_reason) || quote(version) AS x FROM"
           " inspection_records ORDER BY id)), '') || '#' || (SELECT count(*) FROM"
           " inspection_items)",
           out, cap);
}

static Closeloop__TicketTransition repaired(Closeloop__TicketRef *r, int64_t project,
                                            uint32_t number) {
    Closeloop__TicketTransition t = CLOSELOOP__TICKET_TRANSITION__INIT;
    closeloop__ticket_ref__init(r);
    r->project_id = project;
    r->number = number;
    t.ticket = r;
    t.action = CLOSELOOP__TICKET_ACTION__ACTION_REPAIRED;
    t.note = "已重做防水";
    return t;
}

/* The stored payload of entry id, decoded. */
static Closeloop__TicketTransition *payload(cl_mirror_t *m, int64_t id) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(cl_mirror_db(m), "SELECT payload FROM outbox WHERE id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    Closeloop__TicketTransition *t = closeloop__ticket_transition__unpack(
        NULL, (size_t)sqlite3_column_bytes(st, 0), sqlite3_column_blob(st, 0));
    sqlite3_finalize(st);
    assert_non_null(t);
    return t;
}

static void test_transition_queued_with_its_change(void **state) {
    cl_mirror_t *m = *state;
    Closeloop__TicketRef r;
    Closeloop__TicketTransition t = repaired(&r, 1, 12);
    int64_t id = 0;
    assert_int_equal(cl_outbox_add_transition(m, &t, "#12 repaired", &id), CL_OK);
    assert_true(id > 0);
    /* The mirror moved as the server will: state, note, version + 1. */
    char s[200];
    q_text(m, "SELECT state || '/' || last_note || '/' || version FROM tickets", s, sizeof s);
    assert_string_equal(s, "repaired/已重做防水/4");
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox_touch WHERE entity = 'tickets' AND key ="
                              " '11111111-1111-4111-8111-111111111111'"),
                     1);
    /* The payload expects the version the user acted on, by the ticket's id, with the
     * entry's key. */
    Closeloop__TicketTransition *p = payload(m, id);
    assert_int_equal(p->expected_version, 3);
    assert_string_equal(p->ticket->id, "11111111-1111-4111-8111-111111111111");
    cl_outbox_entry_t e;
    assert_int_equal(cl_outbox_get(m, id, &e), CL_OK);
    assert_string_equal(p->idempotency_key, e.idem_key);
    assert_int_equal(strlen(e.idem_key), 36);
    assert_string_equal(e.state, "pending");
    assert_string_equal(e.kind, "transition");
    closeloop__ticket_transition__free_unpacked(p, NULL);
    assert_int_equal(cl_outbox_unacked(m), 1);
    /* A second transition chains on the optimistic version. */
    Closeloop__TicketTransition v = repaired(&r, 1, 12);
    v.action = CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_PASS;
    int64_t id2 = 0;
    assert_int_equal(cl_outbox_add_transition(m, &v, "#12 verify", &id2), CL_OK);
    p = payload(m, id2);
    assert_int_equal(p->expected_version, 4);
    closeloop__ticket_transition__free_unpacked(p, NULL);
    q_text(m, "SELECT state || '/' || version || '/' || (closed_at IS NOT NULL) FROM tickets", s,
           sizeof s);
    assert_string_equal(s, "closed/5/1");
}

static void test_transition_refused_leaves_nothing(void **state) {
    cl_mirror_t *m = *state;
    char before[4096], after[4096];
    dump(m, before, sizeof before);
    Closeloop__TicketRef r;
    Closeloop__TicketTransition t = repaired(&r, 1, 99); /* not in the mirror */
    int64_t id = 0;
    assert_int_equal(cl_outbox_add_transition(m, &t, "#99", &id), CL_ENOTFOUND);
    assert_non_null(strstr(cl_mirror_error(m), "not in the mirror"));
    t = repaired(&r, 1, 12);
    t.action = CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_PASS; /* open: nothing to verify */
    assert_int_equal(cl_outbox_add_transition(m, &t, "#12", &id), CL_ECONFLICT);
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox_touch"), 0);
    dump(m, after, sizeof after);
    assert_string_equal(before, after);
}

static void test_items_queued_with_items_and_tickets(void **state) {
    cl_mirror_t *m = *state;
    Closeloop__Item a = CLOSELOOP__ITEM__INIT, b = CLOSELOOP__ITEM__INIT;
    a.item_id = "22222222-2222-4222-8222-222222222222";
    a.project_id = 1;
    a.unit = "3-2-1701";
    a.round = CLOSELOOP__ROUND_KIND__ROUND_HANDOVER;
    a.inspected_on = "2027-06-30";
    a.location = "卫生间";
    a.category = "渗水"; /* the project's alias of waterproofing: contractor 7 */
    a.description = "地漏周边渗水";
    a.severity = CLOSELOOP__SEVERITY__SEVERITY_MAJOR;
    b = a;
    b.item_id = "33333333-3333-4333-8333-333333333333";
    b.category = "土建"; /* civil: no contractor in this project */
    Closeloop__Item *items[2] = {&a, &b};
    Closeloop__ItemBatch batch = CLOSELOOP__ITEM_BATCH__INIT;
    batch.n_items = 2;
    batch.items = items;
    int64_t id = 0;
    assert_int_equal(cl_outbox_add_items(m, &batch, "2 items", &id), CL_OK);
    char s[300];
    q_text(m,
           "SELECT group_concat(unit_id || '/' || round_id || '/' || category || '/' || severity,"
           " ',') FROM (SELECT * FROM inspection_items ORDER BY id)",
           s, sizeof s);
    assert_string_equal(s, "10/20/waterproofing/major,10/20/civil/major");
    q_text(m,
           "SELECT group_concat(state || '/' || coalesce(contractor_id, '-') || '/' ||"
           " coalesce(number, '-'), ',') FROM (SELECT * FROM tickets WHERE id LIKE '2%' OR id"
           " LIKE '3%' ORDER BY id)",
           s, sizeof s);
    assert_string_equal(s, "open/7/-,dispatch/-/-");
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox_touch"), 4);
    /* The same batch again (the same file imported twice offline): nothing new touched. */
    int64_t id2 = 0;
    assert_int_equal(cl_outbox_add_items(m, &batch, "2 items", &id2), CL_OK);
    assert_int_equal(q_int(m, "SELECT count(*) FROM inspection_items"), 2);
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox_touch"), 4);
}

static void test_handover_new_and_existing_record(void **state) {
    cl_mirror_t *m = *state;
    Closeloop__HandoverForm f = CLOSELOOP__HANDOVER_FORM__INIT;
    f.project_id = 1;
    f.unit = "3-2-1701";
    f.inspected_on = "2027-06-30";
    f.outcome = CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_NOT_TAKEN_OVER;
    f.not_taken_reason = "卫生间渗水";
    int64_t id = 0;
    assert_int_equal(cl_outbox_add_handover(m, &f, "form 1701", &id), CL_OK);
    char s[300], want[300];
    q_text(m, "SELECT id || '/' || unit_id || '/' || outcome FROM inspection_records WHERE id < 0",
           s, sizeof s);
    snprintf(want, sizeof want, "%lld/10/not_taken_over", -(long long)id);
    assert_string_equal(s, want);
    f.unit = "3-2-1702"; /* has record 30 of version 4 */
    f.outcome = CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED;
    f.not_taken_reason = NULL;
    assert_int_equal(cl_outbox_add_handover(m, &f, "form 1702", &id), CL_OK);
    q_text(m, "SELECT outcome || '/' || version FROM inspection_records WHERE id = 30", s,
           sizeof s);
    assert_string_equal(s, "accepted/5");
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox_touch WHERE entity ="
                              " 'inspection_records' AND key = '30'"),
                     1);
    /* Each form has its own key in its payload. */
    assert_int_equal(q_int(m, "SELECT count(DISTINCT idem_key) FROM outbox"), 2);
}

static void set_state(cl_mirror_t *m, int64_t id, const char *state, const char *side) {
    char sql[400];
    snprintf(sql, sizeof sql, "UPDATE outbox SET state = '%s', server_side = '%s' WHERE id = %lld",
             state, side, (long long)id);
    assert_int_equal(sqlite3_exec(cl_mirror_db(m), sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_drop_undoes_exactly(void **state) {
    cl_mirror_t *m = *state;
    char before[4096], mid[4096], after[4096];
    dump(m, before, sizeof before);
    Closeloop__TicketRef r;
    Closeloop__TicketTransition t = repaired(&r, 1, 12);
    int64_t tid = 0, hid = 0, iid = 0;
    assert_int_equal(cl_outbox_add_transition(m, &t, "#12 repaired", &tid), CL_OK);
    Closeloop__HandoverForm f = CLOSELOOP__HANDOVER_FORM__INIT;
    f.project_id = 1;
    f.unit = "3-2-1702";
    f.inspected_on = "2027-06-30";
    f.outcome = CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED;
    assert_int_equal(cl_outbox_add_handover(m, &f, "form", &hid), CL_OK);
    Closeloop__Item a = CLOSELOOP__ITEM__INIT;
    a.item_id = "44444444-4444-4444-8444-444444444444";
    a.project_id = 1;
    a.unit = "3-2-1701";
    a.round = CLOSELOOP__ROUND_KIND__ROUND_HANDOVER;
    a.inspected_on = "2027-06-30";
    a.location = "厨房";
    a.category = "civil";
    a.description = "墙面空鼓";
    a.severity = CLOSELOOP__SEVERITY__SEVERITY_MINOR;
    Closeloop__Item *items[1] = {&a};
    Closeloop__ItemBatch batch = CLOSELOOP__ITEM_BATCH__INIT;
    batch.n_items = 1;
    batch.items = items;
    assert_int_equal(cl_outbox_add_items(m, &batch, "1 item", &iid), CL_OK);
    dump(m, mid, sizeof mid);
    assert_string_not_equal(before, mid);
    /* Pending entries are not resolved. */
    assert_int_equal(cl_outbox_drop(m, tid, "no"), CL_EPRECONDITION);
    assert_int_equal(cl_outbox_drop(m, 999, "no"), CL_ENOTFOUND);
    set_state(m, tid, "conflict", "{\"state\": \"closed\", \"version\": 9}");
    set_state(m, hid, "failed", "");
    set_state(m, iid, "failed", "");
    assert_int_equal(cl_outbox_drop(m, tid, ""), CL_EINVAL); /* a note is required */
    assert_int_equal(cl_outbox_drop(m, tid, "已由他人关闭"), CL_OK);
    assert_int_equal(cl_outbox_drop(m, hid, "重复录入"), CL_OK);
    assert_int_equal(cl_outbox_drop(m, iid, "录错了"), CL_OK);
    dump(m, after, sizeof after);
    assert_string_equal(before, after);
    cl_outbox_entry_t *v = NULL;
    size_t n = 0;
    assert_int_equal(cl_outbox_list(m, "dropped", &v, &n), CL_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].note, "已由他人关闭");
    assert_true(v[0].done_ms > 0);
    assert_string_equal(v[0].server_side, "{\"state\": \"closed\", \"version\": 9}");
    free(v);
    assert_int_equal(cl_outbox_unacked(m), 0);
    /* A dropped entry stays dropped. */
    assert_int_equal(cl_outbox_reapply(m, tid), CL_EPRECONDITION);
}

/* Two entries on one ticket: the later is resolved first, then the earlier; the mirror
 * ends as it was. */
static void test_drop_later_first(void **state) {
    cl_mirror_t *m = *state;
    char before[4096], after[4096];
    dump(m, before, sizeof before);
    Closeloop__TicketRef r;
    Closeloop__TicketTransition t = repaired(&r, 1, 12);
    int64_t a = 0, b = 0;
    assert_int_equal(cl_outbox_add_transition(m, &t, "#12 repaired", &a), CL_OK);
    t = repaired(&r, 1, 12);
    t.action = CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_PASS;
    assert_int_equal(cl_outbox_add_transition(m, &t, "#12 verify", &b), CL_OK);
    set_state(m, a, "conflict", "");
    set_state(m, b, "conflict", "");
    assert_int_equal(cl_outbox_drop(m, a, "x"), CL_EPRECONDITION);
    assert_non_null(strstr(cl_mirror_error(m), "resolve #2 first"));
    char s[100];
    q_text(m, "SELECT state || '/' || version FROM tickets", s, sizeof s);
    assert_string_equal(s, "closed/5"); /* the refused drop changed nothing */
    assert_int_equal(cl_outbox_drop(m, b, "验收撤回"), CL_OK);
    q_text(m, "SELECT state || '/' || version FROM tickets", s, sizeof s);
    assert_string_equal(s, "repaired/4");
    assert_int_equal(cl_outbox_drop(m, a, "维修撤回"), CL_OK);
    dump(m, after, sizeof after);
    assert_string_equal(before, after);
}

/* A push honours the backoff in order: while the first pending entry waits, nothing after
 * it goes (no connection is even touched). */
static void test_push_waits_in_order(void **state) {
    cl_mirror_t *m = *state;
    Closeloop__HandoverForm f = CLOSELOOP__HANDOVER_FORM__INIT;
    f.project_id = 1;
    f.unit = "3-2-1701";
    f.outcome = CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED;
    int64_t ids[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(cl_outbox_add_handover(m, &f, "form", &ids[i]), CL_OK);
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE outbox SET next_attempt_ms = 99999999999999 WHERE id = %lld",
             (long long)ids[0]);
    assert_int_equal(sqlite3_exec(cl_mirror_db(m), sql, NULL, NULL, NULL), SQLITE_OK);
    cl_outbox_push_stats_t st;
    assert_int_equal(cl_outbox_push(m, NULL, 0, &st), CL_OK);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.left, 2);
    assert_int_equal(q_int(m, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 2);
}

static void test_reapply_takes_server_version(void **state) {
    cl_mirror_t *m = *state;
    Closeloop__TicketRef r;
    Closeloop__TicketTransition t = repaired(&r, 1, 12);
    int64_t id = 0;
    assert_int_equal(cl_outbox_add_transition(m, &t, "#12 repaired", &id), CL_OK);
    cl_outbox_entry_t e0, e1;
    assert_int_equal(cl_outbox_get(m, id, &e0), CL_OK);
    set_state(m, id, "conflict", "{\"state\": \"open\", \"version\": 7, \"contractor_id\": 8}");
    assert_int_equal(cl_outbox_reapply(m, id), CL_OK);
    assert_int_equal(cl_outbox_get(m, id, &e1), CL_OK);
    assert_string_equal(e1.state, "pending");
    assert_string_not_equal(e0.idem_key, e1.idem_key);
    Closeloop__TicketTransition *p = payload(m, id);
    assert_int_equal(p->expected_version, 7);
    assert_string_equal(p->idempotency_key, e1.idem_key);
    closeloop__ticket_transition__free_unpacked(p, NULL);
    assert_int_equal(q_int(m, "SELECT version FROM tickets"), 8);
    assert_int_equal(cl_outbox_reapply(m, id), CL_EPRECONDITION); /* pending now */
}

static void test_list_filters_in_id_order(void **state) {
    cl_mirror_t *m = *state;
    Closeloop__HandoverForm f = CLOSELOOP__HANDOVER_FORM__INIT;
    f.project_id = 1;
    f.unit = "3-2-1701";
    f.outcome = CLOSELOOP__HANDOVER_OUTCOME__OUTCOME_ACCEPTED;
    int64_t ids[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(cl_outbox_add_handover(m, &f, "form", &ids[i]), CL_OK);
    set_state(m, ids[1], "conflict", "");
    set_state(m, ids[2], "failed", "");
    cl_outbox_entry_t *v = NULL;
    size_t n = 0;
    assert_int_equal(cl_outbox_list(m, NULL, &v, &n), CL_OK);
    assert_int_equal(n, 3);
    assert_true(v[0].id < v[1].id && v[1].id < v[2].id);
    free(v);
    assert_int_equal(cl_outbox_list(m, "conflict,failed", &v, &n), CL_OK);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].id, ids[1]);
    assert_string_equal(v[1].state, "failed");
    free(v);
    assert_int_equal(cl_outbox_list(m, "acked", &v, &n), CL_OK);
    assert_int_equal(n, 0);
    free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transition_queued_with_its_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transition_refused_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_queued_with_items_and_tickets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handover_new_and_existing_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_undoes_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_later_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_waits_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reapply_takes_server_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_in_id_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
