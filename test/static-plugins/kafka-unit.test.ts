/**
 * log_exporter_kafka without a broker: topic templates and keys, how client errors are told to
 * the user, the client loaded only when the plugin starts, and the when_full policies while the
 * brokers are unreachable (a closed loopback port: a real refused connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeRouter } from '../../static-plugins/log_exporter_kafka/route.ts';
import { describeFailure } from '../../static-plugins/log_exporter_kafka/producer.ts';
import kafkaSink from '../../static-plugins/log_exporter_kafka/index.ts';
import { validateYaml } from '../../lib/schema/validate.ts';
import { startHarness, until, type Harness } from '../plugins/harness.ts';
import { freePort } from '../helpers/net.ts';
import { ROOT } from '../helpers/agent.ts';
import { rng } from '../helpers/rng.ts';

const f = (node: string, level: string, module: string) => ({ node, level, module });

test('kafka route: fixed topic, templates of node/level/module (lower-cased, illegal characters to _), keys', () => {
  const fixed = makeRouter({ topic: 'logs', key: 'node' });
  assert.equal(fixed.topic(f('gw-1', 'ERROR', 'PUMP')), 'logs');
  assert.equal(fixed.fixedTopic, 'logs');
  assert.equal(fixed.key(f('gw-1', 'ERROR', 'PUMP'))!.toString(), 'gw-1');
  assert.equal(fixed.usesNode, true);
  const t = makeRouter({ topic: 'logs.{node}.{level}-{module}', key: 'module' });
  assert.equal(t.topic(f('Gw 1/a', 'WARN', 'PUMP')), 'logs.gw_1_a.warn-pump');
  assert.equal(t.key(f('gw', 'WARN', 'PUMP'))!.toString(), 'PUMP');
  assert.equal(makeRouter({ topic: '{module}', key: 'none' }).topic(f('n', 'INFO', '')), '_');
  assert.equal(makeRouter({ topic: '{module}', key: 'none' }).key(f('n', 'INFO', 'X')), undefined);
  assert.equal(makeRouter({ topic: '{module}{level}', key: 'none' }).usesNode, false);
  assert.equal(makeRouter({ topic: 'x{node}', key: 'none' }).topic(f('.', 'INFO', 'M')), 'x.');
  assert.equal(makeRouter({ topic: '{module}', key: 'none' }).topic(f('n', 'INFO', '..')), '__');
  assert.equal(makeRouter({ topic: `{module}${'a'.repeat(260)}`, key: 'none' }).topic(f('n', 'INFO', 'M')).length, 249);
  assert.throws(() => makeRouter({ topic: '..', key: 'none' }), /topic "\.\.": not a valid Kafka topic name/);
});

test('kafka config: the topic pattern and cross-field rules give errors naming the key', async () => {
  const check = (block: unknown) => validateYaml(JSON.stringify({ k: block }), 'cfg.yaml', 'k', kafkaSink.configSchema).issues.map((i) => `${i.path}: ${i.message}`);
  assert.deepEqual(check({}), []);
  assert.match(check({ topic: 'logs/{level}' }).join('\n'), /topic: .*placeholders \{node\}, \{level\}, \{module\}/);
  assert.match(check({ topic: 'logs.{host}' }).join('\n'), /topic: /);
  assert.match(check({ brokers: ['kafka'] }).join('\n'), /brokers\[0\]: .*host:port/);
  assert.match(check({ compression: 'brotli' }).join('\n'), /compression: /);
  const h = await startHarness({ statics: [kafkaSink], config: { enabled: ['log_exporter_kafka'], config: { log_exporter_kafka: validateYaml<Record<string, unknown>>(JSON.stringify({ k: { sasl: { mechanism: 'scram-sha-512', username: 'u' } } }), 'c', 'k', kafkaSink.configSchema).value! } } });
  try {
    await h.log.waitFor(/Failed to load plugin 'log_exporter_kafka': init failed: .*sasl\.password_file is required with sasl\.mechanism scram-sha-512/);
  } finally {
    await h.stop();
  }
});

test('kafka failures: the client\'s nested errors become one line naming the topic, user or broker', () => {
  const ctx = { topics: ['logs'], brokers: ['10.0.0.1:9092'], user: 'alice', mechanism: 'SCRAM-SHA-256' };
  const protocol = (apiId: string, serverErrorMessage: string | null = null) => ({ message: 'Received response with error while executing API Produce(v11)', errors: [{ message: 'x', code: 'PLT_KFK_PROTOCOL', apiId, serverErrorMessage }] });
  assert.deepEqual(describeFailure({ message: 'produce failed 3 times.', errors: [protocol('UNKNOWN_TOPIC_OR_PARTITION')] }, ctx).kind, 'unknown_topic');
  assert.match(describeFailure(protocol('UNKNOWN_TOPIC_OR_PARTITION'), ctx).text, /^topic "logs" does not exist on the brokers/);
  const tooLarge = describeFailure(protocol('MESSAGE_TOO_LARGE'), ctx);
  assert.equal(tooLarge.kind, 'too_large');
  assert.match(tooLarge.text, /"logs" as too large/);
  const auth = describeFailure({ message: 'a', code: 'PLT_KFK_AUTHENTICATION', cause: protocol('SASL_AUTHENTICATION_FAILED', 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256') }, ctx);
  assert.equal(auth.kind, 'auth');
  assert.equal(auth.text, 'the brokers refused SASL authentication as "alice" (SCRAM-SHA-256): Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256');
  const net = describeFailure({ message: 'Producing messages failed.', code: 'PLT_KFK_NETWORK', cause: { message: 'connect ECONNREFUSED 10.0.0.1:9092', code: 'ECONNREFUSED' } }, ctx);
  assert.deepEqual(net, { kind: 'unreachable', text: 'brokers 10.0.0.1:9092 unreachable: connect ECONNREFUSED 10.0.0.1:9092' });
  assert.equal(describeFailure(protocol('COORDINATOR_LOAD_IN_PROGRESS'), ctx).kind, 'transient');
  assert.equal(describeFailure(new Error('odd'), ctx).text, 'error: odd');
  assert.equal(describeFailure(undefined, ctx).kind, 'other');
});

test('kafka client: loaded only when the plugin starts, never by the static table alone', () => {
  // A child with a resolve hook reports whether anything under @platformatic/kafka was resolved.
  const script = `
    import { registerHooks } from 'node:module';
    let seen = false;
    registerHooks({ resolve(spec, ctx, next) { if (spec.includes('@platformatic/kafka')) seen = true; return next(spec, ctx); } });
    const { STATIC_PLUGINS } = await import(${JSON.stringify(join(ROOT, 'static-plugins/table.generated.ts'))});
    const kafka = STATIC_PLUGINS.find((p) => p.info.name === 'log_exporter_kafka');
    const before = seen;
    const sink = kafka.create();
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const config = { brokers: ['127.0.0.1:1'], topic: 't', key: 'none', compression: 'none', batch_max_entries: 1, batch_max_bytes: 1024, batch_max_ms: 10,
      max_queued_entries: 10, when_full: 'block', tls: { enabled: false }, sasl: { mechanism: 'none' }, connect_timeout: 100, request_timeout: 100,
      backoff_min: 10, backoff_max: 10, shutdown_timeout: 0 };
    await sink.init({ config, node: 'n', stateDir: '/tmp', log, render: () => '', emit() {} });
    console.log(JSON.stringify({ before, after: seen }));
    await sink.shutdown();
  `;
  const out = execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { before: false, after: true });
});

async function unreachable(extra: Record<string, unknown>): Promise<Harness> {
  const port = await freePort();
  const { value, issues } = validateYaml<Record<string, unknown>>(JSON.stringify({ k: { brokers: [`127.0.0.1:${port}`], batch_max_entries: 10, batch_max_ms: 10, backoff_min: 20, backoff_max: 100, connect_timeout: 500, shutdown_timeout: 0, ...extra } }), 't', 'k', kafkaSink.configSchema);
  assert.deepEqual(issues, []);
  return startHarness({ statics: [kafkaSink], config: { enabled: ['log_exporter_kafka'], failure_threshold: 1000, config: { log_exporter_kafka: value! } } });
}

const st = (h: Harness) => h.registry.supervisor('log_exporter_kafka')!.status() as Record<string, any>;

test('kafka when_full: with the brokers unreachable, drop_oldest and drop_newest drop past max_queued_entries and count it; block drops nothing', async () => {
  for (const policy of ['drop_oldest', 'drop_newest'] as const) {
    const h = await unreachable({ max_queued_entries: 100, when_full: policy });
    try {
      for (let i = 0; i < 300; i++) h.send(`e${i}`);
      await until(h.pipeline, () => st(h).queued_entries + st(h).dropped_full === 300 && st(h).state === 'unreachable', 20_000, `${policy}: all 300 taken, the refused connection seen`);
      const s = st(h);
      assert.ok(s.queued_entries <= 100, `${policy}: ${s.queued_entries} queued`);
      assert.ok(s.dropped_full >= 190, `${policy}: ${s.dropped_full} dropped`);
      assert.equal(s.dropped_entries, s.dropped_full);
      assert.equal(s.state, 'unreachable', JSON.stringify(s));
      assert.match(s.last_error, /unreachable: .*ECONNREFUSED/);
    } finally {
      await h.stop();
    }
  }
  const h = await unreachable({ max_queued_entries: 100, when_full: 'block' });
  try {
    for (let i = 0; i < 300; i++) h.send(`e${i}`);
    const runner = h.pipeline.sinks[0]!;
    // The plugin stops taking entries; the rest wait in the agent's own sink queue (backpressure).
    await until(h.pipeline, () => st(h).queued_entries >= 100 && runner.queued + st(h).queued_entries === 300, 20_000, 'backpressure');
    assert.equal(st(h).dropped_entries, 0);
    assert.equal(runner.dropped, 0);
  } finally {
    await h.stop();
  }
  await h.log.waitFor(/stopped with \d+ entries not acknowledged by Kafka/);
});

test('kafka fuzz (seeded): any node/level/module gives a legal topic; any error shape is described without throwing', () => {
  const rnd = rng(0x5eed);
  const str = (n: number) => Array.from({ length: Math.floor(rnd() * n) }, () => String.fromCodePoint(Math.floor(rnd() * (rnd() < 0.8 ? 128 : 0x3000)))).join('');
  const router = makeRouter({ topic: 'a.{node}.{level}.{module}', key: 'module' });
  const bare = makeRouter({ topic: '{module}', key: 'node' });
  for (let i = 0; i < 5000; i++) {
    const fields = { node: str(300), level: str(10), module: str(20) };
    for (const r of [router, bare]) {
      const t = r.topic(fields);
      assert.match(t, /^[a-z0-9._-]+$/, JSON.stringify(fields));
      assert.ok(t.length <= 249 && t !== '.' && t !== '..');
    }
  }
  const ids = ['UNKNOWN_TOPIC_OR_PARTITION', 'MESSAGE_TOO_LARGE', 'SASL_AUTHENTICATION_FAILED', 'COORDINATOR_NOT_AVAILABLE', 'X', undefined];
  const shape = (depth: number): unknown => {
    const r = rnd();
    if (depth > 4 || r < 0.15) return [null, undefined, 7, 'text', Symbol('s'), () => 1][Math.floor(rnd() * 6)];
    const o: Record<string, unknown> = {};
    if (rnd() < 0.7) o.message = rnd() < 0.9 ? str(40) : 42;
    if (rnd() < 0.4) o.code = ['PLT_KFK_NETWORK', 'PLT_KFK_AUTHENTICATION', 'ECONNRESET', 5][Math.floor(rnd() * 4)];
    if (rnd() < 0.4) o.apiId = ids[Math.floor(rnd() * ids.length)];
    if (rnd() < 0.3) o.serverErrorMessage = rnd() < 0.5 ? str(30) : null;
    if (rnd() < 0.4) o.errors = rnd() < 0.9 ? Array.from({ length: Math.floor(rnd() * 3) }, () => shape(depth + 1)) : 'not a list';
    if (rnd() < 0.3) o.cause = rnd() < 0.1 ? o : shape(depth + 1);
    return o;
  };
  for (let i = 0; i < 3000; i++) {
    const f = describeFailure(shape(0), { topics: ['t'], brokers: ['b:1'] });
    assert.equal(typeof f.text, 'string');
    assert.ok(f.text.length > 0);
  }
});
