/* test_ticket_fsm.c - unit tests of the repair ticket's state machine (common/ticket_fsm.c).
 *
 * The expected table below is written out independently of the implementation, one
 * cell per (action, state) pair including CL_TICKET_NONE and CL_TACT_NONE, straight
 * from the repair loop of DOMAIN.md section 2 and issue 4; every cell must be written,
 * so adding a state or an action without deciding its row or column here fails the
 * test. Then: final states, names and their round trip, out-of-range input, and the
 * invariants the server relies on (the step of an action does not depend on the state
 * it leaves, so one compare-and-set statement serves every from-state). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "ticket_fsm.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the expected table ----------------------------------------------------------- */

/* What one step must give. */
struct expect {
    bool decided; /* written below: a cell left out stays false */
    int rc;       /* CL_OK, CL_ECONFLICT (does not apply) or CL_EINVAL */
    cl_ticket_step_t step;
};

#define NONE_ CL_TICKET_NONE
#define DISP  CL_TICKET_DISPATCH
#define OPEN  CL_TICKET_OPEN
#define REP   CL_TICKET_REPAIRED
#define CLOS  CL_TICKET_CLOSED
#define NOFX  CL_TICKET_NOFIX

#define KEEP  CL_TCON_KEEP
#define SET   CL_TCON_SET
#define CLEAR CL_TCON_CLEAR

/* A step that applies, one that does not, and one that is no transition at all. */
#define GO(to, note, con, rew)                                                                     \
    {                                                                                              \
        true, CL_OK, {                                                                             \
            (to), (note), (con), (rew)                                                             \
        }                                                                                          \
    }
#define NO                                                                                         \
    {                                                                                              \
        true, CL_ECONFLICT, {                                                                      \
            NONE_, false, KEEP, false                                                              \
        }                                                                                          \
    }
#define BAD                                                                                        \
    {                                                                                              \
        true, CL_EINVAL, {                                                                         \
            NONE_, false, KEEP, false                                                              \
        }                                                                                          \
    }

/* One row per action; its columns are the state the ticket is in before it, in order:
 * NONE_, DISP, OPEN, REP, CLOS, NOFX. */
/* clang-format off */
static const struct expect table[][CL_TICKET__STATES] = {
    /* No action is never a transition. */
    [CL_TACT_NONE] = {BAD, BAD, BAD, BAD, BAD, BAD},

    /* Raised from an item: only a ticket that does not exist yet; it opens (the server
     * makes it DISPATCH when no contractor covers the trade). */
    [CL_TACT_CREATE] = {GO(OPEN, false, KEEP, false), NO, NO, NO, NO, NO},

    /* Manual dispatch: from the dispatch list only, naming the contractor. */
    [CL_TACT_DISPATCH] = {NO, GO(OPEN, false, SET, false), NO, NO, NO, NO},

    /* The contractor reports the repair, with a note; it keeps the ticket. */
    [CL_TACT_REPAIRED] = {NO, NO, GO(REP, true, KEEP, false), NO, NO, NO},

    /* Verification passes: closed. Only a ticket reported repaired. */
    [CL_TACT_VERIFY_PASS] = {NO, NO, NO, GO(CLOS, false, KEEP, false), NO, NO},

    /* Verification fails: back to the SAME contractor, with a reason, rework + 1. */
    [CL_TACT_VERIFY_FAIL] = {NO, NO, NO, GO(OPEN, true, KEEP, true), NO, NO},

    /* Decided not to fix, with the uniform explanation: from any live state. */
    [CL_TACT_NOFIX] = {NO, GO(NOFX, true, KEEP, false), GO(NOFX, true, KEEP, false),
                       GO(NOFX, true, KEEP, false), NO, NO},

    /* Reassigned to another contractor or a third-party repairer, with a reason: from a
     * ticket some contractor holds (a dispatch-list ticket is dispatched instead). */
    [CL_TACT_REASSIGN] = {NO, NO, GO(OPEN, true, SET, false), GO(OPEN, true, SET, false),
                          NO, NO},

    /* Returned by the contractor (退单, not its trade): back to manual dispatch, the
     * contractor cleared, never left on the wrong list. */
    [CL_TACT_RETURN] = {NO, NO, GO(DISP, true, CLEAR, false), NO, NO, NO},
};
/* clang-format on */

/* Names for failure messages; NONE has no stored name. */
static const char *sname(cl_ticket_state_t s) {
    const char *n = cl_ticket_state_name(s);
    return n ? n : "none";
}

static const char *aname(cl_ticket_action_t a) {
    const char *n = cl_ticket_action_name(a);
    return n ? n : "none";
}

/* Every (action, state) pair decided once: a new state or action fails here until its
 * row or column is written. */
static void test_table_complete(void **state) {
    (void)state;
    assert_int_equal(ARRAY_LEN(table), (size_t)CL_TACT__ACTIONS);
    for (int a = 0; a < CL_TACT__ACTIONS; a++)
        for (int s = 0; s < CL_TICKET__STATES; s++)
            if (!table[a][s].decided)
                fail_msg("%s --%s--> is not decided", sname((cl_ticket_state_t)s),
                         aname((cl_ticket_action_t)a));
}

static void check_pair(cl_ticket_state_t from, cl_ticket_action_t action) {
    const struct expect *e = &table[action][from];
    if (!e->decided) fail_msg("%s --%s--> is not decided", sname(from), aname(action));
    cl_ticket_step_t got = {CL_TICKET__STATES, true, CLEAR, true}; /* poison */
    int rc = cl_ticket_step(from, action, &got);
    if (rc != e->rc)
        fail_msg("%s --%s--> rc %d, expected %d", sname(from), aname(action), rc, e->rc);
    if (rc != CL_OK) return;
    if (got.to != e->step.to || got.note_required != e->step.note_required ||
        got.contractor != e->step.contractor || got.rework != e->step.rework)
        fail_msg("%s --%s--> {%s, note %d, contractor %d, rework %d}, expected "
                 "{%s, note %d, contractor %d, rework %d}",
                 sname(from), aname(action), sname(got.to), got.note_required, got.contractor,
                 got.rework, sname(e->step.to), e->step.note_required, e->step.contractor,
                 e->step.rework);
}

static void test_every_pair(void **state) {
    (void)state;
    for (int a = 0; a < CL_TACT__ACTIONS; a++)
        for (int s = 0; s < CL_TICKET__STATES; s++)
            check_pair((cl_ticket_state_t)s, (cl_ticket_action_t)a);
}

/* The server checks one statement for every from-state of an action: the step must not
 * depend on the state it leaves. And nothing leaves a final state. */
static void test_invariants(void **state) {
    (void)state;
    for (int a = CL_TACT_NONE + 1; a < CL_TACT__ACTIONS; a++) {
        bool have = false;
        cl_ticket_step_t first = {0};
        for (int s = 0; s < CL_TICKET__STATES; s++) {
            cl_ticket_step_t st;
            if (cl_ticket_step((cl_ticket_state_t)s, (cl_ticket_action_t)a, &st) != CL_OK) continue;
            assert_false(cl_ticket_final((cl_ticket_state_t)s));
            assert_true(st.to != CL_TICKET_NONE);
            if (have) {
                assert_int_equal(st.to, first.to);
                assert_int_equal(st.note_required, first.note_required);
                assert_int_equal(st.contractor, first.contractor);
                assert_int_equal(st.rework, first.rework);
            }
            first = st;
            have = true;
        }
        assert_true(have); /* every action applies somewhere */
    }
    /* Every live state can end: closed or decided not to fix. */
    for (int s = CL_TICKET_DISPATCH; s < CL_TICKET__STATES; s++) {
        if (cl_ticket_final((cl_ticket_state_t)s)) continue;
        cl_ticket_step_t st;
        assert_int_equal(cl_ticket_step((cl_ticket_state_t)s, CL_TACT_NOFIX, &st), CL_OK);
        assert_int_equal(st.to, CL_TICKET_NOFIX);
    }
}

static void test_final(void **state) {
    (void)state;
    assert_false(cl_ticket_final(CL_TICKET_NONE));
    assert_false(cl_ticket_final(CL_TICKET_DISPATCH));
    assert_false(cl_ticket_final(CL_TICKET_OPEN));
    assert_false(cl_ticket_final(CL_TICKET_REPAIRED));
    assert_true(cl_ticket_final(CL_TICKET_CLOSED));
    assert_true(cl_ticket_final(CL_TICKET_NOFIX));
    assert_false(cl_ticket_final(CL_TICKET__STATES));
    assert_false(cl_ticket_final((cl_ticket_state_t)-1));
}

static void test_names(void **state) {
    (void)state;
    /* NONE has no name (index 0 is never looked at); the names come from the registry. */
    static const char *const states[] = {NULL, "dispatch", "open", "repaired", "closed", "nofix"};
    static const char *const actions[] = {NULL,       "create",      "dispatch",
                                          "repaired", "verify_pass", "verify_fail",
                                          "nofix",    "reassign",    "return"};
    assert_int_equal(ARRAY_LEN(states), CL_TICKET__STATES);
    assert_int_equal(ARRAY_LEN(actions), CL_TACT__ACTIONS);
    assert_null(cl_ticket_state_name(CL_TICKET_NONE));
    assert_null(cl_ticket_action_name(CL_TACT_NONE));
    assert_int_equal(cl_ticket_state_parse("none"), CL_TICKET_NONE);
    assert_int_equal(cl_ticket_action_parse("none"), CL_TACT_NONE);
    for (int s = 1; s < CL_TICKET__STATES; s++) {
        assert_string_equal(cl_ticket_state_name((cl_ticket_state_t)s), states[s]);
        assert_int_equal(cl_ticket_state_parse(states[s]), s);
        assert_non_null(cl_ticket_state_label((cl_ticket_state_t)s));
    }
    for (int a = 1; a < CL_TACT__ACTIONS; a++) {
        assert_string_equal(cl_ticket_action_name((cl_ticket_action_t)a), actions[a]);
        assert_int_equal(cl_ticket_action_parse(actions[a]), a);
        assert_non_null(cl_ticket_action_label((cl_ticket_action_t)a));
    }
    assert_string_equal(cl_ticket_state_label(CL_TICKET_DISPATCH), "待派单");
    assert_string_equal(cl_ticket_action_label(CL_TACT_RETURN), "退单");
    /* The database stores these names (tickets.state CHECK, ticket_events.action). */
    assert_int_equal(cl_ticket_state_parse("closed"), CL_TICKET_CLOSED);
    assert_int_equal(cl_ticket_action_parse("verify_fail"), CL_TACT_VERIFY_FAIL);
}

static void test_out_of_range(void **state) {
    (void)state;
    cl_ticket_step_t st = {CL_TICKET_CLOSED, true, CLEAR, true};
    const cl_ticket_step_t before = st;
    assert_int_equal(cl_ticket_step(CL_TICKET__STATES, CL_TACT_REPAIRED, &st), CL_EINVAL);
    assert_int_equal(cl_ticket_step((cl_ticket_state_t)-1, CL_TACT_REPAIRED, &st), CL_EINVAL);
    assert_int_equal(cl_ticket_step(CL_TICKET_OPEN, CL_TACT__ACTIONS, &st), CL_EINVAL);
    assert_int_equal(cl_ticket_step(CL_TICKET_OPEN, (cl_ticket_action_t)-1, &st), CL_EINVAL);
    assert_int_equal(cl_ticket_step(CL_TICKET_OPEN, (cl_ticket_action_t)1000, &st), CL_EINVAL);
    /* A refused step leaves the output alone. */
    assert_int_equal(cl_ticket_step(CL_TICKET_CLOSED, CL_TACT_REPAIRED, &st), CL_ECONFLICT);
    assert_memory_equal(&st, &before, sizeof st);

    assert_null(cl_ticket_state_name(CL_TICKET__STATES));
    assert_null(cl_ticket_state_name((cl_ticket_state_t)-1));
    assert_null(cl_ticket_action_name(CL_TACT__ACTIONS));
    assert_null(cl_ticket_action_name((cl_ticket_action_t)-1));
    assert_int_equal(cl_ticket_state_parse(NULL), CL_TICKET_NONE);
    assert_int_equal(cl_ticket_state_parse(""), CL_TICKET_NONE);
    assert_int_equal(cl_ticket_state_parse("Closed"), CL_TICKET_NONE);
    assert_int_equal(cl_ticket_state_parse("closed "), CL_TICKET_NONE);
    assert_int_equal(cl_ticket_action_parse(NULL), CL_TACT_NONE);
    assert_int_equal(cl_ticket_action_parse("verify"), CL_TACT_NONE);
    assert_int_equal(cl_ticket_action_parse("退单"), CL_TACT_NONE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_complete), cmocka_unit_test(test_every_pair),
        cmocka_unit_test(test_invariants),     cmocka_unit_test(test_final),
        cmocka_unit_test(test_names),          cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
