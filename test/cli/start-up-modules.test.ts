/**
 * What the agent loads at start: modules that only some configurations need (TLS, HTTP, the
 * metrics library, the aggregator's index and NATS client, the Kafka client, serial ports) load
 * when a configuration uses them, not at every start: each costs start-up time and resident
 * memory on a gateway. A probe (--require) records every module the process resolves and the
 * built-ins it loaded, at the moment the agent prints its ready line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCli, tempDir, waitStarted } from '../helpers/agent.ts';

const PROBE = `
const { registerHooks } = require('node:module');
const { writeFileSync } = require('node:fs');
const urls = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.add(r.url); return r; } });
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  if (/started on node/.test(String(chunk))) {
    writeFileSync(process.env.PROBE_OUT, JSON.stringify({ builtins: process.moduleLoadList, urls: [...urls] }));
  }
  return write(chunk, ...rest);
};
`;

async function loadedAtStart(body: string): Promise<{ builtins: string[]; urls: string[] }> {
  const dir = tempDir();
  const probe = join(dir, 'probe.cjs');
  const out = join(dir, 'loaded.json');
  writeFileSync(probe, PROBE);
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `logloom:\n  node_id: probe\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n${body.includes('  control:') ? '' : `  control:\n    socket: ${dir}/run/control.sock\n`}${body.replace('  control:\n', `  control:\n    socket: ${dir}/run/control.sock\n`)}`);
  const p = startCli(['run', '-c', cfg], { env: { NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out } });
  await waitStarted(p, /started on node/, 'agent');
  p.proc.kill('SIGTERM');
  await p.exited;
  return JSON.parse(readFileSync(out, 'utf8'));
}

test('agent start-up (tcp input, filter_level, sink_tcp): TLS, HTTP, crypto, zlib, readline, metrics, aggregator, NATS, Kafka and serial modules are not loaded', async () => {
  const loaded = await loadedAtStart(`  inputs:
    - type: tcp
      listen: 127.0.0.1:0
      format: json
  plugins:
    enabled: [filter_level, sink_tcp]
    config:
      filter_level: { min_level: INFO }
      sink_tcp: { host: 127.0.0.1, port: 9 }
`);
  const builtins = loaded.builtins.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  // (node:child_process and node:dgram do load: net.Server#listen loads node:cluster, which needs them.)
  for (const b of ['tls', 'https', 'http', 'sqlite', 'crypto', 'zlib', 'readline']) {
    assert.ok(!builtins.includes(b), `node:${b} was loaded at start`);
  }
  for (const pkg of ['prom-client', 'nats', '@platformatic/kafka', 'serialport', '@serialport']) {
    const hit = loaded.urls.find((u) => u.includes(`/node_modules/${pkg}/`));
    assert.equal(hit, undefined, `${pkg} was loaded at start (${hit})`);
  }
  // (the aggregator's config schema and store registry are part of the one configuration; its programs are not)
  for (const part of ['/aggregator/aggregator.ts', '/aggregator/index/entry-index.ts', '/aggregator/index/index-writer.ts', '/aggregator/fleet/', '/aggregator/server.ts', '/control/http.ts']) {
    const hit = loaded.urls.find((u) => u.includes(part));
    assert.equal(hit, undefined, `${part} was loaded at start (${hit})`);
  }
  assert.ok(loaded.urls.some((u) => u.includes('/agent/inputs/')), 'the probe saw the modules the agent did load');
});

test('agent start-up with the metrics endpoint: prom-client and node:http load (what the configuration uses does load)', async () => {
  const loaded = await loadedAtStart(`  control:
    http: 127.0.0.1:0
`);
  assert.ok(loaded.urls.some((u) => u.includes('/node_modules/prom-client/')), 'prom-client loaded');
  assert.ok(loaded.builtins.includes('NativeModule http'), 'node:http loaded');
});
