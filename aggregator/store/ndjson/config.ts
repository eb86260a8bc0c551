/** The `aggregator.ndjson:` section: the embedded store's keys. */
import { s, type Infer } from '../../../lib/schema/schema.ts';

export const ndjsonStoreSchema = s.object(
  {
    dir: s.optional(s.string({ doc: '' }), { doc: 'Root of the store: <dir>/<node>/<YYYY-MM-DD>-<NNNN>.ndjson plus <dir>/<node>/state.json. Default <data_dir>/store.' }),
    max_file_bytes: s.size({ min: 4096, max: 1024 ** 4, default: 64 * 1024 * 1024, doc: 'A node\'s file is rotated before it would pass this size (and at each UTC day).' }),
    fsync: s.enum(['always', 'interval', 'never'] as const, {
      default: 'always',
      doc: 'always = data and sequence state reach the disk before the ACK (survives power loss); interval = flushed every fsync_interval, ACK earlier (survives a crash of the aggregator, may lose the last interval on power loss); never = left to the OS.',
    }),
    fsync_interval: s.duration({ min: 10, max: 600_000, default: 1000, doc: 'Flush period for fsync: interval.' }),
    max_age: s.optional(s.duration({ min: 86_400_000, max: 100 * 365 * 86_400_000, doc: '' }), {
      doc: 'Retention: when a node\'s file rotates, its files from UTC days older than this are deleted (e.g. 30d). Unset = keep everything.',
    }),
  },
  { doc: 'The embedded store: per-node NDJSON files, one entry per line.' },
);

export type NdjsonStoreConfig = Infer<typeof ndjsonStoreSchema>;
