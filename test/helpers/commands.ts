import { COMMANDS } from '../../agent/cli/commands/index.ts';

export const COMMAND_NAMES = COMMANDS.map((c) => c.name);
