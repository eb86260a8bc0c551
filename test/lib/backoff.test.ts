/**
 * The one retry schedule (lib/backoff.ts) that plugin restarts, sink retries, serial reopening,
 * socket plugin reconnects, the forwarder and the Kafka exporter share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay } from '../../lib/backoff.ts';
import { rng } from '../helpers/rng.ts';

test('backoff without jitter: min, doubling per failure, capped at max; a success starts over', () => {
  const b = new Backoff({ minMs: 20, maxMs: 100, jitter: 'none' });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [20, 40, 80, 100, 100]);
  assert.equal(b.attempts, 5);
  b.reset();
  assert.equal(b.next(), 20);
  b.toMax();
  assert.equal(b.next(), 100);
  // A cap below the minimum counts as the minimum; huge failure counts stay finite.
  assert.equal(backoffDelay(0, { minMs: 50, maxMs: 10, jitter: 'none' }), 50);
  assert.equal(backoffDelay(1e9, { minMs: 1, maxMs: 3_600_000, jitter: 'none' }), 3_600_000);
});

test('equal jitter: each delay lies in [d/2, d] of the unjittered one, and agents that failed together spread out', () => {
  const random = rng(7);
  for (let failures = 0; failures < 12; failures++) {
    const d = backoffDelay(failures, { minMs: 100, maxMs: 30_000, jitter: 'none' });
    for (let i = 0; i < 50; i++) {
      const j = backoffDelay(failures, { minMs: 100, maxMs: 30_000, jitter: 'equal', random });
      assert.ok(j >= Math.floor(d / 2) && j <= d, `failure ${failures}: ${j} outside [${d / 2}, ${d}]`);
    }
  }
  // 100 agents that lost the aggregator at the same moment: their 5th retries do not coincide.
  const fifth = new Set(Array.from({ length: 100 }, () => {
    const b = new Backoff({ minMs: 200, maxMs: 30_000, jitter: 'equal', random });
    for (let i = 0; i < 4; i++) b.next();
    return b.next();
  }));
  assert.ok(fifth.size > 50, `only ${fifth.size} distinct delays`);
});
