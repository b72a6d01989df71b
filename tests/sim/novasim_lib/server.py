"""The HTTP server (127.0.0.1 only, HTTP/1.1 keep-alive, one thread per
connection) and the command line: `novasim serve` and `novasim ctl`."""

import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simtls import TlsHandshakeMixin, tls_context  # tests/sim, on sys.path

from .api import Api, Request, Response, error_response
from .faults import Injector
from .model import ApiError, Cloud
from .records import Counters, Events, Ledger

MAX_BODY = 1 << 20


class Sim:
    """Everything one simulator instance holds."""

    def __init__(self, scenario, state_dir=None):
        self.state_dir = state_dir
        path = (lambda name: os.path.join(state_dir, name)) if state_dir else (lambda name: None)
        self.ledger = Ledger(path("ledger.jsonl"))
        self.events = Events(path("events.jsonl"))
        self.counters = Counters()
        self.faults = Injector(scenario.get("faults"))
        self.cloud = Cloud(scenario, self.events, self.ledger)
        self.api = Api(self.cloud, self.ledger, self.counters, self.events, self.faults)

    def close(self):
        self.cloud.stop()
        self.ledger.close()
        self.events.close()


class Handler(TlsHandshakeMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "novasim/1.0"
    sys_version = ""

    def handle(self):
        if not self.tls_refused_handled(
                lambda e: self.server.sim.events.emit("tls_refused", error=e)):
            super().handle()

    def log_message(self, fmt, *args):
        log = getattr(self.server, "access_log", None)
        if log is not None:
            log.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))
            log.flush()

    def _handle(self):
        sim = self.server.sim
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(Response(413, {"error": {"code": 413, "message": "body too large"}}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, self.path, self.headers, body)
        target, early = sim.api.prepare(req)
        sim.counters.count(req.route)
        if early is not None:
            sim.counters.outcome(req.route, str(early.status))
            self._send(early)
            return
        d = sim.faults.decide(req.route) if req.service != "control" else None
        if d is not None and d.latency_s > 0:
            time.sleep(d.latency_s)
        if d is not None and d.kind is not None:
            sim.events.emit("fault", route=req.route, fault=d.kind, path=req.path)
        if d is not None and d.before:
            sim.counters.outcome(req.route, "fault:" + d.kind)
            if d.kind == "http":
                resp = sim.api.finish(req, error_response(
                    req, d.status, "simulated failure (HTTP %d injected by novasim)" % d.status))
                self._send(resp)
            elif d.kind == "stall":
                time.sleep(sim.faults.stall_s)
                self._abort()
            else:
                self._abort()
            return
        resp = sim.api.execute(req, target)
        sim.counters.outcome(req.route, str(resp.status))
        delivered = d is None or d.kind is None
        sim.api.record(req, resp, delivered=delivered, note=None if delivered else "fault " + d.kind)
        if d is not None and d.kind == "drop_after":
            self._abort()
            return
        mangle = d.kind if d is not None and d.kind in ("malformed", "truncate") else None
        self._send(resp, mangle)

    def _abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp, mangle=None):
        if isinstance(resp.body, (bytes, bytearray)):
            data = bytes(resp.body)
        elif resp.body is None:
            data = b""
        else:
            data = json.dumps(resp.body).encode()
        if mangle == "malformed" and data:
            data = b'{"simulated": malformed' + data[:20]
        elif mangle == "malformed":
            data = b"<html>not json</html>"
        elif mangle == "truncate":
            data = data[:len(data) // 2]
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if data or resp.status not in (204,):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sim, port=0, access_log=None, tls=None):
        self.sim = sim
        self.access_log = access_log
        self.tls = tls
        super().__init__(("127.0.0.1", port), Handler)
        sim.cloud.base_url = "%s://127.0.0.1:%d" % ("https" if tls else "http",
                                                    self.server_address[1])
        # a moment's delay lets the answer to /control/shutdown go out first
        sim.api.shutdown_hook = lambda: threading.Timer(0.2, self.shutdown).start()

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False)
        return sock, addr


def load_scenario(path):
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        raise ValueError("%s: a scenario is a JSON object" % path)
    unknown = set(doc) - {"description", "settings", "keystone", "nova", "faults"}
    if unknown:
        raise ValueError("%s: unknown keys %s" % (path, ", ".join(sorted(unknown))))
    return doc


def serve(args):
    try:
        scenario = load_scenario(args.scenario)
        if args.state_dir:
            os.makedirs(args.state_dir, exist_ok=True)
        if args.tls_client_ca and not args.tls_cert:
            raise ValueError("--tls-client-ca needs --tls-cert")
        tls = tls_context(args.tls_cert, args.tls_key or args.tls_cert,
                          args.tls_client_ca) if args.tls_cert else None
        sim = Sim(scenario, args.state_dir)
    except (OSError, ValueError, ssl.SSLError) as exc:
        print("novasim: %s" % exc, file=sys.stderr)
        return 2
    log = open(os.path.join(args.state_dir, "access.log"), "a") if args.state_dir else None
    srv = Server(sim, args.port, log, tls)
    url = sim.cloud.base_url
    if args.state_dir:
        # port last: harnesses wait for it to appear
        for name, value in (("url", url), ("pid", str(os.getpid())),
                            ("port", str(srv.server_address[1]))):
            tmp = os.path.join(args.state_dir, name + ".tmp")
            with open(tmp, "w") as fh:
                fh.write(value + "\n")
            os.replace(tmp, os.path.join(args.state_dir, name))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    if args.exit_with_parent:
        # A test that dies without stopping us must not leave us behind
        # (holding its output pipe open).
        parent = os.getppid()

        def watch():
            while os.getppid() == parent:
                time.sleep(0.3)
            srv.shutdown()
        threading.Thread(target=watch, daemon=True).start()
    if args.lifetime:
        # a safety net: a harness that is itself killed leaves nothing behind
        threading.Timer(args.lifetime, srv.shutdown).start()
    print("novasim: listening on %s" % url, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.server_close()
    sim.close()
    if log:
        log.close()
    if args.state_dir:
        for name in ("port", "pid", "url"):
            try:
                os.unlink(os.path.join(args.state_dir, name))
            except OSError:
                pass
    os._exit(0)  # a stalled handler thread must not keep us alive


CTL = {
    # name: (method, path, argument names, body builder)
    "state": ("GET", "/control/state", [], None),
    "routes": ("GET", "/control/routes", [], None),
    "ledger": ("GET", "/control/ledger", [], None),
    "events": ("GET", "/control/events", [], None),
    "counters": ("GET", "/control/counters", [], None),
    "reset-counters": ("DELETE", "/control/counters", [], None),
    "faults": ("POST", "/control/faults", ["json"], lambda a: json.loads(a[0])),
    "clear-faults": ("DELETE", "/control/faults", [], None),
    "settings": ("POST", "/control/settings", ["json"], lambda a: json.loads(a[0])),
    "fail-host": ("POST", "/control/fail-host", ["host"], lambda a: {"host": a[0]}),
    "restore-host": ("POST", "/control/restore-host", ["host"], lambda a: {"host": a[0]}),
    "age-host": ("POST", "/control/age-host", ["host", "seconds"],
                 lambda a: {"host": a[0], "seconds": float(a[1])}),
    "add-host": ("POST", "/control/add-host", ["name"], lambda a: {"name": a[0]}),
    "servers": ("POST", "/control/servers", ["json"], lambda a: json.loads(a[0])),
    "server": ("POST", "/control/server", ["json"], lambda a: json.loads(a[0])),
    "guest-stop": ("POST", "/control/guest-stop", ["id"], lambda a: {"id": a[0]}),
    "fail-action": ("POST", "/control/fail-action", ["json"], lambda a: json.loads(a[0])),
    "expire-tokens": ("POST", "/control/expire-tokens", [], None),
    "wait-idle": ("GET", "/control/wait-idle", [], None),
    "shutdown": ("POST", "/control/shutdown", [], None),
}


def ctl(args):
    url = args.url or os.environ.get("NOVASIM_URL")
    if not url and args.state_dir:
        with open(os.path.join(args.state_dir, "url")) as fh:
            url = fh.read().strip()
    if not url:
        print("novasim ctl: give --url, --state-dir or NOVASIM_URL", file=sys.stderr)
        return 2
    if args.command == "openrc":
        print("export OS_AUTH_URL=%s/v3 OS_USERNAME=admin OS_PROJECT_NAME=admin "
              "OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default "
              "OS_REGION_NAME=RegionOne OS_INTERFACE=public" % url)
        print("# the password of the built-in admin is admin-pass: export OS_PASSWORD yourself")
        return 0
    if args.command not in CTL:
        print("novasim ctl: unknown command %s (one of: %s, openrc)" %
              (args.command, ", ".join(sorted(CTL))), file=sys.stderr)
        return 2
    method, path, names, build = CTL[args.command]
    if len(args.args) != len(names):
        print("novasim ctl %s: arguments: %s" % (args.command, " ".join(names) or "none"),
              file=sys.stderr)
        return 2
    data = json.dumps(build(args.args)).encode() if build else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    ctx = None
    if url.startswith("https:"):
        ctx = ssl.create_default_context(cafile=args.cacert)
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
    try:
        with urllib.request.urlopen(req, timeout=60, context=ctx) as r:
            out = json.load(r)
    except urllib.error.HTTPError as exc:
        print("novasim ctl: HTTP %d %s" % (exc.code, exc.read().decode(errors="replace")),
              file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        print("novasim ctl: %s" % exc, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="novasim", description="Keystone v3 + Nova simulator (loopback only)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the simulator")
    s.add_argument("--scenario", help="scenario JSON file")
    s.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    s.add_argument("--state-dir", help="write url, port, pid, ledger.jsonl, events.jsonl here")
    s.add_argument("--lifetime", type=float, default=0,
                   help="exit after this many seconds (0: run until stopped)")
    s.add_argument("--exit-with-parent", action="store_true",
                   help="stop when the process that started novasim exits")
    s.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    s.add_argument("--tls-key", help="its private key (PEM; default: in --tls-cert)")
    s.add_argument("--tls-client-ca",
                   help="require a client certificate signed by this CA (PEM)")
    c = sub.add_parser("ctl", help="drive a running simulator")
    c.add_argument("--url")
    c.add_argument("--state-dir")
    c.add_argument("--cacert", help="HTTPS: the CA of the simulator's certificate")
    c.add_argument("--cert", help="HTTPS: client certificate (PEM)")
    c.add_argument("--key", help="HTTPS: its key (PEM)")
    c.add_argument("command")
    c.add_argument("args", nargs="*")
    args = p.parse_args(argv)
    return serve(args) if args.cmd == "serve" else ctl(args)


__all__ = ["main", "Sim", "Server", "ApiError"]
