import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/agent.ts';
import { createLog } from '../../lib/log.ts';
import { buildEntry } from '../../entry/build.ts';
import { NdjsonStore } from '../../aggregator/store/ndjson/ndjson-store.ts';
import { storedBatch } from '../../aggregator/ingest/stored-batch.ts';
import type { NdjsonStoreConfig } from '../../aggregator/config/config.ts';
import { entries, launch, RawAgent, startAggregator, storedEntries } from './helpers.ts';
import { EntryIndex } from '../../aggregator/index/entry-index.ts';

// Delivery and durability only: the fleet index would add its CPU to every aggregator here.
const OPEN = '    auth:\n      mode: none\n    index:\n      enabled: false\n';

describe('aggregator durable sequence state', () => {
  it('kill -9 of the aggregator 5 times while batches are in flight: every entry stored exactly once, in order', async () => {
    const dir = tempDir('logloom-agg-kill-');
    let agg = await startAggregator('', dir, OPEN + '    ndjson:\n      max_file_bytes: 64KiB\n');
    const PER = 20;
    const TOTAL = 300;
    let acked = 0;
    let kills = 0;
    try {
      for (;;) {
        const c = await RawAgent.connect(agg.port);
        const w = await c.hello('gw-k', '');
        assert.equal(w.type, 'WELCOME');
        const last = w.type === 'WELCOME' ? w.lastSeq : -1;
        // What the aggregator says it holds is never less than what it acknowledged.
        assert.ok(last >= acked, `WELCOME ${last} < last ACK ${acked}`);
        acked = last;
        // Like a real agent: resend every unacknowledged batch, a few in flight at a time.
        c.stream(last + 1, TOTAL, 4, (seq) => entries(PER, (seq - 1) * PER));
        if (kills === 5) {
          if (last < TOTAL) await c.waitFor((m) => m.type === 'ACK' && m.seq === TOTAL);
          await c.end();
          break;
        }
        // Kill while batches are in flight: once the ACK of a batch a little ahead arrived.
        const ack = await c.waitFor((m) => m.type === 'ACK' && m.seq >= Math.min(TOTAL, last + 10 + kills * 7));
        acked = ack.type === 'ACK' ? ack.seq : acked;
        agg.proc.kill('SIGKILL');
        await agg.exited;
        kills++;
        await c.closed;
        agg = await launch(dir, agg.configPath);
      }
      await agg.stop();
    } finally {
      agg.proc.kill('SIGKILL');
    }
    assert.ok(acked < TOTAL, 'the kills happened while batches were still in flight');
    const stored = storedEntries(agg.store, 'gw-k').map((e) => e.message);
    assert.equal(stored.length, TOTAL * PER, 'no entry lost, none twice');
    assert.deepEqual(stored, Array.from({ length: TOTAL * PER }, (_, i) => `m${i}`));
    const files = readdirSync(join(agg.store, 'gw-k')).filter((f) => f.endsWith('.ndjson'));
    assert.ok(files.length > 1, 'rotated by size');
    for (const f of files) assert.ok(statSync(join(agg.store, 'gw-k', f)).size <= 64 * 1024, `${f} stays within max_file_bytes`);
  });

  it('a torn tail and a file written after the last commit are cut at restart, and the replay stores them once', async () => {
    const dir = tempDir('logloom-agg-torn-');
    let agg = await startAggregator('', dir, OPEN);
    after(() => agg.proc.kill('SIGKILL'));
    let c = await RawAgent.connect(agg.port);
    await c.hello('gw-t', '');
    assert.equal((await c.batch(1, entries(3, 0))).type, 'ACK');
    await c.end();
    await agg.stop();
    // Simulate a crash after writing batch 2 but before its commit: half a line in the current
    // file, and a whole uncommitted file after it.
    const nodeDir = join(agg.store, 'gw-t');
    const [file] = readdirSync(nodeDir).filter((f) => f.endsWith('.ndjson'));
    appendFileSync(join(nodeDir, file!), '{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","mess');
    writeFileSync(join(nodeDir, '9999-12-31-0001.ndjson'), '{"message":"uncommitted"}\n');
    agg = await launch(dir, agg.configPath);
    const st = JSON.parse((await runCli(['status', '--socket', agg.control, '--json'])).stdout) as { nodes: { name: string; last_seq: number; entries: number }[] };
    assert.deepEqual(st.nodes.map((n) => [n.name, n.last_seq, n.entries]), [['gw-t', 1, 3]], 'known before it reconnects');
    c = await RawAgent.connect(agg.port);
    const w = await c.hello('gw-t', '');
    assert.equal(w.type === 'WELCOME' && w.lastSeq, 1);
    assert.equal((await c.batch(2, entries(2, 3))).type, 'ACK');
    await c.end();
    await agg.stderr.waitFor(/cutting \d+ uncommitted bytes/);
    await agg.stderr.waitFor(/removing 9999-12-31-0001\.ndjson/);
    await agg.stop();
    assert.deepEqual(storedEntries(agg.store, 'gw-t').map((e) => e.message), ['m0', 'm1', 'm2', 'm3', 'm4']);
    const state = JSON.parse(readFileSync(join(nodeDir, 'state.json'), 'utf8')) as { seq: number; entries: number };
    assert.equal(state.seq, 2);
    assert.equal(state.entries, 5);
  });

  it('fsync: interval: kill -9 of the aggregator mid-stream still stores every entry once (the page cache survives a process crash)', async () => {
    const dir = tempDir('logloom-agg-int-');
    let agg = await startAggregator('', dir, OPEN + '    ndjson:\n      fsync: interval\n      fsync_interval: 50ms\n');
    try {
      let c = await RawAgent.connect(agg.port);
      await c.hello('gw-i', '');
      c.stream(1, 40, 4, (seq) => entries(10, (seq - 1) * 10));
      const ack = await c.waitFor((m) => m.type === 'ACK' && m.seq >= 10);
      agg.proc.kill('SIGKILL');
      await agg.exited;
      await c.closed;
      agg = await launch(dir, agg.configPath);
      c = await RawAgent.connect(agg.port);
      const w = await c.hello('gw-i', '');
      const last = w.type === 'WELCOME' ? w.lastSeq : -1;
      assert.ok(ack.type === 'ACK' && last >= ack.seq, 'nothing acknowledged is lost');
      if (last < 40) {
        c.stream(last + 1, 40, 4, (seq) => entries(10, (seq - 1) * 10));
        await c.waitFor((m) => m.type === 'ACK' && m.seq === 40);
      }
      await c.end();
      await agg.stop();
    } finally {
      agg.proc.kill('SIGKILL');
    }
    assert.deepEqual(storedEntries(agg.store, 'gw-i').map((e) => e.message), Array.from({ length: 400 }, (_, i) => `m${i}`));
  });

  it('NdjsonStore retention (max_age 2d, injected clock): files of older days go at rotation, recent ones stay', async () => {
    const dir = tempDir('logloom-agg-ret-');
    let now = Date.parse('2026-03-01T12:00:00.000Z');
    const store = new NdjsonStore(dir, { max_file_bytes: 1024 * 1024, fsync: 'always', fsync_interval: 1000, max_age: 2 * 86_400_000 } as NdjsonStoreConfig, createLog('ERROR'), () => now);
    await store.open();
    const e = (m: string) => JSON.stringify(buildEntry({ message: m }, { maxMessageBytes: 1024, defaultLevel: 'INFO', defaultModule: 'APP', node: 'gw-r' }));
    for (let d = 0; d < 5; d++) {
      await store.append('gw-r', [storedBatch(d + 1, 1, Buffer.from(e(`day ${d}`) + '\n'), { node: 'gw', maxMessageBytes: 1024 })]);
      now += 86_400_000;
    }
    await store.close();
    const files = readdirSync(join(dir, 'gw-r')).filter((f) => f.endsWith('.ndjson')).sort();
    assert.deepEqual(files, ['2026-03-03-0001.ndjson', '2026-03-04-0001.ndjson', '2026-03-05-0001.ndjson']);
    assert.equal(store.status().files_deleted_by_retention, 2);
  });

  it('NdjsonStore with fsync interval commits state.json in place (one fixed slot); a later start, with either policy, reads and goes on from it', async () => {
    const dir = tempDir('logloom-agg-slot-');
    const e = (m: string) => JSON.stringify(buildEntry({ message: m }, { maxMessageBytes: 1024, defaultLevel: 'INFO', defaultModule: 'APP', node: 'gw-s' }));
    const batch = (seq: number) => storedBatch(seq, 1, Buffer.from(e(`m${seq}`) + '\n'), { node: 'gw-s', maxMessageBytes: 1024 });
    const cfg = (fsync: 'always' | 'interval') => ({ max_file_bytes: 1024 * 1024, fsync, fsync_interval: 1000 }) as NdjsonStoreConfig;
    const state = () => readFileSync(join(dir, 'gw-s', 'state.json'), 'utf8');
    // Written by fsync always first (a whole small file), then in place by interval.
    let store = new NdjsonStore(dir, cfg('always'), createLog('ERROR'));
    await store.open();
    await store.append('gw-s', [batch(1)]);
    await store.close();
    assert.equal(state(), JSON.stringify(JSON.parse(state())) + '\n');
    store = new NdjsonStore(dir, cfg('interval'), createLog('ERROR'));
    await store.open();
    assert.equal((await store.state('gw-s')).seq, 1);
    await store.append('gw-s', [batch(2)]);
    await store.append('gw-s', [batch(3), batch(4)]);
    assert.equal(state().length, 512);
    assert.deepEqual(JSON.parse(state()), { seq: 4, file: JSON.parse(state()).file, offset: JSON.parse(state()).offset, entries: 4, bytes: JSON.parse(state()).bytes });
    await store.close();
    // And back: the padded slot reads like any state.json; always replaces it atomically again.
    store = new NdjsonStore(dir, cfg('always'), createLog('ERROR'));
    await store.open();
    assert.deepEqual(await store.state('gw-s'), { seq: 4, entries: 4, bytes: JSON.parse(state()).bytes });
    await store.append('gw-s', [batch(5)]);
    await store.close();
    assert.equal(JSON.parse(state()).seq, 5);
    assert.deepEqual(storedEntries(dir, 'gw-s').map((x) => [x.message, x.seq]), [['m1', 1], ['m2', 2], ['m3', 3], ['m4', 4], ['m5', 5]]);
  });

  it('NdjsonStore rotates at the UTC day (injected clock; the store is real, on disk)', async () => {
    const dir = tempDir('logloom-agg-day-');
    let now = Date.parse('2026-03-01T23:59:59.000Z');
    const store = new NdjsonStore(dir, { max_file_bytes: 1024 * 1024, fsync: 'always', fsync_interval: 1000 } as NdjsonStoreConfig, createLog('ERROR'), () => now);
    await store.open();
    const e = (m: string) => JSON.stringify(buildEntry({ message: m }, { maxMessageBytes: 1024, defaultLevel: 'INFO', defaultModule: 'APP', node: 'gw-d' }));
    await store.append('gw-d', [storedBatch(1, 1, Buffer.from(e('before midnight') + '\n'), { node: 'gw', maxMessageBytes: 1024 })]);
    now += 2000;
    await store.append('gw-d', [storedBatch(2, 1, Buffer.from(e('after midnight') + '\n'), { node: 'gw', maxMessageBytes: 1024 })]);
    await store.close();
    const files = readdirSync(join(dir, 'gw-d')).filter((f) => f.endsWith('.ndjson')).sort();
    assert.deepEqual(files, ['2026-03-01-0001.ndjson', '2026-03-02-0001.ndjson']);
    assert.match(readFileSync(join(dir, 'gw-d', files[1]!), 'utf8'), /after midnight/);
  });
});

// Their own suite: with the suite above they would share one test timeout on a loaded machine.
describe('the index under kill -9 of the aggregator', () => {
  it('kill -9 while the index lags behind the store: the restart catches the index up from the store, every entry indexed exactly once', async () => {
    const dir = tempDir('logloom-agg-index-kill-');
    // The writer commits only every 60 s (or at stop): what the kill catches is unindexed.
    // Small files: the batches to catch up on start inside one file and span several.
    let agg = await startAggregator('', dir, '    auth:\n      mode: none\n    index:\n      flush_interval: 60s\n    ndjson:\n      max_file_bytes: 64KiB\n');
    const PER = 20;
    const send = async (from: number, to: number) => {
      const c = await RawAgent.connect(agg.port);
      const w = await c.hello('gw-i', '');
      assert.equal(w.type === 'WELCOME' && w.lastSeq, from - 1);
      c.stream(from, to, 4, (seq) => entries(PER, (seq - 1) * PER));
      await c.waitFor((m) => m.type === 'ACK' && m.seq === to);
      await c.end();
    };
    // Batches stored while the aggregator is busy are read back from the store once it is quiet
    // (index.defer_while_busy): a clean stop writes what was handed over, so wait for the hand-over.
    const handedOver = async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = JSON.parse((await runCli(['status', '--json', '-c', agg.configPath])).stdout).index;
        if (s.behind_nodes === 0 && s.held_batches === 0) return;
        assert.ok(Date.now() < deadline, `the index was not handed everything: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await send(1, 50);
      await handedOver();
      await agg.stop(); // a clean stop writes the index: batches 1–50
      agg = await launch(dir, agg.configPath);
      await send(51, 150);
      agg.proc.kill('SIGKILL'); // batches 51–150 are stored and acknowledged, not indexed
      await agg.exited;
      agg = await launch(dir, agg.configPath);
      await agg.stderr.waitFor(/index: 1 nodes have stored batches the index does not hold yet; reading them back from the store/);
      await send(151, 160);
      await handedOver();
      await agg.stop();
    } finally {
      agg.proc.kill('SIGKILL');
    }
    const ix = new EntryIndex(join(dir, 'data', 'index.sqlite'));
    try {
      const messages: unknown[] = [];
      let cursor: number | undefined;
      do {
        const page = ix.query({ nodes: [], levels: [], words: [], limit: 1000, order: 'asc', cursor });
        messages.push(...page.entries.map((e) => e.entry.message));
        cursor = page.next_cursor === undefined ? undefined : Number(page.next_cursor);
      } while (cursor !== undefined);
      assert.deepEqual(messages, Array.from({ length: 160 * PER }, (_, i) => `m${i}`), 'every stored entry once, in order');
      assert.equal(ix.indexedSeqs().get('gw-i'), 160);
      assert.ok(readdirSync(join(dir, 'data', 'store', 'gw-i')).filter((f) => f.endsWith('.ndjson')).length > 3, 'the store rotated');
    } finally {
      ix.close();
    }
  });

  it('kill -9 four times while the index is more than max_lag behind: batches beyond it are read back from the store, every entry indexed exactly once, in order', async () => {
    const dir = tempDir('logloom-agg-index-lag-');
    let agg = await startAggregator('', dir, '    auth:\n      mode: none\n    index:\n      max_lag: 64KiB\n    ndjson:\n      max_file_bytes: 1MiB\n');
    // Every 25th batch (800 entries, ~88 KB) is larger than max_lag: it can never be handed over
    // live, so the node falls behind and is read back from the store; the small ones between go
    // live again once it has caught up.
    const TOTAL = 200;
    const size = (seq: number) => (seq % 25 === 0 ? 800 : 40);
    const offset = [0];
    for (let q = 1; q <= TOTAL; q++) offset.push(offset[q - 1]! + size(q));
    const ALL = offset[TOTAL]!;
    let kills = 0;
    const status = async () => JSON.parse((await runCli(['status', '--json', '-c', agg.configPath])).stdout).index;
    let deferred = 0;
    try {
      for (;;) {
        const c = await RawAgent.connect(agg.port);
        const w = await c.hello('gw-l', '');
        const last = w.type === 'WELCOME' ? w.lastSeq : -1;
        c.stream(last + 1, TOTAL, 8, (seq) => entries(size(seq), offset[seq - 1]));
        if (kills === 4) {
          if (last < TOTAL) await c.waitFor((m) => m.type === 'ACK' && m.seq === TOTAL, 60_000);
          await c.end();
          break;
        }
        // Kill while batches are in flight, or once all are stored, while the index catches up.
        if (last < TOTAL) await c.waitFor((m) => m.type === 'ACK' && m.seq >= Math.min(TOTAL, last + 30), 60_000);
        deferred += (await status()).deferred_batches;
        agg.proc.kill('SIGKILL');
        await agg.exited;
        kills++;
        await c.closed;
        agg = await launch(dir, agg.configPath);
      }
      // The index catches up: no node behind, nothing waiting in memory.
      const deadline = Date.now() + 90_000;
      for (let s = await status(); s.behind_nodes !== 0 || s.lag_bytes !== 0; s = await status()) {
        assert.ok(Date.now() < deadline, `the index did not catch up: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      deferred += (await status()).deferred_batches;
      await agg.stop();
    } finally {
      agg.proc.kill('SIGKILL');
    }
    assert.ok(deferred > 0, 'the index fell more than max_lag behind at least once');
    const ix = new EntryIndex(join(dir, 'data', 'index.sqlite'));
    try {
      const messages: unknown[] = [];
      let cursor: number | undefined;
      do {
        const page = ix.query({ nodes: [], levels: [], words: [], limit: 1000, order: 'asc', cursor });
        messages.push(...page.entries.map((e) => e.entry.message));
        cursor = page.next_cursor === undefined ? undefined : Number(page.next_cursor);
      } while (cursor !== undefined);
      assert.equal(messages.length, ALL, 'every stored entry indexed once');
      assert.deepEqual(messages, Array.from({ length: ALL }, (_, i) => `m${i}`), 'in order');
    } finally {
      ix.close();
    }
  });
});
