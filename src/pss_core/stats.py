"""An event's numbers for its tournament director and owner: sales (per tournament, channel, day
and hour, desk worker), the cash-up, refunds, coupons used, games per machine, game times, queue
waits and the busiest hours.

Each figure is one grouped query over the event's rows (every table here is indexed by
``event_id``); nothing is loaded row by row. Game times and queue waits come from the audit log,
which records when each game started and ended and when each player joined a queue. Hours are
UTC, like every time pss stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from pss_core.models import (
    AuditLog,
    Channel,
    EventUser,
    Machine,
    Metatournament,
    PriceRestriction,
    Purchase,
    PurchaseStatus,
    Refund,
    RestrictionUse,
    Score,
    Tournament,
    TournamentMachine,
    User,
)

#: Purchases that took money (or a comp): a refunded one still counts as sold, its refund apart.
SOLD = (PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED)
STARTS = ("game.start",)
ENDS = ("game.score", "game.void", "game.misconduct", "game.remove")
QUEUE_JOINS = ("queue.join", "queue.insert")
QUEUE_ENDS = ("queue.leave", "queue.clear")


@attrs.frozen
class Table:
    """One figure: its columns and rows; ``chart`` names the column drawn as bars (by the first
    column's labels), or is ``None`` for a table without a chart."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    chart: str | None = None
    #: Columns that hold money in cents.
    money: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "chart": self.chart,
            "money": list(self.money),
        }

    def column(self, name: str) -> list[Any]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@attrs.frozen
class EventStats:
    tables: tuple[Table, ...]

    def __getitem__(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {"tables": [t.as_dict() for t in self.tables]}


# --- time buckets -----------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def bucket(session: Session, column: Any, unit: str) -> Any:
    """``column`` as text: ``YYYY-MM-DD`` (``day``), ``YYYY-MM-DD HH:00`` (``hour``) or ``HH:00``
    (``hour_of_day``), in UTC."""
    if _dialect(session) == "postgresql":
        pattern = {"day": "YYYY-MM-DD", "hour": "YYYY-MM-DD HH24:00", "hour_of_day": "HH24:00"}[
            unit
        ]
        return func.to_char(func.timezone("UTC", column), pattern)
    pattern = {"day": "%Y-%m-%d", "hour": "%Y-%m-%d %H:00", "hour_of_day": "%H:00"}[unit]
    return func.strftime(pattern, column)


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    if _dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


# --- sales ------------------------------------------------------------------------------------


def _sold(event_id: int) -> Any:
    return and_(Purchase.event_id == event_id, Purchase.status.in_(SOLD))


def sales_by_tournament(session: Session, event_id: int) -> Table:
    scope = func.coalesce(Tournament.name, Metatournament.name)
    rows = session.execute(
        select(
            scope,
            func.count(Purchase.id),
            func.sum(Purchase.tickets),
            func.sum(Purchase.amount_cents),
            func.sum(Purchase.refunded_cents),
        )
        .outerjoin(Tournament, Tournament.id == Purchase.tournament_id)
        .outerjoin(Metatournament, Metatournament.id == Purchase.metatournament_id)
        .where(_sold(event_id))
        .group_by(scope)
        .order_by(scope)
    ).all()
    return Table(
        "sales_by_tournament",
        "Sales per tournament",
        ("tournament", "purchases", "tickets", "sold_cents", "refunded_cents"),
        tuple(tuple(r) for r in rows),
        chart="sold_cents",
        money=("sold_cents", "refunded_cents"),
    )


def sales_by_channel(session: Session, event_id: int) -> Table:
    rows = session.execute(
        select(
            Purchase.channel,
            func.count(Purchase.id),
            func.sum(Purchase.tickets),
            func.sum(Purchase.amount_cents),
            func.sum(Purchase.refunded_cents),
        )
        .where(_sold(event_id))
        .group_by(Purchase.channel)
        .order_by(Purchase.channel)
    ).all()
    return Table(
        "sales_by_channel",
        "Sales per channel",
        ("channel", "purchases", "tickets", "sold_cents", "refunded_cents"),
        tuple((Channel(c).value, *rest) for c, *rest in rows),
        chart="tickets",
        money=("sold_cents", "refunded_cents"),
    )


def sales_over_time(session: Session, event_id: int, unit: str) -> Table:
    when = bucket(session, Purchase.created_at, unit)
    rows = session.execute(
        select(
            when,
            func.count(Purchase.id),
            func.sum(Purchase.tickets),
            func.sum(Purchase.amount_cents),
        )
        .where(_sold(event_id))
        .group_by(when)
        .order_by(when)
    ).all()
    title = {"day": "Sales per day", "hour": "Sales per hour"}[unit]
    return Table(
        f"sales_per_{unit}",
        title,
        (unit, "purchases", "tickets", "sold_cents"),
        tuple(tuple(r) for r in rows),
        chart="sold_cents",
        money=("sold_cents",),
    )


def _worker_names(session: Session, event_id: int) -> dict[int | None, str]:
    names: dict[int | None, str] = {None: "(not recorded)"}
    for eu_id, username, full in session.execute(
        select(EventUser.id, User.username, User.full_name)
        .join(User, User.id == EventUser.user_id)
        .where(EventUser.event_id == event_id)
    ):
        names[eu_id] = f"{full} ({username})" if full else username
    return names


def cash_up(session: Session, event_id: int) -> Table:
    """What cash each desk worker should hand in: their desk sales less the cash refunds they
    gave back. Comps take no money and online sales none at the desk, so neither counts."""
    sold = dict(
        session.execute(
            select(Purchase.sold_by_id, func.sum(Purchase.amount_cents))
            .where(_sold(event_id), Purchase.channel == Channel.DESK)
            .group_by(Purchase.sold_by_id)
        ).all()
    )
    counts = dict(
        session.execute(
            select(Purchase.sold_by_id, func.count(Purchase.id))
            .where(_sold(event_id), Purchase.channel == Channel.DESK)
            .group_by(Purchase.sold_by_id)
        ).all()
    )
    refunded = dict(
        session.execute(
            select(Refund.refunded_by_id, func.sum(Refund.amount_cents))
            .join(Purchase, Purchase.id == Refund.purchase_id)
            .where(Purchase.event_id == event_id, Refund.channel == Channel.DESK)
            .group_by(Refund.refunded_by_id)
        ).all()
    )
    names = _worker_names(session, event_id)
    workers = sorted(set(sold) | set(refunded), key=lambda w: (w is None, names.get(w, "")))
    rows = []
    for w in workers:
        s, r = int(sold.get(w) or 0), int(refunded.get(w) or 0)
        rows.append((names.get(w, f"user {w}"), int(counts.get(w) or 0), s, r, s - r))
    return Table(
        "cash_up",
        "Cash-up per desk worker",
        ("worker", "sales", "sold_cents", "refunded_cents", "cash_due_cents"),
        tuple(rows),
        chart="cash_due_cents",
        money=("sold_cents", "refunded_cents", "cash_due_cents"),
    )


def refunds(session: Session, event_id: int) -> Table:
    rows = session.execute(
        select(
            Refund.channel,
            func.count(Refund.id),
            func.sum(Refund.tokens),
            func.sum(Refund.amount_cents),
        )
        .join(Purchase, Purchase.id == Refund.purchase_id)
        .where(Purchase.event_id == event_id)
        .group_by(Refund.channel)
        .order_by(Refund.channel)
    ).all()
    return Table(
        "refunds",
        "Refunds per channel",
        ("channel", "refunds", "games", "refunded_cents"),
        tuple((Channel(c).value, *rest) for c, *rest in rows),
        chart="refunded_cents",
        money=("refunded_cents",),
    )


def coupons(session: Session, event_id: int) -> Table:
    rows = session.execute(
        select(
            PriceRestriction.name,
            PriceRestriction.kind,
            func.count(RestrictionUse.id),
            PriceRestriction.max_uses,
        )
        .join(RestrictionUse, RestrictionUse.restriction_id == PriceRestriction.id)
        .where(PriceRestriction.event_id == event_id)
        .group_by(
            PriceRestriction.id,
            PriceRestriction.name,
            PriceRestriction.kind,
            PriceRestriction.max_uses,
        )
        .order_by(PriceRestriction.name)
    ).all()
    return Table(
        "coupons",
        "Offers and coupons used",
        ("offer", "kind", "uses", "max_uses"),
        tuple(tuple(r) for r in rows),
        chart="uses",
    )


# --- play -------------------------------------------------------------------------------------


def games_per_machine(session: Session, event_id: int) -> Table:
    rows = session.execute(
        select(Tournament.name, Machine.name, func.count(Score.id))
        .join(TournamentMachine, TournamentMachine.id == Score.tournament_machine_id)
        .join(Machine, Machine.id == TournamentMachine.machine_id)
        .join(Tournament, Tournament.id == TournamentMachine.tournament_id)
        .where(Score.event_id == event_id)
        .group_by(Tournament.name, Machine.name)
        .order_by(func.count(Score.id).desc(), Machine.name)
    ).all()
    return Table(
        "games_per_machine",
        "Games played per machine",
        ("machine", "tournament", "games"),
        tuple((m, t, n) for t, m, n in rows),
        chart="games",
    )


def _paired(
    session: Session,
    event_id: int,
    actions: Sequence[str],
    partition: Any,
    first: Sequence[str],
    then: Sequence[str],
) -> Any:
    """Pairs of audit rows of one partition (a machine, a player) where a ``first`` row is
    directly followed by a ``then`` row: the subquery's ``seconds`` between them and the
    later row's machine."""
    log = (
        select(
            AuditLog.id,
            AuditLog.action,
            AuditLog.created_at,
            AuditLog.subject_id,
            func.lag(AuditLog.action)
            .over(partition_by=partition, order_by=AuditLog.id)
            .label("prev_action"),
            func.lag(AuditLog.created_at)
            .over(partition_by=partition, order_by=AuditLog.id)
            .label("prev_at"),
        ).where(AuditLog.event_id == event_id, AuditLog.action.in_(actions))
    ).subquery()
    return (
        select(
            log.c.subject_id.label("machine_id"),
            seconds_between(session, log.c.created_at, log.c.prev_at).label("seconds"),
        ).where(log.c.action.in_(then), log.c.prev_action.in_(first))
    ).subquery()


def game_times(session: Session, event_id: int) -> Table:
    """Average minutes from a game's start to its score, per machine (voided games left out)."""
    pairs = _paired(
        session,
        event_id,
        STARTS + ENDS,
        (AuditLog.subject_type, AuditLog.subject_id),
        STARTS,
        ("game.score",),
    )
    rows = session.execute(
        select(Machine.name, Tournament.name, func.count(), func.avg(pairs.c.seconds))
        .join(TournamentMachine, TournamentMachine.id == pairs.c.machine_id)
        .join(Machine, Machine.id == TournamentMachine.machine_id)
        .join(Tournament, Tournament.id == TournamentMachine.tournament_id)
        .group_by(Machine.name, Tournament.name)
        .order_by(Machine.name)
    ).all()
    return Table(
        "game_times",
        "Average game time (start to score)",
        ("machine", "tournament", "games", "average_minutes"),
        tuple((m, t, n, round(float(avg or 0) / 60, 1)) for m, t, n, avg in rows),
        chart="average_minutes",
    )


def queue_waits(session: Session, event_id: int) -> Table:
    """How long players waited in each machine's queue before their game began."""
    pairs = _paired(
        session,
        event_id,
        QUEUE_JOINS + QUEUE_ENDS + STARTS,
        AuditLog.player_id,
        QUEUE_JOINS,
        STARTS,
    )
    rows = session.execute(
        select(
            Machine.name,
            Tournament.name,
            func.count(),
            func.avg(pairs.c.seconds),
            func.max(pairs.c.seconds),
        )
        .join(TournamentMachine, TournamentMachine.id == pairs.c.machine_id)
        .join(Machine, Machine.id == TournamentMachine.machine_id)
        .join(Tournament, Tournament.id == TournamentMachine.tournament_id)
        .group_by(Machine.name, Tournament.name)
        .order_by(Machine.name)
    ).all()
    return Table(
        "queue_waits",
        "Queue waits",
        ("machine", "tournament", "waits", "average_minutes", "longest_minutes"),
        tuple(
            (m, t, n, round(float(avg or 0) / 60, 1), round(float(mx or 0) / 60, 1))
            for m, t, n, avg, mx in rows
        ),
        chart="average_minutes",
    )


def busiest_hours(session: Session, event_id: int) -> Table:
    """Games finished per hour of the day (all days together), and sales in that hour."""
    game_hour = bucket(session, Score.recorded_at, "hour_of_day")
    games: dict[str, int] = dict(
        session.execute(
            select(game_hour, func.count(Score.id))
            .where(Score.event_id == event_id)
            .group_by(game_hour)
        ).all()
    )
    sale_hour = bucket(session, Purchase.created_at, "hour_of_day")
    sales: dict[str, int] = dict(
        session.execute(
            select(sale_hour, func.count(Purchase.id)).where(_sold(event_id)).group_by(sale_hour)
        ).all()
    )
    hours = sorted(set(games) | set(sales))
    return Table(
        "busiest_hours",
        "Busiest hours (UTC)",
        ("hour", "games", "purchases"),
        tuple((h, int(games.get(h, 0)), int(sales.get(h, 0))) for h in hours),
        chart="games",
    )


def event_stats(session: Session, event_id: int) -> EventStats:
    return EventStats(
        (
            sales_by_tournament(session, event_id),
            sales_by_channel(session, event_id),
            sales_over_time(session, event_id, "day"),
            sales_over_time(session, event_id, "hour"),
            cash_up(session, event_id),
            refunds(session, event_id),
            coupons(session, event_id),
            games_per_machine(session, event_id),
            game_times(session, event_id),
            queue_waits(session, event_id),
            busiest_hours(session, event_id),
        )
    )
