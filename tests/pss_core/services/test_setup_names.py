"""Names and usernames: what a results board or a login can show is refused when it could
disguise itself (control characters, bidi overrides, zero-width marks)."""

import pytest
from sqlalchemy import func, select

from pss_core.audit import SYSTEM
from pss_core.errors import InvalidInput
from pss_core.models import Player, User
from pss_core.services import admin, setup


@pytest.fixture
def event(dbsession, pss):
    owner = setup.create_user(dbsession, "names-owner", password="secret-1", event_owner=True)
    dbsession.flush()
    return setup.create_event(dbsession, owner, "Names Open")


@pytest.mark.parametrize(
    "username", ["desk worker", "a/b", "-dash", "x" * 65, "tab\there", "ümlaut"]
)
def test_usernames_are_plain(dbsession, username):
    with pytest.raises(InvalidInput) as err:
        setup.create_user(dbsession, username, password="secret-1")
    assert err.value.code in ("invalid_username", "invalid_text")
    assert dbsession.scalar(select(func.count(User.id)).where(User.username == username)) == 0


@pytest.mark.parametrize("username", ["desk", "sam.k", "td_2", "ops@papa", "a+b-c"])
def test_ordinary_usernames_are_fine(dbsession, username):
    assert setup.create_user(dbsession, username, password="secret-1").username == username


@pytest.mark.parametrize("name", ["Ada\u202eacilA", "Bo\u200bb", "Cy\x00", "Di\nEd"])
def test_player_names_with_hidden_characters_are_refused(dbsession, event, name):
    before = dbsession.scalar(select(func.count(Player.id)))
    with pytest.raises(InvalidInput) as err:
        setup.register_player(dbsession, event, name, pin="1234")
    assert err.value.code == "invalid_text"
    with pytest.raises(InvalidInput):
        setup.register_player(dbsession, event, "Ada", name, pin="1234")
    assert dbsession.scalar(select(func.count(Player.id))) == before


def test_names_in_any_script_are_fine(dbsession, event):
    ep, _ = setup.register_player(dbsession, event, "Zoë", "Müller-Łukasz 李", pin="1234")
    assert ep.player.name == "Zoë Müller-Łukasz 李"


def test_renaming_checks_the_same_way(dbsession, event, pss):
    t = setup.create_tournament(dbsession, pss, event, "Main", "herb")
    with pytest.raises(InvalidInput):
        admin.update_event(dbsession, event, actor=SYSTEM, name="Names\u202e Open")
    with pytest.raises(InvalidInput):
        admin.update_tournament(dbsession, pss, t, actor=SYSTEM, changes={"name": "Ma\u2066in"})
    assert (event.name, t.name) == ("Names Open", "Main")
