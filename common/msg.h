/* msg.h - protobuf messages inside frames: which message each MsgType carries, how a
 * message becomes one frame buffer, and how a payload becomes a message again.
 *
 * This is the only place that maps wire types to protobuf-c descriptors, so the server,
 * the client and the fuzz harness decode identically. Buffers returned by
 * cl_msg_frame_pack are malloc'd and owned by the caller; messages returned by
 * cl_msg_unpack are freed with cl_msg_free (protobuf_c_message_free_unpacked). */
#ifndef CL_MSG_H
#define CL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "cl_err.h"
#include "closeloop.pb-c.h"

/* Short names over protobuf-c's generated ones, for use across the code base. */
typedef Closeloop__Error cl_pb_error_t;
typedef Closeloop__Ping cl_pb_ping_t;
typedef Closeloop__Pong cl_pb_pong_t;
typedef Closeloop__ServerInfoRequest cl_pb_info_req_t;
typedef Closeloop__ServerInfo cl_pb_info_t;

#define CL_MSG_ERROR           CLOSELOOP__MSG_TYPE__MSG_ERROR
#define CL_MSG_PING            CLOSELOOP__MSG_TYPE__MSG_PING
#define CL_MSG_PONG            CLOSELOOP__MSG_TYPE__MSG_PONG
#define CL_MSG_SERVER_INFO_REQ CLOSELOOP__MSG_TYPE__MSG_SERVER_INFO_REQ
#define CL_MSG_SERVER_INFO     CLOSELOOP__MSG_TYPE__MSG_SERVER_INFO

/* The descriptor of the message carried by frames of this type, or NULL if unknown. */
const ProtobufCMessageDescriptor *cl_msg_descriptor(uint16_t type);

/* A readable name for a message type ("Ping"), or "unknown". */
const char *cl_msg_type_name(uint16_t type);

/* Packs header and message into one malloc'd buffer: *out, *out_len. msg may be NULL
 * for an empty payload. Returns CL_OK, CL_ETOOBIG if the payload exceeds max_payload,
 * or CL_ENOMEM. */
CL_MUSTCHECK int cl_msg_frame_pack(uint8_t flags, uint32_t req_id, uint16_t type,
                                   const ProtobufCMessage *msg, uint32_t max_payload, uint8_t **out,
                                   size_t *out_len);

/* Decodes payload as the message of type. Returns CL_OK with *out set, CL_EUNKNOWNTYPE,
 * or CL_EBADMSG (undecodable, or a string field that is not valid UTF-8 or holds NUL). */
CL_MUSTCHECK int cl_msg_unpack(uint16_t type, const uint8_t *payload, size_t len,
                               ProtobufCMessage **out);

void cl_msg_free(ProtobufCMessage *msg);

/* Whether s[0..len) is valid UTF-8 without NUL bytes. */
int cl_utf8_valid(const char *s, size_t len);

#endif
