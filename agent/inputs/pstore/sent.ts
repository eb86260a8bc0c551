/**
 * Which pstore records were delivered: `<data_dir>/inputs/<name>/pstore-sent.json`, a record's
 * name and content hash per line of the map (a name such as dmesg-ramoops-0 comes back after the
 * next crash with other content, so the name alone is not enough). Written atomically (temp file
 * + rename, fsync), only once the record's entry is finished downstream.
 */
import { mkdirSync, openSync, fsyncSync, closeSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class SentRecords {
  private readonly path: string;
  private readonly dir: string;
  private sent = new Map<string, string>();

  constructor(stateDir: string) {
    this.dir = stateDir;
    this.path = join(stateDir, 'pstore-sent.json');
  }

  load(warn: (m: string) => void): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    try {
      const o = JSON.parse(text) as Record<string, string>;
      for (const [k, v] of Object.entries(o)) if (typeof v === 'string') this.sent.set(k, v);
    } catch {
      warn(`${this.path} is not valid JSON; records may be sent again`);
    }
  }

  has(name: string, hash: string): boolean {
    return this.sent.get(name) === hash;
  }

  /** Marks a record sent and forgets records no longer present (their names will be reused). */
  mark(name: string, hash: string, present: ReadonlySet<string>): void {
    this.sent.set(name, hash);
    for (const k of [...this.sent.keys()]) if (!present.has(k)) this.sent.delete(k);
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.sent)) + '\n');
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
  }
}
