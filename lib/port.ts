/**
 * A TCP/UDP port number, 0 to 65535, as a regular-expression fragment. The configuration's
 * address patterns use it so that `udp:127.0.0.1:99999` is refused by `check-config` with its
 * position, rather than accepted there and refused by `run`. A leaf module.
 */
export const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|\\d{1,4})';
