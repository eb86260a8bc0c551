import type { LogEntry } from '../../../entry/entry.ts';
import type { ProtocolClient } from '../protocol/client.ts';
import type { EntryRecords } from '../../buffer/records.ts';
import type { AiResult, FilterVerdict } from '../types.ts';

/**
 * What the python and socket hosts share: once connected, every call goes through the one
 * protocol client (agent/plugins/protocol/). Each host says how it gets a live client.
 */
export abstract class ProtocolHost {
  protected client?: ProtocolClient;

  /** The connected client, or a PluginCallError saying why there is none. */
  protected abstract get live(): ProtocolClient;

  filter(entries: readonly LogEntry[], timeoutMs: number): Promise<FilterVerdict[]> {
    return this.live.filter(entries, timeoutMs);
  }

  flush(entries: readonly LogEntry[], timeoutMs: number): Promise<void> {
    return this.live.flush(entries, timeoutMs);
  }

  /** Process plugins read records: each entry goes out as its record's NDJSON, unchanged. */
  takesRecords(): boolean {
    return true;
  }

  filterRecords(records: EntryRecords, timeoutMs: number): Promise<FilterVerdict[]> {
    return this.live.filterRecords(records, timeoutMs);
  }

  flushRecords(records: EntryRecords, timeoutMs: number): Promise<void> {
    return this.live.flushRecords(records, timeoutMs);
  }

  analyze(entry: LogEntry, timeoutMs: number): AsyncIterable<AiResult> {
    return this.live.analyze(entry, timeoutMs);
  }

  resolve(langKey: string, lang: string): string | null {
    return this.client?.resolve(langKey, lang) ?? null;
  }
}
