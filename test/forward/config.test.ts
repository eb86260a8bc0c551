import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { runCli, tempDir } from '../helpers/agent.ts';

test('check-config names file, line and column for bad log_aggregator_remote and file input settings, all of them at once', async () => {
  const dir = tempDir();
  const path = `${dir}/logloom.yaml`;
  writeFileSync(path, `logloom:
  inputs:
    - type: file
      path: ${dir}/app.log
      read_from: middle
  plugins:
    enabled: [log_aggregator_remote]
    config:
      log_aggregator_remote:
        addresses: ["no-port-here"]
        compression: zstd
        spool:
          mode: sometimes
          when_full: panic
`);
  const r = await runCli(['check-config', '-c', path]);
  assert.equal(r.code, 1);
  const out = r.stdout + r.stderr;
  assert.match(out, /logloom\.yaml:5:18: inputs\[0\]\.read_from: expected one of beginning, end, got "middle"/);
  assert.match(out, /logloom\.yaml:10:21: .*addresses\[0\]: expected host:port, got "no-port-here"/);
  assert.match(out, /logloom\.yaml:11:22: .*compression: expected one of none, deflate, got "zstd"/);
  assert.match(out, /logloom\.yaml:13:17: .*spool\.mode: expected one of memory, always, got "sometimes"/);
  assert.match(out, /logloom\.yaml:14:22: .*spool\.when_full: expected one of drop_oldest, drop_newest, block, got "panic"/);
});
