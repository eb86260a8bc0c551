/**
 * Entry timestamps: what a received timestamp may look like, and how an entry writes it. The C
 * codec applies the same rules (parse_timestamp, timestamp_of_number and iso_time in
 * native/addon/src/entry.c).
 *
 * A text timestamp is `YYYY-MM-DD`, optionally followed by `T` (or `t`, or a space) and
 * `HH:MM`, `:SS` and `.fraction` (any number of digits; milliseconds are kept, the rest dropped),
 * then optionally `Z`, `±HH:MM`, `±HHMM` or `±HH`. Without a zone the time is UTC. A number is
 * seconds since the epoch below 1e11, milliseconds from there. Anything else (or a date that
 * does not exist) is not a timestamp: the entry takes the time its line arrived.
 */

/** Milliseconds since the epoch of a text timestamp, or undefined when it is not one. */
export function parseTimestamp(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/.exec(s);
  if (!m) return undefined;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const h = Number(m[4] ?? 0);
  const mi = Number(m[5] ?? 0);
  const se = Number(m[6] ?? 0);
  const frac = m[7] ? Number((m[7] + '00').slice(0, 3)) : 0;
  const zh = Number(m[10] ?? 0);
  const zm = Number(m[11] ?? 0);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1]! || h > 23 || mi > 59 || se > 59 || zh > 23 || zm > 59) return undefined;
  const offset = m[9] === '-' ? -(zh * 60 + zm) : zh * 60 + zm;
  return daysFromCivil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000 + frac - offset * 60_000;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm; days_from_civil in C). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// Entries arrive in bursts within the same millisecond: formatting the time once per ms saves
// a Date allocation and toISOString per entry on the hot path.
let lastMs = NaN;
let lastIso = '';

/** Date#toISOString of a valid time value. */
export function isoOfMs(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** The entry's timestamp text for what a draft carried (fallback: when its line arrived). */
export function toIso(ts: string | number | Date | undefined, fallback: number): string {
  if (ts === undefined) return isoOfMs(fallback);
  let ms: number;
  if (ts instanceof Date) ms = ts.getTime();
  else if (typeof ts === 'number') ms = new Date(ts < 1e11 ? ts * 1000 : ts).getTime();
  else ms = typeof ts === 'string' ? (parseTimestamp(ts) ?? NaN) : NaN;
  return Number.isNaN(ms) ? isoOfMs(fallback) : isoOfMs(ms);
}
