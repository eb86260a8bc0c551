/**
 * Drafts become records through the codec (agent/buffer/draft-codec.ts): for fuzzed drafts of
 * every shape inputs and plugins emit (serial lines, oopses and boot banners, kmsg records with
 * checkpoints, journald entries, lines through draftFromLine, analysers' results, labelled and
 * multiline drafts, odd values), the record is encodeEntry(buildEntry(draft)) byte for byte: with
 * the C codec (the draft's line, format draft), with the JS codec's twin of that format, and with
 * the JS fallback. And through an input port: a draft that cannot be read is counted as rejected,
 * never thrown; a peer's NDJSON line cannot set labels or multiline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DraftCodec, draftLine } from '../../agent/buffer/draft-codec.ts';
import { JsLineCodec, type CodecOptions } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { recordStart, recordInput, recordToken } from '../../agent/buffer/records.ts';
import { createEntryBuffer } from '../../agent/buffer/entry-buffer.ts';
import { Pipeline } from '../../agent/pipeline/pipeline.ts';
import { buildEntry, type BuildOptions, type EntryDraft } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';
import { Checkpoint, releaseToken } from '../../entry/checkpoint.ts';
import { draftFromLine } from '../../agent/inputs/common.ts';
import { draftFromJournal } from '../../agent/inputs/journald/index.ts';
import { fuzzer, hostileLine, nastyString, nastyValue, withSeed, type Fuzz } from '../fuzz/fuzz.ts';

const MAX_MESSAGE = 200;
const DEFAULTS = { maxMessageBytes: MAX_MESSAGE, defaultLevel: 'INFO' as const, defaultModule: 'SERIAL', node: 'gw-7' };
const BUILD: BuildOptions = { ...DEFAULTS };

/** Nested past what JSON.stringify can recurse into (textOf's RangeError). */
let VERY_DEEP: unknown = 1;
for (let i = 0; i < 20_000; i++) VERY_DEEP = [VERY_DEEP];
const CYCLIC: Record<string, unknown> = { a: 1 };
CYCLIC.self = CYCLIC;
class WithToJson {
  toJSON() {
    return { from: 'toJSON' };
  }
}

/** Values inputs and plugins should not hand over, but might: each must give what buildEntry gives. */
function oddValue(f: Fuzz): unknown {
  return f.pick([
    () => 10n, () => CYCLIC, () => ({ toJSON: () => { throw new Error('no JSON'); } }), () => Symbol('s'), () => () => 1, () => NaN,
    () => -0, () => Infinity, () => -Infinity, () => 1e21, () => 5e-324, () => new Date(f.int(2) ? 1.7e12 : NaN), () => [1, , 3],
    () => JSON.parse('['.repeat(50) + ']'.repeat(50)) as unknown, () => VERY_DEEP, () => Object.create(null) as object, () => new WithToJson(),
    () => '\ud800 lone \udc00', () => 'x'.repeat(f.int(3000)), () => ({ __proto__: null, k: 'v' }), () => JSON.parse('{"__proto__":"own"}') as unknown,
    () => new Map([[1, 2]]), () => undefined, () => null, () => '__proto__', () => 'toString',
  ])();
}

const value = (f: Fuzz) => (f.chance(0.2) ? oddValue(f) : nastyValue(f, 1));

function fields(f: Fuzz): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = f.chance(0.05) ? 60 + f.int(20) : f.int(6);
  for (let i = 0; i < n; i++) {
    const k = f.chance(0.2) ? f.pick(['__proto__', '0', '17', 'toJSON', 'k\u0000', 'é', 'k'.repeat(70), '\ud83d\ude00'.repeat(40)]) : `f${f.int(100)}`;
    o[k] = f.chance(0.6) ? f.pick([1234.567 + f.int(1000) / 1000, f.int(1e9), 'text', true, false, 1e21, 0.1 + 0.2]) : value(f);
  }
  if (f.chance(0.1)) Object.defineProperty(o, 'hidden', { value: 'not enumerable', enumerable: false });
  return o;
}

function labels(f: Fuzz): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = f.chance(0.05) ? 30 + f.int(10) : f.int(4);
  for (let i = 0; i < n; i++) o[f.chance(0.2) ? f.pick(['__proto__', '1', 'k\n', 'x'.repeat(70), '\ud83d\ude00'.repeat(40)]) : `l${i}`] = f.chance(0.8) ? f.pick(['plant-3', 'b7', 7, true, 'v'.repeat(300), 'é\u202e']) : value(f);
  return o;
}

function timestamp(f: Fuzz): unknown {
  return f.pick([
    () => new Date(1.7e12 + f.int(1e9) + 0.25), () => new Date(f.int(2) ? 86_400_000 * f.int(1000) : -86_400_000 * f.int(800_000)), () => new Date(NaN),
    () => 1.7e12 + f.int(1e6), () => 1.7e9 + f.int(1e6) / 7, () => '2026-03-04T05:06:07.891Z', () => '2026-03-04 05:06', () => 'not a time', () => -1,
    () => 8.64e15 + 1, () => f.r() * 1e12, () => value(f),
  ])();
}

/** A draft of one of the shapes inputs and plugins emit, now and then with odd values in any part. */
function draft(f: Fuzz): EntryDraft {
  const t0 = 1.7e12 + f.int(1e9);
  const text = () => (f.chance(0.8) ? nastyString(f, 80) : 'é'.repeat(f.int(150)));
  let d: EntryDraft;
  switch (f.int(8)) {
    case 0: // serial: a console line
      d = { message: text(), source: 'serial:/dev/ttyS1', receivedAt: t0 + f.int(1000) / 1000, fields: { mono_ms: f.int(1e9) / 1000, partial: 'idle' }, line: text() };
      if (f.chance(0.5)) d.level = f.pick(['INFO', 'WARN', 'E', 'warning', 'x']);
      if (f.chance(0.5)) d.module = f.pick(['wifi', 'KERNEL', 'a b', 'ß', '']);
      break;
    case 1: // serial: an oops, its lines joined
      d = { level: 'FATAL', message: Array.from({ length: 1 + f.int(6) }, text).join(f.pick(['\n', '\r\n', '\n\n'])), multiline: true, source: 'serial:/dev/ttyS0', receivedAt: t0, fields: { event: 'kernel_oops', lines: 3, ended_by: 'end_trace', mono_ms: 12.5 } };
      break;
    case 2: // kmsg, with its checkpoint
      d = { timestamp: new Date(t0 + f.int(1e6) / 1000), level: f.pick(['DEBUG', 'ERROR', 'FATAL']), module: 'KERNEL', message: text(), source: 'kmsg:/dev/kmsg', fields: { facility: 'kern', seq: f.int(1e6), kernel_ts_usec: f.int(1e12), subsystem: 'usb' } };
      break;
    case 3: // journald
      d = draftFromJournal({ MESSAGE: f.chance(0.2) ? [104, 105] : text(), PRIORITY: String(f.int(9)), SYSLOG_IDENTIFIER: f.pick(['sshd', undefined, 'ß']), __REALTIME_TIMESTAMP: String(t0 * 1000), _PID: '42', X: f.chance(0.5) ? nastyValue(f, 1) : 'y' }, 'journald');
      break;
    case 4: // a line of a stream input through the line stage (NDJSON or text)
      d = draftFromLine(hostileLine(f), f.chance(0.1), 'unix', () => {}) ?? { message: '' };
      d.receivedAt = t0;
      break;
    case 5: // an analyser's result, a compiled-in plugin's notice
      d = { level: value(f) as string, module: f.pick(['AI', 'DEDUPE', undefined]), message: value(f), lang_key: value(f), args: f.chance(0.7) ? Array.from({ length: f.int(40) }, () => value(f)) : value(f), fields: f.chance(0.5) ? fields(f) : value(f), source: 'plugin:ai_x' };
      break;
    default: // anything
      d = {};
      if (f.chance(0.7)) d.message = f.chance(0.7) ? text() : value(f);
      if (f.chance(0.4)) d.level = value(f) as string;
      if (f.chance(0.4)) d.module = value(f) as string;
      if (f.chance(0.3)) d.timestamp = timestamp(f) as string;
      if (f.chance(0.3)) d.source = value(f) as string;
      if (f.chance(0.2)) d.lang_key = f.pick(['auth.login', 'x'.repeat(129), value(f)]);
      if (f.chance(0.3)) d.args = f.chance(0.8) ? Array.from({ length: f.int(40) }, () => value(f)) : value(f);
      if (f.chance(0.4)) d.fields = f.chance(0.8) ? fields(f) : value(f);
      if (f.chance(0.2)) d.truncated = f.pick([true, false, 1, 'yes'] as never[]);
      if (f.chance(0.2)) d.multiline = f.pick([true, false, 1] as never[]);
      if (f.chance(0.7)) d.receivedAt = f.chance(0.9) ? t0 : (f.pick([NaN, 1e300, -1, '5', 1.5]) as number);
  }
  if (f.chance(0.3)) d.labels = f.chance(0.9) ? labels(f) : value(f);
  if (f.chance(0.1)) d.multiline = true;
  if (f.chance(0.2)) d.timestamp = timestamp(f) as string;
  return d;
}

/**
 * What the draft's record must be: buildEntry's, where a draft without a time of its own takes the
 * clock at some moment between before and after (the one the record shows, when it is in that span).
 */
function expected(d: EntryDraft, before: number, after: number, got: string): string {
  const shown = Date.parse(/"timestamp":"([^"]+)"/.exec(got)?.[1] ?? '');
  const now = shown >= before && shown <= after ? shown : before;
  return 'E' + encodeEntry(buildEntry(d, { ...BUILD, now }));
}

const JS_DRAFT_CODEC: CodecOptions = { ...DEFAULTS, maxLineBytes: 0, minLevel: 'DEBUG', format: 'draft' };

test('fuzz: drafts of every shape become exactly encodeEntry(buildEntry(draft)) through the C codec, the JS codec\'s draft format and the JS fallback', async (t) => {
  const f = fuzzer(t, 4, 1207);
  const native = new DraftCodec(DEFAULTS, true);
  const fallback = new DraftCodec(DEFAULTS, false);
  const jsLines = new JsLineCodec(JS_DRAFT_CODEC);
  const nativeLines = new NativeLineCodec(JS_DRAFT_CODEC);
  await withSeed(f, async () => {
    const deadline = Date.now() + f.budgetMs;
    let cases = 0;
    let tokens = 0;
    while (Date.now() < deadline || cases < 300) {
      const d = draft(f);
      let readable = true;
      let reference: unknown;
      try {
        reference = buildEntry(d, BUILD);
      } catch (e) {
        readable = false;
        reference = e;
      }
      for (const [name, codec] of [['C codec', native], ['JS fallback', fallback]] as const) {
        const cp = f.chance(0.3) ? new Checkpoint({ input: 'kmsg', stream: 's', offset: cases }, () => {}) : undefined;
        const input = f.chance(0.3) ? 1 + f.int(65535) : 0;
        const before = Date.now();
        const r = codec.encode({ ...d, checkpoint: cp }, input);
        const after = Date.now();
        if (!readable) {
          assert.equal(r.ok, false, `${name}: buildEntry threw (${String(reference)}), the route must say so, not throw`);
          assert.equal(cp?.done ?? true, true, 'a draft that makes no record finishes its checkpoint');
          continue;
        }
        assert.ok(r.ok, `${name}: ${!r.ok && r.error} for ${draftLine(d)}`);
        assert.equal(r.reject, undefined);
        const frame = Buffer.alloc(4 + r.rec.length);
        frame.writeUInt32LE(r.rec.length, 0);
        r.rec.copy(frame, 4);
        const got = 'E' + frame.toString('utf8', recordStart(frame, 0));
        assert.equal(got, expected(d, before, after, got), `${name} differs for the draft line ${draftLine(d)}`);
        assert.equal(recordToken(frame, 0), r.token);
        assert.equal(recordInput(frame, 0), cp || input ? input : 0);
        assert.equal(r.token > 0, cp !== undefined, 'a checkpointed draft carries its token');
        if (r.token) {
          tokens++;
          releaseToken(r.token);
          assert.ok(cp!.done);
        }
      }
      if (readable) {
        // The draft line through both codecs' draft format: the same bytes (and the C one's are checked above).
        const line = Buffer.from(draftLine(d));
        const now = 1.7e12;
        assert.ok(jsLines.feed(line, now).equals(nativeLines.feed(line, now)), `the codecs' draft format differs for ${line}`);
      }
      cases++;
    }
    t.diagnostic(`${cases} drafts, ${tokens} with checkpoint tokens`);
  });
});

test('drafts through an input port: unreadable ones are counted as rejected (their checkpoint finished), labels and multiline only from the agent', async () => {
  for (const native of ['on', 'off'] as const) {
    const p = new Pipeline({ node: 'gw', maxMessageBytes: 1000, bufferEntries: 100, bufferBytes: 1 << 20 }, createEntryBuffer(100, 1 << 20, native));
    const port = p.inputPort('in', 'block', { level: 'INFO', module: 'APP' });
    const done: number[] = [];
    const hostile = { get message(): string { throw new Error('getter failed'); }, checkpoint: new Checkpoint({ input: 'in', stream: 's', offset: 5 }, (c) => done.push(c.offset)) };
    assert.equal(port.emit(hostile as EntryDraft), true, 'an unreadable draft does not pause the input');
    assert.equal(p.inputs.get('in')!.rejected, 1);
    assert.match(p.inputs.get('in')!.last_reject, /getter failed/);
    assert.deepEqual(done, [5], 'its checkpoint is finished, so the input may move on');
    port.emit({ message: 'a\nb', multiline: true, labels: { site: 'plant-3' } });
    port.emit({ message: '{"message":"x\\ny","multiline":true,"labels":{"site":"forged"}}' });
    port.emitUrgent({ level: 'FATAL', message: 'oops\nline 2', multiline: true });
    port.emit({ message: 'é'.repeat(400_000), fields: { n: 1 } }); // a line larger than the port keeps a buffer for
    // A stream input's NDJSON line (a peer's): labels and multiline are not taken from it.
    const s = port.openStream('unix', 1 << 16, 'json');
    s.feed(Buffer.from('{"message":"x\\ny","multiline":true,"labels":{"site":"forged"}}\n'));
    const out: unknown[] = [];
    for (let e = p.buffer.shift(); e; e = p.buffer.shift()) out.push({ message: e.message, labels: e.labels });
    assert.deepEqual(out, [
      { message: 'a\nb', labels: { site: 'plant-3' } },
      { message: '{"message":"x\\ny","multiline":true,"labels":{"site":"forged"}}', labels: undefined },
      { message: 'é'.repeat(500), labels: undefined },
      { message: 'x\\ny', labels: undefined },
    ], native);
    assert.equal(p.inputs.get('in')!.received, 5);
    await p.drain(1000);
  }
});

test('a plugin\'s emitted drafts: module AI and source plugin:<name> unless it says otherwise; dropped when the buffer is full, and counted', async () => {
  for (const native of ['on', 'off'] as const) {
    const p = new Pipeline({ node: 'gw', maxMessageBytes: 1000, bufferEntries: 3, bufferBytes: 1 << 20 }, createEntryBuffer(3, 1 << 20, native));
    const emit = p.pluginEmitter('ai_x');
    assert.equal(p.pluginEmitter('ai_x'), emit, 'one emitter per plugin, kept across its restarts');
    emit({ level: 'WARN', message: 'pump 3 vibrates', lang_key: 'ai.vibration', args: [3] });
    emit({ module: 'DEDUPE', message: 'repeated 12 times', source: 'forged' });
    for (let i = 0; i < 5; i++) emit({ message: `more ${i}` });
    const out: unknown[] = [];
    for (let e = p.buffer.shift(); e; e = p.buffer.shift()) out.push([e.level, e.module, e.message, e.source, e.lang_key]);
    assert.deepEqual(out, [
      ['WARN', 'AI', 'pump 3 vibrates', 'plugin:ai_x', 'ai.vibration'],
      ['INFO', 'DEDUPE', 'repeated 12 times', 'plugin:ai_x', undefined],
      ['INFO', 'AI', 'more 0', 'plugin:ai_x', undefined],
    ], native);
    assert.equal(p.totalDropped(), 4, 'the four past the bound are dropped and counted');
    await p.drain(1000);
  }
});
