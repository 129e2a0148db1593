"""The invariants the race and property tests rely on can fail: each broken state below is one
the database's constraints allow, and the tokens-conserved check names it."""

from __future__ import annotations

from sqlalchemy import select

from pss_core.models import Token
from pss_core.services import tickets

from . import invariants
from .invariants import problems


def test_a_clean_world_has_no_problems(world, pss):
    ada = world.players[0]
    world.sell(ada, 2)
    world.start(ada, world.m())
    assert problems(world.session, world.event.id, pss) == []


def test_a_token_both_in_play_and_used_is_counted_twice(world, pss):
    ada = world.players[0]
    world.sell(ada, 2)
    started = world.start(ada, world.m())
    token = world.session.get(Token, started.token_id)
    token.used_at = tickets.utcnow()  # the machine still holds it: no constraint forbids this
    world.session.flush()
    found = problems(world.session, world.event.id, pss)
    assert f"paid token {token.id} counts as used and unused" in found
    assert "2 paid tokens != 1 used + 0 voided + 0 refunded + 2 unused" in found


def test_a_paid_token_the_services_no_longer_offer_is_lost(world, pss, monkeypatch):
    ada = world.players[0]
    world.sell(ada, 2)
    first = world.session.scalars(
        select(Token.id).where(Token.player_id == ada.id).order_by(Token.id)
    ).first()
    real = invariants.usable_tokens

    def forgetful(*args, **kwargs):
        return [t for t in real(*args, **kwargs) if t.id != first]

    monkeypatch.setattr(invariants, "usable_tokens", forgetful)
    found = problems(world.session, world.event.id, pss)
    assert f"paid token {first} counts as none of used, voided, refunded, unused" in found
    assert "2 paid tokens != 0 used + 0 voided + 0 refunded + 1 unused" in found
