"""Command line: `onesim serve` and `onesim ctl`.

Exit codes of `onesim ctl`: 0 ok; 1 the control API refused the request or
a wait-* timed out (the JSON printed says why); 2 usage error; 3 onesim is
not reachable.  `onesim serve`: 0 after a clean shutdown (SIGTERM/SIGINT or
ctl shutdown), 2 for a bad scenario or command line.
"""

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="onesim", description="Simulated OpenNebula front-end (XML-RPC oned) for tests.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the simulator")
    serve.add_argument("--scenario", required=True, help="scenario JSON file")
    serve.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    serve.add_argument("--state-dir", help="write port, pid, url, one_auth, *.jsonl here")
    serve.add_argument("--hook-base-path", help="directory for relative hook COMMANDs")
    serve.add_argument("--verbose", action="store_true", help="log HTTP requests to stderr")
    serve.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--tls-key", help="its private key (PEM; default: in --tls-cert)")
    serve.add_argument("--lifetime", type=float, default=0,
                       help="exit cleanly after this many seconds (a safety net for test "
                            "harnesses that may be killed before they stop onesim; 0 = never)")

    ctl = sub.add_parser("ctl", help="talk to a running simulator")
    where = ctl.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="onesim URL (http://127.0.0.1:PORT[/RPC2])")
    where.add_argument("--state-dir", help="state dir of `onesim serve` (reads its port file)")
    ctl.add_argument("--compact", action="store_true", help="one-line JSON output")
    ctl.add_argument("--cacert", help="HTTPS: the CA of onesim's certificate (PEM)")
    # --compact is accepted before or after the command name
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--compact", action="store_true", default=argparse.SUPPRESS,
                        help="one-line JSON output")
    cmds = ctl.add_subparsers(dest="ctl_command", required=True)
    _add = cmds.add_parser

    def add_cmd(name, **kw):
        return _add(name, parents=[common], **kw)

    cmds.add_parser = add_cmd

    cmds.add_parser("health")
    cmds.add_parser("hosts")
    p = cmds.add_parser("vms")
    p.add_argument("--host")
    p.add_argument("--state")
    p = cmds.add_parser("vm")
    p.add_argument("id", type=int)
    p = cmds.add_parser("fail-host")
    p.add_argument("host")
    p.add_argument("--mode", choices=("partition", "crash"), default="partition")
    p.add_argument("--message")
    for name in ("restore-host", "fence-host", "power-on-host"):
        cmds.add_parser(name).add_argument("host")
    p = cmds.add_parser("set-host-state")
    p.add_argument("host")
    p.add_argument("state")
    p = cmds.add_parser("update-host")
    p.add_argument("host")
    p.add_argument("attrs", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--replace", action="store_true")
    p = cmds.add_parser("crash-vm")
    p.add_argument("id", type=int)
    p.add_argument("--lcm-state", default="UNKNOWN")
    p.add_argument("--keep-running", action="store_true")
    p = cmds.add_parser("add-vms")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--host")
    p.add_argument("--state")
    p.add_argument("--cpu", type=float)
    p.add_argument("--vcpu", type=int)
    p.add_argument("--memory", type=int)
    p.add_argument("--name")
    p.add_argument("--ds-id", type=int)
    p.add_argument("--lock", type=int)
    p.add_argument("--user-template", action="append", metavar="KEY=VALUE", default=[])
    p = cmds.add_parser("faults")
    p.add_argument("json", nargs="?", help="fault configuration (omit to show)")
    p.add_argument("--merge", action="store_true", help="update instead of replace")
    p.add_argument("--clear", action="store_true")
    p = cmds.add_parser("timing")
    p.add_argument("json", nargs="?")
    p = cmds.add_parser("scheduler")
    p.add_argument("json", nargs="?")
    p = cmds.add_parser("ledger")
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--method")
    cmds.add_parser("calls")
    p = cmds.add_parser("hooks-log")
    p.add_argument("--since", type=int, default=0)
    cmds.add_parser("hooks")
    p = cmds.add_parser("register-hook")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--oned-conf")
    g.add_argument("--oned-conf-file")
    g.add_argument("--template")
    g.add_argument("--template-file")
    p = cmds.add_parser("unregister-hook")
    p.add_argument("id", type=int)
    for name in ("wait-hooks", "wait-idle"):
        cmds.add_parser(name).add_argument("--timeout", type=float, default=10)
    p = cmds.add_parser("wait-vms")
    p.add_argument("--ids", help="comma-separated VM ids (default: all not DONE)")
    p.add_argument("--state")
    p.add_argument("--lcm")
    p.add_argument("--host")
    p.add_argument("--not-host")
    p.add_argument("--timeout", type=float, default=10)
    p = cmds.add_parser("events")
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--kind")
    cmds.add_parser("safety")
    p = cmds.add_parser("reset-counters")
    p.add_argument("--ledger", action="store_true", help="also clear the ledger")
    cmds.add_parser("shutdown")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_main(args)
    return ctl_main(args)


# --------------------------------------------------------------------------
def serve_main(args):
    import ssl
    from .scenario import load_file, ScenarioError
    from simtls import tls_context  # tests/sim, on sys.path

    from .server import OneSim

    try:
        if args.tls_key and not args.tls_cert:
            raise ScenarioError("--tls-key needs --tls-cert")
        tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        data = load_file(args.scenario)
        app = OneSim(data, base_dir=os.path.dirname(os.path.abspath(args.scenario)),
                     state_dir=args.state_dir, port=args.port,
                     hook_base_path=args.hook_base_path, verbose=args.verbose,
                     tls=tls)
    except ScenarioError as exc:
        print("onesim: %s" % exc, file=sys.stderr)
        return 2
    except (OSError, ssl.SSLError) as exc:
        print("onesim: cannot start: %s" % exc, file=sys.stderr)
        return 2

    def on_signal(signum, frame):
        app.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    app.start()
    print(app.url, flush=True)
    print("onesim: OpenNebula %s simulator, %d host(s), %d VM(s), control at %s/control/" % (
        app.api.version_string, len(app.sim.hosts), len(app.sim.vms), app.base_url),
        file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.lifetime if args.lifetime > 0 else None
    while not app.stop_event.wait(0.5):
        if deadline is not None and time.monotonic() >= deadline:
            print("onesim: --lifetime %gs reached, exiting" % args.lifetime, file=sys.stderr)
            break
    app.stop()
    return 0


# --------------------------------------------------------------------------
def _base_url(args):
    if args.url:
        url = args.url.rstrip("/")
        if url.endswith("/RPC2"):
            url = url[:-len("/RPC2")]
        return url
    try:
        with open(os.path.join(args.state_dir, "port")) as fh:
            port = int(fh.read().strip())
    except (OSError, ValueError) as exc:
        raise SystemExit(_die(3, "cannot read the port file in %s: %s" % (args.state_dir, exc)))
    scheme = "http"
    try:
        with open(os.path.join(args.state_dir, "url")) as fh:
            if fh.read().startswith("https:"):
                scheme = "https"
    except OSError:
        pass
    return "%s://127.0.0.1:%d" % (scheme, port)


def _die(code, text):
    print("onesim ctl: %s" % text, file=sys.stderr)
    return code


def _kv(pairs):
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(_die(2, "expected KEY=VALUE, got %r" % pair))
        key, value = pair.split("=", 1)
        out[key] = value
    return out


def _json_arg(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(_die(2, "invalid JSON argument: %s" % exc))
    if not isinstance(value, dict):
        raise SystemExit(_die(2, "the JSON argument must be an object"))
    return value


def _request(base, method, path, body=None, timeout=None, context=None):
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout or 30, context=context) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"null")
        except json.JSONDecodeError:
            payload = {"error": str(exc)}
        return exc.code, payload
    except (urllib.error.URLError, OSError) as exc:
        raise SystemExit(_die(3, "cannot reach onesim at %s: %s" % (base, exc)))


def ctl_main(args):
    base = _base_url(args)
    cmd = args.ctl_command
    get, post = "GET", "POST"
    timeout = None
    if cmd == "health":
        call = (get, "/control/health", None)
    elif cmd == "hosts":
        call = (get, "/control/hosts", None)
    elif cmd == "vms":
        q = "&".join("%s=%s" % (k, urllib.request.quote(v)) for k, v in
                     (("host", args.host), ("state", args.state)) if v)
        call = (get, "/control/vms" + ("?" + q if q else ""), None)
    elif cmd == "vm":
        call = (get, "/control/vm/%d" % args.id, None)
    elif cmd == "fail-host":
        body = {"host": args.host, "mode": args.mode}
        if args.message:
            body["message"] = args.message
        call = (post, "/control/fail-host", body)
    elif cmd in ("restore-host", "fence-host", "power-on-host"):
        call = (post, "/control/" + cmd, {"host": args.host})
    elif cmd == "set-host-state":
        call = (post, "/control/set-host-state", {"host": args.host, "state": args.state})
    elif cmd == "update-host":
        call = (post, "/control/update-host", {"host": args.host, "template": _kv(args.attrs),
                                               "replace": args.replace})
    elif cmd == "crash-vm":
        call = (post, "/control/crash-vm", {"id": args.id, "lcm_state": args.lcm_state,
                                            "keep_running": args.keep_running})
    elif cmd == "add-vms":
        body = {"count": args.count}
        for key in ("host", "state", "cpu", "vcpu", "memory", "name", "ds_id", "lock"):
            if getattr(args, key) is not None:
                body[key] = getattr(args, key)
        if args.user_template:
            body["user_template"] = _kv(args.user_template)
        call = (post, "/control/add-vms", body)
    elif cmd == "faults":
        if args.clear:
            call = (post, "/control/faults", {"clear": True})
        elif args.json is None:
            call = (get, "/control/faults", None)
        else:
            body = _json_arg(args.json)
            body["merge"] = args.merge
            call = (post, "/control/faults", body)
    elif cmd in ("timing", "scheduler"):
        call = ((get, "/control/" + cmd, None) if args.json is None
                else (post, "/control/" + cmd, _json_arg(args.json)))
    elif cmd == "ledger":
        q = "since=%d" % args.since + ("&method=%s" % args.method if args.method else "")
        call = (get, "/control/ledger?" + q, None)
    elif cmd == "calls":
        call = (get, "/control/calls", None)
    elif cmd == "hooks-log":
        call = (get, "/control/hooks?since=%d" % args.since, None)
    elif cmd == "hooks":
        call = (get, "/control/hooks", None)
    elif cmd == "register-hook":
        if args.oned_conf is not None:
            body = {"oned_conf": args.oned_conf}
        elif args.template is not None:
            body = {"template": args.template}
        elif args.oned_conf_file:
            body = {"oned_conf_file": os.path.abspath(args.oned_conf_file)}
        else:
            body = {"template_file": os.path.abspath(args.template_file)}
        call = (post, "/control/hooks", body)
    elif cmd == "unregister-hook":
        call = (post, "/control/unregister-hook", {"id": args.id})
    elif cmd in ("wait-hooks", "wait-idle"):
        call = (post, "/control/" + cmd, {"timeout": args.timeout})
        timeout = args.timeout + 30
    elif cmd == "wait-vms":
        body = {"timeout": args.timeout}
        if args.ids:
            try:
                body["ids"] = [int(i) for i in args.ids.split(",") if i.strip()]
            except ValueError:
                return _die(2, "--ids takes comma-separated integers")
        for key in ("state", "lcm", "host", "not_host"):
            if getattr(args, key):
                body[key] = getattr(args, key)
        call = (post, "/control/wait-vms", body)
        timeout = args.timeout + 30
    elif cmd == "events":
        q = "since=%d" % args.since + ("&kind=%s" % args.kind if args.kind else "")
        call = (get, "/control/events?" + q, None)
    elif cmd == "safety":
        call = (get, "/control/safety", None)
    elif cmd == "reset-counters":
        call = (post, "/control/reset-counters", {"ledger": args.ledger})
    elif cmd == "shutdown":
        call = (post, "/control/shutdown", {})
    else:
        return _die(2, "unknown command %s" % cmd)

    context = None
    if args.cacert:
        import ssl
        try:
            context = ssl.create_default_context(cafile=args.cacert)
        except (OSError, ssl.SSLError) as exc:
            return _die(2, "--cacert %s: %s" % (args.cacert, exc))
    status, payload = _request(base, *call, timeout=timeout, context=context)
    try:
        print(json.dumps(payload, indent=None if args.compact else 2, sort_keys=True))
        sys.stdout.flush()
    except BrokenPipeError:              # `onesim ctl ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if status != 200:
        return 1
    if isinstance(payload, dict) and payload.get("ok") is False:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
