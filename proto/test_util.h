/*
 * Helpers shared by the cmocka unit tests of proto/ and the daemons
 * (every directory's tests are built with -Iproto). Include after
 * <cmocka.h>.
 */
#ifndef PARLEY_TEST_UTIL_H
#define PARLEY_TEST_UTIL_H

#include <dirent.h>

/* File descriptors this process has open: a test's leaks show here. */
static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

#endif
