"""The read path of live pages: a poll answered in one database round trip, and bodies rendered
once per version.

* **One query, outside any transaction.** A live page's fingerprint (and, for a tournament page,
  the tournament's status, which decides whether it is hidden) is read by one statement on an
  autocommit connection: no ``BEGIN``, no ``ROLLBACK``, and the request's session never starts
  unless the view itself runs.
* **Slug -> id, remembered.** Event and tournament slugs never change once created, so the ids
  they name are kept per process; the rows are loaded only when a view needs them.
* **Bodies per version.** A rendered live page is kept under its URL, its representation, who may
  see what on it and the fingerprint read from the database on this very request; the next
  request with the same key gets the same bytes and ETag. Every process reads the fingerprint
  from the database on every request, so a process's copy is provably current: a change moves
  the fingerprint (every change writes an audit row; scores bump the tournament's version) and the
  old entry is never looked up again. The key holds nothing process-specific, so several
  processes give identical ETags and bodies.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import attrs
from sqlalchemy import Engine, Integer, bindparam, func, select

from pss_core.models import AuditLog, Tournament, TournamentStatus

#: How many rendered bodies a process keeps (a few pages x representations x versions).
BODY_CACHE_SIZE = 256


class Lru:
    """A small thread-safe LRU mapping."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def drop(self, key: Any) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@attrs.frozen
class CachedBody:
    status: int
    content_type: str
    charset: str | None
    body: bytes


@attrs.frozen
class EventFacts:
    """What one query tells about an event (and one of its tournaments) right now."""

    fingerprint: str
    status: TournamentStatus | None = None


def ids(request: Any) -> Lru:
    return request.registry["pss.slug_ids"]


def bodies(request: Any) -> Lru:
    return request.registry["pss.bodies"]


def clear(registry: Any) -> None:
    """Forget every remembered id and body (tests reuse ids across rolled-back data)."""
    registry["pss.slug_ids"].clear()
    registry["pss.bodies"].clear()


def read_rows(request: Any, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """Run one read statement outside the request's transaction (an autocommit connection), or in
    the test's own session when a test hands one in."""
    session = request.environ.get("app.dbsession")
    if session is not None:
        return list(session.execute(statement, params).all())
    engine: Engine = request.registry["pss.read_engine"]
    with engine.connect() as conn:
        return list(conn.execute(statement, params).all())


def _facts_statement(with_status: bool) -> Any:
    """Built once: a poll pays for executing it, not for building it."""
    event_id = bindparam("event_id", type_=Integer)
    newest = select(func.max(AuditLog.id)).where(AuditLog.event_id == event_id)
    versions = select(func.coalesce(func.sum(Tournament.version), 0)).where(
        Tournament.event_id == event_id
    )
    columns = [newest.scalar_subquery(), versions.scalar_subquery()]
    if with_status:
        columns.append(
            select(Tournament.status)
            .where(
                Tournament.id == bindparam("tournament_id", type_=Integer),
                Tournament.event_id == event_id,
            )
            .scalar_subquery()
        )
    return select(*columns)


_FACTS = _facts_statement(False)
_FACTS_AND_STATUS = _facts_statement(True)


def event_facts(request: Any, event_id: int, tournament_id: int | None = None) -> EventFacts:
    """The event's fingerprint (newest audit id and the sum of its tournaments' versions) and
    the status of ``tournament_id``, in one statement, once per request."""
    cache = request.environ.setdefault("pss.event_facts", {})
    key = (event_id, tournament_id)
    if key in cache:
        return cache[key]
    statement = _FACTS if tournament_id is None else _FACTS_AND_STATUS
    params: dict[str, Any] = {"event_id": event_id}
    if tournament_id is not None:
        params["tournament_id"] = tournament_id
    row = read_rows(request, statement, params)[0]
    status = row[2] if tournament_id is not None else None
    facts = EventFacts(
        f"{event_id}.{row[0] or 0}.{row[1]}",
        TournamentStatus(status) if status is not None else None,
    )
    cache[key] = facts
    cache[(event_id, None)] = facts
    return facts


def read_engine(engine: Engine) -> Engine:
    """``engine`` for statements that need no transaction: autocommit, so the driver sends no
    ``BEGIN`` (PostgreSQL) and pss's own ``BEGIN`` is skipped (SQLite, see :mod:`pss_core.db`)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT", pss_autocommit=True)
    return engine.execution_options(pss_autocommit=True)


def includeme(config: Any) -> None:
    settings = config.get_settings()
    config.registry["pss.slug_ids"] = Lru(int(settings.get("pss.slug_cache_size", 10_000)))
    config.registry["pss.bodies"] = Lru(int(settings.get("pss.body_cache_size", BODY_CACHE_SIZE)))
