/*
 * The entry rules in C: how received text becomes the parts of an entry (sanitising, cutting,
 * level and module names, timestamps, numbers) and how an entry is written as its record, the
 * NDJSON object `JSON.stringify(buildEntry(...))` gives. The JS side of the same rules is
 * agent/entry/ (sanitise.ts, level.ts, timestamp.ts, build.ts, ndjson.ts);
 * test/buffer/codec-conformance.test.ts holds both to identical bytes.
 */
#ifndef LOGLOOM_ENTRY_H
#define LOGLOOM_ENTRY_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data;
  size_t len, cap;
} buf_t;

int buf_reserve(buf_t *b, size_t more);

/* Eight bytes at a time (portable SWAR: the same code on x64 and ARM): whether a word holds a byte
 * equal to b, or below n (n <= 128). Exact for "any byte"; used to skip plain runs quickly. */
#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL
static inline uint64_t swar_has(uint64_t w, uint8_t b) {
  uint64_t v = w ^ (SWAR_ONES * b);
  return (v - SWAR_ONES) & ~v & SWAR_HIGHS;
}
static inline uint64_t swar_below(uint64_t w, uint8_t n) { return (w - SWAR_ONES * n) & ~w & SWAR_HIGHS; }
/* Length of the leading run of s with no '"', no '\\' and no byte below 0x20 (what JSON strings stop at). */
static inline size_t json_plain_run(const uint8_t *s, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, s + i, 8);
    if (swar_has(w, '"') | swar_has(w, '\\') | swar_below(w, 0x20)) break;
  }
  while (i < n && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) i++;
  return i;
}
int buf_put(buf_t *b, const void *s, size_t n);

/* Limits of buildEntry (agent/entry/build.ts). */
#define ENTRY_MAX_ARGS 32
#define ENTRY_MAX_ARG_UNITS 1024
#define ENTRY_MAX_FIELDS 64
#define ENTRY_MAX_KEY_UNITS 64
#define ENTRY_MAX_SOURCE_UNITS 256
#define ENTRY_MAX_MODULE 16

/* WHATWG UTF-8 decode with replacement (each maximal invalid subpart → U+FFFD), re-encoded. d needs 3n bytes. */
size_t utf8_repair(const uint8_t *s, size_t n, uint8_t *d);
/* escapeControls on valid UTF-8: C0 controls except tab, DEL and U+0080..U+009F. d needs 6n bytes. */
size_t escape_controls(const uint8_t *s, size_t n, uint8_t *d);
/* Length of the longest prefix of valid UTF-8 s that has at most max UTF-16 units (a pair is never split). */
size_t cut_units(const uint8_t *s, size_t n, size_t max);
/* Length of the longest prefix of at most max bytes ending on a character boundary. */
size_t cut_bytes(const uint8_t *s, size_t n, size_t max);
/* escape_controls then cut_units into out (appended, not JSON-quoted). */
int put_clean(buf_t *out, const uint8_t *s, size_t n, size_t max_units);
/* A JSON string literal as JSON.stringify writes it (s is valid UTF-8). */
int json_str(buf_t *out, const uint8_t *s, size_t n);

/* Level names and aliases (ASCII case-insensitive): 0 DEBUG .. 4 FATAL, -1 unknown. */
int parse_level(const uint8_t *s, size_t n);
extern const char *const LEVEL_NAMES[5];
/* sanitiseModule: ASCII letters upper-cased, [A-Z0-9_.-] kept, every other UTF-16 unit '_', at most 16; empty → APP. out: 17 bytes. */
size_t sanitise_module(const uint8_t *s, size_t n, char out[17]);

/* Date#toISOString of ms (an integral value within ±8.64e15). out: 32 bytes. */
size_t iso_time(double ms, char out[32]);
/* Strict timestamp text (RFC 3339 subset, see timestamp.ts) → ms; 0 on success, -1 when not one. */
int parse_timestamp(const uint8_t *s, size_t n, double *ms);
/* A timestamp number (seconds below 1e11, else ms) → the entry's ms (Date's TimeClip); -1 when out of range. */
int timestamp_of_number(double v, double *ms);
/* A number as JS writes it (String(v)); v finite. out: 32 bytes. */
size_t js_number(double v, char out[32]);

/* An entry's parts, everything already sanitised and cut. */
typedef struct {
  double ts_ms;
  int level;
  const char *module; /* sanitised */
  const uint8_t *message;
  size_t message_len;
  const uint8_t *lang_key; /* NULL: none */
  size_t lang_key_len;
  const uint8_t *args_json; /* NULL: no args; else the JSON array text */
  size_t args_len;
  const char *node;
  const uint8_t *source; /* NULL or empty: none */
  size_t source_len;
  int truncated;
  const uint8_t *fields_json; /* NULL: no fields; else the JSON object text */
  size_t fields_len;
} entry_parts_t;

/* Appends one framed record: u32 length | 'E' | the entry's NDJSON object. */
int entry_write(buf_t *out, const entry_parts_t *e);

#endif
