/*
 * Parley's version: one string, from debian/changelog's first line (the
 * Makefile passes it as PARLEY_VERSION when it compiles version.c), the
 * same in every program and in the Debian package.
 */
#ifndef PARLEY_VERSION_H
#define PARLEY_VERSION_H

#include <stdint.h>

extern const char parley_version[];

/*
 * When argv[1] is --version (alone): prints "NAME VERSION" on stdout,
 * then for a program of the protocol (protocol not 0) " (protocol P,
 * messages LAYOUTS)": its HELLO version and message table's fingerprint
 * (proto_layouts_id), which must be alike on every machine of an
 * install; and exits 0. Otherwise returns. Every program calls it first.
 */
void version_arg(int argc, char *argv[], const char *name,
    unsigned int protocol, uint64_t layouts);

#endif
