/*
 * The fetcher (fetcher.c), parley-fetch (main.c): the knowledge base's
 * crawls and the attachments' text, in a process of their own.
 */
#ifndef PARLEY_FETCH_FETCHER_H
#define PARLEY_FETCH_FETCHER_H

#include "settings.h"

/* Its comm, process title and log name. */
#define FETCHER_NAME		"parley-fetch"

/*
 * What the fetcher reads now (what: "page", "sitemap", ...; name its
 * URL or id), named in the log if its CPU time bound runs out while it
 * is read; what NULL: nothing.
 */
void fetcher_reading(const char *what, const char *name);

/*
 * What a sync reads now as a record (crawl.c's, a line: crawl_recover
 * reads it), after fetcher_reading: should the CPU time bound run out
 * while it is read, it is left for the next fetcher, which stores the
 * page as failed. fetcher_reading clears it.
 */
void fetcher_reading_sync(const char *rec);

/* The fetcher's loop, after masterd's settings: until told to quit. */
int fetcher_run(const struct settings *);

#endif
