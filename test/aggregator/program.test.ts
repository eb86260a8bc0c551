import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, runCli, tempDir } from '../helpers/agent.ts';
import { entries, RawAgent, startAggregator, storedEntries } from './helpers.ts';
import { agentSchema } from '../../agent/config/agent-schema.ts';
import { aggregatorFileSchema } from '../../aggregator/config/config.ts';

test('logloom aggregator is its own program: after start, a stored batch, a rebuilt line and status, nothing of the agent was loaded (only the shared entry rules), nor the NATS client', async () => {
  const dir = tempDir('logloom-agg-program-');
  const log = join(dir, 'modules.txt');
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, LOGLOOM_TEST_MODULE_LOG: process.env.LOGLOOM_TEST_MODULE_LOG };
  process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --import=${pathToFileURL(join(ROOT, 'test/helpers/module-log.ts')).href}`;
  process.env.LOGLOOM_TEST_MODULE_LOG = log;
  let agg;
  try {
    agg = await startAggregator('', dir, '    auth:\n      mode: none\n');
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
  try {
    const c = await RawAgent.connect(agg.port);
    assert.equal((await c.hello('gw-p', '')).type, 'WELCOME');
    // One canonical line (the byte path) and one a peer wrote its own way (the full rebuild path).
    assert.deepEqual(await c.batch(1, [...entries(1), { message: 'no timestamp, lower-case level', level: 'warn' }]), { type: 'ACK', seq: 1 });
    await c.end();
    assert.deepEqual(storedEntries(agg.store, 'gw-p').map((e) => [e.message, e.level, e.seq]), [['m0', 'WARN', 1], ['no timestamp, lower-case level', 'WARN', 1]]);
    const st = await runCli(['status', '--socket', agg.control, '--json']);
    assert.equal(st.code, 0, st.stderr);
  } finally {
    await agg.stop();
  }
  const loaded = readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith(pathToFileURL(ROOT).href));
  const rel = loaded.map((u) => u.slice(pathToFileURL(ROOT).href.length));
  assert.ok(rel.includes('aggregator/aggregator.ts') && rel.includes('aggregator/store/ndjson/ndjson-store.ts'), `the log saw the aggregator load: ${rel.join(', ')}`);
  // The entry rules (normalising, sanitising) the aggregator applies to a line it must rebuild live in
  // entry/, shared by both programs; nothing under agent/ is loaded.
  assert.deepEqual(rel.filter((f) => f.startsWith('agent/')), [], 'modules of the agent loaded by logloom aggregator');
  assert.ok(!rel.some((f) => f.startsWith('node_modules/nats/')), 'the NDJSON store does not load the NATS client');
});

test('the aggregator reads a file both roles share: every top-level key the agent knows is accepted (and ignored) by the aggregator', () => {
  const agentKeys = Object.keys(agentSchema.fields).sort();
  const aggregatorKeys = Object.keys(aggregatorFileSchema.fields);
  assert.deepEqual(agentKeys.filter((k) => !aggregatorKeys.includes(k)), [], 'add these agent keys to aggregatorFileSchema (as agentSection) in aggregator/config/config.ts');
});
