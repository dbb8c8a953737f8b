/*
 * Email notifications: the mail record's layout (its event a delivery's
 * kind, PAYLOAD: hookmsg.h) and its rows' walks (mailmsg.h, record.h).
 */

#include "mailmsg.h"

/* ---------------------------------------------------------- the record */

#define MAIL_ROW(...)	RF_ROW(struct st_mail, __VA_ARGS__)

RL_LAYOUT(st_mail_layout, "mail", struct st_mail,
    ST_MAIL_ROWS(MAIL_ROW), NULL);

const char *
st_mail_kind_name(uint32_t bit)
{
	switch (bit) {
	case ST_MAIL_HANDOFF:
		return "handoff";
	case ST_MAIL_WAITING:
		return "waiting";
	case ST_MAIL_CONTACT:
		return "contact";
	}
	return NULL;
}
