import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { PythonHost } from '../../../agent/plugins/hosts/python.ts';
import { createLog } from '../../../lib/log.ts';
import type { PluginContext } from '../../../agent/plugins/types.ts';
import { ROOT, tempDir } from '../../helpers/agent.ts';
import { PY_FIXTURES } from './helpers.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('shutdown escalation: shutdown op, closed stdin, SIGTERM (ignored), then SIGKILL: the child is gone', async () => {
  const dir = tempDir('logloom-host-');
  chmodSync(dir, 0o755);
  const lines: string[] = [];
  const log = createLog('DEBUG', (l) => void lines.push(l));
  const ctx: PluginContext = {
    config: {}, node: 'n', stateDir: join(dir, 'state'), log: log.child('filter_stubborn'), render: (k: string) => k, emit: () => {}, chain: () => [],
  } as unknown as PluginContext;
  const host = new PythonHost({
    name: 'filter_stubborn', kind: 'python', type: 'filter', origin: 'x', file: join(PY_FIXTURES, 'stubborn_filter.py'), protocol: 'line', trusted: false,
    limits: { timeout_ms: 500, max_inflight: 4, queue_length: 100, on_error: 'keep' },
  } as never, { python: '/usr/bin/python3', runtimeDir: dir, dataDir: dir, log });
  const info = await host.start(ctx);
  assert.equal(info.name, 'filter_stubborn');
  const pid = host.pid!;
  assert.ok(alive(pid));
  let exits = 0;
  host.onExit = () => exits++;
  await host.stop();
  assert.equal(alive(pid), false);
  assert.equal(exits, 0, 'an orderly stop is not reported as a crash');
  assert.ok(lines.some((l) => /filter_stubborn: stderr: stubborn: refusing to shut down/.test(l)), lines.join('\n'));
  assert.match(String(host.status().last_exit), /killed by SIGKILL/);
});

test('rlimit fallback (where no cgroup is writable): the runner limits its own address space; a memory bomb gets MemoryError', () => {
  const spec = JSON.stringify({
    plugin: join(PY_FIXTURES, 'filter_faulty.py'), name: 'filter_faulty', type: 'filter', state_dir: '/tmp', user: 'nobody',
    rlimits: { memory_max: 256 * 1024 * 1024 },
  });
  const r = spawnSync('/usr/bin/python3', ['-I', '-B', join(ROOT, 'python/logloom_plugin/runner.py'), spec], {
    input: '{"id":1,"op":"process","entry":{"message":"memory"}}\n{"id":2,"op":"process","entry":{"message":"still here"}}\n', encoding: 'utf8', timeout: 60_000,
  });
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.slice(1), [{ status: 1, error: 'MemoryError: ', id: 1 }, { status: 0, keep: true, id: 2 }]);
});

function hostFor(file: string, name: string, type: string, dir: string, config: Record<string, unknown> = {}, user?: string, maxLineBytes?: number) {
  const lines: string[] = [];
  const log = createLog('DEBUG', (l) => void lines.push(l));
  const ctx = { config, node: 'n', stateDir: join(dir, name), log: log.child(name), render: (k: string) => k, emit: () => {} } as unknown as PluginContext;
  const host = new PythonHost({
    name, kind: 'python', type, origin: file, file, protocol: 'line', trusted: false,
    limits: { timeout_ms: 10_000, max_inflight: 4, queue_length: 100_000, on_error: 'keep', user },
  } as never, { python: '/usr/bin/python3', runtimeDir: dir, dataDir: dir, log, maxLineBytes });
  return { host, ctx, lines };
}

test('lines stay under the 1 MiB bound both ways: a 2.4 MB batch is split, a 1.5 MB catalogue is streamed in chunks', async () => {
  const dir = tempDir('logloom-host-');
  chmodSync(dir, 0o755);
  const { buildEntry } = await import('../../../entry/build.ts');
  const f = hostFor(join(PY_FIXTURES, 'filter_keyword.py'), 'filter_keyword', 'filter', dir, { words: ['secret'] });
  await f.host.start(f.ctx);
  try {
    const opts = { maxMessageBytes: 16384, defaultLevel: 'INFO' as const, defaultModule: 'T', node: 'n' };
    const batch = Array.from({ length: 600 }, (_, i) => buildEntry({ message: `${i % 3 === 0 ? 'secret ' : ''}${'x'.repeat(4000)}` }, opts));
    const verdicts = await f.host.filter(batch, 10_000);
    assert.equal(verdicts.length, 600);
    assert.deepEqual(verdicts.map((v, i) => v === (i % 3 !== 0)), new Array(600).fill(true));
    assert.ok((f.host.status().requests as number) >= 3, 'split into several requests');
  } finally {
    await f.host.stop();
  }

  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(dir, 'lang'));
  const big: Record<string, string> = {};
  for (let i = 0; i < 20_000; i++) big[`k${i}`] = `template number ${i} with some padding text %s`;
  writeFileSync(join(dir, 'lang/en.json'), JSON.stringify({ big }));
  const l = hostFor(join(ROOT, 'python/plugins/lang_hot_reload/lang_hot_reload.py'), 'lang_hot_reload', 'lang', dir, { dir: join(dir, 'lang') });
  await l.host.start(l.ctx);
  try {
    assert.equal(l.host.status().lang_cache_templates, 20_000);
    assert.equal(l.host.resolve('big.k19999', 'en'), 'template number 19999 with some padding text %s');
  } finally {
    await l.host.stop();
  }
});

test('limits.user: the plugin runs as the configured user instead of nobody, and owns its state dir', async () => {
  const dir = tempDir('logloom-host-');
  chmodSync(dir, 0o755);
  const { buildEntry } = await import('../../../entry/build.ts');
  const { readFileSync, statSync } = await import('node:fs');
  const f = hostFor(join(PY_FIXTURES, 'filter_faulty.py'), 'filter_faulty', 'filter', dir, {}, 'daemon');
  await f.host.start(f.ctx);
  try {
    await f.host.filter([buildEntry({ message: 'whoami' }, { maxMessageBytes: 1024, defaultLevel: 'INFO', defaultModule: 'T', node: 'n' })], 5000);
    assert.equal(readFileSync(join(dir, 'filter_faulty/whoami.txt'), 'utf8').trim(), '1');
    assert.equal(statSync(join(dir, 'filter_faulty')).uid, 1);
    assert.equal(f.host.status().user, 'daemon');
  } finally {
    await f.host.stop();
  }
});

test('plugins.max_line_bytes bounds answer lines: an over-long answer is a fault, reported with the bound, and the child is killed', async () => {
  const dir = tempDir('logloom-host-');
  chmodSync(dir, 0o755);
  const { buildEntry } = await import('../../../entry/build.ts');
  const f = hostFor(join(PY_FIXTURES, 'filter_faulty.py'), 'filter_faulty', 'filter', dir, {}, undefined, 8192);
  await f.host.start(f.ctx);
  const pid = f.host.pid!;
  const exited = new Promise<string>((r) => (f.host.onExit = r));
  try {
    await assert.rejects(f.host.filter([buildEntry({ message: 'longline' }, { maxMessageBytes: 1024, defaultLevel: 'INFO', defaultModule: 'T', node: 'n' })], 5000), /answer line longer than 8192 bytes/);
    assert.match(await exited, /answer line longer than 8192 bytes/);
  } finally {
    await f.host.stop();
  }
  assert.equal(alive(pid), false);
  assert.match(String(f.host.status().last_exit), /killed by SIGKILL/);
});
