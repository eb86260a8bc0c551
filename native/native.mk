# The C parts: the N-API addon (ring buffer, fast codec, in-process plugins) and the plugin host.
# Included by the top Makefile. Parametrised for cross builds (the packaging engineer's job):
#   make native CC=aarch64-linux-gnu-gcc NATIVE_ARCH=arm64 npm_config_nodedir=<arm64 node dir>
#   make native NATIVE_LOCKED=1   (locked profile: no plugin loading in the addon; the host is not shipped)
# Output stays under native/build/ (gitignored); node-gyp never downloads headers (nodedir).
CC ?= cc
NATIVE_ARCH ?= x64
# 1 for a locked build: the addon is built without the in-process plugin loader (no dlopen at all).
NATIVE_LOCKED ?= 0
NATIVE_ADDON := native/build/Release/logloom_native.node
NATIVE_HOST := native/build/logloom-plugin-host
NATIVE_LAUNCHER := native/build/logloom-launcher
NATIVE_COMMON := native/common/plugin_loader.c native/common/plugin_loader.h native/common/records.c native/common/records.h native/common/frames.h native/include/logloom_plugin.h

.PHONY: native
native: $(NATIVE_ADDON) $(NATIVE_HOST) $(NATIVE_LAUNCHER)

$(NATIVE_ADDON): native/binding.gyp $(wildcard native/addon/src/*) $(NATIVE_COMMON) | node_modules/.stamp
	cd native && CC=$(CC) LOGLOOM_LOCKED=$(NATIVE_LOCKED) node-gyp rebuild --arch=$(NATIVE_ARCH) --loglevel=warn

# -Os and stripped: the host's own RSS must stay well under 2 MiB.
$(NATIVE_HOST): native/plugin-host/host.c $(NATIVE_COMMON)
	@mkdir -p native/build
	$(CC) -std=gnu11 -Os -s -Wall -Wextra -o $@ native/plugin-host/host.c native/common/plugin_loader.c native/common/records.c -ldl

# The plugin sandbox launcher (docs/plugin-sandbox.md); plain libc only.
$(NATIVE_LAUNCHER): $(wildcard native/launcher/*.c native/launcher/*.h)
	@mkdir -p native/build
	$(CC) -std=gnu11 -Os -s -Wall -Wextra -o $@ native/launcher/*.c
