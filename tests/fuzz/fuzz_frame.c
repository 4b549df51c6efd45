/* fuzz_frame.c - libFuzzer harness for the path "bytes off the socket -> message".
 *
 * Input: byte 0 picks how the rest is cut into feeds (chunk sizes and whether the frame
 * callback sometimes stops the feed); the rest is what a peer sent. It is fed through a
 * cl_frame_decoder with a small max_payload, and every frame delivered goes through
 * cl_msg_unpack / cl_msg_free. As an oracle, the same bytes are also decoded in one
 * single feed: the chunked run must deliver exactly the same frames and end in the same
 * state. Checks abort(); LeakSanitizer checks that nothing leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "msg.h"

#define FUZZ_MAX_PAYLOAD 4096
#define STOP_RC          (-77)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    size_t frames;    /* frames delivered */
    uint64_t digest;  /* FNV-1a over every delivered header and payload */
    size_t decoded;   /* frames whose payload unpacked */
    uint8_t stop_mod; /* nonzero: return STOP_RC on every stop_mod-th frame */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int on_frame(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    struct run *r = ctx;
    if (hdr->len > FUZZ_MAX_PAYLOAD) abort();
    if (hdr->flags & ~CL_FRAME_FLAGS_KNOWN) abort();
    if (hdr->version != CL_FRAME_VERSION) abort();
    if (hdr->len && !payload) abort();
    uint8_t h[CL_FRAME_HDR_LEN];
    cl_frame_hdr_encode(hdr, h);
    r->digest = fnv(r->digest, h, sizeof h);
    if (hdr->len) r->digest = fnv(r->digest, payload, hdr->len);
    r->frames++;

    ProtobufCMessage *m = NULL;
    int rc = cl_msg_unpack(hdr->type, payload, hdr->len, &m);
    if (rc == CL_OK) {
        if (!m || m->descriptor != cl_msg_descriptor(hdr->type)) abort();
        r->decoded++;
        cl_msg_free(m);
    } else if (rc != CL_EBADMSG && rc != CL_EUNKNOWNTYPE) {
        abort();
    }
    if (r->stop_mod && r->frames % r->stop_mod == 0) return STOP_RC;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t ctl = data[0];
    data++;
    size--;

    /* Reference: everything in one feed. */
    cl_frame_decoder_t ref;
    cl_frame_decoder_init(&ref, FUZZ_MAX_PAYLOAD);
    struct run want = {.digest = 14695981039346656037ull};
    size_t used = 0;
    int want_rc = cl_frame_decoder_feed(&ref, data, size, on_frame, &want, &used);
    if (want_rc == CL_OK && used != size) abort();
    if (want_rc != CL_OK && want_rc != CL_EBADFRAME && want_rc != CL_ETOOBIG) abort();
    int want_idle = cl_frame_decoder_idle(&ref);
    cl_frame_decoder_free(&ref);

    /* Chunked: sizes from a little generator seeded by ctl, 1..64 bytes. */
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, FUZZ_MAX_PAYLOAD);
    struct run got = {.digest = 14695981039346656037ull, .stop_mod = (uint8_t)(ctl >> 6)};
    uint32_t st = 0x9E3779B9u ^ ctl;
    size_t pos = 0;
    int rc = CL_OK;
    while (pos < size) {
        st = st * 1103515245u + 12345u;
        size_t chunk = 1 + ((st >> 16) & (ctl & 0x20 ? 0x3F : 0x07));
        if (chunk > size - pos) chunk = size - pos;
        rc = cl_frame_decoder_feed(&d, data + pos, chunk, on_frame, &got, &used);
        if (used > chunk) abort();
        pos += used;
        if (rc == STOP_RC) {
            if (!cl_frame_decoder_idle(&d)) abort(); /* stopped right after a frame */
            rc = CL_OK;
            continue;
        }
        if (rc == CL_OK) {
            if (used != chunk) abort();
            continue;
        }
        /* A framing error is sticky and consumes nothing more. */
        size_t again = 1;
        if (cl_frame_decoder_feed(&d, data + pos, size - pos, on_frame, &got, &again) != rc)
            abort();
        if (again != 0) abort();
        break;
    }
    if (rc != want_rc) abort();
    if (got.frames != want.frames || got.digest != want.digest || got.decoded != want.decoded)
        abort();
    if (rc == CL_OK && cl_frame_decoder_idle(&d) != want_idle) abort();
    cl_frame_decoder_free(&d);
    return 0;
}
