import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, tempDir } from '../helpers/agent.ts';
import { aggregatorFixture, forwardingAgentConfig, startAgent, waitStored } from '../forward/helpers.ts';
import { until } from '../helpers/wait.ts';
import { sendLines } from '../helpers/socket.ts';

const stored = (store: string, node: string) =>
  readdirSync(join(store, node)).filter((f) => f.endsWith('.ndjson')).sort()
    .flatMap((f) => readFileSync(join(store, node, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));

test('labels from a value, a file and a command (run once) reach the aggregator; an input\'s own labels win over the global ones', async () => {
  const agg = await aggregatorFixture();
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/fw-version`, '  4.2.1-rc3\n');
  writeFileSync(`${dir}/app.log`, 'from the file\n');
  // The command appends to a file each time it runs: it must run once for all inputs.
  const body = `  labels:
    site: plant-7
    firmware: { file: DIR/fw-version }
    board: { command: "echo run >> DIR/runs; echo rev-b" }
  inputs:
    - type: unix
      path: DIR/app.sock
` + forwardingAgentConfig(agg.port, { input: '      labels: { site: cabinet-3, role: pump }\n' }).replace('  inputs:\n', '');
  const agent = await startAgent(body, dir);
  try {
    await sendLines(`${dir}/app.sock`, ['from the socket']);
    await waitStored(agg.store, 'test-node', 2, 60_000);
    const byMsg = Object.fromEntries(stored(agg.store, 'test-node').map((e) => [e.message, e.labels]));
    assert.deepEqual(byMsg['from the socket'], { site: 'plant-7', firmware: '4.2.1-rc3', board: 'rev-b' });
    assert.deepEqual(byMsg['from the file'], { site: 'cabinet-3', firmware: '4.2.1-rc3', board: 'rev-b', role: 'pump' });
    assert.equal(readFileSync(`${dir}/runs`, 'utf8'), 'run\n');
  } finally {
    await agent.stop();
    await agg.stop();
  }
});

test('check-config names a bad label name, an unreadable label file and a mapping with two sources; a failing label command stops the start with its reason', async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/bad.yaml`, `logloom:
  labels:
    "bad name": x
    fw: { file: ${dir}/missing }
  inputs:
    - type: stdin
      labels: { a: { value: x, command: "true" } }
`);
  const r = await runCli(['check-config', '-c', `${dir}/bad.yaml`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /labels: label name "bad name"/);
  assert.match(r.stderr, /label fw\.file: cannot read .*missing: ENOENT/);
  assert.match(r.stderr, /inputs\[0\]\.labels: label a: expected exactly one of value, file, command/);
  writeFileSync(`${dir}/cmd.yaml`, `logloom:
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  control: { socket: ${dir}/run/control.sock }
  labels:
    serial: { command: "echo no such device >&2; exit 3" }
  inputs:
    - type: stdin
`);
  const p = startCli(['run', '-c', `${dir}/cmd.yaml`]);
  const { code } = await p.exited;
  assert.notEqual(code, 0);
  await until(async () => p.stderr.lines.some((l) => /labels\.serial: command `echo no such device >&2; exit 3`: exit 3: no such device/.test(l)), 5000, () => p.stderr.lines.join('\n'));
});
