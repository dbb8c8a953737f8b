/*
 * Widgets and contacts in the admin API, and the public widget config:
 * the JSON made of the records, the JSON read into a widget (every error
 * names its field), and the endpoints against a fake storaged (auth,
 * what is sent, 404, storaged's `invalid` passed on, the config's origin
 * check and CORS headers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin.h"
#include "test_client.h"
#include "widgetmsg.h"

#define KEY	"abcdefghijklmnopqrstuvwxyz0123456789"
#define WID	"wid_0123456789abcdef0123456789abcdef"
#define CONTACT	"fedcba9876543210fedcba9876543210"
#define X10	"xxxxxxxxxx"

static struct peer P;

/* ------------------------------------------------------------- fixtures */

static void
fill_widget(struct st_widget *w)
{
	st_widget_defaults(w);
	strlcpy(w->id, "00000000000000000000000000000007", sizeof(w->id));
	strlcpy(w->widget_id, WID, sizeof(w->widget_id));
	w->name = strdup("Support");
	w->greeting = strdup("Hi \"there\"");
	w->system_prompt = strdup("");
	w->model = strdup("");
	w->contact_mode = ST_CONTACT_REQUIRED;
	w->collect_email = 1;
	w->position = ST_POS_BOTTOM_LEFT;
	w->created_at = 1700000000000ULL;
	w->updated_at = 1700000000500ULL;
}

static void
add_origin(struct st_widget *w, const char *o)
{
	w->origins = realloc(w->origins, (w->norigins + 1) *
	    sizeof(*w->origins));
	assert_non_null(w->origins);
	w->origins[w->norigins++] = strdup(o);
}

static void
fill_contact(struct st_contact *ct, int n)
{
	memset(ct, 0, sizeof(*ct));
	snprintf(ct->id, sizeof(ct->id), "%032x", n);
	ct->name = strdup("Jane");
	ct->email = strdup("jane@example.com");
	ct->phone = strdup("");
	ct->created_at = 1700000000000ULL + (uint64_t)n;
	ct->updated_at = 1700000000100ULL + (uint64_t)n;
}

static void
fill_conv(struct st_conv *c, int n)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%032x", n);
	strlcpy(c->widget, "default", sizeof(c->widget));
	snprintf(c->session, sizeof(c->session), "s%d", n);
	c->created_at = c->updated_at = 1700000000000ULL;
	c->message_count = 1;
	c->last_message = strdup("x");
	strlcpy(c->contact_id, CONTACT, sizeof(c->contact_id));
}

/* ----------------------------------------------------------------- JSON */

/*
 * s is a JSON object holding each of pairs ("key":value as dumped), and
 * exactly the widget's rows shown in view (its secret as "<name>_set"),
 * plus extra keys (text_agent_id).
 */
static void
assert_shown(const char *s, int view, size_t extra, const char *const *pairs)
{
	const struct rlayout *l = &st_widget_layout;
	json_t *o;
	size_t i, n = extra;

	for (; *pairs != NULL; pairs++)
		if (strstr(s, *pairs) == NULL)
			fail_msg("%s lacks %s", s, *pairs);
	for (i = 0; i < l->nf; i++)
		if (l->f[i].view == RF_PUB || (view == RF_ADM &&
		    l->f[i].view == RF_ADM))
			n++;
	assert_non_null(o = json_loads(s, 0, NULL));
	assert_int_equal(json_object_size(o), n);
	json_decref(o);
}

static void
test_widget_json(void **state)
{
	struct st_widget w;
	char *s;

	fill_widget(&w);
	add_origin(&w, "https://a.example");
	w.daily_cap = 50;
	strlcpy(w.org, "org_0123456789abcdef0123456789abcdef", sizeof(w.org));
	s = test_dump(widget_json(&w));
	assert_shown(s, RF_ADM, 1, (const char *const[]){
	    "\"id\":\"00000000000000000000000000000007\"",
	    "\"widget_id\":\"" WID "\"",
	    "\"organization_id\":\"org_0123456789abcdef0123456789abcdef\"",
	    "\"name\":\"Support\"",
	    "\"greeting\":\"Hi \\\"there\\\"\"", "\"primary_color\":\"#4f46e5\"",
	    "\"text_color\":\"#ffffff\"", "\"position\":\"bottom_left\"",
	    "\"contact_info_mode\":\"required\"", "\"collect_name\":false",
	    "\"collect_email\":true", "\"collect_phone\":false",
	    "\"handoff_enabled\":false", "\"handoff_label\":null",
	    "\"starter_questions\":[]", "\"proactive_message\":\"\"",
	    "\"proactive_delay_s\":10", "\"proactive_path\":\"\"",
	    "\"language\":\"\"", "\"identity_required\":false",
	    "\"unread_sound\":false", "\"unread_title\":false",
	    "\"feedback_enabled\":true", "\"rating_enabled\":false",
	    "\"allowed_origins\":[\"https://a.example\"]",
	    "\"daily_message_cap\":50", "\"retention_days\":null",
	    "\"business_hours\":null", "\"away_message\":null",
	    "\"identity_secret_set\":false", "\"enabled\":true",
	    "\"system_prompt\":null", "\"model\":null",
	    "\"agent_id\":\"default\"", "\"text_agent_id\":\"default\"",
	    "\"created_at\":1700000000000", "\"updated_at\":1700000000500",
	    NULL });
	free(s);

	/* None given: null; no origins: []. */
	st_widget_free(&w);
	fill_widget(&w);
	free(w.name);
	w.name = strdup("");
	free(w.model);
	w.model = strdup("gpt-4o-mini");
	w.enabled = 0;
	s = test_dump(widget_json(&w));
	assert_non_null(strstr(s, "\"name\":null"));
	assert_non_null(strstr(s, "\"allowed_origins\":[]"));
	assert_non_null(strstr(s, "\"daily_message_cap\":null"));
	assert_non_null(strstr(s, "\"enabled\":false"));
	assert_non_null(strstr(s, "\"model\":\"gpt-4o-mini\""));
	free(s);

	/* An agent, the handoff button: the agent is not public. */
	strlcpy(w.agent_id, CONTACT, sizeof(w.agent_id));
	w.handoff_enabled = 1;
	free(w.handoff_label);
	w.handoff_label = strdup("Ask us");
	s = test_dump(widget_json(&w));
	assert_non_null(strstr(s, "\"agent_id\":\"" CONTACT "\","
	    "\"text_agent_id\":\"" CONTACT "\""));
	assert_non_null(strstr(s, "\"handoff_enabled\":true,"
	    "\"handoff_label\":\"Ask us\""));
	free(s);
	s = test_dump(widget_public_json(&w, 1, ST_LANG_EN));
	assert_null(strstr(s, "agent_id"));
	assert_non_null(strstr(s, "\"handoff_label\":\"Ask us\""));
	free(s);
	w.handoff_enabled = 0;
	free(w.handoff_label);
	w.handoff_label = strdup("");
	w.agent_id[0] = '\0';

	/* The public subset: nothing internal. */
	s = test_dump(widget_public_json(&w, 1, ST_LANG_EN));
	assert_shown(s, RF_PUB, 0, (const char *const[]){
	    "\"name\":null", "\"greeting\":\"Hi \\\"there\\\"\"",
	    "\"primary_color\":\"#4f46e5\"", "\"text_color\":\"#ffffff\"",
	    "\"position\":\"bottom_left\"", "\"contact_info_mode\":\"required\"",
	    "\"collect_name\":false", "\"collect_email\":true",
	    "\"collect_phone\":false", "\"handoff_enabled\":false",
	    "\"handoff_label\":null",
	    "\"starter_questions\":[]", "\"proactive_message\":\"\"",
	    "\"proactive_delay_s\":10", "\"proactive_path\":\"\"",
	    "\"language\":\"\"", "\"identity_required\":false",
	    "\"unread_sound\":false", "\"unread_title\":false",
	    "\"feedback_enabled\":true", "\"rating_enabled\":false",
	    NULL });
	/* Nothing internal. */
	assert_null(strstr(s, "\"id\""));
	assert_null(strstr(s, "organization_id"));
	assert_null(strstr(s, "secret"));
	assert_null(strstr(s, "system_prompt"));
	free(s);
	st_widget_free(&w);
}

static void
test_contact_json(void **state)
{
	struct st_contact ct;
	struct st_conv c;
	char *s;

	fill_contact(&ct, 1);
	s = test_dump(contact_json(&ct));
	assert_string_equal(s,
	    "{\"id\":\"00000000000000000000000000000001\",\"name\":\"Jane\","
	    "\"email\":\"jane@example.com\",\"phone\":null,"
	    "\"external_id\":null,\"verified\":false,"
	    "\"email_verified\":false,"
	    "\"created_at\":1700000000001,\"updated_at\":1700000000101}");
	free(s);
	st_contact_free(&ct);

	/* Conversations name their contact, or null. */
	fill_conv(&c, 3);
	s = test_dump(admin_conv_json(&c));
	assert_non_null(strstr(s, "\"contactId\":\"" CONTACT "\""));
	free(s);
	c.contact_id[0] = '\0';
	s = test_dump(admin_conv_json(&c));
	assert_non_null(strstr(s, "\"contactId\":null"));
	free(s);
	st_conv_free(&c);
}

/* Maps body onto a fresh widget; returns the error ("" when none). */
static const char *
map(const char *body, struct st_widget *w, uint64_t *mask)
{
	static char err[256];
	json_error_t jerr;
	json_t *root;
	int rv;

	st_widget_defaults(w);
	root = json_loads(body, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		fail_msg("test body %s: %s", body, jerr.text);
	err[0] = '\0';
	rv = admin_entity_from_json(&widget_entity, root, w, mask, 1, err,
	    sizeof(err));
	json_decref(root);
	assert_int_equal(rv < 0, err[0] != '\0');
	return err;
}

/* Away mode's fields in and out of the JSON (issue 23). */
static void
test_hours_json(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"business_hours\":\"9-5\"}", "business_hours: must be null" },
		{ "{\"business_hours\":{\"timezone\":\"../etc/passwd\"}}",
		    "business_hours: timezone: must be an IANA" },
		{ "{\"business_hours\":{\"timezone\":\"Mars/Base\"}}",
		    "business_hours: timezone: must be an IANA" },
		{ "{\"business_hours\":{\"timezone\":\"UTC\",\"x\":1}}",
		    "business_hours: only" },
		{ "{\"business_hours\":{\"timezone\":\"UTC\",\"days\":"
		    "{\"monday\":[]}}}", "business_hours: days: must be" },
		{ "{\"business_hours\":{\"timezone\":\"UTC\",\"days\":"
		    "{\"mon\":[[\"9:00\",\"17:00\"]]}}}", "business_hours: each day" },
		{ "{\"business_hours\":{\"timezone\":\"UTC\",\"days\":"
		    "{\"mon\":[[\"24:30\",\"25:00\"]]}}}", "business_hours: each day" },
		{ "{\"business_hours\":{\"timezone\":\"UTC\",\"days\":"
		    "{\"mon\":[[\"17:00\",\"09:00\"]]}}}",
		    "business_hours: each interval" },
		{ "{\"business_hours\":{\"timezone\":\"UTC\",\"days\":"
		    "{\"mon\":[[\"09:00\",\"12:00\"],[\"11:00\",\"13:00\"]]}}}",
		    "business_hours: a day's intervals must be in order and "
		    "must not overlap" },
		{ "{\"away_message\":7}", "away_message: " },
	};
	struct st_widget w;
	uint64_t mask;
	size_t i;
	char *s;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = (char *)map(bad[i][0], &w, &mask);
		if (strncmp(s, bad[i][1], strlen(bad[i][1])) != 0)
			fail_msg("%s: \"%s\", want \"%s...\"", bad[i][0], s,
			    bad[i][1]);
		st_widget_free(&w);
	}
	/* Intervals sorted by start; 24:00 ends a day; a day left out has none. */
	assert_string_equal(map("{\"business_hours\":{\"timezone\":"
	    "\"Europe/Paris\",\"days\":{\"sun\":[[\"23:00\",\"24:00\"]],"
	    "\"mon\":[[\"13:00\",\"17:30\"],[\"09:00\",\"12:00\"]]}},"
	    "\"away_message\":\"Back <soon>\"}", &w, &mask), "");
	assert_int_equal(mask, ST_WF_HOURS | ST_WF_AWAY_MESSAGE);
	assert_string_equal(w.timezone, "Europe/Paris");
	assert_int_equal(w.nhours, 3);
	assert_int_equal(w.hours[0].start, 540);
	assert_int_equal(w.hours[1].start, 780);
	assert_int_equal(w.hours[2].day, 6);
	assert_int_equal(w.hours[2].end, 1440);
	s = test_dump(widget_json(&w));
	assert_non_null(strstr(s, "\"business_hours\":{\"timezone\":"
	    "\"Europe/Paris\",\"days\":{\"mon\":[[\"09:00\",\"12:00\"],"
	    "[\"13:00\",\"17:30\"]],\"tue\":[],\"wed\":[],\"thu\":[],"
	    "\"fri\":[],\"sat\":[],\"sun\":[[\"23:00\",\"24:00\"]]}},"
	    "\"away_message\":\"Back <soon>\""));
	free(s);
	/* The public config: availability only with the handoff button. */
	s = test_dump(widget_public_json(&w, 1, ST_LANG_EN));
	assert_null(strstr(s, "availability"));
	assert_null(strstr(s, "business_hours"));
	free(s);
	w.handoff_enabled = 1;
	w.nhours = 0;		/* a zone, no hours: always away */
	s = test_dump(widget_public_json(&w, 1, ST_LANG_EN));
	assert_non_null(strstr(s, "\"availability\":{\"away\":true,"
	    "\"reason\":\"hours\",\"message\":\"Back <soon>\"}"));
	free(s);
	w.timezone[0] = '\0';
	s = test_dump(widget_avail_json(&w, 0, "availability", "unused"));
	assert_string_equal(s, "{\"type\":\"availability\",\"away\":true,"
	    "\"reason\":\"nobody\",\"message\":\"Back <soon>\"}");
	free(s);
	free(w.away_message);
	w.away_message = strdup("");
	s = test_dump(widget_avail_json(&w, 1, NULL, "Zur\u00fcck bald"));
	assert_string_equal(s, "{\"away\":false,\"reason\":null,"
	    "\"message\":\"Zur\u00fcck bald\"}");
	free(s);
	/* The public config's default: the widget's language, else the visitor's. */
	s = test_dump(widget_public_json(&w, 1, 4));
	assert_non_null(strstr(s, "\"message\":\"Wir sind gerade nicht da."));
	free(s);
	strlcpy(w.language, "fr", sizeof(w.language));
	s = test_dump(widget_public_json(&w, 1, 4));
	assert_non_null(strstr(s, "\"message\":\"Nous sommes absents"));
	free(s);
	w.language[0] = '\0';
	s = test_dump(widget_public_json(&w, 1, ST_LANG_EN));
	assert_non_null(strstr(s, "\"message\":\"" ST_DEFAULT_AWAY_MESSAGE));
	free(s);
	st_widget_free(&w);
	/* null: no hours again. */
	assert_string_equal(map("{\"business_hours\":null}", &w, &mask), "");
	assert_string_equal(w.timezone, "");
	st_widget_free(&w);
}

static void
test_from_json(void **state)
{
	struct st_widget w;
	uint64_t mask;

	assert_string_equal(map("{\"name\":\"Shop\",\"greeting\":null,"
	    "\"primary_color\":\"#112233\",\"text_color\":\"#ABCDEF\","
	    "\"position\":\"bottom_left\",\"contact_info_mode\":\"optional\","
	    "\"collect_name\":true,\"collect_email\":false,"
	    "\"collect_phone\":true,\"allowed_origins\":[\"https://a.example\","
	    "\"http://localhost:8080\"],\"daily_message_cap\":100,"
	    "\"enabled\":false,\"system_prompt\":\"Be brief.\","
	    "\"model\":\"gpt-4o\",\"retention_days\":30}", &w, &mask), "");
	/*
	 * Every field but issue 15's (agent_id, handoff), 23's (away) and
	 * 26's.
	 */
	assert_int_equal(mask, 0xfffff & ~(ST_WF_AGENT_ID | ST_WF_HANDOFF_ENABLED |
	    ST_WF_HANDOFF_LABEL | ST_WF_HOURS | ST_WF_AWAY_MESSAGE));
	assert_string_equal(w.name, "Shop");
	assert_string_equal(w.greeting, "");
	assert_string_equal(w.primary_color, "#112233");
	assert_string_equal(w.text_color, "#ABCDEF");
	assert_int_equal(w.position, ST_POS_BOTTOM_LEFT);
	assert_int_equal(w.contact_mode, ST_CONTACT_OPTIONAL);
	assert_int_equal(w.collect_name, 1);
	assert_int_equal(w.collect_email, 0);
	assert_int_equal(w.collect_phone, 1);
	assert_int_equal(w.norigins, 2);
	assert_string_equal(w.origins[1], "http://localhost:8080");
	assert_int_equal(w.daily_cap, 100);
	assert_int_equal(w.retention_days, 30);
	assert_int_equal(w.enabled, 0);
	assert_string_equal(w.system_prompt, "Be brief.");
	assert_string_equal(w.model, "gpt-4o");
	st_widget_free(&w);

	/* Nothing given: the defaults, no field set. */
	assert_string_equal(map("{}", &w, &mask), "");
	assert_int_equal(mask, 0);
	assert_string_equal(w.name, "");
	assert_int_equal(w.enabled, 1);
	st_widget_free(&w);

	/* null clears what may be cleared. */
	assert_string_equal(map("{\"daily_message_cap\":null,\"model\":null,"
	    "\"allowed_origins\":[]}", &w, &mask), "");
	assert_int_equal(mask, ST_WF_DAILY_CAP | ST_WF_MODEL | ST_WF_ORIGINS);
	assert_int_equal(w.daily_cap, 0);
	assert_int_equal(w.norigins, 0);
	st_widget_free(&w);
	/* A list given as null is none (Loquent's Option<Vec<String>>). */
	assert_string_equal(map("{\"allowed_origins\":null,"
	    "\"starter_questions\":null}", &w, &mask), "");
	assert_int_equal(mask & ST_WF_ORIGINS, ST_WF_ORIGINS);
	assert_int_equal(w.norigins, 0);
	assert_int_equal(w.nstarters, 0);
	st_widget_free(&w);

	/* The agent under either name; "default" and null are "". */
	assert_string_equal(map("{\"agent_id\":\"" CONTACT "\","
	    "\"handoff_enabled\":true,\"handoff_label\":\"Ask us\"}", &w,
	    &mask), "");
	assert_int_equal(mask, ST_WF_AGENT_ID | ST_WF_HANDOFF_ENABLED |
	    ST_WF_HANDOFF_LABEL);
	assert_string_equal(w.agent_id, CONTACT);
	assert_int_equal(w.handoff_enabled, 1);
	assert_string_equal(w.handoff_label, "Ask us");
	st_widget_free(&w);
	assert_string_equal(map("{\"text_agent_id\":\"" CONTACT "\","
	    "\"agent_id\":\"" CONTACT "\"}", &w, &mask), "");
	assert_string_equal(w.agent_id, CONTACT);
	st_widget_free(&w);
	assert_string_equal(map("{\"text_agent_id\":\"default\","
	    "\"handoff_label\":null}", &w, &mask), "");
	assert_int_equal(mask, ST_WF_AGENT_ID | ST_WF_HANDOFF_LABEL);
	assert_string_equal(w.agent_id, "");
	assert_string_equal(w.handoff_label, "");
	st_widget_free(&w);
	assert_string_equal(map("{\"agent_id\":null}", &w, &mask), "");
	assert_string_equal(w.agent_id, "");
	st_widget_free(&w);
}

static void
test_from_json_errors(void **state)
{
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "[]", "body" },
		{ "\"x\"", "body" },
		{ "{\"name\":5}", "name" },
		{ "{\"name\":\"a\\u0000b\"}", "name" },
		{ "{\"name\":\"" X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
		    "x\"}", "name" },
		{ "{\"greeting\":true}", "greeting" },
		{ "{\"primary_color\":null}", "primary_color" },
		{ "{\"primary_color\":\"red\"}", "primary_color" },
		{ "{\"primary_color\":\"#12345g\"}", "primary_color" },
		{ "{\"text_color\":\"#1234567\"}", "text_color" },
		{ "{\"text_color\":1}", "text_color" },
		{ "{\"position\":\"top\"}", "position" },
		{ "{\"position\":null}", "position" },
		{ "{\"position\":\"bottom_right\\u0000x\"}", "position" },
		{ "{\"contact_info_mode\":\"always\"}", "contact_info_mode" },
		{ "{\"contact_info_mode\":2}", "contact_info_mode" },
		{ "{\"contact_info_mode\":\"required\"}", "contact_info_mode" },
		{ "{\"collect_name\":1}", "collect_name" },
		{ "{\"collect_email\":null}", "collect_email" },
		{ "{\"collect_phone\":\"true\"}", "collect_phone" },
		{ "{\"allowed_origins\":\"https://a.example\"}",
		    "allowed_origins" },
		{ "{\"allowed_origins\":[1]}", "allowed_origins" },
		{ "{\"allowed_origins\":[\"https://a.example/\"]}",
		    "allowed_origins" },
		{ "{\"allowed_origins\":[\"ftp://a.example\"]}",
		    "allowed_origins" },
		{ "{\"allowed_origins\":[\"*\"]}", "allowed_origins" },
		{ "{\"daily_message_cap\":0}", "daily_message_cap" },
		{ "{\"daily_message_cap\":-3}", "daily_message_cap" },
		{ "{\"daily_message_cap\":1.5}", "daily_message_cap" },
		{ "{\"daily_message_cap\":10.0}", "daily_message_cap" },
		{ "{\"daily_message_cap\":\"10\"}", "daily_message_cap" },
		{ "{\"daily_message_cap\":4294967296}", "daily_message_cap" },
		{ "{\"daily_message_cap\":true}", "daily_message_cap" },
		{ "{\"enabled\":null}", "enabled" },
		{ "{\"enabled\":0}", "enabled" },
		{ "{\"system_prompt\":[]}", "system_prompt" },
		{ "{\"model\":\"gpt 4\"}", "model" },
		{ "{\"model\":{}}", "model" },
		{ "{\"colour\":\"#000000\"}", "colour" },
		{ "{\"widget_id\":\"" WID "\"}", "widget_id" },
		{ "{\"id\":\"x\"}", "id" },
		{ "{\"organization_id\":\"default\"}", "organization_id" },
		{ "{\"created_at\":1}", "created_at" },
		{ "{\"enabled\":true,\"bogus\":1}", "bogus" },
		{ "{\"agent_id\":\"xyz\"}", "agent_id" },
		{ "{\"agent_id\":5}", "agent_id" },
		{ "{\"agent_id\":\"DEFAULT\"}", "agent_id" },
		{ "{\"agent_id\":\"" CONTACT "0\"}", "agent_id" },
		{ "{\"text_agent_id\":[]}", "text_agent_id" },
		{ "{\"agent_id\":\"" CONTACT "\",\"text_agent_id\":"
		    "\"default\"}", "text_agent_id" },
		{ "{\"handoff_enabled\":\"yes\"}", "handoff_enabled" },
		{ "{\"handoff_enabled\":null}", "handoff_enabled" },
		{ "{\"handoff_label\":1}", "handoff_label" },
		{ "{\"handoff_label\":\"" X10 X10 X10 X10 X10 X10 X10 X10 X10
		    X10 "x\"}", "handoff_label" },
	};
	struct st_widget w;
	const char *err;
	char want[80];
	uint64_t mask;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = map(bad[i].body, &w, &mask);
		snprintf(want, sizeof(want), "%s: ", bad[i].field);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: error \"%s\" does not name %s",
			    bad[i].body, err, bad[i].field);
		st_widget_free(&w);
	}

	/* 33 origins. */
	{
		char body[2048];
		int n;

		strlcpy(body, "{\"allowed_origins\":[", sizeof(body));
		for (n = 0; n < 33; n++) {
			snprintf(want, sizeof(want), "%s\"https://h%d.example\"",
			    n ? "," : "", n);
			strlcat(body, want, sizeof(body));
		}
		strlcat(body, "]}", sizeof(body));
		err = map(body, &w, &mask);
		assert_true(strncmp(err, "allowed_origins: ", 17) == 0);
		st_widget_free(&w);
	}
	/* A long unknown name is cut. */
	err = map("{\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}", &w, &mask);
	assert_true(strlen(err) < 100);
	st_widget_free(&w);
}

/* e's bytes, n of them, as type's reply made JSON by fn. */
#define REPLY(type, fn, n)	test_reply_json(type, fn, e.buf, n, NULL)

static void
test_replies(void **state)
{
	struct st_widget w;
	struct st_contact ct;
	struct st_conv c;
	struct penc e;
	char *s;
	int i;

	/* Widget list. */
	penc_init(&e);
	penc_u32(&e, 2);
	for (i = 0; i < 2; i++) {
		fill_widget(&w);
		w.widget_id[ST_WID_LEN - 1] = (char)('0' + i);
		penc_widget(&e, &w);
		st_widget_free(&w);
	}
	assert_false(e.err);
	s = test_dump(REPLY(PROTO_ST_WIDGET_LIST, widget_list_json, e.len));
	assert_true(strncmp(s, "{\"widgets\":[{\"id\":", 18) == 0);
	assert_true(strstr(s, "abcde0\"") < strstr(s, "abcde1\""));
	free(s);
	assert_null(REPLY(PROTO_ST_WIDGET_LIST, widget_list_json, e.len - 1));
	penc_u8(&e, 0);
	assert_null(REPLY(PROTO_ST_WIDGET_LIST, widget_list_json, e.len));
	penc_free(&e);
	penc_init(&e);
	penc_u32(&e, ST_WIDGETS_MAX + 1);
	assert_null(REPLY(PROTO_ST_WIDGET_LIST, widget_list_json, e.len));
	penc_free(&e);

	/* One widget. */
	penc_init(&e);
	fill_widget(&w);
	penc_widget(&e, &w);
	st_widget_free(&w);
	s = test_dump(REPLY(PROTO_ST_WIDGET_GET, widget_one_json, e.len));
	assert_non_null(strstr(s, "\"widget_id\":\"" WID "\""));
	free(s);
	assert_null(REPLY(PROTO_ST_WIDGET_GET, widget_one_json, e.len - 3));
	penc_free(&e);

	/* Contact list: the conversation list's paging. */
	penc_init(&e);
	penc_u64(&e, 9);
	penc_u32(&e, 2);
	for (i = 1; i <= 2; i++) {
		fill_contact(&ct, i);
		penc_contact(&e, &ct);
		st_contact_free(&ct);
	}
	penc_str(&e, "c0ffee");
	s = test_dump(REPLY(PROTO_ST_CONTACT_LIST, contact_page_json, e.len));
	assert_true(strncmp(s, "{\"contacts\":[{\"id\":", 19) == 0);
	assert_non_null(strstr(s, "\"total\":9,\"nextCursor\":\"c0ffee\"}"));
	free(s);
	assert_null(REPLY(PROTO_ST_CONTACT_LIST, contact_page_json, e.len - 1));
	penc_free(&e);
	s = test_empty_page(PROTO_ST_CONTACT_LIST, contact_page_json);
	assert_string_equal(s,
	    "{\"contacts\":[],\"total\":0,\"nextCursor\":null}");
	free(s);

	/* One contact with its conversations. */
	penc_init(&e);
	fill_contact(&ct, 5);
	penc_contact(&e, &ct);
	st_contact_free(&ct);
	penc_u32(&e, 1);
	fill_conv(&c, 8);
	penc_conv(&e, &c);
	st_conv_free(&c);
	/* Its link: unverified, with what the visitor submitted. */
	penc_u8(&e, 1);
	penc_str(&e, "<b>Mallory</b>");
	penc_str(&e, "ada@example.com");
	penc_str(&e, "");
	/* A page of 3 with more after it. */
	penc_u64(&e, 3);
	penc_str(&e, "0000018b2f1c3a00" CONTACT);
	s = test_dump(REPLY(PROTO_ST_CONTACT_GET, contact_get_json, e.len));
	assert_non_null(strstr(s, "\"conversationsTotal\":3,"
	    "\"conversationsNextCursor\":\"0000018b2f1c3a00" CONTACT "\""));
	assert_true(strncmp(s, "{\"id\":\"00000000000000000000000000000005\"",
	    40) == 0);
	assert_non_null(strstr(s, ",\"conversations\":[{\"_id\":"));
	assert_non_null(strstr(s, "\"contactId\":\"" CONTACT "\""));
	assert_non_null(strstr(s, "\"contactVerified\":false,\"submitted\":"
	    "{\"name\":\"<b>Mallory</b>\",\"email\":\"ada@example.com\","
	    "\"phone\":null}"));
	free(s);
	assert_null(REPLY(PROTO_ST_CONTACT_GET, contact_get_json, e.len - 1));
	penc_free(&e);
	/* A verified link: no "submitted". */
	penc_init(&e);
	fill_contact(&ct, 5);
	penc_contact(&e, &ct);
	st_contact_free(&ct);
	penc_u32(&e, 1);
	fill_conv(&c, 8);
	penc_conv(&e, &c);
	st_conv_free(&c);
	penc_u8(&e, 0);
	penc_str(&e, "");
	penc_str(&e, "");
	penc_str(&e, "");
	penc_u64(&e, 1);
	penc_str(&e, "");
	s = test_dump(REPLY(PROTO_ST_CONTACT_GET, contact_get_json, e.len));
	assert_non_null(strstr(s, "\"contactVerified\":true}"));
	assert_non_null(strstr(s, "\"conversationsTotal\":1,"
	    "\"conversationsNextCursor\":null"));
	assert_null(strstr(s, "submitted"));
	free(s);
	penc_free(&e);
}

/* -------------------------------------------------------- HTTP, fake peer */

static int
setup(void **state)
{
	peer_admin_setup(&P, "https://dash.example", KEY);
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

/* One client; requests on it answered in order. */
static struct tclient CL;

#define ADMIN	"x-admin-api-key: " KEY "\r\n"
#define JSONCT	"Content-Type: application/json\r\n"

static void
reply_widget(struct peer_req *pr, struct st_widget *w)
{
	struct penc e;

	penc_init(&e);
	penc_widget(&e, w);
	peer_reply_enc(&P, pr, &e);
}

/* ST_WIDGET_AVAIL's answer: w, and whether its team is at a dashboard. */
static void
reply_widget_avail(struct peer_req *pr, struct st_widget *w, int staffed)
{
	struct penc e;

	penc_init(&e);
	penc_widget(&e, w);
	penc_u8(&e, (uint8_t)staffed);
	peer_reply_enc(&P, pr, &e);
}

/* The str widget_id a request starts with. */
static void
expect_wid(struct peer_req *pr, struct pdec *d)
{
	char id[ST_WID_LEN + 1];

	pdec_init(d, pr->payload, pr->len);
	pdec_strbuf(d, id, sizeof(id));
	assert_string_equal(id, WID);
}

static void
test_auth(void **state)
{
	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "GET", "/v1/admin/widgets", NULL, NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "POST", "/v1/admin/widgets",
	    "x-admin-api-key: nope\r\n" JSONCT, "{}");
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, JSONCT, "{}");
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "DELETE", "/v1/admin/widgets/" WID, NULL, NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "POST", "/v1/admin/widgets/" WID "/reset-id", NULL,
	    NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "GET", "/v1/admin/contacts", NULL, NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");
	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT,
	    "x-api-key: " KEY "\r\n", NULL);
	tclient_expect_error(&CL, 401, "Unauthorized");

	admin_init(NULL);
	tclient_request(&CL, "GET", "/v1/admin/widgets/" WID, ADMIN, NULL);
	tclient_expect_error(&CL, 503,
	    "ADMIN_API_KEY is not configured on this deployment");
	tclient_request(&CL, "GET", "/v1/admin/contacts", ADMIN, NULL);
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
	struct st_widget w;
	struct tresp r;
	struct pdec d;
	char v[64];

	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT,
	    "{\"name\":\"Shop\",\"allowed_origins\":[\"https://shop.example\"],"
	    "\"daily_message_cap\":20}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_CREATE);
	pdec_init(&d, pr.payload, pr.len);
	assert_int_equal(pdec_widget(&d, &w), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(w.name, "Shop");
	assert_int_equal(w.norigins, 1);
	assert_int_equal(w.daily_cap, 20);
	assert_int_equal(w.enabled, 1);
	assert_string_equal(w.primary_color, ST_DEFAULT_COLOR);
	/* storaged gives it its ids and times. */
	strlcpy(w.id, "00000000000000000000000000000009", sizeof(w.id));
	strlcpy(w.widget_id, WID, sizeof(w.widget_id));
	w.created_at = w.updated_at = 1700000000000ULL;
	reply_widget(&pr, &w);
	st_widget_free(&w);
	tclient_expect(&CL, &r, 201);
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store");
	assert_non_null(strstr(r.body, "\"widget_id\":\"" WID "\""));
	assert_non_null(strstr(r.body, "\"name\":\"Shop\""));
	assert_non_null(strstr(r.body, "\"daily_message_cap\":20"));
	tresp_free(&r);

	/* Refused before storaged. */
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT,
	    "{\"name\":");
	tclient_expect_error(&CL, 400, "Invalid JSON body");
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT, "");
	tclient_expect_error(&CL, 400, "Invalid JSON body");
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT,
	    "{\"name\":\"a\",\"name\":\"b\"}");
	tclient_expect_error(&CL, 400, "Invalid JSON body");
	tclient_request(&CL, "POST", "/v1/admin/widgets",
	    ADMIN "Content-Type: text/plain\r\n", "{}");
	tclient_expect_error(&CL, 400, "Content-Type must be application/json");
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT,
	    "{\"daily_message_cap\":0}");
	tclient_expect(&CL, &r, 400);
	assert_true(strncmp(r.body, "{\"error\":\"daily_message_cap: ", 29) ==
	    0);
	tresp_free(&r);
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT,
	    "{\"foo\":1}");
	tclient_expect_error(&CL, 400, "foo: unknown field");
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT,
	    "{\"contact_info_mode\":\"required\"}");
	tclient_expect(&CL, &r, 400);
	assert_true(strncmp(r.body, "{\"error\":\"contact_info_mode: ", 29) ==
	    0);
	tresp_free(&r);
	peer_expect_none(&P, 50);

	/* storaged's own refusal (too many widgets) is passed on. */
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT, "{}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_CREATE);
	peer_error(&P, &pr, PROTO_E_INVALID, "widgets: at most 1000");
	tclient_expect_error(&CL, 400, "widgets: at most 1000");
	tclient_close(&CL);
}

static void
test_get_list_delete_reset(void **state)
{
	struct peer_req pr;
	struct st_widget w;
	struct tresp r;
	struct penc e;
	struct pdec d;

	assert_int_equal(tclient_open(&CL), 0);
	/* A malformed id is as unknown as any. */
	tclient_request(&CL, "GET", "/v1/admin/widgets/wid_123", ADMIN, NULL);
	tclient_expect_error(&CL, 404, "Widget not found");
	tclient_request(&CL, "GET",
	    "/v1/admin/widgets/WID_0123456789abcdef0123456789abcdef",
	    ADMIN, NULL);
	tclient_expect_error(&CL, 404, "Widget not found");
	tclient_request(&CL, "DELETE", "/v1/admin/widgets/default", ADMIN,
	    NULL);
	tclient_expect_error(&CL, 404, "Widget not found");
	peer_expect_none(&P, 50);

	tclient_request(&CL, "GET", "/v1/admin/widgets/" WID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_GET);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_done(&d), 0);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Widget not found");

	tclient_request(&CL, "GET", "/v1/admin/widgets/" WID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_GET);
	fill_widget(&w);
	reply_widget(&pr, &w);
	tclient_expect(&CL, &r, 200);
	assert_true(strncmp(r.body, "{\"id\":", 6) == 0);
	tresp_free(&r);

	tclient_request(&CL, "GET", "/v1/admin/widgets", ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_LIST);
	assert_int_equal(pr.len, 0);
	penc_init(&e);
	penc_u32(&e, 1);
	penc_widget(&e, &w);
	peer_reply_enc(&P, &pr, &e);
	tclient_expect(&CL, &r, 200);
	assert_true(strncmp(r.body, "{\"widgets\":[{\"id\":", 18) == 0);
	tresp_free(&r);

	/* A reply storaged garbled: 500, no crash. */
	tclient_request(&CL, "GET", "/v1/admin/widgets", ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_LIST);
	peer_reply(&P, &pr, "\0\0\0\1x", 5);
	tclient_expect_error(&CL, 500, "Internal server error");

	tclient_request(&CL, "POST", "/v1/admin/widgets/" WID "/reset-id",
	    ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_RESET_ID);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_done(&d), 0);
	strlcpy(w.widget_id, "wid_ffffffffffffffffffffffffffffffff",
	    sizeof(w.widget_id));
	reply_widget(&pr, &w);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body,
	    "\"widget_id\":\"wid_ffffffffffffffffffffffffffffffff\""));
	tresp_free(&r);
	st_widget_free(&w);

	tclient_request(&CL, "DELETE", "/v1/admin/widgets/" WID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_DELETE);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_done(&d), 0);
	peer_reply(&P, &pr, NULL, 0);
	tclient_expect(&CL, &r, 200);
	assert_string_equal(r.body, "{\"deleted\":true}");
	tresp_free(&r);

	/* The default widget stays: storaged says why. */
	tclient_request(&CL, "DELETE", "/v1/admin/widgets/" WID, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_DELETE);
	peer_error(&P, &pr, PROTO_E_INVALID,
	    "widget: the default widget cannot be deleted");
	tclient_expect_error(&CL, 400,
	    "widget: the default widget cannot be deleted");

	/* storaged away. */
	tclient_request(&CL, "POST", "/v1/admin/widgets/" WID "/reset-id",
	    ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_RESET_ID);
	peer_error(&P, &pr, PROTO_E_UNAVAILABLE, "busy");
	tclient_expect_error(&CL, 503, "Storage unavailable");
	tclient_close(&CL);
}

static void
test_patch(void **state)
{
	struct peer_req pr;
	struct st_widget w;
	struct tresp r;
	struct pdec d;

	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"enabled\":false,\"contact_info_mode\":\"required\","
	    "\"greeting\":null}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_UPDATE);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_u64(&d), ST_WF_ENABLED | ST_WF_CONTACT_MODE |
	    ST_WF_GREETING);
	assert_int_equal(pdec_widget(&d, &w), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(w.enabled, 0);
	assert_int_equal(w.contact_mode, ST_CONTACT_REQUIRED);
	assert_string_equal(w.greeting, "");
	st_widget_free(&w);
	fill_widget(&w);
	w.enabled = 0;
	reply_widget(&pr, &w);
	st_widget_free(&w);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body, "\"enabled\":false"));
	tresp_free(&r);

	/* Merged with what is stored, storaged finds it wrong. */
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"collect_email\":false}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_UPDATE);
	peer_error(&P, &pr, PROTO_E_INVALID,
	    "contact_info_mode: required needs a field to collect");
	tclient_expect_error(&CL, 400,
	    "contact_info_mode: required needs a field to collect");

	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"enabled\":\"yes\"}");
	tclient_expect_error(&CL, 400, "enabled: must be a boolean");
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"widget_id\":\"wid_x\"}");
	tclient_expect_error(&CL, 400, "widget_id: read-only");
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "[1]");
	tclient_expect_error(&CL, 400, "body: must be a JSON object");
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/nope", ADMIN JSONCT,
	    "{}");
	tclient_expect_error(&CL, 404, "Widget not found");
	peer_expect_none(&P, 50);

	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_UPDATE);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Widget not found");
	tclient_close(&CL);
}

/*
 * handoff_enabled and handoff_label are fields of their own: a PATCH of
 * one sends only it (storaged keeps the other), with no read first.
 */
static void
test_patch_handoff(void **state)
{
	struct peer_req pr;
	struct st_widget w;
	struct tresp r;
	struct pdec d;

	assert_int_equal(tclient_open(&CL), 0);
	/* The label only. */
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"handoff_label\":\"Ask us\",\"name\":\"N\"}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_UPDATE);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_u64(&d), ST_WF_HANDOFF_LABEL | ST_WF_NAME);
	assert_int_equal(pdec_widget(&d, &w), 0);
	assert_string_equal(w.handoff_label, "Ask us");
	assert_string_equal(w.name, "N");
	w.handoff_enabled = 1;		/* storaged's merge: kept */
	reply_widget(&pr, &w);
	st_widget_free(&w);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body, "\"handoff_enabled\":true,"
	    "\"handoff_label\":\"Ask us\""));
	tresp_free(&r);

	/* enabled only. */
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"handoff_enabled\":false}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_UPDATE);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_u64(&d), ST_WF_HANDOFF_ENABLED);
	assert_int_equal(pdec_widget(&d, &w), 0);
	assert_int_equal(w.handoff_enabled, 0);
	reply_widget(&pr, &w);
	st_widget_free(&w);
	tclient_expect(&CL, &r, 200);
	tresp_free(&r);

	/* Both; the widget gone: 404. */
	tclient_request(&CL, "PATCH", "/v1/admin/widgets/" WID, ADMIN JSONCT,
	    "{\"handoff_enabled\":true,\"handoff_label\":null}");
	peer_expect(&P, &pr, PROTO_ST_WIDGET_UPDATE);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_u64(&d), ST_WF_HANDOFF_ENABLED |
	    ST_WF_HANDOFF_LABEL);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Widget not found");
	peer_expect_none(&P, 50);
	tclient_close(&CL);
}

static void
test_contacts(void **state)
{
	struct peer_req pr;
	struct st_contact ct;
	struct tresp r;
	struct penc e;
	struct pdec d;
	char cursor[ST_CURSOR_MAX + 1], id[ST_ID_HEX + 1];

	assert_int_equal(tclient_open(&CL), 0);
	tclient_request(&CL, "GET", "/v1/admin/contacts?limit=5&cursor=abc",
	    ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_LIST);
	pdec_init(&d, pr.payload, pr.len);
	assert_int_equal(pdec_u32(&d), 5);
	pdec_strbuf(&d, cursor, sizeof(cursor));
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(cursor, "abc");
	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, 0);
	penc_str(&e, "");
	peer_reply_enc(&P, &pr, &e);
	tclient_expect(&CL, &r, 200);
	assert_string_equal(r.body,
	    "{\"contacts\":[],\"total\":0,\"nextCursor\":null}");
	tresp_free(&r);

	tclient_request(&CL, "GET", "/v1/admin/contacts?limit=0", ADMIN, NULL);
	tclient_expect_error(&CL, 400, "Invalid query parameters");
	tclient_request(&CL, "GET", "/v1/admin/contacts/xyz", ADMIN, NULL);
	tclient_expect_error(&CL, 400, "Invalid contactId");
	peer_expect_none(&P, 50);

	tclient_request(&CL, "GET", "/v1/admin/contacts?cursor=zz", ADMIN,
	    NULL);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_LIST);
	peer_error(&P, &pr, PROTO_E_INVALID, "cursor");
	tclient_expect_error(&CL, 400, "Invalid query parameters");

	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_GET);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, id, sizeof(id));
	/* Without limit: ST_LIST_MAX, as before the conversations paged. */
	assert_int_equal(pdec_u32(&d), ST_LIST_MAX);
	pdec_strbuf(&d, cursor, sizeof(cursor));
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(id, CONTACT);
	assert_string_equal(cursor, "");
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Contact not found");

	/* A page: limit and cursor passed on. */
	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT
	    "?limit=2&cursor=0000018b2f1c3a00" CONTACT, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_GET);
	pdec_init(&d, pr.payload, pr.len);
	pdec_strbuf(&d, id, sizeof(id));
	assert_int_equal(pdec_u32(&d), 2);
	pdec_strbuf(&d, cursor, sizeof(cursor));
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(cursor, "0000018b2f1c3a00" CONTACT);
	peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	tclient_expect_error(&CL, 404, "Contact not found");

	/* A cursor no page gave, a bad limit: 400, storaged not asked. */
	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT
	    "?cursor=zz", ADMIN, NULL);
	tclient_expect_error(&CL, 400, "Invalid query parameters");
	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT
	    "?limit=0", ADMIN, NULL);
	tclient_expect_error(&CL, 400, "Invalid query parameters");
	peer_expect_none(&P, 50);

	tclient_request(&CL, "GET", "/v1/admin/contacts/" CONTACT, ADMIN, NULL);
	peer_expect(&P, &pr, PROTO_ST_CONTACT_GET);
	penc_init(&e);
	fill_contact(&ct, 1);
	penc_contact(&e, &ct);
	st_contact_free(&ct);
	penc_u32(&e, 0);
	penc_u64(&e, 0);
	penc_str(&e, "");
	peer_reply_enc(&P, &pr, &e);
	tclient_expect(&CL, &r, 200);
	assert_non_null(strstr(r.body, "\"conversations\":[],"
	    "\"conversationsTotal\":0,\"conversationsNextCursor\":null}"));
	tresp_free(&r);
	tclient_close(&CL);
}

/* GET (or OPTIONS) the config with origin; storaged answers with w. */
static void
config(const char *method, const char *origin, struct st_widget *w,
    struct tresp *r, int status)
{
	struct peer_req pr;
	struct pdec d;
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "%s%s%s", origin ? "Origin: " : "",
	    origin ? origin : "", origin ? "\r\n" : "");
	if (strcmp(method, "OPTIONS") == 0)
		strlcat(hdr, "Access-Control-Request-Method: GET\r\n",
		    sizeof(hdr));
	tclient_request(&CL, method, "/api/widget/" WID "/config", hdr, NULL);
	peer_expect(&P, &pr, PROTO_ST_WIDGET_AVAIL);
	expect_wid(&pr, &d);
	assert_int_equal(pdec_done(&d), 0);
	if (w == NULL)
		peer_error(&P, &pr, PROTO_E_NOT_FOUND, "not found");
	else
		reply_widget_avail(&pr, w, 1);
	tclient_expect(&CL, r, status);
	/* Counted for the Setup panel: all but a preflight allowed or not. */
	if (w != NULL && (strcmp(method, "OPTIONS") != 0 || !w->enabled))
		peer_expect_setup_note(&P, !w->enabled ? ST_SETUP_DISABLED :
		    status == 403 ? ST_SETUP_ORIGIN : ST_SETUP_SEEN, WID,
		    origin);
}

static void
test_config(void **state)
{
	struct st_widget w;
	struct tresp r;
	char v[256];

	assert_int_equal(tclient_open(&CL), 0);
	fill_widget(&w);
	add_origin(&w, "https://shop.example");
	add_origin(&w, "http://localhost:8080");

	/* Allowed: the public subset, CORS for that origin. */
	config("GET", "https://shop.example", &w, &r, 200);
	assert_shown(r.body, RF_PUB, 0, (const char *const[]){
	    "{\"name\":\"Support\",\"greeting\":\"Hi \\\"there\\\"\"",
	    "\"primary_color\":\"#4f46e5\"", "\"text_color\":\"#ffffff\"",
	    "\"position\":\"bottom_left\"", "\"contact_info_mode\":\"required\"",
	    "\"collect_name\":false", "\"collect_email\":true",
	    "\"collect_phone\":false", "\"handoff_enabled\":false",
	    "\"handoff_label\":null", "\"starter_questions\":[]",
	    "\"proactive_message\":\"\"", "\"proactive_delay_s\":10",
	    "\"proactive_path\":\"\"", "\"language\":\"\"",
	    "\"identity_required\":false", "\"unread_sound\":false",
	    "\"unread_title\":false", "\"feedback_enabled\":true",
	    "\"rating_enabled\":false", NULL });
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)), "https://shop.example");
	assert_string_equal(tresp_header(&r, "Vary", v, sizeof(v)), "Origin, Accept-Language");
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-cache");
	tresp_free(&r);
	/* As the browser sent it (the match ignores case and :443). */
	config("GET", "HTTPS://Shop.Example:443", &w, &r, 200);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)), "HTTPS://Shop.Example:443");
	tresp_free(&r);
	config("GET", "http://localhost:8080", &w, &r, 200);
	tresp_free(&r);

	/* Not allowed, however close; no Origin at all with a list. */
	config("GET", "https://evil.example", &w, &r, 403);
	assert_string_equal(r.body, "{\"error\":\"Origin not allowed\"}");
	assert_null(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)));
	tresp_free(&r);
	config("GET", "http://shop.example", &w, &r, 403);
	tresp_free(&r);
	config("GET", "https://shop.example.evil.example", &w, &r, 403);
	tresp_free(&r);
	config("GET", "null", &w, &r, 403);
	tresp_free(&r);
	config("GET", NULL, &w, &r, 403);
	tresp_free(&r);

	/* The preflight. */
	config("OPTIONS", "https://shop.example", &w, &r, 204);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)), "https://shop.example");
	assert_non_null(tresp_header(&r, "Access-Control-Allow-Methods", v,
	    sizeof(v)));
	assert_non_null(strstr(v, "GET"));
	tresp_free(&r);
	config("OPTIONS", "https://evil.example", &w, &r, 403);
	tresp_free(&r);

	/* Disabled is as unknown as unknown, but says why (issue 24). */
	w.enabled = 0;
	config("GET", "https://shop.example", &w, &r, 404);
	assert_string_equal(r.body,
	    "{\"error\":\"Widget not found\",\"disabled\":true}");
	tresp_free(&r);
	config("GET", "https://shop.example", NULL, &r, 404);
	assert_string_equal(r.body, "{\"error\":\"Widget not found\"}");
	tresp_free(&r);

	/*
	 * No list: any site, CORS_ORIGIN (https://dash.example) or not;
	 * an Origin that is no plain origin gets "*", never an echo.
	 */
	st_widget_free(&w);
	fill_widget(&w);
	config("GET", "https://anyone.example", &w, &r, 200);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)), "https://anyone.example");
	tresp_free(&r);
	config("GET", "null", &w, &r, 200);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)), "*");
	tresp_free(&r);
	config("GET", "https://a.example/<x>", &w, &r, 200);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)), "*");
	tresp_free(&r);
	config("GET", NULL, &w, &r, 200);
	assert_null(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)));
	tresp_free(&r);
	st_widget_free(&w);

	/* An id that cannot be one: 404 before storaged. */
	tclient_request(&CL, "GET", "/api/widget/wid_nope/config", "Origin: "
	    "https://shop.example\r\n", NULL);
	tclient_expect_error(&CL, 404, "Widget not found");
	tclient_request(&CL, "GET", "/api/widget/%00/config", NULL, NULL);
	tclient_expect(&CL, &r, 400);
	tresp_free(&r);
	peer_expect_none(&P, 50);
	/* Other methods: 405, CORS_ORIGIN applies again. */
	tclient_request(&CL, "POST", "/api/widget/" WID "/config", NULL, "{}");
	tclient_expect(&CL, &r, 405);
	tresp_free(&r);
	tclient_close(&CL);
}

static void
test_storaged_away(void **state)
{
	assert_int_equal(tclient_open(&CL), 0);
	storec_shutdown();
	tclient_request(&CL, "GET", "/api/widget/" WID "/config", NULL, NULL);
	tclient_expect_error(&CL, 503, "Storage unavailable");
	tclient_request(&CL, "GET", "/v1/admin/widgets", ADMIN, NULL);
	tclient_expect_error(&CL, 503, "Storage unavailable");
	tclient_request(&CL, "POST", "/v1/admin/widgets", ADMIN JSONCT, "{}");
	tclient_expect_error(&CL, 503, "Storage unavailable");
	tclient_close(&CL);
	peer_close(&P);
	peer_unlisten(&P);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widget_json),
		cmocka_unit_test(test_contact_json),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_hours_json),
		cmocka_unit_test(test_from_json_errors),
		cmocka_unit_test(test_replies),
		cmocka_unit_test_setup(test_auth, each_setup),
		cmocka_unit_test_setup(test_create, each_setup),
		cmocka_unit_test_setup(test_get_list_delete_reset, each_setup),
		cmocka_unit_test_setup(test_patch, each_setup),
		cmocka_unit_test_setup(test_patch_handoff, each_setup),
		cmocka_unit_test_setup(test_contacts, each_setup),
		cmocka_unit_test_setup(test_config, each_setup),
		cmocka_unit_test_setup(test_storaged_away, each_setup),
	};

	log_init("test_widgets");
	return cmocka_run_group_tests(tests, setup, teardown);
}
