import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One CLI command: `logloom <name> …`. Exit codes: 0 ok, 1 runtime/validation failure, 2 usage. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {}

/** parseArgs with usage errors as UsageError (exit 2) and --help handled by the caller. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const configOption = { config: { type: 'string', short: 'c' } } as const;
