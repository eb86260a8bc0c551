import { s, type Infer } from '../../lib/schema/schema.ts';

/** The placeholders a topic template may use (see topic.ts). */
export const TOPIC_FIELDS = ['node', 'level', 'module'] as const;

export const configSchema = s.object(
  {
    brokers: s.array(s.string({ doc: '', pattern: /^\[?[^\s\]]+\]?:\d{1,5}$/, patternDoc: 'host:port' }), {
      default: ['127.0.0.1:9092'],
      doc: 'Bootstrap brokers (host:port); the client learns the rest of the cluster from them.',
    }),
    topic: s.string({
      default: 'logloom',
      pattern: /^(?:[A-Za-z0-9._-]|\{(?:node|level|module)\})+$/,
      patternDoc: 'a topic name of letters, digits, . _ - and the placeholders {node}, {level}, {module}',
      doc: 'Topic, fixed or a template: {node}, {level} and {module} are replaced by the entry\'s, lower-cased, characters a topic name cannot hold turned into _ (e.g. logs.{level} → logs.error). The topics must exist: the exporter never asks the brokers to create one.',
    }),
    key: s.enum(['node', 'module', 'none'] as const, {
      default: 'node',
      doc: 'Message key: node keeps each gateway\'s entries in one partition, in order; module spreads by module; none spreads round-robin.',
    }),
    client_id: s.optional(s.string({ doc: '' }), { doc: 'Kafka client.id (default: logloom-<node>).' }),
    compression: s.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const, {
      default: 'gzip',
      doc: 'Codec of each record batch (the broker stores it as sent; consumers decompress).',
    }),
    batch_max_entries: s.int({ min: 1, max: 100_000, default: 1000, doc: 'A batch is sealed at this many entries…' }),
    batch_max_bytes: s.size({ min: 1024, max: 64 * 1024 * 1024, default: 512 * 1024, doc: '…or this many bytes of NDJSON (keep it under the broker\'s message.max.bytes: a rejected batch is split in halves)…' }),
    batch_max_ms: s.duration({ min: 1, max: 600_000, default: 100, doc: '…or this long after its first entry.' }),
    max_queued_entries: s.int({ min: 1, max: 10_000_000, default: 100_000, doc: 'Entries held in memory waiting for the brokers (sealed batches and the open one); when_full applies past it.' }),
    when_full: s.enum(['block', 'drop_oldest', 'drop_newest'] as const, {
      default: 'block',
      doc: 'When max_queued_entries are waiting: block (backpressure to the inputs; nothing is dropped), drop the oldest queued batch, or drop the new entries. Drops are counted in `logloom status` (dropped_entries).',
    }),
    tls: s.object(
      {
        enabled: s.bool({ default: false, doc: 'Connect with TLS.' }),
        ca: s.optional(s.string({ doc: '' }), { doc: 'PEM file of the CA that signed the brokers\' certificates (default: the system CAs).' }),
        cert: s.optional(s.string({ doc: '' }), { doc: 'PEM client certificate, for mutual TLS.' }),
        key: s.optional(s.string({ doc: '' }), { doc: 'PEM private key of the client certificate.' }),
        server_name: s.optional(s.string({ doc: '' }), { doc: 'Name checked against the brokers\' certificates (default: each broker\'s host).' }),
      },
      { doc: 'TLS to the brokers.' },
    ),
    sasl: s.object(
      {
        mechanism: s.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const, { default: 'none', doc: 'SASL mechanism (PLAIN should only be used over TLS).' }),
        username: s.optional(s.string({ doc: '' }), { doc: 'SASL user name.' }),
        password_file: s.optional(s.string({ doc: '' }), { doc: 'File holding the password (trailing newline ignored); read on every connection, so a corrected file takes effect without a restart.' }),
      },
      { doc: 'SASL authentication.' },
    ),
    connect_timeout: s.duration({ min: 100, max: 600_000, default: 5000, doc: 'Time allowed for a TCP/TLS connection to a broker.' }),
    request_timeout: s.duration({ min: 100, max: 600_000, default: 30_000, doc: 'Time allowed for a broker to answer a request; a timed-out produce is retried with the same sequence numbers.' }),
    backoff_min: s.duration({ min: 1, max: 600_000, default: 100, doc: 'First retry delay while the brokers are unreachable or refuse; doubles per attempt (with jitter)…' }),
    backoff_max: s.duration({ min: 1, max: 3_600_000, default: 5000, doc: '…up to this cap.' }),
    shutdown_timeout: s.duration({ min: 0, max: 600_000, default: 5000, doc: 'At shutdown, how long queued batches may take to be acknowledged before the rest is given up (counted as lost_entries).' }),
  },
  { doc: 'log_exporter_kafka: produces each entry as one Kafka record (value: the entry\'s NDJSON) with acks=all and an idempotent producer (docs/kafka.md).' },
);
export type KafkaConfig = Infer<typeof configSchema>;
