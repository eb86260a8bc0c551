
/**
 * A secret token: 32 random bytes in base64url (43 characters). One that would start with "-" is
 * drawn again, so that `--token <value>` on a command line is never read as an option (1 draw in
 * 64 would be; dropping them costs a negligible fraction of a bit).
 */
export function randomToken(): string {
  for (;;) {
    const t = process.getBuiltinModule('node:crypto').randomBytes(32).toString('base64url');
    if (t[0] !== '-') return t;
  }
}
