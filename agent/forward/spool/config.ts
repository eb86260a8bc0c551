import { s, type Infer } from '../../../lib/schema/schema.ts';

/** `spool:` block of log_aggregator_remote (declared here, next to the code that uses it). */
export const spoolSchema = s.object(
  {
    dir: s.optional(s.string({ doc: '' }), { doc: 'Spool directory (default: <data_dir>/plugins/log_aggregator_remote/spool).' }),
    mode: s.enum(['memory', 'always'] as const, {
      default: 'memory',
      doc: 'memory = keep batches in memory and write them to disk only while the uplink is down or memory_max_bytes is passed (spares flash); always = write every batch to disk before sending it (exactly-once for the file input across kill -9, see docs/guarantees.md).',
    }),
    fsync: s.enum(['always', 'batch', 'interval'] as const, {
      default: 'batch',
      doc: 'always = fdatasync after every record and ack pointer update; batch = once per write group (one batch, or one spill of many); interval = at most every fsync_interval.',
    }),
    fsync_interval: s.duration({ min: 10, max: 600_000, default: 1000, doc: 'With fsync: interval, how often written data is synced.' }),
    max_bytes: s.size({ min: 64 * 1024, max: 1024 ** 4, default: 256 * 1024 * 1024, doc: 'Bound on the spool\'s disk use; when_full applies past it (and on ENOSPC).' }),
    segment_bytes: s.size({ min: 4096, max: 1024 ** 3, default: 8 * 1024 * 1024, doc: 'Size of one segment file (at most max_bytes/4); space is freed a whole segment at a time.' }),
    memory_max_bytes: s.size({ min: 0, max: 16 * 1024 ** 3, default: 16 * 1024 * 1024, doc: 'mode memory: encoded batches kept in memory before the spool writes them to disk even while the uplink is up.' }),
    when_full: s.enum(['drop_oldest', 'drop_newest', 'block'] as const, {
      default: 'drop_oldest',
      doc: 'When max_bytes is reached: drop the oldest segment, drop the new batch, or block (backpressure to the inputs). Drops are counted in `logloom status`.',
    }),
  },
  { doc: 'The offline spool of log_aggregator_remote.' },
);
export type SpoolConfig = Infer<typeof spoolSchema>;
