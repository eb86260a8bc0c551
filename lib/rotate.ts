import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type RotateMode = 'numbered' | 'timestamp';

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/**
 * Moves `path` aside and keeps at most maxBackups old files.
 * numbered: x.log → x.log.1 → x.log.2 … (oldest has the highest number);
 * timestamp: x.log → x.log.YYYYMMDD-HHMMSS (UTC; a suffix -N when a second repeats).
 */
export async function rotate(path: string, mode: RotateMode, maxBackups: number, now = new Date()): Promise<void> {
  if (mode === 'numbered') {
    await rm(`${path}.${maxBackups}`, { force: true });
    for (let i = maxBackups - 1; i >= 1; i--) {
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    if (maxBackups > 0) await rename(path, `${path}.1`);
    else await rm(path, { force: true });
    return;
  }
  let target = `${path}.${stamp(now)}`;
  for (let n = 1; await exists(target); n++) target = `${path}.${stamp(now)}-${n}`;
  await rename(path, target);
  const base = basename(path) + '.';
  const backups = (await readdir(dirname(path))).filter((f) => f.startsWith(base) && /^\d{8}-\d{6}(-\d+)?$/.test(f.slice(base.length))).sort();
  for (const old of backups.slice(0, Math.max(0, backups.length - maxBackups))) await rm(join(dirname(path), old), { force: true });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
