/**
 * The plugin registry: discovers plugins (static table, directories), validates them, checks
 * signatures before anything is loaded or spawned, starts the enabled ones under the supervisor
 * in the order of plugins.enabled, and hooks them into the pipeline (filters, sinks, ai) and the
 * catalogue (lang). It also answers `plugins list` and run-time enable/disable.
 */
import type { KeyObject } from 'node:crypto';
import type { AgentLog } from '../log.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { SinkRunner } from '../pipeline/sink-runner.ts';
import type { Catalogue } from '../i18n/catalogue.ts';
import type { PluginsConfig } from './config.ts';
import { PluginLoadError, type HostEnv, type HostFactory } from './host.ts';
import type { DiscoveredPlugin } from './discovered.ts';
import { discover, failedPluginName, shownName, SYSTEM_PLUGIN_DIR } from './discovery.ts';
import { typeFromFileName } from './info.ts';
import { checkSignature, loadPublicKey, type SignatureState } from './signing.ts';
import { Supervisor } from './supervisor.ts';
import { ChainTracer } from './chain-tracer.ts';
import type { PluginContext, PluginInfo, PluginKind, PluginMode, PluginType, StaticPluginModule } from './types.ts';

export type PluginState = 'enabled' | 'disabled' | 'failed' | 'refused';

/** One line of `logloom plugins list`. */
export interface PluginRecord {
  name: string;
  kind: PluginKind;
  /** Unknown only for a file refused before its type was known. */
  type?: PluginType;
  version?: string;
  mode?: PluginMode;
  state: PluginState;
  /** builtin: compiled into the binary; n/a: a socket service (no file to hash). */
  signature: SignatureState | 'builtin' | 'n/a';
  origin: string;
  reason?: string;
}

export interface RegistryOptions {
  config: PluginsConfig;
  /** The agent's untagged log: the fixed lines are contracts. */
  log: AgentLog;
  statics: readonly StaticPluginModule[];
  hosts: Partial<Record<PluginKind, HostFactory>>;
  locked: boolean;
  env: HostEnv;
  contextFor(name: string): PluginContext;
  maxMessageBytes?: number;
  /** Test/bench hook: directories instead of the system one + plugins.dirs. */
  dirs?: readonly string[];
  restartMinMs?: number;
}

interface Slot {
  plugin?: DiscoveredPlugin;
  record: PluginRecord;
  supervisor?: Supervisor;
  runner?: SinkRunner;
  unhook?: () => void;
}

export function requireSignature(config: PluginsConfig, locked: boolean): boolean {
  return config.require_signature ?? locked;
}

export class PluginRegistry {
  private readonly opts: RegistryOptions;
  private readonly slots: Slot[] = [];
  readonly tracer = new ChainTracer();
  private trustedKeys?: KeyObject[];
  private pipeline?: Pipeline;
  private catalogue?: Catalogue;

  constructor(opts: RegistryOptions) {
    this.opts = opts;
  }

  /** Directories scanned: none in a locked build (only the static table exists there). */
  dirs(): string[] {
    if (this.opts.dirs) return [...this.opts.dirs];
    return this.opts.locked ? [] : [SYSTEM_PLUGIN_DIR, ...this.opts.config.dirs];
  }

  private keys(): KeyObject[] {
    if (!this.trustedKeys) {
      this.trustedKeys = [];
      for (const spec of this.opts.config.trusted_keys) {
        try {
          this.trustedKeys.push(loadPublicKey(spec));
        } catch (e) {
          this.opts.log.warn(`plugins.trusted_keys: ${(e as Error).message}`);
        }
      }
    }
    return this.trustedKeys;
  }

  private refuse(slot: Slot, err: PluginLoadError): void {
    this.opts.log.warn(err.line);
    slot.record.state = 'refused';
    slot.record.reason = err.message;
  }

  /** Discovers everything, without starting anything (for `plugins list` offline). */
  discover(): void {
    const { config } = this.opts;
    const found = discover({ statics: this.opts.statics, config, dirs: this.dirs() });
    for (const w of found.warnings) this.opts.log.warn(w);
    const enabled = new Set(config.enabled);
    for (const p of found.plugins) {
      const m = p.manifest ?? p.staticModule?.info;
      this.slots.push({
        plugin: p,
        record: {
          name: p.name, kind: p.kind, type: p.type, version: m?.version, mode: m?.mode, state: enabled.has(p.name) ? 'enabled' : 'disabled',
          signature: p.kind === 'static' ? 'builtin' : p.file ? checkSignature(p.file, p.manifest, this.keys()).state : 'n/a', origin: p.origin,
        },
      });
    }
    for (const f of found.failures) {
      this.opts.log.warn(f.line);
      this.slots.push({ record: { name: failedPluginName(f.file), kind: kindOf(f.file), type: typeFromFileName(f.file), state: 'refused', signature: 'unsigned', origin: f.file, reason: f.message } });
    }
  }

  /** Starts the enabled plugins in order and hooks them in. Never throws for one plugin's failure. */
  async start(pipeline: Pipeline, catalogue?: Catalogue): Promise<void> {
    this.pipeline = pipeline;
    this.catalogue = catalogue;
    if (this.slots.length === 0) this.discover();
    const { config } = this.opts;
    for (const name of config.enabled) {
      const slot = this.slots.find((s) => s.record.name === name && s.plugin);
      if (!slot) {
        if (!this.slots.some((s) => s.record.name === name)) this.opts.log.warn(new PluginLoadError(name, this.opts.locked ? 'not found (a locked build has only its compiled-in plugins)' : 'not found').line);
        continue;
      }
      await this.startSlot(slot, pipeline, catalogue);
    }
    this.tracer.enabled = this.slots.some((s) => s.supervisor?.info?.capability.includes('trace'));
  }

  private async startSlot(slot: Slot, pipeline: Pipeline, catalogue?: Catalogue): Promise<void> {
    const p = slot.plugin!;
    const shown = shownName(p);
    // Verification happens before anything of the file is loaded or spawned.
    if (p.file) {
      const sig = checkSignature(p.file, p.manifest, this.keys());
      slot.record.signature = sig.state;
      if (sig.state === 'modified') return this.refuse(slot, new PluginLoadError(shown, `modified: ${sig.detail}`));
      if (requireSignature(this.opts.config, this.opts.locked) && sig.state !== 'signed') {
        return this.refuse(slot, new PluginLoadError(shown, `${sig.state}: ${sig.detail} (plugins.require_signature is on)`));
      }
    }
    const factory = this.opts.hosts[p.kind];
    if (!factory) return this.refuse(slot, new PluginLoadError(shown, `${p.kind} plugins are not supported in this build`));
    const baseCtx = this.opts.contextFor(p.name);
    const ctx: PluginContext = { ...baseCtx, chain: (e) => this.tracer.chain(e) };
    let sup: Supervisor;
    let info: PluginInfo;
    try {
      const host = factory(p, this.opts.env);
      sup = new Supervisor(p, host, {
        log: this.opts.log, context: ctx, failureThreshold: this.opts.config.failure_threshold, tracer: this.tracer,
        maxMessageBytes: this.opts.maxMessageBytes, restartMinMs: this.opts.restartMinMs,
      });
      info = await sup.start();
      slot.record.version = info.version;
      slot.record.mode = info.mode;
    } catch (e) {
      return this.refuse(slot, e instanceof PluginLoadError ? new PluginLoadError(shown, e.message) : new PluginLoadError(shown, (e as Error).message));
    }
    slot.supervisor = sup;
    switch (p.type) {
      case 'filter':
        pipeline.filters.push(sup.filterStage());
        break;
      case 'sink': {
        // One batch in flight keeps a sink's output in order and lets a failed batch go back to
        // the head; a sink that tolerates reordering says so with the `unordered` capability.
        const maxInflight = info.capability.includes('unordered') ? p.limits.max_inflight : 1;
        const runner = new SinkRunner(sup.sinkStage(), {
          queueLength: p.limits.queue_length, maxInflight, whenDisabled: this.opts.config.disabled_sink_queue,
        });
        slot.runner = runner;
        pipeline.addSink(runner);
        break;
      }
      case 'ai':
        pipeline.ai.push(sup.aiStage());
        break;
      case 'lang': {
        const r = sup.langResolver();
        catalogue?.addResolver(r);
        slot.unhook = () => catalogue?.removeResolver(r);
        break;
      }
    }
  }

  /** Run-time enable/disable of a running plugin. false when no running plugin has that name. */
  setEnabled(name: string, enabled: boolean): boolean {
    const slot = this.slots.find((s) => s.record.name === name && s.supervisor);
    if (!slot) return false;
    slot.supervisor!.enabled = enabled;
    if (enabled) slot.runner?.pump();
    return true;
  }

  /**
   * `logloom plugins enable NAME` at run time: resumes a running plugin, or starts a discovered
   * one that plugins.enabled did not list (e.g. plugin_logger while debugging; a filter joins the
   * end of the chain). Resolves false when no plugin has that name; rejects with the load reason
   * when it is refused (signature, validation, init).
   */
  async enable(name: string): Promise<boolean> {
    if (this.setEnabled(name, true)) return true;
    const slot = this.slots.find((s) => s.record.name === name && s.plugin);
    if (!slot || !this.pipeline) return false;
    await this.startSlot(slot, this.pipeline, this.catalogue);
    if (!slot.supervisor) throw new PluginLoadError(shownName(slot.plugin!), slot.record.reason ?? 'refused');
    slot.record.state = 'enabled';
    this.tracer.enabled = this.slots.some((s) => s.supervisor?.info?.capability.includes('trace'));
    return true;
  }

  running(): Supervisor[] {
    return this.slots.filter((s) => s.supervisor).map((s) => s.supervisor!);
  }

  supervisor(name: string): Supervisor | undefined {
    return this.slots.find((s) => s.record.name === name)?.supervisor;
  }

  list(): PluginRecord[] {
    return this.slots.map((s) => {
      const sup = s.supervisor;
      if (!sup) return { ...s.record };
      const state: PluginState = sup.state === 'failed' || sup.state === 'starting' ? 'failed' : sup.enabled ? 'enabled' : 'disabled';
      return { ...s.record, state };
    });
  }

  /** Per-plugin figures for `logloom status`. */
  status(): Record<string, unknown>[] {
    return this.slots.map((s) => ({ ...this.list().find((r) => r.name === s.record.name && r.origin === s.record.origin), ...(s.supervisor?.status() ?? {}) }));
  }

  async stop(): Promise<void> {
    for (const s of this.slots) {
      s.unhook?.();
      await s.supervisor?.stop();
    }
  }
}

function kindOf(file: string): PluginKind {
  return file.endsWith('.so') ? 'native' : file.endsWith('.py') ? 'python' : 'socket';
}
