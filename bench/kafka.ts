/**
 * Kafka export end to end: a real agent (unix input -> log_exporter_kafka) and a real Apache Kafka
 * broker (KRaft, single node, toolchain/kafka.sh) on loopback. A client writes N NDJSON entries into
 * the unix socket; a run ends when the topic's end offsets add up to N (acks=all, idempotent
 * producer). Each run gets a fresh topic of 3 partitions; the broker is started once. Prints
 * entries/s and input MiB/s, agent CPU seconds per million entries and agent peak RSS. Median of 5.
 * Re-run: node bench/kafka.ts [entries] [none|gzip|snappy|lz4|zstd] [node|module|none]
 */
import { cpuSeconds, fmt, header, median, peakRssMiB, sendAll } from './lib.ts';
import { startAgent } from '../test/forward/helpers.ts';
import { startKafka } from '../test/helpers/kafka.ts';

const N = Number(process.argv[2] ?? 200_000);
const COMPRESSION = process.argv[3] ?? 'gzip';
const KEY = process.argv[4] ?? 'module';
const RUNS = 5;
const MODULES = ['PUMP', 'VALVE', 'SENSOR', 'NET'];
const line = (i: number) => `{"level":"INFO","module":"${MODULES[i % 4]}","message":"sensor reading ${i} value=${(i * 7) % 1000} status=ok"}\n`;

const kafka = await startKafka();
try {
  async function run(i: number): Promise<{ eps: number; mibps: number; rss: number; cpuPerM: number }> {
    const topic = `bench-${i}`;
    await kafka.createTopic(topic, { partitions: 3 });
    const agent = await startAgent(`
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [log_exporter_kafka]
    config:
      log_exporter_kafka:
        brokers: [${kafka.plaintext}]
        topic: ${topic}
        key: ${KEY}
        compression: ${COMPRESSION}
`);
    try {
      const pid = agent.proc.pid!;
      const cpu0 = cpuSeconds(pid);
      const payload = Buffer.from(Array.from({ length: N }, (_, k) => line(k)).join(''));
      const t0 = process.hrtime.bigint();
      await sendAll({ path: agent.ingest }, payload);
      for (;;) {
        const n = await kafka.count(topic);
        if (n >= N) break;
        if (Number(process.hrtime.bigint() - t0) / 1e9 > 600) throw new Error(`only ${n} of ${N} in Kafka after 600 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      return { eps: N / secs, mibps: payload.length / secs / 2 ** 20, rss: peakRssMiB(pid), cpuPerM: ((cpuSeconds(pid) - cpu0) / N) * 1e6 };
    } finally {
      await agent.stop();
    }
  }

  header(`kafka: unix -> log_exporter_kafka -> Apache Kafka (KRaft, 1 node, 3 partitions), compression ${COMPRESSION}, key ${KEY}, ${fmt(N)} entries x ${RUNS} runs`, 'node bench/kafka.ts [entries] [none|gzip|snappy|lz4|zstd] [node|module|none]');
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await run(i));
  console.log(`end-to-end entries/s   median ${fmt(median(runs.map((r) => r.eps)))}   (runs: ${runs.map((r) => fmt(r.eps)).join(', ')})`);
  console.log(`end-to-end input MiB/s median ${fmt(median(runs.map((r) => r.mibps)), 1)}`);
  console.log(`agent CPU s per million entries median ${fmt(median(runs.map((r) => r.cpuPerM)), 2)}`);
  console.log(`agent peak RSS MiB median ${fmt(median(runs.map((r) => r.rss)), 1)}`);
} finally {
  await kafka.close();
}
