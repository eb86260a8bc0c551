import { loadConfig } from '../../config/load.ts';

/** The control socket of the agent that the configuration describes. */
export function controlSocketPath(configPath?: string): string {
  return loadConfig(configPath).config.control.socket;
}

/** The ingest (unix input) socket: the first unix input of the configuration. */
export function ingestSocketPath(configPath?: string): string | undefined {
  const input = loadConfig(configPath).config.inputs.find((i) => i.type === 'unix');
  return input && 'path' in input ? (input.path as string) : undefined;
}
