"""Results out of pss: a tournament's standings as CSV and JSON, every score as CSV, the finishing
order as the IFPA's results template takes it, and everything of an event as one zip file.

Pure queries and text: the web views and ``pss export`` both call these, so a download and the
command line give the same bytes. Rows are produced lazily (:func:`iter_scores` reads the scores
in batches), so 100,000 scores never sit in memory as ORM objects.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, aliased

from pss_core.errors import Refused
from pss_core.models import (
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    Machine,
    Player,
    Score,
    Team,
    Token,
    Tournament,
    TournamentMachine,
    TournamentStatus,
)
from pss_core.plugins import Pss
from pss_core.services.finals import FinalsPlace
from pss_core.standings import Standings, compute_standings

#: The columns of a tournament's standings CSV.
STANDINGS_COLUMNS = ("rank", "number", "name", "points", "qualified", "members")
#: The columns of a tournament's scores CSV (one line per recorded game).
SCORE_COLUMNS = (
    "score_id",
    "player_number",
    "player",
    "ifpa_id",
    "team",
    "machine",
    "score",
    "recorded_at",
    "entry",
    "entry_status",
)
#: The IFPA results template's columns, in its order (see docs/web.rst, "IFPA submission").
IFPA_COLUMNS = ("Place", "First Name", "Last Name", "IFPA ID")

ProgressFn = Callable[[int], None]


# --- CSV text ---------------------------------------------------------------------------------


class _Line:
    """A file-like sink that hands back what one ``csv.writer.writerow`` wrote."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text = text
        return len(text)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows``, one line at a time (CRLF, as spreadsheets
    expect), so a long export is written or sent while it is read."""
    sink = _Line()
    writer = csv.writer(sink)
    writer.writerow(header)
    yield sink.text
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        yield sink.text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return "".join(csv_lines(header, rows))


def chunked(lines: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """UTF-8 chunks of about ``size`` bytes from many short lines (one write per chunk)."""
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer).encode()
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer).encode()


# --- standings --------------------------------------------------------------------------------


def check_exportable(tournament: Tournament) -> None:
    """Drafts are the directors' own until they open; they have no results to hand out."""
    if tournament.status == TournamentStatus.DRAFT:
        raise Refused(
            f"{tournament.name} is a draft: it has no results to export yet.",
            code="draft_tournament",
        )


def tournament_standings(
    session: Session, pss: Pss, tournament: Tournament, *, cache: Any = None
) -> Standings:
    return compute_standings(session, pss, tournament, cache=cache)


def standings_rows(standings: Standings) -> Iterator[tuple[Any, ...]]:
    """One row per line of the standings, in :data:`STANDINGS_COLUMNS` order."""
    for row in standings.rows:
        c = row.competitor
        yield (
            row.rank,
            c.number,
            c.name,
            row.points,
            "yes" if row.qualified else "no",
            "; ".join(c.members),
        )


def standings_csv(standings: Standings) -> str:
    return csv_text(STANDINGS_COLUMNS, standings_rows(standings))


def standings_document(
    event: Event, tournament: Tournament, standings: Standings
) -> dict[str, Any]:
    """The standings as one JSON document: the tournament, the cut and every line with how its
    total was made."""
    return {
        "event": {"slug": event.slug, "name": event.name},
        "tournament": {
            "slug": tournament.slug,
            "name": tournament.name,
            "format": tournament.format,
            "status": tournament.status.value,
        },
        **standings.as_dict(),
    }


def standings_json(event: Event, tournament: Tournament, standings: Standings) -> str:
    return (
        json.dumps(standings_document(event, tournament, standings), indent=2, ensure_ascii=False)
        + "\n"
    )


# --- scores -----------------------------------------------------------------------------------


def _scores_query(tournament_id: int) -> Any:
    return (
        select(
            Score.id,
            EventPlayer.number,
            Player.first_name,
            Player.last_name,
            Player.ifpa_id,
            Team.name,
            Machine.name,
            Score.score,
            Score.recorded_at,
            Entry.id,
            Entry.status,
        )
        .join(Entry, Entry.id == Score.entry_id)
        .join(TournamentMachine, TournamentMachine.id == Score.tournament_machine_id)
        .join(Machine, Machine.id == TournamentMachine.machine_id)
        .outerjoin(EventPlayer, EventPlayer.id == Entry.player_id)
        .outerjoin(Player, Player.id == EventPlayer.player_id)
        .outerjoin(Team, Team.id == Entry.team_id)
        .where(Entry.tournament_id == tournament_id)
        .order_by(Score.id)
    )


def count_scores(session: Session, tournament: Tournament) -> int:
    return (
        session.scalar(
            select(func.count(Score.id))
            .join(Entry, Entry.id == Score.entry_id)
            .where(Entry.tournament_id == tournament.id)
        )
        or 0
    )


def iter_scores(
    session: Session,
    tournament: Tournament,
    *,
    batch: int = 5000,
    progress: ProgressFn | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Every score of ``tournament`` in :data:`SCORE_COLUMNS` order, oldest first, read from
    the database ``batch`` rows at a time; ``progress(n)`` is told each batch's size."""
    result = session.execute(_scores_query(tournament.id).execution_options(yield_per=batch))
    for part in result.partitions():
        for sid, number, first, last, ifpa, team, machine, score, at, entry, status in part:
            name = f"{first} {last or ''}".strip() if first is not None else ""
            yield (
                sid,
                number,
                name,
                ifpa,
                team,
                machine,
                score,
                _iso(at),
                entry,
                EntryStatus(status).value,
            )
        if progress is not None:
            progress(len(part))


def _iso(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at is not None else ""


def scores_lines(
    session: Session, tournament: Tournament, *, progress: ProgressFn | None = None
) -> Iterator[str]:
    return csv_lines(SCORE_COLUMNS, iter_scores(session, tournament, progress=progress))


# --- IFPA submission --------------------------------------------------------------------------


@attrs.frozen
class Placing:
    """One line of the finishing order."""

    place: int
    player_id: int
    number: int
    first_name: str
    last_name: str
    ifpa_id: int | None
    #: ``finals`` or ``qualifying``: where the place was decided.
    decided_in: str


@attrs.frozen
class LeftOut:
    """A player of the tournament whom the IFPA rules leave out of the results."""

    player_id: int
    number: int
    name: str
    reason: str


@attrs.frozen
class FinishingOrder:
    placings: tuple[Placing, ...]
    left_out: tuple[LeftOut, ...]

    def rows(self) -> Iterator[tuple[Any, ...]]:
        for p in self.placings:
            yield (p.place, p.first_name, p.last_name, p.ifpa_id)

    def csv(self) -> str:
        return csv_text(IFPA_COLUMNS, self.rows())

    def as_dict(self) -> dict[str, Any]:
        return {
            "columns": list(IFPA_COLUMNS),
            "placings": [attrs.asdict(p) for p in self.placings],
            "left_out": [attrs.asdict(p) for p in self.left_out],
        }


def finishing_order(
    session: Session,
    tournament: Tournament,
    standings: Standings,
    *,
    finals: Sequence[FinalsPlace] = (),
) -> FinishingOrder:
    """The tournament's finishing order for the IFPA: the ``finals`` places first (as the
    finals decided them), then everyone else in qualifying order, placed after the finalists
    (equal qualifying ranks share a place). Players of the tournament who never completed a
    game that counts (bought tickets but never played, or only left incomplete entries) are
    left out and listed, since the IFPA counts only players who took part."""
    if tournament.is_team:
        raise Refused(
            f"{tournament.name} is a team tournament: the IFPA results template "
            "takes single players.",
            code="ifpa_team",
        )
    finalists = {f.player_id for f in finals}
    if len(finalists) != len(finals):
        raise Refused("A player has two finals places.", code="finals_duplicate")
    people = _people(session, tournament)
    placings: list[Placing] = []
    for f in sorted(finals, key=lambda f: f.place):
        number, first, last, ifpa = people[f.player_id]
        placings.append(Placing(f.place, f.player_id, number, first, last, ifpa, "finals"))
    after = max((f.place for f in finals), default=0)
    rest = [row for row in standings.rows if row.competitor.id not in finalists]
    better = 0
    previous_rank: int | None = None
    for i, row in enumerate(rest):
        if row.rank != previous_rank:
            better, previous_rank = i, row.rank
        pid = row.competitor.id
        assert pid is not None
        number, first, last, ifpa = people[pid]
        placings.append(Placing(after + better + 1, pid, number, first, last, ifpa, "qualifying"))
    placed = {p.player_id for p in placings}
    entrants = _entrants(session, tournament)
    left_out = [
        LeftOut(
            pid,
            number,
            f"{first} {last}".strip(),
            "only incomplete entries" if pid in entrants else "never played",
        )
        for pid, (number, first, last, _ifpa) in sorted(people.items(), key=lambda i: i[1][0])
        if pid not in placed
    ]
    return FinishingOrder(tuple(placings), tuple(left_out))


def _entrants(session: Session, tournament: Tournament) -> set[int]:
    return set(
        session.scalars(
            select(Entry.player_id).where(
                Entry.tournament_id == tournament.id,
                Entry.player_id.is_not(None),
                Entry.status != EntryStatus.VOIDED,
            )
        )
    )


def _people(
    session: Session, tournament: Tournament
) -> dict[int, tuple[int, str, str, int | None]]:
    """Everyone who is part of the tournament: has an entry in it or a ticket for it."""
    ids = union(
        select(Entry.player_id.label("pid")).where(
            Entry.tournament_id == tournament.id, Entry.player_id.is_not(None)
        ),
        select(Token.player_id.label("pid")).where(
            Token.tournament_id == tournament.id, Token.player_id.is_not(None)
        ),
    ).subquery()
    ep = aliased(EventPlayer)
    rows = session.execute(
        select(ep.id, ep.number, Player.first_name, Player.last_name, Player.ifpa_id)
        .join(Player, Player.id == ep.player_id)
        .where(ep.id.in_(select(ids.c.pid)))
    )
    return {pid: (number, first, last or "", ifpa) for pid, number, first, last, ifpa in rows}


# --- everything of an event -------------------------------------------------------------------


def exportable_tournaments(event: Event) -> list[Tournament]:
    return [
        t
        for t in event.tournaments
        if t.status not in (TournamentStatus.DRAFT, TournamentStatus.CANCELLED)
    ]


def event_zip(session: Session, pss: Pss, event: Event, *, cache: Any = None) -> bytes:
    """One zip with, per tournament that has results, ``<slug>/results.csv``, ``results.json``,
    ``scores.csv`` and (single-player tournaments) ``ifpa.csv``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        index = []
        for t in exportable_tournaments(event):
            standings = tournament_standings(session, pss, t, cache=cache)
            archive.writestr(f"{t.slug}/results.csv", standings_csv(standings))
            archive.writestr(f"{t.slug}/results.json", standings_json(event, t, standings))
            with archive.open(f"{t.slug}/scores.csv", "w") as handle:
                for chunk in chunked(scores_lines(session, t)):
                    handle.write(chunk)
            files = ["results.csv", "results.json", "scores.csv"]
            if not t.is_team:
                archive.writestr(f"{t.slug}/ifpa.csv", finishing_order(session, t, standings).csv())
                files.append("ifpa.csv")
            index.append({"slug": t.slug, "name": t.name, "files": files})
        archive.writestr(
            "event.json",
            json.dumps(
                {"slug": event.slug, "name": event.name, "tournaments": index},
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
        )
    return out.getvalue()
