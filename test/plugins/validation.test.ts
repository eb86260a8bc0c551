import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { definePlugin, type FilterPlugin, type PluginInstance, type StaticPluginModule } from '../../agent/plugins/types.ts';
import { HOST_FACTORIES } from '../../agent/plugins/hosts/index.ts';
import { recordingSink, startHarness, until } from './harness.ts';
import { startAgent, tempDir } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';

const GOOD = { name: 'filter_ok', version: '1.2.0', author: 'Logloom Team', type: 'filter', mode: 'sync', capability: ['x'], entry: { kind: 'native', path: 'filter_ok.so' } };

function manifest(dir: string, sub: string, fields: Record<string, unknown>, entryFile?: string): void {
  mkdirSync(join(dir, sub), { recursive: true });
  const yaml = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n';
  writeFileSync(join(dir, sub, 'plugin.yaml'), yaml);
  if (entryFile) writeFileSync(join(dir, sub, entryFile), 'not really a shared object\n');
}

/** Each broken plugin and the exact line the agent prints for it: the manifest's file:line:col, the key, what is wrong. */
function brokenPlugins(dir: string): string[] {
  manifest(dir, 'sink_typo', { ...GOOD, name: 'sink_typo', type: 'sinkk', mode: 'async', entry: { kind: 'native', path: 'x.so' } }, 'x.so');
  manifest(dir, 'filter_ver', { ...GOOD, name: 'filter_ver', version: '1.x' }, 'filter_ok.so');
  manifest(dir, 'filter_noname', { ...GOOD, name: undefined }, 'filter_ok.so');
  manifest(dir, 'filter_noauthor', { ...GOOD, name: 'filter_noauthor', author: '' }, 'filter_ok.so');
  manifest(dir, 'sink_mode', { ...GOOD, name: 'sink_mode', type: 'sink', mode: 'sync' }, 'filter_ok.so');
  manifest(dir, 'filter_nofile', { ...GOOD, name: 'filter_nofile', entry: { kind: 'native', path: 'gone.so' } });
  manifest(dir, 'filter_kind', { ...GOOD, name: 'filter_kind', entry: { kind: 'wasm', path: 'filter_ok.so' } }, 'filter_ok.so');
  manifest(dir, 'filter_sock', { ...GOOD, name: 'filter_sock', entry: { kind: 'socket', address: 'http://x' } });
  manifest(dir, 'filter_limits', { ...GOOD, name: 'filter_limits', limits: { timeout_ms: 0 } }, 'filter_ok.so');
  manifest(dir, 'filter_caps', { ...GOOD, name: 'filter_caps', capability: 'all' }, 'filter_ok.so');
  writeFileSync(join(dir, 'weird.so'), 'x');
  return [
    `[WARN] Failed to load plugin 'sink_typo/plugin.yaml': ${dir}/sink_typo/plugin.yaml:4:7: type: expected one of filter, sink, ai, lang, got "sinkk"`,
    `[WARN] Failed to load plugin 'filter_ver/plugin.yaml': ${dir}/filter_ver/plugin.yaml:2:10: version: invalid version "1.x" (expected a semantic version such as 1.2.0)`,
    `[WARN] Failed to load plugin 'filter_noname/plugin.yaml': ${dir}/filter_noname/plugin.yaml:1:1: name: required key is missing (1 to 64 characters [A-Za-z0-9_.-])`,
    `[WARN] Failed to load plugin 'filter_noauthor/plugin.yaml': ${dir}/filter_noauthor/plugin.yaml:3:9: author: expected a non-empty string, got ""`,
    `[WARN] Failed to load plugin 'sink_mode/plugin.yaml': ${dir}/sink_mode/plugin.yaml:5:7: mode: "sync" does not fit type sink (sink and ai plugins are async)`,
    `[WARN] Failed to load plugin 'filter_nofile/plugin.yaml': entry file gone.so not found`,
    `[WARN] Failed to load plugin 'filter_kind/plugin.yaml': ${dir}/filter_kind/plugin.yaml:7:16: entry.kind: expected one of static, native, python, socket, got "wasm"`,
    `[WARN] Failed to load plugin 'filter_sock/plugin.yaml': ${dir}/filter_sock/plugin.yaml:7:35: entry.address: expected unix:PATH or tcp:HOST:PORT, got "http://x"`,
    `[WARN] Failed to load plugin 'filter_limits/plugin.yaml': ${dir}/filter_limits/plugin.yaml:8:23: limits.timeout_ms: expected an integer from 1 to 600000, got 0`,
    `[WARN] Failed to load plugin 'filter_caps/plugin.yaml': ${dir}/filter_caps/plugin.yaml:6:13: capability: expected a list, got "all"`,
    `[WARN] Failed to load plugin 'weird.so': cannot tell the type from the file name (expected filter_*, sink_*, ai_* or lang_*) and there is no plugin.yaml beside it`,
  ];
}

test('every manifest and file-name validation failure prints its exact line; good plugins still load', async () => {
  const dir = tempDir();
  const expected = brokenPlugins(dir);
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [dir], config: { enabled: ['sink_record', 'nope'] } });
  try {
    const warns = h.log.lines.filter((l) => l.startsWith('[WARN]'));
    for (const line of expected) assert.ok(warns.includes(line), `missing:\n${line}\ngot:\n${warns.join('\n')}`);
    assert.ok(warns.includes(`[WARN] Failed to load plugin 'nope': not found`));
    assert.equal(warns.length, expected.length + 1);
    const refused = h.registry.list().filter((r) => r.state === 'refused');
    assert.equal(refused.length, expected.length);
    h.send('still running');
    await until(h.pipeline, () => sink.received.length === 1);
  } finally {
    await h.stop();
  }
});

function staticFilter(name: string, over: Partial<StaticPluginModule['info']>, create: () => PluginInstance): StaticPluginModule {
  return definePlugin({ info: { name, version: '1.0.0', author: 't', type: 'filter', capability: [], mode: 'sync', ...over } as StaticPluginModule['info'], create });
}

test('static plugins: missing entry point, failing init, bad info are refused with their reason', async () => {
  const h = await startHarness({
    statics: [
      staticFilter('filter_noentry', {}, () => ({}) as FilterPlugin),
      staticFilter('filter_initfail', {}, () => ({ filter: () => true, init: () => { throw new Error('no config file /etc/x'); } })),
      staticFilter('filter_badver', { version: 'v1' }, () => ({ filter: () => true })),
    ],
    config: { enabled: ['filter_noentry', 'filter_initfail', 'filter_badver'] },
  });
  try {
    const warns = h.log.lines.filter((l) => l.startsWith('[WARN]'));
    assert.deepEqual(warns, [
      `[WARN] Failed to load plugin 'filter_noentry': missing filter()`,
      `[WARN] Failed to load plugin 'filter_initfail': init failed: no config file /etc/x`,
      `[WARN] Failed to load plugin 'filter_badver': invalid version "v1"`,
    ]);
    assert.equal(h.pipeline.filters.length, 0);
  } finally {
    await h.stop();
  }
});

test('a name taken twice is refused for the second one', async () => {
  const dir = tempDir();
  manifest(dir, 'a', { ...GOOD, name: 'sink_record', type: 'sink', mode: 'async' }, 'filter_ok.so');
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [dir], config: { enabled: ['sink_record'] } });
  try {
    await h.log.waitFor(/^\[WARN\] Failed to load plugin 'filter_ok.so': name "sink_record" is already taken by static-plugins\/sink_record$/);
  } finally {
    await h.stop();
  }
});

test('a kind whose host is not in this build is refused: the locked bundle (make bundle PROFILE=locked) checks a .py, a .so and a socket plugin', async () => {
  const dir = tempDir('logloom-locked-kinds-');
  const { bundle } = await import('../../toolchain/bundle.ts');
  const locked = await bundle({ profile: 'locked', outfile: join(dir, 'logloom-locked.mjs') });
  writeFileSync(join(dir, 'filter_py.py'), 'def plugin_process(entry):\n    return True\n');
  writeFileSync(join(dir, 'filter_c.so'), 'not even an ELF file: the locked build must refuse it before opening it\n');
  writeFileSync(join(dir, 'filter_sock.yaml'), 'name: filter_sock\nversion: 1.0.0\nauthor: t\ntype: filter\nentry: { kind: socket, address: "unix:/nonexistent.sock" }\n');
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `logloom:\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control: { socket: ${dir}/run/c.sock }\n`);
  for (const [file, kind] of [['filter_py.py', 'python'], ['filter_c.so', 'native'], ['filter_sock.yaml', 'socket']] as const) {
    const r = spawnSync(process.execPath, [locked.outfile, 'plugins', 'check', join(dir, file), '-c', cfg], { cwd: dir, encoding: 'utf8', env: { ...process.env, LOGLOOM_CONFIG: '' } });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^FAIL  host: ${kind} plugins are not supported in this build$`, 'm'), r.stdout);
  }
  // The registry of a build without the host says the same at start-up, and keeps running.
  const plugins = join(dir, 'plugins');
  mkdirSync(plugins);
  writeFileSync(join(plugins, 'filter_c.so'), 'x');
  writeFileSync(join(plugins, 'filter_py.py'), 'x = 1\n');
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [plugins], hosts: { static: HOST_FACTORIES.static }, locked: true, config: { enabled: ['filter_py', 'filter_c', 'sink_record'], require_signature: false } });
  try {
    await h.log.waitFor(/^\[WARN\] Failed to load plugin 'filter_py.py': python plugins are not supported in this build$/);
    await h.log.waitFor(/^\[WARN\] Failed to load plugin 'filter_c.so': native plugins are not supported in this build$/);
    h.send('still here');
    await until(h.pipeline, () => sink.received.length === 1);
  } finally {
    await h.stop();
  }
});

test('the agent prints the exact warning on stderr and keeps running without the plugin', async () => {
  const dir = tempDir();
  const plugins = join(dir, 'plugins');
  manifest(plugins, 'sink_typo', { ...GOOD, name: 'sink_typo', type: 'sinkk', mode: 'async', entry: { kind: 'native', path: 'x.so' } }, 'x.so');
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [sink_file, sink_typo]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(/^\[WARN\] Failed to load plugin 'sink_typo\/plugin.yaml': \/\S+\/plugins\/sink_typo\/plugin.yaml:4:7: type: expected one of filter, sink, ai, lang, got "sinkk"$/);
    const { createConnection } = await import('node:net');
    const c = createConnection(agent.ingest);
    c.end('still here\n');
    const lines = await waitForLines(join(dir, 'out.log'), 1);
    assert.equal(JSON.parse(lines[0]!).message, 'still here');
  } finally {
    await agent.stop();
  }
});
