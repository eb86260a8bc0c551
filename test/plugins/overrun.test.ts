/**
 * An in-process call that overruns its timeout cannot be cut off (a compiled-in sync filter, a
 * trusted .so): the supervisor detects it after the fact, marks the plugin failed, says so in the
 * log and status, and a trusted .so starts in its plugin host process the next time, where an
 * endless call is killed instead of blocking the agent. Real static plugin, real gcc-built .so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, type FilterPlugin } from '../../agent/plugins/types.ts';
import { recordingSink, startHarness, until } from './harness.ts';
import { tempDir } from '../helpers/agent.ts';
import { compilePlugin } from '../native/compile.ts';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* a sync call the agent cannot interrupt */ }
}

test('a compiled-in sync filter that overruns timeout_ms is marked failed at once (log and status), its answer used, then restarted', async () => {
  const slow = definePlugin({
    info: { name: 'filter_slow', version: '1.0.0', author: 't', type: 'filter', capability: [], mode: 'sync' },
    limits: { timeout_ms: 100 },
    create: (): FilterPlugin => ({ filter: (e) => (e.message === 'slow' && busy(250), e.message !== 'drop') }),
  });
  const sink = recordingSink();
  const h = await startHarness({ statics: [slow, sink.mod], config: { enabled: ['filter_slow', 'sink_record'], failure_threshold: 100 } });
  try {
    h.send('slow');
    await until(h.pipeline, () => sink.received.length === 1, 10_000, 'the slow entry');
    await h.log.waitFor(/^\[ERROR\] Plugin communication failed: filter_slow: in-process call took \d+ ms for 1 entries, over timeout_ms 100, and could not be cut off$/m);
    await h.log.waitFor(/^\[ERROR\] Plugin filter_slow marked failed \(in-process call overran timeout_ms\); restarting in \d+ ms$/m);
    const st = h.registry.status().find((s) => s.name === 'filter_slow')!;
    assert.equal(st.overruns, 1);
    assert.match(String(st.last_error), /could not be cut off/);
    await h.log.waitFor(/Plugin filter_slow restarted/);
    h.send('drop');
    h.send('after');
    await until(h.pipeline, () => sink.received.length === 2, 10_000, 'after the restart');
    assert.deepEqual(sink.received.map((e) => e.message), ['slow', 'after']);
  } finally {
    await h.stop();
  }
});

test('a trusted .so whose in-process call overruns timeout_ms is marked failed and starts in its plugin host process next time; an endless call there is killed', async () => {
  const dir = tempDir('logloom-overrun-');
  compilePlugin(dir, 'filter_slowc.so', {
    code: `#include <logloom_plugin.h>
#include <string.h>
#include <time.h>
LOGLOOM_PLUGIN_INFO(info, "filter_slowc", "1.0.0", "t", "filter", "sync", 0);
const plugin_info_t *plugin_info(void){return &info;}
int plugin_init(void){return 0;} void plugin_shutdown(void){}
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec + t.tv_nsec/1e9;}
int plugin_process(const log_entry_t *e){
  if (strcmp(e->message,"SLOW")==0){double end=now()+0.25; while(now()<end){}}
  if (strcmp(e->message,"HANG")==0) for(;;){}
  return strcmp(e->message,"drop")==0;
}
`,
  });
  writeFileSync(join(dir, 'filter_slowc.yaml'), 'name: filter_slowc\nversion: 1.0.0\nauthor: t\ntype: filter\nentry: { kind: native, path: filter_slowc.so, trusted: true }\nlimits: { timeout_ms: 100 }\n');
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [dir], config: { enabled: ['filter_slowc', 'sink_record'], failure_threshold: 100 } });
  try {
    const status = () => h.registry.status().find((s) => s.name === 'filter_slowc')!;
    assert.equal(status().isolation, 'none (trusted, in-process)');
    h.send('SLOW');
    await until(h.pipeline, () => sink.received.length === 1, 10_000, 'the slow entry');
    await h.log.waitFor(/^\[ERROR\] Plugin filter_slowc marked failed \(in-process call overran timeout_ms; an in-process call cannot be cut off; from the next start it runs in its own plugin host process\)/m);
    await h.log.waitFor(/filter_slowc: trusted plugin now runs in its plugin host process/);
    await h.log.waitFor(/Plugin filter_slowc restarted/);
    assert.equal(status().isolation, 'process');
    assert.match(String(status().demoted), /overran/);
    h.send('drop');
    h.send('kept');
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'kept'), 10_000, 'the host process filtering');
    h.send('HANG');
    h.send('after');
    // In the host process the endless call is cut off at timeout_ms (host killed, entry kept: on_error keep).
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'after'), 20_000, 'the entries after HANG');
    await h.log.waitFor(/^\[ERROR\] Plugin filter_slowc marked failed \(plugin host killed by SIGKILL\)/m);
    assert.ok((status().failures as number) >= 2);
    assert.deepEqual(sink.received.map((e) => e.message), ['SLOW', 'kept', 'HANG', 'after']);
  } finally {
    await h.stop();
  }
});
