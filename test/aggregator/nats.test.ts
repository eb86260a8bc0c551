import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { ErrorCode } from '../../protocol/index.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { entries, RawAgent, startAggregator, type RunningAggregator } from './helpers.ts';
import { startNats, type RunningNats } from './nats-server.ts';

/** Every entry of the stream, in stream order, with the subject of its message (a message holds NDJSON). */
async function streamMessages(url: string): Promise<{ subject: string; entry: Record<string, unknown> }[]> {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('LOGLOOM');
    const out: { subject: string; entry: Record<string, unknown> }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage('LOGLOOM', { seq });
      for (const line of m.string().split('\n').filter(Boolean)) out.push({ subject: m.subject, entry: JSON.parse(line) as Record<string, unknown> });
    }
    return out;
  } finally {
    await nc.close();
  }
}

describe('aggregator with a NATS JetStream store (real nats-server)', () => {
  const dir = tempDir('logloom-agg-nats-');
  let nats: RunningNats;
  let a1: RunningAggregator;
  let a2: RunningAggregator;
  const natsBody = (url: string) => `    auth:\n      mode: none\n    store: nats\n    nats:\n      servers: [${url}]\n      timeout: 1500ms\n`;

  before(async () => {
    nats = await startNats(join(dir, 'js'));
    // Two aggregators sharing one JetStream: what several aggregators behind one address do.
    a1 = await startAggregator('', tempDir('logloom-agg-n1-'), natsBody(nats.url));
    a2 = await startAggregator('', tempDir('logloom-agg-n2-'), natsBody(nats.url));
  });
  after(async () => {
    await Promise.all([a1?.stop(), a2?.stop()]);
    await nats?.kill();
  });

  it('entries land in stream LOGLOOM on logloom.<node>.<level>, and the ACK follows JetStream\'s ack', async () => {
    const c = await RawAgent.connect(a1.port);
    const w = await c.hello('gw-n', '');
    assert.equal(w.type === 'WELCOME' && w.lastSeq, 0);
    assert.deepEqual(await c.batch(1, entries(4, 0)), { type: 'ACK', seq: 1 });
    await c.end();
    const msgs = await streamMessages(nats.url);
    // Levels WARN, INFO, INFO, WARN: one message per level, each in the batch's order.
    assert.deepEqual(msgs.map((m) => m.subject), ['logloom.gw-n.INFO', 'logloom.gw-n.INFO', 'logloom.gw-n.WARN', 'logloom.gw-n.WARN']);
    assert.deepEqual(msgs.map((m) => m.entry.message), ['m1', 'm2', 'm0', 'm3']);
    assert.ok(msgs.every((m) => m.entry.seq === 1));
    const nc = await connect({ servers: nats.url });
    const info = await (await nc.jetstreamManager()).streams.info('LOGLOOM');
    await nc.close();
    assert.equal(info.state.messages, 2);
    assert.ok(msgs.every((m) => m.entry.node === 'gw-n'));
  });

  it('the sequence state is shared: another aggregator welcomes the node at its last sequence and drops a replay', async () => {
    const c = await RawAgent.connect(a2.port);
    const w = await c.hello('gw-n', '');
    assert.equal(w.type === 'WELCOME' && w.lastSeq, 1);
    assert.deepEqual(await c.batch(1, entries(4, 0)), { type: 'ACK', seq: 1 }, 'a replay is acknowledged');
    assert.deepEqual(await c.batch(2, entries(2, 4)), { type: 'ACK', seq: 2 });
    await c.end();
    // Batches in order; within a batch, grouped by level.
    assert.deepEqual((await streamMessages(nats.url)).map((m) => m.entry.message), ['m1', 'm2', 'm0', 'm3', 'm5', 'm4']);
  });

  it('node ids that used to share a subject or a state key (a.b / a_b, a..b / hex_612e2e62) each keep their own', async () => {
    for (const node of ['a.b', 'a_b', 'a..b', 'hex_612e2e62']) {
      const c = await RawAgent.connect(a1.port);
      const w = await c.hello(node, '');
      assert.equal(w.type === 'WELCOME' && w.lastSeq, 0, `${node} inherited another node's sequence`);
      assert.deepEqual(await c.batch(5, entries(1, 0, { message: `from ${node}` })), { type: 'ACK', seq: 5 });
      await c.end();
    }
    const msgs = (await streamMessages(nats.url)).filter((m) => String(m.entry.message).startsWith('from '));
    const subjects = new Map(msgs.map((m) => [m.entry.node as string, m.subject]));
    assert.deepEqual([...subjects.keys()], ['a.b', 'a_b', 'a..b', 'hex_612e2e62']);
    assert.equal(new Set(subjects.values()).size, 4, JSON.stringify([...subjects]));
    assert.equal(subjects.get('a.b'), 'logloom._612e62.WARN');
    assert.ok(msgs.every((m) => m.entry.seq === 5 && m.entry.message === `from ${m.entry.node}`));
  });

  it('with nats-server down there is no ACK (ERROR STORAGE_FAILED); after it is back the replay is stored once', async () => {
    const port = nats.port;
    await nats.kill();
    const c = await RawAgent.connect(a1.port);
    const w = await c.hello('gw-n', '');
    // The aggregator may or may not still know the node's state; either way nothing is acked.
    if (w.type === 'WELCOME') {
      c.sendBatch(3, entries(2, 6));
      const e = await c.waitFor((m) => m.type === 'ERROR');
      assert.equal(e.type === 'ERROR' && e.code, ErrorCode.STORAGE_FAILED);
    } else {
      assert.equal(w.type === 'ERROR' && w.code, ErrorCode.STORAGE_FAILED);
    }
    assert.equal(c.received.filter((m) => m.type === 'ACK').length, 0, 'no ACK while JetStream is down');
    await c.closed;

    nats = await startNats(join(dir, 'js'), port);
    await a1.stderr.waitFor(/nats: reconnect/, 30_000);
    const again = await RawAgent.connect(a1.port);
    const w2 = await again.hello('gw-n', '');
    assert.equal(w2.type === 'WELCOME' && w2.lastSeq, 2, 'batch 3 was never acknowledged');
    assert.deepEqual(await again.batch(3, entries(2, 6)), { type: 'ACK', seq: 3 });
    await again.end();
    assert.deepEqual((await streamMessages(nats.url)).filter((m) => m.entry.node === 'gw-n').map((m) => m.entry.message), ['m1', 'm2', 'm0', 'm3', 'm5', 'm4', 'm7', 'm6']);
    const st = JSON.parse((await runCli(['status', '--socket', a1.control, '--json'])).stdout) as { store: { type: string; connected: boolean }; rejected: Record<string, number> };
    assert.equal(st.store.type, 'nats');
    assert.ok(st.rejected.storage_failed! >= 1);
    // A new aggregator lists the node (from the shared bucket) before it connects.
    const a3 = await startAggregator('', tempDir('logloom-agg-n3-'), natsBody(nats.url));
    try {
      const s3 = JSON.parse((await runCli(['status', '--socket', a3.control, '--json'])).stdout) as { nodes: { name: string; last_seq: number; entries: number; connected: boolean }[] };
      assert.deepEqual(s3.nodes.filter((n) => n.name === 'gw-n').map((n) => [n.name, n.last_seq, n.entries, n.connected]), [['gw-n', 3, 8, false]]);
      assert.deepEqual(s3.nodes.map((n) => n.name).sort(), ['a..b', 'a.b', 'a_b', 'gw-n', 'hex_612e2e62']);
    } finally {
      await a3.stop();
    }
  });
});
