/**
 * Fuzzing what plugins answer over the plugin protocol. The test runs a socket filter service (a
 * real Unix socket the agent connects to) that answers the agent's requests with mutated answers:
 * wrong or missing ids, odd status values, garbage and invalid UTF-8, a line over the 1 MiB bound,
 * half lines, silence (timeouts), closed connections, stray events, replacement copies with
 * hostile fields, deep nesting. Entries carrying a canary are never dropped or replaced by a *valid*
 * answer, so each must reach the file sink: kept by the plugin, or kept because the filter fails
 * open. The agent must stay up and serving. The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { startAgent, tempDir } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { canary, CanaryWatcher, fuzzer, hostileLine, nested, withSeed, type Fuzz } from './fuzz.ts';
import { status } from '../helpers/status.ts';

const INFO = { name: 'fuzz_filter', version: '1.0.0', author: 'tests', type: 'filter', capability: [], mode: 'sync' };

/** One answer line (or none, or a close) for a request, as a hostile plugin might write it. */
function answer(f: Fuzz, req: Record<string, any>, line: string, sock: Socket): void {
  const id = req.id;
  const protectsCanary = line.includes('CANARY:');
  const write = (o: unknown) => sock.write(typeof o === 'string' || Buffer.isBuffer(o) ? o : JSON.stringify(o) + '\n');
  if (req.op !== 'process') {
    // info and init mostly right (else the plugin never loads), sometimes not.
    if (f.chance(0.9)) return void write({ id, status: 0, ...(req.op === 'info' ? { info: INFO } : {}) });
  }
  const n = Array.isArray(req.batch) ? req.batch.length : 1;
  const verdicts = (keep: () => unknown) => (Array.isArray(req.batch) ? Array.from({ length: n }, keep) : keep());
  switch (f.int(14)) {
    case 0: return void write({ id, status: 0, keep: verdicts(() => true) });
    case 1: return void write({ id, status: 0, keep: verdicts(() => (protectsCanary ? true : f.chance(0.5))) });
    case 2: return void write({ id: f.pick([id + 1, -1, 'x', null, 2 ** 60]), status: 0, keep: true });
    case 3: return void write({ status: 0, keep: true });
    case 4: return void write({ id, status: f.pick(['0', 2, -1, null, 1e300, {}]), keep: true, error: hostileLine(f).toString('utf8').slice(0, 300) });
    case 5: return void write(Buffer.concat([hostileLine(f).subarray(0, 500), Buffer.from('\n')]));
    case 6: return void write(Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0xff, 0xfe, 0x0a]));
    case 7: return void write('{"id":' + id + ',"status":0,"keep":' + 'x'.repeat(1_100_000) + '\n');
    case 8: return void write(`{"id":${id},"sta`); // half a line; the next answer completes it into garbage
    case 9: return; // silence: the call times out
    case 10: return void sock.destroy();
    case 11: return void write({ event: f.pick(['log', 'metric', 'ready', 'nonsense']), level: 'ERROR', message: hostileLine(f).toString('utf8').slice(0, 300) });
    case 12: return void write({ id, status: 0, keep: verdicts(() => (protectsCanary ? true : { message: f.chance(0.5) ? hostileLine(f).toString('utf8') : 7, level: 'NOPE', module: '\u202e', args: [{}], fields: { a: [] } })) });
    default: return void write(`{"id":${id},"status":0,"keep":true,"x":${nested(1 + f.int(3000), 'array')}}\n`);
  }
}

function service(f: Fuzz, path: string) {
  const server = createServer((sock) => {
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let req: Record<string, any>;
        try {
          req = JSON.parse(line);
        } catch {
          continue;
        }
        if (!sock.destroyed) answer(f, req, line, sock);
      }
    });
  });
  return server;
}

test('fuzz: hostile answers from a socket filter plugin: the agent stays up and serving, and every canary entry reaches the sink (kept, or the filter fails open)', async (t) => {
  const f = fuzzer(t, 8, 3);
  const dir = tempDir('logloom-fuzz-plug-');
  chmodSync(dir, 0o755);
  const sockPath = join(dir, 'fuzz.sock');
  mkdirSync(join(dir, 'plugins/fuzz_filter'), { recursive: true });
  writeFileSync(join(dir, 'plugins/fuzz_filter/plugin.yaml'), `name: fuzz_filter
version: 1.0.0
author: tests
type: filter
mode: sync
entry: { kind: socket, address: "unix:${sockPath}" }
limits: { timeout_ms: 300 }
`);
  const server = service(f, sockPath);
  server.listen(sockPath);
  await once(server, 'listening');
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [fuzz_filter, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await withSeed(f, async () => {
      const watch = new CanaryWatcher(`${dir}/out.log`);
      const sent: string[] = [];
      const alive = () => agent.proc.exitCode === null && agent.proc.signalCode === null;
      const deadline = Date.now() + f.budgetMs;
      for (let round = 0; Date.now() < deadline; round++) {
        const lines = Array.from({ length: f.int(6) }, () => JSON.stringify({ message: hostileLine(f).toString('utf8').slice(0, 2000) }));
        const c = canary('plugin', round);
        sent.push(c);
        lines.splice(f.int(lines.length + 1), 0, c);
        await sendLines(agent.ingest, lines);
        if (round % 5 === 4) await watch.waitAll(sent.slice(-1), 60_000, alive, () => agent.stderr.lines.slice(-10).join('\n'));
      }
      await watch.waitAll(sent, 120_000, alive, () => agent.stderr.lines.slice(-10).join('\n'));
      const st = await status(agent);
      const plugin = st.plugins.find((p: any) => p.name === 'fuzz_filter');
      assert.ok(plugin, 'the plugin is still listed');
      t.diagnostic(`${sent.length} canaries; plugin: ${JSON.stringify({ state: plugin.state, failures: plugin.failures, restarts: plugin.restarts })}`);
    });
  } finally {
    await agent.stop();
    await new Promise((r) => server.close(r));
  }
});
