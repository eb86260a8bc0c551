/**
 * filter_level's records path has one rule in two languages: the addon's levelVerdicts
 * (native/addon/src/levels.c) and the JS loop over levelModuleSpanInto + spanLevelRank
 * (agent/buffer/records.ts). Both must give every record the same verdict, for records the codec
 * makes and for records of any other shape (which the addon hands back to the JS loop).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameRecords } from '../../agent/buffer/ring.ts';
import { forEachRecord, keyedRecord, levelModuleSpanInto, spanLevelRank, type LevelModuleSpan } from '../../agent/buffer/records.ts';
import { loadAddon } from '../../lib/native-runtime.ts';
import { fuzzer } from '../fuzz/fuzz.ts';
import filterLevel from '../../static-plugins/filter_level/index.ts';
import { encodeEntry } from '../../entry/codec.ts';

const addon = loadAddon();

/** The JS rule: 1 keep, 0 below, 2 another shape (what levels.h answers). */
function jsVerdicts(frames: Buffer, minRank: number): number[] {
  const out: number[] = [];
  const span: LevelModuleSpan = { levelStart: 0, levelEnd: 0, moduleStart: 0, moduleEnd: 0 };
  forEachRecord(frames, (start, end) => {
    if (!levelModuleSpanInto(frames, start, end, span)) out.push(2);
    else out.push((spanLevelRank(frames, span) ?? 0) >= minRank ? 1 : 0);
  });
  return out;
}

function nativeVerdicts(frames: Buffer, minRank: number, count: number): number[] {
  const out = new Uint8Array(count + 4);
  const n = addon.levelVerdicts(frames, minRank, out);
  return [...out.subarray(0, n)];
}

const entry = (level: string, module = 'APP', message = 'm') => encodeEntry({ timestamp: '2026-12-01T00:00:00.000Z', level, module, message, node: 'n' } as never);

test('levelVerdicts (C) and the JS rule agree on every shape of record, at every minimum level', () => {
  const payloads: Buffer[] = [
    Buffer.from('E' + entry('DEBUG')), Buffer.from('E' + entry('INFO')), Buffer.from('E' + entry('WARN', 'NET')),
    Buffer.from('E' + entry('ERROR')), Buffer.from('E' + entry('FATAL')),
    keyedRecord(entry('ERROR'), 7, 2), keyedRecord(entry('DEBUG'), 0, 1), Buffer.from(entry('WARN')), // keyed, bare
    Buffer.from('E' + entry('')), Buffer.from('E' + entry('NOTICE')), Buffer.from('E' + entry('info')), // empty, unknown, lower case
    Buffer.from('E{"level":"ERROR","timestamp":"x","module":"A","message":""}'), // another key order
    Buffer.from('E{"timestamp":"x","level":"ERROR"}'), Buffer.from('E{"timestamp":"x","level":"ERROR","module":"A'), // no module, unterminated
    Buffer.from('E{"timestamp":"x'), Buffer.from('E'), Buffer.from('K\u0001\u0000'), Buffer.from('not json at all'),
  ];
  const frames = frameRecords(payloads);
  for (let min = 0; min <= 4; min++) {
    const js = jsVerdicts(frames, min);
    assert.equal(js.length, payloads.length);
    assert.deepEqual(nativeVerdicts(frames, min, payloads.length), js, `min rank ${min}`);
  }
  // The codec's own records are all of the fast shape: kept at or above the minimum, dropped below.
  assert.deepEqual(jsVerdicts(frames, 2).slice(0, 8), [0, 0, 1, 1, 1, 1, 0, 1]);
  // A torn batch: only the whole records get a verdict.
  assert.equal(addon.levelVerdicts(frames.subarray(0, frames.length - 3), 0, new Uint8Array(64)), payloads.length - 1);
});

test('fuzz: levelVerdicts and the JS rule agree on random and mutated records', (t) => {
  const f = fuzzer(t, 3, 41);
  const levels = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', '', 'X', 'Ä'];
  const deadline = Date.now() + f.budgetMs;
  let batches = 0;
  while (Date.now() < deadline) {
    const payloads: Buffer[] = [];
    for (let i = f.int(40); i >= 0; i--) {
      let p = Buffer.from(entry(f.pick(levels), f.pick(['APP', 'NET', '', 'a"b']), 'x'.repeat(f.int(50))));
      if (f.chance(0.3)) {
        p = Buffer.from(p); // mutate a few bytes anywhere, header included
        for (let k = f.int(4); k >= 0; k--) p[f.int(p.length)] = f.chance(0.5) ? 0x22 : f.int(256);
      }
      if (f.chance(0.2)) p = p.subarray(0, f.int(p.length + 1));
      const tag = f.int(3);
      payloads.push(tag === 0 ? Buffer.concat([Buffer.from('E'), p]) : tag === 1 ? keyedRecord(p, f.int(1000), f.int(5)) : p);
    }
    const frames = frameRecords(payloads);
    const min = f.int(5);
    assert.deepEqual(nativeVerdicts(frames, min, payloads.length), jsVerdicts(frames, min), `batch ${batches}, min rank ${min}`);
    batches++;
  }
  t.diagnostic(`${batches} batches`);
});

test('filter_level gives the same verdicts with the addon loaded as the JS loop, and falls back for other shapes', async () => {
  const plugin = filterLevel.create();
  await plugin.init!({ config: { min_level: 'WARN', modules: {} } } as never);
  const payloads = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].map((l) => Buffer.from('E' + entry(l)));
  const fast = frameRecords(payloads);
  assert.deepEqual(plugin.filterRecords!({ frames: fast, count: payloads.length }), [false, false, true, true, true]);
  // One record of another key order: the whole batch goes the JS way, with the same answers.
  const odd = frameRecords([...payloads, Buffer.from('E{"level":"ERROR","timestamp":"x","module":"A","message":""}')]);
  assert.deepEqual(plugin.filterRecords!({ frames: odd, count: payloads.length + 1 }), [false, false, true, true, true, true]);
});
