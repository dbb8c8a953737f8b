/*
 * Files served as they are (site/; the widget bundle and the test pages
 * are static.h's): the dashboard's pages and assets (dashpages.c) and
 * the OpenAPI document (openapi.c).
 */
#ifndef PARLEY_SITE_H
#define PARLEY_SITE_H

#include "workerd.h"

/* ----------------------------------------------------------- dashpages.c */

#define DASH_FILE_MAX		(4 * 1024 * 1024)	/* largest file served */

/* Where the pages are read from (<assets>/dashboard); again reloads. */
void dashpages_init(void);
/* 1 when name is a plain file name: [A-Za-z0-9._-], no "..", no leading dot. */
int dashpages_name_ok(const char *name);
/* The Content-Type for a file name's extension, NULL when not served. */
const char *dashpages_ctype(const char *name);
void dashpages_login_redirect(struct conn *, struct http_request *,
    const struct route_match *);
void dashpages_index_get(struct conn *, struct http_request *,
    const struct route_match *);
void dashpages_login_page_get(struct conn *, struct http_request *,
    const struct route_match *);
/* The page where an invitee sets a name and password (invite.html). */
void dashpages_invite_page_get(struct conn *, struct http_request *,
    const struct route_match *);
void dashpages_asset_get(struct conn *, struct http_request *,
    const struct route_match *);

/* ------------------------------------------------------------- openapi.c */

/* The embedded document's ETag, made when first asked for. */
const char *openapi_etag(void);
void openapi_get(struct conn *, struct http_request *,
    const struct route_match *);

#endif
