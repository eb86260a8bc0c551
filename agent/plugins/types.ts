/**
 * The plugin API: what every plugin is, whatever language it is written in.
 * Static (TypeScript) plugins import these types; the process, socket and native hosts adapt
 * their protocols to the same shapes so that the registry and supervisor treat all kinds alike.
 */
import type { LogEntry } from '../../entry/entry.ts';
import type { EntryRecords } from '../buffer/records.ts';
import type { EntryDraft } from '../../entry/build.ts';
import type { ObjectSchema } from '../../lib/schema/schema.ts';
import type { PluginLimits } from './config.ts';
import type { StageEvent } from './chain-tracer.ts';

export type { StageEvent } from './chain-tracer.ts';

export const PLUGIN_TYPES = ['filter', 'sink', 'ai', 'lang'] as const;
export type PluginType = (typeof PLUGIN_TYPES)[number];
export type PluginMode = 'sync' | 'async';
export type PluginKind = 'static' | 'native' | 'python' | 'socket';

/** What a plugin says about itself. */
export interface PluginInfo {
  name: string;
  /** semver, e.g. 1.2.0 */
  version: string;
  author: string;
  type: PluginType;
  capability: string[];
  mode: PluginMode;
}

/** The agent's own log, for plugins: lines go to stderr tagged with the plugin name. */
export interface PluginLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Handed to `init`. */
export interface PluginContext {
  /** This plugin's block from `plugins.config.<name>` (validated by the plugin). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly node: string;
  /** A directory the plugin may write to (state, caches). */
  readonly stateDir: string;
  readonly log: PluginLog;
  /** The agent itself, for plugins that report on it (log_aggregator_remote's STATS): version and entries dropped so far. */
  readonly agent?: { readonly version: string; dropped(): number };
  /** Renders a lang key in the agent's current language (lang plugins included). */
  render(langKey: string, args?: readonly (string | number)[]): string;
  /** ai plugins: results become new entries (module AI) through the same sanitising door. */
  emit(draft: EntryDraft): void;
  /**
   * The filters an entry has passed so far, with the time each took (plugin_logger).
   * Only recorded while a plugin asked for it with capability `trace`; otherwise empty.
   */
  chain?(entry: LogEntry): readonly ChainStep[];
  /**
   * Every stage an entry meets — filters, sinks, ai analysers — with verdict, time and a summary
   * of what went in and out (plugin_logger). Same condition as `chain`. Returns the
   * unsubscribe function.
   */
  onStage?(listener: (event: StageEvent) => void): () => void;
}

/** One filter an entry passed through: its verdict and the time the call took (per entry). */
export interface ChainStep {
  plugin: string;
  kind: PluginKind;
  /** Microseconds spent on this entry (a batch call's time is shared out evenly). */
  micros: number;
  verdict: 'keep' | 'drop' | 'replace' | 'error';
}

interface Lifecycle {
  init?(ctx: PluginContext): void | Promise<void>;
  shutdown?(): void | Promise<void>;
}

/**
 * What a filter answers for one entry: true = keep, false = drop, or a replacement entry (a
 * copy, e.g. redacted: `{ ...entry, message: masked }`) that continues down the pipeline in place
 * of the original. The original is never modified (entries are frozen); the supervisor checks and
 * freezes the copy.
 */
export type FilterVerdict = boolean | LogEntry;

/**
 * Sync: called inline in order. mode sync filters answer at once; a filter may answer with a
 * Promise (mode async, e.g. it consults a service), which the supervisor bounds by timeout_ms.
 */
export interface FilterPlugin extends Lifecycle {
  filter(entry: LogEntry): FilterVerdict | Promise<FilterVerdict>;
  /**
   * Optional, the records path (docs/plugin-authoring.md): the same decision on entries still in
   * their ring form (agent/buffer/records.ts), one verdict per record as filter() answers: true =
   * keep, false = drop, or a replacement entry (only that record is then decoded and checked). A
   * filter that has it lets entries skip becoming JS objects when every other stage can do the same.
   */
  filterRecords?(records: EntryRecords): FilterVerdict[];
}

/**
 * Async, batched. A rejected flush leaves the batch queued; it is retried with backoff, so a
 * sink must tolerate seeing a batch again (at-least-once).
 */
export interface SinkPlugin extends Lifecycle {
  flush(entries: readonly LogEntry[]): Promise<void>;
  /** Optional, the records path: flush on entries still in their ring form (see FilterPlugin). */
  flushRecords?(records: EntryRecords): Promise<void>;
  /** Reopen files etc. (SIGHUP). */
  reopen?(): void | Promise<void>;
  /**
   * Extra figures for `logloom status`. `dropped_entries`, when present, counts entries the
   * plugin itself had to drop (e.g. a full spool) and `lost_entries` those it lost (e.g. to a
   * damaged spool); both are added to the agent's dropped_total.
   */
  status?(): Record<string, unknown>;
}

/** One analysis result: becomes an entry with module AI. */
export interface AiResult {
  level?: string;
  message?: string;
  summary?: string;
  lang_key?: string;
  args?: (string | number)[];
  fields?: Record<string, string | number | boolean>;
}

/** Async request-response; may stream several results for one entry. */
export interface AiPlugin extends Lifecycle {
  analyze(entry: LogEntry): Promise<AiResult[] | AiResult | null> | AsyncIterable<AiResult>;
}

/** Sync lookup: the template for a key in a language, or null when this plugin has none. */
export interface LangPlugin extends Lifecycle {
  resolve(langKey: string, lang: string): string | null;
}

export type PluginInstance = FilterPlugin | SinkPlugin | AiPlugin | LangPlugin;

/** What a static plugin's index.ts exports as default. */
export interface StaticPluginModule {
  info: PluginInfo;
  /** Schema of plugins.config.<name>: validated with positions by check-config, defaults applied. */
  configSchema?: ObjectSchema;
  /** Limits the plugin needs by default (like a manifest's `limits:`); plugins.limits.<name> overrides them. */
  limits?: Partial<PluginLimits>;
  create(): PluginInstance;
}

/** Identity helper with type checking for static plugin authors. */
export function definePlugin<M extends StaticPluginModule>(m: M): M {
  return m;
}
