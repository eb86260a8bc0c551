/*
 * The forwarder's batch bodies deflated off the main thread: one zlib deflate state per encoder,
 * reset for each body (a new state per batch allocated and zeroed ~270 KiB each time), run on
 * libuv's thread pool through N-API async work. Level 1, a whole zlib stream (RFC 1950) per body:
 * the bytes node:zlib's deflate({ level: 1 }) gives (test/forward/protocol.test.ts compares them).
 */
#ifndef LOGLOOM_DEFLATE_H
#define LOGLOOM_DEFLATE_H
#include <node_api.h>

/* deflaterNew() → an encoder handle; deflaterRun(handle, body) → Promise<Buffer> (one body at a time per handle). */
napi_value ll_deflater_new(napi_env env, napi_callback_info info);
napi_value ll_deflater_run(napi_env env, napi_callback_info info);

#endif
