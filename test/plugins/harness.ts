/**
 * In-process plugin framework set-up for tests: the real registry, supervisor, pipeline and
 * catalogue, with the test's own static plugins (real TypeScript plugins, not mocks) and a log
 * that records its lines.
 */
import { join } from 'node:path';
import { Pipeline } from '../../agent/pipeline/pipeline.ts';
import { Catalogue } from '../../lib/i18n/catalogue.ts';
import { createLog } from '../../lib/log.ts';
import { defaultOf } from '../../lib/schema/validate.ts';
import { pluginsSchema, type PluginsConfig } from '../../agent/plugins/config.ts';
import { PluginRegistry } from '../../agent/plugins/registry.ts';
import { HOST_FACTORIES } from '../../agent/plugins/hosts/index.ts';
import type { HostFactory } from '../../agent/plugins/host.ts';
import type { EntryDraft } from '../../entry/build.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { definePlugin, type PluginKind, type SinkPlugin, type StaticPluginModule } from '../../agent/plugins/types.ts';
import { LineWatcher, tempDir } from '../helpers/agent.ts';
import { until as untilFound } from '../helpers/wait.ts';

export type ConfigOverrides = Partial<Omit<PluginsConfig, 'defaults'>> & { defaults?: Partial<PluginsConfig['defaults']> };

export function pluginsConfig(over: ConfigOverrides = {}): PluginsConfig {
  const base = defaultOf(pluginsSchema({ statics: [], locked: false })) as PluginsConfig; // defaults do not depend on the build
  return { ...base, ...over, defaults: { ...base.defaults, ...(over.defaults ?? {}) } } as PluginsConfig;
}

/** A sink plugin that records what it receives; fails its first `failFirst` flushes. */
export function recordingSink(name = 'sink_record', failFirst = 0) {
  const received: LogEntry[] = [];
  let calls = 0;
  const mod = definePlugin({
    info: { name, version: '1.0.0', author: 'test', type: 'sink', capability: [], mode: 'async' },
    create(): SinkPlugin {
      return {
        async flush(entries) {
          calls++;
          if (calls <= failFirst) throw new Error(`refused batch ${calls}`);
          received.push(...entries);
        },
      };
    },
  });
  return { mod, received, calls: () => calls };
}

export interface Harness {
  registry: PluginRegistry;
  pipeline: Pipeline;
  catalogue: Catalogue;
  log: LineWatcher;
  dir: string;
  send(draft: EntryDraft | string): void;
  stop(): Promise<void>;
}

export async function startHarness(opts: {
  statics: StaticPluginModule[];
  config?: ConfigOverrides;
  dirs?: string[];
  hosts?: Partial<Record<PluginKind, HostFactory>>;
  locked?: boolean;
  restartMinMs?: number;
}): Promise<Harness> {
  const dir = tempDir('logloom-plugins-');
  const log = new LineWatcher();
  const agentLog = createLog('DEBUG', (l) => log.feed(l + '\n'));
  const config = pluginsConfig(opts.config);
  const catalogue = new Catalogue('en');
  const pipeline = new Pipeline({ node: 'test-node', maxMessageBytes: 16 * 1024, bufferEntries: 100_000, bufferBytes: 64 * 1024 * 1024 });
  const registry = new PluginRegistry({
    config, log: agentLog, statics: opts.statics, hosts: opts.hosts ?? HOST_FACTORIES, locked: opts.locked ?? false,
    env: { python: '/usr/bin/python3', runtimeDir: join(dir, 'run'), dataDir: join(dir, 'data'), log: agentLog },
    dirs: opts.dirs ?? [], restartMinMs: opts.restartMinMs ?? 50,
    contextFor: (name) => ({
      config: (config.config[name] ?? {}) as Record<string, unknown>, node: 'test-node', stateDir: join(dir, 'state', name), log: agentLog.child(name),
      render: (k, a) => catalogue.render(k, a ?? []),
      emit: pipeline.pluginEmitter(name),
    }),
  });
  await registry.start(pipeline, catalogue);
  const port = pipeline.inputPort('test', 'block', { level: 'INFO', module: 'TEST' });
  return {
    registry, pipeline, catalogue, log, dir,
    send: (d) => void port.emit(typeof d === 'string' ? { message: d } : d),
    stop: async () => {
      await pipeline.drain(2000);
      await registry.stop();
    },
  };
}

/** Resolves as soon as check() is true (re-checked every 10 ms, bounded by timeoutMs): no fixed sleeps. */
export async function until(_pipeline: Pipeline, check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  await untilFound(check, timeoutMs, what, 10);
}
