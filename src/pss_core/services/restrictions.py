"""Pricing and availability restrictions (early bird, coupons, ...) and how their verdicts combine.

A *restriction kind* is code a plugin registers; a *restriction* is a ``PriceRestriction`` row an
organizer configures. For one quote, every active restriction on the scope (and the event-wide ones)
gives a verdict from its kind's :meth:`~pss_core.contract.RestrictionKind.evaluate`; then:

* restrictions of **different kinds are AND-ed**: the tickets are on sale only if every kind allows;
* restrictions of the **same kind are OR-ed**: one restriction of a kind allowing is enough; a kind
  whose restrictions all abstain does not constrain the sale;
* of the prices set by restrictions that allow the sale, the **cheapest wins**; with none, the
  scope's own price (bundles included) is charged.

A restriction with ``max_uses`` is counted by pss from ``restriction_uses`` rows of live purchases
(completed, refunded, or pending with a hold that has not expired), under a row lock on the
restriction taken after the quota lock, so a coupon is never used more often than allowed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor

# The kinds' values live in the contract; importing them from here keeps working.
from pss_core.contract.restrictions import PriceRequest as PriceRequest
from pss_core.contract.restrictions import RestrictionKind as RestrictionKind
from pss_core.contract.restrictions import RestrictionVerdict as RestrictionVerdict
from pss_core.contract.restrictions import normalise_code as normalise_code
from pss_core.errors import InvalidInput, NotFound, Refused
from pss_core.models import (
    Metatournament,
    PriceRestriction,
    Purchase,
    PurchaseStatus,
    RestrictionUse,
    Tournament,
    utcnow,
)
from pss_core.services import locking

if TYPE_CHECKING:
    from pss_core.plugins import Pss

Scope = Tournament | Metatournament


@attrs.frozen
class AppliedRestriction:
    """A restriction that took part in a quote."""

    id: int
    kind: str
    name: str
    label: str
    available: bool | None
    price_cents: int | None
    #: This restriction set the final price.
    won: bool = False
    #: A use of it is recorded with the purchase (it has ``max_uses`` and applied).
    counted: bool = False


@attrs.frozen
class Quote:
    """The combined answer: whether the tickets are for sale, and for how much."""

    tickets: int
    base_cents: int
    amount_cents: int
    available: bool
    #: Why not, in plain words, when ``available`` is False.
    refusal: str = ""
    #: ``not_for_sale``, ``invalid_code`` (no offer takes the code) or ``code_not_available``.
    refusal_code: str = ""
    restrictions: tuple[AppliedRestriction, ...] = ()
    code: str | None = None

    @property
    def winner(self) -> AppliedRestriction | None:
        return next((r for r in self.restrictions if r.won), None)

    @property
    def counted_ids(self) -> tuple[int, ...]:
        return tuple(r.id for r in self.restrictions if r.counted)

    def breakdown(self) -> dict[str, Any]:
        """What ``Purchase.breakdown`` stores about the restrictions."""
        winner = self.winner
        return {
            "base_cents": self.base_cents,
            "amount_cents": self.amount_cents,
            "price_rule": None if winner is None else {"id": winner.id, "label": winner.label},
            "restrictions": [attrs.asdict(r) for r in self.restrictions],
            "code": self.code,
        }

    def require_available(self) -> Quote:
        if not self.available:
            raise Refused(self.refusal, code=self.refusal_code or "not_for_sale")
        return self


# --- organizer side -------------------------------------------------------------------------


def create_restriction(
    session: Session,
    pss: Pss,
    *,
    event_id: int,
    kind: str,
    name: str,
    config: Mapping[str, Any] | None = None,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    max_uses: int | None = None,
    actor: Actor = audit.SYSTEM,
) -> PriceRestriction:
    """Add a restriction of ``kind`` to a tournament, a metatournament, or (neither given) to every
    ticket of the event."""
    spec = pss.restrictions[kind]
    if tournament is not None and metatournament is not None:
        raise InvalidInput(
            "A restriction applies to one tournament or one metatournament, not both.",
            code="invalid_scope",
        )
    for scope in (tournament, metatournament):
        if scope is not None and scope.event_id != event_id:
            raise InvalidInput(f"{scope.name} is not in this event.", code="wrong_event")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A restriction needs a name.", code="missing_field")
    if max_uses is not None and max_uses < 0:
        raise InvalidInput("Maximum uses cannot be negative.", code="invalid_max_uses")
    resolved = check_config(pss, spec, config or {})
    row = PriceRestriction(
        event_id=event_id,
        tournament_id=tournament.id if tournament is not None else None,
        metatournament_id=metatournament.id if metatournament is not None else None,
        kind=kind,
        name=name,
        config=resolved,
        max_uses=max_uses,
        active=True,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "restriction.create",
        event_id=event_id,
        subject=row,
        kind=kind,
        name=name,
        config=resolved,
        max_uses=max_uses,
        tournament_id=row.tournament_id,
        metatournament_id=row.metatournament_id,
    )
    return row


#: Settings are stored as JSON and end up in 32-bit integer columns (cents, counts) and in pages.
MAX_SETTING_INT = 2**31 - 1
MAX_SETTING_TEXT = 500


def check_config(pss: Pss, spec: RestrictionKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse ``raw`` with the kind's options, then let the kind check the combination.

    Values must be plain (no lists or objects), whole numbers within the 32-bit range that the
    cents and counts they become are stored in, and text at most 500 characters long."""
    for name, value in raw.items():
        if isinstance(value, list | dict | tuple):
            raise InvalidInput(
                f"The setting {str(name)[:40]!r} must be a single value.", code="invalid_option"
            )
    resolved = spec.resolve_config(raw)
    for name, value in resolved.items():
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not -MAX_SETTING_INT <= value <= MAX_SETTING_INT
        ):
            raise InvalidInput(f"The setting {name!r} is too large.", code="invalid_option")
        if isinstance(value, str) and len(value) > MAX_SETTING_TEXT:
            raise InvalidInput(
                f"The setting {name!r} is too long (at most {MAX_SETTING_TEXT} characters).",
                code="invalid_option",
            )
    return dict(spec.check_config(resolved))


def set_active(
    session: Session, restriction: PriceRestriction, active: bool, *, actor: Actor = audit.SYSTEM
) -> None:
    """Switch a restriction on or off (a no-op, not audited, if it already is)."""
    if restriction.active == active:
        return
    restriction.active = active
    audit.record(
        session,
        actor,
        "restriction.activate" if active else "restriction.deactivate",
        event_id=restriction.event_id,
        subject=restriction,
    )


_UNSET: Any = object()


def update_restriction(
    session: Session,
    pss: Pss,
    restriction: PriceRestriction,
    *,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    max_uses: int | None = _UNSET,
    active: bool | None = None,
    actor: Actor = audit.SYSTEM,
) -> dict[str, Any]:
    """Change a restriction's name, settings (checked by its kind, replacing the old ones),
    maximum uses (``None``: unlimited) or active flag; arguments left out stay as they are.
    Returns what changed (audited as ``restriction.update``). Its kind and scope stay: for
    another, deactivate it and add a new one.

    Uses already made stay counted when ``max_uses`` is lowered (it then simply allows no
    more); uses are recorded only while a restriction has a maximum."""

    # Under its row lock, so a sale counting its uses sees the old or the new maximum.
    locking.lock_rows(session, PriceRestriction, [restriction.id])
    changes: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not name:
            raise InvalidInput("A restriction needs a name.", code="missing_field")
        if name != restriction.name:
            changes["name"] = name
    if config is not None:
        if restriction.kind not in pss.restrictions:
            raise Refused(
                f"The settings of {restriction.name!r} cannot be changed: its kind "
                f"({restriction.kind!r}) is not installed.",
                code="restriction_kind_missing",
            )
        resolved = check_config(pss, pss.restrictions[restriction.kind], config)
        if resolved != dict(restriction.config or {}):
            changes["config"] = resolved
    if max_uses is not _UNSET:
        if max_uses is not None and max_uses < 0:
            raise InvalidInput("Maximum uses cannot be negative.", code="invalid_max_uses")
        if max_uses != restriction.max_uses:
            changes["max_uses"] = max_uses
    if active is not None and active != restriction.active:
        changes["active"] = active
    if not changes:
        return changes
    before = {key: getattr(restriction, key) for key in changes}
    for key, value in changes.items():
        setattr(restriction, key, value)
    session.flush()
    audit.record(
        session,
        actor,
        "restriction.update",
        event_id=restriction.event_id,
        subject=restriction,
        kind=restriction.kind,
        changed=sorted(changes),
        before=before,
        after=changes,
    )
    return changes


def event_restrictions(session: Session, event_id: int) -> Sequence[PriceRestriction]:
    """Every restriction of an event, active or not, in id order."""
    return session.scalars(
        select(PriceRestriction)
        .where(PriceRestriction.event_id == event_id)
        .order_by(PriceRestriction.id)
    ).all()


# --- quoting ----------------------------------------------------------------------------------


def restrictions_for(session: Session, scope: Scope) -> Sequence[PriceRestriction]:
    """Active restrictions on ``scope`` plus the event-wide ones, in id order."""
    if isinstance(scope, Tournament):
        own = PriceRestriction.tournament_id == scope.id
    else:
        own = PriceRestriction.metatournament_id == scope.id
    event_wide = and_(
        PriceRestriction.tournament_id.is_(None), PriceRestriction.metatournament_id.is_(None)
    )
    return session.scalars(
        select(PriceRestriction)
        .where(
            PriceRestriction.event_id == scope.event_id,
            PriceRestriction.active.is_(True),
            or_(own, event_wide),
        )
        .order_by(PriceRestriction.id)
    ).all()


def live_uses(
    session: Session,
    restriction_ids: Iterable[int],
    now: datetime,
    *,
    exclude_purchase_id: int | None = None,
) -> dict[int, int]:
    """Uses per restriction by purchases that still count: completed or refunded ones, and pending
    ones whose hold has not expired (an expired hold stops counting by itself)."""
    ids = list(restriction_ids)
    if not ids:
        return {}
    live = or_(
        Purchase.status.in_((PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED)),
        and_(Purchase.status == PurchaseStatus.PENDING, Purchase.hold_expires_at > now),
    )
    query = (
        select(RestrictionUse.restriction_id, func.count(RestrictionUse.id))
        .join(Purchase, RestrictionUse.purchase_id == Purchase.id)
        .where(RestrictionUse.restriction_id.in_(ids), live)
        .group_by(RestrictionUse.restriction_id)
    )
    if exclude_purchase_id is not None:
        query = query.where(Purchase.id != exclude_purchase_id)
    counts = dict.fromkeys(ids, 0)
    for rid, count in session.execute(query):
        counts[int(rid)] = int(count)
    return counts


def combine(
    request: PriceRequest,
    verdicts: Sequence[tuple[PriceRestriction, RestrictionVerdict]],
) -> Quote:
    """AND across kinds, OR within a kind, cheapest price wins. Pure: no database, no hooks."""
    by_kind: dict[str, list[tuple[PriceRestriction, RestrictionVerdict]]] = defaultdict(list)
    for row, verdict in verdicts:
        by_kind[row.kind].append((row, verdict))
    refusals: list[str] = []
    for kind_verdicts in by_kind.values():
        opinions = [v for _, v in kind_verdicts if v.available is not None]
        if opinions and not any(v.available for v in opinions):
            refusals.extend(v.reason for v in opinions if v.reason)
            if not any(v.reason for v in opinions):
                refusals.append("These tickets are not on sale right now.")
    available = not refusals

    # Cheapest price among restrictions that allow the sale; ties go to the oldest restriction.
    priced = [
        (v.price_cents, row.id)
        for row, v in verdicts
        if v.available is True and v.price_cents is not None
    ]
    winner_id = min(priced)[1] if priced else None
    amount = min(priced)[0] if priced else request.base_cents

    code = request.code
    refusal_code = ""
    if not available:
        matched_refused = any(v.matched_code and v.available is False for _, v in verdicts)
        refusal_code = "code_not_available" if matched_refused else "not_for_sale"
    if code is not None and available:
        matched = [v for _, v in verdicts if v.matched_code]
        if not any(v.available is True for v in matched):
            reasons = [v.reason for v in matched if v.available is False and v.reason]
            available = False
            refusals.append(reasons[0] if reasons else f"The code {code!r} is not valid here.")
            refusal_code = "code_not_available" if reasons else "invalid_code"

    applied = tuple(
        AppliedRestriction(
            id=row.id,
            kind=row.kind,
            name=row.name,
            label=v.label or row.name,
            available=v.available,
            price_cents=v.price_cents,
            won=row.id == winner_id,
            # A use is counted for a capped restriction that allowed the sale and either set the
            # winning price or set no price (an availability gate); a losing price is not "used".
            counted=row.max_uses is not None
            and v.available is True
            and (v.price_cents is None or row.id == winner_id),
        )
        for row, v in verdicts
    )
    return Quote(
        tickets=request.tickets,
        base_cents=request.base_cents,
        amount_cents=amount,
        available=available,
        refusal=" ".join(dict.fromkeys(refusals)),
        refusal_code=refusal_code,
        restrictions=applied,
        code=code,
    )


def evaluate(
    session: Session,
    pss: Pss,
    request: PriceRequest,
    *,
    rows: Sequence[PriceRestriction] | None = None,
    exclude_purchase_id: int | None = None,
) -> Quote:
    """Ask every restriction on ``request.scope`` for its verdict and combine them. Restrictions
    at their ``max_uses`` refuse. Callers that will record uses must hold the restriction locks
    (:func:`lock_counted`) before calling this, so the count cannot change underneath."""
    if rows is None:
        rows = restrictions_for(session, request.scope)
    uses = live_uses(
        session,
        [r.id for r in rows if r.max_uses is not None],
        request.now,
        exclude_purchase_id=exclude_purchase_id,
    )
    verdicts: list[tuple[PriceRestriction, RestrictionVerdict]] = []
    for row in rows:
        if row.kind not in pss.restrictions:
            raise Refused(
                f"Tickets here have a rule of a kind that is not installed ({row.kind!r}); "
                "ask the tournament director.",
                code="restriction_kind_missing",
            )
        verdict = pss.restrictions[row.kind].evaluate(session, row, request)
        if row.max_uses is not None and verdict.available is True and uses[row.id] >= row.max_uses:
            what = f"The code {request.code!r}" if verdict.matched_code else f"{row.name!r}"
            verdict = attrs.evolve(
                verdict,
                available=False,
                reason=f"{what} has been used up.",
            )
        verdicts.append((row, verdict))
    return combine(request, verdicts)


def lock_counted(session: Session, rows: Sequence[PriceRestriction]) -> None:
    """Lock the restrictions that have ``max_uses`` (in id order, after the quota lock: they come
    after ``metatournaments`` in :mod:`pss_core.services.locking`'s order) so that counting and
    recording a use is atomic."""

    locking.lock_rows(session, PriceRestriction, [r.id for r in rows if r.max_uses is not None])


def record_uses(session: Session, quote: Quote, purchase: Purchase) -> None:
    """One ``RestrictionUse`` per counted restriction of ``quote``, for ``purchase``."""
    for rid in quote.counted_ids:
        session.add(RestrictionUse(restriction_id=rid, purchase_id=purchase.id))


def now_or(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def get_restriction(session: Session, event_id: int, restriction_id: int) -> PriceRestriction:
    row = session.get(PriceRestriction, restriction_id)
    if row is None or row.event_id != event_id:
        raise NotFound("There is no such offer in this event.", code="unknown_restriction")
    return row
