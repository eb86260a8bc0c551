/**
 * What the plugin sandbox costs at each start of a plugin process: python3 started directly vs
 * through logloom-launcher (cgroup-free: seccomp, Landlock, network namespace, user drop), and the
 * verification + private copy of a plugin directory of N files (read once, hashed, signature
 * checked, written). Medians of 5 runs. Starts happen at load and restart only: nothing here is on
 * the per-entry path.
 * Re-run: node bench/plugin-launch.ts [files]
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, tempDir } from '../test/helpers/agent.ts';
import { generateKeys, signPlugin } from '../agent/plugins/signing.ts';
import { PluginVerifier } from '../agent/plugins/verified-copy.ts';
import type { DiscoveredPlugin } from '../agent/plugins/discovered.ts';
import { fmt, header, median } from './lib.ts';

const FILES = Number(process.argv[2] ?? 50);
const RUNS = 5;
const LAUNCHER = join(ROOT, 'native/build/logloom-launcher');

function time(fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

header('plugin launch', `node bench/plugin-launch.ts ${FILES}`);
const dir = tempDir('logloom-bench-launch-');
const state = join(dir, 'state');
mkdirSync(state);
const root = process.getuid?.() === 0;
if (root) chownSync(state, 65534, 65534);
const userArgs = root ? ['--uid', '65534', '--gid', '65534', '--user', 'nobody'] : [];

const direct = time(() => spawnSync('/usr/bin/python3', ['-I', '-c', 'pass'], { cwd: state }));
const launched = time(() => spawnSync(LAUNCHER, [...userArgs, '--write', state, '--', '/usr/bin/python3', '-I', '-c', 'pass'], { cwd: state }));
console.log(`python3 -I -c pass, direct:            ${fmt(direct, 1)} ms`);
console.log(`python3 -I -c pass, through launcher:  ${fmt(launched, 1)} ms  (+${fmt(launched - direct, 1)} ms)`);

const plugin = join(dir, 'plugins', 'filter_bench');
mkdirSync(plugin, { recursive: true });
writeFileSync(join(plugin, 'plugin.yaml'), 'name: filter_bench\nversion: 1.0.0\nauthor: B\ntype: filter\nentry:\n  kind: python\n  path: filter_bench.py\n');
writeFileSync(join(plugin, 'filter_bench.py'), 'def plugin_process(entry):\n    return 0\n');
for (let i = 0; i < FILES - 1; i++) writeFileSync(join(plugin, `mod_${i}.py`), `# module ${i}\n${'x = 1\n'.repeat(500)}`);
const key = generateKeys();
signPlugin(join(plugin, 'plugin.yaml'), createPrivateKey(key.privatePem));
const verifier = new PluginVerifier(() => [], false);
const p = { name: 'filter_bench', kind: 'python', type: 'filter', origin: plugin, manifestPath: join(plugin, 'plugin.yaml'), file: join(plugin, 'filter_bench.py') } as DiscoveredPlugin;
const copy = time(() => verifier.prepare(p, join(dir, 'run')).remove());
console.log(`verify + private copy of ${FILES} files (${fmt(FILES * 3)} KiB): ${fmt(copy, 1)} ms`);
