import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { PythonHost } from '../../../agent/plugins/hosts/python.ts';
import { createLog } from '../../../agent/log.ts';
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
