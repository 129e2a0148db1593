"""The play-flow invariants, checked straight from the tables: a list of what is wrong (empty when
all is well). Used by the race tests and the property tests.

Tokens are conserved when the paid ones are partitioned by four conditions, each counted on its
own: used (``used_at``), voided (``voided_at``), refunded (``refunded_at``) and unused — what the
services would let its owner play now (:func:`pss_core.services.tickets.usable_tokens`) or the
game on a machine. A paid token in none of them is lost, one in two is counted twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.models import (
    Purchase,
    PurchaseStatus,
    QueueSlot,
    Score,
    TeamMember,
    Token,
    Tournament,
    TournamentMachine,
)
from pss_core.plugins import Pss
from pss_core.services.tickets import token_scopes, usable_tokens


def _playable(session: Session, pss: Pss, tokens: Sequence[Token]) -> set[int]:
    """Ids of the tokens the services would let their owners play now: ``usable_tokens`` asked
    once for each owner of a paid token and each tournament that token is good in."""
    paid = [t for t in tokens if t.paid_at is not None]
    wanted_metas = {t.metatournament_id for t in paid if t.metatournament_id is not None}
    # A metatournament's tokens are asked for through one tournament they are good in.
    through: dict[int, int] = {}
    if wanted_metas and paid:
        for tournament in session.scalars(
            select(Tournament).where(Tournament.event_id == paid[0].event_id)
        ):
            for scope in token_scopes(session, pss, tournament):
                if scope.metatournament_id in wanted_metas:
                    through.setdefault(scope.metatournament_id, tournament.id)
    asks: set[tuple[int, int | None, int | None]] = set()
    for t in paid:
        tid = (
            t.tournament_id
            if t.tournament_id is not None
            else through.get(t.metatournament_id or 0)
        )
        if tid is not None:
            asks.add((tid, t.player_id, t.team_id))
    found: set[int] = set()
    for tid, player_id, team_id in sorted(asks, key=str):
        tournament = session.get(Tournament, tid)
        assert tournament is not None
        found.update(
            t.id
            for t in usable_tokens(session, pss, tournament, player_id=player_id, team_id=team_id)
        )
    return found


def problems(session: Session, event_id: int, pss: Pss) -> list[str]:
    found: list[str] = []
    tokens = session.scalars(select(Token).where(Token.event_id == event_id)).all()
    scores = session.scalars(select(Score).where(Score.event_id == event_id)).all()
    machines = session.scalars(
        select(TournamentMachine).where(TournamentMachine.event_id == event_id)
    ).all()
    slots = session.scalars(select(QueueSlot).where(QueueSlot.event_id == event_id)).all()
    members: dict[int, list[int]] = {}
    for team_id, pid in session.execute(select(TeamMember.team_id, TeamMember.event_player_id)):
        members.setdefault(team_id, []).append(pid)

    scores_by_token = Counter(s.token_id for s in scores if s.token_id is not None)
    in_play = {m.token_id: m for m in machines if m.token_id is not None}

    # Tokens conserved: every token of a purchase was issued for it, none lost or doubled.
    for purchase in session.scalars(select(Purchase).where(Purchase.event_id == event_id)):
        issued = [t for t in tokens if t.purchase_id == purchase.id]
        tpt = int(purchase.breakdown.get("tokens_per_ticket", 1))
        if len(issued) != purchase.tickets * tpt:
            found.append(
                f"purchase {purchase.id}: {len(issued)} tokens for "
                f"{purchase.tickets} tickets x {tpt}"
            )
        if purchase.status == PurchaseStatus.COMPLETED and any(
            t.paid_at is None and t.refunded_at is None for t in issued
        ):
            found.append(f"purchase {purchase.id} completed with unpaid tokens")

    paid = {t.id for t in tokens if t.paid_at is not None}
    endings = {
        "used": {t.id for t in tokens if t.used_at is not None},
        "voided": {t.id for t in tokens if t.voided_at is not None},
        "refunded": {t.id for t in tokens if t.refunded_at is not None},
        "unused": _playable(session, pss, tokens)
        | {m.token_id for m in machines if m.token_id is not None},
    }
    for token_id in sorted(paid | set().union(*endings.values())):
        classes = [name for name, ids in endings.items() if token_id in ids]
        if token_id not in paid and classes:
            found.append(f"unpaid token {token_id} counts as {' and '.join(classes)}")
        elif token_id in paid and len(classes) != 1:
            found.append(
                f"paid token {token_id} counts as "
                f"{' and '.join(classes) or 'none of used, voided, refunded, unused'}"
            )
    if len(paid) != sum(len(ids & paid) for ids in endings.values()):
        found.append(
            f"{len(paid)} paid tokens != "
            + " + ".join(f"{len(ids & paid)} {name}" for name, ids in endings.items())
        )

    for t in tokens:
        n = scores_by_token.get(t.id, 0)
        if t.used_at is not None and (n != 1 or t.entry_id is None):
            found.append(f"used token {t.id}: {n} scores, entry {t.entry_id}")
        if t.used_at is None and n:
            found.append(f"token {t.id} has {n} scores but is not used")
        if (
            t.used_at is None
            and t.voided_at is None
            and t.entry_id is not None
            and t.id not in in_play
        ):
            found.append(f"unused token {t.id} is tied to entry {t.entry_id} but not in play")

    people_on: Counter[int] = Counter()
    for m in machines:
        if m.token_id is None:
            continue
        token = next((t for t in tokens if t.id == m.token_id), None)
        if (
            token is None
            or token.paid_at is None
            or token.used_at
            or token.voided_at
            or token.refunded_at
        ):
            found.append(f"machine {m.id} plays a token that is not paid and unused")
        elif (token.player_id, token.team_id) != (m.player_id, m.team_id):
            found.append(f"machine {m.id} plays someone else's token")
        for pid in [m.player_id] if m.player_id is not None else members.get(m.team_id or 0, []):
            people_on[pid] += 1
    for pid, n in people_on.items():
        if n > 1:
            found.append(f"player {pid} is on {n} machines")
    games_on: Counter[int] = Counter(m.machine_id for m in machines if m.token_id is not None)
    for machine_id, n in games_on.items():
        if n > 1:
            found.append(f"physical machine {machine_id} runs {n} games")

    by_machine: dict[int, list[int]] = {}
    for s in slots:
        by_machine.setdefault(s.tournament_machine_id, []).append(s.position)
    for machine_id, positions in by_machine.items():
        if sorted(positions) != list(range(1, len(positions) + 1)):
            found.append(f"queue of machine {machine_id} has positions {sorted(positions)}")
    occupants = Counter((s.player_id, s.team_id) for s in slots)
    for occ, n in occupants.items():
        if n > 1:
            found.append(f"{occ} is in {n} queues")
    playing = {(m.player_id, m.team_id) for m in machines if m.token_id is not None}
    for occ in occupants:
        if occ in playing:
            found.append(f"{occ} is queued while playing")
    return found
