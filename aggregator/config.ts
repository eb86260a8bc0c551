import { s, type Infer } from '../lib/schema/schema.ts';
import { defaultPaths } from '../lib/paths.ts';
import { apiSchema } from './api/config.ts';
import { indexSchema, retentionSchema } from './index/config.ts';
import { PORT } from '../lib/port.ts';

/**
 * The `aggregator:` section of the configuration (under `logloom:`). `logloom aggregator` reads
 * the same file format as the agent: it uses this section plus the shared keys log_level,
 * language, data_dir, runtime_dir and control (socket and /metrics address); the agent ignores
 * this section, so one file can describe both roles.
 */
const hostPort = { pattern: new RegExp(`^[^\\s]*:${PORT}$`), patternDoc: 'host:port (e.g. 0.0.0.0:7400)' };

export const tlsSchema = s.object(
  {
    enabled: s.bool({ default: false, doc: 'Accept agents over TLS instead of plain TCP.' }),
    cert: s.optional(s.string({ doc: '', file: true }), { doc: 'PEM certificate chain of the aggregator (required when enabled).' }),
    key: s.optional(s.string({ doc: '', file: true }), { doc: 'PEM private key of the aggregator (required when enabled).' }),
    ca: s.optional(s.string({ doc: '', file: true }), { doc: 'PEM CA bundle that client certificates must chain to (mutual TLS).' }),
    client_cert: s.enum(['none', 'request', 'require'] as const, {
      default: 'none',
      doc: 'Mutual TLS: none = no client certificate asked; request = verified when sent; require = refused without a valid one.',
    }),
    min_version: s.enum(['TLSv1.2', 'TLSv1.3'] as const, { default: 'TLSv1.2', doc: 'Oldest TLS version accepted.' }),
  },
  {
    doc: 'TLS and mutual TLS for agent connections (node:tls).',
    refine: (t) => [
      ...(t.enabled && !t.cert ? [{ key: 'cert', message: 'required when tls.enabled is true (PEM certificate chain)' }] : []),
      ...(t.enabled && !t.key ? [{ key: 'key', message: 'required when tls.enabled is true (PEM private key)' }] : []),
      ...(t.client_cert !== 'none' && !t.ca ? [{ key: 'ca', message: `required when client_cert is ${t.client_cert} (the CA client certificates chain to)` }] : []),
    ],
  },
);

export const authSchema = s.object(
  {
    mode: s.enum(['token', 'mtls', 'token_and_mtls', 'none'] as const, {
      default: 'token',
      doc: 'How a node proves who it is: token = a token from the tokens file; mtls = a client certificate whose CN (or a DNS SAN) is the node id; token_and_mtls = both; none = anyone (tests and closed networks only).',
    }),
    tokens_file: s.string({
      default: defaultPaths.aggregatorTokens,
      doc: 'Tokens file: one `node_id hash` per line, written by `logloom aggregator token NODE`; re-read when it changes. While it is missing no node can authenticate by token.',
    }),
  },
  { doc: 'Node authentication. A peer that fails it gets ERROR AUTH_FAILED and nothing is stored.' },
);

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

export const natsStoreSchema = s.object(
  {
    servers: s.array(s.string({ doc: '' }), { default: ['nats://127.0.0.1:4222'], doc: 'NATS server URLs (any members of the JetStream cluster).' }),
    stream: s.string({ default: 'LOGLOOM', doc: 'JetStream stream that holds the entries.', pattern: /^[A-Za-z0-9_-]{1,64}$/, patternDoc: 'a stream name [A-Za-z0-9_-]' }),
    subject_prefix: s.string({ default: 'logloom', doc: 'Entries are published on <prefix>.<node>.<level>.', pattern: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, patternDoc: 'a subject prefix without wildcards' }),
    create_stream: s.bool({ default: true, doc: 'Create the stream (and the sequence bucket) when missing; false = they must exist.' }),
    replicas: s.int({ min: 1, max: 5, default: 1, doc: 'Replicas of the stream and bucket when created (3 in a 3-node cluster).' }),
    duplicate_window: s.duration({ min: 1000, max: 7 * 86_400_000, default: 120_000, doc: 'JetStream de-duplication window for re-published batches (Nats-Msg-Id).' }),
    state_bucket: s.string({ default: 'LOGLOOM_SEQ', doc: 'Key-value bucket holding each node\'s last stored sequence, shared by all aggregators.', pattern: /^[A-Za-z0-9_-]{1,64}$/, patternDoc: 'a bucket name [A-Za-z0-9_-]' }),
    timeout: s.duration({ min: 100, max: 600_000, default: 5000, doc: 'How long a publish may wait for JetStream\'s ack before the batch fails (not acknowledged to the agent).' }),
    user: s.optional(s.string({ doc: '' }), { doc: 'NATS user name.' }),
    password_file: s.optional(s.string({ doc: '', file: true }), { doc: 'File holding the NATS password.' }),
    creds_file: s.optional(s.string({ doc: '', file: true }), { doc: 'NATS credentials file (JWT + nkey seed).' }),
  },
  { doc: 'Scale-out store: NATS JetStream (see docs/scale-out.md).' },
);

export const aggregatorSchema = s.object(
  {
    listen: s.string({ default: '0.0.0.0:7400', doc: 'Address agents connect to.', ...hostPort }),
    max_connections: s.int({ min: 1, max: 1_000_000, default: 4096, doc: 'Concurrent authenticated agent connections; more are refused with ERROR BUSY. Connections still authenticating do not count here (see max_pending_handshakes).' }),
    max_pending_handshakes: s.int({
      min: 1, max: 1_000_000, default: 256,
      doc: 'Connections that have not authenticated yet (TLS handshake or HELLO pending), from all addresses; beyond it the oldest pending connection of the address holding the most is dropped. Keeps peers that never authenticate from locking nodes out.',
    }),
    max_pending_per_address: s.int({ min: 1, max: 1_000_000, default: 16, doc: 'Connections from one source address (an IPv4 address, or an IPv6 /64) that have not authenticated yet; more are refused at once.' }),
    max_frame_bytes: s.size({ min: 1024, max: 1024 ** 3, default: 16 * 1024 * 1024, doc: 'Largest frame accepted; a longer one is refused from its header, before allocation.' }),
    max_batch_entries: s.int({ min: 1, max: 10_000_000, default: 100_000, doc: 'Most entries one BATCH may carry.' }),
    max_seq_jump: s.int({
      min: 1, max: Number.MAX_SAFE_INTEGER, default: 100_000_000,
      doc: 'Largest step a BATCH sequence number may take past the node\'s last stored one; a batch beyond it is refused with ERROR SEQUENCE_JUMP and nothing is stored (a forged or broken seq near 2^53 would otherwise leave the node no numbers to use). Agents skip at most 1,000,000 numbers per restart.',
    }),
    hello_timeout: s.duration({ min: 100, max: 600_000, default: 10_000, doc: 'A connection that has not authenticated by then is closed; with TLS, its handshake must also finish within it.' }),
    idle_timeout: s.duration({ min: 1000, max: 86_400_000, default: 120_000, doc: 'A connection that sends nothing (not even PING) for this long is closed.' }),
    tls: tlsSchema,
    auth: authSchema,
    store: s.enum(['ndjson', 'nats'] as const, { default: 'ndjson', doc: 'Where batches are stored: ndjson (embedded, per-node files) or nats (JetStream).' }),
    ndjson: ndjsonStoreSchema,
    nats: natsStoreSchema,
    index: indexSchema,
    retention: retentionSchema,
    api: apiSchema,
  },
  { doc: 'The aggregator (`logloom aggregator`): accepts agents, stores their entries once, in order.' },
);

export type AggregatorConfig = Infer<typeof aggregatorSchema>;
export type NdjsonStoreConfig = Infer<typeof ndjsonStoreSchema>;
export type NatsStoreConfig = Infer<typeof natsStoreSchema>;
export type TlsConfig = Infer<typeof tlsSchema>;
export type AuthConfig = Infer<typeof authSchema>;
