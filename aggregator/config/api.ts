import { s, type Infer } from '../../lib/schema/schema.ts';
import { defaultPaths } from '../../lib/paths.ts';

/**
 * `aggregator.api`: the query API and the dashboard, served on the aggregator's HTTP listener
 * (control.http, next to /metrics and /healthz).
 */
export const apiSchema = s.object(
  {
    enabled: s.bool({ default: true, doc: 'Serve /api/* and the dashboard (/) on the HTTP listener (control.http).' }),
    tokens_file: s.string({
      default: defaultPaths.apiTokens,
      doc: 'API tokens: one `role hash [name]` per line (role viewer or admin), written by `logloom aggregator api-token`; re-read when it changes.',
    }),
    anonymous: s.enum(['none', 'viewer'] as const, { default: 'none', doc: 'Role of a request without a token: none = refused with 401 (the default); viewer = read access for anyone who can reach the listener.' }),
    silent_after: s.duration({ min: 1000, max: 30 * 86_400_000, default: 120_000, doc: 'A node that is not connected and sent nothing for this long is "silent" (and "down" after 10 times as long); a connected agent pings while idle, so it stays up.' }),
    tls: s.object(
      {
        cert: s.optional(s.string({ doc: '' }), { doc: 'PEM certificate chain: with cert and key the HTTP listener speaks HTTPS only.' }),
        key: s.optional(s.string({ doc: '' }), { doc: 'PEM private key of the HTTP listener.' }),
      },
      { doc: 'TLS for the HTTP listener (the API, the dashboard, /metrics and /healthz).' },
    ),
    client: s.object(
      {
        url: s.optional(s.string({ doc: '', pattern: /^https?:\/\/[^\s/]+\/?$/, patternDoc: 'http(s)://host:port' }), { doc: 'Where `logloom tail` and `logloom query` find the aggregator\'s API (else --url or $LOGLOOM_URL).' }),
        token_file: s.optional(s.string({ doc: '' }), { doc: 'File holding the API token `logloom tail|query` send (else --token, $LOGLOOM_TOKEN or --token-file).' }),
        ca: s.optional(s.string({ doc: '' }), { doc: 'PEM CA bundle to verify the aggregator\'s HTTPS certificate (else the system\'s CAs).' }),
      },
      { doc: 'How `logloom tail` and `logloom query` reach an aggregator.' },
    ),
    max_tail_clients: s.int({ min: 1, max: 100_000, default: 256, doc: 'Concurrent live-tail streams (/api/tail); more get 503.' }),
  },
  { doc: 'Query API and web dashboard (docs/aggregator-api.md).' },
);

export type ApiConfig = Infer<typeof apiSchema>;
