import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { runCli, startAgent, tempDir } from '../helpers/agent.ts';
import { waitForFile } from '../helpers/wait.ts';
import { makeCa, makeCert } from './certs.ts';
import { launch, pinPort, startAggregator, storedEntries } from './helpers.ts';

async function writeLines(socketPath: string, from: number, n: number): Promise<void> {
  const s = connect(socketPath);
  await once(s, 'connect');
  let text = '';
  for (let i = from; i < from + n; i++) text += JSON.stringify({ level: 'INFO', module: 'E2E', message: `m${i}` }) + '\n';
  s.end(text);
  await once(s, 'close');
}

/** Resolves once the node's committed state holds at least n entries (file events, not sleeps). */
function storedAtLeast(storeDir: string, node: string, n: number): Promise<number> {
  mkdirSync(join(storeDir, node), { recursive: true });
  return waitForFile(join(storeDir, node, 'state.json'), (t) => {
    try {
      const e = (JSON.parse(t) as { entries: number }).entries;
      return e >= n ? e : undefined;
    } catch {
      return undefined;
    }
  }, 60_000);
}

test('a real agent forwards over TLS with its token; kill -9 of the aggregator between bursts loses and repeats nothing', async () => {
  const dir = tempDir('logloom-e2e-');
  const ca = makeCa(dir, 'e2e-ca');
  const server = makeCert(dir, ca, 'aggregator.e2e', 'DNS:localhost,IP:127.0.0.1');
  const tok = await runCli(['aggregator', 'token', 'test-node', '--tokens', join(dir, 'tokens')]);
  assert.equal(tok.code, 0, tok.stderr);
  writeFileSync(join(dir, 'token'), tok.stdout.trim() + '\n');
  let agg = await startAggregator('', dir,
    `    tls:\n      enabled: true\n      cert: ${server.cert}\n      key: ${server.key}\n    auth:\n      tokens_file: DIR/tokens\n`);
  const agentDir = tempDir('logloom-e2e-agent-');
  const agent = await startAgent(
    `  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n  plugins:\n    enabled: [log_aggregator_remote]\n    config:\n      log_aggregator_remote:\n` +
    `        addresses: ["127.0.0.1:${agg.port}"]\n        token_file: ${dir}/token\n        batch_max_ms: 50ms\n        backoff_max: 500ms\n` +
    `        tls:\n          enabled: true\n          ca: ${ca.cert}\n          server_name: localhost\n`, agentDir);
  try {
    await writeLines(agent.ingest, 0, 300);
    await storedAtLeast(agg.store, 'test-node', 300);
    pinPort(agg);
    agg.proc.kill('SIGKILL');
    await agg.exited;
    // Entries written while the aggregator is down wait in the agent (spool) and follow later.
    await writeLines(agent.ingest, 300, 300);
    agg = await launch(dir, agg.configPath);
    await storedAtLeast(agg.store, 'test-node', 600);
    const messages = storedEntries(agg.store, 'test-node').map((e) => e.message);
    assert.deepEqual(messages, Array.from({ length: 600 }, (_, i) => `m${i}`));
    const st = JSON.parse((await runCli(['status', '--socket', agg.control, '--json'])).stdout) as { nodes: { name: string; entries: number; connected: boolean }[]; ingest: { scanner: string; canonical_entries: number; rebuilt_entries: number } };
    assert.equal(st.nodes.find((n) => n.name === 'test-node')?.entries, 600);
    // A real agent's entries are stored as they came (node and seq added), none parsed and rebuilt.
    assert.equal(st.ingest.rebuilt_entries, 0, JSON.stringify(st.ingest));
    assert.ok(st.ingest.canonical_entries >= 300, JSON.stringify(st.ingest));
    assert.ok(storedEntries(agg.store, 'test-node').every((e) => e.node === 'test-node' && typeof e.seq === 'number'));
  } finally {
    await agent.stop();
    await agg.stop();
  }
});

test('logloom demo forwards the synthetic device\'s entries to its aggregator', async () => {
  const r = await runCli(['demo', '--count', '60', '--interval', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /demo: aggregator on 127\.0\.0\.1:\d+/);
  assert.match(r.stderr, /demo: the aggregator holds 60 entries \(up to batch \d+\) from demo-gw-01/);
  const dir = /working directory (\S+)/.exec(r.stderr)![1]!;
  const stored = storedEntries(join(dir, 'aggregator', 'store'), 'demo-gw-01');
  assert.equal(stored.length, 60);
  assert.ok(stored.every((e) => e.node === 'demo-gw-01'));
  assert.ok(stored.some((e) => e.lang_key === 'demo.login'), 'lang keys travel with the entries');
});
