import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { statSync } from 'node:fs';
import { runCli, startAgent } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';

const FILE_SINK = `  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`;

test('unix input: NDJSON and plain lines from several clients reach the file sink; socket is 0660', async () => {
  const agent = await startAgent(FILE_SINK);
  try {
    assert.equal(statSync(agent.ingest).mode & 0o777, 0o660);
    const a = createConnection(agent.ingest);
    const b = createConnection(agent.ingest);
    a.write('{"level":"WARN","module":"pump","message":"pressure high"}\nplain text line\n');
    b.write('{"level":"ERROR","message":"from b", "lang_key":"demo.crc_error","args":[255]}\n{not json\n');
    a.end();
    b.end();
    const lines = (await waitForLines(`${agent.dir}/out.log`, 4)).map((l) => JSON.parse(l));
    const byMsg = new Map(lines.map((e) => [e.message, e]));
    assert.equal(byMsg.get('pressure high').level, 'WARN');
    assert.equal(byMsg.get('pressure high').module, 'PUMP');
    assert.equal(byMsg.get('pressure high').node, 'test-node');
    assert.equal(byMsg.get('plain text line').level, 'INFO');
    assert.equal(byMsg.get('plain text line').module, 'UNIX');
    assert.deepEqual(byMsg.get('from b').args, [255]);
    assert.equal(byMsg.get('from b').lang_key, 'demo.crc_error');
    // A bad JSON line is kept as text and counted as rejected.
    assert.ok(byMsg.has('{not json'));
    const st = await runCli(['status', '--json', '--socket', agent.control]);
    const status = JSON.parse(st.stdout);
    assert.equal(status.inputs[0].rejected, 1);
    assert.equal(status.inputs[0].received, 4);
  } finally {
    await agent.stop();
  }
});

test('logloom send: arguments and stdin lines arrive with level and module', async () => {
  const agent = await startAgent(FILE_SINK);
  try {
    const r = await runCli(['send', '--socket', agent.ingest, '--level', 'warn', '--module', 'cron', 'disk', 'almost', 'full']);
    assert.equal(r.code, 0, r.stderr);
    const r2 = await runCli(['send', '--socket', agent.ingest, '-m', 'batch'], { input: 'one\ntwo\n' });
    assert.equal(r2.code, 0, r2.stderr);
    const lines = (await waitForLines(`${agent.dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => [e.level, e.module, e.message]).sort(), [
      ['INFO', 'BATCH', 'one'], ['INFO', 'BATCH', 'two'], ['WARN', 'CRON', 'disk almost full'],
    ]);
    const bad = await runCli(['send', '--socket', agent.ingest, '--level', 'loud', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--level: expected one of DEBUG, INFO, WARN, ERROR, FATAL, got "loud"/);
  } finally {
    await agent.stop();
  }
});
