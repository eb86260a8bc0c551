/**
 * Fuzzing the lazy record view (agent/buffer/record-view.ts), which reads fields straight off an
 * entry record's bytes for the filters on the records path: level, module and message from their
 * spans, source by walking the top-level keys after the message. Entries are made from hostile
 * lines through the real door (parseLine, buildEntry, encodeEntry: what the codecs write), with
 * hostile sources and decoys (a "source" key in fields, `,"source":"` in a message or an arg); each
 * field the view reads must equal what JSON.parse reads from the same bytes. Records of another
 * layout (keys shuffled) must read the same too (the view parses them), and mangled bytes may
 * only throw a SyntaxError, never hang. The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordView } from '../../agent/buffer/record-view.ts';
import { buildEntry } from '../../entry/build.ts';
import { encodeEntry, parseLine } from '../../entry/codec.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { fuzzer, hostileLine, type Fuzz } from './fuzz.ts';

const FIELDS = ['timestamp', 'level', 'module', 'message', 'source'] as const;
const DECOYS = [',"source":"fake"', '","source":"x', '\\",\\"source\\":\\"', ']}', '"}', '\\', '"', '{"source":1}', '[', 'source'];

function hostileSource(f: Fuzz): string | undefined {
  if (f.chance(0.2)) return undefined;
  if (f.chance(0.3)) return f.pick(['unix', 'tcp:10.0.0.1:5000', 'file:/var/log/a"b\\c.log', 'serial:/dev/ttyS0', '']);
  return hostileLine(f).toString('utf8').slice(0, 300) + f.pick(DECOYS);
}

/** An entry record as the codecs write it, from a hostile line with a hostile source and decoys. */
function record(f: Fuzz): Buffer {
  const parsed = parseLine(hostileLine(f).toString('utf8'));
  const draft = parsed.ok ? parsed.draft : { message: parsed.error };
  if (f.chance(0.3)) draft.message = String(draft.message ?? '') + f.pick(DECOYS);
  if (f.chance(0.3)) draft.args = [f.pick(DECOYS), 7, f.pick(DECOYS)];
  if (f.chance(0.4)) draft.fields = { source: f.pick(DECOYS), [f.pick(DECOYS)]: f.pick(DECOYS), n: 1 };
  if (f.chance(0.2)) draft.lang_key = 'auth.login';
  const source = hostileSource(f);
  const e = buildEntry(draft, { maxMessageBytes: 1 + f.int(2000), defaultLevel: 'INFO', defaultModule: 'FUZZ', node: f.chance(0.9) ? 'gw-1' : '', source });
  return Buffer.from(encodeEntry(e));
}

/** The same entry with its keys in another order: a layout the byte reader does not assume. */
function shuffled(f: Fuzz, json: Buffer): Buffer {
  const o = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
  const keys = Object.keys(o).sort(() => f.r() - 0.5);
  return Buffer.from(JSON.stringify(Object.fromEntries(keys.map((k) => [k, o[k]]))));
}

/** Every field through a fresh view of json placed inside a larger buffer (as in a batch's frames). */
function read(f: Fuzz, json: Buffer, order: readonly (typeof FIELDS)[number][]): Record<string, unknown> {
  const before = f.bytes(f.int(40));
  const frames = Buffer.concat([before, json, Buffer.from('"\\"}], "source":"after"'), f.bytes(f.int(40))]);
  const v = new RecordView(frames, before.length, before.length + json.length);
  const out: Record<string, unknown> = {};
  for (const k of order) out[k] = v[k as keyof LogEntry];
  return out;
}

test('record view: level, module, message and source read off the bytes equal JSON.parse of the same record, for hostile entries, any layout (seeded)', (t) => {
  const f = fuzzer(t, 3, 71);
  const deadline = Date.now() + f.budgetMs;
  let n = 0;
  let mangled = 0;
  while (Date.now() < deadline || n < 500) {
    n++;
    const canonical = record(f);
    for (const json of [canonical, shuffled(f, canonical)]) {
      const want = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
      const order = [...FIELDS].sort(() => f.r() - 0.5);
      const got = read(f, json, order);
      for (const k of FIELDS) assert.deepEqual(got[k], want[k], `${k} of ${json.toString('utf8')} (seed ${f.seed}, read in order ${order.join(',')})`);
    }
    // Bytes the codecs never write (cut short, a byte changed): a SyntaxError at most.
    const bad = Buffer.from(canonical.subarray(0, f.int(canonical.length + 1)));
    if (bad.length && f.chance(0.5)) bad[f.int(bad.length)] = f.pick([0x22, 0x5c, 0x2c, 0x7d, 0x5d, 0x7b, 0x3a, f.int(256)]);
    try {
      read(f, bad, FIELDS);
    } catch (e) {
      assert.ok(e instanceof SyntaxError, `${(e as Error).stack} for ${bad.toString('utf8')} (seed ${f.seed})`);
      mangled++;
    }
  }
  t.diagnostic(`${n} records (${mangled} mangled ones threw a SyntaxError)`);
});

test('record view: a record without a source reads none, even with "source" keys in its fields, args or message', () => {
  const e = buildEntry({ message: 'x,"source":"m"', args: [',"source":"a"'], fields: { a: 1, source: 'f' }, labels: { source: 'l' } }, { maxMessageBytes: 100, defaultLevel: 'INFO', defaultModule: 'APP', node: 'n' });
  const json = Buffer.from(encodeEntry(e));
  const v = new RecordView(json, 0, json.length);
  assert.equal(v.source, undefined);
  assert.equal(v.message, 'x,"source":"m"');
  const withSource = Buffer.from(encodeEntry(buildEntry({ message: 'm', source: 'serial:"S1"\\' }, { maxMessageBytes: 100, defaultLevel: 'INFO', defaultModule: 'APP', node: 'n' })));
  assert.equal(new RecordView(withSource, 0, withSource.length).source, 'serial:"S1"\\');
});
