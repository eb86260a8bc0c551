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
import { buildEntry } from '../../entry/build.ts';
import { draftFromObject, encodeEntry } from '../../entry/codec.ts';
import { rng } from '../helpers/rng.ts';

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
  assert.deepEqual(r.jsCounters, { lines: CORPUS.length, records: CORPUS.length - 7, filtered: 5, cut: 0, rejected: 2 });
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
  // NDJSON lines are entries too; a broken one is kept as text after an 'R' record saying why.
  const all = recs.filter((r) => r[0] === 0x45).map((r) => recordToEntry(r));
  const json = all.filter((e) => ['json line', 'no level, indented', 'level inside a string: "level": "ERROR"', '{broken json', '{' + 'x'.repeat(119)].includes(e.message));
  assert.deepEqual(json.map((e) => [e.level, e.module, e.message, e.truncated]), [['ERROR', 'PUMP', 'json line', undefined], ['INFO', 'APP', 'no level, indented', undefined], ['INFO', 'APP', 'level inside a string: "level": "ERROR"', undefined], ['INFO', 'APP', '{broken json', undefined], ['INFO', 'APP', '{' + 'x'.repeat(119), true]]);
  const rejects = recs.filter((r) => r[0] === 0x52).map((r) => r.toString('utf8', 1));
  assert.deepEqual(rejects, ['invalid JSON: expected a key at byte 1', 'invalid JSON: expected a key at byte 1']);
});

test('codec: a 1 MB line is cut at max_line_bytes (rest discarded, truncated) in one push or split across many', () => {
  const opts = { ...OPTS, maxLineBytes: 1024 * 1024, maxMessageBytes: 16 * 1024 };
  const huge = Buffer.concat([b('[ERROR] '), Buffer.alloc(1536 * 1024, 'é'), b('\nnext line\n'), Buffer.alloc(1024 * 1024 - 1, 'y'), b('\nlast')]);
  const whole = both(opts, [huge]);
  assert.ok(whole.native.equals(whole.js));
  assert.deepEqual(whole.nativeCounters, { lines: 4, records: 4, filtered: 0, cut: 1, rejected: 0 });
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

/** NDJSON lines that exercise every rule of entry/ndjson.ts, valid and not. */
const JSON_CORPUS: string[] = [
  '{"level":"warn","module":"pump","message":"plain","timestamp":"2026-03-04T05:06:07.891Z"}',
  '{"message":"zone","timestamp":"2026-03-04T05:06:07+02:30"}',
  '{"message":"zone hhmm","timestamp":"2026-03-04 05:06:07.5-0130"}',
  '{"message":"date only","timestamp":"2026-02-28"}',
  '{"message":"bad date","timestamp":"2026-02-30T00:00:00Z"}',
  '{"message":"not iso","timestamp":"Tue, 03 Mar 2026 10:00:00 GMT"}',
  '{"message":"long fraction","timestamp":"2026-03-04T05:06:07.123456789Z"}',
  '{"message":"seconds","timestamp":1767225600.5}',
  '{"message":"ms","timestamp":1767225600123}',
  '{"message":"negative","timestamp":-1.5}',
  '{"message":"huge ts","timestamp":1e300}',
  '{"message":"far ms","timestamp":8.64e15}',
  '{"message":"past range","timestamp":8.640000000000001e15}',
  '{"msg":"from msg","level":"ERR"}',
  '{"message":null,"msg":"null message falls back"}',
  '{"msg":null}',
  '{"message":null}',
  '{"message":{"b":[1,2.50,-0,1e21,1e-7,123e-9,"x\\u0000y"],"a":{"nested":true}, "dup":1, "dup":2}}',
  '{"message":12.0}',
  '{"message":true}',
  '{"message":[]}',
  '{"message":"esc \\"quote\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 lone \\ud800 \\udc00 end"}',
  '{"message":"C1 \\u0085 DEL \\u007f"}',
  '{"m\\u0065ssage":"escaped key","\\u006cevel":"error"}',
  '{"message":"first","message":"last wins","level":"debug","level":"fatal"}',
  '{"message":"args","args":[1,"two",null,true,{"k":"v"},[1,[2]],1e999,-1e999,-0,0.1,"\\u0001"]}',
  '{"message":"many args","args":[' + Array.from({ length: 40 }, (_, i) => i).join(',') + ']}',
  '{"message":"long arg","args":["' + 'é'.repeat(1100) + '","' + 'a'.repeat(1023) + '😀"]}',
  '{"message":"empty args","args":[]}',
  '{"message":"args not array","args":"x"}',
  '{"message":"fields","fields":{"b":1,"a":"x","10":true,"2":false,"z":null,"b":3,"obj":{"x":[1,2]},"big":1e999,"__proto__":"own","\\u0000ctl":"v\\n"}}',
  '{"message":"field keys cut","fields":{"' + 'k'.repeat(70) + 'A":1,"' + 'k'.repeat(70) + 'B":2}}',
  '{"message":"many fields","fields":{' + Array.from({ length: 300 }, (_, i) => `"f${i}":${i}`).join(',') + '}}',
  '{"message":"null fields","fields":{"a":null}}',
  '{"message":"fields not object","fields":[1]}',
  '{"message":"lang","lang_key":"pump.pressure_high","args":[3]}',
  '{"message":"bad lang","lang_key":"has space"}',
  '{"message":"source from line","source":"sensor\\n1"}',
  '{"message":"truncated flag","truncated":true}',
  '{"message":"module unicode","module":"pümp😀xyzabcdefghijklmnop"}',
  '{"message":"module empty","module":""}',
  '{"message":"level unicode","level":"ınfo"}',
  '{"message":"node and seq are ours","node":"spoof","seq":7}',
  '  \t{"message":"leading space"}  ',
  '{"message":"trailing garbage"} x',
  '{"message":"raw tab\tin string"}',
  '{"message":"unterminated}',
  '{"message":01}',
  '{"message":1.}',
  '{"message":-}',
  '{"a":tru}',
  '{"a" 1}',
  '{"a":1,}',
  '{"a":[1,]}',
  '{"a":"\\x"}',
  '{"a":"\\u12g4"}',
  '{}',
  '{"message":' + '['.repeat(63) + ']'.repeat(63) + '}',
  '{"message":' + '['.repeat(64) + ']'.repeat(64) + '}',
  '{"message":' + '['.repeat(70) + ']'.repeat(70) + '}',
  '{"message":"x","fields":' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + '}',
  '{"message":"' + 'x'.repeat(300) + '"}',
];

test('codec NDJSON corpus: native and JS give identical records, rejects and counters (formats auto, json, text)', () => {
  const bytes = Buffer.from(JSON_CORPUS.map((l) => l + '\n').join('') + 'plain after json\n', 'utf8');
  for (const format of ['auto', 'json', 'text'] as const) {
    for (const source of ['', 'tcp:10.0.0.1:5']) {
      const opts = { ...OPTS, maxMessageBytes: 256, minLevel: 'DEBUG' as const, format, source };
      const r = both(opts, [bytes]);
      assert.deepEqual(r.nativeCounters, r.jsCounters, format);
      const n = records(r.native).map((x) => x.toString('utf8'));
      const j = records(r.js).map((x) => x.toString('utf8'));
      for (let i = 0; i < Math.max(n.length, j.length); i++) assert.equal(n[i], j[i], `${format}: record ${i}`);
    }
  }
  const recs = records(both({ ...OPTS, maxMessageBytes: 256, minLevel: 'DEBUG' }, [bytes]).native).map((x) => x.toString('utf8'));
  const entries = recs.filter((x) => x[0] === 'E').map((x) => JSON.parse(x.slice(1)));
  const by = (m: string) => entries.find((e) => e.message === m);
  assert.equal(by('plain').timestamp, '2026-03-04T05:06:07.891Z');
  assert.equal(by('zone').timestamp, '2026-03-04T02:36:07.000Z');
  assert.equal(by('zone hhmm').timestamp, '2026-03-04T06:36:07.500Z');
  assert.equal(by('seconds').timestamp, '2026-01-01T00:00:00.500Z');
  assert.equal(by('bad date').timestamp, new Date(T0).toISOString(), 'not a date: the arrival time');
  assert.equal(by('far ms').timestamp, '+275760-09-13T00:00:00.000Z');
  assert.equal(by('null message falls back').level, 'INFO');
  assert.equal(by('last wins').level, 'FATAL');
  assert.equal(by('escaped key').level, 'ERROR');
  assert.ok(by('{"b":[1,2.5,0,1e+21,1e-7,1.23e-7,"x\\u0000y"],"a":{"nested":true},"dup":1,"dup":2}'), 'canonical text of a non-string message');
  assert.deepEqual(by('args').args, [1, 'two', 'null', 'true', '{"k":"v"}', '[1,[2]]', 'Infinity', '-Infinity', 0, 0.1, '\\x01']);
  assert.deepEqual(Object.keys(by('fields').fields), ['2', '10', 'b', 'a', 'obj', 'big', '__proto__', '\\x00ctl']);
  assert.equal(by('fields').fields.b, 3);
  assert.equal(by('fields').fields.big, null);
  assert.equal(Object.keys(by('many fields').fields).length, 64);
  assert.equal(by('null fields').fields, undefined);
  assert.equal(by('lang').lang_key, 'pump.pressure_high');
  assert.equal(by('module unicode').module, 'P_MP__XYZABCDEFG');
  assert.equal(by('module empty').module, 'APP');
  assert.equal(by('level unicode').level, 'INFO');
  assert.equal(by('node and seq are ours').node, 'gw-7');
  const rejects = recs.filter((x) => x[0] === 'R').map((x) => x.slice(1));
  assert.ok(rejects.includes('JSON nested deeper than 64 levels'));
  assert.ok(rejects.includes(`invalid JSON: control character in a string at byte ${'{"message":"raw tab\tin string"}'.indexOf('\t')}`), rejects.join('\n'));
  assert.ok(by('{"message":' + '['.repeat(70) + ']'.repeat(70) + '}'), 'a rejected line is kept as text');
  assert.ok(by('['.repeat(63) + ']'.repeat(63)), '64 levels of nesting (the entry object and 63 arrays) are kept as the canonical text');
  assert.ok(by('{"message":' + '['.repeat(64) + ']'.repeat(64) + '}'), '65 levels are rejected (kept as the line\'s text)');
});

test('codec NDJSON: ordinary lines give exactly what the entry door gives for JSON.parse of them', () => {
  const ordinary = JSON_CORPUS.slice(0, 4).concat(['{"level":"error","module":"net","message":"m","args":[1,"a"],"fields":{"k":"v","n":2},"lang_key":"x.y"}']);
  const build = { maxMessageBytes: 256, defaultLevel: OPTS.defaultLevel, defaultModule: OPTS.defaultModule, node: OPTS.node, source: OPTS.source };
  for (const line of ordinary) {
    const rec = records(new NativeLineCodec({ ...OPTS, maxMessageBytes: 256, minLevel: 'DEBUG' }).feed(b(line + '\n'), T0))[0]!;
    const o = JSON.parse(line);
    const expect = encodeEntry(buildEntry({ ...draftFromObject(o), receivedAt: T0, source: OPTS.source }, build));
    assert.equal(rec.toString('utf8', 1), expect, line);
  }
});

test('codec NDJSON fuzz: random and mutated JSON lines give identical output native vs JS (300 seeded cases)', () => {
  const random = rng(2026);
  const pick = <T,>(a: readonly T[]) => a[Math.floor(random() * a.length)]!;
  // Escaped and raw forms both: the C codec takes a string without escapes straight from the line
  // when sanitising leaves it as it is (raw C1 controls, DEL, separators and long texts do not).
  const strings = ['', 'a', 'é', '😀', '\\n', '\\u0000', '\\ud800', '\\ud83d\\ude00', '\\"', 'ERROR', '2026-01-01T00:00:00Z', '2026-01-01', '<13>x: y', '\\u0085',
    '\u0085', '\u2028', '\u202e', '\u007f', '¢ £', 'tab\there', 'k'.repeat(70), 'v'.repeat(1030), 'é'.repeat(600), 'info', 'pump', '2024-02-29T23:59:59.999Z', '2026-02-29T12:34:56.789Z', '0000-01-01T00:00:00.000Z', '2026-01-01t00:00:00.000z'];
  const numbers = ['0', '-0', '1', '1.5', '1e21', '1e-7', '-12.34e+5', '1e999', '123456789012345678901234567890', '0.1', '5e-324', '1767225600', '17672256001234'];
  const keys = ['timestamp', 'level', 'module', 'message', 'msg', 'lang_key', 'args', 'source', 'fields', 'truncated', 'seq', 'node', 'x', '0', '7', '__proto__', 'k'.repeat(70), 'k\u0085', 'x\u007f'];
  const value = (d: number): string => {
    const r = random();
    if (d > 3 || r < 0.35) return `"${pick(strings)}"`;
    if (r < 0.6) return pick(numbers);
    if (r < 0.7) return pick(['true', 'false', 'null']);
    if (r < 0.85) return `[${Array.from({ length: Math.floor(random() * 4) }, () => value(d + 1)).join(pick([',', ' , ']))}]`;
    return `{${Array.from({ length: Math.floor(random() * 4) }, () => `"${pick(keys)}":${value(d + 1)}`).join(',')}}`;
  };
  for (let seed = 0; seed < 300; seed++) {
    const lines: string[] = [];
    for (let i = 0; i < 8; i++) {
      let line = `{${Array.from({ length: Math.floor(random() * 7) }, () => `"${pick(keys)}" :${value(0)}`).join(',')}}`;
      // Mutations: a byte changed, removed or cut, whitespace inserted.
      const m = random();
      const at = Math.floor(random() * line.length);
      if (m < 0.15) line = line.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + line.slice(at + 1);
      else if (m < 0.25) line = line.slice(0, at) + line.slice(at + 1);
      else if (m < 0.3) line = line.slice(0, at);
      else if (m < 0.4) line = line.slice(0, at) + pick([' ', '\t', '\r']) + line.slice(at);
      lines.push(line.replaceAll('\n', ''));
    }
    const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
    const opts = { ...OPTS, maxMessageBytes: 8 + Math.floor(random() * 200), minLevel: pick(['DEBUG', 'INFO', 'WARN'] as const), format: pick(['auto', 'json'] as const) };
    const r = both(opts, [bytes]);
    assert.ok(r.native.equals(r.js), `seed ${seed}: native and JS differ\n${records(r.native).join('\n')}\n---\n${records(r.js).join('\n')}`);
    assert.deepEqual(r.nativeCounters, r.jsCounters, `seed ${seed}`);
  }
});

test('native codec: feedTransient gives the bytes feed gives, chunk by chunk (each read before the next call), and a Buffer of its own past its shared output', () => {
  const bytes = corpusBytes();
  const chunks = splitAt(bytes, [7, 100, 101, 400]);
  const a = new NativeLineCodec(OPTS);
  const t = new NativeLineCodec(OPTS);
  for (const [i, c] of chunks.entries()) assert.deepEqual(Buffer.from(t.feedTransient(c, T0 + i)), a.feed(c, T0 + i));
  // Larger than the shared output (256 KiB): the records come in a Buffer of their own.
  const big = Buffer.from(Array.from({ length: 4000 }, (_, i) => `[WARN] [net] line ${i} ${'x'.repeat(80)}`).join('\n') + '\n');
  const out = t.feedTransient(big, T0);
  assert.ok(out.length > 256 * 1024);
  assert.deepEqual(out, a.feed(big, T0));
});
