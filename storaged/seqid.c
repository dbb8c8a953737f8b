/*
 * Numbers shown as ids, opaque. A webhook delivery's number and a
 * knowledge chunk's come from the install's one sequence of each
 * (outq_seq_next), which counts every organisation's: shown as they are,
 * one organisation's ids would tell it how many the others made between
 * two of its own. So an id shows its number as one AES-128 block (the
 * number, then the id's prefix as a tag) under the install's id key,
 * made once with the store, and reads back under the same key; an id of
 * another key or kind reads as no number (its tag does not match). A
 * record stored before with its number as its id (the prefix and the
 * number in 16 hex) is shown by its number's id too (outbox.c's dlv_load,
 * mailbox.c's mail_load): an id that spells a number is never read, or
 * one organisation could walk a list's cursor to the number behind each
 * of its ids.
 *
 *	meta             "seq_id_key" -> format, the key[16]
 */
#include <string.h>

#include <openssl/crypto.h>

#include "aesblock.h"
#include "storeint.h"

#define KEY_KEY		"seq_id_key"

static int
seqid_init(struct store_txn *t)
{
	return meta_secret_make(t, KEY_KEY, PROTO_AES_KEY_LEN, "id key");
}

const struct store_module seqid_module = {
	.name = "ids",
	.init = seqid_init,
};

/* The block of seq under prefix, one way (enc 1) or back: 0, or t failed. */
static int
seq_block(struct store_txn *t, const uint8_t in[PROTO_AES_BLOCK_LEN],
    uint8_t out[PROTO_AES_BLOCK_LEN], int enc)
{
	uint8_t key[PROTO_AES_KEY_LEN];
	int rc = 0;

	if (meta_secret_get(t, KEY_KEY, key, sizeof(key), "id key") != 0)
		return t->err;
	if (proto_aes_block(key, in, out, enc) < 0)
		rc = store_fail(t, PROTO_E_INTERNAL, "out of memory");
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* The plain block: seq, then the prefix's first 8 bytes (NUL padded). */
static void
plain_block(uint8_t b[PROTO_AES_BLOCK_LEN], const char *prefix, uint64_t seq)
{
	memset(b, 0, PROTO_AES_BLOCK_LEN);
	proto_put_be64(b, seq);
	memcpy(b + 8, prefix, strnlen(prefix, 8));
}

int
store_seq_show(struct store_txn *t, const char *prefix, uint64_t seq,
    char *out)
{
	uint8_t b[PROTO_AES_BLOCK_LEN];
	size_t n = strlen(prefix);

	plain_block(b, prefix, seq);
	if (t->err || seq_block(t, b, b, 1) != 0)
		return t->err;
	memcpy(out, prefix, n);
	proto_hex_encode(b, sizeof(b), out + n);
	return 0;
}

int
store_seq_read(struct store_txn *t, const char *prefix, const char *id,
    uint64_t *seq)
{
	uint8_t b[PROTO_AES_BLOCK_LEN], want[PROTO_AES_BLOCK_LEN];
	size_t n = strlen(prefix);

	if (t->err)
		return -1;
	/* proto_hex_decode takes exactly ST_ID_HEX digits, then the end. */
	if (strncmp(id, prefix, n) != 0 ||
	    proto_hex_decode(id + n, b, sizeof(b)) < 0)
		return 1;
	if (seq_block(t, b, b, 0) != 0)
		return -1;
	plain_block(want, prefix, proto_get_be64(b));
	if (memcmp(b + 8, want + 8, 8) != 0)
		return 1;
	*seq = proto_get_be64(b);
	return 0;
}
