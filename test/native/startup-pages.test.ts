/**
 * Releasing the executable's start-up pages (native/addon/src/startup-pages.h): after start-up
 * the agent and the aggregator unmap the pages of their executable that only starting touched,
 * so that their idle RSS counts what they use. Real processes, RSS read from /proc.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startAgent, tempDir } from '../helpers/agent.ts';

/** RSS of a live process from /proc/PID/status, KiB: all, anonymous, mapped files. */
function rss(pid: number | 'self'): { all: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)![1]);
  return { all: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}

describe('start-up pages of the executable', () => {
  it('are released: resident file pages drop, the KiB reported are those, and the process runs on (JIT, regexps, zlib, Intl)', () => {
    const probe = join(tempDir('logloom-pages-'), 'probe.ts');
    writeFileSync(probe, `
      import { readFileSync } from 'node:fs';
      import { deflateSync, inflateSync } from 'node:zlib';
      import { loadAddon } from ${JSON.stringify(join(ROOT, 'lib/native-runtime.ts'))};
      const file = () => Number(/RssFile:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
      const addon = loadAddon();
      const before = file();
      const [mappings, kib] = addon.releaseStartupPages();
      const after = file();
      // Work that needs code and data of the executable not touched since: it is mapped again.
      let sum = 0;
      for (let i = 0; i < 200000; i++) sum += JSON.stringify({ i, s: 'x'.repeat(i % 50) }).length;
      const ok = /\\p{L}+/u.test('Grüße') && inflateSync(deflateSync(Buffer.alloc(100000, 7))).length === 100000
        && new Intl.NumberFormat('de-DE').format(1234.5) === '1.234,5';
      console.log(JSON.stringify({ before, after, mappings, kib, sum, ok, later: file() }));
    `);
    const out = JSON.parse(execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', probe], { encoding: 'utf8' }));
    assert.ok(out.mappings >= 1, `mappings released: ${out.mappings}`);
    assert.ok(out.kib > 4096, `released ${out.kib} KiB`);
    // Reading /proc and returning to JS map some pages again at once.
    assert.ok(out.before - out.after >= out.kib * 0.6, `RssFile ${out.before} → ${out.after} KiB, reported ${out.kib}`);
    assert.equal(out.ok, true);
    assert.ok(out.sum > 0);
    assert.ok(out.later > out.after, 'pages touched again are mapped again');
  });

  it('the running agent holds a fraction of the file pages start-up touched, and says what it released', async () => {
    const agent = await startAgent(`  log_level: DEBUG\n  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n`);
    try {
      const line = await agent.stderr.waitFor(/released [\d.]+ MiB of start-up pages of the executable \(\d+ mappings\)/);
      const mib = Number(/released ([\d.]+) MiB/.exec(line)![1]);
      assert.ok(mib > 8, `released ${mib} MiB`);
      const r = rss(agent.proc.pid!);
      assert.ok(r.file < mib * 1024, `mapped file pages now ${r.file} KiB, released ${mib} MiB`);
    } finally {
      await agent.stop();
    }
  });
});
