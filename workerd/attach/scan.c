/*
 * An upload scanned before its last piece is kept (attach.h), when
 * PARLEY_CLAMD names a ClamAV daemon: its earlier pieces read back from
 * storaged one at a time (ST_ATT_READ, uploading) and fed to clamd, the
 * last from the request itself, then clamd's verdict. Clean: the piece
 * is stored marked clean. A signature found: refused (422), the upload
 * deleted, the refusal logged with the signature's name. No verdict
 * (clamd away, silent, over its StreamMaxLength): as
 * PARLEY_CLAMD_UNAVAILABLE says, refused (503) or kept marked as not
 * scanned. The worker holds a piece at a time: it asks for the next only
 * once clamd has taken all but SCAN_QUEUE_MAX of what it was fed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "clamd.h"
#include "log.h"
#include "workerd.h"

#define SCAN_TIMEOUT_MS		10000	/* each wait on clamd */
#define SCAN_QUEUE_MAX		(2 * ST_ATT_PIECE)
#define SCAN_POLL_MS		5	/* clamd still taking the queue */

struct scan_job {
	struct conn *c;
	struct st_att_put_req q;	/* the last piece; its bytes the request's */
	uint32_t piece, before;		/* read up to piece, of before */
	struct clamd_scan *scan;
	struct storec_req *sreq;
	struct loop_timer wait;
	att_scan_fn fn;
	int finished;			/* the last piece fed */
};

static void scan_next(struct scan_job *);

/* Ends the job: fn told (before the job is freed, c its handler's again). */
static void
job_end(struct scan_job *j, int status, const char *msg)
{
	struct conn *c = j->c;
	struct st_att_put_req q = j->q;
	att_scan_fn fn = j->fn;

	storec_cancel(j->sreq);
	loop_timer_stop(&j->wait);
	if (j->scan != NULL)
		clamd_scan_cancel(j->scan);
	if (c->hctx == j) {
		c->hctx = NULL;
		c->abort = NULL;
	}
	free(j);
	fn(c, &q, status, msg);
}

/* The client left: the scan dropped, nothing stored. */
static void
job_abort(struct conn *c)
{
	struct scan_job *j = c->hctx;

	if (j == NULL)
		return;
	storec_cancel(j->sreq);
	loop_timer_stop(&j->wait);
	if (j->scan != NULL)
		clamd_scan_cancel(j->scan);
	free(j);
}

static void
verdict(void *arg, const struct clamd_verdict *v)
{
	struct scan_job *j = arg;
	char msg[CLAMD_NAME_MAX + 64];

	j->scan = NULL;		/* freed once this returns */
	switch (v->result) {
	case CLAMD_CLEAN:
		j->q.scan = ST_ATT_CLEAN;
		job_end(j, 0, NULL);
		return;
	case CLAMD_INFECTED:
		log_warnx("attachments: upload %s refused: clamd found %s",
		    j->q.id, v->name);
		snprintf(msg, sizeof(msg), "file: refused by the virus scanner "
		    "(%s)", v->name);
		job_end(j, 422, msg);
		return;
	default:
		break;
	}
	log_warnx("attachments: upload %s not scanned: %s", j->q.id, v->why);
	if (wsettings.clamd_unavailable == SETTINGS_CLAMD_ACCEPT) {
		j->q.scan = ST_ATT_NOT_SCANNED;
		job_end(j, 0, NULL);
	} else
		job_end(j, 503, "file: the virus scanner could not be reached; "
		    "try again later");
}

static void
piece_back(const struct storec_result *r, void *arg)
{
	struct scan_job *j = arg;
	struct st_att_read_rep rep;

	j->sreq = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_READ, &rep) < 0) {
		job_end(j, 503, "Storage unavailable");
		return;
	}
	if (rep.result != ST_ATT_OK) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		job_end(j, 404, "no such upload");
		return;
	}
	/* -1: the verdict is known already (its callback is coming). */
	if (clamd_scan_feed(j->scan, rep.data.p, rep.data.len) == 0) {
		j->piece++;
		scan_next(j);
	}
	st_rep_free(PROTO_ST_ATT_READ, &rep);
}

static void
waited(void *arg)
{
	scan_next(arg);
}

/* The next earlier piece asked for, or the last fed and the scan ended. */
static void
scan_next(struct scan_job *j)
{
	struct st_att_read_req q = { j->q.id, j->piece, 1 };

	if (j->finished)
		return;
	if (clamd_scan_queued(j->scan) > SCAN_QUEUE_MAX) {
		loop_timer_after(&j->wait, SCAN_POLL_MS);
		return;
	}
	if (j->piece < j->before) {
		if (storec_ask(NULL, PROTO_ST_ATT_READ, &q, piece_back, j,
		    &j->sreq) < 0)
			job_end(j, 503, "Storage unavailable");
		return;
	}
	j->finished = 1;
	if (clamd_scan_feed(j->scan, j->q.data.p, j->q.data.len) == 0)
		clamd_scan_finish(j->scan);
}

int
att_scan(struct conn *c, const struct st_att_put_req *q, att_scan_fn fn)
{
	struct clamd_addr addr;
	struct scan_job *j;
	const char *why;

	if (wsettings.clamd == NULL || q->drop)
		return 0;
	if (clamd_addr_parse(wsettings.clamd, &addr, &why) < 0 ||
	    (j = calloc(1, sizeof(*j))) == NULL) {
		fn(c, (struct st_att_put_req *)(uintptr_t)q, 500,
		    "Internal server error");
		return 1;
	}
	j->c = c;
	j->q = *q;
	j->fn = fn;
	j->before = q->offset / ST_ATT_PIECE;
	loop_timer_init(&j->wait, waited, j);
	if ((j->scan = clamd_scan_start(&addr, SCAN_TIMEOUT_MS, verdict,
	    j)) == NULL) {
		free(j);
		fn(c, (struct st_att_put_req *)(uintptr_t)q, 500,
		    "Internal server error");
		return 1;
	}
	c->hctx = j;
	c->abort = job_abort;
	scan_next(j);
	return 1;
}
