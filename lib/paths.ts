/**
 * Every path default, defined once. A read-only root filesystem works as long as the state and
 * runtime directories are writable (they are configurable: data_dir, runtime_dir).
 */
export const defaultPaths = {
  configFile: '/etc/logloom/logloom.yaml',
  dataDir: '/var/lib/logloom',
  runtimeDir: '/run/logloom',
  ingestSocket: '/run/logloom/ingest.sock',
  controlSocket: '/run/logloom/control.sock',
  pluginDir: '/usr/lib/logloom/plugins',
  aggregatorTokens: '/etc/logloom/aggregator-tokens',
  apiTokens: '/etc/logloom/api-tokens',
} as const;
