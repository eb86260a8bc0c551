/**
 * The product version, shown by `logloom --version`, in status, metrics and the aggregator's API.
 * A module of its own so that every program (agent, aggregator, CLI) reads it without loading
 * the agent. Keep it equal to package.json's "version".
 */
export const VERSION = '0.1.0';
