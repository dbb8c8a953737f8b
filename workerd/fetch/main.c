/*
 * parley-fetch: the knowledge base's fetcher (fetcher.c), started by
 * parley-masterd with its channel on fd 3, one for the install. It shares
 * the workers' code (workerd/: the channel, storaged's client, libcurl's
 * loop) but is a program of its own for what it alone links: poppler
 * (pdf.c), whose forty-odd libraries a worker and the notifier loaded at
 * every start for nothing (docs/internals.md, "Worker life").
 */
#include "fetcher.h"
#include "log.h"
#include "msgtab.h"
#include "version.h"
#include "workerd.h"

int
main(int argc, char *argv[], char *envp[])
{
	version_arg(argc, argv, FETCHER_NAME, PROTO_VERSION,
	    proto_layouts_id());
	log_init(FETCHER_NAME);
	if (argc != 1)
		fatalx("usage: %s [--version] (started by parley-masterd: "
		    "parley(8))", FETCHER_NAME);
	master_start(FETCHER_NAME, argc, argv, envp);
	return fetcher_run(&wsettings);
}
