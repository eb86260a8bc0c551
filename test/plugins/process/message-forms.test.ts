/**
 * The plain message forms, end to end through the real registry, supervisor and pipeline: a
 * socket service (a real Unix-socket server started by the test) and Python children (the real
 * runner) answering in the plain forms, and replacement copies applied as documented.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPlugin, renderReport } from '../../../agent/plugins/conformance.ts';
import { HOST_FACTORIES } from '../../../agent/plugins/hosts/index.ts';
import { pluginsConfig, recordingSink, startHarness, until, type Harness } from '../harness.ts';
import { tempDir } from '../../helpers/agent.ts';

const servers: Server[] = [];
const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.stop().catch(() => {});
  for (const s of servers) s.close();
});

/** A line-protocol service on a Unix socket: `answer` maps each request to its answer line (or none). */
function lineService(path: string, answer: (req: Record<string, any>) => Record<string, unknown> | undefined): Promise<void> {
  const server = createServer((sock: Socket) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const req = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        const a = req.op === 'process' ? answer(req) : { status: 0 };
        if (a) sock.write(JSON.stringify({ id: req.id, ...a }) + '\n');
      }
    });
    sock.on('error', () => {});
  });
  servers.push(server);
  return new Promise((r) => server.listen(path, () => r()));
}

function manifest(dir: string, name: string, type: string, address: string): void {
  writeFileSync(join(dir, `${name}.yaml`), `name: ${name}\nversion: 1.0.0\nauthor: tests\ntype: ${type}\nentry: { kind: socket, address: "unix:${address}" }\nlimits: { timeout_ms: 2000 }\n`);
}

test('socket filter in the plain forms: {"status":0} keeps; the whole entry sent back with a changed message is applied; timestamp and node are kept and named once in a WARN', async () => {
  const dir = tempDir('logloom-forms-');
  const sock = join(dir, 'f.sock');
  const one = (e: Record<string, any>) =>
    e.message.startsWith('secret') ? { status: 0, entry: { ...e, message: 'secret=***', timestamp: '1999-01-01T00:00:00.000Z', node: 'forged' } }
      : e.message === 'drop me' ? { status: 0, keep: false } : { status: 0 };
  await lineService(sock, (req) => {
    if (req.entry) return one(req.entry);
    // A batch: the same decisions, one verdict each (true, false, or the whole entry changed).
    return { status: 0, keep: req.batch.map((e: Record<string, any>) => ((a) => (a.entry ?? a.keep ?? true))(one(e) as Record<string, any>)) };
  });
  manifest(dir, 'filter_seed', 'filter', sock);
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [dir], config: { enabled: ['filter_seed', 'sink_record'] } });
  harnesses.push(h);
  // One at a time first (the `entry` form of the answer), then a batch (the `keep` list form).
  h.send('plain');
  await until(h.pipeline, () => sink.received.length === 1, 10_000, 'plain');
  h.send('secret=hunter2');
  await until(h.pipeline, () => sink.received.length === 2, 10_000, 'the first copy');
  h.send('drop me');
  h.send('secret=again');
  await until(h.pipeline, () => sink.received.length === 3, 10_000, '3 entries at the sink');
  assert.deepEqual(sink.received.map((e) => e.message), ['plain', 'secret=***', 'secret=***']);
  for (const e of sink.received) {
    assert.equal(e.node, 'test-node');
    assert.notEqual(e.timestamp, '1999-01-01T00:00:00.000Z');
  }
  const warns = h.log.lines.filter((l) => /replacement copy changed/.test(l));
  assert.deepEqual(warns, ['[WARN] plugin filter_seed: a replacement copy changed timestamp, node; kept from the original (a filter may change message, level, module, lang_key, args and fields only)']);
  const st = h.registry.status().find((s) => s.name === 'filter_seed')!;
  assert.equal(st.failures, 0);
  assert.equal(st.fixed_field_changes, 2);
  assert.ok(!h.log.lines.some((l) => /invalid answer/.test(l)), h.log.lines.join('\n'));
});

test('socket ai in the plain forms: {"status":0,"message":"ok"} is an acknowledgement, {"status":0,"summary":…} becomes one AI entry', async () => {
  const dir = tempDir('logloom-forms-');
  const sock = join(dir, 'a.sock');
  await lineService(sock, (req) => (req.entry.level === 'ERROR' ? { status: 0, summary: 'Multiple auth failures from IP 192.168.0.5' } : { status: 0, message: 'ok' }));
  manifest(dir, 'ai_seed', 'ai', sock);
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [dir], config: { enabled: ['ai_seed', 'sink_record'] } });
  harnesses.push(h);
  h.send({ message: 'fine 1' });
  h.send({ message: 'auth failed', level: 'ERROR' });
  h.send({ message: 'fine 2' });
  const sup = h.registry.supervisor('ai_seed')!;
  assert.ok(sup.type === 'ai', 'ai_seed runs as an ai stage');
  await until(h.pipeline, () => sup.calls === 3 && sup.aiQueued === 0 && sink.received.length >= 4, 10_000, 'three analyses');
  await h.pipeline.drain(2000);
  const ai = sink.received.filter((e) => e.module === 'AI');
  assert.deepEqual(ai.map((e) => e.message), ['Multiple auth failures from IP 192.168.0.5']);
  assert.equal(sink.received.length, 4);
  assert.equal(sup.aiResults, 1);
  assert.equal(sup.failures, 0);
});

const REDACT = `import re

def plugin_info():
    return {"name": "filter_docs_redact", "version": "1.0.0", "author": "me", "type": "filter", "mode": "sync"}

def plugin_process(entry):
    if "password=" not in entry["message"] and "token=" not in entry["message"]:
        return {"status": 0}
    copy = dict(entry)
    copy["message"] = re.sub(r"(password|token)=\\S+", r"\\1=***", entry["message"])
    copy["timestamp"] = "2000-01-01T00:00:00.000Z"
    return copy
`;

test('Python filter written from the docs: a returned dict with a changed message is applied; {"status":0} keeps; {"status":1} is an error; plugins check shows what the copies changed', async () => {
  const dir = tempDir('logloom-forms-py-');
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'filter_docs_redact.py'), REDACT);
  writeFileSync(join(dir, 'filter_status.py'), `def plugin_info():
    return {"name": "filter_status", "version": "1.0.0", "author": "me", "type": "filter"}

def plugin_process(entry):
    if entry["message"] == "bad":
        return {"status": 1, "error": "invalid input"}
    return {"status": 0, "message": "ok"}
`);
  const sink = recordingSink();
  const h = await startHarness({ statics: [sink.mod], dirs: [dir], config: { enabled: ['filter_docs_redact', 'filter_status', 'sink_record'] } });
  harnesses.push(h);
  h.send('login ok');
  h.send('login password=hunter2 from 10.0.0.1');
  h.send('bad');
  await until(h.pipeline, () => sink.received.length === 3, 20_000, '3 entries at the sink');
  assert.deepEqual(sink.received.map((e) => e.message), ['login ok', 'login password=*** from 10.0.0.1', 'bad']);
  assert.notEqual(sink.received[1]!.timestamp, '2000-01-01T00:00:00.000Z');
  const st = h.registry.status().find((s) => s.name === 'filter_status')!;
  assert.equal(st.failures, 1);
  assert.match(String(st.last_error), /invalid input/);
  await h.stop(); // one process per plugin name at a time (its cgroup is named after it)

  const report = await checkPlugin(join(dir, 'filter_docs_redact.py'), {
    config: pluginsConfig(), statics: [], hosts: HOST_FACTORIES, env: { python: '/usr/bin/python3', runtimeDir: tempDir(), dataDir: tempDir() },
  });
  // The check's sample entries include "token=abc123" 3 times in 21: the copies are what the agent
  // applied (a runner that turned the dict into "keep" would read "0 replaced"); the copy's
  // timestamp change is a conformance failure, named.
  const text = renderReport(report);
  assert.match(text, /^FAIL  process: 3 replacement copies changed timestamp, node, source or seq/m, text);
  writeFileSync(join(dir, 'filter_docs_redact.py'), REDACT.replace(/.*"timestamp".*\n/, ''));
  const clean = renderReport(await checkPlugin(join(dir, 'filter_docs_redact.py'), {
    config: pluginsConfig(), statics: [], hosts: HOST_FACTORIES, env: { python: '/usr/bin/python3', runtimeDir: tempDir(), dataDir: tempDir() },
  }));
  assert.match(clean, /^PASS  process: 21 entries: 21 kept \(3 replaced by a copy, changing message\), 0 dropped$/m, clean);

});
