/**
 * printf-style formatting for catalogue templates: %s %d %u %f %x (with optional precision for
 * %f, e.g. %.2f) and %% . Arguments are checked against their conversions; a mismatch is a
 * FormatError, which the catalogue renders as `[FORMAT ERROR: …] [KEY: …]` instead of crashing.
 */
export class FormatError extends Error {}

const SPEC = /%(\.\d+)?([sdufx%])/g;

function toNumber(arg: string | number, conv: string, index: number): number {
  const n = typeof arg === 'number' ? arg : arg.trim() === '' ? NaN : Number(arg);
  if (!Number.isFinite(n)) throw new FormatError(`argument ${index + 1} for %${conv} is not a number: ${JSON.stringify(arg)}`);
  return n;
}

export function formatTemplate(template: string, args: readonly (string | number)[]): string {
  let i = 0;
  const out = template.replace(SPEC, (_m, precision: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    if (i >= args.length) throw new FormatError(`missing argument ${i + 1} for %${conv}`);
    const index = i++;
    const arg = args[index]!;
    switch (conv) {
      case 's':
        return String(arg);
      case 'd': {
        const n = toNumber(arg, conv, index);
        if (!Number.isInteger(n)) throw new FormatError(`argument ${index + 1} for %d is not an integer: ${JSON.stringify(arg)}`);
        return String(n);
      }
      case 'u': {
        const n = toNumber(arg, conv, index);
        if (!Number.isInteger(n) || n < 0) throw new FormatError(`argument ${index + 1} for %u is not an unsigned integer: ${JSON.stringify(arg)}`);
        return String(n);
      }
      case 'f': {
        const n = toNumber(arg, conv, index);
        return n.toFixed(precision ? Number(precision.slice(1)) : 6);
      }
      default: {
        const n = toNumber(arg, conv, index);
        if (!Number.isInteger(n) || n < 0) throw new FormatError(`argument ${index + 1} for %x is not an unsigned integer: ${JSON.stringify(arg)}`);
        return n.toString(16);
      }
    }
  });
  if (i < args.length) throw new FormatError(`${args.length - i} unused argument(s)`);
  return out;
}
