/**
 * How `make package` makes the executable start (STARTUP): a V8 code cache by default, a V8
 * start-up snapshot on request (logloom-linux-x64-snapshot; its modules are initialised at build
 * time, so each start must still read its own environment and run like the default build). An
 * unknown value is refused before anything is built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { HEAP_DEFAULTS, seaConfig } from '../../toolchain/package.ts';
import { BARE_ENV, X64_SNAPSHOT, ensurePackaged, runTo, start } from './artefacts.ts';

test('make package STARTUP: code-cache by default, snapshot on request, the heap limits and V8 flags either way; an unknown value is refused naming STARTUP', () => {
  const cache = seaConfig('/b/logloom.cjs', '/b/blob', HEAP_DEFAULTS, 'code-cache');
  assert.equal(cache.useCodeCache, true);
  assert.equal(cache.useSnapshot, undefined);
  const snap = seaConfig('/b/logloom.cjs', '/b/blob', HEAP_DEFAULTS, 'snapshot');
  assert.equal(snap.useSnapshot, true);
  assert.equal(snap.useCodeCache, undefined);
  for (const c of [snap, cache]) assert.deepEqual(c.execArgv, [`--max-old-space-size=${HEAP_DEFAULTS.oldSpaceMiB}`, `--max-semi-space-size=${HEAP_DEFAULTS.semiSpaceMiB}`, '--no-turbofan']);
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'toolchain/package.ts'), '--target', 'x64', '--startup', 'fast'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /STARTUP: expected one of code-cache, snapshot, got "fast"/);
});

test('x64 executable with a start-up snapshot: each start reads its own environment, and the agent runs: unix socket → sink_file, heap limits baked in', async () => {
  ensurePackaged('snapshot');
  const v = await runTo(X64_SNAPSHOT, ['--version'], { env: BARE_ENV });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, 'logloom 0.1.0 (node 24.21.0, x64)');
  // LOGLOOM_CONFIG is read at each start, not frozen at build time.
  const dir = tempDir('logloom-snapshot-');
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(good, `logloom:\n  node_id: gw-env\n  data_dir: ${dir}/data\n`);
  writeFileSync(bad, 'logloom:\n  node_id: [not, a, string]\n');
  const a = await runTo(X64_SNAPSHOT, ['check-config'], { env: { ...BARE_ENV, LOGLOOM_CONFIG: good } });
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /good\.yaml: ok/);
  const b = await runTo(X64_SNAPSHOT, ['check-config'], { env: { ...BARE_ENV, LOGLOOM_CONFIG: bad } });
  assert.equal(b.code, 1);
  assert.match(b.stdout + b.stderr, /bad\.yaml:2:\d+: .*node_id/);

  const cfg = join(dir, 'logloom.yaml');
  const sock = join(dir, 'in.sock');
  writeFileSync(cfg, `logloom:
  node_id: snap-gw
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  control:
    socket: ${dir}/run/control.sock
  inputs:
    - type: unix
      path: ${sock}
  plugins:
    enabled: [filter_level, sink_file]
    config:
      filter_level: { min_level: INFO }
      sink_file: { path: ${dir}/out.log, format: json }
`);
  const agent = start(X64_SNAPSHOT, ['run', '-c', cfg], { env: BARE_ENV });
  try {
    await agent.stderr.waitFor(/started on node snap-gw/, 30_000);
    await new Promise<void>((resolve, reject) => {
      const c = createConnection(sock, () => c.end('{"level":"DEBUG","message":"dropped"}\n{"level":"WARN","message":"one"}\nplain two\n', () => resolve()));
      c.on('error', reject);
    });
    const lines = (await waitForLines(`${dir}/out.log`, 2, 30_000)).map((l) => JSON.parse(l) as { message: string; level: string; node: string });
    assert.deepEqual(lines.map((e) => [e.level, e.message, e.node]), [['WARN', 'one', 'snap-gw'], ['INFO', 'plain two', 'snap-gw']]);
    const st = await runTo(X64_SNAPSHOT, ['status', '--json', '--socket', join(dir, 'run/control.sock')], { env: BARE_ENV });
    assert.equal(st.code, 0, st.stderr);
    const limit = JSON.parse(st.stdout).memory.heap_limit_mib;
    assert.ok(limit >= HEAP_DEFAULTS.oldSpaceMiB && limit < HEAP_DEFAULTS.oldSpaceMiB + 64, `heap limit ${limit} MiB`);
  } finally {
    agent.kill('SIGTERM');
    await agent.exited;
  }
});
