/**
 * `format: json`: one JSON object per line (Docker's json-file, pino, bunyan, structlog…). Its
 * time/level/module/message keys fill the entry, every other key becomes a field (objects and
 * arrays as JSON text). Anything that is not a JSON object is unparsed.
 */
import { fromRecord } from './record.ts';
import type { LineParser, ParserOptions } from './types.ts';

/** pino and bunyan write levels as numbers. */
const NUMERIC_LEVELS: Record<number, string> = { 10: 'DEBUG', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export function create(opts: ParserOptions): LineParser {
  return {
    parse(text) {
      const start = text.trimStart();
      if (start[0] !== '{') return undefined;
      let value: unknown;
      try {
        value = JSON.parse(start);
      } catch {
        return undefined;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      const record = value as Record<string, unknown>;
      for (const k of opts.keys.level) {
        const lv = record[k];
        if (typeof lv === 'number' && NUMERIC_LEVELS[lv]) record[k] = NUMERIC_LEVELS[lv];
      }
      return fromRecord(record, opts);
    },
  };
}
