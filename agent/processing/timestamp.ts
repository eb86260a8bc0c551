/**
 * Timestamps written by applications, turned into epoch milliseconds. A format is strptime-style
 * (`%Y-%m-%d %H:%M:%S,%L`, as Fluent Bit's Time_Format) or one of the words `iso8601`, `epoch`
 * (seconds, fractions allowed), `epoch_ms`; without a format, ISO 8601 / RFC 3339 and epoch
 * numbers are recognised. A time without a zone is read in the configured IANA zone (`local` =
 * the agent's own zone, `UTC`, `Europe/Berlin`…); luxon does the zone and DST arithmetic.
 */
import { DateTime, IANAZone, type DateTimeOptions } from 'luxon';

/** strptime directive → luxon token. Literal text is quoted for luxon. */
const DIRECTIVES: Record<string, string> = {
  Y: 'yyyy', y: 'yy', m: 'MM', d: 'dd', e: 'd', H: 'HH', I: 'hh', M: 'mm', S: 'ss', p: 'a',
  L: 'SSS', f: 'u', z: 'ZZZ', Z: 'z', b: 'MMM', h: 'MMM', B: 'MMMM', a: 'EEE', A: 'EEEE', j: 'ooo',
  s: 'X', T: 'HH:mm:ss', F: 'yyyy-MM-dd', D: 'MM/dd/yy', R: 'HH:mm',
};

export const TIME_FORMAT_WORDS = ['iso8601', 'epoch', 'epoch_ms'] as const;

/** Translates a strptime format into a luxon format; throws naming the directive it does not know. */
export function strptimeToLuxon(format: string): string {
  let out = '';
  let literal = '';
  const flush = () => {
    if (literal) out += `'${literal.replace(/'/g, "''")}'`;
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%') {
      literal += ch;
      continue;
    }
    const d = format[++i];
    if (d === '%') {
      literal += '%';
      continue;
    }
    const token = d === undefined ? undefined : DIRECTIVES[d];
    if (!token) throw new Error(`unknown directive %${d ?? ''} (known: ${Object.keys(DIRECTIVES).map((k) => '%' + k).join(' ')} %%)`);
    flush();
    out += token;
  }
  flush();
  return out;
}

/** Why a zone name is not usable, or undefined when it is. */
export function checkTimeZone(zone: string): string | undefined {
  if (zone === 'local' || zone === 'UTC' || /^UTC[+-]\d{1,2}(:\d{2})?$/.test(zone)) return undefined;
  return IANAZone.isValidZone(zone) ? undefined : `unknown time zone "${zone}" (use an IANA name such as Europe/Berlin, UTC, UTC+8 or local)`;
}

/** Why a format is not usable, or undefined when it is. */
export function checkTimeFormat(format: string): string | undefined {
  if ((TIME_FORMAT_WORDS as readonly string[]).includes(format)) return undefined;
  if (!format.includes('%')) return `expected a strptime format with % directives (e.g. %Y-%m-%d %H:%M:%S) or one of ${TIME_FORMAT_WORDS.join(', ')}`;
  try {
    strptimeToLuxon(format);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The strptime formats a fast path reads by hand (a regular expression per format, then the same
 * wall-clock arithmetic as ISO times): luxon's general parser costs ~50 µs a line, too much for
 * an access log. Formats with a zone name (%Z) go through luxon.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const FAST: Record<string, { re: string; field?: string }> = {
  Y: { re: '(\\d{4})', field: 'Y' }, y: { re: '(\\d{2})', field: 'y' }, m: { re: '(\\d{1,2})', field: 'm' }, d: { re: '(\\d{1,2})', field: 'd' },
  e: { re: ' ?(\\d{1,2})', field: 'd' }, H: { re: '(\\d{1,2})', field: 'H' }, I: { re: '(\\d{1,2})', field: 'I' }, M: { re: '(\\d{2})', field: 'M' },
  S: { re: '(\\d{2})', field: 'S' }, L: { re: '(\\d{3})', field: 'L' }, f: { re: '(\\d{1,9})', field: 'f' }, p: { re: '([AaPp][Mm])', field: 'p' },
  z: { re: '(Z|[+-]\\d{2}:?\\d{2})', field: 'z' }, b: { re: '([A-Za-z]{3})', field: 'b' }, h: { re: '([A-Za-z]{3})', field: 'b' }, B: { re: '([A-Za-z]{3,9})', field: 'b' },
  a: { re: '[A-Za-z]{3}' }, A: { re: '[A-Za-z]{6,9}' }, j: { re: '(\\d{3})', field: 'j' }, s: { re: '(\\d{1,12})', field: 's' },
};
const EXPAND: Record<string, string> = { T: '%H:%M:%S', F: '%Y-%m-%d', D: '%m/%d/%y', R: '%H:%M' };

interface FastFormat {
  re: RegExp;
  fields: string[];
}

export function compileStrptime(format: string): FastFormat | undefined {
  const f = format.replace(/%([TFDR])/g, (_, d: string) => EXPAND[d]!);
  let re = '^';
  const fields: string[] = [];
  for (let i = 0; i < f.length; i++) {
    const ch = f[i]!;
    if (ch !== '%') {
      re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      continue;
    }
    const d = f[++i]!;
    if (d === '%') {
      re += '%';
      continue;
    }
    const spec = FAST[d];
    if (!spec) return undefined;
    re += spec.re;
    if (spec.field) fields.push(spec.field);
  }
  return { re: new RegExp(re + '$'), fields };
}

const NUMERIC = /^\d{9,10}(\.\d+)?$|^\d{12,13}$/;
/** `2026-11-30 17:30:01,123` (Python) and other ISO-like forms luxon's fromISO would refuse. */
const ISO_LIKE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Offsets of a zone per wall-clock hour, remembered: asking Intl for each line costs more than parsing it. */
const MAX_CACHED_HOURS = 4096;

export class TimeReader {
  private readonly opts: DateTimeOptions;
  private readonly format: string | undefined;
  private readonly parser: ReturnType<typeof DateTime.buildFormatParser> | undefined;
  private readonly fast: FastFormat | undefined;
  /** Offset in minutes when the zone has no DST (UTC, UTC+8); undefined for IANA zones. */
  private readonly fixedOffset: number | undefined;
  private readonly hourOffsets = new Map<number, number>();

  constructor(format: string | undefined, zone: string) {
    this.format = format;
    this.opts = { zone: zone === 'local' ? 'system' : zone, setZone: false, locale: 'en-US' };
    const z = DateTime.fromMillis(0, { zone: this.opts.zone }).zone;
    this.fixedOffset = z.isUniversal ? z.offset(0) : undefined;
    if (format && !(TIME_FORMAT_WORDS as readonly string[]).includes(format)) {
      this.fast = compileStrptime(format);
      if (!this.fast) this.parser = DateTime.buildFormatParser(strptimeToLuxon(format), this.opts);
    }
  }

  /** Epoch ms of a timestamp, or undefined when it is not one in the expected form. */
  read(value: string | number | boolean | undefined): number | undefined {
    if (value === undefined || typeof value === 'boolean') return undefined;
    if (typeof value === 'number') return this.fromNumber(value, this.format === 'epoch_ms');
    const text = value.trim();
    if (text.length === 0 || text.length > 64) return undefined;
    if (this.fast) return this.fromFast(this.fast, text);
    if (this.parser) return valid(DateTime.fromFormatParser(text, this.parser, this.opts));
    if (this.format === 'epoch' || this.format === 'epoch_ms') {
      const n = Number(text);
      return Number.isFinite(n) ? this.fromNumber(n, this.format === 'epoch_ms') : undefined;
    }
    if (this.format === undefined && NUMERIC.test(text)) return this.fromNumber(Number(text), text.length >= 12 && !text.includes('.'));
    const m = ISO_LIKE.exec(text);
    if (m) return this.fromIsoParts(m);
    return valid(DateTime.fromISO(text, this.opts)) ?? valid(DateTime.fromRFC2822(text, this.opts));
  }

  private fromFast(f: FastFormat, text: string): number | undefined {
    const m = f.re.exec(text);
    if (!m) return undefined;
    let y: number | undefined, mo: number | undefined, d: number | undefined, h = 0, mi = 0, sec = 0, ms = 0, pm: boolean | undefined, z: string | undefined, doy: number | undefined;
    for (let i = 0; i < f.fields.length; i++) {
      const v = m[i + 1]!;
      switch (f.fields[i]) {
        case 'Y': y = +v; break;
        case 'y': y = 2000 + +v - (+v >= 69 ? 100 : 0); break;
        case 'm': mo = +v; break;
        case 'd': d = +v; break;
        case 'H': case 'I': h = +v; break;
        case 'M': mi = +v; break;
        case 'S': sec = +v; break;
        case 'L': ms = +v; break;
        case 'f': ms = Math.floor(+v.slice(0, 3).padEnd(3, '0')); break;
        case 'p': pm = v.toLowerCase() === 'pm'; break;
        case 'z': z = v; break;
        case 'b': mo = MONTHS.indexOf(v.slice(0, 3).toLowerCase()) + 1; if (mo === 0) return undefined; break;
        case 'j': doy = +v; break;
        case 's': return +v * 1000;
      }
    }
    if (pm !== undefined) {
      if (h < 1 || h > 12) return undefined;
      h = (h % 12) + (pm ? 12 : 0);
    }
    if (y === undefined || (mo === undefined && doy === undefined) || (d === undefined && doy === undefined)) {
      // A time of day (or a date without a year): today's date, or this year, in the zone.
      const now = DateTime.now().setZone(this.opts.zone as string);
      y ??= now.year;
      if (doy === undefined) {
        mo ??= now.month;
        d ??= now.day;
      }
    }
    if (doy !== undefined) {
      const t = new Date(Date.UTC(y, 0, doy));
      mo = t.getUTCMonth() + 1;
      d = t.getUTCDate();
    }
    const iso = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    const time = `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
    return this.fromIsoParts([iso + ' ' + time, iso, time, ms ? String(ms).padStart(3, '0') : undefined, z] as unknown as RegExpExecArray);
  }

  /** The common case by hand (luxon's general parser is ~20x slower): fields → UTC wall time → minus the zone's offset. */
  private fromIsoParts(m: RegExpExecArray): number | undefined {
    const date = m[1]!;
    const y = +date.slice(0, 4), mo = +date.slice(5, 7), d = +date.slice(8, 10);
    const time = m[2]!;
    const h = +time.slice(0, 2), mi = +time.slice(3, 5), sec = time.length > 5 ? +time.slice(6, 8) : 0;
    const ms = m[3] ? Math.floor(+m[3].slice(0, 3).padEnd(3, '0')) : 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return undefined;
    const wall = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
    if (new Date(wall).getUTCDate() !== d) return undefined; // 31 February
    const z = m[4];
    if (z) {
      if (z === 'Z') return wall;
      const sign = z[0] === '-' ? -1 : 1;
      const digits = z.slice(1).replace(':', '');
      return wall - sign * (+digits.slice(0, 2) * 60 + +(digits.slice(2) || 0)) * 60_000;
    }
    return wall - this.offsetAt(wall) * 60_000;
  }

  /** The zone's offset (minutes) for a wall-clock time, cached per hour (DST changes on the hour). */
  private offsetAt(wall: number): number {
    if (this.fixedOffset !== undefined) return this.fixedOffset;
    const hour = Math.floor(wall / 3_600_000);
    let off = this.hourOffsets.get(hour);
    if (off === undefined) {
      const d = new Date(hour * 3_600_000);
      const dt = DateTime.fromObject(
        { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() },
        { zone: this.opts.zone },
      );
      off = dt.isValid ? dt.offset : 0;
      if (this.hourOffsets.size >= MAX_CACHED_HOURS) this.hourOffsets.clear();
      this.hourOffsets.set(hour, off);
    }
    return off;
  }

  private fromNumber(n: number, ms: boolean): number | undefined {
    if (!Number.isFinite(n) || n < 0) return undefined;
    const v = ms ? n : n * 1000;
    return v > 8.64e15 ? undefined : Math.round(v);
  }
}

function valid(dt: DateTime): number | undefined {
  return dt.isValid ? dt.toMillis() : undefined;
}
