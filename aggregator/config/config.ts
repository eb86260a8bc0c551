import { s, type Infer } from '../../lib/schema/schema.ts';
import { defaultPaths } from '../../lib/paths.ts';
import { apiSchema } from './api.ts';
import { indexSchema, retentionSchema } from '../index/config.ts';
import { PORT } from '../../lib/port.ts';
import { sharedConfigFields } from '../../lib/config-file.ts';
import { STORE_KINDS, STORE_NAMES } from '../store/index.ts';

/**
 * The `aggregator:` section of the configuration (under `logloom:`), and the aggregator's own
 * root schema. `logloom aggregator` reads the same file format as the agent: this section plus
 * the keys every program shares (lib/config-file.ts: log_level, data_dir, runtime_dir, control…);
 * the agent ignores this section and the aggregator the agent's, so one file can describe both
 * roles, and neither program loads the other to read it.
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



/** Each store kind's section (`aggregator.<kind>:`), from the registry (store/index.ts). */
function storeSections() {
  return Object.fromEntries(Object.entries(STORE_KINDS).map(([k, v]) => [k, v.schema])) as { [K in keyof typeof STORE_KINDS]: (typeof STORE_KINDS)[K]['schema'] };
}

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
    store: s.enum(STORE_NAMES, { default: 'ndjson', doc: 'Where batches are stored: ndjson (embedded, per-node files) or nats (JetStream). Each kind has its own section below.' }),
    ...storeSections(),
    index: indexSchema,
    retention: retentionSchema,
    api: apiSchema,
  },
  { doc: 'The aggregator (`logloom aggregator`): accepts agents, stores their entries once, in order.' },
);

export type AggregatorConfig = Infer<typeof aggregatorSchema>;
export type { NdjsonStoreConfig } from '../store/ndjson/config.ts';
export type { NatsStoreConfig } from '../store/nats/config.ts';
export type TlsConfig = Infer<typeof tlsSchema>;
export type AuthConfig = Infer<typeof authSchema>;

/** The agent's own sections: accepted in a file both roles share, not read by the aggregator. */
const agentSection = (key: string) => s.any({ doc: `The agent's ${key} (see \`logloom run\`); the aggregator ignores it.` });

/** The root (`logloom:`) schema `logloom aggregator` validates its file with. */
export const aggregatorFileSchema = s.object(
  {
    ...sharedConfigFields,
    labels: agentSection('labels'),
    buffer: agentSection('buffer'),
    inputs: agentSection('inputs'),
    plugins: agentSection('plugins'),
    routes: agentSection('routes'),
    aggregator: aggregatorSchema,
  },
  { doc: 'The aggregator program.' },
);

export type AggregatorFileConfig = Infer<typeof aggregatorFileSchema>;
