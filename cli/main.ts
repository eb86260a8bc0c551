#!/usr/bin/env node
/**
 * The logloom command line: `logloom <command> [options]`. The same entry point runs from a
 * checkout (bin/logloom) and inside the single executable.
 */
import { startupSnapshot } from 'node:v8';
import { ConfigError } from '../lib/schema/validate.ts';
import { VERSION } from '../lib/version.ts';
import { UsageError } from './commands/command.ts';
import { COMMAND_LOADERS, COMMAND_NAMES, loadCommands } from './commands/index.ts';
import { didYouMean } from '../lib/suggest.ts';

async function help(): Promise<string> {
  const COMMANDS = await loadCommands();
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `logloom ${VERSION}: log capture and forwarding for gateways\n\nusage: logloom <command> [options]   (logloom <command> --help)\n\n` +
    COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n') + '\n';
}

/** `plugins: x` under `logloom plugins:` would say the command twice. */
function unprefixed(name: string, message: string): string {
  let m = message;
  while (m.startsWith(`${name}: `)) m = m.slice(name.length + 2);
  return m;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`logloom ${VERSION} (node ${process.versions.node}, ${process.arch})\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMAND_LOADERS, name) ? COMMAND_LOADERS[name] : undefined;
  if (!load) {
    process.stderr.write(`logloom: unknown command '${name}'${didYouMean(name, COMMAND_NAMES)}\n\n${await help()}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`logloom ${name}: ${unprefixed(name, e.message)}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      return 1;
    }
    process.stderr.write(`logloom ${name}: ${unprefixed(name, (e as Error).message)}\n`);
    return 1;
  }
}

function runFromArgv(): void {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

// No top-level await: the single executable runs this bundled as CommonJS (Node 24's SEA has no ESM entry).
if (startupSnapshot.isBuildingSnapshot()) {
  // `make package` runs this bundle once to make the executable's V8 start-up snapshot
  // (toolchain/package.ts): the agent's modules are initialised now, at build time, and each
  // start resumes from that heap instead of compiling and initialising them again. So module
  // scope must stay free of anything of the run's (environment, time, handles, random values):
  // those belong in functions that run after start.
  void COMMAND_LOADERS.run!();
  startupSnapshot.setDeserializeMainFunction(runFromArgv);
} else {
  runFromArgv();
}
