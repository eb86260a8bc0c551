/**
 * The sink queue on the records path: runs that trickle in a few records at a time go to the sink
 * joined (one call, not one per run), in order; a run over the batch bound is never split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SinkQueue } from '../../agent/pipeline/sink-queue.ts';
import { forEachRecord, type EntryRecords } from '../../agent/buffer/records.ts';
import { buildEntry } from '../../agent/entry/build.ts';
import { encodeEntry } from '../../agent/entry/codec.ts';

function run(...messages: string[]): EntryRecords {
  const frames = messages.map((m) => {
    const json = Buffer.from(encodeEntry(buildEntry({ message: m }, { defaultLevel: 'INFO', defaultModule: 'T', maxMessageBytes: 1024, node: 'n', source: 's' })));
    const f = Buffer.alloc(4 + json.length);
    f.writeUInt32LE(json.length, 0);
    json.copy(f, 4);
    return f;
  });
  return { frames: Buffer.concat(frames), count: messages.length };
}

function messages(r: EntryRecords): string[] {
  const out: string[] = [];
  forEachRecord(r.frames, (start, end) => out.push(JSON.parse(r.frames.toString('utf8', start, end)).message));
  return out;
}

test('consecutive runs are joined up to the batch bound, in order; a run over the bound is taken whole', () => {
  const q = new SinkQueue(1000);
  q.push(run('a', 'b'));
  q.push(run('c'));
  q.push(run('d', 'e', 'f'));
  q.push(run('g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'));
  assert.equal(q.length, 14);
  const first = q.take(6);
  assert.deepEqual(messages(first.records!), ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.equal(first.records!.count, 6);
  const second = q.take(6);
  assert.equal(second.records!.count, 8, 'a run over the bound is not split');
  assert.equal(q.length, 0);
});
