import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../protocol/index.ts';
import { tempDir } from '../helpers/agent.ts';
import { RawAgent, startAggregator, storedEntries } from './helpers.ts';

test('a full disk (real ENOSPC on a small tmpfs): no ACK, nothing half-stored, the aggregator stays up; the replay is stored once after space is freed', async (t) => {
  const dir = tempDir('logloom-agg-full-');
  const store = join(dir, 'store');
  mkdirSync(store);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'logloom-test', store]);
  t.after(() => execFileSync('umount', ['-l', store]));
  // Room for the store to grow into, handed back later.
  writeFileSync(join(store, 'filler'), Buffer.alloc(96 * 1024));
  const agg = await startAggregator('', dir, `    auth:\n      mode: none\n    ndjson:\n      dir: ${store}\n`);
  t.after(() => agg.stop());
  const big = (seq: number) => Array.from({ length: 10 }, (_, i) => ({ level: 'INFO', module: 'FULL', message: `b${seq}.${i} ` + 'x'.repeat(2000) }));

  let c = await RawAgent.connect(agg.port);
  assert.equal((await c.hello('gw-f', '')).type, 'WELCOME');
  let acked = 0;
  let seq = 0;
  for (;;) {
    seq++;
    const m = await c.batch(seq, big(seq));
    if (m.type === 'ERROR') {
      assert.equal(m.code, ErrorCode.STORAGE_FAILED);
      break;
    }
    assert.equal(m.type === 'ACK' && m.seq, seq);
    acked = seq;
    assert.ok(seq < 100, 'the tmpfs must fill up');
  }
  await c.closed;
  assert.ok(acked > 0);
  // Exactly the acknowledged batches are in the store, none cut in half.
  const committed = JSON.parse(readFileSync(join(store, 'gw-f', 'state.json'), 'utf8')) as { seq: number };
  assert.equal(committed.seq, acked);

  rmSync(join(store, 'filler'));
  c = await RawAgent.connect(agg.port);
  const w = await c.hello('gw-f', '');
  assert.equal(w.type === 'WELCOME' && w.lastSeq, acked);
  assert.deepEqual(await c.batch(acked + 1, big(acked + 1)), { type: 'ACK', seq: acked + 1 });
  await c.end();
  const messages = storedEntries(store, 'gw-f').map((e) => String(e.message).split(' ')[0]);
  assert.deepEqual(messages, Array.from({ length: (acked + 1) * 10 }, (_, i) => `b${Math.floor(i / 10) + 1}.${i % 10}`));
  await agg.stderr.waitFor(/ENOSPC/);
});
