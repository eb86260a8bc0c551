/** The agent → aggregator wire protocol codec (contract: docs/forward-protocol.md). */
export * from './constants.ts';
export * from './errors.ts';
export * from './messages.ts';
export * from './decoder.ts';
export * from './batch-body.ts';
