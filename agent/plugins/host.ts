/**
 * How the supervisor talks to a plugin, whatever its kind. Each kind has one host module under
 * agent/plugins/hosts/ (static = in-process call, python = child process with the line protocol,
 * socket = a service on a Unix/TCP socket, native = a .so in the C host process or in-process).
 * The supervisor (agent/plugins/supervisor/) wraps a HostedPlugin into the pipeline stage of its
 * type and owns timeouts, error counting, fail-open, retries and restarts for every kind.
 */
import type { LogEntry } from '../../entry/entry.ts';
import type { EntryRecords } from '../buffer/records.ts';
import type { AgentLog } from '../../lib/log.ts';
import type { AiResult, FilterVerdict, PluginContext, PluginInfo, PluginKind, PluginType } from './types.ts';
import type { DiscoveredPlugin } from './discovered.ts';
import type { PluginVerifier } from './verified-copy.ts';

export type { DiscoveredPlugin } from './discovered.ts';

/** A plugin could not be loaded: printed as `[WARN] Failed to load plugin '<file>': <reason>`. */
export class PluginLoadError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(reason);
    this.name = 'PluginLoadError';
    this.file = file;
  }
  get line(): string {
    return `Failed to load plugin '${this.file}': ${this.message}`;
  }
}

/** A call failed (crash, hang, disconnect, malformed or empty answer, status != 0). */
export class PluginCallError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PluginCallError';
  }
}

/**
 * What every hosted plugin has, whatever its type: where it came from, its life cycle and its
 * figures. The supervisor's failure-and-restart core (agent/plugins/supervisor/core.ts) needs only this.
 */
export interface HostBase {
  readonly kind: PluginKind;
  /** The file or address it came from (shown in messages and `plugins list`). */
  readonly origin: string;
  /**
   * Starts the plugin (spawn, connect, dlopen…), runs init with ctx.config and returns its info.
   * Rejects with PluginLoadError when validation fails (missing entry points, bad metadata…).
   */
  start(ctx: PluginContext): Promise<PluginInfo>;
  /**
   * An in-process call (static sync filter, trusted .so) overran timeout_ms: it could not be cut
   * off. The supervisor marks the plugin failed; the host says what it changes for the next start
   * (e.g. a trusted .so moves into its plugin host process), or '' when nothing.
   */
  overran?(): string;
  /** Orderly stop: shutdown op, then close, then signals, each after a grace period. */
  stop(): Promise<void>;
  /** Called by the host when the plugin died or disconnected between calls. */
  onExit?: (reason: string) => void;
  /** Extra figures for `logloom status` (pid, limits mechanism, reconnects…). */
  status?(): Record<string, unknown>;
}

/**
 * The records path (agent/buffer/records.ts), where entries reach the plugin in their ring form
 * and never become JS objects: filters and sinks have it, and say per call whether they can take
 * records now (a static plugin only when its instance has filterRecords/flushRecords).
 */
export interface TakesRecords {
  takesRecords(): boolean;
}

export interface FilterHost extends HostBase, TakesRecords {
  readonly type: 'filter';
  /**
   * One verdict per entry, true = keep, false = drop, or a replacement copy. Throw
   * PartialFilterError when only some entries failed.
   */
  filter(entries: readonly LogEntry[], timeoutMs: number): Promise<FilterVerdict[]> | FilterVerdict[];
  /** filter on entry records: one boolean per record, true = keep (PartialFilterError as for filter). */
  filterRecords(records: EntryRecords, timeoutMs: number): Promise<FilterVerdict[]> | FilterVerdict[];
}

export interface SinkHost extends HostBase, TakesRecords {
  readonly type: 'sink';
  /** Resolves once the batch is accepted by the plugin. */
  flush(entries: readonly LogEntry[], timeoutMs: number): Promise<void>;
  /** flush on entry records. */
  flushRecords(records: EntryRecords, timeoutMs: number): Promise<void>;
  /** Reopen outputs (SIGHUP), when the plugin supports it. */
  reopen?(): Promise<void>;
}

export interface AiHost extends HostBase {
  readonly type: 'ai';
  /** Zero or more results for one entry (streamed). */
  analyze(entry: LogEntry, timeoutMs: number): AsyncIterable<AiResult>;
}

export interface LangHost extends HostBase {
  readonly type: 'lang';
  /** Sync lookup (process kinds answer from a cache they keep fresh). */
  resolve(langKey: string, lang: string): string | null;
}

/**
 * A hosted plugin, told apart by its type: the supervisor (agent/plugins/supervisor/) narrows on
 * `type` to the one stage that plugin feeds, so no call is optional. A host class of a kind
 * (hosts/<kind>.ts) speaks every type's calls, because its protocol or ABI has them all; its
 * `type` field (the plugin's, of PluginType) is what makes it one member of this union
 * (TypeScript relates a class whose discriminant is a union of literals to each member in turn).
 */
export type HostedPlugin = FilterHost | SinkHost | AiHost | LangHost;

/** The filter and sink calls, for a host that has only those (a trusted .so loaded in-process). */
export type FilterAndSinkCalls = HostBase & TakesRecords & Pick<FilterHost, 'filter' | 'filterRecords'> & Pick<SinkHost, 'flush' | 'flushRecords' | 'reopen'>;

/** What a host class of one kind implements: every type's calls, and the plugin's type (see HostedPlugin). */
export type EveryTypeHost = FilterAndSinkCalls & Pick<AiHost, 'analyze'> & Pick<LangHost, 'resolve'> & { readonly type: PluginType };

/**
 * A filter call that failed for some entries only (e.g. a static filter threw on one entry):
 * `verdicts[i]` is undefined for the failed ones, which get the plugin's on_error, and the
 * answer is used for the others. Counts as one failure.
 */
export class PartialFilterError extends PluginCallError {
  readonly verdicts: (FilterVerdict | undefined)[];
  constructor(reason: string, verdicts: (FilterVerdict | undefined)[]) {
    super(reason);
    this.name = 'PartialFilterError';
    this.verdicts = verdicts;
  }
}

/** What a host factory gets besides the plugin: agent-wide settings for spawning and connecting. */
export interface HostEnv {
  /** Interpreter for python plugins (plugins.python). */
  python: string;
  /** Where sockets and unpacked helpers live (runtime_dir). */
  runtimeDir: string;
  /** Persistent state (data_dir). */
  dataDir: string;
  /** Longest protocol line accepted from python/socket plugins (plugins.max_line_bytes; default 1 MiB). */
  maxLineBytes?: number;
  /** Socket plugins allowed on a non-loopback TCP address (plugins.remote_tcp). */
  remoteTcp?: readonly string[];
  /** The agent's own log (lines are verbatim contracts: use it untagged for the fixed messages). */
  log: AgentLog;
  /**
   * Signature policy and private copies (agent/plugins/verified-copy.ts): process hosts verify and
   * copy at every start. Without one (plugins check), files are copied unverified.
   */
  verifier?: PluginVerifier;
}

/**
 * Builds a HostedPlugin for one discovered plugin of its kind. Each kind's module
 * `agent/plugins/hosts/<kind>.ts` exports one as `hostFactory`; `agent/plugins/hosts/index.ts`
 * (generated per build profile) maps kind → factory.
 */
export type HostFactory = (plugin: DiscoveredPlugin, env: HostEnv) => HostedPlugin;
