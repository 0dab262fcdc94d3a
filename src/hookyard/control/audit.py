"""The audit trail: every state-changing operator action, with who did it.

The actor is the admin token's name for API calls (``api`` when no token is
configured) and ``cli:USER`` for local commands.
"""

from __future__ import annotations

import getpass
import logging
from typing import Any

from hookyard.clock import now_us
from hookyard.exceptions import StoreError
from hookyard.ids import new_id
from hookyard.logs import log_event
from hookyard.models import AuditEntry
from hookyard.store.base import AuditLog
from hookyard.timeparse import iso_from_us

log = logging.getLogger("hookyard.audit")
#: The actor of API calls when no admin token is configured (nobody to name).
OPEN_API_ACTOR = "api"


def cli_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME (a bare container)
        user = "unknown"
    return f"cli:{user}"


async def record(
    store: AuditLog,
    *,
    actor: str,
    action: str,
    target: str,
    count: int = 0,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        id=new_id(),
        at_us=now_us(),
        actor=actor,
        action=action,
        target=target,
        count=count,
        detail=detail or {},
    )
    try:
        await store.record_audit(entry)
    except StoreError as exc:
        # The action is done; refusing to say so would be worse than a missing entry.
        log_event(
            log,
            logging.ERROR,
            "audit entry not recorded",
            action=action,
            target=target,
            error=str(exc),
        )
    return entry


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso_from_us(entry.at_us),
        "at_us": entry.at_us,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "count": entry.count,
        "detail": entry.detail,
    }
