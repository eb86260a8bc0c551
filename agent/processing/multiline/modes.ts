/**
 * Multiline modes: whether a line continues the entry before it. The built-in modes know how
 * Python, Java and Go print stack traces after a log line; `custom` takes start and/or
 * continuation patterns (like Fluent Bit's multiline parsers and Vector's multiline options).
 * A mode may keep state between lines (inside a traceback), so each stream gets its own.
 */
export interface ContinuationRule {
  /**
   * True when `line` belongs to the entry being collected. Called for every line, also the first
   * of a stream (whose answer is ignored), so that a rule can see where a crash starts.
   */
  continues(line: string): boolean;
  /** The collected entry was flushed: forget any state. */
  reset(): void;
}

export type ModeFactory = (opts: { start?: RegExp; continuation?: RegExp }) => ContinuationRule;

/**
 * Python: `Traceback (most recent call last):` joins the log line before it (logging.exception
 * prints the message first); indented frame lines follow; the first unindented line is the
 * exception and ends the traceback, unless a chained traceback follows ("During handling of the
 * above exception…", "The above exception was the direct cause…").
 */
function python(): ContinuationRule {
  let inTrace = false;
  let afterException = false;
  return {
    continues(line) {
      if (/^Traceback \(most recent call last\):\s*$/.test(line) || /^(?:\s*\+ )?Exception Group Traceback/.test(line)) {
        inTrace = true;
        afterException = false;
        return true;
      }
      if (inTrace) {
        if (/^\s/.test(line)) return true;
        inTrace = false;
        afterException = true;
        return true; // the exception line: ValueError: bad value
      }
      if (afterException && /^(During handling of the above exception|The above exception was the direct cause)/.test(line)) return true;
      afterException = false;
      return false;
    },
    reset() {
      inTrace = false;
      afterException = false;
    },
  };
}

/** Java: `\tat …` frames, `... 12 more`, `Caused by:`, `Suppressed:`, and the exception line itself. */
const JAVA = /^(?:\s+at\s|\s*\.\.\. \d+ (?:more|common frames omitted)|\s*Caused by: |\s+Suppressed: |(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|\s*$))/;
function java(): ContinuationRule {
  return { continues: (line) => JAVA.test(line), reset() {} };
}

/**
 * Go: a `panic: …` or `fatal error: …` line starts a crash; goroutine headers, function lines,
 * tab-indented file:line lines, `created by …`, `[signal …` and `exit status N` follow it.
 */
const GO_START = /^(?:panic: |fatal error: )/;
const GO_PANIC = /^(?:\t|goroutine \d+ \[|created by |\[signal |exit status \d+|\[recovered\]|[\w./*()\-[\]{},]+\(.*\)$|\s*$)/;
function go(): ContinuationRule {
  let inPanic = false;
  return {
    continues(line) {
      if (GO_START.test(line)) {
        inPanic = true;
        return false; // a panic is an entry of its own
      }
      if (inPanic && GO_PANIC.test(line)) return true;
      inPanic = false;
      return false;
    },
    reset() {
      inPanic = false;
    },
  };
}

/** start: a matching line begins an entry, others continue; continuation: matching lines continue. */
function custom(opts: { start?: RegExp; continuation?: RegExp }): ContinuationRule {
  const { start, continuation } = opts;
  return {
    continues(line) {
      if (start && start.test(line)) return false;
      if (continuation) return continuation.test(line);
      return true;
    },
    reset() {},
  };
}

export const MULTILINE_MODES = { python, java, go, custom } satisfies Record<string, ModeFactory>;
export type MultilineMode = keyof typeof MULTILINE_MODES;
