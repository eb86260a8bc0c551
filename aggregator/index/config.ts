import { s, type Infer } from '../../lib/schema/schema.ts';
import { MAX_LAG_BYTES, WRITER_NICE } from './schema.ts';

/** `aggregator.index`: the queryable index of stored entries (SQLite with FTS5, node:sqlite). */
export const indexSchema = s.object(
  {
    enabled: s.bool({ default: true, doc: 'Keep the queryable index that the HTTP API, the dashboard, `logloom tail` and `logloom query` read.' }),
    path: s.optional(s.string({ doc: '' }), { doc: 'SQLite file of the index. Default <data_dir>/index.sqlite. It can always be rebuilt from the store (`logloom aggregator reindex`).' }),
    flush_interval: s.duration({ min: 10, max: 60_000, default: 250, doc: 'Entries reach the index in one transaction per interval (or sooner, about every 8 MiB of NDJSON while a burst is being indexed, by a worker thread); searches see them after that.' }),
    max_lag: s.size({ min: 64 * 1024, max: 16 * 1024 ** 3, default: MAX_LAG_BYTES, doc: 'How far the index may fall behind the store in memory (stored NDJSON bytes waiting for the writer). Beyond it, further batches wait where they are stored and are indexed later, none left out: with the NDJSON store a node\'s batches are read back from its files, with JetStream the index stops consuming the stream until the writer has room (a JetStream-fed index holds at most 16 MiB, whatever this allows). The store and the ACKs never wait for the index.' }),
    defer_while_busy: s.duration({ min: 0, max: 600_000, default: 2000, doc: 'While the aggregator\'s main thread (sessions, store, ACKs) is busy, stored batches do not go to the index writer: with the NDJSON store they are read back from the store once the thread is quiet, with JetStream they wait in memory (within max_lag, beyond it in the stream); at most this long either way. On a machine with few cores a burst is then stored at full speed and indexed right after it, instead of sharing the CPU with the writer. 0 = hand every batch over at once.' }),
    writer_nice: s.int({ min: 0, max: 19, default: WRITER_NICE, doc: 'How much lower than the aggregator\'s own priority the index writer thread runs (added to its nice value, at most 19; Linux): under CPU contention the thread that stores batches and acknowledges them wins, and the index lags (up to max_lag) instead of slowing ingest. 0 = the same priority as ingest.' }),
  },
  { doc: 'Index of what the store holds: by node, time, level, module, source, lang_key and full text.' },
);

/** `aggregator.retention`: per-node bounds applied to the store and the index. */
export const retentionSchema = s.object(
  {
    max_age: s.optional(s.duration({ min: 60_000, max: 100 * 365 * 86_400_000, doc: '' }), {
      doc: 'Entries older than this (by their timestamp) leave the index; NDJSON store files whose UTC day is older leave the store (e.g. 30d). Unset = keep.',
    }),
    max_bytes_per_node: s.optional(s.size({ min: 4096, max: 1024 ** 5, doc: '' }), {
      doc: 'Per node, the oldest NDJSON files (never the one being written) and the oldest index entries are deleted while the node holds more than this. Unset = no bound.',
    }),
    interval: s.duration({ min: 1000, max: 86_400_000, default: 60_000, doc: 'How often retention runs.' }),
  },
  { doc: 'Per-node retention of the store and the index (a JetStream store keeps the stream\'s own limits; see docs/aggregator-api.md).' },
);

export type IndexConfig = Infer<typeof indexSchema>;
export type RetentionConfig = Infer<typeof retentionSchema>;
