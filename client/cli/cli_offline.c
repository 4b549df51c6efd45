/* cli_offline.c - a reader that answers from the server or from the local mirror; see
 * cli_offline.h. */
#include "cli_offline.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void cli_offline_age_line(int64_t synced_ms, int64_t now_ms, char *buf, size_t len) {
    time_t t = (time_t)(synced_ms / 1000);
    struct tm tm;
    char when[32] = "?";
    if (localtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    int64_t min = now_ms > synced_ms ? (now_ms - synced_ms) / 60000 : 0;
    snprintf(buf, len,
             "离线：本地镜像，更新于 %s（%" PRId64
             " 分钟前）/ offline: local mirror as of %s (%" PRId64 " minute%s ago)",
             when, min, when, min, min == 1 ? "" : "s");
}

/* Opens the mirror the options name, or the default one of s->server. CL_OK, CL_ENOTFOUND
 * (none, or never synced), or another code; the sentence in err. */
static int mirror_open(const cli_settings_t *s, const cli_offline_opts_t *o, cl_mirror_t **m,
                       char *err, size_t errlen) {
    char path[4096];
    const char *env = getenv("CLOSELOOP_MIRROR");
    const char *given = o->mirror ? o->mirror : env && *env ? env : NULL;
    if (given) {
        snprintf(path, sizeof path, "%s", given);
    } else {
        char tag[65];
        int rc = cl_mirror_find_for(
            s->server, cli_session_tag(s->server, tag) == CL_OK ? tag : NULL, path, sizeof path);
        if (rc == CL_ENOTFOUND) {
            snprintf(err, errlen, "there is no local mirror of %s: run 'cloop sync' while online",
                     s->server);
            return rc;
        }
        if (rc != CL_OK) {
            snprintf(err, errlen,
                     "there are several local mirrors of %s: name one with --mirror PATH",
                     s->server);
            return rc;
        }
    }
    int rc = cl_mirror_open_existing(path, s->server, m, err, errlen);
    if (rc != CL_OK) return rc;
    if (cl_mirror_synced_ms(*m) <= 0) {
        if (snprintf(err, errlen,
                     "the local mirror %s was never synced: run 'cloop sync' while online",
                     path) >= (int)errlen)
            snprintf(err, errlen, "the local mirror was never synced: run 'cloop sync' online");
        cl_mirror_close(*m);
        *m = NULL;
        return CL_ENOTFOUND;
    }
    return CL_OK;
}

/* Reader r reads from mirror m: the age line, and who we are. */
static int go_offline(cli_reader_t *r, cl_mirror_t *m) {
    r->m = m;
    ProtobufCMessage *me = NULL;
    int rc = cl_mirror_whoami(m, &me);
    if (rc != CL_OK) {
        cli_errorf("%s", cl_mirror_error(m));
        cl_mirror_close(m);
        r->m = NULL;
        return CLI_EXIT_FAIL;
    }
    r->own_me = (Closeloop__WhoAmI *)me;
    r->me = r->own_me;
    char line[512];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cli_offline_age_line(cl_mirror_synced_ms(m), (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
                         line, sizeof line);
    fprintf(stderr, "%s\n", line);
    return CLI_EXIT_OK;
}

int cli_reader_open(const cli_settings_t *s, const cli_offline_opts_t *o, cli_reader_t *r) {
    memset(r, 0, sizeof *r);
    char err[1024];
    cl_mirror_t *m = NULL;
    if (o->offline) {
        int rc = mirror_open(s, o, &m, err, sizeof err);
        if (rc != CL_OK) {
            cli_errorf("%s", err);
            return rc == CL_ENOTFOUND ? CLI_EXIT_UNREACHABLE : cli_exit_for(rc);
        }
        return go_offline(r, m);
    }
    int net_rc;
    char why[512];
    int rc = cli_session_open_reach(s, &r->ss, &net_rc, why, sizeof why);
    if (rc == CLI_EXIT_OK) {
        r->me = r->ss.me;
        return rc;
    }
    if (net_rc == CL_OK) return rc; /* refused, not logged in ...: already said */
    /* The server cannot be reached: the mirror answers if there is one. */
    if (mirror_open(s, o, &m, err, sizeof err) == CL_OK) return go_offline(r, m);
    return cli_request_failed(net_rc, why);
}

int cli_reader_call(cli_reader_t *r, uint16_t type, const ProtobufCMessage *req,
                    uint16_t expect_type, ProtobufCMessage **reply) {
    if (r->m) return cl_mirror_call(r->m, type, req, expect_type, reply);
    return cli_session_call(&r->ss, type, req, expect_type, reply);
}

int cli_reader_stream(cli_reader_t *r, uint16_t type, const ProtobufCMessage *req,
                      uint16_t page_type, int (*on_page)(void *arg, const ProtobufCMessage *page),
                      void *arg) {
    if (r->m) return cl_mirror_call_stream(r->m, type, req, page_type, on_page, arg);
    return cli_session_stream(&r->ss, type, req, page_type, on_page, arg);
}

int cli_reader_fail(cli_reader_t *r, int rc) {
    if (!r->m) return cli_session_fail(&r->ss, rc);
    if (rc == CL_ENOMEM) return cli_request_failed(rc, "out of memory");
    return cli_request_failed(rc, cl_mirror_error(r->m));
}

void cli_reader_close(cli_reader_t *r) {
    if (r->m) {
        cl_mirror_close(r->m);
        r->m = NULL;
    } else {
        cli_session_close(&r->ss);
    }
    cl_msg_free(r->own_me ? &r->own_me->base : NULL);
    r->own_me = NULL;
    r->me = NULL;
}
