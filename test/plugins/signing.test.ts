import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/agent.ts';
import { recordingSink, startHarness, until } from './harness.ts';
import { createPrivateKey } from 'node:crypto';
import { generateKeys, signPlugin } from '../../agent/plugins/signing.ts';

function pluginDir(dir: string): string {
  const p = join(dir, 'filter_sig');
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'filter_sig.py'), 'def plugin_process(entry):\n    return 0\n');
  writeFileSync(join(p, 'plugin.yaml'), '# hand-written, comments survive signing\nname: filter_sig\nversion: 0.3.0\nauthor: Test\ntype: filter\nmode: sync\ncapability: []\nentry:\n  kind: python\n  path: filter_sig.py\n');
  return p;
}

test('signing round trip: keygen, sign, verify; a tampered byte and a wrong key are caught', async () => {
  const dir = tempDir();
  const plugin = pluginDir(dir);
  const k = await runCli(['keygen', '--out', join(dir, 'release')]);
  assert.equal(k.code, 0, k.stderr);
  assert.equal(statSync(join(dir, 'release.key')).mode & 0o777, 0o600);
  const other = await runCli(['keygen', '--out', join(dir, 'other')]);
  assert.equal(other.code, 0);

  const unsigned = await runCli(['plugins', 'verify', plugin, '--pubkey', join(dir, 'release.pub')]);
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stdout, /^unsigned: no sha256 in plugin.yaml$/);

  const s = await runCli(['plugins', 'sign', plugin, '--key', join(dir, 'release.key')]);
  assert.equal(s.code, 0, s.stderr);
  const manifest = readFileSync(join(plugin, 'plugin.yaml'), 'utf8');
  assert.match(manifest, /^# hand-written, comments survive signing/);
  assert.match(manifest, /^sha256: [0-9a-f]{64}$/m);
  assert.match(manifest, /^signature: [A-Za-z0-9+/]+=*$/m);

  const ok = await runCli(['plugins', 'verify', join(plugin, 'filter_sig.py'), '--pubkey', join(dir, 'release.pub')]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^signed: sha256 matches and the signature verifies$/);
  // The base64 form printed by keygen works as well.
  const b64 = /trusted_keys entry: (\S+)/.exec(k.stdout)![1]!;
  assert.equal((await runCli(['plugins', 'verify', plugin, '--pubkey', b64])).code, 0);

  const wrong = await runCli(['plugins', 'verify', plugin, '--pubkey', join(dir, 'other.pub')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /^untrusted: signature does not verify with any trusted key$/);

  const file = join(plugin, 'filter_sig.py');
  const bytes = readFileSync(file);
  bytes[5] = bytes[5]! ^ 0x01;
  writeFileSync(file, bytes);
  const tampered = await runCli(['plugins', 'verify', plugin, '--pubkey', join(dir, 'release.pub')]);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stdout, /^modified: sha256 of .*filter_sig.py is [0-9a-f]{64}, plugin.yaml says [0-9a-f]{64}$/);
});

test('require_signature refuses unsigned, modified and wrongly signed plugins before loading them; list shows the state', async () => {
  const dir = tempDir();
  const keys = join(dir, 'k');
  // Set-up in process (the CLI round trip is the test above): two key pairs, signed manifests.
  const key = generateKeys();
  const other = generateKeys();
  writeFileSync(`${keys}.pub`, key.publicPem);
  const sign = (p: string, _name: string, priv: string) => {
    signPlugin(join(p, 'plugin.yaml'), createPrivateKey(priv));
  };
  const mk = (name: string) => {
    const p = join(dir, 'plugins', name);
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, `${name}.py`), 'x = 1\n');
    writeFileSync(join(p, 'plugin.yaml'), `name: ${name}\nversion: 1.0.0\nauthor: T\ntype: filter\nentry:\n  kind: python\n  path: ${name}.py\n`);
    return p;
  };
  mk('filter_unsigned');
  const modified = mk('filter_modified');
  const wrongKey = mk('filter_wrongkey');
  const good = mk('filter_good');
  // The signed plugin is a real one: it must load and run, not only pass verification.
  writeFileSync(join(good, 'filter_good.py'), 'def plugin_process(entry):\n    return "drop me" not in entry["message"]\n');
  sign(modified, 'filter_modified', key.privatePem);
  writeFileSync(join(modified, 'filter_modified.py'), 'x = 2\n');
  sign(wrongKey, 'filter_wrongkey', other.privatePem);
  sign(good, 'filter_good', key.privatePem);

  chmodSync(dir, 0o755);
  const sink = recordingSink();
  const h = await startHarness({
    statics: [sink.mod], dirs: [join(dir, 'plugins')],
    config: { enabled: ['filter_unsigned', 'filter_modified', 'filter_wrongkey', 'filter_good', 'sink_record'], require_signature: true, trusted_keys: [`${keys}.pub`] },
  });
  try {
    const warns = h.log.lines.filter((l) => l.startsWith('[WARN]'));
    assert.ok(warns.includes(`[WARN] Failed to load plugin 'filter_unsigned.py': unsigned: no sha256 in plugin.yaml (plugins.require_signature is on)`), warns.join('\n'));
    assert.ok(warns.some((l) => /^\[WARN\] Failed to load plugin 'filter_modified.py': modified: sha256 of \S+ is [0-9a-f]{64}, plugin.yaml says [0-9a-f]{64}$/.test(l)), warns.join('\n'));
    assert.ok(warns.includes(`[WARN] Failed to load plugin 'filter_wrongkey.py': untrusted: signature does not verify with any trusted key (plugins.require_signature is on)`), warns.join('\n'));
    // The signed one loaded and runs: it filters what the pipeline sends.
    assert.ok(!warns.some((l) => /filter_good/.test(l)), warns.join('\n'));
    const sig = Object.fromEntries(h.registry.list().map((r) => [r.name, [r.signature, r.state]]));
    assert.deepEqual(sig, {
      filter_good: ['signed', 'enabled'], filter_modified: ['modified', 'refused'], filter_unsigned: ['unsigned', 'refused'], filter_wrongkey: ['untrusted', 'refused'],
      sink_record: ['builtin', 'enabled'],
    });
    h.send('keep 1');
    h.send('please drop me');
    h.send('keep 2');
    await until(h.pipeline, () => sink.received.length === 2, 20_000, 'two entries past filter_good');
    assert.deepEqual(sink.received.map((e) => e.message), ['keep 1', 'keep 2']);
    const st = h.registry.status().find((r) => r.name === 'filter_good')!;
    assert.ok((st.calls as number) >= 1 && st.failures === 0, JSON.stringify(st));
  } finally {
    await h.stop();
  }
  // plugins list (offline) shows the same signature states.
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `logloom:\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control: { socket: ${dir}/run/none.sock }\n  plugins:\n    dirs: [${dir}/plugins]\n    enabled: [filter_good]\n    trusted_keys: [${keys}.pub]\n`);
  const list = await runCli(['plugins', 'list', '-c', cfg, '--offline', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { name: string; signature: string; state: string; kind: string }[];
  const good1 = rows.find((r) => r.name === 'filter_good')!;
  assert.deepEqual([good1.kind, good1.state, good1.signature], ['python', 'enabled', 'signed']);
  assert.equal(rows.find((r) => r.name === 'filter_modified')!.signature, 'modified');
  assert.equal(rows.find((r) => r.name === 'sink_console')!.signature, 'builtin');
});
