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
#include "msg_types.h"

/* Short names over protobuf-c's generated ones, for use across the code base. */
typedef Closeloop__Error cl_pb_error_t;
typedef Closeloop__Ping cl_pb_ping_t;
typedef Closeloop__Pong cl_pb_pong_t;
typedef Closeloop__ServerInfoRequest cl_pb_info_req_t;
typedef Closeloop__ServerInfo cl_pb_info_t;
typedef Closeloop__LoginRequest cl_pb_login_req_t;
typedef Closeloop__LoginReply cl_pb_login_t;
typedef Closeloop__SessionResumeRequest cl_pb_resume_req_t;
typedef Closeloop__LogoutRequest cl_pb_logout_req_t;
typedef Closeloop__Ok cl_pb_ok_t;
typedef Closeloop__WhoAmIRequest cl_pb_whoami_req_t;
typedef Closeloop__WhoAmI cl_pb_whoami_t;
typedef Closeloop__Meta cl_pb_meta_t;
typedef Closeloop__Company cl_pb_company_t;
typedef Closeloop__CompanyCreate cl_pb_company_create_t;
typedef Closeloop__CompanyListRequest cl_pb_company_list_req_t;
typedef Closeloop__CompanyPage cl_pb_company_page_t;
typedef Closeloop__Project cl_pb_project_t;
typedef Closeloop__ProjectCreate cl_pb_project_create_t;
typedef Closeloop__ProjectListRequest cl_pb_project_list_req_t;
typedef Closeloop__ProjectPage cl_pb_project_page_t;
typedef Closeloop__Building cl_pb_building_t;
typedef Closeloop__BuildingCreate cl_pb_building_create_t;
typedef Closeloop__BuildingListRequest cl_pb_building_list_req_t;
typedef Closeloop__BuildingPage cl_pb_building_page_t;
typedef Closeloop__Owner cl_pb_owner_t;
typedef Closeloop__Unit cl_pb_unit_t;
typedef Closeloop__UnitCreate cl_pb_unit_create_t;
typedef Closeloop__UnitListRequest cl_pb_unit_list_req_t;
typedef Closeloop__UnitPage cl_pb_unit_page_t;
typedef Closeloop__Contractor cl_pb_contractor_t;
typedef Closeloop__ContractorCreate cl_pb_contractor_create_t;
typedef Closeloop__ContractorListRequest cl_pb_contractor_list_req_t;
typedef Closeloop__ContractorPage cl_pb_contractor_page_t;
typedef Closeloop__User cl_pb_user_t;
typedef Closeloop__UserCreate cl_pb_user_create_t;
typedef Closeloop__UserListRequest cl_pb_user_list_req_t;
typedef Closeloop__UserPage cl_pb_user_page_t;
typedef Closeloop__TradeAssignment cl_pb_trade_assignment_t;
typedef Closeloop__TradeAssign cl_pb_trade_assign_t;
typedef Closeloop__TradeListRequest cl_pb_trade_list_req_t;
typedef Closeloop__TradeAssignmentPage cl_pb_trade_assignment_page_t;
typedef Closeloop__UnitImportRow cl_pb_import_row_t;
typedef Closeloop__UnitImportChunk cl_pb_import_chunk_t;
typedef Closeloop__RowError cl_pb_row_error_t;
typedef Closeloop__UnitImportResult cl_pb_import_result_t;
typedef Closeloop__Round cl_pb_round_t;
typedef Closeloop__RoundCreate cl_pb_round_create_t;
typedef Closeloop__RoundListRequest cl_pb_round_list_req_t;
typedef Closeloop__RoundPage cl_pb_round_page_t;
typedef Closeloop__Photo cl_pb_photo_t;
typedef Closeloop__Item cl_pb_item_t;
typedef Closeloop__ItemBatch cl_pb_item_batch_t;
typedef Closeloop__ItemBatchResult cl_pb_item_batch_result_t;
typedef Closeloop__TicketRef cl_pb_ticket_ref_t;
typedef Closeloop__HandoverForm cl_pb_handover_form_t;
typedef Closeloop__InspectionRecord cl_pb_inspection_record_t;
typedef Closeloop__HandoverSchedule cl_pb_handover_schedule_t;
typedef Closeloop__Ticket cl_pb_ticket_t;
typedef Closeloop__TicketTransition cl_pb_ticket_transition_t;
typedef Closeloop__TicketEvent cl_pb_ticket_event_t;
typedef Closeloop__TicketShowRequest cl_pb_ticket_show_req_t;
typedef Closeloop__TicketHistory cl_pb_ticket_history_t;
typedef Closeloop__TodoListRequest cl_pb_todo_list_req_t;
typedef Closeloop__ToVerifyListRequest cl_pb_toverify_list_req_t;
typedef Closeloop__DispatchListRequest cl_pb_dispatch_list_req_t;
typedef Closeloop__TicketPage cl_pb_ticket_page_t;
typedef Closeloop__DeadlinePreset cl_pb_deadline_preset_t;
typedef Closeloop__DeadlineSet cl_pb_deadline_set_t;
typedef Closeloop__DeadlineListRequest cl_pb_deadline_list_req_t;
typedef Closeloop__DeadlinePresetPage cl_pb_deadline_preset_page_t;
typedef Closeloop__DailyReportRequest cl_pb_daily_report_req_t;
typedef Closeloop__DailyReport cl_pb_daily_report_t;
typedef Closeloop__ReadinessRequest cl_pb_readiness_req_t;
typedef Closeloop__Readiness cl_pb_readiness_t;

/* CL_MSG_PING ...: one constant per row of msg_types.h. */
#define CL_MSG_CONST(c, snake, name) CL_MSG_##c = CLOSELOOP__MSG_TYPE__MSG_##c,
enum cl_msg_type { CL_MSG_TYPES(CL_MSG_CONST) };
#undef CL_MSG_CONST

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

/* Characters (code points) of a valid UTF-8 string: the unit of the CL_LIM_*_CHARS
 * limits. */
size_t cl_utf8_chars(const char *s);

/* Drops a partial UTF-8 sequence left at the end of s by truncation. */
void cl_utf8_trim(char *s);

#endif
