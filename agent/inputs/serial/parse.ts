import { levelFromSyslogSeverity, parseLevel, type Level } from '../../../lib/level.ts';

/** What the text of one console line says about itself. */
export interface ParsedLine {
  /** The text without the prefixes that were understood (and without ANSI colour codes). */
  message: string;
  level?: Level;
  module?: string;
  /** Seconds since boot, from a kernel `[   12.345678]` prefix. */
  kernelTime?: number;
  /** A timestamp the device printed (its clock may be wrong, so the entry keeps the arrival time). */
  deviceTime?: string;
  format?: 'kernel' | 'logloom' | 'esp-idf' | 'zephyr' | 'level';
}

/** ANSI CSI/OSC sequences (colours, cursor moves) that consoles such as ESP-IDF print. */
const ANSI = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** `<3>` syslog priority and/or `[   12.345678]` seconds since boot. */
const KERNEL = /^(?:<(\d{1,3})>)?(?:\[\s*(\d{1,10}\.\d{1,9})\]\s?)?/;
/** Logloom's own console format: `[LEVEL] [MODULE] <timestamp> <message>`. */
const LOGLOOM = /^\[(DEBUG|INFO|WARN|ERROR|FATAL)\] \[([A-Za-z0-9_.-]{1,16})\] (\d{4}-\d{2}-\d{2}T\S+) ?(.*)$/s;
/** ESP-IDF: `E (1234) wifi: message`. */
const ESP_IDF = /^([EWIDV]) \((\d+)\) ([^:\s][^:]{0,31}): ?(.*)$/s;
const ESP_LEVEL: Record<string, Level> = { E: 'ERROR', W: 'WARN', I: 'INFO', D: 'DEBUG', V: 'DEBUG' };
/** Zephyr: `[00:00:01.234,567] <err> module: message`. */
const ZEPHYR = /^\[(\d{2}:\d{2}:\d{2}\.\d{3},\d{3})\] <(err|wrn|inf|dbg)> ([\w.-]{1,32}): ?(.*)$/s;
const ZEPHYR_LEVEL: Record<string, Level> = { err: 'ERROR', wrn: 'WARN', inf: 'INFO', dbg: 'DEBUG' };
const LEVEL_WORDS = 'TRACE|DEBUG|DBG|INFO|INF|NOTICE|WARN|WARNING|WRN|ERROR|ERR|CRIT|CRITICAL|ALERT|FATAL|PANIC|EMERG';
/** An optional leading time (`2025-04-30 12:00:00.123`, `12:00:00`), then `[LEVEL]`, `<LEVEL>` or `LEVEL:` (any case), or `LEVEL ` (upper case). */
const TIME_PREFIX = String.raw`(?:(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)\s+)?`;
const LEVEL_BRACKETED = new RegExp(`^${TIME_PREFIX}[\\[<](${LEVEL_WORDS})[\\]>]:?\\s*(.*)$`, 'is');
const LEVEL_COLON = new RegExp(`^${TIME_PREFIX}(${LEVEL_WORDS}):\\s*(.*)$`, 'is');
const LEVEL_WORD = new RegExp(`^${TIME_PREFIX}(${LEVEL_WORDS})\\s+(.*)$`, 's');
/** A `[MODULE]` right after the level: `[WARN] [PUMP] pressure high`. */
const MODULE_TAG = /^\[([A-Za-z][A-Za-z0-9_.-]{0,15})\]\s*(.*)$/s;

export function stripAnsi(text: string): string {
  return text.includes('\x1b') ? text.replace(ANSI, '') : text;
}

/** Reads level, module and timestamps from one console line; unknown forms keep their text. */
export function parseConsoleLine(raw: string): ParsedLine {
  const text = stripAnsi(raw);
  const k = KERNEL.exec(text)!;
  if (k[0].length > 0) {
    const out: ParsedLine = { message: text.slice(k[0].length), format: 'kernel' };
    if (k[1] !== undefined) out.level = levelFromSyslogSeverity(Number(k[1]) & 7);
    if (k[2] !== undefined) out.kernelTime = Number(k[2]);
    return out;
  }
  const first = text.charCodeAt(0);
  let m: RegExpExecArray | null;
  if (first === 0x5b /* [ */) {
    if ((m = LOGLOOM.exec(text))) return { level: m[1] as Level, module: m[2], deviceTime: m[3], message: m[4]!, format: 'logloom' };
    if ((m = ZEPHYR.exec(text))) return { deviceTime: m[1], level: ZEPHYR_LEVEL[m[2]!], module: m[3], message: m[4]!, format: 'zephyr' };
  } else if (text.charCodeAt(1) === 0x20 && text.charCodeAt(2) === 0x28 && (m = ESP_IDF.exec(text))) {
    return { level: ESP_LEVEL[m[1]!], module: m[3]!.trim(), deviceTime: m[2], message: m[4]!, format: 'esp-idf' };
  }
  m = LEVEL_BRACKETED.exec(text) ?? LEVEL_COLON.exec(text) ?? LEVEL_WORD.exec(text);
  if (m) {
    const out: ParsedLine = { level: parseLevel(m[2]!), message: m[3]!, format: 'level' };
    if (m[1]) out.deviceTime = m[1];
    const mod = MODULE_TAG.exec(out.message);
    if (mod) {
      out.module = mod[1];
      out.message = mod[2]!;
    }
    return out;
  }
  return { message: text };
}
