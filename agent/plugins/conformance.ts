/**
 * `logloom plugins check <path>`: loads one plugin of any kind through its host and
 * the supervisor, runs the lifecycle (start + info, process generated entries, shutdown) and
 * checks every answer against the protocol. Returns a pass/fail report.
 */
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { LogEntry } from '../../entry/entry.ts';
import { buildEntry, type EntryDraft } from '../../entry/build.ts';
import { defaultOf } from '../../lib/schema/validate.ts';
import { createLog, type AgentLog } from '../../lib/log.ts';
import type { PluginsConfig } from './config.ts';
import { PluginLoadError, type HostEnv, type HostFactory } from './host.ts';
import type { DiscoveredPlugin } from './discovered.ts';
import { discover, failedPluginName, fromFile, fromManifest, staticPlugin } from './discovery.ts';
import { MANIFEST_FILE } from './manifest.ts';
import { supervise } from './supervisor/index.ts';
import { loadPublicKey } from './signing.ts';
import { PluginVerifier } from './verified-copy.ts';
import { ChainTracer } from './chain-tracer.ts';
import type { PluginContext, StaticPluginModule } from './types.ts';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface CheckReport {
  plugin: string;
  results: CheckResult[];
  passed: boolean;
}

export interface CheckOptions {
  config: PluginsConfig;
  statics: readonly StaticPluginModule[];
  hosts: Partial<Record<string, HostFactory>>;
  env: Omit<HostEnv, 'log'>;
  /** Config block for the plugin (else plugins.config.<name>, else its schema's defaults). */
  pluginConfig?: Record<string, unknown>;
  log?: AgentLog;
  entries?: number;
  /** Plugin directories to find a plugin given by name (plugins.dirs of the configuration, and the system one). */
  dirs?: readonly string[];
}

/** Finds what `path` names: a static plugin (name or static-plugins/<name>), a dir with plugin.yaml, a manifest, or a bare file. */
export function locate(path: string, opts: Pick<CheckOptions, 'config' | 'statics' | 'dirs'>): DiscoveredPlugin {
  const byName = opts.statics.find((m) => m.info.name === path || resolve(path) === resolve('static-plugins', m.info.name));
  if (byName) return staticPlugin(byName, opts.config);
  if (!existsSync(path)) {
    // A plain name: the plugin of that name in the plugin directories, as the agent would find it.
    if (!path.includes('/') && opts.dirs) {
      const found = discover({ statics: [], config: opts.config, dirs: opts.dirs });
      const p = found.plugins.find((x) => x.name === path);
      if (p) return p;
      const refused = found.failures.find((f) => failedPluginName(f.file) === path);
      if (refused) throw refused;
      throw new PluginLoadError(path, `no such file, directory, compiled-in plugin, or plugin in ${opts.dirs.join(', ')}`);
    }
    throw new PluginLoadError(path, 'no such file, directory or compiled-in plugin');
  }
  if (statSync(path).isDirectory()) {
    const m = join(path, MANIFEST_FILE);
    if (!existsSync(m)) throw new PluginLoadError(path, `no ${MANIFEST_FILE} in this directory`);
    const staticName = opts.statics.find((s) => basename(resolve(path)) === s.info.name);
    if (staticName) return staticPlugin(staticName, opts.config);
    return fromManifest(m, opts.config, m);
  }
  if (/\.ya?ml$/.test(path)) return fromManifest(path, opts.config, path);
  const beside = path.replace(/\.(so|py)$/, '.yaml');
  if (beside !== path && existsSync(beside)) return fromManifest(beside, opts.config, beside);
  return fromFile(resolve(path), opts.config);
}

/** Entries a device might send: levels, modules, a lang key, unicode, an IP, a long line. */
export function generatedEntries(n: number): LogEntry[] {
  const drafts: EntryDraft[] = [
    { level: 'INFO', module: 'CORE', message: 'User logged in', lang_key: 'auth.login', args: ['alice'] },
    { level: 'DEBUG', module: 'NET', message: 'dhcp lease from 192.168.1.1 for 3600s' },
    { level: 'WARN', module: 'SENSOR', message: 'temperature 81.5°C above threshold 80' },
    { level: 'ERROR', module: 'AUTH', message: 'login failed for bob@example.com token=abc123' },
    { level: 'FATAL', module: 'KERNEL', message: 'Oops: 0000 [#1] PREEMPT SMP' },
    { level: 'INFO', module: 'APP', message: '日志 ünïcödé ✓', fields: { user: 'alice', ok: true, n: 3 } },
    { level: 'INFO', module: 'APP', message: 'x'.repeat(2000) },
  ];
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) {
    const d = drafts[i % drafts.length]!;
    out.push(buildEntry({ ...d, source: 'check', timestamp: Date.UTC(2025, 3, 30, 12, 0, i) }, { maxMessageBytes: 16 * 1024, defaultLevel: 'INFO', defaultModule: 'CHECK', node: 'check-node' }));
  }
  return out;
}

/** Schema defaults, with output `path`s moved into the check's temp dir so a check writes nothing outside it. */
function checkDefaults(config: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out = { ...config };
  if (typeof out.path === 'string') out.path = join(dir, basename(out.path));
  return out;
}

export async function checkPlugin(path: string, opts: CheckOptions): Promise<CheckReport> {
  const results: CheckResult[] = [];
  const pass = (name: string, detail: string) => results.push({ name, ok: true, detail });
  const fail = (name: string, detail: string) => results.push({ name, ok: false, detail });
  const lines: string[] = [];
  const log = opts.log ?? createLog('INFO', (l) => lines.push(l));
  let plugin: DiscoveredPlugin;
  try {
    plugin = locate(path, opts);
    pass('discover', `${plugin.kind} ${plugin.type} plugin ${plugin.name} from ${plugin.origin}`);
  } catch (e) {
    fail('discover', e instanceof PluginLoadError ? e.line : (e as Error).message);
    return { plugin: path, results, passed: false };
  }
  let verifier: PluginVerifier | undefined;
  if (plugin.kind !== 'static') {
    // Same order as the agent: the plugin is verified before it is loaded or spawned (and again,
    // by the host, on the bytes it loads).
    const keys = opts.config.trusted_keys.flatMap((k) => {
      try {
        return [loadPublicKey(k)];
      } catch {
        return [];
      }
    });
    verifier = new PluginVerifier(() => keys, false);
    const sig = verifier.check(plugin);
    if (sig.state === 'modified') {
      fail('signature', `modified: ${sig.detail}`);
      return { plugin: plugin.name, results, passed: false };
    }
    pass('signature', `${sig.state}: ${sig.detail}`);
  }
  const factory = opts.hosts[plugin.kind];
  if (!factory) {
    fail('host', `${plugin.kind} plugins are not supported in this build`);
    return { plugin: plugin.name, results, passed: false };
  }
  const stateDir = mkdtempSync(join(tmpdir(), `logloom-check-${plugin.name}-`));
  const schema = plugin.staticModule?.configSchema;
  const config = opts.pluginConfig ?? (opts.config.config[plugin.name] as Record<string, unknown> | undefined) ?? (schema ? checkDefaults(defaultOf(schema) as Record<string, unknown>, stateDir) : {});
  const emitted: EntryDraft[] = [];
  const ctx: PluginContext = {
    config, node: 'check-node', stateDir, log: log.child(plugin.name), render: (k) => k, emit: (d) => void emitted.push(d), chain: () => [],
  };
  const sup = supervise(plugin, factory(plugin, { ...opts.env, log, ...(verifier ? { verifier } : {}) }), { log, context: ctx, failureThreshold: 1_000_000, tracer: new ChainTracer() });
  try {
    const info = await sup.start();
    // A socket plugin's host starts without its service (the agent waits for it in the background);
    // a check must not call that a pass: the service itself has to answer.
    if (plugin.kind === 'socket' && sup.status().connected !== true) {
      const why = lines.map((l) => /(cannot connect to .*?)(; retrying|$)/.exec(l)?.[1]).find(Boolean) ?? (String(sup.status().last_error ?? '') || 'not connected');
      fail('start', `the service did not answer: ${why} (is it running?)`);
      await sup.stop().catch(() => {});
      return { plugin: plugin.name, results, passed: false };
    }
    pass('start', `init and info answered: ${info.name} ${info.version} by ${info.author}, type ${info.type}, mode ${info.mode}, capability [${info.capability.join(', ')}]`);
  } catch (e) {
    fail('start', e instanceof PluginLoadError ? e.line : (e as Error).message);
    return { plugin: plugin.name, results, passed: false };
  }
  const entries = generatedEntries(opts.entries ?? 21);
  const before = entries.map((e) => JSON.stringify(e));
  const t0 = performance.now();
  try {
    switch (sup.type) {
      case 'filter': {
        const verdicts = await sup.filterBatch(entries);
        const failures = sup.failures;
        if (failures) fail('process', `filter failed: ${sup.lastError}`);
        else if (verdicts.length !== entries.length) fail('process', `${verdicts.length} verdicts for ${entries.length} entries`);
        else {
          const kept = verdicts.filter((v) => v !== false).length;
          const replaced = verdicts.filter((v) => typeof v === 'object').length;
          const frozen = verdicts.every((v) => typeof v !== 'object' || Object.isFrozen(v));
          // What the copies changed, as the agent applied them: a copy that changes nothing is
          // reported too, so a filter whose replacement never took effect does not read as a redactor.
          const changed = new Set<string>();
          verdicts.forEach((v, i) => {
            if (typeof v !== 'object') return;
            for (const k of new Set([...Object.keys(v), ...Object.keys(entries[i]!)])) {
              if (JSON.stringify((v as unknown as Record<string, unknown>)[k]) !== JSON.stringify((entries[i] as unknown as Record<string, unknown>)[k])) changed.add(k);
            }
          });
          const what = replaced ? `, changing ${changed.size ? [...changed].sort().join(', ') : 'nothing'}` : '';
          if (!frozen) fail('process', 'a replacement entry is not frozen');
          else if (sup.fixedFieldChanges) fail('process', `${sup.fixedFieldChanges} replacement copies changed timestamp, node, source or seq (the agent keeps those from the original; a filter may change message, level, module, lang_key, args and fields only)`);
          else pass('process', `${entries.length} entries: ${kept} kept (${replaced} replaced by a copy${what}), ${entries.length - kept} dropped`);
        }
        break;
      }
      case 'sink':
        await sup.flushBatch(entries.slice(0, 10));
        await sup.flushBatch(entries.slice(10));
        pass('process', `2 batches (${entries.length} entries) flushed`);
        break;
      case 'ai': {
        let n = 0;
        for (const e of entries.slice(0, 5)) n += (await sup.analyzeOnce(e)).length;
        pass('process', `5 entries analysed, ${n} results`);
        break;
      }
      case 'lang': {
        const r = sup.resolver();
        const answers = ['agent.started', 'no.such.key.for.check'].flatMap((k) => ['en', 'zh'].map((l) => r(k, l)));
        if (sup.failures) fail('process', `resolve failed: ${sup.lastError}`);
        else pass('process', `resolve answered ${answers.filter((a) => a !== null).length} of ${answers.length} lookups with a template, the rest null`);
        break;
      }
    }
  } catch (e) {
    fail('process', (e as Error).message);
  }
  const micros = Math.round(((performance.now() - t0) * 1000) / entries.length);
  if (entries.every((e, i) => Object.isFrozen(e) && JSON.stringify(e) === before[i])) pass('immutability', 'no entry handed to the plugin changed');
  else fail('immutability', 'an entry changed while the plugin had it');
  if (sup.failures === 0) pass('errors', `no communication errors (${micros} us per entry)`);
  else fail('errors', `${sup.failures} communication errors, last: ${sup.lastError}`);
  try {
    await sup.stop();
    pass('shutdown', 'stopped cleanly');
  } catch (e) {
    fail('shutdown', (e as Error).message);
  }
  for (const l of lines) if (/^\[(WARN|ERROR)\]/.test(l)) results.push({ name: 'log', ok: true, detail: l });
  return { plugin: plugin.name, results, passed: results.every((r) => r.ok) };
}

export function renderReport(r: CheckReport): string {
  const lines = r.results.map((x) => `${x.name === 'log' ? 'note' : x.ok ? 'PASS' : 'FAIL'}  ${x.name === 'log' ? '' : `${x.name}: `}${x.detail}`);
  const failed = r.results.filter((x) => !x.ok).length;
  lines.push(`${r.passed ? 'PASS' : 'FAIL'} ${r.plugin}: ${r.results.filter((x) => x.ok && x.name !== 'log').length} passed, ${failed} failed`);
  return lines.join('\n') + '\n';
}
