#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A Neutron v2.0 stand-in for servers booted with "networks": "none".

Nova Zed asks Neutron about ports and security groups when it lists,
evacuates or deletes a server even if the server has no network. With no
ports anywhere, every answer is known in advance: collections are empty,
single resources do not exist, deletions succeed and nothing can be
created. Listens on 127.0.0.1 only.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, doc=None):
        raw = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def skip_body(self):
        size = int(self.headers.get("Content-Length") or 0)
        if size > 0:
            self.rfile.read(min(size, 1 << 20))

    def do_GET(self):
        path = self.path.partition("?")[0]
        if path.endswith(".json"):
            path = path[:-5]
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["v2.0"]:
            parts = parts[1:]
        if not parts:
            self.reply(200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": []}],
                             "resources": []})
        elif len(parts) == 1:
            self.reply(200, {parts[0].replace("-", "_"): []})
        else:
            self.reply(404, {"NeutronError": {"type": "NotFound", "detail": "",
                                              "message": "no %s here (stub)" % path}})

    def do_DELETE(self):
        self.skip_body()
        self.reply(204)

    def do_POST(self):
        self.skip_body()
        self.reply(400, {"NeutronError": {"type": "BadRequest", "detail": "",
                                          "message": "the stub creates nothing"}})

    do_PUT = do_POST

    def log_message(self, fmt, *args):
        sys.stderr.write("neutron-stub %s\n" % (fmt % args))


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Stub).serve_forever()
