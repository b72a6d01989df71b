"""Hosts, VMs, datastores and the XML documents oned returns for them.

Element order, CDATA use and the short/extended split follow oned 6.10
(Host::to_xml, VirtualMachine::to_xml_short / to_xml_extended,
VirtualMachineTemplate::to_xml_short, History::to_xml[_short]).  With
shapes="xsd" (the default) the documents additionally carry the elements the
7.4 schemas make mandatory (HISTORY/PLAN_ID and ACTION_ID), so every
document validates against shared/opennebula/xsd; shapes="native" emits
exactly what the emulated version would.

Each object caches its rendered fragments (plain and XML-RPC-escaped) and
drops them on touch(): a 1,000-VM pool is then a join of cached strings.
"""

import time
import uuid

from . import states as S
from .xmlutil import cdata, esc, template_to_xml, template_get
from .xmlrpc import esc_value


class RenderContext:
    def __init__(self, version, xsd_shapes=True):
        self.version = version
        self.xsd_shapes = xsd_shapes
        self.datastores = {}

    @property
    def plan_ids(self):
        return self.xsd_shapes or self.version.has_plan_ids

    @property
    def backups(self):
        return self.xsd_shapes or self.version.has_backups

    @property
    def sched_actions(self):
        return self.xsd_shapes or self.version.at_least(6, 8)

    @property
    def short_vcpu(self):
        return self.version.at_least(6, 10)


class Cached:
    """Per-object render cache, dropped whenever the object changes."""

    def __init__(self):
        self._cache = {}
        self.gen = 0

    def touch(self):
        self._cache.clear()
        self.gen += 1

    def cached(self, key, build):
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
            return value


# ==========================================================================
# Datastores
# ==========================================================================

DS_TYPES = {"IMAGE": 0, "SYSTEM": 1, "FILE": 2}
DS_TYPE_NAMES = {0: "IMAGE_DS", 1: "SYSTEM_DS", 2: "FILE_DS"}


class Datastore(Cached):
    def __init__(self, ds_id, name, ds_type=1, shared=True, tm_mad=None,
                 ds_mad=None, total_mb=102400, free_mb=None, template=None,
                 cluster_ids=(0,)):
        super().__init__()
        self.id = ds_id
        self.name = name
        self.type = ds_type
        self.shared = shared
        self.tm_mad = tm_mad or ("shared" if shared else "ssh")
        self.ds_mad = ds_mad or ("-" if ds_type == 1 else "fs")
        self.total_mb = total_mb
        self.free_mb = total_mb if free_mb is None else free_mb
        self.template = list(template or [])
        self.cluster_ids = list(cluster_ids)

    @property
    def is_system(self):
        return self.type == 1

    def full_template(self):
        attrs = [("DISK_TYPE", "FILE"), ("DS_MIGRATE", "YES"),
                 ("SHARED", "YES" if self.shared else "NO"),
                 ("TM_MAD", self.tm_mad), ("TYPE", DS_TYPE_NAMES[self.type]),
                 ("ALLOW_ORPHANS", "NO"), ("RESTRICTED_DIRS", "/"),
                 ("SAFE_DIRS", "/var/tmp")]
        if self.type != 1:
            attrs.append(("DS_MAD", self.ds_mad))
        names = {k for k, _ in self.template}
        return [(k, v) for k, v in attrs if k not in names] + self.template

    def xml(self, ctx):
        return self.cached("xml", lambda: self._xml(ctx))

    def _xml(self, ctx):
        return "".join([
            "<DATASTORE><ID>%d</ID><UID>0</UID><GID>0</GID>" % self.id,
            "<UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME>",
            "<NAME>%s</NAME>" % esc(self.name),
            _PERMS_DS,
            "<DS_MAD>%s</DS_MAD><TM_MAD>%s</TM_MAD>" % (cdata(self.ds_mad), cdata(self.tm_mad)),
            "<BASE_PATH>%s</BASE_PATH>" % cdata("/var/lib/one//datastores/%d" % self.id),
            "<TYPE>%d</TYPE><DISK_TYPE>0</DISK_TYPE><STATE>0</STATE>" % self.type,
            "<CLUSTERS>%s</CLUSTERS>" % "".join("<ID>%d</ID>" % c for c in self.cluster_ids),
            "<TOTAL_MB>%d</TOTAL_MB><FREE_MB>%d</FREE_MB><USED_MB>%d</USED_MB>" % (
                self.total_mb, self.free_mb, self.total_mb - self.free_mb),
            "<IMAGES></IMAGES>",
            template_to_xml(self.full_template(), "TEMPLATE"),
            "</DATASTORE>",
        ])


_PERMS_DS = ("<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A>"
             "<GROUP_U>1</GROUP_U><GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A>"
             "<OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>")
_PERMS_VM = ("<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A>"
             "<GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A>"
             "<OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>")


# ==========================================================================
# Hosts
# ==========================================================================

class Host(Cached):
    def __init__(self, host_id, name, max_cpu=800, max_mem=16777216,
                 im_mad="kvm", vm_mad="kvm", cluster_id=0, cluster="default",
                 template=None, state=S.HOST_MONITORED, max_disk=102400,
                 power_pidfile=None):
        super().__init__()
        self.id = host_id
        self.name = name
        self.state = state
        self.prev_state = state
        self.im_mad = im_mad
        self.vm_mad = vm_mad
        self.cluster_id = cluster_id
        self.cluster = cluster
        self.max_cpu = int(max_cpu)          # percent: cores * 100
        self.max_mem = int(max_mem)          # KiB
        self.max_disk = int(max_disk)        # MiB
        self.template = list(template or [])
        self.error_msg = None                # TEMPLATE/ERROR while in ERROR
        self.vm_ids = set()                  # VMs holding capacity here
        self.cpu_usage = 0
        self.mem_usage = 0
        self.last_mon = int(time.time()) if state == S.HOST_MONITORED else 0
        # --- simulation-only attributes (never in the XML) ---------------
        self.power_on = True                 # False: crashed / fenced
        self.partitioned = False             # fail-host: unreachable, VMs alive
        self.power_pidfile = power_pidfile   # host alive iff this pid is alive
        self.monitor_frozen = False          # set-host-state pins the state
        self.last_refire = 0.0               # 4.x ERROR hook re-fire bookkeeping

    # capacity bookkeeping (HostShare) -------------------------------------
    def add_vm(self, vm):
        if vm.id not in self.vm_ids:
            self.vm_ids.add(vm.id)
            self.cpu_usage += vm.cpu_units
            self.mem_usage += vm.mem_kb
            self.touch()

    def del_vm(self, vm):
        if vm.id in self.vm_ids:
            self.vm_ids.discard(vm.id)
            self.cpu_usage -= vm.cpu_units
            self.mem_usage -= vm.mem_kb
            self.touch()

    def fits(self, vm):
        return (self.cpu_usage + vm.cpu_units <= self.max_cpu and
                self.mem_usage + vm.mem_kb <= self.max_mem)

    def capacity_error(self, vm):
        return ("Not enough capacity. Requested: CPU=%d MEMORY=%d, available: "
                "CPU=%d MEMORY=%d" % (vm.cpu_units, vm.mem_kb,
                                      self.max_cpu - self.cpu_usage,
                                      self.max_mem - self.mem_usage))

    def full_template(self):
        base = [("ARCH", "x86_64"), ("CPUSPEED", "2400"), ("HOSTNAME", self.name),
                ("HYPERVISOR", self.vm_mad), ("IM_MAD", self.im_mad),
                ("MODELNAME", "onesim virtual CPU @ 2.40GHz"),
                ("RESERVED_CPU", ""), ("RESERVED_MEM", ""), ("VM_MAD", self.vm_mad)]
        names = {k for k, _ in self.template}
        attrs = [(k, v) for k, v in base if k not in names] + [
            (k, v) for k, v in self.template if k != "ERROR"]
        if self.error_msg:
            attrs.append(("ERROR", self.error_msg))
        return attrs

    def xml(self, ctx):
        return self.cached("xml", lambda: self._xml(ctx))

    def xml_esc(self, ctx):
        return self.cached("xml_esc", lambda: esc_value(self.xml(ctx)))

    def _xml(self, ctx):
        used_disk = min(self.max_disk, 1024 + 512 * len(self.vm_ids))
        parts = [
            "<HOST><ID>%d</ID><NAME>%s</NAME>" % (self.id, esc(self.name)),
            "<STATE>%d</STATE><PREV_STATE>%d</PREV_STATE>" % (self.state, self.prev_state),
            "<IM_MAD>%s</IM_MAD><VM_MAD>%s</VM_MAD>" % (cdata(self.im_mad), cdata(self.vm_mad)),
            "<CLUSTER_ID>%d</CLUSTER_ID><CLUSTER>%s</CLUSTER>" % (
                self.cluster_id, esc(self.cluster)),
            "<HOST_SHARE><MEM_USAGE>%d</MEM_USAGE><CPU_USAGE>%d</CPU_USAGE>" % (
                self.mem_usage, self.cpu_usage),
            "<TOTAL_MEM>%d</TOTAL_MEM><TOTAL_CPU>%d</TOTAL_CPU>" % (self.max_mem, self.max_cpu),
            "<MAX_MEM>%d</MAX_MEM><MAX_CPU>%d</MAX_CPU>" % (self.max_mem, self.max_cpu),
            "<RUNNING_VMS>%d</RUNNING_VMS><VMS_THREAD>1</VMS_THREAD>" % len(self.vm_ids),
            "<DATASTORES><DISK_USAGE>%s</DISK_USAGE><FREE_DISK>%s</FREE_DISK>"
            "<MAX_DISK>%s</MAX_DISK><USED_DISK>%s</USED_DISK></DATASTORES>" % (
                cdata(0), cdata(self.max_disk - used_disk), cdata(self.max_disk), cdata(used_disk)),
            "<PCI_DEVICES></PCI_DEVICES><NUMA_NODES></NUMA_NODES></HOST_SHARE>",
            "<VMS>%s</VMS>" % "".join("<ID>%d</ID>" % i for i in sorted(self.vm_ids)),
            template_to_xml(self.full_template(), "TEMPLATE"),
        ]
        if self.last_mon:
            used_cpu = min(self.max_cpu, self.cpu_usage // 2 + 20)
            used_mem = min(self.max_mem, self.mem_usage + 524288)
            parts.append(
                "<MONITORING><TIMESTAMP>%d</TIMESTAMP><ID>%d</ID><CAPACITY>"
                "<FREE_CPU>%s</FREE_CPU><FREE_MEMORY>%s</FREE_MEMORY>"
                "<USED_CPU>%s</USED_CPU><USED_MEMORY>%s</USED_MEMORY></CAPACITY>"
                "<SYSTEM><NETRX>%s</NETRX><NETTX>%s</NETTX></SYSTEM></MONITORING>" % (
                    self.last_mon, self.id, cdata(self.max_cpu - used_cpu),
                    cdata(self.max_mem - used_mem), cdata(used_cpu), cdata(used_mem),
                    cdata(1000 * self.last_mon % 99991), cdata(700 * self.last_mon % 99991)))
        else:
            parts.append("<MONITORING></MONITORING>")
        parts.append("</HOST>")
        return "".join(parts)


# ==========================================================================
# VMs
# ==========================================================================

class History:
    """One placement of a VM (a HISTORY record)."""

    __slots__ = ("seq", "hostname", "hid", "cid", "stime", "etime", "vm_mad",
                 "tm_mad", "ds_id", "pstime", "petime", "rstime", "retime",
                 "estime", "eetime", "action", "uid", "gid", "request_id")

    def __init__(self, seq, host, ds, now):
        self.seq = seq
        self.hostname = host.name
        self.hid = host.id
        self.cid = host.cluster_id
        self.stime = now
        self.etime = 0
        self.vm_mad = host.vm_mad
        self.tm_mad = ds.tm_mad if ds is not None else "shared"
        self.ds_id = ds.id if ds is not None else 0
        self.pstime = self.petime = self.rstime = self.retime = 0
        self.estime = self.eetime = 0
        self.action = 0
        self.uid = -1
        self.gid = -1
        self.request_id = -1

    def short_xml(self, oid):
        return ("<HISTORY><OID>%d</OID><SEQ>%d</SEQ><HOSTNAME>%s</HOSTNAME>"
                "<HID>%d</HID><CID>%d</CID><DS_ID>%d</DS_ID><VM_MAD>%s</VM_MAD>"
                "<TM_MAD>%s</TM_MAD><ACTION>%s</ACTION></HISTORY>" % (
                    oid, self.seq, cdata(self.hostname), self.hid, self.cid,
                    self.ds_id, cdata(self.vm_mad), cdata(self.tm_mad), cdata(self.action)))

    def ext_xml(self, oid, ctx):
        plan = "<PLAN_ID>-1</PLAN_ID><ACTION_ID>-1</ACTION_ID>" if ctx.plan_ids else ""
        return ("<HISTORY><OID>%d</OID><SEQ>%d</SEQ><HOSTNAME>%s</HOSTNAME>"
                "<HID>%d</HID><CID>%d</CID><STIME>%d</STIME><ETIME>%d</ETIME>"
                "<VM_MAD>%s</VM_MAD><TM_MAD>%s</TM_MAD><DS_ID>%d</DS_ID>%s"
                "<PSTIME>%d</PSTIME><PETIME>%d</PETIME><RSTIME>%d</RSTIME>"
                "<RETIME>%d</RETIME><ESTIME>%d</ESTIME><EETIME>%d</EETIME>"
                "<ACTION>%d</ACTION><UID>%d</UID><GID>%d</GID>"
                "<REQUEST_ID>%d</REQUEST_ID></HISTORY>" % (
                    oid, self.seq, esc(self.hostname), self.hid, self.cid,
                    self.stime, self.etime, cdata(self.vm_mad), cdata(self.tm_mad),
                    self.ds_id, plan, self.pstime, self.petime, self.rstime,
                    self.retime, self.estime, self.eetime, self.action, self.uid,
                    self.gid, self.request_id))

    def to_json(self):
        return {"seq": self.seq, "host": self.hostname, "hid": self.hid,
                "ds_id": self.ds_id, "stime": self.stime, "etime": self.etime,
                "action": self.action}


# USER_TEMPLATE attributes a short body keeps (VirtualMachineTemplate::to_xml_short)
_SHORT_USER_SCALARS = ("LABELS", "ERROR", "SCHED_MESSAGE")
_SHORT_USER_KEPT = ("SCHED_RANK", "SCHED_DS_RANK", "SCHED_REQUIREMENTS",
                    "SCHED_DS_REQUIREMENTS", "USER_PRIORITY")
_SHORT_USER_VECTORS = ("PUBLIC_CLOUD", "SCHED_ACTION")

# VM TEMPLATE attributes a scenario may add: those vm.xsd allows whose
# schema position agrees with oned's alphabetical order.
VM_TEMPLATE_EXTRAS = frozenset((
    "CONTEXT", "CPU_COST", "DISK", "DISK_COST", "EMULATOR", "FEATURES",
    "GRAPHICS", "INPUT", "MEMORY_COST", "NIC", "NIC_ALIAS", "NIC_DEFAULT", "OS",
    "PCI", "RAW", "SECURITY_GROUP_RULE", "SPICE_OPTIONS", "TOPOLOGY", "VMGROUP"))


class VM(Cached):
    def __init__(self, vm_id, name, cpu="1", vcpu=1, memory=1024, uid=0, gid=0,
                 uname="oneadmin", gname="oneadmin", user_template=None,
                 template=None, ds_id=None, now=None):
        super().__init__()
        now = int(now or time.time())
        self.id = vm_id
        self.name = name
        self.uid, self.gid, self.uname, self.gname = uid, gid, uname, gname
        self.state = S.PENDING
        self.lcm_state = S.LCM_INIT
        self.prev_state = self.state
        self.prev_lcm_state = self.lcm_state
        self.resched = 0
        self.stime = now
        self.etime = 0
        self.deploy_id = ""
        self.lock = None            # {"level", "owner", "time", "req_id"}
        self.cpu = _num_text(cpu)
        self.vcpu = int(vcpu)
        self.memory = int(memory)   # MiB
        self.cpu_units = int(round(float(cpu) * 100))
        self.mem_kb = self.memory * 1024
        self.user_template = list(user_template or [])
        self.template = list(template or [])
        self.ds_id = ds_id          # preferred system DS (None: first system DS)
        self.history = []
        self.last_poll = 0
        self.uuid = str(uuid.UUID(int=(0x6f6e6573696d << 80) | vm_id))
        # token: bumped on every state change; a pending timer whose token
        # no longer matches was overtaken by another action and is dropped.
        self.token = 0
        self.stuck_token = None     # token at which a cleanup got stuck

    @property
    def current(self):
        return self.history[-1] if self.history else None

    @property
    def hid(self):
        return self.history[-1].hid if self.history else -1

    @property
    def lock_level(self):
        return self.lock["level"] if self.lock else 0

    def state_names(self):
        return S.VM_STATE_NAMES[self.state], S.LCM_STATE_NAMES[self.lcm_state]

    # ----------------------------------------------------------------------
    def short_xml(self, ctx):
        return self.cached("short", lambda: self._short_xml(ctx))

    def short_esc(self, ctx):
        return self.cached("short_esc", lambda: esc_value(self.short_xml(ctx)))

    def ext_xml(self, ctx):
        return self.cached("ext", lambda: self._ext_xml(ctx))

    def ext_esc(self, ctx):
        return self.cached("ext_esc", lambda: esc_value(self.ext_xml(ctx)))

    def _head(self):
        return ("<VM><ID>%d</ID><UID>%d</UID><GID>%d</GID><UNAME>%s</UNAME>"
                "<GNAME>%s</GNAME><NAME>%s</NAME>" % (
                    self.id, self.uid, self.gid, esc(self.uname), esc(self.gname),
                    esc(self.name)))

    def _short_user_template(self):
        if not self.user_template:
            return "<USER_TEMPLATE/>"
        parts = ["<USER_TEMPLATE>"]
        for name in _SHORT_USER_SCALARS:
            value = template_get(self.user_template, name)
            if isinstance(value, str) and value:
                parts.append("<%s>%s</%s>" % (name, esc(value), name))
        for name in _SHORT_USER_KEPT:
            value = template_get(self.user_template, name)
            if isinstance(value, str):
                parts.append("<%s>%s</%s>" % (name, esc(value), name))
        for name in _SHORT_USER_VECTORS:
            for key, value in self.user_template:
                if key == name and isinstance(value, list):
                    parts.append("<%s>%s</%s>" % (name, "".join(
                        "<%s>%s</%s>" % (k, cdata(v), k) for k, v in sorted(value)), name))
        parts.append("</USER_TEMPLATE>")
        return "".join(parts)

    def _short_xml(self, ctx):
        if not ctx.version.short_pool_body:
            return self._ext_xml(ctx, last_history_only=True)
        parts = [self._head(),
                 "<LAST_POLL>%d</LAST_POLL><STATE>%d</STATE><LCM_STATE>%d</LCM_STATE>"
                 "<RESCHED>%d</RESCHED><STIME>%d</STIME><ETIME>%d</ETIME>"
                 "<DEPLOY_ID>%s</DEPLOY_ID>" % (
                     self.last_poll, self.state, self.lcm_state, self.resched,
                     self.stime, self.etime, esc(self.deploy_id))]
        if self.lock:
            parts.append("<LOCK><LOCKED>%d</LOCKED></LOCK>" % self.lock["level"])
        parts.append("<TEMPLATE><CPU>%s</CPU><MEMORY>%d</MEMORY>" % (esc(self.cpu), self.memory))
        if ctx.short_vcpu:
            parts.append("<VCPU>%d</VCPU>" % self.vcpu)
        for key, value in self.template:
            if key == "GRAPHICS" and isinstance(value, list):
                parts.append("<GRAPHICS>%s</GRAPHICS>" % "".join(
                    "<%s>%s</%s>" % (k, cdata(v), k) for k, v in sorted(value)))
        parts.append("</TEMPLATE><MONITORING/>")
        parts.append(self._short_user_template())
        if self.history:
            parts.append("<HISTORY_RECORDS>%s</HISTORY_RECORDS>" %
                         self.history[-1].short_xml(self.id))
        else:
            parts.append("<HISTORY_RECORDS/>")
        parts.append("</VM>")
        return "".join(parts)

    def _template_attrs(self, ctx):
        tm_mad = "shared"
        if self.history:
            tm_mad = self.history[-1].tm_mad
        elif self.ds_id is not None and self.ds_id in ctx.datastores:
            tm_mad = ctx.datastores[self.ds_id].tm_mad
        attrs = [("AUTOMATIC_REQUIREMENTS", "!(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)"),
                 ("CPU", self.cpu), ("MEMORY", str(self.memory)),
                 ("TEMPLATE_ID", "0"), ("TM_MAD_SYSTEM", tm_mad),
                 ("VCPU", str(self.vcpu)), ("VMID", str(self.id))]
        if not any(k == "OS" for k, _ in self.template):
            attrs.append(("OS", [("UUID", self.uuid)]))
        return attrs + self.template

    def _monitoring_xml(self):
        if not self.last_poll:
            return "<MONITORING></MONITORING>"
        t = self.last_poll
        return ("<MONITORING><CPU>%s</CPU><DISKRDBYTES>%s</DISKRDBYTES>"
                "<DISKRDIOPS>%s</DISKRDIOPS><DISKWRBYTES>%s</DISKWRBYTES>"
                "<DISKWRIOPS>%s</DISKWRIOPS><ID>%s</ID><MEMORY>%s</MEMORY>"
                "<NETRX>%s</NETRX><NETTX>%s</NETTX><TIMESTAMP>%s</TIMESTAMP></MONITORING>" % (
                    cdata(self.id % 7), cdata(t % 1000), cdata(t % 900),
                    cdata(t % 800), cdata(t % 700), cdata(self.id),
                    cdata(self.mem_kb * 95 // 100), cdata(t % 5000), cdata(t % 4000), cdata(t)))

    def _ext_xml(self, ctx, last_history_only=False):
        parts = [self._head(), _PERMS_VM,
                 "<LAST_POLL>%d</LAST_POLL><STATE>%d</STATE><LCM_STATE>%d</LCM_STATE>"
                 "<PREV_STATE>%d</PREV_STATE><PREV_LCM_STATE>%d</PREV_LCM_STATE>"
                 "<RESCHED>%d</RESCHED><STIME>%d</STIME><ETIME>%d</ETIME>"
                 "<DEPLOY_ID>%s</DEPLOY_ID>" % (
                     self.last_poll, self.state, self.lcm_state, self.prev_state,
                     self.prev_lcm_state, self.resched, self.stime, self.etime,
                     esc(self.deploy_id))]
        if self.lock:
            parts.append("<LOCK><LOCKED>%d</LOCKED><OWNER>%d</OWNER><TIME>%d</TIME>"
                         "<REQ_ID>%d</REQ_ID></LOCK>" % (
                             self.lock["level"], self.lock["owner"], self.lock["time"],
                             self.lock["req_id"]))
        parts.append(self._monitoring_xml())
        if ctx.sched_actions:
            parts.append("<SCHED_ACTIONS></SCHED_ACTIONS>")
        parts.append(template_to_xml(self._template_attrs(ctx), "TEMPLATE"))
        parts.append(template_to_xml(self.user_template, "USER_TEMPLATE",
                                     empty_self_closing=True))
        records = self.history[-1:] if last_history_only else self.history
        if records:
            parts.append("<HISTORY_RECORDS>%s</HISTORY_RECORDS>" % "".join(
                h.ext_xml(self.id, ctx) for h in records))
        else:
            parts.append("<HISTORY_RECORDS/>")
        if ctx.backups:
            parts.append("<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS></BACKUPS>")
        parts.append("</VM>")
        return "".join(parts)

    def summary(self):
        h = self.current
        return {
            "id": self.id, "name": self.name,
            "state": S.VM_STATE_NAMES[self.state],
            "lcm": S.LCM_STATE_NAMES[self.lcm_state],
            "state_num": self.state, "lcm_num": self.lcm_state,
            "host": h.hostname if h else None, "hid": h.hid if h else -1,
            "ds_id": h.ds_id if h else self.ds_id, "resched": self.resched,
            "lock": self.lock_level, "seq": h.seq if h else -1,
        }


def _num_text(value):
    """CPU as oned prints it: '1', '0.5' (no trailing '.0')."""
    f = float(value)
    return str(int(f)) if f.is_integer() else repr(f)
