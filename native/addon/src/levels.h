/*
 * Level verdicts for a framed batch of entry records (u32 length | payload, back to back), read
 * off each record's bytes without parsing it. The rule is agent/buffer/records.ts's
 * levelModuleSpanInto + spanLevelRank, written here for filter_level's records path; the two are
 * held to the same answers by test/buffer/level-verdicts.test.ts.
 */
#ifndef LOGLOOM_LEVELS_H
#define LOGLOOM_LEVELS_H
#include <stddef.h>
#include <stdint.h>

/* What ll_level_verdicts writes per record. */
enum { LEVEL_BELOW = 0, LEVEL_KEEP = 1, LEVEL_OTHER_SHAPE = 2 };

/*
 * For each whole record (at most out_len): LEVEL_KEEP when its level ranks at or above min_rank
 * (DEBUG 0 … FATAL 4; a level whose initial is none of D, I, W, E, F ranks 0), LEVEL_BELOW when
 * under it, LEVEL_OTHER_SHAPE when the record does not start as the codec writes entries
 * (timestamp, level, module first): the caller decides those the slow way. Returns the number
 * of records written.
 */
size_t ll_level_verdicts(const uint8_t *frames, size_t len, int min_rank, uint8_t *out, size_t out_len);

#endif
