/*
 * The inbox's records and checks (inboxmsg.h): the canned reply's
 * layout, its rows' walks (record.h), and its checks.
 */
#include <string.h>

#include "inboxmsg.h"

#define CANNED_ROW(...)	RF_ROW(struct st_canned, __VA_ARGS__)

RL_LAYOUT(st_canned_layout, "canned", struct st_canned,
    ST_CANNED_ROWS(CANNED_ROW), NULL);

int
st_canned_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_CANNED_PREFIX);
}

const char *
st_canned_invalid(const char *shortcut, const char *text)
{
	size_t i, n = strlen(shortcut), tn = strlen(text);
	ssize_t chars;

	if (n < 1 || n > ST_CANNED_SHORT_MAX)
		return "shortcut: 1 to 32 characters";
	for (i = 0; i < n; i++)
		if (!((shortcut[i] >= 'a' && shortcut[i] <= 'z') ||
		    (shortcut[i] >= '0' && shortcut[i] <= '9') ||
		    shortcut[i] == '_' || shortcut[i] == '-'))
			return "shortcut: only a-z, 0-9, _ and -";
	chars = tn > ST_CANNED_TEXT_MAX ? -1 : proto_utf8_chars(text, tn);
	if (chars < 0)
		return "text: not UTF-8, or too long";
	if (chars == 0 || chars > ST_CANNED_TEXT_CHARS)
		return "text: 1 to 2000 characters";
	return NULL;
}
