/**
 * Signatures cover the whole plugin, are checked at every start and restart, and what runs is the
 * verified copy: each test reproduces an attack that used to work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { parse } from 'yaml';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { checkPluginFiles, generateKeys, manifestSha256, signPlugin } from '../../../agent/plugins/signing.ts';
import { startHarness } from '../harness.ts';
import { agentWith, pluginStatus, send } from '../process/helpers.ts';
import { writePlugin } from './fixtures.ts';
import { rng } from '../../helpers/rng.ts';

const manifest = (name: string, extra = '') =>
  `name: ${name}\nversion: 1.0.0\nauthor: T\ntype: filter\nmode: sync\ncapability: []\nentry:\n  kind: python\n  path: ${name}.py\n${extra}`;

/** Each edit an attacker would make to a signed plugin.yaml (or its directory). */
const EDITS: Record<string, (dir: string, name: string) => void> = {
  capability: (d, n) => edit(d, (t) => t.replace('capability: []', 'capability: [network]'), n),
  trusted: (d, n) => edit(d, (t) => t.replace('  path:', '  trusted: true\n  path:'), n),
  limits: (d, n) => edit(d, (t) => `${t}limits:\n  memory_max: 1GiB\n`, n),
  user: (d, n) => edit(d, (t) => `${t}limits:\n  user: root\n`, n),
  type: (d, n) => edit(d, (t) => t.replace('type: filter\nmode: sync', 'type: sink'), n),
  mode: (d, n) => edit(d, (t) => t.replace('mode: sync', 'mode: async'), n),
  added_file: (d) => writeFileSync(join(d, 'sitecustomize.py'), 'import os\n'),
};

function edit(dir: string, f: (t: string) => string, _name: string): void {
  const p = join(dir, 'plugin.yaml');
  writeFileSync(p, f(readFileSync(p, 'utf8')));
}

test('editing a signed plugin.yaml (capability, entry.trusted, limits, user, type, mode) or adding a file: plugins verify fails, require_signature refuses', async () => {
  const dir = tempDir();
  const key = generateKeys();
  writeFileSync(join(dir, 'release.pub'), key.publicPem);
  const names = Object.keys(EDITS).map((e) => `filter_${e}`);
  for (const [e, apply] of Object.entries(EDITS)) {
    const name = `filter_${e}`;
    const p = writePlugin(join(dir, 'plugins'), name, { 'plugin.yaml': manifest(name), [`${name}.py`]: 'def plugin_process(entry):\n    return 0\n' });
    signPlugin(join(p, 'plugin.yaml'), createPrivateKey(key.privatePem));
    apply(p, name);
  }
  // An untouched signed plugin still verifies (the check is not simply failing everything).
  const good = writePlugin(join(dir, 'plugins'), 'filter_good', { 'plugin.yaml': manifest('filter_good'), 'filter_good.py': 'def plugin_process(entry):\n    return 0\n' });
  writeFileSync(join(dir, 'k.key'), key.privatePem);
  const signed = await runCli(['plugins', 'sign', good, '--key', join(dir, 'k.key')]);
  assert.equal(signed.code, 0, signed.stderr);
  assert.match(signed.stdout, /plugin\.yaml and 1 file \(filter_good\.py\)/);
  const manifestText = readFileSync(join(good, 'plugin.yaml'), 'utf8');
  assert.match(manifestText, /^files:\n {2}filter_good\.py: [0-9a-f]{64}$/m);

  const verify = await Promise.all([...names, 'filter_good'].map((n) => runCli(['plugins', 'verify', join(dir, 'plugins', n), '--pubkey', join(dir, 'release.pub')])));
  const byName = Object.fromEntries([...names, 'filter_good'].map((n, i) => [n, verify[i]!]));
  assert.equal(byName.filter_good!.code, 0, byName.filter_good!.stdout);
  for (const n of names) {
    assert.equal(byName[n]!.code, 1, `${n}: ${byName[n]!.stdout}`);
    assert.match(byName[n]!.stdout, n === 'filter_added_file' ? /^modified: sitecustomize\.py is not covered by the signature/ : /^modified: plugin\.yaml changed after signing/, n);
  }

  const h = await startHarness({
    statics: [], dirs: [join(dir, 'plugins')],
    config: { enabled: [...names, 'filter_good'], require_signature: true, trusted_keys: [join(dir, 'release.pub')] },
  });
  try {
    const sig = Object.fromEntries(h.registry.list().map((r) => [r.name, r.signature]));
    for (const n of names) {
      assert.equal(sig[n], 'modified', n);
      assert.ok(h.log.lines.some((l) => l.startsWith(`[WARN] Failed to load plugin '${n}.py': modified:`)), `${n}: ${h.log.lines.join('\n')}`);
    }
    assert.equal(sig.filter_good, 'signed');
  } finally {
    await h.stop();
  }
});

test('socket plugins\' manifests are signed too: unsigned and edited socket manifests are refused under require_signature', async () => {
  const dir = tempDir();
  const key = generateKeys();
  writeFileSync(join(dir, 'release.pub'), key.publicPem);
  const sock = (name: string) => `name: ${name}\nversion: 1.0.0\nauthor: T\ntype: filter\ncapability: []\nentry:\n  kind: socket\n  address: unix:${dir}/none-${name}.sock\n`;
  writePlugin(join(dir, 'plugins'), 'filter_sock_unsigned', { 'plugin.yaml': sock('filter_sock_unsigned') });
  const edited = writePlugin(join(dir, 'plugins'), 'filter_sock_edited', { 'plugin.yaml': sock('filter_sock_edited') });
  signPlugin(join(edited, 'plugin.yaml'), createPrivateKey(key.privatePem));
  edit(edited, (t) => t.replace('capability: []', 'capability: [network]'), '');
  const good = writePlugin(join(dir, 'plugins'), 'filter_sock_good', { 'plugin.yaml': sock('filter_sock_good') });
  signPlugin(join(good, 'plugin.yaml'), createPrivateKey(key.privatePem));
  const h = await startHarness({
    statics: [], dirs: [join(dir, 'plugins')],
    config: { enabled: ['filter_sock_unsigned', 'filter_sock_edited', 'filter_sock_good'], require_signature: true, trusted_keys: [join(dir, 'release.pub')] },
  });
  try {
    const warns = h.log.lines.filter((l) => l.startsWith('[WARN] Failed to load plugin'));
    assert.ok(warns.some((l) => /'filter_sock_unsigned\/plugin\.yaml': unsigned: no sha256 in plugin\.yaml \(plugins\.require_signature is on\)$/.test(l)), warns.join('\n'));
    assert.ok(warns.some((l) => /'filter_sock_edited\/plugin\.yaml': modified: plugin\.yaml changed after signing/.test(l)), warns.join('\n'));
    // The signed one passes the signature check (and then fails only because nothing listens).
    assert.ok(!warns.some((l) => /filter_sock_good.*(unsigned|modified|untrusted)/.test(l)), warns.join('\n'));
    const sig = Object.fromEntries(h.registry.list().map((r) => [r.name, r.signature]));
    assert.deepEqual([sig.filter_sock_unsigned, sig.filter_sock_edited, sig.filter_sock_good], ['unsigned', 'modified', 'signed']);
  } finally {
    await h.stop();
  }
});

test('entry.path outside the plugin directory (../../tmp/x.py, or a symlink to it) is refused at discovery and by plugins sign', async () => {
  const dir = tempDir();
  const outside = join(dir, 'elsewhere');
  mkdirSync(outside);
  writeFileSync(join(outside, 'x.py'), 'def plugin_process(entry):\n    return 0\n');
  const traversal = writePlugin(join(dir, 'plugins'), 'filter_traversal', { 'plugin.yaml': manifest('filter_traversal').replace('path: filter_traversal.py', 'path: ../../elsewhere/x.py') });
  const linked = writePlugin(join(dir, 'plugins'), 'filter_linked', { 'plugin.yaml': manifest('filter_linked') });
  symlinkSync(join(outside, 'x.py'), join(linked, 'filter_linked.py'));
  const h = await startHarness({ statics: [], dirs: [join(dir, 'plugins')], config: { enabled: ['filter_traversal', 'filter_linked'] } });
  try {
    const warns = h.log.lines.filter((l) => l.startsWith('[WARN] Failed to load plugin'));
    assert.ok(warns.some((l) => l.includes(`'filter_traversal/plugin.yaml': entry.path "../../elsewhere/x.py" resolves to ${outside}/x.py, outside the plugin directory`)), warns.join('\n'));
    assert.ok(warns.some((l) => l.includes(`'filter_linked/plugin.yaml': entry.path "filter_linked.py" resolves to ${outside}/x.py, outside the plugin directory`)), warns.join('\n'));
    assert.equal(h.registry.running().length, 0);
  } finally {
    await h.stop();
  }
  writeFileSync(join(dir, 'k.key'), generateKeys().privatePem);
  const s = await runCli(['plugins', 'sign', traversal, '--key', join(dir, 'k.key')]);
  assert.notEqual(s.code, 0);
  assert.match(s.stderr, /outside the plugin directory/);
});

test('a signed Python file swapped after a verified start: the running plugin keeps the verified bytes, and after kill -9 the restart refuses it; status says modified', async () => {
  const key = generateKeys();
  let plugin = '';
  const agent = await agentWith(`    dirs: [DIR/plugins]
    enabled: [filter_swap]
    require_signature: true
    trusted_keys: [DIR/release.pub]
`, (dir) => {
    writeFileSync(join(dir, 'release.pub'), key.publicPem);
    plugin = writePlugin(join(dir, 'plugins'), 'filter_swap', {
      'plugin.yaml': manifest('filter_swap'),
      // The helper is imported only when the first entry arrives, well after the start.
      'filter_swap.py': 'def plugin_process(entry):\n    import helper\n    with open("seen.txt", "a") as f:\n        f.write(helper.VERSION + "\\n")\n    return 0\n',
      'helper.py': 'VERSION = "verified"\n',
    });
    signPlugin(join(plugin, 'plugin.yaml'), createPrivateKey(key.privatePem));
  });
  try {
    const first = await pluginStatus(agent, 'filter_swap');
    assert.equal(first.signature, 'signed');
    assert.equal(typeof first.pid, 'number');
    // Swap both files in the plugin directory (the plugin user could not, but root's mistakes or another hole could).
    writeFileSync(join(plugin, 'helper.py'), 'VERSION = "swapped"\n');
    writeFileSync(join(plugin, 'filter_swap.py'), 'open("/tmp/logloom-swapped-ran", "w").write("x")\ndef plugin_process(entry):\n    return 0\n');
    await send(agent, 'one');
    const state = `${agent.dir}/data/plugins/filter_swap`;
    assert.equal(await waitForFile(`${state}/seen.txt`, (t) => t.trim() || undefined), 'verified');

    process.kill(first.pid, 'SIGKILL');
    await agent.stderr.waitFor(/Plugin communication failed: filter_swap: restart failed: modified: sha256 of \S+filter_swap\.py is [0-9a-f]{64}, plugin\.yaml says [0-9a-f]{64}/);
    const after = await pluginStatus(agent, 'filter_swap');
    assert.equal(after.signature, 'modified');
    assert.equal(after.state, 'failed');
    assert.equal(existsSync('/tmp/logloom-swapped-ran'), false, 'unsigned code ran');
  } finally {
    await agent.stop();
  }
});

test('signature check fuzz (300 seeded mutations of a signed plugin.yaml and its files): never throws, never says signed unless the meaning and files are unchanged', () => {
  const dir = tempDir();
  const key = generateKeys();
  const pub = createPublicKey(key.publicPem);
  const p = writePlugin(dir, 'filter_fuzz', { 'plugin.yaml': manifest('filter_fuzz', 'limits:\n  timeout_ms: 200\n'), 'filter_fuzz.py': 'def plugin_process(entry):\n    return 0\n' });
  signPlugin(join(p, 'plugin.yaml'), createPrivateKey(key.privatePem));
  const signedText = readFileSync(join(p, 'plugin.yaml'), 'utf8');
  const source = readFileSync(join(p, 'filter_fuzz.py'));
  const meaning = (text: string) => {
    try {
      return manifestSha256(parse(text));
    } catch {
      return 'unparseable';
    }
  };
  const original = meaning(signedText);
  const alphabet = ' \n:-[]{}#"\'\t\\0123456789abcdefnetworktrue';
  let signedCount = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const random = rng(seed);
    let text = signedText;
    const bytes = Buffer.from(source);
    for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
      const at = Math.floor(random() * text.length);
      const r = random();
      if (r < 0.4) text = text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at + 1);
      else if (r < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 8));
      else if (r < 0.9) text = text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at);
      else bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
    }
    const files = { root: p, manifest: 'plugin.yaml', files: new Map([['plugin.yaml', Buffer.from(text)], ['filter_fuzz.py', bytes]]) };
    const c = checkPluginFiles(files, [pub]);
    assert.ok(['signed', 'unsigned', 'modified', 'untrusted'].includes(c.state), `seed ${seed}: ${c.state}`);
    if (c.state === 'signed') {
      signedCount++;
      assert.equal(meaning(text), original, `seed ${seed}: signed with a different meaning:\n${text}`);
      assert.ok(bytes.equals(source), `seed ${seed}: signed with changed file bytes`);
    }
  }
  // Mutations that only touched comments or layout still verify: the check is not just failing.
  assert.ok(signedCount > 0);
});
