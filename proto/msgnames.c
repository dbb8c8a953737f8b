/* Names of every message type and error code, for the logs. */
#include "proto.h"

const char *
proto_msg_name(uint16_t type)
{
	switch (type) {
	case PROTO_HELLO:		return "HELLO";
	case PROTO_MW_CONN:		return "MW_CONN";
	case PROTO_WM_READY:		return "WM_READY";
	case PROTO_WM_LOAD:		return "WM_LOAD";
	case PROTO_MW_QUIT:		return "MW_QUIT";
	case PROTO_MW_RESTARTS:		return "MW_RESTARTS";
	case PROTO_MW_SETTINGS:		return "MW_SETTINGS";
	case PROTO_ST_PING:		return "ST_PING";
	case PROTO_ST_CONV_OPEN:	return "ST_CONV_OPEN";
	case PROTO_ST_MSG_APPEND:	return "ST_MSG_APPEND";
	case PROTO_ST_CONV_LIST:	return "ST_CONV_LIST";
	case PROTO_ST_CONV_GET:		return "ST_CONV_GET";
	case PROTO_ST_CHAT_BEGIN:	return "ST_CHAT_BEGIN";
	case PROTO_ST_RATE_HIT:		return "ST_RATE_HIT";
	case PROTO_ST_SESSION_HISTORY:	return "ST_SESSION_HISTORY";
	case PROTO_ST_WIDGET_CREATE:	return "ST_WIDGET_CREATE";
	case PROTO_ST_WIDGET_UPDATE:	return "ST_WIDGET_UPDATE";
	case PROTO_ST_WIDGET_GET:	return "ST_WIDGET_GET";
	case PROTO_ST_WIDGET_LIST:	return "ST_WIDGET_LIST";
	case PROTO_ST_WIDGET_DELETE:	return "ST_WIDGET_DELETE";
	case PROTO_ST_WIDGET_RESET_ID:	return "ST_WIDGET_RESET_ID";
	case PROTO_ST_WS_OPEN:		return "ST_WS_OPEN";
	case PROTO_ST_WS_BEGIN:		return "ST_WS_BEGIN";
	case PROTO_ST_CONTACT_SUBMIT:	return "ST_CONTACT_SUBMIT";
	case PROTO_ST_CONTACT_LIST:	return "ST_CONTACT_LIST";
	case PROTO_ST_CONTACT_GET:	return "ST_CONTACT_GET";
	case PROTO_ST_DASH_LOGIN:	return "ST_DASH_LOGIN";
	case PROTO_ST_DASH_CHECK:	return "ST_DASH_CHECK";
	case PROTO_ST_DASH_LOGOUT:	return "ST_DASH_LOGOUT";
	case PROTO_ST_DASH_SALT:	return "ST_DASH_SALT";
	case PROTO_ST_DASH_ATTEMPT:	return "ST_DASH_ATTEMPT";
	case PROTO_ST_CONV_DELETE:	return "ST_CONV_DELETE";
	case PROTO_ST_CONV_QUERY:	return "ST_CONV_QUERY";
	case PROTO_ST_MSG_PAGE:		return "ST_MSG_PAGE";
	case PROTO_ST_METRICS_PUT:	return "ST_METRICS_PUT";
	case PROTO_ST_METRICS_GET:	return "ST_METRICS_GET";
	case PROTO_ST_BACKUP:		return "ST_BACKUP";
	case PROTO_ST_STATS:		return "ST_STATS";
	case PROTO_ST_PURGE:		return "ST_PURGE";
	case PROTO_ST_EV_WIDGET_GONE:	return "ST_EV_WIDGET_GONE";
	case PROTO_ST_AGENT_CREATE:	return "ST_AGENT_CREATE";
	case PROTO_ST_AGENT_UPDATE:	return "ST_AGENT_UPDATE";
	case PROTO_ST_AGENT_GET:	return "ST_AGENT_GET";
	case PROTO_ST_AGENT_LIST:	return "ST_AGENT_LIST";
	case PROTO_ST_AGENT_DELETE:	return "ST_AGENT_DELETE";
	case PROTO_ST_HANDOFF_SET:	return "ST_HANDOFF_SET";
	case PROTO_ST_AGENT_MSG:	return "ST_AGENT_MSG";
	case PROTO_ST_TYPING:		return "ST_TYPING";
	case PROTO_ST_WS_REQUEST_HUMAN:	return "ST_WS_REQUEST_HUMAN";
	case PROTO_ST_EV_SUBSCRIBE:	return "ST_EV_SUBSCRIBE";
	case PROTO_ST_EV_SINCE:		return "ST_EV_SINCE";
	case PROTO_ST_HANDOFF_LIST:	return "ST_HANDOFF_LIST";
	case PROTO_ST_EV:		return "ST_EV";
	}
	return "UNKNOWN";
}

const char *
proto_err_name(uint32_t code)
{
	switch (code) {
	case PROTO_E_INTERNAL:		return "internal";
	case PROTO_E_INVALID:		return "invalid";
	case PROTO_E_NOT_FOUND:		return "not found";
	case PROTO_E_UNSUPPORTED:	return "unsupported";
	case PROTO_E_UNAVAILABLE:	return "unavailable";
	}
	return "unknown";
}
