import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { connect } from 'node:net';
import { decodeMessage, encodeAck, encodeWelcome, ErrorCode, FrameDecoder, ProtocolError, type Message } from '../../protocol/index.ts';
import { startAgent } from '../helpers/agent.ts';
import { rng } from '../helpers/rng.ts';

/**
 * STATS (protocol revision 2): a real agent reports its version, drops and spool backlog to an
 * aggregator whose WELCOME announces revision 2, and sends nothing new to one that announces 1
 * (an aggregator from before STATS, which would refuse the unknown frame).
 */
async function session(revision: number): Promise<Message[]> {
  const frames: Message[] = [];
  let sawBatch: () => void;
  const batch = new Promise<void>((r) => (sawBatch = r));
  let sawStats: () => void;
  const stats = new Promise<void>((r) => (sawStats = r));
  const server = createServer((s: Socket) => {
    const d = new FrameDecoder(1 << 24);
    s.on('error', () => {});
    s.on('data', (chunk) => {
      for (const f of d.push(chunk)) {
        const m = decodeMessage(f.type, f.payload);
        frames.push(m);
        if (m.type === 'HELLO') s.write(encodeWelcome(0, 1 << 24, revision));
        if (m.type === 'BATCH') {
          s.write(encodeAck(m.seq));
          sawBatch();
        }
        if (m.type === 'STATS') sawStats();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const agent = await startAgent(
    `  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n  plugins:\n    enabled: [log_aggregator_remote]\n    config:\n      log_aggregator_remote:\n` +
    `        addresses: ["127.0.0.1:${port}"]\n        batch_max_ms: 20ms\n        ping_interval: 200ms\n`);
  try {
    const s = connect(agent.ingest);
    await once(s, 'connect');
    s.end(JSON.stringify({ level: 'INFO', message: 'one' }) + '\n');
    await batch;
    if (revision >= 2) await stats;
    else {
      // Wait for a PING after the batch: a STATS would have been sent right after WELCOME, before both.
      const pingsBefore = frames.filter((f) => f.type === 'PING').length;
      while (frames.filter((f) => f.type === 'PING').length < pingsBefore + 1) await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await agent.stop();
    server.close();
  }
  return frames;
}

test('an agent sends STATS (version, drops, spool backlog) to an aggregator that announces revision 2', async () => {
  const frames = await session(2);
  const st = frames.find((f) => f.type === 'STATS');
  assert.ok(st && st.type === 'STATS');
  assert.equal(st.stats.version, '0.1.0');
  assert.equal(typeof st.stats.dropped, 'number');
  assert.equal(typeof st.stats.spool_entries, 'number');
  assert.equal(typeof st.stats.spool_bytes, 'number');
  assert.equal(frames.find((f) => f.type === 'HELLO')!.type === 'HELLO' && (frames.find((f) => f.type === 'HELLO') as { version: number }).version, 1, 'HELLO stays version 1');
});

test('an agent sends no STATS to an aggregator whose WELCOME says revision 1', async () => {
  const frames = await session(1);
  assert.ok(frames.some((f) => f.type === 'BATCH'));
  assert.equal(frames.filter((f) => f.type === 'STATS').length, 0);
});

test('fuzz: a STATS payload decodes to known fields of the right type, or is BAD_FRAME (seeded, bounded)', () => {
  const random = rng(0x57a75);
  const rnd = (n: number) => Math.floor(random() * n);
  const values = ['1', '-1', '1.5', '"x"', 'null', 'true', '[]', '{}', '9007199254740993', '"' + 'v'.repeat(100) + '"'];
  const keys = ['version', 'dropped', 'spool_entries', 'spool_bytes', 'other', ''];
  for (let i = 0; i < 5000; i++) {
    let p: Buffer;
    if (rnd(4) === 0) p = Buffer.from(Array.from({ length: rnd(64) }, () => rnd(256)));
    else p = Buffer.from(`{${Array.from({ length: rnd(5) }, () => `"${keys[rnd(keys.length)]}":${values[rnd(values.length)]}`).join(',')}}`);
    try {
      const m = decodeMessage(0x08, p);
      assert.equal(m.type, 'STATS');
      const s = (m as Extract<Message, { type: 'STATS' }>).stats;
      for (const [k, v] of Object.entries(s)) {
        if (k === 'version') assert.ok(typeof v === 'string' && v.length <= 64);
        else assert.ok(['dropped', 'spool_entries', 'spool_bytes'].includes(k) && Number.isSafeInteger(v) && (v as number) >= 0, `${k}=${v}`);
      }
    } catch (e) {
      assert.ok(e instanceof ProtocolError && e.code === ErrorCode.BAD_FRAME, String(e));
    }
  }
  assert.throws(() => decodeMessage(0x08, Buffer.alloc(5000, 0x20)), /above 4096/);
});
