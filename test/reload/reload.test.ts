import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { agentStatus, Generator, startAgent } from '../forward/helpers.ts';
import { until } from '../helpers/wait.ts';
import { runCli, tempDir } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';

const body = (extra: { appLabels?: string; inputs?: string; routes?: string; top?: string }) => `${extra.top ?? ''}  inputs:
    - type: file
      name: app
      path: DIR/app.log
      poll_interval: 20ms
      labels: { ${extra.appLabels ?? 'gen: one'} }
${extra.inputs ?? ''}  plugins:
    enabled: [sink_file]
    config:
      sink_file:
        path: DIR/out.ndjson
        format: json
        max_bytes: 1GiB
${extra.routes ?? ''}`;

/** Rewrites the agent's config file the way an operator edits it (same preamble as startAgent's). */
function rewrite(configPath: string, dir: string, text: string): void {
  const preamble = readFileSync(configPath, 'utf8').split('  inputs:')[0]!;
  writeFileSync(configPath, preamble.replace(/^[\s\S]*?(logloom:)/, '$1') + text.replaceAll('DIR', dir));
}

type Out = { message: string; labels?: Record<string, string>; source?: string };
const read = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Out);

test('reload under load: inputs added, changed and removed, labels and routes changed, a bad file refused — every accepted line delivered', async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, '');
  const agent = await startAgent(body({}), dir);
  const TOTAL = Number(process.env.RELOAD_TOTAL ?? 60_000);
  try {
    const gen = new Generator(`${dir}/app.log`, TOTAL, 500, 100);
    await until(async () => gen.written >= 10_000, 60_000, () => 'generator slow');

    // 1. `logloom reload`: app's labels change (it restarts), a unix input is added.
    rewrite(agent.configPath, dir, body({ appLabels: 'gen: two', inputs: '    - type: unix\n      name: side\n      path: DIR/side.sock\n' }));
    let r = await runCli(['reload', '-c', agent.configPath]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /inputs added: side; inputs restarted: app|inputs restarted: app; inputs added: side/);
    await sendLines(`${dir}/side.sock`, ['from the added input']);

    // 2. A broken file is refused; the agent keeps the running configuration.
    await until(async () => gen.written >= 25_000, 60_000, () => 'generator slow');
    writeFileSync(agent.configPath, readFileSync(agent.configPath, 'utf8').replace('poll_interval: 20ms', 'poll_interval: 20ms\n      bogus_key: 1'));
    r = await runCli(['reload', '-c', agent.configPath]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not applied \(still running the previous one\).*inputs\[0\]\.bogus_key: unknown key/s);

    // 3. SIGHUP: the unix input goes, app's labels change again, a route limits sink_file to WARN+ from side… then back.
    await until(async () => gen.written >= 40_000, 60_000, () => 'generator slow');
    rewrite(agent.configPath, dir, body({ appLabels: 'gen: three' }));
    agent.proc.kill('SIGHUP');
    await until(async () => agent.stderr.lines.some((l) => /reload .*inputs restarted: app.*inputs removed: side/.test(l)), 30_000, () => agent.stderr.lines.slice(-5).join('\n'));

    await gen.done;
    await until(async () => {
      const nums = new Set(read(`${dir}/out.ndjson`).map((e) => /^n=(\d+)/.exec(e.message)?.[1]).filter((x) => x !== undefined));
      return nums.size === TOTAL;
    }, 120_000, async () => `lines missing: ${TOTAL - new Set(read(`${dir}/out.ndjson`).map((e) => /^n=(\d+)/.exec(e.message)?.[1]).filter((x) => x !== undefined)).size}; status: ${await agentStatus(agent.configPath).then((st) => JSON.stringify(st.inputs), (e: Error) => e.message)}; log: ${agent.stderr.lines.slice(-40).join('\n')}`);
    const out = read(`${dir}/out.ndjson`);
    const numbered = out.filter((e) => e.message.startsWith('n='));
    const labels = new Set(numbered.map((e) => e.labels?.gen));
    assert.deepEqual([...labels].sort(), ['one', 'three', 'two']);
    assert.ok(out.some((e) => e.message === 'from the added input'));
    const dup = numbered.length - TOTAL;
    // A restarted file input resumes from its committed position: lines in flight at that moment may come twice (at-least-once), never zero times.
    console.log(`reload under load: ${TOTAL} lines, all delivered, ${dup} repeated`);
    const st = await agentStatus(agent.configPath);
    assert.deepEqual(st.inputs.map((i: { name: string }) => i.name), ['app']);
  } finally {
    await agent.stop();
  }
});

test('reload: routes and enabled plugins change without a restart; keys that need one are named', async () => {
  const dir = tempDir();
  const agent = await startAgent(body({ inputs: '    - type: unix\n      name: side\n      path: DIR/side.sock\n' }), dir);
  try {
    await sendLines(`${dir}/side.sock`, ['[INFO] before']);
    await until(async () => (await agentStatus(agent.configPath)).sinks[0].delivered >= 1, 30_000, () => 'not delivered');
    rewrite(agent.configPath, dir, body({
      inputs: '    - type: unix\n      name: side\n      path: DIR/side.sock\n',
      routes: '  routes:\n    - name: warn_only\n      match: { min_level: WARN }\n      sinks: [sink_file]\n',
    }).replace('  inputs:', '  max_message_bytes: 4096\n  inputs:').replace('enabled: [sink_file]', 'enabled: [filter_dedupe, sink_file]'));
    const r = await runCli(['reload', '--json', '-c', agent.configPath]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.deepEqual(res.restart_needed, ['max_message_bytes']);
    assert.match(res.summary, /routes replaced; plugins enabled: filter_dedupe/);
    await sendLines(`${dir}/side.sock`, ['[INFO] dropped by the route', '[WARN] kept', '[WARN] kept']);
    await until(async () => (await agentStatus(agent.configPath)).routes[0]?.matched === 1, 30_000, async () => JSON.stringify((await agentStatus(agent.configPath)).routes));
    const st = await agentStatus(agent.configPath);
    assert.equal(st.filters.find((f: { name: string }) => f.name === 'filter_dedupe').dropped_by_filter, 1);
  } finally {
    await agent.stop();
  }
});
