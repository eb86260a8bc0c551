/**
 * The supervisor's per-type stages over one core (agent/plugins/supervisor/): the registry hooks
 * each plugin in by its type, a reload can only put a host of the same type behind a stage, and
 * the restart after a failure brings the host up through the same info check as the first start.
 * Real static plugins, the real registry and pipeline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePlugin, type FilterPlugin, type PluginInfo } from '../../agent/plugins/types.ts';
import { PluginLoadError } from '../../agent/plugins/host.ts';
import { StaticHost } from '../../agent/plugins/hosts/static.ts';
import { FilterSupervisor, SinkSupervisor } from '../../agent/plugins/supervisor/index.ts';
import { recordingSink, startHarness, until } from './harness.ts';

function dropFilter(name: string, fail: { now: boolean }) {
  const info: PluginInfo = { name, version: '1.0.0', author: 'test', type: 'filter', capability: [], mode: 'sync' };
  const mod = definePlugin({
    info,
    create: (): FilterPlugin => ({
      filter: (e) => {
        if (fail.now) throw new Error('broken on purpose');
        return !e.message.includes('drop');
      },
    }),
  });
  return { mod, info };
}

test('each plugin runs as the stage of its type; a reload host of another type is refused and the running one keeps working', async () => {
  const sink = recordingSink();
  const { mod } = dropFilter('filter_drop', { now: false });
  const h = await startHarness({ statics: [mod, sink.mod], config: { enabled: ['filter_drop', 'sink_record'] } });
  try {
    const filter = h.registry.supervisor('filter_drop')!;
    assert.ok(filter instanceof FilterSupervisor, 'the filter runs under the filter stage');
    assert.ok(h.registry.supervisor('sink_record') instanceof SinkSupervisor, 'the sink runs under the sink stage');
    await assert.rejects(filter.swap(filter.plugin, new StaticHost(sink.mod)), (e: unknown) => e instanceof PluginLoadError && /type changed from filter to sink/.test(e.message));
    assert.equal(filter.state, 'running');
    for (const m of ['a', 'drop me', 'b']) h.send(m);
    await until(h.pipeline, () => sink.received.length >= 2 && h.pipeline.buffer.length === 0, 10_000, 'two entries at the sink');
    assert.deepEqual(sink.received.map((e) => e.message), ['a', 'b']);
  } finally {
    await h.stop();
  }
});

test('a restart checks the info like the first start: a plugin that comes back under another name stays failed', async () => {
  const sink = recordingSink();
  const fail = { now: false };
  const { mod, info } = dropFilter('filter_flaky', fail);
  const h = await startHarness({ statics: [mod, sink.mod], config: { enabled: ['filter_flaky', 'sink_record'], failure_threshold: 1 } });
  try {
    const sup = h.registry.supervisor('filter_flaky')!;
    fail.now = true;
    // The module now describes itself under another name: the restart's start must refuse it.
    info.name = 'filter_other';
    h.send('x');
    await h.log.waitFor(/^\[ERROR\] Plugin filter_flaky marked failed \(1 consecutive errors\); restarting in \d+ ms$/);
    // last_error (logloom status) is set by every failed restart; the error line is rate-limited.
    await until(h.pipeline, () => /does not match/.test(String(sup.status().last_error)), 10_000, 'a refused restart');
    assert.equal(sup.status().last_error, 'name "filter_other" does not match the expected name filter_flaky');
    assert.equal(sup.state, 'failed');
    assert.equal(sup.restarts, 0);
    // Fixed: the next restart succeeds and the stage works again.
    info.name = 'filter_flaky';
    fail.now = false;
    await until(h.pipeline, () => sup.state === 'running', 10_000, 'restarted');
    assert.ok(sup.restarts >= 1);
    h.send('after');
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'after'), 10_000, 'entry after the restart');
  } finally {
    await h.stop();
  }
});
