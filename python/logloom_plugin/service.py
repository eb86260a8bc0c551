"""Runs a Python plugin as a socket service: the same plugin file and
SDK as a child plugin, but listening on a Unix socket or TCP port for the agent to connect to,
e.g. in its own container or under its own systemd unit with its own limits.

    python3 python/logloom_plugin/service.py --listen unix:/run/logloom/plugins/filter_x.sock \\
        --type filter --state-dir /var/lib/filter_x [--protocol jsonrpc] [--user nobody] plugin.py

The socket is created before the sandbox is installed (Unix sockets 0660); connections are then
accepted without creating socket objects, so the plugin itself still gets no network unless
--capability network is given. One agent connection is served at a time; `shutdown` ends that
connection, not the service. The agent side is the socket host (docs/plugin-protocol.md §10).
"""

import argparse
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from logloom_plugin import runner  # noqa: E402


def listen(address):
    if address.startswith("unix:"):
        path = address[5:]
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o117)
        try:
            srv.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o660)
    elif address.startswith("tcp:"):
        host, port = address[4:].rsplit(":", 1)
        srv = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host.strip("[]"), int(port)))
    else:
        raise SystemExit("--listen must be unix:PATH or tcp:HOST:PORT")
    srv.listen(4)
    return srv


def jsonrpc_in(req):
    if req.get("jsonrpc") != "2.0":
        raise ValueError("invalid input: not a JSON-RPC 2.0 request")
    params = req.get("params") or {}
    return dict(params, id=req.get("id"), op=req.get("method"))


def jsonrpc_out(obj):
    obj = dict(obj)
    if "event" in obj and "status" not in obj:
        return {"jsonrpc": "2.0", "method": obj.pop("event"), "params": obj}
    rid = obj.pop("id", None)
    status = obj.pop("status", 0)
    if status != 0:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": status, "message": obj.get("error", "error")}}
    return {"jsonrpc": "2.0", "id": rid, "result": obj}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plugin")
    ap.add_argument("--listen", required=True)
    ap.add_argument("--protocol", choices=["line", "jsonrpc"], default="line")
    ap.add_argument("--type", choices=["filter", "sink", "ai", "lang"], required=True)
    ap.add_argument("--name")
    ap.add_argument("--state-dir", default=".")
    ap.add_argument("--user", default="nobody")
    ap.add_argument("--capability", action="append", default=[])
    args = ap.parse_args()
    srv = listen(args.listen)
    bound = args.listen
    if args.listen.startswith("tcp:"):  # tcp:HOST:0 picks a free port: say which
        bound = "tcp:%s:%d" % (args.listen[4:].rsplit(":", 1)[0], srv.getsockname()[1])
    print("listening on %s" % bound, flush=True)
    name = args.name or os.path.splitext(os.path.basename(args.plugin))[0]
    os.makedirs(args.state_dir, exist_ok=True)
    plugin, user = runner.load({"plugin": os.path.abspath(args.plugin), "name": name, "type": args.type,
                                "state_dir": os.path.abspath(args.state_dir), "user": args.user, "capability": args.capability})
    sys.stderr.write("%s serving as %s\n" % (name, user))
    while True:
        fd, _ = srv._accept()  # a raw fd: no socket object, so the sandbox's network rule holds
        reader = os.fdopen(fd, "rb")
        writer = os.fdopen(os.dup(fd), "wb")

        def emit(obj, writer=writer):
            if args.protocol == "jsonrpc":
                obj = jsonrpc_out(obj)
            writer.write((json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str) + "\n").encode())
            writer.flush()

        runner.set_emitter(emit)
        try:
            runner.serve(plugin, reader, jsonrpc_in if args.protocol == "jsonrpc" else None)
        except OSError as e:
            sys.stderr.write("connection ended: %s\n" % e)
        finally:
            runner.set_emitter(lambda obj: None)
            for f in (reader, writer):
                try:
                    f.close()
                except OSError:
                    pass


if __name__ == "__main__":
    main()
