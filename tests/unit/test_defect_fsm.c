/* test_defect_fsm.c - unit tests of the defect decision workflow (common/defect_fsm.c).
 *
 * expected() below is the workflow written out again from the issue (2.1-2.5) and the
 * header's diagram, one switch per action, without the table's shape; every (state,
 * action, facts) is compared with it: 11 states (NONE included) x 14 actions (NONE
 * included) x 3 grades x 3 repairable values x approved x estimated. Then the rules the
 * issue names one by one (a non-repairable defect refused without approval, rectify
 * before the estimate, a repairable PLANNED defect never filed straight away, grade B
 * planned to REPORTED ...), the refusal texts, names, and out-of-range input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "defect_fsm.h"

/* What one step must give. */
struct expect {
    int rc;
    cl_defect_step_t step;
    cl_defect_refusal_t why;
};

static struct expect go(cl_defect_state_t to, bool note, cl_defect_actor_t by) {
    return (struct expect){CL_OK, {to, note, by}, CL_DREF_NONE};
}
static struct expect no(void) {
    return (struct expect){CL_ECONFLICT, {0, false, 0}, CL_DREF_NONE};
}
static struct expect refused(cl_defect_refusal_t why) {
    return (struct expect){CL_EPRECONDITION, {0, false, 0}, why};
}

/* The workflow as the issue tells it. */
static struct expect expected(cl_defect_state_t s, cl_defect_action_t a,
                              const cl_defect_facts_t *f) {
    bool nonrep = f->repairable == 0;
    switch (a) {
    case CL_DACT_NONE: return (struct expect){CL_EINVAL, {0, false, 0}, CL_DREF_NONE};
    case CL_DACT_CREATE:
        return s == CL_DEFECT_NONE ? go(CL_DEFECT_COLLECTED, false, CL_DBY_CR) : no();
    case CL_DACT_LINK:
        if (s == CL_DEFECT_NONE || s == CL_DEFECT_ACCEPTED) return no();
        return go(s, false, CL_DBY_CR);
    case CL_DACT_MEET:
        return s == CL_DEFECT_COLLECTED ? go(CL_DEFECT_ANALYSED, true, CL_DBY_CR) : no();
    case CL_DACT_DECIDE:
        return s == CL_DEFECT_ANALYSED ? go(CL_DEFECT_DECIDED, false, CL_DBY_CR) : no();
    case CL_DACT_APPROVE:
        if (s != CL_DEFECT_DECIDED) return no();
        if (!nonrep) return refused(CL_DREF_NOT_NONREPAIRABLE);
        if (f->approved) return refused(CL_DREF_ALREADY_APPROVED);
        return go(CL_DEFECT_DECIDED, false, CL_DBY_SUPERIOR_LEADER);
    case CL_DACT_PLAN:
        if (s != CL_DEFECT_DECIDED || (f->grade != 1 && f->grade != 2)) return no();
        if (nonrep && !f->approved) return refused(CL_DREF_NEEDS_APPROVAL);
        return go(f->grade == 1 ? CL_DEFECT_PLANNED : CL_DEFECT_REPORTED, true, CL_DBY_RESPONSIBLE);
    case CL_DACT_ESTIMATE:
        if (s != CL_DEFECT_PLANNED) return no();
        if (f->grade != 1) return refused(CL_DREF_NOT_GRADE_A);
        return go(CL_DEFECT_PLANNED, false, CL_DBY_COST);
    case CL_DACT_RECTIFY:
        if (s != CL_DEFECT_PLANNED) return no();
        if (nonrep) return refused(CL_DREF_NOTHING_TO_FIX);
        if (!f->estimated) return refused(CL_DREF_NEEDS_ESTIMATE);
        return go(CL_DEFECT_RECTIFIED, true, CL_DBY_RESPONSIBLE);
    case CL_DACT_VERIFY_PASS:
        return s == CL_DEFECT_RECTIFIED ? go(CL_DEFECT_VERIFIED, false, CL_DBY_CR) : no();
    case CL_DACT_VERIFY_FAIL:
        return s == CL_DEFECT_RECTIFIED ? go(CL_DEFECT_PLANNED, true, CL_DBY_CR) : no();
    case CL_DACT_FILE:
        if (s == CL_DEFECT_PLANNED) {
            /* Only a non-repairable grade A files from PLANNED: nothing to fix. */
            if (f->repairable != 0) return no();
            if (!f->approved) return refused(CL_DREF_NEEDS_APPROVAL);
            if (!f->estimated) return refused(CL_DREF_NEEDS_ESTIMATE);
            return go(CL_DEFECT_FILED, false, CL_DBY_CR);
        }
        if (s != CL_DEFECT_VERIFIED && s != CL_DEFECT_REPORTED && s != CL_DEFECT_RETURNED)
            return no();
        if (nonrep && !f->approved) return refused(CL_DREF_NEEDS_APPROVAL);
        return go(CL_DEFECT_FILED, false, CL_DBY_CR);
    case CL_DACT_ACCEPT:
        return s == CL_DEFECT_FILED ? go(CL_DEFECT_ACCEPTED, false, CL_DBY_HQ) : no();
    case CL_DACT_RETURN:
        return s == CL_DEFECT_FILED ? go(CL_DEFECT_RETURNED, true, CL_DBY_HQ) : no();
    case CL_DACT__ACTIONS: break;
    }
    return (struct expect){CL_EINVAL, {0, false, 0}, CL_DREF_NONE};
}

static void test_every_combination(void **state) {
    (void)state;
    int compared = 0, allowed = 0, refusals = 0;
    for (int s = 0; s < CL_DEFECT__STATES; s++)
        for (int a = 0; a < CL_DACT__ACTIONS; a++)
            for (int g = 0; g <= 2; g++)
                for (int r = -1; r <= 1; r++)
                    for (int ap = 0; ap <= 1; ap++)
                        for (int es = 0; es <= 1; es++) {
                            cl_defect_facts_t f = {g, r, ap, es};
                            struct expect e =
                                expected((cl_defect_state_t)s, (cl_defect_action_t)a, &f);
                            cl_defect_step_t got = {CL_DEFECT__STATES, true, 99};
                            cl_defect_refusal_t why = (cl_defect_refusal_t)77;
                            int rc = cl_defect_step((cl_defect_state_t)s, (cl_defect_action_t)a, &f,
                                                    &got, &why);
                            if (rc != e.rc ||
                                (rc == CL_OK && (got.to != e.step.to || got.by != e.step.by ||
                                                 got.note_required != e.step.note_required)) ||
                                why != e.why)
                                fail_msg("state %d action %d grade %d repairable %d approved %d "
                                         "estimated %d: rc %d (want %d), to %d (want %d), by %d "
                                         "(want %d), note %d (want %d), why %d (want %d)",
                                         s, a, g, r, ap, es, rc, e.rc, got.to, e.step.to, got.by,
                                         e.step.by, got.note_required, e.step.note_required, why,
                                         e.why);
                            compared++;
                            allowed += rc == CL_OK;
                            refusals += rc == CL_EPRECONDITION;
                        }
    assert_int_equal(compared, 11 * 14 * 3 * 3 * 2 * 2);
    /* Not vacuous: both outcomes occur many times. */
    assert_true(allowed > 300);
    assert_true(refusals > 50);
}

static int step(cl_defect_state_t s, cl_defect_action_t a, int grade, int repairable, bool approved,
                bool estimated, cl_defect_step_t *out, cl_defect_refusal_t *why) {
    cl_defect_facts_t f = {grade, repairable, approved, estimated};
    return cl_defect_step(s, a, &f, out, why);
}

/* The rules the issue names, one by one. */
static void test_named_rules(void **state) {
    (void)state;
    cl_defect_step_t st;
    cl_defect_refusal_t why;
    /* Grade A path, repairable. */
    assert_int_equal(step(CL_DEFECT_NONE, CL_DACT_CREATE, 0, -1, 0, 0, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_COLLECTED);
    assert_int_equal(step(CL_DEFECT_COLLECTED, CL_DACT_MEET, 0, -1, 0, 0, &st, &why), CL_OK);
    assert_true(st.note_required); /* attendees and minutes */
    assert_int_equal(step(CL_DEFECT_ANALYSED, CL_DACT_DECIDE, 0, -1, 0, 0, &st, &why), CL_OK);
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_PLAN, 1, 1, 0, 0, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_PLANNED);
    assert_int_equal(st.by, CL_DBY_RESPONSIBLE);
    /* Rectify before the estimate: refused with its reason. */
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_RECTIFY, 1, 1, 0, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NEEDS_ESTIMATE);
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_ESTIMATE, 1, 1, 0, 0, &st, &why), CL_OK);
    assert_int_equal(st.by, CL_DBY_COST);
    assert_int_equal(st.to, CL_DEFECT_PLANNED);
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_RECTIFY, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_RECTIFIED);
    /* A repairable PLANNED defect is never filed straight away: the state does not allow it. */
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_FILE, 1, 1, 0, 1, &st, &why), CL_ECONFLICT);
    assert_int_equal(why, CL_DREF_NONE);
    assert_int_equal(step(CL_DEFECT_RECTIFIED, CL_DACT_VERIFY_FAIL, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_PLANNED);
    assert_true(st.note_required);
    assert_int_equal(step(CL_DEFECT_RECTIFIED, CL_DACT_VERIFY_PASS, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_VERIFIED);
    assert_int_equal(step(CL_DEFECT_VERIFIED, CL_DACT_FILE, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_FILED);
    assert_int_equal(step(CL_DEFECT_FILED, CL_DACT_ACCEPT, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.by, CL_DBY_HQ);
    assert_int_equal(step(CL_DEFECT_FILED, CL_DACT_RETURN, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_RETURNED);
    assert_true(st.note_required);
    assert_int_equal(step(CL_DEFECT_RETURNED, CL_DACT_FILE, 1, 1, 0, 1, &st, &why), CL_OK);

    /* Grade B: planned means measures reported to the GM office. */
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_PLAN, 2, 1, 0, 0, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_REPORTED);
    assert_int_equal(step(CL_DEFECT_REPORTED, CL_DACT_FILE, 2, 1, 0, 0, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_FILED);
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_ESTIMATE, 2, 1, 0, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NOT_GRADE_A);

    /* Non-repairable: refused without the superior leader's approval, plan and file. */
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_PLAN, 1, 0, 0, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NEEDS_APPROVAL);
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_PLAN, 2, 0, 0, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NEEDS_APPROVAL);
    assert_int_equal(step(CL_DEFECT_REPORTED, CL_DACT_FILE, 2, 0, 0, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NEEDS_APPROVAL);
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_APPROVE, 1, 0, 0, 0, &st, &why), CL_OK);
    assert_int_equal(st.by, CL_DBY_SUPERIOR_LEADER);
    assert_int_equal(st.to, CL_DEFECT_DECIDED);
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_APPROVE, 1, 0, 1, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_ALREADY_APPROVED);
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_APPROVE, 1, 1, 0, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NOT_NONREPAIRABLE);
    assert_int_equal(step(CL_DEFECT_DECIDED, CL_DACT_PLAN, 1, 0, 1, 0, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_PLANNED);
    /* ... then nothing to fix: estimated, it is filed from PLANNED. */
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_RECTIFY, 1, 0, 1, 1, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NOTHING_TO_FIX);
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_FILE, 1, 0, 1, 0, &st, &why),
                     CL_EPRECONDITION);
    assert_int_equal(why, CL_DREF_NEEDS_ESTIMATE);
    assert_int_equal(step(CL_DEFECT_PLANNED, CL_DACT_FILE, 1, 0, 1, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_FILED);

    /* Wrong state is a conflict, not a precondition. */
    assert_int_equal(step(CL_DEFECT_COLLECTED, CL_DACT_DECIDE, 0, -1, 0, 0, &st, &why),
                     CL_ECONFLICT);
    assert_int_equal(step(CL_DEFECT_ACCEPTED, CL_DACT_LINK, 1, 1, 0, 1, &st, &why), CL_ECONFLICT);
    assert_int_equal(step(CL_DEFECT_FILED, CL_DACT_LINK, 1, 1, 0, 1, &st, &why), CL_OK);
    assert_int_equal(st.to, CL_DEFECT_FILED);
    assert_true(cl_defect_final(CL_DEFECT_ACCEPTED));
    assert_false(cl_defect_final(CL_DEFECT_FILED));
    assert_false(cl_defect_final(CL_DEFECT_RETURNED));
}

static void test_refusal_texts(void **state) {
    (void)state;
    assert_string_equal(cl_defect_refusal_text(CL_DREF_NONE), "");
    assert_non_null(strstr(cl_defect_refusal_text(CL_DREF_NEEDS_APPROVAL),
                           "不可修复缺陷须经上级部门主管领导审批"));
    assert_non_null(strstr(cl_defect_refusal_text(CL_DREF_NEEDS_ESTIMATE), "成本"));
    for (int w = CL_DREF_NEEDS_APPROVAL; w <= CL_DREF_NOT_GRADE_A; w++)
        assert_true(strlen(cl_defect_refusal_text((cl_defect_refusal_t)w)) > 10);
}

static void test_names(void **state) {
    (void)state;
    for (int s = 1; s < CL_DEFECT__STATES; s++) {
        const char *n = cl_defect_state_name((cl_defect_state_t)s);
        assert_non_null(n);
        assert_non_null(cl_defect_state_label((cl_defect_state_t)s));
        assert_int_equal(cl_defect_state_parse(n), s);
    }
    for (int a = 1; a < CL_DACT__ACTIONS; a++) {
        const char *n = cl_defect_action_name((cl_defect_action_t)a);
        assert_non_null(n);
        assert_non_null(cl_defect_action_label((cl_defect_action_t)a));
        assert_int_equal(cl_defect_action_parse(n), a);
    }
    assert_string_equal(cl_defect_state_name(CL_DEFECT_COLLECTED), "collected");
    assert_string_equal(cl_defect_state_name(CL_DEFECT_RETURNED), "returned");
    assert_string_equal(cl_defect_action_name(CL_DACT_VERIFY_PASS), "verify_pass");
    assert_null(cl_defect_state_name(CL_DEFECT_NONE));
    assert_null(cl_defect_state_name(CL_DEFECT__STATES));
    assert_null(cl_defect_action_name(CL_DACT__ACTIONS));
    assert_int_equal(cl_defect_state_parse("Filed"), CL_DEFECT_NONE);
    assert_int_equal(cl_defect_state_parse(NULL), CL_DEFECT_NONE);
    assert_int_equal(cl_defect_action_parse("verify"), CL_DACT_NONE);
}

static void test_out_of_range(void **state) {
    (void)state;
    cl_defect_facts_t f = {1, 1, false, true};
    cl_defect_step_t st = {CL_DEFECT_FILED, true, CL_DBY_HQ}, before = st;
    cl_defect_refusal_t why;
    assert_int_equal(cl_defect_step(CL_DEFECT__STATES, CL_DACT_FILE, &f, &st, &why), CL_EINVAL);
    assert_int_equal(cl_defect_step((cl_defect_state_t)-1, CL_DACT_FILE, &f, &st, &why), CL_EINVAL);
    assert_int_equal(cl_defect_step(CL_DEFECT_VERIFIED, CL_DACT__ACTIONS, &f, &st, &why),
                     CL_EINVAL);
    assert_int_equal(cl_defect_step(CL_DEFECT_VERIFIED, CL_DACT_FILE, NULL, &st, &why), CL_EINVAL);
    assert_int_equal(cl_defect_step(CL_DEFECT_VERIFIED, CL_DACT_FILE, &f, NULL, &why), CL_EINVAL);
    /* why may be NULL. */
    assert_int_equal(cl_defect_step(CL_DEFECT_PLANNED, CL_DACT_RECTIFY,
                                    &(cl_defect_facts_t){1, 1, 0, 0}, &st, NULL),
                     CL_EPRECONDITION);
    /* A refused step leaves the output alone. */
    assert_memory_equal(&st, &before, sizeof st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_combination), cmocka_unit_test(test_named_rules),
        cmocka_unit_test(test_refusal_texts),     cmocka_unit_test(test_names),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
