/*
 * The gap record (see gapmsg.h): its layout and reasons' names, shared
 * by both sides of the socket.
 */
#include "gapmsg.h"

#define GAP_ROW(...)	RF_ROW(struct st_gap, __VA_ARGS__)

RL_LAYOUT(st_gap_layout, "gap", struct st_gap,
    ST_GAP_ROWS(GAP_ROW), NULL);

static const char *const reason_names[ST_GAP_REASONS] = {
	"handoff", "thumbs_down", "dont_know", "not_found",
};

const char *
st_gap_reason_name(int i)
{
	return i >= 0 && i < ST_GAP_REASONS ? reason_names[i] : NULL;
}
