"""Restrictions: kinds registered by plugins, verdicts AND-ed across kinds and OR-ed within one,
the cheapest price winning, codes, and uses counted from live purchases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from pss_core import hookimpl
from pss_core.contract import OptionSpec
from pss_core.errors import DuplicateRegistration, InvalidInput, NotFound, Refused
from pss_core.models import (
    AuditLog,
    Channel,
    EventPlayer,
    PriceRestriction,
    Purchase,
    PurchaseStatus,
    RestrictionUse,
    Tournament,
    utcnow,
)
from pss_core.services.restrictions import (
    PriceRequest,
    RestrictionKind,
    RestrictionVerdict,
    combine,
    create_restriction,
    evaluate,
    live_uses,
    normalise_code,
    restrictions_for,
)

NOW = utcnow()


def request(base: int = 600, code: str | None = None, tickets: int = 2) -> PriceRequest:
    scope = Tournament(id=1, event_id=1, slug="main", name="Main")
    return PriceRequest(
        event_id=1, scope=scope, player_id=1, tickets=tickets, base_cents=base, now=NOW, code=code
    )


def row(rid: int, kind: str, max_uses: int | None = None) -> PriceRestriction:
    return PriceRestriction(
        id=rid, event_id=1, kind=kind, name=f"{kind}-{rid}", max_uses=max_uses, config={}
    )


def allow(price: int | None = None, **kw: Any) -> RestrictionVerdict:
    return RestrictionVerdict(available=True, price_cents=price, **kw)


def refuse(reason: str = "", **kw: Any) -> RestrictionVerdict:
    return RestrictionVerdict(available=False, reason=reason, **kw)


ABSTAIN = RestrictionVerdict(available=None)


# --- the combination rules (no database) ------------------------------------------------------


def test_no_restrictions_is_the_base_price():
    quote = combine(request(base=800), [])
    assert (quote.available, quote.amount_cents, quote.winner) == (True, 800, None)


def test_different_kinds_are_anded():
    quote = combine(
        request(), [(row(1, "window"), allow()), (row(2, "members"), refuse("Members only."))]
    )
    assert not quote.available
    assert quote.refusal == "Members only."
    with pytest.raises(Refused, match="Members only") as refused:
        quote.require_available()
    assert refused.value.code == "not_for_sale"


def test_same_kind_is_ored():
    quote = combine(
        request(), [(row(1, "window"), refuse("Not yet.")), (row(2, "window"), allow())]
    )
    assert quote.available
    both_closed = combine(
        request(), [(row(1, "window"), refuse("Not yet.")), (row(2, "window"), refuse("Too late."))]
    )
    assert not both_closed.available
    assert both_closed.refusal == "Not yet. Too late."


def test_a_kind_that_abstains_does_not_constrain():
    quote = combine(request(), [(row(1, "coupon"), ABSTAIN), (row(2, "window"), allow())])
    assert quote.available
    assert quote.amount_cents == 600


def test_cheapest_price_wins_among_restrictions_that_allow():
    quote = combine(
        request(base=600),
        [
            (row(1, "window"), allow(500)),
            (row(2, "coupon"), allow(400, label="Coupon SPRING")),
            (row(3, "window"), refuse("closed", price_cents=100)),  # refused: its price is no offer
        ],
    )
    assert quote.amount_cents == 400
    assert quote.winner is not None
    assert quote.winner.id == 2
    assert quote.breakdown()["price_rule"] == {"id": 2, "label": "Coupon SPRING"}
    assert [r.won for r in quote.restrictions] == [False, True, False]


def test_a_restriction_price_replaces_the_base_even_when_dearer():
    # A late-registration window may charge more; the cheapest *applicable* price is charged.
    quote = combine(request(base=600), [(row(1, "window"), allow(900))])
    assert quote.amount_cents == 900


def test_ties_go_to_the_oldest_restriction():
    quote = combine(request(), [(row(7, "a"), allow(300)), (row(3, "b"), allow(300))])
    assert quote.winner is not None
    assert quote.winner.id == 3


def test_codes_must_match_an_applicable_restriction():
    matched = combine(request(code="SPRING"), [(row(1, "coupon"), allow(300, matched_code=True))])
    assert matched.available
    unknown = combine(request(code="NOPE"), [(row(1, "coupon"), ABSTAIN)])
    assert not unknown.available
    assert unknown.refusal == "The code 'NOPE' is not valid here."
    assert unknown.refusal_code == "invalid_code"
    used_up = combine(
        request(code="SPRING"),
        [(row(1, "coupon"), refuse("The code 'SPRING' has been used up.", matched_code=True))],
    )
    assert used_up.refusal == "The code 'SPRING' has been used up."
    with pytest.raises(Refused) as refused:
        used_up.require_available()
    assert refused.value.code == "code_not_available"


def test_only_capped_restrictions_that_applied_are_counted():
    quote = combine(
        request(),
        [
            (row(1, "coupon", max_uses=5), allow(500)),  # capped but its price lost: not used
            (row(2, "window", max_uses=5), allow(400)),  # capped, won
            (row(3, "gate", max_uses=5), allow()),  # capped gate, no price: used
            (row(4, "other"), allow(450)),  # not capped
        ],
    )
    assert quote.counted_ids == (2, 3)


def test_verdict_prices_cannot_be_negative():
    with pytest.raises(ValueError, match="negative"):
        RestrictionVerdict(available=True, price_cents=-1)


def test_codes_are_compared_without_case_or_spaces():
    assert normalise_code("  spring24 ") == "SPRING24"
    assert normalise_code("   ") is None
    assert normalise_code(None) is None


# --- kinds from plugins, on the database ------------------------------------------------------


class Switch(RestrictionKind):
    """A sales switch with an optional price."""

    def evaluate(self, session, restriction, request):
        c = restriction.config
        price = None if c["price_cents"] is None else c["price_cents"] * request.tickets
        return RestrictionVerdict(available=c["open"], price_cents=price, reason="Closed.")


class Code(RestrictionKind):
    """A code with a fixed price."""

    def check_config(self, config):
        if not config["code"]:
            raise InvalidInput("A code needs a code.", code="missing_code")
        return {**config, "code": normalise_code(config["code"])}

    def evaluate(self, session, restriction, request):
        c = restriction.config
        if request.code != c["code"]:
            return RestrictionVerdict(available=None)
        return RestrictionVerdict(
            available=True,
            price_cents=c["price_cents"],
            matched_code=True,
            label=f"Code {c['code']}",
        )


class TestKinds:
    """Two small kinds: a sales switch with an optional price, and a code with a fixed price."""

    @hookimpl
    def pss_register_restrictions(self, registry):
        registry.add(
            Switch(
                "switch",
                "Sales switch",
                options=(
                    OptionSpec("open", "bool", True),
                    OptionSpec("price_cents", "int", None, nullable=True, minimum=0),
                ),
            )
        )
        registry.add(
            Code(
                "code",
                "Code",
                takes_code=True,
                options=(OptionSpec("code", "str", ""), OptionSpec("price_cents", "int", 0)),
            )
        )


@pytest.fixture
def kinds_pss(make_pss):
    return make_pss(TestKinds())


@pytest.fixture
def main(dbsession, demo_event):
    return dbsession.scalars(
        select(Tournament).where(Tournament.event_id == demo_event.id, Tournament.slug == "main")
    ).one()


def db_request(main: Tournament, code: str | None = None, now: Any = None) -> PriceRequest:
    return PriceRequest(
        event_id=main.event_id,
        scope=main,
        player_id=None,
        tickets=1,
        base_cents=300,
        now=now or utcnow(),
        code=code,
    )


def test_kinds_are_registered_and_duplicates_refused(kinds_pss, make_pss):
    assert [k.name for k in kinds_pss.restrictions] == ["code", "switch"]
    with pytest.raises(
        DuplicateRegistration,
        match=r"restriction kind '(code|switch)' is "
        r"registered twice",
    ):
        make_pss(TestKinds(), TestKinds())


def test_create_restriction_validates_config_and_is_audited(dbsession, kinds_pss, main):
    offer = create_restriction(
        dbsession,
        kinds_pss,
        event_id=main.event_id,
        kind="code",
        name="Spring",
        config={"code": " spring ", "price_cents": "150"},
        tournament=main,
        max_uses=3,
    )
    assert offer.config == {"code": "SPRING", "price_cents": 150}
    audit = dbsession.scalars(select(AuditLog).where(AuditLog.action == "restriction.create")).one()
    assert audit.details["config"] == {"code": "SPRING", "price_cents": 150}
    with pytest.raises(InvalidInput, match="needs a code"):
        create_restriction(
            dbsession, kinds_pss, event_id=main.event_id, kind="code", name="Empty", config={}
        )
    with pytest.raises(InvalidInput, match="no setting 'colour'"):
        create_restriction(
            dbsession,
            kinds_pss,
            event_id=main.event_id,
            kind="switch",
            name="x",
            config={"colour": "red"},
        )
    with pytest.raises(NotFound, match="no restriction kind called 'raffle'"):
        create_restriction(dbsession, kinds_pss, event_id=main.event_id, kind="raffle", name="x")


def test_event_wide_and_scoped_restrictions_apply(dbsession, kinds_pss, main, demo_event):
    everywhere = create_restriction(
        dbsession,
        kinds_pss,
        event_id=main.event_id,
        kind="switch",
        name="All",
        config={"price_cents": 250},
    )
    classics = dbsession.scalars(
        select(Tournament).where(
            Tournament.event_id == demo_event.id, Tournament.slug == "classics"
        )
    ).one()
    elsewhere = create_restriction(
        dbsession,
        kinds_pss,
        event_id=main.event_id,
        kind="switch",
        name="Classics only",
        config={"open": False},
        tournament=classics,
    )
    assert [r.id for r in restrictions_for(dbsession, main)] == [everywhere.id]
    assert [r.id for r in restrictions_for(dbsession, classics)] == [everywhere.id, elsewhere.id]
    quote = evaluate(dbsession, kinds_pss, db_request(main))
    assert (quote.available, quote.amount_cents) == (True, 250)


def test_uses_count_only_live_purchases_and_cap_the_restriction(
    dbsession, kinds_pss, main, demo_event
):
    offer = create_restriction(
        dbsession,
        kinds_pss,
        event_id=main.event_id,
        kind="code",
        name="Two",
        config={"code": "TWO", "price_cents": 100},
        tournament=main,
        max_uses=2,
    )
    now = utcnow()
    ep = dbsession.scalars(select(EventPlayer).where(EventPlayer.event_id == demo_event.id)).first()

    def use(status: PurchaseStatus, expires: Any = None) -> None:
        p = Purchase(
            event_id=demo_event.id,
            player_id=ep.id,
            tournament_id=main.id,
            tickets=1,
            amount_cents=100,
            channel=Channel.ONLINE,
            status=status,
            hold_expires_at=expires,
        )
        dbsession.add(p)
        dbsession.flush()
        dbsession.add(RestrictionUse(restriction_id=offer.id, purchase_id=p.id))
        dbsession.flush()

    use(PurchaseStatus.PENDING, now - timedelta(minutes=1))  # expired hold: not counted
    use(PurchaseStatus.CANCELLED, now - timedelta(minutes=20))
    use(PurchaseStatus.COMPLETED)
    assert live_uses(dbsession, [offer.id], now) == {offer.id: 1}
    assert evaluate(dbsession, kinds_pss, db_request(main, "two", now)).amount_cents == 100

    use(PurchaseStatus.PENDING, now + timedelta(minutes=10))  # a live hold counts
    assert live_uses(dbsession, [offer.id], now) == {offer.id: 2}
    quote = evaluate(dbsession, kinds_pss, db_request(main, "TWO", now))
    assert not quote.available
    assert quote.refusal == "The code 'TWO' has been used up."
    # Without the code the tickets are still for sale at the base price.
    assert evaluate(dbsession, kinds_pss, db_request(main, None, now)).amount_cents == 300


def test_a_restriction_whose_plugin_is_gone_stops_sales_with_a_clear_message(
    dbsession, kinds_pss, pss, main
):
    create_restriction(dbsession, kinds_pss, event_id=main.event_id, kind="switch", name="S")
    with pytest.raises(Refused, match="not installed") as refused:
        evaluate(dbsession, pss, db_request(main))  # the built-ins only: no 'switch' kind
    assert refused.value.code == "restriction_kind_missing"
