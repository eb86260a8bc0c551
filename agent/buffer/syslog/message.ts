import type { EntryDraft } from '../../../entry/build.ts';
import { levelFromSyslogSeverity } from '../../../lib/level.ts';
import { facilityName, severityName } from './priority.ts';

/** One syslog message, whichever RFC it came in. */
export interface SyslogMessage {
  /** 0 for RFC 3164 (BSD), 1 for RFC 5424. */
  version: 0 | 1;
  facility: number;
  severity: number;
  timestamp?: Date;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  /** RFC 5424 structured data: its elements and their params, as they came. */
  structuredData?: SdElement[];
  message: string;
}

/** One RFC 5424 structured-data element: `[id name="value" …]`. */
export interface SdElement {
  id: string;
  params: [name: string, value: string][];
}

export type ParseResult = { ok: true; message: SyslogMessage } | { ok: false; error: string };

/**
 * A parsed message as an entry draft: severity gives the level, the app-name (tag) the module,
 * and everything else that a query might need stays in `fields` (facility, severity, hostname,
 * app_name, procid, msgid, and each structured-data param as `sd.<SD-ID>.<name>`, an element
 * without params as `sd.<SD-ID>`, in the order they came; a repeated key keeps its first place and
 * its last value). The C codec (native/addon/src/syslog.c) builds the same fields.
 */
export function draftFromSyslog(m: SyslogMessage, source: string | undefined, receivedAt: number): EntryDraft {
  const fields: Record<string, string> = {
    facility: facilityName(m.facility),
    severity: severityName(m.severity),
  };
  if (m.hostname) fields.hostname = m.hostname;
  if (m.appName) fields.app_name = m.appName;
  if (m.procId) fields.procid = m.procId;
  if (m.msgId) fields.msgid = m.msgId;
  // Keys start with "sd.": never an array index (which an object would move to the front) nor __proto__.
  for (const { id, params } of m.structuredData ?? []) {
    if (params.length === 0) fields[`sd.${id}`] = '';
    for (const [name, value] of params) fields[`sd.${id}.${name}`] = value;
  }
  const draft: EntryDraft = {
    level: levelFromSyslogSeverity(m.severity),
    message: m.message,
    source,
    fields,
    receivedAt,
  };
  if (m.timestamp) draft.timestamp = m.timestamp;
  if (m.appName) draft.module = m.appName;
  return draft;
}
