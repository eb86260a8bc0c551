/**
 * A real Apache Kafka broker for tests: single node, KRaft, run by toolchain/kafka.sh from the jars
 * Maven Central serves, on free loopback ports. One broker has four client listeners: PLAINTEXT
 * (the tests' own admin and consumer), SSL (certificates made here with openssl), MTLS (SSL that
 * requires a client certificate) and SASL_PLAINTEXT (SCRAM-SHA-256/512 users created at format
 * time, PLAIN users in the JAAS line).
 * Topics are never created on their own (auto.create.topics.enable=false).
 *
 * Every start is bounded (startTimeoutMs) and a broker is killed when the test process exits,
 * whatever happened; stop() and kill() wait for the process to be gone.
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Consumer, MessagesStreamModes } from '@platformatic/kafka';
import { ROOT, tempDir } from './agent.ts';
import { freePort } from './net.ts';
import { waitForFile } from './wait.ts';

export interface KafkaUser {
  name: string;
  password: string;
}

export interface KafkaCerts {
  /** PEM file of the test CA (what a client trusts). */
  ca: string;
  /** A client certificate and key signed by the same CA (mutual TLS). */
  clientCert: string;
  clientKey: string;
}

export interface KafkaBroker {
  dir: string;
  /** host:port of each listener. */
  plaintext: string;
  ssl: string;
  /** SSL listener that requires a client certificate signed by the test CA. */
  mtls: string;
  sasl: string;
  certs: KafkaCerts;
  users: readonly KafkaUser[];
  /** The broker's stdout/stderr (WARN and above, plus its start line). */
  logFile: string;
  start(): Promise<void>;
  /** SIGTERM, waits for exit (controlled shutdown). */
  stop(): Promise<void>;
  /** SIGKILL, waits for exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the broker freezes with its connections open (requests time out, nothing is refused). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** stop(), then removes the broker's directory (data, certificates, log). */
  close(): Promise<void>;
  createTopic(name: string, opts?: { partitions?: number; configs?: Record<string, string> }): Promise<void>;
  /** Records in a topic (the sum of its partitions' end offsets): a duplicate would show here. */
  count(topic: string): Promise<number>;
  /** Reads a topic from the beginning until `count` records arrived (or timeoutMs passed: rejects). */
  consume(topic: string, count: number, timeoutMs?: number): Promise<ConsumedRecord[]>;
}

export interface ConsumedRecord {
  partition: number;
  offset: bigint;
  key: string | undefined;
  value: string;
}

/** A CA and a server certificate for 127.0.0.1/localhost, made with openssl. */
function makeCerts(dir: string): { ca: string; serverPem: string; clientCert: string; clientKey: string } {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=logloom-test-ca']);
  o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  // Kafka's PEM key store: the (PKCS#8, unencrypted) key and the certificate chain in one file.
  o(['pkcs8', '-topk8', '-nocrypt', '-in', 'server.key', '-out', 'server.p8']);
  const bundle = join(dir, 'server-keystore.pem');
  writeFileSync(bundle, readFileSync(join(dir, 'server.p8'), 'utf8') + readFileSync(join(dir, 'server.pem'), 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8'));
  o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=gw-0001']);
  o(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2']);
  return { ca: join(dir, 'ca.pem'), serverPem: bundle, clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key') };
}

export async function startKafka(opts: { startTimeoutMs?: number; users?: KafkaUser[] } = {}): Promise<KafkaBroker> {
  const startTimeoutMs = opts.startTimeoutMs ?? 150_000;
  const users = opts.users ?? [{ name: 'alice', password: 'alice-secret' }];
  // The jars first, with their own bound: on a fresh machine Maven fetches them (about 60 MB) once.
  await new Promise<void>((resolve, reject) => {
    execFile(join(ROOT, 'toolchain/kafka.sh'), ['classpath'], { timeout: 600_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`toolchain/kafka.sh classpath failed: ${err.message}\n${stderr.slice(-3000)}`)) : resolve());
  });
  const dir = tempDir('logloom-kafka-');
  mkdirSync(join(dir, 'certs'));
  const certs = makeCerts(join(dir, 'certs'));
  const [pPlain, pCtl, pSsl, pSasl, pMtls] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const host = '127.0.0.1';
  const plainJaas = users.map((u) => `user_${u.name}="${u.password}"`).join(' ');
  const config = join(dir, 'server.properties');
  writeFileSync(config, [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.bootstrap.servers=${host}:${pCtl}`,
    `listeners=PLAINTEXT://${host}:${pPlain},CONTROLLER://${host}:${pCtl},SSL://${host}:${pSsl},SASL_PLAINTEXT://${host}:${pSasl},MTLS://${host}:${pMtls}`,
    `advertised.listeners=PLAINTEXT://${host}:${pPlain},SSL://${host}:${pSsl},SASL_PLAINTEXT://${host}:${pSasl},MTLS://${host}:${pMtls}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,MTLS:SSL',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // SSL listener: a PEM key store (key + chain), no client certificates asked for.
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${certs.serverPem}`,
    // MTLS listener: the same key store, and client certificates signed by the test CA required.
    'listener.name.mtls.ssl.client.auth=required',
    'listener.name.mtls.ssl.truststore.type=PEM',
    `listener.name.mtls.ssl.truststore.location=${certs.ca}`,
    // SASL listener: SCRAM users come from the metadata log (added at format), PLAIN users from JAAS.
    'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
    'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainJaas};`,
    '',
  ].join('\n'));
  const formatArgs = users.flatMap((u) => ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`]));
  const logFile = join(dir, 'broker.log');
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let starts = 0;
  const killGroup = (sig: NodeJS.Signals) => {
    // kafka.sh execs the broker, but a storage format may still be running as its child: the group goes.
    try {
      if (proc?.pid) process.kill(-proc.pid, sig);
    } catch { /* already gone */ }
  };
  const reap = () => killGroup('SIGKILL');
  process.once('exit', reap);

  const broker: KafkaBroker = {
    dir, plaintext: `${host}:${pPlain}`, ssl: `${host}:${pSsl}`, mtls: `${host}:${pMtls}`, sasl: `${host}:${pSasl}`,
    certs: { ca: certs.ca, clientCert: certs.clientCert, clientKey: certs.clientKey }, users, logFile,
    async start() {
      const marker = ++starts;
      const fd = openSync(logFile, 'a');
      writeFileSync(logFile, `--- start ${marker}\n`, { flag: 'a' });
      proc = spawn(join(ROOT, 'toolchain/kafka.sh'), ['run', config, ...formatArgs], { stdio: ['ignore', fd, fd], detached: true });
      closeSync(fd);
      const p = proc;
      exited = new Promise((r) => p.once('exit', () => r()));
      let early = false;
      void exited.then(() => (early = true));
      try {
        await waitForFile(logFile, (t) => {
          const mine = t.slice(t.lastIndexOf(`--- start ${marker}\n`));
          if (/Kafka Server started/.test(mine)) return true;
          if (early) throw new Error(`kafka broker exited while starting:\n${mine.slice(-3000)}`);
          return undefined;
        }, startTimeoutMs);
      } catch (e) {
        killGroup('SIGKILL');
        await exited;
        throw e;
      }
    },
    async stop() {
      killGroup('SIGTERM');
      killGroup('SIGCONT');
      const t = setTimeout(() => killGroup('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      killGroup('SIGKILL');
      await exited;
    },
    pause() {
      killGroup('SIGSTOP');
    },
    resume() {
      killGroup('SIGCONT');
    },
    async close() {
      await broker.stop();
      process.off('exit', reap);
      rmSync(dir, { recursive: true, force: true });
    },
    async createTopic(name, o = {}) {
      const admin = new Admin({ clientId: 'logloom-test-admin', bootstrapBrokers: [broker.plaintext], retries: 20, retryDelay: 250 });
      try {
        await admin.createTopics({
          topics: [name], partitions: o.partitions ?? 1, replicas: 1,
          configs: Object.entries(o.configs ?? {}).map(([n, value]) => ({ name: n, value })),
        });
      } finally {
        await admin.close();
      }
    },
    async count(topic) {
      const consumer = new Consumer({ clientId: 'logloom-test-offsets', groupId: `logloom-test-offsets-${Date.now()}`, bootstrapBrokers: [broker.plaintext] });
      try {
        const offsets = await consumer.listOffsets({ topics: [topic] });
        return (offsets.get(topic) ?? []).reduce((a, b) => a + Number(b), 0);
      } finally {
        await consumer.close(true).catch(() => {});
      }
    },
    async consume(topic, count, timeoutMs = 60_000) {
      const consumer = new Consumer({ clientId: 'logloom-test-consumer', groupId: `logloom-test-${topic}-${Date.now()}`, bootstrapBrokers: [broker.plaintext], autocommit: false });
      const out: ConsumedRecord[] = [];
      try {
        const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, maxWaitTime: 200 });
        const timer = setTimeout(() => void stream.close(), timeoutMs);
        try {
          for await (const m of stream) {
            out.push({ partition: m.partition, offset: m.offset, key: m.key?.length ? m.key.toString() : undefined, value: m.value.toString() });
            if (out.length >= count) break;
          }
        } finally {
          clearTimeout(timer);
          await stream.close().catch(() => {});
        }
      } finally {
        await consumer.close(true).catch(() => {});
      }
      if (out.length < count) throw new Error(`consumed ${out.length} of ${count} records from ${topic} within ${timeoutMs} ms`);
      return out;
    },
  };
  await broker.start();
  return broker;
}

/** Entries' `n` field in the order consumed, per partition. */
export function perPartition(records: readonly ConsumedRecord[], field: (v: Record<string, unknown>) => number): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const r of records) {
    const list = m.get(r.partition) ?? [];
    list.push(field(JSON.parse(r.value) as Record<string, unknown>));
    m.set(r.partition, list);
  }
  return m;
}
