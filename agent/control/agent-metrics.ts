/**
 * The agent's /metrics, declared once (see metrics.ts): names, types, labels and HELP text. They
 * read the same status() that `logloom status --json` prints. Adding a metric = one entry below;
 * `make docs` regenerates docs/metrics.md from this list.
 */
import { perItem, single, type MetricDef, type Sample } from '../../lib/control/metrics.ts';
import { PROFILE } from '../../static-plugins/table.generated.ts';

type Item = Record<string, unknown>;
interface AgentStatus {
  version: string;
  node: string;
  uptime_s: number;
  dropped_total: number;
  buffer: { queued: number; max_entries: number; bytes: number; processed: number };
  inputs: Item[];
  filters: Item[];
  sinks: Item[];
  plugins: Item[];
  routes?: Item[];
}

/** The forwarder is one sink among the others in status; its own figures are exported once, here. */
const FORWARDER = 'log_aggregator_remote';
const forwarder = (s: AgentStatus): Item[] => s.sinks.filter((x) => x.name === FORWARDER);
const inputs = (s: AgentStatus) => s.inputs;
const sinks = (s: AgentStatus) => s.sinks;
const plugins = (s: AgentStatus) => s.plugins;

const inputCounter = (field: string, help: string): MetricDef<AgentStatus> =>
  perItem(inputs, 'input', { name: `logloom_input_${field}_total`, type: 'counter', help, field, extra: { type: 'type' } });
const sinkCounter = (field: string, help: string, name = field): MetricDef<AgentStatus> =>
  perItem(sinks, 'sink', { name: `logloom_sink_${name}_total`, type: 'counter', help, field });
const forwarderCounter = (field: string, help: string, name = field): MetricDef<AgentStatus> =>
  perItem(forwarder, 'sink', { name: `logloom_forwarder_${name}_total`, type: 'counter', help, field });
const forwarderGauge = (field: string, help: string, name = field): MetricDef<AgentStatus> =>
  perItem(forwarder, 'sink', { name: `logloom_forwarder_${name}`, type: 'gauge', help, field });

/** Plugin states as the registry and supervisor report them, folded into the three an alert needs. */
function pluginState(item: Item): 'running' | 'failed' | 'disabled' {
  const st = String(item.state ?? '');
  if (st === 'failed' || st === 'refused') return 'failed';
  if (st === 'disabled') return 'disabled';
  return 'running';
}

export const AGENT_METRICS: readonly MetricDef<AgentStatus>[] = [
  {
    name: 'logloom_build_info', type: 'gauge', labels: ['version', 'target', 'profile', 'node'],
    help: 'Always 1; the labels say which build runs where: version, target (x64, arm64…), profile (default, locked), node id.',
    samples: (s) => [[{ version: s.version, target: process.arch, profile: PROFILE, node: s.node }, 1]],
  },
  single('logloom_uptime_seconds', 'gauge', 'Seconds since the agent started.', (s) => s.uptime_s),
  single('logloom_buffer_queued_entries', 'gauge', 'Entries waiting in the buffer between inputs and filters.', (s) => s.buffer.queued),
  single('logloom_buffer_capacity_entries', 'gauge', 'Entries the buffer holds at most (buffer.max_entries).', (s) => s.buffer.max_entries),
  single('logloom_buffer_queued_bytes', 'gauge', 'Bytes of the entries waiting in the buffer.', (s) => s.buffer.bytes),
  single('logloom_entries_processed_total', 'counter', 'Entries taken from the buffer through the filters.', (s) => s.buffer.processed),
  single('logloom_dropped_total', 'counter', 'Every entry lost to a full queue anywhere: inputs (when_full), entries plugins create (ai results, filter notices: dropped when the buffer is full), sinks, the spool, ai queues (filter verdicts are not drops: see logloom_filter_dropped_total). Alert when it moves.', (s) => s.dropped_total),

  inputCounter('received', 'Entries an input accepted into the buffer.'),
  inputCounter('rejected', 'Lines or records an input refused as malformed (the reason is in status: last_reject).'),
  inputCounter('dropped', 'Entries an input dropped because the buffer was full (when_full: drop_newest/drop_oldest).'),
  perItem(inputs, 'input', { name: 'logloom_input_pauses_total', type: 'counter', help: 'Times an input was paused by backpressure (when_full: block).', field: 'paused', extra: { type: 'type' } }),
  inputCounter('bytes', 'Bytes read by an input that counts them (serial).'),
  inputCounter('lines', 'Lines read by an input that counts them (serial).'),
  inputCounter('errors', 'Read errors of an input (file).'),
  inputCounter('rotations', 'File rotations an input followed (file).'),
  inputCounter('parsed', 'Lines the input\'s parser read (parser:).'),
  inputCounter('unparsed', 'Lines not in the parser\'s format, kept as text (parser:).'),
  inputCounter('time_errors', 'Parsed lines whose time was not in the expected format (kept the arrival time).'),
  inputCounter('multiline_entries', 'Entries the multiline stage sent (multiline:); multiline_lines of lines went into them.'),
  inputCounter('multiline_lines', 'Lines joined into multi-line entries (multiline:).'),
  inputCounter('multiline_cut', 'Multi-line entries ended at max_lines or max_bytes (multiline:).'),
  inputCounter('messages', 'Messages read by the devlog input (/dev/log datagrams).'),
  inputCounter('entries', 'Journal entries read by the journald input.'),
  inputCounter('restarts', 'Times journalctl was started again after it exited (journald).'),
  inputCounter('sent', 'pstore records delivered (marked sent).'),
  perItem(inputs, 'input', { name: 'logloom_input_connections', type: 'gauge', help: 'Open client connections of a stream input (unix, tcp, syslog tcp).', field: 'connections', extra: { type: 'type' } }),
  perItem((s: AgentStatus) => s.inputs.filter((i) => i.type === 'serial'), 'input', {
    name: 'logloom_serial_port_open', type: 'gauge', extra: { path: 'path' },
    help: 'Serial port state: 1 while the port is open, 0 while it is absent or failing (unplugged; reopened by itself).',
    field: (i) => (i.state === 'open' ? 1 : 0),
  }),
  perItem((s: AgentStatus) => s.inputs.filter((i) => i.type === 'serial'), 'input', { name: 'logloom_serial_reconnects_total', type: 'counter', help: 'Times a serial port was reopened after it went away.', field: 'reconnects' }),

  perItem((s: AgentStatus) => s.filters, 'filter', { name: 'logloom_filter_dropped_total', type: 'counter', help: 'Entries a filter dropped (its verdict, not a fault).', field: 'dropped_by_filter' }),

  perItem((s: AgentStatus) => s.routes, 'route', { name: 'logloom_route_matched_total', type: 'counter', help: 'Entries a route selected (by input, level and module).', field: 'matched' }),
  perItem((s: AgentStatus) => s.routes, 'route', { name: 'logloom_route_delivered_total', type: 'counter', help: 'Entries a route handed to its sinks after its own filters.', field: 'delivered' }),
  perItem((s: AgentStatus) => s.routes, 'route', { name: 'logloom_route_filtered_total', type: 'counter', help: 'Entries a route\'s own filters dropped (the copies for other routes are unaffected).', field: 'dropped_by_filters' }),

  sinkCounter('delivered', 'Entries a sink (or the forwarder) delivered.'),
  sinkCounter('failures', 'Failed flushes of a sink; the batch stays queued and is retried.'),
  sinkCounter('dropped', 'Entries a sink dropped (its queue full under a drop policy, or disabled with disabled_sink_queue: drop).'),
  perItem(sinks, 'sink', { name: 'logloom_sink_queued_entries', type: 'gauge', help: 'Entries waiting for a sink.', field: 'queued' }),
  perItem(sinks, 'sink', { name: 'logloom_sink_inflight_batches', type: 'gauge', help: 'Batches handed to a sink and not yet done.', field: 'inflight' }),

  {
    name: 'logloom_plugin_state', type: 'gauge', labels: ['plugin', 'kind', 'state'],
    help: 'Always 1, for the state a plugin is in: running, failed (crashed, refused, or restarting after faults) or disabled.',
    samples: (s) => plugins(s).map((p): Sample => [{ plugin: String(p.name), kind: String(p.kind ?? ''), state: pluginState(p) }, 1]),
  },
  perItem(plugins, 'plugin', { name: 'logloom_plugin_calls_total', type: 'counter', help: 'Calls into a plugin (entries or batches).', field: 'calls' }),
  perItem(plugins, 'plugin', { name: 'logloom_plugin_failures_total', type: 'counter', help: 'Failed calls into a plugin: crash, timeout, malformed answer.', field: 'failures' }),
  perItem(plugins, 'plugin', { name: 'logloom_plugin_restarts_total', type: 'counter', help: 'Times a plugin was restarted after it was marked failed.', field: 'restarts' }),
  perItem(plugins, 'plugin', { name: 'logloom_plugin_failed_open_total', type: 'counter', help: 'Entries a failing filter let through (on_error: keep).', field: 'failed_open' }),

  forwarderGauge('connected', 'The forwarder: 1 while connected to an aggregator.', 'connected'),
  forwarderCounter('connects', 'The forwarder: successful connections (WELCOME received).'),
  forwarderCounter('disconnects', 'The forwarder: connections lost after WELCOME.'),
  forwarderCounter('batches_sent', 'The forwarder: batches written to the aggregator (a resent batch counts again).'),
  forwarderCounter('entries_sent', 'The forwarder: entries in the batches written.'),
  forwarderCounter('bytes_sent', 'The forwarder: bytes of batch frames written.'),
  forwarderCounter('acks', 'The forwarder: ACKs received (the aggregator stored the batches).'),
  forwarderCounter('peer_errors', 'The forwarder: ERROR frames received from the aggregator.'),
  forwarderGauge('spool_queued_entries', 'The forwarder: entries not yet acknowledged by the aggregator (memory and disk).'),
  forwarderGauge('spool_disk_bytes', 'The forwarder: bytes of spool segments on disk.'),
  forwarderCounter('spool_dropped_entries', 'The forwarder: entries the full spool dropped (spool.when_full).'),
  forwarderCounter('spool_corrupt_records', 'The forwarder: spool records skipped as corrupt (their entries count in lost_entries).'),
  forwarderCounter('lost_entries', 'The forwarder: entries lost to spool damage or a failed write.'),
  forwarderCounter('refusals', 'The forwarder: connections on which the aggregator refused the batches in flight (e.g. SEQUENCE_JUMP); the next session renumbers them.'),
  forwarderCounter('spool_renumbered_batches', 'The forwarder: batches renumbered above the aggregator\'s sequence (a reset spool, or a refused sequence).'),
  forwarderCounter('spool_refused_entries', 'The forwarder: entries of batches the aggregator refused 3 times, set aside (also in spool_dropped_entries).'),
  forwarderCounter('seq_exhausted', 'The forwarder: sessions that could not send because the aggregator holds a sequence with no number left above it.'),
];
