/*
 * ST_METRICS_PUT payloads from a worker, as storaged takes them: any bytes
 * are refused or merged without a crash, a leak or an overflow, and the
 * totals still encode as a set that decodes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct smgauges a, b;
	struct smgauges *gs[2] = { &a, &b };
	struct mseries s;
	struct penc e;
	struct pdec d;
	uint32_t n, i;

	/* The input twice, from two clients; then one of them goes. */
	(void)smetrics_put(&a, data, len);
	(void)smetrics_put(&b, data, len);
	penc_init(&e);
	smetrics_get(&e, gs, 2);
	if (!e.err) {
		pdec_init(&d, e.buf, e.len);
		n = pdec_u32(&d);
		for (i = 0; i < n; i++)
			if (ms_dec(&d, &s) < 0)
				abort();
		if (pdec_done(&d) < 0)
			abort();
	}
	penc_free(&e);
	smetrics_gone(&a);
	smetrics_gone(&b);
	smetrics_reset();
	return 0;
}
