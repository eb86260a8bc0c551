/**
 * The packaged executables export to a real Apache Kafka broker (test/helpers/kafka.ts): the
 * Kafka client and its WebAssembly codecs are inside the one file, for x64 and for arm64 (under
 * qemu-aarch64-static, as in binary.test.ts), with no node_modules beside it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { startKafka, type KafkaBroker } from '../helpers/kafka.ts';
import { BARE_ENV, X64, arm64, ensurePackaged, start } from './artefacts.ts';

let kafka: KafkaBroker;

before(async () => {
  ensurePackaged();
  kafka = await startKafka();
});

after(async () => {
  await kafka?.close();
});

// snappy and lz4 are the client's WebAssembly codecs (inlined in the bundle); gzip and zstd are Node's zlib.
for (const [target, compression] of [['x64', 'snappy'], ['arm64', 'lz4']] as const) {
  test(`${target} executable: log_exporter_kafka delivers to a real broker with ${compression}, from inside the executable`, async () => {
    const dir = tempDir(`logloom-kafka-${target}-`);
    const topic = `exe-${target}`;
    await kafka.createTopic(topic);
    const cfg = join(dir, 'logloom.yaml');
    writeFileSync(cfg, `logloom:
  node_id: ${target}-gw
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  inputs:
    - type: unix
      path: ${dir}/run/ingest.sock
  plugins:
    enabled: [log_exporter_kafka]
    config:
      log_exporter_kafka: { brokers: [${kafka.plaintext}], topic: ${topic}, compression: ${compression} }
  control:
    socket: ${dir}/run/control.sock
`);
    const agent = target === 'x64' ? start(X64, ['run', '-c', cfg], { env: BARE_ENV }) : start(...arm64(['run', '-c', cfg]));
    try {
      await Promise.race([
        agent.stderr.waitFor(new RegExp(`started on node ${target}-gw`), 90_000),
        agent.exited.then(({ code }) => { throw new Error(`${target} agent exited with ${code}:\n${agent.stderr.lines.join('\n')}`); }),
      ]);
      const lines = Array.from({ length: 200 }, (_, i) => `from ${target} ${i}`);
      await sendLines(`${dir}/run/ingest.sock`, lines);
      const records = await kafka.consume(topic, 200, 90_000);
      assert.deepEqual(records.map((r) => JSON.parse(r.value).message), lines);
      assert.equal(records[0]!.key, `${target}-gw`);
    } finally {
      agent.kill('SIGKILL');
      await agent.exited;
    }
  });
}
