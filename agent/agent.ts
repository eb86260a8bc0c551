import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { AgentConfig, InputConfig } from './config/agent-schema.ts';
import { Catalogue } from '../lib/i18n/catalogue.ts';
import type { AgentLog } from '../lib/log.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import { INPUT_KINDS } from './inputs/index.ts';
import type { Input } from './inputs/input.ts';
import { sanitiseModule } from '../entry/sanitise.ts';
import { LOCKED, STATIC_PLUGINS } from '../static-plugins/table.generated.ts';
import { HOST_FACTORIES } from './plugins/hosts/index.ts';
import { PluginRegistry } from './plugins/registry.ts';
import { preparePluginStateRoot } from './plugins/state-root.ts';
import { createEntryBuffer } from './buffer/entry-buffer.ts';
import { PLUGIN_TYPES, type PluginContext, type PluginType } from './plugins/types.ts';
import { ControlServer } from '../lib/control/server.ts';
import type { MetricsServer } from '../lib/control/http.ts';
import { LangApi } from './control/lang-api.ts';
import { AGENT_METRICS } from './control/agent-metrics.ts';
import { setRuntimeDir } from '../lib/assets.ts';
import { scheduleStartupRelease } from '../lib/native-runtime.ts';
import { attachInputStage } from './inputs/attach-stage.ts';
import type { LineStageConfig } from './processing/stage.ts';
import { resolveLabels } from './processing/labels.ts';
import { inputNames } from './inputs/names.ts';
import { Router } from './pipeline/routes/router.ts';
import { VERSION } from '../lib/version.ts';
import { reloadAgent, type ReloadOutcome } from './reload/apply.ts';


interface RunningInput {
  name: string;
  type: string;
  input: Input;
}

export { inputNames } from './inputs/names.ts';

/** The composition root: builds the pipeline from the configuration and runs it. */
export class Agent {
  /** Replaced by a reload (agent/reload/), for the keys a reload applies. */
  config: AgentConfig;
  /** The -c path the agent was started with (a reload reads the same source). */
  configPath?: string;
  readonly log: AgentLog;
  readonly catalogue: Catalogue;
  readonly pipeline: Pipeline;
  readonly startedAt = Date.now();
  readonly inputs: RunningInput[] = [];
  readonly plugins: PluginRegistry;
  private control?: ControlServer;
  private http?: MetricsServer;

  constructor(config: AgentConfig, log: AgentLog) {
    this.config = config;
    this.log = log;
    this.catalogue = new Catalogue(config.language, (m) => log.warn(m));
    this.pipeline = new Pipeline({
      node: config.node_id,
      maxMessageBytes: config.max_message_bytes,
      bufferEntries: config.buffer.max_entries,
      bufferBytes: config.buffer.max_bytes,
    }, createEntryBuffer(config.buffer.max_entries, config.buffer.max_bytes, config.buffer.native, (m) => log.info(m), config.runtime_dir));
    this.plugins = new PluginRegistry({
      config: config.plugins, log, statics: STATIC_PLUGINS, hosts: HOST_FACTORIES, locked: LOCKED,
      env: { python: config.plugins.python, runtimeDir: config.runtime_dir, dataDir: config.data_dir, log, remoteTcp: config.plugins.remote_tcp, maxLineBytes: config.plugins.max_line_bytes },
      contextFor: (name) => this.pluginContext(name), maxMessageBytes: config.max_message_bytes,
    });
  }

  /** Renders one of the agent's own messages in the current language. */
  t(key: string, ...args: (string | number)[]): string {
    return this.catalogue.render(key, args);
  }

  async start(): Promise<void> {
    await mkdir(this.config.data_dir, { recursive: true });
    await preparePluginStateRoot(this.config.data_dir, this.log);
    // Input positions are the agent's alone; others may pass through data_dir (plugins), not look here.
    await mkdir(join(this.config.data_dir, 'inputs'), { recursive: true, mode: 0o700 });
    await chmod(join(this.config.data_dir, 'inputs'), 0o700);
    await mkdir(this.config.runtime_dir, { recursive: true });
    // Native parts unpacked from the single executable (serialport binding, addon, plugin host) go here.
    setRuntimeDir(join(this.config.runtime_dir, 'native'));
    if (this.config.routes.length) this.pipeline.router = new Router(this.config.routes);
    await this.startPlugins();
    for (const p of this.pipeline.router?.attach(this.pipeline.filters, this.pipeline.sinks) ?? []) this.log.warn(p);
    this.describeBuffer();
    const names = inputNames(this.config.inputs);
    for (let i = 0; i < this.config.inputs.length; i++) await this.startInput(this.config.inputs[i]!, names[i]!);
    this.control = new ControlServer(this.config.control.socket, this, this.log);
    await this.control.start();
    const langApi = this.langApi();
    if (this.config.control.http) {
      // Loaded only when the metrics endpoint is configured (prom-client is not small).
      const { MetricsServer: Server } = await import('../lib/control/http.ts');
      this.http = new Server(this.config.control.http, this, { routes: langApi ? [(req, res) => langApi.handle(req, res)] : [], metrics: AGENT_METRICS });
      await this.http.start();
      this.log.info(this.t('control.http_listening', this.http.address));
    }
    this.log.info(this.t('agent.started', VERSION, this.config.node_id, this.inputs.length, this.plugins.running().length));
    // Start-up's pages of the executable go back (lib/native-runtime.ts says when); pages the
    // running agent touches again come back from the page cache. (Not with buffer.native off:
    // then the agent loads no native code at all.)
    if (this.config.buffer.native !== 'off') scheduleStartupRelease(this.log);
  }

  /**
   * lang_hot_reload's REST path, when it runs and its config names a token_file: on the HTTP
   * endpoint (control.http), writing the plugin's override file (the same default as the plugin:
   * <dir>/overrides.json).
   */
  private langApi(): LangApi | undefined {
    const cfg = this.config.plugins.config.lang_hot_reload as { dir?: unknown; override_file?: unknown; token_file?: unknown } | undefined;
    if (!cfg || typeof cfg.token_file !== 'string' || !this.plugins.running().some((s) => s.name === 'lang_hot_reload')) return undefined;
    if (!this.config.control.http) {
      this.log.warn('lang_hot_reload: token_file is set but control.http is off: the REST path needs the HTTP endpoint');
      return undefined;
    }
    const dir = typeof cfg.dir === 'string' ? cfg.dir : '/etc/logloom/lang';
    return new LangApi({
      tokenFile: cfg.token_file, overrideFile: typeof cfg.override_file === 'string' ? cfg.override_file : join(dir, 'overrides.json'),
      template: (key, lang) => this.catalogue.template(key, lang), log: this.log,
    });
  }

  /**
   * Says once which ring carries the records and which stages they pass through as bytes (the
   * records path); a stage that needs entry objects gets them decoded from the records.
   */
  private describeBuffer(): void {
    const blocker = this.pipeline.objectStage();
    if (blocker) return this.log.info(this.t('agent.buffer_objects', this.pipeline.buffer.ring.impl, blocker));
    if (this.pipeline.buffer.ring.impl === 'js') return this.log.info(this.t('agent.buffer_fallback', this.pipeline.recordStages().join(', ')));
    this.log.info(this.t('agent.buffer_records', this.pipeline.recordStages().join(', ')));
  }

  async startInput(cfg: InputConfig, name: string): Promise<void> {
    const kind = INPUT_KINDS[cfg.type];
    const port = this.pipeline.inputPort(name, cfg.when_full, { level: cfg.default_level, module: cfg.module ?? sanitiseModule(cfg.type) });
    const stateDir = join(this.config.data_dir, 'inputs', name);
    // The line stage (parser, multiline, labels) sits between the input and the pipeline when configured.
    const labels = { ...(await this.globalLabels()), ...(await resolveLabels(cfg.labels, `inputs.${name}.labels`)) };
    const stage = attachInputStage({ ...(cfg as LineStageConfig), labels }, { name, log: this.log.child(`input ${name}`), stateDir, ...port });
    const input = stage.wrap(kind.create(cfg as never, stage.ctx));
    await input.start();
    this.inputs.push({ name, type: cfg.type, input });
  }

  private labels?: Promise<Record<string, string>>;
  resetLabels(): void {
    this.labels = undefined;
  }

  private reloading: Promise<unknown> = Promise.resolve();
  /** `logloom reload` / SIGHUP: re-read, validate, apply (agent/reload/apply.ts); one at a time. */
  reload(): Promise<ReloadOutcome> {
    const r = this.reloading.then(() => reloadAgent(this, this.configPath));
    this.reloading = r.catch(() => {});
    return r;
  }
  /** The global labels, resolved once (a command runs once however many inputs there are). */
  globalLabels(): Promise<Record<string, string>> {
    return (this.labels ??= resolveLabels(this.config.labels, 'labels'));
  }

  /** A context for a plugin: its config block, state dir, log, renderer, and emit for ai results. */
  pluginContext(name: string): PluginContext {
    const log = this.log.child(name);
    return {
      config: (this.config.plugins.config[name] ?? {}) as Record<string, unknown>,
      node: this.config.node_id,
      stateDir: join(this.config.data_dir, 'plugins', name),
      log,
      agent: { version: VERSION, dropped: () => this.pipeline.totalDropped() },
      render: (key, args) => this.catalogue.render(key, args ?? []),
      emit: this.pipeline.pluginEmitter(name),
    };
  }

  /** Discovery, validation, signatures and the supervisor live in agent/plugins/registry.ts. */
  private async startPlugins(): Promise<void> {
    await this.plugins.start(this.pipeline, this.catalogue);
  }

  /** SIGHUP: reopen output files. */
  async reopen(): Promise<void> {
    for (const s of this.pipeline.sinks) await s.stage.reopen?.();
    this.log.info(this.t('agent.reopened'));
  }

  /** Stops inputs, drains the buffer into sinks within the grace period, shuts plugins down. */
  async stop(graceMs = this.config.shutdown_grace): Promise<number> {
    for (const i of this.inputs) await i.input.stop().catch((e) => this.log.warn(`input ${i.name}: ${(e as Error).message}`));
    this.log.info(this.t('agent.stopping', this.pipeline.buffer.length, graceMs));
    const left = await this.pipeline.drain(graceMs);
    await this.plugins.stop();
    await this.control?.stop();
    await this.http?.stop();
    this.log.info(left === 0 ? this.t('agent.stopped_clean') : this.t('agent.stopped', left));
    return left;
  }

  /** The figures behind `logloom status` and /metrics. */
  status() {
    return {
      version: VERSION,
      node: this.config.node_id,
      language: this.catalogue.language,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      buffer: { queued: this.pipeline.buffer.length, max_entries: this.pipeline.buffer.maxEntries, bytes: this.pipeline.buffer.byteLength, processed: this.pipeline.processed, records_path: this.pipeline.recordsProcessed, ring: this.pipeline.buffer.status() },
      inputs: this.inputs.map((i) => ({ name: i.name, type: i.type, ...this.pipeline.inputs.get(i.name), ...(i.input.status?.() ?? {}) })),
      filters: this.pipeline.filters.map((f) => ({ name: f.name, enabled: f.enabled, dropped_by_filter: this.pipeline.filteredOut.get(f.name) ?? 0 })),
      sinks: this.pipeline.sinks.map((s) => s.status()),
      routes: this.pipeline.router?.status() ?? [],
      plugins: this.plugins.status(),
      dropped_total: this.pipeline.totalDropped(),
      memory: memoryFigures(),
    };
  }

  /**
   * Run-time control: enabling may start a discovered plugin that was not running (rejects with
   * why it was refused); disabling a process plugin also stops its process.
   */
  async setPluginEnabled(name: string, enabled: boolean): Promise<boolean> {
    if (!(enabled ? await this.plugins.enable(name) : await this.plugins.disable(name))) return false;
    this.log.info(this.t(enabled ? 'plugin.enabled' : 'plugin.disabled', name));
    return true;
  }

  /** `plugins enable|disable --type T`. */
  /** Plugin types `logloom plugins enable|disable --type` may name (the control socket checks). */
  readonly pluginTypes = PLUGIN_TYPES;

  async setPluginTypeEnabled(type: PluginType, enabled: boolean) {
    const r = await this.plugins.setTypeEnabled(type, enabled);
    for (const name of r.changed) this.log.info(this.t(enabled ? 'plugin.enabled' : 'plugin.disabled', name));
    return r;
  }

  reloadPlugin(name: string) {
    return this.plugins.reload(name);
  }

  rescanPlugins() {
    return this.plugins.rescan();
  }
}

/** Resident memory and the V8 heap (used, and the limit the executable was built with or NODE_OPTIONS set), in MiB. */
function memoryFigures() {
  const h = getHeapStatistics();
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rss_mib: mib(process.memoryUsage.rss()), heap_used_mib: mib(h.used_heap_size), heap_limit_mib: mib(h.heap_size_limit) };
}
