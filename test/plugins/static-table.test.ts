import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readProfile, renderHostsTable, renderStaticTable, staleFiles, presentHosts, ROOT, ProfileError } from '../../toolchain/gen-static-table.ts';
import { STATIC_PLUGINS, PROFILE, LOCKED } from '../../static-plugins/table.generated.ts';
import { HOST_FACTORIES } from '../../agent/plugins/hosts/index.ts';
import { tempDir } from '../helpers/agent.ts';
import { readManifest } from '../../agent/plugins/manifest.ts';
import type { PluginInfo } from '../../agent/plugins/types.ts';

test('the committed static table and hosts table match the default profile (run make static-table when this fails)', () => {
  const profile = readProfile('default');
  assert.deepEqual(staleFiles(profile), []);
  assert.equal(PROFILE, 'default');
  assert.equal(LOCKED, false);
  assert.deepEqual(STATIC_PLUGINS.map((m) => m.info.name), profile.plugins);
  assert.deepEqual(Object.keys(HOST_FACTORIES).sort(), ['static', ...presentHosts()].sort());
});

test('a profile change makes the committed table stale, and the --check command says so', () => {
  // A copy of the tree's generator inputs with one plugin removed from the profile.
  const root = tempDir();
  cpSync(join(ROOT, 'static-plugins'), join(root, 'static-plugins'), { recursive: true });
  mkdirSync(join(root, 'agent/plugins/hosts'), { recursive: true });
  for (const f of ['index.ts', ...presentHosts().map((k) => `${k}.ts`)]) cpSync(join(ROOT, 'agent/plugins/hosts', f), join(root, 'agent/plugins/hosts', f));
  const p = readProfile('default', root);
  assert.deepEqual(staleFiles(p, root), []);
  writeFileSync(join(root, 'static-plugins/profiles/default.yaml'), `locked: false\nplugins: [${p.plugins.filter((n) => n !== 'filter_grep').join(', ')}]\n`);
  assert.deepEqual(staleFiles(readProfile('default', root), root), ['static-plugins/table.generated.ts']);
  // A host module appearing in (or leaving) the tree makes the hosts table stale too.
  const socketHost = join(root, 'agent/plugins/hosts/socket.ts');
  if (presentHosts().includes('socket')) rmSync(socketHost);
  else writeFileSync(socketHost, 'export const hostFactory = null;\n');
  writeFileSync(join(root, 'static-plugins/profiles/default.yaml'), `locked: false\nplugins: [${p.plugins.join(', ')}]\n`);
  assert.deepEqual(staleFiles(readProfile('default', root), root), ['agent/plugins/hosts/index.ts']);
  const check = spawnSync(process.execPath, [join(ROOT, 'toolchain/gen-static-table.ts'), '--check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('the generator renders profiles as documented and refuses bad ones', () => {
  const locked = readProfile('locked');
  assert.equal(locked.locked, true);
  const table = renderStaticTable(locked);
  assert.match(table, /export const LOCKED = true;/);
  for (const n of locked.plugins) assert.match(table, new RegExp(`import ${n} from './${n}/index.ts';`));
  const hosts = renderHostsTable(locked);
  assert.doesNotMatch(hosts, /from '\.\/(native|python|socket)\.ts'/);
  assert.match(hosts, /static: staticHost,/);

  const root = tempDir();
  mkdirSync(join(root, 'static-plugins/profiles'), { recursive: true });
  writeFileSync(join(root, 'static-plugins/profiles/x.yaml'), 'locked: maybe\nplugins: []\n');
  assert.throws(() => readProfile('x', root), (e: Error) => e instanceof ProfileError && /locked: expected true or false/.test(e.message));
  writeFileSync(join(root, 'static-plugins/profiles/x.yaml'), 'locked: false\nplugins: [filter_nothere]\n');
  assert.throws(() => readProfile('x', root), /plugin filter_nothere: static-plugins\/filter_nothere\/index.ts not found/);
});

test('each static plugin\'s plugin.yaml agrees with the info its code declares; every plugin directory is in the default profile', async () => {
  // Every static-plugins/<dir> with a plugin.yaml ships in the default build, under its directory's name.
  const dirs = readdirSync(join(ROOT, 'static-plugins'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'static-plugins', d.name, 'plugin.yaml'))).map((d) => d.name).sort();
  assert.deepEqual([...readProfile('default').plugins].sort(), dirs);
  for (const name of dirs) {
    // The module itself (not the generated table) says who it is.
    const mod = (await import(join(ROOT, 'static-plugins', name, 'index.ts'))).default as { info: PluginInfo };
    assert.equal(mod.info.name, name, `static-plugins/${name}/index.ts declares name ${mod.info.name}`);
    // The manifest, read by the agent's own parser, declares the same fields.
    const m = readManifest(join(ROOT, 'static-plugins', name, 'plugin.yaml'));
    assert.deepEqual(
      { name: m.name, version: m.version, author: m.author, type: m.type, mode: m.mode, capability: m.capability, kind: m.entry.kind },
      { name: mod.info.name, version: mod.info.version, author: mod.info.author, type: mod.info.type, mode: mod.info.mode, capability: mod.info.capability, kind: 'static' },
      `static-plugins/${name}/plugin.yaml`,
    );
  }
});
