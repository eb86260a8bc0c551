import type { ParseResult } from './message.ts';
import { readPri } from './priority.ts';
import { parse3164 } from './parse3164.ts';
import { parse5424 } from './parse5424.ts';

/**
 * One syslog message (already framed, decoded, trailing newline removed) in either format: `<PRI>1 `
 * selects RFC 5424 (strict), any other `<PRI>` RFC 3164 (lenient, as the RFC asks of relays). No
 * valid PRI is an error: the input keeps the text and counts it as rejected.
 */
export function parseSyslog(text: string, now?: Date): ParseResult {
  const pri = readPri(text);
  if (!pri.ok) return pri;
  if (text.startsWith('1 ', pri.next)) return parse5424(text, pri.pri, pri.next);
  return parse3164(text, pri.pri, pri.next, now);
}
