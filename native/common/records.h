/*
 * Entry records, the form entries take in the agent's ring buffer (agent/buffer/records.ts):
 * framed `u32 length (LE) | payload`, back to back, each payload one entry as JSON (the bytes of
 * JSON.stringify(entry)), preceded by a header: none, the byte 'E' (a record made by the fast
 * codec), or 'K' + u32 token + u16 input id (LE; a record carrying an input checkpoint's
 * acknowledgement token and the input it came from). Plugins never see the header: they get
 * log_entry_t (ll_records_decode) or the NDJSON.
 *
 * The records path (docs/c-plugins.md) hands such a run straight to C plugins, so entries that
 * pass only through C filters and the forwarder never become JS objects. ll_records_decode is
 * the one place those bytes become log_entry_t, for the plugin host ('R' frames) and for trusted
 * plugins in the addon alike.
 */
#ifndef LOGLOOM_RECORDS_H
#define LOGLOOM_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "../include/logloom_plugin.h"

/* What ll_records_decode allocates; ll_records_free releases it. */
typedef struct {
  log_entry_t *entries;
  const char **args; /* every entry's args, back to back; entries point into it */
  char *arena;       /* the unescaped, NUL-terminated strings the entries point to */
} ll_records_t;

/*
 * Decodes n framed records. Returns the entry count, or -1 when a frame or its JSON is malformed
 * (nothing to free then). Keys other than the entry's (fields, seq, truncated) are skipped;
 * missing fields get the same defaults as the binary batch (message "", level "INFO", module
 * "APP"); numbers and literals among args are passed as their JSON text.
 */
long ll_records_decode(const uint8_t *buf, size_t len, ll_records_t *out);

void ll_records_free(ll_records_t *r);

#endif
