import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createParser } from '../../agent/processing/parser.ts';
import type { ParserConfig } from '../../agent/processing/schema.ts';
import { PARSER_NAMES } from '../../agent/processing/parsers/index.ts';
import { checkTimeFormat, checkTimeZone, TimeReader } from '../../agent/processing/timestamp.ts';
import { rng } from '../helpers/rng.ts';

const cfg = (c: Partial<ParserConfig> & { format: ParserConfig['format'] }): ParserConfig => ({ time_zone: 'UTC', levels: {}, ...c }) as ParserConfig;
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

test('regex parser: named captures fill time, level, module, message; other captures become fields; no match is undefined', () => {
  const p = createParser(cfg({ format: 'regex', pattern: '^(?<time>\\S+ \\S+) (?<level>\\w+) \\[(?<module>[^\\]]+)\\] (?<message>.*) pump=(?<pump>\\d+)$' }));
  const r = p.parse('2026-11-30 17:30:01 ERROR [PUMP] pressure high pump=3')!;
  assert.equal(iso(r.timestamp), '2026-11-30T17:30:01.000Z');
  assert.equal(r.level, 'ERROR');
  assert.equal(r.module, 'PUMP');
  assert.equal(r.message, 'pressure high');
  assert.deepEqual(r.fields, { pump: '3' });
  assert.equal(p.parse('something else'), undefined);
});

test('level words map through the configured table first, then the built-in spellings', () => {
  const p = createParser(cfg({ format: 'regex', pattern: '^(?<level>\\S+) (?<message>.*)$', levels: { E: 'ERROR', chatty: 'DEBUG', warning: 'ERROR' } }));
  assert.equal(p.parse('E disk full')!.level, 'ERROR');
  assert.equal(p.parse('CHATTY hello')!.level, 'DEBUG');
  assert.equal(p.parse('warning overrides the built-in')!.level, 'ERROR');
  assert.equal(p.parse('crit built-in alias')!.level, 'ERROR');
  assert.equal(p.parse('notice built-in')!.level, 'INFO');
  // An unknown word is no level: the field keeps it, the input's default applies.
  const r = p.parse('whatever text')!;
  assert.equal(r.level, undefined);
  assert.equal(r.fields!.level, 'whatever');
});

test('logfmt parser: slog-style pairs, quoted values, bare words ignored; a line without pairs does not parse', () => {
  const p = createParser(cfg({ format: 'logfmt' }));
  const r = p.parse('time=2026-11-30T17:30:01.5Z level=warn msg="pump stalled" pump=3 ok=true')!;
  assert.equal(iso(r.timestamp), '2026-11-30T17:30:01.500Z');
  assert.equal(r.level, 'WARN');
  assert.equal(r.message, 'pump stalled');
  assert.deepEqual(r.fields, { pump: '3', ok: true });
  assert.equal(p.parse('no pairs at all'), undefined);
  // A __proto__ key cannot reach any prototype.
  const q = p.parse('__proto__=x msg=hi')!;
  assert.equal(q.message, 'hi');
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('json parser: keys, numeric pino levels, nested values as JSON text; non-objects do not parse', () => {
  const p = createParser(cfg({ format: 'json' }));
  const r = p.parse('{"ts":1764523801.25,"level":50,"logger":"pump","msg":"stalled","ctx":{"id":3}}')!;
  assert.equal(iso(r.timestamp), '2025-11-30T17:30:01.250Z');
  assert.equal(r.level, 'ERROR');
  assert.equal(r.module, 'pump');
  assert.equal(r.message, 'stalled');
  assert.deepEqual(r.fields, { ctx: '{"id":3}' });
  assert.equal(p.parse('[1,2]'), undefined);
  assert.equal(p.parse('{broken'), undefined);
  const k = createParser(cfg({ format: 'json', message_key: 'text', level_key: 'sev', time_key: 'when', time_format: '%d.%m.%Y %H:%M', levels: { E: 'ERROR' } }));
  const q = k.parse('{"when":"30.11.2026 17:30","sev":"E","text":"x","msg":"kept"}')!;
  assert.equal(iso(q.timestamp), '2026-11-30T17:30:00.000Z');
  assert.equal(q.level, 'ERROR');
  assert.equal(q.message, 'x');
  assert.deepEqual(q.fields, { msg: 'kept' });
});

test('cri parser: time, stream, partial flag', () => {
  const p = createParser(cfg({ format: 'cri' }));
  const r = p.parse('2026-11-30T17:30:01.123456789Z stderr F boom')!;
  assert.equal(iso(r.timestamp), '2026-11-30T17:30:01.123Z');
  assert.equal(r.message, 'boom');
  assert.deepEqual(r.fields, { stream: 'stderr' });
  assert.equal(r.partial, false);
  assert.equal(p.parse('2026-11-30T17:30:01Z stdout P part')!.partial, true);
  assert.equal(p.parse('not cri'), undefined);
});

test('python parser: basicConfig default, cookbook layout, asctime with [MODULE]; asctime read in the configured zone', () => {
  const p = createParser(cfg({ format: 'python', time_zone: 'Europe/Berlin' }));
  const a = p.parse('WARNING:pump.valve:stuck open')!;
  assert.deepEqual([a.level, a.module, a.message], ['WARN', 'pump.valve', 'stuck open']);
  const b = p.parse('2026-11-30 17:30:01,123 - pump - ERROR - pressure high')!;
  assert.deepEqual([iso(b.timestamp), b.level, b.module, b.message], ['2026-11-30T16:30:01.123Z', 'ERROR', 'pump', 'pressure high']);
  const c = p.parse('2026-11-30 17:30:01 ERROR [PUMP] pressure high')!;
  assert.deepEqual([iso(c.timestamp), c.level, c.module, c.message], ['2026-11-30T16:30:01.000Z', 'ERROR', 'PUMP', 'pressure high']);
  // Summer time: Berlin is UTC+2.
  assert.equal(iso(p.parse('2026-07-01 12:00:00,000 - x - INFO - y')!.timestamp), '2026-07-01T10:00:00.000Z');
  assert.equal(p.parse('plain text'), undefined);
});

test('java parser: logback, log4j and Spring Boot layouts; the logger\'s last segment is the module', () => {
  const p = createParser(cfg({ format: 'java' }));
  const a = p.parse('2026-11-30 17:30:01.123 [main] ERROR com.example.pump.PumpService - pressure high')!;
  assert.deepEqual([iso(a.timestamp), a.level, a.module, a.message], ['2026-11-30T17:30:01.123Z', 'ERROR', 'PumpService', 'pressure high']);
  assert.deepEqual(a.fields, { thread: 'main', logger: 'com.example.pump.PumpService' });
  const b = p.parse('2026-11-30 17:30:01,123 WARN  [pool-1-thread-2] org.acme.Valve: stuck')!;
  assert.deepEqual([b.level, b.module, b.message], ['WARN', 'Valve', 'stuck']);
  const c = p.parse('2026-11-30T17:30:01.123+01:00 ERROR 4242 --- [           main] c.e.Pump                                 : failed')!;
  assert.deepEqual([iso(c.timestamp), c.level, c.module, c.message], ['2026-11-30T16:30:01.123Z', 'ERROR', 'Pump', 'failed']);
  const d = p.parse('17:30:01.123 [main] INFO  c.e.App - started')!;
  assert.equal(d.level, 'INFO');
  assert.match(iso(d.timestamp)!, /T17:30:01\.123Z$/);
});

test('go parser: std log with microseconds, file:line and a level prefix; slog text', () => {
  const p = createParser(cfg({ format: 'go' }));
  const a = p.parse('2026/11/30 17:30:01.123456 main.go:42: [ERROR] [PUMP] stalled')!;
  assert.deepEqual([iso(a.timestamp), a.level, a.module, a.message], ['2026-11-30T17:30:01.123Z', 'ERROR', 'PUMP', 'stalled']);
  assert.deepEqual(a.fields, { file: 'main.go:42' });
  const b = p.parse('2026/11/30 17:30:01 hello')!;
  assert.deepEqual([b.level, b.message], [undefined, 'hello']);
  const c = p.parse('time=2026-11-30T17:30:01.000Z level=WARN msg="disk low" free=3%')!;
  assert.deepEqual([c.level, c.message, c.fields], ['WARN', 'disk low', { free: '3%' }]);
});

test('nginx/apache parser: combined and common formats; level from the status', () => {
  const p = createParser(cfg({ format: 'nginx' }));
  const a = p.parse('203.0.113.7 - alice [30/Nov/2026:17:30:01 +0100] "GET /api/v1?x=1 HTTP/1.1" 502 157 "-" "curl/8.5.0"')!;
  assert.equal(iso(a.timestamp), '2026-11-30T16:30:01.000Z');
  assert.equal(a.level, 'ERROR');
  assert.equal(a.message, 'GET /api/v1?x=1 HTTP/1.1');
  assert.deepEqual(a.fields, { remote: '203.0.113.7', user: 'alice', method: 'GET', path: '/api/v1?x=1', protocol: 'HTTP/1.1', status: 502, bytes: 157, agent: 'curl/8.5.0' });
  const b = createParser(cfg({ format: 'apache' })).parse('::1 - - [30/Nov/2026:17:30:01 +0000] "POST /x HTTP/1.0" 404 -')!;
  assert.deepEqual([b.level, b.fields!.status, b.fields!.bytes], ['WARN', 404, 0]);
});

test('timestamps: strptime formats, zones, epoch forms; bad formats and zones are named', () => {
  assert.equal(iso(new TimeReader('%d/%b/%Y:%H:%M:%S %z', 'UTC').read('30/Nov/2026:17:30:01 -0500')), '2026-11-30T22:30:01.000Z');
  assert.equal(iso(new TimeReader('%Y-%m-%dT%H:%M:%S.%f', 'Asia/Shanghai').read('2026-11-30T17:30:01.5')), '2026-11-30T09:30:01.500Z');
  assert.equal(iso(new TimeReader('epoch_ms', 'UTC').read('1764523801250')), '2025-11-30T17:30:01.250Z');
  assert.equal(iso(new TimeReader(undefined, 'UTC+8').read('2026-11-30 17:30:01')), '2026-11-30T09:30:01.000Z');
  assert.equal(new TimeReader('%Y-%m-%d', 'UTC').read('yesterday'), undefined);
  assert.match(checkTimeFormat('%Y-%Q')!, /unknown directive %Q/);
  assert.match(checkTimeFormat('yyyy-MM-dd')!, /strptime/);
  assert.equal(checkTimeFormat('%Y-%m-%d %H:%M:%S,%L'), undefined);
  assert.match(checkTimeZone('Mars/Olympus')!, /unknown time zone "Mars\/Olympus"/);
  assert.equal(checkTimeZone('America/New_York'), undefined);
});

/** xorshift32: the same sequence for a seed, so a failure is reproducible. */
const SAMPLES = [
  '2026-11-30 17:30:01,123 - pump - ERROR - pressure high',
  '203.0.113.7 - alice [30/Nov/2026:17:30:01 +0100] "GET /api HTTP/1.1" 502 157 "-" "curl/8.5.0"',
  'time=2026-11-30T17:30:01Z level=warn msg="a \\"quoted\\" value" k=v',
  '{"ts":1,"level":"E","msg":"x","a":{"b":[1,2]}}',
  '2026-11-30T17:30:01.123Z stdout P part',
  '2026/11/30 17:30:01.123456 main.go:42: [ERROR] [PUMP] stalled',
  '2026-11-30T17:30:01.123+01:00 ERROR 4242 --- [main] c.e.Pump : failed',
];
const ALPHABET = ' =\\"{}[]:,-/.%0123456789aZ\t\u00e9\u{1F600}\u0000\r\n';

test('every parser survives seeded random and mutated lines without throwing (bounded fuzz)', () => {
  for (const format of PARSER_NAMES) {
    const p = createParser(cfg({ format, pattern: format === 'regex' ? '^(?<time>\\S+) (?<level>\\S+) (?<message>.*)$' : undefined }));
    const next = rng(0x5eed + format.length);
    for (let i = 0; i < 3000; i++) {
      let line: string;
      if (i % 2 === 0) {
        const n = Math.floor(next() * 200);
        line = Array.from({ length: n }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join('');
      } else {
        const chars = [...SAMPLES[Math.floor(next() * SAMPLES.length)]!];
        for (let k = 0; k < 4; k++) chars[Math.floor(next() * chars.length)] = ALPHABET[Math.floor(next() * ALPHABET.length)]!;
        line = chars.join('');
      }
      const r = p.parse(line);
      if (r === undefined) continue;
      assert.ok(r.timestamp === undefined || Number.isFinite(r.timestamp), `${format}: ${JSON.stringify(line)}`);
      for (const v of Object.values(r.fields ?? {})) assert.ok(['string', 'number', 'boolean'].includes(typeof v), `${format}: field ${String(v)}`);
    }
  }
});

test('strptime fast path agrees with luxon on random times in several zones (seeded)', async () => {
  const { DateTime } = await import('luxon');
  const { strptimeToLuxon } = await import('../../agent/processing/timestamp.ts');
  const next = rng(0xd47e);
  const formats = ['%Y-%m-%d %H:%M:%S', '%d/%b/%Y:%H:%M:%S %z', '%m/%d/%y %I:%M:%S %p', '%Y%m%dT%H%M%S.%L', '%F %T,%L', '%e %B %Y %H:%M', '%Y.%j %H:%M:%S'];
  for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata']) {
    for (const format of formats) {
      const reader = new TimeReader(format, zone);
      const luxonFormat = strptimeToLuxon(format);
      for (let i = 0; i < 200; i++) {
        const ms = Date.UTC(1990, 0, 1) + Math.floor(next() * 50 * 365 * 86_400_000);
        const text = DateTime.fromMillis(ms, { zone }).toFormat(luxonFormat, { locale: 'en-US' });
        const expected = DateTime.fromFormat(text, luxonFormat, { zone, locale: 'en-US' });
        // Wall times that occur twice (the hour DST goes back): both readings are right; skip them.
        const other = expected.isValid ? DateTime.fromMillis(expected.toMillis() + 3_600_000, { zone }).toFormat(luxonFormat, { locale: 'en-US' }) : '';
        if (other === text) continue;
        assert.equal(reader.read(text), expected.isValid ? expected.toMillis() : undefined, `${zone} ${format} ${text}`);
      }
    }
  }
});
