/**
 * Where the index's CPU goes (docs/aggregator-api.md, "Cost and tuning"): the writer's insert
 * loop (JSON.parse of each stored line, one row, one FTS5 row, transactions of 40,000 entries)
 * with the index's real SQL (aggregator/index/schema.ts), in this thread, on a real file,
 * CPU time per entry of: the full schema; without the B-tree indexes; without the FTS5 table;
 * without both. The differences are what the B-tree indexes and FTS5 cost. Median of 5 runs each.
 * Entries as bench/query.ts makes them (1,000 nodes).
 * Re-run: node bench/index-cost.ts [entries=200000]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { INDEX_SQL, LEVEL_RANK, SCHEMA_SQL } from '../aggregator/index/schema.ts';
import { tempDir } from '../test/helpers/agent.ts';
import { fleetEntry } from './fleet-entries.ts';
import { fmt, header, median } from './lib.ts';

const ENTRIES = Number(process.argv[2] ?? 200_000);
const RUNS = 5;
const TX = 40_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');

const lines: string[] = [];
for (let i = 0; i < ENTRIES; i++) lines.push(JSON.stringify(fleetEntry(i % 1000, i, T0 + Math.floor((i / ENTRIES) * 86_400_000))));

/** The schema's statements minus B-tree indexes and/or the FTS5 table. */
function schema(btree: boolean, fts: boolean): string {
  return SCHEMA_SQL.split(';').filter((st) => (btree || !/CREATE INDEX/.test(st)) && (fts || !/VIRTUAL TABLE/.test(st))).join(';');
}

function run(btree: boolean, fts: boolean): number {
  const path = join(tempDir('logloom-bench-index-cost-'), 'index.sqlite');
  const db = new DatabaseSync(path);
  db.exec(schema(btree, fts));
  const insert = db.prepare(INDEX_SQL.insert);
  const text = fts ? db.prepare(INDEX_SQL.fts) : undefined;
  const cpu0 = process.cpuUsage();
  for (let b = 0; b < ENTRIES; b += TX) {
    db.exec('BEGIN');
    for (let k = b; k < Math.min(ENTRIES, b + TX); k++) {
      const line = lines[k]!;
      const e = JSON.parse(line) as Record<string, unknown>;
      const ts = Date.parse(e.timestamp as string);
      const id = insert.run(1 + (k % 1000), ts, LEVEL_RANK[e.level as string] ?? 1, e.module as string, e.source as string, null, 1, line.length + 1, line).lastInsertRowid;
      text?.run(id, e.message as string);
    }
    db.exec('COMMIT');
  }
  const cpu = process.cpuUsage(cpu0);
  db.close();
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
  return (cpu.user + cpu.system) / ENTRIES;
}

header('bench/index-cost.ts: CPU per entry of the index writer\'s work, by part', `node bench/index-cost.ts ${ENTRIES}`);
const variants: [string, boolean, boolean][] = [['full schema', true, true], ['without the B-tree indexes', false, true], ['without FTS5', true, false], ['row only (neither)', false, false]];
const result: Record<string, number> = {};
for (const [name, btree, fts] of variants) {
  const us: number[] = [];
  for (let r = 0; r < RUNS; r++) us.push(run(btree, fts));
  result[name] = median(us);
  console.log(`${name}: ${fmt(result[name]!, 1)} µs per entry (runs: ${us.map((u) => fmt(u, 1)).join(', ')})`);
}
console.log(`so: B-tree indexes ~${fmt(result['full schema']! - result['without the B-tree indexes']!, 1)} µs, FTS5 ~${fmt(result['full schema']! - result['without FTS5']!, 1)} µs, row + JSON parse ~${fmt(result['row only (neither)']!, 1)} µs; one core: ~${fmt(1e6 / result['full schema']!)} entries/s at ${fmt(ENTRIES)} entries`);
