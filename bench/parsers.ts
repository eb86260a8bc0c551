/**
 * The line stage's cost: lines per second through each parser and each multiline mode, against
 * the same lines taken without parsing (draftFromLine only: what an input that runs the stage
 * does with each line before handing it over). An input runs the stage only when it has
 * `parser:` or `multiline:` (or `labels:`); without them its bytes go through the codec straight
 * into the ring (bench/codec.ts, bench/network-inputs.ts), so "unparsed" here is not that path. The
 * stage runs in this process with a counting `next` in place of the pipeline, so the figures are
 * the stage's own cost per line. Median of 5 runs; the machine is shared, so take them as rough.
 * Re-run: node bench/parsers.ts [lines]
 */
import { draftFromLine } from '../agent/inputs/common.ts';
import { LineStage, type LineStageConfig } from '../agent/processing/stage.ts';
import type { EntryDraft } from '../entry/build.ts';
import { fmt, header, median } from './lib.ts';

const N = Number(process.argv[2] ?? 100_000);
const RUNS = 5;

const SAMPLES: Record<string, (i: number) => string> = {
  plain: (i) => `sensor reading ${i} value=${(i * 7) % 1000} status=ok`,
  regex: (i) => `2026-11-30 17:30:01 ERROR [PUMP] reading ${i} failed`,
  logfmt: (i) => `time=2026-11-30T17:30:01.123Z level=warn msg="reading ${i}" pump=3 ok=true`,
  json: (i) => `{"ts":"2026-11-30T17:30:01.123Z","level":"info","msg":"reading ${i}","pump":3}`,
  cri: (i) => `2026-11-30T17:30:01.123456789Z stdout F reading ${i}`,
  python: (i) => `2026-11-30 17:30:01,123 - pump - ERROR - reading ${i} failed`,
  java: (i) => `2026-11-30 17:30:01.123 [main] ERROR com.example.PumpService - reading ${i} failed`,
  go: (i) => `2026/11/30 17:30:01.123456 main.go:42: [ERROR] reading ${i} failed`,
  nginx: (i) => `203.0.113.7 - - [30/Nov/2026:17:30:01 +0100] "GET /api/${i} HTTP/1.1" 200 157 "-" "curl/8.5.0"`,
};

/** Every 10th record is followed by a 6-line trace in the mode's language. */
const TRACES: Record<string, string[]> = {
  python: ['Traceback (most recent call last):', '  File "/app/x.py", line 3, in f', '    g()', '  File "/app/x.py", line 9, in g', '    raise ValueError("x")', 'ValueError: x'],
  java: ['java.lang.IllegalStateException: x', '\tat a.B.c(B.java:1)', '\tat a.B.d(B.java:2)', '\tat a.B.e(B.java:3)', 'Caused by: java.io.IOException: y', '\t... 3 more'],
  go: ['panic: x', '', 'goroutine 1 [running]:', 'main.main()', '\t/app/main.go:5 +0x1d', 'exit status 2'],
  custom: ['  at one', '  at two', '  at three', '  at four', '  at five', '  at six'],
};

function lines(make: (i: number) => string, trace?: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; out.length < N; i++) {
    out.push(Buffer.from(make(i)));
    if (trace && i % 10 === 0) for (const t of trace) out.push(Buffer.from(t));
  }
  return out.slice(0, N);
}

function run(input: Buffer[], cfg: LineStageConfig | undefined): number {
  let n = 0;
  const next = (_d: EntryDraft) => (n++, true);
  const stage = cfg ? new LineStage(cfg, next) : undefined;
  const emit = stage ? (d: EntryDraft) => stage.emit(d) : next;
  const reject = () => {};
  const t0 = process.hrtime.bigint();
  for (const line of input) {
    const d = draftFromLine(line, false, 'bench', reject);
    if (d) emit(d);
  }
  stage?.end();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (n === 0) throw new Error('nothing came out');
  return input.length / s;
}

function row(name: string, input: Buffer[], cfg: LineStageConfig | undefined, baseline: number): number {
  run(input, cfg); // warm-up
  const rate = median(Array.from({ length: RUNS }, () => run(input, cfg)));
  console.log(`${name.padEnd(28)} ${fmt(rate).padStart(12)} lines/s  ${baseline ? `${fmt((rate / baseline) * 100)}% of unparsed` : ''}`);
  return rate;
}

header(`line stage: lines/s per parser and multiline mode, ${fmt(N)} lines, median of ${RUNS}`, `node bench/parsers.ts ${N}`);
const parserCfg = (format: string, extra: Record<string, unknown> = {}) => ({ parser: { format, time_zone: 'UTC', levels: {}, ...extra } }) as LineStageConfig;
for (const [format, make] of Object.entries(SAMPLES)) {
  if (format === 'plain') continue;
  const input = lines(make);
  const base = row(`${format}: unparsed`, input, undefined, 0);
  const cfg = format === 'regex'
    ? parserCfg('regex', { pattern: '^(?<time>\\S+ \\S+) (?<level>\\w+) \\[(?<module>[^\\]]+)\\] (?<message>.*)$' })
    : parserCfg(format);
  row(`${format}: parser`, input, cfg, base);
}
for (const [mode, trace] of Object.entries(TRACES)) {
  const input = lines(SAMPLES.plain!, trace);
  const base = row(`multiline ${mode}: unparsed`, input, undefined, 0);
  const multiline = { mode, flush_timeout: 1000, max_lines: 500, max_bytes: 65536, ...(mode === 'custom' ? { continuation: '^\\s' } : {}) };
  row(`multiline ${mode}`, input, { multiline } as LineStageConfig, base);
}
