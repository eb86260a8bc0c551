/** The entries the index benchmarks use (bench/query.ts, bench/index-cost.ts): a fleet of gateways. */
export const FLEET_WORDS = ['sensor', 'pump', 'valve', 'uplink', 'modem', 'disk', 'battery', 'relay', 'fan', 'door'];
const LEVELS = ['DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'INFO', 'ERROR', 'INFO'];

/** Entry `i` of node `node` at time `ts` (ms): a word of the vocabulary, a number, a code. */
export function fleetEntry(node: number, i: number, ts: number): Record<string, unknown> {
  const w = FLEET_WORDS[(i * 7 + node) % FLEET_WORDS.length]!;
  return { timestamp: new Date(ts).toISOString(), level: LEVELS[i % 10], module: w.toUpperCase().slice(0, 8), message: `gw-${node} ${w} reading ${i} value=${(i * 31) % 1000} code${i % 5000} status=ok`, node: `gw-${String(node).padStart(4, '0')}`, source: 'unix' };
}
