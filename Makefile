# Parley — build, test, run.
#
#   make          optimised daemons into bin/, the widget bundle into widget/dist/
#   make test     every test (unit, integration, browser, each fuzz target's corpus
#                 replayed) on an ASan+UBSan build, prints its time at the end
#   make fuzz     each fuzz target for FUZZ_TIME seconds (300) or FUZZ_RUNS runs, new finds merged
#                 into tests/fuzz/<target>/corpus/ (FUZZ_TARGETS="http ws": some only)
#   make run      the whole product in the foreground (Ctrl-C stops it)
#   make bench    benchmarks (not part of the tests)
#   make cluster-test  the simulated cluster (tests/cluster/: network namespaces,
#                 root) at its full figures on the release build; make test runs
#                 its short form
#   make soak     the long runs of tests that make test runs short: a webhook receiver
#                 down for 2 minutes with the default retry schedule (about 5 minutes)
#   make widget   only the widget bundle (npm: esbuild, zopfli; see widget/README.md)
#   make install  into PREFIX (/usr/local) and DESTDIR; make uninstall (see "install")
#   make deb      the Debian package build/deb/parley_<version>_<arch>.deb (and its
#                 -dbgsym) with dpkg-buildpackage, checked by lintian (see "deb")
#   make clean
#
# Each program's folder holds main.c (the program) and its library files;
# the tests are in tests/ (see "sources" below).

CC       ?= cc
# Parley's version, in one place: debian/changelog's first entry. Every
# program prints it (--version: lib/version.c).
VERSION  := $(shell awk -F'[()]' 'NR == 1 { print $$2 }' debian/changelog)
FUZZCC   ?= clang
PKGS     := libcurl lmdb libbsd-overlay openssl jansson libxml-2.0 poppler-glib zlib libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# -pthread: workerd hashes dashboard passwords on threads (hashpool.c).
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lwslay -lstemmer -lm -pthread

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(PKG_CFLAGS) -MMD -MP
# -flto: the release programs optimised whole, calls across files inlined
# (callgrind-turns: a turn's instructions 3.5 % fewer in the worker, 4.4 %
# in storaged; the release build 23 s -> 36 s on 2 cores). Its inlining
# across files makes -Wmaybe-uninitialized guess, and the guesses move
# with every change to a caller (a list's outputs set on success only):
# off here, kept in the test build (no LTO), which compiles the same code.
REL_CFLAGS  := $(BASE_CFLAGS) -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
               -flto=auto -Wno-maybe-uninitialized
SAN         := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The test build: line tables only (-g1), all a sanitizer's report or a
# backtrace reads, and a quarter less compile time than -g; the tests'
# own sources (tests/unit, tests/fuzz) at -O0, the code they test at
# -O1: half the CPU of a fresh clone's build (make test is CPU-bound).
TEST_OPT    := -O1
TEST_CFLAGS = $(BASE_CFLAGS) $(TEST_OPT) -g1 -fno-omit-frame-pointer $(SAN)
build/test/tests/%.o: TEST_OPT := -O0
# The test build's links (daemons, unit tests) with binutils' gold: a
# unit test linked in 0.2 s, against 0.55 s with the default ld (make
# test is CPU-bound on 2 cores). Release links keep ld, and so do the
# fuzz targets (gold warns 131 times a link of clang's fuzzer runtime).
# The sanitizer runtimes are linked in (-static-libasan -static-libubsan),
# as clang does: the dynamic loader then resolves the program's and its
# libraries' symbols without libasan.so's thousand interceptors in the
# way, and a Parley's start and stop (five ASan processes) took 15 % less
# CPU (0.90 CPU-s against 1.07). Same runtime, same checks.
# --as-needed: a program loads libcurl's thirty-odd libraries at each start
# (and LeakSanitizer scans them at each exit) only when it calls libcurl:
# mockai and most unit tests load 10 to 12 libraries instead of 42. workerd,
# storaged (etcd.c) and every program that checks URL settings
# (lib/settingtab.c's curl_url: masterd, parleyctl) call it, at about 9 ms
# of CPU a start each on a machine whose page faults cost 10 us.
TEST_LD     := -fuse-ld=gold -static-libasan -static-libubsan -Wl,--as-needed
# Fuzz objects are compiled once (fuzzer-no-link) into build/fuzz/ and
# linked into every target that needs them, for `make fuzz`. make test
# replays each target's corpus without them: the target's file linked
# with tests/fuzz/replay.c and the test build's objects (build/test/fuzz/),
# which the unit tests compile anyway; a second build of every source was
# a sixth of make test's CPU on a fresh clone.
FUZZ_BASE   := -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -Wno-unused-parameter \
               $(PKG_CFLAGS) -MMD -MP -g -fsanitize=fuzzer-no-link,address,undefined
FUZZ_CFLAGS := $(FUZZ_BASE) -O1
# Fuzz targets link with lld when it is there (Debian's lld): 0.6 CPU-s a
# link against 1.2 with the default ld, sixteen links in every make test.
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined $(if $(shell command -v ld.lld 2>/dev/null),-fuse-ld=lld)

# ---------------------------------------------------------------- sources
# Each program is its folder's .c files (workerd's subfolders too); main.c
# is the program, the rest its library, which its unit tests link. proto/
# (the binary protocol) and lib/ (the event loop, logging, settings and the
# other helpers) are the libraries every program links. Tests live in
# tests/, in a tree that mirrors this one: tests/unit/<program>/ (cmocka)
# and tests/fuzz/<target>/ (libFuzzer, with its corpus/).
PROGS        := proto lib masterd workerd storaged parleyctl mockai
SRC_proto    := $(wildcard proto/*.c)
SRC_lib      := $(wildcard lib/*.c)
SRC_masterd  := $(wildcard masterd/*.c)
SRC_workerd  := $(wildcard workerd/*.c workerd/*/*.c)
# parley-fetch, the knowledge base's fetcher: workerd's code (its library
# is workerd's) but for the worker's main.c, and its own files that
# parley-workerd leaves out: what reads PDFs (poppler, whose forty-odd
# libraries a worker would load at every start) and what calls it.
FETCH_OWN    := $(addprefix workerd/fetch/,main.c fetcher.c crawl.c attextract.c pdf.c docchild.c sandbox.c)
PROG_SRC_workerd := $(filter-out $(FETCH_OWN),$(SRC_workerd))
PROG_SRC_fetch := $(filter-out workerd/main.c,$(SRC_workerd))
SRC_storaged := $(wildcard storaged/*.c)
SRC_parleyctl := $(wildcard parleyctl/*.c)
SRC_mockai   := $(wildcard tests/mockai/*.c)
DIR_proto    := proto
DIR_lib      := lib
DIR_masterd  := masterd
DIR_workerd  := workerd $(patsubst %/,%,$(wildcard workerd/*/))
DIR_storaged := storaged
DIR_parleyctl := parleyctl
DIR_mockai   := tests/mockai
# Unit tests of each program.
TESTS_proto    := $(wildcard tests/unit/proto/test_*.c)
TESTS_lib      := $(wildcard tests/unit/lib/test_*.c)
TESTS_masterd  := $(wildcard tests/unit/masterd/test_*.c)
TESTS_workerd  := $(wildcard tests/unit/workerd/test_*.c tests/unit/workerd/*/test_*.c)
TESTS_storaged := $(wildcard tests/unit/storaged/test_*.c)
TESTS_parleyctl := $(wildcard tests/unit/parleyctl/test_*.c)
TESTS_mockai   :=
# Every fuzz target (FUZZ_TARGETS, from the environment, picks some for `make fuzz`).
FUZZ_ALL          := $(notdir $(patsubst %/,%,$(wildcard tests/fuzz/*/)))
# The program whose library each fuzz target links (beside proto/ and lib/).
FUZZ_PROG_proto   := proto
FUZZ_PROG_dispatch := storaged
FUZZ_PROG_metrics := storaged
FUZZ_PROG_settings := lib
FUZZ_PROG_tzif    := lib
FUZZ_PROG_stmsgs  := proto
FUZZ_PROG_envfile := lib
FUZZ_PROG_etcd    := storaged
FUZZ_PROG_staddr  := proto
FUZZ_PROG_records := proto
FUZZ_PROG_analyze := storaged
FUZZ_PROG_devcookie := storaged
FUZZ_PROG_identity := proto
fuzz_prog = $(or $(FUZZ_PROG_$(1)),workerd)

lib_src  = $(filter-out %/main.c,$(SRC_$(1)))
# Objects of sources in a build flavour (release, test, fuzz).
objs     = $(patsubst %.c,build/$(1)/%.o,$(2))
# The libraries every program links: proto/ and lib/.
SHARED_DIRS := proto lib
SHARED_LIB = $(foreach d,$(SHARED_DIRS),$(call lib_src,$(d)))
# Program $(1)'s library files and the shared ones, each once.
with_shared = $(call lib_src,$(1)) $(filter-out $(SRC_$(1)),$(SHARED_LIB))

# Each program's objects see its own folders' headers, proto's and lib's;
# its tests see tests/unit/ and their program's test folder too.
$(foreach p,$(PROGS),$(foreach f,release test fuzz,\
  $(eval $(call objs,$(f),$(SRC_$(p))): INC := $(addprefix -I,$(DIR_$(p)) $(SHARED_DIRS)))\
  $(eval $(call objs,$(f),$(TESTS_$(p))): INC := $(addprefix -I,$(DIR_$(p)) $(SHARED_DIRS) tests/unit \
      $(patsubst %/,%,$(sort $(dir $(TESTS_$(p)))))))))
$(foreach f,test fuzz,$(foreach t,$(FUZZ_ALL),$(eval $(call objs,$(f),tests/fuzz/$(t)/fuzz_$(t).c): \
  INC := $(addprefix -I,$(DIR_$(call fuzz_prog,$(t))) $(SHARED_DIRS)))))

DAEMONS  := masterd workerd fetch storaged

# The widget bundle (rules below, under "widget").
WIDGET_JS  := widget/dist/chat-widget.js
WIDGET_SRC := $(wildcard widget/src/* widget/src/parts/* widget/src/lang/*) widget/build.mjs widget/package.json
WIDGET_NPM := widget/node_modules/.package-lock.json
# The dashboard's scripts (rules below, under "widget and dashboard"):
# dashboard/src's modules bundled into assets/, one script a page, and
# a .gz of each.
DASH_JS  := $(addprefix dashboard/assets/,app.js login.js invite.js)
DASH_GZ  := $(DASH_JS:=.gz)
DASH_SRC := $(wildcard dashboard/src/*.js) dashboard/build.mjs widget/src/markdown.js widget/src/dom.js

# ---------------------------------------------------------------- release
BINS := $(addprefix bin/parley-,$(DAEMONS)) bin/parleyctl $(if $(SRC_mockai),bin/mockai)

# pkg-config flags are read when make starts, so build in a second make
# once the dependency step has installed what was missing.
all: deps-build
	@$(MAKE) --no-print-directory -j$(JOBS) build-release

build-release: $(BINS) $(WIDGET_JS) $(DASH_JS)

# bin/NAME (release) and build/test/bin/NAME (ASan+UBSan) of program $(1)
# (its sources: PROG_SRC_$(1) where it differs from SRC_$(1)).
prog_src = $(if $(PROG_SRC_$(1)),$(PROG_SRC_$(1)),$(SRC_$(1)))
define prog_rules
$(2): $(call objs,release,$(call prog_src,$(1)) $(SHARED_LIB)) | bin
	$$(CC) $$(REL_CFLAGS) -o $$@ $$(filter %.o,$$^) $$(PKG_LIBS)
build/test/$(2): $(call objs,test,$(call prog_src,$(1)) $(SHARED_LIB))
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CFLAGS) $$(TEST_LD) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call prog_rules,$(d),bin/parley-$(d))))
# parleyctl, the administration tool, talks to storaged (parleyctl/).
$(eval $(call prog_rules,parleyctl,bin/parleyctl))
# The mock OpenAI-compatible model is part of the project (tests/mockai).
$(eval $(call prog_rules,mockai,bin/mockai))

# Each object's dependency file is written aside and renamed into place
# (DEPS_TO, DEPS_DONE): make test builds the unit tests in the background
# while a test runs make, which reads every .d, and must never read one
# half written.
DEPS_TO   = -MF $(@:.o=.d).tmp
DEPS_DONE = mv -f $(@:.o=.d).tmp $(@:.o=.d)

build/release/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(INC) $(DEPS_TO) -c -o $@ $< && $(DEPS_DONE)

build/test/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(INC) $(DEPS_TO) -c -o $@ $< && $(DEPS_DONE)

build/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) $(INC) $(DEPS_TO) -c -o $@ $< && $(DEPS_DONE)

# version.c is the one object that knows the version (debian/changelog).
$(foreach f,release test fuzz,build/$(f)/lib/version.o): debian/changelog
$(foreach f,release test fuzz,build/$(f)/lib/version.o): INC += -DPARLEY_VERSION='"$(VERSION)"'
# The test build's fetcher spins or aborts on a page of a type of its own
# (crawl.c, spin_hook), and a document's reader in its child (a PDF
# attachment's or a crawled PDF's) aborts or spins on a file of an
# opening of its own (docchild.c, test_hook): the CPU time bound's and
# the crash's tests; on a PDF attachment of others it waits on its first
# lease (attextract.c, hold_hook), or kills itself (kill_hook), its CPU
# time bound PARLEY_TEST_ATT_CPU_S when lower; and
# storaged's lease of a PDF being read is
# PARLEY_TEST_ATT_LEASE_MS when set (attqueue.c): the lease's tests;
# its TLS connections' cap PARLEY_TEST_TLS_CLIENTS_MAX and a TLS client's
# request's deadline PARLEY_TEST_FRAME_MS, each when lower (server.c);
# a mail's bound before its end PARLEY_TEST_NOTIFY_TIMEOUT_MS when lower
# (mailpool.c); the polls of storaged's queues (the notifier's outbox
# and mail outbox, the fetcher's syncs and attachments)
# PARLEY_TEST_POLL_MS when lower (storec.c, storec_poll_ms): the tests
# of a delivery, a mail, a sync or a PDF, which sat out an idle poll each;
# a worker's wait for storaged before it takes connections anyway
# PARLEY_TEST_READY_WAIT_MS when lower (workerd/main.c); masterd's window
# in which a child that dies failed its start
# PARLEY_TEST_STARTUP_WINDOW_MS when lower (masterd/workers.c);
# a confirmation's wait PARLEY_TEST_CONFIRM_MS when lower
# (chat/tools.c); the wait before a "visitor is waiting" mail
# PARLEY_TEST_MAIL_QUIET_MS when lower, and the mails of a kind visitors
# cause per window PARLEY_TEST_MAIL_BOUND, the window
# PARLEY_TEST_MAIL_WINDOW_MS, each when lower (mailbox.c); a name under
# slow.test resolved PARLEY_TEST_SLOW_LOOKUP_MS late when set (the admin
# API's URL checks, notify/lookup.c), and a password hashed
# PARLEY_TEST_HASH_LATE_MS late when set (admin/hashpool.c): the tests of
# a request held meanwhile; the spacing of one peer's snapshots
# PARLEY_TEST_SNAP_SPACING_MS when lower (repl.c); the knowledge count at
# open ended as by a kill after PARLEY_TEST_KBCOUNT_EXIT_AFTER batches
# (kbcount.c): its resume's test. Never in a release.
build/test/workerd/fetch/crawl.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/fetch/attextract.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/fetch/docchild.o: INC += -DPARLEY_TEST_HOOKS
build/test/storaged/attqueue.o: INC += -DPARLEY_TEST_HOOKS
build/test/storaged/kbcount.o: INC += -DPARLEY_TEST_HOOKS
build/test/storaged/server.o: INC += -DPARLEY_TEST_HOOKS
build/test/storaged/repl.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/notify/mailpool.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/storec.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/main.o: INC += -DPARLEY_TEST_HOOKS
build/test/masterd/workers.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/chat/tools.o: INC += -DPARLEY_TEST_HOOKS
build/test/storaged/mailbox.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/notify/lookup.o: INC += -DPARLEY_TEST_HOOKS
build/test/workerd/admin/hashpool.o: INC += -DPARLEY_TEST_HOOKS

# The OpenAPI document openapi.c embeds (.incbin) is generated: the
# template workerd/site/openapi.json with the record schemas' row-backed
# properties made from the rows in proto/'s headers (scripts/openapi.mjs,
# scripts/rows.mjs; constants from lib/'s headers too), and the audit
# log's actions from storaged's table (AUDIT_SOURCES). openapi.o is
# rebuilt when it changes.
OPENAPI_JSON := build/gen/openapi.json
AUDIT_SOURCES := storaged/optab.c storaged/auditstore.c proto/keymsg.c
$(OPENAPI_JSON): workerd/site/openapi.json scripts/openapi.mjs scripts/rows.mjs $(wildcard proto/*.h lib/*.h) $(AUDIT_SOURCES)
	node scripts/openapi.mjs $@
$(foreach f,release test fuzz,build/$(f)/workerd/site/openapi.o): $(OPENAPI_JSON)

bin:
	mkdir -p bin

# ---------------------------------------------------------------- widget and dashboard
# The widget bundle the workers serve: widget/dist/chat-widget.js and the
# .gz beside it (zopfli), built by esbuild (widget/package-lock.json). npm ci runs
# when widget/node_modules is missing or older than the lockfile; the
# bundle is rebuilt when a source changes. build.mjs fails when the gzipped
# bundle is over 12 KiB.
$(WIDGET_NPM): widget/package-lock.json
	npm ci --prefix widget --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET_JS): $(WIDGET_SRC) $(WIDGET_NPM)
	node widget/build.mjs

widget: $(WIDGET_JS)

# The dashboard's scripts and their .gz, by the widget's esbuild
# (dashboard/build.mjs).
$(DASH_JS) $(DASH_GZ) &: $(DASH_SRC) $(WIDGET_NPM)
	node dashboard/build.mjs

dashboard: $(DASH_JS)

# ---------------------------------------------------------------- tests
# Each program's library objects (its sources but main.c) in a thin archive
# of the test build, build/test/lib<program>.a: a unit test or a fuzz
# replay links the objects it uses, not all of them (145 binaries: a
# fresh clone's make test links and writes a fraction of what it did).
test_ar  = $(patsubst %,build/test/lib%.a,$(1))
# What program $(1)'s tests link: its archive, proto's and lib's.
test_ars = $(call test_ar,$(sort $(1) $(SHARED_DIRS)))
define ar_rule
$(call test_ar,$(1)): $(call objs,test,$(call lib_src,$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && $$(AR) rcsT $$@ $$^
endef
$(foreach p,$(PROGS),$(if $(call lib_src,$(p)),$(eval $(call ar_rule,$(p)))))
# A test's objects, then the archives as one group (they call each other).
TEST_LINK = $$(CC) $$(TEST_CFLAGS) $$(TEST_LD) -o $$@ $$(filter %.o,$$^) \
	-Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $$(PKG_LIBS)

# build/test/unit/<program>/.../test_x from tests/unit/<program>/.../test_x.c
unit_bin = $(patsubst tests/unit/%.c,build/test/unit/%,$(1))
define unit_rule
$(call unit_bin,$(1)): $(call objs,test,$(1)) $(call test_ars,$(2))
	@mkdir -p $$(@D)
	$(TEST_LINK) -lcmocka
endef
$(foreach p,$(PROGS),$(foreach t,$(TESTS_$(p)),$(eval $(call unit_rule,$(t),$(p)))))
UNIT_BINS := $(foreach p,$(PROGS),$(call unit_bin,$(TESTS_$(p))))

# build/fuzz/bin/fuzz_<target> of fuzz target $(1) (libFuzzer, make fuzz),
# and build/test/fuzz/fuzz_<target>, its corpus replay (make test).
define fuzz_rule
build/fuzz/bin/fuzz_$(1): $(call objs,fuzz,tests/fuzz/$(1)/fuzz_$(1).c $(call with_shared,$(2)))
	@mkdir -p $$(@D)
	$$(FUZZCC) $$(FUZZ_LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
build/test/fuzz/fuzz_$(1): $(call objs,test,tests/fuzz/$(1)/fuzz_$(1).c tests/fuzz/replay.c) $(call test_ars,$(2))
	@mkdir -p $$(@D)
	$(TEST_LINK)
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_rule,$(t),$(call fuzz_prog,$(t)))))
FUZZ_BINS := $(patsubst %,build/fuzz/bin/fuzz_%,$(FUZZ_ALL))
REPLAY_BINS := $(patsubst %,build/test/fuzz/fuzz_%,$(FUZZ_ALL))

TEST_BINS := $(addprefix build/test/bin/parley-,$(DAEMONS)) build/test/bin/parleyctl $(if $(SRC_mockai),build/test/bin/mockai)

# The builds run one job per core.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# The C encodings of every storaged message, test_stmsgs's samples, which
# storage.test.mjs checks the harness's codec against: written by each
# test build, so a message or record layout changed needs nothing
# rewritten by hand.
STMSGS_SAMPLES := build/test/stmsgs-samples/.written
$(STMSGS_SAMPLES): build/test/unit/proto/test_stmsgs
	@rm -rf $(@D) && mkdir -p $(@D)
	STMSGS_SEED_DIR=$(@D) $< >$(@D)/test_stmsgs.log 2>&1 || { cat $(@D)/test_stmsgs.log; exit 1; }
	@touch $@

test-build: deps-test
	$(MAKE) --no-print-directory -j$(JOBS) $(TEST_BINS) $(UNIT_BINS) $(REPLAY_BINS) $(BINS) $(WIDGET_JS) $(DASH_JS) $(STMSGS_SAMPLES)

# test-build in two halves for make test: what the integration and browser
# tests run (test-build-node), then the unit tests and fuzz replays
# (test-build-unit), more than half of the build's CPU, which
# scripts/test.sh builds in the background while the node tests run.
test-build-node: deps-test
	$(MAKE) --no-print-directory -j$(JOBS) $(TEST_BINS) $(BINS) $(WIDGET_JS) $(DASH_JS) $(STMSGS_SAMPLES)
test-build-unit: deps-test
	$(MAKE) --no-print-directory -j$(JOBS) $(UNIT_BINS) $(REPLAY_BINS)

# make test times itself from here, the build included.
test:
	@PARLEY_TEST_T0=$$(date +%s); export PARLEY_TEST_T0; \
	$(MAKE) --no-print-directory test-build-node && \
	PARLEY_TEST_BUILT=$$(date +%s) scripts/test.sh

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory -j$(JOBS) $(if $(FUZZ_TARGETS),$(patsubst %,build/fuzz/bin/fuzz_%,$(FUZZ_TARGETS)),$(FUZZ_BINS))
	scripts/fuzz.sh

# tests/cluster/ with its full figures printed (200 visitors), on the
# release build (bin/); make test runs the same files short, under ASan.
cluster-test: deps-test all
	PARLEY_BIN=$$PWD/bin PARLEY_CLUSTER_FULL=1 node --test --test-concurrency=1 tests/cluster/*.test.mjs

# The knowledge section's drivers (make bench builds them): the evaluation
# driver (tests/bench/kbeval.c: storaged's index on a temporary store, for
# tests/bench/knowledge/search-eval.mjs --kbeval), the search speed beside
# SQLite FTS5 (kbspeed.c, linking libsqlite3) and the ingest rate
# (kbingest.c: workerd/fetch's extraction and chunking, then the index).
KBEVAL := build/release/bench/kbeval
KBSPEED := build/release/bench/kbspeed
KBINGEST := build/release/bench/kbingest
KBVECBENCH := build/release/bench/kbvecbench
KB_BENCH := $(KBEVAL) $(KBSPEED) $(KBINGEST) $(KBVECBENCH)
KB_FETCH_SRC := workerd/fetch/html.c workerd/fetch/chunk.c
$(call objs,release,tests/bench/kbeval.c tests/bench/kbspeed.c): INC := $(addprefix -I,$(DIR_storaged) $(SHARED_DIRS))
$(call objs,release,tests/bench/kbingest.c): INC := $(addprefix -I,$(DIR_storaged) workerd/fetch $(SHARED_DIRS))
$(KBEVAL): $(call objs,release,tests/bench/kbeval.c $(call with_shared,storaged))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)
$(KBSPEED): $(call objs,release,tests/bench/kbspeed.c $(call with_shared,storaged))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS) -lsqlite3
$(KBINGEST): $(call objs,release,tests/bench/kbingest.c $(KB_FETCH_SRC) $(call with_shared,storaged))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# The vector index's benchmark (tests/bench/kbvecbench.c): insert time,
# top-20 search p50/p99 and recall@20 at 10,000 and 100,000 vectors of
# 1,536 dimensions (make bench's knowledge section runs it).
$(call objs,release,tests/bench/kbvecbench.c): INC := $(addprefix -I,$(DIR_storaged) $(SHARED_DIRS))
$(KBVECBENCH): $(call objs,release,tests/bench/kbvecbench.c $(call with_shared,storaged))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# What listing and adding to one organisation's records costs as the
# organisations grow (tests/bench/orglists.c; make bench's lists section).
ORGLISTS := build/release/bench/orglists
$(call objs,release,tests/bench/orglists.c): INC := $(addprefix -I,$(DIR_storaged) $(SHARED_DIRS))
$(ORGLISTS): $(call objs,release,tests/bench/orglists.c $(call with_shared,storaged))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# A storaged without the reports' rollups (-DPARLEY_BENCH_NO_ROLLUPS:
# conv_save reads no stored record and moves no report row), for make
# bench's rollups section: the rollups' cost to a turn, side by side. Its
# two changed files compiled apart; the rest is the release build's.
NOROLLUPS := build/release/bench/parley-storaged-norollups
NOROLLUPS_SRC := storaged/convstore.c storaged/rollups.c
build/release/norollups/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -DPARLEY_BENCH_NO_ROLLUPS $(addprefix -I,$(DIR_storaged) $(SHARED_DIRS)) $(DEPS_TO) -c -o $@ $< && $(DEPS_DONE)
$(NOROLLUPS): $(patsubst %.c,build/release/norollups/%.o,$(NOROLLUPS_SRC)) \
    $(call objs,release,$(filter-out $(NOROLLUPS_SRC),$(SRC_storaged)) $(filter-out $(SRC_storaged),$(SHARED_LIB)))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

bench: deps-bench all $(KB_BENCH) $(NOROLLUPS) $(ORGLISTS)
	scripts/bench.sh

# The PDF reader's speed (tests/bench/pdftime.c: pages per second of
# pdf_extract on the PDFs it is given; make build/release/bench/pdftime).
PDFTIME := build/release/bench/pdftime
$(call objs,release,tests/bench/pdftime.c): INC := $(addprefix -I,$(DIR_workerd) $(SHARED_DIRS))
$(PDFTIME): $(call objs,release,tests/bench/pdftime.c workerd/fetch/pdf.c workerd/fetch/html.c lib/util.c)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# What reading a model stream's chunk costs (tests/bench/chunkparse.c:
# make build/release/bench/chunkparse, then count it with callgrind).
CHUNKPARSE := build/release/bench/chunkparse
$(call objs,release,tests/bench/chunkparse.c): INC := $(addprefix -I,workerd/model $(SHARED_DIRS))
$(CHUNKPARSE): $(call objs,release,tests/bench/chunkparse.c workerd/model/sse.c lib/jscan.c lib/util.c)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# What libcurl's HTTP layer costs one model request beside the same
# request by hand on the connection libcurl made (tests/bench/curlcost.c;
# make build/release/bench/curlcost, then run it against bin/mockai).
CURLCOST := build/release/bench/curlcost
$(CURLCOST): $(call objs,release,tests/bench/curlcost.c)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# Ways to make the log's record durable on this disk (tests/bench/flushways.c:
# write + fdatasync as storaged does, O_DSYNC, O_DIRECT; make
# build/release/bench/flushways, then run it with a folder and a count).
FLUSHWAYS := build/release/bench/flushways
$(FLUSHWAYS): $(call objs,release,tests/bench/flushways.c)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^)

# What storaged's open write transaction takes of the map against what it
# logs, by request type (tests/bench/mapuse.c, over fuzz_dispatch's corpus;
# make build/release/bench/mapuse, then run it with the corpus and rounds).
MAPUSE := build/release/bench/mapuse
$(call objs,release,tests/bench/mapuse.c): INC := $(addprefix -I,$(DIR_storaged) $(SHARED_DIRS))
$(MAPUSE): $(call objs,release,tests/bench/mapuse.c $(call with_shared,storaged))
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# tests/integration/webhooks-durability.test.mjs at the issue's figures.
soak: test-build-node
	PARLEY_BIN=$$PWD/build/test/bin WEBHOOK_OUTAGE_MS=120000 WEBHOOK_RETRY_MS=5000 \
	    node --test tests/integration/webhooks-durability.test.mjs

run: all
	scripts/run.sh

deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench
deps-deb:
	@scripts/deps.sh deb
deps-fuzz:
	@scripts/deps.sh fuzz

# ---------------------------------------------------------------- install
# make install [PREFIX=/usr/local] [DESTDIR=…]; make uninstall (same ones).
# GNU directory variables, each overridable; prefix and PREFIX are the
# same thing (either spelling). Daemons and parleyctl go to $(sbindir)
# (masterd runs the parley-workerd beside it), the assets to
# $(datadir)/parley (workerd finds <prefix>/share/parley from its own
# binary, so a DESTDIR tree runs as it is), the units to $(systemdunitdir)
# with their paths rewritten to these, the manual pages to $(mandir).
# sysconfdir is /etc whatever the prefix (the units read
# /etc/parley/parley.env); the example environment file is installed there
# mode 0640 only when none exists, and uninstall leaves it (it holds keys).
PREFIX      ?= /usr/local
prefix      ?= $(PREFIX)
exec_prefix ?= $(prefix)
sbindir     ?= $(exec_prefix)/sbin
datarootdir ?= $(prefix)/share
datadir     ?= $(datarootdir)
mandir      ?= $(datarootdir)/man
sysconfdir  ?= /etc
# /usr: systemd's own directory (pkg-config systemd); else $(prefix)/lib/systemd/system,
# which systemd also reads for /usr/local.
systemdunitdir ?= $(if $(filter /usr,$(prefix)),$(or $(shell pkg-config \
                  --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system),$(prefix)/lib/systemd/system)
sysusersdir ?= $(if $(filter /usr,$(prefix)),$(or $(shell pkg-config \
                  --variable=sysusersdir systemd 2>/dev/null),/usr/lib/sysusers.d),$(prefix)/lib/sysusers.d)
INSTALL     ?= install

INST_BINS   = $(filter bin/parley-% bin/parleyctl,$(BINS))
INST_WIDGET = widget/dist/chat-widget.js widget/dist/chat-widget.js.gz
INST_PARTS  = $(wildcard widget/dist/parts/*.js widget/dist/parts/*.js.gz)
INST_LANG   = $(wildcard widget/dist/lang/*.js widget/dist/lang/*.js.gz)
INST_PAGES  = $(wildcard widget/pages/*.html widget/pages/*.js widget/pages/*.css)
INST_DASH   = $(wildcard dashboard/*.html)
INST_DASHA  = $(filter-out $(DASH_JS) $(DASH_GZ),$(wildcard dashboard/assets/*)) $(DASH_JS) $(DASH_GZ)
INST_UNITS  = $(wildcard systemd/*.service systemd/*.socket)
INST_USERS  = $(wildcard systemd/parley.sysusers.conf)
INST_MAN8   = $(wildcard man/*.8)
INST_MAN5   = $(wildcard man/*.5)
ENV_FILE    = $(DESTDIR)$(sysconfdir)/parley/parley.env
# Paths in units and manual pages: @sbindir@ and the like, and the
# absolute paths of our programs and of /etc/parley/.
INST_SED = sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@datadir@|$(datadir)|g' \
	-e 's|@sysconfdir@|$(sysconfdir)|g' -e 's|@prefix@|$(prefix)|g' \
	-e 's,/[^[:space:]=\"]*/\(parley-[a-z]*d\|parley-fetch\|parleyctl\)\b,$(sbindir)/\1,g' \
	-e 's|/etc/parley/|$(sysconfdir)/parley/|g' -e 's|/usr/local/share/parley|$(datadir)/parley|g'

install: all
	@$(MAKE) --no-print-directory install-files

install-files:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(sbindir) \
	    $(DESTDIR)$(datadir)/parley/widget/dist $(DESTDIR)$(datadir)/parley/widget/pages \
	    $(DESTDIR)$(datadir)/parley/widget/dist/parts $(DESTDIR)$(datadir)/parley/widget/dist/lang \
	    $(DESTDIR)$(datadir)/parley/dashboard/assets $(DESTDIR)$(systemdunitdir) \
	    $(DESTDIR)$(mandir)/man5 $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(sysconfdir)/parley \
	    $(if $(INST_USERS),$(DESTDIR)$(sysusersdir))
	$(INSTALL) -m 0755 $(INST_BINS) $(DESTDIR)$(sbindir)/
	$(INSTALL) -m 0644 $(INST_WIDGET) $(DESTDIR)$(datadir)/parley/widget/dist/
	$(INSTALL) -m 0644 $(INST_PARTS) $(DESTDIR)$(datadir)/parley/widget/dist/parts/
	$(INSTALL) -m 0644 $(INST_LANG) $(DESTDIR)$(datadir)/parley/widget/dist/lang/
	$(INSTALL) -m 0644 $(INST_PAGES) $(DESTDIR)$(datadir)/parley/widget/pages/
	$(INSTALL) -m 0644 $(INST_DASH) $(DESTDIR)$(datadir)/parley/dashboard/
	$(INSTALL) -m 0644 $(INST_DASHA) $(DESTDIR)$(datadir)/parley/dashboard/assets/
	@set -e; for f in $(INST_UNITS) $(INST_USERS) $(INST_MAN8) $(INST_MAN5); do \
	    n=$${f##*/}; case $$f in *.8) d=$(mandir)/man8 ;; *.5) d=$(mandir)/man5 ;; \
	    *.sysusers.conf) d=$(sysusersdir); n=parley.conf ;; *) d=$(systemdunitdir) ;; esac; \
	    so=$$(sed -n '1s|^\.so man[0-9]/\([^/]*\)$$|\1|p' $$f); \
	    if [ -n "$$so" ] && [ $$(wc -l < $$f) = 1 ]; then \
	        echo "install $$f -> $(DESTDIR)$$d/$$n (a link to $$so)"; \
	        ln -sfn $$so $(DESTDIR)$$d/$$n; continue; \
	    fi; \
	    echo "install $$f -> $(DESTDIR)$$d/$$n"; \
	    $(INST_SED) $$f > $(DESTDIR)$$d/$$n.tmp; \
	    chmod 0644 $(DESTDIR)$$d/$$n.tmp; mv -f $(DESTDIR)$$d/$$n.tmp $(DESTDIR)$$d/$$n; \
	done
	@if [ -e $(ENV_FILE) ]; then \
	    echo "install: kept the existing $(ENV_FILE)"; \
	else \
	    $(INST_SED) docs/parley.env.example > $(ENV_FILE).tmp && chmod 0640 $(ENV_FILE).tmp && \
	    mv $(ENV_FILE).tmp $(ENV_FILE) && echo "install docs/parley.env.example -> $(ENV_FILE) (mode 0640)"; \
	fi
	@# A real install on a running systemd: the parley user, the new units.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then \
	    $(if $(INST_USERS),systemd-sysusers $(sysusersdir)/parley.conf || true;) \
	    systemctl daemon-reload || true; \
	fi

# Everything install put, but the environment file (it holds the keys).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(sbindir)/,$(notdir $(INST_BINS)))
	rm -f $(addprefix $(DESTDIR)$(datadir)/parley/,$(INST_WIDGET) $(INST_PARTS) $(INST_LANG) $(INST_PAGES) $(INST_DASH) $(INST_DASHA))
	rm -f $(addprefix $(DESTDIR)$(systemdunitdir)/,$(notdir $(INST_UNITS)))
	rm -f $(if $(INST_USERS),$(DESTDIR)$(sysusersdir)/parley.conf)
	rm -f $(addprefix $(DESTDIR)$(mandir)/man8/,$(notdir $(INST_MAN8)))
	rm -f $(addprefix $(DESTDIR)$(mandir)/man5/,$(notdir $(INST_MAN5)))
	rmdir $(DESTDIR)$(datadir)/parley/widget/dist/parts $(DESTDIR)$(datadir)/parley/widget/dist/lang \
	    $(DESTDIR)$(datadir)/parley/widget/dist $(DESTDIR)$(datadir)/parley/widget/pages \
	    $(DESTDIR)$(datadir)/parley/widget $(DESTDIR)$(datadir)/parley/dashboard/assets \
	    $(DESTDIR)$(datadir)/parley/dashboard $(DESTDIR)$(datadir)/parley 2>/dev/null || true
	@[ -e $(ENV_FILE) ] && echo "uninstall: left $(ENV_FILE) (it holds your keys; remove it yourself)" || true

.PHONY: install install-files uninstall

# ---------------------------------------------------------------- deb
# make deb: build/deb/parley_$(VERSION)_<arch>.deb and parley-dbgsym, by
# dpkg-buildpackage with debian/ (debhelper's dh: the release build above,
# make install-files into debian/parley with PREFIX=/usr, stripped
# binaries, compressed manual pages, the units, the parley user from
# sysusers, /etc/parley/parley.env as a conffile), then lintian on it.
# Its .buildinfo and .changes go to build/deb/ too, never to the parent
# directory. The version is debian/changelog's (dch -v to change it).
DEB_DIR  := build/deb
DEB_ARCH  = $(shell dpkg-architecture -qDEB_HOST_ARCH)
DEB_CHANGES = $(DEB_DIR)/parley_$(VERSION)_$(DEB_ARCH).changes

deb: deps-deb
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)
	dpkg-buildpackage -b -us -uc --buildinfo-option=-u$(DEB_DIR) \
	    --changes-option=-u$(DEB_DIR) \
	    --buildinfo-file=$(DEB_DIR)/parley_$(VERSION)_$(DEB_ARCH).buildinfo \
	    --changes-file=$(DEB_CHANGES)
	lintian --info --display-info $(DEB_CHANGES)
	@ls -l $(DEB_DIR)/*.deb

clean:
	rm -rf bin build widget/dist $(DASH_JS) $(DASH_GZ)

.PHONY: all build-release widget dashboard test cluster-test soak test-build test-build-node test-build-unit fuzz bench run clean deps-build deps-test deps-bench deps-deb deps-fuzz deb

-include $(shell find build -name '*.d' 2>/dev/null)
