/* fuzz_msg.c - libFuzzer harness for cl_msg_unpack and the pack/unpack round trip.
 *
 * Input: the first 2 bytes pick a message type (modulo a list of the known types plus
 * one unknown), the rest is the payload given to cl_msg_unpack. When it decodes, every
 * string field must be valid UTF-8; the message is re-packed with cl_msg_frame_pack,
 * fed through a frame decoder and unpacked again, which must succeed, and packing that
 * second message must give the very same bytes (the packed form is canonical). Any
 * broken expectation calls abort(); LeakSanitizer checks that nothing leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t types[] = {
    CL_MSG_ERROR,           CL_MSG_PING,        CL_MSG_PONG,
    CL_MSG_SERVER_INFO_REQ, CL_MSG_SERVER_INFO, 0x7FFF, /* unknown */
};

/* Every string field of an unpacked message holds valid UTF-8 (a NUL would have cut it
 * short, so strlen is its length). */
static void check_strings(const ProtobufCMessage *m) {
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED) continue;
        const char *s;
        memcpy(&s, (const char *)m + f->offset, sizeof s);
        if (s && !cl_utf8_valid(s, strlen(s))) abort();
    }
}

struct second {
    size_t frames;
    uint16_t type;
    ProtobufCMessage *msg;
};

static int on_frame(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    struct second *s = ctx;
    if (s->frames++ != 0) abort();
    if (hdr->type != s->type || hdr->req_id != 0xA5A5A5A5u || hdr->flags != CL_FRAME_FLAG_LAST)
        abort();
    if (cl_msg_unpack(hdr->type, payload, hdr->len, &s->msg) != CL_OK) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint16_t type = types[(size_t)((data[0] << 8) | data[1]) % (sizeof types / sizeof types[0])];
    const uint8_t *payload = data + 2;
    size_t len = size - 2;

    ProtobufCMessage *m = NULL;
    int rc = cl_msg_unpack(type, payload, len, &m);
    if (!cl_msg_descriptor(type)) {
        if (rc != CL_EUNKNOWNTYPE) abort();
        return 0;
    }
    if (rc == CL_EBADMSG) return 0;
    if (rc != CL_OK || !m || m->descriptor != cl_msg_descriptor(type)) abort();
    check_strings(m);

    uint8_t *buf1 = NULL;
    size_t len1 = 0;
    if (cl_msg_frame_pack(CL_FRAME_FLAG_LAST, 0xA5A5A5A5u, type, m, CL_FRAME_MAX_PAYLOAD_CEILING,
                          &buf1, &len1) != CL_OK)
        abort();
    cl_msg_free(m);

    /* Through the decoder, as a peer would receive it. */
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, CL_FRAME_MAX_PAYLOAD_CEILING);
    struct second s = {.type = type};
    size_t used = 0;
    if (cl_frame_decoder_feed(&d, buf1, len1, on_frame, &s, &used) != CL_OK || used != len1)
        abort();
    if (s.frames != 1 || !cl_frame_decoder_idle(&d)) abort();
    cl_frame_decoder_free(&d);
    check_strings(s.msg);

    uint8_t *buf2 = NULL;
    size_t len2 = 0;
    if (cl_msg_frame_pack(CL_FRAME_FLAG_LAST, 0xA5A5A5A5u, type, s.msg,
                          CL_FRAME_MAX_PAYLOAD_CEILING, &buf2, &len2) != CL_OK)
        abort();
    if (len2 != len1 || memcmp(buf1, buf2, len1) != 0) abort();
    cl_msg_free(s.msg);
    free(buf1);
    free(buf2);
    return 0;
}
