/** Whether an entry belongs to a route: input name, level range and module patterns. */
import type { LogEntry } from '../../../entry/entry.ts';
import { levelRank } from '../../../lib/level.ts';
import type { RouteConfig } from './schema.ts';

function modulePattern(p: string): (m: string) => boolean {
  const up = p.toUpperCase();
  if (!up.includes('*')) return (m) => m === up;
  const re = new RegExp(`^${up.split('*').map((x) => x.replace(/[.\-]/g, '\\$&')).join('.*')}$`);
  return (m) => re.test(m);
}

export class RouteMatcher {
  private readonly inputs: Set<string> | undefined;
  private readonly min: number;
  private readonly max: number;
  private readonly modules: ((m: string) => boolean)[];
  private readonly excluded: ((m: string) => boolean)[];
  /** The route selects by input: the router reads it from the id each record carries. */
  readonly needsInput: boolean;
  /** Takes everything: no per-entry test needed. */
  readonly all: boolean;

  constructor(match: RouteConfig['match']) {
    this.inputs = match.inputs.length ? new Set(match.inputs) : undefined;
    this.min = levelRank(match.min_level);
    this.max = levelRank(match.max_level);
    this.modules = match.modules.map(modulePattern);
    this.excluded = match.exclude_modules.map(modulePattern);
    this.needsInput = this.inputs !== undefined;
    this.all = !this.inputs && this.min === 0 && this.max === levelRank('FATAL') && !this.modules.length && !this.excluded.length;
  }

  matches(entry: LogEntry, input: string | undefined): boolean {
    if (this.all) return true;
    if (this.inputs && (input === undefined || !this.inputs.has(input))) return false;
    const r = levelRank(entry.level);
    if (r < this.min || r > this.max) return false;
    if (this.modules.length && !this.modules.some((m) => m(entry.module))) return false;
    if (this.excluded.length && this.excluded.some((m) => m(entry.module))) return false;
    return true;
  }
}
