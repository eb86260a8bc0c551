import type { EntryDraft } from '../../../entry/build.ts';
import { decodeUtf8 } from '../../../entry/sanitise.ts';
import { draftFromSyslog } from './message.ts';
import { parseSyslog } from './parse.ts';

/** A framed syslog message as a draft; error: it did not parse, and the draft keeps it as text. */
export interface SyslogDraft {
  draft: EntryDraft;
  error?: string;
}

/**
 * One framed message (a datagram or a frame of a TCP/TLS stream, at most the input's bound; cut:
 * the sender's was longer) as the draft its entry is built from: what the JS twin of the codec
 * (JsLineCodec, formats syslog and syslog_datagram) frames, and what the syslog input emits when a
 * line stage needs drafts. A message that does not parse is kept as text at the input's defaults.
 * undefined: nothing but line ends (no entry, not counted).
 */
export function syslogDraft(bytes: Uint8Array, cut: boolean, source: string | undefined, receivedAt: number): SyslogDraft | undefined {
  const decoded = decodeUtf8(bytes);
  // UDP senders often end the datagram with a newline (or NUL); it is not part of the message.
  // (A loop, not /[\r\n\0]+$/: that regex is quadratic on a long run of line ends not at the end.)
  let end = decoded.length;
  for (let c = decoded.charCodeAt(end - 1); c === 0x0d || c === 0x0a || c === 0; c = decoded.charCodeAt(end - 1)) end--;
  if (end === 0) return undefined;
  const text = end === decoded.length ? decoded : decoded.slice(0, end);
  // A BSD timestamp has no year: it is read relative to the time the message arrived.
  const r = parseSyslog(text, new Date(receivedAt));
  if (!r.ok) return { draft: { message: text, source, receivedAt, truncated: cut || undefined }, error: r.error };
  const draft = draftFromSyslog(r.message, source, receivedAt);
  if (cut) draft.truncated = true;
  return { draft };
}
