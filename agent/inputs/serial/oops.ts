/**
 * Kernel oops / panic grouping and boot-banner detection on a console's line stream.
 * An oops is dozens of lines (registers, call trace, code bytes) that only make sense together,
 * so they become one FATAL entry. Everything between the first line and the end marker goes into
 * the group in order, including unrelated lines interleaved on the same console.
 */

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

/** First lines of an oops, panic or BUG (x86 and ARM wordings). */
const START: [RegExp, OopsKind][] = [
  [/^Kernel panic\b/, 'panic'],
  [/^(?:Internal error: )?Oops\b/, 'oops'],
  [/^Unable to handle kernel\b/, 'oops'],
  [/^BUG:/, 'bug'],
  [/^Call Trace:/i, 'call_trace'],
];
/** `---[ end trace 0123abcd ]---`, `---[ end Kernel panic - not syncing: … ]---` */
const END = /^-+\[ end (?:trace|Kernel panic)\b.*\]-+\s*$/;
const BOOT: [RegExp, BootBanner['stage']][] = [
  [/^Linux version \d/, 'kernel'],
  [/^U-Boot (?:SPL )?\d{4}\.\d{2}/, 'bootloader'],
];

export function oopsKind(body: string): OopsKind | undefined {
  for (const [re, kind] of START) if (re.test(body)) return kind;
  return undefined;
}

export function bootStage(body: string): BootBanner['stage'] | undefined {
  for (const [re, stage] of BOOT) if (re.test(body)) return stage;
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
      if (maybeMarker && END.test(body)) this.close('end_marker');
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
