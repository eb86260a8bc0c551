/**
 * The native host directly (no agent): real .so files compiled by gcc, loaded in the real
 * logloom-plugin-host process or in-process through the addon.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tempDir } from '../helpers/agent.ts';
import { compilePlugin } from './compile.ts';
import { NativeInProcessHost, NativeProcessHost } from '../../agent/plugins/hosts/native.ts';
import { PartialFilterError, PluginCallError, PluginLoadError, type HostedPlugin } from '../../agent/plugins/host.ts';
import { buildEntry } from '../../agent/entry/build.ts';
import type { DiscoveredPlugin } from '../../agent/plugins/discovered.ts';
import type { PluginContext, PluginType } from '../../agent/plugins/types.ts';
import type { LogEntry } from '../../agent/entry/entry.ts';

const dir = tempDir('logloom-native-');
const keyword = compilePlugin(dir, 'filter_keyword.so', { example: 'filter_keyword.c' });
const faulty = compilePlugin(dir, 'filter_faulty.so', { example: 'filter_faulty.c' });

function discovered(file: string, type: PluginType, name: string, trusted = false, timeout_ms = 500): DiscoveredPlugin {
  return {
    name, kind: 'native', type, origin: file, file, protocol: 'line', trusted,
    limits: { timeout_ms, max_inflight: 4, queue_length: 1000, on_error: 'keep' },
  } as DiscoveredPlugin;
}

function ctx(config: Record<string, unknown> = {}): PluginContext {
  const noop = () => {};
  return { config, node: 'n', stateDir: dir, log: { debug: noop, info: noop, warn: noop, error: noop }, render: (k: string) => k, emit: noop } as unknown as PluginContext;
}

/** Every host a test starts, stopped at the end even when an assertion failed first. */
const started: HostedPlugin[] = [];
after(async () => {
  for (const h of started) await h.stop().catch(() => {});
});
function track<H extends HostedPlugin>(h: H): H {
  started.push(h);
  return h;
}

const entries = (...messages: string[]): LogEntry[] =>
  messages.map((m) => buildEntry({ message: m, args: ['a', 1] }, { maxMessageBytes: 16384, defaultLevel: 'INFO', defaultModule: 'T', node: 'n', source: 'test' }));

for (const mode of ['process', 'in-process'] as const) {
  const make = (p: DiscoveredPlugin): HostedPlugin => track(mode === 'process' ? new NativeProcessHost(p) : new NativeInProcessHost({ ...p, trusted: true }));

  test(`native ${mode}: filter_keyword drops or keeps by keyword, info from plugin_info()`, async () => {
    const drop = make(discovered(keyword, 'filter', 'filter_keyword'));
    const info = await drop.start(ctx({ keyword: 'noise', action: 'drop' }));
    assert.deepEqual(info, { name: 'filter_keyword', version: '1.0.0', author: 'Logloom Team', type: 'filter', capability: ['keyword'], mode: 'sync' });
    assert.deepEqual(await drop.filter!(entries('all fine', 'some noise here', 'more'), 500), [true, false, true]);
    await drop.stop();
    const keep = make(discovered(keyword, 'filter', 'filter_keyword'));
    await keep.start(ctx({ keyword: 'pump', action: 'keep' }));
    assert.deepEqual(await keep.filter!(entries('pump 1 on', 'valve', 'pump 2 off'), 500), [true, false, true]);
    await keep.stop();
  });

  test(`native ${mode}: a missing symbol is refused with the exact reason`, async () => {
    const so = compilePlugin(dir, `filter_noprocess_${mode}.so`, { code: 'int plugin_init(void){return 0;}\nvoid plugin_shutdown(void){}\n' });
    const h = make(discovered(so, 'filter', 'filter_noprocess'));
    await assert.rejects(h.start(ctx()), (e: unknown) => {
      assert.ok(e instanceof PluginLoadError);
      assert.equal(e.line, `Failed to load plugin 'filter_noprocess_${mode}.so': missing plugin_process()`);
      return true;
    });
    await h.stop();
  });

  test(`native ${mode}: an ABI version mismatch is refused`, async () => {
    const so = compilePlugin(dir, `filter_abi_${mode}.so`, {
      code: `#include <logloom_plugin.h>
static const plugin_info_t i = {99, "filter_abi", "1.0.0", "x", "filter", "sync", 0};
const plugin_info_t *plugin_info(void){return &i;}
int plugin_init(void){return 0;} int plugin_process(const log_entry_t *e){(void)e;return 0;} void plugin_shutdown(void){}
`,
    });
    const h = make(discovered(so, 'filter', 'filter_abi'));
    await assert.rejects(h.start(ctx()), (e: unknown) => {
      assert.ok(e instanceof PluginLoadError);
      assert.equal(e.line, `Failed to load plugin 'filter_abi_${mode}.so': ABI version 99 not supported (this agent speaks ABI 1)`);
      return true;
    });
    await h.stop();
  });

  test(`native ${mode}: a negative result fails only that entry; entries reach C intact`, async () => {
    // Returns -7 when lang_key arg 0 is "bad"; checks every field arrived as a C string.
    const so = compilePlugin(dir, `filter_fields_${mode}.so`, {
      code: `#include <logloom_plugin.h>
#include <string.h>
int plugin_init(void){return 0;} void plugin_shutdown(void){}
int plugin_process(const log_entry_t *e){
  if (strcmp(e->module,"T")||strcmp(e->level,"INFO")||e->level_num!=LOGLOOM_INFO||strcmp(e->source,"test")||e->argc!=2||strcmp(e->args[1],"1")) return -1;
  return strcmp(e->message,"bad")==0 ? -7 : strcmp(e->message,"drop")==0;
}
`,
    });
    const h = make(discovered(so, 'filter', 'filter_fields'));
    await h.start(ctx());
    await assert.rejects(Promise.resolve().then(() => h.filter!(entries('ok', 'bad', 'drop'), 500)), (e: unknown) => {
      assert.ok(e instanceof PartialFilterError);
      assert.deepEqual(e.verdicts, [true, undefined, false]);
      assert.match(e.message, /returned -7 for 1 of 3/);
      return true;
    });
    await h.stop();
  });
}

test('native process: a segfault kills only the host; the call fails and a restart works', async () => {
  const h = track(new NativeProcessHost(discovered(faulty, 'filter', 'filter_faulty')));
  const exits: string[] = [];
  h.onExit = (r) => exits.push(r);
  await h.start(ctx());
  assert.deepEqual(await h.filter(entries('a', 'DROP_ME'), 500), [true, false]);
  await assert.rejects(h.filter(entries('x', 'CRASH_ME'), 2000), (e: unknown) => e instanceof PluginCallError && /SIGSEGV/.test(e.message));
  await assert.rejects(h.filter(entries('y'), 500), PluginCallError);
  await h.start(ctx()); // what the supervisor does on restart
  assert.deepEqual(await h.filter(entries('b', 'DROP_ME'), 500), [true, false]);
  await assert.rejects(h.filter(entries('ABORT_ME'), 2000), (e: unknown) => e instanceof PluginCallError && /SIGABRT/.test(e.message));
  await h.stop();
});

test('native process: an endless loop times out and the stalled host is killed', async () => {
  const h = track(new NativeProcessHost(discovered(faulty, 'filter', 'filter_faulty')));
  await h.start(ctx());
  const pid = (h.status().pid as number);
  await assert.rejects(h.filter(entries('HANG_ME'), 300), (e: unknown) => e instanceof PluginCallError && /no answer within 300 ms/.test(e.message));
  await h.start(ctx());
  assert.notEqual(h.status().pid, pid);
  assert.deepEqual(await h.filter(entries('fine'), 500), [true]);
  await h.stop();
});

test('native process: the host process stays small (RSS under 2 MiB beyond the plugin)', async () => {
  const h = track(new NativeProcessHost(discovered(keyword, 'filter', 'filter_keyword')));
  await h.start(ctx());
  await h.filter(entries(...Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(100)}`)), 5000);
  const status = readFileSync(`/proc/${h.status().pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
  // filter_keyword itself holds a few KiB; the rest is the host, libc and the loader.
  assert.ok(rssKb < 2048, `plugin host RSS ${rssKb} kB`);
  await h.stop();
});

test('native in-process (trusted): SIGSEGV and SIGFPE in a plugin call become call failures, the agent lives', async () => {
  for (const marker of ['CRASH_ME', 'FPE_ME']) {
    const h = track(new NativeInProcessHost(discovered(faulty, 'filter', 'filter_faulty', true)));
    await h.start(ctx());
    assert.deepEqual(h.filter(entries('a', 'DROP_ME')), [true, false]);
    assert.throws(() => h.filter(entries(marker)), (e: unknown) => e instanceof PluginCallError && /crashed with SIG(SEGV|FPE)/.test(e.message));
    // A faulted plugin is never called again until it is restarted.
    assert.throws(() => h.filter(entries('a')), /faulted earlier/);
    await h.start(ctx());
    assert.deepEqual(h.filter(entries('DROP_ME')), [false]);
    await h.stop();
  }
});

test('native process: a batch sink gets whole batches (plugin_process_batch) and prints to the agent stdout', async () => {
  const sink = compilePlugin(dir, 'sink_stdout_batch.so', { example: 'sink_stdout_batch.c' });
  const h = track(new NativeProcessHost(discovered(sink, 'sink', 'sink_stdout_batch')));
  const info = await h.start(ctx());
  assert.equal(info.type, 'sink');
  assert.equal(info.mode, 'async');
  await h.flush(entries('one', 'two', 'three'), 1000);
  await h.stop();
});

test('native process: memory_max puts the host in a real cgroup; a plugin that overruns it is killed and reported as such', async () => {
  const so = compilePlugin(dir, 'filter_greedy.so', {
    code: `#include <logloom_plugin.h>
#include <stdlib.h>
#include <string.h>
int plugin_init(void){return 0;} void plugin_shutdown(void){}
int plugin_process(const log_entry_t *e){
  if (strstr(e->message, "EAT_ME")) for (int i = 0; i < 64; i++) { char *p = malloc(1 << 20); if (!p) return -1; memset(p, i + 1, 1 << 20); }
  return 0;
}
`,
  });
  const p = discovered(so, 'filter', 'filter_greedy');
  const h = track(new NativeProcessHost({ ...p, limits: { ...p.limits, memory_max: 16 * 1024 * 1024 } }));
  await h.start(ctx());
  const st = h.status() as { limits: { mechanism: string } };
  assert.match(st.limits.mechanism, /^cgroup[12]$/, 'this machine has writable cgroups');
  assert.deepEqual(await h.filter(entries('small'), 2000), [true]);
  await assert.rejects(h.filter(entries('EAT_ME'), 10_000), (e: unknown) => e instanceof PluginCallError && /killed by the memory limit \(memory_max 16777216\)/.test(e.message));
  await h.stop();
});

test('native: an ai or lang .so is refused with a reason (the C ABI carries verdicts and batches only)', async () => {
  for (const trusted of [false, true]) {
    const h = track(trusted ? new NativeInProcessHost(discovered(keyword, 'ai', 'ai_x', true)) : new NativeProcessHost(discovered(keyword, 'ai', 'ai_x')));
    await assert.rejects(h.start(ctx()), (e: unknown) => e instanceof PluginLoadError && /C plugins can be filters or sinks, not ai/.test(e.message));
  }
});
