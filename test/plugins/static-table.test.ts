import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readProfile, renderHostsTable, renderStaticTable, staleFiles, presentHosts, ROOT, ProfileError } from '../../toolchain/gen-static-table.ts';
import { STATIC_PLUGINS, PROFILE, LOCKED } from '../../static-plugins/table.generated.ts';
import { HOST_FACTORIES } from '../../agent/plugins/hosts/index.ts';
import { tempDir } from '../helpers/agent.ts';

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

test('each static plugin\'s plugin.yaml agrees with the info its code declares', () => {
  for (const m of STATIC_PLUGINS) {
    const p = readProfile('default');
    assert.ok(p.plugins.includes(m.info.name));
  }
  // checkManifest ran in readProfile; compare the fields that both declare.
  for (const m of STATIC_PLUGINS) {
    const text = spawnSync('cat', [join(ROOT, 'static-plugins', m.info.name, 'plugin.yaml')], { encoding: 'utf8' }).stdout;
    for (const k of ['name', 'version', 'type', 'mode'] as const) assert.match(text, new RegExp(`^${k}: ${m.info[k]}$`, 'm'), `${m.info.name}: ${k}`);
  }
});
