import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Pipeline } from '../../agent/pipeline/pipeline.ts';
import { createEntryBuffer } from '../../agent/buffer/entry-buffer.ts';
import { SinkRunner } from '../../agent/pipeline/sink-runner.ts';
import type { RecordBatch } from '../../agent/pipeline/batch.ts';
import type { SinkStage } from '../../agent/pipeline/stages.ts';
import type { LogEntry } from '../../entry/entry.ts';

/** An in-memory sink whose flushes wait until the test opens the gate (a stalled uplink). */
class GatedSink implements SinkStage {
  readonly name = 'gated';
  enabled = true;
  readonly delivered: LogEntry[] = [];
  private gate = Promise.withResolvers<void>();
  readonly flushed: number[] = [];
  async flush(batch: RecordBatch): Promise<void> {
    const entries = batch.entries();
    this.flushed.push(entries.length);
    await this.gate.promise;
    this.delivered.push(...entries);
  }
  open(): void {
    this.gate.resolve();
  }
}

test('priority lane: an urgent entry (emitUrgent) overtakes routine entries waiting in the buffer, urgent ones keep their order, ordinary FATALs keep their place, nothing is lost', async () => {
  const pipeline = new Pipeline({ node: 'n', maxMessageBytes: 1024, bufferEntries: 1000, bufferBytes: 1 << 20, stepEntries: 8 });
  const sink = new GatedSink();
  const runner = new SinkRunner(sink, { queueLength: 4, batchMaxEntries: 4, batchMaxMs: 10 });
  pipeline.addSink(runner);
  const port = pipeline.inputPort('serial', 'block', { level: 'INFO', module: 'SERIAL' });
  for (let i = 0; i < 50; i++) port.emit({ message: `routine ${i}` });
  // Let the pipeline fill the (stalled) sink's queue; the rest waits in the buffer.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.ok(pipeline.buffer.length > 30, `buffer holds ${pipeline.buffer.length}`);
  port.emitUrgent({ level: 'FATAL', message: 'Kernel panic 1' });
  port.emitUrgent({ level: 'FATAL', message: 'Kernel panic 2' });
  // A FATAL entry sent the ordinary way keeps its place (kmsg, syslog relay levels in order).
  port.emit({ level: 'FATAL', message: 'relayed emergency' });
  port.emit({ message: 'routine after' });
  sink.open();
  while (sink.delivered.length < 54) await once(runner, 'idle');
  const order = sink.delivered.map((e) => e.message);
  const p1 = order.indexOf('Kernel panic 1');
  const p2 = order.indexOf('Kernel panic 2');
  assert.ok(p1 >= 0 && p2 === p1 + 1, order.join(','));
  // Only what the sink had already taken (its queue plus a batch in flight) is ahead of the panics.
  assert.ok(p1 <= 8, `panic delivered at position ${p1}: ${order.join(',')}`);
  assert.deepEqual(order.slice(-2), ['relayed emergency', 'routine after']);
  assert.deepEqual(order.filter((m) => /^routine \d+$/.test(m)), Array.from({ length: 50 }, (_, i) => `routine ${i}`));
  assert.equal(pipeline.totalDropped(), 0);
  const left = await pipeline.drain(1000);
  assert.equal(left, 0);
});

for (const mode of ['on', 'off'] as const) {
  test(`priority lane: a serial console's oops group, marked urgent by the codec (buffer.native: ${mode}), overtakes the console's routine lines waiting in the buffer`, async () => {
    const buffer = createEntryBuffer(1000, 1 << 20, mode);
    const pipeline = new Pipeline({ node: 'n', maxMessageBytes: 1024, bufferEntries: 1000, bufferBytes: 1 << 20, stepEntries: 8 }, buffer);
    const sink = new GatedSink();
    const runner = new SinkRunner(sink, { queueLength: 4, batchMaxEntries: 4, batchMaxMs: 10 });
    pipeline.addSink(runner);
    const port = pipeline.inputPort('serial', 'block', { level: 'INFO', module: 'SERIAL' });
    const stream = port.openStream('serial:/dev/ttyS0', 8192, 'serial', undefined, { serial: {} });
    stream.feedAt!(Buffer.from(Array.from({ length: 50 }, (_, i) => `routine ${i}`).join('\r\n') + '\r\n'), Date.now(), performance.now());
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.ok(pipeline.buffer.length > 30, `buffer holds ${pipeline.buffer.length}`);
    stream.feedAt!(Buffer.from('[ 9.1] Kernel panic - not syncing: x\r\n[ 9.2] ---[ end Kernel panic - not syncing: x ]---\r\nroutine after\r\n'), Date.now(), performance.now());
    sink.open();
    while (sink.delivered.length < 52) await once(runner, 'idle');
    const order = sink.delivered.map((e) => e.message);
    const p = order.findIndex((m) => m.startsWith('[ 9.1] Kernel panic'));
    assert.ok(p >= 0 && p <= 8, `panic delivered at position ${p}: ${order.join(',')}`);
    assert.equal(sink.delivered[p]!.level, 'FATAL');
    assert.deepEqual(order.filter((m) => m.startsWith('routine')), [...Array.from({ length: 50 }, (_, i) => `routine ${i}`), 'routine after']);
    assert.equal(pipeline.inputs.get('serial')!.received, 52);
    assert.equal(pipeline.totalDropped(), 0);
  });
}
