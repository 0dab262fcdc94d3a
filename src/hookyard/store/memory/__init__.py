"""An in-memory store, for unit tests of worker and replay decisions; not for production.

``memory://`` opens a private store. ``memory://NAME`` opens one shared by every store of
that name in this process, for as long as one of them is open (as SQLite's named
in-memory databases are): any suffix names a separate store. ``open_store(url)`` and
``start()`` as for the real backends; nothing to install, no file, no server.

It is a test double that must not lie. What is Python already comes from
``store.policy``, ``store.rows`` and ``store.filters`` (dedup within a batch, initial
statuses, replay counters, globs, the id bounds of a time window); what the backends say
in SQL (event statuses, the claim and lease conditions) is restated statement by
statement in ``tables``, and the behaviour suite holds all three backends to the same
answers. Writes go through a group-commit queue like SQLite's (what one event-loop turn
submits commits together, then the other writes in order), so ``pending``,
``queue_size`` and ``StoreSaturated`` mean what they mean there. Each transaction checks
its constraints before it changes anything: a refused write leaves nothing behind, a
lost lease records nothing, a full queue refuses.

Deliberately not modelled: durability (a store's data is gone once the last store of
its name closes, and with the process), other processes (nothing here is visible
outside this one; a store is used from one event loop), and I/O time (a read answers
from the last commit without waiting).
"""

from hookyard.store.memory.store import MemoryStore

__all__ = ["MemoryStore"]
