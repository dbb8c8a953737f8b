/*
 * storaged's unit tests of the requests led by who asks (issue 22): one
 * request run as the daemon runs it, with who asks set on the batch as
 * server.c sets it. Include after test_fixture.h.
 */
#ifndef PARLEY_TEST_WHO_H
#define PARLEY_TEST_WHO_H

/* Who asks: kind, id, its organisation, role; user "". */
static inline struct st_who
who_of(uint8_t kind, const char *id, const char *org, uint8_t role)
{
	struct st_who w;

	memset(&w, 0, sizeof(w));
	w.kind = kind;
	strlcpy(w.id, id, sizeof(w.id));
	strlcpy(w.org, org, sizeof(w.org));
	w.role = role;
	return w;
}

/*
 * req (its struct, encoded by the table) as who (NULL: nobody) in a
 * batch of its own, its reply left in r (free with dreply_free): the
 * error code, or 0 with the reply decoded into rep when rep is not NULL
 * (free with st_rep_free).
 */
static inline int
who_run(struct fix *f, const struct st_who *who, uint16_t type,
    const void *req, void *rep, struct dreply *r)
{
	struct dbatch b;
	struct penc e;

	penc_init(&e);
	assert_int_equal(st_req_encode(&e, type, req), 0);
	dispatch_begin(f->st, f->rl, &b, dispatch_is_write(type));
	b.who = who;
	dispatch_run(&b, type, e.buf, e.len, r);
	if (dispatch_end(&b) < 0)
		dreply_commit_failed(r);
	penc_free(&e);
	if (r->err == 0 && rep != NULL)
		assert_int_equal(st_rep_decode(type, r->enc.buf, r->enc.len,
		    rep), 0);
	return r->err;
}

/* As who_run, the reply let go; *wrote (when not NULL): it wrote. */
static inline int
request_who(struct fix *f, const struct st_who *who, uint16_t type,
    const void *req, void *rep, int *wrote)
{
	struct dreply r;
	int err;

	err = who_run(f, who, type, req, rep, &r);
	if (wrote != NULL)
		*wrote = r.wrote;
	dreply_free(&r);
	return err;
}

#endif
