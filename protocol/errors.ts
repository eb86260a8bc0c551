import { ERROR_CODE_NAMES, ErrorCode } from './constants.ts';

/**
 * A frame or message that breaks the protocol. `code` is the ERROR code the receiver should
 * answer with before closing the connection.
 */
export class ProtocolError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
  get codeName(): string {
    return ERROR_CODE_NAMES[this.code] ?? `code ${this.code}`;
  }
}

/** Raised by the frame decoder as soon as a header announces more than max_frame_bytes. */
export class FrameTooLargeError extends ProtocolError {
  readonly length: number;
  readonly limit: number;
  constructor(length: number, limit: number) {
    super(ErrorCode.FRAME_TOO_LARGE, `frame of ${length} bytes exceeds max_frame_bytes ${limit}`);
    this.name = 'FrameTooLargeError';
    this.length = length;
    this.limit = limit;
  }
}

/** An ERROR frame received from the peer. */
export class PeerError extends Error {
  readonly code: number;
  constructor(code: number, text: string) {
    super(`${ERROR_CODE_NAMES[code] ?? `code ${code}`}: ${text}`);
    this.name = 'PeerError';
    this.code = code;
  }
}
