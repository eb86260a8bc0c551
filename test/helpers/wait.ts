import { readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Resolves when `check()` returns a value other than undefined, re-checking whenever the
 * directory of `path` changes (fs.watch), so tests wait on file events rather than sleeping.
 */
export function waitForFile<T>(path: string, check: (text: string) => T | undefined, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const attempt = (): boolean => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return false;
      }
      const v = check(text);
      if (v === undefined) return false;
      cleanup();
      resolve(v);
      return true;
    };
    const watcher = watch(dirname(path), () => attempt());
    // fs.watch can coalesce events; a slow re-check covers the last write.
    const poll = setInterval(attempt, 200);
    const timer = setTimeout(() => {
      cleanup();
      let last = '';
      try { last = readFileSync(path, 'utf8').slice(-2000); } catch { /* missing */ }
      reject(new Error(`timed out waiting on ${path}; last content:\n${last}`));
    }, timeoutMs);
    const cleanup = () => {
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
    };
    attempt();
  });
}

/** Lines of a file once it has at least n of them. */
export function waitForLines(path: string, n: number, timeoutMs?: number): Promise<string[]> {
  return waitForFile(path, (t) => {
    const lines = t.split('\n').filter(Boolean);
    return lines.length >= n ? lines : undefined;
  }, timeoutMs);
}
