/**
 * /metrics as Prometheus reads it: parsed by a Prometheus text-format parser (not by regular
 * expressions), each metric declared once with its type and HELP, counters ending in _total,
 * the forwarder once, serial port and plugin state, build info; docs/metrics.md in step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startAgent } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { renderMetricsReference } from '../../toolchain/gen-metrics-docs.ts';

interface Family { name: string; help: string; type: string; metrics: { value?: string; labels?: Record<string, string> }[] }

test('/metrics parses as Prometheus text: typed, documented, counters _total; forwarder once, serial port, plugin state, build info', async () => {
  const agent = await startAgent(`  control:
    socket: DIR/run/control.sock
    http: 127.0.0.1:0
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
    - type: serial
      path: DIR/no-such-tty
  plugins:
    enabled: [filter_level, sink_file, log_aggregator_remote]
    config:
      filter_level: { min_level: INFO }
      sink_file: { path: DIR/out.log, format: json }
      log_aggregator_remote: { addresses: ['127.0.0.1:1'] }
`);
  try {
    const line = await agent.stderr.waitFor(/metrics and health at http:\/\/127\.0\.0\.1:\d+/);
    const base = line.match(/http:\/\/\S+/)![0];
    await sendLines(agent.ingest, ['{"level":"DEBUG","message":"dropped by the filter"}', 'kept one', 'kept two']);
    let families: Family[] = [];
    const get = (n: string) => families.find((f) => f.name === n);
    const value = (n: string, labels: Record<string, string>) =>
      Number(get(n)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);
    for (let i = 0; i < 100; i++) {
      families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text()) as Family[];
      if (value('logloom_sink_delivered_total', { sink: 'sink_file' }) === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(value('logloom_input_received_total', { input: 'unix', type: 'unix' }), 3);
    assert.equal(value('logloom_filter_dropped_total', { filter: 'filter_level' }), 1);
    assert.equal(value('logloom_sink_delivered_total', { sink: 'sink_file' }), 2);
    for (const f of families) {
      assert.ok(f.help.length > 10 && !/^Logloom /.test(f.help), `${f.name} has written HELP text: ${f.help}`);
      assert.ok(f.type === 'COUNTER' || f.type === 'GAUGE', `${f.name}: ${f.type}`);
      assert.equal(f.type === 'COUNTER', f.name.endsWith('_total'), `${f.name}: counters and only counters end in _total`);
    }
    assert.equal(new Set(families.map((f) => f.name)).size, families.length, 'each metric once');
    // The forwarder's own figures are exported once, under its name.
    assert.equal(get('logloom_forwarder_connected')!.metrics.length, 1);
    assert.equal(value('logloom_forwarder_connected', { sink: 'log_aggregator_remote' }), 0);
    assert.ok(!families.some((f) => /^logloom_(sinks|plugins)_(spool|connects|entries_sent)/.test(f.name)), 'no second copy of the forwarder');
    assert.equal(value('logloom_serial_port_open', { input: 'serial' }), 0);
    assert.equal(value('logloom_plugin_state', { plugin: 'filter_level', state: 'running' }), 1);
    assert.equal(value('logloom_plugin_state', { plugin: 'sink_console', state: 'disabled' }), 1);
    const build = get('logloom_build_info')!.metrics[0]!;
    assert.deepEqual({ ...build.labels }, { version: '0.1.0', target: process.arch, profile: 'default', node: 'test-node' });
  } finally {
    await agent.stop();
  }
});

test('docs/metrics.md is exactly what the declarations render (make docs)', () => {
  const committed = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  assert.equal(committed, renderMetricsReference(), 'run `make docs` to regenerate docs/metrics.md');
});
