/*
 * Attachments' links and JSON (attach.h). A visitor's link carries its
 * expiry and a signature of the attachment's id and that expiry, made
 * with the attachment's own key (HMAC-SHA256, cut to 128 bits): it works
 * in an <img> on the owner's site without cookies, for that one file,
 * until it expires. The dashboard's is a path its session opens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "attach.h"
#include "util.h"

int
att_sign(const char *key, const char *id, uint64_t exp, char *sig)
{
	uint8_t k[ST_ATT_KEY_HEX / 2], mac[EVP_MAX_MD_SIZE];
	char msg[ST_ATT_ID_LEN + 32];
	unsigned int maclen = 0;
	int n;

	if (proto_hex_decode(key, k, sizeof(k)) < 0)
		return -1;
	n = snprintf(msg, sizeof(msg), "%s.%llu", id, (unsigned long long)exp);
	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    HMAC(EVP_sha256(), k, sizeof(k), (const uint8_t *)msg, (size_t)n,
	    mac, &maclen) == NULL || maclen < ATT_SIG_HEX / 2) {
		OPENSSL_cleanse(k, sizeof(k));
		return -1;
	}
	OPENSSL_cleanse(k, sizeof(k));
	proto_hex_encode(mac, ATT_SIG_HEX / 2, sig);
	return 0;
}

int
att_link_ok(const char *key, const char *id, const char *exp,
    const char *sig, uint64_t now_ms)
{
	char want[ATT_SIG_HEX + 1];
	unsigned long long e;
	char *end;

	if (exp == NULL || sig == NULL || strlen(sig) != ATT_SIG_HEX ||
	    exp[0] < '0' || exp[0] > '9' || strlen(exp) > 20)
		return 0;
	e = strtoull(exp, &end, 10);
	if (*end != '\0' || e < now_ms || att_sign(key, id, e, want) < 0)
		return 0;
	return CRYPTO_memcmp(want, sig, ATT_SIG_HEX) == 0;
}

/* One attachment's JSON; NULL out of memory. */
static json_t *
att_one(const struct st_msg_att *a, const char *wid, const char *conv_id,
    uint64_t exp)
{
	char url[256], sig[ATT_SIG_HEX + 1], name[ST_ATT_NAME_MAX + 1];
	const char *mime = attach_mime(a->type);

	if (wid == NULL && conv_id == NULL)
		snprintf(url, sizeof(url), "/v1/admin/canned-replies/"
		    "attachments/%s", a->id);
	else if (wid == NULL)
		snprintf(url, sizeof(url), "/v1/admin/conversations/%s/"
		    "attachments/%s", conv_id, a->id);
	else if (att_sign(a->key, a->id, exp, sig) == 0)
		snprintf(url, sizeof(url), "%s%s/attachments/%s"
		    "?exp=%llu&sig=%s", wid[0] == '\0' ? "/v1/chat" :
		    "/api/widget/", wid, a->id, (unsigned long long)exp, sig);
	else
		url[0] = '\0';	/* an attachment without a key: no link */
	/* The name the download gets (serve.c's disposition). */
	attach_name_typed(a->name, a->type, name, sizeof(name));
	return json_pack("{s:s, s:s, s:s, s:I, s:s?}", "id", a->id, "name",
	    name, "type", mime != NULL ? mime : "application/octet-stream",
	    "size", (json_int_t)a->size, "url", url[0] != '\0' ? url : NULL);
}

json_t *
att_json(const struct st_msg_att *a, uint32_t n, const char *wid,
    const char *conv_id, uint64_t now_ms)
{
	json_t *arr, *one;
	uint32_t i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((one = att_one(&a[i], wid, conv_id,
		    now_ms + ATT_LINK_TTL_MS)) == NULL ||
		    json_array_append_new(arr, one) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

const char *
att_ids_json(const json_t *a, struct st_str ids[ST_MSG_ATTS_MAX],
    uint32_t *n)
{
	const json_t *v;
	size_t i;

	*n = 0;
	if (a == NULL || json_is_null(a))
		return NULL;
	if (!json_is_array(a) || json_array_size(a) > ST_MSG_ATTS_MAX)
		return "attachments: an array of at most 5 upload ids";
	for (i = 0; i < json_array_size(a); i++) {
		v = json_array_get(a, i);
		if (!json_is_string(v) ||
		    !st_prefixed_id_valid(json_string_value(v), "att_"))
			return "attachments: each an upload's id (att_...)";
		ids[(*n)++].s = json_string_value(v);
	}
	return NULL;
}

/*
 * Whether the character at p (k bytes of UTF-8) is one that changes how
 * the text around it is shown and not a letter: the bidi controls
 * (U+202E made "invoice\u202efdp.hta" read as "invoiceath.pdf"), the
 * zero-width ones, the word joiners, the byte order mark, the line and
 * paragraph separators; and the C1 controls (U+009B starts a terminal's
 * escape sequence in an export printed raw).
 */
static int
format_char(const unsigned char *p, size_t k)
{
	uint32_t cp;

	if (k != 2 && k != 3)
		return 0;
	cp = proto_utf8_cp(p, k);
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

void
att_name_clean(const char *in, char *out, size_t outsz)
{
	const char *base = in, *p;
	size_t n = 0, k;

	for (p = in; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (p = base; *p != '\0' && n + 1 < outsz; p += k) {
		unsigned char ch = (unsigned char)*p;

		/* A character whole: its UTF-8 length from its lead byte. */
		k = ch < 0x80 ? 1 : ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : 2;
		if (strnlen(p, k) < k || n + k + 1 > outsz)
			break;
		if (ch < 0x20 || ch == 0x7f || ch == '"' ||
		    format_char((const unsigned char *)p, k))
			continue;
		memcpy(out + n, p, k);
		n += k;
	}
	out[n] = '\0';
	if (n == 0 || !proto_utf8_valid(out, n))
		snprintf(out, outsz, "file");
}
