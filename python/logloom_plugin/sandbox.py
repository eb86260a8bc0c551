"""The sandbox a Python plugin runs in.

Applied by the runner, in this order, before any plugin code runs:
 1. rlimits (only when the agent found no writable cgroup: then memory_max -> RLIMIT_AS and
    pids_max -> RLIMIT_NPROC; with cgroups the agent already placed this process in its cgroup),
 2. drop privileges to the plugin user (default ``nobody``) when started as root,
 3. PR_SET_NO_NEW_PRIVS, so nothing executed later can regain privileges,
 4. audit hooks (PEP 578) that refuse process creation, socket creation (unless the manifest
    grants the ``network`` capability), writes outside the plugin's state directory, loading
    foreign code through ctypes, and signalling other processes.

Audit hooks are not a security boundary on their own (a determined plugin can find gaps in any
in-process check); they are the second layer. The first is enforced by the kernel before python
starts: logloom-launcher (native/launcher/) drops to the plugin user and sets no_new_privs, a
seccomp filter (no exec, fork, sockets without `network`, ptrace, mount), Landlock (writes only
in the state directory) and a network namespace. See docs/plugin-sandbox.md.
"""

import os
import sys

# Frozen: the hook takes its own copies at install time and never reads these names again, so a
# plugin that changes them (sandbox.PROCESS_EVENTS.clear(), replacing sandbox._inside) changes
# nothing that is enforced.
PROCESS_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.startfile", "subprocess.Popen", "pty.spawn",
})
NETWORK_EVENTS = frozenset({"socket.__new__", "socket.bind", "socket.connect", "socket.sendto", "socket.sendmsg"})
SIGNAL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
# Reaching the hook's own objects (gc walks every object; a function's __code__ can be replaced).
INTROSPECTION_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents"})
# Modules that would undo the sandbox when imported for real (the runner puts stubs in their place).
REFUSED_IMPORTS = frozenset({"_posixsubprocess"})
# Filesystem changes: (event, index of the path argument in args)
PATH_EVENTS = {
    "os.remove": 0, "os.rmdir": 0, "os.mkdir": 0, "os.rename": 0, "os.chmod": 0, "os.chown": 0,
    "os.symlink": 1, "os.link": 1, "os.truncate": 0, "os.utime": 0, "shutil.rmtree": 0,
    "os.chflags": 0, "os.lchmod": 0, "os.lchown": 0, "os.mknod": 0, "os.setxattr": 0, "os.removexattr": 0,
    "os.mkfifo": 0,  # raised by the runner's wrapper (CPython raises no event for mkfifo)
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
    # setuid made the process non-dumpable, which makes /proc/self/fd root's: the verified copy and
    # the SDK are reached through it (without the launcher, this runner dropped the privileges itself).
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    except Exception:  # pragma: no cover
        pass
    return user


def no_new_privs():
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_NO_NEW_PRIVS = 38
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except Exception:  # pragma: no cover - best effort on odd libcs
        pass


def _make_inside(root, realpath=os.path.realpath, fsdecode=os.fsdecode, sep=os.sep):
    """A path check bound to the functions as they are now (a plugin replacing os.path.realpath
    later does not reach it)."""
    prefix = root + sep

    def inside(path):
        try:
            real = realpath(fsdecode(path))
        except Exception:
            return False
        return real == root or real.startswith(prefix) or real == "/dev/null"
    return inside


def _inside(path, root):
    return _make_inside(root)(path)


def install(state_dir, allow_network, report):
    """Installs the audit hook. `report(event, detail)` tells the agent about each refusal.

    Everything the hook uses is bound here, into its closure: module globals, builtins and os
    functions that plugin code could replace afterwards are never looked up again."""
    root = os.path.realpath(state_dir)
    inside = _make_inside(root)
    process_events = frozenset(PROCESS_EVENTS)
    network_events = frozenset(NETWORK_EVENTS)
    signal_events = frozenset(SIGNAL_EVENTS)
    introspection_events = frozenset(INTROSPECTION_EVENTS)
    refused_imports = frozenset(REFUSED_IMPORTS)
    path_events = dict(PATH_EVENTS)
    write_flags = WRITE_FLAGS
    _isinstance, _len, _tuple, _int, _str, _bytes, _any = isinstance, len, tuple, int, str, bytes, any
    _pathlike, _fsdecode, _describe_ = os.PathLike, os.fsdecode, _describe
    _refusal = SandboxRefusal
    _function = type(install)
    refusing = [False]

    def refuse(event, detail, what):
        if not refusing[0]:
            refusing[0] = True
            try:
                report(event, detail)
            except Exception:
                pass
            finally:
                refusing[0] = False
        raise _refusal("logloom sandbox: %s refused (%s: %s)" % (what, event, detail))

    def hook(event, args):
        if event in process_events:
            refuse(event, _describe_(args), "process creation")
        elif event.startswith("ctypes."):
            refuse(event, _describe_(args), "foreign code")
        elif event in signal_events:
            refuse(event, _describe_(args), "signalling processes")
        elif event in network_events and not allow_network:
            refuse(event, _describe_(args), "network access (capability 'network' not granted)")
        elif event in introspection_events:
            refuse(event, _describe_(args), "walking the interpreter's objects")
        elif event == "import" and args and args[0] in refused_imports:
            refuse(event, _describe_(args[:1]), "importing a module the sandbox replaced")
        elif event == "object.__setattr__" and _len(args) > 1 and _isinstance(args[0], _function) and args[1] == "__code__":
            refuse(event, _describe_(args[:2]), "replacing a function's code")
        elif event == "open":
            path, mode, flags = (_tuple(args) + (None, None, None))[:3]
            if _isinstance(path, _int) or path is None:
                return
            writing = (_isinstance(mode, _str) and _any(c in mode for c in "wax+")) or (
                _isinstance(flags, _int) and flags & write_flags)
            if writing and not inside(path):
                refuse(event, _fsdecode(path), "write outside the state directory")
        elif event in path_events:
            idx = path_events[event]
            path = args[idx] if _len(args) > idx else None
            if _isinstance(path, (_str, _bytes, _pathlike)) and not inside(path):
                refuse(event, _fsdecode(path), "filesystem change outside the state directory")

    sys.addaudithook(hook)
    _guard_mkfifo()


def _guard_mkfifo():
    """CPython raises no audit event for mkfifo: wrap it (in os and posix) so that one is raised.
    The kernel layer (Landlock, or the read-only mount namespace) refuses it regardless."""
    import posix
    real = posix.mkfifo
    audit = sys.audit

    def mkfifo(path, mode=0o666, *, dir_fd=None):
        audit("os.mkfifo", path, mode, dir_fd)
        return real(path, mode, dir_fd=dir_fd)

    posix.mkfifo = mkfifo
    os.mkfifo = mkfifo


def _describe(args):
    try:
        text = " ".join(repr(a) for a in args)
    except Exception:
        text = "?"
    return text[:200]
