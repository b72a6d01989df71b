"""novasim: a simulated OpenStack control plane (Keystone v3 + a Nova subset).

Modules:

  records   ledger of mutating calls, per-route call counters, event log
  faults    run-time fault injection per route
  model     projects, users, tokens, catalog, compute services, servers,
            migrations, instance actions, and the simulated conductor /
            scheduler / compute behaviour (timed transitions)
  api       the HTTP routes: /v3 (Keystone), /v2.1 (Nova), /control (tests)
  server    the threaded HTTP server and `novasim serve` / `novasim ctl`

The behaviour modelled, and the Nova rules it enforces, follow the Zed
(nova 26) API described in shared/reference/openstack.md.
"""

__version__ = "1.0"
