import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { waitForFile } from '../../helpers/wait.ts';
import { detectMechanism } from '../../../agent/plugins/limits/mechanism.ts';
import { agentWith, pluginStatus, PY_FIXTURES, send } from './helpers.ts';

/** Real cgroups: this machine kind has writable v1 memory/cpu/pids controllers (v2 where mounted). */
const mechanism = detectMechanism();
const skip = mechanism === 'cgroup1' || mechanism === 'cgroup2' ? false : `cgroups not writable here (mechanism: ${mechanism}); limits fall back to rlimits`;
if (skip) console.log(`# skipping cgroup limit tests: ${skip}`);

const limited = (limits: string) => `    dirs: [${PY_FIXTURES}]
    enabled: [filter_faulty, sink_file]
    failure_threshold: 1
    limits:
      filter_faulty: { ${limits} }
    config:
      sink_file: { path: DIR/out.log, format: json }
`;

async function passes(agent: Awaited<ReturnType<typeof agentWith>>, msg: string): Promise<void> {
  await send(agent, 'drop-me', msg);
  await waitForFile(`${agent.dir}/out.log`, (t) => (t.includes(`"${msg}"`) ? true : undefined), 20_000);
}

test('memory bomb: killed by memory_max (cgroup), reported, restarted; other entries keep flowing', { skip }, async () => {
  const agent = await agentWith(limited('memory_max: 48MiB, timeout_ms: 20000'));
  try {
    const before = await pluginStatus(agent, 'filter_faulty');
    assert.equal(before.limits.mechanism, mechanism);
    const group = `/sys/fs/cgroup/memory/logloom/${agent.proc.pid}.filter_faulty`;
    if (mechanism === 'cgroup1') assert.ok(existsSync(group), `${group} exists while the plugin runs`);
    await send(agent, 'memory');
    await agent.stderr.waitFor(/\[ERROR\] Plugin communication failed: filter_faulty: killed by the memory limit \(memory_max 50331648\)/, 30_000);
    await agent.stderr.waitFor(/Plugin filter_faulty restarted/, 20_000);
    await passes(agent, 'after-memory');
    const after = await pluginStatus(agent, 'filter_faulty');
    assert.ok(after.limits.oom_kills >= 1, JSON.stringify(after.limits));
  } finally {
    await agent.stop();
  }
  // The agent removes its own groups.
  assert.equal(existsSync(`/sys/fs/cgroup/memory/logloom/${agent.proc.pid}.filter_faulty`), false);
});

test('fork bomb (threads: fork itself is refused by the sandbox) is stopped by pids_max', { skip }, async () => {
  const agent = await agentWith(limited('pids_max: 12, timeout_ms: 20000'));
  try {
    await send(agent, 'threads');
    const line = await agent.stderr.waitFor(/Plugin communication failed: filter_faulty: .*thread bomb stopped after (\d+) threads/, 30_000);
    const started = Number(/after (\d+) threads/.exec(line)![1]);
    assert.ok(started < 12, `only ${started} threads could start`);
    const st = await pluginStatus(agent, 'filter_faulty');
    assert.ok(st.limits.pids_refused >= 1, JSON.stringify(st.limits));
    await passes(agent, 'after-threads');
  } finally {
    await agent.stop();
  }
});

test('busy loop is held to its cpu_max share (measured from the cgroup CPU accounting)', { skip }, async () => {
  const agent = await agentWith(limited('cpu_max: 0.2, timeout_ms: 30000'));
  try {
    const before = await pluginStatus(agent, 'filter_faulty');
    const t0 = process.hrtime.bigint();
    await passes(agent, 'spin:2.5');
    const wallNs = Number(process.hrtime.bigint() - t0);
    const after = await pluginStatus(agent, 'filter_faulty');
    const share = (after.limits.cpu_ns - before.limits.cpu_ns) / wallNs;
    console.log(`# busy loop used ${(share * 100).toFixed(1)}% of one core over ${(wallNs / 1e9).toFixed(2)} s with cpu_max 0.2`);
    // Generous bound: unlimited it would take a whole core (share ≈ 1) if the machine let it.
    assert.ok(share > 0 && share < 0.4, `share ${share}`);
  } finally {
    await agent.stop();
  }
});

test('groups left behind by a killed agent are removed; the agent names its own <pid>.<plugin> and removes them', { skip }, async () => {
  const { mkdirSync } = await import('node:fs');
  const { applyLimits } = await import('../../../agent/plugins/limits/mechanism.ts');
  const dead = 2_147_483; // above the usual pid_max (32768 here, 4194304 at most elsewhere is rare): not running
  const stale = ['memory', 'cpu', 'pids'].map((c) => `/sys/fs/cgroup/${c}/logloom/${dead}.filter_old`);
  if (mechanism === 'cgroup1') for (const d of stale) mkdirSync(d, { recursive: true });
  const applied = applyLimits('filter_new', { memory_max: 32 * 1024 * 1024, cpu_max: 0.5, pids_max: 8 });
  try {
    assert.equal(applied.mechanism, mechanism);
    if (mechanism === 'cgroup1') {
      for (const d of stale) assert.equal(existsSync(d), false, `${d} removed`);
      assert.ok(applied.procsFiles.every((f) => f.includes(`/logloom/${process.pid}.filter_new/`)), applied.procsFiles.join(' '));
    }
  } finally {
    applied.remove();
  }
  for (const f of applied.procsFiles) assert.equal(existsSync(f), false);
});
