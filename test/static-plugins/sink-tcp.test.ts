import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import sinkTcp from '../../static-plugins/sink_tcp/index.ts';
import { startHarness, until } from '../plugins/harness.ts';

/** A real NDJSON receiver (like Fluent Bit in_tcp). */
function receiver(port = 0) {
  const lines: Record<string, unknown>[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((s) => {
    connections++;
    sockets.add(s);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    });
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  const listening = new Promise<number>((r) => server.listen(port, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  return {
    lines, listening, connections: () => connections,
    kick: () => { for (const s of sockets) s.destroy(); },
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

test('sink_tcp: entries arrive as NDJSON lines; after the peer drops the connection it reconnects', async () => {
  const rx = receiver();
  const port = await rx.listening;
  const h = await startHarness({ statics: [sinkTcp], config: { enabled: ['sink_tcp'], config: { sink_tcp: { host: '127.0.0.1', port, format: 'json_lines', connect_timeout: 2000 } } } });
  try {
    for (let i = 0; i < 20; i++) h.send({ level: 'WARN', module: 'pump', message: `m${i}` });
    await until(h.pipeline, () => rx.lines.length >= 20, 10_000, '20 lines');
    assert.deepEqual(rx.lines.map((l) => l.message), Array.from({ length: 20 }, (_, i) => `m${i}`));
    assert.equal(rx.lines[0]!.level, 'WARN');
    assert.equal(rx.lines[0]!.module, 'PUMP');
    assert.equal(rx.lines[0]!.node, 'test-node');
    rx.kick();
    await until(h.pipeline, () => (h.registry.supervisor('sink_tcp')!.status() as { connected: boolean }).connected === false, 5000, 'disconnect noticed');
    h.send('after kick');
    await until(h.pipeline, () => rx.lines.some((l) => l.message === 'after kick'), 10_000, 'line after reconnect');
    assert.equal(rx.connections(), 2);
  } finally {
    await h.stop();
    await rx.close();
  }
});

test('sink_tcp: while the receiver is down batches stay queued and are retried; nothing is lost when it comes back', async () => {
  // Find a free port, then leave it closed.
  const probe = receiver();
  const port = await probe.listening;
  await probe.close();
  const h = await startHarness({ statics: [sinkTcp], config: { enabled: ['sink_tcp'], failure_threshold: 100, config: { sink_tcp: { host: '127.0.0.1', port, format: 'json_lines', connect_timeout: 2000 } } } });
  try {
    for (let i = 0; i < 30; i++) h.send(`q${i}`);
    await h.log.waitFor(new RegExp(`^\\[ERROR\\] Plugin communication failed: sink_tcp: connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}$`));
    const runner = h.pipeline.sinks[0]!;
    await until(h.pipeline, () => runner.failures >= 2, 10_000, 'a retry');
    assert.equal(runner.queued, 30);
    const rx = receiver(port);
    await rx.listening;
    try {
      await until(h.pipeline, () => rx.lines.length >= 30, 20_000, 'all 30 lines after the receiver came back');
      assert.deepEqual(rx.lines.map((l) => l.message), Array.from({ length: 30 }, (_, i) => `q${i}`));
      assert.equal(runner.dropped, 0);
    } finally {
      await h.stop();
      await rx.close();
    }
  } finally {
    await h.stop();
  }
});
