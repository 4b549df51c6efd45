/* cmd_info.c - `cloop info`: one ServerInfoRequest, printed as key/value rows (server
 * version, protocol, uptime, load, and what the server sees of this connection: TLS
 * version and client certificate). Single-threaded; one connection, closed before exit. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cloop.h"

void cmd_info_help(FILE *out) {
    fprintf(out, "usage: cloop info [global options]\n"
                 "\n"
                 "Asks the server about itself and this connection: version, protocol, uptime,\n"
                 "open connections, requests served, the negotiated TLS version, the largest\n"
                 "frame and in-flight limit, and the client certificate subject the server saw.\n"
                 "Printed as key/value rows in the chosen --format.\n");
}

static void format_uptime(uint64_t ms, char *buf, size_t len) {
    uint64_t s = ms / 1000;
    uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
    if (d)
        snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h %" PRIu64 "m", d, h, m);
    else if (h)
        snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m %" PRIu64 "s", h, m, s % 60);
    else if (m)
        snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", m, s % 60);
    else
        snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 "s", s, ms % 1000);
}

int cmd_info(const cli_settings_t *s, int argc, char **argv) {
    if (argc > 0) {
        cli_errorf("info takes no arguments (got '%s'); see 'cloop info --help'", argv[0]);
        return CLI_EXIT_USAGE;
    }
    cl_client_opts_t opts;
    char err[512];
    if (cli_client_opts(s, &opts, err, sizeof err) != CL_OK) {
        cli_errorf("%s", err);
        return CLI_EXIT_USAGE;
    }
    cl_client_t *c = NULL;
    int crc = cl_client_connect(&opts, &c, err, sizeof err);
    if (crc != CL_OK) return cli_request_failed(crc, err);
    cl_pb_info_req_t req = CLOSELOOP__SERVER_INFO_REQUEST__INIT;
    ProtobufCMessage *m = NULL;
    crc = cl_client_call(c, CL_MSG_SERVER_INFO_REQ, &req.base, CL_MSG_SERVER_INFO, &m);
    if (crc != CL_OK) {
        crc = cli_request_failed(crc, cl_client_error(c));
        cl_client_close(c);
        return crc;
    }
    const cl_pb_info_t *info = (const cl_pb_info_t *)m;

    char proto[16], uptime[64], conns[16], served[24], maxf[16], maxi[16];
    snprintf(proto, sizeof proto, "%" PRIu32, info->protocol_version);
    format_uptime(info->uptime_ms, uptime, sizeof uptime);
    snprintf(conns, sizeof conns, "%" PRIu32, info->connections);
    snprintf(served, sizeof served, "%" PRIu64, info->requests_served);
    snprintf(maxf, sizeof maxf, "%" PRIu32, info->max_frame);
    snprintf(maxi, sizeof maxi, "%" PRIu32, info->max_inflight);
    const char *subject = info->client_cert_subject ? info->client_cert_subject : "";
    if (!*subject && s->format == CLI_FMT_TABLE) subject = "(none)";
    const char *rows[][2] = {
        {"server", s->server},
        {"version", info->version ? info->version : ""},
        {"protocol", proto},
        {"uptime", uptime},
        {"connections", conns},
        {"requests_served", served},
        {"tls_version", info->tls_version ? info->tls_version : ""},
        {"max_frame", maxf},
        {"max_inflight", maxi},
        {"client_cert_subject", subject},
    };
    static const char *const header[] = {"key", "value"};
    int rc = CLI_EXIT_OK;
    cli_table_t *t = cli_table_new(2, header);
    if (!t) {
        cli_errorf("out of memory");
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    cli_table_hide_header(t);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (cli_table_add(t, rows[i]) != CL_OK) {
            cli_errorf("out of memory");
            rc = CLI_EXIT_FAIL;
            goto out;
        }
    }
    if (cli_table_print(t, s->format, stdout) != CL_OK) {
        cli_errorf("cannot write the output");
        rc = CLI_EXIT_FAIL;
    }
out:
    cli_table_free(t);
    cl_msg_free(m);
    cl_client_close(c);
    return rc;
}
