/* The aggregator's NDJSON entry scanner (ingest.c); aggregator/ingest/ is its JS twin. */
#ifndef LOGLOOM_INGEST_H
#define LOGLOOM_INGEST_H

#include <stddef.h>
#include <stdint.h>

enum {
  LL_INGEST_DONE = 0,       /* every line of the body was stored */
  LL_INGEST_UNSURE = 1,     /* the line at raw_pos is not (surely) canonical: JS takes it */
  LL_INGEST_NO_ROOM = 2,    /* out is full: JS grows it and calls again */
  LL_INGEST_MORE_LINES = 3, /* the body holds more lines than count */
};

typedef struct {
  const uint8_t *raw; /* the batch body (NDJSON) */
  size_t raw_len;
  const uint8_t *node; /* the authenticated node id */
  size_t node_len;
  const uint8_t *node_member; /* ,"node":"<id>" */
  size_t node_member_len;
  const uint8_t *suffix; /* ,"seq":<n>}\n */
  size_t suffix_len;
  uint32_t max_message; /* max_message_bytes */
  uint8_t *out;         /* the stored bytes */
  size_t out_cap;
  uint32_t *ends; /* per entry: end offset in out */
  uint8_t *levels; /* per entry: level index */
  uint32_t count;  /* entries the batch announces */
} ll_ingest_in_t;

typedef struct {
  size_t raw_pos, out_pos;
  uint32_t n; /* entries stored so far */
} ll_ingest_state_t;

/* Stores canonical lines from st->raw_pos on; returns an LL_INGEST_ code, st advanced past what was stored. */
int ll_ingest_scan(const ll_ingest_in_t *in, ll_ingest_state_t *st);

#endif
