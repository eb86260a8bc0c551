/**
 * RecordBatch's lazy views on the records path: one per record, carried on with the records a
 * filter keeps, so the next filter reads what one decoded without decoding it again, and each
 * still reads its own record after drops and replacements moved the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryRecord, RecordBatch } from '../../agent/pipeline/batch.ts';
import { buildEntry } from '../../entry/build.ts';
import { RecordView } from '../../agent/buffer/record-view.ts';
import { SinkQueue } from '../../agent/pipeline/sink-queue.ts';
import { Checkpoint, issueToken } from '../../entry/checkpoint.ts';

const opts = { maxMessageBytes: 1000, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'gw', source: 'unix' };
const entries = ['zero', 'one', 'two "quoted"', 'three', 'four', 'fünf'].map((message, i) => buildEntry({ message, module: `M${i}` }, opts));

test('batch: views go on with the kept records (the same view, not decoded again); a replacement gets a view of its own record', () => {
  const batch = RecordBatch.of(entries.map((e, i) => entryRecord(e, i + 1, 7)));
  const view = batch.records.view!;
  const first = entries.map((_, i) => view(i));
  for (const [i, v] of first.entries()) {
    assert.ok(v instanceof RecordView);
    assert.equal(v.message, entries[i]!.message);
  }
  const copy = buildEntry({ message: 'two, masked', module: 'M2' }, opts);
  const next = batch.apply([true, false, copy, true, false, true]);
  assert.equal(next.count, 4);
  const after = Array.from({ length: 4 }, (_, k) => next.records.view!(k));
  assert.deepEqual(after.map((v) => [v.message, v.module, v.source]), [['zero', 'M0', 'unix'], ['two, masked', 'M2', 'unix'], ['three', 'M3', 'unix'], ['fünf', 'M5', 'unix']]);
  assert.equal(after[0], first[0]);
  assert.equal(after[2], first[3]);
  assert.equal(after[3], first[5]);
  assert.notEqual(after[1], first[2]);
  // The tokens followed their records (the replacement took its original's header).
  assert.deepEqual([0, 1, 2, 3].map((k) => next.token(k)), [1, 3, 4, 6]);
  // A slice keeps them too.
  assert.equal(next.slice(2, 4).records.view!(1), first[5]);
});

test('batch: a decoded batch answers views with its objects', () => {
  const batch = RecordBatch.of(entries.map((e) => entryRecord(e)));
  const objects = batch.entries();
  assert.equal(batch.records.view!(3), objects[3]);
});

test('batch: a sink queue holds a batch without the views a filter carried on (they would keep the earlier batch\'s frames alive)', () => {
  const batch = RecordBatch.of(entries.map((e) => entryRecord(e)));
  const carried = batch.records.view!(5);
  const kept = batch.apply([false, false, false, false, false, true]);
  assert.equal(kept.records.view!(0), carried);
  const queue = new SinkQueue(100);
  queue.push(kept);
  const queued = queue.take(10);
  const fresh = queued.records.view!(0);
  assert.notEqual(fresh, carried);
  assert.equal(fresh.message, 'fünf');
});

/** Whether a is a view of b's bytes. */
const within = (a: Buffer, b: Buffer) => a.buffer === b.buffer && a.byteOffset >= b.byteOffset && a.byteOffset + a.length <= b.byteOffset + b.length;

test('batch: a few records kept of a batch are copied out of it (a queued batch does not keep the whole buffer alive); most of it stays a view', () => {
  const big = RecordBatch.of(Array.from({ length: 100 }, (_, i) => entryRecord(buildEntry({ message: `reading ${i} ${'x'.repeat(200)}` }, opts))));
  const few = big.apply(Array.from({ length: 100 }, (_, i) => i >= 10 && i < 12));
  assert.equal(few.count, 2);
  assert.ok(!within(few.frames, big.frames));
  assert.deepEqual([0, 1].map((k) => few.view(k).message.slice(0, 10)), ['reading 10', 'reading 11']);
  const most = big.apply(Array.from({ length: 100 }, (_, i) => i < 90));
  assert.ok(within(most.frames, big.frames));
  assert.equal(most.count, 90);
});

test('batch: a filter\'s drops on a batch fresh out of the ring close the gaps in place (no new Buffer); dropped records finish their checkpoints, kept ones do not', () => {
  const cps = entries.map((_, i) => new Checkpoint({ input: 'file', stream: 's', offset: i }, () => {}));
  const tokens = cps.map((cp) => issueToken(cp));
  const source = RecordBatch.of(entries.map((e, i) => entryRecord(e, tokens[i], 3)));
  const frames = source.frames;
  const owned = new RecordBatch({ frames, count: source.count }, undefined, undefined, true);
  const kept = owned.apply([false, true, true, false, false, true]);
  assert.equal(kept.count, 3);
  assert.ok(kept.frames.buffer === frames.buffer && kept.frames.byteOffset === frames.byteOffset, 'the same memory');
  assert.deepEqual(frames.subarray(0, kept.frames.length), kept.frames);
  assert.deepEqual(Array.from({ length: 3 }, (_, k) => [kept.token(k), kept.input(k)]), [[tokens[1], 3], [tokens[2], 3], [tokens[5], 3]]);
  assert.deepEqual(cps.map((cp) => cp.done), [true, false, false, true, true, false]);
  // Drops again, on the result (owned in turn, no view read of it yet): still in place, still right.
  const last = kept.apply([true, false, true]);
  assert.ok(last.frames.buffer === frames.buffer && last.frames.byteOffset === frames.byteOffset);
  assert.deepEqual([last.view(0).message, last.view(1).message], ['one', 'fünf']);
  assert.equal(cps[2]!.done, true);
  // Once a filter has read views of a batch, they read its bytes where they are: it is copied.
  const viewed = last.apply([false, true]);
  assert.equal(viewed.view(0).message, 'fünf');
  assert.equal(last.view(0).message, 'one', 'the view read before still reads its record');
  // A batch not marked as fresh out of the ring (a route's, an urgent one) is never rewritten.
  const shared = RecordBatch.of(entries.map((e) => entryRecord(e)));
  const before = Buffer.from(shared.frames);
  const picked = shared.apply([true, false, false, false, false, true]);
  assert.deepEqual(shared.frames, before);
  assert.equal(picked.count, 2);
});
