/*
 * Unit tests: masterd's process table (masterd/procs.c). Each row by its
 * role; what each row's channel carries agrees with proto/msgtab.c; every
 * row gets the life-cycle messages; only the workers take connections
 * (the notifier never gets MW_CONN, sends no WM_LOAD, and one runs).
 * Each row's MW_SETTINGS, as config_load encodes it from the
 * environment, carries the secrets its code uses and no other's bytes
 * (the fetcher the model's key alone, the notifier the SMTP password
 * alone), and decodes as the child would; a child's environment holds
 * no secret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "masterd.h"
#include "msgtab.h"
#include "proto.h"
#include "settings.h"

static void
test_rows_by_role(void **state)
{
	const struct proc *p;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		assert_non_null(p = proc_of(r));
		assert_int_equal(p->role, r);
		assert_non_null(p->name);
		assert_true(p->count == PROC_N_WORKERS || p->count > 0);
	}
	assert_null(proc_of(ROLE_MAX));
	assert_null(proc_of((enum proc_role)-1));
	assert_string_equal(proc_of(ROLE_WORKER)->name, "worker");
	assert_string_equal(proc_of(ROLE_NOTIFIER)->name, "notifier");
}

/* masterd -> workerd and workerd -> masterd, as the message table has it. */
static void
test_rows_agree_with_msgtab(void **state)
{
	const struct proc *p;
	size_t i;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		p = proc_of(r);
		for (i = 0; i < PROC_MSGS_MAX && p->gets[i] != 0; i++)
			assert_true(proto_may_send(PROTO_PEER_MASTERD,
			    p->gets[i], PROTO_PEER_WORKERD));
		for (i = 0; i < PROC_MSGS_MAX && p->sends[i] != 0; i++)
			assert_true(proto_may_send(PROTO_PEER_WORKERD,
			    p->sends[i], PROTO_PEER_MASTERD));
		/* Nothing a child sends is something masterd sends. */
		for (i = 0; i < PROC_MSGS_MAX && p->sends[i] != 0; i++)
			assert_false(proc_gets(p, p->sends[i]));
		assert_false(proc_gets(p, 0));
		assert_false(proc_sends(p, 0));
		assert_false(proc_sends(p, PROTO_HELLO));
	}
}

/* Started, told to quit, ready: what workers.c does with every row. */
static void
test_every_row_lives_alike(void **state)
{
	const struct proc *p;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		p = proc_of(r);
		assert_true(proc_gets(p, PROTO_MW_SETTINGS));
		assert_true(proc_gets(p, PROTO_MW_QUIT));
		assert_true(proc_sends(p, PROTO_WM_READY));
	}
}

static void
test_worker_row(void **state)
{
	const struct proc *p = proc_of(ROLE_WORKER);

	assert_true(proc_takes_conns(p));
	assert_true(proc_gets(p, PROTO_MW_CONN));
	assert_true(proc_gets(p, PROTO_MW_RESTARTS));
	assert_true(proc_sends(p, PROTO_WM_LOAD));
	assert_null(p->role_arg);
	assert_int_equal(p->prog, PROG_WORKERD);
	assert_int_equal(proc_want(p, 1), 1);
	assert_int_equal(proc_want(p, 7), 7);
	assert_int_equal(proc_want(p, MAX_WORKERS), MAX_WORKERS);
}

/* One for the install, whatever PARLEY_WORKERS; no connection, no load. */
static void
test_notifier_row(void **state)
{
	const struct proc *p = proc_of(ROLE_NOTIFIER);

	assert_false(proc_takes_conns(p));
	assert_false(proc_gets(p, PROTO_MW_CONN));
	assert_false(proc_gets(p, PROTO_MW_RESTARTS));
	assert_false(proc_sends(p, PROTO_WM_LOAD));
	assert_string_equal(p->role_arg, "notifier");
	assert_int_equal(p->prog, PROG_WORKERD);
	assert_int_equal(proc_want(p, 1), 1);
	assert_int_equal(proc_want(p, 7), 1);
	assert_int_equal(proc_want(p, MAX_WORKERS), 1);
}

/*
 * One for the install, a program of its own (parley-fetch, no role
 * argument); no connection, no load.
 */
static void
test_fetcher_row(void **state)
{
	const struct proc *p = proc_of(ROLE_FETCHER);

	assert_false(proc_takes_conns(p));
	assert_false(proc_gets(p, PROTO_MW_CONN));
	assert_false(proc_sends(p, PROTO_WM_LOAD));
	assert_null(p->role_arg);
	assert_int_equal(p->prog, PROG_FETCH);
	assert_int_equal(proc_want(p, 7), 1);
}

/* Only the workers' row takes connections. */
static void
test_one_row_takes_conns(void **state)
{
	int r, n = 0;

	for (r = 0; r < ROLE_MAX; r++)
		n += proc_takes_conns(proc_of(r));
	assert_int_equal(n, 1);
}

/*
 * Every secret a row lists is a secret of the settings' table the
 * workers' program reads, listed once; every such secret goes to some
 * row (a secret no row lists would reach no child).
 */
static void
test_rows_secrets_are_settings(void **state)
{
	const struct setting *st;
	const struct proc *p;
	size_t i, j, users;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		p = proc_of(r);
		assert_null(p->secrets[PROC_SECRETS_MAX - 1]);
		for (i = 0; p->secrets[i] != NULL; i++) {
			assert_non_null(st = settings_find(p->secrets[i]));
			assert_int_equal(st->type, SETTING_SECRET);
			assert_true(st->procs & SETTINGS_P_WORKERD);
			assert_true(settings_gives(p->secrets, p->secrets[i]));
			for (j = 0; j < i; j++)
				assert_string_not_equal(p->secrets[j],
				    p->secrets[i]);
		}
		assert_false(settings_gives(p->secrets, "OPENAI_MODEL"));
	}
	for (i = 0; i < settings_count; i++) {
		st = &settings_table[i];
		if (st->type != SETTING_SECRET ||
		    !(st->procs & SETTINGS_P_WORKERD))
			continue;
		for (users = 0, r = 0; r < ROLE_MAX; r++)
			users += settings_gives(proc_of(r)->secrets, st->name);
		assert_true(users > 0);
	}
}

/* Every secret of the table, with what SMTP_PASSWORD goes with. */
static const char *const env_secrets[][2] = {
	{ "WIDGET_API_KEY", "widget-key-0123456789abcdef-w" },
	{ "ADMIN_API_KEY", "admin-key-0123456789abcdef-a" },
	{ "DASHBOARD_PASSWORD", "dashboard-password-d" },
	{ "OPENAI_API_KEY", "sk-openai-0123456789-o" },
	{ "SMTP_PASSWORD", "smtp-password-0123-s" },
};

/* The secrets the code of each role reads (grep wsettings in workerd/). */
static int
role_uses(int role, const char *name)
{
	switch (role) {
	case ROLE_WORKER:
		return strcmp(name, "SMTP_PASSWORD") != 0;
	case ROLE_NOTIFIER:
		return strcmp(name, "SMTP_PASSWORD") == 0;
	case ROLE_FETCHER:
		return strcmp(name, "OPENAI_API_KEY") == 0;
	}
	return 1;
}

/* settings' field of secret name. */
static const char *
secret_of(const struct settings *st, const char *name)
{
	const struct setting *r = settings_find(name);

	return *(char *const *)(const void *)((const char *)st + r->off);
}

/*
 * config_load's payload of each row, from an environment with every
 * secret (and SMTP_USER, which goes with its password: the fetcher's
 * and the workers' start is not refused for it): the row's secrets and
 * no other's bytes; the child's decoder takes it, each withheld secret
 * unset and said to be withheld.
 */
static void
test_row_payloads(void **state)
{
	struct settings st, ch;
	struct config cf;
	char err[SETTINGS_ERR_MAX];
	const char *name, *value;
	size_t i;
	int r;

	for (i = 0; i < sizeof(env_secrets) / sizeof(env_secrets[0]); i++)
		assert_int_equal(setenv(env_secrets[i][0], env_secrets[i][1],
		    1), 0);
	setenv("SMTP_URL", "smtps://mail.example.com", 1);
	setenv("SMTP_FROM", "parley@example.com", 1);
	setenv("SMTP_USER", "parley", 1);
	assert_int_equal(settings_parse(&st, settings_env, NULL, err,
	    sizeof(err)), 0);
	config_load(&cf, &st);
	for (r = 0; r < ROLE_MAX; r++) {
		assert_int_equal(settings_msg_decode(&ch, cf.wsettings[r],
		    cf.wsettings_len[r], err, sizeof(err)), 0);
		assert_string_equal(ch.smtp_user, "parley");
		for (i = 0; i < sizeof(env_secrets) / sizeof(env_secrets[0]);
		    i++) {
			name = env_secrets[i][0];
			value = env_secrets[i][1];
			assert_int_equal(settings_gives(proc_of(r)->secrets, name),
			    role_uses(r, name));
			if (role_uses(r, name)) {
				assert_string_equal(secret_of(&ch, name), value);
				assert_false(settings_withheld(&ch, name));
				continue;
			}
			assert_null(secret_of(&ch, name));
			assert_true(settings_withheld(&ch, name));
			assert_null(memmem(cf.wsettings[r], cf.wsettings_len[r],
			    value, strlen(value)));
		}
		settings_free(&ch);
		free(cf.wsettings[r]);
	}
	settings_free(&st);
}

/*
 * A child's environment: masterd's but every secret of the table (a
 * name that only begins like one stays) and PARLEY_CHANNEL_FD, which
 * comes last as 3.
 */
static void
test_child_env(void **state)
{
	char *env[] = { "PATH=/usr/bin", "WIDGET_API_KEY=w", "ADMIN_API_KEY=a",
	    "DASHBOARD_PASSWORD=d", "OPENAI_API_KEY=o", "SMTP_PASSWORD=s",
	    "PARLEY_CHANNEL_FD=7", "OPENAI_API_KEYS=kept", "SMTP_USER=u",
	    "ODD", NULL };
	const char *want[] = { "PATH=/usr/bin", "OPENAI_API_KEYS=kept",
	    "SMTP_USER=u", "ODD", "PARLEY_CHANNEL_FD=3", NULL };
	char **out;
	size_t i;

	assert_non_null(out = config_child_env(env));
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(out[i]);
		assert_string_equal(out[i], want[i]);
	}
	assert_null(out[i]);
	free(out);
	env[0] = NULL;
	assert_non_null(out = config_child_env(env));
	assert_string_equal(out[0], "PARLEY_CHANNEL_FD=3");
	assert_null(out[1]);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_by_role),
		cmocka_unit_test(test_rows_agree_with_msgtab),
		cmocka_unit_test(test_every_row_lives_alike),
		cmocka_unit_test(test_worker_row),
		cmocka_unit_test(test_notifier_row),
		cmocka_unit_test(test_fetcher_row),
		cmocka_unit_test(test_one_row_takes_conns),
		cmocka_unit_test(test_rows_secrets_are_settings),
		cmocka_unit_test(test_row_payloads),
		cmocka_unit_test(test_child_env),
	};

	return cmocka_run_group_tests_name("masterd procs", tests, NULL, NULL);
}
