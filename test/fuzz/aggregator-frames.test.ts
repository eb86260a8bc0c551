/**
 * Fuzzing a real `logloom aggregator` with frames: random bytes, frames of every type with broken
 * lengths and fields, and BATCHes of hostile NDJSON lines (deflated or not, with wrong counts,
 * sizes and sequence numbers) from many nodes, while a good agent keeps sending. The aggregator
 * must stay alive and keep serving the good agent, and nothing it acknowledged may be missing:
 * for every node, the store holds exactly the entries of the batches it ACKed, each a JSON object
 * carrying that node and its batch's seq. The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  BatchCodec, decodeMessage, encodeBatch, encodeBodySync, encodeError, encodeHello, encodePing, FrameDecoder, type Message,
} from '../../protocol/index.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { entries, RawAgent, startAggregator, storedEntries } from '../aggregator/helpers.ts';
import { fuzzer, hostileLine, withSeed, type Fuzz } from './fuzz.ts';

const GOOD = (i: number) => Buffer.from(JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', level: 'INFO', module: 'FZ', message: `ok ${i}` }));

/** An entry as a JSON object whose values are hostile text (from a hostile line) and odd types. */
function nastyEntry(f: Fuzz): Buffer {
  const text = () => hostileLine(f).toString('utf8');
  const o: Record<string, unknown> = {};
  if (f.chance(0.8)) o.timestamp = f.pick(['2026-01-01T00:00:00.000Z', text(), 1767225600, '2026-02-30T00:00:00.000Z']);
  if (f.chance(0.8)) o.level = f.pick(['INFO', 'ERROR', 'warning', text()]);
  if (f.chance(0.8)) o.module = f.chance(0.5) ? 'FZ' : text();
  o[f.chance(0.9) ? 'message' : 'msg'] = f.chance(0.8) ? text() : { nested: text() };
  if (f.chance(0.3)) o.args = [text(), f.int(100), f.chance(0.5)];
  if (f.chance(0.3)) o.fields = { [text().slice(0, 10)]: text(), n: f.int(10) };
  if (f.chance(0.2)) o.seq = f.int(1e9);
  if (f.chance(0.2)) o.node = text();
  return Buffer.from(JSON.stringify(o));
}

/** One fuzz connection: sends frames, collects what comes back until the aggregator closes or we do. */
async function session(port: number, frames: Buffer[], split: boolean, maxSeq: number): Promise<Message[]> {
  const s: Socket = connect(port, '127.0.0.1');
  s.on('error', () => {});
  await Promise.race([once(s, 'connect'), once(s, 'close')]);
  const got: Message[] = [];
  const dec = new FrameDecoder(64 * 1024 * 1024);
  s.on('data', (d: Buffer) => {
    try {
      for (const f of dec.push(d)) got.push(decodeMessage(f.type, f.payload));
    } catch {
      s.destroy();
    }
  });
  const all = Buffer.concat(frames);
  if (split) for (let i = 0; i < all.length; i += 7) s.write(all.subarray(i, i + 7));
  else s.write(all);
  // Wait for the answer to everything: the close, or the PONG of a final PING and the ACK of the
  // last batch (a PONG is sent at once, an ACK only once the batch is stored).
  s.write(encodePing(424242));
  const done = new Promise<void>((resolve) => {
    const answered = () => got.some((m) => m.type === 'PONG' && m.nonce === 424242) && (maxSeq === 0 || got.some((m) => m.type === 'ACK' && m.seq >= maxSeq));
    s.on('data', () => answered() && resolve());
    s.once('close', () => resolve());
  });
  const timer = setTimeout(() => s.destroy(), 15_000);
  await done;
  clearTimeout(timer);
  s.destroy();
  return got;
}

function batchFrame(f: Fuzz, seq: number, lines: Buffer[]): { frame: Buffer; count: number } {
  const raw = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
  const b = encodeBodySync(raw, lines.length, f.chance(0.5) ? 'deflate' : 'none');
  let count = b.count, rawBytes = b.rawBytes, codec: number = b.codec;
  let body = b.body;
  if (f.chance(0.05)) count += f.pick([-1, 1, 1000]);
  if (f.chance(0.05)) rawBytes += f.pick([-1, 1, 1 << 30]);
  if (f.chance(0.03)) codec = f.int(4);
  if (f.chance(0.05) && body.length) body = Buffer.from(body.map((x, i) => (i === f.int(body.length) ? f.int(256) : x)));
  return { frame: encodeBatch(seq, codec as typeof BatchCodec.NONE, Math.max(0, count), Math.max(0, rawBytes), body), count: lines.length };
}

test('fuzz: frames to a real aggregator — it stays up, keeps serving, and stores exactly what it acknowledged', async (t) => {
  const f = fuzzer(t, 6, 7);
  const dir = tempDir('logloom-fuzz-agg-');
  const agg = await startAggregator('', dir, '    hello_timeout: 2s\n    max_pending_per_address: 1000\n    max_pending_handshakes: 1000\n    auth:\n      mode: none\n');
  const good = await RawAgent.connect(agg.port);
  try {
    await withSeed(f, async () => {
      assert.equal((await good.hello('fz-good', '')).type, 'WELCOME');
      let goodSeq = 0;
      /** node → [batch seq, entries] sent, and the highest ACK seen. */
      const sent = new Map<string, { batches: [number, number][]; acked: number }>();
      const deadline = Date.now() + f.budgetMs;
      let cases = 0;
      for (let k = 0; Date.now() < deadline || k < 20; k++) {
        cases++;
        const node = `fz-${k}`;
        const frames: Buffer[] = [];
        const mine: [number, number][] = [];
        const kind = f.int(10);
        if (kind === 0) frames.push(f.bytes(1 + f.int(300)));
        else {
          if (kind !== 1) frames.push(encodeHello(node, f.chance(0.05) ? 'x'.repeat(f.int(5000)) : '', f.chance(0.05) ? f.int(3) : 1));
          let seq = 0;
          for (let b = f.int(6); b >= 0; b--) {
            const what = f.int(12);
            if (what === 0) frames.push(f.bytes(f.int(40)));
            else if (what === 1) frames.push(encodeError(f.int(20), hostileLine(f).toString('utf8')));
            else if (what === 2) {
              // A frame header with any type and a length that may lie.
              const h = Buffer.alloc(5 + f.int(20));
              h.writeUInt32BE(f.chance(0.5) ? h.length - 4 : f.int(2 ** 32), 0);
              h[4] = f.int(256);
              frames.push(h);
            } else {
              seq = Math.min(Number.MAX_SAFE_INTEGER, f.chance(0.05) ? f.pick([0, seq, seq + 200_000_000, Number.MAX_SAFE_INTEGER]) : seq + 1 + (f.chance(0.1) ? f.int(1000) : 0));
              // Mostly JSON objects with hostile content (stored, through the scanner or the rebuild);
              // in some batches also raw hostile lines (the batch is then usually refused).
              const raw = f.chance(0.3);
              const lines = Array.from({ length: 1 + f.int(20) }, (_, i) => (raw && f.chance(0.3) ? hostileLine(f) : f.chance(0.4) ? GOOD(i) : nastyEntry(f)));
              const bf = batchFrame(f, seq, lines);
              frames.push(bf.frame);
              mine.push([seq, bf.count]);
            }
          }
        }
        const got = await session(agg.port, frames, f.chance(0.2), Math.max(0, ...mine.map(([seq]) => seq)));
        const acked = Math.max(0, ...got.filter((m) => m.type === 'ACK').map((m) => (m as { seq: number }).seq));
        if (mine.length) sent.set(node, { batches: mine, acked });
        // The good agent is still served after every case.
        goodSeq++;
        assert.deepEqual(await good.batch(goodSeq, entries(2, goodSeq * 2)), { type: 'ACK', seq: goodSeq });
        assert.equal(agg.proc.exitCode, null, 'the aggregator died');
      }
      t.diagnostic(`${cases} fuzz connections`);
      // Nothing acknowledged is missing; what is stored is whole batches that were sent, once each.
      // (A batch stored just as its connection closed may lack its ACK: stored, not acknowledged, fine.)
      let totalAcked = 0;
      for (const [node, { batches, acked }] of sent) {
        const stored = storedEntries(agg.store, node);
        let last = 0;
        let ackedEntries = 0;
        const counts = new Map<number, number>();
        for (const [seq, count] of batches) {
          if (seq <= last) continue; // a replay: acknowledged or refused, never stored twice
          if (!counts.has(seq)) counts.set(seq, count);
          if (seq <= acked) ackedEntries += count;
          last = seq;
        }
        totalAcked += ackedEntries;
        assert.ok(stored.length >= ackedEntries, `node ${node}: stored ${stored.length} entries, acknowledged ${ackedEntries} (batches ${JSON.stringify(batches)}, ACK ${acked})`);
        const perSeq = new Map<number, number>();
        for (const e of stored) {
          assert.equal(e.node, node);
          perSeq.set(e.seq as number, (perSeq.get(e.seq as number) ?? 0) + 1);
        }
        for (const [seq, n] of perSeq) assert.equal(n, counts.get(seq), `node ${node}: batch ${seq} stored ${n} entries, sent ${counts.get(seq)}`);
      }
      t.diagnostic(`${totalAcked} fuzzed entries acknowledged and found in the store`);
      assert.ok(totalAcked > 0, 'no fuzz batch was ever stored: the fuzzer only exercised refusals');
      const st = await runCli(['status', '--socket', agg.control, '--json']);
      assert.equal(st.code, 0, st.stderr);
      assert.equal((JSON.parse(st.stdout) as { nodes: { name: string; entries: number }[] }).nodes.find((n) => n.name === 'fz-good')?.entries, goodSeq * 2);
    });
  } finally {
    await good.end();
    await agg.stop();
  }
});
