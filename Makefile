# Parley — build, test, run.
#
#   make          optimised daemons into bin/, the widget bundle into widget/dist/
#   make test     every test (unit, fuzz, integration, browser) on an ASan+UBSan build
#   make run      the whole product in the foreground (Ctrl-C stops it)
#   make bench    benchmarks (not part of the tests)
#   make widget   only the widget bundle (npm + esbuild; see widget/README.md)
#   make clean
#
# Each daemon directory holds main.c (the program) and library files; a
# file named test_*.c is a cmocka unit test and fuzz_*.c a libFuzzer
# target, each linked with its directory's library files and proto/.

CC       ?= cc
FUZZCC   ?= clang
PKGS     := libcurl lmdb libbsd-overlay openssl jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lwslay

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iproto $(PKG_CFLAGS) -MMD -MP
REL_CFLAGS  := $(BASE_CFLAGS) -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN         := -fsanitize=address,undefined -fno-sanitize-recover=undefined
TEST_CFLAGS := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer $(SAN)
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Iproto \
               $(PKG_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined

DAEMONS  := masterd workerd storaged
lib_src   = $(filter-out $(1)/main.c $(1)/test_%.c $(1)/fuzz_%.c,$(wildcard $(1)/*.c))
PROTO_SRC := $(call lib_src,proto)

# The widget bundle (rules below, under "widget").
WIDGET_JS  := widget/dist/chat-widget.js
WIDGET_SRC := $(wildcard widget/src/*) widget/build.mjs widget/package.json
WIDGET_NPM := widget/node_modules/.package-lock.json

# ---------------------------------------------------------------- release
MOCKAI_SRC := $(wildcard tests/mockai/*.c)
BINS := $(addprefix bin/parley-,$(DAEMONS)) $(if $(MOCKAI_SRC),bin/mockai)

# pkg-config flags are read when make starts, so build in a second make
# once the dependency step has installed what was missing.
all: deps-build
	@$(MAKE) --no-print-directory build-release

build-release: $(BINS) $(WIDGET_JS)

define daemon_rules
bin/parley-$(1): $(patsubst %.c,build/release/%.o,$(filter-out $(1)/test_%.c $(1)/fuzz_%.c,$(wildcard $(1)/*.c)) $(PROTO_SRC)) | bin
	$$(CC) $$(REL_CFLAGS) -o $$@ $$(filter %.o,$$^) $$(PKG_LIBS)
build/test/bin/parley-$(1): $(patsubst %.c,build/test/%.o,$(filter-out $(1)/test_%.c $(1)/fuzz_%.c,$(wildcard $(1)/*.c)) $(PROTO_SRC))
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

# The mock OpenAI-compatible model is part of the project (tests/mockai).
bin/mockai: $(patsubst %.c,build/release/%.o,$(wildcard tests/mockai/*.c) $(PROTO_SRC)) | bin
	$(CC) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)

build/release/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

build/test/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

# openapi.c embeds workerd/openapi.json (.incbin): rebuild it when that changes.
build/release/workerd/openapi.o build/test/workerd/openapi.o: workerd/openapi.json

bin:
	mkdir -p bin

# ---------------------------------------------------------------- widget
# The widget bundle the workers serve: widget/dist/chat-widget.js and the
# .gz beside it, built by esbuild (widget/package-lock.json). npm ci runs
# when widget/node_modules is missing or older than the lockfile; the
# bundle is rebuilt when a source changes. build.mjs fails when the gzipped
# bundle is over 12 KiB.
$(WIDGET_NPM): widget/package-lock.json
	npm ci --prefix widget --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET_JS): $(WIDGET_SRC) $(WIDGET_NPM)
	node widget/build.mjs

widget: $(WIDGET_JS)

# ---------------------------------------------------------------- tests
UNIT_SRC := $(foreach d,proto $(DAEMONS),$(wildcard $(d)/test_*.c))
UNIT_BINS := $(patsubst %.c,build/test/unit/%,$(notdir $(UNIT_SRC)))
FUZZ_SRC := $(foreach d,proto $(DAEMONS),$(wildcard $(d)/fuzz_*.c))
FUZZ_BINS := $(patsubst %.c,build/fuzz/%,$(notdir $(FUZZ_SRC)))

define unit_rule
build/test/unit/$(basename $(notdir $(1))): build/test/$(basename $(1)).o $(patsubst %.c,build/test/%.o,$(call lib_src,$(patsubst %/,%,$(dir $(1)))) $(PROTO_SRC))
	@mkdir -p $$(@D)
	$$(CC) $$(TEST_CFLAGS) -o $$@ $$(sort $$^) $$(PKG_LIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_rule,$(t))))

define fuzz_rule
build/fuzz/$(basename $(notdir $(1))): $(1) $(call lib_src,$(patsubst %/,%,$(dir $(1)))) $(PROTO_SRC)
	@mkdir -p $$(@D)
	$$(FUZZCC) $$(FUZZ_CFLAGS) -o $$@ $$(sort $$^) $$(PKG_LIBS)
endef
$(foreach t,$(FUZZ_SRC),$(eval $(call fuzz_rule,$(t))))

TEST_BINS := $(addprefix build/test/bin/parley-,$(DAEMONS)) $(if $(MOCKAI_SRC),build/test/bin/mockai)

build/test/bin/mockai: $(patsubst %.c,build/test/%.o,$(wildcard tests/mockai/*.c) $(PROTO_SRC))
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $^ $(PKG_LIBS)

test-build: deps-test
	$(MAKE) --no-print-directory $(TEST_BINS) $(UNIT_BINS) $(FUZZ_BINS) $(BINS) $(WIDGET_JS)

test: test-build
	scripts/test.sh

bench: deps-bench all
	scripts/bench.sh

run: all
	scripts/run.sh

deps-build:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

clean:
	rm -rf bin build widget/dist

.PHONY: all build-release widget test test-build bench run clean deps-build deps-test deps-bench

-include $(shell find build -name '*.d' 2>/dev/null)
