import { existsSync, writeFileSync } from 'node:fs';
import { generateKeys } from '../../agent/plugins/signing.ts';
import { parse, type Command } from './command.ts';

export const keygen: Command = {
  name: 'keygen',
  summary: 'make an ed25519 key pair for signing plugins',
  usage: 'logloom keygen [--out PREFIX] [--force]\n\nWrites PREFIX.key (private, mode 0600) and PREFIX.pub (public, PEM); default PREFIX is logloom-signing.\nPut the .pub path, or the base64 key printed, into plugins.trusted_keys.',
  async run(argv) {
    const { values } = parse(argv, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, false);
    const prefix = values.out ?? 'logloom-signing';
    for (const f of [`${prefix}.key`, `${prefix}.pub`]) {
      if (existsSync(f) && !values.force) throw new Error(`${f} exists; use --force to replace it`);
    }
    const k = generateKeys();
    writeFileSync(`${prefix}.key`, k.privatePem, { mode: 0o600 });
    writeFileSync(`${prefix}.pub`, k.publicPem, { mode: 0o644 });
    process.stdout.write(`private key: ${prefix}.key (keep it off the devices)\npublic key:  ${prefix}.pub\ntrusted_keys entry: ${k.publicBase64}\n`);
    return 0;
  },
};
