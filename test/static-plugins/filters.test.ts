import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import filterLevel from '../../static-plugins/filter_level/index.ts';
import filterGrep from '../../static-plugins/filter_grep/index.ts';
import filterRedact from '../../static-plugins/filter_redact/index.ts';
import langYaml from '../../static-plugins/lang_yaml/index.ts';
import pluginLogger from '../../static-plugins/plugin_logger/index.ts';
import { definePlugin, type AiPlugin, type FilterPlugin, type LangPlugin, type PluginContext } from '../../agent/plugins/types.ts';
import { buildEntry } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';
import { frameRecords } from '../../agent/buffer/ring.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { recordingSink, startHarness, until } from '../plugins/harness.ts';
import { tempDir } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';

const withDefaults = (c: Record<string, unknown>) => c;

test('filter_level: min level with per-module overrides', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterLevel, sink.mod],
    config: { enabled: ['filter_level', 'sink_record'], config: { filter_level: withDefaults({ min_level: 'WARN', modules: { NET: 'DEBUG', CORE: 'ERROR' } }) } },
  });
  try {
    const sent: [string, string][] = [['INFO', 'APP'], ['WARN', 'APP'], ['DEBUG', 'NET'], ['WARN', 'CORE'], ['ERROR', 'CORE'], ['FATAL', 'APP']];
    for (const [level, module] of sent) h.send({ level, module, message: `${level} ${module}` });
    h.send({ level: 'FATAL', message: 'end' });
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'end'));
    assert.deepEqual(sink.received.map((e) => e.message), ['WARN APP', 'DEBUG NET', 'ERROR CORE', 'FATAL APP', 'end']);
    assert.equal(h.pipeline.filteredOut.get('filter_level'), 2);
  } finally {
    await h.stop();
  }
});

test('filter_level on entry records (the records path): the same verdicts as on entries, read off the bytes', async () => {
  const f = filterLevel.create() as FilterPlugin;
  await f.init?.({ config: { min_level: 'WARN', modules: { NET: 'DEBUG', CORE: 'ERROR' } } } as unknown as PluginContext);
  const build = { maxMessageBytes: 1024, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'n' };
  const entries = (['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const).flatMap((level) =>
    ['APP', 'NET', 'CORE'].map((module) => buildEntry({ level, module, message: `"quoted" ${level}` }, build)));
  const payloads = entries.map((e, i) => Buffer.from((i % 2 ? 'E' : '') + encodeEntry(e)));
  // A record of another shape (keys in another order) is parsed instead.
  payloads.push(Buffer.from('{"message":"m","module":"NET","level":"DEBUG","timestamp":"t"}'));
  const verdicts = f.filterRecords!({ frames: frameRecords(payloads), count: payloads.length });
  assert.deepEqual(verdicts, [...entries.map((e) => f.filter(e)), true]);
  assert.equal(verdicts.filter(Boolean).length, 3 + 5 + 2 + 1); // APP from WARN, NET all, CORE from ERROR, the other-shape NET DEBUG
});

test('filter_grep: drop rules win, keep rules select, on message, module or source', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterGrep, sink.mod],
    config: {
      enabled: ['filter_grep', 'sink_record'],
      config: { filter_grep: { rules: [
        { field: 'message', pattern: 'heartbeat', action: 'drop', ignore_case: true },
        { field: 'module', pattern: '^(PUMP|VALVE)$', action: 'keep', ignore_case: false },
        { field: 'message', pattern: 'alarm', action: 'keep', ignore_case: false },
      ] } },
    },
  });
  try {
    h.send({ module: 'PUMP', message: 'pressure 3 bar' });
    h.send({ module: 'PUMP', message: 'HEARTBEAT ok' });
    h.send({ module: 'FAN', message: 'speed 1200' });
    h.send({ module: 'FAN', message: 'alarm: stalled' });
    h.send({ module: 'VALVE', message: 'end' });
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'end'));
    assert.deepEqual(sink.received.map((e) => e.message), ['pressure 3 bar', 'alarm: stalled', 'end']);
  } finally {
    await h.stop();
  }
});

test('filter_grep: a bad regular expression refuses the plugin with the rule named', async () => {
  const h = await startHarness({
    statics: [filterGrep],
    config: { enabled: ['filter_grep'], config: { filter_grep: { rules: [{ field: 'message', pattern: '(unclosed', action: 'drop', ignore_case: false }] } } },
  });
  try {
    await h.log.waitFor(/^\[WARN\] Failed to load plugin 'filter_grep': init failed: rules\[0\].pattern: Invalid regular expression: \/\(unclosed\/: Unterminated group$/);
  } finally {
    await h.stop();
  }
});

test('filter_redact: IPs, e-mails and tokens are masked in a copy; the original entry is untouched', async () => {
  const sink = recordingSink();
  const seen: LogEntry[] = [];
  // A filter before filter_redact keeps a reference to the original object.
  const grab = definePlugin({
    info: { name: 'filter_grab', version: '1.0.0', author: 't', type: 'filter', capability: [], mode: 'sync' },
    create: () => ({ filter: (e: LogEntry) => (seen.push(e), true) }),
  });
  const h = await startHarness({
    statics: [grab, filterRedact, sink.mod],
    config: { enabled: ['filter_grab', 'filter_redact', 'sink_record'], config: { filter_redact: { patterns: ['ipv4', 'email', 'token'], custom: ['SN-\\d{6}'], mask: '***', args: true } } },
  });
  try {
    h.send({ message: 'login from 10.1.2.3 by bob@example.com password=hunter2 device SN-123456', args: ['root@gw.local'], fields: { peer: '192.168.0.9', port: 22 } });
    h.send({ message: 'Authorization: Bearer abc.def-123 and jwt eyJhbGciOi.eyJzdWIiOiIx.sig_1' });
    h.send({ message: 'nothing to hide, version 1.2.3' });
    await until(h.pipeline, () => sink.received.length >= 3);
    const [a, b, c] = sink.received;
    assert.equal(a!.message, 'login from *** by *** password=*** device ***');
    assert.deepEqual(a!.args, ['***']);
    assert.deepEqual(a!.fields, { peer: '***', port: 22 });
    assert.equal(b!.message, 'Authorization: Bearer *** and jwt ***');
    assert.equal(c!.message, 'nothing to hide, version 1.2.3');
    assert.equal(c, seen[2], 'an entry with nothing to mask is forwarded as it is');
    assert.equal(seen[0]!.message, 'login from 10.1.2.3 by bob@example.com password=hunter2 device SN-123456');
    assert.deepEqual(seen[0]!.fields, { peer: '192.168.0.9', port: 22 });
    assert.equal(a!.timestamp, seen[0]!.timestamp);
    assert.ok(Object.isFrozen(a));
  } finally {
    await h.stop();
  }
});

test('lang_yaml: serves the catalogue from a directory; a lang plugin listed before it overrides its keys', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'locales'));
  writeFileSync(join(dir, 'locales/en.yaml'), 'pump:\n  pressure: "pressure %s bar"\n  stalled: "pump stalled"\nagent:\n  stopped_clean: "bye (site override)"\n');
  writeFileSync(join(dir, 'locales/fr.yaml'), 'pump:\n  pressure: "pression %s bar"\ni18n:\n  language_name: "Français"\n');
  const override = definePlugin({
    info: { name: 'lang_override', version: '1.0.0', author: 't', type: 'lang', capability: [], mode: 'sync' },
    create: (): LangPlugin => ({ resolve: (k, l) => (k === 'pump.stalled' && l === 'en' ? 'PUMP STALLED (override)' : null) }),
  });
  const h = await startHarness({
    statics: [override, langYaml],
    config: { enabled: ['lang_override', 'lang_yaml'], config: { lang_yaml: { dir: join(dir, 'locales'), builtin: true } } },
  });
  try {
    assert.equal(h.catalogue.render('pump.pressure', ['3']), 'pressure 3 bar');
    assert.equal(h.catalogue.render('pump.pressure', ['3'], 'fr'), 'pression 3 bar');
    assert.equal(h.catalogue.render('pump.stalled'), 'PUMP STALLED (override)');
    assert.equal(h.catalogue.render('agent.stopped_clean'), 'bye (site override)');
    assert.equal(h.catalogue.setLanguage('fr'), 'fr');
    h.registry.setEnabled('lang_override', false);
    h.catalogue.setLanguage('en');
    assert.equal(h.catalogue.render('pump.stalled'), 'pump stalled');
  } finally {
    await h.stop();
  }
});

test('plugin_logger: records each entry\'s filter chain, and every stage it meets (filters, sink, ai) with verdict, time and what went in and out', async () => {
  const dir = tempDir();
  const sink = recordingSink();
  const ai = definePlugin({
    info: { name: 'ai_count', version: '1.0.0', author: 't', type: 'ai', capability: [], mode: 'async' },
    create: (): AiPlugin => ({ analyze: async (e) => (e.message === 'plain' ? { level: 'INFO', message: 'saw plain' } : null) }),
  });
  const h = await startHarness({
    statics: [filterLevel, filterRedact, pluginLogger, sink.mod, ai],
    config: {
      enabled: ['filter_level', 'filter_redact', 'plugin_logger', 'sink_record', 'ai_count'],
      config: {
        filter_level: { min_level: 'INFO', modules: {} },
        filter_redact: { patterns: ['ipv4'], custom: [], mask: 'x', args: true },
        plugin_logger: { output: 'file', path: join(dir, 'chain.log'), sample: 1, stages: ['filter', 'sink', 'ai'] },
      },
    },
  });
  try {
    h.send({ message: 'peer 10.0.0.1 up' });
    await until(h.pipeline, () => sink.received.length >= 1);
    h.send({ message: 'plain' });
    h.send({ level: 'DEBUG', message: 'dropped before the logger' });
    await until(h.pipeline, () => sink.received.some((e) => e.message === 'saw plain'));
    await h.stop();
    const lines = (await waitForLines(join(dir, 'chain.log'), 2)).map((l) => JSON.parse(l));
    const chains = lines.filter((l) => l.record === 'chain');
    assert.equal(chains[0].message, 'peer x up');
    assert.deepEqual(chains[0].chain.map((s: { plugin: string; verdict: string }) => [s.plugin, s.verdict]), [['filter_level', 'keep'], ['filter_redact', 'replace']]);
    assert.deepEqual(chains[1].chain.map((s: { plugin: string; verdict: string }) => [s.plugin, s.verdict]), [['filter_level', 'keep'], ['filter_redact', 'keep']]);
    for (const s of chains[0].chain) assert.ok(Number.isInteger(s.micros) && s.micros >= 0);
    assert.equal(typeof chains[0].total_micros, 'number');

    const stages = lines.filter((l) => l.record === 'stage');
    const of = (stage: string, plugin: string) => stages.filter((l) => l.stage === stage && l.plugin === plugin);
    // filters: one event per entry, the DEBUG one dropped by filter_level, the redaction a replace naming what changed.
    assert.deepEqual(of('filter', 'filter_level').filter((l) => l.module !== 'AI').map((l) => [l.message, l.verdict]), [['peer 10.0.0.1 up', 'keep'], ['plain', 'keep'], ['dropped before the logger', 'drop']]);
    const replaced = of('filter', 'filter_redact').find((l) => l.verdict === 'replace')!;
    assert.deepEqual(replaced.changed, ['message']);
    assert.equal(replaced.in.entries, 1);
    assert.ok(replaced.in.bytes > 0 && /^[0-9a-f]{16}$/.test(replaced.in.sha256));
    assert.notEqual(replaced.out.sha256, replaced.in.sha256);
    assert.equal(replaced.out.bytes, replaced.in.bytes - '10.0.0.1'.length + 1);
    // sink: one event per batch, accepted, the entries counted.
    const sinkEvents = of('sink', 'sink_record');
    assert.ok(sinkEvents.length >= 2 && sinkEvents.every((l) => l.verdict === 'accepted'));
    assert.equal(sinkEvents.reduce((a, l) => a + l.in.entries, 0), sink.received.length);
    // ai: one event per analysed entry, with its results.
    const aiEvents = of('ai', 'ai_count');
    assert.deepEqual(aiEvents.map((l) => [l.message, l.results]).filter(([m]) => m === 'plain' || m === 'peer x up'), [['peer x up', 0], ['plain', 1]]);
    assert.ok(aiEvents.every((l) => l.verdict === 'results' && Number.isInteger(l.micros)));
  } finally {
    await h.stop();
  }
});

test('plugin_logger: debug output becomes DEBUG entries (module PLUGINLOG) that are not traced again', async () => {
  const sink = recordingSink();
  const h = await startHarness({
    statics: [filterGrep, pluginLogger, sink.mod],
    config: { enabled: ['filter_grep', 'plugin_logger', 'sink_record'], config: { filter_grep: { rules: [] }, plugin_logger: { output: 'debug', path: '/nonexistent', sample: 1 } } },
  });
  try {
    h.send({ module: 'APP', message: 'hello' });
    await until(h.pipeline, () => sink.received.filter((e) => e.module === 'PLUGINLOG').length >= 3);
    await h.pipeline.drain(2000);
    const dbg = sink.received.filter((e) => e.module === 'PLUGINLOG').map((e) => (assert.equal(e.level, 'DEBUG'), e.message));
    // The filter stage, the chain record, the sink batch holding "hello" — and nothing for the
    // DEBUG entries themselves (no feedback loop).
    assert.equal(dbg.length, 3, JSON.stringify(dbg));
    assert.match(dbg[0]!, /^\[APP\] hello \| filter filter_grep keep \d+us \| in 1 entries \d+ B [0-9a-f]{16}$/);
    assert.match(dbg[1]!, /^\[APP\] hello \| filter_grep \d+us keep \| total \d+us$/);
    assert.match(dbg[2]!, /^\[APP\] hello \| sink sink_record accepted \d+us \| in \d entries \d+ B [0-9a-f]{16}$/);
  } finally {
    await h.stop();
  }
});
