/**
 * `plugins reload` verifies before it restarts: under require_signature, a plugin file changed
 * on disk (not re-signed) is refused and the running plugin keeps working; re-signed, the reload
 * runs the new file. Real Python children, real ed25519 signatures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { generateKeys, signPlugin } from '../../agent/plugins/signing.ts';
import { PluginLoadError } from '../../agent/plugins/host.ts';
import { recordingSink, startHarness, until } from './harness.ts';
import { tempDir } from '../helpers/agent.ts';

const dropping = (word: string) => `def plugin_process(entry):\n    return "${word}" not in entry["message"]\n`;

test('plugins reload refuses a modified, unsigned file under require_signature and keeps the running plugin; a re-signed file is reloaded', async () => {
  const dir = tempDir('logloom-reload-');
  chmodSync(dir, 0o755);
  const key = generateKeys();
  writeFileSync(join(dir, 'k.pub'), key.publicPem);
  const p = join(dir, 'plugins/filter_signed');
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, 'plugin.yaml'), 'name: filter_signed\nversion: 1.0.0\nauthor: T\ntype: filter\nentry:\n  kind: python\n  path: filter_signed.py\n');
  const sign = () => void signPlugin(join(p, 'plugin.yaml'), createPrivateKey(key.privatePem));
  writeFileSync(join(p, 'filter_signed.py'), dropping('one'));
  sign();
  const sink = recordingSink();
  const h = await startHarness({
    statics: [sink.mod], dirs: [join(dir, 'plugins')],
    config: { enabled: ['filter_signed', 'sink_record'], require_signature: true, trusted_keys: [join(dir, 'k.pub')] },
  });
  try {
    const pid = () => h.registry.status().find((s) => s.name === 'filter_signed')!.pid;
    const pid1 = pid();
    writeFileSync(join(p, 'filter_signed.py'), dropping('two'));
    await assert.rejects(h.registry.reload('filter_signed'), (e: unknown) => e instanceof PluginLoadError && /^Failed to load plugin 'filter_signed.py': modified: sha256 of /.test(e.line));
    assert.equal(pid(), pid1, 'the running plugin was not touched');
    h.send('drop one');
    h.send('keep two');
    await until(h.pipeline, () => sink.received.length === 1, 20_000, 'the old plugin filtering');
    assert.deepEqual(sink.received.map((e) => e.message), ['keep two']);

    sign();
    const info = await h.registry.reload('filter_signed');
    assert.equal(info?.name, 'filter_signed');
    assert.notEqual(pid(), pid1);
    h.send('keep one');
    h.send('drop two');
    h.send('marker');
    await until(h.pipeline, () => sink.received.length === 3, 20_000, 'the new plugin filtering');
    assert.deepEqual(sink.received.map((e) => e.message), ['keep two', 'keep one', 'marker']);
    await h.log.waitFor(/Plugin filter_signed reloaded \(version 1\.0\.0\)/);
  } finally {
    await h.stop();
  }
});
