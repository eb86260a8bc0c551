import { s, type Infer } from '../../../lib/schema/schema.ts';
import { inputSchema } from '../common.ts';

/**
 * Config keys of `type: serial` (one port per input; list several inputs for several ports).
 * Defaults suit a Linux/U-Boot console at 115200 8N1.
 */
export const schema = inputSchema('Serial console (UART, USB-serial adapter): frames lines, parses levels, groups kernel oopses, survives unplugging.', {
  path: s.string({ doc: 'Device path; a stable /dev/serial/by-id/… link is followed on every (re)open, so a re-plugged adapter is found again.', minLength: 1 }),
  baud_rate: s.int({
    min: 50, max: 4_000_000, default: 115200,
    doc: 'Line speed. Standard rates (9600 … 115200 … 3000000) always; other rates are set with termios2 (BOTHER) and work where the UART driver allows (the error at open says so when it does not).',
  }),
  data_bits: s.int({ min: 5, max: 8, choices: [5, 6, 7, 8], default: 8, doc: 'Data bits per character.' }),
  parity: s.enum(['none', 'even', 'odd', 'mark', 'space'] as const, { default: 'none', doc: 'Parity bit.' }),
  stop_bits: s.int({ min: 1, max: 2, choices: [1, 2], default: 1, doc: 'Stop bits.' }),
  flow_control: s.enum(['none', 'rtscts', 'xonxoff'] as const, {
    default: 'none',
    doc: 'Flow control: none, rtscts (hardware RTS/CTS: the device is held back while the agent catches up), or xonxoff (software XON/XOFF).',
  }),
  encoding: s.enum(['utf-8', 'latin1'] as const, {
    default: 'utf-8',
    doc: 'How bytes become text: utf-8 (invalid sequences become U+FFFD and are counted as framing errors) or latin1 (every byte is one character).',
  }),
  separator: s.string({
    default: 'auto',
    doc: 'Line separator: auto = \\n, \\r\\n or a lone \\r; anything else is the exact byte sequence (YAML escapes work: "\\0", "\\x03", ";;").',
    minLength: 1,
  }),
  max_line_bytes: s.size({
    min: 16, max: 1024 * 1024, default: 8 * 1024,
    doc: 'A line that grows past this without a separator is emitted in pieces of this size (fields.partial: max_bytes), so nothing is lost and memory stays bounded.',
  }),
  idle_flush_ms: s.duration({
    min: 1, max: 600_000, default: 500,
    doc: 'A partial line (a prompt, a line still being typed) is emitted after this much silence (fields.partial: idle).',
  }),
  parse: s.bool({ default: true, doc: 'Read level, module and timestamps from the text (kernel <N> and [ seconds ], LEVEL: and [LEVEL], ESP-IDF, Zephyr, Logloom\'s console format); off = every line gets default_level.' }),
  group_oops: s.bool({ default: true, doc: 'Group a kernel oops/panic/BUG (from its first line to its ---[ end … ]--- marker) into one FATAL entry that overtakes routine entries.' }),
  oops_max_lines: s.int({ min: 2, max: 100_000, default: 1000, doc: 'An oops group longer than this is closed (ended_by: max_lines) and a new one starts.' }),
  oops_idle_ms: s.duration({ min: 1, max: 600_000, default: 2000, doc: 'An oops group without its end marker is closed after this much silence (a board that halted in a panic).' }),
  detect_boot: s.bool({ default: true, doc: 'A boot banner (Linux version …, U-Boot …) becomes an entry with fields.event: boot, marking the reboot.' }),
  reconnect_min_ms: s.duration({ min: 10, max: 600_000, default: 250, doc: 'First retry delay after the port vanished or failed; doubles per failure.' }),
  reconnect_max_ms: s.duration({ min: 10, max: 3_600_000, default: 5000, doc: 'Longest retry delay (a re-plugged device is also noticed at once when its directory changes).' }),
  raw_capture: s.optional(
    s.object(
      {
        path: s.string({ doc: 'File that receives an exact copy of every byte read from the port.', minLength: 1 }),
        max_bytes: s.size({ min: 1024, max: 1024 ** 4, default: 10 * 1024 * 1024, doc: 'Rotate when the file would grow past this size.' }),
        max_backups: s.int({ min: 0, max: 10_000, default: 5, doc: 'Rotated files kept (path.1 … path.N).' }),
      },
      { doc: 'Raw capture (like grabserial/conserver logs).' },
    ),
    { doc: 'Optional exact byte copy of the console into a rotating file, beside the structured entries: { path, max_bytes (default 10MiB), max_backups (default 5) } (docs/serial.md).' },
  ),
});

export type SerialInputConfig = Infer<typeof schema> & { type: 'serial' };
