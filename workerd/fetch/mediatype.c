/*
 * A Content-Type header's media type and charset parameter (RFC 9110's
 * parameters: a ';' inside a quoted value begins none). See mediatype.h.
 */
#include <string.h>
#include <strings.h>

#include "mediatype.h"

int
mediatype_is(const char *ctype, const char *type)
{
	size_t n = strlen(type);

	/* strchr finds the NUL too: the type may end the header. */
	return strncasecmp(ctype, type, n) == 0 &&
	    strchr("; \t", ctype[n]) != NULL;
}

/*
 * Past the next ';' of s that is not inside a quoted string (a
 * parameter's value may be one, ';' and all), or NULL.
 */
static const char *
param_next(const char *s)
{
	int quoted = 0;

	for (; *s != '\0'; s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == ';')
			return s + 1;
	}
	return NULL;
}

size_t
mediatype_charset(const char *ctype, const char **value)
{
	const char *p;

	/* A parameter of that name: "xcharset=" or a value's is not. */
	for (p = param_next(ctype); p != NULL; p = param_next(p)) {
		p += strspn(p, " \t");
		if (strncasecmp(p, "charset=", 8) == 0) {
			*value = p + 8;
			return strcspn(p + 8, "; \t");
		}
	}
	*value = ctype + strlen(ctype);
	return 0;
}
