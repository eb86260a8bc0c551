/**
 * recordsToNdjson: the NDJSON of a range of entry records (a forward batch's body, sink_tcp's
 * write), for every kind of frame the ring holds ('E' entries, keyed records carrying a token and
 * an input id, bare JSON), whatever the range; without the addon (a record at a time in
 * JavaScript) and with it (a whole batch in one call).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyedRecord, recordsToNdjson } from '../../agent/buffer/records.ts';
import { rng } from '../helpers/rng.ts';
import { loadAddon, loadedAddon } from '../../lib/native-runtime.ts';

function frame(payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4 + payload.length);
  b.writeUInt32LE(payload.length, 0);
  payload.copy(b, 4);
  return b;
}

test('recordsToNdjson: any range [from, to) of E, keyed and bare records gives exactly their lines, also into a reused buffer (seeded)', () => {
  const random = rng(0x7ec0);
  const jsons: string[] = [];
  const frames: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const json = JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', level: 'INFO', module: 'M', message: `m${i} ${'é'.repeat(Math.floor(random() * 40))}` });
    jsons.push(json);
    const kind = Math.floor(random() * 3);
    frames.push(frame(kind === 0 ? Buffer.concat([Buffer.from('E'), Buffer.from(json)]) : kind === 1 ? keyedRecord(json, 1 + i, 3) : Buffer.from(json)));
  }
  const r = { frames: Buffer.concat(frames), count: frames.length };
  const reused = Buffer.alloc(r.frames.length);
  for (let k = 0; k < 500; k++) {
    const from = Math.floor(random() * 301);
    const to = from + Math.floor(random() * (301 - from));
    const want = jsons.slice(from, to).map((j) => j + '\n').join('');
    const out = recordsToNdjson(r, from, to);
    assert.equal(out.toString('utf8'), want, `range ${from}..${to}`);
    assert.equal(recordsToNdjson(r, from, to, reused).toString('utf8'), want, 'into a reused buffer');
  }
  assert.equal(recordsToNdjson(r).toString('utf8'), jsons.map((j) => j + '\n').join(''));
});

// Last in this file: from here on the addon is loaded, and a whole batch's NDJSON is copied by it.
test('recordsToNdjson of a whole batch with the addon loaded: the same lines, an entry with an empty message and a lang_key among them copied as it is (seeded)', () => {
  loadAddon();
  assert.ok(loadedAddon(), 'the addon is loaded');
  const random = rng(0x7ec1);
  for (let round = 0; round < 50; round++) {
    const jsons: string[] = [];
    const frames: Buffer[] = [];
    const n = Math.floor(random() * 200);
    for (let i = 0; i < n; i++) {
      // Every few records, one the forwarder sends rendered (an empty message and a lang_key).
      const json = random() < 0.1
        ? JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', level: 'INFO', module: 'M', message: '', lang_key: `k.${i}` })
        : JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', level: 'INFO', module: 'M', message: `m${i} ${'é'.repeat(Math.floor(random() * 40))}` });
      jsons.push(json);
      const kind = Math.floor(random() * 3);
      frames.push(frame(kind === 0 ? Buffer.concat([Buffer.from('E'), Buffer.from(json)]) : kind === 1 ? keyedRecord(json, 1 + i, 3) : Buffer.from(json)));
    }
    const r = { frames: Buffer.concat(frames), count: frames.length };
    const want = jsons.map((j) => j + '\n').join('');
    assert.equal(recordsToNdjson(r).toString('utf8'), want, `round ${round}`);
    const reused = Buffer.alloc(r.frames.length + 10);
    assert.equal(recordsToNdjson(r, 0, r.count, reused).toString('utf8'), want, 'into a reused buffer');
    // A range that is not the whole batch takes the JavaScript path: the same lines.
    if (n > 2) assert.equal(recordsToNdjson(r, 1, n - 1).toString('utf8'), jsons.slice(1, n - 1).map((j) => j + '\n').join(''));
  }
});
