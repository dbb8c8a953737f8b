/*
 * Unit tests: the bytes of stored agents and organisations, written down.
 * Their encoding (every storaged message carrying one encodes it so), the
 * LMDB value storaged writes, and each older format as it reads: the
 * bytes here were taken from the hand-written codecs before the records
 * had rows (proto/record.h), so the rows must keep every one of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agent_sample.h"
#include "agentmsg.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "recbytes.h"
#include "test_fixture.h"

#define AGENT_ID	"0123456789abcdef0123456789abcdef"
#define ORG_ID		"org_0123456789abcdef0123456789abcdef"

/* str "0123...": an agent's id, and an organisation's. */
#define HEX_AGENT_ID	"00000020" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_ORG_ID	"00000024" "6f72675f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
/* An agent's fields from its name to its key, format 1's. */
#define HEX_AGENT_BODY	"00000013" "53616c657320e2809420e2809c626f74e2809d" \
	"00000010" "596f752073656c6c207468696e67732e" \
	"0000000b" "6770742d346f2d6d696e69" \
	"000002bc" "00000200" "0000000c" \
	"00000016" "68747470733a2f2f6c6c6d2e6578616d706c652f7631" \
	"0000000b" "736b2d746573742d313233" "01"
/* u64 1700000000000, 1700000000001. */
#define HEX_T0		"0000018bcfe56800"
#define HEX_T1		"0000018bcfe56801"
#define HEX_DEFAULT	"00000007" "64656661756c74"

/* A full agent of organisation ORG_ID in its format 9, on the wire. */
static const char agent_full[] = HEX_AGENT_ID HEX_AGENT_BODY HEX_T0 HEX_T1
    HEX_ORG_ID "01" "00000000" "00" "00" "00000000" "00000000" "00" "00" "00"
    "00015180" "00";
/* st_agent_defaults' agent (the default agent of a begin reply). */
static const char agent_empty[] = "00000000" "00000000" "00000000"
    "00000000" "ffffffff" "00000000" "00000000" "00000000" "00000000" "00"
    "0000000000000000" "0000000000000000" "00000000" "00" "00000000" "00"
    "00" "00000000" "00000000" "00" "00" "00" "00015180" "00";
/* An organisation in its format 2: its daily turn budget (250) last. */
static const char org_full[] = HEX_ORG_ID
    "00000011" "41636d6520e2809420e2809c636fe2809d" HEX_T0 HEX_T1
    "000000fa";
static const char org_empty[] = "00000000" "00000000"
    "0000000000000000" "0000000000000000" "00000000";

static int
setup(void **state)
{
	log_set_level(LOG_LEVEL_ERROR);
	return fix_setup(state, "/tmp/parley-recbytes-XXXXXX", 0);
}

/* An agent with every field set (agent_sample.h's, and more). */
static void
full_agent(struct st_agent *a)
{
	agent_sample(a, AGENT_ID, T0);
	strlcpy(a->org, ORG_ID, sizeof(a->org));
	a->answer_in_visitor_language = 1;
	assert_non_null(a->api_key);
}

/* a is full_agent's but for its organisation, times, key and language. */
static void
assert_agent_body(const struct st_agent *a, const char *key, int lang)
{
	assert_string_equal(a->name, "Sales — “bot”");
	assert_string_equal(a->system_prompt, "You sell things.");
	assert_string_equal(a->model, "gpt-4o-mini");
	assert_int_equal(a->temperature_milli, 700);
	assert_int_equal(a->max_tokens, 512);
	assert_int_equal(a->history_messages, 12);
	assert_string_equal(a->base_url, "https://llm.example/v1");
	assert_string_equal(a->api_key, key);
	assert_int_equal(a->api_key_set, 1);
	assert_int_equal(a->answer_in_visitor_language, lang);
}

static void
test_agent_wire(void **state)
{
	struct st_agent a, g;
	struct penc e;
	struct pdec d;

	full_agent(&a);
	penc_init(&e);
	penc_agent(&e, &a);
	assert_int_equal(e.err, 0);
	assert_bytes(e.buf, e.len, agent_full);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_agent(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(g.id, AGENT_ID);
	assert_agent_body(&g, "sk-test-123", 1);
	assert_string_equal(g.org, ORG_ID);
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	st_agent_free(&g);
	penc_free(&e);
	st_agent_free(&a);

	/* The default agent: "", unset, 0, its strings NULL. */
	st_agent_defaults(&a);
	assert_null(a.name);
	penc_init(&e);
	penc_agent(&e, &a);
	assert_bytes(e.buf, e.len, agent_empty);
	penc_free(&e);
}

static void
test_org_wire(void **state)
{
	struct st_org o, g;
	struct penc e;
	struct pdec d;

	memset(&o, 0, sizeof(o));
	penc_init(&e);
	pl_org.enc(&e, &o);
	assert_bytes(e.buf, e.len, org_empty);
	penc_free(&e);
	strlcpy(o.id, ORG_ID, sizeof(o.id));
	o.name = strdup("Acme — “co”");
	o.created_at = T0;
	o.updated_at = T0 + 1;
	o.daily_turns = 250;
	penc_init(&e);
	pl_org.enc(&e, &o);
	assert_bytes(e.buf, e.len, org_full);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pl_org.dec(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(g.id, ORG_ID);
	assert_string_equal(g.name, "Acme — “co”");
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	assert_int_equal(g.daily_turns, 250);
	st_org_free(&g);
	penc_free(&e);
	st_org_free(&o);
}

/* ---------------------------------------------------------------- LMDB */

/* hex as db's value under key, and key in order (u64 created_at | key). */
static void
db_store(struct fix *f, const char *db, const char *order, const char *key,
    uint64_t created_at, const char *hex)
{
	uint8_t okey[8 + 64];

	db_put_hex(f, db, key, strlen(key), hex);
	proto_put_be64(okey, created_at);
	memcpy(okey + 8, key, strlen(key));
	db_write(f, order, okey, 8 + strlen(key), "", 0);
}

/* A full agent made through storaged is stored as format 7. */
static void
test_agent_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_agent in, out;
	char hex[1024], id[2 * ST_ID_HEX + 1];

	full_agent(&in);
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_CREATE, &in, &out), 0);
	/* A reply never carries the key; the record keeps it. */
	assert_string_equal(out.api_key, "");
	assert_int_equal(out.api_key_set, 1);
	snprintf(hex, sizeof(hex), "09" "00000020%s" HEX_AGENT_BODY HEX_T0
	    HEX_T0 HEX_DEFAULT "01" "00000000" "00" "00" "00000000" "00000000"
	    "00" "00" "00" "00015180" "00",
	    hex_of(out.id, id));
	assert_stored(f, "agents", out.id, strlen(out.id), hex);
	st_agent_free(&in);
	st_agent_free(&out);
}

/* What storaged answers for agent id (as the install key of "default"). */
static void
agent_get(struct fix *f, const char *id, struct st_agent *g)
{
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_GET,
	    &(struct st_id_req){ id }, g), 0);
	assert_string_equal(g->id, id);
}

/*
 * Agents of each format storaged has written: format 1 (before
 * organisations) reads as the default one's, formats 1 and 2 without
 * answer_in_visitor_language, format 4 without rewrite_follow_ups,
 * format 5 without embedding_model; an update writes format 7 (with
 * action_ids).
 */
static void
test_agent_formats(void **state)
{
	struct fix *f = *state;
	struct st_agent g, in;
	struct st_agents l;
	struct st_agent_update_req u;
	const char *v1 = "10000000000000000000000000000001";
	const char *v2 = "20000000000000000000000000000002";
	const char *v3 = "30000000000000000000000000000003";
	const char *v4 = "40000000000000000000000000000004";
	const char *v5 = "50000000000000000000000000000005";
	char hex[1024], id[2 * ST_ID_HEX + 1];

	snprintf(hex, sizeof(hex), "01" "00000020%s" HEX_AGENT_BODY HEX_T0
	    HEX_T1, hex_of(v1, id));
	db_store(f, "agents", "agent_order", v1, T0, hex);
	snprintf(hex, sizeof(hex), "02" "00000020%s" HEX_AGENT_BODY HEX_T0
	    HEX_T1 HEX_DEFAULT, hex_of(v2, id));
	db_store(f, "agents", "agent_order", v2, T0 + 1, hex);
	snprintf(hex, sizeof(hex), "03" "00000020%s" HEX_AGENT_BODY HEX_T0
	    HEX_T1 HEX_DEFAULT "01", hex_of(v3, id));
	db_store(f, "agents", "agent_order", v3, T0 + 2, hex);
	snprintf(hex, sizeof(hex), "04" "00000020%s" HEX_AGENT_BODY HEX_T0
	    HEX_T1 HEX_DEFAULT "01" "00000000" "01", hex_of(v4, id));
	db_store(f, "agents", "agent_order", v4, T0 + 3, hex);
	snprintf(hex, sizeof(hex), "05" "00000020%s" HEX_AGENT_BODY HEX_T0
	    HEX_T1 HEX_DEFAULT "01" "00000000" "00" "01", hex_of(v5, id));
	db_store(f, "agents", "agent_order", v5, T0 + 4, hex);

	agent_get(f, v1, &g);
	assert_agent_body(&g, "", 0);
	assert_string_equal(g.org, "default");
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	st_agent_free(&g);
	agent_get(f, v2, &g);
	assert_agent_body(&g, "", 0);
	assert_string_equal(g.org, "default");
	st_agent_free(&g);
	agent_get(f, v3, &g);
	assert_agent_body(&g, "", 1);
	st_agent_free(&g);
	agent_get(f, v4, &g);
	assert_agent_body(&g, "", 1);
	assert_int_equal(g.knowledge_only, 1);
	assert_int_equal(g.rewrite_follow_ups, 0);
	st_agent_free(&g);
	agent_get(f, v5, &g);
	assert_int_equal(g.rewrite_follow_ups, 1);
	assert_string_equal(g.embedding_model, "");
	st_agent_free(&g);
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.agents[0].id, v1);
	assert_string_equal(l.agents[2].id, v3);
	assert_string_equal(l.agents[3].id, v4);
	st_rep_free(PROTO_ST_AGENT_LIST, &l);

	/* Updated, format 1 is written as 7, its key kept. */
	st_agent_defaults(&in);
	in.max_tokens = 7;
	fake_now = T0 + 5;
	u = (struct st_agent_update_req){ v1, ST_AF_MAX_TOKENS, in };
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_UPDATE, &u, &g), 0);
	assert_int_equal(g.max_tokens, 7);
	st_agent_free(&g);
	snprintf(hex, sizeof(hex), "09" "00000020%s" "00000013"
	    "53616c657320e2809420e2809c626f74e2809d" "00000010"
	    "596f752073656c6c207468696e67732e" "0000000b"
	    "6770742d346f2d6d696e69" "000002bc" "00000007" "0000000c"
	    "00000016" "68747470733a2f2f6c6c6d2e6578616d706c652f7631"
	    "0000000b" "736b2d746573742d313233" "01" HEX_T0
	    "0000018bcfe56805" HEX_DEFAULT "00" "00000000" "00" "00"
	    "00000000" "00000000" "00" "00" "00" "00015180" "00",
	    hex_of(v1, id));
	assert_stored(f, "agents", v1, strlen(v1), hex);
	st_agent_free(&in);
}

/*
 * An organisation made through storaged (format 2), and one stored as
 * format 1, before daily turn budgets: it has none.
 */
static void
test_org_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_org in, out, g;
	char hex[1024], id[2 * ST_ORG_ID_MAX + 1];

	memset(&in, 0, sizeof(in));
	strlcpy(in.id, "ignored", sizeof(in.id));
	in.name = strdup("Acme — “co”");
	in.daily_turns = 250;
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &in, &out), 0);
	snprintf(hex, sizeof(hex), "02" "00000024%s" "00000011"
	    "41636d6520e2809420e2809c636fe2809d" HEX_T0 HEX_T0 "000000fa",
	    hex_of(out.id, id));
	assert_stored(f, "orgs", out.id, strlen(out.id), hex);
	st_org_free(&out);
	st_org_free(&in);

	db_store(f, "orgs", "org_order", ORG_ID, T0 + 9, "01" HEX_ORG_ID
	    "00000011" "41636d6520e2809420e2809c636fe2809d" HEX_T0 HEX_T1);
	assert_int_equal(request_dec(f, PROTO_ST_ORG_GET,
	    &(struct st_id_req){ ORG_ID }, &g), 0);
	assert_string_equal(g.id, ORG_ID);
	assert_string_equal(g.name, "Acme — “co”");
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	assert_int_equal(g.daily_turns, 0);
	st_org_free(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_wire),
		cmocka_unit_test(test_org_wire),
		cmocka_unit_test_setup_teardown(test_agent_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_agent_formats, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_org_lmdb, setup,
		    fix_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
