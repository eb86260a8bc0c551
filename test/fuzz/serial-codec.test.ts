/**
 * Fuzzing the serial console format (native/addon/src/console.c against its JS twin,
 * agent/buffer/console/): console-like lines, mutated, and random bytes, joined by the separators
 * a port may use, read in random pieces at random times, with the input's idle flushes at random
 * points and random options. Both must give the same bytes, counters and pending state after
 * every call, and neither may crash. And the hand-written matchers of the console forms must
 * accept exactly what the regular expressions they replaced accepted, with the same parts: those
 * expressions are kept here as the reference. The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { JsLineCodec, type CodecOptions, type SerialCodecOptions } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { parseConsoleLine, type ParsedLine } from '../../agent/buffer/console/parse.ts';
import { bootStage, isEndMarker, oopsKind } from '../../agent/buffer/console/oops.ts';
import { levelFromSyslogSeverity, parseLevel, type Level } from '../../lib/level.ts';
import { consoleLine, fuzzer, withSeed } from './fuzz.ts';

test('fuzz: serial console bytes through the C codec and its JS twin (random reads, times, idle flushes and options): the same records, counters and pending state, no crash', async (t) => {
  const f = fuzzer(t, 5, 7);
  await withSeed(f, async () => {
    const deadline = Date.now() + f.budgetMs;
    let cases = 0;
    let bytes = 0;
    while (Date.now() < deadline) {
      const encoding = f.pick(['utf-8', 'latin1'] as const);
      const sep = f.pick(['auto', 'auto', 'auto', ';;', '\0', '\r\n', 'é']);
      const serial: SerialCodecOptions = {
        separator: sep === 'auto' ? 'auto' : Buffer.from(sep, encoding === 'latin1' ? 'latin1' : 'utf8'), encoding, parse: f.chance(0.8),
        groupOops: f.chance(0.8), detectBoot: f.chance(0.8), oopsMaxLines: 2 + f.int(8), lineNotes: f.chance(0.3),
      };
      const o: CodecOptions = {
        maxLineBytes: 16 + f.int(f.chance(0.5) ? 60 : 400), maxMessageBytes: 8 + f.int(300), minLevel: f.pick(['DEBUG', 'DEBUG', 'WARN'] as const),
        defaultLevel: f.pick(['INFO', 'ERROR'] as const), defaultModule: f.pick(['serial', 'ß']), node: 'gw', source: f.pick(['serial:/dev/ttyUSB0', '']), format: 'serial', serial,
      };
      const js = new JsLineCodec(o);
      const nat = new NativeLineCodec(o);
      const lines = Array.from({ length: 1 + f.int(24) }, () => (f.chance(0.9) ? Buffer.from(consoleLine(f), encoding === 'latin1' ? 'latin1' : 'utf8') : f.bytes(f.int(40))));
      const seps = sep === 'auto' ? ['\n', '\r\n', '\r', '\n\n', '\r\r\n'] : [sep, sep, '\n'];
      const stream = Buffer.concat(lines.flatMap((l) => [l, Buffer.from(f.pick(seps), encoding === 'latin1' ? 'latin1' : 'utf8')]));
      let wall = Date.UTC(2025 + f.int(2), f.int(12), 1 + f.int(28)) + f.r();
      let mono = f.r() * 1e6;
      const steps: string[] = [];
      const same = (a: Buffer, b: Buffer, what: string) => {
        assert.ok(a.equals(b), `${what} differs: ${JSON.stringify(o)}\n${steps.join('\n')}\nC:  ${a.toString()}\nJS: ${b.toString()}`);
        assert.deepEqual(nat.formatCounters(), js.formatCounters(), steps.join('\n'));
        bytes += a.length;
      };
      for (let off = 0; off < stream.length; ) {
        const chunk = stream.subarray(off, off + 1 + f.int(f.chance(0.5) ? 8 : 60));
        off += chunk.length;
        wall += f.int(5) + (f.chance(0.2) ? f.r() : 0);
        // Reads of one burst share a time; performance.now() never goes back.
        mono += f.chance(0.5) ? 0 : f.chance(0.5) ? f.r() * 0.003 : f.r() * 100;
        steps.push(`feedAt ${JSON.stringify(chunk.toString('latin1'))} ${wall} ${mono}`);
        same(nat.feedAt(chunk, wall, mono), js.feedAt(chunk, wall, mono), 'feedAt');
        if (f.chance(0.15)) {
          const what = f.pick(['line', 'group', 'close'] as const);
          steps.push(`flush ${what}`);
          same(nat.flush(what), js.flush(what), `flush ${what}`);
        }
      }
      same(nat.end(0), js.end(0), 'end');
      assert.deepEqual(nat.counters(), js.counters(), steps.join('\n'));
      cases++;
    }
    t.diagnostic(`${cases} streams, ${bytes} bytes of records`);
  });
});

// The console forms as regular expressions, as the serial input matched them before the codec did.
const ANSI = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;
const KERNEL = /^(?:<(\d{1,3})>)?(?:\[\s*(\d{1,10}\.\d{1,9})\]\s?)?/;
const LOGLOOM = /^\[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[([A-Za-z0-9_.-]{1,16})\] (\d{4}-\d{2}-\d{2}T\S+) ?(.*)$/s;
const ESP_IDF = /^([EWIDV]) \((\d+)\) ([^:\s][^:]{0,31}): ?(.*)$/s;
const ESP_LEVEL: Record<string, Level> = { E: 'ERROR', W: 'WARN', I: 'INFO', D: 'DEBUG', V: 'DEBUG' };
const ZEPHYR = /^\[(\d{2}:\d{2}:\d{2}\.\d{3},\d{3})\] <(err|wrn|inf|dbg)> ([\w.-]{1,32}): ?(.*)$/s;
const ZEPHYR_LEVEL: Record<string, Level> = { err: 'ERROR', wrn: 'WARN', inf: 'INFO', dbg: 'DEBUG' };
const LEVEL_WORDS = 'TRACE|DEBUG|DBG|INFO|INF|NOTICE|WARN|WARNING|WRN|ERROR|ERR|CRIT|CRITICAL|ALERT|FATAL|PANIC|EMERG';
const TIME_PREFIX = String.raw`(?:(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\s+)?`;
const LEVEL_BRACKETED = new RegExp(`^${TIME_PREFIX}[\\[<](${LEVEL_WORDS})[\\]>]:?\\s*(.*)$`, 'is');
const LEVEL_COLON = new RegExp(`^${TIME_PREFIX}(${LEVEL_WORDS}):\\s*(.*)$`, 'is');
const LEVEL_WORD = new RegExp(`^${TIME_PREFIX}(${LEVEL_WORDS})\\s+(.*)$`, 's');
const MODULE_TAG = /^\[([A-Za-z][A-Za-z0-9_.-]{0,15})\]\s*(.*)$/s;
const START: [RegExp, string][] = [[/^Kernel panic\b/, 'panic'], [/^(?:Internal error: )?Oops\b/, 'oops'], [/^Unable to handle kernel\b/, 'oops'], [/^BUG:/, 'bug'], [/^Call Trace:/i, 'call_trace']];
const END = /^-+\[ end (?:trace|Kernel panic)\b.*\]-+\s*$/;
const BOOT: [RegExp, string][] = [[/^Linux version \d/, 'kernel'], [/^U-Boot (?:SPL )?\d{4}\.\d{2}/, 'bootloader']];

function byRegex(raw: string): ParsedLine {
  const text = raw.includes('\x1b') ? raw.replace(ANSI, '') : raw;
  const k = KERNEL.exec(text)!;
  if (k[0].length > 0) {
    const out: ParsedLine = { message: text.slice(k[0].length), format: 'kernel' };
    if (k[1] !== undefined) out.level = levelFromSyslogSeverity(Number(k[1]) & 7);
    if (k[2] !== undefined) out.kernelTime = Number(k[2]);
    return out;
  }
  let m: RegExpExecArray | null;
  if (text.charCodeAt(0) === 0x5b) {
    if ((m = LOGLOOM.exec(text))) return { level: m[1] as Level, module: m[2], deviceTime: m[3], message: m[4]!, format: 'logloom' };
    if ((m = ZEPHYR.exec(text))) return { deviceTime: m[1], level: ZEPHYR_LEVEL[m[2]!], module: m[3], message: m[4]!, format: 'zephyr' };
  } else if ((m = ESP_IDF.exec(text))) {
    return { level: ESP_LEVEL[m[1]!], module: m[3]!.trim(), deviceTime: m[2], message: m[4]!, format: 'esp-idf' };
  }
  m = LEVEL_BRACKETED.exec(text) ?? LEVEL_COLON.exec(text) ?? LEVEL_WORD.exec(text);
  if (!m) return { message: text };
  const out: ParsedLine = { level: parseLevel(m[2]!), message: m[3]!, format: 'level' };
  if (m[1]) out.deviceTime = m[1];
  const mod = MODULE_TAG.exec(out.message);
  if (mod) {
    out.module = mod[1];
    out.message = mod[2]!;
  }
  return out;
}

test('fuzz: the hand-written console matchers accept exactly what the regular expressions they replaced accepted, with the same parts', async (t) => {
  const f = fuzzer(t, 3, 8);
  await withSeed(f, async () => {
    const deadline = Date.now() + f.budgetMs;
    let lines = 0;
    const seen = new Map<string, number>();
    const saw = (k: string | undefined) => k && seen.set(k, (seen.get(k) ?? 0) + 1);
    while (Date.now() < deadline) {
      for (let i = 0; i < 500; i++, lines++) {
        const s = f.chance(0.95) ? consoleLine(f) : f.bytes(f.int(30)).toString(f.chance(0.5) ? 'latin1' : 'utf8');
        const want = byRegex(s);
        assert.ok(isDeepStrictEqual(parseConsoleLine(s), want), `${JSON.stringify(s)}: ${JSON.stringify(parseConsoleLine(s))} != ${JSON.stringify(want)}`);
        saw(want.format);
        const kind = START.find(([re]) => re.test(s))?.[1];
        assert.equal(oopsKind(s), kind, JSON.stringify(s));
        saw(kind);
        assert.equal(isEndMarker(s), END.test(s), JSON.stringify(s));
        if (END.test(s)) saw('end');
        const stage = BOOT.find(([re]) => re.test(s))?.[1];
        assert.equal(bootStage(s), stage, JSON.stringify(s));
        saw(stage);
      }
    }
    t.diagnostic(`${lines} lines; matched: ${[...seen].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    // The generator reaches every form (a matcher never tried proves nothing).
    for (const k of ['kernel', 'logloom', 'zephyr', 'esp-idf', 'level', 'panic', 'oops', 'bug', 'call_trace', 'end', 'kernel', 'bootloader']) assert.ok(seen.has(k), `never matched: ${k}`);
  });
});
