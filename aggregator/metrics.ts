/**
 * The aggregator's /metrics, declared once (lib/control/metrics.ts): names, types, labels, HELP.
 * They read the aggregator's status(); the per-node activity counters of the fleet view are added
 * at scrape time by Aggregator.metrics(). `make docs` lists them in docs/metrics.md.
 */
import { perItem, single, type MetricDef, type Sample } from '../lib/control/metrics.ts';

type Item = Record<string, unknown>;
interface AggregatorStatus {
  version: string;
  uptime_s: number;
  connections: number;
  pending_handshakes: number;
  store: Item;
  ingest: Item;
  rejected: Record<string, number>;
  nodes: Item[];
}

const nodes = (s: AggregatorStatus) => s.nodes;

export const AGGREGATOR_METRICS: readonly MetricDef<AggregatorStatus>[] = [
  {
    name: 'logloom_aggregator_build_info', type: 'gauge', labels: ['version', 'target', 'store'],
    help: 'Always 1; the labels say which build runs: version, target (x64, arm64…), store kind (ndjson, nats).',
    samples: (s) => [[{ version: s.version, target: process.arch, store: String(s.store.type ?? s.store.kind ?? '') }, 1]],
  },
  single('logloom_aggregator_uptime_seconds', 'gauge', 'Seconds since the aggregator started.', (s) => s.uptime_s),
  single('logloom_aggregator_connections', 'gauge', 'Authenticated agent connections open now.', (s) => s.connections),
  single('logloom_aggregator_pending_handshakes', 'gauge', 'Connections that have not finished HELLO yet (limited apart from max_connections).', (s) => s.pending_handshakes),
  {
    name: 'logloom_aggregator_rejected_total', type: 'counter', labels: ['reason'],
    help: 'Connections and frames refused, by reason (auth, busy, pending_limit, frame_too_large, sequence_jump…).',
    samples: (s) => Object.entries(s.rejected).map(([reason, n]): Sample => [{ reason }, n]),
  },
  single('logloom_aggregator_ingest_rebuilt_entries_total', 'counter', 'Entries the ingest had to rebuild (not in canonical form) instead of taking their bytes as they were.', (s) => s.ingest.rebuilt_entries),
  perItem(nodes, 'node', { name: 'logloom_aggregator_node_last_seq', type: 'gauge', help: 'The last batch sequence number stored for the node.', field: 'last_seq' }),
  perItem(nodes, 'node', { name: 'logloom_aggregator_node_stored_entries', type: 'gauge', help: 'Entries stored for the node, ever (from the store\'s durable state).', field: 'entries' }),
  perItem(nodes, 'node', { name: 'logloom_aggregator_node_stored_bytes', type: 'gauge', help: 'Bytes stored for the node, ever (from the store\'s durable state).', field: 'bytes' }),
  perItem(nodes, 'node', { name: 'logloom_aggregator_node_duplicate_batches_total', type: 'counter', help: 'Batches the node sent again that were already stored (acknowledged, not stored twice).', field: 'duplicate_batches' }),
  perItem(nodes, 'node', { name: 'logloom_aggregator_node_connections_total', type: 'counter', help: 'Connections the node made to this aggregator since it started.', field: 'connections' }),
];
