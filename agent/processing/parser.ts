/** Builds the configured parser: its options (keys, time reader, level table) from `parser:`. */
import { LevelTable } from './levels.ts';
import { PARSERS } from './parsers/index.ts';
import type { KeyNames, LineParser } from './parsers/types.ts';
import type { ParserConfig } from './schema.ts';
import { TimeReader } from './timestamp.ts';

export const DEFAULT_KEYS: KeyNames = {
  time: ['time', 'timestamp', 'ts', '@timestamp', 'asctime'],
  level: ['level', 'severity', 'lvl', 'levelname', 'loglevel'],
  module: ['module', 'logger', 'component'],
  message: ['message', 'msg', 'log'],
};

export function createParser(cfg: ParserConfig): LineParser {
  const keys: KeyNames = {
    time: cfg.time_key ? [cfg.time_key] : DEFAULT_KEYS.time,
    level: cfg.level_key ? [cfg.level_key] : DEFAULT_KEYS.level,
    module: cfg.module_key ? [cfg.module_key] : DEFAULT_KEYS.module,
    message: cfg.message_key ? [cfg.message_key] : DEFAULT_KEYS.message,
  };
  return PARSERS[cfg.format]({
    pattern: cfg.pattern === undefined ? undefined : new RegExp(cfg.pattern),
    time: new TimeReader(cfg.time_format, cfg.time_zone),
    zone: cfg.time_zone,
    levels: new LevelTable(cfg.levels),
    keys,
  });
}
