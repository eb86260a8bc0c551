import { s, type Infer } from '../../lib/schema/schema.ts';
import { unreadable } from '../../lib/schema/validate.ts';
import { spoolSchema } from '../../agent/forward/spool/config.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../../protocol/constants.ts';
import { PORT } from '../../lib/port.ts';

export const configSchema = s.object(
  {
    addresses: s.array(s.string({ doc: '', pattern: new RegExp(`^\\[?[^\\s\\]]+\\]?:${PORT}$`), patternDoc: 'host:port' }), {
      default: ['127.0.0.1:7400'],
      doc: 'Aggregator addresses (host:port); on failure the next one is tried (failover).',
    }),
    token_file: s.optional(s.string({ doc: '' }), { doc: 'File holding this node\'s token (trailing newline ignored); read on every connect. Omit when mutual TLS alone authenticates.' }),
    tls: s.object(
      {
        enabled: s.bool({ default: false, doc: 'Connect with TLS (node:tls).' }),
        ca: s.optional(s.string({ doc: '', file: true }), { doc: 'PEM file of the CA that signed the aggregator\'s certificate (default: the system CAs).' }),
        cert: s.optional(s.string({ doc: '', file: true }), { doc: 'PEM client certificate, for mutual TLS.' }),
        key: s.optional(s.string({ doc: '', file: true }), { doc: 'PEM private key of the client certificate.' }),
        server_name: s.optional(s.string({ doc: '' }), { doc: 'Name checked against the aggregator\'s certificate (default: the host of the address).' }),
      },
      { doc: 'TLS and mutual TLS.' },
    ),
    compression: s.enum(['none', 'deflate'] as const, { default: 'deflate', doc: 'Batch body codec on the wire and in the spool.' }),
    batch_max_entries: s.int({ min: 1, max: 1_000_000, default: 4000, doc: 'A batch is sealed at this many entries (4000 of ~200 bytes meet batch_max_bytes at about the same point)…' }),
    batch_max_bytes: s.size({ min: 1024, max: 64 * 1024 * 1024, default: 1024 * 1024, doc: '…or at this many bytes of NDJSON…' }),
    batch_max_ms: s.duration({ min: 1, max: 600_000, default: 200, doc: '…or this long after its first entry.' }),
    max_inflight_batches: s.int({ min: 1, max: 4096, default: 16, doc: 'Batches sent and not yet acknowledged.' }),
    connect_timeout: s.duration({ min: 100, max: 600_000, default: 5000, doc: 'Time allowed for TCP/TLS connect and for the WELCOME.' }),
    backoff_min: s.duration({ min: 1, max: 600_000, default: 200, doc: 'First reconnect delay; doubles per failed attempt (with jitter)…' }),
    backoff_max: s.duration({ min: 1, max: 3_600_000, default: 30_000, doc: '…up to this cap.' }),
    ping_interval: s.duration({ min: 10, max: 3_600_000, default: 5000, doc: 'Send a PING after this long without hearing from the aggregator…' }),
    ping_timeout: s.duration({ min: 10, max: 3_600_000, default: 10_000, doc: '…and reconnect when nothing arrives this long after it (dead peer).' }),
    max_frame_bytes: s.size({ min: 1024, max: 1024 ** 3, default: DEFAULT_MAX_FRAME_BYTES, doc: 'Largest frame accepted from the aggregator.' }),
    spool: spoolSchema,
  },
  {
    doc: 'log_aggregator_remote: forwards entries to `logloom aggregator` over TCP/TLS, with an offline spool (docs/forward-protocol.md, docs/guarantees.md).',
    // The token file is read on every connect, so it may be provisioned after start: a warning, not a refusal.
    refine: (c) => {
      const why = c.token_file === undefined ? undefined : unreadable(c.token_file);
      return why ? [{ key: 'token_file', message: `cannot read ${JSON.stringify(c.token_file)}: ${why}; the forwarder cannot authenticate until it can`, warning: true }] : [];
    },
  },
);
export type RemoteConfig = Infer<typeof configSchema>;
