/*
 * The fetcher (fetcher.c), parley-fetch (main.c): the knowledge base's
 * crawls and the attachments' text, in a process of their own.
 */
#ifndef PARLEY_FETCH_FETCHER_H
#define PARLEY_FETCH_FETCHER_H

#include "settings.h"

/* Its comm, process title and log name. */
#define FETCHER_NAME		"parley-fetch"

/* The fetcher's loop, after masterd's settings: until told to quit. */
int fetcher_run(const struct settings *);

#endif
