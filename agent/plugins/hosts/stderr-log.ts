import type { PluginLog } from '../types.ts';

/**
 * A plugin's stderr lines in the agent's log, tagged with its name (the PluginLog is the agent's
 * log child for that plugin). At most `perSecond` lines per second: a plugin printing in a loop
 * must not drown the agent's own log or fill a gateway's flash; the rest are counted and one
 * summary line says how many were left out, at the end of that second.
 */
export class StderrLog {
  private readonly log: PluginLog;
  private readonly perSecond: number;
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;
  private timer?: NodeJS.Timeout;
  lines = 0;
  suppressedTotal = 0;

  constructor(log: PluginLog, perSecond = 50) {
    this.log = log;
    this.perSecond = perSecond;
  }

  line(text: string): void {
    this.lines++;
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.summarise();
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (++this.inWindow > this.perSecond) {
      this.suppressed++;
      this.suppressedTotal++;
      this.timer ??= setTimeout(() => this.summarise(), 1000 - (now - this.windowStart)).unref();
      return;
    }
    this.log.info(`stderr: ${text.length > 2000 ? text.slice(0, 2000) + '…' : text}`);
  }

  /** Writes the pending "N lines suppressed" summary, if any. */
  summarise(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed === 0) return;
    this.log.warn(`${this.suppressed} stderr lines suppressed (more than ${this.perSecond} per second)`);
    this.suppressed = 0;
  }
}
