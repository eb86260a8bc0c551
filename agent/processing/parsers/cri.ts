/**
 * `format: cri`: the container runtime log format that containerd and CRI-O write under
 * /var/log/pods: `<RFC 3339 time> <stdout|stderr> <P|F> <message>`. P marks a part of a line the
 * runtime split; the line stage joins parts up to the F (full) one. The time is the runtime's.
 */
import type { LineParser, ParserOptions } from './types.ts';

const CRI = /^(\S+) (stdout|stderr) ([PF])(?:\S*)? ?(.*)$/s;

export function create(opts: ParserOptions): LineParser {
  return {
    parse(text) {
      const m = CRI.exec(text);
      if (!m) return undefined;
      const ts = opts.time.read(m[1]);
      if (ts === undefined) return undefined;
      return { timestamp: ts, message: m[4]!, fields: { stream: m[2]! }, partial: m[3] === 'P' };
    },
  };
}
