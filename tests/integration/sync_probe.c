/* sync_probe.c - a libcloop client for the tests and the benchmark of idempotency keys and
 * the server push (test_sync_push.sh, tests/bench/push_bench.sh), doing what cloop never
 * does on purpose: send the same request with the same idempotency key again, and sit
 * on a connection counting the pushes it gets.
 *
 *   sync_probe --server HOST:PORT --ca FILE --user NAME CMD ...   (password: $CLOSELOOP_PASSWORD)
 *   transition --project P --number N --action NAME --key K [--expected V] [--note T]
 *              [--times N]     the same TicketTransition N times on one connection; one
 *                              line each: "ok STATE VERSION" or "error CODE TEXT"
 *   handover --project P --unit U --date D --outcome NAME [--inspector T] [--keys N]
 *            --key K [--times N]   the same HandoverForm; "ok VERSION INSPECTOR KEYS"
 *   follow --ms T [--no-follow] [--ping-ms P]   SyncFollow on (unless --no-follow), prints
 *                              "ready"; with --ping-ms, first one Ping the server answers
 *                              after P ms ("pinged DONE_MS": pushes that come meanwhile
 *                              must be kept); then for T ms one line per push: "notice
 *                              COMPANY ARRIVED_MS AT_MS" (wall-clock ms), and at the end
 *                              "notices N"
 *
 * Exit status: 0 when every request got a reply (a reply may be an error: the lines say
 * which), 1 when the connection or the login failed, 2 on a bad command line. Test code:
 * it trusts its arguments beyond what it checks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloop.h"
#include "domain.h"
#include "ticket_fsm.h"

static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return NULL;
}

static bool flag(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], name)) return true;
    return false;
}

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void print_error(cl_client_t *c, int rc) {
    printf("error %d %s\n", cl_err_to_wire(rc), cl_client_error(c));
}

static int transition(cl_client_t *c, int argc, char **argv) {
    const char *project = opt(argc, argv, "--project"), *number = opt(argc, argv, "--number");
    const char *action = opt(argc, argv, "--action"), *key = opt(argc, argv, "--key");
    const char *expected = opt(argc, argv, "--expected"), *note = opt(argc, argv, "--note");
    const char *times = opt(argc, argv, "--times");
    const char *contractor = opt(argc, argv, "--contractor");
    cl_ticket_action_t a = action ? cl_ticket_action_parse(action) : CL_TACT_NONE;
    if (!project || !number || a == CL_TACT_NONE || !key) return 2;
    Closeloop__TicketRef ref = CLOSELOOP__TICKET_REF__INIT;
    ref.project_id = strtoll(project, NULL, 10);
    ref.number = (uint32_t)strtoul(number, NULL, 10);
    Closeloop__TicketTransition req = CLOSELOOP__TICKET_TRANSITION__INIT;
    req.ticket = &ref;
    req.action = (Closeloop__TicketAction)a;
    req.idempotency_key = (char *)key;
    if (expected) req.expected_version = strtoll(expected, NULL, 10);
    if (note) req.note = (char *)note;
    if (contractor) req.contractor_id = strtoll(contractor, NULL, 10);
    int n = times ? atoi(times) : 1;
    for (int i = 0; i < n; i++) {
        ProtobufCMessage *reply = NULL;
        int rc = cl_client_call(c, CL_MSG_TICKET_TRANSITION_REQ, &req.base, CL_MSG_TICKET, &reply);
        if (rc == CL_OK) {
            const Closeloop__Ticket *t = (const Closeloop__Ticket *)reply;
            printf("ok %s %" PRId64 "\n", cl_ticket_state_name((cl_ticket_state_t)t->state),
                   t->version);
        } else if (!cl_client_is_open(c)) {
            print_error(c, rc);
            return 1;
        } else {
            print_error(c, rc);
        }
        cl_msg_free(reply);
    }
    return 0;
}

static int handover(cl_client_t *c, int argc, char **argv) {
    const char *project = opt(argc, argv, "--project"), *unit = opt(argc, argv, "--unit");
    const char *date = opt(argc, argv, "--date"), *outcome = opt(argc, argv, "--outcome");
    const char *inspector = opt(argc, argv, "--inspector"), *keys = opt(argc, argv, "--keys");
    const char *key = opt(argc, argv, "--key"), *times = opt(argc, argv, "--times");
    if (!project || !unit || !date || !outcome || !key) return 2;
    Closeloop__HandoverForm f = CLOSELOOP__HANDOVER_FORM__INIT;
    f.project_id = strtoll(project, NULL, 10);
    f.unit = (char *)unit;
    f.inspected_on = (char *)date;
    f.outcome = (Closeloop__HandoverOutcome)cl_outcome_parse(outcome);
    if (inspector) f.inspector = (char *)inspector;
    if (keys) f.keys_handed = (uint32_t)strtoul(keys, NULL, 10);
    f.idempotency_key = (char *)key;
    int n = times ? atoi(times) : 1;
    for (int i = 0; i < n; i++) {
        ProtobufCMessage *reply = NULL;
        int rc = cl_client_call(c, CL_MSG_HANDOVER_RECORD_REQ, &f.base, CL_MSG_INSPECTION_RECORD,
                                &reply);
        if (rc == CL_OK) {
            const Closeloop__InspectionRecord *r = (const Closeloop__InspectionRecord *)reply;
            printf("ok %" PRId64 " %s %" PRIu32 "\n", r->meta ? r->meta->version : 0,
                   *r->inspector ? r->inspector : "-", r->keys_handed);
        } else {
            print_error(c, rc);
            if (!cl_client_is_open(c)) return 1;
        }
        cl_msg_free(reply);
    }
    return 0;
}

static int follow(cl_client_t *c, int argc, char **argv) {
    const char *ms = opt(argc, argv, "--ms");
    if (!ms) return 2;
    if (!flag(argc, argv, "--no-follow")) {
        Closeloop__SyncFollowRequest req = CLOSELOOP__SYNC_FOLLOW_REQUEST__INIT;
        req.on = true;
        ProtobufCMessage *reply = NULL;
        int rc = cl_client_call(c, CL_MSG_SYNC_FOLLOW_REQ, &req.base, CL_MSG_SYNC_FOLLOW, &reply);
        bool on = rc == CL_OK && ((const Closeloop__SyncFollowReply *)reply)->on;
        cl_msg_free(reply);
        if (!on) {
            fprintf(stderr, "sync_probe: follow: %s\n", cl_client_error(c));
            return 1;
        }
    }
    printf("ready\n");
    fflush(stdout);
    const char *ping_ms = opt(argc, argv, "--ping-ms");
    if (ping_ms) {
        cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
        ping.delay_ms = (uint32_t)strtoul(ping_ms, NULL, 10);
        ProtobufCMessage *pong = NULL;
        int rc = cl_client_call(c, CL_MSG_PING, &ping.base, CL_MSG_PONG, &pong);
        cl_msg_free(pong);
        if (rc != CL_OK) {
            fprintf(stderr, "sync_probe: ping: %s\n", cl_client_error(c));
            return 1;
        }
        printf("pinged %" PRIu64 "\n", wall_ms());
        fflush(stdout);
    }
    uint64_t end = wall_ms() + strtoull(ms, NULL, 10);
    unsigned notices = 0;
    for (uint64_t now = wall_ms(); now < end; now = wall_ms()) {
        cl_reply_t r;
        int rc = cl_client_wait_push(c, &r, (int)(end - now));
        if (rc == CL_ETIMEDOUT) break;
        if (rc != CL_OK) {
            fprintf(stderr, "sync_probe: follow: %s\n", cl_client_error(c));
            return 1;
        }
        uint64_t arrived = wall_ms();
        if (r.err == CL_OK && r.type == CL_MSG_SYNC_NOTICE && r.msg) {
            const Closeloop__SyncNotice *n = (const Closeloop__SyncNotice *)r.msg;
            printf("notice %" PRId64 " %" PRIu64 " %" PRIu64 "\n", n->company_id, arrived,
                   n->at_ms);
            fflush(stdout);
            notices++;
        } else {
            printf("other %u %d %s\n", (unsigned)r.type, r.err, r.errmsg);
        }
        cl_reply_clear(&r);
    }
    printf("notices %u\n", notices);
    return 0;
}

int main(int argc, char **argv) {
    const char *server = opt(argc, argv, "--server"), *ca = opt(argc, argv, "--ca");
    const char *user = opt(argc, argv, "--user"), *password = getenv("CLOSELOOP_PASSWORD");
    int cmd = 1;
    while (cmd < argc && argv[cmd][0] == '-')
        cmd += 2;
    if (!server || !ca || !user || !password || cmd >= argc) {
        fprintf(stderr, "usage: sync_probe --server HOST:PORT --ca FILE --user NAME "
                        "transition|handover|follow ...\n");
        return 2;
    }
    char host[256], err[256];
    uint16_t port = CL_DEFAULT_PORT;
    if (cl_parse_server(server, host, sizeof host, &port) != CL_OK) return 2;
    cl_client_opts_t o = {.host = host, .port = port, .ca_file = ca, .timeout_ms = 30000};
    cl_client_t *c = NULL;
    if (cl_client_connect(&o, &c, err, sizeof err) != CL_OK) {
        fprintf(stderr, "sync_probe: %s\n", err);
        return 1;
    }
    ProtobufCMessage *login = NULL;
    if (cl_client_login(c, user, password, &login) != CL_OK) {
        fprintf(stderr, "sync_probe: login %s: %s\n", user, cl_client_error(c));
        cl_client_close(c);
        return 1;
    }
    cl_msg_free(login);
    int sub_argc = argc - cmd - 1;
    char **sub_argv = argv + cmd + 1;
    int rc = 2;
    if (!strcmp(argv[cmd], "transition"))
        rc = transition(c, sub_argc, sub_argv);
    else if (!strcmp(argv[cmd], "handover"))
        rc = handover(c, sub_argc, sub_argv);
    else if (!strcmp(argv[cmd], "follow"))
        rc = follow(c, sub_argc, sub_argv);
    fflush(stdout);
    cl_client_close(c);
    return rc;
}
