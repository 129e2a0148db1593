"""A tournament's standings as pages show them: asked of the tournament's own format, with the
qualifying cut marked, optionally cached per process.

Freshness: standings are computed per request by :func:`compute_standings`. Callers that serve the
same standings often (a TV page) pass a :class:`StandingsCache`, which keys each result on the
tournament's ``version`` (bumped with every score or entry change), its format, options and
qualifying cut, and the status of each of its machines.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.contract.standings import Ranking, ScoreRow, Standings
from pss_core.errors import Refused
from pss_core.models import Tournament, TournamentMachine
from pss_core.standings.reference import apply_cut, entry_standings, herb_standings
from pss_core.standings.sql import (
    all_competitors,
    bank,
    relabel,
    score_rows,
    sql_entry_standings,
    sql_herb_standings,
)

if TYPE_CHECKING:
    from pss_core.contract.curves import PointsCurve
    from pss_core.contract.formats import FormatSpec
    from pss_core.contract.registry import Registry
    from pss_core.plugins import Pss


class StandingsCache:
    """Standings kept per process, keyed on everything they depend on: the database, the
    tournament, its ``version`` (bumped with every score and entry change), format, options,
    qualifying cut and the status of each machine. A changed key is a miss, so a hit is never
    stale; names changed since (a renamed player) show after the next score."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[Any, ...], Standings] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Standings | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[Any, ...], standings: Standings) -> None:
        with self._lock:
            self._items[key] = standings
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def compute_standings(
    session: Session,
    pss: Pss,
    tournament: Tournament,
    *,
    cache: StandingsCache | None = None,
) -> Standings:
    """The standings of ``tournament`` from its stored scores, with the qualifying cut marked.

    Asks the tournament's own format: :meth:`~pss_core.contract.Format.standings_from_sql` first,
    and where that gives nothing, :meth:`~pss_core.contract.Format.standings_from_rows` over the
    stored scores (:func:`~pss_core.standings.sql.score_rows`, with ids turned back into names).
    The tournament's version is read first, so the standings are at least as new as
    ``Standings.version`` says."""
    spec = pss.formats[tournament.format]
    options = spec.resolve_options(tournament.format_options or {})
    version = session.scalar(select(Tournament.version).where(Tournament.id == tournament.id))
    key: tuple[Any, ...] | None = None
    if cache is not None:
        bind = session.get_bind()
        key = (
            str(bind.engine.url if hasattr(bind, "engine") else bind),
            tournament.id,
            version,
            tournament.format,
            json.dumps(options, sort_keys=True, default=str),
            tournament.qualifying_cut,
            tournament.count_removed_machines,
            tuple(
                (id_, str(status))
                for id_, status in session.execute(
                    select(TournamentMachine.id, TournamentMachine.status)
                    .where(TournamentMachine.tournament_id == tournament.id)
                    .order_by(TournamentMachine.id)
                )
            ),
        )
        hit = cache.get(key)
        if hit is not None:
            return hit
    ranking = ranking_for(pss)
    result = spec.format.standings_from_sql(session, tournament, options, ranking)
    if result is None:
        result = spec.format.standings_from_rows(score_rows(session, tournament), options, ranking)
        if result is not None:
            result = relabel(
                result,
                all_competitors(session, tournament, spec.team),
                bank(session, tournament.id),
            )
    if result is None:
        raise Refused(f"The {spec.title} format does not compute standings.", code="no_standings")
    result = attrs.evolve(
        labelled(result, spec),
        format=spec.name,
        options=options,
        tournament_id=tournament.id,
        version=version,
    )
    result = apply_cut(result, tournament.qualifying_cut)
    if cache is not None and key is not None:
        cache.put(key, result)
    return result


def standings_from_rows(
    pss: Pss,
    format_name: str,
    rows: Sequence[ScoreRow],
    *,
    options: Mapping[str, Any] | None = None,
    cut: int | None = None,
) -> Standings:
    """Standings for plain score rows in ``format_name`` with ``options`` (validated and overlaid
    on the format's defaults), no database needed. Bad rows raise
    :class:`~pss_core.errors.InvalidInput` naming the line."""
    spec = pss.formats[format_name]
    resolved = spec.resolve_options(options or {})
    result = spec.format.standings_from_rows(rows, resolved, ranking_for(pss))
    if result is None:
        raise Refused(f"The {spec.title} format does not compute standings.", code="no_standings")
    return apply_cut(attrs.evolve(labelled(result, spec), format=spec.name, options=resolved), cut)


def labelled(standings: Standings, spec: FormatSpec) -> Standings:
    """The format's column labels on its standings, where the format did not set its own."""
    return attrs.evolve(
        standings,
        points_label=spec.points_label
        if standings.points_label == "Points"
        else standings.points_label,
        score_label=spec.score_label if standings.score_label == "Score" else standings.score_label,
    )


def ranking_for(pss: Pss) -> Ranking:
    """The :class:`~pss_core.contract.Ranking` handed to formats: ``pss``'s curves and the
    engines of this package."""
    return Ranking(
        curves=pss.curves,
        herb=herb_standings,
        entries=entry_standings,
        sql_herb=sql_herb_standings,
        sql_entries=sql_entry_standings,
    )


def points_curve(
    curves: Registry[PointsCurve], options: Mapping[str, Any], name: str = "points_curve"
) -> PointsCurve:
    """The curve a tournament's options name (formats use ``Ranking.curve``)."""
    return curves[str(options[name])]
