/*
 * Parsing and checking the settings by the table (settings.h,
 * settingtab.c), the lists' own parsers (CORS_ORIGIN, TRUST_PROXY), the
 * message that carries them to the workers, and the address and key
 * helpers the workers use with them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "log.h"
#include "proto.h"
#include "settings.h"
#include "sha256.h"

/* ---------------------------------------------------------------- keys */

size_t
utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

void
apikey_init(struct apikey *k, const char *key)
{
	apikey_clear(k);
	if (key == NULL || *key == '\0')
		return;
	proto_sha256(key, strlen(key), k->digest);
	k->set = 1;
}

void
apikey_clear(struct apikey *k)
{
	OPENSSL_cleanse(k->digest, sizeof(k->digest));
	k->set = 0;
}

/*
 * Both sides are hashed first, so the compare takes the same time
 * whatever the content or length of either key.
 */
int
apikey_check(const struct apikey *k, const char *given)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	int ok;

	if (!k->set)
		return 503;
	if (given == NULL)
		given = "";
	proto_sha256(given, strlen(given), d);
	ok = CRYPTO_memcmp(d, k->digest, sizeof(d)) == 0;
	OPENSSL_cleanse(d, sizeof(d));
	return ok ? 0 : 401;
}

/* ---------------------------------------------------------- addresses */

static void
ipaddr_unmap(struct ipaddr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (a->family == 6 && memcmp(a->a, mapped, 12) == 0) {
		memmove(a->a, a->a + 12, 4);
		memset(a->a + 4, 0, 12);
		a->family = 4;
	}
}

int
ipaddr_parse(const char *s, size_t len, struct ipaddr *out)
{
	char tmp[INET6_ADDRSTRLEN + 2];

	memset(out, 0, sizeof(*out));
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, out->a) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out->a) == 1) {
		out->family = 6;
		ipaddr_unmap(out);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}

/*
 * Dotted IPv4 into out as inet_ntop writes it (no zeros in front), or -1
 * when it does not fit: glibc's is a sprintf, some 1,700 instructions,
 * and every chat turn formats its client's address (its rate key).
 */
static int
ipv4_format(const uint8_t a[4], char *out, size_t outsz)
{
	char tmp[sizeof("255.255.255.255")], *p = tmp;
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0)
			*p++ = '.';
		if (a[i] >= 100)
			*p++ = (char)('0' + a[i] / 100);
		if (a[i] >= 10)
			*p++ = (char)('0' + a[i] / 10 % 10);
		*p++ = (char)('0' + a[i] % 10);
	}
	*p = '\0';
	return strlcpy(out, tmp, outsz) < outsz ? 0 : -1;
}

void
ipaddr_format(const struct ipaddr *a, char *out, size_t outsz)
{
	if (outsz == 0)
		return;
	if (a->family == 4) {
		if (ipv4_format(a->a, out, outsz) == 0)
			return;
	} else if (a->family == 6) {
		if (inet_ntop(AF_INET6, a->a, out, (socklen_t)outsz) != NULL)
			return;
	} else {
		snprintf(out, outsz, "local");
		return;
	}
	out[0] = '\0';
}

void
ipaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len,
    struct ipaddr *out)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(*s4)) {
		s4 = (const struct sockaddr_in *)sa;
		memcpy(out->a, &s4->sin_addr, 4);
		out->family = 4;
	} else if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(*s6)) {
		s6 = (const struct sockaddr_in6 *)sa;
		memcpy(out->a, s6->sin6_addr.s6_addr, 16);
		out->family = 6;
		ipaddr_unmap(out);
	}
}

void
ipaddr_enc(uint8_t out[IPADDR_WIRE_LEN], const struct ipaddr *a)
{
	out[0] = (uint8_t)a->family;
	memcpy(out + 1, a->a, 16);
}

int
ipaddr_dec(const void *p, size_t len, struct ipaddr *out)
{
	const uint8_t *b = p;

	memset(out, 0, sizeof(*out));
	if (len != IPADDR_WIRE_LEN || (b[0] != 0 && b[0] != 4 && b[0] != 6))
		return -1;
	/* Only the family's bytes: the rest stays zero, as parsed ones are. */
	out->family = b[0];
	memcpy(out->a, b + 1, b[0] == 4 ? 4 : b[0] == 6 ? 16 : 0);
	return 0;
}

static void
ipnet_mask(struct ipnet *n)
{
	unsigned int bits = n->addr.family == 4 ? 32 : 128, i;

	for (i = n->prefix; i < bits; i++)
		n->addr.a[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

int
ipnet_parse(const char *s, size_t len, struct ipnet *n)
{
	const char *slash = memchr(s, '/', len);
	unsigned int prefix = 0, max;
	size_t i, alen = slash != NULL ? (size_t)(slash - s) : len;
	int v6;

	memset(n, 0, sizeof(*n));
	if (alen >= 2 && s[0] == '[' && s[alen - 1] == ']')
		v6 = 1;
	else
		v6 = memchr(s, ':', alen) != NULL;
	if (ipaddr_parse(s, alen, &n->addr) < 0)
		return -1;
	max = v6 ? 128 : 32;
	if (slash != NULL) {
		if (len - alen < 2 || len - alen > 4)
			return -1;
		for (i = alen + 1; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			prefix = prefix * 10 + (unsigned int)(s[i] - '0');
		}
		if (prefix > max)
			return -1;
	} else
		prefix = max;
	if (v6 && n->addr.family == 4) {
		/* ::ffff:a.b.c.d/N is the IPv4 block of N - 96 bits. */
		if (prefix < 96) {
			/* Covers more than the mapped range: keep it IPv6. */
			struct ipaddr m;

			m = n->addr;
			memset(n->addr.a, 0, sizeof(n->addr.a));
			n->addr.a[10] = n->addr.a[11] = 0xff;
			memcpy(n->addr.a + 12, m.a, 4);
			n->addr.family = 6;
		} else
			prefix -= 96;
	}
	n->prefix = prefix;
	ipnet_mask(n);
	return 0;
}

int
ipnet_contains(const struct ipnet *n, const struct ipaddr *a)
{
	struct ipaddr m;
	unsigned int full, rest;

	if (a->family == 0)
		return 0;
	m = *a;
	if (n->addr.family == 6 && a->family == 4) {
		/* An IPv6 block may cover the v4-mapped range. */
		memset(m.a, 0, sizeof(m.a));
		m.a[10] = m.a[11] = 0xff;
		memcpy(m.a + 12, a->a, 4);
		m.family = 6;
	}
	if (n->addr.family != m.family)
		return 0;
	full = n->prefix / 8;
	rest = n->prefix % 8;
	if (memcmp(n->addr.a, m.a, full) != 0)
		return 0;
	if (rest != 0 && ((n->addr.a[full] ^ m.a[full]) &
	    (uint8_t)(0xff00u >> rest)) != 0)
		return 0;
	return 1;
}

int
ipnet_any(const struct ipnet *nets, size_t n, const struct ipaddr *a)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ipnet_contains(&nets[i], a))
			return 1;
	return 0;
}

/* ----------------------------------------------------------- parsing */

static int
unset(const char *s)
{
	return s == NULL || *s == '\0';
}

static int
fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

int
settings_production(settings_get_fn get, void *arg)
{
	const char *e = get("PARLEY_ENV", arg);

	if (unset(e))
		e = get("NODE_ENV", arg);
	return !unset(e) && strcmp(e, "production") == 0;
}

/* A whole number; -1 when s is not one within min..max. */
static int
number(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *p;
	uint64_t v = 0;

	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > max)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
settings_number(const char *name, const char *s, uint32_t def, uint32_t *out)
{
	const struct setting *r = settings_find(name);

	if (unset(s)) {
		*out = def;
		return 0;
	}
	if (r == NULL || r->type != SETTING_NUMBER)
		return -1;
	return number(s, r->min, r->max, out);
}

/* Index of v in "a|b|c", or -1. */
static int
choice(const char *choices, const char *v)
{
	const char *p = choices, *e;
	size_t len = strlen(v);
	int i;

	for (i = 0; ; i++) {
		e = strchr(p, '|');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == len && strncmp(p, v, len) == 0)
			return i;
		if (*e == '\0')
			return -1;
		p = e + 1;
	}
}

static int
parse_bool(const char *v)
{
	static const char *on[] = { "on", "true", "yes", "1" };
	static const char *off[] = { "off", "false", "no", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, on[i]) == 0)
			return 1;
		if (strcasecmp(v, off[i]) == 0)
			return 0;
	}
	return -1;
}

/*
 * A secret's sample: Open Chat Widget's .env.example (whose variables
 * Parley reads) has change-me-widget-key, change-me-admin-api-key and
 * change-me-admin-password, published, and a copied .env brings them.
 */
#define SAMPLE_PREFIX	"change-me"

static int
secret_is_sample(const char *v)
{
	return strncasecmp(v, SAMPLE_PREFIX, strlen(SAMPLE_PREFIX)) == 0;
}

/*
 * A key (min SETTINGS_KEY_MIN) shorter than that is taken outside
 * production, where Open Chat Widget's samples are 20 characters
 * (settings_warn says so), and refused in production; so is a sample of
 * any secret (secret_is_sample), whatever its length.
 */
static int
parse_secret(const struct setting *r, const char *v, int production,
    char **out, char *err, size_t errsz)
{
	size_t len = strlen(v), n = utf8_chars(v, len);

	if (len > r->max)
		return fail(err, errsz, "%s must be at most %u bytes; it has "
		    "%zu", r->name, r->max, len);
	if (n < r->min && r->min == SETTINGS_KEY_MIN && production)
		return fail(err, errsz, "%s must be at least %d characters "
		    "in production (generate one with: openssl rand -hex "
		    "32); it has %zu", r->name, SETTINGS_KEY_MIN, n);
	if (n < r->min && r->min != SETTINGS_KEY_MIN)
		return fail(err, errsz, "%s must be at least %u characters "
		    "(generate one with: openssl rand -base64 18); it has %zu",
		    r->name, r->min, n);
	if (secret_is_sample(v) && production)
		return fail(err, errsz, "%s is a sample (it begins \""
		    SAMPLE_PREFIX "\", as in Open Chat Widget's .env.example, "
		    "which is published): set your own in production "
		    "(generate one with: openssl rand -hex 32)", r->name);
	if (r->check != NULL && !r->check(v))
		return fail(err, errsz, "%s must be %s (its %zu characters "
		    "are not shown)", r->name, r->rule, n);
	/* A request's header value is trimmed: such a key never matches. */
	if (r->min == SETTINGS_KEY_MIN && len > 0 && (isspace((unsigned char)
	    v[0]) || isspace((unsigned char)v[len - 1])))
		return fail(err, errsz, "%s must not begin or end with white "
		    "space (its %zu characters are not shown)", r->name, n);
	if ((*out = strdup(v)) == NULL)
		return fail(err, errsz, "%s: out of memory", r->name);
	return 0;
}

/* Longest quote of a value in an error, and its NUL. */
#define QUOTED_MAX	81

/*
 * v as an error may quote it (into shown, QUOTED_MAX bytes): a URL's
 * password hidden (SMTP_URL, PARLEY_ETCD…), for errors reach the logs.
 */
static const char *
quoted(const char *v, char shown[QUOTED_MAX])
{
	proto_url_shown(v, shown, QUOTED_MAX);
	return shown;
}

/* A text's value v into *out, or fail with why. */
static int
parse_text(const struct setting *r, const char *v, char **out, char *err,
    size_t errsz)
{
	size_t len = strlen(v);
	char shown[QUOTED_MAX];

	if (len > r->max)
		return fail(err, errsz, "%s must be at most %u bytes, not %zu "
		    "(\"%.40s...\")", r->name, r->max, len,
		    quoted(v, shown));
	if (r->check != NULL && !r->check(v))
		return fail(err, errsz, "%s must be %s, not \"%.80s\"",
		    r->name, r->rule, quoted(v, shown));
	if ((*out = strdup(v)) == NULL)
		return fail(err, errsz, "%s: out of memory", r->name);
	return 0;
}

/* One row of the table: v (NULL: its default) into its field. */
static int
parse_row(struct settings *st, const struct setting *r, const char *v,
    char *err, size_t errsz)
{
	char *field = (char *)st + r->off;
	char shown[QUOTED_MAX];
	int i;

	if (unset(v))
		v = r->def;
	if (r->off == 0 || v == NULL)
		return 0;
	switch (r->type) {
	case SETTING_NUMBER:
		if (number(v, r->min, r->max, (uint32_t *)(void *)field) < 0)
			return fail(err, errsz, "%s must be a whole number "
			    "from %u to %u, not \"%.40s\"", r->name, r->min,
			    r->max, quoted(v, shown));
		return 0;
	case SETTING_TEXT:
		return parse_text(r, v, (char **)(void *)field, err, errsz);
	case SETTING_SECRET:
		return parse_secret(r, v, st->production,
		    (char **)(void *)field, err, errsz);
	case SETTING_CHOICE:
		if ((i = choice(r->choices, v)) < 0)
			return fail(err, errsz, "%s must be one of %s, not "
			    "\"%.40s\"", r->name, r->choices, quoted(v, shown));
		*(int *)(void *)field = i;
		return 0;
	case SETTING_BOOL:
		if ((i = parse_bool(v)) < 0)
			return fail(err, errsz, "%s must be on or off (or "
			    "true/false, yes/no, 1/0), not \"%.40s\"", r->name,
			    quoted(v, shown));
		*(int *)(void *)field = i;
		return 0;
	default:
		return 0;
	}
}

/* The next comma-separated entry of *sp, trimmed; 0 at the end. */
static int
next_entry(const char **sp, const char **start, size_t *len)
{
	const char *s = *sp, *e;

	if (*s == '\0')
		return 0;
	e = strchr(s, ',');
	if (e == NULL)
		e = s + strlen(s);
	*sp = *e == ',' ? e + 1 : e;
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*start = s;
	*len = (size_t)(e - s);
	return 1;
}

/* scheme://host[:port], as browsers send it in Origin (lower-cased). */
static int
origin_valid(const char *s, size_t len)
{
	size_t i = 0, h, port = 0, digits = 0;

	if (len == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '+' ||
	    s[i] == '-' || s[i] == '.'))
		i++;
	if (len - i < 4 || memcmp(s + i, "://", 3) != 0)
		return 0;
	i += 3;
	h = i;
	if (s[i] == '[') {
		for (i++; i < len && s[i] != ']'; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return 0;
		if (i == len || i - h < 3)
			return 0;
		i++;
	} else {
		while (i < len && (isalnum((unsigned char)s[i]) ||
		    s[i] == '-' || s[i] == '.' || s[i] == '_'))
			i++;
		if (i == h)
			return 0;
	}
	if (i == len)
		return 1;
	if (s[i] != ':')
		return 0;
	for (i++; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || ++digits > 5)
			return 0;
		port = port * 10 + (size_t)(s[i] - '0');
	}
	return digits > 0 && port >= 1 && port <= 65535;
}

/*
 * o (lower case) without its scheme's default port: a browser's Origin
 * never names it, so "https://a.com:443" would match no request.
 */
static void
origin_port_cut(char *o)
{
	size_t n = strlen(o);

	if (strncmp(o, "https://", 8) == 0 && n > 12 &&
	    strcmp(o + n - 4, ":443") == 0)
		o[n - 4] = '\0';
	else if (strncmp(o, "http://", 7) == 0 && n > 10 &&
	    strcmp(o + n - 3, ":80") == 0)
		o[n - 3] = '\0';
}

/* CORS_ORIGIN's entry e (len bytes) refused, quoted as quoted() does. */
static int
bad_origin(const char *e, size_t len, char *err, size_t errsz)
{
	char raw[QUOTED_MAX], shown[QUOTED_MAX];

	snprintf(raw, sizeof(raw), "%.*s", (int)(len < QUOTED_MAX - 1 ? len :
	    QUOTED_MAX - 1), e);
	return fail(err, errsz, "CORS_ORIGIN entry \"%s\" is not an origin: "
	    "use * or scheme://host[:port] with no path, e.g. "
	    "https://example.com", quoted(raw, shown));
}

static int
parse_cors(struct settings *st, const char *v, char *err, size_t errsz)
{
	const char *p, *e;
	char **np, *o;
	size_t len, i, n = 0;

	if (unset(v))
		v = "*";
	p = v;
	while (next_entry(&p, &e, &len)) {
		if (len == 0)
			continue;
		n++;
		if (len == 1 && e[0] == '*') {
			st->cors_any = 1;
			continue;
		}
		if (len > SETTINGS_ORIGIN_MAX || !origin_valid(e, len))
			return bad_origin(e, len, err, errsz);
		np = reallocarray(st->cors, st->ncors + 1, sizeof(*np));
		if (np == NULL || (o = strndup(e, len)) == NULL) {
			if (np != NULL)
				st->cors = np;
			return fail(err, errsz, "out of memory");
		}
		for (i = 0; i < len; i++)
			o[i] = (char)tolower((unsigned char)o[i]);
		origin_port_cut(o);
		st->cors = np;
		st->cors[st->ncors++] = o;
	}
	if (n == 0)
		return fail(err, errsz, "CORS_ORIGIN lists no origin (use * or "
		    "a comma-separated list of origins)");
	if (st->cors_any && st->production)
		return fail(err, errsz,
		    "Refusing to start with CORS_ORIGIN='*' in production.");
	return 0;
}

static int
add_net(struct settings *st, const char *s, char *err, size_t errsz)
{
	struct ipnet *np;

	np = reallocarray(st->trust, st->ntrust + 1, sizeof(*np));
	if (np == NULL)
		return fail(err, errsz, "out of memory");
	st->trust = np;
	if (ipnet_parse(s, strlen(s), &st->trust[st->ntrust]) < 0)
		return fail(err, errsz, "internal: bad preset %s", s);
	st->ntrust++;
	return 0;
}

static int
parse_trust(struct settings *st, const char *v, char *err, size_t errsz)
{
	static const struct {
		const char *name;
		const char *nets[4];
	} presets[] = {
		{ "loopback", { "127.0.0.0/8", "::1/128" } },
		{ "linklocal", { "169.254.0.0/16", "fe80::/10" } },
		{ "uniquelocal", { "10.0.0.0/8", "172.16.0.0/12",
		    "192.168.0.0/16", "fc00::/7" } },
	};
	struct ipnet *np;
	const char *p, *e;
	size_t len, i, j;

	if (unset(v))
		return 0;
	p = v;
	while (next_entry(&p, &e, &len)) {
		if (len == 0)
			continue;
		for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
			if (strlen(presets[i].name) == len &&
			    strncasecmp(presets[i].name, e, len) == 0)
				break;
		if (i < sizeof(presets) / sizeof(presets[0])) {
			for (j = 0; j < 4 && presets[i].nets[j] != NULL; j++)
				if (add_net(st, presets[i].nets[j], err,
				    errsz) < 0)
					return -1;
			continue;
		}
		np = reallocarray(st->trust, st->ntrust + 1, sizeof(*np));
		if (np == NULL)
			return fail(err, errsz, "out of memory");
		st->trust = np;
		if (ipnet_parse(e, len, &st->trust[st->ntrust]) < 0)
			return fail(err, errsz, "TRUST_PROXY entry \"%.*s\" is "
			    "not an IP address, a CIDR block (10.0.0.0/8) or "
			    "one of loopback, linklocal, uniquelocal",
			    (int)(len > 80 ? 80 : len), e);
		st->ntrust++;
	}
	return 0;
}

/* Both or neither; the files themselves are tls_ctx_new()'s business. */
static int
check_tls(const struct settings *st, char *err, size_t errsz)
{
	int hc = st->tls_cert != NULL, hk = st->tls_key != NULL;

	if (hc != hk)
		return fail(err, errsz, "TLS_CERT and TLS_KEY go together: %s "
		    "is set, %s is not", hc ? "TLS_CERT" : "TLS_KEY",
		    hc ? "TLS_KEY" : "TLS_CERT");
	return 0;
}

/*
 * PARLEY_STORAGED as a list, or the Unix socket in PARLEY_RUN_DIR when
 * it is unset (today's behaviour).
 */
static int
parse_storaged(struct settings *st, const char *v, char *err, size_t errsz)
{
	char def[STADDR_TEXT_MAX + 32], why[STADDR_ERR_MAX];
	size_t i;

	if (staddr_list_parse(unset(v) ? "" : v, st->storaged, STADDR_LIST_MAX,
	    &st->nstoraged, why, sizeof(why)) < 0)
		return fail(err, errsz, "PARLEY_STORAGED: %s", why);
	/* A relative socket path would be the process's working directory's. */
	for (i = 0; i < st->nstoraged; i++)
		if (st->storaged[i].kind != STADDR_TLS &&
		    st->storaged[i].path[0] != '/')
			return fail(err, errsz, "PARLEY_STORAGED: unix:%s: the "
			    "socket's path must be absolute (unix:/path)",
			    st->storaged[i].path);
	if (st->nstoraged > 0)
		return 0;
	snprintf(def, sizeof(def), "unix:%s/storaged.sock", st->run_dir);
	if (staddr_parse(def, strlen(def), &st->storaged[0], why,
	    sizeof(why)) < 0)
		return fail(err, errsz, "PARLEY_RUN_DIR: %s", why);
	st->nstoraged = 1;
	return 0;
}

/*
 * Any tls:// address, on either side, and etcd over https need the
 * cluster's three files.
 */
static int
check_cluster(const struct settings *st, unsigned int procs, char *err,
    size_t errsz)
{
	const char *need = NULL, *missing = NULL;

	if ((procs & (SETTINGS_P_MASTERD | SETTINGS_P_WORKERD |
	    SETTINGS_P_CTL)) && staddr_any_tls(st->storaged, st->nstoraged))
		need = "PARLEY_STORAGED names a tls:// address";
	else if ((procs & SETTINGS_P_STORAGED) && st->storaged_listen != NULL)
		need = "PARLEY_STORAGED_LISTEN is set";
	else if ((procs & SETTINGS_P_STORAGED) && st->primary != NULL &&
	    strncmp(st->primary, "tls://", 6) == 0)
		need = "PARLEY_PRIMARY is a tls:// address";
	else if ((procs & SETTINGS_P_STORAGED) && st->etcd != NULL &&
	    strncmp(st->etcd, "https://", 8) == 0)
		need = "PARLEY_ETCD is https://";
	if (need == NULL)
		return 0;
	if (st->cluster_ca == NULL)
		missing = "PARLEY_CLUSTER_CA";
	else if (st->cluster_cert == NULL)
		missing = "PARLEY_CLUSTER_CERT";
	else if (st->cluster_key == NULL)
		missing = "PARLEY_CLUSTER_KEY";
	if (missing == NULL)
		return 0;
	return fail(err, errsz, "%s: PARLEY_CLUSTER_CA, PARLEY_CLUSTER_CERT and "
	    "PARLEY_CLUSTER_KEY must be set (%s is not); "
	    "scripts/cluster-certs.sh makes them", need, missing);
}

/*
 * SMTP_URL wants SMTP_FROM; SMTP_USER and SMTP_PASSWORD go together (a
 * password masterd withheld from a child that sends no mail counts).
 */
static int
check_smtp(const struct settings *st, char *err, size_t errsz)
{
	int hu = st->smtp_user != NULL, hp = st->smtp_password != NULL ||
	    settings_withheld(st, "SMTP_PASSWORD");

	if (st->smtp_url != NULL && st->smtp_from == NULL)
		return fail(err, errsz, "SMTP_URL is set: SMTP_FROM (the "
		    "sender's email) must be too");
	if (hu != hp)
		return fail(err, errsz, "SMTP_USER and SMTP_PASSWORD go "
		    "together: %s is set, %s is not", hu ? "SMTP_USER" :
		    "SMTP_PASSWORD", hu ? "SMTP_PASSWORD" : "SMTP_USER");
	return 0;
}

/*
 * A standby follows a primary: PARLEY_PRIMARY names it. With auto, etcd
 * decides: PARLEY_ETCD to reach it, PARLEY_ADVERTISE to be named there.
 */
static int
check_repl(const struct settings *st, char *err, size_t errsz)
{
	int he = st->etcd != NULL, ha = st->advertise != NULL;

	if (st->role == SETTINGS_ROLE_STANDBY && st->primary == NULL)
		return fail(err, errsz, "PARLEY_ROLE is standby: PARLEY_PRIMARY "
		    "(the primary's unix:/path or tls://HOST:PORT) must be "
		    "set too");
	if (st->role == SETTINGS_ROLE_AUTO && (!he || !ha))
		return fail(err, errsz, "PARLEY_ROLE is auto: %s%s%s must be "
		    "set too", he ? "" : "PARLEY_ETCD (the etcd endpoints)",
		    !he && !ha ? " and " : "", ha ? "" :
		    "PARLEY_ADVERTISE (this storaged's address)");
	return 0;
}

/*
 * settings_parse_for, with the secrets masterd withheld (a bit each,
 * secret_bit) known: a child's settings (settings_msg_decode).
 */
static int
parse_for(struct settings *st, unsigned int procs, settings_get_fn get,
    void *arg, uint32_t withheld, char *err, size_t errsz)
{
	const struct setting *r;
	const char *v;
	size_t i;

	memset(st, 0, sizeof(*st));
	st->withheld = withheld;
	if (errsz > 0)
		err[0] = '\0';
	st->production = settings_production(get, arg);
	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		v = (r->procs & procs) ? get(r->name, arg) : NULL;
		/* The children's decoder refuses more (settings_msg_decode). */
		if (v != NULL && strlen(v) > SETTINGS_VALUE_MAX) {
			fail(err, errsz, "%s must be at most %d bytes",
			    r->name, SETTINGS_VALUE_MAX);
			goto fail;
		}
		if (parse_row(st, r, v, err, errsz) < 0)
			goto fail;
	}
	st->public_url_set = st->public_url != NULL;
	/*
	 * Open Chat Widget's .env.example names its own bundle, relative to
	 * its backend's folder: a copied one serves ours (settings_warn).
	 */
	if (st->bundle_path != NULL && st->bundle_path[0] != '/') {
		free(st->bundle_path);
		st->bundle_path = NULL;
		st->bundle_relative = 1;
	}
	if ((procs & (SETTINGS_P_MASTERD | SETTINGS_P_WORKERD)) &&
	    (parse_cors(st, get("CORS_ORIGIN", arg), err, errsz) < 0 ||
	    parse_trust(st, get("TRUST_PROXY", arg), err, errsz) < 0 ||
	    check_tls(st, err, errsz) < 0 || check_smtp(st, err, errsz) < 0))
		goto fail;
	if ((procs & SETTINGS_P_STORAGED) && check_repl(st, err, errsz) < 0)
		goto fail;
	if ((procs & (SETTINGS_P_MASTERD | SETTINGS_P_WORKERD |
	    SETTINGS_P_CTL)) && parse_storaged(st, get("PARLEY_STORAGED", arg),
	    err, errsz) < 0)
		goto fail;
	if (check_cluster(st, procs, err, errsz) < 0)
		goto fail;
	return 0;
fail:
	settings_free(st);
	return -1;
}

int
settings_parse_for(struct settings *st, unsigned int procs,
    settings_get_fn get, void *arg, char *err, size_t errsz)
{
	return parse_for(st, procs, get, arg, 0, err, errsz);
}

int
settings_parse(struct settings *st, settings_get_fn get, void *arg,
    char *err, size_t errsz)
{
	return settings_parse_for(st, SETTINGS_P_ALL, get, arg, err, errsz);
}

const char *
settings_env(const char *name, void *arg)
{
	return getenv(name);
}

void
settings_warn(const struct settings *st)
{
	const struct setting *r;
	const char *v;
	size_t i, n;

	if (st->bundle_relative)
		log_warnx("WIDGET_BUNDLE_PATH is relative (as in Open Chat "
		    "Widget's .env.example, which resolves it against its "
		    "backend's folder): ignored, the bundle Parley ships is "
		    "served; set an absolute path to serve another");
	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		if (r->type != SETTING_SECRET || r->off == 0)
			continue;
		v = *(char *const *)(const void *)((const char *)st + r->off);
		if (v == NULL)
			continue;
		if (secret_is_sample(v))
			log_warnx("%s is a sample (it begins \"" SAMPLE_PREFIX
			    "\", as in Open Chat Widget's .env.example, which "
			    "is published): taken outside production only (set "
			    "your own; generate one with: openssl rand -hex 32)",
			    r->name);
		if (r->min == SETTINGS_KEY_MIN && (n = utf8_chars(v,
		    strlen(v))) < SETTINGS_KEY_MIN)
			log_warnx("%s has %zu characters, fewer than %d: taken "
			    "outside production only (generate a longer one "
			    "with: openssl rand -hex 32)", r->name, n,
			    SETTINGS_KEY_MIN);
	}
}

void
settings_load(struct settings *st, unsigned int procs)
{
	char err[SETTINGS_ERR_MAX];

	if (settings_parse_for(st, procs, settings_env, NULL, err,
	    sizeof(err)) < 0)
		fatalx("%s", err);
	log_set_level((enum log_level)st->log_level);
	settings_warn(st);
}

static void
free_secret(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
	}
}

unsigned long
settings_test_hook(const char *name)
{
	const char *v;
	char *end;
	unsigned long n;

	if (strncmp(name, "PARLEY_TEST_", 12) != 0 ||
	    (v = getenv(name)) == NULL || *v < '0' || *v > '9')
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	return errno != 0 || *end != '\0' ? 0 : n;
}

const char *
settings_test_text(const char *name)
{
	const char *v;

	if (strncmp(name, "PARLEY_TEST_", 12) != 0 ||
	    (v = getenv(name)) == NULL || *v == '\0')
		return NULL;
	return v;
}

unsigned long
settings_test_lower(const char *name, unsigned long dflt)
{
	unsigned long n = settings_test_hook(name);

	return n > 0 && n < dflt ? n : dflt;
}

void
settings_free(struct settings *st)
{
	const struct setting *r;
	size_t i;

	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		if (r->off == 0)
			continue;
		if (r->type == SETTING_SECRET)
			free_secret((char **)(void *)((char *)st + r->off));
		else if (r->type == SETTING_TEXT)
			free(*(char **)(void *)((char *)st + r->off));
	}
	proto_strv_free(st->cors, st->ncors);
	free(st->trust);
	memset(st, 0, sizeof(*st));
}

void
settings_wipe(struct settings *st)
{
	const struct setting *r;
	char *v;
	size_t i;

	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		if (r->type != SETTING_SECRET || r->off == 0)
			continue;
		v = *(char **)(void *)((char *)st + r->off);
		if (v != NULL)
			explicit_bzero(v, strlen(v));
	}
}

/*
 * Secret row r's bit in struct settings' withheld: its place among the
 * table's secrets (test_settings checks there are at most 32).
 */
static uint32_t
secret_bit(const struct setting *r)
{
	const struct setting *t;
	unsigned n = 0;

	for (t = settings_table; t < r; t++)
		n += t->type == SETTING_SECRET;
	return n < 32 ? 1u << n : 0;
}

int
settings_withheld(const struct settings *st, const char *name)
{
	const struct setting *r = settings_find(name);

	return r != NULL && r->type == SETTING_SECRET &&
	    (st->withheld & secret_bit(r)) != 0;
}

/* ----------------------------------------------- PROTO_MW_SETTINGS */

#define MSG_NAME_MAX	64

int
settings_gives(const char *const *secrets, const char *name)
{
	size_t i;

	if (secrets == NULL)
		return 1;
	for (i = 0; secrets[i] != NULL; i++)
		if (strcmp(secrets[i], name) == 0)
			return 1;
	return 0;
}

/* Whether row r's value goes to a child given secrets (NULL: all). */
static int
msg_gives(const struct setting *r, const char *const *secrets)
{
	return r->type != SETTING_SECRET || settings_gives(secrets, r->name);
}

void
settings_msg_encode(struct penc *e, settings_get_fn get, void *arg,
    int public_url_set, const char *const *secrets)
{
	const struct setting *r;
	const char *v;
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		if ((r->procs & SETTINGS_P_WORKERD) && !unset(get(r->name, arg)))
			n++;
	}
	penc_u32(e, n);
	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		v = get(r->name, arg);
		if (!(r->procs & SETTINGS_P_WORKERD) || unset(v))
			continue;
		penc_str(e, r->name);
		penc_str(e, msg_gives(r, secrets) ? v : "");
	}
	penc_u8(e, public_url_set ? 1 : 0);
}

/* The decoded pairs, read by settings_parse_for() as its variables. */
struct msg_vars {
	const struct setting *row[96];
	char *value[96];
	size_t n;
	uint32_t withheld;	/* secrets sent empty (secret_bit) */
};

static const char *
msg_get(const char *name, void *arg)
{
	struct msg_vars *mv = arg;
	size_t i;

	for (i = 0; i < mv->n; i++)
		if (strcmp(mv->row[i]->name, name) == 0)
			return mv->value[i];
	return NULL;
}

static int
msg_pair(struct msg_vars *mv, struct pdec *d, char *err, size_t errsz)
{
	char name[MSG_NAME_MAX + 1];
	const struct setting *r;
	size_t i;

	pdec_strbuf(d, name, sizeof(name));
	if (d->err)
		return fail(err, errsz, "settings message: bad name");
	if ((r = settings_find(name)) == NULL ||
	    !(r->procs & SETTINGS_P_WORKERD))
		return fail(err, errsz, "settings message: %s is not a "
		    "worker's setting", name);
	for (i = 0; i < mv->n; i++)
		if (mv->row[i] == r)
			return fail(err, errsz, "settings message: %s twice",
			    name);
	mv->row[mv->n] = r;
	mv->value[mv->n] = pdec_strdup(d, SETTINGS_VALUE_MAX);
	if (mv->value[mv->n] == NULL)
		return fail(err, errsz, "settings message: bad value of %s",
		    name);
	if (r->type == SETTING_SECRET && mv->value[mv->n][0] == '\0')
		mv->withheld |= secret_bit(r);
	mv->n++;
	return 0;
}

int
settings_msg_decode(struct settings *st, const void *buf, size_t len,
    char *err, size_t errsz)
{
	struct msg_vars mv;
	struct pdec d;
	uint32_t n, i;
	uint8_t public_url_set;
	int rv = -1;

	memset(st, 0, sizeof(*st));
	memset(&mv, 0, sizeof(mv));
	pdec_init(&d, buf, len);
	n = pdec_u32(&d);
	if (d.err || n > settings_count ||
	    n > sizeof(mv.row) / sizeof(mv.row[0])) {
		fail(err, errsz, "settings message: bad count");
		goto done;
	}
	for (i = 0; i < n; i++)
		if (msg_pair(&mv, &d, err, errsz) < 0)
			goto done;
	public_url_set = pdec_u8(&d);
	if (d.err || public_url_set > 1) {
		fail(err, errsz, "settings message: bad public_url_set");
		goto done;
	}
	if (pdec_done(&d) < 0) {
		fail(err, errsz, "settings message: bytes after the last "
		    "setting");
		goto done;
	}
	rv = parse_for(st, SETTINGS_P_WORKERD, msg_get, &mv, mv.withheld,
	    err, errsz);
	if (rv == 0)
		st->public_url_set = public_url_set;
done:
	for (i = 0; i < mv.n; i++)
		free_secret(&mv.value[i]);
	return rv;
}
