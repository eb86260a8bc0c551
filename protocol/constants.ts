/**
 * Constants of the agent → aggregator wire protocol (docs/forward-protocol.md is the contract).
 * Every frame is `u32 length | u8 type | payload`, big-endian, where `length` counts the type
 * byte plus the payload (so it is at least 1).
 */
export const PROTOCOL_VERSION = 1;

/**
 * What WELCOME's version announces: the highest revision the aggregator understands. Revision 2
 * is version 1 plus the STATS frame; agents keep saying version 1 in HELLO (so that aggregators
 * that only know 1 still accept them) and send STATS only to an aggregator whose WELCOME says 2
 * or more. Agents that know nothing of STATS ignore WELCOME's version.
 */
export const WELCOME_REVISION = 2;
/** The first WELCOME revision that accepts STATS frames. */
export const STATS_REVISION = 2;
/** Largest STATS payload (a small JSON object). */
export const MAX_STATS_BYTES = 4096;

/** Bytes of the frame header: u32 length + u8 type. */
export const FRAME_HEADER_BYTES = 5;

/** Default bound on `length` for both sides; a frame announcing more is refused before allocation. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  BATCH: 0x03,
  ACK: 0x04,
  ERROR: 0x05,
  PING: 0x06,
  PONG: 0x07,
  STATS: 0x08,
} as const;
export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

export const FRAME_TYPE_NAMES: Readonly<Record<number, FrameTypeName>> = Object.fromEntries(
  Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]),
);

/** Body codec of a BATCH. */
export const BatchCodec = {
  NONE: 0,
  DEFLATE: 1,
} as const;
export type BatchCodecCode = (typeof BatchCodec)[keyof typeof BatchCodec];
export type BatchCodecName = 'none' | 'deflate';

/**
 * ERROR codes. `retryable` codes ask the agent to reconnect later (with backoff); the others
 * mean the configuration is wrong and are logged loudly (the agent still retries, slowly).
 */
export const ErrorCode = {
  /** Malformed frame (bad length, unknown type, truncated payload). */
  BAD_FRAME: 1,
  /** The frame's length passed the receiver's max_frame_bytes. */
  FRAME_TOO_LARGE: 2,
  /** HELLO carried a protocol version the receiver does not speak. */
  UNSUPPORTED_VERSION: 3,
  /** Unknown node or wrong token (or the TLS client certificate does not match the node). */
  AUTH_FAILED: 4,
  /** BATCH body does not decode, or its count does not match. */
  BAD_BATCH: 5,
  /** A frame that is not allowed in the current state (e.g. BATCH before HELLO). */
  UNEXPECTED_FRAME: 6,
  /** The aggregator could not store the batch durably (retryable; nothing acknowledged). */
  STORAGE_FAILED: 7,
  /** The aggregator is stopping (retryable). */
  SHUTTING_DOWN: 8,
  /** Too many connections or the node is already connected elsewhere (retryable). */
  BUSY: 9,
  /**
   * A BATCH seq jumped further past the node's last stored seq than the aggregator allows
   * (aggregator.max_seq_jump). Nothing of it is stored; the agent renumbers its unacknowledged
   * batches consecutively from WELCOME's last_seq + 1 and reconnects.
   */
  SEQUENCE_JUMP: 10,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;
export const ERROR_CODE_NAMES: Readonly<Record<number, ErrorCodeName>> = Object.fromEntries(
  Object.entries(ErrorCode).map(([k, v]) => [v, k as ErrorCodeName]),
);
export const RETRYABLE_ERRORS: ReadonlySet<number> = new Set([ErrorCode.STORAGE_FAILED, ErrorCode.SHUTTING_DOWN, ErrorCode.BUSY]);

/** Node ids: what a HELLO may carry (also safe as a file name on the aggregator). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const MAX_TOKEN_BYTES = 4096;
