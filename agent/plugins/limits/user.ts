import { readFileSync } from 'node:fs';

export interface UserIds {
  name: string;
  uid: number;
  gid: number;
}

export class UnknownUserError extends Error {
  constructor(user: string) {
    super(`unknown user '${user}' (not in /etc/passwd)`);
    this.name = 'UnknownUserError';
  }
}

/** Looks a user up in /etc/passwd (the only user database on these gateways). */
export function lookupUser(user: string, passwd = '/etc/passwd'): UserIds {
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === user || (/^\d+$/.test(user) && uid === user)) return { name: name!, uid: Number(uid), gid: Number(gid) };
  }
  throw new UnknownUserError(user);
}
