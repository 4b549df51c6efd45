/* ticket_fsm.c - the ticket transition table; see ticket_fsm.h for the diagram. */
#include "ticket_fsm.h"

#include "domain.h"

#define N CL_TICKET_NONE
#define D CL_TICKET_DISPATCH
#define O CL_TICKET_OPEN
#define R CL_TICKET_REPAIRED
#define C CL_TICKET_CLOSED
#define X CL_TICKET_NOFIX

static const struct {
    cl_ticket_state_t from;
    cl_ticket_action_t action;
    cl_ticket_step_t step;
} transitions[] = {
    /* from  action               to  note   contractor     rework */
    {N, CL_TACT_CREATE, {O, false, CL_TCON_KEEP, false}},
    {D, CL_TACT_DISPATCH, {O, false, CL_TCON_SET, false}},
    {O, CL_TACT_REPAIRED, {R, true, CL_TCON_KEEP, false}},
    {R, CL_TACT_VERIFY_PASS, {C, false, CL_TCON_KEEP, false}},
    {R, CL_TACT_VERIFY_FAIL, {O, true, CL_TCON_KEEP, true}},
    {O, CL_TACT_REASSIGN, {O, true, CL_TCON_SET, false}},
    {R, CL_TACT_REASSIGN, {O, true, CL_TCON_SET, false}},
    {O, CL_TACT_RETURN, {D, true, CL_TCON_CLEAR, false}},
    {D, CL_TACT_NOFIX, {X, true, CL_TCON_KEEP, false}},
    {O, CL_TACT_NOFIX, {X, true, CL_TCON_KEEP, false}},
    {R, CL_TACT_NOFIX, {X, true, CL_TCON_KEEP, false}},
};

/* The C enums mirror the wire enums, whose names live in the registry (domain.c). */
_Static_assert((int)CL_TICKET_DISPATCH == (int)CLOSELOOP__TICKET_STATE__TICKET_DISPATCH &&
                   (int)CL_TICKET_OPEN == (int)CLOSELOOP__TICKET_STATE__TICKET_OPEN &&
                   (int)CL_TICKET_REPAIRED == (int)CLOSELOOP__TICKET_STATE__TICKET_REPAIRED &&
                   (int)CL_TICKET_CLOSED == (int)CLOSELOOP__TICKET_STATE__TICKET_CLOSED &&
                   (int)CL_TICKET_NOFIX == (int)CLOSELOOP__TICKET_STATE__TICKET_NOFIX,
               "cl_ticket_state_t equals TicketState");
_Static_assert((int)CL_TACT_CREATE == (int)CLOSELOOP__TICKET_ACTION__ACTION_CREATE &&
                   (int)CL_TACT_DISPATCH == (int)CLOSELOOP__TICKET_ACTION__ACTION_DISPATCH &&
                   (int)CL_TACT_REPAIRED == (int)CLOSELOOP__TICKET_ACTION__ACTION_REPAIRED &&
                   (int)CL_TACT_VERIFY_PASS == (int)CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_PASS &&
                   (int)CL_TACT_VERIFY_FAIL == (int)CLOSELOOP__TICKET_ACTION__ACTION_VERIFY_FAIL &&
                   (int)CL_TACT_NOFIX == (int)CLOSELOOP__TICKET_ACTION__ACTION_NOFIX &&
                   (int)CL_TACT_REASSIGN == (int)CLOSELOOP__TICKET_ACTION__ACTION_REASSIGN &&
                   (int)CL_TACT_RETURN == (int)CLOSELOOP__TICKET_ACTION__ACTION_RETURN,
               "cl_ticket_action_t equals TicketAction");

int cl_ticket_step(cl_ticket_state_t from, cl_ticket_action_t action, cl_ticket_step_t *out) {
    if ((unsigned)from >= CL_TICKET__STATES || (unsigned)action >= CL_TACT__ACTIONS ||
        action == CL_TACT_NONE)
        return CL_EINVAL;
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        if (transitions[i].from == from && transitions[i].action == action) {
            *out = transitions[i].step;
            return CL_OK;
        }
    }
    return CL_ECONFLICT;
}

bool cl_ticket_final(cl_ticket_state_t s) {
    return s == CL_TICKET_CLOSED || s == CL_TICKET_NOFIX;
}

const char *cl_ticket_state_name(cl_ticket_state_t s) {
    return cl_domain_name(CL_DOM_TICKET_STATE, (int)s);
}

const char *cl_ticket_action_name(cl_ticket_action_t a) {
    return cl_domain_name(CL_DOM_TICKET_ACTION, (int)a);
}

const char *cl_ticket_state_label(cl_ticket_state_t s) {
    return cl_domain_label(CL_DOM_TICKET_STATE, (int)s);
}

const char *cl_ticket_action_label(cl_ticket_action_t a) {
    return cl_domain_label(CL_DOM_TICKET_ACTION, (int)a);
}

cl_ticket_state_t cl_ticket_state_parse(const char *name) {
    return (cl_ticket_state_t)cl_domain_parse(CL_DOM_TICKET_STATE, name);
}

cl_ticket_action_t cl_ticket_action_parse(const char *name) {
    return (cl_ticket_action_t)cl_domain_parse(CL_DOM_TICKET_ACTION, name);
}
