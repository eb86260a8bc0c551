import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { BatchCodec, encodeBatch, encodeError, encodeHello, ErrorCode, joinLines } from '../../protocol/index.ts';
import { TokenStore } from '../../aggregator/auth.ts';
import { peerText } from '../../aggregator/peer-text.ts';
import { sourceKey } from '../../aggregator/server.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { entries, RawAgent, startAggregator, storedEntries, type RunningAggregator } from './helpers.ts';

/** A raw TCP connection from `from` that says nothing and reads nothing (a slowloris peer). */
async function silent(port: number, from: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => {});
  await Promise.race([once(s, 'connect'), once(s, 'close')]);
  s.pause();
  return s;
}

async function status(agg: RunningAggregator): Promise<{ rejected: Record<string, number>; connections: number; pending_handshakes: number }> {
  const st = await runCli(['status', '--socket', agg.control, '--json']);
  assert.equal(st.code, 0, st.stderr);
  return JSON.parse(st.stdout) as never;
}

/** GET /healthz over one kept-alive connection (so it works even when the process has no fd left to accept a new one). */
function healthz(agent: Agent, port: number): Promise<{ code: number; body: { status: string; reason?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ code: res.statusCode!, body: JSON.parse(text) as never }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('aggregator under hostile clients', () => {
  const dir = tempDir('logloom-agg-hostile-');
  let agg: RunningAggregator;
  let token: string;

  before(async () => {
    token = (await runCli(['aggregator', 'token', 'gw-h', '--tokens', join(dir, 'tokens')])).stdout.trim();
    agg = await startAggregator('', dir,
      '    max_connections: 2\n    max_pending_handshakes: 8\n    max_pending_per_address: 3\n    max_seq_jump: 1000\n    auth:\n      tokens_file: DIR/tokens\n');
  });
  after(async () => {
    await agg?.stop();
  });

  it('an ERROR frame cannot forge log lines or send escape sequences to the operator\'s terminal', async () => {
    const s = await silent(agg.port, '127.0.0.1');
    s.resume();
    s.write(encodeError(ErrorCode.BAD_FRAME, 'boom\n[ERROR] forged: node gw-h deleted\r\x1b[2J\x1b[31mred\u202eevil\u2028next'));
    await once(s, 'close');
    const line = await agg.stderr.waitFor(/sent ERROR 1: boom/);
    assert.ok(!agg.stderr.lines.some((l) => l.startsWith('[ERROR] forged')), 'a forged line reached the log');
    assert.ok(!/[\x00-\x1f\u202e\u2028]/.test(line), JSON.stringify(line));
    assert.match(line, /boom\\u000a\[ERROR\] forged: node gw-h deleted\\u000d\\u001b\[2J\\u001b\[31mred\\u202eevil\\u2028next/);
    assert.equal(peerText('a\u0085b\u200fc'), 'a\\u0085b\\u200fc');
  });

  it('connections that never finish HELLO, from one address or many, do not lock an authenticated node out', async () => {
    // Before the fix, these counted against max_connections (2 here): the node got ERROR BUSY.
    const flood: Socket[] = [];
    for (let i = 0; i < 12; i++) flood.push(await silent(agg.port, '127.0.0.2'));
    for (let a = 3; a < 13; a++) for (let i = 0; i < 2; i++) flood.push(await silent(agg.port, `127.0.0.${a}`));
    const st = await status(agg);
    assert.ok(st.pending_handshakes <= 8, `pending ${st.pending_handshakes}`);
    assert.ok(st.rejected.pending_per_address! >= 9, JSON.stringify(st.rejected));
    assert.ok(st.rejected.pending_evicted! >= 1, JSON.stringify(st.rejected));
    const node = await RawAgent.connect(agg.port, undefined, '127.0.0.1');
    const w = await node.hello('gw-h', token);
    assert.equal(w.type, 'WELCOME', JSON.stringify(w));
    assert.deepEqual(await node.batch(1, entries(3)), { type: 'ACK', seq: 1 });
    await node.end();
    for (const s of flood) s.destroy();
    assert.deepEqual(storedEntries(agg.store, 'gw-h').map((e) => e.message), ['m0', 'm1', 'm2']);
  });

  it('pending connections are counted per IPv4 address and per IPv6 /64 (one host holds a whole /64)', () => {
    assert.equal(sourceKey('10.1.2.3'), '10.1.2.3');
    assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8::5'), '2001:db8:0:0::/64');
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
    assert.notEqual(sourceKey('2001:db8:1:2::1'), sourceKey('2001:db8:1:3::1'));
  });

  it('a batch whose seq jumps implausibly far (2^53-1) is refused with ERROR SEQUENCE_JUMP; the node goes on from its last seq', async () => {
    const c = await RawAgent.connect(agg.port);
    const w = await c.hello('gw-h', token);
    assert.equal(w.type === 'WELCOME' && w.lastSeq, 1);
    c.sendBatch(Number.MAX_SAFE_INTEGER, entries(1, 100));
    const e = await c.waitFor((m) => m.type === 'ERROR');
    assert.equal(e.type === 'ERROR' && e.code, ErrorCode.SEQUENCE_JUMP);
    assert.match(e.type === 'ERROR' ? e.text : '', /^BATCH seq 9007199254740991 is 9007199254740990 past the last seq 1 \(max_seq_jump 1000\); renumber unacknowledged batches from 2$/);
    await c.closed;
    const again = await RawAgent.connect(agg.port);
    assert.equal((await again.hello('gw-h', token)).type === 'WELCOME' && again.received[0]!.type === 'WELCOME' && (again.received[0] as { lastSeq: number }).lastSeq, 1);
    // A jump of exactly max_seq_jump is a gap an agent may leave (restarts): accepted.
    assert.deepEqual(await again.batch(1001, entries(1, 3)), { type: 'ACK', seq: 1001 });
    await again.end();
    assert.deepEqual(storedEntries(agg.store, 'gw-h').map((x) => [x.message, x.seq]), [['m0', 1], ['m1', 1], ['m2', 1], ['m3', 1001]]);
    assert.equal((await status(agg)).rejected.sequence_jump, 1);
  });

  it('deflate bodies that lie (inflate past or short of raw_bytes, truncated, corrupt) are refused with BAD_BATCH; nothing of them is stored', async () => {
    const before = storedEntries(agg.store, 'gw-h').length;
    const raw = joinLines(entries(50, 0, { module: 'LIE' }).map((e) => JSON.stringify(e)));
    const body = deflateSync(raw, { level: 1 });
    const lies: [string, Buffer, number][] = [
      ['past raw_bytes', body, raw.length - 10],
      ['short of raw_bytes', body, raw.length + 10],
      ['truncated', body.subarray(0, body.length >> 1), raw.length],
      ['corrupt', Buffer.from('definitely not zlib'), raw.length],
    ];
    for (const [what, b, rawBytes] of lies) {
      const c = await RawAgent.connect(agg.port);
      const w = await c.hello('gw-h', token);
      assert.equal(w.type, 'WELCOME', what);
      const seq = (w as { lastSeq: number }).lastSeq + 1;
      c.socket.write(encodeBatch(seq, BatchCodec.DEFLATE, 50, rawBytes, b));
      const e = await c.waitFor((m) => m.type === 'ERROR');
      assert.equal(e.type === 'ERROR' && e.code, ErrorCode.BAD_BATCH, what);
      assert.match(e.type === 'ERROR' ? e.text : '', new RegExp(`^BATCH ${seq}: (deflate body does not inflate within raw_bytes|inflated to \\d+ bytes, header says ${rawBytes})`), what);
      await c.closed;
    }
    // The node goes on: an honest batch after the lies is stored, and only it.
    const c = await RawAgent.connect(agg.port);
    const w = await c.hello('gw-h', token);
    const seq = (w as { lastSeq: number }).lastSeq + 1;
    assert.deepEqual(await c.batch(seq, entries(2, 0, { module: 'HONEST' })), { type: 'ACK', seq });
    await c.end();
    const now = storedEntries(agg.store, 'gw-h');
    assert.equal(now.length, before + 2);
    assert.equal(now.filter((x) => x.module === 'LIE').length, 0);
  });

  it('a known and an unknown node id cost the same work (one scrypt each): no timing oracle', async () => {
    const file = join(dir, 'tokens-timing');
    await runCli(['aggregator', 'token', 'gw-s', '--tokens', file]);
    const sha = (await runCli(['aggregator', 'token', 'gw-fast', '--tokens', file, '--hash', 'sha256'])).stdout.trim();
    const t = new TokenStore(file, () => {});
    const runs = async (node: string, tok: string) => {
      const before = t.kdfRuns;
      const ok = await t.verify(node, tok);
      return { ok, kdf: t.kdfRuns - before };
    };
    assert.deepEqual(await runs('gw-unknown', 'x'), { ok: false, kdf: 1 });
    assert.deepEqual(await runs('gw-s', 'wrong'), { ok: false, kdf: 1 });
    assert.deepEqual(await runs('gw-fast', 'wrong'), { ok: false, kdf: 1 });
    assert.deepEqual(await runs('gw-fast', sha), { ok: true, kdf: 1 });
    // A remembered success is fast, but only the right token can hit it.
    assert.deepEqual(await runs('gw-fast', sha), { ok: true, kdf: 0 });
    assert.deepEqual(await runs('gw-fast', 'wrong'), { ok: false, kdf: 1 });
  });

  it('after BUSY refusals and peers that never read, SIGTERM still stops the aggregator within its grace', async () => {
    const d = tempDir('logloom-agg-term-');
    const tok = (await runCli(['aggregator', 'token', 'gw-t', '--tokens', join(d, 'tokens'), '--hash', 'sha256'])).stdout.trim();
    const a = await startAggregator('  shutdown_grace: 1s\n', d, '    max_connections: 1\n    max_pending_per_address: 1000\n    max_pending_handshakes: 1000\n    auth:\n      tokens_file: DIR/tokens\n');
    try {
      const held = await RawAgent.connect(a.port);
      assert.equal((await held.hello('gw-t', tok)).type, 'WELCOME');
      // Peers that authenticate and are refused BUSY (the limit is 1), then neither read nor close.
      const refused: Socket[] = [];
      for (let i = 0; i < 40; i++) {
        const s = await silent(a.port, '127.0.0.20');
        s.write(encodeHello('gw-t', tok));
        refused.push(s);
      }
      refused.push(...(await Promise.all(Array.from({ length: 40 }, () => silent(a.port, '127.0.0.21')))));
      await a.stderr.waitFor(/busy: the aggregator is at its connection limit/);
      held.socket.pause();
      const t0 = Date.now();
      a.proc.kill('SIGTERM');
      const bound = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref());
      const res = await Promise.race([a.exited, bound]);
      assert.notEqual(res, 'hung', 'the aggregator did not stop after SIGTERM');
      assert.deepEqual(res, { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 15_000);
      await a.stderr.waitFor(/aggregator stopped/);
      for (const s of refused) s.destroy();
    } finally {
      a.proc.kill('SIGKILL');
    }
  });

  it('/healthz says 503 "stopping" as soon as the listener stops accepting, while connections drain', async () => {
    const d = tempDir('logloom-agg-health-');
    const a = await startAggregator('  shutdown_grace: 3s\n', d, '    auth:\n      mode: none\n');
    const keep = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const line = await a.stderr.waitFor(/metrics and health at/);
      const port = Number(/metrics and health at https?:\/\/[^\s:]+:(\d+)/.exec(line)![1]);
      assert.deepEqual(await healthz(keep, port), { code: 200, body: { status: 'ok' } });
      // An agent that stops reading keeps the aggregator draining for up to its grace.
      const c = await RawAgent.connect(a.port);
      assert.equal((await c.hello('gw-e', '')).type, 'WELCOME');
      c.socket.pause();
      a.proc.kill('SIGTERM');
      // Polled (bounded) until it changes: the window lasts until the paused agent is cut off.
      let h = await healthz(keep, port);
      for (const deadline = Date.now() + 20_000; h.code === 200 && Date.now() < deadline;) h = await healthz(keep, port);
      assert.deepEqual(h, { code: 503, body: { status: 'stopping', reason: 'the aggregator is stopping' } });
      assert.deepEqual(await a.exited, { code: 0, signal: null });
    } finally {
      keep.destroy();
      a.proc.kill('SIGKILL');
    }
  });
});
