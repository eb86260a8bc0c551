import { test } from 'node:test';
import assert from 'node:assert/strict';
import filterThrottle from '../../static-plugins/filter_throttle/index.ts';
import filterSample from '../../static-plugins/filter_sample/index.ts';
import filterDedupe from '../../static-plugins/filter_dedupe/index.ts';
import { recordingSink, startHarness, until } from '../plugins/harness.ts';

test('filter_throttle: at most rate entries per interval per module; the overflow is dropped, counted and summarised in one WARN entry per key; FATAL passes', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterThrottle, sink.mod],
    config: { enabled: ['filter_throttle', 'sink_record'], config: { filter_throttle: { rate: 5, interval: 60_000, key: ['module'], exempt_level: 'FATAL', max_keys: 100 } } },
  });
  try {
    for (let i = 0; i < 50; i++) h.send({ module: 'PUMP', message: `flood ${i}` });
    for (let i = 0; i < 3; i++) h.send({ module: 'VALVE', message: `calm ${i}` });
    h.send({ module: 'PUMP', level: 'FATAL', message: 'panic' });
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'panic'));
    assert.deepEqual(sink.received.filter((e) => e.module === 'PUMP').map((e) => e.message), ['flood 0', 'flood 1', 'flood 2', 'flood 3', 'flood 4', 'panic']);
    assert.equal(sink.received.filter((e) => e.module === 'VALVE').length, 3);
    assert.equal(h.pipeline.filteredOut.get('filter_throttle'), 45);
  } finally {
    await h.stop();
  }
});

test('filter_throttle: when the interval ends, one summary per throttled key says how many were dropped', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterThrottle, sink.mod],
    config: { enabled: ['filter_throttle', 'sink_record'], config: { filter_throttle: { rate: 2, interval: 200, key: ['module'], exempt_level: 'FATAL', max_keys: 100 } } },
  });
  try {
    for (let i = 0; i < 20; i++) h.send({ module: 'PUMP', message: `flood ${i}` });
    await until(h.pipeline, () => sink.received.some((e) => e.fields?.event === 'throttled'));
    const summary = sink.received.find((e) => e.fields?.event === 'throttled')!;
    // The 20 sends may straddle a window edge: whatever was dropped is in the summaries.
    const dropped = h.pipeline.filteredOut.get('filter_throttle')!;
    await until(h.pipeline, () => sink.received.filter((e) => e.fields?.event === 'throttled').reduce((n, e) => n + Number(e.fields!.throttled), 0) === dropped);
    assert.equal(summary.level, 'WARN');
    assert.equal(summary.module, 'PUMP');
    assert.match(summary.message, /^throttled \d+ entries of module PUMP in 200 ms \(2 let through, rate 2\)$/);
  } finally {
    await h.stop();
  }
});

test('filter_sample: keeps 1 in N below the level per module, marks the samples, keeps everything at or above', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterSample, sink.mod],
    config: { enabled: ['filter_sample', 'sink_record'], config: { filter_sample: { every: 3, below: 'WARN', key: 'module', max_keys: 100 } } },
  });
  try {
    for (let i = 0; i < 9; i++) h.send({ module: 'NET', level: 'DEBUG', message: `d${i}` });
    for (let i = 0; i < 2; i++) h.send({ module: 'NET', level: 'ERROR', message: `e${i}` });
    h.send({ module: 'NET', level: 'WARN', message: 'end' });
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'end'));
    assert.deepEqual(sink.received.map((e) => e.message), ['d0', 'd3', 'd6', 'e0', 'e1', 'end']);
    assert.equal(sink.received[0]!.fields?.sample_rate, 3);
    assert.equal(sink.received[3]!.fields?.sample_rate, undefined);
    assert.equal(h.pipeline.filteredOut.get('filter_sample'), 6);
  } finally {
    await h.stop();
  }
});

test('filter_dedupe: identical entries within the window collapse into the first plus "last message repeated N times"', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterDedupe, sink.mod],
    config: { enabled: ['filter_dedupe', 'sink_record'], config: { filter_dedupe: { window: 300, ignore_source: false, max_keys: 100 } } },
  });
  try {
    for (let i = 0; i < 10; i++) h.send({ module: 'MODEM', level: 'ERROR', message: 'AT timeout' });
    h.send({ module: 'MODEM', level: 'INFO', message: 'other' });
    await until(h.pipeline, () => sink.received.some((e) => e.fields?.event === 'repeated'));
    const msgs = sink.received.map((e) => e.message);
    assert.deepEqual(msgs.slice(0, 2), ['AT timeout', 'other']);
    const rep = sink.received.find((e) => e.fields?.event === 'repeated')!;
    assert.equal(rep.message, 'last message repeated 9 times: AT timeout');
    assert.deepEqual([rep.level, rep.module, rep.fields?.repeated], ['ERROR', 'MODEM', 9]);
    assert.equal(h.pipeline.filteredOut.get('filter_dedupe'), 9);
    // After the window the same message is new again.
    h.send({ module: 'MODEM', level: 'ERROR', message: 'AT timeout' });
    await until(h.pipeline, () => sink.received.filter((e) => e.message === 'AT timeout').length === 2);
  } finally {
    await h.stop();
  }
});

test('filter_dedupe: past max_keys the oldest message is reported and forgotten, oldest first, also after thousands of evictions', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterDedupe, sink.mod],
    config: { enabled: ['filter_dedupe', 'sink_record'], config: { filter_dedupe: { window: 600_000, ignore_source: false, max_keys: 3 } } },
  });
  try {
    for (const m of ['A', 'A', 'B', 'C', 'D', 'B', 'E', 'A', 'F']) h.send({ module: 'MODEM', message: m });
    // Every later message twice: each is reported once (repeated 1) when it is evicted, in order.
    const N = 3000;
    for (let i = 0; i < N; i++) for (let k = 0; k < 2; k++) h.send({ module: 'MODEM', message: `m${i}` });
    const reports = () => sink.received.filter((e) => e.fields?.event === 'repeated').map((e) => e.message.replace('last message repeated 1 times: ', ''));
    await until(h.pipeline, () => reports().length === N - 3 + 2);
    const kept = sink.received.filter((e) => e.fields?.event !== 'repeated').map((e) => e.message);
    assert.deepEqual(kept.slice(0, 7), ['A', 'B', 'C', 'D', 'E', 'A', 'F']);
    assert.equal(kept.length, 7 + N);
    // A and B were repeated when D and E pushed them out; C, D, E, A, F were not (no report).
    assert.deepEqual(reports(), ['A', 'B', ...Array.from({ length: N - 3 }, (_, i) => `m${i}`)]);
    assert.equal(h.pipeline.filteredOut.get('filter_dedupe'), 2 + N);
  } finally {
    await h.stop();
  }
});
