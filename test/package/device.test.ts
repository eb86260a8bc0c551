/**
 * Device test: the arm64 rootfs tarball untarred over a minimal arm64 BusyBox root
 * (toolchain/device-root.sh), root filesystem read-only except /var/lib/logloom and /run/logloom,
 * the agent started by the BusyBox init script in a chroot, all under qemu user emulation through
 * a binfmt_misc entry private to the test's user namespace (toolchain/qemu-userns.sh).
 * Every agent start and stop goes through qemu emulation, several seconds each on a loaded 2-core
 * machine: the test has its own 300 s timeout instead of the suite's 120 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, LineWatcher, tempDir } from '../helpers/agent.ts';
import { waitForFile, waitForLines } from '../helpers/wait.ts';
import { QEMU_USERNS, ensureRootfs, startX64Aggregator, stored, waitUntil } from './artefacts.ts';
import { sendLines } from '../helpers/socket.ts';
import { freePort } from '../helpers/net.ts';

function send(sock: string, messages: string[]): Promise<void> {
  return sendLines(sock, messages.map((m) => JSON.stringify({ module: 'dev', message: m })));
}

test('device: rootfs-arm64 on a read-only BusyBox root, S50logloom start/reload/respawn/stop in a chroot under qemu (emulated arm64), entries reach an x64 aggregator on the host', { timeout: 300_000 }, async () => {
  const tarball = ensureRootfs('arm64');
  const dir = tempDir('logloom-device-');
  const device = join(dir, 'root');
  execFileSync(join(ROOT, 'toolchain/device-root.sh'), [device], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('tar', ['-xzf', tarball, '-C', device, '--keep-directory-symlink']);
  // Like an integrator would: the shipped config with its ports moved (a shared test machine).
  const port = await freePort();
  const syslogPort = await freePort();
  const cfgPath = join(device, 'etc/logloom/logloom.yaml');
  const shipped = readFileSync(cfgPath, 'utf8');
  assert.match(shipped, /http: 127\.0\.0\.1:9880/);
  assert.match(shipped, /udp:127\.0\.0\.1:5514/);
  assert.match(shipped, /- type: kmsg/);
  assert.match(shipped, /addresses: \[aggregator\.example\.net:7400\]/);
  // The aggregator this gateway forwards to: the x64 executable on the host, token auth.
  const agg = await startX64Aggregator(join(dir, 'aggregator'), 'dev-gw');
  writeFileSync(join(device, 'etc/logloom/token'), agg.token + '\n', { mode: 0o600 });
  // /dev/kmsg cannot be read from inside a user namespace (EPERM without CAP_SYSLOG on the host),
  // so the emulated device goes without the kernel input.
  execFileSync('sed', ['-i', [
    `s/127.0.0.1:9880/127.0.0.1:${port}/`, `s/udp:127.0.0.1:5514/udp:127.0.0.1:${syslogPort}/`, '/- type: kmsg/d',
    `s/aggregator.example.net:7400/127.0.0.1:${agg.port}/`, 's/# node_id: gw-0001/node_id: dev-gw/',
  ].join('; '), cfgPath]);
  const state = join(dir, 'state');
  const run = join(dir, 'run');
  mkdirSync(state, { mode: 0o750 });
  mkdirSync(run, { mode: 0o755 });

  const session = spawn(QEMU_USERNS, ['arm64', join(ROOT, 'test/package/device-session.sh'), device, state, run], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new LineWatcher();
  const err = new LineWatcher();
  session.stdout.on('data', (d) => out.feed(d));
  session.stderr.on('data', (d) => err.feed(d));
  const exited = new Promise<number | null>((resolve) => session.on('exit', (code) => resolve(code)));
  const command = async (cmd: string): Promise<number> => {
    session.stdin.write(cmd + '\n');
    const line = await out.waitFor(new RegExp(`^DONE ${cmd} \\d+$`), 120_000);
    return Number(line.split(' ')[2]);
  };
  const agentLog = join(run, 'logloom.log');
  const outLog = join(state, 'logloom.log');
  try {
    await Promise.race([out.waitFor(/^READY$/, 30_000), exited.then((c) => { throw new Error(`session exited ${c}: ${err.lines.join('\n')}`); })]);
    assert.equal(await command('probe'), 1, 'the device root must be read-only');

    assert.equal(await command('start'), 0, out.lines.join('\n'));
    await waitForFile(agentLog, (t) => (/started on node/.test(t) ? true : undefined), 90_000);
    const pid1 = Number(readFileSync(join(run, 'logloom.pid'), 'utf8'));
    assert.ok(pid1 > 0);

    // Entries from the host through the ingest socket the device agent listens on.
    const first = Array.from({ length: 100 }, (_, i) => `before ${i}`);
    await send(join(run, 'ingest.sock'), first);
    await waitForLines(outLog, 100, 60_000);
    // And a syslog datagram, as BusyBox syslogd -R would relay it.
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => udp.send('<11>Nov 25 12:00:00 gw pumpd[42]: pump stalled', syslogPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    udp.close();
    await waitForFile(outLog, (t) => (/pump stalled/.test(t) ? true : undefined), 30_000);

    // Health over loopback from the host.
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);

    assert.equal(await command('reload'), 0);
    await waitForFile(agentLog, (t) => (/SIGHUP: reopened output files/.test(t) ? true : undefined), 30_000);

    // What the aggregator acknowledged before the crash must survive it (memory spool mode).
    await waitUntil(() => (stored(agg.store, 'dev-gw').length >= 101 ? true : undefined), 60_000);
    // Respawn: the agent killed hard comes back under a new pid and keeps working.
    process.kill(pid1, 'SIGKILL');
    const pid2 = await waitForFile(join(run, 'logloom.pid'), (t) => {
      const p = Number(t.trim());
      return p > 0 && p !== pid1 ? p : undefined;
    }, 60_000);
    await waitForFile(agentLog, (t) => ((t.match(/started on node/g) ?? []).length >= 2 ? true : undefined), 90_000);
    await waitForFile(agentLog, (t) => (/agent exited \(status \d+\); respawning/.test(t) ? true : undefined), 5_000);
    const second = Array.from({ length: 100 }, (_, i) => `after ${i}`);
    await send(join(run, 'ingest.sock'), second);
    const lines = (await waitForLines(outLog, 201, 60_000)).map((l) => JSON.parse(l) as { message: string; module: string; source: string });
    const fromUnix = lines.filter((e) => e.source === 'unix');
    assert.deepEqual(new Set(fromUnix.map((e) => e.message)), new Set([...first, ...second]));
    assert.ok(fromUnix.every((e) => e.module === 'DEV'));
    // Every entry also reached the aggregator on the host, once (the respawn lost nothing that
    // had been acknowledged, and replays were de-duplicated).
    const inStore = await waitUntil(() => {
      const got = stored(agg.store, 'dev-gw');
      return got.length >= 201 ? got : undefined;
    }, 60_000);
    const storedUnix = inStore.filter((e) => e.source === 'unix').map((e) => e.message);
    assert.equal(storedUnix.length, 200);
    assert.deepEqual(new Set(storedUnix), new Set([...first, ...second]));
    assert.ok(inStore.some((e) => /pump stalled/.test(e.message)));

    assert.equal(await command('stop'), 0);
    assert.ok(!existsSync(join(run, 'logloom.pid')), 'pid file removed on stop');
    assert.throws(() => process.kill(pid2, 0), /ESRCH/);
    assert.match(readFileSync(agentLog, 'utf8'), /stopped cleanly/);
    assert.equal(await command('status'), 3);
  } finally {
    // A failed run must not leave the emulated supervisor and agent behind: kill every process
    // whose root is the device root (pid files may be stale or missing after a failure).
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (readlinkSync(`/proc/${pid}/root`) === device) process.kill(Number(pid), 'SIGKILL');
      } catch { /* gone, or not ours to read */ }
    }
    session.stdin.end();
    const code = await exited;
    agg.proc.kill('SIGTERM');
    await agg.proc.exited;
    if (code !== 0) console.error(err.lines.join('\n'));
    rmSync(dir, { recursive: true, force: true });
  }
});
