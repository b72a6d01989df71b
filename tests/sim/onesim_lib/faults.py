"""Run-time fault injection for the XML-RPC endpoint.

Configuration (scenario "faults" or POST /control/faults):

  {
    "seed": 7,                       # deterministic decisions
    "latency_ms": 20,                # every call
    "jitter_ms": 0,                  # + uniform [0, jitter)
    "stall_s": 30,                   # how long a stalled call is held
    "methods": {                     # per method; "*" = every method
      "one.vm.recover": {"latency_ms": 50, "error_rate": 0.1,
                         "error_code": 8192, "error_message": "...",
                         "drop_rate": 0, "drop_after_rate": 0,
                         "http_rate": 0, "http_status": 503,
                         "truncate_rate": 0, "malformed_rate": 0,
                         "stall_rate": 0, "fault_rate": 0, "fault_code": -501}
    },
    "fail_next": [{"method": "one.vm.recover", "count": 3, "kind": "error",
                   "code": 8192, "message": "...", "http_status": 503}],
    "driver": {"boot": {"fail_next": 1, "rate": 0.0}, ...}
  }

Kinds, and when they apply relative to executing the call:
  error       failure envelope, call NOT executed (default code INTERNAL)
  fault       XML-RPC <fault>, call NOT executed
  http        HTTP error status (500/503), call NOT executed
  drop        connection closed without an answer, call NOT executed
  stall       connection held open without an answer for stall_s, then
              closed; call NOT executed
  drop_after  call executed, then the connection is closed unanswered
              (the client cannot know the outcome)
  truncate    call executed, the response body is cut in half
  malformed   call executed, the response is not well-formed XML

"driver" injects failures into simulated driver steps (prolog, boot, save,
migrate, shutdown, epilog, cleanup): the VM then enters the matching
*_FAILURE state, as with OpenNebula's dummy driver scripted to fail.
"""

import collections
import copy
import random
import threading

KINDS = ("error", "fault", "http", "drop", "stall", "drop_after", "truncate", "malformed")
BEFORE = frozenset(("error", "fault", "http", "drop", "stall"))
DRIVER_STEPS = ("prolog", "boot", "save", "migrate", "shutdown", "epilog", "cleanup")


class Decision:
    __slots__ = ("latency_s", "kind", "params")

    def __init__(self, latency_s=0.0, kind=None, params=None):
        self.latency_s = latency_s
        self.kind = kind
        self.params = params or {}

    @property
    def before(self):
        return self.kind in BEFORE


class FaultInjector:
    def __init__(self, config=None, seed=None):
        self._lock = threading.Lock()
        self._config = {}
        self._rng = random.Random(seed)
        self.applied = collections.deque(maxlen=10000)   # (method, kind), newest last
        self.set(config or {}, merge=False)

    # ------------------------------------------------------------------
    def set(self, config, merge=True):
        """Replace (merge=False) or update the configuration."""
        config = copy.deepcopy(config or {})
        _validate(config)
        with self._lock:
            if merge:
                new = copy.deepcopy(self._config)
                for key, value in config.items():
                    if key == "methods":
                        methods = new.setdefault("methods", {})
                        for m, mcfg in value.items():
                            methods.setdefault(m, {}).update(mcfg)
                    elif key == "fail_next":
                        new.setdefault("fail_next", []).extend(value)
                    elif key == "driver":
                        drv = new.setdefault("driver", {})
                        for step, dcfg in value.items():
                            drv.setdefault(step, {}).update(dcfg)
                    else:
                        new[key] = value
            else:
                new = config
            for rule in new.get("fail_next", []):
                rule.setdefault("count", 1)
                rule.setdefault("kind", "error")
            self._config = new
            if "seed" in config:
                self._rng = random.Random(config["seed"])

    def get(self):
        with self._lock:
            return copy.deepcopy(self._config)

    def clear(self):
        self.set({}, merge=False)

    @property
    def stall_s(self):
        with self._lock:
            return float(self._config.get("stall_s", 30))

    # ------------------------------------------------------------------
    def decide(self, method):
        """Latency and (at most) one fault for this call."""
        with self._lock:
            cfg = self._config
            methods = cfg.get("methods", {})
            mcfg = dict(methods.get("*", {}))
            mcfg.update(methods.get(method, {}))
            latency_ms = float(cfg.get("latency_ms", 0)) + float(mcfg.get("latency_ms", 0))
            jitter = float(cfg.get("jitter_ms", 0)) + float(mcfg.get("jitter_ms", 0))
            if jitter > 0:
                latency_ms += self._rng.uniform(0, jitter)
            decision = Decision(latency_ms / 1000.0)

            for rule in cfg.get("fail_next", []):
                if rule["count"] > 0 and rule.get("method", "*") in (method, "*"):
                    rule["count"] -= 1
                    decision.kind = rule["kind"]
                    decision.params = rule
                    break
            else:
                for kind in KINDS:
                    rate = float(mcfg.get(kind + "_rate", 0))
                    if rate > 0 and self._rng.random() < rate:
                        decision.kind = kind
                        decision.params = mcfg
                        break
            cfg["fail_next"] = [r for r in cfg.get("fail_next", []) if r["count"] > 0]
            if decision.kind:
                self.applied.append((method, decision.kind))
            return decision

    def driver_fails(self, step):
        """Should this simulated driver step fail?"""
        with self._lock:
            dcfg = self._config.get("driver", {}).get(step)
            if not dcfg:
                return False
            if dcfg.get("fail_next", 0) > 0:
                dcfg["fail_next"] -= 1
                return True
            rate = float(dcfg.get("rate", 0))
            return rate > 0 and self._rng.random() < rate


def _validate(config):
    if not isinstance(config, dict):
        raise ValueError("faults must be a JSON object")
    known = {"seed", "latency_ms", "jitter_ms", "stall_s", "methods", "fail_next", "driver"}
    unknown = set(config) - known
    if unknown:
        raise ValueError("unknown fault settings: %s" % ", ".join(sorted(unknown)))
    for method, mcfg in config.get("methods", {}).items():
        if not isinstance(mcfg, dict):
            raise ValueError("faults.methods[%s] must be an object" % method)
        for key in mcfg:
            base = key[:-5] if key.endswith("_rate") else None
            if base is not None and base not in KINDS:
                raise ValueError("unknown fault kind in %s.%s" % (method, key))
            if base is None and key not in ("latency_ms", "jitter_ms", "error_code",
                                             "error_message", "http_status",
                                             "fault_code", "fault_message"):
                raise ValueError("unknown setting %s.%s" % (method, key))
    for rule in config.get("fail_next", []):
        if not isinstance(rule, dict) or "method" not in rule:
            raise ValueError("fail_next entries need a method")
        if rule.get("kind", "error") not in KINDS:
            raise ValueError("unknown fault kind %r" % rule.get("kind"))
    for step in config.get("driver", {}):
        if step not in DRIVER_STEPS:
            raise ValueError("unknown driver step %r (one of %s)" % (step, ", ".join(DRIVER_STEPS)))
