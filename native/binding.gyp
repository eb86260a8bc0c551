{
  "variables": {
    # 1 for a locked build: no dynamic plugin loading in the addon (no dlopen linked in).
    "logloom_locked%": "<!(echo ${LOGLOOM_LOCKED:-0})"
  },
  "targets": [
    {
      "target_name": "logloom_native",
      "sources": ["addon/src/addon.c", "addon/src/args.c", "addon/src/ring.c", "addon/src/codec.c", "addon/src/entry.c", "addon/src/ndjson.c", "addon/src/syslog.c", "addon/src/kmsg.c", "addon/src/console.c", "addon/src/ingest.c", "addon/src/inflate.c", "addon/src/dgram.c", "addon/src/startup-pages.c", "addon/src/levels.c", "addon/src/forward-lines.c", "addon/src/deflate.c"],
      "include_dirs": ["include", "common"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type", "-Werror=implicit-function-declaration"],
      "defines": ["NAPI_VERSION=8", "LOGLOOM_LOCKED=<(logloom_locked)"],
      "conditions": [
        ["logloom_locked==0", {
          "sources": ["addon/src/inproc.c", "common/plugin_loader.c", "common/records.c"],
          "libraries": ["-ldl"]
        }]
      ]
    }
  ]
}
