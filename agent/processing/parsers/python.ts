/**
 * `format: python`: lines of Python's `logging` module in its usual layouts:
 *  - basicConfig's default `%(levelname)s:%(name)s:%(message)s` → `WARNING:pump.valve:stuck`
 *  - `%(asctime)s - %(name)s - %(levelname)s - %(message)s` (the logging cookbook)
 *  - `%(asctime)s %(levelname)s [%(name)s] %(message)s` and `%(asctime)s [%(levelname)s] %(name)s: %(message)s`
 * asctime is `2026-11-30 17:30:01,123`, read in the configured time zone.
 */
import { layouts, type Layout } from './builtin.ts';
import type { LineParser, ParserOptions } from './types.ts';

const LEVEL = '(?<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTSET)';
const TIME = '(?<time>\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(?:,\\d{3})?)';

export const PYTHON_LAYOUTS: Layout[] = [
  { pattern: new RegExp(`^${LEVEL}:(?<module>[^:\\s]*):(?<message>.*)$`, 's') },
  { pattern: new RegExp(`^${TIME} - (?<module>\\S+) - ${LEVEL} - (?<message>.*)$`, 's') },
  { pattern: new RegExp(`^${TIME} ${LEVEL}\\s+\\[(?<module>[^\\]\\s]{1,64})\\] (?<message>.*)$`, 's') },
  { pattern: new RegExp(`^${TIME} \\[${LEVEL}\\] (?<module>[\\w.-]{1,64}): (?<message>.*)$`, 's') },
  { pattern: new RegExp(`^${TIME} ${LEVEL}\\s+(?<message>.*)$`, 's') },
];

export function create(opts: ParserOptions): LineParser {
  return layouts(PYTHON_LAYOUTS, opts);
}
