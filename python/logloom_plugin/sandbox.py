"""The sandbox a Python plugin runs in (seed section 7.3).

Applied by the runner, in this order, before any plugin code runs:
 1. rlimits (only when the agent found no writable cgroup: then memory_max -> RLIMIT_AS and
    pids_max -> RLIMIT_NPROC; with cgroups the agent already placed this process in its cgroup),
 2. drop privileges to the plugin user (default ``nobody``) when started as root,
 3. PR_SET_NO_NEW_PRIVS, so nothing executed later can regain privileges,
 4. audit hooks (PEP 578) that refuse process creation, socket creation (unless the manifest
    grants the ``network`` capability), writes outside the plugin's state directory, loading
    foreign code through ctypes, and signalling other processes.

Audit hooks are not a security boundary on their own (a determined plugin can find gaps in any
in-process check); they are one layer, together with the unprivileged user and the cgroup
limits, which are enforced by the kernel.
"""

import os
import sys

PROCESS_EVENTS = {
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.startfile", "subprocess.Popen", "pty.spawn",
}
NETWORK_EVENTS = {"socket.__new__", "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg"}
SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
# Filesystem changes: (event, index of the path argument in args)
PATH_EVENTS = {
    "os.remove": 0, "os.rmdir": 0, "os.mkdir": 0, "os.rename": 0, "os.chmod": 0, "os.chown": 0,
    "os.symlink": 1, "os.link": 1, "os.truncate": 0, "os.utime": 0, "shutil.rmtree": 0,
    "os.chflags": 0, "os.lchmod": 0, "os.lchown": 0, "os.mknod": 0, "os.setxattr": 0, "os.removexattr": 0,
    "sqlite3.connect": 0,  # SQLite writes its files without going through open()
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class SandboxRefusal(PermissionError):
    """Raised inside the plugin when it attempts something the sandbox refuses."""


def apply_rlimits(memory_max=None, pids_max=None):
    import resource
    if memory_max:
        resource.setrlimit(resource.RLIMIT_AS, (memory_max, memory_max))
    if pids_max:
        resource.setrlimit(resource.RLIMIT_NPROC, (pids_max, pids_max))


def drop_privileges(user):
    """Switches to `user` when running as root; returns the user now in force."""
    import pwd
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid()).pw_name
    pw = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("logloom sandbox: could not drop root privileges")
    return user


def no_new_privs():
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_NO_NEW_PRIVS = 38
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except Exception:  # pragma: no cover - best effort on odd libcs
        pass


def _inside(path, root):
    try:
        real = os.path.realpath(os.fsdecode(path))
    except Exception:
        return False
    return real == root or real.startswith(root + os.sep) or real == "/dev/null"


def install(state_dir, allow_network, report):
    """Installs the audit hook. `report(event, detail)` tells the agent about each refusal."""
    root = os.path.realpath(state_dir)
    refusing = [False]

    def refuse(event, detail, what):
        if not refusing[0]:
            refusing[0] = True
            try:
                report(event, detail)
            finally:
                refusing[0] = False
        raise SandboxRefusal("logloom sandbox: %s refused (%s: %s)" % (what, event, detail))

    def hook(event, args):
        if event in PROCESS_EVENTS:
            refuse(event, _describe(args), "process creation")
        elif event.startswith("ctypes."):
            refuse(event, _describe(args), "foreign code")
        elif event in SIGNAL_EVENTS:
            refuse(event, _describe(args), "signalling processes")
        elif event in NETWORK_EVENTS and not allow_network:
            refuse(event, _describe(args), "network access (capability 'network' not granted)")
        elif event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if isinstance(path, int) or path is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing and not _inside(path, root):
                refuse(event, os.fsdecode(path), "write outside the state directory")
        elif event in PATH_EVENTS:
            idx = PATH_EVENTS[event]
            path = args[idx] if len(args) > idx else None
            if isinstance(path, (str, bytes, os.PathLike)) and not _inside(path, root):
                refuse(event, os.fsdecode(path), "filesystem change outside the state directory")

    sys.addaudithook(hook)


def _describe(args):
    try:
        text = " ".join(repr(a) for a in args)
    except Exception:
        text = "?"
    return text[:200]
