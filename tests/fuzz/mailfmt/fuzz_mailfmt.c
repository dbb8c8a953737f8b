/*
 * libFuzzer target for the email notifications' composer
 * (workerd/notify/mailfmt.c), whose inputs are what visitors write: the
 * input's first byte picks the kind, the rest, split at NUL bytes, is a
 * conversation's last message, a message, a contact's name, email and
 * phone. Properties are checked, abort() otherwise: the message is
 * written; its head holds exactly one each of From, To, Subject, Date,
 * Message-ID, MIME-Version, Auto-Submitted and Content-Type, and no other
 * line but a subject's folded encoded word (" =?UTF-8?B?...?="); every
 * line ends with CRLF, has no bare CR or LF, no NUL, and is at most 998
 * bytes; a head line holding an encoded word and a body line at most 76
 * (RFC 2047, base64's lines); the multipart ends with its boundary.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "mailmsg.h"
#include "notify.h"
#include "workerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_mailfmt: %s\n", what);
		abort();
	}
}

/* The next NUL-ended field of the input copy, or "". */
static char *
field(char **p, char *end)
{
	char *s = *p;

	if (s >= end)
		return "";
	*p = s + strlen(s) + 1;
	return s;
}

static const char *heads[] = { "From: ", "To: ", "Subject: ", "Date: ",
    "Message-ID: ", "MIME-Version: ", "Auto-Submitted: ", "Content-Type: " };
#define NHEADS	(sizeof(heads) / sizeof(heads[0]))

static void
check_message(const char *m, size_t len)
{
	size_t seen[NHEADS] = { 0 }, i, n;
	const char *p = m, *e, *end = m + len;
	int in_head = 1;

	check(memchr(m, '\0', len) == NULL, "a NUL");
	while (p < end) {
		e = memchr(p, '\n', (size_t)(end - p));
		check(e != NULL && e > p && e[-1] == '\r', "a line without CRLF");
		n = (size_t)(e - p) - 1;
		check(memchr(p, '\r', n) == NULL, "a bare CR");
		check(n <= 998, "a line past 998 bytes");
		if (in_head && n == 0)
			in_head = 0;
		else if (in_head) {
			for (i = 0; i < NHEADS; i++)
				if (strncmp(p, heads[i], strlen(heads[i])) == 0)
					break;
			if (memmem(p, n, "=?", 2) != NULL)
				check(n <= 76, "an encoded word's line past 76");
			if (i < NHEADS)
				seen[i]++;
			else
				check(strncmp(p, " =?UTF-8?B?", 11) == 0 &&
				    strncmp(e - 3, "?=", 2) == 0,
				    "a line of the head that is no header");
		} else
			check(n <= 76, "a body line past 76");
		p = e + 1;
	}
	for (i = 0; i < NHEADS; i++)
		check(seen[i] == 1, "a header missing or twice");
	check(len > 30 && strstr(m, "--=_parley_ml_0000000000000001--\r\n") !=
	    NULL, "no end boundary");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t kinds[] = { ST_MAIL_HANDOFF, ST_MAIL_WAITING,
	    ST_MAIL_CONTACT };
	struct notify_mail_in in;
	struct st_event ev;
	struct buf out;
	char *copy, *p, *end;

	if (size < 1 || size > 65536)
		return 0;
	if ((copy = calloc(1, size + 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	p = copy;
	end = copy + size - 1;
	memset(&ev, 0, sizeof(ev));
	strlcpy(ev.conv.id, "00112233445566778899aabbccddeeff",
	    sizeof(ev.conv.id));
	ev.conv.last_message = field(&p, end);
	ev.msg.content = field(&p, end);
	ev.contact.name = field(&p, end);
	ev.contact.email = field(&p, end);
	ev.contact.phone = field(&p, end);
	memset(&in, 0, sizeof(in));
	in.id = "ml_0000000000000001";
	in.kind = kinds[data[0] % 3];
	in.ev = &ev;
	in.from = "parley@example.com";
	in.to = data[0] & 0x80 ? "a@example.com" : NULL;
	in.public_url = "https://chat.example.com";
	in.now_ms = 1795478400123ull;
	buf_init(&out);
	check(notify_mail_compose(&out, &in) == 0, "not written");
	check_message(out.data, out.len);
	buf_free(&out);
	free(copy);
	return 0;
}
