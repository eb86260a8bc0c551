import { agentSchema, type AgentConfig } from './agent-schema.ts';
import { EMBEDDED_DEFAULT, resolveConfigSource, type ConfigSource } from '../../lib/config-file.ts';
import { ConfigError, validateYaml, type ConfigIssue } from '../../lib/schema/validate.ts';

export { EMBEDDED_DEFAULT, resolveConfigSource, type ConfigSource };

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
