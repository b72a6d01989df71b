#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A loopback HTTP/1.1 server that misbehaves on request, for the HTTP and
XML-RPC client tests (after curl's tests/server/sws.c).

Usage: httpd.py PORTFILE    binds 127.0.0.1 on a free port, writes the port
                            to PORTFILE, serves until SIGTERM.

Paths (any method):
  /echo              200, body "METHOD PATH\\npeer PORT\\n<request headers>\\n\\n<body>",
                     header X-Subject-Token: tok-123
  /status/N          status N, body "status N"
  /sleep/MS          answers after MS milliseconds
  /big/N             N bytes, with Content-Length
  /chunked/N         N bytes, chunked (no length known in advance)
  /drop              closes the connection without an answer
  /partial           Content-Length 100, sends 10 bytes, closes
  /stall             sends nothing for 30 s
  /redirect          302 to /echo
  /garbage           not HTTP at all
  /count/NAME        counts the call under NAME and closes without an
                     answer (a call that ran but whose answer was lost)
  /counter/NAME      200, body: how many /count/NAME calls arrived
  /rpc               the next canned answer queued with /queue, else 500;
                     the request body is kept for /last
  /queue?status=N&mode=M   queue the request body as a canned answer
                     (mode: "", "drop", "partial", "sleep:MS")
  /last              the body of the last /rpc request
  /reset             forget queued answers, counters and the last request
"""

import http.server
import os
import signal
import socketserver
import sys
import threading
import time
import urllib.parse


class State:
    lock = threading.Lock()
    counters = {}
    queue = []
    last = b""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vmheal-testd"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drop(self):
        self.close_connection = True

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        body = self._body()
        head = parts[0] if parts else ""
        arg = parts[1] if len(parts) > 1 else ""
        if head == "echo":
            text = "%s %s\npeer %d\n%s\n%s" % (
                self.command, self.path, self.client_address[1], str(self.headers),
                body.decode("utf-8", "replace"))
            self._send(200, text.encode(), [("X-Subject-Token", "tok-123"),
                                            ("Content-Type", "text/plain")])
        elif head == "status":
            self._send(int(arg), ("status %s" % arg).encode())
        elif head == "sleep":
            time.sleep(int(arg) / 1000.0)
            self._send(200, b"slept")
        elif head == "big":
            self._send(200, b"x" * int(arg))
        elif head == "chunked":
            n = int(arg)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while n > 0:
                k = min(n, 8192)
                self.wfile.write(b"%x\r\n" % k + b"x" * k + b"\r\n")
                n -= k
            self.wfile.write(b"0\r\n\r\n")
        elif head == "drop":
            self._drop()
        elif head == "partial":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self._drop()
        elif head == "stall":
            time.sleep(30)
            self._drop()
        elif head == "redirect":
            self._send(302, b"moved", [("Location", "/echo")])
        elif head == "garbage":
            self.wfile.write(b"\x00\x01 this is not HTTP\r\n\r\n")
            self._drop()
        elif head == "count":
            with State.lock:
                State.counters[arg] = State.counters.get(arg, 0) + 1
            self._drop()
        elif head == "counter":
            with State.lock:
                n = State.counters.get(arg, 0)
            self._send(200, str(n).encode())
        elif head == "queue":
            q = urllib.parse.parse_qs(url.query)
            with State.lock:
                State.queue.append((int(q.get("status", ["200"])[0]),
                                    q.get("mode", [""])[0], body))
            self._send(200, b"queued")
        elif head == "reset":
            with State.lock:
                State.queue[:] = []
                State.counters.clear()
                State.last = b""
            self._send(200, b"reset")
        elif head == "last":
            with State.lock:
                last = State.last
            self._send(200, last)
        elif head == "rpc":
            with State.lock:
                State.last = body
                item = State.queue.pop(0) if State.queue else None
            if item is None:
                self._send(500, b"nothing queued")
                return
            status, mode, answer = item
            if mode == "drop":
                self._drop()
            elif mode == "partial":
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer) + 100))
                self.end_headers()
                self.wfile.write(answer)
                self._drop()
            else:
                if mode.startswith("sleep:"):
                    time.sleep(int(mode[6:]) / 1000.0)
                self._send(status, answer, [("Content-Type", "text/xml")])
        else:
            self._send(404, b"no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that time out and hang up are part of the tests


def main():
    if len(sys.argv) != 2:
        print("usage: httpd.py PORTFILE", file=sys.stderr)
        return 2
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
