/*
 * Reports' names (reportmsg.h): each count's, as the admin API and the
 * CSV call it.
 */
#include <stddef.h>

#include "reportmsg.h"

#define REPORT_NAME(m)	#m,
static const char *const names[ST_RC_N] = {
	ST_REPORT_COUNTS(REPORT_NAME)
};
#undef REPORT_NAME

const char *
st_report_count_name(int i)
{
	return i >= 0 && i < ST_RC_N ? names[i] : NULL;
}
