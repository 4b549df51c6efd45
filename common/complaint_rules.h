/* complaint_rules.h - a complaint's class (一般 / 重要 / 热点 / 重大) from its facts, by the
 * group's rules (docs/COMPLAINTS.md, DOMAIN.md section 4):
 *   major      legal action or media exposure; 10 or more complainants; open more than 30
 *              days through our fault;
 *   hot        the risk of legal action or media; 3 or more distinct complainants with the
 *              same issue within 30 days; a collective complaint of 3 or more; open more
 *              than 7 days through our fault;
 *   important  reopened after closure; needs outside support.
 * The highest class whose rule holds wins; the reason names every rule of that class that
 * holds, in Chinese, for the complaint's events.
 *
 *
 * A complaint's clocks (first reply, closure) are budgets of business seconds over the
 * company calendar (bizcal.h): cl_cclock_* keep one while it runs, pauses, resumes and
 * stops, and plan when it runs out (due) and reaches 75 % (warn) if it keeps running.
 *
 * Pure: no I/O, no allocation, no globals; any thread. The caller owns every buffer. */
#ifndef CL_COMPLAINT_RULES_H
#define CL_COMPLAINT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bizcal.h"

/* The classes, lowest first; the numbers are the wire values of ComplaintClass. */
typedef enum cl_complaint_class {
    CL_CCLASS_ORDINARY = 1,
    CL_CCLASS_IMPORTANT = 2,
    CL_CCLASS_HOT = 3,
    CL_CCLASS_MAJOR = 4,
} cl_complaint_class_t;

#define CL_COMPLAINT_MAJOR_COMPLAINANTS 10
#define CL_COMPLAINT_HOT_COMPLAINANTS   3  /* of one collective complaint */
#define CL_COMPLAINT_HOT_SAME_ISSUE     3  /* distinct complainants of one issue ... */
#define CL_COMPLAINT_SAME_ISSUE_DAYS    30 /* ... within this many days */
#define CL_COMPLAINT_HOT_DAYS           7  /* open longer than this through our fault */
#define CL_COMPLAINT_MAJOR_DAYS         30

typedef struct cl_complaint_facts {
    bool legal;           /* already in court */
    bool media;           /* already exposed by media */
    bool legal_risk;      /* may lead to court */
    bool media_risk;      /* may lead to media */
    bool outside_support; /* needs support from outside the company */
    bool reopened;        /* reopened after a closure */
    int64_t complainants; /* people behind this complaint (collective: more than 1) */
    int64_t same_issue;   /* distinct complainants of the same issue within 30 days of
                             this complaint, this one included */
    int64_t fault_open_s; /* seconds open, less the time spent waiting on the owner */
} cl_complaint_facts_t;

/* The class the facts give; reason (len > 0) gets the rules that gave it, "" for none. */
cl_complaint_class_t cl_complaint_classify(const cl_complaint_facts_t *f, char *reason, size_t len);

/* ---- clocks ---------------------------------------------------------------------------- */

#define CL_CCLOCK_FIRST_REPLY_S        (4 * 3600)  /* customer system: 4 business hours */
#define CL_CCLOCK_FIRST_REPLY_ONLINE_S (24 * 3600) /* online: 24 business hours */
#define CL_CCLOCK_WARN_PERCENT         75

/* One clock; instants are UTC seconds, 0 for none. */
typedef struct cl_cclock {
    int64_t budget;  /* business seconds it may use */
    int64_t used;    /* business seconds used up to `running` (in all when not running) */
    int64_t running; /* running since; 0: paused or stopped */
    int64_t due;     /* runs out then if it keeps running; 0: not running */
    int64_t warn;    /* reaches the warning share then; 0: not running */
    int64_t stopped; /* met (replied, closed) then; 0: not stopped */
} cl_cclock_t;

/* Brings used up to now when the clock runs (running becomes now). */
void cl_cclock_tick(cl_cclock_t *k, const cl_bizcal_t *cal, int64_t now);
/* After a tick: pause (keeps used), resume (a paused clock runs from now), stop for good. */
void cl_cclock_pause(cl_cclock_t *k);
void cl_cclock_resume(cl_cclock_t *k, int64_t now);
void cl_cclock_stop(cl_cclock_t *k, int64_t now);
/* Recomputes due and warn from now (after a tick): 0 when not running; an instant already
 * passed (used beyond the share) keeps the one it had, or becomes now when it had none. */
void cl_cclock_plan(cl_cclock_t *k, const cl_bizcal_t *cal, int64_t now);
/* Appends "NAME：已用2小时15分，到期2025-10-09 13:30" (running), "NAME：暂停，已用…，剩余…"
 * or "NAME：已完成" to buf (len > 0), "；" after any text already there; local time is
 * cal's. */
void cl_cclock_describe(char *buf, size_t len, const char *name, const cl_cclock_t *k,
                        const cl_bizcal_t *cal);

#endif
