/**
 * The keys of the line stage, accepted by every line input (file, tcp, unix, stdin, serial,
 * syslog, devlog): `parser:` and `multiline:`. Everything that could stop the stage from starting
 * (a pattern that does not compile, an unknown zone) is checked here, so check-config reports it.
 */
import { s, type Infer } from '../../lib/schema/schema.ts';
import { LEVELS } from '../../lib/level.ts';
import { PARSER_NAMES } from './parsers/index.ts';
import { checkPattern } from './parsers/regex.ts';
import { checkTimeFormat, checkTimeZone } from './timestamp.ts';
import { MULTILINE_MODES, type MultilineMode } from './multiline/modes.ts';

function checkRegex(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
}

const key = (doc: string) => s.optional(s.string({ doc: '', minLength: 1 }), { doc });

export const parserSchema = s.optional(
  s.object({
    format: s.enum(PARSER_NAMES, { doc: 'regex (named captures), logfmt, json, cri (containerd/CRI-O), or a built-in layout: python (logging), java (logback, log4j, Spring Boot), go (log, slog), nginx or apache (access logs). See docs/parsing.md.' }),
    pattern: s.optional(s.string({ doc: '', check: checkPattern }), { doc: 'format regex: a JavaScript regular expression with named captures, e.g. `^(?<time>\\S+ \\S+) (?<level>\\w+) \\[(?<module>[^\\]]+)\\] (?<message>.*)$`; captures other than time, level, module and message become fields.' }),
    time_key: key('Key (capture, JSON or logfmt key) holding the time (default: time, timestamp, ts, @timestamp, asctime).'),
    level_key: key('Key holding the level word (default: level, severity, lvl, levelname, loglevel).'),
    module_key: key('Key holding the module (default: module, logger, component).'),
    message_key: key('Key holding the message (default: message, msg, log).'),
    time_format: s.optional(s.string({ doc: '', check: checkTimeFormat }), { doc: 'strptime-style format of the time (e.g. `%Y-%m-%d %H:%M:%S,%L`, `%d/%b/%Y:%H:%M:%S %z`), or iso8601, epoch, epoch_ms; default: ISO 8601 and epoch numbers are recognised. Built-in formats read their own layout.' }),
    time_zone: s.string({ default: 'local', check: checkTimeZone, doc: 'Zone of times written without an offset: an IANA name (Europe/Berlin), UTC, UTC+8, or local (the agent\'s zone).' }),
    levels: s.map(s.enum(LEVELS, { doc: '' }), { default: {}, doc: 'Extra level words, e.g. `{warning: WARN, crit: ERROR, E: ERROR, "30": INFO}`, looked up case-insensitively before the built-in ones (TRACE, DBG, NOTICE, WARNING, ERR, CRIT, ALERT, PANIC, EMERG…).' }),
  }, {
    doc: '',
    check: (p) => (p.format === 'regex' && !p.pattern ? 'format regex needs a pattern' : p.format !== 'regex' && p.pattern ? `pattern is only used by format regex, not ${p.format}` : undefined),
  }),
  { doc: 'Parse each line (see docs/parsing.md); a line that does not parse is kept as text and counted (unparsed in status). Omit to keep today\'s behaviour (NDJSON objects and a leading [LEVEL] [MODULE]).' },
);

export const multilineSchema = s.optional(
  s.object({
    mode: s.enum(Object.keys(MULTILINE_MODES) as MultilineMode[], { doc: 'python, java or go (their stack traces and panics join the line before them), or custom (start/continuation).' }),
    start: s.optional(s.string({ doc: '', check: checkRegex }), { doc: 'custom: a line matching this pattern starts a new entry; other lines continue the current one.' }),
    continuation: s.optional(s.string({ doc: '', check: checkRegex }), { doc: 'custom: a line matching this pattern continues the current entry; other lines start one.' }),
    flush_timeout: s.duration({ min: 10, max: 600_000, default: 1000, doc: 'An entry still collecting lines is sent when no line came for this long.' }),
    max_lines: s.int({ min: 2, max: 100_000, default: 500, doc: 'Most lines joined into one entry; the next line starts a new one.' }),
    max_bytes: s.size({ min: 256, max: 16 * 1024 * 1024, default: 64 * 1024, doc: 'Most bytes joined into one entry; the next line starts a new one.' }),
  }, {
    doc: '',
    check: (m) => (m.mode === 'custom' && !m.start && !m.continuation ? 'mode custom needs start, continuation or both' : m.mode !== 'custom' && (m.start || m.continuation) ? `start and continuation are only used by mode custom, not ${m.mode}` : undefined),
  }),
  { doc: 'Join the lines of one entry (stack traces, panics) into one message with real newlines (see docs/parsing.md).' },
);

export const lineProcessingFields = { parser: parserSchema, multiline: multilineSchema };
export type ParserConfig = NonNullable<Infer<typeof parserSchema>>;
export type MultilineConfig = NonNullable<Infer<typeof multilineSchema>>;
