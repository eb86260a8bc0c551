/**
 * Fault tests (issue 6): real `logloom run` and `logloom aggregator` processes on loopback, real
 * kill -9, a real TCP proxy. In (a)–(c) the aggregator's store must hold every one of 200,000
 * entries exactly once, in generator order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { encodeRecord, scanSegment } from '../../agent/forward/spool/record.ts';
import { runCli, tempDir, type RunningAgent } from '../helpers/agent.ts';
import {
  aggregatorFixture, agentStatus, assertExactlyOnceInOrder, FaultProxy, Generator, randomBetween, remoteSink, startForwardingAgent,
  storedCount, storedNumbers, waitStored,
} from './helpers.ts';
import { sleep, until } from '../helpers/wait.ts';

/**
 * These tests are about delivery; the fleet index would only add its CPU to every aggregator here
 * ((b) with the index on, waiting for it to catch up and checking it holds every entry once,
 * passed but took 110 s of the 120 s test timeout on a loaded machine). The index under kill -9
 * has its own tests in test/aggregator/durability.test.ts.
 */
const NO_INDEX = '    index:\n      enabled: false\n';

const TOTAL = 200_000;
/** startAgent's node id. */
const NODE = 'test-node';

test('(a) kill -9 of the agent at 5 random moments (spool mode always): 200,000 entries stored exactly once, in order', async (t) => {
  const agg = await aggregatorFixture(NO_INDEX);
  t.after(() => agg.stop());
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, '');
  const opts = { spool: '          mode: always\n' };
  let agent: RunningAgent | undefined = await startForwardingAgent(dir, agg.port, opts);
  const gen = new Generator(`${dir}/app.log`, TOTAL, 2000, 20);
  try {
    for (let k = 0; k < 5; k++) {
      await sleep(randomBetween(300, 2500));
      agent.proc.kill('SIGKILL');
      await agent.exited;
      agent = await startForwardingAgent(dir, agg.port, opts);
    }
    await gen.done;
    await waitStored(agg.store, NODE, TOTAL, 150_000);
    const st = remoteSink(await agentStatus(agent.configPath));
    assert.equal(st.spool_dropped_entries, 0);
    const problem = assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), TOTAL);
    assert.equal(problem, undefined, problem);
  } finally {
    await agent?.stop();
    await agg.stop();
  }
});

test('(b) kill -9 of the aggregator 5 times (agent memory-first): 200,000 entries stored exactly once, in order', async (t) => {
  const agg = await aggregatorFixture(NO_INDEX);
  t.after(() => agg.stop());
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, '');
  const agent = await startForwardingAgent(dir, agg.port);
  const gen = new Generator(`${dir}/app.log`, TOTAL, 2000, 20);
  try {
    for (let k = 0; k < 5; k++) {
      await sleep(randomBetween(300, 2000));
      const before = remoteSink(await agentStatus(agent.configPath)).connects;
      await agg.kill9();
      await sleep(randomBetween(100, 800));
      await agg.start();
      // Each kill must hit a live session: wait for the agent to come back before the next one.
      await until(async () => remoteSink(await agentStatus(agent.configPath)).connects > before, 60_000, () => 'the agent did not reconnect');
    }
    await gen.done;
    await waitStored(agg.store, NODE, TOTAL, 150_000);
    const st = remoteSink(await agentStatus(agent.configPath));
    assert.ok(st.disconnects >= 5, `the agent saw the aggregator go away (${st.disconnects})`);
    assert.equal(st.spool_dropped_entries, 0);
    const problem = assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), TOTAL);
    assert.equal(problem, undefined, problem);
  } finally {
    await agent.stop();
    await agg.stop();
  }
});

test('(c) a proxy that stalls (dead peer by PING timeout) and resets connections: 200,000 entries stored exactly once, in order', async (t) => {
  const agg = await aggregatorFixture(NO_INDEX);
  t.after(() => agg.stop());
  await agg.start();
  const proxy = new FaultProxy(agg.port);
  await proxy.listen();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, '');
  const agent = await startForwardingAgent(dir, proxy.port, { remote: '        ping_interval: 300ms\n        ping_timeout: 700ms\n' });
  const gen = new Generator(`${dir}/app.log`, TOTAL, 2000, 20);
  try {
    for (let k = 0; k < 6; k++) {
      await sleep(randomBetween(300, 1500));
      if (k % 2 === 0) {
        // A stall is a dead peer only on an established session: one that hits a reconnect still
        // in its handshake ends as a WELCOME timeout instead (on a loaded machine that happened).
        await until(async () => remoteSink(await agentStatus(agent.configPath)).connected === true, 60_000, () => 'the agent did not reconnect');
        await proxy.stallUntilAbandoned(30_000);
      } else proxy.reset();
    }
    await gen.done;
    await waitStored(agg.store, NODE, TOTAL, 150_000);
    const st = remoteSink(await agentStatus(agent.configPath));
    assert.ok(st.dead_peer >= 3, `stalls were detected as dead peers (${st.dead_peer})`);
    assert.ok(proxy.connections >= 7, `reconnected after every fault (${proxy.connections} connections)`);
    const problem = assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), TOTAL);
    assert.equal(problem, undefined, problem);
  } finally {
    await agent.stop();
    await proxy.close();
    await agg.stop();
  }
});

test('(d) an outage fills the spool (20,000 entries against a 64 KiB bound, drop_oldest): the drop count equals exactly what is missing, the newest are kept', async (t) => {
  const N = 20_000; // Enough to pass the bound many times over; the exact count is what matters here.
  const agg = await aggregatorFixture(NO_INDEX);
  t.after(() => agg.stop());
  const dir = tempDir();
  let text = '';
  for (let i = 0; i < N; i++) text += `n=${i} level=INFO payload=${Math.random().toString(36).repeat(3)}\n`;
  writeFileSync(`${dir}/app.log`, text);
  const agent = await startForwardingAgent(dir, agg.port, { spool: '          max_bytes: 64KiB\n          segment_bytes: 16KiB\n          when_full: drop_oldest\n' });
  try {
    // The uplink is down: wait until the file is read to its end and everything read is either spooled or dropped.
    let s: Record<string, any> = {};
    await until(async () => {
      s = await agentStatus(agent.configPath);
      const sink = remoteSink(s);
      const file = s.inputs.find((i: any) => i.name === 'file');
      return file.received === N && sink.queued === 0 && sink.spool_queued_entries + sink.spool_dropped_entries === N;
    }, 60_000, () => JSON.stringify(s));
    await agg.start();
    let st: Record<string, any> = {};
    await until(async () => {
      st = remoteSink(await agentStatus(agent.configPath));
      return st.spool_queued_batches === 0 && (await storedCount(agg.store, NODE)) + st.spool_dropped_entries === N;
    }, 60_000, async () => `stored ${await storedCount(agg.store, NODE)}, sink ${JSON.stringify(st)}`);
    const nums = await storedNumbers(agg.store, NODE);
    assert.ok(st.spool_dropped_entries > 0 && nums.length > 0, `some dropped (${st.spool_dropped_entries}), some kept (${nums.length})`);
    assert.equal(N - nums.length, st.spool_dropped_entries, 'missing = dropped, exactly');
    assert.equal((await agentStatus(agent.configPath)).dropped_total, st.spool_dropped_entries, 'the drops are in the agent total too');
    assert.deepEqual(nums, Array.from({ length: nums.length }, (_, i) => N - nums.length + i), 'drop_oldest keeps the newest, in order');
  } finally {
    await agent.stop();
    await agg.stop();
  }
});

test('(e) the agent starts on a spool with a corrupt byte and a torn tail: it skips and counts them, and delivers every other batch once, in order', async (t) => {
  const N = 3000; // 30 batches of 100 are enough to put a damaged record between intact ones.
  const agg = await aggregatorFixture(NO_INDEX);
  t.after(() => agg.stop());
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, Array.from({ length: N }, (_, i) => `n=${i} level=INFO payload=x\n`).join(''));
  const opts = { spool: '          mode: always\n', remote: '        batch_max_entries: 100\n' };
  let agent = await startForwardingAgent(dir, agg.port, opts);
  await until(async () => remoteSink(await agentStatus(agent.configPath)).spool_queued_entries === N, 60_000, () => 'not all spooled');
  assert.equal((await agent.stop()).code, 0);
  const spoolDir = `${dir}/data/plugins/log_aggregator_remote/spool`;
  const seg = readdirSync(spoolDir).filter((f) => f.endsWith('.seg')).sort()[0]!;
  const buf = readFileSync(`${spoolDir}/${seg}`);
  const recs = scanSegment(buf).records;
  const victim = recs[4]!;
  buf[victim.offset + victim.size - 3] ^= 0x55;
  writeFileSync(`${spoolDir}/${seg}`, Buffer.concat([buf, encodeRecord(123_456_789, Buffer.alloc(300, 1)).subarray(0, 100)]));
  const verify = await runCli(['spool', 'verify', spoolDir]);
  assert.equal(verify.code, 1);
  await agg.start();
  agent = await startForwardingAgent(dir, agg.port, opts);
  try {
    await waitStored(agg.store, NODE, N - 100, 60_000);
    const sink = remoteSink(await agentStatus(agent.configPath));
    assert.equal(sink.spool_corrupt_records, 1);
    assert.equal(sink.spool_lost_entries, 100, 'the damaged batch\'s entries are counted as lost');
    assert.equal(sink.lost_entries, 100);
    assert.equal((await agentStatus(agent.configPath)).dropped_total, 100, 'and in the agent\'s total');
    assert.equal(sink.spool_torn_tails, 1);
    const nums = await storedNumbers(agg.store, NODE);
    const lostFrom = nums.findIndex((n, i) => n !== i);
    assert.equal(nums.length, N - 100);
    assert.deepEqual(nums, [...Array.from({ length: lostFrom }, (_, i) => i), ...Array.from({ length: N - lostFrom - 100 }, (_, i) => lostFrom + 100 + i)], 'exactly the damaged batch is missing');
  } finally {
    await agent.stop();
  }
});
