import type { AgentLog } from '../lib/log.ts';

/**
 * What a peer says (ERROR frame text, node ids, certificate names, TLS alerts) reaches the
 * aggregator's log, and an operator's terminal or log viewer. Before it does, anything that could
 * forge a line, move the cursor, recolour or reorder text is escaped: C0/C1 controls (newlines
 * included), DEL, line and paragraph separators, bidi embeddings/overrides/isolates and invisible
 * marks. Each becomes `\uXXXX`, so the log shows what was sent without obeying it.
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/** Most characters of peer text kept in one log line. */
export const MAX_PEER_TEXT = 512;

export function peerText(text: string, max = MAX_PEER_TEXT): string {
  const cut = text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
  return cut.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A log whose every line goes through peerText: the connection-facing parts of the aggregator
 * (listener, sessions) log with it, so no message built from peer input can reach the log raw.
 */
export function peerSafeLog(log: AgentLog): AgentLog {
  return {
    debug: (m) => log.debug(peerText(m, 4 * MAX_PEER_TEXT)),
    info: (m) => log.info(peerText(m, 4 * MAX_PEER_TEXT)),
    warn: (m) => log.warn(peerText(m, 4 * MAX_PEER_TEXT)),
    error: (m) => log.error(peerText(m, 16 * MAX_PEER_TEXT)),
    child: (tag) => peerSafeLog(log.child(tag)),
  };
}
