/*
 * The frames a widget's visitor may send over the WebSocket, in one table
 * (docs/widget-protocol.md): each one's "type", the parser of its fields
 * (wsmsg.c, wsfeedback.c, wsconvs.c), who answers it (wschat.c and its
 * add-ons), whether it stores something (refused with "Identity
 * required" until an identity_required widget's socket is verified), the
 * storaged message it asks and how it is bounded. wsmsg_parse and
 * wschat.c's ws_text read it; tests/integration/wsframes.test.mjs reads it
 * from this source and checks the protocol page and the identity rule
 * against it, so a frame is added here, in one row. Each "error" frame
 * names the type of the frame it answers (wsframe_type).
 */
#include <string.h>

#include "chat.h"
#include "workerd.h"

const struct wsframe wsframes[] = {
	{ "message", WSMSG_MESSAGE, wsmsg_parse_message, wschat_on_message,
	    1, PROTO_ST_WS_BEGIN, WSF_CLIENT },
	{ "contact_info", WSMSG_CONTACT, wsmsg_parse_contact,
	    wschat_on_contact, 1, PROTO_ST_CONTACT_SUBMIT, WSF_CLIENT },
	{ "resume", WSMSG_RESUME, wsmsg_parse_resume, wschat_on_resume,
	    0, PROTO_ST_WS_OPEN, WSF_FIRST },
	{ "request_human", WSMSG_REQUEST_HUMAN, NULL, wschat_on_request_human,
	    1, PROTO_ST_WS_REQUEST_HUMAN, WSF_SOCKET },
	{ "availability", WSMSG_AVAILABILITY, NULL, wschat_on_availability,
	    0, PROTO_ST_WIDGET_AVAIL, WSF_SOCKET },
	{ "visitor", WSMSG_VISITOR, wsmsg_parse_visitor, wschat_on_visitor,
	    0, 0, WSF_KEPT },
	{ "identify", WSMSG_IDENTIFY, wsmsg_parse_identify, wschat_on_identify,
	    0, PROTO_ST_WS_IDENTIFY, WSF_SOCKET },
	{ "feedback", WSMSG_FEEDBACK, wsfb_parse_feedback, wschat_on_feedback,
	    1, PROTO_ST_WS_FEEDBACK, WSF_SOCKET },
	{ "rating", WSMSG_RATING, wsfb_parse_rating, wschat_on_feedback,
	    1, PROTO_ST_WS_RATING, WSF_SOCKET },
	{ "new_conversation", WSMSG_NEW_CONV, NULL, wsconvs_frame,
	    1, PROTO_ST_WS_CONV_NEW, WSF_SOCKET },
	{ "conversations", WSMSG_CONV_LIST, NULL, wsconvs_frame,
	    0, PROTO_ST_WS_CONV_LIST, WSF_SOCKET },
	{ "open_conversation", WSMSG_CONV_OPEN, wsconvs_parse_open,
	    wsconvs_frame, 0, PROTO_ST_WS_CONV_READ, WSF_SOCKET },
	{ "confirm", WSMSG_CONFIRM, wsmsg_parse_confirm, wschat_on_confirm,
	    0, 0, WSF_KEPT },
	{ "tools", WSMSG_TOOLS, wsmsg_parse_tools, wschat_on_tools,
	    0, 0, WSF_KEPT },
	{ "tool_result", WSMSG_TOOL_RESULT, wsmsg_parse_tool_result,
	    wschat_on_tool_result, 0, 0, WSF_KEPT },
	{ NULL, WSMSG_INVALID, NULL, NULL, 0, 0, WSF_KEPT },
};

const struct wsframe *
wsframe_find(const char *type)
{
	const struct wsframe *f;

	for (f = wsframes; f->type != NULL; f++)
		if (strcmp(f->type, type) == 0)
			return f;
	return NULL;
}

const char *
wsframe_type(enum wsmsg_type t)
{
	const struct wsframe *f;

	for (f = wsframes; f->type != NULL; f++)
		if (f->msg == t)
			return f->type;
	return NULL;
}
