/**
 * The kmsg input's records on their two ways into the pipeline: FastIngest (ctx.openStream), where
 * each record's checkpoint comes from the codec's 'S' note before it (NoteAcks) and rides in the
 * record's token, and DraftStream (no openStream: a line stage or labels), where the same codec's
 * entries become drafts carrying the same checkpoints. Notes are never queued; a kmsg stream is
 * never parsed off the main thread, however large its chunks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingEntryQueue } from '../../agent/buffer/entry-buffer.ts';
import { JsRing } from '../../agent/buffer/js-ring.ts';
import { NativeRing } from '../../agent/buffer/native-ring.ts';
import { createRingMemory } from '../../agent/buffer/ring-layout.ts';
import { Checkpoint } from '../../entry/checkpoint.ts';
import { FastIngest } from '../../agent/buffer/fast-ingest.ts';
import { createCodec } from '../../agent/buffer/select.ts';
import { forEachToken, recordsToEntries, releaseRecordTokens } from '../../agent/buffer/records.ts';
import type { CodecOptions } from '../../agent/buffer/line-codec.ts';
import { DraftStream } from '../../agent/inputs/draft-stream.ts';
import type { EntryDraft } from '../../entry/build.ts';
import { createLog } from '../../lib/log.ts';
import { loadAddon } from '../../lib/native-runtime.ts';

const OPTS: CodecOptions = {
  maxLineBytes: 64 * 1024, maxMessageBytes: 4096, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'KMSG', node: 'n', source: 'kmsg:/dev/kmsg', format: 'kmsg',
  kmsg: { bootWallMs: 1_767_000_000_000, module: 'KERNEL' },
};
const STREAM = '6,1,1,-;one\n SUBSYSTEM=usb\nnot a record\n4,2,2,c;frag \n4,3,3,+;ment\n6,4,4,-;four\n6,5,5,-;five\n';

/** Checkpoints made from the notes, by seq, and the seqs finished so far. */
function positions() {
  const told: number[] = [];
  const done: number[] = [];
  return { told, done, notes: { position: (seq: number) => (told.push(seq), new Checkpoint({ input: 'kmsg', stream: 'kmsg', offset: seq }, (c) => done.push(c.offset))) } };
}

for (const impl of ['js', 'native'] as const) {
  test(`kmsg stream (${impl}): each record carries the checkpoint of its 'S' note; notes are not queued; a bad header is a reject; dropped records finish their positions`, () => {
    const ring = impl === 'native' ? new NativeRing(createRingMemory(1 << 20)) : new JsRing(createRingMemory(1 << 20));
    const q = new RingEntryQueue(ring, 3);
    const counters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    const codec = createCodec(OPTS, impl === 'native' ? 'on' : 'off');
    const p = positions();
    const ingest = new FastIngest({ codec, queue: q, policy: 'drop_newest', counters, schedule: () => {}, notes: p.notes });
    ingest.feed(Buffer.from(STREAM.slice(0, 50)));
    ingest.feed(Buffer.from(STREAM.slice(50)));
    ingest.end();
    assert.deepEqual(p.told, [1, 3, 4, 5]);
    assert.equal(counters.rejected, 1);
    assert.equal(counters.last_reject, 'kmsg: not a record header: "not a record"');
    // The bound (3 entries) let 1, 3 and 4 in; 5 was dropped, counted, and finished at once.
    assert.equal(counters.received, 4);
    assert.equal(counters.dropped, 1);
    assert.deepEqual(p.done, [5]);
    const r = q.takeRecords(10)!;
    assert.equal(r.count, 3);
    const tokens: number[] = [];
    forEachToken(r.frames, (t) => tokens.push(t));
    assert.equal(tokens.length, 3);
    assert.deepEqual(recordsToEntries(r).map((e) => [e.message, e.fields?.seq]), [['one', 1], ['frag ment', 3], ['four', 4]]);
    releaseRecordTokens(r);
    assert.deepEqual(p.done, [5, 1, 3, 4]);
    assert.deepEqual(ingest.formatCounters(), { skipped: 0, missed: 0, last_seq: 5, held_seq: -1 });
  });
}

test('a kmsg stream is never parsed off the main thread (its checkpoints are told as the records are taken), even in chunks past the off-thread size', () => {
  const addon = loadAddon();
  const q = new RingEntryQueue(new NativeRing(createRingMemory(8 << 20)), 100_000);
  const counters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
  const codec = createCodec(OPTS, 'on');
  assert.ok(codec.feedOffThread && addon);
  let offThread = 0;
  codec.feedOffThread = () => void offThread++;
  const p = positions();
  const ingest = new FastIngest({ codec, queue: q, policy: 'block', counters, schedule: () => {}, notes: p.notes });
  const big = Buffer.from(Array.from({ length: 3000 }, (_, i) => `6,${i},${i},-;record ${i} ${'x'.repeat(40)}\n`).join(''));
  assert.ok(big.length > 64 * 1024);
  assert.equal(ingest.feed(big), true);
  ingest.end();
  assert.equal(offThread, 0);
  assert.equal(p.told.length, 3000);
  assert.equal(counters.received, 3000);
});

test('DraftStream (no openStream): the same codec\'s entries as drafts for emit, with the checkpoints of their notes; rejects through ctx.reject; pause when emit says so', () => {
  const drafts: EntryDraft[] = [];
  const rejects: string[] = [];
  const p = positions();
  const ctx = {
    name: 'kmsg', log: createLog('ERROR'), stateDir: '/nonexistent',
    emit: (d: EntryDraft) => (drafts.push(d), drafts.length < 2),
    drained: () => Promise.resolve(),
    reject: (why: string) => void rejects.push(why),
  };
  const stream = new DraftStream(ctx, OPTS, p.notes);
  assert.equal(stream.feed(Buffer.from(STREAM)), false, 'the second emit asked to pause');
  stream.end();
  assert.deepEqual(rejects, ['kmsg: not a record header: "not a record"']);
  assert.deepEqual(drafts.map((d) => [d.message, d.level, d.module, d.source, (d.fields as Record<string, unknown>).seq, d.checkpoint?.offset]), [
    ['one', 'INFO', 'KERNEL', 'kmsg:/dev/kmsg', 1, 1], ['frag ment', 'WARN', 'KERNEL', 'kmsg:/dev/kmsg', 3, 3], ['four', 'INFO', 'KERNEL', 'kmsg:/dev/kmsg', 4, 4], ['five', 'INFO', 'KERNEL', 'kmsg:/dev/kmsg', 5, 5],
  ]);
  assert.deepEqual((drafts[0]!.fields as Record<string, unknown>).subsystem, 'usb');
  assert.equal(drafts[0]!.timestamp, '2025-12-29T09:20:00.000Z');
  assert.deepEqual(stream.stats().rejected, 1);
  assert.deepEqual(stream.formatCounters(), { skipped: 0, missed: 0, last_seq: 5, held_seq: -1 });
});
