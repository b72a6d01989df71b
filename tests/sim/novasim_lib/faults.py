"""Fault injection, decided per request from the route name.

Configuration (scenario "faults", POST /control/faults to merge,
DELETE /control/faults to clear):

  {"seed": 1,
   "latency_ms": 0, "jitter_ms": 0,      # every request
   "stall_s": 30,                        # how long a stalled request hangs
   "routes": {"compute.server.evacuate": {"latency_ms": 100,
                                          "http_rate": 0.2, "http_status": 503,
                                          "drop_rate": 0, "drop_after_rate": 0,
                                          "stall_rate": 0, "malformed_rate": 0,
                                          "truncate_rate": 0},
              "*": {...}},
   "fail_next": [{"route": "compute.servers.list", "kind": "http",
                  "status": 500, "count": 2}]}

Kinds and whether the request takes effect:
  http        an HTTP error with a Nova/Keystone error body; NOT executed
  drop        the connection is closed without an answer; NOT executed
  stall       no answer for stall_s, then closed; NOT executed
  drop_after  executed, then the connection is closed unanswered
  malformed   executed, the answer body is not JSON
  truncate    executed, the answer body is cut in half

Route names are listed by GET /control/routes.
"""

import copy
import random
import threading

KINDS = ("http", "drop", "stall", "drop_after", "malformed", "truncate")
BEFORE = frozenset(("http", "drop", "stall"))
_ROUTE_KEYS = {"latency_ms", "jitter_ms", "http_status"} | {k + "_rate" for k in KINDS}


class Decision:
    __slots__ = ("latency_s", "kind", "status")

    def __init__(self):
        self.latency_s = 0.0
        self.kind = None
        self.status = 500

    @property
    def before(self):
        return self.kind in BEFORE


def validate(cfg):
    if not isinstance(cfg, dict):
        raise ValueError("faults: must be a JSON object")
    unknown = set(cfg) - {"seed", "latency_ms", "jitter_ms", "stall_s", "routes", "fail_next"}
    if unknown:
        raise ValueError("faults: unknown settings %s" % ", ".join(sorted(unknown)))
    for route, rcfg in cfg.get("routes", {}).items():
        if not isinstance(rcfg, dict):
            raise ValueError("faults.routes[%s]: must be an object" % route)
        bad = set(rcfg) - _ROUTE_KEYS
        if bad:
            raise ValueError("faults.routes[%s]: unknown keys %s" % (route, ", ".join(sorted(bad))))
    for rule in cfg.get("fail_next", []):
        if not isinstance(rule, dict) or "route" not in rule:
            raise ValueError("faults.fail_next: each rule needs a route")
        if rule.get("kind", "http") not in KINDS:
            raise ValueError("faults.fail_next: unknown kind %r" % rule.get("kind"))


class Injector:
    def __init__(self, cfg=None):
        self._lock = threading.Lock()
        self._cfg = {}
        self._rng = random.Random(0)
        self.set(cfg or {}, merge=False)

    def set(self, cfg, merge=True):
        cfg = copy.deepcopy(cfg or {})
        validate(cfg)
        with self._lock:
            new = copy.deepcopy(self._cfg) if merge else {}
            for key, value in cfg.items():
                if key == "routes":
                    routes = new.setdefault("routes", {})
                    for route, rcfg in value.items():
                        routes.setdefault(route, {}).update(rcfg)
                elif key == "fail_next":
                    new.setdefault("fail_next", []).extend(value)
                else:
                    new[key] = value
            for rule in new.get("fail_next", []):
                rule.setdefault("count", 1)
                rule.setdefault("kind", "http")
            self._cfg = new
            if "seed" in cfg:
                self._rng = random.Random(cfg["seed"])

    def get(self):
        with self._lock:
            return copy.deepcopy(self._cfg)

    @property
    def stall_s(self):
        with self._lock:
            return float(self._cfg.get("stall_s", 30))

    def decide(self, route):
        d = Decision()
        with self._lock:
            cfg = self._cfg
            rcfg = dict(cfg.get("routes", {}).get("*", {}))
            rcfg.update(cfg.get("routes", {}).get(route, {}))
            ms = float(cfg.get("latency_ms", 0)) + float(rcfg.get("latency_ms", 0))
            jitter = float(cfg.get("jitter_ms", 0)) + float(rcfg.get("jitter_ms", 0))
            if jitter > 0:
                ms += self._rng.uniform(0, jitter)
            d.latency_s = ms / 1000.0
            for rule in cfg.get("fail_next", []):
                if rule["count"] > 0 and rule["route"] in (route, "*"):
                    rule["count"] -= 1
                    d.kind = rule["kind"]
                    d.status = int(rule.get("status", 500))
                    break
            else:
                for kind in KINDS:
                    rate = float(rcfg.get(kind + "_rate", 0))
                    if rate > 0 and self._rng.random() < rate:
                        d.kind = kind
                        d.status = int(rcfg.get("http_status", 500))
                        break
            cfg["fail_next"] = [r for r in cfg.get("fail_next", []) if r["count"] > 0]
        return d
