import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { runCli, startCli, tempDir } from '../helpers/agent.ts';
import { encodeStats } from '../../protocol/index.ts';
import { RawAgent, startAggregator, type RunningAggregator, launch, pinPort } from './helpers.ts';
import { until } from '../helpers/wait.ts';

/**
 * The query API against a real aggregator process fed over the real forward protocol (RawAgent):
 * tokens and roles, filters, paging, full text, lang_key rendering, live tail (SSE), stats,
 * /api/nodes, per-node metrics, 400s with readable messages, reindex, and the CLI.
 */
let agg: RunningAggregator;
let base = '';
let viewer = '';
let admin = '';
const dir = tempDir('logloom-fleet-api-');

async function api(path: string, token: string | undefined = viewer): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() };
}

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
function entry(i: number, extra: object = {}): object {
  return { timestamp: new Date(T0 + i * 1000).toISOString(), level: i % 10 === 9 ? 'ERROR' : 'INFO', module: i % 2 ? 'NET' : 'CORE', message: `event number ${i} on line`, ...extra };
}

describe('aggregator query API', () => {
  before(async () => {
    const v = await runCli(['aggregator', 'api-token', 'ops-viewer', '--tokens', join(dir, 'api-tokens')]);
    assert.equal(v.code, 0, v.stderr);
    viewer = v.stdout.trim();
    const a = await runCli(['aggregator', 'api-token', 'ops-admin', '--role', 'admin', '--tokens', join(dir, 'api-tokens')]);
    admin = a.stdout.trim();
    agg = await startAggregator('', dir, `    auth:\n      mode: none\n    index:\n      flush_interval: 20ms\n    api:\n      tokens_file: DIR/api-tokens\n      silent_after: 1s\n`);
    const line = await agg.stderr.waitFor(/dashboard at /);
    base = /dashboard at (http:\/\/[^/ ]+)\//.exec(line)![1]!;
    const gw1 = await RawAgent.connect(agg.port);
    assert.equal((await gw1.hello('gw-1', '')).type, 'WELCOME');
    for (let b = 0; b < 5; b++) await gw1.batch(b + 1, Array.from({ length: 50 }, (_, k) => entry(b * 50 + k)));
    await gw1.batch(6, [
      { timestamp: new Date(T0 + 300_000).toISOString(), level: 'WARN', module: 'DISK', message: 'disk space low on /data: 7% free', lang_key: 'demo.disk_low', args: ['/data', 7] },
      { timestamp: new Date(T0 + 301_000).toISOString(), level: 'FATAL', module: 'KERNEL', source: 'kmsg', message: 'Oops: 0000 [#1] SMP' },
      { timestamp: new Date(T0 + 301_000).toISOString(), level: 'ERROR', module: 'KERNEL', source: 'kmsg', message: 'RIP: 0010:do_thing+0x1/0x2' },
    ]);
    await gw1.end();
    const gw2 = await RawAgent.connect(agg.port);
    await gw2.hello('gw-2', '');
    await gw2.batch(1, [entry(1000, { message: 'gateway two says zebra' })]);
    await gw2.end();
    await until(async () => ((await api('/api/entries?limit=1000')).body.entries?.length === 254 ? true : undefined), 20_000, 'everything indexed', 50);
  });
  after(async () => {
    await agg?.stop();
  });

  it('refuses requests without a valid token (401, readable), and admin routes to viewers (403)', async () => {
    const none = await api('/api/nodes', '');
    assert.equal(none.status, 401);
    assert.match(none.body.error, /bearer token is required/);
    const bad = await api('/api/entries', 'not-a-token');
    assert.equal(bad.status, 401);
    assert.match(bad.body.error, /unknown or revoked token/);
    assert.equal((await api('/api/status')).status, 403);
    const st = await api('/api/status', admin);
    assert.equal(st.status, 200);
    assert.equal(st.body.role, 'aggregator');
    assert.equal((await api('/api/whoami', admin)).body.role, 'admin');
  });

  it('answers an invalid query with 400 and a message naming the parameter', async () => {
    for (const [q, re] of [
      ['level=LOUD', /level="LOUD": expected one of DEBUG, INFO, WARN, ERROR, FATAL/],
      ['since=yesterday', /since="yesterday": expected an ISO 8601 time/],
      ['limit=0', /limit="0": expected an integer from 1 to 1000/],
      ['colour=red', /unknown parameter "colour"/],
      ['cursor=abc', /cursor="abc"/],
      ['order=up', /order="up": expected asc/],
      ['node=../etc', /node="..\/etc": not a node id/],
      ['since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z', /since .* must be before until/],
      ['q=%20%21%21', /no word to search for/],
    ] as const) {
      const r = await api(`/api/entries?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.body.error, re, q);
    }
    const s = await api('/api/stats?bucket=1ms');
    assert.equal(s.status, 400);
    assert.match(s.body.error, /bucket="1ms": expected a duration from 1s to 30d/);
    assert.equal((await api('/api/nope')).status, 404);
  });

  it('filters by node, level, module, source, time range, lang_key and full text', async () => {
    const g2 = (await api('/api/entries?node=gw-2')).body.entries;
    assert.deepEqual(g2.map((e: any) => e.entry.message), ['gateway two says zebra']);
    const errors = (await api('/api/entries?node=gw-1&level=ERROR&limit=1000')).body.entries;
    assert.equal(errors.length, 25 + 2, 'every tenth entry, plus the oops and its RIP line');
    assert.ok(errors.every((e: any) => e.entry.level === 'ERROR' || e.entry.level === 'FATAL'));
    const net = (await api('/api/entries?module=net&limit=1000')).body.entries;
    assert.equal(net.length, 125);
    const kmsg = (await api('/api/entries?source=kmsg')).body.entries;
    assert.equal(kmsg.length, 2);
    const range = (await api(`/api/entries?since=${new Date(T0 + 10_000).toISOString()}&until=${new Date(T0 + 20_000).toISOString()}&order=asc`)).body.entries;
    assert.deepEqual(range.map((e: any) => e.entry.message), Array.from({ length: 10 }, (_, i) => `event number ${10 + i} on line`));
    const text = (await api('/api/entries?q=zebr')).body.entries;
    assert.deepEqual(text.map((e: any) => [e.node, e.entry.message]), [['gw-2', 'gateway two says zebra']]);
    const both = (await api('/api/entries?q=number%2042')).body.entries;
    assert.ok(both.some((e: any) => e.entry.message === 'event number 42 on line'));
    assert.ok(both.every((e: any) => /number 42/.test(e.entry.message)));
    const lk = (await api('/api/entries?lang_key=demo.disk_low')).body.entries;
    assert.equal(lk.length, 1);
  });

  it('renders lang_key entries in the language asked for', async () => {
    const en = (await api('/api/entries?lang_key=demo.disk_low&lang=en')).body.entries[0].entry;
    assert.equal(en.text, 'disk space low on /data: 7% free');
    const zh = (await api('/api/entries?lang_key=demo.disk_low&lang=zh')).body.entries[0].entry;
    assert.equal(zh.text, '/data 磁盘空间不足：剩余 7%');
    assert.equal((await api('/api/entries?lang=fr')).status, 400);
  });

  it('pages by cursor, newest first or oldest first, without gaps or repeats', async () => {
    for (const order of ['desc', 'asc']) {
      const seen: number[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const r: { body: { entries: { id: number }[]; next_cursor: string | null } } = await api(`/api/entries?node=gw-1&limit=37&order=${order}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...r.body.entries.map((e) => e.id));
        cursor = r.body.next_cursor;
      }
      assert.equal(seen.length, 253);
      assert.equal(new Set(seen).size, 253);
      const sorted = [...seen].sort((a, b) => (order === 'asc' ? a - b : b - a));
      assert.deepEqual(seen, sorted);
    }
  });

  it('counts by level, node or module over time buckets', async () => {
    const s = (await api(`/api/stats?since=${T0}&until=${T0 + 3_600_000}&bucket=1m&by=level`)).body;
    assert.equal(s.bucket_ms, 60_000);
    assert.deepEqual(s.buckets[0], { t: T0, counts: { INFO: 54, ERROR: 6 } });
    const byNode = (await api(`/api/stats?since=${T0}&until=${T0 + 3_600_000}&bucket=1h&by=node`)).body;
    assert.deepEqual(byNode.buckets[0].counts, { 'gw-1': 253, 'gw-2': 1 });
  });

  it('lists the oops with its following lines as an incident', async () => {
    const r = (await api('/api/nodes/gw-1/incidents')).body.incidents;
    assert.equal(r.length, 1);
    assert.equal(r[0].entry.message, 'Oops: 0000 [#1] SMP');
    assert.deepEqual(r[0].following.map((e: any) => e.message), ['RIP: 0010:do_thing+0x1/0x2']);
  });

  it('lists nodes with status, counts and errors; a disconnected node is silent', async () => {
    const r = (await api('/api/nodes')).body;
    assert.equal(r.silent_after_ms, 1000);
    // Disconnected, it turns silent once nothing was heard for silent_after (1 s here).
    const g1 = await until(async () => (await api('/api/nodes')).body.nodes.find((n: any) => n.name === 'gw-1' && n.status === 'silent'), 20_000, 'gw-1 silent', 50);
    assert.equal(g1.entries, 253);
    assert.equal(g1.received_entries, 253);
    assert.equal(g1.errors_1h, 27);
    assert.equal(g1.last_seq, 6);
    assert.equal(g1.connected, false);
    const live = await RawAgent.connect(agg.port);
    await live.hello('gw-3', '');
    await live.batch(1, [entry(1)]);
    const g3 = await until(async () => (await api('/api/nodes')).body.nodes.find((n: any) => n.name === 'gw-3' && n.status === 'up'), 20_000, 'gw-3 up', 50);
    assert.equal(g3.connected, true);
    await live.end();
    await until(async () => ((await api('/api/nodes')).body.nodes.find((n: any) => n.name === 'gw-3').status === 'silent' ? true : undefined), 20_000, 'gw-3 silent', 50);
  });

  it('shows what an agent reports in STATS (version, drops, spool backlog); a malformed STATS is refused', async () => {
    const a = await RawAgent.connect(agg.port);
    const w = await a.hello('gw-6', '');
    assert.deepEqual(w.type === 'WELCOME' && w.version, 2, 'WELCOME announces revision 2 (STATS accepted)');
    a.socket.write(encodeStats({ version: '9.9.9', dropped: 12, spool_entries: 3, spool_bytes: 300 }));
    const n = await until(async () => (await api('/api/nodes')).body.nodes.find((x: any) => x.name === 'gw-6' && x.version === '9.9.9'), 20_000, 'gw-6 report', 50);
    assert.deepEqual([n.dropped, n.spool_entries, n.spool_bytes], [12, 3, 300]);
    assert.ok(n.reported_at);
    a.socket.write(Buffer.from([0, 0, 0, 3, 0x08, 0x5b, 0x31]));
    const err = await a.waitFor((m) => m.type === 'ERROR');
    assert.match(err.type === 'ERROR' ? err.text : '', /STATS: payload is not JSON|not a JSON object/);
    await a.closed;
  });

  it('exports per-node last-seen and received counters on /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const seen = /logloom_aggregator_node_last_seen_timestamp_seconds\{node="gw-1"\} ([\d.e+]+)/.exec(text);
    assert.ok(seen, text.slice(0, 2000));
    assert.ok(Math.abs(Number(seen[1]) - Date.now() / 1000) < 600);
    assert.match(text, /logloom_aggregator_node_received_entries_total\{node="gw-1"\} 253/);
    assert.match(text, /logloom_aggregator_node_received_entries_total\{node="gw-2"\} 1/);
    // The index's lag and drops, for alerting on an index that falls behind.
    assert.match(text, /\nlogloom_aggregator_index_entries_total [1-9]\d*\n/);
    assert.match(text, /\nlogloom_aggregator_index_lag_bytes \d+\n/);
    assert.match(text, /\nlogloom_aggregator_index_lag_seconds [\d.]+\n/);
    assert.match(text, /\nlogloom_aggregator_index_dropped_entries_total 0\n/);
  });

  it('streams new entries matching the filter as server-sent events', async () => {
    const events: any[] = [];
    const got = new Promise<void>((resolve, reject) => {
      const req = request(`${base}/api/tail?level=ERROR&lang=zh`, { headers: { authorization: `Bearer ${viewer}` } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          for (const m of buf.matchAll(/event: entry\ndata: (.*)\n\n/g)) events.push(JSON.parse(m[1]!));
          buf = buf.replace(/[\s\S]*\n\n/, '');
          if (events.length >= 2) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (events.length >= 2 ? undefined : reject(e)));
      req.end();
    });
    // The stream is open once the aggregator counts the client.
    await until(async () => ((await api('/api/status', admin)).body.index.tail_clients === 1 ? true : undefined), 20_000, 'tail client', 50);
    const a = await RawAgent.connect(agg.port);
    await a.hello('gw-4', '');
    await a.batch(1, [
      { level: 'INFO', module: 'X', message: 'not shown' },
      { level: 'ERROR', module: 'X', message: 'shown' },
      { level: 'ERROR', module: 'DISK', message: 'x', lang_key: 'demo.disk_low', args: ['/', 1] },
    ]);
    await got;
    await a.end();
    assert.deepEqual(events.map((e) => [e.node, e.entry.message]), [['gw-4', 'shown'], ['gw-4', 'x']]);
    assert.equal(events[1].entry.text, '/ 磁盘空间不足：剩余 1%');
  });

  it('logloom query and logloom tail -f read the API, text or --json, lang_key rendered in --lang', async () => {
    const common = ['--url', base, '--token', viewer];
    const q = await runCli(['query', ...common, '--node', 'gw-1', '--lang-key', 'demo.disk_low', '--lang', 'zh']);
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, /^2026-03-01T10:05:00.000Z gw-1 WARN {2}DISK \/data 磁盘空间不足：剩余 7%$/);
    const j = await runCli(['query', ...common, '--node', 'gw-2', '--json']);
    assert.equal(JSON.parse(j.stdout).entry.message, 'gateway two says zebra');
    const bad = await runCli(['query', ...common, '--level', 'LOUD']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /HTTP 400: level="LOUD"/);
    const noTok = await runCli(['query', '--url', base], { env: { LOGLOOM_TOKEN: '' } });
    assert.equal(noTok.code, 1);
    assert.match(noTok.stderr, /HTTP 401/);
    const t = startCli(['tail', ...common, '-f', '-n', '2', '--node', 'gw-5']);
    try {
      await until(async () => ((await api('/api/status', admin)).body.index.tail_clients >= 1 ? true : undefined), 20_000, 'tail stream open', 50);
      const a = await RawAgent.connect(agg.port);
      await a.hello('gw-5', '');
      await a.batch(1, [{ level: 'INFO', module: 'APP', message: 'hello from five' }]);
      await t.stdout.waitFor(/gw-5 INFO {2}APP hello from five$/);
      await a.end();
    } finally {
      t.proc.kill('SIGINT');
      await t.exited;
    }
  });

  it('reindex rebuilds the same index from the store', async () => {
    // 254 from the set-up, then gw-3 (1), gw-4 (3) and gw-5 (1). The last of these may still be on its way
    // into the index (the tail reads the ingest, not the index), so wait for the index to hold them all.
    const before = 259;
    await until(async () => ((await api('/api/entries?limit=1000')).body.entries.length === before ? true : undefined), 20_000, 'all stored entries indexed', 50);
    await agg.stop();
    const r = await runCli(['aggregator', 'reindex', '-c', agg.configPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`index .* rebuilt from .*: ${before} entries of 6 nodes`));
    pinPort(agg);
    agg = await launch(dir, agg.configPath);
    const line = await agg.stderr.waitFor(/dashboard at /);
    base = /dashboard at (http:\/\/[^/ ]+)\//.exec(line)![1]!;
    assert.equal((await api('/api/entries?limit=1000')).body.entries.length, before);
    assert.equal((await api('/api/entries?q=zebra')).body.entries.length, 1);
  });
});
