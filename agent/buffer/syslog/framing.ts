/**
 * Splits a syslog TCP stream into messages (RFC 6587), detecting the framing per message as
 * rsyslog and syslog-ng do: a message starting with a digit is octet-counted (`LEN SP MSG`), one
 * starting with anything else (normally `<`) runs to the next LF (non-transparent framing; a CR
 * before the LF is removed). Memory stays bounded whatever a peer sends: a message longer than
 * maxBytes keeps its first maxBytes and is reported with `cut` set; the rest is skipped.
 */
const MAX_LENGTH_DIGITS = 10;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

type State = 'start' | 'count' | 'octets' | 'line';

export class SyslogFramer {
  private state: State = 'start';
  private parts: Buffer[] = [];
  private kept = 0;
  private cut = false;
  /** Octet counting: bytes of the current frame still to come. */
  private remaining = 0;
  private digits = '';
  private readonly maxBytes: number;
  private readonly onMessage: (msg: Buffer, cut: boolean) => void;

  constructor(maxBytes: number, onMessage: (msg: Buffer, cut: boolean) => void) {
    this.maxBytes = maxBytes;
    this.onMessage = onMessage;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'start': {
          const b = chunk[i]!;
          // Stray line ends between frames (some senders add LF after octet-counted frames).
          if (b === LF || b === CR || b === 0) i++;
          else if (b >= 0x30 && b <= 0x39) this.state = 'count';
          else this.state = 'line';
          break;
        }
        case 'count': {
          const b = chunk[i]!;
          if (b >= 0x30 && b <= 0x39 && this.digits.length < MAX_LENGTH_DIGITS) {
            this.digits += String.fromCharCode(b);
            i++;
          } else if (b === SP && this.digits.length > 0) {
            i++;
            this.remaining = Number(this.digits);
            this.digits = '';
            if (this.remaining === 0) this.state = 'start';
            else this.state = 'octets';
          } else {
            // Not a length after all: the digits were the start of a newline-framed message.
            const head = Buffer.from(this.digits, 'latin1');
            this.digits = '';
            this.state = 'line';
            this.keep(head);
          }
          break;
        }
        case 'octets': {
          const take = Math.min(this.remaining, chunk.length - i);
          this.keep(chunk.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.emit();
          break;
        }
        case 'line': {
          const nl = chunk.indexOf(LF, i);
          const end = nl === -1 ? chunk.length : nl;
          this.keep(chunk.subarray(i, end));
          if (nl === -1) i = chunk.length;
          else {
            i = nl + 1;
            this.emit();
          }
          break;
        }
      }
    }
  }

  /** End of stream: a message in progress is delivered (cut, when its frame was incomplete). */
  end(): void {
    if (this.state === 'count' && this.digits) {
      this.keep(Buffer.from(this.digits, 'latin1'));
      this.digits = '';
    }
    if (this.state === 'octets') this.cut = true;
    if (this.kept > 0 || this.cut) this.emit();
    this.state = 'start';
  }

  private keep(piece: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (piece.length > room) this.cut = true;
    const part = piece.length > room ? piece.subarray(0, room) : piece;
    if (part.length) {
      this.parts.push(part);
      this.kept += part.length;
    }
  }

  private emit(): void {
    let msg = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    if (this.state === 'line' && !this.cut && msg.length > 0 && msg[msg.length - 1] === CR) msg = msg.subarray(0, msg.length - 1);
    const cut = this.cut;
    this.parts = [];
    this.kept = 0;
    this.cut = false;
    this.state = 'start';
    if (msg.length > 0) this.onMessage(msg, cut);
  }
}
