/*
 * Numbers shown as ids, opaque. A webhook delivery's number and a
 * knowledge chunk's come from the install's one sequence of each
 * (outq_seq_next), which counts every organisation's: shown as they are,
 * one organisation's ids would tell it how many the others made between
 * two of its own. So an id shows its number as one AES-128 block (the
 * number, then the id's prefix as a tag) under the install's id key,
 * made once with the store, and reads back under the same key; an id of
 * another key or kind reads as no number (its tag does not match). An id
 * made before (the prefix and the number in 16 hex, st_seq_id) still
 * reads as its number: such ids stay stored in older records, and who
 * names a number finds only what is its own, as with any id.
 *
 *	meta             "seq_id_key" -> format, the key[16]
 */
#include <string.h>

#include <openssl/crypto.h>

#include "aesblock.h"
#include "hookmsg.h"
#include "log.h"
#include "random.h"
#include "storeint.h"

#define KEY_KEY		"seq_id_key"

static int
seqid_init(struct store_txn *t)
{
	uint8_t rec[1 + PROTO_AES_KEY_LEN];
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, KEY_KEY, strlen(KEY_KEY), &v,
	    "get id key")) <= 0)
		return rc;
	rec[0] = ST_RECORD_VERSION;
	proto_random(rec + 1, PROTO_AES_KEY_LEN);
	db_put(t, t->st->meta, KEY_KEY, strlen(KEY_KEY), rec, sizeof(rec),
	    "put id key");
	OPENSSL_cleanse(rec, sizeof(rec));
	log_info("made this install's id key");
	return t->err;
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
	MDB_val v;
	int rc;

	if ((rc = db_get(t, t->st->meta, KEY_KEY, strlen(KEY_KEY), &v,
	    "get id key")) < 0)
		return t->err;
	if (rc > 0 || v.mv_size != 1 + PROTO_AES_KEY_LEN ||
	    ((uint8_t *)v.mv_data)[0] != ST_RECORD_VERSION) {
		rec_corrupt(t, "id key");
		return t->err;
	}
	if (proto_aes_block((uint8_t *)v.mv_data + 1, in, out, enc) < 0)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	return 0;
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
	if (st_seq_parse(prefix, id, seq) == 0)
		return 0;	/* an id stored before: its number as it is */
	if (strlen(id) != n + ST_ID_HEX || strncmp(id, prefix, n) != 0 ||
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
