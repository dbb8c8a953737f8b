/*
 * Agents in the admin API (agents.c): the JSON of a record and of the
 * default agent (never a key), the JSON read into an agent (every error
 * names its field), and the endpoints against a fake storaged (auth,
 * what is sent, the default agent answered here and read-only, 404,
 * storaged's `invalid` passed on, the in-use 409 naming the widgets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin.h"
#include "test_client.h"
#include "agentmsg.h"
#include "widgetmsg.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define AID	"0123456789abcdef0123456789abcdef"
#define WID	"wid_0123456789abcdef0123456789abcdef"
#define WID2	"wid_fedcba9876543210fedcba9876543210"
#define SECRET	"sk-agent-secret-key-0123456789"
#define ENVKEY	"sk-env-secret-key-0123456789"
#define X10	"xxxxxxxxxx"

static struct peer P;

/* ------------------------------------------------------------- fixtures */

static void
fill_agent(struct st_agent *a)
{
	memset(a, 0, sizeof(*a));
	strlcpy(a->id, AID, sizeof(a->id));
	a->name = strdup("Shop bot");
	a->system_prompt = strdup("Sell \"things\".");
	a->model = strdup("gpt-4o");
	a->temperature_milli = 700;
	a->max_tokens = 256;
	a->history_messages = 12;
	a->base_url = strdup("http://127.0.0.1:9/v1");
	a->api_key = strdup("");
	a->api_key_set = 1;
	a->resolve_after_s = 3600;
	a->created_at = 1700000000000ULL;
	a->updated_at = 1700000000500ULL;
}

/* Maps body onto a fresh agent; returns the error ("" when none). */
static const char *
map(const char *body, struct st_agent *a, uint64_t *mask, int patch)
{
	static char err[256];
	json_error_t jerr;
	json_t *root;
	int rv;

	memset(a, 0, sizeof(*a));
	a->temperature_milli = ST_AGENT_UNSET;
	root = json_loads(body, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		fail_msg("test body %s: %s", body, jerr.text);
	err[0] = '\0';
	rv = admin_entity_from_json(&agent_entity, root, a, mask, patch, err,
	    sizeof(err));
	json_decref(root);
	assert_int_equal(rv < 0, err[0] != '\0');
	return err;
}

/* ----------------------------------------------------------------- JSON */

/* v as the answers have it (conn_send_json: 15 digits); v is freed. */
static char *
dump15(json_t *v)
{
	char *s;

	assert_non_null(v);
	s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15));
	assert_non_null(s);
	json_decref(v);
	return s;
}

/* got and want are the same JSON: the same keys and values, in any order. */
static void
assert_json_same(const char *got, const char *want)
{
	json_t *g, *w;

	assert_non_null(g = json_loads(got, 0, NULL));
	assert_non_null(w = json_loads(want, 0, NULL));
	if (!json_equal(g, w))
		fail_msg("%s is not %s", got, want);
	json_decref(g);
	json_decref(w);
}

static void
test_agent_json(void **state)
{
	struct st_agent a;
	char *s;

	fill_agent(&a);
	strlcpy(a.org, "default", sizeof(a.org));
	s = dump15(agent_json(&a));
	assert_json_same(s,
	    "{\"id\":\"" AID "\",\"organization_id\":\"default\","
	    "\"name\":\"Shop bot\","
	    "\"system_prompt\":\"Sell \\\"things\\\".\",\"model\":\"gpt-4o\","
	    "\"temperature\":0.7,\"max_tokens\":256,"
	    "\"history_messages\":12,\"base_url\":\"http://127.0.0.1:9/v1\","
	    "\"api_key_set\":true,"
	    "\"answer_in_visitor_language\":false,\"is_default\":false,"
	    "\"knowledge_source_ids\":[],\"knowledge_only\":false,"
	    "\"rewrite_follow_ups\":false,\"embedding_model\":\"\","
	    "\"action_ids\":[],\"handoff_tool\":false,"
	    "\"knowledge_search_tool\":false,\"contact_form_tool\":false,"
	    "\"resolve_after_seconds\":3600,\"vision\":false,"
	    "\"created_at\":1700000000000,\"updated_at\":1700000000500}");
	free(s);

	/* Unset: null. A key in the record (never from storaged) unseen. */
	free(a.api_key);
	a.api_key = strdup(SECRET);
	a.temperature_milli = ST_AGENT_UNSET;
	a.max_tokens = 0;
	a.history_messages = 0;
	free(a.base_url);
	a.base_url = strdup("");
	a.api_key_set = 0;
	s = test_dump(agent_json(&a));
	assert_non_null(strstr(s, "\"temperature\":null"));
	assert_non_null(strstr(s, "\"max_tokens\":null"));
	assert_non_null(strstr(s, "\"history_messages\":null"));
	assert_non_null(strstr(s, "\"base_url\":null"));
	assert_non_null(strstr(s, "\"api_key_set\":false"));
	assert_null(strstr(s, SECRET));
	assert_null(strstr(s, "api_key\""));
	free(s);

	/* A stored URL's credentials are not shown. */
	free(a.base_url);
	a.base_url = strdup("https://bob:hunter22@llm.example/v1");
	s = test_dump(agent_json(&a));
	assert_non_null(strstr(s, "\"base_url\":\"https://***@llm.example/v1\""));
	assert_null(strstr(s, "hunter22"));
	free(s);
	a.temperature_milli = 0;
	s = test_dump(agent_json(&a));
	assert_non_null(strstr(s, "\"temperature\":0.0"));
	free(s);
	st_agent_free(&a);
}

static void
test_default_json(void **state)
{
	char *s;

	/* The setup's settings: the worker's own environment. */
	s = test_dump(agent_default_json());
	assert_string_equal(s,
	    "{\"id\":\"default\",\"organization_id\":null,"
	    "\"name\":\"Default\","
	    "\"system_prompt\":\"Env prompt.\",\"model\":\"env-model\","
	    "\"temperature\":null,\"max_tokens\":null,"
	    "\"history_messages\":9,"
	    "\"base_url\":\"https://***@models.example/v1\","
	    "\"api_key_set\":true,"
	    "\"answer_in_visitor_language\":false,\"is_default\":true,"
	    "\"created_at\":null,\"updated_at\":null,"
	    "\"knowledge_source_ids\":[],\"knowledge_only\":false,"
	    "\"rewrite_follow_ups\":false,\"embedding_model\":\"\","
	    "\"action_ids\":[],\"handoff_tool\":false,"
	    "\"knowledge_search_tool\":false,\"contact_form_tool\":false,"
	    "\"resolve_after_seconds\":86400,\"vision\":false}");
	assert_null(strstr(s, ENVKEY));
	free(s);
}

/* A key of white space only, or none, is no key. */
static void
test_default_key_blank(void **state)
{
	char *key = wsettings.openai_key, blank[] = " \t\r\n";
	char *s;

	wsettings.openai_key = blank;
	s = test_dump(agent_default_json());
	assert_non_null(strstr(s, "\"api_key_set\":false"));
	free(s);
	wsettings.openai_key = NULL;
	s = test_dump(agent_default_json());
	assert_non_null(strstr(s, "\"api_key_set\":false"));
	free(s);
	wsettings.openai_key = key;
}

static void
test_from_json(void **state)
{
	struct st_agent a;
	uint64_t mask;

	assert_string_equal(map("{\"name\":\"Clinic\",\"system_prompt\":"
	    "\"Be kind.\",\"model\":\"llama3:8b\",\"temperature\":1.25,"
	    "\"max_tokens\":1000000,\"history_messages\":200,\"base_url\":"
	    "\"https://llm.example/v1\",\"api_key\":\"" SECRET "\"}", &a,
	    &mask, 0), "");
	assert_int_equal(mask, ST_AF_NAME | ST_AF_SYSTEM_PROMPT | ST_AF_MODEL |
	    ST_AF_TEMPERATURE | ST_AF_MAX_TOKENS | ST_AF_HISTORY |
	    ST_AF_BASE_URL | ST_AF_API_KEY);
	assert_string_equal(a.name, "Clinic");
	assert_string_equal(a.system_prompt, "Be kind.");
	assert_string_equal(a.model, "llama3:8b");
	assert_int_equal(a.temperature_milli, 1250);
	assert_int_equal(a.max_tokens, 1000000);
	assert_int_equal(a.history_messages, 200);
	assert_string_equal(a.base_url, "https://llm.example/v1");
	assert_string_equal(a.api_key, SECRET);
	st_agent_free(&a);

	/* Only the name: the rest unset. Integers as temperature; rounding. */
	assert_string_equal(map("{\"name\":\"A\",\"temperature\":2}", &a,
	    &mask, 0), "");
	assert_int_equal(mask, ST_AF_NAME | ST_AF_TEMPERATURE);
	assert_int_equal(a.temperature_milli, 2000);
	assert_int_equal(a.max_tokens, 0);
	assert_string_equal(a.base_url, "");
	assert_string_equal(a.api_key, "");
	st_agent_free(&a);
	assert_string_equal(map("{\"name\":\"A\",\"temperature\":0.3333}", &a,
	    &mask, 0), "");
	assert_int_equal(a.temperature_milli, 333);
	st_agent_free(&a);

	/* null clears; a PATCH needs no name. */
	assert_string_equal(map("{\"temperature\":null,\"max_tokens\":null,"
	    "\"history_messages\":null,\"base_url\":null,\"api_key\":null,"
	    "\"model\":null,\"system_prompt\":null}", &a, &mask, 1), "");
	assert_int_equal(mask, ST_AF_SYSTEM_PROMPT | ST_AF_MODEL |
	    ST_AF_TEMPERATURE | ST_AF_MAX_TOKENS | ST_AF_HISTORY |
	    ST_AF_BASE_URL | ST_AF_API_KEY);
	assert_int_equal(a.temperature_milli, ST_AGENT_UNSET);
	assert_string_equal(a.api_key, "");
	st_agent_free(&a);
	assert_string_equal(map("{}", &a, &mask, 1), "");
	assert_int_equal(mask, 0);
	st_agent_free(&a);
}

static void
test_from_json_errors(void **state)
{
	static const struct {
		const char *body, *field;
		int patch;
	} bad[] = {
		{ "[]", "body", 0 },
		{ "\"x\"", "body", 1 },
		{ "{}", "name", 0 },
		{ "{\"model\":\"m\"}", "name", 0 },
		{ "{\"name\":null}", "name", 1 },
		{ "{\"name\":\"\"}", "name", 1 },
		{ "{\"name\":5}", "name", 0 },
		{ "{\"name\":\"a\\u0000b\"}", "name", 0 },
		{ "{\"name\":\"" X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
		    "x\"}", "name", 0 },
		{ "{\"system_prompt\":true}", "system_prompt", 1 },
		{ "{\"model\":\"gpt 4\"}", "model", 1 },
		{ "{\"model\":[]}", "model", 1 },
		{ "{\"temperature\":-0.1}", "temperature", 1 },
		{ "{\"temperature\":2.01}", "temperature", 1 },
		{ "{\"temperature\":\"0.5\"}", "temperature", 1 },
		{ "{\"temperature\":true}", "temperature", 1 },
		{ "{\"max_tokens\":0}", "max_tokens", 1 },
		{ "{\"max_tokens\":1000001}", "max_tokens", 1 },
		{ "{\"max_tokens\":1.5}", "max_tokens", 1 },
		{ "{\"max_tokens\":\"10\"}", "max_tokens", 1 },
		{ "{\"history_messages\":0}", "history_messages", 1 },
		{ "{\"history_messages\":201}", "history_messages", 1 },
		{ "{\"history_messages\":-1}", "history_messages", 1 },
		{ "{\"base_url\":\"ftp://x.example\"}", "base_url", 1 },
		{ "{\"base_url\":\"llm.example/v1\"}", "base_url", 1 },
		{ "{\"base_url\":\"http://a b.example\"}", "base_url", 1 },
		{ "{\"base_url\":\"http://a.example/\\u0001\"}", "base_url", 1 },
		{ "{\"base_url\":5}", "base_url", 1 },
		{ "{\"api_key\":\"has space\"}", "api_key", 1 },
		{ "{\"api_key\":\"line\\nbreak\"}", "api_key", 1 },
		{ "{\"api_key\":\"caf\\u00e9\"}", "api_key", 1 },
		{ "{\"api_key\":7}", "api_key", 1 },
		{ "{\"id\":\"" AID "\"}", "id", 1 },
		{ "{\"organization_id\":\"default\"}", "organization_id", 1 },
		{ "{\"is_default\":true}", "is_default", 1 },
		{ "{\"api_key_set\":false}", "api_key_set", 1 },
		{ "{\"created_at\":1}", "created_at", 1 },
		{ "{\"updated_at\":1}", "updated_at", 1 },
		{ "{\"prompt\":\"x\"}", "prompt", 1 },
		{ "{\"name\":\"a\",\"bogus\":1}", "bogus", 0 },
	};
	struct st_agent a;
	const char *err;
	char want[80], *big;
	uint64_t mask;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = map(bad[i].body, &a, &mask, bad[i].patch);
		snprintf(want, sizeof(want), "%s: ", bad[i].field);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: error \"%s\" does not name %s",
			    bad[i].body, err, bad[i].field);
		st_agent_free(&a);
	}

	/* A prompt over 16384 bytes; a key over 512. */
	big = malloc(20000);
	assert_non_null(big);
	strlcpy(big, "{\"system_prompt\":\"", 20000);
	memset(big + strlen(big), 'p', 16385);
	strlcpy(big + 18 + 16385, "\"}", 3);
	err = map(big, &a, &mask, 1);
	assert_true(strncmp(err, "system_prompt: ", 15) == 0);
	st_agent_free(&a);
	strlcpy(big, "{\"api_key\":\"", 20000);
	memset(big + 12, 'k', 513);
	strlcpy(big + 12 + 513, "\"}", 3);
	err = map(big, &a, &mask, 1);
	assert_true(strncmp(err, "api_key: ", 9) == 0);
	assert_null(strstr(err, "kkkk"));	/* the key is not shown */
	st_agent_free(&a);
	free(big);
}

#define LIST_JSON(n) \
	test_reply_json(PROTO_ST_AGENT_LIST, agent_list_json, e.buf, n, NULL)
#define DELETE_JSON(n, st) \
	test_reply_json(PROTO_ST_AGENT_DELETE, agent_deleted_json, e.buf, n, st)

static void
test_replies(void **state)
{
	struct st_agent a;
	struct penc e;
	char *s;
	int status;

	/* The list: the default first, then storaged's. */
	penc_init(&e);
	penc_u32(&e, 1);
	fill_agent(&a);
	penc_agent(&e, &a);
	st_agent_free(&a);
	s = test_dump(LIST_JSON(e.len));
	assert_true(strncmp(s, "{\"agents\":[{\"id\":\"default\",", 27) == 0);
	assert_non_null(strstr(s, "},{\"id\":\"" AID "\""));
	free(s);
	/* Truncated: NULL. */
	assert_null(LIST_JSON(e.len - 1));
	penc_free(&e);

	/* Delete: deleted, or in use naming the widgets. */
	penc_init(&e);
	penc_u8(&e, 0);
	penc_u32(&e, 0);
	s = test_dump(DELETE_JSON(e.len, &status));
	assert_string_equal(s, "{\"deleted\":true}");
	assert_int_equal(status, 200);
	free(s);
	penc_free(&e);
	penc_init(&e);
	penc_u8(&e, 1);
	penc_u32(&e, 2);
	penc_str(&e, WID);
	penc_str(&e, WID2);
	s = test_dump(DELETE_JSON(e.len, &status));
	assert_string_equal(s, "{\"error\":\"Agent is in use\",\"widgets\":"
	    "[\"" WID "\",\"" WID2 "\"]}");
	assert_int_equal(status, 409);
	free(s);
	assert_null(DELETE_JSON(e.len - 2, &status));
	penc_free(&e);

	assert_true(agent_id_valid("default"));
	assert_true(agent_id_valid(AID));
	assert_false(agent_id_valid(""));
	assert_false(agent_id_valid("Default"));
	assert_false(agent_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(agent_id_valid(AID "0"));
}

/* -------------------------------------------------------- HTTP, fake peer */

static int
setup(void **state)
{
	const char *kv[] = { "CORS_ORIGIN", "https://dash.example",
	    "OPENAI_MODEL", "env-model", "SYSTEM_PROMPT", "Env prompt.",
	    "OPENAI_BASE_URL", "https://user:pw@models.example/v1",
	    "OPENAI_API_KEY", ENVKEY, "MAX_HISTORY_MESSAGES", "9", NULL };

	peer_setup(&P);
	test_settings(kv);
	admin_init(KEY);
	return 0;
}

static int
teardown(void **state)
{
	peer_admin_teardown(&P);
	return 0;
}

static int
each_setup(void **state)
{
	admin_init(KEY);
	return peer_connect(&P) == 0 ? 0 : -1;
}

static struct tclient CL;

#define ADMIN	"x-admin-api-key: " KEY "\r\n"
#define JSONCT	"Content-Type: application/json\r\n"
#define A	"/v1/admin/agents"

static void
reply_agent(struct peer_req *pr, struct st_agent *a)
{
	struct penc e;

	penc_init(&e);
	penc_agent(&e, a);
	peer_reply_enc(&P, pr, &e);
}

/* The str id a request starts with. */
static void
expect_id(struct peer_req *pr, struct pdec *d, const char *want)
{
	char id[ST_ID_HEX + 1];

	pdec_init(d, pr->payload, pr->len);
	pdec_strbuf(d, id, sizeof(id));
	assert_string_equal(id, want);
}

static void
test_auth(void **state)
{
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "GET", A, NULL, NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "GET", A "/default", NULL, NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "POST", A, "x-admin-api-key: nope\r\n" JSONCT,
	    "{\"name\":\"a\"}");
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "PATCH", A "/" AID, JSONCT, "{}");
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "DELETE", A "/" AID, "x-api-key: " KEY "\r\n",
	    NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	/* The default agent is read-only, but only for the owner to hear. */
	tclient_request(&CL, "DELETE", A "/default", NULL, NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	admin_init(NULL);
	tclient_request(&CL, "GET", A, ADMIN, NULL);
	tclient_expect_error(&CL, 503,
	    "ADMIN_API_KEY is not configured on this deployment");
	admin_init(KEY);
	peer_expect_none(&P, 50);
	tclient_close(&CL);
}

static void
test_create(void **state)
{
	struct peer_req pr;
	struct st_agent a;
	struct tresp r;
	struct pdec d;
	char v[64];

	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", A, ADMIN JSONCT, "{\"name\":\"Shop bot\","
	    "\"temperature\":0.7,\"api_key\":\"" SECRET "\"}");
	peer_expect(&P, &pr, PROTO_ST_AGENT_CREATE);
	pdec_init(&d, pr.payload, pr.len);
	assert_int_equal(pdec_agent(&d, &a), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(a.name, "Shop bot");
	assert_int_equal(a.temperature_milli, 700);
	assert_int_equal(a.max_tokens, 0);
	assert_string_equal(a.api_key, SECRET);	/* to storaged only */
	/* storaged gives it its id and times, and never the key back. */
	strlcpy(a.id, AID, sizeof(a.id));
	free(a.api_key);
	a.api_key = strdup("");
	a.api_key_set = 1;
	a.created_at = a.updated_at = 1700000000000ULL;
	reply_agent(&pr, &a);
	st_agent_free(&a);
	tclient_expect(&CL, &r, 201);
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store");
	assert_non_null(strstr(r.body, "\"id\":\"" AID "\""));
	assert_non_null(strstr(r.body, "\"api_key_set\":true"));
	assert_non_null(strstr(r.body, "\"temperature\":0.7"));
	assert_null(strstr(r.body, SECRET));
	tresp_free(&r);

	/* Refused before storaged. */
	tclient_request(&CL, "POST", A, ADMIN JSONCT, "{\"name\":");
	tclient_expect_error(&CL, 400, "Invalid JSON body");
	tclient_request(&CL, "POST", A, ADMIN "Content-Type: text/plain\r\n",
	    "{\"name\":\"a\"}");
	tclient_expect_error(&CL, 400, "Content-Type must be application/json");
	tclient_request(&CL, "POST", A, ADMIN JSONCT, "{}");
	tclient_expect_error(&CL, 400, "name: required");
	tclient_request(&CL, "POST", A, ADMIN JSONCT,
	    "{\"name\":\"a\",\"foo\":1}");
	tclient_expect_error(&CL, 400, "foo: unknown field");
	tclient_request(&CL, "POST", A, ADMIN JSONCT,
	    "{\"name\":\"a\",\"api_key_set\":true}");
	tclient_expect_error(&CL, 400, "api_key_set: read-only");
	tclient_request(&CL, "POST", A, ADMIN JSONCT,
	    "{\"name\":\"a\",\"max_tokens\":0}");
	tclient_expect_error(&CL, 400,
	    "max_tokens: must be an integer from 1 to 1000000, or null");
	peer_expect_none(&P, 50);

	/* storaged's own refusal (too many agents) is passed on. */
	tclient_request(&CL, "POST", A, ADMIN JSONCT, "{\"name\":\"a\"}");
	peer_expect(&P, &pr, PROTO_ST_AGENT_CREATE);
	peer_error(&P, &pr, PROTO_E_INVALID, "agents: at most 1000");
	tclient_expect_error(&CL, 400, "agents: at most 1000");
	tclient_close(&CL);
}

static void
test_get_list_patch(void **state)
{
	struct peer_req pr;
	struct st_agent a;
	struct tresp r;
	struct penc e;
	struct pdec d;

	assert_int_equal(tclient_open(&CL), 0);
	/* The default agent: answered here, storaged not asked. */
	tclient_request(&CL, "GET", A "/default", ADMIN, NULL);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body, "\"is_default\":true"));
	assert_non_null(strstr(r.body, "\"model\":\"env-model\""));
	assert_null(strstr(r.body, ENVKEY));
	tresp_free(&r);
	peer_expect_none(&P, 50);
	/* Ids that cannot be an agent's: 404 at once. */
	tclient_request(&CL, "GET", A "/xyz", ADMIN, NULL);
	tclient_expect_error(&CL, 404, "Agent not found");
	tclient_request(&CL, "PATCH", A "/" AID "0", ADMIN JSONCT, "{}");
	tclient_expect_error(&CL, 404, "Agent not found");
	tclient_request(&CL, "DELETE", A "/DEFAULT", ADMIN, NULL);
	tclient_expect_error(&CL, 404, "Agent not found");
	peer_expect_none(&P, 50);

	/* One agent. */
	tclient_request(&CL, "GET", A "/" AID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_AGENT_GET);
	expect_id(&pr, &d, AID);
	assert_int_equal(pdec_done(&d), 0);
	fill_agent(&a);
	reply_agent(&pr, &a);
	st_agent_free(&a);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body, "\"name\":\"Shop bot\""));
	tresp_free(&r);
	tclient_request(&CL, "GET", A "/" AID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_AGENT_GET);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "no such agent");
	tclient_expect_error(&CL, 404, "Agent not found");

	/* The list. */
	tclient_request(&CL, "GET", A, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_AGENT_LIST);
	assert_int_equal(pr.len, 0);
	penc_init(&e);
	penc_u32(&e, 0);
	peer_reply_enc(&P, &pr, &e);
	tclient_expect(&CL, &r, 200);
	assert_true(strncmp(r.body, "{\"agents\":[{\"id\":\"default\"", 26) ==
	    0);
	tresp_free(&r);

	/* PATCH: the mask says what is set; the key cleared by null. */
	tclient_request(&CL, "PATCH", A "/" AID, ADMIN JSONCT,
	    "{\"max_tokens\":50,\"api_key\":null}");
	peer_expect(&P, &pr, PROTO_ST_AGENT_UPDATE);
	expect_id(&pr, &d, AID);
	assert_int_equal(pdec_u32(&d), ST_AF_MAX_TOKENS | ST_AF_API_KEY);
	assert_int_equal(pdec_agent(&d, &a), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(a.max_tokens, 50);
	assert_string_equal(a.api_key, "");
	st_agent_free(&a);
	fill_agent(&a);
	a.api_key_set = 0;
	reply_agent(&pr, &a);
	st_agent_free(&a);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body, "\"api_key_set\":false"));
	tresp_free(&r);
	tclient_request(&CL, "PATCH", A "/" AID, ADMIN JSONCT,
	    "{\"temperature\":3}");
	tclient_expect_error(&CL, 400,
	    "temperature: must be a number from 0 to 2, or null");
	/* storaged's check of the merged record is passed on. */
	tclient_request(&CL, "PATCH", A "/" AID, ADMIN JSONCT,
	    "{\"name\":\"b\"}");
	peer_expect(&P, &pr, PROTO_ST_AGENT_UPDATE);
	peer_error(&P, &pr, PROTO_E_INVALID, "name: taken");
	tclient_expect_error(&CL, 400, "name: taken");

	/* The default agent is read-only (before its body is read). */
	tclient_request(&CL, "PATCH", A "/default", ADMIN JSONCT, "nonsense");
	tclient_expect_error(&CL, 409,
	    "The default agent is set by the environment");
	peer_expect_none(&P, 50);
	tclient_close(&CL);
}

static void
test_delete(void **state)
{
	struct peer_req pr;
	struct tresp r;
	struct penc e;
	struct pdec d;

	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "DELETE", A "/default", ADMIN, NULL);
	tclient_expect_error(&CL, 409,
	    "The default agent is set by the environment");
	peer_expect_none(&P, 50);

	tclient_request(&CL, "DELETE", A "/" AID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_AGENT_DELETE);
	expect_id(&pr, &d, AID);
	assert_int_equal(pdec_done(&d), 0);
	penc_init(&e);
	penc_u8(&e, 1);
	penc_u32(&e, 1);
	penc_str(&e, WID);
	peer_reply_enc(&P, &pr, &e);
	tclient_expect(&CL, &r, 409);
	assert_string_equal(r.body, "{\"error\":\"Agent is in use\","
	    "\"widgets\":[\"" WID "\"]}");
	tresp_free(&r);

	tclient_request(&CL, "DELETE", A "/" AID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_AGENT_DELETE);
	penc_init(&e);
	penc_u8(&e, 0);
	penc_u32(&e, 0);
	peer_reply_enc(&P, &pr, &e);
	tclient_expect(&CL, &r, 200);
	assert_string_equal(r.body, "{\"deleted\":true}");
	tresp_free(&r);

	tclient_request(&CL, "DELETE", A "/" AID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_AGENT_DELETE);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "no such agent");
	tclient_expect_error(&CL, 404, "Agent not found");
	tclient_close(&CL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_json),
		cmocka_unit_test(test_default_json),
		cmocka_unit_test(test_default_key_blank),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_from_json_errors),
		cmocka_unit_test(test_replies),
		cmocka_unit_test_setup(test_auth, each_setup),
		cmocka_unit_test_setup(test_create, each_setup),
		cmocka_unit_test_setup(test_get_list_patch, each_setup),
		cmocka_unit_test_setup(test_delete, each_setup),
	};

	log_init("test_agents");
	return cmocka_run_group_tests(tests, setup, teardown);
}
