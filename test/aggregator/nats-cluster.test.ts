import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { LineWatcher, tempDir } from '../helpers/agent.ts';
import { entries, RawAgent, startAggregator } from './helpers.ts';
import { freePort } from '../helpers/net.ts';

test('the 3-node JetStream cluster of docs/scale-out.md (on loopback): R3 stream; with one server killed batches are still stored once', async (t) => {
  const dir = tempDir('logloom-nats3-');
  const doc = readFileSync(new URL('../../docs/scale-out.md', import.meta.url), 'utf8');
  const template = /```\n(server_name: nats-1[\s\S]*?)```/.exec(doc)![1]!;
  const routes = [await freePort(), await freePort(), await freePort()];
  const password = 'test-secret';
  writeFileSync(join(dir, 'nats-password'), password + '\n');
  const servers = routes.map((route, k) => {
    const name = `nats-${k + 1}`;
    mkdirSync(join(dir, name));
    let conf = template.replace('server_name: nats-1', `server_name: ${name}`)
      .replace('listen: 0.0.0.0:4222', 'listen: 127.0.0.1:-1')
      .replace(/^http: .*$/m, '')
      .replace('store_dir: /var/lib/nats', `store_dir: ${join(dir, name)}`)
      .replace('max_file_store: 200GB', 'max_file_store: 64MB')
      .replace('listen: 0.0.0.0:6222', `listen: 127.0.0.1:${route}`);
    routes.forEach((p, i) => (conf = conf.replace(`nats-${i + 1}.example.com:6222`, `127.0.0.1:${p}`)));
    writeFileSync(join(dir, `${name}.conf`), conf);
    const proc = spawn('/usr/sbin/nats-server', ['-c', join(dir, `${name}.conf`)], { env: { ...process.env, LOGLOOM_NATS_PASSWORD: password }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = new LineWatcher();
    proc.stderr.on('data', (d) => log.feed(d));
    proc.stdout.on('data', (d) => log.feed(d));
    const exited = new Promise((r) => proc.on('exit', r));
    process.once('exit', () => proc.kill('SIGKILL'));
    t.after(() => proc.kill('SIGKILL'));
    return { name, proc, log, exited };
  });
  const urls = await Promise.all(servers.map(async (s) => {
    const line = await s.log.waitFor(/Listening for client connections on/, 30_000);
    return `nats://127.0.0.1:${/:(\d+)\s*$/.exec(line)![1]}`;
  }));
  // JetStream is usable once the three have elected a metadata leader.
  await Promise.any(servers.map((s) => s.log.waitFor(/JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/, 60_000)));

  const agg = await startAggregator('', tempDir('logloom-nats3-agg-'),
    `    auth:\n      mode: none\n    store: nats\n    nats:\n      servers: [${urls.join(', ')}]\n      replicas: 3\n      user: logloom\n      password_file: ${join(dir, 'nats-password')}\n      timeout: 10s\n`);
  t.after(() => agg.stop());
  let c = await RawAgent.connect(agg.port);
  assert.equal((await c.hello('gw-c', '')).type, 'WELCOME');
  assert.deepEqual(await c.batch(1, entries(5, 0)), { type: 'ACK', seq: 1 });

  const nc = await connect({ servers: urls, user: 'logloom', pass: password });
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info('LOGLOOM');
  assert.equal(info.config.num_replicas, 3);
  assert.equal(info.cluster?.replicas?.length, 2, 'a leader and two replicas');

  await nc.close();
  // Kill one server: a quorum of two remains, publishing (and so ACKs) go on.
  servers[0]!.proc.kill('SIGKILL');
  await servers[0]!.exited;
  c.sendBatch(2, entries(5, 5));
  let m = await c.waitFor((x) => (x.type === 'ACK' && x.seq === 2) || x.type === 'ERROR', 60_000);
  // While the stream elects a new leader a publish can time out: the aggregator answers ERROR and
  // the agent reconnects and resends, as a real agent does (with backoff), until it is stored.
  const deadline = Date.now() + 90_000;
  while (m.type === 'ERROR' && Date.now() < deadline) {
    await c.closed;
    c = await RawAgent.connect(agg.port);
    const w = await c.hello('gw-c', '');
    assert.equal(w.type === 'WELCOME' && w.lastSeq, 1, 'nothing of batch 2 was acknowledged');
    c.sendBatch(2, entries(5, 5));
    m = await c.waitFor((x) => (x.type === 'ACK' && x.seq === 2) || x.type === 'ERROR', 60_000);
  }
  assert.deepEqual(m, { type: 'ACK', seq: 2 });
  await c.end();
  // Read back through the two servers that are still up. A leader election may still be going on
  // (requests time out meanwhile): retry the whole read, a few times, until it answers.
  const nc2 = await connect({ servers: urls.slice(1), user: 'logloom', pass: password });
  t.after(() => nc2.close());
  const readAll = async () => {
    const jsm2 = await nc2.jetstreamManager({ timeout: 20_000 });
    let n = 0;
    const after = await jsm2.streams.info('LOGLOOM');
    for (let seq = after.state.first_seq; seq <= after.state.last_seq; seq++) n += (await jsm2.streams.getMessage('LOGLOOM', { seq })).string().split('\n').filter(Boolean).length;
    return n;
  };
  let stored = -1;
  for (let attempt = 1; stored < 0; attempt++) {
    try {
      stored = await readAll();
    } catch (e) {
      if (attempt >= 5 || (e as { code?: string }).code !== 'TIMEOUT') throw e;
    }
  }
  assert.equal(stored, 10, 'every entry once');
});
