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
	struct penc e;

	penc_init(&e);
	assert_int_equal(st_req_encode(&e, type, req), 0);
	dispatch_one_as(f->st, f->rl, who, type, e.buf, e.len, r);
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

/* A user named name, a member of org (as parleyctl adds one). */
static inline void
who_user_new(struct fix *f, const char *org, const char *email,
    const char *name, char id[ST_USER_ID_MAX + 1])
{
	struct st_who ctl = who_of(ST_WHO_CTL, "uid 0", org, ST_ROLE_OWNER);
	struct st_user_set_req q;
	struct st_user_set_rep rep;

	memset(&q, 0, sizeof(q));
	q.mode = ST_USER_SET_ADD;
	q.email = email;
	q.name = name;
	q.role = ST_ROLE_AGENT;
	q.salt_len = ST_PW_SALT_LEN;
	q.hash_len = ST_PW_HASH_LEN;
	assert_int_equal(request_who(f, &ctl, PROTO_ST_USER_SET, &q, &rep,
	    NULL), 0);
	assert_int_equal(rep.result, 0);
	strlcpy(id, rep.m.id, ST_USER_ID_MAX + 1);
	st_rep_free(PROTO_ST_USER_SET, &rep);
}

/*
 * A new organisation named name, made by owner (the default one's
 * install key); who asks as its owner's key would.
 */
static inline struct st_who
who_org_new(struct fix *f, const struct st_who *owner, const char *name)
{
	struct st_org in, out;
	struct st_who w;

	memset(&in, 0, sizeof(in));
	in.name = (char *)name;
	assert_int_equal(request_who(f, owner, PROTO_ST_ORG_CREATE, &in,
	    &out, NULL), 0);
	w = who_of(ST_WHO_KEY, "install", out.id, ST_ROLE_OWNER);
	st_org_free(&out);
	return w;
}

#endif
