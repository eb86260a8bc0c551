import type { ParseResult, SyslogMessage } from './message.ts';
import type { Priority } from './priority.ts';
import { parseTimestamp5424 } from './parse5424.ts';

/**
 * RFC 3164 (BSD syslog) after the PRI: `TIMESTAMP SP HOSTNAME SP TAG[PID]: MSG`, parsed the
 * lenient way the RFC asks of a relay (§4.3): a missing or unreadable timestamp means "no
 * timestamp" (the receive time is used) and everything after the PRI is content; a token after
 * the timestamp that already looks like a tag (`su:` or `cron[12]:`, as local senders write
 * through /dev/log) is a tag, not a host name. Also accepted in the timestamp position: an RFC 3339
 * timestamp (rsyslog's "high precision" BSD format).
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// `Oct 11 22:14:15`, `Feb  5 …` (RFC) and, seen in the wild, `Feb 5 …` and fractions `22:14:15.123`.
const BSD_TIME = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: |$)/;
const TAG = /^([^\s\[\]:]{1,48})(?:\[([^\]\s]{1,128})\])?:(?: |$)/;

/**
 * A BSD timestamp has no year and no zone: it is the sender's local time, taken here as the
 * gateway's. The year is the current one, or the previous one when that would put the message
 * more than a week in the future (a December message read in January).
 */
function bsdDate(mon: number, day: number, h: number, mi: number, s: number, ms: number, now: Date): Date | undefined {
  if (day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  let d = new Date(now.getFullYear(), mon, day, h, mi, s, ms);
  if (d.getTime() - now.getTime() > 7 * 86_400_000) d = new Date(now.getFullYear() - 1, mon, day, h, mi, s, ms);
  return d.getMonth() === mon ? d : undefined;
}

export function parse3164(text: string, pri: Priority, start: number, now = new Date()): ParseResult {
  const msg: SyslogMessage = { version: 0, facility: pri.facility, severity: pri.severity, message: '' };
  let rest = text.slice(start);
  let hadTimestamp = false;
  const bsd = BSD_TIME.exec(rest);
  if (bsd) {
    const mon = MONTHS.indexOf(bsd[1]!);
    const d = mon >= 0 ? bsdDate(mon, Number(bsd[2]), Number(bsd[3]), Number(bsd[4]), Number(bsd[5]), bsd[6] ? Math.floor(Number(`0.${bsd[6]}`) * 1000) : 0, now) : undefined;
    if (d) {
      msg.timestamp = d;
      hadTimestamp = true;
      rest = rest.slice(bsd[0].length);
    }
  } else {
    const sp = rest.indexOf(' ');
    const iso = parseTimestamp5424(sp === -1 ? rest : rest.slice(0, sp));
    if (iso) {
      msg.timestamp = iso;
      hadTimestamp = true;
      rest = sp === -1 ? '' : rest.slice(sp + 1);
    }
  }
  if (hadTimestamp && !TAG.test(rest)) {
    // The host name: the RFC allows no spaces in it.
    const sp = rest.indexOf(' ');
    const host = sp === -1 ? rest : rest.slice(0, sp);
    if (host.length > 0 && host.length <= 255) {
      msg.hostname = host;
      rest = sp === -1 ? '' : rest.slice(sp + 1);
    }
  }
  const tag = TAG.exec(rest);
  if (tag) {
    msg.appName = tag[1];
    if (tag[2]) msg.procId = tag[2];
    rest = rest.slice(tag[0].length);
  }
  msg.message = rest;
  return { ok: true, message: msg };
}
