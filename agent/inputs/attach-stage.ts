/**
 * The one hook between an input and the pipeline: `attachInputStage` gives the input a context
 * whose emit runs the line stage (parser, multiline) when the input's configuration asks for
 * one and stamps the input's labels, and wraps the input so that stopping it flushes held lines
 * and its status shows the stage's figures. Inputs themselves know nothing of it.
 */
import type { EntryDraft } from '../../entry/build.ts';
import type { Input, InputContext } from './input.ts';
import { LineStage, type LineStageConfig } from '../processing/stage.ts';

export interface InputStageConfig extends LineStageConfig {
  /** Resolved labels (global and the input's own), stamped on every draft. */
  labels?: Record<string, string>;
}

export function attachInputStage(cfg: InputStageConfig, ctx: InputContext): { ctx: InputContext; wrap(input: Input): Input } {
  const labels = cfg.labels && Object.keys(cfg.labels).length > 0 ? cfg.labels : undefined;
  if (!cfg.parser && !cfg.multiline && !labels) return { ctx, wrap: (input) => input };
  const label = (draft: EntryDraft): EntryDraft => (labels ? { ...draft, labels: draft.labels ? { ...labels, ...(draft.labels as object) } : labels } : draft);
  const emit = (draft: EntryDraft) => ctx.emit(label(draft));
  const urgent = ctx.emitUrgent;
  const stage = cfg.parser || cfg.multiline ? new LineStage(cfg, emit) : undefined;
  // The byte fast path frames lines in the codec without drafts: the stage and labels need drafts.
  const staged: InputContext = {
    ...ctx,
    emit: stage ? (draft) => stage.emit(draft) : emit,
    emitUrgent: urgent ? (draft) => urgent(label(draft)) : undefined,
    openStream: undefined,
  };
  if (!stage) return { ctx: staged, wrap: (input) => input };
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
