/*
 * The entry rules in C: how received text becomes the parts of an entry (sanitising, cutting,
 * level and module names, timestamps, numbers) and how an entry is written as its record, the
 * NDJSON object `JSON.stringify(buildEntry(...))` gives. The JS side of the same rules is
 * entry/ (sanitise.ts, lib/level.ts, timestamp.ts, build.ts, ndjson.ts);
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
/* Appends n bytes (inline: the codec writes many short pieces per record). */
static inline int buf_put(buf_t *b, const void *s, size_t n) {
  if (b->len + n > b->cap && buf_reserve(b, n)) return -1;
  __builtin_memcpy(b->data + b->len, s, n);
  b->len += n;
  return 0;
}

/* Eight bytes at a time (portable SWAR: the same code on x64 and ARM): whether a word holds a byte
 * equal to b, or below n (n <= 128). The lowest flagged byte is exact (borrows only run upwards),
 * so swar_first gives the position of the first match; flags above it may be false. */
#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGHS 0x8080808080808080ULL
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "swar_first assumes a little-endian target (x64, arm64, armv7 are)"
#endif
static inline uint64_t swar_has(uint64_t w, uint8_t b) {
  uint64_t v = w ^ (SWAR_ONES * b);
  return (v - SWAR_ONES) & ~v & SWAR_HIGHS;
}
static inline uint64_t swar_below(uint64_t w, uint8_t n) { return (w - SWAR_ONES * n) & ~w & SWAR_HIGHS; }
static inline uint64_t swar_load(const uint8_t *s) {
  uint64_t w;
  __builtin_memcpy(&w, s, 8);
  return w;
}
/* Byte index (0..7) of the lowest flagged byte of a non-zero mask. */
static inline size_t swar_first(uint64_t m) { return (size_t)__builtin_ctzll(m) >> 3; }
/* Flags the bytes JSON strings stop at: '"', '\\' and controls below 0x20. */
static inline uint64_t swar_json_stop(uint64_t w) { return swar_has(w, '"') | swar_has(w, '\\') | swar_below(w, 0x20); }

/* Sixteen bytes at a time where the target has 128-bit vectors (SSE2 on x64, NEON on ARM): a mask
 * with SIMD_BITS bits per byte of the bytes a scan stops at; simd_first gives the first one's index.
 * Other targets use the SWAR words above only. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SIMD16 1
typedef __m128i v16_t;
static inline v16_t v16_load(const uint8_t *s) { return _mm_loadu_si128((const __m128i *)s); }
static inline v16_t v16_eq(v16_t v, uint8_t b) { return _mm_cmpeq_epi8(v, _mm_set1_epi8((char)b)); }
static inline v16_t v16_le(v16_t v, uint8_t b) { return _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8((char)b)), v); }
static inline v16_t v16_or(v16_t a, v16_t b) { return _mm_or_si128(a, b); }
static inline uint64_t v16_mask(v16_t m) { return (uint64_t)_mm_movemask_epi8(m); }
static inline size_t simd_first(uint64_t m) { return (size_t)__builtin_ctzll(m); }
#elif defined(__ARM_NEON)
#include <arm_neon.h>
#define HAVE_SIMD16 1
typedef uint8x16_t v16_t;
static inline v16_t v16_load(const uint8_t *s) { return vld1q_u8(s); }
static inline v16_t v16_eq(v16_t v, uint8_t b) { return vceqq_u8(v, vdupq_n_u8(b)); }
static inline v16_t v16_le(v16_t v, uint8_t b) { return vcleq_u8(v, vdupq_n_u8(b)); }
static inline v16_t v16_or(v16_t a, v16_t b) { return vorrq_u8(a, b); }
/* four bits per byte (the usual NEON stand-in for movemask) */
static inline uint64_t v16_mask(v16_t m) { return vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(m), 4)), 0); }
static inline size_t simd_first(uint64_t m) { return (size_t)__builtin_ctzll(m) >> 2; }
#endif
#ifdef HAVE_SIMD16
static inline uint64_t v16_json_stop(const uint8_t *s) {
  v16_t v = v16_load(s);
  return v16_mask(v16_or(v16_or(v16_eq(v, '"'), v16_eq(v, '\\')), v16_le(v, 0x1f)));
}
static inline uint64_t v16_ctl(const uint8_t *s) {
  v16_t v = v16_load(s);
  return v16_mask(v16_or(v16_or(v16_le(v, 0x1f), v16_eq(v, 0x7f)), v16_or(v16_eq(v, 0xC2), v16_eq(v, 0xE2))));
}
#endif

/* Per byte value: 1 where a JSON string stops ('"', '\\', controls); 1 where escape_controls may act
 * (controls, DEL, the lead bytes 0xC2 and 0xE2). For the last bytes of a run, after the wide steps. */
extern const uint8_t JSON_STOP_BYTE[256], CTL_BYTE[256];

/* Length of the leading run of s with no '"', no '\\' and no byte below 0x20 (what JSON strings stop at). */
static inline size_t json_plain_run(const uint8_t *s, size_t n) {
  size_t i = 0;
#ifdef HAVE_SIMD16
  for (; i + 16 <= n; i += 16) {
    uint64_t m = v16_json_stop(s + i);
    if (m) return i + simd_first(m);
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t m = swar_json_stop(swar_load(s + i));
    if (m) return i + swar_first(m);
  }
  while (i < n && !JSON_STOP_BYTE[s[i]]) i++;
  return i;
}
/* Whether s holds a byte escape_controls may change (controls, DEL, 0xC2, 0xE2 lead bytes).
 * False means escape_controls(s) == s. */
static inline int has_ctl(const uint8_t *s, size_t n) {
  size_t i = 0;
#ifdef HAVE_SIMD16
  for (; i + 16 <= n; i += 16)
    if (v16_ctl(s + i)) return 1;
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w = swar_load(s + i);
    if (swar_below(w, 0x20) | swar_has(w, 0x7f) | swar_has(w, 0xC2) | swar_has(w, 0xE2)) return 1;
  }
  for (; i < n; i++)
    if (CTL_BYTE[s[i]]) return 1;
  return 0;
}

/* Limits of buildEntry (entry/build.ts). */
#define ENTRY_MAX_ARGS 32
#define ENTRY_MAX_ARG_UNITS 1024
#define ENTRY_MAX_FIELDS 64
#define ENTRY_MAX_KEY_UNITS 64
#define ENTRY_MAX_SOURCE_UNITS 256
#define ENTRY_MAX_MODULE 16
#define ENTRY_MAX_LABELS 32
#define ENTRY_MAX_LABEL_UNITS 256

/* WHATWG UTF-8 decode with replacement (each maximal invalid subpart → U+FFFD), re-encoded. d needs 3n bytes. */
size_t utf8_repair(const uint8_t *s, size_t n, uint8_t *d);
/* escapeControls on valid UTF-8: C0 controls except tab, DEL and U+0080..U+009F. d needs 6n bytes. */
size_t escape_controls(const uint8_t *s, size_t n, uint8_t *d);
/* The same, keeping \n when keep_nl is set (a message joined from several lines: sanitiseMessage's keepNewlines). */
size_t escape_controls_nl(const uint8_t *s, size_t n, uint8_t *d, int keep_nl);
/* Length of the longest prefix of valid UTF-8 s that has at most max UTF-16 units (a pair is never split). */
size_t cut_units(const uint8_t *s, size_t n, size_t max);
/* Length of the longest prefix of at most max bytes ending on a character boundary. */
size_t cut_bytes(const uint8_t *s, size_t n, size_t max);
/* escape_controls then cut_units into out (appended, not JSON-quoted). */
int put_clean(buf_t *out, const uint8_t *s, size_t n, size_t max_units);
/* A JSON string literal as JSON.stringify writes it (s is valid UTF-8). */
int json_str(buf_t *out, const uint8_t *s, size_t n);
/* The same into d, which has room for 6n + 2 bytes; returns the bytes written. */
size_t json_str_to(uint8_t *d, const uint8_t *s, size_t n);
/* Length of the longest valid UTF-8 prefix of s (n when s is valid: utf8_repair would copy it as is). */
size_t utf8_valid_prefix(const uint8_t *s, size_t n);

/* Level names and aliases (ASCII case-insensitive): 0 DEBUG .. 4 FATAL, -1 unknown. */
int parse_level(const uint8_t *s, size_t n);
extern const char *const LEVEL_NAMES[5];
/* sanitiseModule: ASCII letters upper-cased, [A-Z0-9_.-] kept, every other UTF-16 unit '_', at most 16; empty → APP. out: 17 bytes. */
size_t sanitise_module(const uint8_t *s, size_t n, char out[17]);

/* Days since 1970-01-01 of a proleptic Gregorian date; a day past the month's end runs on into the next (as Date.UTC does). */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
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
  const uint8_t *ts_text; /* NULL, or exactly iso_time(ts_ms) already (24 bytes): written as is */
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
  const uint8_t *labels_json; /* NULL: no labels; else the JSON object text (drafts only: see ndjson_opts_t.draft) */
  size_t labels_len;
  /* ENTRY_PLAIN_* flags: texts known to need no JSON escaping (no '"', '\\' or byte below 0x20),
   * written between quotes as they are instead of scanned again. 0 (the default) is always right. */
  unsigned plain;
} entry_parts_t;
enum { ENTRY_PLAIN_MODULE = 1, ENTRY_PLAIN_MESSAGE = 2, ENTRY_PLAIN_SOURCE = 4 };

/* Appends one framed record: u32 length | 'E' | the entry's NDJSON object. */
int entry_write(buf_t *out, const entry_parts_t *e);

/* An array-index key ("0" .. "4294967294", no leading zero): a JS object lists these first, ascending,
 * so the fields of an entry are written in that order (buildEntry's objects). 1 with *v its value. */
int entry_array_index(const uint8_t *s, size_t n, double *v);
/* FNV-1a of a key: repeated keys are found without comparing every pair's bytes. */
uint32_t entry_key_hash(const uint8_t *s, size_t n);
#endif
