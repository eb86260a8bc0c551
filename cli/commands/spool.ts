import { stat } from 'node:fs/promises';
import { inspectSpool, renderSpoolReport } from '../../agent/forward/spool/inspect.ts';
import { parse, UsageError, type Command } from './command.ts';

const USAGE = `logloom spool inspect DIR [--json]
       logloom spool verify DIR

inspect: lists the spool's segments with sequence ranges, bytes, entries, what is still to be sent,
and damage (corrupt records, torn tails). Read-only; safe next to a running agent.
verify: the same check, quiet when the spool is intact; exits 1 and names each damaged place
otherwise (the agent skips damaged records at start-up and counts them).
DIR is the spool directory (default <data_dir>/plugins/log_aggregator_remote/spool).`;

export const spool: Command = {
  name: 'spool',
  summary: 'inspect or verify a forwarding spool directory',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    const [sub, dir, ...extra] = positionals;
    if (sub !== 'inspect' && sub !== 'verify') throw new UsageError(sub === undefined ? 'missing subcommand (inspect or verify)' : `unknown subcommand '${sub}'`);
    if (!dir || extra.length) throw new UsageError('expected exactly one DIR');
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) {
      process.stderr.write(`logloom spool: ${dir}: not a directory\n`);
      return 1;
    }
    const report = await inspectSpool(dir);
    if (sub === 'inspect') {
      process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : renderSpoolReport(report));
      return 0;
    }
    const problems: string[] = [];
    if (report.ack_pointer_error) problems.push(`ack pointer: ${report.ack_pointer_error}`);
    for (const s of report.segments) {
      for (const c of s.corrupt) problems.push(`${s.file}: corrupt record at offset ${c.offset} (${c.bytes} bytes skipped)`);
      if (s.torn_tail) problems.push(`${s.file}: torn write at offset ${s.torn_tail.offset} (${s.torn_tail.bytes} bytes)`);
    }
    const t = report.totals;
    if (problems.length) {
      process.stdout.write(problems.join('\n') + `\n${problems.length} problem(s); ${t.records} intact batch(es), ${t.entries} entries\n`);
      return 1;
    }
    process.stdout.write(`ok: ${t.segments} segment(s), ${t.records} batch(es), ${t.entries} entries, no damage\n`);
    return 0;
  },
};
