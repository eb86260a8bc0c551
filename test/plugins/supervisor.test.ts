import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin, type AiPlugin, type FilterPlugin } from '../../agent/plugins/types.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { recordingSink, startHarness, until } from './harness.ts';

function filter(name: string, fn: (e: LogEntry) => ReturnType<FilterPlugin['filter']>, hooks: { init?: () => void; shutdown?: () => void } = {}) {
  return definePlugin({
    info: { name, version: '1.0.0', author: 'test', type: 'filter', capability: [], mode: 'sync' },
    create: (): FilterPlugin => ({ filter: fn, init: hooks.init, shutdown: hooks.shutdown }),
  });
}

test('a filter that throws: entries keep flowing (fail open), the error line names the plugin', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filter('filter_boom', (e) => { if (e.message.includes('boom')) throw new Error('cannot parse'); return !e.message.includes('drop'); }), sink.mod],
    config: { enabled: ['filter_boom', 'sink_record'] },
  });
  try {
    for (const m of ['a', 'boom 1', 'drop me', 'b', 'boom 2', 'c']) h.send(m);
    await until(h.pipeline, () => sink.received.length >= 5, 10_000, '5 entries at the sink');
    assert.deepEqual(sink.received.map((e) => e.message), ['a', 'boom 1', 'b', 'boom 2', 'c']);
    await h.log.waitFor(/^\[ERROR\] Plugin communication failed: filter_boom: cannot parse$/);
    const st = h.registry.supervisor('filter_boom')!.status();
    assert.equal(st.failed_open, 2);
  } finally {
    await h.stop();
  }
});

test('on_error: drop drops the entries a failing filter could not judge', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filter('filter_boom', (e) => { if (e.message.includes('boom')) throw new Error('bad'); return true; }), sink.mod],
    config: { enabled: ['filter_boom', 'sink_record'], defaults: { on_error: 'drop' } },
  });
  try {
    for (const m of ['a', 'boom', 'b']) h.send(m);
    await until(h.pipeline, () => sink.received.length >= 2 && h.pipeline.buffer.length === 0);
    await h.stop();
    assert.deepEqual(sink.received.map((e) => e.message), ['a', 'b']);
  } finally {
    await h.stop();
  }
});

test('a filter that hangs is cut off by timeout_ms, entries keep flowing, then it is marked failed and restarted with backoff', async () => {
  const sink = recordingSink();
  let starts = 0;
  let stops = 0;
  const h = await startHarness({
    // A filter whose answer never settles (e.g. a service that stopped answering).
    statics: [filter('filter_hang', (e) => (e.message.startsWith('hang') ? new Promise<boolean>(() => {}) : true), { init: () => void starts++, shutdown: () => void stops++ }), sink.mod],
    config: { enabled: ['filter_hang', 'sink_record'], defaults: { timeout_ms: 100 }, failure_threshold: 2 },
  });
  try {
    h.send('first');
    h.send('hang 1');
    h.send('after 1');
    await h.log.waitFor(/^\[ERROR\] Plugin communication failed: filter_hang: call timed out after 100 ms$/);
    await until(h.pipeline, () => sink.received.length >= 3, 10_000, 'entries after the hang');
    // Fail open: the entries of the batch that timed out are kept.
    assert.deepEqual(sink.received.map((e) => e.message).sort(), ['after 1', 'first', 'hang 1']);
    h.send('hang 2');
    await h.log.waitFor(/^\[ERROR\] Plugin filter_hang marked failed \(2 consecutive errors\); restarting in 50 ms$/);
    await h.log.waitFor(/^\[INFO\] Plugin filter_hang restarted \(restart 1\)$/);
    assert.equal(starts, 2);
    assert.equal(stops, 1);
    h.send('after restart');
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'after restart'));
    assert.equal(h.registry.list().find((r) => r.name === 'filter_hang')!.state, 'enabled');
  } finally {
    await h.stop();
  }
});

test('a plugin whose restarts keep failing backs off exponentially and shows state failed', async () => {
  let starts = 0;
  const sink = recordingSink();
  const h = await startHarness({
    statics: [
      filter('filter_flaky', () => { throw new Error('always'); }, { init: () => { if (++starts > 1) throw new Error('cannot start again'); } }),
      sink.mod,
    ],
    config: { enabled: ['filter_flaky', 'sink_record'], failure_threshold: 1 },
    restartMinMs: 20,
  });
  try {
    h.send('x');
    await h.log.waitFor(/marked failed \(1 consecutive errors\); restarting in 20 ms/);
    await h.log.waitFor(/marked failed \(restart failed\); restarting in 40 ms/);
    await h.log.waitFor(/marked failed \(restart failed\); restarting in 80 ms/);
    assert.equal(h.registry.list().find((r) => r.name === 'filter_flaky')!.state, 'failed');
    // While failed the filter is skipped per on_error (keep): entries still arrive.
    h.send('y');
    await until(h.pipeline, () => sink.received.length >= 2);
  } finally {
    await h.stop();
  }
});

test('a sink that fails 3 times then succeeds loses nothing and keeps order', async () => {
  const sink = recordingSink('sink_record', 3);
  const h = await startHarness({ statics: [sink.mod], config: { enabled: ['sink_record'], failure_threshold: 10 } });
  try {
    const sent = Array.from({ length: 50 }, (_, i) => `line ${i}`);
    for (const m of sent) h.send(m);
    await until(h.pipeline, () => sink.received.length >= 50, 20_000, 'all 50 entries delivered');
    assert.deepEqual(sink.received.map((e) => e.message), sent);
    assert.equal(sink.calls(), 4);
    await h.log.waitFor(/^\[ERROR\] Plugin communication failed: sink_record: refused batch 1$/);
    const runner = h.pipeline.sinks[0]!;
    assert.equal(runner.failures, 3);
    assert.equal(runner.dropped, 0);
    assert.equal(runner.queued, 0);
  } finally {
    await h.stop();
  }
});

test('entries cannot be mutated by a plugin: writes throw, are reported, and sinks see the original', async () => {
  const sink = recordingSink();
  const attempts: string[] = [];
  const tamper = filter('filter_tamper', (e) => {
    const tries: [string, () => void][] = [
      ['message', () => ((e as { message: string }).message = 'changed')],
      ['args', () => (e.args as (string | number)[]).push('extra')],
      ['fields', () => ((e.fields as Record<string, unknown>).user = 'mallory')],
      ['level', () => ((e as { level: string }).level = 'DEBUG')],
    ];
    for (const [what, f] of tries) {
      try {
        f();
        attempts.push(`${what}: changed`);
      } catch (err) {
        attempts.push(`${what}: ${(err as Error).name}`);
      }
    }
    (e as { message: string }).message = 'final attempt';
    return true;
  });
  const h = await startHarness({ statics: [tamper, sink.mod], config: { enabled: ['filter_tamper', 'sink_record'] } });
  try {
    h.send({ message: 'original', args: ['a'], fields: { user: 'alice' }, level: 'WARN' });
    await until(h.pipeline, () => sink.received.length >= 1);
    assert.deepEqual(attempts, ['message: TypeError', 'args: TypeError', 'fields: TypeError', 'level: TypeError']);
    const got = sink.received[0]!;
    assert.equal(got.message, 'original');
    assert.deepEqual(got.args, ['a']);
    assert.deepEqual(got.fields, { user: 'alice' });
    assert.equal(got.level, 'WARN');
    await h.log.waitFor(/^\[ERROR\] Plugin communication failed: filter_tamper: TypeError: Cannot assign to read only property 'message'/);
  } finally {
    await h.stop();
  }
});

test('a filter forwards a replacement copy: downstream sees the copy, the original object is untouched', async () => {
  const sink = recordingSink();
  let original: LogEntry | undefined;
  const h = await startHarness({
    statics: [filter('filter_copy', (e) => ((original = e), { ...e, message: e.message.toUpperCase() + '\u001b[2J', module: 'copy', fields: { note: 'x\ny' } })), sink.mod],
    config: { enabled: ['filter_copy', 'sink_record'] },
  });
  try {
    h.send({ message: 'hello', module: 'orig' });
    await until(h.pipeline, () => sink.received.length >= 1);
    // The copy goes through the same sanitising as inputs: control characters escaped, module upper-cased.
    assert.match(sink.received[0]!.message, /^HELLO\S+\[2J$/);
    assert.ok(!sink.received[0]!.message.includes('\u001b'));
    assert.equal(sink.received[0]!.module, 'COPY');
    assert.ok(!String(sink.received[0]!.fields!.note).includes('\n'));
    assert.equal(sink.received[0]!.timestamp, original!.timestamp);
    assert.ok(Object.isFrozen(sink.received[0]));
    assert.equal(original!.message, 'hello');
    assert.equal(original!.module, 'ORIG');
  } finally {
    await h.stop();
  }
});

test('ai: results become entries with module AI; a full queue drops and counts', async () => {
  const sink = recordingSink();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const ai = definePlugin({
    info: { name: 'ai_echo', version: '1.0.0', author: 'test', type: 'ai', capability: [], mode: 'async' },
    create: (): AiPlugin => ({
      async *analyze(e) {
        await gate;
        yield { level: 'WARN', summary: `saw: ${e.message}` };
        yield { message: 'second result', fields: { score: 0.5 } };
      },
    }),
  });
  const h = await startHarness({
    statics: [ai, sink.mod],
    config: { enabled: ['ai_echo', 'sink_record'], limits: { ai_echo: { timeout_ms: 5000, max_inflight: 1, queue_length: 2, on_error: 'keep' } } as never },
  });
  try {
    for (const m of ['m1', 'm2', 'm3', 'm4', 'm5']) h.send(m);
    // m1 in flight, m2 and m3 queued, m4 and m5 dropped.
    await until(h.pipeline, () => (h.pipeline.aiDropped.get('ai_echo') ?? 0) === 2, 10_000, '2 ai drops');
    release();
    await until(h.pipeline, () => sink.received.filter((e) => e.module === 'AI').length >= 6, 10_000, '6 ai results');
    const ai1 = sink.received.filter((e) => e.module === 'AI');
    assert.deepEqual(ai1.filter((e) => e.message.startsWith('saw')).map((e) => [e.level, e.message, e.source]), [
      ['WARN', 'saw: m1', 'plugin:ai_echo'], ['WARN', 'saw: m2', 'plugin:ai_echo'], ['WARN', 'saw: m3', 'plugin:ai_echo'],
    ]);
    assert.deepEqual(ai1.find((e) => e.message === 'second result')!.fields, { score: 0.5 });
    assert.equal(h.pipeline.totalDropped(), 2);
  } finally {
    await h.stop();
  }
});
