"""Finals from a qualifying tournament: seeding (with tiebreaker games at the cut and bye lines),
rounds of groups made by the finals' pairing format, group games recorded and corrected, final
positions for the results export. Every change writes an audit row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.contract import FinishedGroup, GroupPlan, GroupVerdict, PairingFormat, Seeding
from pss_core.errors import InvalidInput, NotFound, Refused
from pss_core.models import (
    EventPlayer,
    Finals,
    FinalsGame,
    FinalsGroup,
    FinalsPlayer,
    Tournament,
    TournamentMachine,
)
from pss_core.plugins import Pss
from pss_core.standings import compute_standings


@attrs.frozen
class FinalsPlace:
    """A place decided in the finals: these come first in the finishing order, as given."""

    place: int
    #: ``EventPlayer.id`` of who finished there.
    player_id: int


def pairing_formats(pss: Pss) -> list[str]:
    """The installed formats of the pairing family, by name."""
    return sorted(spec.name for spec in pss.formats if isinstance(spec.format, PairingFormat))


def format_of(pss: Pss, finals: Finals) -> PairingFormat:
    fmt = pss.formats[finals.format].format
    assert isinstance(fmt, PairingFormat)
    return fmt


def qualifying_standings(
    session: Session, pss: Pss, tournament: Tournament
) -> list[tuple[int, int]]:
    standings = compute_standings(session, pss, tournament)
    return [(int(row.competitor.id or 0), row.rank) for row in standings.rows]


def create_finals(
    session: Session,
    pss: Pss,
    actor: Actor,
    tournament: Tournament,
    *,
    name: str,
    slug: str,
    cut: int,
    format: str,
    options: Mapping[str, Any],
) -> Finals:
    if tournament.is_team:
        raise Refused(
            f"{tournament.name} is a team tournament; finals take single players.",
            code="finals_team",
        )
    if format not in pairing_formats(pss):
        raise InvalidInput(
            f"{format!r} is not a finals format; choose one of {', '.join(pairing_formats(pss))}.",
            code="finals_format",
        )
    spec = pss.formats[format]
    resolved = spec.resolve_options(dict(options))
    fmt = format_of_spec(spec.format)
    if cut < 2:
        raise InvalidInput("At least 2 players must qualify.", code="cut")
    fmt.check_setup(resolved, cut)
    if (
        session.scalars(
            select(Finals).where(Finals.event_id == tournament.event_id, Finals.slug == slug)
        ).first()
        is not None
    ):
        raise Refused(
            f"There are already finals called {slug!r} in this event.", code="finals_slug_taken"
        )
    standings = qualifying_standings(session, pss, tournament)
    fmt.seed(resolved, cut, standings, [])  # refuses a cut beyond the standings
    finals = Finals(
        event_id=tournament.event_id,
        tournament_id=tournament.id,
        slug=slug,
        name=name,
        format=format,
        format_options=resolved,
        cut=cut,
    )
    session.add(finals)
    session.flush()
    audit.record(
        session,
        actor,
        "finals_created",
        event_id=finals.event_id,
        subject=finals,
        tournament=tournament.id,
        format=format,
        cut=cut,
        options=resolved,
    )
    _seed_if_settled(session, pss, actor, finals)
    return finals


def format_of_spec(fmt: Any) -> PairingFormat:
    assert isinstance(fmt, PairingFormat)
    return fmt


def _cut_games(session: Session, finals: Finals) -> list[FinalsGame]:
    return list(
        session.scalars(
            select(FinalsGame)
            .where(FinalsGame.finals_id == finals.id, FinalsGame.group_id.is_(None))
            .order_by(FinalsGame.id)
        )
    )


def seeding(session: Session, pss: Pss, finals: Finals) -> Seeding:
    tournament = session.get(Tournament, finals.tournament_id)
    assert tournament is not None
    games = [{int(k): int(v) for k, v in g.places.items()} for g in _cut_games(session, finals)]
    return format_of(pss, finals).seed(
        finals.format_options, finals.cut, qualifying_standings(session, pss, tournament), games
    )


def players(session: Session, finals: Finals) -> list[FinalsPlayer]:
    return list(
        session.scalars(
            select(FinalsPlayer)
            .where(FinalsPlayer.finals_id == finals.id)
            .order_by(FinalsPlayer.seed)
        )
    )


def _seed_if_settled(session: Session, pss: Pss, actor: Actor, finals: Finals) -> None:
    if players(session, finals):
        return
    result = seeding(session, pss, finals)
    if result.pending:
        return
    for index, player_id in enumerate(result.players, start=1):
        session.add(FinalsPlayer(finals_id=finals.id, event_player_id=player_id, seed=index))
    session.flush()
    audit.record(
        session,
        actor,
        "finals_seeded",
        event_id=finals.event_id,
        subject=finals,
        seeds=list(result.players),
    )


def record_cut_tiebreaker(
    session: Session,
    pss: Pss,
    actor: Actor,
    finals: Finals,
    *,
    scores: Mapping[int, int] | None = None,
    order: Sequence[int] | None = None,
    recorded_by_id: int | None = None,
) -> FinalsGame:
    """A tiebreaker game at the cut or bye line among exactly the tied players (player ids)."""
    if players(session, finals):
        raise Refused(
            "The finals are already seeded; no tiebreaker is open at the cut.",
            code="no_tiebreaker_needed",
        )
    pending = seeding(session, pss, finals).pending
    given = set(scores) if scores is not None else set(order or ())
    if not any(set(tie) == given for tie in pending):
        ties = "; ".join(", ".join(str(p) for p in tie) for tie in pending)
        raise InvalidInput(
            f"A tiebreaker game is among exactly the tied players ({ties}).",
            code="wrong_tiebreaker_players",
        )
    places = format_of(pss, finals).rank_game(finals.format_options, scores=scores, order=order)
    game = FinalsGame(
        finals_id=finals.id,
        group_id=None,
        number=len(_cut_games(session, finals)) + 1,
        tiebreaker=True,
        places={str(k): v for k, v in places.items()},
        scores={str(k): v for k, v in scores.items()} if scores else None,
        recorded_by_id=recorded_by_id,
    )
    session.add(game)
    session.flush()
    audit.record(
        session,
        actor,
        "finals_cut_tiebreaker",
        event_id=finals.event_id,
        subject=game,
        finals=finals.id,
        places=places,
        scores=scores,
    )
    _seed_if_settled(session, pss, actor, finals)
    return game


def groups(session: Session, finals: Finals) -> list[FinalsGroup]:
    return list(
        session.scalars(
            select(FinalsGroup)
            .where(FinalsGroup.finals_id == finals.id)
            .order_by(FinalsGroup.round_number, FinalsGroup.id)
        )
    )


def group_games(session: Session, group: FinalsGroup) -> list[FinalsGame]:
    return list(
        session.scalars(
            select(FinalsGame).where(FinalsGame.group_id == group.id).order_by(FinalsGame.number)
        )
    )


def plan_of(group: FinalsGroup) -> GroupPlan:
    return GroupPlan(group.label, tuple(int(s) for s in group.seeds), group.advance, group.games)


def _places(game: FinalsGame) -> dict[int, int]:
    return {int(k): int(v) for k, v in game.places.items()}


def verdict(session: Session, pss: Pss, finals: Finals, group: FinalsGroup) -> GroupVerdict:
    games = group_games(session, group)
    return format_of(pss, finals).advance(
        finals.format_options,
        plan_of(group),
        [_places(g) for g in games if not g.tiebreaker],
        [_places(g) for g in games if g.tiebreaker],
    )


def history(session: Session, finals: Finals) -> list[list[FinishedGroup]]:
    rounds: dict[int, list[FinishedGroup]] = {}
    complete: dict[int, bool] = {}
    for group in groups(session, finals):
        complete[group.round_number] = complete.get(group.round_number, True) and (
            group.result is not None
        )
        rounds.setdefault(group.round_number, []).append(
            FinishedGroup(group.label, tuple(int(s) for s in group.result or ()), group.advance)
        )
    return [rounds[n] for n in sorted(rounds) if complete[n]]


def current_round(session: Session, finals: Finals) -> int:
    return max((g.round_number for g in groups(session, finals)), default=0)


def start_round(session: Session, pss: Pss, actor: Actor, finals: Finals) -> list[FinalsGroup]:
    """Make the next round's groups with the finals' format."""
    if not players(session, finals):
        raise Refused(
            "The finals are not seeded yet: play the tiebreaker at the cut first.",
            code="not_seeded",
        )
    done = history(session, finals)
    number = current_round(session, finals)
    if len(done) < number:
        raise Refused(f"Round {number} has not finished.", code="round_not_finished")
    plans = format_of(pss, finals).next_round(finals.format_options, finals.cut, done)
    if not plans:
        raise Refused("The finals are over.", code="finals_over")
    made = []
    for plan in plans:
        group = FinalsGroup(
            finals_id=finals.id,
            round_number=number + 1,
            label=plan.label,
            seeds=list(plan.seeds),
            advance=plan.advance,
            games=plan.games,
        )
        session.add(group)
        made.append(group)
    session.flush()
    audit.record(
        session,
        actor,
        "finals_round_started",
        event_id=finals.event_id,
        subject=finals,
        round=number + 1,
        groups={p.label: list(p.seeds) for p in plans},
    )
    return made


def _machine(session: Session, finals: Finals, tm_id: int | None) -> int | None:
    if tm_id is None:
        return None
    tm = session.get(TournamentMachine, tm_id)
    if tm is None or tm.event_id != finals.event_id:
        raise NotFound("No such machine in this event.", code="no_such_machine")
    return tm.id


def assign_machine(
    session: Session, actor: Actor, finals: Finals, group: FinalsGroup, tm_id: int | None
) -> None:
    group.tournament_machine_id = _machine(session, finals, tm_id)
    audit.record(
        session,
        actor,
        "finals_machine_assigned",
        event_id=finals.event_id,
        subject=group,
        machine=group.tournament_machine_id,
    )


def record_game(
    session: Session,
    pss: Pss,
    actor: Actor,
    finals: Finals,
    group: FinalsGroup,
    *,
    scores: Mapping[int, int] | None = None,
    order: Sequence[int] | None = None,
    machine_id: int | None = None,
    correct: int | None = None,
    recorded_by_id: int | None = None,
) -> FinalsGame:
    """Record the group's next game (or its tiebreaker game when a tie needs one), or, with
    ``correct``, replace game number ``correct``. Players are seeds."""
    fmt = format_of(pss, finals)
    if any(g.round_number > group.round_number for g in groups(session, finals)):
        raise Refused(
            f"Round {group.round_number + 1} has started; group {group.label}'s "
            "games can no longer change.",
            code="round_closed",
        )
    seeds = {int(s) for s in group.seeds}
    places = fmt.rank_game(finals.format_options, scores=scores, order=order)
    games = group_games(session, group)
    machine = _machine(
        session, finals, machine_id if machine_id is not None else group.tournament_machine_id
    )
    if correct is not None:
        game = next((g for g in games if g.number == correct), None)
        if game is None:
            raise NotFound(f"Group {group.label} has no game {correct}.", code="no_such_game")
        if set(places) != set(_places(game)):
            raise InvalidInput("A corrected game has the same players.", code="game_players")
        before = {"places": game.places, "scores": game.scores}
        game.places = {str(k): v for k, v in places.items()}
        game.scores = {str(k): v for k, v in scores.items()} if scores else None
        game.tournament_machine_id = machine if machine is not None else game.tournament_machine_id
        action = "finals_game_corrected"
    else:
        current = verdict(session, pss, finals, group)
        tiebreaker = current.complete
        if tiebreaker:
            if not current.tiebreakers_needed:
                raise Refused(f"Group {group.label} has finished.", code="group_finished")
            if not any(set(t) == set(places) for t in current.tiebreakers_needed):
                ties = "; ".join(", ".join(map(str, t)) for t in current.tiebreakers_needed)
                raise InvalidInput(
                    f"The tiebreaker game is among exactly the tied seeds ({ties}).",
                    code="wrong_tiebreaker_players",
                )
        elif set(places) != seeds:
            raise InvalidInput(
                f"A game of group {group.label} has a result for each of its "
                f"players (seeds {', '.join(map(str, sorted(seeds)))}).",
                code="game_players",
            )
        game = FinalsGame(
            finals_id=finals.id,
            group_id=group.id,
            number=max((g.number for g in games), default=0) + 1,
            tiebreaker=tiebreaker,
            tournament_machine_id=machine,
            places={str(k): v for k, v in places.items()},
            scores={str(k): v for k, v in scores.items()} if scores else None,
            recorded_by_id=recorded_by_id,
        )
        session.add(game)
        # The machine was for this game; it is free for the next group that needs one.
        group.tournament_machine_id = None
        before = None
        action = "finals_game_recorded"
    session.flush()
    # A correction may reopen a tie or settle one; the stored order follows the games.
    after = verdict(session, pss, finals, group)
    group.result = list(after.order) if after.is_final else None
    audit.record(
        session,
        actor,
        action,
        event_id=finals.event_id,
        subject=game,
        finals=finals.id,
        group=group.label,
        number=game.number,
        tiebreaker=game.tiebreaker,
        places=places,
        scores=scores,
        before=before,
    )
    return game


def positions(session: Session, pss: Pss, finals: Finals) -> dict[int, int]:
    """Seed -> final position for everyone whose finals are over."""
    if not players(session, finals):
        return {}
    return format_of(pss, finals).final_positions(
        finals.format_options, finals.cut, history(session, finals)
    )


def finals_places(session: Session, pss: Pss, tournament: Tournament) -> list[FinalsPlace]:
    """The places the tournament's finals decided (its newest finals), for the results export."""
    finals = session.scalars(
        select(Finals).where(Finals.tournament_id == tournament.id).order_by(Finals.id.desc())
    ).first()
    if finals is None:
        return []
    by_seed = {p.seed: p.event_player_id for p in players(session, finals)}
    return [
        FinalsPlace(place, by_seed[seed])
        for seed, place in sorted(positions(session, pss, finals).items())
    ]


def bracket(session: Session, pss: Pss, finals: Finals) -> dict[str, Any]:
    """Everything the bracket page shows, as plain data."""
    people = {p.seed: p for p in players(session, finals)}
    names: dict[int, dict[str, Any]] = {}
    for seed, fp in people.items():
        ep = session.get(EventPlayer, fp.event_player_id)
        assert ep is not None
        names[seed] = {"seed": seed, "player_id": ep.id, "number": ep.number, "name": ep.name}
    rounds: dict[int, list[dict[str, Any]]] = {}
    for group in groups(session, finals):
        v = verdict(session, pss, finals, group)
        games = group_games(session, group)
        rounds.setdefault(group.round_number, []).append(
            {
                "id": group.id,
                "label": group.label,
                "advance": group.advance,
                "games_planned": group.games,
                "machine_id": group.tournament_machine_id,
                "players": [{**names[s], "points": v.points.get(s, 0)} for s in v.order],
                "games": [
                    {
                        "number": g.number,
                        "tiebreaker": g.tiebreaker,
                        "places": g.places,
                        "scores": g.scores,
                        "machine_id": g.tournament_machine_id,
                    }
                    for g in games
                ],
                "finished": group.result is not None,
                "tiebreakers_needed": [list(t) for t in v.tiebreakers_needed],
            }
        )
    pos = positions(session, pss, finals)
    pending = [] if people else [list(t) for t in seeding(session, pss, finals).pending]
    return {
        "seeds": [names[s] for s in sorted(names)],
        "cut_tiebreakers_needed": pending,
        "rounds": [{"number": n, "groups": rounds[n]} for n in sorted(rounds)],
        "positions": [
            {"position": p, **names[s]} for s, p in sorted(pos.items(), key=lambda i: i[1])
        ],
        "complete": bool(people) and len(pos) == len(people),
    }
