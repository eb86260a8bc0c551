import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { runCli, tempDir } from '../helpers/agent.ts';
import { agentStatus, aggregatorFixture, startAgent, waitStored } from '../forward/helpers.ts';
import { until, waitForLines } from '../helpers/wait.ts';
import { sendLines } from '../helpers/socket.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const stored = (store: string, node: string) =>
  readdirSync(join(store, node)).filter((f) => f.endsWith('.ndjson')).sort()
    .flatMap((f) => readFileSync(join(store, node, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; module: string; message: string }));

function sendTcp(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.end(text));
    c.on('error', reject);
    c.on('close', () => resolve());
  });
}

test('routes: a raw local copy and a redacted, selected forwarded copy coexist; per-route counts in status', async () => {
  const agg = await aggregatorFixture();
  await agg.start();
  const dir = tempDir();
  const agent = await startAgent(`  control:
    socket: DIR/run/control.sock
    http: 127.0.0.1:0
  inputs:
    - type: tcp
      name: app
      listen: 127.0.0.1:0
    - type: unix
      name: sys
      path: DIR/sys.sock
  plugins:
    enabled: [filter_redact, sink_file, log_aggregator_remote]
    config:
      sink_file: { path: DIR/local.ndjson, format: json }
      log_aggregator_remote:
        addresses: ["127.0.0.1:${agg.port}"]
        batch_max_ms: 50ms
  routes:
    - name: local_raw
      sinks: [sink_file]
    - name: uplink
      match: { inputs: [app], min_level: WARN, exclude_modules: ["DEBUG*"] }
      filters: [filter_redact]
      sinks: [log_aggregator_remote]
`, dir);
  try {
    const st0 = await agentStatus(agent.configPath);
    const port = Number(/:(\d+)$/.exec(st0.inputs.find((i: { name: string }) => i.name === 'app').listening)![1]);
    await sendTcp(port, [
      '[ERROR] [PUMP] login from 10.1.2.3 failed',
      '[INFO] [PUMP] routine from 10.1.2.4',
      '[WARN] [DEBUGX] noisy 10.1.2.5',
      '[WARN] [VALVE] token=abc123 rotated',
    ].join('\n') + '\n');
    await sendLines(`${dir}/sys.sock`, ['[ERROR] [KERNEL] from the other input 10.9.9.9']);
    // The local copy: everything, raw.
    const local = (await waitForLines(`${dir}/local.ndjson`, 5, 30_000)).map((l) => JSON.parse(l).message as string);
    assert.ok(local.includes('login from 10.1.2.3 failed'));
    assert.ok(local.includes('from the other input 10.9.9.9'));
    // The forwarded copy: app only, WARN and above, DEBUG* modules excluded, redacted.
    await waitStored(agg.store, 'test-node', 2, 30_000);
    const fwd = stored(agg.store, 'test-node');
    assert.deepEqual(fwd.map((e) => [e.level, e.module]), [['ERROR', 'PUMP'], ['WARN', 'VALVE']]);
    assert.ok(!fwd.some((e) => /10\.1\.2\.3|abc123/.test(e.message)), JSON.stringify(fwd));
    await until(async () => {
      const routes = (await agentStatus(agent.configPath)).routes as { name: string; matched: number; delivered: number }[];
      return routes.find((r) => r.name === 'uplink')!.matched === 2 && routes.find((r) => r.name === 'local_raw')!.delivered === 5;
    }, 30_000, async () => JSON.stringify((await agentStatus(agent.configPath)).routes));
    // The same figures in /metrics, one series per route.
    const url = /metrics and health at (http:\S+)/.exec(await agent.stderr.waitFor(/metrics and health at/))![1]!;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /logloom_route_matched_total\{route="uplink"\} 2/);
    assert.match(metrics, /logloom_route_delivered_total\{route="local_raw"\} 5/);
    assert.match(metrics, /logloom_route_filtered_total\{route="uplink"\} 0/);
  } finally {
    await agent.stop();
    await agg.stop();
  }
});

test('check-config refuses routes naming an unknown input, sink or filter, a filter as a sink, and a sink in two routes', async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/bad.yaml`, `logloom:
  inputs:
    - type: stdin
    - type: tcp
      name: app
  plugins:
    enabled: [filter_redact, sink_file, sink_console]
  routes:
    - name: a
      match: { inputs: [ap] }
      sinks: [sink_fil, filter_redact]
    - name: b
      filters: [filter_nope]
      sinks: [sink_console]
    - name: c
      sinks: [sink_console]
`);
  const r = await runCli(['check-config', '-c', `${dir}/bad.yaml`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /routes\[0\]\.match\.inputs: unknown input "ap"; the inputs are: stdin, app/);
  assert.match(r.stderr, /routes\[0\]\.sinks: unknown sink "sink_fil"/);
  assert.match(r.stderr, /routes\[0\]\.sinks: "filter_redact" is a filter, not a sink/);
  assert.match(r.stderr, /routes\[1\]\.filters: unknown filter "filter_nope"/);
  assert.match(r.stderr, /routes\[2\]\.sinks: "sink_console" already belongs to route b/);
});
