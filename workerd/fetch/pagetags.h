/*
 * A page's Parley embed tags (pagetags.c): what "Check my page" reports.
 */
#ifndef PARLEY_PAGETAGS_H
#define PARLEY_PAGETAGS_H

#include <stddef.h>

#define PAGE_TAGS_MAX	10		/* tags listed */

/* A Parley tag as listed: each NULL when its attribute is not there. */
struct page_tag {
	char *data_widget;
	char *src;
};

/* What the page holds. */
struct page_tags {
	struct page_tag tag[PAGE_TAGS_MAX];
	size_t n;
	int found;		/* one is this widget's */
	int bare;		/* a Parley script without data-widget */
	char *other;		/* the first data-widget naming another id */
};

/*
 * The Parley tags of a page of len bytes (charset: its Content-Type's,
 * "" none), wid the widget's public id: 0 with *t filled (free with
 * page_tags_free), or -1 with *why (static) and *t empty.
 */
int page_tags_find(const char *bytes, size_t len, const char *charset,
    const char *wid, struct page_tags *t, const char **why);
/* t's strings freed, t zeroed. */
void page_tags_free(struct page_tags *t);

#endif
