/**
 * The records path in a running agent (buffer.native: on): unix input → C codec → native ring →
 * filter_level and a C filter (in its host process, or trusted in-process) → log_aggregator_remote
 * → a real aggregator. Entries go through as the ring's bytes (status counts them under
 * buffer.records_path) and the aggregator stores the same entries as with JS objects
 * (buffer.native: off). A crashing C filter on this path is isolated like on the object path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
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

test('buffer.native auto: a stage that needs entry objects (here plugin_logger, which traces each entry\'s chain) gets them decoded from the ring\'s records, and the log says which', async () => {
  const agent = await unixToFile('plugin_logger', '      plugin_logger: { output: file, path: DIR/chain.log }\n');
  try {
    await agent.stderr.waitFor(/^\[INFO\] buffer: native ring; plugin_logger needs entries as objects/);
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
    // A masked entry goes on as a replacement record (only it is decoded; the batch stays records).
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

/**
 * The rate filters on the records path. Each reads the records through lazy views (level, module,
 * source, message off the bytes); the same agent with plugin_logger added (its chain trace needs
 * every stage to take objects) is the object path. Both must keep exactly the entries a model of
 * the filter keeps, byte for byte the same. Two inputs give two sources: the unix socket ("unix")
 * and a file whose path needs escaping in JSON; lines mix plain text and NDJSON with args and a
 * decoy "source" in fields (and in a message) that a reader of the bytes must not take for the
 * entry's source. The two inputs interleave as they come, so the model runs per source (every key
 * here holds the source, so what one source sends never changes what the other keeps).
 */
interface Line { level: string; module: string; message: string }
const PER_SOURCE = 180;
const FILE_DIR = 'lo"gs ü';

function rateLines(salt: number): { text: string; lines: Line[] } {
  const messages = ['pressure high', 'link flap', 'reading "quoted" \\ 压力 ✓', 'x,"source":"fake"}', 'AT timeout'];
  const levels = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'DEBUG', 'INFO'];
  const modules = ['PUMP', 'NET', 'MODEM'];
  const lines: Line[] = [];
  const text: string[] = [];
  for (let i = 0; i < PER_SOURCE; i++) {
    const l = { level: levels[(i * 5 + salt) % 7]!, module: modules[(i + salt) % 3]!, message: messages[(i * 3 + (i >> 3) + salt) % 5]! };
    lines.push(l);
    text.push(i % 2
      ? `[${l.level}] [${l.module.toLowerCase()}] ${l.message}`
      : JSON.stringify({ level: l.level, module: l.module, message: l.message, ...(i % 4 ? { args: ['a]"}', 7] } : {}), fields: { n: i, source: 'decoy' } }));
  }
  return { text: text.join('\n') + '\n', lines };
}

const SOURCES = [{ salt: 0, source: () => 'unix' }, { salt: 1, source: (dir: string) => `file:${dir}/${FILE_DIR}/app.log` }];

async function rateRun(filter: string, config: string, objects: boolean, kept: number): Promise<{ out: Record<string, unknown>[]; dir: string; dropped: number }> {
  const dir = tempDir('logloom-rates-');
  mkdirSync(`${dir}/${FILE_DIR}`);
  writeFileSync(`${dir}/${FILE_DIR}/app.log`, rateLines(1).text);
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
    - type: file
      path: 'DIR/${FILE_DIR}/app.log'
      read_from: beginning
  plugins:
    enabled: [${objects ? `${filter}, plugin_logger` : filter}, sink_file]
    config:
${config}      plugin_logger: { output: file, path: DIR/chain.log }
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(objects
      ? new RegExp(`^\\[INFO\\] buffer: native ring; ${filter} needs entries as objects`)
      : new RegExp(`^\\[INFO\\] buffer: native ring; entries take the records path through ${filter}, sink_file$`));
    await writeToSocket(agent.ingest, rateLines(0).text);
    const out = (await waitForLines(`${dir}/out.log`, kept)).map((l) => {
      const { timestamp: _t, ...e } = JSON.parse(l) as Record<string, unknown>;
      return e;
    });
    const status = await agentStatus(agent.configPath);
    assert.equal(status.buffer.processed, 2 * PER_SOURCE);
    // The records path: every batch went from the ring to the sink as records, none decoded.
    assert.equal(status.buffer.records_path, objects ? 0 : 2 * PER_SOURCE, JSON.stringify(status.buffer));
    return { out, dir, dropped: status.filters.find((f: { name: string }) => f.name === filter).dropped_by_filter };
  } finally {
    await agent.stop();
  }
}

/** Runs the filter both ways; per source, both keep what keep() says, in order, as the same entries. */
async function sameBothWays(filter: string, config: string, keep: (l: Line, source: string) => boolean): Promise<Record<string, unknown>[]> {
  const want = SOURCES.map(({ salt }) => rateLines(salt).lines.filter((l) => keep(l, String(salt))));
  const kept = want[0]!.length + want[1]!.length;
  assert.ok(kept > 40 && kept < 2 * PER_SOURCE - 40, `the input exercises ${filter}: keeps ${kept} of ${2 * PER_SOURCE}`);
  const records = await rateRun(filter, config, false, kept);
  const objects = await rateRun(filter, config, true, kept);
  for (const run of [records, objects]) {
    assert.equal(run.out.length, kept);
    assert.equal(run.dropped, 2 * PER_SOURCE - kept);
    SOURCES.forEach(({ source }, k) => {
      const from = run.out.filter((e) => e.source === source(run.dir));
      assert.deepEqual(from.map((e) => [e.level, e.module, e.message]), want[k]!.map((l) => [l.level, l.module, l.message]), `${source(run.dir)}`);
    });
  }
  // Byte for byte the same entries (the file's source names each run's own directory).
  const bySource = (run: typeof records) => SOURCES.map(({ source }) => run.out.filter((e) => e.source === source(run.dir)).map(({ source: _s, ...e }) => e));
  assert.deepEqual(bySource(records), bySource(objects));
  return records.out;
}

test('records path: filter_dedupe keeps the same entries as on objects (key: level, module, source, message)', async () => {
  const seen = new Set<string>();
  await sameBothWays('filter_dedupe', '      filter_dedupe: { window: 10m }\n', (l, source) => {
    const key = JSON.stringify([l.level, l.module, source, l.message]);
    return !seen.has(key) && !!seen.add(key);
  });
});

test('records path: filter_throttle keeps the same entries as on objects (key: module and source; FATAL exempt)', async () => {
  const counts = new Map<string, number>();
  await sameBothWays('filter_throttle', '      filter_throttle: { rate: 4, interval: 10m, key: [module, source] }\n', (l, source) => {
    if (l.level === 'FATAL') return true;
    const key = `${l.module} ${source}`;
    const n = counts.get(key) ?? 0;
    counts.set(key, n + 1);
    return n < 4;
  });
});

test('records path: filter_sample keeps the same samples as on objects, each marked with sample_rate (a replacement record)', async () => {
  const counts = new Map<string, number>();
  const out = await sameBothWays('filter_sample', '      filter_sample: { every: 3, below: WARN, key: source }\n', (l, source) => {
    if (l.level !== 'DEBUG' && l.level !== 'INFO') return true;
    const n = counts.get(source) ?? 0;
    counts.set(source, n + 1);
    return n % 3 === 0;
  });
  const samples = out.filter((e) => e.level === 'DEBUG' || e.level === 'INFO');
  assert.ok(samples.length > 10);
  for (const e of samples) assert.equal((e.fields as Record<string, unknown>).sample_rate, 3, JSON.stringify(e));
});
