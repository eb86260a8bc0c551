import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { decodeMessage, encodeRequest, LineReader, ProtocolError, RawJson } from '../../../agent/plugins/protocol/codec.ts';
import { PluginConnection, QueueFullError } from '../../../agent/plugins/protocol/connection.ts';
import { filterVerdictsOf, validateAiResult, validateCatalogue, validateKeep } from '../../../agent/plugins/validate-output.ts';
import { ROOT } from '../../helpers/agent.ts';
import { PY_FIXTURES } from './helpers.ts';

test('codec: a line over the bound is refused before it is parsed, even without a newline', () => {
  const r = new LineReader(16);
  assert.deepEqual(r.push(Buffer.from('{"status":0}\n{"st')), ['{"status":0}']);
  assert.throws(() => r.push(Buffer.from('atus":0,"x":"yyyyyyy')), (e: Error) => e instanceof ProtocolError && /longer than 16 bytes/.test(e.message));
});

test('codec: line and JSON-RPC dialects, events, and the errors the supervisor reports', () => {
  assert.equal(encodeRequest({ id: 7, op: 'process', payload: { entry: { message: 'x' } } }, 'line'), '{"id":7,"op":"process","entry":{"message":"x"}}\n');
  assert.equal(encodeRequest({ id: 7, op: 'init', payload: { config: {} } }, 'jsonrpc'), '{"jsonrpc":"2.0","id":7,"method":"init","params":{"config":{}}}\n');
  // Entries from records go out as the NDJSON they hold, byte for byte, in both dialects.
  const batch = new RawJson('[{"message":"a \\"q\\""},{"message":"b"}]');
  assert.equal(encodeRequest({ id: 8, op: 'process', payload: { batch } }, 'line'), '{"id":8,"op":"process","batch":[{"message":"a \\"q\\""},{"message":"b"}]}\n');
  assert.equal(encodeRequest({ id: 8, op: 'process', payload: { batch } }, 'jsonrpc'), '{"jsonrpc":"2.0","id":8,"method":"process","params":{"batch":[{"message":"a \\"q\\""},{"message":"b"}]}}\n');
  assert.deepEqual(JSON.parse(encodeRequest({ id: 9, op: 'process', payload: { x: 1, entry: new RawJson('{"message":"c"}') } }, 'jsonrpc')).params, { x: 1, entry: { message: 'c' } });
  assert.deepEqual(decodeMessage('{"id":7,"status":0,"keep":false}', 'line'), { kind: 'answer', id: 7, status: 0, error: undefined, stream: false, done: false, body: { keep: false } });
  assert.deepEqual(decodeMessage('{"status":0}', 'line'), { kind: 'answer', id: undefined, status: 0, error: undefined, stream: false, done: false, body: {} });
  assert.deepEqual(decodeMessage('{"event":"changed","version":3}', 'line'), { kind: 'event', event: 'changed', body: { version: 3 } });
  assert.deepEqual(decodeMessage('{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}}', 'jsonrpc').kind, 'answer');
  assert.equal((decodeMessage('{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}}', 'jsonrpc') as { status: number }).status, 1);
  assert.deepEqual(decodeMessage('{"jsonrpc":"2.0","id":4,"result":{"keep":[true,false]}}', 'jsonrpc'), { kind: 'answer', id: 4, status: 0, stream: false, done: false, body: { keep: [true, false] } });
  for (const [line, re] of [['', /empty answer/], ['{nope', /malformed JSON/], ['[1]', /not a JSON object/], ['{"id":1}', /without integer "status"/], ['{"id":"x","status":0}', /not an integer/]] as const) {
    assert.throws(() => decodeMessage(line, 'line'), re);
  }
});

function pair(opts: Partial<ConstructorParameters<typeof PluginConnection>[0]> = {}) {
  const sent: string[] = [];
  const faults: string[] = [];
  const conn = new PluginConnection({ name: 't', dialect: 'line', maxLineBytes: 1024, maxInflight: 2, queueLength: 3, write: (l) => void sent.push(l), onFault: (r) => void faults.push(r), ...opts });
  return { conn, sent, faults, answer: (o: object) => conn.feed(Buffer.from(JSON.stringify(o) + '\n')) };
}

test('connection: bare answers match in order; wrong id and floods end the connection', async () => {
  const a = pair();
  const p1 = a.conn.call('process', { entry: {} }, 1000, 1);
  const p2 = a.conn.call('process', { entry: {} }, 1000, 1);
  a.answer({ status: 0, keep: true });
  a.answer({ status: 0, keep: false });
  assert.deepEqual([await p1, await p2], [{ keep: true }, { keep: false }]);
  a.answer({ status: 0 });
  assert.deepEqual(a.faults, ['answer flood: an answer arrived with no request outstanding']);

  const b = pair();
  const p = b.conn.call('process', { entry: {} }, 1000, 1);
  b.answer({ id: 99, status: 0 });
  await assert.rejects(p, /wrong id: answer for request 99/);

  const c = pair({ maxStreamResults: 3 });
  const results: unknown[] = [];
  const s = (async () => {
    for await (const r of c.conn.stream('process', { entry: {} }, 1000)) results.push(r);
  })();
  for (let i = 0; i < 5; i++) c.answer({ id: 1, status: 0, stream: true, result: { message: `r${i}` } });
  await assert.rejects(s, /answer flood: more than 3 results/);
  assert.equal(results.length, 3);
});

test('connection: streamed results end at done; status 1 is an error; max_inflight and queue_length with counted drops', async () => {
  const a = pair();
  const got: unknown[] = [];
  const s = (async () => {
    for await (const r of a.conn.stream('process', { entry: {} }, 1000)) got.push(r);
  })();
  a.answer({ id: 1, status: 0, stream: true, result: { message: 'one' } });
  a.answer({ id: 1, status: 0, stream: true, result: { message: 'two' } });
  a.answer({ id: 1, status: 0, done: true });
  await s;
  assert.deepEqual(got, [{ message: 'one' }, { message: 'two' }]);
  const e = a.conn.call('process', { entry: {} }, 1000, 1);
  a.answer({ id: 2, status: 1, error: 'invalid input' });
  await assert.rejects(e, /status 1: invalid input/);

  const b = pair();
  const calls = [1, 1, 2, 1].map((n) => b.conn.call('process', { batch: [] }, 1000, n));
  const over = b.conn.call('process', { batch: [] }, 1000, 1);
  await assert.rejects(over, (err: Error) => err instanceof QueueFullError);
  assert.equal(b.sent.length, 2, 'only max_inflight requests on the wire');
  assert.equal(b.conn.queued, 3);
  assert.equal(b.conn.counters.queue_full_dropped_entries, 1);
  for (let id = 1; id <= 4; id++) b.answer({ id, status: 0 });
  await Promise.all(calls);
  assert.equal(b.sent.length, 4);
});

test('connection: a timed-out call rejects; its late answer is ignored, not a fault', async () => {
  const a = pair();
  await assert.rejects(a.conn.call('process', { entry: {} }, 20, 1), /no answer within 20 ms/);
  a.answer({ id: 1, status: 0, keep: true });
  assert.deepEqual(a.faults, []);
  assert.equal(a.conn.counters.late_answers, 1);
});

test('output validation: forged node/seq, unknown fields, control characters in templates, wrong verdicts are refused', () => {
  assert.throws(() => validateAiResult({ message: 'x', node: 'other' }), /sets "node", which only the agent may set/);
  assert.throws(() => validateAiResult({ message: 'x', seq: 5 }), /sets "seq"/);
  assert.throws(() => validateAiResult({ message: 'x', colour: 'red' }), /unknown field "colour"/);
  assert.throws(() => validateAiResult({ message: 'x'.repeat(20_000) }), /longer than|larger than/);
  assert.throws(() => validateAiResult({ level: 'LOUD', message: 'x' }), /is not a level/);
  assert.throws(() => validateAiResult({ message: 'x', args: [{}] }), /args must be numbers or strings/);
  assert.deepEqual(validateAiResult({ summary: 'a\nb', level: 'warn' }), { level: 'warn', module: 'AI', message: 'a\nb', lang_key: undefined, args: undefined, fields: undefined });
  assert.throws(() => validateKeep([true], 2), /has 1 verdicts for 2 entries/);
  assert.throws(() => validateKeep(true, 2), /a list of 2 verdicts/);
  assert.throws(() => validateKeep([true, { level: "x" }], 2), /"keep"\[1\]: a replacement entry has no "message" string/);
  // The fields only the agent sets are not a reason to refuse a copy: the supervisor keeps them from the original.
  assert.deepEqual(validateKeep({ message: "m", node: "forged" }, 1), [{ message: "m", node: "forged" }]);
  assert.deepEqual(filterVerdictsOf({}, 2), [true, true]);
  assert.deepEqual(filterVerdictsOf({ entry: { message: "m" } }, 1), [{ message: "m" }]);
  assert.throws(() => validateKeep('yes', 1), /true, false or an entry/);
  assert.deepEqual(validateKeep([true, null], 2), [true, undefined]);
  const bad: string[] = [];
  const cat = validateCatalogue({ en: { 'a.b': 'ok %s', 'c': 'line\nbreak', 'bad key!': 'x' }, '../x': {} }, (r) => bad.push(r));
  assert.deepEqual([...cat.get('en')!], [['a.b', 'ok %s']]);
  assert.equal(bad.length, 3);
});

test('runner: the minimal bare {"entry":…} form is answered {"status":0,…} in order (real python3, no agent)', () => {
  const spec = JSON.stringify({ plugin: join(PY_FIXTURES, 'filter_faulty.py'), name: 'filter_faulty', type: 'filter', state_dir: '/tmp', user: 'nobody' });
  const r = spawnSync('/usr/bin/python3', ['-I', '-B', join(ROOT, 'python/logloom_plugin/runner.py'), spec], {
    input: '{"entry":{"message":"keep"}}\n{"entry":{"message":"drop-me"}}\n{"batch":[{"message":"a"},{"message":"drop-me"}]}\n{"entry":"nope"}\n',
    encoding: 'utf8',
  });
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].event, 'ready');
  assert.deepEqual(lines.slice(1), [
    { status: 0, keep: true }, { status: 0, keep: false }, { status: 0, keep: [true, false] },
    { status: 1, error: 'ValueError: invalid input: entry must be an object, batch a list of objects' },
  ]);
});

test('socket host: non-loopback TCP only for plugins listed in plugins.remote_tcp; addresses are checked', async () => {
  const { hostFactory, parseAddress, isLoopback } = await import('../../../agent/plugins/hosts/socket.ts');
  const { createLog } = await import('../../../lib/log.ts');
  const plugin = { name: 'filter_remote', kind: 'socket', type: 'filter', origin: 'x.yaml', address: 'tcp:192.0.2.10:7000', protocol: 'line', trusted: false, limits: {} } as never;
  const env = { python: '/usr/bin/python3', runtimeDir: '/tmp', dataDir: '/tmp', log: createLog('ERROR', () => {}) };
  assert.throws(() => hostFactory(plugin, env), /tcp address 192.0.2.10 is not loopback; list filter_remote in plugins.remote_tcp/);
  assert.equal(hostFactory(plugin, { ...env, remoteTcp: ['filter_remote'] }).kind, 'socket');
  assert.deepEqual(parseAddress('tcp:[::1]:80'), { kind: 'tcp', host: '::1', port: 80 });
  assert.deepEqual(parseAddress('unix:/run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
  assert.throws(() => parseAddress('tcp:host:99999'), /invalid address/);
  assert.ok(isLoopback('127.0.0.5') && isLoopback('::1') && isLoopback('localhost') && !isLoopback('10.0.0.1'));
});
