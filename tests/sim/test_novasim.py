"""Tests of novasim: the Keystone and Nova rules vmheal's OpenStack driver
relies on, the control API, fault injection and the command line.

Run: python3 -m unittest tests/sim/test_novasim.py (from the source tree),
or through tests/sim/run_novasim_tests.sh under `make check`.
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from novasim_lib.server import Server, Sim  # noqa: E402

ADMIN = ("admin", "admin-pass", "admin")
DEMO = ("demo", "demo-pass", "demo")


class Client:
    def __init__(self, port):
        self.port = port
        self.token = None
        self.mv = "2.73"
        self.prefix = "/v2.1"

    def raw(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = json.dumps(body).encode() if body is not None else None
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        try:
            conn.request(method, path, data, h)
            r = conn.getresponse()
            text = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, text
        finally:
            conn.close()

    def call(self, method, path, body=None, headers=None):
        st, hd, text = self.raw(method, path, body, headers)
        return st, hd, (json.loads(text) if text else None)

    def login(self, who=ADMIN):
        user, pw, proj = who
        st, hd, body = self.call("POST", "/v3/auth/tokens", {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": "Default"}, "password": pw}}},
            "scope": {"project": {"name": proj, "domain": {"id": "default"}}}}})
        assert st == 201, (st, body)
        self.token = hd["x-subject-token"]
        return body

    def nv(self, method, path, body=None, mv=None):
        h = {"X-Auth-Token": self.token or ""}
        v = mv if mv is not None else self.mv
        if v:
            h["OpenStack-API-Version"] = "compute " + v
        return self.call(method, self.prefix + path, body, h)

    def ctl(self, method, path, body=None):
        st, _, doc = self.call(method, "/control/" + path, body)
        assert st == 200, (st, doc)
        return doc


class SimCase(unittest.TestCase):
    scenario = {"settings": {"schedule_delay_s": 0.05, "spawn_delay_s": 0.05,
                             "action_delay_s": 0.05, "cleanup_delay_s": 0.05,
                             "rpc_timeout_s": 0.5}}

    def setUp(self):
        self.sim = Sim(json.loads(json.dumps(self.scenario)))
        self.srv = Server(self.sim, 0)
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.c = Client(self.srv.server_address[1])

    def tearDown(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.sim.close()

    def service(self, host, mv="2.53"):
        st, _, doc = self.c.nv("GET", "/os-services?binary=nova-compute&host=" + host, mv=mv)
        self.assertEqual(st, 200)
        self.assertEqual(len(doc["services"]), 1)
        return doc["services"][0]

    def server(self, sid):
        st, _, doc = self.c.nv("GET", "/servers/" + sid)
        self.assertEqual(st, 200, doc)
        return doc["server"]

    def idle(self):
        self.assertTrue(self.c.ctl("GET", "wait-idle?timeout=10")["idle"])

    def fence(self, host):
        svc = self.service(host)
        st, _, doc = self.c.nv("PUT", "/os-services/" + svc["id"], {
            "forced_down": True, "status": "disabled", "disabled_reason": "vmheal: fenced"})
        self.assertEqual(st, 200, doc)
        return doc["service"]


class TestKeystone(SimCase):
    def test_password_scoped_token_and_catalog(self):
        body = self.c.login()
        tok = body["token"]
        self.assertTrue(self.c.token.startswith("nsim"))
        self.assertIn("admin", [r["name"] for r in tok["roles"]])
        self.assertTrue(tok["expires_at"].endswith("Z"))
        compute = [s for s in tok["catalog"] if s["type"] == "compute"][0]
        ifaces = {(e["interface"], e["region_id"]) for e in compute["endpoints"]}
        self.assertIn(("public", "RegionOne"), ifaces)
        self.assertIn(("internal", "RegionOne"), ifaces)

    def test_bad_password_and_missing_domain(self):
        st, _, body = self.c.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "wrong"}}}}})
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["code"], 401)
        st, _, body = self.c.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}})
        self.assertEqual(st, 400)

    def test_unscoped_token_has_no_catalog(self):
        st, hd, body = self.c.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": "admin-pass"}}}}})
        self.assertEqual(st, 201)
        self.assertNotIn("catalog", body["token"])

    def test_application_credential_by_id_and_name(self):
        cid = self.sim.cloud.add_app_cred("hook", "s3cret-app", "admin", "admin")
        for ident in ({"id": cid, "secret": "s3cret-app"},
                      {"name": "hook", "secret": "s3cret-app",
                       "user": {"name": "admin", "domain": {"name": "Default"}}}):
            st, hd, body = self.c.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
                "methods": ["application_credential"], "application_credential": ident}}})
            self.assertEqual(st, 201, body)
            self.assertEqual(body["token"]["project"]["name"], "admin")
            self.assertIn("catalog", body["token"])
        st, _, _ = self.c.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cid, "secret": "nope"}}}})
        self.assertEqual(st, 401)
        st, _, _ = self.c.call("POST", "/v3/auth/tokens", {"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": cid, "secret": "s3cret-app"}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        self.assertEqual(st, 401)

    def test_token_expiry(self):
        self.c.ctl("POST", "settings", {"token_ttl_s": 0.5})
        self.c.login()
        self.assertEqual(self.c.nv("GET", "/os-services")[0], 200)
        time.sleep(0.7)
        st, hd, body = self.c.nv("GET", "/os-services")
        self.assertEqual(st, 401)
        self.assertIn("www-authenticate", hd)
        self.c.login()
        self.assertEqual(self.c.nv("GET", "/os-services")[0], 200)
        self.c.ctl("POST", "expire-tokens")
        self.assertEqual(self.c.nv("GET", "/os-services")[0], 401)


class TestMicroversions(SimCase):
    def setUp(self):
        super().setUp()
        self.c.login()

    def test_version_document(self):
        st, _, doc = self.c.call("GET", "/v2.1/")
        self.assertEqual(st, 200)
        self.assertEqual(doc["version"]["version"], "2.93")
        self.assertEqual(doc["version"]["min_version"], "2.1")
        self.c.ctl("POST", "settings", {"max_version": "2.60"})
        self.assertEqual(self.c.call("GET", "/v2.1")[2]["version"]["version"], "2.60")

    def test_negotiation(self):
        st, hd, doc = self.c.nv("GET", "/os-services", mv="")
        self.assertEqual(hd["openstack-api-version"], "compute 2.1")
        self.assertIsInstance(doc["services"][0]["id"], int)
        self.assertNotIn("forced_down", doc["services"][0])
        st, hd, doc = self.c.nv("GET", "/os-services", mv="2.53")
        self.assertEqual(hd["x-openstack-nova-api-version"], "2.53")
        self.assertEqual(len(doc["services"][0]["id"]), 36)
        self.assertEqual(self.c.nv("GET", "/os-services", mv="2.94")[0], 406)
        self.assertEqual(self.c.nv("GET", "/os-services", mv="two")[0], 400)
        self.assertEqual(self.c.nv("GET", "/os-services", mv="latest")[1]["openstack-api-version"],
                         "compute 2.93")
        # the legacy header alone
        st, hd, _ = self.c.call("GET", "/v2.1/os-services", headers={
            "X-Auth-Token": self.c.token, "X-OpenStack-Nova-API-Version": "2.60"})
        self.assertEqual(hd["x-openstack-nova-api-version"], "2.60")

    def test_request_ids(self):
        st, hd, _ = self.c.nv("GET", "/os-services")
        self.assertTrue(hd["x-openstack-request-id"].startswith("req-"))
        self.assertEqual(hd["x-openstack-request-id"], hd["x-compute-request-id"])


class TestServices(SimCase):
    def setUp(self):
        super().setUp()
        self.c.login()

    def test_force_down_and_disable_in_one_put(self):
        svc = self.fence("cmp1")
        self.assertEqual((svc["state"], svc["status"], svc["forced_down"]), ("down", "disabled", True))
        self.assertEqual(svc["disabled_reason"], "vmheal: fenced")
        led = self.c.ctl("GET", "ledger?route=compute.services.update")["ledger"]
        self.assertEqual(len(led), 1)
        self.assertEqual(led[0]["host"], "cmp1")

    def test_put_validation(self):
        sid = self.service("cmp1")["id"]
        for body in ({}, {"status": "enabled", "disabled_reason": "x"}, {"forced_down": "yes"},
                     {"status": "disabled", "host": "cmp1"}, {"status": "off"}):
            self.assertEqual(self.c.nv("PUT", "/os-services/" + sid, body)[0], 400, body)
        self.assertEqual(self.c.nv("PUT", "/os-services/not-a-uuid", {"forced_down": True})[0], 400)
        self.assertEqual(self.c.nv("PUT", "/os-services/" + sid, {"forced_down": True}, mv="2.52")[0], 404)

    def test_service_down_after_down_time(self):
        self.c.ctl("POST", "settings", {"service_down_time_s": 0.3})
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.assertEqual(self.service("cmp1")["state"], "up")
        time.sleep(0.4)
        self.assertEqual(self.service("cmp1")["state"], "down")

    def test_disable_of_dead_but_up_service_stalls(self):
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        sid = self.service("cmp1")["id"]
        t = time.time()
        st, _, _ = self.c.nv("PUT", "/os-services/" + sid, {"status": "disabled"})
        self.assertEqual(st, 200)
        self.assertGreaterEqual(time.time() - t, 0.45)
        self.c.ctl("POST", "restore-host", {"host": "cmp1"})
        self.c.nv("PUT", "/os-services/" + sid, {"status": "enabled"})
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        t = time.time()
        self.fence("cmp1")
        self.assertLess(time.time() - t, 0.3)

    def test_non_admin_is_refused(self):
        self.c.login(DEMO)
        self.assertEqual(self.c.nv("GET", "/os-services")[0], 403)


class TestServerLists(SimCase):
    scenario = dict(SimCase.scenario, nova={
        "hosts": [{"name": "cmp1"}, {"name": "cmp10"}, {"name": "cmp2"}],
        "servers": [{"count": 7, "host": "cmp1"}, {"count": 2, "host": "cmp10"},
                    {"count": 1, "host": "cmp2", "project": "demo"}]})

    def setUp(self):
        super().setUp()
        self.c.login()

    def test_host_filter_is_substring(self):
        st, _, doc = self.c.nv("GET", "/servers/detail?all_tenants=1&host=cmp1")
        hosts = [s["OS-EXT-SRV-ATTR:host"] for s in doc["servers"]]
        self.assertEqual(sorted(set(hosts)), ["cmp1", "cmp10"])
        self.c.ctl("POST", "settings", {"host_filter": "exact"})
        st, _, doc = self.c.nv("GET", "/servers/detail?all_tenants=1&host=cmp1")
        self.assertEqual(len(doc["servers"]), 7)

    def test_paging(self):
        self.c.ctl("POST", "settings", {"max_limit": 3})
        seen, path, pages = [], "/servers/detail?all_tenants=1&host=cmp1", 0
        while path:
            st, _, doc = self.c.nv("GET", path)
            self.assertEqual(st, 200)
            self.assertLessEqual(len(doc["servers"]), 3)
            seen += [s["id"] for s in doc["servers"]]
            pages += 1
            nxt = [l["href"] for l in doc.get("servers_links", []) if l["rel"] == "next"]
            path = nxt[0].split("/v2.1", 1)[1] if nxt else None
        self.assertEqual(len(seen), 9)
        self.assertEqual(len(set(seen)), 9)
        self.assertEqual(pages, 4)  # 3 + 3 + 3 + an empty last page
        self.assertEqual(self.c.nv("GET", "/servers/detail?all_tenants=1&marker=nope")[0], 400)
        st, _, doc = self.c.nv("GET", "/servers/detail?all_tenants=1&limit=2")
        self.assertEqual(len(doc["servers"]), 2)

    def test_non_admin_view(self):
        self.c.login(DEMO)
        self.assertEqual(self.c.nv("GET", "/servers/detail?all_tenants=1")[0], 403)
        st, _, doc = self.c.nv("GET", "/servers/detail?host=cmp1")
        # the host filter is dropped silently: the project's own servers
        self.assertEqual(len(doc["servers"]), 1)
        self.assertNotIn("OS-EXT-SRV-ATTR:host", doc["servers"][0])

    def test_unknown_query_parameter_at_2_75(self):
        self.assertEqual(self.c.nv("GET", "/servers/detail?all_tenants=1&bogus=1", mv="2.75")[0], 400)
        self.assertEqual(self.c.nv("GET", "/servers/detail?all_tenants=1&bogus=1", mv="2.73")[0], 200)

    def test_fields(self):
        st, _, doc = self.c.nv("GET", "/servers/detail?all_tenants=1&host=cmp2")
        s = doc["servers"][0]
        for key in ("OS-EXT-STS:vm_state", "OS-EXT-STS:task_state", "locked", "locked_reason",
                    "host_status", "metadata", "OS-EXT-SRV-ATTR:hypervisor_hostname"):
            self.assertIn(key, s)
        self.assertEqual(s["host_status"], "UP")
        self.assertEqual(self.c.nv("GET", "/servers/nope")[0], 404)

    def test_addresses(self):
        # none by default
        st, _, doc = self.c.nv("GET", "/servers/detail?all_tenants=1&host=cmp2")
        self.assertEqual(doc["servers"][0]["addresses"], {})
        # Nova's shape, as given (malformed too); the shorthand
        nova = {"net": [{"addr": "10.0.0.5", "version": 4, "OS-EXT-IPS:type": "fixed"}]}
        a = self.c.ctl("POST", "servers", {"host": "cmp2", "addresses": nova})["ids"][0]
        b = self.c.ctl("POST", "servers", {"host": "cmp2", "count": 2,
                                           "ips": ["10.1.0.%d", "floating:fd00::%d"]})["ids"]
        self.assertEqual(self.server(a)["addresses"], nova)
        n = len(self.sim.cloud.servers) - 1  # the first of b's numbers
        got = self.server(b[0])["addresses"]["private"]
        self.assertEqual([(e["addr"], e["version"], e["OS-EXT-IPS:type"]) for e in got],
                         [("10.1.0.%d" % n, 4, "fixed"), ("fd00::%d" % n, 6, "floating")])
        self.assertEqual(self.server(b[1])["addresses"]["private"][0]["addr"], "10.1.0.%d" % (n + 1))
        self.c.ctl("POST", "server", {"id": a, "addresses": "garbage"})
        self.assertEqual(self.server(a)["addresses"], "garbage")
        self.c.ctl("POST", "server", {"id": a, "ips": ["192.0.2.1"]})
        self.assertEqual(self.server(a)["addresses"]["private"][0]["addr"], "192.0.2.1")
        st, _, _ = self.c.call("POST", "/control/server", {"id": a, "ips": "192.0.2.1"})
        self.assertEqual(st, 400)


class TestEvacuate(SimCase):
    scenario = dict(SimCase.scenario, nova={
        "hosts": [{"name": "cmp1"}, {"name": "cmp2", "vcpus": 4}],
        "servers": [{"count": 3, "host": "cmp1", "metadata": {"HA_Enabled": "True"}}]})

    def setUp(self):
        super().setUp()
        self.c.login()
        self.ids = [s["id"] for s in self.sim.cloud.state()["servers"]]

    def evacuate(self, sid, body=None, mv=None):
        return self.c.nv("POST", "/servers/%s/action" % sid, {"evacuate": body or {}}, mv=mv)

    def test_still_in_use_until_forced_down(self):
        st, _, doc = self.evacuate(self.ids[0])
        self.assertEqual(st, 400)
        self.assertEqual(doc["badRequest"]["message"], "Compute service of cmp1 is still in use.")
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.assertEqual(self.evacuate(self.ids[0])[0], 400)
        self.c.ctl("POST", "age-host", {"host": "cmp1", "seconds": 61})
        st, hd, doc = self.evacuate(self.ids[0])
        self.assertEqual(st, 200)
        self.assertIsNone(doc)
        self.idle()
        s = self.server(self.ids[0])
        self.assertEqual((s["status"], s["OS-EXT-SRV-ATTR:host"]), ("ACTIVE", "cmp2"))

    def test_full_flow_and_records(self):
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.fence("cmp1")
        rids = {}
        for sid in self.ids:
            st, hd, _ = self.evacuate(sid)
            self.assertEqual(st, 200)
            rids[sid] = hd["x-openstack-request-id"]
            self.assertEqual(self.server(sid)["OS-EXT-STS:task_state"], "rebuilding")
        self.idle()
        for sid in self.ids:
            s = self.server(sid)
            self.assertEqual((s["status"], s["OS-EXT-SRV-ATTR:host"], s["OS-EXT-STS:task_state"]),
                             ("ACTIVE", "cmp2", None))
            acts = self.c.nv("GET", "/servers/%s/os-instance-actions" % sid)[2]["instanceActions"]
            self.assertEqual([a["action"] for a in acts], ["evacuate"])
            self.assertEqual(acts[0]["request_id"], rids[sid])
            one = self.c.nv("GET", "/servers/%s/os-instance-actions/%s" % (sid, rids[sid]))[2]
            self.assertEqual([e["event"] for e in one["instanceAction"]["events"]],
                             ["rebuild_server", "compute_rebuild_instance"])
        migs = self.c.nv("GET", "/os-migrations?migration_type=evacuation&source_compute=cmp1")[2]
        self.assertEqual(sorted(m["status"] for m in migs["migrations"]), ["done"] * 3)
        self.assertEqual(self.c.ctl("GET", "state")["safety_violations"], [])
        # force-up refused until the compute has restarted and cleaned up
        sid = self.service("cmp1")["id"]
        st, _, doc = self.c.nv("PUT", "/os-services/" + sid, {"forced_down": False})
        self.assertEqual(st, 400)
        self.assertIn("`done` evacuation migration records remain", doc["badRequest"]["message"])
        self.c.ctl("POST", "restore-host", {"host": "cmp1"})
        self.idle()
        self.assertEqual(self.c.nv("PUT", "/os-services/" + sid, {"forced_down": False})[0], 200)
        migs = self.c.nv("GET", "/os-migrations?migration_type=evacuation")[2]["migrations"]
        self.assertEqual({m["status"] for m in migs}, {"completed"})

    def test_no_capacity(self):
        self.c.ctl("POST", "servers", {"count": 1, "host": "cmp1", "vcpus": 8})
        big = [s["id"] for s in self.sim.cloud.state()["servers"] if s["id"] not in self.ids][0]
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.fence("cmp1")
        self.assertEqual(self.evacuate(big)[0], 200)
        self.idle()
        s = self.server(big)
        self.assertEqual((s["status"], s["OS-EXT-SRV-ATTR:host"]), ("ERROR", "cmp1"))
        self.assertIn("No valid host", s["fault"]["message"])
        migs = self.c.nv("GET", "/os-migrations?migration_type=evacuation&instance_uuid=" + big)[2]
        self.assertEqual(migs["migrations"][0]["status"], "error")
        acts = self.c.nv("GET", "/servers/%s/os-instance-actions" % big)[2]["instanceActions"]
        self.assertEqual(acts[0]["message"], "Error")

    def test_schema_by_microversion(self):
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.fence("cmp1")
        sid = self.ids[0]
        self.assertEqual(self.evacuate(sid, {"onSharedStorage": False})[0], 400)
        self.assertEqual(self.evacuate(sid, {"host": "cmp2", "force": True})[0], 400)
        self.assertEqual(self.evacuate(sid, {"host": "cmp1"})[0], 400)
        self.assertEqual(self.evacuate(sid, {"host": "nowhere"})[0], 404)
        self.assertEqual(self.evacuate(sid, {}, mv="2.13")[0], 400)
        self.c.login(DEMO)
        self.assertEqual(self.evacuate(sid)[0], 403)

    def test_claim_failure_keeps_server_on_source(self):
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.fence("cmp1")
        self.c.ctl("POST", "fail-action", {"server": self.ids[0], "action": "evacuate", "mode": "claim"})
        self.assertEqual(self.evacuate(self.ids[0])[0], 200)
        self.idle()
        s = self.server(self.ids[0])
        self.assertEqual((s["status"], s["OS-EXT-SRV-ATTR:host"], s["OS-EXT-STS:task_state"]),
                         ("ACTIVE", "cmp1", None))
        migs = self.c.nv("GET", "/os-migrations?instance_uuid=" + self.ids[0])[2]["migrations"]
        self.assertEqual(migs[0]["status"], "failed")

    def test_unfenced_source_is_a_safety_violation(self):
        self.fence("cmp1")  # forced down, but the compute is alive
        self.assertEqual(self.evacuate(self.ids[0])[0], 200)
        self.idle()
        self.assertEqual(len(self.c.ctl("GET", "state")["safety_violations"]), 1)


class TestServerActions(SimCase):
    scenario = dict(SimCase.scenario, nova={
        "hosts": [{"name": "cmp1"}, {"name": "cmp2"}],
        "servers": [{"count": 1, "host": "cmp1", "id": "11111111-1111-4111-8111-111111111111"},
                    {"count": 1, "host": "cmp2", "id": "22222222-2222-4222-8222-222222222222"}]})
    A = "11111111-1111-4111-8111-111111111111"
    B = "22222222-2222-4222-8222-222222222222"

    def setUp(self):
        super().setUp()
        self.c.login()

    def act(self, sid, body, mv=None):
        return self.c.nv("POST", "/servers/%s/action" % sid, body, mv=mv)

    def test_hard_reboot_recovers_error(self):
        self.c.ctl("POST", "server", {"id": self.A, "vm_state": "error"})
        self.assertEqual(self.server(self.A)["status"], "ERROR")
        self.assertIn("fault", self.server(self.A))
        self.assertEqual(self.act(self.A, {"reboot": {"type": "HARD"}})[0], 202)
        self.idle()
        self.assertEqual(self.server(self.A)["status"], "ACTIVE")

    def test_reboot_failure_armed(self):
        self.c.ctl("POST", "fail-action", {"server": self.A, "action": "reboot"})
        self.act(self.A, {"reboot": {"type": "HARD"}})
        self.idle()
        self.assertEqual(self.server(self.A)["status"], "ERROR")

    def test_reboot_on_dead_host_hangs(self):
        self.c.ctl("POST", "fail-host", {"host": "cmp1"})
        self.assertEqual(self.act(self.A, {"reboot": {"type": "HARD"}})[0], 202)
        time.sleep(0.2)
        self.assertEqual(self.server(self.A)["status"], "HARD_REBOOT")

    def test_stop_start_rebuild(self):
        self.assertEqual(self.act(self.A, {"os-stop": None})[0], 202)
        self.idle()
        self.assertEqual(self.server(self.A)["status"], "SHUTOFF")
        self.assertEqual(self.act(self.A, {"os-stop": None})[0], 409)
        self.assertEqual(self.act(self.A, {"os-start": None})[0], 202)
        self.idle()
        self.assertEqual(self.server(self.A)["status"], "ACTIVE")
        st, _, doc = self.act(self.A, {"rebuild": {"imageRef": "aaaaaaaa-0000-4000-8000-000000000000"}})
        self.assertEqual(st, 202)
        self.assertEqual(doc["server"]["status"], "REBUILD")
        self.idle()
        self.assertEqual(self.server(self.A)["status"], "ACTIVE")

    def test_reset_state(self):
        self.assertEqual(self.act(self.A, {"os-resetState": {"state": "error"}})[0], 202)
        self.assertEqual(self.server(self.A)["status"], "ERROR")
        self.assertEqual(self.act(self.A, {"os-resetState": {"state": "active"}})[0], 202)
        self.assertEqual(self.server(self.A)["status"], "ACTIVE")
        self.assertEqual(self.act(self.A, {"os-resetState": {"state": "bogus"}})[0], 400)

    def test_lock_with_reason(self):
        self.assertEqual(self.act(self.A, {"lock": {"locked_reason": "vmheal: evacuating"}})[0], 202)
        s = self.server(self.A)
        self.assertEqual((s["locked"], s["locked_reason"]), (True, "vmheal: evacuating"))
        self.assertEqual(self.act(self.A, {"lock": {"locked_reason": "x"}}, mv="2.53")[0], 400)
        self.assertEqual(self.act(self.A, {"lock": None}, mv="2.53")[0], 202)
        self.assertEqual(self.act(self.A, {"unlock": None})[0], 202)
        self.assertFalse(self.server(self.A)["locked"])
        self.assertEqual(self.act(self.A, {"bogus": None})[0], 400)

    def test_metadata(self):
        p = "/servers/%s/metadata" % self.A
        self.assertEqual(self.c.nv("POST", p, {"metadata": {"HA_Enabled": "True", "a": "1"}})[0], 200)
        self.assertEqual(self.c.nv("PUT", p + "/vmheal_flaps", {"meta": {"vmheal_flaps": "2"}})[0], 200)
        md = self.c.nv("GET", p)[2]["metadata"]
        self.assertEqual(md, {"HA_Enabled": "True", "a": "1", "vmheal_flaps": "2"})
        self.assertEqual(self.c.nv("GET", p + "/a")[2], {"meta": {"a": "1"}})
        self.assertEqual(self.c.nv("DELETE", p + "/a")[0], 204)
        self.assertEqual(self.c.nv("PUT", p, {"metadata": {"only": "this"}})[2]["metadata"], {"only": "this"})
        self.c.ctl("POST", "server", {"id": self.A, "vm_state": "error"})
        self.assertEqual(self.c.nv("POST", p, {"metadata": {"x": "y"}})[0], 409)
        self.assertEqual(self.c.nv("GET", p)[0], 200)


class TestFaults(SimCase):
    def setUp(self):
        super().setUp()
        self.c.login()

    def test_http_fail_next_and_counters(self):
        self.c.ctl("POST", "faults", {"fail_next": [{"route": "compute.services.list",
                                                     "kind": "http", "status": 503, "count": 2}]})
        self.assertEqual(self.c.nv("GET", "/os-services")[0], 503)
        st, hd, doc = self.c.nv("GET", "/os-services")
        self.assertEqual(st, 503)
        self.assertIn("serviceUnavailable", doc)
        self.assertEqual(self.c.nv("GET", "/os-services")[0], 200)
        cnt = self.c.ctl("GET", "counters")
        self.assertEqual(cnt["by_route"]["compute.services.list"], 3)
        self.assertEqual(cnt["by_outcome"]["compute.services.list fault:http"], 2)

    def test_drop_and_drop_after(self):
        sid = self.service("cmp1")["id"]
        self.c.ctl("POST", "faults", {"fail_next": [{"route": "compute.services.update", "kind": "drop"}]})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.c.raw("PUT", "/v2.1/os-services/" + sid, {"forced_down": True},
                       {"X-Auth-Token": self.c.token, "OpenStack-API-Version": "compute 2.53"})
        self.assertFalse(self.service("cmp1")["forced_down"])
        self.c.ctl("POST", "faults", {"fail_next": [{"route": "compute.services.update",
                                                     "kind": "drop_after"}]})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.c.raw("PUT", "/v2.1/os-services/" + sid, {"forced_down": True},
                       {"X-Auth-Token": self.c.token, "OpenStack-API-Version": "compute 2.53"})
        self.assertTrue(self.service("cmp1")["forced_down"])
        led = self.c.ctl("GET", "ledger?route=compute.services.update")["ledger"]
        self.assertEqual([r["delivered"] for r in led], [False])

    def test_malformed_truncate_latency(self):
        self.c.ctl("POST", "faults", {"fail_next": [
            {"route": "compute.servers.list", "kind": "malformed"},
            {"route": "compute.servers.list", "kind": "truncate"}]})
        for _ in range(2):
            st, _, text = self.c.raw("GET", "/v2.1/servers/detail",
                                     headers={"X-Auth-Token": self.c.token})
            self.assertEqual(st, 200)
            with self.assertRaises(ValueError):
                json.loads(text)
        self.c.ctl("POST", "faults", {"routes": {"compute.version": {"latency_ms": 300}}})
        t = time.time()
        self.c.call("GET", "/v2.1/")
        self.assertGreaterEqual(time.time() - t, 0.28)

    def test_action_route_names(self):
        self.c.ctl("POST", "faults", {"fail_next": [{"route": "compute.server.evacuate", "kind": "http",
                                                     "status": 500}]})
        sid = self.sim.cloud.add_servers({"host": "cmp1"})[0]
        st, _, _ = self.c.nv("POST", "/servers/%s/action" % sid, {"lock": None})
        self.assertEqual(st, 202)
        st, _, _ = self.c.nv("POST", "/servers/%s/action" % sid, {"evacuate": {}})
        self.assertEqual(st, 500)
        routes = self.c.ctl("GET", "routes")["routes"]
        self.assertIn("compute.server.evacuate", routes)

    def test_bad_fault_config(self):
        st, _, _ = self.c.call("POST", "/control/faults", {"routes": {"x": {"bogus_rate": 1}}})
        self.assertEqual(st, 400)


class TestEndpoints(SimCase):
    scenario = dict(SimCase.scenario, settings=dict(SimCase.scenario["settings"],
                                                    regions=["RegionOne", "RegionTwo"],
                                                    project_in_url=True))

    def test_interface_and_region_prefixes(self):
        body = self.c.login()
        compute = [s for s in body["token"]["catalog"] if s["type"] == "compute"][0]
        for ep in compute["endpoints"]:
            self.assertTrue(ep["url"].endswith("/" + body["token"]["project"]["id"]))
            path = ep["url"].split(str(self.c.port), 1)[1]
            st, _, _ = self.c.call("GET", path + "/os-services", headers={
                "X-Auth-Token": self.c.token, "OpenStack-API-Version": "compute 2.53"})
            self.assertEqual(st, 200, path)
        cnt = self.c.ctl("GET", "counters")
        self.assertEqual(cnt["by_route"]["compute.services.list"], 6)


class TestCommandLine(unittest.TestCase):
    def test_serve_and_ctl(self):
        with tempfile.TemporaryDirectory() as d:
            scen = os.path.join(d, "s.json")
            with open(scen, "w") as fh:
                json.dump({"nova": {"hosts": [{"name": "h1"}, {"name": "h2"}],
                                    "servers": [{"count": 2, "host": "h1"}]}}, fh)
            exe = os.path.join(HERE, "novasim")
            p = subprocess.Popen([sys.executable, exe, "serve", "--scenario", scen, "--port", "0",
                                  "--state-dir", d, "--lifetime", "120"],
                                 stdout=subprocess.PIPE, text=True)
            try:
                line = p.stdout.readline()
                self.assertIn("listening on http://127.0.0.1:", line)
                with open(os.path.join(d, "url")) as fh:
                    url = fh.read().strip()
                self.assertTrue(line.strip().endswith(url))
                run = lambda *a: subprocess.run([sys.executable, exe, "ctl", "--state-dir", d] + list(a),
                                                capture_output=True, text=True, timeout=30)
                r = run("fail-host", "h1")
                self.assertEqual(r.returncode, 0, r.stderr)
                st = json.loads(run("state").stdout)
                self.assertEqual(len(st["servers"]), 2)
                self.assertFalse([h for h in st["hosts"] if h["host"] == "h1"][0]["alive"])
                self.assertEqual(run("bogus").returncode, 2)
                self.assertEqual(run("shutdown").returncode, 0)
                self.assertEqual(p.wait(timeout=10), 0)
                self.assertTrue(os.path.exists(os.path.join(d, "events.jsonl")))
                self.assertFalse(os.path.exists(os.path.join(d, "port")))
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()

    @unittest.skipUnless(shutil.which("openssl"), "openssl is not installed")
    def test_tls_with_client_certificates(self):
        with tempfile.TemporaryDirectory() as d:
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            run = lambda *a: subprocess.run(["openssl"] + list(a), cwd=d, check=True,
                                            capture_output=True, timeout=60)
            run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=novasim-test-ca")
            for name, ext in (("srv", "subjectAltName=IP:127.0.0.1"),
                              ("cli", "extendedKeyUsage=clientAuth")):
                with open(os.path.join(d, name + ".ext"), "w") as fh:
                    fh.write(ext + "\n")
                run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                    "-subj", "/CN=" + name)
                run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-set_serial", "7" if name == "srv" else "8", "-days", "2",
                    "-extfile", name + ".ext", "-out", name + ".pem")
            f = lambda name: os.path.join(d, name)
            exe = os.path.join(HERE, "novasim")
            p = subprocess.Popen([sys.executable, exe, "serve", "--port", "0", "--state-dir", d,
                                  "--lifetime", "120", "--tls-cert", f("srv.pem"),
                                  "--tls-key", f("srv.key"), "--tls-client-ca", f("ca.pem")],
                                 stdout=subprocess.PIPE, text=True)
            try:
                line = p.stdout.readline()
                self.assertIn("listening on https://127.0.0.1:", line)
                port = int(line.rsplit(":", 1)[1])

                def get(cert):
                    ctx = ssl.create_default_context(cafile=f("ca.pem"))
                    if cert:
                        ctx.load_cert_chain(f("cli.pem"), f("cli.key"))
                    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
                    try:
                        conn.request("GET", "/v2.1/")
                        r = conn.getresponse()
                        return r.status, json.loads(r.read())
                    finally:
                        conn.close()
                st, doc = get(True)
                self.assertEqual(st, 200)
                # the catalog's links are https too
                self.assertTrue(doc["version"]["links"][0]["href"].startswith("https://"))
                with self.assertRaises((ssl.SSLError, ConnectionError)):
                    get(False)
                ctl = lambda *a: subprocess.run(
                    [sys.executable, exe, "ctl", "--state-dir", d, "--cacert", f("ca.pem"),
                     "--cert", f("cli.pem"), "--key", f("cli.key")] + list(a),
                    capture_output=True, text=True, timeout=30)
                ev = json.loads(ctl("events").stdout)
                self.assertTrue([e for e in ev["events"] if e["kind"] == "tls_refused"], ev)
                self.assertEqual(ctl("shutdown").returncode, 0)
                self.assertEqual(p.wait(timeout=10), 0)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()

    def test_bad_scenario(self):
        with tempfile.TemporaryDirectory() as d:
            scen = os.path.join(d, "s.json")
            with open(scen, "w") as fh:
                fh.write('{"nova": {}, "bogus": 1}')
            r = subprocess.run([sys.executable, os.path.join(HERE, "novasim"), "serve",
                                "--scenario", scen], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2)
            self.assertIn("unknown keys bogus", r.stderr)


if __name__ == "__main__":
    unittest.main()
