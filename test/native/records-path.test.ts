/**
 * The records path in a running agent (buffer.native: on): unix input → C codec → native ring →
 * filter_level and a C filter (in its host process, or trusted in-process) → log_aggregator_remote
 * → a real aggregator. Entries go through as the ring's bytes (status counts them under
 * buffer.records_path) and the aggregator stores the same entries as with JS objects
 * (buffer.native: off). A crashing C filter on this path is isolated like on the object path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/agent.ts';
import { agentStatus, aggregatorFixture, startAgent, waitStored } from '../forward/helpers.ts';
import { compilePlugin } from './compile.ts';
import { startRecordsPath } from './records-fixture.ts';
import { waitForLines } from '../helpers/wait.ts';
import { writeToSocket } from '../helpers/socket.ts';

/** What the aggregator stored for the node, in order, without the time, which differs per run. */
async function stored(store: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(join(store, 'test-node'))).filter((f) => f.endsWith('.ndjson')).sort();
  const out: Record<string, unknown>[] = [];
  for (const f of files) {
    for (const line of (await readFile(join(store, 'test-node', f), 'utf8')).split('\n')) {
      if (!line) continue;
      const { timestamp, ...rest } = JSON.parse(line) as Record<string, unknown>;
      assert.match(String(timestamp), /^\d{4}-\d\d-\d\dT/, line);
      out.push(rest);
    }
  }
  return out;
}

const N = 3000;
/** Plain-text lines as a device prints them: a tenth DEBUG (filter_level drops), some heartbeats (filter_keyword drops). */
function input(): { text: string; kept: string[] } {
  const lines: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < N; i++) {
    if (i % 10 === 0) lines.push(`[DEBUG] [pump] debug ${i}`);
    else if (i % 7 === 0) lines.push(`heartbeat ${i}`);
    else {
      const msg = i % 3 === 0 ? `reading ${i} "quoted" \\ 压力 ✓` : `reading ${i}`;
      lines.push(i % 2 ? `[WARN] [valve] ${msg}` : msg);
      kept.push(msg);
    }
  }
  return { text: lines.join('\n') + '\n', kept };
}

async function run(native: 'auto' | 'on' | 'off', isolation: 'host' | 'trusted'): Promise<{ entries: Record<string, unknown>[]; status: Record<string, any> }> {
  const { agent, agg, stop } = await startRecordsPath({ native, trusted: isolation === 'trusted', remote: '        batch_max_entries: 700\n' });
  try {
    // auto (the default) chooses the ring here, since every stage can take entry records, and says so.
    if (native === 'auto') await agent.stderr.waitFor(/^\[INFO\] buffer: native ring; entries take the records path through filter_level, filter_keyword, log_aggregator_remote$/);
    const { text, kept } = input();
    await writeToSocket(agent.ingest, text);
    await waitStored(agg.store, 'test-node', kept.length, 60_000);
    const status = await agentStatus(agent.configPath);
    const entries = await stored(agg.store);
    assert.deepEqual(entries.map((e) => e.message), kept);
    return { entries, status };
  } finally {
    await stop();
  }
}

test('records path: C filter (host process and trusted) + filter_level + forwarder store the same entries on the native ring as on the JS ring, none made a JS object', async () => {
  const objects = await run('off', 'host');
  assert.equal(objects.status.buffer.ring.impl, 'js');
  assert.equal(objects.status.buffer.records_path, N);
  for (const isolation of ['host', 'trusted'] as const) {
    const records = await run(isolation === 'host' ? 'on' : 'auto', isolation);
    // seq is the number of the batch an entry travelled in: where batches are cut depends on timing
    // (batch_max_ms), so it is left out of the comparison; every other field must match.
    const noSeq = (es: Record<string, unknown>[]) => es.map(({ seq: _seq, ...e }) => e);
    assert.deepEqual(noSeq(records.entries), noSeq(objects.entries), `${isolation}: stored entries differ from the JS ring's`);
    // Every entry the input took went the records path; the filters' drops are counted as before.
    assert.equal(records.status.inputs[0].received, N);
    assert.equal(records.status.buffer.records_path, N, JSON.stringify(records.status.buffer));
    assert.deepEqual(records.status.filters, objects.status.filters);
    const plugin = records.status.plugins.find((p: { name: string }) => p.name === 'filter_keyword');
    assert.equal(plugin.isolation ?? plugin.status?.isolation, isolation === 'host' ? 'process' : 'none (trusted, in-process)', JSON.stringify(plugin));
  }
  // The stored entries carry what the codec extracted, e.g. module and level from "[WARN] [valve] …".
  // node and seq are the aggregator's (the batch's sequence number), whatever the agent sent.
  assert.deepEqual(objects.entries[0], { level: 'WARN', module: 'VALVE', message: 'reading 1', node: 'test-node', source: 'unix', seq: 1 });
});

/** An agent: unix input → the given filters → sink_file (DIR/out.log, json); `config` adds plugin config lines. */
function unixToFile(filters: string, config = '') {
  return startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [${filters}, sink_file]
    config:
${config}      sink_file: { path: DIR/out.log, format: json }
`);
}

test('buffer.native auto: a stage that needs entry objects (here filter_dedupe) gets them decoded from the ring\'s records, and the log says which', async () => {
  const agent = await unixToFile('filter_level, filter_dedupe');
  try {
    await agent.stderr.waitFor(/^\[INFO\] buffer: native ring; filter_dedupe needs entries as objects/);
    await writeToSocket(agent.ingest, 'one\ntwo\n');
    await waitForLines(`${agent.dir}/out.log`, 2);
    const status = await agentStatus(agent.configPath);
    assert.equal(status.buffer.ring.impl, 'native');
    assert.equal(status.buffer.ring.drained, 2);
    assert.equal(status.buffer.records_path, 0);
  } finally {
    await agent.stop();
  }
});

test('records path: filter_redact masks on the records (a view per record, the whole entry decoded only when something is masked)', async () => {
  const agent = await unixToFile('filter_level, filter_redact', "      filter_redact: { patterns: [ipv4, email], mask: '***' }\n");
  try {
    await agent.stderr.waitFor(/^\[INFO\] buffer: native ring; entries take the records path through filter_level, filter_redact, sink_file$/);
    // Nothing to mask: the batch stays records from the input to the sink.
    await writeToSocket(agent.ingest, 'nothing to hide, version 1.2.3\n');
    await waitForLines(`${agent.dir}/out.log`, 1);
    assert.equal((await agentStatus(agent.configPath)).buffer.records_path, 1);
    // A batch with a masked entry carries the replacement on (that batch as objects).
    await writeToSocket(agent.ingest, [
      'login from 10.1.2.3 by bob@example.com',
      JSON.stringify({ level: 'WARN', message: 'peer', args: ['192.168.0.9', 7], fields: { mail: 'a@b.io', n: 1 } }),
    ].join('\n') + '\n');
    const lines = (await waitForLines(`${agent.dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => [e.level, e.message, e.args, e.fields]), [
      ['INFO', 'nothing to hide, version 1.2.3', undefined, undefined],
      ['INFO', 'login from *** by ***', undefined, undefined],
      ['WARN', 'peer', ['***', 7], { mail: '***', n: 1 }],
    ]);
  } finally {
    await agent.stop();
  }
});

test('records path: a C filter that crashes is isolated, reported and restarted; the other entries keep flowing', async () => {
  const dir = tempDir('logloom-records-crash-');
  mkdirSync(`${dir}/plugins`);
  compilePlugin(`${dir}/plugins`, 'filter_faulty.so', { example: 'filter_faulty.c' });
  const agg = await aggregatorFixture();
  await agg.start();
  const agent = await startAgent(`  buffer:
    native: on
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [filter_faulty, log_aggregator_remote]
    config:
      log_aggregator_remote:
        addresses: ["127.0.0.1:${agg.port}"]
        batch_max_ms: 20
`, dir);
  try {
    await writeToSocket(agent.ingest, 'before\nDROP_ME 1\n');
    await waitStored(agg.store, 'test-node', 1, 30_000);
    await writeToSocket(agent.ingest, 'CRASH_ME please\n');
    await agent.stderr.waitFor(/^\[ERROR\] Plugin communication failed: filter_faulty: .*SIGSEGV/);
    await agent.stderr.waitFor(/Plugin filter_faulty restarted/);
    await writeToSocket(agent.ingest, 'after crash\nDROP_ME 2\n');
    await waitStored(agg.store, 'test-node', 3, 30_000);
    // Fail open (on_error keep): the crashing call's entry is kept; the restarted plugin drops again.
    assert.deepEqual((await stored(agg.store)).map((e) => e.message), ['before', 'CRASH_ME please', 'after crash']);
    const status = await agentStatus(agent.configPath);
    assert.equal(status.buffer.records_path, 5);
  } finally {
    await agent.stop();
    await agg.stop();
  }
});
