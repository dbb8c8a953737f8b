/*
 * An upload's last piece, before it is kept (attach.h): with
 * PARLEY_ATTACH_STRIP, a JPEG's, PNG's or WebP's metadata taken out
 * (strip.c: where a photo was taken, its camera, its comments); with
 * PARLEY_CLAMD, the file scanned by ClamAV's daemon. The earlier pieces
 * are read back from storaged one at a time (ST_ATT_READ, uploading mode).
 * First the upload's record alone (the read of the last piece's own index,
 * which holds no piece yet: storaged says where the upload stands): a
 * last piece not where the upload stands, or not at its end (a
 * Content-Range SIZE not the upload's), goes to storaged as it came, to
 * be refused (409, 400) and the upload left as it was, before a piece is
 * read back or clamd connected to; a client's false SIZE made the worker
 * read and scan a whole file for each byte it sent.
 *
 * Stripping needs the image whole: it is put together in the worker (at
 * most ASSEMBLE_MAX bytes held for images at once in a worker, each
 * image counted twice: the file and its stripped copy, then that copy
 * and clamd's stream of it; past it, 503 and try again), stripped,
 * scanned, and, when stripping changed it, stored again from its first
 * piece (ST_ATT_PUT reset) in its new size.
 * Without stripping the pieces go to clamd as they are read, the worker
 * holding one at a time (the next asked once clamd has taken all but
 * SCAN_QUEUE_MAX of them).
 *
 * Verdicts: clean, the file is kept marked clean. A signature found:
 * refused (422), the upload deleted, the refusal logged with the
 * signature's name. No verdict (clamd away, silent, over its
 * StreamMaxLength): as PARLEY_CLAMD_UNAVAILABLE says, refused (503) or
 * kept marked as not scanned. Too many scans at once (CLAMD_SCANS_MAX
 * connected and CLAMD_WAITING_MAX waiting, or a wait for a connection
 * past SCAN_TIMEOUT_MS): refused (503) whatever it says, never kept
 * unscanned. A broken image: refused (415).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "attach.h"
#include "clamd.h"
#include "log.h"
#include "sha256.h"
#include "strip.h"
#include "workerd.h"

#define SCAN_TIMEOUT_MS		10000	/* each wait on clamd */
#define SCAN_QUEUE_MAX		(2 * ST_ATT_PIECE)
#define SCAN_POLL_MS		5	/* clamd still taking the queue */
#define ASSEMBLE_MAX		(64u << 20)	/* held for images at once */

static size_t assembled;	/* bytes held for images now */

struct scan_job {
	struct conn *c;
	struct st_att_put_req q;	/* the last piece; its bytes the request's */
	/* q's strings, the route's: its match is gone once the handler returns */
	char id[ST_ATT_ID_LEN + 1];
	char wid[ST_WID_ARG_MAX + 1];
	char conv[ST_ID_HEX + 1];
	char rate[ST_RATE_KEY_MAX + 1];
	char origin[ST_ORIGIN_MAX + 1];
	uint32_t piece, before;		/* read up to piece, of before */
	int checked;			/* the upload's record fits q */
	struct clamd_addr addr;		/* clamd's, when scanning */
	struct clamd_scan *scan;	/* NULL: no scanning (yet) */
	struct storec_req *sreq;
	struct loop_timer wait;
	att_scan_fn fn;
	int finished;			/* the last piece fed or put together */
	int strip;			/* the file is an image to strip */
	uint8_t *file;			/* put together (strip), flen bytes */
	size_t flen, charged;
	uint8_t *out;			/* stripped, outlen bytes */
	size_t outlen, woff;		/* written back up to woff */
	int changed;			/* stripping changed the file */
	/* the pieces read back (or stored again) so far, st_att_chain'd */
	uint8_t chain[ST_ATT_HASH_LEN];
};

static void scan_next(struct scan_job *);
static void stored_ok(struct scan_job *);

/* Frees what j holds but itself; lets go of the worker's budget. */
static void
job_clear(struct scan_job *j)
{
	storec_cancel(j->sreq);
	j->sreq = NULL;
	loop_timer_stop(&j->wait);
	if (j->scan != NULL)
		clamd_scan_cancel(j->scan);
	j->scan = NULL;
	assembled -= j->charged;
	j->charged = 0;
	free(j->file);
	free(j->out);
	j->file = j->out = NULL;
}

/*
 * q, the last piece, names the pieces before it as this job read or
 * wrote them: storaged keeps it only on those (attmsg.h, prior).
 */
static void
job_prior(const struct scan_job *j, struct st_att_put_req *q)
{
	memcpy(q->prior, j->chain, sizeof(q->prior));
	q->prior_len = sizeof(q->prior);
}

/* Ends the job: fn told with q (c its handler's again), then freed. */
static void
job_end_with(struct scan_job *j, struct st_att_put_req *q, int status,
    const char *msg)
{
	struct conn *c = j->c;
	att_scan_fn fn = j->fn;

	storec_cancel(j->sreq);
	j->sreq = NULL;
	if (c->hctx == j) {
		c->hctx = NULL;
		c->abort = NULL;
	}
	/* q may point into j's buffers: fn sends it before they go. */
	fn(c, q, status, msg);
	job_clear(j);
	free(j);
}

static void
job_end(struct scan_job *j, int status, const char *msg)
{
	struct st_att_put_req q = j->q;

	job_end_with(j, &q, status, msg);
}

/* The client left: the work dropped, nothing more stored. */
static void
job_abort(struct conn *c)
{
	struct scan_job *j = c->hctx;

	if (j == NULL)
		return;
	job_clear(j);
	free(j);
}

/* ---------------------------------------------------------- the store */

/* The stripped file's pieces stored again, from the first. */
static void
rewrite_next(struct scan_job *j);

static void
rewritten(const struct storec_result *r, void *arg)
{
	struct scan_job *j = arg;
	struct st_att_put_rep rep;
	uint16_t type = j->q.token_len > 0 ? PROTO_ST_ATT_PUT :
	    PROTO_ST_ATT_ADMIN_PUT;

	j->sreq = NULL;
	if (r->status != STOREC_OK || storec_decode(r, type, &rep) < 0) {
		job_end(j, 503, "Storage unavailable");
		return;
	}
	if (rep.result != ST_ATT_OK) {
		st_rep_free(type, &rep);
		job_end(j, rep.result == ST_ATT_FULL ? 507 : 404,
		    rep.result == ST_ATT_FULL ? "storage full: this site's "
		    "attachments have reached their quota" : "no such upload");
		return;
	}
	st_rep_free(type, &rep);
	j->woff += ST_ATT_PIECE;
	rewrite_next(j);
}

static void
rewrite_next(struct scan_job *j)
{
	struct st_att_put_req q = j->q;
	uint16_t type = q.token_len > 0 ? PROTO_ST_ATT_PUT :
	    PROTO_ST_ATT_ADMIN_PUT;
	size_t n = j->outlen - j->woff;

	q.offset = (uint32_t)j->woff;
	q.reset = j->woff == 0;
	q.size = (uint32_t)j->outlen;
	q.data.p = j->out + j->woff;
	q.data.len = (uint32_t)(n < ST_ATT_PIECE ? n : ST_ATT_PIECE);
	proto_sha256(q.data.p, q.data.len, q.hash);
	/* The last piece is the caller's to send, as an unstripped one is. */
	if (j->woff + q.data.len >= j->outlen) {
		job_prior(j, &q);
		job_end_with(j, &q, 0, NULL);
		return;
	}
	st_att_chain(j->chain, q.hash);
	if (storec_ask(type == PROTO_ST_ATT_PUT ? NULL : &j->c->who, type, &q,
	    rewritten, j, &j->sreq) < 0)
		job_end(j, 503, "Storage unavailable");
}

/* The verdict is clean (or not needed): the file stored as it now is. */
static void
stored_ok(struct scan_job *j)
{
	if (j->out != NULL && j->changed) {
		j->woff = 0;
		memset(j->chain, 0, sizeof(j->chain));
		rewrite_next(j);
	} else {
		job_prior(j, &j->q);
		job_end(j, 0, NULL);
	}
}

/* ------------------------------------------------------------- the scan */

static void
verdict(void *arg, const struct clamd_verdict *v)
{
	struct scan_job *j = arg;
	char msg[CLAMD_NAME_MAX + 64];

	j->scan = NULL;		/* freed once this returns */
	switch (v->result) {
	case CLAMD_CLEAN:
		j->q.scan = ST_ATT_CLEAN;
		if (j->finished)
			stored_ok(j);
		else
			job_end(j, 503, "file: the virus scanner answered "
			    "before the end");
		return;
	case CLAMD_INFECTED:
		log_warnx("attachments: upload %s refused: clamd found %s",
		    j->q.id, v->name);
		snprintf(msg, sizeof(msg), "file: refused by the virus scanner "
		    "(%s)", v->name);
		job_end(j, 422, msg);
		return;
	case CLAMD_BUSY:
		/* Never kept unscanned: a flood must not get files past. */
		log_warnx("attachments: upload %s refused: %s", j->q.id,
		    v->why);
		job_end(j, 503, "file: too many uploads are being scanned; "
		    "try again in a moment");
		return;
	default:
		break;
	}
	log_warnx("attachments: upload %s not scanned: %s", j->q.id, v->why);
	if (wsettings.clamd_unavailable == SETTINGS_CLAMD_ACCEPT) {
		j->q.scan = ST_ATT_NOT_SCANNED;
		/*
		 * Still reading back: that goes on, without a scan, by the
		 * read in flight or the wait for clamd's queue, else from
		 * here (a piece whose feed failed asked for no next).
		 */
		if (j->finished)
			stored_ok(j);
		else if (j->sreq == NULL && !loop_timer_armed(&j->wait))
			scan_next(j);
	} else
		job_end(j, 503, "file: the virus scanner could not be reached; "
		    "try again later");
}

/* ------------------------------------------------------- reading back */

/*
 * The image (its first bytes, of type t) put together from here: room
 * for the whole file, charged to the worker's budget twice (the file
 * and its stripped copy, both held while it is stripped). 0, or -1
 * ended.
 */
static int
assemble_start(struct scan_job *j)
{
	size_t n = (size_t)j->q.offset + j->q.data.len;

	if (assembled + 2 * n > ASSEMBLE_MAX) {
		job_end(j, 503, "Too many uploads at once, please try again");
		return -1;
	}
	if ((j->file = malloc(n)) == NULL) {
		job_end(j, 500, "Internal server error");
		return -1;
	}
	j->flen = n;
	j->charged = 2 * n;
	assembled += 2 * n;
	return 0;
}

/* The file whole: stripped, then scanned or stored. */
static void
assembled_all(struct scan_job *j)
{
	int rc;

	memcpy(j->file + j->q.offset, j->q.data.p, j->q.data.len);
	if ((j->out = malloc(j->flen)) == NULL) {
		job_end(j, 500, "Internal server error");
		return;
	}
	rc = attach_strip((enum attach_type)j->q.type, j->file, j->flen,
	    j->out, &j->outlen);
	if (rc < 0) {
		job_end(j, 415, "file: a broken image");
		return;
	}
	/*
	 * The file itself is no longer needed. Its charge stays for a
	 * scan: clamd_scan_feed copies the stripped file into its stream.
	 */
	j->changed = j->outlen != j->flen ||
	    memcmp(j->out, j->file, j->flen) != 0;
	free(j->file);
	j->file = NULL;
	if (j->scan == NULL) {
		assembled -= j->flen;
		j->charged -= j->flen;
		stored_ok(j);
		return;
	}
	if (clamd_scan_feed(j->scan, j->out, j->outlen) == 0)
		clamd_scan_finish(j->scan);
}

/*
 * Whether the last piece fits upload att as storaged says it stands:
 * where it is (received) and where it ends (the upload's size, which the
 * Content-Range's SIZE must be too).
 */
static int
fits(const struct scan_job *j, const struct st_att *att)
{
	return att->received == j->q.offset && j->q.size == att->size &&
	    (uint64_t)j->q.offset + j->q.data.len == att->size;
}

/* The record fits the last piece: the scan begins, then the reads. */
static void
checked(struct scan_job *j)
{
	j->checked = 1;
	if (wsettings.clamd != NULL && (j->scan = clamd_scan_start(&j->addr,
	    SCAN_TIMEOUT_MS, verdict, j)) == NULL) {
		job_end(j, 500, "Internal server error");
		return;
	}
	scan_next(j);
}

/* A piece read back that is none (result, len): logged, 404. */
static void
unread(struct scan_job *j, uint8_t result, uint32_t len)
{
	log_warnx("attachments: upload %s: piece %u read back: result %u, "
	    "%u bytes", j->q.id, j->piece, result, len);
	job_end(j, 404, "no such upload");
}

static void
piece_back(const struct storec_result *r, void *arg)
{
	struct scan_job *j = arg;
	struct st_att_read_rep rep;
	uint8_t hash[ST_ATT_HASH_LEN];
	int fed = 1;

	j->sreq = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_READ, &rep) < 0) {
		job_end(j, 503, "Storage unavailable");
		return;
	}
	/*
	 * No upload in progress (a read sees no other): one whole already,
	 * its last piece sent again after an answer lost, or none at all.
	 * Or the last piece not where the upload stands, or not its end (a
	 * false SIZE: told before a piece is read back or clamd connected
	 * to). storaged, asked to store it, says why (409 with received,
	 * 404, 400) and stores nothing, even when the piece before lands
	 * meanwhile (the chain names fewer pieces); nothing dropped.
	 */
	if ((rep.result != ST_ATT_OK && rep.result != ST_ATT_ORDER) ||
	    !fits(j, &rep.att)) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		job_prior(j, &j->q);
		job_end(j, 0, NULL);
		return;
	}
	if (!j->checked) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		checked(j);
		return;
	}
	/*
	 * The record's hash of the piece is that of the bytes storaged
	 * served (kept by it): chained as read, not computed again.
	 */
	if (rep.result != ST_ATT_OK || rep.data.len != ST_ATT_PIECE ||
	    j->piece >= rep.att.npieces || proto_hex_decode(
	    rep.att.pieces[j->piece], hash, sizeof(hash)) != 0) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		unread(j, rep.result, rep.data.len);
		return;
	}
	st_att_chain(j->chain, hash);
	/* The record says what the file is (its first piece's bytes did). */
	if (j->piece == 0) {
		j->q.type = rep.att.type;
		j->strip = wsettings.attach_strip && attach_strips(j->q.type);
	}
	if (j->strip && j->file == NULL && assemble_start(j) < 0) {
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		return;
	}
	if (j->strip)
		memcpy(j->file + (size_t)j->piece * ST_ATT_PIECE, rep.data.p,
		    rep.data.len);
	else if (j->scan != NULL)
		fed = clamd_scan_feed(j->scan, rep.data.p, rep.data.len) == 0;
	st_rep_free(PROTO_ST_ATT_READ, &rep);
	j->piece++;
	/* Neither an image to strip nor a scan: nothing more to read. */
	if (!j->strip && j->scan == NULL) {
		job_end(j, 0, NULL);
		return;
	}
	/* A feed failed: the verdict, coming, goes on or ends the job. */
	if (fed)
		scan_next(j);
}

static void
waited(void *arg)
{
	scan_next(arg);
}

/*
 * The upload's record first (the last piece's index: none there yet),
 * then the next earlier piece asked for, or the last one's turn.
 */
static void
scan_next(struct scan_job *j)
{
	struct st_att_read_req q = { j->q.id, j->checked ? j->piece :
	    j->before, ST_ATT_READ_UPLOADING, NULL };

	if (j->finished)
		return;
	if (j->scan != NULL && !j->strip &&
	    clamd_scan_queued(j->scan) > SCAN_QUEUE_MAX) {
		loop_timer_after(&j->wait, SCAN_POLL_MS);
		return;
	}
	if (!j->checked || j->piece < j->before) {
		if (storec_ask(NULL, PROTO_ST_ATT_READ, &q, piece_back, j,
		    &j->sreq) < 0)
			job_end(j, 503, "Storage unavailable");
		return;
	}
	j->finished = 1;
	if (j->strip) {
		assembled_all(j);
		return;
	}
	if (j->scan == NULL)
		stored_ok(j);
	else if (clamd_scan_feed(j->scan, j->q.data.p, j->q.data.len) == 0)
		clamd_scan_finish(j->scan);
}

int
att_scan(struct conn *c, const struct st_att_put_req *q, att_scan_fn fn)
{
	struct scan_job *j;
	const char *why;
	int scan = wsettings.clamd != NULL;

	if ((!scan && !wsettings.attach_strip) || q->drop)
		return 0;
	/* A file of one piece that is no image to strip: only the scan. */
	if (!scan && q->offset == 0 && !attach_strips(q->type))
		return 0;
	if ((j = calloc(1, sizeof(*j))) == NULL || (scan &&
	    clamd_addr_parse(wsettings.clamd, &j->addr, &why) < 0)) {
		free(j);
		fn(c, (struct st_att_put_req *)(uintptr_t)q, 500,
		    "Internal server error");
		return 1;
	}
	j->c = c;
	j->q = *q;
	strlcpy(j->id, q->id, sizeof(j->id));
	strlcpy(j->wid, q->widget_id, sizeof(j->wid));
	j->q.id = j->id;
	j->q.widget_id = j->wid;
	strlcpy(j->conv, q->conv_id != NULL ? q->conv_id : "",
	    sizeof(j->conv));
	j->q.conv_id = j->conv;
	strlcpy(j->rate, q->rate_key != NULL ? q->rate_key : "",
	    sizeof(j->rate));
	j->q.rate_key = j->rate;
	strlcpy(j->origin, q->origin != NULL ? q->origin : "",
	    sizeof(j->origin));
	j->q.origin = j->origin;
	j->fn = fn;
	j->before = q->offset / ST_ATT_PIECE;
	loop_timer_init(&j->wait, waited, j);
	/* A file of one piece: its type is the one just sniffed. */
	if (q->offset == 0) {
		j->strip = wsettings.attach_strip && attach_strips(q->type);
		if (j->strip && assemble_start(j) < 0)
			return 1;
	}
	c->hctx = j;
	c->abort = job_abort;
	scan_next(j);
	return 1;
}
