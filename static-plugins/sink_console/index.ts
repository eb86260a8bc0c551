import { definePlugin, type PluginContext, type SinkPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { consoleLine, entryText, textLayout, textLayoutFields, type TextLayout } from '../../entry/render.ts';
import type { LogEntry } from '../../entry/entry.ts';
import type { EntryRecords } from '../../agent/buffer/records.ts';
import { recordViews } from '../../agent/buffer/record-view.ts';
import { info } from './info.generated.ts';

const configSchema = s.object(
  {
    stream: s.enum(['stdout', 'stderr'] as const, { default: 'stdout', doc: 'Where to print.' }),
    color: s.enum(['auto', 'always', 'never'] as const, { default: 'auto', doc: 'Colour the level: auto = only on a TTY.' }),
    ...textLayoutFields,
  },
  { doc: 'sink_console: prints `[LEVEL] [MODULE] <timestamp> <message>` (layout and show change it).' },
);

/** Prints entries as `[LEVEL] [MODULE] <timestamp> <message>`, coloured only on a TTY. */
export default definePlugin({
  info,
  configSchema,
  create(): SinkPlugin {
    let ctx: PluginContext;
    let out: NodeJS.WriteStream = process.stdout;
    let colour = false;
    let layout: TextLayout;
    return {
      init(c) {
        ctx = c;
        const config = c.config as Infer<typeof configSchema>;
        out = config.stream === 'stderr' ? process.stderr : process.stdout;
        colour = config.color === 'always' || (config.color === 'auto' && out.isTTY === true);
        layout = textLayout(config);
      },
      async flush(entries: readonly LogEntry[]) {
        await write(entries);
      },
      // The records path: lazy views (level, module, timestamp and message off the bytes).
      async flushRecords(records: EntryRecords) {
        await write(recordViews(records));
      },
    };

    async function write(entries: readonly LogEntry[]): Promise<void> {
      const text = entries.map((e) => consoleLine(e, entryText(e, (k, a) => ctx.render(k, a)), colour, layout)).join('\n') + '\n';
      if (!out.write(text)) await new Promise((r) => out.once('drain', r));
    }
  },
});
