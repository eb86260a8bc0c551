import type { LogEntry } from '../../../entry/entry.ts';
import { PartialFilterError, PluginCallError, PluginLoadError } from '../host.ts';
import type { AiResult, FilterVerdict, PluginInfo, PluginLog, PluginType } from '../types.ts';
import { filterVerdictsOf, InvalidOutputError, validateAiResult, validateCatalogue, validateTemplate } from '../validate-output.ts';
import { missingInfo, validateInfo } from '../info.ts';
import type { PluginConnection } from './connection.ts';
import { DEFAULT_MAX_LINE_BYTES, RawJson } from './codec.ts';
import { forEachRecord, type EntryRecords } from '../../buffer/records.ts';

/** How often a lang plugin's cache is checked for changes when the plugin does not push them. */
export const LANG_REFRESH_MS = 2000;
const CONTROL_TIMEOUT_MS = 5000;

/**
 * The plugin API over the protocol, shared by the Python and socket hosts: maps filter/flush/
 * analyze/resolve onto `process`/`resolve` requests, validates every answer (validate-output.ts)
 * and keeps the lang cache. The transports (child process, socket) live in the hosts.
 */
export class ProtocolClient {
  readonly name: string;
  private readonly log: PluginLog;
  conn: PluginConnection | undefined;
  type: PluginType | undefined;
  readonly counters = { invalid_results: 0, sandbox_refusals: 0, lang_refreshes: 0 };
  /** lang → key → template, refreshed from the plugin (see docs/plugin-protocol.md, "resolve"). */
  private cache = new Map<string, Map<string, string>>();
  private cacheVersion: number | undefined;
  private readonly misses = new Set<string>();
  private refreshing = false;
  private refreshTimer?: NodeJS.Timeout;

  private readonly maxLineBytes: number;

  constructor(name: string, log: PluginLog, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.name = name;
    this.log = log;
    this.maxLineBytes = maxLineBytes;
  }

  private get c(): PluginConnection {
    if (!this.conn || this.conn.closed) throw new PluginCallError('not connected');
    return this.conn;
  }

  invalid(reason: string): void {
    this.counters.invalid_results++;
    this.log.warn(`invalid output dropped: ${reason}`);
  }

  /** Handles the events every kind may send; returns false for ones the host handles itself. */
  onEvent(event: string, body: Record<string, unknown>): boolean {
    if (event === 'sandbox') {
      this.counters.sandbox_refusals++;
      this.log.warn(`sandbox refused ${String(body.refused).slice(0, 40)}: ${String(body.detail ?? '').slice(0, 200)}`);
      return true;
    }
    if (event === 'changed') {
      if (this.type === 'lang') void this.refreshCatalogue();
      return true;
    }
    return false;
  }

  /**
   * info, then init with the plugin's config. Manifest info wins over what the plugin says about
   * itself; without a manifest the plugin's own info is validated.
   */
  async handshake(config: Readonly<Record<string, unknown>>, manifestInfo: PluginInfo | undefined, origin: string, fallbackType?: PluginType): Promise<PluginInfo> {
    let info: PluginInfo;
    let functions: string[] | undefined;
    let answer: Record<string, unknown> = {};
    try {
      answer = await this.c.call('info', {}, CONTROL_TIMEOUT_MS);
    } catch (e) {
      if (!manifestInfo) throw new PluginLoadError(origin, `no info: ${(e as Error).message}`);
    }
    const raw = answer.info as Record<string, unknown> | undefined;
    if (raw && Array.isArray(raw.functions)) functions = raw.functions.filter((f): f is string => typeof f === 'string');
    if (manifestInfo) info = manifestInfo;
    else if (functions && !functions.includes('plugin_info') && !raw?.name) {
      throw new PluginLoadError(origin, missingInfo()); // the same rule as for a .so (info.ts)
    } else {
      const { functions: _f, ...rest } = raw ?? {};
      const v = validateInfo({ type: fallbackType, ...rest }, { name: this.name, type: fallbackType });
      if (!v.info) throw new PluginLoadError(origin, v.reason!);
      info = v.info;
    }
    this.type = info.type;
    if (functions) {
      const needed = info.type === 'lang' ? ['plugin_resolve'] : ['plugin_process'];
      for (const f of needed) if (!functions.includes(f) && !(f === 'plugin_process' && functions.includes('plugin_process_batch'))) throw new PluginLoadError(origin, `missing ${f}()`);
    }
    try {
      await this.c.call('init', { config, name: this.name, type: info.type }, CONTROL_TIMEOUT_MS);
    } catch (e) {
      throw new PluginLoadError(origin, `plugin_init failed: ${(e as Error).message}`);
    }
    if (info.type === 'lang') await this.refreshCatalogue();
    return info;
  }

  private payload(entries: readonly LogEntry[]): Record<string, unknown> {
    return entries.length === 1 ? { entry: entries[0] } : { batch: entries };
  }

  /** Splits a batch so that no request line exceeds the line bound (docs/plugin-protocol.md §1). */
  private chunks(entries: readonly LogEntry[]): (readonly LogEntry[])[] {
    const limit = this.maxLineBytes - 4096;
    const out: LogEntry[][] = [];
    let cur: LogEntry[] = [];
    let size = 0;
    for (const e of entries) {
      const n = Buffer.byteLength(JSON.stringify(e)) + 1;
      if (cur.length > 0 && size + n > limit) {
        out.push(cur);
        cur = [];
        size = 0;
      }
      cur.push(e);
      size += n;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  async filter(entries: readonly LogEntry[], timeoutMs: number): Promise<FilterVerdict[]> {
    if (entries.length === 0) return [];
    const parts = entries.length > 64 ? this.chunks(entries) : [entries];
    if (parts.length > 1) {
      const all = await Promise.allSettled(parts.map((p) => this.filterOne(p, timeoutMs)));
      const verdicts: (FilterVerdict | undefined)[] = [];
      let failure: Error | undefined;
      all.forEach((r, i) => {
        if (r.status === 'fulfilled') verdicts.push(...r.value);
        else {
          failure ??= r.reason as Error;
          verdicts.push(...(r.reason instanceof PartialFilterError ? r.reason.verdicts : new Array<undefined>(parts[i]!.length).fill(undefined)));
        }
      });
      if (failure) throw new PartialFilterError(failure.message, verdicts);
      return verdicts as FilterVerdict[];
    }
    return this.filterOne(entries, timeoutMs);
  }

  private filterOne(entries: readonly LogEntry[], timeoutMs: number): Promise<FilterVerdict[]> {
    return this.verdictsOf(this.payload(entries), entries.length, timeoutMs);
  }

  private async verdictsOf(payload: Record<string, unknown>, n: number, timeoutMs: number): Promise<FilterVerdict[]> {
    const a = await this.c.call('process', payload, timeoutMs, n);
    let verdicts: (FilterVerdict | undefined)[];
    try {
      verdicts = filterVerdictsOf(a, n);
    } catch (e) {
      this.counters.invalid_results++;
      throw new PluginCallError(`invalid answer: ${(e as Error).message}`);
    }
    if (verdicts.includes(undefined)) {
      const errs = Array.isArray(a.errors) ? a.errors : [];
      const first = errs[0] as { index?: unknown; error?: unknown } | undefined;
      const why = first ? `entry ${String(first.index)}: ${String(first.error).slice(0, 300)}` : 'failed on some entries';
      throw new PartialFilterError(`${why}${errs.length > 1 ? ` (and ${errs.length - 1} more)` : ''}`, verdicts);
    }
    return verdicts as FilterVerdict[];
  }

  async flush(entries: readonly LogEntry[], timeoutMs: number): Promise<void> {
    if (entries.length === 0) return;
    // In order: a sink sees the entries in the order the pipeline gave them.
    for (const part of entries.length > 64 ? this.chunks(entries) : [entries]) await this.c.call('process', this.payload(part), timeoutMs, part.length);
  }

  /**
   * The records path for process plugins: each record's NDJSON goes into the request line as it
   * is (no decode and re-encode), split like objects so no line passes the bound.
   */
  private recordParts(records: EntryRecords): { payload: Record<string, unknown>; count: number }[] {
    const limit = this.maxLineBytes - 4096;
    const parts: { payload: Record<string, unknown>; count: number }[] = [];
    let cur: string[] = [];
    let size = 0;
    const close = () => {
      if (cur.length) parts.push({ payload: cur.length === 1 ? { entry: new RawJson(cur[0]!) } : { batch: new RawJson(`[${cur.join(',')}]`) }, count: cur.length });
      cur = [];
      size = 0;
    };
    forEachRecord(records.frames, (start, end) => {
      if (cur.length > 0 && size + end - start + 1 > limit) close();
      cur.push(records.frames.toString('utf8', start, end));
      size += end - start + 1;
    });
    close();
    return parts;
  }

  async filterRecords(records: EntryRecords, timeoutMs: number): Promise<FilterVerdict[]> {
    if (records.count === 0) return [];
    const parts = this.recordParts(records);
    const verdicts: (FilterVerdict | undefined)[] = [];
    let failure: Error | undefined;
    const all = await Promise.allSettled(parts.map((p) => this.verdictsOf(p.payload, p.count, timeoutMs)));
    all.forEach((r, i) => {
      if (r.status === 'fulfilled') verdicts.push(...r.value);
      else {
        failure ??= r.reason as Error;
        verdicts.push(...(r.reason instanceof PartialFilterError ? r.reason.verdicts : new Array<undefined>(parts[i]!.count).fill(undefined)));
      }
    });
    if (failure) throw parts.length > 1 || failure instanceof PartialFilterError ? new PartialFilterError(failure.message, verdicts) : failure;
    return verdicts as FilterVerdict[];
  }

  async flushRecords(records: EntryRecords, timeoutMs: number): Promise<void> {
    // In order: a sink sees the entries in the order the pipeline gave them.
    for (const p of this.recordParts(records)) await this.c.call('process', p.payload, timeoutMs, p.count);
  }

  async *analyze(entry: LogEntry, timeoutMs: number): AsyncGenerator<AiResult> {
    for await (const r of this.c.stream('process', { entry }, timeoutMs)) {
      try {
        const d = validateAiResult(r);
        const out: AiResult = { level: d.level, message: d.message as string };
        if (d.lang_key) out.lang_key = d.lang_key as string;
        if (d.args) out.args = d.args as (string | number)[];
        if (d.fields) out.fields = d.fields as Record<string, string | number | boolean>;
        yield out;
      } catch (e) {
        if (!(e instanceof InvalidOutputError)) throw e;
        this.invalid(e.message);
      }
    }
  }

  /** Sync lookup from the cache; a miss asks the plugin in the background for next time. */
  resolve(langKey: string, lang: string): string | null {
    const t = this.cache.get(lang)?.get(langKey);
    if (t !== undefined) return t;
    const k = `${lang}\u0000${langKey}`;
    if (!this.misses.has(k) && this.conn && !this.conn.closed && this.misses.size < 10_000) {
      this.misses.add(k);
      this.conn.call('resolve', { lang_key: langKey, lang }, CONTROL_TIMEOUT_MS).then(
        (a) => {
          try {
            const tpl = validateTemplate(langKey, a.template);
            if (tpl !== null) {
              if (!this.cache.has(lang)) this.cache.set(lang, new Map());
              this.cache.get(lang)!.set(langKey, tpl);
            }
          } catch (e) {
            this.invalid((e as Error).message);
          }
          if (typeof a.version === 'number' && a.version !== this.cacheVersion) void this.refreshCatalogue();
        },
        () => {},
      );
    }
    return null;
  }

  /**
   * Fetches the whole catalogue when its version changed (`since` = the version we hold). The
   * answer may come in one line or streamed in chunks ({version, templates} each), which are merged.
   */
  async refreshCatalogue(): Promise<void> {
    if (this.refreshing || !this.conn || this.conn.closed) return;
    this.refreshing = true;
    try {
      const merged: Record<string, Record<string, unknown>> = {};
      let version: number | undefined;
      let unchanged = false;
      for await (const part of this.conn.stream('resolve', { since: this.cacheVersion ?? null }, CONTROL_TIMEOUT_MS, 0)) {
        if (part.unchanged === true) unchanged = true;
        if (typeof part.version === 'number') version = part.version;
        const t = part.templates;
        if (t !== null && typeof t === 'object' && !Array.isArray(t)) {
          for (const [lang, table] of Object.entries(t as Record<string, unknown>)) {
            if (table !== null && typeof table === 'object' && !Array.isArray(table)) Object.assign((merged[lang] ??= {}), table);
            else merged[lang] = table as Record<string, unknown>;
          }
        }
      }
      if (unchanged) return;
      this.cache = validateCatalogue(merged, (r) => this.invalid(r));
      this.misses.clear();
      const first = this.cacheVersion === undefined;
      this.cacheVersion = version;
      this.counters.lang_refreshes++;
      if (!first) this.log.info(`translations refreshed: version ${this.cacheVersion ?? '?'}, ${this.langCacheSize} templates`);
    } catch (e) {
      this.log.warn(`catalogue refresh failed: ${(e as Error).message}`);
    } finally {
      this.refreshing = false;
    }
  }

  /** Polls for catalogue changes (plugins that cannot push `changed` events). */
  startLangRefresh(everyMs = LANG_REFRESH_MS): void {
    if (this.type !== 'lang' || this.refreshTimer) return;
    this.refreshTimer = setInterval(() => void this.refreshCatalogue(), everyMs);
    this.refreshTimer.unref();
  }

  stopLangRefresh(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  get langCacheSize(): number {
    let n = 0;
    for (const m of this.cache.values()) n += m.size;
    return n;
  }
}
