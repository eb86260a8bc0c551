import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { ROOT } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { agentWith, pluginStatus, send } from './helpers.ts';

/** A reproducible generated log: ordinary noise with, from entry 200 on, auth failures from one IP. */
function generatedLog(n = 400): Record<string, unknown>[] {
  let seed = 42;
  const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
  const pick = <T>(xs: T[]) => xs[rnd(xs.length)]!;
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const noise = [
    () => ['INFO', `Temperature sensor ${1 + rnd(9)} reads ${18 + rnd(12)}.${rnd(10)} C`],
    () => ['INFO', `Uploaded batch ${rnd(99999)} with ${1 + rnd(500)} entries`],
    () => ['DEBUG', `heartbeat ok seq=${rnd(1e6)}`],
    () => ['INFO', `User ${pick(['alice', 'bob', 'carol'])} logged in from 10.0.0.${1 + rnd(254)}`],
    () => ['WARN', `Authentication failure for user ${pick(['x', 'y', 'z'])} from 10.0.${rnd(10)}.${1 + rnd(254)}`],
  ];
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    let [level, message] = pick(noise)();
    if (i > 200 && i % 20 === 0) [level, message] = ['WARN', `Authentication failure for user ${pick(['root', 'admin', 'pi'])} from 192.168.0.5`];
    out.push({ timestamp: new Date(t0 + 150 * i).toISOString(), level, module: 'sshd', message });
  }
  return out;
}

const aiEntries = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.module === 'AI');

test('log_summary_ai finds the auth-failure burst from one IP in a generated log with noise, as an AI entry with a lang key', async () => {
  const agent = await agentWith(`    dirs: [${join(ROOT, 'python/plugins')}]
    enabled: [log_summary_ai, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`);
  try {
    const log = generatedLog();
    await send(agent, ...log);
    await waitForFile(`${agent.dir}/out.log`, (t) => (t.includes('Multiple auth failures') ? true : undefined), 30_000);
    // Everything analysed, then check that the burst is the only finding in this log.
    const st = await waitForStatus(agent, (s) => s.calls >= log.length);
    assert.equal(st.ai_dropped, 0);
    const ai = aiEntries(readFileSync(`${agent.dir}/out.log`, 'utf8'));
    assert.deepEqual(ai.map((e) => e.message), ['Multiple auth failures from IP 192.168.0.5']);
    assert.equal(ai[0].lang_key, 'ai.auth_failures');
    assert.deepEqual(ai[0].args, ['192.168.0.5']);
    assert.equal(ai[0].level, 'WARN');
    assert.equal(ai[0].source, 'plugin:log_summary_ai');
    assert.equal(ai[0].fields.template, 'Authentication failure for user <*> from <*>');
  } finally {
    await agent.stop();
  }
});

async function waitForStatus(agent: Awaited<ReturnType<typeof agentWith>>, ok: (s: Record<string, any>) => boolean): Promise<Record<string, any>> {
  for (let i = 0; i < 300; i++) {
    const s = await pluginStatus(agent, 'log_summary_ai');
    if (ok(s) && s.ai_queued === 0 && s.ai_inflight === 0) return s;
    await new Promise((r) => setTimeout(r, 100)); // polling the control socket: no event to wait on
  }
  throw new Error('log_summary_ai did not finish');
}

function incident(): Record<string, unknown>[] {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 10; i++) out.push({ timestamp: new Date(t0 + 1000 * i).toISOString(), level: 'INFO', message: `Uploaded batch ${i} with ${i * 7} entries` });
  for (let i = 0; i < 12; i++) out.push({ timestamp: new Date(t0 + 20_000 + 100 * i).toISOString(), level: 'ERROR', message: `Modbus read timeout on unit ${1 + (i % 3)}` });
  out.push({ timestamp: new Date(t0 + 22_000).toISOString(), level: 'WARN', message: 'Watchdog reset on core 1' });
  return out;
}

test('log_summary_ai: new WARN+ template and ERROR spike; an OpenAI-compatible backend (loopback) is used only with the network capability', async () => {
  const requests: any[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ url: req.url, body: JSON.parse(body) });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'Modbus units time out repeatedly.' } }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/chat/completions`;
  const config = (dirs: string) => `    dirs: [${dirs}]
    enabled: [log_summary_ai, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
      log_summary_ai: { warmup_entries: 5, backend_url: "${url}" }
`;
  try {
    // 1. As shipped (no network capability): the backend is not reachable, the analysis is local.
    const local = await agentWith(config(join(ROOT, 'python/plugins')));
    try {
      await local.stderr.waitFor(/log_summary_ai: stderr: backend_url is set but plugin.yaml does not grant the 'network' capability/);
      await send(local, ...incident());
      const ai = await waitForFile(`${local.dir}/out.log`, (t) => {
        const a = aiEntries(t);
        return a.some((e) => e.lang_key === 'ai.new_template' && e.args[1] === 'Watchdog reset on core <*>') ? a : undefined;
      }, 30_000);
      const spike = ai.find((e) => e.lang_key === 'ai.error_spike');
      assert.ok(spike, JSON.stringify(ai));
      assert.equal(spike.level, 'ERROR');
      assert.match(spike.message, /^ERROR rate spike: 10 errors in 10s/);
      assert.ok(ai.some((e) => e.lang_key === 'ai.new_template' && e.args[0] === 'ERROR' && e.args[1] === 'Modbus read timeout on unit <*>'));
      assert.equal(requests.length, 0);
    } finally {
      await local.stop();
    }
    // 2. With `network` granted in its plugin.yaml, each finding also carries the model's summary.
    const net = await agentWith(config('DIR/plugins'), (dir) => {
      cpSync(join(ROOT, 'python/plugins/log_summary_ai'), join(dir, 'plugins/log_summary_ai'), { recursive: true });
      const manifest = join(dir, 'plugins/log_summary_ai/plugin.yaml');
      writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('capability: [drain, window, stream]', 'capability: [drain, window, stream, network]'));
    });
    try {
      await send(net, ...incident());
      const summary = await waitForFile(`${net.dir}/out.log`, (t) => aiEntries(t).find((e) => e.lang_key === 'ai.llm_summary'), 30_000);
      assert.equal(summary.message, 'Summary: Modbus units time out repeatedly.');
      assert.ok(requests.length >= 1);
      assert.equal(requests[0].url, '/v1/chat/completions');
      assert.match(requests[0].body.messages[1].content, /ERROR Modbus read timeout on unit/);
    } finally {
      await net.stop();
    }
  } finally {
    server.close();
  }
});
