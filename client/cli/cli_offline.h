/* cli_offline.h - reading from the server or, when it cannot be reached, from the local
 * mirror (docs/SYNC.md, "Offline reads"): `ticket todo|toverify|show` and `report
 * daily|readiness` open a cli_reader_t instead of a session and send their request through
 * it; offline the mirror answers with the same messages (cl_mirror_call), so they print
 * the same bytes. The mirror's age goes to standard error only.
 *
 * The mirror is --mirror PATH, else $CLOSELOOP_MIRROR, else the one mirror of this
 * server in the default directory (cl_mirror_find; `cloop sync` makes it). --offline
 * reads it without trying the server; without --offline it is read when the server
 * cannot be reached (connect or resume fails: exit status 4 otherwise) and a synced
 * mirror exists; else the usual "cannot reach" error. Single-threaded; a reader owns its
 * session or mirror until cli_reader_close. */
#ifndef CLI_OFFLINE_H
#define CLI_OFFLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cli_config.h"
#include "cloop.h"
#include "cloop_mirror.h"
#include "session_store.h"

typedef struct cli_reader {
    cli_session_t ss;            /* online: the session (ss.c NULL offline) */
    cl_mirror_t *m;              /* offline: the mirror that answers */
    const Closeloop__WhoAmI *me; /* who we are: the server's, or the mirror's record */
    Closeloop__WhoAmI *own_me;   /* offline: the mirror's WhoAmI (owned) */
} cli_reader_t;

/* The verbs' help paragraph. */
#define CLI_OFFLINE_HELP                                                                           \
    "Offline: when the server cannot be reached, or always with --offline, the answer\n"           \
    "comes from the local mirror ('cloop sync'), the same output; the mirror's age goes\n"         \
    "to standard error. --mirror PATH (or CLOSELOOP_MIRROR) names the mirror file.\n"

/* What the command line said: --offline, --mirror PATH (NULL: not given). */
typedef struct cli_offline_opts {
    bool offline;
    const char *mirror;
} cli_offline_opts_t;

/* Opens r online, or offline from the mirror (see above). Returns CLI_EXIT_OK, or prints
 * why not and returns the exit status. */
CL_MUSTCHECK int cli_reader_open(const cli_settings_t *s, const cli_offline_opts_t *o,
                                 cli_reader_t *r);

/* cli_session_call / cli_session_stream, or the mirror's answer. */
CL_MUSTCHECK int cli_reader_call(cli_reader_t *r, uint16_t type, const ProtobufCMessage *req,
                                 uint16_t expect_type, ProtobufCMessage **reply);
CL_MUSTCHECK int cli_reader_stream(cli_reader_t *r, uint16_t type, const ProtobufCMessage *req,
                                   uint16_t page_type,
                                   int (*on_page)(void *arg, const ProtobufCMessage *page),
                                   void *arg);

/* Reports a failed call as cli_session_fail does (the server's or the mirror's sentence);
 * returns the exit status. */
int cli_reader_fail(cli_reader_t *r, int rc);

void cli_reader_close(cli_reader_t *r);

/* The age line of a mirror synced at synced_ms (ms since the epoch), seen at now_ms:
 * "离线：本地镜像，更新于 2026-12-05 09:30（12 分钟前）/ offline: local mirror as of
 * 2026-12-05 09:30 (12 minutes ago)", local time. */
void cli_offline_age_line(int64_t synced_ms, int64_t now_ms, char *buf, size_t len);

#endif
