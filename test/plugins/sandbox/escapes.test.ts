/**
 * A malicious plugin attacks its sandbox from inside a real agent: a real python3 plugin (audit
 * hooks + the launcher's kernel layers) and a real C plugin in the real plugin host (kernel layers
 * only). Every escape must leave no trace; status must say which layers this kernel applied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { waitForFile } from '../../helpers/wait.ts';
import { compilePlugin } from '../../native/compile.ts';
import { agentWith, pluginStatus, send } from '../process/helpers.ts';
import { cEscapes, landlockAbi, PY_ESCAPES, readResults, worldWritable } from './fixtures.ts';

/** A TCP listener on loopback that counts connections: a plugin without `network` must never reach it. */
async function listener(): Promise<{ server: Server; port: number; accepted: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, port, accepted: () => n };
}

/** The status the launcher must report on this host: Landlock where the kernel has it, else the mount namespace. */
function assertLayers(sandbox: Record<string, unknown>, abi: number): void {
  assert.equal(sandbox.launcher, 'applied', JSON.stringify(sandbox));
  assert.equal(sandbox.user, 'nobody');
  assert.equal(sandbox.no_new_privs, true);
  assert.match(String(sandbox.seccomp), /^applied \(no exec, fork, ptrace, mount, namespaces, sockets\)$/);
  // The agent runs as root here, so the network namespace is taken.
  assert.equal(sandbox.net_ns, 'applied');
  if (abi > 0) {
    assert.match(String(sandbox.landlock), new RegExp(`^applied \\(ABI ${abi}`));
    assert.equal(sandbox.mount_ns, 'off: Landlock is in force');
  } else {
    assert.match(String(sandbox.landlock), /^unavailable/);
    assert.match(String(sandbox.mount_ns), /^applied/);
  }
}

test('python plugin escapes (real python3 under the launcher): cleared PROCESS_EVENTS, replaced _inside, _posixsubprocess, mkfifo, socket, /root all fail', async () => {
  const abi = landlockAbi();
  const net = await listener();
  let outside = '';
  const agent = await agentWith(`    dirs: [DIR/plugins]
    enabled: [filter_escape]
    config:
      filter_escape: { outside: DIR/outside, port: ${net.port} }
`, (dir) => {
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins/filter_escape.py'), PY_ESCAPES);
    outside = worldWritable(join(dir, 'outside'));
  });
  try {
    const names = ['clear_process_events', 'replace_inside', 'reimport_posixsubprocess', 'builtin_posixsubprocess', 'mkfifo_outside', 'socket_without_network', 'read_root'];
    await send(agent, ...names);
    const state = `${agent.dir}/data/plugins/filter_escape`;
    const results = await waitForFile(`${state}/results.jsonl`, (t) => (t.trim().split('\n').length >= names.length ? readResults(`${state}/results.jsonl`) : undefined));
    for (const n of names) assert.match(results[n] ?? 'missing', /^refused: /, `${n}: ${results[n]}`);
    // Nothing the attempts meant to cause happened.
    assert.equal(existsSync(`${state}/system-ran`), false, 'os.system ran a shell');
    assert.equal(existsSync(`${state}/fork-exec-ran`), false, 'fork_exec ran a shell');
    assert.equal(existsSync(join(outside, 'written.txt')), false, 'wrote outside the state dir');
    assert.equal(existsSync(join(outside, 'fifo')), false, 'made a fifo outside the state dir');
    assert.equal(net.accepted(), 0, 'reached the network without the capability');
    // The hook that read module globals is gone: clearing them changes nothing.
    assert.match(results.clear_process_events!, /process creation refused|os\.system returned/);
    // The real _posixsubprocess (no audit event) is stopped by the kernel: EPERM from seccomp.
    assert.match(results.builtin_posixsubprocess!, /Operation not permitted|PermissionError/);
    assert.match(results.read_root!, /Permission denied/);

    const st = await pluginStatus(agent, 'filter_escape');
    assert.equal(st.user, 'nobody');
    assertLayers(st.sandbox, abi);
  } finally {
    await agent.stop();
    net.server.close();
  }
});

test('C plugin escapes (real .so in the real plugin host under the launcher, no audit hooks): fork, exec, writes and fifos outside, socket, /root all fail', async () => {
  const abi = landlockAbi();
  const net = await listener();
  const agent = await agentWith(`    dirs: [DIR/plugins]
    enabled: [filter_cescape]
`, (dir) => {
    mkdirSync(join(dir, 'plugins'));
    const outside = worldWritable(join(dir, 'outside'));
    compilePlugin(join(dir, 'plugins'), 'filter_cescape.so', { code: cEscapes(outside, net.port) });
  });
  try {
    await send(agent, 'attack');
    const state = `${agent.dir}/data/plugins/filter_cescape`;
    const results = await waitForFile(`${state}/results.txt`, (t) => (t.includes('write_state') ? readResults(`${state}/results.txt`) : undefined));
    for (const n of ['fork', 'exec', 'write_outside', 'mkfifo_outside', 'socket', 'read_root']) {
      assert.match(results[n] ?? 'missing', /^refused /, `${n}: ${results[n]}`);
    }
    assert.match(results.fork!, /Operation not permitted/);
    assert.match(results.exec!, /Operation not permitted/);
    assert.match(results.socket!, /Permission denied/);
    // Its own state directory stays writable.
    assert.match(results.write_state!, /^ran/);
    assert.equal(existsSync(`${state}/exec-ran`), false);
    assert.equal(existsSync(`${agent.dir}/outside/written-by-c.txt`), false);
    assert.equal(net.accepted(), 0);
    const st = await pluginStatus(agent, 'filter_cescape');
    assert.equal(st.user, 'nobody');
    assertLayers(st.sandbox, abi);
  } finally {
    await agent.stop();
    net.server.close();
  }
});
