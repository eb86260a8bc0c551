/**
 * The forwarder copies a run of entry records into its batch body either through the addon
 * (forwardLines, native/addon/src/forward-lines.c) or record by record in JavaScript. This holds
 * the C side to the rule the JavaScript loop follows: each record's NDJSON and a newline, in
 * order; stop after the record that fills the batch (count or bytes), before a record that holds
 * both `"message":""` and `"lang_key":"` (it is sent with its message rendered), at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameRecords } from '../../agent/buffer/ring.ts';
import { forEachRecord, keyedRecord } from '../../agent/buffer/records.ts';
import { loadAddon } from '../../lib/native-runtime.ts';
import { fuzzer } from '../fuzz/fuzz.ts';

const addon = loadAddon();

/** The rule, record by record (what addRecordsJs does for a run without tokens). */
function model(frames: Buffer, from: number, maxRecords: number, maxBytes: number): { out: Buffer; records: number; next: number; why: number } {
  const parts: Buffer[] = [];
  let records = 0, bytes = 0, next = from, why = 0;
  const starts: [number, number, number][] = [];
  let off = 0;
  forEachRecord(frames, (start, end) => {
    starts.push([off, start, end]);
    off = end;
  });
  for (const [at, start, end] of starts) {
    if (at < from) continue;
    const line = frames.subarray(start, end);
    if (line.includes('"message":""') && line.includes('"lang_key":"')) { why = 1; break; }
    parts.push(line, Buffer.from('\n'));
    records++;
    bytes += line.length + 1;
    next = end;
    if (records >= maxRecords || bytes >= maxBytes) { why = 2; break; }
  }
  return { out: Buffer.concat(parts), records, next, why };
}

function native(frames: Buffer, from: number, maxRecords: number, maxBytes: number) {
  const out = Buffer.alloc(frames.length + 16, 0xee);
  const res = new Float64Array(4);
  addon.forwardLines(frames, from, out, 3, maxRecords, maxBytes, res);
  assert.equal(out[0], 0xee, 'nothing written before `at`');
  return { out: out.subarray(3, 3 + res[2]!), records: res[0]!, next: res[1]!, why: res[3]! };
}

const entry = (o: Record<string, unknown>) => JSON.stringify({ timestamp: '2026-12-01T00:00:00.000Z', level: 'INFO', module: 'APP', ...o });

test('forwardLines copies records as NDJSON lines, stops where the batch fills and before a record to render', () => {
  const payloads = [
    Buffer.from('E' + entry({ message: 'a' })), keyedRecord(entry({ message: 'b' }), 0, 3), Buffer.from(entry({ message: 'bare' })),
    Buffer.from('E' + entry({ message: '', lang_key: 'disk.low', args: ['/data'] })), // rendered by the JS side
    Buffer.from('E' + entry({ message: '', fields: { note: 'no lang_key here' } })), // an empty message alone: as it is
    Buffer.from('E' + entry({ message: 'x', fields: { lang_key: 'in a field' } })),
  ];
  const frames = frameRecords(payloads);
  for (const [maxRecords, maxBytes] of [[1000, 1e9], [2, 1e9], [1000, 60], [1, 1]]) {
    assert.deepEqual(native(frames, 0, maxRecords, maxBytes), model(frames, 0, maxRecords, maxBytes), `max ${maxRecords} records, ${maxBytes} bytes`);
  }
  const stop = native(frames, 0, 1000, 1e9);
  assert.equal(stop.why, 1, 'stopped before the record to render');
  assert.equal(stop.records, 3);
  assert.equal(stop.out.toString().split('\n').length, 4);
  // After the caller sends the rendered record itself, the rest goes on from the next frame.
  const rest = native(frames, stop.next + 4 + frames.readUInt32LE(stop.next), 1000, 1e9);
  assert.deepEqual([rest.records, rest.why], [2, 0]);
});

test('fuzz: forwardLines and the record-by-record rule give the same bytes and the same stop', (t) => {
  const f = fuzzer(t, 3, 77);
  const deadline = Date.now() + f.budgetMs;
  let runs = 0;
  while (Date.now() < deadline) {
    const payloads: Buffer[] = [];
    for (let i = f.int(30); i >= 0; i--) {
      const o: Record<string, unknown> = { message: f.chance(0.2) ? '' : 'm'.repeat(f.int(40)) };
      if (f.chance(0.2)) o.lang_key = 'k.' + f.int(9);
      let p = Buffer.from(entry(o));
      if (f.chance(0.2)) p = p.subarray(0, f.int(p.length + 1));
      const tag = f.int(3);
      payloads.push(tag === 0 ? Buffer.concat([Buffer.from('E'), p]) : tag === 1 ? keyedRecord(p, f.int(100), f.int(3)) : p);
    }
    const frames = frameRecords(payloads);
    const maxRecords = 1 + f.int(40), maxBytes = 1 + f.int(4000);
    assert.deepEqual(native(frames, 0, maxRecords, maxBytes), model(frames, 0, maxRecords, maxBytes), `run ${runs}`);
    runs++;
  }
  t.diagnostic(`${runs} runs`);
});

test('forwardLines refuses arguments out of range instead of reading outside its buffers', () => {
  const frames = frameRecords([Buffer.from('E' + entry({ message: 'a' }))]);
  assert.throws(() => addon.forwardLines(frames, frames.length + 1, Buffer.alloc(64), 0, 10, 1e9, new Float64Array(4)), /forwardLines/);
  assert.throws(() => addon.forwardLines(frames, 0, Buffer.alloc(64), 65, 10, 1e9, new Float64Array(4)), /forwardLines/);
  assert.throws(() => addon.forwardLines(frames, 0, Buffer.alloc(64), 0, 10, 1e9, new Float64Array(3)), /forwardLines/);
  // An out buffer too small for the next line: nothing is written past it, the caller sees 0 records.
  const res = new Float64Array(4);
  addon.forwardLines(frames, 0, Buffer.alloc(8), 0, 10, 1e9, res);
  assert.deepEqual([...res], [0, 0, 0, 0]);
});
