/* frame.c - incremental frame decoder and header codec; see frame.h for the format. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

static void put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p) {
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void cl_frame_hdr_encode(const cl_frame_hdr_t *h, uint8_t out[CL_FRAME_HDR_LEN]) {
    out[0] = CL_FRAME_MAGIC0;
    out[1] = CL_FRAME_MAGIC1;
    out[2] = CL_FRAME_VERSION;
    out[3] = h->flags;
    put_be32(out + 4, h->req_id);
    put_be16(out + 8, h->type);
    put_be16(out + 10, 0);
    put_be32(out + 12, h->len);
}

int cl_frame_hdr_decode(const uint8_t in[CL_FRAME_HDR_LEN], uint32_t max_payload,
                        cl_frame_hdr_t *out) {
    if (in[0] != CL_FRAME_MAGIC0 || in[1] != CL_FRAME_MAGIC1) return CL_EBADFRAME;
    if (in[2] != CL_FRAME_VERSION) return CL_EBADFRAME;
    if (in[3] & ~CL_FRAME_FLAGS_KNOWN) return CL_EBADFRAME;
    if (get_be16(in + 10) != 0) return CL_EBADFRAME;
    out->version = in[2];
    out->flags = in[3];
    out->req_id = get_be32(in + 4);
    out->type = get_be16(in + 8);
    out->len = get_be32(in + 12);
    if (out->len > max_payload) return CL_ETOOBIG;
    return CL_OK;
}

void cl_frame_decoder_init(cl_frame_decoder_t *d, uint32_t max_payload) {
    memset(d, 0, sizeof *d);
    if (max_payload > CL_FRAME_MAX_PAYLOAD_CEILING) max_payload = CL_FRAME_MAX_PAYLOAD_CEILING;
    d->max_payload = max_payload;
}

void cl_frame_decoder_free(cl_frame_decoder_t *d) {
    free(d->body);
    d->body = NULL;
    d->body_have = 0;
    d->hdr_have = 0;
}

int cl_frame_decoder_idle(const cl_frame_decoder_t *d) {
    return d->hdr_have == 0;
}

/* Delivers the current frame and resets for the next one. */
static int deliver(cl_frame_decoder_t *d, const uint8_t *payload, cl_frame_cb cb, void *ctx) {
    cl_frame_hdr_t hdr = d->hdr;
    d->hdr_have = 0;
    int rc = cb(ctx, &hdr, payload);
    free(d->body);
    d->body = NULL;
    d->body_have = 0;
    return rc;
}

int cl_frame_decoder_feed(cl_frame_decoder_t *d, const uint8_t *data, size_t len, cl_frame_cb cb,
                          void *ctx, size_t *consumed) {
    size_t pos = 0;
    int rc = CL_OK;

    if (d->error) {
        rc = d->error;
        goto out;
    }
    while (pos < len) {
        if (d->hdr_have < CL_FRAME_HDR_LEN) {
            size_t take = CL_FRAME_HDR_LEN - d->hdr_have;
            if (take > len - pos) take = len - pos;
            memcpy(d->hdr_buf + d->hdr_have, data + pos, take);
            d->hdr_have += take;
            pos += take;
            if (d->hdr_have < CL_FRAME_HDR_LEN) break;
            rc = cl_frame_hdr_decode(d->hdr_buf, d->max_payload, &d->hdr);
            if (rc != CL_OK) {
                d->error = rc;
                goto out;
            }
            if (d->hdr.len == 0) {
                if ((rc = deliver(d, NULL, cb, ctx)) < 0) goto out;
                continue;
            }
            /* Whole payload already in the input: deliver it without copying. */
            if (len - pos >= d->hdr.len) {
                const uint8_t *payload = data + pos;
                pos += d->hdr.len;
                if ((rc = deliver(d, payload, cb, ctx)) < 0) goto out;
                continue;
            }
            d->body = malloc(d->hdr.len);
            if (!d->body) {
                rc = d->error = CL_ENOMEM;
                goto out;
            }
            d->body_have = 0;
        }
        size_t take = d->hdr.len - d->body_have;
        if (take > len - pos) take = len - pos;
        memcpy(d->body + d->body_have, data + pos, take);
        d->body_have += take;
        pos += take;
        if (d->body_have == d->hdr.len) {
            if ((rc = deliver(d, d->body, cb, ctx)) < 0) goto out;
        }
    }
    rc = CL_OK;
out:
    if (consumed) *consumed = pos;
    return rc;
}
