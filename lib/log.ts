import type { Level } from './level.ts';
import { levelRank } from './level.ts';

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

/** Receives each line as `[LEVEL] message`, and its parts for sinks that write another format. */
export type LogSink = (line: string, level: Level, message: string) => void;

export type LogFormat = 'text' | 'json';

/**
 * The process's stderr. Lines start with an ISO-8601 UTC timestamp, because stderr ends up in files
 * (BusyBox init redirects, `logloom run 2>>log`) and journals that are read long after: `text` is
 * `2026-11-30T17:30:01.250Z [WARN] message`, `json` one object per line with time, level and msg.
 */
export function stderrSink(format: LogFormat = 'text'): LogSink {
  return format === 'json'
    ? (_line, level, msg) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg }) + '\n')
    : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export function createLog(min: Level = 'INFO', sink: LogSink = stderrSink(), prefix = ''): AgentLog {
  const minRank = levelRank(min);
  const at = (level: Level) => (msg: string) => {
    if (levelRank(level) >= minRank) sink(`[${level}] ${prefix}${msg}`, level, prefix + msg);
  };
  return {
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
    child: (tag: string) => createLog(min, sink, `${prefix}${tag}: `),
  };
}
