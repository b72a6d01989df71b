"""Scenario files: JSON describing the cloud onesim starts with.

The schema is documented (with a complete example) in tests/sim/README.md.
Relative paths in a scenario (hook files, hook_base_path, power_pidfile)
are resolved against the scenario file's directory.
"""

import json
import os

from . import states as S
from .engine import Sim, DEFAULT_TIMING, DEFAULT_SCHEDULER
from .faults import FaultInjector
from .hooks import HookManager, parse_oned_conf, parse_onehook, HookError
from .model import Datastore, RenderContext, VM_TEMPLATE_EXTRAS, DS_TYPES
from .xmlutil import template_from_mapping

TOP_KEYS = {"version", "version_string", "shapes", "seed", "users", "timing",
            "scheduler", "simulation", "system_config", "datastores", "hosts", "vms",
            "hooks", "hook_base_path", "hook_env", "hook_concurrency", "faults",
            "description"}
HOST_KEYS = {"name", "id", "state", "max_cpu", "max_mem", "max_disk", "template",
             "im_mad", "vm_mad", "cluster_id", "cluster", "power_pidfile"}
VM_KEYS = {"count", "id", "name", "host", "state", "cpu", "vcpu", "memory",
           "user_template", "template", "ds_id", "lock", "owner", "copy"}
DS_KEYS = {"id", "name", "type", "shared", "tm_mad", "ds_mad", "total_mb", "free_mb",
           "template"}

DEFAULT_DATASTORES = [
    {"id": 0, "name": "system", "type": "SYSTEM", "shared": True, "tm_mad": "shared"},
    {"id": 1, "name": "default", "type": "IMAGE", "shared": True, "tm_mad": "shared"},
    {"id": 2, "name": "files", "type": "FILE", "shared": True, "tm_mad": "ssh"},
]


class ScenarioError(ValueError):
    pass


def load_file(path):
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ScenarioError("cannot read scenario %s: %s" % (path, exc)) from None
    except json.JSONDecodeError as exc:
        raise ScenarioError("scenario %s is not valid JSON: %s" % (path, exc)) from None
    if not isinstance(data, dict):
        raise ScenarioError("scenario %s: top level must be a JSON object" % path)
    return data


def _check_keys(where, obj, allowed):
    if not isinstance(obj, dict):
        raise ScenarioError("%s must be a JSON object" % where)
    unknown = set(obj) - allowed
    if unknown:
        raise ScenarioError("%s: unknown key(s) %s (allowed: %s)" % (
            where, ", ".join(sorted(unknown)), ", ".join(sorted(allowed))))


def _path(base_dir, value):
    if value is None:
        return None
    value = os.path.expanduser(str(value))
    return value if os.path.isabs(value) else os.path.normpath(os.path.join(base_dir, value))


class Built:
    """Everything a scenario produces (the server wires it together)."""

    def __init__(self, sim, hooks, faults, version_string, data):
        self.sim = sim
        self.hooks = hooks
        self.faults = faults
        self.version_string = version_string
        self.data = data


def build(data, base_dir=".", events=None, state_dir=None, hook_base_path=None):
    try:
        return _build(data, base_dir, events, state_dir, hook_base_path)
    except ScenarioError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        # anything else a malformed scenario can trip over
        raise ScenarioError("invalid scenario: %s" % exc) from None


def _build(data, base_dir, events, state_dir, hook_base_path):
    _check_keys("scenario", data, TOP_KEYS)
    try:
        version = S.Version(data.get("version", "6.10"))
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    shapes = data.get("shapes", "xsd")
    if shapes not in ("xsd", "native"):
        raise ScenarioError("shapes must be 'xsd' or 'native'")
    ctx = RenderContext(version, xsd_shapes=(shapes == "xsd"))

    timing = data.get("timing", {})
    _check_keys("timing", timing, set(DEFAULT_TIMING))
    for key, value in timing.items():
        if not isinstance(value, (int, float)) or value < 0:
            raise ScenarioError("timing.%s must be a number >= 0 (milliseconds)" % key)
    if timing.get("sched_interval_ms", 1) <= 0 or timing.get("monitor_interval_ms", 1) <= 0:
        raise ScenarioError("timing intervals must be > 0")
    sched = data.get("scheduler", {})
    _check_keys("scheduler", sched, set(DEFAULT_SCHEDULER))
    if sched.get("policy", "packing") not in ("packing", "striping", "load_aware", "fixed"):
        raise ScenarioError("scheduler.policy must be packing, striping, load_aware or fixed")
    simulation = data.get("simulation", {})
    _check_keys("simulation", simulation, {"stuck_cleanup_nonshared"})

    try:
        faults = FaultInjector(data.get("faults", {}), seed=data.get("seed"))
    except ValueError as exc:
        raise ScenarioError("faults: %s" % exc) from None

    hook_env = data.get("hook_env", {})
    if not isinstance(hook_env, dict):
        raise ScenarioError("hook_env must be an object of strings")
    base = hook_base_path or _path(base_dir, data.get("hook_base_path")) or \
        "/var/lib/one/remotes/hooks"
    hooks = HookManager(base_path=base, env={k: str(v) for k, v in hook_env.items()},
                        concurrency=data.get("hook_concurrency", 10), events=events,
                        log_path=os.path.join(state_dir, "hooks.jsonl") if state_dir else None)

    sim = Sim(version, ctx, events, hooks, faults, timing=timing, scheduler=sched,
              simulation=simulation)
    sim.system_config = dict(data.get("system_config", {}))

    users = data.get("users", {"oneadmin": "secret"})
    if isinstance(users, dict):
        for name, password in users.items():
            sim.add_user(name, str(password))
    elif isinstance(users, list):
        for i, u in enumerate(users):
            _check_keys("users[%d]" % i, u, {"name", "password", "uid", "gid", "group"})
            sim.add_user(u["name"], str(u.get("password", "")), u.get("uid"), u.get("gid"),
                         u.get("group"))
    else:
        raise ScenarioError("users must be an object {name: password} or a list")
    if not sim.users:
        raise ScenarioError("at least one user is needed")

    for i, d in enumerate(data.get("datastores", DEFAULT_DATASTORES)):
        _check_keys("datastores[%d]" % i, d, DS_KEYS)
        dtype = str(d.get("type", "SYSTEM")).upper().replace("_DS", "")
        if dtype not in DS_TYPES:
            raise ScenarioError("datastores[%d].type must be SYSTEM, IMAGE or FILE" % i)
        sim.add_datastore(Datastore(
            int(d.get("id", i)), d.get("name", "ds%d" % i), DS_TYPES[dtype],
            shared=bool(d.get("shared", True)), tm_mad=d.get("tm_mad"),
            ds_mad=d.get("ds_mad"), total_mb=int(d.get("total_mb", 102400)),
            free_mb=d.get("free_mb"), template=template_from_mapping(d.get("template"))))

    for i, h in enumerate(data.get("hosts", [])):
        add_host(sim, h, "hosts[%d]" % i, base_dir)

    for i, spec in enumerate(data.get("vms", [])):
        add_vms(sim, spec, "vms[%d]" % i)

    built = Built(sim, hooks, faults, data.get("version_string") or version.string, data)
    for i, h in enumerate(data.get("hooks", [])):
        register_hook(hooks, h, "hooks[%d]" % i, base_dir)
    return built


def add_host(sim, h, where="host", base_dir="."):
    _check_keys(where, h, HOST_KEYS)
    if "name" not in h:
        raise ScenarioError("%s: name is required" % where)
    try:
        state = S.parse_host_state(h.get("state", "MONITORED"))
    except ValueError as exc:
        raise ScenarioError("%s: %s" % (where, exc)) from None
    try:
        host = sim.add_host(
            str(h["name"]), id=h.get("id"), max_cpu=h.get("max_cpu", 800),
            max_mem=h.get("max_mem", 16777216), max_disk=h.get("max_disk", 102400),
            im_mad=h.get("im_mad", "kvm"), vm_mad=h.get("vm_mad", "kvm"),
            cluster_id=h.get("cluster_id", 0), cluster=h.get("cluster", "default"),
            template=template_from_mapping(h.get("template")), state=state,
            power_pidfile=_path(base_dir, h.get("power_pidfile")))
    except ValueError as exc:
        raise ScenarioError("%s: %s" % (where, exc)) from None
    if state == S.HOST_ERROR:
        # a host that starts in ERROR stays there until restore-host
        host.partitioned = True
        host.error_msg = "Error monitoring Host %s (%d): host started in ERROR" % (
            host.name, host.id)
    return host


def add_vms(sim, spec, where="vm"):
    """A VM spec, possibly with "count" for bulk creation; returns the VMs."""
    _check_keys(where, spec, VM_KEYS)
    count = int(spec.get("count", 1))
    if count < 1:
        raise ScenarioError("%s: count must be >= 1" % where)
    host = None
    if spec.get("host") is not None:
        try:
            host = sim.find_host(spec["host"])
        except KeyError:
            raise ScenarioError("%s: unknown host %r" % (where, spec["host"])) from None
    state = spec.get("state", "RUNNING" if host is not None else "PENDING")
    try:
        st, lcm = S.parse_vm_state_spec(state)
    except ValueError as exc:
        raise ScenarioError("%s: %s" % (where, exc)) from None
    if host is None and st not in (S.PENDING, S.HOLD, S.INIT, S.DONE):
        raise ScenarioError("%s: a VM in state %s needs a host" % (where, state))
    if spec.get("owner") and spec["owner"] not in sim.users:
        raise ScenarioError("%s: unknown owner %r" % (where, spec["owner"]))
    template = template_from_mapping(spec.get("template"))
    bad = [k for k, _ in template if k not in VM_TEMPLATE_EXTRAS]
    if bad:
        raise ScenarioError("%s.template: %s not allowed in the VM TEMPLATE (vm.xsd); put "
                            "custom attributes in user_template" % (where, ", ".join(bad)))
    name = spec.get("name")
    vms = []
    for n in range(count):
        vm_id = spec.get("id")
        if vm_id is not None:
            vm_id = int(vm_id) + n
        next_id = vm_id if vm_id is not None else sim.next_vm_id
        vm_name = (name.replace("{id}", str(next_id)).replace("{n}", str(n))
                   if name else "one-%d" % next_id)
        try:
            vms.append(sim.create_vm(
                host=host, state_spec=state, name=vm_name, cpu=spec.get("cpu", 1),
                vcpu=spec.get("vcpu", 1), memory=spec.get("memory", 1024),
                user_template=template_from_mapping(spec.get("user_template")),
                template=list(template), ds_id=spec.get("ds_id"),
                lock=spec.get("lock", 0), owner=spec.get("owner"),
                copy=spec.get("copy"), vm_id=vm_id))
        except ValueError as exc:
            raise ScenarioError("%s: %s" % (where, exc)) from None
    if host is not None and host.state == S.HOST_ERROR:
        for vm in vms:
            if vm.state == S.ACTIVE and vm.lcm_state == S.RUNNING:
                vm.state, vm.lcm_state = S.ACTIVE, S.UNKNOWN
                vm.prev_state, vm.prev_lcm_state = vm.state, vm.lcm_state
                vm.touch()
    return vms


def register_hook(hooks, h, where="hook", base_dir="."):
    if not isinstance(h, dict) or len(set(h) & {"oned_conf", "oned_conf_file", "template",
                                                 "template_file"}) != 1:
        raise ScenarioError("%s: give exactly one of oned_conf, oned_conf_file, template, "
                            "template_file" % where)
    try:
        if "oned_conf" in h:
            return hooks.register(parse_oned_conf(h["oned_conf"]))
        if "oned_conf_file" in h:
            with open(_path(base_dir, h["oned_conf_file"]), encoding="utf-8") as fh:
                return hooks.register(parse_oned_conf(fh.read()))
        if "template" in h:
            return hooks.register([parse_onehook(h["template"])])
        with open(_path(base_dir, h["template_file"]), encoding="utf-8") as fh:
            return hooks.register([parse_onehook(fh.read())])
    except (HookError, OSError) as exc:
        raise ScenarioError("%s: %s" % (where, exc)) from None
