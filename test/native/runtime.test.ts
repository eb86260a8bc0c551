/**
 * The single-binary path: native files embedded as assets are written once to a private runtime
 * directory (the first writable candidate; the root filesystem may be read-only) and used from
 * there. Runs in a child process with globalThis.__LOGLOOM_ASSETS__ set, as in the bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/agent.ts';

function runBundled(assets: Record<string, string>, script: string, env: Record<string, string> = {}): string {
  const file = join(tempDir('logloom-rt-'), 'probe.ts');
  const prelude = `globalThis.__LOGLOOM_ASSETS__ = ${JSON.stringify(assets)};\n`;
  require_write(file, prelude + script);
  return execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', file], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function require_write(file: string, text: string) {
  execFileSync('sh', ['-c', 'cat > "$0"', file], { input: text });
}

const b64 = (p: string) => readFileSync(join(ROOT, p)).toString('base64');

test('bundled: addon, host and launcher are written to the runtime dir (unwritable candidates skipped), loaded and run from there', () => {
  // The agent's runtime_dir; native parts go to its native/ (passed in, not set as global state).
  const runtimeDir = tempDir('logloom-runtime-');
  const runDir = join(runtimeDir, 'native');
  const so = join(tempDir('logloom-rt-so-'), 'filter_keyword.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-I', join(ROOT, 'native/include'), '-o', so, join(ROOT, 'native/examples/filter_keyword.c')]);
  const stateDir = join(tempDir('logloom-rt-state-'), 'filter_keyword');
  const assets = {
    'native/build/Release/logloom_native.node': b64('native/build/Release/logloom_native.node'), 'native/build/logloom-plugin-host': b64('native/build/logloom-plugin-host'),
    'native/build/logloom-launcher': b64('native/build/logloom-launcher'),
  };
  const out = runBundled(assets, `
import { nativeFile, loadAddon } from '${ROOT}lib/native-runtime.ts';
import { NativeProcessHost, HOST_ASSET } from '${ROOT}agent/plugins/hosts/native.ts';
const addon = loadAddon(${JSON.stringify(runDir)});
const host = new NativeProcessHost({ name: 'filter_keyword', kind: 'native', type: 'filter', origin: ${JSON.stringify(so)}, file: ${JSON.stringify(so)}, protocol: 'line', trusted: false, limits: { timeout_ms: 2000 } }, { runtimeDir: ${JSON.stringify(runtimeDir)} });
const info = await host.start({ config: { keyword: 'x' }, stateDir: ${JSON.stringify(stateDir)}, log: { warn() {}, info() {}, error() {} } });
const sandbox = host.status().sandbox;
await host.stop();
console.log(JSON.stringify({ abi: addon.abiVersion, host: nativeFile(HOST_ASSET, true, ${JSON.stringify(runDir)}), name: info.name, sandbox }));
`, { LOGLOOM_RUNTIME_DIR: '/proc/version/not-a-dir' });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(r.abi, 1);
  assert.equal(r.name, 'filter_keyword');
  assert.ok(r.host.startsWith(runDir + '/'), r.host);
  assert.equal(statSync(runDir).mode & 0o777, 0o700);
  const files = readdirSync(runDir).sort();
  assert.equal(files.length, 3);
  assert.ok(files.some((f) => /^[0-9a-f]{16}-logloom-plugin-host$/.test(f)) && files.some((f) => /^[0-9a-f]{16}-logloom_native\.node$/.test(f)), files.join(' '));
  // The host started through the launcher unpacked from the bundle (as nobody, from a 0700 dir).
  assert.ok(files.some((f) => /^[0-9a-f]{16}-logloom-launcher$/.test(f)), files.join(' '));
  assert.equal(r.sandbox?.launcher, 'applied', JSON.stringify(r.sandbox));
  assert.equal(r.sandbox?.user, 'nobody');
  // A second start reuses the files (no rewrite of an unchanged asset).
  const before = statSync(join(runDir, files[0]!)).mtimeMs;
  runBundled(assets, `import { nativeFile } from '${ROOT}lib/native-runtime.ts'; nativeFile('native/build/logloom-plugin-host', true, ${JSON.stringify(runDir)});`, { LOGLOOM_RUNTIME_DIR: '/proc/version/x' });
  assert.equal(statSync(join(runDir, files[0]!)).mtimeMs, before);
});

test('bundled without the addon: buffer.native auto falls back to the JS implementation and says so once; on refuses', () => {
  const out = runBundled({}, `
import { createRing } from '${ROOT}agent/buffer/select.ts';
const lines = [];
const a = createRing(4096, 'auto', (m) => lines.push(m));
const b = createRing(4096, 'auto', (m) => lines.push(m));
let on = 'accepted';
try { createRing(4096, 'on', (m) => lines.push(m)); } catch (e) { on = e.message; }
console.log(JSON.stringify({ impls: [a.impl, b.impl], lines, on }));
`);
  const r = JSON.parse(out.trim());
  assert.deepEqual(r.impls, ['js', 'js']);
  assert.equal(r.lines.length, 1);
  assert.match(r.lines[0], /^native buffer unavailable, using the JS implementation \(.*not embedded/);
  assert.match(r.on, /^buffer.native: on: /);
});
