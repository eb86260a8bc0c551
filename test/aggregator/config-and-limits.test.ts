import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePing, ErrorCode } from '../../protocol/index.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { RawAgent, startAggregator, type RunningAggregator } from './helpers.ts';

describe('aggregator tokens file, timeouts and connection limit', () => {
  const dir = tempDir('logloom-agg-lim-');
  let agg: RunningAggregator;
  let token: string;
  let newToken: string;

  before(async () => {
    token = (await runCli(['aggregator', 'token', 'gw-a', '--tokens', join(dir, 'tokens'), '--hash', 'sha256'])).stdout.trim();
    // A broken line must not lock out the other nodes.
    writeFileSync(join(dir, 'tokens'), readFileSync(join(dir, 'tokens'), 'utf8') + 'gw-broken sha256:nothex\n');
    agg = await startAggregator('', dir, '    hello_timeout: 300ms\n    max_connections: 2\n    auth:\n      tokens_file: DIR/tokens\n');
  });
  after(async () => {
    await agg?.stop();
  });

  it('a malformed tokens line is reported with file and line and skipped; a node added at run time can connect at once', async () => {
    await agg.stderr.waitFor(new RegExp(`tokens file ${join(dir, 'tokens')}:3: expected sha256:<64 hex digits>; line ignored`));
    const a = await RawAgent.connect(agg.port);
    assert.equal((await a.hello('gw-a', token)).type, 'WELCOME');
    await a.end();
    const added = await runCli(['aggregator', 'token', 'gw-new', '--tokens', join(dir, 'tokens')]);
    assert.equal(added.code, 0, added.stderr);
    const b = await RawAgent.connect(agg.port);
    newToken = added.stdout.trim();
    assert.equal((await b.hello('gw-new', newToken)).type, 'WELCOME');
    await b.end();
  });

  it('a connection that never says HELLO is closed after hello_timeout with an ERROR', async () => {
    const c = await RawAgent.connect(agg.port);
    const e = await c.waitFor((m) => m.type === 'ERROR');
    assert.equal(e.type === 'ERROR' && e.text, 'no HELLO within 300 ms');
    await c.closed;
  });

  it('beyond max_connections (authenticated connections) a node gets ERROR BUSY; the others carry on', async () => {
    const held = await Promise.all([0, 1].map(() => RawAgent.connect(agg.port)));
    assert.equal((await held[0]!.hello('gw-a', token)).type, 'WELCOME');
    assert.equal((await held[1]!.hello('gw-new', newToken)).type, 'WELCOME');
    const extra = await RawAgent.connect(agg.port);
    const e = await extra.hello('gw-a', token);
    assert.equal(e.type === 'ERROR' && e.code, ErrorCode.BUSY);
    await extra.closed;
    held[0]!.socket.write(encodePing(7));
    assert.deepEqual(await held[0]!.waitFor((m) => m.type === 'PONG'), { type: 'PONG', nonce: 7 });
    await Promise.all(held.map((h) => h.end()));
  });
});

describe('aggregator configuration', () => {
  it('the example in docs/aggregator.md passes check-config; a bad aggregator key is reported with its position', async () => {
    const dir = tempDir('logloom-agg-cfg-');
    const doc = readFileSync(new URL('../../docs/aggregator.md', import.meta.url), 'utf8');
    // Its TLS material must exist for check-config to pass, as on a real server: made here, in the test's dir.
    const example = /```yaml\n(logloom:[\s\S]*?)```/.exec(doc)![1]!.replaceAll('/etc/logloom/', `${dir}/`);
    for (const m of example.matchAll(/\b(?:cert|key|ca): (\/\S+)/g)) writeFileSync(m[1]!, "PEM\n");
    writeFileSync(join(dir, 'ok.yaml'), example);
    const ok = await runCli(['check-config', '-c', join(dir, 'ok.yaml')]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    writeFileSync(join(dir, 'bad.yaml'), 'logloom:\n  aggregator:\n    ndjson:\n      fsync: sometimes\n    store: redis\n');
    const bad = await runCli(['check-config', '-c', join(dir, 'bad.yaml')]);
    assert.equal(bad.code, 1);
    const out = bad.stdout + bad.stderr;
    assert.match(out, /bad\.yaml:4:14: aggregator\.ndjson\.fsync: expected one of always, interval, never, got "sometimes"/);
    assert.match(out, /bad\.yaml:5:12: aggregator\.store: expected one of ndjson, nats, got "redis"/);
  });

  it('TLS enabled without a certificate stops the start with a message naming the keys', async () => {
    const dir = tempDir('logloom-agg-cfg-');
    const r = await startAggregator('', dir, '    auth:\n      mode: none\n    tls:\n      enabled: true\n').then(
      () => assert.fail('started without a certificate'),
      (e: Error) => e.message,
    );
    assert.match(r, /aggregator\.tls\.cert: required when tls\.enabled is true/);
    assert.match(r, /aggregator\.tls\.key: required when tls\.enabled is true/);
  });
});
