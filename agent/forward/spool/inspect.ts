/**
 * Read-only view of a spool directory for `logloom spool inspect|verify`: segments, sequence
 * ranges, bytes, entries, and damage (corrupt records, torn tails). Never modifies anything, so it
 * is safe to run next to a running agent.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORD_HEADER_BYTES, scanSegment } from './record.ts';
import { damagedEntries, decodeBatchHeader, entriesOfUndecodable } from './batch-record.ts';
import { readAckPointer, type AckPointer } from './ack-pointer.ts';

export interface SegmentReport {
  file: string;
  bytes: number;
  records: number;
  entries: number;
  first_seq: number | null;
  last_seq: number | null;
  /** Records with seq > the ack pointer (still to be sent). */
  unacked: number;
  corrupt: { offset: number; bytes: number }[];
  torn_tail: { offset: number; bytes: number } | null;
}

export interface SpoolReport {
  dir: string;
  ack_pointer: { acked_seq: number; reserved_seq: number; positions: number } | null;
  ack_pointer_error: string | null;
  segments: SegmentReport[];
  totals: { segments: number; bytes: number; records: number; entries: number; unacked_records: number; unacked_entries: number; corrupt_records: number; lost_entries: number; torn_tails: number };
}

export async function inspectSpool(dir: string): Promise<SpoolReport> {
  let ptr: AckPointer | undefined;
  let ptrError: string | null = null;
  try {
    ptr = await readAckPointer(dir);
  } catch (e) {
    ptrError = (e as Error).message;
  }
  const acked = ptr?.ackedSeq ?? 0;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
  const segments: SegmentReport[] = [];
  const totals = { segments: 0, bytes: 0, records: 0, entries: 0, unacked_records: 0, unacked_entries: 0, corrupt_records: 0, lost_entries: 0, torn_tails: 0 };
  for (const f of files) {
    const buf = await readFile(join(dir, f));
    const scan = scanSegment(buf);
    const rep: SegmentReport = { file: f, bytes: buf.length, records: 0, entries: 0, first_seq: null, last_seq: null, unacked: 0, corrupt: [...scan.corrupt], torn_tail: scan.tornTail ?? null };
    for (const region of scan.corrupt) {
      const d = damagedEntries(buf, region, acked, RECORD_HEADER_BYTES);
      totals.lost_entries += d.entries + d.illegible;
    }
    for (const r of scan.records) {
      let count: number;
      try {
        count = decodeBatchHeader(r.payload).count;
      } catch {
        rep.corrupt.push({ offset: r.offset, bytes: r.size });
        if (r.seq > acked) totals.lost_entries += entriesOfUndecodable(r.payload);
        continue;
      }
      rep.records++;
      rep.entries += count;
      rep.first_seq = rep.first_seq === null ? r.seq : Math.min(rep.first_seq, r.seq);
      rep.last_seq = rep.last_seq === null ? r.seq : Math.max(rep.last_seq, r.seq);
      if (r.seq > acked) {
        rep.unacked++;
        totals.unacked_records++;
        totals.unacked_entries += count;
      }
    }
    segments.push(rep);
    totals.segments++;
    totals.bytes += rep.bytes;
    totals.records += rep.records;
    totals.entries += rep.entries;
    totals.corrupt_records += rep.corrupt.length;
    if (rep.torn_tail) totals.torn_tails++;
  }
  return {
    dir,
    ack_pointer: ptr ? { acked_seq: ptr.ackedSeq, reserved_seq: ptr.reservedSeq, positions: ptr.positions.length } : null,
    ack_pointer_error: ptrError,
    segments,
    totals,
  };
}

export function renderSpoolReport(r: SpoolReport): string {
  const lines: string[] = [];
  lines.push(`spool ${r.dir}`);
  lines.push(r.ack_pointer ? `ack pointer: acked_seq=${r.ack_pointer.acked_seq} reserved_seq=${r.ack_pointer.reserved_seq} positions=${r.ack_pointer.positions}` : `ack pointer: ${r.ack_pointer_error ?? 'none (fresh spool)'}`);
  const head = ['SEGMENT', 'BYTES', 'RECORDS', 'ENTRIES', 'SEQ', 'UNACKED', 'CORRUPT', 'TORN_TAIL'];
  const rows = r.segments.map((s) => [
    s.file, String(s.bytes), String(s.records), String(s.entries), s.first_seq === null ? '-' : `${s.first_seq}..${s.last_seq}`, String(s.unacked),
    String(s.corrupt.length), s.torn_tail ? `${s.torn_tail.bytes}B@${s.torn_tail.offset}` : '-',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => '  ' + row.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  if (rows.length) lines.push(fmt(head), ...rows.map(fmt));
  else lines.push('  no segments');
  const t = r.totals;
  lines.push(`total: ${t.segments} segment(s), ${t.bytes} bytes, ${t.records} batch(es), ${t.entries} entries; to send: ${t.unacked_records} batch(es), ${t.unacked_entries} entries; corrupt records: ${t.corrupt_records} (${t.lost_entries} entries lost); torn tails: ${t.torn_tails}`);
  return lines.join('\n') + '\n';
}
