/**
 * check-config says ok only if `run` will start: what run refuses at start-up is reported by
 * check-config with its position, and run refuses the same configuration with the same words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startAgent, tempDir } from '../helpers/agent.ts';

function config(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `logloom:\n  runtime_dir: ${dir}/run\n  data_dir: ${dir}/data\n  control:\n    socket: ${dir}/run/control.sock\n${body}`);
  return path;
}

test('check-config refuses a mistyped plugin name (did you mean), a port over 65535, aggregator TLS without cert and key, unreadable TLS files; run refuses the same', async () => {
  const dir = tempDir('logloom-check-');
  const bad = config(dir, 'bad.yaml', [
    '  inputs:',
    '    - type: syslog',
    '      listen: [udp:127.0.0.1:99999]',
    '    - type: tcp',
    '      listen: 127.0.0.1:0',
    '      tls: { cert: /nonexistent/server.pem, key: /nonexistent/server.key }',
    '  plugins:',
    '    enabled: [filter_levle, sink_console]',
    '  aggregator:',
    '    tls:',
    '      enabled: true',
    '',
  ].join('\n'));
  const r = await runCli(['check-config', '-c', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${bad}:8:16: inputs\\[0\\]\\.listen\\[0\\]: expected udp:host:port.*got "udp:127\\.0\\.0\\.1:99999"`));
  assert.match(r.stderr, new RegExp(`${bad}:11:20: inputs\\[1\\]\\.tls\\.cert: cannot read "/nonexistent/server\\.pem": no such file`));
  assert.match(r.stderr, /inputs\[1\]\.tls\.key: cannot read "\/nonexistent\/server\.key": no such file/);
  assert.match(r.stderr, new RegExp(`${bad}:13:15: plugins\\.enabled\\[0\\]: no plugin named "filter_levle" \\(did you mean 'filter_level'\\?\\)`));
  assert.match(r.stderr, /aggregator\.tls\.cert: required when tls\.enabled is true/);
  assert.match(r.stderr, /aggregator\.tls\.key: required when tls\.enabled is true/);
  assert.doesNotMatch(r.stdout, /ok/);

  const run = await runCli(['run', '-c', bad]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /plugins\.enabled\[0\]: no plugin named "filter_levle"/);
  assert.match(run.stderr, /udp:127\.0\.0\.1:99999/);
});

test('plugins.missing: warn runs without the unknown plugin; a token file not yet provisioned is a warning, not a refusal', async () => {
  const dir = tempDir('logloom-check-');
  const body = [
    '  inputs:',
    '    - type: unix',
    `      path: ${dir}/run/ingest.sock`,
    '  plugins:',
    '    missing: warn',
    '    enabled: [filter_levle, log_aggregator_remote]',
    '    config:',
    '      log_aggregator_remote:',
    '        addresses: [127.0.0.1:1]',
    `        token_file: ${dir}/token`,
    '',
  ].join('\n');
  const path = config(dir, 'warn.yaml', body);
  const r = await runCli(['check-config', '-c', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /: ok \(2 warnings\)$/m);
  assert.match(r.stderr, new RegExp(`${path}:\\d+:\\d+: warning: plugins\\.enabled\\[0\\]: no plugin named "filter_levle"`));
  assert.match(r.stderr, /warning: plugins\.config\.log_aggregator_remote\.token_file: cannot read ".*\/token": no such file; the forwarder cannot authenticate until it can/);
  const agent = await startAgent(body.replaceAll(dir, 'DIR'), dir);
  try {
    await agent.stderr.waitFor(/\[WARN\] .*warning: plugins\.enabled\[0\]: no plugin named "filter_levle"/);
    await agent.stderr.waitFor(/\[WARN\] Failed to load plugin 'filter_levle': not found/);
  } finally {
    await agent.stop();
  }
});
