/**
 * Configuration parsing against the number of keys: the duplicate-key check must stay linear
 * (the yaml library's own check compared each key with every earlier one: 100,000 keys took about
 * a minute). Parse + validate of a mapping with N keys (all unknown, so every key is also reported),
 * and of the same with the keys under one plugin's free-form config (parse + duplicate check only).
 */
import { parseConfig } from '../agent/config/load.ts';
import { fmt, header, median } from './lib.ts';

header('config parsing vs number of keys', '$(toolchain/node-runtime.sh x64)/bin/node bench/config.ts');
for (const n of [10_000, 50_000, 100_000]) {
  const text = `logloom:\n${Array.from({ length: n }, (_, i) => `  k${i}: ${i}\n`).join('')}`;
  const times: number[] = [];
  let issues = 0;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    issues = parseConfig({ file: 'bench.yaml', text }).issues.length;
    times.push(performance.now() - t);
  }
  console.log(`${fmt(n).padStart(8)} keys: median of 5 ${fmt(median(times))} ms (${fmt(median(times) * 1000 / n, 1)} µs per key; ${issues} issues reported)`);
}
