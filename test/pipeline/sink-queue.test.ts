/**
 * The sink queue: runs that trickle in a few records at a time go to the sink joined (one call,
 * not one per run), in order; a run over the batch bound is cut at the bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SinkQueue } from '../../agent/pipeline/sink-queue.ts';
import { forEachRecord, type EntryRecords } from '../../agent/buffer/records.ts';
import { RecordBatch } from '../../agent/pipeline/batch.ts';
import { buildEntry } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';

function run(...messages: string[]): RecordBatch {
  const frames = messages.map((m) => {
    const json = Buffer.from(encodeEntry(buildEntry({ message: m }, { defaultLevel: 'INFO', defaultModule: 'T', maxMessageBytes: 1024, node: 'n', source: 's' })));
    const f = Buffer.alloc(4 + json.length);
    f.writeUInt32LE(json.length, 0);
    json.copy(f, 4);
    return f;
  });
  return new RecordBatch({ frames: Buffer.concat(frames), count: messages.length });
}

function messages(r: EntryRecords): string[] {
  const out: string[] = [];
  forEachRecord(r.frames, (start, end) => out.push(JSON.parse(r.frames.toString('utf8', start, end)).message));
  return out;
}

test('consecutive runs are joined up to the batch bound, in order; a run over the bound is cut at the bound', () => {
  const q = new SinkQueue(1000);
  q.push(run('a', 'b'));
  q.push(run('c'));
  q.push(run('d', 'e', 'f'));
  q.push(run('g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'));
  assert.equal(q.length, 14);
  const first = q.take(6);
  assert.deepEqual(messages(first.records), ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.equal(first.count, 6);
  const second = q.take(6);
  assert.deepEqual(messages(second.records), ['g', 'h', 'i', 'j', 'k', 'l']);
  assert.equal(q.length, 2);
  // A failed batch goes back to the head and keeps its place.
  q.unshift(second);
  assert.equal(q.length, 8);
  assert.deepEqual(messages(q.take(6).records), ['g', 'h', 'i', 'j', 'k', 'l']);
  assert.deepEqual(messages(q.take(6).records), ['m', 'n']);
  assert.equal(q.length, 0);
});
