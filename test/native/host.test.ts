/**
 * The native host directly (no agent): real .so files compiled by gcc, loaded in the real
 * logloom-plugin-host process or in-process through the addon.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/agent.ts';
import { compilePlugin } from './compile.ts';
import { NativeInProcessHost, NativeProcessHost, TrustedNativeHost } from '../../agent/plugins/hosts/native.ts';
import { PartialFilterError, PluginCallError, PluginLoadError, type HostBase } from '../../agent/plugins/host.ts';
import { buildEntry } from '../../entry/build.ts';
import type { DiscoveredPlugin } from '../../agent/plugins/discovered.ts';
import type { PluginContext, PluginType } from '../../agent/plugins/types.ts';
import type { LogEntry } from '../../entry/entry.ts';

const execFileP = promisify(execFile);
const dir = tempDir('logloom-native-');
const keyword = compilePlugin(dir, 'filter_keyword.so', { example: 'filter_keyword.c' });
const faulty = compilePlugin(dir, 'filter_faulty.so', { example: 'filter_faulty.c' });

/** A .so as discovery hands it over, described by a plugin.yaml (plugin_info() wins where it exists). */
function discovered(file: string, type: PluginType, name: string, trusted = false, timeout_ms = 500): DiscoveredPlugin {
  return {
    name, kind: 'native', type, origin: file, file, protocol: 'line', trusted,
    manifest: { name, version: '1.0.0', author: 'test', type, capability: [], entry: { kind: 'native', protocol: 'line', trusted }, limits: {} },
    limits: { timeout_ms, max_inflight: 4, queue_length: 1000, on_error: 'keep' },
  } as unknown as DiscoveredPlugin;
}

function ctx(config: Record<string, unknown> = {}): PluginContext {
  const noop = () => {};
  return { config, node: 'n', stateDir: dir, log: { debug: noop, info: noop, warn: noop, error: noop }, render: (k: string) => k, emit: noop } as unknown as PluginContext;
}

/** Every host a test starts, stopped at the end even when an assertion failed first. */
const started: HostBase[] = [];
after(async () => {
  for (const h of started) await h.stop().catch(() => {});
});
function track<H extends HostBase>(h: H): H {
  started.push(h);
  return h;
}

const entries = (...messages: string[]): LogEntry[] =>
  messages.map((m) => buildEntry({ message: m, args: ['a', 1] }, { maxMessageBytes: 16384, defaultLevel: 'INFO', defaultModule: 'T', node: 'n', source: 'test' }));

for (const mode of ['process', 'in-process'] as const) {
  const make = (p: DiscoveredPlugin): NativeProcessHost | NativeInProcessHost => track(mode === 'process' ? new NativeProcessHost(p) : new NativeInProcessHost({ ...p, trusted: true }));

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

test('native process: the host process stays small (RSS under 4 MiB with the plugin and a 5,000-entry batch)', async () => {
  const h = track(new NativeProcessHost(discovered(keyword, 'filter', 'filter_keyword')));
  await h.start(ctx());
  await h.filter(entries(...Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(100)}`)), 5000);
  const status = readFileSync(`/proc/${h.status().pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
  // filter_keyword itself holds a few KiB; the rest is the host, libc, the loader and the batch
  // buffers (measured 1.3-2.4 MiB depending on how the kernel split the 650 KB batch into reads).
  assert.ok(rssKb < 4096, `plugin host RSS ${rssKb} kB`);
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
  // The host inherits the agent's fd 1, so the agent here is a child node process whose stdout
  // the test reads: two flushes must arrive as two whole batches, entries in order.
  const sink = compilePlugin(dir, 'sink_stdout_batch.so', { example: 'sink_stdout_batch.c' });
  const script = `
    import { NativeProcessHost } from ${JSON.stringify(new URL('../../agent/plugins/hosts/native.ts', import.meta.url).href)};
    import { buildEntry } from ${JSON.stringify(new URL('../../entry/build.ts', import.meta.url).href)};
    const p = { name: 'sink_stdout_batch', kind: 'native', type: 'sink', origin: ${JSON.stringify(sink)}, file: ${JSON.stringify(sink)}, protocol: 'line', trusted: false,
      limits: { timeout_ms: 1000, max_inflight: 1, queue_length: 100, on_error: 'keep' } };
    const noop = () => {};
    const h = new NativeProcessHost(p);
    const info = await h.start({ config: {}, node: 'n', stateDir: '/tmp', log: { debug: noop, info: noop, warn: noop, error: noop }, render: (k) => k, emit: noop });
    const mk = (m, level) => buildEntry({ message: m, level, module: 'PUMP', timestamp: '2025-04-30T12:00:00.000Z' }, { maxMessageBytes: 16384, defaultLevel: 'INFO', defaultModule: 'T', node: 'n' });
    await h.flush([mk('one', 'INFO'), mk('two', 'WARN'), mk('three', 'ERROR')], 1000);
    await h.flush([mk('four', 'INFO')], 1000);
    await h.stop();
    process.stderr.write(JSON.stringify(info) + '\\n');
  `;
  const { stdout, stderr } = await execFileP(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
  assert.deepEqual(JSON.parse(stderr.trim().split('\n').pop()!), { name: 'sink_stdout_batch', version: '1.0.0', author: 'Logloom Team', type: 'sink', capability: ['batch'], mode: 'async' });
  assert.equal(stdout, [
    '2025-04-30T12:00:00.000Z INFO [PUMP] one',
    '2025-04-30T12:00:00.000Z WARN [PUMP] two',
    '2025-04-30T12:00:00.000Z ERROR [PUMP] three',
    '-- batch of 3',
    '2025-04-30T12:00:00.000Z INFO [PUMP] four',
    '-- batch of 1',
    '',
  ].join('\n'));
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

for (const trusted of [false, true]) {
  const label = trusted ? 'trusted' : 'process';
  test(`native ${label}: an ai .so (plugin_analyze) answers with results; a failed call is an error, not an entry`, async () => {
    const so = compilePlugin(dir, 'ai_error_burst.so', { example: 'ai_error_burst.c' });
    const p = discovered(so, 'ai', 'ai_error_burst', trusted, 1000);
    const h = track(trusted ? new TrustedNativeHost(p) : new NativeProcessHost(p));
    const info = await h.start(ctx({ threshold: 2 }));
    assert.deepEqual(info, { name: 'ai_error_burst', version: '1.0.0', author: 'Logloom Team', type: 'ai', capability: ['summary'], mode: 'async' });
    const analyze = async (message: string, level = 'ERROR') => {
      const out = [];
      const e = buildEntry({ message, level, module: 'AUTH' }, { maxMessageBytes: 16384, defaultLevel: 'INFO', defaultModule: 'T', node: 'n' });
      for await (const r of h.analyze!(e, 1000)) out.push(r);
      return out;
    };
    assert.deepEqual(await analyze('login failed for 192.168.0.5'), []);
    assert.deepEqual(await analyze('login failed for 192.168.0.5'), [{ level: 'WARN', message: '2 errors in a row from module AUTH; last: login failed for 192.168.0.5' }]);
    assert.deepEqual(await analyze('ok', 'INFO'), []);
    await assert.rejects(analyze('AI_FAIL'), (e: unknown) => e instanceof PluginCallError && /plugin_analyze returned -1/.test(e.message));
    if (trusted) assert.equal((h as TrustedNativeHost).inProcess, false, 'ai plugins run in the host process even when trusted');
    await h.stop();
  });

  test(`native ${label}: a lang .so registers its templates in several languages (plugin_catalogue) and answers the rest through plugin_resolve`, async () => {
    const so = compilePlugin(dir, 'lang_registrar.so', { example: 'lang_registrar.c' });
    const p = discovered(so, 'lang', 'lang_registrar', trusted, 1000);
    const h = track(trusted ? new TrustedNativeHost(p) : new NativeProcessHost(p));
    const info = await h.start(ctx());
    assert.equal(info.type, 'lang');
    assert.equal(info.mode, 'sync');
    // Registered at start: answered at once, from the cache.
    assert.equal(h.resolve!('pump.started', 'en'), 'Pump %s started');
    assert.equal(h.resolve!('pump.stopped', 'de'), 'Pumpe %s nach %d s gestoppt');
    assert.equal(h.resolve!('pump.started', 'zh'), '泵 %s 已启动');
    assert.equal(h.resolve!('pump.started', 'fr'), null);
    // Not registered: the first lookup misses and asks plugin_resolve in the background.
    assert.equal(h.resolve!('pump.rare', 'en'), null);
    const deadline = Date.now() + 5000;
    while (h.resolve!('pump.rare', 'en') === null && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal(h.resolve!('pump.rare', 'en'), 'Pump %s reports a rare condition');
    assert.equal((h.status!() as { templates: number }).templates, 7);
    await h.stop();
  });
}

test('native: validation — missing plugin_init or plugin_shutdown, a hook that does not fit the declared type, no plugin_info without a plugin.yaml', async () => {
  const cases: [string, string, PluginType, string][] = [
    ['filter_noinit.so', 'int plugin_process(const log_entry_t*e){(void)e;return 0;} void plugin_shutdown(void){}', 'filter', 'missing plugin_init()'],
    ['filter_noshutdown.so', 'int plugin_init(void){return 0;} int plugin_process(const log_entry_t*e){(void)e;return 0;}', 'filter', 'missing plugin_shutdown()'],
    ['filter_isai.so', `LOGLOOM_PLUGIN_INFO(i, "filter_isai", "1.0.0", "t", "filter", "sync", 0);
const plugin_info_t *plugin_info(void){return &i;} int plugin_init(void){return 0;} void plugin_shutdown(void){}
int plugin_analyze(const log_entry_t*e, logloom_emit_fn f, void*c){(void)e;(void)f;(void)c;return 0;}`, 'filter', 'missing plugin_process() (declared type filter; it exports the hook of ai)'],
    ['lang_noresolve.so', `LOGLOOM_PLUGIN_INFO(i, "lang_noresolve", "1.0.0", "t", "lang", "sync", 0);
const plugin_info_t *plugin_info(void){return &i;} int plugin_init(void){return 0;} void plugin_shutdown(void){}
int plugin_process(const log_entry_t*e){(void)e;return 0;}`, 'lang', 'missing plugin_resolve() (declared type lang; it exports the hook of filter or sink)'],
    ['filter_noinfo.so', 'int plugin_init(void){return 0;} void plugin_shutdown(void){} int plugin_process(const log_entry_t*e){(void)e;return 0;}', 'filter', 'missing plugin_info() (and no plugin.yaml beside it)'],
  ];
  for (const [file, code, type, reason] of cases) {
    const so = compilePlugin(dir, file, { code: `#include <logloom_plugin.h>\n${code}\n` });
    for (const trusted of [false, true]) {
      const p = { ...discovered(so, type, file.replace(/\.so$/, ''), trusted), manifest: undefined };
      const h = track(trusted ? new TrustedNativeHost(p) : new NativeProcessHost(p));
      await assert.rejects(h.start(ctx()), (e: unknown) => {
        assert.ok(e instanceof PluginLoadError, String(e));
        assert.equal(e.line, `Failed to load plugin '${file}': ${reason}`, `${file} ${trusted ? 'trusted' : 'process'}`);
        return true;
      });
      await h.stop();
    }
  }
  // The same plugin without plugin_info() loads when a plugin.yaml describes it.
  const so = compilePlugin(dir, 'filter_noinfo.so', { code: '#include <logloom_plugin.h>\nint plugin_init(void){return 0;} void plugin_shutdown(void){} int plugin_process(const log_entry_t*e){return e->message[0]==\'x\';}\n' });
  const p = discovered(so, 'filter', 'filter_noinfo');
  p.manifest = { ...p.manifest!, version: '2.0.0', author: 'me' };
  const h = track(new NativeProcessHost(p));
  assert.deepEqual(await h.start(ctx()), { name: 'filter_noinfo', version: '2.0.0', author: 'me', type: 'filter', capability: [], mode: 'sync' });
  assert.deepEqual(await h.filter(entries('a', 'xb'), 500), [true, false]);
  await h.stop();
});

test('native ai and lang .so in the agent\'s pipeline: ai_error_burst results become AI entries, lang_registrar renders in three languages', async () => {
  const { recordingSink, startHarness, until } = await import('../plugins/harness.ts');
  const pdir = tempDir('logloom-native-pipeline-');
  compilePlugin(pdir, 'ai_error_burst.so', { example: 'ai_error_burst.c' });
  compilePlugin(pdir, 'lang_registrar.so', { example: 'lang_registrar.c' });
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [pdir], config: { enabled: ['ai_error_burst', 'lang_registrar', 'sink_record'], config: { ai_error_burst: { threshold: 2 } } } });
  try {
    assert.deepEqual(h.registry.list().filter((r) => r.state !== 'enabled').map((r) => `${r.name}: ${r.reason}`), []);
    assert.equal(h.catalogue.render('pump.started', ['P1'], 'zh'), '泵 P1 已启动');
    assert.equal(h.catalogue.render('pump.stopped', ['P1', 30], 'de'), 'Pumpe P1 nach 30 s gestoppt');
    assert.equal(h.catalogue.render('pump.started', ['P1'], 'en'), 'Pump P1 started');
    h.send({ level: 'ERROR', module: 'AUTH', message: 'login failed for 192.168.0.5' });
    h.send({ level: 'ERROR', module: 'AUTH', message: 'login failed for 192.168.0.5' });
    await until(h.pipeline, () => sink.received.some((e) => e.module === 'AI'), 10_000, 'the AI entry');
    const ai = sink.received.find((e) => e.module === 'AI')!;
    assert.equal(ai.message, '2 errors in a row from module AUTH; last: login failed for 192.168.0.5');
    assert.equal(ai.level, 'WARN');
    assert.equal(ai.source, 'plugin:ai_error_burst');
  } finally {
    await h.stop();
  }
});
