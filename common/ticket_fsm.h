/* ticket_fsm.h - the repair ticket's state machine as one pure table.
 *
 *   (raised) --create--> DISPATCH (no contractor for its trade) or OPEN (dispatched)
 *   DISPATCH --dispatch(contractor)--> OPEN
 *   OPEN --repaired(note)--> REPAIRED
 *   REPAIRED --verify_pass--> CLOSED
 *   REPAIRED --verify_fail(reason)--> OPEN, same contractor, rework + 1
 *   OPEN | REPAIRED --reassign(contractor, reason)--> OPEN, the new contractor
 *   OPEN --return(reason)--> DISPATCH, contractor cleared (退单: not its trade)
 *   DISPATCH | OPEN | REPAIRED --nofix(explanation)--> NOFIX
 * CLOSED and NOFIX are final. The server applies a transition as compare-and-set on
 * (id, state, version), so of two racing clerks one wins and one gets a conflict. The
 * enum values equal TicketState / TicketAction in proto/closeloop.proto. No I/O. */
#ifndef CL_TICKET_FSM_H
#define CL_TICKET_FSM_H

#include <stdbool.h>

#include "cl_err.h"

typedef enum cl_ticket_state {
    CL_TICKET_NONE = 0,
    CL_TICKET_DISPATCH = 1,
    CL_TICKET_OPEN = 2,
    CL_TICKET_REPAIRED = 3,
    CL_TICKET_CLOSED = 4,
    CL_TICKET_NOFIX = 5,
    CL_TICKET__STATES
} cl_ticket_state_t;

typedef enum cl_ticket_action {
    CL_TACT_NONE = 0,
    CL_TACT_CREATE = 1,
    CL_TACT_DISPATCH = 2,
    CL_TACT_REPAIRED = 3,
    CL_TACT_VERIFY_PASS = 4,
    CL_TACT_VERIFY_FAIL = 5,
    CL_TACT_NOFIX = 6,
    CL_TACT_REASSIGN = 7,
    CL_TACT_RETURN = 8,
    CL_TACT__ACTIONS
} cl_ticket_action_t;

/* What happens to the ticket's contractor. */
typedef enum cl_ticket_contractor {
    CL_TCON_KEEP = 0, /* unchanged */
    CL_TCON_SET,      /* the request must name a contractor; it becomes the ticket's */
    CL_TCON_CLEAR,    /* no contractor afterwards */
} cl_ticket_contractor_t;

typedef struct cl_ticket_step {
    cl_ticket_state_t to;
    bool note_required; /* a note, reason or explanation must be given */
    cl_ticket_contractor_t contractor;
    bool rework; /* the rework count goes up */
} cl_ticket_step_t;

/* The step for action from state; CL_OK, or CL_ECONFLICT when the action does not
 * apply to that state (e.g. verifying a ticket nobody reported repaired), or CL_EINVAL
 * for an unknown state or action. CREATE applies to CL_TICKET_NONE and yields OPEN;
 * the server turns it into DISPATCH when no contractor covers the trade. */
CL_MUSTCHECK int cl_ticket_step(cl_ticket_state_t from, cl_ticket_action_t action,
                                cl_ticket_step_t *out);

/* Whether the state is final (CLOSED or NOFIX). */
bool cl_ticket_final(cl_ticket_state_t s);

/* Stored names from the registry (domain.h): "open", "verify_fail" ...; NULL for NONE
 * and out of range. Labels: "待维修", "验收不通过" ...; NULL likewise. */
const char *cl_ticket_state_name(cl_ticket_state_t s);
const char *cl_ticket_action_name(cl_ticket_action_t a);
const char *cl_ticket_state_label(cl_ticket_state_t s);
const char *cl_ticket_action_label(cl_ticket_action_t a);
cl_ticket_state_t cl_ticket_state_parse(const char *name);   /* CL_TICKET_NONE if unknown */
cl_ticket_action_t cl_ticket_action_parse(const char *name); /* CL_TACT_NONE if unknown */

#endif
