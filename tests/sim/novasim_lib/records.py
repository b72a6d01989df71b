"""What tests read back: the ledger of mutating calls, per-route counters
and the simulation's event log. Kept in memory (served by the control API)
and, with a state directory, appended as JSON lines to ledger.jsonl and
events.jsonl so they survive the simulator."""

import collections
import json
import os
import threading
import time


class _Jsonl:
    def __init__(self, path):
        self._fh = open(path, "a", encoding="utf-8") if path else None
        self._lock = threading.Lock()

    def write(self, rec):
        if self._fh is None:
            return
        with self._lock:
            self._fh.write(json.dumps(rec, sort_keys=True, default=str) + "\n")
            self._fh.flush()

    def close(self):
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class Journal:
    """A sequence of dict records with a monotonically increasing seq."""

    def __init__(self, path=None, limit=100000):
        self._lock = threading.Lock()
        self._items = collections.deque(maxlen=limit)
        self._seq = 0
        self._sink = _Jsonl(path)

    def add(self, rec):
        rec.setdefault("time", time.time())
        with self._lock:
            self._seq += 1
            rec["seq"] = self._seq
            self._items.append(rec)
        self._sink.write(rec)
        return rec

    def list(self, since=0, **match):
        with self._lock:
            out = [r for r in self._items if r["seq"] > since]
        for key, value in match.items():
            if value is not None:
                out = [r for r in out if r.get(key) == value]
        return out

    def clear(self):
        with self._lock:
            self._items.clear()

    def close(self):
        self._sink.close()


class Ledger(Journal):
    """Every mutating API call, in completion order:
    {seq, time, route, method, path, server, host, body, status, ok,
     request_id, delivered, note}. `delivered` is false when a fault
    dropped or garbled the answer after the call took effect."""


class Events(Journal):
    """State changes inside the simulation (evacuation steps, host failures,
    faults applied), for debugging and for ordering checks."""

    def emit(self, kind, **fields):
        fields["kind"] = kind
        return self.add(fields)


class Counters:
    """Requests received per route (whatever their outcome) and per
    route + outcome."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.by_route = collections.Counter()
            self.by_outcome = collections.Counter()
            self.since = time.time()

    def count(self, route):
        with self._lock:
            self.by_route[route] += 1

    def outcome(self, route, outcome):
        with self._lock:
            self.by_outcome["%s %s" % (route, outcome)] += 1

    def snapshot(self):
        with self._lock:
            return {"total": sum(self.by_route.values()),
                    "by_route": dict(sorted(self.by_route.items())),
                    "by_outcome": dict(sorted(self.by_outcome.items())),
                    "since": self.since}
