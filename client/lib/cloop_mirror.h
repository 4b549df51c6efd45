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
/* ---- offline reads (cloop_mirror_read.c) ---- */
/* (declared by their modules below as they land) */

/* Offline reads: */

/* Finds the one mirror of server in the default directory (cl_mirror_default_path, any
 * user), for reading offline when no session can say who the user is: CL_OK with its
 * path in out, CL_ENOTFOUND when there is none, CL_EINVAL when there are several. */
CL_MUSTCHECK int cl_mirror_find(const char *server, char *out, size_t cap);

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
