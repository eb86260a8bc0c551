/**
 * recordsToNdjson: the NDJSON of a range of entry records (a forward batch's body, sink_tcp's
 * write), for every kind of frame the ring holds ('E' entries, keyed records carrying a token and
 * an input id, bare JSON), whatever the range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyedRecord, recordsToNdjson } from '../../agent/buffer/records.ts';
import { rng } from '../helpers/rng.ts';

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
