/**
 * The plugin registry: discovers plugins (static table, directories), validates them, checks
 * signatures before anything is loaded or spawned, starts the enabled ones under the supervisor
 * in the order of plugins.enabled, and hooks them into the pipeline (filters, sinks, ai) and the
 * catalogue (lang). It also answers `plugins list` and the run-time management of the control
 * socket: enable/disable (by name or type), reload and rescan.
 */
import type { KeyObject } from 'node:crypto';
import type { AgentLog } from '../../lib/log.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { SinkRunner } from '../pipeline/sink-runner.ts';
import type { Catalogue } from '../../lib/i18n/catalogue.ts';
import type { PluginsConfig } from './config.ts';
import { PluginLoadError, type HostEnv, type HostFactory } from './host.ts';
import type { DiscoveredPlugin } from './discovered.ts';
import { discover, failedPluginName, fromFile, fromManifest, shownName, SYSTEM_PLUGIN_DIR } from './discovery.ts';
import { typeFromFileName } from './info.ts';
import { loadPublicKey, type SignatureState } from './signing.ts';
import { PluginVerifier } from './verified-copy.ts';
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
  /** builtin: compiled into the binary; else the state of the latest check (every start checks). */
  signature: SignatureState | 'builtin';
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
  /** Checks at discovery and before every start and restart; keeps the latest state per plugin. */
  readonly verifier: PluginVerifier;
  private readonly env: HostEnv;
  private pipeline?: Pipeline;
  private catalogue?: Catalogue;

  constructor(opts: RegistryOptions) {
    this.opts = opts;
    this.verifier = new PluginVerifier(() => this.keys(), requireSignature(opts.config, opts.locked));
    this.env = { ...opts.env, verifier: this.verifier };
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
    const found = discover({ statics: this.opts.statics, config: this.opts.config, dirs: this.dirs() });
    for (const w of found.warnings) this.opts.log.warn(w);
    for (const p of found.plugins) this.slots.push(this.slotFor(p));
    for (const f of found.failures) this.slots.push(this.refusedSlot(f));
  }

  private slotFor(p: DiscoveredPlugin): Slot {
    const m = p.manifest ?? p.staticModule?.info;
    return {
      plugin: p,
      record: {
        name: p.name, kind: p.kind, type: p.type, version: m?.version, mode: m?.mode, state: this.opts.config.enabled.includes(p.name) ? 'enabled' : 'disabled',
        signature: p.kind === 'static' ? 'builtin' : this.verifier.check(p).state, origin: p.origin,
      },
    };
  }

  private refusedSlot(f: PluginLoadError): Slot {
    this.opts.log.warn(f.line);
    return { record: { name: failedPluginName(f.file), kind: kindOf(f.file), type: typeFromFileName(f.file), state: 'refused', signature: 'unsigned', origin: f.file, reason: f.message } };
  }

  /**
   * `logloom plugins rescan`: plugin files that appeared in the plugin directories since start
   * become available (listed, and `plugins enable NAME` starts them); those plugins.enabled lists
   * start now. Plugins already known are left as they are (`plugins reload NAME` re-reads one).
   */
  async rescan(): Promise<{ added: string[]; refused: string[]; started: string[] }> {
    const found = discover({ statics: [], config: this.opts.config, dirs: this.dirs() });
    const out = { added: [] as string[], refused: [] as string[], started: [] as string[] };
    for (const p of found.plugins) {
      if (this.slots.some((s) => s.record.name === p.name && (s.plugin || s.record.origin === p.origin))) continue;
      // A name refused before (e.g. a broken file since fixed) is replaced by the new finding.
      const old = this.slots.findIndex((s) => s.record.name === p.name && !s.plugin);
      const slot = this.slotFor(p);
      if (old >= 0) this.slots[old] = slot;
      else this.slots.push(slot);
      out.added.push(p.name);
      if (this.opts.config.enabled.includes(p.name) && this.pipeline) {
        await this.startSlot(slot, this.pipeline, this.catalogue);
        if (slot.supervisor) out.started.push(p.name);
      }
    }
    for (const f of found.failures) {
      if (this.slots.some((s) => s.record.origin === f.file || (s.plugin && shownName(s.plugin) === f.file))) continue;
      this.slots.push(this.refusedSlot(f));
      out.refused.push(f.file);
    }
    this.tracer.enabled = this.slots.some((s) => s.supervisor?.info?.capability.includes('trace'));
    return out;
  }

  /**
   * `logloom plugins reload NAME`: reads the plugin's manifest and file as they are now, verifies
   * them (signature, validation) while the old one keeps running, then restarts the plugin with
   * them. A verification failure leaves the running plugin untouched and rejects with the reason.
   */
  async reload(name: string): Promise<PluginInfo | undefined> {
    const slot = this.slots.find((s) => s.record.name === name && s.plugin);
    if (!slot) throw new Error(`no plugin named '${name}'`);
    const old = slot.plugin!;
    let fresh: DiscoveredPlugin;
    try {
      fresh = old.kind === 'static' ? old : old.manifestPath ? fromManifest(old.manifestPath, this.opts.config, shownName(old)) : fromFile(old.file!, this.opts.config);
    } catch (e) {
      throw e instanceof PluginLoadError ? new PluginLoadError(shownName(old), e.message) : e;
    }
    if (fresh.name !== name) throw new PluginLoadError(shownName(old), `its manifest now names it "${fresh.name}"; restart the agent to rename a plugin`);
    if (fresh.type !== old.type) throw new PluginLoadError(shownName(old), `its type changed from ${old.type} to ${fresh.type}; restart the agent to hook it in anew`);
    const refusal = this.verify(fresh);
    if (refusal) throw refusal;
    const factory = this.opts.hosts[fresh.kind];
    if (!factory) throw new PluginLoadError(shownName(fresh), `${fresh.kind} plugins are not supported in this build`);
    slot.plugin = fresh;
    // Not running (not enabled, or refused at start): re-read only; `plugins enable` starts it.
    if (!slot.supervisor) {
      slot.record = { ...this.slotFor(fresh).record, state: 'disabled' };
      return undefined;
    }
    const enabled = slot.supervisor.enabled;
    try {
      const info = await slot.supervisor.swap(fresh, factory(fresh, this.opts.env));
      slot.record.version = info.version;
      slot.record.mode = info.mode;
      slot.record.reason = undefined;
      slot.supervisor.enabled = enabled;
      slot.runner?.pump();
      this.opts.log.info(`Plugin ${name} reloaded (version ${info.version})`);
      return info;
    } catch (e) {
      slot.record.reason = (e as Error).message;
      throw e instanceof PluginLoadError ? new PluginLoadError(shownName(fresh), e.message) : e;
    }
  }

  /** The checks before anything of a plugin is loaded, spawned or connected to: a refusal, or undefined. */
  private verify(p: DiscoveredPlugin, slot?: Slot): PluginLoadError | undefined {
    if (p.kind === 'static') return undefined;
    const sig = this.verifier.check(p);
    if (slot) slot.record.signature = sig.state;
    try {
      this.verifier.enforce(p, sig, shownName(p));
    } catch (e) {
      return e as PluginLoadError;
    }
    return undefined;
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
    // Verification happens before anything of the plugin is loaded, spawned or connected to (its
    // manifest too: a socket plugin's capability and limits are signed like any other's); process
    // hosts verify again at every start and load the verified bytes (verified-copy.ts).
    const refusal = this.verify(p, slot);
    if (refusal) return this.refuse(slot, refusal);
    const factory = this.opts.hosts[p.kind];
    if (!factory) return this.refuse(slot, new PluginLoadError(shown, `${p.kind} plugins are not supported in this build`));
    const baseCtx = this.opts.contextFor(p.name);
    const ctx: PluginContext = { ...baseCtx, chain: (e) => this.tracer.chain(e), onStage: (l) => this.tracer.listen(l) };
    let sup: Supervisor;
    let info: PluginInfo;
    try {
      const host = factory(p, this.env);
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

  /**
   * Run-time disable of a running plugin: its stage is skipped (a sink holds its queue). A
   * process plugin's process is also stopped and its resources (cgroup, connection, host
   * process, in-process library) freed; `enable` starts it again. Resolves false when no running
   * plugin has that name.
   */
  async disable(name: string): Promise<boolean> {
    const slot = this.slots.find((s) => s.record.name === name && s.supervisor);
    if (!slot) return false;
    const sup = slot.supervisor!;
    sup.enabled = false;
    if (slot.plugin!.kind !== 'static') await sup.stop();
    return true;
  }

  /** Sync form for callers that only skip the stage (tests, static plugins). */
  setEnabled(name: string, enabled: boolean): boolean {
    const slot = this.slots.find((s) => s.record.name === name && s.supervisor);
    if (!slot) return false;
    slot.supervisor!.enabled = enabled;
    if (enabled) slot.runner?.pump();
    return true;
  }

  /**
   * `logloom plugins enable NAME` at run time: resumes a running plugin (starting its process
   * again when disable stopped it, verified like at start), or starts a discovered one that
   * plugins.enabled did not list (e.g. plugin_logger while debugging; a filter joins the end of
   * the chain). Resolves false when no plugin has that name; rejects with the load reason when it
   * is refused (signature, validation, init).
   */
  async enable(name: string): Promise<boolean> {
    const running = this.slots.find((s) => s.record.name === name && s.supervisor);
    if (running) {
      const sup = running.supervisor!;
      if (sup.state === 'stopped') {
        const refusal = this.verify(running.plugin!, running);
        if (refusal) throw refusal;
        await sup.start();
      }
      sup.enabled = true;
      running.runner?.pump();
      return true;
    }
    const slot = this.slots.find((s) => s.record.name === name && s.plugin);
    if (!slot || !this.pipeline) return false;
    await this.startSlot(slot, this.pipeline, this.catalogue);
    if (!slot.supervisor) throw new PluginLoadError(shownName(slot.plugin!), slot.record.reason ?? 'refused');
    slot.record.state = 'enabled';
    this.tracer.enabled = this.slots.some((s) => s.supervisor?.info?.capability.includes('trace'));
    return true;
  }

  /**
   * `plugins disable|enable --type T`: every running plugin of that type (e.g. all ai analysers).
   * Returns the names changed; a failure to start one is reported and the others still change.
   */
  async setTypeEnabled(type: PluginType, enabled: boolean): Promise<{ changed: string[]; failed: { name: string; reason: string }[] }> {
    const out = { changed: [] as string[], failed: [] as { name: string; reason: string }[] };
    for (const s of this.slots.filter((x) => x.supervisor && x.plugin!.type === type)) {
      const name = s.record.name;
      try {
        if (enabled ? await this.enable(name) : await this.disable(name)) out.changed.push(name);
      } catch (e) {
        out.failed.push({ name, reason: (e as Error).message });
      }
    }
    return out;
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
      // The latest check (a restart re-verifies), not the one made at discovery.
      const latest = s.plugin && s.plugin.kind !== 'static' ? this.verifier.states.get(s.plugin.name) : undefined;
      if (latest && s.record.signature !== latest.state) s.record.signature = latest.state;
      if (!sup) return { ...s.record };
      const state: PluginState = !sup.enabled ? 'disabled' : sup.state === 'running' ? 'enabled' : 'failed';
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
