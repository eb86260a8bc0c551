"""Runs one Python plugin as a child of the Logloom agent.

    python3 -I -B runner.py '<spec json>'

spec: {"plugin": path, "name": str, "type": filter|sink|ai|lang, "state_dir": path,
       "user": "nobody", "capability": [...], "rlimits": {"memory_max": n, "pids_max": n}}

The plugin file is read while the runner may still be root; everything the plugin itself runs
(module body included) runs after the sandbox is in place. Protocol: docs/plugin-protocol.md.
"""

import inspect
import json
import os
import sys
import threading
import traceback
import types

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import logloom_plugin as sdk  # noqa: E402
from logloom_plugin import sandbox  # noqa: E402

PROTOCOL_VERSION = 1
_out = sys.stdout
_out_lock = threading.Lock()


def _write_stdout(obj):
    line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)
    _out.write(line + "\n")
    _out.flush()


# Where answers and events go: the agent's pipe, or (service.py) the current connection.
_emit = [_write_stdout]


def set_emitter(fn):
    _emit[0] = fn


def send(obj):
    with _out_lock:
        _emit[0](obj)


def describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


class Plugin:
    def __init__(self, module, ptype):
        self.m = module
        self.type = ptype

    def fn(self, name):
        f = getattr(self.m, name, None)
        return f if callable(f) else None

    def info(self):
        f = self.fn("plugin_info")
        info = dict(f() or {}) if f else {}
        info["functions"] = sorted(n for n in dir(self.m) if n.startswith("plugin_") and callable(getattr(self.m, n)))
        return info

    def init(self, config):
        sdk.config = config
        f = self.fn("plugin_init")
        if not f:
            return
        try:
            takes = len(inspect.signature(f).parameters) > 0
        except (TypeError, ValueError):
            takes = False
        rc = f(config) if takes else f()
        if isinstance(rc, int) and not isinstance(rc, bool) and rc != 0:
            raise RuntimeError("plugin_init returned %d" % rc)

    def shutdown(self):
        f = self.fn("plugin_shutdown")
        if f:
            f()


def verdict(value):
    """Filter return value -> what the "keep" answer carries: True, False, or a replacement dict.

    The status form first: {"status": 0} (with or without "message") keeps the entry,
    {"status": 1, "error": "..."} is an error for that entry. {"keep": x} says it outright. Any
    other dict is a replacement copy (e.g. the entry with its message redacted) and is sent back
    whole: the agent applies what changed (and keeps timestamp, node, source and seq).
    """
    if isinstance(value, dict):
        if "keep" in value:
            k = value["keep"]
            return k if isinstance(k, dict) else bool(k)
        if "status" in value:
            if value["status"] != 0:
                raise RuntimeError(str(value.get("error") or "status %s" % value["status"]))
            return True
        if not isinstance(value.get("message"), str):
            raise ValueError("a replacement entry needs a \"message\" string")
        return value
    if isinstance(value, bool) or value is None:
        return value is not False
    if isinstance(value, int):
        return value == 0
    return bool(value)


def as_results(value):
    """ai return value -> list (or iterator) of result dicts."""
    if value is None:
        return []
    if isinstance(value, dict):
        if "status" in value:
            # The plain forms: {"status": 0, "summary": ...} is a result; {"status": 0,
            # "message": "ok"} (nothing besides a message) acknowledges; status != 0 is an error.
            if value["status"] != 0:
                raise RuntimeError(str(value.get("error") or "status %s" % value["status"]))
            rest = {k: v for k, v in value.items() if k != "status"}
            return [] if set(rest) <= {"message"} else [rest]
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return value
    if isinstance(value, str):
        return [{"message": value}]
    return []


def handle_process(plugin, req, rid):
    proc = plugin.fn("plugin_process")
    batch_fn = plugin.fn("plugin_process_batch")
    entries = req.get("batch")
    single = entries is None
    if single:
        entries = [req.get("entry")]
    if not isinstance(entries, list) or any(not isinstance(e, dict) for e in entries):
        raise ValueError("invalid input: entry must be an object, batch a list of objects")
    if plugin.type == "filter":
        if batch_fn and not single:
            return {"keep": [verdict(v) for v in batch_fn(entries)]}
        if single:
            return {"keep": verdict(proc(entries[0]))}
        # One failing entry does not fail the batch: it gets null and its error is listed.
        keep, errors = [], []
        for i, e in enumerate(entries):
            try:
                keep.append(verdict(proc(e)))
            except Exception as exc:
                if not isinstance(exc, sandbox.SandboxRefusal):
                    traceback.print_exc(file=sys.stderr)
                keep.append(None)
                errors.append({"index": i, "error": describe(exc)})
        return {"keep": keep, "errors": errors} if errors else {"keep": keep}
    if plugin.type == "ai":
        # With an id, results stream as soon as the plugin produces them and end with done;
        # the bare form (no id) gets them all in one answer.
        collected = []

        def out(items):
            for item in items:
                if not isinstance(item, dict):
                    continue
                if rid is not None:
                    send({"id": rid, "status": 0, "stream": True, "result": item})
                else:
                    collected.append(item)

        if batch_fn and not single:
            out(as_results(batch_fn(entries)))
        else:
            for e in entries:
                out(as_results(proc(e)))
        return {"done": True} if rid is not None else {"results": collected}
    # sink (and anything else): status only
    if batch_fn and not single:
        rc = batch_fn(entries)
        if isinstance(rc, int) and not isinstance(rc, bool) and rc != 0:
            raise RuntimeError("plugin_process_batch returned %d" % rc)
        return {}
    for e in entries:
        rc = proc(e)
        if isinstance(rc, int) and not isinstance(rc, bool) and rc != 0:
            raise RuntimeError("plugin_process returned %d" % rc)
        if isinstance(rc, dict) and rc.get("status", 0) != 0:
            raise RuntimeError(str(rc.get("error", "status %s" % rc.get("status"))))
    return {}


CATALOGUE_CHUNK_BYTES = 256 * 1024  # each line well under the agent's 1 MiB bound


def handle_resolve(plugin, req, rid=None):
    version = sdk.catalogue_version()
    key = req.get("lang_key")
    if key is not None:
        f = plugin.fn("plugin_resolve")
        t = f(key, req.get("lang") or "en") if f else None
        return {"template": t if isinstance(t, str) else None, "version": version}
    since = req.get("since")
    if since == version:
        return {"version": version, "unchanged": True}
    f = plugin.fn("plugin_catalogue")
    cat = f() if f else {}
    templates = {}
    for lang, table in (cat or {}).items():
        if isinstance(table, dict):
            templates[str(lang)] = {str(k): v for k, v in table.items() if isinstance(v, str)}
    if rid is None:
        return {"version": version, "templates": templates}
    # Streamed in chunks, so that a large catalogue never makes a line over the bound.
    chunk, size = {}, 0
    for lang, table in templates.items():
        for k, v in table.items():
            chunk.setdefault(lang, {})[k] = v
            size += len(k) + len(v) * 3 + 8
            if size >= CATALOGUE_CHUNK_BYTES:
                send({"id": rid, "status": 0, "stream": True, "result": {"version": version, "templates": chunk}})
                chunk, size = {}, 0
    send({"id": rid, "status": 0, "stream": True, "result": {"version": version, "templates": chunk}})
    return {"done": True}


def serve(plugin, lines=None, translate=None):
    """Answers requests from `lines` (default stdin) until EOF or shutdown; True after shutdown."""
    for raw in sys.stdin.buffer if lines is None else lines:
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            continue
        rid = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("invalid input: request is not an object")
            if translate:
                req = translate(req)
            rid = req.get("id")
            op = req.get("op") or ("process" if ("entry" in req or "batch" in req) else None)
            if op == "process":
                body = handle_process(plugin, req, rid)
            elif op == "init":
                plugin.init(req.get("config") or {})
                body = {"protocol": PROTOCOL_VERSION}
            elif op == "info":
                body = {"info": plugin.info()}
            elif op == "resolve":
                body = handle_resolve(plugin, req, rid)
            elif op == "shutdown":
                plugin.shutdown()
                send(dict({"status": 0}, **({"id": rid} if rid is not None else {})))
                return True
            else:
                raise ValueError("unknown op %r" % (op,))
            answer = {"status": 0}
            answer.update(body)
        except sandbox.SandboxRefusal as e:
            answer = {"status": 1, "error": describe(e)}
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            answer = {"status": 1, "error": describe(e)}
        if rid is not None:
            answer["id"] = rid
        send(answer)
    return False


def load(spec):
    """Reads the plugin, applies rlimits, drops privileges, installs the sandbox, executes the
    plugin module. Returns (Plugin, user). Exits 3 (after a load_failed event) when it fails."""
    path = spec["plugin"]
    with open(path, "rb") as f:
        source = f.read()
    rl = spec.get("rlimits") or {}
    if rl:
        sandbox.apply_rlimits(rl.get("memory_max"), rl.get("pids_max"))
    state_dir = spec["state_dir"]
    # chdir first: the state dir's parents need not be searchable by the plugin user. Under the
    # launcher the agent already started us there, as the plugin user.
    try:
        os.chdir(state_dir)
    except PermissionError:
        pass
    user = sandbox.drop_privileges(spec.get("user") or "nobody")
    sandbox.no_new_privs()
    sdk.state_dir = state_dir
    sdk.name = spec.get("name")
    sdk.capability = list(spec.get("capability") or [])
    sdk._install_writer(send)
    # Everything the plugin prints goes to stderr: stdout belongs to the protocol.
    sys.stdout = sys.stderr
    # subprocess raises its audit event before fork_exec; a plugin calling fork_exec directly
    # would not, so the stub raises one itself.
    stub = types.ModuleType("_posixsubprocess")
    stub.fork_exec = lambda *a: sys.audit("subprocess.Popen", "_posixsubprocess.fork_exec", a[:1])
    sys.modules["_posixsubprocess"] = stub
    sandbox.install(
        state_dir,
        "network" in (spec.get("capability") or []),
        lambda event, detail: send({"event": "sandbox", "refused": event, "detail": detail[:200]}),
    )
    module = types.ModuleType(spec.get("name") or "plugin")
    module.__file__ = path
    sys.modules[module.__name__] = module
    # The verified copy (a directory descriptor under /proc/self/fd): sibling modules come from it.
    sys.path.append(spec.get("plugin_dir") or os.path.dirname(os.path.abspath(path)))
    try:
        exec(compile(source, path, "exec"), module.__dict__)
    except BaseException as e:  # the agent reports this as a load failure
        traceback.print_exc(file=sys.stderr)
        send({"event": "load_failed", "error": describe(e)})
        sys.exit(3)
    return Plugin(module, spec.get("type") or "filter"), user


def main():
    plugin, user = load(json.loads(sys.argv[1]))
    send({"event": "ready", "user": user, "pid": os.getpid()})
    serve(plugin)


if __name__ == "__main__":
    main()
