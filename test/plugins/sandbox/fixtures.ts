/**
 * Plugins that attack their sandbox, written into a test's plugin directory, and the facts of this
 * kernel the tests compare the launcher's status with (what this host has, probed independently).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Each escape the issue listed, plus reading /root, as one Python plugin. Results go to results.jsonl in its state dir. */
export const PY_ESCAPES = String.raw`
import importlib.machinery, json, os, socket, sys
from logloom_plugin import sandbox

CFG = {}

def plugin_info():
    return {"name": "filter_escape", "version": "1.0.0", "author": "attacker", "type": "filter"}

def plugin_init(config):
    CFG.update(config or {})
    return 0

def record(name, outcome):
    # Relative: the state dir is the working directory (its parents are root-only).
    with open("results.jsonl", "a") as f:
        f.write(json.dumps({"escape": name, "outcome": outcome}) + "\n")

def attempt(name, fn):
    try:
        record(name, "ran: %r" % (fn(),))
    except BaseException as e:
        record(name, "refused: %s: %s" % (type(e).__name__, e))

def clear_events():
    try:
        sandbox.PROCESS_EVENTS.clear()
    except AttributeError:
        pass
    sandbox.PROCESS_EVENTS = frozenset()
    rc = os.system("echo ran > system-ran")
    if rc != 0:
        raise OSError("os.system returned %d" % rc)
    return rc

def replace_inside():
    sandbox._inside = lambda *a: True
    os.path.realpath = lambda p, *a, **k: os.getcwd()
    with open(os.path.join(CFG["outside"], "written.txt"), "w") as f:
        f.write("escaped")

def reimport_posixsubprocess():
    sys.modules.pop("_posixsubprocess", None)
    import _posixsubprocess
    return _posixsubprocess.fork_exec

def fork_exec(mod):
    r, w = os.pipe()
    return mod.fork_exec([b"/bin/sh", b"-c", b"echo ran > fork-exec-ran"], [b"/bin/sh"], True, (), None, None,
                         -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, False)

def builtin_posixsubprocess():
    # Straight from the interpreter's table of built-in modules: no import event, no audit hook.
    real = importlib.machinery.BuiltinImporter.create_module(importlib.machinery.ModuleSpec("_posixsubprocess", None))
    return fork_exec(real)

def mkfifo_outside():
    os.mkfifo(os.path.join(CFG["outside"], "fifo"))

def socket_without_network():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(("127.0.0.1", int(CFG["port"])))
    return "connected"

def read_root():
    return os.listdir("/root")

ESCAPES = {
    "clear_process_events": clear_events,
    "replace_inside": replace_inside,
    "reimport_posixsubprocess": lambda: fork_exec(type("m", (), {"fork_exec": staticmethod(reimport_posixsubprocess())})),
    "builtin_posixsubprocess": builtin_posixsubprocess,
    "mkfifo_outside": mkfifo_outside,
    "socket_without_network": socket_without_network,
    "read_root": read_root,
}

def plugin_process(entry):
    name = entry.get("message", "")
    if name in ESCAPES:
        attempt(name, ESCAPES[name])
    return 0
`;

/** The same attacks from C, for the plugin host (no audit hooks there: only the kernel stands in the way). */
export function cEscapes(outside: string, port: number): string {
  return String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "logloom_plugin.h"

static void record(const char *name, int ok, int err) {
  FILE *f = fopen("results.txt", "a");
  if (!f) return;
  fprintf(f, "%s %s %s\n", name, ok ? "ran" : "refused", ok ? "-" : strerror(err));
  fclose(f);
}

static const char *caps[] = {NULL};
LOGLOOM_PLUGIN_INFO(info, "filter_cescape", "1.0.0", "attacker", "filter", "sync", caps);
const plugin_info_t *plugin_info(void) { return &info; }
int plugin_init(void) { return 0; }
void plugin_shutdown(void) {}

int plugin_process(const log_entry_t *e) {
  if (strcmp(e->message, "attack") != 0) return 0;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(pid, NULL, 0);
  record("fork", pid >= 0, errno);
  char *argv[] = {"/bin/sh", "-c", "echo ran > exec-ran", NULL};
  errno = 0;
  execv("/bin/sh", argv);
  record("exec", 0, errno);
  int fd = open("${outside}/written-by-c.txt", O_CREAT | O_WRONLY, 0644);
  record("write_outside", fd >= 0, errno);
  int rc = mkfifo("${outside}/fifo-by-c", 0644);
  record("mkfifo_outside", rc == 0, errno);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int connected = -1;
  if (s >= 0) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(${port}), .sin_addr.s_addr = htonl(0x7f000001)};
    connected = connect(s, (struct sockaddr *)&a, sizeof a);
  }
  record("socket", s >= 0 && connected == 0, errno);
  DIR *d = opendir("/root");
  record("read_root", d != NULL, errno);
  fd = open("state-write-ok", O_CREAT | O_WRONLY, 0644);
  record("write_state", fd >= 0, errno);
  return 0;
}
`;
}

/** A directory anyone may write: only the sandbox, not file permissions, keeps a plugin out of it. */
export function worldWritable(dir: string): string {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  return dir;
}

/** The Landlock ABI of this kernel (0: none), asked of the kernel directly. */
export function landlockAbi(): number {
  const out = execFileSync('python3', ['-c', 'import ctypes,platform; nr={"x86_64":444,"aarch64":444}.get(platform.machine(),444); print(max(0, ctypes.CDLL(None, use_errno=True).syscall(nr, None, 0, 1)))']).toString();
  return Number(out.trim());
}

export function readResults(file: string): Record<string, string> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    if (line.startsWith('{')) {
      const j = JSON.parse(line) as { escape: string; outcome: string };
      out[j.escape] = j.outcome;
    } else {
      const [name, ...rest] = line.split(' ');
      out[name!] = rest.join(' ');
    }
  }
  return out;
}

export function writePlugin(dir: string, name: string, files: Record<string, string>): string {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(p, f), text);
  return p;
}
