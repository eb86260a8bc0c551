import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/agent.ts';
import { launch, pinPort, RawAgent, startAggregator, type RunningAggregator } from './helpers.ts';
import { startNats, type RunningNats } from './nats-server.ts';
import { until } from '../helpers/wait.ts';
import { connect } from 'nats';
import { EntryIndex } from '../../aggregator/index/entry-index.ts';

/**
 * With the JetStream store every aggregator feeds its index from the stream (a real
 * nats-server): an entry sent to one aggregator is found through the API of the other, live tail
 * included; a restart resumes from the saved stream position (nothing indexed twice), and
 * `reindex` rebuilds from the stream.
 */
describe('JetStream-fed index (real nats-server, two aggregators)', () => {
  const dir = tempDir('logloom-fleet-nats-');
  let nats: RunningNats;
  let a1: RunningAggregator;
  let a2: RunningAggregator;
  let token = '';
  const body = (url: string) => `    auth:\n      mode: none\n    store: nats\n    nats:\n      servers: [${url}]\n      timeout: 3s\n    index:\n      flush_interval: 20ms\n    api:\n      tokens_file: ${dir}/api-tokens\n`;
  const base = async (a: RunningAggregator) => /dashboard at (http:\/\/[^/ ]+)\//.exec(await a.stderr.waitFor(/dashboard at /))![1]!;
  const get = async (a: RunningAggregator, path: string) => (await fetch(`${await base(a)}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  before(async () => {
    token = (await runCli(['aggregator', 'api-token', 't', '--tokens', join(dir, 'api-tokens')])).stdout.trim();
    nats = await startNats(join(dir, 'js'));
    a1 = await startAggregator('', tempDir('logloom-fleet-n1-'), body(nats.url));
    a2 = await startAggregator('', tempDir('logloom-fleet-n2-'), body(nats.url));
  });
  after(async () => {
    await Promise.all([a1?.stop(), a2?.stop()]);
    await nats?.kill();
  });

  it('an entry stored through one aggregator is found through the other', async () => {
    const c = await RawAgent.connect(a1.port);
    await c.hello('gw-js', '');
    await c.batch(1, [
      { level: 'INFO', module: 'A', message: 'first via one' },
      { level: 'ERROR', module: 'A', message: 'second via one' },
      { level: 'INFO', module: 'A', message: 'third via one' },
    ]);
    await c.end();
    const found = await until(async () => {
      const r = await get(a2, '/api/entries?node=gw-js&order=asc');
      return r.entries.length === 3 ? r.entries : undefined;
    }, 30_000, 'entries on the second aggregator', 50);
    // The JetStream store publishes a batch as one message per level (docs/scale-out.md): each
    // level's entries arrive in the batch's order, the levels one after the other.
    const messages = found.map((e: any) => e.entry.message);
    assert.deepEqual(messages.filter((m: string) => m !== 'second via one'), ['first via one', 'third via one']);
    assert.deepEqual([...messages].sort(), ['first via one', 'second via one', 'third via one']);
    assert.equal((await get(a2, '/api/entries?q=second')).entries[0].node, 'gw-js');
    const n = (await get(a2, '/api/nodes')).nodes.find((x: any) => x.name === 'gw-js');
    assert.equal(n.errors_1h, 1);
  });

  it('a restarted aggregator resumes from its stream position and indexes nothing twice; reindex rebuilds from the stream', async () => {
    pinPort(a2);
    await a2.stop();
    const c = await RawAgent.connect(a1.port);
    await c.hello('gw-js2', '');
    await c.batch(1, [{ level: 'INFO', module: 'B', message: 'while two was down' }]);
    await c.end();
    a2 = await launch(a2.dir, a2.configPath);
    await until(async () => ((await get(a2, '/api/entries?node=gw-js2')).entries.length === 1 ? true : undefined), 30_000, 'the missed entry', 50);
    assert.equal((await get(a2, '/api/entries?node=gw-js')).entries.length, 3, 'not indexed twice');
    await a2.stop();
    const r = await runCli(['aggregator', 'reindex', '-c', a2.configPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rebuilds it from stream LOGLOOM/);
    a2 = await launch(a2.dir, a2.configPath);
    await until(async () => ((await get(a2, '/api/entries?limit=1000')).entries.length === 4 ? true : undefined), 30_000, 'the rebuilt index', 50);
  });
});

describe('JetStream-fed index under a burst beyond max_lag (real nats-server)', () => {
  it('the feed stops consuming while the index is full and resumes where it stopped: every entry indexed once, none left out, the lag bounded', async () => {
    const dir = tempDir('logloom-fleet-nats-lag-');
    const nats = await startNats(join(dir, 'js'));
    // A 64 KiB lag against ~1.3 MB of NDJSON: the stream hands over far more per flush interval
    // than the index may hold.
    const agg = await startAggregator('', tempDir('logloom-fleet-nats-lag-a-'),
      `    auth:\n      mode: none\n    store: nats\n    nats:\n      servers: [${nats.url}]\n      timeout: 3s\n    index:\n      max_lag: 64KiB\n      flush_interval: 100ms\n`);
    const BATCHES = 60;
    const PER = 100;
    const status = async () => JSON.parse((await runCli(['status', '--json', '-c', agg.configPath])).stdout).index;
    let maxLag = 0;
    try {
      const c = await RawAgent.connect(agg.port);
      await c.hello('gw-burst', '');
      c.stream(1, BATCHES, 8, (seq) => Array.from({ length: PER }, (_, k) => ({ level: k % 10 === 0 ? 'ERROR' : 'INFO', module: 'B', message: `burst ${seq}-${k} ${'x'.repeat(150)}` })));
      await c.waitFor((m) => m.type === 'ACK' && m.seq === BATCHES, 60_000);
      await c.end();
      const done = await until(async () => {
        const s = await status();
        maxLag = Math.max(maxLag, s.lag_bytes);
        return s.entries_indexed === BATCHES * PER && s.lag_bytes === 0 ? s : undefined;
      }, 60_000, 'every entry indexed', 50);
      assert.equal(done.dropped_entries, 0, 'nothing left out of the index');
      assert.ok(done.full_pauses > 0, `the feed stopped at least once for room (${JSON.stringify(done)})`);
      assert.ok(maxLag <= 64 * 1024 + 64 * 1024, `the lag stayed near max_lag (${maxLag})`);
      // Each pause's consumer is deleted on the server, not left there for its inactivity threshold.
      const nc = await connect({ servers: nats.url });
      try {
        const consumers = await (await nc.jetstreamManager()).consumers.list('LOGLOOM').next();
        assert.ok(consumers.length <= 1, `consumers left on the stream after ${done.full_pauses} pauses: ${consumers.length}`);
      } finally {
        await nc.close();
      }
      await agg.stop();
    } finally {
      agg.proc.kill('SIGKILL');
      await nats.kill();
    }
    const ix = new EntryIndex(join(agg.dir, 'data', 'index.sqlite'));
    try {
      const messages: string[] = [];
      let cursor: number | undefined;
      do {
        const page = ix.query({ nodes: [], levels: [], words: [], limit: 1000, order: 'asc', cursor });
        messages.push(...page.entries.map((e) => (e.entry as { message: string }).message.split(' ')[1]!));
        cursor = page.next_cursor === undefined ? undefined : Number(page.next_cursor);
      } while (cursor !== undefined);
      assert.equal(messages.length, BATCHES * PER, 'each entry once');
      assert.equal(new Set(messages).size, BATCHES * PER, 'no entry twice');
    } finally {
      ix.close();
    }
  });

  it('the lag of a JetStream-fed index counts from when the stream stored a batch, not from when this aggregator read it', async () => {
    const dir = tempDir('logloom-fleet-nats-age-');
    const nats = await startNats(join(dir, 'js'));
    const base = `    auth:\n      mode: none\n    store: nats\n    nats:\n      servers: [${nats.url}]\n      timeout: 3s\n`;
    // One aggregator only stores; the other, started later, indexes from the stream with a slow
    // flush, so that the batch waits in its lag long enough to be seen there.
    const storing = await startAggregator('', tempDir('logloom-fleet-nats-age-s-'), base + '    index:\n      enabled: false\n');
    let indexing: RunningAggregator | undefined;
    try {
      const c = await RawAgent.connect(storing.port);
      await c.hello('gw-age', '');
      await c.batch(1, [{ level: 'INFO', module: 'A', message: 'stored before the indexer started' }]);
      const storedBy = Date.now();
      await c.end();
      await new Promise((r) => setTimeout(r, 1500)); // the age to be seen
      indexing = await startAggregator('', tempDir('logloom-fleet-nats-age-i-'), base + '    index:\n      flush_interval: 10s\n      defer_while_busy: 0ms\n');
      const agg = indexing;
      const s = await until(async () => {
        const st = JSON.parse((await runCli(['status', '--json', '-c', agg.configPath])).stdout).index;
        return st.lag_batches > 0 ? st : undefined;
      }, 10_000, 'the batch in the lag', 20);
      const ageAtRead = (Date.now() - storedBy) / 1000;
      assert.ok(s.lag_seconds >= 1.4 && s.lag_seconds <= ageAtRead + 0.2, `lag_seconds ${s.lag_seconds}, stored ${ageAtRead} s before`);
    } finally {
      await Promise.all([storing.stop(), indexing?.stop()]);
      await nats.kill();
    }
  });
});
