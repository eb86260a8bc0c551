/**
 * The two helpers every stage's calls go through: a bound on how long a call may take, and the
 * reason text of a failure as the `[ERROR] Plugin communication failed: <name>: <reason>` line
 * and `last_error` show it.
 */
import { PluginCallError, PluginLoadError } from '../host.ts';

/** A failure's reason: the plugin errors' own message, other errors with their class name. */
export function reasonOf(e: unknown): string {
  if (e instanceof PluginCallError || e instanceof PluginLoadError) return e.message;
  if (e instanceof Error) return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

/** Resolves as p does, or rejects with PluginCallError after ms. */
export function withTimeout<T>(p: Promise<T>, ms: number, what = 'call'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PluginCallError(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}
