/**
 * The serial format's entries as drafts (the JS twin's; console.c writes the same records): a
 * routine console line, a grouped oops (FATAL, multiline) and a boot banner (WARN). source: none
 * (the codec's own applies).
 */
import type { EntryDraft } from '../../../entry/build.ts';
import type { LineEnd } from './framing.ts';
import type { ParsedLine } from './parse.ts';
import type { BootBanner, ConsoleLine, OopsGroup } from './oops.ts';

type Fields = Record<string, string | number | boolean>;

/** A framed, decoded console line with what the input learnt about it. */
export interface SerialLine extends ConsoleLine {
  /** Level/module/times read from the text; undefined when `parse` is off. */
  readonly parsed: ParsedLine | undefined;
  readonly end: LineEnd;
  /** Bytes that were not valid in the port's encoding were replaced. */
  readonly invalid: boolean;
}

/** Monotonic ms at µs resolution (the input already rounds; this keeps JSON short whatever the caller). */
const mono = (ms: number) => Math.round(ms * 1000) / 1000;

/** A routine console line. Module and level come from the text when it carries them. */
export function lineDraft(line: SerialLine, source?: string): EntryDraft {
  const { parsed, end, invalid } = line;
  const fields: Fields = { mono_ms: mono(line.monoMs) };
  const draft: EntryDraft = { message: parsed ? parsed.message : line.text, source, receivedAt: line.wallMs, fields, line: line.text };
  if (parsed) {
    if (parsed.level) draft.level = parsed.level;
    if (parsed.module) draft.module = parsed.module;
    if (parsed.kernelTime !== undefined) fields.kernel_time = parsed.kernelTime;
    if (parsed.deviceTime !== undefined) fields.device_time = parsed.deviceTime;
  }
  if (end !== 'separator') fields.partial = end;
  if (invalid) fields.invalid_encoding = true;
  return draft;
}

/** One FATAL entry for a whole oops/panic, its lines in order, joined by real newlines (kept when sanitised: multiline). */
export function oopsDraft(group: OopsGroup, source?: string): EntryDraft {
  const first = group.lines[0]!;
  const fields: Fields = { event: `kernel_${group.kind}`, lines: group.lines.length, ended_by: group.endedBy, mono_ms: mono(first.monoMs) };
  if (first.kernelTime !== undefined) fields.kernel_time = first.kernelTime;
  return { level: 'FATAL', message: group.lines.map((l) => l.text).join('\n'), multiline: true, source, receivedAt: first.wallMs, fields };
}

/** A boot banner: the device (re)booted. WARN so that an unexpected reboot is noticed. */
export function bootDraft(banner: BootBanner, bootCount: number, source?: string): EntryDraft {
  const fields: Fields = { event: 'boot', boot_stage: banner.stage, boot_count: bootCount, mono_ms: mono(banner.line.monoMs) };
  if (banner.line.kernelTime !== undefined) fields.kernel_time = banner.line.kernelTime;
  return { level: 'WARN', message: banner.line.body, source, receivedAt: banner.line.wallMs, fields };
}
