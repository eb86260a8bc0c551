/**
 * `make test-plugins` (seed §8.3): runs `logloom plugins check` over every plugin in the
 * repository that ships: each static-plugins/<name>, every plugin.yaml or bare
 * filter_/sink_/ai_/lang_ .so/.py file under python/, native/ and examples/, and the C examples in
 * native/examples/ compiled with gcc into a temp dir (filter_faulty, broken on purpose for the
 * isolation tests, and test fixtures are exercised by their own tests). Socket plugins are checked
 * when their service is running. A real TCP receiver is started for sink_tcp and output paths and
 * plugin data go to a temp dir.
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
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'agent/cli/main.ts'), 'plugins', 'check', ...plugins, '-c', cfg], { stdio: ['ignore', 'inherit', 'ignore'], cwd: ROOT });
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  server.close();
  process.stdout.write(`\nmake test-plugins: ${plugins.length} plugins checked, ${code === 0 ? 'all passed' : 'some FAILED'}\n`);
  process.exitCode = code;
}
