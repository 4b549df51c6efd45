/* ticket_fsm.c - the ticket transition table; see ticket_fsm.h for the diagram. */
#include "ticket_fsm.h"

#include <string.h>

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

static const char *const state_names[] = {"none",     "dispatch", "open",
                                          "repaired", "closed",   "nofix"};
static const char *const action_names[] = {"none",     "create",      "dispatch",
                                           "repaired", "verify_pass", "verify_fail",
                                           "nofix",    "reassign",    "return"};

_Static_assert(sizeof state_names / sizeof state_names[0] == CL_TICKET__STATES,
               "a name for every ticket state");
_Static_assert(sizeof action_names / sizeof action_names[0] == CL_TACT__ACTIONS,
               "a name for every ticket action");

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
    return (unsigned)s < CL_TICKET__STATES ? state_names[s] : NULL;
}

const char *cl_ticket_action_name(cl_ticket_action_t a) {
    return (unsigned)a < CL_TACT__ACTIONS ? action_names[a] : NULL;
}

cl_ticket_state_t cl_ticket_state_parse(const char *name) {
    for (unsigned i = 1; name && i < CL_TICKET__STATES; i++)
        if (!strcmp(name, state_names[i])) return (cl_ticket_state_t)i;
    return CL_TICKET_NONE;
}

cl_ticket_action_t cl_ticket_action_parse(const char *name) {
    for (unsigned i = 1; name && i < CL_TACT__ACTIONS; i++)
        if (!strcmp(name, action_names[i])) return (cl_ticket_action_t)i;
    return CL_TACT_NONE;
}
