import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import { statSync } from 'node:fs';
import { runCli, startAgent, tempDir } from '../helpers/agent.ts';
import { listenUnix } from '../../lib/unix-socket.ts';
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

test('unix sockets are created with their mode, not chmod-ed afterwards: the file has it the moment bind returns, and the umask is put back', async () => {
  const dir = tempDir();
  const before = process.umask();
  for (const mode of [0o600, 0o660]) {
    const server = createServer();
    const path = `${dir}/s${mode.toString(8)}.sock`;
    const listening = listenUnix(server, path, mode);
    // Synchronously after the call: no event-loop turn in which a chmod could have run.
    assert.equal(statSync(path).mode & 0o777, mode);
    assert.equal(process.umask(), before, 'the process umask is unchanged');
    await listening;
    await new Promise((r) => server.close(r));
  }
  // A path that cannot be bound is an error, and the umask is still restored.
  await assert.rejects(listenUnix(createServer(), `${dir}/missing/dir/x.sock`, 0o600), /listen (ENOENT|EACCES)/);
  assert.equal(process.umask(), before);
});
