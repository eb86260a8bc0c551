import { PORT } from '../../lib/port.ts';
/** `host:port` (IPv6 in brackets: `[::1]:514`) as used by the network inputs' `listen` keys. */
export interface ListenAddress {
  host: string;
  port: number;
}

export const HOST_PORT = new RegExp(`^(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):${PORT}$`);
export const HOST_PORT_DOC = 'host:port, e.g. 0.0.0.0:5170 or [::]:5170';

export function parseHostPort(text: string): ListenAddress {
  const colon = text.lastIndexOf(':');
  let host = text.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${text}: port must be 0 to 65535`);
  return { host, port };
}

export function formatHostPort(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
