import type { LogEntry } from '../entry/entry.ts';
import type { FilterStage, SinkStage } from '../pipeline/stages.ts';
import type { FilterPlugin, PluginContext, PluginInstance, SinkPlugin, StaticPluginModule } from './types.ts';

/**
 * Wraps a compiled-in plugin into a pipeline stage. Minimal for now: a throwing filter fails
 * open (keeps the entry); a sink's rejected flush is retried by the SinkRunner.
 */
export async function startStatic(mod: StaticPluginModule, ctx: PluginContext): Promise<{ instance: PluginInstance; stage: FilterStage | SinkStage }> {
  const instance = mod.create();
  await instance.init?.(ctx);
  const name = mod.info.name;
  if (mod.info.type === 'filter') {
    const f = instance as FilterPlugin;
    const stage: FilterStage = {
      name,
      enabled: true,
      keepBatch(entries: readonly LogEntry[]) {
        return entries.map((entry) => {
          try {
            return f.filter(entry) !== false;
          } catch (e) {
            ctx.log.error(`Plugin communication failed: ${name}: ${(e as Error).message}`);
            return true;
          }
        });
      },
    };
    return { instance, stage };
  }
  const sink = instance as SinkPlugin;
  const stage: SinkStage = {
    name,
    enabled: true,
    flush: (entries) => sink.flush(entries),
    reopen: sink.reopen ? () => sink.reopen!() : undefined,
    status: sink.status ? () => sink.status!() : undefined,
  };
  return { instance, stage };
}
