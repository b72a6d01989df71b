"""The XML-RPC methods, with oned's parameter checks, authorization order
and failure messages (RequestManager*.cc, DispatchManagerActions.cc).

Order of checks for every call, as in oned's Request::execute:
  1. the method exists for the emulated version     (else <fault> -506)
  2. parameter 0 is the session string              (else <fault> -501)
  3. the session authenticates                      (else AUTHENTICATION)
  4. the other parameters have the right types      (else <fault> -501)
  5. the method's own checks (object exists, authorization incl. locks,
     state), each answered with oned's error code and message.
"""

import time

from . import states as S
from .engine import OneError
from .xmlrpc import I8, Raw, encode_failure, encode_fault, encode_success
from .xmlutil import (parse_str_or_xml, template_merge, template_to_xml,
                      TemplateSyntaxError, XMLError)

OBJ_VM = "virtual machine"
OBJ_HOST = "host"
OBJ_DS = "datastore"

OP_NAMES = {S.OP_USE: "USE", S.OP_MANAGE: "MANAGE", S.OP_ADMIN: "ADMIN"}

# VM_ADMIN_OPERATIONS / VM_MANAGE_OPERATIONS defaults of oned.conf 6.10
ADMIN_ACTIONS = frozenset(("resched", "unresched", "delete", "delete-recreate",
                           "finalize", "resubmit", "migrate", "deploy", "recover"))

# 4.x action names (one.vm.action before 5.0) -> their 5.x equivalents
OLD_ACTION_ALIASES = {
    "shutdown": "terminate", "shutdown-hard": "terminate-hard", "cancel": "terminate-hard",
    "boot": "resume", "restart": "resume", "reset": "reboot-hard",
    "finalize": "delete", "resubmit": "delete-recreate",
}
NEW_ACTIONS = frozenset((
    "terminate", "terminate-hard", "undeploy", "undeploy-hard", "poweroff",
    "poweroff-hard", "reboot", "reboot-hard", "hold", "release", "stop", "suspend",
    "resume", "resched", "unresched"))
OLD_ACTIONS = frozenset(("shutdown", "shutdown-hard", "cancel", "hold", "release",
                         "stop", "suspend", "resume", "boot", "restart", "delete",
                         "finalize", "delete-recreate", "resubmit", "reboot",
                         "reboot-hard", "reset", "resched", "unresched", "poweroff",
                         "poweroff-hard", "undeploy", "undeploy-hard"))

MUTATING = frozenset(("one.vm.action", "one.vm.recover", "one.vm.migrate", "one.vm.deploy",
                      "one.vm.lock", "one.vm.unlock", "one.vm.update", "one.host.status",
                      "one.host.enable"))

_TYPE_FAULTS = {"i": "Parameter that is supposed to be integer is not",
                "b": "Parameter that is supposed to be boolean is not",
                "s": "Parameter that is supposed to be string is not"}


def _check_type(kind, value):
    if kind == "i":
        return isinstance(value, int) and not isinstance(value, (bool, I8))
    if kind == "b":
        return isinstance(value, bool)
    if kind == "s":
        return isinstance(value, str)
    return True


class Api:
    def __init__(self, sim, ledger, version_string=None):
        self.sim = sim
        self.ledger = ledger
        self.version_string = version_string or sim.version.string
        v = sim.version
        # name -> (handler, required types, optional types)
        self.methods = {
            "one.system.version": (self.system_version, "", ""),
            "one.system.config": (self.system_config, "", ""),
            "one.hostpool.info": (self.hostpool_info, "", ""),
            "one.host.info": (self.host_info, "i", "b" if v.at_least(4, 6) else ""),
            "one.vmpool.info": (self.vmpool_info, "iiii", "s"),
            "one.vm.info": (self.vm_info, "i", "b" if v.at_least(4, 6) else ""),
            "one.vm.action": (self.vm_action, "si", ""),
            "one.vm.recover": (self.vm_recover, "ii" if v.recover_is_int else "ib", ""),
            "one.vm.migrate": (self.vm_migrate, "iib", "bii"),
            "one.vm.deploy": (self.vm_deploy, "ii", "bis"),
            "one.vm.update": (self.vm_update, "is", "i"),
            "one.datastorepool.info": (self.datastorepool_info, "", ""),
            "one.datastore.info": (self.datastore_info, "i", "b"),
        }
        if v.has_host_status:
            self.methods["one.host.status"] = (self.host_status, "ii", "")
        else:
            self.methods["one.host.enable"] = (self.host_enable, "ib", "")
        if v.has_infoextended:
            self.methods["one.vmpool.infoextended"] = (self.vmpool_infoextended, "iiii", "s")
        if v.has_infoset:
            self.methods["one.vmpool.infoset"] = (self.vmpool_infoset, "sb", "")
        if v.has_locks:
            self.methods["one.vm.lock"] = (self.vm_lock, "ii", "b")
            self.methods["one.vm.unlock"] = (self.vm_unlock, "i", "")

    # ------------------------------------------------------------------
    def call(self, method, params):
        """Run one call -> (response bytes, outcome text, ledger record|None).

        Mutating methods get a ledger record whatever happens to them (bad
        session, type fault, oned error, success).  It is returned, not
        appended: the HTTP layer first notes whether the answer was actually
        delivered."""
        entry = self.methods.get(method)
        if entry is None:
            return encode_fault(S.FAULT_NO_SUCH_METHOD,
                                "Method '%s' not defined" % method), "fault", None
        record = None
        if method in MUTATING:
            record = {"time": time.time(), "method": method,
                      "params": _jsonable(params[1:]), "user": None, "safety": None}
        handler, required, optional = entry

        def fault(text):
            if record is not None:
                record.update(ok=False, code=S.FAULT_TYPE, code_name="FAULT",
                              message=text, result=None)
            return encode_fault(S.FAULT_TYPE, text), "fault", record

        if not params:
            return fault("Not enough parameters")
        if not isinstance(params[0], str):
            return fault(_TYPE_FAULTS["s"])
        user = self.sim.authenticate(params[0])
        if user is None:
            err = OneError(S.AUTHENTICATION)
            if record is not None:
                record.update(ok=False, code=err.code, code_name="AUTHENTICATION",
                              message=self._message(method, err), result=None)
            return self._failure(method, err), "error:AUTHENTICATION", record
        if record is not None:
            record["user"] = user.name
        args = params[1:]
        if len(args) < len(required):
            return fault("Not enough parameters")
        for kind, value in zip(required + optional, args):
            if not _check_type(kind, value):
                return fault(_TYPE_FAULTS[kind])
        args = args[:len(required) + len(optional)]

        with self.sim.lock:
            try:
                value = handler(user, record, *args)
            except OneError as err:
                body = self._failure(method, err, user)
                name = S.ERROR_CODE_NAMES.get(err.code, str(err.code))
                if record is not None:
                    record.update(ok=False, code=err.code, code_name=name,
                                  message=self._message(method, err, user), result=None)
                return body, "error:%s" % name, record
        if record is not None:
            record.update(ok=True, code=0, code_name="SUCCESS", message="",
                          result=value if isinstance(value, (int, bool)) else None)
        return encode_success(value), "ok", record

    def _message(self, method, err, user=None):
        """Request::failure_message"""
        head = "[%s] " % method
        if err.code == S.AUTHORIZATION:
            uid = user.uid if user else -1
            if err.message:
                return head + "User [%d] : %s." % (uid, err.message)
            return head + "User [%d] not authorized to perform action on %s." % (
                uid, err.obj or OBJ_VM)
        if err.code == S.AUTHENTICATION:
            return head + "User couldn't be authenticated, aborting call."
        if err.code == S.NO_EXISTS:
            if err.resp_id != -1:
                return head + "Error getting %s [%d]." % (err.obj or OBJ_VM, err.resp_id)
            return head + "Error getting %s Pool." % (err.obj or OBJ_VM)
        return head + err.message

    def _failure(self, method, err, user=None):
        resp_id = err.resp_id if err.code == S.NO_EXISTS else -1
        return encode_failure(self._message(method, err, user), err.code, resp_id,
                              self.sim.version)

    def injected_failure(self, method, code, message):
        return encode_failure("[%s] %s" % (method, message), code, -1, self.sim.version)

    # ------------------------------------------------------------------
    # lookups and authorization
    def _vm(self, vm_id):
        vm = self.sim.vms.get(vm_id)
        if vm is None:
            raise OneError(S.NO_EXISTS, resp_id=vm_id, obj=OBJ_VM)
        return vm

    def _host(self, host_id):
        host = self.sim.hosts.get(host_id)
        if host is None:
            raise OneError(S.NO_EXISTS, resp_id=host_id, obj=OBJ_HOST)
        return host

    def _ds(self, ds_id):
        ds = self.sim.datastores.get(ds_id)
        if ds is None:
            raise OneError(S.NO_EXISTS, resp_id=ds_id, obj=OBJ_DS)
        return ds

    def _authorize_vm(self, user, vm_id, op, check_lock=True):
        """vm_authorization: existence, then lock (applies to oneadmin too:
        locked > 0 && locked <= op), then the ACL (owner: USE+MANAGE)."""
        vm = self._vm(vm_id)
        if check_lock and vm.lock and vm.lock["level"] <= op:
            raise OneError(S.AUTHORIZATION, "VM is locked. [%d]" % vm.id)
        if not user.is_admin and (op == S.OP_ADMIN or vm.uid != user.uid):
            raise OneError(S.AUTHORIZATION, "Not authorized to perform %s VM [%d]" % (
                OP_NAMES[op], vm.id))
        return vm

    def _before(self, record, vm):
        if record is not None:
            cur = vm.current
            record["vm_before"] = {
                "state": S.VM_STATE_NAMES[vm.state], "lcm": S.LCM_STATE_NAMES[vm.lcm_state],
                "host": cur.hostname if cur else None, "lock": vm.lock_level}
            record["copies"] = self.sim.live_copies(vm)

    def _req(self, user):
        return (user.uid, user.gid, self.sim.next_req_id())

    # ------------------------------------------------------------------
    # system
    def system_version(self, user, record):
        return self.version_string

    def system_config(self, user, record):
        attrs = [("DB", [("BACKEND", "sqlite")]), ("DEFAULT_AUTH", "default"),
                 ("KEEPALIVE_MAX_CONN", "30"), ("KEEPALIVE_TIMEOUT", "15"),
                 ("LISTEN_ADDRESS", "0.0.0.0"), ("MANAGER_TIMER", "15"),
                 ("MAX_CONN", "15"), ("MAX_CONN_BACKLOG", "15"),
                 ("MESSAGE_SIZE", "1073741824"), ("PORT", "2633"), ("TIMEOUT", "15"),
                 ("VM_ADMIN_OPERATIONS",
                  "migrate, delete, recover, retry, deploy, resched, backup, restore"),
                 ("VM_MANAGE_OPERATIONS",
                  "undeploy, hold, release, stop, suspend, resume, reboot, poweroff, "
                  "disk-attach, nic-attach, disk-snapshot, terminate, disk-resize, "
                  "snapshot, updateconf, rename, resize, update, disk-saveas, "
                  "sched-action, sg-attach, pci-attach")]
        v = self.sim.version
        if v.monitoring_interval_in_config:
            key = "MONITORING_INTERVAL_HOST" if v.at_least(5, 6) else "MONITORING_INTERVAL"
            attrs.append((key, "180" if v.at_least(5, 6) else "60"))
        overrides = self.sim.system_config
        attrs = [(k, val) for k, val in attrs if k not in overrides]
        for key, val in overrides.items():
            if val is not None:
                attrs.append((key, str(val)))
        return template_to_xml(attrs, "OPENNEBULA_CONFIGURATION")

    # ------------------------------------------------------------------
    # hosts and datastores
    def _ordered(self, objects):
        desc = self.sim.version.pools_descending
        return sorted(objects, key=lambda o: o.id, reverse=desc)

    def hostpool_info(self, user, record):
        ctx = self.sim.ctx
        return Raw("&lt;HOST_POOL&gt;" + "".join(
            h.xml_esc(ctx) for h in self._ordered(self.sim.hosts.values())) + "&lt;/HOST_POOL&gt;")

    def host_info(self, user, record, host_id, decrypt=False):
        return Raw(self._host(host_id).xml_esc(self.sim.ctx))

    def host_status(self, user, record, host_id, status):
        host = self._host(host_id)
        if not user.is_admin:
            raise OneError(S.AUTHORIZATION, "Not authorized to perform ADMIN HOST [%d]" % host_id)
        if status not in (0, 1, 2):
            raise OneError(S.INTERNAL, "Wrong status code")
        if record is not None:
            record["host_before"] = S.HOST_STATE_NAMES[host.state]
        self.sim.host_set_status(host, status)
        return host_id

    def host_enable(self, user, record, host_id, enable):
        return self.host_status(user, record, host_id, 0 if enable else 1)

    def datastorepool_info(self, user, record):
        ctx = self.sim.ctx
        return "<DATASTORE_POOL>" + "".join(
            d.xml(ctx) for d in self._ordered(self.sim.datastores.values())) + "</DATASTORE_POOL>"

    def datastore_info(self, user, record, ds_id, decrypt=False):
        return self._ds(ds_id).xml(self.sim.ctx)

    # ------------------------------------------------------------------
    # VM pools
    def _select_vms(self, user, filter_flag, start, end, state):
        if filter_flag < -4:
            raise OneError(S.XML_RPC_API, "Incorrect filter_flag value")
        max_state = 11 if self.sim.version.at_least(5, 0) else 7
        if state < -2 or state > max_state:
            raise OneError(S.XML_RPC_API, "Incorrect filter_flag, state")
        vms = self.sim.vms.values()
        if filter_flag >= 0:
            vms = [v for v in vms if v.uid == filter_flag]
        elif filter_flag in (-3,) or (filter_flag == -2 and not user.is_admin) or \
                (filter_flag == -1 and not user.is_admin):
            vms = [v for v in vms if v.uid == user.uid or
                   (filter_flag == -1 and v.gid == user.gid)]
        elif filter_flag == -4:
            vms = [v for v in vms if v.gid == user.gid]
        if state == -1:
            vms = [v for v in vms if v.state != S.DONE]
        elif state >= 0:
            vms = [v for v in vms if v.state == state]
        ordered = self._ordered(vms)
        if end < -1:
            offset = max(0, start)
            return ordered[offset:offset - end]         # -end = page size
        if start >= 0 and end >= 0:
            return [v for v in ordered if start <= v.id <= end]
        if start >= 0:
            return [v for v in ordered if v.id >= start]
        return ordered

    def _pool(self, vms, extended):
        ctx = self.sim.ctx
        if extended:
            body = "".join(v.ext_esc(ctx) for v in vms)
        else:
            body = "".join(v.short_esc(ctx) for v in vms)
        return Raw("&lt;VM_POOL&gt;" + body + "&lt;/VM_POOL&gt;")

    def _query(self, query):
        if query:
            # oned 6.x implements the JSON search on MySQL only
            raise OneError(S.INTERNAL, "Search is not supported with the SQLite backend")

    def vmpool_info(self, user, record, filter_flag, start, end, state, query=""):
        self._query(query)
        return self._pool(self._select_vms(user, filter_flag, start, end, state), False)

    def vmpool_infoextended(self, user, record, filter_flag, start, end, state, query=""):
        self._query(query)
        return self._pool(self._select_vms(user, filter_flag, start, end, state), True)

    def vmpool_infoset(self, user, record, ids, extended):
        wanted = set()
        for part in ids.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                wanted.add(int(part))
            except ValueError:
                raise OneError(S.XML_RPC_API, "Wrong format of VM IDs: %s" % ids) from None
        vms = [self.sim.vms[i] for i in wanted if i in self.sim.vms]
        if not user.is_admin:
            vms = [v for v in vms if v.uid == user.uid]
        return self._pool(self._ordered(vms), extended)

    def vm_info(self, user, record, vm_id, decrypt=False):
        vm = self._authorize_vm(user, vm_id, S.OP_USE, check_lock=False)
        return Raw(vm.ext_esc(self.sim.ctx))

    # ------------------------------------------------------------------
    # VM operations
    def vm_action(self, user, record, action, vm_id):
        v = self.sim.version
        known = OLD_ACTIONS if v.old_action_names else NEW_ACTIONS
        name = OLD_ACTION_ALIASES.get(action, action) if v.old_action_names else action
        op = S.OP_ADMIN if action in ADMIN_ACTIONS else S.OP_MANAGE
        vm = self._authorize_vm(user, vm_id, op)
        self._before(record, vm)
        if action not in known:
            raise OneError(S.ACTION, 'Action "%s" is not supported' % action)
        sim = self.sim
        try:
            if name in ("terminate", "terminate-hard"):
                sim.vm_terminate(vm, name.endswith("hard"))
            elif name in ("poweroff", "poweroff-hard"):
                sim.vm_poweroff(vm, name.endswith("hard"))
            elif name in ("undeploy", "undeploy-hard"):
                sim.vm_undeploy(vm, name.endswith("hard"))
            elif name in ("reboot", "reboot-hard"):
                sim.vm_reboot(vm, name.endswith("hard"))
            elif name == "hold":
                sim.vm_hold(vm)
            elif name == "release":
                sim.vm_release(vm)
            elif name == "stop":
                sim.vm_stop(vm)
            elif name == "suspend":
                sim.vm_suspend(vm)
            elif name == "resume":
                sim.vm_resume(vm)
            elif name in ("resched", "unresched"):
                sim.vm_resched(vm, name == "resched")
            elif name == "delete":                      # 4.x
                if record is not None:
                    record["safety"] = sim.note_recovery(vm, "delete")
                sim.vm_delete(vm)
            elif name == "delete-recreate":             # 4.x
                self._old_delete_recreate(vm, record)
        except OneError as err:
            raise OneError(S.ACTION, 'Error performing action "%s": %s' % (action, err.message))
        return vm_id

    def _old_delete_recreate(self, vm, record):
        if vm.state in (S.SUSPENDED, S.POWEROFF):
            raise OneError(S.ACTION, "Cannot delete-recreate a %s VM. Resume it first" % (
                "suspended" if vm.state == S.SUSPENDED else "powered off"))
        if record is not None:
            record["safety"] = self.sim.note_recovery(vm, "delete-recreate")
        self.sim.vm_delete_recreate(vm)

    def vm_recover(self, user, record, vm_id, op):
        sim = self.sim
        if isinstance(op, bool):                        # 4.4-4.12: bool success
            op = 1 if op else 0
        if op < 0 or op > sim.version.max_recover_op:
            raise OneError(S.ACTION, "Wrong recovery operation code")
        vm = self._authorize_vm(user, vm_id, S.OP_ADMIN)
        self._before(record, vm)
        if op in (3, 4, 5) and record is not None:
            record["safety"] = sim.note_recovery(
                vm, {3: "delete", 4: "delete-recreate", 5: "delete-db"}[op])
        if op == 0:
            sim.vm_recover(vm, False)
        elif op == 1:
            sim.vm_recover(vm, True)
        elif op == 2:
            sim.vm_retry(vm)
        elif op == 3:
            sim.vm_delete(vm)
        elif op == 4:
            sim.vm_delete_recreate(vm)
        else:
            sim.vm_delete_db(vm)
        return vm_id

    def _host_for_placement(self, host_id):
        host = self._host(host_id)
        if host.state == S.HOST_OFFLINE:
            raise OneError(S.ACTION, "Host is offline, cannot use it to deploy VM")
        return host

    def _system_ds(self, ds_id):
        ds = self._ds(ds_id)
        if not ds.is_system:
            raise OneError(S.INTERNAL, "Trying to use datastore [%d] to deploy the VM, but "
                           "it is not of type system datastore." % ds_id)
        return ds

    def vm_migrate(self, user, record, vm_id, host_id, live, enforce=False, ds_id=-1,
                   mtype=0):
        sim = self.sim
        host = self._host_for_placement(host_id)
        if ds_id != -1:
            self._ds(ds_id)
        vm = self._authorize_vm(user, vm_id, S.OP_ADMIN)
        self._before(record, vm)
        migratable = (vm.state in (S.POWEROFF, S.SUSPENDED) or
                      (vm.state == S.ACTIVE and vm.lcm_state in (S.RUNNING, S.UNKNOWN)))
        prev_open = len(vm.history) >= 2 and not vm.history[-2].etime
        if not migratable or prev_open or vm.current is None:
            raise OneError(S.ACTION, "Migrate action is not available for state %s" %
                           S.vm_state_str(vm.state, vm.lcm_state))
        if vm.hid == host_id and (ds_id == -1 or ds_id == vm.current.ds_id):
            raise OneError(S.ACTION, "VM is already running on %s [%d]" % (OBJ_HOST, vm.hid))
        if enforce and not host.fits(vm):
            raise OneError(S.ACTION, "%s [%d] does not fit in %s [%d]. %s" % (
                OBJ_VM, vm.id, OBJ_HOST, host_id, host.capacity_error(vm)))
        ds = sim.datastores.get(vm.current.ds_id) if ds_id == -1 else self._system_ds(ds_id)
        if record is not None:
            record["safety"] = sim.note_recovery(vm, "migrate")
        sim.migrate(vm, host, live=bool(live and vm.lcm_state == S.RUNNING and
                                         vm.state == S.ACTIVE), ds=ds, req=self._req(user))
        return vm_id

    def vm_deploy(self, user, record, vm_id, host_id, enforce=False, ds_id=-1, nic_tmpl=""):
        sim = self.sim
        host = self._host_for_placement(host_id)
        vm = self._vm(vm_id)
        if ds_id == -1:
            ds = sim.pick_ds(vm)
            if ds is None:
                raise OneError(S.ACTION, "cluster [%d] does not have any datastore of type "
                               "SYSTEM_DS." % host.cluster_id)
        else:
            ds = self._system_ds(ds_id)
        vm = self._authorize_vm(user, vm_id, S.OP_ADMIN)
        self._before(record, vm)
        if vm.state not in (S.PENDING, S.HOLD, S.STOPPED, S.UNDEPLOYED):
            raise OneError(S.ACTION, "Deploy action is not available for state %s" %
                           S.vm_state_str(vm.state, vm.lcm_state))
        if enforce and not host.fits(vm):
            raise OneError(S.ACTION, "%s [%d] does not fit in %s [%d]. %s" % (
                OBJ_VM, vm.id, OBJ_HOST, host_id, host.capacity_error(vm)))
        sim.deploy(vm, host, ds, req=self._req(user))
        return vm_id

    def vm_lock(self, user, record, vm_id, level, test=False):
        vm = self._authorize_vm(user, vm_id, S.OP_MANAGE, check_lock=False)
        self._before(record, vm)
        mapped = {1: S.LOCK_USE, 2: S.LOCK_MANAGE, 3: S.LOCK_ADMIN, 4: S.LOCK_USE}.get(level)
        if mapped is None:
            raise OneError(S.ACTION, "Wrong lock level specified")
        if test and vm.lock:
            raise OneError(S.ACTION, str(vm.lock["time"]))
        if vm.lock and vm.lock["owner"] != user.uid and not user.is_admin:
            raise OneError(S.ACTION, "Error trying to lock the resource.")
        vm.lock = {"level": mapped, "owner": user.uid, "time": int(time.time()),
                   "req_id": self.sim.next_req_id()}
        vm.touch()
        return vm_id

    def vm_unlock(self, user, record, vm_id):
        vm = self._authorize_vm(user, vm_id, S.OP_MANAGE, check_lock=False)
        self._before(record, vm)
        if vm.lock and not user.is_admin and vm.lock["owner"] != user.uid:
            raise OneError(S.ACTION, "Cannot unlock: Lock is owned by another user")
        vm.lock = None
        vm.touch()
        return vm_id

    def vm_update(self, user, record, vm_id, text, update_type=0):
        if update_type not in (0, 1):
            raise OneError(S.XML_RPC_API, "Wrong update type")
        try:
            attrs = parse_str_or_xml(text)
        except (TemplateSyntaxError, XMLError) as exc:
            raise OneError(S.INTERNAL, "Parse error: %s" % exc) from None
        vm = self._authorize_vm(user, vm_id, S.OP_MANAGE)
        self._before(record, vm)
        if update_type == 1:
            template_merge(vm.user_template, attrs)
        else:
            vm.user_template[:] = attrs
        vm.touch()
        return vm_id


def _jsonable(args):
    """Call parameters as JSON values for the ledger."""
    out = []
    for a in args:
        if isinstance(a, bytes):
            out.append(a.decode("utf-8", "replace"))
        elif isinstance(a, (list, dict, str, int, float, bool)) or a is None:
            out.append(a)
        else:
            out.append(str(a))
    return out

