import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { agentStatus, startAgent } from '../forward/helpers.ts';
import { tempDir } from '../helpers/agent.ts';
import { until, waitForLines } from '../helpers/wait.ts';
import { rng } from '../helpers/rng.ts';

/** Debian's systemd-journal-remote (toolchain/bootstrap.sh installs it) writes real journal files. */
const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const BOOT = '0123456789abcdef0123456789abcdef';
let mono = 1000;

/** One entry in the journal export format; a value with a newline uses the binary form. */
function exportEntry(fields: Record<string, string>, realtimeUs: number): Buffer {
  const parts: Buffer[] = [Buffer.from(`__REALTIME_TIMESTAMP=${realtimeUs}\n__MONOTONIC_TIMESTAMP=${mono++}\n_BOOT_ID=${BOOT}\n`)];
  for (const [k, v] of Object.entries(fields)) {
    if (!v.includes('\n')) parts.push(Buffer.from(`${k}=${v}\n`));
    else {
      const data = Buffer.from(v);
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(data.length));
      parts.push(Buffer.from(`${k}\n`), size, data, Buffer.from('\n'));
    }
  }
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** Appends entries to DIR/journal/remote.journal through systemd-journal-remote. */
function writeJournal(dir: string, entries: { fields: Record<string, string>; us: number }[]): void {
  mkdirSync(`${dir}/journal`, { recursive: true });
  const input = `${dir}/export-${mono}.bin`;
  writeFileSync(input, Buffer.concat(entries.map((e) => exportEntry(e.fields, e.us))));
  execFileSync(JOURNAL_REMOTE, [`--output=${dir}/journal/remote.journal`, input], { stdio: ['ignore', 'ignore', 'pipe'] });
}

const config = `  inputs:
    - type: journald
      directory: DIR/journal
      read_from: beginning
      commit_interval: 50ms
  plugins:
    enabled: [sink_file]
    config:
      sink_file:
        path: DIR/out.ndjson
        format: json
`;
type Out = { level: string; module: string; message: string; timestamp: string; source: string; fields: Record<string, unknown> };
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Out);
const T0 = Date.UTC(2026, 10, 30, 17, 30, 1) * 1000;

test('journald: real journal files from systemd-journal-remote; priority → level, SYSLOG_IDENTIFIER → module, fields kept, followed live, and a restart resumes after the kept cursor', async () => {
  const dir = tempDir();
  writeJournal(dir, [
    { fields: { MESSAGE: 'pressure too high', PRIORITY: '3', SYSLOG_IDENTIFIER: 'pumpd', _PID: '42', _SYSTEMD_UNIT: 'pumpd.service', _HOSTNAME: 'gw-7' }, us: T0 },
    { fields: { MESSAGE: 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x', PRIORITY: '2', _COMM: 'python3' }, us: T0 + 1000 },
    { fields: { MESSAGE: 'link up', PRIORITY: '6', SYSLOG_IDENTIFIER: 'kernel', _TRANSPORT: 'kernel' }, us: T0 + 2000 },
  ]);
  let agent = await startAgent(config, dir);
  try {
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 3, 30_000));
    assert.deepEqual([out[0]!.level, out[0]!.module, out[0]!.message, out[0]!.timestamp], ['ERROR', 'PUMPD', 'pressure too high', '2026-11-30T17:30:01.000Z']);
    assert.deepEqual([out[0]!.fields._PID, out[0]!.fields._SYSTEMD_UNIT, out[0]!.fields._HOSTNAME, out[0]!.fields.SYSLOG_IDENTIFIER], ['42', 'pumpd.service', 'gw-7', 'pumpd']);
    assert.equal(out[0]!.source, `journald:${dir}/journal`);
    assert.deepEqual([out[1]!.level, out[1]!.module], ['ERROR', 'PYTHON3']);
    assert.equal(out[1]!.message, 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x');
    assert.deepEqual([out[2]!.level, out[2]!.module], ['INFO', 'KERNEL']);
    // Followed: entries appended while the agent runs arrive.
    writeJournal(dir, [{ fields: { MESSAGE: 'live 1', PRIORITY: '4', SYSLOG_IDENTIFIER: 'valved' }, us: T0 + 3000 }]);
    const live = parse(await waitForLines(`${dir}/out.ndjson`, 4, 30_000));
    assert.deepEqual([live[3]!.level, live[3]!.message], ['WARN', 'live 1']);
    await until(async () => (await agentStatus(agent.configPath)).inputs[0].in_flight === 0, 30_000, () => 'entries still in flight');
  } finally {
    await agent.stop();
  }
  const cursor = readFileSync(`${dir}/data/inputs/journald/journal-cursor`, 'utf8').trim();
  assert.match(cursor, /^s=[0-9a-f]+;i=4;/);
  writeJournal(dir, [
    { fields: { MESSAGE: 'while down', PRIORITY: '5', SYSLOG_IDENTIFIER: 'valved' }, us: T0 + 4000 },
    { fields: { MESSAGE: 'after restart', PRIORITY: '7', SYSLOG_IDENTIFIER: 'valved' }, us: T0 + 5000 },
  ]);
  agent = await startAgent(config, dir);
  try {
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 6, 30_000));
    assert.deepEqual(out.slice(4).map((e) => [e.level, e.message]), [['INFO', 'while down'], ['DEBUG', 'after restart']]);
    assert.equal(out.length, 6);
  } finally {
    await agent.stop();
  }
});

test('journald: a journalctl that cannot run is reported in status and retried, without stopping the agent', async () => {
  const dir = tempDir();
  const agent = await startAgent(config.replace('      read_from: beginning\n', '      read_from: beginning\n      journalctl: DIR/no-such-journalctl\n      restart_delay: 100ms\n'), dir);
  try {
    await until(async () => {
      const st = (await agentStatus(agent.configPath)).inputs[0];
      return st.restarts >= 2 && /no-such-journalctl/.test(st.last_error);
    }, 30_000, async () => `no restart reported: ${JSON.stringify((await agentStatus(agent.configPath)).inputs[0])}`);
  } finally {
    await agent.stop();
  }
});

test('journald: draftFromJournal takes any JSON object journalctl could print without throwing (seeded bounded fuzz)', async () => {
  const { draftFromJournal } = await import('../../agent/inputs/journald/index.ts');
  const rnd = rng(0x1234567);
  const values = () => {
    const r = rnd();
    if (r < 0.3) return String(Math.floor(rnd() * 1e17));
    if (r < 0.5) return Array.from({ length: Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 300) - 20);
    if (r < 0.6) return [String(rnd()), [1, 2], null];
    if (r < 0.7) return null;
    if (r < 0.8) return { nested: rnd() };
    return 'x'.repeat(Math.floor(rnd() * 50)) + '\n\u0000\u001b[31m';
  };
  const keys = ['MESSAGE', 'PRIORITY', 'SYSLOG_IDENTIFIER', '_COMM', '__REALTIME_TIMESTAMP', '__CURSOR', '_PID', '__proto__', 'constructor'];
  for (let i = 0; i < 5000; i++) {
    const o: Record<string, unknown> = {};
    for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++) o[keys[Math.floor(rnd() * keys.length)]!] = values();
    const d = draftFromJournal(o, 'journald');
    assert.equal(typeof d.message, 'string');
    assert.ok(d.timestamp === undefined || Number.isFinite(d.timestamp));
  }
});
