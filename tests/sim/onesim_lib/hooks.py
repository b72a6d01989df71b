"""The hook manager: runs registered hook commands on HOST and VM state
changes exactly the way OpenNebula does (reference §2).

Two registration forms:

* oned.conf blocks (4.x-5.8, run by oned's one_hm driver):
      HOST_HOOK = [ NAME="error", ON="ERROR", COMMAND="ft/host_error.rb",
                    ARGUMENTS="$ID -r", REMOTE="no" ]
      VM_HOOK   = [ NAME="recreate", ON="UNKNOWN", COMMAND="...", ARGUMENTS="$ID" ]
  The FIRST occurrence of $ID, $TEMPLATE (VM: also $PREV_STATE,
  $PREV_LCM_STATE) is substituted; "<command> <args>" runs through
  /bin/sh -c with an empty stdin and no timeout.

* onehook templates (5.10+, run by onehem-server):
      NAME=host_error TYPE=state RESOURCE=HOST STATE=ERROR
      COMMAND=ft/host_error.rb ARGUMENTS="$TEMPLATE -m -p 5" ARGUMENTS_STDIN=yes
  ARGUMENTS is split on whitespace; only a token that is exactly $TEMPLATE
  is replaced (base64, no newlines, of the <HOST>/<VM> document).  With
  ARGUMENTS_STDIN=yes the joined argument string is the command's stdin and
  it gets no arguments; otherwise the arguments are appended and stdin is
  empty.  TIMEOUT kills the process group with SIGTERM; the run is recorded
  with exit code 255.

A relative COMMAND is resolved against the hook base path.  Hooks run
asynchronously on a pool of worker threads (onehem's :concurrency:), never
blocking the API.  Every run is logged (see HookRun.to_json).
"""

import base64
import collections
import json
import os
import shlex
import signal
import subprocess
import threading
import time

from . import states as S
from .xmlutil import parse_template, TemplateSyntaxError

OUTPUT_CAP = 1 << 20          # keep at most 1 MiB of stdout/stderr per run


class HookError(ValueError):
    pass


# VM "ON" conditions: (STATE, LCM_STATE) pairs (HookStateVM / VirtualMachinePool)
VM_ON = {
    "PROLOG": ("ACTIVE", "PROLOG"),
    "RUNNING": ("ACTIVE", "RUNNING"),
    "SHUTDOWN": ("ACTIVE", "EPILOG"),
    "STOP": ("STOPPED", "LCM_INIT"),
    "DONE": ("DONE", "LCM_INIT"),
    "UNKNOWN": ("ACTIVE", "UNKNOWN"),
    "FAILED": ("FAILED", "LCM_INIT"),       # oned.conf only, 4.x
}
OLD_HOST_ON = {"ERROR": "ERROR", "DISABLE": "DISABLED", "OFFLINE": "OFFLINE",
               "ENABLE": "ENABLE", "CREATE": "CREATE"}


class HookDef:
    _next_id = 0

    def __init__(self, form, resource, name, command, arguments="",
                 arguments_stdin=False, timeout=None, remote=False,
                 host_state=None, vm_state=None, vm_lcm_state=None,
                 on=None, source=None):
        HookDef._next_id += 1
        self.id = HookDef._next_id
        self.form = form                    # "oned.conf" | "onehook"
        self.resource = resource            # "HOST" | "VM"
        self.name = name
        self.command = command
        self.arguments = arguments or ""
        self.arguments_stdin = arguments_stdin
        self.timeout = timeout
        self.remote = remote
        self.host_state = host_state        # HOST: state name, ENABLE, CREATE
        self.vm_state = vm_state            # VM: state names to match
        self.vm_lcm_state = vm_lcm_state
        self.on = on
        self.source = source

    def matches_host(self, event):
        return self.resource == "HOST" and self.host_state == event

    def matches_vm(self, state_name, lcm_name, event=None):
        if self.resource != "VM":
            return False
        if event is not None:                   # CREATE
            return self.on == event
        if self.vm_state != state_name:
            return False
        if self.vm_state == "ACTIVE" or self.vm_lcm_state is not None:
            return self.vm_lcm_state == lcm_name
        return True

    def to_json(self):
        return {"id": self.id, "name": self.name, "form": self.form,
                "resource": self.resource, "command": self.command,
                "arguments": self.arguments, "arguments_stdin": self.arguments_stdin,
                "timeout": self.timeout, "remote": self.remote,
                "on": self.on, "state": self.host_state or self.vm_state,
                "lcm_state": self.vm_lcm_state}


def _yes(value):
    return str(value).strip().lower() in ("yes", "true", "1")


def _vector_get(vec, key):
    for k, v in vec:
        if k == key:
            return v
    return None


def parse_oned_conf(text):
    """HOST_HOOK / VM_HOOK blocks of an oned.conf (other attributes are
    ignored, as oned.conf has many)."""
    try:
        attrs = parse_template(text)
    except TemplateSyntaxError as exc:
        raise HookError("oned.conf syntax error: %s" % exc) from None
    hooks = []
    for key, vec in attrs:
        if key not in ("HOST_HOOK", "VM_HOOK") or not isinstance(vec, list):
            continue
        name = _vector_get(vec, "NAME") or ""
        on = (_vector_get(vec, "ON") or "").upper()
        command = _vector_get(vec, "COMMAND") or ""
        arguments = _vector_get(vec, "ARGUMENTS") or ""
        remote = _yes(_vector_get(vec, "REMOTE") or "no")
        if not command:
            raise HookError("%s %r: COMMAND is missing" % (key, name))
        if key == "HOST_HOOK":
            if on not in OLD_HOST_ON:
                raise HookError("HOST_HOOK %r: unknown ON=%r" % (name, on))
            hooks.append(HookDef("oned.conf", "HOST", name, command, arguments,
                                 remote=remote, host_state=OLD_HOST_ON[on], on=on,
                                 source=text))
        else:
            if on == "CUSTOM":
                st = (_vector_get(vec, "STATE") or "").upper()
                lcm = (_vector_get(vec, "LCM_STATE") or "").upper() or None
                if st not in S.VM_STATES or (lcm and lcm not in S.LCM_STATES):
                    raise HookError("VM_HOOK %r: bad CUSTOM STATE/LCM_STATE" % name)
            elif on in VM_ON:
                st, lcm = VM_ON[on]
            elif on == "CREATE":
                st, lcm = None, None
            else:
                raise HookError("VM_HOOK %r: unknown ON=%r" % (name, on))
            hooks.append(HookDef("oned.conf", "VM", name, command, arguments,
                                 remote=remote, vm_state=st, vm_lcm_state=lcm,
                                 on=on, source=text))
    if not hooks:
        raise HookError("no HOST_HOOK or VM_HOOK block found")
    return hooks


def parse_onehook(template):
    """A onehook template (text, or a JSON object of attribute: value)."""
    if isinstance(template, dict):
        attrs = {str(k).upper(): str(v) for k, v in template.items()}
    else:
        try:
            attrs = {k: v for k, v in parse_template(template) if isinstance(v, str)}
        except TemplateSyntaxError as exc:
            raise HookError("hook template syntax error: %s" % exc) from None
    name = attrs.get("NAME", "")
    htype = attrs.get("TYPE", "").lower()
    command = attrs.get("COMMAND", "")
    if not name:
        raise HookError("No NAME in template for Hook.")
    if not command:
        raise HookError("No COMMAND in template for Hook.")
    if htype == "api":
        raise HookError("API hooks (TYPE=api) are not simulated by onesim")
    if htype != "state":
        raise HookError("Invalid hook type: %r" % attrs.get("TYPE", ""))
    resource = attrs.get("RESOURCE", "").upper()
    timeout = attrs.get("TIMEOUT")
    kwargs = dict(arguments=attrs.get("ARGUMENTS", ""),
                  arguments_stdin=_yes(attrs.get("ARGUMENTS_STDIN", "no")),
                  timeout=float(timeout) if timeout not in (None, "") else None,
                  remote=_yes(attrs.get("REMOTE", "no")), source=template)
    if resource == "HOST":
        state = attrs.get("STATE", "").upper()
        if state.startswith("MONITORING_"):          # accepted by 5.10
            state = state[len("MONITORING_"):]
        if state not in ("INIT", "MONITORED", "ERROR", "DISABLED", "OFFLINE"):
            raise HookError("Invalid STATE: %r" % attrs.get("STATE", ""))
        return HookDef("onehook", "HOST", name, command, host_state=state, **kwargs)
    if resource == "VM":
        on = attrs.get("ON", "").upper()
        if on == "CUSTOM":
            st = attrs.get("STATE", "").upper()
            lcm = attrs.get("LCM_STATE", "").upper()
            if st not in S.VM_STATES or lcm not in S.LCM_STATES:
                raise HookError("Invalid STATE/LCM_STATE for CUSTOM hook")
        elif on in VM_ON and on != "FAILED":
            st, lcm = VM_ON[on]
        else:
            # (sic) oned's message
            raise HookError("Unkown state condition: %r" % attrs.get("ON", ""))
        return HookDef("onehook", "VM", name, command, vm_state=st,
                       vm_lcm_state=lcm, on=on, **kwargs)
    raise HookError("Invalid RESOURCE: %r (HOST or VM)" % attrs.get("RESOURCE", ""))


def _first_sub(text, token, value):
    return text.replace(token, value, 1)


class HookRun:
    _next_id = 0

    def __init__(self, hook, resource, object_id, event, cmdline, argv, stdin):
        HookRun._next_id += 1
        self.id = HookRun._next_id
        self.hook = hook
        self.resource = resource
        self.object_id = object_id
        self.event = event
        self.cmdline = cmdline
        self.argv = argv
        self.stdin = stdin
        self.status = "queued"
        self.queued = time.time()
        self.start = None
        self.end = None
        self.exit_code = None
        self.timed_out = False
        self.stdout = ""
        self.stderr = ""
        self.pid = None
        self.error = None

    def to_json(self):
        return {
            "id": self.id, "hook": self.hook.name, "hook_id": self.hook.id,
            "form": self.hook.form, "resource": self.resource,
            "object_id": self.object_id, "event": self.event,
            "command": self.hook.command, "cmdline": self.cmdline,
            "argv": self.argv, "stdin": self.stdin,
            "stdin_given": bool(self.stdin), "status": self.status,
            "queued": self.queued, "start": self.start, "end": self.end,
            "duration": (self.end - self.start) if self.end and self.start else None,
            "exit_code": self.exit_code, "timed_out": self.timed_out,
            "stdout": self.stdout, "stderr": self.stderr, "pid": self.pid,
            "error": self.error,
        }


class HookManager:
    def __init__(self, base_path="/var/lib/one/remotes/hooks", env=None,
                 concurrency=10, events=None, log_path=None):
        self.base_path = base_path
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.concurrency = max(1, int(concurrency))
        self.events = events
        self.hooks = []
        self.runs = []
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._running = {}            # run id -> Popen
        self._active = 0              # queued + running
        self._stopping = False
        self._workers = []
        self._log_fh = open(log_path, "a", encoding="utf-8") if log_path else None

    # ------------------------------------------------------------------
    def start(self):
        for i in range(self.concurrency):
            t = threading.Thread(target=self._worker, name="hook-%d" % i, daemon=True)
            t.start()
            self._workers.append(t)

    def register(self, hooks):
        with self._cond:
            self.hooks.extend(hooks)
        return hooks

    def unregister(self, hook_id):
        with self._cond:
            before = len(self.hooks)
            self.hooks = [h for h in self.hooks if h.id != hook_id]
            return len(self.hooks) != before

    def set_env(self, env):
        with self._cond:
            self.env.update(env)

    # ------------------------------------------------------------------
    # Event entry points (called by the engine with its lock held; they only
    # build the runs and queue them).
    def host_event(self, host, event, doc_xml, only_form=None):
        """event: new host state name, or ENABLE/CREATE (oned.conf)."""
        matched = [h for h in self.hooks if h.matches_host(event)
                   and (only_form is None or h.form == only_form)]
        for hook in matched:
            self._enqueue(hook, "HOST", host.id, "HOST/%s" % event, doc_xml, {})

    def vm_event(self, vm, prev_names, doc_xml, create=False):
        state, lcm = vm.state_names()
        extra = {"$PREV_STATE": prev_names[0], "$PREV_LCM_STATE": prev_names[1]}
        for hook in self.hooks:
            if create:
                if hook.resource == "VM" and hook.on == "CREATE":
                    self._enqueue(hook, "VM", vm.id, "VM/CREATE", doc_xml, extra)
            elif hook.matches_vm(state, lcm):
                self._enqueue(hook, "VM", vm.id, "VM/%s/%s" % (state, lcm), doc_xml, extra)

    def wants_vm_events(self):
        return any(h.resource == "VM" for h in self.hooks)

    # ------------------------------------------------------------------
    def _resolve(self, command):
        """oned prefixes a relative COMMAND with the hooks directory; the
        prefix is shell-quoted in case the test's directory needs it."""
        if command.startswith("/"):
            return command
        base = os.path.join(self.base_path, "")
        return shlex.quote(base) + command if shlex.quote(base) != base else base + command

    def _enqueue(self, hook, resource, object_id, event, doc_xml, extra):
        b64 = base64.b64encode(doc_xml.encode("utf-8")).decode("ascii")
        command = self._resolve(hook.command)
        if hook.form == "oned.conf":
            args = _first_sub(hook.arguments, "$ID", str(object_id))
            args = _first_sub(args, "$TEMPLATE", b64)
            for token, value in extra.items():
                args = _first_sub(args, token, value)
            cmdline = command + (" " + args if args else "")
            stdin = ""
            argv = _argv_of(cmdline)
        else:
            tokens = [b64 if t == "$TEMPLATE" else t for t in hook.arguments.split()]
            joined = " ".join(tokens)
            if hook.arguments_stdin:
                cmdline, stdin = command, joined
            else:
                cmdline, stdin = command + (" " + joined if joined else ""), ""
            argv = _argv_of(cmdline)
        run = HookRun(hook, resource, object_id, event, cmdline, argv, stdin)
        with self._cond:
            if self._stopping:
                return
            self.runs.append(run)
            self._queue.append(run)
            self._active += 1
            self._cond.notify()
        if self.events:
            self.events.add("hook_queued", run=run.id, hook=hook.name, event=event,
                            object_id=object_id)

    def _worker(self):
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                run = self._queue.popleft()
            try:
                self._execute(run)
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()
                self._write_log(run)

    def _execute(self, run):
        run.status = "running"
        run.start = time.time()
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", run.cmdline], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.env, start_new_session=True, close_fds=True)
        except OSError as exc:
            run.status = "error"
            run.error = "cannot start: %s" % exc
            run.exit_code = 255
            run.end = time.time()
            return
        run.pid = proc.pid
        with self._cond:
            self._running[run.id] = proc
        if run.hook.remote and self.events:
            self.events.add("hook_remote_ignored", run=run.id, hook=run.hook.name)
        try:
            out, err = proc.communicate(run.stdin.encode("utf-8"), timeout=run.hook.timeout)
            run.exit_code = proc.returncode
        except subprocess.TimeoutExpired:
            run.timed_out = True
            _killpg(proc.pid, signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                _killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            run.exit_code = 255                 # what onehem records
        finally:
            with self._cond:
                self._running.pop(run.id, None)
        if self._stopping and run.exit_code is not None and run.exit_code < 0:
            run.error = "killed at onesim shutdown"
        run.stdout = out[:OUTPUT_CAP].decode("utf-8", "replace")
        run.stderr = err[:OUTPUT_CAP].decode("utf-8", "replace")
        run.end = time.time()
        run.status = "done"

    def _write_log(self, run):
        if self.events:
            self.events.add("hook_done", run=run.id, hook=run.hook.name,
                            exit_code=run.exit_code, timed_out=run.timed_out)
        if self._log_fh:
            with self._cond:
                self._log_fh.write(json.dumps(run.to_json(), sort_keys=True) + "\n")
                self._log_fh.flush()

    # ------------------------------------------------------------------
    def busy(self):
        with self._cond:
            return self._active

    def wait_idle(self, timeout):
        deadline = time.time() + timeout
        with self._cond:
            while self._active:
                remaining = deadline - time.time()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def log(self, since=0):
        with self._cond:
            return [r.to_json() for r in self.runs if r.id > since]

    def stop(self):
        """onesim shutdown: drop queued runs, SIGTERM running ones."""
        with self._cond:
            self._stopping = True
            dropped = list(self._queue)
            self._queue.clear()
            self._active -= len(dropped)
            for run in dropped:
                run.status = "dropped"
            procs = list(self._running.values())
            self._cond.notify_all()
        for proc in procs:
            _killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 5
        for t in self._workers:
            t.join(max(0.0, deadline - time.time()))
        with self._cond:
            for proc in self._running.values():
                _killpg(proc.pid, signal.SIGKILL)
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None


def _killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _argv_of(cmdline):
    """The argv /bin/sh gives the program for a plain command line."""
    try:
        return shlex.split(cmdline)
    except ValueError:
        return cmdline.split()
