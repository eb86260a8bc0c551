import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { LineWatcher, ROOT, startAgent, tempDir } from '../../helpers/agent.ts';
import { waitForFile, waitForLines } from '../../helpers/wait.ts';
import { FIXTURES, messages, pluginStatus, send } from './helpers.ts';

function service(cmd: string, args: string[]): { proc: ChildProcess; out: LineWatcher } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = new LineWatcher();
  proc.stdout!.on('data', (d) => out.feed(d));
  return { proc, out };
}

function killed(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    p.once('exit', () => r());
    p.kill('SIGKILL');
  });
}

test('C socket plugin on a Unix socket: filters; agent may start first; kill -9 of the service fails open; it resumes when the service is back', async () => {
  const dir = tempDir('logloom-sock-');
  chmodSync(dir, 0o755);
  const bin = join(dir, 'socket_filter');
  execFileSync('gcc', ['-O2', '-Wall', '-o', bin, join(FIXTURES, 'socket_c/socket_filter.c')]);
  const sock = join(dir, 'sf.sock');
  mkdirSync(join(dir, 'plugins/socket_filter'), { recursive: true });
  writeFileSync(join(dir, 'plugins/socket_filter/plugin.yaml'), `name: socket_filter
version: 1.0.0
author: Logloom Team
type: filter
mode: sync
capability: [c]
entry: { kind: socket, address: "unix:${sock}" }
limits: { timeout_ms: 2000 }
`);
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [socket_filter, sink_file]
    failure_threshold: 1
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  let svc = service(bin, [sock]);
  try {
    // The agent started before the service: it connects in the background.
    await agent.stderr.waitFor(/socket_filter: cannot connect to unix:.*retrying in the background|socket_filter: connected to/);
    await svc.out.waitFor(/listening on/);
    assert.equal(statSync(sock).mode & 0o777, 0o660);
    await agent.stderr.waitFor(/socket_filter: connected to unix:/, 30_000);
    await send(agent, 'keep-1', 'drop this', 'keep-2');
    assert.deepEqual(messages(await waitForLines(`${agent.dir}/out.log`, 2)), ['keep-1', 'keep-2']);

    await killed(svc.proc);
    await agent.stderr.waitFor(/\[ERROR\] Plugin communication failed: socket_filter: (service closed the connection|connection error)/);
    // While it is away the filter fails open: nothing is lost, nothing is filtered.
    await send(agent, 'drop while down');
    await waitForFile(`${agent.dir}/out.log`, (t) => (t.includes('drop while down') ? true : undefined));

    svc = service(bin, [sock]);
    await agent.stderr.waitFor(/Plugin socket_filter restarted/, 30_000);
    await send(agent, 'drop after', 'after');
    await waitForFile(`${agent.dir}/out.log`, (t) => (t.includes('"after"') ? true : undefined));
    const out = messages(await waitForLines(`${agent.dir}/out.log`, 4));
    assert.deepEqual(out, ['keep-1', 'keep-2', 'drop while down', 'after']);
    const st = await pluginStatus(agent, 'socket_filter');
    assert.equal(st.kind, 'socket');
    assert.equal(st.connected, true);
    assert.ok(st.disconnects >= 1);
  } finally {
    await agent.stop();
    await killed(svc.proc);
  }
});

test('JSON-RPC ai service over TCP loopback: results become AI entries; a forged node is dropped and counted', async () => {
  const svc = service('/usr/bin/python3', [join(FIXTURES, 'socket_jsonrpc/jsonrpc_ai_service.py'), '0']);
  const port = Number(/listening on (\d+)/.exec(await svc.out.waitFor(/listening on \d+/))![1]);
  const dir = tempDir('logloom-rpc-');
  writeFileSync(join(dir, 'ai_jsonrpc.yaml'), `name: ai_jsonrpc
version: 2.0.0
author: tests
type: ai
mode: async
entry: { kind: socket, address: "tcp:127.0.0.1:${port}", protocol: jsonrpc }
`);
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR]
    enabled: [ai_jsonrpc, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await send(agent, { level: 'ERROR', message: 'forge' }, { level: 'ERROR', message: 'disk failed' }, { level: 'INFO', message: 'fine' });
    const ai = await waitForFile(`${dir}/out.log`, (t) => t.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.module === 'AI'));
    assert.equal(ai.message, 'jsonrpc saw error: disk failed');
    assert.equal(ai.level, 'WARN');
    assert.equal(ai.node, 'test-node');
    assert.equal(ai.source, 'plugin:ai_jsonrpc');
    const st = await pluginStatus(agent, 'ai_jsonrpc');
    assert.equal(st.protocol, 'jsonrpc');
    assert.equal(st.invalid_results, 1);
    await agent.stderr.waitFor(/ai_jsonrpc: invalid output dropped: ai result sets "node", which only the agent may set/);
    const all = (await waitForLines(`${dir}/out.log`, 4)).map((l) => JSON.parse(l));
    assert.ok(!all.some((e) => e.message === 'forged'));
  } finally {
    await agent.stop();
    await killed(svc.proc);
  }
});

/** This machine's first non-loopback IPv4 address, where a real service can listen. */
function externalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

test('a TCP socket plugin on a non-loopback address is refused unless allowed; allowed (plugins.remote_tcp), it connects and filters', async () => {
  const dir = tempDir('logloom-tcp-');
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'filter_remote.yaml'), `name: filter_remote
version: 1.0.0
author: tests
type: filter
entry: { kind: socket, address: "tcp:192.0.2.10:7000" }
`);
  const agent = await startAgent(`  plugins:
    dirs: [DIR]
    enabled: [filter_remote]
`, dir);
  try {
    await agent.stderr.waitFor(/\[WARN\] Failed to load plugin '.*filter_remote.yaml': tcp address 192.0.2.10 is not loopback; list filter_remote in plugins.remote_tcp to allow it/);
  } finally {
    await agent.stop();
  }

  // The allowed half: a real service on this machine's own non-loopback address.
  const ip = externalIPv4();
  assert.ok(ip, 'this machine has a non-loopback IPv4 address to serve on');
  const svc = service('/usr/bin/python3', [join(ROOT, 'python/logloom_plugin/service.py'), '--listen', `tcp:${ip}:0`, '--protocol', 'line', '--type', 'filter',
    '--state-dir', join(dir, 'state'), join(FIXTURES, 'python/filter_keyword.py')]);
  try {
    const port = Number(new RegExp(`listening on tcp:${ip.replace(/\./g, '\\.')}:(\\d+)`).exec(await svc.out.waitFor(/listening on tcp:/))![1]);
    const allowedDir = tempDir('logloom-tcp-ok-');
    mkdirSync(join(allowedDir, 'plugins'));
    writeFileSync(join(allowedDir, 'plugins/filter_kw_remote.yaml'), `name: filter_kw_remote\nversion: 1.0.0\nauthor: tests\ntype: filter\nentry: { kind: socket, address: "tcp:${ip}:${port}" }\n`);
    const ok = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [filter_kw_remote, sink_file]
    remote_tcp: [filter_kw_remote]
    config:
      filter_kw_remote: { words: [secret] }
      sink_file: { path: DIR/out.log, format: json }
`, allowedDir);
    try {
      await ok.stderr.waitFor(new RegExp(`filter_kw_remote: connected to tcp:${ip.replace(/\./g, '\\.')}:${port}`));
      assert.ok(!ok.stderr.lines.some((l) => /Failed to load plugin/.test(l)), ok.stderr.lines.join('\n'));
      await send(ok, 'a secret here', 'plain remote');
      assert.deepEqual(messages(await waitForLines(`${allowedDir}/out.log`, 1)), ['plain remote']);
      const st = await pluginStatus(ok, 'filter_kw_remote');
      assert.equal(st.connected, true);
      assert.equal(st.state, 'enabled');
    } finally {
      await ok.stop();
    }
  } finally {
    await killed(svc.proc);
  }
});

test('a Python plugin run as a socket service by the SDK (Unix + line, TCP + JSON-RPC), sandboxed as nobody', async () => {
  const dir = tempDir('logloom-pysvc-');
  chmodSync(dir, 0o755);
  const sock = join(dir, 'kw.sock');
  const serviceArgs = (listen: string, protocol: string) => [join(ROOT, 'python/logloom_plugin/service.py'), '--listen', listen, '--protocol', protocol, '--type', 'filter',
    '--state-dir', join(dir, `state-${protocol}`), join(FIXTURES, 'python/filter_keyword.py')];
  const line = service('/usr/bin/python3', serviceArgs(`unix:${sock}`, 'line'));
  const rpc = service('/usr/bin/python3', serviceArgs('tcp:127.0.0.1:0', 'jsonrpc'));
  try {
    await line.out.waitFor(/listening on/);
    assert.equal(statSync(sock).mode & 0o777, 0o660);
    const port = Number(/listening on tcp:127\.0\.0\.1:(\d+)/.exec(await rpc.out.waitFor(/listening on tcp:/))![1]);
    const manifest = (name: string, address: string, protocol: string) => `name: ${name}\nversion: 1.0.0\nauthor: Logloom Team\ntype: filter\nentry: { kind: socket, address: "${address}", protocol: ${protocol} }\n`;
    writeFileSync(join(dir, 'filter_kw_line.yaml'), manifest('filter_kw_line', `unix:${sock}`, 'line'));
    writeFileSync(join(dir, 'filter_kw_rpc.yaml'), manifest('filter_kw_rpc', `tcp:127.0.0.1:${port}`, 'jsonrpc'));
    const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR]
    enabled: [filter_kw_line, filter_kw_rpc, sink_file]
    config:
      filter_kw_line: { words: [secret] }
      filter_kw_rpc: { words: [token] }
      sink_file: { path: DIR/out.log, format: json }
`, dir);
    try {
      await send(agent, 'a secret here', 'a token here', 'plain');
      assert.deepEqual(messages(await waitForLines(`${dir}/out.log`, 1)), ['plain']);
      const st = await pluginStatus(agent, 'filter_kw_rpc');
      assert.equal(st.connected, true);
      assert.equal(st.protocol, 'jsonrpc');
    } finally {
      await agent.stop();
    }
  } finally {
    await killed(line.proc);
    await killed(rpc.proc);
  }
});
