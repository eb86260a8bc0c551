/**
 * The forwarder says why it cannot reach the aggregator, in the log where the operator looks:
 * each new cause once (not once per retry), with the address and the reason in words, and the
 * recovery. Real aggregator processes, real sockets, real TLS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/agent.ts';
import { aggregatorFixture, startForwardingAgent, waitStored } from './helpers.ts';

test('nothing listening: one WARN with the address and "connection refused" however many retries; the recovery is logged when the aggregator comes up', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, 'one\ntwo\n');
  const agent = await startForwardingAgent(dir, agg.port);
  try {
    const warn = new RegExp(`\\[WARN\\] .*cannot forward to aggregator 127\\.0\\.0\\.1:${agg.port}: connection refused \\(nothing listens at 127\\.0\\.0\\.1:${agg.port}; is the aggregator running\\?\\); entries are spooled`);
    await agent.stderr.waitFor(warn, 30_000);
    await agg.start();
    const recovered = await agent.stderr.waitFor(/connected to aggregator .*; recovered after (\d+) failed attempts? over \d+ s/, 30_000);
    const attempts = Number(/after (\d+) failed/.exec(recovered)![1]);
    assert.ok(attempts >= 2, `retried more than once before the aggregator came up (${attempts})`);
    assert.equal(agent.stderr.lines.filter((l) => /cannot forward to aggregator/.test(l)).length, 1, agent.stderr.lines.join('\n'));
    await waitStored(agg.store, 'test-node', 2, 30_000);
  } finally {
    await agent.stop();
  }
});

test('a missing token file and plain TCP against a TLS aggregator are each named in the log', async (t) => {
  const certs = tempDir('logloom-certs-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: certs, stdio: 'pipe' });
  const agg = await aggregatorFixture(`    tls:\n      enabled: true\n      cert: ${certs}/cert.pem\n      key: ${certs}/key.pem\n`);
  t.after(() => agg.stop());
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, 'one\n');
  const plain = await startForwardingAgent(dir, agg.port, { remote: `        token_file: ${dir}/no-such-token\n` });
  try {
    await plain.stderr.waitFor(new RegExp(`cannot forward to aggregator 127\\.0\\.0\\.1:${agg.port}: cannot read the token file ${dir}/no-such-token: no such file`), 30_000);
    writeFileSync(`${dir}/no-such-token`, 'secret\n');
    await plain.stderr.waitFor(/cannot forward to aggregator .*: the aggregator closed the connection before WELCOME \(does it expect TLS\? then set tls\.enabled: true\)|the aggregator reset the connection/, 30_000);
  } finally {
    await plain.stop();
  }
});
