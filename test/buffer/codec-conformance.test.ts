/**
 * The fast codec in C and its JS twin must produce identical framed records for the same bytes,
 * however the bytes are split across pushes, and the JS twin must agree with the one entry door
 * (buildEntry + sanitise.ts) — so the C codec applies exactly the agent's sanitising rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsLineCodec, recordToEntry, type CodecOptions, type LineCodec } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { forEachFrame } from '../../agent/buffer/ring.ts';
import { buildEntry } from '../../agent/entry/build.ts';
import { encodeEntry } from '../../agent/entry/codec.ts';

const OPTS: CodecOptions = { maxLineBytes: 64 * 1024, maxMessageBytes: 120, minLevel: 'INFO', defaultLevel: 'INFO', defaultModule: 'app', node: 'gw-7', source: 'unix' };
const T0 = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z

const b = (s: string) => Buffer.from(s, 'utf8');
const x = (...bytes: number[]) => Buffer.from(bytes);

/** Valid and hostile lines; each item is one line's bytes (joined with \n, and some with \r\n). */
const CORPUS: Buffer[] = [
  b('plain text line'),
  b('[WARN] [net] link down'),
  b('ERROR: disk full on /data'),
  b('error lower-case level'),
  b('WARNING\tthe tab stays'),
  b('[CRITICAL] [averyveryverylongmodulename] cut at 16'),
  b('DEBUG hidden by the level filter'),
  b('[TRACE] also hidden'),
  b('INFORMATION is not a level word'),
  b('<34>sshd[123]: Failed password for root'),
  b('<13>app: hello'),
  b('<191>local7.debug: filtered'),
  b('<192>not syslog: too big'),
  b('<7>'),
  b('{"level":"error","module":"pump","message":"json line"}'),
  b('  {"message":"no level, indented"}'),
  b('{"level":"debug","message":"filtered json"}'),
  b('{"msg":"level inside a string: \\"level\\": \\"ERROR\\""}'),
  b('{broken json'),
  b('emoji 😀 CJK 日志 accents éèê'),
  b('control chars: \x00 NUL \x1b[31mred\x1b[0m DEL\x7f bell\x07'),
  x(...b('C1 next-line: '), 0xc2, 0x85, ...b(' and '), 0xc2, 0x9f, 0xc2, 0xa0),
  b('bidi: \u202egnp.exe\u202c \u2028\u2029 \u202a\u202b\u202d \u2066\u2069 ok: \u2027\u202f\u2065\u206a'),
  x(...b('bidi cut at the end '), 0xe2, 0x80),
  x(0x80, 0x41, 0xc0, 0x80, 0x42, 0xed, 0xa0, 0x80, 0x43, 0xf4, 0x90, 0x80, 0x80, 0x44, 0xff, 0xfe),
  x(...b('truncated emoji at end '), 0xf0, 0x9f, 0x98),
  x(0xe2, 0x82, 0x41, 0xe0, 0x9f, 0x80, 0xf0, 0x8f, 0xbf, 0xbf, 0xc3),
  b('carriage\rreturn in the middle'),
  b('\r'),
  b(''),
  b('quote " and backslash \\ survive JSON'),
  b('é'.repeat(100)), // 200 bytes: cut at 120 on a character boundary
  b('\x01'.repeat(40)), // escapes grow past the limit: cut inside the escaped text
  b('{' + 'x'.repeat(200)),
];

function corpusBytes(): Buffer {
  const parts: Buffer[] = [];
  CORPUS.forEach((line, i) => parts.push(line, b(i % 3 === 0 ? '\r\n' : '\n')));
  return Buffer.concat(parts);
}

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function run(codec: LineCodec, chunks: Buffer[]): Buffer {
  const out = chunks.map((c, i) => codec.feed(c, T0 + i));
  out.push(codec.end(T0 + chunks.length));
  return Buffer.concat(out);
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((p, q) => p - q)) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function both(opts: CodecOptions, chunks: Buffer[]) {
  const js = new JsLineCodec(opts);
  const nat = new NativeLineCodec(opts);
  const a = run(js, chunks);
  const n = run(nat, chunks);
  return { js: a, native: n, jsCounters: js.counters(), nativeCounters: nat.counters() };
}

function records(frames: Buffer): Buffer[] {
  const out: Buffer[] = [];
  forEachFrame(frames, (p) => out.push(Buffer.from(p)));
  return out;
}

test('codec corpus: native and JS give identical records and counters', () => {
  const r = both(OPTS, [corpusBytes()]);
  assert.deepEqual(r.nativeCounters, r.jsCounters);
  assert.equal(r.native.toString('latin1'), r.js.toString('latin1'));
  // 5 below INFO (DEBUG, TRACE, <191>, <7>, the debug JSON line), 2 empty ('' and a lone \r).
  assert.deepEqual(r.jsCounters, { lines: CORPUS.length, records: CORPUS.length - 7, filtered: 5, cut: 0 });
});

test('codec corpus: the same records however the bytes are split (byte by byte, inside characters, between \\r and \\n)', () => {
  const bytes = corpusBytes();
  // Same arrival time for every chunk so that records do not differ by timestamp.
  const whole = run(new JsLineCodec(OPTS), [bytes]);
  const feedAll = (codec: LineCodec, chunks: Buffer[]) => Buffer.concat([...chunks.map((c) => codec.feed(c, T0)), codec.end(T0)]);
  const byteByByte = [...bytes].map((v) => Buffer.from([v]));
  const random = rng(42);
  for (const chunks of [byteByByte, splitAt(bytes, Array.from({ length: 40 }, () => Math.floor(random() * bytes.length)))]) {
    assert.ok(feedAll(new NativeLineCodec(OPTS), chunks).equals(feedAll(new JsLineCodec(OPTS), chunks)));
    assert.ok(feedAll(new NativeLineCodec(OPTS), chunks).equals(whole.length ? feedAll(new JsLineCodec(OPTS), [bytes]) : whole));
  }
});

test('codec: plain-text records are exactly what buildEntry + encodeEntry make (the agent\'s sanitising rules)', () => {
  const recs = records(run(new NativeLineCodec(OPTS), [corpusBytes()]));
  const build = { maxMessageBytes: OPTS.maxMessageBytes, defaultLevel: OPTS.defaultLevel, defaultModule: OPTS.defaultModule, node: OPTS.node, source: OPTS.source };
  const byMsg = new Map<string, Record<string, unknown>>();
  for (const r of recs) if (r[0] === 0x45) byMsg.set(JSON.parse(r.toString('utf8', 1)).message, JSON.parse(r.toString('utf8', 1)));
  const expect = (draft: Parameters<typeof buildEntry>[0]) => JSON.parse(encodeEntry(buildEntry({ receivedAt: T0, ...draft }, build)));
  assert.deepEqual(byMsg.get('link down'), expect({ message: 'link down', level: 'WARN', module: 'net' }));
  assert.deepEqual(byMsg.get('Failed password for root'), expect({ message: 'Failed password for root', level: 'ERROR', module: 'sshd' }));
  assert.deepEqual(byMsg.get('plain text line'), expect({ message: 'plain text line' }));
  const ctl = 'control chars: \\x00 NUL \\x1b[31mred\\x1b[0m DEL\\x7f bell\\x07';
  assert.deepEqual(byMsg.get(ctl), expect({ message: 'control chars: \x00 NUL \x1b[31mred\x1b[0m DEL\x7f bell\x07' }));
  assert.ok(byMsg.has('C1 next-line: \\u0085 and \\u009f\u00a0'));
  assert.ok(byMsg.has('bidi: \\u202egnp.exe\\u202c \\u2028\\u2029 \\u202a\\u202b\\u202d \\u2066\\u2069 ok: \u2027\u202f\u2065\u206a'),
    'U+2028/U+2029 and the bidi controls are escaped like control characters; their neighbours are not');
  assert.ok(byMsg.has('\ufffdA\ufffd\ufffdB\ufffd\ufffd\ufffdC\ufffd\ufffd\ufffd\ufffdD\ufffd\ufffd'), 'invalid UTF-8 becomes U+FFFD per maximal subpart');
  const cut = [...byMsg.values()].find((e) => String(e.message).startsWith('éé'))!;
  assert.equal(cut.truncated, true);
  assert.equal(Buffer.byteLength(String(cut.message)), 120);
  for (const e of byMsg.values()) assert.ok(!/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/.test(String(e.message)), `raw control in ${JSON.stringify(e.message)}`);
  // 'J' records (NDJSON lines) go through the one entry door.
  const json = recs.filter((r) => r[0] === 0x4a).map((r) => recordToEntry(r, build));
  assert.deepEqual(json.map((e) => [e.level, e.module, e.message]), [['ERROR', 'PUMP', 'json line'], ['INFO', 'APP', 'no level, indented'], ['INFO', 'APP', 'level inside a string: "level": "ERROR"'], ['INFO', 'APP', '{broken json'], ['INFO', 'APP', '{' + 'x'.repeat(119)]]);
});

test('codec: a 1 MB line is cut at max_line_bytes (rest discarded, truncated) in one push or split across many', () => {
  const opts = { ...OPTS, maxLineBytes: 1024 * 1024, maxMessageBytes: 16 * 1024 };
  const huge = Buffer.concat([b('[ERROR] '), Buffer.alloc(1536 * 1024, 'é'), b('\nnext line\n'), Buffer.alloc(1024 * 1024 - 1, 'y'), b('\nlast')]);
  const whole = both(opts, [huge]);
  assert.ok(whole.native.equals(whole.js));
  assert.deepEqual(whole.nativeCounters, { lines: 4, records: 4, filtered: 0, cut: 1 });
  const recs = records(whole.native).map((r) => JSON.parse(r.toString('utf8', 1)));
  assert.equal(recs[0].level, 'ERROR');
  assert.equal(recs[0].truncated, true);
  assert.ok(Buffer.byteLength(recs[0].message) <= 16 * 1024);
  assert.equal(recs[1].message, 'next line');
  assert.equal(recs[2].truncated, true, 'a line under max_line_bytes is still cut at max_message_bytes');
  assert.equal(recs[3].message, 'last');
  const random = rng(7);
  const split = both(opts, splitAt(huge, Array.from({ length: 25 }, () => Math.floor(random() * huge.length))));
  assert.equal(split.native.length, split.js.length);
  assert.ok(split.native.equals(split.js));
});

test('codec fuzz: random hostile bytes give identical output native vs JS (200 seeded cases)', () => {
  const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x22, 0x5c, 0x7b, 0x7f, 0x80, 0x9f, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x3c, 0x3e, 0x5b, 0x5d, 0x3a, 0x20];
  const words = ['ERROR ', '[WARN] ', '<13>', 'tag: ', '[mod] ', '{"level":"warn"}', 'é', '😀', '\r\n'];
  for (let seed = 1; seed <= 200; seed++) {
    const random = rng(seed);
    const parts: Buffer[] = [];
    const n = 1 + Math.floor(random() * 300);
    for (let i = 0; i < n; i++) {
      const r = random();
      if (r < 0.4) parts.push(Buffer.from([interesting[Math.floor(random() * interesting.length)]!]));
      else if (r < 0.6) parts.push(b(words[Math.floor(random() * words.length)]!));
      else parts.push(Buffer.from([Math.floor(random() * 256)]));
    }
    const bytes = Buffer.concat(parts);
    const opts = { ...OPTS, maxLineBytes: 16 + Math.floor(random() * 200), maxMessageBytes: 8 + Math.floor(random() * 100), minLevel: random() < 0.5 ? 'DEBUG' as const : 'WARN' as const };
    const cuts = Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * bytes.length));
    const r = both(opts, splitAt(bytes, cuts));
    assert.ok(r.native.equals(r.js), `seed ${seed}: native and JS differ\n${r.native.toString('latin1')}\n---\n${r.js.toString('latin1')}`);
    assert.deepEqual(r.nativeCounters, r.jsCounters, `seed ${seed}`);
  }
});
