/*
 * A full map for the storaged tests that need one (test_wal, test_repl):
 * while full_map is set, this binary's mdb_put() of the log's seq in
 * meta (a checkpoint's first put) fails as in a full map, and the
 * checkpoint with it. Include once, in the test file itself.
 */
#ifndef PARLEY_TEST_FULLMAP_H
#define PARLEY_TEST_FULLMAP_H

#include <dlfcn.h>
#include <string.h>

#include <lmdb.h>

/* Set: every checkpoint fails for want of room (MDB_MAP_FULL). */
static int full_map;

int
mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data,
    unsigned int flags)
{
	static int (*real)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *,
	    unsigned int);

	if (full_map && key->mv_size == 7 &&
	    memcmp(key->mv_data, "wal_seq", 7) == 0)
		return MDB_MAP_FULL;
	if (real == NULL)
		real = (int (*)(MDB_txn *, MDB_dbi, MDB_val *, MDB_val *,
		    unsigned int))dlsym(RTLD_NEXT, "mdb_put");
	return real(txn, dbi, key, data, flags);
}

#endif
