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
  /** RFC 5424 structured data: SD-ID → param name → value (a repeated param keeps the last). */
  structuredData?: Record<string, Record<string, string>>;
  message: string;
}

export type ParseResult = { ok: true; message: SyslogMessage } | { ok: false; error: string };

/**
 * A parsed message as an entry draft: severity gives the level, the app-name (tag) the module,
 * and everything else that a query might need stays in `fields` (facility, severity, hostname,
 * app_name, procid, msgid, and each structured-data param as `sd.<SD-ID>.<name>`).
 */
export function draftFromSyslog(m: SyslogMessage, source: string, receivedAt: number): EntryDraft {
  const fields: Record<string, string> = {
    facility: facilityName(m.facility),
    severity: severityName(m.severity),
  };
  if (m.hostname) fields.hostname = m.hostname;
  if (m.appName) fields.app_name = m.appName;
  if (m.procId) fields.procid = m.procId;
  if (m.msgId) fields.msgid = m.msgId;
  for (const [id, params] of Object.entries(m.structuredData ?? {})) {
    const names = Object.keys(params);
    if (names.length === 0) fields[`sd.${id}`] = '';
    for (const name of names) fields[`sd.${id}.${name}`] = params[name]!;
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
