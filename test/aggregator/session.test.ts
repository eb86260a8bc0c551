import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, FRAME_HEADER_BYTES } from '../../protocol/index.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { entries, RawAgent, startAggregator, storedEntries, type RunningAggregator } from './helpers.ts';

describe('logloom aggregator: sessions, token auth, dedup, bad input', () => {
  let agg: RunningAggregator;
  let token: string;
  let otherToken: string;
  const dir = tempDir('logloom-agg-');

  before(async () => {
    const a = await runCli(['aggregator', 'token', 'gw-1', '--tokens', join(dir, 'tokens')]);
    assert.equal(a.code, 0, a.stderr);
    token = a.stdout.trim();
    const b = await runCli(['aggregator', 'token', 'gw-2', '--tokens', join(dir, 'tokens'), '--hash', 'sha256']);
    assert.equal(b.code, 0, b.stderr);
    otherToken = b.stdout.trim();
    agg = await startAggregator('', dir, `    auth:\n      tokens_file: DIR/tokens\n`);
  });
  after(async () => {
    await agg?.stop();
  });

  it('the tokens file holds hashes, never the tokens', () => {
    const text = readFileSync(join(dir, 'tokens'), 'utf8');
    assert.match(text, /^gw-1 scrypt:16384:8:1:/m);
    assert.match(text, /^gw-2 sha256:[0-9a-f]{64}$/m);
    assert.ok(!text.includes(token) && !text.includes(otherToken));
  });

  it('stores a batch after HELLO/WELCOME and ACKs it; the node comes from authentication, not from the entries', async () => {
    const c = await RawAgent.connect(agg.port);
    const w = await c.hello('gw-1', token);
    assert.deepEqual(w, { type: 'WELCOME', version: 2, lastSeq: 0, maxFrameBytes: 16 * 1024 * 1024 });
    const ack = await c.batch(1, entries(3, 0, { node: 'forged-node', seq: 7 }));
    assert.deepEqual(ack, { type: 'ACK', seq: 1 });
    const stored = storedEntries(agg.store, 'gw-1');
    assert.deepEqual(stored.map((e) => e.message), ['m0', 'm1', 'm2']);
    assert.ok(stored.every((e) => e.node === 'gw-1'));
    // The entries said seq 7; the aggregator stores its own: the batch's sequence number.
    assert.ok(stored.every((e) => e.seq === 1), JSON.stringify(stored));
    assert.equal(existsSync(join(agg.store, 'forged-node')), false);
    await c.end();
  });

  it('a replayed batch is acknowledged but stored once; WELCOME carries the last stored sequence', async () => {
    const c = await RawAgent.connect(agg.port);
    const w = await c.hello('gw-1', token);
    assert.equal(w.type === 'WELCOME' && w.lastSeq, 1);
    // The agent did not see the ACK of 1 (say) and resends it, then continues.
    assert.deepEqual(await c.batch(1, entries(3, 0)), { type: 'ACK', seq: 1 });
    c.sendBatch(2, entries(2, 3), 'none');
    c.sendBatch(3, entries(2, 5));
    assert.deepEqual(await c.waitFor((m) => m.type === 'ACK' && m.seq === 3), { type: 'ACK', seq: 3 });
    assert.deepEqual(storedEntries(agg.store, 'gw-1').map((e) => e.message), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    await c.end();
  });

  it('a wrong token, an unknown node and protocol version 99 get a readable ERROR and store nothing', async () => {
    const wrong = await RawAgent.connect(agg.port);
    const e1 = await wrong.hello('gw-2', token);
    assert.equal(e1.type, 'ERROR');
    assert.equal(e1.type === 'ERROR' && e1.code, ErrorCode.AUTH_FAILED);
    wrong.sendBatch(1, entries(1)); // ignored: the connection is being closed
    await wrong.closed;

    const unknown = await RawAgent.connect(agg.port);
    const e2 = await unknown.hello('gw-9', token);
    assert.equal(e2.type === 'ERROR' && e2.code, ErrorCode.AUTH_FAILED);
    await unknown.closed;

    const v99 = await RawAgent.connect(agg.port);
    const e3 = await v99.hello('gw-2', otherToken, 99);
    assert.equal(e3.type === 'ERROR' && e3.code, ErrorCode.UNSUPPORTED_VERSION);
    assert.equal(e3.type === 'ERROR' && e3.text, 'protocol version 99 is not supported; this aggregator speaks 1');
    await v99.closed;

    const early = await RawAgent.connect(agg.port);
    early.sendBatch(1, entries(1));
    const e4 = await early.waitFor((m) => m.type === 'ERROR');
    assert.equal(e4.type === 'ERROR' && e4.code, ErrorCode.UNEXPECTED_FRAME);
    await early.closed;

    assert.equal(existsSync(join(agg.store, 'gw-2')), false);
    assert.equal(existsSync(join(agg.store, 'gw-9')), false);
    // The right token of gw-2 (sha256 hash) works.
    const ok = await RawAgent.connect(agg.port);
    assert.equal((await ok.hello('gw-2', otherToken)).type, 'WELCOME');
    await ok.end();
  });

  it('random bytes, an oversized frame and a truncated frame do not disturb a good agent sending meanwhile', async () => {
    const good = await RawAgent.connect(agg.port);
    assert.equal((await good.hello('gw-2', otherToken)).type, 'WELCOME');
    let seq = 0;
    const sendGood = async () => {
      seq++;
      assert.deepEqual(await good.batch(seq, entries(5, seq * 5)), { type: 'ACK', seq });
    };

    const raw = async (bytes: Buffer, endAfter: boolean) => {
      const s = connect(agg.port, '127.0.0.1');
      await once(s, 'connect');
      let got = Buffer.alloc(0);
      s.on('data', (d) => (got = Buffer.concat([got, d])));
      s.on('error', () => {});
      s.write(bytes);
      if (endAfter) s.end();
      await once(s, 'close');
      return got;
    };

    await sendGood();
    // Random bytes: whatever the first four bytes announce, the answer is an ERROR frame and close.
    const random = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    const r1 = await raw(random, false);
    assert.equal(r1[4], 0x05, 'an ERROR frame');
    await sendGood();
    // A header announcing 1 GiB: refused from the header (no 1 GiB is ever waited for).
    const big = Buffer.alloc(FRAME_HEADER_BYTES);
    big.writeUInt32BE(1024 ** 3, 0);
    big.writeUInt8(0x03, 4);
    const r2 = await raw(big, false);
    assert.equal(r2.readUInt16BE(5), ErrorCode.FRAME_TOO_LARGE);
    assert.match(r2.subarray(7).toString(), /exceeds max_frame_bytes/);
    await sendGood();
    // A truncated frame: a header for 100 bytes, 10 bytes, then the peer goes away.
    const trunc = Buffer.alloc(15);
    trunc.writeUInt32BE(100, 0);
    trunc.writeUInt8(0x01, 4);
    await raw(trunc, true);
    await sendGood();
    await good.end();

    assert.equal(storedEntries(agg.store, 'gw-2').length, 20);
    const st = await runCli(['status', '--socket', agg.control, '--json']);
    assert.equal(st.code, 0, st.stderr);
    const status = JSON.parse(st.stdout) as { rejected: Record<string, number>; nodes: { name: string; last_seq: number; entries: number; bytes: number; last_seen: string; connected: boolean }[] };
    assert.ok(status.rejected.frame_too_large! >= 1);
    assert.ok(status.rejected.truncated_frame! >= 1);
    assert.ok(status.rejected.auth_failed! >= 2);
    assert.equal(status.rejected.unsupported_version, 1);
    const gw2 = status.nodes.find((n) => n.name === 'gw-2')!;
    assert.equal(gw2.last_seq, 4);
    assert.equal(gw2.entries, 20);
    assert.ok(gw2.bytes > 20 * 50);
    assert.ok(Date.now() - Date.parse(gw2.last_seen) < 60_000);
  });

  it('`logloom status` lists nodes with last seen, last sequence, entries and bytes; /metrics and /healthz answer', async () => {
    const st = await runCli(['status', '--socket', agg.control]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^role aggregator · /m);
    // One block per node: its name and state, then its figures (last seen, last sequence, entries, bytes).
    assert.match(st.stdout, /^nodes:\n(?:.*\n)*?  gw-1  \[not connected\]\n    remote \S+ · last_seen \d{4}-\d\d-\d\dT\S+ · last_seq 3\n    entries 7 · bytes \d+/m);
    for (const l of st.stdout.split('\n')) assert.ok(l.length <= 80, `wider than 80 columns: ${l}`);
    const line = await agg.stderr.waitFor(/metrics and health at/);
    const base = /http:\/\/(\S+)/.exec(line)![1];
    const health = await fetch(`http://${base}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`http://${base}/metrics`)).text();
    assert.match(metrics, /^logloom_aggregator_node_last_seq\{node="gw-1"\} 3$/m);
    assert.match(metrics, /^logloom_aggregator_node_stored_entries\{node="gw-2"\} 20$/m);
    assert.match(metrics, /^# TYPE logloom_aggregator_rejected_total counter$/m);
  });
});
