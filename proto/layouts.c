/*
 * Every stored record's layout (record.h), in one list: the fuzz target
 * and the tests walk each. A new record's layout is added here.
 */
#include <stdatomic.h>

#include "agentmsg.h"
#include "attmsg.h"
#include "gapmsg.h"
#include "hookmsg.h"
#include "inboxmsg.h"
#include "kbmsg.h"
#include "keymsg.h"
#include "mailmsg.h"
#include "orgmsg.h"
#include "record.h"
#include "storemsg.h"
#include "usermsg.h"
#include "actionmsg.h"
#include "widgetmsg.h"

const struct rlayout *const rl_layouts[] = {
	&st_widget_layout,
	&st_agent_layout,
	&st_org_layout,
	&st_webhook_layout,
	&st_delivery_layout,
	&st_apikey_layout,
	&st_conv_layout,
	&st_msg_layout,
	&st_canned_layout,
	&st_contact_layout,
	&st_mail_layout,
	&st_user_layout,
	&st_invite_layout,
	&st_dsess_layout,
	&st_wsess_layout,
	&st_kbchunk_layout,
	&st_kbsource_layout,
	&st_kbpage_layout,
	&st_action_layout,
	&st_gap_layout,
	&st_att_layout,
};

const size_t rl_nlayouts = sizeof(rl_layouts) / sizeof(rl_layouts[0]);

int
rl_place(const struct rlayout *l)
{
	size_t i;
	int v;

	/* The list never changes: looked up once (record.h). */
	if (l->place != NULL && (v = atomic_load_explicit(l->place,
	    memory_order_relaxed)) != 0)
		return v > 0 ? v - 1 : -1;
	for (i = 0; i < rl_nlayouts && rl_layouts[i] != l; i++)
		;
	v = i < rl_nlayouts ? (int)i + 1 : -1;
	if (l->place != NULL)
		atomic_store_explicit(l->place, v, memory_order_relaxed);
	return v > 0 ? v - 1 : -1;
}
