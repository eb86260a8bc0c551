import { s, type Infer } from '../../lib/schema/schema.ts';
import type { Input, InputContext } from './input.ts';
import { draftFromLine, guardData, inputSchema, pauseUntilDrained } from './common.ts';
import { LineSplitter } from '../../lib/line-splitter.ts';

export const schema = inputSchema("The agent's standard input: NDJSON entries or plain text lines (e.g. `app | logloom run`).", {
  max_line_bytes: s.size({ min: 64, max: 64 * 1024 * 1024, default: 1024 * 1024, doc: 'Longest line kept; the rest is discarded and the entry marked truncated.' }),
});
export type StdinInputConfig = Infer<typeof schema> & { type: 'stdin' };

/**
 * The agent's standard input. With the ring buffer its bytes go through the codec straight into
 * the ring (ctx.openStream, as the tcp and unix inputs do); when a line stage or labels need
 * drafts, each line is a draft through emit. A full buffer pauses the stream either way.
 */
export function create(config: StdinInputConfig, ctx: InputContext, stream: NodeJS.ReadableStream = process.stdin): Input {
  let lines = 0;
  let ended = false;
  const pause = () => pauseUntilDrained(ctx, stream);
  let feed: (chunk: Buffer) => void;
  let end: () => void;
  let count: () => number;
  const fast = ctx.openStream?.('stdin', config.max_line_bytes);
  if (fast) {
    const pauseFast = () => pauseUntilDrained(fast, stream);
    feed = (chunk) => fast.feed(chunk) || pauseFast();
    end = () => fast.end() || pauseFast();
    count = () => {
      const c = fast.stats();
      return c.records + c.filtered;
    };
  } else {
    const splitter = new LineSplitter(config.max_line_bytes, (line, cut) => {
      const draft = draftFromLine(line, cut, 'stdin', (why) => ctx.reject(why));
      if (!draft) return;
      lines++;
      if (!ctx.emit(draft)) pause();
    });
    feed = (chunk) => splitter.push(chunk);
    end = () => splitter.end();
    count = () => lines;
  }
  const onData = guardData(ctx, (chunk: Buffer) => feed(chunk));
  return {
    async start() {
      stream.on('data', onData);
      stream.on('end', guardData(ctx, () => {
        ended = true;
        end();
      }));
    },
    async stop() {
      stream.off('data', onData);
      await fast?.settled();
    },
    status: () => ({ lines: count(), eof: ended }),
  };
}
