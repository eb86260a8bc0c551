/*
 * Trusted plugins in the agent's own process (manifest `trusted: true`): no isolation, but a
 * SIGSEGV, SIGBUS or SIGFPE raised inside a plugin call is turned into a failed call
 * (sigsetjmp/siglongjmp) instead of killing the agent. Limits (docs/c-plugins.md): an endless
 * loop blocks the agent; abort() is not caught; memory the plugin corrupted before faulting stays
 * corrupted, so a plugin that faulted is never called again (the supervisor restarts it by
 * loading a fresh handle, which for the same .so path reuses the already-mapped library).
 */
#ifndef LOGLOOM_INPROC_H
#define LOGLOOM_INPROC_H
#include <stddef.h>
#include <stdint.h>
#include "../../common/plugin_loader.h"

/* Runs the batch with fault signals guarded. Returns 0, or the signal number that was caught. */
int inproc_run(ll_plugin_t *p, int is_sink, const log_entry_t *entries, size_t n, int32_t *results);
#endif
