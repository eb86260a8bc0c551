/**
 * The records path's C reader (native/common/records.c): entry records (the ring's NDJSON bytes)
 * must reach a C plugin exactly as the binary batch of the same entries does, in the plugin host
 * ('R' frames) and in-process (pluginProcessRecords). A sink compiled here dumps every field it
 * sees; both forms must give the same bytes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { tempDir } from '../helpers/agent.ts';
import { compilePlugin } from './compile.ts';
import { NativeInProcessHost, NativeProcessHost } from '../../agent/plugins/hosts/native.ts';
import { PluginCallError, type HostBase } from '../../agent/plugins/host.ts';
import { buildEntry } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';
import { freezeEntry, type LogEntry } from '../../entry/entry.ts';
import { frameRecords } from '../../agent/buffer/ring.ts';
import { keyedRecord, type EntryRecords } from '../../agent/buffer/records.ts';
import type { DiscoveredPlugin } from '../../agent/plugins/discovered.ts';
import type { PluginContext } from '../../agent/plugins/types.ts';

const dir = tempDir('logloom-records-');
const dump = compilePlugin(dir, 'sink_dump.so', {
  code: `#include <logloom_plugin.h>
#include <stdio.h>
#include <string.h>
static char out[512];
int plugin_configure(const char *json) {
  const char *p = strstr(json, "\\"out\\":\\"");
  if (!p || sscanf(p + 7, "%511[^\\"]", out) != 1) return -1;
  return 0;
}
int plugin_init(void) { return 0; }
static void field(FILE *f, const char *name, const char *v) { fprintf(f, "%s=%s|", name, v ? v : "(null)"); }
int plugin_process(const log_entry_t *e) {
  FILE *f = fopen(out, "a");
  if (!f) return -1;
  field(f, "ts", e->timestamp); field(f, "level", e->level); fprintf(f, "num=%d|", (int)e->level_num);
  field(f, "module", e->module); field(f, "msg", e->message); field(f, "key", e->lang_key);
  field(f, "node", e->node); field(f, "source", e->source); fprintf(f, "argc=%zu", e->argc);
  for (size_t i = 0; i < e->argc; i++) fprintf(f, "|arg=%s", e->args[i]);
  fputc('\\n', f);
  fclose(f);
  return 0;
}
void plugin_shutdown(void) {}
`,
});

const opts = { maxMessageBytes: 32768, defaultLevel: 'INFO' as const, defaultModule: 'T', node: 'gw-7', source: 'serial:/dev/ttyS0' };
const ENTRIES: LogEntry[] = [
  buildEntry({ message: 'plain' }, opts),
  buildEntry({ level: 'ERROR', module: 'pump', message: 'quote " backslash \\ tab \t slash / CJK 压力 emoji 😀 control \x1b[0m' }, opts),
  buildEntry({ level: 'WARN', lang_key: 'disk.full', args: ['sda1', 91, 1.5, -7, 'x"y', 1e21], message: '' }, opts),
  buildEntry({ level: 'DEBUG', message: 'with fields', fields: { a: 1, b: 'two', c: true, d: { nested: [1, 2] } as unknown as string } }, opts),
  buildEntry({ level: 'FATAL', message: 'lone \ud800 surrogate and \u2028 separator' }, { ...opts, source: 'file:/var/log/ü.log' }),
  buildEntry({ message: 'x'.repeat(20_000) }, opts),
  freezeEntry({ ...buildEntry({ message: 'forwarded, with seq and truncated' }, opts), seq: 42, truncated: true }),
];

function discovered(file: string): DiscoveredPlugin {
  return {
    name: 'sink_dump', kind: 'native', type: 'sink', origin: file, file, protocol: 'line', trusted: false,
    // As a plugin.yaml beside it would describe it (the .so has no plugin_info()).
    manifest: { name: 'sink_dump', version: '1.0.0', author: 'test', type: 'sink', capability: [], entry: { kind: 'native', protocol: 'line', trusted: false }, limits: {} },
    limits: { timeout_ms: 5000, max_inflight: 1, queue_length: 1000, on_error: 'keep' },
  } as unknown as DiscoveredPlugin;
}

function ctx(out: string): PluginContext {
  const noop = () => {};
  return { config: { out }, node: 'n', stateDir: dir, log: { debug: noop, info: noop, warn: noop, error: noop }, render: (k: string) => k, emit: noop } as unknown as PluginContext;
}

const started: HostBase[] = [];
after(async () => {
  for (const h of started) await h.stop().catch(() => {});
});

/** The ring's form of entries: NDJSON records, with the codec's 'E' in front when asked. */
function records(entries: readonly LogEntry[], codecMark: boolean): EntryRecords {
  const payloads = entries.map((e) => Buffer.from((codecMark ? 'E' : '') + encodeEntry(e), 'utf8'));
  return { frames: frameRecords(payloads), count: entries.length };
}

const raw = (json: string): EntryRecords => ({ frames: frameRecords([Buffer.from(json, 'utf8')]), count: 1 });

for (const mode of ['plugin host', 'in-process'] as const) {
  test(`records reader (${mode}): a C plugin sees the same fields from entry records as from the binary batch, hostile text included`, async () => {
    const file = `${dir}/dump-${mode.replace(' ', '-')}.txt`;
    const p = discovered(dump);
    const host = mode === 'plugin host' ? new NativeProcessHost(p) : new NativeInProcessHost({ ...p, trusted: true });
    started.push(host);
    await host.start(ctx(file));

    await host.flush!(ENTRIES, 5000);
    const fromBatch = readFileSync(file, 'utf8');
    rmSync(file);
    await host.flushRecords!(records(ENTRIES, false), 5000);
    const fromRecords = readFileSync(file, 'utf8');
    rmSync(file);
    await host.flushRecords!(records(ENTRIES, true), 5000);
    const fromCodecRecords = readFileSync(file, 'utf8');
    rmSync(file);

    // Keyed records (a checkpoint token and an input id in the header): the plugin sees the same entries.
    await host.flushRecords!({ frames: frameRecords(ENTRIES.map((e, i) => keyedRecord(encodeEntry(e), i + 1, 7))), count: ENTRIES.length }, 5000);
    const fromKeyedRecords = readFileSync(file, 'utf8');
    rmSync(file);

    assert.equal(fromRecords, fromBatch);
    assert.equal(fromCodecRecords, fromBatch);
    assert.equal(fromKeyedRecords, fromBatch);
    const lines = fromBatch.split('\n');
    // The text a plugin reads is the entry's own (UTF-8, escapes undone), not its JSON.
    assert.match(lines[1]!, /\|msg=quote " backslash \\ tab \t slash \/ CJK 压力 emoji 😀 control \\x1b\[0m\|/);
    assert.match(lines[2]!, /level=WARN\|num=2\|.*key=disk\.full\|.*argc=6\|arg=sda1\|arg=91\|arg=1\.5\|arg=-7\|arg=x"y\|arg=1e\+21$/);
    // U+2028 is escaped at the edge like other control characters (it would break lines in a terminal).
    assert.match(lines[4]!, /msg=lone \ufffd surrogate and \\u2028 separator\|.*source=file:\/var\/log\/ü\.log\|/);
    assert.equal(/msg=(x+)\|/.exec(lines[5]!)![1]!.length, 20_000);

    // Keys it does not know, nested values and whitespace are skipped; missing fields get the defaults.
    await host.flushRecords!(raw('{ "fields" : {"a":{"b":[1,2,{"c":"d\\"}"}]}}, "message" : "m\\u00e9" , "extra":null}'), 5000);
    assert.equal(readFileSync(file, 'utf8'), 'ts=|level=INFO|num=1|module=APP|msg=mé|key=(null)|node=(null)|source=(null)|argc=0\n');

    // Malformed records are refused as a whole: a failed call, which the supervisor reports.
    for (const bad of ['{"message":"unterminated', '{"message":"x"} trailing', '{"message":"bad \\q escape"}', '[1,2]', 'E', 'K\u0001\u0000']) {
      await assert.rejects(Promise.resolve().then(() => host.flushRecords!(raw(bad), 5000)), PluginCallError, bad);
    }
    const cut = records(ENTRIES.slice(0, 1), false);
    await assert.rejects(Promise.resolve().then(() => host.flushRecords!({ frames: cut.frames.subarray(0, cut.frames.length - 3), count: 1 }, 5000)), PluginCallError);
  });
}
