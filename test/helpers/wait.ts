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

/** For pacing a generator or a fault schedule, never for waiting on an event (use until). */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Found<T> = Exclude<T, undefined | null | false>;

/**
 * Re-checks `check` every `everyMs` until it gives a value (anything but undefined, null or false)
 * and returns it. A check that throws is retried too (the thing may not be up yet). After
 * `timeoutMs` it fails with `what` (or what `what()` says about the state then) and the last error.
 */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string | (() => string | Promise<string>),
  everyMs = 250,
): Promise<Found<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v as Found<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const said = typeof what === 'function' ? await what() : what;
      throw new Error(`timed out after ${timeoutMs} ms: ${said}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await sleep(everyMs);
  }
}
