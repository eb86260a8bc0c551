/** The pipeline's ring-backed buffer (RingEntryQueue) on both ring implementations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEntryBuffer, RingEntryQueue } from '../../agent/buffer/entry-buffer.ts';
import { JsRing } from '../../agent/buffer/js-ring.ts';
import { NativeRing } from '../../agent/buffer/native-ring.ts';
import { createRingMemory } from '../../agent/buffer/ring-layout.ts';
import { buildEntry } from '../../entry/build.ts';
import { Checkpoint, checkpointOf, issueToken, releaseEntry } from '../../entry/checkpoint.ts';
import { FastIngest } from '../../agent/buffer/fast-ingest.ts';
import { createCodec } from '../../agent/buffer/select.ts';
import { forEachToken, holdRecordTokens, releaseRecordTokens, recordsToEntries } from '../../agent/buffer/records.ts';
import type { WhenFull } from '../../agent/buffer/ring.ts';
import { entryRecord } from '../../agent/pipeline/batch.ts';

const build = { maxMessageBytes: 16384, defaultLevel: 'INFO' as const, defaultModule: 'T', node: 'n' };
const entry = (m: string) => buildEntry({ message: m, args: ['x', 2], fields: { k: true } }, build);
/** The record an input's draft of that entry becomes. */
const rec = (m: string, token = 0, input = 0) => entryRecord(entry(m), token, input);

for (const [name, make] of [['js', (s: SharedArrayBuffer) => new JsRing(s)], ['native', (s: SharedArrayBuffer) => new NativeRing(s)]] as const) {
  test(`entry buffer (${name}): FIFO, entries come back equal and frozen; count bound applies each policy`, () => {
    const q = new RingEntryQueue(make(createRingMemory(64 * 1024)), 3);
    assert.equal(q.offer(rec('a'), 'block'), 'queued');
    q.offer(rec('b'), 'block');
    q.offer(rec('c'), 'block');
    assert.equal(q.length, 3);
    assert.ok(q.isFull());
    assert.equal(q.offer(rec('d'), 'block'), 'full');
    assert.equal(q.offer(rec('d'), 'drop_newest'), 'dropped');
    assert.equal(q.offer(rec('d'), 'drop_oldest'), 'evicted');
    assert.equal(q.evicted, 1);
    const got = [q.shift()!, q.shift()!, q.shift()!];
    assert.deepEqual(got.map((e) => e.message), ['b', 'c', 'd']);
    assert.deepEqual(got[0], { ...entry('b'), timestamp: got[0]!.timestamp });
    assert.ok(Object.isFrozen(got[0]) && Object.isFrozen(got[0]!.args));
    assert.equal(q.shift(), undefined);
  });

  test(`entry buffer (${name}): byte bound from the ring; forced and oversize entries keep FIFO order`, () => {
    const q = new RingEntryQueue(make(createRingMemory(4096)), 1000);
    let n = 0;
    while (q.offer(rec(`m${n}`), 'block') !== 'full') n++;
    assert.ok(n > 5 && n < 40, `${n} entries in 4 KiB`);
    q.force(rec('forced')); // block: accepted from the peer, must not be lost
    q.offer(rec('x'.repeat(3000)), 'drop_oldest'); // larger than a record may be: spills, in order
    const out: string[] = [];
    for (let e = q.shift(); e; e = q.shift()) out.push(e.message);
    assert.deepEqual(out, [...Array.from({ length: n }, (_, i) => `m${i}`), 'forced', 'x'.repeat(3000)]);
  });

  test(`entry buffer (${name}): checkpoint tokens travel in the records; ones evicted in the ring release their hold`, () => {
    const q = new RingEntryQueue(make(createRingMemory(4096)), 1000);
    const done: number[] = [];
    const cps = Array.from({ length: 600 }, (_, i) => new Checkpoint({ input: 'file', stream: 's', offset: i }, (c) => done.push(c.offset)));
    for (let i = 0; i < cps.length; i++) {
      const token = issueToken(cps[i]!);
      q.offer(rec(`line ${i}`, token, 3), 'drop_oldest', token);
    }
    // 600 records overflow 4 KiB: the oldest are evicted inside the ring.
    const first = q.shift()!;
    const idx = Number(first.message.slice(5));
    assert.ok(idx > 0, 'some were evicted');
    assert.equal(checkpointOf(first), cps[idx], 'the entry answers for its own checkpoint');
    assert.deepEqual(done, Array.from({ length: idx }, (_, i) => i), 'evicted entries released their checkpoints');
    releaseEntry(first);
    assert.deepEqual(done.at(-1), idx);
    // Drained to the end: every other hold is the consumer's, released as it finishes them.
    for (let e = q.shift(); e; e = q.shift()) releaseEntry(e);
    assert.equal(done.length, 600);
  });
}

for (const impl of ['js', 'native'] as const) {
  /** 1000 plain-text lines through the codec into a ring-backed buffer bounded at 100 entries. */
  function burst(policy: WhenFull) {
    const ring = impl === 'native' ? new NativeRing(createRingMemory(1 << 20)) : new JsRing(createRingMemory(1 << 20));
    const q = new RingEntryQueue(ring, 100);
    const counters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    const codec = createCodec({ maxLineBytes: 4096, maxMessageBytes: 4096, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'T', node: 'n', source: 'unix' }, impl === 'native' ? 'on' : 'off');
    const ingest = new FastIngest({ codec, queue: q, policy, counters, schedule: () => {} });
    const accepted = ingest.feed(Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n'));
    return { q, counters, accepted };
  }
  const messages = (es: readonly { message: string }[]) => es.map((e) => e.message);
  const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);

  test(`fast ingest (${impl}): past buffer.max_entries, block keeps every line as bytes beside the ring and pauses; the records path takes them in order`, () => {
    const { q, counters, accepted } = burst('block');
    assert.equal(accepted, false, 'the input is told to pause');
    assert.deepEqual([counters.received, counters.dropped, counters.paused], [1000, 0, 1]);
    assert.equal(q.length, 1000);
    const first = q.takeRecords(1000)!;
    const rest = q.takeRecords(1000)!;
    assert.equal(q.takeRecords(1000), null);
    assert.deepEqual([first.count, rest.count], [100, 900]);
    assert.deepEqual(messages([...recordsToEntries(first), ...recordsToEntries(rest)]), lines(0, 1000));
    assert.equal(q.length, 0);
  });

  test(`fast ingest (${impl}): lines kept beside the ring are not changed by later feeds, which write over the codecs' shared output (feedTransient)`, () => {
    const { q } = burst('block');
    const other = new RingEntryQueue(new JsRing(createRingMemory(1 << 20)), 10_000);
    const codec = createCodec({ maxLineBytes: 4096, maxMessageBytes: 4096, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'T', node: 'n', source: 'unix' }, impl === 'native' ? 'on' : 'off');
    const counters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    new FastIngest({ codec, queue: other, policy: 'block', counters, schedule: () => {} }).feed(Buffer.from(Array.from({ length: 1000 }, (_, i) => `other ${i}`).join('\n') + '\n'));
    assert.deepEqual(messages([...recordsToEntries(q.takeRecords(1000)!), ...recordsToEntries(q.takeRecords(1000)!)]), lines(0, 1000));
  });

  test(`fast ingest (${impl}): past buffer.max_entries, drop_newest keeps the first lines and drop_oldest the last, each drop counted`, () => {
    const newest = burst('drop_newest');
    assert.deepEqual([newest.accepted, newest.counters.dropped, newest.q.length], [true, 900, 100]);
    assert.deepEqual(messages(recordsToEntries(newest.q.takeRecords(1000)!)), lines(0, 100));
    const oldest = burst('drop_oldest');
    assert.deepEqual([oldest.accepted, oldest.counters.dropped, oldest.q.length], [true, 900, 100]);
    const kept: string[] = [];
    for (let e = oldest.q.shift(); e; e = oldest.q.shift()) kept.push(e.message);
    assert.deepEqual(kept, lines(900, 1000));
  });
}

test('without the addon the JS ring and codec carry the same records: a tcp-style stream gives byte-identical ring contents (js vs native buffer)', () => {
  const lines = Buffer.from('{"level":"warn","message":"m1","fields":{"a":1}}\n[ERROR] [net] down\n{bad json\n' + '{"message":' + '['.repeat(100) + ']'.repeat(100) + '}\n');
  const run = (mode: 'js' | 'on') => {
    const q = createEntryBuffer(1000, 1 << 20, mode) as RingEntryQueue;
    assert.ok(q instanceof RingEntryQueue);
    assert.equal(q.ring.impl, mode === 'js' ? 'js' : 'native');
    const counters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    const codec = createCodec({ maxLineBytes: 4096, maxMessageBytes: 4096, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'TCP', node: 'n', source: 'tcp:1.2.3.4:5', format: 'auto' }, mode === 'js' ? 'off' : 'on');
    const ingest = new FastIngest({ codec, queue: q, policy: 'block', counters, schedule: () => {} });
    ingest.feed(lines);
    const r = q.takeRecords(1000)!;
    return { frames: r.frames.toString('latin1').replace(/"timestamp":"[^"]*"/g, ''), counters };
  };
  const js = run('js');
  const native = run('on');
  assert.equal(js.frames, native.frames);
  assert.deepEqual(js.counters, native.counters);
  assert.equal(js.counters.rejected, 2);
  assert.equal(js.counters.received, 4);
});

for (const impl of ['js', 'native'] as const) {
  test(`replayable stream (${impl}): each line's record carries its checkpoint token; empty lines and dropped records finish their positions; the sinks' holds decide when`, () => {
    const ring = impl === 'native' ? new NativeRing(createRingMemory(1 << 20)) : new JsRing(createRingMemory(1 << 20));
    const q = new RingEntryQueue(ring, 3);
    const counters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    const codec = createCodec({ maxLineBytes: 8, maxMessageBytes: 4096, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'F', node: 'n', source: 'file:x' }, impl === 'native' ? 'on' : 'off');
    const lines: { end: number; framed: boolean }[] = [];
    const done: number[] = [];
    const acks = {
      line(end: number, framed: boolean) {
        lines.push({ end, framed });
        return framed ? new Checkpoint({ input: 'f', stream: 's', offset: end }, (c) => done.push(c.offset)) : undefined;
      },
    };
    const ingest = new FastIngest({ codec, queue: q, policy: 'drop_newest', counters, schedule: () => {}, acks, offset: 100 });
    // a, (empty), \r only, a line cut at 8 bytes, {bad json, b split across two chunks; then c past the bound of 3.
    ingest.feed(Buffer.from('a\n\n\r\nlong line here\n{bad\nb'));
    ingest.feed(Buffer.from('b\nc\n'));
    assert.deepEqual(lines, [
      { end: 102, framed: true }, { end: 103, framed: false }, { end: 105, framed: false }, { end: 120, framed: true },
      { end: 125, framed: true }, { end: 128, framed: true }, { end: 130, framed: true },
    ]);
    assert.equal(counters.rejected, 1);
    // The bound (3 entries) let a, the cut line and {bad in; bb and c were dropped, counted, and finished.
    assert.equal(counters.dropped, 2);
    const r = q.takeRecords(10)!;
    assert.equal(r.count, 3);
    const tokens: number[] = [];
    forEachToken(r.frames, (t) => tokens.push(t));
    assert.equal(tokens.length, 3);
    assert.deepEqual(recordsToEntries(r).map((e) => e.message), ['a', 'long lin', '{bad']);
    assert.deepEqual(done, [128, 130], 'dropped lines are finished at once');
    // Two sinks hold the run; the pipeline lets go of its own hold; done only when both flushed.
    holdRecordTokens(r);
    holdRecordTokens(r);
    releaseRecordTokens(r);
    releaseRecordTokens(r);
    assert.deepEqual(done, [128, 130]);
    releaseRecordTokens(r);
    assert.deepEqual(done, [128, 130, 102, 120, 125]);
  });
}
