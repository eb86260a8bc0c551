/**
 * The shape shared by the built-in parsers (python, java, go, nginx, apache): a few line layouts
 * that a framework writes by default, each a pattern with named captures and the time format of
 * its `time` capture. The first layout that matches wins; captures other than time, level,
 * module and message become fields.
 */
import { TimeReader } from '../timestamp.ts';
import { fromRecord } from './record.ts';
import type { KeyNames, LineParser, ParsedLine, ParserOptions } from './types.ts';

export interface Layout {
  pattern: RegExp;
  /** strptime format of the `time` capture; undefined = ISO 8601-like, read as is. */
  timeFormat?: string;
  /** Rewrites the `time` capture into a form the reader takes (e.g. Go's 2009/11/10 → 2009-11-10). */
  timeText?(time: string): string;
  /** Adjusts what was read (e.g. an access log's level from its status code). */
  finish?(parsed: ParsedLine, groups: Record<string, string>): void;
}

const KEYS: KeyNames = { time: ['time'], level: ['level'], module: ['module'], message: ['message'] };

export function layouts(list: readonly Layout[], opts: ParserOptions): LineParser {
  const readers = list.map((l) => new TimeReader(l.timeFormat, opts.zone));
  return {
    parse(text) {
      for (let i = 0; i < list.length; i++) {
        const layout = list[i]!;
        const m = layout.pattern.exec(text);
        if (!m?.groups) continue;
        const record: Record<string, unknown> = m.groups;
        if (layout.timeText && typeof record.time === 'string') record.time = layout.timeText(record.time);
        const parsed = fromRecord(record, { ...opts, time: readers[i]! }, KEYS);
        layout.finish?.(parsed, m.groups as Record<string, string>);
        return parsed;
      }
      return undefined;
    },
  };
}
