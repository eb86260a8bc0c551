import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../agent/config/load.ts';
import { formatIssue } from '../../lib/schema/validate.ts';
import { runCli, tempDir } from '../helpers/agent.ts';

function issues(text: string): string[] {
  return parseConfig({ file: 'logloom.yaml', text }).issues.map(formatIssue);
}

const BAD: Array<[string, string, RegExp]> = [
  ['wrong type', 'logloom:\n  max_message_bytes: lots\n', /^logloom\.yaml:2:22: max_message_bytes: expected a size from 256 to 16777216 bytes .*, got "lots"$/],
  ['unknown key', 'logloom:\n  colour: red\n', /^logloom\.yaml:2:3: colour: unknown key; expected one of node_id, /],
  ['bad enum', 'logloom:\n  buffer:\n    native: maybe\n', /^logloom\.yaml:3:13: buffer\.native: expected one of auto, on, off, got "maybe"$/],
  ['bad YAML', 'logloom:\n  inputs: [\n', /^logloom\.yaml:\d+:\d+: invalid YAML: /],
  ['duplicate key', 'logloom:\n  language: en\n  language: zh\n', /^logloom\.yaml:3:3: duplicate key$/],
  ['duplicate key, nested in a list', 'logloom:\n  inputs:\n    - type: unix\n      path: /a\n      path: /b\n', /^logloom\.yaml:5:7: duplicate key$/],
  ['duplicate key, flow mapping', 'logloom:\n  buffer: { max_entries: 5, max_entries: 6 }\n', /^logloom\.yaml:2:29: duplicate key$/],
  ['empty file', '', /^logloom\.yaml:1:1: the file is empty; expected a mapping with the root key logloom:$/],
  ['missing root', 'inputs: []\n', /^logloom\.yaml:1:1: inputs: unknown top-level key; the root key is logloom:$/],
  ['bad input type', 'logloom:\n  inputs:\n    - type: pigeon\n', /^logloom\.yaml:3:13: inputs\[0\]\.type: expected one of unix, stdin/],
  ['unknown input key', 'logloom:\n  inputs:\n    - type: unix\n      pth: /x\n', /^logloom\.yaml:4:7: inputs\[0\]\.pth: unknown key; expected one of /],
  ['int out of range', 'logloom:\n  buffer:\n    max_entries: 0\n', /^logloom\.yaml:3:18: buffer\.max_entries: expected an integer from 1 to 10000000, got 0$/],
  ['list where mapping', 'logloom:\n  buffer: [1, 2]\n', /^logloom\.yaml:2:11: buffer: expected a mapping, got a list$/],
  ['plugin config checked', 'logloom:\n  plugins:\n    config:\n      sink_file:\n        rotate_mode: daily\n', /^logloom\.yaml:5:22: plugins\.config\.sink_file\.rotate_mode: expected one of numbered, timestamp, got "daily"$/],
  ['bad duration', 'logloom:\n  shutdown_grace: soon\n', /shutdown_grace: expected a duration/],
];

for (const [name, text, re] of BAD) {
  test(`config error: ${name}`, () => {
    const found = issues(text);
    assert.ok(found.some((l) => re.test(l)), `expected ${re}, got:\n${found.join('\n')}`);
  });
}

test('every error is reported, not only the first', () => {
  const found = issues('logloom:\n  language: 5\n  buffer:\n    native: x\n    max_entries: -1\n  nope: 1\n');
  assert.equal(found.length, 3, found.join('\n'));
});

test('defaults fill every key; sizes and durations take units', () => {
  const { config, issues: errs } = parseConfig({ file: 'x.yaml', text: 'logloom:\n  max_message_bytes: 32KiB\n  shutdown_grace: 2s\n' });
  assert.deepEqual(errs, []);
  assert.equal(config!.max_message_bytes, 32768);
  assert.equal(config!.shutdown_grace, 2000);
  assert.equal(config!.buffer.native, 'auto');
  assert.deepEqual(config!.plugins.enabled, ['sink_console']);
  assert.equal((config!.plugins.config.sink_file as { rotate_mode: string }).rotate_mode, 'numbered');
});

test('check-config prints every error with position and exits 1; ok exits 0', async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'logloom:\n  inputs:\n    - type: unix\n      max_connections: many\n  buffer:\n    native: yes\n');
  const r = await runCli(['check-config', '-c', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${bad}:4:24: inputs\\[0\\]\\.max_connections: expected an integer`));
  assert.match(r.stderr, new RegExp(`${bad}:6:13: buffer\\.native: expected one of auto, on, off, got "yes"`));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'logloom:\n  inputs:\n    - type: unix\n');
  const ok = await runCli(['check-config', '-c', good]);
  assert.equal(ok.code, 0, ok.stderr);
  const env = await runCli(['check-config'], { env: { LOGLOOM_CONFIG: bad } });
  assert.equal(env.code, 1);
  assert.match(env.stderr, /bad\.yaml:4:24/);
});

test('duplicate keys: the same key twice is found among 20,000 distinct ones (one set per mapping), and a number and a string with the same digits are different keys', () => {
  const many = Array.from({ length: 20_000 }, (_, i) => `  k${i}: ${i}\n`).join('');
  const found = issues(`logloom:\n${many}  k77: again\n`);
  assert.ok(found.includes(`logloom.yaml:${20_002}:3: duplicate key`), found.slice(0, 3).join('\n'));
  assert.ok(!issues('logloom:\n  plugins:\n    config:\n      x: { 1: a, "1": b }\n').some((l) => /duplicate/.test(l)));
});
