/**
 * Splits a byte stream into lines on \n (a preceding \r is removed, unless keepCr). A line longer
 * than maxBytes keeps its first maxBytes and the rest up to the newline is discarded, so memory
 * stays bounded whatever a peer sends; such a line is reported with `cut` set (it becomes a
 * `truncated: true` entry). The partial line left at the end of a chunk is copied, so a caller may
 * read into the same Buffer again (the kmsg input does).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  private readonly maxBytes: number;
  private readonly onLine: (line: Buffer, cut: boolean) => void;
  /** Lines keep a trailing \r (kmsg records: the kernel writes none, and the codec removes none). */
  private readonly keepCr: boolean;
  private pushed = 0;
  /**
   * Inside onLine: bytes pushed so far up to and including this line's newline, i.e. where a
   * reader resumes to continue after this line (the file input commits it as its position).
   */
  lineEnd = 0;

  constructor(maxBytes: number, onLine: (line: Buffer, cut: boolean) => void, options: { keepCr?: boolean } = {}) {
    this.maxBytes = maxBytes;
    this.onLine = onLine;
    this.keepCr = options.keepCr ?? false;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      let kept = false;
      if (!this.discarding) {
        const room = this.maxBytes - this.pendingBytes;
        const piece = chunk.subarray(start, Math.min(end, start + room));
        if (piece.length) {
          this.pending.push(piece);
          this.pendingBytes += piece.length;
          kept = true;
        }
        if (end - start > room) this.discarding = true;
      }
      if (nl === -1) {
        // The partial line waits for the next chunk: its piece of this one is copied.
        if (kept) this.pending[this.pending.length - 1] = Buffer.from(this.pending[this.pending.length - 1]!);
        break;
      }
      this.lineEnd = this.pushed + nl + 1;
      this.emit();
      start = nl + 1;
    }
    this.pushed += chunk.length;
  }

  /** Emits what is pending as a last line (end of stream). */
  end(): void {
    this.lineEnd = this.pushed;
    if (this.pendingBytes > 0 || this.discarding) this.emit();
  }

  private emit(): void {
    let line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const cut = this.discarding;
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
    if (!cut && !this.keepCr && line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    this.onLine(line, cut);
  }
}
