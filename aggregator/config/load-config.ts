/** `logloom aggregator`'s configuration: the shared file format, validated by the aggregator's own root schema. */
import { resolveConfigSource, type ConfigSource } from '../../lib/config-file.ts';
import { ConfigError, validateYaml, type ConfigIssue } from '../../lib/schema/validate.ts';
import { aggregatorFileSchema, type AggregatorFileConfig } from './config.ts';

export function parseAggregatorConfig(source: ConfigSource): { config?: AggregatorFileConfig; issues: ConfigIssue[]; warnings: ConfigIssue[] } {
  const { value, issues, warnings } = validateYaml<AggregatorFileConfig>(source.text, source.file, 'logloom', aggregatorFileSchema);
  return { config: value, issues, warnings: warnings ?? [] };
}

/** Loads and validates (--config, $LOGLOOM_CONFIG, /etc/logloom/logloom.yaml, the embedded default); throws ConfigError listing every problem. */
export function loadAggregatorConfig(explicit?: string): { config: AggregatorFileConfig; source: ConfigSource; warnings: ConfigIssue[] } {
  const source = resolveConfigSource(explicit);
  const { config, issues, warnings } = parseAggregatorConfig(source);
  if (!config) throw new ConfigError(issues);
  return { config, source, warnings };
}
