import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPlugin, renderReport } from '../../agent/plugins/conformance.ts';
import { HOST_FACTORIES } from '../../agent/plugins/hosts/index.ts';
import { definePlugin, type FilterPlugin, type StaticPluginModule } from '../../agent/plugins/types.ts';
import { pluginsConfig, recordingSink, startHarness, until } from './harness.ts';
import { runCli, tempDir } from '../helpers/agent.ts';

const opts = (statics: StaticPluginModule[]) => ({
  config: pluginsConfig(), statics, hosts: HOST_FACTORIES, env: { python: '/usr/bin/python3', runtimeDir: tempDir(), dataDir: tempDir() },
});

const filterOf = (name: string, filter: FilterPlugin['filter']) =>
  definePlugin({ info: { name, version: '1.0.0', author: 't', type: 'filter', capability: [], mode: 'sync' }, create: (): FilterPlugin => ({ filter }) });

test('plugins check: a shipped plugin passes; the CLI prints the report and exits 0', async () => {
  const r = await runCli(['plugins', 'check', 'filter_redact']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS  start: init and info answered: filter_redact 1\.0\.0 by Logloom Team, type filter, mode sync/m);
  assert.match(r.stdout, /^PASS  process: 21 entries: 21 kept \(\d+ replaced by a copy, changing message\), 0 dropped$/m);
  assert.match(r.stdout, /^PASS filter_redact: 6 passed, 0 failed$/m);
});

test('plugins check: broken plugins fail with the reason (malformed verdict, mutation, bad manifest)', async () => {
  const malformed = await checkPlugin('filter_num', opts([filterOf('filter_num', () => 7 as unknown as boolean)]));
  assert.equal(malformed.passed, false);
  assert.match(renderReport(malformed), /^FAIL  process: filter failed: malformed verdict \(expected true, false or an entry\)$/m);

  const mutating = await checkPlugin('filter_mut', opts([filterOf('filter_mut', (e) => ((e as { module: string }).module = 'X', true))]));
  assert.equal(mutating.passed, false);
  assert.match(renderReport(mutating), /^FAIL  errors: 1 communication errors, last: TypeError: Cannot assign to read only property 'module'/m);

  const dir = tempDir();
  mkdirSync(join(dir, 'p'));
  writeFileSync(join(dir, 'p/plugin.yaml'), 'name: sink_x\nversion: 1.x\nauthor: a\ntype: sink\nentry: { kind: native, path: x.so }\n');
  const r = await runCli(['plugins', 'check', join(dir, 'p')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL  discover: Failed to load plugin '.*\/p\/plugin.yaml': .*\/p\/plugin.yaml:2:10: version: invalid version "1.x" \(expected a semantic version such as 1.2.0\)$/m);
});

test('a sink disabled at run time with disabled_sink_queue: drop drops and counts; enabled again it delivers', async () => {
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], config: { enabled: ['sink_record'], disabled_sink_queue: 'drop' } });
  try {
    h.send('before');
    await until(h.pipeline, () => sink.received.length === 1);
    assert.equal(h.registry.setEnabled('sink_record', false), true);
    h.send('lost 1');
    h.send('lost 2');
    await until(h.pipeline, () => h.pipeline.sinks[0]!.dropped === 2);
    assert.equal(h.pipeline.totalDropped(), 2);
    assert.equal(h.registry.list()[0]!.state, 'disabled');
    h.registry.setEnabled('sink_record', true);
    h.send('after');
    await until(h.pipeline, () => sink.received.length === 2);
    assert.deepEqual(sink.received.map((e) => e.message), ['before', 'after']);
  } finally {
    await h.stop();
  }
});

test('plugins enable at run time starts a discovered plugin that plugins.enabled did not list (plugin_logger while debugging)', async () => {
  const { default: pluginLogger } = await import('../../static-plugins/plugin_logger/index.ts');
  const { default: filterLevel } = await import('../../static-plugins/filter_level/index.ts');
  const dir = tempDir();
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterLevel, pluginLogger, sink.mod],
    config: { enabled: ['filter_level', 'sink_record'], config: { filter_level: { min_level: 'INFO', modules: {} }, plugin_logger: { output: 'file', path: join(dir, 'chain.log'), sample: 1 } } },
  });
  try {
    assert.equal(h.registry.list().find((r) => r.name === 'plugin_logger')!.state, 'disabled');
    assert.equal(await h.registry.enable('plugin_logger'), true);
    assert.equal(h.registry.list().find((r) => r.name === 'plugin_logger')!.state, 'enabled');
    h.send('traced');
    const { waitForLines } = await import('../helpers/wait.ts');
    const lines = await waitForLines(join(dir, 'chain.log'), 2);
    const chain = lines.map((l) => JSON.parse(l)).find((l) => l.record === 'chain');
    assert.deepEqual(chain.chain.map((s: { plugin: string }) => s.plugin), ['filter_level']);
    assert.equal(await h.registry.enable('no_such_plugin'), false);
    await until(h.pipeline, () => sink.received.length === 1);
  } finally {
    await h.stop();
  }
});
