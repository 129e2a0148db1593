"""The desk: find or register a player (number and PIN on a printable slip), sell or comp tickets
with the live price for the chosen count, and a player's ticket summary and history.

    /events/<slug>/desk                     find a player; POST registers one
    /events/<slug>/players/<n>/slip         the slip to print (with the PIN once, after registering)
    /events/<slug>/players/<n>/sell         ticket summary and the sale form; POST sells or comps
    /events/<slug>/players/<n>/price        the live price of a sale (JSON)
    /events/<slug>/players/<n>/unlock       POST: lift a PIN lockout
    /events/<slug>/players/<n>/new-pin      POST: a new PIN for a lost slip (shown on the slip once)
    /events/<slug>/players/<n>/tickets      the ticket summary (the player and staff)
    /events/<slug>/players/<n>/history      what happened to the player (the player and staff)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, or_, select

from pss_core.errors import DomainError, InvalidInput
from pss_core.models import (
    AuditLog,
    Channel,
    Event,
    EventPlayer,
    EventUser,
    Metatournament,
    Player,
    Purchase,
    Team,
    TeamMember,
    Tournament,
    TournamentStatus,
    utcnow,
)
from pss_core.services import auth, players, quotas, setup, tickets
from pss_core.services.pricing import Price
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.live import event_fingerprint
from pss_web.present import event_json, event_url, money, player_json, team_json
from pss_web.questions import (
    ANSWERS_FIELD,
    CONFIRM_NEW_FIELD,
    answers_json,
    question_json,
    submitted_answers,
)
from pss_web.resources import EventResource, PlayerResource
from pss_web.sanity import plain_number
from pss_web.security import Permission
from pss_web.viewkit import action, done, json_response, page
from pss_web.views.ifpa import lookup_json

P = Permission

add_event_nav("Desk", "desk", permission=P.SELL, order=25)

#: How many players a search shows.
SEARCH_LIMIT = 25
#: How many history lines a page shows (newest first).
HISTORY_LIMIT = 200
SLIP_COOKIE = "pss_slip"

Scope = Tournament | Metatournament


# --- shared helpers (the scorekeeper and player pages use these too) ---------------------------


def staff_member_id(request: Any, event_id: int) -> int | None:
    """The ``EventUser`` id of the logged-in staff member (who sold, who recorded)."""
    identity = request.identity
    if identity is None or identity.user_id is None:
        return None
    return request.dbsession.scalar(
        select(EventUser.id).where(
            EventUser.event_id == event_id,
            EventUser.user_id == identity.user_id,
            EventUser.removed_at.is_(None),
        )
    )


def player_links(request: Any, event: Event, ep: EventPlayer) -> dict[str, Any]:
    """A player as data, with the URLs of their private pages."""
    base = event_url(request, event, "players", ep.number, "")
    return {
        **player_json(request, ep, event),
        "sell_url": base + "sell",
        "slip_url": base + "slip",
        "tickets_url": base + "tickets",
        "history_url": base + "history",
        "play_url": base + "play",
        "purchases_url": base + "purchases",
        "ifpa_lookup": lookup_json(request, event, ep),
    }


def summary_json(rows: Sequence[tickets.TicketSummary]) -> list[dict[str, Any]]:
    return [row.as_dict() for row in rows]


# --- finding and registering ------------------------------------------------------------------


def find_players(request: Any, event: Event, q: str) -> list[EventPlayer]:
    """Players whose number is ``q`` (``#101`` works too) or whose name contains it."""
    query = (
        select(EventPlayer)
        .join(Player, Player.id == EventPlayer.player_id)
        .where(EventPlayer.event_id == event.id)
    )
    text = q.strip().lstrip("#")
    number = plain_number(text)
    if number is not None:
        query = query.where(or_(EventPlayer.number == number, Player.ifpa_id == number))
    elif text.isdigit():  # too large (or not plain digits) to be anyone's number
        return []
    else:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(Player.first_name + " " + Player.last_name).like(like),
                func.lower(Player.last_name).like(like),
                func.lower(Player.email).like(like),
            )
        )
    return list(request.dbsession.scalars(query.order_by(EventPlayer.number).limit(SEARCH_LIMIT)))


REGISTER_FIELDS = (
    Field("first_name", required=True, label="First name", max_length=100),
    Field("last_name", label="Last name", max_length=100),
    Field(
        "ifpa_id",
        "int",
        label="IFPA number",
        minimum=1,
        help="Optional. Someone already known by it keeps their name.",
    ),
    Field("email", label="Email", max_length=254, help="Optional."),
    Field("number", "int", label="Player number", minimum=1, help="Empty: the next free number."),
    Field("pin", label="PIN", max_length=8, help="4 to 8 digits. Empty: a random PIN."),
    CONFIRM_NEW_FIELD,
    ANSWERS_FIELD,
)
#: Where a refused registration leaves the registrations it may duplicate, for the form.
DUPLICATES_KEY = "pss.possible_duplicates"


@page(context=EventResource, name="desk", permission=P.SELL, template="desk/desk.html")
def desk_home(context: EventResource, request: Any) -> dict[str, Any]:
    """The desk: find a player by number or name (``?q=``), or register a new one."""
    event = context.event
    q = (request.params.get("q") or "").strip()
    found = find_players(request, event, q) if q else []
    recent = request.dbsession.scalars(
        select(EventPlayer)
        .where(EventPlayer.event_id == event.id)
        .order_by(EventPlayer.id.desc())
        .limit(8)
    ).all()
    return {
        "event": event_json(request, event),
        "q": q,
        "players": [player_links(request, event, ep) for ep in found],
        "recent": [player_links(request, event, ep) for ep in recent],
        "register_url": event_url(request, event, "desk"),
        "questions": [question_json(q) for q in players.questions_of(request.dbsession, event)],
        "duplicates": [
            {**c, "sell_url": event_url(request, event, "players", c["number"], "sell")}
            for c in request.environ.get(DUPLICATES_KEY, ())
        ],
    }


@action(context=EventResource, name="desk", permission=P.SELL, fields=REGISTER_FIELDS)
def register_player(context: EventResource, request: Any) -> Response:
    """Register a player: they get a player number and a PIN. The PIN is in this answer (and on
    the slip page right after) and never shown again, so print the slip. Somebody with the same
    name (case and accents aside), IFPA number or e-mail already registered is a 409
    ``possible_duplicate`` with the ``candidates``: open theirs, or send ``confirm_new``. The
    event's registration questions are answered in ``answers``; required ones must be."""
    values = parse(request, REGISTER_FIELDS)
    event = context.event
    session = request.dbsession
    try:
        ep, pin = players.register(
            session,
            event,
            values["first_name"],
            values["last_name"] or "",
            number=values["number"],
            pin=values["pin"] or None,
            ifpa_id=values["ifpa_id"],
            email=values["email"] or None,
            confirm_new=values["confirm_new"],
            answers=submitted_answers(request, players.questions_of(session, event)),
            actor=request.actor,
        )
    except players.PossibleDuplicate as exc:
        request.environ[DUPLICATES_KEY] = exc.details.get("candidates", [])
        raise
    return slip_answer(
        request, event, ep, pin, message=f"{ep.name} is player {ep.number}.", status=201
    )


def slip_answer(
    request: Any, event: Event, ep: EventPlayer, pin: str, *, message: str, status: int = 200
) -> Response:
    """Answer an action that made a PIN: JSON clients get it in ``pin``; a browser goes to the
    slip page, which shows it once."""
    data = player_links(request, event, ep)
    response = done(
        request, data["slip_url"], {"player": data, "pin": pin}, status=status, message=message
    )
    if not request.wants_json:
        # The slip page reads the PIN once from this short-lived cookie, so a reload of the
        # page after the POST cannot run the action twice.
        response.set_cookie(
            SLIP_COOKIE,
            f"{ep.id}:{pin}",
            max_age=600,
            httponly=True,
            samesite="Strict",
            path=_path_of(data["slip_url"]),
            secure=request.scheme == "https",
        )
    return response


def _path_of(url: str) -> str:
    return urlsplit(url).path


@page(context=PlayerResource, name="slip", permission=P.SELL, template="desk/slip.html")
def slip(context: PlayerResource, request: Any) -> dict[str, Any]:
    """The slip to print for a player: number, name, where to log in, and the PIN right after
    registering (only then)."""
    ep = context.player
    event = context.event
    pin = None
    raw = request.cookies.get(SLIP_COOKIE, "")
    owner, _, secret = raw.partition(":")
    if owner == str(ep.id) and secret.isdigit():
        pin = secret
        path = _path_of(request.path_url)
        request.add_response_callback(lambda req, resp: resp.delete_cookie(SLIP_COOKIE, path=path))
    return {
        "event": event_json(request, event),
        "player": player_links(request, event, ep),
        "pin": pin,
        "login_url": event_url(request, event, "player-login"),
    }


# --- selling ----------------------------------------------------------------------------------


def sale_scopes(request: Any, event: Event) -> list[Scope]:
    """What the desk can sell for: tournaments not finished or cancelled, then metatournaments."""
    session = request.dbsession
    found: list[Scope] = list(
        session.scalars(
            select(Tournament)
            .where(
                Tournament.event_id == event.id,
                Tournament.status.not_in((TournamentStatus.FINALIZED, TournamentStatus.CANCELLED)),
            )
            .order_by(Tournament.id)
        )
    )
    found += list(
        session.scalars(
            select(Metatournament)
            .where(Metatournament.event_id == event.id)
            .order_by(Metatournament.id)
        )
    )
    return found


def scope_key(scope: Scope) -> str:
    return f"{'tournament' if isinstance(scope, Tournament) else 'metatournament'}:{scope.slug}"


def scope_json(request: Any, event: Event, scope: Scope) -> dict[str, Any]:
    try:
        games = tickets.tokens_per_ticket(request.dbsession, request.pss, scope)
    except DomainError:
        games = None
    return {
        "key": scope_key(scope),
        "name": scope.name,
        "kind": "tournament" if isinstance(scope, Tournament) else "metatournament",
        "price_cents": scope.price_cents,
        "price": money(scope.price_cents, event.currency),
        "bundles": [
            f"{b['count']} for {money(b['price_cents'], event.currency)}"
            for b in scope.bundles or ()
        ],
        "bundle_sizes": [int(b["count"]) for b in scope.bundles or ()],
        "min_purchase": scope.min_purchase or 1,
        "increment": scope.purchase_increment or 1,
        "on_sale": bool(scope.allow_ticket_purchases),
        "left": quotas.available(request.dbsession, scope, utcnow()),
        "games_per_ticket": games,
        "draft": isinstance(scope, Tournament) and scope.status == TournamentStatus.DRAFT,
    }


def find_scope(request: Any, event: Event, key: str | None) -> dict[str, Scope]:
    """``tournament=...`` or ``metatournament=...`` for the services, from ``tournament:<slug>``
    or ``metatournament:<slug>`` (a bare slug names a tournament)."""
    kind, sep, slug = (key or "").strip().partition(":")
    if not sep:
        kind, slug = "tournament", kind
    model: type[Scope] = Tournament if kind == "tournament" else Metatournament
    found = None
    if kind in ("tournament", "metatournament") and slug:
        found = request.dbsession.scalars(
            select(model).where(model.event_id == event.id, model.slug == slug)
        ).first()
    if found is None:
        raise InvalidInput("Choose what the tickets are for.", code="invalid_field", field="scope")
    return {kind: found}


def price_lines(price: Price, currency: str) -> list[dict[str, Any]]:
    out = []
    for line in price.lines:
        pack = (
            f"{line.size} for {money(line.unit_cents, currency)}"
            if line.is_bundle
            else f"single at {money(line.unit_cents, currency)}"
        )
        out.append(
            {
                **line.as_dict(),
                "text": f"{line.count} \u00d7 {pack}",
                "amount": money(line.cents, currency),
            }
        )
    return out


SELL_FIELDS = (
    Field(
        "scope",
        required=True,
        label="Tickets for",
        help="tournament:<slug> or metatournament:<slug>",
    ),
    Field("tickets", "int", required=True, label="Number of tickets", minimum=1, maximum=1000),
    Field("comp", "bool", label="Free (comp)", help="Give the tickets away; no money taken."),
    Field(
        "code",
        label="Coupon code",
        max_length=64,
        help="A code the player has; the same offers apply as online.",
    ),
)


@page(
    context=PlayerResource,
    name="sell",
    permission=P.SELL,
    template="desk/sell.html",
    live=event_fingerprint,
)
@page(context=PlayerResource, name="unlock", permission=P.SELL, template="desk/sell.html")
@page(context=PlayerResource, name="new-pin", permission=P.SELL, template="desk/sell.html")
def sell_page(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A player at the desk: their tickets per tournament, the sale form with the live price,
    their team and their latest history."""
    ep = context.player
    event = context.event
    session = request.dbsession
    history = latest_history(request, event, ep, limit=8)
    locked = auth.throttles(session, event.id, [f"player:{ep.number}"])
    now = utcnow()
    return {
        "event": event_json(request, event),
        "player": player_links(request, event, ep),
        "offences": ep.offences,
        "locked_out": any(t.locked_until is not None and t.locked_until > now for t in locked),
        "summary": summary_json(tickets.ticket_summary(session, ep)),
        "scopes": [scope_json(request, event, s) for s in sale_scopes(request, event)],
        "history": history,
        "price_url": event_url(request, event, "players", ep.number, "price"),
        "sell_url": event_url(request, event, "players", ep.number, "sell"),
        "unlock_url": event_url(request, event, "players", ep.number, "unlock"),
        "new_pin_url": event_url(request, event, "players", ep.number, "new-pin"),
        "teams": player_teams(request, event, ep),
        "answers": answers_json(
            players.questions_of(session, event, active_only=False), players.answers_of(session, ep)
        ),
        "edit_url": event_url(request, event, "players", ep.number, "edit"),
        "can_manage": bool(request.has_permission(P.MANAGE, context)),
    }


def player_teams(request: Any, event: Event, ep: EventPlayer) -> list[dict[str, Any]]:
    """The player's team (one per event), with where a tournament director changes its
    players."""
    session = request.dbsession
    teams = session.scalars(
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(Team.event_id == event.id, TeamMember.event_player_id == ep.id)
    ).all()
    manage = bool(request.has_permission(P.MANAGE, request.context))
    return [
        {
            **team_json(request, team, event),
            "members_url": event_url(request, event, "teams", team.id, "members")
            if manage
            else None,
        }
        for team in teams
    ]


def _quote(
    request: Any, context: PlayerResource, scope_raw: str | None, count: int, comp: bool
) -> tickets.SaleQuote:
    return tickets.prepare_sale(
        request.dbsession,
        request.pss,
        player=context.player,
        count=count,
        channel=Channel.COMP if comp else Channel.DESK,
        **find_scope(request, context.event, scope_raw),  # type: ignore[arg-type]
    )


@view_config(
    context=PlayerResource, name="price", permission=P.SELL, request_method=("GET", "HEAD")
)
def price(context: PlayerResource, request: Any) -> Response:
    """The live price of a sale (JSON): ``?scope=tournament:main&tickets=3&comp=0``. Bundles are
    applied; ``available`` says whether the sale would go through now, ``message`` why not."""
    event = context.event
    count = _parse_count(request.params.get("tickets"))
    comp = request.params.get("comp", "") in ("1", "true", "on", "yes")
    quote = _quote(request, context, request.params.get("scope"), count, comp)
    message = None
    amount_cents = quote.amount_cents
    offer: str | None = None
    try:
        tickets.check_sale(request.dbsession, request.pss, quote)
        if not comp:
            priced = tickets.desk_price(
                request.dbsession,
                request.pss,
                quote,
                code=request.params.get("code") or None,
                now=utcnow(),
            )
            amount_cents = priced.amount_cents
            offer = priced.winner.label if priced.winner is not None else None
    except DomainError as exc:
        message = exc.message
    return json_response(
        {
            "ok": True,
            "scope": scope_key(quote.scope),
            "tickets": quote.tickets,
            "games": quote.tokens,
            "comp": comp,
            "team": quote.team.name if quote.team is not None else None,
            "amount_cents": amount_cents,
            "amount": money(amount_cents, event.currency),
            "offer": offer,
            "lines": [] if comp else price_lines(quote.price, event.currency),
            "available": message is None,
            "message": message,
        },
        headers={"Cache-Control": "no-store"},
    )


def _parse_count(raw: str | None) -> int:
    count = plain_number((raw or "").strip())
    if count is None:
        raise InvalidInput(
            "The number of tickets must be a whole number, like 3.",
            code="invalid_field",
            field="tickets",
        )
    return count


@action(context=PlayerResource, name="sell", permission=P.SELL, fields=SELL_FIELDS)
def sell(context: PlayerResource, request: Any) -> Response:
    """Sell tickets to the player (money taken at the desk), or give them free with ``comp``."""
    values = parse(request, SELL_FIELDS)
    ep = context.player
    event = context.event
    comp = bool(values["comp"])
    purchase = tickets.sell_tickets(
        request.dbsession,
        request.pss,
        player=ep,
        count=values["tickets"],
        channel=Channel.COMP if comp else Channel.DESK,
        actor=request.actor,
        sold_by_id=staff_member_id(request, event.id),
        code=values["code"] or None,
        **find_scope(request, event, values["scope"]),  # type: ignore[arg-type]
    )
    data = purchase_summary(request, event, purchase)
    if comp:
        message = (
            f"{purchase.tickets} free ticket{_s(purchase.tickets)} for {data['scope']} "
            f"given to {ep.name}."
        )
    else:
        message = (
            f"Sold {purchase.tickets} ticket{_s(purchase.tickets)} for {data['scope']} "
            f"to {ep.name}: take {data['amount']}."
        )
    summary = summary_json(tickets.ticket_summary(request.dbsession, ep))
    return done(
        request,
        event_url(request, event, "players", ep.number, "sell"),
        {"purchase": data, "summary": summary},
        message=message,
        status=201,
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def purchase_summary(request: Any, event: Event, purchase: Purchase) -> dict[str, Any]:
    session = request.dbsession
    scope: Scope | None = (
        session.get(Tournament, purchase.tournament_id)
        if purchase.tournament_id is not None
        else session.get(Metatournament, purchase.metatournament_id)
    )
    assert scope is not None
    return {
        "id": purchase.id,
        "scope": scope.name,
        "scope_key": scope_key(scope),
        "tickets": purchase.tickets,
        "games": len(purchase.tokens),
        "channel": purchase.channel,
        "amount_cents": purchase.amount_cents,
        "amount": money(purchase.amount_cents, event.currency),
        "url": event_url(request, event, "purchases", purchase.id, ""),
    }


@action(context=PlayerResource, name="unlock", permission=P.SELL)
def unlock(context: PlayerResource, request: Any) -> Response:
    """Let a player who typed a wrong PIN too often log in again (check who they are first)."""
    ep = context.player
    lifted = auth.unlock_player(request.dbsession, context.event, ep.number, actor=request.actor)
    message = f"{ep.name} can log in again." if lifted else f"{ep.name} was not locked out."
    return done(
        request,
        event_url(request, context.event, "players", ep.number, "sell"),
        {"unlocked": lifted},
        message=message,
    )


NEW_PIN_FIELDS = (
    Field("pin", label="New PIN", max_length=8, help="4 to 8 digits. Empty: a random PIN."),
)


@action(context=PlayerResource, name="new-pin", permission=P.SELL, fields=NEW_PIN_FIELDS)
def new_pin(context: PlayerResource, request: Any) -> Response:
    """Give a player who lost their slip a new PIN (check who they are first). The old PIN stops
    working and their logins on every phone end. Like at registration, the PIN is in this answer
    (and on the slip page right after) and never shown again, so print the slip."""
    values = parse(request, NEW_PIN_FIELDS)
    ep = context.player
    pin = setup.reset_pin(request.dbsession, ep, actor=request.actor, pin=values["pin"] or None)
    return slip_answer(
        request,
        context.event,
        ep,
        pin,
        message=f"{ep.name} has a new PIN; the old one no longer works.",
    )


# --- tickets and history ----------------------------------------------------------------------


@page(
    context=PlayerResource,
    name="tickets",
    permission=P.SEE_PLAYER,
    template="desk/tickets.html",
    live=event_fingerprint,
)
def ticket_page(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A player's games per tournament and metatournament: bought, played, voided, refunded,
    in play and left."""
    ep = context.player
    event = context.event
    return {
        "event": event_json(request, event),
        "player": player_links(request, event, ep),
        "summary": summary_json(tickets.ticket_summary(request.dbsession, ep)),
        "can_sell": bool(request.has_permission(P.SELL, context)),
    }


#: What each audit action means, for people: a template filled from the row's details (and a
#: few worked-out fields: ``scope_name``, ``amount``, ``score``, ``ordinal``, ``n_tickets``).
ACTION_WORDS = {
    "player.register": "Registered as #{number}",
    "player.pin_reset": "Given a new PIN",
    "player.self_register": "Registered online as #{number}",
    "player.edit": "Registration corrected",
    "player.answers": "Registration answers changed",
    "player.known": "Known from another event",
    "player.merge": "Registration #{merged_number} merged into #{number}",
    "team.add_member": "Put on team {team}",
    "team.remove_member": "Taken off team {team}",
    "tickets.sell": "Bought {n_tickets} for {scope_name}: {amount}",
    "tickets.comp": "Given {n_tickets} free for {scope_name}",
    "purchase.hold": "Held {n_tickets} for {scope_name} while paying online ({amount})",
    "purchase.complete": "Got {n_tickets} for {scope_name} online",
    "purchase.paid": "Online payment of {amount} received",
    "purchase.late_paid": "Online payment of {amount} received after the hold ran out",
    "purchase.cancel": "Online purchase cancelled, nothing charged",
    "refund.done": "Refunded {amount} for {tokens} games",
    "refund.request": "Refund of {amount} for {tokens} games asked of the card",
    "refund.failed": "Refund failed",
    "game.start": "Started a game on {machine}",
    "game.score": "Scored {score} on {machine}",
    "game.void": "Game on {machine} voided (ticket used)",
    "game.misconduct": "Game on {machine} voided for misconduct",
    "game.remove": "Taken off {machine}",
    "queue.join": "Joined the queue for {machine} ({ordinal})",
    "queue.insert": "Put first in the queue for {machine}",
    "queue.leave": "Left the queue for {machine}",
    "queue.bump": "Bumped in the queue for {machine}",
    "queue.clear": "Taken out of the queue for {machine}",
    "score.edit": "Score on {machine} corrected to {score}",
    "score.add_missing": "Missing score {score} added on {machine}",
    "entry.void": "Entry voided",
    "entry.unvoid": "Entry counted again",
    "entry.abandon": "Entry given up",
    "game.misconduct_reversed": "Misconduct reversed (ticket unused again)",
    "login": "Logged in",
    "logout": "Logged out",
    "login.failed": "Wrong PIN typed",
    "login.locked": "Locked out after wrong PINs",
    "login.unlock": "PIN lockout lifted",
}

#: Details not worth showing (or not for everyone's eyes).
_HIDDEN_DETAILS = {
    "address",
    "tickets_left",
    "lines",
    "token_id",
    "token_ids",
    "entry_id",
    "team_id",
    "payment_intent",
    "members",
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def describe(row: AuditLog, currency: str, scope_names: dict[str, str]) -> str:
    """One history line in plain words."""
    d = dict(row.details or {})
    words = ACTION_WORDS.get(row.action)
    if words is None:
        return row.action.replace(".", ": ").replace("_", " ").capitalize()
    fields = _Blank(d)
    scope = str(d.get("scope", ""))
    fields["scope_name"] = scope_names.get(scope, scope.partition(":")[2] or scope)
    if isinstance(d.get("amount_cents"), int):
        fields["amount"] = money(d["amount_cents"], currency)
    if isinstance(d.get("tickets"), int):
        fields["n_tickets"] = f"{d['tickets']} ticket{_s(d['tickets'])}"
    score_value = d.get("after", d.get("score"))
    if isinstance(score_value, int):
        fields["score"] = f"{score_value:,}"
    if isinstance(d.get("position"), int):
        fields["ordinal"] = f"{d['position']}{_suffix(d['position'])} place"
    text = words.format_map(fields)
    if row.action == "game.remove":
        text += " (ticket kept)"
    if row.action == "queue.bump" and d.get("removed"):
        text += ", and out of it (bumped twice)"
    why = d.get("reason") or (
        d.get("why")
        if row.action in ("queue.leave", "queue.clear") and d.get("why") != "left"
        else None
    )
    if why:
        text += f" ({str(why).replace('_', ' ')})"
    return text


def _suffix(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def history_json(
    row: AuditLog, currency: str, scope_names: dict[str, str], removed_staff: Collection[int] = ()
) -> dict[str, Any]:
    left = (row.details or {}).get("tickets_left")
    by_removed = row.actor_user_id is not None and row.actor_user_id in removed_staff
    return {
        "id": row.id,
        "at": row.created_at,
        "action": row.action,
        "text": describe(row, currency, scope_names),
        "by": f"{row.actor} (removed)" if by_removed else row.actor,
        "by_removed": by_removed,
        "details": {k: v for k, v in (row.details or {}).items() if k not in _HIDDEN_DETAILS},
        "games_left": [
            {"scope": s.get("slug"), "remaining": s.get("remaining")}
            for s in left
            if isinstance(s, dict)
        ]
        if isinstance(left, list)
        else None,
    }


def scope_names(session: Any, event: Event) -> dict[str, str]:
    """The names of the event's tournaments and metatournaments by the audit log's scope key."""
    names = {scope_key(t): t.name for t in event.tournaments}
    names.update(
        {
            scope_key(m): m.name
            for m in session.scalars(
                select(Metatournament).where(Metatournament.event_id == event.id)
            )
        }
    )
    return names


def latest_history(
    request: Any, event: Event, ep: EventPlayer, limit: int = HISTORY_LIMIT
) -> list[dict[str, Any]]:
    session = request.dbsession
    names = scope_names(session, event)
    rows = session.scalars(
        select(AuditLog)
        .where(
            AuditLog.event_id == event.id,
            AuditLog.player_id == ep.id,
        )
        .order_by(AuditLog.id.desc())
        .limit(limit)
    ).all()
    removed = removed_staff_ids(session, event.id)
    return [history_json(row, event.currency, names, removed) for row in rows]


def removed_staff_ids(session: Any, event_id: int) -> set[int]:
    """The user ids of people taken off the event's staff (history marks what they did)."""
    return set(
        session.scalars(
            select(EventUser.user_id).where(
                EventUser.event_id == event_id, EventUser.removed_at.is_not(None)
            )
        )
    )


@page(context=PlayerResource, name="history", permission=P.SEE_PLAYER, template="desk/history.html")
def history(context: PlayerResource, request: Any) -> dict[str, Any]:
    """Everything that happened to a player in this event, newest first: registration, sales,
    games, queues and logins, with who did it."""
    ep = context.player
    event = context.event
    return {
        "event": event_json(request, event),
        "player": player_links(request, event, ep),
        "history": latest_history(request, event, ep),
        "limit": HISTORY_LIMIT,
    }
