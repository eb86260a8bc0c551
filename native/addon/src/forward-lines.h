/*
 * The forwarder's copy of entry records into a batch body: each record's NDJSON (the payload
 * after its header) and a newline, in order, until the batch is full or a record needs the
 * JavaScript side (an entry with a lang_key and an empty message, which the forwarder sends
 * with the message rendered). The JavaScript twin is the loop in
 * static-plugins/log_aggregator_remote/index.ts (addRecordsJs); test/forward/forward-lines.test.ts
 * holds the two to the same bytes.
 */
#ifndef LOGLOOM_FORWARD_LINES_H
#define LOGLOOM_FORWARD_LINES_H
#include <stddef.h>
#include <stdint.h>

/* Why ll_forward_lines stopped (result[3]). */
enum { LINES_END = 0, LINES_RENDER = 1, LINES_FULL = 2 };

/*
 * Copies records of frames[from, len) into out[at, out_len) as NDJSON lines. Stops after the
 * record that brings the lines copied to max_records or their bytes to max_bytes (LINES_FULL),
 * before a record that holds both `"message":""` and `"lang_key":"` (LINES_RENDER), before a
 * record whose line does not fit in out (LINES_END, as at the end of frames), or at the end.
 * result: [records copied, frames offset after them, bytes written, why it stopped].
 */
void ll_forward_lines(const uint8_t *frames, size_t len, size_t from, uint8_t *out, size_t out_len, size_t at,
                      uint32_t max_records, double max_bytes, double result[4]);

#endif
