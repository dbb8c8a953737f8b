/*
 * The table of every setting (settings.h): the one place that says what
 * a setting is called, its type, default and rule, who uses it and what
 * it does. settings.c parses by it; `parley-masterd --settings` prints it
 * for the docs test.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "clamdaddr.h"
#include "settings.h"
#include "staddr.h"
#include "usermsg.h"

#define M	SETTINGS_P_MASTERD
#define W	SETTINGS_P_WORKERD
#define S	SETTINGS_P_STORAGED
#define C	SETTINGS_P_CTL
#define F(f)	offsetof(struct settings, f)

/* A key's rule beyond its length (settings.c, parse_secret). */
#define KEY_SHORT	"fewer only outside production, with a warning"

#define DEFAULT_PROMPT	"You are a concise and helpful AI assistant " \
			"embedded in a support chat widget."

/* No control characters (paths, names, URLs). */
static int
check_plain(const char *v)
{
	for (; *v != '\0'; v++)
		if (iscntrl((unsigned char)*v))
			return 0;
	return 1;
}

/* PARLEY_CLAMD: an address clamdaddr.c takes (the workers' own parser). */
static int
check_clamd(const char *v)
{
	struct clamd_addr a;
	const char *why;

	return clamd_addr_parse(v, &a, &why) == 0;
}

/*
 * PARLEY_MODEL_ALLOW_HOSTS: comma-separated hosts (names or addresses:
 * letters, digits, '.', '-', '_', ':'), spaces and tabs around each
 * ignored as workerd/net/urlpolicy.c's reader ignores them, none empty and
 * none with a space inside (such an entry would never match).
 */
static int
check_hosts(const char *v)
{
	size_t n;

	for (;;) {
		v += strspn(v, " \t");
		for (n = 0; isalnum((unsigned char)v[n]) ||
		    (v[n] != '\0' && strchr(".-_:", v[n]) != NULL); n++)
			;
		if (n == 0)
			return 0;
		v += n;
		v += strspn(v, " \t");
		if (*v == '\0')
			return 1;
		if (*v++ != ',')
			return 0;
	}
}

/* storaged's network listener: a tls:// address (staddr.c). */
static int
check_listen(const char *v)
{
	struct staddr a;
	char err[STADDR_ERR_MAX];

	return staddr_parse(v, strlen(v), &a, err, sizeof(err)) == 0 &&
	    a.kind == STADDR_TLS;
}

/* "127.0.0.1", "::1", "[::1]", a host name: no space, no stray bracket. */
static int
check_host(const char *v)
{
	size_t len = strlen(v), i;

	if (v[0] == '[') {
		if (len < 3 || v[len - 1] != ']')
			return 0;
		v++;
		len -= 2;
	}
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && strchr(".:-_%",
		    v[i]) == NULL)
			return 0;
	return len > 0;
}

/*
 * An http:// or https:// URL of ASCII, no space or control character, that
 * libcurl's parser (the workers', mconn_url_parse) takes whole: a host
 * read as the workers read it (punycode: a libcurl without IDN support
 * refuses a host of other than ASCII, and every worker exited at its
 * start), a port of 1 to 65535, brackets closed, no stray ':' or '/' in
 * a password (the same); no query or fragment (a path is appended to it:
 * "?v=1" took "/chat/completions" into the query).
 */
static int
check_url(const char *v)
{
	const char *c;
	char *host = NULL, *port = NULL;
	unsigned int host_flags = 0;
	CURLU *u;
	int ok;

#ifdef CURLU_PUNYCODE
	host_flags = CURLU_PUNYCODE;
#endif
	if (strpbrk(v, "?#") != NULL)
		return 0;

	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0)
		return 0;
	for (c = v; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c) || *c == ' ' ||
		    (unsigned char)*c >= 0x80)
			return 0;
	if ((u = curl_url()) == NULL)
		return 0;
	ok = curl_url_set(u, CURLUPART_URL, v, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, host_flags) ==
	    CURLUE_OK &&
	    host[0] != '\0';
	if (ok && curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		ok = strtol(port, NULL, 10) > 0;
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/*
 * A storaged's address as staddr.c parses it (what dials it), written
 * unix:/absolute/path or tls://HOST:PORT.
 */
static int
check_store_addr(const char *v)
{
	struct staddr a;
	char err[STADDR_ERR_MAX];

	if (strncmp(v, "unix:", 5) != 0 && strncmp(v, "tls://", 6) != 0)
		return 0;
	return staddr_parse(v, strlen(v), &a, err, sizeof(err)) == 0 &&
	    (a.kind == STADDR_TLS || a.path[0] == '/');
}

/*
 * smtp://host[:port] or smtps://host[:port], nothing after: a host as
 * check_host takes it, an IPv6 address in brackets, a port of 1 to 65535.
 */
static int
check_smtp_url(const char *v)
{
	const char *h, *close, *colon;
	struct in6_addr a6;
	char host[256];
	size_t n;
	long port;
	char *end;

	if (strncasecmp(v, "smtp://", 7) == 0)
		h = v + 7;
	else if (strncasecmp(v, "smtps://", 8) == 0)
		h = v + 8;
	else
		return 0;
	close = h[0] == '[' ? strchr(h, ']') : NULL;
	if (h[0] == '[' && close == NULL)
		return 0;
	/* The port: after a ':' past the brackets, or the only ':'. */
	colon = close != NULL ? (close[1] == ':' ? close + 1 : NULL) :
	    strchr(h, ':');
	if (close != NULL && colon == NULL && close[1] != '\0')
		return 0;
	n = colon != NULL ? (size_t)(colon - h) : strlen(h);
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	if (!check_host(host) || (close == NULL && strchr(host, ':') != NULL))
		return 0;
	if (close != NULL) {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6) != 1)
			return 0;
	}
	if (colon == NULL)
		return 1;
	if (!isdigit((unsigned char)colon[1]) || strlen(colon + 1) > 5)
		return 0;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535;
}

/* Printable ASCII, no space: a model name, an environment word. */
static int
check_token(const char *v)
{
	for (; *v != '\0'; v++)
		if (!isgraph((unsigned char)*v))
			return 0;
	return 1;
}

/*
 * HOST:PORT after a scheme, up to end: a host as check_host takes it
 * (IPv6 in brackets) and a port of 1 to 5 digits.
 */
static int
check_hostport(const char *v, const char *end)
{
	const char *colon = end;
	char host[256];
	size_t i, n;

	while (colon > v && colon[-1] != ':' && colon[-1] != ']')
		colon--;
	if (colon == v || colon[-1] != ':')
		return 0;
	n = (size_t)(end - colon);
	if (n < 1 || n > 5)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)colon[i]))
			return 0;
	n = (size_t)(colon - 1 - v);
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, v, n);
	host[n] = '\0';
	return check_host(host);
}

/*
 * PARLEY_ETCD: 1 to 8 http://HOST:PORT or https://HOST:PORT, all of one
 * scheme, comma-separated, nothing after.
 */
static int
check_etcd(const char *v)
{
	const char *scheme = strncmp(v, "https://", 8) == 0 ? "https://" :
	    "http://", *e;
	size_t n = strlen(scheme);
	int count = 0;

	for (;;) {
		if (strncmp(v, scheme, n) != 0 || ++count > 8)
			return 0;
		v += n;
		e = strchr(v, ',');
		if (e == NULL)
			e = v + strlen(v);
		if (!check_hostport(v, e))
			return 0;
		if (*e == '\0')
			return 1;
		v = e + 1;
	}
}

/* PARLEY_CLUSTER_NAME: a key prefix in etcd, letters, digits, . _ - */
static int
check_cluster_name(const char *v)
{
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) && strchr("._-", *v) == NULL)
			return 0;
	return 1;
}

/* A display name: 1-100 characters (UTF-8), no control characters. */
/* An email as the users' (st_email_normal): one '@', no space. */
static int
check_email(const char *v)
{
	char out[ST_EMAIL_MAX + 1];

	return st_email_normal(v, out) == NULL;
}

static int
check_name(const char *v)
{
	size_t n = 0;

	for (; *v != '\0'; v++) {
		if (iscntrl((unsigned char)*v))
			return 0;
		if (((unsigned char)*v & 0xc0) != 0x80)
			n++;
	}
	return n >= 1 && n <= 100;
}

/* A POSIX user name (or a uid). */
static int
check_user(const char *v)
{
	if (*v == '-')
		return 0;
	for (; *v != '\0'; v++)
		if (!isalnum((unsigned char)*v) && strchr("._-", *v) == NULL)
			return 0;
	return 1;
}

/* A header value: once trimmed, no line break. */
static int
check_oneline(const char *v)
{
	size_t len = strlen(v);

	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	return memchr(v, '\r', len) == NULL && memchr(v, '\n', len) == NULL;
}

const struct setting settings_table[] = {
	/* Listening: masterd. */
	{ "PORT", SETTING_NUMBER, "4000", NULL, 1, 65535, NULL, NULL, NULL,
	    M, F(port), "TCP port to listen on (ignored under socket "
	    "activation)" },
	{ "PARLEY_HOST", SETTING_TEXT, "0.0.0.0", NULL, 1, 255, NULL,
	    check_host, "an address (127.0.0.1, ::, [::1]) or a host name",
	    M, F(host), "address to bind" },
	{ "LISTEN_FDS", SETTING_SYSTEMD, NULL, NULL, 0, 0, NULL, NULL, NULL,
	    M, 0, "set by systemd socket activation: use fd 3 instead of "
	    "binding" },
	{ "LISTEN_PID", SETTING_SYSTEMD, NULL, NULL, 0, 0, NULL, NULL, NULL,
	    M, 0, "set by systemd with LISTEN_FDS: the process they are for" },
	{ "PARLEY_WORKERS", SETTING_NUMBER, NULL, "one per core", 1, 256,
	    NULL, NULL, NULL, M, F(workers), "worker processes" },
	{ "PARLEY_WORKERD", SETTING_TEXT, NULL,
	    "parley-workerd beside parley-masterd", 1, 1024, NULL,
	    check_plain, "a path", M, F(workerd), "the worker program" },
	{ "PARLEY_SHUTDOWN_TIMEOUT_MS", SETTING_NUMBER, "10000", NULL, 0,
	    86400000, NULL, NULL, NULL, M | W, F(shutdown_ms),
	    "how long a stop or a reload lets requests in flight finish" },
	{ "PARLEY_WORKER_STALL_MS", SETTING_NUMBER, "30000", NULL, 1000,
	    3600000, NULL, NULL, NULL, M, F(stall_ms),
	    "a worker (or the notifier) that leaves masterd's ping "
	    "unanswered this long is stuck: it is killed and another "
	    "started" },
	{ "PARLEY_USER", SETTING_TEXT, NULL, NULL, 1, 32, NULL, check_user,
	    "a user name (letters, digits, . _ -)", M | S, F(user),
	    "started as root: the user to become once the port is bound or "
	    "the directories are made" },
	/* Storage: storaged. */
	{ "PARLEY_DATA_DIR", SETTING_TEXT, "./var/data", NULL, 1, 1024, NULL,
	    check_plain, "a path", S, F(data_dir),
	    "where the LMDB database lives (created 0700)" },
	{ "PARLEY_RUN_DIR", SETTING_TEXT, "./var/run", NULL, 1, 93, NULL,
	    check_plain, "a path", S | W | C, F(run_dir),
	    "where storaged.sock lives (created 0700)" },
	/* storaged across hosts (issue 25): docs/cluster-tls.md. */
	{ "PARLEY_STORAGED", SETTING_LIST, NULL,
	    "unix:$PARLEY_RUN_DIR/storaged.sock", 0, 0, NULL, NULL, NULL,
	    M | W | C, 0, "storaged's addresses, comma-separated (at most 8), "
	    "each unix:/path or tls://HOST:PORT (HOST an IPv4 address, [IPv6] "
	    "or a DNS name): the workers and parleyctl use the primary" },
	{ "PARLEY_STORAGE_TIMEOUT_MS", SETTING_NUMBER, "5000", NULL, 100,
	    300000, NULL, NULL, NULL, M | W, F(storage_timeout_ms),
	    "a request to storaged with no answer within this fails (503 "
	    "\"Storage unavailable\"); longer for a slow disk or a distant "
	    "storaged" },
	{ "PARLEY_STORAGED_LISTEN", SETTING_TEXT, NULL, NULL, 1,
	    STADDR_TEXT_MAX - 1, NULL, check_listen, "tls://ADDR:PORT", S,
	    F(storaged_listen), "storaged's network listener (TLS 1.3, "
	    "clients need a certificate of PARLEY_CLUSTER_CA) beside its "
	    "socket; unset: none" },
	{ "PARLEY_STORAGED_TLS_PEER_MAX", SETTING_NUMBER, "288", NULL, 1,
	    1024, NULL, NULL, NULL, S, F(tls_peer_max),
	    "TLS connections storaged's listener keeps open from one address "
	    "(IPv6: one /64), handshakes included; past it a new one is "
	    "closed at once. The default holds a front host of 256 workers "
	    "and its other processes" },
	{ "PARLEY_STORAGED_TLS_BUFFER_MB", SETTING_NUMBER, "256", NULL, 16,
	    65536, NULL, NULL, NULL, S, F(tls_buffer_mb),
	    "bytes storaged holds for all its TLS clients together (requests "
	    "arriving, replies not read yet); past it they are read no more "
	    "until it drains, and the one holding the most of a request not "
	    "whole yet is closed if others wait" },
	{ "PARLEY_CLUSTER_CA", SETTING_TEXT, NULL, NULL, 1, 1024, NULL,
	    check_plain, "a path", M | W | S | C, F(cluster_ca),
	    "PEM CA that signs every cluster certificate; needed with any "
	    "tls:// address and an https:// PARLEY_ETCD" },
	{ "PARLEY_CLUSTER_CERT", SETTING_TEXT, NULL, NULL, 1, 1024, NULL,
	    check_plain, "a path", M | W | S | C, F(cluster_cert),
	    "this host's PEM certificate for the cluster (client and server)" },
	{ "PARLEY_CLUSTER_KEY", SETTING_TEXT, NULL, NULL, 1, 1024, NULL,
	    check_plain, "a path", M | W | S | C, F(cluster_key),
	    "its PEM private key" },
	{ "PARLEY_MAP_SIZE_MB", SETTING_NUMBER, "1024", NULL, 1, 1048576,
	    NULL, NULL, NULL, S, F(map_size_mb),
	    "largest size the database may grow to" },
	{ "PARLEY_SYNC", SETTING_CHOICE, "full", NULL, 0, 0,
	    "full|nometa|interval|replica", NULL, NULL, S, F(sync_mode),
	    "when a stored message is on disk (storaged/STORAGE.md); "
	    "replica: on the standby's disk too" },
	/* Replication (issue 25, storaged/STORAGE.md "Replication"). */
	{ "PARLEY_ROLE", SETTING_CHOICE, "primary", NULL, 0, 0,
	    "primary|standby|auto", NULL, NULL, S, F(role),
	    "storaged serves writes (primary), follows PARLEY_PRIMARY's "
	    "write-ahead log (standby), or lets etcd decide (auto)" },
	{ "PARLEY_PRIMARY", SETTING_TEXT, NULL, NULL, 1, 1024, NULL,
	    check_store_addr, "unix:/path or tls://HOST:PORT", S,
	    F(primary), "a standby's primary" },
	{ "PARLEY_REPLICA_WAIT", SETTING_CHOICE, "degrade", NULL, 0, 0,
	    "degrade|block", NULL, NULL, S, F(replica_wait),
	    "with PARLEY_SYNC=replica and the standby away: acknowledge "
	    "alone once the cluster agrees (degrade), or wait (block)" },
	{ "PARLEY_SYNC_INTERVAL_MS", SETTING_NUMBER, "100", NULL, 1, 60000,
	    NULL, NULL, NULL, S, F(sync_interval_ms),
	    "with interval: the longest a write waits for its flush" },
	{ "PARLEY_WAL_MB", SETTING_NUMBER, "16", NULL, 1, 4096,
	    NULL, NULL, NULL, S, F(wal_mb),
	    "write-ahead log size that triggers a checkpoint into the "
	    "database (storaged/STORAGE.md)" },
	{ "PARLEY_RATE_KEYS", SETTING_NUMBER, "1000000", NULL, 1000,
	    100000000, NULL, NULL, NULL, S, F(rate_keys),
	    "most rate-limit keys (clients) kept in memory" },
	/* Failover (issue 25): an etcd lease decides the primary. */
	{ "PARLEY_ETCD", SETTING_TEXT, NULL, NULL, 1, 1024, NULL, check_etcd,
	    "a URL list (http://HOST:PORT or https://HOST:PORT, all of one "
	    "kind, comma-separated, at most 8)", S, F(etcd),
	    "the etcd endpoints whose lease decides which storaged is primary "
	    "(PARLEY_ROLE=auto); https: etcd's certificate is verified against "
	    "PARLEY_CLUSTER_CA and storaged presents PARLEY_CLUSTER_CERT; "
	    "unset: none" },
	{ "PARLEY_LEASE_TTL_S", SETTING_NUMBER, "5", NULL, 2, 60, NULL, NULL,
	    NULL, S, F(lease_ttl_s),
	    "the primary's lease in etcd: it stops taking writes when it "
	    "could not renew it for this long, less a margin" },
	{ "PARLEY_ADVERTISE", SETTING_TEXT, NULL, NULL, 1, 255, NULL,
	    check_store_addr, "unix:/path or tls://HOST:PORT", S,
	    F(advertise),
	    "the address the other storaged and the workers reach this one "
	    "at, written in etcd while it is primary" },
	{ "PARLEY_CLUSTER_NAME", SETTING_TEXT, "parley", NULL, 1, 64, NULL,
	    check_cluster_name, "a name (letters, digits, . _ -)", S,
	    F(cluster_name), "the prefix of the cluster's keys in etcd "
	    "(/NAME/primary, /NAME/sync, /NAME/holder)" },
	/* Keys and access: checked by masterd, used by the workers. */
	{ "WIDGET_API_KEY", SETTING_SECRET, NULL, NULL, SETTINGS_KEY_MIN,
	    1024, NULL, NULL, KEY_SHORT, M | W, F(widget_key),
	    "key of the chat endpoints; unset: they answer 503" },
	{ "ADMIN_API_KEY", SETTING_SECRET, NULL, NULL, SETTINGS_KEY_MIN,
	    1024, NULL, NULL, KEY_SHORT, M | W, F(admin_key),
	    "key of the admin API; unset: it answers 503" },
	{ "DASHBOARD_PASSWORD", SETTING_SECRET, NULL, NULL,
	    SETTINGS_PASSWORD_MIN, 1024, NULL, NULL, NULL, M | W,
	    F(dashboard_password), "the dashboard's password; unset: login "
	    "answers 503" },
	{ "DASHBOARD_OWNER_EMAIL", SETTING_TEXT, ST_OWNER_EMAIL, NULL, 3,
	    ST_EMAIL_MAX, NULL, check_email,
	    "an email address like name@example.com", M | W,
	    F(dashboard_owner_email), "the email of the owner "
	    "DASHBOARD_PASSWORD makes (owner of default) and keeps" },
	{ "PARLEY_ENV", SETTING_TEXT, NULL, NULL, 1, 64, NULL, check_token,
	    "one word (production, development, ...)", M | W | S | C,
	    F(parley_env), "production adds HSTS, hides error details and "
	    "refuses CORS_ORIGIN=*; wins over NODE_ENV" },
	{ "NODE_ENV", SETTING_TEXT, NULL, NULL, 1, 64, NULL, check_token,
	    "one word (production, development, ...)", M | W | S | C,
	    F(node_env), "read when PARLEY_ENV is unset, the same way" },
	{ "CORS_ORIGIN", SETTING_LIST, "*", NULL, 0, 0, NULL, NULL, NULL,
	    M | W, 0, "origins that may call from a browser, comma-separated, "
	    "each * or scheme://host[:port]" },
	{ "TRUST_PROXY", SETTING_LIST, NULL, NULL, 0, 0, NULL, NULL, NULL,
	    M | W, 0, "proxies whose X-Forwarded-For is believed: addresses, "
	    "CIDR blocks, loopback, linklocal, uniquelocal" },
	{ "TLS_CERT", SETTING_TEXT, NULL, NULL, 1, 1024, NULL, check_plain,
	    "a path", M | W, F(tls_cert),
	    "PEM certificate (chain after it); with TLS_KEY, HTTPS" },
	{ "TLS_KEY", SETTING_TEXT, NULL, NULL, 1, 1024, NULL, check_plain,
	    "a path", M | W, F(tls_key), "its PEM private key" },
	/* The model: the workers. */
	{ "OPENAI_API_KEY", SETTING_SECRET, NULL, NULL, 1, 4096, NULL,
	    check_oneline, "one line", M | W, F(openai_key),
	    "sent as Authorization: Bearer; unset sends none" },
	{ "OPENAI_BASE_URL", SETTING_TEXT, "https://api.openai.com/v1", NULL,
	    1, 2048, NULL, check_url, "a URL: http:// or https://, a "
	    "host (in ASCII: punycode), a port of 1 to 65535 if any, no "
	    "query or fragment", M | W, F(openai_base_url),
	    "any OpenAI-compatible server (/chat/completions is appended)" },
	{ "PARLEY_MODEL_CA", SETTING_TEXT, NULL, NULL, 1, 1024, NULL,
	    check_plain, "a path", M | W, F(model_ca),
	    "PEM CA certificates a model server's may also be signed by, "
	    "besides the system's" },
	{ "OPENAI_MODEL", SETTING_TEXT, "gpt-4.1-mini", NULL, 1, 256, NULL,
	    check_token, "a name without spaces", M | W, F(openai_model),
	    "model name sent upstream" },
	{ "SYSTEM_PROMPT", SETTING_TEXT, DEFAULT_PROMPT, NULL, 1,
	    SETTINGS_VALUE_MAX, NULL, NULL, NULL, M | W, F(system_prompt),
	    "system message put first in every request" },
	{ "PARLEY_ANSWER_IN_VISITOR_LANGUAGE", SETTING_BOOL, "off", NULL, 0,
	    0, NULL, NULL, NULL, M | W, F(answer_in_visitor_language),
	    "the default agent asks the model to answer in the visitor's "
	    "language, when the widget told it (an agent's own setting is "
	    "answer_in_visitor_language)" },
	{ "OPENAI_CONNECT_TIMEOUT_MS", SETTING_NUMBER, "10000", NULL, 1,
	    3600000, NULL, NULL, NULL, M | W, F(connect_timeout_ms),
	    "connecting to the model" },
	{ "OPENAI_IDLE_TIMEOUT_MS", SETTING_NUMBER, "60000", NULL, 1,
	    86400000, NULL, NULL, NULL, M | W, F(model_idle_ms),
	    "the model sending nothing for this long fails the turn" },
	{ "OPENAI_REPLY_TIMEOUT_MS", SETTING_NUMBER, "600000", NULL, 1000,
	    86400000, NULL, NULL, NULL, M | W, F(model_reply_ms),
	    "a model's whole answer taking longer than this fails the turn "
	    "(a server that keeps sending and never ends)" },
	/* Limits and timeouts. */
	{ "MAX_HISTORY_MESSAGES", SETTING_NUMBER, "30", NULL, 1,
	    MAX_MAX_HISTORY, NULL, NULL, NULL, M | W, F(max_history),
	    "messages of the conversation sent to the model" },
	{ "RATE_LIMIT_WINDOW_MS", SETTING_NUMBER, "60000", NULL, 1,
	    MAX_RATE_WINDOW_MS, NULL, NULL, NULL, M | W, F(rate_window_ms),
	    "rate-limit window per client" },
	{ "RATE_LIMIT_MAX_REQUESTS", SETTING_NUMBER, "30", NULL, 0,
	    MAX_RATE_MAX, NULL, NULL, NULL, M | W, F(rate_max),
	    "chat requests per client per window; 0 turns the limit off" },
	{ "DASHBOARD_LOGIN_FAILURES_PER_MINUTE", SETTING_NUMBER, "100", NULL,
	    0, 1000000, NULL, NULL, NULL, M | W, F(login_failures),
	    "wrong dashboard passwords a minute from all clients together; "
	    "past it every login answers 429 until the minute ends; 0 turns "
	    "the budget off" },
	{ "WIDGET_SESSION_IDLE_DAYS", SETTING_NUMBER, "30", NULL, 1,
	    MAX_SESSION_IDLE_DAYS, NULL, NULL, NULL, M | W | S,
	    F(session_idle_days),
	    "a widget visitor's session expires after this many idle days "
	    "(storaged sweeps expired ones)" },
	{ "WIDGET_NEW_SESSIONS_PER_MINUTE", SETTING_NUMBER, "3000", NULL, 0,
	    1000000, NULL, NULL, NULL, S, F(new_sessions_per_min),
	    "new visitor sessions (first messages of new visitors) per "
	    "widget per minute; 0 turns the limit off" },
	{ "DASHBOARD_AGENT_NAME", SETTING_TEXT, "Support", NULL, 1, 400, NULL,
	    check_name, "1 to 100 characters, no control characters", M | W,
	    F(dashboard_agent_name),
	    "the name a visitor sees on an API key's replies and on "
	    "\"joined\" when its request gives none (a dashboard user's "
	    "show the account's name)" },
	{ "ADMIN_EVENTS_MAX_CLIENTS", SETTING_NUMBER, "64", NULL, 1, 100000,
	    NULL, NULL, NULL, M | W, F(admin_events_max),
	    "open /v1/admin/events streams per worker; more are answered 503" },
	{ "ADMIN_EVENTS_MAX_PER_ORG", SETTING_NUMBER, "16", NULL, 1, 100000,
	    NULL, NULL, NULL, M | W, F(admin_events_org_max),
	    "open /v1/admin/events streams of one organisation per worker; "
	    "more are answered 429" },
	{ "ADMIN_EVENTS_MAX_PER_USER", SETTING_NUMBER, "4", NULL, 1, 100000,
	    NULL, NULL, NULL, M | W, F(admin_events_user_max),
	    "open /v1/admin/events streams of one dashboard user or "
	    "organisation API key per worker; more are answered 429" },
	{ "PARLEY_HEADER_TIMEOUT_MS", SETTING_NUMBER, "10000", NULL, 100,
	    3600000, NULL, NULL, NULL, M | W, F(header_timeout_ms),
	    "a request's head and body must arrive within this" },
	{ "PARLEY_IDLE_TIMEOUT_MS", SETTING_NUMBER, "60000", NULL, 100,
	    86400000, NULL, NULL, NULL, M | W, F(idle_timeout_ms),
	    "idle keep-alive connections are closed after this" },
	{ "PARLEY_MAX_CONNS_PER_CLIENT", SETTING_NUMBER, "1024", NULL, 0,
	    1000000, NULL, NULL, NULL, M | W, F(max_conns_per_client),
	    "open connections one client (IPv4 address, IPv6 /64) may hold "
	    "per worker; more are answered 429 and closed; a trusted proxy "
	    "is not capped; 0 turns the cap off" },
	{ "PARLEY_MAX_WS_PER_CLIENT", SETTING_NUMBER, "512", NULL, 0,
	    1000000, NULL, NULL, NULL, M | W, F(max_ws_per_client),
	    "open WebSockets one client may hold per worker (behind "
	    "TRUST_PROXY, the client it names); more upgrades are answered "
	    "429; 0 turns the cap off" },
	{ "PARLEY_MAX_BODY_KB_PER_CLIENT", SETTING_NUMBER, "256", NULL, 16,
	    1048576, NULL, NULL, NULL, M | W, F(body_kb_per_client),
	    "request bytes one client may have buffered in a worker at once "
	    "(bodies being read, WebSocket messages being received); a body "
	    "past it is answered 429 before it is read, a WebSocket message "
	    "closes its socket 1009" },
	{ "PARLEY_MAX_BODY_MB", SETTING_NUMBER, "64", NULL, 1, 65536, NULL,
	    NULL, NULL, M | W, F(body_mb),
	    "request bytes all clients together may have buffered in a "
	    "worker; a body past it is answered 503 before it is read" },
	{ "PARLEY_METRICS_OPEN", SETTING_CHOICE, "off", NULL, 0, 0,
	    "off|loopback", NULL, NULL, M | W, F(metrics_open),
	    "loopback: /metrics answers without the admin key to a loopback "
	    "peer that is neither a trusted proxy nor forwarding; off: the "
	    "key always" },
	/* Files served. */
	{ "WIDGET_BUNDLE_PATH", SETTING_TEXT, NULL,
	    "<assets>/widget/dist/chat-widget.js", 1, 1024, NULL,
	    check_plain, "a path", M | W, F(bundle_path),
	    "the widget bundle to serve, an absolute path (a relative one, "
	    "as Open Chat Widget's .env.example has, is ignored with a "
	    "warning)" },
	{ "PARLEY_ASSETS_DIR", SETTING_TEXT, NULL, "found from the binary", 1,
	    1024, NULL, check_plain, "a path", M | W, F(assets_dir),
	    "the directory holding widget/ and dashboard/" },
	/* Webhooks (issue 23). */
	{ "PARLEY_WEBHOOK_ALLOW_PRIVATE", SETTING_BOOL, "off", NULL, 0, 0,
	    NULL, NULL, NULL, M | W, F(webhook_allow_private),
	    "the default organisation's webhooks may point at loopback, "
	    "private and link-local addresses (tests, private networks); "
	    "other organisations' never" },
	{ "PARLEY_WEBHOOK_ALLOW_HOSTS", SETTING_TEXT, NULL, NULL, 1, 4096,
	    NULL, check_hosts, "comma-separated host names or addresses "
	    "(spaces around a comma, none inside a host)",
	    M | W, F(webhook_allow_hosts),
	    "hosts any organisation's webhooks may point at whatever "
	    "address they have (install-wide)" },
	/* Agents' model servers (issue 38, workerd/net/urlpolicy.c). */
	{ "PARLEY_MODEL_ALLOW_PRIVATE", SETTING_BOOL, "off", NULL, 0, 0,
	    NULL, NULL, NULL, M | W, F(model_allow_private),
	    "agents of the default organisation may use a model server at a "
	    "loopback, private or link-local address (an Ollama or vLLM on "
	    "the LAN); other organisations' agents never" },
	/* The knowledge base's crawls (workerd/admin/knowledge.c). */
	{ "PARLEY_KNOWLEDGE_ALLOW_PRIVATE", SETTING_BOOL, "off", NULL, 0, 0,
	    NULL, NULL, NULL, M | W, F(knowledge_allow_private),
	    "the default organisation's knowledge sources may crawl "
	    "loopback, private and link-local addresses (an intranet wiki); "
	    "other organisations' never" },
	{ "PARLEY_KB_QUOTA_MB", SETTING_NUMBER, "512", NULL, 0, 1000000,
	    NULL, NULL, NULL, M | S, F(kb_quota_mb),
	    "MiB an organisation's knowledge base may hold (its pages' "
	    "chunks and vectors, its files, its Q&As, as storaged counts "
	    "them); a page past it is refused and its sync fails, a new "
	    "source is refused (507); 0: no quota" },
	/* Attachments (docs/attachments.md, workerd/attach/). */
	{ "PARLEY_ATTACH_QUOTA_MB", SETTING_NUMBER, "256", NULL, 0,
	    1000000, NULL, NULL, NULL, M | W, F(attach_quota_mb),
	    "MiB an organisation's attachments may hold (each piece counted "
	    "once; one client may begin a quarter of it a day, visitors "
	    "fill nine tenths of it at most); 0: no quota" },
	{ "PARLEY_ATTACH_RATE_MB", SETTING_NUMBER, "60", NULL, 25, 100000,
	    NULL, NULL, NULL, M | W, F(attach_rate_mb),
	    "MiB one client may upload a minute (at least the largest file, "
	    "25)" },
	{ "PARLEY_ATTACH_STRIP", SETTING_BOOL, "on", NULL, 0, 0, NULL, NULL,
	    NULL, M | W, F(attach_strip),
	    "JPEG, PNG and WebP uploads kept without their metadata (where a "
	    "photo was taken, the camera, comments)" },
	{ "PARLEY_VISION_MEMORY_MB", SETTING_NUMBER, "128", NULL, 1, 65536,
	    NULL, NULL, NULL, M | W, F(vision_memory_mb),
	    "MiB of images the turns of a worker may hold at once for an "
	    "agent with vision (each counted with its base64 copy in the "
	    "model request); an image past it is left out of its turn, the "
	    "model told so" },
	{ "PARLEY_CLAMD", SETTING_TEXT, NULL, NULL, 1, CLAMD_ADDR_TEXT_MAX - 1,
	    NULL, check_clamd, "unix:/path or tcp:HOST:PORT (HOST an IPv4 "
	    "address or [IPv6], no name)", M | W, F(clamd),
	    "the ClamAV daemon every upload is scanned by (INSTREAM) before "
	    "it is kept; unset: uploads are not scanned" },
	{ "PARLEY_CLAMD_UNAVAILABLE", SETTING_CHOICE, "refuse", NULL, 0, 0,
	    "refuse|accept", NULL, NULL, M | W, F(clamd_unavailable),
	    "with PARLEY_CLAMD and no verdict (clamd away or silent, an "
	    "error, a file over its StreamMaxLength): refuse the upload, or "
	    "accept it marked as not scanned" },
	/* Actions' HTTP APIs (workerd/admin/actions.c, actions/call.c). */
	{ "PARLEY_ACTIONS_ALLOW_PRIVATE", SETTING_BOOL, "off", NULL, 0, 0,
	    NULL, NULL, NULL, M | W, F(actions_allow_private),
	    "the default organisation's actions may call loopback, private "
	    "and link-local addresses (an internal API); other "
	    "organisations' never" },
	{ "PARLEY_MODEL_ALLOW_HOSTS", SETTING_TEXT, NULL, NULL, 1, 4096,
	    NULL, check_hosts, "comma-separated host names or addresses "
	    "(spaces around a comma, none inside a host)",
	    M | W, F(model_allow_hosts),
	    "hosts any organisation's agents may use as their model server "
	    "whatever address they have (install-wide)" },
	/* The fetcher (workerd/fetch/fetcher.c, crawl.c). */
	{ "PARLEY_FETCH_MEMORY_MB", SETTING_NUMBER, "1024", NULL, 128, 65536,
	    NULL, NULL, NULL, M | W, F(fetch_memory_mb),
	    "the fetcher's address space at most, in MiB (and its PDF "
	    "readers' children's): a document that makes a parser allocate "
	    "without end ends the fetcher alone (a PDF: its reader alone)" },
	{ "PARLEY_FETCH_CPU_SECONDS", SETTING_NUMBER, "60", NULL, 1, 3600,
	    NULL, NULL, NULL, M | W, F(fetch_cpu_seconds),
	    "CPU time one document read may use, in seconds: a PDF that "
	    "makes poppler spin ends its reader's child alone, the page "
	    "stored as failed; another document that makes a parser spin "
	    "ends the fetcher alone" },
	{ "PARLEY_FETCH_MAX_PAGES", SETTING_NUMBER, "10000", NULL, 1, 100000,
	    NULL, NULL, NULL, M | W, F(fetch_max_pages),
	    "pages one sync of a crawl fetches at most (a source's "
	    "max_pages may say fewer)" },
	{ "PARLEY_FETCH_MAX_DEPTH", SETTING_NUMBER, "20", NULL, 0, 100,
	    NULL, NULL, NULL, M | W, F(fetch_max_depth),
	    "links a crawl follows from its start page at most (a source's "
	    "max_depth may say fewer)" },
	{ "PARLEY_FETCH_PAGE_MB", SETTING_NUMBER, "10", NULL, 1, 16,
	    NULL, NULL, NULL, M | W, F(fetch_page_mb),
	    "bytes of one fetched page read at most, in MiB; a larger one "
	    "is stored with its error and no text" },
	{ "PARLEY_FETCH_SYNC_MINUTES", SETTING_NUMBER, "120", NULL, 1, 1440,
	    NULL, NULL, NULL, M | W, F(fetch_sync_minutes),
	    "a sync's time at most; one cut by it fails, its pages kept" },
	/* The knowledge base's embeddings (workerd/model/embed.c). */
	{ "PARLEY_EMBED_MODEL", SETTING_TEXT, NULL, NULL, 1, 256, NULL,
	    check_token, "a name without spaces", M | W, F(embed_model),
	    "an embedding model of the model server (OPENAI_BASE_URL's "
	    "/embeddings): knowledge pages and each question are then "
	    "embedded and searched by meaning as well as by their words; "
	    "unset, by their words alone" },
	{ "PARLEY_EMBED_DIMENSIONS", SETTING_NUMBER, "0", NULL, 0, 4096,
	    NULL, NULL, NULL, M | W, F(embed_dims),
	    "dimensions asked of the embedding model (models that can "
	    "shorten their vectors); 0: the model's own" },
	{ "PARLEY_EMBED_MIN_SCORE", SETTING_NUMBER, "300", NULL, 0, 1000,
	    NULL, NULL, NULL, M | W, F(embed_min_score),
	    "in thousandths, the cosine a passage found by meaning alone "
	    "needs to be used: below it an off-topic question finds "
	    "nothing" },
	{ "PARLEY_RERANK_MODEL", SETTING_TEXT, NULL, NULL, 1, 256, NULL,
	    check_token, "a name without spaces", M | W, F(rerank_model),
	    "a reranking model of the model server (OPENAI_BASE_URL's "
	    "/rerank, the Jina and Cohere shape): a turn's 20 best "
	    "passages are put in its order before the model gets 5; "
	    "unset, the search's order" },
	{ "PARLEY_NOTIFY_RETRY_MS", SETTING_NUMBER, "5000", NULL, 100, 60000,
	    NULL, NULL, NULL, M | W, F(notify_retry_ms),
	    "the notifier's first retry wait, doubled at each retry up to an "
	    "hour (the default keeps retrying for over 24 hours; shorter is "
	    "for tests)" },
	{ "PARLEY_NOTIFY_LEASE_MS", SETTING_NUMBER, "60000", NULL, 1000,
	    3600000, NULL, NULL, NULL, M | W, F(notify_lease_ms),
	    "how long a notification the notifier took and never answered "
	    "(it crashed) waits before it is taken again" },
	{ "PARLEY_SMTP_DATA_END_MS", SETTING_NUMBER, "600000", NULL, 1000,
	    3600000, NULL, NULL, NULL, M | W, F(smtp_data_end_ms),
	    "how long the notifier waits for the SMTP server's answer to "
	    "the end of a message (RFC 5321's 10 minutes; shorter is for "
	    "tests)" },
	/* Away mode (issue 23). */
	{ "PARLEY_AWAY_AFTER_MS", SETTING_NUMBER, "120000", NULL, 1000,
	    86400000, NULL, NULL, NULL, M | W | S, F(away_after_ms),
	    "a widget shows \"Leave a message\" when no signed-in dashboard "
	    "of its organisation had its live stream open for this long "
	    "(tests shorten it)" },
	/* Email (issue 23): the notifier sends, storaged writes the mails. */
	{ "SMTP_URL", SETTING_TEXT, NULL, NULL, 1, 512, NULL, check_smtp_url,
	    "smtp://host[:port] (STARTTLS required) or smtps://host[:port]",
	    M | W | S, F(smtp_url),
	    "the SMTP server the notifier sends email through; unset: no "
	    "email" },
	{ "SMTP_USER", SETTING_TEXT, NULL, NULL, 1, 256, NULL, check_plain,
	    "one line, no control characters", M | W, F(smtp_user),
	    "the SMTP user (AUTH, with SMTP_PASSWORD); unset: no AUTH" },
	{ "SMTP_PASSWORD", SETTING_SECRET, NULL, NULL, 1, 1024, NULL,
	    check_oneline, "one line", M | W, F(smtp_password),
	    "the SMTP password (never logged; only ever sent over TLS)" },
	{ "SMTP_FROM", SETTING_TEXT, NULL, NULL, 3, ST_EMAIL_MAX, NULL,
	    check_email, "an email (user@example.com)", M | W, F(smtp_from),
	    "the notifications' sender (From); required with SMTP_URL" },
	{ "SMTP_CA_FILE", SETTING_TEXT, NULL, "the system's", 1, 1024, NULL,
	    check_plain, "a path", M | W, F(smtp_ca_file),
	    "PEM certificates that verify the SMTP server (a private CA); "
	    "the server's certificate is always verified" },
	{ "PARLEY_PUBLIC_URL", SETTING_TEXT, NULL, "http://localhost:<PORT>",
	    1, 512, NULL, check_url, "a URL (https://chat.example.com)",
	    M | W, F(public_url),
	    "where the dashboard is reached, for the links in emails and "
	    "invitations (unset: an invitation's is the request's Host)" },
	/* Logging. */
	{ "PARLEY_LOG_LEVEL", SETTING_CHOICE, "info", NULL, 0, 0,
	    "debug|info|warn", NULL, NULL, M | W | S, F(log_level),
	    "the least important log line written" },
	{ "PARLEY_ACCESS_LOG", SETTING_BOOL, "off", NULL, 0, 0, NULL, NULL,
	    NULL, M | W, F(access_log), "one line per request: client, "
	    "method, path, status, bytes, ms" },
};

const size_t settings_count = sizeof(settings_table) /
    sizeof(settings_table[0]);

const struct setting *
settings_find(const char *name)
{
	size_t i;

	for (i = 0; i < settings_count; i++)
		if (strcmp(settings_table[i].name, name) == 0)
			return &settings_table[i];
	return NULL;
}

const char *
settings_shown(const struct setting *r)
{
	if (r->shown != NULL)
		return r->shown;
	return r->def != NULL ? r->def : "unset";
}

const char *
settings_rule(const struct setting *r, char *buf, size_t bufsz)
{
	switch (r->type) {
	case SETTING_NUMBER:
		snprintf(buf, bufsz, "a whole number from %u to %u", r->min,
		    r->max);
		break;
	case SETTING_TEXT:
		snprintf(buf, bufsz, "%s, at most %u bytes", r->rule != NULL ?
		    r->rule : "text", r->max);
		break;
	case SETTING_SECRET:
		snprintf(buf, bufsz, "%u to %u characters%s%s", r->min,
		    r->max, r->rule != NULL ? ", " : "",
		    r->rule != NULL ? r->rule : "");
		break;
	case SETTING_CHOICE:
		snprintf(buf, bufsz, "one of %s", r->choices);
		break;
	case SETTING_BOOL:
		snprintf(buf, bufsz, "on or off (true/false, yes/no, 1/0)");
		break;
	case SETTING_LIST:
		snprintf(buf, bufsz, "a comma-separated list");
		break;
	case SETTING_SYSTEMD:
		snprintf(buf, bufsz, "set by systemd");
		break;
	}
	return buf;
}

static const char *
type_name(enum setting_type t)
{
	static const char *names[] = { "number", "text", "secret", "choice",
	    "boolean", "list", "systemd" };

	return names[t];
}

static void
procs_name(unsigned int procs, char *buf, size_t bufsz)
{
	static const char *names[] = { "masterd", "workerd", "storaged",
	    "parleyctl" };
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (!(procs & (1u << i)))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ",", bufsz);
		strlcat(buf, names[i], bufsz);
	}
}

void
settings_print_table(void)
{
	const struct setting *r;
	char rule[256], procs[64];
	size_t i;

	printf("name\ttype\tdefault\trule\tprocesses\tdoc\n");
	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		procs_name(r->procs, procs, sizeof(procs));
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", r->name, type_name(r->type),
		    settings_shown(r), settings_rule(r, rule, sizeof(rule)),
		    procs, r->doc);
	}
}
