import { readFileSync } from 'node:fs';
import { readAssetText } from '../../lib/assets.ts';
import { agentSchema, type AgentConfig } from './agent-schema.ts';
import { defaultPaths } from '../../lib/paths.ts';
import { ConfigError, validateYaml, type ConfigIssue } from '../../lib/schema/validate.ts';

export const EMBEDDED_DEFAULT = 'agent/config/default-config.yaml';

export interface ConfigSource {
  /** The file name shown in messages, or `<embedded default>`. */
  file: string;
  text: string;
}

/**
 * Which configuration applies: --config, else $LOGLOOM_CONFIG, else /etc/logloom/logloom.yaml
 * when it exists, else the embedded default.
 */
export function resolveConfigSource(explicit?: string, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  const path = explicit ?? env.LOGLOOM_CONFIG;
  if (path) return { file: path, text: readFileSync(path, 'utf8') };
  try {
    return { file: defaultPaths.configFile, text: readFileSync(defaultPaths.configFile, 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return { file: '<embedded default>', text: readAssetText(EMBEDDED_DEFAULT) };
}

export function parseConfig(source: ConfigSource): { config?: AgentConfig; issues: ConfigIssue[]; warnings: ConfigIssue[] } {
  const { value, issues, warnings } = validateYaml<AgentConfig>(source.text, source.file, 'logloom', agentSchema);
  return { config: value, issues, warnings: warnings ?? [] };
}

/** Loads and validates; throws ConfigError listing every problem. Warnings come back for the log. */
export function loadConfig(explicit?: string): { config: AgentConfig; source: ConfigSource; warnings: ConfigIssue[] } {
  const source = resolveConfigSource(explicit);
  const { config, issues, warnings } = parseConfig(source);
  if (!config) throw new ConfigError(issues);
  return { config, source, warnings };
}
