/**
 * The device overlay tarball (make rootfs TARGET=arm64) and the systemd unit in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/agent.ts';
import { X64, ensureRootfs } from './artefacts.ts';

test('rootfs-arm64.tar.gz: the arm64 executable at usr/bin/logloom, init script, unit, config and directories, all root-owned', () => {
  const tarball = ensureRootfs('arm64');
  const listing = execFileSync('tar', ['-tvzf', tarball], { encoding: 'utf8', maxBuffer: 16 << 20 }).trim().split('\n');
  const entry = (path: string) => {
    const line = listing.find((l) => l.endsWith(` ./${path}`));
    assert.ok(line, `${path} missing from ${tarball}:\n${listing.join('\n')}`);
    return line;
  };
  assert.match(entry('usr/bin/logloom'), /^-rwxr-xr-x 0\/0 /);
  assert.match(entry('etc/init.d/S50logloom'), /^-rwxr-xr-x 0\/0 /);
  assert.match(entry('etc/logloom/logloom.yaml'), /^-rw-r--r-- 0\/0 /);
  assert.match(entry('lib/systemd/system/logloom.service'), /^-rw-r--r-- 0\/0 /);
  assert.match(entry('usr/lib/logloom/plugins/'), /^drwxr-xr-x 0\/0 /);
  assert.match(entry('var/lib/logloom/'), /^drwxr-x--- 0\/0 /);
  assert.ok(listing.every((l) => / 0\/0 /.test(l)), 'every file owned by root');
  const dir = tempDir();
  execFileSync('tar', ['-xzf', tarball, '-C', dir, './usr/bin/logloom']);
  assert.match(execFileSync('file', ['-b', join(dir, 'usr/bin/logloom')], { encoding: 'utf8' }), /ARM aarch64/);
});

test('logloom.service passes systemd-analyze verify and carries restart and hardening settings', () => {
  const unit = readFileSync(join(ROOT, 'rootfs/lib/systemd/system/logloom.service'), 'utf8');
  for (const line of ['Restart=always', 'StateDirectory=logloom', 'RuntimeDirectory=logloom', 'ProtectSystem=strict', 'NoNewPrivileges=yes']) {
    assert.match(unit, new RegExp(`^${line}$`, 'm'), line);
  }
  // Verified against this machine's systemd, with the executable path pointed at the x64 build.
  const dir = tempDir();
  const copy = join(dir, 'logloom.service');
  writeFileSync(copy, unit.replaceAll('/usr/bin/logloom', X64));
  const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});
