import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/agent.ts';
import { makeCa, makeCert } from './certs.ts';
import { RawAgent, startAggregator } from './helpers.ts';

/** GET over HTTPS, verifying the server against `ca`. */
function httpsGet(url: string, ca: Buffer, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(url, { ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

test('with a certificate the HTTP listener speaks HTTPS only; logloom query verifies it with --ca and renders a lang plugin\'s language', async () => {
  const dir = tempDir('logloom-fleet-tls-');
  const ca = makeCa(dir, 'api-ca');
  const server = makeCert(dir, ca, 'aggregator.api', 'DNS:localhost,IP:127.0.0.1');
  const token = (await runCli(['aggregator', 'api-token', 'tls-viewer', '--tokens', join(dir, 'api-tokens')])).stdout.trim();
  const agg = await startAggregator('', dir,
    `    auth:\n      mode: none\n    index:\n      flush_interval: 20ms\n    api:\n      tokens_file: DIR/api-tokens\n      tls:\n        cert: ${server.cert}\n        key: ${server.key}\n`);
  try {
    const base = /dashboard at (https:\/\/[^/ ]+)\//.exec(await agg.stderr.waitFor(/dashboard at /))![1]!;
    const caPem = readFileSync(ca.cert);
    assert.equal((await httpsGet(`${base}/api/nodes`, caPem)).status, 401);
    assert.equal((await httpsGet(`${base}/api/nodes`, caPem, token)).status, 200);
    await assert.rejects(fetch(base.replace('https:', 'http:') + '/api/nodes'), 'plain HTTP is not answered');
    const a = await RawAgent.connect(agg.port);
    await a.hello('gw-tls', '');
    await a.batch(1, [{ level: 'WARN', module: 'DISK', message: 'disk low', lang_key: 'demo.disk_low', args: ['/var', 3] }]);
    await a.end();
    const langDir = join(dir, 'langs');
    mkdirSync(langDir);
    writeFileSync(join(langDir, 'fr.yaml'), 'demo:\n  disk_low: "espace disque faible sur %s : %u%% libre"\n');
    let out = '';
    for (let i = 0; i < 100 && !out.includes('gw-tls'); i++) {
      const r = await runCli(['query', '--url', base, '--token', token, '--ca', ca.cert, '--lang', 'fr', '--lang-dir', langDir]);
      assert.equal(r.code, 0, r.stderr);
      out = r.stdout;
    }
    assert.match(out, /gw-tls WARN {2}DISK espace disque faible sur \/var : 3% libre$/);
    const noCa = await runCli(['query', '--url', base, '--token', token]);
    assert.equal(noCa.code, 1);
    assert.match(noCa.stderr, /cannot reach the aggregator .*(SELF_SIGNED|UNABLE_TO_VERIFY|CERT)/);
  } finally {
    await agg.stop();
  }
});
