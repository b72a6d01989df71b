"""Records tests read back: the ledger of mutating calls, per-method call
counters and the simulation event log.

Everything is kept in memory (the control API serves it) and, when a state
directory is given, appended as JSON lines to ledger.jsonl / events.jsonl so
a test can also read the files after onesim has exited.
"""

import collections
import json
import os
import threading
import time


class JsonlSink:
    """Append-only JSON-lines file.  The ledger flushes every record (a test
    may read the file while onesim runs); the high-volume event log is
    flushed by the monitoring timer and at shutdown."""

    def __init__(self, path, flush_each=True):
        self.path = path
        self._fh = open(path, "a", encoding="utf-8") if path else None
        self._lock = threading.Lock()
        self._flush_each = flush_each

    def write(self, record):
        if self._fh is None:
            return
        line = json.dumps(record, sort_keys=True, default=str)
        with self._lock:
            if self._fh is None:
                return
            self._fh.write(line + "\n")
            if self._flush_each:
                self._fh.flush()

    def flush(self):
        with self._lock:
            if self._fh is not None:
                self._fh.flush()

    def close(self):
        if self._fh is not None:
            with self._lock:
                self._fh.close()
                self._fh = None


class Ledger:
    """Every mutating XML-RPC call, in completion order:

    {"seq", "time", "method", "params", "user", "ok", "code", "code_name",
     "message", "result", "delivered", "safety"}
    """

    def __init__(self, state_dir=None):
        self._lock = threading.Lock()
        self._records = []
        self._seq = 0
        self._sink = JsonlSink(os.path.join(state_dir, "ledger.jsonl") if state_dir else None)

    def append(self, record):
        with self._lock:
            self._seq += 1
            record["seq"] = self._seq
            self._records.append(record)
        self._sink.write(record)
        return record

    def records(self, since=0, method=None):
        with self._lock:
            out = [r for r in self._records if r["seq"] > since]
        if method:
            out = [r for r in out if r["method"] == method]
        return out

    def clear(self):
        with self._lock:
            self._records = []

    def close(self):
        self._sink.close()


class Counters:
    """Calls received per method (every call that reached /RPC2, whatever
    its outcome) plus a breakdown by outcome."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.by_method = collections.Counter()
            self.by_outcome = collections.Counter()
            self.since = time.time()

    def count(self, method):
        with self._lock:
            self.by_method[method] += 1

    def outcome(self, method, outcome):
        with self._lock:
            self.by_outcome["%s %s" % (method, outcome)] += 1

    def snapshot(self):
        with self._lock:
            return {"total": sum(self.by_method.values()),
                    "by_method": dict(sorted(self.by_method.items())),
                    "by_outcome": dict(sorted(self.by_outcome.items())),
                    "since": self.since}


class EventLog:
    """What happened inside the simulation (state changes, faults applied,
    copies started/stopped), for debugging a failing test."""

    def __init__(self, state_dir=None, limit=200000):
        self._lock = threading.Lock()
        self._events = collections.deque(maxlen=limit)
        self._seq = 0
        self._sink = JsonlSink(os.path.join(state_dir, "events.jsonl") if state_dir else None,
                               flush_each=False)

    def flush(self):
        self._sink.flush()

    def add(self, kind, **fields):
        fields["kind"] = kind
        fields["time"] = time.time()
        with self._lock:
            self._seq += 1
            fields["seq"] = self._seq
            self._events.append(fields)
        self._sink.write(fields)

    def events(self, since=0, kind=None):
        with self._lock:
            out = [e for e in self._events if e["seq"] > since]
        if kind:
            out = [e for e in out if e["kind"] == kind]
        return out

    def close(self):
        self._sink.close()
