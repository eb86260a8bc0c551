import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { startAgent, startCli, tempDir, type RunningAgent } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { inputStatus } from '../helpers/status.ts';
import { inputToFile } from '../helpers/config.ts';

const config = (extra = '') => inputToFile('tcp', `      listen: 127.0.0.1:0\n      max_connections: 2${extra}\n`, 'out.log');

async function port(agent: RunningAgent): Promise<number> {
  return Number(/:(\d+)$/.exec((await inputStatus(agent)).listening)![1]);
}

async function connect(p: number): Promise<Socket> {
  const c = createConnection(p, '127.0.0.1');
  await once(c, 'connect');
  return c;
}

test('tcp input: NDJSON and plain lines; a third client over max_connections is refused and counted', async () => {
  const agent = await startAgent(config());
  try {
    const p = await port(agent);
    const a = await connect(p);
    const b = await connect(p);
    a.write('{"level":"ERROR","module":"pump","message":"pressure","fields":{"bar":9}}\n');
    b.write('plain from b\n{broken json\n');
    // All three lines written: both connections are being served.
    await waitForLines(`${agent.dir}/out.log`, 3);
    const c = createConnection(p, '127.0.0.1');
    c.on('error', () => {});
    await once(c, 'close');
    a.end('last from a');
    b.end();
    const lines = (await waitForLines(`${agent.dir}/out.log`, 4)).map((l) => JSON.parse(l));
    const by = new Map(lines.map((e) => [e.message, e]));
    assert.equal(by.get('pressure').level, 'ERROR');
    assert.equal(by.get('pressure').module, 'PUMP');
    assert.equal(by.get('pressure').fields.bar, 9);
    assert.match(by.get('pressure').source, /^tcp:127\.0\.0\.1:\d+$/);
    assert.equal(by.get('plain from b').module, 'TCP');
    assert.ok(by.has('{broken json'));
    assert.ok(by.has('last from a'), 'a last line without newline is delivered at end of stream');
    const st = await inputStatus(agent);
    assert.equal(st.refused, 1);
    assert.equal(st.accepted, 2);
    assert.equal(st.parse_errors, 1);
    assert.equal(st.rejected, 1);
    assert.equal(st.lines, 4);
    assert.ok(st.bytes > 100);
  } finally {
    await agent.stop();
  }
});

test('tcp input: a 2 MB line arrives cut and marked truncated: true, the next line is intact', async () => {
  const agent = await startAgent(config());
  try {
    const a = await connect(await port(agent));
    a.write('x'.repeat(2 * 1024 * 1024) + '\n');
    a.end('{"message":"after the big one","level":"WARN"}\n');
    const lines = (await waitForLines(`${agent.dir}/out.log`, 2)).map((l) => JSON.parse(l));
    assert.equal(lines[0].truncated, true);
    assert.equal(lines[0].message.length, 16 * 1024); // max_message_bytes
    assert.equal(lines[1].message, 'after the big one');
    assert.equal(lines[1].level, 'WARN');
    assert.equal(lines[1].truncated, undefined);
    assert.equal((await inputStatus(agent)).truncated, 1);
  } finally {
    await agent.stop();
  }
});

test('tcp input over TLS (real certificate made by openssl): lines arrive; a plain-TCP client gets nothing in', async () => {
  const dir = tempDir();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
  const agent = await startAgent(config(`\n      format: text\n      tls: { cert: DIR/cert.pem, key: DIR/key.pem }`), dir);
  try {
    const p = await port(agent);
    assert.match((await inputStatus(agent)).listening, /^tls:/);
    const plain = await connect(p);
    plain.on('error', () => {});
    plain.end('{"message":"sneaked in"}\n');
    await once(plain, 'close');
    const t = tlsConnect({ port: p, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(`${dir}/cert.pem`) });
    await once(t, 'secureConnect');
    t.end('{"message":"over tls"}\n');
    const lines = (await waitForLines(`${agent.dir}/out.log`, 1)).map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].message, '{"message":"over tls"}'); // format: text keeps the line as it came
    assert.equal((await inputStatus(agent)).tls_errors, 1);
  } finally {
    await agent.stop();
  }
});

test('tcp input: a port already in use stops the agent with an error naming the input and address (exit 1)', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  const busy = (taken.address() as { port: number }).port;
  try {
    const dir = tempDir();
    const yaml = `logloom:\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control:\n    socket: ${dir}/run/control.sock\n` +
      config().replace('127.0.0.1:0', `127.0.0.1:${busy}`).replaceAll('DIR', dir);
    writeFileSync(`${dir}/logloom.yaml`, yaml);
    const p = startCli(['run', '-c', `${dir}/logloom.yaml`]);
    const { code } = await p.exited;
    assert.equal(code, 1);
    assert.match(p.stderr.lines.join('\n'), new RegExp(`input tcp: cannot listen on tcp:127\\.0\\.0\\.1:${busy}: .*EADDRINUSE`));
  } finally {
    taken.close();
  }
});

test('tcp input under backpressure (buffer of 16 entries, when_full: block): sockets are paused and all 5000 lines arrive, none dropped', async () => {
  const agent = await startAgent(config().replace('  inputs:', '  buffer:\n    max_entries: 16\n  inputs:'));
  try {
    const a = await connect(await port(agent));
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`);
    a.end(lines.join('\n') + '\n');
    const out = (await waitForLines(`${agent.dir}/out.log`, 5000, 60_000)).map((l) => JSON.parse(l).message);
    assert.deepEqual(out, lines);
    const st = await inputStatus(agent);
    assert.ok(st.paused > 0, 'the input was paused at least once');
    assert.equal(st.dropped, 0);
  } finally {
    await agent.stop();
  }
});

test('tcp input with format: json: a line that is not a JSON object is kept as text and counted as a parse error', async () => {
  const agent = await startAgent(config('\n      format: json\n      listen: "[::1]:0"').replace('      listen: 127.0.0.1:0\n', ''));
  try {
    assert.match((await inputStatus(agent)).listening, /^tcp:\[::1\]:\d+$/);
    const c = createConnection(Number(/:(\d+)$/.exec((await inputStatus(agent)).listening)![1]), '::1');
    await once(c, 'connect');
    c.end('{"message":"structured","level":"debug"}\nplain words\n[1,2]\n');
    const lines = (await waitForLines(`${agent.dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => [e.level, e.message]), [['DEBUG', 'structured'], ['INFO', 'plain words'], ['INFO', '[1,2]']]);
    const st = await inputStatus(agent);
    assert.equal(st.parse_errors, 2);
    assert.match(st.last_reject, /not a JSON object|expected a JSON object/);
  } finally {
    await agent.stop();
  }
});
