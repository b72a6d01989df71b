"""The simulated cloud: Keystone's users, projects and tokens, and Nova's
compute services, servers, migrations and instance actions.

Time is real time; every delay is a setting so that tests can make it
short. Asynchronous work (the conductor and scheduler handling an
evacuation, a compute rebooting a server) runs on one timer thread under
the model lock, so every transition is atomic with respect to API calls.

The rules enforced are Nova Zed's (see shared/reference/openstack.md):
evacuation refused while the source service is up, force-up refused while
`done` evacuation migrations remain, a dead host's service "up" until
service_down_time after its last heartbeat, NoValidHost when no enabled,
up host has room, and so on.
"""

import copy
import datetime
import heapq
import itertools
import threading
import time
import uuid

# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

DEFAULTS = {
    # Keystone
    "token_ttl_s": 3600,
    "regions": ["RegionOne"],
    "project_in_url": False,     # compute URL ends in /{project_id}
    # Nova
    "min_version": "2.1",
    "max_version": "2.93",
    "service_down_time_s": 60,   # heartbeat age after which a service is down
    "max_limit": 1000,           # [api] max_limit: largest page
    "host_filter": "substring",  # "substring" or "exact" (see api docs)
    "schedule_delay_s": 0.2,     # conductor + scheduler: evacuate -> claim
    "spawn_delay_s": 0.3,        # claim -> ACTIVE on the destination
    "finish_delay_s": 0.1,       # task cleared -> host moved (real Nova
                                 # clears the task a moment before it
                                 # moves the host: clients must not take
                                 # "no task, old host" for a failure)
    "action_delay_s": 0.2,       # reboot/stop/start/rebuild on a live host
    "rpc_timeout_s": 1.0,        # disabling an "up" service whose compute
                                 # is dead blocks this long (RPC timeout)
    "cleanup_delay_s": 0.2,      # restarted compute: done -> completed
}

NOVA_ROUTES_ADMIN = {"compute.services.list", "compute.services.update",
                     "compute.server.evacuate", "compute.server.resetState",
                     "compute.migrations.list"}


def iso(ts, micro=False):
    d = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    if micro:
        return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_version(text):
    """'2.53' -> (2, 53); ValueError when malformed."""
    major, dot, minor = text.partition(".")
    if not dot or not major.isdigit() or not minor.isdigit():
        raise ValueError(text)
    return (int(major), int(minor))


def truthy(value):
    return str(value).strip().lower() in ("1", "t", "true", "on", "y", "yes")


class ApiError(Exception):
    """An error answer: HTTP status and the message for the fault body."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# --------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------

class Service:
    _ids = itertools.count(1)

    def __init__(self, host, binary="nova-compute", vcpus=64, ram_mb=131072,
                 status="enabled", disabled_reason=None, forced_down=False,
                 alive=True, zone="nova"):
        self.uuid = str(uuid.uuid4())
        self.int_id = next(Service._ids)
        self.host = host
        self.binary = binary
        self.vcpus = vcpus
        self.ram_mb = ram_mb
        self.status = status
        self.disabled_reason = disabled_reason
        self.forced_down = forced_down
        self.alive = alive
        self.zone = zone if binary == "nova-compute" else "internal"
        self.last_seen = time.time()
        self.updated = time.time()


def make_addresses(ips, number=1):
    """Nova's "addresses" from the scenario shorthand: a list of "ADDR" (a
    fixed address) or "floating:ADDR" strings, "%d" in ADDR replaced by the
    server's number; all on the network "private", as Nova lists a port's
    floating address next to its fixed one."""
    if not isinstance(ips, list):
        raise ValueError("server: ips must be a list of strings")
    out = []
    for k, text in enumerate(ips):
        if not isinstance(text, str):
            raise ValueError("server: ips must be a list of strings")
        kind = "fixed"
        if text.startswith("floating:"):
            kind, text = "floating", text[len("floating:"):]
        addr = text.replace("%d", str(number))
        out.append({"addr": addr, "version": 6 if ":" in addr else 4,
                    "OS-EXT-IPS:type": kind,
                    "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:%02x:%02x:%02x" % (
                        (number >> 8) & 0xff, number & 0xff, k & 0xff)})
    return {"private": out} if out else {}


class Server:
    def __init__(self, name, host, project_id, user_id, vcpus=1, ram_mb=512,
                 vm_state="active", metadata=None, image_id=None, sid=None,
                 created=None, addresses=None):
        self.id = sid or str(uuid.uuid4())
        self.name = name
        self.host = host
        self.project_id = project_id
        self.user_id = user_id
        self.vcpus = vcpus
        self.ram_mb = ram_mb
        self.vm_state = vm_state
        self.task_state = None
        self.power_state = 1 if vm_state == "active" else 4 if vm_state == "stopped" else 0
        self.metadata = dict(metadata or {})
        # Nova's "addresses", returned as given (tests feed malformed ones)
        self.addresses = copy.deepcopy(addresses) if addresses is not None else {}
        self.image_id = image_id or "155d900f-4e14-4e4c-a73d-069cbf4541e6"
        self.locked = False
        self.locked_reason = None
        self.locked_by = None
        self.fault = None
        self.created = created or time.time()
        self.updated = self.created
        self.deleted = False

    def touch(self):
        self.updated = time.time()


class Migration:
    _ids = itertools.count(1)

    def __init__(self, server, source, dest=None):
        self.id = next(Migration._ids)
        self.uuid = str(uuid.uuid4())
        self.instance_uuid = server.id
        self.project_id = server.project_id
        self.user_id = server.user_id
        self.source_compute = source
        self.dest_compute = dest
        self.status = "accepted"
        self.migration_type = "evacuation"
        self.created = time.time()
        self.updated = self.created


class Action:
    def __init__(self, server, action, request_id, user_id, project_id):
        self.server_id = server.id
        self.action = action
        self.request_id = request_id
        self.user_id = user_id
        self.project_id = project_id
        self.start = time.time()
        self.updated = self.start
        self.message = None
        self.events = []

    def event(self, name, result, host=None, details=None):
        now = time.time()
        self.events.append({"event": name, "start_time": iso(now), "finish_time": iso(now),
                            "result": result, "host": host or "", "details": details})
        if result == "Error":
            self.message = "Error"
        self.updated = now


STATUS_MAP = {
    "active": {None: "ACTIVE", "rebuilding": "REBUILD", "rebuild_block_device_mapping": "REBUILD",
               "rebuild_spawning": "REBUILD", "reboot_started_hard": "HARD_REBOOT",
               "rebooting_hard": "HARD_REBOOT", "reboot_pending_hard": "HARD_REBOOT",
               "migrating": "MIGRATING"},
    "stopped": {None: "SHUTOFF", "rebuilding": "REBUILD", "rebuild_spawning": "REBUILD",
                "reboot_started_hard": "HARD_REBOOT", "rebooting_hard": "HARD_REBOOT"},
    "building": {None: "BUILD"},
    "error": {None: "ERROR"},
    "paused": {None: "PAUSED"},
    "suspended": {None: "SUSPENDED"},
    "rescued": {None: "RESCUE"},
    "resized": {None: "VERIFY_RESIZE"},
    "shelved": {None: "SHELVED"},
    "shelved_offloaded": {None: "SHELVED_OFFLOADED"},
    "soft-delete": {None: "SOFT_DELETED"},
    "deleted": {None: "DELETED"},
}


def server_status(s):
    m = STATUS_MAP.get(s.vm_state, {})
    return m.get(s.task_state, m.get(None, "UNKNOWN"))


# --------------------------------------------------------------------------
# The cloud
# --------------------------------------------------------------------------

class Cloud:
    def __init__(self, scenario, events, ledger):
        self.lock = threading.RLock()
        self.events = events
        self.ledger = ledger
        self.cfg = dict(DEFAULTS)
        self.cfg.update(scenario.get("settings", {}))
        self._check_cfg()
        # Keystone
        self.domains = {"default": "Default"}
        self.projects = {}
        self.users = {}
        self.app_creds = {}
        self.tokens = {}
        # Nova
        self.services = {}    # uuid -> Service
        self.servers = {}     # id -> Server
        self.migrations = []
        self.actions = {}     # server id -> [Action], oldest first
        self.action_failures = {}   # (server id, action) -> (count, mode)
        self.safety = []      # violations of "never run twice"
        self.base_url = "http://127.0.0.1:0"
        # timers
        self._timers = []
        self._tseq = itertools.count()
        self._cond = threading.Condition(self.lock)
        self._stop = False
        self._load(scenario)
        self._thread = threading.Thread(target=self._run_timers, name="novasim-timers", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ settings
    def _check_cfg(self):
        unknown = set(self.cfg) - set(DEFAULTS)
        if unknown:
            raise ValueError("unknown settings: %s" % ", ".join(sorted(unknown)))
        parse_version(self.cfg["min_version"])
        parse_version(self.cfg["max_version"])
        if self.cfg["host_filter"] not in ("substring", "exact"):
            raise ValueError("settings.host_filter: substring or exact")

    def set_config(self, changes):
        with self.lock:
            old = dict(self.cfg)
            self.cfg.update(changes)
            try:
                self._check_cfg()
            except ValueError:
                self.cfg = old
                raise
            return dict(self.cfg)

    # ------------------------------------------------------------ loading
    def _load(self, sc):
        ks = sc.get("keystone", {})
        for p in ks.get("projects", [{"name": "admin"}, {"name": "demo"}]):
            self.add_project(p["name"], p.get("id"))
        users = ks.get("users", [
            {"name": "admin", "password": "admin-pass", "roles": {"admin": ["admin", "member", "reader"]}},
            {"name": "demo", "password": "demo-pass", "roles": {"demo": ["member", "reader"]}},
        ])
        for u in users:
            self.add_user(u["name"], u["password"], u.get("roles", {}), u.get("id"),
                          u.get("domain_id", "default"))
        for a in ks.get("application_credentials", []):
            self.add_app_cred(a["name"], a["secret"], a["user"], a["project"],
                              a.get("roles"), a.get("id"))
        nv = sc.get("nova", {})
        for h in nv.get("hosts", [{"name": "cmp1"}, {"name": "cmp2"}]):
            self.add_host(h["name"], h.get("vcpus", 64), h.get("ram_mb", 131072),
                          h.get("status", "enabled"), h.get("disabled_reason"),
                          h.get("forced_down", False), h.get("alive", True))
        # the control-plane services, so that binary filtering matters
        for b in ("nova-conductor", "nova-scheduler"):
            svc = Service("ctl", binary=b)
            self.services[svc.uuid] = svc
        for spec in nv.get("servers", []):
            self.add_servers(spec)

    def add_project(self, name, pid=None):
        with self.lock:
            pid = pid or uuid.uuid4().hex
            self.projects[pid] = {"id": pid, "name": name, "domain_id": "default"}
            return pid

    def project_by_name(self, name):
        for p in self.projects.values():
            if p["name"] == name:
                return p
        return None

    def add_user(self, name, password, roles, uid=None, domain_id="default"):
        with self.lock:
            uid = uid or uuid.uuid4().hex
            by_project = {}
            for proj, rl in roles.items():
                p = self.projects.get(proj) or self.project_by_name(proj)
                if p is None:
                    raise ValueError("user %s: unknown project %s" % (name, proj))
                by_project[p["id"]] = list(rl)
            self.users[uid] = {"id": uid, "name": name, "password": password,
                               "domain_id": domain_id, "roles": by_project}
            return uid

    def user_by_name(self, name, domain_id):
        for u in self.users.values():
            if u["name"] == name and u["domain_id"] == domain_id:
                return u
        return None

    def add_app_cred(self, name, secret, user, project, roles=None, cid=None):
        with self.lock:
            u = self.users.get(user) or self.user_by_name(user, "default")
            p = self.projects.get(project) or self.project_by_name(project)
            if u is None or p is None:
                raise ValueError("application credential %s: unknown user/project" % name)
            cid = cid or uuid.uuid4().hex
            self.app_creds[cid] = {"id": cid, "name": name, "secret": secret, "user_id": u["id"],
                                   "project_id": p["id"],
                                   "roles": list(roles) if roles is not None else list(u["roles"].get(p["id"], []))}
            return cid

    def add_host(self, name, vcpus=64, ram_mb=131072, status="enabled", disabled_reason=None,
                 forced_down=False, alive=True):
        with self.lock:
            if self.service_by_host(name):
                raise ValueError("host %s exists" % name)
            svc = Service(name, vcpus=vcpus, ram_mb=ram_mb, status=status,
                          disabled_reason=disabled_reason, forced_down=forced_down, alive=alive)
            if not alive:
                svc.last_seen = time.time() - 10 * float(self.cfg["service_down_time_s"])
            self.services[svc.uuid] = svc
            return svc

    def add_servers(self, spec):
        """{"name": "vm-%d", "count": 3, "host": "cmp1", "project": "admin",
        "vcpus": 1, "ram_mb": 512, "vm_state": "active", "metadata": {}, "id": ...,
        "addresses": {Nova's shape} or "ips": ["10.0.0.%d", "floating:..."]}"""
        with self.lock:
            count = int(spec.get("count", 1))
            pname = spec.get("project", "admin")
            proj = self.projects.get(pname) or self.project_by_name(pname)
            if proj is None:
                raise ValueError("server: unknown project %s" % pname)
            owner = None
            for u in self.users.values():
                if proj["id"] in u["roles"]:
                    owner = u["id"]
                    break
            host = spec.get("host")
            if host is not None and self.service_by_host(host) is None:
                raise ValueError("server: unknown host %s" % host)
            made = []
            base = time.time()
            for i in range(count):
                name = spec.get("name", "vm-%d")
                number = len(self.servers) + 1
                name = name % number if "%d" in name else name
                addresses = spec.get("addresses")
                if "ips" in spec:
                    addresses = make_addresses(spec["ips"], number)
                s = Server(name, host, proj["id"], owner, spec.get("vcpus", 1),
                           spec.get("ram_mb", 512), spec.get("vm_state", "active"),
                           spec.get("metadata"), spec.get("image_id"),
                           spec.get("id") if count == 1 else None,
                           created=base + len(self.servers) * 1e-3,
                           addresses=addresses)
                if s.id in self.servers:
                    raise ValueError("server %s exists" % s.id)
                if s.vm_state == "error":
                    s.fault = {"code": 500, "message": "simulated failure", "created": iso(time.time())}
                self.servers[s.id] = s
                made.append(s.id)
            return made

    # ------------------------------------------------------------ timers
    def after(self, delay, fn, *args):
        with self.lock:
            heapq.heappush(self._timers, (time.time() + max(0.0, delay), next(self._tseq), fn, args))
            self._cond.notify()

    def _run_timers(self):
        with self.lock:
            while not self._stop:
                now = time.time()
                if self._timers and self._timers[0][0] <= now:
                    _, _, fn, args = heapq.heappop(self._timers)
                    try:
                        fn(*args)
                    except Exception as exc:  # keep the simulation alive
                        self.events.emit("timer_error", error=repr(exc))
                    continue
                wait = self._timers[0][0] - now if self._timers else 1.0
                self._cond.wait(min(wait, 1.0))

    def busy(self):
        with self.lock:
            return bool(self._timers)

    def stop(self):
        with self.lock:
            self._stop = True
            self._cond.notify()

    # ------------------------------------------------------------ keystone
    def issue_token(self, user_id, project_id, roles, methods, app_cred=None):
        with self.lock:
            tok = "nsim" + uuid.uuid4().hex + uuid.uuid4().hex
            now = time.time()
            self.tokens[tok] = {"user_id": user_id, "project_id": project_id,
                                "roles": list(roles), "methods": methods,
                                "issued": now, "expires": now + float(self.cfg["token_ttl_s"]),
                                "app_cred": app_cred}
            return tok, self.tokens[tok]

    def check_token(self, tok):
        """The token's record, or None when unknown or expired."""
        with self.lock:
            t = self.tokens.get(tok or "")
            if t is None or t["expires"] <= time.time():
                return None
            return t

    def expire_tokens(self):
        with self.lock:
            for t in self.tokens.values():
                t["expires"] = time.time() - 1
            return len(self.tokens)

    def catalog(self, project_id):
        """Identity and compute, every region and interface. Interfaces
        other than public in RegionOne get distinct URL prefixes so that a
        client picking the wrong endpoint is visible in the ledger."""
        out = []
        ident, comp = [], []
        regions = self.cfg["regions"]
        for ri, region in enumerate(regions):
            for iface in ("public", "internal", "admin"):
                ident.append({"id": uuid.uuid4().hex, "interface": iface, "region_id": region,
                              "region": region, "url": self.base_url + "/v3"})
                prefix = "" if (ri == 0 and iface == "public") else "/ep/%s/%s" % (region, iface)
                url = self.base_url + prefix + "/v2.1"
                if self.cfg["project_in_url"] and project_id:
                    url += "/" + project_id
                comp.append({"id": uuid.uuid4().hex, "interface": iface, "region_id": region,
                             "region": region, "url": url})
        out.append({"type": "identity", "name": "keystone", "id": uuid.uuid4().hex, "endpoints": ident})
        out.append({"type": "compute", "name": "nova", "id": uuid.uuid4().hex, "endpoints": comp})
        out.append({"type": "image", "name": "glance", "id": uuid.uuid4().hex, "endpoints": [
            {"id": uuid.uuid4().hex, "interface": "public", "region_id": regions[0], "region": regions[0],
             "url": self.base_url + "/image"}]})
        return out

    # ------------------------------------------------------------ services
    def service_by_host(self, host, binary="nova-compute"):
        for s in self.services.values():
            if s.host == host and s.binary == binary:
                return s
        return None

    def service_up(self, svc, now=None):
        if svc.forced_down:
            return False
        if svc.alive:
            return True
        now = now or time.time()
        return now - svc.last_seen <= float(self.cfg["service_down_time_s"])

    def host_status(self, host):
        svc = self.service_by_host(host) if host else None
        if svc is None:
            return ""
        if svc.forced_down:
            return "DOWN"
        if not self.service_up(svc):
            return "UNKNOWN"
        if svc.status == "disabled":
            return "MAINTENANCE"
        return "UP"

    def fail_host(self, host):
        """The compute dies: no more heartbeats; its servers keep their
        records (the fake driver's guests die with it)."""
        with self.lock:
            svc = self.service_by_host(host)
            if svc is None:
                raise ApiError(404, "no host %s" % host)
            if svc.alive:
                svc.alive = False
                svc.last_seen = time.time()
                self.events.emit("host_failed", host=host)
            return svc

    def age_host(self, host, seconds):
        """Pretend the last heartbeat of a failed host is `seconds` older."""
        with self.lock:
            svc = self.service_by_host(host)
            if svc is None:
                raise ApiError(404, "no host %s" % host)
            svc.last_seen -= float(seconds)
            return svc

    def restore_host(self, host):
        """The compute starts again: it destroys local copies of evacuated
        servers and moves their migrations to completed."""
        with self.lock:
            svc = self.service_by_host(host)
            if svc is None:
                raise ApiError(404, "no host %s" % host)
            svc.alive = True
            svc.last_seen = time.time()
            self.events.emit("host_restored", host=host)
            self.after(float(self.cfg["cleanup_delay_s"]), self._cleanup_evacuated, host)
            return svc

    def _cleanup_evacuated(self, host):
        for m in self.migrations:
            if (m.source_compute == host and m.migration_type == "evacuation"
                    and m.status in ("accepted", "pre-migrating", "done")):
                m.status = "completed"
                m.updated = time.time()
                self.events.emit("migration_completed", migration=m.id, server=m.instance_uuid)

    def used(self, host):
        vcpus = ram = 0
        for s in self.servers.values():
            if s.host == host and not s.deleted:
                vcpus += s.vcpus
                ram += s.ram_mb
        for m in self.migrations:
            if m.dest_compute == host and m.status in ("accepted", "pre-migrating"):
                s = self.servers.get(m.instance_uuid)
                if s is not None and s.host != host:
                    vcpus += s.vcpus
                    ram += s.ram_mb
        return vcpus, ram

    def pick_host(self, server, exclude):
        best = None
        for svc in sorted(self.services.values(), key=lambda x: x.host):
            if svc.binary != "nova-compute" or svc.host == exclude:
                continue
            if svc.status != "enabled" or not self.service_up(svc) or not svc.alive:
                continue
            vc, ram = self.used(svc.host)
            if vc + server.vcpus > svc.vcpus or ram + server.ram_mb > svc.ram_mb:
                continue
            free = svc.ram_mb - ram
            if best is None or free > best[0]:
                best = (free, svc.host)
        return best[1] if best else None

    # ------------------------------------------------------------ actions
    def record_action(self, server, action, request_id, user_id, project_id):
        a = Action(server, action, request_id, user_id, project_id)
        self.actions.setdefault(server.id, []).append(a)
        return a

    def take_failure(self, server_id, action):
        """A failure armed with POST /control/fail-action, if any."""
        key = (server_id, action)
        entry = self.action_failures.get(key)
        if not entry:
            return None
        count, mode = entry
        if count <= 1:
            del self.action_failures[key]
        else:
            self.action_failures[key] = (count - 1, mode)
        return mode

    def evacuate(self, server, target, action):
        source = server.host
        mig = Migration(server, source, target)
        self.migrations.append(mig)
        server.task_state = "rebuilding"
        server.touch()
        self.events.emit("evacuate_accepted", server=server.id, source=source, migration=mig.id)
        self.after(float(self.cfg["schedule_delay_s"]), self._evac_schedule, server.id, mig, action)
        return mig

    def _evac_schedule(self, sid, mig, action):
        s = self.servers.get(sid)
        if s is None or s.deleted:
            mig.status = "error"
            return
        mode = self.take_failure(sid, "evacuate")
        dest = mig.dest_compute or self.pick_host(s, mig.source_compute)
        if dest is not None and mig.dest_compute:
            svc = self.service_by_host(dest)
            if svc is None or not self.service_up(svc) or svc.status != "enabled":
                dest = None
        if mode == "novalidhost" or dest is None:
            mig.status = "error"
            mig.updated = time.time()
            s.vm_state = "error"
            s.task_state = None
            s.fault = {"code": 500, "created": iso(time.time()),
                       "message": "No valid host was found. There are not enough hosts available."}
            s.touch()
            action.event("rebuild_server", "Error", details="No valid host was found.")
            self.events.emit("evacuate_novalidhost", server=sid, migration=mig.id)
            return
        action.event("rebuild_server", "Success")
        mig.dest_compute = dest
        mig.status = "pre-migrating"
        mig.updated = time.time()
        self.events.emit("evacuate_claimed", server=sid, dest=dest, migration=mig.id)
        self.after(float(self.cfg["spawn_delay_s"]), self._evac_spawn, sid, mig, action, mode)

    def _evac_spawn(self, sid, mig, action, mode):
        s = self.servers.get(sid)
        if s is None or s.deleted:
            mig.status = "failed"
            return
        now = time.time()
        if mode == "claim":
            # a failed claim on the destination: the server stays where it
            # was, in its old state (Nova does not reschedule a rebuild)
            mig.status = "failed"
            mig.updated = now
            s.task_state = None
            s.touch()
            action.event("compute_rebuild_instance", "Error", host=mig.dest_compute,
                         details="Insufficient compute resources (simulated claim failure)")
            self.events.emit("evacuate_claim_failed", server=sid, migration=mig.id)
            return
        if mode == "error":
            mig.status = "failed"
            mig.updated = now
            s.vm_state = "error"
            s.task_state = None
            s.fault = {"code": 500, "created": iso(now), "message": "simulated spawn failure"}
            s.touch()
            action.event("compute_rebuild_instance", "Error", host=mig.dest_compute)
            self.events.emit("evacuate_spawn_failed", server=sid, migration=mig.id)
            return
        src = self.service_by_host(mig.source_compute)
        if src is not None and src.alive:
            # Nova trusts forced_down; if the source was never really dead,
            # the guest now runs twice. Tests assert this list stays empty.
            self.safety.append({"server": sid, "source": mig.source_compute,
                                "dest": mig.dest_compute, "time": now})
            self.events.emit("SAFETY_double_run", server=sid, source=mig.source_compute)
        if s.vm_state in ("active", "error"):
            s.vm_state = "active"
            s.power_state = 1
        s.task_state = None
        s.fault = None
        s.touch()
        mig.status = "migrating"
        mig.updated = now
        self.after(float(self.cfg["finish_delay_s"]), self._evac_finish, sid, mig, action)

    def _evac_finish(self, sid, mig, action):
        s = self.servers.get(sid)
        if s is None or s.deleted:
            mig.status = "failed"
            return
        s.host = mig.dest_compute
        s.touch()
        mig.status = "done"
        mig.updated = time.time()
        action.event("compute_rebuild_instance", "Success", host=mig.dest_compute)
        self.events.emit("evacuate_done", server=sid, dest=mig.dest_compute, migration=mig.id)

    def run_on_host(self, server, action, task_state, finish):
        """A compute-side action: completes after action_delay_s if the
        server's host is alive, otherwise hangs in task_state as a cast to
        a dead compute does."""
        server.task_state = task_state
        server.touch()
        svc = self.service_by_host(server.host) if server.host else None
        if svc is None or not svc.alive:
            self.events.emit("action_hangs", server=server.id, action=action.action)
            return

        def done():
            if server.deleted or server.task_state != task_state:
                return
            mode = self.take_failure(server.id, action.action)
            server.task_state = None
            if mode is not None:
                server.vm_state = "error"
                server.power_state = 0
                server.fault = {"code": 500, "created": iso(time.time()),
                                "message": "simulated %s failure" % action.action}
                action.event("compute_%s_instance" % action.action, "Error", host=server.host)
            else:
                finish()
                action.event("compute_%s_instance" % action.action, "Success", host=server.host)
            server.touch()
            self.events.emit("action_done", server=server.id, action=action.action,
                             vm_state=server.vm_state)

        self.after(float(self.cfg["action_delay_s"]), done)

    # ------------------------------------------------------------ views
    def state(self):
        with self.lock:
            now = time.time()
            return {
                "settings": dict(self.cfg),
                "hosts": [{"host": s.host, "id": s.uuid, "alive": s.alive,
                           "state": "up" if self.service_up(s, now) else "down",
                           "status": s.status, "forced_down": s.forced_down,
                           "disabled_reason": s.disabled_reason,
                           "vcpus": s.vcpus, "ram_mb": s.ram_mb,
                           "used": self.used(s.host)}
                          for s in self.services.values() if s.binary == "nova-compute"],
                "servers": [{"id": s.id, "name": s.name, "host": s.host, "status": server_status(s),
                             "vm_state": s.vm_state, "task_state": s.task_state,
                             "locked": s.locked, "metadata": dict(s.metadata),
                             "project_id": s.project_id}
                            for s in self.servers.values() if not s.deleted],
                "migrations": [{"id": m.id, "instance_uuid": m.instance_uuid,
                                "source_compute": m.source_compute,
                                "dest_compute": m.dest_compute, "status": m.status}
                               for m in self.migrations],
                "actions": {sid: [{"action": a.action, "request_id": a.request_id,
                                   "message": a.message} for a in acts]
                            for sid, acts in self.actions.items()},
                "safety_violations": list(self.safety),
                "busy": bool(self._timers),
                "tokens": len(self.tokens),
            }
