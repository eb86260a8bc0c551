/**
 * The syslog PRI field (RFC 5424 §6.2.1, RFC 3164 §4.1.1): `<N>` with N = facility * 8 + severity,
 * 0 ≤ N ≤ 191. Shared by both message formats and by the kmsg format (kernel records carry the same
 * number).
 */
export const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;

export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

export interface Priority {
  facility: number;
  severity: number;
}

export function facilityName(facility: number): string {
  return FACILITIES[facility] ?? String(facility);
}

export function severityName(severity: number): string {
  return SEVERITIES[severity] ?? String(severity);
}

export function splitPriority(pri: number): Priority {
  return { facility: pri >> 3, severity: pri & 7 };
}

/**
 * Reads `<N>` at the start of text. Returns the priority and the offset just after `>`, or an
 * error saying what is wrong (the caller keeps the message as text).
 */
export function readPri(text: string): { ok: true; pri: Priority; next: number } | { ok: false; error: string } {
  if (text.charCodeAt(0) !== 0x3c /* < */) return { ok: false, error: 'no <PRI> at the start' };
  const close = text.indexOf('>', 1);
  if (close < 2 || close > 4) return { ok: false, error: 'PRI is not 1 to 3 digits in <…>' };
  const digits = text.slice(1, close);
  if (!/^\d{1,3}$/.test(digits)) return { ok: false, error: `PRI <${digits.slice(0, 8)}> is not a number` };
  const n = Number(digits);
  if (n > 191) return { ok: false, error: `PRI ${n} is over 191` };
  return { ok: true, pri: splitPriority(n), next: close + 1 };
}
