import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the kmsg input stopped reading: the last sequence number delivered, and the boot it
 * belongs to (sequence numbers restart at 0 on every boot, so a position from another boot means
 * nothing). Written atomically (temp file + rename) so a crash leaves the old or the new position.
 */
export interface KmsgPosition {
  boot_id: string;
  seq: number;
}

export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

export class PositionStore {
  readonly path: string;
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = stateDir;
    this.path = join(stateDir, 'kmsg-position.json');
  }

  async load(): Promise<KmsgPosition | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const p = JSON.parse(text) as KmsgPosition;
      return typeof p.seq === 'number' && typeof p.boot_id === 'string' ? p : undefined;
    } catch {
      return undefined; // a torn or foreign file: start as if there were none
    }
  }

  async save(p: KmsgPosition): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(p) + '\n');
    await rename(tmp, this.path);
  }
}
