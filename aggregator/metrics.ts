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
  /** The fleet view's index (fleet.ts status(); the writer's fields only while the index is on). */
  index: Item;
  api?: Item;
}

const nodes = (s: AggregatorStatus) => s.nodes;
const retention = (s: AggregatorStatus) => (s.index.retention ?? {}) as Item;

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
  // The index (docs/aggregator-api.md, "The index"): its lag is how far it is behind the store.
  single('logloom_aggregator_index_entries_total', 'counter', 'Entries written to the index since the aggregator started.', (s) => s.index.entries_indexed),
  single('logloom_aggregator_index_lag_bytes', 'gauge', 'Stored NDJSON bytes waiting to be indexed in memory (the index is behind the store by at least this much; at aggregator.index.max_lag further batches wait in the store and are indexed later).', (s) => s.index.lag_bytes),
  single('logloom_aggregator_index_lag_seconds', 'gauge', 'Age of the oldest stored batch waiting to be indexed; 0 when the index is up to date.', (s) => s.index.lag_seconds),
  single('logloom_aggregator_index_dropped_batches_total', 'counter', 'Stored batches left out of the index because it was more than max_lag behind. The live feeds wait for room instead (NDJSON: read back from the store; JetStream: the stream), so this stays 0 unless the writer was handed more directly; the store has them and logloom aggregator reindex puts them back.', (s) => s.index.dropped_batches),
  single('logloom_aggregator_index_dropped_entries_total', 'counter', 'Entries of those batches.', (s) => s.index.dropped_entries),
  single('logloom_aggregator_index_write_errors_total', 'counter', 'Index transactions or requests that failed (logged).', (s) => s.index.write_errors),
  single('logloom_aggregator_index_last_flush_milliseconds', 'gauge', 'How long the index writer\'s last transaction took.', (s) => s.index.last_flush_ms),
  single('logloom_aggregator_index_tail_clients', 'gauge', 'Live-tail clients (GET /api/tail) connected now.', (s) => s.index.tail_clients),
  single('logloom_aggregator_index_retention_deleted_entries_total', 'counter', 'Index entries deleted by retention (max_age, max_bytes_per_node).', (s) => retention(s).entries_deleted),
  single('logloom_aggregator_index_retention_deleted_files_total', 'counter', 'NDJSON store files deleted by retention.', (s) => retention(s).files_deleted),
  single('logloom_aggregator_api_requests_total', 'counter', 'Requests to the query API and the dashboard.', (s) => s.api?.requests),
  single('logloom_aggregator_api_refused_total', 'counter', 'API requests refused (no or bad token, role).', (s) => s.api?.refused),
  single('logloom_aggregator_api_bad_requests_total', 'counter', 'API requests answered 400 (invalid query).', (s) => s.api?.bad_requests),
];
