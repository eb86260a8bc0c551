/**
 * Writes a small file so that a reader sees the old content or the new, never a torn one, and so
 * that a secret is never readable by others, not even for a moment: a temporary file in the same
 * directory is created with the final mode, written, fsynced and renamed over the target.
 * A leaf module: it imports nothing from the agent.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomicSync(file: string, content: string, mode = 0o600): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
