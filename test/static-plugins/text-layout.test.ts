/**
 * The text sinks (console, file) as downstream tools read them: a layout that starts with the
 * timestamp (files sort and grep well), node, source and fields as key=value, and multiline
 * messages with their continuation lines indented. Real agent, real file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { waitForLines } from '../helpers/wait.ts';

test('sink_file text layout: timestamp first, then level and module; node, source and fields shown as key=value', async () => {
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_file, sink_console]
    config:
      sink_file: { path: DIR/out.log, format: text, layout: timestamp_first, show: [node, source, fields] }
      sink_console: { show: [node] }
`);
  try {
    await sendLines(agent.ingest, [
      JSON.stringify({ timestamp: '2026-11-30T17:30:01.250Z', level: 'ERROR', module: 'PUMP', message: 'pressure high', fields: { bar: 7.5, site: 'north dock' } }),
      'plain text line',
    ]);
    const lines = await waitForLines(`${agent.dir}/out.log`, 2);
    assert.equal(lines[0], '2026-11-30T17:30:01.250Z [ERROR] [PUMP] pressure high node=test-node source=unix bar=7.5 site="north dock"');
    assert.match(lines[1]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\] \[UNIX\] plain text line node=test-node source=unix$/);
    await agent.stdout.waitFor(/^\[ERROR\] \[PUMP\] 2026-11-30T17:30:01\.250Z pressure high node=test-node$/);
  } finally {
    await agent.stop();
  }
});
