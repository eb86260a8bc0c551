/**
 * `logloom plugins check NAME -c FILE` checks the plugin the agent of that configuration would
 * load (found in its plugins.dirs), and a socket plugin passes only when its service answers.
 * Real python3 child, real unix socket service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ROOT, runCli, tempDir } from '../helpers/agent.ts';

function configWithDirs(dir: string, dirs: string[]): string {
  const path = join(dir, 'logloom.yaml');
  writeFileSync(path, `logloom:\n  runtime_dir: ${dir}/run\n  data_dir: ${dir}/data\n  plugins:\n    dirs: ${JSON.stringify(dirs)}\n`);
  return path;
}

test('plugins check NAME -c FILE finds a Python plugin in that configuration\'s plugins.dirs', async () => {
  const dir = tempDir('logloom-checkcfg-');
  const plugins = join(dir, 'plugins');
  mkdirSync(plugins);
  copyFileSync(join(ROOT, 'test/fixtures/plugins/python/filter_keyword.py'), join(plugins, 'filter_keyword.py'));
  const cfg = configWithDirs(dir, [plugins]);
  const r = await runCli(['plugins', 'check', 'filter_keyword', '-c', cfg]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^PASS  discover: python filter plugin filter_keyword from ${plugins}/filter_keyword\\.py$`, 'm'));
  const none = await runCli(['plugins', 'check', 'filter_nothere', '-c', cfg]);
  assert.equal(none.code, 1);
  assert.match(none.stdout, new RegExp(`no such file, directory, compiled-in plugin, or plugin in .*${plugins}`));
});

test('plugins check of a socket plugin FAILs while its service is not running and PASSes once it answers', async () => {
  const dir = tempDir('logloom-checkcfg-');
  const plugins = join(dir, 'plugins');
  const address = join(dir, 'service.sock');
  mkdirSync(join(plugins, 'filter_remote'), { recursive: true });
  writeFileSync(join(plugins, 'filter_remote/plugin.yaml'),
    `name: filter_remote\nversion: 1.0.0\nauthor: test\ntype: filter\nmode: sync\ncapability: []\nentry:\n  kind: socket\n  address: unix:${address}\n`);
  const cfg = configWithDirs(dir, [plugins]);
  const down = await runCli(['plugins', 'check', 'filter_remote', '-c', cfg]);
  assert.equal(down.code, 1, down.stdout);
  assert.match(down.stdout, /^FAIL  start: the service did not answer: cannot connect to unix:.*service\.sock: ENOENT \(is it running\?\)$/m);
  assert.doesNotMatch(down.stdout, /^PASS  start/m);

  // The service: the line protocol, answering info and keeping every entry.
  const server = createServer((sock) => {
    createInterface({ input: sock }).on('line', (line) => {
      const m = JSON.parse(line) as { id: number; op: string; batch?: unknown[] };
      const answer = m.op === 'info'
        ? { id: m.id, status: 0, info: { name: 'filter_remote', version: '1.0.0', author: 'test', type: 'filter', capability: [], mode: 'sync' } }
        : m.op === 'process' ? { id: m.id, status: 0, ...(m.batch ? { keep: m.batch.map(() => true) } : { keep: true }) }
        : { id: m.id, status: 0 };
      sock.write(JSON.stringify(answer) + '\n');
    });
  }).listen(address);
  try {
    const up = await runCli(['plugins', 'check', 'filter_remote', '-c', cfg]);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /^PASS  start: init and info answered: filter_remote 1\.0\.0/m);
  } finally {
    server.close();
  }
});
