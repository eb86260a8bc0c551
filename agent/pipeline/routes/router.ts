/**
 * Routes at run time. After the global filters, each route takes the entries its matcher selects
 * (reading level and module off the records, and the input from the id each record carries),
 * runs its own filters on them (their drops and copies affect only this route), and hands what is
 * left to its sinks; sinks no route names take every entry. An entry's pipeline hold is released
 * by the pipeline after every route has had it, so a route filter dropping it never finishes it
 * early for another route's sink.
 */
import type { FilterStage, FilterVerdicts } from '../stages.ts';
import type { SinkRunner } from '../sink-runner.ts';
import type { RecordBatch } from '../batch.ts';
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
   * Hands a batch to sinks: all of it to the sinks outside routes, each route's selection through
   * its filters to its sinks. Sync unless a route filter answers asynchronously.
   */
  route(batch: RecordBatch, inputName: (id: number) => string | undefined, countFiltered: (filter: string, n: number) => void): void | Promise<void> {
    for (const s of this.free) s.push(batch);
    const pending: Promise<void>[] = [];
    for (const r of this.routes) {
      const pick = new Array<boolean>(batch.count);
      for (let i = 0; i < batch.count; i++) pick[i] = r.matcher.matches(batch.view(i), r.matcher.needsInput ? inputName(batch.input(i)) : undefined);
      const selected = batch.select(pick);
      r.matched += selected.count;
      if (selected.count === 0) continue;
      const out = this.runFilters(r, 0, selected, countFiltered);
      if (out instanceof Promise) pending.push(out.then((kept) => this.deliver(r, kept)));
      else this.deliver(r, out);
    }
    if (pending.length) return Promise.all(pending).then(() => undefined);
  }

  private deliver(r: Route, batch: RecordBatch): void {
    r.delivered += batch.count;
    for (const s of r.sinks) s.push(batch);
  }

  private runFilters(r: Route, i: number, batch: RecordBatch, countFiltered: (filter: string, n: number) => void): RecordBatch | Promise<RecordBatch> {
    for (; i < r.filters.length && batch.count > 0; i++) {
      const f = r.filters[i]!;
      if (!f.enabled) continue;
      const verdicts = f.keep(batch);
      if (verdicts instanceof Promise) {
        const next = i + 1;
        const before = batch;
        return verdicts.then((v) => this.runFilters(r, next, this.apply(r, f, before, v, countFiltered), countFiltered));
      }
      batch = this.apply(r, f, batch, verdicts, countFiltered);
    }
    return batch;
  }

  private apply(r: Route, f: FilterStage, batch: RecordBatch, verdicts: FilterVerdicts, countFiltered: (filter: string, n: number) => void): RecordBatch {
    // Dropped for this route only: the pipeline's hold is released after routing.
    const kept = batch.apply(verdicts, false);
    const out = batch.count - kept.count;
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
