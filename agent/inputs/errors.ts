/**
 * An input that cannot start (port taken, device missing, TLS file unreadable), named so the
 * operator knows which `inputs:` item to fix: `input syslog: cannot listen on udp:0.0.0.0:514: …`.
 */
export class InputStartError extends Error {
  readonly input: string;
  constructor(input: string, what: string, cause: unknown) {
    super(`input ${input}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'InputStartError';
    this.input = input;
  }
}
