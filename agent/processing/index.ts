/**
 * The one hook between an input and the pipeline: `attachInputStage` gives the input a context
 * whose emit runs the line stage (parser, multiline) when the input's configuration asks for
 * one, and wraps the input so that stopping it flushes held lines and its status shows the
 * stage's figures. Inputs themselves know nothing of it.
 */
import type { Input, InputContext } from '../inputs/input.ts';
import { LineStage, type LineStageConfig } from './stage.ts';

export function attachInputStage(cfg: LineStageConfig, ctx: InputContext): { ctx: InputContext; wrap(input: Input): Input } {
  if (!cfg.parser && !cfg.multiline) return { ctx, wrap: (input) => input };
  const stage = new LineStage(cfg, (draft) => ctx.emit(draft));
  // The byte fast path frames lines in the codec without drafts: the stage needs drafts.
  const staged: InputContext = { ...ctx, emit: (draft) => stage.emit(draft), openStream: undefined };
  return {
    ctx: staged,
    wrap: (input) => ({
      start: () => input.start(),
      async stop() {
        await input.stop();
        stage.end();
      },
      status: () => ({ ...(input.status?.() ?? {}), ...stage.status() }),
    }),
  };
}
