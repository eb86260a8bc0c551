/**
 * Deeply nested JSON (a ~10 KB line of 5,000 nested brackets) used to kill the agent with a stack
 * overflow. Against a real agent, over its tcp and unix inputs: the line is rejected (counted,
 * kept as text), the agent keeps running, and the lines after it arrive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import { once } from 'node:events';
import { runCli, startAgent, type RunningAgent } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { until, waitForLines } from '../helpers/wait.ts';

const nested = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);
const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** The hostile lines: nesting as the message, as args, as a field, objects inside objects. */
const HOSTILE = [
  `{"message":${nested(5000)}}`,
  `{"message":"m","args":${nested(5000)}}`,
  `{"message":"m","fields":{"deep":${nested(5000)}}}`,
  `{"message":"m","fields":${objects(5000)}}`,
];

const sink = `  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`;

async function inputStatus(agent: RunningAgent) {
  const r = await runCli(['status', '--json', '--socket', agent.control]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).inputs[0];
}

async function expectSurvived(agent: RunningAgent): Promise<void> {
  // Every hostile line is kept as text (nothing accepted is lost), then the good one arrives.
  const lines = (await waitForLines(`${agent.dir}/out.log`, HOSTILE.length + 1)).map((l) => JSON.parse(l));
  assert.equal(lines.at(-1).message, 'still serving');
  assert.equal(agent.proc.exitCode, null, 'the agent is still running');
  for (const e of lines.slice(0, -1)) assert.equal(typeof e.message, 'string');
  const st = await inputStatus(agent);
  assert.equal(st.rejected, HOSTILE.length, 'each nested line is counted as rejected');
  assert.match(st.last_reject, /nested deeper than \d+ levels/);
}

test('unix input: 5,000 nested arrays or objects (message, args, field) are rejected and counted; the agent keeps serving', async () => {
  const agent = await startAgent(`  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n${sink}`);
  try {
    assert.ok(HOSTILE.every((l) => l.length >= 10_000));
    await sendLines(agent.ingest, HOSTILE);
    await sendLines(agent.ingest, ['{"message":"still serving"}']);
    await expectSurvived(agent);
  } finally {
    await agent.stop();
  }
});

test('tcp input (format json): 5,000 nested arrays or objects are rejected and counted; the agent keeps serving', async () => {
  const agent = await startAgent(`  inputs:\n    - type: tcp\n      listen: 127.0.0.1:0\n      format: json\n${sink}`);
  try {
    const port = Number(/:(\d+)$/.exec((await inputStatus(agent)).listening)![1]);
    const c = createConnection(port, '127.0.0.1');
    await once(c, 'connect');
    c.end(HOSTILE.map((l) => `${l}\n`).join('') + '{"message":"still serving"}\n');
    await once(c, 'close');
    await expectSurvived(agent);
  } finally {
    await agent.stop();
  }
});

test('tcp input on the records path (ring buffer, sink_tcp): nested lines are rejected in the codec, counted, kept as text; the agent keeps serving', async () => {
  // A real receiver for sink_tcp: collects NDJSON lines.
  const got: string[] = [];
  let buf = '';
  const receiver = createServer((s) => s.on('data', (d) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    got.push(...parts);
  }));
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const rport = (receiver.address() as { port: number }).port;
  const agent = await startAgent(`  buffer:\n    native: on\n  inputs:\n    - type: tcp\n      listen: 127.0.0.1:0\n      format: json\n  plugins:\n    enabled: [sink_tcp]\n    config:\n      sink_tcp: { host: 127.0.0.1, port: ${rport} }\n`);
  try {
    const st0 = await inputStatus(agent);
    const port = Number(/:(\d+)$/.exec(st0.listening)![1]);
    const c = createConnection(port, '127.0.0.1');
    await once(c, 'connect');
    c.end(HOSTILE.map((l) => `${l}\n`).join('') + 'not json at all\n{"message":"still serving","level":"warn"}\n');
    await once(c, 'close');
    await until(async () => got.length >= HOSTILE.length + 2, 20_000, () => `received ${got.length}: ${got.join('\n').slice(0, 500)}`);
    const entries = got.map((l) => JSON.parse(l));
    assert.equal(entries.at(-1).message, 'still serving');
    assert.equal(entries.at(-1).level, 'WARN');
    assert.equal(entries.at(-2).message, 'not json at all');
    assert.equal(agent.proc.exitCode, null);
    const st = await inputStatus(agent);
    assert.equal(st.rejected, HOSTILE.length + 1, 'each nested line and the non-JSON line are counted');
    assert.equal(st.parse_errors, HOSTILE.length + 1);
    assert.equal(st.lines, HOSTILE.length + 2);
    const full = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
    assert.ok(full.buffer.ring, 'the ring buffer (the addon is built by make unit)');
    assert.ok(full.buffer.records_path >= HOSTILE.length + 2, 'the entries took the records path');
  } finally {
    await agent.stop();
    receiver.close();
  }
});
