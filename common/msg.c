/* msg.c - MsgType <-> protobuf descriptor table, frame packing and checked unpacking.
 *
 * protobuf-c hands strings back NUL-terminated, so a string with an embedded NUL would
 * silently arrive cut short. cl_msg_unpack therefore walks the raw payload first and
 * rejects any string field (at any nesting depth) holding a NUL or invalid UTF-8. */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

#include "frame.h"

struct msg_entry {
    uint16_t type;
    const char *name;
    const ProtobufCMessageDescriptor *desc;
};

#define CL_MSG_ENTRY(c, snake, name) {CL_MSG_##c, #name, &closeloop__##snake##__descriptor},
static const struct msg_entry msg_table[] = {CL_MSG_TYPES(CL_MSG_ENTRY)};
#undef CL_MSG_ENTRY

static const struct msg_entry *msg_lookup(uint16_t type) {
    for (size_t i = 0; i < sizeof msg_table / sizeof msg_table[0]; i++)
        if (msg_table[i].type == type) return &msg_table[i];
    return NULL;
}

const ProtobufCMessageDescriptor *cl_msg_descriptor(uint16_t type) {
    const struct msg_entry *e = msg_lookup(type);
    return e ? e->desc : NULL;
}

const char *cl_msg_type_name(uint16_t type) {
    const struct msg_entry *e = msg_lookup(type);
    return e ? e->name : "unknown";
}

int cl_msg_frame_pack(uint8_t flags, uint32_t req_id, uint16_t type, const ProtobufCMessage *msg,
                      uint32_t max_payload, uint8_t **out, size_t *out_len) {
    size_t body = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    if (body > max_payload) return CL_ETOOBIG;
    uint8_t *buf = malloc(CL_FRAME_HDR_LEN + body);
    if (!buf) return CL_ENOMEM;
    cl_frame_hdr_t h = {.flags = flags, .req_id = req_id, .type = type, .len = (uint32_t)body};
    cl_frame_hdr_encode(&h, buf);
    if (msg) protobuf_c_message_pack(msg, buf + CL_FRAME_HDR_LEN);
    *out = buf;
    *out_len = CL_FRAME_HDR_LEN + body;
    return CL_OK;
}

size_t cl_utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int cl_utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (len - i <= n) return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
        i += n + 1;
    }
    return 1;
}

void cl_utf8_trim(char *s) {
    size_t n = strlen(s), start = n;
    while (start > 0 && ((unsigned char)s[start - 1] & 0xC0) == 0x80 && n - start < 3)
        start--;
    if (start == 0) return;
    unsigned lead = (unsigned char)s[start - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (start - 1) < need) s[start - 1] = 0;
}

/* Reads a base-128 varint; returns bytes used, 0 on truncation or overlong input. */
static size_t read_varint(const uint8_t *p, size_t len, uint64_t *v) {
    uint64_t r = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* Checks every string field of desc found in the raw bytes, recursing into messages.
 * Structural errors are left for protobuf-c to report; this only rejects bad text. */
static int strings_valid(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                         int depth) {
    if (depth > 32) return 0;
    size_t pos = 0;
    while (pos < len) {
        uint64_t key, n;
        size_t used = read_varint(p + pos, len - pos, &key);
        if (!used) return 1;
        pos += used;
        /* protobuf-c accepts field number 0 from an overlong key (80 00) and would
         * re-pack it as 00, which it rejects: refuse numbers outside 1..2^29-1 here. */
        if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) return 0;
        switch (key & 7) {
        case 0:
            if (!(used = read_varint(p + pos, len - pos, &n))) return 1;
            pos += used;
            break;
        case 1: pos += 8; break;
        case 5: pos += 4; break;
        case 2: {
            if (!(used = read_varint(p + pos, len - pos, &n))) return 1;
            pos += used;
            if (n > len - pos) return 1;
            uint64_t tag = key >> 3;
            const ProtobufCFieldDescriptor *f =
                tag <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)tag)
                                  : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_STRING &&
                !cl_utf8_valid((const char *)p + pos, (size_t)n))
                return 0;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !strings_valid(f->descriptor, p + pos, (size_t)n, depth + 1))
                return 0;
            pos += (size_t)n;
            break;
        }
        default: return 1;
        }
    }
    return 1;
}

int cl_msg_unpack(uint16_t type, const uint8_t *payload, size_t len, ProtobufCMessage **out) {
    const ProtobufCMessageDescriptor *desc = cl_msg_descriptor(type);
    if (!desc) return CL_EUNKNOWNTYPE;
    static const uint8_t empty[1];
    if (!payload) payload = empty;
    if (!strings_valid(desc, payload, len, 0)) return CL_EBADMSG;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, payload);
    if (!m) return CL_EBADMSG;
    *out = m;
    return CL_OK;
}

void cl_msg_free(ProtobufCMessage *msg) {
    if (msg) protobuf_c_message_free_unpacked(msg, NULL);
}
