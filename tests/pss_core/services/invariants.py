"""The play-flow invariants, checked straight from the tables: a list of what is wrong (empty when
all is well). Used by the race tests and the property tests."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.models import (
    Purchase,
    PurchaseStatus,
    QueueSlot,
    Score,
    TeamMember,
    Token,
    TournamentMachine,
)


def problems(session: Session, event_id: int) -> list[str]:
    found: list[str] = []
    tokens = session.scalars(select(Token).where(Token.event_id == event_id)).all()
    scores = session.scalars(select(Score).where(Score.event_id == event_id)).all()
    machines = session.scalars(select(TournamentMachine).where(
        TournamentMachine.event_id == event_id)).all()
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
            found.append(f"purchase {purchase.id}: {len(issued)} tokens for "
                         f"{purchase.tickets} tickets x {tpt}")
        if purchase.status == PurchaseStatus.COMPLETED and any(
                t.paid_at is None and t.refunded_at is None for t in issued):
            found.append(f"purchase {purchase.id} completed with unpaid tokens")

    paid = [t for t in tokens if t.paid_at is not None]
    used = [t for t in paid if t.used_at is not None]
    voided = [t for t in paid if t.voided_at is not None]
    refunded = [t for t in paid if t.refunded_at is not None]
    unused = [t for t in paid if t.used_at is None and t.voided_at is None
              and t.refunded_at is None]
    if len(paid) != len(used) + len(voided) + len(refunded) + len(unused):
        found.append("paid != used + voided + refunded + unused")

    for t in tokens:
        n = scores_by_token.get(t.id, 0)
        if t.used_at is not None and (n != 1 or t.entry_id is None):
            found.append(f"used token {t.id}: {n} scores, entry {t.entry_id}")
        if t.used_at is None and n:
            found.append(f"token {t.id} has {n} scores but is not used")
        if (t.used_at is None and t.voided_at is None and t.entry_id is not None
                and t.id not in in_play):
            found.append(f"unused token {t.id} is tied to entry {t.entry_id} but not in play")

    people_on: Counter[int] = Counter()
    for m in machines:
        if m.token_id is None:
            continue
        token = next((t for t in tokens if t.id == m.token_id), None)
        if token is None or token.paid_at is None or token.used_at or token.voided_at \
                or token.refunded_at:
            found.append(f"machine {m.id} plays a token that is not paid and unused")
        elif (token.player_id, token.team_id) != (m.player_id, m.team_id):
            found.append(f"machine {m.id} plays someone else's token")
        for pid in ([m.player_id] if m.player_id is not None else members.get(m.team_id or 0, [])):
            people_on[pid] += 1
    for pid, n in people_on.items():
        if n > 1:
            found.append(f"player {pid} is on {n} machines")

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
