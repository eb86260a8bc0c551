/**
 * Every `logloom` command, in the order `--help` lists them. Adding one = a file + a line here.
 * Each is loaded only when it runs (or for `--help`): `logloom aggregator` must not load the
 * agent, and `logloom run` not the aggregator.
 */
import type { Command } from './command.ts';

export const COMMAND_LOADERS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.ts')).run,
  'check-config': async () => (await import('./check-config.ts')).checkConfig,
  status: async () => (await import('./status.ts')).status,
  reload: async () => (await import('./reload.ts')).reload,
  send: async () => (await import('./send.ts')).send,
  lang: async () => (await import('./lang.ts')).lang,
  demo: async () => (await import('./demo.ts')).demo,
  plugins: async () => (await import('./plugins.ts')).plugins,
  keygen: async () => (await import('./keygen.ts')).keygen,
  aggregator: async () => (await import('./aggregator.ts')).aggregator,
  spool: async () => (await import('./spool.ts')).spool,
  tail: async () => (await import('./tail.ts')).tail,
  query: async () => (await import('./query.ts')).query,
};

export const COMMAND_NAMES = Object.keys(COMMAND_LOADERS);

/** Every command (for `--help`, which lists them all). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_NAMES.map((n) => COMMAND_LOADERS[n]!()));
}
