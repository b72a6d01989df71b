#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""REST helper for the loopback OpenStack: set-up steps of up.sh and the
checks of the end-to-end test, written against the real APIs with the
Python standard library only (no openstackclient, no jq).

Credentials come from the OS_* variables (up.sh writes them to
$RN_DIR/openrc). Every command prints JSON or plain ids on stdout and
fails with a one-line message and exit status 1.

  rnapi.py catalog NOVA PLACEMENT GLANCE NEUTRON   service users + endpoints
  rnapi.py image GLANCE_URL FILE                   public raw image, prints id
  rnapi.py flavor                                  flavor "1" (64 MB, 1 vCPU)
  rnapi.py wait-computes HOST... [--timeout S]     services up, in placement
  rnapi.py boot N HOST PREFIX                      N servers ACTIVE on HOST
  rnapi.py ids-on HOST                             servers on HOST (exact)
  rnapi.py verify-evacuated SRC ID...              each ACTIVE off SRC, once
  rnapi.py unfence HOST                            force-up + enable when up
  rnapi.py delete ID...                            delete, wait until gone
  rnapi.py service HOST                            the service as JSON
  rnapi.py nova METHOD PATH [JSON]                 one Nova call, prints the
                                                   answer's JSON
  rnapi.py serial-evacuate SRC ID...               the plain serial flow:
                                                   force-down + disable,
                                                   then evacuate one server
                                                   and wait for it ACTIVE
                                                   elsewhere before the next
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

MV = "2.74"


class Fail(Exception):
    pass


def env(name, default=None):
    v = os.environ.get(name, default)
    if v is None:
        raise Fail("%s is not set (source $RN_DIR/openrc)" % name)
    return v


class Cloud:
    def __init__(self):
        self.auth_url = env("OS_AUTH_URL").rstrip("/")
        self.token, body = self._login()
        self.catalog = body["token"].get("catalog", [])

    @property
    def nova(self):
        return self.endpoint("compute")

    def _login(self):
        doc = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": env("OS_USERNAME"), "password": env("OS_PASSWORD"),
            "domain": {"name": env("OS_USER_DOMAIN_NAME", "Default")}}}},
            "scope": {"project": {"name": env("OS_PROJECT_NAME"),
                                  "domain": {"name": env("OS_PROJECT_DOMAIN_NAME", "Default")}}}}}
        status, headers, body = self.call("POST", self.auth_url + "/auth/tokens", doc, auth=False)
        if status != 201:
            raise Fail("keystone: HTTP %d %s" % (status, body))
        return headers["X-Subject-Token"], body

    def endpoint(self, kind, iface="public"):
        for svc in self.catalog:
            if svc["type"] == kind:
                for ep in svc["endpoints"]:
                    if ep["interface"] == iface:
                        return ep["url"].rstrip("/")
        raise Fail("no %s endpoint in the catalog" % kind)

    def call(self, method, url, doc=None, auth=True, raw=None, ctype="application/json",
             expect=None):
        data = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", ctype)
        req.add_header("OpenStack-API-Version", "compute " + MV)
        if auth:
            req.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status, headers, text = r.status, r.headers, r.read()
        except urllib.error.HTTPError as exc:
            status, headers, text = exc.code, exc.headers, exc.read()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text.decode(errors="replace")
        if expect is not None and status not in expect:
            raise Fail("%s %s: HTTP %d %s" % (method, url, status, body))
        return status, headers, body

    def nv(self, method, path, doc=None, expect=(200, 202, 204)):
        return self.call(method, self.nova + path, doc, expect=expect)[2]

    def ks(self, method, path, doc=None, expect=(200, 201, 204)):
        return self.call(method, self.auth_url + path, doc, expect=expect)[2]


def wait(what, timeout, probe, step=0.5):
    deadline = time.time() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.time() > deadline:
            raise Fail("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(step)


def cmd_catalog(c, a):
    role = c.ks("GET", "/roles?name=admin")["roles"][0]["id"]
    proj = c.ks("POST", "/projects", {"project": {"name": "service", "domain_id": "default"}})
    pid = proj["project"]["id"]
    for user in ("nova", "placement", "glance"):
        u = c.ks("POST", "/users", {"user": {"name": user, "domain_id": "default",
                                             "password": user + "-svc-pass"}})
        c.ks("PUT", "/projects/%s/users/%s/roles/%s" % (pid, u["user"]["id"], role))
    for kind, name, url in (("compute", "nova", a.nova), ("placement", "placement", a.placement),
                            ("image", "glance", a.glance), ("network", "neutron", a.neutron)):
        sid = c.ks("POST", "/services", {"service": {"type": kind, "name": name}})["service"]["id"]
        for iface in ("public", "internal", "admin"):
            c.ks("POST", "/endpoints", {"endpoint": {"service_id": sid, "interface": iface,
                                                     "url": url, "region_id": "RegionOne"}})


def cmd_image(c, a):
    st, _, found = c.call("GET", a.glance + "/v2/images?name=rn-image", expect=(200,))
    if found["images"]:
        print(found["images"][0]["id"])
        return
    img = c.call("POST", a.glance + "/v2/images", {"name": "rn-image", "disk_format": "raw",
                                                    "container_format": "bare",
                                                    "visibility": "public"}, expect=(201,))[2]
    with open(a.file, "rb") as fh:
        c.call("PUT", "%s/v2/images/%s/file" % (a.glance, img["id"]), raw=fh.read(),
               ctype="application/octet-stream", expect=(204,))
    print(img["id"])


def cmd_flavor(c, a):
    st, _, _ = c.call("GET", c.nova + "/flavors/1")
    if st != 200:
        c.nv("POST", "/flavors", {"flavor": {"name": "rn.tiny", "ram": 64, "vcpus": 1,
                                             "disk": 1, "id": "1"}})


def cmd_wait_computes(c, a):
    placement = c.endpoint("placement")

    def ready():
        svcs = c.nv("GET", "/os-services?binary=nova-compute")["services"]
        up = {s["host"] for s in svcs if s["state"] == "up"}
        rps = c.call("GET", placement + "/resource_providers", expect=(200,))[2]
        return set(a.hosts) <= up and len(rps["resource_providers"]) >= len(a.hosts)
    wait("computes %s up and in placement" % " ".join(a.hosts), a.timeout, ready)


def servers_on(c, host):
    out, url = [], "/servers/detail?all_tenants=1&host=" + host
    while url:
        page = c.nv("GET", url)
        out += [s for s in page["servers"] if s.get("OS-EXT-SRV-ATTR:host") == host]
        nxt = [l["href"] for l in page.get("servers_links", []) if l["rel"] == "next"]
        url = nxt[0].split("/v2.1", 1)[1] if nxt else None
    return out


def cmd_boot(c, a):
    image = os.environ.get("RN_IMAGE_ID") or c.call(
        "GET", c.endpoint("image") + "/v2/images?name=rn-image", expect=(200,))[2]["images"][0]["id"]
    ids = []
    for i in range(a.n):
        s = c.nv("POST", "/servers", {"server": {
            "name": "%s-%d" % (a.prefix, i + 1), "imageRef": image, "flavorRef": "1",
            "networks": "none", "host": a.host,
            "metadata": {"HA_Enabled": "True", "vmheal_test": a.prefix}}})
        ids.append(s["server"]["id"])

    def all_active():
        bad = []
        for sid in ids:
            s = c.nv("GET", "/servers/" + sid)["server"]
            if s["status"] == "ERROR":
                raise Fail("server %s went to ERROR: %s" % (sid, s.get("fault")))
            if s["status"] != "ACTIVE" or s.get("OS-EXT-SRV-ATTR:host") != a.host:
                bad.append(sid)
        return not bad
    wait("%d servers ACTIVE on %s" % (a.n, a.host), 120 + 6 * a.n, all_active, 1.0)
    print("\n".join(ids))


def cmd_ids_on(c, a):
    for s in servers_on(c, a.host):
        print(s["id"])


def cmd_verify(c, a):
    """Every server ACTIVE on a host other than SRC, with exactly one
    evacuate instance action and exactly one evacuation migration."""
    report, failures = [], []
    migs = c.nv("GET", "/os-migrations?migration_type=evacuation&source_compute=" + a.src)
    by_server = {}
    for m in migs["migrations"]:
        by_server.setdefault(m["instance_uuid"], []).append(m)
    for sid in a.ids:
        s = c.nv("GET", "/servers/" + sid)["server"]
        acts = c.nv("GET", "/servers/%s/os-instance-actions" % sid)["instanceActions"]
        evac = [x for x in acts if x["action"] == "evacuate"]
        ms = by_server.get(sid, [])
        host = s.get("OS-EXT-SRV-ATTR:host")
        row = {"id": sid, "status": s["status"], "host": host, "evacuate_actions": len(evac),
               "migrations": [m["status"] for m in ms]}
        report.append(row)
        if s["status"] != "ACTIVE" or host in (None, a.src):
            failures.append("%s is %s on %s" % (sid, s["status"], host))
        if len(evac) != 1 or len(ms) != 1:
            failures.append("%s: %d evacuate actions, %d evacuation migrations (want 1 and 1)" %
                            (sid, len(evac), len(ms)))
        elif ms[0]["status"] not in ("done", "completed"):
            failures.append("%s: migration %s" % (sid, ms[0]["status"]))
    json.dump({"servers": report, "failures": failures}, sys.stdout, indent=1)
    print()
    if failures:
        raise Fail("%d problem(s): %s" % (len(failures), "; ".join(failures[:5])))


def cmd_unfence(c, a):
    svc = c.nv("GET", "/os-services?binary=nova-compute&host=" + a.host)["services"][0]

    def cleaned():
        left = c.nv("GET", "/os-migrations?migration_type=evacuation&source_compute=" + a.host)
        return not [m for m in left["migrations"] if m["status"] in ("accepted", "pre-migrating", "done")]
    wait("evacuation records of %s completed" % a.host, 120, cleaned)
    if svc["forced_down"]:
        c.nv("PUT", "/os-services/" + svc["id"], {"forced_down": False})

    def up():
        s = c.nv("GET", "/os-services?binary=nova-compute&host=" + a.host)["services"][0]
        return s["state"] == "up"
    wait("%s up" % a.host, 120, up)
    c.nv("PUT", "/os-services/" + svc["id"], {"status": "enabled"})


def cmd_delete(c, a):
    for sid in a.ids:
        c.nv("DELETE", "/servers/" + sid, expect=(204, 404))

    def gone():
        return all(c.call("GET", c.nova + "/servers/" + sid)[0] == 404 for sid in a.ids)
    wait("servers deleted", 120 + len(a.ids), gone)


def cmd_serial_evacuate(c, a):
    t0 = time.time()
    svc = c.nv("GET", "/os-services?binary=nova-compute&host=" + a.src)["services"][0]
    c.nv("PUT", "/os-services/" + svc["id"], {"forced_down": True, "status": "disabled",
                                              "disabled_reason": "serial baseline"})
    for sid in a.ids:
        c.nv("POST", "/servers/%s/action" % sid, {"evacuate": {}})

        def moved():
            s = c.nv("GET", "/servers/" + sid)["server"]
            if s["status"] == "ERROR":
                raise Fail("%s went to ERROR" % sid)
            return (s["status"] == "ACTIVE" and s["OS-EXT-STS:task_state"] is None
                    and s.get("OS-EXT-SRV-ATTR:host") not in (None, a.src))
        wait("%s ACTIVE off %s" % (sid, a.src), 600, moved, 0.25)
    print("%.1f" % (time.time() - t0))


def cmd_service(c, a):
    svcs = c.nv("GET", "/os-services?binary=nova-compute&host=" + a.host)["services"]
    print(json.dumps(svcs[0] if svcs else None))


def cmd_nova(c, a):
    body = c.nv(a.method, a.path, json.loads(a.json) if a.json else None)
    print(json.dumps(body))


def main():
    p = argparse.ArgumentParser(prog="rnapi.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("catalog")
    for k in ("nova", "placement", "glance", "neutron"):
        s.add_argument(k)
    s = sub.add_parser("image")
    s.add_argument("glance")
    s.add_argument("file")
    sub.add_parser("flavor")
    s = sub.add_parser("wait-computes")
    s.add_argument("hosts", nargs="+")
    s.add_argument("--timeout", type=int, default=120)
    s = sub.add_parser("boot")
    s.add_argument("n", type=int)
    s.add_argument("host")
    s.add_argument("prefix")
    s = sub.add_parser("ids-on")
    s.add_argument("host")
    s = sub.add_parser("verify-evacuated")
    s.add_argument("src")
    s.add_argument("ids", nargs="+")
    s = sub.add_parser("unfence")
    s.add_argument("host")
    s = sub.add_parser("delete")
    s.add_argument("ids", nargs="+")
    s = sub.add_parser("service")
    s.add_argument("host")
    s = sub.add_parser("nova")
    s.add_argument("method")
    s.add_argument("path")
    s.add_argument("json", nargs="?")
    s = sub.add_parser("serial-evacuate")
    s.add_argument("src")
    s.add_argument("ids", nargs="+")
    a = p.parse_args()
    try:
        c = Cloud()
        globals()["cmd_" + a.cmd.replace("-", "_").replace("verify_evacuated", "verify")](c, a)
    except (Fail, OSError, KeyError, IndexError, ValueError) as exc:
        print("rnapi %s: %s" % (a.cmd, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
