import { s, type Infer } from '../../lib/schema/schema.ts';
import type { Input, InputContext } from './input.ts';
import { draftFromLine, guardData, inputSchema } from './common.ts';
import { LineSplitter } from '../../lib/line-splitter.ts';

export const schema = inputSchema("The agent's standard input: NDJSON entries or plain text lines (e.g. `app | logloom run`).", {
  max_line_bytes: s.size({ min: 64, max: 64 * 1024 * 1024, default: 1024 * 1024, doc: 'Longest line kept; the rest is discarded and the entry marked truncated.' }),
});
export type StdinInputConfig = Infer<typeof schema> & { type: 'stdin' };

export function create(config: StdinInputConfig, ctx: InputContext, stream: NodeJS.ReadableStream = process.stdin): Input {
  let lines = 0;
  let ended = false;
  const onData = guardData(ctx, (chunk: Buffer) => splitter.push(chunk));
  const splitter = new LineSplitter(config.max_line_bytes, (line, cut) => {
    const draft = draftFromLine(line, cut, 'stdin', (why) => ctx.reject(why));
    if (!draft) return;
    lines++;
    if (!ctx.emit(draft)) {
      stream.pause();
      void ctx.drained().then(() => stream.resume());
    }
  });
  return {
    async start() {
      stream.on('data', onData);
      stream.on('end', guardData(ctx, () => {
        ended = true;
        splitter.end();
      }));
    },
    async stop() {
      stream.off('data', onData);
    },
    status: () => ({ lines, eof: ended }),
  };
}
