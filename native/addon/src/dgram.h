/*
 * Unix datagram sockets for the agent (Node has none): the `devlog` input's /dev/log. A socket is
 * bound at a path and read by a thread of its own; datagrams go to JavaScript in batches through a
 * thread-safe function. While JavaScript is behind (its queue full) or has paused the socket, the
 * thread stops reading, so the kernel's socket queue fills and senders wait — the same
 * backpressure journald and rsyslog give syslog(3) callers.
 */
#ifndef LOGLOOM_DGRAM_H
#define LOGLOOM_DGRAM_H
#include <node_api.h>

/* dgramOpen(path, mode, maxBytes, onBatch(data: Buffer, meta: Int32Array)) -> handle */
napi_value DgramOpen(napi_env env, napi_callback_info info);
/* dgramPause(handle, paused: boolean) */
napi_value DgramPause(napi_env env, napi_callback_info info);
/* dgramClose(handle): stops the thread, closes the socket (the path is the caller's to unlink). */
napi_value DgramClose(napi_env env, napi_callback_info info);
#endif
