{
  "targets": [
    {
      "target_name": "logloom_native",
      "sources": [
        "addon/src/addon.c",
        "addon/src/ring.c",
        "addon/src/codec.c",
        "addon/src/inproc.c",
        "common/plugin_loader.c"
      ],
      "include_dirs": ["include", "common"],
      "cflags_c": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-cast-function-type"],
      "libraries": ["-ldl"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
