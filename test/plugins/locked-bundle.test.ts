import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { bundle } from '../../toolchain/bundle.ts';
import { DYNAMIC_HOSTS, presentHosts, readProfile, ROOT } from '../../toolchain/gen-static-table.ts';
import { requireSignature } from '../../agent/plugins/registry.ts';
import { pluginsConfig } from './harness.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { parseLocale } from '../../lib/i18n/catalogue.ts';

const dir = tempDir('logloom-bundle-');
const locked = bundle({ profile: 'locked', outfile: join(dir, 'logloom-locked.mjs') });
const dflt = bundle({ profile: 'default', outfile: join(dir, 'logloom-default.mjs') });

/**
 * A copy of the tree where every dynamic host module exists (a stand-in carrying a marker where
 * the real one is not merged yet), so that the locked check can fail whatever this branch holds.
 */
async function bundleWithAllHosts(profile: string) {
  const root = tempDir('logloom-tree-');
  for (const d of ['lib', 'entry', 'protocol', 'agent', 'aggregator', 'cli', 'static-plugins', 'locales', 'toolchain', 'python', 'package.json']) cpSync(join(ROOT, d), join(root, d), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  for (const k of DYNAMIC_HOSTS) {
    const f = join(root, 'agent/plugins/hosts', `${k}.ts`);
    const own = presentHosts().includes(k) ? readFileSync(f, 'utf8') : `import type { HostFactory } from '../host.ts';\nexport const hostFactory: HostFactory = () => { throw new Error('stand-in ${k} host'); };\n`;
    writeFileSync(f, `${own}\n(globalThis as Record<string, unknown>).__bundleMarker_${k} = 'dynamic host ${k} is in this bundle';\n`);
  }
  return bundle({ profile, root, outfile: join(root, 'dist', `${profile}.mjs`) });
}

test('with every dynamic host in the tree, the locked bundle still has none of them and the default bundle has all', async () => {
  const [l, d] = await Promise.all([bundleWithAllHosts('locked'), bundleWithAllHosts('default')]);
  const lt = readFileSync(l.outfile, 'utf8');
  const dt = readFileSync(d.outfile, 'utf8');
  for (const k of DYNAMIC_HOSTS) {
    assert.ok(!lt.includes(`dynamic host ${k} is in this bundle`), `${k} host code in the locked bundle`);
    assert.ok(dt.includes(`dynamic host ${k} is in this bundle`), `${k} host code missing from the default bundle`);
  }
});

function run(file: string, args: string[]) {
  // From another directory, so nothing can be read from the checkout: assets must be embedded.
  return spawnSync(process.execPath, [file, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, LOGLOOM_CONFIG: '' } });
}

test('the locked bundle contains no dynamic plugin host code; the default bundle has every host in the tree', async () => {
  const l = await locked;
  const d = await dflt;
  const text = readFileSync(l.outfile, 'utf8');
  for (const k of DYNAMIC_HOSTS) {
    assert.ok(!l.inputs.includes(`agent/plugins/hosts/${k}.ts`), `${k} host bundled in the locked build`);
    assert.doesNotMatch(text, new RegExp(`^// agent/plugins/hosts/${k}\\.ts$`, 'm'));
  }
  assert.match(text, /^\/\/ agent\/plugins\/hosts\/static\.ts$/m);
  // esbuild may declare the table lazily (var …; then LOCKED = true in its init): either form.
  assert.match(text, /\bLOCKED = true;/);
  // Nor what only the dynamic hosts use: the process protocol, resource limits, the C host program.
  assert.deepEqual(l.inputs.filter((p) => /^agent\/plugins\/(protocol|limits)\//.test(p)), []);
  assert.ok(!l.assets.some((a) => a.endsWith('logloom-plugin-host')), 'the C plugin host program is embedded in the locked bundle');
  for (const k of presentHosts()) assert.ok(d.inputs.includes(`agent/plugins/hosts/${k}.ts`), `${k} host missing from the default bundle`);
  // Only the profile's static plugins are in it.
  const lockedPlugins = readProfile('locked').plugins;
  for (const n of readProfile('default').plugins) {
    assert.equal(l.inputs.includes(`static-plugins/${n}/index.ts`), lockedPlugins.includes(n), n);
  }
});

test('the locked build refuses plugins.dirs in check-config, requires signatures by default, and runs from its embedded assets', async () => {
  const l = await locked;
  const cfg = join(dir, 'dirs.yaml');
  writeFileSync(cfg, 'logloom:\n  plugins:\n    dirs: [/opt/plugins]\n');
  const r = run(l.outfile, ['check-config', '-c', cfg]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), `${cfg}:3:12: plugins.dirs[0]: expected no directory: this is a locked build, which loads only its compiled-in plugins, got "/opt/plugins"`);
  const d = run((await dflt).outfile, ['check-config', '-c', cfg]);
  assert.equal(d.status, 0, d.stderr);

  assert.equal(requireSignature(pluginsConfig(), true), true);
  assert.equal(requireSignature(pluginsConfig(), false), false);
  assert.equal(requireSignature(pluginsConfig({ require_signature: false }), true), false);

  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, `logloom:\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control: { socket: ${dir}/run/c.sock }\n  plugins:\n    enabled: [sink_console, filter_level]\n`);
  const list = run(l.outfile, ['plugins', 'list', '-c', ok, '--offline', '--json']);
  assert.equal(list.status, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { name: string; kind: string }[];
  assert.deepEqual(rows.map((x) => x.name), readProfile('locked').plugins);
  assert.ok(rows.every((x) => x.kind === 'static'));
  const lang = run(l.outfile, ['lang', 'get', 'agent.stopped_clean', '--lang', 'zh']);
  assert.equal(lang.status, 0, lang.stderr);
  assert.doesNotMatch(lang.stdout, /FORMAT ERROR/);
});

test('a bundle carries each built-in catalogue already parsed, and renders every message from it as the checkout does from the YAML', async () => {
  const d = await dflt;
  for (const lang of ['en', 'zh']) {
    assert.ok(d.assets.includes(`locales/${lang}.table.json`), `locales/${lang}.table.json not embedded`);
    const fromYaml = parseLocale(readFileSync(join(ROOT, `locales/${lang}.yaml`), 'utf8'));
    for (const [key, ...values] of [['agent.started', 'a', 'b', '1', '2'], ['i18n.language_name']] as const) {
      const args = ['lang', 'get', key, ...values, '--lang', lang];
      const bundled = run(d.outfile, args);
      assert.equal(bundled.status, 0, bundled.stderr);
      const checkout = await runCli(args);
      assert.equal(bundled.stdout.trim(), checkout.stdout.trim(), `${lang} ${key}`);
      assert.ok(bundled.stdout.includes(fromYaml.get(key)!.split('%')[0]!), `${lang} ${key}: ${bundled.stdout}`);
    }
  }
});
