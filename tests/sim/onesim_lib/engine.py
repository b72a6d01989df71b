"""The simulation: VM lifecycle, scheduler, host monitoring, copy ledger.

Concurrency model: one re-entrant lock (Sim.lock) guards all simulated
state.  XML-RPC handlers, control requests and the timer thread take it for
the short time they need; nothing slow (latency injection, hook processes,
socket I/O) ever runs under it.

Time: every transient LCM state is a "phase" with a simulated driver step
(prolog, boot, save, migrate, shutdown, epilog, cleanup) that completes
after timing.<step>_ms.  A step fails, and the VM enters the matching
*_FAILURE state, when the host it needs is unreachable or a driver fault is
injected.  Completion timers carry the VM's state token: a VM moved on by
another action meanwhile ignores the stale timer.

Copies: the "copy ledger" records on which hosts a VM's domain is actually
running, independently of what the API shows.  A domain starts when a boot
succeeds and stops only when a driver action reaches its host, or the host
is powered off (crash, fence).  A recovery done while the old host is
unreachable but powered (partitioned, not fenced) therefore leaves the old
copy running, and the second boot is recorded as a duplicate: exactly the
split-brain a fencing-less HA hook causes.
"""

import heapq
import itertools
import os
import threading
import time
import traceback

from . import states as S
from .states import L
from .model import Host, VM, History
from .xmlutil import template_get, template_set


class OneError(Exception):
    """An oned failure response: code (Request.h) + message text."""

    def __init__(self, code, message="", resp_id=-1, obj=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.resp_id = resp_id
        self.obj = obj          # object name for NO_EXISTS messages


DEFAULT_TIMING = {
    "sched_interval_ms": 100,      # oned's scheduler: SCHED_INTERVAL = 15 s
    "monitor_interval_ms": 100,    # host monitoring period (power/partition detection)
    "prolog_ms": 50,
    "boot_ms": 50,
    "save_ms": 50,
    "migrate_ms": 50,
    "shutdown_ms": 50,
    "epilog_ms": 50,
    "cleanup_ms": 50,
    # 4.4-4.10.1 only: how often a host that stays in ERROR re-fires its
    # oned.conf HOST_HOOK (oned's MONITORING_INTERVAL, 60 s there)
    "error_refire_ms": 1000,
}

DEFAULT_SCHEDULER = {
    "enabled": True,
    "policy": "packing",           # packing | striping | load_aware | fixed
    "max_dispatch": 0,             # VMs per cycle, 0 = unlimited (oned: 30)
    "max_host": 0,                 # VMs per host per cycle, 0 = unlimited (oned: 1)
    "live_rescheds": False,        # oned sched.conf LIVE_RESCHEDS = 0
}

SCHED_MESSAGE = ("Cannot dispatch VM to any Host. Possible reasons: Not enough "
                 "capacity in Host or System DS, dispatch limit reached, or limit "
                 "of free leases reached.")


# --------------------------------------------------------------------------
# Phases: transient LCM states and their driver steps
# --------------------------------------------------------------------------

class Phase:
    def __init__(self, step, on_ok, on_fail, where="current"):
        self.step = step          # timing key prefix and driver fault name
        self.on_ok = on_ok        # (state, lcm) or handler name
        self.on_fail = on_fail    # (state, lcm) or handler name
        self.where = where        # which host the step needs


def _a(name):
    return (S.ACTIVE, L[name])


PHASES = {
    L["PROLOG"]: Phase("prolog", "prolog_ok", _a("PROLOG_FAILURE")),
    L["PROLOG_RESUME"]: Phase("prolog", "prolog_ok", _a("PROLOG_RESUME_FAILURE")),
    L["PROLOG_UNDEPLOY"]: Phase("prolog", "prolog_ok", _a("PROLOG_UNDEPLOY_FAILURE")),
    L["PROLOG_MIGRATE"]: Phase("prolog", "prolog_ok", _a("PROLOG_MIGRATE_FAILURE"), "migrate"),
    L["PROLOG_MIGRATE_UNKNOWN"]: Phase("prolog", "prolog_ok",
                                       _a("PROLOG_MIGRATE_UNKNOWN_FAILURE"), "migrate"),
    L["PROLOG_MIGRATE_POWEROFF"]: Phase("prolog", "prolog_ok",
                                        _a("PROLOG_MIGRATE_POWEROFF_FAILURE"), "migrate"),
    L["PROLOG_MIGRATE_SUSPEND"]: Phase("prolog", "prolog_ok",
                                       _a("PROLOG_MIGRATE_SUSPEND_FAILURE"), "migrate"),
    L["BOOT"]: Phase("boot", "boot_ok", _a("BOOT_FAILURE")),
    L["BOOT_MIGRATE"]: Phase("boot", "boot_ok", _a("BOOT_MIGRATE_FAILURE")),
    L["BOOT_STOPPED"]: Phase("boot", "boot_ok", _a("BOOT_STOPPED_FAILURE")),
    L["BOOT_UNDEPLOY"]: Phase("boot", "boot_ok", _a("BOOT_UNDEPLOY_FAILURE")),
    L["BOOT_UNKNOWN"]: Phase("boot", "boot_ok", _a("UNKNOWN")),
    L["BOOT_POWEROFF"]: Phase("boot", "boot_ok", (S.POWEROFF, S.LCM_INIT)),
    L["BOOT_SUSPENDED"]: Phase("boot", "boot_ok", (S.SUSPENDED, S.LCM_INIT)),
    L["MIGRATE"]: Phase("migrate", "live_migrate_ok", "migrate_failed", "both"),
    L["SAVE_MIGRATE"]: Phase("save", "save_migrate_ok", "migrate_failed", "previous"),
    L["SAVE_STOP"]: Phase("save", "save_ok", "back_to_running"),
    L["SAVE_SUSPEND"]: Phase("save", "save_ok", "back_to_running"),
    L["SHUTDOWN"]: Phase("shutdown", "shutdown_ok", "back_to_running"),
    L["SHUTDOWN_POWEROFF"]: Phase("shutdown", "shutdown_ok", "back_to_running"),
    L["SHUTDOWN_UNDEPLOY"]: Phase("shutdown", "shutdown_ok", "back_to_running"),
    L["EPILOG"]: Phase("epilog", "epilog_ok", _a("EPILOG_FAILURE"), "frontend"),
    L["EPILOG_STOP"]: Phase("epilog", "epilog_ok", _a("EPILOG_STOP_FAILURE")),
    L["EPILOG_UNDEPLOY"]: Phase("epilog", "epilog_ok", _a("EPILOG_UNDEPLOY_FAILURE")),
    L["CLEANUP_RESUBMIT"]: Phase("cleanup", "cleanup_ok", None),
    L["CLEANUP_DELETE"]: Phase("cleanup", "cleanup_ok", None),
}

# Where a successful phase leads (for phases whose handler just moves on).
NEXT_STATE = {
    L["PROLOG"]: _a("BOOT"),
    L["PROLOG_RESUME"]: _a("BOOT_STOPPED"),
    L["PROLOG_UNDEPLOY"]: _a("BOOT_UNDEPLOY"),
    L["PROLOG_MIGRATE"]: _a("BOOT_MIGRATE"),
    L["PROLOG_MIGRATE_UNKNOWN"]: _a("BOOT"),
    L["PROLOG_MIGRATE_POWEROFF"]: (S.POWEROFF, S.LCM_INIT),
    L["PROLOG_MIGRATE_SUSPEND"]: (S.SUSPENDED, S.LCM_INIT),
    L["SAVE_STOP"]: _a("EPILOG_STOP"),
    L["SAVE_SUSPEND"]: (S.SUSPENDED, S.LCM_INIT),
    L["SHUTDOWN"]: _a("EPILOG"),
    L["SHUTDOWN_POWEROFF"]: (S.POWEROFF, S.LCM_INIT),
    L["SHUTDOWN_UNDEPLOY"]: _a("EPILOG_UNDEPLOY"),
    L["EPILOG"]: (S.DONE, S.LCM_INIT),
    L["EPILOG_STOP"]: (S.STOPPED, S.LCM_INIT),
    L["EPILOG_UNDEPLOY"]: (S.UNDEPLOYED, S.LCM_INIT),
}

# *_FAILURE -> the phase a retry re-runs (LifeCycleManager::retry)
FAILURE_PHASE = {
    L["BOOT_FAILURE"]: L["BOOT"],
    L["BOOT_MIGRATE_FAILURE"]: L["BOOT_MIGRATE"],
    L["BOOT_UNDEPLOY_FAILURE"]: L["BOOT_UNDEPLOY"],
    L["BOOT_STOPPED_FAILURE"]: L["BOOT_STOPPED"],
    L["PROLOG_MIGRATE_FAILURE"]: L["PROLOG_MIGRATE"],
    L["PROLOG_MIGRATE_POWEROFF_FAILURE"]: L["PROLOG_MIGRATE_POWEROFF"],
    L["PROLOG_MIGRATE_SUSPEND_FAILURE"]: L["PROLOG_MIGRATE_SUSPEND"],
    L["PROLOG_MIGRATE_UNKNOWN_FAILURE"]: L["PROLOG_MIGRATE_UNKNOWN"],
    L["PROLOG_RESUME_FAILURE"]: L["PROLOG_RESUME"],
    L["PROLOG_UNDEPLOY_FAILURE"]: L["PROLOG_UNDEPLOY"],
    L["PROLOG_FAILURE"]: L["PROLOG"],
    L["EPILOG_FAILURE"]: L["EPILOG"],
    L["EPILOG_STOP_FAILURE"]: L["EPILOG_STOP"],
    L["EPILOG_UNDEPLOY_FAILURE"]: L["EPILOG_UNDEPLOY"],
}


# --------------------------------------------------------------------------
# Timers
# --------------------------------------------------------------------------

class Timers:
    """One thread running due callbacks with the simulation lock held."""

    def __init__(self, lock):
        self._lock = lock
        self._heap = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="timers", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(2)

    def after(self, delay_s, fn, *args):
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay_s),
                                        next(self._seq), fn, args))
            self._cond.notify()

    def every(self, interval_fn, fn):
        """Call fn periodically; the interval is re-read each time so the
        control API can change timing at run time."""
        def tick():
            try:
                fn()
            finally:
                self.after(interval_fn(), tick)
        self.after(interval_fn(), tick)

    def pending(self):
        with self._cond:
            return len(self._heap)

    def _run(self):
        while True:
            with self._cond:
                while not self._stop:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    timeout = (self._heap[0][0] - now) if self._heap else None
                    self._cond.wait(timeout)
                if self._stop:
                    return
                due = []
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap))
            # The lock is taken per callback, not per batch: when a thousand
            # VMs change state at once, API calls still get in between.
            for _, _, fn, args in due:
                with self._lock:
                    try:
                        fn(*args)
                    except Exception:   # keep the simulation alive, but say so
                        traceback.print_exc()


# --------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------

class User:
    def __init__(self, name, password, uid, gid, gname):
        self.name, self.password, self.uid, self.gid, self.gname = name, password, uid, gid, gname

    @property
    def is_admin(self):
        return self.gid == 0


class Sim:
    def __init__(self, version, ctx, events, hooks, faults, timing=None,
                 scheduler=None, simulation=None):
        self.version = version
        self.ctx = ctx
        self.events = events
        self.hooks = hooks
        self.faults = faults
        self.lock = threading.RLock()
        self.timing = dict(DEFAULT_TIMING)
        self.timing.update(timing or {})
        self.scheduler = dict(DEFAULT_SCHEDULER)
        self.scheduler.update(scheduler or {})
        self.simulation = {"stuck_cleanup_nonshared": False}
        self.simulation.update(simulation or {})
        self.users = {}
        self.hosts = {}
        self.datastores = ctx.datastores
        self.vms = {}
        self.next_vm_id = 0
        self.next_host_id = 0
        self.system_config = {}
        self.copies = {}           # vm id -> {host id: start time}
        self.duplicates = []       # every time a VM ran on two hosts at once
        self.unsafe = []           # recoveries that left a live copy behind
        self.timers = Timers(self.lock)
        self._req_id = itertools.count(1)
        self.started = time.time()

    # ------------------------------------------------------------------
    # setup
    def start(self):
        self.timers.every(lambda: self.timing["monitor_interval_ms"] / 1000.0,
                          self._monitor_tick)
        self.timers.every(lambda: self.timing["sched_interval_ms"] / 1000.0,
                          self._sched_tick)
        self.timers.start()

    def stop(self):
        self.timers.stop()

    def next_req_id(self):
        return next(self._req_id)

    def add_user(self, name, password, uid=None, gid=None, gname=None):
        if uid is None:
            uid = 0 if name == "oneadmin" else 1 + max([u.uid for u in self.users.values()] + [0])
        if gid is None:
            gid = 0 if uid == 0 else 1
        gname = gname or ("oneadmin" if gid == 0 else "users")
        self.users[name] = User(name, password, uid, gid, gname)

    def authenticate(self, session):
        if not isinstance(session, str) or ":" not in session:
            return None
        name, _, secret = session.partition(":")
        user = self.users.get(name)
        if user is None or user.password != secret.rstrip():
            return None
        return user

    def add_datastore(self, ds):
        self.datastores[ds.id] = ds
        return ds

    def add_host(self, name, **kw):
        if name in self.host_by_name_map():
            raise ValueError("duplicate host name %r" % name)
        host_id = kw.pop("id", None)
        if host_id is None:
            host_id = self.next_host_id
        self.next_host_id = max(self.next_host_id, host_id + 1)
        host = Host(host_id, name, **kw)
        self.hosts[host_id] = host
        return host

    def host_by_name_map(self):
        return {h.name: h for h in self.hosts.values()}

    def find_host(self, ref):
        """Host by id (int or digits) or name."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            host = self.hosts.get(int(ref))
            if host:
                return host
        for host in self.hosts.values():
            if host.name == ref:
                return host
        raise KeyError("no host %r" % (ref,))

    def system_datastores(self):
        return [d for d in sorted(self.datastores.values(), key=lambda d: d.id) if d.is_system]

    def pick_ds(self, vm):
        if vm.ds_id is not None and vm.ds_id in self.datastores and \
                self.datastores[vm.ds_id].is_system:
            return self.datastores[vm.ds_id]
        systems = self.system_datastores()
        return systems[0] if systems else None

    # ------------------------------------------------------------------
    # VM creation (scenario and control API)
    def create_vm(self, host=None, state_spec="RUNNING", name=None, cpu=1, vcpu=1,
                  memory=1024, user_template=None, template=None, ds_id=None,
                  lock=0, owner=None, copy=None, vm_id=None, fire_hooks=False):
        if vm_id is None:
            vm_id = self.next_vm_id
        if vm_id in self.vms:
            raise ValueError("duplicate VM id %d" % vm_id)
        self.next_vm_id = max(self.next_vm_id, vm_id + 1)
        user = self.users.get(owner or "oneadmin") or next(iter(self.users.values()))
        vm = VM(vm_id, name or "vm-%d" % vm_id, cpu=cpu, vcpu=vcpu, memory=memory,
                uid=user.uid, gid=user.gid, uname=user.name, gname=user.gname,
                user_template=user_template, template=template, ds_id=ds_id)
        state, lcm = S.parse_vm_state_spec(state_spec)
        now = int(time.time())
        if host is not None and state not in (S.PENDING, S.HOLD, S.INIT):
            ds = self.pick_ds(vm)
            h = History(0, host, ds, now)
            h.pstime = h.petime = h.rstime = now
            vm.history.append(h)
            vm.deploy_id = self._deploy_id(vm, host)
            if state in (S.ACTIVE, S.POWEROFF, S.SUSPENDED):
                host.add_vm(vm)
            if state == S.DONE:
                h.etime = now
                vm.etime = now
        vm.state, vm.lcm_state = state, lcm
        vm.prev_state, vm.prev_lcm_state = state, lcm
        if state == S.ACTIVE and lcm in (S.RUNNING, S.UNKNOWN):
            vm.last_poll = now
        if lock:
            vm.lock = {"level": int(lock), "owner": user.uid, "time": now, "req_id": -1}
        self.vms[vm_id] = vm
        # A domain runs for RUNNING VMs; UNKNOWN ones too unless told otherwise
        alive = copy if copy is not None else (
            state == S.ACTIVE and lcm in (S.RUNNING, S.UNKNOWN))
        if host is not None and alive:
            self.copies.setdefault(vm_id, {})[host.id] = time.time()
        if state == S.ACTIVE and lcm in PHASES:
            self._schedule_phase(vm)
        if fire_hooks:
            self.hooks.vm_event(vm, vm.state_names(), vm.ext_xml(self.ctx), create=True)
        return vm

    def _deploy_id(self, vm, host):
        if host.vm_mad == "dummy":
            return "%s:%s:dummy" % (host.name, vm.name)
        return "one-%d" % vm.id

    # ------------------------------------------------------------------
    # reachability and the copy ledger
    def reachable(self, host):
        return host.power_on and not host.partitioned and self._pid_alive(host)

    def powered(self, host):
        return host.power_on and self._pid_alive(host)

    @staticmethod
    def _pid_alive(host):
        if not host.power_pidfile:
            return True
        try:
            with open(host.power_pidfile) as fh:
                pid = int(fh.read().split()[0])
            os.kill(pid, 0)
            return True
        except (OSError, ValueError, IndexError):
            return False

    def _copy_start(self, vm, host):
        copies = self.copies.setdefault(vm.id, {})
        others = [h for h in copies if h != host.id]
        copies[host.id] = time.time()
        self.events.add("copy_start", vm=vm.id, host=host.name)
        if others:
            dup = {"time": time.time(), "vm": vm.id,
                   "hosts": sorted([self.hosts[h].name for h in others] + [host.name])}
            self.duplicates.append(dup)
            self.events.add("duplicate", **dup)

    def _copy_stop(self, vm, host, reason):
        """A driver action stopped the domain on `host` (if it can reach it)."""
        if host is None:
            return
        copies = self.copies.get(vm.id)
        if not copies or host.id not in copies:
            return
        if not self.reachable(host):
            self.events.add("copy_unreachable", vm=vm.id, host=host.name, reason=reason)
            return
        del copies[host.id]
        self.events.add("copy_stop", vm=vm.id, host=host.name, reason=reason)

    def _kill_copies_on(self, host, reason):
        for vm_id, copies in self.copies.items():
            if host.id in copies:
                del copies[host.id]
                self.events.add("copy_killed", vm=vm_id, host=host.name, reason=reason)

    def live_copies(self, vm):
        return sorted(self.hosts[h].name for h in self.copies.get(vm.id, {}))

    def note_recovery(self, vm, action):
        """Record (and return) a recovery that leaves a domain running on a
        host no driver can reach: the old host was not fenced."""
        stranded = [self.hosts[h] for h in self.copies.get(vm.id, {})
                    if not self.reachable(self.hosts[h])]
        if not stranded:
            return None
        entry = {"time": time.time(), "vm": vm.id, "action": action,
                 "hosts": sorted(h.name for h in stranded),
                 "reason": "host unreachable and not fenced: its copy keeps running"}
        self.unsafe.append(entry)
        self.events.add("unsafe_recovery", **entry)
        return entry

    def safety_report(self):
        current = {str(v): sorted(self.hosts[h].name for h in c)
                   for v, c in self.copies.items() if len(c) > 1}
        orphans = {str(v): sorted(self.hosts[h].name for h in c)
                   for v, c in self.copies.items()
                   if c and self.vms.get(v) is not None and self.vms[v].state == S.DONE}
        return {"duplicates": list(self.duplicates), "current_duplicates": current,
                "orphans": orphans, "unsafe_recoveries": list(self.unsafe),
                "copies": {str(v): sorted(self.hosts[h].name for h in c)
                           for v, c in self.copies.items() if c}}

    # ------------------------------------------------------------------
    # state changes
    def set_vm_state(self, vm, state, lcm):
        """Every VM state change goes through here: prev states, cache,
        event log, and the VM hooks (fired with PREV_* = the old state, as
        oned builds the hook message before updating PREV_STATE)."""
        old = (vm.state, vm.lcm_state)
        vm.state, vm.lcm_state = state, lcm
        vm.token += 1
        if (state, lcm) != old:
            self.events.add("vm_state", vm=vm.id, state=S.VM_STATE_NAMES[state],
                            lcm=S.LCM_STATE_NAMES[lcm],
                            host=vm.current.hostname if vm.current else None)
            if self.hooks.wants_vm_events():
                vm.prev_state, vm.prev_lcm_state = old
                vm.touch()
                prev_names = (S.VM_STATE_NAMES[old[0]], S.LCM_STATE_NAMES[old[1]])
                self.hooks.vm_event(vm, prev_names, vm.ext_xml(self.ctx))
        vm.prev_state, vm.prev_lcm_state = vm.state, vm.lcm_state
        vm.touch()

    def _enter(self, vm, state, lcm):
        self.set_vm_state(vm, state, lcm)
        if state == S.ACTIVE and lcm in PHASES:
            self._schedule_phase(vm)

    def set_host_state(self, host, new_state, event=None):
        old = host.state
        host.state = new_state
        host.touch()
        if new_state != old or event:
            self.events.add("host_state", host=host.name,
                            state=S.HOST_STATE_NAMES[new_state],
                            prev=S.HOST_STATE_NAMES[old])
            host.prev_state = old
            host.touch()
            doc = host.xml(self.ctx)
            if event:
                self.hooks.host_event(host, event, doc, only_form="oned.conf")
            if new_state != old:
                self.hooks.host_event(host, S.HOST_STATE_NAMES[new_state], doc)
        host.prev_state = host.state
        host.touch()

    # ------------------------------------------------------------------
    # phases
    def _schedule_phase(self, vm):
        phase = PHASES[vm.lcm_state]
        delay = self.timing.get(phase.step + "_ms", 50) / 1000.0
        self.timers.after(delay, self._phase_done, vm.id, vm.token)

    def _phase_done(self, vm_id, token):
        vm = self.vms.get(vm_id)
        if vm is None or vm.token != token or vm.state != S.ACTIVE:
            return
        phase = PHASES.get(vm.lcm_state)
        if phase is None:
            return
        if phase.step == "cleanup":
            if self._cleanup_stuck(vm):
                vm.stuck_token = vm.token      # nothing will move it on by itself
                self.events.add("cleanup_stuck", vm=vm.id)
                return
            self._complete(vm, True)
            return
        ok = self._step_can_run(vm, phase) and not self.faults.driver_fails(phase.step)
        self._complete(vm, ok)

    def _previous(self, vm):
        return vm.history[-2] if len(vm.history) >= 2 else None

    def _step_can_run(self, vm, phase):
        cur = vm.current
        cur_host = self.hosts.get(cur.hid) if cur else None
        prev = self._previous(vm)
        prev_host = self.hosts.get(prev.hid) if prev else None
        if phase.where == "frontend":
            return True
        if phase.where == "previous":
            return prev_host is not None and self.reachable(prev_host)
        if cur_host is None or not self.reachable(cur_host):
            return False
        if phase.where == "both":
            return prev_host is not None and self.reachable(prev_host)
        if phase.where == "migrate" and prev_host is not None and not self.reachable(prev_host):
            # the disks must be copied from the dead host unless shared
            ds = self.datastores.get(cur.ds_id)
            return ds is not None and ds.shared
        return True

    def _cleanup_stuck(self, vm):
        return self.faults.driver_fails("cleanup") or self._cleanup_blocked(vm)

    def _complete(self, vm, success):
        """Driver result for the VM's current phase (also what recover op 0/1
        triggers: LifeCycleManager::recover re-triggers these events)."""
        lcm = FAILURE_PHASE.get(vm.lcm_state, vm.lcm_state)
        phase = PHASES.get(lcm)
        if phase is None:
            return
        outcome = phase.on_ok if success else phase.on_fail
        if outcome is None:
            return
        if isinstance(outcome, tuple):
            self._enter(vm, *outcome)
        else:
            getattr(self, "_ph_" + outcome)(vm, lcm)

    # phase handlers -----------------------------------------------------
    def _ph_prolog_ok(self, vm, lcm):
        now = int(time.time())
        cur = vm.current
        cur.petime = now
        nxt = NEXT_STATE[lcm]
        if nxt[0] == S.ACTIVE:
            cur.rstime = now
        vm.touch()
        self._enter(vm, *nxt)

    def _ph_boot_ok(self, vm, lcm):
        now = int(time.time())
        cur = vm.current
        host = self.hosts[cur.hid]
        if not cur.rstime:
            cur.rstime = now
        vm.deploy_id = self._deploy_id(vm, host)
        vm.last_poll = now
        self._copy_start(vm, host)
        self._enter(vm, S.ACTIVE, S.RUNNING)

    def _ph_live_migrate_ok(self, vm, lcm):
        prev = self._previous(vm)
        if prev is not None:
            self._copy_stop(vm, self.hosts.get(prev.hid), "live-migrate")
        self._copy_start(vm, self.hosts[vm.current.hid])
        vm.current.rstime = int(time.time())
        vm.last_poll = int(time.time())
        self._enter(vm, S.ACTIVE, S.RUNNING)

    def _ph_save_migrate_ok(self, vm, lcm):
        prev = self._previous(vm)
        if prev is not None:
            self._copy_stop(vm, self.hosts.get(prev.hid), "save-migrate")
        self._enter(vm, S.ACTIVE, L["PROLOG_MIGRATE"])

    def _ph_migrate_failed(self, vm, lcm):
        """Migration failed: the VM stays RUNNING on the previous host (oned
        copies the previous history record back)."""
        prev = self._previous(vm)
        cur = vm.current
        now = int(time.time())
        if prev is None:
            self._enter(vm, S.ACTIVE, S.RUNNING)
            return
        new_host, old_host = self.hosts[cur.hid], self.hosts[prev.hid]
        cur.etime = now
        back = History(len(vm.history), old_host, self.datastores.get(prev.ds_id), now)
        back.rstime = now
        vm.history.append(back)
        new_host.del_vm(vm)
        old_host.add_vm(vm)
        self._enter(vm, S.ACTIVE, S.RUNNING)

    def _ph_save_ok(self, vm, lcm):
        cur = vm.current
        self._copy_stop(vm, self.hosts.get(cur.hid), "save")
        self._enter(vm, *NEXT_STATE[lcm])

    def _ph_shutdown_ok(self, vm, lcm):
        cur = vm.current
        self._copy_stop(vm, self.hosts.get(cur.hid), "shutdown")
        nxt = NEXT_STATE[lcm]
        if nxt == (S.POWEROFF, S.LCM_INIT):
            cur.retime = int(time.time())
        self._enter(vm, *nxt)

    def _ph_back_to_running(self, vm, lcm):
        """A save/shutdown that could not reach the host: the VM returns to
        the state it was in (RUNNING, or UNKNOWN if its host is down)."""
        cur = vm.current
        host = self.hosts.get(cur.hid) if cur else None
        if host is not None and host.state == S.HOST_ERROR:
            self._enter(vm, S.ACTIVE, S.UNKNOWN)
        else:
            self._enter(vm, S.ACTIVE, S.RUNNING)

    def _ph_epilog_ok(self, vm, lcm):
        now = int(time.time())
        cur = vm.current
        nxt = NEXT_STATE[lcm]
        if cur is not None:
            cur.eetime = now
            cur.etime = cur.etime or now
            host = self.hosts.get(cur.hid)
            if host is not None:
                host.del_vm(vm)
        if nxt[0] == S.DONE:
            vm.etime = now
        self._enter(vm, *nxt)

    def _ph_cleanup_ok(self, vm, lcm):
        now = int(time.time())
        cur = vm.current
        host = self.hosts.get(cur.hid) if cur else None
        self._copy_stop(vm, host, "cleanup")
        if host is not None:
            host.del_vm(vm)
        if cur is not None:
            cur.etime = cur.etime or now
        if lcm == L["CLEANUP_RESUBMIT"]:
            if cur is not None:
                cur.action = S.HISTORY_ACTIONS["delete-recreate"]
            vm.resched = 0
            self._enter(vm, S.PENDING, S.LCM_INIT)
        else:
            if cur is not None:
                cur.action = S.HISTORY_ACTIONS["delete"]
            vm.etime = now
            self._enter(vm, S.DONE, S.LCM_INIT)

    # ------------------------------------------------------------------
    # dispatch (scheduler and one.vm.deploy)
    def deploy(self, vm, host, ds, req=None):
        now = int(time.time())
        # a VM stopped or undeployed before (and resumed to PENDING since)
        # gets its disks back from the system DS: PROLOG_RESUME/_UNDEPLOY
        lcm = "PROLOG"
        last = vm.current.action if vm.current is not None else 0
        if vm.state == S.STOPPED or last == S.HISTORY_ACTIONS["stop"]:
            lcm = "PROLOG_RESUME"
        elif vm.state == S.UNDEPLOYED or last in (S.HISTORY_ACTIONS["undeploy"],
                                                  S.HISTORY_ACTIONS["undeploy-hard"]):
            lcm = "PROLOG_UNDEPLOY"
        if vm.current is not None and not vm.current.etime:
            vm.current.etime = now
        h = History(len(vm.history), host, ds, now)
        h.pstime = now
        if req:
            h.uid, h.gid, h.request_id = req
        vm.history.append(h)
        host.add_vm(vm)
        vm.resched = 0
        self.events.add("deploy", vm=vm.id, host=host.name, ds=h.ds_id)
        self._enter(vm, S.ACTIVE, L[lcm])

    def migrate(self, vm, host, live=False, ds=None, req=None, action="migrate"):
        now = int(time.time())
        old = vm.current
        old_host = self.hosts[old.hid]
        old.etime = now
        old.action = S.HISTORY_ACTIONS["live-migrate" if live else "migrate"]
        if req:
            old.uid, old.gid, old.request_id = req
        ds = ds or self.datastores.get(old.ds_id)
        new = History(len(vm.history), host, ds, now)
        vm.history.append(new)
        old_host.del_vm(vm)
        host.add_vm(vm)
        vm.resched = 0
        self.events.add("migrate", vm=vm.id, src=old_host.name, dst=host.name, live=live)
        if vm.state == S.ACTIVE and vm.lcm_state == S.RUNNING:
            if live:
                self._enter(vm, S.ACTIVE, L["MIGRATE"])
            else:
                new.pstime = now
                self._enter(vm, S.ACTIVE, L["SAVE_MIGRATE"])
        elif vm.state == S.ACTIVE and vm.lcm_state == S.UNKNOWN:
            new.pstime = now
            self._enter(vm, S.ACTIVE, L["PROLOG_MIGRATE_UNKNOWN"])
        elif vm.state == S.POWEROFF:
            new.pstime = now
            self._enter(vm, S.ACTIVE, L["PROLOG_MIGRATE_POWEROFF"])
        elif vm.state == S.SUSPENDED:
            new.pstime = now
            self._enter(vm, S.ACTIVE, L["PROLOG_MIGRATE_SUSPEND"])

    # ------------------------------------------------------------------
    # DispatchManager operations.  Each raises OneError(ACTION, text) for a
    # wrong state; `text` is oned's error_str.
    def vm_terminate(self, vm, hard):
        s, l = vm.state, vm.lcm_state
        if s in (S.SUSPENDED, S.POWEROFF, S.STOPPED, S.UNDEPLOYED):
            self._enter(vm, S.ACTIVE, L["EPILOG"])
        elif s in (S.INIT, S.PENDING, S.HOLD, S.CLONING, S.CLONING_FAILURE):
            self._free_to_done(vm)
        elif s == S.DONE:
            pass
        elif s == S.ACTIVE and l in (S.RUNNING, S.UNKNOWN):
            self._mark(vm, "terminate-hard" if hard else "terminate")
            self._enter(vm, S.ACTIVE, L["SHUTDOWN"])
        elif s == S.ACTIVE and l in S.FAILURE_LCM_STATES:
            self._enter(vm, S.ACTIVE, L["CLEANUP_DELETE"])
        elif s == S.ACTIVE and l == L["SHUTDOWN"] and hard:
            self._enter(vm, S.ACTIVE, L["SHUTDOWN"])
        else:
            raise OneError(S.ACTION, "Could not terminate VM %d, wrong state %s." % (
                vm.id, S.vm_state_str(s, l)))

    def _mark(self, vm, action):
        """oned records the operation in the current HISTORY/ACTION."""
        if vm.current is not None:
            vm.current.action = S.HISTORY_ACTIONS[action]
            vm.touch()

    def _not_available(self, vm):
        return OneError(S.ACTION, "This action is not available for state %s" %
                        S.vm_state_str(vm.state, vm.lcm_state))

    def vm_poweroff(self, vm, hard):
        if vm.state == S.ACTIVE and vm.lcm_state in (S.RUNNING, S.UNKNOWN):
            self._mark(vm, "poweroff-hard" if hard else "poweroff")
            self._enter(vm, S.ACTIVE, L["SHUTDOWN_POWEROFF"])
        elif hard and vm.state == S.ACTIVE and vm.lcm_state == L["SHUTDOWN_POWEROFF"]:
            self._enter(vm, S.ACTIVE, L["SHUTDOWN_POWEROFF"])
        else:
            raise self._not_available(vm)

    def vm_undeploy(self, vm, hard):
        if vm.state == S.POWEROFF:
            self._mark(vm, "undeploy-hard" if hard else "undeploy")
            self._enter(vm, S.ACTIVE, L["EPILOG_UNDEPLOY"])
        elif vm.state == S.ACTIVE and vm.lcm_state in (S.RUNNING, S.UNKNOWN):
            self._mark(vm, "undeploy-hard" if hard else "undeploy")
            self._enter(vm, S.ACTIVE, L["SHUTDOWN_UNDEPLOY"])
        elif hard and vm.state == S.ACTIVE and vm.lcm_state == L["SHUTDOWN_UNDEPLOY"]:
            self._enter(vm, S.ACTIVE, L["SHUTDOWN_UNDEPLOY"])
        else:
            raise self._not_available(vm)

    def vm_hold(self, vm):
        if vm.state != S.PENDING:
            raise self._not_available(vm)
        self.set_vm_state(vm, S.HOLD, S.LCM_INIT)

    def vm_release(self, vm):
        if vm.state != S.HOLD:
            raise self._not_available(vm)
        self.set_vm_state(vm, S.PENDING, S.LCM_INIT)

    def vm_stop(self, vm):
        if vm.state == S.SUSPENDED:
            self._mark(vm, "stop")
            self._enter(vm, S.ACTIVE, L["EPILOG_STOP"])
        elif vm.state == S.ACTIVE and vm.lcm_state == S.RUNNING:
            self._mark(vm, "stop")
            self._enter(vm, S.ACTIVE, L["SAVE_STOP"])
        else:
            raise self._not_available(vm)

    def vm_suspend(self, vm):
        if vm.state == S.ACTIVE and vm.lcm_state == S.RUNNING:
            self._mark(vm, "suspend")
            self._enter(vm, S.ACTIVE, L["SAVE_SUSPEND"])
        else:
            raise self._not_available(vm)

    def vm_resume(self, vm):
        if vm.state in (S.STOPPED, S.UNDEPLOYED):
            self.set_vm_state(vm, S.PENDING, S.LCM_INIT)
        elif vm.state == S.SUSPENDED:
            self._enter(vm, S.ACTIVE, L["BOOT_SUSPENDED"])
        elif vm.state == S.POWEROFF:
            self._enter(vm, S.ACTIVE, L["BOOT_POWEROFF"])
        elif vm.state == S.ACTIVE and vm.lcm_state == S.UNKNOWN:
            self._enter(vm, S.ACTIVE, L["BOOT_UNKNOWN"])
        else:
            raise self._not_available(vm)

    def vm_reboot(self, vm, hard):
        if not (vm.state == S.ACTIVE and vm.lcm_state == S.RUNNING):
            raise self._not_available(vm)
        vm.resched = 0           # rebooting cancels re-scheduling
        vm.touch()
        self.events.add("reboot", vm=vm.id, hard=hard)

    def vm_resched(self, vm, flag):
        if vm.state == S.POWEROFF or (vm.state == S.ACTIVE and
                                      vm.lcm_state in (S.RUNNING, S.UNKNOWN)):
            vm.resched = 1 if flag else 0
            vm.touch()
        else:
            raise self._not_available(vm)

    def _free_to_done(self, vm):
        now = int(time.time())
        cur = vm.current
        if cur is not None:
            host = self.hosts.get(cur.hid)
            if host is not None:
                host.del_vm(vm)
            if cur.rstime and not cur.retime:
                cur.retime = now
            cur.etime = cur.etime or now
        vm.etime = now
        self.set_vm_state(vm, S.DONE, S.LCM_INIT)

    # recover (one.vm.recover) -------------------------------------------
    def vm_recover(self, vm, success):
        if vm.state == S.CLONING_FAILURE:
            self.set_vm_state(vm, S.PENDING if success else S.CLONING_FAILURE, S.LCM_INIT)
            return
        if vm.state != S.ACTIVE:
            raise OneError(S.ACTION, "Could not perform a recover operation on VM %d, "
                           "wrong state %s." % (vm.id, S.vm_state_str(vm.state, vm.lcm_state)))
        lcm = vm.lcm_state
        if lcm in (S.LCM_INIT, S.RUNNING):
            return
        if lcm == S.UNKNOWN:
            # oned sets RUNNING whatever the flag (LifeCycleManager::recover)
            self.set_vm_state(vm, S.ACTIVE, S.RUNNING)
            return
        if lcm in (L["CLEANUP_RESUBMIT"], L["CLEANUP_DELETE"]):
            self._ph_cleanup_ok(vm, lcm)
            return
        self._complete(vm, success)

    def vm_retry(self, vm):
        if vm.state != S.ACTIVE:
            raise OneError(S.ACTION, "Could not perform a retry on VM %d, wrong state %s." % (
                vm.id, S.vm_state_str(vm.state, vm.lcm_state)))
        lcm = vm.lcm_state
        if lcm in FAILURE_PHASE:
            self._enter(vm, S.ACTIVE, FAILURE_PHASE[lcm])
        elif lcm in PHASES and PHASES[lcm].step != "cleanup":
            self._schedule_phase(vm)      # re-trigger the pending driver action

    def vm_delete(self, vm):
        s = vm.state
        if s in (S.SUSPENDED, S.POWEROFF, S.STOPPED, S.UNDEPLOYED, S.INIT, S.PENDING,
                 S.HOLD, S.CLONING, S.CLONING_FAILURE, S.FAILED):
            if s in (S.SUSPENDED, S.POWEROFF):
                cur = vm.current
                self._copy_stop(vm, self.hosts.get(cur.hid) if cur else None, "delete")
            if vm.current is not None:
                vm.current.action = S.HISTORY_ACTIONS["delete"]
            self._free_to_done(vm)
        elif s == S.ACTIVE:
            self._enter(vm, S.ACTIVE, L["CLEANUP_DELETE"])

    def vm_delete_recreate(self, vm):
        s = vm.state
        if s == S.POWEROFF:
            raise OneError(S.ACTION, "Cannot delete-recreate a powered off VM. Resume it first")
        if s == S.SUSPENDED:
            raise OneError(S.ACTION, "Cannot delete-recreate a suspended VM. Resume it first")
        if s == S.DONE:
            raise OneError(S.ACTION, "Cannot delete-recreate a VM already in DONE state")
        if s in (S.INIT, S.PENDING, S.CLONING, S.CLONING_FAILURE):
            return
        if s in (S.STOPPED, S.UNDEPLOYED, S.HOLD):
            if vm.current is not None:
                vm.current.action = S.HISTORY_ACTIONS["delete-recreate"]
            self.set_vm_state(vm, S.PENDING, S.LCM_INIT)
            return
        # ACTIVE (and 4.x FAILED): cleanup on the host, then PENDING
        self._enter(vm, S.ACTIVE, L["CLEANUP_RESUBMIT"])

    def vm_delete_db(self, vm):
        """op 5: drop from the DB, free capacity, no driver call at all: a
        running domain is left behind (an orphan in the copy ledger)."""
        cur = vm.current
        if cur is not None and vm.state in (S.ACTIVE, S.POWEROFF, S.SUSPENDED):
            host = self.hosts.get(cur.hid)
            if host is not None:
                host.del_vm(vm)
        vm.etime = int(time.time())
        self.set_vm_state(vm, S.DONE, S.LCM_INIT)

    # ------------------------------------------------------------------
    # hosts
    def host_error(self, host, message):
        """Monitoring failed: ERROR, TEMPLATE/ERROR, RUNNING VMs -> UNKNOWN.
        DISABLED and OFFLINE hosts never enter ERROR."""
        if host.state in (S.HOST_DISABLED, S.HOST_OFFLINE, S.HOST_ERROR):
            return False
        host.error_msg = "%s : Error monitoring Host %s (%d): %s" % (
            time.ctime(), host.name, host.id, message)
        host.last_refire = time.time()
        self.set_host_state(host, S.HOST_ERROR)
        for vm in self._vms_on(host):
            if vm.state == S.ACTIVE and vm.lcm_state == S.RUNNING:
                self.set_vm_state(vm, S.ACTIVE, S.UNKNOWN)
        return True

    def host_restore(self, host):
        """Monitoring works again: MONITORED; UNKNOWN VMs found running go
        back to RUNNING, those whose domain is gone to POWEROFF (what
        monitord reports for a missing VM)."""
        host.error_msg = None
        host.last_mon = int(time.time())
        self.set_host_state(host, S.HOST_MONITORED)
        for vm in self._vms_on(host):
            if vm.state == S.ACTIVE and vm.lcm_state == S.UNKNOWN:
                if host.id in self.copies.get(vm.id, {}):
                    vm.last_poll = int(time.time())
                    self.set_vm_state(vm, S.ACTIVE, S.RUNNING)
                else:
                    if vm.current:
                        vm.current.retime = int(time.time())
                    self.set_vm_state(vm, S.POWEROFF, S.LCM_INIT)

    def _vms_on(self, host):
        return [self.vms[i] for i in sorted(host.vm_ids)
                if i in self.vms and self.vms[i].hid == host.id]

    def host_set_status(self, host, status):
        """one.host.status: 0 enable, 1 disable, 2 offline."""
        host.monitor_frozen = False
        if status == 0:
            if host.state == S.HOST_DISABLED:
                self.set_host_state(host, S.HOST_MONITORED, event="ENABLE")
            elif host.state == S.HOST_OFFLINE:
                self.set_host_state(host, S.HOST_INIT, event="ENABLE")
        elif status == 1:
            self.set_host_state(host, S.HOST_DISABLED)
        elif status == 2:
            self.set_host_state(host, S.HOST_OFFLINE)
            host.last_mon = 0
            host.touch()

    def fail_host(self, host, mode="partition", message=None):
        host.monitor_frozen = False
        if mode == "crash":
            host.power_on = False
            self._kill_copies_on(host, "crash")
        elif mode == "partition":
            host.partitioned = True
        else:
            raise ValueError("mode must be partition or crash")
        self.events.add("fail_host", host=host.name, mode=mode)
        self.host_error(host, message or (
            "Error executing monitor probe: host %s is not responding" % host.name))

    def restore_host(self, host):
        host.partitioned = False
        host.power_on = True
        host.monitor_frozen = False
        self.events.add("restore_host", host=host.name)
        if host.state == S.HOST_ERROR and self.reachable(host):
            self.host_restore(host)

    def fence_host(self, host):
        """Power the host off (what a successful fence agent does): every
        domain on it stops; monitoring notices at the next cycle."""
        host.power_on = False
        self._kill_copies_on(host, "fence")
        self.events.add("fence_host", host=host.name)

    def power_on_host(self, host):
        host.power_on = True
        self.events.add("power_on_host", host=host.name)

    def force_host_state(self, host, state):
        """Control API set-host-state: the state sticks (monitoring leaves it
        alone) until the next fail/restore/one.host.status."""
        if state == S.HOST_ERROR:
            self.host_error(host, "state forced by onesim control")
        elif state == S.HOST_MONITORED and host.state == S.HOST_ERROR:
            self.host_restore(host)
        else:
            self.set_host_state(host, state)
        host.monitor_frozen = True

    def crash_vm(self, vm, spec="UNKNOWN", keep_running=False):
        state, lcm = S.parse_vm_state_spec(spec)
        if vm.current is None:
            raise ValueError("VM %d has never been deployed" % vm.id)
        if not keep_running:
            for hid in list(self.copies.get(vm.id, {})):
                del self.copies[vm.id][hid]
                self.events.add("copy_killed", vm=vm.id, host=self.hosts[hid].name,
                                reason="crash-vm")
        self._enter(vm, state, lcm)

    # ------------------------------------------------------------------
    # periodic work
    def _monitor_tick(self):
        now = int(time.time())
        self.events.flush()
        for host in list(self.hosts.values()):
            if not self.powered(host) and any(host.id in c for c in self.copies.values()):
                self._kill_copies_on(host, "power off")
            if host.monitor_frozen or host.state in (S.HOST_DISABLED, S.HOST_OFFLINE):
                continue
            reachable = self.reachable(host)
            if host.state in (S.HOST_INIT, S.HOST_MONITORED):
                if not reachable:
                    self.host_error(host, "Error executing monitor probe: timeout")
                elif host.state == S.HOST_INIT:
                    host.last_mon = now
                    self.set_host_state(host, S.HOST_MONITORED)
                elif now != host.last_mon:
                    host.last_mon = now
                    host.touch()
            elif host.state == S.HOST_ERROR:
                if reachable:
                    self.host_restore(host)
                elif self.version.host_hook_refires and \
                        time.time() - host.last_refire >= self.timing["error_refire_ms"] / 1000.0:
                    # 4.4: ERROR -> MONITORING_ERROR -> ERROR every monitoring
                    # cycle re-fires the oned.conf HOST_HOOK (bug #3378)
                    host.last_refire = time.time()
                    self.hooks.host_event(host, "ERROR", host.xml(self.ctx), only_form="oned.conf")

    def _sched_tick(self):
        cfg = self.scheduler
        if not cfg.get("enabled", True):
            return
        hosts = [h for h in self.hosts.values() if h.state == S.HOST_MONITORED]
        pending = [v for v in self.vms.values() if v.state == S.PENDING]
        resched = [v for v in self.vms.values() if v.resched and (
            v.state == S.POWEROFF or
            (v.state == S.ACTIVE and v.lcm_state in (S.RUNNING, S.UNKNOWN)))]
        if not pending and not resched:
            return
        pending.sort(key=lambda v: (
            -_int(template_get(v.user_template, "USER_PRIORITY", "0")), v.id))
        max_dispatch = int(cfg.get("max_dispatch") or 0)
        max_host = int(cfg.get("max_host") or 0)
        per_host = {}
        dispatched = 0
        for vm in pending + sorted(resched, key=lambda v: v.id):
            if max_dispatch and dispatched >= max_dispatch:
                break
            is_resched = vm.state != S.PENDING
            cands = [h for h in hosts if h.fits(vm)
                     and (not max_host or per_host.get(h.id, 0) < max_host)
                     and not (is_resched and h.id == vm.hid)]
            ds = self.pick_ds(vm) if not is_resched else None
            if not cands or (not is_resched and ds is None):
                if not is_resched:
                    self._sched_message(vm, SCHED_MESSAGE)
                continue
            host = self._policy_pick(cands)
            per_host[host.id] = per_host.get(host.id, 0) + 1
            dispatched += 1
            if is_resched:
                self.note_recovery(vm, "resched")
                self.migrate(vm, host, live=bool(cfg.get("live_rescheds")))
            else:
                self._sched_message(vm, None)
                self.deploy(vm, host, ds)

    def _policy_pick(self, cands):
        policy = self.scheduler.get("policy", "packing")
        if policy == "striping":
            return min(cands, key=lambda h: (len(h.vm_ids), h.id))
        if policy == "load_aware":
            return max(cands, key=lambda h: (h.max_cpu - h.cpu_usage, -h.id))
        if policy == "fixed":
            return min(cands, key=lambda h: h.id)
        return max(cands, key=lambda h: (len(h.vm_ids), -h.id))     # packing

    def _sched_message(self, vm, text):
        current = template_get(vm.user_template, "SCHED_MESSAGE")
        if text is None:
            if current:
                template_set(vm.user_template, "SCHED_MESSAGE", "")
                vm.touch()
            return
        if current and current.endswith(text):
            return
        template_set(vm.user_template, "SCHED_MESSAGE", "%s : %s" % (time.ctime(), text))
        vm.touch()

    # ------------------------------------------------------------------
    def idle(self):
        """No VM in a transient state and no PENDING VM the scheduler could
        still place (ctl wait-idle)."""
        hosts = [h for h in self.hosts.values() if h.state == S.HOST_MONITORED]
        sched_on = self.scheduler.get("enabled", True)
        for vm in self.vms.values():
            if vm.state == S.ACTIVE and vm.lcm_state in PHASES and vm.stuck_token != vm.token:
                return False
            if sched_on and vm.state == S.PENDING and any(h.fits(vm) for h in hosts):
                return False
        return True

    def _cleanup_blocked(self, vm):
        """The cleanup cannot reach the dead host's local disks (#7155)."""
        if not self.simulation.get("stuck_cleanup_nonshared"):
            return False
        cur = vm.current
        host = self.hosts.get(cur.hid) if cur else None
        ds = self.datastores.get(cur.ds_id) if cur else None
        return host is not None and not self.reachable(host) and ds is not None and not ds.shared


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0
