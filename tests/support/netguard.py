"""The SSRF guard's allowance for tests: their receivers listen on this machine.

Loopback is refused by default, so every test that delivers to a local receiver says
so, in its config (``LOOPBACK_SERVER_TABLE``) or to the service (``LOOPBACK``).
"""

from __future__ import annotations

from hookyard.delivery.netpolicy import NetPolicy

LOOPBACK_NETWORKS = ("127.0.0.0/8", "::1/128")
LOOPBACK = NetPolicy.allowing(*LOOPBACK_NETWORKS)
#: The ``allow_networks`` line for a ``[server]`` table.
ALLOW_LOOPBACK = 'allow_networks = ["127.0.0.0/8", "::1/128"]'
LOOPBACK_SERVER_TABLE = f"[server]\n{ALLOW_LOOPBACK}\n"
