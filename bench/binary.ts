/**
 * Figures of the packaged executables (make package): size raw and gzipped, start-up to ready
 * (`logloom run` until "started on node"), idle RSS. x64 runs natively; arm64 runs under qemu
 * user emulation and is labelled emulated (its times say nothing about a real arm64 board, and
 * its RSS would be qemu's, so it is not shown). Medians of 5 runs.
 *
 *   make package && node bench/binary.ts            (or: make bench)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNS = 5;

interface Artefact {
  label: string;
  file: string;
  argv: (args: string[]) => string[];
  emulated: boolean;
}

const artefacts: Artefact[] = [];
for (const name of ['logloom-linux-x64', 'logloom-linux-x64-locked', 'logloom-linux-arm64', 'logloom-linux-arm64-locked']) {
  const file = join(ROOT, 'dist/bin', name);
  if (!existsSync(file)) continue;
  const emulated = name.includes('arm64');
  artefacts.push({
    label: emulated ? `${name} (arm64 under qemu: emulated)` : name,
    file,
    argv: emulated ? (a) => [join(ROOT, 'toolchain/qemu-userns.sh'), 'arm64', file, ...a] : (a) => [file, ...a],
    emulated,
  });
}
// Reference: the same bundle run by a plain Node (what the SEA costs on top of it).
const bundleFile = join(ROOT, 'dist/logloom-default.mjs');
if (existsSync(bundleFile)) {
  artefacts.push({ label: 'reference: dist/logloom-default.mjs on node 24', file: bundleFile, argv: (a) => [process.execPath, bundleFile, ...a], emulated: false });
}
if (artefacts.length === 0) {
  process.stderr.write('bench/binary: no artefacts in dist/bin; run make package first\n');
  process.exit(1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function config(dir: string): string {
  const file = join(dir, 'logloom.yaml');
  writeFileSync(file, `logloom:\n  node_id: bench\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  inputs:\n    - type: unix\n      path: ${dir}/run/ingest.sock\n  plugins:\n    enabled: [sink_file]\n    config:\n      sink_file: { path: ${dir}/out.log }\n  control:\n    socket: ${dir}/run/control.sock\n`);
  return file;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Starts `run`, resolves with ms until ready and (after settling idle) the RSS, then stops it. */
function runOnce(a: Artefact, measureRss: boolean): Promise<{ readyMs: number; rss: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'logloom-bench-'));
  const [cmd, ...args] = a.argv(['run', '-c', config(dir)]);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LOGLOOM_RUNTIME_DIR: join(dir, 'native') } });
  return new Promise((resolve, reject) => {
    let err = '';
    let done = false;
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (done || !/started on node/.test(err)) return;
      done = true;
      const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
      // Idle RSS: after the start-up garbage is collected and nothing arrives.
      setTimeout(() => {
        const rss = measureRss ? rssKiB(child.pid!) : NaN;
        child.kill('SIGTERM');
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve({ readyMs, rss });
        });
      }, measureRss ? 3000 : 0);
    });
    child.once('exit', (code) => {
      if (!done) reject(new Error(`${a.label} exited ${code} before ready:\n${err}`));
    });
  });
}

const rows: string[][] = [['artefact', 'size MiB', 'gzip MiB', 'start-up to ready ms (median of 5)', 'idle RSS MiB (median of 5)']];
for (const a of artefacts) {
  const bytes = readFileSync(a.file);
  const size = statSync(a.file).size / 1048576;
  const gz = gzipSync(bytes, { level: 6 }).length / 1048576;
  const ready: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runOnce(a, !a.emulated);
    ready.push(r.readyMs);
    rss.push(r.rss);
  }
  rows.push([a.label, size.toFixed(1), gz.toFixed(1), median(ready).toFixed(0), a.emulated ? 'n/a (emulated)' : (median(rss) / 1024).toFixed(1)]);
  process.stderr.write(`bench/binary: ${a.label}: ready ${ready.map((x) => x.toFixed(0)).join(', ')} ms\n`);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) process.stdout.write(r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd() + '\n');
process.stdout.write(`\nre-run: make package && node bench/binary.ts   (${new Date().toISOString()}, ${process.arch}, ${RUNS} runs each)\n`);
