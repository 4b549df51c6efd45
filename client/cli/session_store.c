/* session_store.c - the session token file and session-carrying connections; see
 * session_store.h.
 *
 * File format: lines "SERVER TOKEN"; blank lines and lines starting with '#' are kept
 * as they are; a line for another server is never touched. Writes go to a mkstemp(3)
 * file (0600) in the same directory, are fsync'd, and replace the old file by rename(2).
 * Tokens are never printed and are wiped from memory when a session closes. */
#include "session_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "sha256.h"

#define LINE_MAX_LEN 1024 /* longer lines in the session file are kept, never matched */

static const char *home_dir(void) {
    const char *h = getenv("HOME");
    if (h && *h) return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : NULL;
}

/* The directory holding the session file, and (when parent is not NULL) the directory
 * above it, which may have to be created first. */
static int session_dir(char *buf, size_t len, char *parent, size_t plen) {
    const char *xdg = getenv("XDG_CONFIG_HOME");
    int n;
    if (xdg && xdg[0] == '/') {
        n = snprintf(buf, len, "%s/closeloop", xdg);
        if (parent) snprintf(parent, plen, "%s", xdg);
    } else {
        const char *home = home_dir();
        if (!home) return CL_ECONFIG;
        n = snprintf(buf, len, "%s/.config/closeloop", home);
        if (parent) snprintf(parent, plen, "%s/.config", home);
    }
    return n > 0 && (size_t)n < len ? CL_OK : CL_ECONFIG;
}

int cli_session_path(char *buf, size_t len) {
    char dir[1024];
    int rc = session_dir(dir, sizeof dir, NULL, 0);
    if (rc < 0) return rc;
    int n = snprintf(buf, len, "%s/session", dir);
    return n > 0 && (size_t)n < len ? CL_OK : CL_ECONFIG;
}

/* Whether tok can be stored as one word of a line: printable ASCII, no spaces. */
static int token_ok(const char *tok) {
    size_t n = 0;
    for (; tok[n]; n++)
        if ((unsigned char)tok[n] <= ' ' || (unsigned char)tok[n] >= 0x7F) return 0;
    return n > 0 && n < CLI_TOKEN_MAX;
}

/* If line (without its newline) is "server TOKEN", returns a pointer to TOKEN. */
static const char *match_line(const char *line, const char *server) {
    size_t sl = strlen(server);
    if (strncmp(line, server, sl) != 0 || (line[sl] != ' ' && line[sl] != '\t')) return NULL;
    const char *t = line + sl;
    while (*t == ' ' || *t == '\t')
        t++;
    return t;
}

static void chomp(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

int cli_session_load(const char *server, char *token, size_t cap, char *err, size_t errlen) {
    char path[1100];
    if (cli_session_path(path, sizeof path) < 0) return CL_ENOTFOUND; /* nowhere to look */
    FILE *fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT || errno == ENOTDIR) return CL_ENOTFOUND;
        snprintf(err, errlen, "cannot read the session file %s: %s", path, strerror(errno));
        return CL_EIO;
    }
    char line[LINE_MAX_LEN];
    int rc = CL_ENOTFOUND;
    int cont = 0; /* line is the rest of a line longer than the buffer: never a match */
    while (fgets(line, sizeof line, fp)) {
        int was_cont = cont;
        cont = !strchr(line, '\n');
        if (was_cont) continue;
        chomp(line);
        const char *t = match_line(line, server);
        if (t && token_ok(t) && strlen(t) < cap) {
            snprintf(token, cap, "%s", t);
            rc = CL_OK; /* the last line for a server wins */
        }
    }
    explicit_bzero(line, sizeof line);
    fclose(fp);
    return rc;
}

int cli_session_tag(const char *server, char out[65]) {
    char token[CLI_TOKEN_MAX], err[256];
    out[0] = '\0';
    if (cli_session_load(server, token, sizeof token, err, sizeof err) != CL_OK)
        return CL_ENOTFOUND;
    uint8_t d[CL_SHA256_LEN];
    int rc = cl_sha256(token, strlen(token), d);
    explicit_bzero(token, sizeof token);
    if (rc != CL_OK) return rc;
    for (int i = 0; i < CL_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return CL_OK;
}

/* mkdir that is fine when the directory exists. */
static int ensure_dir(const char *d, char *err, size_t errlen) {
    if (mkdir(d, 0700) == 0 || errno == EEXIST) return CL_OK;
    snprintf(err, errlen, "cannot create %s: %s", d, strerror(errno));
    return CL_EIO;
}

/* Rewrites the session file without server's line, adding "server token" when token is
 * not NULL. *found says whether a line for server was there. */
static int rewrite(const char *server, const char *token, int *found, char *err, size_t errlen) {
    char dir[1024], parent[1024], path[1100], tmp[1120];
    *found = 0;
    if (session_dir(dir, sizeof dir, parent, sizeof parent) < 0 ||
        cli_session_path(path, sizeof path) < 0) {
        snprintf(err, errlen, "cannot tell where to keep the session: set HOME");
        return CL_EIO;
    }
    FILE *in = fopen(path, "r");
    if (!in && errno != ENOENT && errno != ENOTDIR) {
        snprintf(err, errlen, "cannot read the session file %s: %s", path, strerror(errno));
        return CL_EIO;
    }
    if (!in && !token) return CL_ENOTFOUND; /* nothing to remove */
    if (token && (ensure_dir(parent, err, errlen) < 0 || ensure_dir(dir, err, errlen) < 0)) {
        if (in) fclose(in);
        return CL_EIO;
    }
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        snprintf(err, errlen, "cannot write the session file %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        if (in) fclose(in);
        return CL_EIO;
    }
    (void)fchmod(fd, 0600);
    char line[LINE_MAX_LEN];
    int header = 0;
    if (in) {
        int cont = 0, skip = 0; /* inside a long line; dropping the current line */
        while (fgets(line, sizeof line, in)) {
            int was_cont = cont;
            cont = !strchr(line, '\n');
            if (!was_cont) {
                char copy[LINE_MAX_LEN];
                snprintf(copy, sizeof copy, "%s", line);
                chomp(copy);
                skip = match_line(copy, server) != NULL;
                if (skip) *found = 1;
                if (copy[0] == '#') header = 1;
            }
            if (!skip) fputs(line, out);
        }
        if (cont && !skip) fputc('\n', out); /* the old file did not end its last line */
        explicit_bzero(line, sizeof line);
        fclose(in);
    }
    if (token) {
        if (!header)
            fputs("# closeloop sessions, written by 'cloop login': SERVER TOKEN per line.\n"
                  "# Anyone who can read this file can act as you: keep it private.\n",
                  out);
        fprintf(out, "%s %s\n", server, token);
    }
    int bad = fflush(out) != 0 || ferror(out) || fsync(fd) != 0;
    int e = errno;
    if (fclose(out) != 0) bad = 1, e = errno;
    if (bad || rename(tmp, path) != 0) {
        if (!bad) e = errno;
        unlink(tmp);
        snprintf(err, errlen, "cannot write the session file %s: %s", path, strerror(e));
        return CL_EIO;
    }
    return CL_OK;
}

int cli_session_save(const char *server, const char *token, char *err, size_t errlen) {
    if (!token_ok(token)) {
        snprintf(err, errlen, "the server sent a session token that cannot be stored");
        return CL_EINVAL;
    }
    int found;
    return rewrite(server, token, &found, err, errlen);
}

int cli_session_forget(const char *server, char *err, size_t errlen) {
    int found = 0;
    int rc = rewrite(server, NULL, &found, err, errlen);
    if (rc < 0) return rc;
    return found ? CL_OK : CL_ENOTFOUND;
}

/* ---- session-carrying connections ------------------------------------------------ */

/* Connects and resumes; on failure c is closed and rc returned, with the reason in err. */
static int connect_resume(cli_session_t *ss, char *err, size_t errlen) {
    cl_client_opts_t o;
    int rc = cli_client_opts(ss->s, &o, err, errlen);
    if (rc < 0) return rc;
    rc = cl_client_connect(&o, &ss->c, err, errlen);
    if (rc < 0) return rc;
    ProtobufCMessage *m = NULL;
    rc = cl_client_resume(ss->c, ss->token, &m);
    if (rc < 0) {
        snprintf(err, errlen, "%s", cl_client_error(ss->c));
        cl_client_close(ss->c);
        ss->c = NULL;
        return rc;
    }
    cl_msg_free(ss->me ? &ss->me->base : NULL);
    ss->me = (Closeloop__WhoAmI *)m;
    return CL_OK;
}

static void forget_expired(const cli_session_t *ss) {
    char err[512];
    int rc = cli_session_forget(ss->s->server, err, sizeof err);
    if (rc < 0 && rc != CL_ENOTFOUND) cli_errorf("%s", err);
    cli_errorf("your session on %s has expired or was ended: run 'cloop login %s' again",
               ss->s->server,
               ss->me && ss->me->username && *ss->me->username ? ss->me->username : "USER");
}

/* cli_session_open; with net_rc, a server that cannot be reached is not reported but
 * returned (cli_session_open_reach). */
static int session_open(const cli_settings_t *s, cli_session_t *ss, int *net_rc, char *why,
                        size_t whylen) {
    memset(ss, 0, sizeof *ss);
    ss->s = s;
    char err[512];
    int rc = cli_session_load(s->server, ss->token, sizeof ss->token, err, sizeof err);
    if (rc == CL_ENOTFOUND) {
        cli_errorf("not logged in: run cloop login USER");
        return cli_exit_for(CL_EUNAUTH);
    }
    if (rc < 0) {
        cli_errorf("%s", err);
        return CLI_EXIT_FAIL;
    }
    rc = connect_resume(ss, err, sizeof err);
    if (rc == CL_OK) return CLI_EXIT_OK;
    explicit_bzero(ss->token, sizeof ss->token);
    if (net_rc && cli_exit_for(rc) == CLI_EXIT_UNREACHABLE) {
        *net_rc = rc;
        snprintf(why, whylen, "%s", err);
        return CLI_EXIT_UNREACHABLE;
    }
    if (rc != CL_EUNAUTH) return cli_request_failed(rc, err);
    forget_expired(ss);
    return cli_exit_for(rc);
}

int cli_session_open(const cli_settings_t *s, cli_session_t *ss) {
    return session_open(s, ss, NULL, NULL, 0);
}

int cli_session_open_reach(const cli_settings_t *s, cli_session_t *ss, int *net_rc, char *why,
                           size_t whylen) {
    *net_rc = CL_OK;
    return session_open(s, ss, net_rc, why, whylen);
}

/* Whether rc means the connection can no longer be used, so a retry needs a new one. */
static int needs_reconnect(int rc) {
    return rc == CL_ECLOSED || rc == CL_EIO || rc == CL_ETLS || rc == CL_ESHUTDOWN ||
           rc == CL_ETIMEDOUT || rc == CL_EBADFRAME;
}

/* Before retry number attempt (1, 2): waits, and reconnects when needed. Returns CL_OK
 * to retry, or the error to give up with. */
static int prepare_retry(cli_session_t *ss, int rc, int attempt) {
    /* Not CL_ECONFLICT: for a create it usually means a duplicate name, which stays. */
    if (attempt > 2 || rc == CL_ECONFLICT || !cl_err_retryable(rc)) return rc;
    struct timespec pause = {0, attempt == 1 ? 250000000L : 0};
    if (attempt == 2) pause.tv_sec = 1;
    nanosleep(&pause, NULL);
    if (!needs_reconnect(rc)) return CL_OK;
    char err[512];
    cl_client_t *old = ss->c;
    ss->c = NULL;
    int crc = connect_resume(ss, err, sizeof err);
    if (crc < 0) {
        ss->c = old; /* keep the original failure for cli_session_fail */
        return rc;
    }
    cl_client_close(old);
    return CL_OK;
}

int cli_session_call(cli_session_t *ss, uint16_t type, const ProtobufCMessage *req,
                     uint16_t expect_type, ProtobufCMessage **reply) {
    for (int attempt = 1;; attempt++) {
        int rc = cl_client_call(ss->c, type, req, expect_type, reply);
        if (rc == CL_OK) return rc;
        if (prepare_retry(ss, rc, attempt) != CL_OK) return rc;
    }
}

/* Counts delivered pages, so a stream is retried only before the first. */
typedef struct stream_ctx {
    int (*on_page)(void *arg, const ProtobufCMessage *page);
    void *arg;
    unsigned long pages;
} stream_ctx_t;

static int count_page(void *arg, const ProtobufCMessage *page) {
    stream_ctx_t *x = arg;
    x->pages++;
    return x->on_page(x->arg, page);
}

int cli_session_stream(cli_session_t *ss, uint16_t type, const ProtobufCMessage *req,
                       uint16_t page_type, int (*on_page)(void *arg, const ProtobufCMessage *page),
                       void *arg) {
    stream_ctx_t x = {on_page, arg, 0};
    for (int attempt = 1;; attempt++) {
        int rc = cl_client_call_stream(ss->c, type, req, page_type, count_page, &x);
        if (rc == CL_OK || x.pages > 0) return rc;
        if (prepare_retry(ss, rc, attempt) != CL_OK) return rc;
    }
}

int cli_session_max_frame(cli_session_t *ss, uint32_t *out) {
    Closeloop__ServerInfoRequest q = CLOSELOOP__SERVER_INFO_REQUEST__INIT;
    ProtobufCMessage *info = NULL;
    int rc = cli_session_call(ss, CL_MSG_SERVER_INFO_REQ, &q.base, CL_MSG_SERVER_INFO, &info);
    if (rc == CL_OK) *out = ((const Closeloop__ServerInfo *)info)->max_frame;
    cl_msg_free(info);
    return rc;
}

int cli_session_fail(cli_session_t *ss, int rc) {
    if (rc == CL_EUNAUTH) {
        forget_expired(ss);
        return cli_exit_for(rc);
    }
    if (rc == CL_ENOMEM) return cli_request_failed(rc, "out of memory");
    return cli_request_failed(rc, ss->c ? cl_client_error(ss->c) : NULL);
}

void cli_session_close(cli_session_t *ss) {
    cl_client_close(ss->c);
    ss->c = NULL;
    cl_msg_free(ss->me ? &ss->me->base : NULL);
    ss->me = NULL;
    explicit_bzero(ss->token, sizeof ss->token);
}
