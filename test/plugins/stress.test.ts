/**
 * Concurrency stress: many concurrent callers into one plugin of
 * each kind — static (async), .so in its host process, trusted .so in-process, Python child,
 * socket service — for a bounded time. Every call must get exactly its own answers: none lost,
 * none duplicated, none belonging to another caller's batch. Each answer depends on its entry
 * (drop, keep, or a replacement copy that carries the entry's own id), so a mix-up shows.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, type FilterPlugin } from '../../agent/plugins/types.ts';
import { buildEntry } from '../../entry/build.ts';
import type { LogEntry } from '../../entry/entry.ts';
import type { FilterVerdicts } from '../../agent/pipeline/stages.ts';
import { startHarness, type Harness } from './harness.ts';
import { LineWatcher, ROOT, tempDir } from '../helpers/agent.ts';
import { compilePlugin } from '../native/compile.ts';

const CALLERS = 16;
const RUN_MS = 1500;

const PY = `def plugin_info():
    return {"name": "NAME", "version": "1.0.0", "author": "t", "type": "filter"}

def plugin_process(entry):
    n = int(entry["message"].rsplit("-", 1)[1])
    if n % 3 == 0:
        return False
    if n % 3 == 1:
        copy = dict(entry)
        copy["message"] = entry["message"] + "!"
        return copy
    return {"status": 0}
`;

const C = `#include <logloom_plugin.h>
#include <stdlib.h>
#include <string.h>
int plugin_init(void){return 0;} void plugin_shutdown(void){}
int plugin_process(const log_entry_t *e){ const char *d = strrchr(e->message, '-'); return d && strtol(d + 1, 0, 10) % 3 == 0 ? LOGLOOM_DROP : LOGLOOM_KEEP; }
`;

const children: ChildProcess[] = [];
const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.stop().catch(() => {});
  for (const c of children) c.kill('SIGKILL');
});

/** What the plugin must answer for entry number n (booleans only for C plugins). */
function expected(e: LogEntry, n: number, copies: boolean): boolean | string {
  if (n % 3 === 0) return false;
  if (n % 3 === 1 && copies) return `${e.message}!`;
  return true;
}

const opts = { maxMessageBytes: 16384, defaultLevel: 'INFO', defaultModule: 'T', node: 'n', source: 'stress' } as const;

async function hammer(h: Harness, name: string, copies: boolean): Promise<{ calls: number; entries: number }> {
  const sup = h.registry.supervisor(name)!;
  assert.ok(sup?.type === 'filter', `${name} is running, as a filter`);
  const deadline = Date.now() + RUN_MS;
  let calls = 0;
  let entries = 0;
  const seen = new Set<string>();
  const caller = async (c: number) => {
    for (let seq = 0; Date.now() < deadline; seq++) {
      const size = 1 + ((c * 7 + seq * 13) % 20);
      const batch = Array.from({ length: size }, (_, i) => buildEntry({ message: `c${c}-s${seq}-${seq * 31 + i}` }, opts));
      const verdicts: FilterVerdicts = await sup.filterBatch(batch);
      calls++;
      assert.equal(verdicts.length, batch.length, `${name}: caller ${c} call ${seq}: ${verdicts.length} answers for ${batch.length} entries`);
      batch.forEach((e, i) => {
        const want = expected(e, seq * 31 + i, copies);
        const got = verdicts[i];
        const gotShape = typeof got === 'object' ? got.message : got;
        assert.equal(gotShape, want, `${name}: caller ${c} call ${seq} entry ${i} (${e.message}) got ${JSON.stringify(gotShape)}`);
        assert.ok(!seen.has(e.message), 'each entry is asked once');
        seen.add(e.message);
      });
      entries += batch.length;
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, (_, c) => caller(c)));
  assert.equal(sup.failures, 0, `${name}: ${sup.lastError}`);
  assert.equal(sup.failedOpen, 0);
  assert.ok(calls >= CALLERS, `${name}: every caller got at least one answer (${calls} calls)`);
  return { calls, entries };
}

test('stress: 16 concurrent callers into one plugin of each kind for a bounded time: no lost, duplicated or mixed-up answers', async (t) => {
  const dir = tempDir('logloom-stress-');
  chmodSync(dir, 0o755);
  // .so: in its host process and trusted in-process.
  compilePlugin(dir, 'filter_sc.so', { code: C });
  compilePlugin(dir, 'filter_st.so', { code: C });
  writeFileSync(join(dir, 'filter_sc.yaml'), 'name: filter_sc\nversion: 1.0.0\nauthor: t\ntype: filter\nentry: { kind: native, path: filter_sc.so }\nlimits: { timeout_ms: 10000 }\n');
  writeFileSync(join(dir, 'filter_st.yaml'), 'name: filter_st\nversion: 1.0.0\nauthor: t\ntype: filter\nentry: { kind: native, path: filter_st.so, trusted: true }\nlimits: { timeout_ms: 10000 }\n');
  // Python child.
  writeFileSync(join(dir, 'filter_py.py'), PY.replace('NAME', 'filter_py'));
  writeFileSync(join(dir, 'filter_py.yaml'), 'name: filter_py\nversion: 1.0.0\nauthor: t\ntype: filter\nentry: { kind: python, path: filter_py.py }\nlimits: { timeout_ms: 10000, queue_length: 10000 }\n');
  // Socket service: the same Python plugin served by the SDK on a Unix socket.
  const svcDir = tempDir('logloom-stress-svc-');
  chmodSync(svcDir, 0o755);
  writeFileSync(join(svcDir, 'filter_sock_impl.py'), PY.replace('NAME', 'filter_sock'));
  const sock = join(svcDir, 's.sock');
  const svc = spawn('/usr/bin/python3', [join(ROOT, 'python/logloom_plugin/service.py'), '--listen', `unix:${sock}`, '--type', 'filter', '--state-dir', join(svcDir, 'state'), join(svcDir, 'filter_sock_impl.py')], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(svc);
  const svcOut = new LineWatcher();
  svc.stdout!.on('data', (d) => svcOut.feed(d));
  await svcOut.waitFor(/listening on/);
  writeFileSync(join(dir, 'filter_sock.yaml'), `name: filter_sock\nversion: 1.0.0\nauthor: t\ntype: filter\nentry: { kind: socket, address: "unix:${sock}" }\nlimits: { timeout_ms: 10000, queue_length: 10000 }\n`);
  // Static: an async filter, so that calls really interleave.
  const stat = definePlugin({
    info: { name: 'filter_static', version: '1.0.0', author: 't', type: 'filter', capability: [], mode: 'async' },
    limits: { timeout_ms: 10000 },
    create: (): FilterPlugin => ({
      async filter(e) {
        await new Promise((r) => setImmediate(r));
        const n = Number(e.message.slice(e.message.lastIndexOf('-') + 1));
        return n % 3 === 0 ? false : n % 3 === 1 ? { ...e, message: `${e.message}!` } : true;
      },
    }),
  });
  const h = await startHarness({ statics: [stat], dirs: [dir], config: { enabled: ['filter_static', 'filter_sc', 'filter_st', 'filter_py', 'filter_sock'] } });
  harnesses.push(h);
  const refused = h.registry.list().filter((r) => r.state !== 'enabled');
  assert.deepEqual(refused, []);
  const results: Record<string, { calls: number; entries: number }> = {};
  for (const [name, copies] of [['filter_static', true], ['filter_sc', false], ['filter_st', false], ['filter_py', true], ['filter_sock', true]] as const) {
    results[name] = await hammer(h, name, copies);
  }
  t.diagnostic(`calls and entries per plugin: ${JSON.stringify(results)}`);
  for (const [name, r] of Object.entries(results)) assert.ok(r.entries > CALLERS, `${name}: ${JSON.stringify(r)}`);
});
