"""log_summary_ai: summaries and anomalies from a sliding window of entries.

Works locally, with no model: message templates are mined with a Drain-style parse tree
(He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017): messages
are split into tokens, grouped by token count and leading token, and merged into the most similar
template in that group, the positions that differ becoming wildcards <*>. Over a sliding window
(in entry time, so replays and tests behave like live traffic) it reports:

  burst       one template (at WARN or above) repeated with the same value in one variable
              field, far more often than the field's other values (at least burst_threshold
              times and burst_factor times the mean per distinct value), e.g.
              "Multiple auth failures from IP 192.168.0.5" among failures from scattered IPs
  new         a template never seen before, at WARN or above (after a warm-up)
  error_spike the ERROR count of the current bucket far above the window's usual rate

Results are streamed back as they are found and become entries with module AI and lang keys
ai.* (locales/*.yaml), so the aggregator can render them in any language.

Optional backend: with `backend_url` set to an OpenAI-compatible chat-completions endpoint AND
the `network` capability granted in plugin.yaml, each anomaly also sends the window's recent
lines to the model and streams its one-sentence summary (key ai.llm_summary). Without the
capability the sandbox refuses the connection; the plugin then says so once and stays local.
"""

import collections
import datetime
import json
import re

import logloom_plugin as sdk

DEFAULTS = {
    "window_seconds": 60,
    "window_entries": 2000,
    "burst_threshold": 5,
    "burst_factor": 4.0,
    "burst_min_level": "WARN",
    "similarity": 0.5,
    "max_children": 100,
    "warmup_entries": 50,
    "spike_bucket_seconds": 10,
    "spike_factor": 4.0,
    "spike_min_errors": 10,
    "backend_url": None,
    "backend_model": "gpt-4o-mini",
    "backend_api_key": None,
    "backend_timeout_seconds": 3.0,
    "backend_lines": 50,
}
LEVELS = {"DEBUG": 0, "INFO": 1, "WARN": 2, "ERROR": 3, "FATAL": 4}
WILDCARD = "<*>"
IPV4 = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$")
HAS_DIGIT = re.compile(r"\d")
AUTH = re.compile(r"auth|login|logon|password|credential|sign.?in", re.I)
FAILURE = re.compile(r"fail|invalid|denied|refused|rejected|wrong|bad", re.I)

cfg = dict(DEFAULTS)


class Cluster:
    __slots__ = ("id", "tokens", "seen", "level")

    def __init__(self, cid, tokens, level):
        self.id = cid
        self.tokens = list(tokens)
        self.seen = 0
        self.level = level

    @property
    def template(self):
        return " ".join(self.tokens)


class Drain:
    """A fixed-depth parse tree: length -> first token -> clusters."""

    def __init__(self, similarity, max_children):
        self.similarity = similarity
        self.max_children = max_children
        self.root = {}
        self.count = 0

    @staticmethod
    def tokens(message):
        # Tokens with digits (ids, IPs, ports, counts) are variables from the start, as in Drain.
        return [WILDCARD if HAS_DIGIT.search(t) else t for t in message.split()], message.split()

    def add(self, message, level):
        """Returns (cluster, values at its wildcard positions, created?)."""
        masked, raw = self.tokens(message)
        if not masked:
            return None, [], False
        first = masked[0] if masked[0] != WILDCARD else WILDCARD
        by_len = self.root.setdefault(len(masked), {})
        if first not in by_len and len(by_len) >= self.max_children:
            first = WILDCARD
        group = by_len.setdefault(first, [])
        best, best_sim = None, -1.0
        for c in group:
            same = sum(1 for a, b in zip(c.tokens, masked) if a == b and a != WILDCARD)
            consts = sum(1 for a in c.tokens if a != WILDCARD) or 1
            sim = same / max(consts, 1)
            if sim > best_sim:
                best, best_sim = c, sim
        created = False
        if best is None or best_sim < self.similarity:
            self.count += 1
            best = Cluster(self.count, masked, level)
            group.append(best)
            created = True
        else:
            best.tokens = [a if a == b else WILDCARD for a, b in zip(best.tokens, masked)]
        best.seen += 1
        values = [(i, raw[i]) for i, t in enumerate(best.tokens) if t == WILDCARD]
        return best, values, created


def parse_time(ts):
    if not isinstance(ts, str):
        return None
    try:
        return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Analyser:
    def __init__(self, c):
        self.c = c
        self.drain = Drain(c["similarity"], c["max_children"])
        self.window = collections.deque()  # (t, cluster_id, values, level, message)
        self.counts = {}  # (cluster_id, position) -> Counter(value -> n in window)
        self.reported = {}  # key -> time last reported
        self.entries = 0
        self.error_buckets = collections.OrderedDict()  # bucket start -> ERROR count
        self.spike_reported = set()
        self.backend_ok = bool(c.get("backend_url"))
        self.last_t = 0.0

    def expire(self, now):
        horizon = now - self.c["window_seconds"]
        while self.window and (self.window[0][0] < horizon or len(self.window) > self.c["window_entries"]):
            _, cid, values, _, _ = self.window.popleft()
            for pos, val in values:
                field = self.counts.get((cid, pos))
                if field is None:
                    continue
                field[val] -= 1
                if field[val] <= 0:
                    del field[val]
        for key, t in list(self.reported.items()):
            if t < horizon:
                del self.reported[key]

    def analyse(self, entry):
        msg = entry.get("message") or ""
        level = entry.get("level") or "INFO"
        now = parse_time(entry.get("timestamp")) or self.last_t
        self.last_t = max(self.last_t, now)
        self.entries += 1
        self.expire(now)
        cluster, values, created = self.drain.add(msg, level)
        if cluster is None:
            return
        self.window.append((now, cluster.id, values, level, msg))
        for pos, val in values:
            self.counts.setdefault((cluster.id, pos), collections.Counter())[val] += 1
        if created and LEVELS.get(level, 1) >= LEVELS["WARN"] and self.entries > self.c["warmup_entries"]:
            yield {
                "level": "WARN",
                "message": 'New %s message pattern: "%s"' % (level, cluster.template),
                "lang_key": "ai.new_template",
                "args": [level, cluster.template[:200]],
                "fields": {"kind": "new_template", "template": cluster.template[:500]},
            }
        if LEVELS.get(level, 1) >= LEVELS.get(self.c["burst_min_level"], 2):
            for pos, val in values:
                field = self.counts[(cluster.id, pos)]
                n = field[val]
                if n < self.c["burst_threshold"]:
                    continue
                mean = sum(field.values()) / len(field)  # per distinct value, this one included
                others = (sum(field.values()) - n) / max(len(field) - 1, 1)
                key = ("burst", cluster.id, pos, val)
                if n >= self.c["burst_factor"] * max(others, 1.0) and n > mean and key not in self.reported:
                    self.reported[key] = now
                    yield self.burst(cluster, val, n)
        if level in ("ERROR", "FATAL"):
            for r in self.spike(now):
                yield r

    def burst(self, cluster, value, n):
        template = cluster.template
        fields = {"kind": "burst", "template": template[:500], "value": value[:200], "count": n,
                  "window_s": self.c["window_seconds"]}
        if AUTH.search(template) and FAILURE.search(template) and IPV4.match(value):
            return {"level": "WARN", "message": "Multiple auth failures from IP %s" % value,
                    "lang_key": "ai.auth_failures", "args": [value], "fields": fields}
        return {"level": "WARN",
                "message": 'Burst of %d similar messages: "%s" (%s)' % (n, template[:200], value[:100]),
                "lang_key": "ai.burst", "args": [n, template[:200], value[:100]], "fields": fields}

    def spike(self, now):
        size = self.c["spike_bucket_seconds"]
        bucket = int(now // size) * size
        self.error_buckets[bucket] = self.error_buckets.get(bucket, 0) + 1
        horizon = now - self.c["window_seconds"]
        for b in list(self.error_buckets):
            if b < horizon - size:
                del self.error_buckets[b]
        # Usual rate: the mean over the window's buckets before this one (empty ones count as 0).
        past = int(max(self.c["window_seconds"] // size - 1, 1))
        usual = sum(v for b, v in self.error_buckets.items() if b < bucket) / past
        n = self.error_buckets[bucket]
        if n >= self.c["spike_min_errors"] and n >= self.c["spike_factor"] * max(usual, 0.5) and bucket not in self.spike_reported:
            self.spike_reported.add(bucket)
            yield {"level": "ERROR",
                   "message": "ERROR rate spike: %d errors in %ds (usual %.1f)" % (n, size, usual),
                   "lang_key": "ai.error_spike", "args": [n, size, "%.1f" % usual],
                   "fields": {"kind": "error_spike", "count": n, "usual": round(usual, 2)}}

    def summarise(self):
        """Asks the configured model for a one-sentence summary of the recent window."""
        import urllib.request
        lines = ["%s %s" % (lvl, m) for _, _, _, lvl, m in list(self.window)[-self.c["backend_lines"]:]]
        body = json.dumps({
            "model": self.c["backend_model"],
            "messages": [
                {"role": "system", "content": "You summarise IoT gateway logs in one short sentence for an operator."},
                {"role": "user", "content": "\n".join(lines)},
            ],
        }).encode()
        headers = {"Content-Type": "application/json"}
        if self.c.get("backend_api_key"):
            headers["Authorization"] = "Bearer %s" % self.c["backend_api_key"]
        req = urllib.request.Request(self.c["backend_url"], data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.c["backend_timeout_seconds"]) as resp:
            answer = json.loads(resp.read(1024 * 1024))
        text = str(answer["choices"][0]["message"]["content"]).strip().replace("\n", " ")[:2000]
        return {"level": "INFO", "message": "Summary: %s" % text, "lang_key": "ai.llm_summary", "args": [text],
                "fields": {"kind": "llm_summary"}}


analyser = None


def plugin_info():
    return {"name": "log_summary_ai", "version": "1.0.0", "author": "Logloom Team", "type": "ai",
            "capability": ["drain", "window", "stream"], "mode": "async"}


def plugin_init(config):
    global analyser, cfg
    cfg = dict(DEFAULTS)
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError("unknown config keys: %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(DEFAULTS))))
    cfg.update(config)
    analyser = Analyser(cfg)
    if cfg["backend_url"] and "network" not in sdk.capability:
        sdk.log("backend_url is set but plugin.yaml does not grant the 'network' capability: working locally")
        analyser.backend_ok = False


def plugin_process(entry):
    found = False
    for result in analyser.analyse(entry):
        found = True
        yield result
    if found and analyser.backend_ok:
        try:
            yield analyser.summarise()
        except Exception as e:  # the model is optional: say why once in a while, stay local
            sdk.log("backend %s failed: %s: %s" % (cfg["backend_url"], type(e).__name__, e))


def plugin_shutdown():
    pass
