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

const NUMERIC = /^\d{9,10}(\.\d+)?$|^\d{12,13}$/;
/** `2026-11-30 17:30:01,123` (Python) and other ISO-like forms luxon's fromISO would refuse. */
const ISO_LIKE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Offsets of a zone per wall-clock hour, remembered: asking Intl for each line costs more than parsing it. */
const MAX_CACHED_HOURS = 4096;

export class TimeReader {
  private readonly opts: DateTimeOptions;
  private readonly format: string | undefined;
  private readonly parser: ReturnType<typeof DateTime.buildFormatParser> | undefined;
  /** Offset in minutes when the zone has no DST (UTC, UTC+8); undefined for IANA zones. */
  private readonly fixedOffset: number | undefined;
  private readonly hourOffsets = new Map<number, number>();

  constructor(format: string | undefined, zone: string) {
    this.format = format;
    this.opts = { zone: zone === 'local' ? 'system' : zone, setZone: false, locale: 'en-US' };
    const z = DateTime.fromMillis(0, { zone: this.opts.zone }).zone;
    this.fixedOffset = z.isUniversal ? z.offset(0) : undefined;
    if (format && !(TIME_FORMAT_WORDS as readonly string[]).includes(format)) {
      this.parser = DateTime.buildFormatParser(strptimeToLuxon(format), this.opts);
    }
  }

  /** Epoch ms of a timestamp, or undefined when it is not one in the expected form. */
  read(value: string | number | boolean | undefined): number | undefined {
    if (value === undefined || typeof value === 'boolean') return undefined;
    if (typeof value === 'number') return this.fromNumber(value, this.format === 'epoch_ms');
    const text = value.trim();
    if (text.length === 0 || text.length > 64) return undefined;
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
