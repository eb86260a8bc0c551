import type { TlsConfig } from './config/config.ts';
import { peerText } from './peer-text.ts';

/**
 * What went wrong in a failed TLS handshake, in words an operator can act on, instead of
 * OpenSSL's `…:error:0A00010B:SSL routines:ssl_get_record:wrong version number:../deps/…`.
 * Unknown failures keep OpenSSL's reason phrase (without file paths) and the error code.
 */
export function describeTlsFailure(e: NodeJS.ErrnoException & { reason?: string }, tls: TlsConfig): string {
  const code = e.code ?? '';
  const known: Record<string, string> = {
    ERR_SSL_WRONG_VERSION_NUMBER: 'the client spoke plain TCP (not TLS) to this TLS listener; enable tls on the agent (log_aggregator_remote tls.enabled) or point it at a plain listener',
    ERR_SSL_HTTP_REQUEST: 'the client sent a plain HTTP request to this TLS listener',
    ERR_SSL_HTTPS_PROXY_REQUEST: 'the client sent an HTTP proxy request to this TLS listener',
    ERR_SSL_UNSUPPORTED_PROTOCOL: `the client offered only TLS versions older than ${tls.min_version} (tls.min_version)`,
    ERR_SSL_NO_PROTOCOLS_AVAILABLE: `the client offered only TLS versions older than ${tls.min_version} (tls.min_version)`,
    ERR_SSL_NO_SHARED_CIPHER: 'the client and the aggregator have no cipher suite in common',
    ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'the client sent no certificate, and tls.client_cert is require',
    ERR_SSL_CERTIFICATE_VERIFY_FAILED: 'the client certificate is not signed by tls.ca (or has expired)',
    ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the client does not trust the aggregator\'s certificate (its CA is unknown to the agent: set tls.ca on the agent)',
    ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the client refused the aggregator\'s certificate (bad certificate: check the name the agent connects to against the certificate\'s subjectAltName)',
    ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the client says the aggregator\'s certificate has expired',
    ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'the client refused the TLS version the aggregator offered',
    ERR_TLS_HANDSHAKE_TIMEOUT: 'the client did not finish the TLS handshake in time',
    ECONNRESET: 'the client closed the connection during the TLS handshake',
  };
  if (known[code]) return known[code]!;
  if (code === 'EPIPE' || code === 'ECONNABORTED') return 'the connection broke during the TLS handshake';
  // OpenSSL's text is `…:<library>:<function>:<reason>:<file>:<line>`; its reason is the readable part.
  const reason = e.reason ?? /:([a-z][a-z0-9 ]+):\.\.\//.exec(e.message)?.[1] ?? e.message.split('\n')[0]!;
  return `${peerText(reason, 200)}${code ? ` (${code})` : ''}`;
}
