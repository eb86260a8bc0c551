import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startAgent, startCli, tempDir } from '../helpers/agent.ts';
import { until, waitForLines } from '../helpers/wait.ts';
import { PtyPair, WAIT } from '../helpers/pty.ts';
import { LineStage } from '../../agent/processing/stage.ts';
import type { EntryDraft } from '../../entry/build.ts';
import { MULTILINE_MODES, type MultilineMode } from '../../agent/processing/multiline/modes.ts';
import { rng } from '../helpers/rng.ts';

const GO_PANIC = [
  '2026/11/30 17:30:01 starting pump loop',
  'panic: runtime error: index out of range [3] with length 3',
  '',
  'goroutine 1 [running]:',
  'main.readSensor(...)',
  '\t/src/pump/main.go:42',
  'main.main()',
  '\t/src/pump/main.go:17 +0x1d',
  'exit status 2',
  '2026/11/30 17:30:05 restarted',
];

test('stdin input with multiline go: a panic and its goroutine dump are one entry; the last group is sent at end of input', async () => {
  const dir = tempDir();
  const config = join(dir, 'logloom.yaml');
  writeFileSync(config, `logloom:
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  control: { socket: ${dir}/run/control.sock }
  inputs:
    - type: stdin
      parser: { format: go, time_zone: UTC }
      multiline: { mode: go, flush_timeout: 10s }
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: ${dir}/out.log, format: json }
`);
  const agent = startCli(['run', '-c', config], { stdin: 'pipe' });
  try {
    await agent.stderr.waitFor(/started on node/);
    agent.proc.stdin!.end(GO_PANIC.join('\n') + '\n');
    // Every line read (the last one still held: flush_timeout is long), then stop: stopping flushes it.
    await until(async () => {
      const st = JSON.parse((await runCli(['status', '--json', '--socket', `${dir}/run/control.sock`])).stdout || '{}');
      return st.inputs?.[0]?.eof === true && st.inputs[0].lines === GO_PANIC.length - 1;
    }, 30_000, () => 'stdin not read to its end');
    agent.proc.kill('SIGTERM');
    await agent.exited;
    const out = (await waitForLines(`${dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(out.map((e) => e.message.split('\n').length), [1, 7, 1]);
    // `panic:` reads as a level word (FATAL) like any `LEVEL:` prefix; the empty line is not kept.
    assert.equal(out[1].level, 'FATAL');
    assert.match(out[1].message, /^runtime error: index out of range \[3\] with length 3\ngoroutine 1 \[running\]:\nmain\.readSensor\(\.\.\.\)\n\t\/src\/pump\/main\.go:42\n/);
    assert.equal(out[2].message, 'restarted');
  } finally {
    agent.proc.kill('SIGKILL');
  }
});

test('serial input (a real pty) with a custom start pattern: a multi-line device dump is one entry', async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const agent = await startAgent(`  inputs:
    - type: serial
      path: ${pty.device}
      multiline: { mode: custom, start: '^\\[\\d{2}:\\d{2}:\\d{2}\\] ', flush_timeout: 300ms }
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(/open at 115200/, WAIT);
    await pty.write('[17:30:01] ERROR modem: register dump\r\n  r0=0x0001\r\n  r1=0x00ff\r\n[17:30:02] INFO modem: reset\r\n');
    const out = (await waitForLines(`${dir}/out.log`, 2, WAIT)).map((l) => JSON.parse(l));
    assert.equal(out[0].message.split('\n').length, 3);
    assert.match(out[0].message, /register dump\n  r0=0x0001\n  r1=0x00ff$/);
    assert.match(out[1].message, /reset$/);
  } finally {
    await agent.stop();
  }
});

test('multiline modes conserve lines: random streams through each mode come out as entries whose lines add up, in order (seeded bounded fuzz)', () => {
  const POOL = ['plain line', 'Traceback (most recent call last):', '  File "x.py", line 1', 'ValueError: x', '\tat a.B(B.java:1)', 'Caused by: x.Y: z', 'java.lang.IllegalStateException: boom',
    '... 3 more', 'panic: boom', 'goroutine 1 [running]:', 'main.main()', '\t/x.go:1', 'exit status 2', '', '   ', 'During handling of the above exception, another exception occurred:', '[x] start'];
  const rnd = rng(0xbeef);
  for (const mode of Object.keys(MULTILINE_MODES) as MultilineMode[]) {
    for (let round = 0; round < 50; round++) {
      const lines = Array.from({ length: 1 + Math.floor(rnd() * 200) }, (_, i) => `${POOL[Math.floor(rnd() * POOL.length)]}#${i}`);
      const out: EntryDraft[] = [];
      const stage = new LineStage({ multiline: { mode, start: mode === 'custom' ? '^\\[x\\]' : undefined, continuation: undefined, flush_timeout: 60_000, max_lines: 1 + Math.floor(rnd() * 20), max_bytes: 64 * 1024 } }, (d) => (out.push(d), true));
      for (const l of lines) stage.emit({ message: l, line: l, source: 's' });
      stage.end();
      const joined = out.flatMap((d) => String(d.message).split('\n'));
      assert.deepEqual(joined, lines, `${mode} round ${round}`);
    }
  }
});
