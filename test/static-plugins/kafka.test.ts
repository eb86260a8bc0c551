/**
 * log_exporter_kafka against a real Apache Kafka broker (KRaft, single node, from Maven Central's
 * jars: toolchain/kafka.sh), started once for this file on free ports and killed when it ends.
 * Entries go through a real agent (unix input) or the in-process plugin harness, and are read
 * back with a real consumer: counted, in order per partition, with nothing duplicated.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkaSink from '../../static-plugins/log_exporter_kafka/index.ts';
import { validateYaml } from '../../lib/schema/validate.ts';
import { startHarness, until, type Harness } from '../plugins/harness.ts';
import { startAgent, tempDir } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { agentStatus } from '../forward/helpers.ts';
import { until as untilAsync } from '../helpers/wait.ts';
import { perPartition, startKafka, type KafkaBroker } from '../helpers/kafka.ts';

let kafka: KafkaBroker;

before(async () => {
  kafka = await startKafka();
});

after(async () => {
  await kafka?.close();
});

const sinkStatus = (h: Harness) => h.registry.supervisor('log_exporter_kafka')!.status() as Record<string, any>;

/** The plugin in the in-process harness, its block validated (defaults filled) as the agent does. */
async function harness(config: Record<string, unknown>): Promise<Harness> {
  const block = { batch_max_ms: 20, backoff_max: 500, ...config };
  const { value, issues } = validateYaml<Record<string, unknown>>(JSON.stringify({ k: block }), 'test', 'k', kafkaSink.configSchema);
  assert.deepEqual(issues, []);
  return startHarness({
    statics: [kafkaSink],
    config: { enabled: ['log_exporter_kafka'], failure_threshold: 1000, config: { log_exporter_kafka: value! } },
  });
}

/** Asserts each partition holds strictly increasing numbers, and all of 0..total-1 once. */
function assertExactlyOnceInOrder(byPartition: Map<number, number[]>, total: number): void {
  const seen = new Set<number>();
  for (const [p, nums] of byPartition) {
    for (let i = 1; i < nums.length; i++) assert.ok(nums[i]! > nums[i - 1]!, `partition ${p}: ${nums[i - 1]} then ${nums[i]} at index ${i}`);
    for (const n of nums) {
      assert.ok(!seen.has(n), `entry ${n} twice`);
      seen.add(n);
    }
  }
  assert.equal(seen.size, total);
}

test('kafka: 100,000 entries from a real agent (unix input, records path) arrive once each, in order per partition', async () => {
  await kafka.createTopic('bulk', { partitions: 3 });
  const total = 100_000;
  // buffer.native on: the entries reach the plugin as entry records (flushRecords); the harness
  // tests below hand it entry objects (flush).
  const agent = await startAgent(`  buffer:
    native: on
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [log_exporter_kafka]
    config:
      log_exporter_kafka:
        brokers: [${kafka.plaintext}]
        topic: bulk
        key: none
        compression: gzip
`);
  try {
    const lines = Array.from({ length: total }, (_, i) => `n=${i}`);
    for (let i = 0; i < total; i += 10_000) await sendLines(agent.ingest, lines.slice(i, i + 10_000));
    const records = await kafka.consume('bulk', total, 120_000);
    const byPartition = perPartition(records, (v) => Number(/^n=(\d+)$/.exec(String(v.message))![1]));
    assert.equal(byPartition.size, 3, 'key none spreads over the 3 partitions');
    assertExactlyOnceInOrder(byPartition, total);
    assert.equal(await kafka.count('bulk'), total, 'no extra records in the topic');
    const first = JSON.parse(records[0]!.value);
    assert.equal(first.node, 'test-node');
    assert.equal(first.source, 'unix');
    await untilAsync(async () => (await agentStatus(agent.configPath)).sinks[0].acked_entries === total, 30_000, () => 'acked_entries');
    const status = await agentStatus(agent.configPath);
    assert.equal(status.buffer.records_path, total, 'every entry took the records path');
    const st = status.sinks[0];
    assert.equal(st.name, 'log_exporter_kafka');
    assert.equal(st.brokers, kafka.plaintext);
    assert.equal(st.dropped_entries, 0);
    assert.equal(st.queued_entries, 0);
    assert.equal(st.inflight_batches, 0);
  } finally {
    await agent.stop();
  }
});

test('kafka: the broker killed (-9) and restarted mid-stream: nothing lost, nothing duplicated, order kept', async () => {
  await kafka.createTopic('restart', { partitions: 1 });
  const h = await harness({ brokers: [kafka.plaintext], topic: 'restart', key: 'node', batch_max_entries: 200, compression: 'lz4' });
  try {
    for (let i = 0; i < 20_000; i++) h.send({ message: `m`, fields: { n: i } });
    await until(h.pipeline, () => sinkStatus(h).acked_entries >= 4000, 60_000, '4000 acknowledged');
    await kafka.kill();
    for (let i = 20_000; i < 30_000; i++) h.send({ message: `m`, fields: { n: i } });
    await until(h.pipeline, () => sinkStatus(h).state === 'unreachable', 60_000, 'the sink to notice the broker is gone');
    const during = sinkStatus(h);
    assert.ok(during.acked_entries < 30_000, 'entries wait while the broker is down');
    assert.match(during.last_error, new RegExp(`brokers ${kafka.plaintext.replace(/\./g, '\\.')} unreachable: `));
    await h.log.waitFor(/\[WARN\] .*log_exporter_kafka.*unreachable.*\(retrying\)/);
    await kafka.start();
    const records = await kafka.consume('restart', 30_000, 120_000);
    assertExactlyOnceInOrder(perPartition(records, (v) => (v.fields as { n: number }).n), 30_000);
    assert.equal(records[0]!.key, 'test-node');
    await until(h.pipeline, () => sinkStatus(h).acked_entries === 30_000, 30_000, 'all acknowledged');
    assert.equal(await kafka.count('restart'), 30_000, 'no record written twice');
    await h.log.waitFor(/acknowledge again/);
    assert.equal(sinkStatus(h).dropped_entries, 0);
  } finally {
    await h.stop();
  }
});

test('kafka: the broker frozen (SIGSTOP) past the request timeout: the retried batch is not written twice', async () => {
  await kafka.createTopic('frozen', { partitions: 1 });
  const h = await harness({ brokers: [kafka.plaintext], topic: 'frozen', key: 'node', batch_max_entries: 100, request_timeout: 1000, backoff_min: 50, backoff_max: 200 });
  try {
    for (let i = 0; i < 5000; i++) h.send({ message: 'f', fields: { n: i } });
    // Freeze while a batch is on its way: its request times out and is sent again (same sequence numbers).
    await until(h.pipeline, () => sinkStatus(h).acked_entries >= 1000 && sinkStatus(h).inflight_batches === 1, 60_000, 'a batch in flight after 1000 acknowledged');
    kafka.pause();
    try {
      await until(h.pipeline, () => sinkStatus(h).errors >= 2, 30_000, 'request timeouts while frozen');
    } finally {
      kafka.resume();
    }
    const records = await kafka.consume('frozen', 5000, 120_000);
    assertExactlyOnceInOrder(perPartition(records, (v) => (v.fields as { n: number }).n), 5000);
    await until(h.pipeline, () => sinkStatus(h).acked_entries === 5000, 60_000, 'all acknowledged');
    assert.equal(await kafka.count('frozen'), 5000, 'no batch written twice');
  } finally {
    await h.stop();
  }
});

test('kafka: TLS to the broker (certificates made by openssl), zstd batches', async () => {
  await kafka.createTopic('tls');
  const h = await harness({ brokers: [kafka.ssl], topic: 'tls', compression: 'zstd', tls: { enabled: true, ca: kafka.certs.ca } });
  try {
    for (let i = 0; i < 500; i++) h.send({ message: `t${i}` });
    const records = await kafka.consume('tls', 500);
    assert.deepEqual(records.map((r) => JSON.parse(r.value).message), Array.from({ length: 500 }, (_, i) => `t${i}`));
    await until(h.pipeline, () => sinkStatus(h).acked_entries === 500, 10_000, 'acked');
    assert.equal(sinkStatus(h).errors, 0, sinkStatus(h).last_error);
  } finally {
    await h.stop();
  }
  // Without the CA the broker's certificate is not trusted: a clear error, entries kept.
  const bad = await harness({ brokers: [kafka.ssl], topic: 'tls', tls: { enabled: true } });
  try {
    bad.send('untrusted');
    await until(bad.pipeline, () => /unable to get local issuer certificate|self[- ]signed/i.test(sinkStatus(bad).last_error), 30_000, 'a certificate error');
    assert.equal(sinkStatus(bad).acked_entries, 0);
    assert.equal(sinkStatus(bad).queued_entries, 1);
  } finally {
    await bad.stop();
  }
});

test('kafka: mutual TLS: a client certificate signed by the CA is accepted; without one the broker refuses', async () => {
  await kafka.createTopic('mtls');
  const h = await harness({ brokers: [kafka.mtls], topic: 'mtls', tls: { enabled: true, ca: kafka.certs.ca, cert: kafka.certs.clientCert, key: kafka.certs.clientKey } });
  try {
    for (let i = 0; i < 20; i++) h.send(`c${i}`);
    const records = await kafka.consume('mtls', 20);
    assert.deepEqual(records.map((r) => JSON.parse(r.value).message), Array.from({ length: 20 }, (_, i) => `c${i}`));
  } finally {
    await h.stop();
  }
  const anon = await harness({ brokers: [kafka.mtls], topic: 'mtls', tls: { enabled: true, ca: kafka.certs.ca } });
  try {
    anon.send('no certificate');
    await until(anon.pipeline, () => /may require a client certificate/.test(sinkStatus(anon).last_error), 30_000, 'the connection refused, with the hint');
    assert.equal(sinkStatus(anon).acked_entries, 0);
    assert.equal(sinkStatus(anon).queued_entries, 1);
    assert.notEqual(sinkStatus(anon).state, 'up');
    assert.match(sinkStatus(anon).last_error, /unreachable: .*\(the brokers may require a client certificate: tls\.cert and tls\.key\)$/);
  } finally {
    await anon.stop();
  }
  assert.equal(await kafka.count('mtls'), 20);
});

test('kafka: SASL/SCRAM with a wrong password is refused clearly and nothing is lost; the right one (read anew) works', async () => {
  await kafka.createTopic('scram');
  const dir = tempDir('logloom-kafka-sasl-');
  const pw = join(dir, 'password');
  writeFileSync(pw, 'wrong-password\n');
  const h = await harness({ brokers: [kafka.sasl], topic: 'scram', sasl: { mechanism: 'scram-sha-256', username: 'alice', password_file: pw } });
  try {
    for (let i = 0; i < 50; i++) h.send(`s${i}`);
    const line = await h.log.waitFor(/\[ERROR\] .*log_exporter_kafka.*refused SASL authentication as "alice" \(SCRAM-SHA-256\)/, 30_000);
    assert.match(line, /[Aa]uthentication failed/);
    assert.equal(sinkStatus(h).acked_entries, 0);
    assert.equal(sinkStatus(h).state, 'auth');
    writeFileSync(pw, 'alice-secret\n');
    const records = await kafka.consume('scram', 50, 60_000);
    assert.deepEqual(records.map((r) => JSON.parse(r.value).message), Array.from({ length: 50 }, (_, i) => `s${i}`));
    assert.equal(await kafka.count('scram'), 50);
  } finally {
    await h.stop();
  }
  // SCRAM-SHA-512 and PLAIN with the right password.
  writeFileSync(pw, 'alice-secret');
  for (const mechanism of ['scram-sha-512', 'plain']) {
    const ok = await harness({ brokers: [kafka.sasl], topic: 'scram', sasl: { mechanism, username: 'alice', password_file: pw } });
    try {
      ok.send(`via ${mechanism}`);
      await until(ok.pipeline, () => sinkStatus(ok).acked_entries === 1, 30_000, `acked via ${mechanism}`);
    } finally {
      await ok.stop();
    }
  }
});

test('kafka: an unknown topic (auto-create off) gives a clear error and entries wait until it exists', async () => {
  const h = await harness({ brokers: [kafka.plaintext], topic: 'logs.{level}' });
  try {
    h.send({ level: 'ERROR', message: 'waits for its topic' });
    const line = await h.log.waitFor(/\[ERROR\] .*log_exporter_kafka.*topic "logs\.error" does not exist on the brokers/, 30_000);
    assert.match(line, /entries wait queued/);
    assert.equal(sinkStatus(h).state, 'unknown_topic');
    assert.equal(sinkStatus(h).queued_entries, 1);
    await kafka.createTopic('logs.error');
    const [r] = await kafka.consume('logs.error', 1, 60_000);
    assert.equal(JSON.parse(r!.value).message, 'waits for its topic');
    assert.equal(r!.key, 'test-node');
  } finally {
    await h.stop();
  }
});

test('kafka: an entry over the broker\'s size limit is dropped with a clear error and counted; the batch around it is delivered', async () => {
  await kafka.createTopic('small', { configs: { 'max.message.bytes': '4096' } });
  const h = await harness({ brokers: [kafka.plaintext], topic: 'small', compression: 'none', batch_max_entries: 50 });
  try {
    for (let i = 0; i < 20; i++) h.send(i === 7 ? `big ${'x'.repeat(8000)}` : `small ${i}`);
    const line = await h.log.waitFor(/\[ERROR\] .*log_exporter_kafka.*dropped an entry of \d+ bytes for topic "small": over the broker's size limit/, 30_000);
    assert.ok(line);
    await until(h.pipeline, () => sinkStatus(h).acked_entries === 19, 30_000, '19 acknowledged');
    const st = sinkStatus(h);
    assert.equal(st.dropped_too_large, 1);
    assert.equal(st.dropped_entries, 1);
    const records = await kafka.consume('small', 19);
    assert.deepEqual(records.map((r) => JSON.parse(r.value).message), Array.from({ length: 20 }, (_, i) => `small ${i}`).filter((_, i) => i !== 7));
  } finally {
    await h.stop();
  }
});

