import type { Level } from './entry/level.ts';
import { levelRank } from './entry/level.ts';

/**
 * The agent's own diagnostics: `[LEVEL] message` lines on stderr (journald and BusyBox syslogd
 * pick them up from there). Some lines are contracts that operators grep for and stay verbatim:
 * `[WARN] Failed to load plugin '<file>': <reason>` and `[ERROR] Plugin communication failed: …`.
 */
export interface AgentLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A copy of this log that prefixes every line with `tag: `. */
  child(tag: string): AgentLog;
}

export type LogSink = (line: string) => void;

export function createLog(min: Level = 'INFO', sink: LogSink = (l) => process.stderr.write(l + '\n'), prefix = ''): AgentLog {
  const minRank = levelRank(min);
  const at = (level: Level) => (msg: string) => {
    if (levelRank(level) >= minRank) sink(`[${level}] ${prefix}${msg}`);
  };
  return {
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
    child: (tag: string) => createLog(min, sink, `${prefix}${tag}: `),
  };
}
