/* Parley's version and every program's --version (version.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

#ifndef PARLEY_VERSION
#error "PARLEY_VERSION is set by the Makefile (debian/changelog)"
#endif

const char parley_version[] = PARLEY_VERSION;

void
version_arg(int argc, char *argv[], const char *name, unsigned int protocol,
    uint64_t layouts)
{
	int rv;

	if (argc != 2 || strcmp(argv[1], "--version") != 0)
		return;
	if (protocol == 0)
		rv = printf("%s %s\n", name, parley_version);
	else
		rv = printf("%s %s (protocol %u, messages %016llx)\n", name,
		    parley_version, protocol, (unsigned long long)layouts);
	if (rv < 0 || fflush(stdout) != 0)
		exit(1);
	exit(0);
}
