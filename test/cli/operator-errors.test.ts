/**
 * What an operator sees when they get something wrong at the command line: help for a command,
 * "did you mean", errors on stderr with a non-zero exit, each said once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startAgent, tempDir } from '../helpers/agent.ts';
import { closest } from '../../lib/suggest.ts';

test('logloom help run shows run\'s usage; a mistyped command gets "did you mean"', async () => {
  const [help, typo] = await Promise.all([runCli(['help', 'run']), runCli(['stauts'])]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: logloom run\b/);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown command 'stauts' \(did you mean 'status'\?\)/);
  assert.equal(closest('filter_levle', ['filter_level', 'filter_grep']), 'filter_level');
  assert.equal(closest('zzz', ['filter_level', 'status']), undefined);
});

test('lang errors go to stderr with exit 1: a language the agent has no catalogue for, a key with missing arguments', async () => {
  const missingArg = await runCli(['lang', 'get', 'demo.login', 'alice']);
  assert.equal(missingArg.code, 1);
  assert.equal(missingArg.stdout, '');
  assert.match(missingArg.stderr, /FORMAT ERROR/);
  const ok = await runCli(['lang', 'get', 'demo.login', 'alice', '10.0.0.7']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /alice/);
  const agent = await startAgent(`  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n`);
  try {
    const set = await runCli(['lang', 'set', 'xx', '--socket', agent.control]);
    assert.equal(set.code, 1);
    assert.match(set.stderr, /no catalogue for 'xx'/);
    const zh = await runCli(['lang', 'set', 'zh', '--socket', agent.control]);
    assert.equal(zh.code, 0, zh.stderr);
    assert.match(zh.stdout, /language: zh/);
  } finally {
    await agent.stop();
  }
  const sub = await runCli(['plugins', 'frob']);
  assert.equal(sub.code, 2);
  assert.doesNotMatch(sub.stderr, /plugins: plugins:/);
  assert.match(sub.stderr, /^logloom plugins: expected list/);
});

test('send: its usage names -c and --socket; without an agent it says how to point it at one', async () => {
  const dir = tempDir('logloom-send-');
  const help = await runCli(['send', '--help']);
  assert.match(help.stdout, /-c FILE \| --socket PATH/);
  const r = await runCli(['send', '--socket', join(dir, 'nothing.sock'), 'hello']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach the agent at .*nothing\.sock: no such socket .*-c FILE .*--socket PATH/);
});

test('aggregator token --out writes the token with mode 0600 and prints nothing secret', async () => {
  const dir = tempDir('logloom-token-');
  const out = join(dir, 'gw-0001.token');
  const r = await runCli(['aggregator', 'token', 'gw-0001', '--tokens', join(dir, 'tokens'), '--hash', 'sha256', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(statSync(out).mode & 0o777, 0o600);
  assert.match(readFileSync(out, 'utf8'), /^\S{20,}\n$/);
  assert.match(readFileSync(join(dir, 'tokens'), 'utf8'), /^gw-0001 sha256:/m);
});
