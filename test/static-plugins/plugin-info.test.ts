/**
 * A compiled-in plugin's metadata is written once, in its plugin.yaml; the `info` its code
 * declares is generated from it (toolchain/gen-plugin-info.ts, run by make static-table and
 * make docs), as docs/configuration.md is generated from the schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedInfo, pluginDirs, ROOT, staleInfoFiles } from '../../toolchain/gen-plugin-info.ts';
import { tempDir } from '../helpers/agent.ts';

test('every static plugin\'s committed info.generated.ts is what its plugin.yaml generates (run make static-table when this fails)', () => {
  assert.deepEqual(staleInfoFiles(), []);
  assert.equal(Object.keys(generatedInfo()).length, pluginDirs().length);
});

test('a plugin.yaml change makes its info stale; the generated module carries the manifest\'s fields', async () => {
  const root = tempDir();
  cpSync(join(ROOT, 'static-plugins'), join(root, 'static-plugins'), { recursive: true });
  assert.deepEqual(staleInfoFiles(root), []);
  const yaml = join(root, 'static-plugins/sink_tcp/plugin.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^version: .*$/m, 'version: 9.8.7').replace(/^author: .*$/m, "author: O'Brien \\ Co"));
  assert.deepEqual(staleInfoFiles(root), ['static-plugins/sink_tcp/info.generated.ts']);
  const text = generatedInfo(root)['static-plugins/sink_tcp/info.generated.ts']!;
  const out = join(root, 'static-plugins/sink_tcp/info.generated.ts');
  writeFileSync(out, text.replace("'../../agent/plugins/types.ts'", JSON.stringify(join(ROOT, 'agent/plugins/types.ts'))));
  const { info } = await import(out);
  assert.deepEqual(info, { name: 'sink_tcp', version: '9.8.7', author: "O'Brien \\ Co", type: 'sink', mode: 'async', capability: ['json_lines', 'batch', 'reconnect'] });
});
