/* sys_handlers.c - requests about the service itself: Ping (optionally delayed, as a
 * diagnostic for timeouts, in-flight limits and draining) and ServerInfo. */
#include <stdlib.h>
#include <time.h>

#include "dispatch.h"
#include "frame.h"
#include "msg.h"

#define PING_MAX_DELAY_MS 10000

static uint64_t realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ping_answer(cl_req_t *req) {
    const cl_pb_ping_t *ping = (const cl_pb_ping_t *)req->msg;
    cl_pb_pong_t pong = CLOSELOOP__PONG__INIT;
    pong.client_time_ns = ping->client_time_ns;
    pong.payload = ping->payload;
    pong.server_time_ns = realtime_ns();
    cl_req_reply(req, CL_MSG_PONG, &pong.base);
}

static void ping_timer_closed(uv_handle_t *h) {
    free(h);
}

static void ping_delay_done(uv_timer_t *t) {
    cl_req_t *req = t->data;
    uv_close((uv_handle_t *)t, ping_timer_closed);
    ping_answer(req);
}

void cl_sys_ping(cl_req_t *req) {
    const cl_pb_ping_t *ping = (const cl_pb_ping_t *)req->msg;
    if (ping->delay_ms > PING_MAX_DELAY_MS) {
        cl_req_fail(req, CL_EINVAL, "delay_ms is at most %d", PING_MAX_DELAY_MS);
        return;
    }
    /* The Pong echoes the payload plus a few fields; it must fit in one frame. */
    uint32_t limit = cl_req_frame_limit(req);
    if (ping->payload.len + 64 > limit) {
        cl_req_fail(req, CL_EINVAL, "the ping payload must be under %u bytes", limit - 64);
        return;
    }
    if (ping->delay_ms == 0) {
        ping_answer(req);
        return;
    }
    uv_timer_t *t = malloc(sizeof *t);
    if (!t) {
        cl_req_fail(req, CL_ENOMEM, "out of memory");
        return;
    }
    uv_timer_init(cl_req_loop(req), t);
    t->data = req;
    uv_timer_start(t, ping_delay_done, ping->delay_ms, 0);
}

void cl_sys_server_info(cl_req_t *req) {
    const cl_config_t *cfg = cl_req_config(req);
    cl_server_stats_t st;
    cl_server_get_stats(cl_req_server(req), &st);
    cl_pb_info_t info = CLOSELOOP__SERVER_INFO__INIT;
    info.version = (char *)CL_VERSION;
    info.protocol_version = CL_FRAME_VERSION;
    info.uptime_ms = st.uptime_ms;
    info.connections = st.connections;
    info.requests_served = st.requests_served;
    info.tls_version = (char *)cl_req_tls_version(req);
    info.max_frame = cfg->max_frame;
    info.max_frame_unauth = cl_config_frame_unauth(cfg);
    info.max_inflight = cfg->max_inflight;
    info.client_cert_subject = (char *)cl_req_client_subject(req);
    info.queued_output = st.queued_output;
    info.max_output_total = cfg->max_output_total;
    cl_req_reply(req, CL_MSG_SERVER_INFO, &info.base);
}
