/*
 * Releasing the executable's start-up pages. Starting Node touches about 50 MiB of the
 * executable's code and read-only data (V8 and ICU initialisation, the snapshot, the bundled
 * script) that the running agent never touches again; the kernel keeps them mapped, counted in
 * the process's RSS, until memory runs short. On a gateway that RSS is what the operator sees
 * and budgets, so once the agent has started it asks the kernel to unmap them: they stay in the
 * page cache (reclaimable), and a page touched again is mapped again on its next access (a minor
 * fault; from disk only if the kernel has meanwhile dropped it).
 */
#ifndef LOGLOOM_STARTUP_PAGES_H
#define LOGLOOM_STARTUP_PAGES_H

#include <stddef.h>

/*
 * Unmaps (madvise MADV_RANDOM, then MADV_DONTNEED) the resident pages of every read-only private mapping of the
 * running executable (/proc/self/exe) that holds no page of its own (Anonymous and Private_Dirty
 * 0 in /proc/self/smaps: nothing there differs from the file, so dropping a page loses nothing;
 * relocated read-only data, which does differ, is left alone). Returns the number of mappings
 * released and sets *released_kib to the resident KiB they held before; -errno on failure (no
 * /proc, …), having released nothing.
 */
int ll_release_startup_pages(size_t *released_kib);

#endif
