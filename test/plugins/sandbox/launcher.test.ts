/**
 * logloom-launcher on its own (native/launcher/, built by `make native`): a plain python3 with no
 * audit hooks attacks the kernel layers directly, so each refusal here is the kernel's. Then the
 * fallbacks: no Landlock (read-only mount namespace), and the launcher under the shipped systemd
 * unit's restrictions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ROOT, tempDir } from '../../helpers/agent.ts';
import { landlockAbi, worldWritable } from './fixtures.ts';
import { buildUnitRestrictions, unitSetting } from './unit-restrictions.ts';

const LAUNCHER = join(ROOT, 'native/build/logloom-launcher');
const NOBODY = { uid: 65534, gid: 65534 };

/** Each attack, from plain python (no logloom SDK, no hooks); prints {name: "ran"|"refused: …"}. */
const ATTACKS = String.raw`
import ctypes, json, os, socket, sys
outside, port = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
out = {}
def attempt(name, fn):
    try:
        fn(); out[name] = "ran"
    except BaseException as e:
        out[name] = "refused: %s" % e
def c(rc):
    if rc == -1:
        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
attempt("exec", lambda: os.execv("/bin/sh", ["sh", "-c", "echo ran > exec-ran"]))
def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
def system():
    rc = os.system("echo ran > system-ran")
    if rc != 0:
        raise OSError("os.system returned %d (no shell could start)" % rc)
attempt("fork", fork)
attempt("system", system)
attempt("write_outside", lambda: open(os.path.join(outside, "w.txt"), "w").write("x"))
attempt("mkfifo_outside", lambda: os.mkfifo(os.path.join(outside, "fifo")))
attempt("socket", lambda: socket.create_connection(("127.0.0.1", port), timeout=2))
attempt("read_root", lambda: os.listdir("/root"))
attempt("ptrace", lambda: c(libc.ptrace(16, os.getppid(), None, None)))
attempt("unshare", lambda: c(libc.unshare(0x40000000)))
attempt("mount", lambda: c(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
attempt("setuid_root", lambda: os.setuid(0))
attempt("write_state", lambda: open("state.txt", "w").write("x"))
attempt("thread", lambda: __import__("threading").Thread(target=lambda: None).start())
print(json.dumps(out))
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  status: Record<string, unknown> | undefined;
}

function collect(s: Readable | null | undefined): Promise<string> {
  return new Promise((resolve) => {
    let t = '';
    if (!s) return resolve('');
    s.on('data', (d: Buffer) => (t += d.toString()));
    s.on('end', () => resolve(t));
    s.on('error', () => resolve(t));
  });
}

async function run(command: string, args: string[], cwd: string): Promise<Run> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const [stdout, stderr, status] = await Promise.all([collect(child.stdout), collect(child.stderr), collect(child.stdio[3] as Readable)]);
  const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (c) => r(c))));
  return { code, stdout, stderr, status: status.trim() ? (JSON.parse(status) as Record<string, unknown>) : undefined };
}

async function loopback(): Promise<{ port: number; accepted: () => number; close: () => void }> {
  let n = 0;
  const server = createServer((s) => (n++, s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, accepted: () => n, close: () => server.close() };
}

function setup(): { dir: string; state: string; outside: string } {
  const dir = tempDir('logloom-launcher-');
  // Searchable by nobody, so that only the sandbox (not file permissions) keeps it out of outside/.
  chmodSync(dir, 0o755);
  const state = join(dir, 'data', 'plugins', 'p');
  mkdirSync(state, { recursive: true });
  chownSync(state, NOBODY.uid, NOBODY.gid);
  return { dir, state, outside: worldWritable(join(dir, 'outside')) };
}

function launcherArgs(state: string, extra: string[] = []): string[] {
  return ['--uid', String(NOBODY.uid), '--gid', String(NOBODY.gid), '--user', 'nobody', '--write', state, '--status-fd', '3', ...extra];
}

function assertConfined(r: Run, state: string, outside: string): Record<string, string> {
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as Record<string, string>;
  for (const k of ['exec', 'fork', 'system', 'write_outside', 'mkfifo_outside', 'socket', 'read_root', 'ptrace', 'unshare', 'mount', 'setuid_root']) {
    assert.match(res[k] ?? 'missing', /^refused/, `${k}: ${res[k]}`);
  }
  assert.equal(res.write_state, 'ran');
  assert.equal(res.thread, 'ran', 'threads must stay possible');
  assert.equal(existsSync(join(state, 'exec-ran')), false);
  assert.equal(existsSync(join(state, 'system-ran')), false);
  assert.equal(existsSync(join(outside, 'w.txt')), false);
  assert.equal(existsSync(join(outside, 'fifo')), false);
  return res;
}

test('launcher alone, no audit hooks (plain python3 as nobody): exec, fork, shell, writes/fifos outside, socket, /root, ptrace, unshare, mount, setuid all refused by the kernel', async () => {
  const { dir, state, outside } = setup();
  const net = await loopback();
  try {
    const r = await run(LAUNCHER, [...launcherArgs(state), '--', '/usr/bin/python3', '-I', '-c', ATTACKS, outside, String(net.port)], state);
    const res = assertConfined(r, state, outside);
    assert.match(res.exec!, /Operation not permitted/);
    assert.match(res.fork!, /Operation not permitted/);
    assert.equal(net.accepted(), 0);
    // What this host has, as the kernel itself says.
    const abi = landlockAbi();
    assert.equal(r.status!.user, 'nobody');
    assert.equal(r.status!.net_ns, 'applied');
    assert.match(String(r.status!.seccomp), /^applied/);
    if (abi > 0) {
      assert.match(String(r.status!.landlock), new RegExp(`^applied \\(ABI ${abi}, tcp refused${abi >= 6 ? ', signals and abstract sockets scoped' : ''}\\)$`));
      assert.match(res.write_outside!, /Permission denied/);
    } else {
      assert.match(String(r.status!.mount_ns), /^applied/);
    }
    void dir;
  } finally {
    net.close();
  }
});

test('launcher with the network capability: sockets work, everything else stays refused', async () => {
  const { state, outside } = setup();
  const net = await loopback();
  try {
    const r = await run(LAUNCHER, [...launcherArgs(state, ['--network']), '--', '/usr/bin/python3', '-I', '-c', ATTACKS, outside, String(net.port)], state);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(res.socket, 'ran');
    assert.equal(net.accepted(), 1);
    assert.match(res.exec!, /^refused/);
    assert.match(res.write_outside!, /^refused/);
    assert.equal(r.status!.net_ns, 'off: plugin has the network capability');
  } finally {
    net.close();
  }
});

test('launcher where Landlock is missing (forced with --no-landlock): a read-only mount namespace keeps writes in the state dir, and status says so', async () => {
  const { state, outside } = setup();
  const net = await loopback();
  try {
    const r = await run(LAUNCHER, [...launcherArgs(state, ['--no-landlock']), '--', '/usr/bin/python3', '-I', '-c', ATTACKS, outside, String(net.port)], state);
    const res = assertConfined(r, state, outside);
    assert.match(res.write_outside!, /Read-only file system/);
    assert.equal(r.status!.landlock, 'off: --no-landlock');
    assert.equal(r.status!.mount_ns, 'applied (read-only except the state directory)');
  } finally {
    net.close();
  }
});

test('launcher under the shipped systemd unit\'s restrictions (emulated: PID 1 here is not systemd): NoNewPrivileges, ProtectSystem=strict and its RestrictNamespaces keep every layer; the old RestrictNamespaces=yes would lose the network namespace', async () => {
  const { dir, state, outside } = setup();
  const emulator = buildUnitRestrictions(dir);
  const net = await loopback();
  const restrict = unitSetting('RestrictNamespaces');
  assert.ok(restrict, 'the unit sets RestrictNamespaces');
  assert.equal(unitSetting('NoNewPrivileges'), 'yes');
  assert.equal(unitSetting('ProtectSystem'), 'strict');
  try {
    // ReadWritePaths of the unit are /var/lib/logloom and /run/logloom: here the test's dir plays them.
    const underUnit = await run(emulator, [restrict!, dir, '--', LAUNCHER, ...launcherArgs(state), '--', '/usr/bin/python3', '-I', '-c', ATTACKS, outside, String(net.port)], state);
    assertConfined(underUnit, state, outside);
    assert.equal(underUnit.status!.net_ns, 'applied', JSON.stringify(underUnit.status));
    // And the fallback for kernels without Landlock needs the mount namespace the unit allows.
    const noLandlock = await run(emulator, [restrict!, dir, '--', LAUNCHER, ...launcherArgs(state, ['--no-landlock']), '--', '/usr/bin/python3', '-I', '-c', ATTACKS, outside, String(net.port)], state);
    assertConfined(noLandlock, state, outside);
    assert.match(String(noLandlock.status!.mount_ns), /^applied/);

    // What the unit said before: the launcher degrades, says which layer is missing, and still starts.
    const old = await run(emulator, ['yes', dir, '--', LAUNCHER, ...launcherArgs(state), '--', '/usr/bin/python3', '-I', '-c', ATTACKS, outside, String(net.port)], state);
    assert.equal(old.code, 0, old.stderr);
    assert.equal(old.status!.net_ns, 'unavailable: Operation not permitted');
    assert.equal(net.accepted(), 0);
  } finally {
    net.close();
  }
});

/** A plugin-like victim under the launcher: prints its pid, then holds a descriptor open and sleeps. */
const VICTIM = String.raw`
import os, sys, time
fd = os.open("secret.txt", os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, b"victim's data")
print(os.getpid(), fd, flush=True)
time.sleep(60)
`;

/** The attacker, another plugin of the same user: take the victim's descriptor, then kill it. */
const ATTACKER = String.raw`
import ctypes, json, os, signal, sys
pid, fd = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
out = {}
try:
    pidfd = os.pidfd_open(pid)
    got = libc.syscall(438, pidfd, fd, 0)
    out["pidfd_getfd"] = "ran" if got >= 0 else "refused: " + os.strerror(ctypes.get_errno())
except OSError as e:
    out["pidfd_getfd"] = "refused: %s" % e
if sys.argv[3] == "kill":
    try:
        os.kill(pid, signal.SIGKILL)
        out["kill"] = "ran"
    except OSError as e:
        out["kill"] = "refused: %s" % e
print(json.dumps(out))
`;

test('one plugin cannot take another plugin\'s descriptors (pidfd_getfd; seccomp alone, Landlock off) or, with Landlock ABI 6, kill it, though both run as nobody', async () => {
  const a = setup();
  const b = setup();
  // Landlock also fences ptrace-like access between domains: turned off here so that the seccomp
  // filter alone is what stops pidfd_getfd (the filter before this test let it through).
  const victim = spawn(LAUNCHER, [...launcherArgs(a.state, ['--no-landlock']), '--', '/usr/bin/python3', '-I', '-c', VICTIM], { cwd: a.state, stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      let t = '';
      victim.stdout!.on('data', (d: Buffer) => {
        t += d.toString();
        if (t.includes('\n')) resolve(t.trim());
      });
      victim.on('exit', (c) => reject(new Error(`victim exited ${c}`)));
    });
    const [pid, fd] = first.split(' ');
    const seccompOnly = await run(LAUNCHER, [...launcherArgs(b.state, ['--no-landlock']), '--', '/usr/bin/python3', '-I', '-c', ATTACKER, pid!, fd!, 'no-kill'], b.state);
    assert.equal(seccompOnly.code, 0, seccompOnly.stderr);
    assert.match((JSON.parse(seccompOnly.stdout) as Record<string, string>).pidfd_getfd!, /^refused: .*Operation not permitted/);
    const full = await run(LAUNCHER, [...launcherArgs(b.state), '--', '/usr/bin/python3', '-I', '-c', ATTACKER, pid!, fd!, 'kill'], b.state);
    assert.equal(full.code, 0, full.stderr);
    const res = JSON.parse(full.stdout) as Record<string, string>;
    assert.match(res.pidfd_getfd!, /^refused: .*Operation not permitted/);
    if (landlockAbi() >= 6) assert.match(res.kill!, /^refused: .*Operation not permitted/);
    assert.equal(victim.exitCode, null, 'the victim was killed');
  } finally {
    victim.kill('SIGKILL');
  }
});
