/**
 * The static kind: a compiled-in TypeScript plugin (static-plugins/<name>/index.ts) called
 * in-process. No isolation is needed because it is part of the signed binary; the supervisor still
 * applies timeouts to answers that are Promises, counts errors and restarts it (a fresh instance).
 */
import type { LogEntry } from '../../../entry/entry.ts';
import type { EntryRecords } from '../../buffer/records.ts';
import { PartialFilterError, PluginCallError, PluginLoadError, type EveryTypeHost, type HostFactory } from '../host.ts';
import type { DiscoveredPlugin } from '../discovered.ts';
import { validateInfo } from '../info.ts';
import type {
  AiPlugin, AiResult, FilterPlugin, FilterVerdict, LangPlugin, PluginContext, PluginInfo, PluginInstance, PluginType, SinkPlugin, StaticPluginModule,
} from '../types.ts';

const ENTRY_POINT = { filter: 'filter', sink: 'flush', ai: 'analyze', lang: 'resolve' } as const;

function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}

export class StaticHost implements EveryTypeHost {
  readonly kind = 'static' as const;
  readonly type: PluginType;
  readonly origin: string;
  private readonly mod: StaticPluginModule;
  private instance?: PluginInstance;
  onExit?: (reason: string) => void;

  constructor(mod: StaticPluginModule, origin = `static:${mod.info.name}`) {
    this.mod = mod;
    this.type = mod.info.type;
    this.origin = origin;
  }

  async start(ctx: PluginContext): Promise<PluginInfo> {
    const { info, reason } = validateInfo(this.mod.info);
    if (!info) throw new PluginLoadError(this.origin, reason!);
    let inst: PluginInstance;
    try {
      inst = this.mod.create();
    } catch (e) {
      throw new PluginLoadError(this.origin, `create() failed: ${reasonOf(e)}`);
    }
    const fn = ENTRY_POINT[info.type];
    if (typeof (inst as unknown as Record<string, unknown>)[fn] !== 'function') throw new PluginLoadError(this.origin, `missing ${fn}()`);
    try {
      await inst.init?.(ctx);
    } catch (e) {
      throw new PluginLoadError(this.origin, `init failed: ${reasonOf(e)}`);
    }
    this.instance = inst;
    return info;
  }

  private live<T extends PluginInstance>(): T {
    if (!this.instance) throw new PluginCallError('not started');
    return this.instance as T;
  }

  filter(entries: readonly LogEntry[]): FilterVerdict[] | Promise<FilterVerdict[]> {
    const f = this.live<FilterPlugin>();
    const out: (FilterVerdict | Promise<FilterVerdict> | undefined)[] = new Array(entries.length);
    let firstError: string | undefined;
    let pending = false;
    for (let i = 0; i < entries.length; i++) {
      try {
        const v = f.filter(entries[i]!);
        if (v instanceof Promise) pending = true;
        out[i] = v;
      } catch (e) {
        firstError ??= reasonOf(e);
        out[i] = undefined;
      }
    }
    if (!pending) {
      if (firstError !== undefined) throw new PartialFilterError(firstError, out as (FilterVerdict | undefined)[]);
      return out as FilterVerdict[];
    }
    return Promise.allSettled(out).then((settled) => {
      const verdicts = settled.map((s) => (s.status === 'fulfilled' ? s.value : ((firstError ??= reasonOf(s.reason)), undefined)));
      if (firstError !== undefined) throw new PartialFilterError(firstError, verdicts);
      return verdicts as FilterVerdict[];
    });
  }

  flush(entries: readonly LogEntry[]): Promise<void> {
    return this.live<SinkPlugin>().flush(entries);
  }

  takesRecords(): boolean {
    const i = this.instance as Partial<FilterPlugin & SinkPlugin> | undefined;
    return typeof (this.mod.info.type === 'filter' ? i?.filterRecords : i?.flushRecords) === 'function';
  }

  // Called only after takesRecords() said yes; checked here rather than asserted.
  filterRecords(records: EntryRecords): FilterVerdict[] {
    const f = this.live<FilterPlugin>();
    if (!f.filterRecords) throw new PluginCallError('no filterRecords()');
    return f.filterRecords(records);
  }

  flushRecords(records: EntryRecords): Promise<void> {
    const s = this.live<SinkPlugin>();
    if (!s.flushRecords) throw new PluginCallError('no flushRecords()');
    return s.flushRecords(records);
  }

  async *analyze(entry: LogEntry): AsyncIterable<AiResult> {
    const r = await this.live<AiPlugin>().analyze(entry);
    if (r === null || r === undefined) return;
    if (Array.isArray(r)) {
      yield* r;
    } else if (typeof (r as AsyncIterable<AiResult>)[Symbol.asyncIterator] === 'function') {
      yield* r as AsyncIterable<AiResult>;
    } else {
      yield r as AiResult;
    }
  }

  resolve(langKey: string, lang: string): string | null {
    return this.live<LangPlugin>().resolve(langKey, lang);
  }

  async reopen(): Promise<void> {
    await (this.instance as SinkPlugin | undefined)?.reopen?.();
  }

  async stop(): Promise<void> {
    const inst = this.instance;
    this.instance = undefined;
    await inst?.shutdown?.();
  }

  status(): Record<string, unknown> {
    return (this.instance as SinkPlugin | undefined)?.status?.() ?? {};
  }
}

export const hostFactory: HostFactory = (plugin: DiscoveredPlugin) => {
  if (!plugin.staticModule) throw new PluginLoadError(plugin.origin, 'not compiled into this build');
  return new StaticHost(plugin.staticModule, plugin.origin);
};
