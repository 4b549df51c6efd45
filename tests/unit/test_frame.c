/* test_frame.c - unit tests of the frame codec (common/frame.c).
 *
 * Covers the 16-byte header (exact bytes, round trip, every validation rule) and the
 * incremental decoder: whole frames, frames split at every byte boundary, many frames
 * per feed, random-sized chunks from a fixed seed, empty payloads, the max_payload limit
 * enforced after the header alone and before any allocation, truncated input, sticky
 * framing errors, and a callback that stops the feed. Each test frees its decoder, so
 * LeakSanitizer checks the decoder's buffer ownership too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

/* ---- helpers ---------------------------------------------------------------------- */

/* A frame the test expects the decoder to deliver. */
struct spec {
    uint8_t flags;
    uint32_t req_id;
    uint16_t type;
    uint32_t len;
    const uint8_t *payload; /* len bytes */
};

/* Checks every delivered frame against the expected list, in order. */
struct expect {
    const struct spec *frames;
    size_t nframes;
    size_t got;     /* frames delivered so far */
    size_t stop_at; /* when got reaches this (1-based), return stop_rc; 0: never */
    int stop_rc;
};

static int expect_cb(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    struct expect *e = ctx;
    assert_true(e->got < e->nframes);
    const struct spec *s = &e->frames[e->got];
    assert_int_equal(hdr->version, CL_FRAME_VERSION);
    assert_int_equal(hdr->flags, s->flags);
    assert_int_equal(hdr->req_id, s->req_id);
    assert_int_equal(hdr->type, s->type);
    assert_int_equal(hdr->len, s->len);
    if (s->len > 0) {
        assert_non_null(payload);
        assert_memory_equal(payload, s->payload, s->len);
    }
    e->got++;
    if (e->stop_at && e->got == e->stop_at) return e->stop_rc;
    return 0;
}

/* A callback for frames that must never be delivered. */
static int never_cb(void *ctx, const cl_frame_hdr_t *hdr, const uint8_t *payload) {
    (void)ctx;
    (void)hdr;
    (void)payload;
    fail_msg("callback called for a frame that must be rejected");
    return 0;
}

/* Writes header + payload of s at out; returns the bytes written. */
static size_t put_frame(uint8_t *out, const struct spec *s) {
    cl_frame_hdr_t h = {.flags = s->flags, .req_id = s->req_id, .type = s->type, .len = s->len};
    cl_frame_hdr_encode(&h, out);
    if (s->len) memcpy(out + CL_FRAME_HDR_LEN, s->payload, s->len);
    return CL_FRAME_HDR_LEN + s->len;
}

/* Deterministic PRNG (xorshift32), so failures reproduce on every platform. */
static uint32_t rng_next(uint32_t *st) {
    uint32_t x = *st;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *st = x;
}

/* 100 frames of assorted sizes (0..~700 bytes) in one buffer, with their specs. */
#define NMANY 100
struct many {
    struct spec specs[NMANY];
    uint8_t *payloads; /* backing store for all payloads */
    uint8_t *wire;
    size_t wire_len;
};

static void many_build(struct many *m) {
    size_t total_payload = 0;
    for (size_t i = 0; i < NMANY; i++)
        total_payload += (i * 37) % 701;
    m->payloads = malloc(total_payload + 1);
    m->wire = malloc(NMANY * CL_FRAME_HDR_LEN + total_payload);
    assert_non_null(m->payloads);
    assert_non_null(m->wire);
    size_t off = 0;
    m->wire_len = 0;
    for (size_t i = 0; i < NMANY; i++) {
        uint32_t len = (uint32_t)((i * 37) % 701); /* i = 0 and i = 701k give empty frames */
        for (uint32_t k = 0; k < len; k++)
            m->payloads[off + k] = (uint8_t)(i * 31 + k * 7);
        m->specs[i] = (struct spec){
            .flags = (uint8_t)(i % 4), /* all four combinations of LAST and ERROR */
            .req_id = (uint32_t)(i * 2654435761u),
            .type = (uint16_t)(i * 257),
            .len = len,
            .payload = m->payloads + off,
        };
        off += len;
        m->wire_len += put_frame(m->wire + m->wire_len, &m->specs[i]);
    }
}

static void many_free(struct many *m) {
    free(m->payloads);
    free(m->wire);
}

/* Feeds data[0..len) in chunks from a fixed-seed PRNG; every chunk must be consumed. */
static void feed_random_chunks(cl_frame_decoder_t *d, const uint8_t *data, size_t len,
                               uint32_t seed, size_t max_chunk, struct expect *e) {
    uint32_t st = seed;
    size_t pos = 0;
    while (pos < len) {
        size_t chunk = 1 + rng_next(&st) % max_chunk;
        if (chunk > len - pos) chunk = len - pos;
        size_t used = 12345;
        assert_int_equal(cl_frame_decoder_feed(d, data + pos, chunk, expect_cb, e, &used), CL_OK);
        assert_int_equal(used, chunk);
        pos += chunk;
    }
}

/* What a fresh decoder did with the first of two feeds (see feed_in_two). */
struct first_feed {
    size_t got; /* frames delivered by it */
    int idle;   /* the decoder was idle after it */
};

/* Feeds wire[0..n) to a fresh decoder of max_payload in two feeds split at split, each
 * consumed whole; together they must deliver exactly frames[0..nframes) and leave the
 * decoder idle. Returns what the first feed did. */
static struct first_feed feed_in_two(uint32_t max_payload, const uint8_t *wire, size_t n,
                                     size_t split, const struct spec *frames, size_t nframes) {
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, max_payload);
    struct expect e = {.frames = frames, .nframes = nframes};
    size_t used = 0;
    assert_int_equal(cl_frame_decoder_feed(&d, wire, split, expect_cb, &e, &used), CL_OK);
    assert_int_equal(used, split);
    struct first_feed first = {e.got, cl_frame_decoder_idle(&d) != 0};
    assert_int_equal(cl_frame_decoder_feed(&d, wire + split, n - split, expect_cb, &e, &used),
                     CL_OK);
    assert_int_equal(used, n - split);
    assert_int_equal(e.got, nframes);
    assert_true(cl_frame_decoder_idle(&d));
    cl_frame_decoder_free(&d);
    return first;
}

static const uint8_t pay37[37] = "thirty-seven bytes of payload here!!";

/* ---- header ----------------------------------------------------------------------- */

static void test_hdr_encode_exact_bytes(void **state) {
    (void)state;
    cl_frame_hdr_t h = {.version = 99, /* ignored: encode always writes version 1 */
                        .flags = CL_FRAME_FLAG_LAST | CL_FRAME_FLAG_ERROR,
                        .req_id = 0x01020304u,
                        .type = 0x0506u,
                        .len = 0x0708090Au};
    uint8_t out[CL_FRAME_HDR_LEN];
    memset(out, 0xAA, sizeof out);
    cl_frame_hdr_encode(&h, out);
    static const uint8_t want[CL_FRAME_HDR_LEN] = {'C',  'L',  0x01, 0x03, 0x01, 0x02, 0x03, 0x04,
                                                   0x05, 0x06, 0x00, 0x00, 0x07, 0x08, 0x09, 0x0A};
    assert_memory_equal(out, want, CL_FRAME_HDR_LEN);
}

static void test_hdr_round_trip(void **state) {
    (void)state;
    static const cl_frame_hdr_t cases[] = {
        {.flags = 0, .req_id = 0, .type = 0, .len = 0},
        {.flags = CL_FRAME_FLAG_LAST, .req_id = 1, .type = 2, .len = 2},
        {.flags = CL_FRAME_FLAG_ERROR, .req_id = 0x80000000u, .type = 0x8000u, .len = 1000},
        {.flags = CL_FRAME_FLAG_LAST | CL_FRAME_FLAG_ERROR,
         .req_id = UINT32_MAX,
         .type = UINT16_MAX,
         .len = CL_FRAME_DEFAULT_MAX_PAYLOAD},
        {.flags = 0, .req_id = 0xDEADBEEFu, .type = 0xBEEFu, .len = 0x00ABCDEFu},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[CL_FRAME_HDR_LEN];
        cl_frame_hdr_encode(&cases[i], buf);
        cl_frame_hdr_t back;
        memset(&back, 0x55, sizeof back);
        assert_int_equal(cl_frame_hdr_decode(buf, 0x00ABCDEFu, &back), CL_OK);
        assert_int_equal(back.version, CL_FRAME_VERSION);
        assert_int_equal(back.flags, cases[i].flags);
        assert_int_equal(back.req_id, cases[i].req_id);
        assert_int_equal(back.type, cases[i].type);
        assert_int_equal(back.len, cases[i].len);
    }
}

static void test_hdr_decode_rejects(void **state) {
    (void)state;
    const cl_frame_hdr_t good = {.flags = CL_FRAME_FLAG_LAST, .req_id = 7, .type = 2, .len = 10};
    uint8_t base[CL_FRAME_HDR_LEN], b[CL_FRAME_HDR_LEN];
    cl_frame_hdr_t out;
    cl_frame_hdr_encode(&good, base);
    assert_int_equal(cl_frame_hdr_decode(base, 10, &out), CL_OK);

    /* Each single-byte corruption and the code it must give. */
    static const struct {
        size_t off;
        uint8_t val;
        int rc;
    } bad[] = {
        {0, 'c', CL_EBADFRAME},   {0, 0x00, CL_EBADFRAME},  {1, 'l', CL_EBADFRAME},
        {1, 'C', CL_EBADFRAME},   {2, 0x00, CL_EBADFRAME},  {2, 0x02, CL_EBADFRAME},
        {2, 0xFF, CL_EBADFRAME},  {3, 0x04, CL_EBADFRAME},  {3, 0x05, CL_EBADFRAME},
        {3, 0x80, CL_EBADFRAME},  {3, 0xFF, CL_EBADFRAME},  {10, 0x01, CL_EBADFRAME},
        {11, 0x01, CL_EBADFRAME}, {10, 0x80, CL_EBADFRAME}, {15, 11, CL_ETOOBIG},
        {12, 0x80, CL_ETOOBIG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(b, base, sizeof b);
        b[bad[i].off] = bad[i].val;
        assert_int_equal(cl_frame_hdr_decode(b, 10, &out), bad[i].rc);
    }
    /* A framing violation is reported even when the length is also too big. */
    memcpy(b, base, sizeof b);
    b[3] = 0x10;
    b[12] = 0xFF;
    assert_int_equal(cl_frame_hdr_decode(b, 10, &out), CL_EBADFRAME);
}

/* ---- decoder: one frame ------------------------------------------------------------ */

static void test_fresh_decoder(void **state) {
    (void)state;
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 4096);
    assert_int_equal(d.max_payload, 4096);
    assert_true(cl_frame_decoder_idle(&d));
    struct expect e = {0};
    size_t used = 99;
    /* An empty feed (even with no buffer) does nothing. */
    assert_int_equal(cl_frame_decoder_feed(&d, NULL, 0, never_cb, &e, &used), CL_OK);
    assert_int_equal(used, 0);
    assert_true(cl_frame_decoder_idle(&d));
    cl_frame_decoder_free(&d);
    cl_frame_decoder_free(&d); /* freeing twice is harmless */

    /* The configured maximum is capped at the hard ceiling. */
    cl_frame_decoder_init(&d, UINT32_MAX);
    assert_int_equal(d.max_payload, CL_FRAME_MAX_PAYLOAD_CEILING);
    cl_frame_decoder_free(&d);
}

static void test_one_frame_whole(void **state) {
    (void)state;
    const struct spec s = {CL_FRAME_FLAG_LAST, 42, 3, sizeof pay37, pay37};
    uint8_t wire[64];
    size_t n = put_frame(wire, &s);
    assert_int_equal(n, 53);

    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 4096);
    struct expect e = {.frames = &s, .nframes = 1};
    size_t used = 0;
    assert_int_equal(cl_frame_decoder_feed(&d, wire, n, expect_cb, &e, &used), CL_OK);
    assert_int_equal(used, n);
    assert_int_equal(e.got, 1);
    assert_true(cl_frame_decoder_idle(&d));
    assert_null(d.body);

    /* consumed may be NULL, and the decoder is reusable. */
    assert_int_equal(cl_frame_decoder_feed(&d, wire, n, expect_cb,
                                           &(struct expect){.frames = &s, .nframes = 1}, NULL),
                     CL_OK);
    cl_frame_decoder_free(&d);
}

static void test_one_byte_at_a_time(void **state) {
    (void)state;
    const struct spec s = {0, 0xCAFEBABEu, 2, sizeof pay37, pay37};
    uint8_t wire[64];
    size_t n = put_frame(wire, &s);

    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 4096);
    struct expect e = {.frames = &s, .nframes = 1};
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        assert_int_equal(cl_frame_decoder_feed(&d, wire + i, 1, expect_cb, &e, &used), CL_OK);
        assert_int_equal(used, 1);
        if (i + 1 < n) {
            assert_int_equal(e.got, 0);
            assert_false(cl_frame_decoder_idle(&d));
        }
    }
    assert_int_equal(e.got, 1);
    assert_true(cl_frame_decoder_idle(&d));
    cl_frame_decoder_free(&d);
}

static void test_every_two_chunk_split(void **state) {
    (void)state;
    const struct spec s = {CL_FRAME_FLAG_LAST, 9, 5, sizeof pay37, pay37};
    uint8_t wire[64];
    size_t n = put_frame(wire, &s);

    for (size_t split = 0; split <= n; split++) {
        struct first_feed first = feed_in_two(4096, wire, n, split, &s, 1);
        assert_int_equal(first.got, split == n ? 1 : 0);
        assert_int_equal(first.idle, split == 0 || split == n);
    }
}

/* Two frames back to back, split at every point: the split may fall inside either frame,
 * and the second chunk may hold the end of one frame and all of the next. */
static void test_every_split_two_frames(void **state) {
    (void)state;
    static const uint8_t p2[5] = {0, 1, 2, 0xFE, 0xFF};
    const struct spec s[3] = {
        {CL_FRAME_FLAG_LAST, 1, 2, sizeof pay37, pay37},
        {CL_FRAME_FLAG_LAST, 0, 1, 0, NULL},
        {CL_FRAME_FLAG_ERROR, UINT32_MAX, 1, sizeof p2, p2},
    };
    uint8_t wire[128];
    size_t n = 0;
    for (size_t i = 0; i < 3; i++)
        n += put_frame(wire + n, &s[i]);
    assert_int_equal(n, 16 * 3 + 37 + 5);

    for (size_t split = 0; split <= n; split++) {
        size_t want = (split >= 53) + (split >= 69) + (split >= 90);
        assert_int_equal(feed_in_two(4096, wire, n, split, s, 3).got, want);
    }
}

/* ---- decoder: many frames ---------------------------------------------------------- */

static void test_many_frames_one_feed(void **state) {
    (void)state;
    struct many m;
    many_build(&m);
    /* All in the first feed; the second is empty. */
    assert_int_equal(feed_in_two(700, m.wire, m.wire_len, m.wire_len, m.specs, NMANY).got, NMANY);
    many_free(&m);
}

static void test_many_frames_random_chunks(void **state) {
    (void)state;
    struct many m;
    many_build(&m);
    static const struct {
        uint32_t seed;
        size_t max_chunk;
    } runs[] = {{1, 3}, {2, 17}, {0xC0FFEEu, 64}, {12345, 300}, {777, 1500}, {42, 5000}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        cl_frame_decoder_t d;
        cl_frame_decoder_init(&d, 700);
        struct expect e = {.frames = m.specs, .nframes = NMANY};
        feed_random_chunks(&d, m.wire, m.wire_len, runs[r].seed, runs[r].max_chunk, &e);
        assert_int_equal(e.got, NMANY);
        assert_true(cl_frame_decoder_idle(&d));
        cl_frame_decoder_free(&d);
    }
    many_free(&m);
}

/* ---- decoder: sizes ---------------------------------------------------------------- */

static void test_zero_length_payload(void **state) {
    (void)state;
    const struct spec s = {CL_FRAME_FLAG_LAST, 5, 4, 0, NULL};
    uint8_t wire[2 * CL_FRAME_HDR_LEN];
    size_t n = put_frame(wire, &s);
    n += put_frame(wire + n, &s);
    assert_int_equal(n, 32);

    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 0); /* a zero maximum still admits empty payloads */
    struct expect e = {.frames = (struct spec[]){s, s}, .nframes = 2};
    size_t used = 0;
    assert_int_equal(cl_frame_decoder_feed(&d, wire, n, expect_cb, &e, &used), CL_OK);
    assert_int_equal(used, 32);
    assert_int_equal(e.got, 2);
    assert_true(cl_frame_decoder_idle(&d));
    assert_null(d.body);

    /* Header byte by byte: delivered exactly at the 16th byte. */
    e.got = 0;
    for (size_t i = 0; i < CL_FRAME_HDR_LEN; i++) {
        assert_int_equal(cl_frame_decoder_feed(&d, wire + i, 1, expect_cb, &e, &used), CL_OK);
        assert_int_equal(e.got, i == CL_FRAME_HDR_LEN - 1 ? 1 : 0);
    }
    assert_true(cl_frame_decoder_idle(&d));
    cl_frame_decoder_free(&d);
}

static void test_max_payload_exact_accepted(void **state) {
    (void)state;
    enum { MAX = 1000 };
    uint8_t *pay = malloc(MAX);
    uint8_t *wire = malloc(CL_FRAME_HDR_LEN + MAX);
    assert_non_null(pay);
    assert_non_null(wire);
    for (size_t i = 0; i < MAX; i++)
        pay[i] = (uint8_t)(i ^ 0x5A);
    const struct spec s = {CL_FRAME_FLAG_LAST, 3, 2, MAX, pay};
    size_t n = put_frame(wire, &s);

    /* Whole, and split so the payload goes through the decoder's own buffer. */
    for (size_t split = n; split >= CL_FRAME_HDR_LEN; split -= 500) {
        feed_in_two(MAX, wire, n, split, &s, 1);
        if (split < 500) break;
    }
    free(pay);
    free(wire);
}

/* Rejected after the 16 header bytes alone, with nothing allocated, and sticky. */
static void check_too_big_after_header(uint32_t max_payload, uint32_t claimed_len) {
    cl_frame_hdr_t h = {.flags = 0, .req_id = 1, .type = 2, .len = claimed_len};
    uint8_t hdr[CL_FRAME_HDR_LEN];
    cl_frame_hdr_encode(&h, hdr);

    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, max_payload);
    size_t used = 0;
    /* 15 bytes: nothing can be judged yet. */
    assert_int_equal(cl_frame_decoder_feed(&d, hdr, 15, never_cb, NULL, &used), CL_OK);
    assert_int_equal(used, 15);
    assert_null(d.body);
    /* The 16th byte completes the header: rejected before any payload byte arrives. */
    assert_int_equal(cl_frame_decoder_feed(&d, hdr + 15, 1, never_cb, NULL, &used), CL_ETOOBIG);
    assert_int_equal(used, 1);
    assert_null(d.body);
    assert_int_equal(d.body_have, 0);
    /* Sticky: later payload bytes are refused without being consumed. */
    static const uint8_t more[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(cl_frame_decoder_feed(&d, more, sizeof more, never_cb, NULL, &used),
                     CL_ETOOBIG);
    assert_int_equal(used, 0);
    assert_null(d.body);
    cl_frame_decoder_free(&d);
}

static void test_max_payload_plus_one_rejected(void **state) {
    (void)state;
    check_too_big_after_header(1000, 1001);
    check_too_big_after_header(0, 1);
    check_too_big_after_header(CL_FRAME_DEFAULT_MAX_PAYLOAD, CL_FRAME_DEFAULT_MAX_PAYLOAD + 1);
}

static void test_two_gib_header_rejected(void **state) {
    (void)state;
    check_too_big_after_header(CL_FRAME_DEFAULT_MAX_PAYLOAD, 0x80000000u);
    check_too_big_after_header(CL_FRAME_DEFAULT_MAX_PAYLOAD, UINT32_MAX);
    /* Even a decoder configured for "anything" is capped at the ceiling. */
    check_too_big_after_header(UINT32_MAX, 0x80000000u);
    check_too_big_after_header(UINT32_MAX, CL_FRAME_MAX_PAYLOAD_CEILING + 1);
}

/* ---- decoder: truncation ----------------------------------------------------------- */

/* A frame with a 37-byte payload cut after each of bytes [from, to): the decoder takes
 * them all, delivers nothing and waits for the rest. It allocates nothing before the
 * header is whole and buffers a partial payload, which free must release (LeakSanitizer). */
static void check_truncated(size_t from, size_t to) {
    const struct spec s = {0, 1, 2, sizeof pay37, pay37};
    uint8_t wire[64];
    size_t n = put_frame(wire, &s);
    assert_true(to <= n);
    for (size_t cut = from; cut < to; cut++) {
        cl_frame_decoder_t d;
        cl_frame_decoder_init(&d, 4096);
        size_t used = 0;
        assert_int_equal(cl_frame_decoder_feed(&d, wire, cut, never_cb, NULL, &used), CL_OK);
        assert_int_equal(used, cut);
        assert_false(cl_frame_decoder_idle(&d));
        if (cut < CL_FRAME_HDR_LEN) assert_null(d.body);
        if (cut > CL_FRAME_HDR_LEN) assert_non_null(d.body);
        cl_frame_decoder_free(&d);
        assert_null(d.body);
    }
}

static void test_truncated_header(void **state) {
    (void)state;
    check_truncated(1, CL_FRAME_HDR_LEN);
}

static void test_truncated_body(void **state) {
    (void)state;
    check_truncated(CL_FRAME_HDR_LEN, CL_FRAME_HDR_LEN + sizeof pay37);
}

/* ---- decoder: framing errors ------------------------------------------------------- */

/* A good frame, then a frame whose header has byte off set to val: the good frame is
 * delivered, the bad one is refused once its 16th header byte arrives, and the error
 * sticks even for a perfectly valid frame fed afterwards. */
static void check_bad_header(size_t off, uint8_t val) {
    const struct spec good = {CL_FRAME_FLAG_LAST, 1, 2, sizeof pay37, pay37};
    uint8_t wire[256];
    size_t n1 = put_frame(wire, &good);
    size_t n2 = put_frame(wire + n1, &good);
    wire[n1 + off] = val;

    /* All at once. */
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 4096);
    struct expect e = {.frames = &good, .nframes = 1};
    size_t used = 0;
    assert_int_equal(cl_frame_decoder_feed(&d, wire, n1 + n2, expect_cb, &e, &used), CL_EBADFRAME);
    assert_int_equal(used, n1 + CL_FRAME_HDR_LEN);
    assert_int_equal(e.got, 1);
    assert_null(d.body);
    uint8_t fresh[64];
    size_t nf = put_frame(fresh, &good);
    assert_int_equal(cl_frame_decoder_feed(&d, fresh, nf, expect_cb, &e, &used), CL_EBADFRAME);
    assert_int_equal(used, 0);
    assert_int_equal(cl_frame_decoder_feed(&d, fresh, 1, expect_cb, &e, &used), CL_EBADFRAME);
    assert_int_equal(e.got, 1);
    cl_frame_decoder_free(&d);

    /* Byte by byte: fine until the bad header's last byte. */
    cl_frame_decoder_init(&d, 4096);
    e.got = 0;
    for (size_t i = 0; i < n1 + CL_FRAME_HDR_LEN; i++) {
        int want = i == n1 + CL_FRAME_HDR_LEN - 1 ? CL_EBADFRAME : CL_OK;
        assert_int_equal(cl_frame_decoder_feed(&d, wire + i, 1, expect_cb, &e, &used), want);
        assert_int_equal(used, 1);
    }
    assert_int_equal(e.got, 1);
    assert_int_equal(
        cl_frame_decoder_feed(&d, wire + n1 + CL_FRAME_HDR_LEN, 1, expect_cb, &e, &used),
        CL_EBADFRAME);
    assert_int_equal(used, 0);
    cl_frame_decoder_free(&d);
}

static void test_bad_magic(void **state) {
    (void)state;
    check_bad_header(0, 'X');
    check_bad_header(1, 'X');
    check_bad_header(0, 'L'); /* "LL" */
}

static void test_bad_version(void **state) {
    (void)state;
    check_bad_header(2, 0);
    check_bad_header(2, 2);
    check_bad_header(2, 0xFF);
}

static void test_unknown_flags(void **state) {
    (void)state;
    check_bad_header(3, 0x04);
    check_bad_header(3, 0x07);
    check_bad_header(3, 0x80);
    check_bad_header(3, 0xFF);
}

static void test_reserved_nonzero(void **state) {
    (void)state;
    check_bad_header(10, 0x01);
    check_bad_header(11, 0x01);
    check_bad_header(10, 0xFF);
}

/* ---- decoder: the callback stops the feed ------------------------------------------ */

static void test_cb_negative_stops_feed(void **state) {
    (void)state;
    static const uint8_t p3[3] = {'a', 'b', 'c'};
    const struct spec s[3] = {
        {CL_FRAME_FLAG_LAST, 1, 2, sizeof pay37, pay37},
        {CL_FRAME_FLAG_LAST, 2, 2, 0, NULL},
        {CL_FRAME_FLAG_LAST, 3, 2, sizeof p3, p3},
    };
    uint8_t wire[128];
    size_t n1 = put_frame(wire, &s[0]);
    size_t n2 = put_frame(wire + n1, &s[1]);
    size_t n3 = put_frame(wire + n1 + n2, &s[2]);
    size_t n = n1 + n2 + n3;

    for (size_t stop = 1; stop <= 3; stop++) {
        cl_frame_decoder_t d;
        cl_frame_decoder_init(&d, 4096);
        struct expect e = {.frames = s, .nframes = 3, .stop_at = stop, .stop_rc = -42};
        size_t used = 0;
        assert_int_equal(cl_frame_decoder_feed(&d, wire, n, expect_cb, &e, &used), -42);
        size_t want_used = stop == 1 ? n1 : stop == 2 ? n1 + n2 : n;
        assert_int_equal(used, want_used);
        assert_int_equal(e.got, stop);
        assert_true(cl_frame_decoder_idle(&d));
        /* Not sticky: the rest of the input goes on where it stopped. */
        e.stop_at = 0;
        assert_int_equal(cl_frame_decoder_feed(&d, wire + used, n - used, expect_cb, &e, &used),
                         CL_OK);
        assert_int_equal(used, n - want_used);
        assert_int_equal(e.got, 3);
        cl_frame_decoder_free(&d);
    }

    /* Stop on a frame completed from the decoder's buffer (payload split across feeds). */
    cl_frame_decoder_t d;
    cl_frame_decoder_init(&d, 4096);
    struct expect e = {.frames = s, .nframes = 3, .stop_at = 1, .stop_rc = CL_EINTERNAL};
    size_t used = 0;
    assert_int_equal(cl_frame_decoder_feed(&d, wire, 20, expect_cb, &e, &used), CL_OK);
    assert_int_equal(used, 20);
    assert_int_equal(cl_frame_decoder_feed(&d, wire + 20, n - 20, expect_cb, &e, &used),
                     CL_EINTERNAL);
    assert_int_equal(used, n1 - 20);
    assert_int_equal(e.got, 1);
    assert_true(cl_frame_decoder_idle(&d));
    assert_null(d.body);
    cl_frame_decoder_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr_encode_exact_bytes),
        cmocka_unit_test(test_hdr_round_trip),
        cmocka_unit_test(test_hdr_decode_rejects),
        cmocka_unit_test(test_fresh_decoder),
        cmocka_unit_test(test_one_frame_whole),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_every_two_chunk_split),
        cmocka_unit_test(test_every_split_two_frames),
        cmocka_unit_test(test_many_frames_one_feed),
        cmocka_unit_test(test_many_frames_random_chunks),
        cmocka_unit_test(test_zero_length_payload),
        cmocka_unit_test(test_max_payload_exact_accepted),
        cmocka_unit_test(test_max_payload_plus_one_rejected),
        cmocka_unit_test(test_two_gib_header_rejected),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_truncated_body),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_unknown_flags),
        cmocka_unit_test(test_reserved_nonzero),
        cmocka_unit_test(test_cb_negative_stops_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
