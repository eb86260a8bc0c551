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
import { startHarness, until, type Harness } from '../plugins/harness.ts';
import { startAgent, tempDir } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { agentStatus, until as untilAsync } from '../forward/helpers.ts';
import { perPartition, startKafka, type KafkaBroker } from '../helpers/kafka.ts';

let kafka: KafkaBroker;

before(async () => {
  kafka = await startKafka();
});

after(async () => {
  await kafka?.stop();
});

const sinkStatus = (h: Harness) => h.registry.supervisor('log_exporter_kafka')!.status() as Record<string, any>;

async function harness(config: Record<string, unknown>): Promise<Harness> {
  return startHarness({
    statics: [kafkaSink],
    config: { enabled: ['log_exporter_kafka'], failure_threshold: 1000, config: { log_exporter_kafka: { batch_max_ms: 20, backoff_max: 500, ...config } } },
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

test('kafka: 100,000 entries from a real agent (unix input) arrive once each, in order per partition', async () => {
  await kafka.createTopic('bulk', { partitions: 3 });
  const total = 100_000;
  const agent = await startAgent(`  inputs:
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
    const st = (await agentStatus(agent.configPath)).sinks[0];
    assert.equal(st.name, 'log_exporter_kafka');
    assert.equal(st.brokers, kafka.plaintext);
    assert.equal(st.dropped_entries, 0);
    assert.equal(st.queued_entries, 0);
    assert.equal(st.inflight_batches, 0);
  } finally {
    await agent.stop();
  }
});
