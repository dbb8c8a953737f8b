/*
 * libFuzzer target for the channel decoder: arbitrary bytes arrive from a
 * peer in two writes, and every message that decodes has its payload read
 * as each storaged request and record type would read it (who asks, the
 * rate hit and its verdict too). The first byte says where the writes
 * split and (its top bit clear) that the peer's own HELLO, which carries
 * a fingerprint no fuzzer guesses, goes first; set, the bytes are all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agentmsg.h"
#include "log.h"
#include "proto.h"
#include "stmsgs.h"
#include "storemsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
read_payload(const struct pmsg *m)
{
	struct st_conv c;
	struct st_msg msg;
	struct st_agent a;
	struct st_event ev;
	struct st_who who;
	struct st_rate_hit hit;
	struct st_rate_verdict v;
	struct pdec d;
	char *s, name[ST_WHO_ID_MAX + 16];
	uint32_t n, i;

	/* Who asks, a rate hit, a verdict: the typed request codecs. */
	pdec_init(&d, m->payload, m->hdr.len);
	if (pdec_who(&d, &who) == 0) {
		if (who.kind > ST_WHO_MAX || strlen(who.id) > ST_WHO_ID_MAX)
			abort();
		(void)st_who_name(&who, name, sizeof(name));
	}
	if (pl_decode(&pl_rate_hit, m->payload, m->hdr.len, &hit) == 0 &&
	    strlen(hit.key) > ST_RATE_KEY_MAX)
		abort();
	if (pl_decode(&pl_rate_verdict, m->payload, m->hdr.len, &v) == 0 &&
	    m->hdr.len != 9)
		abort();
	pdec_init(&d, m->payload, m->hdr.len);
	if (pdec_conv(&d, &c) == 0)
		st_conv_free(&c);
	pdec_init(&d, m->payload, m->hdr.len);
	if (pdec_msg(&d, &msg) == 0)
		st_msg_free(&msg);
	pdec_init(&d, m->payload, m->hdr.len);
	if (pdec_agent(&d, &a) == 0) {
		(void)st_agent_invalid(&a);
		st_agent_free(&a);
	}
	pdec_init(&d, m->payload, m->hdr.len);
	if (pdec_event(&d, &ev) == 0)
		st_event_free(&ev);
	pdec_init(&d, m->payload, m->hdr.len);
	pdec_u64(&d);
	n = pdec_u32(&d);
	for (i = 0; i < n && !d.err; i++) {
		s = pdec_strdup(&d, ST_CONTENT_MAX);
		free(s);
	}
	(void)pdec_done(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct pchan ch, peer;
	struct pmsg m;
	size_t split;
	int sv[2], hello;

	if (!inited) {
		log_init("fuzz_proto");
		log_set_level(LOG_LEVEL_FATAL);
		inited = 1;
	}
	if (size < 1 || size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	if (pchan_init(&ch, sv[1], "fuzz") < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	hello = !(data[0] & 0x80);
	split = (size_t)(data[0] & 0x7f) % size;
	data++;
	size--;
	if (split > size)
		split = size;
	/* pchan_init takes sv[0] (and closes it in any case). */
	if (hello && (pchan_init(&peer, sv[0], "parley-storaged") < 0 ||
	    pchan_flush(&peer) != 1)) {
		pchan_close(&peer);
		sv[0] = -1;
		goto out;
	}
	if (split > 0 && write(sv[0], data, split) < 0)
		goto out;
	if (size > split && write(sv[0], data + split, size - split) < 0)
		goto out;
	if (hello)
		pchan_close(&peer);
	else
		close(sv[0]);
	sv[0] = -1;
	while (pchan_read(&ch) > 0) {
		while (pchan_next(&ch, &m) == 1) {
			read_payload(&m);
			if (m.fd >= 0)
				close(m.fd);
		}
	}
out:
	if (sv[0] >= 0 && hello)
		pchan_close(&peer);
	else if (sv[0] >= 0)
		close(sv[0]);
	pchan_close(&ch);
	return 0;
}
