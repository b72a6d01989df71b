"""State numbers, error codes and version feature gates of oned.

Numbers and names are OpenNebula's own (include/Host.h, VirtualMachine.h,
Request.h); the names are exactly the enum names, because hook templates,
hook messages and our control API use them.
"""

# --------------------------------------------------------------------------
# Host states
# --------------------------------------------------------------------------
HOST_INIT = 0
HOST_MONITORING_MONITORED = 1
HOST_MONITORED = 2
HOST_ERROR = 3
HOST_DISABLED = 4
HOST_MONITORING_ERROR = 5
HOST_MONITORING_INIT = 6
HOST_MONITORING_DISABLED = 7
HOST_OFFLINE = 8

HOST_STATE_NAMES = {
    0: "INIT", 1: "MONITORING_MONITORED", 2: "MONITORED", 3: "ERROR",
    4: "DISABLED", 5: "MONITORING_ERROR", 6: "MONITORING_INIT",
    7: "MONITORING_DISABLED", 8: "OFFLINE",
}
HOST_STATES = {v: k for k, v in HOST_STATE_NAMES.items()}

# --------------------------------------------------------------------------
# VM states
# --------------------------------------------------------------------------
INIT, PENDING, HOLD, ACTIVE, STOPPED, SUSPENDED, DONE, FAILED, POWEROFF, \
    UNDEPLOYED, CLONING, CLONING_FAILURE = range(12)

VM_STATE_NAMES = {
    0: "INIT", 1: "PENDING", 2: "HOLD", 3: "ACTIVE", 4: "STOPPED",
    5: "SUSPENDED", 6: "DONE", 7: "FAILED", 8: "POWEROFF", 9: "UNDEPLOYED",
    10: "CLONING", 11: "CLONING_FAILURE",
}
VM_STATES = {v: k for k, v in VM_STATE_NAMES.items()}

LCM_STATE_NAMES = {
    0: "LCM_INIT", 1: "PROLOG", 2: "BOOT", 3: "RUNNING", 4: "MIGRATE",
    5: "SAVE_STOP", 6: "SAVE_SUSPEND", 7: "SAVE_MIGRATE", 8: "PROLOG_MIGRATE",
    9: "PROLOG_RESUME", 10: "EPILOG_STOP", 11: "EPILOG", 12: "SHUTDOWN",
    13: "CANCEL", 14: "FAILURE", 15: "CLEANUP_RESUBMIT", 16: "UNKNOWN",
    17: "HOTPLUG", 18: "SHUTDOWN_POWEROFF", 19: "BOOT_UNKNOWN",
    20: "BOOT_POWEROFF", 21: "BOOT_SUSPENDED", 22: "BOOT_STOPPED",
    23: "CLEANUP_DELETE", 24: "HOTPLUG_SNAPSHOT", 25: "HOTPLUG_NIC",
    26: "HOTPLUG_SAVEAS", 27: "HOTPLUG_SAVEAS_POWEROFF",
    28: "HOTPLUG_SAVEAS_SUSPENDED", 29: "SHUTDOWN_UNDEPLOY",
    30: "EPILOG_UNDEPLOY", 31: "PROLOG_UNDEPLOY", 32: "BOOT_UNDEPLOY",
    33: "HOTPLUG_PROLOG_POWEROFF", 34: "HOTPLUG_EPILOG_POWEROFF",
    35: "BOOT_MIGRATE", 36: "BOOT_FAILURE", 37: "BOOT_MIGRATE_FAILURE",
    38: "PROLOG_MIGRATE_FAILURE", 39: "PROLOG_FAILURE", 40: "EPILOG_FAILURE",
    41: "EPILOG_STOP_FAILURE", 42: "EPILOG_UNDEPLOY_FAILURE",
    43: "PROLOG_MIGRATE_POWEROFF", 44: "PROLOG_MIGRATE_POWEROFF_FAILURE",
    45: "PROLOG_MIGRATE_SUSPEND", 46: "PROLOG_MIGRATE_SUSPEND_FAILURE",
    47: "BOOT_UNDEPLOY_FAILURE", 48: "BOOT_STOPPED_FAILURE",
    49: "PROLOG_RESUME_FAILURE", 50: "PROLOG_UNDEPLOY_FAILURE",
    51: "DISK_SNAPSHOT_POWEROFF", 52: "DISK_SNAPSHOT_REVERT_POWEROFF",
    53: "DISK_SNAPSHOT_DELETE_POWEROFF", 54: "DISK_SNAPSHOT_SUSPENDED",
    55: "DISK_SNAPSHOT_REVERT_SUSPENDED", 56: "DISK_SNAPSHOT_DELETE_SUSPENDED",
    57: "DISK_SNAPSHOT", 58: "DISK_SNAPSHOT_REVERT", 59: "DISK_SNAPSHOT_DELETE",
    60: "PROLOG_MIGRATE_UNKNOWN", 61: "PROLOG_MIGRATE_UNKNOWN_FAILURE",
    62: "DISK_RESIZE", 63: "DISK_RESIZE_POWEROFF", 64: "DISK_RESIZE_UNDEPLOYED",
    65: "HOTPLUG_NIC_POWEROFF", 66: "HOTPLUG_RESIZE",
    67: "HOTPLUG_SAVEAS_UNDEPLOYED", 68: "HOTPLUG_SAVEAS_STOPPED",
    69: "BACKUP", 70: "BACKUP_POWEROFF", 71: "RESTORE",
}
LCM_STATES = {v: k for k, v in LCM_STATE_NAMES.items()}

# Short local aliases for the LCM states the engine drives.
L = LCM_STATES
LCM_INIT = L["LCM_INIT"]
RUNNING = L["RUNNING"]
UNKNOWN = L["UNKNOWN"]

# Failure LCM states (4.14+): what VM failure hooks are registered for.
FAILURE_LCM_STATES = frozenset(L[n] for n in (
    "BOOT_FAILURE", "BOOT_MIGRATE_FAILURE", "PROLOG_MIGRATE_FAILURE",
    "PROLOG_FAILURE", "EPILOG_FAILURE", "EPILOG_STOP_FAILURE",
    "EPILOG_UNDEPLOY_FAILURE", "PROLOG_MIGRATE_POWEROFF_FAILURE",
    "PROLOG_MIGRATE_SUSPEND_FAILURE", "BOOT_UNDEPLOY_FAILURE",
    "BOOT_STOPPED_FAILURE", "PROLOG_RESUME_FAILURE",
    "PROLOG_UNDEPLOY_FAILURE", "PROLOG_MIGRATE_UNKNOWN_FAILURE"))

# --------------------------------------------------------------------------
# History ACTION values (VMActions::Action)
# --------------------------------------------------------------------------
HISTORY_ACTIONS = {
    "none": 0, "migrate": 1, "live-migrate": 2, "shutdown": 3,
    "shutdown-hard": 4, "undeploy": 5, "undeploy-hard": 6, "hold": 7,
    "release": 8, "stop": 9, "suspend": 10, "resume": 11, "boot": 12,
    "delete": 13, "delete-recreate": 14, "reboot": 15, "reboot-hard": 16,
    "resched": 17, "unresched": 18, "poweroff": 19, "poweroff-hard": 20,
    "terminate": 27, "terminate-hard": 28, "deploy": 30, "update": 36,
    "recover": 42, "retry": 43, "monitor": 44,
}

# --------------------------------------------------------------------------
# Error codes (include/Request.h)
# --------------------------------------------------------------------------
SUCCESS = 0x0000
AUTHENTICATION = 0x0100
AUTHORIZATION = 0x0200
NO_EXISTS = 0x0400
ACTION = 0x0800
XML_RPC_API = 0x1000
INTERNAL = 0x2000
ALLOCATE = 0x4000
LOCKED = 0x8000
REPLICATION = 0x10000

ERROR_CODE_NAMES = {
    SUCCESS: "SUCCESS", AUTHENTICATION: "AUTHENTICATION",
    AUTHORIZATION: "AUTHORIZATION", NO_EXISTS: "NO_EXISTS", ACTION: "ACTION",
    XML_RPC_API: "XML_RPC_API", INTERNAL: "INTERNAL", ALLOCATE: "ALLOCATE",
    LOCKED: "LOCKED", REPLICATION: "REPLICATION",
}
ERROR_CODES = {v: k for k, v in ERROR_CODE_NAMES.items()}

# XML-RPC fault codes of the xmlrpc-c library oned uses.
FAULT_TYPE = -501          # wrong parameter type / not enough parameters
FAULT_PARSE = -503         # request is not valid XML-RPC
FAULT_NO_SUCH_METHOD = -506

# Authorization operations (AuthRequest::Operation) and lock levels.
OP_USE, OP_MANAGE, OP_ADMIN = 1, 2, 4
LOCK_NONE, LOCK_USE, LOCK_MANAGE, LOCK_ADMIN = 0, 1, 2, 3


def parse_host_state(value):
    """Host state from a number or a name (case-insensitive)."""
    if isinstance(value, int):
        if value not in HOST_STATE_NAMES:
            raise ValueError("unknown host state %r" % value)
        return value
    text = str(value).strip().upper()
    if text.isdigit():
        return parse_host_state(int(text))
    if text not in HOST_STATES:
        raise ValueError("unknown host state %r" % value)
    return HOST_STATES[text]


def parse_lcm_state(value):
    if isinstance(value, int):
        if value not in LCM_STATE_NAMES:
            raise ValueError("unknown LCM state %r" % value)
        return value
    text = str(value).strip().upper()
    if text.isdigit():
        return parse_lcm_state(int(text))
    if text not in LCM_STATES:
        raise ValueError("unknown LCM state %r" % value)
    return LCM_STATES[text]


def parse_vm_state(value):
    if isinstance(value, int):
        if value not in VM_STATE_NAMES:
            raise ValueError("unknown VM state %r" % value)
        return value
    text = str(value).strip().upper()
    if text.isdigit():
        return parse_vm_state(int(text))
    if text not in VM_STATES:
        raise ValueError("unknown VM state %r" % value)
    return VM_STATES[text]


def parse_vm_state_spec(spec):
    """(state, lcm_state) from a compact spec used by scenarios and ctl.

    Accepted: "RUNNING" (an LCM name implies ACTIVE), "PENDING" (a VM state
    name implies LCM_INIT), "ACTIVE/UNKNOWN", numbers "3/16" or 36 (a bare
    number is an LCM state of an ACTIVE VM).
    """
    if isinstance(spec, int):
        return ACTIVE, parse_lcm_state(spec)
    text = str(spec).strip().upper()
    if "/" in text:
        s, l = text.split("/", 1)
        return parse_vm_state(s), parse_lcm_state(l)
    if text.isdigit():
        return ACTIVE, parse_lcm_state(int(text))
    if text in VM_STATES and text != "ACTIVE":
        return VM_STATES[text], LCM_INIT
    if text in LCM_STATES:
        return ACTIVE, LCM_STATES[text]
    raise ValueError("unknown VM state %r" % spec)


def vm_state_str(state, lcm_state):
    """What oned's VirtualMachine::state_str() prints in error messages:
    the LCM state name for ACTIVE VMs, the VM state name otherwise."""
    if state == ACTIVE:
        return LCM_STATE_NAMES.get(lcm_state, str(lcm_state))
    return VM_STATE_NAMES.get(state, str(state))


# --------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------
DEFAULT_VERSION_STRINGS = {
    (4, 4): "4.4.1", (4, 14): "4.14.2", (5, 4): "5.4.15", (5, 8): "5.8.5",
    (5, 10): "5.10.5", (5, 12): "5.12.13", (6, 0): "6.0.3", (6, 8): "6.8.3",
    (6, 10): "6.10.5", (7, 0): "7.0.2", (7, 4): "7.4.0",
}


class Version:
    """Feature gates of the emulated OpenNebula version (reference §1, §4)."""

    def __init__(self, text="6.10"):
        parts = [int(p) for p in str(text).split(".") if p.strip() != ""]
        if len(parts) < 2 or parts[0] < 4:
            raise ValueError("unsupported OpenNebula version %r" % text)
        self.tuple = tuple(parts)
        self.major_minor = tuple(parts[:2])
        if len(parts) >= 3:
            self.string = ".".join(str(p) for p in parts)
        else:
            self.string = DEFAULT_VERSION_STRINGS.get(
                self.major_minor, "%d.%d.0" % self.major_minor)

    def at_least(self, *v):
        return self.tuple[:len(v)] >= v

    # Envelope: 3 elements (4.4-5.2), 4 (5.4-5.8), 5 with <i8> (5.10+).
    @property
    def failure_elements(self):
        if self.at_least(5, 10):
            return 5
        if self.at_least(5, 4):
            return 4
        return 3

    @property
    def short_pool_body(self):          # vmpool.info short bodies, 5.8+
        return self.at_least(5, 8)

    @property
    def has_infoextended(self):
        return self.at_least(5, 8)

    @property
    def has_infoset(self):
        return self.at_least(6, 0)

    @property
    def has_locks(self):
        return self.at_least(5, 6)

    @property
    def has_host_status(self):          # one.host.enable before 5.0
        return self.at_least(5, 0)

    @property
    def recover_is_int(self):           # bool success before 4.14
        return self.at_least(4, 14)

    @property
    def max_recover_op(self):
        if self.at_least(5, 8):
            return 5
        if self.at_least(5, 0):
            return 4
        return 2

    @property
    def old_action_names(self):         # 4.x delete/delete-recreate/shutdown
        return not self.at_least(5, 0)

    @property
    def host_hook_refires(self):        # bug #3378 fixed in 4.10.2
        return self.tuple < (4, 10, 2)

    @property
    def pools_descending(self):         # 6.x dumps pools ORDER BY oid DESC
        return self.at_least(6, 0)

    @property
    def has_plan_ids(self):             # HISTORY/PLAN_ID, ACTION_ID (7.x)
        return self.at_least(7, 0)

    @property
    def has_backups(self):              # VM/BACKUPS (6.6+)
        return self.at_least(6, 6)

    @property
    def monitoring_interval_in_config(self):
        # MONITORING_INTERVAL(5.2-5.4)/_HOST (5.6-5.10) in oned.conf; gone
        # since 5.12 (moved to monitord.conf).
        return (5, 2) <= self.tuple[:2] < (5, 12)
