#!/usr/bin/env python3
"""Self-tests of onesim (stdlib unittest).

Every test that talks to onesim starts its own `onesim serve` process on
port 0 with a scenario written to a temporary directory, so tests cannot
disturb each other.  Run:  python3 tests/sim/test_onesim.py [-v]
"""

import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET
import xmlrpc.client

sys.dont_write_bytecode = True   # keep the source tree clean (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
ONESIM = os.path.join(HERE, "onesim")
sys.path.insert(0, HERE)

from onesim_lib import states as S                     # noqa: E402
from onesim_lib.faults import FaultInjector             # noqa: E402
from onesim_lib.hooks import parse_oned_conf, parse_onehook, HookError  # noqa: E402
from onesim_lib.xmlutil import parse_template, parse_str_or_xml  # noqa: E402

ADMIN = "oneadmin:secret"
FAST = {"sched_interval_ms": 20, "monitor_interval_ms": 20, "prolog_ms": 10,
        "boot_ms": 10, "save_ms": 10, "migrate_ms": 10, "shutdown_ms": 10,
        "epilog_ms": 10, "cleanup_ms": 10}


def scenario(**kw):
    base = {
        "users": {"oneadmin": "secret", "alice": "alicepw"},
        "timing": dict(FAST),
        "hosts": [{"name": "host1", "template": {"FENCE_IP": "192.0.2.1"}},
                  {"name": "host2"}],
        "vms": [{"count": 3, "host": "host1", "cpu": 1, "memory": 1024,
                 "user_template": {"HA": "yes", "HA_PRIORITY": "5"}}],
    }
    base.update(kw)
    return base


class Server:
    """A running `onesim serve` process."""

    def __init__(self, data, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="onesim-test-")
        self.state = os.path.join(self.dir, "state")
        self.scenario_path = os.path.join(self.dir, "scenario.json")
        with open(self.scenario_path, "w") as fh:
            json.dump(data, fh)
        self.proc = subprocess.Popen(
            [sys.executable, ONESIM, "serve", "--scenario", self.scenario_path,
             "--state-dir", self.state, "--lifetime", "600"] + list(extra_args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        port_file = os.path.join(self.state, "port")
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("onesim exited: %s" % self.proc.stderr.read())
            if time.time() > deadline:
                raise RuntimeError("onesim did not start")
            time.sleep(0.02)
        with open(port_file) as fh:
            self.port = int(fh.read())
        self.url = "http://127.0.0.1:%d/RPC2" % self.port
        self._local = threading.local()
        self._proxies = []

    # XML-RPC -----------------------------------------------------------
    def proxy(self):
        if not hasattr(self._local, "proxy"):
            self._local.proxy = xmlrpc.client.ServerProxy(self.url)
            self._proxies.append(self._local.proxy)
        return self._local.proxy

    def rpc(self, method, *params, auth=ADMIN):
        fn = self.proxy()
        for part in method.split("."):
            fn = getattr(fn, part)
        return fn(auth, *params)

    def ok(self, method, *params, **kw):
        result = self.rpc(method, *params, **kw)
        if not result[0]:
            raise AssertionError("%s%r failed: %r" % (method, params, result))
        return result[1]

    def raw(self, body, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", "/RPC2", body.encode() if isinstance(body, str) else body,
                         {"Content-Type": "text/xml"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    # control -----------------------------------------------------------
    def ctl(self, route, body=None, expect=200):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        if body is None:
            conn.request("GET", "/control/" + route)
        else:
            conn.request("POST", "/control/" + route, json.dumps(body).encode(),
                         {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = json.loads(resp.read())
        conn.close()
        if resp.status != expect:
            raise AssertionError("control %s -> %d %r" % (route, resp.status, data))
        return data

    def vm(self, vm_id):
        return self.ctl("vm/%d" % vm_id)

    def wait_vm(self, vm_id, lcm=None, state=None, timeout=5, **kw):
        body = {"ids": [vm_id], "timeout": timeout}
        if lcm:
            body["lcm"] = lcm
        if state:
            body["state"] = state
        body.update(kw)
        result = self.ctl("wait-vms", body)
        if not result["ok"]:
            raise AssertionError("VM %d did not reach %s/%s: %r" % (vm_id, state, lcm, result))
        return result["vms"][0]

    def vm_xml(self, vm_id):
        return ET.fromstring(self.ok("one.vm.info", vm_id))

    def stop(self):
        for proxy in self._proxies:
            proxy("close")()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SimTestCase(unittest.TestCase):
    """Starts one onesim per test (scenario from self.scenario())."""

    def scenario(self):
        return scenario()

    def setUp(self):
        self.sim = Server(self.scenario())
        self.addCleanup(self.sim.stop)


def wait_dead(pid, timeout=3):
    """True once pid is gone or a zombie (a container's init may not reap)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def write_script(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o755)
    return path


# ==========================================================================
# Protocol and envelopes
# ==========================================================================

def call_body(method, *params):
    return xmlrpc.client.dumps(params, method)


class ProtocolTest(SimTestCase):
    def test_success_envelope_is_oned_shaped(self):
        status, body = self.sim.raw(call_body("one.system.version", ADMIN))
        self.assertEqual(status, 200)
        self.assertEqual(body.decode(),
                         '<?xml version="1.0" encoding="UTF-8"?>\r\n<methodResponse>\r\n'
                         '<params>\r\n<param><value><array><data>\r\n'
                         '<value><boolean>1</boolean></value>\r\n'
                         '<value><string>6.10.5</string></value>\r\n'
                         '<value><i4>0</i4></value>\r\n'
                         '</data></array></value></param>\r\n</params>\r\n'
                         '</methodResponse>\r\n')

    def test_failure_envelope_has_five_elements(self):
        status, body = self.sim.raw(call_body("one.vm.recover", ADMIN, 999, 4))
        self.assertIn(b"<value><i8>-1</i8></value>", body)
        result = self.sim.rpc("one.vm.recover", 999, 4)
        self.assertEqual(result, [False, "[one.vm.recover] Error getting virtual machine [999].",
                                  S.NO_EXISTS, 999, -1])

    def test_no_exists_messages(self):
        self.assertEqual(self.sim.rpc("one.host.info", 42)[1],
                         "[one.host.info] Error getting host [42].")
        self.assertEqual(self.sim.rpc("one.datastore.info", 42)[1],
                         "[one.datastore.info] Error getting datastore [42].")
        self.assertEqual(self.sim.rpc("one.vm.info", 42)[:4],
                         [False, "[one.vm.info] Error getting virtual machine [42].",
                          S.NO_EXISTS, 42])

    def test_type_errors_and_missing_params_are_faults(self):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            self.sim.rpc("one.vm.recover", "abc", 4)
        self.assertEqual(cm.exception.faultCode, -501)
        self.assertEqual(cm.exception.faultString, "Parameter that is supposed to be integer is not")
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            self.sim.rpc("one.vm.recover", 1)
        self.assertEqual(cm.exception.faultCode, -501)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            self.sim.rpc("one.vm.migrate", 1, 1, "yes")
        self.assertEqual(cm.exception.faultCode, -501)
        status, body = self.sim.raw(call_body("one.system.version"))
        self.assertIn(b"<name>faultCode</name>", body)

    def test_authentication_failure(self):
        result = self.sim.rpc("one.host.info", 0, auth="oneadmin:wrong")
        self.assertEqual(result, [False, "[one.host.info] User couldn't be authenticated, "
                                  "aborting call.", S.AUTHENTICATION, -1, -1])
        self.assertFalse(self.sim.rpc("one.system.version", auth="nobody")[0])
        # trailing whitespace of an auth file is ignored, as by oned's clients
        self.assertTrue(self.sim.rpc("one.system.version", auth="oneadmin:secret\n")[0])

    def test_unknown_method_and_doctype(self):
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            self.sim.rpc("one.vm.nosuch", 1)
        self.assertEqual(cm.exception.faultCode, S.FAULT_NO_SUCH_METHOD)
        evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
                '<methodCall><methodName>one.system.version</methodName><params>'
                '<param><value><string>&a;</string></value></param></params></methodCall>')
        status, body = self.sim.raw(evil)
        self.assertIn(b"<fault>", body)
        self.assertIn(b"-503", body)
        self.assertTrue(self.sim.rpc("one.system.version")[0])

    def test_keepalive_connection_reuse(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=5)
        for _ in range(20):
            conn.request("POST", "/RPC2", call_body("one.system.version", ADMIN).encode())
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            resp.read()
            self.assertNotEqual(resp.getheader("Connection", "").lower(), "close")
        conn.close()
        self.assertEqual(self.sim.ctl("calls")["by_method"]["one.system.version"], 20)

    def test_system_config(self):
        root = ET.fromstring(self.sim.ok("one.system.config"))
        self.assertEqual(root.tag, "OPENNEBULA_CONFIGURATION")
        self.assertIsNone(root.find("MONITORING_INTERVAL_HOST"))      # 6.10: in monitord.conf
        self.assertIn("recover", root.findtext("VM_ADMIN_OPERATIONS"))


class VersionTest(unittest.TestCase):
    def start(self, **kw):
        sim = Server(scenario(**kw))
        self.addCleanup(sim.stop)
        return sim

    def test_58_failure_has_four_elements_and_no_infoset(self):
        sim = self.start(version="5.8")
        self.assertEqual(sim.ok("one.system.version"), "5.8.5")
        self.assertEqual(len(sim.rpc("one.vm.info", 99)), 4)
        with self.assertRaises(xmlrpc.client.Fault):
            sim.rpc("one.vmpool.infoset", "0", False)
        root = ET.fromstring(sim.ok("one.system.config"))
        self.assertEqual(root.findtext("MONITORING_INTERVAL_HOST"), "180")

    def test_44_three_elements_old_actions_and_full_pool_bodies(self):
        sim = self.start(version="4.4")
        self.assertEqual(len(sim.rpc("one.vm.info", 99)), 3)
        with self.assertRaises(xmlrpc.client.Fault):
            sim.rpc("one.vmpool.infoextended", -2, -1, -1, -1)
        pool = ET.fromstring(sim.ok("one.vmpool.info", -2, -1, -1, -1))
        self.assertIsNotNone(pool.find("VM/USER_TEMPLATE/HA"))       # full bodies
        sim.ctl("fail-host", {"host": "host1"})
        self.assertTrue(sim.rpc("one.vm.action", "delete-recreate", 0)[0])
        sim.wait_vm(0, lcm="RUNNING", host="host2")
        self.assertEqual(sim.rpc("one.vm.action", "terminate", 1)[1],
                         '[one.vm.action] Action "terminate" is not supported')
        sim.ok("one.vm.recover", 1, True)           # 4.4-4.12: recover(id, bool success)
        self.assertEqual(sim.vm(1)["lcm"], "RUNNING")
        with self.assertRaises(xmlrpc.client.Fault):
            sim.rpc("one.vm.recover", 1, 1)
        sim.ok("one.host.enable", 1, False)          # before 5.0: no one.host.status
        self.assertEqual(sim.ctl("hosts")[1]["state"], "DISABLED")

    def test_44_host_hook_refires_while_in_error(self):
        timing = dict(FAST, error_refire_ms=100)
        sim = self.start(version="4.4", timing=timing,
                         hooks=[{"oned_conf": 'HOST_HOOK = [ name = "error", on = "ERROR", '
                                              'command = "/bin/true", arguments = "$ID -r" ]'}])
        sim.ctl("fail-host", {"host": "host1"})
        time.sleep(0.7)
        sim.ctl("wait-hooks", {"timeout": 5})
        self.assertGreaterEqual(len(sim.ctl("hooks")["runs"]), 3)       # bug #3378

    def test_system_version_override_and_74_shapes(self):
        sim = self.start(version="7.4", version_string="7.4.0.1")
        self.assertEqual(sim.ok("one.system.version"), "7.4.0.1")
        vm = ET.fromstring(sim.ok("one.vm.info", 0))
        self.assertIsNotNone(vm.find("HISTORY_RECORDS/HISTORY/PLAN_ID"))

    def test_native_shapes_610_have_no_plan_id(self):
        sim = self.start(shapes="native")
        vm = ET.fromstring(sim.ok("one.vm.info", 0))
        self.assertIsNone(vm.find("HISTORY_RECORDS/HISTORY/PLAN_ID"))
        self.assertIsNotNone(vm.find("BACKUPS"))


# ==========================================================================
# Documents
# ==========================================================================

class DocumentTest(SimTestCase):
    def scenario(self):
        return scenario(system_config={"MONITORING_INTERVAL_HOST": 30},
                        datastores=[{"id": 0, "name": "system", "type": "SYSTEM", "shared": True},
                                    {"id": 100, "name": "local", "type": "SYSTEM",
                                     "shared": False, "tm_mad": "ssh"}])

    def test_host_document(self):
        text = self.sim.ok("one.host.info", 0)
        host = ET.fromstring(text)
        self.assertEqual([c.tag for c in host],
                         ["ID", "NAME", "STATE", "PREV_STATE", "IM_MAD", "VM_MAD", "CLUSTER_ID",
                          "CLUSTER", "HOST_SHARE", "VMS", "TEMPLATE", "MONITORING"])
        self.assertEqual(host.findtext("STATE"), "2")
        self.assertEqual([i.text for i in host.findall("VMS/ID")], ["0", "1", "2"])
        self.assertEqual(host.findtext("HOST_SHARE/CPU_USAGE"), "300")
        self.assertEqual(host.findtext("HOST_SHARE/MEM_USAGE"), str(3 * 1024 * 1024))
        self.assertEqual(host.findtext("HOST_SHARE/MAX_CPU"), "800")
        self.assertIn("<FENCE_IP><![CDATA[192.0.2.1]]></FENCE_IP>", text)
        pool = ET.fromstring(self.sim.ok("one.hostpool.info"))
        self.assertEqual([h.findtext("NAME") for h in pool], ["host2", "host1"])   # ID DESC

    def test_vm_short_and_extended_bodies(self):
        short = ET.fromstring(self.sim.ok("one.vmpool.info", -2, -1, -1, -1))
        self.assertEqual([v.findtext("ID") for v in short], ["2", "1", "0"])
        vm = short.find("VM")
        self.assertEqual([c.tag for c in vm],
                         ["ID", "UID", "GID", "UNAME", "GNAME", "NAME", "LAST_POLL", "STATE",
                          "LCM_STATE", "RESCHED", "STIME", "ETIME", "DEPLOY_ID", "TEMPLATE",
                          "MONITORING", "USER_TEMPLATE", "HISTORY_RECORDS"])
        # oned's short USER_TEMPLATE keeps only a few scheduler/Sunstone attributes
        self.assertIsNone(vm.find("USER_TEMPLATE/HA"))
        self.assertEqual([c.tag for c in vm.find("HISTORY_RECORDS/HISTORY")],
                         ["OID", "SEQ", "HOSTNAME", "HID", "CID", "DS_ID", "VM_MAD", "TM_MAD",
                          "ACTION"])
        ext = ET.fromstring(self.sim.ok("one.vmpool.infoextended", -2, -1, -1, -1))
        self.assertEqual(ext.find("VM/USER_TEMPLATE/HA").text, "yes")
        one = self.sim.vm_xml(0)
        self.assertEqual(one.findtext("USER_TEMPLATE/HA_PRIORITY"), "5")
        self.assertEqual(one.findtext("TEMPLATE/VMID"), "0")
        self.assertEqual(one.findtext("HISTORY_RECORDS/HISTORY/HOSTNAME"), "host1")
        for tag in ("PERMISSIONS", "PREV_STATE", "PREV_LCM_STATE", "SCHED_ACTIONS", "BACKUPS"):
            self.assertIsNotNone(one.find(tag), tag)

    def test_lock_in_documents(self):
        self.sim.ok("one.vm.lock", 1, 2)
        short = ET.fromstring(self.sim.ok("one.vmpool.info", -2, 1, 1, -1))
        self.assertEqual([c.tag for c in short.find("VM/LOCK")], ["LOCKED"])
        self.assertEqual(short.findtext("VM/LOCK/LOCKED"), "2")
        ext = self.sim.vm_xml(1)
        self.assertEqual([c.tag for c in ext.find("LOCK")], ["LOCKED", "OWNER", "TIME", "REQ_ID"])

    def test_vmpool_filters_and_pagination(self):
        sim = self.sim
        sim.ctl("scheduler", {"enabled": False})
        sim.ctl("add-vms", {"count": 4, "state": "PENDING"})
        ids = lambda xml: [int(v.findtext("ID")) for v in ET.fromstring(xml)]
        self.assertEqual(ids(sim.ok("one.vmpool.info", -2, 1, 2, -1)), [2, 1])
        self.assertEqual(ids(sim.ok("one.vmpool.info", -2, 2, -1, -1)), sorted(
            ids(sim.ok("one.vmpool.info", -2, 2, -1, -1)), reverse=True))
        # pagination: end < -1 -> offset start, page size -end (over ID DESC)
        self.assertEqual(ids(sim.ok("one.vmpool.info", -2, 0, -2, -1)), [6, 5])
        self.assertEqual(ids(sim.ok("one.vmpool.info", -2, 2, -2, -1)), [4, 3])
        self.assertEqual(ids(sim.ok("one.vmpool.info", -2, 6, -2, -1)), [0])
        self.assertEqual(len(ids(sim.ok("one.vmpool.info", -2, -1, -1, S.ACTIVE))), 3)
        self.assertEqual(len(ids(sim.ok("one.vmpool.info", -2, -1, -1, S.PENDING))), 4)
        self.assertEqual(sim.rpc("one.vmpool.info", -5, -1, -1, -1)[2], S.XML_RPC_API)
        self.assertEqual(sim.rpc("one.vmpool.info", -2, -1, -1, 12)[2], S.XML_RPC_API)
        self.assertEqual(sim.rpc("one.vmpool.info", -2, -1, -1, -1, "NAME=x")[2], S.INTERNAL)
        # DONE VMs only with state -2
        sim.ok("one.vm.recover", 6, 5)
        self.assertNotIn(6, ids(sim.ok("one.vmpool.info", -2, -1, -1, -1)))
        self.assertIn(6, ids(sim.ok("one.vmpool.info", -2, -1, -1, -2)))
        # a non-admin sees only its own VMs
        self.assertEqual(ids(sim.ok("one.vmpool.info", -2, -1, -1, -1, auth="alice:alicepw")), [])
        sx = ET.fromstring(sim.ok("one.vmpool.infoset", "0,2,99", True))
        self.assertEqual([v.findtext("ID") for v in sx], ["2", "0"])
        self.assertIsNotNone(sx.find("VM/PERMISSIONS"))

    def test_datastores(self):
        pool = ET.fromstring(self.sim.ok("one.datastorepool.info"))
        shared = {d.findtext("ID"): d.findtext("TEMPLATE/SHARED") for d in pool}
        self.assertEqual(shared, {"0": "YES", "100": "NO"})
        ds = ET.fromstring(self.sim.ok("one.datastore.info", 100))
        self.assertEqual(ds.findtext("TM_MAD"), "ssh")
        self.assertEqual(ds.findtext("TYPE"), "1")

    def test_system_config_interval_from_scenario(self):
        root = ET.fromstring(self.sim.ok("one.system.config"))
        self.assertEqual(root.findtext("MONITORING_INTERVAL_HOST"), "30")


# ==========================================================================
# VM operations and state rules
# ==========================================================================

class VmOperationTest(SimTestCase):
    def test_actions_and_wrong_states(self):
        sim = self.sim
        self.assertEqual(sim.rpc("one.vm.action", "explode", 0)[:3],
                         [False, '[one.vm.action] Action "explode" is not supported', S.ACTION])
        self.assertEqual(sim.ok("one.vm.action", "poweroff", 0), 0)
        sim.wait_vm(0, state="POWEROFF")
        self.assertEqual(sim.rpc("one.vm.action", "reboot", 0)[:3],
                         [False, '[one.vm.action] Error performing action "reboot": This action '
                          'is not available for state POWEROFF', S.ACTION])
        sim.ok("one.vm.action", "resume", 0)
        sim.wait_vm(0, lcm="RUNNING")
        sim.ok("one.vm.action", "reboot-hard", 0)
        sim.ok("one.vm.action", "suspend", 1)
        sim.wait_vm(1, state="SUSPENDED")
        sim.ok("one.vm.action", "resume", 1)
        sim.wait_vm(1, lcm="RUNNING")
        sim.ok("one.vm.action", "undeploy", 1)
        sim.wait_vm(1, state="UNDEPLOYED")
        self.assertNotIn(1, sim.ctl("hosts")[0]["vms"])
        sim.ok("one.vm.action", "resume", 1)                 # -> PENDING -> PROLOG_UNDEPLOY
        sim.wait_vm(1, lcm="RUNNING")
        lcms = [e["lcm"] for e in sim.ctl("events?kind=vm_state") if e["vm"] == 1]
        self.assertIn("PROLOG_UNDEPLOY", lcms)
        self.assertIn("BOOT_UNDEPLOY", lcms)
        sim.ok("one.vm.action", "stop", 1)
        sim.wait_vm(1, state="STOPPED")
        self.assertEqual(sim.vm_xml(1).findall("HISTORY_RECORDS/HISTORY")[-1].findtext("ACTION"),
                         str(S.HISTORY_ACTIONS["stop"]))
        sim.ok("one.vm.deploy", 1, 1)                        # deploy straight from STOPPED
        sim.wait_vm(1, lcm="RUNNING", host="host2")
        self.assertIn("PROLOG_RESUME", [e["lcm"] for e in sim.ctl("events?kind=vm_state")
                                        if e["vm"] == 1])
        sim.ok("one.vm.action", "undeploy", 1)
        sim.wait_vm(1, state="UNDEPLOYED")
        sim.ok("one.vm.action", "terminate", 2)
        sim.wait_vm(2, state="DONE")
        self.assertEqual(sim.ctl("hosts")[0]["vms"], [0])
        sim.ok("one.vm.action", "terminate", 2)          # DONE: accepted, no-op

    def test_terminate_on_transient_state_fails(self):
        sim = self.sim
        sim.ctl("timing", {"shutdown_ms": 400})
        sim.ok("one.vm.action", "poweroff", 0)
        result = sim.rpc("one.vm.action", "terminate", 0)
        self.assertEqual(result[1], '[one.vm.action] Error performing action "terminate": '
                                    'Could not terminate VM 0, wrong state SHUTDOWN_POWEROFF.')

    def test_recover_operations(self):
        sim = self.sim
        self.assertEqual(sim.rpc("one.vm.recover", 0, 9)[:3],
                         [False, "[one.vm.recover] Wrong recovery operation code", S.ACTION])
        # op 1 on UNKNOWN -> RUNNING
        sim.ctl("crash-vm", {"id": 0, "lcm_state": "UNKNOWN", "keep_running": True})
        sim.ok("one.vm.recover", 0, 1)
        self.assertEqual(sim.vm(0)["lcm"], "RUNNING")
        # op 2 retry of a BOOT_FAILURE re-runs the boot
        sim.ctl("crash-vm", {"id": 1, "lcm_state": "BOOT_FAILURE"})
        self.assertEqual(sim.vm(1)["lcm"], "BOOT_FAILURE")
        sim.ok("one.vm.recover", 1, 2)
        sim.wait_vm(1, lcm="RUNNING")
        # op 0 (failure) on a failure state keeps it failed; op 1 forces success
        sim.ctl("crash-vm", {"id": 1, "lcm_state": "PROLOG_FAILURE"})
        sim.ok("one.vm.recover", 1, 0)
        self.assertEqual(sim.vm(1)["lcm"], "PROLOG_FAILURE")
        sim.ok("one.vm.recover", 1, 1)
        sim.wait_vm(1, lcm="RUNNING")
        # op 3 delete: ACTIVE -> CLEANUP_DELETE -> DONE
        sim.ctl("timing", {"cleanup_ms": 200})
        sim.ok("one.vm.recover", 2, 3)
        self.assertEqual(sim.vm(2)["lcm"], "CLEANUP_DELETE")
        sim.wait_vm(2, state="DONE")
        self.assertEqual(sim.rpc("one.vm.recover", 2, 4)[1],
                         "[one.vm.recover] Cannot delete-recreate a VM already in DONE state")
        self.assertEqual(sim.rpc("one.vm.recover", 2, 2)[1],
                         "[one.vm.recover] Could not perform a retry on VM 2, wrong state DONE.")

    def test_delete_recreate_keeps_id_and_moves_host(self):
        sim = self.sim
        sim.ctl("timing", {"cleanup_ms": 200})
        sim.ctl("fail-host", {"host": "host1"})
        self.assertEqual(sim.vm(0)["lcm"], "UNKNOWN")
        sim.ok("one.vm.recover", 0, 4)
        self.assertEqual(sim.vm(0)["lcm"], "CLEANUP_RESUBMIT")
        self.assertEqual(sim.vm_xml(0).findtext("LCM_STATE"), str(S.LCM_STATES["CLEANUP_RESUBMIT"]))
        vm = sim.wait_vm(0, lcm="RUNNING", host="host2")
        self.assertEqual(vm["seq"], 1)
        doc = sim.vm_xml(0)
        hist = doc.findall("HISTORY_RECORDS/HISTORY")
        self.assertEqual([h.findtext("HOSTNAME") for h in hist], ["host1", "host2"])
        self.assertEqual(hist[0].findtext("ACTION"), str(S.HISTORY_ACTIONS["delete-recreate"]))
        host1 = ET.fromstring(sim.ok("one.host.info", 0))
        self.assertEqual([i.text for i in host1.findall("VMS/ID")], ["1", "2"])
        short = ET.fromstring(sim.ok("one.vmpool.info", -2, 0, 0, -1))
        self.assertEqual(len(short.findall("VM/HISTORY_RECORDS/HISTORY")), 1)
        self.assertEqual(short.findtext("VM/HISTORY_RECORDS/HISTORY/HOSTNAME"), "host2")

    def test_delete_recreate_refuses_poweroff(self):
        sim = self.sim
        sim.ok("one.vm.action", "poweroff-hard", 0)
        sim.wait_vm(0, state="POWEROFF")
        self.assertEqual(sim.rpc("one.vm.recover", 0, 4)[:3],
                         [False, "[one.vm.recover] Cannot delete-recreate a powered off VM. "
                          "Resume it first", S.ACTION])

    def test_delete_db_leaves_domain_running(self):
        sim = self.sim
        sim.ok("one.vm.recover", 0, 5)
        self.assertEqual(sim.vm(0)["state"], "DONE")
        self.assertNotIn(0, sim.ctl("hosts")[0]["vms"])
        self.assertEqual(sim.ctl("safety")["orphans"], {"0": ["host1"]})

    def test_locks(self):
        sim = self.sim
        for level in (1, 2, 3):
            sim.ok("one.vm.lock", 0, level)
            result = sim.rpc("one.vm.recover", 0, 4)
            self.assertEqual(result[:4], [False, "[one.vm.recover] User [0] : VM is locked. [0].",
                                          S.AUTHORIZATION, -1])
            self.assertEqual(sim.rpc("one.vm.action", "resched", 0)[2], S.AUTHORIZATION)
            sim.ok("one.vm.unlock", 0)
        # level 3 (ADMIN) still allows MANAGE operations; level 2 does not
        sim.ok("one.vm.lock", 0, 3)
        sim.ok("one.vm.update", 0, 'NOTE="x"', 1)
        sim.ok("one.vm.lock", 0, 2)
        self.assertEqual(sim.rpc("one.vm.update", 0, 'NOTE="y"', 1)[2], S.AUTHORIZATION)
        # test flag: already locked -> ACTION; wrong level -> ACTION
        self.assertEqual(sim.rpc("one.vm.lock", 0, 1, True)[2], S.ACTION)
        self.assertEqual(sim.rpc("one.vm.lock", 1, 7)[1],
                         "[one.vm.lock] Wrong lock level specified")
        # another user cannot take over or release oneadmin's lock
        sim.ok("one.vm.lock", 1, 1)
        self.assertEqual(sim.rpc("one.vm.unlock", 1, auth="alice:alicepw")[2], S.AUTHORIZATION)
        sim.ok("one.vm.unlock", 0)
        sim.ok("one.vm.unlock", 1)
        sim.ok("one.vm.recover", 0, 1)

    def test_migrate(self):
        sim = self.sim
        sim.ctl("timing", {"migrate_ms": 300, "save_ms": 300})   # room to see the transients
        sim.ok("one.vm.migrate", 0, 1, True)
        self.assertEqual(sim.vm(0)["lcm"], "MIGRATE")
        sim.wait_vm(0, lcm="RUNNING", host="host2")
        self.assertEqual(sim.rpc("one.vm.migrate", 0, 1, False)[1],
                         "[one.vm.migrate] VM is already running on host [1]")
        sim.ok("one.vm.migrate", 1, 1, False)
        self.assertEqual(sim.vm(1)["lcm"], "SAVE_MIGRATE")
        sim.wait_vm(1, lcm="RUNNING", host="host2")
        self.assertEqual(sim.rpc("one.vm.migrate", 2, 9, False)[1],
                         "[one.vm.migrate] Error getting host [9].")
        sim.ok("one.host.status", 1, 2)
        self.assertEqual(sim.rpc("one.vm.migrate", 2, 1, False)[1],
                         "[one.vm.migrate] Host is offline, cannot use it to deploy VM")
        sim.ctl("crash-vm", {"id": 2, "lcm_state": "BOOT_FAILURE"})
        sim.ok("one.host.status", 1, 0)
        self.assertEqual(sim.rpc("one.vm.migrate", 2, 1, False)[1],
                         "[one.vm.migrate] Migrate action is not available for state BOOT_FAILURE")
        self.assertEqual(sim.ctl("safety")["duplicates"], [])

    def test_deploy(self):
        sim = self.sim
        sim.ctl("scheduler", {"enabled": False})
        new = sim.ctl("add-vms", {"count": 1, "cpu": 8, "memory": 1024})["ids"][0]
        self.assertEqual(sim.vm(new)["state"], "PENDING")
        result = sim.rpc("one.vm.deploy", new, 0, True)
        self.assertEqual(result[2], S.ACTION)
        self.assertIn("does not fit in host [0]", result[1])
        self.assertEqual(sim.rpc("one.vm.deploy", new, 1, False, 99)[1],
                         "[one.vm.deploy] Error getting datastore [99].")
        sim.ok("one.vm.deploy", new, 1, True)
        sim.wait_vm(new, lcm="RUNNING", host="host2")
        self.assertEqual(sim.rpc("one.vm.deploy", new, 1)[1],
                         "[one.vm.deploy] Deploy action is not available for state RUNNING")

    def test_update(self):
        sim = self.sim
        sim.ok("one.vm.update", 0, 'HA_ACTION="migrate"\nEXTRA = "a b"', 1)
        doc = sim.vm_xml(0)
        self.assertEqual(doc.findtext("USER_TEMPLATE/HA_ACTION"), "migrate")
        self.assertEqual(doc.findtext("USER_TEMPLATE/HA"), "yes")
        sim.ok("one.vm.update", 0, "<TEMPLATE><HA>no</HA></TEMPLATE>", 0)
        doc = sim.vm_xml(0)
        self.assertEqual(doc.findtext("USER_TEMPLATE/HA"), "no")
        self.assertIsNone(doc.find("USER_TEMPLATE/EXTRA"))
        self.assertEqual(sim.rpc("one.vm.update", 0, "A=1", 2)[:3],
                         [False, "[one.vm.update] Wrong update type", S.XML_RPC_API])
        self.assertEqual(sim.rpc("one.vm.update", 0, "<TEMPLATE>", 0)[2], S.INTERNAL)

    def test_host_status(self):
        sim = self.sim
        self.assertEqual(sim.rpc("one.host.status", 0, 5)[:3],
                         [False, "[one.host.status] Wrong status code", S.INTERNAL])
        self.assertEqual(sim.rpc("one.host.status", 0, 1, auth="alice:alicepw")[2],
                         S.AUTHORIZATION)
        sim.ok("one.host.status", 1, 1)
        self.assertEqual(sim.ctl("hosts")[1]["state"], "DISABLED")
        sim.ok("one.host.status", 1, 0)
        self.assertEqual(sim.ctl("hosts")[1]["state"], "MONITORED")
        sim.ok("one.host.status", 1, 2)
        self.assertEqual(sim.ctl("hosts")[1]["state"], "OFFLINE")
        sim.ok("one.host.status", 1, 0)
        deadline = time.time() + 3
        while sim.ctl("hosts")[1]["state"] != "MONITORED" and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(sim.ctl("hosts")[1]["state"], "MONITORED")

    def test_non_admin_authorization(self):
        sim = self.sim
        alice = "alice:alicepw"
        self.assertEqual(sim.rpc("one.vm.info", 0, auth=alice)[2], S.AUTHORIZATION)
        vid = sim.ctl("add-vms", {"owner": "alice", "count": 1})["ids"][0]
        self.assertTrue(sim.rpc("one.vm.info", vid, auth=alice)[0])
        self.assertEqual(sim.rpc("one.vm.recover", vid, 4, auth=alice)[1],
                         "[one.vm.recover] User [1] : Not authorized to perform ADMIN VM [%d]." % vid)


# ==========================================================================
# Scheduler, hosts, copies
# ==========================================================================

class SchedulerTest(SimTestCase):
    def scenario(self):
        return scenario(hosts=[{"name": "host1"}, {"name": "small", "max_cpu": 200,
                                                   "max_mem": 4 * 1048576},
                               {"name": "off", "state": "DISABLED"}],
                        vms=[{"count": 2, "host": "host1", "cpu": 1, "memory": 1024}])

    def test_capacity_and_states(self):
        sim = self.sim
        sim.ctl("fail-host", {"host": "host1"})
        ids = sim.ctl("add-vms", {"count": 3, "cpu": 1, "memory": 1024})["ids"]
        for vid in ids[:2]:
            sim.wait_vm(vid, lcm="RUNNING", host="small")
        time.sleep(0.2)
        last = sim.vm(ids[2])
        self.assertEqual(last["state"], "PENDING")      # no capacity left anywhere usable
        msg = sim.vm_xml(ids[2]).findtext("USER_TEMPLATE/SCHED_MESSAGE")
        self.assertIn("Cannot dispatch VM to any Host", msg)
        short = ET.fromstring(sim.ok("one.vmpool.info", -2, ids[2], ids[2], -1))
        self.assertIn("Cannot dispatch", short.findtext("VM/USER_TEMPLATE/SCHED_MESSAGE"))
        small = [h for h in sim.ctl("hosts") if h["name"] == "small"][0]
        self.assertEqual(small["cpu_usage"], 200)
        sim.ctl("restore-host", {"host": "host1"})
        sim.wait_vm(ids[2], lcm="RUNNING", host="host1")
        self.assertEqual(sim.vm(0)["lcm"], "RUNNING")

    def test_resched(self):
        sim = self.sim
        sim.ok("one.vm.action", "resched", 0)
        sim.wait_vm(0, lcm="RUNNING", host="small")
        self.assertEqual(sim.vm(0)["resched"], 0)
        sim.ctl("fail-host", {"host": "host1"})
        sim.ctl("fence-host", {"host": "host1"})
        sim.ok("one.vm.action", "resched", 1)
        deadline = time.time() + 3
        seen = set()
        while time.time() < deadline:
            lcm = sim.vm(1)["lcm"]
            seen.add(lcm)
            if lcm == "RUNNING":
                break
            time.sleep(0.005)
        self.assertEqual(sim.vm(1)["host"], "small")
        lcms = {e["lcm"] for e in sim.ctl("events?kind=vm_state") if e["vm"] == 1}
        self.assertIn("PROLOG_MIGRATE_UNKNOWN", lcms | seen)
        self.assertEqual(sim.ctl("safety")["duplicates"], [])


class HostFailureTest(SimTestCase):
    def scenario(self):
        data = scenario()
        self.hookdir = tempfile.mkdtemp(prefix="onesim-hooks-")
        self.addCleanup(shutil.rmtree, self.hookdir, True)
        write_script(self.hookdir, "true.sh", "#!/bin/sh\nexit 0\n")
        data["hook_base_path"] = self.hookdir
        data["hooks"] = [{"template": "NAME=err\nTYPE=state\nRESOURCE=HOST\nSTATE=ERROR\n"
                                      "COMMAND=true.sh\nARGUMENTS=\"$TEMPLATE\"\nARGUMENTS_STDIN=yes"}]
        return data

    def test_fail_and_restore(self):
        sim = self.sim
        sim.ctl("crash-vm", {"id": 2, "lcm_state": "BOOT_FAILURE"})
        host = sim.ctl("fail-host", {"host": "host1", "message": "link down"})
        self.assertEqual(host["state"], "ERROR")
        doc = ET.fromstring(sim.ok("one.host.info", 0))
        self.assertEqual(doc.findtext("STATE"), "3")
        self.assertIn("link down", doc.findtext("TEMPLATE/ERROR"))
        self.assertEqual([sim.vm(i)["lcm"] for i in range(3)],
                         ["UNKNOWN", "UNKNOWN", "BOOT_FAILURE"])
        sim.ctl("fail-host", {"host": "host1"})              # still down: no new entry
        time.sleep(0.1)
        sim.ctl("wait-hooks", {"timeout": 5})
        self.assertEqual(len(sim.ctl("hooks")["runs"]), 1)
        sim.ctl("restore-host", {"host": "host1"})
        doc = ET.fromstring(sim.ok("one.host.info", 0))
        self.assertEqual(doc.findtext("STATE"), "2")
        self.assertIsNone(doc.find("TEMPLATE/ERROR"))
        self.assertEqual([sim.vm(i)["lcm"] for i in range(2)], ["RUNNING", "RUNNING"])
        sim.ctl("fail-host", {"host": "host1"})              # a new entry into ERROR
        sim.ctl("wait-hooks", {"timeout": 5})
        self.assertEqual(len(sim.ctl("hooks")["runs"]), 2)

    def test_fencing_prevents_duplicates(self):
        sim = self.sim
        sim.ctl("fail-host", {"host": "host1"})
        sim.ctl("fence-host", {"host": "host1"})
        self.assertFalse(sim.ctl("hosts")[0]["powered"])
        sim.ok("one.vm.recover", 0, 4)
        sim.wait_vm(0, lcm="RUNNING", host="host2")
        ledger = [r for r in sim.ctl("ledger") if r["method"] == "one.vm.recover"]
        self.assertIsNone(ledger[0]["safety"])
        self.assertEqual(sim.ctl("safety")["duplicates"], [])
        # the host comes back after the power cycle: its VMs are gone
        sim.ctl("restore-host", {"host": "host1"})
        self.assertEqual(sim.vm(1)["state"], "POWEROFF")

    def test_partition_without_fencing_is_a_duplicate(self):
        sim = self.sim
        sim.ctl("fail-host", {"host": "host1"})
        sim.ok("one.vm.recover", 0, 4)
        sim.wait_vm(0, lcm="RUNNING", host="host2")
        safety = sim.ctl("safety")
        self.assertEqual(safety["duplicates"][0]["vm"], 0)
        self.assertEqual(safety["duplicates"][0]["hosts"], ["host1", "host2"])
        self.assertEqual(safety["current_duplicates"], {"0": ["host1", "host2"]})
        self.assertEqual(safety["unsafe_recoveries"][0]["hosts"], ["host1"])
        record = [r for r in sim.ctl("ledger") if r["method"] == "one.vm.recover"][0]
        self.assertEqual(record["safety"]["hosts"], ["host1"])
        self.assertEqual(record["vm_before"]["lcm"], "UNKNOWN")
        # host2's view: the VM runs there; host1's view: not any more
        self.assertNotIn(0, sim.ctl("hosts")[0]["vms"])

    def test_stuck_cleanup_on_local_storage(self):
        data = scenario(simulation={"stuck_cleanup_nonshared": True},
                        datastores=[{"id": 0, "name": "system", "type": "SYSTEM",
                                     "shared": False, "tm_mad": "ssh"}])
        sim = Server(data)
        self.addCleanup(sim.stop)
        sim.ctl("fail-host", {"host": "host1"})
        sim.ok("one.vm.recover", 0, 4)
        self.assertTrue(sim.ctl("wait-idle", {"timeout": 5})["ok"])
        self.assertEqual(sim.vm(0)["lcm"], "CLEANUP_RESUBMIT")         # OpenNebula #7155
        sim.ok("one.vm.recover", 0, 1)                                  # recover success
        sim.wait_vm(0, lcm="RUNNING", host="host2")

    def test_crash_mode_and_power_pidfile(self):
        sim = self.sim
        sim.ctl("fail-host", {"host": "host1", "mode": "crash"})
        self.assertEqual(sim.ctl("safety")["copies"], {})
        sim.ok("one.vm.recover", 0, 4)
        sim.wait_vm(0, lcm="RUNNING", host="host2")
        self.assertEqual(sim.ctl("safety")["duplicates"], [])

    def test_set_host_state_sticks(self):
        sim = self.sim
        sim.ctl("set-host-state", {"host": "host2", "state": "ERROR"})
        time.sleep(0.1)
        self.assertEqual(sim.ctl("hosts")[1]["state"], "ERROR")
        sim.ctl("set-host-state", {"host": "host2", "state": "MONITORED"})
        self.assertEqual(sim.ctl("hosts")[1]["state"], "MONITORED")


class PowerPidfileTest(unittest.TestCase):
    def test_host_power_follows_a_process(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        proc = subprocess.Popen(["sleep", "60"])
        self.addCleanup(proc.kill)
        pidfile = os.path.join(tmp, "h1.pid")
        with open(pidfile, "w") as fh:
            fh.write("%d\n" % proc.pid)
        data = scenario()
        data["hosts"][0]["power_pidfile"] = pidfile
        sim = Server(data)
        self.addCleanup(sim.stop)
        self.assertTrue(sim.ctl("hosts")[0]["powered"])
        proc.kill()
        proc.wait()
        deadline = time.time() + 3
        while sim.ctl("hosts")[0]["state"] != "ERROR" and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(sim.ctl("hosts")[0]["state"], "ERROR")   # monitoring noticed
        self.assertEqual(sim.vm(0)["lcm"], "UNKNOWN")
        self.assertEqual(sim.ctl("safety")["copies"], {})          # domains died with it


# ==========================================================================
# Hook manager
# ==========================================================================

RECORDER = """#!/bin/sh
printf '%s\\n' "$#" "$@" > "$(dirname "$0")/out.$$.argv"
cat > "$(dirname "$0")/out.$$.stdin"
echo "hello from hook"
echo "to stderr" >&2
exit 7
"""


class HookTest(unittest.TestCase):
    def start(self, hooks, **kw):
        self.dir = tempfile.mkdtemp(prefix="onesim-hooks-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        write_script(self.dir, "rec.sh", RECORDER)
        os.makedirs(os.path.join(self.dir, "ft"))
        write_script(os.path.join(self.dir, "ft"), "host_error.rb", RECORDER)
        data = scenario(hooks=hooks, hook_base_path=self.dir, **kw)
        self.sim = Server(data)
        self.addCleanup(self.sim.stop)
        return self.sim

    def runs(self):
        self.sim.ctl("wait-hooks", {"timeout": 10})
        return self.sim.ctl("hooks")["runs"]

    def test_oned_conf_host_hook(self):
        sim = self.start([{"oned_conf": 'HOST_HOOK = [\n  NAME = "error",\n  ON = "ERROR",\n'
                                        '  COMMAND = "ft/host_error.rb",\n'
                                        '  ARGUMENTS = "$ID -r",\n  REMOTE = "no" ]'}])
        sim.ctl("fail-host", {"host": "host1"})
        runs = self.runs()
        self.assertEqual(len(runs), 1)
        run = runs[0]
        self.assertEqual(run["hook"], "error")
        self.assertEqual(run["form"], "oned.conf")
        self.assertEqual(run["cmdline"], os.path.join(self.dir, "ft/host_error.rb") + " 0 -r")
        self.assertEqual(run["argv"][1:], ["0", "-r"])
        self.assertEqual(run["stdin"], "")
        self.assertEqual(run["exit_code"], 7)
        self.assertEqual(run["stdout"], "hello from hook\n")
        self.assertEqual(run["stderr"], "to stderr\n")
        self.assertGreaterEqual(run["duration"], 0)
        self.assertIsNotNone(run["start"])

    def test_oned_conf_first_occurrence_and_vm_hook(self):
        sim = self.start([{"oned_conf": 'VM_HOOK = [ NAME = "unk", ON = "UNKNOWN", '
                                        'COMMAND = "rec.sh", ARGUMENTS = "$ID $PREV_LCM_STATE '
                                        '$TEMPLATE $TEMPLATE" ]'}])
        sim.ctl("crash-vm", {"id": 1, "lcm_state": "UNKNOWN"})
        run = self.runs()[0]
        self.assertEqual(run["event"], "VM/ACTIVE/UNKNOWN")
        args = run["cmdline"].split(" ")[1:]
        self.assertEqual(args[0:2], ["1", "RUNNING"])
        doc = ET.fromstring(base64.b64decode(args[2]))
        self.assertEqual(doc.tag, "VM")
        self.assertEqual(doc.findtext("LCM_STATE"), "16")
        self.assertEqual(doc.findtext("PREV_LCM_STATE"), "3")
        self.assertEqual(args[3], "$TEMPLATE")       # only the first one is replaced

    def test_onehook_stdin(self):
        sim = self.start([{"template": 'ARGUMENTS       = "$TEMPLATE -m -p 5"\n'
                                       'ARGUMENTS_STDIN = "yes"\nCOMMAND = "ft/host_error.rb"\n'
                                       'NAME = "host_error"\nSTATE = "ERROR"\nREMOTE = "no"\n'
                                       'RESOURCE = HOST\nTYPE = state\n'}])
        sim.ctl("fail-host", {"host": "host1"})
        run = self.runs()[0]
        self.assertEqual(run["form"], "onehook")
        self.assertEqual(run["argv"], [os.path.join(self.dir, "ft/host_error.rb")])
        b64, rest = run["stdin"].split(" ", 1)
        self.assertEqual(rest, "-m -p 5")
        self.assertNotIn("\n", b64)
        host = ET.fromstring(base64.b64decode(b64))
        self.assertEqual(host.tag, "HOST")
        self.assertEqual(host.findtext("ID"), "0")
        self.assertEqual(host.findtext("STATE"), "3")
        self.assertEqual([i.text for i in host.findall("VMS/ID")], ["0", "1", "2"])
        self.assertIsNotNone(host.findtext("TEMPLATE/ERROR"))
        # what the program really got
        stdin_files = [f for f in os.listdir(os.path.join(self.dir, "ft")) if f.endswith(".stdin")]
        with open(os.path.join(self.dir, "ft", stdin_files[0])) as fh:
            self.assertEqual(fh.read(), run["stdin"])
        argv_files = [f for f in os.listdir(os.path.join(self.dir, "ft")) if f.endswith(".argv")]
        with open(os.path.join(self.dir, "ft", argv_files[0])) as fh:
            self.assertEqual(fh.read(), "0\n")

    def test_onehook_argv_only_exact_template_token(self):
        sim = self.start([{"template": {"NAME": "vmf", "TYPE": "state", "RESOURCE": "VM",
                                        "ON": "CUSTOM", "STATE": "ACTIVE",
                                        "LCM_STATE": "BOOT_FAILURE", "COMMAND": "rec.sh",
                                        "ARGUMENTS": "$TEMPLATE $ID x$TEMPLATE"}}])
        sim.ctl("crash-vm", {"id": 2, "lcm_state": "BOOT_FAILURE"})
        run = self.runs()[0]
        self.assertEqual(run["stdin"], "")
        argv = run["argv"][1:]
        self.assertEqual(argv[1:], ["$ID", "x$TEMPLATE"])
        vm = ET.fromstring(base64.b64decode(argv[0]))
        self.assertEqual(vm.findtext("ID"), "2")
        self.assertEqual(vm.findtext("LCM_STATE"), "36")
        self.assertIsNotNone(vm.find("HISTORY_RECORDS/HISTORY/PSTIME"))   # extended body

    def test_timeout_kills_process_group(self):
        sim = self.start([{"template": {"NAME": "slow", "TYPE": "state", "RESOURCE": "HOST",
                                        "STATE": "ERROR", "COMMAND": "slow.sh",
                                        "TIMEOUT": "0.5"}}])
        marker = os.path.join(self.dir, "child.pid")
        write_script(self.dir, "slow.sh", "#!/bin/sh\nsleep 30 &\necho $! > %s\nwait\n" % marker)
        t0 = time.time()
        sim.ctl("fail-host", {"host": "host1"})
        run = self.runs()[0]
        self.assertLess(time.time() - t0, 8)
        self.assertTrue(run["timed_out"])
        self.assertEqual(run["exit_code"], 255)
        self.assertLess(run["duration"], 5)
        with open(marker) as fh:
            child = int(fh.read())
        self.assertTrue(wait_dead(child), "the hook's child survived")  # whole group killed

    def test_hook_can_call_back(self):
        script = ("#!/bin/sh\nexec %s -c 'import os,xmlrpc.client;"
                  "a=open(os.environ[\"ONE_AUTH\"]).read().strip();"
                  "s=xmlrpc.client.ServerProxy(os.environ[\"ONE_XMLRPC\"]);"
                  "print(s.one.host.info(a,0)[1][:6], os.environ[\"EXTRA\"])'\n" % sys.executable)
        sim = self.start([{"template": {"NAME": "cb", "TYPE": "state", "RESOURCE": "HOST",
                                        "STATE": "ERROR", "COMMAND": "cb.sh"}}],
                         hook_env={"EXTRA": "from-scenario"})
        write_script(self.dir, "cb.sh", script)
        sim.ctl("fail-host", {"host": "host1"})
        run = self.runs()[0]
        self.assertEqual(run["exit_code"], 0, run["stderr"])
        self.assertEqual(run["stdout"].strip(), "<HOST> from-scenario")
        self.assertEqual(sim.ctl("calls")["by_method"].get("one.host.info"), 1)

    def test_runtime_registration_and_errors(self):
        sim = self.start([])
        err = sim.ctl("hooks", {"template": {"NAME": "x", "TYPE": "state", "RESOURCE": "VM",
                                             "COMMAND": "rec.sh"}}, expect=400)
        self.assertIn("Unkown state condition", err["error"])
        sim.ctl("hooks", {"oned_conf": 'HOST_HOOK = [ NAME="d", ON="DISABLE", COMMAND="rec.sh",'
                                       ' ARGUMENTS="$ID" ]'})
        sim.ok("one.host.status", 1, 1)
        run = self.runs()[0]
        self.assertEqual(run["event"], "HOST/DISABLED")
        self.assertEqual(run["argv"][1:], ["1"])

    def test_hooks_run_asynchronously(self):
        sim = self.start([{"template": {"NAME": "slow", "TYPE": "state", "RESOURCE": "VM",
                                        "ON": "UNKNOWN", "COMMAND": "/bin/sleep",
                                        "ARGUMENTS": "1"}}])
        t0 = time.time()
        sim.ctl("fail-host", {"host": "host1"})
        sim.ok("one.system.version")
        self.assertLess(time.time() - t0, 0.8)
        self.assertEqual(sim.ctl("wait-hooks", {"timeout": 0.05})["ok"], False)
        self.assertEqual(len(self.runs()), 3)


class HookParsingTest(unittest.TestCase):
    def test_oned_conf_blocks(self):
        hooks = parse_oned_conf('# comment\nPORT = 2633\nHOST_HOOK = [\n name = "error", '
                                'on = "ERROR", command = "ft/host_error.rb", '
                                'arguments = "$ID -m -p 5", remote = "no" ]\n'
                                'VM_HOOK = [ NAME = "c", ON = "CUSTOM", STATE = "ACTIVE", '
                                'LCM_STATE = "BOOT_FAILURE", COMMAND = "x" ]')
        self.assertEqual([(h.resource, h.name) for h in hooks], [("HOST", "error"), ("VM", "c")])
        self.assertEqual(hooks[0].arguments, "$ID -m -p 5")
        self.assertTrue(hooks[1].matches_vm("ACTIVE", "BOOT_FAILURE"))
        with self.assertRaises(HookError):
            parse_oned_conf('HOST_HOOK = [ NAME = "x", ON = "BOGUS", COMMAND = "y" ]')

    def test_onehook_validation(self):
        with self.assertRaises(HookError):
            parse_onehook("NAME=a\nTYPE=state\nRESOURCE=HOST\nSTATE=NOPE\nCOMMAND=x")
        with self.assertRaises(HookError):
            parse_onehook("NAME=a\nTYPE=api\nCOMMAND=x")
        hook = parse_onehook("NAME=a\nTYPE=state\nRESOURCE=HOST\nSTATE=MONITORING_ERROR\n"
                             "COMMAND=x\nTIMEOUT=3")
        self.assertEqual(hook.host_state, "ERROR")
        self.assertEqual(hook.timeout, 3.0)

    def test_template_syntax(self):
        attrs = parse_template('A = "x \\" y"\nB = plain value\nC = [ K = 1, L = "2, 3" ]\n')
        self.assertEqual(attrs, [("A", 'x " y'), ("B", "plain value"),
                                 ("C", [("K", "1"), ("L", "2, 3")])])
        self.assertEqual(parse_str_or_xml("<TEMPLATE><A>1</A></TEMPLATE>"), [("A", "1")])


# ==========================================================================
# Fault injection
# ==========================================================================

class FaultTest(SimTestCase):
    def set_faults(self, config, merge=False):
        config = dict(config)
        config["merge"] = merge
        return self.sim.ctl("faults", config)

    def test_error_rate_and_code(self):
        self.set_faults({"methods": {"one.vm.info": {"error_rate": 1.0}}})
        result = self.sim.rpc("one.vm.info", 0)
        self.assertEqual(result[2], S.INTERNAL)
        self.assertTrue(result[1].startswith("[one.vm.info] "))
        self.assertTrue(self.sim.rpc("one.host.info", 0)[0])
        self.set_faults({"methods": {"one.vm.recover": {"error_rate": 1.0, "error_code": 512,
                                                        "error_message": "boom"}}})
        self.assertEqual(self.sim.rpc("one.vm.recover", 0, 1)[:3],
                         [False, "[one.vm.recover] boom", 512])
        record = self.sim.ctl("ledger")[-1]
        self.assertEqual((record["executed"], record["injected"]), (False, "error"))

    def test_fail_next(self):
        self.set_faults({"fail_next": [{"method": "one.vm.recover", "count": 2,
                                        "code": S.AUTHORIZATION}]})
        self.assertEqual(self.sim.rpc("one.vm.recover", 0, 1)[2], S.AUTHORIZATION)
        self.assertEqual(self.sim.rpc("one.vm.info", 0)[0], True)
        self.assertEqual(self.sim.rpc("one.vm.recover", 0, 1)[2], S.AUTHORIZATION)
        self.assertTrue(self.sim.rpc("one.vm.recover", 0, 1)[0])

    def test_drop_and_drop_after(self):
        sim = self.sim
        self.set_faults({"fail_next": [{"method": "one.vm.action", "kind": "drop"}]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            sim.raw(call_body("one.vm.action", ADMIN, "poweroff", 0))
        self.assertEqual(sim.vm(0)["lcm"], "RUNNING")               # not executed
        self.set_faults({"fail_next": [{"method": "one.vm.action", "kind": "drop_after"}]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            sim.raw(call_body("one.vm.action", ADMIN, "poweroff", 0))
        sim.wait_vm(0, state="POWEROFF")                             # executed
        records = [r for r in sim.ctl("ledger") if r["method"] == "one.vm.action"]
        self.assertEqual([(r["executed"], r["delivered"]) for r in records],
                         [(False, False), (True, False)])

    def test_http_truncate_malformed_fault(self):
        sim = self.sim
        self.set_faults({"fail_next": [{"method": "one.vm.info", "kind": "http",
                                        "http_status": 500},
                                       {"method": "one.vm.info", "kind": "truncate"},
                                       {"method": "one.vm.info", "kind": "malformed"},
                                       {"method": "one.vm.info", "kind": "fault",
                                        "fault_code": -500}]})
        status, body = sim.raw(call_body("one.vm.info", ADMIN, 0))
        self.assertEqual(status, 500)
        with self.assertRaises(http.client.IncompleteRead):
            sim.raw(call_body("one.vm.info", ADMIN, 0))
        status, body = sim.raw(call_body("one.vm.info", ADMIN, 0))
        with self.assertRaises(ET.ParseError):
            ET.fromstring(body)
        with self.assertRaises(xmlrpc.client.Fault) as cm:
            sim.rpc("one.vm.info", 0)
        self.assertEqual(cm.exception.faultCode, -500)
        self.assertTrue(sim.rpc("one.vm.info", 0)[0])
        self.set_faults({"methods": {"*": {"http_rate": 1.0, "http_status": 503}}})
        self.assertEqual(sim.raw(call_body("one.system.version", ADMIN))[0], 503)

    def test_stall(self):
        self.set_faults({"stall_s": 0.4, "fail_next": [{"method": "one.vm.info", "kind": "stall"}]})
        t0 = time.time()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, socket.timeout)):
            self.sim.raw(call_body("one.vm.info", ADMIN, 0), timeout=5)
        self.assertGreaterEqual(time.time() - t0, 0.35)
        self.assertTrue(self.sim.rpc("one.vm.info", 0)[0])

    def test_latency_is_per_request(self):
        self.set_faults({"latency_ms": 200})
        results = []

        def call():
            with xmlrpc.client.ServerProxy(self.sim.url) as proxy:
                results.append(proxy.one.system.version(ADMIN)[0])

        t0 = time.time()
        threads = [threading.Thread(target=call) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        self.assertEqual(results, [True] * 32)
        self.assertGreaterEqual(elapsed, 0.19)
        self.assertLess(elapsed, 2.0)           # 6.4 s if requests were serialized
        self.set_faults({"latency_ms": 0, "methods": {"one.vm.info": {"latency_ms": 300}}})
        t0 = time.time()
        self.sim.rpc("one.host.info", 0)
        self.assertLess(time.time() - t0, 0.25)
        t0 = time.time()
        self.sim.rpc("one.vm.info", 0)
        self.assertGreaterEqual(time.time() - t0, 0.29)

    def test_driver_failure(self):
        sim = self.sim
        self.set_faults({"driver": {"boot": {"fail_next": 1}}})
        sim.ok("one.vm.action", "poweroff", 0)
        sim.wait_vm(0, state="POWEROFF")
        sim.ok("one.vm.action", "resume", 0)
        sim.wait_vm(0, state="POWEROFF")                 # BOOT_POWEROFF failed
        sim.ctl("crash-vm", {"id": 1, "lcm_state": "BOOT_FAILURE"})
        self.set_faults({"driver": {"boot": {"fail_next": 1}}})
        sim.ok("one.vm.recover", 1, 2)
        sim.wait_vm(1, lcm="BOOT_FAILURE")                 # the retried boot failed again
        sim.ok("one.vm.recover", 1, 2)
        sim.wait_vm(1, lcm="RUNNING")
        boots = [e for e in sim.ctl("events?kind=vm_state") if e["vm"] == 1 and e["lcm"] == "BOOT"]
        self.assertEqual(len(boots), 2)

    def test_bad_fault_config(self):
        err = self.sim.ctl("faults", {"methods": {"x": {"bogus_rate": 1}}}, expect=400)
        self.assertIn("unknown fault kind", err["error"])


class FaultDeterminismTest(unittest.TestCase):
    def test_same_seed_same_decisions(self):
        cfg = {"seed": 42, "methods": {"*": {"error_rate": 0.3, "drop_rate": 0.2}}}
        runs = []
        for _ in range(2):
            inj = FaultInjector(cfg)
            runs.append([inj.decide("one.vm.recover").kind for _ in range(200)])
        self.assertEqual(runs[0], runs[1])
        self.assertIn("error", runs[0])
        self.assertIn(None, runs[0])


# ==========================================================================
# Ledger, counters, CLI, lifecycle
# ==========================================================================

class LedgerAndCliTest(SimTestCase):
    def ctl(self, *args, check=True):
        proc = subprocess.run([sys.executable, ONESIM, "ctl", "--state-dir", self.sim.state,
                               "--compact"] + list(args), capture_output=True, text=True,
                              timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError("ctl %s: %d %s %s" % (args, proc.returncode, proc.stdout,
                                                        proc.stderr))
        return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None

    def test_ledger_and_counters(self):
        sim = self.sim
        sim.ok("one.vm.lock", 0, 3)
        sim.rpc("one.vm.recover", 0, 4)
        sim.ok("one.vm.unlock", 0)
        sim.ok("one.vm.update", 0, "A=1", 1)
        sim.ok("one.host.status", 1, 1)
        sim.rpc("one.vm.info", 0)
        sim.rpc("one.vm.recover", 0, 4, auth="oneadmin:bad")
        records = sim.ctl("ledger")
        self.assertEqual([r["method"] for r in records],
                         ["one.vm.lock", "one.vm.recover", "one.vm.unlock", "one.vm.update",
                          "one.host.status", "one.vm.recover"])
        self.assertEqual([r["code"] for r in records], [0, S.AUTHORIZATION, 0, 0, 0,
                                                        S.AUTHENTICATION])
        self.assertEqual(records[1]["params"], [0, 4])
        self.assertTrue(all("time" in r and "seq" in r for r in records))
        with open(os.path.join(sim.state, "ledger.jsonl")) as fh:
            lines = [json.loads(line) for line in fh]
        self.assertEqual(len(lines), 6)
        calls = sim.ctl("calls")
        self.assertEqual(calls["by_method"]["one.vm.recover"], 2)
        self.assertEqual(calls["total"], 7)
        self.assertEqual(self.ctl("reset-counters")[1]["total"], 0)
        self.assertEqual(sim.ctl("calls")["total"], 0)

    def test_cli_commands(self):
        rc, vms = self.ctl("vms")
        self.assertEqual([v["id"] for v in vms], [0, 1, 2])
        rc, host = self.ctl("fail-host", "host1")
        self.assertEqual(host["state"], "ERROR")
        rc, out = self.ctl("wait-vms", "--ids", "0,1", "--lcm", "UNKNOWN", "--timeout", "2")
        self.assertTrue(out["ok"])
        rc, out = self.ctl("wait-vms", "--ids", "0", "--lcm", "RUNNING", "--timeout", "0.2",
                           check=False)
        self.assertEqual(rc, 1)
        rc, out = self.ctl("crash-vm", "2", "--lcm-state", "BOOT_FAILURE")
        self.assertEqual(out["lcm"], "BOOT_FAILURE")
        rc, out = self.ctl("add-vms", "--count", "1000", "--host", "host2", "--cpu", "0.1",
                           "--memory", "64", "--user-template", "HA=yes")
        self.assertEqual(len(out["ids"]), 1000)
        self.assertEqual(len(ET.fromstring(self.sim.ok("one.vmpool.info", -2, -1, -1, -1))), 1003)
        rc, out = self.ctl("faults", '{"latency_ms": 5}')
        self.assertEqual(out["latency_ms"], 5)
        rc, out = self.ctl("faults", "--clear")
        self.assertEqual(out, {})
        rc, out = self.ctl("restore-host", "0")
        self.assertEqual(out["state"], "MONITORED")
        rc, out = self.ctl("set-host-state", "host2", "DISABLED")
        self.assertEqual(out["state"], "DISABLED")
        rc, out = self.ctl("update-host", "host1", "FENCE_IP=10.0.0.9")
        self.assertEqual(out["template"]["FENCE_IP"], "10.0.0.9")
        rc, out = self.ctl("wait-hooks", "--timeout", "1")
        self.assertTrue(out["ok"])
        rc, out = self.ctl("calls")
        self.assertGreaterEqual(out["total"], 1)
        rc, out = self.ctl("fail-host", "nosuch", check=False)
        self.assertEqual(rc, 1)
        proc = subprocess.run([sys.executable, ONESIM, "ctl", "--url", "http://127.0.0.1:1",
                               "health"], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 3)


@unittest.skipUnless(shutil.which("openssl"), "openssl not found")
class TlsTest(unittest.TestCase):
    """serve --tls-cert/--tls-key: HTTPS for XML-RPC and control alike."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="onesim-tls-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        ext = os.path.join(self.tmp, "srv.ext")
        with open(ext, "w") as fh:
            fh.write("subjectAltName=IP:127.0.0.1\n")
        for cmd in (["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem",
                                              "-days", "2", "-subj", "/CN=onesim-test-ca"],
                    ["req"] + ec + ["-keyout", "srv.key", "-out", "srv.csr",
                                    "-subj", "/CN=127.0.0.1"],
                    ["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                     "-set_serial", "2", "-days", "2", "-extfile", ext, "-out", "srv.pem"]):
            subprocess.run(["openssl"] + cmd, cwd=self.tmp, check=True,
                           capture_output=True)
        self.ca = os.path.join(self.tmp, "ca.pem")

    def test_https_serve_and_ctl(self):
        import ssl
        sim = Server(scenario(), ["--tls-cert", os.path.join(self.tmp, "srv.pem"),
                                  "--tls-key", os.path.join(self.tmp, "srv.key")])
        self.addCleanup(sim.stop)
        with open(os.path.join(sim.state, "url")) as fh:
            url = fh.read().strip()
        self.assertEqual(url, "https://127.0.0.1:%d/RPC2" % sim.port)
        ctx = ssl.create_default_context(cafile=self.ca)
        with xmlrpc.client.ServerProxy(url, context=ctx) as proxy:
            self.assertTrue(proxy.one.system.version(ADMIN)[0])
        # a client without the CA is refused at the handshake
        with xmlrpc.client.ServerProxy(url) as proxy:
            with self.assertRaises(ssl.SSLError):
                proxy.one.system.version(ADMIN)
        ctl = [sys.executable, ONESIM, "ctl", "--state-dir", sim.state, "--compact"]
        proc = subprocess.run(ctl + ["--cacert", self.ca, "health"], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["url"], url)
        proc = subprocess.run(ctl + ["health"], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 3)
        self.assertIn("CERTIFICATE_VERIFY_FAILED", proc.stderr)

    def test_bad_tls_options(self):
        path = os.path.join(self.tmp, "s.json")
        with open(path, "w") as fh:
            json.dump(scenario(), fh)
        for extra in (["--tls-key", os.path.join(self.tmp, "srv.key")],
                      ["--tls-cert", os.path.join(self.tmp, "none.pem")],
                      ["--tls-cert", self.ca]):       # no key anywhere
            proc = subprocess.run([sys.executable, ONESIM, "serve", "--scenario", path] + extra,
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 2, extra)
            self.assertIn("onesim:", proc.stderr)


class ReadmeTest(unittest.TestCase):
    def test_readme_scenario_example_is_valid(self):
        import re
        from onesim_lib.scenario import build
        with open(os.path.join(HERE, "README.md")) as fh:
            text = fh.read()
        match = re.search(r"```json\n(\{\n  \"description\".*?)\n```", text, re.S)
        data = json.loads(match.group(1))
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        with open(os.path.join(tmp, "oned-hooks.conf"), "w") as fh:
            fh.write('VM_HOOK = [ NAME = "u", ON = "UNKNOWN", COMMAND = "x", ARGUMENTS = "$ID" ]\n')
        with open(os.path.join(tmp, "error_hook"), "w") as fh:
            fh.write("NAME=e\nTYPE=state\nRESOURCE=HOST\nSTATE=ERROR\nCOMMAND=x\n")
        built = build(data, base_dir=tmp)
        self.assertEqual(len(built.sim.vms), 1002)
        self.assertEqual(len(built.hooks.hooks), 5)


class LifecycleTest(unittest.TestCase):
    def test_sigterm_stops_hooks_and_cleans_up(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        marker = os.path.join(tmp, "started")
        script = write_script(tmp, "long.sh", "#!/bin/sh\ntouch %s\nsleep 60\n" % marker)
        sim = Server(scenario(hooks=[{"template": {"NAME": "long", "TYPE": "state",
                                                   "RESOURCE": "HOST", "STATE": "ERROR",
                                                   "COMMAND": script}}]))
        self.addCleanup(sim.stop)
        with open(os.path.join(sim.state, "pid")) as fh:
            self.assertEqual(int(fh.read()), sim.proc.pid)
        sim.ctl("fail-host", {"host": "host1"})
        deadline = time.time() + 5
        pid = None
        # The script can touch its marker before the hook manager has
        # recorded its pid (a loaded machine): wait for both.
        while time.time() < deadline:
            runs = sim.ctl("hooks")["runs"]
            pid = runs[0]["pid"] if runs else None
            if pid is not None and os.path.exists(marker):
                break
            time.sleep(0.02)
        self.assertIsNotNone(pid, "the hook did not start")
        t0 = time.time()
        sim.proc.send_signal(signal.SIGTERM)
        self.assertEqual(sim.proc.wait(10), 0)
        self.assertLess(time.time() - t0, 8)
        self.assertFalse(os.path.exists(os.path.join(sim.state, "port")))
        self.assertFalse(os.path.exists(os.path.join(sim.state, "pid")))
        self.assertTrue(wait_dead(pid), "hook process survived onesim")
        self.assertTrue(sim.proc.stdout.read().startswith("http://127.0.0.1:"))

    def test_bad_scenario_is_reported(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "s.json")
        with open(path, "w") as fh:
            json.dump({"hosts": [{"name": "h", "bogus": 1}]}, fh)
        proc = subprocess.run([sys.executable, ONESIM, "serve", "--scenario", path],
                              capture_output=True, text=True, timeout=10)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown key(s) bogus", proc.stderr)


class ThroughputTest(unittest.TestCase):
    """A small version of the benchmark's load: it must not serialize."""

    def test_concurrent_recovers_with_latency(self):
        data = scenario(hosts=[{"name": "host1", "max_cpu": 4000, "max_mem": 64 << 20},
                               {"name": "host2", "max_cpu": 4000, "max_mem": 64 << 20}],
                        vms=[{"count": 300, "host": "host1", "cpu": 0.1, "memory": 64}])
        sim = Server(data)
        self.addCleanup(sim.stop)
        sim.ctl("fail-host", {"host": "host1", "mode": "crash"})
        sim.ctl("faults", {"latency_ms": 20})
        ids = list(range(300))
        random.shuffle(ids)
        lock = threading.Lock()
        failures = []

        def worker():
            with xmlrpc.client.ServerProxy(sim.url) as proxy:
                while True:
                    with lock:
                        if not ids:
                            return
                        vid = ids.pop()
                    result = proxy.one.vm.recover(ADMIN, vid, 4)
                    if not result[0]:
                        failures.append(result)

        t0 = time.time()
        threads = [threading.Thread(target=worker) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        self.assertEqual(failures, [])
        self.assertLess(elapsed, 3.0)           # 6 s if the latency serialized
        self.assertTrue(sim.ctl("wait-vms", {"lcm": "RUNNING", "host": "host2",
                                             "timeout": 20})["ok"])


def run_parallel(jobs, verbose):
    """Run the test classes in `jobs` child processes (most of a test's time
    is spent waiting for onesim, not computing); print each child's output
    and fail if any child failed."""
    loader = unittest.defaultTestLoader
    classes = [name for name, obj in sorted(globals().items())
               if isinstance(obj, type) and issubclass(obj, unittest.TestCase)
               and loader.getTestCaseNames(obj)]
    weights = {name: len(loader.getTestCaseNames(globals()[name])) for name in classes}
    groups = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for name in sorted(classes, key=lambda n: -weights[n]):
        i = loads.index(min(loads))
        groups[i].append(name)
        loads[i] += weights[name]
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__)] +
                              (["-v"] if verbose else []) + group,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for group in groups if group]
    failed = False
    for proc in procs:
        out, _ = proc.communicate()
        sys.stdout.write(out)
        failed |= proc.returncode != 0
    print("onesim self-tests: %d classes in %d processes: %s" % (
        len(classes), len(procs), "FAILED" if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["-j"] and len(args) >= 2:
        sys.exit(run_parallel(int(args[1]), "-v" in args[2:]))
    unittest.main()
