/* See forward-lines.h. */
#define _GNU_SOURCE
#include "forward-lines.h"

#include <string.h>

static const char EMPTY_MESSAGE[] = "\"message\":\"\"";
static const char LANG_KEY[] = "\"lang_key\":\"";

void ll_forward_lines(const uint8_t *frames, size_t len, size_t from, uint8_t *out, size_t out_len, size_t at,
                      uint32_t max_records, double max_bytes, double result[4]) {
  size_t off = from, w = at;
  uint32_t records = 0;
  double bytes = 0;
  int why = LINES_END;
  while (off + 4 <= len) {
    uint32_t n;
    memcpy(&n, frames + off, 4);
    size_t end = off + 4 + (size_t)n;
    if (end > len) break;
    /* The header (agent/buffer/records.ts recordStart): 'E' alone, 'K' + u32 token + u16 input, or none. */
    size_t start = off + 4;
    if (n > 0 && frames[start] == 'E') start += 1;
    else if (n > 0 && frames[start] == 'K') start += 7;
    if (start > end) start = end;
    size_t line = end - start;
    if (memmem(frames + start, line, EMPTY_MESSAGE, sizeof EMPTY_MESSAGE - 1) &&
        memmem(frames + start, line, LANG_KEY, sizeof LANG_KEY - 1)) {
      why = LINES_RENDER;
      break;
    }
    if (w + line + 1 > out_len) break;
    memcpy(out + w, frames + start, line);
    w += line;
    out[w++] = '\n';
    records++;
    bytes += (double)(line + 1);
    off = end;
    if (records >= max_records || bytes >= max_bytes) {
      why = LINES_FULL;
      break;
    }
  }
  result[0] = records;
  result[1] = (double)off;
  result[2] = (double)(w - at);
  result[3] = why;
}
