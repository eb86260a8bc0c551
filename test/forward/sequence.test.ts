/**
 * Sequence numbers that the agent's spool and the aggregator disagree on (issue: data loss and
 * crashes). Real `logloom run` and `logloom aggregator` processes on loopback: a spool directory
 * reset while the uplink is down, a peer that stored seq 2^53−1 for the node, and an agent whose
 * sequence the aggregator refuses. Every accepted entry must arrive, and the counters must say
 * what happened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { tempDir } from '../helpers/agent.ts';
import { encodeError, ErrorCode, FrameDecoder, decodeMessage, FrameType } from '../../protocol/index.ts';
import { RawAgent, entries } from '../aggregator/helpers.ts';
import {
  aggregatorFixture, agentStatus, assertExactlyOnceInOrder, remoteSink, startForwardingAgent, storedNumbers, waitStored,
} from './helpers.ts';
import { until } from '../helpers/wait.ts';

const NODE = 'test-node';
const numbered = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `n=${from + i} level=INFO payload=x\n`).join('');
const spoolDir = (dir: string) => `${dir}/data/plugins/log_aggregator_remote/spool`;

test('a spool directory reset while the uplink is down: 500 entries spooled afterwards all arrive (renumbered above the aggregator, not acknowledged unseen)', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 200));
  // Small batches, so that the aggregator's sequence is well above what a fresh spool starts at.
  const opts = { remote: '        batch_max_entries: 20\n' };
  let agent = await startForwardingAgent(dir, agg.port, opts);
  await waitStored(agg.store, NODE, 200, 60_000);
  await agent.stop();
  await agg.stop();
  // The uplink is down, and the spool is gone (tmpfs data_dir, a replaced SD card…); the file's position is kept.
  rmSync(spoolDir(dir), { recursive: true, force: true });
  agent = await startForwardingAgent(dir, agg.port, opts);
  try {
    appendFileSync(`${dir}/app.log`, numbered(200, 700));
    await until(async () => remoteSink(await agentStatus(agent.configPath)).spool_queued_entries === 500, 60_000, () => 'the 500 entries were not spooled');
    const before = remoteSink(await agentStatus(agent.configPath));
    assert.ok(before.spool_next_seq <= 30, `the fresh spool numbers from 1 again (next ${before.spool_next_seq})`);
    await agg.start();
    await waitStored(agg.store, NODE, 700, 60_000).catch(async (e) => {
      console.log(agent.stderr.lines.join('\n'));
      console.log(JSON.stringify(remoteSink(await agentStatus(agent.configPath))));
      const n = await storedNumbers(agg.store, NODE);
      console.log(n.length, n.slice(0, 5), n.slice(-5));
      throw e;
    });
    const problem = assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 700);
    assert.equal(problem, undefined, problem);
    let sink: Record<string, any> = {};
    await until(async () => (sink = remoteSink(await agentStatus(agent.configPath))).spool_queued_entries === 0, 30_000, () => JSON.stringify(sink));
    assert.equal(sink.entries_sent, 500, 'the counters say the 500 were sent');
    assert.equal(sink.spool_renumbered_batches, 25, 'and that 25 batches were renumbered');
    assert.equal(sink.spool_dropped_entries + sink.lost_entries, 0);
    await agent.stderr.waitFor(/was the spool directory reset\?\); renumbering 25 unsent batch/);
  } finally {
    await agent.stop();
  }
});

test('a peer stored seq 2^53−1 for this node: the agent does not loop on an impossible sequence; it logs, counts and keeps the entries spooled (or delivers them if the aggregator refused the jump)', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  await agg.start();
  // An authenticated peer (auth none here) for the same node id sends one batch with the largest sequence.
  const peer = await RawAgent.connect(agg.port);
  const w = await peer.hello(NODE, '');
  assert.equal(w.type, 'WELCOME');
  const answer = await peer.batch(Number.MAX_SAFE_INTEGER, entries(1));
  await peer.end();
  const aggregatorRefused = answer.type === 'ERROR';
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 300));
  const agent = await startForwardingAgent(dir, agg.port);
  try {
    if (aggregatorRefused) {
      // The aggregator bounds sequence jumps: nothing of the peer's batch is stored, the node is not frozen.
      await waitStored(agg.store, NODE, 300, 60_000);
      assert.equal(assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 300), undefined);
    } else {
      await agent.stderr.waitFor(/no sequence numbers are left above it/, 30_000);
      const sink = remoteSink(await agentStatus(agent.configPath));
      assert.ok(sink.seq_exhausted >= 1, 'counted');
      assert.equal(sink.spool_queued_entries, 300, 'the entries stay in the spool');
      // Not a busy loop: each retry waits at least half of backoff_max (1 s here).
      const first = sink.seq_exhausted;
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      const later = remoteSink(await agentStatus(agent.configPath)).seq_exhausted;
      const bound = Math.ceil((Date.now() - t0) / 500) + 1;
      assert.ok(later - first <= bound, `retries back off, no busy loop (${first} → ${later} in ${Date.now() - t0} ms; at most ${bound})`);
    }
  } finally {
    await agent.stop();
  }
});

/**
 * A TCP proxy in front of the real aggregator that refuses, like an aggregator bounding sequence
 * jumps, every BATCH whose seq jumps more than `bound` above WELCOME's last_seq: ERROR BAD_BATCH,
 * then close. (It stands in for the aggregator's own bound until that refusal is in main.)
 */
async function refusingProxy(target: number, bound: number) {
  let refusals = 0;
  const server = createServer((a: Socket) => {
    const b = connect(target, '127.0.0.1');
    let lastSeq = -1;
    const up = new FrameDecoder(64 * 1024 * 1024);
    const down = new FrameDecoder(64 * 1024 * 1024);
    const close = () => (a.destroy(), b.destroy());
    a.on('error', close).on('close', close);
    b.on('error', close).on('close', close);
    b.on('data', (d: Buffer) => {
      for (const f of down.push(d)) {
        const m = decodeMessage(f.type, f.payload);
        if (m.type === 'WELCOME') lastSeq = m.lastSeq;
      }
      a.write(d);
    });
    a.on('data', (d: Buffer) => {
      for (const f of up.push(d)) {
        if (f.type === FrameType.BATCH) {
          const m = decodeMessage(f.type, f.payload);
          if (m.type === 'BATCH' && m.seq > lastSeq + bound) {
            refusals++;
            a.end(encodeError(ErrorCode.BAD_BATCH, `BATCH seq ${m.seq} jumps more than ${bound} above ${lastSeq}`));
            b.destroy();
            return;
          }
        }
      }
      b.write(d);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, refusals: () => refusals, close: () => new Promise((r) => server.close(r)) };
}

test('an agent whose sequence the aggregator refuses (a real aggregator behind a proxy playing its jump bound): it renumbers from WELCOME\'s last_seq + 1 and everything arrives once, in order', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  await agg.start();
  const proxy = await refusingProxy(agg.port, 1_000_000_000);
  t.after(() => proxy.close());
  const dir = tempDir();
  // A buggy or damaged agent: its spool reserved numbers far above anything the aggregator holds.
  const sd = spoolDir(dir);
  mkdirSync(sd, { recursive: true });
  writeFileSync(`${sd}/ack.json`, JSON.stringify({ version: 1, acked_seq: 0, reserved_seq: 2 ** 52, positions: [] }));
  writeFileSync(`${dir}/app.log`, numbered(0, 300));
  const agent = await startForwardingAgent(dir, proxy.port, { remote: '        batch_max_entries: 50\n' });
  try {
    await waitStored(agg.store, NODE, 300, 60_000);
    assert.equal(assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 300), undefined);
    const sink = remoteSink(await agentStatus(agent.configPath));
    assert.ok(proxy.refusals() >= 1 && sink.refusals >= 1, `refused (${proxy.refusals()}) and counted (${sink.refusals})`);
    assert.ok(sink.spool_renumbered_batches >= 1, 'renumbered');
    assert.ok(sink.spool_next_seq < 1_000_000, `the agent now numbers just above the aggregator (next ${sink.spool_next_seq})`);
    assert.equal(sink.spool_dropped_entries + sink.lost_entries, 0);
    await agent.stderr.waitFor(/refused this agent's sequence; renumbering/);
  } finally {
    await agent.stop();
  }
});

test('a batch the aggregator refuses whatever its number is set aside after 3 refusals, counted, and the batches behind it arrive', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  await agg.start();
  // The proxy refuses any batch holding the poison entry, as an aggregator refuses a body it cannot store.
  let refusals = 0;
  const server = createServer((a: Socket) => {
    const b = connect(agg.port, '127.0.0.1');
    const up = new FrameDecoder(64 * 1024 * 1024);
    const close = () => (a.destroy(), b.destroy());
    a.on('error', close).on('close', close);
    b.on('error', close).on('close', close);
    b.on('data', (d: Buffer) => a.write(d));
    a.on('data', (d: Buffer) => {
      for (const f of up.push(d)) {
        const m = f.type === FrameType.BATCH ? decodeMessage(f.type, f.payload) : undefined;
        if (m?.type === 'BATCH' && m.codec === 0 && m.body.includes('POISON')) {
          refusals++;
          a.end(encodeError(ErrorCode.BAD_BATCH, `BATCH ${m.seq}: refused`));
          b.destroy();
          return;
        }
      }
      b.write(d);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((r) => server.close(r)));
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 100) + 'n=POISON level=INFO payload=x\n' + numbered(100, 200));
  const agent = await startForwardingAgent(dir, (server.address() as { port: number }).port, {
    remote: '        batch_max_entries: 101\n        compression: none\n        max_inflight_batches: 1\n',
  });
  try {
    let sink: Record<string, any> = {};
    await until(async () => (sink = remoteSink(await agentStatus(agent.configPath))).spool_queued_entries === 0 && sink.refused_batches === 1, 60_000, () => JSON.stringify(sink));
    assert.equal(refusals, 3, 'refused three times (renumbered after each) before it was set aside');
    assert.equal(sink.spool_dropped_entries, sink.spool_refused_entries, 'the set-aside entries are counted as dropped');
    const nums = await storedNumbers(agg.store, NODE);
    assert.equal(nums.length + sink.spool_refused_entries, 201, `every entry is stored or counted (stored ${nums.length}, refused ${sink.spool_refused_entries})`);
    assert.deepEqual(nums, Array.from({ length: nums.length }, (_, i) => 200 - nums.length + i), 'the batches behind the refused one arrived, in order');
  } finally {
    await agent.stop();
  }
});
