/* test_msg.c - unit tests of messages in frames (common/msg.c) and of the error codes
 * (common/cl_err.c).
 *
 * Covers packing a message into one frame buffer (exact bytes) and decoding it back
 * through the frame decoder and cl_msg_unpack; the max_payload check on packing;
 * unknown types; undecodable payloads; string fields holding invalid UTF-8 or NUL,
 * hand-encoded in protobuf wire format, in known and unknown fields; Chinese text
 * round-tripping intact; cl_utf8_valid edge cases (on exact-size heap copies, so ASan
 * catches any over-read); the local <-> wire error code mapping; cl_strerror. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cl_err.h"
#include "frame.h"
#include "msg.h"

/* ---- helpers ---------------------------------------------------------------------- */

/* What the decoder callback saw: one frame, unpacked. */
struct got {
    size_t frames;
    cl_frame_hdr_t hdr;
    int unpack_rc;
    ProtobufCMessage *msg;
};

static int unpack_cb(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    struct got *g = ctx;
    assert_int_equal(g->frames, 0);
    g->frames++;
    g->hdr = *hdr;
    g->unpack_rc = cl_msg_unpack(hdr->type, payload, hdr->len, &g->msg);
    return 0;
}

/* Feeds one packed frame through a decoder (in two pieces, so both the zero-copy and the
 * buffered paths are used across the callers) and unpacks it into g. */
static void decode_frame(const uint8_t *buf, size_t len, size_t split, struct got *g) {
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, CL_FRAME_DEFAULT_MAX_PAYLOAD);
    memset(g, 0, sizeof *g);
    size_t used = 0;
    if (split > len) split = len;
    assert_int_equal(cl_frame_decoder_feed(&d, buf, split, unpack_cb, g, &used), CL_OK);
    assert_int_equal(used, split);
    assert_int_equal(cl_frame_decoder_feed(&d, buf + split, len - split, unpack_cb, g, &used),
                     CL_OK);
    assert_int_equal(used, len - split);
    assert_int_equal(g->frames, 1);
    assert_true(cl_frame_decoder_idle(&d));
    cl_frame_decoder_free(&d);
}

/* Packs msg as a LAST frame and decodes it back; returns the new message. */
static ProtobufCMessage *round_trip(uint16_t type, const ProtobufCMessage *msg, size_t split) {
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(cl_msg_frame_pack(CL_FRAME_FLAG_LAST, 5, type, msg,
                                       CL_FRAME_DEFAULT_MAX_PAYLOAD, &buf, &len),
                     CL_OK);
    struct got g;
    decode_frame(buf, len, split, &g);
    free(buf);
    assert_int_equal(g.hdr.type, type);
    assert_int_equal(g.hdr.req_id, 5);
    assert_int_equal(g.unpack_rc, CL_OK);
    assert_non_null(g.msg);
    assert_ptr_equal(g.msg->descriptor, cl_msg_descriptor(type));
    return g.msg;
}

/* cl_msg_unpack on raw bytes; on failure *out must be left alone. */
static int unpack_raw(uint16_t type, const uint8_t *p, size_t len, ProtobufCMessage **out) {
    ProtobufCMessage *sentinel = (ProtobufCMessage *)(uintptr_t)0x1;
    *out = sentinel;
    /* An exact-size heap copy, so any over-read is caught by ASan. */
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) memcpy(copy, p, len);
    int rc = cl_msg_unpack(type, copy, len, out);
    free(copy);
    if (rc != CL_OK) assert_ptr_equal(*out, sentinel);
    return rc;
}

/* cl_msg_unpack's verdict on raw bytes, freeing the message when there is one. */
static int unpack_rc(uint16_t type, const uint8_t *p, size_t len) {
    ProtobufCMessage *m;
    int rc = unpack_raw(type, p, len, &m);
    if (rc == CL_OK) cl_msg_free(m);
    return rc;
}
#define UNPACK_RC(type, arr) unpack_rc((type), (arr), sizeof(arr))

/* Runs cl_utf8_valid over an exact-size heap copy of s[0..n). */
static int utf8(const char *s, size_t n) {
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    if (n) memcpy(copy, s, n);
    int v = cl_utf8_valid(copy, n);
    free(copy);
    return v;
}

static const char chinese[] = "万科城 3-2-1701 卫生间渗水";

/* ---- packing and unpacking --------------------------------------------------------- */

static void test_ping_pack_exact_and_round_trip(void **state) {
    (void)state;
    static const uint8_t bytes[3] = {0x00, 0xFF, 'x'};
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    ping.client_time_ns = 0x0123456789ABCDEFull;
    ping.payload.data = (uint8_t *)bytes;
    ping.payload.len = sizeof bytes;

    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(cl_msg_frame_pack(CL_FRAME_FLAG_LAST, 77, CL_MSG_PING, &ping.base,
                                       CL_FRAME_DEFAULT_MAX_PAYLOAD, &buf, &len),
                     CL_OK);
    static const uint8_t want[] = {
        'C',  'L',  0x01, 0x01, 0x00, 0x00, 0x00, 0x4D, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, /* header: LAST, id 77, type 2 (Ping), 15 payload bytes
                                             */
        0x08, 0xEF, 0x9B, 0xAF, 0xCD, 0xF8, 0xAC, 0xD1, 0x91, 0x01, /* client_time_ns */
        0x12, 0x03, 0x00, 0xFF, 'x',                                /* payload */
    };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    /* Decode it back, whole and split inside the payload. */
    for (size_t split = 0; split <= len; split += 7) {
        struct got g;
        decode_frame(buf, len, split, &g);
        assert_int_equal(g.hdr.flags, CL_FRAME_FLAG_LAST);
        assert_int_equal(g.hdr.req_id, 77);
        assert_int_equal(g.hdr.type, CL_MSG_PING);
        assert_int_equal(g.hdr.len, 15);
        assert_int_equal(g.unpack_rc, CL_OK);
        const cl_pb_ping_t *back = (const cl_pb_ping_t *)g.msg;
        assert_int_equal(back->client_time_ns, 0x0123456789ABCDEFull);
        assert_int_equal(back->payload.len, 3);
        assert_memory_equal(back->payload.data, bytes, 3);
        assert_int_equal(back->delay_ms, 0);
        cl_msg_free(g.msg);
    }
    free(buf);
}

static void test_error_reply_pack(void **state) {
    (void)state;
    cl_pb_error_t e = CLOSELOOP__ERROR__INIT;
    e.code = CLOSELOOP__ERROR_CODE__ERR_TOO_MANY_REQUESTS;
    e.message = "too many requests in flight";
    e.retryable = 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(cl_msg_frame_pack(CL_FRAME_FLAG_LAST | CL_FRAME_FLAG_ERROR, 0x01020304u,
                                       CL_MSG_ERROR, &e.base, CL_FRAME_DEFAULT_MAX_PAYLOAD, &buf,
                                       &len),
                     CL_OK);
    /* 08 05 | 12 1B "too many..." | 18 01 */
    assert_int_equal(len, CL_FRAME_HDR_LEN + 2 + 2 + 27 + 2);
    static const uint8_t want_hdr[CL_FRAME_HDR_LEN] = {'C', 'L', 1, 0x03, 1, 2, 3, 4,
                                                       0,   1,   0, 0,    0, 0, 0, 33};
    assert_memory_equal(buf, want_hdr, CL_FRAME_HDR_LEN);
    struct got g;
    decode_frame(buf, len, len, &g);
    free(buf);
    assert_int_equal(g.unpack_rc, CL_OK);
    const cl_pb_error_t *back = (const cl_pb_error_t *)g.msg;
    assert_int_equal(back->code, CLOSELOOP__ERROR_CODE__ERR_TOO_MANY_REQUESTS);
    assert_string_equal(back->message, "too many requests in flight");
    assert_true(back->retryable);
    assert_int_equal(cl_err_from_wire((int)back->code), CL_ETOOMANY);
    cl_msg_free(g.msg);
}

static void test_empty_payload(void **state) {
    (void)state;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* msg NULL: a header-only frame, even with a zero limit. */
    assert_int_equal(cl_msg_frame_pack(0, 9, CL_MSG_SERVER_INFO_REQ, NULL, 0, &buf, &len), CL_OK);
    static const uint8_t want[CL_FRAME_HDR_LEN] = {'C', 'L', 1, 0, 0, 0, 0, 9,
                                                   0,   4,   0, 0, 0, 0, 0, 0};
    assert_int_equal(len, CL_FRAME_HDR_LEN);
    assert_memory_equal(buf, want, CL_FRAME_HDR_LEN);
    struct got g;
    decode_frame(buf, len, 3, &g);
    free(buf);
    assert_int_equal(g.hdr.len, 0);
    assert_int_equal(g.unpack_rc, CL_OK);
    assert_ptr_equal(g.msg->descriptor, &closeloop__server_info_request__descriptor);
    cl_msg_free(g.msg);

    /* An empty payload is a valid Ping with every field at its default. */
    ProtobufCMessage *m = NULL;
    assert_int_equal(cl_msg_unpack(CL_MSG_PING, NULL, 0, &m), CL_OK);
    assert_int_equal(((cl_pb_ping_t *)m)->client_time_ns, 0);
    assert_int_equal(((cl_pb_ping_t *)m)->payload.len, 0);
    cl_msg_free(m);
    cl_msg_free(NULL); /* harmless */
}

static void test_pack_too_big(void **state) {
    (void)state;
    uint8_t data[100];
    memset(data, 'z', sizeof data);
    cl_pb_ping_t ping = CLOSELOOP__PING__INIT;
    ping.payload.data = data;
    ping.payload.len = sizeof data;
    /* Packed size: 12 64 + 100 bytes = 102. */
    assert_int_equal(protobuf_c_message_get_packed_size(&ping.base), 102);

    uint8_t *sentinel = (uint8_t *)(uintptr_t)0x1, *buf = sentinel;
    size_t len = 12345;
    assert_int_equal(cl_msg_frame_pack(0, 1, CL_MSG_PING, &ping.base, 101, &buf, &len), CL_ETOOBIG);
    assert_ptr_equal(buf, sentinel);
    assert_int_equal(len, 12345);
    assert_int_equal(cl_msg_frame_pack(0, 1, CL_MSG_PING, &ping.base, 0, &buf, &len), CL_ETOOBIG);

    assert_int_equal(cl_msg_frame_pack(0, 1, CL_MSG_PING, &ping.base, 102, &buf, &len), CL_OK);
    assert_int_equal(len, CL_FRAME_HDR_LEN + 102);
    /* ...and a decoder with the same limit accepts what was packed. */
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 102);
    struct got g = {0};
    assert_int_equal(cl_frame_decoder_feed(&d, buf, len, unpack_cb, &g, NULL), CL_OK);
    assert_int_equal(g.frames, 1);
    assert_int_equal(g.unpack_rc, CL_OK);
    assert_int_equal(((cl_pb_ping_t *)g.msg)->payload.len, 100);
    cl_msg_free(g.msg);
    cl_frame_decoder_free(&d);
    free(buf);
}

static void test_type_table(void **state) {
    (void)state;
    assert_ptr_equal(cl_msg_descriptor(CL_MSG_ERROR), &closeloop__error__descriptor);
    assert_ptr_equal(cl_msg_descriptor(CL_MSG_PING), &closeloop__ping__descriptor);
    assert_ptr_equal(cl_msg_descriptor(CL_MSG_PONG), &closeloop__pong__descriptor);
    assert_ptr_equal(cl_msg_descriptor(CL_MSG_SERVER_INFO_REQ),
                     &closeloop__server_info_request__descriptor);
    assert_ptr_equal(cl_msg_descriptor(CL_MSG_SERVER_INFO), &closeloop__server_info__descriptor);
    assert_null(cl_msg_descriptor(CLOSELOOP__MSG_TYPE__MSG_NONE));
    assert_null(cl_msg_descriptor(0xFFFF));
    assert_string_equal(cl_msg_type_name(CL_MSG_PING), "Ping");
    assert_string_equal(cl_msg_type_name(CL_MSG_ERROR), "Error");
    assert_string_equal(cl_msg_type_name(0), "unknown");
    assert_string_equal(cl_msg_type_name(0xFFFF), "unknown");
    /* The wire numbers are fixed forever. */
    assert_int_equal(CL_MSG_ERROR, 1);
    assert_int_equal(CL_MSG_PING, 2);
    assert_int_equal(CL_MSG_PONG, 3);
    assert_int_equal(CL_MSG_SERVER_INFO_REQ, 4);
    assert_int_equal(CL_MSG_SERVER_INFO, 5);
}

static void test_unknown_type(void **state) {
    (void)state;
    static const uint8_t ok_ping[] = {0x08, 0x01};
    assert_int_equal(UNPACK_RC(CL_MSG_PING, ok_ping), CL_OK);
    static const uint16_t unknown[] = {0, 6, 0x7FFF, 0xFFFF};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ProtobufCMessage *m;
        assert_int_equal(unpack_raw(unknown[i], ok_ping, sizeof ok_ping, &m), CL_EUNKNOWNTYPE);
        assert_int_equal(unpack_raw(unknown[i], NULL, 0, &m), CL_EUNKNOWNTYPE);
    }
}

static void test_garbage_payload(void **state) {
    (void)state;
    static const uint8_t overlong_key[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                           0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const uint8_t truncated_key[] = {0x88};
    static const uint8_t truncated_varint[] = {0x08, 0x80};
    static const uint8_t truncated_string[] = {0x12, 0x05, 'a'};
    static const uint8_t truncated_fixed64[] = {0x79, 1, 2, 3};
    static const uint8_t start_group[] = {0x0B, 0x0C};
    static const uint8_t end_group[] = {0x0C};
    static const uint8_t wire_type_6[] = {0x0E, 0x00};
    static const uint8_t wire_type_7[] = {0x0F, 0x00};
    static const uint8_t string_as_varint[] = {0x10, 0x05}; /* Error.message, wire type 0 */
    static const uint8_t huge_length[] = {0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 'a'};
    assert_int_equal(UNPACK_RC(CL_MSG_PING, overlong_key), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, truncated_key), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, truncated_varint), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, truncated_string), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, truncated_fixed64), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, start_group), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, end_group), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, wire_type_6), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, wire_type_7), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, string_as_varint), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, huge_length), CL_EBADMSG);

    /* Pseudo-random garbage never crashes; most of it is rejected. */
    uint32_t x = 2463534242u;
    uint8_t junk[64];
    size_t rejected = 0;
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            junk[i] = (uint8_t)x;
        }
        ProtobufCMessage *m;
        int rc = unpack_raw((uint16_t)(1 + round % 5), junk, 1 + (size_t)round % sizeof junk, &m);
        if (rc == CL_OK)
            cl_msg_free(m);
        else {
            assert_int_equal(rc, CL_EBADMSG);
            rejected++;
        }
    }
    assert_true(rejected > 1000);
}

/* Field number 0 is invalid. protobuf-c refuses the plain key 00 but takes the overlong
 * key 80 00 as field 0 and would re-pack it as 00, which nobody can then decode; found
 * by fuzz_msg. */
static void test_field_number_zero(void **state) {
    (void)state;
    static const uint8_t plain[] = {0x00, 0x03};
    static const uint8_t overlong[] = {0x80, 0x00, 0x03};
    static const uint8_t overlong_bytes[] = {0x12, 0x01, 'k', 0x82, 0x80, 0x00, 0x00};
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, plain), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, overlong), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_PING, overlong), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, overlong_bytes), CL_EBADMSG);
}

/* ---- strings ------------------------------------------------------------------------ */

static void test_hand_encoded_strings(void **state) {
    (void)state;
    /* The valid twin first, to prove the hand encoding: Error{code: 2, message: "hi"}. */
    static const uint8_t good[] = {0x08, 0x02, 0x12, 0x02, 'h', 'i'};
    ProtobufCMessage *m;
    assert_int_equal(unpack_raw(CL_MSG_ERROR, good, sizeof good, &m), CL_OK);
    assert_int_equal(((cl_pb_error_t *)m)->code, 2);
    assert_string_equal(((cl_pb_error_t *)m)->message, "hi");
    cl_msg_free(m);

    static const uint8_t bad_utf8[] = {0x08, 0x02, 0x12, 0x02, 0xFF, 0xFE};
    static const uint8_t embedded_nul[] = {0x08, 0x02, 0x12, 0x03, 'a', 0x00, 'b'};
    static const uint8_t only_nul[] = {0x12, 0x01, 0x00};
    static const uint8_t trailing_nul[] = {0x12, 0x03, 'o', 'k', 0x00};
    static const uint8_t overlong_slash[] = {0x12, 0x02, 0xC0, 0xAF};
    static const uint8_t surrogate[] = {0x12, 0x03, 0xED, 0xA0, 0x80};
    static const uint8_t cut_chinese[] = {0x12, 0x02, 0xE4, 0xB8}; /* first 2 bytes of 万 */
    /* A good message field followed by a bad repeat of it (the last one would win). */
    static const uint8_t dup_bad_last[] = {0x12, 0x02, 'o', 'k', 0x12, 0x01, 0x80};
    static const uint8_t dup_bad_first[] = {0x12, 0x01, 0x80, 0x12, 0x02, 'o', 'k'};
    /* Bad text after unknown fields of every wire type, so the skipper is exercised. */
    static const uint8_t after_unknown[] = {
        0xA0, 0x01, 0xFF, 0xFF, 0x01,             /* field 20, varint */
        0x79, 1,    2,    3,    4,    5, 6, 7, 8, /* field 15, fixed64 */
        0x75, 1,    2,    3,    4,                /* field 14, fixed32 */
        0x82, 0x01, 0x02, 'z',  'z',              /* field 16, bytes */
        0x12, 0x02, 0xC3, 0x28,                   /* message: bad continuation */
    };
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, bad_utf8), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, embedded_nul), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, only_nul), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, trailing_nul), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, overlong_slash), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, surrogate), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, cut_chinese), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, dup_bad_last), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, dup_bad_first), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_ERROR, after_unknown), CL_EBADMSG);

    /* The same framing with good text is accepted, unknown fields skipped. */
    uint8_t fixed[sizeof after_unknown];
    memcpy(fixed, after_unknown, sizeof fixed);
    fixed[sizeof fixed - 2] = 'o';
    fixed[sizeof fixed - 1] = 'k';
    assert_int_equal(unpack_raw(CL_MSG_ERROR, fixed, sizeof fixed, &m), CL_OK);
    assert_string_equal(((cl_pb_error_t *)m)->message, "ok");
    cl_msg_free(m);

    /* ServerInfo: every string field is checked, including field 9. */
    static const uint8_t info_version_nul[] = {0x0A, 0x03, '0', 0x00, '1'};
    static const uint8_t info_tls_bad[] = {0x10, 0x01, 0x32, 0x01, 0xFE};
    static const uint8_t info_subject_bad[] = {0x4A, 0x02, 0xC3, 0x28};
    static const uint8_t info_subject_ok[] = {0x4A, 0x02, 0xC3, 0xA9}; /* "é" */
    assert_int_equal(UNPACK_RC(CL_MSG_SERVER_INFO, info_version_nul), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_SERVER_INFO, info_tls_bad), CL_EBADMSG);
    assert_int_equal(UNPACK_RC(CL_MSG_SERVER_INFO, info_subject_bad), CL_EBADMSG);
    assert_int_equal(unpack_raw(CL_MSG_SERVER_INFO, info_subject_ok, sizeof info_subject_ok, &m),
                     CL_OK);
    assert_string_equal(((cl_pb_info_t *)m)->client_cert_subject, "\xC3\xA9");
    cl_msg_free(m);
}

/* bytes fields are not text: NUL and invalid UTF-8 are fine there, and unknown
 * length-delimited fields are not judged either (they may be bytes in a newer schema). */
static void test_bytes_are_not_strings(void **state) {
    (void)state;
    static const uint8_t ping_bytes[] = {0x12, 0x04, 0x00, 0xFF, 0xFE, 0x00};
    ProtobufCMessage *m;
    assert_int_equal(unpack_raw(CL_MSG_PING, ping_bytes, sizeof ping_bytes, &m), CL_OK);
    const cl_pb_ping_t *p = (const cl_pb_ping_t *)m;
    assert_int_equal(p->payload.len, 4);
    assert_memory_equal(p->payload.data, "\x00\xFF\xFE\x00", 4);
    cl_msg_free(m);

    static const uint8_t unknown_bytes[] = {0x82, 0x01, 0x02, 0xFF, 0x00, 0x12, 0x01, 'k'};
    assert_int_equal(unpack_raw(CL_MSG_ERROR, unknown_bytes, sizeof unknown_bytes, &m), CL_OK);
    assert_string_equal(((cl_pb_error_t *)m)->message, "k");
    cl_msg_free(m);
}

static void test_chinese_round_trip(void **state) {
    (void)state;
    /* The source file is UTF-8: 9 + 1 + 8 + 1 + 15 bytes. */
    assert_int_equal(strlen(chinese), 34);
    assert_memory_equal(chinese, "\xE4\xB8\x87\xE7\xA7\x91\xE5\x9F\x8E", 9);

    cl_pb_error_t e = CLOSELOOP__ERROR__INIT;
    e.code = CLOSELOOP__ERROR_CODE__ERR_NOT_FOUND;
    e.message = (char *)chinese;
    for (size_t split = 0; split <= 60; split += 10) {
        ProtobufCMessage *m = round_trip(CL_MSG_ERROR, &e.base, split);
        const cl_pb_error_t *back = (const cl_pb_error_t *)m;
        assert_int_equal(strlen(back->message), 34);
        assert_memory_equal(back->message, chinese, 35);
        assert_int_equal(back->code, CLOSELOOP__ERROR_CODE__ERR_NOT_FOUND);
        assert_false(back->retryable);
        cl_msg_free(m);
    }

    cl_pb_info_t info = CLOSELOOP__SERVER_INFO__INIT;
    info.version = "0.1.0";
    info.protocol_version = 1;
    info.tls_version = "TLSv1.3";
    info.client_cert_subject = "CN=万科城市公司 \xF0\x9F\x8F\xA2"; /* with a 4-byte emoji */
    ProtobufCMessage *m = round_trip(CL_MSG_SERVER_INFO, &info.base, 17);
    const cl_pb_info_t *ib = (const cl_pb_info_t *)m;
    assert_string_equal(ib->version, "0.1.0");
    assert_int_equal(ib->protocol_version, 1);
    assert_string_equal(ib->tls_version, "TLSv1.3");
    assert_string_equal(ib->client_cert_subject, info.client_cert_subject);
    cl_msg_free(m);
}

/* ---- cl_utf8_valid ------------------------------------------------------------------ */

/* Truncation must never leave half a character behind (error texts quote Chinese names). */
static void test_utf8_trim(void **state) {
    (void)state;
    char s[16];
    strcpy(s, "ab\xe4\xb8"); /* 万 cut after two of its three bytes */
    cl_utf8_trim(s);
    assert_string_equal(s, "ab");
    strcpy(s, "ab\xe4\xb8\x87"); /* whole 万 stays */
    cl_utf8_trim(s);
    assert_string_equal(s, "ab\xe4\xb8\x87");
    strcpy(s, "x\xf0\x9f\x98"); /* emoji cut after three of four bytes */
    cl_utf8_trim(s);
    assert_string_equal(s, "x");
    strcpy(s, "plain");
    cl_utf8_trim(s);
    assert_string_equal(s, "plain");
    s[0] = 0;
    cl_utf8_trim(s);
    assert_string_equal(s, "");
}

/* Characters, not bytes: the unit of the registry's *_CHARS limits. */
static void test_utf8_chars(void **state) {
    (void)state;
    assert_int_equal(cl_utf8_chars(""), 0);
    assert_int_equal(cl_utf8_chars("plain"), 5);
    assert_int_equal(cl_utf8_chars("\xe5\x8e\xa8\xe6\x88\xbf"), 2); /* 厨房: 6 bytes */
    assert_int_equal(cl_utf8_chars("a\xc3\xa9\xf0\x9f\x98\x80"
                                   "b"),
                     4); /* a é emoji b */
}

/* Valid UTF-8 (no NUL bytes): ASCII; the first and last code point of each length
 * (U+0080, U+07FF, U+0800); the BMP edges around the surrogates (U+D7FF, U+E000, U+FFFF);
 * the BOM, just a character; U+10000 and the last code point U+10FFFF; emoji. */
static const char *const valid_utf8[] = {
    "plain ascii ~\x7F", "\xC2\x80",         "\xDF\xBF",
    "\xE0\xA0\x80",      "\xED\x9F\xBF",     "\xEE\x80\x80",
    "\xEF\xBF\xBF",      "\xEF\xBB\xBF",     "\xF0\x90\x80\x80",
    "\xF4\x8F\xBF\xBF",  "\xF0\x9F\x98\x80", "a\xF0\x9F\x98\x80z\xF0\x9F\x8F\xA2",
};

/* Invalid UTF-8 without NUL bytes, in the groups the comments name, in order. */
/* clang-format off */
static const char *const invalid_utf8[] = {
    /* Overlong encodings of NUL, '/', U+007F, '/', U+07FF, '/', U+FFFF. */
    "\xC0\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF", "\xF0\x80\x80\xAF",
    "\xF0\x8F\xBF\xBF",
    /* UTF-16 surrogates U+D800, U+DB7F, U+DC00, U+DFFF alone, and a pair (CESU-8). */
    "\xED\xA0\x80", "\xED\xAD\xBF", "\xED\xB0\x80", "\xED\xBF\xBF", "\xED\xA0\xBD\xED\xB8\x80",
    /* Beyond U+10FFFF (U+110000 first), the 5-byte and 6-byte forms, and lead bytes that
     * cannot start anything. */
    "\xF4\x90\x80\x80", "\xF7\xBF\xBF\xBF", "\xF5\x80\x80\x80", "\xF8\x88\x80\x80\x80",
    "\xFC\x84\x80\x80\x80\x80", "\xFE", "\xFF", "\xFF\xFE",
    /* Lone or extra continuation bytes. */
    "\x80", "\xBF", "a\x80", "\xC3\xA9\xA9",
    /* Truncated sequences, at the end and before other text (an escape would swallow
     * the A: hence two literals). */
    "\xC3", "\xE4\xB8", "\xF0\x9F\x98", "\xF0\x9F", "\xE4\xB8" "A", "\xF0\x9F\x98" "A", "\xC3 ",
};
/* clang-format on */

static void test_utf8_valid_edges(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof valid_utf8 / sizeof valid_utf8[0]; i++)
        if (!utf8(valid_utf8[i], strlen(valid_utf8[i]))) fail_msg("valid_utf8[%zu] was refused", i);
    for (size_t i = 0; i < sizeof invalid_utf8 / sizeof invalid_utf8[0]; i++)
        if (utf8(invalid_utf8[i], strlen(invalid_utf8[i])))
            fail_msg("invalid_utf8[%zu] was accepted", i);
    assert_true(utf8("", 0));
    assert_true(utf8(chinese, strlen(chinese)));

    /* NUL anywhere. */
    assert_false(utf8("\0", 1));
    assert_false(utf8("a\0b", 3));
    assert_false(utf8("ab\0", 3));

    /* Cut by len, not by content: 万 is E4 B8 87. */
    assert_false(utf8("\xE4\xB8\x87", 2));
    assert_false(utf8("\xF0\x9F\x98\x80", 3));
    assert_true(utf8("\xE4\xB8\x87xyz", 3));
}

/* ---- error codes -------------------------------------------------------------------- */

static const struct {
    int local;
    int wire;
} wire_codes[] = {
    {CL_OK, CLOSELOOP__ERROR_CODE__ERR_NONE},
    {CL_EBADFRAME, CLOSELOOP__ERROR_CODE__ERR_BAD_FRAME},
    {CL_EBADMSG, CLOSELOOP__ERROR_CODE__ERR_BAD_MESSAGE},
    {CL_EUNKNOWNTYPE, CLOSELOOP__ERROR_CODE__ERR_UNKNOWN_TYPE},
    {CL_EINVAL, CLOSELOOP__ERROR_CODE__ERR_INVALID_ARGUMENT},
    {CL_ETOOMANY, CLOSELOOP__ERROR_CODE__ERR_TOO_MANY_REQUESTS},
    {CL_EUNAVAIL, CLOSELOOP__ERROR_CODE__ERR_UNAVAILABLE},
    {CL_ETIMEDOUT, CLOSELOOP__ERROR_CODE__ERR_TIMEOUT},
    {CL_ESHUTDOWN, CLOSELOOP__ERROR_CODE__ERR_SHUTTING_DOWN},
    {CL_EUNAUTH, CLOSELOOP__ERROR_CODE__ERR_UNAUTHENTICATED},
    {CL_EFORBIDDEN, CLOSELOOP__ERROR_CODE__ERR_FORBIDDEN},
    {CL_ENOTFOUND, CLOSELOOP__ERROR_CODE__ERR_NOT_FOUND},
    {CL_ECONFLICT, CLOSELOOP__ERROR_CODE__ERR_CONFLICT},
    {CL_EINTERNAL, CLOSELOOP__ERROR_CODE__ERR_INTERNAL},
    {CL_EPRECONDITION, CLOSELOOP__ERROR_CODE__ERR_PRECONDITION},
};

static void test_err_wire_round_trip(void **state) {
    (void)state;
    /* Every wire code maps both ways, and the C enum agrees with the proto enum. */
    for (size_t i = 0; i < sizeof wire_codes / sizeof wire_codes[0]; i++) {
        assert_int_equal(wire_codes[i].local, -wire_codes[i].wire);
        assert_int_equal(cl_err_to_wire(wire_codes[i].local), wire_codes[i].wire);
        assert_int_equal(cl_err_from_wire(wire_codes[i].wire), wire_codes[i].local);
    }
    assert_int_equal(CL__WIRE_LAST, CL_EPRECONDITION);
    for (int c = CL_OK; c >= CL__WIRE_LAST; c--)
        assert_int_equal(cl_err_from_wire(cl_err_to_wire(c)), c);

    /* Local-only codes cross as ERR_INTERNAL, except an oversized frame. */
    assert_int_equal(cl_err_to_wire(CL_ENOMEM), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(CL_EIO), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(CL_ETLS), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(CL_ECLOSED), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(CL_ECONFIG), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(CL_ETOOBIG), CLOSELOOP__ERROR_CODE__ERR_BAD_FRAME);
    assert_int_equal(cl_err_to_wire(-15), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(1), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(INT_MIN), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);
    assert_int_equal(cl_err_to_wire(INT_MAX), CLOSELOOP__ERROR_CODE__ERR_INTERNAL);

    /* Wire codes from a newer peer, or nonsense, become CL_EINTERNAL. */
    static const int unknown[] = {15, 16, 99, 100, 105, 1000, -1, -13, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_int_equal(cl_err_from_wire(unknown[i]), CL_EINTERNAL);
}

static void test_err_retryable(void **state) {
    (void)state;
    static const int yes[] = {CL_ETOOMANY, CL_EUNAVAIL, CL_ETIMEDOUT, CL_ESHUTDOWN};
    /* A conflict is final by default: the record is not what the request needs, and the
     * same request sent again cannot change that (a serialization failure is the
     * exception, and the server marks that reply retryable itself). */
    static const int no[] = {CL_OK,        CL_EBADFRAME, CL_EBADMSG,    CL_EUNKNOWNTYPE,
                             CL_EINVAL,    CL_EUNAUTH,   CL_EFORBIDDEN, CL_ENOTFOUND,
                             CL_EINTERNAL, CL_ETOOBIG,   CL_ECONFIG,    CL_ECONFLICT};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(cl_err_retryable(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(cl_err_retryable(no[i]));
}

static void test_strerror(void **state) {
    (void)state;
    for (int c = -1000; c <= 1000; c++) {
        const char *s = cl_strerror(c);
        assert_non_null(s);
        assert_true(s[0] != '\0');
    }
    assert_non_null(cl_strerror(INT_MIN));
    assert_non_null(cl_strerror(INT_MAX));
    assert_string_equal(cl_strerror(-15), "unknown error");
    assert_string_equal(cl_strerror(1), "unknown error");
    assert_string_equal(cl_strerror(CL_OK), "success");

    /* Every known code has its own text. */
    static const int known[] = {CL_EBADFRAME, CL_EBADMSG,    CL_EUNKNOWNTYPE, CL_EINVAL,
                                CL_ETOOMANY,  CL_EUNAVAIL,   CL_ETIMEDOUT,    CL_ESHUTDOWN,
                                CL_EUNAUTH,   CL_EFORBIDDEN, CL_ENOTFOUND,    CL_ECONFLICT,
                                CL_EINTERNAL, CL_ENOMEM,     CL_EIO,          CL_ETLS,
                                CL_ECLOSED,   CL_ECONFIG,    CL_ETOOBIG,      CL_EPRECONDITION};
    size_t n = sizeof known / sizeof known[0];
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(cl_strerror(known[i]), "unknown error");
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(cl_strerror(known[i]), cl_strerror(known[j]));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_pack_exact_and_round_trip),
        cmocka_unit_test(test_error_reply_pack),
        cmocka_unit_test(test_empty_payload),
        cmocka_unit_test(test_pack_too_big),
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_garbage_payload),
        cmocka_unit_test(test_field_number_zero),
        cmocka_unit_test(test_hand_encoded_strings),
        cmocka_unit_test(test_bytes_are_not_strings),
        cmocka_unit_test(test_chinese_round_trip),
        cmocka_unit_test(test_utf8_valid_edges),
        cmocka_unit_test(test_utf8_trim),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_err_wire_round_trip),
        cmocka_unit_test(test_err_retryable),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
