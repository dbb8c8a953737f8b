/*
 * A page's Parley embed tags (the widget's "Check my page",
 * workerd/admin/pagecheck.c), read by libxml2's HTML parser after
 * fetch_markup_check, as fetch/html.c reads pages. A Parley tag is a
 * <script> with a data-widget attribute, or whose src's path ends in
 * /widget/chat-widget.js or /api/widget/embed.js; found: one whose
 * data-widget is the widget's public id, or whose src carries it. The
 * first PAGE_TAGS_MAX are listed. The bytes are untrusted: fuzzed by
 * tests/fuzz/pagetags.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "html.h"
#include "pagetags.h"
#include "urlpolicy.h"

#define ID_SHOWN_MAX	200		/* bytes of a data-widget shown */
#define HTML_OPTIONS	(HTML_PARSE_NONET | HTML_PARSE_NOERROR | \
			 HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER)

/* The next node after n below top in document order; NULL at the end. */
static xmlNode *
next_node(xmlNode *n, xmlNode *top)
{
	if (n->type == XML_ELEMENT_NODE && n->children != NULL)
		return n->children;
	while (n != top && n->next == NULL)
		n = n->parent;
	return n == top ? NULL : n->next;
}

/* 1 when src's path (query and fragment aside) ends in one of the bundle's paths. */
static int
src_parley(const char *src)
{
	static const char *const ends[] = {
		"/widget/chat-widget.js", "/api/widget/embed.js",
	};
	size_t n = strcspn(src, "?#"), i, l;

	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		l = strlen(ends[i]);
		if (n >= l && strncmp(src + n - l, ends[i], l) == 0)
			return 1;
	}
	return 0;
}

/* A clean copy of an attribute's value (valid UTF-8, cut to max); "" for an empty one. */
static char *
attr_copy(const xmlChar *v, size_t max)
{
	char *s;

	if (v == NULL)
		return NULL;
	if ((s = fetch_clean_line((const char *)v, strlen((const char *)v),
	    max)) == NULL)
		s = strdup("");
	return s;
}

/* One <script>'s attributes weighed: 0, or -1 out of memory. */
static int
script_seen(struct page_tags *t, xmlNode *n, const char *wid)
{
	xmlChar *dw = xmlGetProp(n, (const xmlChar *)"data-widget");
	xmlChar *src = xmlGetProp(n, (const xmlChar *)"src");
	/* Judged as cleaned (trimmed, as the widget trims its data-widget). */
	char *cdw = attr_copy(dw, ID_SHOWN_MAX);
	char *csrc = attr_copy(src, URLPOL_URL_MAX);
	struct page_tag *g;
	int rc = 0;

	if ((dw != NULL && cdw == NULL) || (src != NULL && csrc == NULL)) {
		rc = -1;
		goto out;
	}
	if (cdw == NULL && (csrc == NULL || !src_parley(csrc)))
		goto out;
	if ((cdw != NULL && strcmp(cdw, wid) == 0) ||
	    (csrc != NULL && strstr(csrc, wid) != NULL))
		t->found = 1;
	else if (cdw == NULL)
		t->bare = 1;
	else if (t->other == NULL && (t->other = strdup(cdw)) == NULL)
		rc = -1;
	if (t->n < PAGE_TAGS_MAX) {
		g = &t->tag[t->n++];
		g->data_widget = cdw;
		g->src = csrc;
		cdw = csrc = NULL;
	}
out:
	free(cdw);
	free(csrc);
	xmlFree(dw);
	xmlFree(src);
	return rc;
}

void
page_tags_free(struct page_tags *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->tag[i].data_widget);
		free(t->tag[i].src);
	}
	free(t->other);
	memset(t, 0, sizeof(*t));
}

int
page_tags_find(const char *bytes, size_t len, const char *charset,
    const char *wid, struct page_tags *t, const char **why)
{
	htmlDocPtr doc;
	xmlNode *top, *n;
	char *copy;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	switch (fetch_markup_check(bytes, len, charset)) {
	case FETCH_MARKUP_CHARSET:
		*why = "its charset is one Parley does not read";
		return -1;
	case FETCH_MARKUP_ATTRIBUTES:
		*why = "its tags hold too many attributes to read";
		return -1;
	}
	if (len == 0)
		return 0;	/* an empty page holds no tag */
	if (fetch_html_nul_free(bytes, len, charset, &copy, &len) < 0) {
		*why = "out of memory";
		return -1;
	}
	if (copy != NULL)
		bytes = copy;
	fetch_xml_quiet();
	/* A charset libxml2 does not know: its own guess then. */
	if ((doc = htmlReadMemory(bytes, (int)len, NULL, charset[0] != '\0' ?
	    charset : NULL, HTML_OPTIONS)) == NULL && charset[0] != '\0')
		doc = htmlReadMemory(bytes, (int)len, NULL, NULL, HTML_OPTIONS);
	free(copy);
	if (doc == NULL)
		return 0;	/* nothing libxml2 can read as a document */
	top = xmlDocGetRootElement(doc);
	for (n = top; rc == 0 && n != NULL; n = next_node(n, top))
		if (n->type == XML_ELEMENT_NODE && n->name != NULL &&
		    xmlStrcasecmp(n->name, (const xmlChar *)"script") == 0)
			rc = script_seen(t, n, wid);
	xmlFreeDoc(doc);
	if (rc < 0) {
		page_tags_free(t);
		*why = "out of memory";
	}
	return rc;
}
