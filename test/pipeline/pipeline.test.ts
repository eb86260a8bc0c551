import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Pipeline } from '../../agent/pipeline/pipeline.ts';
import { SinkRunner } from '../../agent/pipeline/sink-runner.ts';
import type { SinkStage } from '../../agent/pipeline/stages.ts';

function pipeline(bufferEntries: number) {
  return new Pipeline({ node: 'n', maxMessageBytes: 1024, bufferEntries, bufferBytes: 1 << 30 });
}

/** A sink whose flushes wait until the test releases them. */
function gatedSink() {
  const got: string[] = [];
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const stage: SinkStage = {
    name: 'gated',
    enabled: true,
    async flush(batch) {
      await gate;
      got.push(...batch.entries().map((e) => e.message));
    },
  };
  return { stage, got, open: () => release(), close: () => (gate = new Promise<void>((r) => (release = r))) };
}

test('when_full drop_newest and drop_oldest count exactly what they drop', async () => {
  for (const policy of ['drop_newest', 'drop_oldest'] as const) {
    const p = pipeline(10);
    const sink = gatedSink();
    p.addSink(new SinkRunner(sink.stage, { queueLength: 5, batchMaxEntries: 5, batchMaxMs: 1 }));
    const port = p.inputPort('in', policy, { level: 'INFO', module: 'T' });
    for (let i = 0; i < 100; i++) assert.equal(port.emit({ message: String(i) }), true);
    sink.open();
    await once(p, 'empty');
    const drained = await p.drain(5000);
    assert.equal(drained, 0);
    const c = p.inputs.get('in')!;
    assert.equal(c.received, 100);
    assert.equal(sink.got.length + c.dropped, 100, `${policy}: delivered + dropped = received`);
    assert.ok(c.dropped > 0);
    if (policy === 'drop_newest') assert.equal(sink.got[0], '0', 'drop_newest keeps the oldest');
    else assert.equal(sink.got.at(-1), '99', 'drop_oldest keeps the newest');
  }
});

test('when_full block: the input is told to pause, nothing is lost, drained() resolves when there is room', async () => {
  const p = pipeline(8);
  const sink = gatedSink();
  p.addSink(new SinkRunner(sink.stage, { queueLength: 4, batchMaxEntries: 4, batchMaxMs: 1 }));
  const port = p.inputPort('in', 'block', { level: 'INFO', module: 'T' });
  let paused = 0;
  for (let i = 0; i < 50; i++) {
    if (!port.emit({ message: String(i) })) {
      paused++;
      const waited = port.drained();
      sink.open();
      await waited;
      sink.close();
    }
  }
  assert.ok(paused > 0, 'backpressure reached the input');
  sink.open();
  assert.equal(await p.drain(5000), 0);
  assert.deepEqual(sink.got, Array.from({ length: 50 }, (_, i) => String(i)), 'all entries, in order');
  assert.equal(p.inputs.get('in')!.dropped, 0);
});

test('a sink that fails 3 times then succeeds loses nothing and keeps order', async () => {
  const p = pipeline(1000);
  const got: string[] = [];
  let failures = 0;
  const stage: SinkStage = {
    name: 'flaky',
    enabled: true,
    async flush(batch) {
      if (failures < 3) {
        failures++;
        throw new Error('uplink down');
      }
      got.push(...batch.entries().map((e) => e.message));
    },
  };
  const runner = new SinkRunner(stage, { batchMaxEntries: 7, batchMaxMs: 1, retryMinMs: 5, retryMaxMs: 20 });
  p.addSink(runner);
  const port = p.inputPort('in', 'block', { level: 'INFO', module: 'T' });
  for (let i = 0; i < 30; i++) port.emit({ message: String(i) });
  assert.equal(await p.drain(10_000), 0);
  assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => String(i)));
  assert.equal(runner.failures, 3);
  assert.equal(runner.status().last_error, 'uplink down');
});

test('filters run in order and drop counts are kept per filter; async (promise) filters keep order', async () => {
  const p = pipeline(1000);
  const got: string[] = [];
  p.addSink(new SinkRunner({ name: 's', enabled: true, flush: async (b) => void got.push(...b.entries().map((e) => e.message)) }, { batchMaxMs: 1 }));
  p.filters.push({ name: 'no_debug', enabled: true, keep: (b) => b.entries().map((e) => e.level !== 'DEBUG') });
  p.filters.push({
    name: 'async_even',
    enabled: true,
    keep: (b) => new Promise((r) => setTimeout(() => r(b.entries().map((e) => Number(e.message) % 2 === 0)), 2)),
  });
  const port = p.inputPort('in', 'block', { level: 'INFO', module: 'T' });
  for (let i = 0; i < 40; i++) port.emit({ message: String(i), level: i % 10 === 0 ? 'DEBUG' : 'INFO' });
  assert.equal(await p.drain(5000), 0);
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 10 !== 0 && i % 2 === 0).map(String));
  assert.equal(p.filteredOut.get('no_debug'), 4);
  assert.equal(p.filteredOut.get('async_even'), 20);
});
