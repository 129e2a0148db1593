"""Fingerprints for live pages: cheap queries that change whenever what a page shows may have.

Every change in pss writes an audit row in the same transaction, so the newest audit id of an
event moves with every sale, game, score, queue change and setting change there; tournament
versions (bumped with scores and entries) are added for good measure. A page declared with
``live=event_fingerprint`` answers a poll whose ``If-None-Match`` still matches with a 304 after
this one query, without computing standings or rendering anything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pss_core.models import AuditLog, Tournament
from pss_web.readcache import event_facts
from pss_web.resources import find_event_id


def event_version(session: Any, event_id: int) -> str:
    newest = select(func.max(AuditLog.id)).where(AuditLog.event_id == event_id)
    versions = select(func.coalesce(func.sum(Tournament.version), 0)).where(
        Tournament.event_id == event_id
    )
    audit_id, version_sum = session.execute(
        select(newest.scalar_subquery(), versions.scalar_subquery())
    ).one()
    return f"{event_id}.{audit_id or 0}.{version_sum}"


def event_fingerprint(context: Any, request: Any) -> str:
    """For any page inside an event: one statement outside any transaction (see
    :mod:`pss_web.readcache`)."""
    event_id = find_event_id(context)
    if event_id is None:
        return "-"
    return event_facts(request, event_id).fingerprint
