/**
 * The single executables from `make package`: they run with no Node installed (empty PATH), carry
 * their assets, and the arm64 one works under qemu user emulation (qemu-aarch64-static, Debian
 * qemu-user-static): no skip when qemu is missing, the test fails.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { PtyPair } from '../helpers/pty.ts';
import { HEAP_DEFAULTS } from '../../toolchain/package.ts';
import { BARE_ENV, X64, arm64, ensurePackaged, runTo, start, startX64Aggregator, stored, waitUntil } from './artefacts.ts';


before(() => ensurePackaged());

test('x64 executable: --version names the embedded Node 24 runtime and runs without any node on PATH', async () => {
  const r = await runTo(X64, ['--version'], { env: BARE_ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'logloom 0.1.0 (node 24.21.0, x64)');
  const c = await runTo(X64, ['check-config'], { env: BARE_ENV });
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /<embedded default>: ok/);
  // The embedded Chinese catalogue is there: lang renders from it.
  const l = await runTo(X64, ['lang', 'get', 'agent.started', '0.1.0', 'gw', '1', '2', '--lang', 'zh'], { env: BARE_ENV });
  assert.equal(l.code, 0, l.stderr);
  assert.doesNotMatch(l.stdout, /FORMAT ERROR/);
  assert.match(l.stdout, /gw/);
});

test('x64 executable: a bad config is refused with file:line:col, exit 1', async () => {
  const dir = tempDir();
  const cfg = join(dir, 'bad.yaml');
  writeFileSync(cfg, 'logloom:\n  inputs:\n    - type: unix\n      max_connections: lots\n');
  const r = await runTo(X64, ['check-config', '-c', cfg], { env: BARE_ENV });
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /bad\.yaml:4:\d+: .*max_connections/);
});

test('x64 executable: the serialport binding embedded in the executable reads a real serial line (socat pty)', async () => {
  const dir = tempDir('logloom-x64-serial-');
  const pty = await new PtyPair(dir).start();
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `logloom:
  node_id: x64-gw
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  inputs:
    - type: serial
      path: ${pty.device}
      baud_rate: 115200
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: ${dir}/out.log, format: json }
  control:
    socket: ${dir}/run/control.sock
`);
  const agent = start(X64, ['run', '-c', cfg], { env: BARE_ENV });
  try {
    await agent.stderr.waitFor(/started on node x64-gw/, 30_000);
    await agent.stderr.waitFor(/open at 115200/, 30_000);
    await pty.write('<3>[    2.500000] eth0: link down\r\nboot ok\r\n');
    const lines = (await waitForLines(`${dir}/out.log`, 2, 30_000)).map((l) => JSON.parse(l) as { message: string; level: string });
    assert.deepEqual(lines.map((e) => [e.level, e.message]), [['ERROR', 'eth0: link down'], ['INFO', 'boot ok']]);
    // The binding was unpacked from the executable into <runtime_dir>/native.
    assert.ok(readdirSync(join(dir, 'run/native')).some((f) => f.endsWith('bindings-cpp.glibc.node')));
    // The V8 heap limit baked into the executable (toolchain/package.ts HEAP_DEFAULTS), not Node's default of ~2 GiB.
    const st = await runTo(X64, ['status', '--json', '--socket', join(dir, 'run/control.sock')], { env: BARE_ENV });
    assert.equal(st.code, 0, st.stderr);
    const limit = JSON.parse(st.stdout).memory.heap_limit_mib;
    assert.ok(limit >= HEAP_DEFAULTS.oldSpaceMiB && limit < HEAP_DEFAULTS.oldSpaceMiB + 64, `heap limit ${limit} MiB`);
  } finally {
    agent.kill('SIGTERM');
    await agent.exited;
    await pty.kill();
  }
});

test('arm64 executable under qemu-aarch64-static: --version, check-config on the embedded default and the rootfs default', async () => {
  const v = await runTo(...arm64(['--version']));
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, 'logloom 0.1.0 (node 24.21.0, arm64)');
  const c = await runTo(...arm64(['check-config'], { env: { ...process.env, LOGLOOM_CONFIG: '' } }));
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /<embedded default>: ok/);
  const rootfsConfig = join(ROOT, 'rootfs/etc/logloom/logloom.yaml');
  const d = await runTo(...arm64(['check-config', '-c', rootfsConfig]));
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.match(d.stdout, /logloom\.yaml: ok/);
});

test('arm64 executable under qemu-aarch64-static: unix socket and serial pty → C filter plugin built for arm64 (in the arm64 plugin host) → x64 aggregator on loopback and a file, every kept entry arrives', async () => {
  const dir = tempDir('logloom-arm64-');
  const pty = await new PtyPair(dir).start();
  const agg = await startX64Aggregator(join(dir, 'aggregator'), 'arm-gw');
  writeFileSync(join(dir, 'token'), agg.token + '\n');
  mkdirSync(join(dir, 'plugins'));
  // The example C plugin, cross-compiled here with Debian's gcc-aarch64-linux-gnu.
  execFileSync('aarch64-linux-gnu-gcc', ['-shared', '-fPIC', '-O2', `-I${join(ROOT, 'native/include')}`,
    '-o', join(dir, 'plugins/filter_keyword.so'), join(ROOT, 'native/examples/filter_keyword.c')]);
  assert.match(execFileSync('file', ['-b', join(dir, 'plugins/filter_keyword.so')], { encoding: 'utf8' }), /ARM aarch64/);
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `logloom:
  node_id: arm-gw
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  inputs:
    - type: unix
      path: ${dir}/run/ingest.sock
      when_full: block
    - type: serial
      path: ${pty.device}
      baud_rate: 115200
  plugins:
    dirs: [${dir}/plugins]
    enabled: [filter_keyword, sink_file, log_aggregator_remote]
    # Under emulation on a loaded machine a call to the plugin host can outlast the 500 ms default;
    # a timed-out call fails open (keeps the entries), which this test would read as the filter not working.
    defaults:
      timeout_ms: 10000
    config:
      filter_keyword: { keyword: heartbeat, action: drop }
      sink_file: { path: ${dir}/out.log, format: json }
      log_aggregator_remote:
        addresses: [127.0.0.1:${agg.port}]
        token_file: ${dir}/token
  control:
    socket: ${dir}/run/control.sock
`);
  const agent = start(...arm64(['run', '-c', cfg]));
  try {
    await Promise.race([
      agent.stderr.waitFor(/started on node arm-gw \(2 inputs, 3 plugins\)/, 60_000),
      agent.exited.then(({ code }) => { throw new Error(`arm64 agent exited with ${code}:\n${agent.stderr.lines.join('\n')}`); }),
    ]);
    const N = 500;
    const sock = createConnection(`${dir}/run/ingest.sock`);
    for (let i = 0; i < N; i++) {
      const message = i % 5 === 0 ? `heartbeat ${i}` : `entry ${i}`;
      sock.write(JSON.stringify({ level: i % 2 ? 'WARN' : 'INFO', module: 'arm', message }) + '\n');
    }
    sock.end();
    // The arm64 serialport prebuild, embedded and unpacked, reading a pty under emulation.
    await agent.stderr.waitFor(/open at 115200/, 60_000);
    await pty.write('<4>[    1.000000] serial from arm64\r\nheartbeat on serial\r\n');
    const kept = Array.from({ length: N }, (_, i) => i).filter((i) => i % 5 !== 0).map((i) => `entry ${i}`).concat('serial from arm64');
    const lines = await waitForLines(`${dir}/out.log`, kept.length, 60_000);
    const got = lines.map((l) => JSON.parse(l) as { message: string; node: string; module: string });
    assert.deepEqual(got.map((e) => e.message).sort(), [...kept].sort());
    assert.ok(got.every((e) => e.node === 'arm-gw' && (e.module === 'ARM' || e.message === 'serial from arm64')));
    // The same entries, once each, in the x64 aggregator's store.
    const inStore = await waitUntil(() => {
      const s = stored(agg.store, 'arm-gw');
      return s.length >= kept.length ? s : undefined;
    }, 60_000);
    assert.deepEqual(inStore.map((e) => e.message).sort(), [...kept].sort());

    const st = await runTo(X64, ['status', '--json', '--socket', `${dir}/run/control.sock`], { env: BARE_ENV });
    assert.equal(st.code, 0, st.stderr);
    const status = JSON.parse(st.stdout) as { inputs: { received: number }[] };
    assert.equal(status.inputs[0]!.received, N);
    assert.equal(status.inputs[1]!.received, 2);
    assert.match(st.stdout, /filter_keyword/);
    // The arm64 sandbox launcher, embedded and unpacked, started the plugin host. Under qemu-user
    // in a user namespace that maps only root, it can take no seccomp filter (qemu refuses it) and
    // no user drop, and its status says so rather than failing the plugin.
    const sandbox = (status as unknown as { plugins: { name: string; sandbox?: Record<string, unknown> }[] }).plugins.find((p) => p.name === 'filter_keyword')!.sandbox!;
    process.stderr.write(`arm64 sandbox under qemu: ${JSON.stringify(sandbox)}\n`);
    assert.equal(sandbox.launcher, 'applied', JSON.stringify(sandbox));
    assert.match(String(sandbox.user), /^root of a user namespace/);
    // The arm64 plugin host was unpacked from the executable into <runtime_dir>/native (0700).
    const unpacked = readdirSync(join(dir, 'run/native'));
    assert.ok(unpacked.some((f) => /^[0-9a-f]{16}-logloom-plugin-host$/.test(f)), unpacked.join(', '));
    assert.ok(unpacked.some((f) => /^[0-9a-f]{16}-logloom-launcher$/.test(f)), unpacked.join(', '));
    assert.equal(statSync(join(dir, 'run/native')).mode & 0o777, 0o700);
  } finally {
    // qemu-userns.sh execs into the agent: SIGTERM reaches it, it drains and exits 0.
    agent.kill('SIGTERM');
    const { code } = await agent.exited;
    agg.proc.kill('SIGTERM');
    await agg.proc.exited;
    await pty.kill();
    assert.equal(code, 0, agent.stderr.lines.join('\n'));
  }
});
