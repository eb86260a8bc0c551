/** Severity levels, lowest first. FATAL is for panics and kernel oopses. */
export const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type Level = (typeof LEVELS)[number];

const RANK: Record<Level, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };

export function levelRank(level: Level): number {
  return RANK[level];
}

export function isLevel(value: unknown): value is Level {
  // Own keys only: `in` would take "__proto__", "toString" and the like for levels.
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Common spellings seen in the wild (WARNING, ERR, CRIT, TRACE…) mapped onto our five levels. */
const ALIASES: Record<string, Level> = {
  TRACE: 'DEBUG', DEBUG: 'DEBUG', DBG: 'DEBUG',
  INFO: 'INFO', INF: 'INFO', NOTICE: 'INFO',
  WARN: 'WARN', WARNING: 'WARN', WRN: 'WARN',
  ERROR: 'ERROR', ERR: 'ERROR', CRIT: 'ERROR', CRITICAL: 'ERROR', ALERT: 'ERROR',
  FATAL: 'FATAL', PANIC: 'FATAL', EMERG: 'FATAL',
};

/** Parses a level name (ASCII case-insensitive, as parse_level in C), accepting aliases; undefined when unknown. */
export function parseLevel(text: string): Level | undefined {
  if (text.length > 8 || /[^\x00-\x7f]/.test(text)) return undefined;
  return Object.hasOwn(ALIASES, text.toUpperCase()) ? ALIASES[text.toUpperCase()] : undefined;
}

/** Syslog / kernel priority (0 emerg … 7 debug) to level. */
export function levelFromSyslogSeverity(severity: number): Level {
  if (severity <= 0) return 'FATAL';
  if (severity <= 3) return 'ERROR';
  if (severity === 4) return 'WARN';
  if (severity <= 6) return 'INFO';
  return 'DEBUG';
}
