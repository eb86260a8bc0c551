/**
 * One suite, two implementations: the native ring (C addon) and the JS ring must behave the same,
 * and since they share one memory layout, each must read what the other wrote.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { JsRing } from '../../agent/buffer/js-ring.ts';
import { NativeRing } from '../../agent/buffer/native-ring.ts';
import { createRingMemory, HEAD_WORD, RING_HEADER } from '../../agent/buffer/ring-layout.ts';
import { forEachFrame, frameRecords, type Ring } from '../../agent/buffer/ring.ts';

const IMPLS = {
  js: (sab: SharedArrayBuffer): Ring => new JsRing(sab),
  native: (sab: SharedArrayBuffer): Ring => new NativeRing(sab),
};

const rec = (s: string) => Buffer.from(s, 'utf8');
function payloads(frames: Buffer | null): string[] {
  const out: string[] = [];
  if (frames) forEachFrame(frames, (p) => out.push(p.toString('utf8')));
  return out;
}

for (const [name, make] of Object.entries(IMPLS)) {
  describe(`ring (${name})`, () => {
    test('empty drain returns null; push then drain returns records in order', () => {
      const r = make(createRingMemory(4096));
      assert.equal(r.drain(100), null);
      assert.equal(r.push(rec('a'), 'block'), 'queued');
      assert.equal(r.push(rec(''), 'block'), 'queued');
      assert.equal(r.push(rec('ccc'), 'block'), 'queued');
      assert.equal(r.records(), 3);
      assert.deepEqual(payloads(r.drain(2)), ['a', '']);
      assert.equal(r.lastDrained, 2, 'the drain says how many records it returned');
      assert.deepEqual(payloads(r.drain(100)), ['ccc']);
      assert.equal(r.lastDrained, 1);
      assert.equal(r.drain(100), null);
      assert.equal(r.usedBytes(), 0);
      assert.equal(r.records(), 0);
    });

    test('an emptied ring starts its next lap early: a trickle through a 1 MiB ring reuses its first 64 KiB, so its other pages are never touched', () => {
      const sab = createRingMemory(1 << 20);
      const r = make(sab);
      const head = new Int32Array(sab, 0, RING_HEADER / 4);
      let furthest = 0;
      for (let i = 0; i < 20_000; i++) {
        // Two records, then one drained, then the other: the ring is empty before each push pair.
        assert.equal(r.push(rec(`${i}:`.padEnd(100 + (i % 50), 'y')), 'drop_newest'), 'queued');
        assert.equal(r.push(rec(`${i}!`), 'drop_newest'), 'queued');
        assert.deepEqual(payloads(r.drain(1)), [`${i}:`.padEnd(100 + (i % 50), 'y')]);
        assert.deepEqual(payloads(r.drain(5)), [`${i}!`]);
        furthest = Math.max(furthest, Atomics.load(head, HEAD_WORD) % (1 << 20));
      }
      assert.ok(furthest < 65536 + 400, `the head went up to ${furthest}`);
      assert.equal(r.usedBytes(), 0);
      assert.equal(r.counters().dropped, 0);
    });

    test('wrap-around: records of varying size cross the end many times, intact and in order', () => {
      const r = make(createRingMemory(1024));
      let next = 0;
      let expect = 0;
      for (let round = 0; round < 200; round++) {
        for (let i = 0; i < 5; i++) {
          const body = `${next}:`.padEnd(1 + ((next * 7) % 90), 'x');
          assert.equal(r.push(rec(body), 'block'), 'queued', `push ${next}`);
          next++;
        }
        // 4–6 of 5: a small backlog is left now and then, so records cross the end (not only
        // the early rewind of an emptied ring).
        for (const p of payloads(r.drain(4 + (round % 3)))) {
          const seq = Number(p.split(':')[0]);
          assert.equal(seq, expect++);
          assert.equal(p, `${seq}:`.padEnd(1 + ((seq * 7) % 90), 'x'));
        }
      }
      for (const p of payloads(r.drain(1e6))) assert.equal(Number(p.split(':')[0]), expect++);
      assert.equal(expect, next);
      assert.equal(r.usedBytes(), 0);
    });

    test('when full: block refuses (counted), drop_newest drops the new one, drop_oldest evicts the oldest', () => {
      const r = make(createRingMemory(1024));
      const body = Buffer.alloc(100, 0x41);
      let n = 0;
      while (r.push(Buffer.concat([Buffer.from(String(n).padStart(4, '0')), body]), 'block') === 'queued') n++;
      assert.ok(n >= 8 && n <= 10, `fits ${n}`);
      assert.equal(r.counters().full, 1);
      assert.equal(r.push(Buffer.concat([Buffer.from('LAST'), body]), 'drop_newest'), 'dropped');
      assert.equal(r.counters().dropped, 1);
      assert.equal(r.push(Buffer.concat([Buffer.from('NEW!'), body]), 'drop_oldest'), 'evicted');
      assert.ok(r.counters().evicted >= 1);
      const got = payloads(r.drain(1000)).map((p) => p.slice(0, 4));
      assert.equal(got.at(-1), 'NEW!');
      assert.notEqual(got[0], '0000', 'the oldest was evicted');
      assert.equal(got.length + r.counters().evicted - 1, n, 'every record is either delivered or counted as evicted');
    });

    test('a record over half the capacity is refused as oversize whatever the policy; nothing else is disturbed', () => {
      const r = make(createRingMemory(4096));
      r.push(rec('keep'), 'block');
      assert.equal(r.maxRecordBytes, 2044);
      assert.equal(r.push(Buffer.alloc(2045), 'drop_oldest'), 'oversize');
      assert.equal(r.push(Buffer.alloc(1024 * 1024), 'block'), 'oversize');
      assert.equal(r.push(Buffer.alloc(2044, 7), 'block'), 'queued');
      assert.equal(r.counters().oversize, 2);
      const got = payloads(r.drain(10));
      assert.deepEqual(got.map((p) => p.length), [4, 2044]);
    });

    test('batch push/drain moves thousands of records per call; block stops at the first that does not fit', () => {
      const r = make(createRingMemory(1 << 20));
      const recs = Array.from({ length: 5000 }, (_, i) => rec(`record number ${i}`));
      const frames = frameRecords(recs);
      assert.equal(r.pushFrames(frames, 'block'), frames.length);
      const out = r.drain(100_000)!;
      assert.equal(forEachFrame(out, () => {}), 5000);
      assert.ok(out.equals(frames), 'drained frames equal pushed frames');
      const small = make(createRingMemory(1024));
      const used = small.pushFrames(frames, 'block');
      assert.ok(used > 0 && used < frames.length);
      assert.equal(payloads(small.drain(1e6)).length, small.counters().pushed);
      assert.deepEqual(payloads(small.drain(1)), []);
      assert.ok(small.pushFrames(frames.subarray(used), 'block') > 0, 'resumes where it stopped');
    });

    test('drain respects maxBytes (but always moves at least one record)', () => {
      const r = make(createRingMemory(8192));
      for (let i = 0; i < 10; i++) r.push(Buffer.alloc(100, i), 'block');
      assert.equal(payloads(r.drain(100, 250)).length, 2);
      assert.equal(payloads(r.drain(100, 10)).length, 1);
    });

    for (const policy of ['block', 'drop_oldest'] as const) {
      test(`concurrent producer (worker thread) and consumer, ${policy}: no torn record, order kept, every record accounted for`, async () => {
        const sab = createRingMemory(16 * 1024);
        const r = make(sab);
        const count = 100_000;
        const worker = new Worker(new URL('./fixtures/ring-producer.ts', import.meta.url), { workerData: { shared: sab, impl: name, count, policy, batch: 257 } });
        let done = false;
        const finished = new Promise<void>((resolve, reject) => {
          worker.once('message', () => ((done = true), resolve()));
          worker.once('error', reject);
        });
        let last = -1;
        let got = 0;
        const check = (frames: Buffer | null) =>
          frames &&
          forEachFrame(frames, (p) => {
            const seq = p.readUInt32LE(0);
            assert.equal(p.length, 4 * (1 + (seq % 37)), `record ${seq} has the wrong size`);
            for (let i = 4; i < p.length; i += 4) assert.equal(p.readUInt32LE(i), seq, `record ${seq} is torn`);
            assert.ok(seq > last, `out of order: ${seq} after ${last}`);
            if (policy === 'block') assert.equal(seq, last + 1, 'block loses nothing');
            last = seq;
            got++;
          });
        while (!done) {
          check(r.drain(500));
          await new Promise((res) => setImmediate(res));
        }
        await finished;
        check(r.drain(1e9));
        await worker.terminate();
        const c = r.counters();
        assert.equal(c.pushed, count, JSON.stringify(c));
        assert.equal(c.drained, got, JSON.stringify(c));
        assert.equal(got + c.evicted, count, JSON.stringify(c));
        if (policy === 'block') assert.equal(got, count);
        assert.equal(c.dropped, 0);
      });
    }
  });
}

test('the two implementations share one layout: native writes, JS reads, and back', () => {
  const sab = createRingMemory(2048);
  const n = new NativeRing(sab);
  const j = new JsRing(sab);
  for (let i = 0; i < 300; i++) {
    const w = i % 2 ? n : j;
    const rd = i % 2 ? j : n;
    assert.equal(w.push(rec(`m${i}`.padEnd(1 + (i % 50), '.')), 'block'), 'queued');
    if (i % 3 === 2) assert.equal(payloads(rd.drain(3)).length, 3);
  }
  assert.equal(j.drain(1000), null);
  const c = n.counters();
  assert.equal(c.pushed, 300);
  assert.equal(c.drained, 300, 'every record written by one implementation was read by the other');
});
