# Logloom: the two commands are `make demo` and `make test`; both install what they need.
SHELL := /bin/bash
NODE_DIR := $(shell toolchain/node-runtime.sh x64)
export PATH := $(NODE_DIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# node-gyp builds against the pinned runtime's headers and never downloads any.
export npm_config_nodedir := $(NODE_DIR)
NODE := $(NODE_DIR)/bin/node --disable-warning=ExperimentalWarning
TESTS ?= $(shell find test -name '*.test.ts' | sort)
PROFILE ?= default

.PHONY: setup demo test typecheck unit fuzz test-plugins static-table bundle bench clean docs package rootfs

# System packages (apt, only when missing) and node_modules (npm ci, only when the lock changed).
# Each goal installs what its purpose needs (toolchain/bootstrap.sh): make demo only a C compiler
# and python3, make package the cross compilers and qemu, make test everything the tests use.
BOOTSTRAP ?= test
setup: node_modules/.stamp
	@toolchain/bootstrap.sh $(BOOTSTRAP)

node_modules/.stamp: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

demo: BOOTSTRAP = demo
demo: setup
	bin/logloom demo

test: setup typecheck unit

typecheck: setup
	tsc --noEmit -p .

unit: setup native
	$(NODE) --test --test-concurrency=2 --test-timeout=120000 $(TESTS)

# The seeded fuzz suites alone, longer (they also run, briefly, in `make test`): each suite fuzzes for
# SECONDS; a failure prints its seed, and FUZZ_SEED=<seed> make fuzz replays it (docs/security.md).
SECONDS ?= 60
fuzz: setup native
	FUZZ_SEED=$${FUZZ_SEED:-random} FUZZ_SECONDS=$(SECONDS) $(NODE) --test --test-concurrency=1 --test-timeout=0 test/fuzz/*.test.ts

# Conformance check of every plugin in the repository (logloom plugins check), then the Python and
# socket plugins in a running agent: normal run, failure fallback, limited execution.
test-plugins: setup native
	$(NODE) toolchain/test-plugins.ts
	$(NODE) --test --test-concurrency=2 --test-timeout=120000 test/plugins/process/*.test.ts

# Regenerate the static plugin table and hosts table from a profile (PROFILE=default|locked), and each
# compiled-in plugin's info from its plugin.yaml.
static-table: setup
	$(NODE) toolchain/gen-static-table.ts --profile $(PROFILE)
	$(NODE) toolchain/gen-plugin-info.ts

# One-file bundle of the CLI for a profile: dist/logloom-$(PROFILE).mjs
bundle: setup
	$(NODE) toolchain/bundle.ts --profile $(PROFILE)

# Single executables: make package [TARGET="x64 arm64"|armv7] [PROFILE=default|locked] (docs/building.md)
TARGET ?= x64 arm64
package: BOOTSTRAP = package
package: setup
	$(NODE) toolchain/package.ts --profile $(PROFILE) $(addprefix --target ,$(TARGET)) $(if $(HEAP_MIB),--heap-mib $(HEAP_MIB)) $(if $(SEMI_SPACE_MIB),--semi-space-mib $(SEMI_SPACE_MIB)) $(if $(STARTUP),--startup $(STARTUP))

# Device overlays: dist/rootfs-<target>.tar.gz with the executable at usr/bin/logloom
rootfs: package
	@for t in $(TARGET); do toolchain/rootfs.sh $$t $(PROFILE) || exit 1; done

# Every bench at its defaults, one after another (bench/README.md says what each measures; query.ts
# alone takes several minutes). lib.ts and fleet-entries.ts are their shared modules, not benches.
bench: setup native
	@for b in $(filter-out bench/lib.ts bench/fleet-entries.ts,$(wildcard bench/*.ts)); do echo "== $$b"; $(NODE) $$b || exit 1; done

clean:
	rm -rf dist build native/build

# Regenerates docs/configuration.md from the configuration schema, docs/metrics.md from the declared
# metrics, and each compiled-in plugin's info (static-plugins/*/info.generated.ts) from its plugin.yaml.
docs: setup
	$(NODE) toolchain/gen-config-docs.ts
	$(NODE) toolchain/gen-metrics-docs.ts
	$(NODE) toolchain/gen-plugin-info.ts

include native/native.mk
