/**
 * `format: java`: the default layouts of logback, log4j 2 and Spring Boot:
 *  - logback `%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg` (time of day only: today's date)
 *  - `%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger - %msg` (logback with a date)
 *  - log4j `%d{ISO8601} %-5p [%t] %c: %m` / `%d %p %c [%t] %m`
 *  - Spring Boot `2026-11-30T17:30:01.123+01:00  ERROR 1234 --- [main] c.e.Pump : msg`
 * The logger name becomes the module (its last segment, which is what fits 16 characters), the
 * full name stays in the `logger` field, the thread in `thread`.
 */
import { layouts, type Layout } from './builtin.ts';
import type { LineParser, ParsedLine, ParserOptions } from './types.ts';

const LEVEL = '(?<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)';
const DATE_TIME = '(?<time>\\d{4}-\\d{2}-\\d{2}[ T]\\d{2}:\\d{2}:\\d{2}(?:[.,]\\d{3,9})?(?:Z|[+-]\\d{2}:?\\d{2})?)';

/** The logger's last segment as module; the whole name as a field. */
function loggerModule(parsed: ParsedLine, groups: Record<string, string>): void {
  const logger = groups.logger;
  if (!logger) return;
  const last = logger.split('.').pop()!;
  parsed.module = last;
  (parsed.fields ??= {}).logger = logger;
  delete parsed.fields.module;
}

export const JAVA_LAYOUTS: Layout[] = [
  { pattern: new RegExp(`^(?<time>\\d{2}:\\d{2}:\\d{2}\\.\\d{3}) \\[(?<thread>[^\\]]{1,128})\\] ${LEVEL}\\s+(?<logger>[\\w.$]{1,256}) - (?<message>.*)$`, 's'), timeFormat: '%H:%M:%S.%L', finish: loggerModule },
  { pattern: new RegExp(`^${DATE_TIME} \\[(?<thread>[^\\]]{1,128})\\] ${LEVEL}\\s+(?<logger>[\\w.$]{1,256}) - (?<message>.*)$`, 's'), finish: loggerModule },
  { pattern: new RegExp(`^${DATE_TIME}\\s+${LEVEL}\\s+\\d+ --- \\[\\s*(?<thread>[^\\]]{1,128})\\] (?<logger>[\\w.$]{1,256})\\s+: (?<message>.*)$`, 's'), finish: loggerModule },
  { pattern: new RegExp(`^${DATE_TIME}\\s+${LEVEL}\\s+\\[(?<thread>[^\\]]{1,128})\\] (?<logger>[\\w.$]{1,256}):? (?<message>.*)$`, 's'), finish: loggerModule },
  { pattern: new RegExp(`^${DATE_TIME}\\s+${LEVEL}\\s+(?<logger>[\\w.$]{1,256}) \\[(?<thread>[^\\]]{1,128})\\] (?<message>.*)$`, 's'), finish: loggerModule },
];

export function create(opts: ParserOptions): LineParser {
  return layouts(JAVA_LAYOUTS, opts);
}
