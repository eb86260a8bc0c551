/**
 * `make test-plugins`: runs `logloom plugins check` over every plugin in the
 * repository that ships: each static-plugins/<name>, every plugin.yaml or bare
 * filter_/sink_/ai_/lang_ .so/.py file under python/, native/ and examples/, and the C examples in
 * native/examples/ compiled with gcc into a temp dir (filter_faulty, broken on purpose for the
 * isolation tests, and test fixtures are exercised by their own tests). Socket plugins are checked
 * when their service is running. A real TCP receiver is started for sink_tcp and output paths and
 * plugin data go to a temp dir.
 *
 * Then the paths a conformance check of one plugin cannot show, for .so plugins in a running
 * agent (`logloom run`): failure fallback (filter_faulty.so segfaults and loops: the agent logs
 * it, fails open, loses nothing and restarts the host) and limited execution (the host runs under
 * memory_max/pids_max, status names the mechanism).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, globSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;

export function repoPlugins(root = ROOT): string[] {
  const out = new Set<string>();
  for (const m of globSync('static-plugins/*/plugin.yaml', { cwd: root })) out.add(dirname(m));
  for (const base of ['python', 'native', 'examples']) {
    if (!existsSync(join(root, base))) continue;
    for (const m of globSync(`${base}/**/plugin.yaml`, { cwd: root })) out.add(dirname(m));
    for (const m of globSync(`${base}/**/*.yaml`, { cwd: root })) if (!m.endsWith('plugin.yaml') && /\/(filter|sink|ai|lang)_[^/]*\.yaml$/.test(m)) out.add(m);
    for (const f of globSync(`${base}/**/{filter,sink,ai,lang}_*.{so,py}`, { cwd: root })) {
      if (!existsSync(join(root, dirname(f), 'plugin.yaml')) && !existsSync(join(root, f.replace(/\.(so|py)$/, '.yaml')))) out.add(f);
    }
  }
  return [...out].filter((p) => !p.includes('/node_modules/') && !p.includes('/build/')).sort();
}

/** Builds each native/examples/*.c (but the deliberately faulty one) into out/<name>.so. */
export function compileNativeExamples(out: string, root = ROOT): string[] {
  const sources = existsSync(join(root, 'native/examples')) ? globSync('native/examples/*.c', { cwd: root }).filter((f) => !f.includes('faulty')) : [];
  mkdirSync(out, { recursive: true });
  return sources.map((src) => {
    const so = join(out, basename(src).replace(/\.c$/, '.so'));
    const r = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', `-I${join(root, 'native/include')}`, '-o', so, join(root, src)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc ${src}: ${r.stderr}`);
    return so;
  });
}

/** Polls check() until it returns a value (bounded): waits on the agent, never a fixed sleep. */
async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The .so scenarios in a running agent; one report line each, `PASS  …` or `FAIL  …`. */
export async function soScenarios(dir: string, native: string): Promise<string[]> {
  const { spawn } = await import('node:child_process');
  const { readFileSync, copyFileSync } = await import('node:fs');
  const { createConnection } = await import('node:net');
  const { controlRequest } = await import('../lib/control/protocol.ts');
  const run = join(dir, 'so-run');
  mkdirSync(join(run, 'plugins'), { recursive: true });
  const faulty = join(run, 'plugins/filter_faulty.so');
  const r = spawnSync('gcc', ['-shared', '-fPIC', '-O1', `-I${join(ROOT, 'native/include')}`, '-o', faulty, join(ROOT, 'native/examples/filter_faulty.c')], { encoding: 'utf8' });
  if (r.status !== 0) return [`FAIL  so: gcc filter_faulty.c: ${r.stderr}`];
  copyFileSync(join(native, 'filter_keyword.so'), join(run, 'plugins/filter_keyword.so'));
  writeFileSync(join(run, 'plugins/filter_faulty.yaml'), 'name: filter_faulty\nversion: 1.0.0\nauthor: Logloom Team\ntype: filter\nentry: { kind: native, path: filter_faulty.so }\nlimits: { timeout_ms: 500, memory_max: 64MiB, pids_max: 16 }\n');
  const cfg = join(run, 'logloom.yaml');
  writeFileSync(cfg, `logloom:\n  node_id: test-plugins\n  data_dir: ${run}/data\n  runtime_dir: ${run}/run\n  control: { socket: ${run}/run/control.sock }\n  inputs:\n    - { type: unix, path: ${run}/run/ingest.sock }\n  plugins:\n    dirs: [${run}/plugins]\n    enabled: [filter_faulty, filter_keyword, sink_file]\n    failure_threshold: 1\n    config:\n      filter_keyword: { keyword: heartbeat, action: drop }\n      sink_file: { path: ${run}/out.log, format: json }\n`);
  const agent = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts'), 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT });
  let log = '';
  agent.stderr!.on('data', (d) => (log += d.toString()));
  const out: string[] = [];
  const messages = () => {
    try {
      return readFileSync(join(run, 'out.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).message as string);
    } catch {
      return [];
    }
  };
  const send = (...lines: string[]) => new Promise<void>((resolve, reject) => {
    const c = createConnection(join(run, 'run/ingest.sock'), () => c.end(lines.map((m) => JSON.stringify({ message: m })).join('\n') + '\n', () => resolve()));
    c.on('error', reject);
  });
  try {
    await until('the agent to start', () => (/started on node/.test(log) ? true : undefined), 60_000);
    // Failure fallback: a segfault and an endless loop in the plugin host.
    await send('a', 'CRASH_ME', 'heartbeat 1', 'b');
    await until('entries after the crash', () => (messages().includes('b') ? true : undefined));
    await until('the crash report', () => (/Plugin communication failed: filter_faulty: plugin host killed by SIGSEGV/.test(log) ? true : undefined));
    await until('the restart', () => (/Plugin filter_faulty restarted/.test(log) ? true : undefined));
    await send('HANG_ME', 'c');
    await until('entries after the hang', () => (messages().includes('c') ? true : undefined));
    await until('the hang report', () => (/filter_faulty: no answer within 500 ms|filter_faulty: plugin host killed by SIGKILL/.test(log) ? true : undefined));
    await until('the second restart', () => (/Plugin filter_faulty restarted \(restart 2\)/.test(log) ? true : undefined));
    await send('DROP_ME', 'd');
    await until('filtering after the restarts', () => (messages().includes('d') ? true : undefined));
    const got = messages();
    const lost = ['a', 'CRASH_ME', 'b', 'HANG_ME', 'c', 'd'].filter((m) => !got.includes(m));
    const wrong = got.filter((m) => m === 'DROP_ME' || m.startsWith('heartbeat'));
    out.push(lost.length || wrong.length
      ? `FAIL  so-fallback: lost ${JSON.stringify(lost)}, let through ${JSON.stringify(wrong)}`
      : 'PASS  so-fallback: segfault and endless loop in filter_faulty.so reported, failed open (nothing lost), host restarted, filtering resumed');
    // Limited execution: the host under memory_max / pids_max.
    const st = await controlRequest(join(run, 'run/control.sock'), { op: 'status' });
    const p = st.ok ? (st.result as { plugins: { name: string; limits?: { mechanism?: string }; isolation?: string }[] }).plugins.find((x) => x.name === 'filter_faulty') : undefined;
    const mech = p?.limits?.mechanism;
    out.push(p?.isolation === 'process' && mech && mech !== 'none'
      ? `PASS  so-limited: filter_faulty.so runs in its host process under memory_max 64MiB, pids_max 16 (${mech})`
      : `FAIL  so-limited: expected the host under limits, status says ${JSON.stringify(p)}`);
  } catch (e) {
    out.push(`FAIL  so: ${(e as Error).message}\n${log.split('\n').slice(-15).join('\n')}`);
  } finally {
    agent.kill('SIGTERM');
    await new Promise((res) => (agent.exitCode !== null ? res(undefined) : agent.once('exit', res)));
  }
  return out;
}

if (import.meta.main) {
  const received: string[] = [];
  const server = createServer((s) => s.on('data', (d) => received.push(d.toString())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'logloom-test-plugins-'));
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `logloom:\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  plugins:\n    config:\n      sink_tcp: { port: ${port} }\n      sink_file: { path: ${dir}/out.log }\n      sink_console: { stream: stderr }\n      plugin_logger: { output: file, path: ${dir}/chain.log }\n      lang_hot_reload: { dir: ${dir}/locales }\n`);
  mkdirSync(join(dir, 'locales'));
  writeFileSync(join(dir, 'locales/en.yaml'), 'check:\n  hello: "hello %s"\n');
  const plugins = [...repoPlugins(), ...compileNativeExamples(join(dir, 'native'))];
  // Run the CLI as a user would; asynchronously so the receiver above keeps answering.
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts'), 'plugins', 'check', ...plugins, '-c', cfg], { stdio: ['ignore', 'inherit', 'ignore'], cwd: ROOT });
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  server.close();
  const scenarios = await soScenarios(dir, join(dir, 'native'));
  process.stdout.write(`\n${scenarios.join('\n')}\n`);
  const ok = code === 0 && scenarios.every((l) => l.startsWith('PASS'));
  process.stdout.write(`\nmake test-plugins: ${plugins.length} plugins checked, ${scenarios.length} .so scenarios in a running agent, ${ok ? 'all passed' : 'some FAILED'}\n`);
  process.exitCode = ok ? 0 : 1;
}
