/*
 * ST_METRICS_PUT payloads from a worker, as storaged takes them (decoded
 * by the table, then added): any bytes are refused or merged without a
 * crash, a leak or an overflow, and the totals still encode as a set
 * that decodes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "metrictotals.h"
#include "stmsgs.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct smgauges a, b;
	struct smgauges *gs[2] = { &a, &b };
	struct st_mput put;
	struct st_mset set;
	struct penc e;

	/*
	 * The input twice, from two clients (the second a resend: the same
	 * instance and seq); then one of them goes.
	 */
	if (st_req_decode(PROTO_ST_METRICS_PUT, data, len, &put) == 0) {
		(void)smetrics_put(&a, &put);
		(void)smetrics_put(&b, &put);
		st_req_free(PROTO_ST_METRICS_PUT, &put);
	}
	penc_init(&e);
	smetrics_get(&e, gs, 2);
	if (!e.err) {
		if (st_rep_decode(PROTO_ST_METRICS_GET, e.buf, e.len,
		    &set) < 0)
			abort();
		st_rep_free(PROTO_ST_METRICS_GET, &set);
	}
	penc_free(&e);
	smetrics_gone(&a);
	smetrics_gone(&b);
	smetrics_reset();
	return 0;
}
