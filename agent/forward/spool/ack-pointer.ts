/**
 * The spool's ack pointer: the highest sequence the aggregator acknowledged, the sequence numbers
 * reserved for this agent (so a restart never reuses a number that may already have been sent),
 * and the input positions covered by acknowledged batches. It is replaced atomically: written to
 * a temporary file, fsynced, renamed over the old one, and the directory fsynced, so a crash leaves
 * either the old or the new pointer, never a mix.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { openSync, closeSync, fsyncSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointPosition } from '../../../entry/checkpoint.ts';

export const ACK_POINTER_FILE = 'ack.json';

export interface AckPointer {
  ackedSeq: number;
  /** Every seq up to this one may have been used; the next start begins above it. */
  reservedSeq: number;
  positions: CheckpointPosition[];
  /**
   * Segments with a lower id hold only records superseded by renumbered copies (see
   * Spool.welcome): they are deleted on open, never replayed. 0 when there was no renumbering.
   */
  firstSegment?: number;
  /**
   * The spool was created (or its pointer lost) and has not heard the aggregator since: its
   * numbers were chosen without knowing the aggregator's sequence for this node.
   */
  blind?: boolean;
}

export class AckPointerError extends Error {
  constructor(path: string, why: string) {
    super(`${path}: ${why}`);
    this.name = 'AckPointerError';
  }
}

function serialise(p: AckPointer): string {
  return JSON.stringify({ version: 1, acked_seq: p.ackedSeq, reserved_seq: p.reservedSeq, positions: p.positions.map((x) => [x.input, x.stream, x.offset]), ...(p.firstSegment ? { first_segment: p.firstSegment } : {}), ...(p.blind ? { blind: true } : {}) }) + '\n';
}

/** Reads the pointer; a missing file is a fresh spool. A damaged file throws AckPointerError (the caller decides). */
export async function readAckPointer(dir: string): Promise<AckPointer | undefined> {
  const path = join(dir, ACK_POINTER_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AckPointerError(path, 'not valid JSON');
  }
  const acked = o.acked_seq, reserved = o.reserved_seq;
  if (!Number.isSafeInteger(acked) || !Number.isSafeInteger(reserved)) throw new AckPointerError(path, 'acked_seq/reserved_seq missing');
  const positions: CheckpointPosition[] = [];
  if (Array.isArray(o.positions)) {
    for (const p of o.positions) if (Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string' && Number.isSafeInteger(p[2])) positions.push({ input: p[0], stream: p[1], offset: p[2] });
  }
  const firstSegment = Number.isSafeInteger(o.first_segment) ? (o.first_segment as number) : 0;
  return { ackedSeq: acked as number, reservedSeq: reserved as number, positions, firstSegment, blind: o.blind === true };
}

export async function writeAckPointer(dir: string, p: AckPointer, sync: boolean): Promise<void> {
  const path = join(dir, ACK_POINTER_FILE);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(serialise(p));
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  if (sync) await syncDir(dir);
}

/** The same, synchronously (used on the way out, when the event loop may not run again). */
export function writeAckPointerSync(dir: string, p: AckPointer): void {
  const path = join(dir, ACK_POINTER_FILE);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, serialise(p));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await d.close();
  }
}

export async function removeStaleTemp(dir: string): Promise<void> {
  await unlink(join(dir, `${ACK_POINTER_FILE}.tmp`)).catch(() => {});
}
