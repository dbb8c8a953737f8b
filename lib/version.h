/*
 * Parley's version: one string, from debian/changelog's first line (the
 * Makefile passes it as PARLEY_VERSION when it compiles version.c), the
 * same in every program and in the Debian package.
 */
#ifndef PARLEY_VERSION_H
#define PARLEY_VERSION_H

extern const char parley_version[];

/*
 * When argv[1] is --version (alone): prints "NAME VERSION" on stdout and
 * exits 0. Otherwise returns. Every program calls it first.
 */
void version_arg(int argc, char *argv[], const char *name);

#endif
