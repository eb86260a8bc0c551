/**
 * Routes at run time. After the global filters, each route takes the entries its matcher selects,
 * runs its own filters on them (their drops and copies affect only this route), and hands what is
 * left to its sinks; sinks no route names take every entry. An entry's pipeline hold is released
 * by the pipeline after every route has had it, so a route filter dropping it never finishes it
 * early for another route's sink.
 */
import type { LogEntry } from '../../entry/entry.ts';
import { moveCheckpoint } from '../checkpoint.ts';
import type { FilterStage, FilterVerdicts } from '../stages.ts';
import type { SinkRunner } from '../sink-runner.ts';
import { inputOf, moveInputTag } from './input-tag.ts';
import { RouteMatcher } from './matcher.ts';
import type { RouteConfig } from './schema.ts';

export interface RouteStatus {
  name: string;
  sinks: string[];
  filters: string[];
  /** Entries the match selected. */
  matched: number;
  /** Entries handed to the route's sinks (after its filters). */
  delivered: number;
  /** Entries the route's filters dropped. */
  dropped_by_filters: number;
  /** Configured sinks that are not running (failed to load): the route delivers to the others. */
  missing_sinks: string[];
}

class Route {
  readonly config: RouteConfig;
  readonly matcher: RouteMatcher;
  filters: FilterStage[] = [];
  sinks: SinkRunner[] = [];
  missing: string[] = [];
  matched = 0;
  delivered = 0;
  dropped = 0;

  constructor(config: RouteConfig) {
    this.config = config;
    this.matcher = new RouteMatcher(config.match);
  }
}

export class Router {
  private readonly routes: Route[];
  private readonly routedSinks = new Set<string>();
  private readonly routedFilters = new Set<string>();
  private free: SinkRunner[] = [];
  readonly needsInput: boolean;

  constructor(configs: readonly RouteConfig[]) {
    this.routes = configs.map((c) => new Route(c));
    for (const r of this.routes) {
      for (const s of r.config.sinks) this.routedSinks.add(s);
      for (const f of r.config.filters) this.routedFilters.add(f);
    }
    this.needsInput = this.routes.some((r) => r.matcher.needsInput);
  }

  /** A filter that belongs to a route: the global chain skips it. */
  owns(filter: string): boolean {
    return this.routedFilters.has(filter);
  }

  /** Finds the running stages by name (after plugins started); returns what could not be found. */
  attach(filters: readonly FilterStage[], sinks: readonly SinkRunner[]): string[] {
    const problems: string[] = [];
    this.free = sinks.filter((s) => !this.routedSinks.has(s.stage.name));
    for (const r of this.routes) {
      r.sinks = [];
      r.missing = [];
      for (const name of r.config.sinks) {
        const s = sinks.find((x) => x.stage.name === name);
        if (s) r.sinks.push(s);
        else {
          r.missing.push(name);
          problems.push(`route ${r.config.name}: sink ${name} is not running`);
        }
      }
      r.filters = [];
      for (const name of r.config.filters) {
        const f = filters.find((x) => x.name === name);
        if (f) r.filters.push(f);
        else problems.push(`route ${r.config.name}: filter ${name} is not running; the route's entries pass without it`);
      }
    }
    return problems;
  }

  /**
   * Hands entries to sinks: every entry to the sinks outside routes, each route's selection
   * through its filters to its sinks. Sync unless a route filter answers asynchronously.
   */
  route(entries: readonly LogEntry[], countFiltered: (filter: string, n: number) => void): void | Promise<void> {
    for (const s of this.free) for (const e of entries) s.push(e);
    const pending: Promise<void>[] = [];
    for (const r of this.routes) {
      const selected = entries.filter((e) => r.matcher.matches(e, inputOf(e)));
      r.matched += selected.length;
      if (selected.length === 0) continue;
      const out = this.runFilters(r, 0, selected, countFiltered);
      if (out instanceof Promise) pending.push(out.then((kept) => this.deliver(r, kept)));
      else this.deliver(r, out);
    }
    if (pending.length) return Promise.all(pending).then(() => undefined);
  }

  private deliver(r: Route, entries: readonly LogEntry[]): void {
    r.delivered += entries.length;
    for (const s of r.sinks) for (const e of entries) s.push(e);
  }

  private runFilters(r: Route, i: number, entries: LogEntry[], countFiltered: (filter: string, n: number) => void): LogEntry[] | Promise<LogEntry[]> {
    for (; i < r.filters.length && entries.length > 0; i++) {
      const f = r.filters[i]!;
      if (!f.enabled) continue;
      const verdicts = f.keepBatch(entries);
      if (verdicts instanceof Promise) {
        const next = i + 1;
        const before = entries;
        return verdicts.then((v) => this.runFilters(r, next, this.apply(r, f, before, v, countFiltered), countFiltered));
      }
      entries = this.apply(r, f, entries, verdicts, countFiltered);
    }
    return entries;
  }

  private apply(r: Route, f: FilterStage, entries: LogEntry[], verdicts: FilterVerdicts, countFiltered: (filter: string, n: number) => void): LogEntry[] {
    const kept: LogEntry[] = [];
    for (let j = 0; j < entries.length; j++) {
      const v = verdicts[j];
      if (v === false) continue; // dropped for this route only: the pipeline's hold is released after routing
      if (typeof v === 'object' && v !== null) {
        moveCheckpoint(entries[j]!, v);
        moveInputTag(entries[j]!, v);
        kept.push(v);
      } else kept.push(entries[j]!);
    }
    const out = entries.length - kept.length;
    if (out) {
      r.dropped += out;
      countFiltered(f.name, out);
    }
    return kept;
  }

  status(): RouteStatus[] {
    return this.routes.map((r) => ({
      name: r.config.name,
      sinks: r.config.sinks,
      filters: r.config.filters,
      matched: r.matched,
      delivered: r.delivered,
      dropped_by_filters: r.dropped,
      missing_sinks: r.missing,
    }));
  }
}
