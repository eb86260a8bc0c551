import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { runCli, tempDir } from '../helpers/agent.ts';
import { agentStatus, startAgent } from '../forward/helpers.ts';
import { waitForLines } from '../helpers/wait.ts';
import { sendLines } from '../helpers/socket.ts';
import { connect } from 'node:net';
import { consoleLine } from '../../entry/render.ts';
import { buildEntry } from '../../entry/build.ts';

const sink = `  plugins:
    enabled: [sink_file]
    config:
      sink_file:
        path: DIR/out.ndjson
        format: json
`;
const entries = (out: string[]) => out.map((l) => JSON.parse(l) as { timestamp: string; level: string; module: string; message: string; fields?: Record<string, unknown> });

const PY_LOG = [
  '2026-11-30 17:30:01,123 - pump - ERROR - pressure high',
  'Traceback (most recent call last):',
  '  File "/opt/app/pump.py", line 12, in read',
  '    raise ValueError("bad sensor")',
  'ValueError: bad sensor',
  '',
  'During handling of the above exception, another exception occurred:',
  '',
  'Traceback (most recent call last):',
  '  File "/opt/app/pump.py", line 14, in read',
  'RuntimeError: giving up',
  '2026-11-30 17:30:02,000 - valve - INFO - closed',
  'this line is in no known layout',
].join('\n') + '\n';

test('file input with parser python + multiline python: a traceback is one ERROR entry with real newlines; an unparsed line is kept and counted; a restart repeats nothing', async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, PY_LOG);
  const body = `  inputs:
    - type: file
      path: DIR/app.log
      poll_interval: 50ms
      parser: { format: python, time_zone: UTC }
      multiline: { mode: python, flush_timeout: 200ms }
${sink}`;
  let agent = await startAgent(body, dir);
  try {
    const out = entries(await waitForLines(`${dir}/out.ndjson`, 3, 60_000));
    assert.equal(out.length, 3);
    const [tb, closed, odd] = out as [typeof out[0], typeof out[0], typeof out[0]];
    assert.equal(tb.level, 'ERROR');
    assert.equal(tb.module, 'PUMP');
    assert.equal(tb.timestamp, '2026-11-30T17:30:01.123Z');
    assert.equal(tb.message.split('\n').length, 9, tb.message);
    assert.match(tb.message, /^pressure high\nTraceback \(most recent call last\):\n  File "\/opt\/app\/pump.py", line 12, in read\n/);
    assert.match(tb.message, /\nRuntimeError: giving up$/);
    assert.deepEqual([closed.level, closed.module, closed.message, closed.timestamp], ['INFO', 'VALVE', 'closed', '2026-11-30T17:30:02.000Z']);
    assert.equal(odd.message, 'this line is in no known layout');
    const st = (await agentStatus(agent.configPath)).inputs[0];
    assert.equal(st.parsed, 2);
    assert.equal(st.unparsed, 1);
    assert.equal(st.multiline_lines, 9);
  } finally {
    await agent.stop();
  }
  // The positions were committed over the joined entries: a restart sends only what is new.
  appendFileSync(`${dir}/app.log`, '2026-11-30 17:30:03,000 - valve - WARN - reopened\n');
  agent = await startAgent(body, dir);
  try {
    const out = entries(await waitForLines(`${dir}/out.ndjson`, 4, 60_000));
    assert.deepEqual(out.slice(3).map((e) => [e.level, e.message]), [['WARN', 'reopened']]);
  } finally {
    await agent.stop();
  }
});

test('unix input with parser java + multiline java; tcp input with a custom start pattern + regex parser and a level table', async () => {
  const dir = tempDir();
  const body = `  inputs:
    - type: unix
      path: DIR/app.sock
      parser: { format: java, time_zone: Europe/Berlin }
      multiline: { mode: java, flush_timeout: 200ms }
    - type: tcp
      name: fw
      listen: 127.0.0.1:0
      format: text
      parser: { format: regex, pattern: '^<(?<level>\\w)> (?<module>\\w+): (?<message>.*)$', levels: { E: ERROR, W: WARN } }
      multiline: { mode: custom, start: '^<\\w> ', flush_timeout: 200ms }
${sink}`;
  const agent = await startAgent(body, dir);
  try {
    await sendLines(`${dir}/app.sock`, [
      '2026-11-30 17:30:01.123 [main] ERROR com.example.PumpService - read failed',
      'java.lang.IllegalStateException: sensor offline',
      '\tat com.example.PumpService.read(PumpService.java:42)',
      '\tat com.example.Main.main(Main.java:7)',
      'Caused by: java.io.IOException: EIO',
      '\t... 2 more',
      '2026-11-30 17:30:02.000 [main] INFO  com.example.Main - retrying',
    ]);
    const out = entries(await waitForLines(`${dir}/out.ndjson`, 2, 60_000));
    assert.equal(out[0]!.level, 'ERROR');
    assert.equal(out[0]!.module, 'PUMPSERVICE');
    assert.equal(out[0]!.timestamp, '2026-11-30T16:30:01.123Z');
    assert.equal(out[0]!.message.split('\n').length, 6);
    assert.equal(out[0]!.fields?.logger, 'com.example.PumpService');
    assert.equal(out[1]!.message, 'retrying');
    const st = await agentStatus(agent.configPath);
    const port = Number(/:(\d+)$/.exec(st.inputs[1].listening)![1]);
    await new Promise<void>((resolve, reject) => {
      const c = connect(port, '127.0.0.1', () => c.end('<E> modem: AT timeout\n  at dial()\n  at main()\n<W> modem: retry\n'));
      c.on('error', reject);
      c.on('close', () => resolve());
    });
    const more = entries(await waitForLines(`${dir}/out.ndjson`, 4, 60_000)).slice(2);
    assert.deepEqual(more.map((e) => [e.level, e.module, e.message]), [['ERROR', 'MODEM', 'AT timeout\n  at dial()\n  at main()'], ['WARN', 'MODEM', 'retry']]);
  } finally {
    await agent.stop();
  }
});

test('check-config names a bad pattern, an unknown zone, a bad time format and a custom mode without patterns', async () => {
  const dir = tempDir();
  const path = `${dir}/bad.yaml`;
  writeFileSync(path, `logloom:
  inputs:
    - type: tcp
      listen: 127.0.0.1:0
      parser: { format: regex, pattern: "(?<x>[" , time_zone: Mars/Olympus }
    - type: stdin
      parser: { format: json, time_format: "yyyy" }
      multiline: { mode: custom }
    - type: kmsg
      parser: { format: json }
`);
  const r = await runCli(['check-config', '-c', path]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.yaml:5:\d+: inputs\[0\]\.parser\.pattern: not a valid regular expression/);
  assert.match(r.stderr, /inputs\[0\]\.parser\.time_zone: unknown time zone "Mars\/Olympus"/);
  assert.match(r.stderr, /inputs\[1\]\.parser\.time_format: expected a strptime format/);
  assert.match(r.stderr, /inputs\[1\]\.multiline: mode custom needs start, continuation or both/);
  assert.match(r.stderr, /inputs\[2\]\.parser: unknown key/);
});

test('a joined message keeps real newlines while every other control is escaped; the text rendering indents its continuation lines', () => {
  const opts = { maxMessageBytes: 1024, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'n' };
  const joined = buildEntry({ message: 'first\n  at x()\n\x1b[31mred\r', multiline: true }, opts);
  assert.equal(joined.message, 'first\n  at x()\n\\x1b[31mred\\r');
  const single = buildEntry({ message: 'a\nb' }, opts);
  assert.equal(single.message, 'a\\nb');
  const line = consoleLine(joined, joined.message, false);
  assert.equal(line.split('\n').length, 3);
  for (const cont of line.split('\n').slice(1)) assert.match(cont, /^    /);
});
