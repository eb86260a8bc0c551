/**
 * Kernel oops / panic grouping and boot-banner detection on a console's line stream: the JS twin
 * of group_feed and the marker matchers in native/addon/src/console.c (same steps, same order).
 * An oops is dozens of lines (registers, call trace, code bytes) that only make sense together,
 * so they become one FATAL entry. Everything between the first line and the end marker goes into
 * the group in order, including unrelated lines interleaved on the same console.
 */
import { boundaryAfterWord, digits, isLt, lit, wsAt } from './parse.ts';

/** A line as the grouper sees it: the text after the kernel prefix, and the whole text. */
export interface ConsoleLine {
  /** Text after any `<N>`/`[ seconds ]` prefix: what the markers are matched against. */
  readonly body: string;
  /** The whole line (ANSI stripped), as kept in a group. */
  readonly text: string;
  readonly wallMs: number;
  readonly monoMs: number;
  readonly kernelTime?: number;
}

export type OopsKind = 'oops' | 'panic' | 'bug' | 'call_trace';
export type GroupEnd = 'end_marker' | 'idle' | 'max_lines' | 'reboot' | 'close';

export interface OopsGroup<L extends ConsoleLine = ConsoleLine> {
  readonly kind: OopsKind;
  readonly lines: readonly L[];
  readonly endedBy: GroupEnd;
}

export interface BootBanner<L extends ConsoleLine = ConsoleLine> {
  readonly stage: 'kernel' | 'bootloader';
  readonly line: L;
}

/** START: /^Kernel panic\b/ panic, /^(?:Internal error: )?Oops\b/ and /^Unable to handle kernel\b/ oops, /^BUG:/ bug, /^Call Trace:/i call_trace. */
export function oopsKind(s: string): OopsKind | undefined {
  if (lit(s, 0, 'Kernel panic') && boundaryAfterWord(s, 12)) return 'panic';
  const o = lit(s, 0, 'Internal error: ') ? 16 : 0;
  if (lit(s, o, 'Oops') && boundaryAfterWord(s, o + 4)) return 'oops';
  if (lit(s, 0, 'Unable to handle kernel') && boundaryAfterWord(s, 23)) return 'oops';
  if (lit(s, 0, 'BUG:')) return 'bug';
  if (lit(s, 0, 'Call Trace:', true)) return 'call_trace';
  return undefined;
}

/** END: /^-+\[ end (?:trace|Kernel panic)\b.*\]-+\s*$/ (`---[ end trace 0123abcd ]---`, `---[ end Kernel panic - not syncing: … ]---`). */
export function isEndMarker(s: string): boolean {
  const n = s.length;
  let q = 0;
  while (q < n && s.charCodeAt(q) === 0x2d) q++;
  if (q === 0 || !lit(s, q, '[ end ')) return false;
  q += 6;
  if (lit(s, q, 'trace')) q += 5;
  else if (lit(s, q, 'Kernel panic')) q += 12;
  else return false;
  if (!boundaryAfterWord(s, q)) return false;
  // What is left: X ']' '-'+ then white space to the end, X without line terminators.
  let e = q;
  for (let i = q; i < n; i++) if (!wsAt(s, i)) e = i + 1;
  let d = e;
  while (d > q && s.charCodeAt(d - 1) === 0x2d) d--;
  if (d === e || d === q || s.charCodeAt(d - 1) !== 0x5d) return false;
  for (let k = q; k < d - 1; k++) if (isLt(s, k)) return false;
  return true;
}

/** BOOT: /^Linux version \d/ kernel, /^U-Boot (?:SPL )?\d{4}\.\d{2}/ bootloader. */
export function bootStage(s: string): BootBanner['stage'] | undefined {
  if (lit(s, 0, 'Linux version ') && digits(s, 14, 1)) return 'kernel';
  if (lit(s, 0, 'U-Boot ')) {
    const q = lit(s, 7, 'SPL ') ? 11 : 7;
    if (digits(s, q, 4) && lit(s, q + 4, '.') && digits(s, q + 5, 2)) return 'bootloader';
  }
  return undefined;
}

export interface OopsGrouperOptions {
  group: boolean;
  detectBoot: boolean;
  maxLines: number;
}

/** What comes out, in order; L is the caller's line type (it may carry more than ConsoleLine). */
export interface OopsGrouperEvents<L extends ConsoleLine> {
  line(line: L): void;
  group(group: OopsGroup<L>): void;
  boot(banner: BootBanner<L>): void;
}

export class OopsGrouper<L extends ConsoleLine = ConsoleLine> {
  private readonly opts: OopsGrouperOptions;
  private readonly out: OopsGrouperEvents<L>;
  private current: { kind: OopsKind; lines: L[] } | undefined;

  constructor(opts: OopsGrouperOptions, out: OopsGrouperEvents<L>) {
    this.opts = opts;
    this.out = out;
  }

  /** True while an oops group is open (the caller arms its idle timer). */
  get active(): boolean {
    return this.current !== undefined;
  }

  /** Lines of the open group (0: none open). */
  get openLines(): number {
    return this.current?.lines.length ?? 0;
  }

  feed(line: L): void {
    const body = line.body;
    // Cheap first-character test: markers start with K, O, I, U, B, C, L, -.
    const c = body.charCodeAt(0);
    const maybeMarker = c === 0x4b || c === 0x4f || c === 0x49 || c === 0x55 || c === 0x42 || c === 0x43 || c === 0x63 || c === 0x4c || c === 0x2d;
    if (maybeMarker && this.opts.detectBoot) {
      const stage = bootStage(body);
      if (stage) {
        this.close('reboot');
        this.out.boot({ stage, line });
        return;
      }
    }
    if (!this.opts.group) {
      this.out.line(line);
      return;
    }
    if (this.current) {
      this.current.lines.push(line);
      if (maybeMarker && isEndMarker(body)) this.close('end_marker');
      else if (this.current.lines.length >= this.opts.maxLines) this.close('max_lines');
      return;
    }
    const kind = maybeMarker ? oopsKind(body) : undefined;
    if (kind) this.current = { kind, lines: [line] };
    else this.out.line(line);
  }

  /** Closes an open group (silence, the port closed, a reboot banner). */
  close(endedBy: GroupEnd): void {
    const g = this.current;
    if (!g) return;
    this.current = undefined;
    this.out.group({ kind: g.kind, lines: g.lines, endedBy });
  }
}
