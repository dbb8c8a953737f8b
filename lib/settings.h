/*
 * Every setting of every Parley process, in one table (settingtab.c):
 * name, type, default, range or pattern, which processes use it, one line
 * of doc. docs/internals.md, docs/configuration.md and parley.env(5)
 * follow it (README.md shows the first few), and a test
 * (tests/integration/settings.test.mjs) checks they do.
 *
 * masterd parses and checks all of them at start, before it forks or
 * binds, so a bad value stops the service with one line naming the
 * variable, the value (a secret's length only) and the rule; storaged
 * checks its own at its start; parleyctl reads PARLEY_RUN_DIR here. The
 * workers never read the environment: masterd sends them the settings
 * they use as PROTO_MW_SETTINGS (settings_msg_encode/_decode) right after
 * HELLO, and they parse that with the same code.
 *
 * settings_parse() is pure (it reads variables through a callback) so
 * unit tests and the fuzz target can drive it. Secrets are never logged;
 * struct apikey holds a SHA-256 digest, compared in constant time.
 */
#ifndef PARLEY_SETTINGS_H
#define PARLEY_SETTINGS_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "staddr.h"

struct penc;

#define SETTINGS_KEY_MIN	24	/* characters (code points) of an API key;
					   fewer: production refuses it, else a
					   warning (settings_warn) */
#define SETTINGS_PASSWORD_MIN	12	/* characters of DASHBOARD_PASSWORD */
#define SETTINGS_ERR_MAX	512
#define SETTINGS_ORIGIN_MAX	255	/* bytes of one CORS_ORIGIN entry */

#define DEFAULT_MAX_HISTORY	30
#define MAX_MAX_HISTORY		200	/* ST_HISTORY_MAX */
#define DEFAULT_RATE_WINDOW_MS	60000
#define MAX_RATE_WINDOW_MS	86400000u	/* a day */
#define DEFAULT_RATE_MAX	30
#define MAX_RATE_MAX		1000000000u
#define DEFAULT_SESSION_IDLE_DAYS	30
#define MAX_SESSION_IDLE_DAYS	3650

/* An IPv4 or IPv6 address; v4-mapped IPv6 is stored as IPv4. */
struct ipaddr {
	int family;		/* 4, 6; 0 = not an IP peer (a Unix socket) */
	uint8_t a[16];		/* IPv4 uses the first 4 bytes */
};

/* An address block: a CIDR, or one address (prefix 32 / 128). */
struct ipnet {
	struct ipaddr addr;	/* bits past the prefix are zero */
	unsigned int prefix;
};

/* A configured API key, as its digest. */
struct apikey {
	int set;
	unsigned char digest[32];
};

/* Which processes use a setting (struct setting.procs). */
#define SETTINGS_P_MASTERD	0x01
#define SETTINGS_P_WORKERD	0x02
#define SETTINGS_P_STORAGED	0x04
#define SETTINGS_P_CTL		0x08
#define SETTINGS_P_ALL		0x0f

/* The longest value of any setting (SYSTEM_PROMPT's limit). */
#define SETTINGS_VALUE_MAX	65536

enum setting_type {
	SETTING_NUMBER,		/* a whole number from min to max */
	SETTING_TEXT,		/* at most max bytes, matching check */
	SETTING_SECRET,		/* min to max characters; never printed */
	SETTING_CHOICE,		/* one of choices, "a|b|c"; kept as its index */
	SETTING_BOOL,		/* on/off, true/false, yes/no, 1/0 */
	SETTING_LIST,		/* comma-separated, parsed by its own code */
	SETTING_SYSTEMD,	/* set by systemd (LISTEN_FDS), not by people */
};

/* One row of the table. */
struct setting {
	const char *name;
	enum setting_type type;
	const char *def;	/* the default, as a value; NULL: unset */
	const char *shown;	/* the default as the docs say it, if not def */
	uint32_t min, max;	/* NUMBER: range; TEXT, SECRET: length */
	const char *choices;	/* CHOICE: "a|b|c" */
	/* TEXT: whether v is well-formed; rule says what that means. */
	int (*check)(const char *v);
	const char *rule;
	unsigned int procs;	/* SETTINGS_P_* */
	size_t off;		/* its field in struct settings; 0: none (the
				   lists and systemd's are parsed apart) */
	const char *doc;
};

extern const struct setting settings_table[];
extern const size_t settings_count;

/* The row of name, or NULL. */
const struct setting *settings_find(const char *name);
/* The default as the docs say it ("unset" when there is none). */
const char *settings_shown(const struct setting *);
/* Its rule in words, into buf ("a whole number from 1 to 200"). */
const char *settings_rule(const struct setting *, char *buf, size_t bufsz);

enum settings_metrics { SETTINGS_METRICS_OFF, SETTINGS_METRICS_LOOPBACK };
enum settings_sync { SETTINGS_SYNC_FULL, SETTINGS_SYNC_NOMETA,
    SETTINGS_SYNC_INTERVAL, SETTINGS_SYNC_REPLICA };
enum settings_role { SETTINGS_ROLE_PRIMARY, SETTINGS_ROLE_STANDBY,
    SETTINGS_ROLE_AUTO };
enum settings_replica_wait { SETTINGS_WAIT_DEGRADE, SETTINGS_WAIT_BLOCK };
enum settings_clamd_unavailable { SETTINGS_CLAMD_REFUSE, SETTINGS_CLAMD_ACCEPT };

struct settings {
	int production;		/* PARLEY_ENV, else NODE_ENV, is "production" */
	/* masterd */
	uint32_t port;		/* PORT */
	char *host;		/* PARLEY_HOST, brackets removed */
	uint32_t workers;	/* PARLEY_WORKERS; 0 = one per core */
	char *workerd;		/* PARLEY_WORKERD; NULL = beside masterd */
	uint32_t shutdown_ms;	/* PARLEY_SHUTDOWN_TIMEOUT_MS */
	uint32_t stall_ms;	/* PARLEY_WORKER_STALL_MS */
	char *user;		/* PARLEY_USER; NULL = stay who we are */
	/* storaged (and PARLEY_RUN_DIR for the workers and parleyctl) */
	char *data_dir;		/* PARLEY_DATA_DIR */
	char *run_dir;		/* PARLEY_RUN_DIR */
	uint32_t map_size_mb;	/* PARLEY_MAP_SIZE_MB */
	uint32_t wal_mb;	/* PARLEY_WAL_MB */
	int sync_mode;		/* PARLEY_SYNC, enum settings_sync */
	uint32_t sync_interval_ms;	/* PARLEY_SYNC_INTERVAL_MS */
	int role;		/* PARLEY_ROLE, enum settings_role */
	char *primary;		/* PARLEY_PRIMARY; NULL = none */
	int replica_wait;	/* PARLEY_REPLICA_WAIT, enum settings_replica_wait */
	uint32_t rate_keys;	/* PARLEY_RATE_KEYS */
	/* failover (issue 25) */
	char *etcd;		/* PARLEY_ETCD; NULL = none */
	uint32_t lease_ttl_s;	/* PARLEY_LEASE_TTL_S */
	char *advertise;	/* PARLEY_ADVERTISE; NULL = unset */
	char *cluster_name;	/* PARLEY_CLUSTER_NAME */
	/* workerd: keys in clear, wiped by settings_free() */
	char *widget_key;	/* WIDGET_API_KEY */
	char *admin_key;	/* ADMIN_API_KEY */
	char *dashboard_password;	/* DASHBOARD_PASSWORD */
	char *dashboard_owner_email;	/* DASHBOARD_OWNER_EMAIL */
	char *openai_key;	/* OPENAI_API_KEY */
	char *openai_base_url;	/* OPENAI_BASE_URL */
	char *model_ca;		/* PARLEY_MODEL_CA */
	char *openai_model;	/* OPENAI_MODEL */
	char *system_prompt;	/* SYSTEM_PROMPT */
	/* PARLEY_ANSWER_IN_VISITOR_LANGUAGE: the default agent's (issue 26) */
	int answer_in_visitor_language;
	uint32_t connect_timeout_ms;	/* OPENAI_CONNECT_TIMEOUT_MS */
	uint32_t model_idle_ms;	/* OPENAI_IDLE_TIMEOUT_MS */
	uint32_t model_reply_ms;	/* OPENAI_REPLY_TIMEOUT_MS */
	uint32_t header_timeout_ms;	/* PARLEY_HEADER_TIMEOUT_MS */
	uint32_t idle_timeout_ms;	/* PARLEY_IDLE_TIMEOUT_MS */
	uint32_t storage_timeout_ms;	/* PARLEY_STORAGE_TIMEOUT_MS */
	uint32_t max_conns_per_client;	/* PARLEY_MAX_CONNS_PER_CLIENT; 0 = no cap */
	uint32_t max_ws_per_client;	/* PARLEY_MAX_WS_PER_CLIENT; 0 = no cap */
	uint32_t body_kb_per_client;	/* PARLEY_MAX_BODY_KB_PER_CLIENT */
	uint32_t body_mb;	/* PARLEY_MAX_BODY_MB */
	int metrics_open;	/* PARLEY_METRICS_OPEN, enum settings_metrics */
	char *bundle_path;	/* WIDGET_BUNDLE_PATH; NULL = in the assets */
	/*
	 * WIDGET_BUNDLE_PATH was relative, as in Open Chat Widget's
	 * .env.example: ignored (bundle_path NULL), settings_warn says so.
	 */
	int bundle_relative;
	char *assets_dir;	/* PARLEY_ASSETS_DIR; NULL = found */
	int access_log;		/* PARLEY_ACCESS_LOG */
	int webhook_allow_private;	/* PARLEY_WEBHOOK_ALLOW_PRIVATE */
	char *webhook_allow_hosts;	/* PARLEY_WEBHOOK_ALLOW_HOSTS; NULL none */
	int model_allow_private;	/* PARLEY_MODEL_ALLOW_PRIVATE */
	int knowledge_allow_private;	/* PARLEY_KNOWLEDGE_ALLOW_PRIVATE */
	uint32_t kb_quota_mb;		/* PARLEY_KB_QUOTA_MB; 0 = none */
	int actions_allow_private;	/* PARLEY_ACTIONS_ALLOW_PRIVATE */
	uint32_t attach_quota_mb;	/* PARLEY_ATTACH_QUOTA_MB; 0 = none */
	uint32_t attach_rate_mb;	/* PARLEY_ATTACH_RATE_MB */
	int attach_strip;		/* PARLEY_ATTACH_STRIP */
	uint32_t vision_memory_mb;	/* PARLEY_VISION_MEMORY_MB */
	char *clamd;			/* PARLEY_CLAMD; NULL = no scanning */
	int clamd_unavailable;	/* PARLEY_CLAMD_UNAVAILABLE, enum above */
	char *model_allow_hosts;	/* PARLEY_MODEL_ALLOW_HOSTS; NULL none */
	uint32_t notify_retry_ms;	/* PARLEY_NOTIFY_RETRY_MS */
	uint32_t fetch_memory_mb;	/* PARLEY_FETCH_MEMORY_MB */
	uint32_t fetch_cpu_seconds;	/* PARLEY_FETCH_CPU_SECONDS */
	uint32_t fetch_max_pages;	/* PARLEY_FETCH_MAX_PAGES */
	uint32_t fetch_max_depth;	/* PARLEY_FETCH_MAX_DEPTH */
	uint32_t fetch_page_mb;		/* PARLEY_FETCH_PAGE_MB */
	uint32_t fetch_sync_minutes;	/* PARLEY_FETCH_SYNC_MINUTES */
	char *embed_model;		/* PARLEY_EMBED_MODEL; NULL = off */
	uint32_t embed_dims;		/* PARLEY_EMBED_DIMENSIONS; 0 = the model's */
	uint32_t embed_min_score;	/* PARLEY_EMBED_MIN_SCORE, thousandths */
	char *rerank_model;		/* PARLEY_RERANK_MODEL; NULL = off */
	uint32_t notify_lease_ms;	/* PARLEY_NOTIFY_LEASE_MS */
	uint32_t smtp_data_end_ms;	/* PARLEY_SMTP_DATA_END_MS */
	/* email (issue 23): SMTP_URL NULL = off; the password wiped */
	char *smtp_url;		/* SMTP_URL (storaged: only whether set) */
	char *smtp_user;	/* SMTP_USER */
	char *smtp_password;	/* SMTP_PASSWORD */
	char *smtp_from;	/* SMTP_FROM */
	char *smtp_ca_file;	/* SMTP_CA_FILE; NULL = the system's */
	/* PARLEY_PUBLIC_URL; NULL = http://localhost:PORT (the workers:
	   masterd sends that) */
	char *public_url;
	int public_url_set;	/* the operator set PARLEY_PUBLIC_URL (the
				   workers: as masterd says, not its default) */
	/*
	 * A child's: the secrets masterd has but did not give it
	 * (PROTO_MW_SETTINGS; settings_withheld), a bit each.
	 */
	uint32_t withheld;
	int log_level;		/* PARLEY_LOG_LEVEL, enum log_level (log.h) */
	char *parley_env;	/* PARLEY_ENV */
	char *node_env;		/* NODE_ENV */
	int cors_any;		/* CORS_ORIGIN holds "*" */
	char **cors;		/* the other entries, lower-cased */
	size_t ncors;
	uint32_t max_history;	/* MAX_HISTORY_MESSAGES */
	uint32_t rate_window_ms;	/* RATE_LIMIT_WINDOW_MS */
	uint32_t rate_max;	/* RATE_LIMIT_MAX_REQUESTS; 0 = no limit */
	/* DASHBOARD_LOGIN_FAILURES_PER_MINUTE; 0 = no budget */
	uint32_t login_failures;
	uint32_t session_idle_days;	/* WIDGET_SESSION_IDLE_DAYS */
	uint32_t new_sessions_per_min;	/* WIDGET_NEW_SESSIONS_PER_MINUTE */
	char *dashboard_agent_name;	/* DASHBOARD_AGENT_NAME */
	uint32_t admin_events_max;	/* ADMIN_EVENTS_MAX_CLIENTS */
	uint32_t admin_events_org_max;	/* ADMIN_EVENTS_MAX_PER_ORG */
	uint32_t admin_events_user_max;	/* ADMIN_EVENTS_MAX_PER_USER */
	uint32_t away_after_ms;	/* PARLEY_AWAY_AFTER_MS */
	struct ipnet *trust;	/* TRUST_PROXY */
	size_t ntrust;
	char *tls_cert;		/* TLS_CERT, TLS_KEY: PEM paths; NULL = no TLS */
	char *tls_key;
	/*
	 * PARLEY_STORAGED (never empty once parsed: unix:$PARLEY_RUN_DIR/
	 * storaged.sock by default), PARLEY_STORAGED_LISTEN, the cluster's
	 * PEM files (required with any tls:// address: check_cluster).
	 */
	struct staddr storaged[STADDR_LIST_MAX];
	size_t nstoraged;
	char *storaged_listen;
	uint32_t tls_peer_max;	/* PARLEY_STORAGED_TLS_PEER_MAX */
	uint32_t tls_buffer_mb;	/* PARLEY_STORAGED_TLS_BUFFER_MB */
	char *cluster_ca;
	char *cluster_cert;
	char *cluster_key;
};

/* Reads a variable: NULL or "" means unset. */
typedef const char *(*settings_get_fn)(const char *name, void *arg);

/*
 * Reads and checks every setting the processes in procs use (the others
 * keep their defaults). 0, or -1 with one line naming the variable, its
 * value (a secret's length instead) and the rule in err; the struct is
 * then empty.
 */
int settings_parse_for(struct settings *, unsigned int procs,
    settings_get_fn, void *arg, char *err, size_t errsz);
/* settings_parse_for() with every process. */
int settings_parse(struct settings *, settings_get_fn, void *arg, char *err,
    size_t errsz);
/* The environment, as a settings_get_fn (arg unused). */
const char *settings_env(const char *name, void *arg);
/*
 * From the environment, for the processes in procs; a bad value is fatal
 * (fatalx with the message: exit status 1). Sets the log level, then
 * settings_warn().
 */
void settings_load(struct settings *, unsigned int procs);
/*
 * One warning line per key shorter than SETTINGS_KEY_MIN and per secret
 * that is a published sample ("change-me...": both taken outside
 * production only), naming the variable, never its value.
 */
void settings_warn(const struct settings *);
/* Frees what parse allocated and wipes the secrets. */
void settings_free(struct settings *);
/*
 * Every secret's bytes zeroed where they are, nothing freed and no lock
 * taken: for a forked child that must not hold them (parley-fetch's
 * document reader, workerd/fetch/docchild.c). The fields then read "".
 */
void settings_wipe(struct settings *);
/*
 * 1 when name is a secret masterd has set but did not give this child
 * (its row in masterd/procs.c does not list it): its field is NULL, and
 * a rule that wants it set beside another (SMTP_USER's SMTP_PASSWORD) is
 * not this child's business.
 */
int settings_withheld(const struct settings *, const char *name);
/*
 * A test build's hook (name PARLEY_TEST_..., never documented; its
 * callers are compiled under PARLEY_TEST_HOOKS alone, never in a
 * release): its value, a whole number from 1, or 0 when unset or not one.
 */
unsigned long settings_test_hook(const char *name);
/* A test build's text hook (as above): its value, or NULL when unset or "". */
const char *settings_test_text(const char *name);
/*
 * dflt, or test hook name's value when it is set and lower: a bound a
 * test would wait out or fill, made smaller in the test build alone
 * (SETTINGS_TEST_LOWER is dflt itself in a release).
 */
unsigned long settings_test_lower(const char *name, unsigned long dflt);
#ifdef PARLEY_TEST_HOOKS
#define SETTINGS_TEST_LOWER(name, dflt)	settings_test_lower((name), (dflt))
#else
#define SETTINGS_TEST_LOWER(name, dflt)	(dflt)
#endif
/* One number setting's value s (NULL, "": def) checked against its row. */
int settings_number(const char *name, const char *s, uint32_t def,
    uint32_t *out);
/* The table as TSV on stdout: name, type, default, rule, processes, doc. */
void settings_print_table(void);

/*
 * Whether a child given secrets (NULL-terminated names; NULL: every
 * one) gets secret name: masterd's rows (procs.c) and the encoder below
 * read a row's list alike.
 */
int settings_gives(const char *const *secrets, const char *name);
/*
 * PROTO_MW_SETTINGS: every workerd setting that is set, as read by get:
 * u32 count, then count times (str name, str value); then u8
 * public_url_set: whether the operator set PARLEY_PUBLIC_URL, which get
 * may give as its default (masterd's http://localhost:PORT). secrets
 * names the SETTING_SECRET rows the child gets (NULL-terminated; NULL:
 * every one): any other that is set goes as its name and an empty
 * value, withheld (settings_withheld), never its own. Errors stick in e.
 */
void settings_msg_encode(struct penc *e, settings_get_fn, void *arg,
    int public_url_set, const char *const *secrets);
/*
 * Decodes PROTO_MW_SETTINGS from another process and parses it as
 * settings_parse_for(SETTINGS_P_WORKERD) would, public_url_set as the
 * message says, a secret of empty value as withheld: 0, or -1 with a
 * message in err (unknown or repeated name, too long, truncated, a bad
 * value).
 */
int settings_msg_decode(struct settings *, const void *buf, size_t len,
    char *err, size_t errsz);
/* PARLEY_ENV, else NODE_ENV, equals "production". */
int settings_production(settings_get_fn, void *arg);

/* One address: "1.2.3.4", "::1", "::ffff:1.2.3.4", "[::1]". 0 or -1. */
int ipaddr_parse(const char *s, size_t len, struct ipaddr *);
/* Text form (IPv4 dotted, IPv6 RFC 5952, "local" when family is 0). */
void ipaddr_format(const struct ipaddr *, char *out, size_t outsz);
/*
 * A socket address as accept4 or getpeername gave it (family 0 when it
 * is not an IP one; an IPv4-mapped IPv6 address as IPv4).
 */
void ipaddr_from_sockaddr(const struct sockaddr *, socklen_t,
    struct ipaddr *);
/*
 * An address on the wire, MW_CONN's payload (masterd hands a worker the
 * client it accepted): u8 family (0, 4, 6), then the 16 bytes.
 */
#define IPADDR_WIRE_LEN	17
void ipaddr_enc(uint8_t out[IPADDR_WIRE_LEN], const struct ipaddr *);
/* 0, or -1 (another length, an unknown family) with *out zeroed. */
int ipaddr_dec(const void *p, size_t len, struct ipaddr *out);
/* "10.0.0.0/8", "fd00::/8", one address, or "1.2.3.4/32". 0 or -1. */
int ipnet_parse(const char *s, size_t len, struct ipnet *);
int ipnet_contains(const struct ipnet *, const struct ipaddr *);
/* Whether any of the n blocks holds a. */
int ipnet_any(const struct ipnet *, size_t n, const struct ipaddr *);

/* key NULL or "": not configured. */
void apikey_init(struct apikey *, const char *key);
void apikey_clear(struct apikey *);
/*
 * 0 when given matches, 401 when not (also NULL), 503 when no key is
 * configured. Constant time in the content and length of both.
 */
int apikey_check(const struct apikey *, const char *given);
/* Characters (code points) in a UTF-8 string. */
size_t utf8_chars(const char *s, size_t len);

#endif
