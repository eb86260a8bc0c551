/**
 * Fuzzing the aggregator's port with frames: garbage before HELLO, mangled HELLOs, and an
 * authenticated peer sending mutated BATCH frames (bit flips in header and body, wrong count and
 * raw size, bad deflate, truncation) and frames of every type. Between them a well-behaved node
 * stores numbered canary batches: the aggregator must stay up and serving, acknowledge every
 * canary batch, and hold every acknowledged canary entry. The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { encodeBatch, encodeBodySync, encodeHello, encodePing, encodePong, encodeAck, encodeWelcome, encodeError, joinLines } from '../../protocol/index.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { RawAgent, startAggregator, storedEntries } from '../aggregator/helpers.ts';
import { canary, fuzzer, hostileLine, withSeed, type Fuzz } from './fuzz.ts';

const ENTRY = (message: string) => ({ timestamp: '2026-01-01T00:00:00.000Z', level: 'INFO', module: 'FUZZ', message });

/** Writes the frames, then ends; resolves when the aggregator closed or after a short bound. */
async function session(port: number, parts: Buffer[]): Promise<void> {
  const s: Socket = connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.on('data', () => {});
  try {
    await Promise.race([once(s, 'connect'), once(s, 'close')]);
    for (const p of parts) {
      if (s.destroyed) break;
      s.write(p);
    }
    s.end();
    await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 2000))]);
  } finally {
    s.destroy();
  }
}

function mutate(f: Fuzz, frame: Buffer): Buffer {
  const b = Buffer.from(frame);
  switch (f.int(5)) {
    case 0: for (let i = 1 + f.int(4); i > 0; i--) b[f.int(b.length)] ^= 1 << f.int(8); return b;
    case 1: return b.subarray(0, f.int(b.length));
    case 2: b.writeUInt32BE(f.pick([0, 1, 4, 0xffffffff, b.length + f.int(100), Math.max(1, b.length - 6)]), 0); return b;
    case 3: return Buffer.concat([b, f.bytes(f.int(64))]);
    default: return b;
  }
}

function batchFrame(f: Fuzz, seq: number): Buffer {
  const lines = Array.from({ length: 1 + f.int(5) }, () => (f.chance(0.5) ? JSON.stringify(ENTRY('fuzz')) : hostileLine(f).toString('utf8')));
  const body = encodeBodySync(joinLines(lines), lines.length, f.pick(['none', 'deflate'] as const));
  const count = f.chance(0.2) ? f.int(10) : body.count;
  const raw = f.chance(0.2) ? f.pick([0, 1, 2 ** 31, body.rawBytes + 1]) : body.rawBytes;
  return encodeBatch(seq, body.codec, count, raw, f.chance(0.1) ? f.bytes(body.body.length) : body.body);
}

function otherFrame(f: Fuzz): Buffer {
  switch (f.int(6)) {
    case 0: return encodePing(f.int(2 ** 31));
    case 1: return encodePong(f.int(2 ** 31));
    case 2: return encodeAck(f.int(1000));
    case 3: return encodeWelcome(f.int(1000), 1024);
    case 4: return encodeError(f.int(20), hostileLine(f).toString('utf8').slice(0, 500));
    default: {
      const payload = f.bytes(f.int(40));
      const h = Buffer.alloc(5);
      h.writeUInt32BE(payload.length + 1, 0);
      h[4] = f.int(256);
      return Buffer.concat([h, payload]);
    }
  }
}

test('fuzz: frames to the aggregator (garbage, mangled HELLOs, mutated BATCHes from an authenticated peer): it stays up, and every acknowledged canary batch is stored', async (t) => {
  const f = fuzzer(t, 8, 1);
  const dir = tempDir('logloom-fuzz-agg-');
  const tokens = join(dir, 'tokens');
  const tok = async (node: string) => (await runCli(['aggregator', 'token', node, '--tokens', tokens, '--hash', 'sha256'])).stdout.trim();
  const fuzzToken = await tok('fuzz-node');
  const canaryToken = await tok('canary');
  const agg = await startAggregator('', dir, `    auth:\n      tokens_file: DIR/tokens\n`);
  try {
    await withSeed(f, async () => {
      const acked: string[] = [];
      let canarySeq = 0;
      let fuzzSeq = 0;
      const deadline = Date.now() + f.budgetMs;
      for (let round = 0; Date.now() < deadline; round++) {
        switch (f.int(3)) {
          case 0: // garbage before or instead of HELLO
            await session(agg.port, [f.chance(0.5) ? f.bytes(f.int(300)) : mutate(f, otherFrame(f))]);
            break;
          case 1: { // a mangled HELLO
            const node = f.chance(0.5) ? f.pick(['fuzz-node', 'canary', '', '../etc', 'a'.repeat(300), 'n\u0000de']) : hostileLine(f).toString('utf8').slice(0, 200);
            const hello = encodeHello(node, f.chance(0.5) ? fuzzToken : hostileLine(f).toString('utf8').slice(0, 100), f.pick([1, 0, 2, 65535]));
            await session(agg.port, [f.chance(0.7) ? hello : mutate(f, hello), ...(f.chance(0.5) ? [batchFrame(f, 1)] : [])]);
            break;
          }
          default: { // an authenticated peer sending mutated frames
            const frames: Buffer[] = [encodeHello('fuzz-node', fuzzToken)];
            for (let i = 1 + f.int(6); i > 0; i--) {
              fuzzSeq += f.chance(0.9) ? 1 : f.int(1000);
              frames.push(f.chance(0.6) ? mutate(f, batchFrame(f, fuzzSeq)) : mutate(f, otherFrame(f)));
            }
            await session(agg.port, frames);
          }
        }
        if (round % 10 === 9) {
          // A well-behaved node between the attacks: its batch must be acknowledged (the aggregator still serves).
          const c = await RawAgent.connect(agg.port);
          try {
            const w = await c.hello('canary', canaryToken);
            assert.equal(w.type, 'WELCOME', `the canary node was refused: ${JSON.stringify(w)}`);
            const msg = canary('agg', ++canarySeq);
            const a = await c.batch(canarySeq, [ENTRY(msg)]);
            assert.deepEqual(a, { type: 'ACK', seq: canarySeq }, `canary batch ${canarySeq}`);
            acked.push(msg);
          } finally {
            await c.end();
          }
        }
      }
      assert.equal(agg.proc.exitCode, null, 'the aggregator is alive');
      const stored = new Set(storedEntries(agg.store, 'canary').map((e) => e.message));
      const missing = acked.filter((m) => !stored.has(m));
      assert.deepEqual(missing, [], `every acknowledged canary is stored (${acked.length} acknowledged)`);
      assert.ok(acked.length >= 1, 'at least one canary round ran');
      t.diagnostic(`${acked.length} canary batches acknowledged and stored`);
    });
  } finally {
    await agg.stop();
  }
});
