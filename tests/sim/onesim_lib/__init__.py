"""onesim: a simulated OpenNebula front-end (oned + scheduler + hook manager).

The package is split by concern:

  states     state numbers/names, error codes, version feature gates
  xmlutil    XML escaping, safe parsing, OpenNebula template syntax
  xmlrpc     XML-RPC request parsing and oned-shaped responses
  model      hosts, VMs, datastores and their XML documents
  engine     the simulation: lifecycle, scheduler, monitoring, copy ledger
  hooks      the hook manager (oned.conf HOST_HOOK/VM_HOOK and onehook)
  faults     run-time fault injection
  ledger     ledger of mutating calls, call counters, event log
  api        the XML-RPC methods
  scenario   scenario file loading
  server     HTTP server (XML-RPC at /RPC2, JSON control API at /control/)
  cli        `onesim serve` and `onesim ctl`
"""

__version__ = "1.0"
