/**
 * A sink queue flushes a batch that holds a FATAL entry at once instead of after batch_max_ms,
 * whether the level is read by the addon (levelVerdicts) or found by scanning the batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SinkRunner } from '../../agent/pipeline/sink-runner.ts';
import { RecordBatch } from '../../agent/pipeline/batch.ts';
import type { SinkStage } from '../../agent/pipeline/stages.ts';
import { loadAddon, loadedAddon } from '../../lib/native-runtime.ts';

const record = (level: string, extra = '') =>
  Buffer.from(`E{"timestamp":"2026-12-01T00:00:00.000Z","level":"${level}","module":"KERNEL","message":"m"${extra},"node":"n"}`);

/** Pushes one batch into a runner that would otherwise wait a minute; says whether it flushed at once. */
function flushedAtOnce(levels: Buffer[]): boolean {
  let flushes = 0;
  const stage: SinkStage = { name: 's', enabled: true, flush: async () => void flushes++ };
  const runner = new SinkRunner(stage, { batchMaxMs: 60_000, batchMaxEntries: 10_000 });
  runner.push(RecordBatch.of(levels));
  const now = flushes > 0;
  void runner.stop?.();
  return now;
}

function check(native: boolean): void {
  assert.equal(loadedAddon() !== undefined, native);
  assert.equal(flushedAtOnce([record('INFO'), record('ERROR'), record('WARN')]), false, 'no FATAL: waits for batch_max_ms');
  assert.equal(flushedAtOnce([record('INFO'), record('FATAL'), record('INFO')]), true, 'a FATAL entry: flushed now');
  // A record of another shape (keys in another order) is looked at by the scan.
  assert.equal(flushedAtOnce([record('INFO'), Buffer.from('E{"level":"FATAL","timestamp":"x","module":"K","message":"m"}')]), true);
}

test('a batch with a FATAL entry is flushed at once (JS scan, no addon loaded)', () => check(false));

test('a batch with a FATAL entry is flushed at once (levels read by the addon); FATAL text inside a field is not a FATAL entry', () => {
  loadAddon();
  check(true);
  assert.equal(flushedAtOnce([record('INFO', ',"fields":{"note":"\\"level\\":\\"FATAL\\""}'), record('INFO', ',"fields":{"x":{"level":"FATAL"}}')]), false);
});
