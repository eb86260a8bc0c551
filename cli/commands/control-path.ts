import { parse } from 'yaml';
import { loadConfig, resolveConfigSource } from '../../agent/config/load.ts';
import { defaultPaths } from '../../lib/paths.ts';

/** The control socket of the agent that the configuration describes. */
export function controlSocketPath(configPath?: string): string {
  return loadConfig(configPath).config.control.socket;
}

/** The ingest (unix input) socket: the first unix input of the configuration. */
export function ingestSocketPath(configPath?: string): string | undefined {
  const input = loadConfig(configPath).config.inputs.find((i) => i.type === 'unix');
  return input && 'path' in input ? (input.path as string) : undefined;
}

/**
 * The control socket even when the file does not validate (`logloom reload` must reach the agent
 * to have it refuse a broken file and say why): the control.socket value if the YAML has one, else
 * the default.
 */
export function controlSocketPathLenient(configPath?: string): string {
  try {
    return controlSocketPath(configPath);
  } catch {
    try {
      const source = resolveConfigSource(configPath);
      const socket = (parse(source.text) as { logloom?: { control?: { socket?: unknown } } } | null)?.logloom?.control?.socket;
      if (typeof socket === 'string') return socket;
    } catch {
      // Unreadable or not YAML at all: the default below.
    }
    return defaultPaths.controlSocket;
  }
}
