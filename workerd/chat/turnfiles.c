/*
 * What a turn's model is told of the conversation's files (turnfiles.h).
 * Every message with attachments gets a line naming them after its text,
 * so a model that sees no image still knows a file came. The visitor's
 * text files of the last TF_RECENT messages (at most TF_TEXTS, newest
 * first) follow their message, their first TF_TEXT_MAX bytes (UTF-8
 * checked whole when uploaded: copied, not parsed). An agent with vision
 * also gets the pictures themselves, newest first: the visitor's images
 * of the last TF_RECENT messages, at most TF_IMAGES of them and TF_BYTES
 * in all (each at most TF_IMAGE_MAX). All are read from storaged a piece
 * at a time, one request in flight; a file that cannot be read is left
 * out (logged), never the turn. A PDF's text is the fetcher's to read
 * (workerd/fetch/attextract.c: the untrusted bytes parsed there); what it
 * has read by the turn (at most TF_TEXTS PDFs) follows its message.
 *
 * The images the turns of a worker hold at once are bounded together
 * (PARLEY_VISION_MEMORY_MB): each is charged from its pick to its turn's
 * end, with its base64 copy in the model request (upstream.c, one body
 * at a time per turn). An image past the bound is left out of its turn,
 * logged, and the model told so after its message's files line: the turn
 * goes on, neither refused nor held (the images of the last TF_RECENT
 * messages go with every later turn: a refusal would refuse a "thanks").
 * So is an image the model's server refused (an HTTP 400 such as OpenAI's
 * invalid_image: bytes it cannot decode, though their first bytes and
 * container looked right here; 413, too large): turn.c asks again without
 * the images (turn_files_drop_images), each one named as not shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "turnfiles.h"
#include "workerd.h"

#define TF_RECENT	10			/* messages looked back at */
#define TF_IMAGES	4			/* images shown, at most */
#define TF_IMAGE_MAX	(5u << 20)		/* bytes of one */
#define TF_BYTES	(20u << 20)		/* of them all */
#define TF_TEXTS	2			/* text files shown, at most */
#define TF_TEXT_MAX	(16u << 10)		/* bytes of one shown */
#define TF_FILES	(TF_IMAGES + 2 * TF_TEXTS)	/* images, texts, PDFs */
/* What the model is told of an image its server refused (drop_images). */
#define TF_UNSHOWN	"could not be shown to you"

/* One image or text file to read, then read. */
struct tf_image {
	uint32_t msg;			/* its message, in the history */
	char id[ST_ATT_ID_LEN + 1];
	int text;			/* a text file: its first bytes */
	int pdf;			/* a PDF: the fetcher's text of it */
	char name[ST_ATT_NAME_MAX + 1];
	uint32_t full;			/* a text file's whole size */
	uint32_t size, got;		/* bytes to read, read */
	uint64_t charged;		/* of images_held, an image's */
	struct upstream_image up;	/* data: malloc'd, size bytes */
};

/* Bytes the turns here hold for images, with their base64: image_cost. */
static uint64_t images_held;

struct turn_files {
	uint32_t nmsgs;
	char **notes;			/* a message's text and its line */
	struct tf_image img[TF_FILES];
	uint32_t nimg, next;		/* read up to next */
	/* Once read: the images whole, by message, in the order sent. */
	struct upstream_image shown[TF_IMAGES];
	uint32_t first[TF_IMAGES], count[TF_IMAGES], at[TF_IMAGES], nshown;
	struct storec_req *req;
	struct loop_defer fin;		/* done, from the loop */
	void (*done)(void *);
	void *arg;
};

/* "[Attached: a.png (image/png, 12 KB), b.pdf (...)]" after text. */
static char *
note_of(const struct st_line *m)
{
	struct buf b;
	uint32_t i;

	buf_init(&b);
	if (m->content != NULL && m->content[0] != '\0')
		buf_addf(&b, "%s\n\n", m->content);
	buf_adds(&b, "[Attached: ");
	for (i = 0; i < m->natts; i++)
		buf_addf(&b, "%s%s (%s, %u KB)", i > 0 ? ", " : "",
		    m->atts[i].name, attach_mime(m->atts[i].type) != NULL ?
		    attach_mime(m->atts[i].type) : "file",
		    (m->atts[i].size + 1023) / 1024);
	buf_adds(&b, "]");
	return buf_cstr(&b);
}

/* Attachment a of message i to be read: size of its bytes. */
static void
pick(struct turn_files *f, uint32_t i, const struct st_msg_att *a,
    uint32_t size, int text)
{
	struct tf_image *im = &f->img[f->nimg++];

	im->msg = i;
	strlcpy(im->id, a->id, sizeof(im->id));
	strlcpy(im->name, a->name, sizeof(im->name));
	im->text = text;
	im->full = a->size;
	im->size = size;
	im->up.mime = attach_mime(a->type);
}

/* An image of size bytes as charged: itself and its base64 copy. */
static uint64_t
image_cost(uint32_t size)
{
	return (uint64_t)size + 4 * (((uint64_t)size + 2) / 3);
}

/* 1 when an image of size bytes fits the worker's images now. */
static int
image_fits(uint32_t size)
{
	return images_held + image_cost(size) <=
	    (uint64_t)wsettings.vision_memory_mb << 20;
}

/* The image just picked charged to the worker's images. */
static void
image_charge(struct tf_image *im)
{
	im->charged = image_cost(im->size);
	images_held += im->charged;
}

/* What im was charged given back (its bytes freed, or about to be). */
static void
image_release(struct tf_image *im)
{
	images_held -= im->charged;
	im->charged = 0;
}

/*
 * A file of message i the model is not shown as it might be: "[name:
 * why]" after the message's files line (none: nothing said).
 */
static void
note_left_out(struct turn_files *f, uint32_t i, const char *name,
    const char *why)
{
	char *note = f->notes[i];
	struct buf b;

	if (note == NULL)
		return;
	buf_init(&b);
	buf_addf(&b, "%s\n[%s: %s]", note, name, why);
	if ((note = buf_cstr(&b)) == NULL)
		return;
	free(f->notes[i]);
	f->notes[i] = note;
}

/*
 * Image a of message i left out, the worker's images full: logged, and
 * the model told after the message's files line.
 */
static void
image_busy(struct turn_files *f, uint32_t i, const struct st_msg_att *a)
{
	log_warnx("turn: image %s not shown to the model: %llu bytes of "
	    "images held in this worker, at most %u MiB "
	    "(PARLEY_VISION_MEMORY_MB)", a->id,
	    (unsigned long long)images_held, wsettings.vision_memory_mb);
	note_left_out(f, i, a->name, "not shown to you now: too many images "
	    "at once on this server; the visitor may send it again in a "
	    "moment");
}

/*
 * The newest text files (always) and images (vision) of the visitor's
 * recent messages, within the bounds; an image past the worker's
 * images left out (image_busy).
 */
static void
files_pick(struct turn_files *f, const struct st_line *h, uint32_t n,
    int vision)
{
	uint32_t i, j, bytes = 0, nimg = 0, ntext = 0, npdf = 0;
	uint32_t from = n > TF_RECENT ? n - TF_RECENT : 0;
	const struct st_msg_att *a;

	for (i = n; i-- > from;) {
		if (strcmp(h[i].role, "user") != 0)
			continue;
		for (j = h[i].natts; j-- > 0;) {	/* newest first */
			a = &h[i].atts[j];
			if (a->type == ATTACH_TEXT && ntext < TF_TEXTS) {
				pick(f, i, a, a->size < TF_TEXT_MAX ? a->size :
				    TF_TEXT_MAX, 1);
				ntext++;
			} else if (a->type == ATTACH_PDF && npdf < TF_TEXTS) {
				/* Its text's size unknown: one read. */
				pick(f, i, a, 1, 1);
				f->img[f->nimg - 1].pdf = 1;
				npdf++;
			} else if (vision && attach_is_image(a->type) &&
			    nimg < TF_IMAGES && a->size <= TF_IMAGE_MAX &&
			    bytes + a->size <= TF_BYTES) {
				if (!image_fits(a->size)) {
					image_busy(f, i, a);
					continue;
				}
				pick(f, i, a, a->size, 0);
				image_charge(&f->img[f->nimg - 1]);
				bytes += a->size;
				nimg++;
			}
		}
	}
}

struct turn_files *
turn_files_new(const struct st_line *h, uint32_t n, int vision)
{
	struct turn_files *f;
	uint32_t i;
	int any = 0;

	for (i = 0; i < n; i++)
		any |= h[i].natts > 0;
	if (!any || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if ((f->notes = calloc(n, sizeof(*f->notes))) == NULL) {
		free(f);
		return NULL;
	}
	f->nmsgs = n;
	for (i = 0; i < TF_IMAGES; i++)
		f->at[i] = UINT32_MAX;	/* no image shown before they are read */
	for (i = 0; i < n; i++)
		if (h[i].natts > 0 && (f->notes[i] = note_of(&h[i])) == NULL)
			log_warnx("turn: out of memory: a message's files "
			    "not named to the model");
	files_pick(f, h, n, vision);
	return f;
}

static void fetch_next(struct turn_files *);

/*
 * A text file read into its message's note: its name, its first bytes
 * (cut at a character), said when cut.
 */
static void
text_add(struct turn_files *f, const struct tf_image *im)
{
	const uint8_t *p = im->up.data;
	size_t n = im->up.len;
	char *note = f->notes[im->msg];
	struct buf b;

	/* A character cut at the end: left out. */
	if (im->full > im->size)
		n = proto_utf8_whole(p, n);
	buf_init(&b);
	buf_addf(&b, "%s\n\n--- %s%s ---\n", note != NULL ? note : "",
	    im->name, im->pdf ? " (its text)" : im->full > im->size ?
	    " (its beginning)" : "");
	buf_add(&b, p, n);
	buf_adds(&b, "\n--- end of file ---");
	if ((note = buf_cstr(&b)) == NULL) {
		log_warnx("turn: out of memory: a text file not shown");
		return;
	}
	free(f->notes[im->msg]);
	f->notes[im->msg] = note;
}

/* The images read whole, arranged by message: shown[], and where each's. */
static void
arrange(struct turn_files *f)
{
	uint32_t k, m = 0;

	f->nshown = 0;
	/* img[] is newest first: walked back, it is the order sent. */
	for (k = f->nimg; k-- > 0;) {
		if (f->img[k].up.data == NULL ||
		    f->img[k].up.len != f->img[k].size)
			continue;
		if (f->img[k].text) {
			text_add(f, &f->img[k]);
			continue;
		}
		if (m == 0 || f->at[m - 1] != f->img[k].msg) {
			f->at[m] = f->img[k].msg;
			f->first[m] = f->nshown;
			f->count[m++] = 0;
		}
		f->count[m - 1]++;
		f->shown[f->nshown++] = f->img[k].up;
	}
	for (; m < TF_IMAGES; m++)
		f->at[m] = UINT32_MAX;
}

/* Image k is left out: its bytes dropped, logged why. */
static void
image_drop(struct turn_files *f, uint32_t k, const char *why)
{
	log_warnx("turn: image %s not shown to the model: %s", f->img[k].id,
	    why);
	free((void *)f->img[k].up.data);
	f->img[k].up.data = NULL;
	f->img[k].up.len = 0;
	image_release(&f->img[k]);
	f->img[k].got = f->img[k].size;	/* nothing more to read */
}

/*
 * PDF im has no text to show: the model told why after its message's
 * files line, still being read or never to be (so it neither guesses
 * nor promises a reading that will not come).
 */
static void
pdf_unread(struct turn_files *f, const struct tf_image *im, uint8_t status)
{
	if (status == ST_ATT_TEXT_PENDING || status == ST_ATT_TEXT_FAILED)
		note_left_out(f, im->msg, im->name,
		    status == ST_ATT_TEXT_PENDING ? "its text is still being "
		    "read, not shown to you yet" : "its text could not be read");
}

static void
piece_read(const struct storec_result *r, void *arg)
{
	struct turn_files *f = arg;
	struct tf_image *im = &f->img[f->next];
	struct st_att_read_rep rep;

	f->req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_ATT_READ, &rep) < 0) {
		image_drop(f, f->next, "storaged did not answer");
		fetch_next(f);
		return;
	}
	/* A PDF's text, as the fetcher read it (none yet: none shown). */
	if (im->pdf) {
		free((void *)im->up.data);
		im->up.data = NULL;
		if (rep.result == ST_ATT_OK && rep.text != NULL &&
		    rep.text[0] != '\0' &&
		    (im->up.data = (uint8_t *)strdup(rep.text)) != NULL)
			im->up.len = im->size = im->full = strlen(rep.text);
		else if (rep.result == ST_ATT_OK)
			pdf_unread(f, im, rep.text_status);
		im->got = im->size;
		st_rep_free(PROTO_ST_ATT_READ, &rep);
		fetch_next(f);
		return;
	}
	/* A text file's first bytes only: its first piece, cut. */
	if (im->text && rep.result == ST_ATT_OK && rep.data.len > im->size)
		rep.data.len = im->size;
	if (rep.result != ST_ATT_OK || rep.data.len == 0 ||
	    rep.data.len > im->size - im->got)
		image_drop(f, f->next, "not found, or not its size");
	else {
		memcpy((uint8_t *)im->up.data + im->got, rep.data.p,
		    rep.data.len);
		im->got += rep.data.len;
		im->up.len = im->got;
	}
	st_rep_free(PROTO_ST_ATT_READ, &rep);
	fetch_next(f);
}

/* The next piece asked, or, when every image is read, done. */
static void
fetch_next(struct turn_files *f)
{
	struct st_att_read_req q;
	struct tf_image *im;

	while (f->next < f->nimg && f->img[f->next].got >=
	    f->img[f->next].size)
		f->next++;
	if (f->next >= f->nimg) {
		arrange(f);
		loop_defer(&f->fin);
		return;
	}
	im = &f->img[f->next];
	if (im->up.data == NULL && (im->up.data = malloc(im->size)) == NULL) {
		image_drop(f, f->next, "out of memory");
		fetch_next(f);
		return;
	}
	q.id = im->id;
	q.piece = im->got / ST_ATT_PIECE;
	q.mode = im->pdf ? ST_ATT_READ_TEXT : ST_ATT_READ_NAMED;
	q.widget_id = NULL;
	if (storec_ask(NULL, PROTO_ST_ATT_READ, &q, piece_read, f,
	    &f->req) < 0) {
		image_drop(f, f->next, "storaged unavailable");
		fetch_next(f);
	}
}

static void
fetched(void *arg)
{
	struct turn_files *f = arg;

	f->done(f->arg);
}

int
turn_files_to_read(const struct turn_files *f)
{
	return f != NULL && f->nimg > 0;
}

void
turn_files_fetch(struct turn_files *f, void (*done)(void *), void *arg)
{
	f->done = done;
	f->arg = arg;
	loop_defer_init(&f->fin, fetched, f);
	fetch_next(f);
}

const char *
turn_files_text(const struct turn_files *f, uint32_t i, const char *content)
{
	return f != NULL && i < f->nmsgs && f->notes[i] != NULL ?
	    f->notes[i] : content;
}

size_t
turn_files_images(const struct turn_files *f, uint32_t i,
    const struct upstream_image **out)
{
	uint32_t m;

	*out = NULL;
	for (m = 0; f != NULL && m < TF_IMAGES && f->at[m] != UINT32_MAX; m++)
		if (f->at[m] == i) {
			*out = &f->shown[f->first[m]];
			return f->count[m];
		}
	return 0;
}

size_t
turn_files_drop_images(struct turn_files *f)
{
	struct tf_image *im;
	size_t n = 0;
	uint32_t k;

	if (f == NULL)
		return 0;
	/* img[] is newest first: walked back, the notes in the order sent. */
	for (k = f->nimg; k-- > 0;) {
		im = &f->img[k];
		if (im->text || im->up.data == NULL || im->up.len != im->size)
			continue;	/* not an image shown (arrange) */
		note_left_out(f, im->msg, im->name, TF_UNSHOWN);
		free((void *)im->up.data);
		im->up.data = NULL;
		im->up.len = 0;
		image_release(im);
		n++;
	}
	f->nshown = 0;
	for (k = 0; k < TF_IMAGES; k++)
		f->at[k] = UINT32_MAX;
	return n;
}

void
turn_files_free(struct turn_files *f)
{
	uint32_t i;

	if (f == NULL)
		return;
	storec_cancel(f->req);
	if (f->done != NULL)
		loop_defer_cancel(&f->fin);
	proto_strv_free(f->notes, f->nmsgs);
	for (i = 0; i < f->nimg; i++) {
		free((void *)f->img[i].up.data);
		image_release(&f->img[i]);
	}
	free(f);
}
