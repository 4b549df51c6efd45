/* cloop_mirror.h - libcloop's desktop side of sync: a local mirror of what the logged-in
 * user may see, an offline outbox of entries the server has not yet acknowledged, and
 * the pusher that delivers them (docs/SYNC.md).
 *
 * One cl_mirror_t is one SQLite file (client/lib/mirror_schema.sql) holding both the
 * mirror and the outbox, so an entry and its optimistic change to the mirror are written
 * in one local transaction. A file belongs to one user of one server: opening it for
 * another refuses. Thread-compatible like cl_client_t: one thread at a time per handle;
 * two processes may open the same file (SQLite locking, WAL, busy timeout), e.g. a
 * `cloop sync --follow` and a clerk's `cloop ticket repaired`.
 *
 * Every call returns CL_OK or a negative CL_E* code and leaves one sentence fit for a
 * person in cl_mirror_error(). Messages returned to the caller are the caller's, freed
 * with cl_msg_free (protobuf-c). */
#ifndef CLOOP_MIRROR_H
#define CLOOP_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloop.h"

typedef struct cl_mirror cl_mirror_t;

/* ---- the file (cloop_mirror.c) ---- */

/* The default path: $XDG_DATA_HOME/closeloop (else ~/.local/share/closeloop) /
 * mirror-<username>@<server>.sqlite, the server's ':' made '_'. */
CL_MUSTCHECK int cl_mirror_default_path(const char *username, const char *server, char *out,
                                        size_t cap);

/* Opens (creating when missing, with its directories, mode 0600) the mirror at path for
 * username on server; refuses a file of another user or server (CL_EINVAL). */
CL_MUSTCHECK int cl_mirror_open(const char *path, const char *username, const char *server,
                                cl_mirror_t **out, char *err, size_t errlen);
void cl_mirror_close(cl_mirror_t *m);
const char *cl_mirror_error(const cl_mirror_t *m);

/* The SQLite handle (sqlite3 *), for the library's own modules and tests. */
void *cl_mirror_db(cl_mirror_t *m);

/* Meta values (sync_meta): NULL/def when absent. */
const char *cl_mirror_meta(cl_mirror_t *m, const char *key, char *buf, size_t cap);
int64_t cl_mirror_meta_int(cl_mirror_t *m, const char *key, int64_t def);
CL_MUSTCHECK int cl_mirror_meta_set(cl_mirror_t *m, const char *key, const char *value);

/* ---- pulling (cloop_sync.c) ---- */

typedef struct cl_sync_progress {
    const char *phase;  /* "snapshot", "feed", "verify", "resync" */
    const char *entity; /* during a snapshot or resync */
    uint64_t rows;      /* rows applied so far in this call */
    uint64_t bytes;     /* payload bytes received so far in this call */
} cl_sync_progress_t;

typedef struct cl_sync_opts {
    void (*progress)(void *arg, const cl_sync_progress_t *p); /* may be NULL */
    void *arg;
    bool verify; /* compare checksums after pulling and re-sync what differs */
} cl_sync_opts_t;

typedef struct cl_sync_stats {
    uint64_t rows;       /* rows applied */
    uint64_t held;       /* rows held back for unacknowledged entries */
    uint64_t bytes;      /* payload bytes received */
    bool snapshot;       /* a snapshot was (re)started or resumed */
    unsigned resynced;   /* (project, entity) pairs re-synced after a checksum differed */
    unsigned unverified; /* pairs not compared: unacknowledged outbox entries touch them */
    bool held_back;      /* the server holds changes of a transaction still open */
} cl_sync_stats_t;

/* Brings the mirror up to date over c (logged in): resumes or starts the snapshot, then
 * pulls the feed until it is caught up; with o->verify compares checksums. Every page is
 * applied in one local transaction with its cursor, so a kill at any byte resumes. */
CL_MUSTCHECK int cl_mirror_pull(cl_mirror_t *m, cl_client_t *c, const cl_sync_opts_t *o,
                                cl_sync_stats_t *st);

/* Stays subscribed to the server's notices and pulls on each (and every interval_ms
 * without one) until *stop becomes true or the connection fails. */
CL_MUSTCHECK int cl_mirror_follow(cl_mirror_t *m, cl_client_t *c, const cl_sync_opts_t *o,
                                  int interval_ms, volatile const int *stop);

/* When the mirror last caught up with the server (ms since the epoch), 0 when never. */
int64_t cl_mirror_synced_ms(cl_mirror_t *m);

/* Applies rows held for (entity, key) now that no unacknowledged entry touches it. */
CL_MUSTCHECK int cl_mirror_release_held(cl_mirror_t *m, const char *entity, const char *key);

/* ---- the outbox and the pusher (cloop_outbox.c) ---- */

/* An entry's lifecycle (mirror_schema.sql, docs/SYNC.md): pending -> sending -> acked |
 * conflict | failed; conflict and failed -> pending (resolve, re-apply) or dropped
 * (resolve, drop with a note: the optimistic change is undone). */
typedef struct cl_outbox_entry {
    int64_t id;
    int64_t created_ms;
    char kind[16];  /* items, handover, transition */
    char state[12]; /* pending, sending, acked, conflict, failed, dropped */
    char idem_key[40];
    char summary[256]; /* what the entry does, for people */
    int attempts;
    int64_t next_attempt_ms; /* pending: not pushed before (backoff) */
    int error_code;          /* the CL_E* code of the last failure, 0 */
    char last_error[256];
    char server_side[512]; /* a conflict: the record as it is now on the server (JSON) */
    char note[512];        /* dropped: why */
    int64_t done_ms;       /* acked or dropped */
} cl_outbox_entry_t;

/* Queues an ItemBatch (`inspect import` chunk, `inspect record`): its items and their
 * tickets go into the mirror at once (the ticket's id is its item's; its number, deadline
 * and contractor's name come from the server). The item ids are the batch's keys. */
CL_MUSTCHECK int cl_outbox_add_items(cl_mirror_t *m, const Closeloop__ItemBatch *b,
                                     const char *summary, int64_t *id);

/* Queues a HandoverForm with its idempotency key (a fresh one when it has none: give the
 * key an online attempt used, so a form the server applied before the connection dropped
 * is not applied twice); the unit's record of the handover
 * round is written into the mirror (a record the mirror does not have yet gets a local,
 * negative id until the server acknowledges the form). */
CL_MUSTCHECK int cl_outbox_add_handover(cl_mirror_t *m, const Closeloop__HandoverForm *f,
                                        const char *summary, int64_t *id);

/* Queues a TicketTransition on a ticket of the mirror (by id, or project and number):
 * expected_version is the mirror's version, the key the request's (else fresh, as for a
 * handover form), and the ticket moves in the
 * mirror as the server would move it. CL_ENOTFOUND when the mirror does not have the
 * ticket, CL_ECONFLICT when the action does not apply to its state in the mirror. */
CL_MUSTCHECK int cl_outbox_add_transition(cl_mirror_t *m, const Closeloop__TicketTransition *t,
                                          const char *summary, int64_t *id);

/* The entries in id order: every one when state is NULL, else those in state (a
 * comma-separated list: "conflict,failed"). *out is malloc'd (the caller frees it). */
CL_MUSTCHECK int cl_outbox_list(cl_mirror_t *m, const char *state, cl_outbox_entry_t **out,
                                size_t *n);

/* One entry by id; CL_ENOTFOUND. */
CL_MUSTCHECK int cl_outbox_get(cl_mirror_t *m, int64_t id, cl_outbox_entry_t *out);

/* Entries not yet acknowledged (pending, sending, conflict, failed). */
int64_t cl_outbox_unacked(cl_mirror_t *m);

typedef struct cl_outbox_push_stats {
    unsigned sent;      /* entries sent in this push */
    unsigned acked;     /* acknowledged (replays included) */
    unsigned conflicts; /* became conflicts */
    unsigned failed;    /* refused for good */
    unsigned left;      /* still pending afterwards */
    int stopped;        /* CL_OK, or the retryable failure that stopped the push */
    char why[256];      /* then: its sentence */
} cl_outbox_push_stats_t;

#define CL_OUTBOX_PUSH_NOW 1 /* ignore next_attempt_ms (the user asked for the push) */

/* Sends pending entries over c (logged in) in id order, one at a time. A retryable
 * failure (the network, ERR_UNAVAILABLE, TIMEOUT, SHUTTING_DOWN, TOO_MANY) leaves the
 * entry pending with exponential backoff (1 s doubling to 5 min) and stops the push; a
 * conflict (ERR_CONFLICT on a transition, or ERR_NOT_FOUND: the ticket left the user's
 * scope meanwhile) keeps the server's side; another refusal is
 * final (failed); both let the push go on. After an ack, rows held for the entry's rows
 * are applied (cl_mirror_release_held). Returns CL_OK when the push ran (st says how far),
 * or a local failure of the mirror. */
CL_MUSTCHECK int cl_outbox_push(cl_mirror_t *m, cl_client_t *c, int flags,
                                cl_outbox_push_stats_t *st);

/* Resolves a conflict or failed entry: re-apply sends it again (a transition with the
 * server's current version and a new key); drop undoes its optimistic change, keeps it as
 * dropped with note, and applies the rows held for it. CL_EPRECONDITION when the entry is
 * in another state, or (drop) when a later unacknowledged entry changed one of its rows
 * (that one is resolved first); CL_ENOTFOUND when there is none. */
CL_MUSTCHECK int cl_outbox_reapply(cl_mirror_t *m, int64_t id);
CL_MUSTCHECK int cl_outbox_drop(cl_mirror_t *m, int64_t id, const char *note);

/* ---- offline reads (cloop_mirror_read.c) ---- */
/* (declared by their modules below as they land) */

/* Offline reads: */

/* Finds the one mirror of server in the default directory (cl_mirror_default_path, any
 * user), for reading offline when no session can say who the user is: CL_OK with its
 * path in out, CL_ENOTFOUND when there is none, CL_EINVAL when there are several. */
CL_MUSTCHECK int cl_mirror_find(const char *server, char *out, size_t cap);

/* The same, choosing among several mirrors of server the one whose sync_meta
 * "session_tag" is tag (the logged-in session's, which `cloop sync` records): several users
 * of one computer each find their own. CL_EINVAL when several remain. */
CL_MUSTCHECK int cl_mirror_find_for(const char *server, const char *tag, char *out, size_t cap);

/* Opens the mirror at path of whichever user it belongs to (its sync_meta says), refusing
 * one of another server; never creates a file: CL_ENOTFOUND (with err) when there is none. */
CL_MUSTCHECK int cl_mirror_open_existing(const char *path, const char *server, cl_mirror_t **out,
                                         char *err, size_t errlen);

/* Records the contractor the mirror's user belongs to (WhoAmI.contractor_id, 0 for none;
 * sync_meta contractor_id), which offline reads need beside the role and user id the pull
 * records (SyncStart): a contractor's to-repair list is its own. `cloop sync` calls it. */
CL_MUSTCHECK int cl_mirror_identity_save(cl_mirror_t *m, int64_t contractor_id);

/* Who the mirror's user is, as a WhoAmI (username, user_id, role, contractor_id and its
 * name) from what cl_mirror_identity_save recorded; the caller's (cl_msg_free). */
CL_MUSTCHECK int cl_mirror_whoami(cl_mirror_t *m, ProtobufCMessage **out);

/* Answers a request from the mirror exactly as the server would, as cl_client_call does
 * over the wire: TicketShowRequest -> TicketHistory, DailyReportRequest -> DailyReport,
 * ReadinessRequest -> Readiness. The same refusals with the server's sentences (in
 * cl_mirror_error: "no such ticket", CL_ENOTFOUND ...); CL_EUNKNOWNTYPE for a request the
 * mirror cannot answer. *reply is the caller's (cl_msg_free). */
CL_MUSTCHECK int cl_mirror_call(cl_mirror_t *m, uint16_t type, const ProtobufCMessage *req,
                                uint16_t expect_type, ProtobufCMessage **reply);

/* The streamed lists, as cl_client_call_stream: TodoListRequest and ToVerifyListRequest
 * as TicketPage pages of at most 500 tickets (the server's keyset pages), at least one.
 * on_page returning non-zero stops the list with that code. */
CL_MUSTCHECK int cl_mirror_call_stream(cl_mirror_t *m, uint16_t type, const ProtobufCMessage *req,
                                       uint16_t page_type,
                                       int (*on_page)(void *arg, const ProtobufCMessage *page),
                                       void *arg);

#endif
