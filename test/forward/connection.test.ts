/**
 * The forwarder against the real aggregator: mutual TLS (certificates made by openssl in the
 * test), token from a file (re-read on every connect), failover between addresses, and an
 * orderly stop during an outage in memory-first mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { runCli, tempDir } from '../helpers/agent.ts';
import {
  aggregatorFixture, agentStatus, assertExactlyOnceInOrder, remoteSink, startForwardingAgent, storedCount, storedNumbers, waitStored,
} from './helpers.ts';
import { freePort } from '../helpers/net.ts';
import { until } from '../helpers/wait.ts';

const NODE = 'test-node';

function numbered(from: number, to: number): string {
  let t = '';
  for (let i = from; i < to; i++) t += `n=${i} level=INFO payload=x\n`;
  return t;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate whose CN is the node id. */
function makeCerts(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=logloom test CA');
  for (const [name, subj, ext] of [['server', '/CN=aggregator', 'subjectAltName=IP:127.0.0.1'], ['client', `/CN=${NODE}`, 'extendedKeyUsage=clientAuth']] as const) {
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    writeFileSync(`${dir}/${name}.ext`, ext + '\n');
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

test('mutual TLS: an agent with a client certificate is stored; one without is refused and says why in status', async (t) => {
  const certs = tempDir('logloom-certs-');
  makeCerts(certs);
  const agg = await aggregatorFixture(`    tls:\n      enabled: true\n      cert: ${certs}/server.pem\n      key: ${certs}/server.key\n      ca: ${certs}/ca.pem\n      client_cert: require\n`);
  t.after(() => agg.stop());
  // auth none in the fixture: replace by mtls (the certificate's CN must be the node id).
  writeFileSync(agg.configPath, readFileSync(agg.configPath, 'utf8').replace('mode: none', 'mode: mtls'));
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 500));
  const tls = (withCert: boolean) => `        tls:\n          enabled: true\n          ca: ${certs}/ca.pem\n` + (withCert ? `          cert: ${certs}/client.pem\n          key: ${certs}/client.key\n` : '');
  const agent = await startForwardingAgent(dir, agg.port, { remote: tls(true) });
  try {
    await waitStored(agg.store, NODE, 500, 60_000);
    assert.equal(assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 500), undefined);
  } finally {
    await agent.stop();
  }
  const dir2 = tempDir();
  writeFileSync(`${dir2}/app.log`, numbered(500, 600));
  const bare = await startForwardingAgent(dir2, agg.port, { remote: tls(false) });
  try {
    let sink: Record<string, any> = {};
    await until(async () => {
      sink = remoteSink(await agentStatus(bare.configPath));
      return sink.last_error !== '' && sink.connects === 0 && sink.spool_queued_entries === 100;
    }, 30_000, () => JSON.stringify(sink));
    assert.equal(sink.connected, false);
    assert.equal(await storedCount(agg.store, NODE), 500, 'nothing stored without a certificate');
  } finally {
    await bare.stop();
    await agg.stop();
  }
});

test('token from a file: a wrong token gets AUTH_FAILED (shown in status, nothing stored); the corrected file is read on the next connect', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  const tokens = `${agg.dir}/tokens`;
  const made = await runCli(['aggregator', 'token', NODE, '--tokens', tokens, '--hash', 'sha256', '--token', 'right-token']);
  assert.equal(made.code, 0, made.stderr);
  writeFileSync(agg.configPath, readFileSync(agg.configPath, 'utf8').replace('mode: none', `mode: token\n      tokens_file: ${tokens}`));
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 300));
  writeFileSync(`${dir}/token`, 'wrong-token\n');
  let agent: Awaited<ReturnType<typeof startForwardingAgent>> | undefined;
  try {
    agent = await startForwardingAgent(dir, agg.port, { remote: `        token_file: ${dir}/token\n` });
    await agent.stderr.waitFor(/refused this agent: AUTH_FAILED/, 30_000);
    const sink = remoteSink(await agentStatus(agent.configPath));
    assert.match(sink.last_error, /AUTH_FAILED/);
    assert.equal(await storedCount(agg.store, NODE), 0);
    writeFileSync(`${dir}/token`, 'right-token\n');
    await waitStored(agg.store, NODE, 300, 60_000);
    assert.equal(assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 300), undefined);
  } finally {
    await agent?.stop();
    await agg.stop();
  }
});

test('failover: with the first address refusing, entries go to the next one', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  await agg.start();
  const dead = await freePort();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 400));
  const again = await startForwardingAgent(dir, agg.port, { addresses: [`127.0.0.1:${dead}`, `127.0.0.1:${agg.port}`] });
  try {
    await waitStored(agg.store, NODE, 400, 60_000);
    assert.equal(assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 400), undefined);
    const sink = remoteSink(await agentStatus(again.configPath));
    assert.equal(sink.address, `127.0.0.1:${agg.port}`);
  } finally {
    await again.stop();
    await agg.stop();
  }
});

test('memory-first: an orderly stop during an outage writes queued batches to the spool; the next start delivers them exactly once', async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, numbered(0, 5000));
  let agent = await startForwardingAgent(dir, agg.port, {});
  await until(async () => remoteSink(await agentStatus(agent.configPath)).spool_queued_entries === 5000, 60_000, () => 'entries never reached the spool');
  const stopped = await agent.stop();
  assert.equal(stopped.code, 0);
  const inspect = await runCli(['spool', 'inspect', `${dir}/data/plugins/log_aggregator_remote/spool`]);
  assert.match(inspect.stdout, /to send: \d+ batch\(es\), 5000 entries/);
  await agg.start();
  agent = await startForwardingAgent(dir, agg.port, {});
  try {
    await waitStored(agg.store, NODE, 5000, 60_000);
    await until(async () => remoteSink(await agentStatus(agent.configPath)).spool_queued_batches === 0, 30_000, () => 'spool not emptied');
    assert.equal(assertExactlyOnceInOrder(await storedNumbers(agg.store, NODE), 5000), undefined);
  } finally {
    await agent.stop();
    await agg.stop();
  }
});
