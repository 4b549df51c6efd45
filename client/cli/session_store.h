/* session_store.h - cloop's logged-in sessions: the token kept per server on disk, and
 * opening a connection that carries the session.
 *
 * The token store is one file, $XDG_CONFIG_HOME/closeloop/session (else
 * ~/.config/closeloop/session), mode 0600 in a 0700 directory, holding "SERVER TOKEN"
 * lines keyed by "host:port". It is rewritten whole through a temporary file and
 * rename(2), so a reader never sees half a file. A command that needs a session opens it
 * with cli_session_open (connect, then SessionResumeRequest with the stored token) and
 * sends its requests through cli_session_call / cli_session_stream, which retry what may
 * succeed on a retry (the same request: creates keep their idempotency key). Single
 * thread; a cli_session_t owns its connection and identity until cli_session_close. */
#ifndef CLI_SESSION_STORE_H
#define CLI_SESSION_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"
#include "cli_config.h"
#include "cloop.h"

#define CLI_TOKEN_MAX 256 /* longest token accepted from the server, NUL included */

/* The session file's path (into buf). CL_OK, or CL_ECONFIG when no home is known. */
CL_MUSTCHECK int cli_session_path(char *buf, size_t len);

/* The stored token for server ("host:port"). CL_OK with token filled in, CL_ENOTFOUND
 * when there is none, or CL_EIO with one sentence in err. */
CL_MUSTCHECK int cli_session_load(const char *server, char *token, size_t cap, char *err,
                                  size_t errlen);

/* Stores (or replaces) server's token, creating the directory 0700 and the file 0600.
 * CL_OK, CL_EINVAL (a token that cannot be stored as one word), or CL_EIO with err. */
CL_MUSTCHECK int cli_session_save(const char *server, const char *token, char *err, size_t errlen);

/* The session tag of server's stored token: the hex SHA-256 of the token (never the token
 * itself), which `cloop sync` records in the mirror so that, offline, each user of a
 * shared computer finds their own mirror (cl_mirror_find_for). CL_OK, or CL_ENOTFOUND
 * when no token is stored. */
CL_MUSTCHECK int cli_session_tag(const char *server, char out[65]);

/* Removes server's token. CL_OK, CL_ENOTFOUND when there was none, or CL_EIO with err. */
CL_MUSTCHECK int cli_session_forget(const char *server, char *err, size_t errlen);

/* An open connection that carries the user's session. */
typedef struct cli_session {
    const cli_settings_t *s;   /* the settings it was opened with (not owned) */
    cl_client_t *c;            /* the connection; replaced when a retry reconnects */
    Closeloop__WhoAmI *me;     /* who the server says we are (owned) */
    char token[CLI_TOKEN_MAX]; /* the stored token, for reconnecting */
} cli_session_t;

/* Connects and resumes the stored session of s->server. Returns CLI_EXIT_OK, or prints
 * why not and returns the exit code to use: CLI_EXIT_REFUSED for "not logged in: run
 * cloop login USER" and "session expired" (after deleting the stale token), else
 * cli_exit_for the connection's failure (CLI_EXIT_FAIL when the session file cannot be
 * read). */
CL_MUSTCHECK int cli_session_open(const cli_settings_t *s, cli_session_t *ss);

/* As cli_session_open, except when the server cannot be reached (the connection or the
 * resume fails with an error cli_exit_for maps to CLI_EXIT_UNREACHABLE): then nothing is
 * printed, *net_rc is the CL_* code and why its sentence, and CLI_EXIT_UNREACHABLE is
 * returned, so the caller may answer from the mirror instead (cli_offline.h). *net_rc is
 * CL_OK for every other outcome. */
CL_MUSTCHECK int cli_session_open_reach(const cli_settings_t *s, cli_session_t *ss, int *net_rc,
                                        char *why, size_t whylen);

/* cl_client_call on the session, retrying up to twice with a short pause when the error
 * says a retry may succeed, on a new connection when the old one is gone. */
CL_MUSTCHECK int cli_session_call(cli_session_t *ss, uint16_t type, const ProtobufCMessage *req,
                                  uint16_t expect_type, ProtobufCMessage **reply);

/* cl_client_call_stream on the session; retried like cli_session_call, but only while
 * no page has been delivered yet. */
CL_MUSTCHECK int cli_session_stream(cli_session_t *ss, uint16_t type, const ProtobufCMessage *req,
                                    uint16_t page_type,
                                    int (*on_page)(void *arg, const ProtobufCMessage *page),
                                    void *arg);

/* The server's frame limit (ServerInfo.max_frame) into *out: a request whose packed size
 * is larger must not be sent. A CL_* code of the call. */
CL_MUSTCHECK int cli_session_max_frame(cli_session_t *ss, uint32_t *out);

/* Reports a failed call: "cloop: <the server's sentence>"; for CL_EUNAUTH it deletes the
 * stale token and says the session expired. Returns cli_exit_for(rc). */
int cli_session_fail(cli_session_t *ss, int rc);

void cli_session_close(cli_session_t *ss);

#endif
