import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ErrorCode } from '../../protocol/index.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { makeCa, makeCert, type CertFiles } from './certs.ts';
import { entries, RawAgent, startAggregator, storedEntries, type RunningAggregator } from './helpers.ts';

describe('aggregator over real TLS with client certificates (mutual TLS) and tokens', () => {
  const dir = tempDir('logloom-agg-tls-');
  let agg: RunningAggregator;
  let ca: CertFiles;
  let gw: CertFiles;
  let rogue: CertFiles;
  const tokens: Record<string, string> = {};

  before(async () => {
    ca = makeCa(dir, 'fleet-ca');
    const server = makeCert(dir, ca, 'aggregator.test', 'IP:127.0.0.1,DNS:localhost');
    gw = makeCert(dir, ca, 'gw-tls');
    rogue = makeCert(dir, makeCa(dir, 'rogue-ca'), 'gw-rogue');
    for (const node of ['gw-tls', 'gw-other']) {
      const r = await runCli(['aggregator', 'token', node, '--tokens', join(dir, 'tokens'), '--hash', 'sha256']);
      tokens[node] = r.stdout.trim();
    }
    agg = await startAggregator('', dir,
      `    tls:\n      enabled: true\n      cert: ${server.cert}\n      key: ${server.key}\n      ca: ${ca.cert}\n      client_cert: require\n` +
      `    auth:\n      mode: token_and_mtls\n      tokens_file: DIR/tokens\n`);
  });
  after(async () => {
    await agg?.stop();
  });

  const client = (c: CertFiles | undefined) => ({
    ca: readFileSync(ca.cert), servername: 'localhost',
    ...(c ? { cert: readFileSync(c.cert), key: readFileSync(c.key) } : {}),
  });

  it('a node with its certificate and token is welcomed and its batch stored', async () => {
    const c = await RawAgent.connect(agg.port, client(gw));
    assert.equal((await c.hello('gw-tls', tokens['gw-tls']!)).type, 'WELCOME');
    assert.deepEqual(await c.batch(1, entries(4)), { type: 'ACK', seq: 1 });
    await c.end();
    assert.equal(storedEntries(agg.store, 'gw-tls').length, 4);
  });

  it('a certificate of one node cannot speak for another, even with the other node\'s token', async () => {
    const c = await RawAgent.connect(agg.port, client(gw));
    const e = await c.hello('gw-other', tokens['gw-other']!);
    assert.equal(e.type === 'ERROR' && e.code, ErrorCode.AUTH_FAILED);
    await c.closed;
    assert.equal(existsSync(join(agg.store, 'gw-other')), false);
    await agg.stderr.waitFor(/authentication of node gw-other failed: client certificate names gw-tls, not gw-other/);
  });

  it('no client certificate, a certificate from another CA, or plain TCP: refused at the TLS layer, service goes on', async () => {
    for (const c of [undefined, rogue]) {
      const s = tlsConnect({ host: '127.0.0.1', port: agg.port, ...client(c) });
      s.on('error', () => {});
      // TLS 1.3: the server's refusal arrives after the client's handshake completes; either way
      // the connection ends without any protocol frame.
      let got = 0;
      s.on('data', (d: Buffer) => (got += d.length));
      await new Promise((r) => s.once('close', r));
      assert.equal(got, 0);
    }
    const plain = await RawAgent.connect(agg.port).catch(() => undefined);
    if (plain) {
      plain.sendBatch(1, entries(1));
      await plain.closed;
      assert.equal(plain.received.length, 0);
    }
    // The log names the peer and says what happened in words, not OpenSSL's internals.
    await agg.stderr.waitFor(/TLS handshake with 127\.0\.0\.1:\d+ failed: the client spoke plain TCP \(not TLS\) to this TLS listener/);
    await agg.stderr.waitFor(/TLS handshake with 127\.0\.0\.1:\d+ failed: the client sent no certificate, and tls\.client_cert is require/);
    const tlsLines = agg.stderr.lines.filter((l) => l.includes('TLS handshake'));
    assert.ok(tlsLines.every((l) => !l.includes('undefined') && !l.includes('deps/openssl') && !l.includes('SSL routines')), tlsLines.join('\n'));
    const st = JSON.parse((await runCli(['status', '--socket', agg.control, '--json'])).stdout) as { rejected: Record<string, number>; transport: string };
    assert.ok(st.rejected.tls_handshake! >= 3, JSON.stringify(st.rejected));
    assert.equal(st.transport, 'tls (client certificates: require)');
    const c = await RawAgent.connect(agg.port, client(gw));
    assert.equal((await c.hello('gw-tls', tokens['gw-tls']!)).type, 'WELCOME');
    assert.deepEqual(await c.batch(2, entries(1, 4)), { type: 'ACK', seq: 2 });
    await c.end();
    assert.equal(storedEntries(agg.store, 'gw-tls').length, 5);
  });
});
