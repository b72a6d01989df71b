"""HTTP routes: Keystone v3 (/v3), the Nova subset (/v2.1) and the control
API (/control) tests use to drive the simulation.

Each route has a dotted name ("identity.tokens.create",
"compute.server.evacuate"...) used by fault injection, the counters and
the ledger. GET /control/routes lists them.
"""

import copy
import json
import re
import time
import urllib.parse
import uuid

from .model import (ApiError, NOVA_ROUTES_ADMIN, iso, make_addresses, parse_version,
                    server_status, truthy)

NOVA_FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden",
                    404: "itemNotFound", 405: "badMethod", 406: "notAcceptable",
                    409: "conflictingRequest", 413: "overLimit", 429: "overLimit",
                    501: "notImplemented", 503: "serviceUnavailable"}
KEYSTONE_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
                   404: "Not Found", 409: "Conflict", 500: "Internal Server Error",
                   503: "Service Unavailable"}
SERVER_QUERY_KEYS = {"all_tenants", "host", "limit", "marker", "status", "name",
                     "project_id", "tenant_id", "node", "deleted", "changes-since",
                     "sort_key", "sort_dir", "uuid", "locked", "flavor", "image"}
ACTIONS = ("evacuate", "reboot", "rebuild", "os-stop", "os-start", "os-resetState",
           "lock", "unlock")


class Response:
    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body            # JSON-able object, bytes, or None
        self.headers = headers or {}


class Request:
    def __init__(self, method, raw_path, headers, body):
        self.method = method
        parts = urllib.parse.urlsplit(raw_path)
        self.path = parts.path
        self.query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        self.raw_query = parts.query
        self.headers = headers
        self.body = body
        self.route = "unknown"
        self.service = None         # "identity", "compute", "control"
        self.request_id = "req-" + str(uuid.uuid4())
        self.token = None
        self.mv = None
        self.endpoint = None
        self.prefix = ""
        self.ledger = None          # filled by mutating routes
        self.target = {}

    def json(self):
        if not self.body:
            raise ApiError(400, "Malformed request body: empty")
        try:
            doc = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ApiError(400, "Malformed request body: %s" % exc) from None
        return doc

    def q1(self, key, default=None):
        v = self.query.get(key)
        return v[-1] if v else default


def error_response(req, status, message, headers=None):
    if req.service == "compute" and status != 401:
        body = {NOVA_FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}
    else:
        body = {"error": {"code": status, "title": KEYSTONE_TITLES.get(status, "Error"),
                          "message": message}}
    return Response(status, body, dict(headers or {}))


class Api:
    def __init__(self, cloud, ledger, counters, events, faults):
        self.cloud = cloud
        self.ledger = ledger
        self.counters = counters
        self.events = events
        self.faults = faults
        self.shutdown_hook = None
        self.routes = []
        R = self._route
        # Keystone
        R("GET", r"/", "identity.root", self.ks_root)
        R("GET", r"/v3/?", "identity.version", self.ks_version)
        R("POST", r"/v3/auth/tokens", "identity.tokens.create", self.ks_auth)
        R("GET", r"/v3/auth/tokens", "identity.tokens.validate", self.ks_validate)
        # Nova (paths after the /v2.1[/project] prefix)
        R("GET", r"", "compute.version", self.nv_version, "compute")
        R("GET", r"/", "compute.version", self.nv_version, "compute")
        R("GET", r"/os-services", "compute.services.list", self.nv_services, "compute")
        R("PUT", r"/os-services/(?P<sid>[^/]+)", "compute.services.update", self.nv_service_update, "compute")
        R("GET", r"/servers/detail", "compute.servers.list", self.nv_servers_detail, "compute")
        R("GET", r"/servers", "compute.servers.list_brief", self.nv_servers_brief, "compute")
        R("GET", r"/servers/(?P<id>[^/]+)", "compute.servers.get", self.nv_server_get, "compute")
        R("DELETE", r"/servers/(?P<id>[^/]+)", "compute.servers.delete", self.nv_server_delete, "compute")
        R("POST", r"/servers/(?P<id>[^/]+)/action", "compute.server.action", self.nv_action, "compute")
        R("GET", r"/servers/(?P<id>[^/]+)/metadata", "compute.metadata.get", self.nv_meta_get, "compute")
        R("PUT", r"/servers/(?P<id>[^/]+)/metadata", "compute.metadata.replace", self.nv_meta_write, "compute")
        R("POST", r"/servers/(?P<id>[^/]+)/metadata", "compute.metadata.merge", self.nv_meta_write, "compute")
        R("GET", r"/servers/(?P<id>[^/]+)/metadata/(?P<key>[^/]+)", "compute.metadata.item_get", self.nv_meta_item, "compute")
        R("PUT", r"/servers/(?P<id>[^/]+)/metadata/(?P<key>[^/]+)", "compute.metadata.item_set", self.nv_meta_item, "compute")
        R("DELETE", r"/servers/(?P<id>[^/]+)/metadata/(?P<key>[^/]+)", "compute.metadata.item_delete", self.nv_meta_item, "compute")
        R("GET", r"/servers/(?P<id>[^/]+)/os-instance-actions", "compute.actions.list", self.nv_actions, "compute")
        R("GET", r"/servers/(?P<id>[^/]+)/os-instance-actions/(?P<rid>[^/]+)", "compute.actions.get", self.nv_action_get, "compute")
        R("GET", r"/os-migrations", "compute.migrations.list", self.nv_migrations, "compute")
        # Control
        R("GET", r"/control/state", "control.state", self.c_state, "control")
        R("GET", r"/control/routes", "control.routes", self.c_routes, "control")
        R("GET", r"/control/ledger", "control.ledger", self.c_ledger, "control")
        R("GET", r"/control/events", "control.events", self.c_events, "control")
        R("GET", r"/control/counters", "control.counters", self.c_counters, "control")
        R("DELETE", r"/control/counters", "control.counters_reset", self.c_counters_reset, "control")
        R("GET", r"/control/faults", "control.faults", self.c_faults_get, "control")
        R("POST", r"/control/faults", "control.faults_set", self.c_faults_set, "control")
        R("DELETE", r"/control/faults", "control.faults_clear", self.c_faults_clear, "control")
        R("POST", r"/control/settings", "control.settings", self.c_settings, "control")
        R("POST", r"/control/fail-host", "control.fail_host", self.c_fail_host, "control")
        R("POST", r"/control/restore-host", "control.restore_host", self.c_restore_host, "control")
        R("POST", r"/control/age-host", "control.age_host", self.c_age_host, "control")
        R("POST", r"/control/add-host", "control.add_host", self.c_add_host, "control")
        R("POST", r"/control/servers", "control.servers", self.c_servers, "control")
        R("POST", r"/control/server", "control.server", self.c_server, "control")
        R("POST", r"/control/guest-stop", "control.guest_stop", self.c_guest_stop, "control")
        R("POST", r"/control/fail-action", "control.fail_action", self.c_fail_action, "control")
        R("POST", r"/control/expire-tokens", "control.expire_tokens", self.c_expire, "control")
        R("GET", r"/control/wait-idle", "control.wait_idle", self.c_wait_idle, "control")
        R("POST", r"/control/shutdown", "control.shutdown", self.c_shutdown, "control")
        self.route_names = sorted({r[2] for r in self.routes} |
                                  {"compute.server." + a for a in ACTIONS})

    def _route(self, method, pattern, name, fn, service="identity"):
        self.routes.append((method, re.compile(pattern + r"\Z"), name, fn, service))

    # ------------------------------------------------------------------
    # dispatch
    # ------------------------------------------------------------------
    NOVA_PREFIX = re.compile(r"(?P<ep>/ep/(?P<region>[^/]+)/(?P<iface>[^/]+))?/v2\.1(?P<rest>/.*)?\Z")

    def resolve(self, req):
        """Find the route (sets req.route/service); returns (fn, kwargs) or
        raises ApiError."""
        path = req.path
        m = self.NOVA_PREFIX.match(path)
        if m:
            req.service = "compute"
            req.endpoint = "%s/%s" % (m.group("iface") or "public",
                                      m.group("region") or self.cloud.cfg["regions"][0])
            rest = m.group("rest") or ""
            seg = re.match(r"/([0-9a-f]{32})(/.*)?\Z", rest)
            if seg and seg.group(1) in self.cloud.projects:
                rest = seg.group(2) or ""
            path = rest
        candidates = [r for r in self.routes if (r[4] == "compute") == bool(m)]
        allowed = False
        for method, rx, name, fn, service in candidates:
            mm = rx.match(path)
            if not mm:
                continue
            allowed = True
            if method != req.method:
                continue
            req.route = name
            req.service = service
            return fn, mm.groupdict()
        if req.service is None:
            req.service = "control" if path.startswith("/control") else "identity"
        if allowed:
            raise ApiError(405, "Method %s not allowed on %s" % (req.method, req.path))
        raise ApiError(404, "The resource could not be found.")

    def authenticate(self, req):
        """Nova's pipeline: token first (keystonemiddleware), then the
        microversion (everything but the version documents)."""
        if req.route == "compute.version":
            return
        tok = self.cloud.check_token(req.headers.get("X-Auth-Token"))
        if tok is None:
            raise ApiError(401, "The request you have made requires authentication.",
                           {"WWW-Authenticate": 'Keystone uri="%s/v3"' % self.cloud.base_url})
        req.token = tok
        lo = parse_version(self.cloud.cfg["min_version"])
        hi = parse_version(self.cloud.cfg["max_version"])
        text = None
        new = req.headers.get("OpenStack-API-Version")
        if new:
            for item in new.split(","):
                svc, _, ver = item.strip().partition(" ")
                if svc.strip().lower() == "compute":
                    text = ver.strip()
        if text is None:
            text = req.headers.get("X-OpenStack-Nova-API-Version")
        if text is None:
            req.mv = lo
            return
        if text.strip().lower() == "latest":
            req.mv = hi
            return
        try:
            mv = parse_version(text.strip())
        except ValueError:
            raise ApiError(400, "API Version String %s is of invalid format. Must be of format "
                                "MajorNum.MinorNum." % text) from None
        if mv < lo or mv > hi:
            raise ApiError(406, "Version %d.%d is not supported by the API. Minimum is %s and "
                                "maximum is %s." % (mv[0], mv[1], self.cloud.cfg["min_version"],
                                                    self.cloud.cfg["max_version"]))
        req.mv = mv

    def is_admin(self, req):
        return req.token is not None and "admin" in req.token["roles"]

    def need_admin(self, req):
        if not self.is_admin(req):
            raise ApiError(403, "Policy doesn't allow os_compute_api:%s to be performed." %
                           req.route.replace("compute.", ""))

    def prepare(self, req):
        """Resolve the route (req.route names the action for server
        actions, so faults and counters can target one action). Returns
        (fn, kwargs), or an error Response."""
        try:
            fn, kw = self.resolve(req)
        except ApiError as exc:
            return None, self.finish(req, error_response(req, exc.status, exc.message, exc.headers))
        if req.route == "compute.server.action":
            try:
                doc = json.loads(req.body.decode("utf-8")) if req.body else None
                if isinstance(doc, dict) and len(doc) == 1:
                    name = next(iter(doc))
                    if name in ACTIONS:
                        req.route = "compute.server." + name
            except (UnicodeDecodeError, ValueError):
                pass
        return (fn, kw), None

    def execute(self, req, target):
        """Run a prepared request against the model."""
        fn, kw = target
        try:
            if req.service == "compute":
                self.authenticate(req)
                if req.route in NOVA_ROUTES_ADMIN:
                    self.need_admin(req)
            with self.cloud.lock:
                resp = fn(req, **kw)
        except ApiError as exc:
            resp = error_response(req, exc.status, exc.message, exc.headers)
        return self.finish(req, resp)

    def finish(self, req, resp):
        if req.service == "compute":
            resp.headers["X-OpenStack-Request-Id"] = req.request_id
            resp.headers["X-Compute-Request-Id"] = req.request_id
            if req.mv is not None:
                v = "%d.%d" % req.mv
                resp.headers["OpenStack-API-Version"] = "compute " + v
                resp.headers["X-OpenStack-Nova-API-Version"] = v
                resp.headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
        elif req.service == "identity":
            resp.headers["X-OpenStack-Request-Id"] = req.request_id
        return resp

    def record(self, req, resp, delivered=True, note=None):
        """Ledger entry for a mutating call that reached the model."""
        if req.ledger is None:
            return
        rec = dict(req.ledger)
        rec.update({"route": req.route, "method": req.method, "path": req.path,
                    "status": resp.status, "ok": resp.status < 400,
                    "request_id": req.request_id, "delivered": delivered,
                    "endpoint": req.endpoint,
                    "microversion": "%d.%d" % req.mv if req.mv else None})
        if note:
            rec["note"] = note
        self.ledger.add(rec)

    # ------------------------------------------------------------------
    # Keystone
    # ------------------------------------------------------------------
    def _ks_version_doc(self):
        return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": self.cloud.base_url + "/v3/"}],
                "media-types": [{"base": "application/json",
                                 "type": "application/vnd.openstack.identity-v3+json"}]}

    def ks_root(self, req):
        return Response(300, {"versions": {"values": [self._ks_version_doc()]}})

    def ks_version(self, req):
        return Response(200, {"version": self._ks_version_doc()})

    def _domain_id(self, d):
        if not isinstance(d, dict):
            raise ApiError(400, "Invalid input: domain must be an object")
        if "id" in d:
            return d["id"]
        for did, name in self.cloud.domains.items():
            if name == d.get("name"):
                return did
        raise ApiError(401, "The request you have made requires authentication.")

    def ks_auth(self, req):
        doc = req.json()
        c = self.cloud
        try:
            ident = doc["auth"]["identity"]
            methods = ident["methods"]
        except (KeyError, TypeError):
            raise ApiError(400, "Invalid input for field 'identity': 'methods' is a required property") from None
        scope = doc["auth"].get("scope")
        unauth = ApiError(401, "The request you have made requires authentication.")
        if methods == ["application_credential"]:
            ac = ident.get("application_credential") or {}
            if scope is not None:
                raise ApiError(401, "Application credentials cannot request a scope.")
            cred = None
            if "id" in ac:
                cred = c.app_creds.get(ac["id"])
            elif "name" in ac:
                u = ac.get("user") or {}
                uid = u.get("id")
                if uid is None and "name" in u:
                    uu = c.user_by_name(u["name"], self._domain_id(u.get("domain") or {}))
                    uid = uu["id"] if uu else None
                for cr in c.app_creds.values():
                    if cr["name"] == ac["name"] and cr["user_id"] == uid:
                        cred = cr
            if cred is None or cred["secret"] != ac.get("secret"):
                raise unauth
            tok, rec = c.issue_token(cred["user_id"], cred["project_id"], cred["roles"],
                                     ["application_credential"], cred["id"])
        elif methods == ["password"]:
            pw = ident.get("password") or {}
            u = pw.get("user") or {}
            if "id" in u:
                user = c.users.get(u["id"])
            elif "name" in u:
                if "domain" not in u:
                    raise ApiError(400, "Expecting to find domain in user. The server could not "
                                        "comply with the request since it is either malformed or "
                                        "otherwise incorrect.")
                user = c.user_by_name(u["name"], self._domain_id(u["domain"]))
            else:
                raise ApiError(400, "Invalid input for field 'user'")
            if user is None or user["password"] != u.get("password"):
                raise unauth
            project_id, roles = None, []
            if scope is not None:
                sp = scope.get("project") if isinstance(scope, dict) else None
                if sp is None:
                    raise ApiError(400, "only project scope is simulated")
                if "id" in sp:
                    proj = c.projects.get(sp["id"])
                else:
                    if "domain" not in sp:
                        raise ApiError(400, "Expecting to find domain in project.")
                    proj = c.project_by_name(sp.get("name"))
                    if proj is not None and proj["domain_id"] != self._domain_id(sp["domain"]):
                        proj = None
                if proj is None or proj["id"] not in user["roles"]:
                    raise unauth
                project_id, roles = proj["id"], user["roles"][proj["id"]]
            tok, rec = c.issue_token(user["id"], project_id, roles, ["password"])
        else:
            raise ApiError(401, "Unsupported authentication method")
        self.events.emit("token_issued", methods=methods, project=rec["project_id"])
        return Response(201, {"token": self._token_body(rec)}, {"X-Subject-Token": tok})

    def _token_body(self, rec):
        c = self.cloud
        user = c.users[rec["user_id"]]
        body = {"methods": rec["methods"],
                "user": {"id": user["id"], "name": user["name"],
                         "domain": {"id": user["domain_id"], "name": c.domains[user["domain_id"]]}},
                "audit_ids": [uuid.uuid4().hex[:22]],
                "expires_at": iso(rec["expires"], micro=True),
                "issued_at": iso(rec["issued"], micro=True)}
        if rec["project_id"]:
            p = c.projects[rec["project_id"]]
            body["project"] = {"id": p["id"], "name": p["name"],
                               "domain": {"id": "default", "name": "Default"}}
            body["roles"] = [{"id": uuid.uuid5(uuid.NAMESPACE_OID, r).hex, "name": r}
                             for r in rec["roles"]]
            body["is_domain"] = False
            body["catalog"] = c.catalog(rec["project_id"])
        if rec["app_cred"]:
            cr = c.app_creds[rec["app_cred"]]
            body["application_credential"] = {"id": cr["id"], "name": cr["name"], "restricted": True}
        return body

    def ks_validate(self, req):
        if self.cloud.check_token(req.headers.get("X-Auth-Token")) is None:
            raise ApiError(401, "The request you have made requires authentication.")
        rec = self.cloud.check_token(req.headers.get("X-Subject-Token"))
        if rec is None:
            raise ApiError(404, "Could not find token.")
        return Response(200, {"token": self._token_body(rec)})

    # ------------------------------------------------------------------
    # Nova: versions, services
    # ------------------------------------------------------------------
    def nv_version(self, req):
        c = self.cloud
        return Response(200, {"version": {
            "id": "v2.1", "status": "CURRENT", "version": c.cfg["max_version"],
            "min_version": c.cfg["min_version"], "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": c.base_url + "/v2.1/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.compute+json;version=2.1"}]}})

    def _service_view(self, req, svc):
        c = self.cloud
        v = {"id": svc.uuid if req.mv >= (2, 53) else svc.int_id,
             "binary": svc.binary, "host": svc.host, "zone": svc.zone,
             "status": svc.status, "state": "up" if c.service_up(svc) else "down",
             "disabled_reason": svc.disabled_reason,
             "updated_at": iso(max(svc.updated, svc.last_seen if svc.alive else svc.last_seen))}
        if req.mv >= (2, 11):
            v["forced_down"] = svc.forced_down
        return v

    def nv_services(self, req):
        out = []
        for svc in sorted(self.cloud.services.values(), key=lambda s: (s.host, s.binary)):
            if req.q1("binary") and svc.binary != req.q1("binary"):
                continue
            if req.q1("host") and svc.host != req.q1("host"):
                continue
            out.append(self._service_view(req, svc))
        return Response(200, {"services": out})

    def nv_service_update(self, req, sid):
        c = self.cloud
        if req.mv < (2, 53):
            raise ApiError(404, "Unknown action (simulated: only the 2.53 PUT /os-services/{id})")
        svc = c.services.get(sid)
        if svc is None:
            try:
                uuid.UUID(sid)
            except ValueError:
                raise ApiError(400, "Invalid uuid %s" % sid) from None
            raise ApiError(404, "Service %s not found." % sid)
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid input: body must be an object")
        extra = set(body) - {"status", "disabled_reason", "forced_down"}
        if extra:
            raise ApiError(400, "Invalid input for field/attribute. Additional properties are not "
                                "allowed (%s were unexpected)" % ", ".join("'%s'" % k for k in sorted(extra)))
        if "status" not in body and "forced_down" not in body:
            raise ApiError(400, "No updates were requested. Fields 'status' or 'forced_down' "
                                "should be specified.")
        status = body.get("status")
        if status is not None and status not in ("enabled", "disabled"):
            raise ApiError(400, "Invalid input for field/attribute status. Value: %s. '%s' is not "
                                "one of ['enabled', 'disabled']" % (status, status))
        reason = body.get("disabled_reason")
        if reason is not None:
            if status != "disabled":
                raise ApiError(400, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
            if not isinstance(reason, str) or not 1 <= len(reason) <= 255:
                raise ApiError(400, "Invalid input for field/attribute disabled_reason.")
        fd = body.get("forced_down")
        if fd is not None and not isinstance(fd, bool):
            raise ApiError(400, "Invalid input for field/attribute forced_down. Value: %r. "
                                "%r is not of type 'boolean'" % (fd, fd))
        if svc.binary != "nova-compute":
            raise ApiError(400, "Updating a %s service is not supported. Only nova-compute "
                                "services can be updated." % svc.binary)
        req.ledger = {"host": svc.host, "service": svc.uuid, "body": body}
        if fd is False and svc.forced_down:
            for m in c.migrations:
                if m.source_compute == svc.host and m.migration_type == "evacuation" and m.status == "done":
                    raise ApiError(400, "Unable to force up host %s as `done` evacuation migration "
                                        "records remain associated with the host. Ensure the "
                                        "compute service has been restarted, allowing these "
                                        "records to move to `completed` before retrying this "
                                        "request." % svc.host)
        if fd is not None:
            svc.forced_down = fd
        stall = 0.0
        if status is not None and status != svc.status:
            # Nova tells the compute over RPC when the service still looks
            # up; a dead compute never answers and the PUT waits out the
            # RPC timeout (the PUT still succeeds).
            if c.service_up(svc) and not svc.alive:
                stall = float(c.cfg["rpc_timeout_s"])
                self.events.emit("disable_rpc_stall", host=svc.host, seconds=stall)
            svc.status = status
            svc.disabled_reason = reason if status == "disabled" else None
        svc.updated = time.time()
        view = self._service_view(req, svc)
        if stall > 0:
            c.lock.release()
            try:
                time.sleep(stall)
            finally:
                c.lock.acquire()
        return Response(200, {"service": view})

    # ------------------------------------------------------------------
    # Nova: servers
    # ------------------------------------------------------------------
    def _server(self, req, sid):
        s = self.cloud.servers.get(sid)
        if s is None or s.deleted:
            raise ApiError(404, "Instance %s could not be found." % sid)
        if not self.is_admin(req) and s.project_id != req.token["project_id"]:
            raise ApiError(404, "Instance %s could not be found." % sid)
        return s

    def _server_view(self, req, s):
        c = self.cloud
        link = "%s/v2.1/servers/%s" % (c.base_url, s.id)
        v = {"id": s.id, "name": s.name, "status": server_status(s),
             "tenant_id": s.project_id, "user_id": s.user_id, "metadata": dict(s.metadata),
             "hostId": uuid.uuid5(uuid.NAMESPACE_DNS, (s.host or "") + s.project_id).hex if s.host else "",
             "image": {"id": s.image_id, "links": []},
             "flavor": {"vcpus": s.vcpus, "ram": s.ram_mb, "disk": 1, "ephemeral": 0, "swap": 0,
                        "original_name": "m1.sim", "extra_specs": {}},
             "created": iso(s.created)[:19] + "Z", "updated": iso(s.updated)[:19] + "Z",
             "addresses": copy.deepcopy(s.addresses), "accessIPv4": "", "accessIPv6": "",
             "links": [{"rel": "self", "href": link}],
             "OS-EXT-STS:vm_state": s.vm_state, "OS-EXT-STS:task_state": s.task_state,
             "OS-EXT-STS:power_state": s.power_state, "OS-EXT-AZ:availability_zone": "nova",
             "config_drive": "", "key_name": None, "security_groups": [],
             "os-extended-volumes:volumes_attached": []}
        if self.is_admin(req):
            v["OS-EXT-SRV-ATTR:host"] = s.host
            v["OS-EXT-SRV-ATTR:hypervisor_hostname"] = ("%s.sim.example" % s.host) if s.host else None
            v["OS-EXT-SRV-ATTR:instance_name"] = "instance-%08x" % (hash(s.id) & 0xffffffff)
            if req.mv >= (2, 16):
                v["host_status"] = c.host_status(s.host)
        if req.mv >= (2, 9):
            v["locked"] = s.locked
        if req.mv >= (2, 73):
            v["locked_reason"] = s.locked_reason
        if s.fault and s.vm_state == "error":
            v["fault"] = dict(s.fault)
        return v

    def _list(self, req, detail):
        c = self.cloud
        admin = self.is_admin(req)
        if req.mv >= (2, 75):
            bad = set(req.query) - SERVER_QUERY_KEYS
            if bad:
                raise ApiError(400, "Invalid input for query parameters %s. Additional properties "
                                    "are not allowed" % ", ".join(sorted(bad)))
        all_tenants = "all_tenants" in req.query and (req.q1("all_tenants") == "" or
                                                      truthy(req.q1("all_tenants")))
        if all_tenants and not admin:
            raise ApiError(403, "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants "
                                "to be performed.")
        # non-admin filters outside the whitelist are dropped silently
        host = req.q1("host") if admin else None
        try:
            limit = int(req.q1("limit", c.cfg["max_limit"]))
        except ValueError:
            raise ApiError(400, "limit param must be an integer") from None
        if limit < 0:
            raise ApiError(400, "limit param must be positive")
        limit = min(limit, int(c.cfg["max_limit"]))
        items = [s for s in c.servers.values() if not s.deleted]
        if not all_tenants:
            items = [s for s in items if s.project_id == req.token["project_id"]]
        if host:
            if c.cfg["host_filter"] == "exact":
                items = [s for s in items if s.host == host]
            else:
                items = [s for s in items if s.host and host in s.host]
        if req.q1("status"):
            items = [s for s in items if server_status(s) == req.q1("status").upper()]
        items.sort(key=lambda s: (s.created, s.id), reverse=True)
        marker = req.q1("marker")
        if marker:
            ids = [s.id for s in items]
            if marker not in ids:
                raise ApiError(400, "marker [%s] not found" % marker)
            items = items[ids.index(marker) + 1:]
        page = items[:limit]
        out = {"servers": [self._server_view(req, s) if detail else
                           {"id": s.id, "name": s.name, "links": []} for s in page]}
        if page and len(page) == limit:
            q = [(k, v) for k, vals in req.query.items() for v in vals if k != "marker"]
            q.append(("marker", page[-1].id))
            base = c.base_url + req.path
            out["servers_links"] = [{"rel": "next", "href": base + "?" + urllib.parse.urlencode(q)}]
        return Response(200, out)

    def nv_servers_detail(self, req):
        return self._list(req, True)

    def nv_servers_brief(self, req):
        return self._list(req, False)

    def nv_server_get(self, req, id):
        return Response(200, {"server": self._server_view(req, self._server(req, id))})

    def nv_server_delete(self, req, id):
        s = self._server(req, id)
        self._check_lock(req, s)
        req.ledger = {"server": s.id, "host": s.host}
        s.deleted = True
        s.vm_state = "deleted"
        s.touch()
        return Response(204)

    def _check_lock(self, req, s):
        if s.locked and not self.is_admin(req):
            raise ApiError(409, "Instance %s is locked" % s.id)

    def _check_state(self, s, action, vm_states, task_states=(None,)):
        if vm_states is not None and s.vm_state not in vm_states:
            raise ApiError(409, "Cannot '%s' instance %s while it is in vm_state %s" %
                           (action, s.id, s.vm_state))
        if task_states is not None and s.task_state not in task_states:
            raise ApiError(409, "Cannot '%s' instance %s while it is in task_state %s" %
                           (action, s.id, s.task_state))

    def nv_action(self, req, id):
        body = req.json()
        if not isinstance(body, dict) or len(body) != 1:
            raise ApiError(400, "Malformed request body: exactly one action expected")
        name, arg = next(iter(body.items()))
        if name not in ACTIONS:
            raise ApiError(400, "There is no such action: %s" % name)
        req.route = "compute.server." + name
        # route-specific admin policy and fault decisions use the new name
        if req.route in NOVA_ROUTES_ADMIN:
            self.need_admin(req)
        s = self._server(req, id)
        req.ledger = {"server": s.id, "host": s.host, "body": body, "action": name}
        fn = getattr(self, "act_" + name.replace("os-", "").replace("State", "_state"))
        return fn(req, s, arg)

    def _schema(self, cond, field, msg):
        if not cond:
            raise ApiError(400, "Invalid input for field/attribute %s. %s" % (field, msg))

    def act_evacuate(self, req, s, arg):
        c = self.cloud
        self._schema(isinstance(arg, dict), "evacuate", "Value must be an object")
        allowed = {"host", "adminPass"}
        if req.mv < (2, 14):
            allowed.add("onSharedStorage")
            self._schema("onSharedStorage" in arg, "evacuate",
                         "'onSharedStorage' is a required property")
        if (2, 29) <= req.mv < (2, 68):
            allowed.add("force")
        extra = set(arg) - allowed
        self._schema(not extra, "evacuate", "Additional properties are not allowed (%s was "
                     "unexpected)" % ", ".join("'%s'" % k for k in sorted(extra)))
        if arg.get("force") and not arg.get("host"):
            raise ApiError(400, "Can't force to a non-provided destination")
        target = arg.get("host")
        self._check_state(s, "evacuate", ("active", "stopped", "error"), None)
        if s.host is None:
            raise ApiError(409, "Cannot 'evacuate' instance %s while it has no host" % s.id)
        src = c.service_by_host(s.host)
        if src is not None and c.service_up(src):
            raise ApiError(400, "Compute service of %s is still in use." % s.host)
        if target is not None:
            if target == s.host:
                raise ApiError(400, "The target host can't be the same one.")
            if c.service_by_host(target) is None:
                raise ApiError(404, "Compute host %s not found." % target)
        action = c.record_action(s, "evacuate", req.request_id, req.token["user_id"],
                                 req.token["project_id"])
        c.evacuate(s, target, action)
        if req.mv < (2, 14):
            return Response(200, {"adminPass": "simulated"})
        return Response(200, None)

    def act_reboot(self, req, s, arg):
        self._schema(isinstance(arg, dict) and arg.get("type") in ("HARD", "SOFT"), "reboot",
                     "'type' must be HARD or SOFT")
        self._check_lock(req, s)
        if arg["type"] == "SOFT":
            self._check_state(s, "reboot", ("active",), (None,))
        else:
            self._check_state(s, "reboot", ("active", "stopped", "paused", "suspended", "error"),
                              (None, "rebooting", "reboot_pending", "reboot_started",
                               "rebooting_hard", "reboot_pending_hard", "reboot_started_hard",
                               "resuming", "unpausing", "pausing", "suspending"))
        a = self.cloud.record_action(s, "reboot", req.request_id, req.token["user_id"],
                                     req.token["project_id"])

        def finish():
            s.vm_state = "active"
            s.power_state = 1
            s.fault = None
        self.cloud.run_on_host(s, a, "reboot_started_hard" if arg["type"] == "HARD" else "reboot_started", finish)
        return Response(202)

    def act_rebuild(self, req, s, arg):
        self._schema(isinstance(arg, dict) and isinstance(arg.get("imageRef"), str), "rebuild",
                     "'imageRef' is a required property")
        self._check_lock(req, s)
        self._check_state(s, "rebuild", ("active", "stopped", "error"))
        a = self.cloud.record_action(s, "rebuild", req.request_id, req.token["user_id"],
                                     req.token["project_id"])
        was_stopped = s.vm_state == "stopped"
        s.image_id = arg["imageRef"]
        if "metadata" in arg and isinstance(arg["metadata"], dict):
            s.metadata = dict(arg["metadata"])

        def finish():
            s.vm_state = "stopped" if was_stopped else "active"
            s.power_state = 4 if was_stopped else 1
            s.fault = None
        self.cloud.run_on_host(s, a, "rebuilding", finish)
        return Response(202, {"server": self._server_view(req, s)})

    def act_stop(self, req, s, arg):
        self._schema(arg is None, "os-stop", "must be null")
        self._check_lock(req, s)
        self._check_state(s, "stop", ("active", "error"))
        a = self.cloud.record_action(s, "stop", req.request_id, req.token["user_id"],
                                     req.token["project_id"])

        def finish():
            s.vm_state = "stopped"
            s.power_state = 4
        self.cloud.run_on_host(s, a, "powering-off", finish)
        return Response(202)

    def act_start(self, req, s, arg):
        self._schema(arg is None, "os-start", "must be null")
        self._check_lock(req, s)
        self._check_state(s, "start", ("stopped",))
        a = self.cloud.record_action(s, "start", req.request_id, req.token["user_id"],
                                     req.token["project_id"])

        def finish():
            s.vm_state = "active"
            s.power_state = 1
        self.cloud.run_on_host(s, a, "powering-on", finish)
        return Response(202)

    def act_reset_state(self, req, s, arg):
        self._schema(isinstance(arg, dict) and arg.get("state") in ("active", "error"),
                     "os-resetState", "'state' must be active or error")
        s.vm_state = arg["state"]
        s.task_state = None
        if s.vm_state == "error" and s.fault is None:
            s.fault = {"code": 500, "created": iso(time.time()), "message": "reset to error"}
        s.touch()
        self.cloud.record_action(s, "resetState", req.request_id, req.token["user_id"],
                                 req.token["project_id"])
        return Response(202)

    def act_lock(self, req, s, arg):
        if arg is not None:
            self._schema(isinstance(arg, dict), "lock", "must be null or an object")
            if req.mv < (2, 73):
                self._schema(not arg, "lock", "Additional properties are not allowed "
                             "('locked_reason' needs microversion 2.73)")
            extra = set(arg) - {"locked_reason"}
            self._schema(not extra, "lock", "Additional properties are not allowed")
            r = arg.get("locked_reason")
            self._schema(r is None or (isinstance(r, str) and len(r) <= 255), "locked_reason",
                         "must be a string of at most 255 characters")
        s.locked = True
        s.locked_reason = (arg or {}).get("locked_reason")
        s.locked_by = "admin" if self.is_admin(req) else "owner"
        s.touch()
        self.cloud.record_action(s, "lock", req.request_id, req.token["user_id"], req.token["project_id"])
        return Response(202)

    def act_unlock(self, req, s, arg):
        self._schema(arg is None, "unlock", "must be null")
        if s.locked and s.locked_by == "admin" and not self.is_admin(req):
            raise ApiError(403, "Policy doesn't allow os_compute_api:os-lock-server:unlock:"
                                "unlock_override to be performed.")
        s.locked = False
        s.locked_reason = None
        s.locked_by = None
        s.touch()
        self.cloud.record_action(s, "unlock", req.request_id, req.token["user_id"], req.token["project_id"])
        return Response(202)

    # ------------------------------------------------------------------
    # Nova: metadata, instance actions, migrations
    # ------------------------------------------------------------------
    def _meta_writable(self, s):
        self._check_state(s, "update_metadata", ("active", "paused", "suspended", "stopped"))

    def nv_meta_get(self, req, id):
        return Response(200, {"metadata": dict(self._server(req, id).metadata)})

    @staticmethod
    def _check_meta(md):
        if not isinstance(md, dict):
            raise ApiError(400, "Invalid input for field/attribute metadata. Value must be an object")
        for k, v in md.items():
            if not isinstance(v, str) or not 1 <= len(k) <= 255 or len(v) > 255:
                raise ApiError(400, "Invalid input for field/attribute metadata: %r" % k)

    def nv_meta_write(self, req, id):
        s = self._server(req, id)
        body = req.json()
        md = body.get("metadata") if isinstance(body, dict) else None
        self._check_meta(md)
        self._check_lock(req, s)
        self._meta_writable(s)
        req.ledger = {"server": s.id, "host": s.host, "body": body}
        if req.method == "PUT":
            s.metadata = dict(md)
        else:
            s.metadata.update(md)
        s.touch()
        return Response(200, {"metadata": dict(s.metadata)})

    def nv_meta_item(self, req, id, key):
        s = self._server(req, id)
        key = urllib.parse.unquote(key)
        if req.method == "GET":
            if key not in s.metadata:
                raise ApiError(404, "Metadata item was not found")
            return Response(200, {"meta": {key: s.metadata[key]}})
        self._check_lock(req, s)
        self._meta_writable(s)
        if req.method == "DELETE":
            if key not in s.metadata:
                raise ApiError(404, "Metadata item was not found")
            req.ledger = {"server": s.id, "host": s.host, "key": key}
            del s.metadata[key]
            s.touch()
            return Response(204)
        body = req.json()
        meta = body.get("meta") if isinstance(body, dict) else None
        self._check_meta(meta)
        if len(meta) != 1 or key not in meta:
            raise ApiError(400, "Request body and URI mismatch")
        req.ledger = {"server": s.id, "host": s.host, "body": body}
        s.metadata[key] = meta[key]
        s.touch()
        return Response(200, {"meta": {key: meta[key]}})

    def _action_view(self, req, a, events=False):
        v = {"action": a.action, "instance_uuid": a.server_id, "request_id": a.request_id,
             "user_id": a.user_id, "project_id": a.project_id, "start_time": iso(a.start),
             "message": a.message}
        if req.mv >= (2, 58):
            v["updated_at"] = iso(a.updated)
        if events:
            evs = []
            for e in a.events:
                ev = {"event": e["event"], "start_time": e["start_time"],
                      "finish_time": e["finish_time"], "result": e["result"]}
                if req.mv >= (2, 62):
                    ev["host"] = e["host"]
                    ev["hostId"] = ""
                if req.mv >= (2, 84):
                    ev["details"] = e["details"]
                evs.append(ev)
            v["events"] = evs
        return v

    def nv_actions(self, req, id):
        s = self._server(req, id)
        acts = list(reversed(self.cloud.actions.get(s.id, [])))
        return Response(200, {"instanceActions": [self._action_view(req, a) for a in acts]})

    def nv_action_get(self, req, id, rid):
        s = self._server(req, id)
        for a in self.cloud.actions.get(s.id, []):
            if a.request_id == rid:
                return Response(200, {"instanceAction": self._action_view(req, a, True)})
        raise ApiError(404, "Action %s on instance %s could not be found." % (rid, s.id))

    def nv_migrations(self, req):
        out = []
        for m in sorted(self.cloud.migrations, key=lambda x: x.id, reverse=True):
            if req.q1("migration_type") and m.migration_type != req.q1("migration_type"):
                continue
            if req.q1("source_compute") and m.source_compute != req.q1("source_compute"):
                continue
            if req.q1("instance_uuid") and m.instance_uuid != req.q1("instance_uuid"):
                continue
            if req.q1("status") and m.status != req.q1("status"):
                continue
            v = {"id": m.id, "instance_uuid": m.instance_uuid, "migration_type": m.migration_type,
                 "status": m.status, "source_compute": m.source_compute,
                 "dest_compute": m.dest_compute,
                 "source_node": m.source_compute and m.source_compute + ".sim.example",
                 "dest_node": m.dest_compute and m.dest_compute + ".sim.example",
                 "dest_host": "127.0.0.1", "source_region": "RegionOne", "dest_region": "RegionOne",
                 "old_instance_type_id": 1, "new_instance_type_id": 1,
                 "created_at": iso(m.created), "updated_at": iso(m.updated)}
            if req.mv >= (2, 59):
                v["uuid"] = m.uuid
            if req.mv >= (2, 80):
                v["user_id"] = m.user_id
                v["project_id"] = m.project_id
            out.append(v)
        return Response(200, {"migrations": out})

    # ------------------------------------------------------------------
    # Control
    # ------------------------------------------------------------------
    def _cbody(self, req):
        if not req.body:
            return {}
        doc = req.json()
        if not isinstance(doc, dict):
            raise ApiError(400, "control: body must be a JSON object")
        return doc

    def _need(self, doc, key):
        if key not in doc:
            raise ApiError(400, "control: '%s' is required" % key)
        return doc[key]

    def c_state(self, req):
        return Response(200, self.cloud.state())

    def c_routes(self, req):
        return Response(200, {"routes": self.route_names})

    def c_ledger(self, req):
        since = int(req.q1("since", "0") or 0)
        return Response(200, {"ledger": self.ledger.list(since, route=req.q1("route"),
                                                         server=req.q1("server"))})

    def c_events(self, req):
        since = int(req.q1("since", "0") or 0)
        return Response(200, {"events": self.events.list(since, kind=req.q1("kind"))})

    def c_counters(self, req):
        return Response(200, self.counters.snapshot())

    def c_counters_reset(self, req):
        self.counters.reset()
        return Response(200, self.counters.snapshot())

    def c_faults_get(self, req):
        return Response(200, {"faults": self.faults.get()})

    def c_faults_set(self, req):
        try:
            self.faults.set(self._cbody(req), merge=True)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Response(200, {"faults": self.faults.get()})

    def c_faults_clear(self, req):
        self.faults.set({}, merge=False)
        return Response(200, {"faults": {}})

    def c_settings(self, req):
        try:
            return Response(200, {"settings": self.cloud.set_config(self._cbody(req))})
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None

    def c_fail_host(self, req):
        svc = self.cloud.fail_host(self._need(self._cbody(req), "host"))
        return Response(200, {"host": svc.host, "alive": svc.alive})

    def c_restore_host(self, req):
        svc = self.cloud.restore_host(self._need(self._cbody(req), "host"))
        return Response(200, {"host": svc.host, "alive": svc.alive})

    def c_age_host(self, req):
        doc = self._cbody(req)
        svc = self.cloud.age_host(self._need(doc, "host"), float(self._need(doc, "seconds")))
        return Response(200, {"host": svc.host, "state": "up" if self.cloud.service_up(svc) else "down"})

    def c_add_host(self, req):
        doc = self._cbody(req)
        try:
            svc = self.cloud.add_host(self._need(doc, "name"), doc.get("vcpus", 64),
                                      doc.get("ram_mb", 131072), doc.get("status", "enabled"),
                                      doc.get("disabled_reason"), doc.get("forced_down", False),
                                      doc.get("alive", True))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Response(200, {"host": svc.host, "id": svc.uuid})

    def c_servers(self, req):
        try:
            ids = self.cloud.add_servers(self._cbody(req))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Response(200, {"ids": ids})

    def c_server(self, req):
        """Change a server behind Nova's back: {"id":..., "vm_state": "error",
        "task_state": null, "host": ..., "metadata": {...}, "locked": true,
        "addresses": {...} or "ips": [...]}."""
        doc = self._cbody(req)
        s = self.cloud.servers.get(self._need(doc, "id"))
        if s is None:
            raise ApiError(404, "no server %s" % doc["id"])
        for key in ("vm_state", "task_state", "host", "metadata", "locked", "locked_reason",
                    "power_state", "addresses"):
            if key in doc:
                setattr(s, key, doc[key])
        if "ips" in doc:
            try:
                s.addresses = make_addresses(doc["ips"])
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
        if s.vm_state == "error" and s.fault is None:
            s.fault = {"code": 500, "created": iso(time.time()), "message": doc.get("fault", "simulated failure")}
        s.touch()
        self.events.emit("server_changed", server=s.id, changes=doc)
        return Response(200, {"id": s.id, "status": server_status(s)})

    def c_guest_stop(self, req):
        """The guest of an ACTIVE server powers off by itself ({"id"}).
        Nova's power-state sync notices and calls the stop API with an
        admin context: an instance action "stop" without a user, and the
        server SHUTOFF."""
        doc = self._cbody(req)
        s = self.cloud.servers.get(self._need(doc, "id"))
        if s is None or s.deleted:
            raise ApiError(404, "no server %s" % doc["id"])
        if s.vm_state != "active" or s.task_state is not None:
            raise ApiError(409, "control: server %s is %s/%s, not active without a task"
                           % (s.id, s.vm_state, s.task_state))
        s.power_state = 4
        a = self.cloud.record_action(s, "stop", "req-" + str(uuid.uuid4()), None, None)
        s.vm_state = "stopped"
        s.touch()
        a.event("compute_stop_instance", "Success", host=s.host)
        self.events.emit("guest_stopped", server=s.id)
        return Response(200, {"id": s.id, "status": server_status(s)})

    def c_fail_action(self, req):
        """Arm failures of compute-side work: {"server": id, "action":
        "evacuate"|"reboot"|"rebuild"|"stop"|"start", "mode": "novalidhost"|
        "claim"|"error", "count": 1}."""
        doc = self._cbody(req)
        key = (self._need(doc, "server"), self._need(doc, "action"))
        mode = doc.get("mode", "error")
        if mode not in ("novalidhost", "claim", "error"):
            raise ApiError(400, "control: mode must be novalidhost, claim or error")
        self.cloud.action_failures[key] = (int(doc.get("count", 1)), mode)
        return Response(200, {"armed": list(key), "mode": mode})

    def c_expire(self, req):
        return Response(200, {"expired": self.cloud.expire_tokens()})

    def c_wait_idle(self, req):
        timeout = float(req.q1("timeout", "10"))
        deadline = time.time() + timeout
        self.cloud.lock.release()
        try:
            while time.time() < deadline and self.cloud.busy():
                time.sleep(0.02)
        finally:
            self.cloud.lock.acquire()
        return Response(200, {"idle": not self.cloud.busy()})

    def c_shutdown(self, req):
        if self.shutdown_hook:
            self.shutdown_hook()
        return Response(200, {"shutdown": True})
