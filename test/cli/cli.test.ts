import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/agent.ts';
import { COMMAND_NAMES } from '../helpers/commands.ts';

test('--help on every command exits 0 and prints its usage; unknown command and bad flags exit 2', async () => {
  for (const name of COMMAND_NAMES) {
    const r = await runCli([name, '--help']);
    assert.equal(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: logloom ${name}`), name);
  }
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const name of COMMAND_NAMES) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const badFlag = await runCli(['check-config', '--colour']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /Unknown option '--colour'/);
  const version = await runCli(['--version']);
  assert.match(version.stdout, /^logloom \d+\.\d+\.\d+ \(node 24\.21\.0, x64\)$/);
});

test('logloom demo: a synthetic device feeds the agent; lang-keyed entries render in the chosen language; rotation happens', async () => {
  const r = await runCli(['demo', '--count', '400', '--interval', '1', '--lang', 'zh']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[INFO\] \[AUTH\] \S+ 用户 alice 从 10\.0\.0\.7 登录$/m);
  assert.match(r.stdout, /^\[ERROR\] \[MODBUS\] \S+ 帧 0x[0-9a-f]+ 校验错误$/m);
  assert.match(r.stdout, /^\[INFO\] \[APP\] \S+ plain text line from the application$/m);
  assert.equal(r.stdout.split('\n').filter((l) => /^\[(DEBUG|INFO|WARN|ERROR)\] /.test(l)).length, 400);
  const dir = /working directory (\S+)/.exec(r.stderr)![1]!;
  const { readdirSync } = await import('node:fs');
  assert.ok(readdirSync(`${dir}/log`).includes('demo.log.1'), 'the 16 KiB demo file rotated');
});
