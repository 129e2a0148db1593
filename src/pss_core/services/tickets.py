"""Tickets and tokens: desk and comp sales, the building blocks online sales reuse, and a player's
ticket summary.

A ticket is what is sold; a token is one game. The tournament's format decides how many tokens a
ticket makes (``Format.tokens_per_ticket``) and, in team tournaments, who owns them
(``Format.token_owner``). A sale is checked and written under the owner's and the scope's row
locks (see :mod:`~pss_core.services.locking`), so caps and quotas hold however many desks sell at
once.

Building blocks for other sale channels (online checkout): :func:`prepare_sale` →
:func:`lock_for_sale` → :func:`check_sale` → create the :class:`~pss_core.models.Purchase` →
:func:`issue_tokens` (``paid_at=None`` for a hold) → later :func:`pay_tokens`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from pss_core import audit, mail
from pss_core.audit import Actor
from pss_core.contract import TicketSale, TokenScope
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    Channel,
    EventPlayer,
    Metatournament,
    MetatournamentMember,
    Purchase,
    PurchaseStatus,
    Team,
    TeamMember,
    Token,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import locking, quotas, restrictions
from pss_core.services.pricing import Price, price_for, price_tickets

Scope = Tournament | Metatournament


# --- who owns tokens, where they are good ---------------------------------------------------


def team_ids_of(session: Session, player_id: int) -> list[int]:
    """The teams ``player_id`` is a member of."""
    return list(
        session.scalars(
            select(TeamMember.team_id)
            .where(TeamMember.event_player_id == player_id)
            .order_by(TeamMember.team_id)
        ).all()
    )


def token_owner(
    session: Session, pss: Pss, tournament: Tournament, player: EventPlayer
) -> Team | None:
    """The team whose tokens ``player`` uses in ``tournament``, or ``None`` (their own tokens)."""
    fmt, _ = pss.format_for(tournament)
    team_id = fmt.token_owner(session, tournament, player)
    if team_id is None:
        return None
    team = session.get(Team, team_id)
    if team is None:  # pragma: no cover - a plugin returned a team that does not exist
        raise Refused("The player's team could not be found.", code="unknown_team")
    return team


def token_scopes(session: Session, pss: Pss, tournament: Tournament) -> list[TokenScope]:
    """Where tokens good in ``tournament`` come from, in the order they are used: the tournament's
    own (priority 0), then whatever plugins add (a metatournament)."""
    scopes = [TokenScope(priority=0, tournament_id=tournament.id)]
    for extra in pss.hook.pss_token_scopes(session=session, tournament=tournament):
        scopes.extend(extra or ())
    return sorted(scopes, key=lambda s: s.priority)


def _owner_filter(model: Any, player_id: int | None, team_id: int | None) -> Any:
    if team_id is not None:
        return model.team_id == team_id
    return model.player_id == player_id


def _in_play_ids() -> Any:
    return select(TournamentMachine.token_id).where(TournamentMachine.token_id.is_not(None))


def _unused(model: type[Token] = Token) -> Any:
    return and_(model.used_at.is_(None), model.voided_at.is_(None), model.refunded_at.is_(None))


def usable_tokens(
    session: Session,
    pss: Pss,
    tournament: Tournament,
    *,
    player_id: int | None = None,
    team_id: int | None = None,
    limit: int | None = None,
) -> list[Token]:
    """Paid, unused tokens of one owner that are good in ``tournament`` and not in a game now,
    in the order they would be used (tournament's own first, oldest first)."""
    found: list[Token] = []
    for scope in token_scopes(session, pss, tournament):
        where = (
            Token.tournament_id == scope.tournament_id
            if scope.tournament_id is not None
            else Token.metatournament_id == scope.metatournament_id
        )
        stmt = (
            select(Token)
            .where(
                where,
                _owner_filter(Token, player_id, team_id),
                Token.paid_at.is_not(None),
                _unused(),
                Token.id.not_in(_in_play_ids()),
            )
            .order_by(Token.id)
        )
        if limit is not None:
            stmt = stmt.limit(limit - len(found))
        found.extend(session.scalars(stmt).all())
        if limit is not None and len(found) >= limit:
            break
    return found


def count_usable(
    session: Session,
    pss: Pss,
    tournament: Tournament,
    *,
    player_id: int | None = None,
    team_id: int | None = None,
) -> int:
    return len(usable_tokens(session, pss, tournament, player_id=player_id, team_id=team_id))


# --- a player's ticket summary --------------------------------------------------------------


@attrs.frozen
class TicketSummary:
    """A player's games (tokens) in one tournament or metatournament. In team tournaments the
    tokens are the team's (``team_id`` set) and shared by its members.

    ``remaining = paid - used - voided - refunded``: paid games not yet played, including one in
    play right now (a game only uses its token when the score or void is recorded).
    """

    scope: str  # "tournament" or "metatournament"
    scope_id: int
    slug: str
    name: str
    team_id: int | None
    #: Tickets of the owner's completed purchases (desk, comp, online) for this scope.
    tickets: int
    paid: int
    used: int
    voided: int
    refunded: int
    #: Paid and unused, on a machine right now.
    in_play: int
    remaining: int
    #: Tokens reserved by an online purchase that is not paid yet (and whose hold has not expired).
    held_unpaid: int
    comped: int

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


@functools.cache
def _summary_statements() -> tuple[Any, Any]:
    # Built once with bound parameters: the summary is read for every audit row.
    pid: Any = bindparam("player_id")
    now: Any = bindparam("now")
    teams = select(TeamMember.team_id).where(TeamMember.event_player_id == pid)
    in_play = Token.id.in_(_in_play_ids())
    live_hold = and_(
        Token.paid_at.is_(None),
        Token.refunded_at.is_(None),
        Purchase.status == PurchaseStatus.PENDING,
        Purchase.hold_expires_at > now,
    )
    games = (
        select(
            Token.tournament_id,
            Token.metatournament_id,
            Token.team_id,
            _count(Token.paid_at.is_not(None)),
            _count(Token.used_at.is_not(None)),
            _count(Token.voided_at.is_not(None)),
            _count(Token.refunded_at.is_not(None)),
            _count(and_(Token.paid_at.is_not(None), _unused(), in_play)),
            _count(live_hold),
            _count(and_(Token.comped.is_(True), Token.paid_at.is_not(None))),
        )
        .outerjoin(Purchase, Token.purchase_id == Purchase.id)
        .where(or_(Token.player_id == pid, Token.team_id.in_(teams)))
        .group_by(Token.tournament_id, Token.metatournament_id, Token.team_id)
    )
    bought = (
        select(
            Purchase.tournament_id,
            Purchase.metatournament_id,
            Purchase.team_id,
            func.sum(Purchase.tickets),
        )
        .where(
            or_(
                and_(Purchase.player_id == pid, Purchase.team_id.is_(None)),
                Purchase.team_id.in_(teams),
            ),
            Purchase.status == PurchaseStatus.COMPLETED,
        )
        .group_by(Purchase.tournament_id, Purchase.metatournament_id, Purchase.team_id)
    )
    return games, bought


def ticket_summary(
    session: Session, player: EventPlayer, now: datetime | None = None
) -> list[TicketSummary]:
    """Paid, used, voided, refunded, in play, remaining and held games of ``player`` (and their
    teams) per tournament and metatournament, tournaments first, by name."""
    params = {"player_id": player.id, "now": now or utcnow()}
    games, bought = _summary_statements()
    rows = session.execute(games, params).all()
    tickets_by_scope = {
        (t, m, team): int(n) for t, m, team, n in session.execute(bought, params).all()
    }
    out: list[TicketSummary] = []
    for t_id, m_id, team_id, paid, used, voided, refunded, playing, held, comped in rows:
        scope: Scope | None = (
            session.get(Tournament, t_id) if t_id is not None else session.get(Metatournament, m_id)
        )
        assert scope is not None
        out.append(
            TicketSummary(
                scope="tournament" if t_id is not None else "metatournament",
                scope_id=scope.id,
                slug=scope.slug,
                name=scope.name,
                team_id=team_id,
                tickets=tickets_by_scope.get((t_id, m_id, team_id), 0),
                paid=int(paid),
                used=int(used),
                voided=int(voided),
                refunded=int(refunded),
                in_play=int(playing),
                remaining=int(paid) - int(used) - int(voided) - int(refunded),
                held_unpaid=int(held),
                comped=int(comped),
            )
        )
    out.sort(key=lambda s: (s.scope != "tournament", s.name, s.team_id or 0))
    return out


def tickets_left(
    session: Session, player_id: int | None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The compact remaining-games summary written into audit details."""
    if player_id is None:
        return []
    player = session.get(EventPlayer, player_id)
    if player is None:
        return []
    session.flush()
    return [
        {
            "scope": s.scope,
            "slug": s.slug,
            "team_id": s.team_id,
            "paid": s.paid,
            "used": s.used,
            "voided": s.voided,
            "remaining": s.remaining,
            "held_unpaid": s.held_unpaid,
        }
        for s in ticket_summary(session, player, now)
    ]


def audit_for_player(
    session: Session,
    actor: Actor,
    action: str,
    *,
    event_id: int,
    player_id: int | None,
    subject: Any = None,
    now: datetime | None = None,
    **details: Any,
) -> None:
    """Write one audit row about ``player_id`` with their remaining games after the change."""
    session.flush()
    audit.record(
        session,
        actor,
        action,
        event_id=event_id,
        subject=subject,
        player_id=player_id,
        tickets_left=tickets_left(session, player_id, now),
        at=now,
        **details,
    )


# --- selling --------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class SaleQuote:
    """A sale worked out but not yet checked or written: who, where, how many, at what price."""

    scope: Scope
    player: EventPlayer
    #: The team that will own the tokens (team tournaments), else ``None``.
    team: Team | None
    tickets: int
    tokens_per_ticket: int
    price: Price
    channel: Channel

    @property
    def tokens(self) -> int:
        return self.tickets * self.tokens_per_ticket

    @property
    def tournament(self) -> Tournament | None:
        return self.scope if isinstance(self.scope, Tournament) else None

    @property
    def metatournament(self) -> Metatournament | None:
        return self.scope if isinstance(self.scope, Metatournament) else None

    @property
    def amount_cents(self) -> int:
        return 0 if self.channel == Channel.COMP else self.price.total_cents


def _format_tournament(session: Session, scope: Scope) -> Tournament:
    """The tournament whose format decides what a ticket of ``scope`` is."""
    if isinstance(scope, Tournament):
        return scope
    first = session.scalars(
        select(Tournament)
        .join(MetatournamentMember, MetatournamentMember.tournament_id == Tournament.id)
        .where(MetatournamentMember.metatournament_id == scope.id)
        .order_by(Tournament.id)
    ).first()
    if first is None:
        raise Refused(
            f"{scope.name} has no tournaments yet, so its tickets cannot be sold.",
            code="empty_metatournament",
        )
    return first


def tokens_per_ticket(session: Session, pss: Pss, scope: Scope) -> int:
    t = _format_tournament(session, scope)
    fmt, options = pss.format_for(t)
    n = fmt.tokens_per_ticket(t, options)
    if n < 1:
        raise Refused(
            f"The format of {t.name} ({t.format}) makes tickets of no games.", code="unknown_format"
        )
    return int(n)


def prepare_sale(
    session: Session,
    pss: Pss,
    *,
    player: EventPlayer,
    count: int,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    channel: Channel = Channel.DESK,
) -> SaleQuote:
    """Work out a sale (scope, token owner, tokens, price) without locking or writing anything.
    Refuses a bad count (below the minimum, off the increment) with
    :class:`~pss_core.errors.InvalidInput`."""
    if (tournament is None) == (metatournament is None):
        raise InvalidInput(
            "Choose a tournament or a metatournament to sell tickets for.", code="missing_scope"
        )
    scope: Scope = tournament if tournament is not None else metatournament  # type: ignore[assignment]
    if scope.event_id != player.event_id:
        raise InvalidInput(f"{player.name} is not registered in this event.", code="wrong_event")
    channel = Channel(channel)
    # A comp is a gift: no minimum or increment, but still a sane count.
    price = price_tickets(count, 0) if channel == Channel.COMP else price_for(scope, count)
    format_t = _format_tournament(session, scope)
    team = token_owner(session, pss, format_t, player)
    return SaleQuote(
        scope=scope,
        player=player,
        team=team,
        tickets=count,
        tokens_per_ticket=tokens_per_ticket(session, pss, scope),
        price=price,
        channel=channel,
    )


def lock_for_sale(session: Session, quote: SaleQuote) -> None:
    """Lock the token owner (team, buyer) and the scope, in the documented order."""
    locking.lock_in_order(
        session,
        teams=[quote.team.id if quote.team else None],
        players=[quote.player.id],
        tournaments=[quote.tournament.id if quote.tournament else None],
        metatournaments=[quote.metatournament.id if quote.metatournament else None],
    )


def held_tokens(
    session: Session, scope: Scope, *, player_id: int | None, team_id: int | None, now: datetime
) -> int:
    """Unused tokens an owner holds in ``scope``: paid ones, and unpaid ones on a live hold."""
    where_scope = (
        Token.tournament_id == scope.id
        if isinstance(scope, Tournament)
        else Token.metatournament_id == scope.id
    )
    return int(
        session.scalar(
            select(func.count(Token.id))
            .outerjoin(Purchase, Token.purchase_id == Purchase.id)
            .where(
                where_scope,
                _owner_filter(Token, player_id, team_id),
                _unused(),
                or_(
                    Token.paid_at.is_not(None),
                    and_(Purchase.status == PurchaseStatus.PENDING, Purchase.hold_expires_at > now),
                ),
            )
        )
        or 0
    )


def check_sale(
    session: Session, pss: Pss, quote: SaleQuote, *, now: datetime | None = None
) -> None:
    """Every rule a sale must pass, in the order a desk worker would want to hear them. Call under
    :func:`lock_for_sale`. Comps skip the sales switch (the price rules were skipped already)."""
    now = now or utcnow()
    scope = quote.scope
    if scope.status in (TournamentStatus.FINALIZED, TournamentStatus.CANCELLED):
        raise Refused(
            f"{scope.name} is {scope.status.value}; no more tickets can be sold.",
            code="tournament_closed",
        )
    if scope.cancelled_at is not None:
        raise Refused(
            f"{scope.name} was cancelled; no tickets can be sold until it is active again.",
            code="tournament_closed",
        )
    if quote.channel != Channel.COMP and not scope.allow_ticket_purchases:
        raise Refused(f"Ticket sales for {scope.name} are closed.", code="sales_closed")
    if scope.max_unused_tickets is not None:
        held = held_tokens(
            session,
            scope,
            player_id=quote.player.id,
            team_id=quote.team.id if quote.team else None,
            now=now,
        )
        tpt = quote.tokens_per_ticket
        held_tickets = -(-held // tpt)
        room = scope.max_unused_tickets - held_tickets
        if quote.tickets > room:
            who = f"Team {quote.team.name}" if quote.team else quote.player.name
            raise Refused(
                f"{who} already holds {held_tickets} unused ticket"
                f"{'s' if held_tickets != 1 else ''} for {scope.name}; the most allowed is "
                f"{scope.max_unused_tickets}, so at most {max(room, 0)} more can be sold.",
                code="max_unused_tickets",
                held=held_tickets,
                limit=scope.max_unused_tickets,
            )
    quotas.check_quota(session, scope, quote.tickets, now)
    sale = TicketSale(
        tournament=quote.tournament,
        metatournament_id=quote.metatournament.id if quote.metatournament else None,
        player=quote.player,
        team=quote.team,
        tickets=quote.tickets,
        tokens=quote.tokens,
        channel=quote.channel.value,
    )
    if quote.tournament is not None:
        fmt, options = pss.format_for(quote.tournament)
        fmt.check_ticket_sale(session, sale, options)
    pss.hook.pss_check_ticket_sale(session=session, sale=sale)


def new_purchase(
    quote: SaleQuote,
    *,
    status: PurchaseStatus = PurchaseStatus.COMPLETED,
    sold_by_id: int | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Purchase:
    """An unsaved :class:`Purchase` for ``quote`` with the price breakdown kept on it."""
    now = now or utcnow()
    breakdown: dict[str, Any] = quote.price.as_dict()
    breakdown["tokens_per_ticket"] = quote.tokens_per_ticket
    if quote.channel == Channel.COMP:
        breakdown["comp"] = True
    return Purchase(
        event_id=quote.player.event_id,
        player_id=quote.player.id,
        team_id=quote.team.id if quote.team else None,
        tournament_id=quote.tournament.id if quote.tournament else None,
        metatournament_id=quote.metatournament.id if quote.metatournament else None,
        tickets=quote.tickets,
        amount_cents=quote.amount_cents,
        breakdown=breakdown,
        channel=quote.channel,
        status=status,
        sold_by_id=sold_by_id,
        created_at=now,
        completed_at=now if status == PurchaseStatus.COMPLETED else None,
        **fields,
    )


def issue_tokens(
    session: Session, purchase: Purchase, quote: SaleQuote, *, paid_at: datetime | None
) -> list[Token]:
    """Create the purchase's tokens: paid at once (``paid_at``) or held unpaid (``None``)."""
    if purchase.id is None:
        session.add(purchase)
        session.flush()
    tokens = [
        Token(
            event_id=purchase.event_id,
            purchase_id=purchase.id,
            player_id=None if quote.team else quote.player.id,
            team_id=quote.team.id if quote.team else None,
            tournament_id=purchase.tournament_id,
            metatournament_id=purchase.metatournament_id,
            comped=quote.channel == Channel.COMP,
            paid_at=paid_at,
        )
        for _ in range(quote.tokens)
    ]
    session.add_all(tokens)
    session.flush()
    return tokens


def pay_tokens(session: Session, purchase: Purchase, now: datetime | None = None) -> int:
    """Mark the purchase's unpaid, unrefunded tokens paid; returns how many were."""
    now = now or utcnow()
    n = 0
    for token in session.scalars(
        select(Token).where(
            Token.purchase_id == purchase.id, Token.paid_at.is_(None), Token.refunded_at.is_(None)
        )
    ):
        token.paid_at = now
        n += 1
    session.flush()
    return n


def sell_tickets(
    session: Session,
    pss: Pss,
    *,
    player: EventPlayer,
    count: int,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    channel: Channel = Channel.DESK,
    actor: Actor,
    sold_by_id: int | None = None,
    now: datetime | None = None,
    code: str | None = None,
) -> Purchase:
    """Sell (or, with ``Channel.COMP``, give) ``count`` tickets to ``player`` at the desk; the money
    is taken outside pss, so the tokens are paid at once. A sale is priced by the same offers as
    online (early bird, a coupon ``code`` typed at the desk, group prices); a comp is a gift and
    skips them. Refusals: bad count (InvalidInput), sales closed, too many unused tickets, sold
    out, a format's cap, or an offer's refusal (Refused)."""
    if actor.player_id is not None:
        raise PermissionDenied("Only desk staff can sell tickets at the desk.", code="staff_only")
    channel = Channel(channel)
    if channel not in (Channel.DESK, Channel.COMP):
        raise InvalidInput(
            "The desk sells tickets or gives comps; online sales go through the checkout.",
            code="wrong_channel",
        )
    now = now or utcnow()
    quote = prepare_sale(
        session,
        pss,
        player=player,
        count=count,
        tournament=tournament,
        metatournament=metatournament,
        channel=channel,
    )
    lock_for_sale(session, quote)
    offers = restrictions.restrictions_for(session, quote.scope) if channel == Channel.DESK else []
    restrictions.lock_counted(session, offers)
    check_sale(session, pss, quote, now=now)
    priced = (
        desk_price(session, pss, quote, code=code, now=now, rows=offers)
        if channel == Channel.DESK
        else None
    )
    purchase = new_purchase(quote, sold_by_id=sold_by_id, now=now)
    if priced is not None:
        purchase.amount_cents = priced.amount_cents
        purchase.breakdown = {**purchase.breakdown, "pricing": priced.breakdown()}
    session.add(purchase)
    if priced is not None:
        session.flush()
        restrictions.record_uses(session, priced, purchase)
    issue_tokens(session, purchase, quote, paid_at=now)
    audit_for_player(
        session,
        actor,
        "tickets.comp" if channel == Channel.COMP else "tickets.sell",
        event_id=player.event_id,
        player_id=player.id,
        subject=purchase,
        now=now,
        scope=_scope_label(quote.scope),
        team_id=quote.team.id if quote.team else None,
        tickets=quote.tickets,
        tokens=quote.tokens,
        amount_cents=purchase.amount_cents,
        lines=[line.as_dict() for line in quote.price.lines],
        channel=channel.value,
        price_rule=priced.breakdown()["price_rule"] if priced is not None else None,
    )
    mail.purchase_completed(session, purchase)
    return purchase


def desk_price(
    session: Session,
    pss: Pss,
    quote: SaleQuote,
    *,
    code: str | None,
    now: datetime,
    rows: Any = None,
) -> restrictions.Quote:
    """The offers' price of a desk sale (refused when an offer refuses it). The caller holds
    the offers' locks (:func:`restrictions.lock_counted`) when it will record their uses."""
    request = restrictions.PriceRequest(
        event_id=quote.player.event_id,
        scope=quote.scope,
        player_id=quote.player.id,
        tickets=quote.tickets,
        base_cents=quote.price.total_cents,
        now=now,
        code=restrictions.normalise_code(code),
        channel=Channel.DESK.value,
    )
    return restrictions.evaluate(session, pss, request, rows=rows).require_available()


def _scope_label(scope: Scope) -> str:
    kind = "tournament" if isinstance(scope, Tournament) else "metatournament"
    return f"{kind}:{scope.slug}"
