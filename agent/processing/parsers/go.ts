/**
 * `format: go`: Go's standard `log` package (`2009/11/10 23:00:00[.123456] [file.go:12: ]message`,
 * with the level a program often puts first: `[ERROR] …`, `ERROR: …`) and `log/slog`'s text
 * handler (`time=… level=WARN msg="…" k=v`, logfmt).
 */
import { extractLevelModule } from '../../buffer/line-codec.ts';
import { layouts, type Layout } from './builtin.ts';
import { readLogfmt } from './logfmt.ts';
import { fromRecord } from './record.ts';
import type { LineParser, ParserOptions } from './types.ts';

const STD = '^(?<time>\\d{4}/\\d{2}/\\d{2} \\d{2}:\\d{2}:\\d{2}(?:\\.\\d{1,6})?) (?:(?<file>[\\w./-]{1,256}\\.go:\\d{1,7}): )?(?<message>.*)$';

export const GO_LAYOUTS: Layout[] = [
  {
    pattern: new RegExp(STD, 's'),
    timeText: (t) => t.replace(/\//g, '-'),
    finish(parsed) {
      const x = extractLevelModule(parsed.message ?? '');
      if (!x.level) return;
      parsed.level = x.level;
      if (x.module) parsed.module = x.module;
      parsed.message = parsed.message!.slice(x.offset);
    },
  },
];

export function create(opts: ParserOptions): LineParser {
  const std = layouts(GO_LAYOUTS, opts);
  const slogKeys = { time: ['time'], level: ['level'], module: ['logger', 'module', 'component'], message: ['msg'] };
  return {
    parse(text) {
      if (text.startsWith('time=') || text.startsWith('level=')) {
        const record = readLogfmt(text);
        if (record && ('msg' in record || 'level' in record)) return fromRecord(record, opts, slogKeys);
      }
      return std.parse(text);
    },
  };
}
