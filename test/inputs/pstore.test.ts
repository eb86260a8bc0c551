import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { agentStatus, startAgent } from '../forward/helpers.ts';
import { tempDir } from '../helpers/agent.ts';
import { until, waitForLines } from '../helpers/wait.ts';
import { inputToFile } from '../helpers/config.ts';

const PANIC = `<0>[  812.345678] Kernel panic - not syncing: Fatal exception in interrupt
<4>[  812.345700] CPU: 1 PID: 0 Comm: swapper/1 Tainted: G      D           6.1.0 #1
<4>[  812.345710] Call trace:
<4>[  812.345720]  dump_backtrace+0x0/0x1e0
<4>[  812.345730]  panic+0x16c/0x334
`;

const config = (extra = '') => inputToFile('pstore', `      path: DIR/pstore\n${extra}`);
type Out = { level: string; module: string; message: string; timestamp: string; fields: Record<string, unknown> };
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Out);
const lineCount = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).length : 0);

test('pstore: each record of a pstore-like directory becomes one FATAL entry with its whole text, once across restarts; a new crash under a reused name is sent', async () => {
  const dir = tempDir();
  mkdirSync(`${dir}/pstore`);
  writeFileSync(`${dir}/pstore/dmesg-ramoops-0`, PANIC);
  writeFileSync(`${dir}/pstore/console-ramoops-0`, 'U-Boot 2023.01\nStarting kernel ...\n[    0.000000] Booting Linux\n');
  writeFileSync(`${dir}/pstore/dmesg-ramoops-1.enc.z`, deflateSync(Buffer.from('Oops: 0000 [#1] SMP\nRIP: 0010:foo+0x10/0x20\n')));
  writeFileSync(`${dir}/pstore/ftrace-ramoops-0`, 'not taken by default');
  let agent = await startAgent(config(), dir);
  try {
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 3, 30_000));
    const byRecord = Object.fromEntries(out.map((e) => [e.fields.record, e]));
    assert.deepEqual(Object.keys(byRecord).sort(), ['console-ramoops-0', 'dmesg-ramoops-0', 'dmesg-ramoops-1.enc.z']);
    const panic = byRecord['dmesg-ramoops-0']!;
    assert.equal(panic.level, 'FATAL');
    assert.equal(panic.module, 'PSTORE');
    assert.equal(panic.message, PANIC.trimEnd()); // whole text, real newlines
    assert.deepEqual([panic.fields.event, panic.fields.backend], ['pstore_dmesg', 'ramoops']);
    assert.equal(byRecord['dmesg-ramoops-1.enc.z']!.message, 'Oops: 0000 [#1] SMP\nRIP: 0010:foo+0x10/0x20');
    assert.equal(byRecord['console-ramoops-0']!.fields.event, 'pstore_console');
    await until(async () => (await agentStatus(agent.configPath)).inputs[0].sent === 3, 30_000, () => 'records not marked sent');
  } finally {
    await agent.stop();
  }
  agent = await startAgent(config(), dir);
  try {
    const st = (await agentStatus(agent.configPath)).inputs[0];
    assert.equal(st.already_sent, 3);
    assert.equal(lineCount(`${dir}/out.ndjson`), 3);
  } finally {
    await agent.stop();
  }
  // The next crash reuses the name with other content: it is a new record.
  writeFileSync(`${dir}/pstore/dmesg-ramoops-0`, PANIC.replace('812', '999'));
  agent = await startAgent(config(), dir);
  try {
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 4, 30_000));
    assert.match(out[3]!.message, /\[  999\.345678\] Kernel panic/);
  } finally {
    await agent.stop();
  }
});

test('pstore: delete: true removes each record once its entry is delivered; a missing pstore directory is no error', async () => {
  const dir = tempDir();
  mkdirSync(`${dir}/pstore`);
  writeFileSync(`${dir}/pstore/dmesg-efi-171234567801001`, PANIC);
  const agent = await startAgent(config('      delete: true\n    - type: pstore\n      name: absent\n      path: DIR/no-such-dir\n'), dir);
  try {
    await waitForLines(`${dir}/out.ndjson`, 1, 30_000);
    await until(async () => !existsSync(`${dir}/pstore/dmesg-efi-171234567801001`), 30_000, () => 'record not deleted');
    const st = await agentStatus(agent.configPath);
    assert.equal(st.inputs[0].deleted, 1);
    assert.equal(st.inputs[1].records, 0);
  } finally {
    await agent.stop();
  }
});
