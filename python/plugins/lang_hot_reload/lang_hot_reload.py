"""lang_hot_reload: translations served from a directory, reloaded on edit.

The directory holds one file per language, `<lang>.yaml`, `<lang>.yml` or `<lang>.json`, with the
same nested layout as Logloom's locales (keys joined with dots: `auth: {login: "..."}` is
`auth.login`). A watcher thread polls the files (size and mtime: works on every filesystem,
including the overlay and NFS mounts gateways use, without inotify); when one changes it reloads
that language and tells the agent (`notify_changed()`), which refreshes its cache, so the next
rendering uses the new text with no restart. The plugin's keys override the built-in catalogue;
keys it does not have fall through to it.

YAML is read with a small built-in parser (the SDK is stdlib only) that understands the subset
locale files use: nested mappings, plain, single- and double-quoted scalars, comments. A file
that does not parse is reported and the previous version of that language is kept.

REST path: the agent serves GET and PUT of catalogue keys on its HTTP endpoint
(`/lang/<lang>/<key>`, authenticated by the token in `token_file`) and persists every change to
the override file (`override_file`, default `<dir>/overrides.json`: `{lang: {key: template}}`).
This plugin watches that file beside the language files; its keys win over theirs.
"""

import json
import os
import re
import threading

import logloom_plugin as sdk

DEFAULTS = {"dir": "/etc/logloom/lang", "poll_ms": 300, "override_file": None, "token_file": None}
OVERRIDE_NAME = "overrides.json"  # in dir, unless override_file says otherwise (the agent uses the same default)
LANG_FILE = re.compile(r"^([A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?)\.(ya?ml|json)$")

tables = {}  # lang -> {key: template}
overrides = {}  # lang -> {key: template}, from the override file the agent's REST path writes
stamps = {}  # path -> (mtime_ns, size)
lock = threading.Lock()
stop = threading.Event()
cfg = dict(DEFAULTS)
dir_error = [None]  # the last error reading the directory, logged once per change


class YamlSubsetError(ValueError):
    pass


def _scalar(text, path, n):
    text = text.strip()
    if not text:
        return None
    if text[0] == '"':
        end = _closing(text, '"')
        if end < 0:
            raise YamlSubsetError("%s:%d: unterminated double-quoted string" % (path, n))
        try:
            return json.loads(text[: end + 1])
        except ValueError as e:
            raise YamlSubsetError("%s:%d: %s" % (path, n, e))
    if text[0] == "'":
        i, out = 1, []
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out)
            out.append(text[i])
            i += 1
        raise YamlSubsetError("%s:%d: unterminated single-quoted string" % (path, n))
    hash_at = text.find(" #")
    return (text[:hash_at] if hash_at >= 0 else text).strip()


def _closing(text, q):
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == q:
            return i
        i += 1
    return -1


def parse_yaml_subset(source, path="<yaml>"):
    root = {}
    stack = [(-1, root)]
    for n, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        indent = len(line) - len(line.lstrip(" "))
        if "\t" in line[:indent]:
            raise YamlSubsetError("%s:%d: tabs are not allowed for indentation" % (path, n))
        m = re.match(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:#]+?)\s*:(?:\s+(.*))?$""", stripped)
        if not m:
            raise YamlSubsetError("%s:%d: expected `key: value`" % (path, n))
        key = _scalar(m.group(1), path, n)
        while stack and indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        rest = m.group(2)
        if rest is None or rest.strip() == "" or rest.strip().startswith("#"):
            child = {}
            parent[key] = child
            stack.append((indent, child))
        else:
            parent[key] = _scalar(rest, path, n)
    return root


def flatten(obj, prefix, out):
    for k, v in obj.items():
        key = "%s.%s" % (prefix, k) if prefix else str(k)
        if isinstance(v, dict):
            flatten(v, key, out)
        elif isinstance(v, str):
            out[key] = v
        elif v is not None:
            out[key] = str(v)
    return out


def load(path):
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        doc = json.loads(text)
    else:
        try:
            import yaml  # PyYAML, when the system has it
            doc = yaml.safe_load(text)
        except ImportError:
            doc = parse_yaml_subset(text, os.path.basename(path))
    if not isinstance(doc, dict):
        raise ValueError("%s: top level is not a mapping" % os.path.basename(path))
    return flatten(doc, "", {})


def scan():
    """Reloads changed files; returns True when something changed."""
    changed = False
    try:
        names = sorted(os.listdir(cfg["dir"]))
    except OSError as e:
        # The directory may appear later (a provisioning step): say so once, keep watching.
        if dir_error[0] != e.errno:
            dir_error[0] = e.errno
            sdk.log("cannot read %s (%s); serving no translations until it appears" % (cfg["dir"], e.strerror))
        names = []
    else:
        dir_error[0] = None
    present = set()
    for name in names:
        m = LANG_FILE.match(name)
        if not m:
            continue
        path = os.path.join(cfg["dir"], name)
        try:
            st = os.stat(path)
        except OSError:
            continue
        present.add(path)
        stamp = (st.st_mtime_ns, st.st_size)
        if stamps.get(path) == stamp:
            continue
        stamps[path] = stamp
        try:
            table = load(path)
        except Exception as e:
            sdk.log("kept the previous %s translations: %s: %s" % (m.group(1), type(e).__name__, e))
            continue
        with lock:
            tables[m.group(1)] = table
        sdk.log("loaded %d %s translations from %s" % (len(table), m.group(1), name))
        changed = True
    if scan_overrides():
        changed = True
    present.add(override_path())
    for path in list(stamps):
        if path not in present:
            del stamps[path]
            lang = LANG_FILE.match(os.path.basename(path)).group(1)
            with lock:
                tables.pop(lang, None)
            changed = True
    return changed


def override_path():
    return cfg["override_file"] or os.path.join(cfg["dir"], OVERRIDE_NAME)


def scan_overrides():
    """Reloads the override file when it changed; True when it did."""
    path = override_path()
    try:
        st = os.stat(path)
    except OSError:
        if path in stamps or overrides:
            stamps.pop(path, None)
            with lock:
                overrides.clear()
            return True
        return False
    stamp = (st.st_mtime_ns, st.st_size)
    if stamps.get(path) == stamp:
        return False
    stamps[path] = stamp
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
        if not isinstance(doc, dict) or not all(isinstance(t, dict) for t in doc.values()):
            raise ValueError("top level is not {lang: {key: template}}")
    except Exception as e:
        sdk.log("kept the previous overrides: %s: %s" % (type(e).__name__, e))
        return False
    with lock:
        overrides.clear()
        for lang, table in doc.items():
            overrides[str(lang)] = {str(k): v for k, v in table.items() if isinstance(v, str)}
    sdk.log("loaded %d overrides from %s" % (sum(len(t) for t in overrides.values()), os.path.basename(path)))
    return True


def watch():
    while not stop.wait(cfg["poll_ms"] / 1000.0):
        if scan():
            sdk.notify_changed()


def plugin_info():
    return {"name": "lang_hot_reload", "version": "1.1.0", "author": "Logloom Team", "type": "lang",
            "capability": ["yaml", "json", "hot_reload", "rest"], "mode": "sync"}


def plugin_init(config):
    cfg.update(DEFAULTS)
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
    cfg.update(config)
    if not isinstance(cfg["dir"], str) or not cfg["dir"]:
        raise ValueError("config dir must be a directory path (of <lang>.yaml / <lang>.json files)")
    if cfg["override_file"] is not None and not (isinstance(cfg["override_file"], str) and cfg["override_file"]):
        raise ValueError("config override_file must be a file path")
    scan()
    threading.Thread(target=watch, name="lang_hot_reload-watch", daemon=True).start()


def plugin_resolve(lang_key, lang):
    with lock:
        t = overrides.get(lang, {}).get(lang_key)
        return t if t is not None else tables.get(lang, {}).get(lang_key)


def plugin_catalogue():
    with lock:
        out = {lang: dict(t) for lang, t in tables.items()}
        for lang, t in overrides.items():
            out.setdefault(lang, {}).update(t)
        return out


def plugin_shutdown():
    stop.set()
