import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EntryIndex } from '../../aggregator/index/entry-index.ts';
import { IndexWriter } from '../../aggregator/index/index-writer.ts';
import { matches, parseEntryQuery, parseFilter, parseStatsQuery, QueryError } from '../../aggregator/index/query.ts';
import { Retention } from '../../aggregator/fleet/retention.ts';
import { reindexFromNdjson } from '../../aggregator/index/reindex.ts';
import { readBack } from '../../aggregator/index/catch-up.ts';
import { NdjsonIndexFeed } from '../../aggregator/index/ndjson-feed.ts';
import { NdjsonStore } from '../../aggregator/store/ndjson/ndjson-store.ts';
import { storedBatch } from '../../aggregator/ingest/stored-batch.ts';
import type { NdjsonStoreConfig } from '../../aggregator/config/config.ts';
import { createLog } from '../../lib/log.ts';
import { tempDir } from '../helpers/agent.ts';
import { rng } from '../helpers/rng.ts';
import { parseLocale } from '../../lib/i18n/catalogue.ts';
import { DASHBOARD_KEYS } from '../../aggregator/api/routes.ts';
import { readFileSync } from 'node:fs';

const ndjson = (entries: object[]) => Buffer.from(entries.map((e) => JSON.stringify(e) + '\n').join(''));
const q = (s: string) => parseEntryQuery(new URLSearchParams(s), Date.parse('2026-03-01T12:00:00Z'));

describe('the index (SQLite + FTS5, a real file)', () => {
  it('indexes stored NDJSON (in its worker thread), skips and counts lines that are not objects, and answers filters', async () => {
    const path = join(tempDir(), 'index.sqlite');
    const w = new IndexWriter(path, { flushMs: 10 });
    await w.opened();
    const ix = new EntryIndex(path);
    const text = Buffer.concat([
      ndjson([{ timestamp: '2026-03-01T10:00:00.000Z', level: 'INFO', module: 'CORE', message: 'alpha beta' }]),
      Buffer.from('not json\n[1,2]\n'),
      ndjson([{ timestamp: 'garbage', level: 'ERROR', module: 'NET', message: 'gamma', source: 'unix', lang_key: 'demo.crc_error', args: [255] }]),
    ]);
    w.add('n1', 1, text);
    await w.flush();
    assert.equal(w.badLines, 2);
    assert.equal(ix.count, 2);
    assert.equal(ix.query(q('q=alph')).entries.length, 1);
    assert.equal(ix.query(q('q=alph%20bet')).entries.length, 0, 'words before the last match whole words');
    assert.equal(ix.query(q('q=alph*%20bet')).entries.length, 1, 'a word ending in * is a prefix');
    assert.equal(ix.query(q('q=alph*&module=core')).entries.length, 1, 'text with another filter');
    assert.equal(ix.query(q('q=255')).entries.length, 1, 'arguments are searchable');
    assert.equal(ix.query(q('level=ERROR')).entries[0]!.entry.message, 'gamma');
    assert.equal(ix.query(q('node=nobody')).entries.length, 0);
    assert.equal(ix.query(q('source=unix&module=net')).entries.length, 1);
    await w.close();
    ix.close();
  });

  it('an index too far behind leaves batches out, counted and reported, and catches up afterwards', async () => {
    const path = join(tempDir(), 'index.sqlite');
    const errors: string[] = [];
    const w = new IndexWriter(path, { flushMs: 10, maxInFlightBytes: 1000, onError: (e) => errors.push(e.message) });
    await w.opened();
    const batch = ndjson([{ level: 'INFO', module: 'M', message: 'x'.repeat(500) }]);
    for (let i = 0; i < 3; i++) w.add('n', i + 1, batch);
    assert.equal(w.droppedBatches, 2);
    assert.match(errors[0]!, /batches are left out of the index .*reindex restores them/);
    // The lag is what was handed over and not yet written: one batch, its bytes, its age.
    assert.deepEqual({ ...w.lag(), seconds: 0 }, { batches: 1, bytes: batch.length, seconds: 0 });
    assert.ok(w.lag(Date.now() + 5000).seconds >= 5);
    await w.flush();
    assert.equal(w.inFlightBytes, 0);
    assert.deepEqual(w.lag(), { batches: 0, bytes: 0, seconds: 0 });
    w.add('n', 4, batch);
    await w.flush();
    assert.equal(w.indexed, 2);
    const st = w.status();
    assert.equal(st.dropped_batches, 2);
    assert.equal(st.dropped_entries, 2);
    assert.equal(st.lag_bytes, 0);
    assert.equal(st.max_lag_bytes, 1000);
    await w.close();
  });

  it('while the main thread is busy, batches wait (in the lag) and reach the index when it is quiet, or after defer_while_busy under sustained load', async () => {
    const path = join(tempDir(), 'index.sqlite');
    const w = new IndexWriter(path, { flushMs: 10, deferWhileBusyMs: 400 });
    await w.opened();
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const batch = (i: number) => ndjson([{ level: 'INFO', module: 'M', message: `burst ${i}` }]);
    const untilIndexed = async (n: number) => {
      while (w.indexed < n) await new Promise((r) => setTimeout(r, 5));
    };
    // A burst: the event loop busy (a 30 ms task, then the batch): held, counted in the lag. (The
    // writer measures the thread since its last look: one now, so that opening the file, idle,
    // does not dilute the burst.)
    w.busy();
    spin(30);
    w.add('n', 1, batch(1));
    assert.equal(w.status().held_batches, 1);
    assert.equal(w.lag().batches, 1);
    // Quiet again: handed over and indexed without a flush.
    await untilIndexed(1);
    assert.equal(w.status().hold_timeouts, 0);
    // Sustained load: busy 30 ms of every 35 for over a second; the index still gets the batches
    // within about defer_while_busy.
    const t0 = performance.now();
    let i = 2;
    let indexedAt = 0;
    while (performance.now() - t0 < 1500) {
      spin(30);
      w.add('n', i, batch(i)), i++;
      await new Promise((r) => setTimeout(r, 5));
      if (!indexedAt && w.indexed > 1) indexedAt = performance.now() - t0;
    }
    assert.ok(indexedAt > 0 && indexedAt < 1200, `indexed under sustained load after ${indexedAt} ms`);
    assert.ok(Number(w.status().hold_timeouts) >= 1);
    // A flush takes what waits.
    await w.flush();
    assert.equal(w.indexed, i - 1);
    assert.equal(w.lag().batches, 0);
    await w.close();
  });

  it('NDJSON store: batches stored while the main thread is busy are not copied but read back from the store once quiet, every entry once, in order', async (t) => {
    const dir = tempDir();
    const storeDir = join(dir, 'store');
    const store = new NdjsonStore(storeDir, { max_file_bytes: 4096, fsync: 'interval', fsync_interval: 1000 } as NdjsonStoreConfig, createLog('ERROR'));
    await store.open();
    const w = new IndexWriter(join(dir, 'index.sqlite'), { flushMs: 10, deferWhileBusyMs: 300 });
    await w.opened();
    const added: number[] = [];
    const writer = {
      add: (node: string, seq: number, b: Buffer | Uint8Array, o?: { force?: boolean }) => (added.push(seq), w.add(node, seq, b, o)),
      drained: (limit: number) => w.drained(limit),
      get inFlightBytes() { return w.inFlightBytes; },
      busy: () => w.busy(),
      quiet: () => w.quiet(),
    };
    const feed = new NdjsonIndexFeed({ storeDir, writer, maxLag: 1024 * 1024, log: createLog('ERROR') });
    feed.start([], new Map());
    // A failed assertion must not leave the feed's and the writer's timers keeping the file alive.
    let closed = false;
    t.after(async () => {
      if (closed) return;
      await feed.stop().catch(() => {});
      await w.close().catch(() => {});
      await store.close().catch(() => {});
    });
    const spin = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const batch = (seq: number) => storedBatch(seq, 3, Buffer.from([0, 1, 2].map((k) => JSON.stringify({ level: 'INFO', message: `b${seq}e${k}` }) + '\n').join('')), { node: 'gw', maxMessageBytes: 1024 });
    // A busy stretch (the event loop blocked 30 ms before each batch): nothing goes to the writer live.
    // (The writer measures the thread since its last look: one now, so that the idle time since
    // the store and the writer opened does not dilute the first 30 ms; without it the first
    // batch went live on a quiet machine now and then.)
    w.busy();
    for (let seq = 1; seq <= 20; seq++) {
      spin(30);
      const b = batch(seq);
      await store.append('gw', [b]);
      feed.offer('gw', seq, b.data);
    }
    assert.ok(added.every((s) => s === 0), `handed over live while busy: ${added.filter((s) => s !== 0).join(',')}`);
    assert.ok(Number(feed.status().deferred_batches) >= 19);
    // Quiet: the read-back hands the stored lines over; then the node is live again: once caught
    // up and quiet, the next batch goes to the writer as it is stored. (Storing it is itself a
    // moment of work the writer may see as busy: then that batch is read back like the others,
    // and the next one is tried.)
    const deadline = Date.now() + 20_000;
    let last = 20;
    for (let live = false; !live;) {
      while (feed.status().behind_nodes !== 0 || w.busy()) {
        assert.ok(Date.now() < deadline, `never caught up and quiet: ${JSON.stringify(feed.status())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const b = batch(++last);
      await store.append('gw', [b]);
      feed.offer('gw', last, b.data);
      live = added[added.length - 1] === last;
    }
    await w.flush();
    while (feed.status().behind_nodes !== 0) {
      assert.ok(Date.now() < deadline, JSON.stringify(feed.status()));
      await new Promise((r) => setTimeout(r, 20));
    }
    await w.flush();
    const ix = new EntryIndex(join(dir, 'index.sqlite'));
    const messages = ix.query({ nodes: [], levels: [], words: [], limit: 1000, order: 'asc' }).entries.map((e) => e.entry.message);
    assert.deepEqual(messages, Array.from({ length: last }, (_, i) => [0, 1, 2].map((k) => `b${i + 1}e${k}`)).flat());
    ix.close();
    closed = true;
    await feed.stop();
    await w.close();
    await store.close();
  });

  it('the writer thread runs at a lower priority than the aggregator (its own nice value, not the process\'s), so that ingest wins the CPU', async () => {
    const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const threadNices = () => readdirSync('/proc/self/task').map((t) => niceOf(readFileSync(`/proc/self/task/${t}/stat`, 'utf8')));
    const mainNice = niceOf(readFileSync('/proc/self/stat', 'utf8'));
    const want = Math.min(19, mainNice + 7);
    const before = threadNices().filter((n) => n === want).length;
    const w = new IndexWriter(join(tempDir(), 'index.sqlite'), { flushMs: 10, nice: 7 });
    await w.opened();
    assert.equal(w.status().writer_nice, want);
    assert.equal(threadNices().filter((n) => n === want).length, before + 1, `one more thread at nice ${want}`);
    assert.equal(niceOf(readFileSync('/proc/self/stat', 'utf8')), mainNice, 'the main thread keeps its priority');
    await w.close();
  });

  it('retention: by age and by bytes per node, in the index', async () => {
    const path = join(tempDir(), 'index.sqlite');
    const w = new IndexWriter(path, { flushMs: 10 });
    await w.opened();
    const ix = new EntryIndex(path);
    const day = 86_400_000;
    const base = Date.parse('2026-03-01T00:00:00Z');
    for (let i = 0; i < 10; i++) w.add('old', i + 1, ndjson([{ timestamp: new Date(base - (10 - i) * day).toISOString(), level: 'INFO', module: 'A', message: `day ${i}` }]));
    for (let i = 0; i < 100; i++) w.add('big', i + 1, ndjson([{ timestamp: new Date(base).toISOString(), level: 'INFO', module: 'A', message: `entry ${i} ${'x'.repeat(100)}` }]));
    await w.flush();
    assert.equal(await w.deleteOlderThan(base - 5 * day), 5);
    const deleted = await w.trimNode('big', 2000);
    assert.ok(deleted > 80 && deleted < 100, String(deleted));
    const kept = ix.query(q('node=big&limit=1000&order=asc')).entries.map((e) => e.entry.message as string);
    assert.match(kept.at(-1)!, /^entry 99 /, 'the newest entries stay');
    assert.equal(ix.query(q('q=entry&node=big&limit=1000')).entries.length, kept.length, 'full text follows the deletions');
    await w.close();
    ix.close();
  });

  it('retention in the NDJSON store deletes the oldest files, never the one being written', async () => {
    const dir = tempDir();
    const node = join(dir, 'gw-1');
    mkdirSync(node);
    const files = ['2026-01-01-0001.ndjson', '2026-02-01-0001.ndjson', '2026-02-27-0001.ndjson', '2026-03-01-0001.ndjson'];
    for (const f of files) writeFileSync(join(node, f), 'x'.repeat(1000) + '\n');
    writeFileSync(join(node, 'state.json'), JSON.stringify({ seq: 4, file: '2026-02-27-0001.ndjson', offset: 1001, entries: 4, bytes: 4004 }));
    const now = () => Date.parse('2026-03-01T12:00:00Z');
    const r = new Retention({ cfg: { max_age: 10 * 86_400_000, interval: 60_000 } as never, storeDir: dir, log: createLog('ERROR'), now });
    await r.run();
    assert.deepEqual(readdirSync(node).filter((f) => f.endsWith('.ndjson')).sort(), files.slice(2));
    const bySize = new Retention({ cfg: { max_bytes_per_node: 1500, interval: 60_000 } as never, storeDir: dir, log: createLog('ERROR'), now });
    await bySize.run();
    assert.deepEqual(readdirSync(node).filter((f) => f.endsWith('.ndjson')).sort(), files.slice(2), 'the committed file and newer ones stay even above the bound');
    assert.equal(r.status().files_deleted, 2);
  });

  it('read-back from the store hands over exactly the lines of batches after < seq <= upTo, in whole batches, across files, whatever the chunking (seeded ranges)', async () => {
    const dir = tempDir();
    const line = (seq: number, i: number) => JSON.stringify({ timestamp: '2026-03-01T10:00:00.000Z', level: 'INFO', module: 'M', message: `s${seq} e${i} ${'x'.repeat((seq * 7919 + i * 104729) % 3000)}`, node: 'a', seq }) + '\n';
    // 3 files of 300 batches of 1–4 lines of up to 3 KB: the 1 MiB read chunks end anywhere.
    mkdirSync(join(dir, 'a'));
    const want = (after: number, upTo: number) => {
      const out: string[] = [];
      for (let q = after + 1; q <= upTo; q++) for (let i = 0; i < 1 + (q % 4); i++) out.push(`s${q} e${i}`);
      return out;
    };
    for (let f = 0; f < 3; f++) {
      let text = '';
      for (let q = f * 300 + 1; q <= (f + 1) * 300; q++) for (let i = 0; i < 1 + (q % 4); i++) text += line(q, i);
      writeFileSync(join(dir, 'a', `2026-03-01-000${f + 1}.ndjson`), f === 2 ? text + '{"torn' : text);
    }
    // Edges (file starts and ends, nothing, everything), then seeded random ranges.
    const cases: [number, number][] = [[0, 900], [0, 1], [299, 301], [300, 300], [450, 899], [600, 900], [900, 900], [123, 777]];
    const r = rng(15);
    for (let k = 0; k < 24; k++) {
      const a = Math.floor(r() * 901);
      cases.push([a, a + Math.floor(r() * (901 - a))]);
    }
    for (const [after, upTo] of cases) {
      const got: string[] = [];
      const n = await readBack(dir, 'a', after, upTo, async (lines) => {
        assert.equal(lines[lines.length - 1], 10, 'whole lines');
        const msgs = lines.toString().split('\n').filter(Boolean).map((l) => /"message":"(s\d+ e\d+)/.exec(l)![1]!);
        // Whole batches: a chunk starts with a batch's first line and ends with its last.
        assert.match(msgs[0]!, / e0$/);
        const [, q, i] = /^s(\d+) e(\d+)$/.exec(msgs[msgs.length - 1]!)!;
        assert.equal(Number(i), Number(q) % 4, `${msgs[msgs.length - 1]} ends its batch`);
        got.push(...msgs);
      });
      assert.deepEqual(got, want(after, upTo), `after ${after}, up to ${upTo}`);
      assert.equal(n, got.length);
    }
  });

  it('reindex reads every node\'s files in order', async () => {
    const dir = tempDir();
    for (const n of ['a', 'b']) {
      mkdirSync(join(dir, 'store', n), { recursive: true });
      writeFileSync(join(dir, 'store', n, '2026-03-01-0002.ndjson'), ndjson([{ level: 'INFO', module: 'M', message: `${n} second` }]));
      writeFileSync(join(dir, 'store', n, '2026-03-01-0001.ndjson'), Buffer.concat([ndjson([{ level: 'INFO', module: 'M', message: `${n} first` }]), Buffer.from('{torn\n')]));
    }
    const r = await reindexFromNdjson(join(dir, 'store'), join(dir, 'index.sqlite'));
    assert.deepEqual([r.nodes, r.files, r.entries, r.badLines], [2, 4, 4, 2]);
    const ix = new EntryIndex(join(dir, 'index.sqlite'));
    assert.deepEqual(ix.query(q('node=a&order=asc')).entries.map((e) => e.entry.message), ['a first', 'a second']);
    ix.close();
  });
});

describe('query parameters', () => {
  it('parse instants as ISO, epoch ms or a duration ago', () => {
    assert.equal(q('since=2026-03-01T11:00:00Z').since, Date.parse('2026-03-01T11:00:00Z'));
    assert.equal(q('since=15m').since, Date.parse('2026-03-01T11:45:00Z'));
    assert.equal(q('since=1772362800000').since, 1772362800000);
    assert.deepEqual(q('node=a,b&node=c').nodes, ['a', 'b', 'c']);
    assert.equal(q('q=Disk%20LOW').text, '"disk" "low"*');
    assert.deepEqual(q('q=dis*%20space%20low').words, ['dis*', 'space', 'low*'], 'a word ending in * and the last word are prefixes');
  });

  it('live filtering (tail) agrees with the index on the same filter', () => {
    const f = parseFilter(new URLSearchParams('level=WARN&module=disk&q=spa'));
    assert.equal(matches(f, 'n', { level: 'ERROR', module: 'DISK', message: 'no space left' }), true);
    assert.equal(matches(f, 'n', { level: 'INFO', module: 'DISK', message: 'no space left' }), false);
    assert.equal(matches(f, 'n', { level: 'ERROR', module: 'DISK', message: 'all good' }), false);
    const words = parseFilter(new URLSearchParams('q=spac%20left'));
    assert.equal(matches(words, 'n', { message: 'no space left' }), false, 'only the last word is a prefix');
    assert.equal(matches(parseFilter(new URLSearchParams('q=spac*%20left')), 'n', { message: 'no space left' }), true);
  });

  it('fuzz: any query string either parses or is a QueryError with a message (seeded, bounded)', async () => {
    const random = rng(0x5eed);
    const rnd = (n: number) => Math.floor(random() * n);
    const keys = ['node', 'since', 'until', 'level', 'levels', 'module', 'source', 'lang_key', 'q', 'limit', 'order', 'cursor', 'bucket', 'by', 'x', ''];
    const pieces = ['', 'a', '1', '-1', '0', '1000', '1001', 'ERROR', 'info,WARN', '15m', '2026-03-01', 'T', '%', '"', '*', 'NEAR(', ')', '中文', '\u0000', ' ', 'asc', 'level', '99999999999999999999', '1e3', 'x'.repeat(2000)];
    const path = join(tempDir(), 'index.sqlite');
    const w = new IndexWriter(path, { flushMs: 10 });
    await w.opened();
    w.add('a', 1, ndjson([{ level: 'INFO', module: 'M', message: 'hello "world" NEAR(x)' }]));
    await w.close();
    const ix = new EntryIndex(path);
    for (let i = 0; i < 3000; i++) {
      const p = new URLSearchParams();
      for (let k = rnd(5); k > 0; k--) p.append(keys[rnd(keys.length)]!, pieces[rnd(pieces.length)]! + pieces[rnd(pieces.length)]!);
      for (const parse of [parseEntryQuery, parseStatsQuery]) {
        try {
          const parsed = parse(p);
          // What parses must run against the index without an SQL or FTS5 syntax error.
          if ('limit' in parsed) ix.query(parsed);
          else ix.stats(parsed);
        } catch (e) {
          assert.ok(e instanceof QueryError, `${p}: ${(e as Error).stack}`);
          assert.ok((e as Error).message.length > 10);
        }
      }
    }
    ix.close();
  });
});

it('every word the dashboard shows is in the English and the Chinese locale', () => {
  for (const lang of ['en', 'zh']) {
    const table = parseLocale(readFileSync(new URL(`../../locales/${lang}.yaml`, import.meta.url), 'utf8'));
    assert.deepEqual(DASHBOARD_KEYS.filter((k) => !table.has(`dashboard.${k}`)), [], lang);
  }
});
