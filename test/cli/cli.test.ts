import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/agent.ts';
import { loadCommands } from '../../cli/commands/index.ts';

test('every command has usage text; --help exits 0 with it; unknown command and bad flags exit 2', async () => {
  // Usage texts checked in-process (one process per command is slow on a loaded 2-core machine);
  // the --help path itself is checked on real processes below.
  const COMMANDS = await loadCommands();
  for (const c of COMMANDS) assert.match(c.usage, new RegExp(`^logloom ${c.name}\\b`), c.name);
  const [help, top, unknown, badFlag, version] = await Promise.all([
    runCli(['send', '--help']),
    runCli(['--help']),
    runCli(['frobnicate']),
    runCli(['check-config', '--colour']),
    runCli(['--version']),
  ]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: logloom send /);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c.name} `, 'm'));
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /Unknown option '--colour'/);
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
