"""Logloom Python plugin SDK (stdlib only, Python 3.9+).

A plugin is a file defining the plugin functions::

    def plugin_init(config):        # or plugin_init() ; config = plugins.config.<name>
    def plugin_process(entry):      # entry is a dict (a copy: changing it changes nothing)
    def plugin_shutdown():
    def plugin_info():              # optional when a plugin.yaml sits next to the file

What plugin_process returns depends on the plugin type (the plain forms first):
  filter  {"status": 0} keeps the entry, {"status": 1, "error": "..."} is an error for it; the
          entry itself with changes (copy = dict(entry); copy["message"] = ...) is a replacement
          copy that continues in its place; also True/KEEP keeps, False/DROP drops, {"keep": bool}
  sink    {"status": 0} or anything; raise (or {"status": 1, ...}) to report a failure (retried)
  ai      {"status": 0, "summary": "..."} is one result; None or {"status": 0, "message": "ok"}
          reports nothing; also a result dict, a list of them, or a generator (streamed)
  lang    lang plugins define plugin_resolve(lang_key, lang) -> str | None instead, and
          optionally plugin_catalogue() -> {lang: {key: template}} for the agent's cache;
          call notify_changed() after the translations changed.
Optional: plugin_process_batch(entries) (a list: keep flags for filters, results for ai).

The runner (``python3 runner.py``) speaks docs/plugin-protocol.md on stdin/stdout; print() in a
plugin goes to stderr, which the agent logs tagged with the plugin name.
"""

import sys
import threading

KEEP = True
DROP = False

#: plugins.config.<name>, set before plugin_init runs
config = {}
#: the only directory this plugin may write to
state_dir = None
#: the plugin's name
name = None
#: capabilities granted by plugin.yaml (e.g. "network" lets the plugin open sockets)
capability = []

_writer = None
_version = [1]
_lock = threading.Lock()


def log(message):
    """Writes one line to the agent's log, tagged with the plugin name."""
    sys.stderr.write(str(message).replace("\n", " ") + "\n")
    sys.stderr.flush()


def catalogue_version():
    return _version[0]


def notify_changed():
    """Lang plugins: the translations changed; the agent refreshes its cache."""
    with _lock:
        _version[0] += 1
        v = _version[0]
    if _writer is not None:
        _writer({"event": "changed", "version": v})


def _install_writer(writer):
    global _writer
    _writer = writer
