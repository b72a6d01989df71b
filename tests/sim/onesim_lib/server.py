"""HTTP front: XML-RPC at /RPC2 and the JSON control API at /control/.

Both live on the same port.  The server is a ThreadingHTTPServer speaking
HTTP/1.1 with keep-alive (one thread per connection, so injected latency
and stalls delay only their own connection), or HTTPS with a certificate
(`serve --tls-cert/--tls-key`).
"""

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from simtls import TlsHandshakeMixin  # tests/sim, on sys.path

from . import states as S
from .api import Api, MUTATING, _jsonable
from .engine import OneError
from .faults import BEFORE
from .hooks import HookError
from .ledger import Counters, EventLog, Ledger
from .scenario import ScenarioError, add_vms, build, register_hook
from .xmlrpc import Fault, encode_fault, parse_request
from .xmlutil import template_from_mapping, template_merge, template_to_mapping

MAX_BODY = 64 << 20
MAX_WAIT_S = 600


class ControlError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class OneSim:
    """One running simulator: scenario objects + HTTP server."""

    def __init__(self, scenario, base_dir=".", state_dir=None, port=0,
                 hook_base_path=None, verbose=False, tls=None):
        self.state_dir = state_dir
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)
        self.verbose = verbose
        self.events = EventLog(state_dir)
        self.ledger = Ledger(state_dir)
        self.counters = Counters()
        built = build(scenario, base_dir=base_dir, events=self.events,
                      state_dir=state_dir, hook_base_path=hook_base_path)
        self.sim = built.sim
        self.hooks = built.hooks
        self.faults = built.faults
        self.base_dir = base_dir
        self.api = Api(self.sim, self.ledger, built.version_string)
        self.stop_event = threading.Event()
        self.httpd = _Server(("127.0.0.1", port), _Handler)
        self.httpd.app = self
        self.httpd.tls = tls
        self.port = self.httpd.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.url = "%s://127.0.0.1:%d/RPC2" % (scheme, self.port)
        self.base_url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self._thread = None
        env = {"ONE_XMLRPC": self.url, "ONESIM_URL": self.base_url}
        if state_dir:
            admin = next((u for u in self.sim.users.values() if u.is_admin),
                         next(iter(self.sim.users.values())))
            auth = os.path.join(state_dir, "one_auth")
            _write_private(auth, "%s:%s\n" % (admin.name, admin.password))
            env["ONE_AUTH"] = auth
        env.update(scenario.get("hook_env", {}))
        self.hooks.set_env({k: str(v) for k, v in env.items()})

    def start(self):
        self.hooks.start()
        self.sim.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="http", daemon=True)
        self._thread.start()
        if self.state_dir:
            # `port` last: its appearance tells a harness that everything is ready
            _write_atomic(os.path.join(self.state_dir, "pid"), "%d\n" % os.getpid())
            _write_atomic(os.path.join(self.state_dir, "url"), self.url + "\n")
            _write_atomic(os.path.join(self.state_dir, "port"), "%d\n" % self.port)

    def stop(self):
        """Clean shutdown: stop serving, stop hooks (SIGTERM to running
        ones), stop the simulation, close the logs."""
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.hooks.stop()
        self.sim.stop()
        self.ledger.close()
        self.events.close()
        if self.state_dir:
            for name in ("port", "pid", "url"):
                try:
                    os.unlink(os.path.join(self.state_dir, name))
                except OSError:
                    pass

    # ------------------------------------------------------------------
    # control API
    def control(self, method, path, query, body):
        route = path[len("/control/"):].strip("/")
        parts = route.split("/")
        sim = self.sim
        if method == "GET":
            if route == "health":
                return {"ok": True, "url": self.url, "version": self.api.version_string,
                        "pid": os.getpid()}
            if route == "vms":
                with sim.lock:
                    vms = [v.summary() for v in sorted(sim.vms.values(), key=lambda v: v.id)]
                host = _q(query, "host")
                state = _q(query, "state")
                if host:
                    vms = [v for v in vms if v["host"] == host]
                if state:
                    vms = [v for v in vms if state.upper() in (v["state"], v["lcm"])]
                return vms
            if parts[0] == "vm" and len(parts) == 2:
                return self._vm_detail(_int(parts[1], "vm id"))
            if route == "hosts":
                with sim.lock:
                    return [self._host_summary(h) for h in
                            sorted(sim.hosts.values(), key=lambda h: h.id)]
            if route == "ledger":
                return self.ledger.records(since=int(_q(query, "since") or 0),
                                           method=_q(query, "method"))
            if route == "calls":
                return self.counters.snapshot()
            if route == "hooks":
                with sim.lock:
                    defs = [h.to_json() for h in self.hooks.hooks]
                return {"hooks": defs, "busy": self.hooks.busy(),
                        "runs": self.hooks.log(since=int(_q(query, "since") or 0))}
            if route == "events":
                return self.events.events(since=int(_q(query, "since") or 0),
                                          kind=_q(query, "kind"))
            if route == "safety":
                with sim.lock:
                    return sim.safety_report()
            if route == "faults":
                return self.faults.get()
            if route == "timing":
                return dict(sim.timing)
            if route == "scheduler":
                return dict(sim.scheduler)
            raise ControlError(404, "unknown control resource %r" % route)

        if method != "POST":
            raise ControlError(405, "use GET or POST")
        if not isinstance(body, dict):
            raise ControlError(400, "request body must be a JSON object")
        if route == "fail-host":
            with sim.lock:
                host = self._host(body)
                sim.fail_host(host, mode=body.get("mode", "partition"),
                              message=body.get("message"))
                return self._host_summary(host)
        if route == "restore-host":
            with sim.lock:
                host = self._host(body)
                sim.restore_host(host)
                return self._host_summary(host)
        if route == "fence-host":
            with sim.lock:
                host = self._host(body)
                sim.fence_host(host)
                return self._host_summary(host)
        if route == "power-on-host":
            with sim.lock:
                host = self._host(body)
                sim.power_on_host(host)
                return self._host_summary(host)
        if route == "set-host-state":
            with sim.lock:
                host = self._host(body)
                try:
                    state = S.parse_host_state(body.get("state"))
                except ValueError as exc:
                    raise ControlError(400, str(exc)) from None
                sim.force_host_state(host, state)
                return self._host_summary(host)
        if route == "update-host":
            with sim.lock:
                host = self._host(body)
                attrs = template_from_mapping(body.get("template", {}))
                if body.get("replace"):
                    host.template = attrs
                else:
                    template_merge(host.template, attrs)
                for key in ("max_cpu", "max_mem"):
                    if key in body:
                        setattr(host, key, int(body[key]))
                host.touch()
                return self._host_summary(host)
        if route == "crash-vm":
            with sim.lock:
                vm = self._vm(body)
                try:
                    sim.crash_vm(vm, body.get("lcm_state", "UNKNOWN"),
                                 keep_running=bool(body.get("keep_running")))
                except ValueError as exc:
                    raise ControlError(400, str(exc)) from None
                return vm.summary()
        if route == "add-vms":
            spec = {k: v for k, v in body.items()}
            spec.setdefault("count", 1)
            with sim.lock:
                try:
                    vms = add_vms(sim, spec, "add-vms")
                except ScenarioError as exc:
                    raise ControlError(400, str(exc)) from None
                for vm in vms:
                    if sim.hooks.wants_vm_events():
                        sim.hooks.vm_event(vm, vm.state_names(), vm.ext_xml(sim.ctx),
                                           create=True)
                return {"ids": [v.id for v in vms]}
        if route == "faults":
            try:
                if body.get("clear"):
                    self.faults.clear()
                else:
                    merge = bool(body.pop("merge", False))
                    self.faults.set(body, merge=merge)
            except ValueError as exc:
                raise ControlError(400, str(exc)) from None
            return self.faults.get()
        if route == "timing":
            unknown = set(body) - set(sim.timing)
            if unknown:
                raise ControlError(400, "unknown timing keys: %s" % ", ".join(sorted(unknown)))
            with sim.lock:
                sim.timing.update({k: float(v) for k, v in body.items()})
                return dict(sim.timing)
        if route == "scheduler":
            with sim.lock:
                unknown = set(body) - set(sim.scheduler)
                if unknown:
                    raise ControlError(400, "unknown scheduler keys: %s" %
                                       ", ".join(sorted(unknown)))
                sim.scheduler.update(body)
                return dict(sim.scheduler)
        if route == "reset-counters":
            self.counters.reset()
            if body.get("ledger"):
                self.ledger.clear()
            return self.counters.snapshot()
        if route == "hooks":
            try:
                with sim.lock:
                    defs = register_hook(self.hooks, body, "hook", self.base_dir)
            except ScenarioError as exc:
                raise ControlError(400, str(exc)) from None
            return {"hooks": [h.to_json() for h in defs]}
        if route == "unregister-hook":
            with sim.lock:
                return {"removed": self.hooks.unregister(_int(body.get("id"), "id"))}
        if route == "wait-hooks":
            timeout = _timeout(body)
            ok = self.hooks.wait_idle(timeout)
            return {"ok": ok, "busy": self.hooks.busy()}
        if route == "wait-vms":
            return self._wait_vms(body)
        if route == "wait-idle":
            timeout = _timeout(body)
            deadline = time.time() + timeout
            while True:
                with sim.lock:
                    idle = sim.idle()
                if idle and self.hooks.busy() == 0:
                    return {"ok": True}
                if time.time() >= deadline:
                    return {"ok": False}
                time.sleep(0.01)
        if route == "shutdown":
            return {"ok": True}         # the handler stops us once this is sent
        raise ControlError(404, "unknown control action %r" % route)

    def _host(self, body):
        ref = body.get("host")
        if ref is None:
            raise ControlError(400, "'host' (name or id) is required")
        try:
            return self.sim.find_host(ref)
        except KeyError:
            raise ControlError(404, "no host %r" % (ref,)) from None

    def _vm(self, body):
        vm_id = _int(body.get("id"), "id")
        vm = self.sim.vms.get(vm_id)
        if vm is None:
            raise ControlError(404, "no VM %d" % vm_id)
        return vm

    def _host_summary(self, h):
        sim = self.sim
        return {"id": h.id, "name": h.name, "state": S.HOST_STATE_NAMES[h.state],
                "state_num": h.state, "vms": sorted(h.vm_ids),
                "cpu_usage": h.cpu_usage, "max_cpu": h.max_cpu,
                "mem_usage": h.mem_usage, "max_mem": h.max_mem,
                "reachable": sim.reachable(h), "powered": sim.powered(h),
                "partitioned": h.partitioned, "error": h.error_msg,
                "template": template_to_mapping(h.template),
                "copies": sorted(v for v, c in sim.copies.items() if h.id in c)}

    def _vm_detail(self, vm_id):
        with self.sim.lock:
            vm = self.sim.vms.get(vm_id)
            if vm is None:
                raise ControlError(404, "no VM %d" % vm_id)
            out = vm.summary()
            out["history"] = [h.to_json() for h in vm.history]
            out["user_template"] = template_to_mapping(vm.user_template)
            out["copies"] = self.sim.live_copies(vm)
            out["lock_info"] = dict(vm.lock) if vm.lock else None
            return out

    def _wait_vms(self, body):
        """Wait until every selected VM matches: state/lcm names, host,
        not_host.  ids: list (default: all VMs not DONE)."""
        timeout = _timeout(body)
        want_state = (body.get("state") or "").upper() or None
        want_lcm = (body.get("lcm") or body.get("lcm_state") or "").upper() or None
        host, not_host = body.get("host"), body.get("not_host")
        ids = body.get("ids")
        deadline = time.time() + timeout
        while True:
            with self.sim.lock:
                vms = ([self.sim.vms[i] for i in ids if i in self.sim.vms] if ids is not None
                       else [v for v in self.sim.vms.values() if v.state != S.DONE])
                summaries = [v.summary() for v in vms]
            missing = [] if ids is None else [i for i in ids if i not in self.sim.vms]
            bad = [s for s in summaries if
                   (want_state and s["state"] != want_state) or
                   (want_lcm and s["lcm"] != want_lcm) or
                   (host is not None and s["host"] != host) or
                   (not_host is not None and s["host"] == not_host)]
            if not bad and not missing:
                return {"ok": True, "vms": summaries}
            if time.time() >= deadline:
                return {"ok": False, "missing": missing, "not_matching": bad}
            time.sleep(0.01)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    tls = None                        # an ssl.SSLContext: serve HTTPS

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is not None:
            # the handshake runs in the connection's thread (_Handler.setup)
            sock = self.tls.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False)
        return sock, addr


def _injected_code(decision):
    """The error, fault or HTTP code an intercepted call is answered with
    (None: it is dropped or stalled)."""
    kind, p = decision.kind, decision.params
    if kind == "error":
        return int(p.get("code", p.get("error_code", S.INTERNAL)))
    if kind == "fault":
        return int(p.get("fault_code", S.FAULT_TYPE))
    if kind == "http":
        return int(p.get("http_status", 503))
    return None


class _Handler(TlsHandshakeMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Xmlrpc-c_Abyss/1.51.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300                     # idle keep-alive connections

    def log_message(self, fmt, *args):
        if self.server.app.verbose:
            super().log_message(fmt, *args)

    def handle(self):
        if not self.tls_refused_handled(
                lambda e: self.server.app.events.add("tls_refused", error=e)):
            super().handle()

    # ------------------------------------------------------------------
    def _read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            self._send(411, b"Content-Length required\n", "text/plain")
            return None
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self._send(413, b"bad Content-Length\n", "text/plain")
            return None
        return self.rfile.read(n)

    def _send(self, status, body, ctype="text/xml", close=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _hang_up(self):
        """Close the connection without any answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/RPC2":
            self._rpc()
        elif path.startswith("/control/"):
            self._control("POST", path)
        else:
            body = self._read_body()
            if body is not None:
                self._send(404, b"not found\n", "text/plain")

    def do_GET(self):
        path = urlsplit(self.path).path
        if path.startswith("/control/"):
            self._control("GET", path)
        else:
            self._send(404, b"onesim: XML-RPC is at POST /RPC2, control at /control/\n",
                       "text/plain")

    # ------------------------------------------------------------------
    def _rpc(self):
        app = self.server.app
        body = self._read_body()
        if body is None:
            return
        try:
            method, params = parse_request(body)
        except Fault as exc:
            app.counters.count("(unparseable)")
            self._send(200, encode_fault(exc.code, exc.message))
            return
        app.counters.count(method)
        decision = app.faults.decide(method)
        if decision.latency_s > 0 and app.stop_event.wait(decision.latency_s):
            self._hang_up()
            return
        kind = decision.kind
        if kind in BEFORE:
            # the call is answered (or not) without being executed
            app.counters.outcome(method, "injected:" + kind)
            app.events.add("fault", method=method, fault=kind)
            code = _injected_code(decision)
            # In the ledger before the answer leaves: a client that reads
            # the ledger right after its answer finds the call there.
            if method in MUTATING:
                app.ledger.append({
                    "time": time.time(), "method": method, "params": _jsonable(params[1:]),
                    "user": None, "ok": False, "code": code, "safety": None,
                    "executed": False, "injected": kind,
                    "delivered": kind in ("error", "fault", "http")})
            self._injected_before(method, decision, code)
            return
        response, outcome, record = app.api.call(method, params)
        app.counters.outcome(method, outcome)
        # The call was executed: it goes into the ledger before the answer
        # leaves, so that it is there even when the client goes away (a
        # killed hook), and records keep the order in which clients saw
        # their answers. "delivered" is filled in once the answer is out.
        if record is not None:
            record["executed"] = True
            if kind:
                record["injected"] = kind
            app.ledger.append(record)
        self._answer(app, method, kind, response, record)

    def _answer(self, app, method, kind, response, record):
        delivered = True
        if kind == "drop_after":
            delivered = False
            app.events.add("fault", method=method, fault=kind)
            self._hang_up()
        elif kind == "truncate":
            delivered = False
            app.events.add("fault", method=method, fault=kind)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response[:len(response) // 2])
            self._hang_up()
        else:
            if kind == "malformed":
                delivered = False
                app.events.add("fault", method=method, fault=kind)
                response = _malform(response)
            self._send(200, response)
        if record is not None:
            record["delivered"] = delivered

    def _injected_before(self, method, decision, code):
        """Answer a call the fault injector intercepts with code (from
        _injected_code), or hang up."""
        app = self.server.app
        kind, p = decision.kind, decision.params
        if kind == "error":
            msg = p.get("message", p.get("error_message", "Injected failure (onesim)"))
            self._send(200, app.api.injected_failure(method, code, msg))
            return
        if kind == "fault":
            self._send(200, encode_fault(code, p.get("fault_message", "Injected fault (onesim)")))
            return
        if kind == "http":
            self._send(code, ("<html><body>%d onesim injected error</body></html>\n" % code)
                       .encode(), "text/html")
            return
        if kind == "stall":
            app.stop_event.wait(float(p.get("stall_s", app.faults.stall_s)))
        self._hang_up()                  # drop, and a stall once it is over

    # ------------------------------------------------------------------
    def _control(self, method, path):
        app = self.server.app
        query = parse_qs(urlsplit(self.path).query)
        body = {}
        if method == "POST":
            raw = self._read_body()
            if raw is None:
                return
            if raw.strip():
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    self._json(400, {"error": "invalid JSON: %s" % exc})
                    return
        try:
            result = app.control(method, path, query, body)
        except ControlError as exc:
            self._json(exc.status, {"error": exc.message})
            return
        except (HookError, OneError, ValueError) as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, result)
        if method == "POST" and path.rstrip("/") == "/control/shutdown":
            app.stop_event.set()

    def _json(self, status, obj):
        self._send(status, (json.dumps(obj, sort_keys=True, default=str) + "\n").encode(),
                   "application/json")


def _malform(body):
    """Keep the length plausible but break well-formedness (mismatched tag)."""
    for good, bad in ((b"</data>", b"</dta>"), (b"</struct>", b"</strct>")):
        if good in body:
            return body.replace(good, bad, 1)
    return body[:-10] + b"<broken&\r\n"


def _q(query, key):
    values = query.get(key)
    return values[0] if values else None


def _int(value, what):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, "%s must be an integer" % what) from None


def _timeout(body):
    try:
        return min(float(body.get("timeout", 10)), MAX_WAIT_S)
    except (TypeError, ValueError):
        raise ControlError(400, "timeout must be a number") from None


def _write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
