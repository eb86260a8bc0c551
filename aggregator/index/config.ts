import { s, type Infer } from '../../lib/schema/schema.ts';

/** `aggregator.index`: the queryable index of stored entries (SQLite with FTS5, node:sqlite). */
export const indexSchema = s.object(
  {
    enabled: s.bool({ default: true, doc: 'Keep the queryable index that the HTTP API, the dashboard, `logloom tail` and `logloom query` read.' }),
    path: s.optional(s.string({ doc: '' }), { doc: 'SQLite file of the index. Default <data_dir>/index.sqlite. It can always be rebuilt from the store (`logloom aggregator reindex`).' }),
    flush_interval: s.duration({ min: 10, max: 60_000, default: 250, doc: 'Entries reach the index in one transaction per interval (or sooner, about every 5000 entries, by a worker thread); searches see them after that.' }),
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
