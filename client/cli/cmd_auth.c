/* cmd_auth.c - `cloop login`, `cloop logout` and `cloop whoami`, and what they share
 * with other commands: reading a password without echo, local times.
 *
 * The no-echo prompt talks to /dev/tty, never to stdin/stdout, so it works inside
 * pipelines. While echo is off, the original terminal settings sit in static storage and
 * are put back by an atexit handler and by handlers for the signals that end or stop
 * the process (which then re-raise the signal with its default action). Single-threaded;
 * passwords are wiped from memory once sent. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_domain.h"
#include "cloop.h"
#include "session_store.h"

#define PASSWORD_MAX 1024 /* longest password read, NUL included */

/* ---- times ------------------------------------------------------------------------ */

void cli_format_time_ms(uint64_t ms, char *buf, size_t len) {
    buf[0] = '\0';
    if (ms == 0) return;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
        snprintf(buf, len, "%" PRIu64, ms);
}

/* ---- passwords --------------------------------------------------------------------- */

static int tty_fd = -1;                   /* /dev/tty while a prompt is open */
static struct termios tty_saved;          /* its settings before echo was turned off */
static volatile sig_atomic_t tty_changed; /* echo is off: tty_saved must be restored */
static int atexit_done;                   /* tty_restore is registered with atexit */

static void tty_restore(void) {
    if (tty_changed) {
        (void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved); /* async-signal-safe */
        tty_changed = 0;
    }
}

static void on_tty_signal(int sig) {
    int e = errno;
    tty_restore();
    signal(sig, SIG_DFL);
    raise(sig);
    errno = e;
}

static const int tty_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define NSIG_TTY (sizeof tty_signals / sizeof tty_signals[0])

/* Prompts on the terminal and reads one line without echo. */
static int tty_read(const char *prompt, char *buf, size_t cap) {
    struct sigaction sa, old[NSIG_TTY];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_tty_signal;
    sigemptyset(&sa.sa_mask);
    struct termios t;
    if (tcgetattr(tty_fd, &tty_saved) != 0) {
        cli_errorf("cannot read a password: the terminal does not allow turning echo off");
        return CL_EIO;
    }
    if (!atexit_done && atexit(tty_restore) == 0) atexit_done = 1;
    for (size_t i = 0; i < NSIG_TTY; i++)
        sigaction(tty_signals[i], &sa, &old[i]);
    t = tty_saved;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    t.c_lflag |= ICANON;
    tty_changed = 1;
    int rc = CL_OK;
    if (tcsetattr(tty_fd, TCSAFLUSH, &t) != 0) {
        tty_changed = 0;
        cli_errorf("cannot turn off echo on the terminal: %s", strerror(errno));
        rc = CL_EIO;
        goto out;
    }
    if (write(tty_fd, prompt, strlen(prompt)) < 0) {
        rc = CL_EIO;
        goto out;
    }
    size_t n = 0;
    int too_long = 0;
    for (;;) {
        char ch;
        ssize_t r = read(tty_fd, &ch, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || ch == '\n') {
            if (r < 0) rc = CL_EIO;
            break;
        }
        if (n + 1 < cap)
            buf[n++] = ch;
        else
            too_long = 1;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\r') buf[--n] = '\0';
    (void)!write(tty_fd, "\n", 1);
    if (rc == CL_EIO) {
        cli_errorf("cannot read the password from the terminal");
    } else if (too_long) {
        cli_errorf("the password is too long (at most %zu bytes)", cap - 1);
        rc = CL_EINVAL;
    }
out:
    tty_restore();
    for (size_t i = 0; i < NSIG_TTY; i++)
        sigaction(tty_signals[i], &old[i], NULL);
    return rc;
}

int cli_get_password(const char *env, const char *prompt, int confirm, char *buf, size_t cap) {
    const char *e = getenv(env);
    if (e && *e) {
        if (strlen(e) >= cap) {
            cli_errorf("%s is too long (at most %zu bytes)", env, cap - 1);
            return CL_EINVAL;
        }
        snprintf(buf, cap, "%s", e);
        return CL_OK;
    }
    tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty_fd < 0) {
        cli_errorf("no password: set %s, or run this from a terminal to be asked", env);
        return CL_EINVAL;
    }
    int rc = tty_read(prompt, buf, cap);
    if (rc == CL_OK && !buf[0]) {
        cli_errorf("the password is empty");
        rc = CL_EINVAL;
    }
    if (rc == CL_OK && confirm) {
        char again[PASSWORD_MAX];
        rc = tty_read("Repeat the password: ", again, sizeof again);
        if (rc == CL_OK && strcmp(buf, again) != 0) {
            cli_errorf("the passwords do not match");
            rc = CL_EINVAL;
        }
        explicit_bzero(again, sizeof again);
    }
    close(tty_fd);
    tty_fd = -1;
    if (rc != CL_OK) explicit_bzero(buf, cap);
    return rc;
}

/* ---- login ------------------------------------------------------------------------- */

void cmd_login_help(FILE *out) {
    fprintf(out, "usage: cloop login USER [global options]\n"
                 "\n"
                 "Logs in to the server and keeps the session token for later commands in\n"
                 "$XDG_CONFIG_HOME/closeloop/session (default ~/.config/closeloop/session,\n"
                 "mode 0600), one token per server. The password comes from CLOSELOOP_PASSWORD\n"
                 "when it is set, else it is asked for on the terminal without echo.\n"
                 "\n"
                 "example: cloop login zhang.wei\n");
}

/* "company" part of the login line: whom the user works for. */
static const char *affiliation(const Closeloop__WhoAmI *me) {
    if (me->company_name && *me->company_name) return me->company_name;
    if (me->contractor_name && *me->contractor_name) return me->contractor_name;
    return "no company";
}

int cmd_login(const cli_settings_t *s, int argc, char **argv) {
    if (argc != 1 || argv[0][0] == '-') {
        cli_errorf(argc == 0 ? "login: which user? usage: cloop login USER"
                             : "login: unexpected argument '%s'; usage: cloop login USER",
                   argc ? argv[argc > 1 ? 1 : 0] : "");
        return CLI_EXIT_USAGE;
    }
    const char *user = argv[0];
    cl_client_opts_t o;
    char err[512];
    if (cli_client_opts(s, &o, err, sizeof err) != CL_OK) {
        cli_errorf("%s", err);
        return CLI_EXIT_USAGE;
    }
    char prompt[160], password[PASSWORD_MAX];
    snprintf(prompt, sizeof prompt, "Password for %.64s on %.64s: ", user, s->server);
    if (cli_get_password("CLOSELOOP_PASSWORD", prompt, 0, password, sizeof password) != CL_OK)
        return CLI_EXIT_USAGE;

    cl_client_t *c = NULL;
    int rc = cl_client_connect(&o, &c, err, sizeof err);
    if (rc != CL_OK) {
        explicit_bzero(password, sizeof password);
        return cli_request_failed(rc, err);
    }
    ProtobufCMessage *m = NULL;
    rc = cl_client_login(c, user, password, &m);
    explicit_bzero(password, sizeof password);
    if (rc != CL_OK) {
        rc = cli_request_failed(rc, cl_client_error(c));
        cl_client_close(c);
        return rc;
    }
    Closeloop__LoginReply *lr = (Closeloop__LoginReply *)m;
    int exit_code = CLI_EXIT_OK;
    if (!lr->token || !lr->user) {
        cli_errorf("the server accepted the login but sent no session token");
        exit_code = CLI_EXIT_FAIL;
    } else if (cli_session_save(s->server, lr->token, err, sizeof err) != CL_OK) {
        cli_errorf("%s", err);
        exit_code = CLI_EXIT_FAIL;
    } else {
        char until[64];
        cli_format_time_ms(lr->expires_at_ms ? lr->expires_at_ms : lr->user->expires_at_ms, until,
                           sizeof until);
        const Closeloop__WhoAmI *me = lr->user;
        printf("logged in as %s (%s, %s), session valid until %s\n",
               me->username && *me->username ? me->username : user, cli_role_shown(me->role),
               affiliation(me), until[0] ? until : "(not said)");
    }
    if (lr->token) explicit_bzero(lr->token, strlen(lr->token));
    cl_msg_free(m);
    cl_client_close(c);
    return exit_code;
}

/* ---- logout ------------------------------------------------------------------------ */

void cmd_logout_help(FILE *out) {
    fprintf(out, "usage: cloop logout [global options]\n"
                 "\n"
                 "Ends the session on the server and deletes its token from the session file.\n"
                 "The token is deleted even when the server cannot be reached (the session then\n"
                 "stays valid on the server until it expires, and cloop says so).\n"
                 "\n"
                 "example: cloop logout\n");
}

int cmd_logout(const cli_settings_t *s, int argc, char **argv) {
    if (argc > 0) {
        cli_errorf("logout takes no arguments (got '%s'); see 'cloop logout --help'", argv[0]);
        return CLI_EXIT_USAGE;
    }
    char token[CLI_TOKEN_MAX], err[512];
    int rc = cli_session_load(s->server, token, sizeof token, err, sizeof err);
    if (rc == CL_ENOTFOUND) {
        printf("not logged in on %s\n", s->server);
        return CLI_EXIT_OK;
    }
    if (rc < 0) {
        cli_errorf("%s", err);
        return CLI_EXIT_FAIL;
    }
    /* Tell the server first, then forget the token whatever it said. */
    int exit_code = CLI_EXIT_OK;
    const char *said = NULL;
    char why[512] = "";
    cl_client_opts_t o;
    cl_client_t *c = NULL;
    rc = cli_client_opts(s, &o, why, sizeof why);
    if (rc == CL_OK) rc = cl_client_connect(&o, &c, why, sizeof why);
    if (rc == CL_OK) {
        ProtobufCMessage *m = NULL;
        rc = cl_client_resume(c, token, &m);
        cl_msg_free(m);
        m = NULL;
        if (rc == CL_OK) {
            Closeloop__LogoutRequest req = CLOSELOOP__LOGOUT_REQUEST__INIT;
            rc = cl_client_call(c, CL_MSG_LOGOUT_REQ, &req.base, CL_MSG_OK, &m);
            cl_msg_free(m);
        }
        if (rc == CL_EUNAUTH) {
            said = "the session had already ended";
            rc = CL_OK;
        } else if (rc != CL_OK) {
            snprintf(why, sizeof why, "%s", cl_client_error(c));
        }
        cl_client_close(c);
    }
    explicit_bzero(token, sizeof token);
    if (cli_session_forget(s->server, err, sizeof err) < 0) {
        cli_errorf("%s", err);
        exit_code = CLI_EXIT_FAIL;
    }
    if (rc != CL_OK) {
        cli_errorf("%s; the token was deleted here, but the session stays valid on the server "
                   "until it expires",
                   why[0] ? why : cl_strerror(rc));
        return cli_exit_worse(exit_code, cli_exit_for(rc));
    }
    if (exit_code == CLI_EXIT_OK) {
        if (said)
            printf("logged out of %s (%s)\n", s->server, said);
        else
            printf("logged out of %s\n", s->server);
    }
    return exit_code;
}

/* ---- whoami ------------------------------------------------------------------------ */

void cmd_whoami_help(FILE *out) {
    fprintf(out, "usage: cloop whoami [global options]\n"
                 "\n"
                 "Shows who the stored session belongs to, as the server sees it: user, role,\n"
                 "company or contractor, projects, when the session expires, and the client\n"
                 "certificate (device) of this connection. Key/value rows in the chosen\n"
                 "--format.\n"
                 "\n"
                 "example: cloop whoami --format json\n");
}

/* Joins ids as "1,2,3" into buf. */
static void join_ids(const int64_t *ids, size_t n, char *buf, size_t len) {
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < len; i++) {
        int w = snprintf(buf + off, len - off, "%s%" PRId64, i ? "," : "", ids[i]);
        if (w < 0) break;
        off += (size_t)w;
    }
}

int cmd_whoami(const cli_settings_t *s, int argc, char **argv) {
    if (argc > 0) {
        cli_errorf("whoami takes no arguments (got '%s'); see 'cloop whoami --help'", argv[0]);
        return CLI_EXIT_USAGE;
    }
    cli_session_t ss;
    int rc = cli_session_open(s, &ss);
    if (rc != CLI_EXIT_OK) return rc;
    /* Ask again rather than trust the resume reply: whoami is the explicit question. */
    Closeloop__WhoAmIRequest req = CLOSELOOP__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *m = NULL;
    int crc = cli_session_call(&ss, CL_MSG_WHOAMI_REQ, &req.base, CL_MSG_WHOAMI, &m);
    if (crc != CL_OK) {
        rc = cli_session_fail(&ss, crc);
        cli_session_close(&ss);
        return rc;
    }
    const Closeloop__WhoAmI *me = (const Closeloop__WhoAmI *)m;
    char uid[24], cid[24], kid[24], projects[1024], until[64];
    snprintf(uid, sizeof uid, "%" PRId64, me->user_id);
    cid[0] = kid[0] = 0;
    if (me->company_id) snprintf(cid, sizeof cid, "%" PRId64, me->company_id);
    if (me->contractor_id) snprintf(kid, sizeof kid, "%" PRId64, me->contractor_id);
    join_ids(me->project_ids, me->n_project_ids, projects, sizeof projects);
    cli_format_time_ms(me->expires_at_ms, until, sizeof until);
    const char *rows[][2] = {
        {"server", s->server},
        {"user_id", uid},
        {"username", me->username ? me->username : ""},
        {"display_name", me->display_name ? me->display_name : ""},
        {"role", cli_role_shown(me->role)},
        {"company_id", cid},
        {"company", me->company_name ? me->company_name : ""},
        {"contractor_id", kid},
        {"contractor", me->contractor_name ? me->contractor_name : ""},
        {"projects", projects},
        {"session_expires", until},
        {"device", me->device ? me->device : ""},
        {"device_company", me->device_company ? me->device_company : ""},
    };
    static const char *const header[] = {"key", "value"};
    cli_table_t *t = cli_table_new(2, header);
    rc = CLI_EXIT_OK;
    if (!t) {
        cli_errorf("out of memory");
        rc = CLI_EXIT_FAIL;
    } else {
        cli_table_hide_header(t);
        for (size_t i = 0; i < sizeof rows / sizeof rows[0] && rc == CLI_EXIT_OK; i++)
            if (cli_table_add(t, rows[i]) != CL_OK) {
                cli_errorf("out of memory");
                rc = CLI_EXIT_FAIL;
            }
        if (rc == CLI_EXIT_OK && cli_table_print(t, s->format, stdout) != CL_OK) {
            cli_errorf("cannot write the output");
            rc = CLI_EXIT_FAIL;
        }
    }
    cli_table_free(t);
    cl_msg_free(m);
    cli_session_close(&ss);
    return rc;
}
