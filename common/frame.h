/* frame.h - the closeloop frame codec: a 16-byte header, then one protobuf payload.
 *
 *   offset size field
 *   0      2    magic 'C' 'L'
 *   2      1    protocol version (1)
 *   3      1    flags (bit 0 LAST: last frame of a reply; bit 1 ERROR: payload is Error)
 *   4      4    request id, big-endian (0 = server push)
 *   8      2    message type, big-endian (MsgType in proto/closeloop.proto)
 *   10     2    reserved, must be 0
 *   12     4    payload length, big-endian, at most the configured maximum
 *
 * The decoder is incremental: feed it whatever the socket delivered (part of a frame,
 * several frames) and it calls back once per complete frame. The header is checked,
 * length included, before any payload byte is buffered, so a peer cannot make it
 * allocate more than max_payload. Pure code: no I/O, no globals, single-threaded per
 * decoder. The decoder owns its partial-frame buffer; cl_frame_decoder_free releases it. */
#ifndef CL_FRAME_H
#define CL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cl_err.h"

#define CL_FRAME_MAGIC0      'C'
#define CL_FRAME_MAGIC1      'L'
#define CL_FRAME_VERSION     1
#define CL_FRAME_HDR_LEN     16
#define CL_FRAME_FLAG_LAST   0x01u
#define CL_FRAME_FLAG_ERROR  0x02u
#define CL_FRAME_FLAGS_KNOWN (CL_FRAME_FLAG_LAST | CL_FRAME_FLAG_ERROR)
/* Hard ceiling on any configured maximum payload: 64 MiB. */
#define CL_FRAME_MAX_PAYLOAD_CEILING (64u * 1024u * 1024u)
/* Default maximum payload: 1 MiB. Large results stream as several frames. */
#define CL_FRAME_DEFAULT_MAX_PAYLOAD (1024u * 1024u)

typedef struct cl_frame_hdr {
    uint8_t version; /* protocol version; the decoder accepts only CL_FRAME_VERSION */
    uint8_t flags;   /* CL_FRAME_FLAG_* */
    uint32_t req_id; /* chosen by the client, echoed in replies */
    uint16_t type;   /* MsgType */
    uint32_t len;    /* payload length in bytes */
} cl_frame_hdr_t;

/* Writes the 16 header bytes of h into out (magic and version are filled in). */
void cl_frame_hdr_encode(const cl_frame_hdr_t *h, uint8_t out[CL_FRAME_HDR_LEN]);

/* Parses and validates 16 header bytes. Returns CL_OK, CL_EBADFRAME (magic, version,
 * unknown flag bits, reserved not zero) or CL_ETOOBIG (len > max_payload). */
CL_MUSTCHECK int cl_frame_hdr_decode(const uint8_t in[CL_FRAME_HDR_LEN], uint32_t max_payload,
                                     cl_frame_hdr_t *out);

/* Called once per complete frame. payload is valid only during the call (it may point
 * into the caller's input or into the decoder's buffer). Return 0 to go on; a negative
 * value stops the feed, which then returns that value. */
typedef int (*cl_frame_cb)(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload);

typedef struct cl_frame_decoder {
    uint32_t max_payload;              /* frames with a longer payload are rejected */
    uint8_t hdr_buf[CL_FRAME_HDR_LEN]; /* partial header bytes */
    size_t hdr_have;                   /* bytes in hdr_buf */
    cl_frame_hdr_t hdr;                /* current header, valid once hdr_have == CL_FRAME_HDR_LEN */
    uint8_t *body;    /* partial payload, allocated at hdr.len once the header is valid */
    size_t body_have; /* bytes in body */
    int error;        /* sticky: once a feed fails, every later feed returns it */
} cl_frame_decoder_t;

void cl_frame_decoder_init(cl_frame_decoder_t *d, uint32_t max_payload);
void cl_frame_decoder_free(cl_frame_decoder_t *d);

/* Consumes all len bytes of data, calling cb for every frame completed. Returns CL_OK,
 * a framing error (sticky), CL_ENOMEM, or the first negative value cb returned.
 * *consumed (may be NULL) receives how many bytes were used; it is less than len only
 * when the feed stopped early. */
CL_MUSTCHECK int cl_frame_decoder_feed(cl_frame_decoder_t *d, const uint8_t *data, size_t len,
                                       cl_frame_cb cb, void *ctx, size_t *consumed);

/* Whether the decoder sits between frames (no partial header or payload buffered). */
int cl_frame_decoder_idle(const cl_frame_decoder_t *d);

#endif
